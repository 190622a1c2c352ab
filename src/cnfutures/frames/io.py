"""Loaders: read what the user already has into the validated schemas.

Sources: a CSV file (optionally ``.gz``), a Parquet file, a polars DataFrame/LazyFrame, a
pyarrow Table or a pandas DataFrame. A ``columns`` mapping renames vendor headers to the
schema names (see :mod:`cnfutures.frames.schema`). Every loader validates by default and
raises :class:`~cnfutures.errors.DataError` listing every problem with its row numbers;
nothing is dropped, coerced or replaced without being reported.

Bad input raises :class:`~cnfutures.errors.InputError` naming the file and the fix: a file
that does not exist, an empty file, an encoding that cannot be decoded (GBK exports are
detected; or pass ``encoding=``), a header the mapping does not cover.
"""

from __future__ import annotations

import gzip
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

import polars as pl

from cnfutures.errors import DataError, InputError
from cnfutures.frames._text import _decimal_commas, _decode, _read_text_csv, _sniff
from cnfutures.frames.schema import (
    FUTURES_OPTIONAL,
    FUTURES_REQUIRED,
    FX_SCHEMA,
    INTRADAY_REQUIRED,
    SPOT_SCHEMA,
)
from cnfutures.frames.validate import (
    DataQualityWarning,
    check_futures,
    check_fx,
    check_intraday,
    check_spot,
)
from cnfutures.validation import check_declared

__all__ = [
    "EXCHANGE_HEADERS",
    "read_exchange_daily",
    "read_futures",
    "read_fx",
    "read_intraday",
    "read_settlements",
    "read_spot",
    "write_parquet",
]

Source = Any  # str | Path | pl.DataFrame | pl.LazyFrame | pyarrow.Table | pandas.DataFrame

#: Vendor headers recognised without a ``columns`` mapping (lower-cased comparison).
_FUTURES_ALIASES: dict[str, str] = {
    "date": "trading_day",
    "tradingday": "trading_day",
    "trade_date": "trading_day",
    "symbol": "contract",
    "instrument": "contract",
    "instrumentid": "contract",
    "settlement": "settle",
    "settle_price": "settle",
    "pre_settle": "prev_settle",
    "presettle": "prev_settle",
    "prev_settlement": "prev_settle",
    "vol": "volume",
    "oi": "open_interest",
    "openinterest": "open_interest",
    "hold": "open_interest",
    "amount": "turnover",
    "money": "turnover",
}
_SPOT_ALIASES = {"price_usd_per_bbl": "price", "value": "price", "close": "price", "observation_date": "date"}
_FX_ALIASES = {
    "cny_per_usd": "usd_cny",
    "dexchus": "usd_cny",
    "exchus": "usd_cny",
    "cny_per_usd_monthly_avg": "usd_cny",
    "value": "usd_cny",
    "observation_date": "date",
    "month": "date",
}
_INTRADAY_ALIASES = {
    "money": "turnover",
    "amount": "turnover",
    "symbol": "contract",
    "oi": "open_interest",
    "vol": "volume",
    "date": "datetime",
    "time": "datetime",
}

#: Chinese headers of the exchanges' daily quote exports -> schema names.
EXCHANGE_HEADERS: dict[str, str] = {
    "合约代码": "contract",
    "合约": "contract",
    "合约名称": "contract",
    "交易日期": "trading_day",
    "日期": "trading_day",
    "交易日": "trading_day",
    "前结算": "prev_settle",
    "昨结算": "prev_settle",
    "前结算价": "prev_settle",
    "今开盘": "open",
    "开盘价": "open",
    "开盘": "open",
    "最高价": "high",
    "最高": "high",
    "最低价": "low",
    "最低": "low",
    "收盘价": "close",
    "今收盘": "close",
    "收盘": "close",
    "结算价": "settle",
    "今结算": "settle",
    "结算参考价": "settle",
    "成交量": "volume",
    "持仓量": "open_interest",
    "成交额": "turnover",
}
_EXCHANGE_DERIVED = ("涨跌", "涨跌1", "涨跌2", "持仓量变化", "增减量", "持仓变化", "增减")
_SUMMARY_MARKERS = ("小计", "总计", "合计")


