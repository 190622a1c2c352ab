"""The validation contract: one check, used at every boundary (issue 15).

Each test feeds an input that used to give a plausible wrong answer and asserts a typed
error naming the argument, row and value.
"""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import polars as pl
import pytest

from cnfutures import hedging, validation
from cnfutures.access import fx_rate, usd_to_cny, validate_fx
from cnfutures.backtest.model import Market
from cnfutures.errors import CnFuturesError, DataError, InputError

D = [dt.date(2025, 6, 3), dt.date(2025, 6, 4), dt.date(2025, 6, 5)]


# ------------------------------------------------------------------ the shared validators
def test_check_keys_rejects_null_duplicate_and_descending() -> None:
    with pytest.raises(DataError, match=r"null at row\(s\) \[1\]"):
        validation.check_keys(pl.DataFrame({"date": [D[0], None]}), name="x")
    with pytest.raises(DataError, match=r"duplicate date at row\(s\) \[0, 1\] \(2025-06-03\)"):
        validation.check_keys(pl.DataFrame({"date": [D[0], D[0]]}), name="x")
    with pytest.raises(DataError, match=r"x.date is not ascending: row 1 \(2025-06-03\) follows 2025-06-04"):
        validation.check_keys(pl.DataFrame({"date": [D[1], D[0]]}), name="x")
    with pytest.raises(InputError, match="Date or Datetime"):
        validation.check_keys(pl.DataFrame({"date": ["2025-06-03"]}), name="x")


def test_check_keys_per_group() -> None:
    f = pl.DataFrame({"trading_day": [D[0], D[0], D[1], D[1]], "contract": ["a", "b", "a", "b"]})
    assert validation.check_keys(f, "trading_day", by=("contract",)) is f
    back = pl.DataFrame({"trading_day": [D[1], D[0]], "contract": ["a", "a"]})
    with pytest.raises(DataError, match="within contract=a"):
        validation.check_keys(back, "trading_day", by=("contract",))


def test_check_fx_names_every_problem() -> None:
    bad = pl.DataFrame({"date": [D[0], D[0], D[1], D[2]], "usd_cny": [7.1, 7.2, 0.0, float("inf")]})
    with pytest.raises(DataError) as exc:
        validation.check_fx(bad, name="fx")
    assert len(exc.value.problems) == 2  # rate (rows 2, 3), duplicate date (rows 0, 1)
    assert "[2, 3]" in str(exc.value)
    assert "[0, 1]" in str(exc.value) and "CNY per USD" in str(exc.value)


@pytest.mark.parametrize(
    "frame",
    [
        pl.DataFrame({"date": D, "usd_cny": [7.1, 7.2, 7.3]}),
        pl.DataFrame({"date": D[::-1], "usd_cny": [7.1, 7.2, 7.3]}),
    ],
)
def test_validation_is_idempotent(frame: pl.DataFrame) -> None:
    once = validation.check_fx(frame)
    assert validation.check_fx(once).equals(once)
    assert once["date"].is_sorted()


def test_fx_freshness() -> None:
    validation.check_fx_fresh(dt.date(2025, 5, 30), dt.date(2025, 6, 3))  # over a weekend: fine
    with pytest.raises(DataError, match="5480 days old"):
        validation.check_fx_fresh(dt.date(2010, 6, 2), dt.date(2025, 6, 3))
    validation.check_fx_fresh(dt.date(2010, 6, 2), dt.date(2025, 6, 3), max_age_days=None)
    with pytest.raises(DataError, match="no rate on or before 2025-06-04"):
        validation.check_fx_fresh(pl.Series([D[0], None]), pl.Series(D[:2]))


def test_check_declared() -> None:
    assert validation.check_declared(" cny", "t") == ("CNY", "t")
    with pytest.raises(InputError, match="currency='EUR'"):
        validation.check_declared("EUR", "t")


# ------------------------------------------------------------------ the entry points use them
def test_access_fx_rate_refuses_a_stale_rate() -> None:
    fx = pl.DataFrame({"date": [dt.date(2010, 6, 2)], "usd_cny": [6.83]})
    # before: the 2010 rate was used on 2025-06-03 intraday, silently
    with pytest.raises(DataError, match="days old"):
        fx_rate(fx, "2025-06-03", intraday=True)
    assert fx_rate(fx, "2025-06-03", intraday=True, max_age_days=None) == 6.83


