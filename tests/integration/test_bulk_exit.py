"""Bulk exits (R-EXIT-7): a file planned together, run a batch at a time, each line's outcome
on its own; the same moves, ledger, audit and invariants as single exits."""

from __future__ import annotations

from collections import Counter

from sqlalchemy import func, select

from offboard.actions import bulk_exits
from offboard.actions.context import tenant_read, tenant_transaction
from offboard.domain import bulk_file
from offboard.domain.vocabulary import JobState, ResourceKind, RowStatus
from offboard.jobs.bulk import run_jobs
from offboard.queries.audit import verify_chain
from offboard.store import steps
from offboard.store.bulk_moves import digests
from offboard.store.tables import audit_events, audit_side, bulk_exit_rows, exit_steps, jobs, members, tenants, transfer_ledger
from tests.support.exits import TABLE_KINDS, give, make_company, owned_by, start
from tests.support.invariants import all_problems, inv_2

K = ResourceKind


def _file(text: str, name: str = "departures.csv", tz: str = "Asia/Shanghai") -> bulk_file.Departures:
    return bulk_file.read(text.encode(), name, tz)


def _run(company, text: str, *, by: str = "hanna", batch_size: int = 500) -> int:
    with tenant_transaction(company.services, company.slug, by) as uow:
        job_id = bulk_exits.create(uow, _file(text), "departures.csv", bulk_exits.Defaults(reason_category="resignation", reason="layoff"), batch_size=batch_size)
    with tenant_transaction(company.services, company.slug, by) as uow:
        bulk_exits.confirm(uow, job_id)
    run_jobs(company.services)
    return job_id


def _rows(company, job_id: int) -> dict[str, object]:
    with company.services.db.read() as conn:
        return {r.userid: r for r in conn.execute(select(bulk_exit_rows).where(bulk_exit_rows.c.job_id == job_id).order_by(bulk_exit_rows.c.row_no))}


def _status(company, userid: str) -> str:
    with company.services.db.read() as conn:
        return conn.execute(select(members.c.status).where(members.c.id == company[userid])).scalar_one()


def test_r_exit_7_a_file_of_departures_exits_every_line_and_moves_like_single_exits(services):
    company = make_company(services, per_kind=3)
    give(company, "sam", 2, kinds=TABLE_KINDS)
    job_id = _run(company, "userid,successor\nleo,tina\nsam,\nrita,lone\n", batch_size=2)
    rows = _rows(company, job_id)
    assert {u: r.status for u, r in rows.items()} == {"leo": RowStatus.EXITED, "sam": RowStatus.EXITED, "rita": RowStatus.EXITED}
    assert all(_status(company, u) == "exited" for u in ("leo", "sam", "rita"))
    assert owned_by(company, "leo") == owned_by(company, "sam") == owned_by(company, "rita") == {}
    with services.db.read() as conn:
        tid = company.tenant_id
        ledger = conn.execute(select(transfer_ledger.c.from_member_id, transfer_ledger.c.kind, transfer_ledger.c.to_member_id, transfer_ledger.c.state)).all()
        # leo's go to the successor the file names; his reports sam and rita leave in the batch
        # before his (a manager's batch runs after theirs), so no direct report is left to move;
        by_leo = {(k, to, st) for f, k, to, st in ledger if f == company["leo"]}
        assert by_leo == {(k.value, company["tina"], "done") for k in (*TABLE_KINDS, K.DEPARTMENT_LEADER)}
        # sam's manager leo leaves in the same file, so the kind's fallback decides (R-ORG-4).
        by_sam = {k: (to, st) for f, k, to, st in ledger if f == company["sam"]}
        assert by_sam == {
            "external_contact": (None, "unassigned"),
            "customer_group": (None, "unassigned"),
            "internal_group": (None, "unassigned"),
            "document": (None, "kept"),
            "calendar": (None, "deleted"),
            "approval_template": (None, "unassigned"),
            "approval_task": (None, "unassigned"),
            "self_built_app": (None, "kept"),
        }
        assert all_problems(conn, tid) == {}
        job = conn.execute(select(jobs).where(jobs.c.id == job_id)).one()
        assert job.state == JobState.DONE and job.counts == {"exited": 3}
        moved = conn.execute(select(func.count()).select_from(transfer_ledger)).scalar_one()
        assert moved > 0
        # One ledger row per moved resource, and each step's digest is the one a single exit computes.
        for step_id, kinds in digests(conn, tid, list(conn.execute(select(exit_steps.c.id)).scalars())).items():
            for kind, (_, digest) in kinds.items():
                assert digest == steps.ledger_digest(conn, tid, step_id, K(kind))
        events = Counter(conn.execute(select(audit_events.c.action)).scalars())
        assert events["exit.took_effect"] == 3 and events["member.access_cut"] == 3
        assert events["bulk_exit.planned"] == events["bulk_exit.confirmed"] == events["bulk_exit.finished"] == 1
    with tenant_read(services, company.slug, "boss") as (conn, tenant, actor):
        assert verify_chain(conn, tenant, actor).ok


