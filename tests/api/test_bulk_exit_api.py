"""Bulk exits over the API (R-EXIT-7): a list or a file (GBK as Excel saves it), a dry run that
keeps nothing, a job confirmed and run by a worker, its progress and each line's outcome, and
clear refusals. On SQLite and PostgreSQL."""

from __future__ import annotations

import base64

from offboard.http import security
from offboard.jobs.bulk import run_jobs
from tests.support.db import audit_seq

ZH = {"Accept-Language": "zh-CN"}


def _file(text: str, encoding: str = "gbk") -> dict[str, str]:
    return {"name": "离职名单.csv", "content_base64": base64.b64encode(text.encode(encoding)).decode()}


def test_r_exit_7_a_dry_run_of_a_gbk_file_shows_the_combined_plan_and_keeps_nothing(world, client):
    before = audit_seq(world.services, world.a.slug)
    text = "账号,离职原因类别,离职原因\nalpha-member,辞退,部门撤销\nalpha-outsider,辞退,部门撤销\nghost,辞退,部门撤销\n"
    response = client.post("/api/v1/exits/bulk", json={"file": _file(text), "dry_run": True}, headers={**world.a.bearer("hr"), **ZH})
    assert response.status_code == 200, response.text
    view = response.json()
    assert view["dry_run"] is True and view["state"] == "planned" and view["counts"] == {"ready": 2, "invalid": 1}
    lines = {line["userid"]: line for line in view["lines"]}
    assert lines["alpha-member"]["name"] == "Alpha Member" and lines["alpha-member"]["status"] == "ready"
    assert lines["ghost"]["issues"][0]["code"] == "member_not_found" and "ghost" in lines["ghost"]["issues"][0]["message"]
    assert audit_seq(world.services, world.a.slug) == before
    assert client.get(f"/api/v1/jobs/{view['id']}", headers=world.a.bearer("hr")).status_code == 404


def test_r_exit_7_a_confirmed_job_runs_on_a_worker_and_reports_each_line(world, client):
    headers = world.a.bearer("hr")
    body = {"departures": [{"userid": "alpha-member", "successor": "alpha-admin"}, {"userid": "alpha-super"}], "reason_category": "dismissal", "reason": "reorganisation", "confirm": True}
    created = client.post("/api/v1/exits/bulk", json=body, headers=headers)
    assert created.status_code == 201, created.text
    job = created.json()
    assert job["state"] == "running" and job["to_do"] == 1 and job["done"] == 0
    blocked = next(line for line in job["lines"] if line["userid"] == "alpha-super")
    assert blocked["status"] == "blocked" and blocked["issues"][0]["code"] == "forbidden"  # HR does not remove admins
    run_jobs(world.services)
    done = client.get(f"/api/v1/jobs/{job['id']}", headers=headers).json()
    assert done["state"] == "done" and done["counts"] == {"exited": 1, "blocked": 1} and done["done"] == 1
    exited = next(line for line in done["lines"] if line["userid"] == "alpha-member")
    assert client.get(f"/api/v1/exits/{exited['exit_id']}", headers=headers).json()["state"] == "open"
    only = client.get(f"/api/v1/jobs/{job['id']}", params={"status": "blocked"}, headers=headers).json()
    assert [line["userid"] for line in only["lines"]] == ["alpha-super"] and only["lines_total"] == 1


def test_r_exit_7_bad_requests_are_refused_with_a_code_and_change_nothing(world, client):
    hr = world.a.bearer("hr")
    before = audit_seq(world.services, world.a.slug)
    cases = [
        (world.a.bearer("member"), {"departures": [{"userid": "alpha-outsider"}], "reason_category": "dismissal", "reason": "x"}, 403, "forbidden"),
        (hr, {"departures": [{"userid": "alpha-outsider"}], "file": _file("userid\nalpha-outsider\n")}, 422, "departures_required"),
        (hr, {}, 422, "departures_required"),
        (hr, {"file": {"name": "a.csv", "content_base64": "not base64!"}}, 422, "file_unreadable"),
        (hr, {"file": _file("账号\nalpha-outsider\n", "utf-16")}, 422, "file_encoding"),
        (hr, {"file": _file("who,when\nalpha-outsider,today\n", "utf-8")}, 422, "file_unknown_columns"),
    ]
    for headers, body, status, code in cases:
        response = client.post("/api/v1/exits/bulk", json=body, headers=headers)
        assert (response.status_code, response.json()["error"]) == (status, code), response.text
    assert audit_seq(world.services, world.a.slug) == before
    job = world.a.extra["job"]
    assert client.get(f"/api/v1/jobs/{job}", params={"status": "lost"}, headers=hr).json()["error"] == "invalid_choice"
    assert client.get(f"/api/v1/jobs/{job}", headers=world.b.bearer("hr")).status_code == 404
    assert client.post(f"/api/v1/jobs/{job}/cancel", headers=hr).json()["state"] == "cancelled"
    again = client.post(f"/api/v1/jobs/{job}/confirm", headers=hr)
    assert (again.status_code, again.json()["error"]) == (409, "job_not_planned")


def test_r_exit_7_a_file_of_many_megabytes_is_read_line_by_line_over_the_api(world, client, monkeypatch):
    # Far over the 1 MiB other requests may send: the bulk route takes a file as large as the
    # reader does (its base64, in JSON), and every line gets its outcome.
    lines = "".join(f"ghost-{n:06d},辞退,部门撤销\n" for n in range(60_000))
    body = {"file": _file("账号,离职原因类别,离职原因\n" + lines, "utf-8"), "dry_run": True}
    response = client.post("/api/v1/exits/bulk", json=body, headers=world.a.bearer("hr"))
    assert response.status_code == 200, response.text[:300]
    view = response.json()
    assert view["counts"] == {"invalid": 60_000} and view["lines_total"] == 60_000
    assert view["lines"][0]["issues"][0]["code"] == "member_not_found"
    monkeypatch.setitem(security.LIMITS, "/api/v1/exits/bulk", 4096)
    refused = client.post("/api/v1/exits/bulk", json=body, headers=world.a.bearer("hr"))
    assert (refused.status_code, refused.json()["error"]) == (413, "too_large")
