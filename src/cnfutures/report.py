"""Figures and the self-contained HTML report of a backtest (re-exported from the engine).

The code lives in :mod:`cnfutures.backtest.report` and takes any result with the
:class:`~cnfutures.backtest.report.Reportable` shape; this module keeps the import path.
"""

from __future__ import annotations

from cnfutures.backtest.report import Reportable, figures, format_value, pyplot, write_report

__all__ = ["Reportable", "figures", "format_value", "pyplot", "write_report"]
