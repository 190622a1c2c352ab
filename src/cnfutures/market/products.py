"""Product specifications (contract size, tick, months, sessions, foreign access dates).

Data: ``cnfutures/market/data/products.toml`` and ``sessions.toml``; every field carries its
source, and fields resting on unverified facts are listed in :attr:`Product.unverified`.
"""

from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass, field

from cnfutures._dates import DateLike, parse_date
from cnfutures.errors import RuleNotFound, UnknownProduct
from cnfutures.market._data import load_toml
from cnfutures.market._dated import in_force

__all__ = ["Product", "Session", "product", "products"]


@dataclass(frozen=True)
class Session:
    """One continuous-trading session, Beijing time.

    Attributes
    ----------
    kind : str
        ``"day"`` or ``"night"``.
    open, close : datetime.time
        Open and close [Beijing time]; a night close earlier than its open is past midnight.
    """

    kind: str
    open: dt.time
    close: dt.time

    @property
    def crosses_midnight(self) -> bool:
        """True when the session closes after midnight (e.g. sc 21:00-02:30)."""
        return self.close < self.open


@dataclass(frozen=True)
class Product:
    """Specification of one futures product.

    Attributes
    ----------
    code : str
        Exchange product code in exchange style (``"sc"``, ``"i"``, ``"nr"``, ``"ru"``).
    exchange : str
        ``"INE"``, ``"DCE"`` or ``"SHFE"``.
    name : str
        English name.
    multiplier : float
        Contract size [unit/lot], e.g. 1000 bbl per lot for ``sc``.
    unit : str
        Physical unit of the quote (``"bbl"``, ``"t"``).
    currency : str
        Quote currency (``"CNY"``).
    tick : float
        Minimum price fluctuation [currency/unit].
    months : tuple of int
        Listed delivery months (1-12).
    tax_inclusive : bool
        True when the price includes VAT and duty (DCE ``i``, SHFE ``ru``), False for the
        bonded, net-of-tax INE products.
    listed : datetime.date or None
        Listing date of the product.
    foreign_open : datetime.date or None
        Date opened to overseas traders as a specified product (None if never).
    first_foreign_contract : str or None
        First contract overseas traders may trade (``"i1809"``).
    specified_product : bool
        True for CSRC "specified domestic futures products" (open to overseas traders).
    ltd_rule : str
        Last-trading-day rule (see ``products.toml``).
    delivery_days : int
        Delivery period after the last trading day [trading days].
    sources : dict
        Source of each field.
    unverified : tuple of str
        Fields whose value rests on an unverified fact.
    negative_prices : bool
        Whether the product's futures may settle at zero or below (crude oil; not iron ore or
        rubber): a non-positive price of another product is a data error.
    """

    code: str
    exchange: str
    name: str
    multiplier: float
    unit: str
    currency: str
    tick: float
    months: tuple[int, ...]
    tax_inclusive: bool
    listed: dt.date | None
    foreign_open: dt.date | None
    first_foreign_contract: str | None
    first_contract: str | None
    specified_product: bool
    negative_prices: bool
    ltd_rule: str
    delivery_days: int
    listing_years_monthly: int
    listing_years_quarterly: int
    sources: dict[str, str] = field(default_factory=dict, compare=False, repr=False)
    unverified: tuple[str, ...] = ()
    delivery_days_until: tuple[str, int] | None = None

    @property
    def verified(self) -> bool:
        """True when no field of this product rests on an unverified fact."""
        return not self.unverified

    @property
    def quote_unit(self) -> str:
        """The quote unit, e.g. ``"CNY/bbl"``."""
        return f"{self.currency}/{self.unit}"

    def sessions(self, on: DateLike) -> tuple[Session, ...]:
        """Regular sessions in force on trading day ``on`` (night first, when the product has one).

        This is the product's session grid; whether a given trading day actually had its
        night session (holidays, suspensions) is answered by
        :meth:`cnfutures.TradingCalendar.sessions`.

        Parameters
        ----------
        on : date or str
            Trading day.

        Returns
        -------
        tuple of Session

        Examples
        --------
        >>> [s.open.isoformat("minutes") for s in product("sc").sessions("2025-06-26")]
        ['21:00', '09:00', '10:30', '13:30']
        """
        d = parse_date(on, "on")
        night = self.night_session(d)
        day = _day_sessions(self.exchange, d)
        return ((night,) if night is not None else ()) + day

    def night_session(self, on: DateLike) -> Session | None:
        """The product's night session grid in force on trading day ``on`` (None if none).

        Examples
        --------
        >>> product("i").night_session("2025-06-27").close
        datetime.time(23, 0)
        """
        d = parse_date(on, "on")
        best = in_force(load_toml("sessions.toml")["night"], d, where=lambda r: r["product"] == self.code)
        if best is None:
            return None
        return Session("night", _t(str(best["open"])), _t(str(best["close"])))

    def latest_night_close(self) -> dt.time | None:
        """Latest night close over all dated rows (used for exchange-wide timestamp checks)."""
        rows = [r for r in load_toml("sessions.toml")["night"] if r["product"] == self.code]
        if not rows:
            return None
        return _t(max(rows, key=lambda r: r["effective"])["close"])


