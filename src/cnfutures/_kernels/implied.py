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

    Speed: the kernel runs two passes per block of :data:`IV_BLOCK` options, as the
    Black-76 price kernels do (see :mod:`cnfutures._kernels.black76`). The first,
    :func:`_iv_black76_fast_block`, is the same algorithm for the lower and the two
    central branches without branches, so the compiler vectorises it: each stage is a loop
    over the block through a scratch array, the normalised Black function ``b(x, s)`` is
    :func:`_black_v` (Jäckel's small-``t`` expansion, erfcx difference and direct formula
    all evaluated with :func:`vexp`, :func:`_erfcx_v` and :func:`ncdf_scaled_v`, one
    selected), evaluated four times per option in one compiled loop (:func:`_black_pass`).
    ``ln(F/K)`` stays a libm ``log1p`` (scalar, cheap): its rounding is amplified by
    ``1 + h^2``. One deliberate change from Jäckel in the lower branch: the Newton
    numerator ``ln(beta) - ln(b)`` is computed as ``ln(beta / b)``, free of cancellation.
    Whatever the fast pass does not handle (invalid input, Jäckel's upper branch, his
    asymptotic-expansion region ``h < -10``, a safeguard that would bisect) is left as
    NaN and redone by the scalar second pass, :func:`_iv_black76_one`, which also sets
    every status code. On the benchmark book (``|h| <= 1.5``) the fast pass takes every
    option; on a grid with ``|h|`` up to 10 and ``s`` up to 5, over 90 %.
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
    _A0,
    _A1,
    _A2,
    _A3,
    _A4,
    _B0,
    _B1,
    _B2,
    _B3,
    _C0,
    _C1,
    _C2,
    _C3,
    _C4,
    _C5,
    _C6,
    _C7,
    _C8,
    _D0,
    _D1,
    _D2,
    _D3,
    _D4,
    _D5,
    _D6,
    _D7,
    _P0,
    _P1,
    _P2,
    _P3,
    _P4,
    _P5,
    _Q0,
    _Q1,
    _Q2,
    _Q3,
    _Q4,
    ASYMPTOTIC_EXPANSION_ACCURACY_THRESHOLD,
    ONE_OVER_SQRT_PI,
    ONE_OVER_SQRT_TWO,
    ONE_OVER_SQRT_TWO_PI,
    SMALL_T_EXPANSION_THRESHOLD,
    SQRT_TWO_PI,
    erfcx,
    erfcx_tail_q,
    log_moneyness,
    ncdf,
    ncdf_scaled_v,
    normalised_black_call,
    vexp,
    vlog,
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


# --------------------------------------------------------------------------------------
# vectorised fast path: Jäckel's lower and central branches, branch-free
# --------------------------------------------------------------------------------------
@register_jitable(forceinline=True)
def _erfcx_v(y: float) -> float:
    """:func:`erfcx` for ``y >= -26`` without branches (Cody's three pieces, two divisions).

    The piece is chosen by ``|y|`` as in :func:`erfcx`; ``y < 0`` uses
    ``erfcx(y) = 2 exp(y^2) - erfcx(-y)``. Equal to :func:`erfcx` but for the rounding of
    ``exp(y^2)`` (:func:`vexp`, within about 1 ulp) and the far tail ``y >= 6.71e7``.
    """
    ay = abs(y)
    big_e = vexp(min(y * y, 700.0))
    ys = min(ay, 0.46875)
    ysq = ys * ys
    ns = ((((_A4 * ysq + _A0) * ysq + _A1) * ysq + _A2) * ysq + _A3) * ys
    ds = (((ysq + _B0) * ysq + _B1) * ysq + _B2) * ysq + _B3
    ym = min(max(ay, 0.46875), 4.0)
    nm = (
        ((((((_C8 * ym + _C0) * ym + _C1) * ym + _C2) * ym + _C3) * ym + _C4) * ym + _C5) * ym + _C6
    ) * ym + _C7
    dm = (((((((ym + _D0) * ym + _D1) * ym + _D2) * ym + _D3) * ym + _D4) * ym + _D5) * ym + _D6) * ym + _D7
    yt = min(max(ay, 4.0), 1e150)
    q = 1.0 / (yt * yt)
    pt = ((((_P5 * q + _P0) * q + _P1) * q + _P2) * q + _P3) * q + _P4
    qt = ((((q + _Q0) * q + _Q1) * q + _Q2) * q + _Q3) * q + _Q4
    small = ay <= 0.46875
    mid = ay <= 4.0
    # one shared ratio, then each piece exactly as erfcx computes it (bit for bit, but
    # for the exponential): erf(y) = ns / ds, erfcx = nm / dm, erfcx = (1/sqrt(pi) - qp / qt) / y
    ratio = (ns if small else (nm if mid else q * pt)) / (ds if small else (dm if mid else qt))
    r = (1.0 - ratio) * big_e if small else (ratio if mid else (ONE_OVER_SQRT_PI - ratio) / yt)
    return 2.0 * big_e - r if y < 0.0 else r


