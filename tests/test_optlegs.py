"""Option legs in the hedge backtest (issue 18): booking identities, a naive replay, bad input."""

from __future__ import annotations

import datetime as dt
import math
import types

import numpy as np
import polars as pl
import pytest

from cnfutures.access import Investor
from cnfutures.backtest.engine import prepare, run
from cnfutures.backtest.model import (
    Costs,
    Exposure,
    HedgePolicy,
    Market,
    OptionLeg,
    collar,
    protective_call,
    put_spread,
)  # fmt: skip
from cnfutures.errors import AccessDenied, InputError, UnknownContract, UnknownProduct
from cnfutures.market.options import option, option_product
from cnfutures.validation import check_option_series
from tests.docpages import assert_page_current

START, END = "2024-06-03", "2025-06-06"
QTY = 500_000.0  # bbl: 500 lots of sc
VOL, RATE = 0.35, 0.015
JULY = "2024-07-31"


@pytest.fixture(scope="module")
def sample() -> Market:
    return Market.sample("sc", "2024-05-06", END)  # a month before START: previous settlements


@pytest.fixture(scope="module")
def call_run(sample: Market):  # type: ignore[no-untyped-def]
    policy = HedgePolicy("sc", ratio=0.0, options=protective_call(1.0), option_vol=VOL, option_rate=RATE)
    return run(sample, Exposure(QTY, "short", "brent"), policy, Investor("qfi"), start=START)


def test_protective_call_pnl_is_payoff_minus_premium(call_run, sample: Market) -> None:  # type: ignore[no-untyped-def]
    led, series = call_run.ledger, call_run.meta["option_series"]
    assert series.height >= 8 and set(series["end"]) == {"expire", "open"}
    fut = sample.futures
    n_early = 0
    for s in series.filter(pl.col("end") == "expire").iter_rows(named=True):
        part = led.filter(pl.col("trading_day").is_between(s["opened"], s["ended"]))
        o = option(s["option"])
        ex = part.filter(pl.col("option_exercise_cny") != 0)
        assert ex.height <= 1
        # the day the option ends: exercised (at expiry, or early when the model price is at the
        # exercise value), else expiry out of the money; payoff from the market frame's settlement
        end = ex["trading_day"][0] if ex.height else s["ended"]
        n_early += end < s["ended"]
        cell = (pl.col("trading_day") == end) & (pl.col("contract") == o.underlying.code)
        F = fut.filter(cell)["settle"][0]
        payoff = s["lots"] * 1000.0 * max(F - o.strike, 0.0)
        assert (payoff > 0) == (ex.height == 1)
        premium = part["option_premium_cny"][0]
        assert part["option_exercise_cny"].sum() == pytest.approx(payoff, rel=1e-15, abs=1e-9)
        # sum of the daily marks telescopes to payoff - premium (to rounding of the sum)
        assert part["option_pnl_cny"].sum() == pytest.approx(payoff - premium, rel=1e-12, abs=1e-6)
        assert part["option_cash_cny"].sum() == pytest.approx(payoff - premium, rel=1e-12, abs=1e-6)
        assert (part.filter(pl.col("trading_day") > end)["option_lots"] == 0).all()
    assert n_early >= 1  # r > 0: deep in-the-money American calls were exercised early
    # the whole run: P&L = exercise - premium + value still held; a long leg posts no margin
    total = led["option_exercise_cny"].sum() - led["option_premium_cny"].sum() + led["option_value_cny"][-1]
    assert led["option_pnl_cny"].sum() == pytest.approx(total, rel=1e-12)
    assert led["option_margin_cny"].abs().max() == 0.0
    pnl_usd = (led["option_pnl_cny"] / led["usd_cny"]).sum()
    assert call_run["option_pnl_usd"] == pytest.approx(pnl_usd, rel=1e-12)
    # net P&L holds the option P&L; fees hold the option fees
    assert call_run["net_pnl_usd"] == pytest.approx(led["net_pnl_usd"].sum(), rel=1e-12)


def test_premium_is_the_public_american_price(call_run, sample: Market) -> None:  # type: ignore[no-untyped-def]
    from cnfutures import pricing

    s = call_run.meta["option_series"].row(0, named=True)
    o = option(s["option"])
    cell = (pl.col("trading_day") == s["opened"]) & (pl.col("contract") == o.underlying.code)
    F = sample.futures.filter(cell)
    T = (o.expiry - s["opened"]).days / 365.0
    want = float(np.asarray(pricing.american(F["settle"][0], o.strike, T, RATE, VOL, "call")).reshape(-1)[0])
    got = call_run.ledger.filter(pl.col("trading_day") == s["opened"])["option_premium_cny"][0]
    assert got == pytest.approx(s["lots"] * 1000.0 * want, rel=1e-14)


