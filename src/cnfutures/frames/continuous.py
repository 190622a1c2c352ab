"""Continuous series from per-contract data, and roll detection in spliced series.

:func:`continuous` follows a :class:`~cnfutures.frames.roll.RollRule` through per-contract
daily bars and back-adjusts the settlement prices so that the series has no jump at a roll:

* ``adjust="none"``: ``adjusted`` is the raw settle of the held contract;
* ``adjust="ratio"``: every settle before a roll is multiplied by ``new / old``, both taken
  on the trading day before the roll day (needs positive prices);
* ``adjust="difference"``: ``new - old`` is added instead.

The last segment is never adjusted. Whatever the adjustment, the ``change`` and ``ret``
columns are computed within one contract: on a roll day they compare the new contract's
settle with its own settle of the previous trading day, never with the old contract
(returns across a roll never contain the inter-contract spread).

:func:`detect_rolls` flags suspected roll days in a spliced main-contract series that has no
contract ids (e.g. Sina's ``XX0`` series), with the evidence.
"""

from __future__ import annotations

import math
from typing import Literal

import polars as pl

from cnfutures.errors import DataError, InputError
from cnfutures.frames.roll import RollRule, roll_schedule
from cnfutures.market.products import product as get_product

__all__ = ["continuous", "detect_rolls"]

_ADJUST = ("none", "ratio", "difference")


def _product_of(df: pl.DataFrame, product: str | None) -> str:
    codes = df["contract"].str.to_lowercase().str.extract(r"^([a-z]+)", 1).unique().drop_nulls().to_list()
    if product is not None:
        p = get_product(product).code
        others = [c for c in codes if c != p]
        if others:
            raise InputError(f"data holds products {sorted(codes)}; continuous() builds one product ({p!r})")
        return p
    if len(codes) != 1:
        raise InputError(f"data holds products {sorted(codes)}; pass product= to pick one")
    return get_product(str(codes[0])).code