# ---------------------------------------------------------------------------------- reading
def _path_of(source: Source) -> Path | None:
    return Path(source) if isinstance(source, str | Path) else None


def _check_file(path: Path) -> None:
    if not path.exists():
        raise InputError(
            f"file {str(path)!r} does not exist; check the path (cwd-relative paths resolve from the cwd)"
        )
    if path.is_dir():
        raise InputError(f"{str(path)!r} is a directory; pass a CSV or Parquet file")
    if path.stat().st_size == 0:
        raise InputError(f"file {str(path)!r} is empty; expected a header line and data rows")


def _is_parquet(path: Path) -> bool:
    if path.suffix.lower() in (".parquet", ".pq"):
        return True
    with path.open("rb") as fh:
        return fh.read(4) == b"PAR1"


def _read_raw(
    source: Source,
    *,
    encoding: str | None,
    separator: str | None,
    null_values: Sequence[str] = ("",),
    lazy: bool = False,
) -> tuple[pl.DataFrame | pl.LazyFrame, str]:
    """Read a source into a frame; CSV columns are read as text (cast later, row by row)."""
    path = _path_of(source)
    if path is None:
        if isinstance(source, pl.DataFrame | pl.LazyFrame):
            return source, "frame"
        from cnfutures.frames.validate import _to_frame

        return _to_frame(source), "frame"
    _check_file(path)
    name = str(path)
    if _is_parquet(path):
        try:
            return (pl.scan_parquet(path) if lazy else pl.read_parquet(path)), name
        except pl.exceptions.PolarsError as exc:
            raise InputError(f"file {name!r} is not a readable Parquet file ({exc})") from None
    gz = path.suffix.lower() == ".gz"
    if lazy and not gz and encoding in (None, "utf-8", "utf8"):
        sep = separator
        if sep is None:
            with path.open("rb") as fh:
                sep = _sniff(fh.readline().decode("utf-8", "replace"))
        lf = pl.scan_csv(path, separator=sep, infer_schema=False, null_values=list(null_values))
        return (_decimal_commas(lf) if sep == ";" else lf), name
    if encoding in (None, "utf-8", "utf8") and not gz:
        sep = separator
        with path.open("rb") as fh:
            head = fh.readline()
        if sep is None:
            sep = _sniff(head.decode("utf-8", "replace"))
        try:
            head.decode("utf-8")
            df = pl.read_csv(path, separator=sep, infer_schema=False, null_values=list(null_values))
            if df.width and df.columns[0].startswith("\ufeff"):
                df = df.rename({df.columns[0]: df.columns[0].lstrip("\ufeff")})
            return (_decimal_commas(df) if sep == ";" else df), name
        except pl.exceptions.NoDataError:
            raise InputError(
                f"file {name!r} has no data (blank lines only); expected a header line and rows"
            ) from None
        except (UnicodeDecodeError, pl.exceptions.ComputeError):
            if encoding is not None:
                raise InputError(
                    f"file {name!r} is not valid UTF-8; try encoding='gbk' (Chinese exchange exports)"
                ) from None
    raw = gzip.decompress(path.read_bytes()) if gz else path.read_bytes()
    return _read_text_csv(_decode(raw, path, encoding), path, separator, null_values), name


def _rename(
    frame: pl.DataFrame | pl.LazyFrame,
    columns: Mapping[str, str] | None,
    aliases: Mapping[str, str],
    required: Sequence[str],
    name: str,
    kind: str,
) -> pl.DataFrame | pl.LazyFrame:
    have = list(frame.collect_schema().names()) if isinstance(frame, pl.LazyFrame) else frame.columns
    mapping: dict[str, str] = {}
    if columns is not None:
        unknown = [k for k in columns if k not in have]
        if unknown:
            raise InputError(
                f"{name}: columns mapping names header(s) {unknown} that are not in the data; "
                f"headers are {have}"
            )
        mapping.update(columns)
    targets = set(mapping.values())
    schema_names = {*required, *FUTURES_OPTIONAL}
    for h in have:
        if h in mapping or h in schema_names:
            continue
        key = h.strip().lower()
        target = key if key in schema_names else aliases.get(key)
        if target is not None and target not in targets and target not in have:
            mapping[h] = target
            targets.add(target)
    out = frame.rename(mapping) if mapping else frame
    names = list(out.collect_schema().names()) if isinstance(out, pl.LazyFrame) else out.columns
    missing = [c for c in required if c not in names]
    if missing:
        unmapped = [h for h in have if h not in mapping and h not in required]
        raise InputError(
            f"{name}: no column for {missing} ({kind}); the headers {unmapped} are not covered by the "
            f"mapping; pass columns={{'<your header>': '{missing[0]}', ...}}"
        )
    return out


