"""American options on futures (cost of carry b = 0): BAW, Bjerksund-Stensland, binomial trees.

All four follow QuantLib 1.44's engines step for step (so they can be matched to 1e-8 /
1e-9), with the futures specialisation q = r:

- ``american_baw``: Barone-Adesi & Whaley (1987) quadratic approximation with QuantLib's
  seed and Newton iteration for the critical price (tolerance 1e-6 relative to K).
  Guard (QuantLib issue #2749): for ``sigma sqrt(T) < 1e-6`` the critical-price search is
  ill-conditioned; the price is then ``max(European, intrinsic)``, the exact zero-volatility
  limit for b = 0. The iteration is also capped at 200 steps.
- ``american_bjs``: Bjerksund & Stensland flat-boundary approximation in QuantLib's form
  (the 1993 formula; QuantLib's engine of that name), put by put-call symmetry.
- ``american_crr``: binomial tree with up/down factors ``exp(+-sigma sqrt(dt))`` and
  ``p_u = 1/2 - sigma sqrt(dt) / 4`` (QuantLib's CoxRossRubinstein with drift
  ``-sigma^2/2``), early exercise at every node including t = 0.
- ``american_lr``: Leisen-Reimer tree (Peizer-Pratt inversion 2, odd steps).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange
from numba.extending import register_jitable

from cnfutures._kernels.black76 import _black76_one, ncdf, npdf

__all__ = [
    "american_baw",
    "american_baw_nb",
    "american_bjs",
    "american_bjs_nb",
    "american_crr",
    "american_crr_nb",
    "american_lr",
    "american_lr_nb",
]

QL_EPSILON = 2.220446049250313e-16
BAW_MIN_STDDEV = 1e-6
BAW_MAX_ITER = 200


@register_jitable
def _ql_close(x: float, y: float, n: float) -> bool:
    if x == y:
        return True
    diff = abs(x - y)
    tol = n * QL_EPSILON
    return diff <= tol * abs(x) and diff <= tol * abs(y)


@register_jitable
def _baw_one(F: float, K: float, T: float, r: float, sigma: float, w: float) -> float:
    disc = math.exp(-r * T)
    variance = sigma * sigma * T
    std = math.sqrt(variance)
    eur = _black76_one(F, K, T, r, sigma, w)
    intrinsic = max(w * (F - K), 0.0)
    if std < BAW_MIN_STDDEV:
        return max(eur, intrinsic)
    if disc >= 1.0 and w > 0.0:
        return eur  # r <= 0: early exercise of a call on a futures never pays (QuantLib too)
    tolerance = 1e-6
    n = 0.0  # 2 ln(dD / rfD) / variance with dD = rfD
    m = -2.0 * math.log(disc) / variance
    bT = 0.0
    if not _ql_close(disc, 1.0, 1000.0):
        kk = -2.0 * math.log(disc) / (variance * (1.0 - disc))
    else:
        kk = 2.0 / variance
    # seed (QuantLib's criticalPrice)
    if w > 0.0:
        qu = (-(n - 1.0) + math.sqrt((n - 1.0) * (n - 1.0) + 4.0 * m)) / 2.0
        su = K / (1.0 - 1.0 / qu)
        h = -(bT + 2.0 * std) * K / (su - K)
        si = K + (su - K) * (1.0 - math.exp(h))
        Q = (-(n - 1.0) + math.sqrt((n - 1.0) * (n - 1.0) + 4.0 * kk)) / 2.0
    else:
        qu = (-(n - 1.0) - math.sqrt((n - 1.0) * (n - 1.0) + 4.0 * m)) / 2.0
        su = K / (1.0 - 1.0 / qu)
        h = (bT - 2.0 * std) * K / (K - su)
        si = su + (K - su) * math.exp(h)
        Q = (-(n - 1.0) - math.sqrt((n - 1.0) * (n - 1.0) + 4.0 * kk)) / 2.0
    # Newton iteration on the critical price
    for _ in range(BAW_MAX_ITER + 1):
        fsi = si * disc / disc
        d1 = (math.log(fsi / K) + 0.5 * variance) / std
        temp = _black76_one(fsi, K, T, r, sigma, w)
        if w > 0.0:
            lhs = si - K
            rhs = temp + (1.0 - disc * ncdf(d1)) * si / Q
            bi = disc * ncdf(d1) * (1.0 - 1.0 / Q) + (1.0 - disc * npdf(d1) / std) / Q
        else:
            lhs = K - si
            rhs = temp - (1.0 - disc * ncdf(-d1)) * si / Q
            bi = -disc * ncdf(-d1) * (1.0 - 1.0 / Q) - (1.0 + disc * npdf(-d1) / std) / Q
        if not (abs(lhs - rhs) / K > tolerance):
            break
        si = (K + rhs - bi * si) / (1.0 - bi) if w > 0.0 else (K - rhs + bi * si) / (1.0 + bi)
    sk = si
    fsk = sk * disc / disc
    d1 = (math.log(fsk / K) + 0.5 * variance) / std
    fwd = F * disc / disc
    eur = _black76_one(fwd, K, T, r, sigma, w)
    if w > 0.0:
        a = (sk / Q) * (1.0 - disc * ncdf(d1))
        if sk > F:
            return eur + a * float((F / sk) ** Q)
        return F - K
    a = -(sk / Q) * (1.0 - disc * ncdf(-d1))
    if sk < F:
        return eur + a * float((F / sk) ** Q)
    return K - F


@register_jitable
def _bjs_phi(S: float, gamma: float, H: float, I: float, rT: float, bT: float, v: float
             ) -> float:
    lam = -rT + gamma * bT + 0.5 * gamma * (gamma - 1.0) * v
    d = -(math.log(S / H) + (bT + (gamma - 0.5) * v)) / math.sqrt(v)
    kappa = 2.0 * bT / v + (2.0 * gamma - 1.0)
    pw: float = (I / S) ** kappa
    return math.exp(lam) * (ncdf(d) - pw * ncdf(d - 2.0 * math.log(I / S) / math.sqrt(v)))


@register_jitable
def _bjs_one(F: float, K: float, T: float, r: float, sigma: float, w: float) -> float:
    # put-call symmetry (b = 0): P(F, K) = C(K, F); QuantLib swaps spot and strike
    S = F if w > 0.0 else K
    X = K if w > 0.0 else F
    disc = math.exp(-r * T)
    v = sigma * sigma * T
    intrinsic = max(S - X, 0.0)
    if v <= 0.0:
        return max(disc * intrinsic, intrinsic)
    fwd = S * disc / disc
    eur = _black76_one(fwd, X, T, r, sigma, 1.0)
    if disc >= 1.0:
        value = eur
    else:
        bT = 0.0
        rT = math.log(1.0 / disc)
        beta = (0.5 - bT / v) + math.sqrt((bT / v - 0.5) ** 2 + 2.0 * rT / v)
        b_inf = beta / (beta - 1.0) * X
        b0 = X if bT == rT else max(X, rT / (rT - bT) * X)
        ht = -(bT + 2.0 * math.sqrt(v)) * b0 / (b_inf - b0)
        I = b0 + (b_inf - b0) * (1.0 - math.exp(ht))
        q = math.log(I / fwd) / math.sqrt(v)
        if S >= I:
            value = intrinsic
        elif q > 12.5:
            value = eur
        else:
            value = ((I - X) * (S / I) ** beta * (1.0 - _bjs_phi(S, beta, I, I, rT, bT, v))
                     + S * _bjs_phi(S, 1.0, I, I, rT, bT, v)
                     - S * _bjs_phi(S, 1.0, X, I, rT, bT, v)
                     - X * _bjs_phi(S, 0.0, I, I, rT, bT, v)
                     + X * _bjs_phi(S, 0.0, X, I, rT, bT, v))
        value = max(value, eur)
    if value < (S - X) * (1.0 + 10.0 * QL_EPSILON):
        value = intrinsic
    return value


@register_jitable
def _tree_one(
    F: float, K: float, T: float, r: float, sigma: float, w: float, steps: int, lr: bool,
    american: bool = True,
) -> float:
    n = steps
    if lr and n % 2 == 0:
        n += 1
    dt = T / n
    disc = math.exp(-r * dt)
    drift = -0.5 * sigma * sigma * dt  # per step, log space, b = 0
    if lr:
        variance = sigma * sigma * T
        ermqdt = math.exp(drift + 0.5 * variance / n)
        d2 = (math.log(F / K) + drift * n) / math.sqrt(variance)
        pu = _peizer_pratt2(d2, n)
        pdash = _peizer_pratt2(d2 + math.sqrt(variance), n)
        up = ermqdt * pdash / pu
        down = (ermqdt - pu * up) / (1.0 - pu)
        log_u = math.log(up)
        log_d = math.log(down)
    else:
        dx = sigma * math.sqrt(dt)
        pu = 0.5 + 0.5 * drift / dx
        log_u = dx
        log_d = -dx
    pd = 1.0 - pu
    # node prices F u^j d^(i-j): one exp per power, reused across steps (as exact as
    # QuantLib's x0 * exp(j dx) per node, without an exp in the inner loop)
    values = np.empty(n + 1)
    if lr:
        pu_pow = np.empty(n + 1)
        pd_pow = np.empty(n + 1)
        for k in range(n + 1):
            pu_pow[k] = math.exp(k * log_u)
            pd_pow[k] = math.exp(k * log_d)
        for j in range(n + 1):
            values[j] = max(w * (F * pd_pow[n - j] * pu_pow[j] - K), 0.0)
        for i in range(n - 1, -1, -1):
            for j in range(i + 1):
                cont = (pd * values[j] + pu * values[j + 1]) * disc
                if american:
                    cont = max(cont, w * (F * pd_pow[i - j] * pu_pow[j] - K))
                values[j] = cont
    else:
        pw = np.empty(2 * n + 1)  # pw[k + n] = F exp(k dx), k = -n..n
        for k in range(2 * n + 1):
            pw[k] = F * math.exp((k - n) * log_u)
        for j in range(n + 1):
            values[j] = max(w * (pw[2 * j] - K), 0.0)
        for i in range(n - 1, -1, -1):
            off = n - i
            for j in range(i + 1):
                cont = (pd * values[j] + pu * values[j + 1]) * disc
                if american:
                    cont = max(cont, w * (pw[2 * j + off] - K))
                values[j] = cont
    return float(values[0])


@register_jitable
def _peizer_pratt2(z: float, n: int) -> float:
    result = z / (n + 1.0 / 3.0 + 0.1 / (n + 1.0))
    result *= result
    result = math.exp(-result * (n + 1.0 / 6.0))
    return 0.5 + (1.0 if z > 0.0 else -1.0) * math.sqrt(0.25 * (1.0 - result))


def american_baw(
    F: np.ndarray, K: np.ndarray, T: np.ndarray, r: np.ndarray, sigma: np.ndarray,
    w: np.ndarray, out: np.ndarray,
) -> None:
    """Barone-Adesi-Whaley American price on futures into ``out``."""
    for i in prange(F.shape[0]):
        out[i] = _baw_one(F[i], K[i], T[i], r[i], sigma[i], w[i])


def american_bjs(
    F: np.ndarray, K: np.ndarray, T: np.ndarray, r: np.ndarray, sigma: np.ndarray,
    w: np.ndarray, out: np.ndarray,
) -> None:
    """Bjerksund-Stensland (QuantLib's flat-boundary form) American price into ``out``."""
    for i in prange(F.shape[0]):
        out[i] = _bjs_one(F[i], K[i], T[i], r[i], sigma[i], w[i])


def american_crr(
    F: np.ndarray, K: np.ndarray, T: np.ndarray, r: np.ndarray, sigma: np.ndarray,
    w: np.ndarray, steps: int, out: np.ndarray, american: bool = True,
) -> None:
    """CRR binomial price with ``steps`` steps into ``out`` (parallel over options).

    ``american=False`` prices the European option on the same lattice (a control variate
    for the early-exercise premium).
    """
    for i in prange(F.shape[0]):
        out[i] = _tree_one(F[i], K[i], T[i], r[i], sigma[i], w[i], steps, False, american)


def american_lr(
    F: np.ndarray, K: np.ndarray, T: np.ndarray, r: np.ndarray, sigma: np.ndarray,
    w: np.ndarray, steps: int, out: np.ndarray, american: bool = True,
) -> None:
    """Leisen-Reimer binomial price (odd steps) into ``out``; see :func:`american_crr`."""
    for i in prange(F.shape[0]):
        out[i] = _tree_one(F[i], K[i], T[i], r[i], sigma[i], w[i], steps, True, american)


american_baw_nb = njit(cache=True, parallel=True)(american_baw)
american_bjs_nb = njit(cache=True, parallel=True)(american_bjs)
american_crr_nb = njit(cache=True, parallel=True)(american_crr)
american_lr_nb = njit(cache=True, parallel=True)(american_lr)


def _warmup() -> None:
    a = np.ones(2)
    w = np.array([1.0, -1.0])
    out = np.empty(2)
    american_baw_nb(a, a, a, a * 0.05, a * 0.2, w, out)
    american_bjs_nb(a, a, a, a * 0.05, a * 0.2, w, out)
    for am in (True, False):
        american_crr_nb(a, a, a, a * 0.05, a * 0.2, w, 4, out, am)
        american_lr_nb(a, a, a, a * 0.05, a * 0.2, w, 4, out, am)
