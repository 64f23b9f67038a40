"""The console's menu: each entry shows only when the signed-in actor may open its page.

An entry names the permission its page's read model requires (offboard.domain.authz), and is
decided with `allowed`, the same check `require` makes there, so the menu never offers a page
that would refuse the click (tests/web/test_menu.py walks every entry for every persona).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass

from offboard.domain.authz import Action, Actor, allowed
from offboard.i18n import mark as _


@dataclass(frozen=True)
class Entry:
    path: str
    label: str  # an English msgid, translated by the template
    needs: Action | None  # the permission the page checks; None: every signed-in member
    section: str = ""  # the paths that light this entry up (a prefix); the path itself when empty
    also: tuple[str, ...] = ()  # more prefixes of its section
    mode: str = ""  # shown only where the enterprise's exits start this way (SPEC §6 exit_automation)

    def claims(self, path: str) -> int:
        """How much of `path` this entry's section covers (0: none). /exits/bulk lies in the
        section of Exits and of Bulk exits: the entry that claims the longest prefix is current."""
        if not self.section:
            return len(path) if path == self.path else 0
        return max((len(prefix) for prefix in (self.section, *self.also) if path.startswith(prefix)), default=0)


MENU: tuple[Entry, ...] = (
    Entry("/", _("Overview"), None),
    Entry("/members", _("Members"), Action.READ_DIRECTORY, "/members"),
    Entry("/departments", _("Departments"), Action.READ_DIRECTORY, "/departments"),
    Entry("/exits", _("Exits"), Action.READ_DIRECTORY, "/exits"),
    Entry("/exits/bulk", _("Bulk exits"), Action.START_REMOVAL, "/exits/bulk", ("/jobs",)),
    Entry("/checklist", _("Checklist"), Action.READ_DIRECTORY, "/checklist"),
    Entry("/inbox", _("Inbox"), None, "/inbox"),
    # Every member may be an approver (their reports' requests wait for them) and files their own:
    # the page's read model shows each reader what is theirs.
    Entry("/exit-requests", _("Exit requests"), None, "/exit-requests", mode="approval_flow"),
    Entry("/audit", _("Audit"), Action.READ_AUDIT, "/audit"),
    # Also opened by the parties of a live handover who do not manage admins (the nominee, the
    # custodian, the old super admin in their window): the session names it in `opened`.
    Entry("/handover", _("Admin handover"), Action.MANAGE_ADMINS, "/handover"),
    Entry("/settings/policy", _("Policy"), Action.READ_DIRECTORY, "/settings"),
    Entry("/settings/webhooks", _("Webhooks"), Action.MANAGE_TOKENS, "/settings/webhooks"),
)


@dataclass(frozen=True)
class Item:
    path: str
    label: str
    current: bool
    badge: int = 0  # how many things there wait for the reader


def visible(actor: Actor, path: str, badges: Mapping[str, int] | None = None, opened: Collection[str] = (), mode: str = "") -> list[Item]:
    """The entries this actor may open, the one of `path` marked current, each with its badge;
    `opened`: the paths this actor opens without the entry's permission (a party of a handover);
    `mode`: how the enterprise's exits start, which entries of one mode need."""
    counts = badges or {}
    shown = [e for e in MENU if (not e.mode or e.mode == mode) and (e.needs is None or allowed(actor, e.needs) or e.path in opened)]
    current = max(shown, key=lambda e: e.claims(path), default=None)
    return [Item(e.path, e.label, e is current and e.claims(path) > 0, counts.get(e.path, 0)) for e in shown]
