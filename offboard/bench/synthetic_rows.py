"""What a synthetic member owns and leaves behind, table by table, skewed like real data.

Owned resources: the key account managers (1% of all members, in the sales lines) hold
100-3,000 external contacts each (240 on average, most near 100), and 10-50 customer groups. Everyone
else gets a share of the full shape below, scaled by `:pct` so that the tenant reaches the
requested mean (SPEC §10's layoff benchmark: 50 per member, 5 million at 100,000 members):
sales staff 5-90 contacts, service staff a few, documents 1-40 (engineering and marketing
5-65), approvals waiting on leaders, and now and then a calendar, a project group, a template
or a self-built app. Every member also has 0-40 messages (20 on average: SPEC §10's 2 million
at 100,000), 10 workdays of attendance, a phone and mostly a laptop, 1-3 app grants, now and
then a reimbursement; 1% a personal API token and 2% a session. Lines are matched by number
(offboard.bench.synthetic_org.Line: 1 sales, 2 engineering, 3 functions, 4 marketing,
5 service).
"""

from __future__ import annotations

from offboard.bench.synthetic_sql import TS_SLOTS, Dialect, RowSpec, ago, pick

WORKDAYS = 10

COMPANIES = tuple(
    f"{n}有限公司"
    for n in (
        "华创科技",
        "远景制造",
        "宏达物流",
        "博越医疗",
        "天衡咨询",
        "中联建设",
        "瑞丰食品",
        "金桥贸易",
        "智联软件",
        "恒信商务",
        "东方印务",
        "新航教育",
        "鼎盛置业",
        "安和保险",
        "云帆传媒",
        "盛世零售",
    )
)
CUSTOMER_GROUPS = ("客户群", "VIP客户群", "项目对接群", "售后服务群")
PROJECT_GROUPS = ("项目群", "攻坚组", "专项小组", "虚拟团队")
DOCUMENTS = (
    ("项目方案-", ".docx"),
    ("周报-", ".docx"),
    ("会议纪要-", ".docx"),
    ("需求文档-", ".md"),
    ("报价单-", ".xlsx"),
    ("合同-", ".pdf"),
    ("技术方案-", ".docx"),
    ("复盘报告-", ".pptx"),
    ("预算表-", ".xlsx"),
    ("培训材料-", ".pptx"),
)
TEMPLATES = ("请假申请", "费用报销", "出差申请", "采购申请", "用印申请", "合同审批", "付款申请", "招聘需求")
TASKS = ("请假申请", "费用报销", "出差申请", "采购申请", "合同审批", "转正申请")
APPS = ("审批助手", "考勤同步", "发布机器人", "报销小助手", "IT服务台")
CHAT = (
    "收到，我这边跟进一下。",
    "报价单已经发到邮箱了，麻烦看一下。",
    "明天上午十点开周会，大家准时参加。",
    "合同盖章版的扫描件我放在群文件里了。",
    "这周的周报请在周五下班前提交。",
    "客户反馈系统登录报错，帮忙看一下？",
    "下午去拜访客户，预计五点回公司。",
    "好的，没问题👍",
    "发布窗口定在周四晚上八点，请提前做好回归测试。",
    "本月报销请在25号前提交。",
    "会议纪要已更新到共享文档，请查阅。",
    "辛苦了，今天先到这里。",
)
REIMBURSEMENTS = ("出差交通费", "出差住宿费", "客户招待餐费", "办公用品采购", "团队建设活动费用", "加班打车费")
DEVICES = (
    ("iPhone 15 Pro", "ios"),
    ("华为 Mate 60 Pro", "android"),
    ("小米 14", "android"),
    ("iPhone 14", "ios"),
    ("MacBook Pro 14", "macos"),
    ("ThinkPad X1 Carbon", "windows"),
    ("华为 MateBook X Pro", "windows"),
    ("MacBook Air 13", "macos"),
)
GRANTS = (
    ("纷享销客 CRM", "customer:read,customer:write,contact:read"),
    ("金数据", "form:read,form:write"),
    ("石墨文档", "doc:read,doc:write"),
    ("北森 iTalent", "employee:read,employee:write"),
    ("用友 YonSuite", "finance:read,finance:write"),
    ("e签宝", "contract:read,contract:sign"),
)

ROW_ID = "{id}"
NAME_JOIN = "JOIN synthetic_names cn ON cn.k = (m.hk + s.k * 7919) % :names"


def _at(alias: str, days: int, salt: int = 40503) -> str:
    return f"JOIN synthetic_times {alias} ON {alias}.k = {ago(f'm.hk + s.k * {salt}', days)}"


