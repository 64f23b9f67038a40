"""R-DATA-4: restoring deleted enterprise data goes through an admin's request against the
enterprise backup: a departed member's sealed messages and profile are read from an earlier
copy of the database (a copied SQLite file; on PostgreSQL a database made from the live one),
opened with their data key by the live key vault, and exported as JSON Lines, audited in the
live database with the reason and the backup's identity. An erased member is refused (R-LAW-1
wins), so are a file that is not an offboard database, another schema revision or
installation, a member the backup does not hold and a data key that no longer unwraps; one
corrupted ciphertext is named and the other records are exported. SQLite and PostgreSQL."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import Connection, create_engine, delete, select, text, update

from offboard.actions import backup_export, erasure
from offboard.actions import members as member_actions
from offboard.actions.context import tenant_transaction
from offboard.bootstrap import build
from offboard.domain.errors import Conflict, Forbidden, NotFound, ValidationError
from offboard.store.backups import _engine_url
from offboard.store.tables import audit_events, audit_side, member_data_keys, members, messages
from tests.conftest import create_pg_database, drop_pg_database
from tests.support.db import audit_seq
from tests.support.exits import finalize_member, make_company

REASON = "法务调取 LR-2026-31: 误删的聊天记录"


@pytest.fixture
def take_backup(services, request, tmp_path):
    """A function that copies the live database as it is now and returns the backup's location."""
    made: list[str] = []

    def take() -> str:
        if services.db.dialect == "sqlite":
            services.db.dispose()  # the last connection to close checkpoints the WAL into the file
            target = tmp_path / f"backup-{len(made)}.db"
            shutil.copy(str(services.db.engine.url.database), target)
            made.append(str(target))
            return str(target)
        server = request.getfixturevalue("pg_server_url")
        services.db.dispose()
        url = create_pg_database(server)  # an empty database, replaced by a copy of the live one
        live, name = services.db.engine.url.database, url.rsplit("/", 1)[1]
        admin = create_engine(server, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE "{name}"'))
            conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{live}"'))
        admin.dispose()
        made.append(url)
        return url

    yield take
    for location in made:
        if "://" in location:
            drop_pg_database(request.getfixturevalue("pg_server_url"), location)


@contextmanager
def writing(location: str) -> Iterator[Connection]:
    """A write connection to a backup, to damage it as a test needs."""
    engine = create_engine(location if "://" in location else f"sqlite:///{location}")
    try:
        with engine.begin() as conn:
            yield conn
    finally:
        engine.dispose()


def restore(company, by, userid="leo", **kwargs) -> backup_export.BackupExport:
    with tenant_transaction(company.services, company.slug, by) as uow:
        return backup_export.export_from_backup(uow, userid, **{"reason": REASON, **kwargs})


def _details(company, action: str) -> list[dict]:
    with company.services.db.read() as conn:
        query = (
            select(audit_side.c.details)
            .join(audit_events, (audit_events.c.tenant_id == audit_side.c.tenant_id) & (audit_events.c.seq == audit_side.c.seq))
            .where(audit_events.c.tenant_id == company.tenant_id, audit_events.c.action == action)
            .order_by(audit_events.c.seq)
        )
        return list(conn.execute(query).scalars())


def test_r_data_4_sealed_messages_deleted_in_live_come_back_from_the_backup_audited_in_live(services, clock, take_backup):
    company = make_company(services)
    finalize_member(company, clock)
    location = take_backup()
    backup_seq = audit_seq(services, company.slug)
    with services.db.write() as conn:  # the records are lost in the live database
        conn.execute(delete(messages).where(messages.c.author_id == company["leo"]))
    export = restore(company, "boss", backup=location)
    lines = [line.as_json() for line in export.lines]
    assert lines[0]["record"] == "profile" and (lines[0]["email"], lines[0]["mobile"], lines[0]["name"]) == ("leo@acme.example", "13800000000", "Leo")
    assert [line["body"] for line in lines[1:]] == ["收到"] * 4 and all(line["record"] == f"message:{line['id']}" and line["sent_at"] for line in lines[1:])
    (audited,) = _details(company, "data.backup_export")
    assert audited["reason"] == REASON and audited["messages"] == 4 and audited["unreadable"] == []
    assert audited["backup"]["audit_seq"] == backup_seq and audited["backup"]["location"] == export.backup.location
    assert audited["backup"]["revision"] and len(audited["backup"]["audit_head"]) == 64


def test_r_data_4_the_backup_location_is_recorded_without_its_password():
    url, shown = _engine_url("postgresql+psycopg://ops:s3cret@db.internal:5432/offboard_2026_03")
    assert "s3cret" in url and "s3cret" not in shown and "db.internal" in shown


def test_r_data_4_an_erased_member_is_not_brought_back_from_a_backup(services, clock, take_backup):
    company = make_company(services)
    finalize_member(company, clock)
    location = take_backup()
    with tenant_transaction(services, company.slug, "boss") as uow:  # dingtalk: selective clearing
        erasure.request_erasure(uow, "leo", reason="本人申请删除", modules=["chat", "profile"], verified="本人来函")
    before = audit_seq(services, company.slug)
    with pytest.raises(Conflict) as exc:  # the live userid is pseudonymized now: found by the backup's
        restore(company, "boss", backup=location)
    assert exc.value.code == "member_erased" and "R-LAW-1" in exc.value.render("en") and "leo" in exc.value.render("en")  # named as asked, not by the pseudonym
    assert "{" not in exc.value.render("zh-CN")
    assert audit_seq(services, company.slug) == before


def test_r_data_4_a_file_that_is_not_a_backup_of_this_database_is_refused(services, clock, take_backup, tmp_path, sqlite_template):
    company = make_company(services)
    finalize_member(company, clock)
    location = take_backup()
    before = audit_seq(services, company.slug)
    notes = tmp_path / "notes.txt"
    notes.write_text("not a database", encoding="utf-8")
    for where, code in [(str(notes), "backup_not_offboard"), (str(tmp_path / "missing.db"), "backup_unreadable"), (sqlite_template, "backup_other_enterprise")]:
        with pytest.raises(ValidationError) as exc:
            restore(company, "boss", backup=where)
        assert exc.value.code == code and where.split("/")[-1] in exc.value.render("en")
    with writing(location) as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '0015'"))
    with pytest.raises(ValidationError) as exc:
        restore(company, "boss", backup=location)
    assert exc.value.code == "backup_schema_version" and "0015" in exc.value.render("en")
    assert audit_seq(services, company.slug) == before


def test_r_data_4_a_backup_of_another_installation_with_the_same_enterprise_is_refused(services, clock, tmp_path, sqlite_template):
    if services.db.dialect != "sqlite":
        pytest.skip("a second installation is a second SQLite file")
    company = make_company(services)
    finalize_member(company, clock)
    other_path = tmp_path / "other.db"
    shutil.copy(sqlite_template, other_path)
    other = build(str(other_path), clock=clock)
    make_company(other)  # the same slug and ids, another audit trail
    other.db.dispose()
    with pytest.raises(ValidationError) as exc:
        restore(company, "boss", backup=str(other_path))
    assert exc.value.code == "backup_chain_mismatch"


def test_r_data_4_a_member_who_joined_after_the_backup_is_not_in_it(services, clock, take_backup):
    company = make_company(services)
    location = take_backup()
    with tenant_transaction(services, company.slug) as uow:
        member_actions.add_member(uow, userid="nina", name="Nina", department_ids=[company.departments["East"]])
    company.ids["nina"] = _member_id(company, "nina")
    finalize_member(company, clock, "nina")
    with pytest.raises(NotFound) as exc:
        restore(company, "boss", "nina", backup=location)
    assert exc.value.code == "member_not_in_backup"


def _member_id(company, userid: str) -> int:
    with company.services.db.read() as conn:
        return conn.execute(select(members.c.id).where(members.c.userid == userid)).scalar_one()


def test_r_data_4_one_corrupted_ciphertext_is_named_and_the_others_export(services, clock, take_backup):
    company = make_company(services)
    finalize_member(company, clock)
    location = take_backup()
    with writing(location) as conn:
        first = conn.execute(select(messages.c.id, messages.c.sealed_body).where(messages.c.author_id == company["leo"]).order_by(messages.c.id)).first()
        conn.execute(update(messages).where(messages.c.id == first.id).values(sealed_body=first.sealed_body[:-1] + bytes([first.sealed_body[-1] ^ 1])))
    export = restore(company, "boss", backup=location)
    assert export.unreadable == [f"message:{first.id}"]
    broken = next(line.as_json() for line in export.lines if line.record == f"message:{first.id}")
    assert "body" not in broken and f"message:{first.id}" in broken["error"]
    assert [line.data["body"] for line in export.lines if line.record.startswith("message:") and line.data] == ["收到"] * 3
    assert _details(company, "data.backup_export")[0]["unreadable"] == [f"message:{first.id}"]


def test_r_data_4_a_data_key_the_key_file_no_longer_unwraps_is_refused(services, clock, take_backup):
    company = make_company(services)
    finalize_member(company, clock)
    location = take_backup()
    retired = "cn.v9.0badc0de"
    with writing(location) as conn:
        conn.execute(update(member_data_keys).where(member_data_keys.c.member_id == company["leo"]).values(kek_id=retired))
    assert len(restore(company, "boss", backup=location).lines) == 5  # the live wrap of the same key still opens
    with services.db.write() as conn:
        conn.execute(update(member_data_keys).where(member_data_keys.c.member_id == company["leo"]).values(kek_id=retired))
    with pytest.raises(Conflict) as exc:
        restore(company, "boss", backup=location)
    assert exc.value.code == "backup_key_unavailable" and retired in exc.value.render("en")


def test_r_data_4_only_who_may_read_departed_chats_asks_and_a_reason_is_required(services, clock, take_backup):
    company = make_company(services)
    finalize_member(company, clock)
    location = take_backup()
    before = audit_seq(services, company.slug)
    for who in ("hanna", None):  # HR; the operator (SPEC §3.2: chats are read by a person)
        with pytest.raises(Forbidden):
            restore(company, who, backup=location)
    with pytest.raises(ValidationError):
        restore(company, "boss", backup=location, reason="  ")
    with pytest.raises(Conflict) as present:
        restore(company, "boss", "sam", backup=location)
    assert present.value.code == "member_not_departed"
    assert audit_seq(services, company.slug) == before


def test_r_data_4_the_cli_writes_json_lines(services, clock, capsys, tmp_path, take_backup):
    from offboard.cli.main import main

    if services.db.dialect != "sqlite":
        pytest.skip("the CLI is exercised on the SQLite file once")
    company = make_company(services)
    finalize_member(company, clock)
    location = take_backup()
    db = str(services.db.engine.url.database)

    def run(*args: str) -> tuple[int, str]:
        with pytest.raises(SystemExit) as done:
            main(["--db", db, "--tenant", company.slug, *args])
        out, err = capsys.readouterr()
        return done.value.code or 0, out + err

    target = tmp_path / "leo.jsonl"
    code, out = run("data", "restore-export", "leo", "--backup", location, "--reason", "LR-7", "--by", "boss", "-o", str(target))
    assert code == 0 and "5 record(s) of Leo from the backup" in out, out
    lines = [json.loads(line) for line in target.read_text(encoding="utf-8").splitlines()]
    assert lines[0]["email"] == "leo@acme.example" and [line["body"] for line in lines[1:]] == ["收到"] * 4
    code, out = run("data", "restore-export", "leo", "--backup", str(tmp_path / "nope.db"), "--reason", "LR-7", "--by", "boss")
    assert code == 2 and "backup_unreadable" in out
