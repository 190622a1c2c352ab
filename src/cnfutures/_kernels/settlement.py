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

Layout of the day loop (issue 20; ``docs/benchmarks/backtest.md`` has the profile): paths are
booked in groups of up to :data:`LANES`, :data:`CHUNK_DAYS` trading days at a time, in two
phases. Phase 1 runs path by path through the chunk: the position (trades, limits, rolls),
variation margin, fees, the margin requirement and the option legs, and writes each day's
results to a small buffer. Phase 2 runs day by day on all lanes of the group at once
(:func:`_cash_day`, branch-free, so the loop over the lanes compiles to vector instructions):
the FX revaluation, cash, USD conversions, margin calls and releases, collateral, USD sent and
the P&L in USD. Each path's operations are the same, in the same order, as in a day-by-day loop
over one path (the results do not depend on the grouping, tested); the split only lets the
chain of cash and collateral from one day to the next, which bounded the loop's speed, run for
many paths side by side.
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

LANES = 16  # paths per group: phase 2 of the day loop runs on all of them at once (two 8-wide
# vectors: one chain of cash and collateral per vector, so two overlap)
CHUNK_DAYS = 32  # days per chunk: phase 1's buffer stays in L1 until phase 2 reads it
# rows of a group's phase-2 scratch (one 1-D array, row r of lane g at r * LANES + g: constant,
# disjoint offsets, so the compiler vectorises the lanes without run-time alias checks)
W_CASH = 0
W_COLL = 1
W_FUNDED = 2
W_PEAK = 3
W_CUM_N = 4
W_HI_N = 5
W_DD_N = 6
W_T_HEDGE = 7
W_T_COSTS = 8
W_T_FEES = 9
W_T_FXC = 10
W_T_FUND = 11
W_T_REVAL = 12
W_SQ_N = 13
W_N_CALLS = 14
W_CNY_PREV = 15
W_INV_PREV = 16
W_T_VM = 17
W_T_EXPO = 18
W_SQ_E = 19
W_CUM_E = 20
W_HI_E = 21
W_DD_E = 22
W_VM = 23
W_FEES = 24
W_REQ = 25
W_HELD = 26
W_E = 27
W_O_CASH = 28
W_O_USD = 29
W_O_VALUE = 30
W_INV_F = 31  # the day's FX values of the lane (the chunk buffer has them for per-path FX only)
W_INV_G = 32
W_UNIT_CNY = 33
W_INV_UNIT = 34
N_W = 35
N_IN = 12  # day inputs phase 1 hands to phase 2: rows W_VM.. (same order in the chunk buffer)
# phase-1 floats kept per lane between chunks (columns of ``p1``)
P1_LOTS = 0
P1_T_SLIP = 1
P1_N_LOCKED = 2
P1_N_DELAYED = 3
P1_N_FORCED = 4
P1_N_BOUND = 5
P1_T_OPNL = 6
P1_T_OPREM = 7
P1_T_OEX = 8
P1_T_OFEE = 9
P1_O_PEAK = 10
N_P1 = 11


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


