"""`offboard bench layoff` (SPEC §10): a small synthetic enterprise, the three phases of a bulk
exit timed beside their floors; the leavers end finalized and the figures add up."""

from __future__ import annotations

import pytest

from offboard.bench.layoff_bench import PHASES, run_one
from tests.conftest import PG_SERVER_URL


@pytest.mark.parametrize("database", ["sqlite", "postgresql"])
def test_spec_10_the_layoff_benchmark_times_each_phase_beside_its_floor(database, tmp_path, request):
    if database == "postgresql":
        request.getfixturevalue("pg_server_url")
    results = run_one(database, 400, 40, PG_SERVER_URL, tmp_path)
    assert [r.phase for r in results] == list(PHASES)
    for r in results:
        figures = r.as_dict()
        assert r.leavers == 40 and r.rows > 0 and r.floor_rows > 0 and r.engine_s > 0 and r.floor_s > 0, figures
        assert figures["engine_over_floor"] == round(r.engine_s / r.floor_s, 2) and figures["peak_rss_mb"] > 0
    plan, execute, finalize = results
    assert plan.rows >= 40 * 11  # a line and a route per kind for each leaver
    assert execute.rows > finalize.rows >= 40  # the moves outweigh the finalization
