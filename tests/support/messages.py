"""Find the English message templates used in the code (the msgids of the zh-CN catalogue)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "offboard"

# Calls whose string argument at this position is a translatable template.
_TEMPLATE_ARG = {
    "error": 2,
    "_missing": 1,
    "ok": 0,
    "translate": 0,
    "_": 0,
    "t": 0,
    "__init__": 0,
    "Issue": 1,
    "_t": 0,
    "warn": 0,
    "Problem": 1,
    "_problem": 1,
    "_planned_job": 2,
    "_active": 2,
    "_fail": 0,
}


_JINJA_CALL = re.compile(r"""_\(\s*(["'])((?:(?!\1).)+)\1""")
TEMPLATES_DIRS = (PACKAGE / "web" / "templates", PACKAGE / "exports" / "templates")


def templates() -> dict[str, str]:
    """{template: "file:line"} for every template literal in the package."""
    found: dict[str, str] = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Call):
                name = node.func.id if isinstance(node.func, ast.Name) else getattr(node.func, "attr", None)
                pos = _TEMPLATE_ARG.get(name or "")
                if pos is not None and len(node.args) > pos:
                    arg = node.args[pos]
                    if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                        found.setdefault(arg.value, f"{path.relative_to(PACKAGE.parent)}:{node.lineno}")
            elif isinstance(node, ast.ClassDef):
                for stmt in node.body:
                    if isinstance(stmt, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "template" for t in stmt.targets) and isinstance(stmt.value, ast.Constant):
                        found.setdefault(stmt.value.value, f"{path.relative_to(PACKAGE.parent)}:{stmt.lineno}")
    for path in sorted(p for d in TEMPLATES_DIRS for p in d.glob("*.html")):
        for lineno, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            for match in _JINJA_CALL.finditer(line):
                found.setdefault(match.group(2), f"{path.relative_to(PACKAGE.parent)}:{lineno}")
    for term in vocabulary_terms():
        found.setdefault(term, "offboard/domain/vocabulary.py:1")
    return found


def vocabulary_terms() -> list[str]:
    """Words of SPEC §3.1 that pages show translated (statuses, roles, kinds, audit findings)."""
    from offboard.domain import vocabulary as v

    enums = [v.MemberStatus, v.DepartmentStatus, v.Role, v.SuperAdminRank, v.RoleStatus, v.ResourceKind, v.ExitState, v.LedgerState, v.StepKind]
    findings = ["changed", "missing", "reordered", "side_changed", "truncated", "head_mismatch"]
    return [e.value for enum in enums for e in enum] + findings
