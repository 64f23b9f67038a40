"""Personal values in audit side records, committed so that erasure can remove them and the
chain still verifies (SPEC §8, R-LAW-1).

An event about a member (a `member:` target) may carry that member's profile values in its
details (`member.added`, `member.updated`). Each such value is salted when written: the side
digest hashed in the core is the digest of the details with every personal value replaced by
its commitment SHA-256(salt || canonical(value)), and the salts are kept beside the details.
Erasure replaces the value by a pseudonym and the salt by the commitment itself, so the digest
is unchanged, the value is gone, and no salt is left to test guesses against.
"""

from __future__ import annotations

import copy
import hashlib
import os
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from offboard.audit.encoding import canonical

PERSONAL_KEYS = frozenset({"userid", "name", "email", "mobile", "title", "external_id"})
SALT = 16
_DONE = "="  # a salt that became its commitment: the value is erased
_PREFIX = "sha256:"

Salts = dict[str, str]  # path ("after/email") -> salt hex, or "=" + commitment hex once erased


def _walk(value: Any, path: tuple[str, ...]) -> Iterator[tuple[str, ...]]:
    if isinstance(value, Mapping):
        for key, inner in value.items():
            if key in PERSONAL_KEYS and isinstance(inner, str) and inner:
                yield (*path, key)
            elif isinstance(inner, Mapping):
                yield from _walk(inner, (*path, key))


def personal_paths(details: Mapping[str, Any]) -> list[str]:
    """The paths of the personal values in `details`, "/"-joined keys, in document order."""
    return ["/".join(p) for p in _walk(details, ())]


def new_salts(details: Mapping[str, Any]) -> Salts | None:
    paths = personal_paths(details)
    return {p: os.urandom(SALT).hex() for p in paths} if paths else None


def commitment(salt_hex: str, value: Any) -> str:
    return hashlib.sha256(bytes.fromhex(salt_hex) + canonical(value)).hexdigest()


def _at(details: dict[str, Any], path: str) -> tuple[dict[str, Any], str]:
    *parents, key = path.split("/")
    node = details
    for name in parents:
        node = node[name]
    return node, key


def committed(details: Mapping[str, Any], salts: Mapping[str, str] | None) -> Mapping[str, Any]:
    """The details as digested: each salted value replaced by its commitment. Raises KeyError or
    TypeError when a salt names no value (the record was changed)."""
    if not salts:
        return details
    out = copy.deepcopy(dict(details))
    for path, salt in salts.items():
        node, key = _at(out, path)
        node[key] = _PREFIX + (salt[1:] if salt.startswith(_DONE) else commitment(salt, node[key]))
    return out


def side_digest(details: Mapping[str, Any], salts: Mapping[str, str] | None = None) -> str:
    return hashlib.sha256(canonical(committed(details, salts))).hexdigest()


def verifies(details: Any, salts: Any, digest: str) -> bool:
    """The side record (details and salts as stored or exported) matches the digest in the core."""
    if not isinstance(details, Mapping) or not (salts is None or (isinstance(salts, Mapping) and all(isinstance(s, str) for s in salts.values()))):
        return False
    try:
        return side_digest(details, salts) == digest
    except (KeyError, TypeError, ValueError):
        return False


def erase(details: Mapping[str, Any], salts: Mapping[str, str], replacement: Callable[[str], Any]) -> tuple[dict[str, Any], Salts]:
    """The record with every personal value not yet erased replaced by `replacement(key)` (a
    pseudonym, or None), and its salt by the commitment: the digest stays the same."""
    out, kept = copy.deepcopy(dict(details)), dict(salts)
    for path, salt in salts.items():
        if salt.startswith(_DONE):
            continue
        node, key = _at(out, path)
        kept[path] = _DONE + commitment(salt, node[key])
        node[key] = replacement(key)
    return out, kept


def erased(salts: Mapping[str, str] | None) -> bool:
    return bool(salts) and all(s.startswith(_DONE) for s in (salts or {}).values())