def continuous(
    df: pl.DataFrame,
    roll: RollRule | None = None,
    adjust: Literal["none", "ratio", "difference"] = "none",
    *,
    product: str | None = None,
) -> pl.DataFrame:
    """Continuous (rolled) settlement series from per-contract daily bars.

    Parameters
    ----------
    df : polars.DataFrame
        Daily bars with ``trading_day``, ``contract``, ``settle`` [CNY/unit]; plus
        ``open_interest`` or ``volume`` [lots] for those roll rules.
    roll : RollRule, optional
        Roll rule (default ``RollRule()``: calendar, 5 trading days before the LTD).
    adjust : {"none", "ratio", "difference"}
        Back-adjustment of the earlier segments.
    product : str, optional
        Product, when ``df`` holds several.

    Returns
    -------
    polars.DataFrame
        ``trading_day``, ``contract`` (held), ``settle`` (raw, of the held contract),
        ``adjusted`` [CNY/unit], ``roll`` (bool), ``change`` [CNY/unit] and ``ret`` (simple
        return): day-on-day within the held contract, null on the first row.

    Raises
    ------
    DataError
        The held contract has no settle on a day, or the new contract has none on the day
        before a roll (the adjustment needs both prices on that day).

    Examples
    --------
    >>> import datetime as dt, polars as pl
    >>> d = [dt.date(2025, 6, 19), dt.date(2025, 6, 20), dt.date(2025, 6, 23)]
    >>> bars = pl.DataFrame({"trading_day": d * 2, "contract": ["sc2507"] * 3 + ["sc2508"] * 3,
    ...     "settle": [500.0, 510.0, 505.0, 490.0, 500.0, 495.0]})
    >>> c = continuous(bars, RollRule(days_before_ltd=5), adjust="difference")
    >>> c.select("contract", "adjusted", "ret").rows()   # roll on 06-23: 490 -> 500 -> 495
    [('sc2507', 490.0, None), ('sc2507', 500.0, 0.02), ('sc2508', 495.0, -0.01)]
    """
    if adjust not in _ADJUST:
        raise InputError(f"adjust={adjust!r}; accepted: {', '.join(map(repr, _ADJUST))}")
    rule = roll if roll is not None else RollRule()
    if not isinstance(df, pl.DataFrame):
        raise InputError(f"df must be a polars DataFrame; got {type(df).__name__}")
    for col in ("trading_day", "contract", "settle"):
        if col not in df.columns:
            raise InputError(f"continuous() needs column {col!r}; got {df.columns}")
    data = df.with_columns(pl.col("contract").str.to_lowercase(), pl.col("trading_day").cast(pl.Date))
    p = _product_of(data, product)
    days = data["trading_day"].unique().sort()
    sched = (
        roll_schedule(rule, p, days, data=data)
        if rule.kind == "calendar"
        else roll_schedule(rule, p, data=data)
    )
    prices = data.select("trading_day", "contract", pl.col("settle").cast(pl.Float64))
    dup = prices.filter(pl.struct("trading_day", "contract").is_duplicated())
    if dup.height:
        raise DataError(
            f"duplicate (trading_day, contract) rows, e.g. {dup.row(0)[:2]}", [str(r[:2]) for r in dup.rows()]
        )
    out = sched.join(prices, on=["trading_day", "contract"], how="left")
    # settle of the held contract on the previous trading day (same contract)
    out = out.with_columns(
        pl.col("trading_day").shift(1).alias("__prev_day"),
        pl.col("settle").shift(1).alias("__prev_held_settle"),
    )
    out = out.join(
        prices.rename({"trading_day": "__prev_day", "settle": "__prev_same"}),
        on=["__prev_day", "contract"],
        how="left",
    )
    missing = out.filter(pl.col("settle").is_null() | pl.col("settle").is_nan())
    problems = [
        f"{d}: no settle for held contract {c}"
        for d, c in missing.select("trading_day", "contract").iter_rows()
    ]
    bad_roll = out.filter(pl.col("roll") & pl.col("__prev_same").is_null())
    problems += [
        f"{d}: roll into {c} but {c} has no settle on the previous trading day {pd}"
        for d, c, pd in bad_roll.select("trading_day", "contract", "__prev_day").iter_rows()
    ]
    if problems:
        raise DataError(
            f"continuous(): {len(problems)} problem(s), first: {problems[0]}; supply settles for the held "
            "contracts (and for the new contract on the day before each roll)",
            problems,
        )
    if adjust == "ratio":
        nonpos = out.filter(
            pl.col("roll") & ((pl.col("__prev_same") <= 0) | (pl.col("__prev_held_settle") <= 0))
        )
        if nonpos.height:
            raise DataError(
                f"ratio adjustment needs positive prices at rolls; {nonpos['trading_day'][0]} has a "
                "non-positive "
                "settle; use adjust='difference'",
                [str(d) for d in nonpos["trading_day"].to_list()],
            )
        g = pl.when(pl.col("roll")).then(pl.col("__prev_same") / pl.col("__prev_held_settle")).otherwise(1.0)
        factor = g.reverse().cum_prod().reverse().shift(-1, fill_value=1.0)
        adjusted = pl.col("settle") * factor
    elif adjust == "difference":
        g = pl.when(pl.col("roll")).then(pl.col("__prev_same") - pl.col("__prev_held_settle")).otherwise(0.0)
        offset = g.reverse().cum_sum().reverse().shift(-1, fill_value=0.0)
        adjusted = pl.col("settle") + offset
    else:
        adjusted = pl.col("settle")
    out = out.with_columns(adjusted.alias("adjusted"))
    change = pl.col("settle") - pl.col("__prev_same")
    out = out.with_columns(
        change.alias("change"),
        (change / pl.col("__prev_same")).alias("ret"),
    )
    return out.select("trading_day", "contract", "settle", "adjusted", "roll", "change", "ret").sort(
        "trading_day"
    )


