"""Worked example on real data: SC main contract vs EIA Brent, in USD, weekly.

Data in ../shared/data (skipped where absent): Sina SC main-contract series (unadjusted,
no contract column), EIA Brent spot (RBRTE) and FRED DEXCHUS USD/CNY. The numbers printed
here are the ones quoted in docs/hedging.md.

Roll days are detected simply: the main series switches contract on a day when open
interest jumps by more than 30% either way (the new main contract carries a different OI);
weeks containing such a day are excluded (their weekly change is null with reason "roll").
Weeks are a full Friday grid (hedging.weekly keeps the weeks the exchange was shut as null
rows), and the weekly hedge ratio and R^2 are checked against pandas + statsmodels to 1e-9.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl
import pytest

from cnfutures import hedging
from cnfutures.errors import InputError

pytestmark = pytest.mark.shared_data

FIRST, LAST = dt.date(2019, 1, 1), dt.date(2024, 12, 31)


def _read(shared_data: Path) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    sc = pl.read_csv(shared_data / "sina_continuous" / "sc_main_sina.csv", try_parse_dates=True)
    fx = pl.read_csv(shared_data / "fred_fx" / "usdcny_daily_fred_dexchus.csv",
                     try_parse_dates=True).drop_nulls()
    brent = pl.read_csv(shared_data / "eia_oil" / "brent_spot_daily_eia.csv",
                        try_parse_dates=True)
    return sc, fx, brent


def weekly_sc_brent(shared_data: Path, first: dt.date = FIRST, last: dt.date = LAST
                    ) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """The documented recipe (docs/hedging.md): full Friday grids, pairing stated."""
    sc, fx, brent = _read(shared_data)
    sc = sc.with_columns(
        roll=((pl.col("open_interest") / pl.col("open_interest").shift(1) - 1).abs() > 0.30)
        .fill_null(False)
    )
    # SC close (15:00 Beijing) in USD at the last FRED noon-New-York rate on or before the day
    sc_fx = hedging.align(sc.select("date", "close", "roll"), fx, lag=0,
                          tolerance=dt.timedelta(days=7))
    sc_usd = sc_fx.select("date", "roll", (pl.col("close") / pl.col("cny_per_usd")).alias("sc_usd"))
    in_range = pl.col("date").is_between(first, last)
    dF = hedging.changes(hedging.weekly(sc_usd.filter(in_range), calendar="INE"), column="sc_usd")
    dS = hedging.changes(hedging.weekly(brent.filter(in_range)), column="price_usd_per_bbl")
    # same Friday for both: SC's Friday close is ~16 h before Brent's (lag 0 weeks)
    return dS, dF, hedging.pair_changes(dS, dF, lag=0)


def independent_weekly_ols(shared_data: Path) -> tuple[int, float, float, float]:
    """pandas + statsmodels, written here from the data README, sharing no cnfutures code."""
    pd = pytest.importorskip("pandas")
    sm = pytest.importorskip("statsmodels.api")
    sc = pd.read_csv(shared_data / "sina_continuous" / "sc_main_sina.csv", parse_dates=["date"])
    sc["roll"] = (sc["open_interest"] / sc["open_interest"].shift(1) - 1).abs() > 0.30
    fx = pd.read_csv(shared_data / "fred_fx" / "usdcny_daily_fred_dexchus.csv",
                     parse_dates=["date"]).dropna()
    br = pd.read_csv(shared_data / "eia_oil" / "brent_spot_daily_eia.csv", parse_dates=["date"])
    m = pd.merge_asof(sc, fx, on="date", tolerance=pd.Timedelta(days=7))
    m["sc_usd"] = m["close"] / m["cny_per_usd"]

    def fridays(df, col):  # type: ignore[no-untyped-def]
        df = df[(df["date"] >= str(FIRST)) & (df["date"] <= str(LAST))].set_index("date")
        return df[col].resample("W-FRI").last()  # every Friday; an empty week is NaN

    sc_w = fridays(m, "sc_usd")
    roll_w = m[(m["date"] >= str(FIRST)) & (m["date"] <= str(LAST))].set_index("date")[
        "roll"].astype(float).resample("W-FRI").max()
    d_sc = sc_w.diff().where(roll_w != 1.0)
    d_br = fridays(br, "price_usd_per_bbl").diff()
    both = pd.concat([d_br.rename("s"), d_sc.rename("f")], axis=1).dropna()
    fit = sm.OLS(both["s"], sm.add_constant(both["f"])).fit()
    return len(both), float(fit.params["f"]), float(fit.rsquared), float(fit.bse["f"])


def test_sc_vs_brent_weekly_hedge_matches_independent_computation(shared_data: Path) -> None:
    _, _, pc = weekly_sc_brent(shared_data)
    ols = hedging.hedge_ratio(pc["spot_change"], pc["futures_change"],
                              missing="drop").row(0, named=True)
    n, h, r2, se = independent_weekly_ols(shared_data)
    print(f"\nweeks={ols['n']} h={ols['hedge_ratio']:.10f} (statsmodels {h:.10f}) "
          f"R2={ols['r_squared']:.10f} ({r2:.10f}) se={ols['std_error']:.6f} ({se:.6f})")
    print(pc["status"].value_counts().sort("status"))
    assert ols["n"] == n
    assert ols["hedge_ratio"] == pytest.approx(h, rel=0, abs=1e-9)
    assert ols["r_squared"] == pytest.approx(r2, rel=0, abs=1e-9)
    assert ols["std_error"] == pytest.approx(se, rel=0, abs=1e-9)


def test_sc_vs_brent_weekly_effectiveness(shared_data: Path) -> None:
    _, _, pc = weekly_sc_brent(shared_data)
    ok = pc.filter(pl.col("status") == "ok")
    s, f = ok["spot_change"], ok["futures_change"]
    ols = hedging.hedge_ratio(s, f).row(0, named=True)
    ins = hedging.effectiveness(s, f, ols["hedge_ratio"])
    oos = hedging.effectiveness_oos(s, f, estimation_window=104, method="ols", refit_every=4)
    ewma = hedging.effectiveness_oos(s, f, estimation_window=104, method="ewma", lam=0.97)
    print(f"\nweeks={ols['n']} h={ols['hedge_ratio']:.4f} se={ols['std_error']:.4f} "
          f"rho={ols['correlation']:.4f} R2={ols['r_squared']:.4f}")
    print(pc["status"].value_counts().sort("status"))
    print(ins)
    print(oos)
    print(ewma)
    # in-sample variance reduction is R^2 of the OLS fit, exactly
    assert ins.variance_reduction == pytest.approx(ols["r_squared"], abs=1e-12)
    assert ins.var_reduction > 0.1 and ins.es_reduction > 0.1
    assert oos.n == ols["n"] - 104


def test_old_recipe_pairing_is_refused(shared_data: Path) -> None:
    """Dropping the weeks the exchange was shut (Spring Festival, National Day) made 2-week
    SC changes that how="inner" paired with 1-week Brent changes (h 0.88 instead of 0.94);
    that pairing is now an error."""
    dS, _, _ = weekly_sc_brent(shared_data)
    sc, fx, _ = _read(shared_data)
    sc_usd = hedging.align(sc.select("date", "close"), fx, lag=0, tolerance=dt.timedelta(days=7))
    w = hedging.weekly(sc_usd.filter(pl.col("date").is_between(FIRST, LAST)), calendar="INE")
    closed = w.filter(pl.col("status") == "closed")
    assert closed.height >= 6  # Spring Festival and National Day weeks, 2019-2024
    old = hedging.changes(w.filter(pl.col("status") == "ok").select("date", "close"))
    with pytest.raises(InputError, match="unequal length"):
        hedging.hedge_ratio(dS, old, how="inner", missing="drop")


def test_sc_import_parity_near_one(shared_data: Path) -> None:
    sc = pl.read_csv(shared_data / "sina_continuous" / "sc_main_sina.csv", try_parse_dates=True)
    fx = pl.read_csv(shared_data / "fred_fx" / "usdcny_daily_fred_dexchus.csv",
                     try_parse_dates=True)
    brent = pl.read_csv(shared_data / "eia_oil" / "brent_spot_daily_eia.csv",
                        try_parse_dates=True)
    par = hedging.import_parity(sc.filter(pl.col("date") <= pl.date(2025, 6, 6)), brent, fx,
                                product="sc", column="close", lag=0)
    med = par["parity"].drop_nulls().median()
    print(f"\nmedian SC close / (Brent x USDCNY) = {med:.4f} over {par.height} days")
    # README: median SC_close / (Brent_spot x USDCNY) = 0.99 (2018-2025, IQR 0.96-1.02)
    assert med == pytest.approx(0.99, abs=0.02)
