"""Issue 10 in Chromium, in Chinese, on a laptop and on a phone: HR uploads a GBK file of a sales
team of the demo (as Excel saves it), reads the combined plan and each line by name, confirms
(giving the code in place, the last one being over 5 minutes old), and watches the progress bar
move by itself until the page shows the outcome with a link to each exit.

On the laptop the job is run by the loop `offboard serve` runs in its bulk thread
(offboard.jobs.bulk.keep_running), started beside the served demo, and the bar moves forward by
itself to the end (how many values between its polls it catches depends on the machine's speed);
on the phone the test runs it
a batch at a time (run_jobs) and waits, after each batch, for the bar polled by the page to
show it. Nothing a person reads names an internal key, no serious axe violation, nothing wider
than the screen; screenshots of each step go to the test's output folder."""

from __future__ import annotations

import re
import threading
import time
from pathlib import Path

import pyotp
import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Browser, Page, expect

from offboard.demo import DEMO_SLUG
from offboard.demo.personas import totp_secret_for
from offboard.i18n import LANG_COOKIE
from offboard.jobs.bulk import keep_running, run_jobs
from offboard.store import repo
from tests.support.clock import FakeClock
from tests.support.db import department_members
from tests.web.conftest import _serve_demo, sign_in_page
from tests.web.test_accessibility import _serious
from tests.web.test_glossary import offences

ZH = "zh-CN,zh;q=0.9"


class Demo:
    def __init__(self, base: str, services, clock: FakeClock) -> None:
        self.base, self.services, self.clock = base, services, clock

    def team(self, name: str) -> list[tuple[str, str]]:
        return department_members(self.services, DEMO_SLUG, name)

    def tenant_id(self) -> int:
        with self.services.db.read() as conn:
            return repo.tenant_by_slug(conn, DEMO_SLUG).id


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """The demo served on a clock the test moves; no bulk thread unless a test starts one."""
    clock = FakeClock()
    kept = {}
    served = _serve_demo(tmp_path_factory.mktemp("web-bulk") / "demo.db", prepare=lambda services: kept.setdefault("services", services), clock=clock)
    base = next(served)
    yield Demo(base, kept["services"], clock)
    next(served, None)


class Shots:
    def __init__(self, out: Path, width: int) -> None:
        self.out, self.width, self.n = out, width, 0
        out.mkdir(parents=True, exist_ok=True)

    def __call__(self, page: Page, name: str) -> None:
        self.n += 1
        path = self.out / f"{self.n:02d}-{name}-{self.width}.png"
        page.screenshot(path=str(path), full_page=True)
        assert path.stat().st_size > 10_000
        assert offences(page.content(), "zh-CN") == [], f"{name}: {offences(page.content(), 'zh-CN')}"
        assert page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth") <= 0, f"{name}: wider than the screen"
        assert _serious(Axe().run(page)) == [], f"{name}: {_serious(Axe().run(page))}"


def _hr(browser: Browser, demo: Demo, width: int) -> Page:
    context = browser.new_context(locale="zh-CN", extra_http_headers={"Accept-Language": ZH}, viewport={"width": width, "height": 900})
    context.add_cookies([{"name": LANG_COOKIE, "value": "zh-CN", "url": demo.base}])
    page = context.new_page()
    demo.clock.advance(seconds=31)  # a fresh 30 s step: a code is accepted once
    sign_in_page(page, demo.base, "wangfang")
    return page


def _upload_and_plan(page: Page, demo: Demo, team_name: str, shoot: Shots) -> tuple[str, list[tuple[str, str]]]:
    """From the exits page to the planned job: the GBK file uploaded, the plan read."""
    team = demo.team(team_name)
    assert len(team) >= 8, team
    page.goto(f"{demo.base}/exits")
    page.click("#bulk-link")
    expect(page.locator("h1")).to_have_text("批量离职")
    expect(page.locator("#bulk-columns")).to_contain_text("接收人:<类型>")
    csv = "\r\n".join(["账号,离职原因类别,离职原因", *(f"{userid},辞退,{team_name}撤销" for userid, _n in team)]).encode("gbk")
    page.set_input_files("input[name=file]", files=[{"name": f"{team_name}.csv", "mimeType": "text/csv", "buffer": csv}])
    page.select_option("select[name=reason_category]", "dismissal")
    shoot(page, "upload")
    page.click("#bulk-upload button[type=submit]")
    expect(page).to_have_url(re.compile(r"/jobs/\d+$"))
    expect(page.locator("#job-state")).to_have_text("待确认")
    expect(page.locator("#job-summary")).to_contain_text(f"{len(team)} 人可以按计划离职")
    for userid, name in team:
        expect(page.locator(f"#job-line-table tr[data-userid='{userid}']")).to_contain_text(name)
    expect(page.locator("#job-plan")).to_contain_text("外部联系人")
    shoot(page, "planned")
    return page.url, team


