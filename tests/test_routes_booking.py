"""Route economics in the booking: the command line, prepare-once comparison, the QFI's CNY
margin, margin flows and the report section (issue 17, second part).

Reference values are the rows of ``src/cnfutures/access/data/route_costs.toml`` (cited per test)
or a standalone ``run()`` of the same route.
"""

from __future__ import annotations

import functools

import pytest

from cnfutures.access import Investor
from cnfutures.backtest import Costs, Exposure, HedgePolicy, Market, run
from cnfutures.backtest.costs import route_costs
from cnfutures.frames.roll import RollRule

START, END = "2025-03-03", "2025-06-06"
EXPO = Exposure(500_000, "short", "brent")
POLICY = HedgePolicy("sc")
# the command line's defaults (cli/backtest.py)
CLI_POLICY = HedgePolicy(
    "sc",
    roll=RollRule(kind="calendar", days_before_ltd=5, before_stage="month_before_delivery"),
    slippage_ticks=1.0,
)


@functools.cache
def _market() -> Market:
    return Market.sample("sc", START, END)


# ----------------------------------------------------------------------------- 1. the command line


def _cli_summary(capsys: pytest.CaptureFixture[str], *extra: str) -> dict[str, str]:
    from cnfutures.cli import main

    args = ["backtest", "--no-report", "--start", START, "--end", END, "--quantity", "500000", *extra]
    assert main(args) == 0
    out = capsys.readouterr().out
    rows = [line.split() for line in out.splitlines() if line.startswith("  ")]
    return {r[0]: r[1] for r in rows}


def test_cli_backtest_books_the_route_economics(capsys: pytest.CaptureFixture[str]) -> None:
    """No cost flag: the OSBP client's rows (osbp_commission 3 + clearing_fee 1 CNY/lot, fx_spread 10 bp)."""
    got = _cli_summary(capsys)
    want = run(_market(), EXPO, CLI_POLICY, Investor("osbp_client"))
    assert got["fees_usd"] == f"{want['fees_usd']:,.0f}"
    assert got["fx_cost_usd"] == f"{want['fx_cost_usd']:,.0f}"
    old = run(_market(), EXPO, CLI_POLICY, Investor("osbp_client"), Costs())  # the former CLI default
    assert want["fees_usd"] > old["fees_usd"] and want["fx_cost_usd"] > old["fx_cost_usd"]


def test_cli_backtest_cost_flags_override_the_route(capsys: pytest.CaptureFixture[str]) -> None:
    got = _cli_summary(capsys, "--route", "qfi", "--commission", "1.5", "--funding-rate", "0.03")
    base = route_costs(Investor("qfi"), "sc", START, base=Costs(funding_rate=0.03))
    assert base.funding_rate == pytest.approx(0.03 + 0.001)  # + qfi custodian_fee 0.001/year
    c = Costs(commission=1.5, fx_spread=base.fx_spread, funding_rate=base.funding_rate)
    want = run(_market(), EXPO, CLI_POLICY, Investor("qfi"), c)
    for m in ("fees_usd", "funding_usd", "fx_cost_usd", "net_pnl_usd"):
        assert got[m] == f"{want[m]:,.0f}", m


def test_cli_backtest_bad_cost_flag_is_a_typed_error(capsys: pytest.CaptureFixture[str]) -> None:
    from cnfutures.cli import main

    rc = main(["backtest", "--no-report", "--start", START, "--end", END, "--fx-spread", "-1"])
    assert rc == 2
    assert "Costs.fx_spread=-1.0" in capsys.readouterr().err


# ----------------------------------------------------------------------------- 2. prepare once, book N


def test_compare_routes_equals_standalone_runs_exactly() -> None:
    """Prepared once and booked per route: every route's ledger and summary are a standalone run's."""
    from polars.testing import assert_frame_equal

    from cnfutures.backtest.routes import compare_routes

    cmp = compare_routes(
        _market(), EXPO, POLICY, hedging_quota=2_000, overrides={"*": {"broker_addon": 0.02}}
    )
    assert set(cmp.results) == {"ff_client", "overseas_intermediary", "osbp_client", "osnbp", "qfi"}
    for route, res in cmp.results.items():
        quota = None if route == "qfi" else 2_000  # QFI: speculative codes only, the quota is dropped
        from cnfutures.backtest.costs import costs_of

        costs = costs_of(cmp.economics[route])
        alone = run(_market(), EXPO, POLICY, Investor(route, hedging_quota=quota), costs)
        assert_frame_equal(res.ledger, alone.ledger, check_exact=True)
        assert_frame_equal(res.summary, alone.summary, check_exact=True)
        assert res.title == alone.title


