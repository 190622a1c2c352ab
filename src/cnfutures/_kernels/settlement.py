"""Day-loop booking kernel of the hedge backtester: trades, limits, rolls, margin, USD collateral.

All calendar and rule look-ups happen in polars before (``cnfutures.backtest.engine``); this
kernel only walks trading days over precomputed arrays, passed as four typed bundles:
:class:`PathArrays` (prices and limits ``[P, K, D]``: paths × contracts used × trading days;
wanted lots, FX and exposure P&L per path), :class:`ContractRules` (``[K, D]``),
:class:`DaySchedule` (``[D]``) and :class:`BookParams` (scalars); it fills a
:class:`BookOutput`. Numba reads the fields of these NamedTuples by name (``cache=True`` holds).

``book_paths(...)`` is the plain Python twin; ``book_paths_nb`` the compiled kernel and
``book_paths_par_nb`` the same kernel with the paths spread over all cores (``prange``; each
path is independent, so the results are identical). Pass an empty ledger for a summary-only
run over many paths. Option legs are booked from the same day loop by
:func:`cnfutures._kernels.optlegs.option_day` (skipped when the policy has none). The booking
rules are documented in ``docs/backtest.md`` and in :func:`book_paths`.
"""

from __future__ import annotations

import math
import types
from typing import NamedTuple

import numpy as np
from numba import njit, prange
from numba.extending import overload, register_jitable

from cnfutures._kernels.optlegs import (
    N_OPT,
    O_CASH,
    O_DELTA,
    O_EXERCISE,
    O_FEES,
    O_GAMMA,
    O_LOTS,
    O_PNL,
    O_PREMIUM,
    O_REQ,
    O_VALUE,
    O_VEGA,
    OptionArrays,
    no_options,
    option_day,
)

# ledger rows (first axis of ``ledger``)
L_CONTRACT = 0  # index of the contract held at the end of the day (-1: none)
L_LOTS = 1  # signed lots held at the end of the day [lots]
L_TRADE = 2  # signed lots traded in the held contract [lots]
L_ROLL = 3  # signed lots traded to close the old contract on a roll day [lots]
L_PRICE = 4  # execution price of the trade in the held contract incl. slippage [CNY/unit]
L_SETTLE = 5  # settlement price of the held contract [CNY/unit]
L_VM = 6  # variation margin incl. slippage [CNY]
L_FEES = 7  # exchange fees + futures-firm commission [CNY]
L_SLIP = 8  # slippage cost (already inside the variation margin) [CNY]
L_REQ = 9  # margin requirement [CNY]
L_CASH = 10  # CNY cash in the futures account [CNY]
L_COLL = 11  # collateral at the futures firm, USD value at the day's fixing [USD]
L_CALL = 12  # USD posted that day (margin call or initial margin) [USD]
L_RELEASE = 13  # USD returned that day [USD]
L_CONVERT = 14  # USD converted to CNY to settle negative cash [USD]
L_FXCOST = 15  # FX conversion spread paid [USD]
L_FUNDING = 16  # funding cost of the USD sent [USD]
L_FUNDED = 17  # net USD sent to the futures firm so far [USD]
L_HEDGE = 18  # hedge P&L = variation margin / FX [USD]
L_COSTS = 19  # fees/FX + FX spread + funding [USD]
L_NET = 20  # exposure P&L + hedge P&L - costs + FX revaluation [USD]
L_LOCKED = 21  # 1 when a wanted trade was blocked by a limit-locked contract
L_FORCED = 22  # 1 on a forced roll day (stage exit or LTD)
L_BOUND = 23  # 1 when the position or opening limit cut the target
L_MCALL = 24  # 1 on a margin call (posting while a position was open)
L_DELAYED = 25  # 1 when a scheduled roll was delayed
L_EQUITY = 26  # account equity: cash + USD collateral × haircut × FX, or + CNY collateral [CNY]
L_TARGET = 27  # target lots after the position / opening limits [lots]
# option legs (0 for a futures-only policy; see cnfutures._kernels.optlegs)
L_OPT_LOTS = 28  # signed option lots held at the day's end (all legs) [lots]
L_OPT_PREMIUM = 29  # premium of the options opened that day, + paid / - received [CNY]
L_OPT_PNL = 30  # option P&L, marked to the option settlement or the model [CNY]
L_OPT_EXERCISE = 31  # exercise payoff received (+) / paid (-) [CNY]
L_OPT_FEES = 32  # option fees + commission, incl. closing the exercised futures [CNY]
L_OPT_MARGIN = 33  # short-option margin inside the requirement [CNY]
L_OPT_VALUE = 34  # value of the options held [CNY]
L_OPT_CASH = 35  # option cash flow of the day (premium, exercise, close) [CNY]
L_DELTA = 36  # book delta: futures lots × size + option delta [unit]
L_GAMMA = 37  # book gamma of the options [unit per CNY/unit]
L_VEGA = 38  # book vega of the options [CNY per 1.00 of vol]
L_FXREVAL = 39  # FX revaluation of the CNY held at the previous close: CNY × (1/FX_d - 1/FX_{d-1}) [USD]
N_LEDGER = 40

