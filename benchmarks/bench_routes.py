"""Route comparison: ``compare_routes`` over 4 routes vs one ``run`` on the same market (issue 17).

Goal: comparing 4 routes costs at most 1.5x one backtest (the market, day axis, held cells and
rule arrays are prepared once; each route rebuilds only its costs, haircuts and kernel scalars).

Run: python -m pytest benchmarks/bench_routes.py --benchmark-enable \
     --benchmark-json .bench/routes.json && python scripts/bench_ratios.py .bench/routes.json
"""

from __future__ import annotations

import pytest

from benchmarks.conftest import QUICK, tag
from cnfutures.access import Investor
from cnfutures.backtest import Exposure, HedgePolicy, Market, run
from cnfutures.backtest.routes import compare_routes

START = "2024-01-02" if QUICK else "2019-01-02"
END = "2025-06-06"
ROUTES = ("ff_client", "overseas_intermediary", "osbp_client", "osnbp")
EXPO = Exposure(1_000_000, "short", "brent")
POLICY = HedgePolicy("sc")


@pytest.fixture(scope="module")
def market() -> Market:
    return Market.sample("sc", START, END)


@pytest.mark.benchmark(group="routes")
def test_compare_four_routes(benchmark, market) -> None:  # type: ignore[no-untyped-def]
    compare_routes(market, EXPO, POLICY, routes=ROUTES)  # compile / warm caches outside the timing
    days = run(market, EXPO, POLICY, Investor("ff_client")).ledger.height
    # the same n on both rows: the ratio is the ratio of the times of one call
    tag(benchmark, role="ours", name="compare_routes (4 routes)", n=days,
        goals={"run (1 route)": 1.5}, fail_at=3.0)  # fmt: skip
    cmp = benchmark(compare_routes, market, EXPO, POLICY, routes=ROUTES)
    assert cmp.table["eligible"].all()


@pytest.mark.benchmark(group="routes")
def test_one_run(benchmark, market) -> None:  # type: ignore[no-untyped-def]
    res = run(market, EXPO, POLICY, Investor("ff_client"))
    tag(benchmark, role="peer", name="run (1 route)", n=res.ledger.height)
    benchmark(run, market, EXPO, POLICY, Investor("ff_client"))
