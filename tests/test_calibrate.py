"""Calibration of the two-factor sample-market model: parameters recovered from simulated data.

Reference values are the parameters the data were simulated with (``TRUTH``), and naive
re-implementations (numpy ``lstsq`` day by day; a plain numpy factor simulation written out
here, independent of the simulator's kernels).
"""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import polars as pl
import pytest

from cnfutures import simulate
from cnfutures._calibrate import Calibration, _cross_sections, calibrate
from cnfutures.errors import CalendarOutOfBounds, DataError, InputError

TRUTH = {"kappa": 1.5, "sigma_chi": 0.3, "sigma_xi": 0.2, "mu_xi": 0.05, "rho": 0.3, "carry": 0.02}
DT = 1.0 / 244.0  # one trading day [year] (simulate.TRADING_DAYS_PER_YEAR)


@pytest.fixture(scope="module")
def ru_panel() -> pl.DataFrame:
    prm = simulate.with_params(simulate.default_params("ru"), **TRUTH)
    return simulate.market("ru", "2012-01-04", n_days=1500, n_paths=4, seed=20240611, params=prm)


def _check_time_series(cal: Calibration) -> None:
    """sigma_chi, sigma_xi, mu_xi, rho within 4 reported standard errors of the truth.

    The standard errors are textbook iid-normal ones (sigma/sqrt(2n), (1-rho^2)/sqrt(n),
    sigma_xi/sqrt(years)); the factor series are recovered almost exactly from the cross-sections,
    so a 4-sigma band fails with probability < 1e-4 per parameter if the estimator is right.
    """
    for name in ("sigma_chi", "sigma_xi", "mu_xi", "rho"):
        est, se = getattr(cal.params, name), cal.stderr[name]
        assert abs(est - TRUTH[name]) < 4 * se, (name, est, se)


def test_contracts_recovers_parameters(ru_panel: pl.DataFrame) -> None:
    # the test's premise: few limit-locked settlements (they are not model prices)
    assert ru_panel["limit_locked"].mean() < 0.005  # type: ignore[operator]
    cal = calibrate(ru_panel.select("path", "trading_day", "contract", "last_trading_day", "settle"))
    assert cal.kind == "contracts"
    assert cal.n_obs == 4 * 1500
    p = cal.params
    # kappa and carry: the only deviations from the model price are tick rounding (|error| <= half a
    # tick = 2.5 CNY on ~14,000, i.e. <= 2e-4 in log) and rare limit locks. A carry error of 5e-4
    # shifts a 1-year contract's log price by 5e-4 (> 2x the largest rounding error); a kappa error
    # of 0.01 shifts log F by tau e^{-kappa tau} chi dkappa ~ 0.25 * 0.2 * 0.01 = 5e-4 for a typical
    # chi. A correct least-squares fit cannot be that far off from rounding alone.
    assert abs(p.kappa - 1.5) < 0.01
    assert abs(p.carry - 0.02) < 5e-4
    _check_time_series(cal)
    # chi0 = 0 and s0 = 14,000 (default_params("ru")) on the first day, up to rounding
    assert abs(p.chi0) < 2e-3
    assert abs(math.log(p.s0 / 14000.0)) < 1e-3
    # the fit residual is tick rounding: sd = tick / (price sqrt 12) ~ 5 / (14000 * 3.46) = 1e-4
    assert 0.0 < cal.rmse < 1e-3
    # fields not estimated keep the product's defaults
    d = simulate.default_params("ru")
    assert (p.open_frac, p.open_sd, p.close_sd, p.basis) == (d.open_frac, d.open_sd, d.close_sd, d.basis)
    # the vol standard errors are sigma / sqrt(2n) with n = 4 * 1499 innovations
    assert cal.stderr["sigma_xi"] == pytest.approx(p.sigma_xi / math.sqrt(2 * 4 * 1499), rel=1e-12)
    t = cal.table()
    assert t.columns == ["parameter", "estimate", "stderr", "unit"]
    assert t.filter(pl.col("parameter") == "kappa").row(0) == (
        "kappa",
        p.kappa,
        cal.stderr["kappa"],
        "1/year",
    )
    assert t.filter(pl.col("parameter") == "s0")["stderr"].null_count() == 1


def test_contracts_derives_last_trading_day_from_codes(ru_panel: pl.DataFrame) -> None:
    one = ru_panel.filter(pl.col("path") == 0)
    a = calibrate(one.select("trading_day", "contract", "settle"))
    b = calibrate(one.select("trading_day", "contract", "last_trading_day", "settle"))
    assert a.params == b.params
    assert any("derived from the contract codes" in n for n in a.notes)