@register_jitable(forceinline=True)
def _cash_day(
    w: np.ndarray, lane: int, o: OptionArrays | None, dt: float, cfx_d: float, funding_rate: float,
    cm: float, fx_spread: float, inv_sell: float, inv_buy: float, buffer: float, release_above: float,
    has_basis: bool, has_coll_fx: bool,
) -> tuple[float, float, float, float, float, float, float, float, float, float, float]:
    """Phase 2 of one day for lane ``lane`` of a group: FX revaluation, cash, conversions, collateral,
    USD sent, P&L in USD and the totals, state and the day's inputs in the scratch ``w`` (rows
    ``W_*``); returns the day's values the ledger shows (``call_usd, release, convert, fxcost, fund,
    hedge, costs, net, mcall, equity, reval``). Branch-free but for compile-time and per-call
    constants, so a loop over the lanes vectorises."""
    cash = w[W_CASH * LANES + lane]
    coll = w[W_COLL * LANES + lane]
    funded = w[W_FUNDED * LANES + lane]
    peak = w[W_PEAK * LANES + lane]
    cum_n = w[W_CUM_N * LANES + lane]
    hi_n = w[W_HI_N * LANES + lane]
    dd_n = w[W_DD_N * LANES + lane]
    t_hedge = w[W_T_HEDGE * LANES + lane]
    t_costs = w[W_T_COSTS * LANES + lane]
    t_fees = w[W_T_FEES * LANES + lane]
    t_fxc = w[W_T_FXC * LANES + lane]
    t_fund = w[W_T_FUND * LANES + lane]
    t_reval = w[W_T_REVAL * LANES + lane]
    sq_n = w[W_SQ_N * LANES + lane]
    n_calls = w[W_N_CALLS * LANES + lane]
    cny_prev = w[W_CNY_PREV * LANES + lane]
    inv_prev = w[W_INV_PREV * LANES + lane]
    t_vm = w[W_T_VM * LANES + lane]
    t_expo = w[W_T_EXPO * LANES + lane]
    sq_e = w[W_SQ_E * LANES + lane]
    cum_e = w[W_CUM_E * LANES + lane]
    hi_e = w[W_HI_E * LANES + lane]
    dd_e = w[W_DD_E * LANES + lane]
    vm = w[W_VM * LANES + lane]
    fees = w[W_FEES * LANES + lane]
    req = w[W_REQ * LANES + lane]
    held = w[W_HELD * LANES + lane]
    inv_f = w[W_INV_F * LANES + lane]
    inv_g = w[W_INV_G * LANES + lane]
    unit_cny = w[W_UNIT_CNY * LANES + lane]
    inv_unit = w[W_INV_UNIT * LANES + lane]
    e = w[W_E * LANES + lane]
    o_cash = w[W_O_CASH * LANES + lane]
    o_usd = w[W_O_USD * LANES + lane]
    o_value = w[W_O_VALUE * LANES + lane]
    # 0. FX revaluation [USD] of the CNY held overnight (0 on the first day: none held)
    reval = cny_prev * (inv_f - inv_prev)
    # 5. cash, conversions, collateral
    fund = max(funded, 0.0) * funding_rate * dt
    cash += vm - fees
    if o is not None:
        cash += o_cash
    # one collateral unit: 1 USD counting haircut × FX CNY (cm = 0), or 1 CNY bought at the
    # channel rate g counting 1:1 (cm = 1); CNY of margin (unit_cny) and USD paid per unit
    unit_usd = cm * inv_g + (1.0 - cm)
    # negative cash is covered by converting USD (0 when cash >= 0; branch-free), at the
    # fixing, or at the route's channel rate g = fixing × basis (offshore CNH) if given
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
        cfx = (call_usd + rel_usd) * cfx_d
        fxcost += cfx
        funded += cfx
    equity = cash + coll * unit_cny
    mcall = 1.0 if is_call & (held != 0.0) else 0.0
    peak = funded if funded > peak else peak
    fees_usd = fees * inv_f
    hedge = vm * inv_f
    costs = fees_usd + fxcost + fund
    net = e + hedge - costs + reval
    cny_prev = cash + cm * coll
    inv_prev = inv_f
    if o is not None:
        cny_prev += o_value
        net += o_usd
    t_expo += e
    t_vm += vm
    sq_e += e * e
    cum_e += e
    hi_e = max(hi_e, cum_e)
    dd_e = min(dd_e, cum_e - hi_e)
    t_hedge += hedge
    t_costs += costs
    t_fees += fees_usd
    t_fxc += fxcost
    t_fund += fund
    t_reval += reval
    sq_n += net * net
    n_calls += mcall
    cum_n += net
    hi_n = max(hi_n, cum_n)
    dd_n = min(dd_n, cum_n - hi_n)
    w[W_CASH * LANES + lane] = cash
    w[W_COLL * LANES + lane] = coll
    w[W_FUNDED * LANES + lane] = funded
    w[W_PEAK * LANES + lane] = peak
    w[W_CUM_N * LANES + lane] = cum_n
    w[W_HI_N * LANES + lane] = hi_n
    w[W_DD_N * LANES + lane] = dd_n
    w[W_T_HEDGE * LANES + lane] = t_hedge
    w[W_T_COSTS * LANES + lane] = t_costs
    w[W_T_FEES * LANES + lane] = t_fees
    w[W_T_FXC * LANES + lane] = t_fxc
    w[W_T_FUND * LANES + lane] = t_fund
    w[W_T_REVAL * LANES + lane] = t_reval
    w[W_SQ_N * LANES + lane] = sq_n
    w[W_N_CALLS * LANES + lane] = n_calls
    w[W_CNY_PREV * LANES + lane] = cny_prev
    w[W_INV_PREV * LANES + lane] = inv_prev
    w[W_T_VM * LANES + lane] = t_vm
    w[W_T_EXPO * LANES + lane] = t_expo
    w[W_SQ_E * LANES + lane] = sq_e
    w[W_CUM_E * LANES + lane] = cum_e
    w[W_HI_E * LANES + lane] = hi_e
    w[W_DD_E * LANES + lane] = dd_e
    return call_usd, release, convert, fxcost, fund, hedge, costs, net, mcall, equity, reval


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
    # flat views (the kernel's arrays are C-contiguous): one offset per day serves every array, so
    # the shapes must agree (a mismatch would read another contract's or day's values)
    for a3 in (exec_px, lim_up, lim_dn):
        if a3.shape != settle.shape:
            raise ValueError("booking kernel: the price arrays must all be [paths, contracts, days]")
    rules = (margin_rate, pos_limit, open_limit, fee_open_lot, fee_open_rate, fee_close_lot, fee_close_rate)
    for a2 in rules:
        if a2.shape[0] != n_k or a2.shape[1] != n_days:
            raise ValueError("booking kernel: the contract rules must be [contracts, days] of the prices")
    s1, x1, up1, dn1 = settle.reshape(-1), exec_px.reshape(-1), lim_up.reshape(-1), lim_dn.reshape(-1)
    mr1, pl1, ol1 = margin_rate.reshape(-1), pos_limit.reshape(-1), open_limit.reshape(-1)
    fol1, for1 = fee_open_lot.reshape(-1), fee_open_rate.reshape(-1)
    fcl1, fcr1 = fee_close_lot.reshape(-1), fee_close_rate.reshape(-1)
    fx_rows = fx.shape[0]
    want_rows = want_lots.shape[0]
    # the day's divisions, once per FX row (shared by all paths when the FX is): 1 / FX, 1 / the
    # channel rate g, the CNY value of one collateral unit and its inverse (see step 5); step 5
    # multiplies by them (a division costs several multiplications, and most sat on the
    # day-to-day chain of cash and collateral)
    inv_fx = np.empty((fx_rows, n_days))
    inv_gx = np.empty((fx_rows, n_days)) if has_basis else inv_fx  # g = FX without a channel basis
    unit_x = np.empty((fx_rows, n_days))
    inv_unit_x = np.empty((fx_rows, n_days))
    for q in prange(fx_rows):
        for d in range(n_days):
            fq = fx[q, d]
            inv_fx[q, d] = 1.0 / fq
            if has_basis:
                inv_gx[q, d] = 1.0 / (fq * conv_basis[d])
            u = cm + (1.0 - cm) * haircut_d[d] * fq
            unit_x[q, d] = u
            inv_unit_x[q, d] = 1.0 / u
    # option-leg state (per path and leg: lots, strike, last mark, expiry; the underlying's index)
    # and each path's option totals of the day, one row per path.
    # Every use of ``o`` is under ``if o is not None``, which numba prunes at compile time: a
    # futures-only call (``o=None``) compiles to the futures loop alone.
    # (A variable a ``prange`` body may use without defining it in that iteration is shared by all
    # threads: the state is defined unconditionally, for ``o=None`` with no leg.)
    n_legs = _n_legs(o)
    o_state = np.zeros((n_paths, 4, n_legs))
    o_kk = np.zeros((n_paths, n_legs), np.int64)
    o_day = np.zeros((n_paths, N_OPT))
    # the paths in groups of at most LANES, as even as can be and an even number of groups, so
    # that two threads (the usual split of ``prange``) get the same work
    n_groups = (n_paths + LANES - 1) // LANES
    n_groups += n_groups % 2 if n_groups > 1 else 0
    per_path_fx = fx_rows > 1
    for gi in prange(n_groups):
        p0 = np.int64(gi) * n_paths // n_groups
        n_lanes = (np.int64(gi) + 1) * n_paths // n_groups - p0
        # the group's scratch (allocated per group: numba hoists an allocation in a ``prange`` body
        # into each thread's share of the loop, not out of it): ``w``, phase 2's state and inputs
        # of every lane (rows W_*); ``cb``, the chunk buffer phase 1 fills, input q of day j of a
        # lane at (j * N_IN + q) * LANES + lane; lanes without a path book zeros at FX 1 (never read)
        w = np.zeros(N_W * LANES)
        cb = np.zeros(N_IN * CHUNK_DAYS * LANES)
        if per_path_fx:  # (a shared FX row is not read from the buffer)
            for q in (W_INV_F, W_INV_G, W_UNIT_CNY, W_INV_UNIT):
                for j in range(CHUNK_DAYS):
                    for lane in range(LANES):
                        cb[(j * N_IN + q - W_VM) * LANES + lane] = 1.0
        p1 = np.zeros((LANES, N_P1))  # phase-1 state of each lane between chunks
        p1k = np.full(LANES, -1, np.int64)  # contract held
        for c0 in range(0, n_days, CHUNK_DAYS):
            c1 = min(c0 + CHUNK_DAYS, n_days)
            # phase 1, path by path: trades, limits, rolls, variation margin, fees, requirement,
            # option legs; the day's inputs of phase 2 into the chunk buffer
            for lane in range(n_lanes):
                p = p0 + lane
                pf = p * per_path_fx  # the path's FX and wanted-lots rows (or the shared one)
                pw = p * (want_rows > 1)
                prow = np.int64(p) * n_k
                k = p1k[lane]
                lots = p1[lane, P1_LOTS]
                t_slip = p1[lane, P1_T_SLIP]
                n_locked = p1[lane, P1_N_LOCKED]
                n_delayed = p1[lane, P1_N_DELAYED]
                n_forced = p1[lane, P1_N_FORCED]
                n_bound = p1[lane, P1_N_BOUND]
                t_opnl = p1[lane, P1_T_OPNL]
                t_oprem = p1[lane, P1_T_OPREM]
                t_oex = p1[lane, P1_T_OEX]
                t_ofee = p1[lane, P1_T_OFEE]
                o_peak = p1[lane, P1_O_PEAK]
                want_row = want_lots[pw]  # this path's rows
                inv_fx_row = inv_fx[pf]
                expo_row = expo_pnl[p]
                o_n = o_state[p, 0]  # this path's rows of the option-leg state
                o_strike = o_state[p, 1]
                o_v = o_state[p, 2]
                o_exp = o_state[p, 3]
                o_k = o_kk[p]
                od = o_day[p]
                for d in range(c0, c1):
                    j = d - c0
                    ud = _flat(d)  # unsigned: no negative-index wrap-around
                    kt = target_k[ud]
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
                    want = want_row[ud]
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
                            o, p, d, settle, margin_rate, fee_close_lot, fee_close_rate, multiplier,
                            commission, o_n, o_strike, o_k, o_v, o_exp, od, keep and p == 0,
                        )  # fmt: skip
                        o_cash = od[O_CASH]
                        o_pnl = od[O_PNL]
                        fees += od[O_FEES]
                        req += od[O_REQ]
                        o_peak = max(o_peak, od[O_REQ])
                    inv_f = inv_fx_row[ud]
                    if o is not None:
                        o_usd = o_pnl * inv_f
                        t_opnl += o_usd
                        t_oprem += od[O_PREMIUM] * inv_f
                        t_oex += od[O_EXERCISE] * inv_f
                        t_ofee += od[O_FEES] * inv_f
                        cb[_flat((j * N_IN + W_O_CASH - W_VM) * LANES + lane)] = o_cash
                        cb[_flat((j * N_IN + W_O_USD - W_VM) * LANES + lane)] = o_usd
                        cb[_flat((j * N_IN + W_O_VALUE - W_VM) * LANES + lane)] = od[O_VALUE]
                    e = expo_row[ud]
                    cb[_flat((j * N_IN + W_VM - W_VM) * LANES + lane)] = vm
                    cb[_flat((j * N_IN + W_FEES - W_VM) * LANES + lane)] = fees
                    cb[_flat((j * N_IN + W_REQ - W_VM) * LANES + lane)] = req
                    cb[_flat((j * N_IN + W_HELD - W_VM) * LANES + lane)] = 1.0 if lots_start != 0.0 else 0.0
                    if per_path_fx:  # else phase 2 takes the shared row
                        cb[_flat((j * N_IN + W_INV_F - W_VM) * LANES + lane)] = inv_f
                        cb[_flat((j * N_IN + W_INV_G - W_VM) * LANES + lane)] = inv_gx[pf, ud]
                        cb[_flat((j * N_IN + W_UNIT_CNY - W_VM) * LANES + lane)] = unit_x[pf, ud]
                        cb[_flat((j * N_IN + W_INV_UNIT - W_VM) * LANES + lane)] = inv_unit_x[pf, ud]
                    cb[_flat((j * N_IN + W_E - W_VM) * LANES + lane)] = e
                    # phase-1 totals
                    t_slip += slip_cny * inv_f
                    n_locked += locked
                    n_delayed += delayed
                    n_forced += forced[ud]
                    n_bound += bound
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
                        ledger[L_LOCKED, d] = locked
                        ledger[L_FORCED, d] = forced[d]
                        ledger[L_BOUND, d] = bound
                        ledger[L_DELAYED, d] = delayed
                        ledger[L_TARGET, d] = tgt
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
                p1k[lane] = k
                p1[lane, P1_LOTS] = lots
                p1[lane, P1_T_SLIP] = t_slip
                p1[lane, P1_N_LOCKED] = n_locked
                p1[lane, P1_N_DELAYED] = n_delayed
                p1[lane, P1_N_FORCED] = n_forced
                p1[lane, P1_N_BOUND] = n_bound
                p1[lane, P1_T_OPNL] = t_opnl
                p1[lane, P1_T_OPREM] = t_oprem
                p1[lane, P1_T_OEX] = t_oex
                p1[lane, P1_T_OFEE] = t_ofee
                p1[lane, P1_O_PEAK] = o_peak
            # phase 2, day by day on all lanes at once (branch-free: vectorised over the lanes):
            # FX revaluation, cash, conversions, collateral, USD sent, P&L in USD
            for d in range(c0, c1):
                j = d - c0
                # the day's inputs of every lane: contiguous rows of the chunk buffer (those of the
                # option legs and of per-path FX only when there are)
                n_copy = (W_O_CASH - W_VM) if o is None else (W_INV_F - W_VM)
                n_copy = N_IN if per_path_fx else n_copy
                for t in range(n_copy * LANES):
                    w[W_VM * LANES + t] = cb[_flat(j * N_IN * LANES + t)]
                if not per_path_fx:  # one FX row shared by all paths
                    inv_f_d = inv_fx[0, d]
                    inv_g_d = inv_gx[0, d]
                    unit_d = unit_x[0, d]
                    inv_unit_d = inv_unit_x[0, d]
                    for lane in range(LANES):
                        w[W_INV_F * LANES + lane] = inv_f_d
                        w[W_INV_G * LANES + lane] = inv_g_d
                        w[W_UNIT_CNY * LANES + lane] = unit_d
                        w[W_INV_UNIT * LANES + lane] = inv_unit_d
                dt = dt_years[d]
                cfx_d = coll_fx[d] if has_coll_fx else 0.0
                if keep and p0 == 0:  # the ledger of path 0 (lane 0 of the first group)
                    (call_usd, release, convert, fxcost, fund, hedge, costs, net, mcall, equity, reval) = (
                        _cash_day(
                            w, 0, o, dt, cfx_d, funding_rate, cm, fx_spread, inv_sell, inv_buy, buffer,
                            release_above, has_basis, has_coll_fx,
                        )
                    )  # fmt: skip
                    ledger[L_CASH, d] = w[W_CASH * LANES]
                    ledger[L_COLL, d] = w[W_COLL * LANES] * (cm * inv_fx[0, d] + 1.0 - cm)
                    ledger[L_CALL, d] = call_usd
                    ledger[L_RELEASE, d] = release
                    ledger[L_CONVERT, d] = convert
                    ledger[L_FXCOST, d] = fxcost
                    ledger[L_FUNDING, d] = fund
                    ledger[L_FUNDED, d] = w[W_FUNDED * LANES]
                    ledger[L_HEDGE, d] = hedge
                    ledger[L_COSTS, d] = costs
                    ledger[L_NET, d] = net
                    ledger[L_MCALL, d] = mcall
                    ledger[L_EQUITY, d] = equity
                    ledger[L_FXREVAL, d] = reval
                    g0 = 1
                else:
                    g0 = 0
                for lane in range(g0, LANES):
                    _cash_day(
                        w, lane, o, dt, cfx_d, funding_rate, cm, fx_spread, inv_sell, inv_buy, buffer,
                        release_above, has_basis, has_coll_fx,
                    )  # fmt: skip
                if keep_track:
                    for lane in range(n_lanes):
                        track[p0 + lane, T_CUM_EXPO, d] = w[W_CUM_E * LANES + lane]
                        track[p0 + lane, T_CUM_NET, d] = w[W_CUM_N * LANES + lane]
                        track[p0 + lane, T_FUNDED, d] = w[W_FUNDED * LANES + lane]
        for lane in range(n_lanes):  # the group's totals into the summary
            p = p0 + lane
            ph1 = p1[lane]  # phase 1's totals of the lane (columns P1_*)
            ph2 = w[lane::LANES]  # phase 2's (rows W_*)
            summary[p, S_EXPO] = ph2[W_T_EXPO]
            summary[p, S_HEDGE] = ph2[W_T_HEDGE]
            summary[p, S_COSTS] = ph2[W_T_COSTS]
            summary[p, S_NET] = ph2[W_T_EXPO] + ph2[W_T_HEDGE] - ph2[W_T_COSTS] + ph2[W_T_REVAL]
            summary[p, S_FXREVAL] = ph2[W_T_REVAL]
            if o is not None:
                summary[p, S_NET] += ph1[P1_T_OPNL]
                summary[p, S_OPT_PNL] = ph1[P1_T_OPNL]
                summary[p, S_OPT_PREMIUM] = ph1[P1_T_OPREM]
                summary[p, S_OPT_EXERCISE] = ph1[P1_T_OEX]
                summary[p, S_OPT_FEES] = ph1[P1_T_OFEE]
                summary[p, S_OPT_PEAK_MARGIN] = ph1[P1_O_PEAK]
            summary[p, S_FEES] = ph2[W_T_FEES]
            summary[p, S_SLIP] = ph1[P1_T_SLIP]
            summary[p, S_FXCOST] = ph2[W_T_FXC]
            summary[p, S_FUNDING] = ph2[W_T_FUND]
            summary[p, S_PEAK] = ph2[W_PEAK]
            summary[p, S_CALLS] = ph2[W_N_CALLS]
            summary[p, S_LOCKED] = ph1[P1_N_LOCKED]
            summary[p, S_DELAYED] = ph1[P1_N_DELAYED]
            summary[p, S_EXPO_SQ] = ph2[W_SQ_E]
            summary[p, S_NET_SQ] = ph2[W_SQ_N]
            summary[p, S_VM] = ph2[W_T_VM]
            summary[p, S_DD_EXPO] = ph2[W_DD_E]
            summary[p, S_DD_NET] = ph2[W_DD_N]
            summary[p, S_FORCED] = ph1[P1_N_FORCED]
            summary[p, S_BOUND] = ph1[P1_N_BOUND]


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
PARALLEL_MIN_PATHS = 2 * LANES  # from this many paths on, book on all cores


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
