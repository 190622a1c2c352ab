"""One dated rule table: every rule row with its timing, end, scope and source, compiled to arrays.

Every rule file (``market/data/rules.toml``, a user's override file or frame) loads into a
:class:`RuleTable`. A row has

* ``effective`` — the day X named by the exchange's notice, and ``timing``: ``"settlement"``
  ("from the settlement of X": the margin is charged from X's settlement, a price band or an
  order limit applies from the next trading day; how many trading days each parameter is
  shifted is data, in the ``[conventions]`` table) or ``"trading_day"`` (applies from trading
  day X itself, e.g. a launch or a contract text);
* optionally ``until`` — the point where the row stops, in the same convention (a date Y:
  "restored from the settlement of Y"), or ``"reopen"``: the exchanges' holiday revert rule,
  "from the settlement of the first trading day after the holiday on which the most-active
  contract has no one-direction limit-locked market". Statically that day is the first
  trading day after the first closure that follows X; a caller that has prices passes the
  locked days and the end moves on (see :func:`RuleTable.compile`). After the end the row
  reverts to what was in force before;
* a scope: the product; optionally ``contracts`` (a list) or ``contract_from`` /
  ``contract_to`` (an inclusive range of delivery months; no ``contract_to`` = every later
  listing), a contract ``stage``, ``hedge`` (true/false), ``holder`` (``"individual"``);
* the value (``value``; for fees ``basis``, ``open``, ``close``, ``close_today``), ``source``,
  ``verified`` and an optional ``note``.

Resolution (documented in docs/rules.md): the rows of one parameter fall into classes by
scope — product, stage, contract — and by kind — permanent or temporary (``until`` set), all
clients or one holder type. Within a class the row with the latest effective day in force
wins, and at equal effective day the one with more qualifiers (hedge flag, holder); two rows
of one class, effective the same day with the same qualifiers and overlapping contracts are
a load-time error naming both. Across classes each parameter combines as the data's
``[conventions]`` says: margins and price limits take the highest value in force (the
exchanges apply the higher of overlapping adjustments), position limits the lowest, fees,
opening limits, order sizes and the first-day multiplier the most specific class.
"""

from __future__ import annotations

import datetime as dt
import functools
import math
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from cnfutures._dates import parse_date
from cnfutures.errors import CalendarOutOfBounds, InputError, UnknownContract
from cnfutures.market.calendar import TradingCalendar, calendar
from cnfutures.market.contracts import STAGES, Contract, contract
from cnfutures.market.products import product

__all__ = [
    "FEE_FIELDS",
    "FEE_PARAMETERS",
    "PARAMETERS",
    "Cells",
    "Compiled",
    "Row",
    "RuleTable",
    "contract_month",
    "reopening_day",
]

PARAMETERS: tuple[str, ...] = (
    "margin",
    "price_limit",
    "fee",
    "position_limit",
    "open_limit",
    "max_order",
    "first_day_limit_multiplier",
    "option_margin_floor",
    "option_fee",
    "option_max_order",
)
FEE_FIELDS: tuple[str, ...] = ("open", "close", "close_today")
#: parameters whose rows are fee schedules (``basis`` and the :data:`FEE_FIELDS`, no ``value``)
FEE_PARAMETERS: tuple[str, ...] = ("fee", "option_fee")
_HOLDERS = ("client", "individual")
_TIMINGS = ("settlement", "trading_day")
_SCOPE_FIELDS = ("contracts", "contract_from", "contract_to", "stage", "hedge", "holder")
_COMMON = ("product", "effective", "timing", "until", "source", "verified", "note", "announced")
_FIELDS: dict[str, frozenset[str]] = {
    p: frozenset(_COMMON + _SCOPE_FIELDS + (("basis", *FEE_FIELDS) if p in FEE_PARAMETERS else ("value",)))
    for p in PARAMETERS
}
# an option fee row also names the fee per lot for exercise (and assignment)
_FIELDS["option_fee"] = _FIELDS["option_fee"] | {"exercise"}
# position limits may also be a fraction of open interest above a threshold (DCE)
_FIELDS["position_limit"] = _FIELDS["position_limit"] | {"oi_threshold", "oi_fraction"}
_FAR = np.iinfo(np.int64).max // 4  # an open end [days since 1970-01-01]
# classes in the order "most specific first" (for the "specific" combination)
_CLASSES = ("contract", "stage", "product")


def contract_month(code: str) -> int:
    """Delivery month of a contract code as ``YYYY*12 + month`` (orders contracts of a product).

    Examples
    --------
    >>> contract_month("sc2604") - contract_month("sc2603")
    1
    """
    c = contract(code)
    return c.year * 12 + c.month


