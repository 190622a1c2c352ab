"""Parameter sweeps: grid validation, parity with single backtests, executors, failures, CLI.

Reference values come from outside the sweep code: each grid point is re-run with
``cnfutures.backtest.run`` on inputs built by hand here, and variances are recomputed from that
run's daily ledger with numpy.
"""

from __future__ import annotations

import concurrent.futures as cf
import dataclasses
import itertools
import tomllib
from collections.abc import Callable
from concurrent.futures.process import BrokenProcessPool  # a submodule: never rely on another import
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from cnfutures import simulate
from cnfutures.access import Investor
from cnfutures.backtest import Costs, Exposure, HedgePolicy, Market, run
from cnfutures.backtest.grid import example_grid, load_grid
from cnfutures.backtest.routes import route_costs
from cnfutures.cli import main
from cnfutures.errors import InputError
from cnfutures.frames.roll import RollRule
from cnfutures.sweeps import (
    SimulatedMarket,
    SweepError,
    SweepSpec,
    grid_keys,
    ledgers,
    points,
    rank,
    sweep,
)

RECIPE = SimulatedMarket("sc", "2025-01-02", "2025-04-30", seed=11)
EXPOSURE = Exposure(300_000, "short", "brent")  # 300 lots: inside the position limits
POLICY = HedgePolicy("sc", window=20, reestimate_every=10, slippage_ticks=1.0)
INVESTOR = Investor("osbp_client")
SPEC = SweepSpec(RECIPE, EXPOSURE, POLICY, INVESTOR)
# what a sweep without costs books: the investor's route economics (access/economics.py)
ROUTE_COSTS = route_costs(INVESTOR, "sc", "2025-01-02")
# the metrics BacktestResult.summary also reports (the sweep adds variances and total cost)
SUMMARY_METRICS = (
    "trading_days", "effectiveness_daily", "effectiveness_weekly", "vol_unhedged_usd", "vol_hedged_usd",
    "max_drawdown_unhedged_usd", "max_drawdown_hedged_usd", "exposure_pnl_usd", "hedge_pnl_usd",
    "net_pnl_usd", "costs_usd", "fees_usd", "slippage_usd", "fx_cost_usd", "funding_usd",
    "peak_usd_posted", "margin_calls", "limit_locked_days", "delayed_roll_days", "forced_rolls",
    "limit_bound_days",
)  # fmt: skip


def _check_point(row: dict[str, Any], market: Market, policy: HedgePolicy, costs: Costs) -> None:
    """The sweep row equals a direct backtest of the same inputs (built by the test)."""
    ref = run(market, EXPOSURE, policy, INVESTOR, costs)
    for m in SUMMARY_METRICS:
        assert row[m] == pytest.approx(ref[m], rel=1e-9, abs=1e-6, nan_ok=True), m
    net = ref.ledger["net_pnl_usd"].to_numpy()[1:]
    expo = ref.ledger["exposure_pnl_usd"].to_numpy()[1:]
    assert row["hedged_variance"] == pytest.approx(np.var(net, ddof=1), rel=1e-9)
    assert row["unhedged_variance"] == pytest.approx(np.var(expo, ddof=1), rel=1e-9)
    assert row["total_cost_usd"] == pytest.approx(ref["costs_usd"] + ref["slippage_usd"], rel=1e-9)
    assert row["error"] is None


# ----------------------------------------------------------------------------- grid and validation


def test_grid_keys_cover_policy_costs_and_model_fields() -> None:
    keys = set(grid_keys())
    # hand-written from the dataclasses' documented fields
    assert {"ratio", "window", "band", "reestimate_every", "lam", "slippage_ticks", "execution",
            "initial_ratio", "roll", "roll_days"} <= keys  # fmt: skip
    assert {"commission", "broker_addon", "margin_buffer", "funding_rate", "fx_spread", "haircut"} <= keys
    assert {"quantity", "scenario", "seed", "kappa", "sigma_chi", "carry"} <= keys
    assert "product" not in keys


def test_points_are_the_cartesian_product_in_grid_order() -> None:
    p = points(SPEC, {"ratio": [0.8, "ewma"], "roll_days": [3, 8, 12]}, n_paths=2)
    expected = list(itertools.product(["0.8", "ewma"], [3, 8, 12], [0, 1]))  # last key fastest
    assert p.columns == ["point", "ratio", "roll_days", "path"]
    assert p["point"].to_list() == list(range(12))
    assert list(zip(p["ratio"], p["roll_days"], p["path"], strict=True)) == expected


