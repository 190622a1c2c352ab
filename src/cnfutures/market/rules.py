"""Dated rule parameters: margin rates, price limits, fees, position and opening limits.

Every value comes from one dated rule table (:mod:`cnfutures.market.ruletable`, the rows of
``market/data/rules.toml`` plus any user rows): each row has a product, an ``effective`` day
with its timing convention ("from the settlement of X" or "from trading day X"), an optional
``until`` (a date, or the holiday ``"reopen"`` rule), a scope (contracts, stage, hedge flag,
holder), the value, a ``source`` and a ``verified`` flag. The scalar look-ups here and the
per-day arrays of :meth:`RuleBook.day_rules` (what the backtest, Monte Carlo risk, sweeps and
the simulator consume) read the same compiled table.

A user overrides any value without editing the package: ``RuleBook.default()
.with_override("margin", "sc", 0.15, effective="2025-01-02")``,
``RuleBook.default().with_file("my_broker.toml")`` (same layout as the bundled file) or
``.with_frame(frame)``, and passes ``book=`` to the look-ups.
"""

from __future__ import annotations

import datetime as dt
import functools
import math
import threading
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import MappingProxyType
from typing import Any, Literal

import numpy as np
import polars as pl

from cnfutures._dates import DateLike, parse_date
from cnfutures.errors import CalendarOutOfBounds, InputError, RuleNotFound, UnknownContract
from cnfutures.market.contracts import STAGES, Contract, contract, stage_schedule
from cnfutures.market.ruletable import _FAR as _FAR_ORD
from cnfutures.market.ruletable import FEE_FIELDS, FEE_PARAMETERS, PARAMETERS, Cells, Compiled, RuleTable
from cnfutures.market.ruletable import _ordinals as _day_ordinals

__all__ = [
    "PARAMETERS",
    "DayRules",
    "Fee",
    "PriceLimit",
    "RuleBook",
    "RuleTable",
    "RuleValue",
    "fee",
    "first_day_limit_multiplier",
    "limit_band",
    "margin_rate",
    "max_order",
    "open_limit",
    "position_limit",
    "price_limit",
]

@dataclass(frozen=True)
class RuleValue:
    """A rule value in force, with where it came from.

    Attributes
    ----------
    parameter : str
        ``"margin"``, ``"price_limit"``, ``"position_limit"``, ``"open_limit"`` or
        ``"max_order"``.
    value : float
        The value [decimal fraction for rates, lots for limits].
    effective : datetime.date
        Effective date of the deciding row.
    sources : tuple of str
        Source of every row that entered the decision.
    verified : bool
        False when any row that entered the decision is unverified.
    scope : str
        ``"product"``, ``"stage:<name>"`` or ``"contract:<code>"`` of the deciding row.
    """

    parameter: str
    value: float
    effective: dt.date
    sources: tuple[str, ...]
    verified: bool
    scope: str

    def __float__(self) -> float:
        return float(self.value)


@dataclass(frozen=True)
class Fee:
    """Exchange fee schedule in force for a contract.

    Attributes
    ----------
    basis : {"per_lot", "per_turnover"}
        CNY per lot, or a fraction of traded value.
    open, close, close_today : float
        Rate for opening, closing an older position, and closing a position opened the same
        trading day [CNY/lot or fraction of turnover].
    effective : datetime.date
    source : str
    verified : bool
    """

    basis: str
    open: float
    close: float
    close_today: float
    effective: dt.date
    source: str
    verified: bool

    def amount(
        self,
        lots: float,
        price: float,
        multiplier: float,
        action: Literal["open", "close", "close_today"] = "open",
    ) -> float:
        """Fee for a trade [CNY]; always non-negative (uses the absolute lots and value).

        Parameters
        ----------
        lots : float
            Lots traded (sign ignored).
        price : float
            Trade price [CNY/unit].
        multiplier : float
            Contract size [unit/lot].
        action : {"open", "close", "close_today"}

        Examples
        --------
        >>> fee("sc2505", "2025-03-03").amount(10, 550.0, 1000.0)
        200.0
        """
        rate = {"open": self.open, "close": self.close, "close_today": self.close_today}[action]
        if self.basis == "per_lot":
            return abs(lots) * rate
        return abs(lots * price * multiplier) * rate


@dataclass(frozen=True)
class PriceLimit:
    """Daily price limit of a contract.

    Attributes
    ----------
    rate : float
        Limit as a fraction of the previous settlement (already doubled on a first day).
    first_day : bool
        True on the contract's first trading day (limit multiplied).
    upper, lower : float or None
        Limit-up and limit-down prices [CNY/unit], rounded inward to the tick, when
        ``prev_settle`` was given.
    rule : RuleValue
        The rate rule behind it.
    """

    rate: float
    first_day: bool
    upper: float | None
    lower: float | None
    rule: RuleValue


