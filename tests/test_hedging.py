"""Tests of cnfutures.hedging: ratios, effectiveness, sizing, changes, USD view."""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cnfutures import hedging
from cnfutures._kernels import hedge as kern
from cnfutures.errors import CalendarOutOfBounds, DataError, InputError
from tests import naive

# Hull, Options, Futures and Other Derivatives (e.g. 8th ed., Table 3.3 "Data to calculate
# minimum variance hedge ratio when heating oil futures contract is used to hedge purchase of
# jet fuel"): 15 monthly changes.
HULL_DF = np.array([0.021, 0.035, -0.046, 0.001, 0.044, -0.029, -0.026, -0.029,
                    0.048, -0.006, -0.036, -0.011, 0.019, -0.027, 0.029])
HULL_DS = np.array([0.029, 0.020, -0.044, 0.008, 0.026, -0.019, -0.010, -0.007,
                    0.043, 0.011, -0.036, -0.018, 0.009, -0.032, 0.023])


# ---------------------------------------------------------------- Hull golden values
def test_hull_table_reproduces_published_figures() -> None:
    # Hull, Example 3.3 / Table 3.3: sigma_F = 0.0313, sigma_S = 0.0263, rho = 0.928,
    # h* = 0.928 * 0.0263 / 0.0313 = 0.78
    assert round(float(np.std(HULL_DF, ddof=1)), 4) == 0.0313
    assert round(float(np.std(HULL_DS, ddof=1)), 4) == 0.0263
    out = hedging.hedge_ratio(HULL_DS, HULL_DF)
    assert round(out["correlation"][0], 3) == 0.928
    assert round(out["hedge_ratio"][0], 2) == 0.78
    assert out["n"][0] == 15
    assert out["r_squared"][0] == pytest.approx(out["correlation"][0] ** 2, rel=1e-12)


def test_hull_contracts() -> None:
    # Hull: 0.78 * 2,000,000 / 42,000 = 37.14 -> 37 contracts (custom multiplier 42,000 gal)
    c = hedging.contracts_needed(2_000_000, 0.78, 42_000)
    assert c.lots == 37
    assert c.exact == pytest.approx(37.142857, abs=1e-6)
    assert c.residual == pytest.approx(c.exact - 37)
    assert c.residual_quantity == pytest.approx(0.142857 * 42_000, rel=1e-5)


def test_contracts_product_code_tail_and_rounding() -> None:
    import cnfutures

    mult = cnfutures.product("sc").multiplier  # 1000 bbl per lot
    c = hedging.contracts_needed(250_400, 1.0, "sc")
    assert c.multiplier == mult and c.lots == 250 and c.residual == pytest.approx(0.4)
    assert c.residual_quantity == pytest.approx(400.0)
    assert hedging.contracts_needed(250_500, 1.0, cnfutures.product("sc")).lots == 251
    # tailing: N = h * V_A / V_F (Hull, "tailing the hedge")
    t = hedging.contracts_needed(100_000, 0.9, "sc", tail=True, spot_price=500.0,
                                 futures_price=520.0)
    assert t.exact == pytest.approx(0.9 * 100_000 * 500 / (520 * 1000))
    assert hedging.contracts_needed(2_000_000, 0.78, 42_000, rounding="up").lots == 38
    assert hedging.contracts_needed(2_000_000, 0.78, 42_000, rounding="down").lots == 37
    with pytest.raises(InputError, match="tail=True needs"):
        hedging.contracts_needed(1, 1, "sc", tail=True)
    with pytest.raises(InputError, match="multiplier"):
        hedging.contracts_needed(1, 1, -5.0)
    with pytest.raises(InputError, match="rounding"):
        hedging.contracts_needed(1, 1, 10.0, rounding="bankers")  # type: ignore[arg-type]