@register_jitable(forceinline=True)
def _black_v(x: float, s: float, b_max: float) -> tuple[float, float, bool]:
    """Branch-free :func:`normalised_black_call` for ``x <= 0``, its vega and a fail flag.

    Returns ``(b, e, bad)`` with ``e = exp(-(h^2 + t^2)/2)`` (vega = e / sqrt(2 pi)) and
    ``bad`` set where Jäckel's asymptotic expansion would be needed or ``s`` is not in
    (0, 100): the caller hands those options to the scalar path.
    """
    s_ok = (s > 0.0) & (s < 100.0)
    ss = s if s_ok else 1.0
    h = max(x / ss, -1000.0)
    t = 0.5 * ss
    e = vexp(-0.5 * (h * h + t * t))
    # h + t > 0.85: the direct formula (n(h - t) = n(h + t) e^x)
    d1 = h + t
    e1 = vexp(-0.5 * d1 * d1)
    b_direct = ncdf_scaled_v(d1, e1) * b_max - ncdf_scaled_v(h - t, e1 * b_max * b_max) / b_max
    # small t: Jäckel's expansion; otherwise the difference of two erfcx
    small_t = t < SMALL_T_EXPANSION_THRESHOLD
    e_a = _erfcx_v(-ONE_OVER_SQRT_TWO * h if small_t else -ONE_OVER_SQRT_TWO * d1)
    e_b = _erfcx_v(-ONE_OVER_SQRT_TWO * (h - t))
    a = 1.0 + h * (0.5 * SQRT_TWO_PI) * e_a
    w = t * t
    h2 = h * h
    # fmt: off
    expansion = 2*t*(a+w*((-1+3*a+a*h2)*(1/6)+w*((-7+15*a+h2*(-1+10*a+a*h2))*(1/120)+w*((-57+105*a+h2*(-18+105*a+h2*(-1+21*a+a*h2)))*(1/5040)+w*((-561+945*a+h2*(-285+1260*a+h2*(-33+378*a+h2*(-1+36*a+a*h2))))*(1/362880)+w*((-6555+10395*a+h2*(-4680+17325*a+h2*(-840+6930*a+h2*(-52+990*a+h2*(-1+55*a+a*h2)))))*(1/39916800)+((-89055+135135*a+h2*(-82845+270270*a+h2*(-20370+135135*a+h2*(-1926+25740*a+h2*(-75+2145*a+h2*(-1+78*a+a*h2))))))*w)*(1/6227020800.0)))))))  # noqa: E501
    # fmt: on
    b_small = ONE_OVER_SQRT_TWO_PI * e * expansion
    b_diff = 0.5 * e * (e_a - e_b)
    b = b_small if small_t else (b_direct if x + 0.5 * ss * ss > ss * 0.85 else b_diff)
    b = max(b, 0.0) if s_ok else 0.0
    e = e if s_ok else 0.0
    asym = (x < ss * ASYMPTOTIC_EXPANSION_ACCURACY_THRESHOLD) & (
        0.5 * ss * ss + x < ss * (SMALL_T_EXPANSION_THRESHOLD + ASYMPTOTIC_EXPANSION_ACCURACY_THRESHOLD)
    )
    return b, e, asym | (not s_ok)


