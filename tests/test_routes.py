"""Route economics (access/economics.py) and the route comparison (backtest/routes.py).

Reference values are the rows of ``src/cnfutures/access/data/route_costs.toml`` (cited per test).
"""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from cnfutures.access import Investor
from cnfutures.access.economics import ITEMS, check_route_policy, route_economics
from cnfutures.backtest import Costs, Exposure, HedgePolicy, Market, run
from cnfutures.backtest.routes import compare_routes, costs_of, format_comparison, route_costs
from cnfutures.errors import AccessDenied, InputError
from tests.docpages import assert_page_current

START, END = "2025-03-03", "2025-06-06"
EXPO = Exposure(500_000, "short", "brent")
POLICY = HedgePolicy("sc")


@functools.cache
def _market() -> Market:
    return Market.sample("sc", START, END)


# ----------------------------------------------------------------------------- the data


@pytest.mark.parametrize(
    ("route", "per_lot", "spread", "custodian"),
    [
        ("ff_client", 2.0, 0.0005, 0.0),  # ff_commission 2.0; fx_spread 0.0005
        ("overseas_intermediary", 5.0, 0.001, 0.0),  # ff_commission 2.0 + oi_markup 3.0; fx_spread 0.001
        ("osbp_client", 4.0, 0.001, 0.0),  # osbp_commission 3.0 + clearing_fee 1.0; fx_spread 0.001
        ("osnbp", 1.0, 0.0005, 0.0),  # clearing_fee 1.0; fx_spread 0.0005
        ("qfi", 2.0, 0.0005, 0.001),  # ff_commission 2.0; fx_spread 0.0005; custodian_fee 0.001/year
    ],
)
def test_route_rows_by_hand(route: str, per_lot: float, spread: float, custodian: float) -> None:
    e = route_economics(route, "sc", "2025-06-03")
    assert e.commission_per_lot == per_lot
    assert e.value("fx_spread") == spread
    assert e.value("custodian_fee") == custodian
    c = costs_of(e)
    assert (c.commission, c.fx_spread, c.funding_rate) == (per_lot, spread, pytest.approx(0.05 + custodian))
    # every commercial item is flagged as such and unverified
    for item in e.items.values():
        if item.kind == "commercial":
            assert not item.verified and item.source


def test_collateral_and_facts_per_route() -> None:
    q = route_economics("qfi", "sc", "2025-06-03")
    assert (q.usd_collateral, q.haircut, q.hedge_code, q.delivery) == (False, 1.0, False, False)
    assert "fangquant.com/t/1355" in q.facts_source and not q.facts_verified
    o = route_economics("osbp_client", "sc", "2025-06-03")
    assert (o.usd_collateral, o.haircut) == (True, 0.95)  # money.toml INE haircut row
    assert route_economics("ff_client", "i", "2025-06-03").haircut == 0.95  # DCE row


def test_ff_client_defaults_are_the_library_costs() -> None:
    assert route_costs(Investor("ff_client"), "sc", "2025-06-03") == Costs()


def test_overrides_units_and_errors() -> None:
    e = route_economics(
        "qfi", "sc", "2025-06-03", overrides={"fx_spread": "8 bp", "ff_commission": "1.5 CNY/lot"}
    )
    assert e.value("fx_spread") == pytest.approx(0.0008)
    assert e.items["ff_commission"].kind == "override" and e.commission_per_lot == 1.5
    with pytest.raises(InputError, match=r"oi_markup.*CNY/lot"):
        route_economics("overseas_intermediary", "sc", "2025-06-03", overrides={"oi_markup": "3 bp"})
    with pytest.raises(InputError, match=r"fx_spread.*5 bp"):
        route_economics("ff_client", "sc", "2025-06-03", overrides={"fx_spread": 5})
    with pytest.raises(InputError, match="unknown item"):
        route_economics("ff_client", "sc", "2025-06-03", overrides={"commision": 2})
    with pytest.raises(InputError, match="unknown route"):
        route_economics("osbp", "sc", "2025-06-03")
    assert set(ITEMS) == set(e.items)


# ----------------------------------------------------------------------------- the booking


def test_qfi_hedging_quota_is_refused_with_its_source() -> None:
    inv = Investor("qfi", hedging_quota=1_000)
    with pytest.raises(AccessDenied, match=r"speculative trading codes only.*fangquant.com/t/1355"):
        check_route_policy(inv, "sc", "2025-06-03")
    with pytest.raises(AccessDenied, match="hedging_quota=1000"):
        run(_market(), EXPO, POLICY, inv)
    check_route_policy(Investor("osbp_client", hedging_quota=1_000), "sc", "2025-06-03")  # allowed


