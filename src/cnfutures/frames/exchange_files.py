"""Layouts of the daily files the exchanges publish, read into the export's Chinese headers.

* SHFE and INE publish each trading day's quotes as ``kx<YYYYMMDD>.dat``, a JSON document
  whose ``o_curinstrument`` list holds one record per contract: ``PRODUCTID`` (``"sc_f"``,
  space-padded), ``PRODUCTNAME``, ``DELIVERYMONTH`` (``"2508"``; ``"小计"`` on a product's
  subtotal record), ``PRESETTLEMENTPRICE``, ``OPENPRICE``, ``HIGHESTPRICE``,
  ``LOWESTPRICE``, ``CLOSEPRICE``, ``SETTLEMENTPRICE``, ``VOLUME``, ``OPENINTEREST`` (and
  change and turnover fields); the last record is the 总计 total; empty strings stand for
  no value. Layout facts from the public parsers akshare ``futures/futures_daily_bar.py``
  (``get_shfe_daily``, ``get_ine_daily``) and ParadoxTrading ``ReceiveSHFE``; the code here
  is our own.
* DCE's 日行情 export (``exportDayQuotesChData``) is a table under a title line with the
  columns 商品名称, 合约名称, 开盘价, 最高价, 最低价, 收盘价, 前结算价, 结算价, 涨跌, 涨跌1,
  成交量, 持仓量, 持仓量变化, 成交额, subtotal rows (商品名称 ``…小计``, ``总计``) and
  thousands separators (``485,658``). Layout facts from akshare ``get_dce_daily``.

Option daily files (:func:`read_option_daily`) have the same two layouts:

* SHFE and INE publish their options' day as another ``kx<YYYYMMDD>.dat``
  (``https://www.shfe.com.cn/data/tradedata/option/dailydata/kx<YYYYMMDD>.dat``; INE the
  same under ``www.ine.cn``): ``o_curinstrument`` holds one record per option with
  ``INSTRUMENTID`` (``"ru2509C15000"``; ``"小计"``/``"合计"``/``""`` on subtotal records),
  ``PRODUCTNAME``, ``PRESETTLEMENTPRICE``, ``OPENPRICE``, ``HIGHESTPRICE``, ``LOWESTPRICE``,
  ``CLOSEPRICE``, ``SETTLEMENTPRICE``, ``ZD1_CHG``, ``ZD2_CHG``, ``VOLUME``, ``OPENINTEREST``,
  ``OPENINTERESTCHG``, ``EXECVOLUME``, ``TURNOVER``, ``DELTA``; ``o_cursigma`` holds each
  series' implied volatility (``SIGMA``). Field names from the public parsers akshare
  ``option/option_commodity.py`` (``get_shfe_option_daily`` / ``option_hist_shfe``, which
  renames these fields to 合约代码, 前结算价, 结算价, ..., 德尔塔, 行权量).
* DCE's option 日行情 export (the futures export with ``trade_type=1``): 商品名称, 合约名称
  (``i2509-C-700``), 开盘价, 最高价, 最低价, 收盘价, 前结算价, 结算价, 涨跌, 涨跌1, Delta,
  成交量, 持仓量, 持仓量变化, 成交额, 行权量; subtotal rows; below the table a second one,
  合约系列 / 隐含波动率(%), one row per series. Layout from akshare ``get_dce_option_daily``
  (its docstring prints the columns and the series table).

Turnover (``TURNOVER`` / 成交额) is read only from a table export, where
:func:`cnfutures.frames.io.read_exchange_daily` converts 万元 to CNY; the kx files' turnover
is not read (its unit is not documented in the sources above).
"""

from __future__ import annotations

import gzip
import json
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import polars as pl

from cnfutures.errors import InputError

__all__ = ["KX_FIELDS", "KX_OPTION_FIELDS", "OPTION_COLUMNS", "read_exchange_text", "read_option_daily"]

