"""Allocation indices (cnfutures.allocation.index) against an independent pandas replay.

Reference: tests/naive_allocation.py, a units-and-cash replay in pandas written for these tests
(S&P GSCI methodology's contract-roll-weight return, S&P Dow Jones Indices, "S&P GSCI
Methodology", section "Calculation of the S&P GSCI Excess Return"; BCOM's 5-day roll and
target weights reset at rebalancing, Bloomberg, "The Bloomberg Commodity Index Family Index
Methodology"). Tolerance: 1e-10 relative on every level.
"""

from __future__ import annotations

import functools

import numpy as np
import pandas as pd
import polars as pl
import pytest

from cnfutures.access import Investor
from cnfutures.allocation import build_index, default_roll
from cnfutures.backtest import Market
from cnfutures.errors import AccessDenied, DataError, InputError
from cnfutures.frames import RollRule
from tests import naive_allocation as naive

START, END = "2022-01-04", "2025-06-06"
PRODUCTS = ("sc", "i", "nr", "ru")


@functools.cache
def markets() -> dict[str, Market]:
    return {p: Market.sample(p, START, END, seed=11 + i) for i, p in enumerate(PRODUCTS)}


def futures() -> dict[str, pl.DataFrame]:
    return {p: m.futures for p, m in markets().items()}


def fx_series() -> pd.Series:
    f = markets()["sc"].usd_cny.drop_nulls().to_pandas()
    s = pd.Series(f["usd_cny"].to_numpy(), index=[d.date() for d in pd.to_datetime(f["date"])])
    return s


def fx_asof(days: list) -> pd.Series:
    s = fx_series().sort_index()
    return pd.Series([s[s.index <= d].iloc[-1] for d in days], index=days)


def assert_close(ix: pl.DataFrame, ref: pd.DataFrame, cols: tuple[str, ...]) -> None:
    assert ix["trading_day"].to_list() == list(ref.index)
    for c in cols:
        got, want = ix[c].to_numpy(), ref[c].to_numpy()
        np.testing.assert_allclose(got, want, rtol=1e-10, atol=0, err_msg=c)


RULES = {p: default_roll(p) for p in PRODUCTS}


@pytest.mark.parametrize(
    ("collateral", "fx_mode"),
    [("USD", "unhedged"), ("CNY", "unhedged"), ("USD", "hedged"), ("CNY", "hedged")],
)
def test_fixed_weights_match_pandas(collateral: str, fx_mode: str) -> None:
    w = {"sc": 0.4, "i": 0.3, "nr": 0.1, "ru": 0.2}
    ix = build_index(
        futures(), w, rebalance="monthly", usd_cny=markets()["sc"].usd_cny, cny_rate=0.018, usd_rate=0.045,
        collateral=collateral, fx=fx_mode, hedge_cost=0.025,  # type: ignore[arg-type]
    )  # fmt: skip
    days = ix.levels["trading_day"].to_list()
    ref = naive.index_levels(
        futures(), RULES, w, rebalance="monthly", fx=fx_asof(days), cny_rate=0.018, usd_rate=0.045,
        collateral=collateral, fx_mode=fx_mode, hedge_cost=0.025,
    )  # fmt: skip
    assert_close(ix.levels, ref, ("er_cny", "tr_cny", "er_usd", "tr_usd"))


def test_inverse_vol_capped_quarterly_matches_pandas() -> None:
    ix = build_index(futures(), "inverse_vol", rebalance="quarterly", cap=0.3, lookback=120, cny_rate=0.02)
    ref = naive.index_levels(futures(), RULES, "inverse_vol", rebalance="quarterly", cap=0.3, lookback=120,
                             cny_rate=0.02)  # fmt: skip
    assert_close(ix.levels, ref, ("er_cny", "tr_cny"))
    tw = ix.rebalances["target_weight"].to_numpy()
    assert tw.max() <= 0.3 + 1e-12
    np.testing.assert_allclose(ix.rebalances.group_by("trading_day").agg(pl.col("target_weight").sum())
                               ["target_weight"].to_numpy(), 1.0, rtol=1e-12)  # fmt: skip


def test_open_interest_weights_and_window_3_match_pandas() -> None:
    rng = np.random.default_rng(5)
    fr = {p: f.with_columns(open_interest=pl.Series(rng.integers(1_000, 90_000, f.height)).cast(pl.Float64))
          for p, f in futures().items()}  # fmt: skip
    main = RollRule(days_before_ltd=5, months=(1, 5, 9))
    rules = {"sc": RollRule(days_before_ltd=5), "i": main, "nr": RollRule(days_before_ltd=5), "ru": main}
    ix = build_index(fr, "open_interest", roll=rules, roll_window=3, rebalance="annual", cap=0.4, lookback=60)
    ref = naive.index_levels(fr, rules, "open_interest", window=3, rebalance="annual", cap=0.4, lookback=60)
    assert_close(ix.levels, ref, ("er_cny", "tr_cny"))


