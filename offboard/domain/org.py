"""The department tree as materialized paths ('/1/5/9/'), and headcount coverage.

A department's headcount is the number of distinct present members in it or its
descendants: a member in two sibling departments counts once at their common
ancestor. Which departments count a member follows from the member's department
paths alone, so a change of membership is a set difference, O(depth), never a recount.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from offboard.domain.errors import Conflict, error

MAX_DEPTH = 16


def child_path(parent_path: str | None, dept_id: int) -> str:
    return f"{parent_path or '/'}{dept_id}/"


def ancestor_ids(path: str) -> list[int]:
    """Ids on the path, root first, the department itself last."""
    return [int(part) for part in path.strip("/").split("/") if part]


def subtree_upper_bound(path: str) -> str:
    """Exclusive upper bound of the paths of a subtree: '/1/5/' <= p < '/1/50'.

    A range on a plain B-tree index serves the subtree on SQLite and PostgreSQL alike,
    where LIKE 'prefix%' would need a special operator class.
    """
    return path[:-1] + chr(ord("/") + 1)


def is_within(path: str, ancestor_path: str) -> bool:
    return path.startswith(ancestor_path)


def covered(paths: Iterable[str]) -> set[int]:
    """Departments whose headcount includes a member in departments with these paths."""
    result: set[int] = set()
    for path in paths:
        result.update(ancestor_ids(path))
    return result


def coverage_delta(before: Iterable[str], after: Iterable[str]) -> tuple[set[int], set[int]]:
    """(departments gaining the member, departments losing the member)."""
    old, new = covered(before), covered(after)
    return new - old, old - new


def check_move(dept_path: str, new_parent_path: str | None, subtree_height: int) -> None:
    if new_parent_path is not None and is_within(new_parent_path, dept_path):
        raise error(
            Conflict,
            "department_cycle",
            "A department cannot be moved under itself or one of its own sub-departments.",
        )
    new_depth = len(ancestor_ids(new_parent_path or "/")) + subtree_height
    if new_depth > MAX_DEPTH:
        raise error(
            Conflict,
            "department_too_deep",
            "The department tree may be at most {max} levels deep.",
            max=MAX_DEPTH,
        )


def name_key(name: str) -> str:
    """A department name as siblings are compared: two sub-departments of one parent never differ
    by case alone ("Sales" and "sales" are one name), in any script."""
    return name.casefold()


def joined(current: Sequence[int], department_id: int, root_id: int) -> list[int]:
    """A member's departments (primary first) once they join `department_id`. The root department
    is where a member without one is placed, so a member only there moves out of it."""
    if department_id in current:
        return list(current)
    if not current or list(current) == [root_id]:
        return [department_id]
    return [*current, department_id]


def left(current: Sequence[int], department_id: int, root_id: int) -> list[int] | None:
    """A member's departments once they leave `department_id`: a member belongs to at least one
    department, so one leaving their only department is placed in the root. None when that is
    the root itself: there is nowhere else to place them."""
    rest = [d for d in current if d != department_id]
    if rest or department_id not in current:
        return rest if rest else list(current)
    return None if department_id == root_id else [root_id]


def reports_first(manager_of: Mapping[int, int | None]) -> dict[int, int]:
    """For members leaving together, how many levels of them report up to each one: 0 for one
    whom no other leaver reports to, else one more than the highest of their leaving reports.
    Run in this order (R-EXIT-7), a manager leaves no earlier than their reports, so a report's
    plan, made while the manager was known to be leaving too, still holds when it runs. A
    reporting loop (bad data) ends where it closes."""
    reports: dict[int, list[int]] = {}
    for member, manager in manager_of.items():
        if manager is not None and manager in manager_of and manager != member:
            reports.setdefault(manager, []).append(member)
    height: dict[int, int] = {}
    for start in manager_of:
        if start in height:
            continue
        stack, on_path = [start], {start}
        while stack:
            member = stack[-1]
            waiting = [r for r in reports.get(member, ()) if r not in height and r not in on_path]
            if waiting:
                stack.append(waiting[0])
                on_path.add(waiting[0])
                continue
            height[member] = 1 + max((height[r] for r in reports.get(member, ()) if r in height), default=-1)
            stack.pop()
            on_path.discard(member)
    return height
