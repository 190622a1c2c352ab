"""The one rule for "the row in force on a date" of the small dated tables outside the rule table.

Sessions, collateral haircuts, access minimums and similar reference rows are dated by an
``effective`` day (and optionally an ``until`` day, the first day no longer covered). The row
in force on a day is the one with the latest ``effective`` on or before it, among the rows
that match; :class:`cnfutures.market.ruletable.RuleTable` applies the same rule per scope
class for the market rules. Every module resolves dated rows through these two functions.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import numpy as np

__all__ = ["asof_index", "in_force"]

Row = Any  # a mapping with "effective" (and "until") keys, or an object with those attributes


def in_force(
    rows: Iterable[Row],
    on: dt.date,
    *,
    where: Callable[[Row], bool] | None = None,
    rank: Callable[[Row], Any] | None = None,
) -> Row | None:
    """The row in force on ``on``: latest ``effective`` on or before it (None if none).

    Parameters
    ----------
    rows : iterable of mappings or objects
        Each with ``effective`` (a date) and optionally ``until`` (first day not covered), as
        keys or attributes.
    on : datetime.date
    where : callable, optional
        Keep only the rows for which it is true (e.g. the exchange or product).
    rank : callable, optional
        A specificity key compared before ``effective`` (higher wins), e.g. a product-specific
        row over a ``"*"`` row.

    Examples
    --------
    >>> rows = [{"effective": dt.date(2020, 1, 1), "v": 1}, {"effective": dt.date(2021, 1, 1), "v": 2}]
    >>> in_force(rows, dt.date(2020, 6, 1))["v"], in_force(rows, dt.date(2019, 1, 1))
    (1, None)
    """
    best: Row | None = None
    best_key: tuple[Any, dt.date] | None = None
    for r in rows:
        eff = r["effective"] if isinstance(r, Mapping) else r.effective
        if eff > on or (where is not None and not where(r)):
            continue
        until = r.get("until") if isinstance(r, Mapping) else getattr(r, "until", None)
        if isinstance(until, dt.date) and on >= until:
            continue
        key = (rank(r) if rank is not None else 0, eff)
        if best_key is None or key > best_key:
            best, best_key = r, key
    return best


def asof_index(effective: np.ndarray, days: np.ndarray) -> np.ndarray:
    """For each day, the index of the latest ``effective`` on or before it (-1 before the first).

    Parameters
    ----------
    effective : numpy.ndarray of int64 [days since 1970-01-01], ascending
    days : numpy.ndarray of int64 [days since 1970-01-01]

    Examples
    --------
    >>> asof_index(np.array([10, 20]), np.array([5, 10, 15, 25])).tolist()
    [-1, 0, 0, 1]
    """
    out: np.ndarray = np.searchsorted(effective, days, side="right") - 1
    return out
