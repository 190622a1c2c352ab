"""Where the money went: an exact daily attribution of a backtest's net P&L.

Every day's net P&L [USD] of the ledger (``exposure + hedge - costs``) is split into the
components of :data:`COMPONENTS`; they add up to ``net_pnl_usd`` on every day (to float
rounding, far below a cent), because each is computed from the same settlement, execution
and FX arrays the booking kernel read and the pieces of each formula telescope:

* **exposure**: ``sign × q_{d-1} × ΔP`` converted at the day's USD/CNY (``exposure_price_usd``);
  for an exposure priced in CNY the change of the USD value of yesterday's price is
  ``exposure_fx_usd``.
* **hedge** (the variation margin ``VM_d`` [CNY] over ``FX_d``), with ``L`` the lots carried
  in, ``S`` settlements, ``B`` the exposure's price in CNY/unit (``P × FX`` for a USD price):

  - ``hedge_benchmark_usd``: ``L × m × ΔB`` — what the futures would have made moving with
    the exposure's price (for a USD price: ``L × m × ΔP`` in USD, and the CNY leg of
    ``ΔB`` is ``hedge_fx_usd = L × m × P_{d-1} × ΔFX / FX_d``);
  - ``hedge_basis_usd``: ``L × m × Δ(S_held - B)`` — the change of the basis of the
    contract held (as a chart of the held contract reads it);
  - ``hedge_roll_usd``: ``L × m × (S_old - S_new)`` on a roll day — the price gap between
    the contract closed and the one opened (the roll yield: a long hedge earns it in
    backwardation, a short one pays it);
  - ``hedge_execution_usd``: ``lots traded × (S - execution price)`` (0 at settlement);
  - ``hedge_slippage_usd``: minus the slippage paid.
* **costs** (negative): exchange fees, the futures-firm commission (the intermediary's
  mark-up per lot, incl. a route's commission layers), the FX conversion cost (spread, a route
  channel's rate vs the fixing) and the funding of the USD sent.
* **FX** (``fx_revaluation_usd``): the account keeps its gains as CNY (cash, a QFI's CNY
  collateral, the value of option legs); their USD value moves with USD/CNY:
  ``CNY held at the previous close × (1/FX_d - 1/FX_{d-1})``, booked by the kernel.

``L × m × ΔS_old = benchmark + basis + roll`` on every day, for any contract held, so the
split is exact; the basis term uses the contract held at the end of the day (after a roll).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import polars as pl

from cnfutures.errors import DataError

if TYPE_CHECKING:  # pragma: no cover
    from cnfutures.backtest.engine import Prepared

__all__ = ["COMPONENTS", "Component", "attribution_by_year", "attribution_totals", "daily_attribution"]


@dataclass(frozen=True)
class Component:
    """One component of the P&L attribution.

    Attributes
    ----------
    name : str
        Column name [USD].
    label : str
        Short label for tables and figures.
    group : str
        ``exposure``, ``hedge``, ``costs``, ``fx`` or ``options``.
    meaning : str
        What it measures.
    """

    name: str
    label: str
    group: str
    meaning: str


COMPONENTS: tuple[Component, ...] = (
    Component("exposure_price_usd", "exposure: price move", "exposure",
              "the exposure's price change on the quantity held, at the day's USD/CNY"),
    Component("exposure_fx_usd", "exposure: FX translation", "exposure",
              "USD value change of a CNY-priced exposure from USD/CNY moves"),
    Component("hedge_benchmark_usd", "hedge: benchmark move", "hedge",
              "lots carried × the move of the exposure's own price"),
    Component("hedge_fx_usd", "hedge: FX translation", "hedge",
              "CNY futures hedging a USD price: the USD/CNY part of the benchmark move in CNY"),
    Component("hedge_basis_usd", "hedge: basis change", "hedge",
              "lots carried × change of (held futures - exposure price)"),
    Component("hedge_roll_usd", "hedge: roll yield", "hedge",
              "lots rolled × (old contract - new contract) settlement on each roll day"),
    Component("hedge_execution_usd", "hedge: execution vs settle", "hedge",
              "lots traded × (settlement - execution price before slippage)"),
    Component("hedge_slippage_usd", "hedge: slippage", "hedge",
              "minus the slippage paid on every lot traded"),
    Component("fees_exchange_usd", "costs: exchange fees", "costs", "minus the exchange fees"),
    Component("commission_usd", "costs: commission (intermediary)", "costs",
              "minus the futures-firm commission per lot (the route's mark-up)"),
    Component("fx_spread_usd", "costs: FX conversion", "costs",
              "minus the FX cost: the spread on USD/CNY conversions, a route channel's rate above the "
              "fixing (offshore CNH), the spread on CNY margin bought with USD (QFI)"),
    Component("funding_usd", "costs: funding", "costs", "minus the funding cost of the net USD sent"),
    Component("fx_revaluation_usd", "FX: revaluation of CNY held", "fx",
              "USD value change of the CNY held overnight (cash, CNY collateral, option value) from "
              "USD/CNY moves: CNY_{d-1} × (1/FX_d - 1/FX_{d-1})"),
    Component("option_pnl_usd", "options: marked to market", "options",
              "option legs: premium paid or received, daily marks, exercise payoffs (0 without legs)"),
    Component("option_fees_usd", "costs: option fees", "costs",
              "minus the option fees and commission, and the closing fees of exercised futures"),
)  # fmt: skip

_NAMES = tuple(c.name for c in COMPONENTS)


def _shift(x: np.ndarray, fill: float) -> np.ndarray:
    out = np.empty_like(x)
    out[0] = fill
    out[1:] = x[:-1]
    return out


def daily_attribution(prep: Prepared, led: np.ndarray, *, currency: str, sign: float) -> pl.DataFrame:
    """The daily attribution of path 0 of a booked backtest.

    Parameters
    ----------
    prep : Prepared
        The kernel inputs the ledger was booked from.
    led : ndarray [N_LEDGER, D]
        The booking kernel's ledger of path 0.
    currency : {"USD", "CNY"}
        Currency of the exposure's price series.
    sign : float
        ``+1`` for a long exposure, ``-1`` for a short one.

    Returns
    -------
    polars.DataFrame
        ``trading_day``, the components of :data:`COMPONENTS` [USD], ``net_pnl_usd`` (the
        ledger's) and ``roll_gap_cny`` (new minus old contract settlement on a roll day
        [CNY/unit], null on other days).

    Raises
    ------
    DataError
        The components miss the ledger's net P&L by more than float rounding on a day the
        net P&L is finite (every backtest is checked, not only the tests).

    Examples
    --------
    >>> from cnfutures.access import Investor
    >>> from cnfutures.backtest import Exposure, HedgePolicy, Market, run
    >>> m = Market.sample("i", "2025-01-02", "2025-06-06")
    >>> r = run(m, Exposure(100_000, "long", "spot"), HedgePolicy("i"), Investor("qfi"))
    >>> a = r.attribution()
    >>> bool(abs(a.select(COMPONENTS[0].name, *[c.name for c in COMPONENTS[1:]]).sum_horizontal().sum()
    ...          - r["net_pnl_usd"]) < 0.005)
    True
    """
    from cnfutures._kernels import settlement as k

    m = prep.inputs.market
    par = prep.inputs.params
    mult = float(par.multiplier)
    S = m.settle[0]
    X = m.exec_px[0]
    fx = m.fx[0]
    D = fx.size
    idx = np.arange(D)
    lots = led[k.L_LOTS]
    carried = _shift(lots, 0.0)  # lots carried into each day
    kend = led[k.L_CONTRACT].astype(np.int64)
    kprev = _shift(kend, -1)
    held = carried != 0.0
    kp = np.where(kprev >= 0, kprev, 0)
    ke = np.where(kend >= 0, kend, 0)
    s_old_d = np.where(held, S[kp, idx], 0.0)
    s_old_dm1 = np.where(held, S[kp, np.maximum(idx - 1, 0)], 0.0)
    s_new_d = np.where(held & (kend >= 0), S[ke, idx], s_old_d)
    s_new_d = np.where(np.isnan(s_new_d), s_old_d, s_new_d)
    px = np.asarray(prep.expo_price, dtype=np.float64)
    px_prev = _shift(px, px[0])
    fx_prev = _shift(fx, fx[0])
    bench = px * fx if currency == "USD" else px  # the exposure's price [CNY/unit]
    bench_prev = _shift(bench, bench[0])
    lm = carried * mult
    if currency == "USD":
        hedge_bench = lm * (px - px_prev)
        hedge_fx = lm * px_prev * (fx - fx_prev) / fx
    else:
        hedge_bench = lm * (px - px_prev) / fx
        hedge_fx = np.zeros(D)
    basis = np.where(held, lm * ((s_new_d - bench) - (s_old_dm1 - bench_prev)) / fx, 0.0)
    roll = np.where(held, lm * (s_old_d - s_new_d) / fx, 0.0)
    trade = led[k.L_TRADE]
    roll_lots = led[k.L_ROLL]
    ex_new = np.where(trade != 0.0, trade * (S[ke, idx] - X[ke, idx]), 0.0)
    ex_old = np.where(roll_lots != 0.0, roll_lots * (S[kp, idx] - X[kp, idx]), 0.0)
    execution = (ex_new + ex_old) * mult / fx
    commission_cny = (np.abs(trade) + np.abs(roll_lots)) * float(par.commission)
    qty_prev = _shift(np.asarray(prep.quantity, dtype=np.float64), 0.0)
    if currency == "USD":
        expo_price = sign * qty_prev * (px - px_prev)
        expo_fx = np.zeros(D)
    else:
        expo_price = sign * qty_prev * (px - px_prev) / fx
        expo_fx = sign * qty_prev * px_prev * (1.0 / fx - 1.0 / fx_prev)
    rolled = held & (kend != kprev) & (roll_lots != 0.0)
    cols = {
        "exposure_price_usd": expo_price,
        "exposure_fx_usd": expo_fx,
        "hedge_benchmark_usd": hedge_bench,
        "hedge_fx_usd": hedge_fx,
        "hedge_basis_usd": basis,
        "hedge_roll_usd": roll,
        "hedge_execution_usd": execution,
        "hedge_slippage_usd": -led[k.L_SLIP] / fx,
        "fees_exchange_usd": -(led[k.L_FEES] - commission_cny - led[k.L_OPT_FEES]) / fx,
        "commission_usd": -commission_cny / fx,
        "fx_spread_usd": -led[k.L_FXCOST],
        "funding_usd": -led[k.L_FUNDING],
        "fx_revaluation_usd": led[k.L_FXREVAL],
        "option_pnl_usd": led[k.L_OPT_PNL] / fx,
        "option_fees_usd": -led[k.L_OPT_FEES] / fx,
    }
    _check_adds_up(cols, led[k.L_NET], prep.days)
    return pl.DataFrame(
        {
            "trading_day": prep.days,
            **{n: cols[n] for n in _NAMES},
            "net_pnl_usd": led[k.L_NET],
            "roll_gap_cny": pl.Series(np.where(rolled, s_new_d - s_old_d, np.nan)).fill_nan(None),
        }
    )


def _check_adds_up(cols: dict[str, np.ndarray], net: np.ndarray, days: pl.Series) -> None:
    """Raise unless the components add up to the ledger's net P&L on every day it is finite.

    The tolerance is float rounding: ``1e-6 USD + 1e-9 × sum |component|`` per day.
    """
    parts = np.vstack([cols[n] for n in _NAMES])
    resid = np.abs(parts.sum(axis=0) - net)
    tol = 1e-6 + 1e-9 * np.abs(parts).sum(axis=0)
    bad = np.flatnonzero(np.isfinite(net) & ~(resid <= tol))
    if bad.size:
        raise DataError(
            f"the P&L attribution misses the ledger's net P&L by {resid[bad[0]]:.6g} USD on "
            f"{days[int(bad[0])]} (a non-finite settlement, execution price or FX on a day a "
            "position was held)",
            [f"{days[int(d)]}: {resid[d]:.6g} USD" for d in bad[:10]],
        )


def attribution_by_year(daily: pl.DataFrame) -> pl.DataFrame:
    """Per-year sums of a daily attribution, with a ``total`` row.

    Parameters
    ----------
    daily : polars.DataFrame
        From :func:`daily_attribution`.

    Returns
    -------
    polars.DataFrame
        ``period`` (``"2019"``, ..., ``"total"``), the components and ``net_pnl_usd`` [USD],
        ``rolls`` [count] and ``roll_gap_cny`` (sum of new minus old settlement over the
        rolls [CNY/unit]).

    Examples
    --------
    >>> import datetime as dt
    >>> d = pl.DataFrame({"trading_day": [dt.date(2024, 12, 31), dt.date(2025, 1, 2)],
    ...                   **{c.name: [1.0, 2.0] for c in COMPONENTS}, "net_pnl_usd": [12.0, 24.0],
    ...                   "roll_gap_cny": [None, -3.0]})
    >>> attribution_by_year(d).select("period", "net_pnl_usd", "rolls").rows()
    [('2024', 12.0, 0), ('2025', 24.0, 1), ('total', 36.0, 1)]
    """
    aggs = [
        *(pl.col(n).sum() for n in (*_NAMES, "net_pnl_usd")),
        pl.col("roll_gap_cny").count().cast(pl.Int64).alias("rolls"),
        pl.col("roll_gap_cny").sum().alias("roll_gap_cny"),
    ]
    years = (
        daily.group_by(pl.col("trading_day").dt.year().cast(pl.String).alias("period"))
        .agg(aggs)
        .sort("period")
    )
    total = daily.select(pl.lit("total").alias("period"), *aggs)
    return pl.concat([years, total], how="vertical")


def attribution_totals(daily: pl.DataFrame) -> pl.DataFrame:
    """Whole-run total of each component, in :data:`COMPONENTS` order.

    Returns
    -------
    polars.DataFrame
        ``component``, ``label``, ``group``, ``usd`` [USD], ``meaning``.

    Examples
    --------
    >>> import datetime as dt
    >>> d = pl.DataFrame({"trading_day": [dt.date(2025, 1, 2)], **{c.name: [1.0] for c in COMPONENTS},
    ...                   "net_pnl_usd": [15.0], "roll_gap_cny": [None]})
    >>> attribution_totals(d)["usd"].sum()
    15.0
    """
    sums = daily.select(pl.col(n).sum() for n in _NAMES).row(0)
    return pl.DataFrame(
        {
            "component": list(_NAMES),
            "label": [c.label for c in COMPONENTS],
            "group": [c.group for c in COMPONENTS],
            "usd": [float(v) for v in sums],
            "meaning": [c.meaning for c in COMPONENTS],
        }
    )
