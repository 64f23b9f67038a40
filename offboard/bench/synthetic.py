"""`offboard seed`: a synthetic enterprise of N members with every resource and record kind,
for the layoff benchmark (SPEC §10) and for trying the product at scale.

The tenant is created by the service layer (create_tenant: the admin is its first member and
primary super admin, INV-1). Then one write transaction loads everything else with set-based
SQL, INSERT ... SELECT per table and chunk of members from scratch tables, so Python never
holds the rows and memory stays flat at any size; the few roles go through grant_role, each
table's load is one audit event, and headcounts are recounted in one statement at the end.
All or nothing: a failed load leaves the tenant with its admin only.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, time as clock_time, timedelta
from itertools import islice
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Table, func, insert, select, text

from offboard.actions import roles as role_actions
from offboard.actions.context import Services, UnitOfWork, tenant_transaction
from offboard.actions.tenants import TenantCreated, create_tenant
from offboard.bench import synthetic_rows as rows
from offboard.bench import synthetic_sql as sql
from offboard.bench.synthetic_org import Block, Line, Org, plan_org
from offboard.demo.names import GIVEN, SURNAMES
from offboard.domain import validation as v
from offboard.domain.errors import Conflict, ValidationError, error
from offboard.domain.org import child_path
from offboard.i18n.pinyin import search_key
from offboard.store import ids
from offboard.store.db import Database
from offboard.store.org import recount_tenant
from offboard.store.tables import (
    api_tokens,
    approval_templates,
    departments,
    internal_group_members,
    internal_groups,
    member_departments,
    members,
    RESOURCE_TABLES,
    metadata,
    tenants,
)

MAX_MEMBERS = 10_000_000
DEFAULT_SLUG = "synthetic"
DEFAULT_SEED = 1
DEFAULT_RESOURCES = 5.0  # owned resources per member on average; SPEC §10's layoff benchmark has 50
MAX_RESOURCES = 1000.0
ADMIN_USERID, ADMIN_NAME = "admin", "张伟"
CHUNK_ROWS = 200_000  # rows per statement, about: a chunk of members is sized to it
KEY_ACCOUNTS = 0.01  # share of all members who hold hundreds to thousands of customers
NAME_SURNAMES, NAME_GIVEN = 40, 80  # 3,200 names, whose pinyin keys are computed once
SQLITE_CACHE = -65_536  # KiB of page cache while loading (the connection's own is restored after)
PROJECT_MIN = 16  # members a project group's 6-15 members are drawn from
PROJECT_MAX = 15

Progress = Callable[[str, int, int], None]  # (table being written, rows done, rows planned)


@dataclass(frozen=True)
class SeedResult:
    tenant_id: int
    slug: str
    members: int
    seed: int
    counts: dict[str, int]  # the tenant's rows per table once loaded
    seconds: float
    phases: dict[str, float]  # tenant, load, analyze


def seed_tenant(
    services: Services,
    *,
    members: int,
    slug: str = DEFAULT_SLUG,
    seed: int = DEFAULT_SEED,
    resources: float = DEFAULT_RESOURCES,
    profile: str = "wecom",
    progress: Progress | None = None,
) -> SeedResult:
    """Create tenant `slug` under policy `profile` and load `members` synthetic members into it,
    owning `resources` rows of the eight transferable kinds on average; the same arguments give
    the same tenant.
    An existing slug is refused before anything is written."""
    if not 1 <= members <= MAX_MEMBERS:
        raise error(ValidationError, "members_out_of_range", "The number of members must be between 1 and {max}.", max=f"{MAX_MEMBERS:,}")
    if not 0 <= resources <= MAX_RESOURCES:
        raise error(ValidationError, "resources_out_of_range", "Owned resources per member must be between 0 and {max}.", max=f"{MAX_RESOURCES:,.0f}")
    if not 0 <= seed < sql.P:
        raise error(ValidationError, "seed_out_of_range", "The seed must be a whole number from 0 to {max}.", max=sql.P - 1)
    slug = v.slug(slug)
    started = time.perf_counter()
    with services.db.read() as conn:
        if conn.execute(select(func.count()).where(tenants.c.slug == slug)).scalar_one():
            raise error(Conflict, "duplicate_slug", "An enterprise with slug {slug!r} already exists; synthetic members go into a new enterprise, so choose another slug.", slug=slug)
    org = plan_org(members, seed)
    created = create_tenant(services, slug=slug, name=f"合成企业 {slug}", admin_userid=ADMIN_USERID, admin_name=ADMIN_NAME, profile=profile)
    tenant_s = time.perf_counter() - started
    with tenant_transaction(services, slug) as uow:
        counts = _Load(uow, org, seed, resources, created, progress or (lambda table, done, total: None)).run()
    load_s = time.perf_counter() - started - tenant_s
    analyze(services.db)
    seconds = time.perf_counter() - started
    return SeedResult(created.id, slug, members, seed, counts, seconds, {"tenant": tenant_s, "load": load_s, "analyze": seconds - tenant_s - load_s})


def analyze(db: Database) -> None:
    """A production database is analyzed by autovacuum; a freshly loaded one must be, or the
    planner believes the new tables are as small as they were."""
    with db.engine.connect() as conn:
        conn.exec_driver_sql("ANALYZE")
        conn.commit()


REPORTED: tuple[Table, ...] = tuple(
    metadata.tables[name]
    for name in (
        "departments",
        "members",
        "member_departments",
        "roles",
        *(t.name for t in RESOURCE_TABLES.values()),
        "internal_group_members",
        "messages",
        "attendance_records",
        "reimbursements",
        "devices",
        "app_grants",
        "api_tokens",
        "sessions",
    )
)


class _Load:
    def __init__(self, uow: UnitOfWork, org: Org, seed: int, resources: float, created: TenantCreated, progress: Progress) -> None:
        self.uow, self.conn, self.tid = uow, uow.conn, uow.tenant_id
        self.dialect = sql.Dialect(self.conn.dialect.name == "postgresql")
        self.org, self.created, self.progress = org, created, progress
        self.salt = seed * 7919 % sql.P
        self.resources = resources
        self.staff = org.members - 1
        self.written: dict[str, int] = {}
        self.done = self.planned = 0
        self.params: dict[str, Any] = {"t": self.tid, "region": uow.tenant.region, "names": NAME_SURNAMES * NAME_GIVEN, "salt": self.salt}

    def run(self) -> dict[str, int]:
        before = {t.name: self._count(t) for t in REPORTED}
        with self._sqlite_cache():
            self._scratch()
            self._load()
        for table, n in self.written.items():
            self.uow.audit("synthetic.seeded", [f"tenant:{self.tid}"], {"kind": table, "count": n})
        granted = self._roles()
        for t in sql.SCRATCH_TABLES:
            self.conn.exec_driver_sql(f"DROP TABLE IF EXISTS {t.name}")
        counts = {name: n + self.written.get(name, 0) for name, n in before.items()}
        counts["roles"] += granted
        return counts

    @contextmanager
    def _sqlite_cache(self) -> Iterator[None]:
        """A larger SQLite page cache while loading; the pooled connection gets its own back."""
        if self.dialect.postgresql:
            yield
            return
        own = int(self.conn.exec_driver_sql("PRAGMA cache_size").scalar_one())
        self.conn.exec_driver_sql(f"PRAGMA cache_size = {SQLITE_CACHE}")
        try:
            yield
        finally:
            self.conn.exec_driver_sql(f"PRAGMA cache_size = {own}")

    # Scratch tables and ids.

    def _scratch(self) -> None:
        for t in sql.SCRATCH_TABLES:
            if t is not sql.SEQ or not self.dialect.postgresql:
                t.create(self.conn)
        self.seq = 0
        self._seq(max(b.size for b in self.org.blocks))
        self._fill(sql.NAMES, names())
        now = self.uow.now
        slots = ({"k": k, "ts": now - timedelta(seconds=k * sql.TS_STEP)} for k in range(sql.TS_SLOTS))
        self._fill(sql.TIMES, [*slots, {"k": sql.TS_SLOTS, "ts": now + timedelta(days=7)}])
        self._fill(sql.DAYS, _days(now, ZoneInfo(self.uow.tenant.timezone)))
        m = self.org.members
        self.admin = self.created.admin_member_id
        self.first_member = ids.reserve(self.conn, members, self.tid, self.staff) if self.staff else self.admin + 1
        self.params["maxid"] = self.first_member + self.staff - 1
        first_dept = ids.reserve(self.conn, departments, self.tid, self.org.departments) if self.org.departments else 0
        first_group = ids.reserve(self.conn, internal_groups, self.tid, len(self.org.blocks))
        self.dept_ids = [self.created.root_department_id, *range(first_dept, first_dept + self.org.departments)]
        self._fill(sql.BLOCKS, self._blocks(first_group))
        heavy = min(1000, -(-int(1000 * KEY_ACCOUNTS * m) // max(1, _sales_staff(self.org))))
        admin_row = f"SELECT :admin, 0, 0, 1, b.leaf, 0, b.dept_id, b.group_id, {sql.mix(':salt')} FROM synthetic_blocks b WHERE b.depth = 0"
        self._exec(f"INSERT INTO synthetic_people (id, o, line, lead, leaf, heavy, d, g, h) {admin_row}", admin=self.admin)
        expand, where = self.dialect.expand("b.size")
        people = f"""
