"""P&L attribution: the components add up to the net P&L on every ledger; each piece checked
against a plain loop over the market frames (not the attribution's own array code)."""

from __future__ import annotations

import datetime as dt
import itertools
from functools import cache

import numpy as np
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cnfutures.access import Investor
from cnfutures.backtest import Costs, Exposure, HedgePolicy, Market, run
from cnfutures.backtest.attribution import COMPONENTS, attribution_by_year
from cnfutures.errors import InputError
from cnfutures.frames.roll import RollRule

NAMES = [c.name for c in COMPONENTS]
MULT = {"sc": 1000.0, "i": 100.0}


@cache
def _market(code: str) -> Market:
    return Market.sample(code, "2022-09-01", "2025-06-06")


ROUTES = {
    "sc": ["ff_client", "overseas_intermediary", "osbp_client", "osnbp", "qfi"],
    "i": ["ff_client", "overseas_intermediary", "qfi"],  # DCE has no OSP category
}


def _run(code: str, **kw: object) -> object:
    price, cur = ("brent", "USD") if code == "sc" else ("spot", "CNY")
    inv = Investor(kw.pop("route", "qfi"))  # type: ignore[arg-type]
    return run(
        _market(code),
        Exposure(kw.pop("qty", 200_000.0), kw.pop("side", "short"), price, cur),  # type: ignore[arg-type]
        HedgePolicy(code, **kw.pop("policy", {})),  # type: ignore[arg-type]
        inv,
        kw.pop("costs", Costs()),  # type: ignore[arg-type]
        start=kw.pop("start", "2022-09-05"),
        end=kw.pop("end", "2023-09-05"),
    )


def _check_sums(r: object) -> None:
    a = r.attribution()  # type: ignore[attr-defined]
    led = r.ledger  # type: ignore[attr-defined]
    total = a.select(NAMES).sum_horizontal().to_numpy()
    net = led["net_pnl_usd"].to_numpy()
    # every day, and the whole run to the cent
    np.testing.assert_allclose(total, net, rtol=0, atol=1e-6)
    assert abs(total.sum() - r["net_pnl_usd"]) < 0.005  # type: ignore[index]
    # the hedge components add up to the ledger's hedge P&L, the cost ones to minus its costs
    hedge = a.select([c.name for c in COMPONENTS if c.group == "hedge"]).sum_horizontal().to_numpy()
    np.testing.assert_allclose(hedge, led["hedge_pnl_usd"].to_numpy(), rtol=0, atol=1e-6)
    costs = a.select([c.name for c in COMPONENTS if c.group == "costs"]).sum_horizontal().to_numpy()
    np.testing.assert_allclose(costs, -led["costs_usd"].to_numpy(), rtol=0, atol=1e-6)
    expo = a.select([c.name for c in COMPONENTS if c.group == "exposure"]).sum_horizontal().to_numpy()
    np.testing.assert_allclose(expo, led["exposure_pnl_usd"].to_numpy(), rtol=0, atol=1e-6)
    # per-year table: years add up to the total row
    y = r.attribution("year")  # type: ignore[attr-defined]
    body = y.filter(pl.col("period") != "total")
    tot = y.filter(pl.col("period") == "total")
    for n in [*NAMES, "net_pnl_usd"]:
        assert body[n].sum() == pytest.approx(tot[n][0], abs=1e-6)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    code=st.sampled_from(["sc", "i"]),
    ratio=st.floats(0.0, 1.6),
    band=st.sampled_from([0.0, 3.0, 50.0]),
    execution=st.sampled_from(["settle", "open", "close"]),
    slip=st.sampled_from([0.0, 1.0, 2.5]),
    roll_days=st.integers(1, 12),
    side=st.sampled_from(["long", "short"]),
    qty=st.floats(1_000.0, 3_000_000.0),
    commission=st.floats(0.0, 10.0),
    fx_spread=st.floats(0.0, 0.003),
    funding=st.floats(0.0, 0.08),
    start=st.integers(0, 300),
    length=st.integers(3, 250),
    route=st.integers(0, 4),
    route_costs=st.booleans(),
)
def test_components_sum_to_net_on_random_policies(
    code: str, ratio: float, band: float, execution: str, slip: float, roll_days: int, side: str,
    qty: float, commission: float, fx_spread: float, funding: float, start: int, length: int, route: int,
    route_costs: bool,
) -> None:  # fmt: skip
    # every access route; with route_costs the route's own economics (commission layers, FX
    # channel incl. an offshore CNH basis, CNY margin bought with USD for a QFI)
    days = _market(code).futures["trading_day"].unique().sort().to_list()
    i0 = days.index(dt.date(2022, 9, 5)) + start
    d0, d1 = days[i0], days[min(i0 + length, len(days) - 1)]
    r = _run(
        code,
        qty=qty,
        side=side,
        policy={
            "ratio": ratio, "band": band, "execution": execution, "slippage_ticks": slip,
            "roll": RollRule(kind="calendar", days_before_ltd=roll_days),
        },
        costs=None if route_costs else Costs(commission=commission, fx_spread=fx_spread,
                                             funding_rate=funding),
        route=ROUTES[code][route % len(ROUTES[code])],
        start=d0.isoformat(),
        end=d1.isoformat(),
    )  # fmt: skip
    _check_sums(r)