# ---------------------------------------------------------------- OLS vs statsmodels
def test_static_ols_matches_statsmodels() -> None:
    sm = pytest.importorskip("statsmodels.api")
    rng = np.random.default_rng(3)
    f = rng.standard_normal(700) * 3 + 50  # a mean offset
    s = 0.7 * f + rng.standard_normal(700)
    res = sm.OLS(s, sm.add_constant(f)).fit()
    out = hedging.hedge_ratio(s, f).row(0, named=True)
    assert out["hedge_ratio"] == pytest.approx(res.params[1], rel=1e-9)
    assert out["std_error"] == pytest.approx(res.bse[1], rel=1e-9)
    assert out["r_squared"] == pytest.approx(res.rsquared, rel=1e-9)
    assert out["intercept"] == pytest.approx(res.params[0], rel=1e-9)


def test_rolling_matches_statsmodels_rolling_ols() -> None:
    RollingOLS = pytest.importorskip("statsmodels.regression.rolling").RollingOLS
    sm = pytest.importorskip("statsmodels.api")
    rng = np.random.default_rng(4)
    n, w = 3000, 60
    f = np.cumsum(rng.standard_normal(n)) * 0.1 + rng.standard_normal(n)
    s = 0.8 * f + 0.5 * rng.standard_normal(n) + 100.0
    ref = RollingOLS(s, sm.add_constant(f), window=w).fit().params[:, 1]
    ours = hedging.hedge_ratio(s, f, "rolling", window=w)["hedge_ratio"].to_numpy()
    np.testing.assert_allclose(ours[w - 1 :], ref[w - 1 :], rtol=1e-9, atol=1e-12)
    assert np.isnan(ours[: w - 1]).all()


def test_rolling_plain_and_compiled_agree() -> None:
    rng = np.random.default_rng(5)
    x = rng.standard_normal(400)
    y = rng.standard_normal(400)
    x[150] = np.nan
    outs = []
    for fn in (kern.rolling_hedge_ratio, kern.rolling_hedge_ratio_nb):
        r = np.empty(400)
        s = np.empty(400, dtype=np.int64)
        fn(x, y, 20, 50, r, s)
        outs.append((r, s))
    np.testing.assert_allclose(outs[0][0], outs[1][0], rtol=1e-13, equal_nan=True)
    np.testing.assert_array_equal(outs[0][1], outs[1][1])


def test_rolling_long_series_large_offset_is_stable() -> None:
    # 1e6 rows with a mean offset of 1e6 and a slow drift: compare with a naive window loop
    rng = np.random.default_rng(6)
    n, w = 1_000_000, 60
    f = 1e6 + np.cumsum(rng.standard_normal(n)) * 0.01 + rng.standard_normal(n)
    s = 1e6 + 0.5 * f + rng.standard_normal(n)
    ours = hedging.hedge_ratio(s, f, "rolling", window=w)["hedge_ratio"].to_numpy()
    rows = list(range(w - 1, n, 9973)) + list(range(n - 50, n))
    ref = naive.naive_rolling_ratio(s, f, w, rows)
    np.testing.assert_allclose(ours[rows], ref[rows], rtol=1e-9)


def test_rolling_missing_and_zero_variance_status() -> None:
    s = np.arange(12, dtype=float)
    f = np.array([1.0, 2, 4, 3, 5, np.nan, 2, 2, 2, 2, 3, 1])
    with pytest.raises(InputError, match=r"excluded 1 of 12 rows: 1 futures null; first: row 5"):
        hedging.hedge_ratio(s, f, "rolling", window=3)
    # window in periods (rows), every one of them needed (min_periods = window)
    out = hedging.hedge_ratio(s, f, "rolling", window=3, missing="drop")
    assert out["status"].to_list() == [
        "warmup", "warmup", "ok", "ok", "ok", "missing_in_window", "missing_in_window",
        "missing_in_window", "zero_variance", "zero_variance", "ok", "ok",
    ]
    ratio = out["hedge_ratio"]
    assert ratio.null_count() == 7  # nulls, never zeros
    assert ratio[10] == pytest.approx(naive.naive_ols_ratio(s[8:11], f[8:11]))


