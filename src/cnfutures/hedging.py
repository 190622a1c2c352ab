"""Hedge ratios, hedge effectiveness and contract sizing for a USD-based hedger.

The questions answered here: how many lots of a Chinese contract hedge an exposure, and how
much risk does that remove? Everything works on *changes* (price differences, log or simple
returns) of a spot exposure ``S`` and a futures price ``F``:

* :func:`changes` - price changes that never span two contracts (roll days) nor a missing day;
* :func:`to_usd`, :func:`import_parity`, :func:`vat_rate` - the USD view of a CNY quote;
* :func:`align`, :func:`weekly` - as-of joins with a stated lag and Friday-to-Friday weeks
  (SC settles at 15:00 Beijing, Brent in London: same-day daily correlation is only about
  0.26 on real data, weekly about 0.73);
* :func:`hedge_ratio` - minimum-variance ratio ``h = cov(dS, dF) / var(dF)`` by static OLS,
  rolling OLS, EWMA or DCC-GARCH(1,1) (:func:`fit_dcc`);
* :func:`effectiveness`, :func:`effectiveness_oos` - variance (Ederington), VaR and
  expected-shortfall reduction, in and out of sample;
* :func:`contracts_needed` - whole lots from the product's multiplier, optionally tailed.

Inputs are polars Series / DataFrames or numpy arrays; outputs are polars frames or small
frozen dataclasses. Bad input raises :class:`~cnfutures.errors.InputError` or
:class:`~cnfutures.errors.DataError` naming the argument and row; numeric gaps are explicit
nulls with a ``status`` column, never silent zeros.

Examples
--------
>>> import numpy as np
>>> from cnfutures import hedging
>>> dF = np.array([0.021, 0.035, -0.046, 0.001, 0.044, -0.029, -0.026, -0.029])
>>> dS = np.array([0.029, 0.020, -0.044, 0.008, 0.026, -0.019, -0.010, -0.007])
>>> round(hedging.hedge_ratio(dS, dF)["hedge_ratio"][0], 4)
0.6912
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import polars as pl

from cnfutures._dates import DateLike, parse_date
from cnfutures._kernels import hedge as _k
from cnfutures.errors import CalendarOutOfBounds, DataError, InputError
from cnfutures.market._dated import asof_index, in_force
from cnfutures.market.products import Product
from cnfutures.validation import check_finite, check_keys

__all__ = [
    "ContractsNeeded",
    "DccFit",
    "Effectiveness",
    "GarchParams",
    "align",
    "changes",
    "contracts_needed",
    "effectiveness",
    "effectiveness_oos",
    "fit_dcc",
    "hedge_ratio",
    "import_parity",
    "monthly",
    "pair_changes",
    "resample",
    "to_usd",
    "vat_rate",
    "weekly",
]

ArrayLike = pl.Series | pl.DataFrame | np.ndarray | Sequence[float]

_STATUS_LABELS = ["ok", "warmup", "missing_in_window", "zero_variance", "missing"]
_MISSING_CODE = 4  # the row itself is incomplete and was left out (missing="drop")
_STATUS_ENUM = pl.Enum(_STATUS_LABELS)
_RECOMPUTE_MIN = 1 << 14  # exact recomputation of the rolling sums at least this far apart
_WEEKDAYS = {"mon": 0, "tue": 1, "wed": 2, "thu": 3, "fri": 4, "sat": 5, "sun": 6}


# --------------------------------------------------------------------------------------
# conversion helpers (validate once, convert once)
# --------------------------------------------------------------------------------------
def _value_column(frame: pl.DataFrame, name: str, column: str | None, prefer: Sequence[str]) -> str:
    if column is not None:
        if column not in frame.columns:
            raise InputError(
                f"{name} has no column {column!r}; columns are {frame.columns}"
            )
        return column
    for c in prefer:
        if c in frame.columns:
            return c
    numeric = [c for c, t in frame.schema.items() if t.is_numeric() and c != "date"]
    if len(numeric) == 1:
        return numeric[0]
    raise InputError(
        f"{name}: cannot tell which column holds the values (numeric columns {numeric}); "
        f"pass column=... or use a frame with one of {list(prefer)}"
    )


def _to_values(
    obj: Any, name: str, column: str | None = None, prefer: Sequence[str] = ("change",)
) -> tuple[np.ndarray, pl.Series | None]:
    """Return (contiguous float64 values with NaN for null, date Series or None)."""
    dates: pl.Series | None = None
    if isinstance(obj, pl.DataFrame):
        col = _value_column(obj, name, column, prefer)
        if "date" in obj.columns:
            check_keys(obj, "date", name=name)
            dates = obj["date"]
        elif "trading_day" in obj.columns:  # e.g. a continuous series: one row per day
            check_keys(obj, "trading_day", name=name)
        series = obj[col]
    elif isinstance(obj, pl.Series):
        series = obj
    elif isinstance(obj, np.ndarray | list | tuple):
        arr = np.asarray(obj)
        if arr.ndim != 1:
            raise InputError(f"{name} must be one-dimensional; got shape {arr.shape}")
        if arr.dtype.kind not in "fiub":
            raise InputError(f"{name} must be numeric; got dtype {arr.dtype}")
        return np.ascontiguousarray(arr, dtype=np.float64), None
    else:
        raise InputError(
            f"{name} must be a polars Series or DataFrame, a numpy array or a list; "
            f"got {type(obj).__name__}"
        )
    if not (series.dtype.is_numeric() or series.dtype == pl.Boolean):
        raise InputError(f"{name} must be numeric; got dtype {series.dtype}")
    values = series.cast(pl.Float64).to_numpy()
    return np.ascontiguousarray(values, dtype=np.float64), dates


def _check_finite(values: np.ndarray, name: str) -> None:
    bad = np.isinf(values)
    if bad.any():
        i = int(np.argmax(bad))
        raise InputError(f"{name} has an infinite value at row {i}; pass finite numbers or null")


def _status_of(obj: Any) -> np.ndarray | None:
    """The ``status`` column of a frame from :func:`changes` (why a change is null), if any."""
    if isinstance(obj, pl.DataFrame) and "status" in obj.columns:
        return np.asarray(obj["status"].cast(pl.String).fill_null("").to_list(), dtype=object)
    return None


def _why(s: np.ndarray, f: np.ndarray, s_st: np.ndarray | None, f_st: np.ndarray | None) -> np.ndarray:
    """Per row: "" when both changes are present, else which is missing and why."""
    why = np.full(s.shape[0], "", dtype=object)
    for name, v, st in (("spot", s, s_st), ("futures", f, f_st)):
        for i in np.flatnonzero(np.isnan(v)):
            reason = st[i] if st is not None and st[i] not in ("", "ok") else "null"
            part = f"{name} {reason}"
            why[i] = part if not why[i] else f"{why[i]} + {part}"
    return why


def _pair(
    spot: Any, futures: Any, how: str | None
) -> tuple[np.ndarray, np.ndarray, pl.Series | None, np.ndarray]:
    """Validate and convert a (spot, futures) pair; dates must match unless ``how='inner'``.

    Returns the two change arrays (NaN for null), the dates (or None) and, per row, why the
    row is incomplete ("" when it is complete).
    """
    s, f, dates, why_of = _pair_lazy(spot, futures, how, check_finite=True)
    return s, f, dates, why_of()


def _pair_lazy(
    spot: Any, futures: Any, how: str | None, *, check_finite: bool
) -> tuple[np.ndarray, np.ndarray, pl.Series | None, Callable[[], np.ndarray]]:
    """:func:`_pair` with the per-row reasons built only when asked (``why_of()``): they
    cost ~10 ns a row (Python strings) and are needed only when a row is incomplete.

    ``check_finite=False`` leaves the check for infinite values to the caller's kernel
    (fused into its pass); an error raised here then still reports an infinite value
    first, as :func:`_pair` does.
    """
    s, ds = _to_values(spot, "spot_changes")
    f, df = _to_values(futures, "futures_changes")

    def finite_first() -> None:
        _check_finite(s, "spot_changes")
        _check_finite(f, "futures_changes")

    if check_finite:
        finite_first()
    if ds is not None and df is not None:
        same = ds.len() == df.len() and bool((ds == df).all())
        if not same and how != "inner":
            finite_first()
            raise InputError(
                "spot_changes and futures_changes have different dates "
                f"({ds.len()} vs {df.len()} rows); pass how='inner' to keep common dates, "
                "or align them first with hedging.align()"
            )
        try:
            _check_spans(spot, futures, s, f)
        except InputError:
            finite_first()
            raise
        if not same:
            s_st, f_st = _status_of(spot), _status_of(futures)
            s_lab = s_st if s_st is not None else [""] * s.shape[0]
            f_lab = f_st if f_st is not None else [""] * f.shape[0]
            left = pl.DataFrame({"date": ds, "s": s, "s_st": pl.Series(s_lab, dtype=pl.String)})
            right = pl.DataFrame({"date": df, "f": f, "f_st": pl.Series(f_lab, dtype=pl.String)})
            both = left.join(right, on="date", how="inner").sort("date")
            s2 = np.ascontiguousarray(both["s"].to_numpy(), dtype=np.float64)
            f2 = np.ascontiguousarray(both["f"].to_numpy(), dtype=np.float64)
            why = _why(s2, f2, np.asarray(both["s_st"].to_list(), dtype=object),
                       np.asarray(both["f_st"].to_list(), dtype=object))
            return s2, f2, both["date"], lambda: why
    elif s.shape[0] != f.shape[0]:
        finite_first()
        raise InputError(
            f"spot_changes has {s.shape[0]} rows but futures_changes has {f.shape[0]}; "
            "pass equal-length series, or frames with a 'date' column and how='inner'"
        )
    dates = ds if ds is not None else df
    return s, f, dates, lambda: _why(s, f, _status_of(spot), _status_of(futures))


def _excluded(why: np.ndarray, dates: pl.Series | None) -> str:
    """'excluded k of n rows: 40 futures roll, 3 spot null; first: row 5 (2019-02-08)'."""
    bad = np.flatnonzero(why != "")
    if bad.size == 0:
        return f"no row of {why.shape[0]} excluded"
    kinds: dict[str, int] = {}
    for w in why[bad]:
        kinds[str(w)] = kinds.get(str(w), 0) + 1
    listed = ", ".join(f"{k} {v}" for v, k in sorted(kinds.items(), key=lambda kv: -kv[1]))
    i = int(bad[0])
    at = f"row {i}" + (f" ({dates[i]})" if dates is not None and i < dates.len() else "")
    return f"excluded {bad.size} of {why.shape[0]} rows: {listed}; first: {at}"


def _check_missing(missing: object) -> None:
    if missing not in ("raise", "drop"):
        raise InputError(f"missing={missing!r} is not accepted; use 'raise' or 'drop'")


def _raise_if_missing(why: np.ndarray, dates: pl.Series | None, missing: str, what: str) -> None:
    if missing == "raise" and (why != "").any():
        raise InputError(
            f"{what} has incomplete rows ({_excluded(why, dates)}); pass missing='drop' to "
            "leave them out (windows then count complete observations or periods, see "
            "window_in), or fill the gaps"
        )


def _check_spans(spot: Any, futures: Any, s: np.ndarray, f: np.ndarray) -> None:
    """Refuse to pair two changes measured over different intervals (a 2-week SC change
    against a 1-week Brent change). Needs ``from_date`` on both frames (:func:`changes`)."""
    if not (isinstance(spot, pl.DataFrame) and isinstance(futures, pl.DataFrame)):
        return
    if "from_date" not in spot.columns or "from_date" not in futures.columns:
        return
    left = spot.select("date", pl.col("from_date").alias("a"), pl.Series("s", s))
    right = futures.select("date", pl.col("from_date").alias("b"), pl.Series("f", f))
    both = left.join(right, on="date", how="inner").filter(
        pl.col("s").is_not_nan() & pl.col("f").is_not_nan() & (pl.col("a") != pl.col("b"))
    )
    if both.height:
        r = both.row(0, named=True)
        raise InputError(
            f"changes of unequal length cannot be paired: on {r['date']} spot_changes runs from "
            f"{r['a']} but futures_changes from {r['b']} ({both.height} such rows). Resample "
            "both series on one full grid (hedging.weekly / monthly / resample keep empty "
            "periods as nulls) or pair them with hedging.pair_changes(..., lag=...)"
        )


def _date_column(dates: pl.Series | None, n: int) -> pl.Series:
    if dates is None:  # row numbers: polars fills them 2-3x faster than np.arange
        return pl.int_range(0, n, dtype=pl.Int64, eager=True).alias("date")
    return dates.alias("date")


def _status_series(codes: np.ndarray) -> pl.Series:
    # gather from an Enum series: 1.5 ns/row, against ~50 ns/row for a string mapping
    return pl.Series("status", _STATUS_LABELS, dtype=_STATUS_ENUM)[codes]


def _status_warmup_then_ok(n: int, warm: int) -> pl.Series:
    """The status of a clean run: ``warm`` rows "warmup", then "ok" (two constant chunks;
    no per-row work)."""
    labels = pl.Series("status", _STATUS_LABELS, dtype=_STATUS_ENUM)
    ok = labels.new_from_index(_STATUS_LABELS.index("ok"), n - warm)
    if warm == 0:
        return ok
    head = labels.new_from_index(_STATUS_LABELS.index("warmup"), warm)
    return pl.concat([head, ok], rechunk=False)


def _ratio_leading_nulls(ratio: np.ndarray, warm: int) -> pl.Series:
    """``ratio`` as a Float64 series, null on its first ``warm`` rows and valid elsewhere,
    without a copy: the numpy buffer becomes the Arrow values buffer (zero-copy into
    polars) beside a validity bitmap of ``n / 8`` bytes."""
    import pyarrow as pa

    n = ratio.shape[0]
    if warm == 0:
        validity = None
    else:
        bits = np.full((n + 7) // 8, 0xFF, dtype=np.uint8)  # Arrow: least significant bit first
        bits[: warm // 8] = 0
        if warm % 8:
            bits[warm // 8] = (0xFF << (warm % 8)) & 0xFF
        validity = pa.py_buffer(bits)
    arr = pa.Array.from_buffers(pa.float64(), n, [validity, pa.py_buffer(ratio)], null_count=warm)
    return pl.Series("hedge_ratio", arr)


# --------------------------------------------------------------------------------------
# 1. price changes
# --------------------------------------------------------------------------------------
def changes(
    prices: pl.DataFrame | pl.Series | np.ndarray | Sequence[float],
    kind: Literal["difference", "log", "simple"] = "difference",
    roll: pl.Series | np.ndarray | Sequence[bool] | str | None = None,
    *,
    column: str | None = None,
    prev_same_contract: str = "prev_settle",
) -> pl.DataFrame:
    """Price changes that never span two contracts nor a missing day.

    The change on row ``t`` compares price ``t`` with price ``t-1``. It is null, with the
    reason in ``status``, when either price is missing, on the first row, on a roll day
    (first day on a new contract: the difference to yesterday's price of the *old* contract
    is the inter-contract spread, not a price move), and for ``"log"``/``"simple"`` when a
    price is not positive. On a roll day the change is computed on the same contract instead
    when the frame has a ``prev_same_contract`` column holding the new contract's previous
    settlement (status ``"roll_same_contract"``).

    Parameters
    ----------
    prices : polars DataFrame, Series or array [currency/unit]
        A frame with a ``date`` column and a price column (``column``, else ``settle``,
        ``close`` or ``price``), or a bare series of prices.
    kind : {"difference", "log", "simple"}
        ``p_t - p_{t-1}`` [currency/unit] (default; fine for prices that can go negative),
        ``log(p_t / p_{t-1})`` or ``p_t / p_{t-1} - 1`` [-].
    roll : bool series/array, column name, or None
        Roll flags, True on the first day on a new contract. None uses the frame's ``roll``
        column when there is one (otherwise no rolls).
    column : str, optional
        Price column of a frame.
    prev_same_contract : str
        Column with the previous day's price of the contract held today (used on roll days).

    Returns
    -------
    polars.DataFrame
        ``date`` (row number when the input has no dates), ``from_date`` (with dates: the
        date of the previous row, which the change is measured from; estimators refuse to
        pair two changes whose ``from_date`` differ), ``change`` and ``status`` (one of
        ``ok``, ``first_row``, ``missing_price``, ``missing_previous``, ``roll``,
        ``roll_same_contract``, ``nonpositive_price``).

    Raises
    ------
    InputError
        Unknown ``kind``, a roll series of the wrong length, or a non-numeric price column.

    Examples
    --------
    >>> import polars as pl
    >>> from cnfutures.hedging import changes
    >>> f = pl.DataFrame({"settle": [500.0, 505.0, None, 510.0, 480.0, 482.0],
    ...                   "roll": [False, False, False, False, True, False]})
    >>> changes(f)["change"].to_list()
    [None, 5.0, None, None, None, 2.0]
    >>> changes(f)["status"].to_list()[2:5]
    ['missing_price', 'missing_previous', 'roll']
    """
    if kind not in ("difference", "log", "simple"):
        raise InputError(f"kind={kind!r} is not accepted; use 'difference', 'log' or 'simple'")
    p, dates = _to_values(prices, "prices", column, prefer=("settle", "close", "price"))
    _check_finite(p, "prices")
    n = p.shape[0]
    roll_flags = np.zeros(n, dtype=bool)
    same = np.full(n, np.nan)
    if isinstance(roll, str) or (roll is None and isinstance(prices, pl.DataFrame)):
        name = roll if isinstance(roll, str) else "roll"
        if isinstance(prices, pl.DataFrame) and name in prices.columns:
            roll_flags = prices[name].fill_null(False).cast(pl.Boolean).to_numpy()
        elif isinstance(roll, str):
            raise InputError(f"roll={roll!r} is not a column of prices; columns are "
                             f"{prices.columns if isinstance(prices, pl.DataFrame) else []}")
    elif roll is not None:
        arr = roll.fill_null(False).to_numpy() if isinstance(roll, pl.Series) else np.asarray(roll)
        if arr.shape != (n,):
            raise InputError(f"roll has {arr.shape[0] if arr.ndim else 0} rows but prices has {n}")
        roll_flags = arr.astype(bool)
    if isinstance(prices, pl.DataFrame) and prev_same_contract in prices.columns:
        same = prices[prev_same_contract].cast(pl.Float64).to_numpy().astype(np.float64)
    prev = np.empty(n)
    if n:
        prev[0] = np.nan
        prev[1:] = p[:-1]
    use_same = roll_flags & ~np.isnan(same)
    prev = np.where(use_same, same, prev)
    with np.errstate(invalid="ignore", divide="ignore"):
        if kind == "difference":
            ch = p - prev
        elif kind == "log":
            ch = np.log(p / prev)
        else:
            ch = p / prev - 1.0
    status = np.full(n, "ok", dtype=object)
    status[use_same] = "roll_same_contract"
    if kind != "difference":
        nonpos = ((p <= 0) | (prev <= 0)) & ~np.isnan(p) & ~np.isnan(prev)
        status[nonpos] = "nonpositive_price"
    status[np.isnan(prev)] = "missing_previous"
    status[roll_flags & ~use_same] = "roll"
    status[np.isnan(p)] = "missing_price"
    if n:
        status[0] = "first_row" if not np.isnan(p[0]) else "missing_price"
    bad = ~np.isin(status, ["ok", "roll_same_contract"])
    ch = np.where(bad, np.nan, ch)
    cols: dict[str, pl.Series] = {"date": _date_column(dates, n)}
    if dates is not None:
        # the observation each change is measured from: two changes pair only if they agree
        cols["from_date"] = dates.shift(1).alias("from_date")
    cols["change"] = pl.Series("change", ch, nan_to_null=True)
    cols["status"] = pl.Series("status", status.astype(str))
    return pl.DataFrame(cols)


# --------------------------------------------------------------------------------------
# 2. USD view
# --------------------------------------------------------------------------------------
def to_usd(
    cny: pl.DataFrame | pl.Series | np.ndarray | pl.Expr | float,
    usd_cny: pl.DataFrame | pl.Series | np.ndarray | pl.Expr | float,
    *,
    column: str | None = None,
    fx_column: str | None = None,
) -> pl.DataFrame | pl.Series | np.ndarray | pl.Expr | float:
    """Convert CNY amounts to USD: ``usd = cny / usd_cny``.

    Parameters
    ----------
    cny : float, array, Series, or DataFrame with ``date`` [CNY or CNY/unit]
    usd_cny : float, array, Series, or DataFrame with ``date`` [CNY per USD]
        When both are frames, they are joined exactly on ``date`` (left join on ``cny``'s
        dates; a missing rate gives a null). Use :func:`align` first for an as-of join.
    column, fx_column : str, optional
        Value columns of the frames.

    Returns
    -------
    Same kind as ``cny``: a float, array, Series, or a frame with ``date``, ``cny``,
    ``usd_cny`` and ``usd`` [USD or USD/unit].

    Raises
    ------
    InputError
        A non-positive rate (names the row) or lengths that differ.

    Polars expressions are accepted too (``cny`` and/or ``usd_cny``); the result is an
    expression that is null where the rate is null, zero or negative (checked when it runs,
    never divided through).

    Examples
    --------
    >>> from cnfutures.hedging import to_usd
    >>> round(to_usd(520.0, 7.2), 4)
    72.2222
    >>> f = pl.DataFrame({"settle": [520.0, 530.0], "usd_cny": [7.2, 0.0]})
    >>> f.select(to_usd(pl.col("settle"), pl.col("usd_cny")).round(4))["settle"].to_list()
    [72.2222, None]
    """
    if isinstance(cny, pl.Expr) or isinstance(usd_cny, pl.Expr):
        if isinstance(cny, pl.DataFrame | pl.Series | np.ndarray) or isinstance(
            usd_cny, pl.DataFrame | pl.Series | np.ndarray
        ):
            raise InputError(
                "to_usd mixes a polars expression with a frame/series/array; pass expressions "
                "(pl.col(...)) or scalars for both, or no expression at all"
            )
        if not isinstance(usd_cny, pl.Expr):
            check_finite(float(usd_cny), "usd_cny", positive=True, allow_null=False,
                         what="a rate [CNY per USD]")
        c_expr = cny if isinstance(cny, pl.Expr) else pl.lit(float(cny))
        r_expr = usd_cny if isinstance(usd_cny, pl.Expr) else pl.lit(float(usd_cny))
        return pl.when(r_expr.is_finite() & (r_expr > 0)).then(c_expr / r_expr)
    if isinstance(cny, pl.DataFrame):
        if not isinstance(usd_cny, pl.DataFrame):
            fx_v = float(usd_cny) if np.ndim(usd_cny) == 0 else None  # type: ignore[arg-type]
            if fx_v is None:
                raise InputError("usd_cny must be a frame with 'date' or a scalar when cny is a frame")
            fx_frame = None
        else:
            fx_frame = usd_cny
        col = _value_column(cny, "cny", column, ("settle", "close", "price", "value"))
        check_keys(cny, "date", name="cny", sort=True)
        if fx_frame is not None:
            check_keys(fx_frame, "date", name="usd_cny", sort=True)
        if fx_frame is None:
            out = cny.select("date", pl.col(col).cast(pl.Float64).alias("cny")).with_columns(
                usd_cny=pl.lit(fx_v)
            )
        else:
            fcol = _value_column(fx_frame, "usd_cny", fx_column, ("cny_per_usd", "usd_cny", "rate"))
            out = cny.select("date", pl.col(col).cast(pl.Float64).alias("cny")).join(
                fx_frame.select("date", pl.col(fcol).cast(pl.Float64).alias("usd_cny")),
                on="date",
                how="left",
            )
        _check_rates(out["usd_cny"].to_numpy(), "usd_cny")
        return out.with_columns(usd=pl.col("cny") / pl.col("usd_cny"))
    if isinstance(cny, int | float):
        if np.ndim(usd_cny) != 0 or isinstance(usd_cny, pl.Series | pl.DataFrame):
            raise InputError("cny is a scalar, so usd_cny must be a scalar rate [CNY per USD]")
        fx = float(usd_cny)  # type: ignore[arg-type]
        check_finite(fx, "usd_cny", positive=True, allow_null=False, what="a rate [CNY per USD]")
        check_finite(float(cny), "cny", allow_null=False, what="an amount [CNY]")
        return float(cny) / fx
    c, _ = _to_values(cny, "cny")
    if isinstance(usd_cny, int | float):
        r = np.full(c.shape[0], float(usd_cny))
    else:
        r, _ = _to_values(usd_cny, "usd_cny", prefer=("cny_per_usd", "usd_cny", "rate"))
    if r.shape[0] != c.shape[0]:
        raise InputError(f"cny has {c.shape[0]} rows but usd_cny has {r.shape[0]}")
    _check_rates(r, "usd_cny")
    usd: np.ndarray = c / r
    if isinstance(cny, pl.Series):
        return pl.Series(cny.name, usd, nan_to_null=True)
    return usd


def _check_rates(r: np.ndarray, name: str) -> None:
    # a missing rate (NaN / null) gives a null; zero, negative and infinite rates are errors
    check_finite(r, name, positive=True, what="a rate [CNY per USD]")


def _vat_table() -> list[tuple[dt.date, float]]:
    from cnfutures.market._data import load_toml

    data = load_toml("vat.toml")
    return sorted((parse_date(r["from"], "vat.from"), float(r["rate"])) for r in data["rate"])


def vat_rate(on: DateLike) -> float:
    """PRC standard VAT rate on goods in force on a date [-].

    17% until 2018-04-30, 16% from 2018-05-01, 13% from 2019-04-01 (bundled table
    ``market/data/vat.toml``; source "PRC VAT reforms (Caishui [2018] 32, MOF/SAT/GACC
    Ann. 39 [2019])", marked ``verified = false``).

    Raises
    ------
    CalendarOutOfBounds
        Before the first entry of the table (1994-01-01).

    Examples
    --------
    >>> from cnfutures.hedging import vat_rate
    >>> vat_rate("2018-04-30"), vat_rate("2018-05-01"), vat_rate("2019-04-01")
    (0.17, 0.16, 0.13)
    """
    d = parse_date(on, "on")
    table = _vat_table()
    if d < table[0][0]:
        raise CalendarOutOfBounds(
            f"on={d.isoformat()} is before the VAT table starts ({table[0][0].isoformat()})"
        )
    row = in_force([{"effective": start, "rate": r} for start, r in table], d)
    assert row is not None  # d is on or after the first entry
    return float(row["rate"])


def _vat_rates(dates: pl.Series) -> np.ndarray:
    table = _vat_table()
    d = dates.cast(pl.Date)
    if d.null_count():
        raise InputError("dates must not be null to look up VAT rates")
    first = d.min()
    if isinstance(first, dt.date) and first < table[0][0]:
        raise CalendarOutOfBounds(
            f"date {first.isoformat()} is before the VAT table starts ({table[0][0].isoformat()})"
        )
    epoch = dt.date(1970, 1, 1)
    starts = np.array([(t[0] - epoch).days for t in table], dtype=np.int64)
    idx = asof_index(starts, d.to_physical().to_numpy().astype(np.int64))
    out: np.ndarray = np.asarray([t[1] for t in table])[idx]
    return out


def import_parity(
    domestic: pl.DataFrame,
    benchmark: pl.DataFrame,
    usd_cny: pl.DataFrame,
    *,
    product: str | Product | None = "sc",
    tax_inclusive: bool | None = None,
    column: str | None = None,
    benchmark_column: str | None = None,
    fx_column: str | None = None,
    lag: int | dt.timedelta = 0,
    tolerance: dt.timedelta | None = dt.timedelta(days=7),
) -> pl.DataFrame:
    """Put a CNY futures quote next to a USD benchmark converted at USD/CNY.

    For every ``domestic`` date the benchmark and the rate are the last values at or before
    the date minus ``lag`` (as-of join, :func:`align`). VAT is stripped from tax-inclusive
    quotes (DCE ``i``, SHFE ``ru``) at the rate in force that day (:func:`vat_rate`);
    INE ``sc`` / ``nr`` quote bonded, net of tax, and are used as they are. Import duty is not
    modelled (zero on crude oil and iron ore).

    Parameters
    ----------
    domestic : polars.DataFrame
        ``date`` and a price column [CNY/unit] (``column``, else ``settle``/``close``/``price``).
    benchmark : polars.DataFrame
        ``date`` and the USD benchmark [USD/unit] (e.g. Brent spot, a 62% Fe index).
    usd_cny : polars.DataFrame
        ``date`` and the rate [CNY per USD] (e.g. FRED DEXCHUS ``cny_per_usd``).
    product : str or Product, optional
        Sets ``tax_inclusive`` from the product table unless given explicitly.
    tax_inclusive : bool, optional
        Whether ``domestic`` includes VAT.
    column, benchmark_column, fx_column : str, optional
        Value columns.
    lag : int [days] or timedelta
        Benchmark and rate must be dated at least this long before the domestic date.
    tolerance : timedelta, optional
        Oldest benchmark/rate accepted; older gives null.

    Returns
    -------
    polars.DataFrame
        ``date``, ``domestic`` [CNY/unit], ``vat_rate`` [-], ``domestic_ex_vat`` [CNY/unit],
        ``benchmark`` [USD/unit], ``usd_cny`` [CNY/USD], ``benchmark_cny`` [CNY/unit],
        ``domestic_usd`` [USD/unit, ex VAT], ``parity`` (domestic ex VAT / benchmark in CNY)
        [-] and ``premium`` (domestic ex VAT minus benchmark) [CNY/unit].

    Examples
    --------
    >>> import datetime as dt, polars as pl
    >>> from cnfutures.hedging import import_parity
    >>> d = [dt.date(2025, 6, 26), dt.date(2025, 6, 27)]
    >>> sc = pl.DataFrame({"date": d, "settle": [505.4, 502.2]})
    >>> brent = pl.DataFrame({"date": d, "price": [68.0, 67.5]})
    >>> fx = pl.DataFrame({"date": d, "cny_per_usd": [7.17, 7.17]})
    >>> import_parity(sc, brent, fx)["parity"].round(4).to_list()
    [1.0366, 1.0377]
    """
    if tax_inclusive is None:
        if product is None:
            raise InputError("pass product=... or tax_inclusive=... to import_parity")
        from cnfutures.market.products import product as _product

        prod = product if isinstance(product, Product) else _product(product)
        tax_inclusive = prod.tax_inclusive
    col = _value_column(domestic, "domestic", column, ("settle", "close", "price"))
    bcol = _value_column(benchmark, "benchmark", benchmark_column, ("price", "price_usd_per_bbl"))
    fcol = _value_column(usd_cny, "usd_cny", fx_column, ("cny_per_usd", "usd_cny", "rate"))
    dom = domestic.select("date", pl.col(col).cast(pl.Float64).alias("domestic"))
    bm = benchmark.select("date", pl.col(bcol).cast(pl.Float64).alias("benchmark")).drop_nulls()
    fx = usd_cny.select("date", pl.col(fcol).cast(pl.Float64).alias("usd_cny")).drop_nulls()
    _check_rates(fx["usd_cny"].to_numpy(), "usd_cny")
    check_finite(dom["domestic"], f"domestic.{col}", what="a price [CNY/unit]")
    check_finite(bm["benchmark"], f"benchmark.{bcol}", what="a price [USD/unit]")
    out = align(dom, bm, lag=lag, tolerance=tolerance, suffix="_benchmark")
    out = align(out, fx, lag=lag, tolerance=tolerance, suffix="_fx")
    vat = _vat_rates(out["date"]) if tax_inclusive else np.zeros(out.height)
    return out.with_columns(vat_rate=pl.Series(vat)).select(
        "date",
        "domestic",
        "vat_rate",
        (pl.col("domestic") / (1.0 + pl.col("vat_rate"))).alias("domestic_ex_vat"),
        "benchmark",
        "usd_cny",
        (pl.col("benchmark") * pl.col("usd_cny")).alias("benchmark_cny"),
    ).with_columns(
        domestic_usd=pl.col("domestic_ex_vat") / pl.col("usd_cny"),
        parity=pl.col("domestic_ex_vat") / pl.col("benchmark_cny"),
        premium=pl.col("domestic_ex_vat") - pl.col("benchmark_cny"),
    )


# --------------------------------------------------------------------------------------
# alignment and weekly sampling
# --------------------------------------------------------------------------------------
def _check_key(frame: pl.DataFrame, name: str, on: str) -> pl.DataFrame:
    return check_keys(frame, on, name=name, sort=True)


def align(
    left: pl.DataFrame,
    right: pl.DataFrame,
    *,
    on: str = "date",
    lag: int | dt.timedelta = 0,
    tolerance: dt.timedelta | None = None,
    suffix: str = "_right",
) -> pl.DataFrame:
    """As-of join: to each ``left`` row attach the last ``right`` row dated ``<= left - lag``.

    Use it to line up series from different calendars and time zones with an explicit,
    stated information lag: e.g. SC (settles 15:00 Beijing) against Brent assessed in
    London the *previous* day is ``lag=1``; FRED's USD/CNY (noon New York) on a US holiday
    falls back to the last published rate.

    Parameters
    ----------
    left, right : polars.DataFrame
        Frames with a date or datetime column ``on``; sorted on the fly, duplicate keys raise.
    on : str
        Key column.
    lag : int [days] or timedelta
        Minimum age of the attached right row.
    tolerance : timedelta, optional
        Maximum age beyond ``lag``; older gives nulls.
    suffix : str
        Suffix for right columns whose names clash; right's own key is kept as
        ``on + suffix``.

    Returns
    -------
    polars.DataFrame
        ``left`` with the right columns attached (nulls where nothing qualifies).

    Raises
    ------
    DataError
        Duplicate or null keys.
    InputError
        Key columns of different types (a Date and a Datetime, or two time zones).

    Examples
    --------
    >>> import datetime as dt, polars as pl
    >>> from cnfutures.hedging import align
    >>> sc = pl.DataFrame({"date": [dt.date(2025, 6, 27), dt.date(2025, 6, 30)], "sc": [1, 2]})
    >>> brent = pl.DataFrame({"date": [dt.date(2025, 6, 26), dt.date(2025, 6, 27)],
    ...                       "brent": [67.7, 67.8]})
    >>> align(sc, brent, lag=1)["brent"].to_list()
    [67.7, 67.8]
    """
    left = _check_key(left, "left", on)
    right = _check_key(right, "right", on)
    if left.schema[on] != right.schema[on]:
        raise InputError(
            f"left.{on} is {left.schema[on]} but right.{on} is {right.schema[on]}; an as-of join needs one "
            "key type: cast dates with pl.col(on).dt.date(), or convert time zones with "
            ".dt.convert_time_zone(...) so both sides are the same"
        )
    shift = dt.timedelta(days=lag) if isinstance(lag, int) else lag
    if not isinstance(shift, dt.timedelta) or shift < dt.timedelta(0):
        raise InputError(f"lag={lag!r} must be a non-negative number of days or a timedelta")
    key_name = f"{on}{suffix}"
    r = right.with_columns(pl.col(on).alias(key_name)).with_columns(
        (pl.col(on) + shift).alias(on)
    )
    clash = [c for c in r.columns if c in left.columns and c != on]
    r = r.rename({c: f"{c}{suffix}" for c in clash})
    return left.join_asof(r, on=on, strategy="backward", tolerance=tolerance)


_WEEKDAY_NAMES = {
    **_WEEKDAYS,
    "monday": 0, "tuesday": 1, "wednesday": 2, "thursday": 3, "friday": 4, "saturday": 5,
    "sunday": 6,
}
_EVERY = ("day", "week", "month")


def _weekday_of(anchor: object) -> int:
    if not isinstance(anchor, str) or anchor.lower() not in _WEEKDAY_NAMES:
        raise InputError(
            f"anchor={anchor!r} is not a weekday; use one of {list(_WEEKDAYS)} (or the full "
            "English name). For calendar months use hedging.monthly() or resample(every='month')"
        )
    return _WEEKDAY_NAMES[anchor.lower()]


def resample(
    frame: pl.DataFrame,
    every: Literal["day", "week", "month"],
    *,
    on: str = "date",
    anchor: str = "fri",
    calendar: Any = None,
    start: DateLike | None = None,
    end: DateLike | None = None,
) -> pl.DataFrame:
    """Sample a daily frame on a full grid of periods: one row for *every* period in range.

    A period's row holds the last row of the frame dated in it (Thursday's when Friday is a
    holiday). A period with no row is **kept**, with null values and a ``status``, so that
    :func:`changes` on the result never spans a gap: the change into and out of an empty
    week is null, never a two-week change silently paired with a one-week one.

    Parameters
    ----------
    frame : polars.DataFrame
        Daily rows with a ``Date`` column ``on`` (sorted on the fly; duplicates raise).
    every : {"day", "week", "month"}
        ``"week"``: weeks ending on ``anchor`` (the row is dated on the anchor day);
        ``"month"``: calendar months (dated on the month's last calendar day);
        ``"day"``: the trading days of ``calendar`` (needs ``calendar``).
    on : str
        Date column.
    anchor : str
        Weekday ending each week: ``"mon"`` .. ``"sun"`` or the full English name, any case.
        Anything else raises (``"monthly"`` is not Monday).
    calendar : TradingCalendar or exchange code (``"INE"``, ``"SHFE"``, ``"DCE"``), optional
        Exchange calendar: tells a period in which the exchange was shut (``"closed"``) from
        one whose trading days are missing from the frame (``"no_data"``), and adds
        ``trading_days`` (trading days in the period). Every row of the frame must then be
        a trading day.
    start, end : date-like, optional
        Range of the grid (default: first and last date of the frame); periods that
        overlap it are emitted.

    Returns
    -------
    polars.DataFrame
        ``on`` (period end), ``period_start``, ``last_date`` (date of the observation used,
        null when none), ``n_days`` (rows of the frame in the period), ``trading_days``
        (with a calendar), ``status`` (``ok``; ``closed``: no trading day in the period;
        ``no_data``: no row in the period) and the frame's other columns (the last row's
        values; boolean columns such as ``roll`` are True when any row of the period is).

    Raises
    ------
    InputError
        Unknown ``every`` or ``anchor``, a key that is not a ``Date``, ``every="day"``
        without a calendar, ``end`` before ``start``.
    DataError
        Duplicate or null dates; with a calendar, a row on a day the exchange was shut
        (the message names the row and date).
    CalendarOutOfBounds
        The range leaves the calendar's data.

    Examples
    --------
    >>> import datetime as dt, polars as pl
    >>> from cnfutures.hedging import resample
    >>> days = [dt.date(2025, 9, 26), dt.date(2025, 9, 30), dt.date(2025, 10, 10)]
    >>> w = resample(pl.DataFrame({"date": days, "p": [1.0, 2.0, 3.0]}), "week",
    ...              calendar="INE")
    >>> w.select("date", "p", "trading_days", "status").rows()  # doctest: +NORMALIZE_WHITESPACE
    [(datetime.date(2025, 9, 26), 1.0, 5, 'ok'),
     (datetime.date(2025, 10, 3), 2.0, 2, 'ok'),
     (datetime.date(2025, 10, 10), 3.0, 2, 'ok')]
    """
    if every not in _EVERY:
        raise InputError(f"every={every!r} is not accepted; use one of {list(_EVERY)}")
    wd = _weekday_of(anchor)
    frame = _check_key(frame, "frame", on)
    if frame.schema[on] != pl.Date:
        raise InputError(
            f"frame.{on} is {frame.schema[on]}, not Date; resample daily rows keyed by their "
            f"(trading) day: pl.col({on!r}).dt.date()"
        )
    cal = None
    if calendar is not None:
        if isinstance(calendar, str):
            from cnfutures.market.calendar import calendar as _calendar

            cal = _calendar(calendar)
        else:
            cal = calendar
    if every == "day" and cal is None:
        raise InputError("every='day' needs calendar=... (the exchange whose trading days are the grid)")
    if frame.height == 0 and (start is None or end is None):
        raise InputError("frame has no rows; pass start=... and end=... for an empty grid")
    lo = parse_date(start, "start") if start is not None else frame[on].min()
    hi = parse_date(end, "end") if end is not None else frame[on].max()
    assert isinstance(lo, dt.date) and isinstance(hi, dt.date)
    if hi < lo:
        raise InputError(f"end={hi.isoformat()} is before start={lo.isoformat()}")
    frame = frame.filter(pl.col(on).is_between(lo, hi))

    def key(expr: pl.Expr) -> pl.Expr:
        if every == "week":
            return expr + pl.duration(days=(wd + 1 - expr.dt.weekday()) % 7)
        if every == "month":
            return expr.dt.month_end()
        return expr

    first = pl.select(key(pl.lit(lo))).item()
    last = pl.select(key(pl.lit(hi))).item()
    if every == "week":
        grid = pl.date_range(first, last, interval="1w", eager=True)
        period_start = pl.col(on) - pl.duration(days=6)
    elif every == "month":
        grid = pl.date_range(first.replace(day=1), last, interval="1mo", eager=True).dt.month_end()
        period_start = pl.col(on).dt.month_start()
    else:
        assert cal is not None
        grid = cal.trading_days(lo, hi)
        period_start = pl.col(on)
    out = pl.DataFrame({on: grid.alias(on).cast(pl.Date)}).with_columns(period_start=period_start)

    if cal is not None:
        cal_lo = out["period_start"].min() if every != "day" else lo
        cal_hi = out[on].max()
        assert isinstance(cal_lo, dt.date) and isinstance(cal_hi, dt.date)
        tdays = cal.trading_days(cal_lo, cal_hi)
        off = frame.filter(~pl.col(on).is_in(tdays.implode()))
        if off.height:
            d0 = off[on][0]
            row = int(frame.with_row_index().filter(pl.col(on) == d0)["index"][0])
            raise DataError(
                f"frame.{on} row {row} is {d0.isoformat()}, which is not a {cal.exchange} "
                f"trading day ({off.height} such rows); drop them (e.g. a vendor's holiday row) "
                "or resample without calendar="
            )
        counts = (
            pl.DataFrame({on: tdays.cast(pl.Date)})
            .with_columns(key(pl.col(on)).alias("_k"))
            .group_by("_k")
            .agg(pl.len().cast(pl.Int64).alias("trading_days"))
            .rename({"_k": on})
        )
        out = out.join(counts, on=on, how="left").with_columns(
            pl.col("trading_days").fill_null(0)
        )
    others = [c for c in frame.columns if c != on]
    aggs = [
        pl.col(c).any().alias(c) if frame.schema[c] == pl.Boolean else pl.col(c).last().alias(c)
        for c in others
    ]
    agg = (
        frame.with_columns(key(pl.col(on)).cast(pl.Date).alias("_k"))
        .group_by("_k", maintain_order=True)
        .agg(pl.col(on).last().alias("last_date"), pl.len().cast(pl.Int64).alias("n_days"), *aggs)
        .rename({"_k": on})
    )
    out = out.join(agg, on=on, how="left").with_columns(pl.col("n_days").fill_null(0))
    if cal is not None:
        status = (
            pl.when(pl.col("n_days") > 0).then(pl.lit("ok"))
            .when(pl.col("trading_days") == 0).then(pl.lit("closed"))
            .otherwise(pl.lit("no_data"))
        )
    else:
        status = pl.when(pl.col("n_days") > 0).then(pl.lit("ok")).otherwise(pl.lit("no_data"))
    lead = [on, "period_start", "last_date", "n_days"] + (["trading_days"] if cal else [])
    return out.with_columns(status=status).select(*lead, "status", *others).sort(on)


def weekly(
    frame: pl.DataFrame,
    *,
    on: str = "date",
    anchor: str = "fri",
    calendar: Any = None,
    start: DateLike | None = None,
    end: DateLike | None = None,
) -> pl.DataFrame:
    """Friday-to-Friday (or another weekday) weeks on a full grid: ``resample(frame, "week")``.

    Every week in range gets a row; a week without a row of ``frame`` (the exchange shut all
    week for the Spring Festival or National Day, or data missing) has null values and a
    ``status`` instead of being dropped, so a weekly :func:`changes` never spans two weeks.
    See :func:`resample` for the parameters and columns.

    Examples
    --------
    >>> import datetime as dt, polars as pl
    >>> from cnfutures.hedging import weekly
    >>> days = [dt.date(2025, 6, d) for d in (23, 24, 25, 26, 27)] + [dt.date(2025, 7, 7)]
    >>> w = weekly(pl.DataFrame({"date": days, "p": [1.0, 2, 3, 4, 5, 6]}))
    >>> w["date"].dt.day().to_list(), w["p"].to_list(), w["status"].to_list()
    ([27, 4, 11], [5.0, None, 6.0], ['ok', 'no_data', 'ok'])
    """
    return resample(frame, "week", on=on, anchor=anchor, calendar=calendar, start=start, end=end)


def monthly(
    frame: pl.DataFrame,
    *,
    on: str = "date",
    calendar: Any = None,
    start: DateLike | None = None,
    end: DateLike | None = None,
) -> pl.DataFrame:
    """Calendar months on a full grid: ``resample(frame, "month")``, dated on the month's end.

    Examples
    --------
    >>> import datetime as dt, polars as pl
    >>> from cnfutures.hedging import monthly
    >>> days = [dt.date(2025, 1, 27), dt.date(2025, 1, 31), dt.date(2025, 3, 3)]
    >>> m = monthly(pl.DataFrame({"date": days, "p": [1.0, 2.0, 3.0]}))
    >>> m["date"].to_list()[1], m["p"].to_list(), m["status"].to_list()
    (datetime.date(2025, 2, 28), [2.0, None, 3.0], ['ok', 'no_data', 'ok'])
    """
    return resample(frame, "month", on=on, calendar=calendar, start=start, end=end)


def pair_changes(
    spot_changes: pl.DataFrame, futures_changes: pl.DataFrame, *, lag: int
) -> pl.DataFrame:
    """Pair two series of changes period by period, with a stated lag, and say which is which.

    Series from different calendars and time zones (SC settles 15:00 Beijing, Brent is
    assessed in London hours later) only pair meaningfully with an explicit statement of
    which observation goes with which. The futures change of period ``t`` is paired with the
    spot change ``lag`` rows before the spot row of period ``t``: ``lag=0`` pairs the same
    period (weekly SC vs Brent: SC's Friday close is ~16 h before Brent's, a small part of a
    week), ``lag=1`` on daily rows pairs SC's day ``t`` with Brent's day ``t-1`` (the last
    London assessment SC's close has seen). Use it on full grids (:func:`resample`), so a
    row shift is a period shift.

    Parameters
    ----------
    spot_changes, futures_changes : polars.DataFrame
        Frames from :func:`changes` (``date``, ``from_date``, ``change``).
    lag : int
        Required, no default [periods, >= 0].

    Returns
    -------
    polars.DataFrame
        ``date`` (the futures period), ``spot_date`` (the spot period paired with it),
        ``futures_from``, ``spot_from`` (what each change is measured from),
        ``futures_change``, ``spot_change`` and ``status`` (``ok``, ``spot_missing``,
        ``futures_missing``, ``both_missing``; missing rows keep null changes).

    Raises
    ------
    InputError
        A negative or non-integer lag, frames without ``date``/``change``/``from_date``,
        or two non-null changes of unequal length (names the dates).

    Examples
    --------
    >>> import datetime as dt, polars as pl
    >>> from cnfutures.hedging import changes, pair_changes
    >>> d = [dt.date(2025, 6, x) for x in (23, 24, 25, 26)]
    >>> sc = changes(pl.DataFrame({"date": d, "settle": [500.0, 505, 503, 510]}))
    >>> brent = changes(pl.DataFrame({"date": d, "settle": [68.0, 69, 68.5, 69.5]}))
    >>> p = pair_changes(brent, sc, lag=1)
    >>> p.select("date", "spot_date", "futures_change", "spot_change").rows()[2]
    (datetime.date(2025, 6, 25), datetime.date(2025, 6, 24), -2.0, 1.0)
    """
    if isinstance(lag, bool) or not isinstance(lag, int | np.integer) or lag < 0:
        raise InputError(f"lag={lag!r} must be a whole number of periods >= 0")
    frames = []
    for name, fr in (("spot_changes", spot_changes), ("futures_changes", futures_changes)):
        if not isinstance(fr, pl.DataFrame):
            raise InputError(f"{name} must be a frame from hedging.changes(); got {type(fr).__name__}")
        miss = [c for c in ("date", "from_date", "change") if c not in fr.columns]
        if miss:
            raise InputError(
                f"{name} has no column(s) {miss}; pass the frame hedging.changes() returns "
                f"for a frame with dates (columns are {fr.columns})"
            )
        frames.append(_check_key(fr, name, "date"))
    sp, fu = frames
    sp = sp.select(
        pl.col("date").shift(-int(lag)).alias("date"),
        pl.col("date").alias("spot_date"),
        pl.col("from_date").alias("spot_from"),
        pl.col("change").cast(pl.Float64).alias("spot_change"),
    ).drop_nulls("date")
    fu = fu.select(
        "date",
        pl.col("from_date").alias("futures_from"),
        pl.col("change").cast(pl.Float64).alias("futures_change"),
    )
    out = fu.join(sp, on="date", how="left")
    both = pl.col("spot_change").is_not_null() & pl.col("futures_change").is_not_null()
    bad = out.filter(
        both
        & ((pl.col("spot_date") - pl.col("spot_from")) != (pl.col("date") - pl.col("futures_from")))
    )
    if bad.height:
        r = bad.row(0, named=True)
        raise InputError(
            f"changes of unequal length cannot be paired: futures {r['futures_from']}..{r['date']} "
            f"against spot {r['spot_from']}..{r['spot_date']} (lag={lag}; {bad.height} such rows). "
            "Resample both on one full grid (hedging.resample keeps empty periods as nulls)"
        )
    status = (
        pl.when(both).then(pl.lit("ok"))
        .when(pl.col("spot_change").is_null() & pl.col("futures_change").is_null())
        .then(pl.lit("both_missing"))
        .when(pl.col("spot_change").is_null()).then(pl.lit("spot_missing"))
        .otherwise(pl.lit("futures_missing"))
    )
    return out.with_columns(status=status).select(
        "date", "spot_date", "futures_from", "spot_from", "futures_change", "spot_change", "status"
    )


# --------------------------------------------------------------------------------------
# 3. hedge ratios
# --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class GarchParams:
    """Fitted GARCH(1,1) ``s2_t = omega + alpha e_{t-1}^2 + beta s2_{t-1}``.

    Attributes
    ----------
    mu : float [unit of the changes]
        Mean removed before the fit (0 for ``mean="zero"``).
    omega : float [unit^2]
    alpha, beta : float [-]
    loglik : float
        Gaussian log-likelihood at the optimum.
    """

    mu: float
    omega: float
    alpha: float
    beta: float
    loglik: float

    @property
    def persistence(self) -> float:
        """``alpha + beta`` [-]."""
        return self.alpha + self.beta


@dataclass(frozen=True)
class DccFit:
    """DCC-GARCH(1,1) fit of (spot, futures) changes by two-step QML.

    Attributes
    ----------
    spot, futures : GarchParams
        Step 1: univariate GARCH(1,1) of each series.
    a, b : float [-]
        Step 2: DCC parameters, ``a + b < 1``.
    qbar : float [-]
        Unconditional correlation (sample correlation of the standardised residuals).
    loglik : float
        Total Gaussian log-likelihood (both volatility parts plus the correlation part).
    n : int
        Observations used.
    frame : polars.DataFrame
        ``date``, ``hedge_ratio`` (``h_t = cov_t / var_t``, from information up to ``t-1``),
        ``correlation``, ``sigma_spot``, ``sigma_futures`` [unit] and ``status``.
    """

    spot: GarchParams
    futures: GarchParams
    a: float
    b: float
    qbar: float
    loglik: float
    n: int
    frame: pl.DataFrame = field(repr=False, compare=False)

    def to_frame(self) -> pl.DataFrame:
        """Parameters as a long frame (``series``, ``parameter``, ``value``)."""
        rows: list[tuple[str, str, float]] = []
        for name, g in (("spot", self.spot), ("futures", self.futures)):
            rows += [(name, k, getattr(g, k)) for k in ("mu", "omega", "alpha", "beta", "loglik")]
        rows += [("dcc", "a", self.a), ("dcc", "b", self.b), ("dcc", "qbar", self.qbar),
                 ("dcc", "loglik", self.loglik)]
        return pl.DataFrame(rows, schema=["series", "parameter", "value"], orient="row")


def _fit_garch(e: np.ndarray, mu: float, max_iter: int) -> tuple[GarchParams, np.ndarray]:
    sd = float(np.sqrt(np.mean(e * e)))
    if not sd > 0.0:
        raise InputError("a series is constant (zero variance); GARCH cannot be fitted")
    res = _k.garch11_fit_nb(np.ascontiguousarray(e / sd), max_iter)
    omega = float(res[0]) * sd * sd
    alpha, beta = float(res[1]), float(res[2])
    n = e.shape[0]
    loglik = -(float(res[3]) + n * math.log(sd))
    s2 = _k.garch11_variance_nb(e, omega, alpha, beta, float(res[5]) * sd * sd)
    return GarchParams(mu, omega, alpha, beta, loglik), s2


def fit_dcc(
    spot_changes: ArrayLike,
    futures_changes: ArrayLike,
    *,
    mean: Literal["constant", "zero"] = "constant",
    how: str | None = None,
    max_iter: int = 2000,
    missing: Literal["raise", "drop"] = "raise",
) -> DccFit:
    """Fit DCC-GARCH(1,1) by two-step Gaussian quasi-maximum likelihood.

    Step 1 fits a GARCH(1,1) to each series (``mean="constant"`` removes the sample mean
    first; ``"zero"`` assumes mean zero), starting the variance recursion from ``arch``'s
    backcast (0.94-weighted mean of the first 75 squared residuals). Step 2 fits DCC(1,1)
    ``(a, b)`` to the standardised residuals with ``Qbar`` = their sample correlation.
    Both steps use a restarted Nelder-Mead over an unconstrained parameterisation that keeps
    ``omega > 0``, ``alpha, beta, a, b >= 0``, ``alpha + beta < 1`` and ``a + b < 1``.

    Parameters
    ----------
    spot_changes, futures_changes : array, Series or frame [unit of the changes]
        Changes (at least 50 complete rows).
    mean : {"constant", "zero"}
    how : {None, "inner"}
        Date matching of two frames (see :func:`hedge_ratio`).
    max_iter : int
        Nelder-Mead iterations per restart.
    missing : {"raise", "drop"}
        An incomplete row raises (default; the message lists the rows and why) or is left
        out: the model runs over the complete observations, and the frame keeps the dropped
        rows with null values and status ``missing``.

    Returns
    -------
    DccFit

    Raises
    ------
    InputError
        Missing values with ``missing="raise"`` (names the rows and why), fewer than 50
        complete rows, a constant series.

    Examples
    --------
    >>> import numpy as np
    >>> from cnfutures.hedging import fit_dcc
    >>> rng = np.random.default_rng(1)
    >>> f = rng.standard_normal(500)
    >>> s = 0.8 * f + 0.6 * rng.standard_normal(500)
    >>> fit = fit_dcc(s, f)
    >>> round(fit.qbar, 2), fit.frame.height
    (0.76, 500)
    """
    if mean not in ("constant", "zero"):
        raise InputError(f"mean={mean!r} is not accepted; use 'constant' or 'zero'")
    _check_missing(missing)
    s_all, f_all, dates, why = _pair(spot_changes, futures_changes, how)
    _raise_if_missing(why, dates, missing, "DCC input")
    keep = why == ""
    s = np.ascontiguousarray(s_all[keep])
    f = np.ascontiguousarray(f_all[keep])
    n = s.shape[0]
    if n < 50:
        raise InputError(f"DCC needs at least 50 complete observations; got {n} ({_excluded(why, dates)})")
    if np.ptp(f) == 0.0:
        raise InputError("futures_changes is constant (zero variance); no hedge ratio exists")
    mu_s = float(s.mean()) if mean == "constant" else 0.0
    mu_f = float(f.mean()) if mean == "constant" else 0.0
    es = np.ascontiguousarray(s - mu_s)
    ef = np.ascontiguousarray(f - mu_f)
    g_s, s2_s = _fit_garch(es, mu_s, max_iter)
    g_f, s2_f = _fit_garch(ef, mu_f, max_iter)
    z1 = np.ascontiguousarray(es / np.sqrt(s2_s))
    z2 = np.ascontiguousarray(ef / np.sqrt(s2_f))
    qbar = float(np.corrcoef(z1, z2)[0, 1])
    res = _k.dcc_fit_nb(z1, z2, qbar, max_iter)
    a, b = float(res[0]), float(res[1])
    rho = _k.dcc_filter_nb(z1, z2, a, b, qbar)
    sig_s = np.sqrt(s2_s)
    sig_f = np.sqrt(s2_f)
    n_all = s_all.shape[0]

    def scatter(v: np.ndarray) -> pl.Series:
        out = np.full(n_all, np.nan)
        out[keep] = v
        return pl.Series(out, nan_to_null=True)

    codes = np.where(keep, 0, _MISSING_CODE).astype(np.int64)
    frame = pl.DataFrame(
        {
            "date": _date_column(dates, n_all),
            "hedge_ratio": scatter(rho * sig_s / sig_f),
            "correlation": scatter(rho),
            "sigma_spot": scatter(sig_s),
            "sigma_futures": scatter(sig_f),
            "status": _status_series(codes),
        }
    )
    loglik = g_s.loglik + g_f.loglik - float(res[2])
    return DccFit(g_s, g_f, a, b, qbar, loglik, n, frame)


def _check_window(window: int, n: int, name: str = "window") -> None:
    if not isinstance(window, int | np.integer) or isinstance(window, bool):
        raise InputError(f"{name}={window!r} must be an integer number of rows")
    if window < 3:
        raise InputError(f"{name}={window} is too short; use at least 3 rows")
    if window > n:
        raise InputError(
            f"{name}={window} is longer than the data ({n} rows); use a window of at most {n}"
        )


def _rolling(s: np.ndarray, f: np.ndarray, window: int) -> tuple[np.ndarray, np.ndarray]:
    n = s.shape[0]
    ratio = np.empty(n)
    status = np.empty(n, dtype=np.uint8)  # uint8 codes: the signature the warm-up compiles
    _k.rolling_hedge_ratio_nb(s, f, window, max(_RECOMPUTE_MIN, 64 * window), ratio, status)
    return ratio, status


def _ewma(s: np.ndarray, f: np.ndarray, lam: float, warm: int) -> tuple[np.ndarray, np.ndarray]:
    n = s.shape[0]
    ratio = np.empty(n)
    status = np.empty(n, dtype=np.uint8)  # uint8 codes: the signature the warm-up compiles
    _k.ewma_hedge_ratio_nb(s, f, lam, warm, ratio, status)
    return ratio, status


def hedge_ratio(
    spot_changes: ArrayLike,
    futures_changes: ArrayLike,
    method: Literal["ols", "rolling", "ewma", "dcc"] = "ols",
    *,
    window: int | None = None,
    lam: float = 0.94,
    how: str | None = None,
    missing: Literal["raise", "drop"] = "raise",
    min_periods: int | None = None,
    window_in: Literal["periods", "observations"] | None = None,
) -> pl.DataFrame:
    """Minimum-variance hedge ratio ``h = cov(dS, dF) / var(dF)`` [futures units per spot unit].

    Parameters
    ----------
    spot_changes, futures_changes : array, Series, or frame from :func:`changes` [unit]
        Changes of the exposure and of the futures price, in the same currency and unit
        (convert with :func:`to_usd` first for a USD exposure). Equal lengths; two frames
        with a ``date`` column must have the same dates unless ``how="inner"``.
    method : {"ols", "rolling", "ewma", "dcc"}
        ``"ols"``: static OLS slope of dS on dF with an intercept (one row, with standard
        error, R², correlation, intercept and n). ``"rolling"``: OLS on the trailing
        ``window`` rows (O(n) one-pass kernel; row ``t`` uses rows ``t-window+1..t``).
        ``"ewma"``: zero-mean RiskMetrics ``sum lam^k dS dF / sum lam^k dF^2``.
        ``"dcc"``: DCC-GARCH(1,1) conditional ``cov_t / var_t`` (see :func:`fit_dcc`, which
        also returns the fitted parameters).
    window : int, optional
        Rolling window [rows] (required for ``"rolling"``); for ``"ewma"`` the number of
        warm-up rows before the first ratio (default 20).
    lam : float
        EWMA decay in (0, 1) [-].
    how : {None, "inner"}
        ``"inner"`` keeps the dates common to two frames.
    missing : {"raise", "drop"}
        The same rule for every method: a row where either change is null raises (default;
        the message counts the rows and says why each is incomplete, from the ``status``
        of :func:`changes` frames) or is left out. With ``"drop"``: OLS and DCC use the
        complete rows; ``"rolling"`` windows are counted per ``window_in``; ``"ewma"`` skips
        the row (the state carries over). Left-out rows get a null ratio, status
        ``missing`` (``missing_in_window`` for a rolling window in periods).
    min_periods : int, optional
        ``"rolling"`` with ``window_in="periods"``: least number of complete rows in a
        window for a ratio (default ``window``: any gap in the window gives a null).
    window_in : {"periods", "observations"}, optional
        What ``window`` counts for ``"rolling"``: rows of the input (``"periods"``, the
        default: calendar periods when the changes come from :func:`resample`) or complete
        observations (``"observations"``: the ratio of row ``t`` uses the last ``window``
        complete rows up to ``t``). ``"ewma"`` counts observations only.

    Returns
    -------
    polars.DataFrame
        ``date`` (row number when the inputs carry no dates), ``hedge_ratio`` and
        ``status`` (``ok``, ``warmup``, ``missing_in_window``, ``zero_variance``,
        ``missing``), plus
        ``std_error``, ``r_squared``, ``correlation``, ``intercept``, ``n`` for ``"ols"`` and
        ``correlation``, ``sigma_spot``, ``sigma_futures`` for ``"dcc"``. Rolling/EWMA ratios
        are null where ``status`` is not ``ok``.

    Raises
    ------
    InputError
        Different lengths or dates, a window longer than the data, constant futures changes
        (``"ols"``), a missing value with ``missing="raise"``, too few complete rows (the
        message lists the rows left out and why).

    Examples
    --------
    Hull's jet-fuel example (first five of the 15 months):

    >>> from cnfutures.hedging import hedge_ratio
    >>> dS = [0.029, 0.020, -0.044, 0.008, 0.026]
    >>> dF = [0.021, 0.035, -0.046, 0.001, 0.044]
    >>> hedge_ratio(dS, dF).select("hedge_ratio", "n").with_columns(
    ...     hedge_ratio=pl.col("hedge_ratio").round(4)).row(0)
    (0.7931, 5)
    >>> hedge_ratio(dS, dF, "rolling", window=3)["status"].to_list()
    ['warmup', 'warmup', 'ok', 'ok', 'ok']
    """
    if method not in ("ols", "rolling", "ewma", "dcc"):
        raise InputError(f"method={method!r} is not accepted; use 'ols', 'rolling', 'ewma' or 'dcc'")
    _check_missing(missing)
    if min_periods is not None and method != "rolling":
        raise InputError(f"min_periods applies to method='rolling' only; got method={method!r}")
    if window_in is not None and window_in not in ("periods", "observations"):
        raise InputError(f"window_in={window_in!r} is not accepted; use 'periods' or 'observations'")
    if method == "dcc":
        return fit_dcc(spot_changes, futures_changes, how=how, missing=missing).frame
    if method == "ewma" and not 0.0 < lam < 1.0:
        raise InputError(f"lam={lam!r} must lie strictly between 0 and 1")
    if method == "rolling" and window is None:
        raise InputError("method='rolling' needs window=<rows>")
    if method == "ewma" or (
        method == "rolling"
        and (window_in or "periods") == "periods"
        and (min_periods is None or min_periods == window)
    ):
        return _hedge_ratio_fused(
            spot_changes, futures_changes, method, window, lam, how, missing, window_in
        )
    s, f, dates, why = _pair(spot_changes, futures_changes, how)
    n = s.shape[0]
    what = f"hedge_ratio(method={method!r})"
    _raise_if_missing(why, dates, missing, what)
    keep = why == ""
    if method == "ols":
        s_ok, f_ok = s[keep], f[keep]
        if s_ok.shape[0] < 3:
            raise InputError(
                f"OLS needs at least 3 complete rows; got {s_ok.shape[0]} ({_excluded(why, dates)})"
            )
        out = _k.ols_hedge_ratio_nb(np.ascontiguousarray(s_ok), np.ascontiguousarray(f_ok))
        if out[6] == 0.0:
            raise InputError(
                f"futures_changes is constant over its {s_ok.shape[0]} complete rows (zero "
                "variance); no minimum-variance hedge ratio exists"
            )
        used = dates.filter(pl.Series(keep)) if dates is not None else None
        last = _date_column(used, s_ok.shape[0])[-1:]
        return pl.DataFrame(
            {
                "date": last,
                "hedge_ratio": [float(out[0])],
                "std_error": [float(out[1])],
                "r_squared": [float(out[2])],
                "correlation": [float(out[4])],
                "intercept": [float(out[3])],
                "n": [int(out[5])],
                "status": _status_series(np.zeros(1, dtype=np.int64)),
            }
        )
    # rolling: a window in complete observations, or in periods with min_periods < window
    assert window is not None
    if (window_in or "periods") == "observations":
        _check_window(window, int(keep.sum()), "window (complete observations)")
        r_ok, st_ok = _rolling(np.ascontiguousarray(s[keep]), np.ascontiguousarray(f[keep]),
                               int(window))
        ratio = np.full(n, np.nan)
        status = np.full(n, _MISSING_CODE, dtype=np.int64)
        ratio[keep], status[keep] = r_ok, st_ok
    else:
        _check_window(window, n)
        mp = min_periods
        if isinstance(mp, bool) or not isinstance(mp, int | np.integer) or not 3 <= mp <= window:
            raise InputError(f"min_periods={min_periods!r} must be a whole number in 3..window={window}")
        ratio, status = _rolling_min_periods(s, f, keep, int(window), int(mp))
    return pl.DataFrame(
        {
            "date": _date_column(dates, n),
            "hedge_ratio": pl.Series("hedge_ratio", ratio, nan_to_null=True),
            "status": _status_series(status),
        }
    )


def _hedge_ratio_fused(
    spot_changes: ArrayLike,
    futures_changes: ArrayLike,
    method: str,
    window: int | None,
    lam: float,
    how: str | None,
    missing: str,
    window_in: str | None,
) -> pl.DataFrame:
    """Rolling (window in periods, every row of it needed) and EWMA ratios in one kernel
    pass that also checks the inputs: the per-row reasons, the status codes and the nulls
    are built row by row only when the kernel reports a row that is not clean."""
    s, f, dates, why_of = _pair_lazy(spot_changes, futures_changes, how, check_finite=False)
    n = s.shape[0]
    what = f"hedge_ratio(method={method!r})"

    def data_errors() -> None:  # the checks of the data, in the order _pair makes them
        _check_finite(s, "spot_changes")
        _check_finite(f, "futures_changes")
        _raise_if_missing(why_of(), dates, missing, what)

    try:
        if method == "rolling":
            assert window is not None
            _check_window(window, n)
            warm = int(window) - 1  # rows before the first full window
        else:
            if not 0.0 < lam < 1.0:
                raise InputError(f"lam={lam!r} must lie strictly between 0 and 1")
            if window_in == "periods":
                raise InputError(
                    "method='ewma' decays per complete observation (a skipped row carries the "
                    "state over); window_in='periods' is not supported for it"
                )
            w_ewma = 20 if window is None else window
            if w_ewma < 1 or w_ewma > n:
                raise InputError(f"window={w_ewma} (EWMA warm-up) must lie in 1..{n}")
            warm = int(w_ewma) - 1
    except InputError:
        data_errors()
        raise
    ratio = np.empty(n)
    status = np.empty(n, dtype=np.uint8)
    if method == "rolling":
        from numba import get_num_threads, parallel_chunksize

        recompute = max(_RECOMPUTE_MIN, 64 * (warm + 1))
        # small blocks handed out one by one: a core taken by another process (or a thread
        # descheduled mid-block) holds the call up by one small block, not by half the rows
        with parallel_chunksize(1):
            n_odd = _k.rolling_hedge_ratio_par_nb(
                s, f, warm + 1, recompute, ratio, status, 16 * get_num_threads()
            )
    else:
        n_odd = _k.ewma_hedge_ratio_nb(s, f, float(lam), warm + 1, ratio, status)
    if n_odd == 0:  # clean: warm-up rows, then every row ok
        return pl.DataFrame(
            {
                "date": _date_column(dates, n),
                "hedge_ratio": _ratio_leading_nulls(ratio, warm),
                "status": _status_warmup_then_ok(n, warm),
            }
        )
    data_errors()
    if method == "ewma":  # a skipped row of the EWMA is "missing", not "missing_in_window"
        status[status == _k.STATUS_MISSING] = _MISSING_CODE
    return pl.DataFrame(
        {
            "date": _date_column(dates, n),
            "hedge_ratio": pl.Series("hedge_ratio", ratio, nan_to_null=True),
            "status": _status_series(status),
        }
    )


def _rolling_min_periods(
    s: np.ndarray, f: np.ndarray, keep: np.ndarray, window: int, min_periods: int
) -> tuple[np.ndarray, np.ndarray]:
    """Rolling OLS over the complete rows among the trailing ``window`` rows (periods),
    given when at least ``min_periods`` of them are complete. Window sums of values centred
    on the complete-sample means, by cumulative sums."""
    n = s.shape[0]
    m = keep.astype(np.float64)
    x = np.where(keep, f - (f[keep].mean() if keep.any() else 0.0), 0.0)
    y = np.where(keep, s - (s[keep].mean() if keep.any() else 0.0), 0.0)

    def wsum(v: np.ndarray) -> np.ndarray:
        c = np.concatenate(([0.0], np.cumsum(v)))
        out: np.ndarray = c[window:] - c[:-window]
        return out

    cnt, sx, sy, sxx, sxy = (wsum(v) for v in (m, x, y, x * x, x * y))
    ratio = np.full(n, np.nan)
    status = np.full(n, 1, dtype=np.int64)  # warmup for the first window-1 rows
    with np.errstate(invalid="ignore", divide="ignore"):
        vxx = sxx - sx * sx / cnt
        cxy = sxy - sx * sy / cnt
        h = cxy / vxx
    tail = slice(window - 1, n)
    enough = cnt >= min_periods
    zero = enough & ~(vxx > _k._ZERO_VAR_REL * np.maximum(sxx, 1e-300))
    st = np.where(~enough, 2, np.where(zero, 3, 0)).astype(np.int64)
    status[tail] = st
    ratio[tail] = np.where(st == 0, h, np.nan)
    return ratio, status


# --------------------------------------------------------------------------------------
# 4. effectiveness
# --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Effectiveness:
    """Hedge effectiveness of a short futures hedge of a long spot exposure.

    Unhedged P&L is ``dS``; hedged P&L is ``dS - h dF``. Reductions are
    ``1 - hedged / unhedged`` [-] (Ederington's measure for the variance).

    Attributes
    ----------
    sample : str
        ``"in-sample"`` or ``"out-of-sample"``.
    level : float
        Confidence level of VaR and ES [-].
    n : int
        Rows evaluated; ``n_dropped`` rows had a null change or ratio.
    hedge_ratio : float
        Mean ratio applied [-].
    variance_unhedged, variance_hedged : float [unit^2]
    var_unhedged, var_hedged : float [unit]
        Historical value-at-risk: the ``level`` quantile of the loss ``-P&L`` (numpy's
        linear interpolation).
    es_unhedged, es_hedged : float [unit]
        Expected shortfall: mean loss at or beyond the VaR.
    """

    sample: str
    level: float
    n: int
    n_dropped: int
    hedge_ratio: float
    variance_unhedged: float
    variance_hedged: float
    var_unhedged: float
    var_hedged: float
    es_unhedged: float
    es_hedged: float

    @property
    def variance_reduction(self) -> float:
        """Ederington effectiveness ``1 - var(hedged) / var(unhedged)`` [-]."""
        return 1.0 - self.variance_hedged / self.variance_unhedged

    @property
    def var_reduction(self) -> float:
        """``1 - VaR(hedged) / VaR(unhedged)`` [-]."""
        return 1.0 - self.var_hedged / self.var_unhedged

    @property
    def es_reduction(self) -> float:
        """``1 - ES(hedged) / ES(unhedged)`` [-]."""
        return 1.0 - self.es_hedged / self.es_unhedged

    def to_frame(self) -> pl.DataFrame:
        """One row per measure: ``measure``, ``unhedged``, ``hedged``, ``reduction``."""
        return pl.DataFrame(
            {
                "measure": ["variance", f"VaR {self.level:g}", f"ES {self.level:g}"],
                "unhedged": [self.variance_unhedged, self.var_unhedged, self.es_unhedged],
                "hedged": [self.variance_hedged, self.var_hedged, self.es_hedged],
                "reduction": [self.variance_reduction, self.var_reduction, self.es_reduction],
            }
        )

    def __repr__(self) -> str:
        return (
            f"Effectiveness({self.sample}, n={self.n}, dropped={self.n_dropped}, "
            f"mean ratio={self.hedge_ratio:.4g}, level={self.level:g})\n"
            f"  variance  {self.variance_unhedged:.6g} -> {self.variance_hedged:.6g}"
            f"  reduction {self.variance_reduction:.1%}\n"
            f"  VaR       {self.var_unhedged:.6g} -> {self.var_hedged:.6g}"
            f"  reduction {self.var_reduction:.1%}\n"
            f"  ES        {self.es_unhedged:.6g} -> {self.es_hedged:.6g}"
            f"  reduction {self.es_reduction:.1%}"
        )


def _risk(pnl: np.ndarray, level: float) -> tuple[float, float, float]:
    loss = -pnl
    var = float(np.quantile(loss, level))
    es = float(loss[loss >= var].mean())
    return float(np.var(pnl, ddof=1)), var, es


def _evaluate(
    s: np.ndarray,
    f: np.ndarray,
    h: np.ndarray,
    level: float,
    sample: str,
    why: np.ndarray | None = None,
    dates: pl.Series | None = None,
    h_why: np.ndarray | None = None,
) -> Effectiveness:
    ok = ~(np.isnan(s) | np.isnan(f) | np.isnan(h))
    n = int(ok.sum())
    if n < 3:
        w = why.copy() if why is not None else _why(s, f, None, None)
        for i in np.flatnonzero(np.isnan(h) & (w == "")):
            w[i] = f"ratio {h_why[i]}" if h_why is not None and h_why[i] not in ("", "ok") else "ratio null"
        raise InputError(f"effectiveness needs at least 3 complete rows; got {n} ({_excluded(w, dates)})")
    s, f, h = s[ok], f[ok], h[ok]
    vu, varu, esu = _risk(s, level)
    if vu == 0.0:
        raise InputError("spot_changes is constant (zero variance); effectiveness is undefined")
    vh, varh, esh = _risk(s - h * f, level)
    return Effectiveness(sample, level, n, int((~ok).sum()), float(h.mean()),
                         vu, vh, varu, varh, esu, esh)


def _check_level(level: float) -> None:
    if not 0.5 <= level < 1.0:
        raise InputError(f"level={level!r} must lie in [0.5, 1), e.g. 0.95 or 0.99")


def effectiveness(
    spot_changes: ArrayLike,
    futures_changes: ArrayLike,
    ratio: float | ArrayLike,
    *,
    level: float = 0.95,
    how: str | None = None,
    missing: Literal["raise", "drop"] = "raise",
) -> Effectiveness:
    """In-sample hedge effectiveness of ratio ``h``: variance, VaR and ES reduction.

    Parameters
    ----------
    spot_changes, futures_changes : array, Series or frame [unit]
    ratio : float, array, Series, or a frame from :func:`hedge_ratio`
        A constant ratio, or one per row (rows with a null ratio, e.g. a rolling warm-up,
        are left out and counted in ``n_dropped``). A frame with dates is matched to the
        changes on ``date``.
    level : float
        VaR / ES confidence level [-].
    how : {None, "inner"}
        Date matching of two frames of changes.
    missing : {"raise", "drop"}
        A row with a null change raises (default; the message lists the rows and why) or
        is left out (counted in ``n_dropped``).

    Returns
    -------
    Effectiveness

    Examples
    --------
    >>> from cnfutures.hedging import effectiveness
    >>> dS = [0.029, 0.020, -0.044, 0.008, 0.026, -0.019, -0.010, -0.007]
    >>> dF = [0.021, 0.035, -0.046, 0.001, 0.044, -0.029, -0.026, -0.029]
    >>> e = effectiveness(dS, dF, 0.78)
    >>> round(e.variance_reduction, 4), e.n
    (0.8462, 8)
    """
    _check_level(level)
    _check_missing(missing)
    s, f, dates, why = _pair(spot_changes, futures_changes, how)
    _raise_if_missing(why, dates, missing, "effectiveness: the changes")
    n = s.shape[0]
    h_why = None
    if isinstance(ratio, int | float) and not isinstance(ratio, bool):
        h = np.full(n, float(ratio))
    elif isinstance(ratio, pl.DataFrame) and "date" in ratio.columns and dates is not None:
        cols = [pl.col("hedge_ratio").cast(pl.Float64)]
        if "status" in ratio.columns:
            cols.append(pl.col("status").cast(pl.String).alias("_st"))
        joined = pl.DataFrame({"date": dates}).join(
            ratio.select("date", *cols), on="date", how="left"
        )
        h = joined["hedge_ratio"].to_numpy().astype(np.float64)
        if "_st" in joined.columns:
            h_why = np.asarray(joined["_st"].fill_null("no ratio for the date").to_list(), dtype=object)
    else:
        h, _ = _to_values(ratio, "ratio", prefer=("hedge_ratio",))
        if h.shape[0] != n:
            raise InputError(
                f"ratio has {h.shape[0]} rows but the changes have {n}; pass a scalar, one "
                "ratio per row, or a hedge_ratio() frame with dates"
            )
    return _evaluate(s, f, h, level, "in-sample", why, dates, h_why)


def effectiveness_oos(
    spot_changes: ArrayLike,
    futures_changes: ArrayLike,
    *,
    estimation_window: int,
    method: Literal["ols", "static", "ewma", "dcc"] = "ols",
    refit_every: int = 1,
    lam: float = 0.94,
    level: float = 0.95,
    how: str | None = None,
    missing: Literal["raise", "drop"] = "raise",
) -> Effectiveness:
    """Out-of-sample effectiveness: ratios estimated on past data, applied to the next rows.

    Evaluation covers rows ``estimation_window ..`` n-1; no row's ratio uses that row.

    Parameters
    ----------
    spot_changes, futures_changes : array, Series or frame [unit]
    estimation_window : int
        Rows in each estimation window.
    method : {"ols", "static", "ewma", "dcc"}
        ``"ols"``: OLS on the trailing window, refitted every ``refit_every`` rows and
        applied to the following rows. ``"static"``: one OLS on the first window, applied
        to all later rows. ``"ewma"``: the EWMA ratio of the previous row (decay ``lam``;
        warm-up = ``estimation_window``). ``"dcc"``: DCC-GARCH fitted on the first window,
        its one-step-ahead ``h_t`` filtered through later rows with the parameters fixed.
    refit_every : int
        Refit interval for ``"ols"`` [rows].
    lam : float
        EWMA decay [-].
    level : float
        VaR / ES level [-].
    how : {None, "inner"}
        Date matching of two frames.
    missing : {"raise", "drop"}
        A row with a null change raises (default; the message lists the rows and why) or
        is left out before anything else: windows then count complete observations, and
        the rows left out are counted in ``n_dropped``.

    Returns
    -------
    Effectiveness
        With ``sample="out-of-sample"``.

    Examples
    --------
    >>> import numpy as np
    >>> from cnfutures.hedging import effectiveness_oos
    >>> rng = np.random.default_rng(7)
    >>> dF = rng.standard_normal(400)
    >>> dS = 0.9 * dF + 0.3 * rng.standard_normal(400)
    >>> e = effectiveness_oos(dS, dF, estimation_window=100)
    >>> e.sample, e.n, round(e.variance_reduction, 2)
    ('out-of-sample', 300, 0.89)
    """
    _check_level(level)
    if method not in ("ols", "static", "ewma", "dcc"):
        raise InputError(
            f"method={method!r} is not accepted; use 'ols', 'static', 'ewma' or 'dcc'"
        )
    _check_missing(missing)
    s, f, dates, why = _pair(spot_changes, futures_changes, how)
    _raise_if_missing(why, dates, missing, "effectiveness_oos: the changes")
    keep = why == ""
    n_left_out = int((~keep).sum())
    s, f = np.ascontiguousarray(s[keep]), np.ascontiguousarray(f[keep])
    n = s.shape[0]
    w = estimation_window
    if isinstance(w, int | np.integer) and not isinstance(w, bool) and n - 1 < w <= keep.shape[0] - 1:
        raise InputError(
            f"estimation_window={w} needs more than {w} complete rows; there are {n} "
            f"({_excluded(why, dates)})"
        )
    _check_window(w, n - 1, "estimation_window")
    if refit_every < 1:
        raise InputError(f"refit_every={refit_every} must be at least 1")
    h = np.full(n, np.nan)
    if method == "ols":
        roll, _ = _rolling(s, f, w)
        t = np.arange(w, n)
        src = w - 1 + ((t - w) // refit_every) * refit_every
        h[w:] = roll[src]
    elif method == "static":
        est = hedge_ratio(s[:w], f[:w], "ols", missing="drop")
        h[w:] = float(est["hedge_ratio"][0])
    elif method == "ewma":
        if not 0.0 < lam < 1.0:
            raise InputError(f"lam={lam!r} must lie strictly between 0 and 1")
        ew, _ = _ewma(s, f, float(lam), w)
        h[w:] = ew[w - 1 : n - 1]
    else:
        fit = fit_dcc(s[:w], f[:w])
        es = np.ascontiguousarray(s - fit.spot.mu)
        ef = np.ascontiguousarray(f - fit.futures.mu)
        if np.isnan(es).any() or np.isnan(ef).any():
            raise InputError("DCC out-of-sample needs gap-free changes")
        bc_s = _k.garch11_backcast_nb(es[:w])
        bc_f = _k.garch11_backcast_nb(ef[:w])
        s2s = _k.garch11_variance_nb(es, fit.spot.omega, fit.spot.alpha, fit.spot.beta, bc_s)
        s2f = _k.garch11_variance_nb(
            ef, fit.futures.omega, fit.futures.alpha, fit.futures.beta, bc_f
        )
        z1 = np.ascontiguousarray(es / np.sqrt(s2s))
        z2 = np.ascontiguousarray(ef / np.sqrt(s2f))
        rho = _k.dcc_filter_nb(z1, z2, fit.a, fit.b, fit.qbar)
        h[w:] = (rho * np.sqrt(s2s / s2f))[w:]
    out = _evaluate(s[w:], f[w:], h[w:], level, "out-of-sample")
    return dataclasses.replace(out, n_dropped=out.n_dropped + n_left_out) if n_left_out else out


# --------------------------------------------------------------------------------------
# 5. contract sizing
# --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ContractsNeeded:
    """Number of futures lots for a hedge.

    Attributes
    ----------
    lots : int
        Whole lots to sell (for a long exposure) [lots].
    exact : float
        Unrounded number ``h * Q_A / Q_F`` (or ``h * V_A / V_F`` when tailed) [lots].
    residual : float
        ``exact - lots`` [lots]: the part of the optimal hedge left undone by rounding.
    residual_quantity : float
        The same in exposure units [unit] (``residual * multiplier``, or in value terms
        divided by the futures price when tailed).
    multiplier : float
        Contract size used [unit/lot].
    """

    lots: int
    exact: float
    residual: float
    residual_quantity: float
    multiplier: float


def contracts_needed(
    exposure_quantity: float,
    ratio: float,
    product: str | Product | float,
    *,
    tail: bool = False,
    spot_price: float | None = None,
    futures_price: float | None = None,
    rounding: Literal["nearest", "down", "up"] = "nearest",
) -> ContractsNeeded:
    """Futures lots for an exposure: ``N* = h Q_A / Q_F`` rounded to whole lots.

    Parameters
    ----------
    exposure_quantity : float [unit]
        Size of the exposure (e.g. barrels, tonnes, gallons).
    ratio : float [-]
        Hedge ratio ``h``.
    product : str, Product or float
        Product code (multiplier from the product table, e.g. 1000 bbl/lot for ``"sc"``), a
        :class:`~cnfutures.market.products.Product`, or a multiplier [unit/lot] directly.
    tail : bool
        Value-based sizing ``N* = h V_A / V_F`` with ``V_A = spot_price * Q_A`` and
        ``V_F = futures_price * Q_F`` (Hull's "tailing the hedge" for daily-settled
        futures). Needs both prices.
    spot_price, futures_price : float [currency/unit]
        Prices for ``tail=True``.
    rounding : {"nearest", "down", "up"}
        Rounding to whole lots (nearest rounds halves away from zero).

    Returns
    -------
    ContractsNeeded

    Raises
    ------
    InputError
        Non-positive multiplier or prices, missing prices for ``tail=True``.

    Examples
    --------
    Hull's jet-fuel hedge: h* = 0.78, 2,000,000 gallons, 42,000 gallons per contract.

    >>> from cnfutures.hedging import contracts_needed
    >>> c = contracts_needed(2_000_000, 0.78, 42_000)
    >>> c.lots, round(c.exact, 2)
    (37, 37.14)
    >>> contracts_needed(100_000, 0.9, "sc").lots
    90
    """
    if isinstance(product, str):
        from cnfutures.market.products import product as _product

        mult = float(_product(product).multiplier)
    elif isinstance(product, Product):
        mult = float(product.multiplier)
    elif isinstance(product, int | float) and not isinstance(product, bool):
        mult = float(product)
    else:
        raise InputError(
            f"product={product!r} must be a product code, a Product or a multiplier [unit/lot]"
        )
    if not (mult > 0.0 and math.isfinite(mult)):
        raise InputError(f"multiplier {mult!r} must be a positive number [unit/lot]")
    for name, v in (("exposure_quantity", exposure_quantity), ("ratio", ratio)):
        if isinstance(v, bool) or not isinstance(v, int | float | np.integer | np.floating):
            raise InputError(f"{name}={v!r} must be a number; got {type(v).__name__}")
        if not math.isfinite(float(v)):
            raise InputError(f"{name}={v!r} must be finite")
    if rounding not in ("nearest", "down", "up"):
        raise InputError(f"rounding={rounding!r} is not accepted; use 'nearest', 'down' or 'up'")
    if tail:
        if spot_price is None or futures_price is None:
            raise InputError("tail=True needs spot_price=... and futures_price=... [currency/unit]")
        check_finite(spot_price, "spot_price", positive=True, allow_null=False, what="[currency/unit]")
        check_finite(futures_price, "futures_price", positive=True, allow_null=False, what="[currency/unit]")
        scale = spot_price / futures_price
    else:
        scale = 1.0
    exact = float(ratio) * float(exposure_quantity) * scale / mult
    if rounding == "nearest":
        lots = int(math.copysign(math.floor(abs(exact) + 0.5), exact))
    elif rounding == "down":
        lots = math.floor(exact)
    else:
        lots = math.ceil(exact)
    residual = exact - lots
    return ContractsNeeded(lots, exact, residual, residual * mult / scale, mult)
