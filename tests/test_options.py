"""Option contracts as data: codes, expiry rules, strike grids, listed strikes, margin, fees, limits.

Expiry dates are checked against brokers' expiry notices that reprint the exchanges' dates:
T1 = tianchangspin.com 2023-10-12 notice (RU2311, I2312, SC2312),
T2 = sodofun.com 2023-05-08 notice (RU2306, I2307, SC2307),
T3 = Donghua Futures 2023-11-30 notice https://www.dhfutures.com/gstz/56179.jhtml (I2401, SC2401, RU2401).
"""

from __future__ import annotations

import datetime as dt

import pytest

from cnfutures.errors import CalendarOutOfBounds, InputError, RuleNotFound, UnknownContract, UnknownProduct
from cnfutures.market.options import (
    listed_options,
    listed_strikes,
    option,
    option_fee,
    option_margin,
    option_max_order,
    option_price_limit,
    option_product,
    short_margin,
)
from cnfutures.market.rules import RuleBook


@pytest.mark.parametrize(
    ("text", "code", "under", "kind", "strike"),
    [
        ("sc2509C490", "sc2509C490", "sc2509", "call", 490.0),
        ("SC2509C490", "sc2509C490", "sc2509", "call", 490.0),
        ("sc2509c490", "sc2509C490", "sc2509", "call", 490.0),
        ("SC2509-C-490", "sc2509C490", "sc2509", "call", 490.0),
        ("INE.sc2509P490", "sc2509P490", "sc2509", "put", 490.0),
        ("i2509-C-700", "i2509-C-700", "i2509", "call", 700.0),
        ("I2509-P-700", "i2509-P-700", "i2509", "put", 700.0),
        ("i2509C700", "i2509-C-700", "i2509", "call", 700.0),
        ("DCE.i2509-c-700", "i2509-C-700", "i2509", "call", 700.0),
        ("ru2509C15000", "ru2509C15000", "ru2509", "call", 15000.0),
        ("RU1907C10750", "ru1907C10750", "ru1907", "call", 10750.0),  # JoinQuant example (S14)
        ("SHFE.ru2509P14750", "ru2509P14750", "ru2509", "put", 14750.0),
    ],
)
def test_codes_parse_in_every_exchange_form_and_print_in_the_exchanges_style(
    text: str, code: str, under: str, kind: str, strike: float
) -> None:
    o = option(text)
    assert (o.code, o.underlying.code, o.kind, o.strike, str(o)) == (code, under, kind, strike, code)
    assert o.style == "american"  # all three: S1/S4 (sc), S8/S13/S11 (i), S5/S13 (ru)


def test_specs() -> None:
    sc, i, ru = option("sc2509C490"), option("i2509-C-700"), option("ru2509C15000")
    assert (sc.multiplier, sc.tick, sc.exchange) == (1000.0, 0.05, "INE")
    assert (i.multiplier, i.tick, i.exchange) == (100.0, 0.1, "DCE")
    assert (ru.multiplier, ru.tick, ru.exchange) == (10.0, 1.0, "SHFE")
    assert option_product("sc").qfi_from == dt.date(2022, 9, 2) == option_product("i").qfi_from
    assert option_product("sc").overseas_from == dt.date(2021, 6, 21)
    assert option_product("ru").qfi_from is None and option_product("i").overseas_from is None


@pytest.mark.parametrize(
    ("bad", "match"),
    [
        ("sc2509X490", "not of the form"),
        ("sc2509C", "not of the form"),
        ("sc25C490", "not of the form"),
        ("zz2509C490", "no options on product"),
        ("nr2509C12000", "UNVERIFIED"),
        ("DCE.sc2509C490", "not the exchange"),
        ("ru2502C15000", "lists no month 02"),
        ("sc2106C400", "from the sc2109 series"),
        ("i2001-C-600", "from the i2002 series"),
        ("sc2509C493", "nearest strikes: 490, 495"),
        ("sc2509C505", "nearest strikes: 500, 510"),
        ("sc2509C249", "nearest strikes: 248, 250"),
        ("i2509-C-705", "nearest strikes: 700, 710"),
        ("ru2509C15100", "nearest strikes: 15000, 15250"),
        ("sc2509C1", "nearest strikes: 2, 2"),
        ("sc2509C0", "nearest strikes: 2, 2"),
        ("sc2509C490.5", "not on the sc strike grid"),
    ],
)
def test_bad_codes_are_typed_errors_naming_the_value(bad: str, match: str) -> None:
    with pytest.raises(UnknownContract, match=match) as e:
        option(bad)
    assert bad in str(e.value)


def test_far_series_beyond_the_calendar_parses() -> None:
    o = option("sc3012C500")  # sc3012 lists in 2027; its expiry lies beyond the calendar's data
    assert o.code == "sc3012C500"
    with pytest.raises(CalendarOutOfBounds):
        _ = o.expiry


def test_non_string_code() -> None:
    with pytest.raises(UnknownContract, match="must be a string"):
        option(2509)  # type: ignore[arg-type]
    with pytest.raises(UnknownProduct, match="options known"):
        option_product("nr")