def test_contracts_with_missing_days_uses_multi_step_transition(ru_panel: pl.DataFrame) -> None:
    # drop every 5th trading day: the gaps are 2 trading days. Treating them as one step would
    # inflate sigma_xi by about sqrt(1 + 1/4) - 1 = 12 % (~0.023, ~10 of its standard errors).
    days = ru_panel["trading_day"].unique().sort()
    gone = days.gather(np.arange(3, days.len(), 5))
    cal = calibrate(ru_panel.filter(~pl.col("trading_day").is_in(gone.implode())))
    assert cal.n_obs == 4 * (1500 - gone.len())
    assert abs(cal.params.kappa - 1.5) < 0.01
    _check_time_series(cal)


def test_exclude_locked_on_a_product_with_many_limit_days() -> None:
    prm = simulate.with_params(simulate.default_params("i"), **TRUTH)
    f = simulate.market("i", "2014-01-02", n_days=1200, n_paths=3, seed=77, params=prm)
    n_locked = int(f["limit_locked"].sum())
    assert n_locked > 0.01 * f.height  # premise: i's narrow limits lock > 1 % of settlements
    cal = calibrate(f, exclude_locked=True, min_contracts=3)
    # expected exclusions, counted here: locked rows, plus whole days left with < 3 contracts
    per_day = f.group_by("path", "trading_day").agg(
        (~pl.col("limit_locked")).sum().alias("kept"), pl.col("limit_locked").any().alias("hit")
    )
    thin = per_day.filter((pl.col("kept") < 3) & pl.col("hit"))
    n_out = n_locked + int(thin["kept"].sum())
    assert cal.n_obs == 3 * 1200 - thin.height
    note = next(n for n in cal.notes if n.startswith("exclude_locked"))
    assert note.startswith(f"exclude_locked: {n_out} of {f.height} row(s) left out")
    assert f"rows of {thin.height} day(s)" in note
    assert abs(cal.params.kappa - 1.5) < 0.01  # same rounding argument as for ru (tick 0.5 on ~800)
    assert abs(cal.params.carry - 0.02) < 5e-4
    _check_time_series(cal)


def test_vectorised_cross_section_equals_lstsq_day_by_day(ru_panel: pl.DataFrame) -> None:
    f = ru_panel.filter((pl.col("path") == 1) & (pl.col("trading_day") <= dt.date(2012, 1, 12)))
    f = f.sort("trading_day", "contract").with_columns(
        (pl.col("trading_day").rank("dense") - 1).cast(pl.Int64).alias("g"),
        ((pl.col("last_trading_day") - pl.col("trading_day")).dt.total_days() / 365.0).alias("tau"),
    )
    g, tau, y = f["g"].to_numpy(), f["tau"].to_numpy(), np.log(f["settle"].to_numpy())
    n_days = int(g.max()) + 1
    assert n_days == 7  # SHFE trading days 4, 5, 6, 9, 10, 11, 12 Jan 2012 (weekdays, no holiday)
    kappa = 1.3
    fit = _cross_sections(g, tau, y, kappa, n_days)
    # naive 1: one stacked regression with per-day dummies for chi and xi and one carry column
    X = np.zeros((y.size, 2 * n_days + 1))
    X[np.arange(y.size), g] = np.exp(-kappa * tau)
    X[np.arange(y.size), n_days + g] = 1.0
    X[:, -1] = tau
    coef, res, *_ = np.linalg.lstsq(X, y, rcond=None)
    np.testing.assert_allclose(fit.chi, coef[:n_days], rtol=0, atol=1e-9)
    np.testing.assert_allclose(fit.xi, coef[n_days : 2 * n_days], rtol=0, atol=1e-9)
    assert fit.carry == pytest.approx(coef[-1], abs=1e-9)
    assert fit.ssr == pytest.approx(float(res[0]), rel=1e-6)
    # naive 2: given that carry, each day's (chi, xi) by lstsq on that day's rows alone
    for d in range(n_days):
        m = g == d
        A = np.column_stack([np.exp(-kappa * tau[m]), np.ones(m.sum())])
        c, *_ = np.linalg.lstsq(A, y[m] - fit.carry * tau[m], rcond=None)
        np.testing.assert_allclose([fit.chi[d], fit.xi[d]], c, rtol=0, atol=1e-9)


# ------------------------------------------------------------------------ continuous


