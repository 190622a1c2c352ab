"""Options on the futures: codes, specs, expiry, strike grids, listed strikes, and their rules.

An option contract is one lot of an underlying futures contract (:func:`~cnfutures.market.contracts.contract`
parses the underlying; there is one futures-code parser), a type (call/put), a strike and a
style. The specs are data (``market/data/options.toml``, every block with its source and a
``verified`` flag); the option rules that change by notice (the short-margin floor, fees,
maximum order size) are dated rows of the one rule table (``rules.toml``: ``option_margin_floor``,
``option_fee``, ``option_max_order``), scoped by the underlying product and contract.

Codes are accepted in the forms the exchanges and data feeds use, any case, with or without
dashes and an exchange prefix (``sc2509C490``, ``SC2509-C-490``, ``INE.sc2509C490``,
``i2509-C-700``, ``I2509C700``, ``DCE.i2509-C-700``, ``ru2509C15000``), and printed in the
exchange's style: INE and SHFE without dashes (``sc2509C490``), DCE with (``i2509-C-700``).

Examples
--------
>>> o = option("SC2509-C-490")
>>> o.code, o.underlying.code, o.kind, o.strike, o.style, o.expiry
('sc2509C490', 'sc2509', 'call', 490.0, 'american', datetime.date(2025, 8, 13))
>>> option("I2509C700").code
'i2509-C-700'
"""

from __future__ import annotations

import datetime as dt
import functools
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, cast

import polars as pl

from cnfutures._dates import DateLike, parse_date
from cnfutures.errors import CalendarOutOfBounds, InputError, RuleNotFound, UnknownContract, UnknownProduct
from cnfutures.market._data import load_toml
from cnfutures.market._dated import in_force
from cnfutures.market.calendar import TradingCalendar, calendar
from cnfutures.market.contracts import Contract, _add_months, contract
from cnfutures.market.rules import RuleBook

__all__ = [
    "ExerciseRule",
    "OptionContract",
    "OptionFee",
    "OptionMargin",
    "OptionPriceLimit",
    "OptionProduct",
    "StrikeGrid",
    "listed_options",
    "listed_strikes",
    "option",
    "option_fee",
    "option_margin",
    "option_max_order",
    "option_price_limit",
    "option_product",
    "option_products",
    "short_margin",
]

Kind = Literal["call", "put"]
_CODE = re.compile(
    r"^\s*(?:(?P<ex>[A-Za-z]{3,4})\.)?(?P<root>[A-Za-z]{1,2})(?P<ym>\d{4})[-_ ]?(?P<cp>[CcPp])[-_ ]?"
    r"(?P<k>\d+(?:\.\d+)?)\s*$"
)
_ACCEPTED = "'sc2509C490', 'i2509-C-700', 'ru2509C15000' (any case; dashes and an exchange prefix optional)"


# --------------------------------------------------------------------------------------
# specs
# --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class StrikeGrid:
    """The strike intervals of a product from a date on.

    Attributes
    ----------
    effective : datetime.date
        First trading day the grid applies.
    bands : tuple of (upper bound, interval)
        A strike ``K <= bound`` (the first such band) uses the interval [CNY/unit].
    above : float
        Interval above the last bound [CNY/unit].
    coverage : float
        Listed strikes cover the previous settlement ± ``coverage`` × the day's limit amount.
    source : str
    verified : bool
    """

    effective: dt.date
    bands: tuple[tuple[float, float], ...]
    above: float
    coverage: float
    source: str
    verified: bool

    def interval(self, strike: float, side: Literal["up", "down"] = "down") -> float:
        """Strike interval at a price level [CNY/unit].

        ``side="down"``: the band containing ``(K - ε, K]`` (the step to the next lower strike);
        ``"up"``: the band containing ``(K, K + ε)`` (the step to the next higher strike).

        Examples
        --------
        >>> g = option_product("sc").grid()
        >>> g.interval(250.0), g.interval(250.0, "up"), g.interval(600.0)
        (2.0, 5.0, 10.0)
        """
        for bound, step in self.bands:
            if (strike <= bound) if side == "down" else (strike < bound):
                return step
        return self.above

    def on_grid(self, strike: float) -> bool:
        """True when ``strike`` is a strike of the grid (a multiple of its band's interval).

        Examples
        --------
        >>> g = option_product("sc").grid()
        >>> g.on_grid(490.0), g.on_grid(493.0), g.on_grid(248.0), g.on_grid(505.0)
        (True, False, True, False)
        """
        if not (math.isfinite(strike) and strike > 0):
            return False
        q = strike / self.interval(strike)
        return abs(q - round(q)) < 1e-9

    def nearest(self, price: float) -> tuple[float, float]:
        """The grid strikes at or just below and at or just above ``price``.

        Examples
        --------
        >>> option_product("sc").grid().nearest(493.0)
        (490.0, 495.0)
        """
        smallest = self.interval(0.0, "up")
        if price <= smallest:  # nothing below the lowest strike
            return smallest, smallest
        step = self.interval(price)
        lo = math.floor(price / step + 1e-9) * step
        hi = lo if abs(lo - price) < 1e-9 else lo + self.interval(lo, "up")
        return float(lo), float(hi)

    def strikes(self, lo: float, hi: float) -> list[float]:
        """Grid strikes ``lo <= K <= hi``, ascending.

        Examples
        --------
        >>> option_product("sc").grid().strikes(244.0, 262.0)
        [244.0, 246.0, 248.0, 250.0, 255.0, 260.0]
        """
        k = self.nearest(max(lo, 1e-9))[1]
        out: list[float] = []
        while k <= hi + 1e-9:
            out.append(float(k))
            k = round(k + self.interval(k, "up"), 9)
        return out


