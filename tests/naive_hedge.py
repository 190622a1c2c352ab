"""Slow, obviously-correct hedging references (loops and textbook formulas)."""

from __future__ import annotations

import math

import numpy as np


def naive_ols_ratio(x: np.ndarray, y: np.ndarray) -> float:
    """Slope of x on y with an intercept: sum((x-mx)(y-my)) / sum((y-my)^2), exact sums."""
    mx = math.fsum(x) / len(x)
    my = math.fsum(y) / len(y)
    sxy = math.fsum((a - mx) * (b - my) for a, b in zip(x, y, strict=True))
    syy = math.fsum((b - my) ** 2 for b in y)
    return sxy / syy


def naive_rolling_ratio(x: np.ndarray, y: np.ndarray, window: int, rows=None) -> np.ndarray:
    """Rolling OLS ratio at ``rows`` (default all), each window recomputed from scratch."""
    n = len(x)
    out = np.full(n, np.nan)
    idx = range(window - 1, n) if rows is None else rows
    for i in idx:
        xs = x[i - window + 1 : i + 1]
        ys = y[i - window + 1 : i + 1]
        if np.isnan(xs).any() or np.isnan(ys).any():
            continue
        out[i] = naive_ols_ratio(xs, ys)
    return out


def naive_ewma_ratio(x: np.ndarray, y: np.ndarray, lam: float) -> np.ndarray:
    """h_t = sum_k lam^k x_{t-k} y_{t-k} / sum_k lam^k y_{t-k}^2 by explicit weighted sums."""
    n = len(x)
    out = np.full(n, np.nan)
    for t in range(n):
        w = lam ** np.arange(t, -1, -1, dtype=float)
        num = math.fsum(w * x[: t + 1] * y[: t + 1])
        den = math.fsum(w * y[: t + 1] ** 2)
        out[t] = num / den if den > 0 else np.nan
    return out


def naive_garch_nll(e: np.ndarray, omega: float, alpha: float, beta: float) -> float:
    """Gaussian GARCH(1,1) negative log-likelihood with arch's backcast, written out."""
    tau = min(75, len(e))
    w = 0.94 ** np.arange(tau)
    w = w / w.sum()
    backcast = float(np.sum(e[:tau] ** 2 * w))
    s2 = np.empty(len(e))
    s2[0] = omega + (alpha + beta) * backcast
    for t in range(1, len(e)):
        s2[t] = omega + alpha * e[t - 1] ** 2 + beta * s2[t - 1]
    return 0.5 * float(np.sum(np.log(2 * np.pi) + np.log(s2) + e**2 / s2))


def naive_dcc_nll(z1: np.ndarray, z2: np.ndarray, a: float, b: float, qbar12: float) -> float:
    """DCC(1,1) correlation log-likelihood with explicit 2x2 matrices."""
    Qbar = np.array([[1.0, qbar12], [qbar12, 1.0]])
    Q = Qbar.copy()
    total = 0.0
    for t in range(len(z1)):
        if t > 0:
            u = np.array([z1[t - 1], z2[t - 1]])
            Q = (1 - a - b) * Qbar + a * np.outer(u, u) + b * Q
        d = np.diag(1 / np.sqrt(np.diag(Q)))
        R = d @ Q @ d
        z = np.array([z1[t], z2[t]])
        total += np.log(np.linalg.det(R)) + z @ np.linalg.solve(R, z) - z @ z
    return 0.5 * total
