"""The wall clock, as actions and jobs read it (the Clock contract of offboard.interfaces)."""

from __future__ import annotations

import threading
from datetime import UTC, datetime


class SystemClock:
    """UTC from the system clock. When the system clock steps back (an NTP correction), "now"
    holds at the latest value it gave, so a restore window or an audit timestamp never runs
    backwards within a process."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._last = datetime.min.replace(tzinfo=UTC)

    def now(self) -> datetime:
        current = datetime.now(UTC)
        with self._lock:
            self._last = max(self._last, current)
            return self._last