def _factor_sum(
    n_paths: int, n_days: int, kappa: float, s_c: float, s_x: float, rho: float, seed: int
) -> np.ndarray:
    """log price chi + xi by the exact discretisation, written out independently of the kernels."""
    rng = np.random.default_rng(seed)
    z1 = rng.standard_normal((n_paths, n_days))
    z2 = rng.standard_normal((n_paths, n_days))
    a = math.exp(-kappa * DT)
    sd_chi = s_c * math.sqrt((1 - a * a) / (2 * kappa))
    chi = np.zeros((n_paths, n_days))
    xi = np.zeros((n_paths, n_days))
    for d in range(1, n_days):
        chi[:, d] = a * chi[:, d - 1] + sd_chi * z1[:, d]
        xi[:, d] = (
            xi[:, d - 1]
            + (0.05 - s_x * s_x / 2) * DT
            + s_x * math.sqrt(DT) * (rho * z1[:, d] + math.sqrt(1 - rho * rho) * z2[:, d])
        )
    return 6.0 + chi + xi


def _series(x: np.ndarray) -> pl.DataFrame:
    n_paths, n_days = x.shape
    days = pl.date_range(dt.date(2000, 1, 3), dt.date(2000, 1, 3) + dt.timedelta(days=n_days - 1), eager=True)
    return pl.DataFrame(
        {"path": np.repeat(np.arange(n_paths), n_days), "trading_day": pl.concat([days] * n_paths)}
    ).with_columns(pl.Series("price", np.exp(x.ravel())))


def test_continuous_recovers_kappa_sigma_xi_and_b() -> None:
    kappa, s_c, s_x, rho = 4.0, 0.4, 0.2, 0.3
    cal = calibrate(_series(_factor_sum(8, 2500, kappa, s_c, s_x, rho, seed=3)))
    assert cal.kind == "continuous"
    assert cal.n_obs == 8 * 2500
    b_true = s_c**2 + 2 * rho * s_c * s_x  # 0.208, sqrt = 0.456
    p = cal.params
    # Tolerances: a Monte Carlo of this estimator (10 seeds, same design) gave sampling sds of
    # 0.45 (kappa), 0.033 (sigma_xi) and 0.015 (sqrt B), with kappa biased low by ~0.4; the bands
    # below are ~3 sds (kappa: bias + 2.5 sd). The jackknife stderr must also cover the truth at 4x.
    assert abs(p.kappa - kappa) < 1.6
    assert abs(p.sigma_xi - s_x) < 0.1
    assert abs(p.sigma_chi - math.sqrt(b_true)) < 0.05
    for name, true in (("kappa", kappa), ("sigma_xi", s_x), ("sigma_chi", math.sqrt(b_true))):
        assert abs(getattr(p, name) - true) < 4 * cal.stderr[name], name
    # rho and carry are not identified from one series: fixed at 0, and said so
    assert p.rho == 0.0 and p.carry == 0.0
    assert any(n.startswith("rho is not identified") for n in cal.notes)
    assert set(cal.table()["parameter"]) == {"kappa", "sigma_chi", "sigma_xi", "mu_xi", "s0"}
    assert math.isnan(cal.rmse)


