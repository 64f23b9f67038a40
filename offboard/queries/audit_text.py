"""The audit trail in words: who and what an event names, and one sentence per action in the
reader's language (SPEC §8, §9).

Plain Python over values the read model has already resolved (offboard.queries.audit), so a
sentence is tested without a database. Templates are English msgids of the zh-CN catalogue;
a sentence names people by their resolved names, and uses only details that are safe to show
(counts, kinds, roles, checklist items, times), never the free text of a reason or evidence,
which stays in the raw details.
"""

from __future__ import annotations

import string
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from offboard.domain.checklist import BY_KEY as CHECKLIST_ITEMS
from offboard.domain.policy import SETTINGS
from offboard.i18n import catalogue, glossary, translate
from offboard.i18n import mark as _


@dataclass(frozen=True)
class Party:
    """An audit id (`member:12`, `exit:3`, `token:4`, `system`, ...) resolved to words."""

    ref: str
    kind: str  # member | exit | token | webhook | department | tenant | plan | transfer | operator | system | other
    name: str  # in the reader's language: 张三 · the exit of 张三 · API token "ci" · The system
    member_id: int | None = None  # the member these words are about (a member, the leaver of an exit)
    person: str | None = None  # that member's name
    userid: str | None = None
    department: str | None = None  # that member's primary department


@dataclass(frozen=True)
class Part:
    """A piece of a sentence: text, and the member it names when it is a name."""

    text: str
    member_id: int | None = None
    userid: str | None = None
    department: str | None = None


