"""Black-76 kernels (options on futures) and the normal-distribution helpers they share.

Every kernel is a plain Python function over contiguous float64 arrays, bound under a
``*_nb`` name with ``njit(cache=True, parallel=True)``; the loops use ``prange``, which is
plain ``range`` when the function runs uncompiled, so the plain twin can be tested against
the compiled one. Scalar helpers are ``register_jitable``: plain Python when called from
Python, compiled once per signature when called from compiled code. The small branch-free
helpers of the vectorised passes are ``register_jitable(forceinline=True)``: LLVM inlines
them, so the loops still vectorise, while numba types and compiles each only once (numba's
own ``inline="always"`` re-types a helper's IR inside every caller and made compiling the
kernels several times slower; see ``docs/benchmarks/compile.md``).

Speed: numba 0.68 has no SVML, so ``math.exp``/``math.log`` are scalar libm calls that stop
LLVM from vectorising a loop. The array kernels :func:`black76_price` and
:func:`black76_greeks` therefore run in two passes per block of :data:`BLOCK` options:

1. a branch-free pass the compiler vectorises (AVX2/AVX-512): :func:`vexp` and
   :func:`vlog` (Cody-Waite reduction with a degree-13 Taylor polynomial for ``exp``,
   fdlibm's ``log`` polynomial; both within about 1 ulp, exponent bits set through an
   LLVM bitcast, :func:`f2i`/:func:`i2f`) and :func:`ncdf_scaled_v`, Cody's three rational
   pieces all evaluated and selected (the price kernel first computes ``d1``, ``d2`` for the
   block and, when none is in the tail ``|d| / sqrt2 > 4``, the usual case, leaves the tail
   piece out: the same bits, about 13 % less time). Input validation is fused in (one
   comparison chain per option, no separate numpy passes). Any option that is invalid, has
   ``sigma sqrt(T) = 0``, produced a non-finite value or would cancel more than 5 bits
   (out of the money) is marked NaN;
2. a scalar pass over the block redoes the marked options with the branchy, libm-based
   :func:`_black76_one` (Jäckel's normalised Black function in the wings) and records
   the first invalid index, which the kernel returns (-1 when all are valid).

The price needs one ``log``, one ``exp`` for both normal densities (``n(d2) = n(d1) F/K``)
and one ``exp`` for the discount factor; the two normal CDFs are Cody's rational
approximations (Math. Comp. 1969) scaled by that single density: the relative error is
a few ulp times ``1 + d^2/2`` (the rounding of ``d^2`` inside ``exp``); :func:`ncdf` splits
the exponent as Cody does and stays within a few ulp in both tails.
"""

from __future__ import annotations

import math
import struct
from typing import Any

import numpy as np
from llvmlite import ir  # type: ignore[import-untyped]
from numba import njit, prange
from numba.core import types
from numba.extending import intrinsic, overload, register_jitable

__all__ = [
    "BLOCK",
    "black76_greeks",
    "black76_greeks_nb",
    "black76_price",
    "black76_price_nb",
    "erfcx",
    "erfcx_tail_q",
    "log_moneyness",
    "ncdf",
    "ncdf_scaled",
    "ncdf_scaled_v",
    "normalised_black_call",
    "npdf",
    "vexp",
    "vlog",
]

SQRT_TWO_PI = 2.5066282746310002
ONE_OVER_SQRT_TWO_PI = 0.3989422804014327
ONE_OVER_SQRT_TWO = 0.7071067811865476
SQRT_PI = 1.7724538509055159
ONE_OVER_SQRT_PI = 0.5641895835477563
DAYS_PER_YEAR = 365.0
PER_DAY = 1.0 / DAYS_PER_YEAR
FOURTH_ROOT_DBL_EPSILON = 0.0001220703125
SIXTEENTH_ROOT_DBL_EPSILON = 0.10511205190671433
ASYMPTOTIC_EXPANSION_ACCURACY_THRESHOLD = -10.0
SMALL_T_EXPANSION_THRESHOLD = 2.0 * SIXTEENTH_ROOT_DBL_EPSILON

