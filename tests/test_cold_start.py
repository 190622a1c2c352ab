"""Cold start: kernels compile correctly as the first thing a fresh process does, into one cache.

Each test runs a child Python with an empty cache, so nothing compiled earlier in the test
process (or by another test) can hide a typing bug.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from cnfutures import __version__
from cnfutures._cache import cache_dir, default_cache_dir

_PARALLEL_FIRST = """
import numpy as np
from cnfutures._kernels import settlement as s
P, K, D = 20, 1, 3
st = np.full((P, K, D), 100.0); z = np.zeros((K, D)); inf = np.full((K, D), np.inf); fx = np.full((P, D), 7.0)
summ = np.zeros((P, s.N_SUMMARY))
s.book_paths_par_nb(
    s.PathArrays(st, st.copy(), st + 10.0, st - 10.0, np.ones((P, D)), fx, np.zeros((P, D))),
    s.ContractRules(z + 0.1, inf, inf, z, z.copy(), z.copy(), z.copy()),
    s.DaySchedule(np.zeros(D, np.int64), np.zeros(D, np.int64), np.zeros(D), np.full(D, 0.95)),
    s.BookParams(10.0, 0.0, 0.0, 0.0, 0.0, 0.2, 0.5, 0.05),
    s.BookOutput(np.zeros((s.N_LEDGER, D)), summ, np.zeros((P, s.N_TRACK, D))),
    None,
)
assert np.isfinite(summ).all()
print("ok", s.book_paths_nb.signatures == [])
"""


def _child(code: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=600)


def test_parallel_booking_kernel_compiles_first_on_an_empty_cache(tmp_path: Path) -> None:
    # the regression: with an empty cache, compiling book_paths_par_nb before the serial kernel
    # failed with a numba TypingError (prange index unified with an int literal as float64)
    env = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path / "cache")}
    proc = _child(_PARALLEL_FIRST, env)
    assert proc.returncode == 0, proc.stderr[-2000:]
    # "True": the serial kernel was never compiled in that process, so it cannot have helped
    assert proc.stdout.split() == ["ok", "True"]


def test_default_cache_is_the_users_cache_folder_keyed_by_versions(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "NUMBA_CACHE_DIR"}
    env["XDG_CACHE_HOME"] = str(tmp_path / "xdg")
    env["HOME"] = str(tmp_path / "home")
    code = (
        "from cnfutures._cache import cache_dir; from cnfutures._kernels import carry; carry._warmup();"
        " print(cache_dir())"
    )
    proc = _child(code, env)
    assert proc.returncode == 0, proc.stderr[-2000:]
    import numba

    expected = tmp_path / "xdg" / "cnfutures" / f"{__version__}-numba{numba.__version__}"
    assert Path(proc.stdout.strip()) == expected
    written = list(expected.rglob("*.nbi"))
    assert written, "no numba index file written to the default cache folder"
    assert all("carry" in p.name for p in written)
    # and nothing next to the package
    pkg = Path(__import__("cnfutures").__file__).parent
    assert not list(pkg.rglob("carry*.nbi"))


def test_numba_cache_dir_overrides_the_default(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NUMBA_CACHE_DIR", str(tmp_path))
    assert cache_dir() == tmp_path
    monkeypatch.delenv("NUMBA_CACHE_DIR")
    assert cache_dir() == default_cache_dir()


_CALLER = """
from numba import njit
from cnfutures._kernels import _callee_probe as callee


@njit(cache=True)
def f(x):
    return callee.g(x)
"""


def test_editing_a_called_kernel_module_invalidates_the_callers_cache(tmp_path: Path) -> None:
    """numba's own stamp covers only the caller's file, so editing a module whose function
    the caller inlines kept serving the old machine code; cnfutures' stamp covers every
    kernel source. Run in a copy of the package with two probe modules."""
    import shutil

    pkg = Path(__import__("cnfutures").__file__).parent
    root = tmp_path / "src"
    shutil.copytree(pkg, root / "cnfutures", ignore=shutil.ignore_patterns("__pycache__", "*.nbi", "*.nbc"))
    kernels = root / "cnfutures" / "_kernels"
    (kernels / "_caller_probe.py").write_text(_CALLER)
    callee = kernels / "_callee_probe.py"
    env = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path / "cache"), "PYTHONPATH": str(root)}
    code = "import cnfutures, cnfutures._kernels._caller_probe as c; print(cnfutures.__file__, c.f(1))"
    outs = []
    for body in ("x + 1", "x + 100"):
        callee.write_text(f"from numba import njit\n\n\n@njit(cache=True)\ndef g(x):\n    return {body}\n")
        proc = _child(code, env)
        assert proc.returncode == 0, proc.stderr[-2000:]
        where, value = proc.stdout.split()
        assert Path(where).parent == root / "cnfutures"
        outs.append(int(value))
    assert outs == [2, 101]  # 2 again would be the stale cached caller
