"""Writing the HTML reports: a 6-year daily backtest and a 2,000-path Monte Carlo run.

Group ``report_backtest``: ``BacktestResult.report`` (interactive, uPlot, attribution, cash
explained) for the bundled sc sample 2019-01-02 .. 2025-06-06 (1,557 trading days), goal
``max_ms=1000`` (issue 19: <= 1 s warm); the peer is the static matplotlib figures the
report used to embed (``figures``: three PNGs), for scale.
Group ``report_risk``: ``HedgeRisk.report`` for 2,000 paths × 244 trading days, goal
``max_ms=2000``; peer: ``HedgeRisk.plot_fan`` (one matplotlib PNG).

Run: python -m pytest benchmarks/bench_report.py --benchmark-enable --benchmark-json .bench/report.json
     && python scripts/bench_ratios.py .bench/report.json
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from benchmarks.conftest import tag


@pytest.fixture(scope="module")
def backtest() -> Any:
    from cnfutures.access import Investor
    from cnfutures.backtest import Costs, Exposure, HedgePolicy, Market, run
    from cnfutures.frames.roll import RollRule

    m = Market.sample("sc", "2019-01-02", "2025-06-06")
    pol = HedgePolicy(
        "sc", slippage_ticks=1.0,
        roll=RollRule(kind="calendar", days_before_ltd=5, before_stage="month_before_delivery"),
    )  # fmt: skip
    return run(m, Exposure(1_000_000, "short", "brent", "USD"), pol, Investor("osbp_client"), Costs())


@pytest.fixture(scope="module")
def risk() -> Any:
    from cnfutures.access import Investor
    from cnfutures.backtest import Exposure, HedgePolicy
    from cnfutures.risk import hedge_risk

    return hedge_risk(Exposure(1_000_000, "short", "benchmark"), HedgePolicy("sc"), Investor("qfi"),
                      start="2025-01-02", n_days=244, n_paths=2000, seed=7)  # fmt: skip


@pytest.mark.benchmark(group="report_backtest")
def test_backtest_report(benchmark: Any, backtest: Any, tmp_path: Path) -> None:
    backtest.report(tmp_path)
    tag(benchmark, role="ours", name="cnfutures report (6 y daily, interactive)", n=1, max_ms=1000.0)
    benchmark(backtest.report, tmp_path)


@pytest.mark.benchmark(group="report_backtest")
def test_backtest_png_figures(benchmark: Any, backtest: Any) -> None:
    from cnfutures.report import figures

    pytest.importorskip("matplotlib")
    figures(backtest)
    tag(benchmark, role="peer", name="matplotlib PNG figures", n=1)
    benchmark(figures, backtest)


@pytest.mark.benchmark(group="report_risk")
def test_risk_report(benchmark: Any, risk: Any, tmp_path: Path) -> None:
    risk.report(tmp_path)
    tag(benchmark, role="ours", name="cnfutures risk report (2,000 paths)", n=1, max_ms=2000.0)
    benchmark(risk.report, tmp_path)


@pytest.mark.benchmark(group="report_risk")
def test_risk_png_fan(benchmark: Any, risk: Any, tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    risk.plot_fan(tmp_path / "fan.png")
    tag(benchmark, role="peer", name="matplotlib PNG fan chart", n=1)
    benchmark(risk.plot_fan, tmp_path / "fan.png")