INSERT INTO synthetic_people (id, o, line, lead, leaf, heavy, d, g, h)
SELECT x.id, x.o, x.line, x.lead, x.leaf, CASE WHEN x.line = {Line.SALES} AND x.lead = 0 AND x.h % 1000 < :heavy THEN 1 ELSE 0 END, x.d, x.g, x.h
FROM (
    SELECT b.first_id + s.k - 1 AS id, b.first_o + s.k - 1 AS o, b.line, CASE WHEN s.k = 1 AND b.depth > 0 THEN 1 ELSE 0 END AS lead,
           b.leaf, b.dept_id AS d, b.group_id AS g, {sql.mix("b.first_o + s.k - 1 + :salt")} AS h
    FROM synthetic_blocks b {expand}
    WHERE {where} AND b.first_o >= :lo AND b.first_o < :hi
) x"""
        for lo, hi in _ranges(1, m, CHUNK_ROWS):
            self._exec(people, lo=lo, hi=hi, heavy=heavy)
        if self.dialect.postgresql:
            for t in sql.SCRATCH_TABLES[1:]:
                self.conn.exec_driver_sql(f"ANALYZE {t.name}")

    def _blocks(self, first_group: int) -> Iterator[dict[str, Any]]:
        paths: dict[int, str] = {}
        for b in self.org.blocks:
            dept_id = self.dept_ids[b.index]
            parent_id = self.dept_ids[b.parent] if b.parent is not None else None
            paths[b.index] = child_path(paths[b.parent] if b.parent is not None else None, dept_id)
            titles = dict(zip(("title0", "title1", "title2"), b.titles, strict=True))
            yield {
                "dept_id": dept_id,
                "parent_id": parent_id,
                "name": b.name or self.uow.tenant.name,
                "path": paths[b.index],
                "depth": b.depth,
                "leaf": int(b.leaf),
                "line": int(b.line),
                "first_id": self._id(b.first_o),
                "first_o": b.first_o,
                "size": b.size,
                "leader_id": self._id(b.leader_o),
                "manager_id": self._id(b.manager_o) if b.manager_o is not None else None,
                "group_id": first_group + b.index,
                "lead_title": b.lead_title,
                **titles,
            }

    def _id(self, ordinal: int) -> int:
        return self.admin if ordinal == 0 else self.first_member + ordinal - 1

    # The load.

    def _load(self) -> None:
        self._calibrate(self._owned(True).values())
        templates = self._total(self._owned(True)["approval_templates"])
        owned = self._owned(templates > 0)
        records = rows.records(self.dialect)
        groups = rows.department_group_members()
        totals = {s.table: self._total(s) for s in (*owned.values(), *records)}
        totals["internal_group_members"] = self._total(groups)
        self._seq(max(self._longest(s) for s in (*owned.values(), *records)) + PROJECT_MAX)
        projects = totals.get("internal_groups", 0)
        project_members = sum(6 + i % 10 for i in range(projects))
        fixed = self.org.departments + 2 * self.staff + len(self.org.blocks) + project_members + 1
        self.planned = fixed + sum(totals.values())

        self._exec_counted(departments, _DEPARTMENTS, self.org.departments)
        for lo, hi in self._member_ranges(2):
            self._exec_counted(members, _MEMBERS, params={"lo": lo, "hi": hi, "domain": f"{self.uow.tenant.slug}.example.com"})
            self._exec_counted(member_departments, _MEMBER_DEPARTMENTS, params={"lo": lo, "hi": hi})
        self._exec(_LEADERS)
        self._analyze(departments, member_departments, members)
        self._exec_counted(internal_groups, _DEPARTMENT_GROUPS, len(self.org.blocks))
        self._analyze(internal_groups)
        self._rows(groups, totals["internal_group_members"])
        for table, spec in owned.items():
            first = self._rows(spec, totals[table])
            if table == "approval_templates":
                self.params.update(tfirst=first, tcount=templates)
                self._analyze(approval_templates)
            elif table == "internal_groups" and projects:
                self._project_members(first, projects)
        for spec in records:
            self._rows(spec, totals[spec.table])
        self._service_token()
        recount_tenant(self.conn, self.tid)
        assert self.done == self.planned, f"wrote {self.done} rows, planned {self.planned}"

    def _owned(self, with_templates: bool) -> dict[str, sql.RowSpec]:
        owned = rows.by_table(rows.owned(with_templates))
        if self.staff < PROJECT_MIN:
            del owned["internal_groups"]
        return owned

    def _calibrate(self, owned: Iterable[sql.RowSpec]) -> None:
        """The percentage of the full shape that everyone but the key accounts gets, so that the
        tenant owns `resources` per member on average (department group chats included)."""
        fixed, scalable = len(self.org.blocks), 0
        for spec in owned:
            heavy, others = self.conn.execute(text(spec.shares()), self.params).one()
            fixed, scalable = fixed + int(heavy), scalable + int(others)
        wanted = self.resources * self.org.members - fixed
        self.params["pct"] = max(0, round(100 * wanted / scalable)) if scalable else 0

    def _rows(self, spec: sql.RowSpec, total: int) -> int:
        """All of one table's rows, a chunk of members per statement; returns the first id."""
        table = metadata.tables[spec.table]
        if not total:
            return 0
        first = ids.reserve(self.conn, table, self.tid, total) if "id" in table.c else 0
        statement = spec.insert(self.dialect)
        written = 0
        for lo, hi in self._member_ranges(total / self.org.members):
            written += self._exec_counted(table, statement, params={"lo": lo, "hi": hi, "base": first - 1 + written})
        assert written == total, f"{spec.table}: wrote {written} rows, planned {total}"
        return first

    def _project_members(self, first: int, groups: int) -> None:
        """6-15 members per project group: its owner and the members next to them by id (so
        PROJECT_MIN synthetic members are needed)."""
        expand, where = self.dialect.expand("6 + (g.id - :gfirst) % 10")
        statement = f"""
INSERT INTO internal_group_members (tenant_id, group_id, member_id, joined_at)
SELECT :t, g.id, CASE WHEN g.owner_id + s.k - 1 <= :maxid THEN g.owner_id + s.k - 1 ELSE :maxid - (s.k - 1) END, ts.ts
FROM internal_groups g {expand}
JOIN synthetic_times ts ON ts.k = {sql.ago("g.id * 7 + s.k", 300)}
WHERE {where} AND g.tenant_id = :t AND g.id >= :lo AND g.id < :hi"""
        for lo, hi in _ranges(first, first + groups, CHUNK_ROWS // 10):
            self._exec_counted(internal_group_members, statement, params={"lo": lo, "hi": hi, "gfirst": first})

    def _service_token(self) -> None:
        """A tenant service token (no member): it survives every exit."""
        token_id = ids.next_id(self.conn, api_tokens, self.tid)
        values = {"name": "数据同步服务", "prefix": str(token_id), "token_hash": f"synthetic:{token_id}", "scopes": ["read_directory"], "created_by": "operator", "created_at": self.uow.now}
        self.conn.execute(insert(api_tokens).values(tenant_id=self.tid, id=token_id, member_id=None, **values))
        self._counted("api_tokens", 1)

    def _roles(self) -> int:
        """A backup super admin (R-ADM-3), HR and IT members, an admin scoped to each division."""
        divisions = [b for b in self.org.blocks if b.depth == 1]
        backup = next((b for b in divisions if b.line == Line.FUNCTIONS), divisions[0] if divisions else None)
        grants: list[tuple[int, str, dict[str, Any]]] = []
        if backup is not None:
            grants.append((self._id(backup.leader_o), "super_admin", {"rank": "backup"}))
        per_role = min(20, max(1, self.org.members // 5000))
        staff = list(islice(_staff(self.org), 2 * per_role))
        grants += [(self._id(o), "hr" if i < per_role else "it", {}) for i, o in enumerate(staff)]
        grants += [(self._id(b.leader_o), "admin", {"scope": [self.dept_ids[b.index]], "permissions": ["manage_members"]}) for b in divisions if b is not backup]
        for member_id, role, options in grants:
            role_actions.grant_role(self.uow, member_id, role, **options)
        return len(grants)

    # Statements.

    def _member_ranges(self, per_member: float) -> Iterator[tuple[int, int]]:
        """The admin, then the synthetic members in chunks of about CHUNK_ROWS rows."""
        yield self.admin, self.admin + 1
        size = int(min(200_000, max(1_000, CHUNK_ROWS / max(per_member, 1e-9))))
        yield from _ranges(self.first_member, self.first_member + self.staff, size)

    def _analyze(self, *tables: Table) -> None:
        """Statistics of tables just loaded, before statements that look rows up in them: the
        foreign key checks and the recount. With the counts from before the load the planner
        scans a whole table per row looked up."""
        for t in tables:
            self.conn.exec_driver_sql(f"ANALYZE {t.name}")

    def _seq(self, upto: int) -> None:
        """SQLite's numbers table long enough for the longest expansion (PostgreSQL has
        generate_series)."""
        if not self.dialect.postgresql and upto > self.seq:
            self.conn.exec_driver_sql(self.dialect.fill_seq(self.seq + 1, upto))
            self.seq = upto

    def _longest(self, spec: sql.RowSpec) -> int:
        longest: int = self.conn.execute(text(spec.longest()), self.params).scalar_one()
        return longest

    def _total(self, spec: sql.RowSpec) -> int:
        total: int = self.conn.execute(text(spec.total()), self.params).scalar_one()
        return total

    def _exec(self, statement: str, **params: Any) -> int:
        result = self.conn.execute(text(statement), self.params | params)
        return result.rowcount

    def _exec_counted(self, table: Table, statement: str, expected: int | None = None, *, params: dict[str, Any] | None = None) -> int:
        n = self._exec(statement, **(params or {}))
        if expected is not None:
            assert n == expected, f"{table.name}: wrote {n} rows, planned {expected}"
        self._counted(table.name, n)
        return n

    def _counted(self, table: str, n: int) -> None:
        self.written[table] = self.written.get(table, 0) + n
        self.done += n
        self.progress(table, self.done, self.planned)

    def _fill(self, table: Table, values: Iterable[dict[str, Any]]) -> None:
        it = iter(values)
        while batch := list(islice(it, 5_000)):
            self.conn.execute(insert(table), batch)

    def _count(self, table: Table) -> int:
        n: int = self.conn.execute(select(func.count()).select_from(table).where(table.c.tenant_id == self.tid)).scalar_one()
        return n


_DEPARTMENTS = f"""
INSERT INTO departments (tenant_id, id, parent_id, name, path, depth, leader_id, status, headcount, version, created_at)
SELECT :t, b.dept_id, b.parent_id, b.name, b.path, b.depth, NULL, 'active', 0, 1, ts.ts
FROM synthetic_blocks b JOIN synthetic_times ts ON ts.k = {sql.TS_SLOTS - 1}
WHERE b.depth > 0"""

_MEMBERS = f"""
INSERT INTO members (tenant_id, id, userid, external_id, name, search_key, email, mobile, title, region, status, manager_id, version, created_at, updated_at)
SELECT :t, p.id, nm.pinyin || CAST(p.o AS TEXT), 'HR' || CAST(100000 + p.o AS TEXT), nm.name, nm.search_key,
       nm.pinyin || CAST(p.o AS TEXT) || '@' || :domain, '1' || CAST(3000000000 + (p.h * 3) % 7000000000 AS TEXT),
       CASE WHEN p.lead = 1 THEN b.lead_title WHEN p.heavy = 1 THEN '大客户经理'
            ELSE CASE p.h % 3 WHEN 0 THEN b.title0 WHEN 1 THEN b.title1 ELSE b.title2 END END,
       :region, 'active', CASE WHEN p.lead = 1 THEN b.manager_id ELSE b.leader_id END, 1, ts.ts, ts.ts
FROM synthetic_people p
JOIN synthetic_blocks b ON b.dept_id = p.d
JOIN synthetic_names nm ON nm.k = p.h % :names
JOIN synthetic_times ts ON ts.k = {sql.ago("p.h", 730)}
WHERE p.o > 0 AND p.id >= :lo AND p.id < :hi"""

_MEMBER_DEPARTMENTS = f"""
INSERT INTO member_departments (tenant_id, member_id, department_id, is_primary, joined_at)
SELECT :t, p.id, p.d, TRUE, ts.ts
FROM synthetic_people p JOIN synthetic_times ts ON ts.k = {sql.ago("p.h", 730)}
WHERE p.o > 0 AND p.id >= :lo AND p.id < :hi"""

_LEADERS = "UPDATE departments SET leader_id = (SELECT b.leader_id FROM synthetic_blocks b WHERE b.dept_id = departments.id) WHERE tenant_id = :t"

_DEPARTMENT_GROUPS = f"""
INSERT INTO internal_groups (tenant_id, id, owner_id, version, created_at, name)
SELECT :t, b.group_id, b.leader_id, 1, ts.ts, b.name || '群'
FROM synthetic_blocks b JOIN synthetic_times ts ON ts.k = {sql.TS_SLOTS - 1}"""


def _ranges(start: int, end: int, size: int) -> Iterator[tuple[int, int]]:
    for lo in range(start, end, size):
        yield lo, min(lo + size, end)


def name_parts() -> tuple[list[str], list[str]]:
    """Surnames, and given names of one character and of two."""
    chars = list(GIVEN)
    return list(SURNAMES)[:NAME_SURNAMES], chars[: NAME_GIVEN // 2] + [chars[2 * i] + chars[2 * i + 1] for i in range(NAME_GIVEN // 2)]


def names() -> Iterator[dict[str, Any]]:
    """Surname x given name with the userid stem and search key, from keys computed once per
    part: a name's key is its parts' keys joined (tests/unit/test_synthetic_org.py checks)."""
    surnames, given = name_parts()
    keys = {part: search_key(part).split(" ") for part in (*surnames, *given)}
    for i, surname in enumerate(surnames):
        for j, first in enumerate(given):
            (si, sf), (gi, gf) = keys[surname], keys[first]
            yield {"k": i * len(given) + j, "name": surname + first, "pinyin": sf + gf, "search_key": f"{si}{gi} {sf}{gf}"}


def _days(now: datetime, tz: ZoneInfo) -> Iterator[dict[str, Any]]:
    """The last WORKDAYS weekdays, each with DAY_VARIANTS check-in and check-out times."""
    day = now.astimezone(tz).date()
    found = 0
    while found < rows.WORKDAYS:
        day -= timedelta(days=1)
        if day.weekday() >= 5:
            continue
        for variant in range(sql.DAY_VARIANTS):
            start = datetime.combine(day, clock_time(8, 30), tz) + timedelta(minutes=variant * 4)
            yield {"k": found * sql.DAY_VARIANTS + variant, "day": day, "check_in": start, "check_out": start + timedelta(hours=9, minutes=variant * 3)}
        found += 1


def _sales_staff(org: Org) -> int:
    return sum(b.size - (1 if b.depth else 0) for b in org.blocks if b.line == Line.SALES)


def _staff(org: Org) -> Iterator[int]:
    """Ordinals of team members who lead nothing, the functions line's first (HR and IT sit there)."""
    teams: list[Block] = [b for b in org.blocks if b.leaf and b.depth]
    for b in sorted(teams, key=lambda b: b.line != Line.FUNCTIONS):
        yield from range(b.first_o + 1, b.first_o + b.size)
