"""Transferable resources of the demo (SPEC §3): customers, groups, documents, calendars,
approvals and self-built apps, owned so that chenjing's exit has something of every kind."""

from __future__ import annotations

from typing import Any

from offboard.demo.seeding import Person, Seeder
from offboard.store.tables import (
    approval_tasks,
    approval_templates,
    calendars,
    customer_groups,
    documents,
    external_contacts,
    internal_group_members,
    internal_groups,
    self_built_apps,
)

SALES_DIVISION = "销售中心"
ALL_HANDS = "星河科技全员群"
STAR = "chenjing"

DOCS = {
    "销售中心": ("{company}报价单.xlsx", "{company}合作方案.pptx", "客户拜访记录-{month}月.docx", "{city}区域{quarter}销售预测.xlsx", "投标文件-{company}.pdf"),
    "研发中心": ("{system}技术方案.docx", "{system}接口文档 v{n}.md", "{quarter}迭代计划.xlsx", "线上故障复盘-{month}月.docx", "{system}压测报告.pdf"),
    "职能中心": ("{year}年{quarter}工作总结.docx", "制度汇编-{month}月修订.docx", "供应商名单.xlsx", "培训签到表-{month}月.xlsx"),
    "市场中心": ("{city}站活动策划案.pptx", "{quarter}品牌投放计划.xlsx", "客户满意度调研-{month}月.docx", "公众号选题库.xlsx"),
}
SYSTEMS = ("订单中心", "用户中心", "支付网关", "消息推送", "数据中台", "权限系统", "搜索服务", "客户门户")
STAR_DOCS = ("2026年华东区销售目标.xlsx", "华东区重点客户清单.xlsx", "华东销售部周会纪要.docx", "大客户报价策略.pptx", "渠道返点政策（华东）.pdf", "华东区竞品分析.docx")

# (template name, owner userid or None for the named department's leader, department)
TEMPLATES = (
    ("销售合同审批", STAR, None),
    ("客户折扣申请", STAR, None),
    ("华东区市场费用申请", STAR, None),
    ("请假申请", "wangfang", None),
    ("离职申请", "wangfang", None),
    ("转正申请", "wangfang", None),
    ("IT设备申领", "liuyang", None),
    ("系统权限申请", "liuyang", None),
    ("费用报销", None, "财务部"),
    ("付款申请", None, "财务部"),
    ("借款申请", None, "财务部"),
    ("用印申请", None, "行政部"),
    ("办公用品领用", None, "行政部"),
    ("合同法务审核", "sunli", None),
)
APPS = (
    ("华东销售助手", STAR, None),
    ("IT服务台", "liuyang", None),
    ("门禁考勤同步", "liuyang", None),
    ("入离职助手", "wangfang", None),
    ("发布通知机器人", None, "平台研发部"),
    ("报销小助手", None, "财务部"),
)


def department_group(department: str) -> str:
    return f"{department}群"


def _owner(s: Seeder, userid: str | None, department: str | None) -> Person:
    """An entry of TEMPLATES or APPS names its owner, else the department whose leader owns it."""
    if userid:
        return s.person(userid)
    assert department is not None, "the entry names neither an owner nor a department"
    return s.leader_of(department)


def seed_resources(s: Seeder) -> None:
    companies = [s.fake.company() for _ in range(400)]
    _contacts_and_customer_groups(s, companies)
    _internal_groups(s)
    _documents(s, companies)
    _calendars(s)
    _approvals(s, companies)
    owners = [_owner(s, userid, dept) for _, userid, dept in APPS]
    s.insert(
        self_built_apps,
        "self_built_app",
        [{"owner_id": owner.id, "version": 1, "created_at": s.days_ago(60, 700), "name": name, "agent_id": str(1000011 + i)} for i, ((name, _, _), owner) in enumerate(zip(APPS, owners, strict=True))],
    )


def _contacts_and_customer_groups(s: Seeder, companies: list[str]) -> None:
    contacts: list[dict[str, Any]] = []
    groups: list[dict[str, Any]] = []
    per_city: dict[str, int] = {}
    for p in s.people:
        if p.division == SALES_DIVISION:
            n = {STAR: 72, "zhaolei": 48}.get(p.userid) or (10 if p.leads == SALES_DIVISION else s.rng.randint(15, 40))
        elif p.department in ("华东客服组", "华南客服组"):
            n = s.rng.randint(4, 10)
        else:
            continue
        for _ in range(n):
            contacts.append({"owner_id": p.id, "version": 1, "created_at": s.days_ago(1, 700), "name": s.fake.name(), "company": s.rng.choice(companies), "mobile": s.fake.phone_number()})
        if p.userid == STAR:
            names = [f"华东大客户群{i}" for i in range(1, 7)]
        elif p.division == SALES_DIVISION:
            names = []
            for _ in range(s.rng.randint(0, 3)):
                per_city[p.city] = per_city.get(p.city, 0) + 1
                names.append(f"{p.city}{s.rng.choice(('客户', 'VIP客户', '项目对接', '售后服务'))}群{per_city[p.city]}")
        else:
            continue
        for name in names:
            groups.append({"owner_id": p.id, "version": 1, "created_at": s.days_ago(1, 500), "name": name, "member_count": s.rng.randint(5, 280), "restricted": False, "restricted_reason": None})
    s.insert(external_contacts, "external_contact", contacts)
    s.insert(customer_groups, "customer_group", groups)