def _resource(table: str, salt: int, base: str, days: int, columns: dict[str, str], joins: str = "", heavy: str | None = None) -> RowSpec:
    defaults = {"id": ROW_ID, "owner_id": "m.id", "version": "1", "created_at": "ts.ts"}
    return RowSpec(table, salt, base, {**defaults, **columns}, f"{_at('ts', days)} {joins}", scaled=True, heavy=heavy)


def _heavy_tail(low: int, high: int) -> str:
    """low + (high - low) * u^20 for u uniform in [0, 1], in integer steps of a thousandth:
    most draws stay near `low`, one in twenty passes a third of `high` (mean low + (high - low) / 21)."""
    x = "(hk % 1001)"
    u2 = f"({x} * {x} / 1000)"
    u4 = f"({u2} * {u2} / 1000)"
    u16 = f"(((({u4} * {u4} / 1000) * ({u4} * {u4} / 1000)) / 1000))"
    return f"({low} + {high - low} * ({u16} * {u4} / 1000) / 1000)"


def _record(table: str, salt: int, count: str, columns: dict[str, str], joins: str) -> RowSpec:
    return RowSpec(table, salt, count, {"id": ROW_ID, "member_id": "m.id", **columns}, joins)


def _named(values: tuple[str, ...], index: str = "m.hk + s.k") -> str:
    return f"{pick(index, values)} || CAST({ROW_ID} AS TEXT)"


def owned(with_templates: bool) -> list[RowSpec]:
    """The eight transferable kinds of RESOURCE_TABLES, templates before the tasks that use them
    (a task names `:tfirst` + one of `:tcount` templates, or none when there are none)."""
    template = ":tfirst + (m.hk + s.k * 31) % :tcount" if with_templates else "NULL"
    return [
        _resource(
            "external_contacts",
            101,
            "CASE WHEN line = 1 THEN 5 + hk % 86 WHEN line = 5 THEN hk % 16 WHEN hk % 10 = 0 THEN 1 + hk % 5 ELSE 0 END",
            730,
            {"name": "cn.name", "company": pick("m.hk + s.k * 31", COMPANIES), "mobile": "'1' || CAST(3000000000 + (m.hk * 7 + s.k * 104729) % 7000000000 AS TEXT)"},
            NAME_JOIN,
            heavy=_heavy_tail(100, 3000),
        ),
        _resource(
            "customer_groups",
            102,
            "CASE WHEN line = 1 THEN hk % 6 WHEN line = 5 THEN hk % 3 ELSE 0 END",
            500,
            {"name": _named(CUSTOMER_GROUPS), "member_count": "5 + (m.hk + s.k * 13) % 276", "restricted": "FALSE", "restricted_reason": "NULL"},
            heavy="10 + hk % 41",
        ),
        # Project groups; every department has its group too (department_groups).
        _resource("internal_groups", 103, "CASE WHEN o > 0 AND hk % 12 = 0 THEN 1 ELSE 0 END", 365, {"name": _named(PROJECT_GROUPS)}),
        _resource(
            "documents",
            104,
            "CASE WHEN line IN (2, 4) THEN 5 + hk % 61 ELSE 1 + hk % 40 END",
            730,
            {
                "title": f"{pick('m.hk + s.k', tuple(t for t, _ in DOCUMENTS))} || CAST({ROW_ID} AS TEXT) || {pick('m.hk + s.k', tuple(e for _, e in DOCUMENTS))}",
                "size_bytes": "12000 + (m.hk + s.k * 7919) % 25000000",
                "archived": "FALSE",
                "deleted_at": "NULL",
            },
        ),
        _resource(
            "calendars",
            105,
            "CASE WHEN lead = 1 OR hk % 20 = 0 THEN 1 ELSE 0 END",
            730,
            {"name": f"CASE WHEN m.lead = 1 THEN '团队日历' ELSE '共享日历' END || CAST({ROW_ID} AS TEXT)", "deleted_at": "NULL"},
        ),
        _resource("approval_templates", 106, "CASE WHEN lead = 1 AND leaf = 0 THEN 1 + hk % 3 ELSE 0 END", 730, {"name": pick("m.hk + s.k", TEMPLATES)}),
        _resource(
            "approval_tasks",
            107,
            "CASE WHEN lead = 1 THEN 5 + hk % 36 WHEN hk % 4 = 0 THEN 1 + hk % 3 ELSE 0 END",
            60,
            {"template_id": template, "title": f"{pick('m.hk + s.k', TASKS)} || '｜' || cn.name", "status": "CASE WHEN (m.hk + s.k) % 10 < 4 THEN 'pending' ELSE 'approved' END"},
            NAME_JOIN,
        ),
        _resource("self_built_apps", 108, "CASE WHEN line IN (2, 3) AND hk % 100 = 0 THEN 1 ELSE 0 END", 700, {"name": _named(APPS), "agent_id": f"CAST(1000000 + {ROW_ID} AS TEXT)"}),
    ]