@pytest.mark.parametrize(
    ("grid", "kw", "match"),
    [
        ({"windw": [20]}, {}, r"unknown grid parameter 'windw' \(did you mean 'window'\?\)"),
        ({}, {}, "empty grid"),
        ({"band": []}, {}, r"grid\['band'\] is empty"),
        ({"band": [0]}, {"n_paths": 0}, "n_paths=0 must be a positive"),
        ({"band": [0]}, {"n_paths": -3}, "n_paths=-3 must be a positive"),
        ({"ratio": "ewma"}, {}, "must be a list of values"),
        ({"band": [0, -1]}, {}, "band=-1"),
        ({"roll": [RollRule()], "roll_days": [3]}, {}, "both 'roll' and 'roll_days'"),
        ({"margin_buffer": [0.6]}, {}, "margin_buffer=0.6"),  # above the base release_above 0.5
        ({"seed": [1, -2]}, {}, r"grid\['seed'\] value -2"),
        ({"kappa": [-1.0]}, {}, "kappa=-1.0"),
        ({"scenario": [RECIPE]}, {}, "must be a dict of name"),
        ({"seed": [5, 6]}, {"n_paths": 2}, "seed=5, path=1 and seed=6, path=0 simulate the same market"),
    ],
)
def test_bad_grids_raise_input_errors(grid: dict[str, Any], kw: dict[str, Any], match: str) -> None:
    with pytest.raises(InputError, match=match):
        sweep(SPEC, grid, executor="serial", **kw)


def test_cross_field_values_are_checked_together() -> None:
    # margin_buffer 0.6 is fine once release_above 1.0 is in the same point
    p = points(SPEC, {"margin_buffer": [0.6], "release_above": [1.0]})
    assert p.height == 1


def test_scenario_keys_need_a_simulated_market() -> None:
    fixed = SweepSpec(RECIPE.build(), EXPOSURE, POLICY, INVESTOR)
    with pytest.raises(InputError, match="seed vary a simulated scenario"):
        points(fixed, {"seed": [1, 2]})
    with pytest.raises(InputError, match="n_paths vary a simulated scenario"):
        points(fixed, {"band": [0]}, n_paths=2)
    wrong_price = SweepSpec(RECIPE, Exposure(1e5, "short", "spot", "CNY"), POLICY, INVESTOR)
    with pytest.raises(
        InputError, match="'spot', which a scenario market does not hold; it has: \\['brent'\\]"
    ):
        points(wrong_price, {"band": [0]})


def test_bad_keep_and_executor() -> None:
    with pytest.raises(InputError, match="keep='all'"):
        sweep(SPEC, {"band": [0]}, keep="all")  # type: ignore[call-overload]
    with pytest.raises(InputError, match="executor='threads'"):
        sweep(SPEC, {"band": [0]}, executor="threads")
    with pytest.raises(InputError, match="workers=0"):
        sweep(SPEC, {"band": [0]}, workers=0)


# ----------------------------------------------------------------------------- parity with run()


def test_simulated_market_matches_the_sample_market() -> None:
    built = RECIPE.build()
    sample = Market.sample("sc", "2025-01-02", "2025-04-30", seed=11)
    assert_frame_equal(built.futures, sample.futures)
    assert_frame_equal(built.prices["brent"], sample.prices["brent"])
    # the explicit sample calibration (docs/backtest.md, docs/simulate.md) is the default
    sample_params = simulate.with_params(
        simulate.default_params("sc"), kappa=1.5, sigma_chi=0.2, basis=0.99, carry=-0.07, close_sd=0.009,
        benchmark_lag=0.65,
    )
    explicit = dataclasses.replace(RECIPE, params=sample_params)
    assert_frame_equal(explicit.build().futures, built.futures)


