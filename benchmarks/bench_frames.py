"""Price-frame benchmarks: load a Parquet file of daily bars and validate it.

Ours: ``read_futures(path, validate=False)`` + ``check_futures`` (every check, report
built). Peer: a straightforward pandas equivalent (``pd.read_parquet`` and the same checks
written with vectorised pandas/numpy, contract listing looked up once per unique contract).
Both produce the same problem row sets, asserted on the first call.

Synthetic data: every listed sc, i, nr and ru contract on every trading day 2011-2026
(≈ 190k valid (trading_day, contract) rows), tiled to N rows (10M full, 1M quick) with
2 % of settles blanked, 0.1 % of highs below lows and 0.5 % of prices off tick. Tiling
repeats keys, so the duplicate check reports nearly every row: the benchmark measures the
worst case, in which the report itself is large. Rows/s is printed for both.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pytest

import cnfutures
from benchmarks.conftest import size, tag
from cnfutures.frames import check_futures, read_futures
from cnfutures.frames.schema import contract_info

N = size(10_000_000, 1_000_000)


def _panel() -> pl.DataFrame:
    parts = []
    for p in ("sc", "i", "nr", "ru"):
        ex = cnfutures.product(p).exchange
        days = cnfutures.calendar(ex).trading_days("2020-01-02", "2026-06-30").to_list()[::5]
        rows = [(d, c.code) for d in days for c in cnfutures.listed_contracts(p, d)]
        parts.append(pl.DataFrame(rows, schema={"trading_day": pl.Date, "contract": pl.String}, orient="row"))
    return pl.concat(parts)


@pytest.fixture(scope="module")
def parquet_file(tmp_path_factory: Any, rng: Any) -> Path:
    panel = _panel()
    k = rng.integers(0, panel.height, N)
    base = panel[k]
    tick = (
        base["contract"]
        .str.extract(r"^([a-z]+)", 1)
        .replace_strict({"sc": 0.1, "i": 0.5, "nr": 5.0, "ru": 5.0}, return_dtype=pl.Float64)
        .to_numpy()
    )
    level = np.round(rng.uniform(400, 15000, N) / tick) * tick
    low = level - tick * rng.integers(0, 50, N)
    high = level + tick * rng.integers(0, 50, N)
    settle = level.copy()
    settle[rng.random(N) < 0.005] += tick[0] * 0.37  # off tick
    high_bad = rng.random(N) < 0.001
    high = np.where(high_bad, low - tick, high)
    frame = base.with_columns(
        open=pl.Series(level),
        high=pl.Series(high),
        low=pl.Series(low),
        close=pl.Series(level),
        settle=pl.Series(settle).set(pl.Series(rng.random(N) < 0.02), None),  # type: ignore[arg-type]
        volume=pl.Series(rng.integers(0, 100_000, N)),
        open_interest=pl.Series(rng.integers(0, 500_000, N)),
    )
    path = tmp_path_factory.mktemp("frames") / "bars.parquet"
    frame.write_parquet(path)
    return Path(path)


def ours(path: Path) -> dict[str, list[int]]:
    frame = read_futures(path, validate=False)
    assert isinstance(frame, pl.DataFrame)
    rep = check_futures(frame)
    return {
        c: rep.rows(c)
        for c in (
            "duplicate_key",
            "high_below_low",
            "missing_settle",
            "off_tick",
            "not_trading_day",
            "contract_not_listed",
            "open_outside_range",
            "close_outside_range",
        )
    }


def naive_pandas(path: Path) -> dict[str, list[int]]:
    import pandas as pd

    df = pd.read_parquet(path)
    df["trading_day"] = pd.to_datetime(df["trading_day"])
    out: dict[str, list[int]] = {}
    idx = np.arange(len(df))
    out["duplicate_key"] = idx[df.duplicated(["trading_day", "contract"], keep=False).to_numpy()].tolist()
    out["high_below_low"] = idx[(df["high"] < df["low"]).to_numpy()].tolist()
    o_bad = (df["open"] < df["low"]) | (df["open"] > df["high"])
    c_bad = (df["close"] < df["low"]) | (df["close"] > df["high"])
    out["open_outside_range"] = idx[o_bad.to_numpy()].tolist()
    out["close_outside_range"] = idx[c_bad.to_numpy()].tolist()
    out["missing_settle"] = idx[df["settle"].isna().to_numpy()].tolist()
    prod = df["contract"].str.extract(r"^([a-z]+)")[0]
    tick = prod.map({"sc": 0.1, "i": 0.5, "nr": 5.0, "ru": 5.0})
    off = np.zeros(len(df), dtype=bool)
    for c in ("open", "high", "low", "close", "settle"):
        q = df[c] / tick
        off |= ((q - q.round()).abs() > 1e-6).fillna(False).to_numpy()
    out["off_tick"] = idx[off].tolist()
    exch = prod.map({"sc": "INE", "i": "DCE", "nr": "INE", "ru": "SHFE"})
    ntd = np.zeros(len(df), dtype=bool)
    for ex in ("INE", "DCE", "SHFE"):
        days = pd.to_datetime(cnfutures.calendar(ex).trading_days("2010-01-01", "2026-12-31").to_pandas())
        sel = (exch == ex).to_numpy()
        ntd |= sel & ~df["trading_day"].isin(set(days)).to_numpy()
    out["not_trading_day"] = idx[ntd].tolist()
    info = (
        contract_info(pl.Series(list(df["contract"].unique()), dtype=pl.String))
        .to_pandas()
        .set_index("contract")
    )
    ftd = pd.to_datetime(df["contract"].map(info["first_trading_day"]))
    ltd = pd.to_datetime(df["contract"].map(info["last_trading_day"]))
    nl = (df["trading_day"] < ftd) | (df["trading_day"] > ltd)
    out["contract_not_listed"] = idx[nl.to_numpy()].tolist()
    return out


@pytest.mark.benchmark(group="frames-load-validate")
def test_load_validate_ours(benchmark: Any, parquet_file: Path) -> None:
    tag(benchmark, role="ours", name="cnfutures (polars)", n=N, goals={"naive pandas": 1.0})
    t = time.perf_counter()
    got = ours(parquet_file)
    print(f"\ncnfutures load+validate: {N / (time.perf_counter() - t):,.0f} rows/s (first call)")
    assert got == naive_pandas(parquet_file)
    benchmark.pedantic(ours, args=(parquet_file,), rounds=size(3, 2), iterations=1)
    print(f"cnfutures load+validate median: {N / benchmark.stats.stats.median:,.0f} rows/s")


@pytest.mark.benchmark(group="frames-load-validate")
def test_load_validate_naive_pandas(benchmark: Any, parquet_file: Path) -> None:
    tag(benchmark, role="peer", name="naive pandas", n=N)
    benchmark.pedantic(naive_pandas, args=(parquet_file,), rounds=size(3, 2), iterations=1)
    print(f"\nnaive pandas load+validate median: {N / benchmark.stats.stats.median:,.0f} rows/s")