# summary columns (second axis of ``summary``)
S_EXPO = 0
S_HEDGE = 1
S_COSTS = 2
S_NET = 3
S_FEES = 4  # [USD]
S_SLIP = 5  # [USD]
S_FXCOST = 6
S_FUNDING = 7
S_PEAK = 8  # peak net USD sent [USD]
S_CALLS = 9
S_LOCKED = 10
S_DELAYED = 11
S_EXPO_SQ = 12
S_NET_SQ = 13
S_VM = 14  # total variation margin [CNY]
S_DD_EXPO = 15  # worst drawdown of cumulative exposure P&L [USD] (<= 0)
S_DD_NET = 16  # worst drawdown of cumulative hedged P&L [USD] (<= 0)
S_FORCED = 17
S_BOUND = 18  # days the position or opening limit cut the target
S_OPT_PNL = 19  # option P&L [USD]
S_OPT_PREMIUM = 20  # premium paid (+) / received (-) [USD]
S_OPT_EXERCISE = 21  # exercise payoff [USD]
S_OPT_FEES = 22  # option fees [USD] (inside S_FEES)
S_OPT_PEAK_MARGIN = 23  # largest short-option margin [CNY]
S_FXREVAL = 24  # FX revaluation of the CNY held [USD] (inside S_NET)
N_SUMMARY = 25

# daily per-path tracks (second axis of ``track``)
T_CUM_EXPO = 0  # cumulative exposure P&L [USD]
T_CUM_NET = 1  # cumulative hedged (net) P&L [USD]
T_FUNDED = 2  # net USD sent to the futures firm so far [USD]
N_TRACK = 3


class PathArrays(NamedTuple):
    """Per-path market inputs of the booking kernel (all float64, C-contiguous).

    Attributes
    ----------
    settle, exec_px, lim_up, lim_dn : ndarray [P, K, D]
        Settlement price, execution price before slippage, limit-up and limit-down prices
        [CNY/unit] of contract ``k`` on trading day ``d`` of path ``p`` (NaN where unlisted;
        the limits ``±inf`` where none applies).
    want_lots : ndarray [1, D] or [P, D]
        Signed whole lots the policy wants [lots] (one row shared by all paths, or one per path).
    fx : ndarray [1, D] or [P, D]
        USD/CNY [CNY per USD] (shared by all paths, or one row per path).
    expo_pnl : ndarray [P, D]
        Exposure P&L [USD].
    """

    settle: np.ndarray
    exec_px: np.ndarray
    lim_up: np.ndarray
    lim_dn: np.ndarray
    want_lots: np.ndarray
    fx: np.ndarray
    expo_pnl: np.ndarray


class ContractRules(NamedTuple):
    """Per contract-day rules in force (float64 ``[K, D]``, C-contiguous).

    Attributes
    ----------
    margin_rate : ndarray [K, D]
        Margin rate incl. broker add-on [fraction of contract value].
    pos_limit, open_limit : ndarray [K, D]
        Position limit and daily opening limit [lots] (``inf`` where none applies).
    fee_open_lot, fee_open_rate, fee_close_lot, fee_close_rate : ndarray [K, D]
        Exchange fees [CNY/lot] and [fraction of turnover] for opening and closing.
    """

    margin_rate: np.ndarray
    pos_limit: np.ndarray
    open_limit: np.ndarray
    fee_open_lot: np.ndarray
    fee_open_rate: np.ndarray
    fee_close_lot: np.ndarray
    fee_close_rate: np.ndarray


