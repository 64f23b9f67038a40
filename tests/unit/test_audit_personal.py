"""SPEC §8, R-LAW-1: a member's personal values in audit side records are committed with a salt
each, so erasure removes them (and their salts) while the digest in the hashed core still holds,
and any other change of the record is caught."""

from __future__ import annotations

import copy

from offboard.audit import personal
from offboard.audit.chain import side_digest

DETAILS = {"userid": "leo", "name": "王磊", "email": "leo@acme.example", "region": "cn", "after": {"title": "Engineer", "department_ids": [3]}, "mobile": None}


def test_spec_8_personal_values_are_found_at_any_depth_and_salted_each():
    assert personal.personal_paths(DETAILS) == ["userid", "name", "email", "after/title"]
    salts = personal.new_salts(DETAILS)
    assert salts is not None and set(salts) == {"userid", "name", "email", "after/title"} and len(set(salts.values())) == 4
    assert personal.new_salts({"count": 3, "reason": "x"}) is None


def test_r_law_1_erasure_keeps_the_digest_and_leaves_no_value_nor_salt():
    salts = personal.new_salts(DETAILS)
    digest = personal.side_digest(DETAILS, salts)
    assert digest != side_digest(DETAILS)  # the values are not digested in the clear
    erased, kept = personal.erase(DETAILS, salts, {"name": "former member #1"}.get)
    assert erased["name"] == "former member #1" and erased["email"] is None and erased["after"]["title"] is None
    assert erased["region"] == "cn" and erased["after"]["department_ids"] == [3]
    assert personal.erased(kept) and not any(s in str(kept) for s in salts.values())
    assert personal.verifies(erased, kept, digest)
    again, kept_again = personal.erase(erased, kept, lambda key: "x")
    assert (again, kept_again) == (erased, kept)  # erasing twice changes nothing


def test_spec_8_a_changed_value_salt_or_other_detail_no_longer_verifies():
    salts = personal.new_salts(DETAILS)
    digest = personal.side_digest(DETAILS, salts)
    assert personal.verifies(DETAILS, salts, digest)
    changed = copy.deepcopy(DETAILS)
    changed["email"] = "mallory@evil.example"
    assert not personal.verifies(changed, salts, digest)
    other = copy.deepcopy(DETAILS)
    other["region"] = "eu"
    assert not personal.verifies(other, salts, digest)
    assert not personal.verifies(DETAILS, {**salts, "name": "00" * 16}, digest)
    assert not personal.verifies(DETAILS, {**salts, "nowhere": "00" * 16}, digest)  # a salt naming no value
    assert not personal.verifies(DETAILS, None, digest) and not personal.verifies("text", salts, digest)
    assert personal.verifies({"count": 1}, None, side_digest({"count": 1}))  # an event without personal values
