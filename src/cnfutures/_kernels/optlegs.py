"""Option legs of a hedge, booked one trading day at a time from inside the booking kernel.

The booking kernel (:mod:`cnfutures._kernels.settlement`) calls :func:`option_day` once per path
and day when a policy has option legs; a futures-only policy passes an :class:`OptionArrays`
bundle with no leg (``L = 0``) and the call is skipped. All calendar, listing and rule look-ups
were done in polars (``cnfutures.backtest.engine``); here only arithmetic and the pricing kernels
run: an American option is priced with Barone-Adesi-Whaley (:func:`cnfutures._kernels.american._baw_one`,
matched to QuantLib), a European one with Black-76, both per option inside the compiled loop.

Booking rules (per leg ``l``, signed lots ``n`` (+ long), size ``m`` [unit/lot]):

1. *Mark*: the series carried in is valued at today's option settlement (market frame) or the
   model price at the underlying's settlement, the day's implied vol and the time to expiry
   ``T = (expiry - day) / 365``; option P&L ``n (v - v_prev) m`` [CNY]. On expiry ``v`` is
   the exercise value ``max(w (F - K), 0)``.
2. *Exercise*: on expiry day an in-the-money option is exercised (the exchanges exercise
   in-the-money options automatically); before expiry an American option is exercised when the
   model price is at its exercise value (BAW returns the exercise value beyond the critical
   price). Exercise books the underlying futures position at the strike, marked and closed at
   the underlying's settlement that day: cash ``n w (F - K) m`` [CNY], the exercise fee and the
   futures closing fee and commission per lot.
3. *Close* (roll before expiry): the position is sold (bought back) at ``v``; cash ``n v m``.
4. *Open*: the strike is the day's given strike, or ``moneyness × F`` snapped to the nearest
   strike of the grid in force; premium ``n v m`` paid (long) or received (short) [CNY].
5. *Margin*: a short leg adds the exchanges' short-option margin
   ``|n| (v m + max(Fm - ½ OTM, floor × Fm))``, ``Fm = F m × futures margin rate``.

Long option value is not counted in the account's equity (the buyer paid the premium in full).
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
from numba.extending import register_jitable

from cnfutures._kernels.american import _baw_one
from cnfutures._kernels.black76 import _black76_one

__all__ = ["ACT_CLOSE", "ACT_EXPIRE", "ACT_OPEN", "N_OPT", "OptionArrays", "no_options", "option_day"]

# action bits of ``OptionArrays.action``
ACT_OPEN = 1  # open the series of the day (after any close / expiry)
ACT_EXPIRE = 2  # the series held expires today: exercise in the money, then flat
ACT_CLOSE = 4  # close the series held (roll before expiry)

# what option_day returns, by index
O_CASH = 0  # CNY cash of the day: premium paid/received, exercise payoff, close proceeds
O_PNL = 1  # option P&L (mark to market) [CNY]
O_FEES = 2  # option fees + commission (+ futures closing fees of exercised positions) [CNY]
O_REQ = 3  # short-option margin requirement [CNY]
O_PREMIUM = 4  # premium of options opened today, + paid / - received [CNY]
O_EXERCISE = 5  # exercise payoff received (+) / paid (-) [CNY]
O_LOTS = 6  # signed option lots held at the day's end (sum over legs) [lots]
O_VALUE = 7  # value of the options held at the day's end [CNY]
O_DELTA = 8  # book delta of the options [unit of the underlying]
O_GAMMA = 9  # book gamma [unit per CNY/unit]
O_VEGA = 10  # book vega [CNY per 1.00 of vol]
N_OPT = 11


class OptionArrays(NamedTuple):
    """Per-leg and per leg-day inputs of the option booking (C-contiguous).

    Attributes
    ----------
    w : ndarray [L] float64
        +1 call, -1 put.
    moneyness : ndarray [L] float64
        Strike / underlying settlement on an opening day (when ``strike`` is NaN).
    american : ndarray [L] float64
        1 for American exercise, 0 for European.
    action : ndarray [L, D] int64
        Bits ``ACT_OPEN``, ``ACT_EXPIRE``, ``ACT_CLOSE``.
    k_open : ndarray [L, D] int64
        Contract index (the axis ``K`` of the booking kernel) of the underlying of the series
        opened that day (-1: none).
    expiry_ord : ndarray [L, D] float64
        Expiry day (days since 1970-01-01) of the series opened that day.
    lots : ndarray [L, D] float64
        Signed lots opened that day [lots] (+ long).
    strike : ndarray [L, D] float64
        Strike of the series opened that day [CNY/unit]; NaN: ``moneyness × F`` snapped to the grid.
    price : ndarray [L, D] float64
        Settlement of the series held at the day's end [CNY/unit] (market frame); NaN: model price.
    fee_open, fee_close, fee_exercise : ndarray [L, D] float64
        Exchange fees [CNY/lot] of the series held or opened that day.
    floor : ndarray [L, D] float64
        Short-margin floor [fraction of the futures margin].
    day_ord : ndarray [D] float64
        Trading days (days since 1970-01-01).
    vol : ndarray [1, D] or [P, D] float64
        Implied volatility of the day [1/√year] (one row shared, or one per path).
    grid_bound, grid_step : ndarray [D, B] float64
        Strike grid in force each day: a strike ``<= grid_bound[d, b]`` (first such ``b``) uses
        interval ``grid_step[d, b]`` [CNY/unit]; the last bound is ``inf``.
    rate : float
        Discount rate of the pricing models [1/year].
    """

    w: np.ndarray
    moneyness: np.ndarray
    american: np.ndarray
    action: np.ndarray
    k_open: np.ndarray
    expiry_ord: np.ndarray
    lots: np.ndarray
    strike: np.ndarray
    price: np.ndarray
    fee_open: np.ndarray
    fee_close: np.ndarray
    fee_exercise: np.ndarray
    floor: np.ndarray
    day_ord: np.ndarray
    vol: np.ndarray
    grid_bound: np.ndarray
    grid_step: np.ndarray
    rate: float


def no_options(n_days: int) -> OptionArrays:
    """The bundle of a futures-only policy: no leg (same types as a bundle with legs)."""
    z1 = np.zeros(0)
    zi = np.zeros((0, n_days), np.int64)
    z = np.zeros((0, n_days))
    return OptionArrays(
        z1, z1.copy(), z1.copy(), zi, zi.copy(), z, z.copy(), z.copy(), z.copy(), z.copy(), z.copy(),
        z.copy(), z.copy(), np.zeros(n_days), np.zeros((1, n_days)), np.full((n_days, 1), np.inf),
        np.ones((n_days, 1)), 0.0,
    )  # fmt: skip


@register_jitable
def snap_strike(target: float, bound: np.ndarray, step: np.ndarray) -> float:
    """The grid strike nearest to ``target`` (ties up) [CNY/unit]; the lowest strike below it."""
    nb = bound.shape[0]
    lo_step = step[0]
    if target <= lo_step:
        return float(lo_step)
    # the interval at or just below the target, and the one just above the lower strike
    s_dn = step[nb - 1]
    for b in range(nb):
        if target <= bound[b]:
            s_dn = step[b]
            break
    lo = math.floor(target / s_dn + 1e-9) * s_dn
    if abs(lo - target) < 1e-9:
        return float(lo)
    s_up = step[nb - 1]
    for b in range(nb):
        if lo < bound[b]:
            s_up = step[b]
            break
    hi = lo + s_up
    return float(hi if (hi - target) <= (target - lo) else lo)


@register_jitable
def model_price(F: float, K: float, T: float, r: float, sigma: float, w: float, american: float) -> float:
    """Option price [CNY/unit]: exercise value at ``T <= 0``, else BAW (American) or Black-76."""
    if T <= 0.0:
        return max(w * (F - K), 0.0)
    if american > 0.0:
        return _baw_one(F, K, T, r, sigma, w)  # type: ignore[no-any-return]
    return _black76_one(F, K, T, r, sigma, w)  # type: ignore[no-any-return]


@register_jitable
def _greeks(
    F: float, K: float, T: float, r: float, s: float, w: float, am: float
) -> tuple[float, float, float]:
    """Delta, gamma, vega of the same model by central differences (``cnfutures.valuation``'s bumps)."""
    if T <= 0.0:
        return (w if w * (F - K) > 0.0 else 0.0), 0.0, 0.0
    h = 1e-3 * F * max(s, 1e-4) * math.sqrt(T)
    up = model_price(F + h, K, T, r, s, w, am)
    mid = model_price(F, K, T, r, s, w, am)
    dn = model_price(F - h, K, T, r, s, w, am)
    hs = 1e-4
    vu = model_price(F, K, T, r, s + hs, w, am)
    vd = model_price(F, K, T, r, max(s - hs, 0.0), w, am)
    return (up - dn) / (2.0 * h), (up - 2.0 * mid + dn) / (h * h), (vu - vd) / (s + hs - max(s - hs, 0.0))


@register_jitable
def option_day(
    o: OptionArrays,
    p: int,
    d: int,
    settle: np.ndarray,
    margin_rate: np.ndarray,
    fee_close_lot: np.ndarray,
    fee_close_rate: np.ndarray,
    multiplier: float,
    commission: float,
    n: np.ndarray,
    strike: np.ndarray,
    kk: np.ndarray,
    v_prev: np.ndarray,
    expiry: np.ndarray,
    out: np.ndarray,
    greeks: bool,
) -> None:
    """Book every option leg of path ``p`` on day ``d`` (state in ``n``, ``strike``, ``kk``,
    ``v_prev``, ``expiry``, one entry per leg); the day's totals into ``out[N_OPT]``."""
    for i in range(N_OPT):
        out[i] = 0.0
    vol = o.vol[p * (o.vol.shape[0] > 1), d]
    r = o.rate
    day = o.day_ord[d]
    m = multiplier
    for leg in range(o.w.shape[0]):
        w = o.w[leg]
        am = o.american[leg]
        act = o.action[leg, d]
        if n[leg] != 0.0:
            k = kk[leg]
            F = settle[p, k, d]
            K = strike[leg]
            T = (expiry[leg] - day) / 365.0
            if (act & ACT_EXPIRE) != 0:
                T = 0.0
            px = o.price[leg, d]
            v = px if px == px and T > 0.0 else model_price(F, K, T, r, vol, w, am)
            out[O_PNL] += n[leg] * (v - v_prev[leg]) * m
            v_prev[leg] = v
            intrinsic = max(w * (F - K), 0.0)
            early = (am > 0.0) & (T > 0.0) & (intrinsic > 0.0) & (v <= intrinsic)
            if ((act & ACT_EXPIRE) != 0) | early:
                if intrinsic > 0.0:
                    a = abs(n[leg])
                    pay = n[leg] * intrinsic * m
                    out[O_CASH] += pay
                    out[O_EXERCISE] += pay
                    out[O_FEES] += a * (o.fee_exercise[leg, d] + fee_close_lot[k, d] + commission)
                    out[O_FEES] += a * F * m * fee_close_rate[k, d]
                n[leg] = 0.0
            elif (act & ACT_CLOSE) != 0:
                out[O_CASH] += n[leg] * v * m
                out[O_FEES] += abs(n[leg]) * (o.fee_close[leg, d] + commission)
                n[leg] = 0.0
        if (act & ACT_OPEN) != 0 and n[leg] == 0.0 and o.lots[leg, d] != 0.0:
            k = o.k_open[leg, d]
            F = settle[p, k, d]
            K = o.strike[leg, d]
            if K != K:  # NaN: the strike rule
                K = snap_strike(o.moneyness[leg] * F, o.grid_bound[d], o.grid_step[d])
            T = (o.expiry_ord[leg, d] - day) / 365.0
            px = o.price[leg, d]
            v = px if px == px else model_price(F, K, T, r, vol, w, am)
            lots = o.lots[leg, d]
            n[leg] = lots
            strike[leg] = K
            kk[leg] = k
            expiry[leg] = o.expiry_ord[leg, d]
            v_prev[leg] = v
            out[O_CASH] -= lots * v * m
            out[O_PREMIUM] += lots * v * m
            out[O_FEES] += abs(lots) * (o.fee_open[leg, d] + commission)
        if n[leg] != 0.0:
            k = kk[leg]
            F = settle[p, k, d]
            K = strike[leg]
            v = v_prev[leg]
            out[O_LOTS] += n[leg]
            out[O_VALUE] += n[leg] * v * m
            if n[leg] < 0.0:
                fm = F * m * margin_rate[k, d]
                otm = max(-w * (F - K), 0.0) * m
                out[O_REQ] += -n[leg] * (v * m + max(fm - 0.5 * otm, o.floor[leg, d] * fm))
            if greeks:
                T = (expiry[leg] - day) / 365.0
                dl, gm, vg = _greeks(F, K, T, r, vol, w, am)
                out[O_DELTA] += n[leg] * m * dl
                out[O_GAMMA] += n[leg] * m * gm
                out[O_VEGA] += n[leg] * m * vg