def test_ledgers_differ_by_exactly_the_markup() -> None:
    """Same FX spread on both routes: the fees differ by lots traded × oi_markup (3.0 CNY/lot)."""
    same = {"fx_spread": 0.0005}
    ff = run(_market(), EXPO, POLICY, Investor("ff_client"),
             costs_of(route_economics("ff_client", "sc", START, same)))  # fmt: skip
    oi = run(_market(), EXPO, POLICY, Investor("overseas_intermediary"),
             costs_of(route_economics("overseas_intermediary", "sc", START, same)))  # fmt: skip
    lots = (ff.ledger["trade_lots"].abs() + ff.ledger["roll_lots"].abs()).to_numpy()
    assert lots.sum() > 0
    np.testing.assert_allclose(oi.ledger["fees_cny"] - ff.ledger["fees_cny"], lots * 3.0, atol=1e-9)
    assert_frame_equal(
        ff.ledger.select("lots", "variation_margin_cny"), oi.ledger.select("lots", "variation_margin_cny")
    )


def test_default_run_books_the_route_economics() -> None:
    """``run`` without costs books the route's rows: the FX cost is the channel's spread."""
    osbp = run(_market(), EXPO, POLICY, Investor("osbp_client"))
    ff = run(_market(), EXPO, POLICY, Investor("ff_client"))
    assert_frame_equal(ff.ledger, run(_market(), EXPO, POLICY, Investor("ff_client"), Costs()).ledger)
    for res, spread in ((osbp, 0.001), (ff, 0.0005)):
        led = res.ledger.filter(pl.col("release_usd") == 0)  # no CNY cash sold back that day
        np.testing.assert_allclose(led["fx_cost_usd"], led["converted_usd"] * spread, rtol=1e-12, atol=1e-9)
    assert osbp["fx_cost_usd"] != ff["fx_cost_usd"]


def test_qfi_margin_is_cny_counted_in_full() -> None:
    q = run(_market(), EXPO, POLICY, Investor("qfi")).ledger
    o = run(_market(), EXPO, POLICY, Investor("osnbp")).ledger
    np.testing.assert_allclose(
        q["equity_cny"], q["cash_cny"] + q["collateral_usd"] * q["usd_cny"], rtol=1e-12
    )
    np.testing.assert_allclose(o["equity_cny"], o["cash_cny"] + o["collateral_usd"] * 0.95 * o["usd_cny"],
                               rtol=1e-12)  # fmt: skip


# ----------------------------------------------------------------------------- the comparison


def test_compare_routes_components_add_up() -> None:
    cmp = compare_routes(_market(), EXPO, POLICY, hedging_quota=2_000)
    t = cmp.table
    assert t["route"].to_list() == ["ff_client", "overseas_intermediary", "osbp_client", "osnbp", "qfi"]
    assert t["eligible"].all()
    for rec in t.iter_rows(named=True):
        res = cmp.results[rec["route"]]
        led = res.ledger
        fx = led["usd_cny"]
        lots = led["trade_lots"].abs() + led["roll_lots"].abs()
        e = cmp.economics[rec["route"]]
        for item in ("ff_commission", "oi_markup", "osbp_commission", "clearing_fee"):
            assert rec[f"{item}_usd"] == pytest.approx(float((lots * e.value(item) / fx).sum()), abs=1e-9)
        assert rec["total_cost_usd"] == pytest.approx(
            float(led["costs_usd"].sum()) + rec["slippage_usd"], rel=1e-9
        )  # the FX on a QFI's CNY margin is booked inside costs_usd
        assert rec["fx_spread_usd"] + rec["fx_collateral_usd"] == pytest.approx(
            float(led["fx_cost_usd"].sum()), rel=1e-12
        )
    q = t.filter(pl.col("route") == "qfi").row(0, named=True)
    assert "hedging quota NOT applied" in q["constraints"] and "no delivery" in q["constraints"]
    assert q["fx_collateral_usd"] > 0 and not q["verified"]
    # QFI: fx_spread 0.0005 (route_costs.toml qfi row) x (margin posted + margin released), where
    # the margin released is the day-by-day fall of the CNY collateral net of new calls (the
    # ledger values it in USD at each day's fixing; CNY bought and sold at the fixing: no CNH)
    led = cmp.results["qfi"].ledger
    fx = led["usd_cny"].to_numpy()
    coll = led["collateral_usd"].to_numpy() * fx  # CNY
    calls = led["margin_call_usd"].to_numpy()
    released = (np.concatenate([[0.0], coll[:-1]]) + calls * fx - coll) / fx
    assert q["fx_collateral_usd"] == pytest.approx(0.0005 * float(calls.sum() + released.sum()), rel=1e-9)
    assert released.min() >= -1e-6
    assert t.filter(pl.col("route") == "ff_client")["fx_collateral_usd"][0] == 0.0
    assert "ff_client" in format_comparison(cmp)
    assert cmp.cheapest() in t["route"].to_list()


