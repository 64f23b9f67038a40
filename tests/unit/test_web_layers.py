"""Issue 8 item 10: the console's page modules share the session dependency from
offboard/web/session.py and never import each other."""

from __future__ import annotations

import ast
from pathlib import Path

WEB = Path(__file__).resolve().parents[2] / "offboard" / "web"
PAGES = {"routes", "exits", "settings"}


def _imports(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return found


def test_issue_8_console_page_modules_do_not_import_each_other():
    for page in PAGES:
        imported = _imports(WEB / f"{page}.py")
        others = {f"offboard.web.{other}" for other in PAGES - {page}}
        assert not imported & others, f"web/{page}.py imports {sorted(imported & others)}"
        if page != "routes":
            assert "offboard.web.session" in imported  # the scan reads real imports