def test_equal_weights_with_leverage_match_pandas() -> None:
    ix = build_index(futures(), "equal", leverage=1.5, rebalance="never")
    ref = naive.index_levels(futures(), RULES, "equal", leverage=1.5, rebalance="never")
    assert_close(ix.levels, ref, ("er_cny",))


def test_single_sleeve_without_roll_is_the_price_ratio() -> None:
    """Between rolls a one-sleeve excess-return index moves exactly with the held settle."""
    ix = build_index({"sc": futures()["sc"]}, {"sc": 1.0})
    s = ix.sleeves.join(ix.levels, on="trading_day")
    h = (
        ix.holdings.group_by("trading_day")
        .agg(pl.len().alias("k"), pl.col("contract").first())
        .sort("trading_day")
    )
    s = s.join(h, on="trading_day").with_columns(
        prev_k=pl.col("k").shift(), prev_c=pl.col("contract").shift(), prev_l=pl.col("er_cny").shift(),
        prev_p=pl.col("held_price").shift(),
    )  # fmt: skip
    calm = s.filter((pl.col("k") == 1) & (pl.col("prev_k") == 1) & (pl.col("contract") == pl.col("prev_c")))
    assert calm.height > 500
    np.testing.assert_allclose(
        (calm["er_cny"] / calm["prev_l"]).to_numpy(),
        (calm["held_price"] / calm["prev_p"]).to_numpy(),
        rtol=1e-13,
    )


def test_roll_window_moves_one_nth_per_day() -> None:
    ix = build_index({"sc": futures()["sc"]}, {"sc": 1.0}, roll_window=4)
    h = ix.holdings.filter(pl.col("roll_weight") < 1).sort("trading_day", "contract")
    # first window: the new contract (later code) gets 1/4, 2/4, 3/4; the old 3/4, 2/4, 1/4
    first = h.head(6)
    new = first.group_by("trading_day", maintain_order=True).agg(pl.col("roll_weight").last())
    assert new["roll_weight"].to_list() == [0.25, 0.5, 0.75]


# ----------------------------------------------------------------------------- bad input


def test_weights_not_summing_to_one_name_the_sum() -> None:
    with pytest.raises(InputError, match=r"weights sum to 1\.1, not 1.*leverage=1\.1"):
        build_index(futures(), {"sc": 0.4, "i": 0.3, "nr": 0.2, "ru": 0.2})
    ix = build_index(futures(), {"sc": 0.4, "i": 0.3, "nr": 0.2, "ru": 0.2}, leverage=1.1)
    assert ix.spec["leverage"] == 1.1
    with pytest.raises(InputError, match=r"not the stated leverage=2"):
        build_index(futures(), {"sc": 0.4, "i": 0.3, "nr": 0.2, "ru": 0.2}, leverage=2.0)


def test_route_that_may_not_hold_a_product_is_denied() -> None:
    # the QFI product list (access/data eligibility rows) first opened in September 2022; the
    # index starts on 2022-01-04, so the first product checked is refused
    e = Investor("qfi")
    from cnfutures.access import eligible

    closed = [p for p in sorted(PRODUCTS) if not eligible(e, p, "2022-01-04")]
    assert closed, "the bundled eligibility data should close at least one product to QFIs"
    with pytest.raises(AccessDenied, match=rf"may not hold product '{closed[0]}'"):
        build_index(futures(), "equal", route="qfi")


def test_roll_window_longer_than_the_gap_names_it() -> None:
    with pytest.raises(
        InputError, match=r"roll_window=25 trading days is longer than the gap between contracts"
    ):
        build_index({"sc": futures()["sc"]}, {"sc": 1.0}, roll_window=25)


def test_missing_settle_in_a_window_is_a_data_error() -> None:
    f = futures()["sc"]
    ix = build_index({"sc": f}, {"sc": 1.0})
    row = ix.holdings.filter(pl.col("roll_weight") < 1).row(0, named=True)
    d, c = row["trading_day"], row["contract"]
    g = f.filter(~((pl.col("trading_day") == d) & (pl.col("contract") == c)))
    with pytest.raises(DataError, match=rf"no finite settle on {d} for .*{c}"):
        build_index({"sc": g}, {"sc": 1.0})


