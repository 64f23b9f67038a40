"""The set-based statements of a synthetic load: scratch tables, and one INSERT ... SELECT per
table and chunk of members, the same text on SQLite and PostgreSQL but for how a member's
rows are expanded (a join on a numbers table filled by a recursive CTE, or generate_series).

Randomness is a hash in integer SQL, computed on both databases without overflow: a member's
`h` comes from its ordinal and the seed; each table draws its own `hk` from `h`, and each row
varies it by its number `s.k`. So the same seed gives the same tenant, and nothing random is
sent from Python but the org chart.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Column, Date, MetaData, String, Table

from offboard.store.tables import Id
from offboard.store.types import UTCDateTime

P = 2_147_483_647  # 2^31 - 1: any two residues multiply below 2^63
TS_SLOTS = 16_384  # past instants about an hour apart: slot k is k * TS_STEP seconds before now
TS_DAYS = 730
TS_STEP = TS_DAYS * 86_400 / TS_SLOTS
DAY_VARIANTS = 16  # check-in and check-out times per workday

scratch = MetaData()


def _scratch(name: str, *columns: Column) -> Table:
    return Table(f"synthetic_{name}", scratch, *columns, prefixes=["TEMPORARY"])


SEQ = _scratch("seq", Column("k", Id, primary_key=True, autoincrement=False))
NAMES = _scratch("names", Column("k", Id, primary_key=True, autoincrement=False), Column("name", String), Column("pinyin", String), Column("search_key", String))
TIMES = _scratch("times", Column("k", Id, primary_key=True, autoincrement=False), Column("ts", UTCDateTime))
DAYS = _scratch("days", Column("k", Id, primary_key=True, autoincrement=False), Column("day", Date), Column("check_in", UTCDateTime), Column("check_out", UTCDateTime))
BLOCKS = _scratch(
    "blocks",
    Column("dept_id", Id, primary_key=True, autoincrement=False),
    Column("parent_id", Id),
    Column("name", String),
    Column("path", String),
    Column("depth", Id),
    Column("leaf", Id),
    Column("line", Id),
    Column("first_id", Id),
    Column("first_o", Id),
    Column("size", Id),
    Column("leader_id", Id),
    Column("manager_id", Id),
    Column("group_id", Id),
    Column("lead_title", String),
    Column("title0", String),
    Column("title1", String),
    Column("title2", String),
)
# One row per member: what decides what they own (line of business, leader, key account).
PEOPLE = _scratch(
    "people",
    Column("id", Id, primary_key=True, autoincrement=False),
    Column("o", Id),
    Column("line", Id),
    Column("lead", Id),
    Column("leaf", Id),
    Column("heavy", Id),
    Column("d", Id),
    Column("g", Id),
    Column("h", Id),
)
SCRATCH_TABLES = (SEQ, NAMES, TIMES, DAYS, BLOCKS, PEOPLE)


def mix(x: str) -> str:
    """A hash of a non-negative integer below 2^32 (an ordinal plus a salt below P): a
    multiplicative step, then a square mod P, neither above 2^63."""
    u = f"((CAST({x} AS BIGINT) * 1103515245 + 12345) % {P})"
    return f"(({u} * {u}) % {P})"


def kind_hash(salt: int) -> str:
    """A member's draw for one table, from the member's `h`."""
    return f"((((h + {salt}) % {P}) * ((h + {salt}) % {P})) % {P})"


def pick(index: str, values: tuple[str, ...]) -> str:
    """One of a few literals, by index modulo their number."""
    whens = " ".join(f"WHEN {i} THEN {_quote(v)}" for i, v in enumerate(values))
    return f"CASE ({index}) % {len(values)} {whens} END"


def _quote(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def ago(index: str, days: int) -> str:
    """The scratch slot of an instant within the last `days` days (join `synthetic_times`)."""
    if not 0 < days <= TS_DAYS:
        raise ValueError(f"the scratch times reach {TS_DAYS} days back, not {days}")
    return f"(({index}) % {TS_SLOTS * days // TS_DAYS})"


@dataclass(frozen=True)
class Dialect:
    postgresql: bool

    def expand(self, count: str) -> tuple[str, str]:
        """FROM and WHERE fragments giving s.k = 1 .. count for each row of m. SQLite's CROSS
        JOIN keeps m the outer loop, so rows come out in owner order and indexes grow at the end."""
        if self.postgresql:
            return f"CROSS JOIN LATERAL generate_series(1, {count}) AS s(k)", "TRUE"
        return "CROSS JOIN synthetic_seq AS s", f"s.k <= {count}"

    def json(self, literal: str) -> str:
        return f"CAST({_quote(literal)} AS JSONB)" if self.postgresql else _quote(literal)

    def fill_seq(self, first: int, last: int) -> str:
        return f"WITH RECURSIVE g(k) AS (SELECT {first} UNION ALL SELECT k + 1 FROM g WHERE k < {last}) INSERT INTO synthetic_seq (k) SELECT k FROM g"


@dataclass(frozen=True)
class RowSpec:
    """The rows of one table: how many a member gets (`base`, over the member's line, lead,
    leaf, heavy, o and hk) and each column's value (over m, s.k, the row's id `{id}` and the
    joins in `joins`). A `scaled` table's base is multiplied by `:pct` percent, rounded up or
    down at random, for all members but the key accounts when `heavy` says what they get."""

    table: str
    salt: int
    base: str
    columns: dict[str, str]
    joins: str = ""
    scaled: bool = False
    heavy: str | None = None

    @property
    def count(self) -> str:
        if not self.scaled:
            return self.base
        scaled = f"((({self.base}) * :pct + (hk / 128) % 100) / 100)"
        return f"CASE WHEN heavy = 1 THEN {self.heavy} ELSE {scaled} END" if self.heavy else scaled

    def _over_people(self, select: str) -> str:
        return f"SELECT {select} FROM (SELECT p.*, {kind_hash(self.salt)} AS hk FROM synthetic_people p) q"

    def total(self) -> str:
        return self._over_people(f"COALESCE(SUM(CAST({self.count} AS INTEGER)), 0)")

    def longest(self) -> str:
        return self._over_people(f"COALESCE(MAX(CAST({self.count} AS INTEGER)), 0)")

    def shares(self) -> str:
        """(rows of the key accounts, rows of everyone else at 100 percent)."""
        heavy = self.heavy or "0"
        base = f"CASE WHEN heavy = 1 THEN 0 ELSE {self.base} END" if self.heavy else self.base
        return self._over_people(f"COALESCE(SUM(CASE WHEN heavy = 1 THEN {heavy} ELSE 0 END), 0), COALESCE(SUM({base}), 0)")

    def insert(self, dialect: Dialect) -> str:
        """One chunk of members [lo, hi): ids :base + 1 .. :base + rows, in owner order."""
        expand, where = dialect.expand("m.n")
        columns = {"tenant_id": ":t", **self.columns}
        values = ",\n    ".join(expr.replace("{id}", "(:base + m.off + s.k)") for expr in columns.values())
        return f"""
INSERT INTO {self.table} ({", ".join(columns)})
SELECT
    {values}
FROM (
    SELECT c.*, SUM(c.n) OVER (ORDER BY c.id) - c.n AS off
    FROM (
        SELECT q.*, CAST({self.count} AS INTEGER) AS n
        FROM (SELECT p.*, {kind_hash(self.salt)} AS hk FROM synthetic_people p WHERE p.id >= :lo AND p.id < :hi) q
    ) c
    WHERE c.n > 0
) m
{expand}
{self.joins}
WHERE {where}
"""
