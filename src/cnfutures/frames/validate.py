"""Validation of price frames, vectorised with polars.

Each ``validate_*`` function casts a frame to its schema (losslessly only) and runs every check
at once; it returns the cast frame, or raises :class:`~cnfutures.errors.DataError` whose
``problems`` list names every failed check with **all** its row numbers. Row numbers are
0-based positions in the frame as given (for a CSV file with a header line, the file line
is ``row + 2``). The matching ``check_*`` functions return a :class:`ValidationReport`
instead of raising, so a caller can inspect and decide.

Checks on futures daily bars (``check`` names in the report):

=======================  ========  ========================================================
check                    severity  meaning
=======================  ========  ========================================================
missing_column           error     a required column is absent
lossy_cast               error     a value cannot be cast to the schema dtype without loss
null_key                 error     ``trading_day`` or ``contract`` is missing
duplicate_key            error     (trading_day, contract) appears more than once
outside_calendar         error     the day lies outside the calendar's coverage (2010-2026)
not_trading_day          error     the day is a weekend or exchange holiday
unknown_contract         error     the code is not a contract of a known product
contract_not_listed      error     the contract was not listed on that day
high_below_low           error     high < low
open_outside_range       error     open outside [low, high]
close_outside_range      error     close outside [low, high]
missing_settle           error     settlement price missing
missing_price            error     open/high/low/close missing on a day with volume > 0
negative_quantity        error     volume or open interest < 0
off_tick                 warning   a price is not a multiple of the tick (error if strict)
missing_trading_day      warning   continuous series only: a calendar day without a row
=======================  ========  ========================================================

Negative prices are valid (WTI settled at -37.63 USD/bbl on 2020-04-20) and never reported.
"""

from __future__ import annotations

import datetime as dt
import importlib
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import polars as pl

from cnfutures.errors import DataError, InputError
from cnfutures.frames.schema import (
    FUTURES_OPTIONAL,
    FUTURES_REQUIRED,
    FX_SCHEMA,
    INTRADAY_REQUIRED,
    SPOT_SCHEMA,
    contract_info,
)
from cnfutures.market.calendar import calendar
from cnfutures.market.products import Product
from cnfutures.market.products import product as get_product
from cnfutures.market.products import products as all_products

__all__ = [
    "DataQualityWarning",
    "ValidationReport",
    "check_futures",
    "check_fx",
    "check_intraday",
    "check_settlements",
    "check_spot",
    "validate_continuous",
    "validate_futures",
    "validate_fx",
    "validate_intraday",
    "validate_spot",
]

_ROW = "__row"
_PRICES = ("open", "high", "low", "close", "settle", "prev_settle")
_REPORT_SCHEMA = {"check": pl.String, "severity": pl.String, "row": pl.Int64, "detail": pl.String}
_SHOW = 20  # row numbers shown per check in an error message (all are in .problems)


class DataQualityWarning(UserWarning):
    """A validation finding that is reported but not an error (e.g. off-tick prices)."""


@dataclass(frozen=True)
class ValidationReport:
    """Every finding of a validation run.

    Attributes
    ----------
    frame : polars.DataFrame
        The input cast to its schema (columns that could not be cast are left as given).
    problems : polars.DataFrame
        One row per (check, row): ``check`` (str), ``severity`` (``"error"`` or
        ``"warning"``), ``row`` (Int64, 0-based input row, null for frame-level findings),
        ``detail`` (str).
    name : str
        What was validated (a file name, or ``"frame"``).

    Examples
    --------
    >>> import polars as pl
    >>> r = check_spot(pl.DataFrame({"date": ["2025-01-02", "2025-01-02"], "price": [1.0, 2.0]}))
    >>> r.counts(), r.rows("duplicate_key")
    ({'duplicate_key': 2}, [0, 1])
    """

    frame: pl.DataFrame
    problems: pl.DataFrame
    name: str = "frame"

    @property
    def ok(self) -> bool:
        """True when there is no error (warnings allowed)."""
        return self.errors.is_empty()

    @property
    def errors(self) -> pl.DataFrame:
        """Problems of severity ``"error"``."""
        return self.problems.filter(pl.col("severity") == "error")

    @property
    def warnings(self) -> pl.DataFrame:
        """Problems of severity ``"warning"``."""
        return self.problems.filter(pl.col("severity") == "warning")

    def counts(self) -> dict[str, int]:
        """Number of findings per check, in order of first appearance."""
        g = self.problems.group_by("check", maintain_order=True).len()
        return {str(k): int(v) for k, v in g.iter_rows()}

    def rows(self, check: str) -> list[int]:
        """Row numbers (0-based) flagged by ``check``."""
        return [int(r) for r in self.problems.filter(pl.col("check") == check)["row"].drop_nulls().to_list()]

    def messages(self, severity: str | None = None) -> list[str]:
        """One line per check: count, every row number and the first details."""
        p = self.problems if severity is None else self.problems.filter(pl.col("severity") == severity)
        out: list[str] = []
        for (check, sev), grp in p.group_by(["check", "severity"], maintain_order=True):
            rows = grp["row"].drop_nulls().to_list()
            details = grp["detail"].head(3).to_list()
            where = f" at row(s) {', '.join(map(str, rows))}" if rows else ""
            out.append(f"{check} ({sev}, {grp.height}){where}: " + "; ".join(map(str, details)))
        return out

    def summary(self) -> str:
        """Short text: per check the count and the first row numbers."""
        if self.problems.is_empty():
            return f"{self.name}: {self.frame.height} rows, no problems"
        lines = [f"{self.name}: {self.frame.height} rows"]
        for (check, sev), grp in self.problems.group_by(["check", "severity"], maintain_order=True):
            rows = grp["row"].drop_nulls().to_list()
            shown = ", ".join(map(str, rows[:_SHOW])) + (
                f", ... ({len(rows) - _SHOW} more)" if len(rows) > _SHOW else ""
            )
            first = grp["detail"][0]
            lines.append(
                f"  {sev} {check}: {grp.height}" + (f" [rows {shown}]" if rows else "") + f" e.g. {first}"
            )
        return "\n".join(lines)

    def raise_if_errors(self, *, fix: str = "") -> pl.DataFrame:
        """Return the frame, or raise :class:`DataError` listing every error.

        Warnings are emitted as :class:`DataQualityWarning`.
        """
        if not self.ok:
            msg = self.summary() + (f"\n{fix}" if fix else "")
            exc = DataError(msg, self.messages("error") + self.messages("warning"))
            exc.report = self  # type: ignore[attr-defined]
            raise exc
        if not self.warnings.is_empty():
            warnings.warn(self.summary(), DataQualityWarning, stacklevel=3)
        return self.frame