#: ``o_curinstrument`` fields -> the export header they carry.
KX_FIELDS: dict[str, str] = {
    "PRESETTLEMENTPRICE": "前结算",
    "OPENPRICE": "今开盘",
    "HIGHESTPRICE": "最高价",
    "LOWESTPRICE": "最低价",
    "CLOSEPRICE": "收盘价",
    "SETTLEMENTPRICE": "结算价",
    "VOLUME": "成交量",
    "OPENINTEREST": "持仓量",
}
_SUMMARY = ("小计", "总计", "合计")
_THOUSANDS = r"^\s*[+-]?\d{1,3}(,\d{3})+(\.\d+)?\s*$"
_KNOWN_HEADERS = {"合约代码", "合约", "合约名称", "商品名称", "品种代码", "品种", "结算价", "今结算"}


_DATE = r"(?<!\d)(20\d{2})-?(\d{2})-?(\d{2})(?!\d)"


def date_in(text: str) -> str | None:
    """The ISO date written in a file name or title line (``kx20250627.dat``,
    ``日行情 2025-06-30``), or None."""
    m = re.search(_DATE, text)
    return f"{m.group(1)}-{m.group(2)}-{m.group(3)}" if m else None


def _kx_records(name: str, text: str, kind: str, hint: str = "") -> list[Any]:
    """The ``o_curinstrument`` list of an SHFE / INE ``kx*.dat`` file (futures or options).

    Raises
    ------
    InputError
        Not valid JSON, or JSON without an ``o_curinstrument`` list (``kind`` and ``hint`` name
        the file expected).
    """
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(f"file {name!r} starts like JSON but is not valid JSON ({exc})") from None
    if not isinstance(data, dict) or not isinstance(data.get("o_curinstrument"), list):
        keys = sorted(data) if isinstance(data, dict) else type(data).__name__
        raise InputError(
            f"file {name!r} is JSON but not an SHFE/INE {kind}: no 'o_curinstrument' list "
            f"(found {keys}){hint}"
        )
    records: list[Any] = data["o_curinstrument"]
    return records


def read_kx(path: Path, text: str) -> tuple[pl.DataFrame, int]:
    """An SHFE / INE ``kx*.dat`` file as a frame with the export headers (text values).

    Returns the frame and the number of subtotal / total / EFP records left out.
    """
    name = str(path)
    records = _kx_records(name, text, "daily file", "; the exchanges publish it as kx<YYYYMMDD>.dat")
    need = ("PRODUCTID", "DELIVERYMONTH", *KX_FIELDS)
    rows: list[dict[str, str | None]] = []
    skipped = 0
    for i, rec in enumerate(records):
        if not isinstance(rec, dict):
            raise InputError(f"file {name!r}: o_curinstrument[{i}] is not a record")
        missing = [k for k in need if k not in rec]
        if missing and "INSTRUMENTID" in rec and "DELIVERYMONTH" not in rec:
            raise InputError(
                f"file {name!r} is an SHFE/INE option daily file (o_curinstrument records with "
                "INSTRUMENTID, no DELIVERYMONTH); read it with cnfutures.frames.read_option_daily"
            )
        if missing:
            raise InputError(
                f"file {name!r}: o_curinstrument[{i}] has no field(s) {missing}; an SHFE/INE "
                f"kx record has {list(need)}"
            )
        pid = str(rec["PRODUCTID"]).strip().lower()
        month = str(rec["DELIVERYMONTH"]).strip()
        label = str(rec.get("PRODUCTNAME", ""))
        if not month.isdigit() or "efp" in pid or any(m in label for m in _SUMMARY):
            skipped += 1
            continue
        row: dict[str, str | None] = {"合约代码": pid.split("_")[0] + month}
        for k, col in KX_FIELDS.items():
            v = rec[k]
            row[col] = None if v is None or str(v).strip() == "" else str(v).strip()
        rows.append(row)
    schema = {"合约代码": pl.String, **dict.fromkeys(KX_FIELDS.values(), pl.String)}
    return pl.DataFrame(rows, schema=schema, orient="row"), skipped


