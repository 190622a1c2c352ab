"""``cnfutures validate FILE``: validate a price file and print the report.

Examples
--------
>>> import argparse
>>> p = argparse.ArgumentParser(); sub = p.add_subparsers()
>>> register(sub)
>>> p.parse_args(["validate", "x.csv", "--kind", "spot"]).kind
'spot'
"""

from __future__ import annotations

import argparse
import warnings
from typing import Any

__all__ = ["register"]

_KINDS = ("futures", "continuous", "exchange", "spot", "fx", "intraday")


def register(sub: Any) -> None:
    """Add the ``validate`` sub-command to ``sub`` (an argparse sub-parsers object)."""
    p: argparse.ArgumentParser = sub.add_parser(
        "validate",
        help="validate a price file (futures daily, continuous, exchange export, spot, FX, intraday)",
        description="Read a file into the cnfutures schema and list every problem with its row numbers.",
    )
    p.add_argument("file", help="CSV (any separator, UTF-8 or GBK) or Parquet file")
    p.add_argument("--kind", choices=_KINDS, default="futures", help="what the file holds (default: futures)")
    p.add_argument("--product", help="product code, required for --kind continuous (e.g. sc)")
    p.add_argument("--exchange", help="exchange of an --kind exchange file (INE, SHFE, DCE)")
    p.add_argument("--trading-day", help="ISO date of an exchange file without a date column")
    p.add_argument("--encoding", help="text encoding (default: UTF-8, GBK detected)")
    p.add_argument("--strict", action="store_true", help="off-tick prices are errors")
    p.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    from cnfutures.errors import InputError
    from cnfutures.frames import io as fio
    from cnfutures.frames import validate as v

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if args.kind in ("futures", "continuous"):
            if args.kind == "continuous" and not args.product:
                raise InputError("--kind continuous needs --product, e.g. --product sc")
            frame = fio.read_futures(
                args.file,
                encoding=args.encoding,
                validate=False,
                product=args.product,
                contract_column=None if args.kind == "continuous" else "contract",
            )
            rep = v.check_futures(
                frame,
                strict=args.strict,
                product=args.product,
                contract_column=None if args.kind == "continuous" else "contract",
                name=args.file,
            )
        elif args.kind == "exchange":
            if not args.exchange:
                raise InputError("--kind exchange needs --exchange (INE, SHFE or DCE)")
            frame = fio.read_exchange_daily(
                args.file, args.exchange, encoding=args.encoding, trading_day=args.trading_day, validate=False
            )
            rep = v.check_futures(frame, strict=args.strict, name=args.file)
        elif args.kind == "spot":
            rep = v.check_spot(
                fio.read_spot(args.file, encoding=args.encoding, validate=False).select("date", "price"),
                name=args.file,
            )
        elif args.kind == "fx":
            rep = v.check_fx(fio.read_fx(args.file, encoding=args.encoding, validate=False), name=args.file)
        else:
            rep = v.check_intraday(
                fio.read_intraday(args.file, encoding=args.encoding, validate=False),
                strict=args.strict,
                name=args.file,
            )
    print(rep.summary())
    return 0 if rep.ok else 1
