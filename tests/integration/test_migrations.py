"""Migrations from empty, their idempotence, models vs migrations, the schema check, and the
tenant-keyed schema (SPEC §3 keys, §10 scale path)."""

from __future__ import annotations

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Column, Integer, MetaData, UniqueConstraint, inspect, text

from offboard.bootstrap import build
from offboard.domain.errors import OffboardError
from offboard.store import schema
from offboard.store.db import connect
from offboard.store.tables import ID_TABLES, metadata
from tests.conftest import create_pg_database, drop_pg_database
from tests.support.clock import FakeClock
from tests.support.factories import add_member, make_tenant

# Installation-wide tables, deliberately bound to no tenant. A new one must be added here
# consciously: everything else is distributed by tenant_id (SPEC §10).
TENANTLESS = {
    "tenants",  # the distribution key itself
    "operator_tokens",  # an operator token is bound to no tenant (SPEC §3.2)
    "instance_settings",  # e.g. the console's cookie signing key
}


@pytest.fixture(params=["sqlite", "postgresql"])
def fresh_url(request, tmp_path):
    """An empty database that nobody has migrated."""
    if request.param == "sqlite":
        yield str(tmp_path / "fresh.db")
    else:
        server = request.getfixturevalue("pg_server_url")
        url = create_pg_database(server)
        yield url
        drop_pg_database(server, url)


@pytest.fixture(scope="module")
def migrated_pg_url(pg_server_url):
    """A PostgreSQL database migrated once for the read-only checks of this module."""
    url = create_pg_database(pg_server_url)
    db = connect(url)
    schema.upgrade(db)
    db.dispose()
    yield url
    drop_pg_database(pg_server_url, url)


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def migrated_url(request, tmp_path_factory):
    """A database migrated once from empty, for checks that only read the schema."""
    if request.param == "postgresql":
        return request.getfixturevalue("migrated_pg_url")
    path = str(tmp_path_factory.mktemp("migrated") / "migrated.db")
    db = connect(path)
    schema.upgrade(db)
    db.dispose()
    return path


def _tables(db) -> set[str]:
    with db.engine.connect() as conn:
        return set(inspect(conn).get_table_names())


def test_upgrade_from_empty_creates_every_table(fresh_url):
    db = connect(fresh_url)
    try:
        assert schema.current(db) is None
        before, after = schema.upgrade(db)
        assert (before, after) == (None, schema.head())
        assert schema.current(db) == schema.head()
        assert {t.name for t in metadata.sorted_tables} <= _tables(db)
        schema.check(db)  # no error
    finally:
        db.dispose()


def test_upgrade_twice_is_a_noop_and_keeps_the_data(fresh_url):
    db = connect(fresh_url)
    try:
        schema.upgrade(db)
        tables = _tables(db)
        services = build(fresh_url, clock=FakeClock())
        make_tenant(services)
        add_member(services, "amy")
        services.db.dispose()
        assert schema.upgrade(db) == (schema.head(), schema.head())
        assert _tables(db) == tables
        with db.engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM members")).scalar_one() == 2
            assert conn.execute(text("SELECT count(*) FROM alembic_version")).scalar_one() == 1
    finally:
        db.dispose()


def test_an_older_schema_is_refused_until_upgraded_then_upgrades_in_place(fresh_url):
    script = ScriptDirectory.from_config(schema._config())
    revisions = [r.revision for r in script.walk_revisions()]
    if len(revisions) < 2:
        pytest.skip("only one revision exists")
    base = revisions[-1]
    db = connect(fresh_url)
    try:
        with db.engine.begin() as conn:
            cfg = schema._config()
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, base)
        with pytest.raises(OffboardError) as exc:
            build(fresh_url)
        assert exc.value.code == "schema_outdated"
        assert "offboard db upgrade" in exc.value.render()
        assert schema.upgrade(db) == (base, schema.head())
        build(fresh_url).db.dispose()
    finally:
        db.dispose()


def _model_diff(db, target: MetaData) -> list:
    with db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True, "compare_server_default": True})
        # No filtering is needed: tables.py declares the dialect variants (BigInteger on
        # PostgreSQL / Integer on SQLite, JSONB / JSON) exactly as the migration creates them,
        # so autogenerate reports nothing on either database. If a future Alembic starts to
        # report a spurious variant difference, filter only that kind here and say why.
        return compare_metadata(context, target)


def test_models_match_the_migrations(migrated_url):
    db = connect(migrated_url)
    try:
        assert _model_diff(db, metadata) == []
    finally:
        db.dispose()


def test_the_model_comparison_would_catch_a_drift(migrated_url):
    # The same metadata plus one column the migrations never created must show up.
    drifted = MetaData(naming_convention=metadata.naming_convention)
    for table in metadata.sorted_tables:
        copy = table.to_metadata(drifted)
        if table.name == "members":
            copy.append_column(Column("shoe_size", Integer))
    db = connect(migrated_url)
    try:
        diff = _model_diff(db, drifted)
        assert [(d[0], d[3].name) for d in diff if d[0] == "add_column"] == [("add_column", "shoe_size")]
    finally:
        db.dispose()


