"""The ``cnfutures`` command line.

One package, a module per area of sub-commands (``cnfutures.cli.market``: ``specs``,
``calendar``, ``contracts``, ``rules``; ``cnfutures.cli.backtest``, ``.access``, ``.frames``,
``.sweep``, ``.risk``, ``.warmup``, ``.options``, ``.routes``, ``.allocate``), each with a
``register(subparsers)`` function; this module only assembles them. The library's packages
keep functions, not argument parsing.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from cnfutures import __version__
from cnfutures.errors import CnFuturesError

COMMAND_MODULES: tuple[str, ...] = (
    "cnfutures.cli.backtest",
    "cnfutures.cli.market",
    "cnfutures.cli.access",
    "cnfutures.cli.frames",
    "cnfutures.cli.sweep",
    "cnfutures.cli.risk",
    "cnfutures.cli.warmup",
    "cnfutures.cli.options",
    "cnfutures.cli.routes",
    "cnfutures.cli.allocate",
)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every available sub-command.

    Examples
    --------
    >>> "specs" in build_parser().format_help()
    True
    """
    parser = argparse.ArgumentParser(
        prog="cnfutures",
        description=(
            "Hedge China's onshore commodity futures (INE sc/nr, DCE i, SHFE ru) as a foreign "
            "investor: market rules as data, pricing and hedging, day-by-day hedge backtests."
        ),
    )
    parser.add_argument("--version", action="version", version=f"cnfutures {__version__}")
    parser.add_argument("--debug", action="store_true", help="show the full traceback of an error")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name is not None and name.startswith(exc.name):
                continue  # that area's commands are not part of this build
            raise
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``cnfutures`` command; returns the exit status.

    A cnfutures error, or an operating-system error on a file the user named (not found,
    permission denied, disk full), prints one line on stderr (no traceback unless
    ``--debug``) and exits with status 2.

    Examples
    --------
    >>> main(["calendar", "2026", "--exchange", "DCE", "--month", "10"])  # doctest: +ELLIPSIS
    DCE trading days in 2026-10: 17
    ...
    0
    """
    parser = build_parser()
    args = parser.parse_args(list(argv) if argv is not None else None)
    if getattr(args, "func", None) is None:
        parser.print_help()
        return 1
    try:
        return int(args.func(args) or 0)
    except (CnFuturesError, OSError) as exc:
        if getattr(args, "debug", False):
            raise
        text = " ".join(str(exc).split())  # one line, even for multi-line validation reports
        print(f"cnfutures: error: {text} (--debug for the traceback)", file=sys.stderr)
        return 2