def _cast_lazy(lf: pl.LazyFrame, schema: Mapping[str, pl.DataType]) -> pl.LazyFrame:
    have = lf.collect_schema()
    exprs = []
    for c, t in schema.items():
        if c not in have:
            continue
        if have[c] != pl.String:
            exprs.append(pl.col(c).cast(t, strict=False).alias(c))
        elif t == pl.Date():
            exprs.append(pl.col(c).str.strip_chars().str.to_date(strict=False).alias(c))
        elif isinstance(t, pl.Datetime):
            exprs.append(pl.col(c).str.strip_chars().str.to_datetime(time_unit="us", strict=False).alias(c))
        elif t == pl.Int64():
            exprs.append(
                pl.col(c)
                .str.strip_chars()
                .cast(pl.Float64, strict=False)
                .cast(pl.Int64, strict=False)
                .alias(c)
            )
        elif t != pl.String():
            exprs.append(pl.col(c).str.strip_chars().cast(t, strict=False).alias(c))
    return lf.with_columns(exprs)


def read_futures(
    source: Source,
    *,
    columns: Mapping[str, str] | None = None,
    encoding: str | None = None,
    lazy: bool = False,
    product: str | None = None,
    contract_column: str | None = "contract",
    strict: bool = False,
    separator: str | None = None,
    validate: bool = True,
) -> pl.DataFrame | pl.LazyFrame:
    """Read futures daily bars from a file or frame into the validated schema.

    Parameters
    ----------
    source : str, Path, polars.DataFrame, polars.LazyFrame, pyarrow.Table or pandas.DataFrame
        CSV (``.csv``, ``.csv.gz``, any separator), Parquet, or an in-memory frame.
    columns : mapping, optional
        Vendor header -> schema name, e.g. ``{"TradingDay": "trading_day", "OI":
        "open_interest"}``. Common aliases (``date``, ``oi``, ``settlement``, ...) are
        recognised without a mapping.
    encoding : str, optional
        Text encoding of a CSV; default UTF-8 with GBK/GB18030 detected automatically.
    lazy : bool
        Return a :class:`polars.LazyFrame` (``scan_csv``/``scan_parquet``) with renamed,
        cast columns and no validation; call :func:`validate_futures` on the collected frame.
    product : str, optional
        Expected product (required for a continuous series, ``contract_column=None``).
    contract_column : str or None
        Contract column name, or None for a continuous main-contract series.
    strict : bool
        Off-tick prices are errors instead of warnings.
    separator : str, optional
        CSV separator (default: sniffed from the header line).
    validate : bool
        Validate (default). With False, the frame is cast but not checked.

    Returns
    -------
    polars.DataFrame or polars.LazyFrame
        Columns ``trading_day``, ``contract``, ``open``, ``high``, ``low``, ``close``,
        ``settle`` [CNY/unit], ``volume``, ``open_interest`` [lots], and ``prev_settle``,
        ``turnover`` [CNY] when present; other columns are kept as given.

    Raises
    ------
    InputError
        Missing or empty file, undecodable encoding, a header the mapping does not cover.
    DataError
        Validation failed (every problem with its 0-based row numbers).

    Examples
    --------
    >>> import polars as pl
    >>> raw = pl.DataFrame({"Date": ["2025-06-27"], "Symbol": ["SC2508"], "Open": ["497.0"],
    ...     "High": ["499.0"], "Low": ["494.0"], "Close": ["495.0"], "Settle": ["496.1"],
    ...     "Vol": ["100"], "OI": ["200"]})
    >>> read_futures(raw).row(0)
    (datetime.date(2025, 6, 27), 'sc2508', 497.0, 499.0, 494.0, 495.0, 496.1, 100, 200)
    """
    frame, name = _read_raw(source, encoding=encoding, separator=separator, lazy=lazy)
    required = [c for c in FUTURES_REQUIRED if not (contract_column is None and c == "contract")]
    aliases = dict(_FUTURES_ALIASES)
    if contract_column not in (None, "contract"):
        aliases.pop("symbol", None)
        columns = {**(columns or {}), contract_column: "contract"}
    frame = _rename(frame, columns, aliases, required, name, "futures daily bars")
    if isinstance(frame, pl.LazyFrame):
        return _cast_lazy(frame, {**FUTURES_REQUIRED, **FUTURES_OPTIONAL})
    if not validate:
        from cnfutures.frames.validate import _cast, _Collector

        schema = {
            k: v for k, v in FUTURES_REQUIRED.items() if not (contract_column is None and k == "contract")
        }
        cast, _ = _cast(frame, schema, FUTURES_OPTIONAL, _Collector())
        if "contract" in cast.columns and cast["contract"].dtype == pl.String:
            cast = cast.with_columns(pl.col("contract").str.strip_chars().str.to_lowercase())
        return cast
    rep = check_futures(
        frame,
        strict=strict,
        product=product,
        contract_column=None if contract_column is None else "contract",
        name=name,
    )
    return rep.raise_if_errors(
        fix="fix or remove the rows listed, or call check_futures() to inspect the report"
    )


