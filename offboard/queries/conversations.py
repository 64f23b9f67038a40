"""The conversations of a page of chat messages, as a person names them: a group chat by its
name, a direct chat by the other person's name. Messages store the conversation as a reference
(`group:12`, `dm:3:7`); a page of an audited read (offboard.actions.chats) is shown with these
words instead. Two queries, whatever the number of messages."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import Connection, select

from offboard.store import repo
from offboard.store.tables import internal_groups


@dataclass(frozen=True)
class Conversation:
    kind: str  # group | direct | other
    name: str | None  # the group's name, or the other person's; None when unknown


def _number(raw: str) -> int | None:
    return int(raw) if raw.isascii() and raw.isdigit() and 0 < len(raw) <= 18 else None


def conversations(conn: Connection, tenant_id: int, member_id: int, refs: Iterable[str]) -> dict[str, Conversation]:
    """Each reference of `member_id`'s messages in words (the other side of a direct chat is the
    one who is not them)."""
    refs = set(refs)
    groups: dict[str, int] = {}
    direct: dict[str, int] = {}
    for ref in refs:
        kind, _sep, rest = ref.partition(":")
        if kind == "group" and (number := _number(rest)) is not None:
            groups[ref] = number
        elif kind == "dm":
            ids = [n for n in (_number(p) for p in rest.split(":")) if n is not None]
            others = [i for i in ids if i != member_id]
            if len(ids) == 2 and others:
                direct[ref] = others[0]
    group_names: dict[int, str] = {}
    if groups:
        query = select(internal_groups.c.id, internal_groups.c.name).where(internal_groups.c.tenant_id == tenant_id, internal_groups.c.id.in_(set(groups.values())))
        group_names = {r.id: r.name for r in conn.execute(query)}
    people = repo.member_names(conn, tenant_id, set(direct.values()))
    found: dict[str, Conversation] = {}
    for ref in refs:
        if ref in groups:
            found[ref] = Conversation("group", group_names.get(groups[ref]))
        elif ref in direct:
            found[ref] = Conversation("direct", people.get(direct[ref]))
        else:
            found[ref] = Conversation("other", None)
    return found