@dataclass(frozen=True)
class ExerciseRule:
    """Exercise and expiry handling in force from a date.

    Attributes
    ----------
    effective : datetime.date
    abandon : bool
        Buyers may file an abandonment (do-not-exercise) request; before DCE's 2025-06-24 change
        they could only cancel the automatic exercise.
    auto_exercise : str
        ``"in_the_money"``: with no instruction, after the close on expiry the exchange exercises
        calls with ``K`` below and puts with ``K`` above the underlying's settlement that day.
    cutoff : str
        Deadline for requests on expiry day (Beijing time).
    source : str
    verified : bool
    note : str
    """

    effective: dt.date
    abandon: bool
    auto_exercise: str
    cutoff: str
    source: str
    verified: bool
    note: str = ""


@dataclass(frozen=True)
class OptionProduct:
    """The option specification of one underlying product (``options.toml``).

    Attributes
    ----------
    code : str
        The underlying product code (``"sc"``, ``"i"``, ``"ru"``).
    exchange : str
    name : str
    listed : datetime.date
        Listing day of the options.
    first_series : str
        Underlying contract of the first listed option series.
    style : {"american", "european"}
    tick : float [CNY/unit]
    code_style : {"plain", "dash"}
        ``sc2509C490`` or ``i2509-C-700``.
    overseas_from, qfi_from : datetime.date or None
        Open to overseas traders (specified product) / on the QFI list from; None = not known.
    source : str
    verified : bool
    """

    code: str
    exchange: str
    name: str
    listed: dt.date
    first_series: str
    style: str
    tick: float
    code_style: str
    exercise_cutoff: str
    settlement_method: str
    overseas_from: dt.date | None
    qfi_from: dt.date | None
    access_source: str
    source: str
    verified: bool
    expiry_rules: tuple[tuple[str, str, str, bool], ...] = field(repr=False)
    expiry_overrides: tuple[tuple[str, dt.date, str], ...] = field(repr=False)
    grids: tuple[StrikeGrid, ...] = field(repr=False)
    exercise_rules: tuple[ExerciseRule, ...] = field(repr=False)

    @property
    def calendar(self) -> TradingCalendar:
        """Trading calendar of the exchange."""
        return calendar(self.exchange)

    def grid(self, on: DateLike | None = None) -> StrikeGrid:
        """The strike grid in force on ``on`` (default: the latest).

        Raises
        ------
        RuleNotFound
            ``on`` is before the options listed.
        """
        if on is None:
            return self.grids[-1]
        d = parse_date(on, "on")
        grid = in_force(self.grids, d)
        if grid is None:
            raise RuleNotFound(f"{self.code} options list on {self.listed}; no strike grid on {d}")
        return cast(StrikeGrid, grid)

    def exercise_rule(self, on: DateLike) -> ExerciseRule:
        """Exercise rule in force on ``on``.

        Examples
        --------
        >>> p = option_product("i")
        >>> p.exercise_rule("2025-06-20").abandon, p.exercise_rule("2025-06-24").abandon
        (False, True)
        """
        d = parse_date(on, "on")
        rule = in_force(self.exercise_rules, d)
        if rule is None:
            raise RuleNotFound(f"{self.code} options list on {self.listed}; no exercise rule on {d}")
        return cast(ExerciseRule, rule)

    def format_code(self, underlying: str, kind: str, strike: float) -> str:
        """Exchange-style option code.

        Examples
        --------
        >>> option_product("i").format_code("i2509", "put", 700.0)
        'i2509-P-700'
        """
        cp = "C" if kind == "call" else "P"
        k = f"{strike:g}" if strike != int(strike) else str(int(strike))
        return f"{underlying}-{cp}-{k}" if self.code_style == "dash" else f"{underlying}{cp}{k}"