@register_jitable(forceinline=True)
def _safe(d: float) -> float:
    """``d`` where it is a usable divisor, else 1 (the quotient is then selected away)."""
    return d if abs(d) >= DBL_MIN else 1.0


@register_jitable(forceinline=True)
def _rc_min_parameter_v(d_l: float, d_r: float, s: float, prefer_shape: bool) -> float:
    """:func:`_rc_min_parameter`, branch-free."""
    monotonic = (d_l * s >= 0.0) & (d_r * s >= 0.0)
    convex = (d_l <= s) & (s <= d_r)
    concave = (d_l >= s) & (s >= d_r)
    curved = convex | concave
    d_r_m_d_l = d_r - d_l
    d_r_m_s = d_r - s
    s_m_d_l = s - d_l
    shaped = MAX_RC_PARAMETER if prefer_shape else -DBL_MAX
    r1 = (d_r + d_l) / _safe(s) if abs(s) >= DBL_MIN else shaped
    r1 = r1 if monotonic else -DBL_MAX
    use2 = curved & (abs(s_m_d_l) >= DBL_MIN) & (abs(d_r_m_s) >= DBL_MIN)
    r2 = max(abs(d_r_m_d_l / _safe(d_r_m_s)), abs(d_r_m_d_l / _safe(s_m_d_l))) if use2 else -DBL_MAX
    r2 = shaped if (curved & (not use2)) | ((not curved) & monotonic) else r2
    r = max(MIN_RC_PARAMETER, max(r1, r2))
    return r if monotonic | curved else MIN_RC_PARAMETER


@register_jitable(forceinline=True)
def _rc_guess_v(
    beta: float,
    x_l: float,
    x_r: float,
    y_l: float,
    y_r: float,
    d_l: float,
    d_r: float,
    d2: float,
    left: bool,
    prefer_shape: bool,
) -> float:
    """Jäckel's rational-cubic guesses: :func:`_rc_param_left` (``left``, curvature ``d2`` at
    ``x_l``) or :func:`_rc_param_right` (curvature at ``x_r``), then
    :func:`_rc_interpolation` at ``beta``; branch-free."""
    h = x_r - x_l
    hs = _safe(h)
    slope = (y_r - y_l) / hs
    numerator = 0.5 * h * d2 + (d_r - d_l)
    denominator = slope - d_l if left else d_r - slope
    r = numerator / _safe(denominator)
    if abs(denominator) < DBL_MIN:
        r = MAX_RC_PARAMETER if numerator > 0.0 else MIN_RC_PARAMETER
    if abs(numerator) < DBL_MIN:
        r = 0.0
    r = max(r, _rc_min_parameter_v(d_l, d_r, slope, prefer_shape))
    t = (beta - x_l) / hs
    omt = 1.0 - t
    t2 = t * t
    omt2 = omt * omt
    rational = (
        y_r * t2 * t + (r * y_r - h * d_r) * t2 * omt + (r * y_l + h * d_l) * t * omt2 + y_l * omt2 * omt
    ) / _safe(1.0 + (r - 3.0) * t * omt)
    s = rational if r < MAX_RC_PARAMETER else y_r * t + y_l * (1.0 - t)
    return s if abs(h) > 0.0 else 0.5 * (y_l + y_r)


