"""American options on futures (BAW, Bjerksund-Stensland, CRR, Leisen-Reimer) and carry.

QuantLib is set up with a BlackScholesMertonProcess whose dividend curve equals the
risk-free curve (q = r, so b = 0), Actual365Fixed and an integer number of days, so its
T = days / 365 is exactly ours.
"""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import polars as pl
import pytest

from cnfutures import pricing
from cnfutures._kernels import american as ak
from cnfutures._kernels import carry as ck
from cnfutures.errors import PricingError
from tests import naive


def _options(n: int, seed: int) -> tuple[np.ndarray, ...]:
    rng = np.random.default_rng(seed)
    F = rng.uniform(50.0, 150.0, n)
    K = rng.uniform(60.0, 140.0, n)
    days = rng.integers(5, 1000, n).astype(float)
    r = rng.uniform(0.0, 0.12, n)
    s = rng.uniform(0.05, 0.8, n)
    w = np.where(rng.random(n) < 0.5, 1.0, -1.0)
    return F, K, days, r, s, w


def _ql_american(ql, F, K, days, r, s, w, engine, steps=0):  # type: ignore[no-untyped-def]
    today = ql.Date(2, 1, 2025)
    ql.Settings.instance().evaluationDate = today
    dc = ql.Actual365Fixed()
    spot = ql.QuoteHandle(ql.SimpleQuote(F))
    rts = ql.YieldTermStructureHandle(ql.FlatForward(today, r, dc))
    vts = ql.BlackVolTermStructureHandle(ql.BlackConstantVol(today, ql.NullCalendar(), s, dc))
    proc = ql.BlackScholesMertonProcess(spot, rts, rts, vts)  # dividend yield = r: b = 0
    opt = ql.VanillaOption(
        ql.PlainVanillaPayoff(ql.Option.Call if w > 0 else ql.Option.Put, K),
        ql.AmericanExercise(today, today + int(days)),
    )
    if engine == "baw":
        e = ql.BaroneAdesiWhaleyApproximationEngine(proc)
    elif engine == "bjs":
        e = ql.BjerksundStenslandApproximationEngine(proc)
    elif engine == "fd":
        e = ql.FdBlackScholesVanillaEngine(proc, 800, 800)
    else:
        e = ql.BinomialVanillaEngine(proc, engine, steps)
    opt.setPricingEngine(e)
    return opt.NPV()


def test_american_twins() -> None:
    F, K, days, r, s, w = _options(40, 1)
    T = days / 365.0
    for plain, nb, extra in (
        (ak.american_baw, ak.american_baw_nb, ()),
        (ak.american_bjs, ak.american_bjs_nb, ()),
        (ak.american_crr, ak.american_crr_nb, (50,)),
        (ak.american_lr, ak.american_lr_nb, (51,)),
    ):
        a, b = np.empty(40), np.empty(40)
        plain(F, K, T, r, s, w, *extra, a)
        nb(F, K, T, r, s, w, *extra, b)
        np.testing.assert_allclose(a, b, rtol=1e-13)
    for plain, nb, extra in (
        (ak.american_crr, ak.american_crr_nb, (50,)),
        (ak.american_lr, ak.american_lr_nb, (51,)),
    ):
        a, b = np.empty(40), np.empty(40)
        plain(F, K, T, r, s, w, *extra, a, False)
        nb(F, K, T, r, s, w, *extra, b, False)
        np.testing.assert_allclose(a, b, rtol=1e-13)
    ak._warmup()


@pytest.mark.parametrize("engine", ["baw", "bjs"])
def test_approximations_match_quantlib(engine: str) -> None:
    ql = pytest.importorskip("QuantLib")
    F, K, days, r, s, w = _options(300, 2)
    ours = pricing.american(F, K, days / 365.0, r, s, w, method=engine)
    ref = np.array([_ql_american(ql, F[i], K[i], days[i], r[i], s[i], w[i], engine)
                    for i in range(300)])
    np.testing.assert_allclose(ours, ref, rtol=0, atol=1e-8)  # measured max: 1.5e-13


