"""``cnfutures risk``: Monte Carlo hedge risk over simulated markets from the command line."""

from __future__ import annotations

import argparse
import time
from typing import Any

__all__ = ["register"]

_HELP = """Book one hedge policy over many SIMULATED market paths (seeded two-factor model with
USD/CNY) and print the distribution of the outcome: hedged and unhedged P&L, costs, peak USD
posted to the futures firm, margin calls, limit-locked and limit-bound days, and the USD to keep
ready at the chosen confidence. With no arguments: 1,000,000 bbl of unpriced crude (short a USD
benchmark) hedged 1:1 with INE sc through an OSBP client account, 2,000 paths over one year."""

# the simulated series the exposure is priced off: sc follows a USD benchmark, the others CNY spot
_PRICE = {"sc": "benchmark", "i": "spot", "nr": "spot", "ru": "spot"}


def register(sub: Any) -> None:
    """Add the ``risk`` sub-command to an argparse sub-parser collection."""
    from cnfutures.access.investor import Route

    p = sub.add_parser("risk", help="Monte Carlo hedge risk over simulated paths", description=_HELP)
    p.add_argument("--product", default="sc", choices=sorted(_PRICE), help="futures product (default sc)")
    p.add_argument(
        "--route", default="osbp_client",
        choices=[r.value for r in Route],
        help="access route of the investor (default osbp_client)",
    )  # fmt: skip
    p.add_argument("--hedging-quota", type=int, default=None, metavar="LOTS",
                   help="approved hedging quota [lots] (lifts position limits)")  # fmt: skip
    p.add_argument("--quantity", type=float, default=1_000_000.0, metavar="UNITS",
                   help="exposure [bbl for sc, t otherwise] (default 1,000,000)")  # fmt: skip
    p.add_argument("--side", default="short", choices=["long", "short"], help="exposure side (default short)")
    p.add_argument("--ratio", default="1.0", help="hedge ratio: a number, or rolling / ewma / dcc")
    p.add_argument("--roll-days", type=int, default=5, metavar="DAYS",
                   help="calendar roll: trading days before the last trading day (default 5)")  # fmt: skip
    p.add_argument("--roll-before-stage", default=None, metavar="STAGE",
                   help="also roll before this life stage (e.g. month_before_delivery)")  # fmt: skip
    p.add_argument("--margin-buffer", type=float, default=0.2, metavar="FRAC",
                   help="a call tops equity up to (1 + FRAC) x the requirement (default 0.2)")  # fmt: skip
    p.add_argument("--start", default="2025-01-02", help="first trading day (default 2025-01-02)")
    p.add_argument("--days", type=int, default=244, help="trading days simulated (default 244)")
    p.add_argument("--paths", type=int, default=2000, help="simulated paths (default 2,000)")
    p.add_argument("--seed", type=int, default=1, help="seed (default 1)")
    p.add_argument("--sigma-xi", type=float, default=None, help="long-run volatility [1/sqrt(year)]")
    p.add_argument("--sigma-chi", type=float, default=None, help="short-term volatility [1/sqrt(year)]")
    p.add_argument(
        "--kappa", type=float, default=None, help="mean reversion of the short-term factor [1/year]"
    )
    p.add_argument(
        "--confidence", type=float, default=0.99, help="confidence of the USD to keep (default 0.99)"
    )
    p.add_argument("--fan", default=None, metavar="PNG", help="write the fan chart to this PNG file")
    p.add_argument("--out", default=None, metavar="PARQUET", help="write the per-path metrics to Parquet")
    p.add_argument("--report", default=None, metavar="DIR",
                   help="write the HTML report (fan charts) to this directory or .html file")  # fmt: skip
    p.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    from pathlib import Path

    import polars as pl

    import cnfutures as cf
    from cnfutures import simulate
    from cnfutures.backtest.model import parse_ratio
    from cnfutures.backtest.report import format_value
    from cnfutures.backtest.risk import SIMULATED_PRICES
    from cnfutures.errors import InputError

    # everything the user typed is checked before the (long) simulation
    ratio = parse_ratio(args.ratio)
    if not 0.0 < args.confidence < 1.0:
        raise InputError(f"--confidence {args.confidence!r}; a probability in (0, 1) is accepted, e.g. 0.99")
    for opt, path in (("--fan", args.fan), ("--out", args.out)):
        if path is not None and not Path(path).resolve().parent.is_dir():
            raise InputError(f"{opt} {path!r}: directory {str(Path(path).resolve().parent)!r} does not exist")
    t0 = time.perf_counter()

    price = _PRICE[args.product]
    currency = SIMULATED_PRICES[price]
    changes = {k: v for k, v in (("sigma_xi", args.sigma_xi), ("sigma_chi", args.sigma_chi),
                                 ("kappa", args.kappa)) if v is not None}  # fmt: skip
    params = simulate.with_params(simulate.default_params(args.product), **changes)
    roll = cf.RollRule(kind="calendar", days_before_ltd=args.roll_days, before_stage=args.roll_before_stage)
    policy = cf.HedgePolicy(args.product, ratio=ratio, roll=roll)
    investor = cf.Investor(args.route, hedging_quota=args.hedging_quota)
    costs = cf.Costs(margin_buffer=args.margin_buffer, release_above=max(0.5, args.margin_buffer))
    exposure = cf.Exposure(args.quantity, args.side, price, currency)  # type: ignore[arg-type]
    r = cf.hedge_risk(
        exposure, policy, investor, costs, start=args.start, n_days=args.days, n_paths=args.paths,
        seed=args.seed, params=params, fan=args.fan is not None,
    )  # fmt: skip
    el = time.perf_counter() - t0
    print(r.label)
    print(f"NOTE: SIMULATED paths (seeded model), not exchange history; {el:.1f} s")
    s = r.summary(q=(0.05, 0.5, 0.95, args.confidence))
    qcols = [c for c in s.columns if c.startswith("q")]
    w = max(len(m) for m in s["metric"])
    print(f"  {'metric':<{w}}  {'mean':>14}" + "".join(f"  {c:>14}" for c in qcols) + "  unit")
    for row in s.iter_rows(named=True):
        vals = "".join(f"  {format_value(row[c]):>14}" for c in qcols)
        print(f"  {row['metric']:<{w}}  {format_value(row['mean']):>14}{vals}  {row['unit']}")
    print(f"USD to keep ready ({args.confidence:.0%}): {r.usd_to_keep(args.confidence):,.0f}")
    bound = float(r.paths["limit_bound_days"].mean())  # type: ignore[arg-type]
    if bound > 0:
        print(
            f"NOTE: position or opening limits cut the hedge on {bound:.0f} days per path on average; "
            "a hedging quota (--hedging-quota) or an earlier roll (--roll-before-stage) avoids it"
        )
    if args.fan:
        print(f"fan chart: {r.plot_fan(args.fan)}")
    if args.report:
        print(f"report: {r.report(args.report)}")
    if args.out:
        r.paths.write_parquet(args.out)
        n = pl.scan_parquet(args.out).select(pl.len()).collect().item()
        print(f"per-path metrics: {args.out} ({n} rows)")
    return 0