def test_continuous_ignores_increments_across_a_roll() -> None:
    x = _factor_sum(2, 1000, 4.0, 0.4, 0.2, 0.3, seed=5)
    base = _series(x).with_columns(
        pl.format("c{}", pl.int_range(pl.len()).over("path") // 120).alias("contract")
    )
    # a new contract trades at a different level: each segment scaled by its own factor
    seg = base["contract"].str.slice(1).cast(pl.Int64)
    jumped = base.with_columns(pl.col("price") * (1.1 ** seg.cast(pl.Float64)))
    a, b = calibrate(base), calibrate(jumped)
    assert a.kind == b.kind == "continuous"
    for name in ("kappa", "sigma_chi", "sigma_xi", "mu_xi"):
        assert getattr(a.params, name) == pytest.approx(getattr(b.params, name), rel=1e-9), name
    # 1000 days in blocks of 120: 9 contracts, 8 rolls a path
    assert next(n for n in a.notes if "roll(s)" in n).startswith(f"{2 * 8} roll(s)")
    # the same jumps without the contract column are used as returns: the vols change
    c = calibrate(jumped.drop("contract"))
    assert c.params.sigma_chi > 1.1 * b.params.sigma_chi


def test_front_contract_series_from_the_panel(ru_panel: pl.DataFrame) -> None:
    front = (
        ru_panel.filter(pl.col("path") == 0)
        .sort("trading_day", "last_trading_day")
        .group_by("trading_day", maintain_order=True)
        .first()
        .select("trading_day", "contract", "settle")
    )
    cal = calibrate(front)  # product from the codes: SHFE calendar, one contract a day -> continuous
    assert cal.kind == "continuous"
    assert not any("no product known" in n for n in cal.notes)
    n_rolls = int((front["contract"] != front["contract"].shift(1)).sum())
    assert next(n for n in cal.notes if "roll(s)" in n).startswith(f"{n_rolls} roll(s)")


# ------------------------------------------------------------------------ bad input


def _small(ru_panel: pl.DataFrame) -> pl.DataFrame:
    return ru_panel.filter(pl.col("path") == 0).select(
        "trading_day", "contract", "last_trading_day", "settle"
    )


def test_missing_columns_and_bad_arguments(ru_panel: pl.DataFrame) -> None:
    f = _small(ru_panel)
    with pytest.raises(InputError, match="'trading_day'"):
        calibrate(f.drop("trading_day"))
    with pytest.raises(InputError, match="'settle'"):
        calibrate(f.drop("settle"))
    with pytest.raises(InputError, match="'contract'"):
        calibrate(f.drop("contract"), kind="contracts")
    with pytest.raises(InputError, match="kind='both'"):
        calibrate(f, kind="both")  # type: ignore[arg-type]
    with pytest.raises(InputError, match="kappa_bounds"):
        calibrate(f, kappa_bounds=(2.0, 1.0))
    with pytest.raises(InputError, match="min_contracts=2"):
        calibrate(f, min_contracts=2)
    with pytest.raises(InputError, match="limit_locked"):
        calibrate(f, exclude_locked=True)
    with pytest.raises(InputError, match="product='i' but the contract codes are of \\['ru'\\]"):
        calibrate(f, product="i")
    with pytest.raises(InputError, match="path must have an integer dtype"):
        calibrate(f.with_columns(pl.lit("a").alias("path")))
    with pytest.raises(InputError, match="dtype Date"):
        calibrate(f.with_columns(pl.col("trading_day").cast(pl.String)))


def test_bad_prices_name_their_rows(ru_panel: pl.DataFrame) -> None:
    f = _small(ru_panel)
    bad = f.with_columns(
        pl.when(pl.int_range(pl.len()).is_in([7, 42]))
        .then(pl.lit(-1.0))
        .when(pl.int_range(pl.len()) == 100)
        .then(pl.lit(float("nan")))
        .otherwise(pl.col("settle"))
        .alias("settle")
    )
    with pytest.raises(DataError, match="first at row 7") as exc:
        calibrate(bad)
    assert exc.value.problems[:3] == ["row 7: settle=-1.0", "row 42: settle=-1.0", "row 100: settle=nan"]


def test_too_few_contracts_on_a_day_lists_the_days(ru_panel: pl.DataFrame) -> None:
    f = _small(ru_panel)
    day = f["trading_day"].unique().sort()[10]
    keep3 = f.filter(pl.col("trading_day") == day).sort("contract").head(3)
    thin = pl.concat([f.filter(pl.col("trading_day") != day), keep3])
    with pytest.raises(DataError, match=f"first {day}, path 0: 3") as exc:
        calibrate(thin)
    assert exc.value.problems == [f"{day} (path 0): 3 contracts"]
    assert calibrate(thin, min_contracts=3).n_obs == 1500  # allowed when asked for


def test_short_sample_duplicates_and_non_trading_days(ru_panel: pl.DataFrame) -> None:
    f = _small(ru_panel)
    days = f["trading_day"].unique().sort()
    with pytest.raises(DataError, match="fewer than 60 trading days"):
        calibrate(f.filter(pl.col("trading_day") <= days[58]))  # 59 days
    assert calibrate(f.filter(pl.col("trading_day") <= days[59])).n_obs == 60
    with pytest.raises(DataError, match="repeat"):
        calibrate(pl.concat([f, f.head(1)]))
    sunday = f.with_columns(
        pl.when(pl.col("trading_day") == days[5])
        .then(dt.date(2012, 1, 8))
        .otherwise(pl.col("trading_day"))
        .alias("trading_day")
    )  # 2012-01-08 is a Sunday
    with pytest.raises(DataError, match="not SHFE trading days"):
        calibrate(sunday)
    late = f.with_columns(pl.col("last_trading_day") - dt.timedelta(days=400))
    with pytest.raises(DataError, match="after their last trading day"):
        calibrate(late)


def test_unknown_last_trading_day_asks_for_the_column() -> None:
    # sc contracts beyond the bundled calendar have no known last trading day
    prm = simulate.with_params(simulate.default_params("sc"), **TRUTH)
    f = simulate.market("sc", "2026-01-05", n_days=70, seed=1, params=prm)
    with pytest.raises(CalendarOutOfBounds, match="pass a 'last_trading_day' column"):
        calibrate(f.select("trading_day", "contract", "settle"))
