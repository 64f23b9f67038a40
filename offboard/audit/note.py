"""Signed checkpoints of the audit tree (SPEC §8) in the C2SP formats: a `tlog-checkpoint` body
(origin, tree size, base64 root hash, one per line) signed as a `signed-note` with Ed25519.

A note is its text (ending in a newline), a blank line, and signature lines "— <key name>
<base64 of the 4-byte key id and the 64-byte signature>". The key id is the first four bytes of
SHA-256(key name || 0x0A || 0x01 || public key); a verifier key is written
"<name>+<key id in hex>+<base64 of 0x01 || public key>". Anyone holding that one line checks a
checkpoint with this module alone (or with any C2SP implementation).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

ED25519 = b"\x01"
DASH = "\u2014 "
MAX_SIGNATURES = 100


class NoteError(ValueError):
    """A note, key or checkpoint that is malformed or that no known key verifies."""


def public_bytes(key: Ed25519PrivateKey) -> bytes:
    return key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)


def key_id(name: str, public_key: bytes) -> bytes:
    return hashlib.sha256(name.encode() + b"\n" + ED25519 + public_key).digest()[:4]


def _valid_name(name: str) -> bool:
    return bool(name) and not any(c in name for c in "+ \n\t") and name.isprintable()


def verifier_key(name: str, public_key: bytes) -> str:
    if not _valid_name(name):
        raise NoteError(f"{name!r} cannot name a key (no spaces, plus signs or newlines)")
    return f"{name}+{key_id(name, public_key).hex()}+{base64.b64encode(ED25519 + public_key).decode()}"


@dataclass(frozen=True)
class Verifier:
    name: str
    id: bytes
    public_key: bytes

    @classmethod
    def parse(cls, text: str) -> Verifier:
        parts = text.strip().split("+", 2)  # the base64 key may hold plus signs itself
        if len(parts) != 3 or not _valid_name(parts[0]) or len(parts[1]) != 8:
            raise NoteError("a verifier key reads <name>+<8 hex digits>+<base64 key>")
        name, hex_id, encoded = parts
        try:
            wanted = bytes.fromhex(hex_id)
            raw = base64.b64decode(encoded, validate=True)
        except (ValueError, binascii.Error):
            raise NoteError("the verifier key's id or key is not hex and base64") from None
        if len(raw) != 33 or raw[:1] != ED25519:
            raise NoteError("the verifier key is not an Ed25519 key")
        if key_id(name, raw[1:]) != wanted:
            raise NoteError("the verifier key's id does not match its name and key")
        return cls(name, wanted, raw[1:])

    def verifies(self, text: bytes, signature: bytes) -> bool:
        try:
            Ed25519PublicKey.from_public_bytes(self.public_key).verify(signature, text)
        except InvalidSignature:
            return False
        return True


def sign(text: str, name: str, key: Ed25519PrivateKey) -> str:
    """The note of `text` signed by `key` under `name`."""
    if not text.endswith("\n") or "\n\n" in text:
        raise NoteError("a note's text ends with a newline and has no blank line")
    signature = key.sign(text.encode())
    blob = base64.b64encode(key_id(name, public_bytes(key)) + signature).decode()
    return f"{text}\n{DASH}{name} {blob}\n"


def open_note(note: str, verifiers: list[Verifier]) -> tuple[str, list[str]]:
    """The note's text and the names of the known keys whose signatures verify it; refused when
    the note is malformed, a known key's signature is bad, or no known key signed it."""
    text, sep, signatures = note.rpartition("\n\n")
    if not sep or not signatures.endswith("\n"):
        raise NoteError("a signed note is its text, a blank line and signature lines, each ending in a newline")
    text += "\n"
    lines = signatures[:-1].split("\n")
    if len(lines) > MAX_SIGNATURES:
        raise NoteError("too many signature lines")
    known = {(v.name, v.id): v for v in verifiers}
    verified: list[str] = []
    for line in lines:
        if not line.startswith(DASH):
            raise NoteError("a signature line starts with an em dash and a space")
        name, _, blob = line[len(DASH) :].partition(" ")
        try:
            raw = base64.b64decode(blob, validate=True)
        except binascii.Error:
            raise NoteError("a signature is not base64") from None
        if not _valid_name(name) or len(raw) < 5:
            raise NoteError("a signature line reads <key name> <base64 signature>")
        verifier = known.get((name, raw[:4]))
        if verifier is None:
            continue  # a key this reader does not know: ignored, as C2SP says
        if not verifier.verifies(text.encode(), raw[4:]):
            raise NoteError(f"the signature of {name} does not verify this note")
        verified.append(name)
    if not verified:
        raise NoteError("no known key signed this note")
    return text, verified


@dataclass(frozen=True)
class Checkpoint:
    origin: str
    size: int
    root: bytes

    def text(self) -> str:
        return f"{self.origin}\n{self.size}\n{base64.b64encode(self.root).decode()}\n"

    @classmethod
    def parse(cls, text: str) -> Checkpoint:
        lines = text.split("\n")
        if len(lines) < 4 or lines[-1] != "" or not lines[0]:
            raise NoteError("a checkpoint reads: origin, tree size, root hash, one per line")
        origin, size, root = lines[0], lines[1], lines[2]
        if not size.isdigit() or (size != "0" and size.startswith("0")):
            raise NoteError("a checkpoint's tree size is a decimal number")
        try:
            digest = base64.b64decode(root, validate=True)
        except binascii.Error:
            raise NoteError("a checkpoint's root hash is base64") from None
        if len(digest) != 32:
            raise NoteError("a checkpoint's root hash is 32 bytes")
        return cls(origin, int(size), digest)
