"""Signed checkpoints of a tenant's audit tree (SPEC §8): the tree grown to the chain's head and
its root signed with the tenant's Ed25519 audit key as a C2SP checkpoint, every hour and right
after a privileged event (the reconciler), or when a proof is asked for beyond the last one.

The audit key is made on first use: its private half wrapped by the key vault under the
tenant's region, its public half kept in the open (`offboard audit public-key` prints it as a
C2SP verifier key). Each checkpoint is handed to the outbox (`audit.checkpoint`), so a
subscriber can push it off the host, where changing the database no longer hides a rewrite.
"""

from __future__ import annotations

import base64
from datetime import timedelta

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat

from offboard.actions.context import UnitOfWork
from offboard.audit import note
from offboard.audit.note import Checkpoint
from offboard.domain.authz import Action
from offboard.domain.errors import Conflict, error
from offboard.interfaces import KeyVault, WrappedKey
from offboard.store import audit_tree
from offboard.store.audit_tree import StoredCheckpoint
from offboard.store.rows import AnyRow

HOURLY = timedelta(hours=1)
# What a checkpoint follows at once (SPEC §8): who holds power, what can be undone or erased.
PRIVILEGED = (
    "exit.restored",
    "policy.changed",
    "admin.handover.started",
    "admin.handover.completed",
    "admin.handover.reverted",
    "admin.handover.cancelled",
    "admin.backup_activated",
    "member.frozen",
    "member.unfrozen",
    "tenant.frozen",
    "tenant.recovered",
    "rollback.applied",
    "erasure.requested",
    "erasure.done",
    "hold.placed",
    "hold.released",
    "data.backup_export",  # deleted data brought back out of a backup (R-DATA-4)
)


def key_name(slug: str) -> str:
    """The audit key's name, also the checkpoints' origin line."""
    return f"offboard/{slug}/audit"


def audit_key_binding(tenant_id: int, key_id: str) -> bytes:
    """The associated data of a tenant's wrapped audit key."""
    return f"offboard audit signing key|tenant:{tenant_id}|key:{key_id}".encode()


def _new_key(uow: UnitOfWork, vault: KeyVault) -> tuple[AnyRow, Ed25519PrivateKey]:
    private = Ed25519PrivateKey.generate()
    name = key_name(uow.tenant.slug)
    public = note.public_bytes(private)
    kid = note.key_id(name, public).hex()
    seed = private.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
    wrapped = vault.wrap(uow.tenant.region, seed, audit_key_binding(uow.tenant_id, kid))
    audit_tree.add_signing_key(
        uow.conn,
        {
            "tenant_id": uow.tenant_id,
            "key_id": kid,
            "name": name,
            "public_key": public.hex(),
            "region": wrapped.region,
            "kek_id": wrapped.key_id,
            "wrapped": base64.b64encode(wrapped.blob).decode(),
            "created_at": uow.now,
        },
    )
    return audit_tree.signing_keys(uow.conn, uow.tenant_id)[0], private


def _signing_key(uow: UnitOfWork, vault: KeyVault) -> tuple[AnyRow, Ed25519PrivateKey]:
    keys = audit_tree.signing_keys(uow.conn, uow.tenant_id)
    if not keys:
        return _new_key(uow, vault)
    row = keys[0]
    seed = vault.unwrap(WrappedKey(row.region, row.kek_id, base64.b64decode(row.wrapped)), audit_key_binding(uow.tenant_id, row.key_id))
    return row, Ed25519PrivateKey.from_private_bytes(seed)


def checkpoint(uow: UnitOfWork, vault: KeyVault | None, reason: str) -> StoredCheckpoint | None:
    """Sign the tree of every event committed so far; the latest checkpoint when nothing was
    added since, None for an empty log or while another process is making one."""
    uow.require(Action.READ_AUDIT)
    if vault is None:
        raise error(Conflict, "no_key_vault", "These services have no key vault, so the audit log cannot be signed; start them with a key file (OFFBOARD_KEY_FILE).")
    conn, tid = uow.conn, uow.tenant_id
    if not audit_tree.try_lock(conn, tid):
        return None
    size = audit_tree.head_size(conn, tid)
    latest = audit_tree.latest_checkpoint(conn, tid)
    if size == 0 or (latest is not None and latest.size == size):
        return latest
    root = audit_tree.grow(conn, tid, latest.size if latest else 0, size)
    row, private = _signing_key(uow, vault)
    signed = note.sign(Checkpoint(row.name, size, root).text(), row.name, private)
    audit_tree.add_checkpoint(conn, tid, size, root, row.key_id, signed, reason, uow.now)
    uow.emit("audit.checkpoint", size=size)
    return audit_tree.checkpoint_of_size(conn, tid, size)


def verifier_key(uow: UnitOfWork, vault: KeyVault | None) -> str:
    """The tenant's current audit key as a C2SP verifier key (made on first use)."""
    uow.require(Action.READ_AUDIT)
    keys = audit_tree.signing_keys(uow.conn, uow.tenant_id)
    if not keys:
        if vault is None:
            raise error(Conflict, "no_key_vault", "These services have no key vault, so the audit log cannot be signed; start them with a key file (OFFBOARD_KEY_FILE).")
        row, _ = _new_key(uow, vault)
    else:
        row = keys[0]
    return note.verifier_key(row.name, bytes.fromhex(row.public_key))