@dataclass(frozen=True)
class Row:
    """One normalised rule row (see the module docstring for the fields).

    ``start``/``stop`` are the trading-day ordinals [days since 1970-01-01] of the half-open
    interval in which the row applies, resolved from ``effective``/``until`` with the timing
    convention; ``reopen`` marks an end given by the holiday revert rule (``stop`` is then
    its static resolution). ``month_lo``/``month_hi`` bound the contracts (delivery months).
    """

    parameter: str
    product: str
    effective: dt.date
    timing: str
    until: dt.date | str | None
    start: int
    stop: int
    reopen: bool
    month_lo: int
    month_hi: int
    contracts: tuple[str, ...]
    stage: str | None
    hedge: bool | None
    holder: str | None
    value: float
    fee: tuple[str, float, float, float] | None
    extra: tuple[tuple[str, Any], ...]
    source: str
    verified: bool
    note: str
    origin: str

    @property
    def scope_class(self) -> str:
        """``"contract"``, ``"stage"`` or ``"product"``."""
        if self.contracts or self.month_lo > 0 or self.month_hi < _FAR:
            return "contract"
        return "stage" if self.stage else "product"

    @property
    def temporary(self) -> bool:
        """True when the row has an end (``until``)."""
        return self.until is not None

    @property
    def qualifiers(self) -> int:
        """How many qualifiers narrow the row (hedge flag, holder)."""
        return int(self.hedge is not None) + int(self.holder is not None)

    @property
    def scope(self) -> str:
        """A readable scope: ``product``, ``stage:<name>`` or ``contract:<codes>``."""
        if self.scope_class == "contract":
            if self.contracts:
                return "contract:" + ",".join(self.contracts)
            lo = "" if self.month_lo <= 0 else _month_code(self.product, self.month_lo)
            hi = "" if self.month_hi >= _FAR else _month_code(self.product, self.month_hi)
            return f"contract:{lo}..{hi}"
        return f"stage:{self.stage}" if self.stage else "product"

    def get(self, key: str, default: Any = None) -> Any:
        """An extra field of the row (e.g. ``oi_fraction``)."""
        return dict(self.extra).get(key, default)


def _month_code(prod: str, m: int) -> str:
    y, mo = divmod(m - 1, 12)
    return f"{prod}{y % 100:02d}{mo + 1:02d}"


@dataclass(frozen=True)
class Compiled:
    """Rules of one parameter compiled over the live (contract, trading day) cells.

    Stored per live cell (``cells``); the ``[K, D]`` views (contracts × days) are built on
    first access. Where a contract does not trade, or no row applies: NaN / -1.

    Attributes
    ----------
    parameter : str
    cells : Cells
    cell_row : numpy.ndarray [n] of int64
        Per live cell, index into ``rows`` of the deciding row (-1 where none).
    cell_used : numpy.ndarray [C, n] of int64
        Per class, the row in force (-1 none): every row that entered the decision.
    cell_verified : numpy.ndarray [n] of bool
        False where any row that entered the decision is unverified.
    rows : tuple of Row
    """

    parameter: str
    cells: Cells = field(repr=False)
    cell_row: np.ndarray = field(repr=False)
    cell_used: np.ndarray = field(repr=False)
    cell_verified: np.ndarray = field(repr=False)
    rows: tuple[Row, ...] = field(repr=False)

    @property
    def contracts(self) -> tuple[str, ...]:
        """Axis 0 of the dense views."""
        return self.cells.codes

    @property
    def days(self) -> np.ndarray:
        """Axis 1 of the dense views: trading-day ordinals [days since 1970-01-01]."""
        return self.cells.days

    def dense(self, per_cell: np.ndarray, fill: Any) -> np.ndarray:
        """A per-cell array laid out as ``[K, D]`` (``fill`` where a contract does not trade)."""
        return self.cells.dense(per_cell, fill)

    @functools.cached_property
    def cell_value(self) -> np.ndarray:
        """Per live cell, the value in force (NaN where none; fees: see :meth:`field`)."""
        vals: np.ndarray = np.array([r.value for r in self.rows] + [math.nan])[self.cell_row]
        return vals

    @functools.cached_property
    def value(self) -> np.ndarray:
        """``[K, D]``: the value in force (NaN where none)."""
        return self.dense(self.cell_value, math.nan)

    @functools.cached_property
    def row(self) -> np.ndarray:
        """``[K, D]``: index of the deciding row (-1 where none)."""
        return self.dense(self.cell_row, -1)

    @functools.cached_property
    def verified(self) -> np.ndarray:
        """``[K, D]``: False where an unverified row entered the decision."""
        return self.dense(self.cell_verified, True)

    @functools.cached_property
    def used(self) -> np.ndarray:
        """``[C, K, D]``: per class, the row in force (-1 none)."""
        out = np.full((self.cell_used.shape[0], len(self.cells.codes), self.cells.days.size), -1, np.int64)
        out[:, self.cells.k, self.cells.d] = self.cell_used
        return out

    def field(self, name: str) -> np.ndarray:
        """Per live cell, a fee field (``open``, ``close``, ``close_today``) or the ``per_lot`` flag.

        NaN (or False) where no row decides.
        """
        if name == "per_lot":
            flags = np.array([r.fee is not None and r.fee[0] == "per_lot" for r in self.rows] + [False])
            out: np.ndarray = flags[self.cell_row]
            return out
        i = 1 + FEE_FIELDS.index(name)
        vals = np.array([r.fee[i] if r.fee is not None else math.nan for r in self.rows] + [math.nan])
        res: np.ndarray = vals[self.cell_row]
        return res