# ---------------------------------------------------------------------------------- helpers
class _Collector:
    def __init__(self) -> None:
        self.parts: list[pl.DataFrame] = []

    def add_rows(self, check: str, severity: str, rows: pl.Series, detail: pl.Series | str) -> None:
        if rows.len() == 0:
            return
        d = detail if isinstance(detail, pl.Series) else pl.Series([detail] * rows.len())
        self.parts.append(
            pl.DataFrame(
                {
                    "check": check,
                    "severity": severity,
                    "row": rows.cast(pl.Int64),
                    "detail": d.cast(pl.String),
                }
            ).select(list(_REPORT_SCHEMA))
        )

    def add_frame_level(self, check: str, severity: str, detail: str) -> None:
        self.parts.append(
            pl.DataFrame(
                {"check": [check], "severity": [severity], "row": [None], "detail": [detail]},
                schema=_REPORT_SCHEMA,
            )
        )

    def add_flags(
        self,
        flags: pl.DataFrame,
        checks: Sequence[tuple[str, pl.Expr, pl.Expr]],
        severity_of: Mapping[str, str],
    ) -> None:
        """``flags`` holds ``_ROW`` and one Boolean column per check name."""
        for name, _, detail in checks:
            if name not in flags.columns:
                continue
            hit = flags.filter(pl.col(name).fill_null(False))
            if hit.height:
                self.add_rows(name, severity_of[name], hit[_ROW], hit.select(detail.alias("d"))["d"])

    def frame(self) -> pl.DataFrame:
        if not self.parts:
            return pl.DataFrame(schema=_REPORT_SCHEMA)
        return pl.concat(self.parts, how="vertical")


def _to_frame(df: object) -> pl.DataFrame:
    if isinstance(df, pl.LazyFrame):
        return df.collect()
    if isinstance(df, pl.DataFrame):
        return df
    try:
        import pyarrow as pa

        if isinstance(df, pa.Table):
            out = pl.from_arrow(df)
            assert isinstance(out, pl.DataFrame)
            return out
    except ImportError:  # pragma: no cover
        pass
    if type(df).__module__.startswith("pandas"):
        pandas = importlib.import_module("pandas")
        if isinstance(df, pandas.DataFrame):
            return pl.from_pandas(df)
    raise InputError(
        "expected a polars DataFrame/LazyFrame, a pyarrow Table or a pandas DataFrame; "
        f"got {type(df).__name__}"
    )


#: Text numbers whose commas group thousands (``1,234,567.5``); any other comma is not
#: guessed at: a decimal comma (``496,1``) read as a thousands separator is 10x too large.
_THOUSANDS = r"^[+-]?\d{1,3}(,\d{3})+(\.\d*)?$"
#: Time zone of every naive timestamp cnfutures handles (exchange wall clock).
BEIJING = "Asia/Shanghai"


def _number_text(stripped: pl.Series) -> tuple[pl.Series, pl.Series]:
    """Text -> text a float cast accepts: thousands commas removed; (text, bad-comma mask)."""
    comma = stripped.str.contains(",", literal=True).fill_null(False)
    grouped = stripped.str.contains(_THOUSANDS).fill_null(False)
    cleaned = pl.select(
        pl.when(pl.lit(grouped)).then(pl.lit(stripped).str.replace_all(",", "")).otherwise(pl.lit(stripped))
    ).to_series()
    return cleaned, comma & ~grouped


def _naive_beijing(s: pl.Series) -> pl.Series:
    """A time-zone-aware Datetime as naive Beijing wall clock (naive input unchanged)."""
    if isinstance(s.dtype, pl.Datetime) and s.dtype.time_zone is not None:
        return s.dt.convert_time_zone(BEIJING).dt.replace_time_zone(None)
    return s


