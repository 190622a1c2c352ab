"""Shared benchmark helpers.

Each benchmark group times our function and its peers on the same inputs in one run.
Mark the roles with :func:`tag`; ``scripts/bench_ratios.py`` turns the saved JSON into a
ratio table and checks the goals. ``CNF_BENCH_QUICK=1`` selects the small CI sizes.
JIT compilation is kept out of the timed region: call the function once before timing.
"""

from __future__ import annotations

import os
from typing import Any

import pytest

QUICK = os.environ.get("CNF_BENCH_QUICK", "") not in ("", "0")


def size(full: int, quick: int) -> int:
    """Problem size: ``quick`` in CI quick mode, ``full`` otherwise."""
    return quick if QUICK else full


def tag(
    benchmark: Any,
    *,
    role: str,
    name: str,
    n: int,
    goals: dict[str, float] | None = None,
    fail_at: float | dict[str, float] = 5.0,
    max_ms: float | None = None,
) -> None:
    """Record what a benchmark measures.

    Parameters
    ----------
    benchmark : pytest-benchmark fixture
    role : {"ours", "peer"}
        Whether this is cnfutures or a peer.
    name : str
        Implementation name shown in the ratio table (e.g. ``"cnfutures"``, ``"QuantLib"``).
    n : int
        Number of items processed per call (options, rows, path-days), for per-item times.
    goals : dict, optional
        For ``role="ours"``: peer name -> goal ratio (our time / peer time must be at most).
    fail_at : float or dict
        The run fails only when a ratio exceeds ``fail_at`` × its goal (noise margin: parallel
        kernels on a shared 2-core machine swing by 2-3x under load); a dict gives it per peer
        (peers not named: 5).
    max_ms : float, optional
        An absolute goal for the median time of one call [ms], where no peer does the same job.
    """
    benchmark.extra_info.update(
        {"role": role, "impl": name, "n": int(n), "goals": goals or {}, "fail_at": fail_at}
    )
    if max_ms is not None:
        benchmark.extra_info["max_ms"] = float(max_ms)


@pytest.fixture(scope="session")
def rng() -> Any:
    import numpy as np

    return np.random.default_rng(20261127)
