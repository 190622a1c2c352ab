"""Simulator and Monte Carlo hedge risk against what users write by hand.

Group ``simulate`` (issue 8: 10,000 paths × 2,500 trading days): the two-factor model, FX and
the settlements of every contract a calendar roll holds on DCE iron ore over ten years
(2014-2024, about 120 contracts), simulated in chunks of paths (the output of each chunk is
reduced to its last settlements, so memory stays bounded). Peer: the same model written with
numpy (a loop over days for the factors, then over contract rows, vectorised across paths),
checked to give the same settlements on the same draws.

Group ``hedge_risk``: one hedge policy over simulated paths, ours (one prepared set-up, paths
booked by the parallel kernel) vs the brute-force loop a user writes with the public pieces:
simulate one market path, run a backtest on it, keep the result.
"""

from __future__ import annotations

import math
import time

import numpy as np
import polars as pl
import pytest

from benchmarks.conftest import size, tag
from cnfutures import simulate
from cnfutures.backtest.engine import _calendar_schedule
from cnfutures.frames.roll import RollRule

P = size(10_000, 1_000)
D = size(2_500, 500)
CHUNK = 500


@pytest.fixture(scope="module")
def setup() -> simulate.Setup:
    first = simulate.setup("i", "2014-01-02", n_days=D, contracts=None)
    days = first.days
    sched = _calendar_schedule(RollRule(kind="calendar", days_before_ltd=5), "i", days[0], days[-1])
    held = sched["contract"].unique().sort().to_list()
    return simulate.setup("i", "2014-01-02", n_days=D, contracts=held)


def _ours(su: simulate.Setup) -> float:
    acc = 0.0
    buffers: dict[str, np.ndarray] = {}  # reused across chunks (no fresh pages per chunk)
    for p0 in range(0, P, CHUNK):
        out = simulate.draw(su, 1, p0, min(CHUNK, P - p0), ohlc=False, buffers=buffers)
        acc += float(out["settle"][:, -1].sum())
    return acc


def _numpy_chunk(su: simulate.Setup, z1: np.ndarray, z2: np.ndarray, z3: np.ndarray) -> np.ndarray:
    """The same model in numpy: returns settle [P, R]."""
    prm = su.params
    n, d_n = z1.shape
    dt = 1.0 / simulate.TRADING_DAYS_PER_YEAR
    a = math.exp(-prm.kappa * dt)
    s_chi = prm.sigma_chi * math.sqrt((1 - a * a) / (2 * prm.kappa))
    s_xi = prm.sigma_xi * math.sqrt(dt)
    drift = (prm.mu_xi - 0.5 * prm.sigma_xi**2) * dt
    r2 = math.sqrt(1 - prm.rho**2)
    s_fx = prm.sigma_fx * math.sqrt(dt)
    rf2 = math.sqrt(1 - prm.rho_fx**2)
    chi = np.empty((n, d_n))
    xi = np.empty((n, d_n))
    lfx = np.empty((n, d_n))
    chi[:, 0] = prm.chi0
    xi[:, 0] = math.log(prm.s0) - prm.chi0
    lfx[:, 0] = math.log(prm.fx0)
    for d in range(1, d_n):
        e_xi = prm.rho * z1[:, d] + r2 * z2[:, d]
        chi[:, d] = chi[:, d - 1] * a + s_chi * z1[:, d]
        xi[:, d] = xi[:, d - 1] + drift + s_xi * e_xi
        lfx[:, d] = lfx[:, d - 1] - 0.5 * prm.sigma_fx**2 * dt + s_fx * (prm.rho_fx * e_xi + rf2 * z3[:, d])
    tick = su.product.tick
    settle = np.empty((n, su.rows.height))
    last = np.zeros(n)
    for r in range(su.rows.height):
        d = su.row_day[r]
        tau = su.row_tau[r]
        model = np.exp(math.exp(-prm.kappa * tau) * chi[:, d] + xi[:, d] + prm.carry * tau)
        if su.row_start[r]:
            last = np.floor(model / tick + 0.5) * tick
        rate = su.row_rate[r]
        hi = np.floor(last * (1 + rate) / tick + 1e-9)
        lo = np.ceil(last * (1 - rate) / tick - 1e-9)
        last = np.clip(np.floor(model / tick + 0.5), lo, hi) * tick
        settle[:, r] = last
    return settle


