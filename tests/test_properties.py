"""Property tests (hypothesis): invariants that must hold for every input (issue 15).

The bounds are textbook no-arbitrage results (Hull, *Options, Futures and Other
Derivatives*, ch. 11 and 18; Black 1976), not outputs of the code under test:

* a European option on a futures price F is worth at least its discounted intrinsic value
  ``max(w (F - K), 0) e^(-rT)`` and at most ``F e^(-rT)`` (call) / ``K e^(-rT)`` (put);
  put-call parity ``C - P = (F - K) e^(-rT)`` holds for Black-76 and Bachelier alike;
* an American option is worth at least the European one and at least the intrinsic value;
  with ``r <= 0`` it equals the European one (early exercise never pays);
* an implied volatility either reproduces the volatility that priced the option or comes
  with a non-OK status (never a wrong volatility with status OK, never 0);
* validation is idempotent, and order-dependent computations (price changes, weekly
  sampling) never span a gap, a roll, a duplicated or a reversed date.

Example counts are modest so the default run stays fast: ``CNFUTURES_HYPOTHESIS_EXAMPLES``
raises them (e.g. 2000 for a nightly run). Runs are derandomised: CI sees the same cases.
"""

from __future__ import annotations

import datetime as dt
import math
import os

import numpy as np
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cnfutures import hedging, pricing, validation
from cnfutures.errors import CnFuturesError, DataError

EXAMPLES = int(os.environ.get("CNFUTURES_HYPOTHESIS_EXAMPLES", "60"))
PROFILE = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
REL = 1e-9

prices = st.floats(1.0, 5000.0)
moneyness = st.floats(-2.5, 2.5)  # ln(K / F)
maturities = st.floats(1.0 / 365.0, 5.0)
rates = st.floats(-0.05, 0.2)  # negative, zero and positive
vols = st.floats(0.01, 3.0)
kinds = st.sampled_from(["call", "put"])


def _bounds(F: float, K: float, T: float, r: float, w: float) -> tuple[float, float]:
    df = math.exp(-r * T)
    lower = max(w * (F - K), 0.0) * df
    upper = (F if w > 0 else K) * df
    return lower, upper


# ------------------------------------------------------------------ European prices
@PROFILE
@given(F=prices, m=moneyness, T=maturities, r=rates, s=vols, kind=kinds)
def test_black76_within_no_arbitrage_bounds(
    F: float, m: float, T: float, r: float, s: float, kind: str
) -> None:
    K = F * math.exp(m)
    w = 1.0 if kind == "call" else -1.0
    v = pricing.black76(F, K, T, r, s, kind)
    lower, upper = _bounds(F, K, T, r, w)
    assert lower * (1 - REL) - 1e-12 <= v <= upper * (1 + REL)
    c = pricing.black76(F, K, T, r, s, "call")
    p = pricing.black76(F, K, T, r, s, "put")
    assert c - p == pytest.approx((F - K) * math.exp(-r * T), rel=1e-9, abs=1e-9 * max(F, K))


@PROFILE
@given(
    F=st.floats(-50.0, 5000.0),
    dK=st.floats(-500.0, 500.0),
    T=maturities,
    r=rates,
    s=st.floats(0.1, 2000.0),
    kind=kinds,
)
def test_bachelier_lower_bound_and_parity(
    F: float, dK: float, T: float, r: float, s: float, kind: str
) -> None:
    K = F + dK
    w = 1.0 if kind == "call" else -1.0
    v = pricing.bachelier(F, K, T, r, s, kind)
    lower = max(w * (F - K), 0.0) * math.exp(-r * T)
    assert v >= lower - 1e-9 * max(1.0, abs(F), abs(K))
    c = pricing.bachelier(F, K, T, r, s, "call")
    p = pricing.bachelier(F, K, T, r, s, "put")
    assert c - p == pytest.approx((F - K) * math.exp(-r * T), rel=1e-9, abs=1e-9 * max(1.0, abs(F), abs(K)))