def test_market_prep_refuses_another_kind() -> None:
    from cnfutures.backtest.engine import prepare_market
    from cnfutures.errors import InputError

    mp = prepare_market(_market(), EXPO, POLICY, kind="institution")
    with pytest.raises(InputError, match="investor kind 'individual' differs"):
        mp.for_route(Investor("ff_client", kind="individual"))
    with pytest.raises(InputError, match="kind='firm'; accepted"):
        prepare_market(_market(), EXPO, POLICY, kind="firm")


# ----------------------------------------------------------------------------- 3. the QFI's CNY margin


def test_qfi_cny_margin_fx_is_booked_day_by_day() -> None:
    """QFI (no USD collateral, money.toml): fx_spread 0.0005 (route_costs.toml qfi row) on each USD
    bought into CNY margin and on each margin release, booked by the kernel; the cash, equity,
    requirement and calls are untouched, the USD sent (and so the funding) carries the spread."""
    import dataclasses

    import numpy as np

    from cnfutures.backtest.engine import book, prepare
    from cnfutures.backtest.result import BacktestResult

    prep = prepare(_market(), EXPO, POLICY, Investor("qfi"))
    spread = 0.0005
    np.testing.assert_array_equal(prep.inputs.schedule.collateral_fx, np.full(prep.days.len(), spread))
    # the same inputs without the collateral leg: the kernel as it booked before
    bare = dataclasses.replace(
        prep, inputs=prep.inputs._replace(schedule=prep.inputs.schedule._replace(collateral_fx=np.zeros(0)))
    )
    got, ref = (
        BacktestResult.from_arrays(
            p, *book(p.inputs), market=_market(), policy=POLICY, investor=Investor("qfi")
        ).ledger
        for p in (prep, bare)
    )
    for col in (
        "cash_cny",
        "collateral_usd",
        "margin_call_usd",
        "release_usd",
        "equity_cny",
        "margin_required_cny",
    ):
        np.testing.assert_array_equal(got[col], ref[col], err_msg=col)
    call = ref["margin_call_usd"].to_numpy()
    fx = ref["usd_cny"].to_numpy()
    coll = ref["collateral_usd"].to_numpy() * fx  # the CNY collateral (valued at the fixing)
    released = (np.concatenate([[0.0], coll[:-1]]) + call * fx - coll) / fx  # sold back that day [USD]
    cfx = spread * (call + released)
    assert cfx.sum() > 0
    np.testing.assert_allclose(got["fx_cost_usd"] - ref["fx_cost_usd"], cfx, rtol=0, atol=1e-9)
    np.testing.assert_allclose(got["usd_posted"] - ref["usd_posted"], np.cumsum(cfx), rtol=0, atol=1e-6)
    # a route posting USD books no collateral leg: its schedule carries none
    assert prepare(_market(), EXPO, POLICY, Investor("osnbp")).inputs.schedule.collateral_fx.size == 0


# ----------------------------------------------------------------------------- 4. margin flows


def test_broker_addon_changes_the_requirement_and_usd_posted_only() -> None:
    """An OI's add-on of 5 points (override of the route_costs.toml broker_addon row, default 0):
    the requirement rises by |lots| x settle x 1000 bbl/lot x 0.05; the trades do not change."""
    import numpy as np
    from polars.testing import assert_frame_equal

    from cnfutures.access.economics import route_economics
    from cnfutures.backtest.costs import costs_of

    e0 = route_economics("overseas_intermediary", "sc", START)
    assert e0.value("broker_addon") == 0.0 and e0.items["broker_addon"].kind == "commercial"
    e1 = route_economics("overseas_intermediary", "sc", START, {"broker_addon": "500 bp"})
    inv = Investor("overseas_intermediary")
    a = run(_market(), EXPO, POLICY, inv, costs_of(e0)).ledger
    b = run(_market(), EXPO, POLICY, inv, costs_of(e1)).ledger
    extra = (a["lots"].abs() * a["settle"].fill_null(0.0) * 1000.0 * 0.05).to_numpy()
    np.testing.assert_allclose(
        b["margin_required_cny"] - a["margin_required_cny"], extra, rtol=1e-12, atol=1e-6
    )
    cols = ["lots", "trade_lots", "roll_lots", "variation_margin_cny", "fees_cny"]
    assert_frame_equal(a.select(cols), b.select(cols), check_exact=True)
    assert b["usd_posted"].max() > a["usd_posted"].max()


