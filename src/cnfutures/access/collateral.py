"""USD collateral, FX conversion and margin requirements for an overseas investor.

Settlement is in RMB: daily mark-to-market, fees and delivery payments are paid in CNY, and
USD posted as margin must be converted before it can pay them (PBOC Ann. [2015] No. 19).
USD is the only foreign currency accepted as margin; it counts at a discount rate
("haircut") of 0.95 of its value at the CFETS RMB central parity, revalued at each day's
central parity at settlement (INE 上能发〔2020〕114号; DCE Ann. [2022] No. 100).

FX is supplied by the user as a polars frame with columns ``date`` (Date) and ``usd_cny``
[CNY per USD]. The bundled test data (FRED DEXCHUS, :func:`read_fred_usd_cny`) is the
**New York noon buying rate**, not the CFETS central parity: close, but not the rate the
exchanges use.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import polars as pl

from cnfutures._dates import DateLike, parse_date
from cnfutures.access.investor import Investor, Route, load_access_toml
from cnfutures.errors import DataError, InputError, RuleNotFound
from cnfutures.market import rules
from cnfutures.market._dated import asof_index, in_force
from cnfutures.market.contracts import contract
from cnfutures.validation import (
    FX_MAX_AGE_DAYS,
    check_finite,
    check_fx,
    check_fx_fresh,
    check_keys,
    check_listed,
)

__all__ = [
    "HaircutRule",
    "MarginRequirement",
    "cny_to_usd",
    "collateral_value_cny",
    "default_haircut",
    "fx_rate",
    "haircut_rule",
    "margin_requirement",
    "read_fred_usd_cny",
    "revalue_collateral",
    "usd_needed_for_cny",
    "usd_to_cny",
    "validate_fx",
]

Numeric = TypeVar("Numeric", float, np.ndarray, pl.Series)


@dataclass(frozen=True)
class HaircutRule:
    """The USD-collateral discount rate in force at an exchange.

    Attributes
    ----------
    exchange : str
    value : float
        USD counts at ``value`` × its CNY value at the central parity [fraction].
    effective : datetime.date
    source : str
    verified : bool
    """

    exchange: str
    value: float
    effective: dt.date
    source: str
    verified: bool


def haircut_rule(exchange: str, on: DateLike) -> HaircutRule:
    """The USD haircut row in force at ``exchange`` on ``on``.

    Raises
    ------
    RuleNotFound
        No USD margin rule at that exchange on that date (before it accepted USD).

    Examples
    --------
    >>> haircut_rule("DCE", "2025-06-03").value
    0.95
    >>> haircut_rule("SHFE", "2025-06-20").verified
    False
    """
    ex = str(exchange).upper()
    d = parse_date(on, "on")
    rows = [r for r in load_access_toml("money.toml")["haircut"] if r["exchange"] == ex]
    if not rows:
        known = sorted({r["exchange"] for r in load_access_toml("money.toml")["haircut"]})
        raise InputError(f"exchange={exchange!r} has no USD-collateral rule; known: {', '.join(known)}")
    r = in_force(rows, d)
    if r is None:
        first = min(r["effective"] for r in rows)
        raise RuleNotFound(f"no USD-collateral rule at {ex} on {d}; the first is in force from {first}")
    return HaircutRule(ex, float(r["value"]), r["effective"], r["source"], bool(r["verified"]))


def default_haircut(exchange: str, on: DateLike) -> float:
    """USD-collateral discount rate [fraction] at ``exchange`` on ``on`` (0.95 at INE and DCE).

    Examples
    --------
    >>> default_haircut("INE", "2025-06-03")
    0.95
    """
    return haircut_rule(exchange, on).value


def usd_collateral_allowed(investor: Investor) -> tuple[bool, str, bool]:
    """Whether the investor's route may post USD as futures margin: (allowed, source, verified).

    QFIs: not allowed until a source says otherwise (rules-audit #10): their margin is CNY,
    funded by converting USD at the custodian.

    Examples
    --------
    >>> usd_collateral_allowed(Investor("qfi"))[0], usd_collateral_allowed(Investor("osbp_client"))[0]
    (False, True)
    """
    data = load_access_toml("money.toml")["usd_collateral"]
    if investor.route_ is Route.QFI:
        q = data["qfi"]
        return bool(q["allowed"]), str(q["source"]), bool(q["verified"])
    return investor.route_.value in data["routes"], str(data["source"]), bool(data["verified"])


def collateral_haircuts(investor: Investor, exchange: str, days: pl.Series) -> np.ndarray:
    """The factor at which posted USD counts toward margin on each trading day [fraction].

    The exchange's USD haircut row in force on each day where the route may post USD; 1.0 where
    it may not (the USD is converted to CNY at the fixing and counts in full as CNY cash).

    Raises
    ------
    RuleNotFound
        A day before the exchange accepted USD collateral (for a route that posts USD).

    Examples
    --------
    >>> import datetime as dt
    >>> days = pl.Series([dt.date(2025, 6, 3)])
    >>> collateral_haircuts(Investor("osbp_client"), "INE", days).tolist()
    [0.95]
    >>> collateral_haircuts(Investor("qfi"), "INE", days).tolist()
    [1.0]
    """
    if not usd_collateral_allowed(investor)[0]:
        return np.ones(days.len())
    ex = str(exchange).upper()
    rows = sorted(
        (r for r in load_access_toml("money.toml")["haircut"] if r["exchange"] == ex),
        key=lambda r: r["effective"],
    )
    epoch = dt.date(1970, 1, 1)
    i = asof_index(
        np.array([(r["effective"] - epoch).days for r in rows], dtype=np.int64),
        days.cast(pl.Date).to_physical().to_numpy().astype(np.int64),
    )
    if (i < 0).any():
        first = days[int(np.argmax(i < 0))]
        raise RuleNotFound(f"no USD-collateral rule at {ex} on {first}; USD is accepted there from "
                           f"{rows[0]['effective'] if rows else 'no date in the data'}")  # fmt: skip
    out: np.ndarray = np.array([float(r["value"]) for r in rows])[i]
    return out


def _latest_haircut(exchange: str) -> float:
    rows = [r for r in load_access_toml("money.toml")["haircut"] if r["exchange"] == exchange]
    return float(max(rows, key=lambda x: x["effective"])["value"])


def _check_positive(name: str, x: Any) -> None:
    check_finite(x, name, positive=True, allow_null=False, what="a rate")


def _finite(name: str, x: Any) -> None:
    check_finite(x, name, allow_null=False, what="an amount")


def _out(x: Any, value: Any) -> Any:
    if isinstance(x, pl.Series) or isinstance(value, pl.Series):
        return value
    if isinstance(x, np.ndarray):
        return np.asarray(value, dtype=float)
    return float(value)


def collateral_value_cny(
    usd_amount: float | np.ndarray | pl.Series,
    central_parity: float | np.ndarray | pl.Series,
    haircut: float | None = None,
    *,
    on: DateLike | None = None,
    exchange: str = "INE",
) -> Any:
    """CNY value of USD posted as margin: ``usd_amount × central_parity × haircut``.

    Parameters
    ----------
    usd_amount : float, numpy array or polars Series
        USD posted [USD].
    central_parity : float, numpy array or polars Series
        CFETS central parity [CNY per USD] (the previous day's intraday, the same day's at
        settlement).
    haircut : float, optional
        Discount rate [fraction]; default: the exchange's rule on ``on`` (0.95), or the
        latest rule when ``on`` is not given.
    on : date or str, optional
        Date for the default haircut.
    exchange : str
        Exchange for the default haircut (``"INE"``, ``"DCE"``, ...).

    Returns
    -------
    float, numpy.ndarray or polars.Series
        Collateral value [CNY], same shape as the input.

    Examples
    --------
    >>> collateral_value_cny(1_000_000, 7.10)   # 1,000,000 x 7.10 x 0.95
    6745000.0
    >>> import polars as pl
    >>> collateral_value_cny(pl.Series([1.0, 2.0]), 7.0, 0.9).to_list()
    [6.3, 12.6]
    """
    if haircut is None:
        h = default_haircut(exchange, on) if on is not None else _latest_haircut(exchange.upper())
    else:
        h = float(haircut)
    if not (0.0 < h <= 1.0):
        raise InputError(f"haircut={haircut!r} must be a fraction in (0, 1]")
    _finite("usd_amount", usd_amount)
    _check_positive("central_parity", central_parity)
    if isinstance(usd_amount, pl.Series) or isinstance(central_parity, pl.Series):
        a = usd_amount if isinstance(usd_amount, pl.Series) else pl.lit(usd_amount)
        out = (pl.select((a * central_parity * h).alias("collateral_cny"))).to_series()
        return out.cast(pl.Float64)
    value = np.asarray(usd_amount, dtype=float) * np.asarray(central_parity, dtype=float) * h
    if isinstance(usd_amount, np.ndarray) or isinstance(central_parity, np.ndarray):
        return np.asarray(value, dtype=float)
    return float(round(float(value), 6))


def _check_spread(spread: float) -> float:
    if not (isinstance(spread, int | float) and math.isfinite(spread) and 0.0 <= spread < 1.0):
        raise InputError(f"spread={spread!r} must be a fraction in [0, 1), e.g. 0.0005 for 5 bp")
    return float(spread)


def usd_to_cny(usd: Any, usd_cny: Any, spread: float = 0.0) -> Any:
    """CNY received for selling ``usd`` at the rate less the spread: ``usd × usd_cny × (1 − spread)``.

    Parameters
    ----------
    usd : float, numpy array or polars Series [USD]
    usd_cny : float, numpy array or polars Series [CNY per USD]
    spread : float
        The bank's FX spread on each side [fraction of the rate].

    Examples
    --------
    >>> usd_to_cny(100.0, 7.0, spread=0.001)   # 100 x 7.0 x 0.999
    699.3
    """
    s = _check_spread(spread)
    _finite("usd", usd)
    _check_positive("usd_cny", usd_cny)
    v = usd * usd_cny * (1.0 - s)
    return _out(usd, round(v, 10) if isinstance(v, float) else v)


def cny_to_usd(cny: Any, usd_cny: Any, spread: float = 0.0) -> Any:
    """USD received for selling ``cny`` (repatriating a gain): ``cny / (usd_cny × (1 + spread))``.

    Examples
    --------
    >>> round(cny_to_usd(7007.0, 7.0, spread=0.001), 6)   # 7007 / (7.0 x 1.001)
    1000.0
    """
    s = _check_spread(spread)
    _finite("cny", cny)
    _check_positive("usd_cny", usd_cny)
    return _out(cny, cny / (usd_cny * (1.0 + s)))


def usd_needed_for_cny(cny: Any, usd_cny: Any, spread: float = 0.0) -> Any:
    """USD to sell to pay a CNY amount (a loss, a fee, a margin call): ``cny / (usd_cny × (1 − spread))``.

    Examples
    --------
    >>> round(usd_needed_for_cny(6993.0, 7.0, spread=0.001), 6)   # 6993 / (7.0 x 0.999)
    1000.0
    """
    s = _check_spread(spread)
    _finite("cny", cny)
    _check_positive("usd_cny", usd_cny)
    return _out(cny, cny / (usd_cny * (1.0 - s)))


def validate_fx(fx: pl.DataFrame) -> pl.DataFrame:
    """Check an FX frame (``date``, ``usd_cny``) and return it sorted by date with Float64 rates.

    Raises
    ------
    DataError
        Missing columns, nulls, non-positive rates, duplicate dates (``problems`` lists every
        problem with its rows).

    Examples
    --------
    >>> import datetime as dt
    >>> validate_fx(pl.DataFrame({"date": [dt.date(2025, 6, 3)], "usd_cny": [7.18]})).height
    1
    """
    if isinstance(fx, pl.DataFrame) and "date" in fx.columns and fx.schema["date"] == pl.String:
        try:
            fx = fx.with_columns(pl.col("date").str.to_date())
        except pl.exceptions.PolarsError:
            raise DataError("FX frame: date is text that is not ISO YYYY-MM-DD", ["date not ISO"]) from None
    return check_fx(fx, name="FX frame")


def read_fred_usd_cny(path: str | Path, *, drop_missing: bool = False) -> pl.DataFrame:
    """Read a FRED USD/CNY CSV (``date, cny_per_usd``) as an FX frame (``date``, ``usd_cny``).

    FRED DEXCHUS is the **New York noon buying rate** (Federal Reserve H.10), not the CFETS
    central parity the exchanges use; it serves as test data and as an approximation.
    FRED leaves holidays empty: they are kept as nulls unless ``drop_missing=True``.

    Parameters
    ----------
    path : str or Path
    drop_missing : bool
        Drop the rows without a rate (explicitly; the default keeps them as nulls).
    """
    p = Path(path)
    if not p.is_file():
        raise InputError(f"FX file {str(p)!r} does not exist")
    df = pl.read_csv(p, schema_overrides={"date": pl.Date}, null_values=["", "."])
    if "cny_per_usd" not in df.columns:
        raise DataError(f"{p.name}: no cny_per_usd column (found {df.columns})", ["missing cny_per_usd"])
    df = df.select("date", pl.col("cny_per_usd").cast(pl.Float64).alias("usd_cny"))
    return df.drop_nulls("usd_cny") if drop_missing else df


def fx_rate(
    fx: pl.DataFrame, on: DateLike, *, intraday: bool = False, max_age_days: int | None = FX_MAX_AGE_DAYS
) -> float:
    """The central parity used on ``on``: that day's at settlement, the previous published one intraday.

    Parameters
    ----------
    max_age_days : int or None
        Intraday, the previous published rate must be at most this many calendar days old
        (default :data:`cnfutures.validation.FX_MAX_AGE_DAYS`); None accepts any age.

    Raises
    ------
    DataError
        No rate for that date (or, intraday, none before it, or only a stale one).

    Examples
    --------
    >>> import datetime as dt
    >>> fx = pl.DataFrame({"date": [dt.date(2025, 6, 2), dt.date(2025, 6, 3)], "usd_cny": [7.19, 7.18]})
    >>> fx_rate(fx, "2025-06-03"), fx_rate(fx, "2025-06-03", intraday=True)
    (7.18, 7.19)
    """
    f = validate_fx(fx)
    d = parse_date(on, "on")
    sub = f.filter(pl.col("date") < d) if intraday else f.filter(pl.col("date") == d)
    if sub.height == 0:
        what = "before" if intraday else "for"
        raise DataError(f"FX frame has no usd_cny {what} {d}", [f"no rate {what} {d}"])
    check_fx_fresh(sub["date"][-1], d, name="FX frame usd_cny", max_age_days=max_age_days)
    return float(sub["usd_cny"][-1])


def revalue_collateral(
    usd_amount: float | pl.DataFrame,
    fx: pl.DataFrame,
    *,
    haircut: float | None = None,
    exchange: str = "INE",
) -> pl.DataFrame:
    """Revalue USD collateral at each day's central parity.

    Parameters
    ----------
    usd_amount : float or polars.DataFrame
        A constant USD amount, or a frame with ``date`` and ``usd_amount`` [USD] (every date
        must have a rate in ``fx``).
    fx : polars.DataFrame
        ``date``, ``usd_cny`` [CNY per USD].
    haircut : float, optional
        Default: the exchange's rule on each date.

    Returns
    -------
    polars.DataFrame
        ``date``, ``usd_cny``, ``usd_amount``, ``haircut``, ``collateral_cny`` [CNY].

    Examples
    --------
    >>> import datetime as dt
    >>> fx = pl.DataFrame({"date": [dt.date(2025, 6, 2), dt.date(2025, 6, 3)], "usd_cny": [7.0, 7.2]})
    >>> revalue_collateral(1000.0, fx)["collateral_cny"].to_list()   # 1000 x 7.0 x 0.95, 1000 x 7.2 x 0.95
    [6650.0, 6840.0]
    """
    f = validate_fx(fx)
    if isinstance(usd_amount, pl.DataFrame):
        miss = {"date", "usd_amount"} - set(usd_amount.columns)
        if miss:
            raise InputError(f"usd_amount frame lacks {sorted(miss)}; it needs date and usd_amount [USD]")
        amounts = usd_amount.select(pl.col("date").cast(pl.Date), pl.col("usd_amount").cast(pl.Float64))
        check_keys(amounts, "date", name="usd_amount", sort=True)
        _finite("usd_amount.usd_amount", amounts["usd_amount"])
        joined = amounts.join(f, on="date", how="left")
        lacking = joined.filter(pl.col("usd_cny").is_null())["date"].to_list()
        if lacking:
            raise DataError(
                f"no usd_cny rate for {len(lacking)} date(s) of usd_amount, first {lacking[0]}",
                [f"no rate on {d}" for d in lacking],
            )
        f = joined.sort("date")
    else:
        _finite("usd_amount", usd_amount)
        f = f.with_columns(pl.lit(float(usd_amount)).alias("usd_amount"))
    if haircut is None:
        h = [default_haircut(exchange, d) for d in f["date"].unique().sort().to_list()]
        hf = pl.DataFrame({"date": f["date"].unique().sort(), "haircut": h})
        f = f.join(hf, on="date", how="left")
    else:
        check_finite(haircut, "haircut", allow_null=False, what="a USD-collateral discount rate [fraction]")
        if not 0.0 < float(haircut) <= 1.0:
            raise InputError(f"haircut={haircut!r}; a fraction in (0, 1] is accepted (0.95 at INE and DCE)")
        f = f.with_columns(pl.lit(float(haircut)).alias("haircut"))
    return f.select(
        "date",
        "usd_cny",
        "usd_amount",
        "haircut",
        (pl.col("usd_amount") * pl.col("usd_cny") * pl.col("haircut")).alias("collateral_cny"),
    )


@dataclass(frozen=True)
class MarginRequirement:
    """Margin required for a set of positions on one trading day.

    Attributes
    ----------
    cny : float
        Total margin [CNY] (exchange rate by stage and hedge flag, plus the broker add-on).
    usd : float or None
        USD to post to cover it at the haircut [USD] (``cny / (usd_cny × haircut)``), when
        ``usd_cny`` was given.
    by_contract : polars.DataFrame
        ``contract``, ``lots``, ``price``, ``multiplier``, ``stage``, ``margin_rate``,
        ``broker_addon``, ``margin_cny``, ``haircut``, ``verified``, ``source``.
    sources : tuple of str
    unverified : tuple of str
    """

    cny: float
    usd: float | None
    by_contract: pl.DataFrame
    sources: tuple[str, ...]
    unverified: tuple[str, ...]


def _as_mapping(obj: Any, key: str, value: str, name: str) -> dict[str, float]:
    if obj is None:
        return {}
    if isinstance(obj, pl.DataFrame):
        miss = {key, value} - set(obj.columns)
        if miss:
            raise InputError(f"{name} frame lacks column(s) {sorted(miss)}; it needs {key} and {value}")
        keys = obj[key].to_list()
        dup = {k for k in keys if keys.count(k) > 1}
        if dup:
            raise InputError(f"{name} frame repeats {key} {sorted(dup)}; give one row per {key}")
        return {str(k): float(v) for k, v in zip(keys, obj[value].to_list(), strict=True)}
    if isinstance(obj, Mapping):
        return {str(k): float(v) for k, v in obj.items()}
    raise InputError(
        f"{name} must be a mapping contract -> {value} or a polars frame; got {type(obj).__name__}"
    )


def margin_requirement(
    positions: Mapping[str, float] | pl.DataFrame,
    prices: Mapping[str, float] | pl.DataFrame | None,
    on: DateLike,
    investor: Investor,
    broker_addon: float = 0.0,
    hedge: bool = False,
    usd_cny: float | None = None,
    *,
    book: rules.RuleBook | None = None,
) -> MarginRequirement:
    """Margin required for positions on trading day ``on`` [CNY], and the USD to post for it.

    ``margin = |lots| × price × multiplier × (exchange rate + broker_addon)`` per contract,
    with the exchange rate for the contract's stage and the hedge flag
    (:func:`cnfutures.market.rules.margin_rate`).

    Parameters
    ----------
    positions : mapping contract -> lots, or polars.DataFrame (``contract``, ``lots``)
        Signed lots (+ long, − short).
    prices : mapping contract -> price, or polars.DataFrame (``contract``, ``price``), or None
        Price each position is margined at (the settlement price) [CNY/unit]; None when
        ``positions`` has a ``price`` column.
    on : date or str
        Trading day.
    investor : Investor
        The investor (the haircut follows the contracts' exchanges).
    broker_addon : float
        Futures firm's add-on to the exchange rate [fraction, e.g. 0.02 = 2 points].
    hedge : bool
        Margin hedging positions at the hedging rate.
    usd_cny : float, optional
        Central parity [CNY per USD]; gives the USD to post at the haircut.

    Examples
    --------
    >>> m = margin_requirement({"sc2509": 2}, {"sc2509": 500.0}, "2025-06-03",
    ...                        Investor("osnbp"), broker_addon=0.02, usd_cny=7.0)
    >>> m.cny     # 2 x 500 x 1000 x (0.11 + 0.02)
    130000.0
    >>> round(m.usd, 2)   # 130000 / (7.0 x 0.95)
    19548.87
    """
    if not isinstance(investor, Investor):
        raise InputError(f"investor={investor!r} must be a cnfutures.access.Investor")
    if not (isinstance(broker_addon, int | float) and math.isfinite(broker_addon) and 0 <= broker_addon < 1):
        raise InputError(f"broker_addon={broker_addon!r} must be a fraction in [0, 1)")
    pos = _as_mapping(positions, "contract", "lots", "positions")
    if prices is None and isinstance(positions, pl.DataFrame) and "price" in positions.columns:
        px = _as_mapping(positions, "contract", "price", "positions")
    else:
        px = _as_mapping(prices, "contract", "price", "prices")
    d = parse_date(on, "on")
    if usd_cny is not None:
        _check_positive("usd_cny", usd_cny)
    rows: list[dict[str, Any]] = []
    for code, lots in pos.items():
        c = contract(code)
        check_listed(c, d, what="position in")
        if not math.isfinite(lots):
            raise InputError(f"positions[{code!r}]={lots!r}; lots must be finite")
        if c.code not in px and code not in px:
            raise InputError(f"no price for {c.code!r} in prices; give a price for every position")
        price = px.get(c.code, px.get(code, math.nan))
        if not (math.isfinite(price) and price > 0):
            raise InputError(f"price of {c.code!r} is {price!r}; it must be a positive, finite price")
        rv = rules.margin_rate(c, d, hedge, book=book)
        h = haircut_rule(c.product.exchange, d) if usd_cny is not None else None
        rate = rv.value + broker_addon
        rows.append(
            {
                "contract": c.code,
                "lots": float(lots),
                "price": float(price),
                "multiplier": c.multiplier,
                "stage": c.stage(d),
                "margin_rate": rv.value,
                "broker_addon": float(broker_addon),
                "margin_cny": abs(lots) * price * c.multiplier * rate,
                "haircut": h.value if h else None,
                "verified": rv.verified and (h.verified if h else True),
                "source": "; ".join(rv.sources) + (f"; {h.source}" if h else ""),
            }
        )
    schema = {
        "contract": pl.String,
        "lots": pl.Float64,
        "price": pl.Float64,
        "multiplier": pl.Float64,
        "stage": pl.String,
        "margin_rate": pl.Float64,
        "broker_addon": pl.Float64,
        "margin_cny": pl.Float64,
        "haircut": pl.Float64,
        "verified": pl.Boolean,
        "source": pl.String,
    }
    frame = pl.DataFrame(rows, schema=schema)
    total = float(round(sum(r["margin_cny"] for r in rows), 6))
    usd = None
    if usd_cny is not None:
        usd = float(sum(r["margin_cny"] / (float(usd_cny) * r["haircut"]) for r in rows))
    extra_unverified: tuple[str, ...] = ()
    allowed, q_source, q_ok = usd_collateral_allowed(investor)
    if not allowed and usd_cny is not None:
        # no USD collateral on this route: the CNY margin is bought with USD at the fixing
        usd = float(total / float(usd_cny))
        if not q_ok:
            extra_unverified = (f"usd_collateral_{investor.route_.value}: {q_source}",)
    sources = tuple(dict.fromkeys(s for r in rows for s in r["source"].split("; ")))
    unverified = (
        tuple(f"{r['contract']}: {r['source']}" for r in rows if not r["verified"]) + extra_unverified
    )
    return MarginRequirement(cny=total, usd=usd, by_contract=frame, sources=sources, unverified=unverified)