def records(dialect: Dialect) -> list[RowSpec]:
    """The subject records (SPEC §3), sessions and personal API tokens."""
    partner = "m.id + 1 + (m.hk + s.k) % 5"
    return [
        RowSpec(
            "messages",
            201,
            "hk % 41",
            {
                "id": ROW_ID,
                "author_id": "m.id",
                "conversation": f"CASE WHEN (m.hk + s.k) % 5 < 3 OR {partner} > :maxid THEN 'group:' || CAST(m.g AS TEXT) ELSE 'dm:' || CAST(m.id AS TEXT) || ':' || CAST({partner} AS TEXT) END",
                "body": pick("m.hk + s.k * 7", CHAT),
                "region": ":region",
                "sent_at": "ts.ts",
                "retained_until": "NULL",
                "sealed_at": "NULL",
            },
            _at("ts", 30),
        ),
        _record(
            "attendance_records",
            202,
            str(WORKDAYS),
            {"day": "dd.day", "check_in": "dd.check_in", "check_out": "dd.check_out", "archived_at": "NULL"},
            "JOIN synthetic_days dd ON dd.k = (s.k - 1) * 16 + (m.hk + s.k) % 16",
        ),
        _record(
            "reimbursements",
            203,
            "CASE WHEN hk % 10 < 4 THEN 1 + hk % 3 ELSE 0 END",
            {
                "title": pick("m.hk + s.k", REIMBURSEMENTS),
                "amount_cents": "3000 + (m.hk + s.k * 7919) % 800000",
                "status": "CASE WHEN (m.hk + s.k) % 10 < 3 THEN 'open' ELSE 'closed' END",
                "created_at": "ts.ts",
            },
            _at("ts", 90),
        ),
        _record(
            "devices",
            204,
            "CASE WHEN hk % 4 = 0 THEN 1 ELSE 2 END",  # a phone, and a laptop for three in four
            {
                "name": pick("(s.k - 1) * 4 + m.hk % 4", tuple(n for n, _ in DEVICES)),
                "platform": pick("(s.k - 1) * 4 + m.hk % 4", tuple(p for _, p in DEVICES)),
                "status": "'active'",
                "updated_at": "ts.ts",
            },
            _at("ts", 30),
        ),
        _record(
            "app_grants",
            205,
            "1 + hk % 3",
            {
                "app_name": pick("m.line + s.k * 2 + m.hk", tuple(n for n, _ in GRANTS)),
                "scopes": pick("m.line + s.k * 2 + m.hk", tuple(s for _, s in GRANTS)),
                "status": "'active'",
                "granted_at": "ts.ts",
                "revoked_at": "NULL",
                "acknowledged_at": "NULL",
                "acknowledged_by": "NULL",
            },
            _at("ts", 730),
        ),
        # A token or session hash that is not hex matches no presented secret: synthetic
        # members cannot sign in (they have no credentials either), yet an exit revokes these.
        _record(
            "api_tokens",
            206,
            "CASE WHEN hk % 100 = 0 THEN 1 ELSE 0 END",
            {
                "name": "'自动化脚本'",
                "prefix": f"CAST({ROW_ID} AS TEXT)",
                "token_hash": f"'synthetic:' || CAST({ROW_ID} AS TEXT)",
                "scopes": dialect.json('["plan", "read_directory"]'),
                "created_by": "'member:' || CAST(m.id AS TEXT)",
                "created_at": "ts.ts",
                "expires_at": "NULL",
                "last_used_at": "used.ts",
                "revoked_at": "NULL",
            },
            f"{_at('ts', 365)} {_at('used', 7, 7)}",
        ),
        _record(
            "sessions",
            207,
            "CASE WHEN hk % 50 = 0 THEN 1 ELSE 0 END",
            {
                "token_hash": f"'synthetic:' || CAST({ROW_ID} AS TEXT)",
                "created_at": "ts.ts",
                "expires_at": "later.ts",
                "last_seen_at": "ts.ts",
                "revoked_at": "NULL",
                "stage": "'full'",
                "verified_at": "NULL",
            },
            f"{_at('ts', 1)} JOIN synthetic_times later ON later.k = {TS_SLOTS}",
        ),
    ]


def by_table(specs: list[RowSpec]) -> dict[str, RowSpec]:
    return {s.table: s for s in specs}


def department_group_members() -> RowSpec:
    """Everyone is in their department's group chat."""
    return RowSpec("internal_group_members", 301, "1", {"group_id": "m.g", "member_id": "m.id", "joined_at": "ts.ts"}, _at("ts", 365))