def _t(text: str) -> dt.time:
    return dt.time.fromisoformat(text)


def _day_sessions(exchange: str, on: dt.date) -> tuple[Session, ...]:
    best = in_force(load_toml("sessions.toml")["day"], on, where=lambda r: r["exchange"] in ("*", exchange))
    if best is None:
        raise RuleNotFound(f"no day-session grid for exchange {exchange!r} on {on}")
    return tuple(Session("day", _t(a), _t(b)) for a, b in best["sessions"])


@functools.cache
def _all_products() -> dict[str, Product]:
    out: dict[str, Product] = {}
    for code, row in load_toml("products.toml").items():
        until = row.get("delivery_days_before")
        out[code] = Product(
            code=code,
            exchange=row["exchange"],
            name=row["name"],
            multiplier=float(row["multiplier"]),
            unit=row["unit"],
            currency=row["currency"],
            tick=float(row["tick"]),
            months=tuple(int(m) for m in row["months"]),
            tax_inclusive=bool(row["tax_inclusive"]),
            listed=row.get("listed"),
            foreign_open=row.get("foreign_open"),
            first_foreign_contract=row.get("first_foreign_contract") or None,
            first_contract=row.get("first_contract") or None,
            specified_product=bool(row["specified_product"]),
            negative_prices=bool(row["negative_prices"]),
            ltd_rule=row["ltd_rule"],
            delivery_days=int(row["delivery_days"]),
            listing_years_monthly=int(row["listing_years_monthly"]),
            listing_years_quarterly=int(row["listing_years_quarterly"]),
            sources=dict(row.get("source", {})),
            unverified=tuple(row.get("unverified", ())),
            delivery_days_until=(until["until_contract"], int(until["days"])) if until else None,
        )
    return out


def product(code: str) -> Product:
    """Return the specification of product ``code`` (any case).

    Parameters
    ----------
    code : str
        Product code: ``"sc"``, ``"i"``, ``"nr"``, ``"ru"``, ``"lu"``, ``"bc"``.

    Returns
    -------
    Product

    Raises
    ------
    UnknownProduct
        If the code is not in the product table; the message lists the known codes.

    Examples
    --------
    >>> p = product("SC")
    >>> p.exchange, p.multiplier, p.tick, p.quote_unit
    ('INE', 1000.0, 0.1, 'CNY/bbl')
    """
    table = _all_products()
    key = code.strip().lower() if isinstance(code, str) else code
    if key not in table:
        raise UnknownProduct(f"unknown product {code!r}; known products: {', '.join(sorted(table))}")
    return table[key]


def products() -> list[Product]:
    """Return every product in the table, sorted by code.

    Examples
    --------
    >>> [p.code for p in products()]
    ['bc', 'i', 'lu', 'nr', 'ru', 'sc']
    """
    return [v for _, v in sorted(_all_products().items())]