@register_jitable(forceinline=True)
def _step_v(
    x: float, s: float, beta: float, b: float, e: float, s_left: float, s_right: float, lower_map: bool
) -> tuple[float, float, float, float, bool]:
    """One Householder(3) step of Jäckel's iteration, given ``b = b(x, s)`` and ``e`` from
    :func:`_black_v`: on ``1/ln(b) - 1/ln(beta)`` in his lower branch (``lower_map``), on
    ``b - beta`` in the central ones.

    Returns ``(s_new, ds, s_left, s_right, bad)``.
    """
    bp = ONE_OVER_SQRT_TWO_PI * e
    s_left_new = s if (b < beta) & (s > s_left) else s_left
    s_right = s if (b > beta) & (s < s_right) else s_right
    ss = s if s > 0.0 else 1.0
    bad = not ((bp > 0.0) & (b > 0.0))
    bp = bp if bp > 0.0 else 1.0
    bs = b if b > 0.0 else 0.5
    halley = (x / ss) ** 2 / ss - ss / 4.0
    hh3 = halley * halley - 3.0 * (x / (ss * ss)) ** 2 - 0.25
    # central: b - beta
    newton = (beta - b) / bp
    ds_c = newton * _householder_factor(newton, halley, hh3)
    # lower: 1/ln(b) - 1/ln(beta)
    ln_b = vlog(bs)
    ln_b = ln_b if ln_b != 0.0 else -1.0
    ln_beta = vlog(beta)
    ln_beta = ln_beta if ln_beta != 0.0 else -1.0
    bpob = bp / bs
    # ln(beta) - ln(b) as ln(beta / b): no cancellation, so the last step is accurate to
    # the rounding of b itself (Jäckel subtracts the two logarithms)
    newton_l = vlog(beta / bs) * ln_b / ln_beta / bpob
    halley_l = halley - bpob * (1.0 + 2.0 / ln_b)
    hh3_l = (
        hh3
        + 2.0 * bpob * bpob * (1.0 + 3.0 / ln_b * (1.0 + 1.0 / ln_b))
        - 3.0 * halley * bpob * (1.0 + 2.0 / ln_b)
    )
    ds_l = newton_l * _householder_factor(newton_l, halley_l, hh3_l)
    ds = max(-0.5 * ss, ds_l if lower_map else ds_c)
    return ss + ds, ds, s_left_new, s_right, bad


@register_jitable(forceinline=True)
def _f_lower_map_v(x: float, s: float) -> tuple[float, float, float]:
    """:func:`_f_lower_map` branch-free (``s > 0``); non-finite values flag a fallback."""
    ax = abs(x)
    z = SQRT_ONE_OVER_THREE * ax / s
    y = z * z
    s2 = s * s
    ez = vexp(-0.5 * z * z)
    Phi = ncdf_scaled_v(-z, ez)
    phi = ONE_OVER_SQRT_TWO_PI * ez
    phi = phi if phi > 0.0 else math.nan
    fpp = (
        PI_OVER_SIX
        * y
        / (s2 * s)
        * Phi
        * (8.0 * SQRT_THREE * s * ax + (3.0 * s2 * (s2 - 8.0) - 8.0 * x * x) * Phi / phi)
        * vexp(2.0 * y + 0.25 * s2)
    )
    Phi2 = Phi * Phi
    fp = TWO_PI * y * Phi2 * vexp(y + 0.125 * s * s)
    f = TWO_PI_OVER_SQRT_TWENTY_SEVEN * ax * (Phi2 * Phi)
    return f, fp, fpp


