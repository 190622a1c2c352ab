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
from pathlib import Path
from typing import Any

STAGES = (
    "prepare", "prepare_market", "_product_futures", "_day_axis", "_hold_schedule", "_held_cells",
    "_price_matrices", "_exposure_series", "_checked_day_rules", "_limit_prices", "_contract_rules", "book",
)  # fmt: skip


def main(n: int) -> None:
    """Print the median CPU time [ms] of ``run()`` and of each stage over ``n`` warm runs."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repository, for benchmarks/
    from benchmarks.bench_backtest_e2e import sc_eight_year_args

    from cnfutures.backtest import engine, run

    args = sc_eight_year_args()
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
