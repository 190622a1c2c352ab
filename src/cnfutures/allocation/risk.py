"""The investable allocation over many simulated markets: a distribution of what a route delivers.

:func:`investable_risk` books each sleeve of a fixed-quantity allocation with
:func:`cnfutures.hedge_risk` (the engine over ``n_paths`` seeded simulated markets, chunk by chunk
within its memory budget) and adds the sleeves path by path. The quantity of sleeve ``p`` is set
once on the first day, ``q_p = W_p · N · X_0 / F_p,0`` [unit] (every path starts from the same
prices), and held (rolled by the default roll rule of :func:`cnfutures.allocation.default_roll`);
no rebalancing.

The products are simulated together (:func:`cnfutures.simulate.markets`): their factor shocks
have the stated correlation ``corr`` (required) and every path has one USD/CNY path shared by
all sleeves; product ``k`` draws from seed ``seed + k``. Each sleeve is booked by the
backtester's kernel exactly as :func:`cnfutures.hedge_risk` books it (same preparation, slots
and chunked market arrays), chunk of paths by chunk of paths.
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
    corr: object,
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
        Base seed; product ``k`` (in ``weights`` order) draws from ``seed + k``.
    usd_rate : float [fraction per year]
        Yield of the USD notional (the engine's funding rate on USD sent to the futures firm).
    kind : {"institution", "individual"}
        The investor's legal kind.
    base_costs : Costs, optional
        Margin buffer, release level, exchange-fee switch (default :class:`cnfutures.Costs`).
    corr : "independent", mapping, array-like or estimate
        Required, no default: the correlation of the products' short-term shocks (see
        :func:`cnfutures.simulate.markets`), over the products of ``weights``.

    Returns
    -------
    polars.DataFrame
        One row per path: ``path``, ``futures_pnl_usd`` (variation margin / fixing),
        ``costs_usd`` (fees, FX spread, funding), ``net_usd`` (futures P&L - costs + FX
        revaluation + the USD yield on the notional), ``return`` [fraction of the notional],
        ``peak_usd_posted_sum`` (sum of the sleeves' peaks: an upper bound of the USD at the
        firm), ``limit_locked_days`` and ``fx_revaluation_usd`` (the FX revaluation of the CNY
        the accounts hold, :mod:`cnfutures._kernels.settlement`).

    Raises
    ------
    InputError
        Weights not summing to 1, a bad notional or rate, a missing or invalid ``corr``.
    AccessDenied
        The route may not hold one of the products on the start date.

    Examples
    --------
    >>> r = investable_risk({"sc": 0.5, "i": 0.5}, 1e6, "ff_client", start="2025-01-02", n_days=20,
    ...                     n_paths=4, seed=1, corr={("sc", "i"): 0.3})
    >>> r.columns[:4], r.height
    (['path', 'futures_pnl_usd', 'costs_usd', 'net_usd'], 4)
    """
    from cnfutures import simulate
    from cnfutures.access.economics import route_economics
    from cnfutures.access.investor import Investor
    from cnfutures.allocation.index import _check_weights, default_roll
    from cnfutures.backtest.costs import costs_of
    from cnfutures.backtest.model import Costs, Exposure, HedgePolicy
    from cnfutures.frames.roll import roll_schedule
    from cnfutures.validation import check_correlation

    names = list(weights)
    _check_weights(weights, names, None)
    if isinstance(notional_usd, bool) or not isinstance(notional_usd, int | float) or not notional_usd > 0:
        raise InputError(f"notional_usd={notional_usd!r} must be a finite number > 0 [USD]")
    if not math.isfinite(notional_usd):
        raise InputError(f"notional_usd={notional_usd!r} must be a finite number > 0 [USD]")
    if isinstance(usd_rate, bool) or not isinstance(usd_rate, int | float) or not math.isfinite(usd_rate):
        raise InputError(f"usd_rate={usd_rate!r} must be a finite annual rate [fraction], e.g. 0.045")
    if isinstance(n_paths, bool) or not isinstance(n_paths, int) or n_paths < 1:
        raise InputError(f"n_paths={n_paths!r} must be a positive integer")
    low = simulate._cholesky_psd(check_correlation(corr, names))
    inv = route if isinstance(route, Investor) else Investor(route, kind=kind)  # type: ignore[arg-type]
    base = base_costs if base_costs is not None else Costs()
    base = dataclasses.replace(base, funding_rate=float(usd_rate))
    sus = simulate.joint_setup(names, start, n_days, end)
    path0 = simulate.draw_joint(sus, low, seed, 0, 1)  # path 0: fixes quantities and schedules
    sleeves: list[_Sleeve] = []
    for k, (p, su) in enumerate(zip(names, sus, strict=True)):
        if weights[p] == 0:
            continue
        rule = default_roll(p)
        f0 = simulate.frame(su, path0[k], usd=True)
        d0: dt.date = su.days[0]
        held = roll_schedule(rule, p, su.days.head(1))["contract"][0]
        row = f0.filter((pl.col("trading_day") == d0) & (pl.col("contract") == held)).row(0, named=True)
        qty = float(weights[p]) * notional_usd * row["usd_cny"] / row["settle"]
        costs = costs_of(route_economics(inv, p, d0), base)
        expo, policy = Exposure(qty, "short", "spot", "CNY"), HedgePolicy(p, ratio=1.0, roll=rule)
        sleeves.append(_sleeve(k, su, f0, expo, policy, inv, costs, seed, n_paths))
    if not sleeves:
        raise InputError("every weight is 0; give at least one product a weight > 0")
    cols = _book_sleeves(sleeves, sus, low, seed, n_paths)
    # simple yield on the notional over the simulated calendar span (ACT/365)
    days = sus[0].days
    interest = notional_usd * usd_rate * (days[-1] - days[0]).days / 365.0
    net = cols["hedge_pnl_usd"] - cols["costs_usd"] + cols["fx_revaluation_usd"] + interest
    return pl.DataFrame({
        "path": np.arange(n_paths), "futures_pnl_usd": cols["hedge_pnl_usd"], "costs_usd": cols["costs_usd"],
        "net_usd": net, "return": net / notional_usd, "peak_usd_posted_sum": cols["peak_usd_posted"],
        "limit_locked_days": cols["limit_locked_days"], "fx_revaluation_usd": cols["fx_revaluation_usd"],
    })  # fmt: skip


