"""Every message a person can see exists in zh-CN and en (SPEC §9)."""

import ast
import re
import string

from offboard.i18n import catalogue, normalize, translate
from tests.support.messages import PACKAGE, templates


def _fields(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def test_every_template_has_a_zh_cn_translation_with_the_same_placeholders():
    zh = catalogue("zh-CN")
    missing = [f"{where}: {t}" for t, where in templates().items() if t not in zh]
    assert not missing, "untranslated (run scripts/sync_catalog.py and fill in zh_CN.po):\n" + "\n".join(missing)
    wrong = [t for t in templates() if _fields(zh[t]) != _fields(t)]
    assert not wrong, f"placeholders differ: {wrong}"


_SENTENCE = re.compile(r"^[A-Z{].* .*\{[a-z_]+(![rs])?\}.*[.?]$")


def test_every_sentence_with_a_placeholder_is_found_as_a_template():
    """A message handed to a helper the extractor does not know would lose its translation the next
    time the catalogue is synced: every sentence with a {placeholder} passed to a call is a template."""
    found = templates()
    strays = []
    for path in sorted(PACKAGE.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call):
                for arg in node.args:
                    if isinstance(arg, ast.Constant) and isinstance(arg.value, str) and _SENTENCE.match(arg.value) and arg.value not in found:
                        strays.append(f"{path.relative_to(PACKAGE.parent)}:{node.lineno}: {arg.value}")
    assert not strays, "add the helper to tests/support/messages.py's _TEMPLATE_ARG:\n" + "\n".join(strays)


def test_locale_negotiation_from_accept_language_and_lang():
    assert normalize("zh-CN,zh;q=0.9,en;q=0.8") == "zh-CN"
    assert normalize("zh_CN.UTF-8") == "zh-CN"
    assert normalize("en-US,en;q=0.9") == "en"
    assert normalize("fr-FR") == "en"
    assert normalize(None) == "en"
    assert normalize("C.UTF-8") == "en"


def test_translate_fills_parameters_in_both_languages():
    template = "Userid {userid!r} is already taken in this enterprise."
    assert translate(template, "en", userid="amy") == "Userid 'amy' is already taken in this enterprise."
    assert "amy" in translate(template, "zh-CN", userid="amy") and "已被占用" in translate(template, "zh-CN", userid="amy")
