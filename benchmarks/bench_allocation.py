"""An allocation index of 4 products over 2010-2026 (issue 21's goal: <= 100 ms warm).

Group ``allocation_index``: :func:`cnfutures.allocation.build_index` on four seeded simulated
SHFE rubber markets (``cnfutures.simulate.market``; ``ru`` is the one product of the four
listed before 2013, so it stands in for four 2010-2026 sleeves of the same size: ~3,840 index
days, ~39,000 contract-days per sleeve), monthly rebalancing, inverse-volatility weights, a
5-day roll window. Peer: the pandas units-and-cash replay of the tests
(``tests/naive_allocation.py``), the same index to 1e-10, on the same inputs. In quick mode
(CI) both run on the last two years so the pandas loop stays short; the absolute goal is for
the full 16 years.
"""

from __future__ import annotations

from typing import Any

import polars as pl
import pytest

from benchmarks.conftest import QUICK, tag
from cnfutures import simulate
from cnfutures.allocation import build_index
from cnfutures.frames import RollRule

START = "2024-07-01" if QUICK else "2010-09-01"
ROLL = RollRule(days_before_ltd=30, months=(1, 5, 9))
KW: dict[str, Any] = {"rebalance": "monthly", "lookback": 60, "roll": ROLL}


@pytest.fixture(scope="module")
def sleeves() -> dict[str, pl.DataFrame]:
    out = {}
    for i in range(4):
        f = simulate.market("ru", "2010-01-04", end="2026-06-30", seed=100 + i).drop("path")
        out[f"ru{i}"] = f.filter(pl.col("trading_day") >= pl.lit(START).str.to_date())
    return out


@pytest.mark.benchmark(group="allocation_index")
def test_build_index(benchmark: Any, sleeves: dict[str, pl.DataFrame]) -> None:
    ix = build_index(sleeves, "inverse_vol", **KW)
    tag(benchmark, role="ours", name="cnfutures build_index", n=ix.levels.height,
        goals={"pandas replay": 0.15}, max_ms=100.0)  # fmt: skip
    benchmark(build_index, sleeves, "inverse_vol", **KW)


@pytest.mark.benchmark(group="allocation_index")
def test_pandas_replay(benchmark: Any, sleeves: dict[str, pl.DataFrame]) -> None:
    from tests import naive_allocation as naive

    rules = dict.fromkeys(sleeves, ROLL)
    ref = naive.index_levels(sleeves, rules, "inverse_vol", rebalance="monthly", lookback=60)
    tag(benchmark, role="peer", name="pandas replay", n=len(ref))
    kw = {"rebalance": "monthly", "lookback": 60}
    args = (sleeves, rules, "inverse_vol")
    benchmark.pedantic(naive.index_levels, args=args, kwargs=kw, rounds=1, iterations=1)
