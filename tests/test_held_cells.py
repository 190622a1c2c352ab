"""The held cells of a backtest (``backtest.engine._held_cells``), against a naive join.

Reference: the frame built the plain way — polars inner joins of the market rows with the
held contracts and the day axis, sorted by (contract, day), previous settlement per
contract — and the roll's cells checked by a left join (the engine's construction before
issue 20 replaced the joins by index look-ups).
"""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from cnfutures import simulate
from cnfutures.backtest import HedgePolicy
from cnfutures.backtest import engine as eng
from cnfutures.errors import DataError
from cnfutures.market.contracts import product


def _naive(
    sched: pl.DataFrame, fut: pl.DataFrame, days: pl.Series, extra: tuple[str, ...] = ()
) -> pl.DataFrame:
    contracts = sched["target"].unique(maintain_order=True).to_list()
    contracts += [x for x in dict.fromkeys(extra) if x not in contracts]
    kmap = pl.DataFrame({"contract": contracts, "k": np.arange(len(contracts), dtype=np.int64)})
    dmap = pl.DataFrame({"trading_day": days, "d": np.arange(days.len(), dtype=np.int64)})
    cells = (
        fut.join(kmap, on="contract", how="inner")
        .join(dmap, on="trading_day", how="inner")
        .sort("contract", "trading_day")
    )
    if "prev_settle" not in cells.columns:
        cells = cells.with_columns(pl.col("settle").shift(1).over("contract").alias("prev_settle"))
    return cells


def _case(prod: str, start: str, end: str, individual: bool, drop_prev: bool) -> tuple:
    fut = simulate.market(prod, start, end=end, seed=5).drop("path")
    if drop_prev:
        fut = fut.drop("prev_settle")
    p = product(prod)
    days = eng._day_axis(p, fut, None, None, None)
    sched = eng._hold_schedule(HedgePolicy(prod), p, days, fut, individual)
    return p, fut, days, sched


@pytest.mark.parametrize(
    ("prod", "start", "end", "individual", "drop_prev"),
    [
        ("sc", "2019-01-02", "2022-12-30", False, False),
        ("sc", "2019-01-02", "2022-12-30", True, True),
        ("i", "2020-01-02", "2021-12-31", False, True),
        ("nr", "2021-01-04", "2022-06-30", True, False),
    ],
)
def test_held_cells_equal_the_naive_joins(
    prod: str, start: str, end: str, individual: bool, drop_prev: bool
) -> None:
    p, fut, days, sched = _case(prod, start, end, individual, drop_prev)
    for exec_col in ("settle", "open"):
        contracts, cells, kmap = eng._held_cells(sched, fut, p, days, exec_col)
        want = _naive(sched, fut, days)
        assert contracts == sched["target"].unique(maintain_order=True).to_list()
        assert cells.schema == want.schema
        assert cells.equals(want)
        assert kmap["contract"].to_list() == contracts


def test_a_missing_settlement_the_roll_needs_is_named() -> None:
    p, fut, days, sched = _case("sc", "2024-01-02", "2025-06-30", False, False)
    tg = sched["target"]
    roll = sched.filter(tg.shift(1) != tg).row(0, named=True)  # first roll: out of the old contract
    old = sched.filter(pl.col("trading_day") < roll["trading_day"])["target"][-1]
    hit = (pl.col("trading_day") == roll["trading_day"]) & (pl.col("contract") == old)
    bad = fut.with_columns(pl.when(hit).then(None).otherwise(pl.col("settle")).alias("settle"))
    with pytest.raises(
        DataError, match=rf"of 1 \(day, contract\) cell\(s\) .*first {roll['trading_day']} {old}"
    ):
        eng._held_cells(sched, bad, p, days, "settle")
    # a held day's row gone altogether, and an execution column with a gap: both named, in order
    day5, held5 = sched["trading_day"][5], sched["target"][5]
    gone = bad.filter(~((pl.col("trading_day") == day5) & (pl.col("contract") == held5)))
    with pytest.raises(DataError, match=rf"of 2 \(day, contract\) cell\(s\) .*first {day5} {held5}"):
        eng._held_cells(sched, gone, p, days, "settle")
    no_open = fut.with_columns(pl.when(hit).then(None).otherwise(pl.col("open")).alias("open"))
    eng._held_cells(sched, no_open, p, days, "settle")  # the open is not needed when executing at the settle
    with pytest.raises(DataError, match=r"lacks the settlement \(or open\) of 1"):
        eng._held_cells(sched, no_open, p, days, "open")


def test_option_underlyings_join_the_axis_and_are_checked() -> None:
    from cnfutures.backtest.model import Market, collar
    from cnfutures.backtest.optlegs import plan_series
    from cnfutures.market.options import option_product

    m = Market.sample("sc", "2024-05-06", "2025-06-06")
    p = product("sc")
    fut = m.futures
    policy = HedgePolicy("sc", ratio=0.0, options=collar(1.05, 0.95), option_vol=0.35, option_rate=0.015)
    days = eng._day_axis(p, fut, None, "2024-06-03", "2025-06-06")
    sched = eng._hold_schedule(policy, p, days, fut, False)
    series = plan_series(policy.options, option_product("sc"), days, fut)
    contracts, cells, _ = eng._held_cells(sched, fut, p, days, "settle", series)
    assert cells.equals(_naive(sched, fut, days, tuple(x.underlying for x in series)))
    assert {x.underlying for x in series} <= set(contracts)
    # an underlying's settlement gone on a day a series is held: named, each cell counted once
    s0 = series[0]
    day = days[s0.d_open + 1]
    hit = (pl.col("trading_day") == day) & (pl.col("contract") == s0.underlying)
    bad = fut.with_columns(pl.when(hit).then(None).otherwise(pl.col("settle")).alias("settle"))
    with pytest.raises(DataError, match=rf"of 1 \(day, contract\) cell\(s\) .*first {day} {s0.underlying}"):
        eng._held_cells(sched, bad, p, days, "settle", series)