def read_exchange_text(path: Path, encoding: str | None) -> tuple[pl.DataFrame, str, int, str | None]:
    """Read an exchange daily file: ``(frame with export headers, layout, records left out,
    the date of a title line or None)``.

    ``layout`` is ``"kx"`` (SHFE/INE JSON), ``"dce"`` (a table with 商品名称) or ``"table"``.
    The header of a table is the first of its first 10 lines naming a known column (a title
    line above it is skipped); thousands separators are removed unless ``,`` separates
    the columns.
    """
    from cnfutures.frames._text import _decode, _read_text_csv, _sniff

    raw = gzip.decompress(path.read_bytes()) if path.suffix.lower() == ".gz" else path.read_bytes()
    text = _decode(raw, path, encoding)
    if text.lstrip().startswith("{"):
        frame, skipped = read_kx(path, text.lstrip())
        return frame, "kx", skipped, None
    lines = text.splitlines()
    start = 0
    for i, line in enumerate(lines[:10]):
        cells = {c.strip().strip('"') for c in re.split(r"[,\t;|]", line)}
        if cells & _KNOWN_HEADERS:
            start = i
            break
    head = lines[start] if lines else ""
    sep = _sniff(head)
    frame = _read_text_csv("\n".join(lines[start:]), path, sep, ("", "-", "--"))
    if sep != ",":
        frame = frame.with_columns(
            pl.when(pl.col(c).str.contains(_THOUSANDS))
            .then(pl.col(c).str.replace_all(",", "", literal=True))
            .otherwise(pl.col(c))
            .alias(c)
            for c, t in frame.schema.items()
            if t == pl.String
        )
    layout = "dce" if "商品名称" in {c.strip() for c in frame.columns} else "table"
    title = next((d for d in (date_in(x) for x in lines[:start]) if d), None)
    return frame, layout, 0, title


def infer_exchange(frame: pl.DataFrame, layout: str, name: str) -> str:
    """The exchange of a daily file whose caller did not say: DCE for its 日行情 layout, else
    the one exchange that all of its (known) products belong to."""
    from cnfutures.market.products import product

    if layout == "dce":
        return "DCE"
    col = next((c for c in ("合约代码", "合约", "合约名称", "contract") if c in frame.columns), None)
    found: set[str] = set()
    if col is not None:
        codes = frame[col].drop_nulls().str.strip_chars().str.to_lowercase().str.extract(r"^([a-z]+)\d", 1)
        for code in codes.drop_nulls().unique().to_list():
            try:
                found.add(product(code).exchange)
            except Exception:  # a product cnfutures does not cover is no evidence either way
                continue
    if len(found) != 1:
        raise InputError(
            f"{name}: cannot tell the exchange from the file (its products belong to "
            f"{sorted(found) or 'no known exchange'}); pass exchange='INE', 'SHFE' or 'DCE'"
        )
    return found.pop()


# ----------------------------------------------------------------------------- option daily files

#: ``o_curinstrument`` fields of an SHFE/INE option kx file -> the column they are read into.
KX_OPTION_FIELDS: dict[str, str] = {
    "PRESETTLEMENTPRICE": "prev_settle",
    "OPENPRICE": "open",
    "HIGHESTPRICE": "high",
    "LOWESTPRICE": "low",
    "CLOSEPRICE": "close",
    "SETTLEMENTPRICE": "settle",
    "VOLUME": "volume",
    "OPENINTEREST": "open_interest",
    "EXECVOLUME": "exercised",
    "DELTA": "delta",
}
# DCE option export headers -> column
_DCE_OPTION_HEADERS: dict[str, str] = {
    "合约名称": "option", "合约代码": "option", "开盘价": "open", "最高价": "high", "最低价": "low",
    "收盘价": "close", "前结算价": "prev_settle", "结算价": "settle", "Delta": "delta", "DELTA": "delta",
    "成交量": "volume", "持仓量": "open_interest", "行权量": "exercised",
}  # fmt: skip
_PRICES = ("prev_settle", "open", "high", "low", "close", "settle")
_COUNTS = ("volume", "open_interest", "exercised")

