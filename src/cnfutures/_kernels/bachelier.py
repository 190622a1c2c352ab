"""Bachelier (normal model) kernels: price and Greeks; negative F and K are allowed.

The price is written as discounted intrinsic value plus the out-of-the-money time value
``sigma sqrt(T) n(h) q(h)`` with ``h = |F - K| / (sigma sqrt(T))`` and
``q(h) = 1 - h R(h)`` evaluated without cancellation (see :mod:`cnfutures._kernels.implied`),
so deep out-of-the-money prices keep full relative accuracy.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange
from numba.extending import register_jitable

from cnfutures._kernels.black76 import DAYS_PER_YEAR, ONE_OVER_SQRT_TWO_PI, ncdf_scaled
from cnfutures._kernels.implied import _bachelier_q

__all__ = [
    "bachelier_greeks",
    "bachelier_greeks_nb",
    "bachelier_price",
    "bachelier_price_nb",
]


@register_jitable
def _bachelier_one(F: float, K: float, T: float, r: float, sigma: float, w: float) -> float:
    disc = math.exp(-r * T)
    intrinsic = max(w * (F - K), 0.0)
    st = sigma * math.sqrt(T)
    if st <= 0.0:
        return disc * intrinsic
    h = abs(F - K) / st
    return disc * (intrinsic + st * ONE_OVER_SQRT_TWO_PI * math.exp(-0.5 * h * h) * _bachelier_q(h))


@register_jitable
def _bachelier_one_entry(F: float, K: float, T: float, r: float, sigma: float, w: float) -> float:
    """:func:`_bachelier_one` behind a one-line call, for the ``prange`` bodies (see
    :mod:`cnfutures._kernels`: compiling the ``prange`` body)."""
    return _bachelier_one(F, K, T, r, sigma, w)  # type: ignore[no-any-return]


def bachelier_price(
    F: np.ndarray, K: np.ndarray, T: np.ndarray, r: np.ndarray, sigma: np.ndarray,
    w: np.ndarray, out: np.ndarray,
) -> None:
    """Bachelier price into ``out``; ``w`` is +1 (call) or -1 (put); sigma in price units."""
    for i in prange(F.shape[0]):
        out[i] = _bachelier_one_entry(F[i], K[i], T[i], r[i], sigma[i], w[i])


def bachelier_greeks(
    F: np.ndarray, K: np.ndarray, T: np.ndarray, r: np.ndarray, sigma: np.ndarray,
    w: np.ndarray, price: np.ndarray, delta: np.ndarray, gamma: np.ndarray, vega: np.ndarray,
    theta: np.ndarray, rho: np.ndarray, vanna: np.ndarray, volga: np.ndarray,
) -> None:
    """Bachelier price and Greeks (same conventions as Black-76; vega per 1.00 of sigma)."""
    for i in prange(F.shape[0]):
        f = F[i]
        k = K[i]
        t = T[i]
        s = sigma[i]
        ww = w[i]
        disc = math.exp(-r[i] * t)
        sqt = math.sqrt(t)
        st = s * sqt
        v = _bachelier_one_entry(f, k, t, r[i], s, ww)
        price[i] = v
        d = (f - k) / st if st > 0.0 else math.inf if f > k else -math.inf if f < k else 0.0
        e = math.exp(-0.5 * d * d)
        n = ONE_OVER_SQRT_TWO_PI * e
        delta[i] = disc * ww * ncdf_scaled(ww * d, e)
        vega[i] = disc * sqt * n
        if n > 0.0 and st > 0.0:
            gamma[i] = disc * n / st
            vanna[i] = -disc * n * d / s
            volga[i] = disc * sqt * n * d * d / s
        else:
            gamma[i] = math.inf if n > 0.0 else 0.0
            vanna[i] = 0.0
            volga[i] = 0.0
        theta[i] = (r[i] * v - disc * n * s / (2.0 * sqt)) / DAYS_PER_YEAR
        rho[i] = -t * v


# error_model="numpy": what the prange bodies run under anyway (see :mod:`cnfutures._kernels`)
bachelier_price_nb = njit(cache=True, parallel=True, error_model="numpy")(bachelier_price)
bachelier_greeks_nb = njit(cache=True, parallel=True, error_model="numpy")(bachelier_greeks)


def _warmup() -> None:
    a = np.ones(2)
    w = np.array([1.0, -1.0])
    o = [np.empty(2) for _ in range(8)]
    bachelier_price_nb(a, a * 1.5, a, a * 0.0, a * 0.2, w, o[0])
    bachelier_greeks_nb(a, a * 1.5, a, a * 0.0, a * 0.2, w, *o)
