"""The booking engine's outputs, bit for bit, against the golden files of issue 14.

``scripts/make_engine_golden.py`` wrote them before the engine was consolidated; a change
here means the bundled backtest, ``hedge_risk`` or the example sweep books differently. A
deliberate change regenerates them with that script and is reviewed as a diff.
"""

from __future__ import annotations

import polars as pl
import pytest
from polars.testing import assert_frame_equal
from scripts import make_engine_golden as g

from tests.conftest import REFERENCE


def _same(got: pl.DataFrame | None, name: str) -> None:
    assert got is not None
    want = pl.read_parquet(REFERENCE / name)
    # exact: every float64 bit, NaN where NaN, nulls where nulls
    assert_frame_equal(got, want, check_exact=True)


def test_backtest_sample_ledger_bit_identical() -> None:
    ledger, summary = g.backtest_sample()
    _same(ledger, "golden_backtest_ledger.parquet")
    _same(summary, "golden_backtest_summary.parquet")


def test_hedge_risk_bit_identical() -> None:
    paths, fan = g.hedge_risk_sample()
    _same(paths, "golden_hedge_risk_paths.parquet")
    _same(fan, "golden_hedge_risk_fan.parquet")
    rolling, _ = g.hedge_risk_sample("rolling", fan=False)
    _same(rolling, "golden_hedge_risk_rolling_paths.parquet")


@pytest.mark.slow
def test_example_sweep_bit_identical() -> None:
    _same(g.sweep_example(), "golden_sweep_example.parquet")
