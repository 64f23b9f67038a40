"""Sealing at finalization (R-LAW-3, checklist item 11), in the finalization's transaction: each
departed member gets a data key, wrapped by the key vault under their data region's key; their
chat messages and contact fields are encrypted under it (offboard.crypto.sealing) and the plain
values emptied. What is sealed opens only with that data key, which only the vault unwraps, and
is unreadable everywhere once the data key is destroyed.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from sqlalchemy import insert, select, update

from offboard.actions.context import UnitOfWork
from offboard.crypto.sealing import Sealer, data_key_binding, new_data_key
from offboard.domain.errors import Conflict, error
from offboard.interfaces import KeyVault, WrappedKey
from offboard.store.sealing import write_sealed
from offboard.store.rows import AnyRow
from offboard.store.tables import member_data_keys, members, messages

PROFILE_FIELDS = ("email", "mobile", "title")
CHUNK = 5000


def _vault(uow: UnitOfWork) -> KeyVault:
    if uow.vault is None:
        raise error(Conflict, "no_key_vault", "These services have no key vault, so a departed member's data cannot be sealed; start them with a key file (OFFBOARD_KEY_FILE).")
    return uow.vault


def data_key(uow: UnitOfWork, member_id: int, region: str, vault: KeyVault) -> bytes:
    """The member's data key: the one made at an earlier sealing, else a new one, wrapped and kept."""
    row = uow.conn.execute(select(member_data_keys).where(member_data_keys.c.tenant_id == uow.tenant_id, member_data_keys.c.member_id == member_id)).first()
    if row is not None:
        return vault.unwrap(WrappedKey(row.region, row.kek_id, row.wrapped), data_key_binding(uow.tenant_id, member_id))
    key = new_data_key()
    wrapped = vault.wrap(region, key, data_key_binding(uow.tenant_id, member_id))
    uow.conn.execute(insert(member_data_keys).values(tenant_id=uow.tenant_id, member_id=member_id, region=wrapped.region, kek_id=wrapped.key_id, wrapped=wrapped.blob, created_at=uow.now))
    return key


def seal_members(uow: UnitOfWork, member_ids: Sequence[int]) -> dict[int, int]:
    """Seal what each member left unsealed; returns the messages sealed per member."""
    vault = _vault(uow)
    conn, tid = uow.conn, uow.tenant_id
    sealed: dict[int, int] = {}
    people: list[AnyRow] = list(
        conn.execute(select(members.c.id, members.c.region, members.c.sealed_profile, *[members.c[f] for f in PROFILE_FIELDS]).where(members.c.tenant_id == tid, members.c.id.in_(member_ids)))
    )
    for person in people:
        sealer = Sealer(data_key(uow, person.id, person.region, vault), tid, person.id)
        profile = {f: getattr(person, f) for f in PROFILE_FIELDS if getattr(person, f) is not None}
        if profile:
            blob = sealer.seal("profile", json.dumps(profile, ensure_ascii=False, sort_keys=True).encode())
            conn.execute(update(members).where(members.c.tenant_id == tid, members.c.id == person.id).values(sealed_profile=blob, **dict.fromkeys(PROFILE_FIELDS)))
        sealed[person.id] = _seal_messages(uow, sealer, person.id)
    return sealed


def _seal_messages(uow: UnitOfWork, sealer: Sealer, member_id: int) -> int:
    conn, tid = uow.conn, uow.tenant_id
    count, after = 0, 0
    while True:
        rows = conn.execute(
            select(messages.c.id, messages.c.body)
            .where(messages.c.tenant_id == tid, messages.c.author_id == member_id, messages.c.sealed_at.is_(None), messages.c.id > after)
            .order_by(messages.c.id)
            .limit(CHUNK)
        ).all()
        if not rows:
            return count
        blobs = sealer.seal_many([f"message:{i}" for i, _ in rows], [(body or "").encode() for _, body in rows])
        write_sealed(conn, tid, [(i, blob) for (i, _), blob in zip(rows, blobs, strict=True)], uow.now)
        count += len(rows)
        after = rows[-1].id
