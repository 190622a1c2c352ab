"""Trading calendars of China's futures exchanges, with night sessions and holidays.

The trading day is the unit of everything in cnfutures:

* a night session opens on the evening of the previous trading day and **belongs to the next
  trading day** (Friday night belongs to Monday; bars after midnight too);
* there is **no night session on the last trading day before a holiday block** (weekends do
  not count as holidays); the rule is derived from the gap to the next trading day;
* weekend make-up workdays (调休) are closed;
* 2024-02-09 (Chinese New Year's Eve, a Friday) was an exchange closure though not a public
  holiday.

Calendars are bounded (:attr:`TradingCalendar.bounds`): a date outside raises
:class:`~cnfutures.errors.CalendarOutOfBounds`; nothing is guessed and nothing is
downloaded. Data: ``market/data/holidays.toml`` and ``sessions.toml``.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Iterable
from typing import Literal, overload

import numpy as np
import polars as pl

from cnfutures._dates import DateLike, parse_date
from cnfutures.errors import (
    CalendarOutOfBounds,
    InputError,
    NotInSession,
    NotTradingDay,
    UnknownExchange,
)
from cnfutures.market._data import load_toml
from cnfutures.market._dated import asof_index
from cnfutures.market.products import Product, product, products

__all__ = ["EXCHANGES", "TradingCalendar", "calendar"]

EXCHANGES: tuple[str, ...] = ("INE", "SHFE", "DCE")
_EPOCH = dt.date(1970, 1, 1)
_DAY_US = 86_400_000_000
_AUCTION_S = 300  # call auctions open 5 minutes before the day and night sessions
_NIGHT_OPEN_S = 21 * 3600
_BEIJING = "Asia/Shanghai"


def _ord(d: dt.date) -> int:
    return (d - _EPOCH).days


def _from_ord(n: int) -> dt.date:
    return _EPOCH + dt.timedelta(days=int(n))


def _secs(t: dt.time) -> int:
    return t.hour * 3600 + t.minute * 60 + t.second


class TradingCalendar:
    """Trading days, sessions and trading-day attribution for one exchange.

    Parameters
    ----------
    exchange : {"INE", "SHFE", "DCE"}
        Exchange (any case).
    extra_closures : iterable of date, optional
        Additional weekday closures (e.g. a new year's schedule, or an unscheduled closure).
    bound_max : date, optional
        Extend the upper bound (use with ``extra_closures`` holding that year's holidays).

    Examples
    --------
    >>> cal = TradingCalendar("INE")
    >>> cal.next_trading_day("2024-02-08")
    datetime.date(2024, 2, 19)
    >>> cal.has_night_session("2024-02-19", "sc")   # no night session on 2024-02-08
    False
    """

    def __init__(
        self,
        exchange: str,
        *,
        extra_closures: Iterable[DateLike] = (),
        bound_max: DateLike | None = None,
    ) -> None:
        key = exchange.strip().upper() if isinstance(exchange, str) else exchange
        if key not in EXCHANGES:
            raise UnknownExchange(f"unknown exchange {exchange!r}; accepted: {', '.join(EXCHANGES)}")
        self.exchange: str = key
        data = load_toml("holidays.toml")["closures"]
        closures = {d for year in data.values() for d in year["dates"]}
        closures |= {parse_date(d, "extra_closures") for d in extra_closures}
        years = sorted(int(y) for y in data)
        lo = dt.date(years[0], 1, 1)
        hi = dt.date(years[-1], 12, 31)
        if bound_max is not None:
            hi = max(hi, parse_date(bound_max, "bound_max"))
        self._bounds = (lo, hi)
        all_days = np.arange(_ord(lo), _ord(hi) + 1, dtype=np.int64)
        weekday = (all_days + 3) % 7  # 1970-01-01 was a Thursday (weekday 3)
        closed = np.isin(all_days, np.array(sorted(_ord(d) for d in closures), dtype=np.int64))
        self._days: np.ndarray = np.ascontiguousarray(all_days[(weekday < 5) & ~closed])
        # the night session of trading day k opens on the evening of trading day k-1; it takes
        # place only when every calendar day in between is a Saturday or Sunday
        gaps = np.diff(self._days)
        prev_weekday = (self._days[:-1] + 3) % 7
        # consecutive weekdays (gap 1) or Friday -> Monday (gap 3) keep the night session
        ok = (gaps == 1) | ((gaps == 3) & (prev_weekday == 4))
        night = np.zeros(self._days.size, dtype=bool)
        night[1:] = ok
        for row in load_toml("sessions.toml").get("night_suspension", []):
            a, b = _ord(row["start"]), _ord(row["end"])
            night[(self._days >= a) & (self._days <= b)] = False
        self._night_base = night
        self._products = tuple(p for p in products() if p.exchange == self.exchange)

    # ------------------------------------------------------------------ basics
    def __repr__(self) -> str:
        lo, hi = self._bounds
        return f"TradingCalendar({self.exchange!r}, bounds={lo}..{hi})"

    @property
    def bounds(self) -> tuple[dt.date, dt.date]:
        """First and last calendar date covered (inclusive).

        Examples
        --------
        >>> calendar("DCE").bounds
        (datetime.date(2010, 1, 1), datetime.date(2026, 12, 31))
        """
        return self._bounds

    @property
    def days_ordinal(self) -> np.ndarray:
        """All trading days as int64 days since 1970-01-01 (read-only view)."""
        view = self._days.view()
        view.flags.writeable = False
        return view

    def _check(self, d: dt.date, name: str = "date") -> int:
        lo, hi = self._bounds
        if not lo <= d <= hi:
            raise CalendarOutOfBounds(
                f"{name}={d.isoformat()} is outside the {self.exchange} calendar, which "
                f"covers {lo.isoformat()} to {hi.isoformat()}; add the year's closures with "
                "TradingCalendar(extra_closures=..., bound_max=...)"
            )
        return _ord(d)

    def is_trading_day(self, d: DateLike) -> bool:
        """True when ``d`` is a trading day.

        Examples
        --------
        >>> cal = calendar("SHFE")
        >>> cal.is_trading_day("2024-02-09"), cal.is_trading_day("2024-02-04")
        (False, False)
        """
        n = self._check(parse_date(d))
        i = int(np.searchsorted(self._days, n))
        return i < self._days.size and int(self._days[i]) == n

    def trading_days(self, start: DateLike, end: DateLike) -> pl.Series:
        """Trading days from ``start`` to ``end`` inclusive.

        Returns
        -------
        polars.Series
            Dtype ``Date``, name ``trading_day``.

        Examples
        --------
        >>> calendar("INE").trading_days("2025-01-01", "2025-12-31").len()
        243
        """
        a = self._check(parse_date(start, "start"), "start")
        b = self._check(parse_date(end, "end"), "end")
        if b < a:
            raise InputError(f"end={end!r} is before start={start!r}")
        i, j = np.searchsorted(self._days, [a, b + 1])
        return pl.Series("trading_day", self._days[i:j], dtype=pl.Int32).cast(pl.Date)

    def next_trading_day(self, d: DateLike, n: int = 1) -> dt.date:
        """The ``n``-th trading day after ``d`` (``d`` itself need not be a trading day).

        Examples
        --------
        >>> calendar("INE").next_trading_day("2025-09-30")
        datetime.date(2025, 10, 9)
        """
        return self._shift(d, n, forward=True)

    def previous_trading_day(self, d: DateLike, n: int = 1) -> dt.date:
        """The ``n``-th trading day before ``d``.

        Examples
        --------
        >>> calendar("INE").previous_trading_day("2025-10-09")
        datetime.date(2025, 9, 30)
        """
        return self._shift(d, n, forward=False)

    def _shift(self, d: DateLike, n: int, *, forward: bool) -> dt.date:
        if not isinstance(n, int | np.integer) or isinstance(n, bool) or n < 0:
            raise InputError(f"n={n!r} must be a non-negative whole number of trading days")
        x = self._check(parse_date(d))
        if forward:
            i = int(np.searchsorted(self._days, x, side="right")) + n - 1
        else:
            i = int(np.searchsorted(self._days, x, side="left")) - n
        if n == 0:
            if not self.is_trading_day(d):
                raise NotTradingDay(f"{parse_date(d)} is not a {self.exchange} trading day")
            return parse_date(d)
        if not 0 <= i < self._days.size:
            raise CalendarOutOfBounds(
                f"{n} trading day(s) {'after' if forward else 'before'} {parse_date(d)} "
                f"falls outside the {self.exchange} calendar ({self._bounds[0]} to "
                f"{self._bounds[1]})"
            )
        return _from_ord(int(self._days[i]))

    def offset(self, d: DateLike, n: int) -> dt.date:
        """Trading day ``d`` moved by ``n`` trading days (negative = earlier).

        Examples
        --------
        >>> calendar("INE").offset("2025-04-30", -2)
        datetime.date(2025, 4, 28)
        """
        self.require_trading_day(d)
        if n >= 0:
            return self.next_trading_day(d, n) if n else parse_date(d)
        return self.previous_trading_day(d, -n)

    def require_trading_day(self, d: DateLike, name: str = "date") -> dt.date:
        """Return ``d`` as a date, raising :class:`NotTradingDay` when it is not a trading day.

        Examples
        --------
        >>> calendar("DCE").require_trading_day("2025-06-27")
        datetime.date(2025, 6, 27)
        """
        day = parse_date(d, name)
        if not self.is_trading_day(day):
            raise NotTradingDay(
                f"{name}={day.isoformat()} is not a {self.exchange} trading day "
                f"(weekend, holiday or make-up workday); the next one is "
                f"{self.next_trading_day(day).isoformat()}"
            )
        return day

    def trading_days_in_month(self, year: int, month: int) -> list[dt.date]:
        """All trading days of a calendar month.

        Examples
        --------
        >>> calendar("DCE").trading_days_in_month(2020, 9)[9]
        datetime.date(2020, 9, 14)
        """
        first = dt.date(year, month, 1)
        last = (first + dt.timedelta(days=32)).replace(day=1) - dt.timedelta(days=1)
        a = self._check(first, "month start")
        b = self._check(last, "month end")
        i, j = np.searchsorted(self._days, [a, b + 1])
        return [_from_ord(int(x)) for x in self._days[i:j]]

    # ------------------------------------------------------------------ sessions
    def _night_durations(self, prod: Product | None) -> np.ndarray:
        """Seconds of night trading (after 21:00) belonging to each trading day; 0 = none."""
        return _night_durations(self, prod.code if prod is not None else None)

    def _resolve_product(self, prod: str | Product | None) -> Product | None:
        if prod is None:
            return None
        p = prod if isinstance(prod, Product) else product(prod)
        if p.exchange != self.exchange:
            raise InputError(
                f"product {p.code!r} trades on {p.exchange}, not on {self.exchange}; "
                f"use calendar({p.exchange!r})"
            )
        return p

    def has_night_session(self, trading_day: DateLike, product: str | Product | None = None) -> bool:
        """True when trading day ``trading_day`` had a night session (the evening before).

        Parameters
        ----------
        trading_day : date or str
            A trading day.
        product : str or Product, optional
            Product; without one, whether any of the exchange's products traded at night.

        Examples
        --------
        >>> calendar("INE").has_night_session("2025-06-30", "sc")   # Friday 06-27 evening
        True
        >>> calendar("INE").has_night_session("2025-10-09", "sc")   # after National Day
        False
        """
        d = self.require_trading_day(trading_day, "trading_day")
        i = int(np.searchsorted(self._days, _ord(d)))
        return bool(self._night_durations(self._resolve_product(product))[i] > 0)

    def sessions(self, trading_day: DateLike, product: str | Product) -> pl.DataFrame:
        """Every session that belongs to ``trading_day``, as open/close datetimes (Beijing).

        Includes the previous evening's night session when there was one.

        Returns
        -------
        polars.DataFrame
            Columns ``session`` (``"night"`` or ``"day"``), ``open``, ``close``
            (naive ``Datetime``, Beijing time).

        Examples
        --------
        >>> s = calendar("INE").sessions("2025-06-30", "sc")   # a Monday
        >>> s["open"][0], s["close"][0]
        (datetime.datetime(2025, 6, 27, 21, 0), datetime.datetime(2025, 6, 28, 2, 30))
        """
        d = self.require_trading_day(trading_day, "trading_day")
        p = self._resolve_product(product)
        assert p is not None
        kinds: list[str] = []
        opens: list[dt.datetime] = []
        closes: list[dt.datetime] = []
        i = int(np.searchsorted(self._days, _ord(d)))
        dur = int(self._night_durations(p)[i])
        if dur > 0:
            prev = _from_ord(int(self._days[i - 1]))
            start = dt.datetime.combine(prev, dt.time(21, 0))
            kinds.append("night")
            opens.append(start)
            closes.append(start + dt.timedelta(seconds=dur))
        for s in p.sessions(d):
            if s.kind == "day":
                kinds.append("day")
                opens.append(dt.datetime.combine(d, s.open))
                closes.append(dt.datetime.combine(d, s.close))
        return pl.DataFrame(
            {"session": kinds, "open": opens, "close": closes},
            schema={"session": pl.String, "open": pl.Datetime("us"), "close": pl.Datetime("us")},
        )

    # ------------------------------------------------------------------ attribution
    @overload
    def trading_day_of(
        self,
        ts: dt.datetime,
        product: str | Product | None = None,
        *,
        on_error: Literal["raise", "null"] = "raise",
    ) -> dt.date: ...

    @overload
    def trading_day_of(
        self,
        ts: pl.Series,
        product: str | Product | None = None,
        *,
        on_error: Literal["raise", "null"] = "raise",
    ) -> pl.Series: ...

    def trading_day_of(
        self,
        ts: dt.datetime | pl.Series,
        product: str | Product | None = None,
        *,
        on_error: Literal["raise", "null"] = "raise",
    ) -> dt.date | pl.Series:
        """The trading day a timestamp belongs to.

        A night-session timestamp belongs to the next trading day (Friday night and the small
        hours of Saturday to Monday). The 5-minute call auctions before 09:00 and 21:00 belong
        to the session they open.

        Parameters
        ----------
        ts : datetime or polars.Series of Datetime
            Timestamp(s). Naive values are Beijing time; aware values are converted to
            Asia/Shanghai. A Series is processed vectorised.
        product : str or Product, optional
            Product whose sessions apply; without one, the exchange's longest sessions.
        on_error : {"raise", "null"}
            What to do with a timestamp in no session: raise :class:`NotInSession`, or
            return null for it (Series input only).

        Returns
        -------
        datetime.date or polars.Series of Date

        Examples
        --------
        >>> import datetime as dt
        >>> cal = calendar("INE")
        >>> cal.trading_day_of(dt.datetime(2025, 6, 27, 21, 30), "sc")   # Friday night
        datetime.date(2025, 6, 30)
        >>> cal.trading_day_of(dt.datetime(2025, 6, 28, 1, 0), "sc")     # Saturday 01:00
        datetime.date(2025, 6, 30)
        """
        if on_error not in ("raise", "null"):
            raise InputError(f"on_error={on_error!r}; accepted: 'raise', 'null'")
        p = self._resolve_product(product)
        if isinstance(ts, pl.Series):
            return self._trading_day_of_series(ts, p, on_error)
        if isinstance(ts, dt.datetime):
            if ts.tzinfo is not None:
                import zoneinfo

                ts = ts.astimezone(zoneinfo.ZoneInfo(_BEIJING)).replace(tzinfo=None)
            series = pl.Series("ts", [ts], dtype=pl.Datetime("us"))
            out = self._trading_day_of_series(series, p, "raise")
            value = out[0]
            assert isinstance(value, dt.date)
            return value
        raise InputError(
            f"ts={ts!r} must be a datetime.datetime or a polars Series of Datetime "
            "(a bare date has no session)"
        )

    def _trading_day_of_series(self, ts: pl.Series, p: Product | None, on_error: str) -> pl.Series:
        if not isinstance(ts.dtype, pl.Datetime):
            raise InputError(
                f"series {ts.name!r} has dtype {ts.dtype}; trading_day_of needs Datetime "
                "(naive = Beijing time, or time-zone aware)"
            )
        if ts.dtype.time_zone is not None:  # type: ignore[union-attr]
            ts = ts.dt.convert_time_zone(_BEIJING).dt.replace_time_zone(None)
        us = ts.cast(pl.Datetime("us")).cast(pl.Int64).to_numpy()
        nulls = ts.is_null().to_numpy()
        if nulls.any():
            raise InputError(
                f"series {ts.name!r} has a null at index {int(np.argmax(nulls))}; "
                "drop or fill missing timestamps first"
            )
        day = np.floor_divide(us, _DAY_US)
        sec = (us - day * _DAY_US) // 1_000_000
        lo, hi = _ord(self._bounds[0]), _ord(self._bounds[1])
        out_of_bounds = (day < lo) | (day > hi)
        if out_of_bounds.any():
            k = int(np.argmax(out_of_bounds))
            raise CalendarOutOfBounds(
                f"timestamp {ts[k]} at index {k} is outside the {self.exchange} calendar "
                f"({self._bounds[0]} to {self._bounds[1]})"
            )
        result, ok = _attribute(self, p, day, sec)
        if not ok.all():
            if on_error == "raise":
                k = int(np.argmax(~ok))
                raise NotInSession(
                    f"timestamp {ts[k]} (index {k}, {int((~ok).sum())} such row(s)) is in no "
                    f"{self.exchange} session"
                    + (f" of {p.code!r}" if p is not None else "")
                    + "; sessions are 20:55-night close, 08:55-10:15, 10:30-11:30, 13:30-15:00"
                )
            return (
                pl.Series("trading_day", result, dtype=pl.Int32).cast(pl.Date).set(pl.Series(~ok), None)  # type: ignore[arg-type]
            )
        return pl.Series("trading_day", result, dtype=pl.Int32).cast(pl.Date)


def _dense(cal: TradingCalendar) -> tuple[int, np.ndarray, np.ndarray]:
    """O(1) look-up tables over every calendar day in bounds.

    ``pos[d - lo]`` is the index of day ``d`` among trading days (-1 if not one);
    ``nxt[d - lo]`` is the index of the first trading day after ``d`` (n if none).
    """
    cached = cal.__dict__.get("_dense_cache")
    if cached is not None:
        return cached  # type: ignore[no-any-return]
    lo, hi = _ord(cal._bounds[0]), _ord(cal._bounds[1])
    span = np.arange(lo, hi + 1, dtype=np.int64)
    pos = np.full(span.size, -1, dtype=np.int64)
    pos[cal._days - lo] = np.arange(cal._days.size, dtype=np.int64)
    nxt = np.searchsorted(cal._days, span, side="right").astype(np.int64)
    out = (lo, pos, nxt)
    cal.__dict__["_dense_cache"] = out
    return out


def _attribute(
    cal: TradingCalendar, p: Product | None, day: np.ndarray, sec: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    days = cal._days
    dur = cal._night_durations(p)
    n = days.size
    lo, pos_t, nxt_t = _dense(cal)
    off = day - lo
    pos = pos_t[off]
    is_td = pos >= 0
    nxt = nxt_t[off]
    # evening part of a night session: D trading day, belongs to the next trading day
    evening = sec >= _NIGHT_OPEN_S - _AUCTION_S
    k_even = np.minimum(nxt, n - 1)
    ok_even = evening & is_td & (nxt < n) & (sec - _NIGHT_OPEN_S <= dur[k_even])
    # small hours: the night session started on the previous calendar day
    ppos = pos_t[np.maximum(off - 1, 0)]
    prev_td = (off >= 1) & (ppos >= 0)
    k_morn = np.minimum(ppos + 1, n - 1)
    morning = sec < 8 * 3600 + 55 * 60
    ok_morn = morning & prev_td & (ppos + 1 < n) & (sec + 86_400 - _NIGHT_OPEN_S <= dur[k_morn])
    # day sessions (with the 08:55 call auction)
    # day sessions (with the 08:55 call auction), on the grid in force on each date
    ok_day = np.zeros(day.shape, dtype=bool)
    rows = sorted(
        (r for r in load_toml("sessions.toml")["day"] if r["exchange"] in ("*", cal.exchange)),
        key=lambda r: r["effective"],
    )
    which = asof_index(np.array([_ord(r["effective"]) for r in rows], dtype=np.int64), day)
    for i, r in enumerate(rows):
        on_grid = np.zeros(day.shape, dtype=bool)
        for j, (a_txt, b_txt) in enumerate(r["sessions"]):
            a = _secs(dt.time.fromisoformat(a_txt)) - (_AUCTION_S if j == 0 else 0)
            on_grid |= (sec >= a) & (sec <= _secs(dt.time.fromisoformat(b_txt)))
        ok_day |= on_grid & (which == i)
    ok_day &= is_td & ~evening & ~morning
    result = np.where(ok_even, days[k_even], np.where(ok_morn, days[k_morn], day))
    return result.astype(np.int32), ok_even | ok_morn | ok_day


def _night_durations(cal: TradingCalendar, code: str | None) -> np.ndarray:
    cache: dict[str | None, np.ndarray] = cal.__dict__.setdefault("_dur_cache", {})
    if code in cache:
        return cache[code]
    prods = [product(code)] if code is not None else list(cal._products)
    days = cal._days
    dur = np.zeros(days.size, dtype=np.int64)
    for p in prods:
        rows = sorted(
            (r for r in load_toml("sessions.toml")["night"] if r["product"] == p.code),
            key=lambda r: r["effective"],
        )
        if not rows:
            continue
        lengths = []
        for r in rows:
            o = _secs(dt.time.fromisoformat(r["open"]))
            c = _secs(dt.time.fromisoformat(r["close"]))
            lengths.append(c - o if c > o else c + 86_400 - o)
        # the row in force on each trading day; across products the longest night
        i = asof_index(np.array([_ord(r["effective"]) for r in rows], dtype=np.int64), days)
        dur = np.maximum(dur, np.where(i >= 0, np.array([*lengths, 0], dtype=np.int64)[i], 0))
    dur = np.where(cal._night_base, dur, 0)
    cache[code] = dur
    return dur


@functools.cache
def _calendar(exchange: str) -> TradingCalendar:
    return TradingCalendar(exchange)


def calendar(exchange: str) -> TradingCalendar:
    """The trading calendar of ``exchange`` (``"INE"``, ``"SHFE"`` or ``"DCE"``, any case).

    Parameters
    ----------
    exchange : str
        Exchange name.

    Returns
    -------
    TradingCalendar

    Examples
    --------
    >>> cal = calendar("dce")
    >>> cal.trading_days("2024-01-01", "2024-12-31").len()
    242
    """
    key = exchange.strip().upper() if isinstance(exchange, str) else exchange
    if key not in EXCHANGES:
        raise UnknownExchange(f"unknown exchange {exchange!r}; accepted: {', '.join(EXCHANGES)}")
    return _calendar(key)
