"""Parameter sweeps (re-exported; the code lives in :mod:`cnfutures.backtest.sweep`)."""

from __future__ import annotations

from cnfutures.backtest.sweep import (
    METRICS,
    POOL_MIN_PREPARES,
    SimulatedMarket,
    SweepError,
    SweepSpec,
    grid_keys,
    ledgers,
    points,
    rank,
    sweep,
)

__all__ = [
    "METRICS",
    "POOL_MIN_PREPARES",
    "SimulatedMarket",
    "SweepError",
    "SweepSpec",
    "grid_keys",
    "ledgers",
    "points",
    "rank",
    "sweep",
]
