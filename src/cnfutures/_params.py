"""Parameters of the two-factor sample-market model (shared by :mod:`cnfutures.simulate` and
its calibration, :mod:`cnfutures._calibrate`; both re-export or import them from here)."""

from __future__ import annotations

import math
from dataclasses import dataclass, fields

from cnfutures.errors import InputError
from cnfutures.market.products import product

__all__ = ["TRADING_DAYS_PER_YEAR", "Params", "default_params"]

TRADING_DAYS_PER_YEAR = 244.0

_S0 = {"sc": 500.0, "i": 800.0, "nr": 12000.0, "ru": 14000.0}


@dataclass(frozen=True)
class Params:
    """Parameters of the two-factor model (units in brackets).

    Attributes
    ----------
    s0 : float [CNY/unit]
        Starting spot level ``exp(chi0 + xi0)`` (ignored with a benchmark).
    kappa : float [1/year]
        Mean-reversion speed of the short-term factor.
    sigma_chi : float [1/sqrt(year)]
        Volatility of the short-term factor.
    sigma_xi : float [1/sqrt(year)]
        Volatility of the long-run factor (ignored with a benchmark).
    mu_xi : float [1/year]
        Drift of the long-run log price (ignored with a benchmark).
    rho : float [-]
        Correlation between the two factors' shocks.
    chi0 : float [-]
        Initial short-term deviation (log).
    carry : float [1/year]
        Log contango per year of maturity (negative: backwardation).
    basis : float [-]
        With a benchmark: long-run level = ``basis × benchmark × usd_cny``.
    open_frac, open_sd, close_sd : float [-]
        Shape of the open and the close around the settlement.
    fx0 : float [CNY per USD]
        Starting USD/CNY of a simulated FX path (ignored with a real ``usd_cny`` series).
    sigma_fx : float [1/sqrt(year)]
        Volatility of USD/CNY (a driftless GBM in the CNY-per-USD level).
    rho_fx : float [-]
        Correlation of the USD/CNY shock with the long-run factor's shock (positive: CNY
        prices rise when the dollar strengthens, the usual sign for an imported commodity).
    benchmark_lag : float [trading days, 0..1]
        With a benchmark: how much of the long-run level comes from the benchmark's
        *previous* observation. The level of day ``t`` is ``basis × usd_cny_t ×
        b_t^(1-L) × b_prev^L``, ``b_prev`` the benchmark dated before ``t``. SC settles at
        15:00 Beijing, before London assesses Brent that day: its day-``t`` move holds
        part of Brent's day-``t-1`` move (L = 0: same-day, the old model).
    """

    s0: float = 500.0
    kappa: float = 2.0
    sigma_chi: float = 0.20
    sigma_xi: float = 0.25
    mu_xi: float = 0.0
    rho: float = 0.0
    chi0: float = 0.0
    carry: float = 0.0
    basis: float = 1.0
    open_frac: float = 0.5
    open_sd: float = 0.004
    close_sd: float = 0.002
    fx0: float = 7.1
    sigma_fx: float = 0.04
    rho_fx: float = 0.0
    benchmark_lag: float = 0.0

    def __post_init__(self) -> None:
        for f in fields(self):
            v = getattr(self, f.name)
            if not isinstance(v, int | float) or not math.isfinite(v):
                raise InputError(f"Params.{f.name}={v!r} must be a finite number")
        for name in ("s0", "basis", "fx0"):
            if getattr(self, name) <= 0:
                raise InputError(f"Params.{name}={getattr(self, name)!r} must be > 0")
        for name in ("kappa", "sigma_chi", "sigma_xi", "open_sd", "close_sd", "sigma_fx"):
            if getattr(self, name) < 0:
                raise InputError(f"Params.{name}={getattr(self, name)!r} must be >= 0")
        for name in ("rho", "rho_fx"):
            if not -1.0 <= getattr(self, name) <= 1.0:
                raise InputError(f"Params.{name}={getattr(self, name)!r} must lie in [-1, 1]")
        if not 0.0 <= self.open_frac <= 1.0:
            raise InputError(f"Params.open_frac={self.open_frac!r} must lie in [0, 1]")
        if not 0.0 <= self.benchmark_lag <= 1.0:
            raise InputError(f"Params.benchmark_lag={self.benchmark_lag!r} must lie in [0, 1] (trading days)")


def default_params(product_code: str) -> Params:
    """Default parameters for a product (starting level near its recent price).

    Examples
    --------
    >>> default_params("i").s0
    800.0
    """
    p = product(product_code)
    return Params(s0=_S0.get(p.code, 100.0))