def test_partial_unique_indexes_carry_their_predicates(migrated_url):
    # Autogenerate does not compare index predicates, so check the two that carry rules.
    db = connect(migrated_url)
    try:
        with db.engine.connect() as conn:
            if conn.dialect.name == "sqlite":
                sql = dict(conn.execute(text("SELECT name, sql FROM sqlite_master WHERE type = 'index'")).all())
            else:
                sql = dict(conn.execute(text("SELECT indexname, indexdef FROM pg_indexes")).all())
        userid = sql["uq_members_tenant_userid_live"]
        assert "UNIQUE" in userid.upper() and "active" in userid and "exited" in userid and "finalized" not in userid
        open_exit = sql["uq_exits_tenant_member_open"]
        assert "UNIQUE" in open_exit.upper() and "scheduled" in open_exit and "open" in open_exit
    finally:
        db.dispose()


def test_postgresql_has_an_id_sequence_for_every_id_table(migrated_pg_url):
    db = connect(migrated_pg_url)
    try:
        with db.engine.connect() as conn:
            sequences = set(conn.execute(text("SELECT sequence_name FROM information_schema.sequences")).scalars())
        missing = sorted(f"{t.name}_id_seq" for t in ID_TABLES if f"{t.name}_id_seq" not in sequences)
        assert missing == []
        assert "tenants_id_seq" in sequences
    finally:
        db.dispose()


def test_build_refuses_an_unmigrated_database(fresh_url):
    with pytest.raises(OffboardError) as exc:
        build(fresh_url)
    assert exc.value.code == "schema_missing"
    assert exc.value.status == 503
    assert "offboard db upgrade" in exc.value.render()


def test_build_refuses_a_database_migrated_by_a_newer_offboard(fresh_url):
    db = connect(fresh_url)
    try:
        schema.upgrade(db)
        with db.engine.begin() as conn:
            conn.execute(text("UPDATE alembic_version SET version_num = '9999_from_the_future'"))
        with pytest.raises(OffboardError) as exc:
            build(fresh_url)
        assert exc.value.code == "schema_too_new"
        # Upgrading must not touch it either: an older offboard cannot know how to.
        with pytest.raises(OffboardError) as exc:
            schema.upgrade(db)
        assert exc.value.code == "schema_too_new"
        assert schema.current(db) == "9999_from_the_future"
    finally:
        db.dispose()


# --- the tenant-keyed schema (inspects the metadata) -------------------------------------------


def _tenant_tables():
    return [t for t in metadata.sorted_tables if t.name not in TENANTLESS]


def test_tenantless_tables_are_the_known_ones():
    assert {t.name for t in metadata.sorted_tables if "tenant_id" not in t.c} == TENANTLESS


@pytest.mark.parametrize("table", _tenant_tables(), ids=lambda t: t.name)
def test_spec_3_every_primary_key_starts_with_tenant_id(table):
    assert [c.name for c in table.primary_key.columns][0] == "tenant_id"
    assert len(table.primary_key.columns) >= 2


@pytest.mark.parametrize("table", _tenant_tables(), ids=lambda t: t.name)
def test_spec_3_every_foreign_key_includes_tenant_id(table):
    for fk in table.foreign_key_constraints:
        pairs = {e.parent.name: e.column for e in fk.elements}
        assert "tenant_id" in pairs, f"{fk.name} does not include tenant_id"
        remote = pairs["tenant_id"]
        # tenant_id must point at the referred table's tenant_id (or at tenants.id itself).
        assert (remote.table.name, remote.name) in (("tenants", "id"), (fk.referred_table.name, "tenant_id")), fk.name


@pytest.mark.parametrize("table", _tenant_tables(), ids=lambda t: t.name)
def test_spec_3_every_unique_constraint_includes_tenant_id(table):
    uniques = [c for c in table.constraints if isinstance(c, UniqueConstraint)] + [i for i in table.indexes if i.unique]
    for unique in uniques:
        assert [c.name for c in unique.columns][0] == "tenant_id", unique.name


@pytest.mark.parametrize("table", _tenant_tables(), ids=lambda t: t.name)
def test_spec_10_every_index_leads_with_tenant_id(table):
    for index in table.indexes:
        assert [c.name for c in index.columns][0] == "tenant_id", index.name


# --- 0006: ledger steps backfilled for a database that has a ledger ------------------------------------


def _steps_and_rows(db) -> tuple[list, dict]:
    """The steps (exit, kind, time, actor, counts) in order, and per ledger row the steps it names."""
    from sqlalchemy import select

    from offboard.store.tables import exit_steps, transfer_ledger

    with db.engine.connect() as conn:
        found = conn.execute(select(exit_steps).order_by(exit_steps.c.id)).all()
        key = {s.id: (s.exit_id, s.kind, s.created_at) for s in found}
        rows = {r.id: (key[r.step_id], key.get(r.changed_step_id)) for r in conn.execute(select(transfer_ledger))}
    return [(s.exit_id, s.kind, s.created_at, s.actor, s.counts) for s in found], rows