def test_every_point_equals_a_direct_backtest() -> None:
    grid = {"ratio": [0.8, "ewma"], "roll_days": [3, 8], "band": [0, 30], "commission": [0.0, 5.0]}
    table = sweep(SPEC, grid, executor="serial")
    assert table.height == 16
    market = RECIPE.build()
    for row in table.iter_rows(named=True):
        policy = dataclasses.replace(
            POLICY, ratio=row["ratio"] if row["ratio"] == "ewma" else float(row["ratio"]),
            roll=RollRule(kind="calendar", days_before_ltd=row["roll_days"]), band=row["band"],
        )  # fmt: skip
        _check_point(row, market, policy, dataclasses.replace(ROUTE_COSTS, commission=row["commission"]))
    # the band and the commission change the numbers (the shared prepare does not freeze them)
    ewma = table.filter(pl.col("ratio") == "ewma", pl.col("roll_days") == 3, pl.col("commission") == 5.0)
    assert ewma["fees_usd"][0] != ewma["fees_usd"][1]  # band 0 trades more than band 30
    fees = table.filter(pl.col("ratio") == "0.8", pl.col("roll_days") == 3, pl.col("band") == 0)["fees_usd"]
    assert fees[1] > fees[0]


def test_scenario_points_equal_direct_backtests() -> None:
    grid = {"seed": [5, 7], "kappa": [1.0, 4.0], "slippage_ticks": [0.0, 2.0]}
    table = sweep(SPEC, grid, executor="serial", n_paths=2)
    assert table.height == 16
    base = RECIPE.model_params()
    for row in table.filter(pl.col("point").is_in([0, 5, 10, 15])).iter_rows(named=True):
        recipe = SimulatedMarket("sc", "2025-01-02", "2025-04-30", seed=row["seed"] + row["path"],
                                 params=dataclasses.replace(base, kappa=row["kappa"]))  # fmt: skip
        policy = dataclasses.replace(POLICY, slippage_ticks=row["slippage_ticks"])
        _check_point(row, recipe.build(), policy, ROUTE_COSTS)
    # seeds and paths give different markets
    same_policy = table.filter(pl.col("kappa") == 1.0, pl.col("slippage_ticks") == 0.0)
    assert same_policy["hedge_pnl_usd"].n_unique() == 4


def test_named_scenarios() -> None:
    scen = {"calm": dataclasses.replace(RECIPE, seed=1), "fixed": RECIPE.build()}
    table = sweep(SPEC, {"scenario": scen, "ratio": [1.0]}, executor="serial")
    assert table["scenario"].to_list() == ["calm", "fixed"]
    _check_point(
        table.row(0, named=True), scen["calm"].build(), dataclasses.replace(POLICY, ratio=1.0), ROUTE_COSTS
    )
    _check_point(
        table.row(1, named=True), RECIPE.build(), dataclasses.replace(POLICY, ratio=1.0), ROUTE_COSTS
    )


# ----------------------------------------------------------------------------- executors

GRID = {"ratio": [0.9, "rolling"], "roll_days": [3, 10], "band": [0, 10]}


@pytest.fixture(scope="module")
def serial_table() -> pl.DataFrame:
    return sweep(SPEC, GRID, executor="serial", n_paths=2)


def test_process_pool_equals_serial(serial_table: pl.DataFrame) -> None:
    seen: list[tuple[int, int]] = []
    table = sweep(SPEC, GRID, n_paths=2, workers=2, batch_size=3, progress=lambda d, n: seen.append((d, n)))
    assert_frame_equal(table, serial_table)
    assert seen[0] == (0, 16) and seen[-1] == (16, 16)
    assert [d for d, _ in seen] == sorted(d for d, _ in seen) and len(seen) == 1 + 6  # ceil(16 / 3) batches


def test_dask_local_cluster_equals_serial(serial_table: pl.DataFrame) -> None:
    distributed = pytest.importorskip("distributed")
    with (
        distributed.LocalCluster(
            n_workers=1, threads_per_worker=2, processes=False, dashboard_address=None
        ) as c,
        distributed.Client(c) as client,
    ):
        table = sweep(SPEC, GRID, executor=client, n_paths=2, batch_size=5)
    assert_frame_equal(table, serial_table)


def test_thread_pool_executor_is_accepted(serial_table: pl.DataFrame) -> None:
    with cf.ThreadPoolExecutor(2) as pool:
        table = sweep(SPEC, GRID, executor=pool, n_paths=2, batch_size=4)
    assert_frame_equal(table, serial_table)


# ----------------------------------------------------------------------------- failures


