"""A platform connector that records what it was asked to mirror, for tests of the code that
calls connectors. Like a real one it acts once per key and answers a repeat with the first
result; `pending` names the kinds it reports as finished later (as WeCom does for customers)."""

from __future__ import annotations

from offboard.domain.vocabulary import Profile, ResourceKind
from offboard.interfaces import ExitMirror, MirrorResult, RestoreMirror


class RecordingConnector:
    def __init__(self, platform: Profile = Profile.WECOM, pending: frozenset[ResourceKind] = frozenset()) -> None:
        self.platform = platform
        self.pending = pending
        self.calls: list[ExitMirror | RestoreMirror] = []
        self._results: dict[str, MirrorResult] = {}

    def mirror_exit(self, exit: ExitMirror) -> MirrorResult:
        return self._once(exit, self.pending & frozenset(exit.acceptors))

    def mirror_restore(self, restore: RestoreMirror) -> MirrorResult:
        return self._once(restore, frozenset())

    def _once(self, request: ExitMirror | RestoreMirror, pending: frozenset[ResourceKind]) -> MirrorResult:
        if request.key not in self._results:
            self.calls.append(request)
            self._results[request.key] = MirrorResult(f"{self.platform}-{len(self.calls)}", pending)
        return self._results[request.key]