def _as_date(value: Any, what: str) -> dt.date:
    try:
        return parse_date(value, what)
    except Exception as exc:  # a typed error from parse_date, or anything odd in a file
        raise InputError(f"{what}={value!r} is not a date (YYYY-MM-DD)") from exc


@dataclass(frozen=True)
class RuleTable:
    """An immutable dated rule table: shipped rows plus any user rows layered over them.

    Examples
    --------
    >>> t = RuleTable.default()
    >>> t.compile("margin", ["sc2509"], ["2025-06-03"]).value[0, 0]
    np.float64(0.11)
    """

    rows: tuple[Row, ...]
    conventions: Mapping[str, Any] = field(repr=False)

    # ------------------------------------------------------------------ loading
    @classmethod
    def default(cls) -> RuleTable:
        """The bundled rule data (``market/data/rules.toml``)."""
        return _default_table()

    @classmethod
    def from_dict(
        cls, data: Mapping[str, Any], *, origin: str = "rules", conventions: Mapping[str, Any] | None = None
    ) -> RuleTable:
        """Load rows from a parsed ``rules.toml``-shaped mapping (checked; see :meth:`validate`).

        Examples
        --------
        >>> t = RuleTable.from_dict({"margin": [{"product": "sc", "effective": "2025-01-02",
        ...     "timing": "trading_day", "value": 0.1, "source": "me", "verified": True}]},
        ...     conventions=RuleTable.default().conventions)
        >>> t.compile("margin", ["sc2505"], ["2025-01-02"]).value.tolist()
        [[0.1]]
        """
        conv = dict(conventions if conventions is not None else data.get("conventions", {}))
        _check_conventions(conv, origin)
        unknown = set(data) - set(PARAMETERS) - {"conventions"}
        if unknown:
            raise InputError(
                f"{origin}: unknown rule parameter(s) {sorted(unknown)}; accepted: {', '.join(PARAMETERS)}"
            )
        rows: list[Row] = []
        for parameter in PARAMETERS:
            items = data.get(parameter, ())
            if not isinstance(items, list | tuple):
                raise InputError(f"{origin}: [{parameter}] must be an array of tables ([[{parameter}]])")
            for i, raw in enumerate(items):
                rows.append(_normalise(parameter, raw, conv, f"{origin}: [[{parameter}]] row {i + 1}"))
        table = cls(rows=tuple(rows), conventions=conv)
        table.validate()
        return table

    @classmethod
    def from_file(cls, path: str | Path, *, conventions: Mapping[str, Any] | None = None) -> RuleTable:
        """Load a TOML rule file (the bundled layout); errors name the file and row."""
        p = Path(path)
        if not p.is_file():
            raise InputError(f"rule file {str(p)!r} does not exist")
        try:
            with p.open("rb") as fh:
                data = tomllib.load(fh)
        except tomllib.TOMLDecodeError as exc:
            raise InputError(f"rule file {str(p)!r} is not valid TOML: {exc}") from None
        return cls.from_dict(data, origin=str(p), conventions=conventions)

    @classmethod
    def from_frame(
        cls, frame: pl.DataFrame, *, origin: str = "frame", conventions: Mapping[str, Any] | None = None
    ) -> RuleTable:
        """Load rows from a polars frame with a ``parameter`` column and the row fields as columns.

        Null cells are treated as absent fields.

        Examples
        --------
        >>> f = pl.DataFrame({"parameter": ["margin"], "product": ["sc"], "effective": ["2025-01-02"],
        ...                   "timing": ["trading_day"], "value": [0.2], "source": ["broker"],
        ...                   "verified": [True]})
        >>> RuleTable.from_frame(f, conventions=RuleTable.default().conventions).rows[0].value
        0.2
        """
        if "parameter" not in frame.columns:
            raise InputError(f"{origin}: a rule frame needs a 'parameter' column")
        data: dict[str, list[dict[str, Any]]] = {}
        for rec in frame.to_dicts():
            par = rec.pop("parameter")
            data.setdefault(str(par), []).append({k: v for k, v in rec.items() if v is not None})
        return cls.from_dict(data, origin=origin, conventions=conventions)

    def layered(self, other: RuleTable) -> RuleTable:
        """This table with ``other``'s rows layered over it (checked together).

        A user row of the same class, qualifiers and effective day as a shipped row replaces
        it (a broker's add-on, a newer notice); any other overlap is an error.
        """
        mine = [
            r
            for r in self.rows
            if not any(_same_slot(r, o) for o in other.rows if o.parameter == r.parameter)
        ]
        table = RuleTable(rows=tuple(mine) + other.rows, conventions=self.conventions)
        table.validate()
        return table

    def validate(self) -> None:
        """Check the table: no two rows of one class, qualifiers and effective day overlap.

        Raises
        ------
        InputError
            Naming both rows.
        """
        seen: dict[tuple[Any, ...], list[Row]] = {}
        for r in self.rows:
            key = (r.parameter, r.product, r.scope_class, r.temporary, r.stage, r.hedge, r.holder, r.start)
            for o in seen.get(key, ()):
                if o.month_lo <= r.month_hi and r.month_lo <= o.month_hi and _contracts_meet(o, r):
                    raise InputError(
                        f"rule rows overlap: {o.origin} and {r.origin} ({r.parameter} {r.product} "
                        f"{r.scope}, both from {_from_ord(r.start)}); make one more specific or "
                        "give them different effective days"
                    )
            seen.setdefault(key, []).append(r)

    # ------------------------------------------------------------------ compilation
    def rows_of(self, parameter: str, product_code: str | None = None) -> tuple[Row, ...]:
        """Rows of one parameter (and product), in file order."""
        if parameter not in PARAMETERS:
            raise InputError(f"unknown rule parameter {parameter!r}; accepted: {', '.join(PARAMETERS)}")
        return tuple(
            r
            for r in self.rows
            if r.parameter == parameter and (product_code is None or r.product == product_code)
        )

    def compile(
        self,
        parameter: str,
        contracts: Sequence[str] | Cells,
        days: Sequence[Any] | np.ndarray | pl.Series | None = None,
        *,
        hedge: bool = False,
        holder: str = "client",
        locked: np.ndarray | None = None,
    ) -> Compiled:
        """Compile one parameter for contracts of ONE product over trading days.

        Only the cells where a contract trades (listing day to last trading day) get a value:
        a rule is never "in force" for a contract that does not trade.

        Parameters
        ----------
        parameter : str
            One of :data:`PARAMETERS`.
        contracts : sequence of str, or Cells
            Contract codes of one product (axis 0), or the :class:`Cells` of an earlier call
            (shares the stage look-up between parameters).
        days : dates, ``pl.Series`` of Date, or int64 ordinals [days since 1970-01-01]
            Trading days (axis 1), ascending (not needed with ``Cells``).
        hedge : bool
            The position is a hedge (hedge-flagged rows apply).
        holder : {"client", "individual"}
        locked : numpy.ndarray of bool, optional
            Per day of ``days``: the product's most-active contract closed one-direction
            limit-locked. A holiday row's ``"reopen"`` end then moves to the first trading
            day after reopening that is not locked (without it: the reopening day).

        Returns
        -------
        Compiled

        Examples
        --------
        >>> c = RuleTable.default().compile("margin", ["sc2505"], ["2025-04-11", "2025-04-29"])
        >>> c.value.round(2).tolist()  # general 11 %; from the 2nd trading day before the LTD 20 %
        [[0.11, 0.2]]
        """
        if holder not in _HOLDERS:
            raise InputError(f"holder={holder!r}; accepted: {', '.join(_HOLDERS)}")
        cells = contracts if isinstance(contracts, Cells) else Cells.build(contracts, days)
        rows = self.rows_of(parameter, cells.product)
        how = self.conventions["combine"][parameter]
        n = cells.k.size
        # one layer per (class, temporary, holder-specific): the deciding row per live cell
        layers: dict[tuple[str, bool, bool], np.ndarray] = {}
        order = sorted(range(len(rows)), key=lambda i: (rows[i].start, rows[i].qualifiers, i))
        cal = calendar(product(cells.product).exchange) if locked is not None else None
        for i in order:
            r = rows[i]
            if (r.hedge is not None and r.hedge != hedge) or (r.holder is not None and r.holder != holder):
                continue
            stop = r.stop
            if r.reopen and cal is not None and locked is not None:
                stop = _reopen_stop(r, cal, cells.days, locked, self.conventions)
            lo = int(np.searchsorted(cells.day, r.start, side="left"))
            hi = int(np.searchsorted(cells.day, stop, side="left"))
            if hi <= lo:
                continue
            mask = np.ones(hi - lo, dtype=bool)
            if r.month_lo > 0 or r.month_hi < _FAR:
                m = cells.month[lo:hi]
                mask &= (m >= r.month_lo) & (m <= r.month_hi)
            if r.contracts:
                mask &= np.isin(cells.code_of[lo:hi], r.contracts)
            if r.stage is not None:
                mask &= cells.stage[lo:hi] == STAGES.index(r.stage)
            if not mask.any():
                continue
            key = (r.scope_class, r.temporary, r.holder is not None)
            rid = layers.get(key)
            if rid is None:
                rid = layers[key] = np.full(n, -1, dtype=np.int64)
            rid[lo:hi][mask] = i
        keys = sorted(layers, key=lambda k: (_CLASSES.index(k[0]), not k[1], not k[2]))
        vals_of = np.array([r.value for r in rows] + [math.nan])  # index -1: no row
        used = np.stack([layers[k] for k in keys]) if keys else np.full((0, n), -1, dtype=np.int64)
        if keys:
            vals = vals_of[used]
            if how in ("max", "min"):
                filled = np.where(used >= 0, vals, -math.inf if how == "max" else math.inf)
                j = filled.argmax(axis=0) if how == "max" else filled.argmin(axis=0)
            else:  # the most specific layer that has a row (layers are sorted most specific first)
                j = (used >= 0).argmax(axis=0)
            win = np.take_along_axis(used, j[None], axis=0)[0]
            if how == "specific":
                used = win[None]  # only the decider entered
        else:
            win = np.full(n, -1, dtype=np.int64)
        ok = np.array([r.verified for r in rows] + [True])
        verified_c = np.asarray(ok[used].all(axis=0)) if keys else np.ones(n, dtype=bool)
        return Compiled(parameter, cells, win, used, verified_c, rows)


