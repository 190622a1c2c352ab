"""Cost-of-carry kernels: fair futures value, implied convenience yield, roll yield.

Continuous compounding throughout: ``F = S exp((r + u - y) T)``.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

__all__ = [
    "fair_value",
    "fair_value_nb",
    "implied_convenience_yield",
    "implied_convenience_yield_nb",
    "roll_yield",
    "roll_yield_nb",
]

DAYS_PER_YEAR = 365.0


def fair_value(
    spot: np.ndarray, r: np.ndarray, T: np.ndarray, storage: np.ndarray,
    convenience: np.ndarray, out: np.ndarray,
) -> None:
    """``out = spot * exp((r + storage - convenience) * T)``."""
    for i in range(spot.shape[0]):
        out[i] = spot[i] * math.exp((r[i] + storage[i] - convenience[i]) * T[i])


def implied_convenience_yield(
    spot: np.ndarray, futures: np.ndarray, r: np.ndarray, T: np.ndarray, storage: np.ndarray,
    out: np.ndarray,
) -> None:
    """``out = r + storage - ln(futures / spot) / T``."""
    for i in range(spot.shape[0]):
        out[i] = r[i] + storage[i] - math.log(futures[i] / spot[i]) / T[i]


def roll_yield(
    settle: np.ndarray, ltd_days: np.ndarray, group: np.ndarray, out: np.ndarray,
    years: np.ndarray,
) -> None:
    """Roll yield from row i to row i + 1 within a group (rows sorted by group, then LTD).

    ``years[i] = (ltd[i+1] - ltd[i]) / 365`` and ``out[i] = ln(settle[i] / settle[i+1]) /
    years[i]``; NaN for the last row of each group and where the LTDs coincide.
    """
    n = settle.shape[0]
    for i in range(n):
        if i + 1 < n and group[i + 1] == group[i] and ltd_days[i + 1] > ltd_days[i]:
            y = (ltd_days[i + 1] - ltd_days[i]) / DAYS_PER_YEAR
            years[i] = y
            out[i] = math.log(settle[i] / settle[i + 1]) / y
        else:
            years[i] = math.nan
            out[i] = math.nan


fair_value_nb = njit(cache=True)(fair_value)
implied_convenience_yield_nb = njit(cache=True)(implied_convenience_yield)
roll_yield_nb = njit(cache=True)(roll_yield)


def _warmup() -> None:
    a = np.ones(2)
    out = np.empty(2)
    fair_value_nb(a, a * 0.02, a, a * 0.0, a * 0.0, out)
    implied_convenience_yield_nb(a, a, a * 0.02, a, a * 0.0, out)
    roll_yield_nb(a, np.array([0, 30], dtype=np.int64), np.zeros(2, dtype=np.int64), out,
                  np.empty(2))