# W. J. Cody, "Rational Chebyshev approximations for the error function", Math. Comp. 23
# (1969) 631-638; coefficients as in his CALERF (netlib specfun).
_A0, _A1, _A2, _A3, _A4 = (
    3.1611237438705656,
    113.864154151050156,
    377.485237685302021,
    3209.37758913846947,
    0.185777706184603153,
)
_B0, _B1, _B2, _B3 = 23.6012909523441209, 244.024637934444173, 1282.61652607737228, 2844.23683343917062
_C0, _C1, _C2, _C3, _C4, _C5, _C6, _C7, _C8 = (
    0.564188496988670089,
    8.88314979438837594,
    66.1191906371416295,
    298.635138197400131,
    881.95222124176909,
    1712.04761263407058,
    2051.07837782607147,
    1230.33935479799725,
    2.15311535474403846e-8,
)
_D0, _D1, _D2, _D3, _D4, _D5, _D6, _D7 = (
    15.7449261107098347,
    117.693950891312499,
    537.181101862009858,
    1621.38957456669019,
    3290.79923573345963,
    4362.61909014324716,
    3439.36767414372164,
    1230.33935480374942,
)
_P0, _P1, _P2, _P3, _P4, _P5 = (
    0.305326634961232344,
    0.360344899949804439,
    0.125781726111229246,
    0.0160837851487422766,
    6.58749161529837803e-4,
    0.0163153871373020978,
)
_Q0, _Q1, _Q2, _Q3, _Q4 = (
    2.56852019228982242,
    1.87295284992346047,
    0.527905102951428412,
    0.0605183413124413191,
    0.00233520497626869185,
)


@register_jitable
def _erf_small(y: float) -> float:
    """erf(y) for |y| <= 0.46875 (Cody's first interval)."""
    ysq = y * y
    num = (((_A4 * ysq + _A0) * ysq + _A1) * ysq + _A2) * ysq + _A3
    den = (((ysq + _B0) * ysq + _B1) * ysq + _B2) * ysq + _B3
    return y * num / den


@register_jitable
def _erfcx_pos(y: float) -> float:
    """erfcx(y) = exp(y^2) erfc(y) for y > 0.46875, without any exponential."""
    if y <= 4.0:
        num = (
            ((((((_C8 * y + _C0) * y + _C1) * y + _C2) * y + _C3) * y + _C4) * y + _C5) * y + _C6
        ) * y + _C7
        den = (((((((y + _D0) * y + _D1) * y + _D2) * y + _D3) * y + _D4) * y + _D5) * y + _D6) * y + _D7
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


# --------------------------------------------------------------------------------------
# vectorisable exp / log / normal CDF (no libm calls, no branches after if-conversion)
# --------------------------------------------------------------------------------------
def f2i(x: float) -> int:
    """Bits of a float64 as an int64 (an LLVM bitcast when compiled)."""
    return int(struct.unpack("<q", struct.pack("<d", x))[0])


def i2f(i: int) -> float:
    """Float64 with the given int64 bits (an LLVM bitcast when compiled)."""
    return float(struct.unpack("<d", struct.pack("<q", i))[0])


@intrinsic
def _bitcast_f2i(typingctx: Any, x: Any) -> Any:
    sig = types.int64(types.float64)

    def codegen(context: Any, builder: Any, signature: Any, args: Any) -> Any:
        return builder.bitcast(args[0], ir.IntType(64))

    return sig, codegen


@intrinsic
def _bitcast_i2f(typingctx: Any, i: Any) -> Any:
    sig = types.float64(types.int64)

    def codegen(context: Any, builder: Any, signature: Any, args: Any) -> Any:
        return builder.bitcast(args[0], ir.DoubleType())

    return sig, codegen


@overload(f2i)
def _f2i_compiled(x: Any) -> Any:
    def impl(x: Any) -> Any:  # same signature as the typing function (numba compares them)
        return _bitcast_f2i(x)  # type: ignore[call-arg]

    return impl


@overload(i2f)
def _i2f_compiled(i: Any) -> Any:
    def impl(i: Any) -> Any:
        return _bitcast_i2f(i)  # type: ignore[call-arg]

    return impl


LOG2E = 1.4426950408889634
LN2_HI = 6.93147180369123816490e-01  # fdlibm's split of ln 2: n * LN2_HI is exact
LN2_LO = 1.90821492927058770002e-10
SQRT_TWO = 1.4142135623730951
# fdlibm e_log.c: log(1 + f) = f - f^2/2 + s (f^2/2 + R(s)), s = f / (2 + f)
_LG1, _LG2, _LG3, _LG4, _LG5, _LG6, _LG7 = (
    6.666666666666735130e-01,
    3.999999999940941908e-01,
    2.857142874366239149e-01,
    2.222219843214978396e-01,
    1.818357216161805012e-01,
    1.531383769920937332e-01,
    1.479819860511658591e-01,
)