def detect_rolls(
    series: pl.DataFrame,
    product: str | None = None,
    *,
    min_gap: float = 0.03,
    min_oi_jump: float = 0.15,
    price: str = "close",
) -> pl.DataFrame:
    """Flag suspected roll days in a spliced main-contract series without contract ids.

    A day is flagged when its log price change from the previous row is at least
    ``min_gap`` in size **and** open interest jumps by at least ``min_oi_jump`` (log) in
    either direction (the vendor switched to another contract), or when the change is at
    least ``2 × min_gap`` and at least ``min_gap`` of it is already in the opening price
    (a switch shows at the open; a large intraday move does not). A flagged day whose move is
    mostly reversed on the next row (at least 70 %) while open interest collapses is a
    ``"glitch"`` (a thin contract or a holiday row picked by mistake), otherwise ``"roll"``.

    Parameters
    ----------
    series : polars.DataFrame
        ``trading_day`` (or ``date``), a price column, ``open_interest`` [lots]; ``open``
        and ``volume`` are used as evidence when present.
    product : str, optional
        Product (used only to validate the name and for messages).
    min_gap : float
        Minimum absolute log change of ``price`` [-].
    min_oi_jump : float
        Minimum absolute log change of open interest [-].
    price : str
        Price column compared day on day (``"close"`` or ``"settle"``).

    Returns
    -------
    polars.DataFrame
        One row per flagged day: ``trading_day``, ``row`` (0-based row in ``series``),
        ``gap`` (log change of ``price``), ``open_gap`` (log of open / previous price),
        ``oi_change`` (log), ``volume``, ``next_gap`` (log change on the next row), ``kind``
        (``"roll"`` or ``"glitch"``).

    Examples
    --------
    >>> import datetime as dt, polars as pl
    >>> s = pl.DataFrame({"date": [dt.date(2016, 8, d) for d in (9, 10, 11, 12)],
    ...     "close": [503.0, 495.5, 432.5, 433.5], "open_interest": [1000, 830, 1100, 1280]})
    >>> r = detect_rolls(s, "i")
    >>> r.select("trading_day", "kind").row(0), round(r["gap"][0], 3)
    ((datetime.date(2016, 8, 11), 'roll'), -0.136)
    """
    if product is not None:
        get_product(product)
    if not isinstance(series, pl.DataFrame):
        raise InputError(f"series must be a polars DataFrame; got {type(series).__name__}")
    s = series
    if "trading_day" not in s.columns and "date" in s.columns:
        s = s.rename({"date": "trading_day"})
    for col in ("trading_day", price, "open_interest"):
        if col not in s.columns:
            raise InputError(f"detect_rolls needs column {col!r}; got {series.columns}")
    if min_gap < 0 or min_oi_jump < 0 or not (math.isfinite(min_gap) and math.isfinite(min_oi_jump)):
        raise InputError(f"min_gap={min_gap!r} and min_oi_jump={min_oi_jump!r} must be finite and >= 0")
    px = pl.col(price).cast(pl.Float64)
    oi = pl.col("open_interest").cast(pl.Float64)
    w = s.with_row_index("row").with_columns(
        (px / px.shift(1)).log().alias("gap"),
        ((pl.col("open").cast(pl.Float64) if "open" in s.columns else px) / px.shift(1))
        .log()
        .alias("open_gap"),
        (oi / oi.shift(1)).log().alias("oi_change"),
        (pl.col("volume").cast(pl.Int64) if "volume" in s.columns else pl.lit(None, pl.Int64)).alias(
            "volume"
        ),
    )
    w = w.with_columns(
        pl.col("gap").shift(-1).alias("next_gap"), pl.col("oi_change").shift(-1).alias("__next_oi")
    )
    by_oi = (pl.col("gap").abs() >= min_gap) & (pl.col("oi_change").abs() >= min_oi_jump)
    at_open = (pl.col("gap").abs() >= 2 * min_gap) & (pl.col("open_gap").abs() >= min_gap)
    w = w.with_columns(
        pl.when(by_oi & at_open)
        .then(pl.lit("gap+oi_jump+open_gap"))
        .when(by_oi)
        .then(pl.lit("gap+oi_jump"))
        .when(at_open)
        .then(pl.lit("large_open_gap"))
        .otherwise(None)
        .alias("evidence")
    )
    flagged = w.filter(pl.col("evidence").is_not_null())
    reverted = (
        (pl.col("next_gap") * pl.col("gap") < 0)
        & (pl.col("next_gap").abs() >= 0.7 * pl.col("gap").abs())
        & ((pl.col("oi_change") < -min_oi_jump) | (pl.col("__next_oi").abs() >= min_oi_jump))
    )
    return flagged.select(
        pl.col("trading_day"),
        pl.col("row").cast(pl.Int64),
        "gap",
        "open_gap",
        "oi_change",
        "volume",
        "next_gap",
        "evidence",
        pl.when(reverted.fill_null(False)).then(pl.lit("glitch")).otherwise(pl.lit("roll")).alias("kind"),
    )
