"""SPEC §9: never a 500 for bad input. Every field of every route is fed hostile values.

The routes and their fields are read from the application itself (`routes`, `api_operations`,
each route's `dependant` and pydantic body model), so a new route or field is covered without
touching this file. Each request makes ONE field hostile and keeps the others valid, so that
the value gets past the other checks and reaches the action, the database and the page:

- /api/v1: path and query parameters and every field of the JSON body, with the bearer token
  of tenant A's super admin (the operator's token for /api/v1/tenants, the operator's alone);
- the console: path, query and form parameters of every page and form, from a signed-in
  super-admin session with its CSRF token;
- the sign-in forms: POST /login (tenant, userid, password, `pre` with the ob_pre cookie set,
  next), POST /login/totp, POST /reverify and POST /api/v1/me/reverify;
- the CSRF token itself, in the `csrf` field of every form and in the X-CSRF-Token header of
  every state-changing API request made with the session cookie; and the Origin, Referer,
  Authorization and Accept-Language headers and the session, device, sign-in and language cookies.

The values: arbitrary Unicode text (NUL and other control characters, bidi overrides, zero
width characters, full-width and Arabic-Indic digits, U+D7FF, non-characters, astral planes,
strings at and past each max_length, NFC-expanding characters), extreme ISO datetimes and dates
for every field named like a date, integers of 64 to 70 bits and each bound ± 1 for every
integer, LIKE wildcards in every query parameter, values of the wrong JSON type. Lone
surrogates cannot be encoded in a URL or a form, so they go in JSON bodies only (as \\ud800
escapes, which JSON allows).

A response of 500 or more is a bug (SPEC §9). After the hostile requests the pages that show
what was stored (GET /exits, GET /api/v1/exits, the other lists and each new exit's and
member's page) must still answer below 500: a stored extreme value must not break a page for
everyone. Every 5xx is collected; the test fails at the end with one entry per (route, field,
cause): method, path, field, the shortest value seen, status, response body and the exception
the server logged.

The fixed text, NUL and date cases run on SQLite and PostgreSQL, whose text and time types
differ (NUL in text, time ranges, LIKE escapes): empty, NUL, RTL override, full-width digits,
zero-width joiner and U+D7FF, strings of max_length and of NFC-expanding characters, LIKE
wildcards in query parameters, a lone surrogate in JSON and the extreme dates. The Hypothesis
fuzz of every field (those classes and more, max_length + 1, the integer extremes, booleans,
wrong JSON types), of the CSRF token, headers and cookies runs on SQLite. Examples per field
come from the Hypothesis profile tests/conftest.py loads.
"""

from __future__ import annotations

import html
import json
import re
import types
from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from typing import Annotated, Any, Callable, Union, get_args, get_origin
from urllib.parse import quote

import annotated_types
import pytest
import structlog
from fastapi.routing import APIRoute
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel
from pydantic.fields import FieldInfo
from sqlalchemy import delete, func, select

from offboard.actions import exits as exit_actions
from offboard.actions import members as member_actions
from offboard.actions import roles as role_actions
from offboard.actions.context import tenant_transaction
from offboard.http.cookies import DEVICE_COOKIE, SESSION_COOKIE
from offboard.i18n import LANG_COOKIE
from offboard.store import tables
from offboard.web.routes import PRE_COOKIE
from tests.api.conftest import PASSWORD, World, api_operations, csrf_of, fresh, routes, sign_in, start_login