def _ql_drops_payoff(T: np.ndarray, steps: int) -> np.ndarray:
    """QuantLib 1.44 case: the grid's last time (T/n)*n falls short of T in floating point,
    so the exercise window (snapped to the grid) ends before expiry and the payoff at
    expiry is never applied."""
    return (T / steps) * steps < T


def test_crr_matches_quantlib_and_naive() -> None:
    ql = pytest.importorskip("QuantLib")
    steps = 200
    F, K, days, r, s, w = _options(150, 3)
    T = days / 365.0
    ours = pricing.american(F, K, T, r, s, w, method="crr", steps=steps)
    ref = np.array([_ql_american(ql, F[i], K[i], days[i], r[i], s[i], w[i], "crr", steps)
                    for i in range(150)])
    dropped = _ql_drops_payoff(T, steps)
    assert 0 < dropped.sum() < 40  # 8 % of this sample
    np.testing.assert_allclose(ours[~dropped], ref[~dropped], rtol=0, atol=1e-9)
    # the flagged cases are exactly QuantLib's tree without its terminal payoff
    for i in np.flatnonzero(dropped):
        emulated = naive.naive_crr_tree(F[i], K[i], T[i], r[i], s[i], w[i], steps,
                                        drop_terminal_payoff=True)
        assert ref[i] == pytest.approx(emulated, abs=1e-9)
    # and our tree is the naive double loop
    for i in range(0, 150, 10):
        assert ours[i] == pytest.approx(
            naive.naive_crr_tree(F[i], K[i], T[i], r[i], s[i], w[i], steps), rel=1e-12)


def test_leisen_reimer_matches_quantlib() -> None:
    ql = pytest.importorskip("QuantLib")
    steps = 101
    F, K, days, r, s, w = _options(100, 4)
    T = days / 365.0
    ours = pricing.american(F, K, T, r, s, w, method="lr", steps=steps)
    ref = np.array([_ql_american(ql, F[i], K[i], days[i], r[i], s[i], w[i], "lr", steps)
                    for i in range(100)])
    dropped = _ql_drops_payoff(T, steps)
    np.testing.assert_allclose(ours[~dropped], ref[~dropped], rtol=0, atol=1e-9)


def test_trees_converge_to_quantlib_fd() -> None:
    ql = pytest.importorskip("QuantLib")
    F, K, days, r, s, w = 100.0, 105.0, 365.0, 0.08, 0.3, -1.0
    fd = _ql_american(ql, F, K, days, r, s, w, "fd")
    errs = [abs(pricing.american(F, K, 1.0, r, s, "put", method="crr", steps=n) - fd)
            for n in (50, 200, 800)]
    assert errs[2] < errs[0] and errs[2] < 5e-3
    lr = pricing.american(F, K, 1.0, r, s, "put", method="lr", steps=401)
    assert lr == pytest.approx(fd, abs=2e-3)


def test_american_bounds_and_premium() -> None:
    F, K, days, r, s, w = _options(200, 5)
    T = days / 365.0
    eur = pricing.black76(F, K, T, r, s, w)
    intrinsic = np.maximum(w * (F - K), 0.0)
    for method in ("baw", "bjs", "crr", "lr"):
        am = pricing.american(F, K, T, r, s, w, method=method, steps=100)
        assert np.all(am >= intrinsic - 1e-12), method
        prem = pricing.early_exercise_premium(F, K, T, r, s, w, method=method, steps=100)
        assert np.all(prem >= -1e-12), method
        if method in ("baw", "bjs"):
            assert np.all(am >= eur - 1e-12), method
            np.testing.assert_allclose(prem, am - eur, atol=1e-12)
        else:  # the tree's own European (same lattice) sits within its discretisation error
            tree_eur = am - prem
            assert np.all(np.abs(tree_eur - eur) <= 0.02 * np.maximum(eur, 1.0)), method
    # no early exercise with r <= 0 for BAW/BjS calls (both follow QuantLib)
    assert abs(pricing.early_exercise_premium(100.0, 90.0, 1.0, 0.0, 0.3, "c")) < 1e-12


