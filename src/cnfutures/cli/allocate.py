"""``cnfutures allocate``: an excess/total-return allocation index, its risk, and its replay by route."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from cnfutures.errors import InputError

__all__ = ["register"]

_HELP = """Build a long-only allocation index of China's commodity futures (rolled over an N-day
window as the S&P GSCI / BCOM methodologies do; fixed, equal, inverse-volatility or
open-interest weights; excess and total return in CNY and USD) and print its return, volatility,
drawdown, roll yield by sleeve and correlation with EIA Brent. With --notional the allocation is
also booked by the engine through each access route and the tracking difference is explained.
With no --futures the bundled sample market is used (real EIA Brent and FRED USD/CNY; the
futures contracts are SIMULATED). See docs/allocation.md."""


def register(sub: Any) -> None:
    """Add the ``allocate`` sub-command to an argparse sub-parser collection."""
    p = sub.add_parser("allocate", help="allocation index of sc/i/nr/ru: return, risk, cost by route",
                       description=_HELP)  # fmt: skip
    p.add_argument(
        "--products", default="sc,i,nr,ru", help="sleeves of the sample market (default sc,i,nr,ru)"
    )
    p.add_argument("--futures", action="append", default=[], metavar="SLEEVE=PATH",
                   help="a user file of per-contract daily bars for a sleeve (cnfutures.read_futures; "
                   "repeatable); replaces the sample market")  # fmt: skip
    p.add_argument("--fx", dest="fx_file", default=None, metavar="PATH",
                   help="USD/CNY fixings file (cnfutures.read_fx; default: bundled FRED)")  # fmt: skip
    p.add_argument("--weights", default="equal",
                   help="equal, inverse_vol, open_interest, volume, or SLEEVE=W,...")  # fmt: skip
    p.add_argument("--leverage", type=float, default=None, help="stated sum of the weights (default 1)")
    p.add_argument("--cap", type=float, default=None, help="largest weight of a scheme [fraction]")
    p.add_argument("--lookback", type=int, default=252, help="estimation window of a scheme [trading days]")
    p.add_argument("--rebalance", default="annual", choices=["monthly", "quarterly", "annual", "never"])
    p.add_argument("--roll-window", type=int, default=5, help="roll window [trading days] (default 5)")
    p.add_argument("--cny-rate", type=float, default=0.0, help="yield of CNY cash [fraction/year]")
    p.add_argument("--usd-rate", type=float, default=0.0, help="yield of USD collateral [fraction/year]")
    p.add_argument("--collateral", default="USD", choices=["USD", "CNY"])
    p.add_argument("--fx-mode", default="unhedged", choices=["unhedged", "hedged"])
    p.add_argument("--hedge-cost", type=float, default=0.0, help="annual FX hedge cost [fraction/year]")
    p.add_argument("--route", default=None, help="check every product is open to this access route")
    p.add_argument("--notional", type=float, default=None, metavar="USD",
                   help="replay the allocation through each route with this USD notional")  # fmt: skip
    p.add_argument("--start", default="2023-01-03", help="first day (default 2023-01-03)")
    p.add_argument("--end", default="2025-06-06", help="last day (default 2025-06-06)")
    p.add_argument("--seed", type=int, default=20260101, help="seed of the simulated sample market")
    p.add_argument("--html", default=None, metavar="PATH", help="write the report section (HTML fragment)")
    p.set_defaults(func=_allocate)


def _weights(text: str) -> Any:
    if "=" not in text:
        return text
    out: dict[str, float] = {}
    for part in text.split(","):
        k, sep, v = part.partition("=")
        try:
            out[k.strip()] = float(v)
        except ValueError:
            raise InputError(f"--weights part {part!r}; expected SLEEVE=NUMBER, e.g. sc=0.4") from None
        if not sep:
            raise InputError(f"--weights part {part!r}; expected SLEEVE=NUMBER, e.g. sc=0.4")
    return out


def _allocate(args: argparse.Namespace) -> int:
    import polars as pl

    from cnfutures._text import frame_text
    from cnfutures.allocation import (
        allocation_section,
        build_index,
        correlation,
        performance,
        replay,
        roll_yield,
    )
    from cnfutures.backtest import Market
    from cnfutures.frames import read_futures, read_fx
    from cnfutures.frames.datasets import load_brent, load_usdcny

    markets: dict[str, Market] = {}
    if args.futures:
        futures: dict[str, pl.DataFrame] = {}
        for item in args.futures:
            name, sep, path = item.partition("=")
            if not sep or not name or not path:
                raise InputError(f"--futures {item!r}; expected SLEEVE=PATH, e.g. sc=sc_daily.csv")
            f = read_futures(path)
            futures[name.strip()] = f.collect() if isinstance(f, pl.LazyFrame) else f
        fx = read_fx(args.fx_file) if args.fx_file else load_usdcny()
        label = "user files: " + ", ".join(args.futures)
    else:
        names = [p.strip() for p in args.products.split(",") if p.strip()]
        markets = {p: Market.sample(p, args.start, args.end, seed=args.seed + k) for k, p in enumerate(names)}
        futures = {p: m.futures for p, m in markets.items()}
        fx = read_fx(args.fx_file) if args.fx_file else load_usdcny()
        label = "bundled sample market: SIMULATED futures contracts, real FRED USD/CNY"
    ix = build_index(
        futures, _weights(args.weights), roll_window=args.roll_window, rebalance=args.rebalance,
        leverage=args.leverage, cap=args.cap, lookback=args.lookback, usd_cny=fx, cny_rate=args.cny_rate,
        usd_rate=args.usd_rate, collateral=args.collateral, fx=args.fx_mode, hedge_cost=args.hedge_cost,
        route=args.route, start=args.start, end=args.end,
    )  # fmt: skip
    print(f"allocation index of {', '.join(ix.spec['sleeves'])}; {label}")
    rows = [performance(ix, c) for c in ("er_cny", "tr_cny", "er_usd", "tr_usd")]
    perf = pl.DataFrame(rows).select(
        "column", "start", "end", (pl.col("annual_return") * 100).round(2).alias("annual_return_pct"),
        (pl.col("annual_vol") * 100).round(2).alias("annual_vol_pct"),
        (pl.col("max_drawdown") * 100).round(2).alias("max_drawdown_pct"),
    )  # fmt: skip
    print(frame_text(perf))
    print("excess return by sleeve [fraction/year, log]: price change + roll yield")
    print(frame_text(roll_yield(ix), float_precision=4))
    c = correlation(ix, load_brent(), "tr_usd")
    print(f"correlation of weekly USD total returns with EIA Brent: {c['correlation']:.3f} "
          f"(beta {c['beta']:.3f}, {c['observations']} weeks)")  # fmt: skip
    result: Any = ix
    if args.notional is not None:
        if not markets:
            raise InputError(
                "--notional replays through the engine, which needs the sample market (no --futures)"
            )
        result = replay(ix, markets, args.notional)
        print(f"replay of {args.notional:,.0f} USD through each route [USD]:")
        print(frame_text(result.tracking, float_precision=0))
        for route, why in result.denied.items():
            print(f"  {route}: not open ({why[:160]}...)")
    if args.html:
        Path(args.html).write_text(allocation_section(result), encoding="utf-8")
        print(f"wrote {args.html}")
    return 0