#: Columns of :func:`read_option_daily`, with units.
OPTION_COLUMNS: tuple[tuple[str, str], ...] = (
    ("trading_day", "date"),
    ("option", "code in the exchange's form (cnfutures.market.options.option)"),
    ("underlying", "futures contract"),
    ("kind", "call or put"),
    ("strike", "CNY/unit"),
    ("settle", "CNY/unit, the option settlement"),
    ("prev_settle", "CNY/unit"),
    ("open", "CNY/unit"),
    ("high", "CNY/unit"),
    ("low", "CNY/unit"),
    ("close", "CNY/unit"),
    ("volume", "lots"),
    ("open_interest", "lots"),
    ("exercised", "lots exercised that day"),
    ("delta", "-, the exchange's"),
)


def _kx_option_rows(name: str, text: str) -> tuple[list[dict[str, object]], list[str], int]:
    records = _kx_records(name, text, "option daily file")
    rows: list[dict[str, object]] = []
    labels: list[str] = []
    skipped = 0
    for i, rec in enumerate(records):
        where = f"o_curinstrument[{i}]"
        if not isinstance(rec, dict):
            raise InputError(f"file {name!r}: {where} is not a record")
        for k in ("INSTRUMENTID", "SETTLEMENTPRICE"):
            if k not in rec:
                hint = (" (a futures kx file: read it with read_exchange_daily)" if "DELIVERYMONTH" in rec
                        else "")  # fmt: skip
                raise InputError(
                    f"file {name!r}: {where} has no field {k!r}; an SHFE/INE option record has "
                    f"INSTRUMENTID and {', '.join(KX_OPTION_FIELDS)}{hint}"
                )
        code = str(rec["INSTRUMENTID"] if rec["INSTRUMENTID"] is not None else "").strip()
        if not code or any(m in code for m in _SUMMARY):
            skipped += 1
            continue
        row: dict[str, object] = {"option": code}
        for k, col in KX_OPTION_FIELDS.items():
            v = rec.get(k)
            row[col] = None if v is None or str(v).strip() == "" else str(v).strip()
        rows.append(row)
        labels.append(where)
    return rows, labels, skipped


def _dce_option_rows(name: str, text: str) -> tuple[list[dict[str, object]], list[str], int, str | None]:
    from cnfutures.frames._text import _read_text_csv, _sniff

    lines = text.splitlines()
    start = next((i for i, ln in enumerate(lines[:10]) if "合约名称" in ln or "合约代码" in ln), None)
    if start is None:
        raise InputError(
            f"file {name!r}: no header line with 合约名称 in its first 10 lines; a DCE option export has "
            "商品名称, 合约名称, 开盘价, ..., 结算价, Delta, 成交量, 持仓量, ..., 行权量"
        )
    title = next((d for d in (date_in(x) for x in lines[:start]) if d), None)
    body = lines[start:]
    # the series table (合约系列, 隐含波动率(%)) below the quotes ends them
    end = next((i for i, ln in enumerate(body) if i and ln.strip().strip('"').startswith("合约系列")),
               len(body))  # fmt: skip
    body = [ln for ln in body[:end] if ln.strip()]
    sep = _sniff(body[0])
    frame = _read_text_csv("\n".join(body), Path(name), sep, ("", "-", "--"))
    frame = frame.rename({c: c.strip() for c in frame.columns})
    col = next(c for c in ("合约名称", "合约代码") if c in frame.columns)
    if "结算价" not in frame.columns:
        raise InputError(f"file {name!r}: no 结算价 (settlement) column; headers are {frame.columns}")
    rows: list[dict[str, object]] = []
    labels: list[str] = []
    skipped = 0
    for i, rec in enumerate(frame.iter_rows(named=True)):
        code = (rec[col] or "").strip()
        label = str(rec.get("商品名称") or "")
        if not code or any(m in code or m in label for m in _SUMMARY):
            skipped += 1
            continue
        row: dict[str, object] = {"option": code}
        for h, c in _DCE_OPTION_HEADERS.items():
            if h in frame.columns and c != "option":
                v = rec[h]
                row[c] = None if v is None or str(v).strip() == "" else str(v).strip()
        rows.append(row)
        labels.append(f"data row {i}")
    return rows, labels, skipped, title