def _rows(spec: Mapping[str, Any], key: str, code: str) -> list[Mapping[str, Any]]:
    rows = spec.get(key)
    if not rows:
        raise UnknownProduct(f"options.toml: [{code}] lacks [[{code}.{key}]] rows")
    return list(rows)


@functools.cache
def _all() -> dict[str, OptionProduct]:
    out: dict[str, OptionProduct] = {}
    for code, spec in load_toml("options.toml").items():
        access = spec.get("access", {})
        grids = tuple(
            StrikeGrid(
                effective=parse_date(g["effective"]),
                bands=tuple((float(b), float(s)) for b, s in g["bands"]),
                above=float(g["above"]),
                coverage=float(g["coverage"]),
                source=str(g["source"]),
                verified=bool(g["verified"]),
            )
            for g in sorted(_rows(spec, "strike_grid", code), key=lambda g: g["effective"])
        )
        exercise = tuple(
            ExerciseRule(
                effective=parse_date(r["effective"]),
                abandon=bool(r["abandon"]),
                auto_exercise=str(r["auto_exercise"]),
                cutoff=str(spec["exercise_cutoff"]),
                source=str(r["source"]),
                verified=bool(r["verified"]),
                note=str(r.get("note", "")),
            )
            for r in sorted(_rows(spec, "exercise", code), key=lambda r: r["effective"])
        )
        expiry = tuple(
            (contract(r["contract_from"]).code, str(r["rule"]), str(r["source"]), bool(r["verified"]))
            for r in _rows(spec, "expiry", code)
        )
        srcs = spec.get("expiry_override_sources", {})
        overrides = tuple(
            (contract(k).code, parse_date(v), str(srcs.get(k, "")))
            for k, v in spec.get("expiry_overrides", {}).items()
        )
        style = str(spec["style"])
        if style not in ("american", "european"):
            raise UnknownProduct(f"options.toml: [{code}] style={style!r}; accepted: 'american', 'european'")
        out[code] = OptionProduct(
            code=code, exchange=str(spec["exchange"]), name=str(spec["name"]),
            listed=parse_date(spec["listed"]),
            first_series=contract(spec["first_series"]).code, style=style, tick=float(spec["tick"]),
            code_style=str(spec["code_style"]), exercise_cutoff=str(spec["exercise_cutoff"]),
            settlement_method=str(spec["settlement_method"]),
            overseas_from=parse_date(access["overseas_from"]) if "overseas_from" in access else None,
            qfi_from=parse_date(access["qfi_from"]) if "qfi_from" in access else None,
            access_source=str(access.get("source", "")), source=str(spec["source"]),
            verified=bool(spec["verified"]),
            expiry_rules=expiry, expiry_overrides=overrides, grids=grids, exercise_rules=exercise,
        )  # fmt: skip
    return out


def option_products() -> list[OptionProduct]:
    """Every option product with a shipped spec.

    Examples
    --------
    >>> [p.code for p in option_products()]
    ['sc', 'i', 'ru']
    """
    return list(_all().values())


def option_product(code: str) -> OptionProduct:
    """The option spec of an underlying product (``"sc"``, ``"i"``, ``"ru"``; any case).

    Raises
    ------
    UnknownProduct
        No option spec is shipped for the product (``nr``: its options' specs are unverified).

    Examples
    --------
    >>> option_product("SC").listed
    datetime.date(2021, 6, 21)
    """
    key = str(code).strip().lower()
    specs = _all()
    if key not in specs:
        extra = (
            "; INE TSR 20 (nr) options' listing date, style, expiry and strikes are UNVERIFIED, so no spec "
            "is shipped"
            if key == "nr"
            else ""
        )
        raise UnknownProduct(f"no options on product {code!r}{extra}; options known: {', '.join(specs)}")
    return specs[key]