# ------------------------------------------------------------------ American prices
@PROFILE
@given(
    F=prices,
    m=moneyness,
    T=maturities,
    r=rates,
    s=vols,
    kind=kinds,
    method=st.sampled_from(["baw", "bjs", "bjs2002"]),
)
def test_american_at_least_european_and_intrinsic(
    F: float, m: float, T: float, r: float, s: float, kind: str, method: str
) -> None:
    K = F * math.exp(m)
    w = 1.0 if kind == "call" else -1.0
    a = pricing.american(F, K, T, r, s, kind, method=method)
    e = pricing.black76(F, K, T, r, s, kind)
    tol = 1e-9 * max(F, K)
    assert math.isfinite(a)
    assert a >= e - tol
    assert a >= max(w * (F - K), 0.0) - tol
    upper = (F if w > 0 else K) * max(1.0, math.exp(-r * T))
    assert a <= upper + tol
    if r <= 0.0:
        assert a == e  # early exercise never pays with r <= 0


@PROFILE
@given(
    F=prices,
    m=st.floats(-1.0, 1.0),
    T=maturities,
    r=rates,
    s=vols,
    kind=kinds,
    method=st.sampled_from(["crr", "lr"]),
)
def test_tree_premium_is_never_negative(
    F: float, m: float, T: float, r: float, s: float, kind: str, method: str
) -> None:
    K = F * math.exp(m)
    w = 1.0 if kind == "call" else -1.0
    prem = pricing.early_exercise_premium(F, K, T, r, s, kind, method=method, steps=151)
    a = pricing.american(F, K, T, r, s, kind, method=method, steps=151)
    assert prem >= -1e-12 * max(F, K)
    assert a >= max(w * (F - K), 0.0) - 1e-9 * max(F, K)
    if r <= 0.0:
        assert prem == 0.0


# ------------------------------------------------------------------ implied volatility
@PROFILE
@given(F=prices, m=moneyness, T=maturities, r=rates, s=st.floats(0.005, 8.0), kind=kinds)
def test_black76_iv_round_trip_or_not_ok(F: float, m: float, T: float, r: float, s: float, kind: str) -> None:
    K = F * math.exp(m)
    price = pricing.black76(F, K, T, r, s, kind)
    df = pricing.implied_vol(price, F, K, T, r, kind, on_error="nan")
    iv, status = df["implied_vol"][0], df["status"][0]
    if status == pricing.IVStatus.OK:
        assert iv == pytest.approx(s, rel=1e-6)
    else:
        assert math.isnan(iv)  # a failure is never a number, and never 0


@PROFILE
@given(
    F=st.floats(-50.0, 5000.0),
    h=st.floats(-8.0, 8.0),
    T=maturities,
    r=rates,
    s=st.floats(0.1, 2000.0),
    kind=kinds,
)
def test_bachelier_iv_round_trip_or_not_ok(
    F: float, h: float, T: float, r: float, s: float, kind: str
) -> None:
    K = F - h * s * math.sqrt(T)
    price = pricing.bachelier(F, K, T, r, s, kind)
    df = pricing.implied_vol(price, F, K, T, r, kind, model="bachelier", on_error="nan")
    iv, status = df["implied_vol"][0], df["status"][0]
    if status == pricing.IVStatus.OK:
        assert iv == pytest.approx(s, rel=1e-6)
    else:
        assert math.isnan(iv)


# ------------------------------------------------------------------ validation
BASE = dt.date(2025, 1, 1)
day_offsets = st.lists(st.integers(0, 60), min_size=1, max_size=25)
rate_values = st.one_of(st.floats(6.5, 7.5), st.just(0.0), st.just(-1.0), st.just(math.inf), st.none())


