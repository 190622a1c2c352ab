"""Dated rule parameters: look-ups by date, stage and hedge flag; overrides; vectorised table."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from cnfutures import InputError, NotTradingDay, RuleNotFound, UnknownContract
from cnfutures.market import rules
from cnfutures.market.rules import RuleBook

D = dt.date


def test_sc_margin_history() -> None:
    # Reuters 2018-03-12 / INE launch notice: 7 % margin, 5 % limit
    assert rules.margin_rate("sc1812", "2018-06-01").value == 0.07
    assert rules.price_limit("sc1812", "2018-06-01").rate == 0.05
    # 上能发[2018]67号 (broker relay): "自2018年11月28日结算时起 ... 15% ... 由5%调整为8%": the margin at the
    # settlement of 11-28, the band from the next trading day (11-29)
    assert rules.margin_rate("sc1905", "2018-11-28").value == 0.15
    assert rules.price_limit("sc1905", "2018-11-28").rate == 0.05
    assert rules.price_limit("sc1905", "2018-11-29").rate == 0.08
    # 2020-08-24 settlement: 10 % / 8 % for every contract but SC2009, which kept 11 % / 10 %
    assert rules.margin_rate("sc2012", "2020-08-25").value == 0.10
    assert rules.price_limit("sc2012", "2020-08-25").rate == 0.08
    assert rules.margin_rate("sc2009", "2020-08-25").value == 0.11
    assert rules.price_limit("sc2009", "2020-08-25").rate == 0.10
    # INE circular tsite 911400447: SC2204-SC2206 12 % / 10 % from the settlement of 2022-03-07;
    # the other contracts unchanged
    assert rules.margin_rate("sc2205", "2022-03-07").value == 0.12
    assert rules.price_limit("sc2205", "2022-03-07").rate == 0.08
    assert rules.price_limit("sc2205", "2022-03-08").rate == 0.10
    assert rules.margin_rate("sc2207", "2022-03-08").value == 0.10
    # INE tsite 911403506: from 2023-09-04 hedging margin = limit + 1 point (8 % + 1)
    assert rules.margin_rate("sc2312", "2023-09-05", hedge=True).value == 0.09
    assert rules.margin_rate("sc2312", "2023-09-05").value == 0.10
    # INE circular 2025-04-09 (mondovisione): from the settlement of 04-10, general 11 %, hedging 10 %,
    # limit 9 %
    assert rules.margin_rate("sc2509", "2025-04-09").value == 0.10
    assert rules.margin_rate("sc2509", "2025-04-10").value == 0.11
    assert rules.margin_rate("sc2509", "2025-04-10", hedge=True).value == 0.10
    assert rules.price_limit("sc2509", "2025-04-10").rate == 0.08
    assert rules.price_limit("sc2509", "2025-04-11").rate == 0.09
    assert rules.margin_rate("sc2509", "2025-06-03").value == 0.11
    # 上能发〔2026〕31号 (full-text reprint): from the settlement of 2026-03-10, sc2604... limit 20 %,
    # hedging 21 %, general 22 %
    assert rules.margin_rate("sc2606", "2026-03-10").value == 0.22
    assert rules.margin_rate("sc2606", "2026-03-10", hedge=True).value == 0.21
    assert rules.price_limit("sc2606", "2026-03-10").rate == 0.14  # the band of 03-10 is the old one
    assert rules.price_limit("sc2606", "2026-03-11").rate == 0.20
    assert rules.margin_rate("sc2903", "2026-03-11").value == 0.22  # "and later listings"
    # stage step-up from LTD-2 (2019 parameters, unverified): 20 %
    r = rules.margin_rate("sc2505", "2025-04-28")
    assert r.value == 0.20 and r.verified is False


def test_dce_holiday_rows_are_temporary() -> None:
    # DCE 大商所发〔2025〕34号 (mondovisione): from the settlement of 2025-01-24 limit 12 %, margin 14 %,
    # restored from the settlement of the first trading day after reopening (2025-02-05)
    assert rules.margin_rate("i2505", "2025-01-23").value == 0.11
    assert rules.margin_rate("i2505", "2025-01-24").value == 0.14
    assert rules.price_limit("i2505", "2025-01-24").rate == 0.09  # the raised band starts the next day
    assert rules.price_limit("i2505", "2025-01-27").rate == 0.12
    assert rules.margin_rate("i2505", "2025-02-05").value == 0.11  # margin restored at the 02-05 settlement
    assert rules.price_limit("i2505", "2025-02-05").rate == 0.12  # the band of 02-05 still the raised one
    assert rules.price_limit("i2505", "2025-02-06").rate == 0.09
    # rules-audit #3: after the Labour Day raise, back to 11 % / 9 %: upper 714 x 1.09 = 778.26 -> 778.0
    assert rules.price_limit("i2509", "2025-06-03", prev_settle=714.0).upper == 778.0
    assert rules.margin_rate("i2509", "2025-06-03").value == 0.11
    assert rules.margin_rate("i2509", "2025-09-01").value == 0.20  # delivery month (2019 parameters)


def test_contract_scoped_rows() -> None:
    # Futures Daily 2022-03-30 (qhrb 300617): I2205 and I2209 speculative 12 % -> 15 %; others stay 12 %;
    # the I2209 fee 2/10,000 (4/10,000 intraday); other contracts stay at 1/10,000
    assert rules.margin_rate("i2209", "2022-03-31").value == 0.15
    assert rules.margin_rate("i2301", "2022-04-06").value == 0.12
    f = rules.fee("i2209", "2022-03-30")
    assert (f.open, f.close, f.close_today) == (0.0002, 0.0002, 0.0004)
    assert rules.fee("i2301", "2022-03-30").open == 0.0001
    # INE 2025-10-14 circular (shfe.com.cn t20251010_829209): nr 7 / 8 / 9 % (limit, hedge, general)
    assert rules.margin_rate("nr2601", "2025-10-14").value == 0.09
    assert rules.margin_rate("nr2601", "2025-10-14", hedge=True).value == 0.08
    assert rules.price_limit("nr2601", "2025-10-15").rate == 0.07


def test_price_limit_band_rounded_inward() -> None:
    # INE circular 2025-04-09: sc limit 9%. 480.3 * 1.09 = 523.527 -> 523.5; 480.3 * 0.91 = 437.073 -> 437.1
    lim = rules.price_limit("sc2509", "2025-06-03", prev_settle=480.3)
    assert (lim.rate, lim.upper, lim.lower, lim.first_day) == (0.09, 523.5, 437.1, False)
    # first trading day: doubled at the launch (Reuters 2018-03-12: 5 %, 10 % on the first day) ...
    launch = rules.price_limit("sc1809", "2018-03-26", prev_settle=440.0)
    assert launch.first_day and launch.rate == pytest.approx(0.10) and launch.rule.verified
    # ... and assumed (unverified) for routine new contracts: sc2607 lists on 2025-07-01
    first = rules.price_limit("sc2607", "2025-07-01", prev_settle=500.0)
    assert first.first_day and first.rate == pytest.approx(0.18) and not first.rule.verified
    # tick 5 for rubber, nr limit 8 % from 2025-04-11 (上能发〔2025〕16号, broker relay):
    # 14003 * 1.08 = 15123.24 -> 15120 (down); 14003 * 0.92 = 12882.76 -> 12885 (up)
    nr = rules.price_limit("nr2509", "2025-06-03", prev_settle=14003.0)
    assert nr.upper == 15120.0 and nr.lower == 12885.0


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
    assert book.margin_rate("sc2509", "2025-06-03", hedge=True).value == 0.10
    assert book.margin_rate("sc2509", "2025-06-03").value == 0.16
    assert book.margin_rate("sc2509", "2025-06-02" if False else "2025-05-30").value == 0.11
    assert RuleBook.default().margin_rate("sc2509", "2025-06-03").value == 0.11  # immutable
    p = tmp_path / "broker.toml"
    p.write_text(
        '[[price_limit]]\nproduct = "nr"\neffective = 2025-06-03\nvalue = 0.07\n'
        'source = "me"\nverified = true\n'
    )
    # no timing given: price limits default to "from the settlement of X" -> the next trading day
    assert RuleBook.default().with_file(p).price_limit("nr2509", "2025-06-03").rate == 0.08
    assert RuleBook.default().with_file(p).price_limit("nr2509", "2025-06-04").rate == 0.07
    with pytest.raises(InputError, match="unknown rule parameter"):
        RuleBook.default().with_override("haircut", "sc", 0.9, effective="2025-01-02")
    with pytest.raises(InputError, match="must be a finite number"):
        RuleBook.default().with_override("margin", "sc", -0.1, effective="2025-01-02")


def test_errors() -> None:
    with pytest.raises(NotTradingDay):
        rules.margin_rate("sc2509", "2025-06-01")
    only_sc = RuleBook.from_dict({"margin": [{"product": "sc", "effective": "2025-01-02",
                                              "timing": "trading_day", "value": 0.1, "source": "me",
                                              "verified": True}]})  # fmt: skip
    with pytest.raises(RuleNotFound, match="i2509"):
        only_sc.margin_rate("i2509", "2025-06-03")
    with pytest.raises(UnknownContract, match="stopped trading on 2025-04-30"):
        rules.margin_rate("sc2505", "2025-05-06")  # no margin for an expired contract
    with pytest.raises(UnknownContract, match="not listed"):
        rules.margin_rate("sc2809", "2025-06-03")


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
