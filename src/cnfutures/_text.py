"""Plain-text rendering of polars frames for the command line (every row and column shown)."""

from __future__ import annotations

import polars as pl

__all__ = ["frame_text"]


def frame_text(
    df: pl.DataFrame, *, width: int = 200, str_len: int = 60, float_precision: int | None = None
) -> str:
    """The whole frame as text: no row or column elided, no shape line, no dtype row.

    Parameters
    ----------
    df : polars.DataFrame
    width : int
        Table width [characters].
    str_len : int
        Longest string shown before it is cut [characters].
    float_precision : int, optional
        Decimals of floats (polars' default when None).

    Examples
    --------
    >>> print(frame_text(pl.DataFrame({"a": [1.5]})))
    ┌─────┐
    │ a   │
    ╞═════╡
    │ 1.5 │
    └─────┘
    """
    with pl.Config(
        tbl_rows=-1,
        tbl_cols=-1,
        tbl_width_chars=width,
        fmt_str_lengths=str_len,
        tbl_hide_dataframe_shape=True,
        tbl_hide_column_data_types=True,
        float_precision=float_precision,
    ):
        return str(df)