def test_baw_tiny_volatility_guard() -> None:
    # QuantLib issue #2749: BAW's critical-price search breaks down at tiny sigma sqrt(T);
    # the guard returns max(European, intrinsic), the exact limit for b = 0
    v = pricing.american(90.0, 100.0, 0.5, 0.05, 1e-9, "put", method="baw")
    assert v == 10.0
    v = pricing.american(110.0, 100.0, 0.5, 0.05, 1e-9, "put", method="baw")
    assert v == 0.0
    assert math.isfinite(pricing.american(100.0, 100.0, 1 / 365, 0.05, 1e-5, "put"))


def test_american_bad_method() -> None:
    with pytest.raises(PricingError, match="method"):
        pricing.american(100.0, 100.0, 1.0, 0.0, 0.2, method="fd")
    with pytest.raises(PricingError, match="steps"):
        pricing.american(100.0, 100.0, 1.0, 0.0, 0.2, method="crr", steps=0)


# ------------------------------------------------------------------------------------------
# cost of carry
# ------------------------------------------------------------------------------------------
def test_fair_value_and_inverse() -> None:
    S = np.array([500.0, 800.0])
    f = pricing.fair_value(S, 0.02, np.array([0.5, 1.0]), storage=0.01, convenience=0.04)
    assert f[0] == pytest.approx(naive.naive_fair_value(500.0, 0.02, 0.5, 0.01, 0.04), rel=1e-15)
    y = pricing.implied_convenience_yield(S, f, 0.02, np.array([0.5, 1.0]), storage=0.01)
    np.testing.assert_allclose(y, 0.04, rtol=1e-12)
    series = pricing.fair_value(pl.Series("spot", [500.0]), 0.02, 0.5)
    assert isinstance(series, pl.Series)
    with pytest.raises(PricingError, match=r"T: element 0 is 0\.0"):
        pricing.implied_convenience_yield(500.0, 510.0, 0.02, 0.0)
    a = np.empty(2)
    b = np.empty(2)
    ck.fair_value(S, np.full(2, 0.02), np.ones(2), np.zeros(2), np.zeros(2), a)
    ck.fair_value_nb(S, np.full(2, 0.02), np.ones(2), np.zeros(2), np.zeros(2), b)
    np.testing.assert_array_equal(a, b)
    ck._warmup()


def test_roll_yield_curve() -> None:
    curve = pl.DataFrame({
        "date": [dt.date(2025, 3, 3)] * 3 + [dt.date(2025, 3, 4)] * 2,
        "contract": ["sc2506", "sc2505", "sc2507", "sc2505", "sc2506"],
        "settle": [515.0, 520.0, 512.0, 530.0, 525.0],
        "last_trading_day": [dt.date(2025, 5, 30), dt.date(2025, 4, 30), dt.date(2025, 6, 30),
                             dt.date(2025, 4, 30), dt.date(2025, 5, 30)],
    })
    out = pricing.roll_yield(curve)
    assert out.height == 3
    assert out["near"].to_list() == ["sc2505", "sc2506", "sc2505"]
    assert out["far"].to_list() == ["sc2506", "sc2507", "sc2506"]
    assert out["roll_yield"][0] == pytest.approx(naive.naive_roll_yield(520.0, 515.0, 30))
    assert out["roll_yield"][2] == pytest.approx(naive.naive_roll_yield(530.0, 525.0, 30))
    with pytest.raises(PricingError, match="missing column"):
        pricing.roll_yield(curve.drop("settle"))
    with pytest.raises(PricingError, match=r"settle: row 0 .* expected a finite price > 0"):
        pricing.roll_yield(curve.with_columns(pl.lit(-1.0).alias("settle")))
