"""Issue 9 item 2: a member is found by the pinyin of their name, its initials or in full."""

from __future__ import annotations

import pytest

from offboard.i18n.pinyin import MAX_LENGTH, search_key


@pytest.mark.parametrize(
    ("name", "key"),
    [
        ("陈静", "cj chenjing"),
        ("赵磊", "zl zhaolei"),
        ("欧阳娜娜", "oynn ouyangnana"),
        ("吕布", "lb lvbu"),  # ü is spelled v, as pinyin keyboards type it
        ("王·芳", "wf wangfang"),  # the dot between the parts of a name is dropped
        ("张 三", "zs zhangsan"),
        ("Amy 王", "amyw amywang"),  # Latin letters are kept, in lower case
        ("李2号", "l2h li2hao"),  # and so are digits
        ("ZHAO Lei", "zhaolei zhaolei"),
    ],
)
def test_issue_9_the_search_key_is_the_initials_then_the_full_pinyin(name, key):
    assert search_key(name) == key


def test_issue_9_a_character_with_several_readings_takes_the_default_one():
    assert search_key("单") == "d dan"  # not "shan", as the surname reads: the name and userid still find it


def test_issue_9_a_name_with_nothing_to_spell_has_an_empty_key():
    assert search_key("") == ""
    assert search_key(" · ") == ""


def test_issue_9_a_long_name_is_cut_to_the_column():
    key = search_key("陈" * 128)
    assert len(key) == MAX_LENGTH and key.startswith("c" * 128 + " chen")
