"""Contracts: code parsing, last trading day, delivery period, listing, life stages.

Last-trading-day rules (``products.toml`` ``ltd_rule``):

* ``sc``, ``lu``: the last trading day of the month before the delivery month;
* ``i``: the 10th trading day of the delivery month;
* ``nr``, ``ru``, ``bc``: the 15th of the delivery month, or the next trading day when the
  15th is not one.

Exchanges may move a last trading day by notice (the Spring Festival month, for example);
such dates can be pinned with ``ltd_overrides`` in ``products.toml``.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from dataclasses import dataclass
from typing import Any

import polars as pl

from cnfutures._dates import DateLike, parse_date
from cnfutures.errors import CalendarOutOfBounds, UnknownContract, UnknownProduct
from cnfutures.market._data import load_toml
from cnfutures.market.calendar import TradingCalendar, calendar
from cnfutures.market.products import Product, product

__all__ = ["STAGES", "Contract", "contract", "listed_contracts", "listed_contracts_frame", "stage_schedule"]

_CODE = re.compile(r"^\s*([A-Za-z]{1,2})(\d{4})\s*$")

#: Every stage name a product may use, in life order.
STAGES: tuple[str, ...] = (
    "general",
    "second_month_before_delivery",
    "month_before_delivery",
    "month_before_delivery_day15",
    "delivery_month",
    "last_days",
    "delivery",
    "expired",
)


def _add_months(year: int, month: int, k: int) -> tuple[int, int]:
    m = year * 12 + (month - 1) + k
    return m // 12, m % 12 + 1


@dataclass(frozen=True)
class Contract:
    """One futures contract (product + delivery year and month).

    Attributes
    ----------
    product : Product
        The product specification.
    code : str
        Exchange-style code, e.g. ``"sc2505"``.
    year, month : int
        Delivery year and month.

    Examples
    --------
    >>> c = contract("SC2505")
    >>> c.code, c.last_trading_day
    ('sc2505', datetime.date(2025, 4, 30))
    """

    product: Product
    code: str
    year: int
    month: int

    def __repr__(self) -> str:
        return f"Contract({self.code!r})"

    def __str__(self) -> str:
        return self.code

    @property
    def calendar(self) -> TradingCalendar:
        """The trading calendar of the contract's exchange."""
        return calendar(self.product.exchange)

    @functools.cached_property
    def multiplier(self) -> float:
        """Contract size [unit/lot] of this contract (a product's size can change by contract).

        Examples
        --------
        >>> contract("ru1207").multiplier, contract("ru1208").multiplier  # SHFE SQBF [2011] No. 74
        (5.0, 10.0)
        """
        month = self.year * 12 + self.month
        for row in load_toml("products.toml")[self.product.code].get("contract_sizes", ()):
            last = contract(row["contract_to"])
            if month <= last.year * 12 + last.month:
                return float(row["value"])
        return self.product.multiplier

    @functools.cached_property
    def last_trading_day(self) -> dt.date:
        """Last trading day (LTD).

        Raises
        ------
        CalendarOutOfBounds
            When the date lies beyond the calendar's coverage.

        Examples
        --------
        >>> contract("i2009").last_trading_day   # DCE notice No. 347 [2020]
        datetime.date(2020, 9, 14)
        """
        overrides = load_toml("products.toml")[self.product.code].get("ltd_overrides", {})
        if self.code in overrides:
            return parse_date(overrides[self.code])
        rule = self.product.ltd_rule
        cal = self.calendar
        if rule == "last_trading_day_of_prior_month":
            y, m = _add_months(self.year, self.month, -1)
            days = cal.trading_days_in_month(y, m)
            return days[-1]
        if rule.startswith("nth_trading_day_of_month:"):
            n = int(rule.split(":")[1])
            days = cal.trading_days_in_month(self.year, self.month)
            return days[n - 1]
        if rule.startswith("calendar_day_or_next:"):
            d = dt.date(self.year, self.month, int(rule.split(":")[1]))
            return d if cal.is_trading_day(d) else cal.next_trading_day(d)
        raise UnknownProduct(f"product {self.product.code!r} has an unknown ltd_rule {rule!r}")

    @property
    def delivery_days(self) -> int:
        """Length of the delivery period after the LTD [trading days]."""
        until = self.product.delivery_days_until
        if until is not None and self.code <= until[0]:
            return until[1]
        return self.product.delivery_days

    @property
    def first_delivery_day(self) -> dt.date:
        """First trading day of the delivery period (the trading day after the LTD).

        Examples
        --------
        >>> contract("nr2504").first_delivery_day
        datetime.date(2025, 4, 16)
        """
        return self.calendar.next_trading_day(self.last_trading_day)

    @property
    def last_delivery_day(self) -> dt.date:
        """Last day of the delivery period.

        Examples
        --------
        >>> contract("nr2504").last_delivery_day
        datetime.date(2025, 4, 22)
        """
        return self.calendar.next_trading_day(self.last_trading_day, self.delivery_days)

    @functools.cached_property
    def first_trading_day(self) -> dt.date:
        """Listing day: the trading day after the same-month contract one cycle earlier expires.

        Monthly contracts list one year ahead; for ``sc`` the quarterly months (Mar, Jun,
        Sep, Dec) list three years ahead. Never before the product's listing date.

        Examples
        --------
        >>> contract("sc2903").first_trading_day   # after sc2603 expires (INE circular 2026-02-09)
        datetime.date(2026, 3, 2)
        """
        p = self.product
        years = p.listing_years_quarterly if self.month in (3, 6, 9, 12) else p.listing_years_monthly
        prev = Contract(
            p, f"{p.code}{(self.year - years) % 100:02d}{self.month:02d}", self.year - years, self.month
        )
        first = p.listed or self.calendar.bounds[0]
        try:
            listing = self.calendar.next_trading_day(prev.last_trading_day)
        except CalendarOutOfBounds:
            if prev.year * 12 + prev.month <= first.year * 12 + first.month + 1:
                listing = first
            else:
                raise
        if listing < first:
            listing = first
        if not self.calendar.is_trading_day(listing):
            listing = self.calendar.next_trading_day(listing)
        return listing

    def is_listed(self, on: DateLike) -> bool:
        """True when the contract trades on ``on`` (listing day to LTD inclusive).

        Examples
        --------
        >>> contract("sc2505").is_listed("2025-04-30"), contract("sc2505").is_listed("2025-05-06")
        (True, False)
        """
        d = parse_date(on, "on")
        if d < self.first_trading_day:
            return False
        return d <= self._ltd_or_far()

    def _ltd_or_far(self) -> dt.date:
        try:
            return self.last_trading_day
        except CalendarOutOfBounds:
            return dt.date.max  # beyond coverage, hence after any in-bounds date

    def stage_starts(self) -> dict[str, dt.date]:
        """Start date of each stage in the contract's life.

        Stages that start beyond the calendar's coverage are left out (they lie after any
        date the calendar can be asked about).

        Examples
        --------
        >>> {k: str(v) for k, v in contract("i2509").stage_starts().items()}["delivery_month"]
        '2025-09-01'
        """
        return dict(self._stage_starts)

    @functools.cached_property
    def _stage_starts(self) -> tuple[tuple[str, dt.date], ...]:
        cal = self.calendar
        out: dict[str, dt.date] = {"general": self.first_trading_day}
        spec = stage_schedule(self.product.code)
        try:
            for st in spec["stages"]:
                if st["anchor"] == "month":
                    y, m = _add_months(self.year, self.month, int(st["month_offset"]))
                    days = cal.trading_days_in_month(y, m)
                    # a month with fewer trading days than the anchor (February 2026 has 14)
                    # starts the stage on its last trading day (assumption; exchanges set such
                    # cases by notice)
                    out[st["name"]] = days[min(int(st["trading_day"]), len(days)) - 1]
                elif st["anchor"] == "ltd":
                    out[st["name"]] = cal.offset(self.last_trading_day, int(st["trading_days"]))
                else:  # pragma: no cover - data error
                    raise UnknownProduct(f"stages.toml: unknown anchor {st['anchor']!r}")
            out["delivery"] = self.first_delivery_day
            out["expired"] = cal.next_trading_day(self.last_delivery_day)
        except CalendarOutOfBounds:
            pass
        return tuple(sorted(out.items(), key=lambda kv: (kv[1], STAGES.index(kv[0]))))

    def stage(self, on: DateLike) -> str:
        """Life stage of the contract on trading day ``on``.

        One of :data:`STAGES`: ``"general"``, then the product's finer stages (for ``sc``:
        ``second_month_before_delivery``, ``month_before_delivery``, ``last_days``; for
        ``i``: ``month_before_delivery``, ``month_before_delivery_day15``,
        ``delivery_month``), then ``"delivery"`` after the LTD and ``"expired"``.

        Raises
        ------
        UnknownContract
            If ``on`` is before the contract was listed.

        Examples
        --------
        >>> c = contract("sc2505")
        >>> c.stage("2025-01-15"), c.stage("2025-04-01"), c.stage("2025-04-28")
        ('general', 'month_before_delivery', 'last_days')
        """
        d = parse_date(on, "on")
        starts = self._stage_starts
        if d < starts[0][1]:
            raise UnknownContract(f"{self.code} was not listed on {d}; it lists on {starts[0][1]}")
        current = "general"
        for name, start in starts:
            if start <= d:
                current = name
        return current


