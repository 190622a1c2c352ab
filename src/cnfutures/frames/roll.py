"""Roll rules: which contract of a product to hold on each trading day.

A :class:`RollRule` says when a position moves from the held contract to the next one:

* ``kind="calendar"``: from ``days_before_ltd`` trading days before the held contract's last
  trading day (LTD), and/or from the last trading day before one of its life stages starts
  (``before_stage``, e.g. ``"month_before_delivery"`` when margins and position limits
  tighten). Needs only the market layer (listed contracts and their LTDs).
* ``kind="open_interest"`` or ``"volume"``: follow the contract with the largest open interest
  (or volume), switching only after a later-expiring contract has led on ``confirm_days``
  consecutive trading days, and never back to an earlier expiry. Needs per-contract data.

:func:`roll_schedule` turns a rule into one row per trading day. The ``contract`` of a day is
the contract held at that day's settlement: on a roll day (``roll`` True) the position is
moved during that day, so the day's P&L of the new contract starts from its settlement.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
from dataclasses import dataclass
from typing import Literal

import polars as pl

from cnfutures._dates import DateLike, parse_date
from cnfutures.errors import CalendarOutOfBounds, DataError, InputError
from cnfutures.market.calendar import calendar
from cnfutures.market.contracts import STAGES, _add_months, contract
from cnfutures.market.products import Product, product

__all__ = ["RollRule", "roll_schedule"]

_KINDS = ("calendar", "open_interest", "volume")
_SCHEMA = {"trading_day": pl.Date, "contract": pl.String, "next_contract": pl.String, "roll": pl.Boolean}


@dataclass(frozen=True)
class RollRule:
    """When to move a position to the next contract.

    Attributes
    ----------
    kind : {"calendar", "open_interest", "volume"}
        Calendar rule, or follow the open-interest / volume leader.
    days_before_ltd : int
        Calendar: hold the next contract from this many trading days before the held
        contract's last trading day [trading days]; 0 rolls on the LTD itself.
    before_stage : str or None
        Calendar alternative: roll on the last trading day before this life stage of the held
        contract starts (a name from :data:`cnfutures.market.contracts.STAGES` that the
        product uses, e.g. ``"month_before_delivery"``). When it is set as well as
        ``days_before_ltd``, the earlier of the two roll days wins.
    confirm_days : int
        Open interest / volume: a later-expiring contract must lead on this many consecutive
        trading days; the switch happens on the next trading day [trading days].
    months : tuple of int or None
        Hold only these delivery months (e.g. ``(1, 5, 9)`` for iron ore's main months).

    Examples
    --------
    >>> RollRule(days_before_ltd=3)
    RollRule(kind='calendar', days_before_ltd=3, before_stage=None, confirm_days=3, months=None)
    """

    kind: Literal["calendar", "open_interest", "volume"] = "calendar"
    days_before_ltd: int = 5
    before_stage: str | None = None
    confirm_days: int = 3
    months: tuple[int, ...] | None = None

    def __post_init__(self) -> None:
        if self.kind not in _KINDS:
            raise InputError(f"RollRule kind={self.kind!r}; accepted: {', '.join(map(repr, _KINDS))}")
        for name in ("days_before_ltd", "confirm_days"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < 0:
                raise InputError(f"RollRule {name}={v!r} must be a non-negative whole number of trading days")
        if self.confirm_days < 1:
            raise InputError(f"RollRule confirm_days={self.confirm_days!r} must be at least 1")
        if self.before_stage is not None and self.before_stage not in STAGES[1:]:
            raise InputError(
                f"RollRule before_stage={self.before_stage!r} is not a stage name; accepted: "
                + ", ".join(STAGES[1:])
            )
        if self.months is not None:
            months = tuple(self.months)
            if not months or any(
                isinstance(m, bool) or not isinstance(m, int) or not 1 <= m <= 12 for m in months
            ):
                raise InputError(f"RollRule months={self.months!r} must be a non-empty tuple of months 1-12")
            object.__setattr__(self, "months", tuple(sorted(set(months))))


def _months(rule: RollRule, p: Product) -> tuple[int, ...]:
    if rule.months is None:
        return p.months
    bad = [m for m in rule.months if m not in p.months]
    if bad:
        raise InputError(
            f"RollRule months {bad} are not delivery months of {p.code!r}; listed months: "
            + ", ".join(f"{m:02d}" for m in p.months)
        )
    return rule.months


def _resolve_days(
    p: Product, days: pl.Series | None, start: DateLike | None, end: DateLike | None
) -> pl.Series:
    cal = calendar(p.exchange)
    if days is not None:
        if start is not None or end is not None:
            raise InputError("pass either days or start/end, not both")
        s = pl.Series("trading_day", days)
        if s.dtype != pl.Date:
            try:
                s = s.cast(pl.Date, strict=True)
            except Exception as exc:
                raise InputError(f"days has dtype {s.dtype}; pass a polars Series of Date") from exc
        if s.null_count():
            raise InputError(f"days has a null at index {int(s.is_null().arg_max() or 0)}")
        s = s.unique().sort()
        lo, hi = cal.bounds
        outside = s.filter((s < lo) | (s > hi))
        if outside.len():
            d = outside[0]
            raise CalendarOutOfBounds(f"day {d} is outside the {p.exchange} calendar ({lo} to {hi})")
        if s.len() == 0:
            return s
        bad = s.filter(~s.is_in(cal.trading_days(s[0], s[-1]).implode())).to_list()
        if bad:
            raise InputError(
                f"days contains {len(bad)} non-trading day(s) of {p.exchange}, first {bad[0]}; "
                "pass exchange trading days only"
            )
        return s
    if start is None or end is None:
        raise InputError("roll_schedule needs days, or both start and end")
    s0, e0 = parse_date(start, "start"), parse_date(end, "end")
    if e0 < s0:
        raise InputError(f"end={e0} is before start={s0}")
    return cal.trading_days(s0, e0).alias("trading_day")


def _candidates(
    p: Product, months: tuple[int, ...], first: dt.date, last: dt.date, rule: RollRule
) -> pl.DataFrame:
    """Contracts that may be held between ``first`` and ``last`` with their holding window."""
    cal = calendar(p.exchange)
    codes: list[str] = []
    ftd: list[dt.date] = []
    ltd: list[dt.date] = []
    roll_from: list[dt.date] = []
    far = dt.date(9999, 12, 31)
    span = (last.year - first.year) * 12 + last.month - first.month + 40
    for k in range(-1, span):
        y, m = _add_months(first.year, first.month, k)
        if m not in months:
            continue
        c = contract(f"{p.code}{y % 100:02d}{m:02d}")
        if p.first_contract and c.code < p.first_contract and y < 2090:
            continue
        try:
            f = c.first_trading_day
        except CalendarOutOfBounds:
            # listed before the calendar starts: listed on its first covered day
            if c.year * 12 + c.month > (cal.bounds[0].year + 2) * 12 + cal.bounds[0].month:
                continue
            f = (
                cal.next_trading_day(cal.bounds[0])
                if not cal.is_trading_day(cal.bounds[0])
                else cal.bounds[0]
            )
        if f > last:
            break
        try:
            lt = c.last_trading_day
        except CalendarOutOfBounds:
            lt = far
        if lt < first:
            continue
        r = far
        if lt != far:
            try:
                r = cal.offset(lt, -rule.days_before_ltd)
            except CalendarOutOfBounds:
                r = lt
            if rule.before_stage is not None:
                starts = c.stage_starts()
                if rule.before_stage in starts:
                    with contextlib.suppress(CalendarOutOfBounds):
                        r = min(r, cal.previous_trading_day(starts[rule.before_stage]))
        codes.append(c.code)
        ftd.append(f)
        ltd.append(lt)
        roll_from.append(r)
    return pl.DataFrame(
        {"contract": codes, "first_trading_day": ftd, "last_trading_day": ltd, "roll_from": roll_from},
        schema={
            "contract": pl.String,
            "first_trading_day": pl.Date,
            "last_trading_day": pl.Date,
            "roll_from": pl.Date,
        },
    ).with_row_index("order")


def _stage_names(p: Product) -> set[str]:
    from cnfutures.market._data import load_toml

    spec = load_toml("stages.toml").get(p.code, {"stages": []})
    return {"general", "delivery", "expired", *(s["name"] for s in spec["stages"])}


def _finish(days: pl.Series, held: pl.DataFrame) -> pl.DataFrame:
    out = pl.DataFrame({"trading_day": days}).join(held, on="trading_day", how="left")
    out = out.with_columns(
        roll=(pl.col("contract") != pl.col("contract").shift(1)).fill_null(False),
    )
    return out.select(list(_SCHEMA)).cast(_SCHEMA)  # type: ignore[arg-type]


def _calendar_schedule(p: Product, rule: RollRule, days: pl.Series) -> pl.DataFrame:
    months = _months(rule, p)
    if rule.before_stage is not None and rule.before_stage not in _stage_names(p):
        raise InputError(
            f"stage {rule.before_stage!r} is not used by {p.code!r}; its stages: "
            + ", ".join(s for s in STAGES[1:] if s in _stage_names(p))
        )
    if days.is_empty():
        return pl.DataFrame(schema=_SCHEMA)
    first, last = days.min(), days.max()
    assert isinstance(first, dt.date) and isinstance(last, dt.date)
    cand = _candidates(p, months, first, last, rule)
    grid = (
        pl.DataFrame({"trading_day": days})
        .join(cand, how="cross")
        .filter(
            (pl.col("first_trading_day") <= pl.col("trading_day"))
            & (pl.col("trading_day") <= pl.col("last_trading_day"))
        )
    )
    eligible = grid.filter(pl.col("trading_day") < pl.col("roll_from")).sort("trading_day", "order")
    held = eligible.group_by("trading_day", maintain_order=True).agg(
        contract=pl.col("contract").first(),
        next_contract=pl.col("contract").get(1, null_on_oob=True)
        if _has_null_on_oob()
        else pl.col("contract").slice(1, 1).first(),
    )
    missing = pl.DataFrame({"trading_day": days}).join(held, on="trading_day", how="anti")
    if missing.height:
        d0 = missing["trading_day"][0]
        raise InputError(
            f"no {p.code} contract eligible under {rule} on {d0} ({missing.height} such day(s)); "
            "every listed contract of the allowed months is past its roll day"
        )
    return _finish(days, held)


@functools.cache
def _has_null_on_oob() -> bool:
    import inspect

    return "null_on_oob" in inspect.signature(pl.Expr.get).parameters


def _data_schedule(p: Product, rule: RollRule, days: pl.Series | None, data: pl.DataFrame) -> pl.DataFrame:
    metric = rule.kind
    for col in ("trading_day", "contract", metric):
        if col not in data.columns:
            raise InputError(
                f"roll_schedule with kind={metric!r} needs data with column {col!r}; "
                f"got columns {data.columns}"
            )
    months = _months(rule, p)
    from cnfutures.frames.schema import contract_info

    frame = data.select(
        pl.col("trading_day").cast(pl.Date),
        pl.col("contract").cast(pl.String).str.to_lowercase(),
        pl.col(metric).cast(pl.Float64).alias("metric"),
    )
    info = contract_info(frame["contract"].unique(), product=p.code)
    bad = info.filter(pl.col("problem").is_not_null())
    if bad.height:
        raise DataError(
            f"data has {bad.height} contract code(s) that are not {p.code} contracts, e.g. "
            f"{bad['contract'][0]!r}: {bad['problem'][0]}",
            [f"{c}: {m}" for c, m in bad.select("contract", "problem").iter_rows()],
        )
    frame = frame.join(info.select("contract", "year", "month"), on="contract").filter(
        pl.col("month").is_in(list(months))
    )
    frame = frame.with_columns(key=pl.col("year") * 100 + pl.col("month"))
    if days is None:
        days = frame["trading_day"].unique().sort()
    if days.is_empty():
        return pl.DataFrame(schema=_SCHEMA)
    per_day = (
        frame.filter(pl.col("metric").is_not_null())
        .sort("trading_day", "metric", "key", descending=[False, True, False])
        .group_by("trading_day", maintain_order=True)
        .agg(
            leader=pl.col("contract").first(),
            leader_key=pl.col("key").first(),
            present=pl.col("key"),
            present_codes=pl.col("contract"),
        )
    )
    per_day = pl.DataFrame({"trading_day": days}).join(per_day, on="trading_day", how="left")
    # sequential confirmation: a loop over trading days (thousands), not over rows
    held_codes: list[str] = []
    next_codes: list[str | None] = []
    held: str | None = None
    held_key = -1
    streak_code: str | None = None
    streak = 0
    pending: str | None = None
    pending_key = -1
    for d, leader, leader_key, present, present_codes in per_day.iter_rows():
        if leader is None:
            raise DataError(
                f"no {p.code} contract with a {metric} value on {d}; cannot choose a contract to hold",
                [f"{d}: no {metric} data"],
            )
        pairs = sorted(zip(present, present_codes, strict=True))
        if held is None:
            held, held_key = leader, leader_key
        elif pending is not None:
            held, held_key = pending, pending_key
        pending = None
        if held_key not in present:
            later = [(k, c) for k, c in pairs if k > held_key]
            if not later:
                raise DataError(
                    f"on {d} the held contract {held} has no data and no later-expiring {p.code} "
                    "contract has any; cannot continue the schedule",
                    [f"{d}: held {held} missing"],
                )
            held_key, held = (leader_key, leader) if leader_key > held_key else later[0]
            streak_code, streak = None, 0
        if leader_key > held_key:
            streak = streak + 1 if leader == streak_code else 1
            streak_code = leader
            if streak >= rule.confirm_days:
                pending, pending_key = leader, leader_key
                streak_code, streak = None, 0
        else:
            streak_code, streak = None, 0
        held_codes.append(held)
        nxt = [c for k, c in pairs if k > held_key]
        next_codes.append(nxt[0] if nxt else None)
    held_frame = pl.DataFrame(
        {"trading_day": per_day["trading_day"], "contract": held_codes, "next_contract": next_codes},
        schema={"trading_day": pl.Date, "contract": pl.String, "next_contract": pl.String},
    )
    return _finish(days, held_frame)


def roll_schedule(
    rule: RollRule,
    product_code: str,
    days: pl.Series | None = None,
    *,
    start: DateLike | None = None,
    end: DateLike | None = None,
    data: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """The contract to hold on each trading day under a roll rule.

    Parameters
    ----------
    rule : RollRule
        The roll rule.
    product_code : str
        Product (``"sc"``, ``"i"``, ``"nr"``, ``"ru"``).
    days : polars.Series of Date, optional
        Trading days to schedule. Default: ``start``..``end`` on the exchange calendar, or
        (open-interest / volume rules) every trading day in ``data``.
    start, end : date or str, optional
        Date range (inclusive) instead of ``days``.
    data : polars.DataFrame, optional
        Per-contract daily frame with ``trading_day``, ``contract`` and ``open_interest``
        [lots] or ``volume`` [lots]; required by the open-interest and volume rules.

    Returns
    -------
    polars.DataFrame
        ``trading_day`` (Date), ``contract`` (str: held at that day's settlement),
        ``next_contract`` (str or null: the next contract of the allowed months listed that
        day, or with data that day), ``roll`` (bool: True on the first day a new contract is
        held; False on the first row).

    Raises
    ------
    InputError
        Unknown stage name, negative day counts, a non-trading day in ``days``, months the
        product does not list, no eligible contract on a day (the message names the day).
    DataError
        Open-interest / volume rule: the data cannot decide a day.

    Examples
    --------
    >>> s = roll_schedule(RollRule(days_before_ltd=5), "sc", start="2025-06-19", end="2025-06-24")
    >>> s.select("trading_day", "contract", "roll").rows()[-3:]  # sc2507 LTD 2025-06-30
    [(datetime.date(2025, 6, 20), 'sc2507', False), (datetime.date(2025, 6, 23), 'sc2508', True), \
(datetime.date(2025, 6, 24), 'sc2508', False)]
    """
    if not isinstance(rule, RollRule):
        raise InputError(f"rule={rule!r} must be a RollRule")
    p = product(product_code)
    if rule.kind == "calendar":
        if data is not None and days is None and start is None and end is None:
            days = data["trading_day"].cast(pl.Date).unique().sort()
        return _calendar_schedule(p, rule, _resolve_days(p, days, start, end))
    if data is None:
        raise InputError(
            f"RollRule kind={rule.kind!r} needs data=: a per-contract daily frame with trading_day, "
            f"contract and {rule.kind}"
        )
    if days is not None or start is not None or end is not None:
        sel = _resolve_days(p, days, start, end)
    else:
        sel = None
    return _data_schedule(p, rule, sel, data)
