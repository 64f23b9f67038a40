"""The offline check of an exported audit log (`offboard audit verify --file F --public-key K`):
nothing but the file and the verifier key the auditor holds.

The export is JSON Lines (offboard.queries.audit_proofs.export_lines): a header, each event
with its hashed core exactly as hashed, its hash, its details and the salts of any personal
value in them (offboard.audit.personal), then each checkpoint's signed
note. Every event must be canonical, hash to its stated hash, link to the one before, and match
its details' digest; every checkpoint must be signed by the given key and hold the root of the
first `size` events. The verifier keys the file itself names are not trusted: the auditor's is.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field

from offboard.audit import merkle, personal
from offboard.audit.chain import GENESIS, Core
from offboard.audit.note import Checkpoint, NoteError, Verifier, open_note

FORMAT = "offboard-audit-export/1"


@dataclass(frozen=True)
class OfflineVerdict:
    ok: bool
    events: int
    checkpoints: int  # checkpoints that verify with the key
    signed_size: int  # events the latest of them covers
    problem: str | None = None  # what is wrong: a message template (English; zh-CN in the catalogue)
    params: dict[str, object] = field(default_factory=dict)
    line: int | None = None  # the line of the file it is on


def _fail(template: str, seen: tuple[int, int, int], line: int | None = None, **params: object) -> OfflineVerdict:
    events, checkpoints, signed = seen
    return OfflineVerdict(False, events, checkpoints, signed, template, params, line)


def _core(text: str) -> Core:
    value = json.loads(text)
    return Core(int(value["tenant"]), int(value["seq"]), str(value["at"]), str(value["actor"]), str(value["action"]), tuple(value["targets"]), str(value["side"]), str(value["prev"]))


class _Levels:
    """Every perfect node over the leaves so far, level by level, as the store keeps them."""

    def __init__(self) -> None:
        self.levels: list[list[bytes]] = [[]]

    def add(self, leaf: bytes) -> None:
        self.levels[0].append(leaf)
        level = 0
        while len(self.levels[level]) % 2 == 0:
            below = self.levels[level]
            if len(self.levels) == level + 1:
                self.levels.append([])
            self.levels[level + 1].append(merkle.node_hash(below[-2], below[-1]))
            level += 1

    def root(self, size: int) -> bytes:
        nodes = {(lv, i): self.levels[lv][i] for lv, i in merkle.perfect(0, size)}
        return merkle.range_hash(0, size, nodes)


def verify_export(lines: Iterable[str], public_key: str) -> OfflineVerdict:
    try:
        key = Verifier.parse(public_key)
    except NoteError as exc:
        return _fail("The public key is not a C2SP verifier key ({detail}).", (0, 0, 0), detail=str(exc))
    tree = _Levels()
    prev, events, checkpoints, signed = GENESIS, 0, 0, 0
    for number, raw in enumerate(lines, 1):
        if not raw.strip():
            continue
        try:
            line = json.loads(raw)
        except json.JSONDecodeError:
            return _fail("The line is not JSON.", (events, checkpoints, signed), number)
        if not isinstance(line, dict):
            return _fail("The line is not a JSON object.", (events, checkpoints, signed), number)
        if number == 1:
            if line.get("format") != FORMAT:
                return _fail("The file is not an audit log export ({format}).", (0, 0, 0), number, format=FORMAT)
            continue
        if "checkpoint" in line:
            try:
                text, _ = open_note(str(line["checkpoint"]), [key])
                checkpoint = Checkpoint.parse(text)
            except NoteError as exc:
                return _fail("The checkpoint is not signed by this key or is malformed ({detail}).", (events, checkpoints, signed), number, detail=str(exc))
            if checkpoint.origin != key.name or not 0 < checkpoint.size <= events or tree.root(checkpoint.size) != checkpoint.root:
                return _fail("The checkpoint of {size} events does not hold the events of this file.", (events, checkpoints, signed), number, size=checkpoint.size)
            checkpoints, signed = checkpoints + 1, max(signed, checkpoint.size)
            continue
        try:
            core = _core(str(line["core"]))
            stated = bytes.fromhex(str(line["hash"]))
            details = line["details"]
        except (KeyError, ValueError, TypeError, json.JSONDecodeError):
            return _fail("The line is neither an event nor a checkpoint.", (events, checkpoints, signed), number)
        if checkpoints:
            return _fail("An event comes after the checkpoints.", (events, checkpoints, signed), number)
        if core.seq != events + 1 or line.get("seq") != core.seq:
            return _fail("Event {seq} is missing or out of its place.", (events, checkpoints, signed), number, seq=events + 1)
        if core.encode() != str(line["core"]).encode() or merkle.leaf_hash(core.encode()) != stated:
            return _fail("Event {seq} was changed after it was written.", (events, checkpoints, signed), number, seq=core.seq)
        if core.prev != prev:
            return _fail("Event {seq} does not follow the event before it.", (events, checkpoints, signed), number, seq=core.seq)
        if not personal.verifies(details, line.get("salts"), core.side):
            return _fail("The details of event {seq} were changed after it was written.", (events, checkpoints, signed), number, seq=core.seq)
        tree.add(stated)
        prev, events = stated.hex(), events + 1
    if not checkpoints:
        return _fail("No checkpoint in the file is signed by this key.", (events, 0, 0))
    return OfflineVerdict(True, events, checkpoints, signed)