def test_collar_matches_a_naive_replay_with_quantlib(sample: Market) -> None:
    ql = pytest.importorskip("QuantLib")
    from tests.naive_optlegs import replay

    end = "2024-12-31"
    policy = HedgePolicy("sc", ratio=0.0, options=collar(1.05, 0.95), option_vol=VOL, option_rate=RATE)
    r = run(sample, Exposure(QTY, "short", "brent"), policy, Investor("qfi"), start=START, end=end)
    led = r.ledger
    days = led["trading_day"].to_list()
    f = sample.futures.sort("contract", "trading_day").with_columns(
        pl.col("settle").shift(1).over("contract").alias("prev")
    )
    settle = {(d, c): v for d, c, v in f.select("trading_day", "contract", "settle").iter_rows()}
    prev = {(d, c): v for d, c, v in f.select("trading_day", "contract", "prev").iter_rows() if v is not None}
    legs = [
        {"kind": x.kind, "side": x.side, "moneyness": x.moneyness, "tenor": x.tenor_months}
        for x in policy.options
    ]
    want = replay(ql, legs, days, settle, prev, VOL, RATE, QTY, 1000.0, Costs().commission)
    cols = {
        "premium": "option_premium_cny", "pnl": "option_pnl_cny", "exercise": "option_exercise_cny",
        "fees": "option_fees_cny", "margin": "option_margin_cny", "value": "option_value_cny",
    }  # fmt: skip
    for key, col in cols.items():
        got = led[col].to_numpy()
        ref = np.array([w[key] for w in want])
        # QuantLib's BAW and ours agree to ~1e-9 relative per price; 500 lots x 1000 bbl
        np.testing.assert_allclose(got, ref, rtol=1e-7, atol=1e-3, err_msg=col)
    assert led["option_margin_cny"].max() > 0  # the short put was margined
    assert (r.meta["option_series"]["side"] == "short").any()


def test_short_margin_is_inside_the_requirement(sample: Market) -> None:
    policy = HedgePolicy("sc", ratio=0.0, options=put_spread(1.0, 0.95), option_vol=VOL)
    r = run(sample, Exposure(QTY, "long", "brent"), policy, Investor("qfi"), start=START, end="2024-09-30")
    led = r.ledger
    assert (led["margin_required_cny"] == led["option_margin_cny"]).all()  # no futures held
    assert r["peak_option_margin_cny"] == led["option_margin_cny"].max()


def test_futures_only_policy_has_no_option_columns(sample: Market) -> None:
    r = run(sample, Exposure(QTY, "short", "brent"), HedgePolicy("sc"), Investor("qfi"), start=START,
            end="2024-07-31")
    assert "option_lots" not in r.ledger.columns
    assert "option_pnl_usd" not in r.summary["metric"].to_list()


def test_market_option_settlements_are_used(sample: Market, call_run) -> None:  # type: ignore[no-untyped-def]
    s = call_run.meta["option_series"].row(0, named=True)
    days = pl.date_range(s["opened"], s["ended"], eager=True)
    code = "INE." + s["option"].upper()  # another accepted spelling
    opts = pl.DataFrame({"trading_day": days, "option": [code] * len(days), "settle": [12.5] * len(days)})
    m = Market(sample.futures, sample.prices, sample.usd_cny, options=opts)
    policy = HedgePolicy("sc", ratio=0.0, options=protective_call(1.0), option_vol=VOL, option_rate=RATE)
    r = run(m, Exposure(QTY, "short", "brent"), policy, Investor("qfi"), start=START, end=str(s["ended"]))
    led = r.ledger
    assert led["option_premium_cny"][0] == 500 * 1000.0 * 12.5
    assert led["option_value_cny"][1] == 500 * 1000.0 * 12.5  # marked to the settlement, not the model


def test_model_strike_snap_matches_the_grid() -> None:
    from cnfutures._kernels.optlegs import snap_strike as k_snap
    from cnfutures.backtest.optlegs import _grid_arrays, snap_strike

    spec = option_product("sc")
    day = dt.date(2025, 6, 3)
    bound, step = _grid_arrays(spec, [day])
    rng = np.random.default_rng(7)
    for x in np.concatenate([rng.uniform(1.0, 900.0, 3000), [2.0, 249.0, 250.0, 251.0, 252.5, 500.0]]):
        assert k_snap(float(x), bound[0], step[0]) == snap_strike(spec, day, float(x)), x


