"""Contracts: codes, last trading days, delivery, listing, stages; products table."""

from __future__ import annotations

import datetime as dt

import pytest

import cnfutures
from cnfutures import UnknownContract, UnknownProduct

D = dt.date


@pytest.mark.parametrize(
    ("code", "ltd", "first_delivery", "last_delivery", "source"),
    [
        # INE rule: last trading day of the month before delivery (fact sheet example SC2505)
        ("sc2505", D(2025, 4, 30), D(2025, 5, 6), D(2025, 5, 12), "market-facts §1.1"),
        # CC0 data README: sc2507 expired 2025-06-30
        ("sc2507", D(2025, 6, 30), D(2025, 7, 1), D(2025, 7, 7), "shared/data README §2"),
        # National Day 2025: September's last trading day is 09-30
        ("sc2510", D(2025, 9, 30), D(2025, 10, 9), D(2025, 10, 15), "holiday month"),
        # Spring Festival 2026: February's last trading day is 02-27
        ("sc2603", D(2026, 2, 27), D(2026, 3, 2), D(2026, 3, 6), "holiday month"),
        # DCE notice No. 347 [2020]: I2009 LTD 2020-09-14, last delivery 2020-09-17
        ("i2009", D(2020, 9, 14), D(2020, 9, 15), D(2020, 9, 17), "DCE notice 347 [2020]"),
        # National Day 2025: 10th trading day of October 2025 is 10-22 (Oct 1-8 closed)
        ("i2510", D(2025, 10, 22), D(2025, 10, 23), D(2025, 10, 27), "holiday month"),
        # Spring Festival 2026: 10th trading day of February is 02-13
        ("i2602", D(2026, 2, 13), D(2026, 2, 24), D(2026, 2, 26), "holiday month"),
        # INE NR page snapshot 2025-03-20: nr2504 LTD 04-15, delivery 04-16 to 04-22
        ("nr2504", D(2025, 4, 15), D(2025, 4, 16), D(2025, 4, 22), "INE NR snapshot"),
        ("nr2508", D(2025, 8, 15), D(2025, 8, 18), D(2025, 8, 22), "INE NR snapshot"),
        # SHFE snapshots: ru2008 delivery 08-18..08-24 (5 days), ru2010 10-16..10-20 (3 days)
        ("ru2008", D(2020, 8, 17), D(2020, 8, 18), D(2020, 8, 24), "SHFE RU snapshot 2020"),
        ("ru2010", D(2020, 10, 15), D(2020, 10, 16), D(2020, 10, 20), "SHFE RU snapshot 2020"),
        ("ru2303", D(2023, 3, 15), D(2023, 3, 16), D(2023, 3, 20), "SHFE RU snapshot 2023"),
        # 15th is a Sunday -> next trading day
        ("ru2506", D(2025, 6, 16), D(2025, 6, 17), D(2025, 6, 19), "calendar rule"),
    ],
)
def test_last_trading_and_delivery_days(code, ltd, first_delivery, last_delivery, source) -> None:
    c = cnfutures.contract(code)
    assert c.last_trading_day == ltd, source
    assert c.first_delivery_day == first_delivery, source
    assert c.last_delivery_day == last_delivery, source


def test_nr2602_spring_festival() -> None:
    # The 2025-03-20 INE snapshot listed 2026-02-16 provisionally; that day fell inside the 2026
    # Spring Festival closure, so the rule (15th, or the next trading day) gives 2026-02-24.
    assert cnfutures.contract("nr2602").last_trading_day == D(2026, 2, 24)


def test_code_parsing() -> None:
    assert cnfutures.contract("SC2505").code == "sc2505"
    assert cnfutures.contract(" i2509 ").product.exchange == "DCE"
    for bad in ("ru2502", "ru2512", "sc25", "xx2505", "sc2513", "TA505"):
        with pytest.raises(UnknownContract, match=bad.strip()[:2]):
            cnfutures.contract(bad)


def test_listing_and_listed_contracts() -> None:
    # INE circular 2026-02-09 lists SC2903 when SC2603 expires: 12 monthly + 8 quarterly
    listed = [c.code for c in cnfutures.listed_contracts("sc", "2026-03-02")]
    assert len(listed) == 20 and listed[0] == "sc2604" and listed[-1] == "sc2903"
    # all 12 months for iron ore
    assert len(cnfutures.listed_contracts("i", "2025-06-27")) == 12
    # rubber has no Feb/Dec contracts
    ru = [c.code for c in cnfutures.listed_contracts("ru", "2025-06-27")]
    assert all(not c.endswith(("02", "12")) for c in ru)
    with pytest.raises(UnknownContract, match="2019-08-12"):
        cnfutures.listed_contracts("nr", "2019-06-03")


def test_stages() -> None:
    c = cnfutures.contract("i2509")
    assert c.stage("2025-06-27") == "general"
    assert c.stage("2025-08-01") == "month_before_delivery"
    assert c.stage("2025-08-21") == "month_before_delivery_day15"  # 15th trading day of Aug
    assert c.stage("2025-09-01") == "delivery_month"
    assert c.stage("2025-09-15") == "delivery"
    assert c.stage("2025-09-18") == "expired"
    sc = cnfutures.contract("sc2505")
    assert sc.stage("2025-03-03") == "second_month_before_delivery"
    assert sc.stage("2025-04-28") == "last_days"  # 2nd trading day before the LTD 04-30
    with pytest.raises(UnknownContract, match="lists on"):
        sc.stage("2023-01-03")


def test_products_table() -> None:
    codes = {p.code for p in cnfutures.products()}
    assert {"sc", "i", "nr", "ru"} <= codes
    sc = cnfutures.product("sc")
    # market-facts §1.1: 1000 bbl/lot, tick 0.1 CNY/bbl, ex-tax, open to foreigners 2018-03-26
    assert (sc.multiplier, sc.tick, sc.tax_inclusive, sc.foreign_open) == (1000.0, 0.1, False, D(2018, 3, 26))
    i = cnfutures.product("i")
    assert (i.multiplier, i.tick, i.tax_inclusive, i.foreign_open) == (100.0, 0.5, True, D(2018, 5, 4))
    assert i.first_foreign_contract == "i1809"
    ru = cnfutures.product("ru")
    assert ru.months == (1, 3, 4, 5, 6, 7, 8, 9, 10, 11) and ru.foreign_open is None
    assert cnfutures.product("nr").night_session("2025-06-27").close == dt.time(23, 0)
    assert all(p.sources for p in cnfutures.products())
    assert not cnfutures.product("sc").verified and "first_contract" in sc.unverified
    with pytest.raises(UnknownProduct, match="known products"):
        cnfutures.product("cu")
