"""The 8-year sc backtest end to end, warm: a benchmark row with an absolute goal (issue 20).

Run: python -m pytest benchmarks/bench_backtest_e2e.py --benchmark-enable \
     --benchmark-json .bench/e2e.json && python scripts/bench_ratios.py .bench/e2e.json

sc's whole life on the bundled calendar (2018-04-02 .. 2026-06-30, ~2,000 trading days) on a
simulated market, one ``run()`` per round after a first run that fills the per-process
memos (roll schedule, per-contract dates, and the rule book's compiled day rules, keyed by
contracts, days, flags and limit-locked days: a repeat of the same backtest, as a sweep or a
route comparison makes). Goal: at most 50 ms per call (no peer books the same rules); where
the time goes, before and after the memo, is in docs/benchmarks/backtest.md. The size is the
same in quick mode: the goal is about this backtest.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import polars as pl
import pytest

from benchmarks.conftest import tag


def sc_eight_year_args() -> tuple[Any, ...]:
    """``run()`` arguments of the 8-year sc backtest: simulated market, 1 mbbl long, OSBP client.

    Also the setup of ``scripts/backtest_stages.py`` (where the time of this run goes).
    """
    from cnfutures import simulate
    from cnfutures.access import Investor
    from cnfutures.backtest import Exposure, HedgePolicy, Market

    fut = simulate.market("sc", "2018-04-02", end="2026-06-30", seed=1).drop("path")
    spot = fut.group_by("trading_day").agg(pl.col("spot").first().alias("price"))
    prices = {"spot": spot.rename({"trading_day": "date"}).sort("date")}
    days = fut["trading_day"].unique().sort()
    fx = pl.DataFrame({"date": days, "usd_cny": np.full(days.len(), 7.0)})
    m = Market(fut, prices, fx, simulated=True)
    return m, Exposure(1e6, "long", "spot", "CNY"), HedgePolicy("sc"), Investor("osbp_client")


@pytest.fixture(scope="module")
def sc_args() -> tuple[Any, ...]:
    return sc_eight_year_args()


@pytest.mark.benchmark(group="backtest-sc-8y-end-to-end")
def test_sc_eight_year_backtest_warm(benchmark: Any, sc_args: tuple[Any, ...]) -> None:
    from cnfutures.backtest import run

    first = run(*sc_args)  # compile / load kernels, fill the memos (the day rules among them)
    assert first.ledger.height > 1900
    tag(benchmark, role="ours", name="cnfutures.backtest.run", n=first.ledger.height, max_ms=50.0)
    benchmark(run, *sc_args)