# ---- bad input: typed errors naming the contract and the rule --------------------------------
def test_no_vol_and_no_settlements_is_an_input_error(sample: Market) -> None:
    policy = HedgePolicy("sc", ratio=0.0, options=protective_call())
    with pytest.raises(InputError, match="implied volatility"):
        prepare(sample, Exposure(QTY, "short", "brent"), policy, Investor("qfi"), start=START, end=JULY)


def test_strike_not_listed_that_day(sample: Market) -> None:
    policy = HedgePolicy("sc", ratio=0.0, options=(OptionLeg("call", moneyness=1.45),), option_vol=VOL)
    with pytest.raises(UnknownContract, match=r"strike .* is not listed on 2024-06-03"):
        prepare(sample, Exposure(QTY, "short", "brent"), policy, Investor("qfi"), start=START, end=JULY)


def test_route_without_option_access_may_not_write() -> None:
    # iron ore futures are a specified product; iron ore options only on the QFI list (options.toml
    # [i.access]: no overseas_from), so a futures-firm client may trade the futures, not the options
    m = Market.sample("i", "2025-03-03", "2025-05-30")
    policy = HedgePolicy("i", ratio=0.0, options=collar(1.05, 0.95, buyer=False), option_vol=0.3)
    msg = r"route 'ff_client' may not buy \(long\) i put options on 2025-03-03"
    with pytest.raises(AccessDenied, match=msg):
        prepare(m, Exposure(100_000.0, "long", "spot"), policy, Investor("ff_client"))
    prepare(m, Exposure(100_000.0, "long", "spot"), policy, Investor("qfi"))  # the QFI may


def test_options_not_listed_yet() -> None:
    m = Market.sample("sc", "2021-03-01", "2021-04-30")
    policy = HedgePolicy("sc", ratio=0.0, options=collar(), option_vol=0.3)
    with pytest.raises(UnknownContract, match=r"sc options list on 2021-06-21 .* cannot open on 2021-03-01"):
        prepare(m, Exposure(QTY, "short", "brent"), policy, Investor("ff_client"))


def test_product_without_options() -> None:
    m = Market.sample("nr", "2025-06-03", "2025-07-31")
    policy = HedgePolicy("nr", ratio=0.0, options=protective_call(), option_vol=0.3)
    with pytest.raises(UnknownProduct, match="nr"):
        prepare(m, Exposure(1000.0, "long", "spot"), policy, Investor("qfi"))


def test_exercise_after_expiry_and_expiry_after_underlying() -> None:
    o = option("sc2509C490")
    with pytest.raises(UnknownContract, match="exercise on 2025-08-14 is after its expiry 2025-08-13"):
        check_option_series(o, dt.date(2025, 6, 3), exercise_on=dt.date(2025, 8, 14))
    # a series whose expiry rule put it after its underlying's last trading day
    bad = types.SimpleNamespace(
        code="sc2509C490", is_listed=lambda on: True, expiry=dt.date(2025, 9, 30), underlying=o.underlying,
        expiry_rule=("override:2025-09-30", "", True), strike=490.0,
    )
    with pytest.raises(UnknownContract, match=r"expiry 2025-09-30 .* after the last trading day 2025-08-29"):
        check_option_series(bad, dt.date(2025, 6, 3))


@pytest.mark.parametrize(
    ("kw", "msg"),
    [({"kind": "straddle"}, "kind"), ({"kind": "call", "side": "both"}, "side"),
     ({"kind": "call", "moneyness": 2.0}, "moneyness"), ({"kind": "put", "tenor_months": 0}, "tenor_months"),
     ({"kind": "put", "ratio": math.inf}, "ratio")],
)  # fmt: skip
def test_option_leg_rejects_bad_fields(kw: dict[str, object], msg: str) -> None:
    with pytest.raises(InputError, match=msg):
        OptionLeg(**kw)  # type: ignore[arg-type]