def test_stale_fx_is_a_data_error() -> None:
    fx = markets()["sc"].usd_cny.filter(pl.col("date") < pl.date(2024, 1, 1))
    with pytest.raises(DataError, match=r"usd_cny on 2024-01-09 is from 2023-12-29 \(11 days old\)"):
        build_index(futures(), "equal", usd_cny=fx)


@pytest.mark.parametrize(
    ("kw", "msg"),
    [
        ({"weights": "momentum"}, "weights='momentum'; accepted"),
        ({"weights": {"sc": 1.0}}, "weights name sleeves"),
        ({"rebalance": "weekly"}, "rebalance='weekly'"),
        ({"roll_window": 0}, "roll_window=0"),
        ({"collateral": "EUR"}, "collateral='EUR'"),
        ({"fx": "half"}, "fx='half'"),
        ({"cny_rate": float("nan")}, "cny_rate=nan"),
        ({"cap": 0.2}, "cap=0.2 is too small for 4 sleeves"),
        ({"weights": "open_interest"}, "needs a 'open_interest' column"),
    ],
)
def test_bad_options_are_typed_errors(kw: dict, msg: str) -> None:
    args = {"weights": "equal", **kw}
    w = args.pop("weights")
    with pytest.raises(InputError, match=msg.replace("(", r"\(").replace("[", r"\[")):
        build_index(futures(), w, **args)


def test_rebalance_on_given_dates_and_no_usd_without_fx() -> None:
    ix = build_index(futures(), "equal", rebalance=["2023-03-01", "2024-07-01"])
    assert ix.levels.columns == ["trading_day", "er_cny", "tr_cny"]
    days = sorted(set(ix.rebalances["trading_day"].cast(pl.String)))
    assert days == ["2022-01-04", "2023-03-01", "2024-07-01"]
    with pytest.raises(InputError, match="rebalance date 2023-03-04 is not an index day"):
        build_index(futures(), "equal", rebalance=["2023-03-04"])


def test_an_open_route_passes_the_check() -> None:
    # sc, i, nr are specified products open to FF clients of INE and DCE since their listing
    ix = build_index({p: futures()[p] for p in ("sc", "i", "nr")}, "equal", route="ff_client")
    assert ix.spec["route"] == "ff_client"


def test_index_starting_inside_a_roll_window_holds_the_mix() -> None:
    """An index launched on the 4th day of a 5-day window holds 1/5 old, 4/5 new on day 0."""
    f = futures()["sc"]
    full = build_index({"sc": f}, {"sc": 1.0})
    win = full.holdings.filter(pl.col("roll_weight") < 1)
    roll_day = win["trading_day"].unique().sort()[3]  # the 4th day of the first 5-day window
    ix = build_index({"sc": f}, {"sc": 1.0}, start=roll_day)
    day0 = ix.holdings.filter(pl.col("trading_day") == roll_day).sort("contract")
    assert day0["roll_weight"].to_list() == pytest.approx([0.2, 0.8])
    later = {"sc": f.filter(pl.col("trading_day") >= roll_day)}
    ref = naive.index_levels(later, {"sc": RULES["sc"]}, {"sc": 1.0})
    assert_close(ix.levels, ref, ("er_cny",))


@pytest.mark.parametrize("k", [0.5, 3.0, 1e3])
def test_scaling_a_sleeves_prices_changes_no_return(k: float) -> None:
    """Returns are price ratios: a currency or unit change of one sleeve leaves every level unchanged."""
    base = build_index(futures(), {"sc": 0.4, "i": 0.3, "nr": 0.1, "ru": 0.2}, rebalance="monthly")
    fr = dict(futures())
    fr["i"] = fr["i"].with_columns(pl.col("settle") * k)
    scaled = build_index(fr, {"sc": 0.4, "i": 0.3, "nr": 0.1, "ru": 0.2}, rebalance="monthly")
    np.testing.assert_allclose(
        scaled.levels["er_cny"].to_numpy(), base.levels["er_cny"].to_numpy(), rtol=1e-12
    )


def test_a_zero_weight_sleeve_does_not_move_the_index() -> None:
    two = build_index(
        {"sc": futures()["sc"], "i": futures()["i"]}, {"sc": 1.0, "i": 0.0}, rebalance="monthly"
    )
    one = build_index({"sc": futures()["sc"]}, {"sc": 1.0}, rebalance="monthly")
    common = two.levels.join(one.levels, on="trading_day", suffix="_one")
    np.testing.assert_allclose(common["er_cny"].to_numpy(), common["er_cny_one"].to_numpy(), rtol=1e-12)
