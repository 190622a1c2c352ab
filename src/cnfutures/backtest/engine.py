"""The hedge backtest: rule and calendar look-ups in polars, then one call to the booking kernel."""

from __future__ import annotations

import datetime as dt
import functools
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np
import polars as pl

from cnfutures._dates import DateLike
from cnfutures.access import Investor, eligible, individual_exit_start
from cnfutures.backtest.model import Costs, Exposure, HedgePolicy, Market
from cnfutures.backtest.optlegs import Series, option_arrays, plan_series
from cnfutures.errors import DataError, InputError
from cnfutures.frames.roll import RollRule, roll_schedule
from cnfutures.market.calendar import calendar
from cnfutures.market.contracts import contract
from cnfutures.market.options import option_product
from cnfutures.market.products import Product, product
from cnfutures.market.rules import RuleBook, limit_band
from cnfutures.validation import FX_MAX_AGE_DAYS, asof_fresh

if TYPE_CHECKING:  # pragma: no cover  (the kernel module imports numba: loaded when booking)
    from cnfutures._kernels.optlegs import OptionArrays
    from cnfutures._kernels.settlement import BookParams, ContractRules, DaySchedule, PathArrays
    from cnfutures.market.rules import DayRules

__all__ = [
    "MAX_FX_AGE_DAYS",
    "BookInputs",
    "MarketPrep",
    "Prepared",
    "backtest",
    "book",
    "booking_params",
    "prepare",
    "prepare_market",
    "run",
]

MAX_FX_AGE_DAYS = FX_MAX_AGE_DAYS  # an FX or exposure price older than this many calendar days: an error


def _route_costs(investor: Investor, product_code: str, d0: dt.date, costs: Costs | None) -> Costs:
    """Hook to the route's economics (access/economics.py): refuse what the route cannot do, and
    without explicit ``costs`` book the route's commission layers, FX spread and custodian fee."""
    from cnfutures.access.economics import check_route_policy
    from cnfutures.backtest.costs import route_costs

    check_route_policy(investor, product_code, d0)
    if costs is not None:
        return costs
    out: Costs = route_costs(investor, product_code, d0)
    return out


def _exit_after(code: str, individual: bool) -> dt.date | None:
    """Last trading day a position in ``code`` may be held (before the LTD / the individuals' exit)."""
    con = contract(code)
    cal = con.calendar
    last = cal.previous_trading_day(con.last_trading_day) if con.last_trading_day <= cal.bounds[1] else None
    if individual:
        start, _ = individual_exit_start(con)
        if start is not None:
            s_prev = cal.previous_trading_day(start)
            last = s_prev if last is None else min(last, s_prev)
    return last


def _reopen_locks(rb: RuleBook, p: Product, fut: pl.DataFrame, days: pl.Series) -> np.ndarray | None:
    """Days on which the most-active contract closed one-direction limit-locked, where it matters.

    A holiday row (``until = "reopen"``) ends at the settlement of the first trading day after
    reopening on which the contract with the largest open interest (else volume) is not locked
    at its limit. Only reopening days of such rows are checked, walking forward while locked.
    None when the product has no such row in range or the market has neither column (the
    static resolution, reopening day unlocked, then applies).
    """
    size = next((col for col in ("open_interest", "volume") if col in fut.columns), None)
    rows = [r for r in rb.rules.rows if r.reopen and r.product == p.code]
    if size is None or not rows:
        return None
    from cnfutures.market.ruletable import reopening_day

    cal = calendar(p.exchange)
    d_ord = days.to_physical().to_numpy().astype(np.int64)
    epoch = dt.date(1970, 1, 1)
    locked = np.zeros(d_ord.size, dtype=bool)
    has_prev = "prev_settle" in fut.columns
    for start in sorted({r.effective for r in rows}):
        day = reopening_day(cal, start)
        while d_ord[0] <= (day - epoch).days <= d_ord[-1]:
            row = (
                fut.filter(pl.col("trading_day") == day)
                .drop_nulls([size, "settle"])
                .sort(size, descending=True)
                .head(1)
            )
            if row.height == 0:
                break
            code = row["contract"][0]
            prev = row["prev_settle"][0] if has_prev else None
            if prev is None:
                before = fut.filter((pl.col("contract") == code) & (pl.col("trading_day") < day))
                prev = before.sort("trading_day")["settle"].tail(1).to_list()[0] if before.height else None
            if prev is None:
                break
            rate = rb.price_limit(code, day).rate  # the band of the reopening day (static)
            up, dn = limit_band(prev, rate, p.tick)
            settle = float(row["settle"][0])
            if not (settle >= float(up) - 1e-9 or settle <= float(dn) + 1e-9):
                break
            locked[int(np.searchsorted(d_ord, (day - epoch).days))] = True
            day = cal.next_trading_day(day)
    return locked if locked.any() else None


@functools.lru_cache(maxsize=64)
def _calendar_schedule(rule: RollRule, product_code: str, d0: dt.date, d1: dt.date) -> pl.DataFrame:
    """The calendar roll schedule over the trading days ``d0 .. d1`` (needs no market data)."""
    days = calendar(product(product_code).exchange).trading_days(d0, d1)
    return roll_schedule(rule, product_code, days).select("trading_day", "contract", "next_contract")