# --------------------------------------------------------------------------------------
# contracts
# --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class OptionContract:
    """One option contract: an underlying futures contract, a type, a strike.

    Attributes
    ----------
    spec : OptionProduct
    underlying : Contract
        The futures contract delivered on exercise (one lot per option lot).
    kind : {"call", "put"}
    strike : float [CNY/unit]
    code : str
        Exchange-style code.

    Examples
    --------
    >>> o = option("ru2509C15000")
    >>> o.multiplier, o.tick, o.exchange, o.expiry   # 5th-to-last trading day of August
    (10.0, 1.0, 'SHFE', datetime.date(2025, 8, 25))
    """

    spec: OptionProduct
    underlying: Contract
    kind: Kind
    strike: float
    code: str

    def __repr__(self) -> str:
        return f"OptionContract({self.code!r})"

    def __str__(self) -> str:
        return self.code

    @property
    def style(self) -> str:
        """``"american"`` or ``"european"``."""
        return self.spec.style

    @property
    def exchange(self) -> str:
        """Exchange of the option (that of the underlying)."""
        return self.spec.exchange

    @property
    def multiplier(self) -> float:
        """Contract size [unit/lot]: that of the underlying futures contract."""
        return self.underlying.multiplier

    @property
    def tick(self) -> float:
        """Price tick of the option [CNY/unit]."""
        return self.spec.tick

    @property
    def w(self) -> int:
        """+1 for a call, -1 for a put."""
        return 1 if self.kind == "call" else -1

    @functools.cached_property
    def expiry_rule(self) -> tuple[str, str, bool]:
        """(rule, source, verified) that sets the expiry of this series."""
        for code, date, src in self.spec.expiry_overrides:
            if code == self.underlying.code:
                return (f"override:{date}", src, True)
        month = _month(self.underlying)
        live = [r for r in self.spec.expiry_rules if _month(contract(r[0])) <= month]
        rule = max(live, key=lambda r: _month(contract(r[0])))
        return rule[1], rule[2], rule[3]

    @functools.cached_property
    def expiry(self) -> dt.date:
        """Last trading day = expiry day of the option.

        Raises
        ------
        CalendarOutOfBounds
            The month before delivery lies beyond the calendar's data.

        Examples
        --------
        >>> option("i2412-C-700").expiry, option("i2501-C-700").expiry  # 5th, then 12th trading day
        (datetime.date(2024, 11, 7), datetime.date(2024, 12, 17))
        """
        for code, date, _src in self.spec.expiry_overrides:
            if code == self.underlying.code:
                return date
        rule = self.expiry_rule[0]
        kind, n = rule.split(":")
        y, m = _add_months(self.underlying.year, self.underlying.month, -1)
        days = self.spec.calendar.trading_days_in_month(y, m)
        if kind == "nth_last_trading_day_of_prior_month":
            return days[-int(n)]
        if kind == "nth_trading_day_of_prior_month":
            return days[int(n) - 1]
        raise UnknownProduct(
            f"options.toml: [{self.spec.code}] unknown expiry rule {rule!r}"
        )  # pragma: no cover

    @property
    def last_trading_day(self) -> dt.date:
        """Alias of :attr:`expiry`."""
        return self.expiry

    def is_listed(self, on: DateLike) -> bool:
        """True when the option's series can trade on ``on``: the options had listed, the
        underlying trades and ``on`` is at or before the expiry.

        Whether a given strike was listed that day also depends on the underlying's price
        history (strikes are added as the price moves): see :func:`listed_strikes`. Whether a
        far series was listed depends on the underlying's open interest for sc and ru (further
        months list after a threshold): not modelled.

        Examples
        --------
        >>> o = option("sc2509C490")
        >>> o.is_listed("2025-08-13"), o.is_listed("2025-08-14")
        (True, False)
        """
        d = parse_date(on, "on")
        if d < self.spec.listed or not self.spec.calendar.is_trading_day(d):
            return False
        return self.underlying.is_listed(d) and d <= self.expiry

    def require_listed(self, on: DateLike) -> dt.date:
        """``on`` as a date, checked: a trading day on which the series trades.

        Raises
        ------
        UnknownContract
            Naming the option, the day and the listing/expiry rule.
        """
        d = self.spec.calendar.require_trading_day(on, "on")
        if d < self.spec.listed:
            raise UnknownContract(
                f"{self.code}: {self.spec.code} options list on {self.spec.listed}; not on {d}"
            )
        if not self.underlying.is_listed(d):
            raise UnknownContract(
                f"{self.code}: the underlying {self.underlying.code} does not trade on {d} "
                f"(lists on {self.underlying.first_trading_day})"
            )
        if d > self.expiry:
            raise UnknownContract(
                f"{self.code} expired on {self.expiry} ({self.expiry_rule[0]}); it does not trade on {d}"
            )
        return d

    def intrinsic(self, underlying_price: float) -> float:
        """Exercise value per unit [CNY/unit]: ``max(w (F - K), 0)``."""
        return max(self.w * (underlying_price - self.strike), 0.0)

    def out_of_the_money(self, underlying_price: float) -> float:
        """Out-of-the-money amount per unit [CNY/unit]: call ``max(K - F, 0)``, put ``max(F - K, 0)``."""
        return max(-self.w * (underlying_price - self.strike), 0.0)


