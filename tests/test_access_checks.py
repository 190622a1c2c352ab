"""Pre-trade checks, worked by hand.

Rule values used (market-facts; bundled in market/data/rules.toml):
* SC price limit ±9% from 2025-04-10 (INE circular 2025-04-09), general margin 11%, fee CNY 20/lot;
* SC daily opening limit 3,200 lots per contract since 2024-04-12 (INE circular 2024-04-10), hedging exempt;
* SC max order 500 lots (reelfinancial.com); SC position limits 3,000 / 1,500 / 500 lots by stage (2019);
* USD collateral at 0.95 of the central parity (§4).
"""

from __future__ import annotations

import datetime as dt

import pytest

from cnfutures.access import Account, Investor, Order, check_order
from cnfutures.errors import InputError, UnknownContract

DAY = "2025-06-03"  # sc2509 in its general stage (LTD 2025-08-29)
RICH = Account(cny_cash=1e9, prev_settle={"sc2509": 480.0})


def rules_of(d: object) -> list[str]:
    return [r.rule for r in d.reasons]  # type: ignore[attr-defined]


def test_price_limit_band() -> None:
    inv = Investor("ff_client")
    # band = 480.0 x (1 ± 0.09) = [436.8, 523.2]
    assert check_order(inv, Order("sc2509", "buy", 1, 523.2), RICH, DAY).allowed
    assert check_order(inv, Order("sc2509", "sell", 1, 436.8), RICH, DAY).allowed
    up = check_order(inv, Order("sc2509", "buy", 1, 523.3), RICH, DAY)
    down = check_order(inv, Order("sc2509", "sell", 1, 436.7), RICH, DAY)
    assert rules_of(up) == ["price_limit"] and rules_of(down) == ["price_limit"]
    assert "523.2" in up.reasons[0].message
    # prev_settle on the order overrides the account: 500 x 1.09 = 545.0
    assert check_order(inv, Order("sc2509", "buy", 1, 545.0, prev_settle=500.0), RICH, DAY).allowed
    # without any prev_settle the check is listed as skipped, not passed silently
    d = check_order(inv, Order("sc2509", "buy", 1, 545.0), Account(cny_cash=1e9), DAY)
    assert [s.rule for s in d.skipped if s.rule == "price_limit"] == ["price_limit"]


def test_daily_opening_limit() -> None:
    inv = Investor("osnbp", hedging_quota=10_000)
    acct = Account(cny_cash=1e9, prev_settle={"sc2509": 480.0}, opened_today={"sc2509": 3_000})
    # 3,000 + 200 = 3,200 <= 3,200: allowed; 3,000 + 201 = 3,201 > 3,200: denied
    assert check_order(inv, Order("sc2509", "buy", 200, 480.0), acct, DAY).allowed
    d = check_order(inv, Order("sc2509", "buy", 201, 480.0), acct, DAY)
    assert rules_of(d) == ["open_limit"]
    assert "3201" in d.reasons[0].message.replace(",", "")
    # hedging is exempt from the opening limit (and the quota lifts the position limit)
    assert check_order(inv, Order("sc2509", "buy", 201, 480.0, hedge=True), acct, DAY).allowed
    # closing orders do not count
    assert check_order(inv, Order("sc2509", "sell", 201, 480.0, offset="close"), acct, DAY).allowed
    # before 2024-04-12 there was no opening limit: the day before, sc2409 in general stage
    old = Account(cny_cash=1e9, prev_settle={"sc2409": 600.0}, opened_today={"sc2409": 3_300})
    d2 = check_order(inv, Order("sc2409", "buy", 100, 600.0), old, "2024-04-11")
    assert d2.allowed and any(n.rule == "open_limit" for n in d2.notes)


def test_max_order_size() -> None:
    inv = Investor("ff_client")
    assert check_order(inv, Order("sc2509", "buy", 500, 480.0), RICH, DAY).allowed  # 500 <= 500
    d = check_order(inv, Order("sc2509", "buy", 501, 480.0), RICH, DAY)  # 501 > 500
    assert rules_of(d) == ["max_order"]


def test_position_limit_and_hedging_quota() -> None:
    # sc2505 on 2025-04-07 is in the month before delivery: limit 500 lots (2019 parameters, unverified)
    acct = Account(cny_cash=1e9, positions={"sc2505": 200}, prev_settle={"sc2505": 500.0})
    spec = check_order(Investor("ff_client"), Order("sc2505", "buy", 400, 500.0), acct, "2025-04-07")
    assert rules_of(spec) == ["position_limit"]  # 200 + 400 = 600 > 500
    assert spec.reasons[0].verified is False and spec.unverified
    hedger = Investor("ff_client", hedging_quota=1_000)
    assert check_order(hedger, Order("sc2505", "buy", 400, 500.0, hedge=True), acct, "2025-04-07").allowed
    # a hedge flag without a quota does not lift the limit
    no_quota = check_order(
        Investor("ff_client"), Order("sc2505", "buy", 400, 500.0, hedge=True), acct, "2025-04-07"
    )
    assert rules_of(no_quota) == ["position_limit"]


