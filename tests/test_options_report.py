"""The options section of a backtest report (issue 18): its numbers are the ledger's and the summary's."""

from __future__ import annotations

import tempfile
from pathlib import Path

import polars as pl
import pytest

from cnfutures.access import Investor
from cnfutures.backtest import Exposure, HedgePolicy, Market, collar, run
from cnfutures.backtest.options_report import has_options, options_daily, options_section
from cnfutures.backtest.report import backtest_sections
from cnfutures.errors import InputError

EXPO = Exposure(300_000.0, "short", "brent")


@pytest.fixture(scope="module")
def runs():  # type: ignore[no-untyped-def]
    m = Market.sample("sc", "2024-11-01", "2025-06-06")
    pol = HedgePolicy("sc", ratio=0.5, options=collar(), option_vol=0.35)
    return (run(m, EXPO, pol, Investor("qfi"), start="2024-12-02"),
            run(m, EXPO, HedgePolicy("sc", ratio=0.5), Investor("qfi"), start="2024-12-02"))  # fmt: skip


def test_daily_columns_sum_to_the_summary(runs) -> None:  # type: ignore[no-untyped-def]
    r, _ = runs
    d = options_daily(r)
    for m in ("option_pnl_usd", "option_fees_usd", "net_pnl_usd", "net_pnl_ex_options_usd"):
        assert d[m].sum() == pytest.approx(r[m], rel=1e-9, abs=1e-6), m


def test_without_options_equals_the_futures_only_run(runs) -> None:  # type: ignore[no-untyped-def]
    # the same futures leg without the options: the futures-only run of the same policy is an
    # independent reference for the "without options" line (margin funding may differ: the short
    # puts' margin changes the USD posted, so compare the exposure + hedge P&L, which it does not)
    r, fut = runs
    d = options_daily(r)
    ex = d["net_pnl_ex_options_usd"].sum()
    assert r["exposure_pnl_usd"] == pytest.approx(fut["exposure_pnl_usd"], rel=1e-12)
    assert r["hedge_pnl_usd"] == pytest.approx(fut["hedge_pnl_usd"], rel=1e-12)
    assert ex == pytest.approx(r["net_pnl_usd"] - r["option_pnl_usd"] + r["option_fees_usd"], rel=1e-9)


def test_section_is_added_only_with_option_legs(runs) -> None:  # type: ignore[no-untyped-def]
    r, fut = runs
    assert has_options(r) and not has_options(fut)
    assert "Options" not in [s.title for s in backtest_sections(r)]  # added by result.report
    with tempfile.TemporaryDirectory() as d:
        page = r.report(Path(d) / "c.html").read_text()
        plain = fut.report(Path(d) / "f.html").read_text()
    assert page.count("Cost of protection") == 1 and "Cost of protection" not in plain
    with pytest.raises(InputError, match="no option legs"):
        options_section(fut)


def test_section_tables_and_charts(runs) -> None:  # type: ignore[no-untyped-def]
    r, _ = runs
    sec = options_section(r)
    assert [c.title for c in sec.charts] == [
        "Cumulative net P&L with and without the options (SIMULATED market)",
        "Short-option margin (SIMULATED market)",
        "Book delta (futures + options) (SIMULATED market)",
        "Book gamma and vega (options) (SIMULATED market)",
    ]
    series = r.meta["option_series"]
    for code in series["option"]:
        assert code in sec.html
    n_ex = r.ledger.filter(pl.col("option_exercise_cny") != 0).height
    assert sec.html.count("<tr>") >= 1 + 8 + 1 + series.height + (1 + n_ex if n_ex else 0)
    assert "<script" not in sec.html
