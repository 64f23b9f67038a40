"""SPEC §10: an exit is set-based, so the statements it sends do not depend on how many
resources the leaver owns. Counted with a SQLAlchemy event on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import event

from offboard.actions import exits as exit_actions
from offboard.actions.context import Services, tenant_transaction
from tests.support.exits import Company, give_records, ledger, make_company, open_session

SQL_WORDS = ("SELECT", "INSERT", "UPDATE", "DELETE", "WITH")


@contextmanager
def statements(services: Services) -> Iterator[list[str]]:
    """The SQL statements sent while the block runs (not BEGIN, COMMIT or PRAGMA)."""
    sent: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().upper().startswith(SQL_WORDS):
            sent.append(statement)

    event.listen(services.db.engine, "before_cursor_execute", record)
    try:
        yield sent
    finally:
        event.remove(services.db.engine, "before_cursor_execute", record)


def leaver(services: Services, slug: str, per_kind: int, profile: str) -> Company:
    """leo owns per_kind resources of each of the 8 table kinds, two direct reports and a
    department's leadership; he has sessions, devices, grants and attendance to cut."""
    company = make_company(services, slug, profile=profile, per_kind=per_kind)
    give_records(company, "leo")
    open_session(company, "leo")
    return company


def exit_statements(company: Company) -> list[str]:
    """The statements of leo's exit by a stored plan, everything to tina."""
    with tenant_transaction(company.services, company.slug, "hanna") as uow:
        plan = exit_actions.plan(uow, "leo", successor="tina")
    with statements(company.services) as sent, tenant_transaction(company.services, company.slug, "hanna") as uow:
        exit_actions.start_exit(uow, "leo", type="removal", reason_category="resignation", reason="resigned", plan_id=plan.plan_id)
    return sent


@pytest.mark.parametrize("profile", ["dingtalk", "wecom"])
def test_spec_10_an_exit_sends_as_many_statements_for_200_resources_as_for_16(services, profile):
    exit_statements(leaver(services, "warmup", 1, profile))  # every statement built and compiled once
    few = leaver(services, "few", 2, profile)
    many = leaver(services, "many", 25, profile)
    few_sent, many_sent = exit_statements(few), exit_statements(many)
    assert len(ledger(many)) - len(ledger(few)) == 8 * 23  # one ledger row per resource: the work did differ
    assert len(many_sent) == len(few_sent), "\n".join(many_sent)
