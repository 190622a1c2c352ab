"""Sub-command ``access``: what an investor route can trade on a date."""

from __future__ import annotations

import argparse

from cnfutures.access.investor import Investor, Route
from cnfutures.access.summary import format_access_summary
from cnfutures.errors import InputError


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``access`` sub-command to the ``cnfutures`` parser."""
    p = sub.add_parser(
        "access",
        help="products x (allowed, constraints, minimum funds, margin in USD per lot, fee, tax) for a route",
    )
    p.add_argument("route", help="investor route: " + ", ".join(r.value for r in Route))
    p.add_argument("--on", required=True, help="date (YYYY-MM-DD)")
    p.add_argument("--kind", default="institution", choices=("institution", "individual"))
    p.add_argument(
        "--price",
        action="append",
        default=[],
        metavar="PRODUCT=PRICE",
        help="price per product for the margin per lot [CNY/unit], e.g. --price sc=550 (repeatable)",
    )
    p.add_argument("--usd-cny", type=float, help="central parity [CNY per USD] for margin in USD")
    p.add_argument("--broker-addon", type=float, default=0.0, help="futures firm's margin add-on [fraction]")
    p.add_argument("--product", action="append", help="only these products (repeatable)")
    p.set_defaults(func=_access)


def _prices(items: list[str]) -> dict[str, float]:
    out: dict[str, float] = {}
    for item in items:
        code, sep, value = item.partition("=")
        try:
            out[code.strip().lower()] = float(value)
        except ValueError:
            sep = ""
        if not sep:
            raise InputError(f"--price {item!r}; expected PRODUCT=PRICE, e.g. sc=550")
    return out


def _access(args: argparse.Namespace) -> int:
    inv = Investor(args.route, kind=args.kind)
    print(
        format_access_summary(
            inv,
            args.on,
            prices=_prices(args.price),
            usd_cny=args.usd_cny,
            products_=args.product,
            broker_addon=args.broker_addon,
        )
    )
    return 0
