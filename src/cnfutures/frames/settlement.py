"""Settlement prices and daily bars from intraday bars.

The exchanges' daily settlement price is the volume-weighted average price of the trading
day, over all its sessions (the previous evening's night session included), truncated to the
tick:

    settle = floor(turnover / (volume × multiplier) / tick) × tick

with turnover [CNY], volume [lots], multiplier [unit/lot]. On the CC0 5-minute sample this
reproduces the published settlement on 5 of 5 days (sc2508 2025-06-26/27/30: 505.4, 502.2,
496.1; i2509 2025-06-27/30: 714.0, 718.0); rounding to the nearest tick would miss 2 of 5.
"""

from __future__ import annotations

import warnings

import polars as pl

from cnfutures.errors import InputError
from cnfutures.frames.validate import DataQualityWarning, check_intraday
from cnfutures.market.contracts import contract
from cnfutures.market.products import product as get_product

__all__ = ["daily_from_bars", "settlement_price"]

_EPS = 1e-9  # relative slack so a VWAP exactly on a tick is not floored one tick down


def _prepared(bars: pl.DataFrame) -> pl.DataFrame:
    if not isinstance(bars, pl.DataFrame):
        raise InputError(f"bars must be a polars DataFrame of intraday bars; got {type(bars).__name__}")
    need = {"contract", "volume", "turnover"}
    missing = sorted(need - set(bars.columns))
    if missing:
        raise InputError(
            f"bars lack column(s) {missing}; settlement needs contract, volume [lots], turnover [CNY]"
        )
    if "trading_day" not in bars.columns or bars["trading_day"].dtype != pl.Date:
        if "datetime" not in bars.columns:
            raise InputError(
                "bars need trading_day (Date) or datetime (bar start, Beijing time) to assign days"
            )
        bars = check_intraday(bars, name="bars").raise_if_errors()
    codes = bars["contract"].str.to_lowercase().str.extract(r"^([a-z]+)", 1).unique().drop_nulls().to_list()
    tick = {c: get_product(c).tick for c in codes}
    pcode = pl.col("contract").str.to_lowercase().str.extract(r"^([a-z]+)", 1)
    # the contract's own size (a product's size can change by contract, e.g. ru up to ru1207)
    mult = {c: contract(c).multiplier for c in bars["contract"].str.to_lowercase().unique().drop_nulls()}
    return bars.with_columns(
        pl.col("contract").str.to_lowercase(),
        pl.col("contract").str.to_lowercase().replace_strict(mult, return_dtype=pl.Float64).alias("__mult"),
        pcode.replace_strict(tick, return_dtype=pl.Float64).alias("__tick"),
    )


def _settle_expr() -> pl.Expr:
    vwap = pl.col("turnover") / (pl.col("volume") * pl.col("__mult"))
    ticks = (vwap / pl.col("__tick") * (1 + _EPS)).floor()
    return ticks * pl.col("__tick")


def settlement_price(bars: pl.DataFrame) -> pl.DataFrame:
    """Daily settlement price per (trading_day, contract) from intraday bars.

    Parameters
    ----------
    bars : polars.DataFrame
        Intraday bars with ``contract``, ``volume`` [lots], ``turnover`` [CNY] and either
        ``trading_day`` (Date) or ``datetime`` (bar start, Beijing time; the trading day is
        then derived with the exchange calendar, night session -> next trading day).

    Returns
    -------
    polars.DataFrame
        ``trading_day``, ``contract``, ``volume`` [lots], ``turnover`` [CNY], ``vwap``
        [CNY/unit] and ``settle`` [CNY/unit] = VWAP truncated to the tick. A day without
        volume has a null settle and is reported with a :class:`DataQualityWarning`.

    Examples
    --------
    >>> import datetime as dt, polars as pl
    >>> bars = pl.DataFrame({"trading_day": [dt.date(2025, 6, 30)] * 2, "contract": ["sc2508"] * 2,
    ...     "volume": [10, 30], "turnover": [4_960_000.0, 14_886_000.0]})
    >>> settlement_price(bars).select("vwap", "settle").row(0)   # 19 846 000 / 40 000 = 496.15
    (496.15, 496.1)
    """
    b = _prepared(bars)
    out = (
        b.group_by("trading_day", "contract")
        .agg(
            pl.col("volume").sum().cast(pl.Int64),
            pl.col("turnover").sum(),
            pl.col("__mult").first(),
            pl.col("__tick").first(),
        )
        .with_columns((pl.col("turnover") / (pl.col("volume") * pl.col("__mult"))).alias("vwap"))
        .with_columns(pl.when(pl.col("volume") > 0).then(_settle_expr()).otherwise(None).alias("settle"))
        .sort("trading_day", "contract")
    )
    # express the settle with the tick's decimals (496.1, not 496.09999999999997)
    out = out.with_columns(pl.col("settle").round(8))
    empty = out.filter(pl.col("settle").is_null())
    if empty.height:
        warnings.warn(
            "no volume (settle left null) on: "
            + ", ".join(f"{d} {c}" for d, c in empty.select("trading_day", "contract").iter_rows()),
            DataQualityWarning,
            stacklevel=2,
        )
    return out.select("trading_day", "contract", "volume", "turnover", "vwap", "settle")


def daily_from_bars(bars: pl.DataFrame) -> pl.DataFrame:
    """Daily bars (futures daily schema) aggregated from intraday bars.

    Open of the first bar, highest high, lowest low, close and open interest of the last
    bar, summed volume and turnover, and the settlement of :func:`settlement_price`.

    Examples
    --------
    >>> import datetime as dt, polars as pl
    >>> bars = pl.DataFrame({"datetime": [dt.datetime(2025, 6, 27, 21, 0), dt.datetime(2025, 6, 30, 9, 0)],
    ...     "contract": ["sc2508"] * 2, "open": [497.0, 498.0], "high": [499.0, 498.5],
    ...     "low": [496.0, 497.5], "close": [498.0, 498.0], "volume": [10, 30],
    ...     "turnover": [4_975_000.0, 14_940_000.0], "open_interest": [100, 110]})
    >>> daily_from_bars(bars).select("trading_day", "open", "close", "settle", "open_interest").row(0)
    (datetime.date(2025, 6, 30), 497.0, 498.0, 497.8, 110)
    """
    b = _prepared(bars)
    sort_cols = ["trading_day", "contract"] + (["datetime"] if "datetime" in b.columns else [])
    b = b.sort(sort_cols, maintain_order=True)
    daily = b.group_by("trading_day", "contract", maintain_order=True).agg(
        pl.col("open").first(),
        pl.col("high").max(),
        pl.col("low").min(),
        pl.col("close").last(),
        pl.col("open_interest").last().cast(pl.Int64),
    )
    settle = settlement_price(bars)
    return daily.join(settle, on=["trading_day", "contract"], how="left").select(
        "trading_day",
        "contract",
        "open",
        "high",
        "low",
        "close",
        "settle",
        "volume",
        "open_interest",
        "turnover",
    )
