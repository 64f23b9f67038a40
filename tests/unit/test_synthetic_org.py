"""The org chart of a synthetic enterprise (offboard.bench.synthetic_org), planned without a
database, and the names its members get."""

from __future__ import annotations

import pytest

from offboard.bench.synthetic import names
from offboard.bench.synthetic_org import DIVISIONS, Line, plan_org
from offboard.i18n.pinyin import search_key


@pytest.mark.parametrize("size", [1, 2, 3, 20, 60, 300, 2000, 100_000])
def test_every_member_has_one_place_and_ordinals_are_contiguous_in_pre_order(size):
    org = plan_org(size, seed=1)
    assert 1 + sum(b.size for b in org.blocks) == size
    next_o = 1
    for b in org.blocks:
        assert b.first_o == next_o
        next_o += b.size
        assert b.parent is None if b.index == 0 else b.parent < b.index
    assert org.blocks[0].leader_o == 0 and org.blocks[0].manager_o is None


def test_teams_have_20_to_50_members_under_a_tree_of_a_few_levels():
    for size, levels in ((2000, {2}), (100_000, {4}), (1_000_000, {5, 6})):
        org = plan_org(size, seed=2)
        teams = [b.size for b in org.blocks if b.leaf and b.depth]
        assert 19 <= min(teams) and max(teams) <= 50
        assert max(b.depth for b in org.blocks) in levels
        assert 4 <= sum(1 for b in org.blocks if b.depth == 1) <= 12


def test_a_leader_is_the_first_of_their_block_and_reports_to_the_parent_leader():
    org = plan_org(2000, seed=3)
    by_index = {b.index: b for b in org.blocks}
    for b in org.blocks[1:]:
        assert b.leader_o == b.first_o
        assert b.manager_o == by_index[b.parent].leader_o


def test_divisions_cover_the_lines_of_business_and_sales_come_first():
    org = plan_org(100_000, seed=4)
    lines = [b.line for b in org.blocks if b.depth == 1]
    assert lines[0] == Line.SALES and set(lines) == {line for _, line in DIVISIONS[: len(lines)]}


def test_the_same_seed_plans_the_same_org_and_another_seed_another():
    assert plan_org(5000, seed=7) == plan_org(5000, seed=7)
    assert plan_org(5000, seed=7) != plan_org(5000, seed=8)


def test_a_names_search_key_joined_from_its_parts_is_the_key_of_the_name():
    rows = list(names())
    assert len({r["name"] for r in rows}) == len(rows) == 3200
    assert all(r["search_key"] == search_key(r["name"]) for r in rows)
    assert all(r["pinyin"].isascii() and r["pinyin"].isalpha() and r["pinyin"] == r["search_key"].split(" ")[1] for r in rows)