# ---------------------------------------------------------------- EWMA
def test_ewma_matches_naive_loop_and_polars() -> None:
    rng = np.random.default_rng(8)
    f = rng.standard_normal(500)
    s = 0.6 * f + rng.standard_normal(500)
    out = hedging.hedge_ratio(s, f, "ewma", lam=0.94, window=1)["hedge_ratio"].to_numpy()
    np.testing.assert_allclose(out, naive.naive_ewma_ratio(s, f, 0.94), rtol=1e-12)
    frame = pl.DataFrame({"s": s, "f": f})
    pol = frame.select(
        (pl.col("s") * pl.col("f")).ewm_mean(alpha=0.06) / (pl.col("f") ** 2).ewm_mean(alpha=0.06)
    ).to_series().to_numpy()
    np.testing.assert_allclose(out, pol, rtol=1e-9)


def test_ewma_plain_compiled_warmup_missing() -> None:
    x = np.array([0.1, 0.2, np.nan, -0.3, 0.4, 0.0])
    y = np.array([0.2, 0.1, 0.3, -0.2, 0.5, 0.0])
    res = []
    for fn in (kern.ewma_hedge_ratio, kern.ewma_hedge_ratio_nb):
        r = np.empty(6)
        s = np.empty(6, dtype=np.int64)
        fn(x, y, 0.9, 2, r, s)
        res.append((r, s))
    np.testing.assert_allclose(res[0][0], res[1][0], equal_nan=True)
    np.testing.assert_array_equal(res[0][1], [1, 0, 2, 0, 0, 0])
    out = hedging.hedge_ratio(x, y, "ewma", lam=0.9, window=2, missing="drop")
    assert out["status"].to_list() == ["warmup", "ok", "missing", "ok", "ok", "ok"]
    with pytest.raises(InputError, match="lam"):
        hedging.hedge_ratio(x, y, "ewma", lam=1.0)


# ---------------------------------------------------------------- bad input
def test_bad_inputs_raise_typed_errors() -> None:
    with pytest.raises(InputError, match="spot_changes has 3 rows but futures_changes has 2"):
        hedging.hedge_ratio([1.0, 2, 3], [1.0, 2])
    with pytest.raises(InputError, match="window=10 is longer than the data"):
        hedging.hedge_ratio([1.0, 2, 3], [1.0, 2, 4], "rolling", window=10)
    with pytest.raises(InputError, match="constant"):
        hedging.hedge_ratio([1.0, 2, 3, 4], [2.0, 2, 2, 2])
    with pytest.raises(InputError, match="excluded 1 of 4 rows: 1 spot null; first: row 1"):
        hedging.hedge_ratio([1.0, np.nan, 3, 4], [2.0, 1, 2, 5])
    out = hedging.hedge_ratio([1.0, np.nan, 3, 4, 2], [2.0, 1, 2, 5, 1], missing="drop")
    assert out["n"][0] == 4
    with pytest.raises(InputError, match="infinite value at row 0"):
        hedging.hedge_ratio([np.inf, 1, 2], [1.0, 2, 3])
    with pytest.raises(InputError, match="method"):
        hedging.hedge_ratio([1.0, 2, 3], [1.0, 2, 4], "garch")  # type: ignore[arg-type]
    with pytest.raises(InputError, match="needs window"):
        hedging.hedge_ratio([1.0, 2, 3], [1.0, 2, 4], "rolling")


def test_dates_must_match_unless_inner() -> None:
    d = [dt.date(2025, 1, i) for i in range(1, 8)]
    a = pl.DataFrame({"date": d[:6], "change": [1.0, 2, 3, 4, 5, 7]})
    b = pl.DataFrame({"date": d[1:], "change": [1.0, 3, 2, 5, 4, 6]})
    with pytest.raises(InputError, match="different dates"):
        hedging.hedge_ratio(a, b)
    out = hedging.hedge_ratio(a, b, how="inner")
    assert out["n"][0] == 5 and out["date"][0] == d[5]
    roll = hedging.hedge_ratio(a, b, "rolling", window=3, how="inner")
    assert roll["date"].to_list() == d[1:6]


