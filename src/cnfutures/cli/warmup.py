"""``cnfutures warmup``: compile every numba kernel now, with a progress line per module."""

from __future__ import annotations

import argparse
import os
import sys
import time
from typing import Any

__all__ = ["register"]

_HELP = """Compile (or load from the on-disk cache) every numba kernel of cnfutures now, so that
later calls start at full speed. On a cold cache this takes about a minute or two; on a warm one
well under a second per module. The cache is shared by every process (the command line, make,
your scripts): the folder is printed at the end."""


def register(sub: Any) -> None:
    """Add the ``warmup`` sub-command to an argparse sub-parser collection."""
    p = sub.add_parser("warmup", help="compile every numba kernel now (shared on-disk cache)",
                       description=_HELP)  # fmt: skip
    p.add_argument(
        "--jobs", type=int, default=min(2, os.cpu_count() or 1), metavar="N",
        help="kernel modules compiled at once in child processes (default: 2 or the core count)",
    )  # fmt: skip
    p.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    """Run the warm-up; print one progress line per module and the total time.

    Examples
    --------
    >>> import argparse
    >>> _run(argparse.Namespace(jobs=1))  # doctest: +ELLIPSIS
    [1/...] cnfutures._kernels...
    ...
    warm-up done in ... s ... cache: ...
    0
    """
    from cnfutures._cache import WarmupTiming, cache_dir, warmup_modules
    from cnfutures.errors import InputError

    if args.jobs < 1:
        raise InputError(f"--jobs {args.jobs}; accepted: a whole number >= 1")
    width = 24

    def show(t: WarmupTiming, done: int, total: int) -> None:
        filled = round(width * done / total)
        bar = "#" * filled + "." * (width - filled)
        state = f"{t.seconds:6.1f} s" if t.ok else f"FAILED: {t.message}"
        print(f"[{done}/{total}] {t.module:<32} {state}  |{bar}|", flush=True)

    t0 = time.perf_counter()
    timings = warmup_modules(jobs=args.jobs, progress=show)
    failed = [t for t in timings if not t.ok]
    total = time.perf_counter() - t0
    print(f"warm-up done in {total:.1f} s ({len(timings) - len(failed)} of {len(timings)} modules); "
          f"cache: {cache_dir()}")  # fmt: skip
    if failed:
        print(f"cnfutures: error: {len(failed)} kernel module(s) failed to compile", file=sys.stderr)
        return 2
    return 0