class BookInputs(NamedTuple):
    """Everything the booking kernel reads, as its four typed bundles (one contract axis)."""

    market: PathArrays
    rules: ContractRules
    schedule: DaySchedule
    params: BookParams
    options: OptionArrays | None = None


@dataclass(frozen=True)
class Prepared:
    """Kernel inputs of one backtest (typed bundles) and the frames behind them.

    ``contracts`` names the contract axis ``K`` of ``inputs``; ``days`` the day axis ``D``;
    ``option_series`` the option series the legs hold (None without option legs).
    """

    product: Product
    days: pl.Series
    contracts: list[str]
    inputs: BookInputs
    schedule: pl.DataFrame
    ratio: np.ndarray
    quantity: np.ndarray
    expo_price: np.ndarray
    option_series: pl.DataFrame | None = None

    @property
    def has_options(self) -> bool:
        """True when the policy has option legs (the ledger and summary then carry option columns)."""
        return self.inputs.options is not None

    @property
    def arrays(self) -> dict[str, np.ndarray]:
        """Every array of :attr:`inputs` by field name (a read view: change :attr:`inputs`)."""
        i = self.inputs
        return {**i.market._asdict(), **i.rules._asdict(), **i.schedule._asdict()}


def _asof(series: pl.DataFrame, value: str, days: pl.Series, name: str) -> np.ndarray:
    return asof_fresh(
        series, value, days, name=name, max_age_days=MAX_FX_AGE_DAYS,
        hint=f"{name} must have a value at most {MAX_FX_AGE_DAYS} days before every trading day of the "
        "backtest: extend it (on the command line --fx / --spot with a CSV of date and value), or end the "
        "run earlier",
    )  # fmt: skip


def _ratio_series(policy: HedgePolicy, dS: np.ndarray, dF: np.ndarray, n: int) -> np.ndarray:
    """Hedge ratio per day: a constant, or re-estimated from past data only."""
    if not isinstance(policy.ratio, str):
        return np.full(n, float(policy.ratio))
    from cnfutures.hedging import hedge_ratio

    out = np.full(n, policy.initial_ratio)
    current = policy.initial_ratio
    w = policy.window
    for d in range(1, n):
        if d % policy.reestimate_every == 0:
            # data known before day d: changes of days 1..d-1
            lo = max(1, d - (w if policy.ratio == "rolling" else 10 * w))
            s, f = dS[lo:d], dF[lo:d]
            ok = np.isfinite(s) & np.isfinite(f)
            s, f = s[ok], f[ok]
            if s.size >= w and np.var(f) > 0:
                if policy.ratio == "rolling":
                    est = hedge_ratio(s, f, "ols")["hedge_ratio"][0]
                elif policy.ratio == "ewma":
                    est = hedge_ratio(s, f, "ewma", lam=policy.lam)["hedge_ratio"][-1]
                else:
                    est = hedge_ratio(s, f, "dcc")["hedge_ratio"][-1]
                if est is not None and math.isfinite(est):
                    current = max(float(est), 0.0)
        out[d] = current
    return out


def target_lots(
    policy: HedgePolicy,
    settle: np.ndarray,
    target_k: np.ndarray,
    fx: np.ndarray,
    px_usd: np.ndarray,
    qty: np.ndarray,
    multiplier: float,
    sign: float,
) -> tuple[np.ndarray, np.ndarray]:
    """Hedge ratio per day and the signed whole lots it asks for, on one price path.

    ``settle`` is ``[K, D]`` [CNY/unit], ``fx`` [CNY per USD], ``px_usd`` the exposure price
    [USD/unit] and ``qty`` the exposure [unit] per day; a ratio method sees only the USD
    changes of the exposure and of the held contract known before each day.
    """
    D = target_k.shape[0]
    days = np.arange(D)
    prev_same = np.full(D, np.nan)
    prev_same[1:] = settle[target_k[1:], days[:-1]]
    dF = (settle[target_k, days] - prev_same) / fx
    dS = np.full(D, np.nan)
    dS[1:] = np.diff(px_usd)
    ratio = _ratio_series(policy, dS, dF, D)
    return ratio, -sign * np.floor(ratio * qty / multiplier + 0.5)


def _product_futures(market: Market, exposure: Exposure, p: Product) -> pl.DataFrame:
    """The market's rows of product ``p``'s contracts (and the exposure price must exist)."""
    if exposure.price not in market.prices:
        raise InputError(
            f"exposure prices off {exposure.price!r}, which is not in Market.prices; "
            f"available: {sorted(market.prices) or 'none'}"
        )
    fut = market.futures.filter(
        pl.col("contract").str.starts_with(p.code)
        & pl.col("contract").str.slice(len(p.code), 1).str.contains(r"^\d")
    )
    if fut.height == 0:
        raise DataError(f"Market.futures has no {p.code} contract")
    return fut