@register_jitable(forceinline=True)
def vexp(x: float) -> float:
    """``exp(x)`` within about 1 ulp, branch-free (vectorises); underflows to 0, overflows to inf.

    ``x = n ln2 + r`` with ``|r| <= ln2 / 2`` (Cody-Waite), ``exp(r)`` by its degree-13
    Taylor polynomial (truncation below 1e-17 relative), ``2^n`` applied as two exact powers
    of two so that subnormal results come out right. NaN gives a meaningless number: the
    callers test their inputs.
    """
    xc = min(max(x, -1100.0), 710.0)
    n = math.floor(xc * LOG2E + 0.5)
    r = (xc - n * LN2_HI) - n * LN2_LO
    p = 1.0 / 6227020800.0
    p = p * r + 1.0 / 479001600.0
    p = p * r + 1.0 / 39916800.0
    p = p * r + 1.0 / 3628800.0
    p = p * r + 1.0 / 362880.0
    p = p * r + 1.0 / 40320.0
    p = p * r + 1.0 / 5040.0
    p = p * r + 1.0 / 720.0
    p = p * r + 1.0 / 120.0
    p = p * r + 1.0 / 24.0
    p = p * r + 1.0 / 6.0
    p = p * r + 0.5
    p = p * r + 1.0
    p = p * r + 1.0
    n1 = n >> 1
    return p * i2f((n1 + 1023) << 52) * i2f((n - n1 + 1023) << 52)


@register_jitable(forceinline=True)
def vlog(x: float) -> float:
    """``ln(x)`` for finite normal ``x > 0`` within about 1 ulp (fdlibm's method), branch-free."""
    bits = f2i(x)
    e = (bits >> 52) - 1023
    m = i2f((bits & 0x000FFFFFFFFFFFFF) | 0x3FF0000000000000)  # mantissa in [1, 2)
    big = m > SQRT_TWO
    m = m * 0.5 if big else m
    dk = float(e + 1 if big else e)
    f = m - 1.0  # exact; in [sqrt(2)/2 - 1, sqrt(2) - 1]
    s = f / (2.0 + f)
    z = s * s
    w = z * z
    t1 = w * (_LG2 + w * (_LG4 + w * _LG6))
    t2 = z * (_LG1 + w * (_LG3 + w * (_LG5 + w * _LG7)))
    hfsq = 0.5 * f * f
    return dk * LN2_HI - ((hfsq - (s * (hfsq + (t1 + t2)) + dk * LN2_LO)) - f)


