"""SPEC §8: the compliance report of a member's exit says what of their data is kept, sealed,
erased or exported, under which rule and until when, who read it, and proves every audit event
about them in a signed checkpoint; the JSON report is checked here with the verifier key alone,
as an auditor outside would. SQLite and PostgreSQL."""

from __future__ import annotations

import base64
import hashlib
import io
import json

import pypdf
import pytest
from sqlalchemy import select

from offboard.actions import chats, compliance, erasure, holds
from offboard.actions.context import tenant_transaction
from offboard.audit import merkle, note
from offboard.audit.note import Checkpoint, NoteError, Verifier
from offboard.domain.errors import Forbidden, ValidationError
from offboard.exports import report as render
from offboard.store.tables import audit_checkpoints
from tests.support.db import actions_since, audit_seq
from tests.support.exits import finalize_member, make_company


def act(company, by, fn, *args, **kwargs):
    with tenant_transaction(company.services, company.slug, by) as uow:
        return fn(uow, *args, **kwargs)


def check_offline(document: dict) -> list[int]:
    """What an auditor does with the JSON report and nothing else: the checkpoint's signature by
    the verifier key, then each event's leaf hash from its core and its proof to the signed root.
    Returns the proven sequence numbers; raises on anything that does not hold."""
    body, _names = note.open_note(document["checkpoint"], [Verifier.parse(document["verifier_key"])])
    signed = Checkpoint.parse(body)
    assert signed.size == document["signed_size"]
    proven = []
    for event in document["events"]:
        leaf = hashlib.sha256(b"\x00" + event["core"].encode()).digest()
        assert base64.b64decode(event["leaf_hash"]) == leaf, f"event {event['seq']}: its leaf hash is not its core's"
        assert json.loads(event["core"])["seq"] == event["seq"]
        proof = [base64.b64decode(p) for p in event["proof"]]
        assert merkle.verify_inclusion(event["seq"] - 1, signed.size, leaf, proof, signed.root), f"event {event['seq']} is not proven"
        proven.append(event["seq"])
    return proven


def test_spec_8_the_report_of_a_finalized_exit_proves_every_event_with_the_verifier_key_alone(services, clock):
    company = make_company(services)
    eid = finalize_member(company, clock)
    act(company, "boss", chats.read_chats, "leo", reason="劳动仲裁 2026-12 调取")
    found = act(company, "boss", compliance.compliance_report, "leo", fmt="json", locale="zh-CN")
    document = json.loads(render.report_json(found))
    assert document["format"] == "offboard-compliance-report/1" and document["data"]["name"] == "Leo"
    assert [e["id"] for e in document["exits"]] == [eid] and document["exits"][0]["state"] == "finalized"
    actions = {e["action"] for e in document["events"]}
    assert {"exit.started", "member.access_cut", "exit.took_effect", "exit.resources_moved", "exit.signed_off", "exit.finalized", "chats.read"} <= actions
    assert document["unproven"] == 0 and all(e["proven"] for e in document["events"])
    assert check_offline(document) == [e["seq"] for e in document["events"]]
    rules = {e["action"]: e["rule"] for e in document["events"]}
    assert (rules["exit.finalized"], rules["chats.read"], rules["exit.started"]) == ("R-LAW-3", "R-DATA-1", "R-EXIT-1")
    read = next(e for e in found.accesses if e.action == "chats.read")
    assert read.reason == "劳动仲裁 2026-12 调取" and "Leo" in read.sentence
    assert document["kept_rules"]["chat"] == "R-LAW-2" and document["kept_rules"]["approvals"] == "R-DATA-3"
    assert document["data"]["data_key"] == "present" and document["data"]["sealed_messages"] == 4


def test_spec_8_a_changed_core_or_a_forged_checkpoint_fails_the_offline_check(services, clock):
    company = make_company(services)
    finalize_member(company, clock)
    document = json.loads(render.report_json(act(company, "boss", compliance.compliance_report, "leo", fmt="json", locale="en")))
    changed = json.loads(json.dumps(document))
    event = changed["events"][-1]
    event["core"] = event["core"].replace('"exit.', '"exot.', 1)
    with pytest.raises(AssertionError, match="leaf hash"):
        check_offline(changed)
    event["leaf_hash"] = base64.b64encode(hashlib.sha256(b"\x00" + event["core"].encode()).digest()).decode()
    with pytest.raises(AssertionError, match="not proven"):
        check_offline(changed)
    forged = json.loads(json.dumps(document))
    lines = forged["checkpoint"].split("\n")
    lines[1] = str(int(lines[1]) + 1)  # the tree size, under the old signature
    forged["checkpoint"] = "\n".join(lines)
    with pytest.raises(NoteError):
        check_offline(forged)


