"""Dated rule parameters: margin rates, price limits, fees, position and opening limits.

Every row of ``market/data/rules.toml`` has a product, an ``effective`` trading day, a
value, a ``source`` and a ``verified`` flag, and optionally narrows to a contract, a life
stage (see :meth:`cnfutures.Contract.stage`), a hedge flag or a holder type. A look-up takes
the trading day:

* within one scope (product-wide, one stage, one contract) the latest row in force wins
  (a hedge- or holder-specific row beats a general one of the same date);
* across scopes, margin rates and price limits take the **highest** value in force (the
  exchanges apply the higher of overlapping adjustments), position limits the **lowest**,
  and fees, opening limits and order sizes the most specific scope.

A user overrides any value without editing the package: ``RuleBook.default()
.with_override("margin", "sc", 0.15, effective="2025-01-02")`` or
``RuleBook.default().with_file("my_broker.toml")`` (same layout as the bundled file), and
passes ``book=`` to the look-ups.
"""

from __future__ import annotations

import datetime as dt
import functools
import math
import tomllib
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

import polars as pl

from cnfutures._dates import DateLike, parse_date
from cnfutures.errors import InputError, RuleNotFound
from cnfutures.market._data import load_toml
from cnfutures.market.contracts import Contract, contract

__all__ = [
    "PARAMETERS",
    "Fee",
    "PriceLimit",
    "RuleBook",
    "RuleValue",
    "fee",
    "first_day_limit_multiplier",
    "margin_rate",
    "max_order",
    "open_limit",
    "position_limit",
    "price_limit",
]

PARAMETERS: tuple[str, ...] = (
    "margin",
    "price_limit",
    "fee",
    "position_limit",
    "open_limit",
    "max_order",
)
_COMBINE: dict[str, str] = {
    "margin": "max",
    "price_limit": "max",
    "position_limit": "min",
    "fee": "specific",
    "open_limit": "specific",
    "max_order": "specific",
}
_HOLDERS = ("client", "individual")


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


def _round_tick(x: float, tick: float, how: str) -> float:
    q = x / tick
    n = math.floor(q + 1e-9) if how == "down" else math.ceil(q - 1e-9)
    decimals = max(0, -math.floor(math.log10(tick)) + 1)
    return round(n * tick, decimals)


