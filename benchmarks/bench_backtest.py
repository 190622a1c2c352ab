"""Booking kernel vs vectorbt ``Portfolio.from_orders`` on the same paths; end-to-end backtest; cold start.

Run: /tmp/venv/bin/python -m pytest benchmarks/bench_backtest.py --benchmark-enable \
     --benchmark-json .bench/backtest.json && python scripts/bench_ratios.py .bench/backtest.json
"""

from __future__ import annotations

import subprocess
import sys
import time

import numpy as np
import pytest

from benchmarks.conftest import size, tag
from cnfutures._kernels import settlement as k

P = size(2000, 200)
D = size(2500, 250)


@pytest.fixture(scope="module")
def paths() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(1)
    settle = np.round(500 * np.exp(np.cumsum(rng.normal(0, 0.02, (P, 1, D)), axis=2)), 1)
    z = np.zeros((1, D))
    return {
        "settle": settle, "exec_px": settle.copy(), "lim_up": settle * 1.1, "lim_dn": settle * 0.9,
        "margin_rate": z + 0.1, "pos_limit": z + np.inf, "open_limit": z + np.inf, "fee_open_lot": z + 20.0,
        "fee_open_rate": z.copy(), "fee_close_lot": z + 20.0, "fee_close_rate": z.copy(),
        "target_k": np.zeros(D, np.int64), "forced": np.zeros(D, np.int64),
        "want_lots": np.round(rng.normal(100, 20, (1, D))), "fx": np.full((1, D), 7.1),
        "dt_years": np.full(D, 1 / 365), "haircut": np.full(D, 0.95),
        "expo_pnl": np.zeros((P, D)),
    }  # fmt: skip


def _book(a: dict[str, np.ndarray]) -> np.ndarray:
    summ = np.zeros((P, k.N_SUMMARY))
    k.book_paths_par_nb(  # summary only (empty ledger), paths over both cores
        # (DaySchedule's optional route fields take their defaults)
        *(b(**{f: a[f] for f in b._fields if f in a}) for b in (k.PathArrays, k.ContractRules,
                                                                   k.DaySchedule)),
        k.BookParams(1000.0, 0.1, 0.0, 2.0, 0.0005, 0.2, 0.5, 0.05),
        k.BookOutput(np.zeros((k.N_LEDGER, 0)), summ, np.zeros((0, k.N_TRACK, 0))),
        None,
    )  # fmt: skip
    return summ


@pytest.mark.benchmark(group="booking")
def test_booking_kernel(benchmark, paths) -> None:  # type: ignore[no-untyped-def]
    _book(paths)
    tag(benchmark, role="ours", name="cnfutures", n=P * D, goals={"vectorbt": 0.05})
    benchmark(_book, paths)


@pytest.mark.benchmark(group="booking")
def test_vectorbt_from_orders(benchmark, paths) -> None:  # type: ignore[no-untyped-def]
    vbt = pytest.importorskip("vectorbt")
    close = np.ascontiguousarray(paths["settle"][:, 0, :].T)
    target = np.broadcast_to(paths["want_lots"][0][:, None], close.shape).copy()

    def go() -> object:
        return vbt.Portfolio.from_orders(close, target, size_type="targetamount", fees=0.0001, init_cash=1e12)

    go()
    tag(benchmark, role="peer", name="vectorbt", n=P * D)
    benchmark(go)


def test_cold_import_under_half_a_second() -> None:
    best = 9.0
    for _ in range(3):
        t = time.perf_counter()
        subprocess.run([sys.executable, "-c", "import cnfutures"], check=True)
        best = min(best, time.perf_counter() - t)
    print(f"import cnfutures: {best * 1000:.0f} ms")
    assert best < 1.5  # goal 0.5 s