def test_spec_8_the_report_signs_a_checkpoint_first_and_is_itself_in_the_trail(services, clock):
    company = make_company(services)
    finalize_member(company, clock)
    before = audit_seq(services, company.slug)
    found = act(company, "boss", compliance.compliance_report, "leo", fmt="pdf", locale="en")
    assert found.signed_size == before  # every event committed before it is in the checkpoint it proves against
    assert actions_since(services, company.slug, before) == ["report.exported"]
    with services.db.read() as conn:
        reasons = list(conn.execute(select(audit_checkpoints.c.reason).where(audit_checkpoints.c.tenant_id == company.tenant_id)).scalars())
    assert reasons[-1] == "report"
    later = act(company, "boss", compliance.compliance_report, "leo", fmt="json", locale="en")
    assert [e.action for e in later.accesses] == ["report.exported"]  # the first report is an access the second one lists


def test_spec_8_who_may_take_the_report(services, clock):
    company = make_company(services)
    finalize_member(company, clock)
    before = audit_seq(services, company.slug)
    for userid in ("hanna", "sam", "leo"):  # HR answers data requests but does not read the audit trail; a colleague; the leaver
        with pytest.raises(Forbidden):
            act(company, userid, compliance.compliance_report, "leo", fmt="json", locale="en")
    with pytest.raises(ValidationError) as exc:
        act(company, "boss", compliance.compliance_report, "leo", fmt="docx", locale="en")
    assert exc.value.code == "unknown_report_format"
    assert audit_seq(services, company.slug) == before  # a refused report is not taken


def test_r_law_1_the_report_of_an_erased_member_shows_holds_and_erasures_under_their_pseudonym(services, clock):
    company = make_company(services)
    finalize_member(company, clock)
    act(company, "boss", holds.place_hold, "leo", reason="诉讼保全 (2026)京01民初123号", kinds=["attendance"])
    act(company, "hanna", erasure.request_erasure, "leo", reason="本人申请删除", modules=["chat", "attendance", "profile"], verified="书面申请,已核对身份证")
    found = act(company, "boss", compliance.compliance_report, company["leo"], fmt="json", locale="en")  # the userid is pseudonymized too
    assert found.data.name.startswith("former member #") and "Leo" not in render.report_json(found).decode()
    assert [h.reason for h in found.data.holds] == ["诉讼保全 (2026)京01民初123号"]
    (request,) = found.data.requests
    assert {s.step: s.state for s in request.steps}["attendance"] == "pending"  # held: deferred, not refused (R-LAW-2)
    assert found.names[request.requested_by] == "Hanna"
    assert {"hold.placed", "erasure.requested", "erasure.done"} <= {e.action for e in found.events} and found.unproven == 0
    assert found.kept_rules["attendance"] == "R-LAW-2"  # kept by the hold


def test_spec_8_the_pdf_and_the_page_read_in_chinese(services, clock):
    company = make_company(services)
    finalize_member(company, clock)
    exported = act(company, "boss", compliance.export_report, "leo", "pdf", "zh-CN").file
    assert exported.content.startswith(b"%PDF-") and exported.filename == "合规报告-Leo.pdf" and exported.rows > 10
    text = "".join(page.extract_text() for page in pypdf.PdfReader(io.BytesIO(exported.content)).pages)
    assert "合规报告" in text and "已证明" in text and "R-LAW-3" in text and "聊天记录" in text  # the Chinese font is embedded
    found = act(company, "boss", compliance.compliance_report, "leo", fmt="page", locale="zh-CN")
    with tenant_transaction(services, company.slug, "boss") as uow:
        policy = uow.policy
    page = render.report_html(found, policy, "zh-CN")
    assert "合规报告" in page and "✓ 已证明" in page and "聊天记录" in page and "exit.finalized" not in page
    with pytest.raises(ValidationError):
        act(company, "boss", compliance.export_report, "leo", "page", "zh-CN")
