"""Issue 8 item 10: the console's page modules share the session dependency from
offboard/web/session.py and never import each other; the console (offboard.web) and the API
(offboard.api) share offboard.http and never import each other, but for the one module that
composes them into the application (offboard.api.app)."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
OFFBOARD = ROOT / "offboard"
WEB = OFFBOARD / "web"
# The page modules: each holds a router of its own (found, so a new page is held to the rule too).
PAGES = {p.stem for p in WEB.glob("*.py") if "\nrouter = APIRouter(" in p.read_text(encoding="utf-8")}
COMPOSITION_ROOT = "offboard.api.app"
CONSOLE_ENTRY = "offboard.web.install"  # all the composition root may take from the console


def _imports(path: Path, module: str = "") -> set[str]:
    """Every module a source file imports, at its top or inside a function; `module` (the file's
    own dotted name) resolves relative imports."""
    found = set()
    package = module.split(".")
    if path.name != "__init__.py":
        package = package[:-1]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            base = ".".join(package[: len(package) - node.level + 1]) if node.level else ""
            name = ".".join(part for part in (base, node.module or "") if part)
            found.add(name)
            found.update(f"{name}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.Call) and getattr(node.func, "id", getattr(node.func, "attr", None)) in ("import_module", "__import__"):
            if node.args and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str):
                found.add(node.args[0].value)
    return found


def _modules(package: str) -> dict[str, Path]:
    """The modules of offboard.<package>, by dotted name."""
    modules = {}
    for path in sorted((OFFBOARD / package).rglob("*.py")):
        parts = path.relative_to(ROOT).with_suffix("").parts
        modules[".".join(parts[:-1] if path.name == "__init__.py" else parts)] = path
    return modules


def _within(names: set[str], package: str) -> set[str]:
    return {name for name in names if name == package or name.startswith(package + ".")}


def test_issue_8_console_page_modules_do_not_import_each_other():
    for page in PAGES:
        imported = _imports(WEB / f"{page}.py")
        others = {f"offboard.web.{other}" for other in PAGES - {page}}
        assert not imported & others, f"web/{page}.py imports {sorted(imported & others)}"
        if page != "routes":
            assert "offboard.web.session" in imported  # the scan reads real imports


def test_issue_8_the_packages_scanned_hold_the_expected_modules():
    # Guards the scans below against silently scanning nothing.
    assert {"offboard.web.routes", "offboard.web.session", "offboard.web.install"} <= set(_modules("web"))
    assert {"offboard.api.app", "offboard.api.deps", "offboard.api.exits"} <= set(_modules("api"))
    assert {"offboard.http.cookies", "offboard.http.csrf", "offboard.http.errors", "offboard.http.locale"} <= set(_modules("http"))


def test_issue_8_the_console_imports_nothing_from_the_api():
    for module, path in _modules("web").items():
        imported = _imports(path, module)
        assert not _within(imported, "offboard.api"), f"{module} imports {sorted(_within(imported, 'offboard.api'))}"
    assert "offboard.http.cookies" in _imports(WEB / "session.py", "offboard.web.session")  # what it shares instead


def test_issue_8_the_api_imports_nothing_from_the_console_but_its_composition_root():
    for module, path in _modules("api").items():
        console = _within(_imports(path, module), "offboard.web")
        if module == COMPOSITION_ROOT:
            # `from offboard.web import install` names the package too
            assert console - {"offboard.web"} == {CONSOLE_ENTRY}, f"the composition root reaches past {CONSOLE_ENTRY}: {sorted(console)}"
        else:
            assert not console, f"{module} imports {sorted(console)}"


def test_issue_8_the_shared_http_layer_imports_neither_the_api_nor_the_console():
    for module, path in _modules("http").items():
        imported = _imports(path, module)
        wrong = _within(imported, "offboard.api") | _within(imported, "offboard.web")
        assert not wrong, f"{module} imports {sorted(wrong)}"


def test_issue_8_loading_one_side_loads_nothing_of_the_other():
    """The same seam at run time, transitively: what each side pulls in when it is imported alone."""
    api = sorted(m for m in _modules("api") if m != COMPOSITION_ROOT)
    for side, other in ((["offboard.web.install"], "offboard.web"), (api, "offboard.api")):
        code = f"import importlib, json, sys\nfor name in {side!r}:\n    importlib.import_module(name)\nprint(json.dumps(sorted(sys.modules)))\n"
        result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
        loaded = set(json.loads(result.stdout.strip().splitlines()[-1]))
        forbidden = "offboard.api" if other == "offboard.web" else "offboard.web"
        assert side[0] in loaded and "offboard.http" in loaded  # the import really ran
        assert not _within(loaded, forbidden), f"importing {other} loaded {sorted(_within(loaded, forbidden))}"


def test_issue_8_the_scanner_would_catch_a_forbidden_import(tmp_path: Path):
    source = tmp_path / "page.py"
    source.write_text(
        "from .. import api\nfrom ..api.deps import session_token\ndef f():\n    import offboard.web.routes\n    importlib.import_module('offboard.api.errors')\n",
        encoding="utf-8",
    )
    imported = _imports(source, "offboard.web.page")
    assert {"offboard.api", "offboard.api.deps", "offboard.web.routes", "offboard.api.errors"} <= imported
    assert _within(imported, "offboard.api") == {"offboard.api", "offboard.api.deps", "offboard.api.deps.session_token", "offboard.api.errors"}