def test_margin_call_deadline_is_route_data_with_source() -> None:
    from cnfutures.access.economics import route_economics
    from cnfutures.backtest.routes import compare_routes

    for route in ("ff_client", "overseas_intermediary", "osbp_client", "osnbp", "qfi"):
        e = route_economics(route, "sc", "2025-06-03")
        # route_costs.toml [margin_call.*]: before the next trading day's open (INE Risk Mgmt Rules copy)
        assert e.call_deadline_days == 1 and "next trading day's open" in e.call_deadline_source
        assert not e.call_deadline_verified and any(
            u.startswith("margin-call deadline") for u in e.unverified
        )
    t = compare_routes(_market(), EXPO, POLICY, routes=["ff_client", "qfi"]).table
    assert t["call_deadline_days"].to_list() == [1, 1]


# ----------------------------------------------------------------------------- 5. report section


def test_routes_section_names_the_cheapest_and_the_drivers() -> None:
    import polars as pl

    from cnfutures.backtest.routes import RouteComparison, compare_routes, routes_section

    cmp = compare_routes(_market(), EXPO, POLICY, hedging_quota=2_000)
    t = cmp.table
    ok = t.filter(pl.col("eligible")).sort("total_cost_usd")
    cheap, dear = ok.row(0, named=True), ok.row(-1, named=True)
    sec = routes_section(cmp)
    assert sec.startswith('<section class="routes">') and sec.endswith("</section>")
    assert f"Cheapest eligible route: {cheap['route']}, total cost USD {cheap['total_cost_usd']:,.0f}" in sec
    gap = dear["total_cost_usd"] - cheap["total_cost_usd"]
    assert f"Dearest: {dear['route']}, USD {dear['total_cost_usd']:,.0f} (+USD {gap:,.0f})" in sec
    # the largest driver of the gap, computed here from the table
    comps = {
        "FX on CNY margin": "fx_collateral_usd", "funding": "funding_usd", "FX spread": "fx_spread_usd",
        "custodian fee": "custodian_usd", "OI mark-up": "oi_markup_usd", "exchange fees": "exchange_fees_usd",
        "FF commission": "ff_commission_usd", "OSBP commission": "osbp_commission_usd",
        "clearing fee": "clearing_fee_usd", "slippage": "slippage_usd",
    }  # fmt: skip
    top = max(comps, key=lambda w: abs(dear[comps[w]] - cheap[comps[w]]))
    diff = dear[comps[top]] - cheap[comps[top]]
    assert diff > 0 and f"it pays more for {top} (+USD {diff:,.0f})" in sec
    assert sec.count("<tr>") == 1 + ok.height  # header + one row per eligible route
    # every value is escaped
    evil = RouteComparison(
        t.with_columns(
            pl.when(pl.col("route") == "qfi").then(pl.lit("<script>x</script>"))
            .otherwise(pl.col("fx_channel")).alias("fx_channel")
        ),
        cmp.results, cmp.economics,
    )  # fmt: skip
    out = routes_section(evil)
    assert "<script>" not in out and "&lt;script&gt;x&lt;/script&gt;" in out


# ----------------------------------------------------------------------------- bad input


def test_route_unknown_to_the_exchange_is_refused_with_rule_and_source() -> None:
    """An OSBP at DCE (routes.toml availability row: DCE has no OSP category, mondovisione DCE)."""
    from cnfutures.access.economics import route_economics
    from cnfutures.errors import AccessDenied

    with pytest.raises(
        AccessDenied, match=r"route='osbp_client'.*rule route_at_exchange, source: .*mondovisione"
    ):
        route_economics("osbp_client", "i", "2025-06-03")
    with pytest.raises(AccessDenied, match=r"route_at_exchange.*mondovisione"):
        route_costs(Investor("osnbp"), "i", "2025-06-03")