@PROFILE
@given(offsets=day_offsets, data=st.data())
def test_fx_validation_is_idempotent(offsets: list[int], data: st.DataObject) -> None:
    rates_ = data.draw(st.lists(rate_values, min_size=len(offsets), max_size=len(offsets)))
    fx = pl.DataFrame(
        {"date": [BASE + dt.timedelta(days=o) for o in offsets], "usd_cny": rates_},
        schema={"date": pl.Date, "usd_cny": pl.Float64},
    )
    try:
        once = validation.check_fx(fx)
    except CnFuturesError:
        bad = fx["usd_cny"].is_null() | ~(fx["usd_cny"] > 0) | fx["usd_cny"].is_infinite()
        assert bool(bad.any()) or fx["date"].is_duplicated().any()
        return
    assert validation.check_fx(once).equals(once)
    assert once["date"].is_sorted() and once["date"].n_unique() == once.height
    assert sorted(once["usd_cny"].to_list()) == sorted(fx["usd_cny"].to_list())  # nothing dropped or changed


@PROFILE
@given(offsets=day_offsets)
def test_check_keys_sorted_is_idempotent(offsets: list[int]) -> None:
    f = pl.DataFrame({"date": [BASE + dt.timedelta(days=o) for o in offsets], "v": list(range(len(offsets)))})
    try:
        once = validation.check_keys(f, sort=True)
    except DataError:
        assert f["date"].is_duplicated().any()
        return
    assert validation.check_keys(once).equals(once)  # sorted output passes the strict check
    assert validation.check_keys(once, sort=True).equals(once)


# ------------------------------------------------------------------ order-dependent series
@PROFILE
@given(
    offsets=st.lists(st.integers(0, 40), min_size=2, max_size=30),
    data=st.data(),
)
def test_changes_never_span_a_gap_a_roll_or_a_reversed_date(offsets: list[int], data: st.DataObject) -> None:
    n = len(offsets)
    px = data.draw(st.lists(st.one_of(st.floats(100.0, 900.0), st.none()), min_size=n, max_size=n))
    rolls = data.draw(st.lists(st.booleans(), min_size=n, max_size=n))
    dates = [BASE + dt.timedelta(days=o) for o in offsets]
    frame = pl.DataFrame(
        {"date": dates, "settle": px, "roll": rolls},
        schema={"date": pl.Date, "settle": pl.Float64, "roll": pl.Boolean},
    )
    try:
        out = hedging.changes(frame)
    except DataError:
        # only a duplicated or a reversed date may be refused
        assert frame["date"].is_duplicated().any() or not frame["date"].is_sorted()
        return
    assert out["date"].is_sorted() and out["date"].n_unique() == n
    for t, (ch, status) in enumerate(zip(out["change"].to_list(), out["status"].to_list(), strict=True)):
        if ch is None:
            assert status != "ok"
            continue
        assert t > 0 and px[t] is not None and px[t - 1] is not None and not rolls[t]
        assert ch == pytest.approx(px[t] - px[t - 1])


@PROFILE
@given(offsets=st.lists(st.integers(0, 120), min_size=1, max_size=60, unique=True), data=st.data())
def test_weekly_rows_never_span_more_than_their_week(offsets: list[int], data: st.DataObject) -> None:
    n = len(offsets)
    dates = [BASE + dt.timedelta(days=o) for o in offsets]
    px = data.draw(st.lists(st.floats(100.0, 900.0), min_size=n, max_size=n))
    rolls = data.draw(st.lists(st.booleans(), min_size=n, max_size=n))
    frame = pl.DataFrame({"date": dates, "settle": px, "roll": rolls})
    w = hedging.weekly(frame)
    assert w["date"].is_sorted() and w["date"].n_unique() == w.height
    assert int(w["n_days"].sum()) == n
    # a full grid: consecutive Fridays, an empty week kept as a null row with its status
    assert all(int(x) == 7 for x in w["date"].diff().dt.total_days().drop_nulls())
    for d, last, st_ in zip(w["date"].to_list(), w["last_date"].to_list(), w["status"].to_list(),
                            strict=True):
        assert d.weekday() == 4  # Friday
        if last is None:
            assert st_ == "no_data"
        else:
            assert st_ == "ok" and d - dt.timedelta(days=7) < last <= d
    # a weekly change is null wherever the week holds a roll, and never spans two weeks
    ch = hedging.changes(w)
    rolled = w["roll"].fill_null(False).to_numpy()
    assert all(c is None for c, r in zip(ch["change"].to_list(), rolled, strict=True) if r)
    for d, frm, c in ch.select("date", "from_date", "change").rows():
        if c is not None:
            assert d - frm == dt.timedelta(days=7)


