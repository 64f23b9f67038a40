"""People as the pickers and pages name them: the members who may receive a leaver's resources,
found by name, pinyin or userid as the reader types (issue 9 item 2), and people looked up by
userid or id to be shown by name.

A suggestion is a member who may receive (R-ORG-4): active, with no exit scheduled or open,
and not the leaver. Each answer reads the members in one query and their primary departments
in a second, whatever the number of rows.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass

from sqlalchemy import ColumnElement, Connection, and_, case, exists, func, or_, select

from offboard.domain import validation as v
from offboard.domain.authz import Action, Actor, require
from offboard.domain.errors import ValidationError, error
from offboard.domain.vocabulary import OPEN_EXIT_STATES, USERID_HOLDING_STATUSES, MemberStatus
from offboard.queries.members import in_departments, primary_departments, reader_scope
from offboard.store.rows import AnyRow
from offboard.store.tables import exits, members

MAX_QUERY = 64  # characters of a query
MAX_LIMIT = 50  # suggestions in one answer


@dataclass(frozen=True)
class PersonChoice:
    id: int
    userid: str
    name: str
    department: str | None  # the primary department's name
    title: str | None


def _escaped(text: str) -> str:
    """Text to find, not a pattern: % _ and the escape character match themselves."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def may_receive(tenant_id: int) -> ColumnElement[bool]:
    """R-ORG-4: an active member who is not leaving (no exit scheduled or open)."""
    leaving = exists().where(
        exits.c.tenant_id == tenant_id,
        exits.c.member_id == members.c.id,
        exits.c.state.in_([s.value for s in OPEN_EXIT_STATES]),
    )
    return and_(members.c.tenant_id == tenant_id, members.c.status == MemberStatus.ACTIVE.value, ~leaving)


def suggest(conn: Connection, tenant_id: int, actor: Actor, query: str, *, exclude: int | None = None, limit: int = 10) -> list[PersonChoice]:
    """Who may receive, matching `query` in the userid, the name or the name's pinyin
    (case-insensitive): the exact userid first, then what starts with the query, then what
    contains it, each by name. A scoped admin is offered the members of their scope only."""
    require(actor, Action.READ_DIRECTORY)
    if not 1 <= limit <= MAX_LIMIT:
        raise error(ValidationError, "invalid_limit", "limit must be 1-{max}.", max=MAX_LIMIT)
    text = v.clean(query, "search")
    if len(text) > MAX_QUERY:
        raise error(ValidationError, "query_too_long", "Type at most {max} characters to search.", max=MAX_QUERY)
    needle = text.lower()
    if not needle:
        return []
    where = [may_receive(tenant_id)]
    if exclude is not None:
        where.append(members.c.id != exclude)
    scope = reader_scope(actor)
    if scope is not None:
        if not scope:
            return []
        where.append(in_departments(tenant_id, scope))
    # The key is lower case without spaces inside a half ("cj chenjing"): "Chen Jing" finds it.
    word, key = _escaped(needle), _escaped("".join(needle.split()))
    starts = or_(
        members.c.userid.ilike(word + "%", escape="\\"),
        members.c.name.ilike(word + "%", escape="\\"),
        members.c.search_key.like(key + "%", escape="\\"),
        members.c.search_key.like("% " + key + "%", escape="\\"),
    )
    contains = or_(
        members.c.userid.ilike("%" + word + "%", escape="\\"),
        members.c.name.ilike("%" + word + "%", escape="\\"),
        members.c.search_key.like("%" + key + "%", escape="\\"),
    )
    rank = case((func.lower(members.c.userid) == needle, 0), (starts, 1), else_=2)
    rows = conn.execute(select(members.c.id, members.c.userid, members.c.name, members.c.title).where(*where, contains).order_by(rank, members.c.name, members.c.id).limit(limit)).all()
    return _choices(conn, tenant_id, rows)


def by_userids(conn: Connection, tenant_id: int, actor: Actor, userids: Collection[str]) -> dict[str, PersonChoice]:
    """The members holding these userids (current or exited, as a userid is unique among them),
    by userid, for a form that shows whom a typed userid names; unknown ones are left out, and a
    scoped admin learns only of members in their scope."""
    require(actor, Action.READ_DIRECTORY)
    wanted = sorted({u for u in userids if u})
    if not wanted:
        return {}
    where = [members.c.tenant_id == tenant_id, members.c.userid.in_(wanted), members.c.status.in_([s.value for s in USERID_HOLDING_STATUSES])]
    scope = reader_scope(actor)
    if scope is not None:
        if not scope:
            return {}
        where.append(in_departments(tenant_id, scope))
    rows = conn.execute(select(members.c.id, members.c.userid, members.c.name, members.c.title).where(*where)).all()
    return {p.userid: p for p in _choices(conn, tenant_id, rows)}


def by_ids(conn: Connection, tenant_id: int, member_ids: Collection[int]) -> dict[int, PersonChoice]:
    """These members by id, for a read model that names people it already may show (a plan's
    successor and acceptors); unknown ids are left out."""
    wanted = sorted(set(member_ids))
    if not wanted:
        return {}
    rows = conn.execute(select(members.c.id, members.c.userid, members.c.name, members.c.title).where(members.c.tenant_id == tenant_id, members.c.id.in_(wanted))).all()
    return {p.id: p for p in _choices(conn, tenant_id, rows)}


def _choices(conn: Connection, tenant_id: int, rows: Sequence[AnyRow]) -> list[PersonChoice]:
    departments = primary_departments(conn, tenant_id, [r.id for r in rows])
    return [PersonChoice(r.id, r.userid, r.name, departments.get(r.id), r.title) for r in rows]