# ---------------------------------------------------------------- effectiveness
def test_effectiveness_matches_hand_computation() -> None:
    e = hedging.effectiveness(HULL_DS, HULL_DF, 0.78, level=0.9)
    hedged = HULL_DS - 0.78 * HULL_DF
    assert e.variance_reduction == pytest.approx(
        1 - np.var(hedged, ddof=1) / np.var(HULL_DS, ddof=1), rel=1e-12
    )
    var_u = np.quantile(-HULL_DS, 0.9)
    assert e.var_unhedged == pytest.approx(var_u)
    assert e.es_unhedged == pytest.approx(np.mean(-HULL_DS[var_u <= -HULL_DS]))
    # at the OLS ratio Ederington's effectiveness equals R^2 = rho^2 (Hull: 0.928^2 = 0.861)
    h = hedging.hedge_ratio(HULL_DS, HULL_DF)
    e_star = hedging.effectiveness(HULL_DS, HULL_DF, h["hedge_ratio"][0])
    assert e_star.variance_reduction == pytest.approx(h["r_squared"][0], rel=1e-12)
    assert round(e_star.variance_reduction, 2) == 0.86
    frame = e.to_frame()
    assert frame["measure"].to_list() == ["variance", "VaR 0.9", "ES 0.9"]
    text = repr(e)
    assert "in-sample" in text and "reduction" in text and "VaR" in text


def test_effectiveness_with_time_varying_ratio_frame() -> None:
    rng = np.random.default_rng(9)
    d = pl.date_range(dt.date(2020, 1, 1), dt.date(2020, 12, 31), eager=True)
    f = rng.standard_normal(d.len())
    s = 0.9 * f + 0.2 * rng.standard_normal(d.len())
    sf = pl.DataFrame({"date": d, "change": s})
    ff = pl.DataFrame({"date": d, "change": f})
    ratios = hedging.hedge_ratio(sf, ff, "rolling", window=30)
    e = hedging.effectiveness(sf, ff, ratios)
    assert e.n == d.len() - 29 and e.n_dropped == 29
    assert 0.8 < e.variance_reduction < 1.0
    with pytest.raises(InputError, match="ratio has 3 rows"):
        hedging.effectiveness(s, f, np.ones(3))


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.floats(-5, 5), min_size=8, max_size=40),
    st.floats(-3, 3),
    st.floats(-2, 2),
)
def test_ols_ratio_maximises_variance_reduction(noise: list[float], beta: float, h: float) -> None:
    # property: no constant ratio beats the minimum-variance (OLS) ratio in-sample
    n = len(noise)
    f = np.sin(np.arange(n) * 1.3) + 0.1 * np.arange(n) % 3
    if np.ptp(f) == 0:
        return
    s = beta * f + np.asarray(noise) * 0.3
    if np.var(s) < 1e-12:
        return
    h_star = hedging.hedge_ratio(s, f)["hedge_ratio"][0]
    best = hedging.effectiveness(s, f, h_star).variance_reduction
    other = hedging.effectiveness(s, f, h).variance_reduction
    assert best >= other - 1e-9


@pytest.mark.parametrize("method", ["ols", "static", "ewma", "dcc"])
def test_effectiveness_oos_methods(method: str) -> None:
    rng = np.random.default_rng(10)
    n = 1200
    f = rng.standard_normal(n)
    s = 0.9 * f + 0.3 * rng.standard_normal(n)
    e = hedging.effectiveness_oos(s, f, estimation_window=500, method=method)  # type: ignore[arg-type]
    assert e.sample == "out-of-sample" and e.n == 700
    assert 0.8 < e.variance_reduction < 0.95
    ins = hedging.effectiveness(s, f, hedging.hedge_ratio(s, f)["hedge_ratio"][0])
    assert e.variance_reduction <= ins.variance_reduction + 0.02


