"""Numbers of docs/tutorial-usd.md ("How much USD should I keep ready?").

Run: .venv/bin/python scripts/tutorial_usd.py  (about a minute on 2 cores; writes docs/img/usd_fan.png)
Every number is SIMULATED by the seeded model; the same command gives the same numbers.
"""

from __future__ import annotations

import time
from pathlib import Path

import polars as pl

import cnfutures as cf
from cnfutures import simulate

pl.Config.set_tbl_rows(30)
pl.Config.set_tbl_cols(12)
pl.Config.set_tbl_width_chars(160)
pl.Config.set_thousands_separator(",")

EXPO = cf.Exposure(1_000_000, "short", "benchmark")  # 1 mbbl of unpriced crude, priced off a USD benchmark
INVESTOR = cf.Investor("osbp_client")
BASE = simulate.default_params("sc")
STRESS = simulate.with_params(BASE, sigma_xi=0.45, sigma_chi=0.35)  # 2020/2022-like volatility
ROLLS = {
    "5 days before LTD": cf.RollRule(kind="calendar", days_before_ltd=5),
    "before margin stage": cf.RollRule(
        kind="calendar", days_before_ltd=5, before_stage="month_before_delivery"
    ),
}


def main() -> None:
    t = time.perf_counter()
    print("== 1. one policy, 5,000 paths, one year")
    r = cf.hedge_risk(
        EXPO, cf.HedgePolicy("sc", ratio=1.0), INVESTOR, cf.Costs(),
        start="2025-01-02", n_days=244, n_paths=5_000, seed=1, params=BASE,
    )  # fmt: skip
    s = r.summary(q=(0.5, 0.95, 0.99)).with_columns(pl.selectors.float().round(0).cast(pl.Int64))
    print(s.filter(pl.col("metric").is_in(["peak_usd_posted", "margin_calls", "funding_usd", "net_pnl_usd",
                                           "exposure_pnl_usd", "limit_locked_days"])))  # fmt: skip
    print(f"USD to keep ready (99 %): {r.usd_to_keep(0.99):,.0f}")
    out = Path(__file__).resolve().parents[1] / "docs" / "img"
    out.mkdir(exist_ok=True)
    try:
        r.plot_fan(out / "usd_fan.png")
    except cf.OptionalDependencyMissing:
        print("(matplotlib missing: no fan chart)")
    print(f"-- {time.perf_counter() - t:.1f} s")

    print("== 2. stressed volatility")
    r2 = cf.hedge_risk(
        EXPO, cf.HedgePolicy("sc", ratio=1.0), INVESTOR, cf.Costs(),
        start="2025-01-02", n_days=244, n_paths=5_000, seed=1, params=STRESS,
    )  # fmt: skip
    print(f"USD to keep ready (99 %), stressed: {r2.usd_to_keep(0.99):,.0f}")
    print(f"-- {time.perf_counter() - t:.1f} s")

    print("== 3. position limits, the roll rule and a hedging quota")
    variants = {
        "5 days before LTD": (ROLLS["5 days before LTD"], INVESTOR),
        "before margin stage": (ROLLS["before margin stage"], INVESTOR),
        "5 days + hedging quota": (
            ROLLS["5 days before LTD"],
            cf.Investor("osbp_client", hedging_quota=2_000),
        ),
    }
    for name, (roll, inv) in variants.items():
        rr = cf.hedge_risk(
            EXPO, cf.HedgePolicy("sc", ratio=1.0, roll=roll), inv, cf.Costs(),
            start="2025-01-02", n_days=244, n_paths=5_000, seed=1, params=BASE,
        )  # fmt: skip
        p = rr.paths
        print(
            f"{name:>24}: USD to keep (99 %) {rr.usd_to_keep(0.99):>11,.0f} | limit-bound days "
            f"{p['limit_bound_days'].mean():5.0f} | hedged vol {p['vol_hedged_usd'].median():>11,.0f} "
            f"(unhedged {p['vol_unhedged_usd'].median():,.0f}) | funding {p['funding_usd'].mean():>8,.0f} "
            f"| calls {p['margin_calls'].mean():4.1f}"
        )  # fmt: skip
    print(f"-- {time.perf_counter() - t:.1f} s")

    print("== 4. a sweep: roll rule x margin buffer x hedge ratio, 20 paths of the sample market")
    from cnfutures.sweeps import SimulatedMarket, SweepSpec, rank, sweep

    spec = SweepSpec(
        market=SimulatedMarket("sc", "2024-06-03", "2025-06-06", seed=1),
        exposure=cf.Exposure(1_000_000, "short", "brent"),
        policy=cf.HedgePolicy("sc"),
        investor=cf.Investor("osbp_client", hedging_quota=2_000),
    )
    grid = {"roll": list(ROLLS.values()), "margin_buffer": [0.1, 0.2, 0.5], "ratio": [0.8, 1.0]}
    table = sweep(spec, grid, n_paths=20)
    print(f"{table.height} backtests")
    short = {"calendar": "5 days before LTD", "calendar, before_stage=month_before_delivery": "before stage"}
    table = table.with_columns(pl.col("roll").replace_strict(short, return_dtype=pl.String))
    by_policy = (
        table.group_by("roll", "margin_buffer", "ratio", maintain_order=True)
        .agg(
            pl.col("peak_usd_posted").max().round(0).cast(pl.Int64).alias("worst_peak_usd"),
            pl.col("peak_usd_posted").mean().round(0).cast(pl.Int64).alias("mean_peak_usd"),
            pl.col("margin_calls").mean().round(1),
            pl.col("funding_usd").mean().round(0).cast(pl.Int64),
            pl.col("vol_hedged_usd").mean().round(0).cast(pl.Int64),
        )
        .sort("worst_peak_usd")
    )
    print(by_policy)
    print(
        rank(table, "hedged_variance", top=3).select(
            "rank", "roll", "margin_buffer", "ratio", "vol_hedged_usd"
        )
    )
    print(f"-- {time.perf_counter() - t:.1f} s")


if __name__ == "__main__":
    main()