def read_exchange_daily(
    path: str | Path,
    exchange: Literal["INE", "SHFE", "DCE"] | str | None,
    *,
    encoding: str | None = None,
    trading_day: str | None = None,
    products: Sequence[str] | None = None,
    turnover_unit: float = 10_000.0,
    strict: bool = False,
    validate: bool = True,
) -> pl.DataFrame:
    """Read an exchange's own daily quotes export (Chinese headers).

    Recognised headers (:data:`EXCHANGE_HEADERS`): 合约代码/合约 (contract), 交易日期/日期
    (trading_day), 前结算/昨结算 (prev_settle), 今开盘/开盘价 (open), 最高价 (high),
    最低价 (low), 收盘价/今收盘 (close), 结算价/今结算 (settle), 成交量 (volume), 持仓量
    (open_interest), 成交额 (turnover). Change columns (涨跌, 涨跌1, 涨跌2, 持仓量变化,
    增减量) are dropped (derived values); subtotal rows (小计/总计/合计) are dropped with a
    :class:`DataQualityWarning` naming their row numbers. ``-`` and ``--`` are blanks.

    Parameters
    ----------
    path : str or Path
        CSV or tab-separated text export, UTF-8 or GBK (detected; or pass ``encoding``).
    exchange : {"INE", "SHFE", "DCE"}
        The exchange; contracts of other exchanges are reported as errors.
    encoding : str, optional
        Text encoding, e.g. ``"gbk"``.
    trading_day : str, optional
        ISO date of the file when it has no date column (exchange files often do not).
    products : sequence of str, optional
        Keep only these products (an exchange file lists all of them); the other rows are
        dropped and their count reported in a :class:`DataQualityWarning`.
    turnover_unit : float
        CNY per unit of the 成交额 column; the exchanges publish it in 万元 (10,000 CNY).
    strict, validate : bool
        As in :func:`read_futures`.

    Returns
    -------
    polars.DataFrame
        The futures daily schema with ``turnover`` in CNY.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "ine.csv"
    >>> _ = p.write_text("合约代码,前结算,今开盘,最高价,最低价,收盘价,结算价,成交量,持仓量,成交额\\n"
    ...                  "sc2508,497.0,497.0,499.0,494.0,495.0,496.1,10,20,496.1\\n", encoding="gbk")
    >>> read_exchange_daily(p, "INE", trading_day="2025-06-27")["turnover"][0]
    4961000.0
    """
    from cnfutures.frames.exchange_files import date_in, infer_exchange, read_exchange_text
    from cnfutures.market.calendar import calendar
    from cnfutures.market.contracts import contract as parse_contract

    p = _path_of(path)
    layout = "table"
    if p is not None and p.is_file() and not _is_parquet(p):
        frame, layout, skipped, title_day = read_exchange_text(p, encoding)
        name = str(p)
        if trading_day is None and "trading_day" not in frame.columns and not (
            set(frame.columns) & {k for k, v in EXCHANGE_HEADERS.items() if v == "trading_day"}
        ):
            # the exchanges' daily files carry their date in the title line (DCE) or in the
            # file name kx<YYYYMMDD>.dat (SHFE/INE); other names are not read for a date
            trading_day = title_day or (date_in(p.name) if layout == "kx" else None)
        if skipped:
            warnings.warn(
                f"{name}: left out {skipped} subtotal/total/EFP record(s) of o_curinstrument",
                DataQualityWarning,
                stacklevel=2,
            )
    else:
        raw_frame, name = _read_raw(path, encoding=encoding, separator=None, null_values=("", "-", "--"))
        assert isinstance(raw_frame, pl.DataFrame)
        frame = raw_frame
    frame = frame.rename({c: c.strip() for c in frame.columns})
    if exchange is None:
        exchange = infer_exchange(frame, layout, name)
    ex = calendar(exchange).exchange
    if layout == "kx" and ex == "DCE":
        raise InputError(
            f"{name} is an SHFE/INE daily file (kx JSON, o_curinstrument), not a DCE export; "
            "pass exchange='INE' or 'SHFE'"
        )
    if layout == "dce" and ex != "DCE":
        raise InputError(
            f"{name} is a DCE 日行情 export (column 商品名称), not an {ex} file; pass exchange='DCE'"
        )
    if layout == "dce":
        frame = frame.drop("商品名称")
    drop = [c for c in frame.columns if c in _EXCHANGE_DERIVED]
    frame = frame.drop(drop)
    mapping = {c: EXCHANGE_HEADERS[c] for c in frame.columns if c in EXCHANGE_HEADERS}
    seen: dict[str, str] = {}
    for c, t in list(mapping.items()):
        if t in seen:
            raise InputError(f"{name}: headers {seen[t]!r} and {c!r} both map to {t!r}; remove one")
        seen[t] = c
    frame = frame.rename(mapping)
    if "contract" not in frame.columns:
        month_col = next((c for c in frame.columns if c in ("交割月份", "月份")), None)
        prod_col = next((c for c in frame.columns if c in ("品种代码", "品种")), None)
        if month_col is None or prod_col is None:
            raise InputError(
                f"{name}: no contract column; expected 合约代码 (or 合约), or 品种代码 + 交割月份; "
                f"headers are {frame.columns}"
            )
        frame = frame.with_columns(
            pl.concat_str(pl.col(prod_col).str.strip_chars(), pl.col(month_col).str.strip_chars()).alias(
                "contract"
            )
        )
    frame = frame.with_row_index("__file_row")
    summary = frame.filter(
        pl.any_horizontal(
            [
                pl.col(c).cast(pl.String).str.contains("|".join(_SUMMARY_MARKERS)).fill_null(False)
                for c in frame.columns
                if frame[c].dtype == pl.String
            ]
        )
        | pl.col("contract").is_null()
    )
    if summary.height:
        warnings.warn(
            f"{name}: dropped {summary.height} subtotal/blank-contract row(s) at row(s) "
            + ", ".join(map(str, summary["__file_row"].to_list())),
            DataQualityWarning,
            stacklevel=2,
        )
        frame = frame.filter(~pl.col("__file_row").is_in(summary["__file_row"].implode()))
    frame = frame.with_columns(pl.col("contract").str.strip_chars().str.to_lowercase())
    if products is not None:
        keep = {p.lower() for p in products}
        pcode = pl.col("contract").str.extract(r"^([a-z]+)", 1)
        other = frame.filter(~pcode.is_in(list(keep)))
        if other.height:
            warnings.warn(
                f"{name}: kept products {sorted(keep)}; left out {other.height} row(s) of other products",
                DataQualityWarning,
                stacklevel=2,
            )
        frame = frame.filter(pcode.is_in(list(keep)))
    if "trading_day" not in frame.columns:
        if trading_day is None:
            raise InputError(f"{name}: the file has no date column (交易日期); pass trading_day='YYYY-MM-DD'")
        frame = frame.with_columns(pl.lit(trading_day).alias("trading_day"))
    if "turnover" in frame.columns:
        tv = frame["turnover"].str.replace_all(",", "").str.strip_chars().cast(pl.Float64, strict=False)
        bad = frame["turnover"].is_not_null() & tv.is_null()
        if bad.any():
            bad_rows = frame.filter(bad)["__file_row"].to_list()
            raise DataError(
                f"{name}: 成交额 (turnover) is not a number at row(s) {bad_rows}",
                [f"lossy_cast rows {bad_rows}"],
            )
        frame = frame.with_columns((tv * turnover_unit).alias("turnover"))
    file_rows = frame["__file_row"].cast(pl.Int64)
    frame = frame.drop("__file_row")
    order = [c for c in (*FUTURES_REQUIRED, *FUTURES_OPTIONAL) if c in frame.columns]
    frame = frame.select(order + [c for c in frame.columns if c not in order])
    foreign = []
    for code in frame["contract"].unique().drop_nulls().to_list():
        try:
            if parse_contract(code).product.exchange != ex:
                foreign.append(code)
        except Exception:  # unknown codes are reported by validation
            continue
    rep = check_futures(frame, strict=strict, name=name)
    if foreign:
        hit = frame.with_row_index("__r").filter(pl.col("contract").is_in(foreign))
        extra = pl.DataFrame(
            {
                "check": "wrong_exchange",
                "severity": "error",
                "row": hit["__r"].cast(pl.Int64),
                "detail": hit["contract"] + f" is not an {ex} contract",
            }
        )
        from cnfutures.frames.validate import ValidationReport

        rep = ValidationReport(rep.frame, pl.concat([rep.problems, extra]), name)
    if not validate:
        return rep.frame
    # report file rows, not filtered-frame rows
    if not rep.problems.is_empty():
        lookup = pl.DataFrame(
            {"row": pl.int_range(0, file_rows.len(), eager=True).cast(pl.Int64), "__f": file_rows}
        )
        mapped = (
            rep.problems.join(lookup, on="row", how="left", maintain_order="left")
            .with_columns(pl.col("__f").alias("row"))
            .drop("__f")
        )
        from cnfutures.frames.validate import ValidationReport

        rep = ValidationReport(rep.frame, mapped, name + " (rows are data rows of the file, 0-based)")
    return rep.raise_if_errors()


