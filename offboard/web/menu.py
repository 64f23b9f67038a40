"""The console's menu: each entry shows only when the signed-in actor may open its page.

An entry names the permission its page's read model requires (offboard.domain.authz), and is
decided with `allowed`, the same check `require` makes there, so the menu never offers a page
that would refuse the click (tests/web/test_menu.py walks every entry for every persona).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from offboard.domain.authz import Action, Actor, allowed


def _(text: str) -> str:
    """Marks a template for the zh-CN catalogue (scripts/sync_catalog.py); translated when shown."""
    return text


@dataclass(frozen=True)
class Entry:
    path: str
    label: str  # an English msgid, translated by the template
    needs: Action | None  # the permission the page checks; None: every signed-in member
    section: str = ""  # the paths that light this entry up (a prefix); the path itself when empty

    def is_current(self, path: str) -> bool:
        return path == self.path if not self.section else path.startswith(self.section)


MENU: tuple[Entry, ...] = (
    Entry("/", _("Overview"), None),
    Entry("/members", _("Members"), Action.READ_DIRECTORY, "/members"),
    Entry("/departments", _("Departments"), Action.READ_DIRECTORY, "/departments"),
    Entry("/exits", _("Exits"), Action.READ_DIRECTORY, "/exits"),
    Entry("/checklist", _("Checklist"), Action.READ_DIRECTORY, "/checklist"),
    Entry("/inbox", _("Inbox"), None, "/inbox"),
    Entry("/audit", _("Audit"), Action.READ_AUDIT, "/audit"),
    Entry("/settings/policy", _("Policy"), Action.READ_DIRECTORY, "/settings"),
)


@dataclass(frozen=True)
class Item:
    path: str
    label: str
    current: bool
    badge: int = 0  # how many things there wait for the reader


def visible(actor: Actor, path: str, badges: Mapping[str, int] | None = None) -> list[Item]:
    """The entries this actor may open, the one of `path` marked current, each with its badge."""
    counts = badges or {}
    return [Item(e.path, e.label, e.is_current(path), counts.get(e.path, 0)) for e in MENU if e.needs is None or allowed(actor, e.needs)]
