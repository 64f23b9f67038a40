"""The domain core imports no framework or database driver (STYLE.md: pure domain)."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOMAIN = ROOT / "offboard" / "domain"
FORBIDDEN = ("sqlalchemy", "fastapi", "typer", "starlette", "alembic", "psycopg")
DOMAIN_MODULES = sorted("offboard.domain" if p.name == "__init__.py" else f"offboard.domain.{p.stem}" for p in DOMAIN.glob("*.py"))


def test_domain_package_has_the_expected_modules():
    # Guards the scans below against silently scanning nothing.
    assert {"offboard.domain.authz", "offboard.domain.org", "offboard.domain.policy", "offboard.domain.errors"} <= set(DOMAIN_MODULES)


def test_importing_every_domain_module_loads_no_framework_or_driver():
    code = (
        "import importlib, json, sys\n"
        f"for name in {DOMAIN_MODULES!r}:\n"
        "    importlib.import_module(name)\n"
        # Rendering an error reaches offboard.i18n lazily: exercise that path too.
        "from offboard.domain.errors import ValidationError\n"
        "ValidationError('x {a}', a=1).render('en')\n"
        f"print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in {FORBIDDEN!r})))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    loaded = json.loads(result.stdout.strip().splitlines()[-1])
    assert loaded == [], f"the domain pulled in {loaded}"


def _imported_roots(tree: ast.AST) -> set[str]:
    roots: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            roots.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            roots.add(node.module.split(".")[0])
        elif isinstance(node, ast.Call) and getattr(node.func, "id", getattr(node.func, "attr", None)) in ("import_module", "__import__"):
            if node.args and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str):
                roots.add(node.args[0].value.split(".")[0])
    return roots


@pytest.mark.parametrize("path", sorted(DOMAIN.glob("*.py")), ids=lambda p: p.name)
def test_domain_source_has_no_forbidden_import(path: Path):
    roots = _imported_roots(ast.parse(path.read_text(encoding="utf-8")))
    assert not roots & set(FORBIDDEN), f"{path.name} imports {sorted(roots & set(FORBIDDEN))}"


def test_domain_imports_only_the_domain_and_i18n_from_offboard():
    # offboard.domain must not reach into store/actions/cli, which would pull the frameworks in transitively.
    for path in DOMAIN.glob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("offboard"):
                assert node.module.startswith(("offboard.domain", "offboard.i18n")), f"{path.name} imports {node.module}"


def test_the_scanner_would_catch_a_forbidden_import():
    assert "sqlalchemy" in _imported_roots(ast.parse("def f():\n    from sqlalchemy import select\n"))
    assert "typer" in _imported_roots(ast.parse("import typer.core"))
