"""The result of a hedge backtest: the daily ledger, the summary, plots and the HTML report."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import polars as pl

from cnfutures.errors import DataError

if TYPE_CHECKING:  # pragma: no cover
    from cnfutures.backtest.engine import Prepared

__all__ = ["LEDGER_COLUMNS", "BacktestResult"]

# name, kernel row (or None: from the prepared inputs), unit
LEDGER_COLUMNS: tuple[tuple[str, str], ...] = (
    ("trading_day", "date"),
    ("contract", "held at the day's settlement"),
    ("lots", "lots, signed (+ long)"),
    ("target_lots", "lots, after position/opening limits"),
    ("trade_lots", "lots traded in the held contract"),
    ("roll_lots", "lots traded to close the old contract"),
    ("trade_price", "CNY/unit, incl. slippage"),
    ("settle", "CNY/unit"),
    ("variation_margin_cny", "CNY, incl. slippage"),
    ("fees_cny", "CNY, exchange fees + commission"),
    ("slippage_cny", "CNY (already in variation margin)"),
    ("margin_required_cny", "CNY"),
    ("cash_cny", "CNY in the futures account"),
    ("equity_cny", "CNY, cash + haircut × FX × collateral"),
    ("collateral_usd", "USD at the futures firm"),
    ("margin_call_usd", "USD posted that day"),
    ("release_usd", "USD returned that day"),
    ("converted_usd", "USD converted to CNY to settle losses"),
    ("fx_cost_usd", "USD, conversion spread"),
    ("funding_usd", "USD, funding cost"),
    ("usd_posted", "USD, net sent to the futures firm so far"),
    ("usd_cny", "CNY per USD"),
    ("hedge_ratio", "futures units per exposure unit"),
    ("exposure_qty", "unit"),
    ("exposure_price", "exposure currency/unit"),
    ("exposure_pnl_usd", "USD"),
    ("hedge_pnl_usd", "USD (variation margin / FX)"),
    ("costs_usd", "USD (fees/FX + FX spread + funding)"),
    ("net_pnl_usd", "USD (exposure + hedge - costs)"),
    ("limit_locked", "a wanted trade was blocked by a limit-locked contract"),
    ("forced_roll", "roll forced by a stage exit or the LTD"),
    ("limit_bound", "position or opening limit cut the target"),
    ("margin_call", "USD posted while a position was open"),
    ("delayed_roll", "scheduled roll could not trade"),
)

_KERNEL_ROWS = {
    "lots": "L_LOTS", "target_lots": "L_TARGET", "trade_lots": "L_TRADE", "roll_lots": "L_ROLL",
    "trade_price": "L_PRICE", "settle": "L_SETTLE", "variation_margin_cny": "L_VM", "fees_cny": "L_FEES",
    "slippage_cny": "L_SLIP", "margin_required_cny": "L_REQ", "cash_cny": "L_CASH", "equity_cny": "L_EQUITY",
    "collateral_usd": "L_COLL", "margin_call_usd": "L_CALL", "release_usd": "L_RELEASE",
    "converted_usd": "L_CONVERT", "fx_cost_usd": "L_FXCOST", "funding_usd": "L_FUNDING",
    "usd_posted": "L_FUNDED", "hedge_pnl_usd": "L_HEDGE", "costs_usd": "L_COSTS", "net_pnl_usd": "L_NET",
}  # fmt: skip
_FLAGS = {
    "limit_locked": "L_LOCKED", "forced_roll": "L_FORCED", "limit_bound": "L_BOUND", "margin_call": "L_MCALL",
    "delayed_roll": "L_DELAYED",
}  # fmt: skip


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


def summary_rows(prep: Prepared, led: np.ndarray, summ: np.ndarray) -> list[tuple[str, float, str]]:
    """The summary metrics ``(name, value, unit)`` of path 0 from the kernel's ledger and totals.

    Daily statistics use days 1 .. D-1 (day 0 has no exposure change); the weekly
    effectiveness uses Monday-to-Sunday calendar weeks.
    """
    from cnfutures._kernels import settlement as k

    expo = prep.arrays["expo_pnl"][0]
    net = led[k.L_NET]
    we, wn = week_sums(prep.days, expo, net)
    s = summ[0]
    return [
        ("trading_days", float(expo.size), "days"),
        ("effectiveness_daily", _var_reduction(expo[1:], net[1:]), "variance reduction of daily USD P&L"),
        ("effectiveness_weekly", _var_reduction(we, wn), "variance reduction of weekly USD P&L"),
        ("vol_unhedged_usd", float(np.std(expo[1:], ddof=1)) * np.sqrt(244.0), "USD/√year"),
        ("vol_hedged_usd", float(np.std(net[1:], ddof=1)) * np.sqrt(244.0), "USD/√year"),
        ("max_drawdown_unhedged_usd", s[k.S_DD_EXPO], "USD"),
        ("max_drawdown_hedged_usd", s[k.S_DD_NET], "USD"),
        ("exposure_pnl_usd", s[k.S_EXPO], "USD"),
        ("hedge_pnl_usd", s[k.S_HEDGE], "USD"),
        ("net_pnl_usd", s[k.S_NET], "USD"),
        ("costs_usd", s[k.S_COSTS], "USD (fees + FX + funding)"),
        ("fees_usd", s[k.S_FEES], "USD"),
        ("slippage_usd", s[k.S_SLIP], "USD (inside hedge P&L)"),
        ("fx_cost_usd", s[k.S_FXCOST], "USD"),
        ("funding_usd", s[k.S_FUNDING], "USD"),
        ("peak_usd_posted", s[k.S_PEAK], "USD"),
        ("margin_calls", s[k.S_CALLS], "count"),
        ("limit_locked_days", s[k.S_LOCKED], "days"),
        ("delayed_roll_days", s[k.S_DELAYED], "days"),
        ("forced_rolls", s[k.S_FORCED], "count"),
        ("limit_bound_days", s[k.S_BOUND], "days"),
    ]


def _drawdown(x: np.ndarray) -> float:
    c = np.cumsum(x)
    return float(np.min(c - np.maximum.accumulate(np.maximum(c, 0.0)))) if x.size else 0.0


def _var_reduction(expo: np.ndarray, net: np.ndarray) -> float:
    v = float(np.var(expo, ddof=1)) if expo.size > 1 else 0.0
    return float(1.0 - np.var(net, ddof=1) / v) if v > 0 else float("nan")


@dataclass(frozen=True)
class BacktestResult:
    """Ledger and summary of one backtest.

    Attributes
    ----------
    ledger : polars.DataFrame
        One row per trading day (columns and units: :data:`LEDGER_COLUMNS`).
    summary : polars.DataFrame
        ``metric``, ``value``, ``unit``.
    simulated : bool
        True when the market was simulated (stated in every output).
    label : str
        Market description.
    title : str
        Policy description.
    """

    ledger: pl.DataFrame
    summary: pl.DataFrame
    simulated: bool = False
    label: str = ""
    title: str = ""
    meta: dict[str, Any] = field(default_factory=dict, repr=False)

    def __getitem__(self, metric: str) -> float:
        """Value of one summary metric.

        Examples
        --------
        >>> r = BacktestResult(pl.DataFrame(), pl.DataFrame({"metric": ["x"], "value": [1.0], "unit": ["-"]}))
        >>> r["x"]
        1.0
        """
        row = self.summary.filter(pl.col("metric") == metric)
        if row.height == 0:
            raise KeyError(f"no metric {metric!r}; available: {', '.join(self.summary['metric'])}")
        return float(row["value"][0])

    @classmethod
    def from_arrays(
        cls, prep: Prepared, led: np.ndarray, summ: np.ndarray, *, market: Any, policy: Any, investor: Any
    ) -> BacktestResult:
        """Wrap the kernel output (ledger rows of path 0, summary) into polars."""
        from cnfutures._kernels import settlement as k

        kidx = led[k.L_CONTRACT].astype(np.int64)
        names = np.array([*prep.contracts, None], dtype=object)
        cols: dict[str, Any] = {"trading_day": prep.days, "contract": pl.Series(names[kidx], dtype=pl.String)}
        for name, row in _KERNEL_ROWS.items():
            cols[name] = led[getattr(k, row)]
        cols["usd_cny"] = prep.arrays["fx"][0]
        cols["hedge_ratio"] = prep.ratio
        cols["exposure_qty"] = prep.quantity
        cols["exposure_price"] = prep.expo_price
        cols["exposure_pnl_usd"] = prep.arrays["expo_pnl"][0]
        for name, row in _FLAGS.items():
            cols[name] = led[getattr(k, row)].astype(bool)
        check_settled(prep, led)
        ledger = pl.DataFrame(cols).select([c for c, _ in LEDGER_COLUMNS])
        ledger = ledger.with_columns(pl.col("trade_price").fill_nan(None))
        rows = summary_rows(prep, led, summ)
        summary = pl.DataFrame(
            rows, schema={"metric": pl.String, "value": pl.Float64, "unit": pl.String}, orient="row"
        )
        ratio = policy.ratio if isinstance(policy.ratio, str) else f"{policy.ratio:g}"
        title = (
            f"{prep.product.code} hedge, ratio {ratio}, roll {policy.roll.kind}, "
            f"route {investor.route.value} "
            f"({investor.kind}), {prep.days[0]} to {prep.days[-1]}"
        )
        return cls(ledger, summary, bool(market.simulated), market.label, title)

    def plot(self, path: str | Path) -> list[Path]:
        """Write the figures as PNG files into directory ``path`` (needs ``cnfutures[report]``).

        Returns
        -------
        list of Path
            ``pnl.png`` (exposure vs hedged cumulative P&L), ``margin.png`` (requirement,
            equity, USD posted), ``lots.png`` (hedge ratio and lots).

        Raises
        ------
        OptionalDependencyMissing
            matplotlib is not installed.
        """
        from cnfutures.report import figures

        out = Path(path)
        out.mkdir(parents=True, exist_ok=True)
        paths = []
        for name, png in figures(self).items():
            p = out / f"{name}.png"
            p.write_bytes(png)
            paths.append(p)
        return paths

    def report(self, path: str | Path, *, overwrite: bool = False) -> Path:
        """Write one self-contained HTML page (summary table, figures as base64 PNG).

        ``path`` is a directory (the page is ``index.html`` in it) or a ``.html`` file. An
        existing file there is replaced only if it is an earlier cnfutures report, unless
        ``overwrite=True``.
        Without matplotlib the page carries the tables and a note that figures need
        ``pip install "cnfutures[report]"``.
        """
        from cnfutures.report import write_report

        return write_report(self, path, overwrite=overwrite)