def test_compare_routes_lists_ineligible_routes_with_reasons() -> None:
    m = Market.sample("i", START, END)
    expo = Exposure(
        50_000, "short", next(iter(m.prices)), "USD" if next(iter(m.prices)) == "brent" else "CNY"
    )
    cmp = compare_routes(m, expo, HedgePolicy("i"), kind="individual")
    t = cmp.table
    bad = dict(t.filter(~pl.col("eligible")).select("route", "reason").rows())
    assert set(bad) == {"osbp_client", "osnbp", "qfi"}
    assert "DCE" in bad["osbp_client"]  # no OSP category at DCE (routes.toml availability row)
    assert "institution" in bad["qfi"]
    assert "NOT ELIGIBLE" in format_comparison(cmp)


def test_compare_routes_no_route_fits() -> None:
    """ru before 2025-06-20: not a specified product, not yet on the QFI list (products.toml)."""
    m = Market.sample("ru", "2025-03-03", "2025-04-30")
    with pytest.raises(AccessDenied, match=r"no route can book this ru hedge.*qfi: .*QFI list"):
        compare_routes(m, Exposure(1_000, "short", "spot", "CNY"), HedgePolicy("ru"))


def test_compare_routes_bad_input() -> None:
    with pytest.raises(InputError, match="unknown route"):
        compare_routes(_market(), EXPO, POLICY, routes=["osbp"])
    with pytest.raises(InputError, match="oi_markup"):
        compare_routes(_market(), EXPO, POLICY, routes=["overseas_intermediary"],
                       overrides={"overseas_intermediary": {"oi_markup": "5 bp"}})  # fmt: skip


def test_routes_cli_command(capsys: pytest.CaptureFixture[str]) -> None:
    from cnfutures.cli import main

    assert main(["routes", "--product", "sc", "--quantity", "500000", "--start", START, "--end", END]) == 0
    out = capsys.readouterr().out
    assert "overseas_intermediary" in out and "TOTAL" in out


def test_routes_page_worked_example_is_up_to_date() -> None:
    """Every number of docs/routes.md comes from scripts/routes_example.py."""
    assert_page_current("routes_example")


def test_compare_routes_risk_same_paths_differ_by_route_costs() -> None:
    from cnfutures.backtest.routes import compare_routes_risk

    expo = Exposure(200_000, "short", "benchmark")
    t = compare_routes_risk(expo, POLICY, start="2025-01-02", n_days=40, n_paths=16, hedging_quota=500,
                            routes=["ff_client", "overseas_intermediary", "qfi"])  # fmt: skip
    assert t["eligible"].all()
    by = {r["route"]: r for r in t.iter_rows(named=True)}
    # same paths, same trades: the OI costs more (oi_markup 3 CNY/lot, fx_spread 10 bp vs 5 bp)
    assert by["overseas_intermediary"]["cost_p50_usd"] > by["ff_client"]["cost_p50_usd"]
    # effectiveness differs only through the costs inside the net P&L
    eff_ff, eff_oi = by["ff_client"]["effectiveness_p50"], by["overseas_intermediary"]["effectiveness_p50"]
    assert eff_ff == pytest.approx(eff_oi, abs=0.01)
    assert "hedging quota NOT applied" in by["qfi"]["constraints"]


def test_cli_routes_writes_the_report(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from cnfutures.cli import main

    rc = main(["routes", "--start", "2025-03-03", "--end", "2025-06-06", "--quantity", "300000",
               "--report", str(tmp_path / "rt")])  # fmt: skip
    assert rc == 0
    page = tmp_path / "rt" / "index.html"
    assert f"report: {page}" in capsys.readouterr().out
    text = page.read_text(encoding="utf-8")
    assert "Access routes side by side" in text and "Cumulative costs by route" in text
