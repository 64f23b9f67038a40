"""Rules inside the repository (issue 8, item 12): docs/rules.md and scripts/rules_doc.py.

Every rule and invariant id of SPEC.md is named by a test or PENDING on an open issue, no test names
an unknown id, and docs/rules.md is what the script writes from the tests as they are now.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
_spec = importlib.util.spec_from_file_location("rules_doc", ROOT / "scripts" / "rules_doc.py")
rules_doc = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(rules_doc)

FAKE = "tests/fake/test_fake.py"
SOURCE = '''
"""A module docstring credits no test (INV-2..3) but its ids are checked: R-ORG-9."""

def test_r_exit_10_a_typo():
    pass

def test_inv_1_2_listed_in_the_name():
    """And R-EXIT-5 in its own docstring."""

class TestGrouped:
    def test_r_org_4_as_a_method(self):
        pass

def helper_r_exit_6_is_not_a_test():
    pass
'''


def test_every_rule_is_tested_or_pending_and_every_named_id_is_known():
    problems = rules_doc.check(ROOT)
    assert problems == [], "python scripts/rules_doc.py --check:\n" + "\n".join(problems)


def test_the_scanner_reads_the_real_tests():
    tests, _ = rules_doc.scan(ROOT)
    assert len(tests) > 200
    assert tests["tests/unit/test_planning.py::test_r_exit_3_the_last_super_admin_is_blocked"] == ["R-EXIT-3"]
    assert tests["tests/invariants/test_state_machine.py::test_inv_1_2_3_4_7_hold_under_random_exit_lifecycles"] == ["INV-1", "INV-2", "INV-3", "INV-4", "INV-7"]
    assert "tests/unit/test_rules_doc.py::test_the_scanner_reads_the_real_tests" in tests


def test_the_scanner_catches_an_unknown_id_an_untested_rule_and_a_stale_pending_entry():
    tests, cited = rules_doc.scan_source(SOURCE, FAKE)
    assert tests == {
        f"{FAKE}::test_r_exit_10_a_typo": ["R-EXIT-10"],
        f"{FAKE}::test_inv_1_2_listed_in_the_name": ["INV-1", "INV-2", "R-EXIT-5"],
        f"{FAKE}::TestGrouped::test_r_org_4_as_a_method": ["R-ORG-4"],
    }
    problems = rules_doc.problems(tests, cited, pending={"R-EXIT-5": 10, "R-EXIT-7": 10})
    text = "\n".join(problems)
    assert f"{FAKE}::test_r_exit_10_a_typo names R-EXIT-10, which is not" in text
    assert f"{FAKE} names R-ORG-9, which is not" in text
    assert "R-EXIT-1 has no test naming it" in text
    assert "R-EXIT-6 has no test naming it" in text  # a helper is not a test
    assert "INV-3 has no test naming it" in text  # a module docstring credits nobody
    assert "R-EXIT-5 is PENDING (issue 10) but 1 test(s) name it" in text
    for fine in ("INV-1 ", "INV-2 ", "R-ORG-4 ", "R-EXIT-7 "):
        assert not any(p.startswith(fine) for p in problems), fine


def test_a_long_list_of_tests_is_cut_after_six():
    tests = {f"tests/x.py::test_r_exit_1_case_{n}": ["R-EXIT-1"] for n in range(8)}
    row = next(line for line in rules_doc.render(tests).splitlines() if line.startswith("| R-EXIT-1 |"))
    assert row.count("`tests/x.py::") == 6 and row.endswith(" and 2 more |")


def test_docs_rules_md_is_what_the_script_generates():
    tests, _ = rules_doc.scan(ROOT)
    assert (ROOT / "docs" / "rules.md").read_text(encoding="utf-8") == rules_doc.render(tests), "run python scripts/rules_doc.py"