def stage_schedule(product_code: str) -> dict[str, Any]:
    """The product's life-stage schedule from ``stages.toml`` (``stages``, ``effective``, ``source``,
    ``verified``); an empty schedule for a product without one.

    Examples
    --------
    >>> s = stage_schedule("sc")
    >>> [st["name"] for st in s["stages"]], s["verified"]
    (['second_month_before_delivery', 'month_before_delivery', 'last_days'], False)
    """
    spec = load_toml("stages.toml").get(product_code)
    if spec is None:
        return {"stages": [], "effective": None, "source": "", "verified": True}
    missing = [k for k in ("stages", "effective", "source", "verified") if k not in spec]
    if missing:
        raise UnknownProduct(f"stages.toml: [{product_code}] lacks {', '.join(missing)}")
    return dict(spec)


def contract(code: str) -> Contract:
    """Parse a contract code (any case) into a :class:`Contract`.

    Parameters
    ----------
    code : str
        Product code followed by the delivery year and month as ``YYMM``
        (``"sc2505"``, ``"I2509"``, ``"nr2509"``, ``"ru2509"``).

    Returns
    -------
    Contract

    Raises
    ------
    UnknownContract
        Bad format, or a month the product does not list (``ru2502``: no February rubber).

    Examples
    --------
    >>> contract("RU2509").code
    'ru2509'
    >>> contract("i2601").last_trading_day
    datetime.date(2026, 1, 16)
    """
    if not isinstance(code, str):
        raise UnknownContract(f"contract code {code!r} must be a string such as 'sc2505'")
    return _contract(code)


