"""The department tree as materialized paths, and headcount coverage (SPEC §3, R-ORG-1)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from offboard.domain.errors import OffboardError
from offboard.domain.org import (
    reports_first,
    MAX_DEPTH,
    ancestor_ids,
    check_move,
    child_path,
    covered,
    coverage_delta,
    is_within,
    joined,
    left,
    name_key,
    subtree_upper_bound,
)


def test_child_path_of_root_and_of_a_parent():
    assert child_path(None, 1) == "/1/"
    assert child_path("/1/", 5) == "/1/5/"
    assert child_path("/1/5/", 12) == "/1/5/12/"


def test_ancestor_ids_are_root_first_and_end_with_the_department():
    assert ancestor_ids("/1/") == [1]
    assert ancestor_ids("/1/5/12/") == [1, 5, 12]
    assert ancestor_ids("/") == []


def test_subtree_upper_bound_excludes_a_sibling_whose_id_extends_the_prefix():
    # '/1/5/' must not cover '/1/50/' or '/1/51/': a plain prefix without the slash would.
    upper = subtree_upper_bound("/1/5/")
    assert "/1/5/" <= "/1/5/99/7/" < upper
    assert not ("/1/5/" <= "/1/50/" < upper)
    assert not ("/1/5/" <= "/1/51/" < upper)
    assert not ("/1/5/" <= "/1/4/" < upper)
    assert not is_within("/1/50/", "/1/5/")


# A random tree: node i > 0 has a parent among 0..i-1, and ids are distinct numbers chosen so
# that prefixes collide often (1, 10, 11, 100 ...), which is where string ranges go wrong.
ID_POOL = sorted(set(range(1, 16)) | {10, 11, 12, 100, 101, 105, 110, 111, 120, 150, 151, 1000, 1001, 1010, 1100, 1500})


@st.composite
def trees(draw):
    n = draw(st.integers(min_value=1, max_value=25))
    ids = draw(st.permutations(ID_POOL))[:n]
    parents = [None] + [draw(st.integers(0, i - 1)) for i in range(1, n)]
    paths: list[str] = []
    for i in range(n):
        paths.append(child_path(None if parents[i] is None else paths[parents[i]], ids[i]))
    return ids, parents, paths


def _descendants(parents: list[int | None], node: int) -> set[int]:
    """Nodes whose parent chain passes through `node` (computed from parents, not from paths)."""
    result = set()
    for other in range(len(parents)):
        cursor = other
        while cursor is not None:
            if cursor == node:
                result.add(other)
                break
            cursor = parents[cursor]
    return result


@given(trees())
def test_every_path_of_a_subtree_lies_in_its_range_and_no_other_does(tree):
    ids, parents, paths = tree
    for node, path in enumerate(paths):
        upper = subtree_upper_bound(path)
        inside = _descendants(parents, node)
        for other, other_path in enumerate(paths):
            in_range = path <= other_path < upper
            assert in_range == (other in inside), (path, other_path)
            assert is_within(other_path, path) == (other in inside)


@given(trees())
def test_ancestor_ids_follow_the_parent_chain(tree):
    ids, parents, paths = tree
    for node, path in enumerate(paths):
        chain, cursor = [], node
        while cursor is not None:
            chain.append(ids[cursor])
            cursor = parents[cursor]
        assert ancestor_ids(path) == list(reversed(chain))
        assert child_path(None if parents[node] is None else paths[parents[node]], ids[node]) == path


def test_coverage_delta_counts_a_member_in_two_sibling_departments_once_at_their_ancestor():
    # Root 1 has children 2 and 3; the member moves from nowhere into both.
    gain, lose = coverage_delta([], ["/1/2/", "/1/3/"])
    assert gain == {1, 2, 3}
    assert lose == set()
    # Leaving one sibling: only that sibling loses the member; the common ancestor keeps them.
    gain, lose = coverage_delta(["/1/2/", "/1/3/"], ["/1/3/"])
    assert gain == set()
    assert lose == {2}
    # Moving across subtrees: the common ancestor neither gains nor loses.
    gain, lose = coverage_delta(["/1/2/4/"], ["/1/3/"])
    assert gain == {3}
    assert lose == {2, 4}


@given(trees(), st.data())
def test_coverage_delta_applied_to_counts_equals_a_recount(tree, data):
    ids, _parents, paths = tree
    before = data.draw(st.lists(st.sampled_from(paths), max_size=3, unique=True))
    after = data.draw(st.lists(st.sampled_from(paths), max_size=3, unique=True))
    gain, lose = coverage_delta(before, after)
    counts = {i: (1 if i in covered(before) else 0) for i in ids}
    for d in gain:
        counts[d] += 1
    for d in lose:
        counts[d] -= 1
    assert counts == {i: (1 if i in covered(after) else 0) for i in ids}
    assert not gain & lose


def test_check_move_refuses_moving_a_department_under_itself():
    with pytest.raises(OffboardError) as exc:
        check_move("/1/5/", "/1/5/", 1)
    assert exc.value.code == "department_cycle"


def test_check_move_refuses_moving_a_department_under_its_descendant():
    with pytest.raises(OffboardError) as exc:
        check_move("/1/5/", "/1/5/9/12/", 2)
    assert exc.value.code == "department_cycle"


def test_check_move_allows_a_sibling_whose_id_extends_the_prefix():
    check_move("/1/5/", "/1/50/", 1)  # /1/50/ is not inside /1/5/


def test_check_move_refuses_a_tree_deeper_than_the_maximum():
    parent = "/" + "/".join(str(i) for i in range(1, MAX_DEPTH)) + "/"  # MAX_DEPTH - 1 levels
    check_move("/99/", parent, 1)  # lands exactly at MAX_DEPTH levels
    with pytest.raises(OffboardError) as exc:
        check_move("/99/", parent, 2)  # a subtree of height 2 would go one level too deep
    assert exc.value.code == "department_too_deep"


@given(st.lists(st.integers(min_value=0, max_value=30), min_size=1, max_size=30))
def test_r_exit_7_a_manager_who_leaves_runs_after_every_report_who_leaves_too(picks):
    """Member i reports to an earlier member (picks[i] % i), to someone outside the file (i == 0), or to nobody."""
    manager_of = {i: (None if i == 0 else (picks[i] % i if picks[i] % 3 else 100 + i)) for i in range(len(picks))}
    height = reports_first(manager_of)
    assert set(height) == set(manager_of)
    for member, manager in manager_of.items():
        if manager in manager_of:
            assert height[manager] > height[member]
        if member not in manager_of.values():
            assert height[member] == 0


def test_r_exit_7_a_reporting_loop_ends_where_it_closes():
    assert sorted(reports_first({1: 2, 2: 1, 3: 3}).items()) == [(1, 1), (2, 0), (3, 0)]


def test_issue_13_sibling_names_are_one_name_but_for_case_in_any_script():
    assert name_key("Sales") == name_key("SALES") == name_key("sales")
    assert name_key("Straße") == name_key("STRASSE") and name_key("销售部") != name_key("销售")


def test_issue_13_joining_a_department_takes_a_member_out_of_the_root_only():
    root = 1
    assert joined([root], 7, root) == [7] and joined([], 7, root) == [7]
    assert joined([3], 7, root) == [3, 7] and joined([root, 3], 7, root) == [root, 3, 7]
    assert joined([3, 7], 7, root) == [3, 7] and joined([3], root, root) == [3, root]


def test_issue_13_leaving_the_only_department_places_a_member_in_the_root_and_the_root_is_not_left():
    root = 1
    assert left([3, 7], 7, root) == [3] and left([7, 3], 7, root) == [3]
    assert left([7], 7, root) == [root] and left([3], 7, root) == [3]
    assert left([root], root, root) is None and left([root, 3], root, root) == [3]