# Hypothesis examples per field (and per transport), scaled from the loaded profile (ci: 25, dev: 50):
# every field also gets the fixed values below, so a few random ones each are enough.
FUZZ_EXAMPLES = max(3, settings.default.max_examples // 16)  # SQLite fuzz: 3 under ci (25) and dev (50)
CROSS_DB_EXAMPLES = 1  # both databases: the fixed values do the work there

# Tested by fuzz_sign_in with the session each needs, not by the signed-in console fuzz.
SIGN_IN_ROUTES = {("POST", "/login"), ("POST", "/login/totp"), ("POST", "/reverify"), ("POST", "/api/v1/me/reverify")}
DATE_NAME = re.compile(r"date|effective|_at$")
LEAVER_NAME = "Fuzz Leaver"  # the members the exit forms start exits of (Requests.leaver)

# --- hostile values ------------------------------------------------------------------------------


def core_texts(max_length: int | None, *, query: bool = False, json_body: bool = False) -> list[tuple[str, str]]:
    """(value class, value): what every text field gets on both databases."""
    n = max_length or 1000
    values = [
        ("empty", ""),
        ("NUL", "\x00"),
        ("RTL override", "\u202egpj.exe"),
        ("full-width digits", "１２３４５６"),
        ("zero-width joiner and U+D7FF", "a\u200d\ud7ff"),
        (f"{n} chars (max_length)", "x" * n),
        (f"{n} NFC-expanding chars", "\u0958" * n),  # NFC turns each into two: longer after cleaning
    ]
    if query:  # search and filter parameters
        values += [("LIKE %", "%"), ("LIKE _", "_"), ("LIKE \\", "\\")]
    if json_body:  # JSON can carry an unpaired surrogate as a \\uXXXX escape
        values += [("lone surrogate", "a\ud800b")]
    return values


def more_texts(max_length: int | None) -> list[tuple[str, str]]:
    """More value classes, drawn by Hypothesis in the SQLite fuzz."""
    n = max_length or 1000
    return [
        (f"{n + 1} chars (max_length + 1)", "x" * (n + 1)),
        ("U+D7FF", "\ud7ff"),
        ("zero-width joiner", "a\u200db"),
        ("NUL inside", "alpha\x00super"),
        ("astral", "\U0001f600\U0010ffff"),
        ("lone low surrogate", "\udfff"),  # JSON only: texts() drops it for other transports
        ("control characters", "\x01\x08\x1b\x7f"),
        ("C1 and line separators", "a\x85b\u2028c\u2029"),
        ("CR LF", "a\r\nb"),
        ("bidi isolate", "\u2066alpha\u2069"),
        ("zero-width space and BOM", "\u200b\ufeff"),
        ("Arabic-Indic digits", "١٢٣٤٥٦"),
        ("non-characters", "\ufffe\uffff"),
        ("private use", "\ue000"),
        ("combining marks", "e" + "\u0301" * 40),
        ("whitespace only", " \t\u00a0\u3000"),
        ("case folding changes length", "\u0130\u00df\ufb03"),
        ("LIKE %", "%"),
        ("LIKE _", "_"),
        ("LIKE \\", "\\"),
        ("LIKE mixed", "%\\_\\%"),
        ("SQL quote", "' OR '1'='1' --"),
        ("markup", "<script>alert(1)</script>{{ 7*7 }}"),
        ("format string", "{0} {name} {} %s %(x)s"),
        (f"{n} CJK chars", "界" * n),
        (f"{n} astral chars", "\U0001f600" * n),
        (f"{n} NUL", "\x00" * n),
        (f"{n} RTL overrides", "\u202e" * n),
        (f"{min(10 * n, 100_000)} chars", "x" * min(10 * n, 100_000)),
    ]


# Characters Hypothesis mixes into generated text (st.text() ranges over all of Unicode but seldom picks these).
NASTY_CHARS = (
    "\x00\x01\x08\x0b\x0c\x1b\x7f\x85\xa0\u200b\u200c\u200d\u200e\u2028\u2029\u202a\u202e\u2066\u2069"
    "\ufeff\ufffd\ufffe\uffff\ud7ff\ue000\u0130\u00df\ufb03\u0958\U0001f600\U0010ffff"
    "１２３４５６١٢٣%_\\'\"<>&{}\r\n\t /.?#="
)

FIXED_DATES = [  # both databases
    ("0001-01-01T00:00:00+14:00", "0001-01-01T00:00:00+14:00"),
    ("9999-12-31T23:59:59-14:00", "9999-12-31T23:59:59-14:00"),
    ("9999-12-31T20:00:00+00:00", "9999-12-31T20:00:00+00:00"),
    ("0001-01-01", "0001-01-01"),
    ("9999-12-31", "9999-12-31"),
    ("0001-01-01T00:00:00Z", "0001-01-01T00:00:00Z"),
    ("9999-12-31T23:59:59.999999+00:00", "9999-12-31T23:59:59.999999+00:00"),
    ("9999-12-31T23:59:59 without zone", "9999-12-31T23:59:59"),
    ("2100-01-01T00:00:00+08:00", "2100-01-01T00:00:00+08:00"),
    ("Feb 30", "2026-02-30"),
]
MORE_DATES = [  # drawn by Hypothesis in the SQLite fuzz
    ("year 0", "0000-01-01"),
    ("year 10000", "10000-01-01"),
    ("month 13", "2026-13-01"),
    ("leap second", "2026-12-31T23:59:60+08:00"),
    ("offset +24:00", "2026-12-31T00:00:00+24:00"),
    ("hour 24", "2026-12-31T24:00:00+08:00"),
    ("full-width digits date", "２０２６-１２-３１"),
    ("unix seconds past 9999", "253402300800"),
    ("30 nines", "9" * 30),
]

EXTREME_INTS = [2**63, 2**63 - 1, -(2**63) - 1, 2**70]  # every int field, with its bounds ± 1
MORE_INTS = [-(2**63), 2**64, -(2**70), 2**31, 2**31 - 1, 2**32, 2**53 + 1, 0, -1]  # drawn by Hypothesis
INT_TEXTS = ["１２"]  # in a path, query or form
MORE_INT_TEXTS = ["1e3", "NaN", "٣", "9" * 40, "0x1f", "+1", " 1", "1_000", "-0", "inf", "1.0", ""]
ODD_NUMBERS = [1.5]  # in JSON
MORE_ODD_NUMBERS = ["7", None, 1e20, 2.0**63, float("nan"), float("inf"), -float("inf"), True, [], {}]
ODD_JSON = [1, 1.5, True, None, [], {}, ["a"], {"$ne": ""}]


def texts(max_length: int | None, *, query: bool = False, json_body: bool = False) -> st.SearchStrategy[tuple[str, Any]]:
    """(value class, value): a fixed hostile class, or arbitrary Unicode with nasty characters
    mixed in, short or around max_length."""
    alphabet = st.one_of(st.characters(codec="utf-8"), st.sampled_from(NASTY_CHARS))  # utf-8: no surrogates
    if json_body:
        alphabet = st.one_of(alphabet, st.integers(0xD800, 0xDFFF).map(chr))
    n = max_length or 1000
    long = st.builds(lambda unit, size: (unit * size)[:size], st.text(alphabet, min_size=1, max_size=4), st.sampled_from([n - 1, n, n + 1]))
    fixed = core_texts(max_length, query=query, json_body=json_body) + more_texts(max_length)
    if not json_body:  # a URL or a form cannot carry a lone surrogate
        fixed = [(label, v) for label, v in fixed if not any("\ud800" <= ch <= "\udfff" for ch in v)]
    if json_body:
        fixed += [(f"JSON {v!r}", v) for v in ODD_JSON]
    return st.one_of(
        st.sampled_from(fixed),
        st.text().map(lambda v: ("st.text()", v)),
        st.text(alphabet, max_size=40).map(lambda v: ("text with nasty characters", v)),
        long.map(lambda v: (f"{len(v)} generated chars", v)),
    )


def ints(shape: Shape, *, json_body: bool) -> st.SearchStrategy[tuple[str, Any]]:
    odd = ODD_NUMBERS + MORE_ODD_NUMBERS if json_body else INT_TEXTS + MORE_INT_TEXTS
    return st.one_of(
        st.sampled_from([(f"int {v}", v) for v in EXTREME_INTS + MORE_INTS + bounds(shape)] + [(f"odd number {v!r}", v) for v in odd]),
        st.integers(min_value=2**62, max_value=2**70).map(lambda v: ("int 2**62..2**70", v)),
        st.integers(min_value=-(2**70), max_value=-(2**62)).map(lambda v: ("int -2**70..-2**62", v)),
        st.integers().map(lambda v: ("st.integers()", v)),
    )


def bounds(shape: Shape) -> list[int]:
    return [v for b in (shape.ge, shape.le) if b is not None for v in (b - 1, b + 1)]


def datetimes(max_length: int | None) -> st.SearchStrategy[tuple[str, Any]]:
    aware = st.builds(
        lambda moment, minutes: moment.replace(tzinfo=timezone(timedelta(minutes=minutes))).isoformat(),
        st.datetimes(min_value=datetime.min, max_value=datetime.max),
        st.integers(min_value=-14 * 60, max_value=14 * 60),
    )
    return st.one_of(
        st.sampled_from(FIXED_DATES + MORE_DATES),
        aware.map(lambda v: ("aware datetime", v)),
        st.datetimes().map(lambda v: ("naive datetime", v.isoformat())),
        st.dates(min_value=date.min, max_value=date.max).map(lambda v: ("date", v.isoformat())),
        texts(max_length),
    )


# --- the fields of a route, read from the app --------------------------------------------------------


@dataclass(frozen=True)
class Shape:
    kind: str  # text | int | float | bool | datetime | date | list | dict | object | other
    max_length: int | None = None
    min_length: int | None = None
    ge: int | None = None
    le: int | None = None
    items: Shape | None = None
    keys: Shape | None = None


def shape_of(annotation: Any, metadata: tuple | list = ()) -> Shape:
    """The kind and bounds of a parameter or body field, through Annotated, Optional, list and dict."""
    meta = list(metadata)
    while get_origin(annotation) is Annotated:
        base, *extra = get_args(annotation)
        for item in extra:
            meta.extend(item.metadata if isinstance(item, FieldInfo) else [item])
        annotation = base
    if get_origin(annotation) in (Union, types.UnionType):
        options = [a for a in get_args(annotation) if a is not type(None)]
        return shape_of(options[0], meta)
    limits = {
        "max_length": next((m.max_length for m in meta if isinstance(m, annotated_types.MaxLen)), None),
        "min_length": next((m.min_length for m in meta if isinstance(m, annotated_types.MinLen)), None),
        "ge": next((m.ge for m in meta if isinstance(m, annotated_types.Ge)), None),
        "le": next((m.le for m in meta if isinstance(m, annotated_types.Le)), None),
    }
    origin = get_origin(annotation)
    if origin in (list, set, tuple):
        return Shape("list", items=shape_of(get_args(annotation)[0]), **limits)
    if origin is dict:
        key, value = get_args(annotation)
        return Shape("dict", keys=shape_of(key), items=shape_of(value), **limits)
    for kind, python in (("bool", bool), ("int", int), ("float", float), ("text", str), ("datetime", datetime), ("date", date)):
        if annotation is python:
            return Shape(kind, **limits)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return Shape("object")
    return Shape("other")


@dataclass(frozen=True)
class Field:
    where: str  # path | query | json | form
    name: str
    shape: Shape
    required: bool

    @property
    def date_like(self) -> bool:
        return self.shape.kind in ("datetime", "date") or bool(DATE_NAME.search(self.name))


@dataclass
class Operation:
    method: str
    path: str
    fields: list[Field]

    def __str__(self) -> str:
        return f"{self.method} {self.path}"


def _flat(dependant, attr: str) -> list:
    found = list(getattr(dependant, attr))
    for sub in dependant.dependencies:
        found += _flat(sub, attr)
    return found


def _param(where: str, param) -> Field:
    info = param.field_info
    return Field(where, param.alias, shape_of(info.annotation, info.metadata), info.is_required())


def operation_of(method: str, path: str, route: APIRoute) -> Operation:
    """Path, query and body fields of a route; a pydantic body model is opened into its fields."""
    fields = [_param("path", p) for p in _flat(route.dependant, "path_params")]
    fields += [_param("query", p) for p in _flat(route.dependant, "query_params")]
    body = _flat(route.dependant, "body_params")
    form = any(type(p.field_info).__name__ == "Form" for p in body)
    model = body[0].field_info.annotation if len(body) == 1 and not form else None
    if isinstance(model, type) and issubclass(model, BaseModel) and not getattr(body[0].field_info, "embed", False):
        fields += [Field("json", name, shape_of(info.annotation, info.metadata), info.is_required()) for name, info in model.model_fields.items()]
    else:
        fields += [_param("form" if form else "json", p) for p in body]
    return Operation(method, path, fields)


def api_targets(world: World) -> list[Operation]:
    ops = [operation_of(m, p, r) for m, p, r in api_operations(world.app) if (m, p) not in SIGN_IN_ROUTES]
    # Deletions last, so a revoked token or a removed role cannot blunt the other routes.
    return sorted((op for op in ops if op.fields), key=lambda op: op.method == "DELETE")


def console_targets(world: World) -> list[Operation]:
    # SCIM (/scim/v2) is an API of its own, fuzzed in tests/scim.
    ops = [operation_of(m, p, r) for m, p, r in routes(world.app) if not p.startswith(("/api/", "/scim/")) and isinstance(r, APIRoute)]
    return [op for op in ops if op.fields and (op.method, op.path) not in SIGN_IN_ROUTES]


def route_op(world: World, method: str, path: str) -> Operation:
    for m, p, r in routes(world.app):
        if (m, p) == (method, path) and isinstance(r, APIRoute):
            return operation_of(m, p, r)
    raise AssertionError(f"{method} {path} is no longer a route; update SIGN_IN_ROUTES")


# --- what each field gets ---------------------------------------------------------------------------


def fixed_values(f: Field) -> list[tuple[str, Any]]:
    """The fixed text and date classes (both databases); integers and booleans get theirs in the fuzz."""
    shape, json_body = f.shape, f.where == "json"
    if shape.kind == "list" and shape.items is not None:
        items = fixed_values(Field(f.where, f.name, shape.items, True))
        many = (shape.max_length or 100) + 1
        if not items:
            return []
        label, sample = next((pair for pair in items if pair[0] == "NUL"), items[0])
        return [(f"[{label}]", [v]) for label, v in items if not label.startswith("LIKE")] + [(f"[{label}] x {many}", [sample] * many)]
    if shape.kind == "dict":
        keys = fixed_values(Field(f.where, f.name, shape.keys or Shape("text"), True))
        items = fixed_values(Field(f.where, f.name, shape.items or Shape("text"), True))
        many = (shape.max_length or 10) + 1
        return (
            [(f"key {label}", {v: "alpha-admin"}) for label, v in keys if isinstance(v, str)]
            + [(f"value {label}", {"external_contact": v}) for label, v in items]
            + [(f"{many} keys", {f"k{i}": "alpha-admin" for i in range(many)})]
        )
    if f.date_like:
        return FIXED_DATES + [(label, v) for label, v in core_texts(shape.max_length) if label in ("empty", "NUL", "full-width digits")]
    if shape.kind in ("int", "float", "bool"):
        return []
    return core_texts(shape.max_length, query=f.where == "query", json_body=json_body)


def fuzz_values(f: Field) -> tuple[list[tuple[str, Any]], st.SearchStrategy[tuple[str, Any]]]:
    """For the SQLite fuzz: fixed integer and boolean extremes, and a Hypothesis strategy for every kind."""
    shape, json_body = f.shape, f.where == "json"
    if shape.kind == "list" and shape.items is not None:
        fixed, item = fuzz_values(Field(f.where, f.name, shape.items, True))
        many = (shape.max_length or 100) + 1
        lists = [(f"[{label}]", [v]) for label, v in fixed] + [(f"[{label}] x {many}", [v] * many) for label, v in fixed[1:2]]
        if json_body:
            lists += [("not a list", "a"), ("null", None), ("nested list", [[1]]), ("object", {"a": 1})]
        listed = st.lists(item, min_size=1, max_size=4).map(lambda pairs: (" + ".join(p[0] for p in pairs), [p[1] for p in pairs]))
        return lists, listed
    if shape.kind == "dict":
        _, key = fuzz_values(Field(f.where, f.name, shape.keys or Shape("text"), True))
        _, item = fuzz_values(Field(f.where, f.name, shape.items or Shape("text"), True))
        pairs = st.lists(st.tuples(key, item), min_size=1, max_size=3).filter(lambda ps: all(isinstance(k[1], str) for k, _ in ps))
        return [], pairs.map(lambda ps: ("dict of " + ", ".join(k[0] for k, _ in ps), {k[1]: v[1] for k, v in ps}))
    if f.date_like:
        return [], datetimes(shape.max_length)
    if shape.kind == "int":
        odd = ODD_NUMBERS if json_body else INT_TEXTS
        return [(f"int {v}", v) for v in dict.fromkeys(EXTREME_INTS + bounds(shape))] + [(f"odd number {v!r}", v) for v in odd], ints(shape, json_body=json_body)
    if shape.kind == "bool":
        odd = [None, "true", "yes", "", 2, 2**64, [], {}] if json_body else ["true", "yes", "", "2", "\x00"]
        return [(f"bool {v!r}", v) for v in odd], st.one_of(st.booleans(), st.text(max_size=5)).map(lambda v: ("bool or text", v))
    n = shape.max_length or 1000
    return [(f"{n + 1} chars (max_length + 1)", "x" * (n + 1))], texts(shape.max_length, query=f.where == "query", json_body=json_body)


# --- sending, and collecting 5xx --------------------------------------------------------------------


def body_text(response) -> str:
    """The body, or the words of an HTML page's <main> (the console's error page)."""
    text = response.text
    if "html" in response.headers.get("content-type", ""):
        main = re.search(r"<main.*?</main>", text, re.S)
        text = html.unescape(re.sub(r"<[^>]+>", " ", main.group(0) if main else text))
    return re.sub(r"\s+", " ", text).strip()


def show(value: Any, limit: int = 120) -> str:
    text = repr(value)
    if len(text) <= limit:
        return text
    size = f" ({len(value)} long)" if isinstance(value, (str, bytes, list, dict)) else ""
    return text[: limit - 1] + "…" + size


@dataclass
class Failure:
    op: str
    field: str
    value_class: str
    value: Any
    status: int
    body: str
    exception: str

    @property
    def cause(self) -> str:
        """The exception's last line and its innermost frame in offboard/, or else the response body."""
        if not self.exception:
            return f"(nothing logged) {self.body[:160]}"
        lines = [line for line in self.exception.strip().splitlines() if line.strip()]
        raised = [line for line in lines if re.match(r"[A-Za-z_][\w.]*(Error|Exception|Warning)\b", line)]
        frames = [line.strip() for line in lines if line.strip().startswith("File ") and "/offboard/" in line]
        where = re.sub(r'^File ".*?/offboard/', "offboard/", frames[-1]).replace('", line', ":") if frames else ""
        last = raised[-1] if raised else lines[-1]
        return f"{last}  [{where}]" if where else last

    def describe(self) -> str:
        return f"{self.op}  {self.field} = {show(self.value)}  ({self.value_class}) -> {self.status}\n      body: {self.body[:300]}\n      cause: {self.cause}"


class Probe:
    """Sends requests and records every response of 500 or more with the exception the server logged."""

    def __init__(self, logs: list[dict]) -> None:
        self.logs = logs
        self.failures: list[Failure] = []
        self.statuses: Counter[tuple[str, int]] = Counter()

    def send(self, client, op: str, field: str, value_class: str, value: Any, method: str, url: str, **kwargs) -> Failure | None:
        seen = len(self.logs)
        response = client.request(method, url, **kwargs)
        self.statuses[(op, response.status_code)] += 1
        if response.status_code < 500:
            return None
        logged = [str(e["exception"]) for e in self.logs[seen:] if e.get("exception")]
        failure = Failure(op, field, value_class, value, response.status_code, body_text(response), logged[-1] if logged else "")
        self.failures.append(failure)
        return failure

    def report(self) -> str:
        groups: dict[tuple[str, str, str], list[Failure]] = {}
        for f in self.failures:
            groups.setdefault((f.cause, f.op, f.field), []).append(f)
        causes = Counter(key[0] for key in groups)
        lines = [f"SPEC §9: {len(self.failures)} responses >= 500, {len(groups)} (route, field, cause) groups, {len(causes)} distinct causes"]
        for cause, count in causes.most_common():
            lines.append(f"\n== {cause}  ({count} route/field groups)")
            for key, items in groups.items():
                if key[0] == cause:
                    shortest = min(items, key=lambda f: len(repr(f.value)))
                    classes = ", ".join(sorted({f.value_class for f in items}))
                    lines.append(f"  {shortest.describe()}\n      seen {len(items)}x, value classes: {show(classes, 300)}")
        return "\n".join(lines)

    def check(self) -> None:
        if self.failures:
            pytest.fail(self.report(), pytrace=False)

    def assert_reached(self, ops: list[Operation]) -> None:
        """A route that only ever answered 401 or 403 was not fuzzed at all: its values never got in."""
        answered: dict[str, set[int]] = {}
        for (op, status), n in self.statuses.items():
            answered.setdefault(op, set()).add(status)
        refused = [str(op) for op in ops if str(op) in answered and answered[str(op)] <= {401, 403}]
        if refused:
            pytest.fail(f"every request to these routes was refused by authentication or permission, so nothing was tested: {refused}", pytrace=False)


@pytest.fixture
def probe():
    """The app's log events with formatted tracebacks: its `unexpected_error` event names the bug."""
    with structlog.testing.capture_logs(processors=[structlog.processors.format_exc_info]) as logs:
        yield Probe(logs)


def hypothesis_run(probe: Probe, strategy: st.SearchStrategy[tuple[str, Any]], examples: int, attempt: Callable[[str, Any], Failure | None]) -> None:
    """Hypothesis draws `examples` (value class, value) pairs; a 5xx fails the example, so Hypothesis
    shrinks it (the probe has recorded every failing value). Anything else is re-raised."""
    if examples <= 0:
        return
    before = len(probe.failures)

    @settings(
        settings.default,  # the profile tests/conftest.py loaded (derandomized under CI)
        max_examples=examples,
        database=None,  # one inner function serves every field: a stored example would replay on the wrong one
        deadline=None,
        phases=[Phase.generate, Phase.shrink],
        suppress_health_check=list(HealthCheck),
        report_multiple_bugs=False,
    )
    @given(case=strategy)
    def run(case):
        failure = attempt(*case)
        assert failure is None, failure.describe()

    try:
        run()
    except Exception:
        if len(probe.failures) == before:
            raise


# --- building a request ----------------------------------------------------------------------------------


class Requests:
    """An operation's request with one field set to the value under test and the others valid."""

    def __init__(self, world: World, client, *, headers: dict | None = None, bearer: bool = True, reset_throttle: bool = False, **extra: Any):
        self.world, self.client, self.headers = world, client, headers or {}
        self.bearer = bearer  # False: the session cookie only, for /api/v1/tenants too
        self.reset_throttle = reset_throttle
        self._leaver: tuple[int, int] | None = None
        a = world.a
        # A valid value per field name (or "where:name"); a callable when each request needs a new one.
        self.base: dict[str, Any] = {
            "path:member_id": a["member"].member_id,
            "department_id": a.extra["lab"],
            "token_id": a["member"].token_id,
            "exit_id": a.extra["exit"],
            "correlation_id": a.extra["correlation_id"],
            "role": "hr",
            "item": "access_revoked",
            # An exit form or body starts a real exit: a new leaver once the last one's exit started,
            # so the next value is not refused as exit_exists before it reaches the date or text handling.
            "json:member_id": lambda: self.leaver()[0],
            "form:member_id": lambda: self.leaver()[0],
            "form:plan_id": lambda: self.leaver()[1],
            "name": "Fuzz Name",
            "userid": lambda: fresh("alpha-fuzz"),
            "slug": lambda: fresh("fuzz"),
            "admin_userid": "boss",
            "admin_name": "Boss",
            "reason_category": "resignation",
            "reason": "moved on",
            "totp": "000000",
            "code": "000000",
            "kind": "external_contact",
            "to": a["admin"].userid,
            "state": "done",
            "evidence": "checked by the fuzz test",
            "confirm": a["super"].userid,
            "lang": "en",
            "tenant": a.slug,
            "password": PASSWORD,
            **extra,
        }
        # A valid request the fuzz cannot survive: revoking the token it is sent with.
        self.protected = {"token_id": {a["super"].token_id}}

    def leaver(self) -> tuple[int, int]:
        """A member of Sales and a stored plan of theirs: the same until an exit of theirs started."""
        if self._leaver is not None:
            with self.world.services.db.read() as conn:
                started = conn.execute(select(func.count()).where(tables.exits.c.tenant_id == self.world.a.id, tables.exits.c.member_id == self._leaver[0])).scalar_one()
            if not started:
                return self._leaver
        with tenant_transaction(self.world.services, self.world.a.slug, by=self.world.a["super"].userid) as uow:
            member = member_actions.add_member(uow, userid=fresh("alpha-leaver"), name=LEAVER_NAME, department_ids=[self.world.a.sales])
            self._leaver = (member, exit_actions.plan(uow, member).plan_id)
        return self._leaver

    def valid(self, f: Field) -> Any:
        value = self.base.get(f"{f.where}:{f.name}", self.base.get(f.name))
        if callable(value):
            value = value()
        if value is None and f.required:
            value = fallback(f.shape)
        return value

    def send(self, probe: Probe, op: Operation, target: Field, value_class: str, value: Any, *, headers: dict | None = None, record_as: tuple[str, Any] | None = None) -> Failure | None:
        path, query, body, form = {}, [], {}, {}
        for f in op.fields:
            # Path: always a valid value. Query: only what is required (a named filter would narrow
            # every answer). Body and form: what is required or has a named valid value.
            if f is target or (f.where == "query" and not f.required):
                continue
            v = self.valid(f)
            if v is None:
                continue
            if f.where == "query":
                query.append((f.name, v))
            else:
                {"path": path, "json": body, "form": form}[f.where][f.name] = v
        if target.where == "path":
            path[target.name] = value
        elif target.where == "query":
            query += [(target.name, v) for v in (value if isinstance(value, list) else [value])]
        else:
            (body if target.where == "json" else form)[target.name] = value
        url = op.path.format(**{k: quote(str(v), safe="") for k, v in path.items()})
        sent = {**(self.world.operator() if self.bearer and op.path.startswith("/api/v1/tenants") else self.headers), **(headers or {})}
        kwargs: dict[str, Any] = {"headers": sent}
        if query:
            kwargs["params"] = [(k, str(v)) for k, v in query]
        if any(f.where == "json" for f in op.fields):
            kwargs["content"] = json.dumps(body)  # ensure_ascii: a lone surrogate travels as \\ud800
            sent["Content-Type"] = "application/json"
        elif any(f.where == "form" for f in op.fields):
            kwargs["data"] = {k: [str(x) for x in v] if isinstance(v, list) else str(v) for k, v in form.items()}
        if self.reset_throttle:
            reset_sign_in_throttle(self.world)
        field_name, shown = record_as or (f"{target.where}:{target.name}", value)
        return probe.send(self.client, str(op), field_name, value_class, shown, op.method, url, **kwargs)


def fallback(shape: Shape) -> Any:
    """A plausible value for a required field no baseline names (a new route's field)."""
    if shape.kind == "int":
        return shape.ge if shape.ge is not None and shape.ge > 0 else 1
    if shape.kind == "bool":
        return False
    if shape.kind == "datetime":
        return "2030-01-01T00:00:00+08:00"
    if shape.kind == "list":
        return [fallback(shape.items or Shape("text"))] * (shape.min_length or 0)
    if shape.kind == "dict":
        return {}
    return "x" * max(1, shape.min_length or 1)


def fuzz(probe: Probe, requests: Requests, ops: list[Operation], *, broad: bool, examples: int, skip: Callable[[Field], bool] = lambda f: False, fixed_too: bool = True) -> int:
    """Every field of every operation: the fixed values (both databases), or, broad, the integer
    and boolean extremes and Hypothesis for every kind. Returns how many fields were fuzzed."""
    count = 0
    for op in ops:
        for target in op.fields:
            if skip(target):
                continue
            if broad:
                fixed, strategy = fuzz_values(target)
            else:
                fixed = fixed_values(target)
                strategy = fuzz_values(target)[1] if fixed and target.shape.kind not in ("int", "bool") else None
            protected = requests.protected.get(target.name, set())
            fixed = [(label, v) for label, v in fixed if fixed_too and not (isinstance(v, int) and v in protected)]
            if not fixed and strategy is None:
                continue
            count += 1
            for label, value in fixed:
                requests.send(probe, op, target, label, value)
            if strategy is not None:
                allowed = strategy.filter(lambda case, protected=protected: not (isinstance(case[1], int) and case[1] in protected))
                hypothesis_run(probe, allowed, examples, lambda label, value, op=op, target=target: requests.send(probe, op, target, label, value))
    return count


# --- sessions, and the pages after the fuzz ------------------------------------------------------------

_OPEN_CLIENTS: list = []


def open_client(world: World, address: str = "testclient"):
    """world.client(), entered (one event loop for all its requests) and closed after the test."""
    client = world.client(address)
    client.__enter__()
    _OPEN_CLIENTS.append(client)
    return client


@pytest.fixture(autouse=True)
def _close_clients():
    yield
    while _OPEN_CLIENTS:
        _OPEN_CLIENTS.pop().__exit__(None, None, None)


@dataclass
class Session:
    client: Any
    csrf: str


def console_session(world: World) -> Session:
    """A super-admin console session; its CSRF token also works in the X-CSRF-Token header."""
    world.clock.advance(seconds=30)  # a TOTP code is accepted once: each session signs in with the next one
    reset_sign_in_throttle(world)
    client = open_client(world)
    csrf = sign_in(client, world, world.a, "super")
    member = world.a["member"].member_id
    plan = client.post(f"/api/v1/members/{member}/exit-plans", json={}, headers={"X-CSRF-Token": csrf, "Origin": "http://testserver"})
    assert plan.status_code == 201, plan.text
    return Session(client, csrf)


def super_admin_attests_too(world: World) -> None:
    """The checklist actions are HR's and IT's (SPEC §3.2): A's super admin also holds both roles
    here, so that its attest, acknowledge, close and sign-off requests reach them."""
    with tenant_transaction(world.services, world.a.slug, by=world.a["super"].userid) as uow:
        for role in ("hr", "it"):
            role_actions.grant_role(uow, world.a["super"].member_id, role)


def reset_sign_in_throttle(world: World) -> None:
    """Forget failed sign-ins and wrong codes, so each hostile value reaches the check behind the
    back-off instead of a 429, and the fuzz's own wrong codes never lock the account it uses."""
    with world.services.db.write() as conn:
        conn.execute(delete(tables.login_throttle))


def last_id(world: World, table) -> int:
    with world.services.db.read() as conn:
        return conn.execute(select(func.coalesce(func.max(table.c.id), 0)).where(table.c.tenant_id == world.a.id)).scalar_one()


DETAIL_PAGES = 30  # per kind: the lists show every row, the detail pages those that kept a value under test


def stored_rows(world: World, members_before: int) -> tuple[list[int], list[int], int, int]:
    """Exits and members that kept a value of the fuzz (not the plain ones it made to start exits
    of), and how many exits and members the tenant has."""
    e, m = tables.exits.c, tables.members.c
    with world.services.db.read() as conn:
        exits_ = conn.execute(
            select(e.id).where(e.tenant_id == world.a.id, (e.reason != "moved on") | (e.effective_at != e.created_at) | (e.id == world.a.extra["exit"])).order_by(e.id).limit(DETAIL_PAGES)
        ).scalars()
        members_ = conn.execute(
            select(m.id).where(m.tenant_id == world.a.id, ((m.id > members_before) & (m.name != LEAVER_NAME)) | (m.id == world.a["member"].member_id)).order_by(m.id).limit(DETAIL_PAGES)
        ).scalars()
        counts = [conn.execute(select(func.count()).where(t.c.tenant_id == world.a.id)).scalar_one() for t in (tables.exits, tables.members)]
    return list(exits_), list(members_), *counts


def pages_still_answer(world: World, probe: Probe, members_before: int, session: Session | None = None) -> None:
    """A stored extreme value must not break a page for everyone: every page of the lists (GET /exits
    and GET /api/v1/exits first), and the pages of the exits and members that kept a fuzzed value."""
    api, headers = open_client(world), world.a.bearer("super")
    exits_, members_, exit_count, member_count = stored_rows(world, members_before)
    pages = [f"/api/v1/exits?limit=500&offset={o}" for o in range(0, exit_count, 500)]
    pages += [f"/api/v1/members?limit=500&offset={o}" for o in range(0, member_count, 500)]
    pages += ["/api/v1/departments", "/api/v1/audit?limit=500", "/api/v1/tokens", "/api/v1/me", "/api/v1/me/inbox", "/api/v1/checklist/board", "/api/v1/audit/verify"]
    pages += [f"/api/v1/exits/{i}{tail}" for i in exits_ for tail in ("", "/ledger", "/checklist")]
    pages += [f"/api/v1/members/{i}" for i in members_]
    for page in pages:
        probe.send(api, f"GET {page}", "(a page after the fuzz)", "stored values", None, "GET", page, headers=headers)
    me = api.get("/api/v1/me", headers=headers)
    assert me.status_code == 200, f"the fuzz lost its API token ({me.status_code}), so its requests were not really tested"
    session = session or console_session(world)
    console = [f"/exits?page={p}" for p in range(1, 2 + (exit_count - 1) // 25)]
    console += [f"/members?page={p}" for p in range(1, 2 + (member_count - 1) // 25)]
    console += ["/", "/departments", "/audit", "/checklist", "/inbox", "/me"]
    console += [f"/exits/{i}" for i in exits_] + [f"/members/{i}" for i in members_]
    for page in console:
        probe.send(session.client, f"GET {page}", "(a page after the fuzz)", "stored values", None, "GET", page)
    landing = session.client.get("/me")
    assert landing.status_code == 200, f"the console session ended during the fuzz ({landing.status_code}), so its pages were not really tested"


# --- the tests ---------------------------------------------------------------------------------------------


class TestTextAndDatesOnEveryDatabase:
    """Text (empty, NUL, RTL override, full-width digits, zero-width joiner and U+D7FF, strings of
    max_length and of NFC-expanding characters, LIKE wildcards in query parameters, a lone
    surrogate in JSON) and extreme dates, on SQLite and PostgreSQL, whose text and time types
    differ (PostgreSQL refuses NUL in text; each has its own date range and LIKE escapes)."""

    def test_spec_9_api_text_and_date_fields_never_answer_5xx(self, world, probe):
        """SPEC §9 (never a 500 for bad input): hostile text and extreme datetimes in every text and
        date field of every /api/v1 route: path, query and JSON body."""
        members_before = last_id(world, tables.members)
        super_admin_attests_too(world)
        ops = api_targets(world)
        assert len(ops) >= 15, [str(op) for op in ops]
        assert fuzz(probe, Requests(world, open_client(world), headers=world.a.bearer("super")), ops, broad=False, examples=CROSS_DB_EXAMPLES) >= 30
        pages_still_answer(world, probe, members_before)
        probe.check()
        probe.assert_reached(ops)

    def test_spec_9_console_text_and_date_fields_never_answer_5xx(self, world, probe):
        """SPEC §9 (never a 500 for bad input): hostile text and extreme dates (leave_date
        0001-01-01, 9999-12-31, …) in every text and date field of every console page and form,
        from a signed-in super admin (the csrf field has its own test)."""
        members_before = last_id(world, tables.members)
        super_admin_attests_too(world)
        session = console_session(world)
        requests = Requests(world, session.client, csrf=session.csrf)
        ops = console_targets(world)
        assert len(ops) >= 10, [str(op) for op in ops]
        assert fuzz(probe, requests, ops, broad=False, examples=CROSS_DB_EXAMPLES, skip=lambda f: f.name == "csrf") >= 30
        pages_still_answer(world, probe, members_before, session)
        probe.check()
        probe.assert_reached([op for op in ops if any(f.name != "csrf" for f in op.fields)])

    def test_spec_9_sign_in_forms_never_answer_5xx(self, world, probe):
        """SPEC §9 (never a 500 for bad input): hostile text in every field of the sign-in forms:
        POST /login (tenant, userid, password, `pre` with the ob_pre cookie set, next),
        POST /login/totp, POST /reverify and POST /api/v1/me/reverify (hostile `code` values)."""
        members_before = last_id(world, tables.members)
        fuzz_sign_in(world, probe, broad=False, examples=CROSS_DB_EXAMPLES)
        pages_still_answer(world, probe, members_before)
        probe.check()


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
class TestFuzzOnSQLite:
    """Hypothesis over every field of every route with its whole range of hostile values:
    arbitrary Unicode, integers of 64 to 70 bits and each bound ± 1, booleans, values of the
    wrong JSON type, random datetimes; and the CSRF token and request headers. SQLite only: the
    HTTP layer and the actions (the database dialects are covered by the class above)."""

    def test_spec_9_api_routes_never_answer_5xx_to_generated_values(self, world, probe):
        """SPEC §9 (never a 500 for bad input): every path, query and JSON body field of every
        /api/v1 route: generated text, integers (2**63, 2**63-1, -2**63-1, 2**70, bounds ± 1),
        booleans, wrong JSON types and generated datetimes."""
        members_before = last_id(world, tables.members)
        super_admin_attests_too(world)
        ops = api_targets(world)
        fuzz(probe, Requests(world, open_client(world), headers=world.a.bearer("super")), ops, broad=True, examples=FUZZ_EXAMPLES)
        pages_still_answer(world, probe, members_before)
        probe.check()
        probe.assert_reached(ops)

    def test_spec_9_console_routes_never_answer_5xx_to_generated_values(self, world, probe):
        """SPEC §9 (never a 500 for bad input): every path, query and form field of every console
        page and form (full pages and htmx fragments): generated text, integers of 64 to 70 bits,
        generated dates."""
        members_before = last_id(world, tables.members)
        super_admin_attests_too(world)
        session = console_session(world)
        ops = console_targets(world)
        plain = Requests(world, session.client, csrf=session.csrf)
        fuzz(probe, plain, ops, broad=True, examples=FUZZ_EXAMPLES, skip=lambda f: f.name == "csrf")
        htmx = Requests(world, session.client, headers={"HX-Request": "true", "HX-Target": "member-table"}, csrf=session.csrf)
        fuzz(probe, htmx, [op for op in ops if op.method == "GET"], broad=True, examples=1, fixed_too=False)
        pages_still_answer(world, probe, members_before, session)
        probe.check()
        probe.assert_reached([op for op in ops if any(f.name != "csrf" for f in op.fields)])

    def test_spec_9_sign_in_forms_never_answer_5xx_to_generated_values(self, world, probe):
        """SPEC §9 (never a 500 for bad input): generated text in every field of the sign-in
        forms and the re-verification (POST /login with `pre`, /login/totp, /reverify,
        /api/v1/me/reverify)."""
        fuzz_sign_in(world, probe, broad=True, examples=FUZZ_EXAMPLES)
        probe.check()

    def test_spec_9_csrf_tokens_and_headers_never_answer_5xx(self, world, probe):
        """SPEC §9 (never a 500 for bad input): hostile text as the CSRF token in the `csrf` field
        of every console form, and hostile bytes in the X-CSRF-Token header of every
        state-changing API request made with the session cookie; also in Origin and Referer
        (the same-site check), Authorization (the bearer token), Accept-Language and the
        session, device, sign-in and language cookies."""
        members_before = last_id(world, tables.members)
        session = fuzz_csrf(world, probe, examples=FUZZ_EXAMPLES)
        pages_still_answer(world, probe, members_before, session)
        probe.check()


# --- sign-in forms, CSRF and headers ------------------------------------------------------------------------


def fuzz_sign_in(world: World, probe: Probe, *, broad: bool, examples: int) -> None:
    a = world.a
    # POST /login as the plain member, who signs in with a password alone: a hostile `next` is followed.
    anonymous = open_client(world, "192.0.2.10")
    assert anonymous.get("/login").status_code == 200
    login = Requests(world, anonymous, reset_throttle=True, userid=a["member"].userid, pre=anonymous.cookies["ob_pre"])
    fuzz(probe, login, [route_op(world, "POST", "/login")], broad=broad, examples=examples)
    # POST /login/totp: the super admin after the password step.
    halfway = open_client(world, "192.0.2.11")
    assert start_login(halfway, a, a["super"]).status_code == 303
    totp = Requests(world, halfway, reset_throttle=True, csrf=csrf_of(halfway))
    fuzz(probe, totp, [route_op(world, "POST", "/login/totp")], broad=broad, examples=examples)
    # POST /reverify and POST /api/v1/me/reverify: a full console session (the cookie, not a token).
    session = console_session(world)
    reverify = Requests(world, session.client, bearer=False, reset_throttle=True, csrf=session.csrf, headers={"X-CSRF-Token": session.csrf, "Origin": "http://testserver"})
    fuzz(probe, reverify, [route_op(world, "POST", "/reverify"), route_op(world, "POST", "/api/v1/me/reverify")], broad=broad, examples=examples)


# Header values as a client can send them: no NUL, CR or LF, which HTTP servers refuse before the app.
CSRF_HEADERS = [
    ("UTF-8 RTL override", "\u202e".encode()),
    ("UTF-8 full-width digits", "１２３４５６".encode()),
    ("latin-1 bytes", b"\xe9\xff\xfe"),
    ("invalid UTF-8", b"\xc3\x28\xa0\xa1"),
    ("%", b"%"),
    ("8000 non-ASCII bytes", "é".encode() * 4000),
    ("empty", b""),
]
MORE_HEADERS = [("UTF-8 U+D7FF", "\ud7ff".encode()), ("UTF-8 astral", "\U0001f600".encode()), ("8000 chars", b"x" * 8000), ("spaces", b"   ")]
ORIGIN_HEADERS = [
    ("unclosed IPv6 literal", b"http://["),
    ("IPv6 literal with junk", b"http://[::1]x/"),
    ("port out of range", b"http://testserver:99999999999999999999"),
    ("non-numeric port", b"http://testserver:abc"),
    ("scheme only", b"http:"),
    ("UTF-8 host", "http://例え.テスト".encode()),
    ("latin-1 host", b"http://t\xe9st"),
]
COOKIE_VALUES = [("dotted junk", b"a.b.c.d"), ("base64 junk", b"eyJ9.===.=="), ("4000 chars", b"x" * 4000), ("quoted", b'"\\"\\\\"')]
LANGUAGES = [("bad q", b"zh-CN;q=abc"), ("huge q", b"*;q=1e999"), ("separators only", b";;,,;"), ("8000 chars of zh", b"zh" * 4000)]
BEARER_HEADERS = CSRF_HEADERS + [("obt_ full-width tenant", "obt_１_abcd_efgh".encode()), ("obt_ Arabic-Indic tenant", "obt_١_ab_cd".encode())]


def header_bytes() -> st.SearchStrategy[tuple[str, bytes]]:
    """What a client can put in a header: any bytes but CR, LF and the other controls an HTTP
    server refuses (h11 takes visible ASCII, space, tab and obs-text 0x80-0xff)."""
    octet = st.one_of(st.integers(0x20, 0x7E), st.integers(0x80, 0xFF), st.just(0x09)).map(lambda b: bytes([b]))
    utf8 = st.text(st.characters(codec="utf-8", exclude_categories=["Cc"]), max_size=30).map(str.encode)
    return st.one_of(st.sampled_from(CSRF_HEADERS + MORE_HEADERS), utf8.map(lambda v: ("UTF-8 text", v)), st.lists(octet, max_size=30).map(lambda v: ("octets", b"".join(v))))


def fuzz_csrf(world: World, probe: Probe, *, examples: int) -> Session:
    session = console_session(world)
    # 1. The `csrf` field of every console form (and of the sign-in forms, in fuzz_sign_in).
    requests = Requests(world, session.client, csrf=session.csrf)
    forms = [op for op in console_targets(world) if any(f.name == "csrf" for f in op.fields)]
    assert len(forms) >= 5, [str(op) for op in forms]
    for op in forms:
        target = next(f for f in op.fields if f.name == "csrf")
        for label, value in core_texts(target.shape.max_length):
            requests.send(probe, op, target, label, value)
        hypothesis_run(probe, texts(target.shape.max_length), examples, lambda label, value, op=op, t=target: requests.send(probe, op, t, label, value))
    # 2. Headers of every state-changing API request made with the session cookie.
    sender = Requests(world, session.client, bearer=False, csrf=session.csrf)
    writes = [op for op in api_targets(world) if op.method != "GET"] + [route_op(world, "POST", "/api/v1/me/reverify")]
    valid = {"X-CSRF-Token": session.csrf}
    for op in writes:
        anchor = next((f for f in op.fields if f.where == "path"), op.fields[0])

        def with_header(header: str, label: str, raw: bytes, op=op, anchor=anchor):
            return sender.send(probe, op, anchor, label, sender.valid(anchor), headers={**valid, header: raw}, record_as=(f"header:{header}", raw))

        for label, raw in CSRF_HEADERS:
            with_header("X-CSRF-Token", label, raw)
        hypothesis_run(probe, header_bytes(), examples, lambda label, raw, h=with_header: h("X-CSRF-Token", label, raw))
    # 3. Origin and Referer: the same-site check of an API write, a console form and /login.
    departments = next(op for op in writes if str(op) == "POST /api/v1/departments")
    anonymous = open_client(world)
    anonymous.get("/login")
    login = Requests(world, anonymous, reset_throttle=True, userid=world.a["member"].userid, pre=anonymous.cookies.get("ob_pre", ""))
    login_op, lang_op = route_op(world, "POST", "/login"), next(op for op in console_targets(world) if str(op) == "POST /lang")
    for header in ("Origin", "Referer"):
        for label, raw in ORIGIN_HEADERS + CSRF_HEADERS[:3]:
            for req, op in ((sender, departments), (requests, lang_op), (login, login_op)):
                anchor = next(f for f in op.fields if f.where in ("json", "form"))
                req.send(probe, op, anchor, label, req.valid(anchor), headers={**valid, header: raw}, record_as=(f"header:{header}", raw))
    # 4. The bearer credential.
    bare = open_client(world)
    for label, raw in BEARER_HEADERS:
        probe.send(bare, "GET /api/v1/me", "header:Authorization", label, b"Bearer " + raw, "GET", "/api/v1/me", headers={"Authorization": b"Bearer " + raw})
    # 5. The cookies (session, device, sign-in form, language) and Accept-Language, set by hand on a client without cookies.
    form = {"tenant": world.a.slug, "userid": world.a["member"].userid, "password": PASSWORD, "pre": "fuzz-pre"}
    for name in (SESSION_COOKIE, DEVICE_COOKIE, PRE_COOKIE, LANG_COOKIE):
        for label, raw in CSRF_HEADERS + COOKIE_VALUES:
            jar = b"ob_pre=fuzz-pre; " + name.encode() + b"=" + raw
            for method, url, data in (("GET", "/", None), ("GET", "/api/v1/me", None), ("POST", "/login", form)):
                bare.cookies.clear()
                probe.send(bare, f"{method} {url}", f"cookie:{name}", label, raw, method, url, headers={"Cookie": jar}, data=data)
    for label, raw in CSRF_HEADERS + LANGUAGES:
        for url, headers in (("/login", {}), ("/api/v1/me", world.a.bearer("super")), ("/api/v1/nothing-here", {})):
            bare.cookies.clear()
            probe.send(bare, f"GET {url}", "header:Accept-Language", label, raw, "GET", url, headers={**headers, "Accept-Language": raw})
    return session
