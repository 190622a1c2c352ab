"""Calendar benchmarks: trading-day attribution of timestamps and trading-day range look-ups."""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl
import pytest

import cnfutures
from benchmarks.conftest import size, tag

N = size(1_000_000, 200_000)
N_LOOP = size(20_000, 5_000)


def _timestamps(n: int, seed: int = 7) -> pl.Series:
    """Random timestamps inside sc sessions 2024-2026 (evening before, morning and afternoon)."""
    cal = cnfutures.calendar("INE")
    days = [
        d for d in cal.trading_days("2024-01-03", "2026-12-30").to_list() if cal.has_night_session(d, "sc")
    ]
    prev = [cal.previous_trading_day(d) for d in days]
    rng = np.random.default_rng(seed)
    k = rng.integers(0, len(days), n)
    which = rng.integers(0, 3, n)
    day = np.array(days, dtype="datetime64[D]")[k]
    evening = np.array(prev, dtype="datetime64[D]")[k]
    minutes = np.where(
        which == 0,
        21 * 60 + rng.integers(0, 180, n),
        np.where(which == 1, 9 * 60 + rng.integers(0, 75, n), 13 * 60 + 30 + rng.integers(0, 90, n)),
    )
    base = np.where(which == 0, evening, day).astype("datetime64[us]")
    return pl.Series("ts", base + (minutes * 60_000_000).astype("timedelta64[us]"))


@pytest.fixture(scope="module")
def stamps() -> pl.Series:
    return _timestamps(N)


@pytest.mark.benchmark(group="calendar-trading_day_of")
def test_trading_day_of_vectorised(benchmark, stamps) -> None:
    cal = cnfutures.calendar("INE")
    cal.trading_day_of(stamps[:10], "sc")
    tag(
        benchmark,
        role="ours",
        name="cnfutures vectorised",
        n=N,
        goals={"python loop (scalar)": 0.01, "pandas 18:00 shortcut": 2.0},
    )
    out = benchmark(cal.trading_day_of, stamps, "sc")
    assert out.null_count() == 0


@pytest.mark.benchmark(group="calendar-trading_day_of")
def test_trading_day_of_python_loop(benchmark, stamps) -> None:
    cal = cnfutures.calendar("INE")
    sub = stamps[:N_LOOP].to_list()
    tag(benchmark, role="peer", name="python loop (scalar)", n=N_LOOP)
    benchmark(lambda: [cal.trading_day_of(t, "sc") for t in sub])


@pytest.mark.benchmark(group="calendar-trading_day_of")
def test_trading_day_of_pandas_shortcut(benchmark, stamps) -> None:
    pd = pytest.importorskip("pandas")
    s = pd.Series(stamps.to_numpy())

    def shortcut() -> object:
        # tqsdk-style: after 18:00 -> next day, weekends -> Monday; ignores holidays (wrong there)
        d = (s + pd.Timedelta(hours=6)).dt.normalize()
        wd = d.dt.day_of_week
        return d + pd.to_timedelta(np.where(wd == 5, 2, np.where(wd == 6, 1, 0)), unit="D")

    tag(benchmark, role="peer", name="pandas 18:00 shortcut", n=N)
    benchmark(shortcut)


@pytest.mark.benchmark(group="calendar-trading_days")
def test_trading_days_range(benchmark) -> None:
    cal = cnfutures.calendar("DCE")
    tag(benchmark, role="ours", name="cnfutures", n=1, goals={"exchange_calendars XSHG": 1.0})
    out = benchmark(cal.trading_days, dt.date(2018, 1, 1), dt.date(2026, 12, 31))
    assert out.len() > 2000


@pytest.mark.benchmark(group="calendar-trading_days")
def test_trading_days_range_exchange_calendars(benchmark) -> None:
    xcals = pytest.importorskip("exchange_calendars")
    xshg = xcals.get_calendar("XSHG", start="2010-01-04")
    tag(benchmark, role="peer", name="exchange_calendars XSHG", n=1)
    benchmark(xshg.sessions_in_range, "2018-01-02", "2026-12-31")