# ---- Monte Carlo: option legs on simulated paths ----------------------------------------------
def test_hedge_risk_books_a_collar_per_path() -> None:
    from cnfutures.backtest.risk import hedge_risk

    policy = HedgePolicy("sc", ratio=0.0, options=collar(1.05, 0.95))
    args = (Exposure(QTY, "short", "benchmark"), policy, Investor("qfi"))
    r = hedge_risk(*args, start="2025-01-02", n_days=120, n_paths=40, seed=5, fan=False)
    p = r.paths
    assert {"option_pnl_usd", "cost_of_protection_usd", "peak_option_margin_cny"} <= set(p.columns)
    assert (p["peak_option_margin_cny"] > 0).all()  # the short put is margined on every path
    assert p["option_premium_usd"].n_unique() > 1  # strikes and prices differ by path
    # a path is the same whatever the number of paths it is drawn with (vol process included)
    one = hedge_risk(*args, start="2025-01-02", n_days=120, n_paths=1, seed=5, fan=False).paths
    assert one.drop("path").row(0) == p.drop("path").row(0)
    assert "option_pnl_usd" in r.summary(q=(0.5,))["metric"].to_list()


def test_implied_vol_process_is_seeded_and_centred_on_the_model_vol() -> None:
    from cnfutures import simulate

    su = simulate.setup("sc", "2025-01-02", n_days=244)
    chi = simulate.draw(su, 3, 0, 400)["chi"].copy()
    v = simulate.implied_vol(su.params, chi, 3, 0, tau=0.1)
    base = simulate.model_vol(su.params, 0.1)
    assert (v[:, 0] == base * math.exp(-0.6**2 / 16)).all()  # x_0 = 0
    # stationary E[exp(x - eta^2/(4 kappa))] = 1: the year's average vol within 5 % of the model's
    assert abs(v[:, 120:].mean() / base - 1.0) < 0.05
    assert (simulate.implied_vol(su.params, chi, 3, 0, tau=0.1) == v).all()
    # negative rho_v: vol rises when the short-term factor falls
    dchi, dlv = np.diff(chi, axis=1).ravel(), np.diff(np.log(v), axis=1).ravel()
    assert np.corrcoef(dchi, dlv)[0, 1] < -0.3


def test_options_hedging_page_is_up_to_date() -> None:
    """Every number of docs/options-hedging.md comes from scripts/options_hedging.py."""
    assert_page_current("options_hedging")


def test_book_greeks_are_the_american_greeks_of_the_position(call_run, sample: Market) -> None:  # type: ignore[no-untyped-def]
    from cnfutures.valuation import american_greeks

    s = call_run.meta["option_series"].row(0, named=True)
    o = option(s["option"])
    day = call_run.ledger["trading_day"][5]
    cell = (pl.col("trading_day") == day) & (pl.col("contract") == o.underlying.code)
    F = sample.futures.filter(cell)["settle"][0]
    g = american_greeks(F, o.strike, (o.expiry - day).days / 365.0, RATE, VOL, "call")
    row = call_run.ledger.filter(pl.col("trading_day") == day).row(0, named=True)
    assert row["lots"] == 0.0  # no futures: the book is the options
    # the same model and bumps of a thousandth of a one-sd move (sizes differ by the cap at 1):
    # finite-difference truncation ~1e-7 relative
    for col, greek in (("book_delta", "delta"), ("book_gamma", "gamma"), ("book_vega", "vega")):
        assert row[col] == pytest.approx(s["lots"] * 1000.0 * g[greek][0], rel=1e-5), col


def test_attribution_of_a_collar_adds_up(sample: Market) -> None:
    policy = HedgePolicy("sc", options=collar(1.05, 0.95), option_vol=VOL, option_rate=RATE)  # futures too
    r = run(sample, Exposure(QTY, "short", "brent"), policy, Investor("qfi"), start=START, end=JULY)
    t = r.attribution("total")
    usd = dict(zip(t["component"], t["usd"], strict=True))
    assert usd["option_pnl_usd"] == pytest.approx(r["option_pnl_usd"], rel=1e-12)
    assert -usd["option_fees_usd"] == pytest.approx(r["option_fees_usd"], rel=1e-12)
    assert sum(usd.values()) == pytest.approx(r["net_pnl_usd"], abs=0.005)


def test_market_option_settlement_checked_by_the_shared_validator(sample: Market) -> None:
    """A negative option settlement is refused by validation.check_option_prices (the one check
    the file loaders use too), naming the day and the option."""
    import dataclasses
    import datetime as dt

    import polars as pl

    from cnfutures.errors import DataError

    o = pl.DataFrame({"trading_day": [dt.date(2025, 6, 3)] * 2, "option": ["sc2509C490", "sc2509P440"],
                      "settle": [12.0, -1.0]})  # fmt: skip
    with pytest.raises(DataError, match=r"2025-06-03 sc2509P440 settle = '-1.0' is negative"):
        dataclasses.replace(sample, options=o)