class DaySchedule(NamedTuple):
    """Per trading-day inputs shared by all paths (``[D]``, C-contiguous).

    Attributes
    ----------
    target_k : ndarray [D] int64
        Contract to hold at the end of each day (roll schedule incl. forced rolls).
    forced : ndarray [D] int64
        1 where the schedule's roll is forced (stage exit, LTD).
    dt_years : ndarray [D] float64
        Years since the previous trading day (ACT/365) [year].
    haircut : ndarray [D] float64
        USD collateral counts as ``haircut × FX`` CNY on that day [fraction].
    collateral_fx : ndarray [D] float64, optional
        Spread paid on the USD bought into CNY margin and on the CNY margin sold back [fraction]
        (a route that may not post USD, e.g. QFI: its channel's spread; 0 elsewhere). Empty
        (the default): 0 on every day.
    conversion_basis : ndarray [D] float64, optional
        The route's channel converts USD and CNY at ``FX × basis`` (an offshore CNH channel:
        ``USD/CNH ÷ USD/CNY``) instead of the fixing; the FX cost is then the USD paid above
        (or saved below) the fixing value. Empty (the default): at the fixing.
    """

    target_k: np.ndarray
    forced: np.ndarray
    dt_years: np.ndarray
    haircut: np.ndarray
    collateral_fx: np.ndarray = np.zeros(0)
    conversion_basis: np.ndarray = np.zeros(0)


class BookParams(NamedTuple):
    """Scalar booking parameters (float64).

    Attributes
    ----------
    multiplier : float [unit/lot]
    slippage : float [CNY/unit]
        Paid on every lot traded (adverse).
    band : float [lots]
        No rebalancing trade while ``|target - lots| <= band`` (rolls always trade).
    commission : float [CNY/lot]
        Futures-firm commission on every lot traded.
    fx_spread : float [fraction]
        Spread paid on each USD→CNY and CNY→USD conversion.
    buffer : float [fraction]
        A margin call tops equity up to ``(1 + buffer) × requirement``.
    release_above : float [fraction]
        Excess above ``(1 + release_above) × requirement`` is released down to the buffer.
    funding_rate : float [1/year]
        USD funding rate on the net USD sent (when positive).
    cny_margin : float
        1.0 for a route whose margin must be CNY (QFI): a call buys CNY collateral with USD at
        the conversion rate, counting 1:1 in equity, sold back to USD at the day's rate on a
        release; 0.0 (the default): USD collateral counting ``haircut × FX``.
    """

    multiplier: float
    slippage: float
    band: float
    commission: float
    fx_spread: float
    buffer: float
    release_above: float
    funding_rate: float
    cny_margin: float = 0.0


class BookOutput(NamedTuple):
    """Output arrays the booking kernel fills (float64, C-contiguous).

    Attributes
    ----------
    ledger : ndarray [N_LEDGER, D]
        The ledger of path 0 (shape ``(N_LEDGER, 0)`` to skip).
    summary : ndarray [P, N_SUMMARY]
        Per-path totals.
    track : ndarray [P, N_TRACK, D]
        Per-path daily cumulative exposure and hedged P&L and net USD sent (shape
        ``(0, N_TRACK, 0)`` to skip); the fan charts of Monte Carlo hedge risk are drawn from it.
    """

    ledger: np.ndarray
    summary: np.ndarray
    track: np.ndarray


def _flat(i: int) -> int:
    """A flat array offset; compiled, as an unsigned integer: numba then emits no negative-index
    wrap-around code (the kernel never reads an offset of ``k = -1``, no contract held)."""
    return i


@overload(_flat)
def _flat_compiled(i):  # type: ignore[no-untyped-def]
    return lambda i: np.uint64(i)


@register_jitable
def _n_legs(o: OptionArrays | None) -> int:
    """Number of option legs (0 for ``None``; the test is pruned at compile time)."""
    if o is None:
        return 0
    return int(o.w.shape[0])


