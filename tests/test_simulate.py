"""The seeded sample-market simulator: reproducible, on the tick grid, inside the limit band."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

import cnfutures
from cnfutures import simulate
from cnfutures.errors import DataError, InputError
from cnfutures.market.rules import price_limit


def test_same_seed_same_output_and_different_seed_differs() -> None:
    a = simulate.market("i", "2024-01-02", n_days=40, n_paths=2, seed=5)
    assert a.equals(simulate.market("i", "2024-01-02", n_days=40, n_paths=2, seed=5))
    assert not a.equals(simulate.market("i", "2024-01-02", n_days=40, n_paths=2, seed=6))


@pytest.mark.parametrize("code", ["sc", "i", "nr", "ru"])
def test_settles_on_tick_grid_inside_band_and_listed(code: str) -> None:
    prm = simulate.with_params(simulate.default_params(code), sigma_chi=0.6, sigma_xi=0.6)  # many limit days
    f = simulate.market(code, "2024-03-01", n_days=60, seed=11, params=prm)
    tick = cnfutures.product(code).tick
    for col in ("settle", "open", "close", "limit_up", "limit_down"):
        q = f[col].to_numpy() / tick
        assert np.abs(q - np.round(q)).max() < 1e-6, col
    assert (f["settle"] <= f["limit_up"]).all() and (f["settle"] >= f["limit_down"]).all()
    assert f["limit_locked"].sum() > 0  # the stressed parameters lock some days
    # the band equals the rule book's (source: RuleBook.price_limit, rounded inward to the tick)
    for r in (
        f.filter(~f["trading_day"].is_in([f["trading_day"].min()])).sample(15, seed=1).iter_rows(named=True)
    ):
        lim = price_limit(r["contract"], r["trading_day"], prev_settle=r["prev_settle"])
        assert (r["limit_up"], r["limit_down"]) == (lim.upper, lim.lower)
    # contracts each day are exactly the listed ones
    day = f["trading_day"][30]
    assert sorted(f.filter(pl.col("trading_day") == day)["contract"]) == sorted(
        c.code for c in cnfutures.listed_contracts(code, day)
    )
    # days are the exchange's trading days
    cal = cnfutures.calendar(cnfutures.product(code).exchange)
    assert (
        f["trading_day"].unique().sort().to_list()
        == cal.trading_days("2024-03-01", f["trading_day"].max()).to_list()
    )


def test_limit_lock_carries_excess_to_next_day() -> None:
    prm = simulate.with_params(simulate.default_params("sc"), sigma_chi=1.5, sigma_xi=0.0, kappa=0.1)
    f = simulate.market("sc", "2024-03-01", n_days=40, seed=3, params=prm).filter(
        pl.col("contract") == "sc2409"
    )
    locked = f.with_row_index().filter(pl.col("limit_locked"))
    assert locked.height > 0
    # after a lock at the up-limit the next day's settle is no lower than the locked one unless
    # the model moved: a locked day's settle equals its band edge exactly
    r = locked.row(0, named=True)
    assert r["settle"] in (r["limit_up"], r["limit_down"])


def test_bad_inputs() -> None:
    with pytest.raises(InputError):
        simulate.market("sc", "2024-03-01")
    with pytest.raises(InputError):
        simulate.market("sc", "2024-03-01", n_days=5, n_paths=0)
    with pytest.raises(InputError):
        simulate.Params(rho=2.0)
    import datetime as dt

    late = pl.DataFrame({"date": [dt.date(2025, 1, 2)], "price": [70.0]})
    with pytest.raises(DataError, match="after the first trading day"):
        simulate.market("sc", "2024-03-01", n_days=5, benchmark=late)