def test_funds_with_usd_collateral_at_the_haircut() -> None:
    inv = Investor("overseas_intermediary")
    order = Order("sc2509", "buy", 10, 500.0)
    # margin = 10 x 500 x 1000 x 0.11 = 550,000; fee = 10 x 20 = 200
    # 100,000 + 60,000 x 7.10 x 0.95 (= 404,700) - 200 = 504,500 < 550,000 -> denied
    short = Account(cny_cash=100_000.0, usd_collateral=60_000.0, usd_cny=7.10, prev_settle={"sc2509": 480.0})
    d = check_order(inv, order, short, DAY)
    assert rules_of(d) == ["funds"]
    assert d.margin_cny == pytest.approx(550_000.0)
    assert d.available_cny == pytest.approx(504_500.0)
    # 100,000 + 70,000 x 7.10 x 0.95 (= 472,150) - 200 = 571,950 >= 550,000 -> allowed
    enough = Account(cny_cash=100_000.0, usd_collateral=70_000.0, usd_cny=7.10, prev_settle={"sc2509": 480.0})
    ok = check_order(inv, order, enough, DAY)
    assert ok.allowed and ok.available_cny == pytest.approx(571_950.0)
    with pytest.raises(InputError, match="usd_cny"):
        check_order(inv, order, Account(cny_cash=0.0, usd_collateral=1.0, prev_settle={"sc2509": 480.0}), DAY)


def test_individual_into_the_iron_ore_delivery_month() -> None:
    ind = Investor("ff_client", kind="individual")
    acct = Account(cny_cash=1e9, prev_settle={"i2509": 700.0})
    # i2509's delivery month starts 2025-09-01 (1st trading day of September)
    d = check_order(ind, Order("i2509", "buy", 1, 700.0), acct, "2025-09-02")
    assert "individual_delivery" in rules_of(d)
    assert "position_limit" in rules_of(d)  # DCE individuals' delivery-month limit is 0
    assert all("347" in r.source for r in d.reasons if r.rule == "individual_delivery")
    # the same order in August is fine
    assert check_order(ind, Order("i2509", "buy", 1, 700.0), acct, "2025-08-01").allowed


def test_every_reason_cites_its_source_and_unverified_is_marked() -> None:
    qfi = Investor("qfi")
    acct = Account(cny_cash=0.0, prev_settle={"sc2509": 480.0}, opened_today={"sc2509": 3_200})
    order = Order(
        "sc2509", "buy", 600, 600.0, hedge=True, timestamp=dt.datetime(2025, 6, 3, 12, 0)
    )  # lunch break, outside band, > 500 lots, hedge for a QFI, no funds
    d = check_order(qfi, order, acct, DAY)
    assert not d.allowed
    assert {"session", "price_limit", "max_order", "qfi_speculative_only", "funds"} <= set(rules_of(d))
    assert all(r.source.strip() for r in d.reasons)
    flagged = [r for r in d.reasons if r.rule == "qfi_speculative_only"]
    assert flagged and flagged[0].verified is False
    assert any("UNVERIFIED" in u for u in d.unverified)


def test_session_open_and_trading_day() -> None:
    inv = Investor("ff_client")
    # Tuesday 2025-06-03 night session 21:30 belongs to trading day 2025-06-04
    night = Order("sc2509", "buy", 1, 480.0, timestamp=dt.datetime(2025, 6, 3, 21, 30))
    assert check_order(inv, night, RICH, "2025-06-04").allowed
    late = Order("sc2509", "buy", 1, 480.0, timestamp=dt.datetime(2025, 6, 4, 21, 30))
    assert rules_of(check_order(inv, late, RICH, "2025-06-04")) == ["session"]  # belongs to 2025-06-05
    # 2025-06-02 was a market holiday (market-facts §6.2), so the evening of Friday 2025-05-30 had
    # no night session and 2025-06-02 21:30 is a night session for 2025-06-03 only if it exists
    hol = Order("sc2509", "buy", 1, 480.0, timestamp=dt.datetime(2025, 6, 2, 10, 0))
    assert rules_of(check_order(inv, hol, RICH, DAY)) == ["session"]


def test_overseas_intermediary_sc_2019_order() -> None:
    # 2019: SC limit 8%, margin 15% (unverified); 1 lot at 460 -> 460 x 1000 x 0.15 = 69,000 + fee 20
    acct = Account(cny_cash=100_000.0, prev_settle={"sc1909": 450.0})
    d = check_order(Investor("overseas_intermediary"), Order("sc1909", "buy", 1, 460.0), acct, "2019-06-03")
    assert d.allowed
    assert d.margin_cny == pytest.approx(69_000.0)


def test_bad_orders() -> None:
    with pytest.raises(InputError, match="lots=-1"):
        Order("sc2509", "buy", -1, 500.0)
    with pytest.raises(InputError, match="side='long'"):
        Order("sc2509", "long", 1, 500.0)  # type: ignore[arg-type]
    with pytest.raises(UnknownContract, match="i2509"):
        check_order(Investor("ff_client"), Order("i2509", "buy", 1, 700.0), Account(), "2024-06-03")
    with pytest.raises(UnknownContract, match="zz2509"):
        Order("zz2509", "buy", 1, 1.0)