def test_access_validate_fx_is_the_shared_check() -> None:
    with pytest.raises(DataError, match="duplicate date"):
        validate_fx(pl.DataFrame({"date": ["2025-06-03", "2025-06-03"], "usd_cny": [7.1, 7.2]}))
    with pytest.raises(InputError, match="inf"):
        usd_to_cny(1.0, float("inf"))


def _market_frames() -> tuple[pl.DataFrame, pl.DataFrame]:
    fut = pl.DataFrame({"trading_day": D, "contract": ["sc2508"] * 3, "settle": [480.3, 481.0, 482.0]})
    fx = pl.DataFrame({"date": D, "usd_cny": [7.19, 7.18, 7.18]})
    return fut, fx


def test_market_rejects_zero_fx_and_bad_dates() -> None:
    fut, fx = _market_frames()
    Market(fut, {}, fx)
    # before: a zero rate gave hedge_pnl_usd = -inf and NaN totals with a numpy warning
    with pytest.raises(
        DataError, match=r"Market.usd_cny: non-positive or non-finite usd_cny at row\(s\) \[1\]"
    ):
        Market(fut, {}, fx.with_columns(usd_cny=pl.Series([7.19, 0.0, 7.18])))
    with pytest.raises(DataError, match=r"Market.usd_cny.*duplicate date"):
        Market(fut, {}, fx.with_columns(date=pl.Series([D[0], D[0], D[2]])))
    with pytest.raises(DataError, match=r"Market.usd_cny.date is not ascending"):
        Market(fut, {}, fx.reverse())
    with pytest.raises(DataError, match=r"Market.futures.trading_day is not ascending within contract=sc"):
        Market(fut.reverse(), {}, fx)
    with pytest.raises(DataError, match=r"non_finite_price"):
        Market(fut.with_columns(settle=pl.Series([480.3, float("inf"), 482.0])), {}, fx)
    Market(fut.with_columns(settle=pl.Series([480.3, -5.0, 482.0])), {}, fx)  # crude may go negative
    ore = fut.with_columns(contract=pl.lit("i2509"), settle=pl.Series([700.0, -5.0, 701.0]))
    with pytest.raises(DataError, match=r"non_positive_price: 1 \[rows 1\] e.g. 2025-06-04 i2509"):
        Market(ore, {}, fx)
    brent = pl.DataFrame({"date": [D[1], D[0]], "price": [67.0, 68.0]})
    with pytest.raises(DataError, match=r"Market.prices\['brent'\].date is not ascending"):
        Market(fut, {"brent": brent}, fx)
    # nulls in the FX are holidays, skipped explicitly: still accepted
    Market(fut, {}, fx.with_columns(usd_cny=pl.Series([7.19, None, 7.18])))


def test_hedging_rejects_duplicate_and_descending_dates_everywhere() -> None:
    desc = pl.DataFrame({"date": D[::-1], "settle": [3.0, 2.0, 1.0]})
    dup = pl.DataFrame({"date": [D[0], D[0], D[1]], "settle": [3.0, 2.0, 1.0]})
    for bad in (desc, dup):
        # before: descending dates gave sign-flipped changes marked "ok"
        with pytest.raises(DataError):
            hedging.changes(bad)
        ch = bad.rename({"settle": "change"})
        with pytest.raises(DataError):
            hedging.hedge_ratio(ch, ch)
    with pytest.raises(DataError, match="duplicate date"):
        hedging.align(dup, desc)
    assert hedging.align(desc, desc)["date"].to_list() == D  # an as-of join sorts on the fly
    # to_usd: duplicate keys used to multiply rows in the join
    fx = pl.DataFrame({"date": [D[0], D[0]], "usd_cny": [7.0, 7.1]})
    with pytest.raises(DataError, match="usd_cny: duplicate date"):
        hedging.to_usd(pl.DataFrame({"date": [D[0]], "settle": [700.0]}), fx)
    with pytest.raises(DataError, match="cny: duplicate date"):
        hedging.to_usd(dup, pl.DataFrame({"date": D[:2], "usd_cny": [7.0, 7.1]}))


def test_to_usd_rejects_infinite_and_nan_scalar_rates() -> None:
    one = pl.DataFrame({"date": D[:1], "settle": [700.0]})
    # before: an infinite rate gave usd = 0.0, a NaN scalar rate gave NaN
    with pytest.raises(InputError, match="usd_cny has inf at row 0"):
        hedging.to_usd(one, pl.DataFrame({"date": D[:1], "usd_cny": [np.inf]}))
    with pytest.raises(InputError, match="usd_cny has nan"):
        hedging.to_usd(700.0, float("nan"))
    with pytest.raises(InputError, match=r"usd_cny has -7\.0"):
        hedging.to_usd(np.array([700.0]), np.array([-7.0]))
    assert hedging.to_usd(700.0, 7.0) == 100.0


