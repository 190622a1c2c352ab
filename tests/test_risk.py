"""Monte Carlo hedge risk: each path is booked exactly as a backtest on that simulated path."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from cnfutures import simulate
from cnfutures.access import Investor
from cnfutures.backtest import Costs, Exposure, HedgePolicy, risk, run
from cnfutures.errors import InputError

START, N_DAYS, SEED = "2024-09-02", 120, 9
EXPO = Exposure(300_000, "short", "benchmark")
INV = Investor("qfi")
# stressed model: limit-locked days and margin calls happen on some paths
PRM = simulate.with_params(simulate.default_params("sc"), sigma_chi=0.5, sigma_xi=0.45, rho_fx=0.3)


def _direct(path: int, policy: HedgePolicy, costs: Costs | None, n_paths: int) -> dict[str, float]:
    """Backtest on path ``path`` of the full simulated market (independent of risk.py's chunking)."""
    f = simulate.market("sc", START, n_days=N_DAYS, n_paths=n_paths, seed=SEED, params=PRM, usd=True)
    m = risk._template_market(f.filter(pl.col("path") == path), "direct")
    res = run(m, EXPO, policy, INV, costs)
    return dict(zip(res.summary["metric"], res.summary["value"], strict=True))


@pytest.mark.parametrize(
    "policy",
    [
        HedgePolicy("sc", ratio=1.0, band=3),
        HedgePolicy("sc", ratio="rolling", window=20, reestimate_every=10),
    ],
    ids=["fixed", "rolling"],
)
def test_each_path_equals_a_backtest_on_that_simulated_path(policy: HedgePolicy) -> None:
    costs = Costs(commission=3.0)
    r = risk.hedge_risk(
        EXPO, policy, INV, costs, start=START, n_days=N_DAYS, n_paths=5, seed=SEED, params=PRM
    )
    for p in (0, 3):
        want = _direct(p, policy, costs, 5)
        got = r.paths.row(p, named=True)
        for m in (
            "exposure_pnl_usd", "hedge_pnl_usd", "costs_usd", "net_pnl_usd", "fees_usd", "fx_cost_usd",
            "funding_usd", "peak_usd_posted", "margin_calls", "limit_locked_days", "forced_rolls",
            "limit_bound_days", "max_drawdown_hedged_usd", "max_drawdown_unhedged_usd",
        ):  # fmt: skip
            assert got[m] == pytest.approx(want[m], rel=1e-9, abs=1e-6), (p, m)
        # variances from the kernel's sums of squares vs the ledger's two-pass np.std
        for m in ("vol_hedged_usd", "vol_unhedged_usd", "effectiveness_daily"):
            assert got[m] == pytest.approx(want[m], rel=1e-6), (p, m)
    assert r.paths["margin_calls"].sum() > 0  # the stressed market really calls margin


def test_paths_do_not_depend_on_chunking_or_path_count(monkeypatch: pytest.MonkeyPatch) -> None:
    pol = HedgePolicy("sc")
    kw = {"start": START, "n_days": 60, "seed": 4, "params": PRM}
    big = risk.hedge_risk(EXPO, pol, INV, n_paths=7, **kw)  # type: ignore[arg-type]
    monkeypatch.setattr(risk, "MEMORY_BUDGET", 1)  # one path per chunk
    small = risk.hedge_risk(EXPO, pol, INV, n_paths=7, **kw)  # type: ignore[arg-type]
    assert big.paths.equals(small.paths)
    assert big.fan is not None and small.fan is not None and big.fan.equals(small.fan)
    three = risk.hedge_risk(EXPO, pol, INV, n_paths=3, **kw)  # type: ignore[arg-type]
    assert three.paths.equals(big.paths.head(3))
    other = risk.hedge_risk(EXPO, pol, INV, n_paths=3, **{**kw, "seed": 5})  # type: ignore[arg-type]
    assert not other.paths.equals(three.paths)


def test_fan_quantiles_and_summary_agree_with_the_path_metrics() -> None:
    # a small short-term factor (sigma_chi 0.05): the front contract tracks the USD benchmark
    calm = simulate.with_params(simulate.default_params("sc"), sigma_chi=0.05)
    r = risk.hedge_risk(
        EXPO, HedgePolicy("sc"), INV, start=START, n_days=N_DAYS, n_paths=200, seed=SEED, params=calm,
        quantiles=(0.05, 0.5, 0.95),
    )  # fmt: skip
    assert r.fan is not None
    last = r.fan.filter(pl.col("trading_day") == r.fan["trading_day"].max())
    net = r.paths["net_pnl_usd"].to_numpy()
    expo = r.paths["exposure_pnl_usd"].to_numpy()
    # the fan's last day is the distribution of the total P&L (numpy's quantile as reference)
    hedged = last.filter(pl.col("series") == "hedged_pnl_usd").row(0, named=True)
    unhedged = last.filter(pl.col("series") == "unhedged_pnl_usd").row(0, named=True)
    for q, col in ((0.05, "q05"), (0.5, "q50"), (0.95, "q95")):
        assert hedged[col] == pytest.approx(np.quantile(net, q), rel=1e-9)
        assert unhedged[col] == pytest.approx(np.quantile(expo, q), rel=1e-9)
    # quantile bands are ordered every day
    assert (r.fan["q05"] <= r.fan["q50"]).all() and (r.fan["q50"] <= r.fan["q95"]).all()
    # a 1:1 hedge narrows the spread of outcomes (the basis is small next to the level's moves)
    assert np.std(net) < 0.5 * np.std(expo)
    s = r.summary(q=(0.5, 0.99))
    row = s.filter(pl.col("metric") == "peak_usd_posted").row(0, named=True)
    assert row["q99"] == pytest.approx(np.quantile(r.paths["peak_usd_posted"].to_numpy(), 0.99))
    assert row["mean"] == pytest.approx(r.paths["peak_usd_posted"].mean())
    assert r.usd_to_keep(0.99) == pytest.approx(row["q99"])
    assert r.usd_to_keep(0.5) <= r.usd_to_keep(0.99)
    assert "SIMULATED" in r.label


def test_fan_chart_png(tmp_path: object) -> None:
    pytest.importorskip("matplotlib")
    from pathlib import Path

    r = risk.hedge_risk(EXPO, HedgePolicy("sc"), INV, start=START, n_days=30, n_paths=20, seed=1)
    out = r.plot_fan(Path(str(tmp_path)) / "fan.png")
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    no_fan = risk.hedge_risk(EXPO, HedgePolicy("sc"), INV, start=START, n_days=30, n_paths=5, fan=False)
    assert no_fan.fan is None
    with pytest.raises(InputError, match="fan=False"):
        no_fan.plot_fan(Path(str(tmp_path)) / "x.png")


def test_cny_spot_exposure_on_iron_ore() -> None:
    e = Exposure(50_000, "long", "spot", currency="CNY")
    r = risk.hedge_risk(e, HedgePolicy("i"), INV, start="2024-03-01", n_days=80, n_paths=30, seed=2)
    assert r.paths.height == 30
    assert r.paths["exposure_pnl_usd"].std() > 0  # type: ignore[operator]


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"n_paths": 0}, "n_paths=0"),
        ({"n_paths": -5}, "n_paths=-5"),
        ({"quantiles": (0.5, 1.5)}, "1.5"),
        ({"quantiles": ()}, "empty"),
    ],
)
def test_bad_inputs(kwargs: dict[str, object], match: str) -> None:
    base: dict[str, object] = {"start": START, "n_days": 20, "n_paths": 2}
    with pytest.raises(InputError, match=match):
        risk.hedge_risk(EXPO, HedgePolicy("sc"), INV, **{**base, **kwargs})  # type: ignore[arg-type]