@dataclass(frozen=True)
class Cells:
    """The live (contract, trading day) cells of contracts of one product, sorted by day.

    Attributes
    ----------
    product : str
    codes : tuple of str
    days : numpy.ndarray of int64 [days since 1970-01-01]
    k, d : numpy.ndarray of int64
        Contract and day index of each live cell (listing day to last trading day).
    day, month, stage : numpy.ndarray of int64
        Per cell: the day ordinal, the contract's delivery month (``YYYY*12+month``) and its
        life stage (index into ``STAGES``).
    code_of : numpy.ndarray of str
        Per cell: the contract code.
    """

    product: str
    codes: tuple[str, ...]
    days: np.ndarray
    k: np.ndarray
    d: np.ndarray
    day: np.ndarray
    month: np.ndarray
    stage: np.ndarray
    code_of: np.ndarray

    def dense(self, per_cell: np.ndarray, fill: Any) -> np.ndarray:
        """A per-cell array laid out as ``[contracts, days]`` (``fill`` where a contract does not trade).

        Examples
        --------
        >>> c = Cells.build(["sc2505"], ["2025-04-30", "2025-05-06"])
        >>> c.dense(np.array([0.1]), np.nan).tolist()
        [[0.1, nan]]
        """
        out = np.full((len(self.codes), self.days.size), fill, dtype=per_cell.dtype)
        out[self.k, self.d] = per_cell
        return out

    @classmethod
    def build(cls, contracts: Sequence[str], days: Sequence[Any] | np.ndarray | pl.Series | None) -> Cells:
        """Live cells of ``contracts`` (one product) over ``days`` (ascending trading days).

        Examples
        --------
        >>> Cells.build(["sc2505"], ["2025-04-30", "2025-05-06"]).k.tolist()  # LTD 2025-04-30
        [0]
        """
        if days is None:
            raise InputError("compile() needs days")
        codes = tuple(contract(c).code for c in contracts)
        if not codes:
            raise InputError("compile() needs at least one contract")
        prods = {contract(c).product.code for c in codes}
        if len(prods) != 1:
            raise InputError(f"compile() takes contracts of one product; got {sorted(prods)}")
        d = _ordinals(days)
        epoch = dt.date(1970, 1, 1)
        cons = [contract(c) for c in codes]
        first = np.array([(c.first_trading_day - epoch).days for c in cons], dtype=np.int64)
        last = np.array([_last_ord(c) for c in cons], dtype=np.int64)
        lo = np.searchsorted(d, first, side="left")
        hi = np.searchsorted(d, last, side="right")
        cnt = np.maximum(hi - lo, 0)
        k = np.repeat(np.arange(len(codes), dtype=np.int64), cnt)
        starts = np.cumsum(cnt) - cnt
        di = np.arange(int(cnt.sum()), dtype=np.int64) - np.repeat(starts, cnt) + np.repeat(lo, cnt)
        order = np.argsort(di, kind="stable")
        k, di = k[order], di[order]
        day = d[di]
        # life stage per cell: the last stage start on or before the day, of the same contract
        big = np.int64(1 << 32)
        keys: list[int] = []
        idx: list[int] = []
        for j, c in enumerate(cons):
            starts_c = c.stage_starts()
            for name in sorted(starts_c, key=lambda s: (starts_c[s], STAGES.index(s))):
                keys.append(j * int(big) + (starts_c[name] - epoch).days)
                idx.append(STAGES.index(name))
        key_arr = np.array(keys, dtype=np.int64)
        pos = np.searchsorted(key_arr, k * big + day, side="right") - 1
        stage = np.array(idx, dtype=np.int64)[np.maximum(pos, 0)]
        months = np.array([c.year * 12 + c.month for c in cons], dtype=np.int64)
        code_arr = np.array(codes, dtype=object)
        return cls(prods.pop(), codes, d, k, di, day, months[k], stage, code_arr[k])


