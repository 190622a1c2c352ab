"""End to end: sample market → engine → kernel → ledger/summary → report and CLI; bad input."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from cnfutures.access import Investor
from cnfutures.backtest import Costs, Exposure, HedgePolicy, Market, run
from cnfutures.cli import main
from cnfutures.errors import AccessDenied, DataError, InputError, NotTradingDay
from cnfutures.frames.roll import RollRule


@pytest.fixture(scope="module")
def market() -> Market:
    return Market.sample("sc", "2024-01-02", "2024-12-31", seed=1)


def test_end_to_end_ledger_and_summary(market: Market, tmp_path: Path) -> None:
    pol = HedgePolicy("sc", roll=RollRule(before_stage="month_before_delivery"), slippage_ticks=1)
    r = run(market, Exposure(1_000_000, "short", "brent"), pol, Investor("osbp_client"))
    led = r.ledger
    assert led.height == 242 and (led["lots"] == 1000).all()  # 2024 has 242 INE trading days
    # hedged P&L is the exposure plus the hedge minus costs plus the FX revaluation, every day
    diff = (
        led["exposure_pnl_usd"] + led["hedge_pnl_usd"] - led["costs_usd"] + led["fx_revaluation_usd"]
        - led["net_pnl_usd"]
    )
    assert diff.abs().max() < 1e-6
    # sample market calibrated to the real SC-Brent co-movement (weekly correlation ~0.74,
    # docs/simulate.md): a 1:1 hedge removes well under the 90 % the old sample showed; over
    # one year (52 weeks) the measured share is noisy (0.28 here)
    assert 0.15 < r["effectiveness_weekly"] < 0.7
    # weekly effectiveness recomputed independently with polars' calendar weeks (Mon-Sun)
    wk = led.group_by_dynamic("trading_day", every="1w", closed="left", label="right").agg(
        pl.col("exposure_pnl_usd").sum(), pl.col("net_pnl_usd").sum()
    )
    ve = wk["exposure_pnl_usd"].var()
    vn = wk["net_pnl_usd"].var()
    assert r["effectiveness_weekly"] == pytest.approx(1 - vn / ve, rel=1e-9)  # type: ignore[operator]
    assert r["limit_bound_days"] == led["limit_bound"].sum()
    assert r["peak_usd_posted"] > 0
    page = r.report(tmp_path)
    assert "SIMULATED" in page.read_text() and "class='cnf-chart'" in page.read_text()


def test_ratio_zero_zero_costs_equals_exposure(market: Market) -> None:
    r = run(
        market,
        Exposure(1000.0, "long", "brent"),
        HedgePolicy("sc", ratio=0.0),
        Investor("osbp_client"),
        Costs.zero(),
    )
    assert (r.ledger["net_pnl_usd"] - r.ledger["exposure_pnl_usd"]).abs().max() == 0.0


def test_dynamic_ratio_uses_past_only(market: Market) -> None:
    pol = HedgePolicy("sc", ratio="rolling", window=20, reestimate_every=10, initial_ratio=0.5)
    r = run(market, Exposure(1_000_000, "short", "brent"), pol, Investor("osbp_client"))
    h = r.ledger["hedge_ratio"]
    assert h[:10].to_list() == [0.5] * 10 and h.n_unique() > 2


def test_bad_input_raises_typed_errors(market: Market) -> None:
    e = Exposure(1e6, "short", "brent")
    with pytest.raises(AccessDenied, match="QFI"):  # the reason comes from eligible()
        run(Market.sample("sc", "2021-01-04", "2021-03-01"), e, HedgePolicy("sc"), Investor("qfi"))
    with pytest.raises(InputError, match=r"not in Market\.prices"):
        run(market, Exposure(1e6, "short", "wti"), HedgePolicy("sc"), Investor("osbp_client"))
    with pytest.raises(NotTradingDay):
        run(market, e, HedgePolicy("sc"), Investor("osbp_client"), start="2024-01-06")
    short = Market(market.futures.filter(pl.col("contract") != "sc2405"), market.prices, market.usd_cny)
    with pytest.raises(DataError, match="sc2405"):
        run(short, e, HedgePolicy("sc"), Investor("osbp_client"))


def test_cli_runs_and_writes_report(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rc = main(["backtest", "--start", "2025-03-03", "--end", "2025-06-06", "--report", str(tmp_path / "rep")])
    out = capsys.readouterr().out
    assert rc == 0 and "SIMULATED" in out and "effectiveness_weekly" in out
    assert (tmp_path / "rep" / "index.html").is_file()


@pytest.mark.parametrize(
    ("product", "route"),
    [("sc", "osbp_client"), ("nr", "osbp_client"), ("i", "overseas_intermediary")],
)
def test_cli_default_route_exists_at_the_exchange(
    product: str, route: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """Without --route the CLI uses a route the product's exchange has (DCE has no OSBP:
    market-facts §3.2), so ``cnfutures backtest --product i`` runs instead of being refused."""
    rc = main(["backtest", "--product", product, "--start", "2025-03-03", "--end", "2025-04-30",
               "--no-report"])  # fmt: skip
    assert rc == 0
    assert f"route {route} (institution)" in capsys.readouterr().out