def _day_axis(
    p: Product,
    fut: pl.DataFrame,
    investor: Investor | None,
    start: DateLike | None,
    end: DateLike | None,
) -> pl.Series:
    """The backtest's trading days: checked against the calendar, eligibility (``investor`` given)
    and the data."""
    cal = calendar(p.exchange)
    d0 = cal.require_trading_day(start, "start") if start is not None else fut["trading_day"].min()
    d1 = cal.require_trading_day(end, "end") if end is not None else fut["trading_day"].max()
    assert isinstance(d0, dt.date) and isinstance(d1, dt.date)
    if d1 <= d0:
        raise InputError(f"end={d1} must be after start={d0}")
    if investor is not None:
        eligible(investor, p.code, d0).raise_if_denied()
        _route_costs(investor, p.code, d0, Costs())  # refuse what the route cannot do, before the data checks
    days = cal.trading_days(d0, d1)
    have = fut.filter(pl.col("trading_day").is_between(d0, d1))["trading_day"].unique()
    gap = days.filter(~days.is_in(have.implode()))
    if gap.len():
        raise DataError(
            f"Market.futures has no {p.code} row on {gap.len()} trading day(s) between {d0} and {d1}, "
            f"first {gap[0]}", [str(x) for x in gap.head(10).to_list()],
        )  # fmt: skip
    f_lo, f_hi = fut["trading_day"].min(), fut["trading_day"].max()
    assert isinstance(f_lo, dt.date) and isinstance(f_hi, dt.date)
    off = fut.filter(~pl.col("trading_day").is_in(cal.trading_days(f_lo, f_hi).implode()))
    if off.height:
        raise DataError(
            f"Market.futures has {off.height} row(s) on days that are not {p.exchange} trading days, "
            f"first {off['trading_day'][0]}", [str(x) for x in off["trading_day"].head(10).to_list()],
        )  # fmt: skip
    return days


def _hold_schedule(
    policy: HedgePolicy, p: Product, days: pl.Series, fut: pl.DataFrame, individual: bool
) -> pl.DataFrame:
    """Which contract to hold each day: the roll rule, then forced exits (individuals' stage, LTD).

    Columns ``trading_day``, ``contract``, ``next_contract``, ``exit_after``, ``target`` (the
    contract to hold at the day's end) and ``forced`` (the target changed by a forced roll).
    """
    if policy.roll.kind == "calendar":  # a function of the calendar only: memoised
        sched = _calendar_schedule(policy.roll, p.code, days[0], days[-1])
    else:
        sched = roll_schedule(policy.roll, p.code, days, data=fut).select(
            "trading_day", "contract", "next_contract"
        )
    codes = list(
        dict.fromkeys(
            sched["contract"].unique().sort().to_list()
            + sched["next_contract"].drop_nulls().unique().sort().to_list()
        )
    )
    exits = pl.DataFrame(
        {"contract": codes, "exit_after": [_exit_after(x, individual) for x in codes]},
        schema={"contract": pl.String, "exit_after": pl.Date},
    )
    sched = sched.join(exits, on="contract", how="left").with_columns(
        (pl.col("exit_after").is_not_null() & (pl.col("trading_day") > pl.col("exit_after"))).alias("_force")
    )
    bad_next = sched.filter(pl.col("_force") & pl.col("next_contract").is_null())
    if bad_next.height:
        raise DataError(
            f"{sched['contract'][0]}: a forced roll on {bad_next['trading_day'][0]} has no next contract"
        )
    sched = sched.with_columns(
        pl.when(pl.col("_force")).then(pl.col("next_contract")).otherwise(pl.col("contract")).alias("target")
    )
    return sched.with_columns(
        (pl.col("_force") & (pl.col("target") != pl.col("target").shift(1)).fill_null(False)).alias("forced")
    )


