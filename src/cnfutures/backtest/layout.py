"""One declarative layout of the engine's outputs: every ledger column and every summary metric.

:data:`LEDGER` names each ledger column with its unit and where its values come from (a row of
the booking kernel's ledger, or a prepared input); :data:`METRICS` names each summary metric
with its unit and formula. :class:`~cnfutures.backtest.BacktestResult`,
:class:`~cnfutures.backtest.risk.HedgeRisk` and the rows of :func:`cnfutures.sweep` are all
built from them, so a new column or metric is added here, once.

Daily statistics use days ``1 .. D-1`` (day 0 has no exposure change); annualised volatility
is ``std × √244`` (trading days per year); weekly sums use Monday-to-Sunday calendar weeks.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import polars as pl

from cnfutures._params import TRADING_DAYS_PER_YEAR
from cnfutures.errors import DataError

if TYPE_CHECKING:  # pragma: no cover
    from cnfutures.backtest.engine import Prepared

__all__ = [
    "LEDGER",
    "LEDGER_COLUMNS",
    "METRICS",
    "OPTION_LEDGER",
    "OPTION_LEDGER_COLUMNS",
    "OPTION_METRICS",
    "Column",
    "Metric",
    "check_settled",
    "ledger_dtype",
    "ledger_frame",
    "metric_names",
    "metric_units",
    "option_metrics",
    "path_metrics",
    "point_metrics",
    "summary_metrics",
    "week_sums",
]


@dataclass(frozen=True)
class Column:
    """One ledger column.

    Attributes
    ----------
    name : str
        Column name (English snake_case).
    unit : str
        Unit and meaning.
    source : str
        ``L_*``: that row of the booking kernel's ledger (path 0); ``day``: the trading day;
        ``contract``: the code of the contract held; ``fx``, ``expo_pnl``: the prepared inputs
        of path 0; ``ratio``, ``quantity``, ``expo_price``: the prepared daily series.
    flag : bool
        A 0/1 kernel row returned as a boolean column.
    """

    name: str
    unit: str
    source: str
    flag: bool = False


LEDGER: tuple[Column, ...] = (
    Column("trading_day", "date", "day"),
    Column("contract", "held at the day's settlement", "contract"),
    Column("lots", "lots, signed (+ long)", "L_LOTS"),
    Column("target_lots", "lots, after position/opening limits", "L_TARGET"),
    Column("trade_lots", "lots traded in the held contract", "L_TRADE"),
    Column("roll_lots", "lots traded to close the old contract", "L_ROLL"),
    Column("trade_price", "CNY/unit, incl. slippage", "L_PRICE"),
    Column("settle", "CNY/unit", "L_SETTLE"),
    Column("variation_margin_cny", "CNY, incl. slippage", "L_VM"),
    Column("fees_cny", "CNY, exchange fees + commission", "L_FEES"),
    Column("slippage_cny", "CNY (already in variation margin)", "L_SLIP"),
    Column("margin_required_cny", "CNY", "L_REQ"),
    Column("cash_cny", "CNY in the futures account", "L_CASH"),
    Column("equity_cny", "CNY, cash + haircut × FX × USD collateral (QFI: + CNY collateral)", "L_EQUITY"),
    Column("collateral_usd", "USD at the futures firm (QFI: CNY collateral at the fixing)", "L_COLL"),
    Column("margin_call_usd", "USD posted that day", "L_CALL"),
    Column("release_usd", "USD returned that day", "L_RELEASE"),
    Column("converted_usd", "USD converted to CNY to settle losses", "L_CONVERT"),
    Column("fx_cost_usd", "USD, conversion spread", "L_FXCOST"),
    Column("funding_usd", "USD, funding cost", "L_FUNDING"),
    Column("usd_posted", "USD, net sent to the futures firm so far", "L_FUNDED"),
    Column("usd_cny", "CNY per USD", "fx"),
    Column("hedge_ratio", "futures units per exposure unit", "ratio"),
    Column("exposure_qty", "unit", "quantity"),
    Column("exposure_price", "exposure currency/unit", "expo_price"),
    Column("exposure_pnl_usd", "USD", "expo_pnl"),
    Column("hedge_pnl_usd", "USD (variation margin / FX)", "L_HEDGE"),
    Column("costs_usd", "USD (fees/FX + FX spread + funding)", "L_COSTS"),
    Column("fx_revaluation_usd", "USD, CNY held at the previous close × (1/FX_d - 1/FX_{d-1})", "L_FXREVAL"),
    Column("net_pnl_usd", "USD (exposure + hedge - costs + FX revaluation)", "L_NET"),
    Column("limit_locked", "a wanted trade was blocked by a limit-locked contract", "L_LOCKED", flag=True),
    Column("forced_roll", "roll forced by a stage exit or the LTD", "L_FORCED", flag=True),
    Column("limit_bound", "position or opening limit cut the target", "L_BOUND", flag=True),
    Column("margin_call", "USD posted while a position was open", "L_MCALL", flag=True),
    Column("delayed_roll", "scheduled roll could not trade", "L_DELAYED", flag=True),
)

# (name, unit) of every ledger column, in order
LEDGER_COLUMNS: tuple[tuple[str, str], ...] = tuple((c.name, c.unit) for c in LEDGER)

# the columns a policy with option legs adds after :data:`LEDGER` (cnfutures._kernels.optlegs)
OPTION_LEDGER: tuple[Column, ...] = (
    Column("option_lots", "lots, signed (+ long), all legs", "L_OPT_LOTS"),
    Column("option_premium_cny", "CNY, + paid / - received for options opened", "L_OPT_PREMIUM"),
    Column("option_pnl_cny", "CNY, marked to the option settlement or the model", "L_OPT_PNL"),
    Column("option_exercise_cny", "CNY, exercise payoff received (+) / paid (-)", "L_OPT_EXERCISE"),
    Column("option_fees_cny", "CNY, option fees + commission (inside fees_cny)", "L_OPT_FEES"),
    Column("option_margin_cny", "CNY, short-option margin (inside margin_required_cny)", "L_OPT_MARGIN"),
    Column("option_value_cny", "CNY, value of the options held", "L_OPT_VALUE"),
    Column("option_cash_cny", "CNY, premium + exercise + close proceeds", "L_OPT_CASH"),
    Column("book_delta", "unit of the underlying, futures + options", "L_DELTA"),
    Column("book_gamma", "unit per CNY/unit, options", "L_GAMMA"),
    Column("book_vega", "CNY per 1.00 of implied vol, options", "L_VEGA"),
)
OPTION_LEDGER_COLUMNS: tuple[tuple[str, str], ...] = tuple((c.name, c.unit) for c in OPTION_LEDGER)


@dataclass(frozen=True)
class Metric:
    """One summary metric.

    Attributes
    ----------
    name : str
        Metric name.
    unit : str
        Unit and meaning.
    formula : str
        How it is computed (``e_d``: daily exposure P&L, ``n_d``: daily hedged P&L [USD]).
    total : str or None
        The booking kernel's per-path total it reads (``S_*``), if any.
    path_unit : str or None
        The unit as the per-path metrics of a hedge-risk run have always worded it, where
        that wording differs (kept so that ``HedgeRisk.summary`` and ``cnfutures risk``
        print what they printed).
    """

    name: str
    unit: str
    formula: str
    total: str | None = None
    path_unit: str | None = None


METRICS: tuple[Metric, ...] = (
    Metric("trading_days", "days", "D"),
    Metric("hedged_variance", "USD², sample variance of the daily hedged P&L (from the 2nd day)",
           "var(n_1..n_{D-1}, ddof=1)"),
    Metric("unhedged_variance", "USD², sample variance of the daily exposure P&L (from the 2nd day)",
           "var(e_1..e_{D-1}, ddof=1)"),
    Metric("effectiveness_daily", "variance reduction of daily USD P&L", "1 - var(n) / var(e), days 1..D-1",
           path_unit="variance reduction"),
    Metric("effectiveness_weekly", "variance reduction of weekly USD P&L",
           "1 - var(weekly n) / var(weekly e), Monday-Sunday weeks"),
    Metric("vol_unhedged_usd", "USD/√year", "std(e_1..e_{D-1}, ddof=1) × √244", path_unit="USD/sqrt(year)"),
    Metric("vol_hedged_usd", "USD/√year", "std(n_1..n_{D-1}, ddof=1) × √244", path_unit="USD/sqrt(year)"),
    Metric("max_drawdown_unhedged_usd", "USD", "min(cum e - running max(cum e, 0))", "S_DD_EXPO"),
    Metric("max_drawdown_hedged_usd", "USD", "min(cum n - running max(cum n, 0))", "S_DD_NET"),
    Metric("exposure_pnl_usd", "USD", "sum e_d", "S_EXPO"),
    Metric("hedge_pnl_usd", "USD", "sum variation margin_d / FX_d", "S_HEDGE"),
    Metric("net_pnl_usd", "USD", "exposure + hedge - costs + FX revaluation", "S_NET"),
    Metric("costs_usd", "USD (fees + FX + funding)", "sum fees_d / FX_d + FX spread + funding", "S_COSTS",
           path_unit="USD"),
    Metric("fees_usd", "USD", "sum fees_d / FX_d", "S_FEES"),
    Metric("slippage_usd", "USD (inside hedge P&L)", "sum slippage_d / FX_d", "S_SLIP", path_unit="USD"),
    Metric("fx_cost_usd", "USD", "sum FX conversion spread", "S_FXCOST"),
    Metric("funding_usd", "USD", "sum funding cost of the net USD sent", "S_FUNDING"),
    Metric("fx_revaluation_usd", "USD (inside net P&L)",
           "sum CNY held at the previous close × (1/FX_d - 1/FX_{d-1})", "S_FXREVAL"),
    Metric("total_cost_usd", "USD (costs + slippage)", "costs + slippage"),
    Metric("peak_usd_posted", "USD", "max over days of the net USD sent", "S_PEAK"),
    Metric("margin_calls", "count", "days USD was posted while a position was open", "S_CALLS"),
    Metric("limit_locked_days", "days", "days a wanted trade was blocked by a limit lock", "S_LOCKED"),
    Metric("delayed_roll_days", "days", "days a scheduled roll could not trade", "S_DELAYED"),
    Metric("forced_rolls", "count", "rolls forced by a stage exit or the LTD", "S_FORCED"),
    Metric("limit_bound_days", "days", "days the position or opening limit cut the target", "S_BOUND"),
)  # fmt: skip

# the metrics a policy with option legs adds (after those of the output it extends)
OPTION_METRICS: tuple[Metric, ...] = (
    Metric("option_pnl_usd", "USD, option legs marked to market (inside net_pnl_usd)",
           "sum option P&L_d / FX_d", "S_OPT_PNL"),
    Metric("option_premium_usd", "USD, net premium paid (+) / received (-)", "sum premium_d / FX_d",
           "S_OPT_PREMIUM"),
    Metric("option_exercise_usd", "USD, exercise payoffs", "sum exercise_d / FX_d", "S_OPT_EXERCISE"),
    Metric("option_fees_usd", "USD (inside fees_usd)", "sum option fees_d / FX_d", "S_OPT_FEES"),
    Metric("cost_of_protection_usd", "USD, net premium + option fees", "option premium + option fees"),
    Metric("net_pnl_ex_options_usd", "USD, net P&L less the option legs' P&L and fees",
           "net - option P&L + option fees"),
    Metric("peak_option_margin_cny", "CNY, largest short-option margin", "max_d option margin_d",
           "S_OPT_PEAK_MARGIN"),
)  # fmt: skip

# order of the backtest summary (its rows predate this layout)
_SUMMARY_ORDER = (
    "trading_days", "effectiveness_daily", "effectiveness_weekly", "vol_unhedged_usd", "vol_hedged_usd",
    "max_drawdown_unhedged_usd", "max_drawdown_hedged_usd", "exposure_pnl_usd", "hedge_pnl_usd",
    "net_pnl_usd", "costs_usd", "fees_usd", "slippage_usd", "fx_cost_usd", "funding_usd",
    "fx_revaluation_usd", "peak_usd_posted", "margin_calls", "limit_locked_days", "delayed_roll_days",
    "forced_rolls", "limit_bound_days",
)  # fmt: skip
# order of the per-path metrics of a hedge-risk run
_PATH_ORDER = (
    "exposure_pnl_usd", "hedge_pnl_usd", "costs_usd", "net_pnl_usd", "fees_usd", "slippage_usd",
    "fx_cost_usd", "funding_usd", "fx_revaluation_usd", "peak_usd_posted", "margin_calls",
    "limit_locked_days", "delayed_roll_days",
    "forced_rolls", "limit_bound_days", "max_drawdown_unhedged_usd", "max_drawdown_hedged_usd",
    "vol_unhedged_usd", "vol_hedged_usd", "effectiveness_daily",
)  # fmt: skip
_BY_NAME = {m.name: m for m in (*METRICS, *OPTION_METRICS)}
_OPTION_ORDER = tuple(m.name for m in OPTION_METRICS)


def metric_names(output: str, *, options: bool = False) -> tuple[str, ...]:
    """Names of the metrics of one output, in its order.

    Parameters
    ----------
    output : {"backtest", "paths", "sweep"}
        The backtest summary (needs the daily ledger), the per-path metrics of a hedge-risk
        run (kernel totals only) or a sweep row (every metric of :data:`METRICS`).
    options : bool
        Append :data:`OPTION_METRICS` (a policy with option legs).

    Examples
    --------
    >>> metric_names("paths")[:2]
    ('exposure_pnl_usd', 'hedge_pnl_usd')
    >>> metric_names("backtest", options=True)[-1]
    'peak_option_margin_cny'
    """
    extra = _OPTION_ORDER if options else ()
    if output == "backtest":
        return _SUMMARY_ORDER + extra
    if output == "paths":
        return _PATH_ORDER + extra
    return tuple(m.name for m in METRICS) + extra


def metric_units(output: str, *, options: bool = False) -> tuple[tuple[str, str], ...]:
    """``(name, unit)`` of the metrics of one output (see :func:`metric_names`), in its order.

    Examples
    --------
    >>> dict(metric_units("paths"))["vol_hedged_usd"], dict(metric_units("backtest"))["vol_hedged_usd"]
    ('USD/sqrt(year)', 'USD/√year')
    """
    ms = [_BY_NAME[n] for n in metric_names(output, options=options)]
    return tuple((m.name, (m.path_unit or m.unit) if output == "paths" else m.unit) for m in ms)


def week_sums(days: pl.Series, *xs: np.ndarray) -> list[np.ndarray]:
    """Sums of daily values per Monday-to-Sunday calendar week (days ascending).

    Examples
    --------
    >>> import datetime as dt
    >>> d = pl.Series([dt.date(2025, 6, 5), dt.date(2025, 6, 6), dt.date(2025, 6, 9)])
    >>> week_sums(d, np.array([1.0, 2.0, 4.0]))[0].tolist()
    [3.0, 4.0]
    """
    e = days.to_physical().to_numpy().astype(np.int64)
    week = (e + 3) // 7  # 1970-01-01 was a Thursday: weeks start on Mondays
    starts = np.flatnonzero(np.diff(week, prepend=week[0] - 1))
    return [np.add.reduceat(x, starts) for x in xs]


def _var(x: np.ndarray) -> float:
    """Sample variance; NaN (undefined, not 0) with fewer than two observations."""
    return float(np.var(x, ddof=1)) if x.size > 1 else float("nan")


def _var_reduction(expo: np.ndarray, net: np.ndarray) -> float:
    v = _var(expo)
    return float(1.0 - _var(net) / v) if v > 0 else float("nan")


def check_settled(prep: Prepared, led: np.ndarray) -> None:
    """Raise if a position was held on a day its contract has no settlement (path 0's ledger).

    Raises
    ------
    DataError
        A roll delayed by limit locks ran past the data; lists up to 10 (day, contract).
    """
    from cnfutures._kernels import settlement as k

    bad = np.flatnonzero((led[k.L_LOTS] != 0) & np.isnan(led[k.L_SETTLE]))
    if bad.size:
        cells = [(prep.days[int(d)], prep.contracts[int(led[k.L_CONTRACT][d])]) for d in bad[:10]]
        raise DataError(
            f"the position in {cells[0][1]} on {cells[0][0]} has no settlement "
            "(a roll delayed by a limit lock ran past the data)",
            [f"{day} {code}" for day, code in cells],
        )


def ledger_frame(prep: Prepared, led: np.ndarray) -> pl.DataFrame:
    """The ledger of path 0 as polars, column by column from :data:`LEDGER`."""
    from cnfutures._kernels import settlement as k

    m = prep.inputs.market
    inputs: dict[str, Any] = {
        "day": prep.days,
        "fx": m.fx[0],
        "expo_pnl": m.expo_pnl[0],
        "ratio": prep.ratio,
        "quantity": prep.quantity,
        "expo_price": prep.expo_price,
    }
    names = np.array([*prep.contracts, None], dtype=object)
    inputs["contract"] = pl.Series(names[led[k.L_CONTRACT].astype(np.int64)], dtype=pl.String)
    cols: dict[str, Any] = {}
    for c in (*LEDGER, *OPTION_LEDGER) if prep.has_options else LEDGER:
        if c.source.startswith("L_"):
            row = led[getattr(k, c.source)]
            cols[c.name] = row.astype(bool) if c.flag else row
        else:
            cols[c.name] = inputs[c.source]
    return pl.DataFrame(cols).with_columns(pl.col("trade_price").fill_nan(None))


def ledger_dtype(*, options: bool = False) -> pl.DataType:
    """The polars type of a list of ledger rows (a sweep's ``ledger`` column).

    ``options=True`` appends the :data:`OPTION_LEDGER` columns (a grid with option legs).

    Examples
    --------
    >>> len(ledger_dtype(options=True).inner.fields) - len(ledger_dtype().inner.fields) == len(OPTION_LEDGER)
    True
    """

    def dtype(c: Column) -> pl.DataType:
        if c.source == "day":
            return pl.Date()
        if c.source == "contract":
            return pl.String()
        return pl.Boolean() if c.flag else pl.Float64()

    cols = (*LEDGER, *OPTION_LEDGER) if options else LEDGER
    return pl.List(pl.Struct({c.name: dtype(c) for c in cols}))


def summary_metrics(
    days: pl.Series, expo: np.ndarray, net: np.ndarray, totals: np.ndarray
) -> dict[str, float]:
    """Every backtest and sweep metric of one booked path from its daily P&L and kernel totals.

    Parameters
    ----------
    days : polars.Series of date
        The trading days ``D``.
    expo, net : ndarray [D]
        Daily exposure and hedged (net) P&L [USD].
    totals : ndarray [N_SUMMARY]
        The kernel's totals of that path.
    """
    from cnfutures._kernels import settlement as k

    we, wn = week_sums(days, expo, net)
    out = {m.name: float(totals[getattr(k, m.total)]) for m in METRICS if m.total is not None}
    out["trading_days"] = float(expo.size)
    out["effectiveness_daily"] = _var_reduction(expo[1:], net[1:])
    out["effectiveness_weekly"] = _var_reduction(we, wn)
    # undefined (NaN) below two daily changes: a run of one or two trading days
    ann = np.sqrt(TRADING_DAYS_PER_YEAR)
    out["vol_unhedged_usd"] = float(np.std(expo[1:], ddof=1)) * ann if expo.size > 2 else float("nan")
    out["vol_hedged_usd"] = float(np.std(net[1:], ddof=1)) * ann if net.size > 2 else float("nan")
    out["hedged_variance"] = _var(net[1:])
    out["unhedged_variance"] = _var(expo[1:])
    out["total_cost_usd"] = out["costs_usd"] + out["slippage_usd"]
    return out


def point_metrics(prep: Prepared, led: np.ndarray, summ: np.ndarray) -> dict[str, float]:
    """:func:`summary_metrics` of path 0 of a booked backtest (after :func:`check_settled`)."""
    from cnfutures._kernels import settlement as k

    check_settled(prep, led)
    out = summary_metrics(prep.days, prep.inputs.market.expo_pnl[0], led[k.L_NET], summ[0])
    if prep.has_options:
        out.update(option_metrics(summ[0:1], out["net_pnl_usd"]))
    return out


def option_metrics(s: np.ndarray, net: Any) -> dict[str, Any]:
    """The :data:`OPTION_METRICS` from the kernel's per-path totals ``s`` [P, N_SUMMARY] (scalars for
    one path) and the net P&L [USD]."""
    from cnfutures._kernels import settlement as k

    out: dict[str, Any] = {m.name: s[:, getattr(k, m.total)] for m in OPTION_METRICS if m.total is not None}
    out["cost_of_protection_usd"] = out["option_premium_usd"] + out["option_fees_usd"]
    out["net_pnl_ex_options_usd"] = net - out["option_pnl_usd"] + out["option_fees_usd"]
    if s.shape[0] == 1 and np.ndim(net) == 0:
        return {name: float(np.asarray(v).reshape(-1)[0]) for name, v in out.items()}
    return out


def path_metrics(s: np.ndarray, day0: np.ndarray, D: int) -> dict[str, np.ndarray]:
    """The per-path metrics of a hedge-risk run from the kernel's totals alone (no ledger).

    Daily variances over days ``1 .. D-1`` come from the kernel's sums and sums of squares;
    ``day0`` is each path's hedged P&L of day 0 (the opening costs) [USD].
    """
    from cnfutures._kernels import settlement as k

    n = max(D - 1, 1)
    # exposure P&L of day 0 is 0 by construction; the hedged one holds the opening costs
    mean_e = s[:, k.S_EXPO] / n
    var_e = (s[:, k.S_EXPO_SQ] - n * mean_e**2) / max(n - 1, 1)
    net1 = s[:, k.S_NET] - day0
    mean_n = net1 / n
    var_n = (s[:, k.S_NET_SQ] - day0**2 - n * mean_n**2) / max(n - 1, 1)
    var_e = np.maximum(var_e, 0.0)
    var_n = np.maximum(var_n, 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        eff = np.where(var_e > 0, 1.0 - var_n / var_e, np.nan)
    out = {m.name: s[:, getattr(k, m.total)] for m in METRICS if m.total is not None}
    out["vol_unhedged_usd"] = np.sqrt(var_e * TRADING_DAYS_PER_YEAR)
    out["vol_hedged_usd"] = np.sqrt(var_n * TRADING_DAYS_PER_YEAR)
    out["effectiveness_daily"] = eff
    return {name: out[name] for name in _PATH_ORDER}
