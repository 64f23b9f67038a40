"""R-ADM-3 in the console: the overview warns while the enterprise has no backup super admin,
in words HR reads, and says nothing while one is set (the demo's 李娜)."""

from __future__ import annotations

from offboard.actions import backup_admin
from offboard.actions.context import tenant_transaction
from offboard.domain.errors import Conflict


def test_r_adm_3_the_overview_warns_while_no_backup_super_admin_is_set(demo_company):
    client = demo_company.signed_in("wangfang")
    assert 'id="no-backup-admin"' not in client.get("/").text
    with tenant_transaction(demo_company.services, "demo", "zhangwei") as uow:
        assert backup_admin.remove_backup(uow) == "lina"
    page = client.get("/").text
    assert 'id="no-backup-admin"' in page and "尚未设置备用超级管理员" in page
    english = demo_company.signed_in("wangfang", locale="en").get("/").text
    assert "No backup super admin is set" in english


def test_r_adm_3_the_warning_stands_above_the_figures_and_tells_a_super_admin_where_to_name_one(demo_company):
    try:
        with tenant_transaction(demo_company.services, "demo", "zhangwei") as uow:
            backup_admin.remove_backup(uow)
    except Conflict:
        pass  # the test above removed the backup already
    try:
        hr = demo_company.signed_in("wangfang").get("/").text
        boss = demo_company.signed_in("zhangwei").get("/").text
        for page in (hr, boss):
            assert page.index('id="no-backup-admin"') < page.index('class="tiles"'), "read first, on a phone too"
        assert "请联系超级管理员指定一位" in hr and 'href="/handover#backup"' not in hr
        assert 'href="/handover#backup">指定备用超级管理员</a>' in boss and "请联系超级管理员" not in boss
    finally:
        with tenant_transaction(demo_company.services, "demo", "zhangwei") as uow:
            backup_admin.set_backup(uow, "lina")
