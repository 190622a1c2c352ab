"""Foreign-investor access: eligibility scenarios with their dates, collateral, margin, docs.

Reference values come from the fact sheet (../shared/reference/market-facts.md, section cited
beside each) or are hand calculations written out beside the assertion.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from cnfutures.access import (
    Investor,
    Route,
    cny_to_usd,
    collateral_value_cny,
    contract_eligible,
    default_haircut,
    eligible,
    first_allowed,
    fx_rate,
    individual_exit_start,
    margin_requirement,
    minimum_funds,
    must_exit_before_stage,
    read_fred_usd_cny,
    revalue_collateral,
    routes_since,
    usd_needed_for_cny,
    usd_to_cny,
    validate_fx,
)
from cnfutures.errors import AccessDenied, DataError, InputError, UnknownContract, UnknownProduct
from tests.docpages import assert_page_current

REPO = Path(__file__).resolve().parents[1]


# ------------------------------------------------------------------ scenarios (market-facts §1.4, §3.4)
def test_qfi_ru_day_before_and_day_of_the_2025_06_20_list() -> None:
    qfi = Investor("qfi")
    before = eligible(qfi, "ru", "2025-06-19")  # RU added to the QFI list on 2025-06-20 (§3.4)
    assert before.allowed is False
    assert any("2025-06-20" in r for r in before.reasons)
    assert any("globaltimes" in s for s in before.sources)
    with pytest.raises(AccessDenied, match="ru"):
        before.raise_if_denied()
    on = eligible(qfi, "ru", "2025-06-20")
    assert on.allowed is True
    on.raise_if_denied()
    # the QFI no-delivery / speculative-only rule is UNVERIFIED (§3.4) and reported as such
    assert any("qfi_no_delivery" in u for u in on.unverified)


def test_ru_is_not_a_specified_product() -> None:
    # §1.4: RU is not specified; foreigners reach it only through QFI
    e = eligible(Investor("ff_client"), "ru", "2025-06-20")
    assert not e.allowed
    assert any("QFI" in r for r in e.reasons)


def test_qfi_before_commodity_futures_and_before_first_list() -> None:
    # §3.4: commodity futures from 2021-11-01; first list 2022-09-02 (SC among them)
    assert not eligible(Investor("qfi"), "sc", "2021-10-29").allowed
    assert not eligible(Investor("qfi"), "sc", "2022-09-01").allowed
    assert eligible(Investor("qfi"), "sc", "2022-09-02").allowed


def test_overseas_intermediary_sc_2019() -> None:
    # §1.1: SC open to overseas investors from 2018-03-26; §3.2 route (b) at INE
    e = eligible(Investor("overseas_intermediary"), "sc", "2019-06-03")
    assert e.allowed
    assert e.first_contract is None
    assert e.unverified == ()


def test_iron_ore_first_contract_for_every_foreign_route() -> None:
    # §1.2: open 2018-05-04, I1809 and later contracts only
    for route in ("ff_client", "overseas_intermediary"):
        inv = Investor(route)
        old = contract_eligible(inv, "i1805", "2018-05-04")
        new = contract_eligible(inv, "i1809", "2018-05-04")
        assert old.allowed is False and new.allowed is True
        assert old.first_contract == "i1809"
        assert any("i1809" in r for r in old.reasons)
    assert eligible(Investor("ff_client"), "i", "2018-05-03").allowed is False  # one day before opening


def test_dce_rejects_osp_routes() -> None:
    # §3.2: DCE has no OSP category
    for route in (Route.OSBP_CLIENT, Route.OSNBP):
        e = eligible(Investor(route), "i", "2025-06-03")
        assert not e.allowed
        assert any("DCE" in r and "OSP" in r for r in e.reasons)
        assert any("mondovisione" in s for s in e.sources)
    assert eligible(Investor(Route.OSNBP), "sc", "2025-06-03").allowed  # INE has all four routes


def test_individual_must_leave_iron_ore_before_the_delivery_month() -> None:
    ind = Investor("ff_client", kind="individual")
    assert must_exit_before_stage(ind, "i", "2025-06-03") == "delivery_month"  # DCE notice No. 347 [2020]
    assert must_exit_before_stage(ind, "ru", "2025-06-03") == "delivery_month"  # nearest earlier stage (SHFE)
    # INE delivery circular SC1908 (ine.cn notice 1795): flat by the close of 2019-07-19, the 8th trading day
    # before the LTD 2019-07-31 -> no position from the 7th trading day before it
    assert must_exit_before_stage(ind, "sc", "2025-06-03") == "ltd-7"
    assert individual_exit_start("sc1908")[0] == dt.date(2019, 7, 22)
    # SC2002 (mondovisione copy): "before the market close on January 6, 2020", LTD 2020-01-16
    assert individual_exit_start("sc2002")[0] == dt.date(2020, 1, 7)
    # INE 〔2023〕39号: NR2311 individuals at 0 lots from the close of 2023-11-08 (LTD 2023-11-15)
    assert individual_exit_start("nr2311")[0] == dt.date(2023, 11, 9)
    assert must_exit_before_stage(Investor("ff_client"), "i", "2025-06-03") is None


def test_first_allowed_matches_eligible_on_the_day_and_the_day_before() -> None:
    for route in Route:
        for code in ("sc", "i", "nr", "ru", "lu", "bc"):
            first, _, _ = first_allowed(route, code)
            if first is None:
                continue
            assert eligible(Investor(route), code, first).allowed, (route, code, first)
            before = first - dt.timedelta(days=1)
            try:
                e = eligible(Investor(route), code, before)
            except InputError:  # product did not exist yet
                continue
            assert not e.allowed, (route, code, before)


def test_routes_since_table() -> None:
    t = routes_since(["sc", "i", "nr", "ru"])
    row = {r["product"]: r for r in t.to_dicts()}
    assert row["sc"]["osnbp"] == dt.date(2018, 3, 26)  # §1.1
    assert row["i"]["ff_client"] == dt.date(2018, 5, 4)  # §1.2
    assert row["i"]["osbp_client"] is None  # §3.2
    assert row["nr"]["overseas_intermediary"] == dt.date(2019, 8, 12)  # §1.3
    assert row["ru"]["qfi"] == dt.date(2025, 6, 20)  # §1.4
    assert row["ru"]["ff_client"] is None


# ------------------------------------------------------------------ collateral and FX (§4)
def test_usd_collateral_at_the_haircut() -> None:
    # §4: USD counts at 95% of its value at the central parity: 1,000,000 x 7.10 x 0.95 = 6,745,000
    assert collateral_value_cny(1_000_000, 7.10) == pytest.approx(6_745_000.0, abs=1e-6)
    assert collateral_value_cny(1_000_000, 7.10, on="2025-06-03", exchange="DCE") == pytest.approx(
        6_745_000.0
    )
    assert default_haircut("INE", "2025-06-03") == 0.95
    arr = collateral_value_cny(np.array([1_000_000.0, 2_000.0]), np.array([7.10, 7.0]))
    np.testing.assert_allclose(arr, [6_745_000.0, 2_000 * 7.0 * 0.95])
    ser = collateral_value_cny(pl.Series([1_000_000.0]), pl.Series([7.10]), 0.95)
    assert ser.to_list() == pytest.approx([6_745_000.0])


def test_fx_conversion_with_spread_round_trips() -> None:
    # selling USD at 7.0 with a 10 bp spread gives 7.0 x 0.999 = 6.993 CNY per USD
    assert usd_to_cny(1_000.0, 7.0, spread=0.001) == pytest.approx(6_993.0)
    # a CNY 6,993 margin call costs 6993 / 6.993 = 1,000 USD
    assert usd_needed_for_cny(6_993.0, 7.0, spread=0.001) == pytest.approx(1_000.0)
    # repatriating CNY 7,007 buys 7007 / (7.0 x 1.001) = 1,000 USD
    assert cny_to_usd(7_007.0, 7.0, spread=0.001) == pytest.approx(1_000.0)
    x = np.array([100.0, 12_345.6])
    np.testing.assert_allclose(usd_to_cny(usd_needed_for_cny(x, 7.1, 0.002), 7.1, 0.002), x)
    with pytest.raises(InputError, match=r"spread=-0\.1"):
        usd_to_cny(1.0, 7.0, spread=-0.1)
    with pytest.raises(InputError, match="central_parity"):
        collateral_value_cny(1.0, 0.0)


def test_validate_fx_lists_every_problem() -> None:
    bad = pl.DataFrame(
        {
            "date": [dt.date(2025, 6, 2), dt.date(2025, 6, 2), dt.date(2025, 6, 4)],
            "usd_cny": [7.1, None, -1.0],
        }
    )
    with pytest.raises(DataError) as exc:
        validate_fx(bad)
    assert len(exc.value.problems) == 3  # null rate (row 1), non-positive (row 2), duplicate date (rows 0, 1)
    with pytest.raises(DataError, match="usd_cny"):
        validate_fx(pl.DataFrame({"date": [dt.date(2025, 6, 2)]}))


def test_fred_revaluation(shared_data: Path) -> None:
    fx = read_fred_usd_cny(shared_data / "fred_fx" / "usdcny_daily_fred_dexchus.csv")
    assert fx["usd_cny"].null_count() > 0  # FRED leaves holidays empty; kept, not dropped
    clean = read_fred_usd_cny(shared_data / "fred_fx" / "usdcny_daily_fred_dexchus.csv", drop_missing=True)
    window = clean.filter(pl.col("date").is_between(dt.date(2025, 6, 2), dt.date(2025, 6, 3)))
    out = revalue_collateral(1_000_000.0, window)
    # FRED DEXCHUS 2025-06-02 7.1975, 2025-06-03 7.1872 (file rows); x 1,000,000 x 0.95
    assert out["collateral_cny"].to_list() == pytest.approx([6_837_625.0, 6_827_840.0])
    assert fx_rate(window, "2025-06-03", intraday=True) == 7.1975  # previous day's rate intraday


# ------------------------------------------------------------------ margin requirement
def test_margin_requirement_by_stage_hedge_and_addon() -> None:
    inv = Investor("ff_client")
    # i2509 on 2025-09-02 is in its delivery month: 20% (DCE 2019 parameters, rules.toml) beats 12%
    m = margin_requirement({"i2509": -2}, {"i2509": 700.0}, "2025-09-02", inv)
    assert m.cny == pytest.approx(2 * 700.0 * 100 * 0.20)  # = 28,000
    assert m.by_contract["stage"].item() == "delivery_month"
    assert m.unverified  # the 20% delivery-month rate is unverified
    # sc2509 on 2025-06-03, hedging 10% (INE circular 2025-04-09) + 2 points add-on, USD at 7.0 x 0.95
    h = margin_requirement(
        pl.DataFrame({"contract": ["sc2509"], "lots": [3], "price": [500.0]}),
        None,
        "2025-06-03",
        inv,
        broker_addon=0.02,
        hedge=True,
        usd_cny=7.0,
    )
    assert h.cny == pytest.approx(3 * 500.0 * 1000 * 0.12)  # = 180,000
    assert h.usd == pytest.approx(180_000 / (7.0 * 0.95))
    with pytest.raises(InputError, match="sc2509"):
        margin_requirement({"sc2509": 1}, {}, "2025-06-03", inv)


def test_account_minimums() -> None:
    # §3.3: SC institutions RMB 1,000,000; individuals RMB 500,000; INE general RMB 100,000
    assert minimum_funds(Investor("ff_client"), "sc", "2025-06-03")[0] == 1_000_000
    assert minimum_funds(Investor("ff_client", kind="individual"), "sc", "2025-06-03")[0] == 500_000
    assert minimum_funds(Investor("osbp_client"), "bc", "2025-06-03")[0] == 100_000
    amount, _, verified = minimum_funds(Investor("ff_client"), "i", "2025-06-03")
    assert amount == 100_000 and verified is False  # DCE threshold UNVERIFIED (§3.3)


# ------------------------------------------------------------------ bad input
def test_bad_inputs_name_the_value() -> None:
    with pytest.raises(InputError, match=r"'hedge_fund'.*qfi"):
        Investor("hedge_fund")
    with pytest.raises(InputError, match="individual"):
        Investor("qfi", kind="individual")
    with pytest.raises(InputError, match=r"'nr'.*2019-08-12"):
        eligible(Investor("ff_client"), "nr", "2019-01-02")  # NR listed 2019-08-12 (§1.3)
    with pytest.raises(UnknownProduct, match="zz"):
        eligible(Investor("ff_client"), "zz", "2025-06-03")
    with pytest.raises(UnknownContract, match="i2509"):
        contract_eligible(Investor("ff_client"), "i2509", "2024-06-03")  # listed only from Sep 2024
    with pytest.raises(InputError, match="hedging_quota=-5"):
        Investor("ff_client", hedging_quota=-5)


# ------------------------------------------------------------------ generated docs
def test_access_doc_is_up_to_date() -> None:
    text = assert_page_current("gen_access_doc")
    assert "Which route can trade what, since when" in text


def test_cli_access(capsys: pytest.CaptureFixture[str]) -> None:
    from cnfutures.cli import main

    assert main(["access", "qfi", "--on", "2025-06-20", "--price", "ru=14000", "--usd-cny", "7.18"]) == 0
    out = capsys.readouterr().out
    assert "ru" in out and "2052.48" in out  # 14000 x 10 x 0.10 / (7.18 x 0.95) = 2052.48 USD per lot
    assert main(["access", "hedge_fund", "--on", "2025-06-20"]) == 2
    assert "hedge_fund" in capsys.readouterr().err