@register_jitable(forceinline=True)
def ncdf_scaled_v(z: float, e: float, with_tail: bool = True) -> float:
    """:func:`ncdf_scaled` without branches: Cody's three pieces, one division.

    Each piece is written as a ratio ``N/D`` (erf for ``|z|/sqrt2 <= 0.46875``, erfcx up to
    4, erfcx's asymptotic form beyond); numerator and denominator are selected by exact 0/1
    blends of finite values and divided once. Within 3 ulp of :func:`ncdf_scaled`.

    ``with_tail=False`` (a constant at the call site: the inlined code then has no tail piece, a
    division and about 25 operations fewer) is for callers that know ``|z|/sqrt2 <= 4`` (not
    NaN): the result is then the same to the bit (the tail's weight is an exact 0 and every
    piece is finite, so the blends equal plain selections).
    """
    y = abs(z) * ONE_OVER_SQRT_TWO
    zz = z * ONE_OVER_SQRT_TWO
    ysq = zz * zz
    ns = zz * ((((_A4 * ysq + _A0) * ysq + _A1) * ysq + _A2) * ysq + _A3)
    ds = (((ysq + _B0) * ysq + _B1) * ysq + _B2) * ysq + _B3
    ym = min(max(y, 0.46875), 4.0)
    nm = (
        ((((((_C8 * ym + _C0) * ym + _C1) * ym + _C2) * ym + _C3) * ym + _C4) * ym + _C5) * ym + _C6
    ) * ym + _C7
    dm = (((((((ym + _D0) * ym + _D1) * ym + _D2) * ym + _D3) * ym + _D4) * ym + _D5) * ym + _D6) * ym + _D7
    in_small = 1.0 * (y <= 0.46875)
    in_mid = 1.0 * (y <= 4.0) - in_small
    if with_tail:
        yt = max(y, 4.0)
        q = 1.0 / (yt * yt)
        pt = ((((_P5 * q + _P0) * q + _P1) * q + _P2) * q + _P3) * q + _P4
        qt = ((((q + _Q0) * q + _Q1) * q + _Q2) * q + _Q3) * q + _Q4
        nt = qt * ONE_OVER_SQRT_PI - q * pt  # erfcx(y) = nt / (qt y) for y > 4
        dt = qt * yt
        in_tail = 1.0 - in_small - in_mid
        ratio = (in_small * ns + in_mid * nm + in_tail * nt) / (in_small * ds + in_mid * dm + in_tail * dt)
    else:
        # |z| / sqrt2 <= 4: every piece is finite, so selecting one is what the exact 0/1 blends
        # give (a + 0 * b = a for finite b), with fewer operations
        small = y <= 0.46875
        ratio = (ns if small else nm) / (ds if small else dm)
        tail = 0.5 * e * ratio
        return 0.5 + 0.5 * ratio if small else (tail if z < 0.0 else 1.0 - tail)
    tail = 0.5 * e * ratio
    neg = 1.0 * (z < 0.0)
    return in_small * (0.5 + 0.5 * ratio) + (1.0 - in_small) * (neg * tail + (1.0 - neg) * (1.0 - tail))


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
        return abs(
            max(
                x
                * (
                    1.0
                    + x2
                    * (
                        (1.0 / 24.0)
                        + x2 * ((1.0 / 1920.0) + x2 * ((1.0 / 322560.0) + (1.0 / 92897280.0) * x2))
                    )
                ),
                0.0,
            )
        )
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
        b = ncdf_scaled(h + t, e1) * b_max - ncdf_scaled(h - t, e1 * b_max * b_max) / b_max
        return abs(max(b, 0.0))
    h = x / s
    t = 0.5 * s
    b = (
        0.5
        * math.exp(-0.5 * (h * h + t * t))
        * (erfcx(-ONE_OVER_SQRT_TWO * (h + t)) - erfcx(-ONE_OVER_SQRT_TWO * (h - t)))
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


@register_jitable
def _black76_one_entry(F: float, K: float, T: float, r: float, sigma: float, w: float) -> float:
    """:func:`_black76_one` behind a one-line call, for the ``prange`` bodies (see
    :mod:`cnfutures._kernels`: compiling the ``prange`` body)."""
    return _black76_one(F, K, T, r, sigma, w)  # type: ignore[no-any-return]


BLOCK = 1024  # options per block: both passes work on data still in L1/L2
CHUNK = 4  # callers run the kernels under numba.parallel_chunksize(CHUNK): dynamic
# scheduling of blocks, so a core busy with another process slows a kernel by its share
# only, not by a whole statically assigned half


@register_jitable(forceinline=True)
def _valid(F: float, K: float, T: float, r: float, sigma: float, w: float) -> bool:
    """Black-76 domain; NaN fails every comparison. ``w`` is not checked (see ``_valid_w``)."""
    inf = math.inf
    return (
        (F > 0.0)
        & (inf > F)
        & (K > 0.0)
        & (inf > K)
        & (T > 0.0)
        & (inf > T)
        & (inf > abs(r))
        & (sigma >= 0.0)
        & (inf > sigma)
    )


@register_jitable(forceinline=True)
def _valid_w(w: float) -> bool:
    return (w == 1.0) | (w == -1.0)


@register_jitable(forceinline=True)
def _in_tail(d1: float, d2: float) -> int:
    """1 when :func:`ncdf_scaled_v` needs its tail piece for ``d1`` or ``d2`` (``|d| / sqrt2 > 4``,
    or NaN), else 0: a block of options whose count is 0 is priced with ``with_tail=False``."""
    y1 = abs(d1) * ONE_OVER_SQRT_TWO
    y2 = abs(d2) * ONE_OVER_SQRT_TWO
    return int((y1 > 4.0) | (y2 > 4.0) | (y1 != y1) | (y2 != y2))


@register_jitable(forceinline=True)
def _price_v(sc: np.ndarray, i: int, tail: bool) -> float:
    """Discounted Black-76 price of option ``i`` of a block from pass 1's scratch ``sc`` (rows F,
    K, w, d1, d2, exp(-d1^2/2), discount); NaN when the option is invalid or its price would
    cancel more than 5 bits (the kernel's scalar pass redoes those). ``tail``: see
    :func:`ncdf_scaled_v`."""
    f = sc[i]
    k = sc[BLOCK + i]
    ww = sc[2 * BLOCK + i]
    e1 = sc[5 * BLOCK + i]
    a = f * ncdf_scaled_v(ww * sc[3 * BLOCK + i], e1, tail)
    c = k * ncdf_scaled_v(ww * sc[4 * BLOCK + i], e1 * (f / k), tail)
    v = ww * (a - c)
    ok = (v >= 0.03125 * max(a, c)) & (v < math.inf)
    return sc[6 * BLOCK + i] * v if ok else math.nan


def black76_price(
    F: np.ndarray,
    K: np.ndarray,
    T: np.ndarray,
    r: np.ndarray,
    sigma: np.ndarray,
    w: np.ndarray,
    out: np.ndarray,
) -> int:
    """Black-76 price into ``out``; ``w`` is +1 (call) or -1 (put).

    Inputs are validated here (F, K, T > 0, sigma >= 0, all finite, w = +-1): invalid
    options get NaN and the smallest invalid index is returned (-1 when all are valid).
    """
    n = F.shape[0]
    nblocks = (n + BLOCK - 1) // BLOCK
    first_bad = np.full(nblocks, n, dtype=np.int64)
    for b in prange(nblocks):
        lo = b * BLOCK
        hi = min(lo + BLOCK, n)
        m = hi - lo
        # pass 1 (branch-free: vectorised): everything but the normal CDFs, into the block
        # scratch, and whether any option of the block needs Cody's tail piece (|d| / sqrt2 > 4)
        sc = np.empty(7 * BLOCK)  # F, K, w, d1, d2, exp(-d1^2/2), discount (NaN: invalid)
        n_tail = 0
        for i in range(m):
            f = F[lo + i]
            k = K[lo + i]
            ww = w[lo + i]
            t = T[lo + i]
            rr = r[lo + i]
            s = sigma[lo + i]
            st = s * math.sqrt(t)
            fk = f / k
            d1 = vlog(fk) / st + 0.5 * st
            d2 = d1 - st
            ok = (
                _valid(f, k, t, rr, s, ww)
                & _valid_w(ww)
                & (st > 0.0)
                & (fk > 2.2250738585072014e-308)
                & (fk < math.inf)
            )
            sc[i] = f
            sc[BLOCK + i] = k
            sc[2 * BLOCK + i] = ww
            sc[3 * BLOCK + i] = d1
            sc[4 * BLOCK + i] = d2
            sc[5 * BLOCK + i] = vexp(-0.5 * d1 * d1)
            sc[6 * BLOCK + i] = vexp(-rr * t) if ok else math.nan
            n_tail += _in_tail(d1, d2)
        # pass 2 (vectorised): the price; without the tail piece when no option needs it
        if n_tail > 0:
            for i in range(m):
                out[lo + i] = _price_v(sc, i, True)
        else:
            for i in range(m):
                out[lo + i] = _price_v(sc, i, False)
        for i in range(lo, hi):  # the few marked options, scalar
            if math.isnan(out[i]):
                if _valid(F[i], K[i], T[i], r[i], sigma[i], w[i]) & _valid_w(w[i]):
                    out[i] = _black76_one_entry(F[i], K[i], T[i], r[i], sigma[i], w[i])
                elif first_bad[b] == n:
                    first_bad[b] = i
    bad = first_bad.min() if nblocks > 0 else n
    return -1 if bad == n else int(bad)


@register_jitable
def _black76_greeks_one(
    f: float,
    k: float,
    t: float,
    rr: float,
    s: float,
    ww: float,
) -> tuple[float, float, float, float, float, float, float, float]:
    """Scalar price and Greeks, every case (sigma = 0, wings); libm functions."""
    disc = math.exp(-rr * t)
    sqt = math.sqrt(t)
    st = s * sqt
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
    v = _black76_one(f, k, t, rr, s, ww)
    delta = disc * ww * nd1
    vg = disc * f * n1 * sqt
    if n1 > 0.0:
        gamma = disc * n1 / (f * st) if st > 0.0 else math.inf
        vanna = -disc * n1 * d2 / s if st > 0.0 else 0.0
        volga = vg * d1 * d2 / s if st > 0.0 else 0.0
    else:
        gamma = 0.0
        vanna = 0.0
        volga = 0.0
    theta = (rr * v - disc * f * n1 * s / (2.0 * sqt)) / DAYS_PER_YEAR
    return v, delta, gamma, vg, theta, -t * v, vanna, volga


@register_jitable
def _black76_greeks_one_entry(
    f: float, k: float, t: float, rr: float, s: float, ww: float
) -> tuple[float, float, float, float, float, float, float, float]:
    """:func:`_black76_greeks_one` behind a one-line call, for the ``prange`` body."""
    return _black76_greeks_one(f, k, t, rr, s, ww)  # type: ignore[no-any-return]


@register_jitable(forceinline=True)
def _greeks_v(sc: np.ndarray, i: int, with_tail: bool) -> None:
    """Pass B of :func:`black76_greeks` for option ``i`` of a block: price and Greeks from the
    inputs (rows 0-5) and pass A's values (rows 14-21: discount, sqrt(T), sigma sqrt(T), its
    inverse, F/K, d1, d2, exp(-d1^2/2)) into rows 6-13 (price NaN: the scalar pass redoes it)."""
    f = sc[i]
    k = sc[BLOCK + i]
    t = sc[2 * BLOCK + i]
    rr = sc[3 * BLOCK + i]
    s = sc[4 * BLOCK + i]
    ww = sc[5 * BLOCK + i]
    disc = sc[14 * BLOCK + i]
    sqt = sc[15 * BLOCK + i]
    st = sc[16 * BLOCK + i]
    inv_st = sc[17 * BLOCK + i]
    fk = sc[18 * BLOCK + i]
    d1 = sc[19 * BLOCK + i]
    d2 = sc[20 * BLOCK + i]
    e1 = sc[21 * BLOCK + i]
    n1 = ONE_OVER_SQRT_TWO_PI * e1
    nd1 = ncdf_scaled_v(ww * d1, e1, with_tail)
    a = f * nd1
    c = k * ncdf_scaled_v(ww * d2, e1 * fk, with_tail)
    v = ww * (a - c)
    ok = (
        _valid(f, k, t, rr, s, ww)
        & _valid_w(ww)
        & (st > 0.0)
        & (fk > 2.2250738585072014e-308)
        & (fk < math.inf)
        & (v >= 0.03125 * max(a, c))
        & (v < math.inf)
        & (e1 > 0.0)
    )
    v = disc * v
    sc[6 * BLOCK + i] = v if ok else math.nan
    sc[7 * BLOCK + i] = disc * ww * nd1
    vg = disc * f * n1 * sqt
    sc[9 * BLOCK + i] = vg
    inv_s = sqt * inv_st
    sc[8 * BLOCK + i] = disc * n1 * inv_st / f
    sc[12 * BLOCK + i] = -disc * n1 * d2 * inv_s
    sc[13 * BLOCK + i] = vg * d1 * d2 * inv_s
    # s / (2 sqrt(T)) = s^2 / (2 st)
    sc[10 * BLOCK + i] = (rr * v - disc * f * n1 * (0.5 * s * s * inv_st)) * PER_DAY
    sc[11 * BLOCK + i] = -t * v


def black76_greeks(
    F: np.ndarray,
    K: np.ndarray,
    T: np.ndarray,
    r: np.ndarray,
    sigma: np.ndarray,
    w: np.ndarray,
    price: np.ndarray,
    delta: np.ndarray,
    gamma: np.ndarray,
    vega: np.ndarray,
    theta: np.ndarray,
    rho: np.ndarray,
    vanna: np.ndarray,
    volga: np.ndarray,
) -> int:
    """Black-76 price and Greeks into the output arrays; returns the first invalid index.

    delta = dV/dF, gamma = d2V/dF2, vega = dV/dsigma (per 1.00), theta = -dV/dT / 365
    (per calendar day), rho = dV/dr (per 1.00, F held fixed), vanna = d2V/dF dsigma,
    volga = d2V/dsigma2. Validation as in :func:`black76_price` (NaN in every output of
    an invalid option; -1 returned when all are valid).

    Per block, pass A reads the inputs, copies them into one block-local scratch array and
    computes all but the normal CDFs into it; pass B (the Greeks) reads and writes that array
    only, at compile-time offsets (``row * BLOCK + i``), so LLVM needs no run-time aliasing
    checks (with eight outputs and six inputs they exceed its limit and it would not
    vectorise); contiguous copies then fill the outputs.
    """
    n = F.shape[0]
    nblocks = (n + BLOCK - 1) // BLOCK
    first_bad = np.full(nblocks, n, dtype=np.int64)
    for b in prange(nblocks):
        lo = b * BLOCK
        hi = min(lo + BLOCK, n)
        m = hi - lo
        sc = np.empty(22 * BLOCK)  # rows 0-5 inputs, 6-13 outputs, 14-21 pass A's values
        # pass A (branch-free: vectorised): the inputs into the scratch, all but the normal CDFs,
        # and whether any option of the block needs Cody's tail piece (see black76_price)
        n_tail = 0
        for i in range(m):
            f = F[lo + i]
            k = K[lo + i]
            t = T[lo + i]
            rr = r[lo + i]
            s = sigma[lo + i]
            sc[i] = f
            sc[BLOCK + i] = k
            sc[2 * BLOCK + i] = t
            sc[3 * BLOCK + i] = rr
            sc[4 * BLOCK + i] = s
            sc[5 * BLOCK + i] = w[lo + i]
            sqt = math.sqrt(t)
            st = s * sqt
            inv_st = 1.0 / st  # divisions are the slowest vector operations: share them
            fk = f / k
            d1 = vlog(fk) * inv_st + 0.5 * st
            d2 = d1 - st
            sc[14 * BLOCK + i] = vexp(-rr * t)
            sc[15 * BLOCK + i] = sqt
            sc[16 * BLOCK + i] = st
            sc[17 * BLOCK + i] = inv_st
            sc[18 * BLOCK + i] = fk
            sc[19 * BLOCK + i] = d1
            sc[20 * BLOCK + i] = d2
            sc[21 * BLOCK + i] = vexp(-0.5 * d1 * d1)
            n_tail += _in_tail(d1, d2)
        if n_tail > 0:  # pass B (vectorised): price and Greeks
            for i in range(m):
                _greeks_v(sc, i, True)
        else:  # no option of the block in the tail: the same values without computing it
            for i in range(m):
                _greeks_v(sc, i, False)
        for i in range(m):
            price[lo + i] = sc[6 * BLOCK + i]
        for i in range(m):
            delta[lo + i] = sc[7 * BLOCK + i]
        for i in range(m):
            gamma[lo + i] = sc[8 * BLOCK + i]
        for i in range(m):
            vega[lo + i] = sc[9 * BLOCK + i]
        for i in range(m):
            theta[lo + i] = sc[10 * BLOCK + i]
        for i in range(m):
            rho[lo + i] = sc[11 * BLOCK + i]
        for i in range(m):
            vanna[lo + i] = sc[12 * BLOCK + i]
        for i in range(m):
            volga[lo + i] = sc[13 * BLOCK + i]
        for i in range(lo, hi):  # the few marked options, scalar
            if math.isnan(price[i]):
                if _valid(F[i], K[i], T[i], r[i], sigma[i], w[i]) & _valid_w(w[i]):
                    g = _black76_greeks_one_entry(F[i], K[i], T[i], r[i], sigma[i], w[i])
                else:
                    nan = math.nan
                    g = (nan, nan, nan, nan, nan, nan, nan, nan)
                    if first_bad[b] == n:
                        first_bad[b] = i
                price[i], delta[i], gamma[i], vega[i] = g[0], g[1], g[2], g[3]
                theta[i], rho[i], vanna[i], volga[i] = g[4], g[5], g[6], g[7]
    bad = first_bad.min() if nblocks > 0 else n
    return -1 if bad == n else int(bad)


# error_model="numpy": a float division by zero gives inf/NaN instead of a Python
# exception check, which would otherwise keep the loops from vectorising
black76_price_nb = njit(cache=True, parallel=True, error_model="numpy")(black76_price)
black76_greeks_nb = njit(cache=True, parallel=True, error_model="numpy")(black76_greeks)


def _warmup() -> None:
    a = np.ones(2)
    w = np.array([1.0, -1.0])
    o = [np.empty(2) for _ in range(8)]
    black76_price_nb(a, a, a, a * 0.0, a * 0.2, w, o[0])
    black76_greeks_nb(a, a, a, a * 0.0, a * 0.2, w, *o)
