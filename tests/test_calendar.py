"""Trading calendars: trading days, night sessions, attribution, bounds, golden files."""

from __future__ import annotations

import datetime as dt
import itertools

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import cnfutures
from cnfutures import CalendarOutOfBounds, InputError, NotInSession, NotTradingDay, UnknownExchange
from tests.conftest import REFERENCE

D = dt.date
T = dt.datetime


@pytest.mark.parametrize("exchange", ["INE", "SHFE", "DCE"])
@pytest.mark.parametrize(
    ("year", "count"),
    # market-facts.md §6.2: 2024: 242, 2025: 243, 2026: 242 trading days
    [(2024, 242), (2025, 243), (2026, 242)],
)
def test_trading_day_counts(exchange: str, year: int, count: int) -> None:
    cal = cnfutures.calendar(exchange)
    assert cal.trading_days(f"{year}-01-01", f"{year}-12-31").len() == count


def test_matches_akshare_calendar_2018_2026(shared_data) -> None:
    # ../shared/data/calendar/cn_trading_days_akshare.csv (akshare calendar.json, MIT)
    ref = pl.read_csv(shared_data / "calendar" / "cn_trading_days_akshare.csv", try_parse_dates=True)
    ref = ref.filter(pl.col("date") >= D(2018, 1, 1))["date"]
    ours = cnfutures.calendar("INE").trading_days("2018-01-01", "2026-12-31")
    assert ours.to_list() == ref.to_list()


# market-facts.md §6.2 "Nights with no session (evening of)", from the DCE 2024/2026 notices
NO_NIGHT = {
    2024: ["2023-12-29", "2024-02-08", "2024-04-03", "2024-04-30", "2024-06-07", "2024-09-13", "2024-09-30"],
    2025: ["2024-12-31", "2025-01-27", "2025-04-03", "2025-04-30", "2025-05-30", "2025-09-30"],
    2026: ["2025-12-31", "2026-02-13", "2026-04-03", "2026-04-30", "2026-06-18", "2026-09-24", "2026-09-30"],
}


@pytest.mark.parametrize("year", [2024, 2025, 2026])
@pytest.mark.parametrize(("exchange", "prod"), [("INE", "sc"), ("DCE", "i"), ("SHFE", "ru")])
def test_no_night_session_before_holidays(year: int, exchange: str, prod: str) -> None:
    cal = cnfutures.calendar(exchange)
    days = cal.trading_days(f"{year - 1}-12-20", f"{year}-12-31").to_list()
    missing = [str(a) for a, b in itertools.pairwise(days) if not cal.has_night_session(b, prod)]
    assert missing == NO_NIGHT[year]


def test_spring_festival_eve_2024_closed() -> None:
    # 2024-02-09 was an exchange closure though not a State Council holiday (DCE 2024 notice)
    for ex in ("INE", "SHFE", "DCE"):
        cal = cnfutures.calendar(ex)
        assert not cal.is_trading_day("2024-02-09")
        assert cal.next_trading_day("2024-02-08") == D(2024, 2, 19)


@pytest.mark.parametrize(
    "d", ["2024-02-04", "2024-02-18", "2024-04-07", "2025-01-26", "2025-09-28", "2026-01-04"]
)
def test_make_up_workdays_closed(d: str) -> None:
    # market-facts.md §6.2: weekend make-up workdays are closed
    assert not cnfutures.calendar("DCE").is_trading_day(d)


def test_friday_night_belongs_to_monday() -> None:
    cal = cnfutures.calendar("INE")
    assert cal.trading_day_of(T(2025, 6, 27, 21, 0), "sc") == D(2025, 6, 30)
    assert cal.trading_day_of(T(2025, 6, 28, 2, 30), "sc") == D(2025, 6, 30)
    assert cal.trading_day_of(T(2025, 6, 30, 9, 0), "sc") == D(2025, 6, 30)
    assert cal.trading_day_of(T(2025, 6, 26, 14, 59), "sc") == D(2025, 6, 26)


def test_night_close_is_product_specific() -> None:
    cal = cnfutures.calendar("INE")
    assert cal.trading_day_of(T(2025, 6, 26, 1, 0), "sc") == D(2025, 6, 26)
    with pytest.raises(NotInSession):
        cal.trading_day_of(T(2025, 6, 26, 1, 0), "nr")  # nr night ends 23:00
    dce = cnfutures.calendar("DCE")
    with pytest.raises(NotInSession):
        dce.trading_day_of(T(2025, 6, 26, 23, 15), "i")
    # before the (unverified) 2019-03-29 change, iron ore traded until 23:30
    assert dce.trading_day_of(T(2019, 3, 20, 23, 15), "i") == D(2019, 3, 21)


@pytest.mark.parametrize(
    "ts",
    [
        T(2025, 6, 26, 12, 0),
        T(2025, 6, 26, 10, 20),
        T(2025, 6, 26, 16, 0),
        T(2025, 6, 28, 10, 0),
        T(2024, 2, 8, 21, 30),
        T(2025, 9, 30, 22, 0),
    ],
)
def test_not_in_session(ts: dt.datetime) -> None:
    with pytest.raises(NotInSession, match=str(ts.date())):
        cnfutures.calendar("INE").trading_day_of(ts, "sc")


def test_aware_timestamp_converted() -> None:
    import zoneinfo

    utc = T(2025, 6, 27, 13, 30, tzinfo=zoneinfo.ZoneInfo("UTC"))  # 21:30 Beijing, Friday
    assert cnfutures.calendar("INE").trading_day_of(utc, "sc") == D(2025, 6, 30)