def book_paths(
    m: PathArrays, r: ContractRules, sched: DaySchedule, c: BookParams, out: BookOutput,
    o: OptionArrays | None = None,
) -> None:
    """Book a futures hedge, and its option legs if any, day by day on every path.

    Parameters
    ----------
    m : PathArrays
        Per-path prices [CNY/unit], wanted lots [lots], FX [CNY per USD], exposure P&L [USD].
    r : ContractRules
        Margin rates [fraction], position and opening limits [lots], fees [CNY/lot, fraction].
    sched : DaySchedule
        Contract held, forced-roll flags, day lengths [year] and collateral haircut [fraction].
    c : BookParams
        Multiplier [unit/lot], slippage [CNY/unit], band [lots], commission [CNY/lot], FX
        spread, margin buffers [fraction], funding rate [1/year].
    out : BookOutput
        Ledger of path 0, per-path summary and daily tracks (filled in place).
    o : OptionArrays or None
        Option legs (:mod:`cnfutures._kernels.optlegs`); None for a futures-only policy (a
        separate compiled specialisation without the option code: the futures loop as it was).
    """
    settle, exec_px, lim_up, lim_dn = m.settle, m.exec_px, m.lim_up, m.lim_dn
    want_lots, fx, expo_pnl = m.want_lots, m.fx, m.expo_pnl
    margin_rate, pos_limit, open_limit = r.margin_rate, r.pos_limit, r.open_limit
    fee_open_lot, fee_open_rate = r.fee_open_lot, r.fee_open_rate
    fee_close_lot, fee_close_rate = r.fee_close_lot, r.fee_close_rate
    target_k, forced, dt_years, haircut_d = sched.target_k, sched.forced, sched.dt_years, sched.haircut
    multiplier, slippage, band, commission = c.multiplier, c.slippage, c.band, c.commission
    fx_spread, buffer, release_above, funding_rate = c.fx_spread, c.buffer, c.release_above, c.funding_rate
    cm = c.cny_margin  # 1.0: the collateral is CNY (QFI), 0.0: USD
    ledger, summary, track = out.ledger, out.summary, out.track
    n_paths = settle.shape[0]
    n_days = settle.shape[2]
    keep = ledger.shape[1] == n_days
    keep_track = track.shape[0] == n_paths and track.shape[2] == n_days
    coll_fx = sched.collateral_fx
    has_coll_fx = coll_fx.shape[0] == n_days
    conv_basis = sched.conversion_basis
    has_basis = conv_basis.shape[0] == n_days
    n_k = settle.shape[1]
    inv_sell = 1.0 / (1.0 - fx_spread)
    inv_buy = 1.0 / (1.0 + fx_spread)
    # flat views (the kernel's arrays are C-contiguous): one offset per day serves every array
    s1, x1, up1, dn1 = settle.reshape(-1), exec_px.reshape(-1), lim_up.reshape(-1), lim_dn.reshape(-1)
    mr1, pl1, ol1 = margin_rate.reshape(-1), pos_limit.reshape(-1), open_limit.reshape(-1)
    fol1, for1 = fee_open_lot.reshape(-1), fee_open_rate.reshape(-1)
    fcl1, fcr1 = fee_close_lot.reshape(-1), fee_close_rate.reshape(-1)
    fx_rows = fx.shape[0]
    want_rows = want_lots.shape[0]
    # the day's divisions, once per FX row (shared by all paths when the FX is): 1 / FX, 1 / the
    # channel rate g, the CNY value of one collateral unit and its inverse (see step 5)
    inv_fx = np.empty((fx_rows, n_days))
    inv_gx = np.empty((fx_rows, n_days))
    unit_x = np.empty((fx_rows, n_days))
    inv_unit_x = np.empty((fx_rows, n_days))
    for q in prange(fx_rows):
        for d in range(n_days):
            fq = fx[q, d]
            inv_fx[q, d] = 1.0 / fq
            inv_gx[q, d] = 1.0 / (fq * conv_basis[d]) if has_basis else 1.0 / fq
            u = cm + (1.0 - cm) * haircut_d[d] * fq
            unit_x[q, d] = u
            inv_unit_x[q, d] = 1.0 / u
    # option-leg state (per path and leg: lots, strike, last mark, expiry; the underlying's index)
    # and each path's option totals of the day, allocated here, not inside the parallel loop
    # (numba may hoist a loop-invariant allocation out of ``prange``: one array for all threads).
    # Every use of ``o`` is under ``if o is not None``, which numba prunes at compile time: a
    # futures-only call (``o=None``) compiles to the futures loop alone.
    # (A variable a ``prange`` body may use without defining it in that iteration is shared by all
    # threads: the state is defined unconditionally, for ``o=None`` with no leg.)
    n_legs = _n_legs(o)
    o_state = np.zeros((n_paths, 4, n_legs))
    o_kk = np.zeros((n_paths, n_legs), np.int64)
    o_day = np.zeros((n_paths, N_OPT))
    for p in prange(n_paths):
        # index arithmetic, not ``p if ... else 0``: under ``prange`` the loop index is unsigned
        # and unifying it with an int literal types the index as float64 (a TypingError on a
        # cold cache when the parallel kernel is the first to compile)
        pf = p * (fx_rows > 1)
        pw = p * (want_rows > 1)
        prow = np.int64(p) * n_k
        k = -1
        lots = 0.0
        cash = 0.0
        coll = 0.0
        funded = 0.0
        peak = 0.0
        cum_e = 0.0
        cum_n = 0.0
        hi_e = 0.0
        hi_n = 0.0
        dd_e = 0.0
        dd_n = 0.0
        t_expo = 0.0
        t_hedge = 0.0
        t_costs = 0.0
        t_fees = 0.0
        t_slip = 0.0
        t_fxc = 0.0
        t_fund = 0.0
        t_vm = 0.0
        sq_e = 0.0
        sq_n = 0.0
        n_calls = 0.0
        n_locked = 0.0
        n_delayed = 0.0
        n_forced = 0.0
        n_bound = 0.0
        o_n = o_state[p, 0]  # this path's rows of the option-leg state
        o_strike = o_state[p, 1]
        o_v = o_state[p, 2]
        o_exp = o_state[p, 3]
        o_k = o_kk[p]
        od = o_day[p]
        t_opnl = 0.0
        t_oprem = 0.0
        t_oex = 0.0
        t_ofee = 0.0
        o_peak = 0.0
        t_reval = 0.0
        cny_prev = 0.0  # CNY held at the previous close: cash + CNY collateral + option value
        inv_prev = 0.0  # 1 / FX of the previous day
        for d in range(n_days):
            f = fx[pf, d]
            inv_f = inv_fx[pf, d]
            # 0. FX revaluation [USD] of the CNY held overnight (0 on the first day: none held)
            reval = cny_prev * (inv_f - inv_prev)
            kt = target_k[d]
            # flat offsets into the [K, D] rule arrays and this path's [K, D] price block, held
            # contract k and target kt (unsigned: no negative-index wrap-around in the loop;
            # an offset with k = -1 is never read)
            ik = _flat(k * n_days + d)
            ipk = _flat((prow + k) * n_days + d)
            ikt = _flat(kt * n_days + d)
            ipkt = _flat((prow + kt) * n_days + d)
            vm = 0.0
            fees = 0.0
            slip_cny = 0.0
            locked = 0.0
            bound = 0.0
            delayed = 0.0
            trade = 0.0
            roll_lots = 0.0
            price = math.nan
            lots_start = lots
            # 1. mark the position carried in to today's settlement
            if lots != 0.0:
                vm += lots * (s1[ipk] - s1[ipk - 1]) * multiplier
            # 2. target lots within the position limit of the target contract
            want = want_lots[pw, d]
            lim = pl1[ikt]
            tgt = want
            if tgt > lim:
                tgt = lim
                bound = 1.0
            elif tgt < -lim:
                tgt = -lim
                bound = 1.0
            if lots != 0.0 and k != kt:
                # 3a. roll: close the old contract and open the target one, or wait
                olim = ol1[ikt]
                if abs(tgt) > olim:
                    tgt = olim if tgt > 0.0 else -olim
                    bound = 1.0
                s_old = s1[ipk]
                s_new = s1[ipkt]
                # a buy is blocked at the up-limit, a sell at the down-limit
                # (bitwise & | on bools: no data-dependent branches in the compiled loop)
                old_locked = ((lots < 0.0) & (s_old >= up1[ipk])) | (
                    (lots > 0.0) & (s_old <= dn1[ipk])
                )
                new_locked = ((tgt > 0.0) & (s_new >= up1[ipkt])) | (
                    (tgt < 0.0) & (s_new <= dn1[ipkt])
                )
                if old_locked or new_locked:
                    locked = 1.0
                    delayed = 1.0
                else:
                    roll_lots = -lots
                    pc = x1[ipk] + math.copysign(slippage, roll_lots)
                    vm += roll_lots * (s_old - pc) * multiplier
                    slip_cny += abs(roll_lots) * slippage * multiplier
                    fees += abs(roll_lots) * (fcl1[ik] + pc * multiplier * fcr1[ik])
                    fees += abs(roll_lots) * commission
                    if tgt != 0.0:
                        trade = tgt
                        price = x1[ipkt] + math.copysign(slippage, trade)
                        vm += trade * (s_new - price) * multiplier
                        slip_cny += abs(trade) * slippage * multiplier
                        fees += abs(trade) * (fol1[ikt] + price * multiplier * for1[ikt])
                        fees += abs(trade) * commission
                    lots = tgt
                    k = kt
                    ik, ipk = ikt, ipkt
            else:
                # 3b. rebalance in the target contract
                if lots == 0.0:
                    k = kt
                    ik, ipk = ikt, ipkt
                delta = tgt - lots
                if abs(delta) > band and delta != 0.0:
                    # opening vs closing part
                    # same side (or flat): only the change opens or closes; else close all, open all
                    same = (lots == 0.0) | ((lots > 0.0) == (tgt > 0.0))
                    a_t = abs(tgt)
                    a_l = abs(lots)
                    n_open = max(a_t - a_l, 0.0) if same else a_t
                    n_close = max(a_l - a_t, 0.0) if same else a_l
                    olim = ol1[ik]
                    if n_open > olim:
                        cut = n_open - olim
                        n_open = olim
                        tgt = tgt - cut if tgt > 0.0 else tgt + cut
                        delta = tgt - lots
                        bound = 1.0
                    s = s1[ipk]
                    if ((delta > 0.0) & (s >= up1[ipk])) | ((delta < 0.0) & (s <= dn1[ipk])):
                        locked = 1.0
                    elif delta != 0.0:
                        trade = delta
                        price = x1[ipk] + math.copysign(slippage, trade)
                        vm += trade * (s - price) * multiplier
                        slip_cny += abs(trade) * slippage * multiplier
                        fees += n_open * (fol1[ik] + price * multiplier * for1[ik])
                        fees += n_close * (fcl1[ik] + price * multiplier * fcr1[ik])
                        fees += abs(trade) * commission
                        lots = tgt
            # 4. margin requirement at today's settlement
            s_held = s1[ipk] if k >= 0 else math.nan
            req = abs(lots) * s_held * multiplier * mr1[ik] if lots != 0.0 else 0.0
            # 4b. option legs: premium, marks, exercise, fees, short margin
            o_cash = 0.0
            o_pnl = 0.0
            if o is not None:
                option_day(
                    o, p, d, settle, margin_rate, fee_close_lot, fee_close_rate, multiplier, commission,
                    o_n, o_strike, o_k, o_v, o_exp, od, keep and p == 0,
                )  # fmt: skip
                o_cash = od[O_CASH]
                o_pnl = od[O_PNL]
                fees += od[O_FEES]
                req += od[O_REQ]
                o_peak = max(o_peak, od[O_REQ])
            # 5. cash, conversions, collateral
            fund = max(funded, 0.0) * funding_rate * dt_years[d]
            cash += vm - fees
            if o is not None:
                cash += o_cash
            # negative cash is covered by converting USD (0 when cash >= 0; branch-free), at the
            # fixing, or at the route's channel rate g = fixing × basis (offshore CNH) if given
            inv_g = inv_gx[pf, d] if has_basis else inv_f
            # one collateral unit: 1 USD counting haircut × FX CNY (cm = 0), or 1 CNY bought at the
            # channel rate g counting 1:1 (cm = 1); CNY of margin and USD paid per unit, branch-free
            unit_cny = unit_x[pf, d]
            inv_unit = inv_unit_x[pf, d]
            unit_usd = cm * inv_g + (1.0 - cm)
            convert = max(-cash, 0.0) * (inv_g * inv_sell)
            fxcost = convert - max(-cash, 0.0) * inv_f if has_basis else convert * fx_spread
            cash = max(cash, 0.0)
            funded += convert
            equity = cash + coll * unit_cny
            # margin call (equity short of the requirement: top up to the buffer level) or
            # release (equity above release_above: back down to the buffer, collateral first,
            # then CNY cash converted back); both computed, the unused one selected to 0
            is_call = equity < req
            is_rel = equity > req * (1.0 + release_above)
            call = (req * (1.0 + buffer) - equity) * inv_unit
            call = call if is_call else 0.0
            excess = equity - req * (1.0 + buffer)
            rel_c = min(coll, excess * inv_unit)
            rel_c = rel_c if is_rel else 0.0
            excess -= rel_c * unit_cny
            rel_cash = min(cash, max(excess, 0.0))
            rel_cash = rel_cash if is_rel else 0.0
            back = rel_cash * (inv_g * inv_buy)
            fxcost += rel_cash * inv_f - back
            cash -= rel_cash
            call_usd = call * unit_usd  # USD posted / returned for the collateral units
            rel_usd = rel_c * unit_usd
            # CNY collateral bought (sold) at the channel rate g: the USD paid above (received
            # below) its value at the fixing is an FX cost (0 at the fixing: 1/g - 1/f = 0)
            fxcost += cm * (call - rel_c) * (inv_g - inv_f)
            release = rel_usd + back
            coll = coll + call - rel_c
            funded = funded + call_usd - release
            # CNY margin (a route without USD collateral): the channel's spread on the USD bought
            # into CNY (call) and on the margin sold back (rel_c), paid in USD on top: a cost and
            # USD sent; it does not change the CNY cash, the equity or the calls
            if has_coll_fx:
                cfx = (call_usd + rel_usd) * coll_fx[d]
                fxcost += cfx
                funded += cfx
            equity = cash + coll * unit_cny
            mcall = 1.0 if is_call & (lots_start != 0.0) else 0.0
            if funded > peak:
                peak = funded
            fees_usd = fees * inv_f  # one division a day (inv_f), multiplications after
            hedge = vm * inv_f
            costs = fees_usd + fxcost + fund
            e = expo_pnl[p, d]
            net = e + hedge - costs + reval
            cny_prev = cash + cm * coll
            inv_prev = inv_f
            if o is not None:
                cny_prev += od[O_VALUE]
                o_usd = o_pnl * inv_f
                net += o_usd
                t_opnl += o_usd
                t_oprem += od[O_PREMIUM] * inv_f
                t_oex += od[O_EXERCISE] * inv_f
                t_ofee += od[O_FEES] * inv_f
            # 6. totals
            t_expo += e
            t_hedge += hedge
            t_costs += costs
            t_fees += fees_usd
            t_slip += slip_cny * inv_f
            t_fxc += fxcost
            t_fund += fund
            t_reval += reval
            t_vm += vm
            sq_e += e * e
            sq_n += net * net
            n_calls += mcall
            n_locked += locked
            n_delayed += delayed
            n_forced += forced[d]
            n_bound += bound
            cum_e += e
            cum_n += net
            hi_e = max(hi_e, cum_e)
            hi_n = max(hi_n, cum_n)
            dd_e = min(dd_e, cum_e - hi_e)
            dd_n = min(dd_n, cum_n - hi_n)
            if keep_track:
                track[p, T_CUM_EXPO, d] = cum_e
                track[p, T_CUM_NET, d] = cum_n
                track[p, T_FUNDED, d] = funded
            if keep and p == 0:
                ledger[L_CONTRACT, d] = k
                ledger[L_LOTS, d] = lots
                ledger[L_TRADE, d] = trade
                ledger[L_ROLL, d] = roll_lots
                ledger[L_PRICE, d] = price
                ledger[L_SETTLE, d] = s_held
                ledger[L_VM, d] = vm
                ledger[L_FEES, d] = fees
                ledger[L_SLIP, d] = slip_cny
                ledger[L_REQ, d] = req
                ledger[L_CASH, d] = cash
                ledger[L_COLL, d] = coll * (cm * inv_f + 1.0 - cm)
                ledger[L_CALL, d] = call_usd
                ledger[L_RELEASE, d] = release
                ledger[L_CONVERT, d] = convert
                ledger[L_FXCOST, d] = fxcost
                ledger[L_FUNDING, d] = fund
                ledger[L_FUNDED, d] = funded
                ledger[L_HEDGE, d] = hedge
                ledger[L_COSTS, d] = costs
                ledger[L_NET, d] = net
                ledger[L_LOCKED, d] = locked
                ledger[L_FORCED, d] = forced[d]
                ledger[L_BOUND, d] = bound
                ledger[L_MCALL, d] = mcall
                ledger[L_DELAYED, d] = delayed
                ledger[L_EQUITY, d] = equity
                ledger[L_TARGET, d] = tgt
                ledger[L_FXREVAL, d] = reval
                if o is not None:
                    ledger[L_OPT_LOTS, d] = od[O_LOTS]
                    ledger[L_OPT_PREMIUM, d] = od[O_PREMIUM]
                    ledger[L_OPT_PNL, d] = o_pnl
                    ledger[L_OPT_EXERCISE, d] = od[O_EXERCISE]
                    ledger[L_OPT_FEES, d] = od[O_FEES]
                    ledger[L_OPT_MARGIN, d] = od[O_REQ]
                    ledger[L_OPT_VALUE, d] = od[O_VALUE]
                    ledger[L_OPT_CASH, d] = o_cash
                    ledger[L_DELTA, d] = lots * multiplier + od[O_DELTA]
                    ledger[L_GAMMA, d] = od[O_GAMMA]
                    ledger[L_VEGA, d] = od[O_VEGA]
        summary[p, S_EXPO] = t_expo
        summary[p, S_HEDGE] = t_hedge
        summary[p, S_COSTS] = t_costs
        summary[p, S_NET] = t_expo + t_hedge - t_costs + t_reval
        summary[p, S_FXREVAL] = t_reval
        if o is not None:
            summary[p, S_NET] += t_opnl
            summary[p, S_OPT_PNL] = t_opnl
            summary[p, S_OPT_PREMIUM] = t_oprem
            summary[p, S_OPT_EXERCISE] = t_oex
            summary[p, S_OPT_FEES] = t_ofee
            summary[p, S_OPT_PEAK_MARGIN] = o_peak
        summary[p, S_FEES] = t_fees
        summary[p, S_SLIP] = t_slip
        summary[p, S_FXCOST] = t_fxc
        summary[p, S_FUNDING] = t_fund
        summary[p, S_PEAK] = peak
        summary[p, S_CALLS] = n_calls
        summary[p, S_LOCKED] = n_locked
        summary[p, S_DELAYED] = n_delayed
        summary[p, S_EXPO_SQ] = sq_e
        summary[p, S_NET_SQ] = sq_n
        summary[p, S_VM] = t_vm
        summary[p, S_DD_EXPO] = dd_e
        summary[p, S_DD_NET] = dd_n
        summary[p, S_FORCED] = n_forced
        summary[p, S_BOUND] = n_bound