# One sentence per action written with uow.audit (tests/unit/test_audit_sentences.py finds
# them all in the source). Placeholders: {actor}; the people {member} (first member target),
# {leaver} (whose exit it is), {other} (a second member: the acceptor); {department}, {token},
# {webhook}, {why} (a refused callback's reason);
# and from the details {count}, {kind}, {role}, {item}, {state}, {when}, {until}, {failures},
# {destination}, {settings}, {title}, {name}, {what} and {format} (of an export).
SENTENCES: dict[str, str] = {
    "tenant.created": _("{actor} created the enterprise {name}"),
    "department.added": _("{actor} added the department {department}"),
    "department.moved": _("{actor} moved the department {department}"),
    "department.leader_set": _("{actor} made {other} the leader of {department}"),
    "department.leader_cleared": _("{actor} removed the leader of {department}"),
    "department.dissolved": _("{actor} dissolved the department {department}"),
    "department.updated": _("{actor} changed the department {department}"),
    "member.added": _("{actor} added {member} to the directory"),
    "member.updated": _("{actor} changed the profile of {member}"),
    "member.renamed": _("{actor} changed the userid of {member}"),
    "member.scim_deleted": _("{actor} deleted {member} through SCIM: the restore window is closed"),
    "webhook.created": _("{actor} subscribed {webhook} to events"),
    "webhook.updated": _("{actor} changed {webhook}"),
    "webhook.removed": _("{actor} removed {webhook}"),
    "webhook.test_sent": _("{actor} sent a test event to {webhook}"),
    "webhook.resent": _("{actor} had an event sent again to {webhook}"),
    "webhook.callback_refused": _("A re-authorization callback for {webhook} was refused: {why}"),
    "member.credentials_set": _("{actor} set the sign-in credentials of {member}"),
    "member.access_cut": _("{actor} cut the access of {member}"),
    "role.granted": _("{actor} granted {member} the {role} role"),
    "role.removed": _("{actor} removed the {role} role from {member}"),
    "member.frozen": _("{actor} froze the account of {member}"),
    "member.unfrozen": _("{actor} unfroze the account of {member}"),
    "admin.backup_activated": _("{member}, the backup super admin, became the primary super admin"),
    "admin.handover.started": _("{actor} started handing super-admin power over to {member}"),
    "admin.handover.completed": _("{member} took over super-admin power from {other}"),
    "admin.handover.cancelled": _("{actor} cancelled the handover to {member}"),
    "admin.handover.reverted": _("{actor} took super-admin power back from {member}"),
    "admin.handover.expired": _("The handover to {member} expired unanswered"),
    "admin.handover.window_closed": _("The emergency window of {member} ran out and was closed"),
    "admin.backup_set": _("{actor} named {member} the backup super admin"),
    "admin.backup_removed": _("{actor} removed {member} as the backup super admin"),
    "tenant.frozen": _("The enterprise was frozen: no active super admin is left"),
    "tenant.recovered": _("{actor} recovered the enterprise and named {member} its super admin"),
    "token.created": _("{actor} created {token}"),
    "token.revoked": _("{actor} revoked {token}"),
    "token.reinstated": _("{actor} reinstated {token}"),
    "rollback.applied": _("{actor} rolled back the changes {member} made"),
    "keys.rotated": _("{actor} rotated the keys that wrap sealed data and the audit key"),
    "chats.read": _("{actor} read the chats of {member}"),
    "chats.exported": _("{actor} exported the chats of {member}"),
    "hold.placed": _("{actor} placed a legal hold on the records of {member}"),
    "hold.released": _("{actor} released a legal hold on the records of {member}"),
    "erasure.requested": _("{actor} filed a request to erase the personal data of {member}"),
    "erasure.done": _("{actor} erased personal data of {member} as requested"),
    "data.subject_access": _("{actor} made a copy of the personal data of {member} for them"),
    "data.backup_export": _("{actor} exported the sealed records of {member} from an enterprise backup"),
    "approvals.exported": _("{actor} exported {count} approval record(s) as {format}"),
    "report.exported": _("{actor} took the compliance report of {member}"),
    "policy.changed": _("{actor} changed the policy: {settings}"),
    "auth.signed_in": _("{member} signed in"),
    "auth.sign_in_failed": _("A sign-in as {member} failed"),
    "auth.sign_in_failed_unknown": _("A sign-in with an unknown userid failed"),
    "auth.totp_failed": _("{member} gave a wrong 6-digit code"),
    "auth.totp_not_enrolled": _("{member} has no second factor enrolled and could not finish signing in"),
    "auth.totp_replayed": _("{member} gave a 6-digit code that was already used"),
    "auth.second_factor_locked": _("The second factor of {member} was locked after {failures} failed codes"),
    "auth.second_factor_verified": _("{member} confirmed the 6-digit code"),
    "auth.signed_out": _("{member} signed out"),
    "auth.unlocked": _("{actor} unlocked the sign-in of {member}"),
    "exit.planned": _("{actor} planned the exit of {member}"),
    "bulk_exit.planned": _("{actor} planned a bulk exit of {count} line(s) from {name}"),
    "bulk_exit.confirmed": _("{actor} confirmed the bulk exit {name}: {count} member(s) to leave"),
    "bulk_exit.cancelled": _("{actor} cancelled the bulk exit {name} before it ran"),
    "bulk_exit.finished": _("The bulk exit {name} is done: {count} exit(s) took effect or were scheduled"),
    "bulk_exit.line_failed": _("The bulk exit could not do the exit of {member}; the other lines went on"),
    "exit.started": _("{actor} started the exit of {leaver}"),
    "exit.scheduled": _("{actor} scheduled the exit of {leaver} for {when}"),
    "exit.resources_moved": _("{actor} moved {count} × {kind} of {leaver} to {destination}"),
    "exit.took_effect": _("The exit of {leaver} took effect: access cut, restorable until {until}"),
    "exit.inherited": _("{actor} had {other} inherit {count} × {kind} of {leaver}"),
    "exit.cancelled": _("{actor} cancelled the exit of {leaver} before it took effect"),
    "exit.rescheduled": _("{actor} moved the exit of {leaver} to {when}"),
    "departures.imported": _("{actor} imported {count} leave date(s) from the HR feed ({name})"),
    "exit_request.filed": _("{actor} filed an exit request"),
    "exit_request.step_approved": _("{actor} approved the exit request of {member}; it goes to its next step"),
    "exit_request.approved": _("{actor} approved the exit request of {member}: the exit is scheduled for {when}"),
    "exit_request.rejected": _("{actor} rejected the exit request of {member}"),
    "exit_request.withdrawn": _("{member} withdrew their exit request"),
    "exit_request.cancelled": _("The exit request of {member} was closed: they left by another exit"),
    "exit_request.step_moved": _("The exit request of {member} waited on {other}, who left; it now waits on their manager or HR"),
    "exit_request.flow_changed": _("{actor} changed the approval flow of exit requests"),
    "exit.restored": _("{actor} restored {leaver}: the exit is undone"),
    "exit.signed_off": _("{actor} signed off the exit of {leaver} as {role}"),
    "exit.finalized": _("{actor} finalized the exit of {leaver}; chats are retained until {until}"),
    "exit.exported": _("{actor} exported the {what} of the exit of {leaver} as {format}"),
    "transfer.result": _("{actor} reported a transfer of {kind} of {leaver}: {state}"),
    "transfer.results": _("{actor} recorded {count} transfer(s) of {kind} of {leaver} as {state}"),
    "transfer.reassigned": _("{actor} withdrew {count} waiting transfer(s) of {kind} of {leaver} to hand them to {other}"),
    "transfer.taken_over": _("{count} × {kind} of {leaver} were taken over after 24 h"),
    "checklist.attested": _("{actor} attested the item {item} of the exit of {leaver}"),
    "checklist.item_added": _("{actor} added the checklist item {title}"),
    "devices.wiped": _("{actor} recorded {count} device(s) of {leaver} as wiped or returned"),
    "grants.acknowledged": _("{actor} acknowledged {count} third-party grant(s) of {leaver}"),
    "reimbursements.closed": _("{actor} closed {count} reimbursement(s) of {leaver}"),
    "demo.seeded": _("{actor} seeded the demo with {count} × {kind}"),
    "synthetic.seeded": _("{actor} loaded synthetic data: {count} × {kind}"),
}
# Sentences chosen by an event's details rather than by its action alone.
VARIANTS = {"department.leader_cleared", "auth.sign_in_failed_unknown", "auth.totp_not_enrolled"}
UNKNOWN = _("{actor}: {action}")

