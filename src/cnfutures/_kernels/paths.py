"""Simulator kernels: counter-based normal draws, the two-factor (Schwartz–Smith style) log-price
factors with USD/CNY, and per-contract settlements on the tick grid inside the daily limit band.

Plain Python functions bound with ``njit(cache=True, parallel=True)`` under ``*_nb`` names
(``prange`` over paths; every path is computed independently, so the output does not depend on
the number of threads); arrays only.

Random numbers are *counter based*: the normal draw of (seed, stream, path, key) is a pure
function of those four integers (SplitMix64 finaliser, Box–Muller). A path therefore has the
same draws whatever the number of paths simulated with it, whatever the chunking, and a
contract has the same open/close noise whether all listed contracts or only the ones a hedge
holds are simulated.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

_M = 0xFFFFFFFFFFFFFFFF  # 2**64 - 1: wrap-around for the plain twin (uint64 wraps by itself)
_G = 0x9E3779B97F4A7C15  # golden-ratio increment of SplitMix64
_C1 = 0xBF58476D1CE4E5B9  # SplitMix64 finaliser constants (Stafford's variant 13)
_C2 = 0x94D049BB133111EB

STREAM_CHI = 1  # shocks of the short-term factor (key: day index)
STREAM_XI = 2  # shocks of the long-run factor (key: day index)
STREAM_FX = 3  # shocks of log USD/CNY (key: day index)
STREAM_OPEN = 4  # open noise (key: contract row key)
STREAM_CLOSE = 5  # close noise (key: contract row key)


def keyed_normals(
    seed: int | np.uint64, stream: int | np.uint64, path0: int | np.uint64, keys: np.ndarray, out: np.ndarray
) -> None:
    """Standard normal draws ``out[p, j] = N(seed, stream, path0 + p, keys[j])``.

    Parameters
    ----------
    seed, stream, path0 : int (uint64 in the compiled kernel)
        Seed, stream number and index of the first path.
    keys : ndarray [N] uint64
        Counter of each draw (e.g. the day index).
    out : ndarray [P, N]
        Output draws.
    """
    n_paths, n = out.shape
    for p in prange(n_paths):
        x = (seed * _G + stream * _C1 + (path0 + p) * _C2) & _M
        x = ((x ^ (x >> 30)) * _C1) & _M
        x = ((x ^ (x >> 27)) * _C2) & _M
        kp = x ^ (x >> 31)
        for j in range(n):
            x = (kp ^ keys[j]) & _M
            x = ((x ^ (x >> 30)) * _C1) & _M
            x = ((x ^ (x >> 27)) * _C2) & _M
            x = x ^ (x >> 31)
            y = (x + _G) & _M
            y = ((y ^ (y >> 30)) * _C1) & _M
            y = ((y ^ (y >> 27)) * _C2) & _M
            y = y ^ (y >> 31)
            u1 = ((x >> 11) + 0.5) * (1.0 / 9007199254740992.0)  # (0, 1), 53 bits
            u2 = (y >> 11) * (1.0 / 9007199254740992.0)  # [0, 1)
            out[p, j] = math.sqrt(-2.0 * math.log(u1)) * math.cos(2.0 * math.pi * u2)


def factor_paths(
    z1: np.ndarray,
    z2: np.ndarray,
    z3: np.ndarray,
    dt: float,
    kappa: float,
    sigma_chi: float,
    sigma_xi: float,
    mu_xi: float,
    rho: float,
    chi0: float,
    xi0: float,
    xi_given: np.ndarray,
    sigma_fx: float,
    rho_fx: float,
    lfx0: float,
    lfx_given: np.ndarray,
    chi: np.ndarray,
    xi: np.ndarray,
    lfx: np.ndarray,
) -> None:
    """Simulate the short-term factor ``chi`` (OU), the long-run factor ``xi`` (drifted BM) and
    log USD/CNY (driftless GBM in the level, correlated with the long-run shock).

    Parameters
    ----------
    z1, z2, z3 : ndarray [P, D]
        Independent standard normal draws (chi, xi, FX).
    dt : float [year]
        Step per trading day.
    kappa : float [1/year]
        Mean-reversion speed of ``chi`` (exact OU discretisation).
    sigma_chi, sigma_xi : float [1/sqrt(year)]
        Volatilities of the two factors.
    mu_xi : float [1/year]
        Drift of ``exp(xi)`` (the Itô term is subtracted from the log drift).
    rho : float [-]
        Correlation of the two factors' shocks.
    chi0, xi0 : float
        Day-0 values.
    xi_given : ndarray [D]
        If non-empty, ``xi`` is taken from it (a real benchmark drives the long-run factor).
    sigma_fx : float [1/sqrt(year)]
        Volatility of USD/CNY.
    rho_fx : float [-]
        Correlation of the FX shock with the long-run factor's shock.
    lfx0 : float
        Day-0 log USD/CNY.
    lfx_given : ndarray [D]
        If non-empty, log USD/CNY is taken from it (a real fixing series).
    chi, xi, lfx : ndarray [P, D]
        Outputs.
    """
    n_paths, n_days = z1.shape
    a = math.exp(-kappa * dt)
    s_chi = sigma_chi * math.sqrt((1.0 - a * a) / (2.0 * kappa)) if kappa > 0.0 else sigma_chi * math.sqrt(dt)
    s_xi = sigma_xi * math.sqrt(dt)
    drift = (mu_xi - 0.5 * sigma_xi * sigma_xi) * dt
    r2 = math.sqrt(max(1.0 - rho * rho, 0.0))
    s_fx = sigma_fx * math.sqrt(dt)
    fx_drift = -0.5 * sigma_fx * sigma_fx * dt
    rf2 = math.sqrt(max(1.0 - rho_fx * rho_fx, 0.0))
    given = xi_given.shape[0] == n_days
    fx_given = lfx_given.shape[0] == n_days
    for p in prange(n_paths):
        chi[p, 0] = chi0
        xi[p, 0] = xi_given[0] if given else xi0
        lfx[p, 0] = lfx_given[0] if fx_given else lfx0
        for d in range(1, n_days):
            e1 = z1[p, d]
            e_xi = rho * e1 + r2 * z2[p, d]  # unit-variance shock of the long-run factor
            chi[p, d] = chi[p, d - 1] * a + s_chi * e1
            if given:
                xi[p, d] = xi_given[d]
            else:
                xi[p, d] = xi[p, d - 1] + drift + s_xi * e_xi
            if fx_given:
                lfx[p, d] = lfx_given[d]
            else:
                lfx[p, d] = lfx[p, d - 1] + fx_drift + s_fx * (rho_fx * e_xi + rf2 * z3[p, d])


def contract_paths(
    chi: np.ndarray,
    xi: np.ndarray,
    row_day: np.ndarray,
    row_tau: np.ndarray,
    row_start: np.ndarray,
    row_rate: np.ndarray,
    z_open: np.ndarray,
    z_close: np.ndarray,
    kappa: float,
    carry: float,
    tick: float,
    ohlc: bool,
    open_frac: float,
    open_sd: float,
    close_sd: float,
    settle: np.ndarray,
    prev: np.ndarray,
    up: np.ndarray,
    dn: np.ndarray,
    open_: np.ndarray,
    close: np.ndarray,
) -> None:
    """Per-contract daily prices from the factors, locked at the limits with the excess carried.

    The model price of a contract with ``tau`` years to its last trading day is
    ``exp(exp(-kappa tau) chi + xi + carry tau)``. The settlement is that price rounded to
    the tick and clipped into ``[dn, up]``: ``up = floor_tick(prev (1 + rate))``,
    ``dn = ceil_tick(prev (1 - rate))`` around the previous settlement. A clipped day locks at
    the limit; because the next day starts from the locked settle while the model price keeps
    its level, the excess carries to the next day.

    Parameters
    ----------
    chi, xi : ndarray [P, D]
        Factor paths.
    row_day : ndarray [R] int64
        Day index of each (contract, day) row; rows are grouped by contract, days ascending.
    row_tau : ndarray [R] [year]
        Time to the contract's last trading day.
    row_start : ndarray [R] int64
        1 on the first row of a contract group (its reference is the rounded model price).
    row_rate : ndarray [R] [fraction]
        Limit rate of the day (already doubled on a first listing day).
    z_open, z_close : ndarray [P, R]
        Standard normal draws for the open and the close (unused without ``ohlc``).
    tick : float [CNY/unit]
    ohlc : bool
        Also compute the open and the close (else ``open_`` and ``close`` are left untouched).
    open_frac : float [-]
        The open sits this fraction of the way from the previous settle to the model price.
    open_sd, close_sd : float [-]
        Relative noise of the open and of the close around it.
    settle, prev, up, dn, open_, close : ndarray [P, R]
        Outputs [CNY/unit].
    """
    n_paths = chi.shape[0]
    n_rows = row_day.shape[0]
    inv = round(1.0 / tick) if tick < 1.0 else 0.0
    inv_tick = 1.0 / tick
    # per-row constants, hoisted out of the path loop
    load = np.empty(n_rows)
    ctau = np.empty(n_rows)
    for r in range(n_rows):
        load[r] = math.exp(-kappa * row_tau[r])
        ctau[r] = carry * row_tau[r]
    for p in prange(n_paths):
        last = 0.0
        for r in range(n_rows):
            d = row_day[r]
            model = math.exp(load[r] * chi[p, d] + xi[p, d] + ctau[r])
            n_s = np.floor(model * inv_tick + 0.5)
            if row_start[r] == 1:
                last = n_s / inv if inv > 0.0 else n_s * tick
            rate = row_rate[r]
            n_up = np.floor(last * (1.0 + rate) * inv_tick + 1e-9)
            n_dn = np.ceil(last * (1.0 - rate) * inv_tick - 1e-9)
            n_s = min(max(n_s, n_dn), n_up)
            if inv > 0.0:
                s_ = n_s / inv
                up[p, r] = n_up / inv
                dn[p, r] = n_dn / inv
            else:
                s_ = n_s * tick
                up[p, r] = n_up * tick
                dn[p, r] = n_dn * tick
            if ohlc:
                o = last + open_frac * (model - last) + last * open_sd * z_open[p, r]
                n_o = min(max(np.floor(o * inv_tick + 0.5), n_dn), n_up)
                c = (n_s * tick) * math.exp(close_sd * z_close[p, r])
                n_c = min(max(np.floor(c * inv_tick + 0.5), n_dn), n_up)
                open_[p, r] = n_o / inv if inv > 0.0 else n_o * tick
                close[p, r] = n_c / inv if inv > 0.0 else n_c * tick
            prev[p, r] = last
            settle[p, r] = s_
            last = s_


keyed_normals_nb = njit(cache=True, parallel=True)(keyed_normals)
factor_paths_nb = njit(cache=True, parallel=True)(factor_paths)
contract_paths_nb = njit(cache=True, parallel=True)(contract_paths)


def _warmup() -> None:
    """Compile (or load from cache) the simulator kernels on a tiny input."""
    P, D = 1, 3
    z = np.zeros((P, D))
    keyed_normals_nb(np.uint64(1), np.uint64(1), np.uint64(0), np.arange(D, dtype=np.uint64), z)
    chi = np.zeros((P, D))
    xi = np.zeros((P, D))
    lfx = np.zeros((P, D))
    e = np.zeros(0)
    factor_paths_nb(z, z, z, 1 / 244, 1.0, 0.2, 0.2, 0.0, 0.0, 0.0, 6.0, e, 0.04, 0.0, 2.0, e, chi, xi, lfx)
    R = 3
    out = [np.zeros((P, R)) for _ in range(6)]
    contract_paths_nb(
        chi, xi, np.arange(R, dtype=np.int64), np.full(R, 0.5), np.array([1, 0, 0], np.int64),
        np.full(R, 0.1), np.zeros((P, R)), np.zeros((P, R)), 1.0, 0.0, 0.1, True, 0.5, 0.0, 0.0, *out,
    )  # fmt: skip