@pytest.mark.parametrize(
    ("code", "expiry"),
    [
        ("ru2311C14000", dt.date(2023, 10, 25)),  # T1: 5th-to-last trading day of October
        ("i2312-C-900", dt.date(2023, 11, 7)),  # T1: 5th trading day of November (old DCE rule)
        ("sc2312C600", dt.date(2023, 11, 14)),  # T1: 13th-to-last trading day of November
        ("ru2306C12000", dt.date(2023, 5, 25)),  # T2
        ("i2307-C-800", dt.date(2023, 6, 7)),  # T2
        ("sc2307C550", dt.date(2023, 6, 12)),  # T2
        ("i2401-C-900", dt.date(2023, 12, 7)),  # T3
        ("sc2401C550", dt.date(2023, 12, 13)),  # T3
        ("ru2401C14000", dt.date(2023, 12, 25)),  # T3
        ("sc2110C500", dt.date(2021, 9, 3)),  # S1/S4: moved by notice (holiday), data override
        ("i2412-C-700", dt.date(2024, 11, 7)),  # last series on the 5th trading day
        ("i2501-C-700", dt.date(2024, 12, 17)),  # S9: the 12th trading day from I2501 on
    ],
)
def test_expiry_matches_exchange_dates(code: str, expiry: dt.date) -> None:
    assert option(code).expiry == expiry


def test_expiry_rule_is_reported() -> None:
    assert option("i2501-C-700").expiry_rule[0] == "nth_trading_day_of_prior_month:12"
    assert option("i2412-C-700").expiry_rule[0] == "nth_trading_day_of_prior_month:5"
    assert option("sc2110C500").expiry_rule[0].startswith("override:")


def test_listing_window_and_errors() -> None:
    o = option("sc2509C490")
    assert o.is_listed("2025-06-03") and o.is_listed("2025-08-13")
    assert not o.is_listed("2025-08-14") and not o.is_listed("2025-06-07")  # after expiry; a Saturday
    with pytest.raises(UnknownContract, match="expired on 2025-08-13"):
        o.require_listed("2025-08-14")
    with pytest.raises(UnknownContract, match="options list on 2021-06-21"):
        option("sc2109C400").require_listed("2021-06-18")


def test_strike_grids() -> None:
    g = option_product("sc").grid()
    assert g.strikes(244, 262) == [244, 246, 248, 250, 255, 260]
    assert g.strikes(495, 520) == [495, 500, 510, 520]
    gi = option_product("i").grid()
    assert gi.strikes(290, 320) == [290, 295, 300, 310, 320] and gi.strikes(990, 1040) == [
        990,
        1000,
        1020,
        1040,
    ]
    gr = option_product("ru").grid()
    assert gr.strikes(9800, 10500) == [9800, 9900, 10000, 10250, 10500]
    assert gr.strikes(24750, 26000) == [24750, 25000, 25500, 26000]


def test_listed_strikes_cover_one_and_a_half_limits() -> None:
    # sc2509 on 2025-06-03, limit 9 % (rules.toml): 480.3 +- 1.5 x 43.227 = [415.46, 545.14]
    s = listed_strikes("sc2509", "2025-06-03", 480.3)
    assert s[0] == 415 and s[-1] == 550 and 490 in s and 505 not in s
    assert s[0] <= 480.3 - 1.5 * 43.227 and s[-1] >= 480.3 + 1.5 * 43.227
    assert s[1] > 480.3 - 1.5 * 43.227 and s[-2] < 480.3 + 1.5 * 43.227  # no more than needed
    rate = RuleBook.default().price_limit("ru2509", "2025-06-03").rate
    s = listed_strikes("ru2509", "2025-06-03", 14000.0)
    assert s[0] <= 14000 * (1 - 1.5 * rate) < s[1] and s[-2] < 14000 * (1 + 1.5 * rate) <= s[-1]
    f = listed_options("sc", "2025-06-03", {"sc2509": 480.3, "SC2510": 478.0})
    assert f.height == 2 * (23 + len(listed_strikes("sc2510", "2025-06-03", 478.0)))
    assert set(f["kind"]) == {"call", "put"} and f["option"][0] == "sc2509C415"
    with pytest.raises(UnknownContract, match="expired"):
        listed_strikes("sc2509", "2025-08-14", 480.0)
    with pytest.raises(InputError, match="prev_settle"):
        listed_strikes("sc2509", "2025-06-03", float("nan"))
    with pytest.raises(InputError, match="not a sc contract"):
        listed_options("sc", "2025-06-03", {"i2509": 700.0})