def _last_ord(c: Contract) -> int:
    try:
        ltd = c.last_trading_day
        if ltd > c.calendar.bounds[1]:
            return _FAR
    except CalendarOutOfBounds:
        return _FAR  # beyond the calendar: trades past any in-bounds day
    return (ltd - dt.date(1970, 1, 1)).days


# ---------------------------------------------------------------------- helpers
def _from_ord(n: int) -> dt.date:
    return dt.date(1970, 1, 1) + dt.timedelta(days=int(n))


def _ordinals(days: Sequence[Any] | np.ndarray | pl.Series) -> np.ndarray:
    if isinstance(days, pl.Series):
        if days.dtype != pl.Date:
            raise InputError(f"days: a Date series expected; got {days.dtype}")
        out = days.to_physical().to_numpy().astype(np.int64)
    elif isinstance(days, np.ndarray) and days.dtype.kind in "iu":
        out = days.astype(np.int64)
    else:
        epoch = dt.date(1970, 1, 1)
        out = np.array([(parse_date(x, "days") - epoch).days for x in days], dtype=np.int64)
    if out.size > 1 and (np.diff(out) <= 0).any():
        raise InputError("days must be ascending and unique")
    return np.ascontiguousarray(out)


def _contracts_meet(a: Row, b: Row) -> bool:
    """True when two contract scopes share a contract (lists by code, ranges by delivery month)."""
    if a.contracts and b.contracts:
        return bool(set(a.contracts) & set(b.contracts))
    listed, other = (a, b) if a.contracts else (b, a)
    if listed.contracts:
        return any(other.month_lo <= contract_month(c) <= other.month_hi for c in listed.contracts)
    return True


