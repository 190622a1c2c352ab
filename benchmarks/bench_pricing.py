"""Pricing benchmarks: each group times cnfutures and its peers on the same inputs.

Run: ``CNF_BENCH_QUICK=1 python -m pytest benchmarks/bench_pricing.py --benchmark-enable
--benchmark-only --benchmark-json=/tmp/bp.json && python scripts/bench_ratios.py /tmp/bp.json``
(drop ``CNF_BENCH_QUICK`` for the full sizes: 1e6 options, 1e4 for trees).
Bjerksund-Stensland 2002 is timed against QuantLib's BAW engine (QuantLib has no BS2002).
Goals are those of issue 4, and for the public functions' rows (``cnfutures``: what users
call, conversion, validation and output included) those of issue 20; the ``cnfutures
kernel`` rows time the numba kernel alone on preallocated outputs (no goal), so the table
shows public vs kernel vs peer. Compilation happens before timing (each function is called
once first). QuantLib is timed as a Python loop over a subset (per-item ratios).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest

from benchmarks.conftest import size, tag
from cnfutures import pricing

N = size(1_000_000, 200_000)
N_LOOP = size(20_000, 2_000)  # QuantLib Python loops
N_TREE = size(10_000, 200)
N_TREE_QL = size(300, 40)
ROUNDS = size(7, 5)


def _run(benchmark: Any, fn: Any, rounds: int = ROUNDS) -> Any:
    # compile and warm caches outside the timed region; twice, as the first two calls of a function
    # that returns fresh arrays of this size take the page faults of the heap growing under them
    # (2-4x slower, ours and numpy's alike), which with 5 rounds could be the median
    fn()
    fn()
    return benchmark.pedantic(fn, rounds=rounds, iterations=1, warmup_rounds=0)


@pytest.fixture(scope="module")
def book() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(20261127)
    n = N
    T = rng.uniform(7 / 365, 2.0, n)
    sigma = rng.uniform(0.1, 0.8, n)
    F = rng.uniform(400.0, 700.0, n)
    K = F * np.exp(rng.uniform(-1.5, 1.5, n) * sigma * np.sqrt(T))
    r = np.full(n, 0.02)
    w = np.where(rng.random(n) < 0.5, 1.0, -1.0)
    price = pricing.black76(F, K, T, r, sigma, w)
    return {
        "F": F,
        "K": K,
        "T": T,
        "r": r,
        "sigma": sigma,
        "w": w,
        "price": price,
        "flag": np.where(w > 0, "c", "p"),
    }


def _ndtr() -> Any:
    return pytest.importorskip("scipy.special").ndtr


# ------------------------------------------------------------------------------------------
@pytest.mark.benchmark(group="black76-price")
def test_black76_price_ours(benchmark: Any, book: dict[str, np.ndarray]) -> None:
    b = book
    tag(
        benchmark, role="ours", name="cnfutures", n=N,
        goals={"numpy+scipy": 0.3, "py_vollib_vectorized": 0.1},
        # issue 20's goal (0.3) is reported met/MISSED; the hard failure stays where it was for
        # the old 0.6 goal (3.0): the two-thread kernel slows 2-3x when the machine is shared
        fail_at={"numpy+scipy": 10.0},
    )
    _run(benchmark, lambda: pricing.black76(b["F"], b["K"], b["T"], b["r"], b["sigma"], b["w"]))


@pytest.mark.benchmark(group="black76-price")
def test_black76_price_kernel(benchmark: Any, book: dict[str, np.ndarray]) -> None:
    from cnfutures._kernels.black76 import black76_price_nb

    b = book
    out = np.empty(N)
    tag(benchmark, role="ours", name="cnfutures kernel", n=N)

    def f() -> None:
        with pricing._dynamic_schedule():
            black76_price_nb(b["F"], b["K"], b["T"], b["r"], b["sigma"], b["w"], out)

    _run(benchmark, f)


@pytest.mark.benchmark(group="black76-price")
def test_black76_price_numpy(benchmark: Any, book: dict[str, np.ndarray]) -> None:
    ndtr = _ndtr()
    b = book

    def f() -> np.ndarray:
        st = b["sigma"] * np.sqrt(b["T"])
        d1 = np.log(b["F"] / b["K"]) / st + 0.5 * st
        w = b["w"]
        return np.exp(-b["r"] * b["T"]) * w * (b["F"] * ndtr(w * d1) - b["K"] * ndtr(w * (d1 - st)))

    tag(benchmark, role="peer", name="numpy+scipy", n=N)
    out = _run(benchmark, f)
    np.testing.assert_allclose(out, b["price"], rtol=1e-9, atol=1e-9)


@pytest.mark.benchmark(group="black76-price")
def test_black76_price_py_vollib(benchmark: Any, book: dict[str, np.ndarray]) -> None:
    pvv = pytest.importorskip("py_vollib_vectorized")
    b = book
    disc = np.exp(-b["r"] * b["T"])

    def f() -> np.ndarray:  # vectorized_black ignores r: discount ourselves
        raw = pvv.vectorized_black(b["flag"], b["F"], b["K"], b["T"], b["r"], b["sigma"], return_as="numpy")
        return disc * np.asarray(raw).ravel()

    tag(benchmark, role="peer", name="py_vollib_vectorized", n=N)
    _run(benchmark, f, rounds=3)


@pytest.mark.benchmark(group="black76-price")
def test_black76_price_quantlib(benchmark: Any, book: dict[str, np.ndarray]) -> None:
    ql = pytest.importorskip("QuantLib")
    b = book
    n = N_LOOP
    typ = [ql.Option.Call if x > 0 else ql.Option.Put for x in b["w"][:n]]
    std = (b["sigma"] * np.sqrt(b["T"]))[:n].tolist()
    disc = np.exp(-b["r"] * b["T"])[:n].tolist()
    F, K = b["F"][:n].tolist(), b["K"][:n].tolist()

    def f() -> list[float]:
        return [ql.blackFormula(typ[i], K[i], F[i], std[i], disc[i]) for i in range(n)]

    tag(benchmark, role="peer", name="QuantLib", n=n)
    _run(benchmark, f, rounds=3)


# ------------------------------------------------------------------------------------------
@pytest.mark.benchmark(group="black76-greeks")
def test_black76_greeks_ours(benchmark: Any, book: dict[str, np.ndarray]) -> None:
    b = book
    tag(
        benchmark,
        role="ours",
        name="cnfutures",
        n=N,
        goals={"numpy+scipy": 0.4, "py_vollib_vectorized": 0.03},
        fail_at={"numpy+scipy": 7.5},  # hard failure at 3.0 as for the old 0.6 goal (see the price row)
    )
    _run(benchmark, lambda: pricing.black76_greeks(b["F"], b["K"], b["T"], b["r"], b["sigma"], b["w"]))


@pytest.mark.benchmark(group="black76-greeks")
def test_black76_greeks_kernel(benchmark: Any, book: dict[str, np.ndarray]) -> None:
    from cnfutures._kernels.black76 import black76_greeks_nb

    b = book
    outs = np.zeros((8, N))
    tag(benchmark, role="ours", name="cnfutures kernel", n=N)

    def f() -> None:
        with pricing._dynamic_schedule():
            black76_greeks_nb(b["F"], b["K"], b["T"], b["r"], b["sigma"], b["w"], *outs)

    _run(benchmark, f)


@pytest.mark.benchmark(group="black76-greeks")
def test_black76_greeks_numpy(benchmark: Any, book: dict[str, np.ndarray]) -> None:
    ndtr = _ndtr()
    b = book

    def f() -> tuple[np.ndarray, ...]:
        sq = np.sqrt(b["T"])
        st = b["sigma"] * sq
        d1 = np.log(b["F"] / b["K"]) / st + 0.5 * st
        disc = np.exp(-b["r"] * b["T"])
        n1 = np.exp(-0.5 * d1 * d1) / math.sqrt(2 * math.pi)
        w = b["w"]
        price = disc * w * (b["F"] * ndtr(w * d1) - b["K"] * ndtr(w * (d1 - st)))
        delta = disc * w * ndtr(w * d1)
        gamma = disc * n1 / (b["F"] * st)
        vega = disc * b["F"] * n1 * sq
        theta = (b["r"] * price - disc * b["F"] * n1 * b["sigma"] / (2 * sq)) / 365.0
        return price, delta, gamma, vega, theta

    tag(benchmark, role="peer", name="numpy+scipy", n=N)
    _run(benchmark, f)


@pytest.mark.benchmark(group="black76-greeks")
def test_black76_greeks_py_vollib(benchmark: Any, book: dict[str, np.ndarray]) -> None:
    pvv = pytest.importorskip("py_vollib_vectorized")
    b = book
    n = size(200_000, 20_000)  # finite-difference Greeks: slow; per-item ratio

    def f() -> Any:
        return pvv.get_all_greeks(
            b["flag"][:n],
            b["F"][:n],
            b["K"][:n],
            b["T"][:n],
            b["r"][:n],
            b["sigma"][:n],
            model="black",
            return_as="dict",
        )

    tag(benchmark, role="peer", name="py_vollib_vectorized", n=n)
    _run(benchmark, f, rounds=3)


# ------------------------------------------------------------------------------------------
@pytest.mark.benchmark(group="implied-vol")
def test_implied_vol_ours(benchmark: Any, book: dict[str, np.ndarray]) -> None:
    b = book
    tag(benchmark, role="ours", name="cnfutures", n=N, goals={"py_vollib_vectorized": 0.35, "QuantLib": 0.12})
    out = _run(benchmark, lambda: pricing.implied_vol(b["price"], b["F"], b["K"], b["T"], b["r"], b["w"]))
    np.testing.assert_allclose(out, b["sigma"], rtol=1e-10)


@pytest.mark.benchmark(group="implied-vol")
def test_implied_vol_kernel(benchmark: Any, book: dict[str, np.ndarray]) -> None:
    from cnfutures._kernels.implied import implied_vol_black76_nb

    b = book
    out = np.empty(N)
    status = np.empty(N, dtype=np.int64)
    tag(benchmark, role="ours", name="cnfutures kernel", n=N)

    def f() -> None:
        with pricing._dynamic_schedule():
            implied_vol_black76_nb(b["price"], b["F"], b["K"], b["T"], b["r"], b["w"], out, status)

    _run(benchmark, f)


@pytest.mark.benchmark(group="implied-vol")
def test_implied_vol_py_vollib(benchmark: Any, book: dict[str, np.ndarray]) -> None:
    pvv = pytest.importorskip("py_vollib_vectorized")
    b = book
    undiscounted = b["price"] * np.exp(b["r"] * b["T"])  # its Black ignores r

    def f() -> Any:
        return pvv.vectorized_implied_volatility_black(
            undiscounted, b["F"], b["K"], b["r"], b["T"], b["flag"], return_as="numpy", on_error="ignore"
        )

    tag(benchmark, role="peer", name="py_vollib_vectorized", n=N)
    _run(benchmark, f, rounds=3)


@pytest.mark.benchmark(group="implied-vol")
def test_implied_vol_quantlib(benchmark: Any, book: dict[str, np.ndarray]) -> None:
    ql = pytest.importorskip("QuantLib")
    b = book
    n = N_LOOP
    typ = [ql.Option.Call if x > 0 else ql.Option.Put for x in b["w"][:n]]
    disc = np.exp(-b["r"] * b["T"])[:n].tolist()
    F, K, P = b["F"][:n].tolist(), b["K"][:n].tolist(), b["price"][:n].tolist()

    def f() -> list[float]:
        return [ql.blackFormulaImpliedStdDev(typ[i], K[i], F[i], P[i], disc[i]) for i in range(n)]

    tag(benchmark, role="peer", name="QuantLib", n=n)
    _run(benchmark, f, rounds=3)


# ------------------------------------------------------------------------------------------
def _ql_american_loop(ql: Any, b: dict[str, np.ndarray], n: int, engine: str) -> Any:
    today = ql.Date(2, 1, 2025)
    ql.Settings.instance().evaluationDate = today
    dc = ql.Actual365Fixed()
    quote = ql.SimpleQuote(100.0)
    rate = ql.SimpleQuote(0.02)
    vol = ql.SimpleQuote(0.2)
    rts = ql.YieldTermStructureHandle(ql.FlatForward(today, ql.QuoteHandle(rate), dc))
    vts = ql.BlackVolTermStructureHandle(
        ql.BlackConstantVol(today, ql.NullCalendar(), ql.QuoteHandle(vol), dc)
    )
    proc = ql.BlackScholesMertonProcess(ql.QuoteHandle(quote), rts, rts, vts)
    eng = (
        ql.BaroneAdesiWhaleyApproximationEngine(proc)
        if engine == "baw"
        else ql.BinomialVanillaEngine(proc, "crr", 500)
    )
    days = np.maximum(np.round(b["T"][:n] * 365), 1).astype(int).tolist()
    opts = []
    for i in range(n):
        o = ql.VanillaOption(
            ql.PlainVanillaPayoff(ql.Option.Call if b["w"][i] > 0 else ql.Option.Put, float(b["K"][i])),
            ql.AmericanExercise(today, today + days[i]),
        )
        o.setPricingEngine(eng)
        opts.append(o)
    F, S = b["F"][:n].tolist(), b["sigma"][:n].tolist()

    def f() -> list[float]:
        out = []
        for i in range(n):
            quote.setValue(F[i])
            vol.setValue(S[i])
            out.append(opts[i].NPV())
        return out

    return f


@pytest.mark.benchmark(group="american-crr500")
def test_crr500_ours(benchmark: Any, book: dict[str, np.ndarray]) -> None:
    b = book
    n = N_TREE
    args = [np.ascontiguousarray(b[k][:n]) for k in ("F", "K", "T", "r", "sigma", "w")]
    tag(benchmark, role="ours", name="cnfutures", n=n, goals={"QuantLib": 0.1})
    _run(benchmark, lambda: pricing.american(*args, method="crr", steps=500), rounds=3)


@pytest.mark.benchmark(group="american-crr500")
def test_crr500_quantlib(benchmark: Any, book: dict[str, np.ndarray]) -> None:
    ql = pytest.importorskip("QuantLib")
    tag(benchmark, role="peer", name="QuantLib", n=N_TREE_QL)
    _run(benchmark, _ql_american_loop(ql, book, N_TREE_QL, "crr"), rounds=3)


@pytest.mark.benchmark(group="american-baw")
def test_baw_ours(benchmark: Any, book: dict[str, np.ndarray]) -> None:
    b = book
    n = size(1_000_000, 100_000)
    args = [np.ascontiguousarray(b[k][:n]) for k in ("F", "K", "T", "r", "sigma", "w")]
    tag(benchmark, role="ours", name="cnfutures", n=n, goals={"QuantLib": 0.02})
    _run(benchmark, lambda: pricing.american(*args, method="baw"), rounds=3)


@pytest.mark.benchmark(group="american-baw")
def test_baw_quantlib(benchmark: Any, book: dict[str, np.ndarray]) -> None:
    ql = pytest.importorskip("QuantLib")
    tag(benchmark, role="peer", name="QuantLib", n=N_LOOP)
    _run(benchmark, _ql_american_loop(ql, book, N_LOOP, "baw"), rounds=3)


@pytest.mark.benchmark(group="american-bjs2002")
def test_bjs2002_ours(benchmark: Any, book: dict[str, np.ndarray]) -> None:
    b = book
    n = size(1_000_000, 100_000)
    args = [np.ascontiguousarray(b[k][:n]) for k in ("F", "K", "T", "r", "sigma", "w")]
    tag(benchmark, role="ours", name="cnfutures", n=n)  # no goal in issue 4: reported only
    _run(benchmark, lambda: pricing.american(*args, method="bjs2002"), rounds=3)


@pytest.mark.benchmark(group="american-bjs2002")
def test_bjs2002_quantlib_baw(benchmark: Any, book: dict[str, np.ndarray]) -> None:
    # QuantLib has no Bjerksund-Stensland 2002 engine; BAW is its nearest closed-form peer
    ql = pytest.importorskip("QuantLib")
    tag(benchmark, role="peer", name="QuantLib BAW", n=N_LOOP)
    _run(benchmark, _ql_american_loop(ql, book, N_LOOP, "baw"), rounds=3)