def _held_cells(
    sched: pl.DataFrame, fut: pl.DataFrame, p: Product, days: pl.Series, exec_col: str,
    series: list[Series] | None = None,
) -> tuple[list[str], pl.DataFrame, pl.DataFrame]:
    """The contracts held (axis ``K``), the market cells with their ``k``/``d`` indices, and ``k`` by code.

    The underlyings of option series (``series``) follow the futures held on the contract axis;
    their settlement is needed on every day a series is held.

    Raises
    ------
    DataError
        A held contract of another size, no execution column, a missing settlement the roll needs.
    """
    contracts = sched["target"].unique(maintain_order=True).to_list()
    if series:
        contracts += [x for x in dict.fromkeys(s.underlying for s in series) if x not in contracts]
    sizes = {x: contract(x).multiplier for x in contracts}
    odd = {x: m for x, m in sizes.items() if m != p.multiplier}
    if odd:
        raise DataError(
            f"{', '.join(sorted(odd))} has a contract size of {sorted(set(odd.values()))} {p.unit}/lot, not "
            f"the {p.multiplier:g} of later {p.code} contracts; a backtest booking both sizes is not "
            "supported: start after the change"
        )
    K, D = len(contracts), days.len()
    kmap = pl.DataFrame({"contract": contracts, "k": np.arange(K, dtype=np.int64)})
    if exec_col not in fut.columns:
        raise DataError(f"execution={exec_col!r} needs a {exec_col!r} column in Market.futures")
    # every market row's (k, d) by position (-1: not a held contract or not a day of the axis):
    # a dictionary replace and a day look-up table instead of joins, as few polars calls as
    # possible (each costs about 0.1 ms); the rows kept are those inner joins would keep
    day_ord = days.to_physical().to_numpy().astype(np.int64)
    d0 = int(day_ord[0])
    d_of = np.full(int(day_ord[-1]) - d0 + 2, -1, dtype=np.int64)  # last slot: off the axis
    d_of[day_ord - d0] = np.arange(D, dtype=np.int64)

    def d_index(ords: np.ndarray) -> np.ndarray:
        return d_of[np.where((ords >= d0) & (ords <= day_ord[-1]), ords - d0, d_of.size - 1)]

    def k_index(codes: pl.Series) -> np.ndarray:
        return codes.replace_strict(kmap["contract"], kmap["k"], default=-1, return_dtype=pl.Int64).to_numpy()

    k_all = k_index(fut["contract"])
    d_all = d_index(fut["trading_day"].to_physical().to_numpy().astype(np.int64))
    keep = np.flatnonzero((k_all >= 0) & (d_all >= 0))
    k_kept, d_kept = k_all[keep], d_all[keep]
    # which held cells have both prices: the roll needs them on its (day, contract) cells
    priced = np.zeros((K, D), dtype=bool)
    has = fut.select(pl.col("settle").is_not_null() & pl.col(exec_col).is_not_null()).to_series().to_numpy()
    priced[k_kept, d_kept] = has[keep]
    # the cells the roll needs: the target each day, and the contract rolled out of on a roll day
    tk = k_index(sched["target"])
    sd = d_index(sched["trading_day"].to_physical().to_numpy().astype(np.int64))
    prev_k = np.concatenate(([-1], tk[:-1]))
    roll = (prev_k >= 0) & (prev_k != tk)
    need_k = np.concatenate((tk, prev_k[roll]))
    need_d = np.concatenate((sd, sd[roll]))
    if series:  # and every day an option series is held, its underlying (each cell once, in order)
        kpos = {x: i for i, x in enumerate(contracts)}
        under = (np.full(x.d_end + 1 - x.d_open, kpos[x.underlying], dtype=np.int64) for x in series)
        need_k = np.concatenate([need_k, *under])
        need_d = np.concatenate([need_d, *(np.arange(x.d_open, x.d_end + 1) for x in series)])
        first = np.sort(np.unique(need_k * (D + 1) + need_d, return_index=True)[1])
        need_k, need_d = need_k[first], need_d[first]
    lacking = (need_k < 0) | (need_d < 0) | ~priced[need_k, need_d]
    if lacking.any():
        prev_target = sched["target"].shift(1)
        need = pl.concat(
            [
                sched.select("trading_day", pl.col("target").alias("contract")),
                sched.select("trading_day", prev_target.alias("contract")).filter(pl.Series(roll)),
            ]
        )  # fmt: skip
        if series:
            dl = days.to_list()
            held = [(dl[d], x.underlying) for x in series for d in range(x.d_open, x.d_end + 1)]
            more = pl.DataFrame(held, schema=need.schema, orient="row")
            need = pl.concat([need, more]).unique(maintain_order=True)
        miss = need.filter(pl.Series(lacking))
        raise DataError(
            f"Market.futures lacks the settlement (or {exec_col}) of {miss.height} (day, contract) cell(s) "
            f"the roll needs, first {miss['trading_day'][0]} {miss['contract'][0]}; a missing settlement is "
            "never replaced by the close",
            [f"{r['trading_day']} {r['contract']}" for r in miss.head(10).to_dicts()],
        )
    # ordered by contract code, then day: each (contract, day) cell is one market row (Market
    # rejects duplicates), so its slot in a dense [K, D] table orders them without a sort
    code_rank = np.argsort(np.argsort(np.array(contracts)))
    slot = code_rank[k_kept] * D + d_kept
    pos = np.full(K * D, -1, dtype=np.int64)
    pos[slot] = np.arange(keep.size, dtype=np.int64)
    order = pos[pos >= 0]
    if order.size != keep.size:  # duplicate cells after all: a stable sort keeps every row
        order = np.lexsort((d_kept, code_rank[k_kept]))
    cells = fut[keep[order]].with_columns(pl.Series("k", k_kept[order]), pl.Series("d", d_kept[order]))
    if "prev_settle" not in cells.columns:
        cells = cells.with_columns(pl.col("settle").shift(1).over("contract").alias("prev_settle"))
    return contracts, cells, kmap


