"""Run every CLI command and every public numerical function as the FIRST thing a fresh process
does, each with its own empty numba cache, and fail when any of them fails.

A kernel that compiles only after another one was compiled in the same process (a typing
quirk that a fixed test order hides) shows up here. CI runs it before the test suite.

Usage: ``python scripts/cold_start.py [--jobs N] [--only NAME ...]``; prints one line per
check with its wall time and exits 1 when any check failed.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

_BIN = Path(sys.executable).parent / "cnfutures"

# (name, argv): each CLI command a user would run first
CLI: list[tuple[str, list[str]]] = [
    ("cli backtest", ["backtest", "--report", "{tmp}/report"]),
    ("cli risk", ["risk", "--paths", "200"]),
    ("cli sweep --example", ["sweep", "--example"]),
    ("cli specs", ["specs"]),
    ("cli calendar", ["calendar", "2026", "--exchange", "DCE"]),
    ("cli contracts", ["contracts", "sc", "--on", "2025-06-27"]),
    ("cli rules", ["rules", "sc", "--on", "2026-03-12"]),
    (
        "cli options",
        [
            "options", "sc", "--on", "2025-06-03", "--settle", "sc2509=480.3", "--value",
            "sc2509C490=-10", "--sigma", "0.35",
        ],
    ),
    ("cli routes", ["routes", "--product", "sc", "--quantity", "100000"]),
    ("cli allocate", ["allocate", "--products", "sc,i", "--start", "2024-01-02", "--notional", "1000000"]),
    ("cli access", ["access", "osbp_client", "--on", "2025-06-03", "--price", "sc=550", "--usd-cny", "7.18"]),
]

# (name, code): each public numerical function, called once on a small valid input
API: list[tuple[str, str]] = [
    ("black76", "from cnfutures import pricing; pricing.black76(100.0, 95.0, 0.5, 0.02, 0.3)"),
    ("black76_greeks", "from cnfutures import pricing; pricing.black76_greeks(100.0, 95.0, 0.5, 0.02, 0.3)"),
    ("bachelier", "from cnfutures import pricing; pricing.bachelier(-5.0, -10.0, 0.25, 0.0, 20.0)"),
    ("bachelier_greeks", "from cnfutures import pricing; pricing.bachelier_greeks(0.0, 0.0, 1.0, 0.0, 10.0)"),
    (
        "implied_vol",
        "from cnfutures import pricing; pricing.implied_vol(1.1166, 20.0, 20.0, 1 / 3, 0.09, 'put')",
    ),
    (
        "implied_vol bachelier",
        "from cnfutures import pricing; pricing.implied_vol(5.0, 0.0, 0.0, 1.0, 0.0, model='bachelier')",
    ),
    (
        "american",
        "from cnfutures import pricing\n"
        "for m in ('baw', 'bjs', 'bjs2002', 'crr', 'lr'):\n"
        "    pricing.american(100.0, 100.0, 0.5, 0.1, 0.25, 'put', method=m, steps=101)",
    ),
    ("fair_value", "from cnfutures import pricing; pricing.fair_value(500.0, 0.02, 0.5, storage=0.01)"),
    (
        "hedge_ratio",
        "import numpy as np; from cnfutures import hedging\n"
        "g = np.random.default_rng(1); f = g.normal(size=300); s = 0.8 * f + g.normal(size=300) * 0.3\n"
        "for m in ('ols', 'rolling', 'ewma'):\n"
        "    hedging.hedge_ratio(s, f, m, **({'window': 20} if m == 'rolling' else {}))",
    ),
    (
        "fit_dcc",
        "import numpy as np; from cnfutures import hedging\n"
        "g = np.random.default_rng(1); f = g.normal(size=300); s = 0.8 * f + g.normal(size=300) * 0.3\n"
        "hedging.fit_dcc(s, f)",
    ),
    (
        "backtest run",
        "from cnfutures.backtest import Market, Exposure, HedgePolicy, run\n"
        "from cnfutures.access import Investor\n"
        "run(Market.sample('sc', '2025-03-03', '2025-06-06'), Exposure(500_000, 'short', 'brent'),"
        " HedgePolicy('sc'), Investor('qfi'))",
    ),
    (
        "hedge_risk",
        "from cnfutures import hedge_risk, Investor; from cnfutures.backtest import Exposure, HedgePolicy\n"
        "hedge_risk(Exposure(100_000, 'short', 'benchmark'), HedgePolicy('sc'), Investor('qfi'),"
        " start='2025-01-02', n_days=30, n_paths=20, seed=3)",
    ),
    (
        "simulate.market",
        "from cnfutures import simulate; simulate.market('i', '2025-06-02', n_days=20, seed=1)",
    ),
    (
        "value_options",
        "from cnfutures import value_options\n"
        "value_options({'sc2509C490': -10}, '2025-06-03', {'sc2509': 480.3}, r=0.015, sigma=0.35)",
    ),
    (
        "run with a collar",
        "from cnfutures.backtest import Market, Exposure, HedgePolicy, collar, run\n"
        "from cnfutures.access import Investor\n"
        "run(Market.sample('sc', '2025-03-03', '2025-06-06'), Exposure(500_000, 'short', 'brent'),"
        " HedgePolicy('sc', ratio=0.0, options=collar(1.05, 0.95), option_vol=0.35), Investor('qfi'),"
        " start='2025-04-01')",
    ),
    (
        "hedge_risk with a collar",
        "from cnfutures import hedge_risk, Investor\n"
        "from cnfutures.backtest import Exposure, HedgePolicy, collar\n"
        "hedge_risk(Exposure(100_000, 'short', 'benchmark'), HedgePolicy('sc', ratio=0.0, options=collar()),"
        " Investor('qfi'), start='2025-01-02', n_days=30, n_paths=20, seed=3)",
    ),
    ("warmup", "import cnfutures; cnfutures.warmup()"),
]


def _run(name: str, argv: list[str], tmp: str) -> tuple[str, float, int, str]:
    env = dict(os.environ)
    env["NUMBA_CACHE_DIR"] = tempfile.mkdtemp(prefix="cnf-cold-", dir=tmp)
    env["MPLBACKEND"] = "Agg"
    t0 = time.perf_counter()
    proc = subprocess.run(argv, env=env, capture_output=True, text=True, cwd=tmp, stdin=subprocess.DEVNULL)
    tail = (proc.stderr.strip() or proc.stdout.strip()).splitlines()[-3:]
    return name, time.perf_counter() - t0, proc.returncode, "\n    ".join(tail)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("--jobs", type=int, default=min(2, os.cpu_count() or 1))
    ap.add_argument("--only", nargs="*", default=None, help="names of the checks to run")
    args = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="cnf-cold-start-")
    todo: list[tuple[str, list[str]]] = []
    for name, cli_args in CLI:
        todo.append((name, [str(_BIN), *(a.replace("{tmp}", tmp) for a in cli_args)]))
    for name, code in API:
        todo.append((name, [sys.executable, "-c", code]))
    if args.only:
        todo = [t for t in todo if t[0] in args.only]
    from concurrent.futures import ThreadPoolExecutor

    failed = 0
    t0 = time.perf_counter()
    try:
        with ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
            for name, secs, rc, tail in pool.map(lambda t: _run(t[0], t[1], tmp), todo):
                state = "ok" if rc == 0 else f"FAILED (exit {rc})"
                print(f"cold start: {name:<24} {secs:6.1f} s  {state}", flush=True)
                if rc != 0:
                    failed += 1
                    print(f"    {tail}", flush=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    took = time.perf_counter() - t0
    print(f"cold start: {len(todo) - failed} of {len(todo)} checks passed in {took:.0f} s")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
