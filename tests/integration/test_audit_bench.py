"""`offboard bench audit` (SPEC §8): a log of N events signed, verified and proven, beside the
bare hashing floor; a proof sends a fixed number of statements and holds about log2(N) hashes."""

from __future__ import annotations

import math

import pytest

from offboard.bench.audit_bench import run_one
from tests.conftest import PG_SERVER_URL


@pytest.mark.parametrize("database", ["sqlite", "postgresql"])
def test_spec_8_the_audit_benchmark_signs_verifies_and_proves_in_log_n(database, tmp_path, request):
    if database == "postgresql":
        request.getfixturevalue("pg_server_url")
    result = run_one(database, 3000, PG_SERVER_URL, tmp_path, lambda _s: None)
    figures = result.as_dict()
    assert result.events == 3000 and all(figures[k] > 0 for k in ("load_s", "sign_s", "sign_floor_s", "verify_s", "verify_floor_s", "inclusion_ms", "consistency_ms")), figures
    assert figures["verify_over_floor"] == round(result.verify_s / result.verify_floor_s, 2)
    assert result.statements_per_proof <= 4  # the event, the nodes, whatever the log's size
    assert math.floor(math.log2(3000)) <= result.hashes_per_proof <= math.ceil(math.log2(3000))