# serial kernel (one or a few paths: no thread start-up) and the multi-core one (``prange`` over
# paths); numpy's error model drops Python's zero-division checks (FX and haircut are > 0).
book_paths_nb = njit(cache=True, error_model="numpy")(book_paths)
# numba keys its on-disk cache by the function's qualified name and signature, not by the
# ``parallel`` flag: bound to the same function, whichever kernel compiled first was loaded
# for both (the multi-core kernel then ran on one core, or the serial one started threads).
# The multi-core kernel is bound to a copy of the function under its own name.
_book_paths_par = types.FunctionType(
    book_paths.__code__, book_paths.__globals__, "book_paths_par", book_paths.__defaults__
)
_book_paths_par.__qualname__ = "book_paths_par"
book_paths_par_nb = njit(cache=True, error_model="numpy", parallel=True)(_book_paths_par)
PARALLEL_MIN_PATHS = 16  # from this many paths on, book on all cores


def _one_idle_leg(n_days: int) -> OptionArrays:
    """An option bundle of one leg that never opens (compiles the option specialisation)."""
    z = no_options(n_days)
    one = np.zeros(1)
    row = np.zeros((1, n_days))
    return z._replace(
        w=one + 1.0, moneyness=one + 1.0, american=one + 1.0, action=np.zeros((1, n_days), np.int64),
        k_open=np.full((1, n_days), -1, np.int64), expiry_ord=row, lots=row.copy(), strike=row.copy(),
        price=row.copy(), fee_open=row.copy(), fee_close=row.copy(), fee_exercise=row.copy(),
        floor=row.copy(),
    )  # fmt: skip


