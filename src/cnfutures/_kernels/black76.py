"""Black-76 kernels (options on futures) and the normal-distribution helpers they share.

Every kernel is a plain Python function over contiguous float64 arrays, bound under a
``*_nb`` name with ``njit(cache=True, parallel=True)``; the loops use ``prange``, which is
plain ``range`` when the function runs uncompiled, so the plain twin can be tested against
the compiled one. Scalar helpers are ``register_jitable``: plain Python when called from
Python, inlined when called from compiled code.

Speed: numba 0.68 has no SVML, so ``exp``/``log``/``erfc`` are scalar libm calls. The price
needs one ``log``, one ``exp`` for both normal densities (``n(d2) = n(d1) * F / K``) and
one ``exp`` for the discount factor; the two normal CDFs are Cody's rational
approximations (Math. Comp. 1969) scaled by that single density: the relative error is
a few ulp times ``1 + d^2/2`` (the rounding of ``d^2`` inside ``exp``); :func:`ncdf` splits
the exponent as Cody does and stays within a few ulp in both tails.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange
from numba.extending import register_jitable

__all__ = [
    "black76_greeks",
    "black76_greeks_nb",
    "black76_price",
    "black76_price_nb",
    "erfcx",
    "erfcx_tail_q",
    "log_moneyness",
    "ncdf",
    "ncdf_scaled",
    "normalised_black_call",
    "npdf",
]

SQRT_TWO_PI = 2.5066282746310002
ONE_OVER_SQRT_TWO_PI = 0.3989422804014327
ONE_OVER_SQRT_TWO = 0.7071067811865476
SQRT_PI = 1.7724538509055159
ONE_OVER_SQRT_PI = 0.5641895835477563
DAYS_PER_YEAR = 365.0
FOURTH_ROOT_DBL_EPSILON = 0.0001220703125
SIXTEENTH_ROOT_DBL_EPSILON = 0.10511205190671433
ASYMPTOTIC_EXPANSION_ACCURACY_THRESHOLD = -10.0
SMALL_T_EXPANSION_THRESHOLD = 2.0 * SIXTEENTH_ROOT_DBL_EPSILON

# W. J. Cody, "Rational Chebyshev approximations for the error function", Math. Comp. 23
# (1969) 631-638; coefficients as in his CALERF (netlib specfun).
_A0, _A1, _A2, _A3, _A4 = (
    3.1611237438705656, 113.864154151050156, 377.485237685302021, 3209.37758913846947,
    0.185777706184603153,
)
_B0, _B1, _B2, _B3 = 23.6012909523441209, 244.024637934444173, 1282.61652607737228, 2844.23683343917062
_C0, _C1, _C2, _C3, _C4, _C5, _C6, _C7, _C8 = (
    0.564188496988670089, 8.88314979438837594, 66.1191906371416295, 298.635138197400131,
    881.95222124176909, 1712.04761263407058, 2051.07837782607147, 1230.33935479799725,
    2.15311535474403846e-8,
)
_D0, _D1, _D2, _D3, _D4, _D5, _D6, _D7 = (
    15.7449261107098347, 117.693950891312499, 537.181101862009858, 1621.38957456669019,
    3290.79923573345963, 4362.61909014324716, 3439.36767414372164, 1230.33935480374942,
)
_P0, _P1, _P2, _P3, _P4, _P5 = (
    0.305326634961232344, 0.360344899949804439, 0.125781726111229246, 0.0160837851487422766,
    6.58749161529837803e-4, 0.0163153871373020978,
)
_Q0, _Q1, _Q2, _Q3, _Q4 = (
    2.56852019228982242, 1.87295284992346047, 0.527905102951428412, 0.0605183413124413191,
    0.00233520497626869185,
)


@register_jitable
def _erf_small(y: float) -> float:
    """erf(y) for |y| <= 0.46875 (Cody's first interval)."""
    ysq = y * y
    num = ((((_A4 * ysq + _A0) * ysq + _A1) * ysq + _A2) * ysq + _A3)
    den = ((((ysq + _B0) * ysq + _B1) * ysq + _B2) * ysq + _B3)
    return y * num / den


@register_jitable
def _erfcx_pos(y: float) -> float:
    """erfcx(y) = exp(y^2) erfc(y) for y > 0.46875, without any exponential."""
    if y <= 4.0:
        num = (((((((_C8 * y + _C0) * y + _C1) * y + _C2) * y + _C3) * y + _C4) * y + _C5) * y
               + _C6) * y + _C7
        den = (((((((y + _D0) * y + _D1) * y + _D2) * y + _D3) * y + _D4) * y + _D5) * y
               + _D6) * y + _D7
        return num / den
    if y >= 6.71e7:
        return ONE_OVER_SQRT_PI / y
    z = 1.0 / (y * y)
    num = ((((_P5 * z + _P0) * z + _P1) * z + _P2) * z + _P3) * z + _P4
    den = ((((z + _Q0) * z + _Q1) * z + _Q2) * z + _Q3) * z + _Q4
    return (ONE_OVER_SQRT_PI - z * num / den) / y


@register_jitable
def erfcx_tail_q(y: float) -> float:
    """``1 - sqrt(pi) y erfcx(y)`` for y > 4, without cancellation (Cody's tail form)."""
    z = 1.0 / (y * y)
    num = ((((_P5 * z + _P0) * z + _P1) * z + _P2) * z + _P3) * z + _P4
    den = ((((z + _Q0) * z + _Q1) * z + _Q2) * z + _Q3) * z + _Q4
    return SQRT_PI * z * num / den


@register_jitable
def erfcx(x: float) -> float:
    """Scaled complementary error function ``exp(x^2) * erfc(x)`` (Cody 1969)."""
    y = abs(x)
    r = (1.0 - _erf_small(y)) * math.exp(y * y) if y <= 0.46875 else _erfcx_pos(y)
    if x < 0.0:
        if x < -26.628:
            return math.inf
        r = 2.0 * math.exp(x * x) - r
    return r


@register_jitable
def npdf(z: float) -> float:
    """Standard normal density."""
    return ONE_OVER_SQRT_TWO_PI * math.exp(-0.5 * z * z)


@register_jitable
def ncdf_scaled(z: float, e: float) -> float:
    """Standard normal CDF ``N(z)`` given ``e = exp(-z^2 / 2)`` computed by the caller.

    Lets one exponential serve two CDFs (Black-76 uses ``n(d2) = n(d1) F/K``).
    """
    y = abs(z) * ONE_OVER_SQRT_TWO
    if y <= 0.46875:
        return 0.5 + 0.5 * _erf_small(z * ONE_OVER_SQRT_TWO)
    tail = 0.5 * e * _erfcx_pos(y)
    return tail if z < 0.0 else 1.0 - tail


@register_jitable
def ncdf(z: float) -> float:
    """Standard normal CDF, a few ulp relative in both tails.

    ``exp(-z^2/2)`` is split as in Cody's CALERF (``z = zs + (z - zs)`` with ``zs`` a
    multiple of 1/16) so the rounding of ``z^2`` does not grow the error in the far tail.
    """
    zs = math.trunc(z * 16.0) / 16.0
    e = math.exp(-0.5 * zs * zs) * math.exp(-0.5 * (z - zs) * (z + zs))
    return ncdf_scaled(z, e)


# --------------------------------------------------------------------------------------
# the normalised Black function b(x, s) = N(x/s + s/2) e^{x/2} - N(x/s - s/2) e^{-x/2}
# (Jäckel, "Let's Be Rational", 2015; see implied.py for the licence notice)
# --------------------------------------------------------------------------------------
@register_jitable
def _asymptotic_expansion(h: float, t: float) -> float:
    """b for large negative (t - |h|): Abramowitz & Stegun 26.2.12, as in Jäckel (2015)."""
    e = (t / h) * (t / h)
    r = (h + t) * (h - t)
    q = (h / r) * (h / r)
    # fmt: off
    s = (2.0+q*(-6.0E0-2.0*e+3.0*q*(1.0E1+e*(2.0E1+2.0*e)+5.0*q*(-1.4E1+e*(-7.0E1+e*(-4.2E1-2.0*e))+7.0*q*(1.8E1+e*(1.68E2+e*(2.52E2+e*(7.2E1+2.0*e)))+9.0*q*(-2.2E1+e*(-3.3E2+e*(-9.24E2+e*(-6.6E2+e*(-1.1E2-2.0*e))))+1.1E1*q*(2.6E1+e*(5.72E2+e*(2.574E3+e*(3.432E3+e*(1.43E3+e*(1.56E2+2.0*e)))))+1.3E1*q*(-3.0E1+e*(-9.1E2+e*(-6.006E3+e*(-1.287E4+e*(-1.001E4+e*(-2.73E3+e*(-2.1E2-2.0*e))))))+1.5E1*q*(3.4E1+e*(1.36E3+e*(1.2376E4+e*(3.8896E4+e*(4.862E4+e*(2.4752E4+e*(4.76E3+e*(2.72E2+2.0*e)))))))+1.7E1*q*(-3.8E1+e*(-1.938E3+e*(-2.3256E4+e*(-1.00776E5+e*(-1.84756E5+e*(-1.51164E5+e*(-5.4264E4+e*(-7.752E3+e*(-3.42E2-2.0*e))))))))+1.9E1*q*(4.2E1+e*(2.66E3+e*(4.0698E4+e*(2.3256E5+e*(5.8786E5+e*(7.05432E5+e*(4.0698E5+e*(1.08528E5+e*(1.197E4+e*(4.2E2+2.0*e)))))))))+2.1E1*q*(-4.6E1+e*(-3.542E3+e*(-6.7298E4+e*(-4.90314E5+e*(-1.63438E6+e*(-2.704156E6+e*(-2.288132E6+e*(-9.80628E5+e*(-2.01894E5+e*(-1.771E4+e*(-5.06E2-2.0*e))))))))))+2.3E1*q*(5.0E1+e*(4.6E3+e*(1.0626E5+e*(9.614E5+e*(4.08595E6+e*(8.9148E6+e*(1.04006E7+e*(6.53752E6+e*(2.16315E6+e*(3.542E5+e*(2.53E4+e*(6.0E2+2.0*e)))))))))))+2.5E1*q*(-5.4E1+e*(-5.85E3+e*(-1.6146E5+e*(-1.77606E6+e*(-9.37365E6+e*(-2.607579E7+e*(-4.01166E7+e*(-3.476772E7+e*(-1.687257E7+e*(-4.44015E6+e*(-5.9202E5+e*(-3.51E4+e*(-7.02E2-2.0*e))))))))))))+2.7E1*q*(5.8E1+e*(7.308E3+e*(2.3751E5+e*(3.12156E6+e*(2.003001E7+e*(6.919458E7+e*(1.3572783E8+e*(1.5511752E8+e*(1.0379187E8+e*(4.006002E7+e*(8.58429E6+e*(9.5004E5+e*(4.7502E4+e*(8.12E2+2.0*e)))))))))))))+2.9E1*q*(-6.2E1+e*(-8.99E3+e*(-3.39822E5+e*(-5.25915E6+e*(-4.032015E7+e*(-1.6934463E8+e*(-4.1250615E8+e*(-6.0108039E8+e*(-5.3036505E8+e*(-2.8224105E8+e*(-8.870433E7+e*(-1.577745E7+e*(-1.472562E6+e*(-6.293E4+e*(-9.3E2-2.0*e))))))))))))))+3.1E1*q*(6.6E1+e*(1.0912E4+e*(4.74672E5+e*(8.544096E6+e*(7.71342E7+e*(3.8707344E8+e*(1.14633288E9+e*(2.07431664E9+e*(2.33360622E9+e*(1.6376184E9+e*(7.0963464E8+e*(1.8512208E8+e*(2.7768312E7+e*(2.215136E6+e*(8.184E4+e*(1.056E3+2.0*e)))))))))))))))+3.3E1*(-7.0E1+e*(-1.309E4+e*(-6.49264E5+e*(-1.344904E7+e*(-1.4121492E8+e*(-8.344518E8+e*(-2.9526756E9+e*(-6.49588632E9+e*(-9.0751353E9+e*(-8.1198579E9+e*(-4.6399188E9+e*(-1.6689036E9+e*(-3.67158792E8+e*(-4.707164E7+e*(-3.24632E6+e*(-1.0472E5+e*(-1.19E3-2.0*e)))))))))))))))))*q)))))))))))))))))  # noqa: E501
    # fmt: on
    b = ONE_OVER_SQRT_TWO_PI * math.exp(-0.5 * (h * h + t * t)) * (t / r) * s
    return abs(max(b, 0.0))


@register_jitable
def _small_t_expansion(h: float, t: float) -> float:
    """b for small t = s/2 (twelfth order in t), Jäckel (2015)."""
    a = 1.0 + h * (0.5 * SQRT_TWO_PI) * erfcx(-ONE_OVER_SQRT_TWO * h)
    w = t * t
    h2 = h * h
    # fmt: off
    expansion = 2*t*(a+w*((-1+3*a+a*h2)/6+w*((-7+15*a+h2*(-1+10*a+a*h2))/120+w*((-57+105*a+h2*(-18+105*a+h2*(-1+21*a+a*h2)))/5040+w*((-561+945*a+h2*(-285+1260*a+h2*(-33+378*a+h2*(-1+36*a+a*h2))))/362880+w*((-6555+10395*a+h2*(-4680+17325*a+h2*(-840+6930*a+h2*(-52+990*a+h2*(-1+55*a+a*h2)))))/39916800+((-89055+135135*a+h2*(-82845+270270*a+h2*(-20370+135135*a+h2*(-1926+25740*a+h2*(-75+2145*a+h2*(-1+78*a+a*h2))))))*w)/6227020800.0))))))  # noqa: E501
    # fmt: on
    b = ONE_OVER_SQRT_TWO_PI * math.exp(-0.5 * (h * h + t * t)) * expansion
    return abs(max(b, 0.0))


@register_jitable
def _normalised_intrinsic_call(x: float) -> float:
    if x <= 0.0:
        return 0.0
    x2 = x * x
    if x2 < 98.0 * FOURTH_ROOT_DBL_EPSILON:
        return abs(max(x * (1.0 + x2 * ((1.0 / 24.0) + x2 * ((1.0 / 1920.0) + x2 * (
            (1.0 / 322560.0) + (1.0 / 92897280.0) * x2)))), 0.0))
    b_max = math.exp(0.5 * x)
    return abs(max(b_max - 1.0 / b_max, 0.0))


@register_jitable
def _normalised_black_call_otm(x: float, s: float) -> float:
    """b(x, s) for x <= 0, each region with the formula Jäckel (2015) prescribes."""
    if s <= 0.0:
        return 0.0
    if x < s * ASYMPTOTIC_EXPANSION_ACCURACY_THRESHOLD and 0.5 * s * s + x < s * (
        SMALL_T_EXPANSION_THRESHOLD + ASYMPTOTIC_EXPANSION_ACCURACY_THRESHOLD
    ):
        return _asymptotic_expansion(x / s, 0.5 * s)
    if 0.5 * s < SMALL_T_EXPANSION_THRESHOLD:
        return _small_t_expansion(x / s, 0.5 * s)
    if x + 0.5 * s * s > s * 0.85:
        h = x / s
        t = 0.5 * s
        b_max = math.exp(0.5 * x)
        # here h + t > 0.85: the first term dominates, so the unsplit exponent suffices
        # and the density of h - t follows from that of h + t (n(h-t) = n(h+t) e^{x})
        e1 = math.exp(-0.5 * (h + t) * (h + t))
        b = (ncdf_scaled(h + t, e1) * b_max
             - ncdf_scaled(h - t, e1 * b_max * b_max) / b_max)
        return abs(max(b, 0.0))
    h = x / s
    t = 0.5 * s
    b = 0.5 * math.exp(-0.5 * (h * h + t * t)) * (
        erfcx(-ONE_OVER_SQRT_TWO * (h + t)) - erfcx(-ONE_OVER_SQRT_TWO * (h - t))
    )
    return abs(max(b, 0.0))


@register_jitable
def normalised_black_call(x: float, s: float) -> float:
    """Normalised Black call ``b(x, s)`` with ``x = ln(F/K)`` and ``s = sigma sqrt(T)``."""
    if x > 0.0:
        return _normalised_intrinsic_call(x) + _normalised_black_call_otm(-x, s)
    return _normalised_black_call_otm(x, s)


@register_jitable
def log_moneyness(F: float, K: float) -> float:
    """``ln(F/K)`` to a few ulp relative even near the money (``log1p`` of the exact F - K)."""
    d = F - K
    if abs(d) < 0.5 * K:
        return math.log1p(d / K)
    return math.log(F / K)


@register_jitable
def _black76_one(F: float, K: float, T: float, r: float, sigma: float, w: float) -> float:
    disc = math.exp(-r * T)
    st = sigma * math.sqrt(T)
    if st <= 0.0:
        return disc * max(w * (F - K), 0.0)
    fk = F / K
    d1 = math.log(fk) / st + 0.5 * st  # log1p form only needed in the cancelling branch
    d2 = d1 - st
    e1 = math.exp(-0.5 * d1 * d1)
    e2 = e1 * fk  # exp(-d2^2/2) = exp(-d1^2/2) * F/K exactly in real arithmetic
    a = F * ncdf_scaled(w * d1, e1)
    c = K * ncdf_scaled(w * d2, e2)
    v = w * (a - c)
    if v < 0.03125 * max(a, c):
        # more than 5 bits cancel (out of the money, small sigma sqrt(T)): use Jaeckel's
        # normalised Black function, accurate to a few ulp across the wings; a put at
        # x = ln(F/K) is the normalised call at -x (reciprocal-strike symmetry)
        v = math.sqrt(F) * math.sqrt(K) * normalised_black_call(w * log_moneyness(F, K), st)
    return disc * v


def black76_price(
    F: np.ndarray, K: np.ndarray, T: np.ndarray, r: np.ndarray, sigma: np.ndarray,
    w: np.ndarray, out: np.ndarray,
) -> None:
    """Black-76 price into ``out``; ``w`` is +1 (call) or -1 (put). Inputs pre-validated."""
    for i in prange(F.shape[0]):
        out[i] = _black76_one(F[i], K[i], T[i], r[i], sigma[i], w[i])


def black76_greeks(
    F: np.ndarray, K: np.ndarray, T: np.ndarray, r: np.ndarray, sigma: np.ndarray,
    w: np.ndarray, price: np.ndarray, delta: np.ndarray, gamma: np.ndarray, vega: np.ndarray,
    theta: np.ndarray, rho: np.ndarray, vanna: np.ndarray, volga: np.ndarray,
) -> None:
    """Black-76 price and Greeks into the output arrays.

    delta = dV/dF, gamma = d2V/dF2, vega = dV/dsigma (per 1.00), theta = -dV/dT / 365
    (per calendar day), rho = dV/dr (per 1.00, F held fixed), vanna = d2V/dF dsigma,
    volga = d2V/dsigma2.
    """
    for i in prange(F.shape[0]):
        f = F[i]
        k = K[i]
        t = T[i]
        s = sigma[i]
        ww = w[i]
        disc = math.exp(-r[i] * t)
        sqt = math.sqrt(t)
        st = s * sqt
        fk = f / k
        x = log_moneyness(f, k)
        if st > 0.0:
            d1 = x / st + 0.5 * st
            d2 = d1 - st
        else:
            d1 = math.inf if x > 0.0 else (-math.inf if x < 0.0 else 0.0)
            d2 = d1
        e1 = math.exp(-0.5 * d1 * d1)
        n1 = ONE_OVER_SQRT_TWO_PI * e1
        nd1 = ncdf_scaled(ww * d1, e1)
        v = disc * ww * (f * nd1 - k * ncdf_scaled(ww * d2, e1 * fk))
        if st <= 0.0:
            v = disc * max(ww * (f - k), 0.0)
        price[i] = v
        delta[i] = disc * ww * nd1
        vg = disc * f * n1 * sqt
        vega[i] = vg
        if n1 > 0.0:
            gamma[i] = disc * n1 / (f * st) if st > 0.0 else math.inf
            vanna[i] = -disc * n1 * d2 / s if st > 0.0 else 0.0
            volga[i] = vg * d1 * d2 / s if st > 0.0 else 0.0
        else:
            gamma[i] = 0.0
            vanna[i] = 0.0
            volga[i] = 0.0
        theta[i] = (r[i] * v - disc * f * n1 * s / (2.0 * sqt)) / DAYS_PER_YEAR
        rho[i] = -t * v


black76_price_nb = njit(cache=True, parallel=True)(black76_price)
black76_greeks_nb = njit(cache=True, parallel=True)(black76_greeks)


def _warmup() -> None:
    a = np.ones(2)
    w = np.array([1.0, -1.0])
    o = [np.empty(2) for _ in range(8)]
    black76_price_nb(a, a, a, a * 0.0, a * 0.2, w, o[0])
    black76_greeks_nb(a, a, a, a * 0.0, a * 0.2, w, *o)