def test_effectiveness_oos_refit_uses_only_past() -> None:
    rng = np.random.default_rng(11)
    f = rng.standard_normal(300)
    s = 0.5 * f + 0.3 * rng.standard_normal(300)
    e = hedging.effectiveness_oos(s, f, estimation_window=100, refit_every=50)
    # rows 100..149 use the OLS on rows 0..99, rows 150..199 on rows 50..149, ...
    h = np.empty(200)
    for k, start in enumerate(range(100, 300, 50)):
        h[k * 50 : k * 50 + 50] = naive.naive_ols_ratio(s[start - 100 : start], f[start - 100 : start])
    hedged = s[100:] - h * f[100:]
    assert e.variance_hedged == pytest.approx(np.var(hedged, ddof=1), rel=1e-10)
    with pytest.raises(InputError, match="estimation_window"):
        hedging.effectiveness_oos(s, f, estimation_window=400)


# ---------------------------------------------------------------- changes
def test_changes_roll_missing_and_kinds() -> None:
    d = [dt.date(2025, 6, i) for i in (23, 24, 25, 26, 27)]
    f = pl.DataFrame({"date": d, "settle": [500.0, 510.0, 480.0, None, 490.0],
                      "roll": [False, False, True, False, False]})
    out = hedging.changes(f)
    assert out["change"].to_list() == [None, 10.0, None, None, None]
    assert out["status"].to_list() == ["first_row", "ok", "roll", "missing_price",
                                       "missing_previous"]
    lg = hedging.changes(f, "log", roll=[False] * 5)
    assert lg["change"][2] == pytest.approx(math.log(480 / 510))
    simple = hedging.changes(f.drop("roll"), "simple")
    assert simple["change"][1] == pytest.approx(0.02)
    # same-contract previous settle provided on the roll day
    g = f.with_columns(prev_settle=pl.Series([None, None, 485.0, None, None]))
    same = hedging.changes(g)
    assert same["change"][2] == pytest.approx(-5.0)
    assert same["status"][2] == "roll_same_contract"
    neg = hedging.changes(pl.Series([1.0, -1.0, 2.0]), "log")
    assert neg["status"].to_list() == ["first_row", "nonpositive_price", "nonpositive_price"]
    assert hedging.changes(pl.Series([1.0, -1.0, 2.0]))["change"].to_list() == [None, -2.0, 3.0]
    with pytest.raises(InputError, match="kind"):
        hedging.changes(f, "pct")  # type: ignore[arg-type]
    with pytest.raises(InputError, match="roll has 2 rows"):
        hedging.changes(f, roll=[True, False])


@settings(max_examples=30, deadline=None)
@given(st.lists(st.floats(1, 1000), min_size=2, max_size=30))
def test_changes_sum_to_total_move(prices: list[float]) -> None:
    # property: without rolls and gaps, differences telescope to last - first
    out = hedging.changes(pl.Series(prices))
    assert out["change"].sum() == pytest.approx(prices[-1] - prices[0], abs=1e-9)


# ---------------------------------------------------------------- USD view, VAT, align
def test_to_usd_forms_and_round_trip() -> None:
    assert hedging.to_usd(720.0, 7.2) == pytest.approx(100.0)
    arr = hedging.to_usd(np.array([720.0, 360.0]), np.array([7.2, 7.2]))
    np.testing.assert_allclose(arr, [100.0, 50.0])  # type: ignore[arg-type]
    d = [dt.date(2025, 1, 2), dt.date(2025, 1, 3)]
    out = hedging.to_usd(pl.DataFrame({"date": d, "settle": [700.0, 710.0]}),
                         pl.DataFrame({"date": d[:1], "cny_per_usd": [7.0]}))
    assert isinstance(out, pl.DataFrame)
    assert out["usd"].to_list() == [100.0, None]  # missing rate -> null, never a guess
    with pytest.raises(InputError, match="row 1"):
        hedging.to_usd(np.array([1.0, 2.0]), np.array([7.0, 0.0]))


