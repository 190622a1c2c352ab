"""Column schemas of the price frames, with units.

Every frame uses English snake_case columns. Prices are in the quote unit of the product
(``CNY/bbl`` for ``sc``, ``CNY/t`` for ``i``, ``nr`` and ``ru``); volume and open interest are
in lots (手, single-sided); turnover is in CNY.

=================  ===========  ==========================================================
frame              column       dtype [unit]
=================  ===========  ==========================================================
futures daily      trading_day  Date (the night session belongs to the next trading day)
                   contract     String, exchange style (``sc2505``, ``i2509``)
                   open..close  Float64 [CNY/unit]
                   settle       Float64 [CNY/unit], the exchange settlement price
                   prev_settle  Float64 [CNY/unit], optional
                   volume       Int64 [lots]
                   open_interest Int64 [lots]
                   turnover     Float64 [CNY], optional
spot / benchmark   date, price  Date, Float64 [currency/unit in the frame's metadata]
FX                 date         Date
                   usd_cny      Float64 [CNY per USD]
intraday bars      datetime     Datetime (bar start, Beijing time, naive)
                   contract     String
                   open..close  Float64 [CNY/unit]
                   volume       Int64 [lots]
                   turnover     Float64 [CNY]
                   open_interest Int64 [lots]
                   trading_day  Date, derived with the exchange calendar
=================  ===========  ==========================================================
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import polars as pl

from cnfutures.errors import CalendarOutOfBounds, UnknownContract, UnknownProduct
from cnfutures.market.contracts import Contract
from cnfutures.market.products import product

__all__ = [
    "FUTURES_OPTIONAL",
    "FUTURES_REQUIRED",
    "FX_SCHEMA",
    "INTRADAY_REQUIRED",
    "SPOT_SCHEMA",
    "UNITS",
    "SeriesMeta",
    "contract_info",
]

#: Required columns of a futures daily frame and their dtypes.
FUTURES_REQUIRED: dict[str, pl.DataType] = {
    "trading_day": pl.Date(),
    "contract": pl.String(),
    "open": pl.Float64(),
    "high": pl.Float64(),
    "low": pl.Float64(),
    "close": pl.Float64(),
    "settle": pl.Float64(),
    "volume": pl.Int64(),
    "open_interest": pl.Int64(),
}
#: Optional columns of a futures daily frame.
FUTURES_OPTIONAL: dict[str, pl.DataType] = {"prev_settle": pl.Float64(), "turnover": pl.Float64()}
#: Spot / benchmark series.
SPOT_SCHEMA: dict[str, pl.DataType] = {"date": pl.Date(), "price": pl.Float64()}
#: FX series (CNY per USD).
FX_SCHEMA: dict[str, pl.DataType] = {"date": pl.Date(), "usd_cny": pl.Float64()}
#: Intraday bars (``trading_day`` is derived when absent).
INTRADAY_REQUIRED: dict[str, pl.DataType] = {
    "datetime": pl.Datetime("us"),
    "contract": pl.String(),
    "open": pl.Float64(),
    "high": pl.Float64(),
    "low": pl.Float64(),
    "close": pl.Float64(),
    "volume": pl.Int64(),
    "turnover": pl.Float64(),
    "open_interest": pl.Int64(),
}

#: Unit of each column (prices in the product's quote unit).
UNITS: dict[str, str] = {
    "trading_day": "date",
    "date": "date",
    "datetime": "Beijing time (bar start)",
    "open": "CNY/unit",
    "high": "CNY/unit",
    "low": "CNY/unit",
    "close": "CNY/unit",
    "settle": "CNY/unit",
    "prev_settle": "CNY/unit",
    "volume": "lots",
    "open_interest": "lots",
    "turnover": "CNY",
    "usd_cny": "CNY per USD",
}


@dataclass(frozen=True)
class SeriesMeta:
    """Metadata of a spot / benchmark or FX series.

    Attributes
    ----------
    name : str
        Series name (``"Brent spot FOB"``).
    currency : str
        Price currency (``"USD"``).
    unit : str
        Physical unit (``"bbl"``); the price is in ``currency/unit``.
    source : str
        Where the numbers come from.
    licence : str
        Licence of the numbers.

    Examples
    --------
    >>> SeriesMeta("Brent", "USD", "bbl").quote_unit
    'USD/bbl'
    """

    name: str
    currency: str
    unit: str
    source: str = ""
    licence: str = ""
    extra: dict[str, str] = field(default_factory=dict, compare=False)

    @property
    def quote_unit(self) -> str:
        """``currency/unit``."""
        return f"{self.currency}/{self.unit}"


_INFO_SCHEMA = {
    "contract": pl.String,
    "product": pl.String,
    "year": pl.Int64,
    "month": pl.Int64,
    "first_trading_day": pl.Date,
    "last_trading_day": pl.Date,
    "problem": pl.String,
}


def contract_info(codes: pl.Series | list[str], product: str | None = None) -> pl.DataFrame:
    """Listing window of each distinct contract code (computed once per code).

    Parameters
    ----------
    codes : polars.Series or list of str
        Contract codes (duplicates allowed; each is looked up once).
    product : str, optional
        When given, codes of other products are flagged.

    Returns
    -------
    polars.DataFrame
        ``contract`` (lower-case), ``product``, ``year``, ``month``, ``first_trading_day``,
        ``last_trading_day`` (null when beyond the calendar) and ``problem`` (null, or why the
        code is not a contract).

    Examples
    --------
    >>> info = contract_info(["sc2508", "sc2513", "i2509"], product="sc")
    >>> info.filter(info["contract"] == "sc2513")["problem"][0].split(";")[0]
    "contract 'sc2513': sc lists no month 13"
    """
    uniq = pl.Series("contract", codes, dtype=pl.String).drop_nulls().unique().sort()
    rows: list[tuple[object, ...]] = []
    want = _product_code(product) if product is not None else None
    for code in uniq.to_list():
        try:
            c = _parse(code)
        except (UnknownContract, UnknownProduct) as exc:
            rows.append((code, None, None, None, None, None, str(exc)))
            continue
        if want is not None and c.product.code != want:
            rows.append(
                (code, c.product.code, c.year, c.month, None, None, f"{code!r} is not a {want} contract")
            )
            continue
        problem: str | None = None
        try:
            first: dt.date | None = c.first_trading_day
        except CalendarOutOfBounds as exc:
            first, problem = None, f"listing day of {c.code} outside calendar coverage: {exc}"
        try:
            last: dt.date | None = c.last_trading_day
        except CalendarOutOfBounds:
            last = None
        rows.append((code, c.product.code, c.year, c.month, first, last, problem))
    return pl.DataFrame(rows, schema=_INFO_SCHEMA, orient="row")


def _product_code(code: str) -> str:
    return product(code).code


def _parse(code: str) -> Contract:
    from cnfutures.market.contracts import contract

    return contract(code)
