"""Issue 10 in the console, through the ASGI app on SQLite and PostgreSQL: HR uploads a GBK file
of the demo's 杭州组 (as Excel saves it), reads the combined plan and each line by name and in
words, confirms after the last code is over 5 minutes old (the code is asked for in place), the
job runs (run_jobs, as `offboard serve`'s bulk thread does) and the page shows the outcome with
a link to each exit. A file that cannot be read comes back to the form with what is wrong and
makes no job; a member who may not remove members is refused; the template downloads and reads
back. Nothing a person reads names an internal key (the glossary test's `offences`)."""

from __future__ import annotations

import html
import re

import pyotp
import pytest
from sqlalchemy import func, select

from offboard.demo import DEMO_SLUG
from offboard.demo.personas import totp_secret_for
from offboard.domain import bulk_file
from offboard.http import security
from offboard.i18n.glossary import term
from offboard.jobs.bulk import run_jobs
from offboard.store.tables import exits, jobs, members
from offboard.web.bulk import batch_size_for
from tests.support.db import department_members
from tests.web.conftest import CSRF_INPUT
from tests.web.test_glossary import offences, visible_text

TEAM = "杭州组"
HX = {"HX-Request": "true"}


def _team(company, name: str = TEAM) -> list[tuple[str, str]]:
    return department_members(company.services, DEMO_SLUG, name)


def _jobs(company) -> int:
    with company.services.db.read() as conn:
        return conn.execute(select(func.count()).select_from(jobs)).scalar_one()


def _csrf(client, url: str = "/exits/bulk") -> str:
    return CSRF_INPUT.search(client.get(url).text).group(1)


def _upload(client, data: bytes, name: str = f"{TEAM}.csv", **fields: str):
    return client.post("/exits/bulk", data={"csrf": _csrf(client), "reason_category": "dismissal", **fields}, files={"file": (name, data, "text/csv")})


def _words(response) -> str:
    return " ".join(visible_text(response.text))


