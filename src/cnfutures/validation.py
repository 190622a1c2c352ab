"""The validation contract: one set of checks that every public entry point calls.

A number cnfutures returns is either right, with its source, or a typed error. The checks
below are written once and used by the loaders (:mod:`cnfutures.frames`), the hedging
functions, the pricing wrappers, the access layer and the backtester's
:class:`~cnfutures.backtest.model.Market`. Each raises a :mod:`cnfutures.errors` type
whose message names the argument, the row, the value and what is accepted:

* :func:`check_keys` - a date (or datetime) key column has no nulls, no duplicates (per
  group when ``by`` is given) and, unless sorting is allowed, ascends;
* :func:`check_finite` - values are finite, and positive where the domain says so;
* :func:`check_fx` - a USD/CNY frame: positive, finite rates, one row per date;
* :func:`check_fx_fresh` - the rate used on a day is at most ``max_age_days`` old;
* :func:`check_declared` - a series' currency and unit are declared and known;
* :func:`check_correlation` - a correlation matrix over named products: complete, symmetric,
  unit diagonal, entries in [-1, 1], positive semi-definite;
* :func:`check_option_series` - an option series trades that day, its strike is listed, it
  expires no later than its underlying and no exercise is asked after its expiry;
* :func:`check_option_access` - the investor's route may trade (or write) the option that day;
* :func:`check_option_prices` - option prices read from a file are numbers, finite and >= 0.

Validation is idempotent: a frame that passes comes back unchanged (or sorted, when
sorting was asked for) and passes again.

Examples
--------
>>> import datetime as dt, polars as pl
>>> from cnfutures import validation
>>> fx = pl.DataFrame({"date": [dt.date(2025, 6, 3), dt.date(2025, 6, 3)], "usd_cny": [7.18, 7.19]})
>>> try:
...     validation.check_fx(fx, name="fx")
... except validation.DataError as exc:
...     print(exc)
fx: duplicate date at row(s) [0, 1] (2025-06-03); one usd_cny per date is accepted
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import polars as pl

from cnfutures.errors import AccessDenied, CnFuturesError, DataError, InputError, UnknownContract

__all__ = [
    "CURRENCIES",
    "FX_MAX_AGE_DAYS",
    "UNITS",
    "DataError",
    "InputError",
    "asof_fresh",
    "check_correlation",
    "check_declared",
    "check_finite",
    "check_fx",
    "check_fx_fresh",
    "check_keys",
    "check_listed",
    "check_option_access",
    "check_option_prices",
    "check_option_series",
]

#: Calendar days an FX rate may be carried forward (the longest Chinese closure, Spring
#: Festival or National Day with the weekends around it, is 9 days).
FX_MAX_AGE_DAYS = 10
#: Currencies a price series may be declared in.
CURRENCIES: frozenset[str] = frozenset({"CNY", "USD"})
#: Units a price series may be declared in (per barrel, per metric ton).
UNITS: frozenset[str] = frozenset({"bbl", "t"})

_MAX_LISTED = 10


def _rows(idx: Sequence[int]) -> str:
    shown = list(idx[:_MAX_LISTED])
    return f"{shown}{' ...' if len(idx) > _MAX_LISTED else ''}"


def check_keys(
    frame: pl.DataFrame,
    on: str = "date",
    *,
    name: str = "frame",
    by: Sequence[str] = (),
    sort: bool = False,
) -> pl.DataFrame:
    """Check a frame's key column: present, no nulls, unique (per ``by`` group), ascending.

    Parameters
    ----------
    frame : polars.DataFrame
    on : str
        Date or datetime key column.
    name : str
        Argument name used in messages.
    by : sequence of str
        Extra key columns (e.g. ``("contract",)``): ``on`` must be unique and ascending
        within each group.
    sort : bool
        False (default): rows out of order are an error (an order-dependent computation
        such as a price change would flip sign). True: the frame is returned sorted.

    Returns
    -------
    polars.DataFrame
        ``frame`` (sorted by ``by`` then ``on`` when ``sort=True``).

    Raises
    ------
    InputError
        Not a frame, or the key column is missing.
    DataError
        Null keys, duplicate keys, or (``sort=False``) descending keys; the message gives
        the first rows and values.

    Examples
    --------
    >>> import datetime as dt, polars as pl
    >>> f = pl.DataFrame({"date": [dt.date(2025, 6, 4), dt.date(2025, 6, 3)], "p": [1.0, 2.0]})
    >>> check_keys(f, sort=True)["p"].to_list()
    [2.0, 1.0]
    >>> try:
    ...     check_keys(f, name="prices")
    ... except DataError as exc:
    ...     print(exc)
    prices.date is not ascending: row 1 (2025-06-03) follows 2025-06-04; sort the frame by date first
    """
    if not isinstance(frame, pl.DataFrame):
        raise InputError(f"{name} must be a polars DataFrame; got {type(frame).__name__}")
    keys = [*by, on]
    missing = [k for k in keys if k not in frame.columns]
    if missing:
        raise InputError(f"{name} has no column(s) {missing}; columns are {frame.columns}")
    kt = frame.schema[on]
    if not (kt == pl.Date or isinstance(kt, pl.Datetime)):
        raise InputError(f"{name}.{on} has dtype {kt}; a Date or Datetime column is accepted")
    nulls = pl.any_horizontal([pl.col(k).is_null() for k in keys])
    w = frame.select(*keys).with_row_index("_row")
    bad = w.filter(nulls)["_row"].to_list()
    if bad:
        raise DataError(f"{name}.{on} is null at row(s) {_rows(bad)}", [f"row {i}: null {on}" for i in bad])
    dup = w.filter(pl.struct(keys).is_duplicated())
    if dup.height:
        first = dup.row(0, named=True)
        label = " ".join(str(first[k]) for k in keys)
        raise DataError(
            f"{name}: duplicate {'/'.join(keys)} at row(s) {_rows(dup['_row'].to_list())} ({label}); "
            f"one row per {'/'.join(keys)} is accepted",
            [
                f"row {r['_row']}: duplicate {' '.join(str(r[k]) for k in keys)}"
                for r in dup.head(50).to_dicts()
            ],
        )
    if sort:
        return frame.sort([*by, on], maintain_order=True)
    prev = pl.col(on).shift(1).over(list(by)) if by else pl.col(on).shift(1)
    back = w.with_columns(prev.alias("_prev")).filter(pl.col(on) < pl.col("_prev"))
    if back.height:
        r = back.row(0, named=True)
        grp = f" within {', '.join(f'{k}={r[k]}' for k in by)}" if by else ""
        raise DataError(
            f"{name}.{on} is not ascending{grp}: row {r['_row']} ({r[on]}) follows {r['_prev']}; "
            f"sort the frame by {on} first",
            [f"row {i}: {on} out of order" for i in back["_row"].to_list()[:50]],
        )
    return frame


def check_finite(
    values: Any,
    name: str,
    *,
    positive: bool = False,
    allow_null: bool = True,
    what: str = "",
) -> None:
    """Check numbers are finite (and ``> 0`` when ``positive``); nulls/NaN pass if ``allow_null``.

    Parameters
    ----------
    values : float, numpy array or polars Series
    name : str
        Argument name for the message.
    positive : bool
        Require ``> 0`` (FX rates, prices of products that cannot go negative, volatilities).
    allow_null : bool
        Let null / NaN through as "missing" (callers then report them explicitly).
    what : str
        What the values are, with their unit, e.g. ``"a rate [CNY per USD]"``.

    Raises
    ------
    InputError
        Naming the first bad index and value.

    Examples
    --------
    >>> check_finite([7.1, 7.2], "usd_cny", positive=True)
    >>> try:
    ...     check_finite([7.1, float("inf")], "usd_cny", positive=True, what="a rate [CNY per USD]")
    ... except InputError as exc:
    ...     print(exc)
    usd_cny has inf at row 1; a finite, positive number is accepted (a rate [CNY per USD])
    """
    if isinstance(values, pl.Series):
        if not (values.dtype.is_numeric() or values.dtype == pl.Null):
            raise InputError(f"{name} must be numeric; got dtype {values.dtype}")
        arr = values.cast(pl.Float64).fill_null(np.nan).to_numpy()
    else:
        try:
            arr = np.asarray(values, dtype=np.float64)
        except (TypeError, ValueError):
            raise InputError(f"{name} must be a number or an array of numbers; got {values!r:.80}") from None
    flat = arr.ravel()
    nan = np.isnan(flat)
    bad = np.isinf(flat)
    if not allow_null:
        bad |= nan
    if positive:
        bad |= ~nan & (flat <= 0.0)
    if bad.any():
        i = int(np.argmax(bad))
        need = "a finite, positive number" if positive else "a finite number"
        tail = f" ({what})" if what else ""
        raise InputError(f"{name} has {float(flat[i])!r} at row {i}; {need} is accepted{tail}")


def check_fx(
    fx: pl.DataFrame,
    *,
    name: str = "usd_cny",
    column: str = "usd_cny",
    allow_null: bool = False,
    sort: bool = True,
) -> pl.DataFrame:
    """Check a USD/CNY frame (``date``, ``usd_cny`` [CNY per USD]) and return it by date.

    Rates must be finite and positive, with one row per date. Null rates (holidays in FRED
    data) are errors unless ``allow_null``; they are never filled.

    Parameters
    ----------
    fx : polars.DataFrame
    name : str
        Argument name for messages.
    column : str
        Rate column.
    allow_null : bool
        Keep null rates (the caller skips them explicitly).
    sort : bool
        Return sorted by date (True) or reject dates out of order (False).

    Returns
    -------
    polars.DataFrame
        ``fx`` with ``date`` as Date and the rate as Float64, sorted by date.

    Raises
    ------
    InputError
        Not a frame.
    DataError
        Missing columns, non-date dates, null / duplicate dates, null (unless allowed),
        zero, negative or infinite rates; ``problems`` lists every one.

    Examples
    --------
    >>> import datetime as dt, polars as pl
    >>> check_fx(pl.DataFrame({"date": [dt.date(2025, 6, 3)], "usd_cny": [7.18]})).height
    1
    """
    if not isinstance(fx, pl.DataFrame):
        raise InputError(
            f"{name} must be a polars DataFrame with columns date, {column}; got {type(fx).__name__}"
        )
    missing = [c for c in ("date", column) if c not in fx.columns]
    if missing:
        raise DataError(
            f"{name} lacks column(s) {missing}; it needs date (Date) and {column} [CNY per USD]",
            [f"missing column {m!r}" for m in missing],
        )
    dtype = fx.schema["date"]
    if isinstance(dtype, pl.Datetime):
        fx = fx.with_columns(pl.col("date").dt.date())
    elif dtype != pl.Date:
        raise DataError(
            f"{name}.date has dtype {dtype}; a Date column is accepted (parse text with "
            "pl.col('date').str.to_date())",
            [f"date dtype {dtype}"],
        )
    if not (fx.schema[column].is_numeric() or fx.schema[column] == pl.Null):
        raise DataError(f"{name}.{column} has dtype {fx.schema[column]}; numbers are accepted", ["dtype"])
    f = fx.with_columns(pl.col(column).cast(pl.Float64)).with_row_index("_row")
    rate = pl.col(column)
    conds: list[tuple[str, pl.Expr]] = [
        ("null date", pl.col("date").is_null()),
        ("non-positive or non-finite " + column, rate.is_not_null() & ~(rate.is_finite() & (rate > 0))),
        ("duplicate date", pl.col("date").is_duplicated() & pl.col("date").is_not_null()),
    ]
    if not allow_null:
        conds.insert(1, ("null " + column, rate.is_null()))
    problems: list[str] = []
    for what, cond in conds:
        hit = f.filter(cond.fill_null(False))
        if hit.height:
            r = hit.row(0, named=True)
            problems.append(
                f"{what} at row(s) {_rows(hit['_row'].to_list())} ({r['date']}"
                + ("" if what.startswith(("duplicate", "null date")) else f": {r[column]!r}")
                + ")"
            )
    if problems:
        accept = f"a finite rate > 0 [CNY per USD] and one {column} per date"
        if len(problems) == 1 and problems[0].startswith("duplicate"):
            accept = f"one {column} per date"
        raise DataError(f"{name}: " + "; ".join(problems) + f"; {accept} is accepted", problems)
    out = f.drop("_row")
    if sort:
        return out.sort("date")
    return check_keys(out, "date", name=name)


def check_fx_fresh(
    fx_date: dt.date | pl.Series,
    on: dt.date | pl.Series,
    *,
    name: str = "usd_cny",
    max_age_days: int | None = FX_MAX_AGE_DAYS,
    hint: str = "pass max_age_days= to change it",
) -> None:
    """Check the FX rate used on ``on`` was published at most ``max_age_days`` earlier.

    Parameters
    ----------
    fx_date : date or Series of dates
        Date of the rate actually used (null: no rate at all).
    on : date or Series of dates
        Day the rate is used on.
    max_age_days : int or None
        Calendar days accepted (default :data:`FX_MAX_AGE_DAYS`); None disables the check.
    hint : str
        What the caller can do about it (ends the message).

    Raises
    ------
    DataError
        The first stale (or missing) rate, its age, and the accepted age.

    Examples
    --------
    >>> import datetime as dt
    >>> check_fx_fresh(dt.date(2025, 6, 2), dt.date(2025, 6, 3))
    >>> try:
    ...     check_fx_fresh(dt.date(2010, 6, 2), dt.date(2025, 6, 3))
    ... except DataError as exc:
    ...     print(exc)  # doctest: +ELLIPSIS
    usd_cny on 2025-06-03 is from 2010-06-02 (5480 days old); a rate at most 10 days old is accepted: ...
    """
    if max_age_days is None:
        return
    if isinstance(max_age_days, bool) or not isinstance(max_age_days, int) or max_age_days < 0:
        raise InputError(
            f"max_age_days={max_age_days!r}; a non-negative int (calendar days) or None is accepted"
        )
    if isinstance(on, pl.Series) or isinstance(fx_date, pl.Series):
        o = on if isinstance(on, pl.Series) else pl.Series([on])
        d = fx_date if isinstance(fx_date, pl.Series) else pl.Series([fx_date] * o.len())
        frame = pl.DataFrame({"on": o.cast(pl.Date), "fx": d.cast(pl.Date)})
        age = frame.with_columns(age=(pl.col("on") - pl.col("fx")).dt.total_days())
        hit = age.filter(pl.col("fx").is_null() | (pl.col("age") > max_age_days))
        if hit.height == 0:
            return
        r = hit.row(0, named=True)
        d0, on0, days = r["fx"], r["on"], r["age"]
    else:
        d0, on0 = fx_date, on
        days = None if d0 is None else (on0 - d0).days
        if days is not None and days <= max_age_days:
            return
    if d0 is None:
        msg = f"{name} has no rate on or before {on0}"
    else:
        msg = f"{name} on {on0} is from {d0} ({days} days old)"
    n_bad = ""
    if isinstance(on, pl.Series) or isinstance(fx_date, pl.Series):
        n_bad = f" ({hit.height} day(s) fail)"
    raise DataError(f"{msg}; a rate at most {max_age_days} days old is accepted{n_bad}: {hint}", [msg])


def asof_fresh(
    series: pl.DataFrame,
    value: str,
    days: pl.Series,
    *,
    name: str,
    hint: str,
    positive: bool = False,
    max_age_days: int = FX_MAX_AGE_DAYS,
) -> np.ndarray:
    """The last value of a dated series on or before each day, checked and at most so old.

    Parameters
    ----------
    series : polars.DataFrame
        ``date`` and ``value`` columns (nulls are dropped; the rest is sorted by date).
    value : str
        The value column.
    days : polars.Series
        Trading days [date].
    name, hint : str
        The series and what to do about a stale value, for the messages.
    positive : bool
        Values must also be > 0 (an FX rate).
    max_age_days : int
        Oldest accepted value [calendar days before the day] (:func:`check_fx_fresh`).

    Returns
    -------
    numpy.ndarray
        float64, one value per day.

    Raises
    ------
    DataError
        A value not finite (or not > 0 with ``positive``), naming up to five rows; or a day
        with no value within ``max_age_days``.

    Examples
    --------
    >>> s = pl.DataFrame({"date": [dt.date(2025, 6, 2)], "usd_cny": [7.2]})
    >>> asof_fresh(s, "usd_cny", pl.Series([dt.date(2025, 6, 3)]), name="usd_cny", hint="extend it")
    array([7.2])
    """
    s = series.select(pl.col("date").cast(pl.Date), pl.col(value).cast(pl.Float64)).drop_nulls().sort("date")
    ok = pl.col(value).is_finite() & (pl.col(value) > 0) if positive else pl.col(value).is_finite()
    bad = s.filter(~ok)
    if bad.height:
        what = "rates that are not finite and > 0" if positive else "non-finite values"
        raise DataError(f"{name} has {what}", [str(r) for r in bad.head(5).rows()])
    j = pl.DataFrame({"trading_day": days}).join_asof(
        s.with_columns(pl.col("date").alias("_d")),
        left_on="trading_day",
        right_on="date",
        strategy="backward",
    )
    check_fx_fresh(j["_d"], j["trading_day"], name=name, max_age_days=max_age_days, hint=hint)
    return j[value].to_numpy().astype(np.float64)


def check_listed(
    contract: Any, on: dt.date, *, what: str = "contract", listed_that_day: Sequence[str] = ()
) -> None:
    """Check a contract (a :class:`~cnfutures.market.contracts.Contract`) trades on ``on``.

    A contract before its first trading day or after its last one has no price, margin
    or limit that day; asking for one is an error, never the nearest listed value.

    Raises
    ------
    UnknownContract
        Naming the contract, the day and its listing window.

    Examples
    --------
    >>> import datetime as dt, cnfutures
    >>> check_listed(cnfutures.contract("sc2508"), dt.date(2025, 6, 3))
    >>> try:
    ...     check_listed(cnfutures.contract("sc2505"), dt.date(2025, 7, 1))
    ... except UnknownContract as exc:
    ...     print(exc)  # doctest: +ELLIPSIS
    contract 'sc2505' is not listed on 2025-07-01 (it trades from ... to its last trading day 2025-04-30)
    """
    if contract.is_listed(on):
        return
    tail = f"; listed that day: {', '.join(listed_that_day)}" if listed_that_day else ""
    try:
        last = f" {contract.last_trading_day}"
    except CnFuturesError:  # beyond the calendar's data: not guessed
        last = ""
    raise UnknownContract(
        f"{what} {contract.code!r} is not listed on {on} (it trades from {contract.first_trading_day} "
        f"to its last trading day{last}){tail}"
    )


def check_declared(currency: object, unit: object, *, name: str = "series") -> tuple[str, str]:
    """Check a price series declares a known currency and unit; return them normalised.

    Examples
    --------
    >>> check_declared("usd", "bbl")
    ('USD', 'bbl')
    >>> try:
    ...     check_declared("USD", "barrels")
    ... except InputError as exc:
    ...     print(exc)
    series unit='barrels' is not accepted; use one of ['bbl', 't']
    """
    if not isinstance(currency, str) or currency.strip().upper() not in CURRENCIES:
        raise InputError(f"{name} currency={currency!r} is not accepted; use one of {sorted(CURRENCIES)}")
    if not isinstance(unit, str) or unit.strip() not in UNITS:
        raise InputError(f"{name} unit={unit!r} is not accepted; use one of {sorted(UNITS)}")
    return currency.strip().upper(), unit.strip()


#: Tolerance of the symmetry, unit-diagonal and positive-semi-definite checks of a correlation.
CORR_TOL = 1e-10


def check_correlation(corr: object, names: Sequence[str], *, name: str = "corr") -> np.ndarray:
    """A validated correlation matrix over ``names`` (in that order).

    Parameters
    ----------
    corr : "independent", mapping, array-like or estimate
        ``"independent"`` (the identity, stated explicitly); a mapping ``{(a, b): rho}`` with
        every unordered pair of distinct names exactly once or in both orders with the same
        value (diagonal keys ``(a, a)`` may be given as 1); a square array-like [-] in the order
        of ``names``; or an object with ``products`` and ``matrix`` attributes (e.g.
        :func:`cnfutures.simulate.estimate_correlation`), reordered to ``names``.
    names : sequence of str
        The products, distinct.
    name : str
        Argument name used in messages.

    Returns
    -------
    numpy.ndarray [n, n]
        The matrix, symmetric with unit diagonal.

    Raises
    ------
    InputError
        A missing or unknown product or pair, a value not finite or outside [-1, 1], a matrix
        not square, not symmetric, without unit diagonal or not positive semi-definite (its
        smallest eigenvalue below ``-1e-10``).

    Examples
    --------
    >>> check_correlation({("sc", "i"): 0.4}, ["sc", "i"]).tolist()
    [[1.0, 0.4], [0.4, 1.0]]
    >>> try:
    ...     check_correlation({("sc", "i"): 1.2}, ["sc", "i"])
    ... except InputError as exc:
    ...     print(exc)
    corr[('sc', 'i')]=1.2 is outside [-1, 1]
    """
    ns = list(names)
    n = len(ns)
    if isinstance(corr, str):
        if corr != "independent":
            raise InputError(
                f"{name}={corr!r}; accepted: 'independent', a mapping {{(a, b): rho}}, or an {n}x{n} matrix"
            )
        return np.eye(n)
    if hasattr(corr, "products") and hasattr(corr, "matrix"):
        have = list(corr.products)
        missing = [p for p in ns if p not in have]
        if missing:
            raise InputError(f"{name} covers {have}; product(s) {missing} are missing")
        m = np.asarray(corr.matrix, dtype=np.float64)
        idx = [have.index(p) for p in ns]
        return check_correlation(m[np.ix_(idx, idx)], ns, name=name)
    if isinstance(corr, dict) or (hasattr(corr, "items") and hasattr(corr, "keys")):
        c = np.eye(n)
        seen: dict[tuple[int, int], float] = {}
        for key, v in corr.items():  # type: ignore[attr-defined]
            if not (isinstance(key, tuple) and len(key) == 2):
                raise InputError(f"{name} key {key!r} must be a pair (product_a, product_b)")
            unknown = [k for k in key if k not in ns]
            if unknown:
                raise InputError(f"{name}[{key!r}]: product(s) {unknown} not among {ns}")
            if isinstance(v, bool) or not isinstance(v, int | float | np.floating | np.integer):
                raise InputError(f"{name}[{key!r}]={v!r} must be a number in [-1, 1]")
            x = float(v)
            if not np.isfinite(x) or abs(x) > 1.0:
                raise InputError(f"{name}[{key!r}]={v!r} is outside [-1, 1]")
            i, j = ns.index(key[0]), ns.index(key[1])
            if i == j:
                if abs(x - 1.0) > CORR_TOL:
                    raise InputError(f"{name}[{key!r}]={v!r}; a product's correlation with itself is 1")
                continue
            pair = (min(i, j), max(i, j))
            if pair in seen and abs(seen[pair] - x) > CORR_TOL:
                raise InputError(
                    f"{name}: not symmetric: ({ns[pair[0]]!r}, {ns[pair[1]]!r}) is given as "
                    f"{seen[pair]!r} and {x!r}"
                )
            seen[pair] = x
            c[i, j] = c[j, i] = x
        missing_pairs = [(ns[i], ns[j]) for i in range(n) for j in range(i + 1, n) if (i, j) not in seen]
        if missing_pairs:
            raise InputError(
                f"{name}: pair(s) {missing_pairs[:_MAX_LISTED]} missing; give every pair of {ns} "
                "(or corr='independent')"
            )
        return check_correlation(c, ns, name=name)
    if corr is None:
        raise InputError(
            f"{name}=None is not 'independent', a mapping or a numeric matrix; the correlation has no default"
        )
    try:
        m = np.array(corr, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise InputError(
            f"{name} of type {type(corr).__name__} is not 'independent', a mapping or a numeric matrix"
        ) from exc
    if m.shape != (n, n):
        raise InputError(f"{name} has shape {m.shape}; a {n}x{n} matrix over {ns} is accepted")
    for i in range(n):
        for j in range(n):
            x = float(m[i, j])
            if not np.isfinite(x) or abs(x) > 1.0 + CORR_TOL:
                raise InputError(f"{name}[{ns[i]!r}, {ns[j]!r}]={x!r} is outside [-1, 1]")
            if i == j and abs(x - 1.0) > CORR_TOL:
                raise InputError(f"{name}[{ns[i]!r}, {ns[i]!r}]={x!r}; the diagonal must be 1")
            if j > i and abs(x - m[j, i]) > CORR_TOL:
                raise InputError(
                    f"{name} is not symmetric: [{ns[i]!r}, {ns[j]!r}]={x!r} but "
                    f"[{ns[j]!r}, {ns[i]!r}]={float(m[j, i])!r}"
                )
    lo = float(np.linalg.eigvalsh(m).min()) if n else 0.0
    if lo < -CORR_TOL:
        raise InputError(
            f"{name} over {ns} is not positive semi-definite (smallest eigenvalue {lo:.3g}); "
            "no set of shocks has these correlations"
        )
    return m


def check_option_series(
    opt: Any,
    on: dt.date,
    *,
    listed_strikes: Sequence[float] | None = None,
    exercise_on: dt.date | None = None,
) -> None:
    """Check an option (a :class:`~cnfutures.market.options.OptionContract`) may be used on ``on``.

    Checks, in order: the series trades that day (options listed, underlying trading, not past
    expiry); its expiry is not after the underlying's last trading day; its strike is among the
    strikes listed that day (when given); an exercise date (when given) is not after the expiry.

    Raises
    ------
    UnknownContract
        Naming the option, the day and the rule (listing window, expiry rule, listed strikes).

    Examples
    --------
    >>> import datetime as dt
    >>> from cnfutures.market.options import option
    >>> o, day = option("sc2509C490"), dt.date(2025, 6, 3)
    >>> check_option_series(o, day, listed_strikes=[480.0, 490.0])
    >>> try:
    ...     check_option_series(o, day, exercise_on=dt.date(2025, 8, 20))
    ... except UnknownContract as exc:
    ...     print(exc)  # doctest: +ELLIPSIS
    option 'sc2509C490': exercise on 2025-08-20 is after its expiry 2025-08-13 (nth_last_trading_day...)
    """
    if not opt.is_listed(on):
        opt.require_listed(on)  # raises, naming the listing date, the underlying or the expiry rule
        raise UnknownContract(f"option {opt.code!r} is not listed on {on}")  # pragma: no cover
    rule = opt.expiry_rule[0]
    u_last = opt.underlying.last_trading_day
    if opt.expiry > u_last:
        raise UnknownContract(
            f"option {opt.code!r}: expiry {opt.expiry} ({rule}) is after the last trading day {u_last} "
            f"of its underlying {opt.underlying.code}; an option expires before its futures"
        )
    if listed_strikes is not None and not any(abs(opt.strike - k) < 1e-9 for k in listed_strikes):
        shown = ", ".join(f"{k:g}" for k in listed_strikes[:: max(1, len(listed_strikes) // _MAX_LISTED)])
        if not listed_strikes:
            raise UnknownContract(f"option {opt.code!r}: no strike is listed on {on}")
        raise UnknownContract(
            f"option {opt.code!r}: strike {opt.strike:g} is not listed on {on} (the exchange lists "
            f"{listed_strikes[0]:g} to {listed_strikes[-1]:g} that day around the previous settlement: "
            f"{shown})"
        )
    if exercise_on is not None and exercise_on > opt.expiry:
        raise UnknownContract(
            f"option {opt.code!r}: exercise on {exercise_on} is after its expiry {opt.expiry} ({rule})"
        )


def check_option_prices(
    frame: pl.DataFrame,
    columns: Sequence[str],
    *,
    name: str = "options",
    rows: Sequence[str] | Callable[[], Sequence[str]] | None = None,
    required: Sequence[str] = ("settle",),
    bounds: tuple[float, float] = (0.0, float("inf")),
    what: str = "an option price is a number >= 0 [CNY/unit]",
) -> pl.DataFrame:
    """Cast option price columns from text to numbers and check them: finite and >= 0 [CNY/unit].

    Parameters
    ----------
    frame : polars.DataFrame
        The rows as read (text or numbers).
    columns : sequence of str
        The price columns to check; absent ones are skipped.
    name : str
        The file or frame, for the message.
    rows : sequence of str or callable, optional
        How to name each row in a message (e.g. ``"o_curinstrument[3]"``), or a function
        returning those names (called only when a row fails); default ``"row i"``.
    required : sequence of str
        Columns that may not be blank (an option without a settlement cannot be marked).
    bounds : (float, float)
        Accepted range (default ``[0, inf)``; an option delta is checked with ``(-1, 1)``).
    what : str
        What is accepted, for the message.

    Returns
    -------
    polars.DataFrame
        ``frame`` with ``columns`` as Float64 (thousands separators removed).

    Raises
    ------
    DataError
        Naming the row, the column and the value: not a number, blank where required,
        infinite or negative.

    Examples
    --------
    >>> f = pl.DataFrame({"option": ["sc2509C490"], "settle": ["12.4"]})
    >>> check_option_prices(f, ["settle"])["settle"][0]
    12.4
    >>> try:
    ...     check_option_prices(pl.DataFrame({"settle": ["-1"]}), ["settle"], name="kx.dat")
    ... except DataError as exc:
    ...     print(exc)
    kx.dat: row 0 settle = '-1' is negative; an option price is a number >= 0 [CNY/unit]
    """
    out = []
    for c in columns:
        if c not in frame.columns:
            continue
        raw = frame[c]
        text = raw.cast(pl.String).str.replace_all(",", "").str.strip_chars()
        num = text.cast(pl.Float64, strict=False)
        blank = text.is_null() | (text == "")
        fine = blank.not_() & num.is_not_null() & num.is_finite() & num.is_between(*bounds)
        ok = (fine | blank) if c not in required else fine
        if ok.all():  # the usual case: no per-row work
            out.append(num.alias(c))
            continue
        labels = list(rows() if callable(rows) else rows) if rows is not None else None
        problems: list[str] = []
        for i in ok.not_().arg_true().to_list():
            t, v = text[i], num[i]
            label = labels[i] if labels is not None else f"row {i}"
            if t is None or t == "":
                problems.append(f"{label} {c} is blank")
            elif v is None:
                problems.append(f"{label} {c} = {t!r} is not a number")
            elif not np.isfinite(v):
                problems.append(f"{label} {c} = {t!r} is not finite")
            elif v < bounds[0] and bounds[0] == 0.0:
                problems.append(f"{label} {c} = {t!r} is negative")
            else:
                problems.append(f"{label} {c} = {t!r} is outside [{bounds[0]:g}, {bounds[1]:g}]")
        if problems:
            more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
            raise DataError(
                f"{name}: {problems[0]}{more}; {what}", problems
            )
        out.append(num.alias(c))
    return frame.with_columns(out) if out else frame


def check_option_access(
    code: str, on: dt.date, route: str, side: str, allowed_from: dt.date | None, source: str
) -> None:
    """Check a route may trade an option (``side`` ``"long"`` buys, ``"short"`` writes) on ``on``.

    ``allowed_from`` is the first day the route may trade the product's options (the option
    access data: ``qfi_from`` for QFIs, ``overseas_from`` for specified-product routes), None when
    the data grants the route no access.

    Raises
    ------
    AccessDenied
        Naming the option, the route, the side and the rule with its source.

    Examples
    --------
    >>> import datetime as dt
    >>> day = dt.date(2025, 6, 3)
    >>> check_option_access("sc2509C490", day, "qfi", "short", dt.date(2022, 9, 2), "S16")
    >>> try:
    ...     check_option_access("ru2509P14000", day, "qfi", "short", None, "S16, S17")
    ... except AccessDenied as exc:
    ...     print(exc)  # doctest: +ELLIPSIS
    route 'qfi' may not write (short) ru2509P14000 on 2025-06-03: the option access data grants ...
    """
    verb = "write (short)" if side == "short" else "buy (long)"
    if allowed_from is None:
        raise AccessDenied(
            f"route {route!r} may not {verb} {code} on {on}: the option access data grants this route no "
            f"access to these options (source: {source})"
        )
    if on < allowed_from:
        raise AccessDenied(
            f"route {route!r} may not {verb} {code} on {on}: the route may trade these options from "
            f"{allowed_from} (source: {source})"
        )