def _same_slot(a: Row, b: Row) -> bool:
    return (
        a.product == b.product
        and a.scope_class == b.scope_class
        and a.temporary == b.temporary
        and a.stage == b.stage
        and a.hedge == b.hedge
        and a.holder == b.holder
        and a.start == b.start
        and a.month_lo == b.month_lo
        and a.month_hi == b.month_hi
        and a.contracts == b.contracts
    )


def _check_conventions(conv: Mapping[str, Any], origin: str) -> None:
    for key in ("combine", "default_timing", "settlement_shift"):
        table = conv.get(key)
        if not isinstance(table, Mapping) or set(table) != set(PARAMETERS):
            raise InputError(
                f"{origin}: [conventions.{key}] must name every parameter ({', '.join(PARAMETERS)})"
            )
    for par, how in conv["combine"].items():
        if how not in ("max", "min", "specific"):
            raise InputError(f"{origin}: conventions.combine.{par}={how!r}; accepted: max, min, specific")
    for par, t in conv["default_timing"].items():
        if t not in _TIMINGS:
            raise InputError(f"{origin}: conventions.default_timing.{par}={t!r}; accepted: {_TIMINGS}")


def _apply(cal: TradingCalendar, day: dt.date, timing: str, shift: int, what: str) -> int:
    """Ordinal of the first trading day a change at ``day`` (in ``timing``) applies to."""
    if timing == "settlement":
        if not cal.is_trading_day(day):
            raise InputError(f"{what}: {day} is not a {cal.exchange} trading day (a settlement needs one)")
        target = cal.next_trading_day(day, shift) if shift else day
    else:
        target = day if cal.is_trading_day(day) else cal.next_trading_day(day)
    return (target - dt.date(1970, 1, 1)).days


