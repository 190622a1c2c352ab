"""American options on futures (BAW, Bjerksund-Stensland 1993/2002, CRR, Leisen-Reimer), carry.

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
from tests.quantlib_ref import ql_american


def _options(n: int, seed: int) -> tuple[np.ndarray, ...]:
    rng = np.random.default_rng(seed)
    F = rng.uniform(50.0, 150.0, n)
    K = rng.uniform(60.0, 140.0, n)
    days = rng.integers(5, 1000, n).astype(float)
    r = rng.uniform(0.0, 0.12, n)
    s = rng.uniform(0.05, 0.8, n)
    w = np.where(rng.random(n) < 0.5, 1.0, -1.0)
    return F, K, days, r, s, w


def test_american_twins() -> None:
    F, K, days, r, s, w = _options(40, 1)
    T = days / 365.0
    for plain, nb, extra in (
        (ak.american_baw, ak.american_baw_nb, ()),
        (ak.american_bjs, ak.american_bjs_nb, ()),
        (ak.american_bjs2002, ak.american_bjs2002_nb, ()),
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
    ref = np.array([ql_american(ql, F[i], K[i], days[i], r[i], s[i], w[i], engine) for i in range(300)])
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
    ref = np.array(
        [ql_american(ql, F[i], K[i], days[i], r[i], s[i], w[i], "crr", steps) for i in range(150)]
    )
    dropped = _ql_drops_payoff(T, steps)
    assert 0 < dropped.sum() < 40  # 8 % of this sample
    np.testing.assert_allclose(ours[~dropped], ref[~dropped], rtol=0, atol=1e-9)
    # the flagged cases are exactly QuantLib's tree without its terminal payoff
    for i in np.flatnonzero(dropped):
        emulated = naive.naive_crr_tree(F[i], K[i], T[i], r[i], s[i], w[i], steps, drop_terminal_payoff=True)
        assert ref[i] == pytest.approx(emulated, abs=1e-9)
    # and our tree is the naive double loop
    for i in range(0, 150, 10):
        assert ours[i] == pytest.approx(
            naive.naive_crr_tree(F[i], K[i], T[i], r[i], s[i], w[i], steps), rel=1e-12
        )


def test_leisen_reimer_matches_quantlib() -> None:
    ql = pytest.importorskip("QuantLib")
    steps = 101
    F, K, days, r, s, w = _options(100, 4)
    T = days / 365.0
    ours = pricing.american(F, K, T, r, s, w, method="lr", steps=steps)
    ref = np.array([ql_american(ql, F[i], K[i], days[i], r[i], s[i], w[i], "lr", steps) for i in range(100)])
    dropped = _ql_drops_payoff(T, steps)
    np.testing.assert_allclose(ours[~dropped], ref[~dropped], rtol=0, atol=1e-9)


def test_trees_converge_to_quantlib_fd() -> None:
    ql = pytest.importorskip("QuantLib")
    F, K, days, r, s, w = 100.0, 105.0, 365.0, 0.08, 0.3, -1.0
    fd = ql_american(ql, F, K, days, r, s, w, "fd")
    errs = [abs(pricing.american(F, K, 1.0, r, s, "put", method="crr", steps=n) - fd) for n in (50, 200, 800)]
    assert errs[2] < errs[0] and errs[2] < 5e-3
    lr = pricing.american(F, K, 1.0, r, s, "put", method="lr", steps=401)
    assert lr == pytest.approx(fd, abs=2e-3)


def test_american_bounds_and_premium() -> None:
    F, K, days, r, s, w = _options(200, 5)
    T = days / 365.0
    eur = pricing.black76(F, K, T, r, s, w)
    intrinsic = np.maximum(w * (F - K), 0.0)
    for method in ("baw", "bjs", "bjs2002", "crr", "lr"):
        am = pricing.american(F, K, T, r, s, w, method=method, steps=100)
        assert np.all(am >= intrinsic - 1e-12), method
        prem = pricing.early_exercise_premium(F, K, T, r, s, w, method=method, steps=100)
        assert np.all(prem >= -1e-12), method
        if method in ("baw", "bjs", "bjs2002"):
            assert np.all(am >= eur - 1e-12), method
            np.testing.assert_allclose(prem, am - eur, atol=1e-12)
        else:  # the tree's own European (same lattice) sits within its discretisation error
            tree_eur = am - prem
            assert np.all(np.abs(tree_eur - eur) <= 0.02 * np.maximum(eur, 1.0)), method
    # no early exercise with r <= 0 for BAW/BjS calls (both follow QuantLib)
    assert abs(pricing.early_exercise_premium(100.0, 90.0, 1.0, 0.0, 0.3, "c")) < 1e-12


# ------------------------------------------------------------------------------------------
# Bjerksund-Stensland (2002) and the bivariate normal CDF
# ------------------------------------------------------------------------------------------
def _N(x: float) -> float:
    return 0.5 * math.erfc(-x / math.sqrt(2.0))


def _bvn(a: np.ndarray, b: np.ndarray, rho: np.ndarray) -> np.ndarray:
    out = np.empty(a.shape[0])
    ak.bivariate_normal_cdf_nb(a, b, rho, out)
    return out


def test_bivariate_normal_matches_scipy() -> None:
    pytest.importorskip("scipy")
    rng = np.random.default_rng(11)
    n = 400
    a = rng.uniform(-6.0, 6.0, n)
    b = rng.uniform(-6.0, 6.0, n)
    # every branch of Genz's method (|rho| < 0.3, < 0.75, < 0.925, above) and BS2002's
    # own correlation +-sqrt((sqrt(5) - 1)/2) = +-0.786
    rho = np.concatenate(
        [
            rng.uniform(-0.999, 0.999, n - 100),
            rng.choice([-1.0, 1.0], 100) * math.sqrt((math.sqrt(5) - 1) / 2),
        ]
    )
    ours = _bvn(a, b, rho)
    ref = np.array([naive.naive_bvn_cdf(a[i], b[i], rho[i]) for i in range(n)])
    np.testing.assert_allclose(ours, ref, rtol=0, atol=1e-12)  # measured max: 2.2e-16
    plain = np.empty(n)
    ak.bivariate_normal_cdf(a, b, rho, plain)
    np.testing.assert_allclose(plain, ours, rtol=1e-14, atol=1e-300)
    # BS2002's fixed-correlation version (tabulated sines) is the same function
    for sign in (1.0, -1.0):
        fixed = np.array([ak._bvn_bjs2002(a[i], b[i], sign) for i in range(50)])
        general = _bvn(a[:50], b[:50], np.full(50, sign * ak.BJS2002_RHO))
        np.testing.assert_allclose(fixed, general, rtol=0, atol=1e-15)


def test_bivariate_normal_identities() -> None:
    rng = np.random.default_rng(12)
    a = rng.uniform(-5.0, 5.0, 200)
    b = rng.uniform(-5.0, 5.0, 200)
    Na = np.array([_N(x) for x in a])
    Nb = np.array([_N(x) for x in b])
    one = np.ones(200)
    # rho = 0: independence
    np.testing.assert_allclose(_bvn(a, b, 0.0 * one), Na * Nb, rtol=1e-14, atol=1e-16)
    # rho = +1: X = Y, so P(X <= min(a, b)); rho = -1: Y = -X, so max(0, N(a) + N(b) - 1)
    np.testing.assert_allclose(_bvn(a, b, one), np.minimum(Na, Nb), rtol=1e-14, atol=1e-16)
    np.testing.assert_allclose(_bvn(a, b, -one), np.maximum(Na + Nb - 1.0, 0.0), atol=1e-15)
    # symmetry, and P(X <= a, Y <= b) + P(X <= a, Y > b) = N(a) (corr(X, -Y) = -rho)
    rho = rng.uniform(-0.99, 0.99, 200)
    np.testing.assert_allclose(_bvn(a, b, rho), _bvn(b, a, rho), rtol=0, atol=1e-15)
    np.testing.assert_allclose(_bvn(a, b, rho) + _bvn(a, -b, -rho), Na, rtol=0, atol=2e-15)
    # closed form at the origin: 1/4 + asin(rho) / (2 pi)
    z = np.zeros(200)
    np.testing.assert_allclose(_bvn(z, z, rho), 0.25 + np.arcsin(rho) / (2 * math.pi), rtol=0, atol=1e-15)


def test_bjs2002_matches_naive_formula() -> None:
    pytest.importorskip("scipy")
    F, K, days, r, s, w = _options(80, 13)
    T = days / 365.0
    ours = pricing.american(F, K, T, r, s, w, method="bjs2002")
    ref = np.array([naive.naive_bs2002(F[i], K[i], T[i], r[i], s[i], w[i]) for i in range(80)])
    np.testing.assert_allclose(ours, ref, rtol=1e-10, atol=1e-10)  # measured max: 1e-13 abs


@pytest.mark.parametrize(
    ("F", "K", "sigma", "w", "value"),
    [
        # Haug (2007), The Complete Guide to Option Pricing Formulas, 2nd ed., Bjerksund-
        # Stensland 2002 table, American options on futures: b = 0, r = 0.10, T = 0.5
        # (values to 4 decimals as transcribed in the tests of D. Edwards' GBS.py,
        # github.com/dedwards25/Python_Option_Pricing). Calls; the put rows follow by
        # P(F, K) = C(K, F) when b = 0.
        (90.0, 100.0, 0.15, 1.0, 0.8099),
        (100.0, 100.0, 0.25, 1.0, 6.7661),
        (110.0, 100.0, 0.35, 1.0, 15.5137),
        (100.0, 90.0, 0.15, 1.0, 10.5400),
        (100.0, 110.0, 0.35, 1.0, 5.8374),
        (90.0, 100.0, 0.15, -1.0, 10.5400),  # = C(100, 90) above
        (110.0, 100.0, 0.35, -1.0, 5.8374),  # = C(100, 110) above
    ],
)
def test_bjs2002_published_values(F: float, K: float, sigma: float, w: float, value: float) -> None:
    v = pricing.american(F, K, 0.5, 0.10, sigma, w, method="bjs2002")
    assert abs(v - value) <= 0.5e-4 + 1e-12  # the table's rounding


def test_bjs2002_bounds_against_quantlib_american() -> None:
    ql = pytest.importorskip("QuantLib")
    F, K, days, r, s, w = _options(150, 14)
    T = days / 365.0
    v02 = pricing.american(F, K, T, r, s, w, method="bjs2002")
    v93 = pricing.american(F, K, T, r, s, w, method="bjs1993")
    ref = np.array([ql_american(ql, F[i], K[i], days[i], r[i], s[i], w[i], "qdfp") for i in range(150)])
    # a fixed two-step exercise strategy: never above the true American value
    assert np.all(v02 <= ref + 1e-9)
    # error against QuantLib's QdFp American engine: 2.3 % at worst here (in the money,
    # sigma ~ 0.7, T ~ 2.5 years); within 0.3 % or 0.05 for sigma <= 0.4 and T <= 1
    err = ref - v02
    assert np.all(err <= 0.025 * ref + 1e-9)
    typical = (s <= 0.4) & (T <= 1.0)
    assert typical.sum() > 20
    assert np.all(err[typical] <= np.maximum(0.003 * ref[typical], 0.05))
    # the two-step boundary is closer to the American value than the flat one on average
    # (measured: mean error 0.158 vs 0.160, closer in 78 % of these options; not option by
    # option: 2002 < 1993 happens, e.g. long-dated deep in-the-money options)
    err93 = ref - v93
    assert np.mean(err) < np.mean(err93)
    assert np.mean(err <= err93 + 1e-12) > 0.75


def test_bjs2002_edge_cases() -> None:
    # zero volatility / r <= 0 / beyond the boundary: exact limits
    assert pricing.american(90.0, 100.0, 0.5, 0.05, 0.0, "put", method="bjs2002") == 10.0
    assert pricing.american(100.0, 100.0, 1.0, 0.0, 0.3, "put", method="bjs2002") == (
        pricing.black76(100.0, 100.0, 1.0, 0.0, 0.3, "put")
    )
    assert pricing.american(1e-3, 1e3, 1.0, 0.1, 0.2, "put", method="bjs2002") == 1e3 - 1e-3
    for sigma in (1e-9, 1e-5, 1e-3, 3.0):
        for kind in ("call", "put"):
            v = pricing.american(100.0, 100.0, 1.0, 0.05, sigma, kind, method="bjs2002")
            assert math.isfinite(v)
            assert v >= pricing.black76(100.0, 100.0, 1.0, 0.05, sigma, kind)


def test_baw_tiny_volatility_guard() -> None:
    # QuantLib issue #2749: BAW's critical-price search breaks down at tiny sigma sqrt(T);
    # the guard returns max(European, intrinsic), the exact limit for b = 0
    v = pricing.american(90.0, 100.0, 0.5, 0.05, 1e-9, "put", method="baw")
    assert v == 10.0
    v = pricing.american(110.0, 100.0, 0.5, 0.05, 1e-9, "put", method="baw")
    assert v == 0.0
    assert math.isfinite(pricing.american(100.0, 100.0, 1 / 365, 0.05, 1e-5, "put"))


@pytest.mark.parametrize("method", ["lr", "crr"])
def test_trees_at_tiny_and_zero_volatility(method: str) -> None:
    # with no volatility the futures price stays at F: American = max(exp(-rT) intrinsic,
    # intrinsic) = intrinsic for r >= 0 (hand calculation); the Leisen-Reimer lattice
    # degenerates there (Peizer-Pratt probability rounds to 0 or 1) and used to return NaN
    for sigma in (0.0, 1e-12, 1e-9):
        assert pricing.american(100.0, 110.0, 0.5, 0.05, sigma, "put", method=method, steps=201) == 10.0
        assert pricing.american(100.0, 90.0, 0.5, 0.05, sigma, "put", method=method, steps=201) == 0.0
    # small volatility: an at-the-money call's early-exercise value is negligible, so the tree
    # (201 steps) is within 1 % of the Black-76 European price (an independent reference)
    for sigma in (1e-6, 3e-6, 1e-4, 1e-2):
        v = pricing.american(100.0, 100.0, 0.5, 0.05, sigma, "call", method=method, steps=201)
        assert v == pytest.approx(pricing.black76(100.0, 100.0, 0.5, 0.05, sigma, "call"), rel=0.01)


def test_american_bad_method() -> None:
    with pytest.raises(PricingError, match="method"):
        pricing.american(100.0, 100.0, 1.0, 0.0, 0.2, method="fd")
    assert pricing.american(100.0, 90.0, 1.0, 0.05, 0.2, method="bjs1993") == (
        pricing.american(100.0, 90.0, 1.0, 0.05, 0.2, method="bjs")
    )
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
    curve = pl.DataFrame(
        {
            "date": [dt.date(2025, 3, 3)] * 3 + [dt.date(2025, 3, 4)] * 2,
            "contract": ["sc2506", "sc2505", "sc2507", "sc2505", "sc2506"],
            "settle": [515.0, 520.0, 512.0, 530.0, 525.0],
            "last_trading_day": [
                dt.date(2025, 5, 30),
                dt.date(2025, 4, 30),
                dt.date(2025, 6, 30),
                dt.date(2025, 4, 30),
                dt.date(2025, 5, 30),
            ],
        }
    )
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