def test_errors_are_one_family() -> None:
    for exc in (DataError("x"), InputError("x")):
        assert isinstance(exc, CnFuturesError)


# ------------------------------------------------------------------ pricing wrappers
def test_kind_none_is_an_error_not_a_call() -> None:
    from cnfutures import pricing
    from cnfutures.errors import PricingError

    # before: kind=None was priced as a call (7.9656 for this at-the-money option)
    for f in (pricing.black76, pricing.bachelier, pricing.american):
        with pytest.raises(PricingError, match="kind: element 0 is None"):
            f(100.0, 100.0, 1.0, 0.0, 0.2, None)
    with pytest.raises(PricingError, match="kind"):
        pricing.implied_vol(8.0, 100.0, 100.0, 1.0, 0.0, None)
    assert pricing.fair_value(100.0, 0.0, 0.0, 1.0) == pytest.approx(100.0)  # no kind: still fine


@pytest.mark.parametrize("method", ["baw", "bjs", "bjs2002", "crr", "lr"])
@pytest.mark.parametrize("kind", ["put", "call"])
def test_american_with_negative_rate_is_the_european(method: str, kind: str) -> None:
    from cnfutures import pricing

    F, K, T, r, s = 100.0, 100.0, 1.0, -0.05, 0.2
    eur = pricing.black76(F, K, T, r, s, kind)
    # reference: e^{0.05} x Black-76 undiscounted at-the-money value 100 (2 N(0.1) - 1)
    assert eur == pytest.approx(math.exp(0.05) * 100.0 * math.erf(0.1 / math.sqrt(2.0)), rel=1e-12)
    # before: BAW gave 0.0 for this put (NaN or > K for others), the trees 8.3698 < 8.3740
    assert pricing.american(F, K, T, r, s, kind, method=method, steps=201) == eur
    assert pricing.early_exercise_premium(F, K, T, r, s, kind, method=method, steps=201) == 0.0


def test_tree_steps_are_capped_with_an_estimate() -> None:
    from cnfutures import pricing
    from cnfutures.errors import PricingError

    with pytest.raises(PricingError, match=r"above the cap of 20,000.*h on one core.*MB.*allow_slow=True"):
        pricing.american(100.0, 100.0, 1.0, 0.05, 0.2, "put", method="crr", steps=10**7)
    with pytest.raises(PricingError, match="allow_slow"):
        pricing.early_exercise_premium(100.0, 100.0, 1.0, 0.05, 0.2, "put", method="lr", steps=20_001)
    v = pricing.american(100.0, 100.0, 1.0, 0.05, 0.2, "put", method="crr", steps=20_001, allow_slow=True)
    assert v == pytest.approx(
        pricing.american(100.0, 100.0, 1.0, 0.05, 0.2, "put", method="lr", steps=801), abs=2e-3
    )
    # closed-form methods ignore steps: no cap
    pricing.american(100.0, 100.0, 1.0, 0.05, 0.2, "put", method="baw", steps=10**7)


def test_implied_vol_not_ok_where_the_price_does_not_determine_it() -> None:
    from cnfutures import pricing

    # sigma = 16, T = 1: d1 = 8, vega ~ 5e-13; the price is 1 ulp from F. Before: status OK
    # with a volatility that is noise
    p = pricing.black76(100.0, 100.0, 1.0, 0.0, 16.0, "call")
    df = pricing.implied_vol(p, 100.0, 100.0, 1.0, 0.0, "call", on_error="nan")
    assert df["status"][0] in (pricing.IVStatus.ILL_CONDITIONED, pricing.IVStatus.ABOVE_MAXIMUM)
    assert math.isnan(df["implied_vol"][0])
    # deep in the money Bachelier (h = -9): the time value is below rounding
    K = 100.0 - 9.0 * 2.0
    p = pricing.bachelier(100.0, K, 1.0, 0.0, 2.0, "call")
    df = pricing.implied_vol(p, 100.0, K, 1.0, 0.0, "call", model="bachelier", on_error="nan")
    assert df["status"][0] != pricing.IVStatus.OK
    with pytest.raises(pricing.PricingError, match=r"ILL_CONDITIONED|NO_TIME_VALUE"):
        pricing.implied_vol(p, 100.0, K, 1.0, 0.0, "call", model="bachelier")
    # a well-conditioned option still round-trips
    p = pricing.black76(100.0, 110.0, 0.5, 0.03, 0.35, "put")
    assert pricing.implied_vol(p, 100.0, 110.0, 0.5, 0.03, "put") == pytest.approx(0.35, rel=1e-12)