def test_profile_fitting_no_route_and_wrong_unit_are_typed_errors() -> None:
    from cnfutures.backtest.routes import compare_routes
    from cnfutures.errors import AccessDenied, InputError

    m = Market.sample("i", START, END)
    expo = Exposure(50_000, "short", "spot", "CNY")
    # an individual on the DCE routes that exist for i: FF client and OI are open to individuals,
    # so ask for the routes an individual cannot use
    with pytest.raises(
        AccessDenied, match=r"no route can book this i hedge for a individual.*osbp_client: .*DCE"
    ):
        compare_routes(m, expo, HedgePolicy("i"), kind="individual", routes=["osbp_client", "osnbp", "qfi"])
    with pytest.raises(
        InputError, match=r"overrides\['ff_commission'\]='2 bp' is in 'bp'; ff_commission is in CNY/lot"
    ):
        compare_routes(m, expo, HedgePolicy("i"), overrides={"*": {"ff_commission": "2 bp"}})
    with pytest.raises(InputError, match=r"overrides\['fx_spread'\]=5.*accepted: fraction in \[0, 0.05\]"):
        route_costs(Investor("ff_client"), "i", START, overrides={"fx_spread": 5})


def _cnh(scale: float):  # type: ignore[no-untyped-def]
    import polars as pl

    fx = _market().usd_cny
    return fx.select("date", (pl.col("usd_cny") * scale).alias("usd_cnh"))


