"""Numba compile time of every kernel module and of the first public calls, cold and warm.

Usage::

    NUMBA_CACHE_DIR=/tmp/cnf-compile python benchmarks/compile_times.py [ROW ...]
        [--warm-repeat N] [--json FILE]

Each row runs in a fresh Python subprocess, twice: **cold** with an empty numba cache
directory (everything the row needs is compiled), then **warm** with the cache that cold
run just filled (the kernels are only loaded from disk). ``NUMBA_CACHE_DIR`` names the base
directory (a temporary one when unset); every row gets its own emptied sub-directory, so
rows do not share compiled code. Module rows call the module's own ``_warmup`` (what
:func:`cnfutures.warmup` runs), timing ``import`` of the kernel module plus ``_warmup``;
call rows time the first call of a public function after ``import cnfutures`` (whose time
is reported separately as the ``import cnfutures`` row), including the import of the public
module and of numpy, polars and numba with it (that floor alone is the ``import numpy,
polars, numba`` row). ``wall`` is elapsed time, ``cpu``
the process CPU time (compilation is single-threaded, so cold ``cpu`` is the compile work,
less sensitive to other load on a shared machine). Warm times are the minimum of
``--warm-repeat`` runs.

ROW names select rows (default: all): module names (``black76``, ``implied`` ...), public
calls (``black76()``, ``implied_vol()`` ...), ``warmup()`` (:func:`cnfutures.warmup`: every
kernel in one process, where kernel modules share the helpers they have in common),
``import`` or ``deps``.

This file is a plain script, not a pytest module (pytest collects ``test_*.py`` and
``bench_*.py`` only).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

# every kernel module in src/cnfutures/_kernels/ (settlement and paths measured only)
MODULES: tuple[str, ...] = (
    "black76",
    "bachelier",
    "implied",
    "american",
    "hedge",
    "carry",
    "paths",
    "settlement",
)

# first public calls: the set-up runs before the clock starts, the call is timed
CALLS: dict[str, tuple[str, str]] = {
    "black76()": (
        "from cnfutures.pricing import black76",
        "black76(20.0, 20.0, 4 / 12, 0.09, 0.25, 'put')",
    ),
    "black76_greeks()": (
        "from cnfutures.pricing import black76_greeks",
        "black76_greeks(20.0, 20.0, 4 / 12, 0.09, 0.25, 'put')",
    ),
    "implied_vol()": (
        "from cnfutures.pricing import implied_vol",
        "implied_vol(1.1166, 20.0, 20.0, 4 / 12, 0.09, 'put')",
    ),
    "american()": (
        "from cnfutures.pricing import american",
        "american(100.0, 100.0, 0.5, 0.1, 0.25, 'put')",
    ),
    "warmup()": ("", "cnfutures.warmup()"),
    "hedge_ratio()": (
        "from cnfutures.hedging import hedge_ratio",
        "hedge_ratio([0.029, 0.020, -0.044, 0.008, 0.026], [0.021, 0.035, -0.046, 0.001, 0.044])",
    ),
}

_PRELUDE = """
import time
import numpy, numba, polars  # third-party imports are not part of any row
t0, c0 = time.perf_counter(), time.process_time()
"""
_REPORT = "\nprint(time.perf_counter() - t0, time.process_time() - c0)\n"


def _module_code(name: str) -> str:
    return (
        _PRELUDE
        + f"import importlib\nimportlib.import_module('cnfutures._kernels.{name}')._warmup()"
        + _REPORT
    )


def _call_code(setup: str, call: str) -> str:
    # the clock starts after ``import cnfutures``: the import of the public module (and of
    # numpy, polars and numba with it) is part of the first call
    return (
        "import time\nimport cnfutures\nt0, c0 = time.perf_counter(), time.process_time()\n"
        + setup
        + "\n"
        + call
        + _REPORT
    )


_START = "import time\nt0, c0 = time.perf_counter(), time.process_time()\n"
_IMPORT_CODE = _START + "import cnfutures" + _REPORT
_DEPS_CODE = _START + "import numpy, polars, numba" + _REPORT


def _run(code: str, cache: Path) -> tuple[float, float]:
    env = dict(os.environ, NUMBA_CACHE_DIR=str(cache))
    proc = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=False
    )
    if proc.returncode != 0:
        raise RuntimeError(f"subprocess failed:\n{code}\n{proc.stderr}")
    wall, cpu = proc.stdout.split()[-2:]
    return float(wall), float(cpu)


def _rows() -> dict[str, str]:
    rows = {name: _module_code(name) for name in MODULES}
    rows.update({name: _call_code(*sc) for name, sc in CALLS.items()})
    rows["import"] = _IMPORT_CODE
    rows["deps"] = _DEPS_CODE
    return rows


def main(argv: list[str] | None = None) -> int:
    """Measure the selected rows and print a markdown table; return the exit status."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("rows", nargs="*", help="rows to measure (default: all)")
    parser.add_argument("--warm-repeat", type=int, default=3, help="warm runs per row (min)")
    parser.add_argument("--json", type=Path, help="also write the results to this file")
    args = parser.parse_args(argv)
    all_rows = _rows()
    names = args.rows or list(all_rows)
    unknown = [n for n in names if n not in all_rows]
    if unknown:
        parser.error(f"unknown rows {unknown}; choose from {list(all_rows)}")
    base_env = os.environ.get("NUMBA_CACHE_DIR")
    base = Path(base_env) if base_env else Path(tempfile.mkdtemp(prefix="cnf-compile-"))
    results: dict[str, dict[str, float]] = {}
    print("| row | cold wall [s] | cold cpu [s] | warm wall [s] | warm cpu [s] |")
    print("|---|---:|---:|---:|---:|")
    for name in names:
        cache = base / name.replace("()", "_call")
        shutil.rmtree(cache, ignore_errors=True)
        cache.mkdir(parents=True)
        cold = _run(all_rows[name], cache)
        warm = min(_run(all_rows[name], cache) for _ in range(max(args.warm_repeat, 1)))
        results[name] = {"cold_wall": cold[0], "cold_cpu": cold[1], "warm_wall": warm[0], "warm_cpu": warm[1]}
        label = {"import": "import cnfutures", "deps": "import numpy, polars, numba"}.get(name, name)
        print(f"| {label} | {cold[0]:.2f} | {cold[1]:.2f} | {warm[0]:.3f} | {warm[1]:.3f} |", flush=True)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