def test_issue_10_hr_runs_a_bulk_exit_of_a_sales_team_from_the_console(demo_company):
    company = demo_company
    team = _team(company)
    assert len(team) >= 8, team
    hr = company.signed_in("wangfang", "zh-CN")

    upload = hr.get("/exits/bulk")
    assert upload.status_code == 200
    assert 'enctype="multipart/form-data"' in upload.text and 'accept=".csv,.json' in upload.text
    assert "接收人:&lt;类型&gt;" in upload.text and "GBK" in _words(upload) and 'href="/exits/bulk/template.csv"' in upload.text
    assert offences(upload.text, "zh-CN") == []

    lines = ["账号,离职原因类别,离职原因"] + [f"{userid},辞退,{TEAM}撤销" for userid, _name in team] + ["nobody-here,辞退,写错的账号"]
    planned = _upload(hr, "\r\n".join(lines).encode("gbk"))
    assert planned.status_code == 303, planned.text
    job_url = planned.headers["location"]
    assert re.fullmatch(r"/jobs/\d+", job_url)
    job_id = int(job_url.rsplit("/", 1)[1])

    page = hr.get(job_url)
    assert page.status_code == 200
    words = _words(page)
    assert term("job_state", "planned", "zh-CN") in words
    assert f"{len(team)} 人可以按计划离职" in words
    for userid, name in team:  # every leaver by name, beside the userid
        assert re.search(rf'<a href="/members/\d+">{re.escape(name)}</a> <small class="muted">{re.escape(userid)}</small>', page.text), userid
    assert "没有账号为 'nobody-here' 的成员" in words  # the bad line, in a sentence
    plan = re.search(r'<section class="card" id="job-plan".*?</section>', page.text, re.S).group(0)
    assert term("resource_kind", "external_contact", "zh-CN") in plan and term("route", "manager", "zh-CN") in plan
    assert "external_contact" not in " ".join(visible_text(plan)) and "manager" not in " ".join(visible_text(plan))
    assert 'action="/jobs/%d/confirm"' % job_id in page.text and 'action="/jobs/%d/cancel"' % job_id in page.text
    assert offences(page.text, "zh-CN") == []

    # HR reads the plan for a while: the confirmation asks for the code on the spot, then goes on.
    company.clock.advance(minutes=6)
    csrf = CSRF_INPUT.search(page.text).group(1)
    asked = hr.post(f"{job_url}/confirm", data={"csrf": csrf})
    assert asked.status_code == 200 and 'name="reverify_code"' in asked.text and f'action="{job_url}/confirm"' in asked.text
    assert "请输入 6 位验证码，按计划开始这些离职。" in asked.text
    code = pyotp.TOTP(totp_secret_for("wangfang")).at(company.clock.now())
    confirmed = hr.post(f"{job_url}/confirm", data={"csrf": csrf, "reverify_code": code})
    assert confirmed.status_code == 303 and confirmed.headers["location"] == f"{job_url}?notice=confirmed", confirmed.text

    running = hr.get(confirmed.headers["location"])
    assert term("job_state", "running", "zh-CN") in _words(running)
    bar = re.search(r'<div class="job-progress" id="job-progress"[^>]*>', running.text).group(0)
    assert f'hx-get="{job_url}/progress"' in bar and 'hx-trigger="every 1s"' in bar
    assert re.search(rf'<progress id="job-progress-bar" max="{len(team)}" value="0">', running.text)
    assert '<label for="job-progress-bar">' in running.text  # the bar's accessible name
    assert offences(running.text, "zh-CN") == []
    polled = hr.get(f"{job_url}/progress?status=ready", headers=HX)
    assert polled.status_code == 200 and "HX-Redirect" not in polled.headers and f"0 / {len(team)}" in polled.text
    assert 'hx-get="%s/progress?status=ready"' % job_url in polled.text  # it keeps polling the lines the reader looks at
    assert '<tbody id="job-line-rows" role="rowgroup" hx-swap-oob="true">' in polled.text and polled.text.count('data-status="ready"') == len(team)
    assert '<nav class="status-filter" id="job-filter" hx-swap-oob="true"' in polled.text

    report = run_jobs(company.services)
    assert report.rows == len(team) and report.failed_lines == 0
    assert report.batches == len(team)  # a file this short runs a leaver a batch, so the bar moves in steps

    finished = hr.get(f"{job_url}/progress", headers=HX)
    assert finished.headers.get("HX-Redirect") == job_url  # the page again, to show the outcome
    assert re.search(rf'<progress id="job-progress-bar" max="{len(team)}" value="{len(team)}">', finished.text)
    done = hr.get(job_url)
    words = _words(done)
    assert term("job_state", "done", "zh-CN") in words
    outcome = re.search(r'<ul class="outcome" id="job-outcome">.*?</ul>', done.text, re.S).group(0)
    assert f'<span class="num">{len(team)}</span> 已离职' in outcome and '<span class="num">0</span> 未办成' in outcome
    with company.services.db.read() as conn:
        exit_ids = set(
            conn.execute(
                select(exits.c.id).join(members, (members.c.tenant_id == exits.c.tenant_id) & (members.c.id == exits.c.member_id)).where(members.c.userid.in_([u for u, _n in team]))
            ).scalars()
        )
        statuses = set(conn.execute(select(members.c.status).where(members.c.userid.in_([u for u, _n in team]))).scalars())
    assert statuses == {"exited"} and len(exit_ids) == len(team)
    assert {int(i) for i in re.findall(r'<a href="/exits/(\d+)">查看离职</a>', done.text)} == exit_ids
    assert offences(done.text, "zh-CN") == []
    failed_only = hr.get(f"{job_url}?status=invalid")
    assert failed_only.text.count("data-status=") == 1 and 'data-userid="nobody-here"' in failed_only.text

    listed = hr.get("/exits/bulk")
    row = re.search(rf'<tr data-job="{job_id}">.*?</tr>', listed.text, re.S).group(0)
    assert f"{TEAM}.csv" in row and term("job_state", "done", "zh-CN") in row and f"已离职 {len(team)}" in row and "王芳" in row
    assert offences(listed.text, "zh-CN") == []


