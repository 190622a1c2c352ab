"""Reading text files: decoding (UTF-8, GBK/GB18030, UTF-16), separator sniffing, decimal commas.

Shared by the loaders in :mod:`cnfutures.frames.io` and the exchange daily files in
:mod:`cnfutures.frames.exchange_files` (one copy, no import between the two).
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from pathlib import Path

import polars as pl

from cnfutures.errors import InputError

__all__: list[str] = []


def _decode(raw: bytes, path: Path, encoding: str | None) -> str:
    if encoding is not None:
        try:
            return raw.decode(encoding)
        except (UnicodeDecodeError, LookupError) as exc:
            raise InputError(
                f"file {str(path)!r} cannot be decoded as {encoding!r} ({exc}); try encoding='gbk' "
                "(Chinese exchange exports) or 'utf-8'"
            ) from None
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):  # UTF-16 with a byte-order mark (Excel "Unicode text")
        try:
            return raw.decode("utf-16")
        except UnicodeDecodeError:
            pass
    for enc in ("utf-8-sig", "gb18030"):
        try:
            return raw.decode(enc)
        except UnicodeDecodeError:
            continue
    raise InputError(  # pragma: no cover - gb18030 decodes almost any byte string
        f"file {str(path)!r} is neither UTF-8 nor GBK/GB18030; pass encoding= (e.g. 'big5')"
    )


def _read_text_csv(text: str, path: Path, separator: str | None, null_values: Sequence[str]) -> pl.DataFrame:
    if not text.strip():
        raise InputError(f"file {str(path)!r} is empty; expected a header line and data rows")
    sep = separator or _sniff(text.split("\n", 1)[0])
    try:
        df = pl.read_csv(
            io.StringIO(text).read().encode(),
            separator=sep,
            infer_schema=False,
            null_values=list(null_values),
            truncate_ragged_lines=False,
        )
    except pl.exceptions.PolarsError as exc:
        raise InputError(
            f"file {str(path)!r} is not a readable CSV ({exc}); check the separator (separator=)"
        ) from None
    out = _decimal_commas(df) if sep == ";" else df
    assert isinstance(out, pl.DataFrame)
    return out


_DECIMAL_COMMA = r"^\s*[+-]?\d+,\d+\s*$"


def _decimal_commas(frame: pl.DataFrame | pl.LazyFrame) -> pl.DataFrame | pl.LazyFrame:
    """A ``;``-separated file writes numbers with a decimal comma (``496,1``): read them so.

    Only cells that are digits, one comma, digits are changed (``496,1`` -> ``496.1``,
    ``497,000`` -> ``497.000``); anything else (``1.234,5``) is left for the cast to report.
    """
    schema = frame.collect_schema()
    exprs = [
        pl.when(pl.col(c).str.contains(_DECIMAL_COMMA))
        .then(pl.col(c).str.replace(",", ".", literal=True))
        .otherwise(pl.col(c))
        .alias(c)
        for c, t in schema.items()
        if t == pl.String
    ]
    return frame.with_columns(exprs) if exprs else frame


def _sniff(header: str) -> str:
    counts = {s: header.count(s) for s in (",", "\t", ";", "|")}
    best = max(counts, key=lambda k: counts[k])
    return best if counts[best] else ","
