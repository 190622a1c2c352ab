"""``cnfutures sweep``: run a parameter sweep from a TOML grid file and rank the policies."""

from __future__ import annotations

import argparse
import sys
import time
from typing import Any

import polars as pl

from cnfutures.backtest.grid import example_grid, load_grid
from cnfutures.errors import InputError, OptionalDependencyMissing

__all__ = ["register"]

_HELP = """Run a hedge backtest at every point of a parameter grid (policy x scenarios) and print
the best policies by hedged variance and by cost. The grid file is TOML: [market] (a seeded
simulated market), [exposure], [investor], [policy], [costs], [sweep] and [grid] (lists of values
to combine). Try `cnfutures sweep --example`; `cnfutures sweep --print-example` prints that file
to start your own. Prices of the sample market are SIMULATED."""

def register(sub: Any) -> None:
    """Add the ``sweep`` sub-command to an argparse sub-parser collection."""
    p = sub.add_parser("sweep", help="backtest a grid of hedge policies and rank them", description=_HELP)
    p.add_argument("grid", nargs="?", default=None, metavar="GRID.toml", help="grid file (TOML)")
    p.add_argument("--example", action="store_true", help="run the bundled example grid")
    p.add_argument("--print-example", action="store_true", help="print the example grid file and exit")
    p.add_argument(
        "--workers", type=int, default=None, metavar="N", help="local worker processes (default: CPUs)"
    )
    p.add_argument("--serial", action="store_true", help="run in this process (no worker processes)")
    p.add_argument(
        "--scheduler", default=None, metavar="ADDRESS",
        help="run on a Dask cluster at this scheduler address (needs cnfutures[distributed])",
    )  # fmt: skip
    p.add_argument("--paths", type=int, default=None, metavar="N", help="simulated paths per point")
    p.add_argument("--out", default=None, metavar="PATH", help="also write every row to this Parquet file")
    p.add_argument("--report", default=None, metavar="DIR",
                   help="write the HTML report (ranking, cost vs variance) to this directory")  # fmt: skip
    p.add_argument("--top", type=int, default=10, metavar="N", help="rows of each ranked table (default 10)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")
    p.set_defaults(func=_run)


class _Bar:
    """A one-line progress bar on stderr."""

    def __init__(self) -> None:
        self.t0 = time.perf_counter()

    def __call__(self, done: int, total: int) -> None:
        width = 30
        fill = int(width * done / total) if total else width
        bar = "#" * fill + "." * (width - fill)
        text = f"\r[{bar}] {done}/{total} points {time.perf_counter() - self.t0:6.1f}s"
        print(text, end="\n" if done >= total else "", file=sys.stderr, flush=True)


def _table(frame: pl.DataFrame) -> str:
    from cnfutures.backtest.report import format_value

    def cell(v: Any) -> str:
        if isinstance(v, float):
            return format_value(v)
        return "" if v is None else str(v)

    rows = [[cell(v) for v in r] for r in frame.iter_rows()]
    head = frame.columns
    w = [max([len(h)] + [len(r[j]) for r in rows]) for j, h in enumerate(head)]
    lines = ["  ".join(h.rjust(w[j]) for j, h in enumerate(head))]
    lines += ["  ".join(c.rjust(w[j]) for j, c in enumerate(r)) for r in rows]
    return "\n".join(lines)


def _print(result: pl.DataFrame, top: int) -> None:
    from cnfutures.backtest.sweep import rank

    errors = result.filter(pl.col("error").is_not_null())
    scen = [c for c in ("scenario", "seed", "path") if c in result.columns]
    over = f", mean over the scenarios ({', '.join(scen)})" if scen else ""
    print(f"\nBest {top} by hedged variance of daily USD P&L [USD²] (lowest first{over}):")
    print(_table(rank(result, "hedged_variance", top=top)))
    print(f"\nBest {top} by cost: fees + FX spread + funding + slippage [USD] (lowest first{over}):")
    print(_table(rank(result, "cost", top=top)))
    if errors.height:
        first = f"point {errors['point'][0]}: {errors['error'][0]}"
        print(f"\n{errors.height} point(s) raised an error (left out of the tables), e.g. {first}")


def _run(args: argparse.Namespace) -> int:
    from cnfutures.backtest.sweep import SweepError, sweep

    if args.print_example:
        print(example_grid().read_text(encoding="utf-8"), end="")
        return 0
    if (args.grid is None) == (not args.example):
        raise InputError("give a grid file (cnfutures sweep GRID.toml) or --example, not both")
    if args.top < 1:
        raise InputError(f"--top {args.top} must be at least 1")
    spec, grid, n_paths = load_grid(example_grid() if args.example else args.grid)
    if args.paths is not None:
        n_paths = args.paths
    executor: Any = None
    if args.serial:
        executor = "serial"
    elif args.scheduler:
        try:
            from distributed import Client
        except ImportError as exc:
            raise OptionalDependencyMissing(
                'a Dask cluster needs the distributed extra: pip install "cnfutures[distributed]"'
            ) from exc
        executor = Client(args.scheduler)  # type: ignore[no-untyped-call]
    market = spec.market
    print(
        f"sweep: {spec.policy.product} hedge, {', '.join(f'{k} ({len(v)})' for k, v in grid.items())}"
        + (f", {n_paths} paths" if n_paths else "")
    )
    print(f"market: SIMULATED {market.product} {market.start} to {market.end} (seeded model, not history)")
    t0 = time.perf_counter()
    try:
        result: pl.DataFrame | pl.LazyFrame = sweep(
            spec, grid, executor=executor, n_paths=n_paths, out=args.out, workers=args.workers,
            progress=None if args.no_progress else _Bar(),
        )  # fmt: skip
    except SweepError as exc:
        _print(exc.partial, args.top)
        raise
    finally:
        if args.scheduler and executor is not None:
            executor.close()
    frame = result.collect() if isinstance(result, pl.LazyFrame) else result
    print(f"{frame.height} backtests in {time.perf_counter() - t0:.1f}s")
    failed = frame.filter(pl.col("error").is_not_null()).height if "error" in frame.columns else 0
    if frame.height and failed == frame.height:  # nothing to rank: not a success
        first = frame["error"][0]
        msg = f"every one of the {failed} sweep point(s) failed, e.g. {first}"
        print(f"cnfutures: error: {msg}", file=sys.stderr)
        return 2
    _print(frame, args.top)
    if args.out:
        print(f"\nall rows: {args.out}")
    if args.report:
        from cnfutures.report import write_sweep_report

        page = write_sweep_report(frame, args.report, top=args.top, simulated=True,
                                  title=f"Hedge policy sweep: {spec.policy.product}")  # fmt: skip
        print(f"report: {page}")
    return 0