def _cast_column(s: pl.Series, target: pl.DataType) -> tuple[pl.Series, pl.Series]:
    """Cast ``s`` to ``target``; return the cast series and a Boolean mask of lossy rows.

    Text numbers may group thousands with commas (``1,234.5``); any other comma (a decimal
    comma, ``496,1``) is a lossy cast, never a number 10x too large. Time-zone-aware
    timestamps (a tz-aware Datetime column, or text with ``+08:00``, ``-05:00`` or ``Z``)
    become Beijing wall clock; a tz-aware Datetime for a Date column keeps its own date.
    """
    if isinstance(target, pl.Datetime) and isinstance(s.dtype, pl.Datetime) and s.dtype.time_zone:
        s = _naive_beijing(s)
    if s.dtype == target:
        return s, pl.Series(np.zeros(s.len(), dtype=bool))
    if s.dtype == pl.Null:
        return pl.Series(s.name, [None] * s.len(), dtype=target), pl.Series(np.zeros(s.len(), dtype=bool))
    src = s
    if s.dtype == pl.String:
        stripped = s.str.strip_chars()
        blank = stripped == ""
        stripped = stripped.set(blank.fill_null(False), None)  # type: ignore[arg-type]
        if target == pl.Date():
            out = pl.select(
                pl.coalesce(
                    stripped.str.to_date("%Y-%m-%d", strict=False),
                    stripped.str.to_date("%Y%m%d", strict=False),
                    stripped.str.to_date("%Y/%m/%d", strict=False),
                )
            ).to_series()
        elif isinstance(target, pl.Datetime):
            zoned = stripped.str.replace(r"Z$", "+00:00")
            aware = [
                zoned.str.to_datetime(fmt, strict=False, time_unit="us", time_zone="UTC")
                .dt.convert_time_zone(BEIJING)
                .dt.replace_time_zone(None)
                for fmt in (
                    "%Y-%m-%d %H:%M:%S%:z",
                    "%Y-%m-%dT%H:%M:%S%:z",
                    "%Y-%m-%d %H:%M:%S%z",
                    "%Y-%m-%dT%H:%M:%S%z",
                )
            ]
            has_zone = stripped.str.contains(r"(Z|[+-]\d{2}:?\d{2})$").fill_null(False)
            naive = pl.select(
                pl.coalesce(
                    stripped.str.to_datetime("%Y-%m-%d %H:%M:%S", strict=False, time_unit="us"),
                    stripped.str.to_datetime("%Y-%m-%dT%H:%M:%S", strict=False, time_unit="us"),
                    stripped.str.to_datetime("%Y-%m-%d %H:%M", strict=False, time_unit="us"),
                )
            ).to_series()
            zoned_out = pl.select(pl.coalesce(*aware)).to_series()
            out = pl.select(
                pl.when(pl.lit(has_zone)).then(pl.lit(zoned_out)).otherwise(pl.lit(naive))
            ).to_series()
        elif target == pl.Int64():
            text, bad_comma = _number_text(stripped)
            f = text.cast(pl.Float64, strict=False)
            out = f.cast(pl.Int64, strict=False)
            lossy_int = (f.is_not_null() & (f != out.cast(pl.Float64))).fill_null(False)
            lossy = (stripped.is_not_null() & out.is_null()) | lossy_int | bad_comma
            return out.alias(s.name), lossy.fill_null(False)
        else:
            text, bad_comma = _number_text(stripped)
            out = text.cast(target, strict=False)
            lossy = (stripped.is_not_null() & out.is_null()) | bad_comma
            return out.alias(s.name), lossy.fill_null(False)
        lossy = stripped.is_not_null() & out.is_null()
        return out.alias(s.name), lossy.fill_null(False)
    if target == pl.Date() and isinstance(s.dtype, pl.Datetime):
        out = s.dt.date()
        lossy = s.is_not_null() & (s.dt.truncate("1d") != s)
        return out, lossy.fill_null(False)
    out = s.cast(target, strict=False)
    lossy = src.is_not_null() & out.is_null()
    if s.dtype.is_float() and target.is_integer():
        lossy = lossy | (s.is_not_null() & s.is_finite() & (out.cast(pl.Float64) != s)).fill_null(False)
        lossy = lossy | (s.is_not_null() & ~s.is_finite())
    elif s.dtype.is_numeric() and target.is_numeric():
        back = out.cast(s.dtype, strict=False)
        lossy = lossy | (s.is_not_null() & (back != s)).fill_null(False)
    return out, lossy.fill_null(False)


def _cast(
    df: pl.DataFrame,
    required: Mapping[str, pl.DataType],
    optional: Mapping[str, pl.DataType],
    col: _Collector,
) -> tuple[pl.DataFrame, list[str]]:
    missing = [c for c in required if c not in df.columns]
    for c in missing:
        col.add_frame_level(
            "missing_column", "error", f"required column {c!r} ({required[c]}) is missing; got {df.columns}"
        )
    new: list[pl.Series] = []
    for name, target in {**required, **optional}.items():
        if name not in df.columns:
            continue
        out, lossy = _cast_column(df[name], target)
        if lossy.any():
            idx = pl.Series(np.flatnonzero(lossy.to_numpy()))
            vals = df[name].gather(idx).cast(pl.String)
            col.add_rows(
                "lossy_cast",
                "error",
                idx,
                pl.select(
                    pl.concat_str(
                        pl.lit(f"{name}="),
                        pl.lit(vals).fill_null("null"),
                        pl.lit(f" is not {target}"),
                        pl.when(pl.lit(vals).str.contains(",", literal=True).fill_null(False))
                        .then(pl.lit(" (a decimal comma? use '.', or a ';'-separated file)"))
                        .otherwise(pl.lit("")),
                    )
                ).to_series(),
            )
            new.append(df[name])  # keep the original column: nothing is replaced silently
        else:
            new.append(out.alias(name))
    return df.with_columns(new), missing


def _calendar_flags(days: pl.Series, exchanges: pl.Series | str) -> tuple[pl.Series, pl.Series]:
    """Vectorised: (outside coverage, not a trading day) for each row."""
    frame = pl.DataFrame(
        {"d": days, "ex": exchanges if isinstance(exchanges, pl.Series) else [exchanges] * days.len()}
    )
    uniq = frame.unique().drop_nulls()
    parts = []
    for ex_name, grp in uniq.group_by("ex"):
        cal = calendar(str(ex_name[0]))
        lo, hi = cal.bounds
        ords = grp["d"].cast(pl.Int32).to_numpy().astype(np.int64)
        dd = cal.days_ordinal
        pos = np.searchsorted(dd, ords)
        is_td = (pos < dd.size) & (dd[np.minimum(pos, dd.size - 1)] == ords)
        oob = ((grp["d"] < lo) | (grp["d"] > hi)).to_numpy()
        weekend = (grp["d"].dt.weekday() >= 6).to_numpy()
        # outside coverage only weekends are known to be closed
        parts.append(grp.with_columns(oob=pl.Series(oob), ntd=pl.Series((~is_td & ~oob) | (oob & weekend))))
    if not parts:
        f = pl.Series(np.zeros(days.len(), dtype=bool))
        return f, f
    flags = pl.concat(parts)
    joined = frame.join(flags, on=["d", "ex"], how="left", maintain_order="left")
    return joined["oob"].fill_null(False), joined["ntd"].fill_null(False)


def _ohlc_checks(
    with_ohlc: bool,
) -> list[tuple[str, pl.Expr, pl.Expr]]:
    if not with_ohlc:
        return []
    h, lo, o, c = pl.col("high"), pl.col("low"), pl.col("open"), pl.col("close")

    def show(*names: str) -> pl.Expr:
        return pl.concat_str(
            [pl.concat_str(pl.lit(f"{n}="), pl.col(n).cast(pl.String).fill_null("null")) for n in names],
            separator=" ",
        )

    return [
        ("high_below_low", h < lo, show("high", "low")),
        ("open_outside_range", (o < lo) | (o > h), show("open", "high", "low")),
        ("close_outside_range", (c < lo) | (c > h), show("close", "high", "low")),
    ]


def _label(key_cols: Sequence[str]) -> pl.Expr:
    return pl.concat_str([pl.col(k).cast(pl.String).fill_null("null") for k in key_cols], separator=" ")