@dataclass(frozen=True)
class RuleBook:
    """An immutable set of dated rule rows (the bundled data plus any user overrides).

    Examples
    --------
    >>> book = RuleBook.default().with_override("margin", "sc", 0.15, effective="2025-05-06")
    >>> book.margin_rate("sc2509", "2025-06-03").value
    0.15
    """

    rows: dict[str, tuple[dict[str, Any], ...]] = field(repr=False)
    first_day: dict[str, dict[str, Any]] = field(repr=False, default_factory=dict)

    # ------------------------------------------------------------------ construction
    @classmethod
    def default(cls) -> RuleBook:
        """The bundled rule data (``market/data/rules.toml``)."""
        return _default_book()

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RuleBook:
        """Build a book from a parsed ``rules.toml``-shaped mapping.

        Examples
        --------
        >>> RuleBook.from_dict({"margin": [{"product": "sc", "effective": "2025-01-02",
        ...     "value": 0.1, "source": "me", "verified": True}]}).margin_rate(
        ...     "sc2505", "2025-01-02").value
        0.1
        """
        rows: dict[str, tuple[dict[str, Any], ...]] = {}
        for name in PARAMETERS:
            rows[name] = tuple(_normalise(name, r) for r in data.get(name, ()))
        unknown = set(data) - set(PARAMETERS) - {"first_day_limit_multiplier"}
        if unknown:
            raise InputError(
                f"unknown rule parameter(s) {sorted(unknown)}; accepted: {', '.join(PARAMETERS)}"
            )
        return cls(rows=rows, first_day=dict(data.get("first_day_limit_multiplier", {})))

    def with_file(self, path: str | Path) -> RuleBook:
        """A new book with the rows of a user TOML file added (same layout as the bundled one).

        Later rows of the same scope and date replace earlier ones, so a file can correct
        a bundled value.
        """
        p = Path(path)
        if not p.is_file():
            raise InputError(f"rule file {str(p)!r} does not exist")
        with p.open("rb") as fh:
            try:
                extra = RuleBook.from_dict(tomllib.load(fh))
            except tomllib.TOMLDecodeError as exc:
                raise InputError(f"rule file {str(p)!r} is not valid TOML: {exc}") from None
        rows = {k: self.rows.get(k, ()) + extra.rows.get(k, ()) for k in PARAMETERS}
        return replace(self, rows=rows, first_day={**self.first_day, **extra.first_day})

    def with_override(
        self,
        parameter: str,
        product: str,
        value: float | None = None,
        *,
        effective: DateLike,
        contract: str | None = None,
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
            The value (not used for ``"fee"``, which takes ``basis``, ``open``, ``close``,
            ``close_today`` keywords).
        effective : date or str
            First trading day the row applies.
        contract, stage, hedge, holder : optional
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
            "source": source,
            "verified": verified,
        }
        if parameter != "fee":
            if value is None:
                raise InputError(f"with_override({parameter!r}) needs a value")
            row["value"] = value
        row.update(fee_fields)
        for key, v in (("contract", contract), ("stage", stage), ("hedge", hedge), ("holder", holder)):
            if v is not None:
                row[key] = v
        if parameter not in PARAMETERS:
            raise InputError(f"unknown rule parameter {parameter!r}; accepted: {', '.join(PARAMETERS)}")
        rows = dict(self.rows)
        rows[parameter] = (*rows.get(parameter, ()), _normalise(parameter, row))
        return replace(self, rows=rows)

    # ------------------------------------------------------------------ look-ups
    def frame(self, parameter: str) -> pl.DataFrame:
        """All rows of one parameter as a polars frame (for inspection and docs).

        Examples
        --------
        >>> RuleBook.default().frame("margin").filter(pl.col("product") == "sc").height > 3
        True
        """
        if parameter not in PARAMETERS:
            raise InputError(f"unknown rule parameter {parameter!r}; accepted: {', '.join(PARAMETERS)}")
        rows = [dict(r) for r in self.rows.get(parameter, ())]
        return pl.DataFrame(rows, infer_schema_length=None) if rows else pl.DataFrame()

    def _decide(
        self,
        parameter: str,
        c: Contract,
        on: dt.date,
        hedge: bool,
        holder: str,
    ) -> list[tuple[str, dict[str, Any]]]:
        """Rows in force per scope: [(scope, row)]."""
        stage = c.stage(on)
        best: dict[str, tuple[tuple[dt.date, int, int], dict[str, Any]]] = {}
        for idx, r in enumerate(self.rows.get(parameter, ())):
            if r["product"] != c.product.code or r["effective"] > on:
                continue
            if r.get("contract") not in (None, c.code):
                continue
            if r.get("stage") not in (None, stage):
                continue
            if r.get("hedge") not in (None, hedge):
                continue
            if r.get("holder") not in (None, "client", holder):
                continue
            if r.get("contract"):
                scope = f"contract:{r['contract']}"
            elif r.get("stage"):
                scope = f"stage:{r['stage']}"
            else:
                scope = "product"
            specific = int(r.get("hedge") is not None) + int(r.get("holder") not in (None, "client"))
            key = (r["effective"], specific, idx)
            if scope not in best or key > best[scope][0]:
                best[scope] = (key, r)
        # a holder-specific row (individuals) is its own constraint: keep it beside the client row
        out = [(s, r) for s, (_, r) in best.items()]
        if holder != "client":
            for r in self.rows.get(parameter, ()):
                if (
                    r.get("holder") == holder
                    and r["product"] == c.product.code
                    and r["effective"] <= on
                    and r.get("stage") in (None, stage)
                    and r.get("contract") in (None, c.code)
                    and all(r is not rr for _, rr in out)
                ):
                    out.append((f"holder:{holder}", r))
        return out

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
        d = c.calendar.require_trading_day(on, "on")
        if holder not in _HOLDERS:
            raise InputError(f"holder={holder!r}; accepted: {', '.join(_HOLDERS)}")
        decided = self._decide(parameter, c, d, hedge, holder)
        if not decided:
            raise RuleNotFound(
                f"no {parameter} rule for {c.code} on {d} (hedge={hedge}); the bundled data "
                "has none for that product and date: add one with RuleBook.with_override("
                f"{parameter!r}, {c.product.code!r}, value, effective=...)"
            )
        how = _COMBINE[parameter]
        if how == "max":
            scope, row = max(decided, key=lambda sr: sr[1]["value"])
        elif how == "min":
            scope, row = min(decided, key=lambda sr: sr[1]["value"])
        else:
            order = {"contract": 0, "stage": 1, "holder": 1, "product": 2}
            scope, row = min(decided, key=lambda sr: order[sr[0].split(":")[0]])
        return RuleValue(
            parameter=parameter,
            value=float(row["value"]) if "value" in row else math.nan,
            effective=row["effective"],
            sources=tuple(dict.fromkeys(r["source"] for _, r in decided)),
            verified=all(r["verified"] for _, r in decided),
            scope=scope,
        )

    def margin_rate(self, contract_code: str | Contract, on: DateLike, hedge: bool = False) -> RuleValue:
        """Exchange margin rate [fraction of contract value] in force on trading day ``on``.

        Examples
        --------
        >>> RuleBook.default().margin_rate("sc2509", "2025-06-03").value
        0.11
        >>> RuleBook.default().margin_rate("sc2509", "2025-08-28").value  # 2nd day before LTD
        0.2
        """
        return self._value("margin", contract_code, on, hedge=hedge)

    def first_day_limit_multiplier(self, product_code: str) -> float:
        """Multiplier of the price limit on a contract's first trading day (2.0 at INE/DCE)."""
        entry = self.first_day.get(product_code)
        return float(entry["value"]) if entry else 1.0

    def price_limit(
        self, contract_code: str | Contract, on: DateLike, prev_settle: float | None = None
    ) -> PriceLimit:
        """Daily price limit on ``on``, and the band around ``prev_settle`` rounded to the tick.

        The band is ``prev_settle × (1 ± rate)`` with the upper limit rounded down and the
        lower rounded up to the tick (inside the band). On a contract's first trading day
        the rate is multiplied (doubled at INE and DCE).

        Examples
        --------
        >>> pl_ = RuleBook.default().price_limit("sc2509", "2025-06-03", prev_settle=480.3)
        >>> pl_.rate, pl_.upper, pl_.lower
        (0.09, 523.5, 437.1)
        """
        c = contract_code if isinstance(contract_code, Contract) else contract(contract_code)
        rule = self._value("price_limit", c, on)
        first = parse_date(on) == c.first_trading_day
        rate = rule.value * (self.first_day_limit_multiplier(c.product.code) if first else 1.0)
        upper = lower = None
        if prev_settle is not None:
            if not math.isfinite(prev_settle):
                raise InputError(f"prev_settle={prev_settle!r} must be a finite price")
            tick = c.product.tick
            upper = _round_tick(prev_settle + abs(prev_settle) * rate, tick, "down")
            lower = _round_tick(prev_settle - abs(prev_settle) * rate, tick, "up")
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
        d = c.calendar.require_trading_day(on, "on")
        decided = self._decide("fee", c, d, False, "client")
        if not decided:
            raise RuleNotFound(
                f"no fee rule for {c.code} on {d}; add one with RuleBook.with_override('fee', ...)"
            )
        order = {"contract": 0, "stage": 1, "product": 2}
        _, row = min(decided, key=lambda sr: order[sr[0].split(":")[0]])
        return Fee(
            basis=row["basis"],
            open=float(row["open"]),
            close=float(row["close"]),
            close_today=float(row["close_today"]),
            effective=row["effective"],
            source=row["source"],
            verified=bool(row["verified"]),
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
        d = parse_date(on)
        rows = [r for _, r in self._decide("position_limit", c, d, False, holder)]
        for r in rows:
            if (
                r["value"] == rv.value
                and "oi_fraction" in r
                and open_interest is not None
                and open_interest > r.get("oi_threshold", 0)
            ):
                return replace(rv, value=max(rv.value, math.floor(r["oi_fraction"] * open_interest)))
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

    # ------------------------------------------------------------------ vectorised
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

        The contract stages are assigned once and shared by all parameters.

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
            if parameter not in _COMBINE or parameter == "fee":
                raise InputError(
                    f"table() takes one of {', '.join(p for p in PARAMETERS if p != 'fee')}; "
                    f"got {parameter!r}"
                )
        missing = {"trading_day", "contract"} - set(frame.columns)
        if missing:
            raise InputError(f"frame lacks column(s) {sorted(missing)}; it needs trading_day and contract")
        f = frame.select("trading_day", "contract").with_row_index("_row")
        codes = f["contract"].unique().to_list()
        stages = _stage_frame(codes)
        f = (
            f.sort("trading_day")
            .join_asof(
                stages,
                left_on="trading_day",
                right_on="start",
                by="contract",
                strategy="backward",
                check_sortedness=False,
            )
            .with_columns(
                pl.col("contract")
                .replace_strict({c: contract(c).product.code for c in codes}, return_dtype=pl.String)
                .alias("product")
            )
        )
        for parameter in parameters:
            value, verified = self._resolve(parameter, f, hedge=hedge, holder=holder)
            f = f.with_columns(value.alias(parameter), verified.alias(f"{parameter}_verified"))
        out = f.sort("_row")
        cols = [c for p in parameters for c in (p, f"{p}_verified")]
        return frame.with_columns(out["stage"], *(out[c] for c in cols))

    def _resolve(
        self, parameter: str, f: pl.DataFrame, *, hedge: bool, holder: str
    ) -> tuple[pl.Series, pl.Series]:
        """Value and verified flag of one parameter for each row of a staged frame (same order)."""
        rows = [
            r
            for r in self.rows.get(parameter, ())
            if r.get("hedge") in (None, hedge) and r.get("holder") in (None, "client", holder)
        ]
        if not rows:
            return pl.Series([None] * f.height, dtype=pl.Float64), pl.Series(
                [None] * f.height, dtype=pl.Boolean
            )
        r = pl.DataFrame(
            [
                {
                    "product": x["product"],
                    "contract_key": x.get("contract"),
                    "stage_key": x.get("stage"),
                    "effective": x["effective"],
                    "value": float(x["value"]),
                    "verified": bool(x["verified"]),
                    "specific": int(x.get("hedge") is not None)
                    + int(x.get("holder") not in (None, "client")),
                    "idx": i,
                }
                for i, x in enumerate(rows)
            ],
            schema={
                "product": pl.String,
                "contract_key": pl.String,
                "stage_key": pl.String,
                "effective": pl.Date,
                "value": pl.Float64,
                "verified": pl.Boolean,
                "specific": pl.Int64,
                "idx": pl.Int64,
            },
        )
        # within a scope and date, the most specific (then the last written) row wins
        r = r.sort("effective", "specific", "idx").unique(
            ["product", "contract_key", "stage_key", "effective"], keep="last", maintain_order=True
        )
        scopes = {
            "product": (pl.col("contract_key").is_null() & pl.col("stage_key").is_null(), ["product"]),
            "stage": (
                pl.col("contract_key").is_null() & pl.col("stage_key").is_not_null(),
                ["product", "stage"],
            ),
            "contract": (pl.col("contract_key").is_not_null(), ["product", "contract"]),
        }
        g = f.select("trading_day", "contract", "stage", "product")
        for name, (cond, keys) in scopes.items():
            sub = r.filter(cond).rename({"stage_key": "stage", "contract_key": "contract"})
            sub = sub.select(
                *keys, "effective", pl.col("value").alias(f"v_{name}"), pl.col("verified").alias(f"ok_{name}")
            )
            if sub.height == 0:
                g = g.with_columns(
                    pl.lit(None, pl.Float64).alias(f"v_{name}"), pl.lit(None, pl.Boolean).alias(f"ok_{name}")
                )
                continue
            # ``f`` is sorted by trading_day, and an as-of join keeps the left row order
            g = g.join_asof(
                sub.sort("effective"),
                left_on="trading_day",
                right_on="effective",
                by=keys,
                strategy="backward",
                check_sortedness=False,
            ).drop("effective")
        vs = [pl.col(f"v_{n}") for n in ("product", "stage", "contract")]
        how = _COMBINE[parameter]
        if how == "max":
            value = pl.max_horizontal(vs)
        elif how == "min":
            value = pl.min_horizontal(vs)
        else:
            value = pl.coalesce(vs[2], vs[1], vs[0])
        verified = pl.all_horizontal(
            [pl.col(f"ok_{n}").fill_null(True) for n in ("product", "stage", "contract")]
        )
        out = g.select(value.alias("value"), verified.alias("verified"))
        return out["value"], out["verified"]


def _stage_frame(codes: list[str]) -> pl.DataFrame:
    rows: dict[str, list[Any]] = {"contract": [], "start": [], "stage": []}
    for code in codes:
        c = contract(code)
        for name, start in c.stage_starts().items():
            rows["contract"].append(code)
            rows["start"].append(start)
            rows["stage"].append(name)
    return pl.DataFrame(rows, schema={"contract": pl.String, "start": pl.Date, "stage": pl.String}).sort(
        "start"
    )


def _normalise(parameter: str, row: dict[str, Any]) -> dict[str, Any]:
    out = dict(row)
    for key in ("product", "effective", "source", "verified"):
        if key not in out:
            raise InputError(f"{parameter} rule {row!r} lacks the field {key!r}")
    out["product"] = str(out["product"]).lower()
    out["effective"] = parse_date(out["effective"], "effective")
    if "contract" in out:
        out["contract"] = contract(out["contract"]).code
    if parameter == "fee":
        for key in ("basis", "open", "close", "close_today"):
            if key not in out:
                raise InputError(f"fee rule {row!r} lacks the field {key!r}")
        if out["basis"] not in ("per_lot", "per_turnover"):
            raise InputError(f"fee basis {out['basis']!r}; accepted: 'per_lot', 'per_turnover'")
    elif "value" not in out:
        raise InputError(f"{parameter} rule {row!r} lacks the field 'value'")
    elif not (isinstance(out["value"], int | float) and math.isfinite(out["value"]) and out["value"] >= 0):
        raise InputError(f"{parameter} rule value {out['value']!r} must be a finite number >= 0")
    if out.get("holder") not in (None, *_HOLDERS):
        raise InputError(f"holder {out['holder']!r}; accepted: {', '.join(_HOLDERS)}")
    return out


@functools.cache
def _default_book() -> RuleBook:
    return RuleBook.from_dict(load_toml("rules.toml"))


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
    >>> price_limit("i2509", "2025-06-03", prev_settle=714.0).upper
    785.0
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


def first_day_limit_multiplier(product_code: str, *, book: RuleBook | None = None) -> float:
    """Price-limit multiplier on a contract's first trading day.

    Examples
    --------
    >>> first_day_limit_multiplier("sc")
    2.0
    """
    return _book(book).first_day_limit_multiplier(product_code)
