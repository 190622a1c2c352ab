"""Calendar-correct resampling and pairing of changes (issue 16, part 1).

Reference values: the INE calendar of 2024 (Spring Festival closure 2024-02-09..02-16, from
the State Council schedule; bundled akshare list) and hand-built frames.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl
import pytest

from cnfutures import hedging
from cnfutures.errors import CalendarOutOfBounds, DataError, InputError


def _business_days(a: dt.date, b: dt.date) -> pl.Series:
    d = pl.date_range(a, b, eager=True)
    return d.filter(d.dt.weekday() <= 5)


def _ine_days(a: str, b: str) -> pl.Series:
    from cnfutures.market.calendar import calendar

    return calendar("INE").trading_days(a, b).alias("date")


def test_spring_festival_week_is_kept_as_a_closed_null_row() -> None:
    days = _ine_days("2024-01-29", "2024-03-01")
    f = pl.DataFrame({"date": days, "p": np.arange(days.len(), dtype=float)})
    w = hedging.weekly(f, calendar="INE")
    fri = [dt.date(2024, 2, 2) + dt.timedelta(weeks=k) for k in range(5)]
    assert w["date"].to_list() == fri
    # Mon 2024-02-05 .. Thu 02-08 traded; the week ending 02-16 was shut all week
    assert w["trading_days"].to_list() == [5, 4, 0, 5, 5]
    assert w["status"].to_list() == ["ok", "ok", "closed", "ok", "ok"]
    assert w["p"][2] is None and w["last_date"][2] is None and w["n_days"][2] == 0
    ch = hedging.changes(w, column="p")
    # the change into and out of the closed week is null: never a two-week change
    assert ch["status"].to_list() == ["first_row", "ok", "missing_price", "missing_previous", "ok"]
    assert ch["from_date"][1] == fri[0] and ch["from_date"][4] == fri[3]


def test_missing_rows_on_trading_days_are_no_data_not_closed() -> None:
    days = _ine_days("2024-03-04", "2024-03-29")
    f = pl.DataFrame({"date": days, "p": 1.0}).filter(
        ~pl.col("date").is_between(dt.date(2024, 3, 11), dt.date(2024, 3, 15))
    )
    w = hedging.weekly(f, calendar="INE")
    assert w["status"].to_list() == ["ok", "no_data", "ok", "ok"]
    assert w["trading_days"].to_list() == [5, 5, 5, 5]
    no_cal = hedging.weekly(f)
    assert no_cal["status"].to_list() == ["ok", "no_data", "ok", "ok"]
    assert "trading_days" not in no_cal.columns


def test_monthly_and_daily_grids() -> None:
    days = _ine_days("2024-01-02", "2024-04-30")
    f = pl.DataFrame({"date": days, "p": np.arange(days.len(), dtype=float)}).filter(
        pl.col("date").dt.month() != 3
    )
    m = hedging.monthly(f, calendar="INE")
    assert m["date"].to_list() == [dt.date(2024, 1, 31), dt.date(2024, 2, 29),
                                   dt.date(2024, 3, 31), dt.date(2024, 4, 30)]
    assert m["period_start"].to_list()[2] == dt.date(2024, 3, 1)
    assert m["status"].to_list() == ["ok", "ok", "no_data", "ok"]
    assert m["trading_days"].to_list() == [22, 15, 21, 20]  # Apr: Qingming 4-5
    assert m["last_date"][1] == dt.date(2024, 2, 29)
    daily = hedging.resample(f, "day", calendar="INE")
    assert daily.height == days.len() and daily["status"].value_counts().height == 2
    assert daily.filter(pl.col("status") == "no_data")["date"].dt.month().unique().to_list() == [3]


def test_anchor_is_validated_exactly() -> None:
    f = pl.DataFrame({"date": _business_days(dt.date(2025, 6, 2), dt.date(2025, 6, 20)), "p": 1.0})
    for bad in ("monthly", "mo", "fridays", "", "weekly", 4):
        with pytest.raises(InputError, match="not a weekday"):
            hedging.weekly(f, anchor=bad)  # type: ignore[arg-type]
    assert hedging.weekly(f, anchor="Wednesday")["date"][0] == dt.date(2025, 6, 4)
    assert hedging.weekly(f, anchor="WED")["date"][0] == dt.date(2025, 6, 4)
    with pytest.raises(InputError, match="every"):
        hedging.resample(f, "quarter")  # type: ignore[arg-type]
    with pytest.raises(InputError, match="needs calendar"):
        hedging.resample(f, "day")


def test_bad_keys_and_off_calendar_rows_are_named() -> None:
    # 2024-10-01 is National Day: a vendor's holiday row is refused, naming row and date
    f = pl.DataFrame({"date": [dt.date(2024, 9, 30), dt.date(2024, 10, 1), dt.date(2024, 10, 8)],
                      "p": [1.0, 2.0, 3.0]})
    with pytest.raises(DataError, match=r"row 1 is 2024-10-01, which is not a INE trading day"):
        hedging.weekly(f, calendar="INE")
    with pytest.raises(InputError, match="not Date"):
        hedging.weekly(f.with_columns(pl.col("date").cast(pl.Datetime)))
    with pytest.raises(CalendarOutOfBounds):
        hedging.weekly(pl.DataFrame({"date": [dt.date(2009, 6, 1)], "p": [1.0]}), calendar="DCE")
    with pytest.raises(InputError, match="before start"):
        hedging.weekly(f, start="2024-10-08", end="2024-09-01")


def test_unequal_changes_are_refused_and_pair_changes_states_the_pairing() -> None:
    fri = [dt.date(2024, 2, 2) + dt.timedelta(weeks=k) for k in range(5)]
    # futures with the closed week dropped (the old recipe) vs spot on the full grid
    fut = hedging.changes(pl.DataFrame({"date": fri[:2] + fri[3:], "p": [1.0, 2.0, 4.0, 5.0]}))
    spot = hedging.changes(pl.DataFrame({"date": fri, "p": [1.0, 2.0, 2.5, 3.0, 3.5]}))
    with pytest.raises(InputError, match=r"unequal length.*2024-02-23 spot_changes runs from "
                                         r"2024-02-16 but futures_changes from 2024-02-09"):
        hedging.hedge_ratio(spot, fut, how="inner")
    with pytest.raises(InputError, match="unequal length"):
        hedging.pair_changes(spot, fut, lag=0)
    full = hedging.changes(hedging.weekly(pl.DataFrame({"date": fri[:2] + fri[3:],
                                                        "p": [1.0, 2.0, 4.0, 5.0]})), column="p")
    p = hedging.pair_changes(spot, full, lag=0)
    assert p["status"].to_list() == ["both_missing", "ok", "futures_missing", "futures_missing", "ok"]
    assert p["spot_date"].to_list() == fri
    lagged = hedging.pair_changes(spot, full, lag=1)
    assert lagged["spot_date"].to_list() == [None, *fri[:4]]
    assert lagged.row(4, named=True)["spot_change"] == pytest.approx(0.5)
    with pytest.raises(InputError, match="lag"):
        hedging.pair_changes(spot, full, lag=-1)
    with pytest.raises(TypeError):
        hedging.pair_changes(spot, full)  # type: ignore[call-arg]
    with pytest.raises(InputError, match="from_date"):
        hedging.pair_changes(spot.drop("from_date"), full, lag=0)
