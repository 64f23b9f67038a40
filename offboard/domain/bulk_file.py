"""Reading a file of departures (R-EXIT-7): CSV or JSON, as HR exports it.

A CSV comes from Excel as often as not, so it may be UTF-8 with or without a byte-order mark,
or GBK (GB 18030); anything else is refused before a line is read. The header names a column
by its key (`userid`, `reason_category`, `acceptor.document`) or by HR's word for it (账号,
离职原因类别, 接收人:文档), and a value may be its key or its word in either language (辞职).
Every line is checked on its own: a line that cannot be read is reported by its number, with
what is wrong, and never stops the others. Nothing here reads the database: unknown userids
are found by the caller.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from offboard.domain import validation as v
from offboard.domain.errors import OffboardError, Terms, ValidationError, error
from offboard.domain.lifecycle import leave_moment
from offboard.domain.vocabulary import ExitType, ReasonCategory, ResourceKind
from offboard.i18n.glossary import GLOSSARY, stored

MAX_BYTES = 50 * 1024 * 1024
MAX_LINES = 200_000
ACCEPTOR = "acceptor."

# HR's words for the columns, beside their keys.
HEADERS: dict[str, tuple[str, ...]] = {
    "userid": ("账号", "成员账号", "工号", "userid"),
    "type": ("离职类型", "类型", "type"),
    "reason_category": ("离职原因类别", "原因类别", "reason_category", "reason category"),
    "reason": ("离职原因", "原因", "reason"),
    "successor": ("继任者", "工作交接人", "successor"),
    "effective": ("离职日期", "生效日期", "effective", "effective_date", "effective_at", "leave_date"),
}
for _kind, (_zh, _en) in GLOSSARY["resource_kind"].items():
    HEADERS[ACCEPTOR + _kind] = (f"接收人:{_zh}", f"接收人：{_zh}", f"acceptor:{_kind}", f"acceptor_{_kind}", f"{ACCEPTOR}{_kind}")


@dataclass(frozen=True)
class Problem:
    """What is wrong with a line, as an error's code, template and parameters."""

    code: str
    template: str
    params: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def of(cls, exc: OffboardError) -> Problem:
        return cls(exc.code, exc.template, dict(exc.params))

    def as_dict(self) -> dict[str, Any]:
        """As stored: a vocabulary value keeps its kind, so a reader sees its word (offboard.queries.jobs)."""
        return {"code": self.code, "template": self.template, "params": {k: stored(p) for k, p in self.params.items()}}


@dataclass(frozen=True)
class Departure:
    """One line, read: what it asks for. `problem` is set when the line cannot be used."""

    row_no: int
    userid: str
    type: str | None = None
    reason_category: str | None = None
    reason: str | None = None
    successor: str | None = None
    acceptors: Mapping[str, str] = field(default_factory=dict)  # kind -> userid
    effective_at: datetime | None = None
    problem: Problem | None = None
    leave_date: date | None = None  # the day, when the line gave a date without a time (the HR feed's key)


@dataclass(frozen=True)
class Departures:
    lines: tuple[Departure, ...]
    encoding: str  # utf-8 | gb18030 | json


