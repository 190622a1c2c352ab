"""Allocation analytics and the investable replay (cnfutures.allocation.analytics / investable).

References: pandas (cummax drawdowns, log-return std, weekly resampled correlation) computed in
the tests; a synthetic curve whose contract prices never move, so the whole excess return is
roll yield (n rolls × log(1/(1-b)) for a backwardation of b per contract step, by construction);
the engine's own ledgers summed independently for the replay's components.
"""

from __future__ import annotations

import functools
import math

import numpy as np
import pandas as pd
import polars as pl
import pytest

from cnfutures.allocation import (
    allocation_section,
    build_index,
    correlation,
    drawdowns,
    monte_carlo,
    performance,
    replay,
    roll_yield,
)
from cnfutures.backtest import Market
from cnfutures.errors import AccessDenied, InputError
from cnfutures.frames import RollRule
from tests.docpages import assert_page_current


@functools.cache
def sc() -> Market:
    return Market.sample("sc", "2023-01-03", "2025-06-06", seed=3)


@functools.cache
def i_ore() -> Market:
    return Market.sample("i", "2023-01-03", "2025-06-06", seed=4)


@functools.cache
def index():  # type: ignore[no-untyped-def]
    return build_index({"sc": sc().futures, "i": i_ore().futures}, {"sc": 0.6, "i": 0.4},
                       usd_cny=sc().usd_cny, usd_rate=0.04, rebalance="quarterly")  # fmt: skip


def test_performance_matches_pandas() -> None:
    ix = index()
    p = performance(ix, "tr_usd")
    s = ix.levels.to_pandas().set_index("trading_day")["tr_usd"]
    days = (pd.Timestamp(s.index[-1]) - pd.Timestamp(s.index[0])).days
    lr = np.log(s).diff().dropna()
    assert p["annual_return"] == pytest.approx((s.iloc[-1] / s.iloc[0]) ** (365 / days) - 1, rel=1e-12)
    assert p["annual_vol"] == pytest.approx(lr.std(ddof=1) * math.sqrt(len(lr) / (days / 365)), rel=1e-12)
    dd = s / s.cummax() - 1
    assert p["max_drawdown"] == pytest.approx(dd.min(), rel=1e-12)
    assert p["max_drawdown_trough"] == pd.Timestamp(dd.idxmin()).date()
    np.testing.assert_allclose(
        drawdowns(ix, "tr_usd")["drawdown"].to_numpy(), dd.to_numpy(), rtol=0, atol=1e-14
    )


def test_correlation_matches_pandas_weekly() -> None:
    ix = index()
    brent = sc().prices["brent"]
    got = correlation(ix, brent, "er_usd", freq="weekly")
    a = ix.levels.to_pandas().set_index("trading_day")["er_usd"]
    b = brent.to_pandas().set_index("date")["price"].dropna()
    j = pd.concat([a, b], axis=1, join="inner").dropna()
    j.index = pd.to_datetime(j.index)
    w = j.groupby(j.index.to_period("W-SUN")).last()
    r = np.log(w).diff().dropna()
    assert got["observations"] == len(r)
    assert got["correlation"] == pytest.approx(r["er_usd"].corr(r["price"]), rel=1e-12)
    assert got["beta"] == pytest.approx(r.cov().loc["er_usd", "price"] / r["price"].var(), rel=1e-12)


