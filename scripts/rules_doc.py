"""docs/rules.md: every rule and invariant id of ../shared/SPEC.md, in a line, with the tests naming it.

Usage: python scripts/rules_doc.py           writes docs/rules.md
       python scripts/rules_doc.py --check   exit 1, saying why, if docs/rules.md is stale, a rule has
                                             no test and is not PENDING, a PENDING rule has tests, or
                                             a test names an id missing from CATALOGUE

What counts as a test naming an id: a pytest test (a `test*` function of a `test_*.py` module under
tests/, or a `test*` method of a `Test*` class there) names an id when the id is in its own name
(`test_r_exit_6_...` is R-EXIT-6, `test_inv_1_2_7_...` is INV-1, INV-2 and INV-7) or in its own
docstring (`R-EXIT-6`, `INV-3`, ranges `INV-1..5` and lists `INV-2/3/4`). Module and class docstrings
do not credit their tests: they state a file's scope (test_planning.py's names five rules over 28
tests), so crediting every test with every id there would make "tested" mean nothing. Ids found in
them are still checked against the catalogue, so a typo anywhere in a docstring fails. Comments are
not read (they are not part of the AST).
"""

from __future__ import annotations

import argparse
import ast
import re
import sys
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOC = Path("docs/rules.md")

DIMENSIONS = [  # id prefix, heading (SPEC §4, §5 and the invariants, in SPEC order)
    ("R-EXIT", "Exit lifecycle (SPEC §4)"),
    ("R-DATA", "Data retention"),
    ("R-ADM", "Super admin handover"),
    ("R-LAW", "Legal compliance"),
    ("R-ORG", "Org structure"),
    ("R-EXC", "Exceptions"),
    ("R-POST", "After exit"),
    ("INV", "Invariants (SPEC §10)"),
]

