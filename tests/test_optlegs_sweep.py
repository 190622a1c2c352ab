"""Sweeps over policies with option legs (issue 18): rows equal the direct ``run`` of each point."""

from __future__ import annotations

import polars as pl
import pytest

from cnfutures.access import Investor
from cnfutures.backtest.engine import run
from cnfutures.backtest.layout import OPTION_LEDGER, metric_names
from cnfutures.backtest.model import Exposure, HedgePolicy, Market, collar, protective_call
from cnfutures.backtest.sweep import SweepSpec, ledgers, rank, sweep

START, END = "2025-01-02", "2025-06-06"
VOL = 0.35
EXPO = Exposure(300_000.0, "short", "brent")


@pytest.fixture(scope="module")
def sample() -> Market:
    return Market.sample("sc", "2024-12-02", END)


def _same(row: dict[str, object], res: object, names: tuple[str, ...]) -> None:
    for m in names:
        want = res[m]  # type: ignore[index]
        assert row[m] == pytest.approx(want, rel=1e-12, abs=1e-9, nan_ok=True), m


def test_pure_option_grid_rows_equal_run(sample: Market) -> None:
    base = HedgePolicy("sc", ratio=0.0, options=collar(), option_vol=VOL)
    spec = SweepSpec(sample, EXPO, base, Investor("qfi"), start=START)
    grid = {"options": [collar(1.05, 0.95), protective_call(1.0)], "option_vol": [0.3, 0.45]}
    t = sweep(spec, grid, executor="serial", keep="ledger")
    assert isinstance(t, pl.DataFrame)
    assert t.height == 4 and t["error"].is_null().all()
    assert t["options"].to_list()[:3:2] == ["long call 1.05 1m x1; short put 0.95 1m x1", "long call 1 1m x1"]
    names = metric_names("sweep", options=True)
    assert set(names) <= set(t.columns)
    for row in t.iter_rows(named=True):
        legs = collar(1.05, 0.95) if row["options"].startswith("long call 1.05") else protective_call(1.0)
        pol = HedgePolicy("sc", ratio=0.0, options=legs, option_vol=row["option_vol"])
        res = run(sample, EXPO, pol, Investor("qfi"), start=START)
        _same(row, res, metric_names("backtest", options=True))
        led = pl.DataFrame(row["ledger"])
        assert led.columns == res.ledger.columns
        assert led.equals(res.ledger)
    # option metrics rank like any other; the long frame keeps the option columns
    assert (
        rank(t, "cost_of_protection_usd", top=1)["cost_of_protection_usd"][0]
        == t["cost_of_protection_usd"].min()
    )
    long = ledgers(t)
    assert {c.name for c in OPTION_LEDGER} <= set(long.columns) and long.height == 4 * res.ledger.height


def test_futures_only_vs_collar_in_one_sweep(sample: Market) -> None:
    spec = SweepSpec(sample, EXPO, HedgePolicy("sc", option_vol=VOL), Investor("qfi"), start=START)
    t = sweep(spec, {"options": [(), collar()], "ratio": [1.0, 0.0]}, executor="serial", keep="ledger")
    assert isinstance(t, pl.DataFrame)
    assert t["options"].to_list() == ["none", "none", collar_label(), collar_label()]
    opt_names = metric_names("sweep", options=True)[len(metric_names("sweep")) :]
    for row in t.iter_rows(named=True):
        legs = collar() if row["options"] != "none" else ()
        pol = HedgePolicy("sc", ratio=row["ratio"], options=legs, option_vol=VOL)
        res = run(sample, EXPO, pol, Investor("qfi"), start=START)
        _same(row, res, metric_names("backtest", options=bool(legs)))
        led = pl.DataFrame(row["ledger"])
        if legs:
            assert led.equals(res.ledger)
        else:  # no option legs: the option metrics and ledger columns are null (compare() does the same)
            assert all(row[m] is None for m in opt_names)
            assert led.select(res.ledger.columns).equals(res.ledger)
            assert led.select(c.name for c in OPTION_LEDGER).null_count().sum_horizontal()[0] == (
                len(OPTION_LEDGER) * led.height
            )


def collar_label() -> str:
    return "long call 1.05 1m x1; short put 0.95 1m x1"


def test_futures_only_sweep_keeps_its_columns(sample: Market) -> None:
    spec = SweepSpec(sample, EXPO, HedgePolicy("sc"), Investor("qfi"), start=START, end="2025-02-28")
    t = sweep(spec, {"band": [0, 5]}, executor="serial", keep="ledger")
    assert isinstance(t, pl.DataFrame)
    assert "option_pnl_usd" not in t.columns
    assert "option_lots" not in ledgers(t).columns