def limit_band(prev_settle: Any, rate: Any, tick: float) -> tuple[np.ndarray, np.ndarray]:
    """Limit-up and limit-down prices around the previous settlement, inside the band on the tick grid.

    ``prev × (1 ± rate)`` (``|prev|`` for the width, so a negative settlement works), the
    upper price rounded down and the lower rounded up to the tick. The one home of the band:
    the scalar :meth:`RuleBook.price_limit`, the backtest and the simulator all call it.

    Parameters
    ----------
    prev_settle : float or array [CNY/unit]
    rate : float or array [fraction of the previous settlement]
    tick : float [CNY/unit]

    Returns
    -------
    (upper, lower) : numpy arrays [CNY/unit]

    Examples
    --------
    >>> up, dn = limit_band([714.0], [0.09], 0.5)
    >>> float(up[0]), float(dn[0])
    (778.0, 650.0)
    """
    prev = np.asarray(prev_settle, dtype=np.float64)
    r = np.asarray(rate, dtype=np.float64)
    width = np.abs(prev) * r
    q_up = (prev + width) / tick
    q_dn = (prev - width) / tick
    n_up = np.floor(q_up + 1e-9)
    n_dn = np.ceil(q_dn - 1e-9)
    if tick < 1.0:  # exact decimal ticks (0.1, 0.5): divide by the inverse, not multiply by the tick
        inv = round(1.0 / tick)
        if abs(inv * tick - 1.0) < 1e-12:
            return n_up / inv, n_dn / inv
    return n_up * tick, n_dn * tick


def _frozen(arr: np.ndarray) -> np.ndarray:
    arr.setflags(write=False)
    return arr


def _nbytes(dr: DayRules) -> int:
    """Memory [bytes] held by a DayRules: its per-cell arrays, cells and the ``[K, D]`` views built so far."""
    c = dr.cells
    arrays = [*dr.per_cell.values(), *dr.verified.values(), c.days, c.k, c.d, c.day, c.month, c.stage]
    arrays += [v for v in vars(dr).values() if isinstance(v, np.ndarray)]
    return sum(a.nbytes for a in arrays) + 8 * c.code_of.size


_DAY_FIELDS = (
    "margin", "limit_rate", "position_limit", "open_limit", "max_order", "fee_open_lot", "fee_open_rate",
    "fee_close_lot", "fee_close_rate", "fee_close_today_lot", "fee_close_today_rate",
)  # fmt: skip


@dataclass(frozen=True)
class DayRules:
    """Every rule of one product compiled per (contract, trading day), once.

    Built by :meth:`RuleBook.day_rules`; the backtest kernel, Monte Carlo risk, sweeps and the
    simulator consume it. Values are stored per live cell (``cells``: a contract between its
    listing day and last trading day) in ``per_cell``; each attribute below is the ``[K, D]``
    view (contracts × days, NaN where the contract does not trade), built on first access.

    Attributes
    ----------
    margin : margin rate [fraction of contract value]
    limit_rate : price-limit rate [fraction], the first-day multiplier applied
    first_day : bool, the contract's first trading day
    position_limit, open_limit, max_order : [lots] (inf where no limit applies)
    fee_open_lot, fee_close_lot, fee_close_today_lot : [CNY/lot]
    fee_open_rate, fee_close_rate, fee_close_today_rate : [fraction of turnover]
    verified : mapping of parameter -> ``[K, D]`` bool, False where an unverified row entered

    Every array is read-only (``DayRules`` from :meth:`RuleBook.day_rules` are shared through
    the book's memo); copy one to change it.
    """

    cells: Cells = field(repr=False)
    per_cell: Mapping[str, np.ndarray] = field(repr=False)
    verified: Mapping[str, np.ndarray] = field(repr=False)

    def __post_init__(self) -> None:
        # read-only arrays behind read-only mappings: one DayRules is shared by every caller
        # that hits the memo of RuleBook.day_rules, so none may change what the next one reads
        c = self.cells
        for arr in (c.days, c.k, c.d, c.day, c.month, c.stage, c.code_of):
            arr.setflags(write=False)
        for name in ("per_cell", "verified"):
            frozen = {key: _frozen(arr) for key, arr in getattr(self, name).items()}
            object.__setattr__(self, name, MappingProxyType(frozen))

    def __reduce__(self) -> tuple[Any, ...]:  # a mapping proxy does not pickle; the dicts do
        return (DayRules, (self.cells, dict(self.per_cell), dict(self.verified)))

    @property
    def contracts(self) -> tuple[str, ...]:
        """Axis 0."""
        return self.cells.codes

    @property
    def days(self) -> np.ndarray:
        """Axis 1: trading-day ordinals [days since 1970-01-01]."""
        return self.cells.days

    def dense(self, name: str) -> np.ndarray:
        """The ``[K, D]`` array of one field (NaN where the contract does not trade)."""
        v = self.per_cell[name]
        return self.cells.dense(v, False if v.dtype == bool else math.nan)

    def __getattr__(self, name: str) -> np.ndarray:
        if name in _DAY_FIELDS or name == "first_day":
            arr = self.dense(name)
            arr.setflags(write=False)  # shared through the memo of RuleBook.day_rules
            object.__setattr__(self, name, arr)  # cached on the instance
            return arr
        raise AttributeError(name)


