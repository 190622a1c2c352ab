"""Monte Carlo hedge risk (re-exported; the code lives in :mod:`cnfutures.backtest.risk`)."""

from __future__ import annotations

from cnfutures.backtest.risk import MAX_PATH_DAYS, PATH_METRICS, SIMULATED_PRICES, HedgeRisk, hedge_risk

__all__ = ["MAX_PATH_DAYS", "PATH_METRICS", "SIMULATED_PRICES", "HedgeRisk", "hedge_risk"]
