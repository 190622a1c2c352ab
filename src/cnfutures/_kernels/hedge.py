"""Hedging kernels: rolling / EWMA / static minimum-variance hedge ratios, GARCH(1,1), DCC.

Every kernel is a plain Python function bound with ``njit(cache=True)`` under a ``*_nb``
name; the plain twin is tested against the compiled one. Helpers called from inside kernels
are wrapped with :func:`numba.extending.register_jitable`, so they stay plain Python when
called from Python and are compiled inline when called from a compiled kernel.

Inputs are contiguous float64 arrays (NaN marks a missing value) and scalars; outputs are
float64 arrays plus int64 status codes:

* ``0`` ok
* ``1`` warm-up (fewer than ``window`` observations so far)
* ``2`` a missing value inside the window (or on the row itself)
* ``3`` zero futures variance in the window

Conventions for the hedge ratio: ``x`` is the spot change, ``y`` the futures change, and the
minimum-variance ratio is ``h = cov(x, y) / var(y)`` (the OLS slope of ``x`` on ``y`` with an
intercept for the static and rolling forms; the zero-mean RiskMetrics form for EWMA).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange
from numba.extending import register_jitable

__all__ = [
    "STATUS_MISSING",
    "STATUS_OK",
    "STATUS_WARMUP",
    "STATUS_ZERO_VARIANCE",
    "dcc_filter",
    "dcc_filter_nb",
    "dcc_fit",
    "dcc_fit_nb",
    "dcc_nll",
    "dcc_nll_nb",
    "ewma_hedge_ratio",
    "ewma_hedge_ratio_nb",
    "garch11_backcast",
    "garch11_backcast_nb",
    "garch11_fit",
    "garch11_fit_nb",
    "garch11_nll",
    "garch11_nll_nb",
    "garch11_variance",
    "garch11_variance_nb",
    "ols_hedge_ratio",
    "ols_hedge_ratio_nb",
    "rolling_hedge_ratio",
    "rolling_hedge_ratio_nb",
    "rolling_hedge_ratio_par",
    "rolling_hedge_ratio_par_nb",
]

STATUS_OK = 0
STATUS_WARMUP = 1
STATUS_MISSING = 2
STATUS_ZERO_VARIANCE = 3

# relative size below which a variance counts as zero (rounding noise of a constant series)
_ZERO_VAR_REL = 1e-13
_LOG_2PI = math.log(2.0 * math.pi)


# --------------------------------------------------------------------------------------
# static OLS
# --------------------------------------------------------------------------------------
def ols_hedge_ratio(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Static OLS hedge ratio of ``x`` (spot) on ``y`` (futures), with an intercept.

    Two-pass (exact means first), so a large mean offset costs no precision. Missing values
    must be removed by the caller.

    Returns
    -------
    ndarray, shape (7,)
        ``[h, std_error, r_squared, intercept, correlation, n, var_y]``; ``h`` is NaN and
        ``var_y`` 0 when ``var(y) == 0``.
    """
    n = x.shape[0]
    out = np.full(7, np.nan)
    out[5] = n
    if n < 3:
        return out
    mx = 0.0
    my = 0.0
    for i in range(n):
        mx += x[i]
        my += y[i]
    mx /= n
    my /= n
    sxx = 0.0
    syy = 0.0
    sxy = 0.0
    for i in range(n):
        dx = x[i] - mx
        dy = y[i] - my
        sxx += dx * dx
        syy += dy * dy
        sxy += dx * dy
    out[6] = syy
    if syy <= _ZERO_VAR_REL * n * my * my or syy == 0.0:
        out[6] = 0.0
        return out
    h = sxy / syy
    ssr = sxx - h * sxy
    if ssr < 0.0:
        ssr = 0.0
    out[0] = h
    out[1] = math.sqrt(ssr / (n - 2) / syy)
    out[2] = (sxy * sxy) / (sxx * syy) if sxx > 0.0 else np.nan
    out[3] = mx - h * my
    out[4] = sxy / math.sqrt(sxx * syy) if sxx > 0.0 else np.nan
    return out