def _month(c: Contract) -> int:
    return c.year * 12 + c.month


def option(code: str) -> OptionContract:
    """Parse an option code into an :class:`OptionContract`.

    Parameters
    ----------
    code : str
        ``<product><YYMM><C|P><strike>`` with optional dashes (DCE writes ``i2509-C-700``) and an
        optional exchange prefix (``INE.``, ``DCE.``, ``SHFE.``), any case.

    Raises
    ------
    UnknownContract
        Bad format; a product without options; an underlying month before the first option
        series; a strike off the product's strike grid (the message names the nearest strikes).

    Examples
    --------
    >>> option("DCE.I2509-P-700").code
    'i2509-P-700'
    >>> try:
    ...     option("sc2509C493")
    ... except UnknownContract as exc:
    ...     print(str(exc).split("; ")[-1])
    nearest strikes: 490, 495
    """
    if not isinstance(code, str):
        raise UnknownContract(f"option code {code!r} must be a string such as {_ACCEPTED}")
    return _option(code)


@functools.cache
def _option(code: str) -> OptionContract:
    m = _CODE.match(code)
    if m is None:
        raise UnknownContract(f"option code {code!r} is not of the form {_ACCEPTED}")
    try:
        spec = option_product(m["root"])
    except UnknownProduct as exc:
        raise UnknownContract(f"option {code!r}: {exc}") from None
    if m["ex"] is not None and m["ex"].upper() != spec.exchange:
        raise UnknownContract(
            f"option {code!r}: prefix {m['ex']!r} is not the exchange of {spec.code} options "
            f"({spec.exchange})"
        )
    try:
        under = contract(f"{m['root']}{m['ym']}")
    except UnknownContract as exc:
        raise UnknownContract(f"option {code!r}: {exc}") from None
    if _month(under) < _month(contract(spec.first_series)):
        raise UnknownContract(
            f"option {code!r}: {spec.code} options list from the {spec.first_series} series "
            f"({spec.listed}); {under.code} has no options"
        )
    strike = float(m["k"])
    kind: Kind = "call" if m["cp"].upper() == "C" else "put"
    out = OptionContract(spec, under, kind, strike, spec.format_code(under.code, kind, strike))
    try:  # the grid in force at the series' expiry (the latest one for a series beyond the calendar)
        grid = spec.grid(out.expiry)
    except CalendarOutOfBounds:
        grid = spec.grid()
    if not grid.on_grid(strike):
        lo, hi = grid.nearest(strike)
        bands = ", ".join(f"<={b:g}: {s:g}" for b, s in grid.bands)
        raise UnknownContract(
            f"option {code!r}: strike {strike:g} is not on the {spec.code} strike grid ({bands}, above: "
            f"{grid.above:g} CNY/unit); nearest strikes: {lo:g}, {hi:g}"
        )
    return out


def _as_option(o: str | OptionContract) -> OptionContract:
    return o if isinstance(o, OptionContract) else option(o)


