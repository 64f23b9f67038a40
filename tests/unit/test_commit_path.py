"""Issue 8 item 1 (INV-5): `tenant_transaction` is the only commit path. Nothing else appends
audit events or builds a unit of work; a refusal that must be recorded uses `uow.refuse`."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2] / "offboard"
CONTEXT = ROOT / "actions" / "context.py"


def _calls(path: Path) -> list[tuple[int, str]]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Call):
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            owner = getattr(func.value, "id", "") if isinstance(func, ast.Attribute) else ""
            if (owner, name) == ("audit_log", "append") or name == "UnitOfWork":
                found.append((node.lineno, f"{owner}.{name}" if owner else name))
    return found


def test_inv_5_audit_events_are_appended_only_by_tenant_transaction():
    outside = {f"{path.relative_to(ROOT)}:{line} {call}" for path in ROOT.rglob("*.py") if path != CONTEXT and "migrations" not in path.parts for line, call in _calls(path)}
    assert outside == set(), "commit through offboard.actions.context.tenant_transaction instead"
    # The scan sees what it is looking for: the one legitimate place is found.
    assert [call for _line, call in _calls(CONTEXT)] == ["UnitOfWork", "audit_log.append"]


def test_issue_8_every_permission_check_lives_in_the_actions():
    """A rule checked in an entry point is skipped by every other one (STYLE.md): `require`
    is called only in offboard/actions and the read models of offboard/queries (and defined in
    offboard/domain/authz.py)."""
    outside = []
    for path in ROOT.rglob("*.py"):
        if path.parts[len(ROOT.parts)] in ("actions", "queries", "domain"):
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and getattr(node.func, "id", getattr(node.func, "attr", "")) in ("require", "require_scope"):
                outside.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert outside == []
    inside = [p for p in (ROOT / "actions").rglob("*.py") if "require(" in p.read_text(encoding="utf-8")]
    assert len(inside) >= 8  # the scan sees the calls where they belong


def test_issue_8_a_change_checks_its_permission_through_the_unit_of_work():
    """A change calls `uow.require(...)`, which also asks a console session for a recent second
    factor before a SENSITIVE action; `require(uow.actor, ...)` would skip that."""
    bypass = []
    for path in (ROOT / "actions").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and getattr(node.func, "id", "") in ("require", "require_scope", "require_fresh") and node.args:
                first = node.args[0]
                if isinstance(first, ast.Attribute) and first.attr == "actor" and getattr(first.value, "id", "") == "uow":
                    bypass.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert bypass == []
    assert sum(p.read_text(encoding="utf-8").count("uow.require(") for p in (ROOT / "actions").rglob("*.py")) >= 20
