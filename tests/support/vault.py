"""An in-memory key vault: the same contract as offboard.crypto.vault, keys kept in a dict.
It really wraps (AES-256-GCM, the region and key id bound in), so a wrong associated data,
region or key fails here as it does in production."""

from __future__ import annotations

import secrets

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from offboard.domain import validation as v
from offboard.domain.errors import error
from offboard.interfaces import KeyVaultError, WrappedKey


class MemoryKeyVault:
    def __init__(self) -> None:
        self.keys: dict[str, bytes] = {}  # key id -> key-encryption key
        self.newest: dict[str, str] = {}  # region -> key id

    def wrap(self, region: str, data_key: bytes, associated_data: bytes) -> WrappedKey:
        if len(data_key) != 32:
            raise ValueError("a data key is 32 bytes (AES-256)")
        key_id = self.newest.get(v.region(region)) or self.new_key(region)
        nonce = secrets.token_bytes(12)
        return WrappedKey(region, key_id, nonce + AESGCM(self.keys[key_id]).encrypt(nonce, data_key, _aad(region, key_id, associated_data)))

    def unwrap(self, wrapped: WrappedKey, associated_data: bytes) -> bytes:
        if wrapped.key_id not in self.keys:
            raise error(
                KeyVaultError,
                "key_unknown",
                "Key {key_id} is not in key file {path}: the data was wrapped with another key file; restore that one from its backup.",
                key_id=wrapped.key_id,
                path="memory",
            )
        try:
            return AESGCM(self.keys[wrapped.key_id]).decrypt(wrapped.blob[:12], wrapped.blob[12:], _aad(wrapped.region, wrapped.key_id, associated_data))
        except InvalidTag:
            raise error(
                KeyVaultError,
                "key_unwrap_failed",
                "A data key of region {region} does not unwrap with key {key_id}: the key file holds another key under that id, or the record it protects was changed.",
                region=wrapped.region,
                key_id=wrapped.key_id,
            ) from None

    def new_key(self, region: str) -> str:
        key_id = f"{v.region(region)}.mem{len(self.keys) + 1}"
        self.keys[key_id] = AESGCM.generate_key(bit_length=256)
        self.newest[region] = key_id
        return key_id

    def rotate(self, wrapped: WrappedKey, associated_data: bytes) -> WrappedKey:
        return self.wrap(wrapped.region, self.unwrap(wrapped, associated_data), associated_data)


def _aad(region: str, key_id: str, associated_data: bytes) -> bytes:
    return f"{region}|{key_id}|".encode() + associated_data
