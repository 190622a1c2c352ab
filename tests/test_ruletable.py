"""The dated rule table: timing conventions, temporary rows, scopes, resolution, load-time checks.

Synthetic rows on the real INE/DCE calendars; the expected days are counted by hand from the
calendars' holiday lists (holidays.toml, verified 2024-2026).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from cnfutures import InputError, RuleNotFound
from cnfutures.market.rules import RuleBook, limit_band
from cnfutures.market.ruletable import Cells, RuleTable

D = dt.date
CONV = RuleTable.default().conventions


def row(**kw: Any) -> dict[str, Any]:
    base = {"product": "i", "source": "test", "verified": True}
    return {**base, **kw}


def table(**params: list[dict[str, Any]]) -> RuleTable:
    return RuleTable.from_dict(params, origin="test", conventions=CONV)


def values(t: RuleTable, parameter: str, code: str, days: list[str], **kw: Any) -> list[float]:
    return t.compile(parameter, [code], days, **kw).value[0].tolist()


def test_settlement_timing_shifts_price_limits_not_margins() -> None:
    # "from the settlement of 2025-06-03": margin charged at that settlement, the band from 06-04
    t = table(
        margin=[row(effective="2025-01-02", timing="trading_day", value=0.10),
                row(effective="2025-06-03", timing="settlement", value=0.12)],
        price_limit=[row(effective="2025-01-02", timing="trading_day", value=0.08),
                     row(effective="2025-06-03", timing="settlement", value=0.10)],
    )  # fmt: skip
    days = ["2025-06-02", "2025-06-03", "2025-06-04"]
    assert values(t, "margin", "i2509", days) == [0.10, 0.12, 0.12]
    assert values(t, "price_limit", "i2509", days) == [0.08, 0.08, 0.10]


def test_a_settlement_needs_a_trading_day() -> None:
    with pytest.raises(InputError, match=r"row 1: 2025-06-01 is not a DCE trading day"):
        table(margin=[row(effective="2025-06-01", timing="settlement", value=0.1)])


def test_holiday_row_reverts_after_reopening() -> None:
    # Spring Festival 2025: DCE closed 2025-01-28 .. 2025-02-04, reopened Wednesday 2025-02-05
    t = table(
        margin=[row(effective="2025-01-02", timing="trading_day", value=0.11),
                row(effective="2025-01-24", timing="settlement", until="reopen", value=0.14)],
        price_limit=[row(effective="2025-01-02", timing="trading_day", value=0.09),
                     row(effective="2025-01-24", timing="settlement", until="reopen", value=0.12)],
    )  # fmt: skip
    days = ["2025-01-23", "2025-01-24", "2025-01-27", "2025-02-05", "2025-02-06"]
    assert values(t, "margin", "i2505", days) == [0.11, 0.14, 0.14, 0.11, 0.11]
    assert values(t, "price_limit", "i2505", days) == [0.09, 0.09, 0.12, 0.12, 0.09]
    # with the most-active contract locked on the reopening day, the end moves one trading day on
    locked = np.array([False, False, False, True, False])
    assert values(t, "margin", "i2505", days, locked=locked) == [0.11, 0.14, 0.14, 0.14, 0.11]
    assert values(t, "price_limit", "i2505", days, locked=locked) == [0.09, 0.09, 0.12, 0.12, 0.12]


def test_until_date_and_higher_of_overlapping_levels() -> None:
    t = table(
        margin=[row(effective="2025-01-02", timing="trading_day", value=0.11),
                row(effective="2025-03-03", timing="trading_day", until="2025-03-05", value=0.09),
                row(effective="2025-03-10", timing="trading_day", until="2025-03-12", value=0.15)],
    )  # fmt: skip
    days = ["2025-03-03", "2025-03-04", "2025-03-05", "2025-03-10", "2025-03-11", "2025-03-12"]
    # a temporary level lower than the standing one does not lower it (the higher prevails)
    assert values(t, "margin", "i2505", days) == [0.11, 0.11, 0.11, 0.15, 0.15, 0.11]


def test_contract_scopes_list_and_open_range() -> None:
    t = table(
        margin=[row(effective="2025-01-02", timing="trading_day", value=0.10),
                row(effective="2025-03-03", timing="trading_day", contracts=["i2505"], value=0.13),
                row(effective="2025-03-03", timing="trading_day", contract_from="i2601", value=0.12)],
    )  # fmt: skip
    c = t.compile("margin", ["i2505", "i2509", "i2601", "i2603"], ["2025-03-17"])  # i2603 lists 03-17
    assert c.value[:, 0].tolist() == [0.13, 0.10, 0.12, 0.12]


def test_fees_take_the_most_specific_row_and_limits_the_lowest() -> None:
    fee = {"basis": "per_turnover", "open": 1e-4, "close": 1e-4, "close_today": 1e-4}
    t = table(
        fee=[row(effective="2025-01-02", **fee),
             row(effective="2025-01-02", contracts=["i2509"], **{**fee, "open": 2e-4})],
        position_limit=[row(effective="2025-01-02", value=5000),
                        row(effective="2025-01-02", stage="delivery_month", value=2000),
                        row(effective="2025-01-02", stage="delivery_month", holder="individual", value=0)],
    )  # fmt: skip
    c = t.compile("fee", ["i2505", "i2509"], ["2025-03-03"])
    assert c.field("open").tolist() == [1e-4, 2e-4]  # per live cell, sorted by day then contract
    days = ["2025-03-03", "2025-09-01"]
    assert values(t, "position_limit", "i2509", days) == [5000, 2000]
    assert values(t, "position_limit", "i2509", days, holder="individual") == [5000, 0]


def test_hedge_rows_and_latest_effective_within_a_class() -> None:
    t = table(
        margin=[row(effective="2025-01-02", timing="trading_day", hedge=False, value=0.12),
                row(effective="2025-01-02", timing="trading_day", hedge=True, value=0.10),
                row(effective="2025-03-03", timing="trading_day", value=0.15)],
    )  # fmt: skip
    days = ["2025-02-03", "2025-03-03"]
    assert values(t, "margin", "i2505", days) == [0.12, 0.15]
    assert values(t, "margin", "i2505", days, hedge=True) == [0.10, 0.15]


def test_no_value_outside_a_contracts_life() -> None:
    t = table(margin=[row(effective="2013-10-18", timing="trading_day", value=0.1)])
    # i2505: LTD 2025-05-19 (10th trading day of May: 6, 7, 8, 9, 12, ..., 16, 19): nothing after it
    v = values(t, "margin", "i2505", ["2025-05-19", "2025-05-20"])
    assert v[0] == 0.1 and np.isnan(v[1])


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        ([row(effective="2025-01-02", value=0.1, colour="red")], r"unknown field\(s\) \['colour'\]"),
        ([{"product": "i", "effective": "2025-01-02", "value": 0.1, "verified": True}],
         "'source' is missing"),
        ([row(effective="2025-03-03", until="2025-03-01", value=0.1)], "until=2025-03-01 is not after"),
        ([row(effective="2025-01-02", contracts=["i1301"], value=0.1)], "'i1301' never existed"),
        ([row(effective="2025-01-02", contracts=["sc2509"], value=0.1)], "is not a i contract"),
        ([row(effective="2025-01-02", value=11.0)], "decimal fraction"),
        ([row(effective="2025-01-02", value=0.1, stage="someday")], "stage='someday'"),
        ([row(effective="2025-01-02", value=0.1), row(effective="2025-01-02", value=0.2)], "overlap: test: "
         r"\[\[margin\]\] row 1 and test: \[\[margin\]\] row 2"),
    ],
)
def test_bad_rows_are_typed_errors_naming_the_row(rows: list[dict[str, Any]], message: str) -> None:
    with pytest.raises(InputError, match=message):
        table(margin=[{**r, "timing": "trading_day"} for r in rows])


def test_user_file_layers_over_the_shipped_table(tmp_path: Path) -> None:
    p = tmp_path / "broker.toml"
    p.write_text(
        '[[margin]]\nproduct = "i"\neffective = 2025-06-03\ntiming = "trading_day"\nvalue = 0.2\n'
        'source = "my futures firm"\nverified = true\n\n'
        '[[margin]]\nproduct = "i"\neffective = 2025-06-03\ntiming = "trading_day"\nvalue = 0.3\n'
        'source = "typo: a second row in the same slot"\nverified = true\n'
    )
    with pytest.raises(InputError, match=rf"{p.name}: \[\[margin\]\] row 1 and .* row 2"):
        RuleBook.default().with_file(p)
    p.write_text(
        '[[margin]]\nproduct = "i"\neffective = 2025-06-03\nvalu = 0.2\nsource = "x"\nverified = true\n'
    )
    with pytest.raises(InputError, match=rf"{p.name}: \[\[margin\]\] row 1: unknown field"):
        RuleBook.default().with_file(p)


def test_missing_first_day_multiplier_is_an_error_not_one() -> None:
    rows = {
        "price_limit": [row(effective="2013-10-18", timing="trading_day", value=0.04)],
        "margin": [row(effective="2013-10-18", timing="trading_day", value=0.05)],
    }
    book = RuleBook.from_dict(rows)
    with pytest.raises(RuleNotFound, match="first_day_limit_multiplier"):
        book.price_limit("i2509", "2024-09-18")  # i2509's first trading day (after i2409's LTD)
    with pytest.raises(RuleNotFound, match="first_day_limit_multiplier"):
        book.day_rules(["i2509"], ["2024-09-18"])


def test_cells_are_the_live_contract_days_with_their_stage() -> None:
    c = Cells.build(["i2509", "i2505"], ["2025-05-19", "2025-05-20", "2025-09-01"])
    got = sorted(zip(c.code_of.tolist(), c.day.tolist(), c.stage.tolist(), strict=True))
    epoch = D(1970, 1, 1)
    from cnfutures.market.contracts import STAGES

    want = sorted(
        [
            ("i2505", (D(2025, 5, 19) - epoch).days, STAGES.index("delivery_month")),
            ("i2509", (D(2025, 5, 19) - epoch).days, STAGES.index("general")),
            ("i2509", (D(2025, 5, 20) - epoch).days, STAGES.index("general")),
            ("i2509", (D(2025, 9, 1) - epoch).days, STAGES.index("delivery_month")),
        ]
    )
    assert got == want


def test_limit_band_matches_a_decimal_reference() -> None:
    # the band computed with exact decimals, rounded inward to the tick
    from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal

    rng = np.random.default_rng(5)
    prev = np.round(rng.uniform(300, 900, 2000) * 10) / 10
    rate = rng.choice([0.04, 0.05, 0.07, 0.08, 0.09, 0.1, 0.12, 0.2], 2000)
    for tick in (0.1, 0.5, 5.0):
        up, dn = limit_band(prev, rate, tick)
        for p, r, u, d in zip(prev, rate, up, dn, strict=True):
            pd_, rd, td = Decimal(repr(float(p))), Decimal(repr(float(r))), Decimal(repr(tick))
            want_u = (pd_ * (1 + rd) / td).to_integral_value(ROUND_FLOOR) * td
            want_d = (pd_ * (1 - rd) / td).to_integral_value(ROUND_CEILING) * td
            assert (u, d) == (float(want_u), float(want_d)), (p, r, tick)


def test_backtest_resolves_the_holiday_end_on_its_own_prices() -> None:
    # DCE Spring Festival 2025 (大商所发〔2025〕34号): 14 % from the settlement of 2025-01-24, restored
    # from the settlement of the first trading day after reopening (2025-02-05) on which the contract
    # with the largest open interest is not limit-locked. Lock i2505 (largest OI) at limit-up on
    # 02-05: the raised margin must stay one more settlement.
    import polars as pl

    from cnfutures.access import Investor
    from cnfutures.backtest import Exposure, HedgePolicy, Market
    from cnfutures.backtest.engine import prepare

    base = Market.sample("i", "2025-01-02", "2025-03-31")
    oi = pl.when(pl.col("contract") == "i2505").then(900_000).otherwise(10_000).alias("open_interest")
    unlocked = Market(base.futures.with_columns(oi), base.prices, base.usd_cny)
    day = D(2025, 2, 5)
    f = unlocked.futures
    lim = f.filter((pl.col("contract") == "i2505") & (pl.col("trading_day") == day))["limit_up"].item()
    locked_f = f.with_columns(
        pl.when((pl.col("contract") == "i2505") & (pl.col("trading_day") == day))
        .then(lim)
        .otherwise(pl.col("settle"))
        .alias("settle")
    )
    locked = Market(locked_f, base.prices, base.usd_cny)
    args = (Exposure(10_000, "short", "spot"), HedgePolicy("i"), Investor("ff_client"))

    def margins(m: Market) -> list[float]:
        prep = prepare(m, *args, start="2025-01-02", end="2025-03-31")
        d = [prep.days.to_list().index(x) for x in (D(2025, 1, 24), day, D(2025, 2, 6))]
        k = prep.contracts.index("i2503")  # rolled into; not in its delivery month (product rows decide)
        return [round(float(prep.arrays["margin_rate"][k, j]), 4) for j in d]

    assert margins(unlocked) == [0.14, 0.11, 0.11]
    assert margins(locked) == [0.14, 0.14, 0.11]
