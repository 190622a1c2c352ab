"""The allocation replayed as long positions by the booking engine, route by route.

:func:`replay` books each sleeve of an :class:`~cnfutures.allocation.index.AllocationIndex` as a
long futures position with :func:`cnfutures.backtest.run` (one booking per product; the engine
is single-product): whole lots for the USD notional, the route's fees and FX channel, margin and
USD posted, position limits, limit-locked trades and rolls delayed. The target quantity of a
sleeve is set on each rebalancing day, ``q_p = W_p · NAV_USD · X / P_p`` [unit] (``P_p`` the held
price, ``X`` CNY per USD, ``NAV_USD`` the paper index's value of the notional that day) and held
between rebalancing days; the engine rounds it to whole lots and rolls on the roll rule's day.

The investable value in USD: ``V(t) = V(t-1) · (1 + y_USD δ_t) + Σ_p (hedge P&L_p(t) - costs_p(t))``,
with the engine's hedge P&L (variation margin / fixing) and costs (fees, FX spread, the
``funding_rate`` = ``y_USD`` + custodian fee on the USD sent to the futures firm: the collateral
yield lost on cash at the firm). The paper index is the USD-collateral, FX-unhedged total
return of the same sleeves. The tracking difference ``paper - investable`` [USD] is split into

* ``fees_usd``, ``fx_cost_usd``, ``funding_usd``: the ledger's costs (exact);
* ``whole_lots_usd``: the daily P&L of the fraction rounded away,
  ``Σ_t VM(t) · (q(t-1)/m - lots(t-1)) / lots(t-1) / X(t)`` over days a position was held;
* ``roll_sizing_locks_usd``: the rest — the engine's one-day roll vs the index's N-day window,
  a quantity held between rebalancing days (and through rolls) vs the index's exposure that
  follows its USD value every day, trades a limit lock blocked (``limit_locked_days`` and
  ``delayed_roll_days`` are counted beside it).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl

from cnfutures.access.economics import route_economics
from cnfutures.access.investor import Investor, Route, parse_route
from cnfutures.allocation.index import AllocationIndex
from cnfutures.backtest.costs import costs_of
from cnfutures.backtest.model import Costs, Exposure, HedgePolicy, Market
from cnfutures.errors import AccessDenied, InputError

__all__ = ["TRACKING_COLUMNS", "Replay", "replay"]

#: Columns of :attr:`Replay.tracking` and their units.
TRACKING_COLUMNS: tuple[tuple[str, str], ...] = (
    ("route", "access route"),
    ("paper_usd", "USD, paper index value at the end"),
    ("investable_usd", "USD, replayed value at the end"),
    ("tracking_difference_usd", "USD, paper - investable"),
    ("fees_usd", "USD, exchange fees + commission"),
    ("fx_cost_usd", "USD, conversion spread"),
    ("funding_usd", "USD, collateral yield lost on USD at the firm + custodian fee"),
    ("whole_lots_usd", "USD, P&L of the fraction of a lot rounded away"),
    (
        "roll_sizing_locks_usd",
        "USD, the rest: one-day vs N-day roll, quantity held vs daily re-sizing, limit locks",
    ),
    ("peak_usd_posted", "USD, largest net USD at the futures firm"),
    ("limit_locked_days", "days, summed over sleeves"),
    ("delayed_roll_days", "days, summed over sleeves"),
    ("limit_bound_days", "days, position/opening limit cut the target"),
)


@dataclass(frozen=True)
class Replay:
    """An allocation index and its investable replay through each route.

    Attributes
    ----------
    index : AllocationIndex
        The paper index.
    tracking : polars.DataFrame
        One row per route that could hold every sleeve: :data:`TRACKING_COLUMNS`.
    daily : polars.DataFrame
        ``trading_day``, ``route``, ``paper_usd``, ``investable_usd`` [USD].
    denied : dict of str to str
        Routes that may not hold a sleeve, with the reason.
    results : dict
        ``(route, sleeve)`` -> the engine's :class:`~cnfutures.backtest.BacktestResult`.
    """

    index: AllocationIndex
    tracking: pl.DataFrame
    daily: pl.DataFrame
    denied: dict[str, str]
    results: dict[tuple[str, str], Any]


def _quantities(ix: AllocationIndex, sleeve: str, nav: np.ndarray, days: list[Any]) -> pl.DataFrame:
    s = ix.sleeves.filter(pl.col("sleeve") == sleeve)
    reb = ix.rebalances.filter(pl.col("sleeve") == sleeve)
    at = dict(reb.select("trading_day", "target_weight").iter_rows())
    pos = {d: i for i, d in enumerate(days)}
    price = s["held_price"].to_numpy()
    fx = ix.levels["usd_cny"].to_numpy()
    rows = [(d, float(w * nav[pos[d]] * fx[pos[d]] / price[pos[d]])) for d, w in at.items()]
    return pl.DataFrame(rows, schema={"date": pl.Date, "quantity": pl.Float64}, orient="row")


def _whole_lots_usd(led: pl.DataFrame, qty: np.ndarray, mult: float) -> float:
    lots = led["lots"].to_numpy()
    vm = led["variation_margin_cny"].to_numpy()
    fx = led["usd_cny"].to_numpy()
    prev = lots[:-1]
    frac = qty[:-1] / mult
    held = prev != 0
    gap = np.zeros_like(prev, dtype=np.float64)
    gap[held] = vm[1:][held] * (frac[held] - prev[held]) / prev[held] / fx[1:][held]
    return float(gap.sum())


def replay(
    ix: AllocationIndex,
    markets: Mapping[str, Market],
    notional_usd: float,
    *,
    routes: Sequence[Route | str] | None = None,
    kind: str = "institution",
    overrides: Mapping[str, Mapping[str, Any]] | None = None,
    base_costs: Costs | None = None,
) -> Replay:
    """Replay an allocation index as long futures positions through each access route.

    Parameters
    ----------
    ix : AllocationIndex
        Built with ``usd_cny`` (USD levels), ``collateral="USD"`` and ``fx="unhedged"``.
    markets : mapping of str to Market
        Sleeve -> the :class:`~cnfutures.backtest.Market` its futures came from (the engine
        needs its prices and fixings).
    notional_usd : float [USD]
        Amount invested on the first index day.
    routes : sequence of Route or str, optional
        Routes to replay through (default: all five).
    kind : {"institution", "individual"}
        The investor's legal kind.
    overrides : mapping route -> (mapping item -> value), optional
        Commercial inputs per route, as for :func:`cnfutures.compare_routes`.
    base_costs : Costs, optional
        Margin buffer, release level and exchange-fee switch (default :class:`Costs`); the
        funding rate is set to the index's ``usd_rate`` (plus each route's custodian fee).

    Returns
    -------
    Replay

    Raises
    ------
    InputError
        An index without USD levels or not USD-collateral unhedged, a sleeve without a market,
        a notional that is not a positive finite number.
    AccessDenied
        No route can hold every sleeve.

    Examples
    --------
    >>> from cnfutures.allocation import build_index
    >>> m = Market.sample("sc", "2025-01-02", "2025-06-06")
    >>> ix = build_index({"sc": m.futures}, {"sc": 1.0}, usd_cny=m.usd_cny, usd_rate=0.04)
    >>> rp = replay(ix, {"sc": m}, 5_000_000, routes=["ff_client"])
    >>> rp.tracking.select("route").to_series().to_list()
    ['ff_client']
    """
    if not isinstance(ix, AllocationIndex):
        raise InputError(f"ix must be an AllocationIndex, got {type(ix).__name__}")
    if "tr_usd" not in ix.levels.columns:
        raise InputError("the index has no USD levels; build it with usd_cny= to replay it in USD")
    if ix.spec.get("collateral") != "USD" or ix.spec.get("fx") != "unhedged":
        raise InputError(
            f"replay compares with a USD-collateral, FX-unhedged index; this one has collateral="
            f"{ix.spec.get('collateral')!r}, fx={ix.spec.get('fx')!r}"
        )
    if isinstance(notional_usd, bool) or not isinstance(notional_usd, int | float) or not notional_usd > 0:
        raise InputError(f"notional_usd={notional_usd!r} must be a finite number > 0 [USD]")
    if not np.isfinite(notional_usd):
        raise InputError(f"notional_usd={notional_usd!r} must be a finite number > 0 [USD]")
    if kind not in ("institution", "individual"):
        raise InputError(f"kind={kind!r}; accepted: institution, individual")
    sleeves = dict(ix.spec["sleeves"])
    missing = [k for k in sleeves if k not in markets]
    if missing:
        raise InputError(
            f"markets has no Market for sleeve(s) {missing}; give one per sleeve {sorted(sleeves)}"
        )
    chosen = [parse_route(r) for r in routes] if routes is not None else list(Route)
    base = base_costs if base_costs is not None else Costs()
    base = dataclasses.replace(base, funding_rate=float(ix.spec["usd_rate"]))
    days = ix.levels["trading_day"].to_list()
    d0, d1 = days[0], days[-1]
    lv = ix.levels
    paper = notional_usd * lv["tr_usd"].to_numpy() / lv["tr_usd"][0]
    cal = lv["trading_day"].to_numpy().astype("datetime64[D]").astype(np.int64)
    delta = np.r_[0.0, np.diff(cal) / 365.0]
    y = float(ix.spec["usd_rate"])
    from cnfutures.backtest.engine import run

    rows, daily, results, denied = [], [], {}, {}
    for r in chosen:
        ovr = {**(overrides or {}).get("*", {}), **(overrides or {}).get(r.value, {})}
        try:
            inv = Investor(r, kind=kind)  # type: ignore[arg-type]
        except InputError as e:
            denied[r.value] = str(e)
            continue
        pnl = np.zeros(len(days))
        comp = dict.fromkeys(("fees_usd", "fx_cost_usd", "funding_usd", "whole_lots_usd"), 0.0)
        counts = dict.fromkeys(("limit_locked_days", "delayed_roll_days", "limit_bound_days"), 0.0)
        posted = np.zeros(len(days))
        try:
            for name, code in sleeves.items():
                m = markets[name]
                qty = _quantities(ix, name, paper, days)
                price_name = sorted(m.prices)[0]
                expo = Exposure(qty, "short", price_name)
                rule = ix.spec["roll"][name]
                costs = costs_of(route_economics(r, code, d0, ovr), base)
                res = run(m, expo, HedgePolicy(code, ratio=1.0, roll=rule), inv, costs, start=d0, end=d1)
                results[(r.value, name)] = res
                led = res.ledger.join(pl.DataFrame({"trading_day": days}), on="trading_day", how="right")
                if led["lots"].null_count():
                    raise InputError(f"the engine's ledger for sleeve {name!r} misses index days")
                pnl += (led["hedge_pnl_usd"] - led["costs_usd"]).to_numpy()
                posted += led["usd_posted"].to_numpy()
                for k in ("fees_usd", "fx_cost_usd", "funding_usd"):
                    comp[k] += res[k]
                for k in counts:
                    counts[k] += res[k]
                mult = _multiplier(code)
                comp["whole_lots_usd"] += _whole_lots_usd(led, led["exposure_qty"].to_numpy(), mult)
        except AccessDenied as e:
            denied[r.value] = str(e)
            continue
        value = np.empty(len(days))
        value[0] = notional_usd
        for t in range(1, len(days)):
            value[t] = value[t - 1] * (1.0 + y * delta[t]) + pnl[t]
        td = float(paper[-1] - value[-1])
        explained = comp["fees_usd"] + comp["fx_cost_usd"] + comp["funding_usd"] + comp["whole_lots_usd"]
        rows.append({
            "route": r.value, "paper_usd": float(paper[-1]), "investable_usd": float(value[-1]),
            "tracking_difference_usd": td, **comp, "roll_sizing_locks_usd": td - explained,
            "peak_usd_posted": float(posted.max()), **counts,
        })  # fmt: skip
        daily.append(pl.DataFrame({"trading_day": days, "route": [r.value] * len(days), "paper_usd": paper,
                                   "investable_usd": value}))  # fmt: skip
    if not rows:
        raise AccessDenied(
            "no route can hold every sleeve: " + "; ".join(f"{k}: {v}" for k, v in denied.items())
        )
    tracking = pl.DataFrame(rows).select([c for c, _ in TRACKING_COLUMNS])
    return Replay(ix, tracking, pl.concat(daily), denied, results)


def _multiplier(code: str) -> float:
    """Contract size of a product [unit per lot]."""
    from cnfutures.market.products import product

    return float(product(code).multiplier)