@settings(max_examples=30, deadline=None)
@given(st.floats(1, 1e5), st.floats(5, 9))
def test_fx_round_trip(cny: float, rate: float) -> None:
    assert float(hedging.to_usd(cny, rate)) * rate == pytest.approx(cny, rel=1e-12)  # type: ignore[arg-type]


def test_vat_table() -> None:
    # PRC VAT reforms: 17% until 2018-04-30, 16% from 2018-05-01 (Caishui [2018] 32),
    # 13% from 2019-04-01 (MOF/SAT/GACC Ann. 39 [2019])
    assert hedging.vat_rate("2018-04-30") == 0.17
    assert hedging.vat_rate(dt.date(2018, 5, 1)) == 0.16
    assert hedging.vat_rate("2019-03-31") == 0.16
    assert hedging.vat_rate("2019-04-01") == 0.13
    with pytest.raises(CalendarOutOfBounds):
        hedging.vat_rate("1990-01-01")


def test_import_parity_strips_vat_for_iron_ore_not_sc() -> None:
    d = [dt.date(2019, 3, 29), dt.date(2019, 4, 1)]
    dce = pl.DataFrame({"date": d, "settle": [116.0 * 7, 113.0 * 7]})
    idx = pl.DataFrame({"date": d, "price": [100.0, 100.0]})
    fx = pl.DataFrame({"date": d, "cny_per_usd": [7.0, 7.0]})
    out = hedging.import_parity(dce, idx, fx, product="i")
    assert out["vat_rate"].to_list() == [0.16, 0.13]
    np.testing.assert_allclose(out["parity"].to_numpy(), [1.0, 1.0])
    np.testing.assert_allclose(out["domestic_usd"].to_numpy(), [100.0, 100.0])
    sc = hedging.import_parity(dce, idx, fx, product="sc")
    assert sc["vat_rate"].to_list() == [0.0, 0.0]


def test_align_lag_tolerance_and_duplicates() -> None:
    left = pl.DataFrame({"date": [dt.date(2025, 1, 6), dt.date(2025, 1, 7), dt.date(2025, 1, 20)]})
    right = pl.DataFrame({"date": [dt.date(2025, 1, 3), dt.date(2025, 1, 6)], "v": [1.0, 2.0]})
    same = hedging.align(left, right)
    assert same["v"].to_list() == [2.0, 2.0, 2.0]
    lagged = hedging.align(left, right, lag=1, tolerance=dt.timedelta(days=5))
    assert lagged["v"].to_list() == [1.0, 2.0, None]
    assert lagged["date_right"].to_list()[:2] == [dt.date(2025, 1, 3), dt.date(2025, 1, 6)]
    dup = pl.DataFrame({"date": [dt.date(2025, 1, 3)] * 2, "v": [1.0, 2.0]})
    with pytest.raises(DataError, match="duplicate"):
        hedging.align(left, dup)


def test_weekly_friday_to_friday() -> None:
    days = pl.date_range(dt.date(2025, 6, 2), dt.date(2025, 6, 19), eager=True)
    days = days.filter(days.dt.weekday() <= 5)
    f = pl.DataFrame({"date": days, "p": np.arange(days.len(), dtype=float),
                      "roll": [d == dt.date(2025, 6, 10) for d in days]})
    w = hedging.weekly(f)
    assert w["date"].to_list() == [dt.date(2025, 6, 6), dt.date(2025, 6, 13), dt.date(2025, 6, 20)]
    assert w["last_date"][-1] == dt.date(2025, 6, 19)  # Thursday when Friday is missing
    assert w["roll"].to_list() == [False, True, False]
    assert w["n_days"].to_list() == [5, 5, 4]
    ch = hedging.changes(w, column="p")
    assert ch["status"].to_list() == ["first_row", "roll", "ok"]
