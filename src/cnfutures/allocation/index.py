"""Excess- and total-return indices of rolled long futures positions (docs/allocation.md).

:func:`build_index` turns per-contract daily frames of one or more products ("sleeves") into
daily index levels, following the public commodity-index methodologies (S&P GSCI, Bloomberg
Commodity Index): each sleeve holds a contract chosen by a :class:`~cnfutures.frames.RollRule`
and moves from it to the next contract over a roll window of ``N`` trading days, ``1/N`` of
the position per day; sleeves carry target weights reset on rebalancing days and drift with
their returns in between; the excess return is the futures return alone, the total return adds
the yield of the collateral; USD levels translate CNY returns at the dated USD/CNY fixing
(unhedged) or at a hedged rate for a stated annual cost.

Formulas (``t`` an index day, ``t-1`` the previous one, ``δ_t`` calendar days between them / 365):

* contract roll weights of sleeve ``p`` after the close of ``t``: ``w_old = 1 - j/N``,
  ``w_new = j/N`` on the ``j``-th day of a window (``j = 1..N``, the ``N``-th is the schedule's
  roll day), else ``1`` on the held contract;
* sleeve return ``r_p(t) = Σ_c w_c(t-1) F_c(t) / Σ_c w_c(t-1) F_c(t-1) - 1``;
* between rebalancing days ``s`` (weights ``W_p(s)`` set at the close of ``s``):
  ``ER(t) = ER(s) · (1 + Σ_p W_p(s) · (G_p(t)/G_p(s) - 1))`` with ``G_p`` the cumulative
  product of ``1 + r_p``; ``R(t) = ER(t)/ER(t-1) - 1``;
* ``TR(t) = TR(t-1) · (1 + R(t) + y · δ_t)`` with ``y`` the collateral rate;
* USD, collateral in CNY, unhedged: ``(1 + R(t) + y_CNY δ_t) · X(t-1)/X(t) - 1``; collateral in
  USD, unhedged: ``R(t) · X(t-1)/X(t) + y_USD δ_t``; hedged: ``R(t) + (y - h) δ_t`` (``X`` CNY
  per USD, ``h`` the annual hedge cost). USD excess return: the same with ``y = 0``.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import polars as pl

from cnfutures._dates import DateLike, parse_date
from cnfutures.errors import AccessDenied, DataError, InputError
from cnfutures.frames.roll import RollRule, roll_schedule
from cnfutures.market.products import product as get_product
from cnfutures.validation import asof_fresh

__all__ = [
    "DEFAULT_ROLL",
    "LEVEL_COLUMNS",
    "REBALANCE",
    "WEIGHTINGS",
    "AllocationIndex",
    "build_index",
    "default_roll",
]

#: Weighting schemes accepted by name (a mapping of sleeve -> weight is "fixed").
WEIGHTINGS: tuple[str, ...] = ("equal", "inverse_vol", "open_interest", "volume")
#: Rebalancing frequencies accepted by name (or give a sequence of dates).
REBALANCE: tuple[str, ...] = ("monthly", "quarterly", "annual", "never")
#: Default roll: complete the roll on the last trading day before the month before delivery
#: (when margins and position limits tighten), main months for iron ore and rubber.
DEFAULT_ROLL: dict[str, RollRule] = {
    "sc": RollRule(before_stage="month_before_delivery"),
    "i": RollRule(before_stage="month_before_delivery", months=(1, 5, 9)),
    "nr": RollRule(before_stage="month_before_delivery"),
    "ru": RollRule(before_stage="month_before_delivery", months=(1, 5, 9)),
}
#: Columns of :attr:`AllocationIndex.levels` and their units.
LEVEL_COLUMNS: tuple[tuple[str, str], ...] = (
    ("trading_day", "date"),
    ("er_cny", "index level, excess return in CNY [base 100]"),
    ("tr_cny", "index level, total return in CNY, collateral in CNY [base 100]"),
    ("er_usd", "index level, excess return in USD [base 100]"),
    ("tr_usd", "index level, total return in USD, stated collateral [base 100]"),
    ("usd_cny", "USD/CNY fixing used [CNY per USD]"),
)


def default_roll(product_code: str) -> RollRule:
    """The roll rule :func:`build_index` uses for a product when none is given.

    Examples
    --------
    >>> default_roll("i").months
    (1, 5, 9)
    """
    return DEFAULT_ROLL[get_product(product_code).code]


@dataclass(frozen=True)
class AllocationIndex:
    """Daily levels of an allocation index and how they were made.

    Attributes
    ----------
    levels : polars.DataFrame
        One row per index day: :data:`LEVEL_COLUMNS` (USD columns only when FX was given).
    sleeves : polars.DataFrame
        One row per index day and sleeve: ``trading_day``, ``sleeve``, ``product``,
        ``sleeve_return`` [fraction, that day], ``weight`` [fraction of the index at the
        previous close, drifted], ``held_price`` [CNY/unit: ``Σ w_c F_c``, unadjusted].
    holdings : polars.DataFrame
        Contract roll weights after each close: ``trading_day``, ``sleeve``, ``contract``,
        ``roll_weight`` [fraction of the sleeve].
    rebalances : polars.DataFrame
        ``trading_day``, ``sleeve``, ``target_weight`` set at that close.
    spec : dict
        The parameters the index was built with (for reports and replays).
    """

    levels: pl.DataFrame
    sleeves: pl.DataFrame
    holdings: pl.DataFrame
    rebalances: pl.DataFrame
    spec: dict[str, Any] = field(default_factory=dict)


# ----------------------------------------------------------------------------- sleeves


def _product_of(frame: pl.DataFrame, name: str) -> str:
    if not isinstance(frame, pl.DataFrame):
        raise InputError(f"futures[{name!r}] must be a polars DataFrame, got {type(frame).__name__}")
    missing = [c for c in ("trading_day", "contract", "settle") if c not in frame.columns]
    if missing:
        raise InputError(
            f"futures[{name!r}] lacks column(s) {missing}; it needs trading_day, contract, settle"
        )
    uniq = frame["contract"].unique()
    codes = uniq.str.to_lowercase().str.extract(r"^([a-z]+)", 1).unique().drop_nulls().to_list()
    if len(codes) != 1:
        raise InputError(f"futures[{name!r}] holds products {sorted(codes)}; a sleeve holds one product")
    return get_product(str(codes[0])).code


@dataclass
class _Sleeve:
    name: str
    product: str
    ret: np.ndarray  # [n] sleeve return on day t (0 on day 0)
    held: np.ndarray  # [n] Σ w_c(t) F_c(t)
    holdings: pl.DataFrame


def _sleeve(
    name: str, product_code: str, frame: pl.DataFrame, days: pl.Series, rule: RollRule, window: int
) -> _Sleeve:
    """Roll weights and daily returns of one sleeve on the index days."""
    n = days.len()
    sched = roll_schedule(rule, product_code, days)
    held = sched["contract"].to_list()
    roll_at = np.flatnonzero(sched["roll"].to_numpy())
    # contract roll weights after each close: (old, new, w_new) per day
    old = list(held)
    new = list(held)
    w_new = np.ones(n)
    prev_end = -1
    for k in (int(x) for x in roll_at):
        first = k - window + 1
        if prev_end >= 0 and first <= prev_end:
            raise InputError(
                f"roll_window={window} trading days is longer than the gap between contracts of "
                f"sleeve {name!r}: the roll from {held[k - 1]} to {held[k]} ending {days[k]} would start "
                f"on or before the previous roll's last day {days[prev_end]} "
                f"({k - prev_end} trading days apart); accepted: at most {k - prev_end}"
            )
        for j in range(window):
            d = first + j
            if d < 0:
                continue
            old[d] = held[k - 1] if k > 0 else held[k]
            new[d] = held[k]
            w_new[d] = (j + 1) / window
        prev_end = k
    contracts = sorted(set(old) | set(new))
    col = {c: i for i, c in enumerate(contracts)}
    raw = frame["contract"].unique().to_list()
    keep = [c for c in raw if c.lower() in col]  # contracts as the frame spells them
    px = frame.select(
        pl.col("trading_day").cast(pl.Date), pl.col("contract"), pl.col("settle").cast(pl.Float64)
    ).filter(pl.col("contract").is_in(keep))
    dup = px.select("trading_day", "contract").is_duplicated()
    if dup.any():
        r = px.filter(dup).row(0)
        raise DataError(f"futures[{name!r}] has duplicate rows for {r[1]} on {r[0]}", [f"{r[0]} {r[1]}"])
    di = _day_index(days, px["trading_day"])
    ok = di >= 0
    ci = px["contract"].replace_strict({c: col[c.lower()] for c in keep}, return_dtype=pl.Int64).to_numpy()
    P = np.full((n, len(contracts)), np.nan)
    P[di[ok], ci[ok]] = px["settle"].to_numpy()[ok]
    io = np.array([col[c] for c in old], dtype=np.int64)
    iN = np.array([col[c] for c in new], dtype=np.int64)
    wo = 1.0 - w_new
    rows = np.arange(n)

    # value after close t and, for t >= 1, the value at t of the weights held after close t-1
    def price(r: np.ndarray, c: np.ndarray, w: np.ndarray) -> np.ndarray:
        v = P[r, c]
        return np.where(w > 0, v, 0.0)

    v_now = wo * price(rows, io, wo) + w_new * price(rows, iN, w_new)
    v_carry = wo[:-1] * price(rows[1:], io[:-1], wo[:-1]) + w_new[:-1] * price(rows[1:], iN[:-1], w_new[:-1])
    for arr, shift, ws in ((v_now, 0, (wo, w_new)), (v_carry, 1, (wo[:-1], w_new[:-1]))):
        bad = np.flatnonzero(~np.isfinite(arr))
        if bad.size:
            t = int(bad[0])
            o, nw = (old, new) if shift == 0 else (old[:-1], new[:-1])
            need = [c for c, w in ((o[t], ws[0][t]), (nw[t], ws[1][t])) if w > 0]
            day = days[t + shift]
            raise DataError(
                f"futures[{name!r}] has no finite settle on {day} for {' / '.join(need)}, which the index "
                f"holds that day; give the settlement or end the index earlier",
                [f"{day} {c}" for c in need],
            )
    ret = np.zeros(n)
    ret[1:] = v_carry / v_now[:-1] - 1.0
    # day by day, the old contract then the new one (a later expiry: its code sorts after)
    pair_w = np.column_stack([wo, w_new]).reshape(-1)
    keep_rows = pair_w > 0
    pair_c = np.array(contracts, dtype=object)[np.column_stack([io, iN]).reshape(-1)]
    hold = pl.DataFrame(
        {
            "trading_day": pl.Series(np.repeat(days.to_numpy(), 2)[keep_rows], dtype=pl.Date),
            "contract": pl.Series(pair_c[keep_rows], dtype=pl.String),
            "roll_weight": pair_w[keep_rows],
        }
    ).with_columns(sleeve=pl.lit(name)).select("trading_day", "sleeve", "contract", "roll_weight")
    return _Sleeve(name, product_code, ret, v_now, hold)


def _day_index(days: pl.Series, on: pl.Series) -> np.ndarray:
    """Position of each date of ``on`` in the sorted ``days`` (-1 when absent)."""
    d = days.to_numpy().astype("datetime64[D]").astype(np.int64)
    x = on.to_numpy().astype("datetime64[D]").astype(np.int64)
    i = np.clip(np.searchsorted(d, x), 0, d.size - 1)
    return np.where(d[i] == x, i, -1)


# ----------------------------------------------------------------------------- weights


def _rebalance_mask(days: pl.Series, rebalance: str | Sequence[DateLike], base: int) -> np.ndarray:
    n = days.len()
    mask = np.zeros(n, dtype=bool)
    mask[base] = True
    if isinstance(rebalance, str):
        if rebalance not in REBALANCE:
            raise InputError(
                f"rebalance={rebalance!r}; accepted: {', '.join(REBALANCE)} or a sequence of dates"
            )
        if rebalance == "never":
            return mask
        key = {"monthly": days.dt.year() * 12 + days.dt.month(),
               "quarterly": days.dt.year() * 4 + (days.dt.month() - 1) // 3,
               "annual": days.dt.year()}[rebalance].to_numpy()  # fmt: skip
        first = np.r_[False, key[1:] != key[:-1]]
        mask |= first & (np.arange(n) >= base)
        return mask
    have = {d: i for i, d in enumerate(days.to_list())}
    for d in rebalance:
        day = parse_date(d)
        if day not in have:
            raise InputError(
                f"rebalance date {day} is not an index day (a trading day every sleeve has data for)"
            )
        if have[day] >= base:
            mask[have[day]] = True
    return mask


def _cap(w: np.ndarray, cap: float | None) -> np.ndarray:
    """Weights summing to 1 with none above ``cap`` (excess shared pro rata among the rest)."""
    if cap is None:
        return w
    w = w / w.sum()
    for _ in range(w.size):
        over = w > cap + 1e-15
        if not over.any():
            break
        excess = float((w[over] - cap).sum())
        w[over] = cap
        free = ~over & (w < cap)
        w[free] += excess * w[free] / w[free].sum()
    return w


def _target_weights(
    weights: Mapping[str, float] | str,
    names: list[str],
    rets: np.ndarray,
    frames: Mapping[str, pl.DataFrame],
    days: pl.Series,
    reb: np.ndarray,
    lookback: int,
    cap: float | None,
    leverage: float,
    multipliers: list[float],
) -> np.ndarray:
    """[n, m] target weights set at each rebalancing close (NaN elsewhere)."""
    n, m = rets.shape
    W = np.full((n, m), np.nan)
    at = np.flatnonzero(reb)
    if not isinstance(weights, str):
        W[at] = np.array([float(weights[k]) for k in names])
        return W
    if weights == "equal":
        W[at] = leverage / m
        return W
    if weights == "inverse_vol":
        for s in at:
            sd = rets[s - lookback + 1 : s + 1].std(axis=0, ddof=1)
            if not np.all(sd > 0):
                bad = names[int(np.flatnonzero(~(sd > 0))[0])]
                day = days[int(s)]
                msg = f"sleeve {bad!r} has zero volatility over the {lookback} days to {day}"
                raise DataError(msg, [str(day)])
            W[s] = leverage * _cap((1.0 / sd) / (1.0 / sd).sum(), cap)
        return W
    # open interest / volume: value of the whole product's contracts [CNY], averaged over lookback
    value = np.zeros((n, m))
    for j, name in enumerate(names):
        f = frames[name]
        if weights not in f.columns:
            raise InputError(
                f"weights={weights!r} needs a {weights!r} column [lots] in futures[{name!r}]; it has "
                f"{f.columns}; give fixed weights or 'equal' / 'inverse_vol' instead"
            )
        agg = (
            f.select(pl.col("trading_day").cast(pl.Date),
                     (pl.col(weights).cast(pl.Float64) * pl.col("settle").cast(pl.Float64)).alias("_v"))
            .group_by("trading_day").agg(pl.col("_v").sum())
        )  # fmt: skip
        di = _day_index(days, agg["trading_day"])
        value[di[di >= 0], j] = agg["_v"].to_numpy()[di >= 0] * multipliers[j]
    for s in at:
        v = value[s - lookback + 1 : s + 1].mean(axis=0)
        if not np.all(np.isfinite(v)) or not np.all(v > 0):
            bad = names[int(np.flatnonzero(~(v > 0))[0])]
            raise DataError(f"sleeve {bad!r} has no {weights} over the {lookback} days to {days[int(s)]}",
                            [str(days[int(s)])])  # fmt: skip
        W[s] = leverage * _cap(v / v.sum(), cap)
    return W


def _check_weights(weights: Mapping[str, float] | str, names: list[str], leverage: float | None) -> float:
    lev = 1.0 if leverage is None else leverage
    if leverage is not None and (isinstance(leverage, bool) or not math.isfinite(leverage) or leverage <= 0):
        raise InputError(f"leverage={leverage!r} must be a finite number > 0 (the sum of the weights)")
    if isinstance(weights, str):
        if weights not in WEIGHTINGS:
            raise InputError(
                f"weights={weights!r}; accepted: {', '.join(WEIGHTINGS)} or a mapping sleeve -> weight"
            )
        return lev
    if not isinstance(weights, Mapping):
        raise InputError(f"weights must be a mapping sleeve -> weight or one of {', '.join(WEIGHTINGS)}")
    if set(weights) != set(names):
        raise InputError(f"weights name sleeves {sorted(weights)}; the futures hold sleeves {sorted(names)}")
    for k, v in weights.items():
        if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v) or v < 0:
            raise InputError(f"weights[{k!r}]={v!r} must be a finite number >= 0 (long-only index)")
    total = float(sum(weights.values()))
    if abs(total - lev) > 1e-9:
        if leverage is None:
            raise InputError(
                f"weights sum to {total:.10g}, not 1; make them sum to 1 or state the leverage "
                f"(leverage={total:.10g})"
            )
        raise InputError(f"weights sum to {total:.10g}, not the stated leverage={leverage:.10g}")
    return lev


def _check_rate(name: str, v: float) -> float:
    if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v):
        raise InputError(f"{name}={v!r} must be a finite annual rate [fraction, ACT/365], e.g. 0.02")
    return float(v)


def _route_check(route: Any, products: list[str], on: dt.date) -> None:
    from cnfutures.access.eligibility import eligible
    from cnfutures.access.investor import Investor

    inv = route if isinstance(route, Investor) else Investor(route)
    for p in products:
        e = eligible(inv, p, on)
        if not e:
            raise AccessDenied(
                f"route {inv.route_.value!r} may not hold product {p!r} on {on}: "
                + "; ".join(f.describe() for f in e.failed)
            )


# ----------------------------------------------------------------------------- the index


def build_index(
    futures: Mapping[str, pl.DataFrame],
    weights: Mapping[str, float] | str = "equal",
    *,
    roll: RollRule | Mapping[str, RollRule] | None = None,
    roll_window: int = 5,
    rebalance: str | Sequence[DateLike] = "annual",
    leverage: float | None = None,
    cap: float | None = None,
    lookback: int = 252,
    usd_cny: pl.DataFrame | None = None,
    cny_rate: float = 0.0,
    usd_rate: float = 0.0,
    collateral: Literal["CNY", "USD"] = "USD",
    fx: Literal["unhedged", "hedged"] = "unhedged",
    hedge_cost: float = 0.0,
    route: Any = None,
    start: DateLike | None = None,
    end: DateLike | None = None,
    base: float = 100.0,
) -> AllocationIndex:
    """Daily excess- and total-return levels of a long, rolled, weighted futures allocation.

    Parameters
    ----------
    futures : mapping of str to polars.DataFrame
        Sleeve name -> per-contract daily frame of one product: ``trading_day`` (Date),
        ``contract`` (str), ``settle`` [CNY/unit]; ``open_interest`` / ``volume`` [lots] for
        those weightings. E.g. ``{"sc": market.futures}`` from :meth:`Market.sample`,
        :func:`cnfutures.read_futures` or :func:`cnfutures.simulate.market`.
    weights : mapping of str to float or {"equal", "inverse_vol", "open_interest", "volume"}
        Fixed target weights [fraction of the index] by sleeve, summing to 1 (or to
        ``leverage``); or a scheme: equal; inverse of each sleeve's daily-return volatility over
        ``lookback`` days; proportional to the CNY value of open interest (or volume) averaged
        over ``lookback`` days. Schemes are capped at ``cap`` (excess shared pro rata).
    roll : RollRule or mapping of str to RollRule, optional
        Which contract each sleeve holds; the roll from it to the next one *completes* on the
        rule's roll day. Default :data:`DEFAULT_ROLL` per product.
    roll_window : int [trading days]
        The roll moves ``1/roll_window`` of the sleeve per day over this many days, the last
        being the rule's roll day (5: the S&P GSCI and BCOM window).
    rebalance : {"monthly", "quarterly", "annual", "never"} or sequence of dates
        Weights reset to target at the close of the first index day of each period (and of the
        first index day); between resets they drift with the sleeves' returns.
    leverage : float, optional
        The stated sum of the weights (default: they must sum to 1).
    cap : float, optional
        Largest weight of a scheme [fraction].
    lookback : int [trading days]
        Estimation window of the schemes; the index starts after it.
    usd_cny : polars.DataFrame, optional
        ``date``, ``usd_cny`` [CNY per USD] fixings (as-of, at most
        :data:`cnfutures.validation.FX_MAX_AGE_DAYS` old); without it no USD levels.
    cny_rate, usd_rate : float [fraction per year, ACT/365]
        Yield of CNY cash and of USD collateral.
    collateral : {"CNY", "USD"}
        Collateral of the USD total-return index (the CNY total return always uses ``cny_rate``).
    fx : {"unhedged", "hedged"}
        USD levels: translated at the fixing, or FX-hedged for ``hedge_cost``.
    hedge_cost : float [fraction per year]
        Annual cost of the FX hedge (forward points and fees) when ``fx="hedged"``.
    route : str, Route or Investor, optional
        Check every product is open to this access route on the first index day.
    start, end : date or str, optional
        First and last index day (default: the days every sleeve has data for).
    base : float
        Level on the first index day.

    Returns
    -------
    AllocationIndex

    Raises
    ------
    InputError
        Weights not summing to 1 (or the stated leverage), an unknown scheme or sleeve, a roll
        window longer than the gap between two rolls, a bad rate or option.
    AccessDenied
        ``route`` may not hold one of the products.
    DataError
        A settle the index needs is missing; FX missing or stale.

    Examples
    --------
    >>> from cnfutures.backtest import Market
    >>> m = Market.sample("sc", "2025-01-02", "2025-06-06")
    >>> ix = build_index({"sc": m.futures}, {"sc": 1.0}, usd_cny=m.usd_cny, usd_rate=0.04)
    >>> ix.levels.columns
    ['trading_day', 'er_cny', 'tr_cny', 'er_usd', 'tr_usd', 'usd_cny']
    >>> round(ix.levels["er_cny"][0], 6)
    100.0
    """
    if not isinstance(futures, Mapping) or not futures:
        raise InputError("futures must be a non-empty mapping sleeve name -> per-contract frame")
    names = [str(k) for k in futures]
    frames = {str(k): v for k, v in futures.items()}
    products = [_product_of(frames[k], k) for k in names]
    lev = _check_weights(weights, names, leverage)
    if isinstance(roll_window, bool) or not isinstance(roll_window, int) or roll_window < 1:
        raise InputError(f"roll_window={roll_window!r} must be a whole number of trading days >= 1")
    if isinstance(lookback, bool) or not isinstance(lookback, int) or lookback < 2:
        raise InputError(f"lookback={lookback!r} must be a whole number of trading days >= 2")
    if cap is not None and not (isinstance(cap, int | float) and 0 < cap <= 1):
        raise InputError(f"cap={cap!r} must lie in (0, 1]")
    if cap is not None and cap * len(names) < 1 - 1e-12:
        raise InputError(
            f"cap={cap!r} is too small for {len(names)} sleeves (it needs cap >= {1 / len(names):.4g})"
        )
    if collateral not in ("CNY", "USD"):
        raise InputError(f"collateral={collateral!r}; accepted: 'CNY', 'USD'")
    if fx not in ("unhedged", "hedged"):
        raise InputError(f"fx={fx!r}; accepted: 'unhedged', 'hedged'")
    y_cny, y_usd, h = (
        _check_rate("cny_rate", cny_rate),
        _check_rate("usd_rate", usd_rate),
        _check_rate("hedge_cost", hedge_cost),
    )
    rules: dict[str, RollRule] = {}
    for k, p in zip(names, products, strict=True):
        if roll is None:
            rules[k] = default_roll(p)
        elif isinstance(roll, RollRule):
            rules[k] = roll
        elif isinstance(roll, Mapping) and k in roll:
            rules[k] = roll[k]
        else:
            raise InputError(
                f"roll has no rule for sleeve {k!r}; give a RollRule or a mapping for every sleeve"
            )
    # index days: days every sleeve has data for
    days: pl.Series | None = None
    for k in names:
        d = frames[k]["trading_day"].cast(pl.Date).unique()
        days = d if days is None else days.filter(days.is_in(d.implode()))
    assert days is not None
    days = days.sort()
    if start is not None:
        days = days.filter(days >= parse_date(start))
    if end is not None:
        days = days.filter(days <= parse_date(end))
    warm = 0 if not isinstance(weights, str) or weights == "equal" else lookback
    if days.len() < warm + 2:
        raise InputError(
            f"{days.len()} index days (common to every sleeve{' in start..end' if start or end else ''}); "
            f"at least {warm + 2} are needed" + (f" (lookback={lookback} + 2)" if warm else "")
        )
    sl = [_sleeve(k, p, frames[k], days, rules[k], roll_window)
          for k, p in zip(names, products, strict=True)]  # fmt: skip
    rets = np.column_stack([s.ret for s in sl])
    n, m = rets.shape
    b0 = warm  # index base day
    if route is not None:
        _route_check(route, sorted(set(products)), days[b0])
    reb = _rebalance_mask(days, rebalance, b0)
    mult = [get_product(p).multiplier for p in products]
    W = _target_weights(weights, names, rets, frames, days, reb, lookback, cap, lev, mult)
    # excess return, vectorised per rebalancing period
    idx_days = days.slice(b0)
    nn = n - b0
    R = np.zeros(nn)
    hold_w = np.zeros((nn, m))  # weight at the previous close
    er = np.empty(nn)
    er[0] = 1.0
    reb_at = np.flatnonzero(reb[b0:])
    for i, s in enumerate(reb_at):
        e = int(reb_at[i + 1]) if i + 1 < reb_at.size else nn - 1
        w = W[b0 + s]
        g = np.cumprod(1.0 + rets[b0 + s + 1 : b0 + e + 1], axis=0)  # G(t)/G(s), t = s+1..e
        er[s + 1 : e + 1] = er[s] * (1.0 + (g - 1.0) @ w)
        gprev = np.vstack([np.ones((1, m)), g[:-1]])
        lvl_prev = np.r_[er[s], er[s + 1 : e]]
        hold_w[s + 1 : e + 1] = er[s] * w * gprev / lvl_prev[:, None]
    R[1:] = er[1:] / er[:-1] - 1.0
    cal = idx_days.to_numpy().astype("datetime64[D]").astype(np.int64)
    delta = np.zeros(nn)
    delta[1:] = np.diff(cal) / 365.0
    tr = np.cumprod(1.0 + R + y_cny * delta)
    cols: dict[str, Any] = {"trading_day": idx_days, "er_cny": base * er, "tr_cny": base * tr}
    if usd_cny is not None:
        X = _fx_on(usd_cny, idx_days)
        q = np.ones(nn)
        q[1:] = X[:-1] / X[1:]
        y = y_cny if collateral == "CNY" else y_usd
        if fx == "hedged":
            r_er = R - h * delta
            r_tr = R + (y - h) * delta
        elif collateral == "CNY":
            r_er = (1.0 + R) * q - 1.0
            r_tr = (1.0 + R + y * delta) * q - 1.0
        else:
            r_er = R * q
            r_tr = R * q + y * delta
        cols["er_usd"] = base * np.cumprod(1.0 + r_er)
        cols["tr_usd"] = base * np.cumprod(1.0 + r_tr)
        cols["usd_cny"] = X
    levels = pl.DataFrame(cols)
    sleeves = pl.concat(
        [
            pl.DataFrame(
                {
                    "trading_day": idx_days,
                    "sleeve": [s.name] * nn,
                    "product": [s.product] * nn,
                    "sleeve_return": np.r_[0.0, s.ret[b0 + 1 :]],
                    "weight": hold_w[:, j],
                    "held_price": s.held[b0:],
                }
            )
            for j, s in enumerate(sl)
        ]
    )
    first = idx_days[0]
    holdings = pl.concat([s.holdings for s in sl]).filter(pl.col("trading_day") >= first)
    at = np.flatnonzero(reb[b0:]) + b0
    rebal = pl.DataFrame(
        {
            "trading_day": np.repeat(days.to_numpy()[at], m),
            "sleeve": names * at.size,
            "target_weight": W[at].reshape(-1),
        }
    ).with_columns(pl.col("trading_day").cast(pl.Date))
    spec = {
        "sleeves": dict(zip(names, products, strict=True)),
        "weights": weights if isinstance(weights, str) else dict(weights),
        "roll": {k: rules[k] for k in names}, "roll_window": roll_window, "rebalance": rebalance,
        "leverage": lev, "cap": cap, "lookback": lookback, "cny_rate": y_cny, "usd_rate": y_usd,
        "collateral": collateral, "fx": fx, "hedge_cost": h, "base": base,
        "route": None if route is None else str(route),
    }  # fmt: skip
    return AllocationIndex(levels, sleeves, holdings, rebal, spec)


def _fx_on(usd_cny: pl.DataFrame, days: pl.Series) -> np.ndarray:
    if not isinstance(usd_cny, pl.DataFrame) or not {"date", "usd_cny"} <= set(usd_cny.columns):
        raise InputError("usd_cny must be a polars DataFrame with columns date, usd_cny [CNY per USD]")
    return asof_fresh(
        usd_cny, "usd_cny", days, name="usd_cny", positive=True,
        hint="extend the fixings (cnfutures.read_fx) or end the index earlier (end=)",
    )  # fmt: skip