def _tick_expr(cols: Sequence[str], tick: pl.Expr) -> pl.Expr:
    conds = []
    for c in cols:
        q = pl.col(c) / tick
        conds.append(((q - q.round(0)).abs() > 1e-6).fill_null(False))
    out = conds[0]
    for x in conds[1:]:
        out = out | x
    return out


# ---------------------------------------------------------------------------------- futures
def check_futures(
    df: object,
    *,
    strict: bool = False,
    product: str | None = None,
    contract_column: str | None = "contract",
    name: str = "frame",
    required_columns: Sequence[str] | None = None,
) -> ValidationReport:
    """Validate futures daily bars and return the report (never raises on bad data).

    ``required_columns`` narrows the required columns (default: all of
    :data:`~cnfutures.frames.schema.FUTURES_REQUIRED`); see :func:`check_settlements`.

    Parameters are those of :func:`validate_futures`.

    Examples
    --------
    >>> import datetime as dt, polars as pl
    >>> bars = pl.DataFrame({"trading_day": [dt.date(2025, 6, 27)], "contract": ["sc2508"],
    ...     "open": [497.0], "high": [499.0], "low": [494.0], "close": [495.0], "settle": [None],
    ...     "volume": [1], "open_interest": [2]})
    >>> check_futures(bars).counts()
    {'missing_settle': 1}
    """
    col = _Collector()
    frame = _to_frame(df)
    if contract_column is None:
        if product is None:
            raise InputError("a series without contract ids needs product=, e.g. product='sc'")
        p: Product | None = get_product(product)
        required = {k: v for k, v in FUTURES_REQUIRED.items() if k != "contract"}
        if "trading_day" not in frame.columns and "date" in frame.columns:
            frame = frame.rename({"date": "trading_day"})
    else:
        p = get_product(product) if product is not None else None
        required = dict(FUTURES_REQUIRED)
        if required_columns is not None:
            required = {k: v for k, v in FUTURES_REQUIRED.items() if k in required_columns}
        if contract_column != "contract":
            if contract_column not in frame.columns:
                raise InputError(f"contract_column={contract_column!r} is not a column; got {frame.columns}")
            frame = frame.rename({contract_column: "contract"})
    optional = {
        **{k: v for k, v in FUTURES_REQUIRED.items() if k not in required and k != "contract"},
        **FUTURES_OPTIONAL,
    }
    frame, missing = _cast(frame, required, optional, col)
    if "contract" in frame.columns and frame["contract"].dtype == pl.String:
        frame = frame.with_columns(pl.col("contract").str.strip_chars().str.to_lowercase())
    if "trading_day" in missing or frame["trading_day"].dtype != pl.Date:
        return ValidationReport(frame, col.frame(), name)
    keys = ["trading_day"] if contract_column is None else ["trading_day", "contract"]
    w = frame.with_row_index(_ROW)
    has_contract = (
        contract_column is not None and "contract" in frame.columns and frame["contract"].dtype == pl.String
    )
    # product / exchange per row
    if contract_column is None:
        assert p is not None
        w = w.with_columns(
            pl.lit(p.code).alias("__product"),
            pl.lit(None, pl.Date).alias("__ftd"),
            pl.lit(None, pl.Date).alias("__ltd"),
            pl.lit(None, pl.String).alias("__cproblem"),
        )
    elif has_contract:
        w = _with_contract_info(w, frame["contract"], p.code if p is not None else None)
    else:
        w = w.with_columns(
            pl.lit(None, pl.String).alias("__product"),
            pl.lit(None, pl.Date).alias("__ftd"),
            pl.lit(None, pl.Date).alias("__ltd"),
            pl.lit(None, pl.String).alias("__cproblem"),
        )
    prods = list(w["__product"].unique().drop_nulls().to_list())
    ex_map = {c: get_product(c).exchange for c in prods}
    tick_map = {c: get_product(c).tick for c in prods}
    w = w.with_columns(
        pl.col("__product").replace_strict(ex_map, default=None, return_dtype=pl.String).alias("__ex"),
        pl.col("__product").replace_strict(tick_map, default=None, return_dtype=pl.Float64).alias("__tick"),
    )
    oob, ntd = _calendar_flags(w["trading_day"], w["__ex"])
    w = w.with_columns(__oob=oob, __ntd=ntd)
    label = _label(keys)
    checks: list[tuple[str, pl.Expr, pl.Expr]] = [
        ("null_key", pl.any_horizontal([pl.col(k).is_null() for k in keys if k in w.columns]), label),
        (
            "duplicate_key",
            pl.struct(keys).is_duplicated() if all(k in w.columns for k in keys) else pl.lit(False),
            label,
        ),
        (
            "outside_calendar",
            pl.col("__oob"),
            pl.concat_str(label, pl.lit(" is outside the calendar coverage (2010-01-01 to 2026-12-31)")),
        ),
        (
            "not_trading_day",
            pl.col("__ntd"),
            pl.concat_str(
                label,
                pl.lit(" ("),
                pl.col("trading_day").dt.strftime("%a"),
                pl.lit(") is not a "),
                pl.col("__ex").fill_null("?"),
                pl.lit(" trading day"),
            ),
        ),
    ]
    if has_contract:
        checks.append(
            (
                "unknown_contract",
                pl.col("__cproblem").is_not_null()
                & pl.col("__ftd").is_null()
                & pl.col("contract").is_not_null(),
                pl.concat_str(label, pl.lit(": "), pl.col("__cproblem")),
            )
        )
        listed = (
            pl.col("__ftd").is_not_null()
            & ~pl.col("__oob")
            & (
                (pl.col("trading_day") < pl.col("__ftd"))
                | (pl.col("__ltd").is_not_null() & (pl.col("trading_day") > pl.col("__ltd")))
            )
        )
        checks.append(
            (
                "contract_not_listed",
                listed,
                pl.concat_str(
                    label,
                    pl.lit(": listed "),
                    pl.col("__ftd").cast(pl.String),
                    pl.lit(" to "),
                    pl.col("__ltd").cast(pl.String).fill_null("beyond calendar"),
                ),
            )
        )
    ohlc_cols = ("open", "high", "low", "close")
    have = set(w.columns) - set(missing)
    numeric_ok = {
        c
        for c in (*ohlc_cols, "settle", "prev_settle", "volume", "open_interest")
        if c in have and w[c].dtype.is_numeric()
    }
    if set(ohlc_cols) <= numeric_ok:
        checks += _ohlc_checks(True)
    if "settle" in numeric_ok:
        checks.append(("missing_settle", pl.col("settle").is_null() | pl.col("settle").is_nan(), label))
    price_cols = [c for c in _PRICES if c in numeric_ok]
    if price_cols:
        checks.append(
            (
                "non_finite_price",
                pl.any_horizontal([pl.col(c).is_infinite() for c in price_cols]),
                pl.concat_str(
                    label, *[pl.concat_str(pl.lit(f" {c}="), pl.col(c).cast(pl.String)) for c in price_cols]
                ),
            )
        )
        negative_ok = [p.code for p in all_products() if p.negative_prices]  # from the product data
        may_be_negative = pl.col("__product").is_in(negative_ok).fill_null(False)
        checks.append(
            (
                "non_positive_price",
                pl.any_horizontal([pl.col(c) <= 0 for c in price_cols]) & ~may_be_negative,
                pl.concat_str(
                    label,
                    pl.lit(":"),
                    *[
                        pl.concat_str(pl.lit(f" {c}="), pl.col(c).cast(pl.String).fill_null("null"))
                        for c in price_cols
                    ],
                    pl.lit(" (this product's prices are > 0)"),
                ),
            )
        )
    if {"settle", "high", "low", "volume"} <= numeric_ok:
        half = pl.col("__tick").fill_null(0.0) * 0.5
        checks.append(
            (
                "settle_outside_range",
                (pl.col("volume") > 0)
                & pl.col("settle").is_finite()
                & ((pl.col("settle") < pl.col("low") - half) | (pl.col("settle") > pl.col("high") + half)),
                pl.concat_str(
                    label,
                    pl.lit(": settle="),
                    pl.col("settle").cast(pl.String),
                    pl.lit(" outside [low, high] = ["),
                    pl.col("low").cast(pl.String),
                    pl.lit(", "),
                    pl.col("high").cast(pl.String),
                    pl.lit(
                        "] on a day with trades (the settlement price is the day's volume-weighted average)"
                    ),
                ),
            )
        )
    if set(ohlc_cols) <= numeric_ok and "volume" in numeric_ok:
        anynull = pl.any_horizontal([pl.col(c).is_null() | pl.col(c).is_nan() for c in ohlc_cols])
        checks.append(("missing_price", anynull & (pl.col("volume").fill_null(1) > 0), label))
    qty = [c for c in ("volume", "open_interest") if c in numeric_ok]
    if qty:
        checks.append(
            (
                "negative_quantity",
                pl.any_horizontal([pl.col(c) < 0 for c in qty]),
                pl.concat_str(
                    label, *[pl.concat_str(pl.lit(f" {c}="), pl.col(c).cast(pl.String)) for c in qty]
                ),
            )
        )
    tick_cols = [c for c in _PRICES if c in numeric_ok]
    if tick_cols:
        checks.append(
            (
                "off_tick",
                _tick_expr(tick_cols, pl.col("__tick")),
                pl.concat_str(
                    label,
                    pl.lit(" tick="),
                    pl.col("__tick").cast(pl.String),
                    pl.lit(":"),
                    *[
                        pl.concat_str(pl.lit(f" {c}="), pl.col(c).cast(pl.String).fill_null("null"))
                        for c in tick_cols
                    ],
                ),
            )
        )
    flags = w.select(
        pl.col(_ROW), *[e.alias(n) for n, e, _ in checks], *[c for c in w.columns if c not in (_ROW,)]
    )
    severity = {n: "error" for n, _, _ in checks}
    severity["off_tick"] = "error" if strict else "warning"
    col.add_flags(flags, checks, severity)
    if has_contract and "settle" in numeric_ok:
        _limit_band(w, "prev_settle" in numeric_ok, col)
    if contract_column is None:
        _missing_days(w["trading_day"], p.exchange if p else "", col)  # type: ignore[union-attr]
    out = frame
    return ValidationReport(out, col.frame(), name)


