"""Parameter sweeps: ``cnfutures.sweep`` vs a brute-force loop of full backtests; memory per backtest.

The peer is what vnpy's optimiser does (and what a vectorbt user gets when every run keeps its
records, vectorbt #406 / #797): call the full backtest for every grid point and keep every
result. ``cnfutures.sweep`` keeps one summary row per point, shares ``prepare`` between points
that differ only in kernel scalars (band, costs, slippage) and runs batches on local processes.

Run: CNF_BENCH_QUICK=1 .venv/bin/python -m pytest benchmarks/bench_sweep.py --benchmark-enable \
     --benchmark-json .bench/sweep.json -s && python scripts/bench_ratios.py .bench/sweep.json
"""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
from typing import Any

import pytest

from benchmarks.conftest import QUICK, size, tag

N = size(1000, 100)  # backtests per sweep
SIZES = (50, 250) if QUICK else (200, 1000)  # the two sweep sizes of the memory check (5x apart)

_SETUP = """
import dataclasses
from cnfutures.access import Investor
from cnfutures.backtest import Exposure, HedgePolicy
from cnfutures.sweeps import SimulatedMarket, SweepSpec

def build(n, quick):
    # one year of SIMULATED sc, a 500,000 bbl buyer; 100 policies per seed (50 in quick mode)
    recipe = SimulatedMarket("sc", "2024-06-03", "2025-06-06", seed=1)
    spec = SweepSpec(recipe, Exposure(500_000, "short", "brent"), HedgePolicy("sc", slippage_ticks=1.0),
                     Investor("osbp_client"))
    roll = [3, 10] if quick else [3, 5, 10, 15]
    base = {"ratio": [0.7, 0.8, 0.9, 1.0, "ewma"], "roll_days": roll, "band": [0, 5, 10, 20, 50]}
    per_seed = 5 * len(roll) * 5
    assert n % per_seed == 0, (n, per_seed)
    return spec, {"seed": list(range(1, n // per_seed + 1)), **base}
"""
exec(_SETUP)  # defines build() here too (the memory check runs the same code in a fresh process)


def _peer(spec: Any, grid: dict[str, Any]) -> list[Any]:
    """vnpy-style brute force: a full backtest per point, every result (ledger + summary) kept."""
    import itertools

    from cnfutures.backtest import Costs, run
    from cnfutures.frames.roll import RollRule

    results = []
    for seed, ratio, roll_days, band in itertools.product(*grid.values()):
        market = dataclasses.replace(spec.market, seed=seed).build()
        policy = dataclasses.replace(
            spec.policy, ratio=ratio, band=band, roll=RollRule(kind="calendar", days_before_ltd=roll_days)
        )
        results.append(run(market, spec.exposure, policy, spec.investor, Costs()))
    return results


@pytest.fixture(scope="module")
def problem() -> tuple[Any, dict[str, Any]]:
    spec, grid = build(N, QUICK)  # type: ignore[name-defined]  # noqa: F821
    from cnfutures.sweeps import points

    assert points(spec, grid).height == N
    return spec, grid


@pytest.mark.benchmark(group="sweep")
def test_sweep_local_processes(benchmark: Any, problem: tuple[Any, dict[str, Any]]) -> None:
    from cnfutures.sweeps import sweep

    spec, grid = problem
    sweep(spec, {"band": [0]}, executor="serial")  # compile / load the kernels outside the timing
    # the goal: at most half the time of the brute-force loop (the pool's start-up is timed too).
    # Only at the full size: in quick mode 100 backtests take ~0.3 s and the two spawned workers'
    # start-up (imports, kernel loads: seconds, more on a loaded machine) is all that is measured.
    goals = {} if QUICK else {"full-backtest loop": 0.5}
    tag(benchmark, role="ours", name="cnfutures.sweep (2 processes)", n=N, goals=goals)
    out = benchmark.pedantic(lambda: sweep(spec, grid, workers=2), rounds=1 if not QUICK else 2, iterations=1)
    assert out.height == N and out["error"].null_count() == N


@pytest.mark.benchmark(group="sweep")
def test_sweep_serial(benchmark: Any, problem: tuple[Any, dict[str, Any]]) -> None:
    from cnfutures.sweeps import sweep

    spec, grid = problem
    sweep(spec, {"band": [0]}, executor="serial")
    tag(benchmark, role="ours", name="cnfutures.sweep (serial)", n=N, goals={"full-backtest loop": 0.5})
    out = benchmark.pedantic(lambda: sweep(spec, grid, executor="serial"), rounds=1 if not QUICK else 2)
    assert out.height == N


