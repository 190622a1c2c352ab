"""Implied-volatility kernels: Black-76 (Jäckel's "Let's Be Rational") and Bachelier.

Black-76
    A port of Peter Jäckel's *Let's Be Rational* (Wilmott 2015, reference code 2013-2014:
    "Copyright © 2013-2014 Peter Jäckel. Permission to use, copy, modify, and distribute
    this software is freely granted, provided that this notice is preserved."), following
    the structure of its Python port ``py_lets_be_rational`` (MIT, Gammon Capital 2017),
    with two fixes: the upper-branch bracketing reset is indented as in the C++ original,
    and the normalised Black function is not recursive (numba). The initial guess is a
    rational-cubic interpolation in four branches; two safeguarded third-order Householder
    steps in a branch-specific transformed objective reach machine accuracy.
Bachelier
    The normalised out-of-the-money time value ``u / m = psi(h)`` with ``m = |F - K|``,
    ``h = m / (sigma sqrt(T))`` and ``psi(h) = n(h) q(h) / h``, ``q(h) = 1 - h R(h)``
    (``R`` the Mills ratio). ``q`` is evaluated without cancellation (a continued
    fraction in the tail), then Newton steps on ``ln psi`` (whose derivative is exact:
    ``psi' = -n(h) / h^2``) from an asymptotic initial guess, bracketed, and a final
    Newton step on the price itself.

Status codes (see :class:`cnfutures.pricing.IVStatus`): 0 ok, 1 below intrinsic,
2 at or above the maximum price, 3 non-finite input, 4 out of the model's domain,
5 no time value (price equals intrinsic value; the volatility is not determined).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange
from numba.extending import register_jitable

from cnfutures._kernels.black76 import (
    ONE_OVER_SQRT_TWO,
    ONE_OVER_SQRT_TWO_PI,
    SQRT_TWO_PI,
    erfcx,
    erfcx_tail_q,
    log_moneyness,
    ncdf,
    normalised_black_call,
)

__all__ = [
    "implied_vol_bachelier",
    "implied_vol_bachelier_nb",
    "implied_vol_black76",
    "implied_vol_black76_nb",
    "normalised_black_call",
]

DBL_EPSILON = 2.220446049250313e-16
DBL_MIN = 2.2250738585072014e-308
DBL_MAX = 1.7976931348623157e308
SQRT_DBL_MAX = 1.3407807929942596e154
SQRT_DBL_MIN = 1.4916681462400413e-154
FOURTH_ROOT_DBL_EPSILON = 0.0001220703125
SIXTEENTH_ROOT_DBL_EPSILON = 0.10511205190671433
TWO_PI = 6.283185307179586
SQRT_PI_OVER_TWO = 1.2533141373155003
SQRT_THREE = 1.7320508075688772
SQRT_ONE_OVER_THREE = 0.5773502691896257
TWO_PI_OVER_SQRT_TWENTY_SEVEN = 1.2091995761561452
PI_OVER_SIX = 0.5235987755982988

LBR_ITERATIONS = 2
IV_BLOCK = 1024  # options per parallel work item (callers schedule them dynamically)
MIN_RC_PARAMETER = -(1.0 - 1.4901161193847656e-08)
MAX_RC_PARAMETER = 2.0 / (DBL_EPSILON * DBL_EPSILON)

OK = 0
BELOW_INTRINSIC = 1
ABOVE_MAXIMUM = 2
NON_FINITE = 3
OUT_OF_DOMAIN = 4
NO_TIME_VALUE = 5


# --------------------------------------------------------------------------------------
# inverse normal CDF (Wichura, AS241, PPND16)
# --------------------------------------------------------------------------------------
@register_jitable
def inverse_ncdf(u: float) -> float:
    """Inverse standard normal CDF (Wichura 1988, AS 241), about 1e-16 relative."""
    if u <= 0.0:
        return math.log(u) if u == 0.0 else math.nan
    if u >= 1.0:
        return math.log(1.0 - u) if u == 1.0 else math.nan
    q = u - 0.5
    if abs(q) <= 0.425:
        r = 0.180625 - q * q
        return (
            q
            * (
                (
                    (
                        (
                            (
                                (
                                    (2.5090809287301226727e3 * r + 3.3430575583588128105e4) * r
                                    + 6.7265770927008700853e4
                                )
                                * r
                                + 4.5921953931549871457e4
                            )
                            * r
                            + 1.3731693765509461125e4
                        )
                        * r
                        + 1.9715909503065514427e3
                    )
                    * r
                    + 1.3314166789178437745e2
                )
                * r
                + 3.3871328727963666080e0
            )
            / (
                (
                    (
                        (
                            (
                                (
                                    (5.2264952788528545610e3 * r + 2.8729085735721942674e4) * r
                                    + 3.9307895800092710610e4
                                )
                                * r
                                + 2.1213794301586595867e4
                            )
                            * r
                            + 5.3941960214247511077e3
                        )
                        * r
                        + 6.8718700749205790830e2
                    )
                    * r
                    + 4.2313330701600911252e1
                )
                * r
                + 1.0
            )
        )
    r = u if q < 0.0 else 1.0 - u
    r = math.sqrt(-math.log(r))
    if r < 5.0:
        r -= 1.6
        ret = (
            (
                (
                    (
                        (
                            (
                                (7.74545014278341407640e-4 * r + 2.27238449892691845833e-2) * r
                                + 2.41780725177450611770e-1
                            )
                            * r
                            + 1.27045825245236838258e0
                        )
                        * r
                        + 3.64784832476320460504e0
                    )
                    * r
                    + 5.76949722146069140550e0
                )
                * r
                + 4.63033784615654529590e0
            )
            * r
            + 1.42343711074968357734e0
        ) / (
            (
                (
                    (
                        (
                            (
                                (1.05075007164441684324e-9 * r + 5.47593808499534494600e-4) * r
                                + 1.51986665636164571966e-2
                            )
                            * r
                            + 1.48103976427480074590e-1
                        )
                        * r
                        + 6.89767334985100004550e-1
                    )
                    * r
                    + 1.67638483018380384940e0
                )
                * r
                + 2.05319162663775882187e0
            )
            * r
            + 1.0
        )
    else:
        r -= 5.0
        ret = (
            (
                (
                    (
                        (
                            (
                                (2.01033439929228813265e-7 * r + 2.71155556874348757815e-5) * r
                                + 1.24266094738807843860e-3
                            )
                            * r
                            + 2.65321895265761230930e-2
                        )
                        * r
                        + 2.96560571828504891230e-1
                    )
                    * r
                    + 1.78482653991729133580e0
                )
                * r
                + 5.46378491116411436990e0
            )
            * r
            + 6.65790464350110377720e0
        ) / (
            (
                (
                    (
                        (
                            (
                                (2.04426310338993978564e-15 * r + 1.42151175831644588870e-7) * r
                                + 1.84631831751005468180e-5
                            )
                            * r
                            + 7.86869131145613259100e-4
                        )
                        * r
                        + 1.48753612908506148525e-2
                    )
                    * r
                    + 1.36929880922735805310e-1
                )
                * r
                + 5.99832206555887937690e-1
            )
            * r
            + 1.0
        )
    return -ret if q < 0.0 else ret


# --------------------------------------------------------------------------------------
# rational cubic interpolation (Delbourgo & Gregory 1985, as used by Jäckel)
# --------------------------------------------------------------------------------------
@register_jitable
def _is_zero(x: float) -> bool:
    return abs(x) < DBL_MIN


@register_jitable
def _rc_interpolation(
    x: float, x_l: float, x_r: float, y_l: float, y_r: float, d_l: float, d_r: float, r: float
) -> float:
    h = x_r - x_l
    if abs(h) <= 0.0:
        return 0.5 * (y_l + y_r)
    t = (x - x_l) / h
    if not (r >= MAX_RC_PARAMETER):
        omt = 1.0 - t
        t2 = t * t
        omt2 = omt * omt
        return (
            y_r * t2 * t + (r * y_r - h * d_r) * t2 * omt + (r * y_l + h * d_l) * t * omt2 + y_l * omt2 * omt
        ) / (1.0 + (r - 3.0) * t * omt)
    return y_r * t + y_l * (1.0 - t)


@register_jitable
def _rc_min_parameter(d_l: float, d_r: float, s: float, prefer_shape: bool) -> float:
    monotonic = d_l * s >= 0.0 and d_r * s >= 0.0
    convex = d_l <= s <= d_r
    concave = d_l >= s >= d_r
    if not monotonic and not convex and not concave:
        return MIN_RC_PARAMETER
    d_r_m_d_l = d_r - d_l
    d_r_m_s = d_r - s
    s_m_d_l = s - d_l
    r1 = -DBL_MAX
    r2 = r1
    if monotonic:
        if not _is_zero(s):
            r1 = (d_r + d_l) / s
        elif prefer_shape:
            r1 = MAX_RC_PARAMETER
    if convex or concave:
        if not (_is_zero(s_m_d_l) or _is_zero(d_r_m_s)):
            r2 = max(abs(d_r_m_d_l / d_r_m_s), abs(d_r_m_d_l / s_m_d_l))
        elif prefer_shape:
            r2 = MAX_RC_PARAMETER
    elif monotonic and prefer_shape:
        r2 = MAX_RC_PARAMETER
    return max(MIN_RC_PARAMETER, max(r1, r2))


@register_jitable
def _rc_param_left(
    x_l: float,
    x_r: float,
    y_l: float,
    y_r: float,
    d_l: float,
    d_r: float,
    d2_l: float,
    prefer_shape: bool,
) -> float:
    h = x_r - x_l
    numerator = 0.5 * h * d2_l + (d_r - d_l)
    if _is_zero(numerator):
        r = 0.0
    else:
        denominator = (y_r - y_l) / h - d_l
        if _is_zero(denominator):
            r = MAX_RC_PARAMETER if numerator > 0.0 else MIN_RC_PARAMETER
        else:
            r = numerator / denominator
    return max(r, _rc_min_parameter(d_l, d_r, (y_r - y_l) / (x_r - x_l), prefer_shape))


@register_jitable
def _rc_param_right(
    x_l: float,
    x_r: float,
    y_l: float,
    y_r: float,
    d_l: float,
    d_r: float,
    d2_r: float,
    prefer_shape: bool,
) -> float:
    h = x_r - x_l
    numerator = 0.5 * h * d2_r + (d_r - d_l)
    if _is_zero(numerator):
        r = 0.0
    else:
        denominator = d_r - (y_r - y_l) / h
        if _is_zero(denominator):
            r = MAX_RC_PARAMETER if numerator > 0.0 else MIN_RC_PARAMETER
        else:
            r = numerator / denominator
    return max(r, _rc_min_parameter(d_l, d_r, (y_r - y_l) / (x_r - x_l), prefer_shape))


@register_jitable
def _normalised_vega(x: float, s: float) -> float:
    ax = abs(x)
    if ax <= 0.0:
        return ONE_OVER_SQRT_TWO_PI * math.exp(-0.125 * s * s)
    if s <= 0.0 or s <= ax * SQRT_DBL_MIN:
        return 0.0
    return ONE_OVER_SQRT_TWO_PI * math.exp(-0.5 * ((x / s) ** 2 + (0.5 * s) ** 2))


@register_jitable
def _householder_factor(newton: float, halley: float, hh3: float) -> float:
    return (1.0 + 0.5 * halley * newton) / (1.0 + newton * (halley + hh3 * newton / 6.0))


@register_jitable
def _f_lower_map(x: float, s: float) -> tuple[float, float, float]:
    ax = abs(x)
    z = SQRT_ONE_OVER_THREE * ax / s
    y = z * z
    s2 = s * s
    Phi = ncdf(-z)
    phi = ONE_OVER_SQRT_TWO_PI * math.exp(-0.5 * z * z)
    fpp = (
        PI_OVER_SIX
        * y
        / (s2 * s)
        * Phi
        * (8.0 * SQRT_THREE * s * ax + (3.0 * s2 * (s2 - 8.0) - 8.0 * x * x) * Phi / phi)
        * math.exp(2.0 * y + 0.25 * s2)
    )
    Phi2 = Phi * Phi
    fp = TWO_PI * y * Phi2 * math.exp(y + 0.125 * s * s)
    f = TWO_PI_OVER_SQRT_TWENTY_SEVEN * ax * (Phi2 * Phi)
    return f, fp, fpp


@register_jitable
def _inverse_f_lower_map(x: float, f: float) -> float:
    if f <= 0.0:
        return 0.0
    return abs(x / (SQRT_THREE * inverse_ncdf((f / (TWO_PI_OVER_SQRT_TWENTY_SEVEN * abs(x))) ** (1.0 / 3.0))))


@register_jitable
def _f_upper_map(x: float, s: float) -> tuple[float, float, float]:
    f = ncdf(-0.5 * s)
    if x == 0.0:
        return f, -0.5, 0.0
    w = (x / s) ** 2
    fp = -0.5 * math.exp(0.5 * w)
    fpp = SQRT_PI_OVER_TWO * math.exp(w + 0.125 * s * s) * w / s
    return f, fp, fpp


@register_jitable
def normalised_implied_vol_otm(beta: float, x: float) -> float:
    """s = sigma sqrt(T) from the normalised out-of-the-money call price beta, x <= 0.

    The caller guarantees 0 < beta < b_max = exp(x/2).
    """
    N = LBR_ITERATIONS
    b_max = math.exp(0.5 * x)
    iterations = 0
    direction_reversal_count = 0
    f = -DBL_MAX
    s = -DBL_MAX
    ds = s
    ds_previous = 0.0
    s_left = DBL_MIN
    s_right = DBL_MAX
    s_c = math.sqrt(abs(2.0 * x))
    b_c = normalised_black_call(x, s_c)
    v_c = _normalised_vega(x, s_c)
    if beta < b_c:
        s_l = s_c - b_c / v_c
        b_l = normalised_black_call(x, s_l)
        if beta < b_l:
            f_l, fp_l, fpp_l = _f_lower_map(x, s_l)
            r_ll = _rc_param_right(0.0, b_l, 0.0, f_l, 1.0, fp_l, fpp_l, True)
            f = _rc_interpolation(beta, 0.0, b_l, 0.0, f_l, 1.0, fp_l, r_ll)
            if not (f > 0.0):
                t = beta / b_l
                f = (f_l * t + b_l * (1.0 - t)) * t
            s = _inverse_f_lower_map(x, f)
            s_right = s_l
            # lower branch: objective 1/ln(b) - 1/ln(beta)
            while iterations < N and abs(ds) > DBL_EPSILON * s:
                if ds * ds_previous < 0.0:
                    direction_reversal_count += 1
                if iterations > 0 and (direction_reversal_count == 3 or not (s_left < s < s_right)):
                    s = 0.5 * (s_left + s_right)
                    if s_right - s_left <= DBL_EPSILON * s:
                        break
                    direction_reversal_count = 0
                    ds = 0.0
                ds_previous = ds
                b = normalised_black_call(x, s)
                bp = _normalised_vega(x, s)
                if b > beta and s < s_right:
                    s_right = s
                elif b < beta and s > s_left:
                    s_left = s
                if b <= 0.0 or bp <= 0.0:
                    ds = 0.5 * (s_left + s_right) - s
                else:
                    ln_b = math.log(b)
                    ln_beta = math.log(beta)
                    bpob = bp / b
                    h = x / s
                    b_halley = h * h / s - s / 4.0
                    newton = (ln_beta - ln_b) * ln_b / ln_beta / bpob
                    halley = b_halley - bpob * (1.0 + 2.0 / ln_b)
                    b_hh3 = b_halley * b_halley - 3.0 * (h / s) ** 2 - 0.25
                    hh3 = (
                        b_hh3
                        + 2.0 * bpob * bpob * (1.0 + 3.0 / ln_b * (1.0 + 1.0 / ln_b))
                        - 3.0 * b_halley * bpob * (1.0 + 2.0 / ln_b)
                    )
                    ds = newton * _householder_factor(newton, halley, hh3)
                ds = max(-0.5 * s, ds)
                s += ds
                iterations += 1
            return s
        v_l = _normalised_vega(x, s_l)
        r_lm = _rc_param_right(b_l, b_c, s_l, s_c, 1.0 / v_l, 1.0 / v_c, 0.0, False)
        s = _rc_interpolation(beta, b_l, b_c, s_l, s_c, 1.0 / v_l, 1.0 / v_c, r_lm)
        s_left = s_l
        s_right = s_c
    else:
        s_h = s_c + (b_max - b_c) / v_c if v_c > DBL_MIN else s_c
        b_h = normalised_black_call(x, s_h)
        if beta <= b_h:
            v_h = _normalised_vega(x, s_h)
            r_hm = _rc_param_left(b_c, b_h, s_c, s_h, 1.0 / v_c, 1.0 / v_h, 0.0, False)
            s = _rc_interpolation(beta, b_c, b_h, s_c, s_h, 1.0 / v_c, 1.0 / v_h, r_hm)
            s_left = s_c
            s_right = s_h
        else:
            f_h, fp_h, fpp_h = _f_upper_map(x, s_h)
            if -SQRT_DBL_MAX < fpp_h < SQRT_DBL_MAX:
                r_hh = _rc_param_left(b_h, b_max, f_h, 0.0, fp_h, -0.5, fpp_h, True)
                f = _rc_interpolation(beta, b_h, b_max, f_h, 0.0, fp_h, -0.5, r_hh)
            if f <= 0.0:
                hh = b_max - b_h
                t = (beta - b_h) / hh
                f = (f_h * (1.0 - t) + 0.5 * hh * t) * (1.0 - t)
            s = -2.0 * inverse_ncdf(f)
            s_left = s_h
            if beta > 0.5 * b_max:
                # upper branch: objective ln((b_max - beta) / (b_max - b))
                while iterations < N and abs(ds) > DBL_EPSILON * s:
                    if ds * ds_previous < 0.0:
                        direction_reversal_count += 1
                    if iterations > 0 and (direction_reversal_count == 3 or not (s_left < s < s_right)):
                        s = 0.5 * (s_left + s_right)
                        if s_right - s_left <= DBL_EPSILON * s:
                            break
                        direction_reversal_count = 0
                        ds = 0.0
                    ds_previous = ds
                    b = normalised_black_call(x, s)
                    bp = _normalised_vega(x, s)
                    if b > beta and s < s_right:
                        s_right = s
                    elif b < beta and s > s_left:
                        s_left = s
                    if b >= b_max or bp <= DBL_MIN:
                        ds = 0.5 * (s_left + s_right) - s
                    else:
                        b_max_minus_b = b_max - b
                        g = math.log((b_max - beta) / b_max_minus_b)
                        gp = bp / b_max_minus_b
                        b_halley = (x / s) ** 2 / s - s / 4.0
                        b_hh3 = b_halley * b_halley - 3.0 * (x / (s * s)) ** 2 - 0.25
                        newton = -g / gp
                        halley = b_halley + gp
                        hh3 = b_hh3 + gp * (2.0 * gp + 3.0 * b_halley)
                        ds = newton * _householder_factor(newton, halley, hh3)
                    ds = max(-0.5 * s, ds)
                    s += ds
                    iterations += 1
                return s
    # central branches: objective b - beta
    while iterations < N and abs(ds) > DBL_EPSILON * s:
        if ds * ds_previous < 0.0:
            direction_reversal_count += 1
        if iterations > 0 and (direction_reversal_count == 3 or not (s_left < s < s_right)):
            s = 0.5 * (s_left + s_right)
            if s_right - s_left <= DBL_EPSILON * s:
                break
            direction_reversal_count = 0
            ds = 0.0
        ds_previous = ds
        b = normalised_black_call(x, s)
        bp = _normalised_vega(x, s)
        if b > beta and s < s_right:
            s_right = s
        elif b < beta and s > s_left:
            s_left = s
        newton = (beta - b) / bp
        halley = (x / s) ** 2 / s - s / 4.0
        hh3 = halley * halley - 3.0 * (x / (s * s)) ** 2 - 0.25
        ds = max(-0.5 * s, newton * _householder_factor(newton, halley, hh3))
        s += ds
        iterations += 1
    return s


@register_jitable
def _iv_black76_one(price: float, F: float, K: float, T: float, r: float, w: float) -> tuple[float, int]:
    if not (
        math.isfinite(price)
        and math.isfinite(F)
        and math.isfinite(K)
        and math.isfinite(T)
        and math.isfinite(r)
        and math.isfinite(w)
    ):
        return math.nan, NON_FINITE
    if T <= 0.0 or F <= 0.0 or K <= 0.0 or (w != 1.0 and w != -1.0):
        return math.nan, OUT_OF_DOMAIN
    p = price * math.exp(r * T)
    intrinsic = max(w * (F - K), 0.0)
    if p < intrinsic:
        return math.nan, BELOW_INTRINSIC
    if p >= (F if w > 0.0 else K):
        return math.nan, ABOVE_MAXIMUM
    x = log_moneyness(F, K)
    if w * x > 0.0:  # in the money: use the out-of-the-money twin (put-call parity)
        p = p - intrinsic
    if p <= 0.0:
        return math.nan, NO_TIME_VALUE
    # reciprocal-strike symmetry: an OTM put at x is an OTM call at -x; call it at -|x|
    xx = -abs(x)
    beta = p / (math.sqrt(F) * math.sqrt(K))
    if beta >= math.exp(0.5 * xx):
        return math.nan, ABOVE_MAXIMUM
    s = normalised_implied_vol_otm(beta, xx)
    return s / math.sqrt(T), OK


def implied_vol_black76(
    price: np.ndarray,
    F: np.ndarray,
    K: np.ndarray,
    T: np.ndarray,
    r: np.ndarray,
    w: np.ndarray,
    out: np.ndarray,
    status: np.ndarray,
) -> int:
    """Black-76 implied volatility into ``out`` [1/sqrt(year)] and ``status`` (int64).

    Returns the smallest index whose status is not OK, or -1. Inputs need no prior
    validation: non-finite or out-of-domain inputs get their status code.
    """
    n = price.shape[0]
    nblocks = (n + IV_BLOCK - 1) // IV_BLOCK
    first = np.full(nblocks, n, dtype=np.int64)
    for b in prange(nblocks):
        for i in range(b * IV_BLOCK, min((b + 1) * IV_BLOCK, n)):
            v, st = _iv_black76_one(price[i], F[i], K[i], T[i], r[i], w[i])
            out[i] = v
            status[i] = st
            if st != OK and first[b] == n:
                first[b] = i
    bad = first.min() if nblocks > 0 else n
    return -1 if bad == n else int(bad)


# --------------------------------------------------------------------------------------
# Bachelier
# --------------------------------------------------------------------------------------
@register_jitable
def _bachelier_q(h: float) -> float:
    """q(h) = 1 - h R(h), R the Mills ratio N(-h)/n(h), for h >= 0, without cancellation."""
    if h < 2.5:
        return 1.0 - h * SQRT_PI_OVER_TWO * erfcx(ONE_OVER_SQRT_TWO * h)
    if h > 5.66:
        return erfcx_tail_q(ONE_OVER_SQRT_TWO * h)
    # R(h) = 1/(h + c), c = 1/(h + 2/(h + 3/(h + ...))) (Laplace's continued fraction), so
    # q = c / (h + c); evaluated bottom-up with enough terms for full accuracy.
    n = 80 if h < 3.0 else (60 if h < 4.0 else 40)
    c = 0.0
    for k in range(n, 1, -1):
        c = k / (h + c)
    c = 1.0 / (h + c)
    return c / (h + c)


@register_jitable
def bachelier_otm_normalised(h: float) -> float:
    """psi(h) = n(h)/h - N(-h) = n(h) q(h) / h for h > 0 (OTM time value / |F - K|)."""
    return ONE_OVER_SQRT_TWO_PI * math.exp(-0.5 * h * h) * _bachelier_q(h) / h


@register_jitable
def _iv_bachelier_one(price: float, F: float, K: float, T: float, r: float, w: float) -> tuple[float, int]:
    if not (
        math.isfinite(price)
        and math.isfinite(F)
        and math.isfinite(K)
        and math.isfinite(T)
        and math.isfinite(r)
        and math.isfinite(w)
    ):
        return math.nan, NON_FINITE
    if T <= 0.0 or (w != 1.0 and w != -1.0):
        return math.nan, OUT_OF_DOMAIN
    p = price * math.exp(r * T)
    intrinsic = max(w * (F - K), 0.0)
    if p < intrinsic:
        return math.nan, BELOW_INTRINSIC
    u = p - intrinsic
    if u <= 0.0:
        return math.nan, NO_TIME_VALUE
    sqt = math.sqrt(T)
    m = abs(F - K)
    if m == 0.0:
        return u * SQRT_TWO_PI / sqt, OK
    target = u / m  # psi(h) = target, psi decreasing from +inf (h=0) to 0 (h=inf)
    # initial guess: large h: psi ~ n(h)/h^3 ; small h: psi ~ 1/(h sqrt(2 pi)) - 1/2
    if target >= 0.15:
        h = 1.0 / (SQRT_TWO_PI * (target + 0.5))
    else:
        lt = math.log(target * SQRT_TWO_PI)
        h = math.sqrt(max(-2.0 * lt, 1.0))
        for _ in range(2):
            h = math.sqrt(max(-2.0 * (lt + 3.0 * math.log(h)), 1e-4))
    lo = 0.0
    hi = DBL_MAX
    lnt = math.log(target)
    for _ in range(100):
        q = _bachelier_q(h)
        psi = ONE_OVER_SQRT_TWO_PI * math.exp(-0.5 * h * h) * q / h
        if psi > target:
            lo = h
        else:
            hi = h
        if psi <= 0.0:  # underflow: step back
            h_new = 0.5 * (lo + h)
        else:
            # Newton on ln psi: d ln psi / dh = -n(h) / (h^2 psi) = -1 / (h q)
            h_new = h + (math.log(psi) - lnt) * h * q
            if not (lo < h_new < hi):
                h_new = 0.5 * (lo + hi) if hi < DBL_MAX else 2.0 * h
        if abs(h_new - h) <= 1e-9 * h:
            h = h_new
            break
        h = h_new
    # polish: a Newton step on psi itself (psi' = -n(h)/h^2) makes the error in sigma a few
    # ulp of price / vega
    e = ONE_OVER_SQRT_TWO_PI * math.exp(-0.5 * h * h)
    psi = e * _bachelier_q(h) / h
    if e > 0.0:
        h = h + (psi - target) * h * h / e
    return m / (h * sqt), OK


def implied_vol_bachelier(
    price: np.ndarray,
    F: np.ndarray,
    K: np.ndarray,
    T: np.ndarray,
    r: np.ndarray,
    w: np.ndarray,
    out: np.ndarray,
    status: np.ndarray,
) -> int:
    """Bachelier implied normal volatility [CNY/unit/sqrt(year)] into ``out`` and ``status``.

    Returns the smallest index whose status is not OK, or -1 (see
    :func:`implied_vol_black76`).
    """
    n = price.shape[0]
    nblocks = (n + IV_BLOCK - 1) // IV_BLOCK
    first = np.full(nblocks, n, dtype=np.int64)
    for b in prange(nblocks):
        for i in range(b * IV_BLOCK, min((b + 1) * IV_BLOCK, n)):
            v, st = _iv_bachelier_one(price[i], F[i], K[i], T[i], r[i], w[i])
            out[i] = v
            status[i] = st
            if st != OK and first[b] == n:
                first[b] = i
    bad = first.min() if nblocks > 0 else n
    return -1 if bad == n else int(bad)


implied_vol_black76_nb = njit(cache=True, parallel=True)(implied_vol_black76)
implied_vol_bachelier_nb = njit(cache=True, parallel=True)(implied_vol_bachelier)


def _warmup() -> None:
    p = np.array([0.1, 0.1])
    a = np.ones(2)
    w = np.array([1.0, -1.0])
    out = np.empty(2)
    st = np.empty(2, dtype=np.int64)
    implied_vol_black76_nb(p, a, a, a, a * 0.0, w, out, st)
    implied_vol_bachelier_nb(p, a, a, a, a * 0.0, w, out, st)
