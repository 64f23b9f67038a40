"""Who holds power and where a super admin's handover stands (R-ADM-1..3), as the console's
handover page shows it: the primary and backup super admins (and a custodian in escrow) by name
and department, the enterprise's handover mode, the latest handover with its link and window,
and what the reader may do there.

Who may read it: whoever may manage admins (the super admins), and the parties of a live
handover without that permission: its old super admin, its nominee and its custodian while it
is pending, the old super admin while their emergency window is open. The acceptance link is a
page of its own: its secret is what lets a signed-in member read it (`acceptance`); accepting
still takes the nominee's own code (offboard.actions.handover.accept).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from sqlalchemy import Connection, select

from offboard.domain.authz import Action, Actor, allowed, require
from offboard.domain.handover import HandoverState, link_digest
from offboard.domain.policy import Policy
from offboard.domain.vocabulary import MemberStatus, SuperAdminRank
from offboard.queries.members import primary_departments
from offboard.store import super_admins
from offboard.store.rows import AnyRow
from offboard.store.tables import admin_handovers, members

H = admin_handovers


@dataclass(frozen=True)
class Handover:
    """A handover as the API and the CLI answer it: its parties by userid."""

    id: int
    mode: str
    state: str
    from_userid: str
    to_userid: str
    custodian_userid: str | None
    started_at: datetime
    completed_at: datetime | None
    window_until: datetime | None
    link_expires_at: datetime | None
    link: str | None = None  # the acceptance link's secret, in the answer to `start` only


def handover_record(conn: Connection, tenant_id: int, row: AnyRow, link: str | None = None) -> Handover:
    parties = {m for m in (row.from_member_id, row.to_member_id, row.custodian_id) if m is not None}
    userids = dict(conn.execute(select(members.c.id, members.c.userid).where(members.c.tenant_id == tenant_id, members.c.id.in_(parties))).all())
    return Handover(
        row.id,
        row.mode,
        row.state,
        userids[row.from_member_id],
        userids[row.to_member_id],
        userids[row.custodian_id] if row.custodian_id is not None else None,
        row.started_at,
        row.completed_at,
        row.window_until,
        row.link_expires_at,
        link,
    )


def current_handover(conn: Connection, tenant_id: int, actor: Actor) -> Handover | None:
    """The latest handover of the enterprise, for whoever may manage admins or is one of its parties."""
    row = super_admins.latest_handover(conn, tenant_id)
    if row is None or actor.member_id not in (row.from_member_id, row.to_member_id, row.custodian_id):
        require(actor, Action.MANAGE_ADMINS)
    return handover_record(conn, tenant_id, row) if row is not None else None


@dataclass(frozen=True)
class Person:
    id: int
    userid: str
    name: str
    department: str | None  # the primary department's name
    status: str


@dataclass(frozen=True)
class HandoverView:
    id: int
    mode: str
    state: str
    from_person: Person
    to_person: Person
    custodian: Person | None
    from_rank: str  # what the nominee takes over
    started_at: datetime
    completed_at: datetime | None
    ended_at: datetime | None
    window_until: datetime | None
    window_open: bool  # completed, and the old super admin still holds the emergency window
    link_expires_at: datetime | None
    link_lapsed: bool  # pending without a custodian and past its link: nothing can accept it any more


@dataclass(frozen=True)
class Part:
    """The reader's part in the enterprise's live handover, for the menu."""

    opens: bool  # may open the handover page without managing admins
    awaits_me: bool  # a handover waits for the reader's acceptance


@dataclass(frozen=True)
class PowerView:
    primary: Person | None
    backup: Person | None
    custodian: Person | None  # holds power in escrow (R-ADM-1, feishu)
    mode: str  # the policy's admin_handover
    window_days: int  # the policy's emergency_window_days
    custodian_powers: str
    latest: HandoverView | None  # the latest handover the reader may see
    manages: bool  # may manage admins: the backup super admin's forms
    may_start: bool  # a super admin (not a custodian) with no handover pending
    may_read_directory: bool  # people link to their member pages
    me: int  # the reader's member id
    me_active: bool

    @property
    def forms(self) -> frozenset[str]:
        """The forms the handover page offers the reader, by name: start, backup, and on the
        latest handover accept and cancel while it waits, revert inside the emergency window."""
        shown = {name for name, offered in (("start", self.may_start), ("backup", self.manages)) if offered}
        latest = self.latest
        if latest is not None and latest.state == HandoverState.PENDING and not latest.link_lapsed:
            shown |= {name for name, party in (("accept", latest.to_person), ("cancel", latest.from_person)) if party.id == self.me}
        elif latest is not None and latest.window_open and latest.from_person.id == self.me and self.me_active:
            shown.add("revert")
        return frozenset(shown)


def _people(conn: Connection, tenant_id: int, ids: set[int]) -> dict[int, Person]:
    if not ids:
        return {}
    rows = conn.execute(select(members.c.id, members.c.userid, members.c.name, members.c.status).where(members.c.tenant_id == tenant_id, members.c.id.in_(ids))).all()
    departments = primary_departments(conn, tenant_id, [r.id for r in rows])
    return {r.id: Person(r.id, r.userid, r.name, departments.get(r.id), r.status) for r in rows}


def _lapsed(row: AnyRow, now: datetime) -> bool:
    return row.state == HandoverState.PENDING and row.custodian_id is None and row.link_expires_at is not None and row.link_expires_at <= now


def _view(row: AnyRow, people: dict[int, Person], now: datetime) -> HandoverView:
    window_open = row.state == HandoverState.COMPLETED and row.window_until is not None and row.window_until > now and row.window_closed_at is None
    return HandoverView(
        row.id,
        row.mode,
        row.state,
        people[row.from_member_id],
        people[row.to_member_id],
        people[row.custodian_id] if row.custodian_id is not None else None,
        row.from_rank,
        row.started_at,
        row.completed_at,
        row.ended_at,
        row.window_until,
        window_open,
        row.link_expires_at,
        _lapsed(row, now),
    )


def _live(conn: Connection, tenant_id: int, member_id: int | None, now: datetime) -> AnyRow | None:
    """The handover `member_id` is a party of now: pending (old super admin, nominee, custodian)
    or completed with their emergency window open (old super admin)."""
    if member_id is None:
        return None
    pending = super_admins.pending_handover(conn, tenant_id)
    if pending is not None and member_id in (pending.from_member_id, pending.to_member_id, pending.custodian_id):
        return pending
    return super_admins.open_window(conn, tenant_id, member_id, now)


def handover_part(conn: Connection, tenant_id: int, actor: Actor, now: datetime) -> Part:
    live = _live(conn, tenant_id, actor.member_id, now)
    if live is None:
        return Part(False, False)
    waits = live.state == HandoverState.PENDING and live.to_member_id == actor.member_id and not _lapsed(live, now)
    return Part(True, waits)


def power_view(conn: Connection, tenant: AnyRow, actor: Actor, now: datetime) -> PowerView:
    tid = tenant.id
    manages = allowed(actor, Action.MANAGE_ADMINS)
    live = _live(conn, tid, actor.member_id, now)
    if not manages and live is None:
        require(actor, Action.MANAGE_ADMINS)  # refused: neither a super admin nor a party
    assert actor.member_id is not None, "the handover page is a member's"
    holders = super_admins.holders(conn, tid)
    latest = super_admins.latest_handover(conn, tid) if manages else live
    ids = {h.member_id for h in holders} | {actor.member_id}
    if latest is not None:
        ids |= {m for m in (latest.from_member_id, latest.to_member_id, latest.custodian_id) if m is not None}
    people = _people(conn, tid, ids)

    def holder(rank: SuperAdminRank) -> Person | None:
        return next((people[h.member_id] for h in holders if h.rank == rank), None)

    mine = super_admins.super_admin_role(conn, tid, actor.member_id)
    pending = super_admins.pending_handover(conn, tid)
    policy = Policy.of(tenant.profile, tenant.policy)
    return PowerView(
        primary=holder(SuperAdminRank.PRIMARY),
        backup=holder(SuperAdminRank.BACKUP),
        custodian=holder(SuperAdminRank.CUSTODIAN),
        mode=policy.admin_handover.value,
        window_days=policy.emergency_window_days,
        custodian_powers=policy.custodian_powers.value,
        latest=_view(latest, people, now) if latest is not None else None,
        manages=manages,
        may_start=manages and mine is not None and mine.rank != SuperAdminRank.CUSTODIAN and (pending is None or _lapsed(pending, now)),
        may_read_directory=allowed(actor, Action.READ_DIRECTORY),
        me=actor.member_id,
        me_active=people[actor.member_id].status == MemberStatus.ACTIVE,
    )


@dataclass(frozen=True)
class Acceptance:
    """What the acceptance link says to the signed-in reader: `ready` (theirs to accept), `expired`
    (theirs, lapsed unanswered), `not_yours` (it names someone else: nothing more is shown) or
    `invalid` (no handover waits behind it: mistyped, used, cancelled)."""

    state: Literal["ready", "expired", "not_yours", "invalid"]
    handover: HandoverView | None
    window_days: int
    may_open_page: bool  # the reader may open the handover page


def acceptance(conn: Connection, tenant: AnyRow, actor: Actor, link: str, now: datetime) -> Acceptance:
    """The handover behind an acceptance link, for the member who opened it."""
    tid = tenant.id
    policy = Policy.of(tenant.profile, tenant.policy)
    may_open = allowed(actor, Action.MANAGE_ADMINS) or _live(conn, tid, actor.member_id, now) is not None
    row = conn.execute(select(H).where(H.c.tenant_id == tid, H.c.link_hash == link_digest(link), H.c.state.in_([HandoverState.PENDING, HandoverState.EXPIRED]))).first()
    if row is None:
        return Acceptance("invalid", None, policy.emergency_window_days, may_open)
    if row.to_member_id != actor.member_id:
        return Acceptance("not_yours", None, policy.emergency_window_days, may_open)
    people = _people(conn, tid, {m for m in (row.from_member_id, row.to_member_id, row.custodian_id) if m is not None})
    view = _view(row, people, now)
    state: Literal["ready", "expired"] = "expired" if row.state == HandoverState.EXPIRED or view.link_lapsed else "ready"
    return Acceptance(state, view, policy.emergency_window_days, may_open)
