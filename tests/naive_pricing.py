"""Slow, obviously-correct pricing formulas and trees (textbook loops, no numba)."""

from __future__ import annotations

import math

__all__ = [
    "naive_bachelier",
    "naive_bachelier_greeks",
    "naive_black76",
    "naive_black76_greeks",
    "naive_bs2002",
    "naive_bs2002_call",
    "naive_bvn_cdf",
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


def naive_black76_greeks(F: float, K: float, T: float, r: float, sigma: float, w: float) -> dict[str, float]:
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
    F: float,
    K: float,
    T: float,
    r: float,
    sigma: float,
    w: float,
    steps: int,
    *,
    drop_terminal_payoff: bool = False,
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


def naive_bvn_cdf(a: float, b: float, rho: float) -> float:
    """M(a, b; rho) = P(X <= a, Y <= b) by scipy's multivariate normal (Genz's method)."""
    from scipy.stats import multivariate_normal

    return float(
        multivariate_normal.cdf(
            [a, b], mean=[0.0, 0.0], cov=[[1.0, rho], [rho, 1.0]], abseps=1e-14, releps=0.0
        )
    )


def _bs2002_phi(S: float, T: float, gamma: float, H: float, I: float, r: float, b: float, v: float) -> float:
    lam = (-r + gamma * b + 0.5 * gamma * (gamma - 1.0) * v * v) * T
    d = -(math.log(S / H) + (b + (gamma - 0.5) * v * v) * T) / (v * math.sqrt(T))
    kappa = 2.0 * b / (v * v) + (2.0 * gamma - 1.0)
    return (
        math.exp(lam)
        * S**gamma
        * (_N(d) - (I / S) ** kappa * _N(d - 2.0 * math.log(I / S) / (v * math.sqrt(T))))
    )


def _bs2002_psi(
    S: float, T: float, gamma: float, H: float, I2: float, I1: float, t1: float, r: float, b: float, v: float
) -> float:
    m = b + (gamma - 0.5) * v * v
    e1 = (math.log(S / I1) + m * t1) / (v * math.sqrt(t1))
    e2 = (math.log(I2**2 / (S * I1)) + m * t1) / (v * math.sqrt(t1))
    e3 = (math.log(S / I1) - m * t1) / (v * math.sqrt(t1))
    e4 = (math.log(I2**2 / (S * I1)) - m * t1) / (v * math.sqrt(t1))
    f1 = (math.log(S / H) + m * T) / (v * math.sqrt(T))
    f2 = (math.log(I2**2 / (S * H)) + m * T) / (v * math.sqrt(T))
    f3 = (math.log(I1**2 / (S * H)) + m * T) / (v * math.sqrt(T))
    f4 = (math.log(S * I1**2 / (H * I2**2)) + m * T) / (v * math.sqrt(T))
    rho = math.sqrt(t1 / T)
    lam = -r + gamma * b + 0.5 * gamma * (gamma - 1.0) * v * v
    kappa = 2.0 * b / (v * v) + (2.0 * gamma - 1.0)
    M = naive_bvn_cdf
    return (
        math.exp(lam * T)
        * S**gamma
        * (
            M(-e1, -f1, rho)
            - (I2 / S) ** kappa * M(-e2, -f2, rho)
            - (I1 / S) ** kappa * M(-e3, -f3, -rho)
            + (I1 / I2) ** kappa * M(-e4, -f4, -rho)
        )
    )


def naive_bs2002_call(S: float, X: float, T: float, r: float, b: float, v: float) -> float:
    """Bjerksund-Stensland (2002) American call, straight from Haug (2007), section 3.1.5."""
    european = S * math.exp((b - r) * T) * _N(
        (math.log(S / X) + (b + v * v / 2) * T) / (v * math.sqrt(T))
    ) - X * math.exp(-r * T) * _N((math.log(S / X) + (b - v * v / 2) * T) / (v * math.sqrt(T)))
    if b >= r:
        return european
    t1 = 0.5 * (math.sqrt(5.0) - 1.0) * T
    beta = (0.5 - b / v**2) + math.sqrt((b / v**2 - 0.5) ** 2 + 2.0 * r / v**2)
    b_inf = beta / (beta - 1.0) * X
    b0 = max(X, r / (r - b) * X)
    h1 = -(b * t1 + 2.0 * v * math.sqrt(t1)) * X**2 / ((b_inf - b0) * b0)
    h2 = -(b * T + 2.0 * v * math.sqrt(T)) * X**2 / ((b_inf - b0) * b0)
    I1 = b0 + (b_inf - b0) * (1.0 - math.exp(h1))
    I2 = b0 + (b_inf - b0) * (1.0 - math.exp(h2))
    if S >= I2:
        return S - X
    alpha1 = (I1 - X) * I1 ** (-beta)
    alpha2 = (I2 - X) * I2 ** (-beta)
    phi, psi = _bs2002_phi, _bs2002_psi
    value = (
        alpha2 * S**beta
        - alpha2 * phi(S, t1, beta, I2, I2, r, b, v)
        + phi(S, t1, 1, I2, I2, r, b, v)
        - phi(S, t1, 1, I1, I2, r, b, v)
        - X * phi(S, t1, 0, I2, I2, r, b, v)
        + X * phi(S, t1, 0, I1, I2, r, b, v)
        + alpha1 * phi(S, t1, beta, I1, I2, r, b, v)
        - alpha1 * psi(S, T, beta, I1, I2, I1, t1, r, b, v)
        + psi(S, T, 1, I1, I2, I1, t1, r, b, v)
        - psi(S, T, 1, X, I2, I1, t1, r, b, v)
        - X * psi(S, T, 0, I1, I2, I1, t1, r, b, v)
        + X * psi(S, T, 0, X, I2, I1, t1, r, b, v)
    )
    return max(value, european)


def naive_bs2002(F: float, K: float, T: float, r: float, sigma: float, w: float) -> float:
    """BS2002 on a futures (b = 0); put by P(F, K, T, r, b, s) = C(K, F, T, r - b, -b, s)."""
    if w > 0:
        return naive_bs2002_call(F, K, T, r, 0.0, sigma)
    return naive_bs2002_call(K, F, T, r, 0.0, sigma)