@pytest.mark.parametrize("method", ["baw", "bjs", "bjs2002"])
def test_american_with_a_tiny_positive_rate_is_finite(method: str) -> None:
    from cnfutures import pricing

    # before: bjs2002 gave NaN for 0 < r < ~1e-16 (found by test_properties), bjs NaN and
    # BAW 0.0 (against a European of 54.67) near r = 1e-16 at sigma = 1.5
    for r, s, T in ((9.3e-130, 1.0, 1.0), (1.0593555256379024e-16, 1.5, 1.0), (3.36e-17, 1.5, 5.0)):
        a = pricing.american(100.0, 100.0, T, r, s, "call", method=method)
        assert a == pricing.black76(100.0, 100.0, T, r, s, "call")


def test_american_breakdown_is_an_error_not_a_number(monkeypatch: pytest.MonkeyPatch) -> None:
    import numpy as np

    from cnfutures import pricing
    from cnfutures._kernels import american as ak
    from cnfutures.errors import PricingError

    def broken(F, K, T, r, sigma, w, out):  # type: ignore[no-untyped-def]
        out[:] = np.array([0.0, np.nan])[: out.shape[0]]  # what the BAW kernel gave for r < 0 puts

    monkeypatch.setattr(ak, "american_baw_nb", broken)
    with pytest.raises(PricingError, match=r"element 0 .* came out 0.0 against the European"):
        pricing.american(np.array([100.0, 90.0]), 100.0, 1.0, 0.05, 0.3, "put", method="baw")
    out = pricing.american(
        np.array([100.0, 90.0]), 100.0, 1.0, 0.05, 0.3, "put", method="baw", on_error="nan"
    )
    assert np.isnan(out).all()


def test_align_with_different_key_types_is_a_typed_error() -> None:
    a = pl.DataFrame({"date": [dt.datetime(2025, 6, 3, 15)], "x": [1.0]}).with_columns(
        pl.col("date").dt.replace_time_zone("Asia/Shanghai")
    )
    b = pl.DataFrame({"date": [dt.datetime(2025, 6, 3, 10)], "y": [2.0]})
    # before: polars SchemaError
    with pytest.raises(InputError, match=r"time_zone='Asia/Shanghai'.*one key type"):
        hedging.align(a, b)
    with pytest.raises(InputError, match=r"left.date is Date but right.date is Datetime"):
        hedging.align(pl.DataFrame({"date": D[:1], "x": [1.0]}), b)


def test_revalue_collateral_checks_its_haircut_and_amounts() -> None:
    from cnfutures.access import revalue_collateral

    fx = pl.DataFrame({"date": D[:2], "usd_cny": [7.1, 7.2]})
    for h in (5.0, -1.0, 0.0, float("nan")):  # before: 5.0 gave 5x the collateral value
        with pytest.raises(InputError, match="haircut"):
            revalue_collateral(1000.0, fx, haircut=h)
    amounts = pl.DataFrame({"date": [D[0], D[0]], "usd_amount": [1000.0, 2000.0]})
    with pytest.raises(DataError, match="usd_amount: duplicate date"):
        revalue_collateral(amounts, fx)
    with pytest.raises(InputError, match="inf"):
        revalue_collateral(pl.DataFrame({"date": D[:1], "usd_amount": [float("inf")]}), fx)
    out = revalue_collateral(1000.0, fx, haircut=0.9)
    assert out["collateral_cny"].to_list() == pytest.approx([1000 * 7.1 * 0.9, 1000 * 7.2 * 0.9])


def test_margin_for_a_contract_not_listed_that_day_is_an_error() -> None:
    from cnfutures.access import Investor, margin_requirement
    from cnfutures.errors import UnknownContract

    inv = Investor("osnbp")
    # before: margin was computed for sc2505 after it expired and for sc2809 before it listed
    with pytest.raises(UnknownContract, match=r"'sc2505' is not listed on 2025-07-01"):
        margin_requirement({"sc2505": 2}, {"sc2505": 500.0}, "2025-07-01", inv)
    with pytest.raises(UnknownContract, match=r"'sc2809' is not listed on 2025-06-03"):
        margin_requirement({"sc2809": 2}, {"sc2809": 500.0}, "2025-06-03", inv)
    m = margin_requirement({"sc2509": 2}, {"sc2509": 500.0}, "2025-06-03", inv)
    assert m.cny == pytest.approx(2 * 500.0 * 1000 * 0.11)  # the margin_requirement docstring's 11 %


