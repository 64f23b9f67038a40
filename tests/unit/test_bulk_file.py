"""Reading a file of departures (R-EXIT-7): encodings Excel writes, HR's column names and
words, and each bad line told apart from the good ones."""

from __future__ import annotations

import json

import pytest

from offboard.domain import bulk_file
from offboard.domain.errors import OffboardError

TZ = "Asia/Shanghai"


def read(text: str | bytes, name: str = "f.csv") -> bulk_file.Departures:
    return bulk_file.read(text.encode("utf-8") if isinstance(text, str) else text, name, TZ)


def refused(data: bytes, name: str = "f.csv") -> str:
    with pytest.raises(OffboardError) as caught:
        bulk_file.read(data, name, TZ)
    return caught.value.code


def test_r_exit_7_a_gbk_file_from_excel_reads_like_utf_8_with_a_bom():
    text = "账号,离职原因类别,离职原因,继任者,接收人:文档,离职日期\r\nzhaolei,辞职,另谋高就,sunli,chenjing,2026-12-31\r\n"
    for data in (text.encode("gbk"), ("\ufeff" + text).encode("utf-8")):
        departures = bulk_file.read(data, "名单.csv", TZ)
        (line,) = departures.lines
        assert (line.row_no, line.userid, line.reason_category, line.reason, line.successor) == (2, "zhaolei", "resignation", "另谋高就", "sunli")
        assert line.acceptors == {"document": "chenjing"} and line.problem is None
        assert line.effective_at is not None and line.effective_at.isoformat() == "2026-12-31T23:59:59+08:00"
    assert bulk_file.read(text.encode("gbk"), "名单.csv", TZ).encoding == "gb18030"


def test_r_exit_7_a_file_that_cannot_be_read_is_refused_as_a_whole():
    assert refused("账号\nzhaolei\n".encode("utf-16")) == "file_encoding"
    assert refused(b"") == "file_empty"
    assert refused(b"who,when\nzhaolei,today\n") == "file_unknown_columns"
    assert refused(b"reason\nleaving\n") == "file_no_userid"
    assert refused(b"[{", "f.json") == "file_unreadable"
    assert refused(b'{"people": []}', "f.json") == "file_unreadable"
    assert refused(b"x" * (bulk_file.MAX_BYTES + 1)) == "file_too_large"


def test_r_exit_7_each_bad_line_has_its_own_problem_and_the_good_lines_stay():
    departures = read("userid,reason_category,effective\nzhaolei,resignation,\n\nsunli,holiday,\nzhaolei,other,\nchenjing,other,31/12/2026\nliuyang,other,2026-12-31,extra\n,other,\n")
    got = [(d.row_no, d.userid, d.problem.code if d.problem else None) for d in departures.lines]
    assert got == [
        (2, "zhaolei", None),
        (4, "sunli", "invalid_choice"),
        (5, "zhaolei", "duplicate_line"),
        (6, "chenjing", "invalid_date"),
        (7, "liuyang", "line_extra_cells"),
        (8, "", "userid_required"),
    ]


def test_r_exit_7_json_lists_and_the_api_objects_read_alike():
    body = [{"userid": "zhaolei", "reason_category": "辞退", "acceptors": {"external_contact": "sunli"}}, {"userid": "sunli", "colour": "red"}, 7]
    for departures in (read(json.dumps(body, ensure_ascii=False), "f.json"), read(json.dumps({"departures": body}), "f.json")):
        first, second, third = departures.lines
        assert (first.userid, first.reason_category, dict(first.acceptors)) == ("zhaolei", "dismissal", {"external_contact": "sunli"})
        assert second.problem is not None and second.problem.code == "line_unknown_fields"
        assert third.problem is not None and third.problem.code == "line_not_an_object"
    (line,) = bulk_file.from_records([{"userid": "zhaolei", "acceptors": {"castle": "sunli"}}], TZ).lines
    assert line.problem is not None and line.problem.code == "unknown_kind"


def test_r_exit_7_a_line_with_a_control_character_is_refused_alone():
    first, second = read("userid,reason\nzhaolei,ok\nsunli,bad\u202etext\n").lines
    assert first.problem is None and second.problem is not None and second.problem.code == "invalid_character"
