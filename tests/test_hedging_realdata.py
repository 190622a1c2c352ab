"""Worked example on real data: SC main contract vs EIA Brent, in USD, weekly.

Data in ../shared/data (skipped where absent): Sina SC main-contract series (unadjusted,
no contract column), EIA Brent spot (RBRTE) and FRED DEXCHUS USD/CNY. The numbers printed
here are the ones quoted in docs/hedging.md.

Roll days are detected simply: the main series switches contract on a day when open
interest jumps by more than 30% either way (the new main contract carries a different OI);
weeks containing such a day are excluded (their weekly change is null with reason "roll").
"""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from cnfutures import hedging

pytestmark = pytest.mark.shared_data


def weekly_sc_brent(shared_data: Path) -> tuple[pl.DataFrame, pl.DataFrame]:
    sc = pl.read_csv(shared_data / "sina_continuous" / "sc_main_sina.csv", try_parse_dates=True)
    sc = sc.with_columns(
        roll=((pl.col("open_interest") / pl.col("open_interest").shift(1) - 1).abs() > 0.30)
        .fill_null(False)
    )
    fx = pl.read_csv(shared_data / "fred_fx" / "usdcny_daily_fred_dexchus.csv",
                     try_parse_dates=True).drop_nulls()
    brent = pl.read_csv(shared_data / "eia_oil" / "brent_spot_daily_eia.csv",
                        try_parse_dates=True)
    # SC close (15:00 Beijing) in USD at the last FRED noon-New-York rate on or before the day
    sc_fx = hedging.align(sc.select("date", "close", "roll"), fx, lag=0,
                          tolerance=__import__("datetime").timedelta(days=7))
    sc_usd = sc_fx.select(
        "date", "roll", (pl.col("close") / pl.col("cny_per_usd")).alias("sc_usd")
    ).filter(pl.col("date") <= fx["date"].max())
    w_sc = hedging.changes(hedging.weekly(sc_usd), column="sc_usd")
    w_brent = hedging.changes(hedging.weekly(brent.filter(pl.col("date") >= sc["date"].min())),
                              column="price_usd_per_bbl")
    return w_brent, w_sc


def test_sc_vs_brent_weekly_hedge(shared_data: Path) -> None:
    w_brent, w_sc = weekly_sc_brent(shared_data)
    ols = hedging.hedge_ratio(w_brent, w_sc, how="inner", missing="drop").row(0, named=True)
    both = w_brent.join(w_sc, on="date", suffix="_sc").drop_nulls(["change", "change_sc"])
    n_roll = w_sc.filter(pl.col("status") == "roll").height
    ins = hedging.effectiveness(both.select("date", "change"),
                                both.select("date", pl.col("change_sc").alias("change")),
                                ols["hedge_ratio"])
    oos = hedging.effectiveness_oos(both["change"], both["change_sc"], estimation_window=104,
                                    method="ols", refit_every=4)
    ewma = hedging.effectiveness_oos(both["change"], both["change_sc"], estimation_window=104,
                                     method="ewma", lam=0.97)
    print(f"\nweeks={ols['n']} roll weeks excluded={n_roll} h={ols['hedge_ratio']:.4f} "
          f"se={ols['std_error']:.4f} rho={ols['correlation']:.4f} R2={ols['r_squared']:.4f}")
    print(ins)
    print(oos)
    print(ewma)
    # README: weekly (Friday) SC-Brent log-return correlation 0.73 (2018-2025)
    assert 0.5 < ols["correlation"] < 0.95
    assert 0.4 < ols["hedge_ratio"] < 1.2
    assert 0.25 < ins.variance_reduction < 0.9
    assert ins.var_reduction > 0.1 and ins.es_reduction > 0.1
    assert 0.1 < oos.variance_reduction < ins.variance_reduction + 0.05
    assert ols["n"] > 250 and n_roll > 10


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