_TABLE_PARAMETERS = ("margin", "price_limit", "position_limit", "open_limit", "max_order")

DAY_RULES_MEMO_SIZE = 32
"""Compiled :class:`DayRules` each :class:`RuleBook` keeps (least recently used dropped first)."""

DAY_RULES_MEMO_BYTES = 128 * 2**20
"""Memory [bytes] the kept :class:`DayRules` of one book may hold, their ``[K, D]`` views
included (least recently used dropped first; the newest is always kept). An 8-year sc
backtest's rules take about 21 MB."""

_MEMO_LOCK = threading.Lock()


@dataclass(frozen=True)
class RuleBook:
    """The dated rule table with the look-ups users call (the bundled data plus any overrides).

    Every look-up, scalar or vectorised, reads the same compiled
    :class:`~cnfutures.market.ruletable.RuleTable`; see that module for the row fields,
    timing conventions and resolution.

    Examples
    --------
    >>> book = RuleBook.default().with_override("margin", "sc", 0.15, effective="2025-05-06",
    ...                                         timing="trading_day")
    >>> book.margin_rate("sc2509", "2025-06-03").value
    0.15
    """

    rules: RuleTable = field(repr=False)
    _memo: OrderedDict[tuple[Any, ...], DayRules] = field(
        default_factory=OrderedDict, init=False, repr=False, compare=False
    )

    def __getstate__(self) -> dict[str, Any]:  # a copy or a pickled book starts with an empty memo
        return {"rules": self.rules, "_memo": OrderedDict()}

    # ------------------------------------------------------------------ construction
    @classmethod
    def default(cls) -> RuleBook:
        """The bundled rule data (``market/data/rules.toml``)."""
        return _default_book()

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RuleBook:
        """A book of only the rows of a ``rules.toml``-shaped mapping (the bundled conventions).

        Examples
        --------
        >>> RuleBook.from_dict({"margin": [{"product": "sc", "effective": "2025-01-02",
        ...     "timing": "trading_day", "value": 0.1, "source": "me", "verified": True}]}).margin_rate(
        ...     "sc2505", "2025-01-02").value
        0.1
        """
        conv = data.get("conventions") or RuleTable.default().conventions
        return cls(RuleTable.from_dict(data, origin="from_dict", conventions=conv))

    def with_file(self, path: str | Path) -> RuleBook:
        """A new book with the rows of a user TOML file layered over this one.

        Same layout as the bundled ``rules.toml`` (its ``[conventions]`` apply). A user row in
        the same slot (scope, qualifiers, effective day) as a bundled row replaces it; any
        other overlap, an unknown field, a missing source, an ``until`` before ``effective``
        or a contract that never existed is an :class:`~cnfutures.errors.InputError` naming the
        file and row.
        """
        extra = RuleTable.from_file(path, conventions=self.rules.conventions)
        return RuleBook(self.rules.layered(extra))

    def with_frame(self, frame: pl.DataFrame) -> RuleBook:
        """A new book with the rows of a polars frame layered over this one (see :meth:`with_file`).

        Examples
        --------
        >>> f = pl.DataFrame({"parameter": ["margin"], "product": ["sc"], "effective": ["2025-05-06"],
        ...                   "timing": ["trading_day"], "value": [0.3], "source": ["broker"],
        ...                   "verified": [True]})
        >>> RuleBook.default().with_frame(f).margin_rate("sc2509", "2025-06-03").value
        0.3
        """
        extra = RuleTable.from_frame(frame, origin="frame", conventions=self.rules.conventions)
        return RuleBook(self.rules.layered(extra))

    def with_override(
        self,
        parameter: str,
        product: str,
        value: float | None = None,
        *,
        effective: DateLike,
        timing: str = "trading_day",
        until: DateLike | None = None,
        contracts: list[str] | None = None,
        stage: str | None = None,
        hedge: bool | None = None,
        holder: str | None = None,
        source: str = "user override",
        verified: bool = True,
        **fee_fields: Any,
    ) -> RuleBook:
        """A new book with one more row (e.g. a futures firm's own margin, a new circular).

        Parameters
        ----------
        parameter : str
            One of :data:`PARAMETERS`.
        product : str
            Product code.
        value : float, optional
            The value (not used for ``"fee"`` and ``"option_fee"``, which take ``basis``,
            ``open``, ``close``, ``close_today`` keywords, and ``exercise`` for options).
        effective : date or str
            The day the row starts; with ``timing="trading_day"`` (default here) the first
            trading day it applies, with ``"settlement"`` the day of the settlement it is
            announced for.
        timing : {"trading_day", "settlement"}
        until : date or str, optional
            When the row stops (same convention), or ``"reopen"`` (holiday revert rule).
        contracts, stage, hedge, holder : optional
            Narrow the row's scope.
        source : str
            Where the value comes from.
        verified : bool
            Whether the value is confirmed.

        Examples
        --------
        >>> b = RuleBook.default().with_override(
        ...     "fee", "sc", effective="2025-01-02", basis="per_lot", open=25.0, close=25.0,
        ...     close_today=25.0)
        >>> b.fee("sc2505", "2025-02-05").open
        25.0
        """
        row: dict[str, Any] = {
            "product": product,
            "effective": effective,
            "timing": timing,
            "source": source,
            "verified": verified,
        }
        if parameter not in PARAMETERS:
            raise InputError(f"unknown rule parameter {parameter!r}; accepted: {', '.join(PARAMETERS)}")
        if parameter not in FEE_PARAMETERS:
            if value is None:
                raise InputError(f"with_override({parameter!r}) needs a value")
            row["value"] = value
        row.update(fee_fields)
        for key, v in (("until", until), ("contracts", contracts), ("stage", stage), ("hedge", hedge),
                       ("holder", holder)):  # fmt: skip
            if v is not None:
                row[key] = v
        extra = RuleTable.from_dict(
            {parameter: [row]}, origin="with_override", conventions=self.rules.conventions
        )
        return RuleBook(self.rules.layered(extra))

    # ------------------------------------------------------------------ look-ups
    def frame(self, parameter: str) -> pl.DataFrame:
        """All rows of one parameter as a polars frame (for inspection and docs).

        Examples
        --------
        >>> RuleBook.default().frame("margin").filter(pl.col("product") == "sc").height > 3
        True
        """
        rows = self.rules.rows_of(parameter)
        return pl.DataFrame(
            [
                {
                    "product": r.product, "effective": r.effective, "timing": r.timing,
                    "applies_from": _from_ord(r.start),
                    "applies_until": None if r.stop >= _FAR_ORD else _from_ord(r.stop - 1),
                    "until": None if r.until is None else str(r.until), "scope": r.scope,
                    "hedge": r.hedge, "holder": r.holder, "value": r.value,
                    "basis": r.fee[0] if r.fee else None, "source": r.source, "verified": r.verified,
                    "note": r.note,
                }
                for r in rows
            ],
            infer_schema_length=None,
        )  # fmt: skip

    def _compile_one(
        self, parameter: str, c: Contract, d: dt.date, *, hedge: bool = False, holder: str = "client"
    ) -> tuple[Compiled, int]:
        """Compile one (contract, day) cell; check the day is a trading day of a listed contract."""
        d = c.calendar.require_trading_day(d, "on")
        if d < c.first_trading_day:
            raise UnknownContract(f"{c.code} was not listed on {d}; it lists on {c.first_trading_day}")
        try:
            ltd: dt.date | None = c.last_trading_day
        except CalendarOutOfBounds:  # expires beyond the calendar: trades on every in-bounds day
            ltd = None
        if ltd is not None and d > ltd:
            raise UnknownContract(
                f"{c.code} stopped trading on {ltd} (its last trading day); no {parameter} rule applies "
                f"on {d}"
            )
        comp = self.rules.compile(parameter, [c.code], [d], hedge=hedge, holder=holder)
        i = int(comp.row[0, 0])
        if i < 0:
            raise RuleNotFound(
                f"no {parameter} rule for {c.code} on {d} (hedge={hedge}); the rule data has none for "
                f"that product and date: add one with RuleBook.with_override({parameter!r}, "
                f"{c.product.code!r}, value, effective=...)"
            )
        return comp, i

    def _value(
        self,
        parameter: str,
        contract_code: str | Contract,
        on: DateLike,
        *,
        hedge: bool = False,
        holder: str = "client",
    ) -> RuleValue:
        c = contract_code if isinstance(contract_code, Contract) else contract(contract_code)
        comp, i = self._compile_one(parameter, c, parse_date(on, "on"), hedge=hedge, holder=holder)
        row = comp.rows[i]
        entered = [comp.rows[j] for j in comp.used[:, 0, 0] if j >= 0]
        sources = [r.source for r in entered]
        verified = bool(comp.verified[0, 0])
        if any(r.stage is not None for r in entered):  # the stage schedule entered the decision too
            sched = stage_schedule(c.product.code)
            sources.append(f"stage schedule: {sched['source']}")
            verified = verified and bool(sched["verified"])
        return RuleValue(
            parameter=parameter,
            value=float(comp.value[0, 0]),
            effective=row.effective,
            sources=tuple(dict.fromkeys(sources)),
            verified=verified,
            scope=row.scope,
        )

    def margin_rate(self, contract_code: str | Contract, on: DateLike, hedge: bool = False) -> RuleValue:
        """Exchange margin rate [fraction of contract value] charged at the settlement of ``on``.

        Examples
        --------
        >>> RuleBook.default().margin_rate("sc2509", "2025-06-03").value
        0.11
        >>> RuleBook.default().margin_rate("sc2509", "2025-08-28").value  # 2nd day before LTD
        0.2
        """
        return self._value("margin", contract_code, on, hedge=hedge)

    def first_day_limit_multiplier(self, contract_code: str | Contract, on: DateLike | None = None) -> float:
        """Multiplier of the price limit on a contract's first trading day (dated rows).

        Raises
        ------
        RuleNotFound
            No row for the product on that day: never a silent 1.0.

        Examples
        --------
        >>> RuleBook.default().first_day_limit_multiplier("sc2509")
        2.0
        """
        c = contract_code if isinstance(contract_code, Contract) else contract(contract_code)
        d = c.first_trading_day if on is None else parse_date(on, "on")
        return self._value("first_day_limit_multiplier", c, d).value

    def price_limit(
        self, contract_code: str | Contract, on: DateLike, prev_settle: float | None = None
    ) -> PriceLimit:
        """Daily price limit on trading day ``on``, and the band around ``prev_settle`` on the tick.

        The band is ``prev_settle × (1 ± rate)`` with the upper limit rounded down and the
        lower rounded up to the tick (inside the band, :func:`limit_band`). On a contract's
        first trading day the rate is multiplied (doubled at INE and DCE). A change announced
        "from the settlement of X" applies from the trading day after X.

        Examples
        --------
        >>> pl_ = RuleBook.default().price_limit("sc2509", "2025-06-03", prev_settle=480.3)
        >>> pl_.rate, pl_.upper, pl_.lower
        (0.09, 523.5, 437.1)
        """
        c = contract_code if isinstance(contract_code, Contract) else contract(contract_code)
        rule = self._value("price_limit", c, on)
        first = parse_date(on) == c.first_trading_day
        rate = rule.value
        if first:  # the multiplier's row enters the decision: its source and verified flag too
            mult = self._value("first_day_limit_multiplier", c, on)
            rate *= mult.value
            rule = replace(
                rule, sources=rule.sources + mult.sources, verified=rule.verified and mult.verified
            )
        upper = lower = None
        if prev_settle is not None:
            if not math.isfinite(prev_settle):
                raise InputError(f"prev_settle={prev_settle!r} must be a finite price")
            up, dn = limit_band(prev_settle, rate, c.product.tick)
            upper, lower = float(up), float(dn)
        return PriceLimit(rate=rate, first_day=first, upper=upper, lower=lower, rule=rule)

    def fee(self, contract_code: str | Contract, on: DateLike) -> Fee:
        """Exchange fee schedule in force on ``on``.

        Examples
        --------
        >>> f = RuleBook.default().fee("nr2509", "2025-06-03")
        >>> f.basis, f.open, f.close_today
        ('per_turnover', 2e-05, 0.0)
        """
        c = contract_code if isinstance(contract_code, Contract) else contract(contract_code)
        comp, i = self._compile_one("fee", c, parse_date(on, "on"))
        row = comp.rows[i]
        assert row.fee is not None
        return Fee(
            basis=row.fee[0],
            open=row.fee[1],
            close=row.fee[2],
            close_today=row.fee[3],
            effective=row.effective,
            source=row.source,
            verified=row.verified,
        )

    def position_limit(
        self,
        contract_code: str | Contract,
        on: DateLike,
        *,
        holder: str = "client",
        open_interest: float | None = None,
    ) -> RuleValue:
        """Speculative position limit [lots, one side] for the contract's stage on ``on``.

        Parameters
        ----------
        holder : {"client", "individual"}
            Individuals may face stricter limits (0 lots in the DCE delivery month).
        open_interest : float, optional
            One-side open interest [lots]; where the rule is a fraction of open interest
            above a threshold (DCE ``i``), the larger of the two applies.

        Examples
        --------
        >>> RuleBook.default().position_limit("sc2505", "2025-04-07").value
        500.0
        >>> RuleBook.default().position_limit("i2509", "2025-09-02", holder="individual").value
        0.0
        """
        c = contract_code if isinstance(contract_code, Contract) else contract(contract_code)
        rv = self._value("position_limit", c, on, holder=holder)
        comp, i = self._compile_one("position_limit", c, parse_date(on, "on"), holder=holder)
        r = comp.rows[i]
        frac = r.get("oi_fraction")
        if frac is not None and open_interest is not None and open_interest > r.get("oi_threshold", 0):
            return replace(rv, value=max(rv.value, math.floor(frac * open_interest)))
        return rv

    def open_limit(self, contract_code: str | Contract, on: DateLike) -> RuleValue:
        """Daily opening limit [lots per contract per day] (hedging is exempt).

        Examples
        --------
        >>> RuleBook.default().open_limit("sc2509", "2025-06-03").value
        3200.0
        """
        return self._value("open_limit", contract_code, on)

    def max_order(self, contract_code: str | Contract, on: DateLike) -> RuleValue:
        """Maximum order size [lots].

        Examples
        --------
        >>> RuleBook.default().max_order("sc2509", "2025-06-03").value
        500.0
        """
        return self._value("max_order", contract_code, on)

    # ------------------------------------------------------------------ compiled arrays
    def day_rules(
        self,
        contracts: list[str] | tuple[str, ...],
        days: pl.Series | np.ndarray | list[Any],
        *,
        hedge: bool = False,
        holder: str = "client",
        fees: bool = True,
        locked: np.ndarray | None = None,
    ) -> DayRules:
        """Compile every rule of one product for contracts × trading days, once.

        Parameters
        ----------
        contracts : list of str
            Contract codes of one product (axis 0).
        days : pl.Series of Date, int64 ordinals or dates
            Trading days, ascending (axis 1).
        hedge, holder
            The position's hedge flag and holder type.
        fees : bool
            Compile fees (False: fee arrays are zero).
        locked : numpy.ndarray of bool, optional
            Per day: the product's most-active contract closed one-direction limit-locked;
            holiday rows (``until = "reopen"``) then end after the first unlocked day after
            reopening (see :meth:`RuleTable.compile`).

        Returns
        -------
        DayRules

        Raises
        ------
        RuleNotFound
            A first trading day with no first-day multiplier row.

        Notes
        -----
        The result is memoised on this book (at most :data:`DAY_RULES_MEMO_SIZE` results and
        :data:`DAY_RULES_MEMO_BYTES` of memory, the least recently used dropped first), keyed
        by everything it depends on: the contracts, the days, ``hedge``, ``holder``, ``fees``,
        the content of ``locked`` and the table's conventions; the rows are the book's own
        (a book is immutable, and
        :meth:`with_override`, :meth:`with_file` and :meth:`with_frame` return a new book with
        an empty memo). A repeated call returns the same :class:`DayRules`, whose arrays are
        read-only; copy one to change it.

        Examples
        --------
        >>> r = RuleBook.default().day_rules(["i2509"], ["2025-06-03"])
        >>> float(r.margin[0, 0]), float(r.limit_rate[0, 0])
        (0.11, 0.09)
        """
        if days is None:
            raise InputError("day_rules() needs days")
        day_ord = _day_ordinals(days)  # a private copy: the memo's key and the cells' axis
        la = None if locked is None else np.asarray(locked)
        lk = None if la is None else (la.dtype.str, la.shape, la.tobytes())
        key = (
            tuple(str(c) for c in contracts), day_ord.tobytes(), bool(hedge), str(holder), bool(fees), lk,
            repr(self.rules.conventions),  # a plain dict: a change to it must not hit an old entry
        )
        with _MEMO_LOCK:
            hit = self._memo.get(key)
            if hit is not None:
                self._memo.move_to_end(key)
                return hit
        out = self._compile_day_rules(
            contracts, day_ord, hedge=hedge, holder=holder, fees=fees, locked=locked
        )
        with _MEMO_LOCK:
            self._memo[key] = out
            self._memo.move_to_end(key)
            while len(self._memo) > DAY_RULES_MEMO_SIZE or (
                len(self._memo) > 1 and sum(map(_nbytes, self._memo.values())) > DAY_RULES_MEMO_BYTES
            ):
                self._memo.popitem(last=False)
        return out

    def _compile_day_rules(
        self,
        contracts: list[str] | tuple[str, ...],
        days: np.ndarray,
        *,
        hedge: bool,
        holder: str,
        fees: bool,
        locked: np.ndarray | None,
    ) -> DayRules:
        """The uncached body of :meth:`day_rules` (every array of the result read-only)."""
        cells = Cells.build(contracts, days)
        comp = {
            par: self.rules.compile(par, cells, hedge=hedge, holder=holder, locked=locked)
            for par in (*_TABLE_PARAMETERS, "first_day_limit_multiplier")
        }
        epoch = dt.date(1970, 1, 1)
        firsts = np.array([(contract(c).first_trading_day - epoch).days for c in cells.codes], dtype=np.int64)
        first_day = cells.day == firsts[cells.k]
        mult = comp["first_day_limit_multiplier"]
        missing = first_day & (mult.cell_row < 0)
        if missing.any():
            i = int(np.argmax(missing))
            raise RuleNotFound(
                f"no first_day_limit_multiplier rule for {cells.code_of[i]} on its first trading day "
                f"{_from_ord(cells.day[i])}; add one with "
                "RuleBook.with_override('first_day_limit_multiplier', ...)"
            )
        per: dict[str, np.ndarray] = {
            "margin": comp["margin"].cell_value,
            "limit_rate": comp["price_limit"].cell_value
            * np.where(first_day, np.nan_to_num(mult.cell_value, nan=1.0), 1.0),
            "first_day": first_day,
        }
        for par in ("position_limit", "open_limit", "max_order"):  # no row: no limit
            per[par] = np.nan_to_num(comp[par].cell_value, nan=math.inf, posinf=math.inf)
        verified = {par: comp[par].verified for par in _TABLE_PARAMETERS}
        n = cells.k.size
        if fees:
            fc = self.rules.compile("fee", cells, hedge=hedge, holder=holder, locked=locked)
            per_lot = fc.field("per_lot")
            none = np.where(fc.cell_row >= 0, 0.0, math.nan)  # NaN where no fee row is in force
            for name in FEE_FIELDS:
                v = fc.field(name)
                per[f"fee_{name}_lot"] = np.where(per_lot, v, none)
                per[f"fee_{name}_rate"] = np.where(per_lot, none, v)
            verified["fee"] = fc.verified
        else:
            for name in FEE_FIELDS:
                per[f"fee_{name}_lot"] = per[f"fee_{name}_rate"] = np.zeros(n)
        return DayRules(cells, per, verified)  # read-only arrays (DayRules.__post_init__)

    def limit_rates(self, frame: pl.DataFrame) -> pl.Series:
        """The price-limit rate of every (trading_day, contract) row, first-day multiplier applied.

        Null where the contract does not trade that day or no rule is in force. Compiles
        :meth:`day_rules` once per product over the frame's contracts and days.

        Examples
        --------
        >>> import datetime as dt
        >>> f = pl.DataFrame({"trading_day": [dt.date(2025, 6, 3), dt.date(2025, 7, 1)],
        ...                   "contract": ["i2509", "sc2607"]})  # sc2607 lists on 2025-07-01
        >>> RuleBook.default().limit_rates(f).to_list()
        [0.09, 0.18]
        """
        missing = {"trading_day", "contract"} - set(frame.columns)
        if missing:
            raise InputError(f"frame lacks column(s) {sorted(missing)}; it needs trading_day and contract")
        n = frame.height
        out = np.full(n, math.nan)
        codes = frame["contract"].cast(pl.String).to_list()
        canon = {c: contract(c) for c in set(codes)}
        days_all = frame["trading_day"].cast(pl.Date).to_physical().to_numpy().astype(np.int64)
        prod_of = np.array([canon[c].product.code for c in codes], dtype=object)
        code_of = np.array([canon[c].code for c in codes], dtype=object)
        for prod in sorted(set(prod_of.tolist())):
            sel = prod_of == prod
            ks = sorted(set(code_of[sel].tolist()))
            ds = np.unique(days_all[sel])
            dr = self.day_rules(ks, ds, fees=False)
            kpos = {c: i for i, c in enumerate(dr.contracts)}
            ki = np.array([kpos[c] for c in code_of[sel]], dtype=np.int64)
            out[sel] = dr.limit_rate[ki, np.searchsorted(ds, days_all[sel])]
        return pl.Series("limit_rate", out).fill_nan(None)

    # ------------------------------------------------------------------ vectorised frames
    def table(
        self,
        parameter: str,
        frame: pl.DataFrame,
        *,
        hedge: bool = False,
        holder: str = "client",
    ) -> pl.DataFrame:
        """Look a parameter up for every row of a (trading_day, contract) frame at once.

        Parameters
        ----------
        parameter : {"margin", "price_limit", "position_limit", "open_limit", "max_order"}
        frame : polars.DataFrame
            Columns ``trading_day`` (Date) and ``contract`` (str).

        Returns
        -------
        polars.DataFrame
            ``frame`` with ``stage``, ``value`` (null where no rule is in force) and
            ``verified`` columns added, in the input order.

        Examples
        --------
        >>> import datetime as dt
        >>> f = pl.DataFrame({"trading_day": [dt.date(2025, 6, 3), dt.date(2025, 8, 28)],
        ...                   "contract": ["sc2509", "sc2509"]})
        >>> RuleBook.default().table("margin", f)["value"].to_list()
        [0.11, 0.2]
        """
        out = self.tables((parameter,), frame, hedge=hedge, holder=holder)
        return frame.with_columns(
            out["stage"], out[parameter].alias("value"), out[f"{parameter}_verified"].alias("verified")
        )

    def tables(
        self,
        parameters: tuple[str, ...] | list[str],
        frame: pl.DataFrame,
        *,
        hedge: bool = False,
        holder: str = "client",
    ) -> pl.DataFrame:
        """Look several parameters up for every row of a (trading_day, contract) frame at once.

        The rules are compiled once per product over the frame's contracts and days.

        Parameters
        ----------
        parameters : sequence of {"margin", "price_limit", "position_limit", "open_limit", "max_order"}
        frame : polars.DataFrame
            Columns ``trading_day`` (Date) and ``contract`` (str).

        Returns
        -------
        polars.DataFrame
            ``frame`` with ``stage``, and per parameter a column named after it (null where no
            rule is in force) and a ``<parameter>_verified`` column, in the input order.

        Examples
        --------
        >>> import datetime as dt
        >>> f = pl.DataFrame({"trading_day": [dt.date(2025, 6, 3)], "contract": ["sc2509"]})
        >>> RuleBook.default().tables(["margin", "price_limit"], f).row(0)[2:]
        ('general', 0.11, True, 0.09, True)
        """
        for parameter in parameters:
            if parameter not in _TABLE_PARAMETERS:
                raise InputError(
                    f"table() takes one of {', '.join(_TABLE_PARAMETERS)}; got {parameter!r}"
                )
        missing = {"trading_day", "contract"} - set(frame.columns)
        if missing:
            raise InputError(f"frame lacks column(s) {sorted(missing)}; it needs trading_day and contract")
        n = frame.height
        values = {p: np.full(n, math.nan) for p in parameters}
        oks = {p: np.ones(n, dtype=bool) for p in parameters}
        stage = np.full(n, None, dtype=object)
        codes_all = frame["contract"].cast(pl.String)
        days_all = frame["trading_day"].cast(pl.Date).to_physical().to_numpy().astype(np.int64)
        uniq = codes_all.unique().to_list()
        canon = {c: contract(c).code for c in uniq}
        by_product: dict[str, list[str]] = {}
        for c in uniq:
            by_product.setdefault(contract(c).product.code, []).append(c)
        canon_all = np.array([canon[c] for c in codes_all.to_list()], dtype=object)
        for raw_codes in by_product.values():
            codes = sorted({canon[c] for c in raw_codes})
            sel = np.isin(canon_all, np.array(codes, dtype=object))
            dsel = np.unique(days_all[sel])
            kpos = {c: i for i, c in enumerate(codes)}
            ki = np.array([kpos[c] for c in canon_all[sel]], dtype=np.int64)
            di = np.searchsorted(dsel, days_all[sel])
            cells = Cells.build(codes, dsel)
            st = np.full((len(codes), dsel.size), len(STAGES), dtype=np.int64)
            st[cells.k, cells.d] = cells.stage
            stage[sel] = np.array((*STAGES, None), dtype=object)[st[ki, di]]
            for p in parameters:
                comp = self.rules.compile(p, cells, hedge=hedge, holder=holder)
                values[p][sel] = comp.value[ki, di]
                oks[p][sel] = comp.verified[ki, di]
        cols = [pl.Series("stage", stage.tolist(), dtype=pl.String)]
        for p in parameters:
            v = pl.Series(p, values[p]).fill_nan(None)
            nulls = pl.Series([None] * n, dtype=pl.Boolean)
            ok = pl.Series(f"{p}_verified", oks[p]).zip_with(v.is_not_null(), nulls)
            cols += [v, ok]
        return frame.with_columns(cols)