def test_r_org_4_an_acceptor_who_leaves_in_the_same_file_is_passed_over_for_the_next_rule(services):
    company = make_company(services, per_kind=1)
    job_id = _run(company, "userid,successor\nleo,tina\ntina,\n")
    rows = _rows(company, job_id)
    assert rows["leo"].status == RowStatus.EXITED
    assert [w["code"] for w in rows["leo"].warnings] == ["acceptor_in_batch"]
    with services.db.read() as conn:
        to = set(conn.execute(select(transfer_ledger.c.to_member_id).where(transfer_ledger.c.from_member_id == company["leo"], transfer_ledger.c.kind == "document")).scalars())
    assert to == {company["mona"]}  # his manager, the rule after the successor


def test_r_org_4_a_manager_who_leaves_in_a_later_batch_is_passed_over_in_the_earlier_one_too(services):
    """sam's batch runs while his manager leo, further down the file, is still active: leo leaves
    in the same job all the same, so sam's resources go as they were planned, not to leo."""
    company = make_company(services, per_kind=1)
    give(company, "sam", 1, kinds=TABLE_KINDS)
    job_id = _run(company, "userid\nsam\nrita\nleo\n", batch_size=1)
    rows = _rows(company, job_id)
    assert {u: (r.status, [i["code"] for i in r.issues]) for u, r in rows.items()} == {"sam": ("exited", []), "rita": ("exited", []), "leo": ("exited", [])}
    with services.db.read() as conn:
        to = set(conn.execute(select(transfer_ledger.c.to_member_id).where(transfer_ledger.c.from_member_id == company["sam"])).scalars())
    assert company["leo"] not in to


def test_r_org_4_a_manager_before_their_reports_in_the_file_runs_in_a_later_batch_than_theirs(services):
    """Were leo's batch to run first, sam and rita would find a new manager (leo's reports move
    to mona) and their plans stale; the batches run the reports first instead."""
    company = make_company(services, per_kind=1)
    give(company, "sam", 1, kinds=TABLE_KINDS)
    job_id = _run(company, "userid\nleo\nsam\nrita\n", batch_size=1)
    rows = _rows(company, job_id)
    assert {u: (r.status, [i["code"] for i in r.issues]) for u, r in rows.items()} == {"leo": ("exited", []), "sam": ("exited", []), "rita": ("exited", [])}
    assert rows["leo"].batch_no > max(rows["sam"].batch_no, rows["rita"].batch_no)
    with services.db.read() as conn:
        to = set(conn.execute(select(transfer_ledger.c.to_member_id).where(transfer_ledger.c.from_member_id == company["sam"])).scalars())
    assert company["leo"] not in to and company["mona"] not in to  # planned with leo leaving: each kind's fallback


