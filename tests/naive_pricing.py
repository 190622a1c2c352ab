"""Slow, obviously-correct pricing formulas and trees (textbook loops, no numba)."""

from __future__ import annotations

import math

__all__ = [
    "naive_bachelier",
    "naive_bachelier_greeks",
    "naive_black76",
    "naive_black76_greeks",
    "naive_crr_tree",
    "naive_fair_value",
    "naive_roll_yield",
]


def _N(x: float) -> float:
    return 0.5 * math.erfc(-x / math.sqrt(2.0))


def _n(x: float) -> float:
    return math.exp(-0.5 * x * x) / math.sqrt(2.0 * math.pi)


def naive_black76(F: float, K: float, T: float, r: float, sigma: float, w: float) -> float:
    """Black (1976), textbook form (Hull, eq. 18.9/18.10)."""
    st = sigma * math.sqrt(T)
    d1 = (math.log(F / K) + 0.5 * st * st) / st
    d2 = d1 - st
    return math.exp(-r * T) * w * (F * _N(w * d1) - K * _N(w * d2))


def naive_black76_greeks(
    F: float, K: float, T: float, r: float, sigma: float, w: float
) -> dict[str, float]:
    st = sigma * math.sqrt(T)
    d1 = (math.log(F / K) + 0.5 * st * st) / st
    d2 = d1 - st
    D = math.exp(-r * T)
    v = naive_black76(F, K, T, r, sigma, w)
    vega = D * F * _n(d1) * math.sqrt(T)
    return {
        "price": v,
        "delta": D * w * _N(w * d1),
        "gamma": D * _n(d1) / (F * st),
        "vega": vega,
        "theta": (r * v - D * F * _n(d1) * sigma / (2 * math.sqrt(T))) / 365.0,
        "rho": -T * v,
        "vanna": -D * _n(d1) * d2 / sigma,
        "volga": vega * d1 * d2 / sigma,
    }


def naive_bachelier(F: float, K: float, T: float, r: float, sigma: float, w: float) -> float:
    """Bachelier (1900) with discounting: e^{-rT}[w(F-K)N(wd) + sigma sqrt(T) n(d)]."""
    st = sigma * math.sqrt(T)
    d = (F - K) / st
    return math.exp(-r * T) * (w * (F - K) * _N(w * d) + st * _n(d))


def naive_bachelier_greeks(
    F: float, K: float, T: float, r: float, sigma: float, w: float
) -> dict[str, float]:
    st = sigma * math.sqrt(T)
    d = (F - K) / st
    D = math.exp(-r * T)
    v = naive_bachelier(F, K, T, r, sigma, w)
    return {
        "price": v,
        "delta": D * w * _N(w * d),
        "gamma": D * _n(d) / st,
        "vega": D * math.sqrt(T) * _n(d),
        "theta": (r * v - D * _n(d) * sigma / (2 * math.sqrt(T))) / 365.0,
        "rho": -T * v,
        "vanna": -D * _n(d) * d / sigma,
        "volga": D * math.sqrt(T) * _n(d) * d * d / sigma,
    }


def naive_crr_tree(
    F: float, K: float, T: float, r: float, sigma: float, w: float, steps: int,
    *, drop_terminal_payoff: bool = False,
) -> float:
    """American option on a futures price, binomial tree as a plain double loop.

    Up/down factors exp(+-sigma sqrt(dt)), p_u = 1/2 + (-sigma^2/2) dt / (2 sigma sqrt(dt))
    (QuantLib's CoxRossRubinstein with b = 0). ``drop_terminal_payoff`` reproduces
    QuantLib 1.44 when ``(T/n)*n < T`` in floating point: the option then starts its
    rollback from zero values at expiry (the exercise window ends one grid point early).
    """
    dt = T / steps
    dx = sigma * math.sqrt(dt)
    pu = 0.5 + 0.5 * (-0.5 * sigma * sigma * dt) / dx
    pd = 1.0 - pu
    disc = math.exp(-r * dt)
    values = []
    for j in range(steps + 1):
        s = F * math.exp((2 * j - steps) * dx)
        values.append(0.0 if drop_terminal_payoff else max(w * (s - K), 0.0))
    for i in range(steps - 1, -1, -1):
        new = []
        for j in range(i + 1):
            s = F * math.exp((2 * j - i) * dx)
            new.append(max((pd * values[j] + pu * values[j + 1]) * disc, w * (s - K)))
        values = new
    return values[0]


def naive_fair_value(S: float, r: float, T: float, u: float = 0.0, y: float = 0.0) -> float:
    return S * math.exp((r + u - y) * T)


def naive_roll_yield(f_near: float, f_far: float, days: int) -> float:
    return math.log(f_near / f_far) / (days / 365.0)