def read_spot(
    source: Source,
    *,
    columns: Mapping[str, str] | None = None,
    currency: str = "USD",
    unit: str = "bbl",
    encoding: str | None = None,
    validate: bool = True,
) -> pl.DataFrame:
    """Read a spot / benchmark price series (``date``, ``price``), in ascending date order.

    Blank prices stay null and are reported (:class:`DataQualityWarning`); negative prices
    are valid; infinite prices, duplicate dates and decimal commas outside a ``;``-separated
    file are errors.

    Parameters
    ----------
    source : str, Path or frame
        CSV/Parquet file or frame with a date and a price column.
    columns : mapping, optional
        Header -> ``date`` / ``price``.
    currency, unit : str
        The series' currency (``USD`` or ``CNY``) and unit (``bbl`` or ``t``), stored as
        constant columns ``currency`` and ``unit`` (the price is in ``currency/unit``, e.g.
        USD/bbl); anything else is an :class:`~cnfutures.errors.InputError`.
    encoding : str, optional
        Text encoding.
    validate : bool
        Raise on errors (default).

    Returns
    -------
    polars.DataFrame
        ``date`` (Date), ``price`` (Float64 [currency/unit]), ``currency``, ``unit`` (str).

    Examples
    --------
    >>> import polars as pl
    >>> s = read_spot(pl.DataFrame({"date": ["2020-04-20"], "price_usd_per_bbl": ["-36.98"]}))
    >>> s.row(0)
    (datetime.date(2020, 4, 20), -36.98, 'USD', 'bbl')
    """
    currency, unit = check_declared(currency, unit, name="read_spot")
    frame, name = _read_raw(source, encoding=encoding, separator=None)
    assert isinstance(frame, pl.DataFrame)
    frame = _rename(frame, columns, _SPOT_ALIASES, list(SPOT_SCHEMA), name, "spot series")
    rep = check_spot(frame.select(list(SPOT_SCHEMA)), name=name)
    out = _by_date(rep.raise_if_errors()) if validate else rep.frame
    return out.with_columns(currency=pl.lit(currency), unit=pl.lit(unit))


