"""Every audit action reads as a sentence in zh-CN and en (issue 9 item 7, SPEC §8, §9)."""

from __future__ import annotations

import ast
import string
from pathlib import Path

import pytest

from offboard.i18n import catalogue
from offboard.queries.audit_text import CATEGORIES, SENTENCES, UNKNOWN, VARIANTS, Party, sentence, sentence_parts, template_of

PACKAGE = Path(__file__).resolve().parents[2] / "offboard"


def audit_actions(source: str) -> set[str]:
    """The action names of `<anything>.audit("name", ...)` calls, both branches of a
    conditional name included."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "audit" and node.args:
            first = node.args[0]
            names = [first.body, first.orelse] if isinstance(first, ast.IfExp) else [first]
            found |= {n.value for n in names if isinstance(n, ast.Constant) and isinstance(n.value, str)}
    return found


def actions_in_package() -> dict[str, str]:
    return {name: str(path.relative_to(PACKAGE.parent)) for path in sorted(PACKAGE.rglob("*.py")) for name in audit_actions(path.read_text(encoding="utf-8"))}


def test_the_scanner_finds_plain_multiline_and_conditional_action_names():
    source = 'uow.audit("a.one", [])\nself.uow.audit(\n    "a.two",\n    [],\n)\nuow.audit("a.three" if x else "a.four", [])\naudit("not.a_call_on_uow")\n'
    assert audit_actions(source) == {"a.one", "a.two", "a.three", "a.four"}


def test_spec_8_every_audit_action_used_in_offboard_has_a_sentence():
    used = actions_in_package()
    assert len(used) > 30, "the scan found too few actions to be reading the source"
    missing = sorted(f"{where}: {name}" for name, where in used.items() if name not in SENTENCES)
    assert not missing, "audit actions without a sentence in offboard/queries/audit_text.py:\n" + "\n".join(missing)
    unused = set(SENTENCES) - set(used) - VARIANTS
    assert not unused, f"sentences of actions no code writes: {sorted(unused)}"


def test_every_action_falls_in_a_category_of_the_console_filter():
    assert {name.split(".")[0] + "." for name in actions_in_package()} <= set(CATEGORIES)


@pytest.mark.parametrize("template", [*SENTENCES.values(), UNKNOWN])
def test_every_sentence_is_translated_with_the_same_placeholders(template):
    zh = catalogue("zh-CN")
    assert template in zh
    fields = {name for _lit, name, _spec, _conv in string.Formatter().parse(template) if name}
    assert fields == {name for _lit, name, _spec, _conv in string.Formatter().parse(zh[template]) if name}


WANG = Party("member:3", "member", "王芳", 3, "王芳", "wangfang", "人力资源部")
ZHANG = Party("member:9", "member", "张三", 9, "张三", "zhangsan", "华东销售部")
LI = Party("member:10", "member", "李四", 10, "李四", "lisi", "华东销售部")
EXIT_ZH = Party("exit:2", "exit", "张三 的离职", 9, "张三", "zhangsan", "华东销售部")
EXIT_EN = Party("exit:2", "exit", "the exit of 张三", 9, "张三", "zhangsan", "华东销售部")
SYSTEM = Party("system", "system", "The system")
TZ = "Asia/Shanghai"


def test_an_exit_started_by_hr_reads_with_both_names_in_both_languages():
    assert sentence("exit.started", WANG, [ZHANG, EXIT_ZH], {"reason": "private"}, "zh-CN", TZ) == "王芳 办理了 张三 的离职"
    assert sentence("exit.started", WANG, [ZHANG, EXIT_EN], {}, "en", TZ) == "王芳 started the exit of 张三"


def test_names_are_parts_that_link_to_the_member_and_the_rest_is_text():
    parts = sentence_parts("exit.inherited", WANG, [EXIT_EN, ZHANG, LI], {"kind": "document", "count": 4}, "en", TZ)
    assert "".join(p.text for p in parts) == "王芳 had 李四 inherit 4 × Document of 张三"
    assert [(p.text, p.member_id) for p in parts if p.member_id] == [("王芳", 3), ("李四", 10), ("张三", 9)]
    zh = sentence("exit.inherited", WANG, [EXIT_ZH, ZHANG, LI], {"kind": "document", "count": 4}, "zh-CN", TZ)
    assert zh == "王芳 将 张三 的 4 × 文档 交由 李四 继承"


def test_details_fill_roles_items_and_times_in_the_tenant_time_zone():
    assert sentence("exit.signed_off", WANG, [EXIT_EN, ZHANG], {"role": "hr"}, "zh-CN", TZ) == "王芳 以 HR 身份签核了 张三 的离职"
    took = sentence("exit.took_effect", SYSTEM, [ZHANG, EXIT_EN], {"restore_until": "2026-11-09T01:00:00+00:00"}, "en", TZ)
    assert took == "The exit of 张三 took effect: access cut, restorable until 2026-11-09 09:00"
    attested = sentence("checklist.attested", WANG, [EXIT_ZH], {"item": "attendance_archived", "evidence": "free text"}, "zh-CN", TZ)
    assert attested == "王芳 确认了 张三 离职清单中的「打卡记录归档」" and "free text" not in attested
    assert sentence("exit.restored", WANG, [ZHANG, EXIT_EN], {"reason": "came back"}, "en", TZ) == "王芳 restored 张三: the exit is undone"


def test_variants_are_chosen_by_the_details_and_missing_details_do_not_break_a_sentence():
    dept = Party("department:4", "department", "法务合规部")
    assert template_of("department.leader_set", {"to": None}, [dept]) == SENTENCES["department.leader_cleared"]
    assert sentence("department.leader_set", WANG, [dept], {"to": 10}, "en", TZ, [LI]) == "王芳 made 李四 the leader of 法务合规部"
    assert sentence("auth.sign_in_failed", SYSTEM, [], {"userid": "nobody"}, "en", TZ) == "A sign-in with an unknown userid failed"
    assert sentence("exit.resources_moved", SYSTEM, [EXIT_EN, ZHANG], None, "en", TZ) == "The system moved — × — of 张三 to —"
    assert sentence("something.new", WANG, [], {}, "en", TZ) == "王芳: something.new"
