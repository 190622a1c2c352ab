"""The self-contained HTML reports and figures (re-exported from the engine).

The code lives in :mod:`cnfutures.backtest.report`; this module keeps the import path. Add a
section to any report with :class:`Section` (``result.report(path, sections=[...])``).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import polars as pl

from cnfutures.backtest.report import (
    Chart,
    Reportable,
    Section,
    Series,
    backtest_sections,
    efficient_set,
    esc,
    figures,
    format_value,
    pyplot,
    risk_sections,
    sweep_sections,
    write_page,
    write_report,
    write_risk_report,
)

__all__ = [
    "Chart",
    "Reportable",
    "Section",
    "Series",
    "backtest_sections",
    "efficient_set",
    "esc",
    "figures",
    "format_value",
    "pyplot",
    "risk_sections",
    "sweep_sections",
    "write_page",
    "write_report",
    "write_risk_report",
    "write_sweep_report",
]


def write_sweep_report(
    result: pl.DataFrame | pl.LazyFrame,
    path: str | Path,
    *,
    by: str = "hedged_variance",
    top: int = 20,
    title: str = "Hedge policy sweep",
    simulated: bool = False,
    overwrite: bool = False,
    sections: Sequence[Section] = (),
) -> Path:
    """Write the HTML report of a sweep: ranked table and cost vs hedged variance (efficient set).

    Parameters
    ----------
    result : polars.DataFrame or LazyFrame
        The output of :func:`cnfutures.sweep` (needs ``total_cost_usd`` and ``hedged_variance``).
    path : str or Path
        A directory (``index.html``) or an ``.html`` file.
    by : str
        Ranking metric (:func:`cnfutures.backtest.sweep.rank`); ``top`` rows are shown.
    title : str
        Page heading (escaped).
    simulated : bool
        Add the SIMULATED banner (a sweep over :class:`~cnfutures.backtest.sweep.SimulatedMarket`).

    Examples
    --------
    >>> import tempfile
    >>> t = pl.DataFrame({"point": [0, 1, 2], "band": [0, 5, 10], "hedged_variance": [3.0, 1.0, 2.0],
    ...                   "total_cost_usd": [9.0, 7.0, 8.0], "error": [None, None, None]})
    >>> write_sweep_report(t, tempfile.mkdtemp()).name
    'index.html'
    """
    from cnfutures.backtest.sweep import rank

    ranked = rank(result, by, top=top)
    secs = [*sweep_sections(result, ranked, by=by), *sections]
    return write_page(path, "sweep", title, secs, simulated=simulated, overwrite=overwrite)
