"""How a name is found by its pinyin: 陈静 by "cj" (its initials) or "chenjing" (in full).

Most of the directory's names are Chinese and most people type on a Latin keyboard, so the
people picker (offboard.queries.people) matches a member's `search_key` as well as the name:
the initials, a space, then the full pinyin, without tones and in lower case. The space keeps
a query from matching across the two halves. A character with several readings takes
pypinyin's default one (单 reads "dan", 曾 "ceng"); a surname read otherwise is still found
by the name itself or the userid.
"""

from __future__ import annotations

from pypinyin import Style, lazy_pinyin

MAX_LENGTH = 255  # members.search_key


def _letters(parts: list[str]) -> str:
    """The parts' letters and digits in lower case; spaces, dots and punctuation are dropped."""
    return "".join(ch for ch in "".join(parts).lower() if ch.isalnum())


def search_key(name: str) -> str:
    """ "陈静" -> "cj chenjing"; Latin letters and digits are kept as they are, in lower case
    ("Amy 王" -> "amyw amywang"). Empty for a name with nothing to spell."""
    initials = _letters(lazy_pinyin(name, style=Style.FIRST_LETTER))
    full = _letters(lazy_pinyin(name, style=Style.NORMAL))
    if not initials and not full:
        return ""
    return f"{initials} {full}"[:MAX_LENGTH]
