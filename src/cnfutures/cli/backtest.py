"""``cnfutures backtest``: replay a hedge on the bundled sample market or on your own files."""

from __future__ import annotations

import argparse
import sys
import time
from typing import Any

__all__ = ["register"]

_HELP = """Replay a futures hedge day by day (margin, limits, rolls, fees, USD/CNY) and write an
HTML report. With no arguments: a USD crude buyer carrying 1,000,000 bbl of unpriced monthly
cargoes, priced off EIA Brent [USD/bbl], hedged with INE sc through an OSBP client account on the
bundled sample market (real EIA Brent and FRED USD/CNY; the sc contracts are SIMULATED)."""


def _default_route(product_code: str, on: str) -> str:
    """The route used without --route: an OSBP's client where the product's exchange has
    overseas special brokers on ``on`` (the access data: INE), else an overseas intermediary."""
    from cnfutures.access import route_at_exchange
    from cnfutures.market.products import product

    return "osbp_client" if route_at_exchange("osbp_client", product(product_code).exchange, on).ok else (
        "overseas_intermediary"
    )


def register(sub: Any) -> None:
    """Add the ``backtest`` sub-command to an argparse sub-parser collection."""
    from cnfutures.access.investor import Route

    p = sub.add_parser("backtest", help="replay a hedge day by day and write a report", description=_HELP)
    p.add_argument(
        "--product", default="sc", choices=["sc", "i", "nr", "ru"], help="futures product (default sc)"
    )
    p.add_argument(
        "--route", default=None,
        choices=[r.value for r in Route],
        help="access route of the investor (default: osbp_client at INE (sc, nr), "
        "overseas_intermediary at DCE and SHFE (i, ru), which have no OSBP category)",
    )  # fmt: skip
    p.add_argument("--investor-kind", default="institution", choices=["institution", "individual"],
                   help="legal kind; individuals exit before the stage their rules forbid")  # fmt: skip
    p.add_argument(
        "--hedging-quota",
        type=int,
        default=None,
        metavar="LOTS",
        help="approved hedging quota [lots] (lifts position limits, hedging margin rate)",
    )
    p.add_argument("--quantity", type=float, default=1_000_000.0, metavar="UNITS",
                   help="exposure quantity [bbl for sc, t otherwise] (default 1,000,000)")  # fmt: skip
    p.add_argument("--side", default="short", choices=["long", "short"],
                   help="exposure side: short = a buyer hurt by rising prices (default)")  # fmt: skip
    p.add_argument(
        "--ratio", default="1.0", help="hedge ratio [-]: a number, or rolling / ewma / dcc (default 1.0)"
    )
    p.add_argument("--window", type=int, default=60, metavar="DAYS", help="estimation window [trading days]")
    p.add_argument(
        "--roll", default="calendar", choices=["calendar", "open_interest", "volume"], help="roll rule kind"
    )
    p.add_argument("--roll-days", type=int, default=5, metavar="DAYS",
                   help="calendar roll: trading days before the last trading day (default 5)")  # fmt: skip
    p.add_argument(
        "--roll-before-stage",
        default="month_before_delivery",
        metavar="STAGE",
        help="calendar roll: also roll before this stage ('none' to disable; default month_before_delivery)",
    )
    p.add_argument("--band", type=float, default=0.0, metavar="LOTS", help="rebalance band [lots]")
    p.add_argument(
        "--execution", default="settle", choices=["settle", "open", "close"], help="execution price"
    )
    p.add_argument(
        "--slippage", type=float, default=1.0, metavar="TICKS", help="slippage per lot [ticks] (default 1)"
    )
    p.add_argument(
        "--commission", type=float, default=None, metavar="CNY",
        help="override: everything paid per lot on top of the exchange fee [CNY/lot] (default: the "
        "route's commission layers, access/data/route_costs.toml)",
    )  # fmt: skip
    p.add_argument(
        "--fx-spread", type=float, default=None, metavar="FRAC",
        help="override: FX conversion spread [fraction] (default: the route's FX channel)",
    )  # fmt: skip
    p.add_argument(
        "--funding-rate", type=float, default=None, metavar="RATE",
        help="override: base USD funding rate [1/year] (default 0.05; the route's custodian fee is added)",
    )  # fmt: skip
    p.add_argument("--start", default=None, help="first trading day YYYY-MM-DD (default 2019-01-02)")
    p.add_argument(
        "--end", default=None, help="last trading day YYYY-MM-DD (default 2025-06-06, end of the FX data)"
    )
    p.add_argument("--seed", type=int, default=20260101, help="seed of the simulated sample market")
    p.add_argument(
        "--futures",
        default=None,
        metavar="CSV",
        help="your per-contract daily futures CSV: trading_day, contract, settle [CNY/unit], "
        "optional open, close [CNY/unit]",
    )
    p.add_argument(
        "--spot", default=None, metavar="CSV", help="your exposure price CSV: date, price [USD/unit]"
    )
    p.add_argument("--fx", default=None, metavar="CSV", help="your FX CSV: date, usd_cny [CNY per USD]")
    p.add_argument(
        "--report",
        default="cnfutures-report",
        metavar="DIR",
        help="report directory (default cnfutures-report/)",
    )
    p.add_argument("--no-report", action="store_true", help="print the summary only")
    p.add_argument(
        "--overwrite",
        action="store_true",
        help="replace a file at the report path that is not a cnfutures report",
    )
    p.set_defaults(func=_run)