def test_exposure_must_be_priced_off_a_simulated_series() -> None:
    with pytest.raises(InputError, match="'brent'"):
        risk.hedge_risk(Exposure(1, "short", "brent"), HedgePolicy("sc"), INV, start=START, n_days=20)
    # the currency is taken from the series (spot is CNY); a stated USD is refused
    with pytest.raises(InputError, match="currency='USD'"):
        risk.hedge_risk(Exposure(1, "short", "spot", "USD"), HedgePolicy("sc"), INV, start=START, n_days=20)


def test_slot_packing_keeps_windows_apart_and_matches_backtests_over_two_years() -> None:
    # synthetic schedule: contract k is the target on days 20k .. 20k+19, listed until day 20k+25
    D, K = 200, 10
    target = np.repeat(np.arange(K), 20)
    row_k = np.concatenate([np.full(20 * k + 26, k) for k in range(K)])
    row_d = np.concatenate([np.arange(20 * k + 26) for k in range(K)])
    keep = row_d < D
    sl = risk._slots(target, row_k[keep], row_d[keep], K, D)
    assert sl.occ.shape[0] == 2  # windows [20k-1, 20k+25] overlap their neighbour only
    for s in range(sl.occ.shape[0]):
        ks = sl.occ[s][sl.occ[s] >= 0]
        changes = np.flatnonzero(np.diff(sl.occ[s]) != 0)
        for c in changes:  # every switch between two contracts passes through an empty day
            assert sl.occ[s][c] == -1 or sl.occ[s][c + 1] == -1
        assert len(set(ks.tolist())) == len(ks[np.r_[True, np.diff(ks) != 0]])  # each contract once
    for k in range(K):  # a contract is in its slot from the day before it is first targeted
        first = 20 * k
        assert sl.occ[sl.slot_of[k], max(first - 1, 0)] == k
        assert sl.occ[sl.slot_of[k], min(20 * k + 25, D - 1)] == k
    # two years of sc (about 24 contracts held) booked in slots = direct backtests
    pol = HedgePolicy("sc")
    r = risk.hedge_risk(EXPO, pol, INV, start="2023-01-03", n_days=480, n_paths=2, seed=SEED, params=PRM)
    f = simulate.market("sc", "2023-01-03", n_days=480, n_paths=2, seed=SEED, params=PRM, usd=True)
    for p in range(2):
        res = run(risk._template_market(f.filter(pl.col("path") == p), "direct"), EXPO, pol, INV)
        want = dict(zip(res.summary["metric"], res.summary["value"], strict=True))
        got = r.paths.row(p, named=True)
        for m in ("net_pnl_usd", "hedge_pnl_usd", "peak_usd_posted", "margin_calls", "costs_usd"):
            assert got[m] == pytest.approx(want[m], rel=1e-9, abs=1e-6), (p, m)


def test_cli_risk_prints_the_distribution_and_writes_the_paths(
    tmp_path: object, capsys: pytest.CaptureFixture[str]
) -> None:
    from pathlib import Path

    from cnfutures.cli import main

    out = Path(str(tmp_path)) / "paths.parquet"
    argv = ["risk", "--paths", "30", "--days", "40", "--seed", "3", "--out", str(out), "--confidence", "0.95"]
    assert main(argv) == 0
    text = capsys.readouterr().out
    assert "SIMULATED" in text and "peak_usd_posted" in text
    paths = pl.read_parquet(out)
    assert paths.height == 30
    # the printed USD to keep is the 95 % quantile of the written per-path peaks (numpy reference)
    want = np.quantile(paths["peak_usd_posted"].to_numpy(), 0.95)
    assert f"USD to keep ready (95%): {want:,.0f}" in text
    assert "position or opening limits cut the hedge" in text  # 40 days in the limited stage
    with pytest.raises(SystemExit):
        main(["risk", "--product", "xx"])
