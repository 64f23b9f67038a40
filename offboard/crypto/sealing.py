"""Sealing a departed member's personal content (R-LAW-3): AES-256-GCM under a per-member data
key, the associated data binding tenant, member and record, so a sealed value moved to another
record, member or tenant does not open. The data key itself is wrapped by the key vault under
the key-encryption key of the member's data region (envelope encryption).

A sealed value is nonce (12 bytes) || ciphertext || tag.
"""

from __future__ import annotations

import secrets

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from offboard.domain.errors import OffboardError, error

NONCE = 12


class SealBroken(OffboardError):
    """A sealed record that does not open: changed, moved, or sealed under another key."""

    code = "sealed_record_corrupt"
    status = 409


def new_data_key() -> bytes:
    return AESGCM.generate_key(bit_length=256)


def data_key_binding(tenant_id: int, member_id: int) -> bytes:
    """The associated data of a member's wrapped data key."""
    return f"offboard data key|tenant:{tenant_id}|member:{member_id}".encode()


def record_binding(tenant_id: int, member_id: int, record: str) -> bytes:
    """The associated data of one sealed record, e.g. record 'message:42' or 'profile'."""
    return f"offboard sealed|tenant:{tenant_id}|member:{member_id}|{record}".encode()


class Sealer:
    """Seals and opens the records of one member with their data key."""

    def __init__(self, data_key: bytes, tenant_id: int, member_id: int) -> None:
        self._aead = AESGCM(data_key)
        self._prefix = f"offboard sealed|tenant:{tenant_id}|member:{member_id}|".encode()

    def seal(self, record: str, plaintext: bytes) -> bytes:
        return self.seal_with(secrets.token_bytes(NONCE), record, plaintext)

    def seal_with(self, nonce: bytes, record: str, plaintext: bytes) -> bytes:
        """seal() with a fresh random nonce the caller drew (many at once, from the system)."""
        return nonce + self._aead.encrypt(nonce, plaintext, self._prefix + record.encode())

    def open(self, record: str, sealed: bytes) -> bytes:
        try:
            return self._aead.decrypt(sealed[:NONCE], sealed[NONCE:], self._prefix + record.encode())
        except (InvalidTag, ValueError):
            raise error(
                SealBroken,
                "sealed_record_corrupt",
                "Sealed record {record} does not open: it was changed after it was sealed, or moved from another record. Nothing else is affected; restore it from a backup.",
                record=record,
            ) from None
