"""The result of a hedge backtest: the daily ledger, the summary, plots and the HTML report."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import polars as pl

from cnfutures.backtest.layout import LEDGER_COLUMNS, ledger_frame, metric_units, point_metrics

if TYPE_CHECKING:  # pragma: no cover
    from cnfutures.backtest.engine import Prepared

__all__ = ["LEDGER_COLUMNS", "BacktestResult"]


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
        metrics = point_metrics(prep, led, summ)
        ledger = ledger_frame(prep, led)
        units = metric_units("backtest", options=prep.has_options)
        summary = pl.DataFrame(
            [(name, metrics[name], unit) for name, unit in units],
            schema={"metric": pl.String, "value": pl.Float64, "unit": pl.String},
            orient="row",
        )
        ratio = policy.ratio if isinstance(policy.ratio, str) else f"{policy.ratio:g}"
        title = (
            f"{prep.product.code} hedge, ratio {ratio}, roll {policy.roll.kind}, "
            f"route {investor.route.value} "
            f"({investor.kind}), {prep.days[0]} to {prep.days[-1]}"
        )
        meta: dict[str, Any] = {}
        if prep.option_series is not None:
            legs = ", ".join(f"{x.side} {x.kind} {x.moneyness:g}" for x in policy.options)
            title += f", options: {legs}"
            meta["option_series"] = prep.option_series
        return cls(ledger, summary, bool(market.simulated), market.label, title, meta)

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
        from cnfutures.backtest.report import figures

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
        from cnfutures.backtest.report import write_report

        return write_report(self, path, overwrite=overwrite)