#: Extra room, above the day's limit rate, before a settlement-to-settlement move is called
#: impossible: limits widen (by about 3 points) after consecutive limit days, and a frame
#: may skip a day. A decimal slip (10x) or a wrong contract is far outside it.
LIMIT_TOLERANCE = 0.05
_MIN_LIMIT = 0.04  # smallest daily limit of the four products (DCE i at launch)


def _limit_band(w: pl.DataFrame, has_prev: bool, col: _Collector) -> None:
    """Settles that moved more than the day's price limit (plus LIMIT_TOLERANCE) from the
    previous settlement: the exchange's ``prev_settle`` when given, else the contract's
    previous row within 5 calendar days. Vectorised: the limits of the few rows that moved
    more than the smallest limit are looked up at once (:meth:`RuleBook.limit_rates`)."""
    from cnfutures.market.rules import RuleBook

    prev_row = pl.col("settle").shift(1).over("contract")
    gap = (pl.col("trading_day") - pl.col("trading_day").shift(1).over("contract")).dt.total_days()
    prev: pl.Expr = pl.when((gap >= 1) & (gap <= 5)).then(prev_row)
    if has_prev:
        prev = pl.coalesce(pl.col("prev_settle"), prev)
    cand = w.select(
        _ROW, "trading_day", "contract", "settle", "__oob", "__ftd", "__product", prev.alias("__prev")
    ).filter(
        ~pl.col("__oob")
        & pl.col("__ftd").is_not_null()
        & (pl.col("trading_day") >= pl.col("__ftd"))
        & (pl.col("__prev") > 0)
        & (pl.col("settle") > 0)
        & ((pl.col("settle") / pl.col("__prev") - 1.0).abs() > _MIN_LIMIT + LIMIT_TOLERANCE)
    )
    if cand.height == 0:
        return
    rates = RuleBook.default().limit_rates(cand.select("trading_day", "contract"))  # first day included
    hit = (
        cand.with_columns(rates.alias("__rate"))
        .with_columns((pl.col("settle") / pl.col("__prev") - 1.0).alias("__move"))
        .filter(
            pl.col("__rate").is_not_null() & (pl.col("__move").abs() > pl.col("__rate") + LIMIT_TOLERANCE)
        )
    )
    if hit.height == 0:
        return
    detail = hit.select(
        pl.concat_str(
            pl.col("trading_day").cast(pl.String),
            pl.lit(" "),
            pl.col("contract"),
            pl.lit(": settle="),
            pl.col("settle").cast(pl.String),
            pl.lit(" is "),
            (pl.col("__move") * 100).round(1).cast(pl.String),
            pl.lit("% from the previous settle "),
            pl.col("__prev").cast(pl.String),
            pl.lit(", beyond the "),
            (pl.col("__rate") * 100).round(1).cast(pl.String),
            pl.lit(f"% daily limit (+{LIMIT_TOLERANCE:.0%} allowed); a decimal slip or a wrong unit?"),
        ).alias("d")
    )["d"]
    col.add_rows("outside_limit_band", "error", hit[_ROW], detail)