ols_hedge_ratio_nb = njit(cache=True)(ols_hedge_ratio)


# --------------------------------------------------------------------------------------
# rolling OLS: one pass, Welford-style add/replace updates, exact recomputation every
# ``recompute`` rows (bounds the drift of the running sums on long series)
# --------------------------------------------------------------------------------------
def _rolling_range(
    x: np.ndarray,
    y: np.ndarray,
    w: int,
    recompute: int,
    ratio: np.ndarray,
    status: np.ndarray,
    lo: int,
    hi: int,
    exact_start: bool,
) -> int:
    """Rows ``lo..hi-1`` of :func:`rolling_hedge_ratio`.

    ``exact_start`` starts at a row where the serial pass (over clean data) recomputes the
    window sums exactly: the state there depends on the window alone, so a range started
    there gives the serial pass's numbers bit for bit. Returns the number of rows with a
    non-finite ``x`` or ``y`` or a zero variance (0: every row past the warm-up is ok).
    """
    write_status = status.shape[0] == x.shape[0]
    inv_w = 1.0 / w
    inf = math.inf
    n_odd = 0  # rows with a non-finite value or zero variance
    # valid rows in the current run (since start or the last NaN); an exact start enters
    # with a full window and the recomputation due on its first row
    k = w if exact_start else 0
    since = recompute - 1 if exact_start else 0
    seen_nan = False
    # values enter shifted by (kx, ky), reset at every exact recomputation to the window
    # means, so the running means stay small and carry no rounding of a large level
    kx = 0.0
    ky = 0.0
    zthr = 0.0  # variance below this counts as zero (relative to the level ky)
    mx = 0.0
    my = 0.0
    cxy = 0.0
    cyy = 0.0
    for i in range(lo, hi):
        # an unsigned index: numba then drops the negative-index wraparound on each access
        # (i >= lo >= 0 is not known to it; ~20% of the loop's time)
        u = np.uint64(i)
        xi = x[u]
        yi = y[u]
        if not (abs(xi) < inf and abs(yi) < inf):  # NaN fails both comparisons
            n_odd += 1
            k = 0
            seen_nan = True
            ratio[u] = np.nan
            if write_status:
                status[u] = STATUS_MISSING
            continue
        if k < w:
            # growing window: plain Welford add
            if k == 0:
                kx = xi
                ky = yi
                zthr = _ZERO_VAR_REL * w * ky * ky
                mx = 0.0
                my = 0.0
                cxy = 0.0
                cyy = 0.0
            k += 1
            dx = (xi - kx) - mx
            mx += dx / k
            dy = (yi - ky) - my
            my += dy / k
            cxy += dx * ((yi - ky) - my)
            cyy += dy * ((yi - ky) - my)
            if k < w:
                ratio[u] = np.nan
                if write_status:
                    status[u] = STATUS_MISSING if seen_nan else STATUS_WARMUP
                continue
            since = 0
        else:
            since += 1
            if since >= recompute:
                # exact two-pass recomputation over the window ending at row i, new shift
                since = 0
                smx = 0.0
                smy = 0.0
                for j in range(i - w + 1, i + 1):
                    smx += x[j]
                    smy += y[j]
                kx = smx * inv_w
                ky = smy * inv_w
                zthr = _ZERO_VAR_REL * w * ky * ky
                smx = 0.0
                smy = 0.0
                for j in range(i - w + 1, i + 1):
                    smx += x[j] - kx
                    smy += y[j] - ky
                mx = smx * inv_w
                my = smy * inv_w
                cxy = 0.0
                cyy = 0.0
                for j in range(i - w + 1, i + 1):
                    ddy = (y[j] - ky) - my
                    cxy += ((x[j] - kx) - mx) * ddy
                    cyy += ddy * ddy
            else:
                xn = xi - kx
                yn = yi - ky
                uo = np.uint64(i - w)
                xo = x[uo] - kx
                yo = y[uo] - ky
                my_new = my + (yn - yo) * inv_w
                cxy += (xn - mx) * (yn - my_new) - (xo - mx) * (yo - my_new)
                cyy += (yn - my) * (yn - my_new) - (yo - my) * (yo - my_new)
                mx += (xn - xo) * inv_w
                my = my_new
        if cyy <= zthr or cyy <= 0.0:
            n_odd += 1
            ratio[u] = np.nan
            if write_status:
                status[u] = STATUS_ZERO_VARIANCE
        else:
            ratio[u] = cxy / cyy
            if write_status:
                status[u] = STATUS_OK
    return n_odd


