"""The allocation replayed as long positions by the booking engine, route by route.

:func:`replay` books each sleeve of an :class:`~cnfutures.allocation.index.AllocationIndex` as a
long futures position with :func:`cnfutures.backtest.run` (one booking per product; the engine
is single-product): whole lots for the USD notional, the route's fees and FX channel, margin and
USD posted, position limits, limit-locked trades and rolls delayed. The target quantity of a
sleeve is set on each rebalancing day, ``q_p = W_p · NAV_USD · X / P_p`` [unit] (``P_p`` the held
price, ``X`` CNY per USD, ``NAV_USD`` the paper index's value of the notional that day) and held
between rebalancing days; the engine rounds it to whole lots and rolls on the roll rule's day.

The investable value in USD: ``V(0) = N + pnl(0)``, ``V(t) = V(t-1) · (1 + y_USD δ_t) + pnl(t)``,
``pnl = Σ_p (hedge P&L_p - costs_p + FX revaluation_p)`` with the engine's hedge P&L (variation
margin / fixing), costs (fees, FX spread, the ``funding_rate`` = ``y_USD`` + custodian fee on the
USD sent to the futures firm: the collateral yield lost on cash at the firm) and FX revaluation
of the CNY the account holds (its cash, a QFI's CNY margin). The paper index is the
USD-collateral, FX-unhedged total return of the same sleeves. The tracking difference
``paper - investable`` [USD] is split exactly into

* ``fees_usd``, ``fx_cost_usd``, ``funding_usd``: the ledgers' costs;
* ``fx_revaluation_usd``: minus the ledgers' FX revaluation of the CNY held (the paper index
  converts each day's P&L at that day's fixing; the account keeps it in CNY);
* ``whole_lots_usd``: the P&L of the fraction of a lot rounded away (the engine's variation
  margin scaled to the fractional quantity, less the booked one);
* ``sizing_usd``: the index's sleeve exposure, which follows the index value every day, against
  the quantity held between rebalancing days, on the index's own contracts and roll window;
* ``roll_and_locks_usd``: the fractional quantity on the index's contracts and ``N``-day window
  against the engine's roll on the rule's day and its trades blocked by limit locks
  (``limit_locked_days`` and ``delayed_roll_days`` are counted beside it);
* ``interest_usd``: the collateral yield on the gap between the paper and investable values.
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
from cnfutures.errors import AccessDenied, DataError, InputError

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
    ("fx_revaluation_usd", "USD, minus the FX revaluation of the CNY held at the futures firm"),
    ("whole_lots_usd", "USD, P&L of the fraction of a lot rounded away"),
    ("sizing_usd", "USD, index exposure following its value daily vs a quantity held between rebalances"),
    ("roll_and_locks_usd", "USD, the index's N-day roll window vs the engine's roll day, blocked trades"),
    ("interest_usd", "USD, collateral yield on the difference between paper and investable values"),
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


def _on_index_days(ledger: pl.DataFrame, days: list[Any], name: str) -> pl.DataFrame:
    """The engine's ledger, checked to cover exactly the index days."""
    got = ledger["trading_day"].to_list()
    if got != days:
        extra = sorted(set(got) - set(days))[:3]
        missing = sorted(set(days) - set(got))[:3]
        raise DataError(
            f"the engine's ledger for sleeve {name!r} does not cover the index days: days not in the index "
            f"{extra}, index days missing {missing}; give markets whose futures share the index's days",
            [str(d) for d in extra + missing],
        )
    return ledger


def _futures_split(
    ix: AllocationIndex, name: str, led: pl.DataFrame, paper: np.ndarray, hedge: np.ndarray, mult: float
) -> dict[str, float]:
    """Paper futures P&L - engine futures P&L of one sleeve, split three ways [USD].

    ``PP(t) = W(t-1) · V(t-1) · X(t-1) · r(t) / X(t)`` (the paper sleeve), ``PQ(t) = q(t-1) · r(t) ·
    P(t-1) / X(t)`` (the engine's fractional quantity on the paper's contracts and window),
    ``EF(t) = VM(t) · q(t-1) / (m · lots(t-1)) / X(t)`` (the engine's P&L at fractional lots; its
    own P&L on days without a position): sizing ``Σ PP - PQ``, roll and locks ``Σ PQ - EF``, whole
    lots ``Σ EF - hedge``.
    """
    s = ix.sleeves.filter(pl.col("sleeve") == name)
    r = s["sleeve_return"].to_numpy()[1:]
    w = s["weight"].to_numpy()[1:]
    price = s["held_price"].to_numpy()[:-1]
    X = led["usd_cny"].to_numpy()
    q = led["exposure_qty"].to_numpy()[:-1]
    lots = led["lots"].to_numpy()[:-1]
    vm = led["variation_margin_cny"].to_numpy()[1:]
    pp = w * paper[:-1] * X[:-1] * r / X[1:]
    pq = q * r * price / X[1:]
    ef = hedge[1:].copy()
    held = lots != 0
    ef[held] = vm[held] * q[held] / (mult * lots[held]) / X[1:][held]
    return {
        "sizing_usd": float((pp - pq).sum()),
        "roll_and_locks_usd": float((pq - ef).sum()),
        "whole_lots_usd": float((ef - hedge[1:]).sum()) - float(hedge[0]),
    }


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
        comp = dict.fromkeys(("fees_usd", "fx_cost_usd", "funding_usd", "fx_revaluation_usd",
                              "whole_lots_usd", "sizing_usd", "roll_and_locks_usd"), 0.0)  # fmt: skip
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
                led = _on_index_days(res.ledger, days, name)
                hedge = led["hedge_pnl_usd"].to_numpy()
                reval = led["fx_revaluation_usd"].to_numpy()
                pnl += hedge - led["costs_usd"].to_numpy() + reval
                posted += led["usd_posted"].to_numpy()
                comp["fees_usd"] += float((led["fees_cny"] / led["usd_cny"]).sum())
                comp["fx_cost_usd"] += float(led["fx_cost_usd"].sum())
                comp["funding_usd"] += float(led["funding_usd"].sum())
                comp["fx_revaluation_usd"] -= float(reval.sum())
                for k in counts:
                    counts[k] += res[k]
                split = _futures_split(ix, name, led, paper, hedge, _multiplier(code))
                for k, v in split.items():
                    comp[k] += v
        except AccessDenied as e:
            denied[r.value] = str(e)
            continue
        value = np.empty(len(days))
        value[0] = notional_usd + pnl[0]  # the opening day's fees
        for t in range(1, len(days)):
            value[t] = value[t - 1] * (1.0 + y * delta[t]) + pnl[t]
        td = float(paper[-1] - value[-1])
        # collateral yield earned on the paper value but not on the (lower or higher) investable value
        interest = float((y * delta[1:] * (paper[:-1] - value[:-1])).sum())
        rows.append({
            "route": r.value, "paper_usd": float(paper[-1]), "investable_usd": float(value[-1]),
            "tracking_difference_usd": td, **comp, "interest_usd": interest,
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
