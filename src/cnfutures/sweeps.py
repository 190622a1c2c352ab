"""Parameter sweeps (re-exported; the code lives in :mod:`cnfutures.backtest.sweep`)."""

from __future__ import annotations

from cnfutures.backtest.sweep import (
    MAX_SWEEP_POINTS,
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
    "MAX_SWEEP_POINTS",
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