_rolling_range = register_jitable(_rolling_range)


def rolling_hedge_ratio(
    x: np.ndarray,
    y: np.ndarray,
    window: int,
    recompute: int,
    ratio: np.ndarray,
    status: np.ndarray,
) -> int:
    """Rolling OLS hedge ratio over the trailing ``window`` rows (row ``i`` included).

    O(n): the window means and centred co-moments are updated in place when a row enters
    and one leaves (``C' = C + (x_new - mx)(y_new - my') - (x_old - mx)(y_old - my')``,
    the replacement form of Welford's update) on values shifted by the window means of the
    last exact recomputation (so a large level costs no precision), and recomputed exactly
    by two passes over the window every ``recompute`` rows. A NaN or infinite ``x`` or ``y``
    empties the window: the ratio is NaN with status 2 until ``window`` valid rows have
    followed it.

    Results are written into ``ratio`` (float64, length n) and ``status`` (int64 or uint8,
    length n, or length 0 to skip the status codes); the caller allocates them. The input
    check is fused into the pass: returns the number of rows with a non-finite ``x`` or
    ``y`` or a zero variance, so 0 says the input is clean and every status past the
    ``window - 1`` warm-up rows is ok (the caller looks for the bad rows only otherwise).
    """
    return _rolling_range(  # type: ignore[no-any-return]
        x, y, window, recompute, ratio, status, 0, x.shape[0], False
    )


# error_model="numpy": a division by zero gives inf/NaN instead of a Python exception check
# on every division (the zero-variance case is tested before dividing anyway)
rolling_hedge_ratio_nb = njit(cache=True, error_model="numpy")(rolling_hedge_ratio)


@register_jitable
def _rolling_range_entry(
    x: np.ndarray,
    y: np.ndarray,
    w: int,
    recompute: int,
    ratio: np.ndarray,
    status: np.ndarray,
    lo: int,
    hi: int,
    exact_start: bool,
) -> int:
    """:func:`_rolling_range` behind a one-line call, for the ``prange`` body (see
    :mod:`cnfutures._kernels`: compiling the ``prange`` body)."""
    return _rolling_range(  # type: ignore[no-any-return]
        x, y, w, recompute, ratio, status, lo, hi, exact_start
    )