CATALOGUE = {
    "R-EXIT-1": "Once an exit takes effect sign-in stops, and sessions, personal tokens, roles and devices are cut off.",
    "R-EXIT-2": "A member may leave by self-service; company data stays and their client is told to wipe its local cache.",
    "R-EXIT-3": "A super admin leaves only after handing the role over; the last active one can never leave, be removed or demoted.",
    "R-EXIT-4": "Someone entitled by §3.2 removes a member; company data stays and the member's sessions end.",
    "R-EXIT-5": "Each exit has a dry-run plan (destinations, blockers, warnings) kept with a digest; a stale plan is refused.",
    "R-EXIT-6": "Inside the restore window a re-verified person with a reason undoes an exit, reverting untouched transfers.",
    "R-EXIT-7": "Many exits from one file run as one job, with progress, that resumes after a crash.",
    "R-EXIT-8": "An exit may be dated ahead (end of that day in the tenant's zone); due timers fire late rather than never.",
    "R-EXIT-9": "Acceptors, the manager and owners of open checklist items see what waits for them in a personal inbox.",
    "R-DATA-1": "Chats stay with the company; entitled admins read a leaver's chats, each read audited; the leaver cannot.",
    "R-DATA-2": "Documents follow the tenant's file policy: to the acceptor, into the archive space, or deleted.",
    "R-DATA-3": "Approval records are kept until a compliant deletion and can be exported as CSV and JSON.",
    "R-DATA-4": "Deleted company data comes back only by an audited admin request against the backup.",
    "R-ADM-1": "Super-admin power moves atomically once the old and the new super admin both pass a second factor.",
    "R-ADM-2": "For a transition (7 days by default) the former super admin keeps only emergency powers.",
    "R-ADM-3": "A tenant can name a backup super admin; plans and the console warn while there is none.",
    "R-ADM-4": "A tenant with no active super admin is frozen (HTTP 423 for admin work) until an operator recovers it.",
    "R-LAW-1": "A member, also after leaving, can have their personal data erased on a schedule and get a machine-readable copy.",
    "R-LAW-2": "Retention beats erasure: chats at least six calendar months after exit, approvals until deleted, holds for ever.",
    "R-LAW-3": "At finalization a leaver's data is encrypted under their own key, wrapped by the region's; shredding it erases all copies.",
    "R-LAW-4": "Members and records carry a data region with its own key; crossing regions needs a recorded legal basis.",
    "R-ORG-1": "A department emptied by exits, with its empty descendants, awaits dissolution until someone joins; cost grows with depth only.",
    "R-ORG-2": "Customers and customer groups go to the successor: under wecom by a 24 h takeover they may refuse, elsewhere at once.",
    "R-ORG-3": "A leaver's self-built apps are handed over in batch or re-bound to a new app admin.",
    "R-ORG-4": "Each resource kind finds its acceptor in order: named for the kind, the exit's successor, the manager, the kind's fallback.",
    "R-ORG-5": "What ends without an acceptor is listed as unassigned and inherited later in batch, with new ledger rows.",
    "R-EXC-1": "A stolen admin account is frozen at once, the backup admin steps in, and its recent permission changes can be rolled back.",
    "R-EXC-2": "A mistaken exit is undone by a restore (SPEC points to R-EXIT-6).",
    "R-EXC-3": "Data under different jurisdictions stays apart by tenant and region; no tenant's answers hold another's data.",
    "R-POST-1": "Third-party apps holding the leaver's grants are told to re-authorize, each tracked until acknowledged.",
    "R-POST-2": "The leaver's approval templates and the approval tasks waiting on them move to the acceptor.",
    "R-POST-3": "The leaver's shared calendars are transferred or deleted by policy, never left with a departed owner.",
    "INV-1": "Outside the frozen state a tenant always keeps at least one active super admin.",
    "INV-2": "A finalized or erased member owns nothing transferable; unassigned things belong to nobody.",
    "INV-3": "Each move of a resource has exactly one ledger row, and a restore reverts exactly the rows it reports.",
    "INV-4": "A department awaits dissolution only if exits emptied it and nobody joined since.",
    "INV-5": "The hash chain of audit events checks out, and no state change happens without its event.",
    "INV-6": "Retention periods and legal holds are never cut short; erasures that came due run at the next sweep.",
    "INV-7": "Once revoked, a session or token is refused the very next time it is presented.",
    "INV-8": "Whatever one tenant asks or does never reads or changes another tenant's data.",
    "INV-9": "Reading sealed data always leaves an audit event; once its key is shredded nobody can read it.",
}

# Ids no landed code implements yet -> the open issue that builds them. Drop an id once a test names it.
PENDING: dict[str, int] = {}

SHOWN = 6  # tests listed per id before "and N more"
NAME_ID = re.compile(r"(?:^|_)(r_[a-z]+|inv)_(\d+(?:_\d+)*)(?=_|$)")
TEXT_ID = re.compile(r"\b(R-[A-Z]+|INV)-(\d+)(?:\.\.(\d+)|((?:/\d+)+))?")


def ids_in_name(name: str) -> list[str]:
    return [f"{prefix.upper().replace('_', '-')}-{n}" for prefix, nums in NAME_ID.findall(name) for n in nums.split("_")]


def ids_in_text(text: str) -> list[str]:
    found = []
    for prefix, first, last, more in TEXT_ID.findall(text or ""):
        nums = range(int(first), int(last) + 1) if last else [int(first), *map(int, more.split("/")[1:])]
        found += [f"{prefix}-{n}" for n in nums]
    return found


def scan_source(source: str, path: str) -> tuple[dict[str, list[str]], list[tuple[str, str]]]:
    """The tests of one module ({'path::name': ids named}) and every id cited there, with where."""
    tree = ast.parse(source, filename=path)
    tests: dict[str, list[str]] = {}
    cited = [(path, i) for i in ids_in_text(ast.get_docstring(tree) or "")]

    def visit(body: list[ast.stmt], prefix: str) -> None:
        for node in body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name.startswith("test"):
                ids = list(dict.fromkeys(ids_in_name(node.name) + ids_in_text(ast.get_docstring(node) or "")))
                tests[f"{prefix}::{node.name}"] = ids
                cited.extend((f"{prefix}::{node.name}", i) for i in ids)
            elif isinstance(node, ast.ClassDef) and node.name.startswith("Test"):
                cited.extend((f"{prefix}::{node.name}", i) for i in ids_in_text(ast.get_docstring(node) or ""))
                visit(node.body, f"{prefix}::{node.name}")

    visit(tree.body, path)
    return tests, cited


