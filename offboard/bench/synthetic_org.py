"""The org chart of a synthetic enterprise, planned before a row is written.

Teams of 20-50 members are grouped bottom-up, 4-10 to a parent, until four to twelve
divisions remain under the root, so the tree grows a level each time the company grows about
sevenfold (levels below the root: 2,000 members 2, 100,000 members 4, 1,000,000 members 5 or 6). Every department's direct members are a
contiguous block of ordinals in pre-order, its leader first: SQL expands a block into members
with one join, and a member's manager is the leader of their block, or the parent's leader
for a leader. Ordinal 0 is the admin, who leads the root department.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from enum import IntEnum

TEAM_MEAN = 35
TEAM_SIZES = (20, 50)
FAN_OUT = (4, 10)
TOP_MAX = 12
ROOT_STAFF = 2  # assistants of the admin in the root department


class Line(IntEnum):
    """The line of business of a division, which decides what its members own."""

    EXECUTIVE = 0
    SALES = 1
    ENGINEERING = 2
    FUNCTIONS = 3  # HR, IT, finance, administration
    MARKETING = 4
    SERVICE = 5


DIVISIONS = (
    ("销售中心", Line.SALES),
    ("研发中心", Line.ENGINEERING),
    ("职能中心", Line.FUNCTIONS),
    ("市场中心", Line.MARKETING),
    ("客户成功中心", Line.SERVICE),
    ("产品中心", Line.ENGINEERING),
    ("渠道销售中心", Line.SALES),
    ("运营中心", Line.FUNCTIONS),
    ("数据中心", Line.ENGINEERING),
    ("国际业务中心", Line.SALES),
    ("供应链中心", Line.FUNCTIONS),
    ("品牌中心", Line.MARKETING),
)
STAFF_TITLES = {
    Line.EXECUTIVE: ("总经理助理", "战略经理", "董事会秘书"),
    Line.SALES: ("销售代表", "客户经理", "高级客户经理"),
    Line.ENGINEERING: ("软件工程师", "高级工程师", "测试工程师"),
    Line.FUNCTIONS: ("人力资源专员", "财务专员", "IT工程师"),
    Line.MARKETING: ("市场专员", "品牌经理", "内容运营"),
    Line.SERVICE: ("客户成功专员", "客服专员", "实施顾问"),
}
# By height above the teams: a team lead, a department manager, a director above that.
LEAD_TITLES = ("组长", "经理", "总监")
UNIT_WORDS = ("组", "部", "处", "事业部")


@dataclass(slots=True)
class _Unit:
    height: int
    children: list[_Unit] = field(default_factory=list)
    staff: int = 0


@dataclass(frozen=True)
class Block:
    """One department and its direct members (ordinals first_o .. first_o + size - 1)."""

    index: int  # pre-order; 0 is the root department, which the tenant already has
    parent: int | None
    depth: int
    leaf: bool
    name: str
    line: Line
    first_o: int
    size: int
    leader_o: int  # the first of the block; the admin (0) for the root
    manager_o: int | None  # of the leader: the parent's leader; None for the admin
    lead_title: str
    titles: tuple[str, str, str]


@dataclass(frozen=True)
class Org:
    members: int
    blocks: list[Block]  # pre-order: a parent before its children

    @property
    def departments(self) -> int:
        """Departments to insert: all but the root."""
        return len(self.blocks) - 1


def plan_org(members: int, seed: int) -> Org:
    """The same (members, seed) gives the same tree, names and blocks."""
    rng = random.Random(seed)
    staff = members - 1  # everyone but the admin
    teams = max(1, round(staff / TEAM_MEAN)) if staff else 0
    level = [_Unit(0) for _ in range(teams)]
    while len(level) > TOP_MAX:
        level = [_Unit(level[0].height + 1, level[start:end]) for start, end in _runs(rng, len(level))]
    root = _Unit(level[0].height + 1 if level else 0, level)
    inner = [u for u in _walk(root) if u.children and u is not root]
    for unit in inner:
        unit.staff = 1 + rng.randint(0, 2)
    root.staff = min(ROOT_STAFF, max(0, staff - teams - len(inner)))
    _fill_teams(rng, [u for u in _walk(root) if not u.children and u is not root], staff - root.staff - sum(u.staff for u in inner))
    return Org(members, list(_layout(root)))


def _runs(rng: random.Random, n: int) -> Iterator[tuple[int, int]]:
    """Consecutive runs of FAN_OUT units; the last pass below the root makes four to TOP_MAX
    divisions rather than one or two giants."""
    if n <= TOP_MAX * FAN_OUT[0]:
        parts = -(-n // FAN_OUT[0])
        bounds = [n * i // parts for i in range(parts + 1)]
        yield from zip(bounds, bounds[1:])
        return
    start = 0
    while start < n:
        end = min(n, start + rng.randint(*FAN_OUT))
        yield start, end
        start = end


def _walk(unit: _Unit) -> Iterator[_Unit]:
    stack = [unit]
    while stack:
        u = stack.pop()
        yield u
        stack.extend(reversed(u.children))


def _fill_teams(rng: random.Random, teams: list[_Unit], people: int) -> None:
    """Share `people` among the teams in proportion to sizes drawn from TEAM_SIZES."""
    if not teams:
        return
    weights = [rng.randint(*TEAM_SIZES) for _ in teams]
    total = sum(weights)
    sizes = [w * people // total for w in weights]
    for i in range(people - sum(sizes)):
        sizes[i % len(sizes)] += 1
    for team, size in zip(teams, sizes, strict=True):
        team.staff = size


def _layout(root: _Unit) -> Iterator[Block]:
    """Pre-order blocks with ordinals, names, lines and titles; a team left empty by a tiny
    company is skipped."""
    next_o = 1 + root.staff
    yield Block(0, None, 0, not root.children, "", Line.EXECUTIVE, 1, root.staff, 0, None, "总经理", STAFF_TITLES[Line.EXECUTIVE])
    numbers: dict[tuple[int, int], int] = {}
    index = 1
    # (unit, parent block index, parent leader ordinal, depth, division number)
    stack = [(child, 0, 0, 1, i) for i, child in reversed(list(enumerate(root.children)))]
    while stack:
        unit, parent, parent_leader, depth, division = stack.pop()
        if unit.staff == 0:
            continue
        name, line = DIVISIONS[division % len(DIVISIONS)]
        if division >= len(DIVISIONS):
            name = f"{name}{division // len(DIVISIONS) + 1}"
        if depth > 1:
            key = (division, unit.height)
            numbers[key] = numbers.get(key, 0) + 1
            name = f"{name.removesuffix('中心')}{UNIT_WORDS[min(unit.height, len(UNIT_WORDS) - 1)]}{numbers[key]}"
        lead_title = "副总裁" if depth == 1 else LEAD_TITLES[min(unit.height, len(LEAD_TITLES) - 1)]
        block = Block(index, parent, depth, not unit.children, name, line, next_o, unit.staff, next_o, parent_leader, lead_title, STAFF_TITLES[line])
        yield block
        next_o += unit.staff
        stack.extend((child, index, block.leader_o, depth + 1, division) for child in reversed(unit.children))
        index += 1