@register_jitable(forceinline=True)
def _inverse_ncdf_v(u: float) -> float:
    """:func:`inverse_ncdf` for ``0 < u < 1`` without branches: Wichura's three rational
    pieces all evaluated, one selected."""
    q = u - 0.5
    qc = min(max(q, -0.425), 0.425)
    rc = 0.180625 - qc * qc
    vc = (
        qc
        * (
            (
                (
                    (
                        (
                            (
                                (2.5090809287301226727e3 * rc + 3.3430575583588128105e4) * rc
                                + 6.7265770927008700853e4
                            )
                            * rc
                            + 4.5921953931549871457e4
                        )
                        * rc
                        + 1.3731693765509461125e4
                    )
                    * rc
                    + 1.9715909503065514427e3
                )
                * rc
                + 1.3314166789178437745e2
            )
            * rc
            + 3.3871328727963666080e0
        )
        / (
            (
                (
                    (
                        (
                            (
                                (5.2264952788528545610e3 * rc + 2.8729085735721942674e4) * rc
                                + 3.9307895800092710610e4
                            )
                            * rc
                            + 2.1213794301586595867e4
                        )
                        * rc
                        + 5.3941960214247511077e3
                    )
                    * rc
                    + 6.8718700749205790830e2
                )
                * rc
                + 4.2313330701600911252e1
            )
            * rc
            + 1.0
        )
    )
    r = min(u, 1.0 - u)
    r = math.sqrt(-vlog(max(r, DBL_MIN)))
    r2 = min(r, 5.0) - 1.6
    r3 = max(r, 5.0) - 5.0
    v2 = (
        (
            (
                (
                    (
                        (
                            (7.74545014278341407640e-4 * r2 + 2.27238449892691845833e-2) * r2
                            + 2.41780725177450611770e-1
                        )
                        * r2
                        + 1.27045825245236838258e0
                    )
                    * r2
                    + 3.64784832476320460504e0
                )
                * r2
                + 5.76949722146069140550e0
            )
            * r2
            + 4.63033784615654529590e0
        )
        * r2
        + 1.42343711074968357734e0
    ) / (
        (
            (
                (
                    (
                        (
                            (1.05075007164441684324e-9 * r2 + 5.47593808499534494600e-4) * r2
                            + 1.51986665636164571966e-2
                        )
                        * r2
                        + 1.48103976427480074590e-1
                    )
                    * r2
                    + 6.89767334985100004550e-1
                )
                * r2
                + 1.67638483018380384940e0
            )
            * r2
            + 2.05319162663775882187e0
        )
        * r2
        + 1.0
    )
    v3 = (
        (
            (
                (
                    (
                        (
                            (2.01033439929228813265e-7 * r3 + 2.71155556874348757815e-5) * r3
                            + 1.24266094738807843860e-3
                        )
                        * r3
                        + 2.65321895265761230930e-2
                    )
                    * r3
                    + 2.96560571828504891230e-1
                )
                * r3
                + 1.78482653991729133580e0
            )
            * r3
            + 5.46378491116411436990e0
        )
        * r3
        + 6.65790464350110377720e0
    ) / (
        (
            (
                (
                    (
                        (
                            (2.04426310338993978564e-15 * r3 + 1.42151175831644588870e-7) * r3
                            + 1.84631831751005468180e-5
                        )
                        * r3
                        + 7.86869131145613259100e-4
                    )
                    * r3
                    + 1.48753612908506148525e-2
                )
                * r3
                + 1.36929880922735805310e-1
            )
            * r3
            + 5.99832206555887937690e-1
        )
        * r3
        + 1.0
    )
    ret = v2 if r < 5.0 else v3
    ret = -ret if q < 0.0 else ret
    return vc if abs(q) <= 0.425 else ret


# rows of the per-block scratch array of the fast path (row * IV_BLOCK + i)
_X, _BETA, _BMAX, _S, _B, _E, _BAD, _OK, _BC, _VC, _SL, _SR, _DS, _LM, _ROWS = range(15)


@register_jitable
def _black_pass(sc: np.ndarray, m: int) -> None:
    """``b(x, s)``, ``e`` and the fail flag of :func:`_black_v` for the ``m`` options of a
    block (rows ``_X``, ``_S``, ``_BMAX`` in, ``_B``, ``_E``, ``_BAD`` out); vectorised."""
    for i in range(m):
        b, e, bad = _black_v(sc[_X * IV_BLOCK + i], sc[_S * IV_BLOCK + i], sc[_BMAX * IV_BLOCK + i])
        sc[_B * IV_BLOCK + i] = b
        sc[_E * IV_BLOCK + i] = e
        sc[_BAD * IV_BLOCK + i] = 1.0 if bad else 0.0