def decode(data: bytes) -> tuple[str, str]:
    """The file's text and the encoding it was read in."""
    if len(data) > MAX_BYTES:
        raise error(ValidationError, "file_too_large", "The file is larger than {limit} MB; split it into several files.", limit=MAX_BYTES // (1024 * 1024))
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(encoding), encoding.removesuffix("-sig")
        except UnicodeDecodeError:
            continue
    raise error(ValidationError, "file_encoding", "The file is neither UTF-8 nor GBK text; save it from Excel as “CSV UTF-8” and upload it again.")


def read(data: bytes, name: str, timezone: str) -> Departures:
    """Parse a CSV or JSON file of departures; raise only when the file as a whole is unreadable."""
    text, encoding = decode(data)
    stripped = text.lstrip()
    if name.lower().endswith(".json") or stripped.startswith(("[", "{")):
        return Departures(tuple(_lines(_json_records(stripped), timezone, first_line=1)), "json")
    return Departures(tuple(_lines(_csv_records(text), timezone, first_line=2)), encoding)


def from_records(records: Iterable[Mapping[str, Any]], timezone: str) -> Departures:
    """Departures given as objects (the API's JSON body), numbered from 1."""
    return Departures(tuple(_lines((_keyed(r) for r in records), timezone, first_line=1)), "json")


def _json_records(text: str) -> Iterable[dict[str, Any]]:
    try:
        body = json.loads(text)
    except json.JSONDecodeError as exc:
        raise error(ValidationError, "file_unreadable", "The file is not valid JSON (line {line}, column {column}): {detail}.", line=exc.lineno, column=exc.colno, detail=exc.msg) from None
    if isinstance(body, dict) and isinstance(body.get("rows", body.get("departures")), list):
        body = body.get("rows", body.get("departures"))
    if not isinstance(body, list):
        raise error(ValidationError, "file_unreadable", "The JSON file must hold a list of departures, one object each.")
    if len(body) > MAX_LINES:
        raise error(ValidationError, "file_too_long", "The file has more than {limit} lines; split it into several files.", limit=MAX_LINES)
    return (_keyed(r) if isinstance(r, dict) else {"__not_an_object__": r} for r in body)


def _csv_records(text: str) -> Iterable[dict[str, Any]]:
    sample = text[:4096]
    try:
        dialect: Any = csv.Sniffer().sniff(sample, delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    reader = csv.reader(io.StringIO(text), dialect)
    header = next(reader, None)
    if not header or not any(h.strip() for h in header):
        raise error(ValidationError, "file_empty", "The file is empty; it needs a header line and one line per departure.")
    keys = [_column(h) for h in header]
    unknown = [h for h, k in zip(header, keys) if k is None and h.strip()]
    if unknown:
        known = Terms("bulk_column", tuple(GLOSSARY["bulk_column"]))  # the headers in the reader's words, never the keys
        raise error(ValidationError, "file_unknown_columns", "The header has columns offboard does not know: {columns}. Use: {known}.", columns=", ".join(unknown), known=known)
    if "userid" not in keys:
        raise error(ValidationError, "file_no_userid", "The header has no userid column (账号); add one.")
    count = 0
    for cells in reader:
        if not any(c.strip() for c in cells):
            yield {}
            continue
        count += 1
        if count > MAX_LINES:
            raise error(ValidationError, "file_too_long", "The file has more than {limit} lines; split it into several files.", limit=MAX_LINES)
        if len(cells) > len(keys):
            yield {**{k: c for k, c in zip(keys, cells) if k is not None}, "__extra_cells__": len(cells)}
            continue
        yield {k: c for k, c in zip(keys, cells) if k is not None}


_ALIASES = {alias.strip().lower(): key for key, aliases in HEADERS.items() for alias in aliases}


def _column(name: str) -> str | None:
    return _ALIASES.get(name.strip().lower().lstrip("\ufeff"))


def _keyed(record: Mapping[str, Any]) -> dict[str, Any]:
    """A JSON object's fields by their keys; `acceptors: {kind: userid}` spread into columns."""
    out: dict[str, Any] = {}
    for name, value in record.items():
        if name == "acceptors" and isinstance(value, dict):
            for kind, ref in value.items():
                out[ACCEPTOR + str(kind)] = ref
            continue
        key = _column(str(name))
        out[key if key is not None else f"__unknown__{name}"] = value
    return out


def _lines(records: Iterable[dict[str, Any]], timezone: str, first_line: int) -> Iterable[Departure]:
    seen: dict[str, int] = {}
    for row_no, record in enumerate(records, start=first_line):
        if not record:
            continue
        line = _line(row_no, record, timezone)
        key = line.userid.lower()
        if line.problem is None and key in seen:
            line = Departure(row_no, line.userid, problem=Problem("duplicate_line", "{userid} is already on line {first}; keep one line per member.", {"userid": line.userid, "first": seen[key]}))
        elif line.problem is None:
            seen[key] = row_no
        yield line


def _text(record: Mapping[str, Any], key: str) -> str | None:
    value = record.get(key)
    if value is None:
        return None
    if not isinstance(value, (str, int)) or isinstance(value, bool):
        raise error(ValidationError, "invalid_value", "{field} must be text.", field=key)
    return v.clean(str(value), key, multiline=key == "reason") or None


def _term(kind: str, value: str | None, enum: Any, field: str) -> str | None:
    if value is None:
        return None
    lowered = value.strip().lower()
    for key, labels in GLOSSARY[kind].items():
        if lowered == key or lowered in (label.lower() for label in labels):
            return key
    return v.choice(value, enum, field)


def _is_day(value: str) -> bool:
    """A date without a time, as offboard.domain.lifecycle.leave_moment tells them apart."""
    return "T" not in value and " " not in value.strip()


def _line(row_no: int, record: Mapping[str, Any], timezone: str) -> Departure:
    raw_userid = record.get("userid")
    userid = str(raw_userid).strip()[:64] if isinstance(raw_userid, (str, int)) and not isinstance(raw_userid, bool) else ""
    if "__not_an_object__" in record:
        return Departure(row_no, "", problem=Problem("line_not_an_object", "Line {line} is not an object with the departure's fields.", {"line": row_no}))
    if "__extra_cells__" in record:
        return Departure(row_no, userid, problem=Problem("line_extra_cells", "Line {line} has more cells than the header has columns.", {"line": row_no}))
    unknown = [k.removeprefix("__unknown__") for k in record if k.startswith("__unknown__")]
    if unknown:
        return Departure(row_no, userid, problem=Problem("line_unknown_fields", "Unknown fields: {fields}.", {"fields": ", ".join(unknown)}))
    try:
        userid = _text(record, "userid") or ""
        if not userid:
            raise error(ValidationError, "userid_required", "The line has no userid.")
        acceptors: dict[str, str] = {}
        for key in record:
            if key.startswith(ACCEPTOR):
                kind = key.removeprefix(ACCEPTOR)
                if kind not in {k.value for k in ResourceKind}:
                    raise error(ValidationError, "unknown_kind", "Unknown resource kind {kind}; choose from: {choices}.", kind=kind, choices=", ".join(ResourceKind))
                ref = _text(record, key)
                if ref:
                    acceptors[kind] = ref
        reason = _text(record, "reason")
        if reason is not None and len(reason) > 2000:
            raise error(ValidationError, "reason_required", "Give the reason for the exit (1-2000 characters).")
        effective = _text(record, "effective")
        moment = leave_moment(effective, timezone) if effective else None
        return Departure(
            row_no,
            userid,
            type=_term("exit_type", _text(record, "type"), ExitType, "type"),
            reason_category=_term("reason_category", _text(record, "reason_category"), ReasonCategory, "reason category"),
            reason=reason,
            successor=_text(record, "successor"),
            acceptors=acceptors,
            effective_at=moment,
            leave_date=moment.date() if moment is not None and effective is not None and _is_day(effective) else None,
        )
    except OffboardError as exc:
        return Departure(row_no, userid, problem=Problem.of(exc))