def read_fx(
    source: Source,
    *,
    columns: Mapping[str, str] | None = None,
    encoding: str | None = None,
    validate: bool = True,
) -> pl.DataFrame:
    """Read a USD/CNY series (``date``, ``usd_cny`` [CNY per USD]), in ascending date order.

    FRED headers (``DATE``, ``DEXCHUS``) are recognised. Blank values (US holidays) stay
    null and are reported as a :class:`DataQualityWarning`; they are never dropped.

    Examples
    --------
    >>> import polars as pl, warnings
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore")
    ...     fx = read_fx(pl.DataFrame({"DATE": ["2025-01-01", "2025-01-02"], "DEXCHUS": ["", "7.2993"]}))
    >>> fx["usd_cny"].to_list()
    [None, 7.2993]
    """
    frame, name = _read_raw(source, encoding=encoding, separator=None)
    assert isinstance(frame, pl.DataFrame)
    frame = _rename(frame, columns, _FX_ALIASES, list(FX_SCHEMA), name, "FX series")
    rep = check_fx(frame.select(list(FX_SCHEMA)), name=name)
    return _by_date(rep.raise_if_errors()) if validate else rep.frame


def _by_date(frame: pl.DataFrame) -> pl.DataFrame:
    """A validated dated series (unique dates) in ascending date order."""
    return frame if frame["date"].is_sorted() else frame.sort("date")