def test_r_exit_7_each_bad_line_says_what_is_wrong_and_the_others_go_on(services):
    company = make_company(services, per_kind=1)
    text = "userid,reason_category,effective\nleo,,\nghost,,\nleo,,\nsam,holiday,\nrita,,31/12/2026\nboss,,\nlone,,\n"
    job_id = _run(company, text, by="deputy")
    rows = {r.row_no: r for r in _rows_list(company, job_id)}
    outcome = {n: (r.status, [i["code"] for i in r.issues]) for n, r in rows.items()}
    assert outcome == {
        2: ("exited", []),
        3: ("invalid", ["member_not_found"]),
        4: ("invalid", ["duplicate_line"]),
        5: ("invalid", ["invalid_choice"]),
        6: ("invalid", ["invalid_date"]),
        7: ("blocked", ["super_admin_not_handed_over"]),
        8: ("exited", []),
    }
    assert _status(company, "boss") == "active" and _status(company, "sam") == "active"


def test_r_exit_7_hr_may_not_remove_an_admin_in_a_file_either(services):
    company = make_company(services, per_kind=1)
    job_id = _run(company, "userid\ndeputy\nlone\n")
    rows = _rows(company, job_id)
    assert (rows["deputy"].status, rows["deputy"].issues[0]["code"]) == ("blocked", "forbidden")
    assert rows["lone"].status == "exited"


def _rows_list(company, job_id):
    with company.services.db.read() as conn:
        return list(conn.execute(select(bulk_exit_rows).where(bulk_exit_rows.c.job_id == job_id).order_by(bulk_exit_rows.c.row_no)))


def test_r_exit_7_a_layoff_is_finalized_in_one_pass_and_one_exit_that_may_not_be_is_reported(services, clock):

    from sqlalchemy import insert

    from offboard.jobs.reconciler import reconcile
    from offboard.store import ids
    from offboard.store.tables import documents, exit_signoffs

    company = make_company(services, per_kind=1)
    job_id = _run(company, "userid,successor\nleo,tina\nsam,tina\nrita,tina\n")
    rows = _rows(company, job_id)
    tid = company.tenant_id
    with services.db.write() as conn:
        for row in rows.values():
            conn.execute(insert(exit_signoffs), [{"tenant_id": tid, "exit_id": row.exit_id, "role": r, "member_id": company["hanna"], "signed_at": clock.now()} for r in ("hr", "it")])
        # Something was given to rita after she left: her exit may not be finalized (INV-2).
        (doc,) = ids.next_ids(conn, documents, tid, 1)
        conn.execute(insert(documents).values(tenant_id=tid, id=doc, owner_id=company["rita"], version=1, created_at=clock.now(), title="late.docx", size_bytes=1, archived=False))
    clock.advance(days=2)
    report = reconcile(services)
    assert report.finalized == 2
    assert [(f["exit_id"], f["error"]) for f in report.failed] == [(rows["rita"].exit_id, "resources_still_owned")]
    assert {u: _status(company, u) for u in ("leo", "sam", "rita")} == {"leo": "finalized", "sam": "finalized", "rita": "exited"}
    with services.db.read() as conn:
        assert inv_2(conn, tid) == []  # no finalized member owns anything
        assert Counter(conn.execute(select(audit_events.c.action)).scalars())["exit.finalized"] == 2


def test_r_org_2_the_customer_limit_holds_across_the_leavers_of_a_batch(services):
    company = make_company(services, per_kind=0, policy={"customer_limit": 105})
    give(company, "tina", 100, kinds=(K.EXTERNAL_CONTACT,))  # the acceptor holds 100 already
    give(company, "leo", 3, kinds=(K.EXTERNAL_CONTACT,))
    give(company, "sam", 3, kinds=(K.EXTERNAL_CONTACT,))
    _run(company, "userid,successor\nleo,tina\nsam,tina\n")
    with services.db.read() as conn:
        states = Counter(conn.execute(select(transfer_ledger.c.state).where(transfer_ledger.c.kind == "external_contact")).scalars())
    assert states == {"done": 5, "acceptor_full": 1}
    assert owned_by(company, "tina")["external_contact"] == 105


