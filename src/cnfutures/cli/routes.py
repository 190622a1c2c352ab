"""``cnfutures routes``: one hedge through every access route, side by side."""

from __future__ import annotations

import argparse
from typing import Any

from cnfutures.errors import InputError

__all__ = ["register"]

_HELP = """Book the same hedge through every access route (FF client, overseas intermediary, OSBP
client, OSNBP, QFI) with each route's commission layers, FX channel, collateral and constraints
(access/data/route_costs.toml), and print the cost components, peak USD posted and hedge
effectiveness side by side, with the routes that are not open and why. With no arguments: a USD
crude buyer of 1,000,000 bbl priced off EIA Brent, hedged with INE sc on the bundled sample
market (real EIA Brent and FRED USD/CNY; the sc contracts are SIMULATED)."""


def register(sub: Any) -> None:
    """Add the ``routes`` sub-command to an argparse sub-parser collection."""
    p = sub.add_parser("routes", help="compare one hedge through every access route", description=_HELP)
    p.add_argument("--product", default="sc", choices=["sc", "i", "nr", "ru"], help="futures product")
    p.add_argument("--quantity", type=float, default=1_000_000.0, metavar="UNITS",
                   help="exposure quantity [bbl for sc, t otherwise] (default 1,000,000)")  # fmt: skip
    p.add_argument("--side", default="short", choices=["long", "short"], help="exposure side")
    p.add_argument("--kind", default="institution", choices=["institution", "individual"])
    p.add_argument("--hedging-quota", type=int, default=None, metavar="LOTS",
                   help="approved hedging quota [lots] (not applied on speculative-only routes)")  # fmt: skip
    p.add_argument("--ratio", type=float, default=1.0, help="hedge ratio [-]")
    p.add_argument("--start", default="2024-01-02", help="first trading day (default 2024-01-02)")
    p.add_argument("--end", default="2025-06-06", help="last trading day (default 2025-06-06)")
    p.add_argument("--seed", type=int, default=20260101, help="seed of the simulated sample market")
    p.add_argument(
        "--set", action="append", default=[], metavar="ROUTE.ITEM=VALUE",
        help="override a commercial input, e.g. --set overseas_intermediary.oi_markup=1.5 or "
        "--set '*.fx_spread=8 bp' (repeatable)",
    )  # fmt: skip
    p.add_argument(
        "--usd-cnh", default=None, metavar="CSV",
        help="your USD/CNH CSV: date, usd_cnh [CNY per USD]; the routes with an offshore channel (overseas "
        "intermediary, OSBP client) then convert at it (default: every route at the fixing + its spread)",
    )  # fmt: skip
    p.add_argument("--report", default=None, metavar="DIR",
                   help="also write the routes side by side as an HTML page (DIR/index.html)")  # fmt: skip
    p.set_defaults(func=_routes)


def _overrides(items: list[str]) -> dict[str, dict[str, str]]:
    out: dict[str, dict[str, str]] = {}
    for text in items:
        key, sep, value = text.partition("=")
        route, dot, item = key.strip().rpartition(".")
        if not (sep and dot and route and item):
            raise InputError(
                f"--set {text!r}; expected ROUTE.ITEM=VALUE, e.g. overseas_intermediary.oi_markup=1.5"
            )
        out.setdefault(route, {})[item] = value.strip()
    return out


def _routes(args: argparse.Namespace) -> int:
    from cnfutures.backtest import Exposure, HedgePolicy, Market
    from cnfutures.backtest.routes import compare_routes, format_comparison

    market = Market.sample(args.product, args.start, args.end, seed=args.seed)
    price = next(iter(market.prices))
    exposure = Exposure(args.quantity, args.side, price, "USD" if price == "brent" else "CNY")
    cnh = None
    if args.usd_cnh:
        from cnfutures.frames.io import read_fx

        cnh = read_fx(args.usd_cnh, columns={"usd_cnh": "usd_cny"}).rename({"usd_cny": "usd_cnh"})
    cmp = compare_routes(
        market, exposure, HedgePolicy(args.product, ratio=args.ratio), kind=args.kind,
        hedging_quota=args.hedging_quota, overrides=_overrides(args.set), start=args.start, end=args.end,
        usd_cnh=cnh,
    )  # fmt: skip
    print(f"{args.product} hedge of {args.quantity:,.0f} ({args.side}), {args.start} to {args.end}; "
          f"market: {market.label}")  # fmt: skip
    if market.simulated:
        print("NOTE: SIMULATED futures prices (seeded model), not exchange history.")
    print("costs [USD]; commercial inputs are documented defaults (access/data/route_costs.toml), "
          "override with --set")  # fmt: skip
    print(format_comparison(cmp))
    if args.report:
        print(f"report: {cmp.report(args.report)}")
    return 0
