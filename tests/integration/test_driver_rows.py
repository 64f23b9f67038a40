"""Rows handed to the driver as tuples (offboard.store.driver_rows): what the column types would
have stored, on SQLite and PostgreSQL: JSON, aware times, NULLs, enum values, text with quotes;
rows a caller encoded itself stored as given."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from offboard.actions.tenants import create_tenant
from offboard.domain.vocabulary import JobState
from offboard.store.driver_rows import insert_rows, insert_values, update_rows
from offboard.store.tables import bulk_exit_rows, jobs


def _job(tenant_id: int, job_id: int, at: datetime, **values) -> dict:
    row = {"tenant_id": tenant_id, "id": job_id, "kind": "bulk_exit", "state": JobState.PLANNED, "source": "a'b\"c.csv", "actor": "operator"}
    row |= {"actor_member_id": None, "total": 2, "counts": {"ready": 2, "名单": 1}, "batch_size": 500, "audit_mark": None}
    row |= {"created_at": at, "confirmed_at": None, "finished_at": None, "updated_at": at, "version": 1}
    return row | values


def test_rows_inserted_and_updated_through_the_driver_read_back_as_the_column_types_store_them(services):
    tid = create_tenant(services, slug="rows", name="Rows", admin_userid="boss", admin_name="Boss").id
    at = datetime(2026, 12, 3, 8, 30, 15, 123456, tzinfo=UTC)
    with services.db.write() as conn:
        insert_rows(conn, jobs, [_job(tid, 1, at), _job(tid, 2, at, counts={"done": 1})])
        later = at + timedelta(hours=1)
        update_rows(
            conn,
            jobs,
            ("tenant_id", "id"),
            [
                {"tenant_id": tid, "id": 1, "state": JobState.RUNNING, "counts": {"exited": 1}, "confirmed_at": later, "audit_mark": 42},
                {"tenant_id": tid, "id": 2, "state": JobState.DONE, "counts": {}, "confirmed_at": None, "audit_mark": None},
            ],
        )
    with services.db.read() as conn:
        rows = {r.id: r for r in conn.execute(select(jobs).where(jobs.c.tenant_id == tid))}
    assert (rows[1].state, rows[1].counts, rows[1].confirmed_at, rows[1].audit_mark) == ("running", {"exited": 1}, at + timedelta(hours=1), 42)
    assert (rows[2].state, rows[2].counts, rows[2].confirmed_at, rows[2].audit_mark) == ("done", {}, None, None)
    assert rows[1].source == "a'b\"c.csv" and rows[1].created_at == at and rows[1].total == 2


def test_a_naive_time_is_refused_as_the_column_type_refuses_it(services):
    tid = create_tenant(services, slug="naive", name="Naive", admin_userid="boss", admin_name="Boss").id
    with pytest.raises(ValueError, match="naive datetime"):
        with services.db.write() as conn:
            insert_rows(conn, jobs, [_job(tid, 1, datetime(2026, 12, 3, 8, 0))])


def test_rows_given_as_encoded_values_are_stored_as_given(services):
    tid = create_tenant(services, slug="values", name="Values", admin_userid="boss", admin_name="Boss").id
    at = datetime(2026, 12, 3, 8, 30, 15, tzinfo=UTC)
    columns = ("tenant_id", "job_id", "row_no", "userid", "acceptors", "status", "issues", "warnings")
    with services.db.write() as conn:
        insert_rows(conn, jobs, [_job(tid, 1, at)])
        insert_values(conn, bulk_exit_rows, columns, [(tid, 1, 2, "amy", '{"document":7}', "ready", "[]", '[{"code":"x"}]'), (tid, 1, 3, "o'neil", "{}", "invalid", '["名单"]', "[]")])
    with services.db.read() as conn:
        rows = conn.execute(
            select(bulk_exit_rows.c.userid, bulk_exit_rows.c.acceptors, bulk_exit_rows.c.issues, bulk_exit_rows.c.warnings).where(bulk_exit_rows.c.tenant_id == tid).order_by(bulk_exit_rows.c.row_no)
        ).all()
    assert [tuple(r) for r in rows] == [("amy", {"document": 7}, [], [{"code": "x"}]), ("o'neil", {}, ["名单"], [])]