def check_settlements(df: object, *, name: str = "frame") -> ValidationReport:
    """Validate a per-contract settlement frame (``trading_day``, ``contract``, ``settle``).

    The checks of :func:`check_futures` that need only these columns (and any of ``open``,
    ``high``, ``low``, ``close``, ``volume``, ``open_interest``, ``prev_settle`` present):
    null or duplicate keys, days off the exchange calendar, unknown contracts and contracts
    not listed that day, missing, infinite or (for products that cannot go negative)
    non-positive settles, settles beyond the daily limit band. Used by
    :func:`~cnfutures.frames.io.read_settlements` and the backtester's ``Market``.

    Examples
    --------
    >>> import datetime as dt, polars as pl
    >>> f = pl.DataFrame({"trading_day": [dt.date(2025, 6, 2)], "contract": ["sc2508"], "settle": [480.3]})
    >>> check_settlements(f).counts()  # 2025-06-02: Dragon Boat Festival
    {'not_trading_day': 1}
    """
    return check_futures(df, name=name, required_columns=("trading_day", "contract", "settle"))


def _missing_days(days: pl.Series, exchange: str, col: _Collector) -> None:
    cal = calendar(exchange)
    lo, hi = cal.bounds
    d = days.drop_nulls()
    d = d.filter((d >= lo) & (d <= hi))
    if d.is_empty():
        return
    first, last = d.min(), d.max()
    assert isinstance(first, dt.date) and isinstance(last, dt.date)
    expected = cal.trading_days(first, last)
    gap = expected.filter(~expected.is_in(d.unique().implode()))
    for day in gap.to_list():
        col.add_frame_level(
            "missing_trading_day", "warning", f"{day} is a {exchange} trading day with no row"
        )


def _with_contract_info(w: pl.DataFrame, contracts: pl.Series, product_code: str | None) -> pl.DataFrame:
    """Attach product, listing day, last trading day and code problem of each row's contract
    (looked up once per distinct contract) as ``__product``, ``__ftd``, ``__ltd``, ``__cproblem``."""
    info = contract_info(contracts, product=product_code)
    return w.join(
        info.select(
            pl.col("contract"),
            pl.col("product").alias("__product"),
            pl.col("first_trading_day").alias("__ftd"),
            pl.col("last_trading_day").alias("__ltd"),
            pl.col("problem").alias("__cproblem"),
        ),
        on="contract",
        how="left",
        maintain_order="left",
    )


def validate_futures(
    df: object,
    *,
    strict: bool = False,
    product: str | None = None,
    contract_column: str | None = "contract",
    name: str = "frame",
) -> pl.DataFrame:
    """Validate futures daily bars: return the frame cast to the schema, or raise.

    Parameters
    ----------
    df : polars.DataFrame, LazyFrame, pyarrow.Table or pandas.DataFrame
        Daily bars with ``trading_day``, ``contract``, ``open``, ``high``, ``low``,
        ``close``, ``settle`` [CNY/unit], ``volume``, ``open_interest`` [lots], optionally
        ``prev_settle`` [CNY/unit] and ``turnover`` [CNY].
    strict : bool
        When True, prices off the tick grid are errors; otherwise warnings
        (:class:`DataQualityWarning`).
    product : str, optional
        Expected product; rows of other products are reported. Required when
        ``contract_column`` is None.
    contract_column : str or None
        Name of the contract column, or None for a continuous main-contract series without
        contract ids (such as Sina's ``XX0`` files; a ``date`` column is accepted as
        ``trading_day``).
    name : str
        Name used in messages (e.g. the file name).

    Returns
    -------
    polars.DataFrame
        The frame, cast losslessly (contract codes lower-cased to exchange style).

    Raises
    ------
    DataError
        Listing every problem with its 0-based row numbers (``exc.problems``; the full
        :class:`ValidationReport` is ``exc.report``).

    Examples
    --------
    >>> import datetime as dt, polars as pl
    >>> bars = pl.DataFrame({"trading_day": [dt.date(2025, 6, 27), dt.date(2025, 6, 28)],
    ...     "contract": ["sc2508", "sc2508"], "open": [497.0, 497.0], "high": [499.0, 499.0],
    ...     "low": [494.0, 494.0], "close": [495.0, 495.0], "settle": [496.1, 496.1],
    ...     "volume": [1, 1], "open_interest": [2, 2]})
    >>> try:
    ...     validate_futures(bars)
    ... except DataError as exc:
    ...     print(exc.problems[0])
    not_trading_day (error, 1) at row(s) 1: 2025-06-28 sc2508 (Sat) is not a INE trading day
    """
    rep = check_futures(df, strict=strict, product=product, contract_column=contract_column, name=name)
    return rep.raise_if_errors()


def validate_continuous(
    df: object, product: str, *, strict: bool = False, name: str = "frame"
) -> pl.DataFrame:
    """Validate a continuous main-contract series without contract ids.

    Same as ``validate_futures(df, contract_column=None, product=product)``; besides the
    row checks it warns about calendar trading days with no row (``missing_trading_day``).

    Examples
    --------
    >>> import datetime as dt, polars as pl
    >>> s = pl.DataFrame({"date": [dt.date(2025, 6, 27)], "open": [707.0], "high": [719.5],
    ...     "low": [706.0], "close": [716.5], "settle": [714.0], "volume": [1], "open_interest": [1]})
    >>> validate_continuous(s, "i").columns[0]
    'trading_day'
    """
    return validate_futures(df, strict=strict, product=product, contract_column=None, name=name)