def _from_ord(n: int) -> dt.date:
    return dt.date(1970, 1, 1) + dt.timedelta(days=int(n))


@functools.cache
def _default_book() -> RuleBook:
    return RuleBook(RuleTable.default())


def _book(book: RuleBook | None) -> RuleBook:
    return book if book is not None else _default_book()


def margin_rate(
    contract_code: str | Contract, on: DateLike, hedge: bool = False, *, book: RuleBook | None = None
) -> RuleValue:
    """Exchange margin rate in force (see :meth:`RuleBook.margin_rate`).

    Examples
    --------
    >>> margin_rate("sc2509", "2025-06-03", hedge=True).value
    0.1
    """
    return _book(book).margin_rate(contract_code, on, hedge)


def price_limit(
    contract_code: str | Contract,
    on: DateLike,
    prev_settle: float | None = None,
    *,
    book: RuleBook | None = None,
) -> PriceLimit:
    """Daily price limit (see :meth:`RuleBook.price_limit`).

    Examples
    --------
    >>> price_limit("i2509", "2025-06-03", prev_settle=714.0).upper  # 714 x 1.09 on the 0.5 tick
    778.0
    """
    return _book(book).price_limit(contract_code, on, prev_settle)


def fee(contract_code: str | Contract, on: DateLike, *, book: RuleBook | None = None) -> Fee:
    """Exchange fee schedule (see :meth:`RuleBook.fee`).

    Examples
    --------
    >>> fee("ru2509", "2025-06-03").open
    3.0
    """
    return _book(book).fee(contract_code, on)