# --------------------------------------------------------------------------------------
# listed strikes
# --------------------------------------------------------------------------------------
def listed_strikes(
    underlying: str | Contract, on: DateLike, prev_settle: float, *, book: RuleBook | None = None
) -> list[float]:
    """Strikes listed on ``on`` around the underlying's previous settlement.

    The exchanges list strikes so that they cover the previous settlement ± ``coverage`` (1.5)
    × the day's price-limit amount (``prev_settle × limit rate``, doubled on the underlying's
    first day): the strikes between the grid strike at or below the lower end and the grid
    strike at or above the upper end. Strikes listed on earlier days stay listed; this returns
    the range the day's rule requires (a superset may trade).

    Parameters
    ----------
    underlying : str or Contract
        Futures contract, e.g. ``"sc2509"``.
    on : date or str
        A trading day on which the option series trades.
    prev_settle : float [CNY/unit]
        Settlement of the underlying on the previous trading day.
    book : RuleBook, optional
        Rules (default: the bundled ones) for the limit rate.

    Examples
    --------
    sc2509 settled at 480.3 on 2025-06-02 with a 9 % limit: 480.3 ± 1.5 × 43.227 = 415.46 .. 545.14

    >>> s = listed_strikes("sc2509", "2025-06-03", 480.3)
    >>> s[0], s[-1], len(s)
    (415.0, 550.0, 23)
    """
    c = underlying if isinstance(underlying, Contract) else contract(underlying)
    spec = option_product(c.product.code)
    if not (isinstance(prev_settle, int | float) and math.isfinite(prev_settle) and prev_settle > 0):
        raise InputError(f"prev_settle={prev_settle!r} must be a finite price > 0 [CNY/unit]")
    probe = OptionContract(spec, c, "call", 0.0, "")
    d = probe.require_listed(on)
    b = book if book is not None else RuleBook.default()
    rate = b.price_limit(c, d).rate
    grid = spec.grid(d)
    reach = grid.coverage * prev_settle * rate
    smallest = grid.interval(0.0, "up")  # the lowest strike of the grid
    lo = prev_settle - reach
    lo = smallest if lo <= smallest else grid.nearest(lo)[0]
    hi = grid.nearest(prev_settle + reach)[1]
    return grid.strikes(lo, hi)


def listed_options(
    product_code: str, on: DateLike, prev_settles: Mapping[str, float], *, book: RuleBook | None = None
) -> pl.DataFrame:
    """The option grid listed on ``on`` for the underlyings given with their previous settlement.

    Which series trade depends for sc and ru on the underlying's open interest (further months
    list after a threshold, not modelled): the caller names the underlying contracts. Each must
    have its option series trading that day (options listed, underlying trading, not expired).

    Parameters
    ----------
    product_code : str
        ``"sc"``, ``"i"`` or ``"ru"``.
    on : date or str
    prev_settles : mapping of underlying code to its previous settlement [CNY/unit]

    Returns
    -------
    polars.DataFrame
        ``trading_day``, ``option`` (exchange code), ``underlying``, ``kind``, ``strike``,
        ``expiry``, ``style``; calls then puts, by strike.

    Examples
    --------
    >>> f = listed_options("i", "2025-06-03", {"i2509": 702.0})
    >>> f.height, f["option"][0], f["expiry"][0]
    (42, 'i2509-C-600', datetime.date(2025, 8, 18))
    """
    spec = option_product(product_code)
    rows: dict[str, list[Any]] = {k: [] for k in ("trading_day", "option", "underlying", "kind", "strike",
                                                   "expiry", "style")}  # fmt: skip
    d = parse_date(on, "on")
    for code, settle in prev_settles.items():
        c = contract(code)
        if c.product.code != spec.code:
            raise InputError(f"prev_settles: {c.code} is not a {spec.code} contract")
        strikes = listed_strikes(c, d, settle, book=book)
        for kind in ("call", "put"):
            for k in strikes:
                o = OptionContract(spec, c, kind, k, spec.format_code(c.code, kind, k))  # type: ignore[arg-type]
                rows["trading_day"].append(d)
                rows["option"].append(o.code)
                rows["underlying"].append(c.code)
                rows["kind"].append(kind)
                rows["strike"].append(k)
                rows["expiry"].append(o.expiry)
                rows["style"].append(spec.style)
    return pl.DataFrame(
        rows,
        schema={"trading_day": pl.Date, "option": pl.String, "underlying": pl.String, "kind": pl.String,
                "strike": pl.Float64, "expiry": pl.Date, "style": pl.String},
    )  # fmt: skip