def reopening_day(cal: TradingCalendar, after: dt.date) -> dt.date:
    """The first trading day after the first closure of a weekday that follows ``after``."""
    d = after
    while True:
        nxt = cal.next_trading_day(d)
        gap = (nxt - d).days
        weekdays_closed = sum(1 for i in range(1, gap) if (d + dt.timedelta(days=i)).weekday() < 5)
        if weekdays_closed:
            return nxt
        d = nxt


def _reopen_stop(
    r: Row, cal: TradingCalendar, d: np.ndarray, locked: np.ndarray, conv: Mapping[str, Any]
) -> int:
    """The row's end with the locked days known: past locked reopening days."""
    if locked.shape != d.shape:
        raise InputError(f"locked has {locked.shape[0]} days; days has {d.size}")
    shift = int(conv["settlement_shift"][r.parameter])
    reopen = reopening_day(cal, r.effective)
    epoch = dt.date(1970, 1, 1)
    i = int(np.searchsorted(d, (reopen - epoch).days))
    while i < d.size and d[i] == (reopen - epoch).days and locked[i]:
        reopen = cal.next_trading_day(reopen)
        i += 1
    return _apply(cal, reopen, "settlement", shift, r.origin)


def _normalise(parameter: str, raw: Any, conv: Mapping[str, Any], origin: str) -> Row:
    if not isinstance(raw, Mapping):
        raise InputError(f"{origin}: a rule row must be a table; got {raw!r}")
    unknown = set(raw) - _FIELDS[parameter]
    if unknown:
        raise InputError(
            f"{origin}: unknown field(s) {sorted(unknown)}; accepted: {', '.join(sorted(_FIELDS[parameter]))}"
        )
    for key in ("product", "effective", "source", "verified"):
        if key not in raw or raw[key] in (None, ""):
            raise InputError(f"{origin}: the field {key!r} is missing (every row needs a source)")
    if not isinstance(raw["verified"], bool):
        raise InputError(f"{origin}: verified={raw['verified']!r}; accepted: true or false")
    try:
        prod = product(str(raw["product"]))
    except Exception as exc:
        raise InputError(f"{origin}: product={raw['product']!r}: {exc}") from None
    cal = calendar(prod.exchange)
    effective = _as_date(raw["effective"], f"{origin}: effective")
    timing = raw.get("timing", conv["default_timing"][parameter])
    if timing not in _TIMINGS:
        raise InputError(f"{origin}: timing={timing!r}; accepted: {', '.join(_TIMINGS)}")
    shift = int(conv["settlement_shift"][parameter])
    try:
        start = _apply(cal, effective, timing, shift, origin)
    except CalendarOutOfBounds as exc:
        raise InputError(f"{origin}: effective {effective} is outside the calendar: {exc}") from None
    until_raw = raw.get("until")
    until: dt.date | str | None = None
    reopen = False
    stop = _FAR
    if until_raw is not None:
        if until_raw == "reopen":
            until, reopen = "reopen", True
            r_day = reopening_day(cal, effective)
            stop = _apply(cal, r_day, "settlement", shift, origin)
        else:
            until = _as_date(until_raw, f"{origin}: until")
            if until <= effective:
                raise InputError(f"{origin}: until={until} is not after effective={effective}")
            stop = _apply(cal, until, timing, shift, origin)
    # scope
    lo, hi = 0, _FAR
    codes: tuple[str, ...] = ()
    if "contracts" in raw:
        if "contract_from" in raw or "contract_to" in raw:
            raise InputError(f"{origin}: give either contracts or contract_from/contract_to, not both")
        items = raw["contracts"]
        if isinstance(items, str) or not isinstance(items, list | tuple) or not items:
            raise InputError(f"{origin}: contracts must be a non-empty list of codes; got {items!r}")
        codes = tuple(_real_contract(str(x), prod.code, origin) for x in items)
        lo, hi = min(contract_month(c) for c in codes), max(contract_month(c) for c in codes)
    else:
        if "contract_from" in raw:
            lo = contract_month(_real_contract(str(raw["contract_from"]), prod.code, origin))
        if "contract_to" in raw:
            hi = contract_month(_real_contract(str(raw["contract_to"]), prod.code, origin))
            if hi < lo:
                raise InputError(f"{origin}: contract_to is before contract_from")
    stage = raw.get("stage")
    if stage is not None and stage not in STAGES:
        raise InputError(f"{origin}: stage={stage!r}; accepted: {', '.join(STAGES)}")
    hedge = raw.get("hedge")
    if hedge is not None and not isinstance(hedge, bool):
        raise InputError(f"{origin}: hedge={hedge!r}; accepted: true or false")
    holder = raw.get("holder")
    if holder == "client":
        holder = None  # "client" = every client: no narrowing
    if holder is not None and holder not in _HOLDERS:
        raise InputError(f"{origin}: holder={holder!r}; accepted: {', '.join(_HOLDERS)}")
    fee = None
    value = math.nan
    if parameter in FEE_PARAMETERS:
        missing = [k for k in ("basis", *FEE_FIELDS) if k not in raw]
        if parameter == "option_fee" and "exercise" not in raw:
            missing.append("exercise")
        if missing:
            raise InputError(f"{origin}: a fee row needs {', '.join(missing)}")
        if raw["basis"] not in ("per_lot", "per_turnover"):
            raise InputError(f"{origin}: basis={raw['basis']!r}; accepted: 'per_lot', 'per_turnover'")
        nums = [_number(raw[k], f"{origin}: {k}") for k in FEE_FIELDS]
        fee = (str(raw["basis"]), nums[0], nums[1], nums[2])
    else:
        if "value" not in raw:
            raise InputError(f"{origin}: the field 'value' is missing")
        value = _number(raw["value"], f"{origin}: value")
        if parameter in ("margin", "price_limit") and value > 1:
            raise InputError(f"{origin}: {parameter} value {value} must be a decimal fraction (0.11 = 11 %)")
        if parameter == "first_day_limit_multiplier" and value < 1:
            raise InputError(f"{origin}: a first-day limit multiplier must be >= 1; got {value}")
        if parameter == "option_margin_floor" and value > 1:
            raise InputError(
                f"{origin}: option_margin_floor value {value} must be a coefficient of the futures margin "
                "in [0, 1] (0.5 = half)"
            )
    if "exercise" in raw:
        _number(raw["exercise"], f"{origin}: exercise")
    extra = tuple(sorted((k, raw[k]) for k in ("oi_threshold", "oi_fraction", "exercise") if k in raw))
    return Row(
        parameter=parameter, product=prod.code, effective=effective, timing=timing, until=until,
        start=start, stop=stop, reopen=reopen, month_lo=lo, month_hi=hi, contracts=codes, stage=stage,
        hedge=hedge, holder=holder, value=value, fee=fee, extra=extra, source=str(raw["source"]),
        verified=bool(raw["verified"]), note=str(raw.get("note", "")), origin=origin,
    )  # fmt: skip


def _number(x: Any, what: str) -> float:
    if isinstance(x, bool) or not isinstance(x, int | float) or not math.isfinite(x) or x < 0:
        raise InputError(f"{what}={x!r} must be a finite number >= 0")
    return float(x)


def _real_contract(code: str, prod: str, origin: str) -> str:
    try:
        c: Contract = contract(code)
        c.first_trading_day  # noqa: B018 - a contract listed before the product existed fails here
    except (UnknownContract, CalendarOutOfBounds, InputError) as exc:
        raise InputError(f"{origin}: contract {code!r} never existed: {exc}") from None
    if c.product.code != prod:
        raise InputError(f"{origin}: contract {code!r} is not a {prod} contract")
    listed = c.product.listed
    if listed is not None and (c.year * 12 + c.month) < listed.year * 12 + listed.month:
        raise InputError(f"{origin}: contract {code!r} never existed ({prod} lists from {listed})")
    return c.code


@functools.cache
def _default_table() -> RuleTable:
    from cnfutures.market._data import load_toml

    return RuleTable.from_dict(load_toml("rules.toml"), origin="rules.toml")