@register_jitable
def _step_pass(sc: np.ndarray, m: int) -> None:
    """One Householder(3) step (:func:`_step_v`) for the ``m`` options of a block; vectorised.

    Row ``_DS`` holds the previous step (NaN before the first): as in Jäckel's loop, an
    option whose previous step was below ``eps s`` keeps its ``s``; the bracket safeguard
    (``s_left < s < s_right``, else Jäckel would bisect) applies from the second step on
    and sends the option to the scalar path.
    """
    B = IV_BLOCK
    for i in range(m):
        s = sc[_S * B + i]
        s_left = sc[_SL * B + i]
        s_right = sc[_SR * B + i]
        ds_prev = sc[_DS * B + i]
        first = ds_prev != ds_prev  # NaN: no step yet
        s_new, ds, s_left_new, s_right_new, bad = _step_v(
            sc[_X * B + i],
            s,
            sc[_BETA * B + i],
            sc[_B * B + i],
            sc[_E * B + i],
            s_left,
            s_right,
            sc[_LM * B + i] != 0.0,
        )
        go = first | (abs(ds_prev) > DBL_EPSILON * s)
        in_bracket = first | ((s_left < s) & (s < s_right))
        ok = (sc[_OK * B + i] != 0.0) & ((not go) | ((sc[_BAD * B + i] == 0.0) & (not bad) & in_bracket))
        sc[_S * B + i] = (s_new if go else s) if ok else 1.0
        sc[_DS * B + i] = ds if go else 0.0
        sc[_SL * B + i] = s_left_new if go else s_left
        sc[_SR * B + i] = s_right_new if go else s_right
        sc[_OK * B + i] = 1.0 if ok else 0.0