def read_option_daily(
    path: str | Path,
    exchange: str | None = None,
    *,
    trading_day: str | None = None,
    encoding: str | None = None,
    products: Sequence[str] | None = None,
) -> pl.DataFrame:
    """Read an exchange's option daily file into the frame :class:`cnfutures.backtest.Market` takes.

    Reads an SHFE/INE option ``kx<YYYYMMDD>.dat`` (JSON) or a DCE option 日行情 export (text
    table, UTF-8 or GBK); layouts in the module docstring. Each option code is parsed by
    :func:`cnfutures.market.options.option` (``sc2509C490``, ``ru2509C15000``,
    ``i2509-C-700``) and checked to trade that day
    (:func:`cnfutures.validation.check_option_series`); prices are checked by
    :func:`cnfutures.validation.check_option_prices`. Subtotal records and the options of
    products cnfutures has no option spec for (copper, soybean meal, ...) are left out with a
    :class:`~cnfutures.frames.validate.DataQualityWarning` saying how many.

    Parameters
    ----------
    path : str or Path
        The file (``.gz`` is decompressed).
    exchange : {"INE", "SHFE", "DCE"}, optional
        Checked against the options read (each option's exchange); default: theirs.
    trading_day : str, optional
        ISO date of the file; default the date in the file name (``kx20250627.dat``) or the
        DCE title line.
    encoding : str, optional
        Text encoding of a DCE export (default: detected, UTF-8 or GBK).
    products : sequence of str, optional
        Keep only the options on these futures products (``["sc"]``).

    Returns
    -------
    polars.DataFrame
        :data:`OPTION_COLUMNS` (prices [CNY/unit] as Float64, counts [lots] as Float64),
        one row per option, sorted by option: pass it as ``Market(..., options=frame)`` (with
        the frames of other days, ``pl.concat``).

    Raises
    ------
    InputError
        Not an option daily file; no date; a product of another exchange than ``exchange``.
    NotTradingDay
        The date is not a trading day of the exchange.
    UnknownContract
        An option code that does not parse (off the strike grid, bad form) or an option not
        listed that day; the message names the record (``o_curinstrument[3]``, ``data row 5``).
    DataError
        A price that is not a number, blank settlement, infinite or negative (row and field).

    Examples
    --------
    >>> import json, pathlib, tempfile
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "kx20250627.dat"
    >>> rec = {"INSTRUMENTID": "sc2509C490", "PRESETTLEMENTPRICE": 28.5, "SETTLEMENTPRICE": 30.15,
    ...        "CLOSEPRICE": 30.0, "VOLUME": 120, "OPENINTEREST": 830, "DELTA": 0.62}
    >>> _ = p.write_text(json.dumps({"o_curinstrument": [rec]}))
    >>> f = read_option_daily(p, "INE")
    >>> f.select("trading_day", "option", "underlying", "strike", "settle").row(0)
    (datetime.date(2025, 6, 27), 'sc2509C490', 'sc2509', 490.0, 30.15)
    """
    import datetime as dt
    import warnings

    from cnfutures.errors import UnknownContract, UnknownProduct
    from cnfutures.frames._text import _decode
    from cnfutures.frames.validate import DataQualityWarning
    from cnfutures.market.calendar import calendar
    from cnfutures.market.options import option, option_product
    from cnfutures.validation import check_keys, check_option_prices, check_option_series

    p = Path(path)
    name = str(p)
    if not p.is_file():
        raise InputError(f"option daily file {name!r} does not exist")
    raw = gzip.decompress(p.read_bytes()) if p.suffix.lower() == ".gz" else p.read_bytes()
    text = _decode(raw, p, encoding)
    title: str | None = None
    if text.lstrip().startswith("{"):
        rows, labels, skipped = _kx_option_rows(name, text.lstrip())
        layout = "kx"
    else:
        rows, labels, skipped, title = _dce_option_rows(name, text)
        layout = "dce"
    day_text = trading_day or title or (date_in(p.name) if layout == "kx" else None)
    if day_text is None:
        raise InputError(
            f"{name}: the file carries no date (file name or title line); pass trading_day='YYYY-MM-DD'"
        )
    try:
        day = dt.date.fromisoformat(str(day_text))
    except ValueError:
        raise InputError(f"trading_day={day_text!r} is not an ISO date (YYYY-MM-DD)") from None
    if exchange is not None:
        exchange = calendar(exchange).exchange
    keep = {x.lower() for x in products} if products is not None else None
    parsed: list[dict[str, object]] = []
    kept_labels: list[str] = []
    others = 0
    exchanges: set[str] = set()
    for row, where in zip(rows, labels, strict=True):
        code = str(row["option"])
        root = re.match(r"^(?:[A-Za-z]+\.)?([A-Za-z]+)\d", code)
        if root is None:  # not an option code at all (the subtotal records were left out above)
            try:
                option(code)
            except UnknownContract as exc:
                raise UnknownContract(f"{name}: {where} ({code!r}): {exc}") from None
        prod = root.group(1).lower() if root else ""
        if keep is not None and prod not in keep:
            others += 1
            continue
        try:
            option_product(prod)
        except UnknownProduct:
            others += 1  # an option product cnfutures does not cover: no evidence either way
            continue
        try:
            o = option(code)
            check_option_series(o, day)
        except UnknownContract as exc:
            raise UnknownContract(f"{name}: {where} ({code!r}): {exc}") from None
        if exchange is not None and o.exchange != exchange:
            raise InputError(f"{name}: {where} {code!r} is an {o.exchange} option, not {exchange}")
        exchanges.add(o.exchange)
        parsed.append({**row, "option": o.code, "underlying": o.underlying.code, "kind": o.kind,
                       "strike": o.strike})  # fmt: skip
        kept_labels.append(where)
    if skipped or others:
        warnings.warn(
            f"{name}: left out {skipped} subtotal record(s) and {others} option(s) of other products",
            DataQualityWarning,
            stacklevel=2,
        )
    ex = exchange or (exchanges.pop() if len(exchanges) == 1 else None)
    if ex is not None:
        calendar(ex).require_trading_day(day, "trading_day")
    cols = [c for c, _ in OPTION_COLUMNS if c != "trading_day"]
    frame = pl.DataFrame(
        [[r.get(c) for c in cols] for r in parsed],
        schema={c: pl.Float64 if c == "strike" else pl.String for c in cols},
        orient="row",
    )
    frame = check_option_prices(frame, _PRICES, name=name, rows=kept_labels)
    frame = check_option_prices(frame, _COUNTS, name=name, rows=kept_labels, required=(),
                                what="a count is a number >= 0 [lots]")
    frame = check_option_prices(frame, ("delta",), name=name, rows=kept_labels, required=(),
                                bounds=(-1.0, 1.0), what="an option delta is a number in [-1, 1]")
    frame = frame.with_columns(pl.lit(day).alias("trading_day")).select([c for c, _ in OPTION_COLUMNS])
    check_keys(frame, "trading_day", name=name, by=("option",))
    return frame.sort("option")