def _price_matrices(
    cells: pl.DataFrame, K: int, D: int, exec_col: str
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Settlement and execution price as ``[1, K, D]`` and the previous settlement ``[K, D]`` [CNY/unit]."""
    k_idx = cells["k"].to_numpy()
    d_idx = cells["d"].to_numpy()

    def mat(col: str) -> np.ndarray:
        m = np.full((K, D), np.nan)
        m[k_idx, d_idx] = cells[col].cast(pl.Float64).to_numpy()
        return m

    # C-contiguous [1, K, D] views
    return mat("settle")[None, :, :], mat(exec_col)[None, :, :], mat("prev_settle")


def _limit_prices(prev: np.ndarray, limit_rate: np.ndarray, tick: float) -> tuple[np.ndarray, np.ndarray]:
    """Limit-up and limit-down prices as ``[1, K, D]`` [CNY/unit] (``±inf`` where no limit applies)."""
    has = ~np.isnan(prev) & ~np.isnan(limit_rate)
    up, dn = np.full(prev.shape, np.inf), np.full(prev.shape, -np.inf)
    up[has], dn[has] = limit_band(prev[has], limit_rate[has], tick)  # elementwise: only the cells with both
    return up[None, :, :], dn[None, :, :]


def _checked_day_rules(
    rb: RuleBook,
    contracts: list[str],
    days: pl.Series,
    cells: pl.DataFrame,
    locked: np.ndarray | None,
    hedge: bool,
    holder: str,
    fees: bool,
) -> DayRules:
    """Every rule of the product compiled once over (contracts, trading days).

    Raises
    ------
    DataError
        A traded cell with no margin, price-limit or fee rule in force.
    """  # fmt: skip
    dr = rb.day_rules(contracts, days, hedge=hedge, holder=holder, fees=fees, locked=locked)
    k_idx = cells["k"].to_numpy()
    d_idx = cells["d"].to_numpy()
    for arr, what in ((dr.margin, "margin"), (dr.limit_rate, "price-limit"), (dr.fee_open_lot, "fee")):
        gone = np.isnan(arr[k_idx, d_idx])
        if gone.any():
            i = int(np.argmax(gone))
            raise DataError(
                f"no {what} rule for {contracts[k_idx[i]]} on {days[int(d_idx[i])]}; the rule data has "
                "none in force (or the contract does not trade that day)"
            )
    return dr


def _contract_rules(dr: DayRules, investor: Investor, c: Costs) -> ContractRules:
    """The kernel's rule bundle: the day rules, a hedging quota's limits and the broker add-on."""
    from cnfutures._kernels.settlement import ContractRules

    pos, olim = dr.position_limit, dr.open_limit
    if investor.hedging_quota is not None:
        pos = np.maximum(pos, float(investor.hedging_quota))
        olim = np.full(pos.shape, math.inf)
    return ContractRules(  # writable copies: the day rules' arrays are read-only (shared by a memo)
        margin_rate=np.ascontiguousarray(dr.margin + c.broker_addon),
        pos_limit=np.array(pos, dtype=np.float64, order="C"),
        open_limit=np.array(olim, dtype=np.float64, order="C"),
        fee_open_lot=np.nan_to_num(dr.fee_open_lot),
        fee_open_rate=np.nan_to_num(dr.fee_open_rate),
        fee_close_lot=np.nan_to_num(dr.fee_close_lot),
        fee_close_rate=np.nan_to_num(dr.fee_close_rate),
    )


def _exposure_series(
    market: Market, exposure: Exposure, days: pl.Series
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """FX [CNY per USD], exposure price, quantity [unit], USD price and daily P&L [USD] (as-of)."""
    D = days.len()
    fx = _asof(market.usd_cny, "usd_cny", days, "Market.usd_cny")
    px = _asof(market.prices[exposure.price], "price", days, f"Market.prices[{exposure.price!r}]")
    if isinstance(exposure.quantity, pl.DataFrame):
        qf = exposure.quantity.sort("date")
        qj = pl.DataFrame({"trading_day": days}).join_asof(
            qf, left_on="trading_day", right_on="date", strategy="backward"
        )
        qty = qj["quantity"].cast(pl.Float64).fill_null(0.0).to_numpy()
    else:
        qty = np.full(D, float(exposure.quantity))
    px_usd = px / fx if exposure.currency_in(market) == "CNY" else px
    expo = np.zeros(D)
    expo[1:] = exposure.sign * qty[:-1] * (px_usd[1:] - px_usd[:-1])
    return fx, px, qty, px_usd, expo


def _haircuts(c: Costs, investor: Investor, p: Product, days: pl.Series) -> np.ndarray:
    """USD-collateral haircut per trading day [fraction]: ``Costs.haircut`` or the route's rule."""
    if c.haircut is not None:
        return np.full(days.len(), float(c.haircut))
    from cnfutures.access.collateral import collateral_haircuts

    return np.ascontiguousarray(collateral_haircuts(investor, p.exchange, days), dtype=np.float64)


@dataclass(frozen=True)
class MarketPrep:
    """The route-independent part of :func:`prepare`, computed once and shared by every route.

    Market frames, the day axis, the roll schedule and held cells, the price matrices, FX,
    the exposure series, the hedge ratio and wanted lots, and the compiled day rules (memoised
    per hedge flag and fee switch) do not depend on the access route. :meth:`for_route` adds
    what does: the route's checks, its :class:`Costs` (commission layers, FX spread, custodian
    fee, broker add-on), the collateral haircut and the kernel's scalar parameters. A route's
    inputs are the same arrays a standalone :func:`prepare` builds, so its booking is
    identical.
    """

    product: Product
    kind: str
    book: RuleBook
    cells: pl.DataFrame
    days: pl.Series
    schedule: pl.DataFrame
    contracts: list[str]
    locked: np.ndarray | None
    settle: np.ndarray
    exec_px: np.ndarray
    prev_settle: np.ndarray
    target_k: np.ndarray
    forced: np.ndarray
    dt_years: np.ndarray
    fx: np.ndarray
    expo_pnl: np.ndarray
    want: np.ndarray
    ratio: np.ndarray
    quantity: np.ndarray
    expo_price: np.ndarray
    policy: HedgePolicy
    cnh_basis: np.ndarray | None = None
    market: Market | None = None  # kept for the option legs (settlements, implied vol)
    option_plan: list[Series] | None = None  # the option series the legs hold (None: no legs)
    _rules: dict[tuple[bool, bool], tuple[DayRules, np.ndarray, np.ndarray]] = field(
        default_factory=dict, repr=False, compare=False
    )
    _bundles: dict[tuple[bool, bool, int | None, float], ContractRules] = field(
        default_factory=dict, repr=False, compare=False
    )

    def _day_rules(self, hedge: bool, fees: bool) -> tuple[DayRules, np.ndarray, np.ndarray]:
        """Day rules and limit prices, compiled once per hedge flag and fee switch."""
        key = (hedge, fees)
        if key not in self._rules:
            holder = "individual" if self.kind == "individual" else "client"
            dr = _checked_day_rules(
                self.book, self.contracts, self.days, self.cells, self.locked, hedge, holder, fees
            )
            up, dn = _limit_prices(self.prev_settle, dr.limit_rate, self.product.tick)
            self._rules[key] = (dr, up, dn)
        return self._rules[key]

    def _contract_rules(self, investor: Investor, c: Costs) -> tuple[ContractRules, np.ndarray, np.ndarray]:
        """The kernel's rule bundle, built once per hedge flag, fee switch, quota and add-on."""
        hedge = investor.hedging_quota is not None
        dr, up, dn = self._day_rules(hedge, c.exchange_fees)
        key = (hedge, c.exchange_fees, investor.hedging_quota, c.broker_addon)
        if key not in self._bundles:
            self._bundles[key] = _contract_rules(dr, investor, c)
        return self._bundles[key], up, dn

    def for_route(self, investor: Investor, costs: Costs | None = None, *, checked: bool = False) -> Prepared:
        """The kernel inputs of ``investor``'s route (``costs`` None: the route's economics).

        Raises
        ------
        AccessDenied
            The route may not trade the product on the first day, or cannot follow the policy
            (a hedging quota on a speculative-only route).
        InputError
            ``investor.kind`` differs from the kind the schedule was built for.
        """
        from cnfutures._kernels.settlement import DaySchedule, PathArrays

        if investor.kind != self.kind:
            raise InputError(
                f"investor kind {investor.kind!r} differs from the prepared kind {self.kind!r} (the roll "
                "schedule depends on it); prepare the market for that kind"
            )
        p, days = self.product, self.days
        if not checked:
            eligible(investor, p.code, days[0]).raise_if_denied()
        c = _route_costs(investor, p.code, days[0], costs)
        rules, lim_up, lim_dn = self._contract_rules(investor, c)
        market_arrays = PathArrays(
            self.settle, self.exec_px, lim_up, lim_dn, want_lots=self.want, fx=self.fx,
            expo_pnl=self.expo_pnl.copy(),
        )  # fmt: skip
        haircut = _haircuts(c, investor, p, days)
        sched = DaySchedule(
            target_k=self.target_k, forced=self.forced, dt_years=self.dt_years, haircut=haircut,
            collateral_fx=_collateral_fx(c, investor, days),
            conversion_basis=_conversion_basis(self.cnh_basis, investor),
        )  # fmt: skip
        opt_arrays, opt_series = None, None
        if self.option_plan is not None:  # the route's option access, fees switch and margin rules
            assert self.market is not None
            opt_arrays, opt_series = option_arrays(
                self.policy, p, self.market, investor, days, self.option_plan, self.contracts, self.settle[0],
                self.prev_settle, self.quantity, self.book, _asof, fees=c.exchange_fees,
            )  # fmt: skip
        inputs = BookInputs(
            market_arrays,
            rules,
            sched,
            booking_params(p, self.policy, c, investor),
            opt_arrays,
        )
        return Prepared(p, days, self.contracts, inputs, self.schedule, self.ratio, self.quantity,
                        self.expo_price, opt_series)  # fmt: skip


def _collateral_fx(c: Costs, investor: Investor, days: pl.Series) -> np.ndarray:
    """Spread on the CNY margin bought with USD and sold back, per day [fraction].

    A route that may not post USD (QFI) buys its margin in CNY through its FX channel and sells
    it back on release: ``Costs.fx_spread`` on each of those conversions, booked by the kernel
    as an FX cost in USD on top (it does not change the CNY cash, the equity or the calls; it is
    USD sent, so it is funded). Routes posting USD: empty (nothing booked).
    """
    from cnfutures.access.collateral import usd_collateral_allowed

    if usd_collateral_allowed(investor)[0] or c.fx_spread == 0.0:
        return np.zeros(0)
    return np.full(days.len(), float(c.fx_spread))


def _conversion_basis(cnh_basis: np.ndarray | None, investor: Investor) -> np.ndarray:
    """USD/CNH ÷ USD/CNY per day for a route whose channel converts offshore (else empty: the fixing)."""
    from cnfutures.access.economics import cnh_channel

    if cnh_basis is None or not cnh_channel(investor)[0]:
        return np.zeros(0)
    return cnh_basis


def _cnh_basis(usd_cnh: pl.DataFrame | None, days: pl.Series, fx: np.ndarray) -> np.ndarray | None:
    """The user's USD/CNH as of each trading day over the USD/CNY fixing (None without a series)."""
    if usd_cnh is None:
        return None
    if not isinstance(usd_cnh, pl.DataFrame):
        raise InputError(
            f"usd_cnh must be a polars DataFrame (date, usd_cnh [CNY per USD]), got {type(usd_cnh).__name__}"
        )
    from cnfutures.validation import check_fx

    cnh = check_fx(usd_cnh, name="usd_cnh", column="usd_cnh", allow_null=True)  # as Market.usd_cny: as-of
    return np.ascontiguousarray(_asof(cnh, "usd_cnh", days, "usd_cnh") / fx)


def prepare_market(
    market: Market,
    exposure: Exposure,
    policy: HedgePolicy,
    *,
    kind: str = "institution",
    start: DateLike | None = None,
    end: DateLike | None = None,
    book: RuleBook | None = None,
    investor: Investor | None = None,
    usd_cnh: pl.DataFrame | None = None,
) -> MarketPrep:
    """Validate the market and precompute every route-independent kernel input, once.

    ``investor``, if given, is checked (eligibility, route policy) right after the day axis,
    before the data checks, as :func:`prepare` does. ``usd_cnh`` (``date``, ``usd_cnh`` [CNY per
    USD]), if given, is the offshore rate at which routes with an offshore CNH channel
    (:func:`cnfutures.access.economics.cnh_channel`) convert; other routes convert at the fixing.

    Raises
    ------
    InputError, NotTradingDay, CalendarOutOfBounds
        Bad arguments or dates off the exchange calendar.
    DataError
        The market lacks a contract the roll needs, a settlement, an FX or exposure price.

    Examples
    --------
    >>> m = Market.sample("sc", "2025-03-03", "2025-06-06")
    >>> mp = prepare_market(m, Exposure(500_000, "short", "brent"), HedgePolicy("sc"))
    >>> mp.for_route(Investor("qfi")).inputs.params.commission   # qfi ff_commission [CNY/lot]
    2.0
    """
    if kind not in ("institution", "individual"):
        raise InputError(f"kind={kind!r}; accepted: institution, individual")
    rb = book if book is not None else RuleBook.default()
    p = product(policy.product)
    fut = _product_futures(market, exposure, p)
    days = _day_axis(p, fut, investor, start, end)
    # 1. which contract to hold; 2. contract × day matrices of the contracts it uses
    sched = _hold_schedule(policy, p, days, fut, kind == "individual")
    series = plan_series(policy.options, option_product(p.code), days, fut) if policy.options else None
    contracts, cells, kmap = _held_cells(sched, fut, p, days, policy.execution, series)
    locked = _reopen_locks(rb, p, fut, days)
    settle, exec_px, prev = _price_matrices(cells, len(contracts), days.len(), policy.execution)
    target_k = (
        sched.join(kmap, left_on="target", right_on="contract", how="left")["k"].to_numpy().astype(np.int64)
    )
    forced = sched["forced"].cast(pl.Int64).to_numpy()
    # 3. FX, exposure price and quantity on the trading days (as-of, never ahead)
    fx, px, qty, px_usd, expo = _exposure_series(market, exposure, days)
    # 4. hedge ratio from past USD changes of the exposure price and the held contract
    ratio, want = target_lots(policy, settle[0], target_k, fx, px_usd, qty, p.multiplier, exposure.sign)
    dt_years = np.zeros(days.len())
    dt_years[1:] = np.diff(days.to_physical().to_numpy()).astype(np.float64) / 365.0
    return MarketPrep(
        product=p, kind=kind, book=rb, cells=cells, days=days, schedule=sched, contracts=contracts,
        locked=locked, settle=settle, exec_px=exec_px, prev_settle=prev, target_k=target_k, forced=forced,
        dt_years=dt_years, fx=fx[None, :], expo_pnl=expo[None, :], want=want.astype(np.float64)[None, :],
        ratio=ratio, quantity=qty, expo_price=px, policy=policy, cnh_basis=_cnh_basis(usd_cnh, days, fx),
        market=market if series is not None else None, option_plan=series,
    )  # fmt: skip


def prepare(
    market: Market,
    exposure: Exposure,
    policy: HedgePolicy,
    investor: Investor,
    costs: Costs | None = None,
    *,
    start: DateLike | None = None,
    end: DateLike | None = None,
    book: RuleBook | None = None,
    usd_cnh: pl.DataFrame | None = None,
) -> Prepared:
    """Validate the inputs and precompute every kernel input (no booking yet).

    The route-independent part is :func:`prepare_market`; the route's part
    :meth:`MarketPrep.for_route`.

    Raises
    ------
    AccessDenied
        The investor may not trade the product through its route on the start date.
    InputError, NotTradingDay, CalendarOutOfBounds
        Bad arguments or dates off the exchange calendar.
    DataError
        The market lacks a contract the roll needs, a settlement, an FX or exposure price.
    """
    mp = prepare_market(market, exposure, policy, kind=investor.kind, start=start, end=end, book=book,
                        investor=investor, usd_cnh=usd_cnh)  # fmt: skip
    return mp.for_route(investor, costs, checked=True)


def booking_params(
    p: Product, policy: HedgePolicy, costs: Costs, investor: Investor | None = None
) -> BookParams:
    """The booking kernel's scalar parameters for a product, a policy, costs and a route.

    A route that may not post USD as margin (QFI, :func:`cnfutures.access.collateral.
    usd_collateral_allowed`) holds CNY collateral (``cny_margin=1``); ``investor`` None: USD
    collateral.
    """
    from cnfutures._kernels.settlement import BookParams
    from cnfutures.access.collateral import usd_collateral_allowed

    cny_margin = investor is not None and not usd_collateral_allowed(investor)[0]

    return BookParams(
        multiplier=float(p.multiplier),
        slippage=float(policy.slippage_ticks * p.tick),
        band=float(policy.band),
        commission=float(costs.commission),
        fx_spread=float(costs.fx_spread),
        buffer=float(costs.margin_buffer),
        release_above=float(costs.release_above),
        funding_rate=float(costs.funding_rate),
        cny_margin=1.0 if cny_margin else 0.0,
    )


def book(
    inputs: BookInputs, *, jit: bool = True, ledger: bool = True, track: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Run the booking kernel on prepared inputs; returns (ledger [N_LEDGER, D], summary [P, N]).

    ``track``, if given, is filled with each path's daily cumulative P&L and USD sent
    (``[P, N_TRACK, D]``, see :mod:`cnfutures._kernels.settlement`). The serial kernel books
    a few paths, the multi-core one from ``PARALLEL_MIN_PATHS`` on; ``jit=False`` runs the
    plain Python twin.
    """
    from cnfutures._kernels import settlement as k

    P, D = inputs.market.settle.shape[0], inputs.market.settle.shape[2]
    out = k.BookOutput(
        ledger=np.zeros((k.N_LEDGER, D if ledger else 0)),
        summary=np.zeros((P, k.N_SUMMARY)),
        track=track if track is not None else np.zeros((0, k.N_TRACK, 0)),
    )
    fn: Callable[..., None] = k.book_paths
    if jit:
        fn = k.book_paths_par_nb if P >= k.PARALLEL_MIN_PATHS else k.book_paths_nb
    m, r, sch = (type(b)(*(np.ascontiguousarray(x) for x in b)) for b in inputs[:3])
    o = inputs.options  # None: the futures-only specialisation of the kernel
    if o is not None:
        arrays: dict[str, Any] = {
            n: np.ascontiguousarray(x) for n, x in o._asdict().items() if isinstance(x, np.ndarray)
        }
        o = o._replace(**arrays)
    fn(m, r, sch, inputs.params, out, o)
    return out.ledger, out.summary


def run(
    market: Market,
    exposure: Exposure,
    policy: HedgePolicy,
    investor: Investor,
    costs: Costs | None = None,
    *,
    start: DateLike | None = None,
    end: DateLike | None = None,
    book_: RuleBook | None = None,
    usd_cnh: pl.DataFrame | None = None,
) -> Any:
    """Replay a futures hedge day by day as the exchange and the futures firm would book it.

    Parameters
    ----------
    market : Market
        Per-contract futures, exposure price series and USD/CNY.
    exposure : Exposure
        The physical exposure [unit] and its price series.
    policy : HedgePolicy
        Product, hedge ratio, roll rule, band [lots], execution price, slippage [ticks].
    investor : cnfutures.access.Investor
        Route and kind (individuals exit before the stage their rules forbid); a hedging
        quota [lots] lifts the position limit, exempts the opening limit and selects the
        hedging margin rate.
    costs : Costs, optional
        Fees, commission [CNY/lot], FX spread, funding rate, margin add-on and buffers.
    start, end : date or str, optional
        First and last trading day (default: the market's range).
    book_ : RuleBook, optional
        Rules (default: bundled; pass overrides for a broker's own margins).
    usd_cnh : polars.DataFrame, optional
        ``date``, ``usd_cnh`` [CNY per USD]: the offshore rate at which a route with an offshore
        CNH channel (overseas intermediary, OSBP client) converts; without it, and on other
        routes, conversions are at the fixing plus the route's spread.

    Returns
    -------
    BacktestResult
        ``ledger`` (one row per trading day) and ``summary``.

    Raises
    ------
    AccessDenied
        The investor may not trade ``policy.product`` (the reasons from ``eligible``).
    DataError
        Missing contracts, settlements, FX or exposure prices.
    InputError, NotTradingDay, CalendarOutOfBounds
        Bad arguments or dates.

    Examples
    --------
    >>> from cnfutures.access import Investor
    >>> m = Market.sample("sc", "2025-03-03", "2025-06-06")
    >>> r = run(m, Exposure(500_000, "short", "brent"), HedgePolicy("sc"), Investor("qfi"))
    >>> r.ledger.height, r.ledger["lots"].max()
    (65, 500.0)
    """
    from cnfutures.backtest.result import BacktestResult

    prep = prepare(
        market, exposure, policy, investor, costs, start=start, end=end, book=book_, usd_cnh=usd_cnh
    )
    led, summ = book(prep.inputs)
    return BacktestResult.from_arrays(
        prep, led, summ, market=market, policy=policy, investor=investor, exposure=exposure
    )


backtest = run