def read_intraday(
    source: Source,
    *,
    columns: Mapping[str, str] | None = None,
    encoding: str | None = None,
    strict: bool = False,
    validate: bool = True,
) -> pl.DataFrame:
    """Read intraday bars and derive ``trading_day`` with the exchange calendar.

    Parameters
    ----------
    source : str, Path or frame
        ``datetime`` (bar start, Beijing time), ``contract``, ``open``, ``high``, ``low``,
        ``close`` [CNY/unit], ``volume`` [lots], ``turnover`` [CNY] (``money`` accepted),
        ``open_interest`` [lots]. A ``trading_day`` column, when present, is checked.

    Returns
    -------
    polars.DataFrame

    Examples
    --------
    >>> import polars as pl
    >>> bars = pl.DataFrame({"datetime": ["2025-06-27 21:00:00"], "contract": ["sc2508"],
    ...     "open": ["497.0"], "high": ["497.5"], "low": ["496.0"], "close": ["497.0"],
    ...     "volume": ["287.0"], "money": ["142600000.0"], "open_interest": ["100"]})
    >>> read_intraday(bars).select("volume", "trading_day").row(0)
    (287, datetime.date(2025, 6, 30))
    """
    frame, name = _read_raw(source, encoding=encoding, separator=None)
    assert isinstance(frame, pl.DataFrame)
    frame = _rename(frame, columns, _INTRADAY_ALIASES, list(INTRADAY_REQUIRED), name, "intraday bars")
    rep = check_intraday(frame, strict=strict, name=name)
    return rep.raise_if_errors() if validate else rep.frame