@functools.cache
def _contract(code: str) -> Contract:
    """Parse a code; one shared instance per spelling, so the per-contract dates
    (last trading day, listing day, stage starts) are computed once per process."""
    m = _CODE.match(code)
    if m is None:
        raise UnknownContract(
            f"contract code {code!r} is not of the form <product><YYMM>, e.g. 'sc2505', 'i2509'"
        )
    try:
        p = product(m.group(1))
    except UnknownProduct as exc:
        raise UnknownContract(f"contract {code!r}: {exc}") from None
    yy, mm = int(m.group(2)[:2]), int(m.group(2)[2:])
    if not 1 <= mm <= 12 or mm not in p.months:
        raise UnknownContract(
            f"contract {code!r}: {p.code} lists no month {mm:02d}; listed months: "
            + ", ".join(f"{x:02d}" for x in p.months)
        )
    return Contract(p, f"{p.code}{yy:02d}{mm:02d}", 2000 + yy, mm)


def listed_contracts(product_code: str | Product, on: DateLike) -> list[Contract]:
    """Contracts of a product trading on ``on``, nearest expiry first.

    Parameters
    ----------
    product_code : str or Product
        Product.
    on : date or str
        A trading day.

    Examples
    --------
    >>> [c.code for c in listed_contracts("ru", "2025-06-16")][:4]
    ['ru2506', 'ru2507', 'ru2508', 'ru2509']
    >>> len(listed_contracts("sc", "2026-03-02"))   # 12 monthly + 8 quarterly
    20
    """
    p = product_code if isinstance(product_code, Product) else product(product_code)
    cal = calendar(p.exchange)
    d = cal.require_trading_day(on, "on")
    if p.listed is not None and d < p.listed:
        raise UnknownContract(f"product {p.code!r} was listed on {p.listed}; nothing traded on {d}")
    out: list[Contract] = []
    for k in range(-2, 12 * 4):
        y, m = _add_months(d.year, d.month, k)
        if m not in p.months:
            continue
        c = _contract(f"{p.code}{y % 100:02d}{m:02d}")
        if p.first_contract and c.code < p.first_contract and y < 2090:
            continue
        try:
            if c.is_listed(d):
                out.append(c)
        except CalendarOutOfBounds:
            continue
    return out


def listed_contracts_frame(product_code: str, start: DateLike, end: DateLike) -> pl.DataFrame:
    """One row per (trading day, listed contract) with its stage, over a date range.

    Returns
    -------
    polars.DataFrame
        Columns ``trading_day`` (Date), ``contract`` (str), ``last_trading_day`` (Date),
        ``stage`` (str).

    Examples
    --------
    >>> f = listed_contracts_frame("i", "2025-06-02", "2025-06-06")
    >>> f.height, f["contract"][0]
    (48, 'i2506')
    """
    p = product(product_code)
    cal = calendar(p.exchange)
    rows: dict[str, list[object]] = {"trading_day": [], "contract": [], "last_trading_day": [], "stage": []}
    for d in cal.trading_days(start, end).to_list():
        for c in listed_contracts(p, d):
            rows["trading_day"].append(d)
            rows["contract"].append(c.code)
            rows["last_trading_day"].append(c._ltd_or_far() if c._ltd_or_far() != dt.date.max else None)
            rows["stage"].append(c.stage(d))
    return pl.DataFrame(
        rows,
        schema={
            "trading_day": pl.Date,
            "contract": pl.String,
            "last_trading_day": pl.Date,
            "stage": pl.String,
        },
    )