def test_frozen_backwardated_curve_is_all_roll_yield() -> None:
    """Prices never move; each later contract is b cheaper: ER = 0, roll yield = rolls × log(1/(1-b))."""
    b = 0.01
    f = sc().futures.select("trading_day", "contract")
    ym = f["contract"].str.slice(2, 4).cast(pl.Int64)
    months = (ym // 100) * 12 + ym % 100
    f = f.with_columns(settle=500.0 * (1.0 - b) ** (months - months.min()).cast(pl.Float64))
    ix = build_index({"sc": f}, {"sc": 1.0}, roll=RollRule(days_before_ltd=5))
    np.testing.assert_allclose(ix.levels["er_cny"].to_numpy(), 100.0, rtol=1e-13)
    ry = roll_yield(ix)
    yrs = (ix.levels["trading_day"][-1] - ix.levels["trading_day"][0]).days / 365
    held = ix.holdings.group_by("trading_day").agg(pl.col("contract").max()).sort("trading_day")["contract"]
    rolls = held.n_unique() - 1  # monthly rolls completed (and the last one possibly in progress)
    p0, p1 = ix.sleeves["held_price"][0], ix.sleeves["held_price"][-1]
    assert ry["excess_return"][0] == pytest.approx(0.0, abs=1e-13)
    assert ry["roll_yield"][0] == pytest.approx(-math.log(p1 / p0) / yrs, rel=1e-12)
    assert -math.log(p1 / p0) == pytest.approx(rolls * -math.log(1 - b), rel=0.2)


def test_monte_carlo_paths_do_not_depend_on_their_number() -> None:
    a = monte_carlo(["ru"], start="2024-01-02", end="2024-09-30", n_paths=2, seed=9, corr="independent")
    b = monte_carlo(["ru"], start="2024-01-02", end="2024-09-30", n_paths=3, seed=9, corr="independent")
    assert a.equals(b.head(2))
    assert b["annual_vol"].min() > 0
    with pytest.raises(InputError, match="n_paths=0"):
        monte_carlo(["ru"], start="2024-01-02", end="2024-09-30", n_paths=0, corr="independent")


def test_section_is_escaped_html() -> None:
    f = sc().futures
    ix = build_index({"<b>sc</b>": f}, {"<b>sc</b>": 1.0})
    text = allocation_section(ix)
    assert "<b>sc</b>" not in text and "&lt;b&gt;sc&lt;/b&gt;" in text
    assert text.count("<table>") == 2


@functools.cache
def rp():  # type: ignore[no-untyped-def]
    return replay(index(), {"sc": sc(), "i": i_ore()}, 10_000_000, routes=["ff_client", "osbp_client", "qfi"])


def test_replay_denies_a_route_that_cannot_hold_a_sleeve() -> None:
    r = rp()
    assert "osbp_client" in r.denied and "DCE" in r.denied["osbp_client"]
    assert set(r.tracking["route"]) == {"ff_client", "qfi"}
    with pytest.raises(AccessDenied, match="no route can hold every sleeve"):
        replay(index(), {"sc": sc(), "i": i_ore()}, 1e7, routes=["osbp_client"])


def test_replay_components_add_up_from_the_ledgers() -> None:
    r = rp()
    for row in r.tracking.iter_rows(named=True):
        leds = [r.results[(row["route"], s)].ledger for s in ("sc", "i")]
        fees = sum(float((led["fees_cny"] / led["usd_cny"]).sum()) for led in leds)
        assert row["fees_usd"] == pytest.approx(fees, rel=1e-9)
        # investable value from the ledgers: interest on the account + hedge P&L - costs + FX
        # revaluation of the CNY held, day by day
        days = r.index.levels["trading_day"].to_list()
        pnl = sum(
            led["hedge_pnl_usd"].to_numpy() - led["costs_usd"].to_numpy()
            + led["fx_revaluation_usd"].to_numpy()
            for led in leds
        )
        v = 1e7 + pnl[0]
        for t in range(1, len(days)):
            v = v * (1 + 0.04 * (days[t] - days[t - 1]).days / 365) + pnl[t]
        assert row["investable_usd"] == pytest.approx(v, rel=1e-12)
        parts = ("fees_usd", "fx_cost_usd", "funding_usd", "fx_revaluation_usd", "whole_lots_usd",
                 "sizing_usd", "roll_and_locks_usd", "interest_usd")  # fmt: skip
        reval = sum(float(led["fx_revaluation_usd"].sum()) for led in leds)
        assert row["fx_revaluation_usd"] == pytest.approx(-reval, rel=1e-12, abs=1e-9)
        # the split is exact: no unexplained rest
        assert sum(row[k] for k in parts) == pytest.approx(row["tracking_difference_usd"], rel=1e-9, abs=1e-6)
        # 10 million USD in two sleeves: the replay tracks the paper index within 3 % over 2.4 years
        assert abs(row["tracking_difference_usd"]) < 0.03 * row["paper_usd"]


def test_replay_needs_a_usd_collateral_unhedged_index() -> None:
    ix = build_index({"sc": sc().futures}, {"sc": 1.0}, usd_cny=sc().usd_cny, fx="hedged")
    with pytest.raises(InputError, match="fx='hedged'"):
        replay(ix, {"sc": sc()}, 1e6)
    with pytest.raises(InputError, match="notional_usd=-1"):
        replay(index(), {"sc": sc(), "i": i_ore()}, -1)
    with pytest.raises(InputError, match=r"markets has no Market for sleeve\(s\) \[.i.\]"):
        replay(index(), {"sc": sc()}, 1e6)


def test_cli_allocate_prints_index_roll_yield_and_replay(tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    from cnfutures.cli import main

    html_path = tmp_path / "a.html"
    argv = ["allocate", "--products", "sc,i", "--start", "2024-01-02", "--weights", "sc=0.6,i=0.4",
            "--usd-rate", "0.04", "--notional", "2000000", "--html", str(html_path)]  # fmt: skip
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "tr_usd" in out and "roll_yield" in out and "EIA Brent" in out and "ff_client" in out
    assert html_path.read_text(encoding="utf-8").startswith('<section class="allocation">')
    assert main(["allocate", "--products", "sc,i", "--weights", "sc=0.6,i=0.6"]) == 2
    assert "weights sum to 1.2, not 1" in capsys.readouterr().err


def test_allocation_page_worked_example_is_up_to_date() -> None:
    """Every number of docs/allocation.md comes from scripts/allocation_example.py."""
    assert_page_current("allocation_example")


def test_section_of_a_replay_explains_the_tracking_difference() -> None:
    text = allocation_section(rp())
    assert "Tracking difference by route" in text
    for col in ("fees_usd", "fx_cost_usd", "funding_usd", "whole_lots_usd", "sizing_usd",
                "roll_and_locks_usd", "interest_usd", "limit_locked_days"):  # fmt: skip
        assert f"<th>{col}</th>" in text
    assert text.count("<table>") == 3


def test_investable_risk_paths_are_reproducible_and_checked() -> None:
    from cnfutures.allocation import investable_risk

    kw = {"start": "2025-01-02", "n_days": 30, "seed": 5, "corr": {("sc", "i"): 0.4}}
    a = investable_risk({"sc": 0.5, "i": 0.5}, 2e6, "ff_client", n_paths=3, **kw)  # type: ignore[arg-type]
    b = investable_risk({"sc": 0.5, "i": 0.5}, 2e6, "ff_client", n_paths=5, **kw)  # type: ignore[arg-type]
    assert a.equals(b.head(3))
    np.testing.assert_allclose(  # usd_rate 0
        a["net_usd"], a["futures_pnl_usd"] - a["costs_usd"] + a["fx_revaluation_usd"], rtol=1e-12
    )
    assert (a["costs_usd"] > 0).all()
    with pytest.raises(AccessDenied):
        investable_risk({"sc": 0.5, "i": 0.5}, 2e6, "osbp_client", n_paths=2, **kw)  # type: ignore[arg-type]
    with pytest.raises(InputError, match=r"weights sum to 0\.9"):
        investable_risk({"sc": 0.5, "i": 0.4}, 2e6, "ff_client", n_paths=2, **kw)  # type: ignore[arg-type]


# ------------------------------------------------ correlated, shared-FX Monte Carlo (issue 21)
MC_KW = {"start": "2024-01-02", "end": "2024-12-31", "rebalance": "monthly", "column": "er_cny"}


@functools.cache
def _mc(products: tuple[str, ...], corr: object, seed: int, n: int = 160) -> pl.DataFrame:
    c = corr if isinstance(corr, str) else dict(corr)  # type: ignore[call-overload]
    return monte_carlo(list(products), "equal", corr=c, n_paths=n, seed=seed, **MC_KW)  # type: ignore[arg-type]


@pytest.mark.parametrize("rho", [0.7, 0.0, -0.5])
def test_two_sleeve_index_vol_matches_closed_form(rho: float) -> None:
    # Closed form of a two-asset portfolio: var_I = w1² s1² + w2² s2² + 2 w1 w2 rho s1 s2.
    # With the default parameters (same kappa, rho = 0 within each product) both factors of sc
    # and ru have correlation `rho`, so their daily futures returns do too (up to the held
    # contracts' slightly different loadings exp(-kappa tau): a factor above 0.999). s1², s2²
    # are the mean path variances of each product simulated alone (sc alone: seed 21 is the
    # same sc path; ru alone: seed 22 draws ru's own stream: same law). Sampling error: a
    # path's variance from ~244 returns has relative SE sqrt(2/243) = 9 %, so the means over
    # 160 paths have ~0.7 % each; monthly rebalancing lets weights drift by ~1 %. Tolerance 4 %.
    corr = "independent" if rho == 0.0 else (((("sc", "ru"), rho),))
    joint = _mc(("sc", "ru"), corr, 21)
    v1 = float((_mc(("sc",), "independent", 21)["annual_vol"] ** 2).mean())
    v2 = float((_mc(("ru",), "independent", 22)["annual_vol"] ** 2).mean())
    closed = 0.25 * v1 + 0.25 * v2 + 2 * 0.25 * rho * math.sqrt(v1 * v2)
    got = float((joint["annual_vol"] ** 2).mean())
    assert got == pytest.approx(closed, rel=0.04), (got, closed, v1, v2)


def test_monte_carlo_usd_levels_share_one_fx_path_and_need_corr() -> None:
    kw = {"start": "2024-01-02", "end": "2024-06-28", "n_paths": 3, "seed": 4}
    cny = monte_carlo(["sc", "i"], corr={("sc", "i"): 0.3}, column="er_cny", **kw)  # type: ignore[arg-type]
    usd = monte_carlo(["sc", "i"], corr={("sc", "i"): 0.3}, column="er_usd", **kw)  # type: ignore[arg-type]
    assert usd["path"].to_list() == [0, 1, 2]
    assert not np.allclose(usd["total_return"], cny["total_return"])  # the FX path moves USD levels
    # an independent rebuild of path 1: the joint frames, the shared fixing from any product
    from cnfutures import simulate

    f = simulate.markets(["sc", "i"], kw["start"], end=kw["end"], n_paths=3, seed=4, corr={("sc", "i"): 0.3})
    fx = {p: f[p].filter(path=1).group_by("trading_day").agg(pl.col("usd_cny").first()) for p in f}
    assert fx["sc"].sort("trading_day").equals(fx["i"].sort("trading_day"))
    fut = {p: f[p].filter(path=1).select("trading_day", "contract", "settle") for p in f}
    ix = build_index(fut, "equal", usd_cny=fx["i"].rename({"trading_day": "date"}))
    assert performance(ix, "er_usd")["total_return"] == pytest.approx(usd["total_return"][1], rel=1e-12)
    with pytest.raises(TypeError, match="corr"):
        monte_carlo(["sc", "i"], **kw)  # type: ignore[call-arg, arg-type]
    with pytest.raises(InputError, match=r"pair\(s\) \[\('sc', 'i'\)\] missing"):
        monte_carlo(["sc", "i"], corr={}, **kw)  # type: ignore[arg-type]
    with pytest.raises(InputError, match="do not pass usd_cny"):
        monte_carlo(["sc", "i"], corr="independent", usd_cny=sc().usd_cny, **kw)  # type: ignore[arg-type]


def test_investable_risk_single_sleeve_equals_hedge_risk() -> None:
    # one product, corr "independent": the joint booking must reproduce cnfutures.hedge_risk
    # (the same engine) on seed `seed` for a long position of w N X0 / F0 units
    from cnfutures import simulate
    from cnfutures.access import Investor
    from cnfutures.access.economics import route_economics
    from cnfutures.allocation import default_roll, investable_risk
    from cnfutures.backtest import Costs, Exposure, HedgePolicy
    from cnfutures.backtest.costs import costs_of
    from cnfutures.risk import hedge_risk

    kw = {"start": "2025-01-02", "n_days": 25, "seed": 8}
    got = investable_risk({"i": 1.0}, 1e6, "ff_client", n_paths=3, corr="independent", **kw)  # type: ignore[arg-type]
    m0 = simulate.market("i", "2025-01-02", n_days=2, seed=8, usd=True)
    rule = default_roll("i")
    held = m0.filter(pl.col("trading_day") == m0["trading_day"].min()).sort("last_trading_day")
    from cnfutures.frames.roll import roll_schedule

    code = roll_schedule(rule, "i", m0["trading_day"].unique().sort().head(1))["contract"][0]
    row = held.filter(contract=code).row(0, named=True)
    inv = Investor("ff_client")
    qty = 1e6 * row["usd_cny"] / row["settle"]
    costs = costs_of(route_economics(inv, "i", row["trading_day"]), Costs(funding_rate=0.0))
    expo, policy = Exposure(qty, "short", "spot", "CNY"), HedgePolicy("i", ratio=1.0, roll=rule)
    ref = hedge_risk(expo, policy, inv, costs, n_paths=3, fan=False, **kw).paths.sort("path")  # type: ignore[arg-type]
    np.testing.assert_allclose(got["futures_pnl_usd"], ref["hedge_pnl_usd"], rtol=1e-12)
    np.testing.assert_allclose(got["costs_usd"], ref["costs_usd"], rtol=1e-12)
    np.testing.assert_allclose(got["fx_revaluation_usd"], ref["fx_revaluation_usd"], rtol=1e-12)


def test_investable_risk_correlation_widens_the_spread() -> None:
    from cnfutures.allocation import investable_risk

    kw = {"start": "2025-01-02", "n_days": 60, "seed": 3, "n_paths": 60}
    w = {"sc": 0.5, "nr": 0.5}
    hi = investable_risk(w, 1e6, "ff_client", corr={("sc", "nr"): 0.9}, **kw)  # type: ignore[arg-type]
    lo = investable_risk(w, 1e6, "ff_client", corr={("sc", "nr"): -0.9}, **kw)  # type: ignore[arg-type]
    # var ratio (1 + 0.9) / (1 - 0.9) = 19 in theory for equal sleeves; far above 3 even with
    # 60 paths (the F-test's 99.9 % point for 59/59 degrees of freedom is about 2.3)
    assert float(hi["return"].var()) > 3 * float(lo["return"].var())  # type: ignore[operator]
