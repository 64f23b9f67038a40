"""Canonical JSON (sorted keys, no spaces, UTF-8): the encoding of everything the audit chain hashes."""

from __future__ import annotations

import json
from typing import Any

_CANONICAL = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False)  # json.dumps with these, built once


def canonical(value: Any) -> bytes:
    return _CANONICAL.encode(value).encode("utf-8")
