"""Roll schedules (cnfutures.frames.roll).

Expected dates are worked out by hand from the exchange calendar (2025 holidays per the State
Council schedule: Dragon Boat 2025-05-31..06-02, National Day 2025-10-01..08) and the
last-trading-day rules in /work/shared/reference/market-facts.md (sc: last trading day of the
month before delivery; i: 10th trading day of the delivery month).
"""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from cnfutures.errors import DataError, InputError
from cnfutures.frames import RollRule, roll_schedule

D = dt.date


def _held(s: pl.DataFrame, day: str) -> str:
    return str(s.filter(pl.col("trading_day") == D.fromisoformat(day))["contract"][0])


def test_sc_calendar_rule_2025() -> None:
    s = roll_schedule(RollRule(days_before_ltd=5), "sc", start="2025-01-01", end="2025-12-31")
    assert s.columns == ["trading_day", "contract", "next_contract", "roll"]
    assert s.schema["trading_day"] == pl.Date and s.schema["roll"] == pl.Boolean
    # sc2507 LTD = 2025-06-30 (last June trading day; README of shared data: "sc2507 expired
    # 2025-06-30"). 5 trading days before: 06-27, 06-26, 06-25, 06-24, 06-23 -> hold sc2508 from 06-23.
    assert _held(s, "2025-06-20") == "sc2507"
    assert _held(s, "2025-06-23") == "sc2508"
    row = s.filter(pl.col("trading_day") == D(2025, 6, 23)).row(0, named=True)
    assert row["roll"] is True and row["next_contract"] == "sc2509"
    # sc2506 LTD = 2025-05-30 (May 31 is a Saturday inside the Dragon Boat block);
    # 5 trading days before: 05-29, 28, 27, 26, 23 -> sc2507 from 2025-05-23.
    assert _held(s, "2025-05-22") == "sc2506" and _held(s, "2025-05-23") == "sc2507"
    # sc2511 LTD = 2025-10-31; 5 before: 10-30, 29, 28, 27, 24 -> sc2512 from 2025-10-24.
    assert _held(s, "2025-10-23") == "sc2511" and _held(s, "2025-10-24") == "sc2512"
    # one roll per month, first row never a roll; 2025 has 243 trading days (SSE calendar)
    assert s.height == 243
    assert s["roll"][0] is False
    assert s["roll"].sum() == 12
    # roll flag is exactly "contract changed from the previous row"
    changed = (s["contract"] != s["contract"].shift(1)).fill_null(False)
    assert (changed == s["roll"]).all()


def test_days_before_ltd_zero_rolls_on_the_ltd() -> None:
    s = roll_schedule(RollRule(days_before_ltd=0), "sc", start="2025-06-26", end="2025-07-01")
    assert s["contract"].to_list() == ["sc2507", "sc2507", "sc2508", "sc2508"]  # 06-26, 27, 30, 07-01
    assert s["roll"].to_list() == [False, False, True, False]


def test_before_stage_iron_ore_main_months() -> None:
    rule = RollRule(before_stage="month_before_delivery", months=(1, 5, 9))
    s = roll_schedule(rule, "i", start="2025-01-01", end="2025-12-31")
    rolls = s.filter("roll").select("trading_day", "contract").rows()
    # i2505 stage "month_before_delivery" starts 2025-04-01 -> roll on 2025-03-31 into i2509;
    # i2509 stage starts 2025-08-01 (Fri) -> roll on 2025-07-31 into i2601;
    # i2601 stage starts 2025-12-01 (Mon) -> roll on 2025-11-28 (Fri) into i2605.
    assert rolls == [(D(2025, 3, 31), "i2509"), (D(2025, 7, 31), "i2601"), (D(2025, 11, 28), "i2605")]
    assert _held(s, "2025-01-02") == "i2505"


def test_earlier_of_stage_and_ltd_wins() -> None:
    # sc2507: month_before_delivery starts 2025-06-03 (first June trading day after the
    # Dragon Boat holiday) -> roll on 2025-05-30; LTD-5 would be 2025-06-23. Earlier wins.
    rule = RollRule(days_before_ltd=5, before_stage="month_before_delivery")
    s = roll_schedule(rule, "sc", start="2025-05-26", end="2025-06-25")
    assert _held(s, "2025-05-29") == "sc2507"
    assert _held(s, "2025-05-30") == "sc2508"
    # but with a large days_before_ltd the LTD rule is earlier: sc2507 LTD 2025-06-30 minus
    # 40 trading days (June has 19 trading days up to 06-27 plus the LTD...) lies in April.
    s2 = roll_schedule(
        RollRule(days_before_ltd=40, before_stage="month_before_delivery"),
        "sc",
        start="2025-05-26",
        end="2025-05-30",
    )
    assert set(s2["contract"].to_list()) <= {"sc2508", "sc2509"}


