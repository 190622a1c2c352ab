"""Option legs of a hedge policy: which series each leg holds, checked, and the kernel's inputs.

Everything path-independent is decided here, once, in Python and polars: for each
:class:`~cnfutures.backtest.model.OptionLeg` the series it opens (the first whose expiry is at
least ``tenor_months`` after the opening day), the day each is opened, closed (``roll_days``
before expiry) or expires, the fees and short-margin floor of the dated rule rows, the strike
grid in force, the implied volatility of each day. On the market's own path (a backtest) the
strike is chosen here too (``moneyness × F`` snapped to the grid) and checked against the
strikes the exchange lists that day; on simulated paths the kernel snaps it per path with the
same rule. The booking itself is :func:`cnfutures._kernels.optlegs.option_day`.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import polars as pl

from cnfutures.access import Investor, Route
from cnfutures.access.investor import parse_route
from cnfutures.errors import CnFuturesError, DataError, InputError, UnknownContract
from cnfutures.market.contracts import _add_months, contract
from cnfutures.market.options import (
    OptionContract,
    OptionProduct,
    listed_strikes,
    option,
    option_fee,
    option_product,
)
from cnfutures.market.products import Product
from cnfutures.market.rules import RuleBook
from cnfutures.validation import check_option_access, check_option_series

if TYPE_CHECKING:  # pragma: no cover
    from cnfutures._kernels.optlegs import OptionArrays
    from cnfutures.backtest.model import HedgePolicy, Market, OptionLeg

__all__ = ["Series", "option_access_from", "option_arrays", "plan_series", "snap_strike"]

_EPOCH = dt.date(1970, 1, 1)
_AsOf = Callable[[pl.DataFrame, str, pl.Series, str], np.ndarray]  # the engine's as-of join of a series


@dataclass(frozen=True)
class Series:
    """One option series a leg holds: opened on day ``d_open``, ended on ``d_end``.

    ``end`` is ``"expire"`` (held to expiry: exercised in the money), ``"close"`` (rolled
    ``roll_days`` before expiry) or ``"open"`` (still held at the backtest's last day).
    """

    leg: int
    underlying: str
    expiry: dt.date
    d_open: int
    d_end: int
    end: str


def option_access_from(spec: OptionProduct, route: Route) -> dt.date | None:
    """First day the route may trade the product's options (the option access data), or None.

    Examples
    --------
    >>> from cnfutures.market.options import option_product
    >>> sc, ru = option_product("sc"), option_product("ru")
    >>> option_access_from(sc, Route.QFI), option_access_from(ru, Route.QFI)
    (datetime.date(2022, 9, 2), None)
    """
    return spec.qfi_from if route is Route.QFI else spec.overseas_from


def snap_strike(spec: OptionProduct, day: dt.date, target: float) -> float:
    """The grid strike nearest ``target`` on ``day`` (ties up): the kernel's rule, in Python.

    Examples
    --------
    >>> from cnfutures.market.options import option_product
    >>> sc, day = option_product("sc"), dt.date(2025, 6, 3)
    >>> snap_strike(sc, day, 504.3), snap_strike(sc, day, 507.5), snap_strike(sc, day, 249.0)
    (500.0, 510.0, 250.0)
    """
    lo, hi = spec.grid(day).nearest(target)
    return hi if (hi - target) <= (target - lo) else lo


def _probe(spec: OptionProduct, code: str) -> OptionContract:
    return OptionContract(spec, contract(code), "call", 0.0, "")


def _pick_underlying(spec: OptionProduct, day: dt.date, tenor: int, listed: set[str]) -> OptionContract:
    """The series with the first expiry at least ``tenor`` months after ``day`` (underlying in the market)."""
    y, m = _add_months(day.year, day.month, tenor)
    target = dt.date(y, m, min(day.day, 28))
    best: OptionContract | None = None
    for k in range(tenor, tenor + 14):
        y, m = _add_months(day.year, day.month, k)
        code = f"{spec.code}{y % 100:02d}{m:02d}"
        try:
            o = _probe(spec, code)
            exp = o.expiry
        except CnFuturesError:  # a month the product has no contract in, or beyond the calendar
            continue
        if exp >= target and code in listed and o.is_listed(day) and (best is None or exp < best.expiry):
            best = o
    if best is None:
        raise DataError(
            f"no {spec.code} option series with an expiry at least {tenor} month(s) after {day} has its "
            f"underlying in Market.futures that day; extend the market or shorten the tenor"
        )
    return best


def plan_series(
    legs: tuple[OptionLeg, ...], spec: OptionProduct, days: pl.Series, fut: pl.DataFrame
) -> list[Series]:
    """The series every leg holds over the backtest's days (path-independent).

    Raises
    ------
    UnknownContract
        The backtest starts before the product's options listed.
    DataError
        No series of the tenor has its underlying in the market on an opening day.
    """
    dlist: list[dt.date] = days.to_list()
    if dlist[0] < spec.listed:
        raise UnknownContract(
            f"{spec.code} options list on {spec.listed} (first series {spec.first_series}); an option leg "
            f"cannot open on {dlist[0]}: start the backtest on or after {spec.listed}"
        )
    index = {d: i for i, d in enumerate(dlist)}
    by_day = fut.group_by("trading_day").agg(pl.col("contract")).rows()
    listed = {d: set(c) for d, c in by_day}
    out: list[Series] = []
    for li, leg in enumerate(legs):
        d = 0
        while d < len(dlist):
            o = _pick_underlying(spec, dlist[d], leg.tenor_months, listed.get(dlist[d], set()))
            if o.expiry in index:
                e = index[o.expiry]
                if leg.roll_days and e - leg.roll_days > d:
                    out.append(Series(li, o.underlying.code, o.expiry, d, e - leg.roll_days, "close"))
                    d = e - leg.roll_days
                else:
                    out.append(Series(li, o.underlying.code, o.expiry, d, e, "expire"))
                    d = e + 1
            else:
                out.append(Series(li, o.underlying.code, o.expiry, d, len(dlist) - 1, "open"))
                break
    return out


def _grid_arrays(spec: OptionProduct, days: list[dt.date]) -> tuple[np.ndarray, np.ndarray]:
    grids = [spec.grid(d) for d in days]
    nb = max(len(g.bands) for g in grids) + 1
    bound = np.full((len(days), nb), np.inf)
    step = np.zeros((len(days), nb))
    for i, g in enumerate(grids):
        for b, (hi, s) in enumerate(g.bands):
            bound[i, b] = hi
            step[i, b] = s
        step[i, len(g.bands) :] = g.above
    return bound, step


def _vol(
    market: Market, policy: HedgePolicy, days: pl.Series, asof: _AsOf
) -> np.ndarray | None:
    if market.implied_vol is not None:
        return asof(market.implied_vol.rename({"implied_vol": "price"}), "price", days, "Market.implied_vol")
    if policy.option_vol is not None:
        return np.full(days.len(), float(policy.option_vol))
    return None


def option_arrays(
    policy: HedgePolicy,
    p: Product,
    market: Market,
    investor: Investor,
    days: pl.Series,
    series: list[Series],
    contracts: list[str],
    settle: np.ndarray,
    prev_settle: np.ndarray,
    qty: np.ndarray,
    book: RuleBook,
    asof: _AsOf,
    *,
    fees: bool = True,
) -> tuple[OptionArrays, pl.DataFrame]:
    """The kernel's :class:`~cnfutures._kernels.optlegs.OptionArrays` on the market path, and a
    frame of the series held (leg, option, strike, open/end day, how it ends).

    ``fees=False`` (``Costs.exchange_fees``) books no exchange option fees (the commission stays).

    Raises
    ------
    AccessDenied
        The route may not buy or write the product's options on an opening day.
    UnknownContract
        A chosen strike is not listed that day; a series expires after its underlying.
    InputError
        No implied volatility (``Market.implied_vol`` or ``HedgePolicy.option_vol``) for a day
        the market has no settlement of the series held.
    """
    from cnfutures._kernels.optlegs import ACT_CLOSE, ACT_EXPIRE, ACT_OPEN, OptionArrays

    spec = option_product(p.code)
    legs = policy.options
    dlist: list[dt.date] = days.to_list()
    L, D = len(legs), len(dlist)
    kmap = {c: i for i, c in enumerate(contracts)}
    action = np.zeros((L, D), np.int64)
    k_open = np.full((L, D), -1, np.int64)
    expiry_ord = np.zeros((L, D))
    lots = np.zeros((L, D))
    strike = np.full((L, D), np.nan)
    price = np.full((L, D), np.nan)
    fee_open = np.zeros((L, D))
    fee_close = np.zeros((L, D))
    fee_ex = np.zeros((L, D))
    floor = np.zeros((L, D))
    bound, step = _grid_arrays(spec, dlist)
    route = parse_route(investor.route)
    allowed = option_access_from(spec, route)
    settles = _option_settles(market)
    rows = []
    for s in series:
        leg = legs[s.leg]
        k = kmap[s.underlying]
        day = dlist[s.d_open]
        check_option_access(f"{spec.code} {leg.kind} options", day, route.value, leg.side, allowed,
                            spec.access_source)  # fmt: skip
        F = float(settle[k, s.d_open])
        K = snap_strike(spec, day, leg.moneyness * F)
        o = option(spec.format_code(s.underlying, leg.kind, K))
        prev = float(prev_settle[k, s.d_open])
        listed = listed_strikes(o.underlying, day, prev, book=book) if math.isfinite(prev) else None
        exercise_on = dlist[s.d_end] if s.end == "expire" else None
        check_option_series(o, day, listed_strikes=listed, exercise_on=exercise_on)
        n = leg.sign * math.floor(leg.ratio * qty[s.d_open] / p.multiplier + 0.5)
        action[s.leg, s.d_open] |= ACT_OPEN
        if s.end == "expire":
            action[s.leg, s.d_end] |= ACT_EXPIRE
        elif s.end == "close":
            action[s.leg, s.d_end] |= ACT_CLOSE
        k_open[s.leg, s.d_open] = k
        expiry_ord[s.leg, s.d_open] = float((o.expiry - _EPOCH).days)
        lots[s.leg, s.d_open] = n
        strike[s.leg, s.d_open] = K
        if fees:  # the schedule in force on the trade day (opening; closing or exercise at the end)
            f_open = option_fee(o, day, book=book)
            f_end = option_fee(o, dlist[s.d_end], book=book)
            fee_open[s.leg, s.d_open] = f_open.open
            fee_close[s.leg, s.d_end] = f_end.close
            fee_ex[s.leg, s.d_open : s.d_end + 1] = f_open.exercise
            fee_ex[s.leg, s.d_end] = f_end.exercise
        comp = book.rules.compile("option_margin_floor", [s.underlying], days[s.d_open : s.d_end + 1])
        fl = np.asarray(comp.value[0], dtype=np.float64)
        if np.isnan(fl).any():
            i = int(np.argmax(np.isnan(fl)))
            raise DataError(f"no option_margin_floor rule for {o.code} on {dlist[s.d_open + i]}")
        floor[s.leg, s.d_open : s.d_end + 1] = fl
        if settles is not None:
            mine = settles.get(o.code)
            if mine is not None:
                for j in range(s.d_open, s.d_end + 1):
                    v = mine.get(dlist[j])
                    if v is not None:
                        price[s.leg, j] = v
        rows.append((s.leg, leg.kind, leg.side, o.code, K, o.expiry, day, dlist[s.d_end], s.end, n))
    vol = _vol(market, policy, days, asof)
    if vol is None:
        held = np.zeros((L, D), bool)
        for s in series:
            held[s.leg, s.d_open : s.d_end + 1] = True
        gap = held & np.isnan(price)
        if gap.any():
            li, d = (int(x[0]) for x in np.nonzero(gap))
            raise InputError(
                f"option leg {li} has no option settlement on {dlist[d]} in Market.options and there is no "
                "implied volatility for its model price: give Market.implied_vol (date, implied_vol) or "
                "HedgePolicy(option_vol=...)"
            )
        vol = np.full(D, np.nan)
    arrays = OptionArrays(
        w=np.array([leg.w for leg in legs]), moneyness=np.array([float(leg.moneyness) for leg in legs]),
        american=np.full(L, 1.0 if spec.style == "american" else 0.0), action=action, k_open=k_open,
        expiry_ord=expiry_ord, lots=lots, strike=strike, price=price, fee_open=fee_open, fee_close=fee_close,
        fee_exercise=fee_ex, floor=floor, day_ord=days.to_physical().to_numpy().astype(np.float64),
        vol=np.ascontiguousarray(vol[None, :]), grid_bound=bound, grid_step=step,
        rate=float(policy.option_rate),
    )  # fmt: skip
    frame = pl.DataFrame(
        rows,
        schema={"leg": pl.Int64, "kind": pl.String, "side": pl.String, "option": pl.String,
                "strike": pl.Float64, "expiry": pl.Date, "opened": pl.Date, "ended": pl.Date,
                "end": pl.String, "lots": pl.Float64},
        orient="row",
    )  # fmt: skip
    return arrays, frame


def _option_settles(market: Market) -> dict[str, dict[dt.date, float]] | None:
    """Option settlements of the market frame by exchange code and day (codes normalised)."""
    if market.options is None:
        return None
    f = market.options.drop_nulls(["settle"])
    codes = {c: option(c).code for c in f["option"].unique().to_list()}
    out: dict[str, dict[dt.date, float]] = {}
    for day, c, v in f.select("trading_day", "option", pl.col("settle").cast(pl.Float64)).iter_rows():
        out.setdefault(codes[c], {})[day] = v
    return out

