"""Outbox subscribers for tests, loadable in a worker process through
OFFBOARD_OUTBOX_SUBSCRIBERS=tests.support.subscribers:<factory>. Files named by environment
variables tell the test what the worker did."""

from __future__ import annotations

import os
import time
from pathlib import Path

from offboard.interfaces import Delivery


class Blocking:
    """Writes a marker when a delivery starts, then never finishes (the test kills the worker)."""

    name = "blocking"
    topics = frozenset({"member.exited"})

    def deliver(self, delivery: Delivery) -> None:
        Path(os.environ["TEST_MARKER"]).write_text(delivery.key)
        time.sleep(600)


class Recording:
    """Appends each delivery's key to a file, one per line."""

    name = "blocking"  # the same subscriber as above, now healthy: it must get the event again
    topics = frozenset({"member.exited"})

    def deliver(self, delivery: Delivery) -> None:
        with open(os.environ["TEST_RECORD"], "a", encoding="utf-8") as fh:
            fh.write(delivery.key + "\n")


def blocking() -> Blocking:
    return Blocking()


def recording() -> Recording:
    return Recording()
