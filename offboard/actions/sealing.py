"""Sealing at finalization (R-LAW-3, checklist item 11), in the finalization's transaction: each
departed member gets a data key, wrapped by the key vault under their data region's key; their
chat messages and contact fields are encrypted under it (offboard.crypto.sealing) and the plain
values emptied. What is sealed opens only with that data key, which only the vault unwraps, and
is unreadable everywhere once the data key is destroyed.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from collections.abc import Sequence

from sqlalchemy import insert, literal, select, tuple_

from offboard.actions.context import UnitOfWork
from offboard.crypto.sealing import NONCE, Sealer, data_key_binding, new_data_key
from offboard.domain.errors import Conflict, error
from offboard.interfaces import KeyVault, WrappedKey
from offboard.store.driver_rows import update_rows
from offboard.store.id_lists import among_ids
from offboard.store.sealing import write_sealed
from offboard.store.rows import AnyRow
from offboard.store.tables import member_data_keys, members, messages

PROFILE_FIELDS = ("email", "mobile", "title")
CHUNK = 5000


def _vault(uow: UnitOfWork) -> KeyVault:
    if uow.vault is None:
        raise error(Conflict, "no_key_vault", "These services have no key vault, so a departed member's data cannot be sealed; start them with a key file (OFFBOARD_KEY_FILE).")
    return uow.vault


def _data_keys(uow: UnitOfWork, people: Sequence[AnyRow], vault: KeyVault) -> dict[int, bytes]:
    """Each member's data key: the one made at an earlier sealing, else a new one, wrapped under
    their region's key; the new ones inserted by one statement."""
    conn, tid = uow.conn, uow.tenant_id
    ids = [p.id for p in people]
    keys: dict[int, bytes] = {}
    for row in conn.execute(select(member_data_keys).where(member_data_keys.c.tenant_id == tid, among_ids(conn, member_data_keys.c.member_id, ids))):
        keys[row.member_id] = vault.unwrap(WrappedKey(row.region, row.kek_id, row.wrapped), data_key_binding(tid, row.member_id))
    made = []
    for person in people:
        if person.id in keys:
            continue
        keys[person.id] = new_data_key()
        wrapped = vault.wrap(person.region, keys[person.id], data_key_binding(tid, person.id))
        made.append({"tenant_id": tid, "member_id": person.id, "region": wrapped.region, "kek_id": wrapped.key_id, "wrapped": wrapped.blob, "created_at": uow.now})
    if made:
        conn.execute(insert(member_data_keys), made)
    return keys


def seal_members(uow: UnitOfWork, member_ids: Sequence[int]) -> dict[int, int]:
    """Seal what these members left unsealed, set-based for all of them (a layoff finalizes
    thousands at once): their profiles by one statement, their messages a chunk at a time in
    (author, id) order. Returns the messages sealed per member."""
    vault = _vault(uow)
    conn, tid = uow.conn, uow.tenant_id
    columns = [members.c[f] for f in PROFILE_FIELDS]
    people: list[AnyRow] = list(conn.execute(select(members.c.id, members.c.region, *columns).where(members.c.tenant_id == tid, among_ids(conn, members.c.id, member_ids))))
    if not people:
        return {}
    sealers = {member: Sealer(key, tid, member) for member, key in _data_keys(uow, people, vault).items()}
    profiles = []
    for person in people:
        profile = {f: getattr(person, f) for f in PROFILE_FIELDS if getattr(person, f) is not None}
        if profile:
            blob = sealers[person.id].seal("profile", json.dumps(profile, ensure_ascii=False, sort_keys=True).encode())
            profiles.append({"tenant_id": tid, "id": person.id, "sealed_profile": blob, **dict.fromkeys(PROFILE_FIELDS)})
    update_rows(conn, members, ("tenant_id", "id"), profiles)
    return _seal_messages(uow, sealers)


def _seal_messages(uow: UnitOfWork, sealers: dict[int, Sealer]) -> dict[int, int]:
    conn, tid = uow.conn, uow.tenant_id
    counts: Counter[int] = Counter()
    authors = sorted(sealers)
    after = (0, 0)
    while True:
        rows = conn.execute(
            select(messages.c.author_id, messages.c.id, messages.c.body)
            .where(
                messages.c.tenant_id == tid,
                among_ids(conn, messages.c.author_id, authors),
                messages.c.sealed_at.is_(None),
                tuple_(messages.c.author_id, messages.c.id) > tuple_(literal(after[0]), literal(after[1])),
            )
            .order_by(messages.c.author_id, messages.c.id)
            .limit(CHUNK)
        ).all()
        if not rows:
            return dict(counts)
        nonces = os.urandom(NONCE * len(rows))
        sealed = [(i, sealers[a].seal_with(nonces[n * NONCE : (n + 1) * NONCE], f"message:{i}", (body or "").encode())) for n, (a, i, body) in enumerate(rows)]
        write_sealed(conn, tid, sealed, uow.now)
        counts.update(a for a, _, _ in rows)
        after = (rows[-1].author_id, rows[-1].id)