def _one_batch(company, job_id: int, batch_no: int, by: str = "hanna") -> None:
    with tenant_transaction(company.services, company.slug, by) as uow:
        bulk_exits.run_batch(uow, job_id, batch_no)


def _mark_and_seq(company, job_id: int) -> tuple[int | None, int]:
    with company.services.db.read() as conn:
        mark = conn.execute(select(jobs.c.audit_mark).where(jobs.c.id == job_id)).scalar_one()
        return mark, conn.execute(select(tenants.c.audit_seq).where(tenants.c.slug == company.slug)).scalar_one()


def test_r_exit_7_a_change_recorded_between_batches_is_found_by_the_next_batch(services):
    """While nothing else is recorded in the enterprise, the job's audit mark follows the audit
    sequence and a batch trusts its plan; once anything is, the next batch plans its lines again:
    tina, named as rita's successor, leaves after the first batch, so rita's line fails and says
    why, instead of giving rita's resources to someone who has left."""
    company = make_company(services, per_kind=1)
    give(company, "rita", 1, kinds=TABLE_KINDS)
    with tenant_transaction(services, company.slug, "hanna") as uow:
        job_id = bulk_exits.create(uow, _file("userid,successor\nsam,tina\nrita,tina\n"), "f.csv", bulk_exits.Defaults(reason_category="resignation", reason="layoff"), batch_size=1)
    with tenant_transaction(services, company.slug, "hanna") as uow:
        bulk_exits.confirm(uow, job_id)
    mark, seq = _mark_and_seq(company, job_id)
    assert mark == seq  # nothing came between the plan and the confirmation
    _one_batch(company, job_id, 0)
    mark, seq = _mark_and_seq(company, job_id)
    assert mark == seq and _rows(company, job_id)["sam"].status == RowStatus.EXITED
    start(company, "tina")  # a single exit: recorded in the enterprise's audit trail
    assert _mark_and_seq(company, job_id)[0] != _mark_and_seq(company, job_id)[1]
    _one_batch(company, job_id, 1)
    rita = _rows(company, job_id)["rita"]
    assert rita.status == RowStatus.FAILED and rita.exit_id is None, rita
    assert [(i["code"], i["params"]["userid"]) for i in rita.issues] == [("acceptor_invalid", "tina")]
    assert _status(company, "rita") == "active" and owned_by(company, "rita")


def test_r_org_2_a_wecom_layoffs_customers_are_taken_over_together_after_24_hours(services, clock):
    """Under wecom every leaver's customers wait 24 h; then one sweep takes them over for all
    the layoff's exits at once, with a takeover step and an audit event per exit and kind, as a
    single exit's takeover writes; an acceptor who left meanwhile receives nothing (R-ORG-4)."""
    from offboard.jobs.reconciler import reconcile

    company = make_company(services, profile="wecom", per_kind=0)
    for userid in ("sam", "rita"):
        give(company, userid, 3, kinds=(K.EXTERNAL_CONTACT, K.CUSTOMER_GROUP))
    job_id = _run(company, "userid,successor\nsam,tina\nrita,mona\n")
    exits_of = {u: r.exit_id for u, r in _rows(company, job_id).items()}
    start(company, "mona", successor="tina")  # rita's acceptor leaves before the 24 h are over
    clock.advance(hours=24)
    report = reconcile(services)
    assert (report.taken_over, report.failed) == (6, [])  # sam's 3 contacts and 3 groups
    assert {k: n for k, n in owned_by(company, "tina").items() if k in ("external_contact", "customer_group")} == {"external_contact": 3, "customer_group": 3}
    assert not {"external_contact", "customer_group"} & set(owned_by(company, "rita"))
    assert not {"external_contact", "customer_group"} & set(owned_by(company, "mona"))
    with tenant_read(services, company.slug, "boss") as (conn, tenant, actor):
        takeover_steps = dict(conn.execute(select(exit_steps.c.exit_id, exit_steps.c.counts).where(exit_steps.c.kind == "takeover")).all())
        joined = audit_events.join(audit_side, (audit_side.c.tenant_id == audit_events.c.tenant_id) & (audit_side.c.seq == audit_events.c.seq))
        events = [
            (t[0], d["kind"], d["count"], d["unassigned"], d["step_id"], d["ledger_digest"])
            for t, d in conn.execute(select(audit_events.c.targets, audit_side.c.details).select_from(joined).where(audit_events.c.action == "transfer.taken_over"))
        ]
        for *_, step_id, digest in events:  # as a single exit's takeover digests its rows
            assert digest in {steps.ledger_digest(conn, tenant.id, step_id, k) for k in (K.EXTERNAL_CONTACT, K.CUSTOMER_GROUP)}
        assert verify_chain(conn, tenant, actor).ok
    assert takeover_steps == {exits_of["sam"]: {"customer_group": 3, "external_contact": 3}, exits_of["rita"]: {"customer_group": 3, "external_contact": 3}}
    expected = [(f"exit:{exits_of['sam']}", k, 3, 0) for k in ("customer_group", "external_contact")] + [(f"exit:{exits_of['rita']}", k, 0, 3) for k in ("customer_group", "external_contact")]
    assert sorted(e[:4] for e in events) == sorted(expected)
    assert reconcile(services).taken_over == 0  # nothing waits any more