# The filter of the console offers the actions by the prefix of their name.
CATEGORIES: dict[str, str] = {
    "exit.": _("Exits"),
    "bulk_exit.": _("Bulk exits"),
    "departures.": _("HR leave dates"),
    "exit_request.": _("Exit requests"),
    "checklist.": _("Checklist"),
    "transfer.": _("Transfers"),
    "devices.": _("Devices"),
    "grants.": _("Third-party grants"),
    "reimbursements.": _("Reimbursements"),
    "member.": _("Members"),
    "role.": _("Roles"),
    "admin.": _("Super admins"),
    "department.": _("Departments"),
    "auth.": _("Sign-in"),
    "token.": _("API tokens"),
    "policy.": _("Policy"),
    "rollback.": _("Rollbacks"),
    "tenant.": _("Enterprise"),
    "keys.": _("Keys"),
    "chats.": _("Chat access"),
    "hold.": _("Legal holds"),
    "erasure.": _("Erasure"),
    "data.": _("Personal data copies"),
    "approvals.": _("Approval records"),
    "report.": _("Compliance reports"),
    "webhook.": _("Webhooks"),
    "demo.": _("Demo data"),
    "synthetic.": _("Synthetic data"),
}

DESTINATIONS = {
    "archive": _("Enterprise archive"),
    "delete": _("Deleted"),
    "first_member": _("First member who joined"),
    "unassigned": _("Unassigned"),
}
EXPORTS = {"ledger": _("Transfer ledger"), "checklist": _("Exit checklist"), "handover-sheet": _("Handover sheet")}
ACTORS = {"system": _("The system"), "operator": _("The operator")}
EXIT_OF = _("the exit of {name}")
TOKEN = _('API token "{name}"')
TOKEN_UNKNOWN = _("API token #{id}")
WEBHOOK = _("webhook endpoint {name}")
WEBHOOK_UNKNOWN = _("webhook endpoint #{id}")
MEMBER_UNKNOWN = _("member #{id}")
EXIT_UNKNOWN = _("exit #{id}")
DEPARTMENT_UNKNOWN = _("department #{id}")
TENANT = _("the enterprise")
NOTHING = "—"


def tenant_time(value: str | datetime | None, tz: str, *, seconds: bool = False) -> str:
    """A stored UTC time in the enterprise's time zone, as every console page shows times."""
    if not value:
        return NOTHING
    try:
        moment = datetime.fromisoformat(value) if isinstance(value, str) else value
        return moment.astimezone(ZoneInfo(tz)).strftime("%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M")
    except (OverflowError, ValueError, KeyError):  # an unreadable or edge-of-calendar value: shown as stored
        return str(value)


def template_of(action: str, details: Mapping[str, Any], targets: Sequence[Party]) -> str:
    """The sentence template of an event (an English msgid)."""
    key = action
    if action == "department.leader_set" and not details.get("to"):
        key = "department.leader_cleared"
    elif action == "auth.sign_in_failed" and not any(t.kind == "member" for t in targets):
        key = "auth.sign_in_failed_unknown"
    elif action == "auth.totp_failed" and details.get("reason") == "not_enrolled":
        key = "auth.totp_not_enrolled"
    return SENTENCES.get(key, UNKNOWN)


