"""Valuation of option positions: model by style, ACT/365 time, Greeks, implied vol, short margin.

References: QuantLib 1.44 (Barone-Adesi-Whaley engine on a Black-Scholes-Merton process whose
dividend curve equals the discount curve, i.e. an option on a futures price, b = 0); Black-76
closed form (pricing.black76_greeks) where American = European (r = 0); hand-computed margins
from the INE options handbook formula (see test_options.py).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math

import numpy as np
import polars as pl
import pytest

from cnfutures import pricing
from cnfutures.errors import InputError, PricingError, UnknownContract
from cnfutures.market import options as mo
from cnfutures.market.options import option, option_margin
from cnfutures.valuation import american_greeks, implied_vol_american, time_to_expiry, value_options
from tests.quantlib_ref import ql_american

ON = "2025-06-03"
F = {"sc2509": 480.3}


def _ql_baw(F: float, K: float, days: int, r: float, s: float, w: int) -> float:
    return float(ql_american(pytest.importorskip("QuantLib"), F, K, days, r, s, w, "baw"))


def test_time_to_expiry_act365_on_the_exchange_calendar() -> None:
    # sc2509 options expire 2025-08-13 (13th-to-last trading day of August): 71 days after 06-03
    assert time_to_expiry("sc2509C490", ON) == 71 / 365
    assert time_to_expiry("sc2509C490", "2025-08-13") == 0.0
    with pytest.raises(UnknownContract, match="expired"):
        time_to_expiry("sc2509C490", "2025-08-14")


@pytest.mark.parametrize(
    ("code", "r", "sigma"),
    [
        ("sc2509C520", 0.015, 0.35),
        ("sc2509P440", 0.015, 0.35),
        ("sc2509P550", 0.03, 0.5),
        ("sc2509C400", 0.03, 0.25),
    ],
)
def test_american_price_matches_quantlib_baw(code: str, r: float, sigma: float) -> None:
    f = value_options({code: 1}, ON, F, r=r, sigma=sigma)
    o = option(code)
    want = _ql_baw(480.3, o.strike, 71, r, sigma, o.w)
    assert f["price"][0] == pytest.approx(want, rel=1e-12, abs=1e-12)
    assert f["premium"][0] == pytest.approx(want * 1000, rel=1e-12)


def test_american_greeks_equal_black76_when_no_early_exercise() -> None:
    # r = 0: an American option on a futures price is European (pricing.american returns Black-76)
    F_, K = np.array([480.3, 480.3, 702.0, 14000.0]), np.array([520.0, 440.0, 650.0, 15000.0])
    T, s, w = (
        np.array([0.2, 0.5, 0.1, 1.0]),
        np.array([0.35, 0.3, 0.25, 0.2]),
        np.array([1.0, -1.0, -1.0, 1.0]),
    )
    a = american_greeks(F_, K, T, 0.0, s, w)
    b = pricing.black76_greeks(F_, K, T, 0.0, s, w)
    np.testing.assert_allclose(a["price"], b["price"], rtol=1e-14)
    np.testing.assert_allclose(a["delta"], b["delta"], rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(a["gamma"], b["gamma"], rtol=1e-5)
    np.testing.assert_allclose(a["vega"], b["vega"], rtol=1e-6)
    np.testing.assert_allclose(a["theta"], b["theta"], rtol=1e-6)


def test_american_delta_against_quantlib_bump() -> None:
    # the same central difference on QuantLib's BAW prices
    h = 480.3e-3 * 0.35 * math.sqrt(71 / 365)  # american_greeks' bump
    want = (_ql_baw(480.3 + h, 440.0, 71, 0.05, 0.35, -1) - _ql_baw(480.3 - h, 440.0, 71, 0.05, 0.35, -1)) / (
        2 * h
    )
    g = american_greeks(480.3, 440.0, 71 / 365, 0.05, 0.35, "put")
    assert g["delta"][0] == pytest.approx(want, rel=1e-8)
    assert -1.0 < g["delta"][0] < 0.0 and g["gamma"][0] > 0 and g["vega"][0] > 0


def test_implied_vol_round_trip() -> None:
    K = np.array([400.0, 440.0, 480.0, 520.0, 600.0])
    for w in (1.0, -1.0):
        for s in (0.1, 0.35, 1.2):
            p = pricing.american(480.3, K, 71 / 365, 0.03, s, w)
            keep = p > np.maximum(w * (480.3 - K), 0.0) + 1e-6  # deep in the money at low vol: exercise now
            iv = implied_vol_american(p[keep], 480.3, K[keep], 71 / 365, 0.03, w)
            np.testing.assert_allclose(iv, s, rtol=1e-9)
    with pytest.raises(PricingError, match="exercise value"):
        implied_vol_american(30.0, 480.3, 440.0, 0.2, 0.03, "call")  # intrinsic 40.3


def test_value_options_from_settlements_implies_vol_and_reprices() -> None:
    p = float(pricing.american(480.3, 520.0, 71 / 365, 0.015, 0.33, "call"))
    settle = round(p / 0.05) * 0.05  # on the 0.05 tick
    f = value_options({"sc2509C520": 2}, ON, F, r=0.015, option_settle={"SC2509C520": settle})
    assert f["sigma_source"][0] == "implied" and f["sigma"][0] == pytest.approx(0.33, abs=2e-4)
    assert f["price"][0] == pytest.approx(settle, abs=1e-9)
    assert f["margin_basis"][0] == "settlement" and f["margin"][0] == 0.0  # long: premium paid, no margin
    m = option_margin("sc2509C520", ON, settle, 480.3)
    assert f["margin_per_lot"][0] == pytest.approx(m.margin)
    with pytest.raises(PricingError, match="sc2509P520"):
        value_options(
            {"sc2509P520": 1}, ON, F, r=0.015, option_settle={"sc2509P520": 30.0}
        )  # < 39.7 intrinsic


def test_collar_worked_example() -> None:
    # a crude importer buys 10 sc2509 calls at 520 and writes 10 puts at 440 (docs/options.md)
    f = value_options({"sc2509C520": 10, "sc2509P440": -10}, ON, F, r=0.015, sigma=0.35)
    c, p = f.row(0, named=True), f.row(1, named=True)
    assert c["value"] == pytest.approx(10 * 1000 * c["price"]) and p["value"] == pytest.approx(
        -10 * 1000 * p["price"]
    )
    assert c["margin"] == 0.0
    # written put: premium + max(Fm - OTM/2, Fm/2), Fm = 52,833, OTM = 40,300
    assert p["margin"] == pytest.approx(10 * (1000 * p["price"] + max(52833 - 20150, 26416.5)), rel=1e-12)
    assert p["margin_basis"] == "model"
    assert c["delta_lots"] == pytest.approx(10 * c["delta"]) and p["delta_lots"] == pytest.approx(
        -10 * p["delta"]
    )
    assert 0 < c["delta"] < 1 and -1 < p["delta"] < 0 and f["delta_lots"].sum() > 0
    assert f["theta_cny"][0] < 0 < f["theta_cny"][1]  # bought options decay, written ones earn


def test_expiry_day_is_exercise_value() -> None:
    f = value_options({"sc2509C470": 1, "sc2509P470": -1, "sc2509C500": 1}, "2025-08-13", {"sc2509": 480.3},
                      r=0.015, sigma=0.35)  # fmt: skip
    assert f["price"].to_list() == pytest.approx([10.3, 0.0, 0.0])
    assert f["delta"].to_list() == [1.0, 0.0, 0.0] and f["sigma_source"].to_list() == ["expiry"] * 3
    assert all(math.isnan(x) for x in f["sigma"].to_list())


def test_european_style_uses_black76(monkeypatch: pytest.MonkeyPatch) -> None:
    spec = mo.option_product("sc")
    monkeypatch.setitem(mo._all(), "sc", dataclasses.replace(spec, style="european"))
    mo._option.cache_clear()
    try:
        f = value_options({"sc2509P440": 1}, ON, F, r=0.05, sigma=0.35)
        g = pricing.black76_greeks(480.3, 440.0, 71 / 365, 0.05, 0.35, "put")
        assert f["style"][0] == "european"
        for col in ("price", "delta", "gamma", "vega", "theta"):
            assert f[col][0] == g[col][0]
        settle = float(g["price"][0])
        f = value_options({"sc2509P440": 1}, ON, F, r=0.05, option_settle={"sc2509P440": settle})
        assert f["sigma"][0] == pytest.approx(0.35, rel=1e-12)
        # the American price is above the European one with r > 0
        monkeypatch.setitem(mo._all(), "sc", spec)
        mo._option.cache_clear()
        assert value_options({"sc2509P440": 1}, ON, F, r=0.05, sigma=0.35)["price"][0] > settle
    finally:
        mo._option.cache_clear()


def test_positions_frame_and_bad_input() -> None:
    frame = pl.DataFrame({"option": ["i2509-C-700", "I2509P650"], "lots": [5, -5]})
    f = value_options(frame, ON, {"I2509": 702.0}, r=0.015, sigma={"i2509-C-700": 0.3, "i2509-P-650": 0.32})
    assert f["option"].to_list() == ["i2509-C-700", "i2509-P-650"] and f["multiplier"].to_list() == [
        100.0,
        100.0,
    ]
    assert f["expiry"][0] == dt.date(2025, 8, 18)  # 12th trading day of August 2025 (S9)
    with pytest.raises(InputError, match="no settlement for sc2509"):
        value_options({"sc2509C490": 1}, ON, {"sc2510": 480.0}, r=0.0, sigma=0.3)
    with pytest.raises(InputError, match="sigma"):
        value_options({"sc2509C490": 1}, ON, F, r=0.0)
    with pytest.raises(InputError, match="no value for sc2509P440"):
        value_options({"sc2509C490": 1, "sc2509P440": 1}, ON, F, r=0.0, sigma={"sc2509C490": 0.3})
    with pytest.raises(InputError, match="twice"):
        value_options({"sc2509C490": 1, "SC2509-C-490": 1}, ON, F, r=0.0, sigma=0.3)
    with pytest.raises(InputError, match="lots"):
        value_options({"sc2509C490": float("nan")}, ON, F, r=0.0, sigma=0.3)
    with pytest.raises(UnknownContract, match="expired"):
        value_options({"sc2509C490": 1}, "2025-08-14", F, r=0.0, sigma=0.3)
    with pytest.raises(InputError, match="empty"):
        value_options({}, ON, F, r=0.0, sigma=0.3)


def test_docs_worked_example_numbers_come_from_the_script() -> None:
    from pathlib import Path

    from tests.docpages import load_script

    root = Path(__file__).parents[1]
    tables = load_script("options_example").example()
    text = (root / "docs" / "options.md").read_text(encoding="utf-8")
    collar = tables["collar"]
    c, p = collar.row(0, named=True), collar.row(1, named=True)
    for number in (
        f"{c['price']:.2f}", f"{c['value']:,.0f}", f"{c['delta_lots']:+.2f}", f"{c['vega_cny']:,.0f}",
        f"{p['price']:.2f}", f"{-p['value']:,.0f}", f"{p['margin']:,.0f}", f"{collar['value'].sum():,.0f}",
        f"{collar['delta_lots'].sum():+.2f}", f"{p['margin_per_lot']:,.2f}",
    ):  # fmt: skip
        assert number in text, number


def test_options_cli_function(capsys: pytest.CaptureFixture[str]) -> None:
    import argparse

    from cnfutures.cli import options as options_cli

    parser = argparse.ArgumentParser()
    options_cli.register(parser.add_subparsers())
    argv = ["options", "sc", "--on", ON, "--settle", "sc2509=480.3", "--value", "sc2509P440=-10"]
    args = parser.parse_args([*argv, "--sigma", "0.35", "--r", "0.015"])
    assert args.func(args) == 0
    assert "452416" in capsys.readouterr().out.replace(",", "").replace(".", " ")
    args = parser.parse_args(["options", "sc", "--on", ON, "--settle", "sc2509:480.3"])
    with pytest.raises(InputError, match="CODE=NUMBER"):
        args.func(args)
    args = parser.parse_args(
        ["options", "sc", "--on", ON, "--settle", "sc2509=480.3", "--value", "sc2509C490=1"]
    )
    with pytest.raises(InputError, match="--sigma"):
        args.func(args)