def test_short_margin_hand_computed() -> None:
    # INE options handbook (risk control, S3): max(settle x 1000 + Fm - 1/2 OTM, settle x 1000 + 1/2 Fm)
    # sc2509, 11 % speculative margin on 2025-06-03 (rules.toml), F = 480.3:
    # Fm = 480.3 x 1000 x 0.11 = 52,833
    m = option_margin("sc2509C490", "2025-06-03", 12.5, 480.3)
    # call OTM = (490 - 480.3) x 1000 = 9,700: 12,500 + max(52,833 - 4,850, 26,416.5) = 60,483
    assert m.margin == pytest.approx(60483.0, abs=1e-6)
    assert (m.floor, m.futures_rate, m.otm_amount) == (0.5, 0.11, pytest.approx(9700.0))
    # sc floor row verified (INE handbook): the flag is the futures margin row's
    assert m.verified is RuleBook.default().margin_rate("sc2509", "2025-06-03").verified
    # deep OTM put K=300: OTM = 180,300; Fm - 90,150 < 26,416.5 -> the floor: 50 + 26,416.5
    m = option_margin("sc2509P300", "2025-06-03", 0.05, 480.3)
    assert m.margin == pytest.approx(50.0 + 26416.5, abs=1e-6)
    # in the money: no OTM reduction
    assert option_margin("sc2509P500", "2025-06-03", 25.0, 480.3).margin == pytest.approx(
        25000 + 52833, abs=1e-6
    )
    # DCE iron ore, 100 t: put K=700, F=702, 2.5 premium; margin rate from the rule book
    rate = RuleBook.default().margin_rate("i2509", "2025-06-03").value
    fm = 702.0 * 100 * rate
    want = 250.0 + max(fm - 0.5 * 200.0, 0.5 * fm)
    assert option_margin("i2509-P-700", "2025-06-03", 2.5, 702.0).margin == pytest.approx(want, abs=1e-9)
    assert short_margin(0.0, 100.0, 100.0, -1, 10.0, 0.1, 0.5) == pytest.approx(100.0)


def test_margin_floor_override_and_hedge_rate() -> None:
    b = RuleBook.default().with_override("option_margin_floor", "sc", 0.75, effective="2025-01-02")
    m = option_margin("sc2509P300", "2025-06-03", 0.05, 480.3, book=b)
    assert m.margin == pytest.approx(50.0 + 0.75 * 52833.0, abs=1e-6) and m.floor == 0.75
    h = option_margin("sc2509C490", "2025-06-03", 12.5, 480.3, hedge=True)
    rate = RuleBook.default().margin_rate("sc2509", "2025-06-03", hedge=True).value
    assert h.futures_rate == rate


def test_rules_missing_before_listing_are_typed() -> None:
    b = RuleBook.default()
    with pytest.raises(UnknownContract):
        option_margin("sc2109C400", "2021-06-18", 1.0, 400.0, book=b)
    with pytest.raises(InputError, match="option_settle"):
        option_margin("sc2509C490", "2025-06-03", float("inf"), 480.3)


def test_no_rule_row_is_rule_not_found() -> None:
    from cnfutures.market.ruletable import RuleTable

    table = RuleTable.default()
    rows = tuple(r for r in table.rows if r.parameter != "option_fee")
    b = RuleBook(RuleTable(rows=rows, conventions=table.conventions))
    with pytest.raises(RuleNotFound, match="no option_fee rule for sc2509C490"):
        option_fee("sc2509C490", "2025-06-03", book=b)


def test_fees_and_order_size() -> None:
    f = option_fee("ru2509C15000", "2025-06-03")  # SHFE launch notice: 3 RMB, close-today free
    assert (f.open, f.close, f.close_today, f.exercise, f.verified) == (3.0, 3.0, 0.0, 3.0, True)
    f = option_fee("sc2509C490", "2025-06-03")
    assert (f.open, f.exercise, f.verified) == (10.0, 10.0, False)
    assert option_fee("i2509-C-700", "2025-06-03").exercise == 2.0
    assert option_max_order("sc2509C490", "2025-06-03")[0] == 100.0
    assert option_max_order("ru2509C15000", "2025-06-03")[0] == 100.0


def test_option_price_limit_uses_the_underlyings_amount() -> None:
    # INE handbook (risk control): upper = prev option settle + prev futures settle x limit rate,
    # lower = max(prev option settle - that amount, one tick)
    lim = option_price_limit("sc2509C490", "2025-06-03", 12.5, 480.3)
    assert lim.rate == 0.09 and lim.amount == pytest.approx(43.227)
    assert lim.upper == 55.7 and lim.lower == 0.05  # 55.727 rounded down to the 0.05 tick
    lim = option_price_limit("sc2509P440", "2025-06-03", 60.0, 480.3)
    assert lim.lower == pytest.approx(16.8)  # 16.773 rounded up to the tick
    lim = option_price_limit("ru2509C15000", "2025-06-03", 300.0, 14000.0)
    rate = RuleBook.default().price_limit("ru2509", "2025-06-03").rate
    assert lim.amount == pytest.approx(14000 * rate) and lim.upper == float(int(300 + 14000 * rate))


def test_exercise_rules_dated() -> None:
    i = option_product("i")
    assert i.exercise_rule("2025-06-23").abandon is False and i.exercise_rule("2025-06-24").abandon is True
    assert option_product("sc").exercise_rule("2025-06-03").auto_exercise == "in_the_money"
    with pytest.raises(RuleNotFound):
        i.exercise_rule("2019-01-02")