def test_a_point_that_raises_gets_an_error_row() -> None:
    market = RECIPE.build()
    no_open = dataclasses.replace(market, futures=market.futures.drop("open"))
    spec = SweepSpec(no_open, EXPOSURE, POLICY, INVESTOR)
    table = sweep(spec, {"execution": ["settle", "open"], "band": [0, 5]}, executor="serial")
    bad = table.filter(pl.col("execution") == "open")
    assert (
        bad["error"].to_list() == ["DataError: execution='open' needs a 'open' column in Market.futures"] * 2
    )
    assert bad["net_pnl_usd"].null_count() == 2
    good = table.filter(pl.col("execution") == "settle")
    assert good["error"].null_count() == 2 and good["net_pnl_usd"].null_count() == 0
    assert rank(table)["execution"].to_list() == ["settle", "settle"]


class _DiesAfter(cf.Executor):
    """Runs the first ``k`` tasks, then every future fails as if the worker process had died."""

    def __init__(self, k: int) -> None:
        self.k = k
        self.calls = 0

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> cf.Future[Any]:
        self.calls += 1
        f: cf.Future[Any] = cf.Future()
        if self.calls <= self.k:
            f.set_result(fn(*args, **kwargs))
        else:
            f.set_exception(BrokenProcessPool("a worker process died"))
        return f


def test_executor_failing_mid_sweep_keeps_the_completed_rows(serial_table: pl.DataFrame) -> None:
    with pytest.raises(SweepError, match=r"10 of 16 grid points failed .*BrokenProcessPool") as info:
        sweep(SPEC, GRID, executor=_DiesAfter(2), n_paths=2, batch_size=3)
    err = info.value
    done = err.partial["point"].to_list()
    assert len(done) == 6
    assert_frame_equal(err.partial, serial_table.filter(pl.col("point").is_in(done)))
    assert sorted(done + err.failed["point"].to_list()) == list(range(16))
    assert err.failed.columns == ["point", "ratio", "roll_days", "band", "path", "reason"]
    assert str(err).count("point ") >= 5  # names the failed points and their parameters
    assert "ratio=" in str(err)


@dataclasses.dataclass(frozen=True)
class _KillsItsWorker(SimulatedMarket):
    """A scenario whose build kills the worker process (as an out-of-memory kill would)."""

    def build(self) -> Market:
        import os

        os._exit(1)


def test_a_worker_killed_mid_sweep_raises_sweep_error_with_partial_rows() -> None:
    scen = {
        "ok": RECIPE,
        "dies": _KillsItsWorker(**{f.name: getattr(RECIPE, f.name) for f in dataclasses.fields(RECIPE)}),
    }
    grid = {"scenario": scen, "band": [0, 5, 10, 20]}
    ref = sweep(SPEC, {"scenario": {"ok": RECIPE}, "band": [0, 5, 10, 20]}, executor="serial")
    with pytest.raises(SweepError, match="grid points failed because their task failed") as info:
        sweep(SPEC, grid, workers=2, batch_size=2)
    err = info.value
    lost = set(err.failed["point"].to_list())
    assert {4, 5, 6, 7} <= lost  # every "dies" point (scenario is the first, slowest axis)
    assert sorted(lost | set(err.partial["point"].to_list())) == list(range(8))
    assert set(err.partial["scenario"].to_list()) <= {"ok"}
    # completed rows are the same numbers as a sweep of the healthy scenario alone
    got = err.partial
    assert_frame_equal(got, ref.filter(pl.col("point").is_in(got["point"].to_list())))


def test_a_shut_down_executor_fails_every_point() -> None:
    pool = cf.ThreadPoolExecutor(1)
    pool.shutdown()
    with pytest.raises(SweepError, match="2 of 2 grid points failed") as info:
        sweep(SPEC, {"band": [0, 5]}, executor=pool)
    assert info.value.partial.height == 0
    assert info.value.failed["reason"][0].startswith("not submitted: RuntimeError")


# ----------------------------------------------------------------------------- outputs


def test_parquet_output_round_trips(tmp_path: Path, serial_table: pl.DataFrame) -> None:
    out = tmp_path / "sweep.parquet"
    lazy = sweep(SPEC, GRID, executor="serial", n_paths=2, out=out, batch_size=5)
    assert isinstance(lazy, pl.LazyFrame)
    assert_frame_equal(lazy.collect(), serial_table)
    assert_frame_equal(pl.read_parquet(out).sort("point"), serial_table)


