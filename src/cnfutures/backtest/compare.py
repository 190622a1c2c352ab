"""Several hedge policies replayed on one market, side by side in one table."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

import polars as pl

from cnfutures._dates import DateLike
from cnfutures.errors import InputError

if TYPE_CHECKING:  # pragma: no cover
    from cnfutures.access import Investor
    from cnfutures.backtest.model import Costs, Exposure, HedgePolicy, Market
    from cnfutures.backtest.result import BacktestResult

__all__ = ["compare", "compare_results"]


def compare_results(results: Mapping[str, BacktestResult]) -> pl.DataFrame:
    """One table of the summaries of several backtests: ``metric``, ``unit``, one column per name.

    A metric only some runs have (the option metrics of a policy with option legs) is null
    for the others.

    Examples
    --------
    >>> from cnfutures.backtest import BacktestResult
    >>> a = BacktestResult(pl.DataFrame(), pl.DataFrame({"metric": ["x"], "value": [1.0], "unit": ["USD"]}))
    >>> compare_results({"a": a, "b": a}).row(0)
    ('x', 'USD', 1.0, 1.0)
    """
    if not results:
        raise InputError("compare_results needs at least one result")
    names = list(results)
    order: dict[str, str] = {}
    for r in results.values():
        for m, u in r.summary.select("metric", "unit").iter_rows():
            order.setdefault(m, u)
    out = pl.DataFrame({"metric": list(order), "unit": list(order.values())})
    for name in names:
        s = results[name].summary.select("metric", pl.col("value").alias(name))
        out = out.join(s, on="metric", how="left", maintain_order="left")
    return out


def compare(
    market: Market,
    exposure: Exposure,
    policies: Mapping[str, HedgePolicy],
    investor: Investor,
    costs: Costs | None = None,
    *,
    start: DateLike | None = None,
    end: DateLike | None = None,
) -> pl.DataFrame:
    """Replay several hedge policies (e.g. futures only vs a collar) on one market; one table.

    Parameters
    ----------
    market, exposure, investor, costs, start, end
        As for :func:`cnfutures.backtest.run`, shared by every policy.
    policies : mapping of str to HedgePolicy
        Column name -> policy.

    Returns
    -------
    polars.DataFrame
        ``metric``, ``unit`` and one column of values per policy (:func:`compare_results`).

    Raises
    ------
    InputError
        No policy; any error of :func:`cnfutures.backtest.run` for one of them.

    Examples
    --------
    >>> from cnfutures.access import Investor
    >>> from cnfutures.backtest import Exposure, HedgePolicy, Market, collar
    >>> m = Market.sample("sc", "2025-02-03", "2025-06-06")
    >>> t = compare(m, Exposure(500_000, "short", "brent"), {"futures": HedgePolicy("sc"),
    ...     "collar": HedgePolicy("sc", ratio=0.0, options=collar(), option_vol=0.35)}, Investor("qfi"),
    ...     start="2025-03-03")
    >>> t.columns, t.filter(pl.col("metric") == "option_pnl_usd")["futures"][0] is None
    (['metric', 'unit', 'futures', 'collar'], True)
    """
    from cnfutures.backtest.engine import run

    if not policies:
        raise InputError("compare needs at least one policy, e.g. {'futures': HedgePolicy('sc')}")
    results = {
        name: run(market, exposure, p, investor, costs, start=start, end=end) for name, p in policies.items()
    }
    return compare_results(results)
