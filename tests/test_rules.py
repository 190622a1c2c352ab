"""Dated rule parameters: look-ups by date, stage and hedge flag; overrides; vectorised table."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from cnfutures import InputError, NotTradingDay, RuleNotFound
from cnfutures.market import rules
from cnfutures.market.rules import RuleBook

D = dt.date


def test_sc_margin_history() -> None:
    # market-facts §1.1 "Margin as applied": launch 7%, 2020-03-11 11%, 2025-04-10 hedge 10% / general 11%
    assert rules.margin_rate("sc1812", "2018-06-01").value == 0.07
    assert rules.margin_rate("sc2009", "2020-03-11").value == 0.11
    assert rules.margin_rate("sc2509", "2025-06-03").value == 0.11
    assert rules.margin_rate("sc2509", "2025-06-03", hedge=True).value == 0.10
    # the day before the circular the hedge rate was still the general 11%
    assert rules.margin_rate("sc2509", "2025-04-09", hedge=True).value == 0.11
    # stage step-ups (2019 parameters, unverified): month before delivery 10% < general 11%
    # -> the higher applies; from LTD-2, 20%
    r = rules.margin_rate("sc2505", "2025-04-01")
    assert r.value == 0.11 and r.verified is False  # an unverified stage row took part
    assert rules.margin_rate("sc2505", "2025-04-28").value == 0.20


def test_dce_holiday_margins() -> None:
    # DCE notices 2025-01-21 and 2025-04-24 (mondovisione): 14% / limit 12%, then 12% / 10%
    assert rules.margin_rate("i2505", "2025-01-24").value == 0.14
    assert rules.price_limit("i2505", "2025-01-24").rate == 0.12
    assert rules.margin_rate("i2509", "2025-05-06").value == 0.12
    assert rules.price_limit("i2509", "2025-05-06").rate == 0.10
    assert rules.margin_rate("i2509", "2025-09-01").value == 0.20  # delivery month


def test_price_limit_band_rounded_inward() -> None:
    # INE circular 2025-04-09: sc limit 9%. 480.3 * 1.09 = 523.527 -> 523.5; 480.3 * 0.91 = 437.073 -> 437.1
    lim = rules.price_limit("sc2509", "2025-06-03", prev_settle=480.3)
    assert (lim.rate, lim.upper, lim.lower, lim.first_day) == (0.09, 523.5, 437.1, False)
    # first trading day doubles the limit (上能发〔2020〕114号); sc2607 lists on 2025-07-01
    first = rules.price_limit("sc2607", "2025-07-01", prev_settle=500.0)
    assert first.first_day and first.rate == pytest.approx(0.18)
    # tick 5 for rubber: 14000 * 1.06 = 14840 (on grid); lower 13160
    nr = rules.price_limit("nr2509", "2025-06-03", prev_settle=14003.0)
    assert nr.upper == 14840.0 and nr.lower == 13165.0


def test_fees() -> None:
    f = rules.fee("sc2509", "2025-06-03")
    assert f.basis == "per_lot" and f.amount(-3, 500.0, 1000.0, "close") == 60.0
    nr = rules.fee("nr2509", "2025-06-03")
    # 上能发〔2021〕29号: 0.2/10,000 of turnover: 10 lots x 14000 x 10 t x 2e-5 = 28 CNY
    assert nr.amount(10, 14000.0, 10.0) == pytest.approx(28.0)
    assert rules.fee("nr2009", "2020-06-01").open == 3.0  # launch: RMB 3 per lot


def test_position_and_open_limits() -> None:
    # INE 2019 parameters (fangquant 529): 3000 / 1500 / 500 lots
    assert rules.position_limit("sc2509", "2025-06-03").value == 3000
    assert rules.position_limit("sc2505", "2025-03-03").value == 1500
    assert rules.position_limit("sc2505", "2025-04-07").value == 500
    # DCE: 10% of one-side OI above 400,000 lots
    assert rules.position_limit("i2509", "2025-06-03", open_interest=600_000).value == 60_000
    assert rules.position_limit("i2509", "2025-06-03", open_interest=300_000).value == 40_000
    assert rules.position_limit("i2509", "2025-09-02").value == 2000
    assert rules.position_limit("i2509", "2025-09-02", holder="individual").value == 0
    # INE circular 2024-04-10: 3,200 lots from 2024-04-12; nothing before
    assert rules.open_limit("sc2409", "2024-04-12").value == 3200
    with pytest.raises(RuleNotFound, match="open_limit"):
        rules.open_limit("sc2409", "2024-04-11")
    assert rules.open_limit("i2403", "2023-11-20").value == 500
    assert rules.open_limit("i2409", "2023-11-20").value == 2000


def test_overrides_and_user_file(tmp_path) -> None:
    book = RuleBook.default().with_override("margin", "sc", 0.16, effective="2025-06-03", hedge=False)
    assert book.margin_rate("sc2509", "2025-06-03").value == 0.16
    assert book.margin_rate("sc2509", "2025-06-02" if False else "2025-05-30").value == 0.11
    assert RuleBook.default().margin_rate("sc2509", "2025-06-03").value == 0.11  # immutable
    p = tmp_path / "broker.toml"
    p.write_text(
        '[[price_limit]]\nproduct = "nr"\neffective = 2025-06-03\nvalue = 0.07\n'
        'source = "me"\nverified = true\n'
    )
    assert RuleBook.default().with_file(p).price_limit("nr2509", "2025-06-03").rate == 0.07
    with pytest.raises(InputError, match="unknown rule parameter"):
        RuleBook.default().with_override("haircut", "sc", 0.9, effective="2025-01-02")
    with pytest.raises(InputError, match="must be a finite number"):
        RuleBook.default().with_override("margin", "sc", -0.1, effective="2025-01-02")


def test_errors() -> None:
    with pytest.raises(NotTradingDay):
        rules.margin_rate("sc2509", "2025-06-01")
    with pytest.raises(RuleNotFound, match="bc"):
        rules.margin_rate("bc2509", "2025-06-03")


def test_vectorised_table_matches_scalar() -> None:
    days = [D(2025, 1, 24), D(2025, 4, 1), D(2025, 4, 28), D(2025, 6, 3), D(2025, 8, 28), D(2025, 9, 2)]
    frame = pl.DataFrame(
        {"trading_day": days * 2, "contract": ["sc2505"] * 3 + ["sc2509"] * 3 + ["i2509"] * 6}
    )
    frame = frame.filter(
        ~((pl.col("contract") == "sc2505") & (pl.col("trading_day") > D(2025, 4, 30)))
        & ~((pl.col("contract") == "sc2509") & (pl.col("trading_day") > D(2025, 8, 29)))
    )
    for param, fn in (
        ("margin", rules.margin_rate),
        ("price_limit", lambda c, d: rules.price_limit(c, d).rule),
    ):
        for hedge in (False, True):
            if param == "price_limit" and hedge:
                continue
            got = RuleBook.default().table(param, frame, hedge=hedge)["value"].to_list()
            want = [
                (fn(c, d, hedge) if param == "margin" else fn(c, d)).value  # type: ignore[operator]
                for d, c in frame.iter_rows()
            ]
            assert got == want, param
    pos = RuleBook.default().table("position_limit", frame)["value"].to_list()
    assert pos == [rules.position_limit(c, d).value for d, c in frame.iter_rows()]