def test_keep_ledger_holds_each_points_daily_ledger() -> None:
    grid = {"ratio": [0.7, 1.0]}
    table = sweep(SPEC, grid, executor="serial", keep="ledger")
    summary = sweep(SPEC, grid, executor="serial")
    assert_frame_equal(table.drop("ledger"), summary)
    long = ledgers(table)
    ref = run(RECIPE.build(), EXPOSURE, dataclasses.replace(POLICY, ratio=0.7), INVESTOR)
    assert_frame_equal(long.filter(pl.col("point") == 0).drop("point"), ref.ledger)
    assert long.height == 2 * ref.ledger.height


def test_rank_orders_by_the_metric(serial_table: pl.DataFrame) -> None:
    by_point = rank(serial_table, "cost", top=3, across_scenarios=False)
    ref = serial_table.sort("total_cost_usd").head(3)
    assert by_point["point"].to_list() == ref["point"].to_list()
    policies = rank(serial_table, "hedged_variance", top=100)
    assert policies.height == 8 and (policies["scenarios"] == 2).all()  # 8 policies × 2 paths
    mean = serial_table.group_by("ratio", "roll_days", "band").agg(pl.col("hedged_variance").mean())
    assert policies["hedged_variance"][0] == pytest.approx(mean["hedged_variance"].min(), rel=1e-12)
    with pytest.raises(InputError, match="rank by='sharpe'"):
        rank(serial_table, "sharpe")


# ----------------------------------------------------------------------------- CLI


def test_cli_example_grid_runs(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["sweep", "--example", "--serial", "--no-progress", "--top", "3"]) == 0
    out = capsys.readouterr().out
    assert "32 backtests" in out  # 4 ratios × 2 roll distances × 2 bands × 2 paths (the example file)
    assert "Best 3 by hedged variance" in out and "Best 3 by cost" in out
    assert "SIMULATED" in out
    _, grid, n_paths = load_grid(example_grid())
    assert grid == {"ratio": [0.8, 1.0, "rolling", "ewma"], "roll_days": [3, 10], "band": [0, 20]}
    assert n_paths == 2


def test_cli_custom_grid_with_scenarios_and_parquet(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    grid_file = tmp_path / "g.toml"
    grid_file.write_text(
        """
[market]
product = "sc"
start = 2025-01-02
end = 2025-03-31
[exposure]
quantity = 200_000
[policy]
window = 20
[grid]
ratio = [0.5, 1.0]
[grid.scenario.a]
seed = 1
[grid.scenario.b]
seed = 2
params = { kappa = 1.0 }
""",
        encoding="utf-8",
    )
    out = tmp_path / "rows.parquet"
    assert main(["sweep", str(grid_file), "--serial", "--out", str(out), "--top", "2"]) == 0
    text = capsys.readouterr()
    assert "4 backtests" in text.out and "mean over the scenarios (scenario)" in text.out
    assert "4/4 points" in text.err  # the progress bar
    rows = pl.read_parquet(out).sort("point")
    assert rows["scenario"].to_list() == ["a", "b", "a", "b"]  # [grid] ratio comes first, scenario fastest
    assert rows["error"].null_count() == 4


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[grid]\nwindw = [20]\n", "did you mean 'window'"),
        ("[grid]\nband = []\n", "grid['band'] is empty"),
        ("[gird]\nband = [1]\n", "unknown section(s) ['gird']"),
        ("[policy]\nbnad = 1\n[grid]\nband = [1]\n", "[policy] has unknown key(s) ['bnad']"),
        ("[market]\nproduct = 'sc'\n", "no [grid] section"),
        ("[grid\n", "is not valid TOML"),
        ("[sweep]\nn_paths = 0\n[grid]\nband = [0]\n", "n_paths=0 must be a positive"),
    ],
)
def test_cli_bad_grid_files(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, message: str
) -> None:
    f = tmp_path / "bad.toml"
    f.write_text(text, encoding="utf-8")
    assert main(["sweep", str(f), "--serial"]) == 2
    assert message in capsys.readouterr().err


def test_cli_print_example_is_the_bundled_file(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["sweep", "--print-example"]) == 0
    out = capsys.readouterr().out
    assert tomllib.loads(out) == tomllib.loads(example_grid().read_text(encoding="utf-8"))
    assert main(["sweep"]) == 2  # neither a file nor --example
    assert "give a grid file" in capsys.readouterr().err