def _migrate(db, revision: str, downgrade: bool = False) -> None:
    with db.engine.begin() as conn:
        cfg = schema._config()
        cfg.attributes["connection"] = conn
        (command.downgrade if downgrade else command.upgrade)(cfg, revision)


def test_0006_backfills_a_step_per_batch_so_the_rows_of_an_existing_ledger_name_their_steps(fresh_url):
    from offboard.actions import checklist as cl_actions
    from offboard.actions import inheritance
    from offboard.actions import restore as restore_actions
    from offboard.actions.context import tenant_transaction
    from offboard.jobs import reconciler
    from tests.support.exits import give, ledger, make_company, start, totp_now

    db = connect(fresh_url)
    try:
        schema.upgrade(db)
        clock = FakeClock()
        services = build(fresh_url, clock=clock)

        def act(by, fn, *args, **kwargs):
            with tenant_transaction(services, "acme", by) as uow:
                return fn(uow, *args, **kwargs)

        # Every kind of step, each at its own time, as a real clock reads.
        company = make_company(services, profile="wecom", policy={"restore_window_hours": 48})
        leo = start(company, "leo", successor="sam").id
        refused_group = next(r for r in ledger(company, leo) if r.kind == "customer_group")
        clock.advance(minutes=5)
        act("hanna", inheritance.record_result, refused_group.correlation_id, "refused")
        clock.advance(minutes=5)
        act("hanna", inheritance.inherit, leo, "customer_group", "tina", resource_ids=[refused_group.resource_id])
        clock.advance(hours=25)
        assert reconciler.reconcile(services).as_dict()["taken_over"] == 4
        clock.advance(minutes=1)
        lone = start(company, "lone", successor="tina").id  # moves nothing but its leadership; finalized below
        give(company, "mona", 1)
        clock.advance(minutes=1)
        mona = start(company, "mona", successor="tina").id
        clock.advance(seconds=31)
        act("hanna", restore_actions.restore_exit, mona, totp=totp_now("hanna", services), reason="mistaken exit")
        act("hanna", cl_actions.signoff, lone, "hr")
        clock.advance(hours=49)
        act("ivan", cl_actions.signoff, lone, "it")  # the window is over: signing finalizes
        services.db.dispose()
        steps, rows = _steps_and_rows(db)
        kinds = [(e, k) for e, k, *_ in steps]
        assert kinds == [(leo, "exit"), (leo, "result"), (leo, "inherit"), (leo, "takeover"), (lone, "exit"), (mona, "exit"), (mona, "restore"), (lone, "finalize")]

        # The same database as 0005 left it (no steps), upgraded again: the same steps are found.
        _migrate(db, "0005", downgrade=True)
        with db.engine.connect() as conn:
            assert "step_id" not in {c["name"] for c in inspect(conn).get_columns("transfer_ledger")}
        _migrate(db, "head")
        assert _steps_and_rows(db) == (steps, rows)
        schema.check(db)
        assert _model_diff(db, metadata) == []
    finally:
        db.dispose()


# --- 0007: members' search keys backfilled, a batch at a time --------------------------------------


def test_0007_backfills_the_search_key_of_every_existing_member_across_batches_and_tenants(fresh_url):
    from datetime import UTC, datetime

    from sqlalchemy import column, insert, select, table

    from offboard.i18n.pinyin import search_key
    from offboard.store.tables import members

    db = connect(fresh_url)
    try:
        schema.upgrade(db)
        services = build(fresh_url, clock=FakeClock())
        acme, beta = make_tenant(services), make_tenant(services, "beta", admin="bea")
        services.db.dispose()
        _migrate(db, "0006", downgrade=True)
        with db.engine.connect() as conn:
            assert "search_key" not in {c["name"] for c in inspect(conn).get_columns("members")}
        # More members than one batch (1,000) holds, in two tenants, as 0006 stores them.
        old = table("members", *(column(n) for n in ("tenant_id", "id", "userid", "name", "region", "status", "created_at", "updated_at")))
        now = datetime(2026, 12, 1, tzinfo=UTC)
        surnames, given = "陈赵王李", "静磊芳娜"
        rows = [
            {
                "tenant_id": tenant.id,
                "id": 100 + i,
                "userid": f"m{i}",
                "name": surnames[i % 4] + given[i // 4 % 4] + ("_%" if i % 97 == 0 else ""),
                "region": "CN",
                "status": "active",
                "created_at": now,
                "updated_at": now,
            }
            for tenant, count in ((acme, 1200), (beta, 300))
            for i in range(count)
        ]
        with db.engine.begin() as conn:
            conn.execute(insert(old), rows)
        _migrate(db, "head")
        with db.engine.connect() as conn:
            found = conn.execute(select(members.c.name, members.c.search_key)).all()
        assert len(found) == 1500 + 2  # and the two tenants' first admins
        assert [(n, k) for n, k in found if k != search_key(n)] == []
        assert ("陈静", "cj chenjing") in found
        schema.check(db)
        assert _model_diff(db, metadata) == []
    finally:
        db.dispose()