# ---------------------------------------------------------------------------------- spot / fx
#: Largest factor between consecutive observations of a dated series before it is called a
#: decimal slip or a unit change: USD/CNY (the 1994 unification moved it by 1.5x; it now
#: trades within 2 % of a daily central parity) and a spot benchmark (Brent and WTI never
#: moved 3x between two positive prices in a day).
MAX_JUMP = {"usd_cny": 1.6, "price": 3.0}


def _check_dated(
    df: object, schema: Mapping[str, pl.DataType], value: str, *, positive: bool, name: str
) -> ValidationReport:
    col = _Collector()
    frame = _to_frame(df)
    frame, missing = _cast(frame, schema, {}, col)
    if missing or frame["date"].dtype != pl.Date:
        return ValidationReport(frame, col.frame(), name)
    w = frame.with_row_index(_ROW)
    label = pl.col("date").cast(pl.String).fill_null("null")
    checks: list[tuple[str, pl.Expr, pl.Expr]] = [
        ("null_key", pl.col("date").is_null(), label),
        ("duplicate_key", pl.col("date").is_duplicated(), label),
    ]
    sev = {"null_key": "error", "duplicate_key": "error"}
    if w[value].dtype.is_numeric():
        checks.append(
            (
                "missing_value",
                pl.col(value).is_null() | pl.col(value).is_nan(),
                pl.concat_str(label, pl.lit(f": {value} is blank")),
            )
        )
        sev["missing_value"] = "warning"
        monthly = bool((w["date"].dt.day() == 1).all()) and w.height > 1
        checks.append(
            (
                "weekend",
                (pl.col("date").dt.weekday() >= 6) & pl.lit(not monthly),
                pl.concat_str(label, pl.lit(" is a "), pl.col("date").dt.strftime("%A")),
            )
        )
        sev["weekend"] = "warning"
        checks.append(
            (
                "non_finite",
                pl.col(value).is_infinite(),
                pl.concat_str(label, pl.lit(f" {value}="), pl.col(value).cast(pl.String)),
            )
        )
        sev["non_finite"] = "error"
        if positive:
            checks.append(
                (
                    "non_positive",
                    pl.col(value) <= 0,
                    pl.concat_str(label, pl.lit(f" {value}="), pl.col(value).cast(pl.String)),
                )
            )
            sev["non_positive"] = "error"
    flags = w.select(pl.col(_ROW), *[e.alias(n) for n, e, _ in checks], "date", value)
    col.add_flags(flags, checks, sev)
    if w[value].dtype.is_numeric() and value in MAX_JUMP:
        _jumps(w, value, MAX_JUMP[value], col)
    return ValidationReport(frame, col.frame(), name)


def _jumps(w: pl.DataFrame, value: str, factor: float, col: _Collector) -> None:
    """Consecutive positive observations (in date order) more than ``factor`` apart."""
    v = pl.col(value)
    nn = (
        w.select(_ROW, "date", value)
        .filter(pl.col("date").is_not_null() & v.is_finite() & (v > 0))
        .sort("date")
        .with_columns(v.shift(1).alias("__prev"), pl.col("date").shift(1).alias("__pdate"))
    )
    hit = nn.filter((v / pl.col("__prev") > factor) | (pl.col("__prev") / v > factor))
    if hit.height:
        detail = pl.select(
            pl.concat_str(
                pl.lit(f"{value}="),
                pl.lit(hit[value]).cast(pl.String),
                pl.lit(" on "),
                pl.lit(hit["date"]).cast(pl.String),
                pl.lit(f" after {value}="),
                pl.lit(hit["__prev"]).cast(pl.String),
                pl.lit(" on "),
                pl.lit(hit["__pdate"]).cast(pl.String),
                pl.lit(f": more than a factor {factor:g} apart (a decimal slip or a unit change?)"),
            )
        ).to_series()
        col.add_rows("implausible_jump", "error", hit[_ROW], detail)


def check_spot(df: object, *, name: str = "frame") -> ValidationReport:
    """Validate a spot / benchmark series (``date``, ``price``) and return the report.

    Blank prices are ``missing_value`` warnings; negative prices are valid.

    Examples
    --------
    >>> import polars as pl
    >>> check_spot(pl.DataFrame({"date": ["2020-04-20"], "price": [-36.98]})).ok
    True
    """
    return _check_dated(df, SPOT_SCHEMA, "price", positive=False, name=name)


def validate_spot(df: object, *, name: str = "frame") -> pl.DataFrame:
    """Validate a spot / benchmark series: ``date`` (Date), ``price`` (Float64 [currency/unit]).

    Raises :class:`DataError` on errors (missing columns, lossy casts, missing or duplicate
    dates); blank prices are kept as nulls and reported as a :class:`DataQualityWarning`.

    Examples
    --------
    >>> import polars as pl
    >>> validate_spot(pl.DataFrame({"date": ["2020-04-20"], "price": [-36.98]}))["price"][0]
    -36.98
    """
    return check_spot(df, name=name).raise_if_errors()


def check_fx(df: object, *, name: str = "frame") -> ValidationReport:
    """Validate an FX series (``date``, ``usd_cny`` [CNY per USD]) and return the report.

    Examples
    --------
    >>> import polars as pl
    >>> check_fx(pl.DataFrame({"date": ["2025-01-01", "2025-01-02"], "usd_cny": [None, 7.3]})).counts()
    {'missing_value': 1}
    """
    return _check_dated(df, FX_SCHEMA, "usd_cny", positive=True, name=name)


def validate_fx(df: object, *, name: str = "frame") -> pl.DataFrame:
    """Validate an FX series: ``date`` (Date), ``usd_cny`` (Float64 [CNY per USD], > 0).

    Blank values (US holidays in FRED data) stay null and are reported as a warning.

    Examples
    --------
    >>> import polars as pl
    >>> validate_fx(pl.DataFrame({"date": ["2025-01-02"], "usd_cny": [7.3]})).height
    1
    """
    return check_fx(df, name=name).raise_if_errors()