# --------------------------------------------------------------------------------------
# rules: margin, fees, limits, order size
# --------------------------------------------------------------------------------------
def _rule_row(book: RuleBook, parameter: str, o: OptionContract, d: dt.date, hedge: bool = False) -> Any:
    comp = book.rules.compile(parameter, [o.underlying.code], [d], hedge=hedge)
    i = int(comp.row[0, 0])
    if i < 0:
        raise RuleNotFound(
            f"no {parameter} rule for {o.code} (underlying {o.underlying.code}) on {d}; add one with "
            f"RuleBook.with_override({parameter!r}, {o.spec.code!r}, ..., effective=...)"
        )
    entered = [comp.rows[j] for j in comp.used[:, 0, 0] if j >= 0]
    return comp.rows[i], float(comp.value[0, 0]), bool(comp.verified[0, 0]), tuple(r.source for r in entered)


@dataclass(frozen=True)
class OptionMargin:
    """Exchange margin of one short option lot on a day [CNY/lot], with its parts.

    ``margin = premium + max(futures_margin - ½ × otm_amount, floor × futures_margin)`` (INE
    options handbook, risk control; the same form at SHFE and DCE, see ``verified``).

    Attributes
    ----------
    margin : float [CNY/lot]
    premium : float [CNY/lot]
        Option settlement × size.
    futures_margin : float [CNY/lot]
        Underlying settlement × size × the futures margin rate.
    otm_amount : float [CNY/lot]
    floor : float
        Minimum coefficient of the futures margin.
    futures_rate : float
    sources : tuple of str
    verified : bool
    """

    margin: float
    premium: float
    futures_margin: float
    otm_amount: float
    floor: float
    futures_rate: float
    sources: tuple[str, ...]
    verified: bool


def short_margin(
    option_settle: float, underlying_settle: float, strike: float, w: int, size: float, futures_rate: float,
    floor: float,
) -> float:  # fmt: skip
    """Short-option margin per lot [CNY/lot] from its inputs (the exchanges' formula).

    ``premium + max(Fm - ½ OTM, floor × Fm)`` with ``premium = option_settle × size``,
    ``Fm = underlying_settle × size × futures_rate``, ``OTM = max(-w (F - K), 0) × size``.

    Examples
    --------
    Hand check: sc call K=490, option settle 12.5, F=480.3, 11 %: Fm = 52,833, OTM = 9,700,
    12,500 + max(52,833 - 4,850, 26,416.5) = 60,483

    >>> round(short_margin(12.5, 480.3, 490.0, 1, 1000.0, 0.11, 0.5), 6)
    60483.0
    """
    fm = underlying_settle * size * futures_rate
    otm = max(-w * (underlying_settle - strike), 0.0) * size
    return option_settle * size + max(fm - 0.5 * otm, floor * fm)


def option_margin(
    opt: str | OptionContract,
    on: DateLike,
    option_settle: float,
    underlying_settle: float,
    *,
    hedge: bool = False,
    book: RuleBook | None = None,
) -> OptionMargin:
    """Exchange margin of one short option lot at the settlement of ``on`` [CNY/lot].

    Buyers pay the premium in full and post no margin (INE handbook, clearing).

    Parameters
    ----------
    opt : str or OptionContract
    on : date or str
        Trading day whose settlement the margin is charged at.
    option_settle : float [CNY/unit]
        The option's settlement that day.
    underlying_settle : float [CNY/unit]
        The underlying futures' settlement that day.
    hedge : bool
        Use the hedging futures margin rate.
    book : RuleBook, optional

    Examples
    --------
    >>> m = option_margin("sc2509C490", "2025-06-03", 12.5, 480.3)
    >>> round(m.margin, 2), m.futures_rate, m.floor
    (60483.0, 0.11, 0.5)
    """
    o = _as_option(opt)
    d = o.require_listed(on)
    for name, x in (("option_settle", option_settle), ("underlying_settle", underlying_settle)):
        if not (isinstance(x, int | float) and math.isfinite(x) and x >= 0):
            raise InputError(f"{name}={x!r} must be a finite price >= 0 [CNY/unit]")
    b = book if book is not None else RuleBook.default()
    fr = b.margin_rate(o.underlying, d, hedge=hedge)
    _row, floor, fverified, fsources = _rule_row(b, "option_margin_floor", o, d, hedge)
    size = o.multiplier
    value = short_margin(option_settle, underlying_settle, o.strike, o.w, size, fr.value, floor)
    return OptionMargin(
        margin=value,
        premium=option_settle * size,
        futures_margin=underlying_settle * size * fr.value,
        otm_amount=o.out_of_the_money(underlying_settle) * size,
        floor=floor,
        futures_rate=fr.value,
        sources=tuple(dict.fromkeys(fr.sources + fsources)),
        verified=fr.verified and fverified,
    )