def _peer(su: simulate.Setup) -> float:
    rng = np.random.default_rng(1)
    acc = 0.0
    for p0 in range(0, P, CHUNK):
        n = min(CHUNK, P - p0)
        z = rng.standard_normal((3, n, D))
        acc += float(_numpy_chunk(su, z[0], z[1], z[2])[:, -1].sum())
    return acc


def test_numpy_peer_reproduces_our_settlements(setup: simulate.Setup) -> None:
    from cnfutures._kernels import paths as k

    out = simulate.draw(setup, 5, 0, 3)
    z = np.empty((3, 3, D))
    for i, stream in enumerate((k.STREAM_CHI, k.STREAM_XI, k.STREAM_FX)):
        k.keyed_normals_nb(np.uint64(5), np.uint64(stream), np.uint64(0), np.arange(D, dtype=np.uint64), z[i])
    # integer ticks: same rounding, up to float noise at exact half ticks
    np.testing.assert_allclose(_numpy_chunk(setup, z[0], z[1], z[2]), out["settle"], rtol=0, atol=1.0)
    assert np.mean(_numpy_chunk(setup, z[0], z[1], z[2]) == out["settle"]) > 0.999


@pytest.mark.benchmark(group="simulate")
def test_simulate_ours(benchmark, setup) -> None:  # type: ignore[no-untyped-def]
    simulate.draw(setup, 1, 0, 2)  # compile outside the timed region
    tag(benchmark, role="ours", name="cnfutures", n=P * D, goals={"numpy": 0.5})
    benchmark.extra_info["rows_per_path"] = setup.rows.height
    benchmark.pedantic(_ours, args=(setup,), rounds=size(1, 3), iterations=1)


@pytest.mark.benchmark(group="simulate")
def test_simulate_numpy_peer(benchmark, setup) -> None:  # type: ignore[no-untyped-def]
    tag(benchmark, role="peer", name="numpy", n=P * D)
    benchmark.pedantic(_peer, args=(setup,), rounds=size(1, 3), iterations=1)


# --- Monte Carlo hedge risk ------------------------------------------------------------------
RP = size(2_000, 200)  # paths, ours
LOOP = size(50, 10)  # paths, brute-force loop (per-path time is what is compared)
RDAYS = size(244, 120)


def _risk_args() -> tuple[object, ...]:
    from cnfutures.access import Investor
    from cnfutures.backtest import Exposure, HedgePolicy

    return (Exposure(500_000, "short", "benchmark"), HedgePolicy("sc"), Investor("qfi"))


@pytest.mark.benchmark(group="hedge_risk")
def test_hedge_risk_ours(benchmark) -> None:  # type: ignore[no-untyped-def]
    from cnfutures.risk import hedge_risk

    args = _risk_args()
    kw = {"start": "2024-01-02", "n_days": RDAYS, "seed": 1}
    hedge_risk(*args, n_paths=2, **kw)  # type: ignore[arg-type]
    tag(benchmark, role="ours", name="cnfutures", n=RP, goals={"backtest loop": 0.05})
    benchmark.pedantic(lambda: hedge_risk(*args, n_paths=RP, **kw), rounds=3, iterations=1)  # type: ignore[arg-type]


@pytest.mark.benchmark(group="hedge_risk")
def test_hedge_risk_backtest_loop_peer(benchmark) -> None:  # type: ignore[no-untyped-def]
    from cnfutures.backtest import run
    from cnfutures.backtest.risk import _template_market

    args = _risk_args()

    def loop() -> list[object]:
        results = []
        f = simulate.market("sc", "2024-01-02", n_days=RDAYS, n_paths=LOOP, seed=1, usd=True)
        for p in range(LOOP):
            m = _template_market(f.filter(pl.col("path") == p), "loop")
            results.append(run(m, *args))
        return results

    loop()
    tag(benchmark, role="peer", name="backtest loop", n=LOOP)
    benchmark.pedantic(loop, rounds=3, iterations=1)


def test_print_risk_throughput() -> None:
    from cnfutures.risk import hedge_risk

    args = _risk_args()
    hedge_risk(*args, start="2024-01-02", n_days=RDAYS, n_paths=2, seed=1)  # type: ignore[arg-type]
    t = time.perf_counter()
    r = hedge_risk(*args, start="2024-01-02", n_days=RDAYS, n_paths=RP, seed=1)  # type: ignore[arg-type]
    el = time.perf_counter() - t
    print(f"hedge_risk: {RP} paths x {RDAYS} days in {el:.2f} s ({el / RP * 1e3:.2f} ms/path)")
    assert r.paths.height == RP
