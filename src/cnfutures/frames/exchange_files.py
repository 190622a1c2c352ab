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

Turnover (``TURNOVER`` / 成交额) is read only from a table export, where
:func:`cnfutures.frames.io.read_exchange_daily` converts 万元 to CNY; the kx files' turnover
is not read (its unit is not documented in the sources above).
"""

from __future__ import annotations

import gzip
import json
import re
from pathlib import Path

import polars as pl

from cnfutures.errors import InputError

__all__ = ["KX_FIELDS", "read_exchange_text"]

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


def read_kx(path: Path, text: str) -> tuple[pl.DataFrame, int]:
    """An SHFE / INE ``kx*.dat`` file as a frame with the export headers (text values).

    Returns the frame and the number of subtotal / total / EFP records left out.
    """
    name = str(path)
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(f"file {name!r} starts like JSON but is not valid JSON ({exc})") from None
    if not isinstance(data, dict) or not isinstance(data.get("o_curinstrument"), list):
        keys = sorted(data) if isinstance(data, dict) else type(data).__name__
        raise InputError(
            f"file {name!r} is JSON but not an SHFE/INE daily file: no 'o_curinstrument' list "
            f"(found {keys}); the exchanges publish it as kx<YYYYMMDD>.dat"
        )
    need = ("PRODUCTID", "DELIVERYMONTH", *KX_FIELDS)
    rows: list[dict[str, str | None]] = []
    skipped = 0
    for i, rec in enumerate(data["o_curinstrument"]):
        if not isinstance(rec, dict):
            raise InputError(f"file {name!r}: o_curinstrument[{i}] is not a record")
        missing = [k for k in need if k not in rec]
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