def _progress(step: int, total: int, text: str, t0: float) -> None:
    bar = "#" * step + "." * (total - step)
    print(f"\r[{bar}] {text:<40s} {time.perf_counter() - t0:5.1f}s", end="" if step < total else "\n",
          file=sys.stderr, flush=True)  # fmt: skip


def _run(args: argparse.Namespace) -> int:
    try:
        return _run_inner(args)
    except BaseException:
        print(file=sys.stderr, flush=True)  # end the progress line before the error
        raise


def _costs(args: argparse.Namespace, investor: Any, start: str) -> Any:
    """None (the route's economics apply), or the route's costs with the flags given as overrides."""
    import dataclasses

    from cnfutures.backtest import Costs
    from cnfutures.backtest.costs import route_costs

    given = {k: getattr(args, k) for k in ("commission", "fx_spread", "funding_rate")}
    given = {k: v for k, v in given.items() if v is not None}
    if not given:
        return None
    from cnfutures.access import eligible

    eligible(investor, args.product, start).raise_if_denied()  # the route's reason before its cost rows
    base = Costs(funding_rate=given["funding_rate"]) if "funding_rate" in given else None
    c = route_costs(investor, args.product, start, base=base)
    return dataclasses.replace(c, **{k: v for k, v in given.items() if k != "funding_rate"})


def _run_inner(args: argparse.Namespace) -> int:
    from cnfutures.access import Investor
    from cnfutures.backtest import Exposure, HedgePolicy, Market, run
    from cnfutures.backtest.model import parse_ratio
    from cnfutures.backtest.report import format_value
    from cnfutures.frames.io import read_fx, read_settlements, read_spot
    from cnfutures.frames.roll import RollRule

    ratio = parse_ratio(args.ratio)
    t0 = time.perf_counter()
    total = 4
    start = args.start or "2019-01-02"
    end = args.end or "2025-06-06"
    _progress(1, total, "loading market", t0)
    if args.futures:
        base = (
            Market.sample(args.product, start, end, seed=args.seed) if not (args.spot and args.fx) else None
        )
        fut = read_settlements(args.futures)
        prices = (
            {"spot": read_spot(args.spot).select("date", "price")}
            if args.spot
            else dict(base.prices if base else {})
        )
        fx = read_fx(args.fx) if args.fx else (base.usd_cny if base else None)
        assert fx is not None
        market = Market(fut, prices, fx, simulated=False, label=f"user futures file {args.futures}")
        price_name = "spot" if args.spot else next(iter(prices))
    else:
        market = Market.sample(args.product, start, end, seed=args.seed)
        price_name = next(iter(market.prices))
    currency = "USD" if price_name == "brent" or args.spot else "CNY"
    stage = None if args.roll_before_stage in ("none", "") or args.product != "sc" else args.roll_before_stage
    policy = HedgePolicy(
        args.product, ratio=ratio,
        roll=RollRule(kind=args.roll, days_before_ltd=args.roll_days, before_stage=stage),
        band=args.band, execution=args.execution, slippage_ticks=args.slippage, window=args.window,
    )  # fmt: skip
    route = args.route or _default_route(args.product, start)
    investor = Investor(route, kind=args.investor_kind, hedging_quota=args.hedging_quota)
    costs = _costs(args, investor, start)
    exposure = Exposure(args.quantity, args.side, price_name, currency)  # type: ignore[arg-type]
    _progress(2, total, "booking day by day", t0)
    res = run(market, exposure, policy, investor, costs, start=args.start, end=args.end)
    _progress(3, total, "writing report", t0)
    path = None if args.no_report else res.report(args.report, overwrite=args.overwrite)
    _progress(4, total, "done", t0)
    print(res.title)
    print(f"market: {res.label}")
    if res.simulated:
        print("NOTE: SIMULATED futures prices (seeded model), not exchange history.")
    w = max(len(m) for m in res.summary["metric"])
    for m, v, u in res.summary.iter_rows():
        print(f"  {m:<{w}}  {format_value(v):>16}  {u}")
    print("where the net P&L came from [USD] (res.attribution()):")
    tot = res.attribution("total")
    w2 = max(len(x) for x in tot["label"])
    for label, usd in tot.select("label", "usd").iter_rows():
        print(f"  {label:<{w2}}  {format_value(usd):>16}")
    if path is not None:
        print(f"report: {path}")
    return 0