# ---------------------------------------------------------------------------------- intraday
def check_intraday(df: object, *, strict: bool = False, name: str = "frame") -> ValidationReport:
    """Validate intraday bars and return the report; adds ``trading_day`` from the calendar.

    Examples
    --------
    >>> import datetime as dt, polars as pl
    >>> bars = pl.DataFrame({"datetime": [dt.datetime(2025, 6, 27, 21, 0)], "contract": ["sc2508"],
    ...     "open": [497.0], "high": [497.5], "low": [496.0], "close": [497.0], "volume": [10],
    ...     "turnover": [4970000.0], "open_interest": [100]})
    >>> check_intraday(bars).frame["trading_day"][0]
    datetime.date(2025, 6, 30)
    """
    col = _Collector()
    frame = _to_frame(df)
    frame, missing = _cast(frame, INTRADAY_REQUIRED, {"trading_day": pl.Date()}, col)
    if "datetime" in missing or "contract" in missing or not isinstance(frame["datetime"].dtype, pl.Datetime):
        return ValidationReport(frame, col.frame(), name)
    frame = frame.with_columns(pl.col("contract").str.strip_chars().str.to_lowercase())
    w = frame.with_row_index(_ROW)
    w = _with_contract_info(w, frame["contract"], None)
    derived = pl.Series("__td", [None] * w.height, dtype=pl.Date)
    parts = []
    for (code,), grp in w.filter(
        pl.col("__product").is_not_null() & pl.col("datetime").is_not_null()
    ).group_by("__product"):
        p = get_product(str(code))
        cal = calendar(p.exchange)
        lo, hi = cal.bounds
        inb = grp.filter((pl.col("datetime").dt.date() >= lo) & (pl.col("datetime").dt.date() <= hi))
        td = cal.trading_day_of(inb["datetime"], p.code, on_error="null")
        parts.append(pl.DataFrame({_ROW: inb[_ROW], "__td": td, "__tick": [p.tick] * inb.height}))
    if parts:
        tdf = pl.concat(parts)
        w = w.join(tdf, on=_ROW, how="left", maintain_order="left")
    else:
        w = w.with_columns(derived, pl.lit(None, pl.Float64).alias("__tick"))
    label = pl.concat_str(
        pl.col("datetime").cast(pl.String).fill_null("null"),
        pl.lit(" "),
        pl.col("contract").fill_null("null"),
    )
    checks: list[tuple[str, pl.Expr, pl.Expr]] = [
        ("null_key", pl.col("datetime").is_null() | pl.col("contract").is_null(), label),
        ("duplicate_key", pl.struct("datetime", "contract").is_duplicated(), label),
        (
            "unknown_contract",
            pl.col("__cproblem").is_not_null() & pl.col("contract").is_not_null(),
            pl.concat_str(label, pl.lit(": "), pl.col("__cproblem").fill_null("")),
        ),
        (
            "not_in_session",
            pl.col("__product").is_not_null() & pl.col("datetime").is_not_null() & pl.col("__td").is_null(),
            pl.concat_str(label, pl.lit(" is in no session (or outside the calendar coverage)")),
        ),
        (
            "contract_not_listed",
            pl.col("__td").is_not_null()
            & pl.col("__ftd").is_not_null()
            & (
                (pl.col("__td") < pl.col("__ftd"))
                | (pl.col("__ltd").is_not_null() & (pl.col("__td") > pl.col("__ltd")))
            ),
            label,
        ),
    ]
    if "trading_day" in frame.columns and frame["trading_day"].dtype == pl.Date:
        checks.append(
            (
                "trading_day_mismatch",
                pl.col("__td").is_not_null() & (pl.col("trading_day") != pl.col("__td")),
                pl.concat_str(
                    label,
                    pl.lit(" given trading_day "),
                    pl.col("trading_day").cast(pl.String),
                    pl.lit(", calendar says "),
                    pl.col("__td").cast(pl.String),
                ),
            )
        )
    num = {
        c
        for c in ("open", "high", "low", "close", "volume", "open_interest", "turnover")
        if c in w.columns and w[c].dtype.is_numeric() and c not in missing
    }
    if {"open", "high", "low", "close"} <= num:
        checks += _ohlc_checks(True)
        checks.append(("off_tick", _tick_expr(["open", "high", "low", "close"], pl.col("__tick")), label))
    qty = [c for c in ("volume", "open_interest", "turnover") if c in num]
    if qty:
        checks.append(("negative_quantity", pl.any_horizontal([pl.col(c) < 0 for c in qty]), label))
    flags = w.select(pl.col(_ROW), *[e.alias(n) for n, e, _ in checks], *[c for c in w.columns if c != _ROW])
    sev = {n: "error" for n, _, _ in checks}
    sev["off_tick"] = "error" if strict else "warning"
    col.add_flags(flags, checks, sev)
    if "trading_day" not in frame.columns:
        frame = frame.with_columns(w["__td"].alias("trading_day"))
    return ValidationReport(frame, col.frame(), name)


def validate_intraday(df: object, *, strict: bool = False, name: str = "frame") -> pl.DataFrame:
    """Validate intraday bars and derive ``trading_day`` with the exchange calendar.

    Parameters
    ----------
    df : polars.DataFrame or compatible
        ``datetime`` (bar start, Beijing time), ``contract``, ``open``, ``high``, ``low``,
        ``close`` [CNY/unit], ``volume`` [lots], ``turnover`` [CNY], ``open_interest``
        [lots]; an optional ``trading_day`` is checked against the calendar.
    strict : bool
        Off-tick prices are errors instead of warnings.

    Returns
    -------
    polars.DataFrame
        The cast frame with ``trading_day`` (Date): the night session belongs to the next
        trading day.

    Examples
    --------
    >>> import datetime as dt, polars as pl
    >>> bars = pl.DataFrame({"datetime": [dt.datetime(2025, 6, 28, 1, 0)], "contract": ["SC2508"],
    ...     "open": [497.0], "high": [497.5], "low": [496.0], "close": [497.0], "volume": [10],
    ...     "turnover": [4970000.0], "open_interest": [100]})
    >>> validate_intraday(bars).select("contract", "trading_day").row(0)
    ('sc2508', datetime.date(2025, 6, 30))
    """
    return check_intraday(df, strict=strict, name=name).raise_if_errors()
