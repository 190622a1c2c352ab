"""American options on futures (cost of carry b = 0): BAW, Bjerksund-Stensland, binomial trees.

All four follow QuantLib 1.44's engines step for step (so they can be matched to 1e-8 /
1e-9), with the futures specialisation q = r:

- ``american_baw``: Barone-Adesi & Whaley (1987) quadratic approximation with QuantLib's
  seed and Newton iteration for the critical price (tolerance 1e-6 relative to K).
  Guard (QuantLib issue #2749): for ``sigma sqrt(T) < 1e-6`` the critical-price search is
  ill-conditioned; the price is then ``max(European, intrinsic)``, the exact zero-volatility
  limit for b = 0. The iteration is also capped at 200 steps.
  Each Newton step takes one logarithm and one exponential (the Black-76 price at the trial
  price, N(d1) and n(d1) share them; QuantLib's seed, update and stopping test, so its iterates
  up to rounding: prices within 2e-13 of the engine on the booking benchmark's inputs).
- ``american_bjs``: Bjerksund & Stensland flat-boundary approximation in QuantLib's form
  (the 1993 formula; QuantLib's engine of that name), put by put-call symmetry.
- ``american_bjs2002``: Bjerksund & Stensland (2002) two-step boundary (not in QuantLib):
  the exact value of the strategy "exercise at the flat boundary I2 until t1 =
  (sqrt(5) - 1)/2 T, at I1 afterwards", which needs the bivariate normal CDF
  (:func:`bivariate_normal_cdf`, Genz 2004). Formulas as in Haug (2007), section 3.1.5;
  put by the transformation P(F, K, T, r, b, sigma) = C(K, F, T, r - b, -b, sigma).
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

from cnfutures._kernels.black76 import (
    ONE_OVER_SQRT_TWO_PI,
    _black76_one,
    log_moneyness,
    ncdf,
    ncdf_scaled,
    normalised_black_call,
)

__all__ = [
    "american_baw",
    "american_baw_nb",
    "american_bjs",
    "american_bjs2002",
    "american_bjs2002_nb",
    "american_bjs_nb",
    "american_crr",
    "american_crr_nb",
    "american_lr",
    "american_lr_nb",
    "bivariate_normal_cdf",
    "bivariate_normal_cdf_nb",
    "bvn_cdf",
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
    if std < BAW_MIN_STDDEV:
        return max(_black76_one(F, K, T, r, sigma, w), max(w * (F - K), 0.0))
    if disc >= 1.0 and w > 0.0:
        # r <= 0: early exercise of a call on a futures never pays (QuantLib too)
        return _black76_one(F, K, T, r, sigma, w)  # type: ignore[no-any-return]
    st = sigma * math.sqrt(T)  # Black-76's sigma sqrt(T) (not bit-equal to std)
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
    # Newton iteration on the critical price: QuantLib's steps, one logarithm and one
    # exponential per step (the Black-76 price at the trial price, N(d1) and n(d1) share them)
    nd_sk = math.nan  # N(w d1) at the critical price, from the step that accepts it
    for _ in range(BAW_MAX_ITER + 1):
        fsi = si * disc / disc
        fk = fsi / K
        lfk = math.log(fk)
        d1 = lfk / st + 0.5 * st
        e1 = math.exp(-0.5 * d1 * d1)
        nd1 = ncdf_scaled(w * d1, e1)  # N(w d1)
        a = fsi * nd1
        c = K * ncdf_scaled(w * (d1 - st), e1 * fk)
        v = w * (a - c)
        if v < 0.03125 * max(a, c):
            v = math.sqrt(fsi) * math.sqrt(K) * normalised_black_call(w * log_moneyness(fsi, K), st)
        temp = disc * v
        pdf = ONE_OVER_SQRT_TWO_PI * e1
        if w > 0.0:
            lhs = si - K
            rhs = temp + (1.0 - disc * nd1) * si / Q
            bi = disc * nd1 * (1.0 - 1.0 / Q) + (1.0 - disc * pdf / std) / Q
        else:
            lhs = K - si
            rhs = temp - (1.0 - disc * nd1) * si / Q
            bi = -disc * nd1 * (1.0 - 1.0 / Q) - (1.0 + disc * pdf / std) / Q
        if not (abs(lhs - rhs) / K > tolerance):
            nd_sk = nd1
            break
        si = (K + rhs - bi * si) / (1.0 - bi) if w > 0.0 else (K - rhs + bi * si) / (1.0 + bi)
    sk = si
    if nd_sk != nd_sk:  # the iteration cap was hit: N(w d1) at the last iterate
        fsk = sk * disc / disc
        nd_sk = ncdf(w * (math.log(fsk / K) + 0.5 * variance) / std)
    fwd = F * disc / disc
    if w > 0.0:
        if sk > F:
            a = (sk / Q) * (1.0 - disc * nd_sk)
            return _black76_one(fwd, K, T, r, sigma, w) + a * float((F / sk) ** Q)  # type: ignore[no-any-return]
        return F - K
    if sk < F:
        a = -(sk / Q) * (1.0 - disc * nd_sk)
        return _black76_one(fwd, K, T, r, sigma, w) + a * float((F / sk) ** Q)  # type: ignore[no-any-return]
    return K - F


@register_jitable
def _bjs_phi(S: float, gamma: float, H: float, I: float, rT: float, bT: float, v: float) -> float:
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
            value = (
                (I - X) * (S / I) ** beta * (1.0 - _bjs_phi(S, beta, I, I, rT, bT, v))
                + S * _bjs_phi(S, 1.0, I, I, rT, bT, v)
                - S * _bjs_phi(S, 1.0, X, I, rT, bT, v)
                - X * _bjs_phi(S, 0.0, I, I, rT, bT, v)
                + X * _bjs_phi(S, 0.0, X, I, rT, bT, v)
            )
        value = max(value, eur)
    if value < (S - X) * (1.0 + 10.0 * QL_EPSILON):
        value = intrinsic
    return value


# --------------------------------------------------------------------------------------
# bivariate normal CDF: A. Genz, "Numerical computation of rectangular bivariate and
# trivariate normal and t probabilities", Statistics and Computing 14 (2004) 251-260
# (his BVNU: Drezner-Wesolowsky's method with 6/12/20-point Gauss-Legendre rules, and a
# Taylor-corrected form for |rho| >= 0.925); absolute error about 1e-15
# --------------------------------------------------------------------------------------
def _gauss_legendre_half(n: int) -> tuple[np.ndarray, np.ndarray]:
    x, w = np.polynomial.legendre.leggauss(n)
    keep = x < 0.0  # Genz stores the negative half; the rule is applied at +-x
    return np.ascontiguousarray(x[keep]), np.ascontiguousarray(w[keep])


_GL_X6, _GL_W6 = _gauss_legendre_half(6)
_GL_X12, _GL_W12 = _gauss_legendre_half(12)
_GL_X20, _GL_W20 = _gauss_legendre_half(20)
TWO_PI = 6.283185307179586


@register_jitable
def _bvnu(h: float, k: float, r: float) -> float:
    """P(X > h, Y > k) for standard normals with correlation r (Genz's BVNU)."""
    ar = abs(r)
    if ar < 0.3:
        xs = _GL_X6
        ws = _GL_W6
    elif ar < 0.75:
        xs = _GL_X12
        ws = _GL_W12
    else:
        xs = _GL_X20
        ws = _GL_W20
    hk = h * k
    bvn = 0.0
    if ar < 0.925:
        hs = 0.5 * (h * h + k * k)
        asr = math.asin(r)
        for i in range(xs.shape[0]):
            sn = math.sin(asr * (xs[i] + 1.0) * 0.5)
            bvn += ws[i] * math.exp((sn * hk - hs) / (1.0 - sn * sn))
            sn = math.sin(asr * (1.0 - xs[i]) * 0.5)
            bvn += ws[i] * math.exp((sn * hk - hs) / (1.0 - sn * sn))
        return bvn * asr / (2.0 * TWO_PI) + ncdf(-h) * ncdf(-k)
    if r < 0.0:
        k = -k
        hk = -hk
    if ar < 1.0:
        a_s = (1.0 - r) * (1.0 + r)
        a = math.sqrt(a_s)
        bs = (h - k) * (h - k)
        c = (4.0 - hk) / 8.0
        d = (12.0 - hk) / 16.0
        bvn = (
            a
            * math.exp(-0.5 * (bs / a_s + hk))
            * (1.0 - c * (bs - a_s) * (1.0 - d * bs / 5.0) / 3.0 + c * d * a_s * a_s / 5.0)
        )
        if hk > -160.0:
            b = math.sqrt(bs)
            bvn -= (
                math.exp(-0.5 * hk)
                * math.sqrt(TWO_PI)
                * ncdf(-b / a)
                * b
                * (1.0 - c * bs * (1.0 - d * bs / 5.0) / 3.0)
            )
        a = 0.5 * a
        for i in range(xs.shape[0]):
            xsq = (a * (xs[i] + 1.0)) ** 2
            rs = math.sqrt(1.0 - xsq)
            bvn += (
                a
                * ws[i]
                * (
                    math.exp(-bs / (2.0 * xsq) - hk / (1.0 + rs)) / rs
                    - math.exp(-0.5 * (bs / xsq + hk)) * (1.0 + c * xsq * (1.0 + d * xsq))
                )
            )
            xsq = a_s * (1.0 - xs[i]) ** 2 / 4.0
            rs = math.sqrt(1.0 - xsq)
            bvn += (
                a
                * ws[i]
                * math.exp(-0.5 * (bs / xsq + hk))
                * (math.exp(-hk * (1.0 - rs) / (2.0 * (1.0 + rs))) / rs - (1.0 + c * xsq * (1.0 + d * xsq)))
            )
        bvn = -bvn / TWO_PI
    if r > 0.0:
        return bvn + ncdf(-max(h, k))
    return -bvn + max(0.0, ncdf(-h) - ncdf(-k))


@register_jitable
def bvn_cdf(a: float, b: float, rho: float) -> float:
    """Bivariate standard normal CDF ``M(a, b; rho) = P(X <= a, Y <= b)``, corr(X, Y) = rho.

    Genz (2004); absolute error about 1e-15 for -1 <= rho <= 1 (rho = +-1 exact limits).
    """
    return _bvnu(-a, -b, rho)


# Bjerksund-Stensland (2002) only ever needs rho = +-sqrt(t1 / T) = +-sqrt((sqrt(5) - 1) / 2)
# = +-0.786 (Genz's 20-point branch): its sines are computed once here, not per call
BJS2002_RHO = math.sqrt(0.5 * (math.sqrt(5.0) - 1.0))
_BJS_ASR = math.asin(BJS2002_RHO)
_BJS_SN_A = np.sin(_BJS_ASR * (_GL_X20 + 1.0) * 0.5)
_BJS_SN_B = np.sin(_BJS_ASR * (1.0 - _GL_X20) * 0.5)
_BJS_INV_A = 1.0 / (1.0 - _BJS_SN_A * _BJS_SN_A)
_BJS_INV_B = 1.0 / (1.0 - _BJS_SN_B * _BJS_SN_B)


@register_jitable
def _bvn_bjs2002(a: float, b: float, sign: float) -> float:
    """``M(a, b; sign * BJS2002_RHO)``: :func:`bvn_cdf`'s first branch with tabulated sines."""
    h = -a
    k = -b
    hk = sign * h * k  # sin(asin(-rho) u) = -sin(asin(rho) u)
    hs = 0.5 * (h * h + k * k)
    bvn = 0.0
    for i in range(_GL_W20.shape[0]):
        bvn += _GL_W20[i] * (
            math.exp((_BJS_SN_A[i] * hk - hs) * _BJS_INV_A[i])
            + math.exp((_BJS_SN_B[i] * hk - hs) * _BJS_INV_B[i])
        )
    return bvn * (sign * _BJS_ASR) / (2.0 * TWO_PI) + ncdf(-h) * ncdf(-k)


def bivariate_normal_cdf(a: np.ndarray, b: np.ndarray, rho: np.ndarray, out: np.ndarray) -> None:
    """``M(a_i, b_i; rho_i)`` into ``out`` (see :func:`bvn_cdf`)."""
    for i in prange(a.shape[0]):
        out[i] = _bvn_entry(a[i], b[i], rho[i])


# --------------------------------------------------------------------------------------
# Bjerksund & Stensland (2002): P. Bjerksund, G. Stensland, "Closed form valuation of
# American options", NHH discussion paper (2002); notation of Haug (2007), section 3.1.5.
# Terms that would overflow (S^beta with beta large at small sigma) are formed as ratios
# (S/I)^beta, which are <= 1 below the boundary.
# --------------------------------------------------------------------------------------
BJS2002_FAR = 12.5  # boundary this many standard deviations away: early exercise worthless


@register_jitable
def _bjs02_phi(S: float, t: float, gamma: float, H: float, I: float, r: float, b: float, s2: float) -> float:
    """Haug's phi(S, t, gamma, H, I) without its factor S^gamma."""
    st = math.sqrt(s2 * t)
    lam = (-r + gamma * b + 0.5 * gamma * (gamma - 1.0) * s2) * t
    kappa = 2.0 * b / s2 + (2.0 * gamma - 1.0)
    d = -(math.log(S / H) + (b + (gamma - 0.5) * s2) * t) / st
    li = math.log(I / S)
    return math.exp(lam) * (ncdf(d) - math.exp(kappa * li) * ncdf(d - 2.0 * li / st))


@register_jitable
def _bjs02_psi(
    S: float, T: float, gamma: float, H: float, I2: float, I1: float, t1: float, r: float, b: float, s2: float
) -> float:
    """Haug's psi(S, T, gamma, H, I2, I1, t1) without its factor S^gamma."""
    s1 = math.sqrt(s2 * t1)
    sT = math.sqrt(s2 * T)
    m = b + (gamma - 0.5) * s2
    lam = (-r + gamma * b + 0.5 * gamma * (gamma - 1.0) * s2) * T
    kappa = 2.0 * b / s2 + (2.0 * gamma - 1.0)
    l_si1 = math.log(S / I1)
    l_2 = math.log(I2 * I2 / (S * I1))
    e1 = (l_si1 + m * t1) / s1
    e2 = (l_2 + m * t1) / s1
    e3 = (l_si1 - m * t1) / s1
    e4 = (l_2 - m * t1) / s1
    f1 = (math.log(S / H) + m * T) / sT
    f2 = (math.log(I2 * I2 / (S * H)) + m * T) / sT
    f3 = (math.log(I1 * I1 / (S * H)) + m * T) / sT
    f4 = (math.log(S * I1 * I1 / (H * I2 * I2)) + m * T) / sT
    return math.exp(lam) * (
        _bvn_bjs2002(-e1, -f1, 1.0)
        - math.exp(kappa * math.log(I2 / S)) * _bvn_bjs2002(-e2, -f2, 1.0)
        - math.exp(kappa * math.log(I1 / S)) * _bvn_bjs2002(-e3, -f3, -1.0)
        + math.exp(kappa * math.log(I1 / I2)) * _bvn_bjs2002(-e4, -f4, -1.0)
    )


@register_jitable
def _bjs02_call(S: float, X: float, T: float, r: float, b: float, sigma: float) -> float:
    """Bjerksund-Stensland (2002) American call, cost of carry b (b < r); no max with Europe."""
    s2 = sigma * sigma
    t1 = 0.5 * (math.sqrt(5.0) - 1.0) * T
    beta = (0.5 - b / s2) + math.sqrt((b / s2 - 0.5) ** 2 + 2.0 * r / s2)
    b_inf = beta / (beta - 1.0) * X
    b0 = max(X, r / (r - b) * X)
    scale = X * X / ((b_inf - b0) * b0)
    h1 = -(b * t1 + 2.0 * sigma * math.sqrt(t1)) * scale
    h2 = -(b * T + 2.0 * sigma * math.sqrt(T)) * scale
    I1 = b0 + (b_inf - b0) * (-math.expm1(h1))
    I2 = b0 + (b_inf - b0) * (-math.expm1(h2))
    if S >= I2:
        return S - X
    if math.log(I2 / S) > BJS2002_FAR * sigma * math.sqrt(T):
        return -math.inf  # the caller's max with the European price decides
    # alpha_j S^beta = (I_j - X) (S / I_j)^beta
    r1 = (I1 - X) * math.exp(beta * math.log(S / I1))
    r2 = (I2 - X) * math.exp(beta * math.log(S / I2))
    return (
        r2
        - r2 * _bjs02_phi(S, t1, beta, I2, I2, r, b, s2)
        + S * _bjs02_phi(S, t1, 1.0, I2, I2, r, b, s2)
        - S * _bjs02_phi(S, t1, 1.0, I1, I2, r, b, s2)
        - X * _bjs02_phi(S, t1, 0.0, I2, I2, r, b, s2)
        + X * _bjs02_phi(S, t1, 0.0, I1, I2, r, b, s2)
        + r1 * _bjs02_phi(S, t1, beta, I1, I2, r, b, s2)
        - r1 * _bjs02_psi(S, T, beta, I1, I2, I1, t1, r, b, s2)
        + S * _bjs02_psi(S, T, 1.0, I1, I2, I1, t1, r, b, s2)
        - S * _bjs02_psi(S, T, 1.0, X, I2, I1, t1, r, b, s2)
        - X * _bjs02_psi(S, T, 0.0, I1, I2, I1, t1, r, b, s2)
        + X * _bjs02_psi(S, T, 0.0, X, I2, I1, t1, r, b, s2)
    )


@register_jitable
def _bjs2002_one(F: float, K: float, T: float, r: float, sigma: float, w: float) -> float:
    # futures: b = 0; put by P(F, K, T, r, b, sigma) = C(K, F, T, r - b, -b, sigma)
    S = F if w > 0.0 else K
    X = K if w > 0.0 else F
    intrinsic = max(S - X, 0.0)
    eur = _black76_one(S, X, T, r, sigma, 1.0)
    if sigma * sigma * T <= 0.0:
        return max(eur, intrinsic)
    if r <= 0.0:
        return eur  # b >= r: early exercise never pays
    return max(_bjs02_call(S, X, T, r, 0.0, sigma), eur, intrinsic)


@register_jitable
def _tree_one(
    F: float,
    K: float,
    T: float,
    r: float,
    sigma: float,
    w: float,
    steps: int,
    lr: bool,
    american: bool = True,
) -> float:
    if sigma * sigma * T <= 0.0:  # no volatility: the futures price stays at F
        intrinsic = max(w * (F - K), 0.0)
        eur = math.exp(-r * T) * intrinsic
        return max(eur, intrinsic) if american else eur
    n = steps
    if lr and n % 2 == 0:
        n += 1
    dt = T / n
    disc = math.exp(-r * dt)
    drift = -0.5 * sigma * sigma * dt  # per step, log space, b = 0
    pu = 0.5
    log_u = 0.0
    log_d = 0.0
    if lr:
        variance = sigma * sigma * T
        ermqdt = math.exp(drift + 0.5 * variance / n)
        d2 = (math.log(F / K) + drift * n) / math.sqrt(variance) if variance > 0.0 else math.inf
        pu = _peizer_pratt2(d2, n)
        pdash = _peizer_pratt2(d2 + math.sqrt(variance), n)
        if 0.0 < pu < 1.0:
            up = ermqdt * pdash / pu
            down = (ermqdt - pu * up) / (1.0 - pu)
        else:
            up = down = 0.0
        if up > 0.0 and down > 0.0 and variance > 1e-10:
            log_u = math.log(up)
            log_d = math.log(down)
        else:
            # |d2| so large (sigma -> 0, or deep in/out of the money) that the Peizer-Pratt
            # probability rounds to 0 or 1, or sigma sqrt(T) < 1e-5 where the lattice's
            # cancellation costs percents: the Leisen-Reimer lattice degenerates; use the CRR
            # lattice with the same number of steps (finite, converges to the same value)
            lr = False
    if not lr:
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


# one-line entries for the prange bodies (see :mod:`cnfutures._kernels`: compiling the
# ``prange`` body): only these are compiled twice, not the helpers they call
@register_jitable
def _baw_one_entry(F: float, K: float, T: float, r: float, sigma: float, w: float) -> float:
    return _baw_one(F, K, T, r, sigma, w)  # type: ignore[no-any-return]


@register_jitable
def _bjs_one_entry(F: float, K: float, T: float, r: float, sigma: float, w: float) -> float:
    return _bjs_one(F, K, T, r, sigma, w)  # type: ignore[no-any-return]


@register_jitable
def _bjs2002_one_entry(F: float, K: float, T: float, r: float, sigma: float, w: float) -> float:
    return _bjs2002_one(F, K, T, r, sigma, w)  # type: ignore[no-any-return]


@register_jitable
def _bvn_entry(a: float, b: float, rho: float) -> float:
    return bvn_cdf(a, b, rho)  # type: ignore[no-any-return]


@register_jitable
def _tree_entry(
    F: float, K: float, T: float, r: float, sigma: float, w: float, steps: int, lr: bool, american: bool
) -> float:
    return _tree_one(F, K, T, r, sigma, w, steps, lr, american)  # type: ignore[no-any-return]


def american_baw(
    F: np.ndarray,
    K: np.ndarray,
    T: np.ndarray,
    r: np.ndarray,
    sigma: np.ndarray,
    w: np.ndarray,
    out: np.ndarray,
) -> None:
    """Barone-Adesi-Whaley American price on futures into ``out``."""
    for i in prange(F.shape[0]):
        out[i] = _baw_one_entry(F[i], K[i], T[i], r[i], sigma[i], w[i])


def american_bjs(
    F: np.ndarray,
    K: np.ndarray,
    T: np.ndarray,
    r: np.ndarray,
    sigma: np.ndarray,
    w: np.ndarray,
    out: np.ndarray,
) -> None:
    """Bjerksund-Stensland (QuantLib's flat-boundary form) American price into ``out``."""
    for i in prange(F.shape[0]):
        out[i] = _bjs_one_entry(F[i], K[i], T[i], r[i], sigma[i], w[i])


def american_bjs2002(
    F: np.ndarray,
    K: np.ndarray,
    T: np.ndarray,
    r: np.ndarray,
    sigma: np.ndarray,
    w: np.ndarray,
    out: np.ndarray,
) -> None:
    """Bjerksund-Stensland (2002) two-step boundary American price on futures into ``out``."""
    for i in prange(F.shape[0]):
        out[i] = _bjs2002_one_entry(F[i], K[i], T[i], r[i], sigma[i], w[i])


def american_crr(
    F: np.ndarray,
    K: np.ndarray,
    T: np.ndarray,
    r: np.ndarray,
    sigma: np.ndarray,
    w: np.ndarray,
    steps: int,
    out: np.ndarray,
    american: bool = True,
) -> None:
    """CRR binomial price with ``steps`` steps into ``out`` (parallel over options).

    ``american=False`` prices the European option on the same lattice (a control variate
    for the early-exercise premium).
    """
    for i in prange(F.shape[0]):
        out[i] = _tree_entry(F[i], K[i], T[i], r[i], sigma[i], w[i], steps, False, american)


def american_lr(
    F: np.ndarray,
    K: np.ndarray,
    T: np.ndarray,
    r: np.ndarray,
    sigma: np.ndarray,
    w: np.ndarray,
    steps: int,
    out: np.ndarray,
    american: bool = True,
) -> None:
    """Leisen-Reimer binomial price (odd steps) into ``out``; see :func:`american_crr`."""
    for i in prange(F.shape[0]):
        out[i] = _tree_entry(F[i], K[i], T[i], r[i], sigma[i], w[i], steps, True, american)


# error_model="numpy": what the prange bodies run under anyway (see :mod:`cnfutures._kernels`)
american_baw_nb = njit(cache=True, parallel=True, error_model="numpy")(american_baw)
american_bjs_nb = njit(cache=True, parallel=True, error_model="numpy")(american_bjs)
american_bjs2002_nb = njit(cache=True, parallel=True, error_model="numpy")(american_bjs2002)
bivariate_normal_cdf_nb = njit(cache=True, parallel=True, error_model="numpy")(bivariate_normal_cdf)
american_crr_nb = njit(cache=True, parallel=True, error_model="numpy")(american_crr)
american_lr_nb = njit(cache=True, parallel=True, error_model="numpy")(american_lr)


def _warmup() -> None:
    a = np.ones(2)
    w = np.array([1.0, -1.0])
    out = np.empty(2)
    american_baw_nb(a, a, a, a * 0.05, a * 0.2, w, out)
    american_bjs_nb(a, a, a, a * 0.05, a * 0.2, w, out)
    american_bjs2002_nb(a, a, a, a * 0.05, a * 0.2, w, out)
    bivariate_normal_cdf_nb(a, a, a * 0.5, out)
    for am in (True, False):
        american_crr_nb(a, a, a, a * 0.05, a * 0.2, w, 4, out, am)
        american_lr_nb(a, a, a, a * 0.05, a * 0.2, w, 4, out, am)