def test_days_argument_and_non_trading_day() -> None:
    days = pl.Series([D(2025, 6, 20), D(2025, 6, 23)])
    s = roll_schedule(RollRule(), "sc", days)
    assert s["contract"].to_list() == ["sc2507", "sc2508"]
    with pytest.raises(InputError, match="2025-06-21"):
        roll_schedule(RollRule(), "sc", pl.Series([D(2025, 6, 21)]))


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"days_before_ltd": -1}, "days_before_ltd=-1"),
        ({"before_stage": "nope"}, "before_stage='nope'"),
        ({"confirm_days": 0}, "confirm_days"),
        ({"kind": "oi"}, "kind='oi'"),
        ({"months": (13,)}, "months"),
    ],
)
def test_bad_rules(kwargs: dict[str, object], match: str) -> None:
    with pytest.raises(InputError, match=match):
        RollRule(**kwargs)  # type: ignore[arg-type]


def test_stage_the_product_does_not_use() -> None:
    with pytest.raises(InputError, match="delivery_month"):
        roll_schedule(RollRule(before_stage="delivery_month"), "sc", start="2025-01-02", end="2025-01-10")


def test_month_the_product_does_not_list() -> None:
    with pytest.raises(InputError, match="ru"):
        roll_schedule(RollRule(months=(2,)), "ru", start="2025-01-02", end="2025-01-10")


def test_no_eligible_contract_names_the_day() -> None:
    # ru2601: LTD 2026-01-15, listed 2025-01-16 (after ru2501 expired); 300 trading days
    # before its LTD is in 2024, before it was listed, so it is never eligible; ru2701 is not
    # listed in June 2025 -> nothing to hold.
    with pytest.raises(InputError, match=r"on 2025-06-03 \(2 such day"):  # 06-02 is Dragon Boat
        roll_schedule(RollRule(days_before_ltd=300, months=(1,)), "ru", start="2025-06-02", end="2025-06-04")


def _oi_frame() -> pl.DataFrame:
    days = [D(2025, 6, d) for d in (3, 4, 5, 6, 9, 10, 11, 12, 13)]
    # a: front, b: next, c: far
    oi = {
        "i2507": [100, 100, 100, 100, 100, 100, 100, 100, 100],
        "i2509": [50, 150, 50, 150, 150, 150, 90, 90, 90],  # noisy 1-day lead on 06-04
        "i2601": [10, 10, 10, 10, 10, 10, 200, 10, 10],
    }
    rows = [(d, c, v[k]) for c, v in oi.items() for k, d in enumerate(days)]
    return pl.DataFrame(
        rows, schema={"trading_day": pl.Date, "contract": pl.String, "open_interest": pl.Int64}, orient="row"
    )


def test_open_interest_rule_with_confirmation() -> None:
    s = roll_schedule(RollRule(kind="open_interest", confirm_days=3), "i", data=_oi_frame())
    # i2509 leads on 06-04 only (1 day: no switch), then on 06-06, 06-09, 06-10 (3 days) ->
    # held from the next trading day 06-11. i2601 leads one day (06-11): no switch. i2507
    # leads again on 06-12/13 but is an earlier expiry: never switched back.
    assert s["contract"].to_list() == ["i2507"] * 6 + ["i2509"] * 3
    assert s.filter("roll")["trading_day"].to_list() == [D(2025, 6, 11)]
    assert s["next_contract"][0] == "i2509"
    s1 = roll_schedule(RollRule(kind="open_interest", confirm_days=1), "i", data=_oi_frame())
    # confirm 1: i2509 leads 06-04 -> held 06-05; i2601 leads 06-11 -> held 06-12
    assert s1["contract"].to_list() == [
        "i2507",
        "i2507",
        "i2509",
        "i2509",
        "i2509",
        "i2509",
        "i2509",
        "i2601",
        "i2601",
    ]


def test_volume_rule_needs_data_and_column() -> None:
    with pytest.raises(InputError, match="data="):
        roll_schedule(RollRule(kind="volume"), "i", start="2025-06-02", end="2025-06-05")
    with pytest.raises(InputError, match="volume"):
        roll_schedule(RollRule(kind="volume"), "i", data=_oi_frame())


def test_open_interest_rule_foreign_contract() -> None:
    bad = _oi_frame().with_columns(pl.lit("sc2509").alias("contract"))
    with pytest.raises(DataError, match="sc2509"):
        roll_schedule(RollRule(kind="open_interest"), "i", data=bad)
