"""Subject records of the demo (SPEC §3): chat messages, attendance, reimbursements,
third-party app grants and devices. They stay with the member and are retained, sealed or
erased after an exit, never moved."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from offboard.demo.org import COMPANY_NAME
from offboard.demo.resources import ALL_HANDS, department_group
from offboard.demo.seeding import Person, Seeder
from offboard.store.tables import app_grants, attendance_records, devices, messages, reimbursements

CHAT = (
    "收到，我这边跟进一下。",
    "{company}那边的报价单已经发到邮箱了，麻烦看一下。",
    "明天上午十点在{room}开周会，大家准时参加。",
    "{colleague}，合同盖章版的扫描件我放在群文件里了。",
    "这周的周报请在周五下班前提交。",
    "客户反馈系统登录报错，{colleague} 帮忙看一下？",
    "下午去拜访{company}，预计五点回公司。",
    "好的，没问题👍",
    "发布窗口定在周四晚上八点，请大家提前做好回归测试。",
    "本月报销请在25号前提交，逾期顺延到下个月。",
    "{company}续约意向很强，下周安排一次高层拜访。",
    "会议纪要已更新到共享文档，请查阅。",
    "新版本需求评审改到明天下午三点，地点{room}。",
    "{customer}总刚来电话，想把交付时间提前一周。",
    "辛苦了，今天先到这里。",
    "我在{city}出差，有急事电话联系。",
    "{colleague}，这个审批麻烦尽快处理一下，客户在等。",
    "报价已经按折扣政策调整过了，请确认。",
)
ROOMS = ("12F-长江厅", "12F-黄河厅", "15F-珠江厅", "15F-大会议室")
REIMBURSE = ("{city}出差交通费", "{city}出差住宿费", "客户招待餐费（{company}）", "办公用品采购", "团队建设活动费用", "加班打车费", "行业展会报名费", "培训课程费用")
PHONES = (("iPhone 15 Pro", "ios"), ("iPhone 14", "ios"), ("华为 Mate 60 Pro", "android"), ("小米 14", "android"), ("OPPO Find X7", "android"), ("vivo X100", "android"))
LAPTOPS = (("MacBook Pro 14", "macos"), ("MacBook Air 13", "macos"), ("ThinkPad X1 Carbon", "windows"), ("华为 MateBook X Pro", "windows"), ("联想小新 Pro 16", "windows"))
APPS = {
    "crm": ("纷享销客 CRM", "customer:read,customer:write,contact:read"),
    "forms": ("金数据", "form:read,form:write"),
    "docs": ("石墨文档", "doc:read,doc:write"),
    "hr": ("北森 iTalent", "employee:read,employee:write"),
    "finance": ("用友 YonSuite", "finance:read,finance:write"),
    "sign": ("e签宝", "contract:read,contract:sign"),
}


def seed_records(s: Seeder) -> None:
    companies = [s.fake.company() for _ in range(120)]
    days = s.workdays()
    _messages(s, days, companies)
    _attendance(s, days)
    _reimbursements(s, companies)
    _app_grants(s)
    _devices(s)


def _messages(s: Seeder, days: list, companies: list[str]) -> None:
    rows: list[dict[str, Any]] = []
    by_division: dict[str, list[Person]] = {}
    for p in s.people:
        by_division.setdefault(p.division, []).append(p)
    for p in s.people:
        group = s.groups[ALL_HANDS if p.department == COMPANY_NAME else department_group(p.department)]
        peers = [q for q in by_division[p.division] if q.id != p.id]
        for _ in range(40 if p.userid == "chenjing" else s.rng.randint(4, 16)):
            colleague = s.rng.choice(peers)
            if s.rng.random() < 0.6:
                conversation = f"group:{group}"
            else:
                conversation = f"dm:{min(p.id, colleague.id)}:{max(p.id, colleague.id)}"
            body = s.rng.choice(CHAT).format(
                company=s.rng.choice(companies),
                room=s.rng.choice(ROOMS),
                colleague=colleague.name,
                customer=s.fake.last_name(),
                city=s.rng.choice(("北京", "广州", "深圳", "杭州", "成都", "武汉")),
            )
            rows.append({"author_id": p.id, "conversation": conversation, "body": body, "region": s.uow.tenant.region, "sent_at": s.work_time(days), "retained_until": None, "sealed_at": None})
    rows.sort(key=lambda r: r["sent_at"])
    s.insert(messages, "message", rows)


def _attendance(s: Seeder, days: list) -> None:
    rows = []
    for day in days:
        for p in s.people:
            if s.rng.random() < 0.03:  # leave or a business trip: no record that day
                continue
            check_in = s.local(day, 8, 30) + timedelta(minutes=s.rng.randint(0, 70))
            out = s.local(day, 17, 50) + timedelta(minutes=s.rng.randint(0, 200))
            rows.append({"member_id": p.id, "day": day, "check_in": check_in, "check_out": None if s.rng.random() < 0.02 else out, "archived_at": None})
    s.insert(attendance_records, "attendance_record", rows)


def _reimbursements(s: Seeder, companies: list[str]) -> None:
    rows = []
    for p in s.people:
        if p.userid == "chenjing":
            count = 4
        elif s.rng.random() < 0.4:
            count = s.rng.randint(1, 3)
        else:
            continue
        for i in range(count):
            created = s.days_ago(0, 90)
            recent = s.now - created < timedelta(days=21)
            is_open = i < 2 if p.userid == "chenjing" else recent and s.rng.random() < 0.7
            title = s.rng.choice(REIMBURSE).format(city=s.rng.choice(("北京", "广州", "深圳", "成都")), company=s.rng.choice(companies))
            rows.append({"member_id": p.id, "title": title, "amount_cents": s.rng.randint(30, 8000) * 100 + s.rng.choice((0, 50)), "status": "open" if is_open else "closed", "created_at": created})
    s.insert(reimbursements, "reimbursement", rows)


def _apps_of(p: Person, rng_value: float) -> list[str]:
    apps = []
    if p.division == "销售中心" or p.department in ("华东客服组", "华南客服组", "客户成功部"):
        apps.append("crm")
    if rng_value < 0.5:
        apps.append("forms")
    if p.division in ("研发中心", "市场中心") or p.leads:
        apps.append("docs")
    if p.department in ("人力资源部", "招聘组", "薪酬绩效组"):
        apps.append("hr")
    if p.department in ("财务部", "会计组", "出纳组"):
        apps.append("finance")
    if p.department == "法务合规部" or (p.division == "销售中心" and p.leads):
        apps.append("sign")
    return apps


def _app_grants(s: Seeder) -> None:
    rows = []
    for p in s.people:
        for key in _apps_of(p, s.rng.random()):
            name, scopes = APPS[key]
            rows.append({"member_id": p.id, "app_name": name, "scopes": scopes, "status": "active", "granted_at": s.days_ago(10, 800), "revoked_at": None, "acknowledged_at": None})
    s.insert(app_grants, "app_grant", rows)


def _devices(s: Seeder) -> None:
    rows = []
    for p in s.people:
        owned = [s.rng.choice(PHONES)]
        if s.rng.random() < 0.75:
            owned.append(s.rng.choice(LAPTOPS))
        for model, platform in owned:
            rows.append({"member_id": p.id, "name": f"{p.name}的{model}", "platform": platform, "status": "active", "updated_at": s.days_ago(0, 30)})
    s.insert(devices, "device", rows)
