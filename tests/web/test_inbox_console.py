"""R-EXIT-9 in the console: the inbox says what to do, each a link to where it is done, and the
menu shows how many things wait for the reader."""

from __future__ import annotations

import re

from offboard.actions.context import tenant_read
from offboard.queries.inbox import inbox

BADGE = re.compile(r'<a href="/inbox"[^>]*>[^<]*<span class="count">(\d+)<span class="sr-only">([^<]*)</span></span></a>')


def _to_do(demo_company, userid: str) -> int:
    with tenant_read(demo_company.services, "demo", userid) as (conn, tenant, actor):
        return inbox(conn, tenant, actor, demo_company.clock.now()).to_do


def test_r_exit_9_the_successor_is_told_which_customers_wait_and_the_menu_counts_them(demo_company):
    """chenjing has left (demo_company) with zhaolei as successor: under the demo's wecom profile
    her customers wait 24 h for him. His inbox says so; he may not open her exit's page, so it is
    no link (a link would be refused). The menu's badge is the inbox's count, read out to screen
    readers as words."""
    client = demo_company.signed_in("zhaolei")
    page = client.get("/inbox").text
    assert "等待您接收的客户" in page and "来自 陈静 的" in page
    assert f"/exits/{demo_company.exit_id}" not in page and client.get(f"/exits/{demo_company.exit_id}").status_code == 403
    badge = BADGE.search(page)
    assert badge and int(badge.group(1)) == _to_do(demo_company, "zhaolei") >= 2 and "待您处理" in badge.group(2)


def test_r_exit_9_nothing_to_do_shows_no_badge(demo_company):
    client = demo_company.signed_in("sunli", locale="en")
    page = client.get("/inbox").text
    assert _to_do(demo_company, "sunli") == 0 and 'class="count"' not in page and "Nothing waits for you." in page
