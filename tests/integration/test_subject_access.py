"""R-LAW-1 subject access and R-LAW-4 cross-border exports: a member (or someone answering their
verified request) gets a machine-readable copy of the personal data held about them, sealed
fields opened, chat content left out (R-DATA-1); a member of another region is keyed by that
region's key; an export to another region than the data's needs a recorded legal basis or is
refused, and either way it is audited. SQLite and PostgreSQL."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select, update

from offboard.actions import chats, subject_access
from offboard.actions.context import tenant_transaction
from offboard.domain.errors import Forbidden, ValidationError
from offboard.store.tables import audit_events, audit_side, member_data_keys, members
from tests.support.db import audit_seq
from tests.support.exits import finalize_member, make_company


def act(company, by, fn, *args, **kwargs):
    with tenant_transaction(company.services, company.slug, by) as uow:
        return fn(uow, *args, **kwargs)


def _last_details(company, action: str) -> dict:
    with company.services.db.read() as conn:
        return conn.execute(
            select(audit_side.c.details)
            .join(audit_events, (audit_events.c.tenant_id == audit_side.c.tenant_id) & (audit_events.c.seq == audit_side.c.seq))
            .where(audit_events.c.tenant_id == company.tenant_id, audit_events.c.action == action)
            .order_by(audit_events.c.seq.desc())
            .limit(1)
        ).scalar_one()


def test_r_law_1_a_departed_member_gets_their_personal_data_sealed_fields_opened_and_chat_content_left_out(services, clock):
    company = make_company(services)
    finalize_member(company, clock)
    document = act(company, "hanna", subject_access.export_personal_data, "leo", verified="本人来函,已核对身份证")
    assert document["format"] == "offboard-subject-access/1"
    assert document["member"]["name"] == "Leo" and document["member"]["email"] == "leo@acme.example" and document["member"]["mobile"] == "13800000000"
    assert document["member"]["status"] == "finalized" and document["exits"][0]["state"] == "finalized"
    assert len(document["attendance"]) == 1 and {r["title"] for r in document["reimbursements"]} == {"Taxi", "Hotel"}
    assert document["chats"]["messages"] == 4 and document["chats"]["kept_until"]
    assert "收到" not in json.dumps(document, ensure_ascii=False)  # the enterprise's chat records stay with it
    assert _last_details(company, "data.subject_access") == {"own": False, "verified": "本人来函,已核对身份证", "transfer": None}


def test_r_law_1_a_member_copies_their_own_data_and_someone_else_must_say_how_they_verified_it(services, clock):
    company = make_company(services)
    own = act(company, "rita", subject_access.export_personal_data, "rita")
    assert own["member"]["userid"] == "rita" and own["chats"]["kept_until"] is None
    before = audit_seq(services, company.slug)
    with pytest.raises(ValidationError) as exc:
        act(company, "hanna", subject_access.export_personal_data, "rita")
    assert exc.value.code == "verification_required"
    with pytest.raises(Forbidden):
        act(company, "sam", subject_access.export_personal_data, "rita", verified="asked me")
    assert audit_seq(services, company.slug) == before


def test_r_law_4_an_export_to_another_region_needs_a_recorded_legal_basis(services, clock):
    company = make_company(services)
    finalize_member(company, clock)
    before = audit_seq(services, company.slug)
    with pytest.raises(Forbidden) as exc:
        act(company, "hanna", subject_access.export_personal_data, "leo", verified="书面申请", destination="eu")
    assert exc.value.code == "cross_border_basis_required"
    assert "mainland China" in exc.value.render("en") and "the EU" in exc.value.render("en")
    assert "欧盟" in exc.value.render("zh-CN") and "{" not in exc.value.render("zh-CN")
    for basis, reference, code in [("treaty", "x", "unknown_legal_basis"), ("standard_contract", None, "legal_basis_reference_required")]:
        with pytest.raises(ValidationError) as bad:
            act(company, "hanna", subject_access.export_personal_data, "leo", verified="书面申请", destination="eu", legal_basis=basis, basis_reference=reference)
        assert bad.value.code == code
    with pytest.raises(ValidationError) as region:
        act(company, "hanna", subject_access.export_personal_data, "leo", verified="书面申请", destination="mars")
    assert region.value.code == "invalid_region"
    assert audit_seq(services, company.slug) == before  # refused exports change nothing
    act(company, "hanna", subject_access.export_personal_data, "leo", verified="书面申请", destination="eu", legal_basis="standard_contract", basis_reference="SCC-2026-014")
    assert _last_details(company, "data.subject_access")["transfer"] == {"from": "cn", "to": "eu", "basis": "standard_contract", "reference": "SCC-2026-014"}
    act(company, "hanna", subject_access.export_personal_data, "leo", verified="书面申请", destination="cn")  # its own region: no basis needed
    assert _last_details(company, "data.subject_access")["transfer"] is None


def test_r_law_4_a_departed_members_chats_go_to_another_region_only_with_a_legal_basis(services, clock):
    company = make_company(services)
    finalize_member(company, clock)
    with pytest.raises(Forbidden) as exc:
        act(company, "boss", chats.export_chats, "leo", reason="集团审计", destination="sg")
    assert exc.value.code == "cross_border_basis_required"
    page = act(company, "boss", chats.export_chats, "leo", reason="集团审计", destination="sg", legal_basis="security_assessment", basis_reference="CAC-2026-77")
    assert page.total == 4
    assert _last_details(company, "chats.exported")["transfer"]["to"] == "sg"


def test_r_law_4_r_exc_3_a_member_of_another_region_is_keyed_by_that_regions_key(services, clock):
    """R-EXC-3: data under another jurisdiction is kept apart by region within the tenant."""
    company = make_company(services)
    with services.db.write() as conn:
        conn.execute(update(members).where(members.c.id == company["leo"]).values(region="eu"))
    finalize_member(company, clock)
    finalize_member(company, clock, "tina")
    with services.db.read() as conn:
        keys = {r.member_id: r for r in conn.execute(select(member_data_keys))}
    leo, tina = keys[company["leo"]], keys[company["tina"]]
    assert (leo.region, tina.region) == ("eu", "cn") and leo.kek_id != tina.kek_id
    assert act(company, "boss", chats.read_chats, "leo", reason="审计").lines[0].body == "收到"  # opens with the eu key
    with pytest.raises(Forbidden) as exc:  # leo's data is in the EU: a copy to the enterprise's region crosses a border
        act(company, "hanna", subject_access.export_personal_data, "leo", verified="书面申请", destination="cn")
    assert exc.value.code == "cross_border_basis_required"