def _internal_groups(s: Seeder) -> None:
    specs: list[tuple[str, Person, list[Person]]] = []
    for d in s.plan.departments:
        name = department_group(d.name) if d.parent else ALL_HANDS
        specs.append((name, s.person(d.leader), s.in_subtree(d.name)))
    star = s.person(STAR)
    specs += [
        ("华东大客户攻坚组", star, [star, *s.reports_of(STAR)]),
        ("双十一大促备战群", s.leader_of("品牌市场部"), s.in_subtree("品牌市场部") + s.in_subtree("大客户部")),
        ("数据中台项目群", s.leader_of("数据智能部"), s.in_subtree("数据智能部") + s.in_subtree("后端组")),
        ("2027年会筹备群", s.leader_of("行政部"), s.in_subtree("行政部") + s.in_subtree("活动组") + s.in_subtree("招聘组")),
        ("IT服务支持群", s.person("liuyang"), s.in_subtree("信息技术部") + [s.person(d.leader) for d in s.plan.departments]),
    ]
    group_ids = s.insert(internal_groups, "internal_group", [{"owner_id": owner.id, "version": 1, "created_at": s.days_ago(30, 900), "name": name} for name, owner, _ in specs])
    rows = []
    for gid, (_, owner, people) in zip(group_ids, specs, strict=True):
        for member_id in sorted({owner.id, *(p.id for p in people)}):
            rows.append({"group_id": gid, "member_id": member_id, "joined_at": s.days_ago(1, 30)})
    s.insert(internal_group_members, "internal_group_member", rows)
    s.groups.update({name: gid for gid, (name, _, _) in zip(group_ids, specs, strict=True)})


def _documents(s: Seeder, companies: list[str]) -> None:
    rows = []
    for p in s.people:
        titles = list(STAR_DOCS) if p.userid == STAR else []
        patterns = DOCS.get(p.division, DOCS["职能中心"])
        for _ in range(s.rng.randint(1, 4)):
            titles.append(
                s.rng.choice(patterns).format(
                    company=s.rng.choice(companies).removesuffix("有限公司"),
                    city=p.city,
                    month=s.rng.randint(1, 12),
                    quarter=f"Q{s.rng.randint(1, 4)}",
                    year=s.rng.choice((2025, 2026)),
                    system=s.rng.choice(SYSTEMS),
                    n=f"{s.rng.randint(1, 3)}.{s.rng.randint(0, 9)}",
                )
            )
        for title in titles:
            rows.append({"owner_id": p.id, "version": 1, "created_at": s.days_ago(1, 700), "title": title, "size_bytes": s.rng.randint(12_000, 25_000_000), "archived": False, "deleted_at": None})
    s.insert(documents, "document", rows)


def _calendars(s: Seeder) -> None:
    owned = [(s.person("zhangwei"), "总经理办公会"), (s.person(STAR), "华东区客户拜访日程")]
    owned += [(s.person(d.leader), f"{d.name}团队日历") for d in s.plan.departments if d.depth == 2]
    owned += [(s.leader_of("行政部"), "会议室预订-12F"), (s.leader_of("行政部"), "会议室预订-15F")]
    s.insert(calendars, "calendar", [{"owner_id": p.id, "version": 1, "created_at": s.days_ago(30, 900), "name": name, "deleted_at": None} for p, name in owned])


def _approvals(s: Seeder, companies: list[str]) -> None:
    owners = [_owner(s, userid, dept) for _, userid, dept in TEMPLATES]
    template_ids = s.insert(
        approval_templates, "approval_template", [{"owner_id": owner.id, "version": 1, "created_at": s.days_ago(200, 900), "name": name} for (name, _, _), owner in zip(TEMPLATES, owners, strict=True)]
    )
    by_name = {name: (tid, owner) for (name, _, _), tid, owner in zip(TEMPLATES, template_ids, owners, strict=True)}
    tasks = []

    def task(template: str, requester: Person, approver: Person, detail: str, status: str) -> None:
        tasks.append(
            {
                "owner_id": approver.id,
                "version": 1,
                "created_at": s.days_ago(0, 20 if status == "pending" else 120),
                "template_id": by_name[template][0],
                "title": f"{template}｜{requester.name}｜{detail}",
                "status": status,
            }
        )

    team = s.in_subtree("华东销售部")
    for i in range(13):  # chenjing approves her team's contracts and discounts: 8 still wait on her
        template = ("销售合同审批", "客户折扣申请", "华东区市场费用申请")[i % 3]
        detail = f"{s.rng.choice(companies)} ¥{s.rng.randint(5, 300) * 1000:,}"
        task(template, s.rng.choice(team[1:]), s.person(STAR), detail, "pending" if i < 8 else "approved")
    managed = [(p, p.manager) for p in s.people if p.manager]
    others = [p for p, _ in managed]
    for _ in range(60):
        p, manager = s.rng.choice(managed)
        template, detail = s.rng.choice((("请假申请", f"年假{s.rng.randint(1, 5)}天"), ("请假申请", "病假1天"), ("费用报销", f"¥{s.rng.randint(80, 6000)}"), ("转正申请", "试用期满")))
        task(template, p, s.person(manager), detail, "pending" if s.rng.random() < 0.35 else "approved")
    for template, approver, detail in (("IT设备申领", "liuyang", "MacBook Pro 14"), ("系统权限申请", "liuyang", "CRM 管理员"), ("合同法务审核", "sunli", "框架合作协议"), ("用印申请", None, "合同章")):
        for _ in range(3):
            approver_p = s.person(approver) if approver else by_name[template][1]
            task(template, s.rng.choice(others), approver_p, detail, "pending")
    s.insert(approval_tasks, "approval_task", tasks)
