"""CPU time of each stage of a warm 8-year sc ``backtest.run()`` (docs/benchmarks/backtest.md).

The benchmark's setup (``benchmarks/bench_backtest_e2e.py``); each named engine function is
wrapped with a process-CPU timer; one warm-up run, then N timed runs, medians printed.
Run with ``POLARS_MAX_THREADS=1`` for CPU figures that do not depend on polars' threads:

    POLARS_MAX_THREADS=1 PYTHONPATH=src python scripts/backtest_stages.py 20
"""

from __future__ import annotations

import collections
import functools
import statistics
import sys
import time
from typing import Any

import numpy as np
import polars as pl

STAGES = (
    "prepare", "prepare_market", "_product_futures", "_day_axis", "_hold_schedule", "_held_cells",
    "_price_matrices", "_exposure_series", "_checked_day_rules", "_limit_prices", "_contract_rules", "book",
)  # fmt: skip


def main(n: int) -> None:
    """Print the median CPU time [ms] of ``run()`` and of each stage over ``n`` warm runs."""
    from cnfutures import simulate
    from cnfutures.access import Investor
    from cnfutures.backtest import Exposure, HedgePolicy, Market, engine, run

    fut = simulate.market("sc", "2018-04-02", end="2026-06-30", seed=1).drop("path")
    spot = fut.group_by("trading_day").agg(pl.col("spot").first().alias("price"))
    prices = {"spot": spot.rename({"trading_day": "date"}).sort("date")}
    days = fut["trading_day"].unique().sort()
    fx = pl.DataFrame({"date": days, "usd_cny": np.full(days.len(), 7.0)})
    market = Market(fut, prices, fx, simulated=True)
    args = (market, Exposure(1e6, "long", "spot", "CNY"), HedgePolicy("sc"), Investor("osbp_client"))
    spent: dict[str, float] = collections.defaultdict(float)

    def timed(name: str, f: Any) -> Any:
        @functools.wraps(f)
        def g(*a: Any, **k: Any) -> Any:
            t = time.process_time()
            try:
                return f(*a, **k)
            finally:
                spent[name] += time.process_time() - t

        return g

    for name in STAGES:
        setattr(engine, name, timed(name, getattr(engine, name)))
    run(*args)
    per: dict[str, list[float]] = collections.defaultdict(list)
    total = []
    for _ in range(n):
        spent.clear()
        t = time.process_time()
        run(*args)
        total.append(time.process_time() - t)
        for name in STAGES:
            per[name].append(spent[name])
    print(f"run() CPU median {statistics.median(total) * 1e3:.1f} ms, best {min(total) * 1e3:.1f} ms")
    for name in STAGES:
        print(f"  {name:20s} {statistics.median(per[name]) * 1e3:6.2f} ms")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 20)
