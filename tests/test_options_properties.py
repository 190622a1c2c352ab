"""Property tests of the option layer: strike grids, listed strikes, the short margin, implied vol."""

from __future__ import annotations

import itertools
import math

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cnfutures import pricing
from cnfutures.market.options import option_product, short_margin
from cnfutures.valuation import implied_vol_american

PROFILE = settings(
    max_examples=40, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow]
)
products = st.sampled_from(["sc", "i", "ru"])


@PROFILE
@given(products, st.floats(1.0, 60000.0), st.floats(0.0, 0.5))
def test_grid_strikes_are_on_grid_and_consecutive(prod: str, centre: float, width: float) -> None:
    g = option_product(prod).grid()
    ks = g.strikes(centre * (1 - width), centre * (1 + width))
    assert all(g.on_grid(k) for k in ks)
    for a, b in itertools.pairwise(ks):
        assert math.isclose(b - a, g.interval(a, "up"))  # no grid strike skipped
    lo, hi = g.nearest(centre)
    assert g.on_grid(lo) and g.on_grid(hi) and (lo <= centre <= hi or lo == hi == g.interval(0.0, "up"))


@PROFILE
@given(st.floats(1.0, 2000.0), st.floats(1.0, 2000.0), st.floats(0.0, 200.0), st.sampled_from([1, -1]),
       st.floats(0.02, 0.5), st.floats(0.0, 1.0))  # fmt: skip
def test_short_margin_bounds(F: float, K: float, prem: float, w: int, rate: float, floor: float) -> None:
    m = short_margin(prem, F, K, w, 100.0, rate, floor)
    fm = F * 100.0 * rate
    assert prem * 100.0 + floor * fm - 1e-9 <= m <= prem * 100.0 + max(fm, floor * fm) + 1e-9
    if w * (F - K) >= 0:  # at or in the money: no reduction
        assert math.isclose(m, prem * 100.0 + fm, rel_tol=1e-12)


@PROFILE
@given(st.floats(-0.5, 0.5), st.floats(0.02, 2.0), st.floats(0.05, 1.5), st.floats(0.0, 0.1),
       st.sampled_from([1.0, -1.0]))  # fmt: skip
def test_american_implied_vol_round_trip(lnk: float, T: float, sigma: float, r: float, w: float) -> None:
    F = 500.0
    K = F * math.exp(lnk)
    p = float(pricing.american(F, K, T, r, sigma, w))
    if p <= max(w * (F - K), 0.0) + 1e-9 * F:  # exercised at once: no volatility is implied
        return
    iv = float(implied_vol_american(p, F, K, T, r, w)[0])
    # vega can be tiny far out of the money: compare prices, and vols where vega is material
    assert math.isclose(float(pricing.american(F, K, T, r, iv, w)), p, rel_tol=1e-10, abs_tol=1e-10 * F)
    vega = float(pricing.black76_greeks(F, K, T, r, sigma, w)["vega"][0])
    if vega > 1e-3 * F:
        assert abs(iv - sigma) < 1e-7
    assert np.isfinite(iv)
