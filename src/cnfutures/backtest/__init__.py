"""Hedge backtester: book a futures hedge day by day as the exchange and the futures firm would.

Examples
--------
>>> from cnfutures.backtest import Costs, Exposure, HedgePolicy, Market, backtest
>>> HedgePolicy("sc").execution
'settle'
"""

from __future__ import annotations

from cnfutures.backtest.compare import compare, compare_results
from cnfutures.backtest.engine import backtest, prepare, run
from cnfutures.backtest.model import (
    Costs,
    Exposure,
    HedgePolicy,
    Market,
    OptionLeg,
    call_spread,
    collar,
    protective_call,
    protective_put,
    put_spread,
)
from cnfutures.backtest.result import LEDGER_COLUMNS, BacktestResult

__all__ = [
    "LEDGER_COLUMNS",
    "BacktestResult",
    "Costs",
    "Exposure",
    "HedgePolicy",
    "Market",
    "OptionLeg",
    "backtest",
    "call_spread",
    "collar",
    "compare",
    "compare_results",
    "prepare",
    "protective_call",
    "protective_put",
    "put_spread",
    "run",
]