def _naive_pieces(code: str, r: object) -> dict[str, float]:
    """Roll yield, benchmark move and commission by a plain loop over the market frames."""
    m = _market(code)
    fut = {(d, c): s for d, c, s in m.futures.select("trading_day", "contract", "settle").iter_rows()}
    price = "brent" if code == "sc" else "spot"
    spot = dict(m.prices[price].select("date", "price").drop_nulls().iter_rows())
    fxs = dict(m.usd_cny.select("date", "usd_cny").drop_nulls().iter_rows())

    def asof(table: dict[dt.date, float], day: dt.date) -> float:
        return table[max(k for k in table if k <= day)]

    rows = r.ledger.to_dicts()  # type: ignore[attr-defined]
    roll = bench = 0.0
    comm = -(abs(rows[0]["trade_lots"]) + abs(rows[0]["roll_lots"])) * 2.0 / asof(fxs, rows[0]["trading_day"])
    for prev, row in itertools.pairwise(rows):
        day, lots = row["trading_day"], prev["lots"]
        fx = asof(fxs, day)
        comm -= (abs(row["trade_lots"]) + abs(row["roll_lots"])) * 2.0 / fx
        if lots == 0:
            continue
        if row["contract"] != prev["contract"] and row["roll_lots"] != 0:
            old = fut[(day, prev["contract"])]
            new = fut[(day, row["contract"])]
            roll += lots * MULT[code] * (old - new) / fx
        p1, p0 = asof(spot, day), asof(spot, prev["trading_day"])
        bench += lots * MULT[code] * (p1 - p0) / (1.0 if code == "sc" else fx)
    return {"hedge_roll_usd": roll, "hedge_benchmark_usd": bench, "commission_usd": comm}


@pytest.mark.parametrize("code", ["sc", "i"])
def test_roll_benchmark_commission_match_a_plain_loop(code: str) -> None:
    r = _run(code, policy={"ratio": 0.8}, costs=Costs(commission=2.0))
    _check_sums(r)
    tot = r.attribution("total")  # type: ignore[attr-defined]
    got = dict(zip(tot["component"], tot["usd"], strict=True))
    for name, want in _naive_pieces(code, r).items():
        assert got[name] == pytest.approx(want, rel=1e-9, abs=1e-6), name
    assert got["hedge_roll_usd"] != 0.0  # the window holds rolls


def test_fx_translation_only_where_a_currency_crosses() -> None:
    # a CNY-priced exposure hedged in CNY: the hedge has no FX leg; a USD-priced (Brent)
    # exposure hedged in CNY futures has one, and the exposure none
    ri = _run("i")
    rs = _run("sc")
    ti = dict(ri.attribution("total").select("component", "usd").iter_rows())  # type: ignore[attr-defined]
    ts = dict(rs.attribution("total").select("component", "usd").iter_rows())  # type: ignore[attr-defined]
    assert ti["hedge_fx_usd"] == 0.0 and ti["exposure_fx_usd"] != 0.0
    assert ts["exposure_fx_usd"] == 0.0 and ts["hedge_fx_usd"] != 0.0
    # no slippage, settlement execution: those components are exactly 0
    assert ti["hedge_slippage_usd"] == 0.0 and ti["hedge_execution_usd"] == 0.0


def test_bad_by_and_missing_attribution_are_typed_errors() -> None:
    r = _run("i", end="2022-10-31")
    with pytest.raises(InputError, match="by='week'; accepted"):
        r.attribution("week")  # type: ignore[attr-defined]
    from dataclasses import replace

    with pytest.raises(InputError, match="no P&L attribution"):
        replace(r, daily_attribution=None).attribution()  # type: ignore[type-var]


def test_by_year_counts_rolls() -> None:
    r = _run("i")
    y = attribution_by_year(r.attribution())  # type: ignore[attr-defined]
    assert y["period"].to_list()[-1] == "total"
    assert y.filter(pl.col("period") == "total")["rolls"][0] == r.attribution()["roll_gap_cny"].count()  # type: ignore[attr-defined]


def test_a_ledger_that_does_not_add_up_is_a_typed_error() -> None:
    from cnfutures._kernels import settlement as k
    from cnfutures.backtest.attribution import daily_attribution
    from cnfutures.backtest.engine import book, prepare
    from cnfutures.errors import DataError

    prep = prepare(
        _market("i"), Exposure(100_000, "short", "spot", "CNY"), HedgePolicy("i"), Investor("qfi"),
        start="2022-09-05", end="2022-12-30",
    )  # fmt: skip
    led, _ = book(prep.inputs)
    assert daily_attribution(prep, led, currency="CNY", sign=-1.0).height == prep.days.len()
    led[k.L_NET, 7] += 0.01  # a cent the components do not explain
    with pytest.raises(DataError, match=r"misses the ledger's net P&L by 0\.01 USD on 2022-09-1"):
        daily_attribution(prep, led, currency="CNY", sign=-1.0)