def _warmup() -> None:
    """Compile (or load from cache) the booking kernel on a two-day, one-contract market."""
    P, K, D = 1, 1, 2
    px = np.full((P, K, D), 100.0)
    z = np.zeros((K, D))
    inf = np.full((K, D), np.inf)
    m = PathArrays(
        px, px.copy(), px + 10.0, px - 10.0, np.ones((1, D)), np.full((1, D), 7.0), np.zeros((P, D))
    )
    r = ContractRules(z + 0.1, inf, inf, z, z.copy(), z.copy(), z.copy())
    s = DaySchedule(np.zeros(D, np.int64), np.zeros(D, np.int64), np.zeros(D), np.full(D, 0.95))
    c = BookParams(10.0, 0.0, 0.0, 0.0, 0.0, 0.2, 0.5, 0.05)
    for fn in (book_paths_nb, book_paths_par_nb):
        fn(
            m,
            r,
            s,
            c,
            BookOutput(np.zeros((N_LEDGER, D)), np.zeros((P, N_SUMMARY)), np.zeros((P, N_TRACK, D))),
            None,
        )
        fn(  # the specialisation with option legs (one leg, never opened)
            m,
            r,
            s,
            c,
            BookOutput(np.zeros((N_LEDGER, D)), np.zeros((P, N_SUMMARY)), np.zeros((P, N_TRACK, D))),
            _one_idle_leg(D),
        )