@pytest.mark.benchmark(group="sweep")
def test_full_backtest_loop(benchmark: Any, problem: tuple[Any, dict[str, Any]]) -> None:
    spec, grid = problem
    _peer(spec, {"seed": [1], "ratio": [1.0], "roll_days": [5], "band": [0]})
    tag(benchmark, role="peer", name="full-backtest loop", n=N)
    out = benchmark.pedantic(lambda: _peer(spec, grid), rounds=1 if not QUICK else 2)
    assert len(out) == N


_MEASURE = """
import json, sys
from pathlib import Path

def status(text):  # VmHWM: peak resident memory of this process image (ru_maxrss would include
    # the high-water mark inherited from the launching process across fork + exec)
    f = dict(line.split(":", 1) for line in text.splitlines())
    return int(f["Pid"]), int(f["VmHWM"].split()[0]), int(f["VmRSS"].split()[0])

n, quick, mode = int(sys.argv[1]), sys.argv[2] == "1", sys.argv[3]
spec, grid = build(n, quick)
workers = {}
if mode == "ours":
    import concurrent.futures as cf, multiprocessing
    from cnfutures.sweeps import sweep
    with cf.ProcessPoolExecutor(2, mp_context=multiprocessing.get_context("spawn")) as pool:
        kept = sweep(spec, grid, executor=pool)
        for f in [pool.submit(Path("/proc/self/status").read_text) for _ in range(16)]:
            pid, hwm, _ = status(f.result())
            workers[pid] = hwm
    assert kept.height == n
else:
    kept = peer(spec, grid)
    assert len(kept) == n
_, hwm, now = status(Path("/proc/self/status").read_text())
print(json.dumps({"self_kb": hwm, "now_kb": now, "children_kb": max(workers.values(), default=0),
                  "n_workers_seen": len(workers)}))
"""


def _peak_rss(n: int, mode: str) -> dict[str, int]:
    import inspect

    peer = inspect.getsource(_peer).replace("def _peer", "def peer")
    code = _SETUP + "\nfrom typing import Any\n" + peer + _MEASURE
    r = subprocess.run(
        [sys.executable, "-c", code, str(n), "1" if QUICK else "0", mode], capture_output=True, text=True
    )
    assert r.returncode == 0, r.stderr[-3000:]
    return dict(json.loads(r.stdout.strip().splitlines()[-1]))


@pytest.mark.benchmark(group="sweep-memory")
def test_memory_per_backtest_stays_flat(benchmark: Any) -> None:
    small, large = SIZES
    got: dict[str, dict[str, int]] = {}

    def measure() -> None:
        for mode in ("ours", "peer"):
            for n in (small, large):
                got[f"{mode}_{n}"] = _peak_rss(n, mode)

    benchmark.pedantic(measure, rounds=1, iterations=1)
    o_s, o_l = got[f"ours_{small}"], got[f"ours_{large}"]
    p_s, p_l = got[f"peer_{small}"], got[f"peer_{large}"]
    info = {
        "sizes": [small, large],
        "ours_main_peak_mb": [o_s["self_kb"] / 1024, o_l["self_kb"] / 1024],
        "ours_worker_peak_mb": [o_s["children_kb"] / 1024, o_l["children_kb"] / 1024],
        "ours_main_rss_after_mb": [o_s["now_kb"] / 1024, o_l["now_kb"] / 1024],
        "ours_workers_seen": [o_s["n_workers_seen"], o_l["n_workers_seen"]],
        "peer_peak_mb": [p_s["self_kb"] / 1024, p_l["self_kb"] / 1024],
        "peer_rss_after_mb": [p_s["now_kb"] / 1024, p_l["now_kb"] / 1024],
        "ours_growth_kb_per_backtest": (o_l["now_kb"] - o_s["now_kb"]) / (large - small),
        "peer_growth_kb_per_backtest": (p_l["now_kb"] - p_s["now_kb"]) / (large - small),
    }
    benchmark.extra_info.update(info)
    print(f"\npeak RSS at {small} and {large} backtests: " + json.dumps(info, indent=1))
    # flat: 5x the backtests costs less than 1.3x the peak memory (main process and each worker)
    assert o_l["self_kb"] < 1.3 * o_s["self_kb"]
    assert o_l["children_kb"] < 1.3 * o_s["children_kb"] and o_s["children_kb"] > 0
    assert o_l["now_kb"] < 1.3 * o_s["now_kb"]
