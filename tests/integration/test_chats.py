"""R-DATA-1: a departed member's chats are read and exported by a super admin (or an
admin with audit_read) with a stated reason, each read and export an audit event; sealed
messages open with the member's data key, one that does not is named and the others read; HR,
the member themself and chats of a present member are refused. SQLite and PostgreSQL."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select, update

from offboard.actions import chats
from offboard.actions.context import tenant_transaction
from offboard.domain.errors import Conflict, Forbidden, ValidationError
from offboard.store.tables import audit_events, audit_side, messages
from tests.support.exits import finalize_member, make_company


def act(company, by, fn, *args, **kwargs):
    with tenant_transaction(company.services, company.slug, by) as uow:
        return fn(uow, *args, **kwargs)


def _audited(company, action: str) -> list[dict]:
    with company.services.db.read() as conn:
        query = (
            select(audit_side.c.details)
            .join(audit_events, (audit_events.c.tenant_id == audit_side.c.tenant_id) & (audit_events.c.seq == audit_side.c.seq))
            .where(audit_events.c.tenant_id == company.tenant_id, audit_events.c.action == action)
        )
        return list(conn.execute(query).scalars())


def test_r_data_1_a_super_admin_reads_a_departed_members_sealed_chats_with_a_reason_audited(services, clock):
    company = make_company(services)
    finalize_member(company, clock)
    page = act(company, "boss", chats.read_chats, "leo", reason="法务调取 LR-2026-118", limit=3)
    assert (page.total, [m.body for m in page.lines], page.name) == (4, ["收到"] * 3, "Leo")
    rest = act(company, "boss", chats.read_chats, "leo", reason="法务调取 LR-2026-118", after=page.next_after)
    assert len(rest.lines) == 1 and rest.next_after is None
    assert [d["reason"] for d in _audited(company, "chats.read")] == ["法务调取 LR-2026-118"] * 2
    exported = act(company, "boss", chats.export_chats, "leo", reason="法务调取 LR-2026-118")
    assert len(exported.lines) == 4 and _audited(company, "chats.exported")[0]["messages"] == 4


def test_r_data_1_a_sealed_message_that_does_not_open_is_named_and_the_others_are_read(services, clock):
    company = make_company(services)
    finalize_member(company, clock)
    with services.db.write() as conn:
        first = conn.execute(select(messages.c.id, messages.c.sealed_body).where(messages.c.author_id == company["leo"]).order_by(messages.c.id)).first()
        conn.execute(update(messages).where(messages.c.id == first.id).values(sealed_body=first.sealed_body[:-1] + bytes([first.sealed_body[-1] ^ 1])))
    page = act(company, "boss", chats.read_chats, "leo", reason="audit")
    broken = [m for m in page.lines if m.body is None]
    assert [m.id for m in broken] == [first.id] and f"message:{first.id}" in broken[0].problem
    assert [m.body for m in page.lines if m.body is not None] == ["收到"] * 3


def test_r_data_1_hr_the_member_and_a_present_members_chats_are_refused_and_a_reason_is_required(services, clock):
    company = make_company(services)
    finalize_member(company, clock)
    with pytest.raises(Forbidden):
        act(company, "hanna", chats.read_chats, "leo", reason="curious")
    with pytest.raises(ValidationError):
        act(company, "boss", chats.read_chats, "leo", reason="  ")
    with pytest.raises(Conflict) as present:
        act(company, "boss", chats.read_chats, "sam", reason="audit")
    assert present.value.code == "member_not_departed"
    assert _audited(company, "chats.read") == []


def test_r_data_1_the_cli_reads_and_exports_as_json_lines(services, clock, capsys, tmp_path):
    from offboard.cli.main import main

    if services.db.engine.dialect.name != "sqlite":
        pytest.skip("the CLI is exercised on the SQLite file once")
    company = make_company(services)
    finalize_member(company, clock)
    db = str(services.db.engine.url.database)

    def run(*args: str) -> str:
        with pytest.raises(SystemExit) as done:
            main(["--db", db, "--tenant", company.slug, *args])
        out, err = capsys.readouterr()
        assert (done.value.code or 0) == 0, out + err
        return out

    assert "4 of 4 message(s); this read is in the audit trail." in run("chats", "read", "leo", "--reason", "legal hold LR-1", "--by", "boss")
    target = tmp_path / "leo.jsonl"
    run("chats", "export", "leo", "--reason", "legal hold LR-1", "--by", "boss", "-o", str(target))
    lines = [json.loads(line) for line in target.read_text(encoding="utf-8").splitlines()]
    assert [line["body"] for line in lines] == ["收到"] * 4 and {"id", "conversation", "sent_at"} <= set(lines[0])
