"""The investable allocation over many simulated markets: a distribution of what a route delivers.

:func:`investable_risk` books each sleeve of a fixed-quantity allocation with
:func:`cnfutures.hedge_risk` (the engine over ``n_paths`` seeded simulated markets, chunk by chunk
within its memory budget) and adds the sleeves path by path. The quantity of sleeve ``p`` is set
once on the first day, ``q_p = W_p · N · X_0 / F_p,0`` [unit] (every path starts from the same
prices), and held (rolled by the default roll rule of :func:`cnfutures.allocation.default_roll`);
no rebalancing. Products are simulated independently (seed ``seed + k`` for the ``k``-th sleeve).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import polars as pl

from cnfutures._dates import DateLike
from cnfutures.errors import InputError

__all__ = ["investable_risk"]


def investable_risk(
    weights: Mapping[str, float],
    notional_usd: float,
    route: Any,
    *,
    start: DateLike,
    n_days: int | None = None,
    end: DateLike | None = None,
    n_paths: int = 1000,
    seed: int = 20260101,
    usd_rate: float = 0.0,
    kind: str = "institution",
    base_costs: Any = None,
) -> pl.DataFrame:
    """Per-path outcome of holding a long allocation through one route (SIMULATED markets).

    Parameters
    ----------
    weights : mapping of str to float
        Product -> weight [fraction of the notional], summing to 1 (long only).
    notional_usd : float [USD]
        Amount invested on the first day.
    route : str, Route or Investor
        The access route (its commissions, FX channel, collateral, limits).
    start : date or str
        First trading day.
    n_days, end
        Trading days simulated, or the last calendar date.
    n_paths : int
        Simulated paths (each product's path ``i`` does not depend on ``n_paths``).
    seed : int
        Base seed; product ``k`` (in ``weights`` order) uses ``seed + k``.
    usd_rate : float [fraction per year]
        Yield of the USD notional (the engine's funding rate on USD sent to the futures firm).
    kind : {"institution", "individual"}
        The investor's legal kind.
    base_costs : Costs, optional
        Margin buffer, release level, exchange-fee switch (default :class:`cnfutures.Costs`).

    Returns
    -------
    polars.DataFrame
        One row per path: ``path``, ``futures_pnl_usd`` (variation margin / fixing),
        ``costs_usd`` (fees, FX spread, funding), ``net_usd`` (futures P&L - costs + the USD
        yield on the notional), ``return`` [fraction of the notional], ``peak_usd_posted_sum``
        (sum of the sleeves' peaks: an upper bound of the USD at the firm), and
        ``limit_locked_days``.

    Raises
    ------
    InputError
        Weights not summing to 1, a bad notional or rate.
    AccessDenied
        The route may not hold one of the products on the start date.

    Examples
    --------
    >>> r = investable_risk({"sc": 0.5, "i": 0.5}, 1e6, "ff_client", start="2025-01-02", n_days=20,
    ...                     n_paths=4, seed=1)
    >>> r.columns[:4], r.height
    (['path', 'futures_pnl_usd', 'costs_usd', 'net_usd'], 4)
    """
    from cnfutures import simulate
    from cnfutures.access.economics import route_economics
    from cnfutures.access.investor import Investor
    from cnfutures.allocation.index import _check_weights, default_roll
    from cnfutures.backtest.costs import costs_of
    from cnfutures.backtest.model import Costs, Exposure, HedgePolicy
    from cnfutures.backtest.risk import hedge_risk
    from cnfutures.frames.roll import roll_schedule
    from cnfutures.market.products import product as get_product

    names = list(weights)
    _check_weights(weights, names, None)
    if isinstance(notional_usd, bool) or not isinstance(notional_usd, int | float) or not notional_usd > 0:
        raise InputError(f"notional_usd={notional_usd!r} must be a finite number > 0 [USD]")
    if not math.isfinite(notional_usd):
        raise InputError(f"notional_usd={notional_usd!r} must be a finite number > 0 [USD]")
    if isinstance(usd_rate, bool) or not isinstance(usd_rate, int | float) or not math.isfinite(usd_rate):
        raise InputError(f"usd_rate={usd_rate!r} must be a finite annual rate [fraction], e.g. 0.045")
    inv = route if isinstance(route, Investor) else Investor(route, kind=kind)  # type: ignore[arg-type]
    base = base_costs if base_costs is not None else Costs()
    base = dataclasses.replace(base, funding_rate=float(usd_rate))
    cols: dict[str, np.ndarray] = {}
    for k, p in enumerate(names):
        if weights[p] == 0:
            continue
        rule = default_roll(p)
        day0 = simulate.market(p, start, n_days=2, seed=seed + k, usd=True)
        d0: dt.date = day0["trading_day"][0]
        held = roll_schedule(rule, p, day0["trading_day"].unique().sort().head(1))["contract"][0]
        row = day0.filter((pl.col("trading_day") == d0) & (pl.col("contract") == held)).row(0, named=True)
        qty = float(weights[p]) * notional_usd * row["usd_cny"] / row["settle"]
        costs = costs_of(route_economics(inv, p, d0), base)
        expo, policy = Exposure(qty, "short", "spot", "CNY"), HedgePolicy(p, ratio=1.0, roll=rule)
        res = hedge_risk(expo, policy, inv, costs, start=start, n_days=n_days, end=end, n_paths=n_paths,
                         seed=seed + k, fan=False)  # fmt: skip
        t = res.paths.sort("path")
        part = {
            c: t[c].to_numpy() for c in ("hedge_pnl_usd", "costs_usd", "peak_usd_posted", "limit_locked_days")
        }
        cols = part if not cols else {c: cols[c] + v for c, v in part.items()}
    if not cols:
        raise InputError("every weight is 0; give at least one product a weight > 0")
    # simple yield on the notional over the simulated calendar span (ACT/365)
    days = simulate._days(get_product(names[0]), start, n_days, end)
    interest = notional_usd * usd_rate * (days[-1] - days[0]).days / 365.0
    net = cols["hedge_pnl_usd"] - cols["costs_usd"] + interest
    return pl.DataFrame({
        "path": np.arange(n_paths), "futures_pnl_usd": cols["hedge_pnl_usd"], "costs_usd": cols["costs_usd"],
        "net_usd": net, "return": net / notional_usd, "peak_usd_posted_sum": cols["peak_usd_posted"],
        "limit_locked_days": cols["limit_locked_days"],
    })  # fmt: skip
