"""The demo company's org chart as data, and the deterministic plan of its 300 members.

Four levels: the company, divisions (中心), departments (部) and teams (组). Each unit's
first member is its leader; the leader manages everyone placed directly in the unit and
the leaders of its sub-units, so every department's leader is its members' manager.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from faker import Faker

from offboard.demo.names import NameDrawer
from offboard.demo.personas import PERSONAS

COMPANY_NAME = "星河科技有限公司"
EMAIL_DOMAIN = "xinghe-tech.cn"

SALES = ("销售代表", "销售代表", "高级销售代表", "客户经理", "大客户经理")
SUPPORT = ("客户成功专员", "客户成功专员", "高级客户成功专员", "客服专员")


@dataclass(frozen=True)
class Unit:
    name: str
    size: int  # members placed directly in this unit, its leader included
    leader_title: str
    titles: tuple[str, ...] = ()
    children: tuple[Unit, ...] = ()
    city: str | None = None


def _team(name: str, size: int, titles: tuple[str, ...], city: str | None = None, lead: str = "组长") -> Unit:
    return Unit(name, size, lead, titles, city=city)


TREE = Unit(
    COMPANY_NAME,
    3,
    "总经理",
    ("总经理助理", "战略发展经理"),
    city="上海",
    children=(
        Unit(
            "销售中心",
            2,
            "销售副总裁",
            ("销售运营经理",),
            city="上海",
            children=(
                Unit(
                    "华东销售部",
                    6,
                    "销售总监",
                    ("高级客户经理", "大客户经理", "客户经理", "销售助理"),
                    city="上海",
                    children=(
                        _team("上海一组", 12, SALES, "上海", "销售组长"),
                        _team("上海二组", 12, SALES, "上海", "销售组长"),
                        _team("杭州组", 10, SALES, "杭州", "销售组长"),
                        _team("南京组", 8, SALES, "南京", "销售组长"),
                    ),
                ),
                Unit(
                    "华南销售部",
                    4,
                    "销售总监",
                    ("销售经理", "客户经理"),
                    city="广州",
                    children=(
                        _team("广州组", 10, SALES, "广州", "销售组长"),
                        _team("深圳组", 10, SALES, "深圳", "销售组长"),
                    ),
                ),
                Unit(
                    "华北销售部",
                    4,
                    "销售总监",
                    ("销售经理", "客户经理"),
                    city="北京",
                    children=(
                        _team("北京组", 10, SALES, "北京", "销售组长"),
                        _team("天津组", 7, SALES, "天津", "销售组长"),
                    ),
                ),
                Unit("渠道合作部", 10, "渠道总监", ("渠道经理", "渠道经理", "合作伙伴经理"), city="上海"),
                Unit("大客户部", 6, "大客户总监", ("大客户经理", "解决方案顾问"), city="上海"),
            ),
        ),
        Unit(
            "研发中心",
            2,
            "研发副总裁",
            ("技术专家",),
            children=(
                Unit(
                    "平台研发部",
                    3,
                    "研发总监",
                    ("架构师", "技术经理"),
                    children=(
                        _team("后端组", 16, ("后端工程师", "后端工程师", "高级后端工程师", "资深后端工程师")),
                        _team("前端组", 12, ("前端工程师", "前端工程师", "高级前端工程师")),
                        _team("测试组", 10, ("测试工程师", "测试工程师", "测试开发工程师")),
                    ),
                ),
                Unit(
                    "移动研发部",
                    3,
                    "研发总监",
                    ("技术经理",),
                    children=(
                        _team("iOS组", 8, ("iOS工程师", "高级iOS工程师")),
                        _team("Android组", 9, ("Android工程师", "高级Android工程师")),
                    ),
                ),
                Unit(
                    "数据智能部",
                    3,
                    "数据总监",
                    ("数据架构师",),
                    children=(
                        _team("数据平台组", 9, ("数据工程师", "高级数据工程师")),
                        _team("算法组", 8, ("算法工程师", "高级算法工程师")),
                    ),
                ),
                Unit(
                    "产品设计部",
                    3,
                    "产品总监",
                    ("高级产品经理",),
                    children=(
                        _team("产品组", 10, ("产品经理", "产品经理", "产品助理")),
                        _team("设计组", 7, ("UI设计师", "交互设计师", "视觉设计师")),
                    ),
                ),
            ),
        ),
        Unit(
            "职能中心",
            2,
            "副总经理",
            ("运营经理",),
            children=(
                Unit(
                    "人力资源部",
                    3,
                    "人力资源总监",
                    ("HRBP", "员工关系专员"),
                    children=(
                        _team("招聘组", 5, ("招聘专员", "高级招聘专员")),
                        _team("薪酬绩效组", 4, ("薪酬专员", "绩效专员")),
                    ),
                ),
                Unit(
                    "信息技术部",
                    3,
                    "IT经理",
                    ("IT工程师", "信息安全工程师"),
                    children=(
                        _team("运维组", 6, ("运维工程师", "高级运维工程师")),
                        _team("桌面支持组", 5, ("IT支持专员",)),
                    ),
                ),
                Unit(
                    "财务部",
                    3,
                    "财务总监",
                    ("财务经理",),
                    children=(
                        _team("会计组", 6, ("会计", "总账会计", "成本会计")),
                        _team("出纳组", 3, ("出纳",)),
                    ),
                ),
                Unit("行政部", 6, "行政经理", ("行政专员", "前台", "行政专员")),
                Unit("法务合规部", 1, "法务经理"),
            ),
        ),
        Unit(
            "市场中心",
            2,
            "市场副总裁",
            ("市场经理",),
            children=(
                Unit(
                    "品牌市场部",
                    3,
                    "品牌总监",
                    ("品牌经理",),
                    children=(
                        _team("品牌组", 6, ("品牌专员", "内容运营", "新媒体运营")),
                        _team("活动组", 6, ("活动策划", "活动执行")),
                    ),
                ),
                Unit(
                    "客户成功部",
                    3,
                    "客户成功总监",
                    ("客户成功经理",),
                    children=(
                        _team("华东客服组", 8, SUPPORT, "上海"),
                        _team("华南客服组", 8, SUPPORT, "广州"),
                    ),
                ),
            ),
        ),
    ),
)

# A few members sit in a second department too, so headcount coverage has overlaps to count.
SECONDARY = {"上海二组": "大客户部", "前端组": "iOS组", "招聘组": "行政部"}


@dataclass(frozen=True)
class DeptPlan:
    name: str
    parent: str | None
    depth: int
    division: str  # the depth-1 ancestor's name; the company itself for the root
    city: str | None
    leader: str  # userid


@dataclass(frozen=True)
class MemberPlan:
    userid: str
    name: str
    title: str
    email: str
    mobile: str
    departments: tuple[str, ...]  # the first is primary
    manager: str | None
    division: str
    city: str | None
    leads: str | None = None  # the department this member leads


@dataclass
class CompanyPlan:
    departments: list[DeptPlan] = field(default_factory=list)  # pre-order: parents first
    members: list[MemberPlan] = field(default_factory=list)  # managers before their reports

    def member(self, userid: str) -> MemberPlan:
        return next(m for m in self.members if m.userid == userid)


def plan_company(seed: int) -> CompanyPlan:
    """The same seed gives the same names, userids, titles and mobiles."""
    fake = Faker("zh_CN")
    fake.seed_instance(seed)
    drawer = NameDrawer(fake, {p.name for p in PERSONAS}, {p.userid for p in PERSONAS})
    plan = CompanyPlan()
    _place(plan, fake, drawer, TREE, parent=None, parent_leader=None, depth=0, division=TREE.name, city=TREE.city)
    return plan


def _place(plan: CompanyPlan, fake: Faker, drawer: NameDrawer, unit: Unit, *, parent: str | None, parent_leader: str | None, depth: int, division: str, city: str | None) -> None:
    city = unit.city or city
    here = [p for p in PERSONAS if p.department == unit.name]
    lead = next((p for p in here if p.leads), None)
    if lead:
        leader = _member(fake, lead.userid, lead.name, lead.title, unit.name, parent_leader, division, city, leads=unit.name)
    else:
        name, userid = drawer.draw()
        leader = _member(fake, userid, name, unit.leader_title, unit.name, parent_leader, division, city, leads=unit.name)
    plan.departments.append(DeptPlan(unit.name, parent, depth, division, city, leader.userid))
    plan.members.append(leader)
    staff = [_member(fake, p.userid, p.name, p.title, unit.name, leader.userid, division, city) for p in here if not p.leads]
    while len(staff) < unit.size - 1:
        name, userid = drawer.draw()
        extra = (SECONDARY[unit.name],) if unit.name in SECONDARY and len(staff) == 1 else ()
        title = fake.random_element(unit.titles)
        staff.append(_member(fake, userid, name, title, unit.name, leader.userid, division, city, extra=extra))
    plan.members.extend(staff)
    for child in unit.children:
        _place(plan, fake, drawer, child, parent=unit.name, parent_leader=leader.userid, depth=depth + 1, division=child.name if depth == 0 else division, city=city)


def _member(
    fake: Faker, userid: str, name: str, title: str, department: str, manager: str | None, division: str, city: str | None, *, leads: str | None = None, extra: tuple[str, ...] = ()
) -> MemberPlan:
    return MemberPlan(
        userid=userid,
        name=name,
        title=title,
        email=f"{userid}@{EMAIL_DOMAIN}",
        mobile=fake.phone_number(),
        departments=(department, *extra),
        manager=manager,
        division=division,
        city=city,
        leads=leads,
    )