@register_jitable
def _iv_black76_fast_block(
    price: np.ndarray,
    F: np.ndarray,
    K: np.ndarray,
    T: np.ndarray,
    r: np.ndarray,
    w: np.ndarray,
    out: np.ndarray,
    lo: int,
    hi: int,
) -> None:
    """Jäckel's lower and central branches, branch-free, for options ``lo:hi`` (one block).

    Writes ``sigma`` into ``out``, or NaN for "not handled here" (invalid input, no time
    value, Jäckel's upper branch, his asymptotic region, a safeguard that would bisect):
    the caller redoes those options with :func:`_iv_black76_one`, which also sets their
    status. Each stage is a loop over the block that the compiler vectorises; the four
    evaluations of ``b`` share one compiled loop, :func:`_black_pass`, and the two
    Householder steps another, :func:`_step_pass`.
    """
    m = hi - lo
    B = IV_BLOCK
    sc = np.empty(_ROWS * B)
    inf = math.inf
    for i in range(m):  # ln(F/K) (log1p near the money) and exp(r T) with libm: scalar, but
        # cheap, and the undiscounted price is then the scalar path's to the bit, so both
        # paths take the same decisions at the intrinsic value and the maximum
        f = F[lo + i]
        k = K[lo + i]
        rt = r[lo + i] * T[lo + i]
        fk = f / k
        good = (f > 0.0) & (k > 0.0) & (fk > DBL_MIN) & (fk < inf)
        sc[_X * B + i] = log_moneyness(f, k) if good else 1.0
        sc[_BETA * B + i] = math.exp(rt) if abs(rt) < 700.0 else 1.0
    for i in range(m):  # normalise: x = -|ln(F/K)|, beta, b_max; the inflection point s_c
        pr = price[lo + i]
        f = F[lo + i]
        k = K[lo + i]
        tt = T[lo + i]
        rr = r[lo + i]
        ww = w[lo + i]
        fk = f / k
        ok = (
            (pr > 0.0)
            & (inf > pr)
            & (f > 0.0)
            & (inf > f)
            & (k > 0.0)
            & (inf > k)
            & (tt > 0.0)
            & (inf > tt)
            & (abs(rr * tt) < 700.0)
            & ((ww == 1.0) | (ww == -1.0))
            & (fk > DBL_MIN)
            & (fk < inf)
        )
        # sanitise so that nothing below meets a NaN or an infinity
        pr = pr if ok else 1.0
        f = f if ok else 2.0
        k = k if ok else 1.0
        ww = ww if ok else 1.0
        p = pr * sc[_BETA * B + i]
        intrinsic = max(ww * (f - k), 0.0)
        x = sc[_X * B + i]
        x = x if ok else 1.0
        p_otm = p - intrinsic if ww * x > 0.0 else p
        xx = -abs(x)
        beta = p_otm / (math.sqrt(f) * math.sqrt(k))
        b_max = vexp(0.5 * xx)
        ok = ok & (p >= intrinsic) & (p < (f if ww > 0.0 else k)) & (p_otm > 0.0) & (beta < b_max)
        ok = ok & (xx > -300.0)
        sc[_X * B + i] = xx if ok else -1.0
        sc[_BETA * B + i] = beta if ok else 0.1
        sc[_BMAX * B + i] = b_max if ok else vexp(-0.5)
        sc[_OK * B + i] = 1.0 if ok else 0.0
        sc[_S * B + i] = math.sqrt(-2.0 * (xx if ok else -1.0))
    _black_pass(sc, m)
    for i in range(m):  # the tangent at s_c towards the side of beta
        xx = sc[_X * B + i]
        s_c = sc[_S * B + i]
        b_c = sc[_B * B + i]
        v_c = ONE_OVER_SQRT_TWO_PI * sc[_E * B + i] if s_c > 0.0 else ONE_OVER_SQRT_TWO_PI
        lower = sc[_BETA * B + i] < b_c
        s_l = s_c - b_c / v_c
        s_h = s_c + (sc[_BMAX * B + i] - b_c) / v_c if v_c > DBL_MIN else s_c
        sc[_BC * B + i] = b_c
        sc[_VC * B + i] = v_c
        sc[_SL * B + i] = s_c
        sc[_S * B + i] = s_l if lower else s_h
        # at the money (x = 0) s_c = 0 is outside _black_v's range but b_c = 0 is right
        sc[_OK * B + i] = 0.0 if (sc[_BAD * B + i] != 0.0) & (s_c > 0.0) else sc[_OK * B + i]
    _black_pass(sc, m)
    for i in range(m):  # Jäckel's initial guess: rational cubic in b (central) or in his lower map
        xx = sc[_X * B + i]
        beta = sc[_BETA * B + i]
        b_c = sc[_BC * B + i]
        v_c = sc[_VC * B + i]
        s_c = sc[_SL * B + i]
        s_o = sc[_S * B + i]
        b_o = sc[_B * B + i]
        v_o = ONE_OVER_SQRT_TWO_PI * sc[_E * B + i]
        lower = beta < b_c
        lm = lower & (beta < b_o)
        ok = (sc[_OK * B + i] != 0.0) & (sc[_BAD * B + i] == 0.0) & (v_o > 0.0) & (lower | (beta <= b_o))
        v_o = v_o if v_o > 0.0 else 1.0
        f_l, fp_l, fpp_l = _f_lower_map_v(xx, s_o if s_o > 0.0 else 1.0)
        finite = (abs(f_l) < math.inf) & (abs(fp_l) < math.inf) & (abs(fpp_l) < math.inf)
        ok = ok & (finite | (not lm))
        f_l = f_l if finite else 1.0
        fp_l = fp_l if finite else 1.0
        fpp_l = fpp_l if finite else 1.0
        x_l = 0.0 if lm else (b_o if lower else b_c)
        x_r = b_o if lm else (b_c if lower else b_o)
        y_l = 0.0 if lm else (s_o if lower else s_c)
        y_r = f_l if lm else (s_c if lower else s_o)
        d_l = 1.0 if lm else 1.0 / (v_o if lower else v_c)
        d_r = fp_l if lm else 1.0 / (v_c if lower else v_o)
        g = _rc_guess_v(beta, x_l, x_r, y_l, y_r, d_l, d_r, fpp_l if lm else 0.0, not lower, lm)
        # lower map: f from the interpolation (or its quadratic fallback), then s = F^-1(f)
        tq = beta / (b_o if b_o > 0.0 else 1.0)
        f = g if g > 0.0 else (f_l * tq + b_o * (1.0 - tq)) * tq
        arg = f / (TWO_PI_OVER_SQRT_TWENTY_SEVEN * (abs(xx) if xx != 0.0 else 1.0))
        arg_ok = (arg > DBL_MIN) & (arg < 1.0)
        u = vexp(vlog(arg if arg_ok else 0.5) * (1.0 / 3.0))
        u_ok = arg_ok & (u > 0.0) & (u < 1.0)
        inv = _inverse_ncdf_v(u if u_ok else 0.25)
        s_lm = abs(xx / (SQRT_THREE * (inv if inv != 0.0 else 1.0)))
        ok = ok & ((not lm) | (u_ok & (inv != 0.0) & (s_lm > 0.0) & (s_lm < 100.0)))
        sc[_S * B + i] = s_lm if lm else g
        sc[_SL * B + i] = DBL_MIN if lm else y_l
        sc[_SR * B + i] = s_o if lm else y_r
        sc[_LM * B + i] = 1.0 if lm else 0.0
        sc[_DS * B + i] = math.nan
        sc[_OK * B + i] = 1.0 if ok else 0.0
    _black_pass(sc, m)
    _step_pass(sc, m)  # first Householder(3) step
    _black_pass(sc, m)
    _step_pass(sc, m)  # second step (Jäckel stops when the first one was below eps s)
    for i in range(m):
        ok = (sc[_OK * B + i] != 0.0) & (sc[_S * B + i] > 0.0)
        out[lo + i] = sc[_S * B + i] / math.sqrt(T[lo + i]) if ok else math.nan


