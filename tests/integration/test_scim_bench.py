"""`offboard bench scim` (issue 13): members deprovisioned by SCIM PATCH from concurrent clients
against `offboard serve`, beside the same requests against the reference SCIM server; every
request answered and every member's exit started."""

from __future__ import annotations

import pytest

from offboard.bench.scim_bench import run
from tests.conftest import PG_SERVER_URL


@pytest.mark.parametrize("database", ["sqlite", "postgresql"])
def test_issue_13_the_scim_benchmark_exits_every_member_beside_the_reference(database, request):
    if database == "postgresql":
        request.getfixturevalue("pg_server_url")
    reference, ours = run(12, 3, [database], PG_SERVER_URL, workers=2)
    assert (reference.target, reference.requests, reference.failed, reference.exited) == ("scim2-server (reference)", 12, 0, None)
    assert (ours.target, ours.database, ours.failed, ours.exited) == ("offboard", database, 0, 12)
    assert ours.processes == (2 if database == "postgresql" else 1) and ours.as_dict()["per_s"] == round(12 / ours.seconds, 1)