@dataclasses.dataclass
class _Sleeve:
    """One sleeve prepared for booking over simulated paths (the set-up of :func:`hedge_risk`)."""

    k: int
    su: Any
    prep: Any
    cells: Any
    base: Any
    exposure: Any
    policy: Any
    dense: Any
    per_path: int


def _sleeve(
    k: int,
    su_all: Any,
    f0: pl.DataFrame,
    expo: Any,
    policy: Any,
    inv: Any,
    costs: Any,
    seed: int,
    n_paths: int,
) -> _Sleeve:
    """Prepare sleeve ``k`` as :func:`cnfutures.hedge_risk` prepares its policy (schedule from path 0)."""
    from cnfutures._kernels import settlement as ks
    from cnfutures.backtest import risk as br
    from cnfutures.backtest.engine import prepare

    label = f"SIMULATED {policy.product} market (joint), {n_paths} paths, seed {seed}"
    prep = prepare(br._template_market(f0, label), expo, policy, inv, costs)
    su = su_all.restrict(prep.contracts)
    K, D = len(prep.contracts), prep.days.len()
    if n_paths * D > br.MAX_PATH_DAYS:
        raise InputError(
            f"n_paths={n_paths:,} x {D:,} trading days = {n_paths * D:,} path-days per sleeve, above the "
            f"cap of {br.MAX_PATH_DAYS:,} of cnfutures.hedge_risk"
        )
    kmap = {c: i for i, c in enumerate(prep.contracts)}
    row_k = su.rows["contract"].replace_strict(kmap, return_dtype=pl.Int64).to_numpy()
    slots = br._slots(prep.inputs.schedule.target_k, row_k, su.row_day, K, D)
    keep = slots.occ[slots.slot_of[row_k], su.row_day] == row_k
    cells = br._Cells(keep, slots.slot_of[row_k][keep], su.row_day[keep], slots.occ.shape[0], D)
    base = br._slot_inputs(prep.inputs, slots)
    per_path = 8 * (4 * cells.S * D + 6 * su.rows.height + (12 + ks.N_TRACK) * D)
    return _Sleeve(k, su, prep, cells, base, expo, policy, br._Buffers(), per_path)


def _book_sleeves(
    sleeves: list[_Sleeve], sus: list[Any], low: np.ndarray, seed: int, n_paths: int
) -> dict[str, np.ndarray]:
    """Book every sleeve on jointly simulated paths, chunk by chunk; per-path metrics summed."""
    from cnfutures import simulate
    from cnfutures._kernels import settlement as ks
    from cnfutures.backtest import risk as br
    from cnfutures.backtest.engine import book
    from cnfutures.backtest.layout import path_metrics
    from cnfutures.errors import DataError

    # the held contracts of each sleeve are simulated (a zero-weight product keeps its full
    # set-up: its draws still enter the mix of the others)
    run = list(sus)
    for s in sleeves:
        run[s.k] = s.su
    chunk = max(1, min(n_paths, br.MEMORY_BUDGET // sum(s.per_path for s in sleeves)))
    want = ("hedge_pnl_usd", "costs_usd", "peak_usd_posted", "limit_locked_days", "fx_revaluation_usd")
    tot = {c: np.zeros(n_paths) for c in want}
    ohlc = any(s.policy.execution != "settle" for s in sleeves)
    for p0 in range(0, n_paths, chunk):
        P = min(chunk, n_paths - p0)
        outs = simulate.draw_joint(run, low, seed, p0, P, ohlc=ohlc)
        for s in sleeves:
            prm = s.su.params
            market = br._chunk_market(
                outs[s.k], s.cells, s.dense, s.prep, s.base, s.exposure, s.policy, prm.basis
            )
            trk = s.dense.get("track", (P, ks.N_TRACK, s.cells.D), 0.0)
            _, summ = book(s.base._replace(market=market), ledger=False, track=trk)
            bad = ~np.isfinite(summ[:, ks.S_NET])
            if bad.any():
                raise DataError(
                    f"{s.policy.product} path {p0 + int(np.argmax(bad))}: a roll delayed by limit locks ran "
                    "past the held contract's last trading day; the sleeve cannot be booked",
                    [f"path {p0 + i}" for i in np.flatnonzero(bad)[:10]],
                )
            m = path_metrics(summ, trk[:, ks.T_CUM_NET, 0], s.cells.D)
            for c in want:
                tot[c][p0 : p0 + P] += np.asarray(m[c], dtype=np.float64)
    return tot
