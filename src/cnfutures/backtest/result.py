"""The result of a hedge backtest: the daily ledger, the summary, plots and the HTML report."""

from __future__ import annotations

from collections.abc import Sequence
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
    daily_attribution : polars.DataFrame or None
        The daily P&L attribution (:func:`cnfutures.backtest.attribution.daily_attribution`);
        read it with :meth:`attribution`.
    """

    ledger: pl.DataFrame
    summary: pl.DataFrame
    simulated: bool = False
    label: str = ""
    title: str = ""
    meta: dict[str, Any] = field(default_factory=dict, repr=False)
    daily_attribution: pl.DataFrame | None = field(default=None, repr=False)

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
        cls,
        prep: Prepared,
        led: np.ndarray,
        summ: np.ndarray,
        *,
        market: Any,
        policy: Any,
        investor: Any,
        exposure: Any = None,
    ) -> BacktestResult:
        """Wrap the kernel output (ledger rows of path 0, summary) into polars.

        With ``exposure`` the daily P&L attribution is computed too (:meth:`attribution`).
        """
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
        attr = None
        if exposure is not None:
            from cnfutures.backtest.attribution import daily_attribution

            attr = daily_attribution(prep, led, currency=exposure.currency_in(market), sign=exposure.sign)
        return cls(ledger, summary, bool(market.simulated), market.label, title, meta, daily_attribution=attr)

    def attribution(self, by: str = "day") -> pl.DataFrame:
        """Where the net P&L came from: exposure, hedge (benchmark, basis, roll yield, ...), costs.

        The components (:data:`cnfutures.backtest.attribution.COMPONENTS`, all [USD]) add up to
        ``net_pnl_usd`` on every day.

        Parameters
        ----------
        by : {"day", "year", "total"}
            One row per trading day, per calendar year (plus a ``total`` row), or one row per
            component for the whole run.

        Raises
        ------
        InputError
            ``by`` is not one of the above, or the result was built without its exposure
            (``BacktestResult.from_arrays(..., exposure=None)``).

        Examples
        --------
        >>> from cnfutures.access import Investor
        >>> from cnfutures.backtest import Exposure, HedgePolicy, Market, run
        >>> r = run(Market.sample("sc", "2025-03-03", "2025-06-06"), Exposure(500_000, "short", "brent"),
        ...         HedgePolicy("sc"), Investor("qfi"))
        >>> r.attribution("total")["component"][5]
        'hedge_roll_usd'
        """
        from cnfutures.backtest.attribution import attribution_by_year, attribution_totals
        from cnfutures.errors import InputError

        if by not in ("day", "year", "total"):
            raise InputError(f"attribution by={by!r}; accepted: 'day', 'year', 'total'")
        if self.daily_attribution is None:
            raise InputError(
                "this result has no P&L attribution: it was built without its exposure "
                "(pass exposure= to BacktestResult.from_arrays; cnfutures.backtest.run does)"
            )
        if by == "day":
            return self.daily_attribution
        if by == "year":
            return attribution_by_year(self.daily_attribution)
        return attribution_totals(self.daily_attribution)

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

    def report(self, path: str | Path, *, overwrite: bool = False, sections: Sequence[Any] = ()) -> Path:
        """Write one self-contained, offline HTML page (docs/report.md).

        Summary, P&L attribution (waterfall, per year, the roll yield explained), cash and
        collateral explained, position, the days the rules bit; interactive charts (zoom,
        hover) drawn by the embedded uPlot, no network and no optional dependency.
        ``path`` is a directory (the page is ``index.html`` in it) or a ``.html`` file. An
        existing file there is replaced only if it is an earlier cnfutures report, unless
        ``overwrite=True``. ``sections`` (:class:`cnfutures.report.Section`) are appended,
        after the Options section of a policy with option legs
        (:func:`cnfutures.backtest.options_report.options_section`).
        """
        from cnfutures.backtest.options_report import has_options, options_section
        from cnfutures.backtest.report import write_report

        auto = [options_section(self)] if has_options(self) else []
        return write_report(self, path, overwrite=overwrite, sections=[*auto, *sections])