def test_vectorised_matches_scalar_on_cc0_bars(shared_data) -> None:
    # ../shared/data/cc0_5min_sample: trading_day was derived independently by the data's README
    bars = pl.read_csv(shared_data / "cc0_5min_sample" / "sc_i_5min_bars_2025-06.csv", try_parse_dates=True)
    for ex, prod in (("INE", "sc"), ("DCE", "i")):
        sub = bars.filter(pl.col("exchange") == ex)
        got = cnfutures.calendar(ex).trading_day_of(sub["datetime"], prod)
        assert got.to_list() == sub["trading_day"].to_list()


def test_vectorised_null_on_error() -> None:
    s = pl.Series("ts", [T(2025, 6, 27, 21, 0), T(2025, 6, 27, 12, 0)])
    out = cnfutures.calendar("INE").trading_day_of(s, "sc", on_error="null")
    assert out.to_list() == [D(2025, 6, 30), None]


@settings(max_examples=200, deadline=None)
@given(st.datetimes(min_value=T(2018, 1, 2), max_value=T(2026, 12, 30)))
def test_scalar_and_vector_agree(ts: dt.datetime) -> None:
    cal = cnfutures.calendar("INE")
    vec = cal.trading_day_of(pl.Series([ts]), "sc", on_error="null")[0]
    try:
        scalar = cal.trading_day_of(ts, "sc")
    except NotInSession:
        scalar = None
    assert vec == scalar
    if scalar is not None:
        # the trading day is a trading day, never earlier than the calendar date - 0 and
        # never more than the next trading day after the timestamp's date
        assert cal.is_trading_day(scalar)
        assert scalar >= ts.date() or ts.hour < 3
        assert scalar <= cal.next_trading_day(ts.date())


def test_sessions_include_previous_evening() -> None:
    s = cnfutures.calendar("DCE").sessions("2025-06-30", "i")
    assert s["session"].to_list() == ["night", "day", "day", "day"]
    assert s["open"][0] == T(2025, 6, 27, 21, 0)
    assert s["close"][0] == T(2025, 6, 27, 23, 0)
    assert s["close"][-1] == T(2025, 6, 30, 15, 0)


@pytest.mark.parametrize("exchange", ["INE", "SHFE", "DCE"])
def test_golden_sessions(exchange: str) -> None:
    """Golden file (scripts/make_golden.py regenerates it; a change is reviewed as a diff)."""
    from scripts.make_golden import golden

    path = REFERENCE / f"calendar_{exchange.lower()}_2024_2026.csv"
    ref = pl.read_csv(path, try_parse_dates=True)
    got = golden(exchange)
    assert got.height == ref.height == 242 + 243 + 242
    assert got["trading_day"].to_list() == ref["trading_day"].to_list()
    for col in ("night_open", "night_close", "day_open", "day_close"):
        assert (
            got[col].dt.strftime("%Y-%m-%d %H:%M").to_list()
            == ref[col].dt.strftime("%Y-%m-%d %H:%M").to_list()
        )


def test_covid_night_suspension_flagged() -> None:
    cal = cnfutures.calendar("INE")
    assert not cal.has_night_session("2020-03-02", "sc")
    assert cal.has_night_session("2020-05-07", "sc")


def test_next_previous_and_offsets() -> None:
    cal = cnfutures.calendar("SHFE")
    assert cal.next_trading_day("2025-09-30") == D(2025, 10, 9)
    assert cal.next_trading_day("2025-10-04") == D(2025, 10, 9)
    assert cal.previous_trading_day("2025-10-09", 2) == D(2025, 9, 29)
    assert cal.next_trading_day("2025-06-27", 0) == D(2025, 6, 27)
    assert cal.offset("2025-06-27", -1) == D(2025, 6, 26)


def test_bad_inputs() -> None:
    cal = cnfutures.calendar("INE")
    with pytest.raises(CalendarOutOfBounds, match="2027-01-04"):
        cal.is_trading_day("2027-01-04")
    with pytest.raises(CalendarOutOfBounds):
        cal.next_trading_day("2026-12-31")
    with pytest.raises(InputError, match="n=-1"):
        cal.next_trading_day("2025-01-02", -1)
    with pytest.raises(UnknownExchange, match="CZCE"):
        cnfutures.calendar("CZCE")
    with pytest.raises(InputError, match="not a date"):
        cal.is_trading_day("yesterday")
    with pytest.raises(NotTradingDay, match="2025-10-04"):
        cal.sessions("2025-10-04", "sc")
    with pytest.raises(InputError, match="DCE"):
        cal.sessions("2025-06-30", "i")
    with pytest.raises(InputError, match="bare date"):
        cal.trading_day_of(D(2025, 6, 30))  # type: ignore[call-overload]
    with pytest.raises(CalendarOutOfBounds, match="index 1"):
        cal.trading_day_of(pl.Series([T(2025, 6, 30, 9), T(2030, 1, 2, 9)]))


def test_extension_with_user_closures() -> None:
    cal = cnfutures.TradingCalendar("INE", extra_closures=["2027-01-01"], bound_max="2027-12-31")
    assert cal.next_trading_day("2026-12-31") == D(2027, 1, 4)
    assert not cal.has_night_session("2027-01-04", "sc")


def test_days_ordinal_is_read_only() -> None:
    arr = cnfutures.calendar("INE").days_ordinal
    assert arr.dtype == np.int64
    with pytest.raises(ValueError):
        arr[0] = 0