def _confirm_with_the_code(page: Page, demo: Demo, team: list, shoot: Shots) -> None:
    demo.clock.advance(minutes=6)  # HR read the plan for a while: the last code is too old now
    page.click("#job-confirm button")
    expect(page.locator("#reverify-purpose")).to_have_text("请输入 6 位验证码，按计划开始这些离职。")
    shoot(page, "reverify")
    page.fill("input[name=reverify_code]", pyotp.TOTP(totp_secret_for("wangfang")).at(demo.clock.now()))
    page.click("#reverify button[type=submit]")
    expect(page).to_have_url(re.compile(r"/jobs/\d+\?notice=confirmed$"))


def _outcome(page: Page, team: list, shoot: Shots) -> None:
    expect(page.locator("#job-state")).to_have_text("已完成", timeout=30_000)
    expect(page).to_have_url(re.compile(r"/jobs/\d+$"))  # the job's page again, the notice of its confirmation gone
    expect(page.locator(".notice.ok")).to_have_count(0)
    expect(page.locator("#job-outcome li.line-exited .num")).to_have_text(str(len(team)))
    expect(page.locator("#job-progress-bar")).to_have_attribute("value", str(len(team)))
    assert page.locator("#job-line-table a[href^='/exits/']").count() == len(team)
    shoot(page, "done")
    page.locator("#job-line-table a[href^='/exits/']").first.click()
    expect(page).to_have_url(re.compile(r"/exits/\d+$"))
    expect(page.locator("#exit-state")).to_be_visible()


def test_issue_10_hr_runs_a_bulk_exit_on_a_laptop_and_the_served_bulk_thread_does_it(browser: Browser, demo: Demo, output_path: str):
    shoot = Shots(Path(output_path), 1280)
    page = _hr(browser, demo, 1280)
    job_url, team = _upload_and_plan(page, demo, "上海一组", shoot)
    stop = threading.Event()
    runner = threading.Thread(target=keep_running, args=(demo.services, stop), daemon=True)
    runner.start()
    try:
        _confirm_with_the_code(page, demo, team, shoot)
        expect(page.locator("#job-state")).to_have_text("执行中")
        seen: list[int] = []
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:  # the bar as the page shows it, until the page shows it done
            state = page.locator("#job-progress").get_attribute("data-state")
            value = int(page.locator("#job-progress-bar").get_attribute("value"))
            if not seen or seen[-1] != value:
                seen.append(value)
                if 0 < value < len(team) and len(seen) == 2:
                    shoot(page, "running")
            if state == "done":
                break
            page.wait_for_timeout(100)
        # The bar moved by itself, forward only, to the end. How many values between the page's
        # polls catch depends on the machine's speed (a batch takes milliseconds); the phone test
        # below holds each batch to the bar.
        assert seen[0] < len(team) and seen[-1] == len(team) and seen == sorted(seen), seen
        _outcome(page, team, shoot)
    finally:
        stop.set()
        runner.join(timeout=30)
    page.goto(f"{demo.base}/exits/bulk")
    expect(page.locator(f"#bulk-jobs tr[data-job='{job_url.rsplit('/', 1)[1]}']")).to_contain_text("已完成")
    shoot(page, "recent")


def test_issue_10_hr_watches_the_bar_move_a_batch_at_a_time_on_a_phone(browser: Browser, demo: Demo, output_path: str):
    shoot = Shots(Path(output_path), 390)
    page = _hr(browser, demo, 390)
    job_url, team = _upload_and_plan(page, demo, "杭州组", shoot)
    _confirm_with_the_code(page, demo, team, shoot)
    bar = page.locator("#job-progress-bar")
    expect(bar).to_have_attribute("value", "0")
    expect(page.get_by_role("progressbar", name="已办理")).to_be_visible()
    done = 0

    def seen_by_the_page(lines: int) -> None:
        nonlocal done
        done += lines
        if done < len(team):  # after the last batch the page shows the outcome
            expect(bar).to_have_attribute("value", str(done), timeout=10_000)
            expect(page.locator("#job-progress .progress-count")).to_contain_text(f"{done} / {len(team)}")
            # The lines and the counts by status follow too (swapped in out of band).
            expect(page.locator("#job-line-table tr[data-status=exited]")).to_have_count(done)
            expect(page.locator("#job-filter a.line-exited")).to_have_text(f"已离职 {done}")
            assert page.locator("#job-progress").count() == 1
            if done == len(team) // 2:
                shoot(page, "running")

    report = run_jobs(demo.services, job_id=int(job_url.rsplit("/", 1)[1]), tenant_id=demo.tenant_id(), progress=seen_by_the_page)
    assert report.rows == len(team) and report.batches == len(team)
    _outcome(page, team, shoot)
