"""R-LAW-3, checklist item 11: finalization seals the departed member's chat messages and contact
fields under a per-member data key, wrapped by the key vault under their region's key, in the
same transaction; each sealed record opens with that key alone and only as itself (the
associated data binds tenant, member and record); a changed or moved one is a clear error naming
it, the others still open. SQLite and PostgreSQL."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select, update

from offboard.actions.context import tenant_transaction
from offboard.crypto.sealing import SealBroken, Sealer, data_key_binding
from offboard.crypto.vault import LocalKeyVault
from offboard.interfaces import KeyVaultError, WrappedKey
from offboard.store.tables import audit_events, audit_side, member_data_keys, members, messages
from tests.support.exits import finalize_member, give_records, make_company


def act(company, by, fn, *args, **kwargs):
    with tenant_transaction(company.services, company.slug, by) as uow:
        return fn(uow, *args, **kwargs)


def _sealer(company, userid: str, vault=None) -> Sealer:
    with company.services.db.read() as conn:
        row = conn.execute(select(member_data_keys).where(member_data_keys.c.member_id == company[userid])).one()
    key = (vault or company.services.vault).unwrap(WrappedKey(row.region, row.kek_id, row.wrapped), data_key_binding(company.tenant_id, company[userid]))
    return Sealer(key, company.tenant_id, company[userid])


def test_r_law_3_finalization_seals_chats_and_contact_fields_under_the_members_data_key(services, clock):
    company = make_company(services)
    give_records(company, "sam", messages_n=2)
    finalize_member(company, clock)
    with services.db.read() as conn:
        rows = conn.execute(select(messages.c.id, messages.c.body, messages.c.sealed_body, messages.c.sealed_at).where(messages.c.author_id == company["leo"]).order_by(messages.c.id)).all()
        person = conn.execute(select(members.c.email, members.c.mobile, members.c.title, members.c.name, members.c.sealed_profile).where(members.c.id == company["leo"])).one()
        details = conn.execute(
            select(audit_side.c.details)
            .join(audit_events, (audit_events.c.tenant_id == audit_side.c.tenant_id) & (audit_events.c.seq == audit_side.c.seq))
            .where(audit_events.c.action == "exit.finalized")
        ).scalar_one()
    assert len(rows) == 4 and all(r.body is None and r.sealed_body and r.sealed_at is not None for r in rows)
    assert (person.email, person.mobile, person.title, person.name) == (None, None, None, "Leo")  # the name stays until erasure
    sealer = _sealer(company, "leo")
    assert {sealer.open(f"message:{r.id}", r.sealed_body).decode() for r in rows} == {"收到"}
    assert json.loads(sealer.open("profile", person.sealed_profile)) == {"email": "leo@acme.example", "mobile": "13800000000", "title": "Engineer"}
    assert details["messages_sealed"] == 4 and details["messages_retained"] == 4
    with services.db.read() as conn:
        others = conn.execute(select(messages.c.body, messages.c.sealed_at).where(messages.c.author_id == company["sam"])).all()
    assert [tuple(r) for r in others] == [("收到", None), ("收到", None)]  # the successor's messages are not touched


def test_r_law_3_a_changed_or_moved_sealed_record_is_named_and_the_others_still_open(services, clock):
    company = make_company(services)
    finalize_member(company, clock)
    with services.db.write() as conn:
        first, second, *rest = conn.execute(select(messages.c.id, messages.c.sealed_body).where(messages.c.author_id == company["leo"]).order_by(messages.c.id)).all()
        flipped = bytearray(first.sealed_body)
        flipped[-1] ^= 1
        conn.execute(update(messages).where(messages.c.id == first.id).values(sealed_body=bytes(flipped)))
    sealer = _sealer(company, "leo")
    with pytest.raises(SealBroken) as changed:
        sealer.open(f"message:{first.id}", bytes(flipped))
    assert changed.value.code == "sealed_record_corrupt" and f"message:{first.id}" in changed.value.render("en")
    with pytest.raises(SealBroken):
        sealer.open(f"message:{first.id}", second.sealed_body)  # moved from another record
    assert all(sealer.open(f"message:{r.id}", r.sealed_body) == "收到".encode() for r in [second, *rest])
    with pytest.raises(SealBroken):  # another member's key does not open it
        Sealer(bytes(32), company.tenant_id, company["leo"]).open(f"message:{second.id}", second.sealed_body)


def test_r_law_3_the_data_key_does_not_unwrap_with_another_key_file(services, clock, tmp_path):
    company = make_company(services)
    finalize_member(company, clock)
    stranger = LocalKeyVault(tmp_path / "other.keys")
    stranger.wrap("cn", bytes(32), b"x")  # a key file of its own, with another key
    with pytest.raises(KeyVaultError) as refused:
        _sealer(company, "leo", vault=stranger)
    assert refused.value.code == "key_unknown"


def test_r_law_3_once_data_is_sealed_a_missing_or_other_key_file_is_a_refusal_to_start(services, clock, tmp_path, monkeypatch):
    from offboard.bootstrap import build

    company = make_company(services)
    finalize_member(company, clock)
    url = services.db.engine.url.render_as_string(hide_password=False)
    monkeypatch.setenv("OFFBOARD_KEY_FILE", str(tmp_path / "missing.keys"))
    with pytest.raises(KeyVaultError) as missing:
        build(url)
    assert missing.value.code == "key_file_missing" and "restore it from its backup" in missing.value.render("en")
    assert not (tmp_path / "missing.keys").exists()  # no new key made behind the operator's back
    LocalKeyVault(tmp_path / "other.keys").wrap("cn", bytes(32), b"x")
    monkeypatch.setenv("OFFBOARD_KEY_FILE", str(tmp_path / "other.keys"))
    with pytest.raises(KeyVaultError) as other:
        build(url)
    assert other.value.code == "key_unknown"


def test_r_law_3_keys_rotate_rewraps_every_data_key_and_the_data_still_opens(services, clock):
    from offboard.actions import audit_checkpoints
    from offboard.actions.keys import rotate
    from offboard.bootstrap import build

    company = make_company(services)
    finalize_member(company, clock)
    with tenant_transaction(services, company.slug) as uow:
        audit_checkpoints.checkpoint(uow, services.vault, "requested")
    with services.db.read() as conn:
        before = conn.execute(select(member_data_keys.c.kek_id, member_data_keys.c.wrapped)).one()
        sealed = conn.execute(select(messages.c.id, messages.c.sealed_body).where(messages.c.author_id == company["leo"])).all()
    done = rotate(services)
    assert [(r.tenant, r.data_keys, r.audit_keys, r.webhook_secrets) for r in done] == [(company.slug, 1, 1, 0)]
    with services.db.read() as conn:
        after = conn.execute(select(member_data_keys.c.kek_id, member_data_keys.c.wrapped)).one()
        unchanged = conn.execute(select(messages.c.id, messages.c.sealed_body).where(messages.c.author_id == company["leo"])).all()
    assert after.kek_id != before.kek_id and after.wrapped != before.wrapped and unchanged == sealed  # the data is not touched
    assert all(_sealer(company, "leo").open(f"message:{i}", body) == "收到".encode() for i, body in unchanged)
    with tenant_transaction(services, company.slug) as uow:  # the re-wrapped audit key still signs (the rotation's own event)
        signed = audit_checkpoints.checkpoint(uow, services.vault, "requested")
    assert signed.size > 0 and signed.key_id
    build(services.db.engine.url.render_as_string(hide_password=False)).db.dispose()  # and the services still start
