"""The engine's typed kernel inputs: one ``prepare`` builds them, the kernel reads them by name."""

from __future__ import annotations

import numpy as np
import pytest

from cnfutures._kernels import settlement as k
from cnfutures.access import Investor
from cnfutures.backtest import Exposure, HedgePolicy, Market, prepare, run
from cnfutures.backtest.engine import book


@pytest.fixture(scope="module")
def sample() -> Market:
    return Market.sample("sc", "2025-03-03", "2025-06-06")


def test_prepare_builds_typed_contiguous_bundles(sample: Market) -> None:
    prep = prepare(sample, Exposure(500_000, "short", "brent"), HedgePolicy("sc"), Investor("osbp_client"))
    i = prep.inputs
    K, D = len(prep.contracts), prep.days.len()
    assert isinstance(i.market, k.PathArrays) and isinstance(i.rules, k.ContractRules)
    assert isinstance(i.schedule, k.DaySchedule) and isinstance(i.params, k.BookParams)
    for name, a in i.rules._asdict().items():
        assert a.shape == (K, D) and a.dtype == np.float64 and a.flags.c_contiguous, name
    assert i.market.settle.shape == (1, K, D)
    assert i.schedule.target_k.dtype == np.int64 and i.schedule.haircut.shape == (D,)
    assert all(isinstance(v, float) for v in i.params)
    # the by-name view holds the very same arrays
    assert prep.arrays["margin_rate"] is i.rules.margin_rate


def test_haircut_may_change_within_a_run(sample: Market, monkeypatch: pytest.MonkeyPatch) -> None:
    # the route's USD haircut changes on the 30th trading day: the run books each day at its own
    # haircut (the kernel takes one value per day) instead of refusing the run
    from cnfutures.access import collateral

    args = (sample, Exposure(500_000, "short", "brent"), HedgePolicy("sc"), Investor("osbp_client"))
    flat = run(*args)
    real = collateral.collateral_haircuts

    def changing(investor: Investor, exchange: str, days: object) -> np.ndarray:
        h = np.array(real(investor, exchange, days), dtype=np.float64)
        h[30:] = 0.8
        return h

    monkeypatch.setattr(collateral, "collateral_haircuts", changing)
    prep = prepare(*args)
    assert prep.inputs.schedule.haircut[29] == 0.95 and prep.inputs.schedule.haircut[30] == 0.8
    moved = run(*args)
    a, b = flat.ledger, moved.ledger
    assert a.head(30).equals(b.head(30))  # identical up to the change
    led, _ = book(prep.inputs)
    h = prep.inputs.schedule.haircut
    fx = prep.inputs.market.fx[0]
    np.testing.assert_allclose(led[k.L_EQUITY], led[k.L_CASH] + led[k.L_COLL] * h * fx, rtol=1e-12)
    # at 0.8 the same USD counts for less margin
    assert b["equity_cny"][30] < a["equity_cny"][30]
    assert b["usd_posted"][-1] > a["usd_posted"][-1]