@pytest.mark.parametrize("locale", ["zh-CN", "en"])
def test_issue_10_a_file_that_cannot_be_read_comes_back_to_the_form_and_makes_no_job(demo_company, monkeypatch, locale):
    hr = demo_company.signed_in("wangfang", locale)
    before = _jobs(demo_company)
    zh = locale == "zh-CN"
    cases = [
        (b"\xff\xfe\xfd\x81\x30", "file_encoding", "既不是 UTF-8 也不是 GBK" if zh else "neither UTF-8 nor GBK"),
        ("姓名,部门\n王五,销售部\n".encode("gbk"), "file_unknown_columns", "姓名, 部门"),
        (b"", "file_empty", "文件是空的" if zh else "The file is empty"),
        (b'[{"userid": ', "file_unreadable", "不是有效的 JSON" if zh else "not valid JSON"),
    ]
    for data, code, words in cases:
        refused = _upload(hr, data, name="x.json" if code == "file_unreadable" else "x.csv", reason="部门撤销")
        assert refused.status_code == 422, (code, refused.status_code)
        alert = re.search(r'<div class="alert" role="alert">(.*?)</div>', refused.text, re.S).group(1)
        assert words in html.unescape(alert) and re.search(rf'<small class="ref">[^<]*{code}</small>', alert), (code, alert)
        assert 'id="bulk-upload"' in refused.text and 'value="部门撤销"' in refused.text  # the form again, as it was filled in
        assert offences(refused.text, locale) == [], (code, offences(refused.text, locale))
    unknown = _upload(hr, "姓名,部门\n王五,销售部\n".encode("gbk"))
    assert ("离职原因类别" if zh else "reason category") in _words(unknown) and "reason_category" not in _words(unknown)
    odd_default = _upload(hr, b"userid\nzhaolei\n", reason_category="holiday")
    assert odd_default.status_code == 422 and "invalid_choice" in odd_default.text
    none_chosen = hr.post("/exits/bulk", data={"csrf": _csrf(hr)}, files={"file": ("", b"", "application/octet-stream")})
    assert none_chosen.status_code == 422 and "file_required" in none_chosen.text
    monkeypatch.setattr(bulk_file, "MAX_BYTES", 1024 * 1024)
    big = _upload(hr, b"userid\n" + b"x" * (1024 * 1024))
    assert big.status_code == 422 and ("文件超过 1 MB" if zh else "larger than 1 MB") in _words(big)
    assert _jobs(demo_company) == before


def test_issue_10_a_body_over_the_upload_limit_is_refused_on_a_page_and_the_api_answers_json(demo_company, monkeypatch):
    hr = demo_company.signed_in("wangfang")
    csrf = _csrf(hr)
    monkeypatch.setitem(security.LIMITS, "/exits/bulk", 4096)
    refused = hr.post("/exits/bulk", data={"csrf": csrf}, files={"file": ("big.csv", b"userid\n" + b"x" * 8192, "text/csv")})
    assert refused.status_code == 413 and refused.headers["content-type"].startswith("text/html")
    assert "请求体过大" in _words(refused) and offences(refused.text, "zh-CN") == []
    api = hr.post("/api/v1/exits", content=b"{" + b" " * (security.MAX_BODY + 1) + b"}", headers={"Content-Type": "application/json", "X-CSRF-Token": csrf})
    assert api.status_code == 413 and api.json()["error"] == "too_large"


def test_issue_10_hr_cancels_a_planned_bulk_exit_and_nothing_changes(demo_company):
    hr = demo_company.signed_in("wangfang", "en")
    team = _team(demo_company, "南京组")[:3]
    planned = _upload(hr, ("userid,reason\n" + "".join(f"{u},Team merged\n" for u, _n in team)).encode())
    job_url = planned.headers["location"]
    page = hr.get(job_url)
    assert "3 member(s) can leave as planned." in _words(page) and offences(page.text, "en") == []
    cancelled = hr.post(f"{job_url}/cancel", data={"csrf": CSRF_INPUT.search(page.text).group(1)})
    assert cancelled.status_code == 303 and cancelled.headers["location"] == f"{job_url}?notice=cancelled"
    shown = hr.get(cancelled.headers["location"])
    assert "The bulk exit was cancelled; nothing was changed." in _words(shown) and 'action="/jobs/' not in shown.text
    assert term("job_state", "cancelled", "en") in _words(shown)
    again = hr.post(f"{job_url}/confirm", data={"csrf": CSRF_INPUT.search(shown.text).group(1)})
    assert again.status_code == 409 and "only a planned job can be confirmed" in _words(again) and "job_not_planned" in again.text
    assert _team(demo_company, "南京组")[:3] == team  # still active