@PROFILE
@given(
    usd=st.floats(-1e7, 1e7),
    rate=st.one_of(
        st.floats(0.5, 12.0), st.just(0.0), st.floats(-5.0, -0.01), st.just(np.inf), st.just(np.nan)
    ),
)
def test_to_usd_is_exact_or_an_error(usd: float, rate: float) -> None:
    try:
        v = hedging.to_usd(usd, rate)
    except CnFuturesError:
        assert not (math.isfinite(rate) and rate > 0)
        return
    assert math.isfinite(rate) and rate > 0
    assert v == usd / rate


# ------------------------------------------------------------------ backtest ledger identities
@pytest.fixture(scope="module")
def _sample_market() -> object:
    from cnfutures.backtest import Market

    return Market.sample("sc", "2024-03-01", "2024-09-30", seed=5)


@settings(PROFILE, max_examples=min(EXAMPLES, 25))
@given(
    ratio=st.floats(0.0, 1.5),
    band=st.sampled_from([0.0, 5.0, 50.0]),
    execution=st.sampled_from(["settle", "open", "close"]),
    slippage=st.floats(0.0, 3.0),
    roll_days=st.integers(1, 10),
    side=st.sampled_from(["short", "long"]),
    quantity=st.floats(1e4, 2e6),
)
def test_ledger_identities_hold_for_every_policy(
    _sample_market: object,
    ratio: float,
    band: float,
    execution: str,
    slippage: float,
    roll_days: int,
    side: str,
    quantity: float,
) -> None:
    from cnfutures.access import Investor
    from cnfutures.backtest import Exposure, HedgePolicy, run
    from cnfutures.frames.roll import RollRule

    pol = HedgePolicy(
        "sc",
        ratio=ratio,
        band=band,
        execution=execution,  # type: ignore[arg-type]
        slippage_ticks=slippage,
        roll=RollRule(kind="calendar", days_before_ltd=roll_days),
    )
    r = run(_sample_market, Exposure(quantity, side, "brent"), pol, Investor("osbp_client"))  # type: ignore[arg-type]
    led = r.ledger
    scale = max(1.0, float(led["exposure_pnl_usd"].abs().max() or 0.0))
    # every day: net = exposure + hedge - costs + FX revaluation of the CNY held (USD)
    diff = (
        led["exposure_pnl_usd"] + led["hedge_pnl_usd"] - led["costs_usd"] + led["fx_revaluation_usd"]
        - led["net_pnl_usd"]
    )
    assert float(diff.abs().max() or 0.0) <= 1e-9 * scale
    # the summary is the sum of the ledger
    for col in ("exposure_pnl_usd", "hedge_pnl_usd", "net_pnl_usd", "costs_usd", "fx_revaluation_usd"):
        assert r[col] == pytest.approx(float(led[col].sum()), rel=1e-9, abs=1e-6)
    # no non-finite number anywhere in the ledger (trade_price is NaN only on days with no trade)
    nums = led.select(pl.col(pl.Float64).exclude("trade_price")).to_numpy()
    assert np.isfinite(nums).all()
    traded = (led["trade_lots"] != 0) | (led["roll_lots"] != 0)
    assert led.filter(traded)["trade_price"].is_finite().all()
    # positions are whole lots, and a lot count moves only by trades and rolls
    lots = led["lots"].to_numpy()
    assert np.array_equal(lots, np.round(lots))
    assert (np.abs(lots) <= 2 * quantity * 1.5 / 1000 + 1).all()