def position_limit(
    contract_code: str | Contract,
    on: DateLike,
    *,
    holder: str = "client",
    open_interest: float | None = None,
    book: RuleBook | None = None,
) -> RuleValue:
    """Position limit by stage (see :meth:`RuleBook.position_limit`).

    Examples
    --------
    >>> position_limit("sc2509", "2025-06-03").value
    3000.0
    """
    return _book(book).position_limit(contract_code, on, holder=holder, open_interest=open_interest)


def open_limit(contract_code: str | Contract, on: DateLike, *, book: RuleBook | None = None) -> RuleValue:
    """Daily opening limit (see :meth:`RuleBook.open_limit`).

    Examples
    --------
    >>> open_limit("i2401", "2023-11-20").value
    500.0
    """
    return _book(book).open_limit(contract_code, on)


def max_order(contract_code: str | Contract, on: DateLike, *, book: RuleBook | None = None) -> RuleValue:
    """Maximum order size (see :meth:`RuleBook.max_order`).

    Examples
    --------
    >>> max_order("nr2509", "2025-06-03").value
    500.0
    """
    return _book(book).max_order(contract_code, on)


def first_day_limit_multiplier(
    contract_code: str | Contract, on: DateLike | None = None, *, book: RuleBook | None = None
) -> float:
    """Price-limit multiplier on a contract's first trading day (:meth:`RuleBook.first_day_limit_multiplier`).

    Examples
    --------
    >>> first_day_limit_multiplier("sc2509")
    2.0
    """
    return _book(book).first_day_limit_multiplier(contract_code, on)
