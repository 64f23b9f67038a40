"""`offboard bench seal` (R-LAW-3): a departed member's messages sealed end to end beside a bare
AES-GCM loop and a bare insert, in one run; every message is sealed."""

from __future__ import annotations

import pytest

from offboard.bench.seal_bench import run_one
from tests.conftest import PG_SERVER_URL


@pytest.mark.parametrize("database", ["sqlite", "postgresql"])
def test_r_law_3_the_seal_benchmark_seals_every_message_beside_its_floors(database, tmp_path, request):
    if database == "postgresql":
        request.getfixturevalue("pg_server_url")
    result = run_one(database, 3000, PG_SERVER_URL, tmp_path, lambda _s: None)
    figures = result.as_dict()
    assert result.messages == 3000 and result.seal_s > 0 and result.aes_s > 0 and result.insert_s > 0, figures
    assert figures["seal_over_aes"] == round(result.seal_s / result.aes_s, 2) and figures["seal_per_s"] == round(3000 / result.seal_s)
