"""Sub-commands ``specs``, ``calendar``, ``contracts`` and ``rules``."""

from __future__ import annotations

import argparse
import datetime as dt
from typing import Any

import polars as pl

from cnfutures._text import frame_text
from cnfutures.market import rules
from cnfutures.market.calendar import calendar
from cnfutures.market.contracts import listed_contracts
from cnfutures.market.products import product, products


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the market sub-commands to the ``cnfutures`` parser."""
    p = sub.add_parser("specs", help="contract specifications of one or all products")
    p.add_argument("product", nargs="?", help="product code (sc, i, nr, ru, lu, bc); all when omitted")
    p.add_argument("--on", help="date for the rule values shown (YYYY-MM-DD; default: 2025-06-27)")
    p.set_defaults(func=_specs)

    c = sub.add_parser("calendar", help="trading days of a year, with night sessions")
    c.add_argument("year", type=int, help="calendar year, e.g. 2026")
    c.add_argument("--exchange", default="INE", help="INE, SHFE or DCE (default INE)")
    c.add_argument("--month", type=int, help="only this month (1-12)")
    c.add_argument("--product", help="product whose night session is shown (default: the exchange's first)")
    c.set_defaults(func=_calendar)

    k = sub.add_parser("contracts", help="contracts listed on a date, with last trading day and stage")
    k.add_argument("product", help="product code")
    k.add_argument("--on", required=True, help="trading day (YYYY-MM-DD)")
    k.set_defaults(func=_contracts)

    r = sub.add_parser(
        "rules",
        help="the rules in force on a day, with their sources",
        description="Every rule row in force for a product's listed contracts on a trading day: margins "
        "(speculative and hedging), price limits, fees, position, opening and order limits, grouped by "
        "the contracts they apply to, with when each row took effect, when a temporary row ends, its "
        "source and whether it is verified.",
    )
    r.add_argument("product", help="product code (sc, i, nr, ru, lu, bc)")
    r.add_argument("--on", required=True, help="trading day (YYYY-MM-DD)")
    r.add_argument("--rules", metavar="TOML", help="your own rule rows layered over the bundled ones")
    r.set_defaults(func=_rules)


def _specs(args: argparse.Namespace) -> int:
    on = args.on or "2025-06-27"
    chosen = [product(args.product)] if args.product else products()
    rows = []
    for p in chosen:
        cal = calendar(p.exchange)
        day = cal.require_trading_day(on, "--on") if cal.is_trading_day(on) else cal.previous_trading_day(on)
        listed = listed_contracts(p, day) if (p.listed is None or day >= p.listed) else []
        general = [c for c in listed if c.stage(day) == "general"]
        near = general[0] if general else (listed[0] if listed else None)
        margin = limit = fee_text = "-"
        if near is not None:
            try:
                margin = f"{rules.margin_rate(near, day).value:.0%}"
                limit = f"±{rules.price_limit(near, day).rate:.0%}"
                f = rules.fee(near, day)
                fee_text = f"{f.open:g}/lot" if f.basis == "per_lot" else f"{f.open * 1e4:g}/10k"
            except Exception as exc:
                margin = limit = fee_text = f"n/a ({type(exc).__name__})"
        night = p.night_session(day)
        rows.append(
            {
                "code": p.code,
                "exchange": p.exchange,
                "name": p.name,
                "multiplier": f"{p.multiplier:g} {p.unit}/lot",
                "tick": f"{p.tick:g} {p.quote_unit}",
                "tax incl.": "yes" if p.tax_inclusive else "no",
                "night": f"{night.open:%H:%M}-{night.close:%H:%M}" if night else "-",
                "foreign since": str(p.foreign_open)
                if p.foreign_open
                else "QFI only"
                if p.code == "ru"
                else "-",
                "contract": near.code if near else "-",
                f"margin {day}": margin,
                "limit": limit,
                "fee": fee_text,
                "verified": "yes" if p.verified else f"no: {', '.join(p.unverified)}",
            }
        )
    print(frame_text(pl.DataFrame(rows)))
    return 0


def _calendar(args: argparse.Namespace) -> int:
    cal = calendar(args.exchange)
    prod = args.product or {"INE": "sc", "SHFE": "ru", "DCE": "i"}[cal.exchange]
    if args.month:
        start = dt.date(args.year, args.month, 1)
        end = (start + dt.timedelta(days=32)).replace(day=1) - dt.timedelta(days=1)
    else:
        start, end = dt.date(args.year, 1, 1), dt.date(args.year, 12, 31)
    days = cal.trading_days(start, end).to_list()
    label = f"{args.year}-{args.month:02d}" if args.month else str(args.year)
    print(f"{cal.exchange} trading days in {label}: {len(days)}")
    rows = []
    for d in days:
        s = cal.sessions(d, prod)
        night = s.filter(pl.col("session") == "night")
        rows.append(
            {
                "trading_day": str(d),
                "weekday": f"{d:%a}",
                f"night ({prod})": (
                    f"{night['open'][0]:%m-%d %H:%M} - {night['close'][0]:%m-%d %H:%M}"
                    if night.height
                    else "none"
                ),
            }
        )
    print(frame_text(pl.DataFrame(rows)))
    return 0


def _contracts(args: argparse.Namespace) -> int:
    p = product(args.product)
    cal = calendar(p.exchange)
    day = cal.require_trading_day(args.on, "--on")
    rows = []
    for c in listed_contracts(p, day):
        try:
            ltd = str(c.last_trading_day)
        except Exception:
            ltd = "beyond calendar"
        rows.append(
            {
                "contract": c.code,
                "listed": str(c.first_trading_day),
                "last_trading_day": ltd,
                "stage": c.stage(day),
            }
        )
    print(f"{p.code} contracts listed on {day}: {len(rows)}")
    print(frame_text(pl.DataFrame(rows)))
    return 0


def _rules(args: argparse.Namespace) -> int:
    """Print the rule rows in force on a day, grouped by the contracts they decide.

    Examples
    --------
    >>> _rules(argparse.Namespace(product="i", on="2025-06-03", rules=None))  # doctest: +ELLIPSIS
    i rules in force on 2025-06-03 (DCE), 12 listed contracts
    margin (speculative) 20 %         i2506  from trading day 2013-10-18  [UNVERIFIED] ...
    margin (speculative) 11 %         i2507..i2605 (11 contracts)  from the settlement of 2024-12-06 ...
    ...
    0
    """
    p = product(args.product)
    cal = calendar(p.exchange)
    day = cal.require_trading_day(args.on, "--on")
    book = rules.RuleBook.default()
    if args.rules:
        book = book.with_file(args.rules)
    codes = [c.code for c in listed_contracts(p, day)]
    print(f"{p.code} rules in force on {day} ({p.exchange}), {len(codes)} listed contracts")
    shown: tuple[tuple[str, str, dict[str, Any], str], ...] = (
        ("margin (speculative)", "margin", {"hedge": False}, "%"),
        ("margin (hedging)", "margin", {"hedge": True}, "%"),
        ("price limit", "price_limit", {}, "±%"),
        ("first-day multiplier", "first_day_limit_multiplier", {}, "x"),
        ("fee", "fee", {}, "fee"),
        ("position limit", "position_limit", {}, "lots"),
        ("position limit (individuals)", "position_limit", {"holder": "individual"}, "lots"),
        ("opening limit", "open_limit", {}, "lots"),
        ("max order size", "max_order", {}, "lots"),
    )
    for label, par, kw, unit in shown:
        comp = book.rules.compile(par, codes, [day], **kw)
        groups: dict[int, list[str]] = {}
        for k, code in enumerate(codes):
            groups.setdefault(int(comp.row[k, 0]), []).append(code)
        for i, members in groups.items():
            n = len(members)
            span = members[0] if n == 1 else f"{members[0]}..{members[-1]} ({n} contracts)"
            if i < 0:
                print(f"{label:<20} none         {span}")
                continue
            r = comp.rows[i]
            if unit == "fee":
                assert r.fee is not None
                per = "CNY/lot" if r.fee[0] == "per_lot" else "of turnover"
                val = f"{r.fee[1]:g}/{r.fee[2]:g}/{r.fee[3]:g} {per} (open/close/close today)"
            elif unit in ("%", "±%"):
                val = f"{unit[:-1]}{r.value * 100:g} %"
            elif unit == "x":
                val = f"{r.value:g}x"
            else:
                val = f"{r.value:g} lots"
            when = ("from the settlement of " if r.timing == "settlement" else "from trading day ") + str(
                r.effective
            )
            if r.until == "reopen":
                when += ", until the settlement of the first unlocked trading day after the holiday"
            elif r.until is not None:
                when += f", until {r.until}"
            flag = "verified" if r.verified else "UNVERIFIED"
            print(f"{label:<20} {val:<12} {span}  {when}  [{flag}] source: {r.source}")
    return 0