def test_monte_carlo_caps_with_estimates() -> None:
    from cnfutures import simulate
    from cnfutures.access import Investor
    from cnfutures.backtest import Exposure, HedgePolicy
    from cnfutures.risk import hedge_risk

    # before: the frame (or the fan tracks) was allocated, far beyond memory, with no cap
    with pytest.raises(InputError, match=r"rows, above the cap of 20,000,000: about .* GB.*allow_large=True"):
        simulate.market("sc", "2025-06-02", n_days=250, n_paths=100_000, seed=1)
    with pytest.raises(InputError, match=r"path-days, above the cap of 25,000,000: about .* min .* GB"):
        hedge_risk(
            Exposure(1e5, "short", "benchmark"),
            HedgePolicy("sc"),
            Investor("qfi"),
            start="2025-01-02",
            n_days=30,
            n_paths=1_000_000,
            seed=3,
        )
    assert simulate.market("sc", "2025-06-02", n_days=5, n_paths=2, seed=1)["path"].n_unique() == 2


def test_contracts_needed_takes_numbers_only() -> None:
    # before: '1e6' (a string) and True (a bool) were sized as 1,000,000 and 1 units; an
    # infinite spot price with tail=True raised a bare OverflowError
    for bad in ("1e6", True, None):
        with pytest.raises(InputError, match="exposure_quantity"):
            hedging.contracts_needed(bad, 1.0, "sc")  # type: ignore[arg-type]
    with pytest.raises(InputError, match="spot_price has inf"):
        hedging.contracts_needed(1e6, 1.0, "sc", tail=True, spot_price=float("inf"), futures_price=500.0)
    assert hedging.contracts_needed(1_000_000, 0.8, "sc").lots == 800  # 0.8 x 1e6 bbl / 1000 bbl per lot


def test_sweep_points_are_capped() -> None:
    from cnfutures.access import Investor
    from cnfutures.backtest import Exposure, HedgePolicy
    from cnfutures.sweeps import SimulatedMarket, SweepSpec, sweep

    spec = SweepSpec(
        SimulatedMarket("sc", "2025-01-02", "2025-03-31", seed=1),
        Exposure(1e5, "short", "brent"),
        HedgePolicy("sc"),
        Investor("osbp_client"),
    )
    grid = {"ratio": [i / 1000 for i in range(1000)], "band": [float(b) for b in range(200)]}
    # before: the 200,000-point parameter frame was built and the sweep started, hours long
    with pytest.raises(
        InputError, match=r"200,000 points, above the cap of 100,000: about .* h on .*allow_large=True"
    ):
        sweep(spec, grid, executor="serial")


def test_import_parity_rejects_infinite_prices() -> None:
    dom = pl.DataFrame({"date": D[:2], "settle": [500.0, 501.0]})
    fx = pl.DataFrame({"date": D[:2], "usd_cny": [7.1, 7.2]})
    # before: an infinite benchmark gave parity 0.0 and premium -inf
    with pytest.raises(InputError, match=r"benchmark.price has inf at row 1"):
        hedging.import_parity(
            dom, pl.DataFrame({"date": D[:2], "price": [70.0, float("inf")]}), fx, tax_inclusive=False
        )
    with pytest.raises(InputError, match=r"domestic.settle has inf"):
        hedging.import_parity(
            dom.with_columns(settle=pl.Series([float("inf"), 1.0])),
            pl.DataFrame({"date": D[:2], "price": [70.0, 71.0]}),
            fx,
            tax_inclusive=False,
        )


def test_account_rejects_impossible_positions_and_settles() -> None:
    from cnfutures.access import Account

    # before: float lots and an infinite or negative previous settle were accepted
    with pytest.raises(InputError, match="lots must be a whole number"):
        Account(positions={"sc2509": 1.5})  # type: ignore[dict-item]
    with pytest.raises(InputError, match=r"prev_settle\['sc2509'\] has inf"):
        Account(prev_settle={"sc2509": float("inf")})
    with pytest.raises(InputError, match=r"prev_settle\['sc2509'\] has -480.0"):
        Account(prev_settle={"sc2509": -480.0})
    assert Account(positions={"SC2509": 3}, prev_settle={"sc2509": 480.3}).positions == {"sc2509": 3}