def rolling_hedge_ratio_par(
    x: np.ndarray,
    y: np.ndarray,
    window: int,
    recompute: int,
    ratio: np.ndarray,
    status: np.ndarray,
    nblocks: int,
) -> int:
    """:func:`rolling_hedge_ratio` in up to ``nblocks`` blocks run in parallel, same numbers.

    Blocks start at the rows where the serial pass over clean data recomputes the window
    sums exactly (``window - 1 + m * recompute``), so each block starts from the state the
    serial pass has there. A non-finite value shifts the serial pass's later recomputation
    rows: from the first block with a non-finite value (or a zero variance, which is rare
    enough not to tell apart) everything is redone serially from that block's start, whose
    state is still right, the data before it being clean. Returns what
    :func:`rolling_hedge_ratio` returns.
    """
    n = x.shape[0]
    w = window
    m_total = (n - w) // recompute if n > w else 0  # exact recomputations of a clean pass
    nb = min(nblocks, m_total)
    if nb <= 1:
        return _rolling_range(  # type: ignore[no-any-return]
            x, y, w, recompute, ratio, status, 0, n, False
        )
    starts = np.empty(nb + 1, dtype=np.int64)
    starts[0] = 0
    for b in range(1, nb):
        starts[b] = w - 1 + ((b * m_total) // nb) * recompute  # distinct, >= 1st
    starts[nb] = n
    odd = np.empty(nb, dtype=np.int64)
    for b in prange(nb):
        odd[b] = _rolling_range_entry(x, y, w, recompute, ratio, status, starts[b], starts[b + 1], b > 0)
    n_odd = 0
    for b in range(nb):
        if odd[b] > 0:  # a non-finite value or zero variance here: redo the rest serially
            return n_odd + _rolling_range(  # type: ignore[no-any-return]
                x, y, w, recompute, ratio, status, starts[b], n, b > 0
            )
    return n_odd


rolling_hedge_ratio_par_nb = njit(cache=True, parallel=True, error_model="numpy")(
    rolling_hedge_ratio_par
)


# --------------------------------------------------------------------------------------
# EWMA (RiskMetrics, zero mean)
# --------------------------------------------------------------------------------------
def ewma_hedge_ratio(
    x: np.ndarray,
    y: np.ndarray,
    lam: float,
    min_periods: int,
    ratio: np.ndarray,
    status: np.ndarray,
) -> int:
    """EWMA hedge ratio ``h_t = sum_k lam^k x_{t-k} y_{t-k} / sum_k lam^k y_{t-k}^2``.

    Zero-mean (RiskMetrics) covariance and variance with decay ``lam``; the ``1 - lam``
    normalisation cancels in the ratio. A row with a missing (NaN) or infinite ``x`` or
    ``y`` gets NaN and status 2 and is skipped (the state is carried
    over unchanged, as if the row were not there). The first ``min_periods`` valid rows are
    warm-up (status 1). Outputs are written into ``ratio`` and ``status`` (int64 or uint8;
    length 0: status not written). The input check is fused into the pass: returns the
    number of rows with a non-finite ``x`` or ``y`` or a zero variance (0: the input is
    clean and every status past the warm-up is ok).
    """
    n = x.shape[0]
    write_status = status.shape[0] == n
    inf = math.inf
    n_odd = 0
    cxy = 0.0
    cyy = 0.0
    k = 0
    for i in range(n):
        xi = x[i]
        yi = y[i]
        if not (abs(xi) < inf and abs(yi) < inf):  # NaN fails both comparisons
            n_odd += 1
            ratio[i] = np.nan
            if write_status:
                status[i] = STATUS_MISSING
            continue
        cxy = lam * cxy + xi * yi
        cyy = lam * cyy + yi * yi
        k += 1
        if k < min_periods:
            ratio[i] = np.nan
            if write_status:
                status[i] = STATUS_WARMUP
        elif cyy > 0.0:
            ratio[i] = cxy / cyy
            if write_status:
                status[i] = STATUS_OK
        else:
            n_odd += 1
            ratio[i] = np.nan
            if write_status:
                status[i] = STATUS_ZERO_VARIANCE
    return n_odd


# fastmath={"contract"} only lets LLVM fuse ``lam * c + p`` into one multiply-add (shorter
# dependency chain through the state, ~25% faster); no other relaxation (NaN checks intact)
ewma_hedge_ratio_nb = njit(cache=True, error_model="numpy", fastmath={"contract"})(
    ewma_hedge_ratio
)


# --------------------------------------------------------------------------------------
# GARCH(1,1), Gaussian QML, arch-compatible backcast
# --------------------------------------------------------------------------------------
def garch11_backcast(e: np.ndarray) -> float:
    """Initial variance: exponentially weighted (0.94) mean of the first 75 squared residuals.

    This is the backcast ``arch`` uses, so log-likelihoods are comparable with it.
    """
    tau = min(75, e.shape[0])
    num = 0.0
    den = 0.0
    wgt = 1.0
    for i in range(tau):
        num += wgt * e[i] * e[i]
        den += wgt
        wgt *= 0.94
    return num / den


garch11_backcast = register_jitable(garch11_backcast)
garch11_backcast_nb = njit(cache=True)(garch11_backcast)


def garch11_variance(
    e: np.ndarray, omega: float, alpha: float, beta: float, backcast: float
) -> np.ndarray:
    """Conditional variances ``s2_t = omega + alpha e_{t-1}^2 + beta s2_{t-1}``.

    ``s2_0 = omega + (alpha + beta) * backcast``. ``s2_t`` uses information up to ``t-1``.
    """
    n = e.shape[0]
    s2 = np.empty(n)
    prev_e2 = backcast
    prev_s2 = backcast
    for t in range(n):
        cur = omega + alpha * prev_e2 + beta * prev_s2
        s2[t] = cur
        prev_e2 = e[t] * e[t]
        prev_s2 = cur
    return s2


garch11_variance = register_jitable(garch11_variance)
garch11_variance_nb = njit(cache=True)(garch11_variance)


def garch11_nll(e: np.ndarray, omega: float, alpha: float, beta: float, backcast: float) -> float:
    """Gaussian negative log-likelihood of GARCH(1,1) residuals ``e`` (sum over rows)."""
    n = e.shape[0]
    prev_e2 = backcast
    prev_s2 = backcast
    acc = 0.0
    for t in range(n):
        s2 = omega + alpha * prev_e2 + beta * prev_s2
        if s2 <= 0.0:
            return np.inf
        e2 = e[t] * e[t]
        acc += math.log(s2) + e2 / s2
        prev_e2 = e2
        prev_s2 = s2
    return 0.5 * (n * _LOG_2PI + acc)  # type: ignore[no-any-return]


garch11_nll = register_jitable(garch11_nll)
garch11_nll_nb = njit(cache=True)(garch11_nll)


def _logistic(u: float) -> float:
    if u >= 0.0:
        return 1.0 / (1.0 + math.exp(-u))
    z = math.exp(u)
    return z / (1.0 + z)


_logistic = register_jitable(_logistic)

# persistence alpha+beta (GARCH) or a+b (DCC) is kept below this bound
_PERSIST_MAX = 0.999999


def _garch_from_theta(theta: np.ndarray) -> tuple[float, float, float]:
    omega = math.exp(theta[0])
    p = _PERSIST_MAX * _logistic(theta[1])
    alpha = p * _logistic(theta[2])
    return omega, alpha, p - alpha


_garch_from_theta = register_jitable(_garch_from_theta)


def _garch_objective(theta: np.ndarray, e: np.ndarray, backcast: float) -> float:
    if theta[0] < -50.0 or theta[0] > 50.0:
        return np.inf
    omega, alpha, beta = _garch_from_theta(theta)
    return garch11_nll(e, omega, alpha, beta, backcast)


_garch_objective = register_jitable(_garch_objective)


def _dcc_from_theta(theta: np.ndarray) -> tuple[float, float]:
    p = _PERSIST_MAX * _logistic(theta[0])
    a = p * _logistic(theta[1])
    return a, p - a


_dcc_from_theta = register_jitable(_dcc_from_theta)


def dcc_nll(z1: np.ndarray, z2: np.ndarray, a: float, b: float, qbar12: float) -> float:
    """Correlation part of the DCC(1,1) Gaussian negative log-likelihood (bivariate).

    ``Q_t = (1-a-b) Qbar + a z_{t-1} z_{t-1}' + b Q_{t-1}``, ``Q_0 = Qbar`` with unit
    diagonal and off-diagonal ``qbar12``; ``rho_t = q12 / sqrt(q11 q22)``. Returns
    ``0.5 * sum(log(1-rho^2) + (z1^2 - 2 rho z1 z2 + z2^2)/(1-rho^2) - z1^2 - z2^2)``.
    """
    n = z1.shape[0]
    c = 1.0 - a - b
    q11 = 1.0
    q22 = 1.0
    q12 = qbar12
    acc = 0.0
    for t in range(n):
        if t > 0:
            u1 = z1[t - 1]
            u2 = z2[t - 1]
            q11 = c + a * u1 * u1 + b * q11
            q22 = c + a * u2 * u2 + b * q22
            q12 = c * qbar12 + a * u1 * u2 + b * q12
        rho = q12 / math.sqrt(q11 * q22)
        one_m = 1.0 - rho * rho
        if one_m <= 1e-12:
            return np.inf
        v1 = z1[t]
        v2 = z2[t]
        acc += math.log(one_m) + (v1 * v1 - 2.0 * rho * v1 * v2 + v2 * v2) / one_m
        acc -= v1 * v1 + v2 * v2
    return 0.5 * acc


dcc_nll = register_jitable(dcc_nll)
dcc_nll_nb = njit(cache=True)(dcc_nll)


def dcc_filter(z1: np.ndarray, z2: np.ndarray, a: float, b: float, qbar12: float) -> np.ndarray:
    """Conditional correlations ``rho_t`` of the DCC(1,1) recursion (see :func:`dcc_nll`)."""
    n = z1.shape[0]
    rho = np.empty(n)
    c = 1.0 - a - b
    q11 = 1.0
    q22 = 1.0
    q12 = qbar12
    for t in range(n):
        if t > 0:
            u1 = z1[t - 1]
            u2 = z2[t - 1]
            q11 = c + a * u1 * u1 + b * q11
            q22 = c + a * u2 * u2 + b * q22
            q12 = c * qbar12 + a * u1 * u2 + b * q12
        rho[t] = q12 / math.sqrt(q11 * q22)
    return rho


dcc_filter = register_jitable(dcc_filter)
dcc_filter_nb = njit(cache=True)(dcc_filter)


def _dcc_objective(theta: np.ndarray, z1: np.ndarray, z2: np.ndarray, qbar12: float) -> float:
    a, b = _dcc_from_theta(theta)
    return dcc_nll(z1, z2, a, b, qbar12)


_dcc_objective = register_jitable(_dcc_objective)


# --------------------------------------------------------------------------------------
# Nelder-Mead (dimension d, unconstrained), restarted from the best vertex until a restart
# no longer improves the objective. Objective selector ``kind``: 0 GARCH, 1 DCC.
# --------------------------------------------------------------------------------------
def _objective(
    kind: int, theta: np.ndarray, a1: np.ndarray, a2: np.ndarray, s: float
) -> float:
    f = _garch_objective(theta, a1, s) if kind == 0 else _dcc_objective(theta, a1, a2, s)
    if math.isnan(f):
        return np.inf
    return f


_objective = register_jitable(_objective)


def _nelder_mead(
    kind: int,
    x0: np.ndarray,
    step: float,
    a1: np.ndarray,
    a2: np.ndarray,
    s: float,
    xtol: float,
    ftol: float,
    max_iter: int,
) -> tuple[np.ndarray, float, int]:
    d = x0.shape[0]
    sim = np.empty((d + 1, d))
    fs = np.empty(d + 1)
    # work rows, written element by element: numba compiles an array expression such as
    # ``c + 2.0 * (c - x)`` into a kernel of its own (several seconds for the five here)
    row = np.empty(d)
    xr = np.empty(d)
    xe = np.empty(d)
    xc = np.empty(d)
    best = x0.copy()
    fbest = _objective(kind, best, a1, a2, s)
    total_iter = 0
    for _restart in range(8):
        for j in range(d + 1):
            for m in range(d):
                sim[j, m] = best[m]
            if j > 0:
                sim[j, j - 1] += step
            fs[j] = _objective(kind, sim[j], a1, a2, s)
        f_start = fbest
        it = 0
        while it < max_iter:
            it += 1
            # order vertices by objective (insertion sort, d + 1 is tiny)
            for j in range(1, d + 1):
                fj = fs[j]
                for c in range(d):
                    row[c] = sim[j, c]
                m = j - 1
                while m >= 0 and fs[m] > fj:
                    fs[m + 1] = fs[m]
                    for c in range(d):
                        sim[m + 1, c] = sim[m, c]
                    m -= 1
                fs[m + 1] = fj
                for c in range(d):
                    sim[m + 1, c] = row[c]
            size = 0.0
            for j in range(1, d + 1):
                for m in range(d):
                    size = max(size, abs(sim[j, m] - sim[0, m]))
            if size <= xtol and abs(fs[d] - fs[0]) <= ftol * (1.0 + abs(fs[0])):
                break
            centroid = np.zeros(d)
            for j in range(d):
                for m in range(d):
                    centroid[m] += sim[j, m] / d
            for m in range(d):
                xr[m] = centroid[m] + (centroid[m] - sim[d, m])
            fr = _objective(kind, xr, a1, a2, s)
            if fr < fs[0]:
                for m in range(d):
                    xe[m] = centroid[m] + 2.0 * (centroid[m] - sim[d, m])
                fe = _objective(kind, xe, a1, a2, s)
                if fe < fr:
                    for m in range(d):
                        sim[d, m] = xe[m]
                    fs[d] = fe
                else:
                    for m in range(d):
                        sim[d, m] = xr[m]
                    fs[d] = fr
            elif fr < fs[d - 1]:
                for m in range(d):
                    sim[d, m] = xr[m]
                fs[d] = fr
            else:
                worst = sim[d] if fr >= fs[d] else xr
                for m in range(d):
                    xc[m] = centroid[m] + 0.5 * (worst[m] - centroid[m])
                fc = _objective(kind, xc, a1, a2, s)
                if fc < fr and fc < fs[d]:
                    for m in range(d):
                        sim[d, m] = xc[m]
                    fs[d] = fc
                else:
                    for j in range(1, d + 1):
                        for m in range(d):
                            sim[j, m] = sim[0, m] + 0.5 * (sim[j, m] - sim[0, m])
                        fs[j] = _objective(kind, sim[j], a1, a2, s)
        total_iter += it
        jbest = 0
        for j in range(1, d + 1):
            if fs[j] < fs[jbest]:
                jbest = j
        if fs[jbest] < fbest:
            fbest = fs[jbest]
            best = sim[jbest].copy()
        if f_start - fbest <= ftol * (1.0 + abs(fbest)):
            break
        step = max(step * 0.5, 10.0 * xtol)
    return best, fbest, total_iter


_nelder_mead = register_jitable(_nelder_mead)


def garch11_fit(e: np.ndarray, max_iter: int) -> np.ndarray:
    """Gaussian QML fit of a zero-mean GARCH(1,1) to residuals ``e``.

    ``e`` should be scaled to unit-order variance by the caller (the public API divides by
    the sample standard deviation). Nelder-Mead over the unconstrained parameterisation
    ``omega = exp(t0)``, ``alpha + beta = p * logistic(t1)``, ``alpha = (alpha+beta) *
    logistic(t2)`` with ``p`` just below 1, so ``omega > 0``, ``alpha, beta >= 0`` and
    ``alpha + beta < 1`` hold by construction. Several starting points are tried.

    Returns
    -------
    ndarray, shape (6,)
        ``[omega, alpha, beta, nll, iterations, backcast]``.
    """
    backcast = garch11_backcast(e)
    var = 0.0
    for i in range(e.shape[0]):
        var += e[i] * e[i]
    var /= e.shape[0]
    empty = np.empty(0)
    best_theta = np.zeros(3)
    best_f = np.inf
    iters = 0
    # starting grid: persistence 0.90 / 0.97 / 0.995, alpha share 0.05 / 0.1 / 0.2
    for p0 in (0.90, 0.97, 0.995):
        for share in (0.05, 0.1, 0.2):
            theta = np.empty(3)
            theta[0] = math.log(var * (1.0 - p0))
            theta[1] = math.log(p0 / (_PERSIST_MAX - p0))
            theta[2] = math.log(share / (1.0 - share))
            f = _garch_objective(theta, e, backcast)
            if f < best_f:
                best_f = f
                best_theta = theta
    theta, f, it = _nelder_mead(0, best_theta, 0.5, e, empty, backcast, 1e-7, 1e-11, max_iter)
    iters += it
    omega, alpha, beta = _garch_from_theta(theta)
    out = np.empty(6)
    out[0] = omega
    out[1] = alpha
    out[2] = beta
    out[3] = f
    out[4] = iters
    out[5] = backcast
    return out


garch11_fit_nb = njit(cache=True)(garch11_fit)


def dcc_fit(z1: np.ndarray, z2: np.ndarray, qbar12: float, max_iter: int) -> np.ndarray:
    """QML fit of DCC(1,1) ``(a, b)`` on standardised residuals ``z1``, ``z2``.

    Nelder-Mead over ``a + b = p * logistic(t0)``, ``a = (a+b) * logistic(t1)``.

    Returns
    -------
    ndarray, shape (4,)
        ``[a, b, nll, iterations]``.
    """
    best_theta = np.zeros(2)
    best_f = np.inf
    for p0 in (0.5, 0.9, 0.98):
        for share in (0.02, 0.05, 0.15):
            theta = np.empty(2)
            theta[0] = math.log(p0 / (_PERSIST_MAX - p0))
            theta[1] = math.log(share / (1.0 - share))
            f = _dcc_objective(theta, z1, z2, qbar12)
            if f < best_f:
                best_f = f
                best_theta = theta
    theta, f, it = _nelder_mead(1, best_theta, 0.5, z1, z2, qbar12, 1e-7, 1e-11, max_iter)
    a, b = _dcc_from_theta(theta)
    out = np.empty(4)
    out[0] = a
    out[1] = b
    out[2] = f
    out[3] = it
    return out


dcc_fit_nb = njit(cache=True)(dcc_fit)


def _warmup() -> None:
    """Compile (or load from cache) every kernel on tiny inputs."""
    x = np.array([0.1, -0.2, 0.3, 0.05, -0.1, 0.2, -0.3, 0.15])
    y = np.array([0.2, -0.1, 0.25, 0.0, -0.2, 0.1, -0.25, 0.2])
    ols_hedge_ratio_nb(x, y)
    out = np.empty(x.shape[0])
    # uint8 status codes: the signature hedging.py compiles (a zero-length array of the same
    # type skips the codes without another compilation)
    st = np.empty(x.shape[0], dtype=np.uint8)
    rolling_hedge_ratio_nb(x, y, 3, 4, out, st)
    rolling_hedge_ratio_par_nb(x, y, 3, 1, out, st, 2)
    ewma_hedge_ratio_nb(x, y, 0.94, 2, out, st)
    bc = garch11_backcast_nb(x)
    garch11_variance_nb(x, 0.01, 0.05, 0.9, bc)
    garch11_nll_nb(x, 0.01, 0.05, 0.9, bc)
    garch11_fit_nb(x, 5)
    dcc_nll_nb(x, y, 0.05, 0.9, 0.5)
    dcc_filter_nb(x, y, 0.05, 0.9, 0.5)
    dcc_fit_nb(x, y, 0.5, 5)