@dataclass(frozen=True)
class OptionFee:
    """Exchange fees of an option [CNY/lot]: trading (open, close, close today) and exercise.

    Attributes
    ----------
    basis : str
        ``"per_lot"``.
    open, close, close_today, exercise : float [CNY/lot]
    effective : datetime.date
    source : str
    verified : bool
    """

    basis: str
    open: float
    close: float
    close_today: float
    exercise: float
    effective: dt.date
    source: str
    verified: bool


def option_fee(opt: str | OptionContract, on: DateLike, *, book: RuleBook | None = None) -> OptionFee:
    """Exchange fee schedule of an option on ``on``.

    Examples
    --------
    >>> f = option_fee("ru2509C15000", "2025-06-03")
    >>> f.open, f.close_today, f.exercise, f.verified
    (3.0, 0.0, 3.0, True)
    """
    o = _as_option(opt)
    d = o.require_listed(on)
    row, _v, verified, _s = _rule_row(book if book is not None else RuleBook.default(), "option_fee", o, d)
    assert row.fee is not None
    return OptionFee(
        basis=row.fee[0], open=row.fee[1], close=row.fee[2], close_today=row.fee[3],
        exercise=float(row.get("exercise")), effective=row.effective, source=row.source, verified=verified,
    )  # fmt: skip


def option_max_order(
    opt: str | OptionContract, on: DateLike, *, book: RuleBook | None = None
) -> tuple[float, str, bool]:
    """Maximum order size of an option [lots], with its source and verified flag.

    Examples
    --------
    >>> option_max_order("i2509-C-700", "2025-06-03")[0]
    1000.0
    """
    o = _as_option(opt)
    d = o.require_listed(on)
    _row, value, verified, sources = _rule_row(
        book if book is not None else RuleBook.default(), "option_max_order", o, d
    )
    return value, " | ".join(sources), verified


@dataclass(frozen=True)
class OptionPriceLimit:
    """Daily price limit of an option [CNY/unit].

    ``upper = prev option settle + amount``, ``lower = max(prev option settle - amount, tick)``
    with ``amount = prev underlying settle × the underlying's limit rate`` (INE handbook, risk
    control; SHFE and DCE: the same limit as the futures). The prices are rounded inward to the
    option tick (upper down, lower up), as the futures band is: an assumption, not exchange text.

    Attributes
    ----------
    upper, lower : float [CNY/unit]
    amount : float [CNY/unit]
    rate : float
        The underlying's limit rate that day (first-day multiplier included).
    sources : tuple of str
    verified : bool
    """

    upper: float
    lower: float
    amount: float
    rate: float
    sources: tuple[str, ...]
    verified: bool


def option_price_limit(
    opt: str | OptionContract,
    on: DateLike,
    prev_option_settle: float,
    prev_underlying_settle: float,
    *,
    book: RuleBook | None = None,
) -> OptionPriceLimit:
    """Limit-up and limit-down prices of an option on ``on``.

    Examples
    --------
    >>> lim = option_price_limit("sc2509C490", "2025-06-03", 12.5, 480.3)
    >>> lim.amount, lim.upper, lim.lower   # 480.3 x 9 % = 43.227
    (43.227, 55.7, 0.05)
    """
    o = _as_option(opt)
    d = o.require_listed(on)
    for name, x in (
        ("prev_option_settle", prev_option_settle),
        ("prev_underlying_settle", prev_underlying_settle),
    ):
        if not (isinstance(x, int | float) and math.isfinite(x) and x >= 0):
            raise InputError(f"{name}={x!r} must be a finite price >= 0 [CNY/unit]")
    b = book if book is not None else RuleBook.default()
    lim = b.price_limit(o.underlying, d)
    amount = round(prev_underlying_settle * lim.rate, 10)
    inv = round(1.0 / o.tick)
    up = math.floor((prev_option_settle + amount) * inv + 1e-9) / inv
    dn = math.ceil((prev_option_settle - amount) * inv - 1e-9) / inv
    return OptionPriceLimit(
        upper=up, lower=max(dn, o.tick), amount=amount, rate=lim.rate, sources=lim.rule.sources,
        verified=lim.rule.verified,
    )  # fmt: skip