def scan(root: Path = ROOT) -> tuple[dict[str, list[str]], list[tuple[str, str]]]:
    tests: dict[str, list[str]] = {}
    cited: list[tuple[str, str]] = []
    for file in sorted({*root.joinpath("tests").rglob("test_*.py"), *root.joinpath("tests").rglob("*_test.py")}):
        found, where = scan_source(file.read_text(encoding="utf-8"), file.relative_to(root).as_posix())
        tests.update(found)
        cited += where
    return tests, cited


def by_id(tests: dict[str, list[str]]) -> dict[str, list[str]]:
    named: dict[str, list[str]] = defaultdict(list)
    for test, ids in tests.items():
        for i in ids:
            named[i].append(test)
    return named


def problems(tests: dict[str, list[str]], cited: list[tuple[str, str]], pending: dict[str, int] = PENDING) -> list[str]:
    named = by_id(tests)
    out = [f"{where} names {i}, which is not a rule or invariant id of SPEC.md" for where, i in cited if i not in CATALOGUE]
    out += [f"{i} is not in the catalogue but is PENDING" for i in pending if i not in CATALOGUE]
    for i in CATALOGUE:
        if i in pending and named.get(i):
            out.append(f"{i} is PENDING (issue {pending[i]}) but {len(named[i])} test(s) name it, e.g. {named[i][0]}: drop it from PENDING")
        elif i not in pending and not named.get(i):
            out.append(f"{i} has no test naming it and is not PENDING: name it in a test that proves it")
    return out


def render(tests: dict[str, list[str]], pending: dict[str, int] = PENDING) -> str:
    named = by_id(tests)
    lines = [
        "# Rules and invariants",
        "",
        "Generated by `python scripts/rules_doc.py` (do not edit by hand) from the rule catalogue in that script and the tests"
        " under `tests/` whose own name or docstring names each id; `python scripts/rules_doc.py --check`, run by"
        " `tests/unit/test_rules_doc.py`, fails when this file is stale, a rule has no test and no pending issue,"
        " or a test names an unknown id. The rules in full: `../shared/SPEC.md`.",
    ]
    for prefix, heading in DIMENSIONS:
        lines += ["", f"## {heading}", "", "| id | rule | tests |", "|---|---|---|"]
        for i, text in CATALOGUE.items():
            if i.rsplit("-", 1)[0] != prefix:
                continue
            shown = named.get(i, [])
            cell = ", ".join(f"`{t}`" for t in shown[:SHOWN]) + (f" and {len(shown) - SHOWN} more" if len(shown) > SHOWN else "")
            if not shown:
                cell = f"pending: issue {pending[i]}" if i in pending else "**none**"
            lines.append(f"| {i} | {text} | {cell} |")
    return "\n".join(lines) + "\n"


def check(root: Path = ROOT) -> list[str]:
    tests, cited = scan(root)
    out = problems(tests, cited)
    doc = root / DOC
    if not doc.exists() or doc.read_text(encoding="utf-8") != render(tests):
        out.append(f"{DOC} is out of date: run python scripts/rules_doc.py")
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="verify instead of writing docs/rules.md")
    tests, cited = scan()
    if parser.parse_args(argv).check:
        found = check()
    else:
        (ROOT / DOC).write_text(render(tests), encoding="utf-8")
        found = problems(tests, cited)
        print(f"wrote {DOC}: {len(CATALOGUE)} ids, {len(tests)} tests scanned, {len(found)} problem(s)")
    for line in found:
        print(line, file=sys.stderr)
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