@register_jitable
def _iv_black76_block(
    price: np.ndarray,
    F: np.ndarray,
    K: np.ndarray,
    T: np.ndarray,
    r: np.ndarray,
    w: np.ndarray,
    out: np.ndarray,
    status: np.ndarray,
    lo: int,
    hi: int,
    none: int,
) -> int:
    """Options ``lo:hi`` (one block): the fast pass, then the scalar pass over what it left.

    Returns the first index in the block whose status is not OK, or ``none``. Light (a
    loop and two calls), so it serves as the ``prange`` body's entry (see
    :mod:`cnfutures._kernels`: compiling the ``prange`` body).
    """
    first = none
    _iv_black76_fast_block(price, F, K, T, r, w, out, lo, hi)
    for i in range(lo, hi):  # the options the fast path left, scalar
        if math.isnan(out[i]):
            v, st = _iv_black76_one(price[i], F[i], K[i], T[i], r[i], w[i])
            out[i] = v
            status[i] = st
            if st != OK and first == none:
                first = i
        else:
            status[i] = OK
    return first


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
        lo = b * IV_BLOCK
        first[b] = _iv_black76_block(price, F, K, T, r, w, out, status, lo, min(lo + IV_BLOCK, n), n)
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


@register_jitable
def _iv_bachelier_one_entry(
    price: float, F: float, K: float, T: float, r: float, w: float
) -> tuple[float, int]:
    """:func:`_iv_bachelier_one` behind a one-line call, for the ``prange`` body."""
    return _iv_bachelier_one(price, F, K, T, r, w)  # type: ignore[no-any-return]


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
            v, st = _iv_bachelier_one_entry(price[i], F[i], K[i], T[i], r[i], w[i])
            out[i] = v
            status[i] = st
            if st != OK and first[b] == n:
                first[b] = i
    bad = first.min() if nblocks > 0 else n
    return -1 if bad == n else int(bad)


# error_model="numpy": no Python division-by-zero checks, which would stop vectorisation
# (and what the prange bodies run under anyway, see :mod:`cnfutures._kernels`)
implied_vol_black76_nb = njit(cache=True, parallel=True, error_model="numpy")(implied_vol_black76)
implied_vol_bachelier_nb = njit(cache=True, parallel=True, error_model="numpy")(implied_vol_bachelier)


def _warmup() -> None:
    p = np.array([0.1, 0.1])
    a = np.ones(2)
    w = np.array([1.0, -1.0])
    out = np.empty(2)
    st = np.empty(2, dtype=np.int64)
    implied_vol_black76_nb(p, a, a, a, a * 0.0, w, out, st)
    implied_vol_bachelier_nb(p, a, a, a, a * 0.0, w, out, st)