def detail_refs(action: str, details: Mapping[str, Any] | None) -> list[str]:
    """Audit ids a sentence names from the details rather than the targets (resolved with them)."""
    if action == "department.leader_set" and details and isinstance(details.get("to"), int):
        return [f"member:{details['to']}"]
    return []


def _person(party: Party) -> Part:
    if party.kind == "exit" and party.person is not None:
        return Part(party.person, party.member_id, party.userid, party.department)
    return Part(party.name, party.member_id, party.userid, party.department)


def _setting_labels(changes: Mapping[str, Any], locale: str) -> str:
    """The policy settings an event changed, by their names in the reader's language."""
    labels = [(s.label_zh if locale == "zh-CN" else s.label_en) if (s := SETTINGS.get(key)) else key for key in sorted(changes)]
    return glossary.join(labels, locale)


def _params(action: str, actor: Party, targets: Sequence[Party], extra: Sequence[Party], details: Mapping[str, Any], locale: str, tz: str) -> dict[str, Part]:
    def words(value: Any) -> Part:
        return Part(NOTHING if value is None or value == "" else str(value))

    def term(kind: str, value: Any) -> Part:
        return Part(glossary.term(kind, value, locale)) if value else Part(NOTHING)

    members = [t for t in targets if t.kind == "member"]
    exit_ = next((t for t in targets if t.kind == "exit"), None)
    leaver = exit_ if exit_ is not None and exit_.person is not None else (members[0] if members else exit_)
    others = [m for m in members if leaver is None or m.member_id != leaver.member_id] + list(extra)
    department = next((t for t in targets if t.kind == "department"), None)
    token = next((t for t in targets if t.kind == "token"), None)
    webhook = next((t for t in targets if t.kind == "webhook"), None)
    item = CHECKLIST_ITEMS.get(str(details.get("item", "")))
    changes = details.get("changes")
    destination = details.get("destination")
    params = {
        "actor": _person(actor),
        "action": Part(action),
        "member": _person(members[0]) if members else Part(NOTHING),
        "leaver": _person(leaver) if leaver is not None else Part(NOTHING),
        "other": _person(others[0]) if others else Part(NOTHING),
        "department": Part(department.name) if department else words(details.get("name")),
        "token": Part(token.name) if token else Part(NOTHING),
        "webhook": Part(webhook.name) if webhook else Part(NOTHING),
        "why": term("callback_refusal", details.get("reason")),
        "count": words(details.get("count")),
        "kind": term("resource_kind", details.get("kind")),
        "role": term("role", details.get("role")),
        "state": term("ledger_state", details.get("state")),
        "item": Part((item.title_zh if locale == "zh-CN" else item.title_en) if item else str(details.get("item") or NOTHING)),
        "when": Part(tenant_time(details.get("effective_at"), tz)),
        "until": Part(tenant_time(details.get("restore_until") or details.get("retained_until"), tz)),
        "failures": words(details.get("failures")),
        "settings": Part(_setting_labels(changes, locale)) if isinstance(changes, Mapping) and changes else Part(NOTHING),
        "title": words(details.get("title")),
        "name": words(details.get("name")),
        "what": Part(translate(EXPORTS[str(details.get("what"))], locale)) if str(details.get("what")) in EXPORTS else words(details.get("what")),
        "format": words(str(details["format"]).upper() if details.get("format") else None),
    }
    if action == "exit.resources_moved":
        params["destination"] = _person(others[0]) if others else (Part(translate(DESTINATIONS[str(destination)], locale)) if str(destination) in DESTINATIONS else words(destination))
    return params


def sentence_parts(
    action: str,
    actor: Party,
    targets: Sequence[Party],
    details: Mapping[str, Any] | None,
    locale: str,
    tz: str,
    extra: Sequence[Party] = (),
) -> list[Part]:
    """The event as a sentence in `locale`, cut where it names someone so a page can link them.
    `extra` holds the parties named in the details (detail_refs)."""
    details = details or {}
    template = template_of(action, details, targets)
    text = catalogue(locale).get(template, template)
    params = _params(action, actor, targets, extra, details, locale, tz)
    parts: list[Part] = []
    for literal, field, _spec, _conversion in string.Formatter().parse(text):
        if literal:
            parts.append(Part(literal))
        if field is not None:
            parts.append(params.get(field, Part(NOTHING)))
    return parts


def sentence(*args: Any, **kwargs: Any) -> str:
    return "".join(part.text for part in sentence_parts(*args, **kwargs))