@pytest.mark.parametrize("userid", ["liuyang", "zhaolei"])  # IT, a member with no role
def test_issue_10_a_member_who_may_not_remove_members_is_refused(demo_company, userid):
    hr = demo_company.signed_in("wangfang")
    planned = _upload(hr, b"userid,reason\nnobody,x\n")
    job_url = planned.headers["location"]
    before = _jobs(demo_company)
    other = demo_company.signed_in(userid)
    assert other.get("/exits/bulk").status_code == 403
    csrf = CSRF_INPUT.search(other.get("/").text).group(1)
    upload = other.post("/exits/bulk", data={"csrf": csrf}, files={"file": ("x.csv", b"userid\nzhaolei\n", "text/csv")})
    assert upload.status_code == 403
    assert other.get(job_url).status_code == 403 and other.get(f"{job_url}/progress").status_code == 403
    assert other.post(f"{job_url}/confirm", data={"csrf": csrf}).status_code == 403
    assert _jobs(demo_company) == before
    assert 'href="/exits/bulk"' not in other.get("/").text  # no menu entry either
    assert 'id="bulk-link"' not in other.get("/exits").text


def test_issue_10_the_template_downloads_with_a_bom_and_chinese_headers_and_reads_back(demo_company):
    hr = demo_company.signed_in("wangfang")
    got = hr.get("/exits/bulk/template.csv")
    assert got.status_code == 200 and got.headers["content-type"].startswith("text/csv")
    assert "attachment" in got.headers["content-disposition"] and "filename*=UTF-8''" in got.headers["content-disposition"]
    assert got.content.startswith(b"\xef\xbb\xbf")
    header = got.content.decode("utf-8-sig").splitlines()[0]
    assert header == "账号,离职原因类别,离职原因,继任者,接收人:外部联系人,接收人:文档,离职日期"
    (line,) = bulk_file.read(got.content, "template.csv", "Asia/Shanghai").lines
    assert (line.userid, line.reason_category, line.successor, line.problem) == ("zhangsan", "dismissal", "lisi", None)
    assert demo_company.signed_in("wangfang").get("/exits").text.count('href="/exits/bulk"') >= 2  # the menu and the exits page


def test_issue_10_the_console_cuts_a_file_into_batches_the_bar_can_follow():
    assert [batch_size_for(n) for n in (1, 12, 20, 21, 400, 10_000, 200_000)] == [1, 1, 1, 2, 20, 500, 500]


def test_issue_10_past_five_minutes_the_upload_form_asks_for_the_code_with_the_file(demo_company):
    """A file cannot be carried on to a page that asks for the code, so the form takes the code
    beside the file; sent without one, the person gives it at /reverify and comes back here."""
    hr = demo_company.signed_in("wangfang")
    demo_company.clock.advance(minutes=6)
    form = hr.get("/exits/bulk")
    assert 'name="reverify_code"' in form.text and "距上次验证已超过 5 分钟" in _words(form)
    data = b"userid,reason\nnobody,x\n"
    before = _jobs(demo_company)
    sent = hr.post("/exits/bulk", data={"csrf": _csrf(hr)}, files={"file": ("x.csv", data, "text/csv")})
    assert sent.status_code == 303 and sent.headers["location"] == "/reverify?next=/exits/bulk"
    right = pyotp.TOTP(totp_secret_for("wangfang")).at(demo_company.clock.now())
    wrong = hr.post("/exits/bulk", data={"csrf": _csrf(hr), "reverify_code": "000000" if right != "000000" else "111111", "reason": "部门撤销"}, files={"file": ("x.csv", data, "text/csv")})
    assert wrong.status_code == 401 and "bad_totp" in wrong.text and 'value="部门撤销"' in wrong.text
    assert _jobs(demo_company) == before
    done = hr.post("/exits/bulk", data={"csrf": _csrf(hr), "reverify_code": right}, files={"file": ("x.csv", data, "text/csv")})
    assert done.status_code == 303 and re.fullmatch(r"/jobs/\d+", done.headers["location"]), done.text
    assert 'name="reverify_code"' not in hr.get("/exits/bulk").text  # verified: the form asks no more
