"""Regenerate the engine's golden outputs in tests/reference/ (review the diff before committing).

Usage: python scripts/make_engine_golden.py

Three outputs of the booking engine, written as Parquet (float64 bits preserved) and checked
bit for bit by ``tests/test_engine_golden.py``:

- ``golden_backtest_ledger.parquet`` and ``golden_backtest_summary.parquet``: the bundled
  ``cnfutures backtest`` sample with every command-line default (sc, OSBP client, ratio 1.0,
  calendar roll 5 days before the LTD and before the delivery month, 2019-01-02 to 2025-06-06,
  seed 20260101);
- ``golden_hedge_risk_paths.parquet`` and ``golden_hedge_risk_fan.parquet``: ``hedge_risk`` on
  a fixed seed (a constant ratio) and ``golden_hedge_risk_rolling_paths.parquet`` (a rolling
  ratio re-estimated on each path);
- ``golden_sweep_example.parquet``: the bundled example sweep grid (``cnfutures sweep
  --example``), run in this process.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

OUT = Path(__file__).resolve().parents[1] / "tests" / "reference"

RISK_START = "2025-01-02"
RISK_DAYS = 120
RISK_PATHS = 64
RISK_SEED = 7


def backtest_sample() -> tuple[pl.DataFrame, pl.DataFrame]:
    """Ledger and summary of the bundled ``cnfutures backtest`` sample (command-line defaults)."""
    from cnfutures.access import Investor
    from cnfutures.backtest import Costs, Exposure, HedgePolicy, Market, run
    from cnfutures.frames.roll import RollRule

    market = Market.sample("sc", "2019-01-02", "2025-06-06", seed=20260101)
    roll = RollRule(kind="calendar", days_before_ltd=5, before_stage="month_before_delivery")
    policy = HedgePolicy(
        "sc", ratio=1.0, roll=roll, band=0.0, execution="settle", slippage_ticks=1.0, window=60
    )
    investor = Investor("osbp_client", kind="institution", hedging_quota=None)
    costs = Costs(commission=2.0, fx_spread=0.0005, funding_rate=0.05)
    exposure = Exposure(1_000_000.0, "short", next(iter(market.prices)), "USD")
    res = run(market, exposure, policy, investor, costs)
    return res.ledger, res.summary


def hedge_risk_sample(ratio: float | str = 1.0, fan: bool = True) -> tuple[pl.DataFrame, pl.DataFrame | None]:
    """Per-path metrics and fan of ``hedge_risk`` on a fixed seed."""
    from cnfutures import hedge_risk
    from cnfutures.access import Investor
    from cnfutures.backtest import Exposure, HedgePolicy

    r = hedge_risk(
        Exposure(500_000, "short", "benchmark"), HedgePolicy("sc", ratio=ratio, window=20), Investor("qfi"),
        start=RISK_START, n_days=RISK_DAYS, n_paths=RISK_PATHS, seed=RISK_SEED, fan=fan,
    )  # fmt: skip
    return r.paths, r.fan


def sweep_example() -> pl.DataFrame:
    """The bundled example sweep (``cnfutures sweep --example``), serial, sorted by point."""
    from cnfutures import sweep
    from cnfutures.backtest.grid import example_grid, load_grid

    spec, grid, n_paths = load_grid(example_grid())
    out = sweep(spec, grid, n_paths=n_paths, executor="serial")
    return out.sort("point")


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    ledger, summary = backtest_sample()
    ledger.write_parquet(OUT / "golden_backtest_ledger.parquet")
    summary.write_parquet(OUT / "golden_backtest_summary.parquet")
    paths, fan = hedge_risk_sample()
    assert fan is not None
    paths.write_parquet(OUT / "golden_hedge_risk_paths.parquet")
    fan.write_parquet(OUT / "golden_hedge_risk_fan.parquet")
    rolling, _ = hedge_risk_sample("rolling", fan=False)
    rolling.write_parquet(OUT / "golden_hedge_risk_rolling_paths.parquet")
    sweep_example().write_parquet(OUT / "golden_sweep_example.parquet")
    for f in sorted(OUT.glob("golden_*.parquet")):
        print(f"wrote {f}")


if __name__ == "__main__":
    main()
