"""``cnfutures options``: the option grid listed on a day, and the value of option positions."""

from __future__ import annotations

import argparse
from typing import Any

from cnfutures._text import frame_text
from cnfutures.errors import InputError

__all__ = ["register"]

_HELP = """The options listed on a trading day around each underlying's previous settlement
(strikes covering it +- 1.5 x the day's limit amount), with their expiry; with --value, the
premium, Greeks and short margin of option positions at the day's settlement."""


def register(sub: Any) -> None:
    """Add the ``options`` sub-command to an argparse sub-parser collection."""
    p = sub.add_parser("options", help="option grid listed on a day, or the value of option positions",
                       description=_HELP)  # fmt: skip
    p.add_argument("product", help="underlying product with options: sc, i, ru")
    p.add_argument("--on", required=True, help="trading day (YYYY-MM-DD)")
    p.add_argument(
        "--settle", required=True, action="append", metavar="CONTRACT=PRICE",
        help="underlying settlement: the previous day's for the grid, the day's with --value (repeatable)",
    )  # fmt: skip
    p.add_argument("--value", action="append", metavar="OPTION=LOTS", help="a position to value (repeatable)")
    p.add_argument("--sigma", type=float, help="volatility [decimal per sqrt(year)] for --value")
    p.add_argument("--r", type=float, default=0.0, help="CNY discount rate [decimal per year] (default 0)")
    p.set_defaults(func=_run)


def _pairs(items: list[str], what: str) -> dict[str, float]:
    out: dict[str, float] = {}
    for item in items:
        key, sep, val = item.partition("=")
        try:
            out[key.strip()] = float(val)
        except ValueError:
            sep = ""
        if not sep:
            raise InputError(f"{what} {item!r} is not of the form CODE=NUMBER, e.g. sc2509=480.3")
    return out


def _run(args: argparse.Namespace) -> int:
    """List the grid, or value positions.

    Examples
    --------
    >>> import argparse
    >>> ns = argparse.Namespace(product="sc", on="2025-06-03", settle=["sc2509=480.3"], value=None,
    ...                         sigma=None, r=0.0)
    >>> _run(ns)  # doctest: +ELLIPSIS
    sc options listed on 2025-06-03: 46
    ...
    0
    """
    from cnfutures.market.options import listed_options
    from cnfutures.valuation import value_options

    settles = _pairs(args.settle, "--settle")
    if args.value:
        if args.sigma is None:
            raise InputError("--value needs --sigma (the volatility to price with)")
        f = value_options(_pairs(args.value, "--value"), args.on, settles, r=args.r, sigma=args.sigma)
        cols = ("option", "lots", "expiry", "t", "price", "value", "delta_lots", "vega_cny", "theta_cny",
                "margin")  # fmt: skip
        print(frame_text(f.select(cols), float_precision=4))
        return 0
    f = listed_options(args.product, args.on, settles)
    print(f"{args.product} options listed on {args.on}: {f.height}")
    print(frame_text(f.select("option", "underlying", "kind", "strike", "expiry"), float_precision=4))
    return 0