def _analyzed(conn) -> dict[str, int]:
    if conn.dialect.name == "postgresql":
        return dict(conn.exec_driver_sql("SELECT relname, analyze_count FROM pg_stat_user_tables").all())
    if not conn.exec_driver_sql("SELECT count(*) FROM sqlite_master WHERE name = 'sqlite_stat1'").scalar_one():
        return {}
    return {name: 1 for name in conn.exec_driver_sql("SELECT DISTINCT tbl FROM sqlite_stat1").scalars()}


def test_r_exit_7_a_bulk_job_analyzes_the_tables_it_grows_once_its_first_batch_is_in(services):
    """Plans cached while the exits, steps and ledger were empty made every later batch slower
    (offboard.store.statistics)."""
    company = make_company(services, per_kind=1)
    give(company, "sam", 1, kinds=TABLE_KINDS)  # sam's batch runs first (leo is his manager)
    grown = {"exits", "exit_steps", "transfer_ledger", "bulk_exit_rows", "bulk_exit_routes"}
    with services.db.read() as conn:
        before = _analyzed(conn)
    _run(company, "userid\nleo\nsam\n", batch_size=1)
    with services.db.read() as conn:
        after = _analyzed(conn)
    assert {t for t in grown if after.get(t, 0) > before.get(t, 0)} == grown


def test_r_adm_1_r_adm_2_a_file_says_a_handover_waits_and_an_old_super_admin_keeps_a_window(services, clock):
    """As a single plan does: a super admin whose handover waits for the successor is blocked by
    that handover (not merely "not handed over"); an old super admin inside their emergency
    window leaves with the window's warning."""
    from offboard.actions import handover
    from tests.support.exits import totp_now

    company = make_company(services, per_kind=1, profile="wecom")

    def act(by, fn, **kwargs):
        clock.advance(seconds=31)  # a code is accepted once: a fresh 30 s step
        with tenant_transaction(services, company.slug, by) as uow:
            return fn(uow, totp=totp_now(by, services), **kwargs)

    act("deputy", handover.start, to="mona")
    rows = _rows(company, _run(company, "userid\ndeputy\nlone\n", by="boss"))
    assert (rows["deputy"].status, [i["code"] for i in rows["deputy"].issues]) == ("blocked", ["handover_pending"])
    assert rows["deputy"].issues[0]["params"]["to"] == "mona" and rows["lone"].status == "exited"

    act("deputy", handover.cancel)
    started = act("boss", handover.start, to="mona")
    act("mona", handover.accept, link=started.link)
    rows = _rows(company, _run(company, "userid\nboss\n"))
    assert rows["boss"].status == "exited", rows["boss"].issues
    assert [w["code"] for w in rows["boss"].warnings] == ["emergency_window"]