def test_cnh_channel_converts_at_the_offshore_rate() -> None:
    """OI (route_costs.toml [cnh_channel]): with USD/CNH = fixing x 1.002 every USD converted buys
    0.2 % more CNY, so fx_cost = converted x (1 - 1.002 x (1 - fx_spread 0.001)) on days with no
    release; a route converting onshore (FF client) ignores the series bit for bit."""
    import numpy as np
    import polars as pl
    from polars.testing import assert_frame_equal

    from cnfutures.access.economics import cnh_channel

    assert cnh_channel("overseas_intermediary")[0] and not cnh_channel("ff_client")[0]
    ff = Investor("ff_client")
    assert_frame_equal(
        run(_market(), EXPO, POLICY, ff, usd_cnh=_cnh(1.002)).ledger, run(_market(), EXPO, POLICY, ff).ledger,
        check_exact=True,
    )  # fmt: skip
    oi = Investor("overseas_intermediary")
    led = run(_market(), EXPO, POLICY, oi, usd_cnh=_cnh(1.002)).ledger
    base = run(_market(), EXPO, POLICY, oi).ledger
    days = led.filter((pl.col("release_usd") == 0) & (pl.col("converted_usd") > 0))
    assert days.height >= 5
    np.testing.assert_allclose(
        days["fx_cost_usd"], days["converted_usd"] * (1.0 - 1.002 * (1.0 - 0.001)), rtol=1e-9, atol=1e-9
    )
    assert (days["fx_cost_usd"] < 0).all()  # buying CNY offshore at +0.2 % beats the 0.1 % spread
    # the trades and the margin do not depend on the channel
    cols = ["lots", "variation_margin_cny", "fees_cny", "margin_required_cny"]
    assert_frame_equal(led.select(cols), base.select(cols), check_exact=True)
    # CNH equal to the fixing: the booking at the fixing (up to rounding of the two cost formulas)
    same = run(_market(), EXPO, POLICY, oi, usd_cnh=_cnh(1.0)).ledger
    np.testing.assert_allclose(same["fx_cost_usd"], base["fx_cost_usd"], rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(same["usd_posted"], base["usd_posted"], rtol=1e-12, atol=1e-6)


def test_cnh_series_bad_input_is_typed() -> None:
    import polars as pl

    from cnfutures.errors import DataError, InputError

    with pytest.raises(InputError, match="usd_cnh must be a polars DataFrame"):
        run(_market(), EXPO, POLICY, Investor("overseas_intermediary"), usd_cnh={"date": 1})  # type: ignore[arg-type]
    bad = _cnh(1.0).with_columns(pl.when(pl.col("date") == pl.col("date").max()).then(-1.0)
                                 .otherwise(pl.col("usd_cnh")).alias("usd_cnh"))  # fmt: skip
    with pytest.raises((InputError, DataError), match="usd_cnh"):
        run(_market(), EXPO, POLICY, Investor("overseas_intermediary"), usd_cnh=bad)


# ----------------------------------------------------------------------------- sweeps over routes


def test_sweep_over_routes_and_policies_equals_direct_runs() -> None:
    """A ``route`` grid axis: each point books that route's economics (no ``costs`` in the spec),
    exactly as ``run`` does; a QFI with a hedging quota is refused on its own row with the source."""
    import dataclasses

    import polars as pl

    from cnfutures.backtest.sweep import SweepSpec, sweep

    inv = Investor("ff_client", hedging_quota=2_000)
    spec = SweepSpec(_market(), EXPO, POLICY, inv, start=START, end=END)
    grid = {"route": ["ff_client", "overseas_intermediary", "qfi"], "ratio": [0.5, 1.0]}
    t = sweep(spec, grid, executor="serial")
    assert t.height == 6
    for row in t.iter_rows(named=True):
        who = dataclasses.replace(inv, route=row["route"])
        if row["route"] == "qfi":
            assert "speculative trading codes only" in row["error"] and "fangquant.com/t/1355" in row["error"]
            continue
        r = run(_market(), EXPO, dataclasses.replace(POLICY, ratio=row["ratio"]), who, start=START, end=END)
        for m in ("fees_usd", "fx_cost_usd", "funding_usd", "net_pnl_usd", "peak_usd_posted"):
            assert row[m] == r[m], (row["route"], row["ratio"], m)
    ff = t.filter(pl.col("route") == "ff_client", pl.col("ratio") == 1.0)["fees_usd"][0]
    oi = t.filter(pl.col("route") == "overseas_intermediary", pl.col("ratio") == 1.0)["fees_usd"][0]
    assert oi > ff  # oi_markup 3 CNY/lot


def test_sweep_route_axis_bad_values() -> None:
    from cnfutures.backtest.sweep import SweepSpec, sweep
    from cnfutures.errors import InputError

    spec = SweepSpec(_market(), EXPO, POLICY, Investor("ff_client"), start=START, end=END)
    with pytest.raises(InputError, match="unknown route"):
        sweep(spec, {"route": ["osbp"]}, executor="serial")
    m = Market.sample("i", START, END)
    spec_i = SweepSpec(m, Exposure(50_000, "short", "spot", "CNY"), HedgePolicy("i"), Investor("ff_client"))
    t = sweep(spec_i, {"route": ["ff_client", "osnbp"]}, executor="serial")  # OSNBP: no such route at DCE
    assert t["error"][0] is None
    assert t["error"][1].startswith("AccessDenied: route='osnbp'") and "route_at_exchange" in t["error"][1]


def test_routes_cli_reads_a_cnh_series(tmp_path, capsys: pytest.CaptureFixture[str]) -> None:  # type: ignore[no-untyped-def]
    from cnfutures.backtest.routes import compare_routes, format_comparison
    from cnfutures.cli import main

    cnh = _cnh(1.002).drop_nulls()
    path = tmp_path / "cnh.csv"
    cnh.write_csv(path)
    assert (
        main(["routes", "--quantity", "500000", "--start", START, "--end", END, "--usd-cnh", str(path)]) == 0
    )
    out = capsys.readouterr().out
    want = compare_routes(_market(), EXPO, HedgePolicy("sc"), start=START, end=END, usd_cnh=cnh)
    assert format_comparison(want) in out
    plain = compare_routes(_market(), EXPO, HedgePolicy("sc"), start=START, end=END)
    assert format_comparison(plain) not in out  # the OI and OSBP rows changed


def test_cli_cost_flag_on_a_route_not_yet_open_gives_the_access_reason(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from cnfutures.cli import main

    # QFI before sc joined the QFI list (2022-09-02, products.toml): the access reason, not a missing cost row
    rc = main(["backtest", "--no-report", "--route", "qfi", "--start", "2021-03-01", "--end", "2021-06-01",
               "--commission", "1.5"])  # fmt: skip
    assert rc != 0
    err = capsys.readouterr().err
    assert "qfi institution may not trade sc on 2021-03-01" in err and "source:" in err
