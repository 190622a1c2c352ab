"""Allocate, not only hedge: indices of rolled long positions in China's commodity futures.

:func:`build_index` builds excess- and total-return levels in CNY and USD (docs/allocation.md);
:mod:`cnfutures.allocation.analytics` reports return, risk and roll yield; :func:`replay`
books the allocation through each access route and explains the tracking difference.
"""

from __future__ import annotations

from cnfutures.allocation.analytics import (
    allocation_section,
    correlation,
    drawdowns,
    monte_carlo,
    performance,
    roll_yield,
)
from cnfutures.allocation.index import (
    DEFAULT_ROLL,
    LEVEL_COLUMNS,
    REBALANCE,
    WEIGHTINGS,
    AllocationIndex,
    build_index,
    default_roll,
)
from cnfutures.allocation.investable import TRACKING_COLUMNS, Replay, replay
from cnfutures.allocation.risk import investable_risk

__all__ = [
    "DEFAULT_ROLL",
    "LEVEL_COLUMNS",
    "REBALANCE",
    "TRACKING_COLUMNS",
    "WEIGHTINGS",
    "AllocationIndex",
    "Replay",
    "allocation_section",
    "build_index",
    "correlation",
    "default_roll",
    "drawdowns",
    "investable_risk",
    "monte_carlo",
    "performance",
    "replay",
    "roll_yield",
]
