"""The keys that wrap sealed data and the audit keys (R-LAW-3): checked when the services start,
and rotated by `offboard keys rotate`.

Once anything is wrapped, the key file must be the one that wrapped it: a missing or other key
file is a refusal to start, never a new key that would orphan what is sealed. Rotation makes a
new key-encryption key per region and re-wraps every data key, audit key and webhook signing
secret under it, without
touching the data those protect; the old keys stay in the file, so a backup of the database
taken before still opens.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass

from sqlalchemy import Connection, select, update

from offboard.actions.audit_checkpoints import audit_key_binding
from offboard.actions.context import Services, tenant_transaction
from offboard.crypto.sealing import data_key_binding
from offboard.interfaces import KeyVault, WrappedKey
from offboard.actions.webhooks import secret_binding
from offboard.store.tables import audit_signing_keys, member_data_keys, tenants, webhook_subscriptions

D, A, W = member_data_keys, audit_signing_keys, webhook_subscriptions


def check_keys(conn: Connection, vault: KeyVault) -> None:
    """Unwrap one wrap per key-encryption key the database names; raises KeyVaultError (key
    file missing, unreadable, another one) when one does not open."""
    for kek_id in conn.execute(select(D.c.kek_id).distinct()).scalars().all():
        row = conn.execute(select(D).where(D.c.kek_id == kek_id).limit(1)).one()
        vault.unwrap(WrappedKey(row.region, row.kek_id, row.wrapped), data_key_binding(row.tenant_id, row.member_id))
    for kek_id in conn.execute(select(A.c.kek_id).distinct()).scalars().all():
        row = conn.execute(select(A).where(A.c.kek_id == kek_id).limit(1)).one()
        vault.unwrap(WrappedKey(row.region, row.kek_id, base64.b64decode(row.wrapped)), audit_key_binding(row.tenant_id, row.key_id))
    for kek_id in conn.execute(select(W.c.kek_id).distinct()).scalars().all():
        row = conn.execute(select(W).where(W.c.kek_id == kek_id).limit(1)).one()
        vault.unwrap(WrappedKey(row.region, row.kek_id, row.secret_wrapped), secret_binding(row.tenant_id, row.id))


@dataclass(frozen=True)
class Rotated:
    tenant: str
    data_keys: int
    audit_keys: int
    webhook_secrets: int


def rotate(services: Services) -> list[Rotated]:
    """A new key-encryption key for every region in use, and every wrap moved under it; an
    enterprise per transaction, each audited."""
    vault = services.vault
    if vault is None:
        return []
    with services.db.read() as conn:
        regions = {region for table in (D, A, W) for region in conn.execute(select(table.c.region).distinct()).scalars()}
        tenant_ids = list(conn.execute(select(tenants.c.id).order_by(tenants.c.id)).scalars())
    newest = {region: vault.new_key(region) for region in sorted(regions)}
    done = []
    for tenant_id in tenant_ids:
        with tenant_transaction(services, tenant_id=tenant_id) as uow:
            conn, tid = uow.conn, uow.tenant_id
            moved_data = 0
            for row in conn.execute(select(D).where(D.c.tenant_id == tid)).all():
                wrapped = vault.rotate(WrappedKey(row.region, row.kek_id, row.wrapped), data_key_binding(tid, row.member_id))
                conn.execute(update(D).where(D.c.tenant_id == tid, D.c.member_id == row.member_id).values(kek_id=wrapped.key_id, wrapped=wrapped.blob))
                moved_data += 1
            moved_audit = 0
            for row in conn.execute(select(A).where(A.c.tenant_id == tid)).all():
                wrapped = vault.rotate(WrappedKey(row.region, row.kek_id, base64.b64decode(row.wrapped)), audit_key_binding(tid, row.key_id))
                conn.execute(update(A).where(A.c.tenant_id == tid, A.c.key_id == row.key_id).values(kek_id=wrapped.key_id, wrapped=base64.b64encode(wrapped.blob).decode()))
                moved_audit += 1
            moved_secrets = 0
            for row in conn.execute(select(W).where(W.c.tenant_id == tid)).all():
                wrapped = vault.rotate(WrappedKey(row.region, row.kek_id, row.secret_wrapped), secret_binding(tid, row.id))
                conn.execute(update(W).where(W.c.tenant_id == tid, W.c.id == row.id).values(kek_id=wrapped.key_id, secret_wrapped=wrapped.blob))
                moved_secrets += 1
            if moved_data or moved_audit or moved_secrets:
                details = {"data_keys": moved_data, "audit_keys": moved_audit, "webhook_secrets": moved_secrets, "key_ids": sorted(newest.values())}
                uow.audit("keys.rotated", [f"tenant:{tid}"], details)
                done.append(Rotated(uow.tenant.slug, moved_data, moved_audit, moved_secrets))
    return done