def read_settlements(source: Source, *, encoding: str | None = None) -> pl.DataFrame:
    """Read a per-contract settlement file: ``trading_day``, ``contract``, ``settle`` [CNY/unit].

    The minimal futures input of a backtest (optional ``open``, ``close``, ``prev_settle``
    [CNY/unit], ``volume``, ``open_interest`` [lots] are cast when present). The file is
    read like every other loader's (missing file, encoding, separator and decimal commas
    handled, each a typed error) and validated by
    :func:`~cnfutures.frames.validate.check_settlements`.

    Raises
    ------
    InputError
        Missing or unreadable file, missing columns.
    DataError
        Every problem with its row: a value that is not a number or a date, a day off the
        calendar, a contract not listed that day, a missing or impossible settle.

    Examples
    --------
    >>> import polars as pl
    >>> read_settlements(pl.DataFrame({"trading_day": ["2025-06-27"], "contract": ["SC2508"],
    ...                                "settle": ["496.1"]})).row(0)
    (datetime.date(2025, 6, 27), 'sc2508', 496.1)
    """
    from cnfutures.frames.validate import check_settlements

    path = _path_of(source)
    if path is not None and path.is_dir():
        return _read_settlement_dir(path, encoding)
    frame, name = _read_raw(source, encoding=encoding, separator=None)
    assert isinstance(frame, pl.DataFrame)
    frame = _rename(frame, None, _FUTURES_ALIASES, ["trading_day", "contract", "settle"], name, "settlements")
    assert isinstance(frame, pl.DataFrame)
    out = check_settlements(frame, name=name).raise_if_errors(
        fix="fix or remove the rows listed (numbers with '.' as the decimal mark, ISO dates)"
    )
    return out.with_columns(pl.col("contract").str.strip_chars().str.to_lowercase())


_SETTLEMENT_COLUMNS = ("trading_day", "contract", "settle", "prev_settle", "open", "high", "low", "close",
                       "volume", "open_interest")


def _read_settlement_dir(path: Path, encoding: str | None) -> pl.DataFrame:
    """Every file of a directory: exchange daily files (SHFE/INE ``kx*.dat``, DCE 日行情
    exports, Chinese-header tables) through :func:`read_exchange_daily`, other CSV/Parquet
    files through :func:`read_settlements`; concatenated and validated together."""
    from cnfutures.frames.exchange_files import read_exchange_text
    from cnfutures.frames.validate import check_settlements

    files = sorted(p for p in path.iterdir() if p.is_file() and not p.name.startswith("."))
    if not files:
        raise InputError(f"directory {str(path)!r} holds no files; put the daily files in it")
    frames: list[pl.DataFrame] = []
    for f in files:
        exchange_file = False
        if not _is_parquet(f):
            head, layout, _n, _d = read_exchange_text(f, encoding)
            cols = {c.strip().lower() for c in head.columns}
            exchange_file = layout in ("kx", "dce") or bool(cols & set(EXCHANGE_HEADERS))
        if exchange_file:
            out = read_exchange_daily(f, None, encoding=encoding)
            frames.append(out.select(c for c in _SETTLEMENT_COLUMNS if c in out.columns))
        else:
            frames.append(read_settlements(f, encoding=encoding))
    common = [c for c in _SETTLEMENT_COLUMNS if all(c in fr.columns for fr in frames)]
    both = pl.concat([fr.select(common) for fr in frames], how="vertical_relaxed")
    both = both.sort("contract", "trading_day")
    return check_settlements(both, name=str(path)).raise_if_errors(
        fix="each (trading_day, contract) once across the directory's files"
    )


def write_parquet(df: pl.DataFrame, path: str | Path) -> Path:
    """Write a frame to Parquet so that :func:`pl.read_parquet` gives it back exactly.

    Dtypes (Date, Datetime[us], Int64, Float64, String) and values, nulls and NaNs included,
    round-trip bit for bit.

    Examples
    --------
    >>> import datetime as dt, pathlib, tempfile, polars as pl
    >>> f = pl.DataFrame({"trading_day": [dt.date(2025, 6, 27)], "settle": [496.1]})
    >>> p = write_parquet(f, pathlib.Path(tempfile.mkdtemp()) / "x.parquet")
    >>> pl.read_parquet(p).equals(f)
    True
    """
    if not isinstance(df, pl.DataFrame):
        raise InputError(f"write_parquet needs a polars DataFrame; got {type(df).__name__}")
    p = Path(path)
    if not p.parent.exists():
        raise InputError(f"directory {str(p.parent)!r} does not exist; create it first")
    df.write_parquet(p, compression="zstd", statistics=True)
    return p
