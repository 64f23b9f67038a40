"""Benchmarks that print figures (SPEC §10); never timed assertions."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from offboard.crypto.vault import KEY_FILE_ENV


@contextmanager
def scratch_keys(folder: Path) -> Iterator[None]:
    """The benchmark's services (and the processes it starts) keep their key file in its scratch
    folder, never in the deployment's (./offboard.keys beside a PostgreSQL run)."""
    before = os.environ.get(KEY_FILE_ENV)
    os.environ[KEY_FILE_ENV] = str(folder / "bench.keys")
    try:
        yield
    finally:
        if before is None:
            del os.environ[KEY_FILE_ENV]
        else:
            os.environ[KEY_FILE_ENV] = before
