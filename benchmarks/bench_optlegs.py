"""A collar booked with American (BAW) pricing in the day loop vs a futures hedge on the same paths.

Issue 18's goal: booking a collar (long call, short put, monthly series, priced every day per
path by the kernel's Barone-Adesi-Whaley) costs at most 10x a futures-only backtest per
path-day. Both rows book the same ``P`` paths x ``D`` days on all cores, summary only.

Run: python -m pytest benchmarks/bench_optlegs.py --benchmark-enable \
     --benchmark-json .bench/optlegs.json && python scripts/bench_ratios.py .bench/optlegs.json
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from benchmarks.conftest import size, tag
from cnfutures._kernels import settlement as k
from cnfutures._kernels.optlegs import ACT_EXPIRE, ACT_OPEN, OptionArrays

P = size(10_000, 500)  # paths
D = size(244, 60)  # trading days: one year
SERIES = 21  # trading days per monthly series


def _market(lots: float) -> tuple[k.PathArrays, k.ContractRules, k.DaySchedule, k.BookParams]:
    rng = np.random.default_rng(18)
    settle = np.round(550 * np.exp(np.cumsum(rng.normal(0, 0.02, (P, 1, D)), axis=2)), 1)
    z = np.zeros((1, D))
    m = k.PathArrays(settle, settle.copy(), settle * 1.1, settle * 0.9, np.full((1, D), lots),
                     np.full((1, D), 7.1), np.zeros((P, D)))  # fmt: skip
    r = k.ContractRules(z + 0.1, z + np.inf, z + np.inf, z + 20.0, z.copy(), z + 20.0, z.copy())
    s = k.DaySchedule(np.zeros(D, np.int64), np.zeros(D, np.int64), np.full(D, 1 / 244), np.full(D, 0.95))
    return m, r, s, k.BookParams(1000.0, 0.1, 0.0, 2.0, 0.0005, 0.2, 0.5, 0.05)


def _collar() -> OptionArrays:
    """Long 1.05 calls and short 0.95 puts, a new series every 21 trading days, expiring 20 later."""
    from cnfutures.backtest.optlegs import _grid_arrays
    from cnfutures.market.options import option_product

    day_ord = 20_000.0 + np.floor(np.arange(D) * 365.0 / 244.0)
    action = np.zeros((2, D), np.int64)
    expiry = np.zeros((2, D))
    lots = np.zeros((2, D))
    for d0 in range(0, D, SERIES):
        e = min(d0 + SERIES - 1, D - 1)
        action[:, d0] |= ACT_OPEN
        action[:, e] |= ACT_EXPIRE
        expiry[:, d0] = day_ord[e] if e == d0 + SERIES - 1 else day_ord[e] + 30.0
        lots[:, d0] = (500.0, -500.0)
    bound, step = _grid_arrays(option_product("sc"), [dt.date(2025, 6, 3)] * D)
    rng = np.random.default_rng(19)
    vol = 0.35 * np.exp(np.cumsum(rng.normal(0, 0.04, (P, D)), axis=1) * 0.3)
    full = np.zeros((2, D))
    return OptionArrays(
        w=np.array([1.0, -1.0]), moneyness=np.array([1.05, 0.95]), american=np.ones(2), action=action,
        k_open=np.where(action & ACT_OPEN, 0, -1).astype(np.int64), expiry_ord=expiry, lots=lots,
        strike=np.full((2, D), np.nan), price=np.full((2, D), np.nan), fee_open=full + 2.0,
        fee_close=full + 2.0, fee_exercise=full + 2.0, floor=full + 0.5, day_ord=day_ord, vol=vol,
        grid_bound=np.ascontiguousarray(bound), grid_step=np.ascontiguousarray(step), rate=0.015,
    )  # fmt: skip


def _book(bundles: tuple[object, ...], o: OptionArrays | None) -> np.ndarray:
    summ = np.zeros((P, k.N_SUMMARY))
    out = k.BookOutput(np.zeros((k.N_LEDGER, 0)), summ, np.zeros((0, k.N_TRACK, 0)))
    k.book_paths_par_nb(*bundles, out, o)
    return summ


@pytest.fixture(scope="module")
def futures_inputs() -> tuple[object, ...]:
    return _market(-500.0)


@pytest.fixture(scope="module")
def collar_inputs() -> tuple[tuple[object, ...], OptionArrays]:
    return _market(0.0), _collar()


@pytest.mark.benchmark(group="option booking")
def test_collar_booking_american(benchmark, collar_inputs) -> None:  # type: ignore[no-untyped-def]
    bundles, o = collar_inputs
    s = _book(bundles, o)
    assert np.isfinite(s).all() and (s[:, k.S_OPT_PEAK_MARGIN] > 0).all()
    # issue 18's goal (10x per path-day) is reported met/MISSED: measured 61-68x at full size after
    # the lean BAW Newton step (was 92-97x; about 2.6-2.8 us vs 4.0-4.2 us per path-day, two BAW
    # prices each; docs/benchmarks/backtest.md). The hard failure guards that figure against
    # regressions only (the ratio swings by 1.3x with the load): it was at 10 x the goal (100x)
    # until issue 20 made the futures-only booking, the denominator, 1.6-1.8x faster with the
    # collar's own cost unchanged (the same collar now reads 80-120x), so it is at 20 x (200x).
    tag(benchmark, role="ours", name="collar (BAW in the kernel)", n=P * D, goals={"futures-only": 10.0},
        fail_at=20.0)  # fmt: skip
    benchmark(_book, bundles, o)


@pytest.mark.benchmark(group="option booking")
def test_futures_only_booking(benchmark, futures_inputs) -> None:  # type: ignore[no-untyped-def]
    _book(futures_inputs, None)
    tag(benchmark, role="peer", name="futures-only", n=P * D)
    benchmark(_book, futures_inputs, None)
