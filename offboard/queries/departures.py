"""The HR feed's departures for a reader (R-EXIT-8): each leave date HR sent, newest first, with
the exit it scheduled and what became of it."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, and_, func, select

from offboard.domain import validation as v
from offboard.domain.authz import Action, Actor, require
from offboard.domain.errors import ValidationError, error
from offboard.domain.vocabulary import ExitState
from offboard.store.tables import departures, exits, members

D = departures


@dataclass(frozen=True)
class DepartureItem:
    userid: str
    name: str
    member_id: int
    leave_date: str  # YYYY-MM-DD, as HR sent it
    current: bool  # the date HR sent last for this exit (an earlier one was moved from)
    exit_id: int
    exit_state: str
    effective_at: str  # when the exit takes (or took) effect: HR's date, or where a person moved it
    source: str
    imported_at: str


@dataclass(frozen=True)
class DeparturePage:
    total: int
    limit: int
    offset: int
    items: list[DepartureItem]


def list_departures(conn: Connection, tenant_id: int, actor: Actor, *, state: str | None = None, limit: int = 50, offset: int = 0) -> DeparturePage:
    """The departures the feed imported, newest first; `state`, only those whose exit is in it."""
    require(actor, Action.READ_DIRECTORY)
    if not 1 <= limit <= 500 or offset < 0:
        raise error(ValidationError, "invalid_page", "limit must be 1-500 and offset 0 or more.")
    joined = D.join(exits, and_(exits.c.tenant_id == D.c.tenant_id, exits.c.id == D.c.exit_id)).join(members, and_(members.c.tenant_id == D.c.tenant_id, members.c.id == D.c.member_id))
    where = [D.c.tenant_id == tenant_id]
    if state is not None:
        where.append(exits.c.state == v.choice(state, ExitState, "state"))
    total = conn.execute(select(func.count()).select_from(joined).where(*where)).scalar_one()
    rows = conn.execute(
        select(D, exits.c.state, exits.c.effective_at, members.c.userid, members.c.name)
        .select_from(joined)
        .where(*where)
        .order_by(D.c.imported_at.desc(), D.c.member_id.desc(), D.c.leave_date.desc())
        .limit(limit)
        .offset(offset)
    ).all()
    items = [
        DepartureItem(
            userid=r.userid,
            name=r.name,
            member_id=r.member_id,
            leave_date=r.leave_date.isoformat(),
            current=r.current,
            exit_id=r.exit_id,
            exit_state=r.state,
            effective_at=r.effective_at.isoformat(),
            source=r.source,
            imported_at=r.imported_at.isoformat(),
        )
        for r in rows
    ]
    return DeparturePage(total, limit, offset, items)
