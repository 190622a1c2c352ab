"""FX revaluation of the CNY an account holds (issues 17/19), and a QFI's CNY collateral.

The account keeps variation-margin gains as CNY cash, and a QFI's margin is CNY: a USD
investor's wealth moves with USD/CNY on those balances. The kernel books
``CNY held at the previous close × (1/FX_d - 1/FX_{d-1})`` [USD] into ``fx_revaluation_usd``
and the net P&L. The expected values here are worked by hand (constant futures prices, so
the variation margin is known), or follow from the accounting identity

    Σ net P&L = USD value of the final holdings (CNY cash and CNY collateral at the last
    fixing + USD collateral) - net USD sent + Σ exposure P&L - Σ funding,

which holds because every USD sent to the account either becomes a holding, or is a cost.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cnfutures._kernels import settlement as k
from tests.test_backtest_kernel import random_market


def _book(
    settle: np.ndarray, fx: np.ndarray, want: np.ndarray, *, cny_margin: float, haircut: float = 0.95,
    margin: float = 0.10, fees: float = 0.0, slippage: float = 0.0, commission: float = 0.0,
    fx_spread: float = 0.0, funding_rate: float = 0.0, expo: np.ndarray | None = None,
    collateral_fx: np.ndarray | None = None, basis: np.ndarray | None = None, jit: bool = True,
    exec_px: np.ndarray | None = None, target: np.ndarray | None = None, band: float = 0.0,
) -> tuple[np.ndarray, np.ndarray]:
    """Book one path of a ``[K, D]`` market (limits off) and return (ledger, summary row)."""
    settle = np.ascontiguousarray(np.atleast_2d(settle), dtype=np.float64)
    K, D = settle.shape
    z = np.zeros((K, D))
    inf = np.full((1, K, D), np.inf)
    m = k.PathArrays(
        settle[None].copy(), (settle if exec_px is None else exec_px)[None].copy(), inf, -inf,
        np.ascontiguousarray(np.atleast_2d(want), dtype=np.float64),
        np.ascontiguousarray(np.atleast_2d(fx), dtype=np.float64),
        np.zeros((1, D)) if expo is None else np.ascontiguousarray(np.atleast_2d(expo), dtype=np.float64),
    )
    r = k.ContractRules(z + margin, z + np.inf, z + np.inf, z + fees, z.copy(), z + fees, z.copy())
    s = k.DaySchedule(
        np.zeros(D, np.int64) if target is None else target, np.zeros(D, np.int64), np.full(D, 1 / 365),
        np.full(D, haircut),
        collateral_fx=np.zeros(0) if collateral_fx is None else collateral_fx,
        conversion_basis=np.zeros(0) if basis is None else basis,
    )
    c = k.BookParams(1000.0, slippage, band, commission, fx_spread, 0.2, 0.5, funding_rate, cny_margin)
    led, summ = np.zeros((k.N_LEDGER, D)), np.zeros((1, k.N_SUMMARY))
    out = k.BookOutput(led, summ, np.zeros((0, k.N_TRACK, 0)))
    (k.book_paths_nb if jit else k.book_paths)(m, r, s, c, out)
    return led, summ[0]


@pytest.mark.parametrize("jit", [True, False])
def test_qfi_cny_margin_revalued_by_hand(jit: bool) -> None:
    # 2 lots long at a constant 500 CNY/unit, 1000 units/lot, margin 10 %, buffer 20 %.
    # Day 0: requirement 2 × 500 × 1000 × 0.10 = 100,000 CNY; the QFI buys 120,000 CNY of
    # margin at 7.0: 17,142.857 USD posted. Prices do not move: no VM, no further call or
    # release (equity 120,000 in [100,000, 150,000]) whatever FX does.
    # Day 1 (7.2): 120,000 × (1/7.2 - 1/7.0) = 16,666.667 - 17,142.857 = -476.190 USD.
    # Day 2 (6.9): 120,000 × (1/6.9 - 1/7.2) = 17,391.304 - 16,666.667 = +724.638 USD.
    fx = np.array([7.0, 7.2, 6.9])
    led, summ = _book(np.full(3, 500.0), fx, np.full(3, 2.0), cny_margin=1.0, jit=jit)
    exp = [0.0, 120_000 / 7.2 - 120_000 / 7.0, 120_000 / 6.9 - 120_000 / 7.2]
    np.testing.assert_allclose(led[k.L_FXREVAL], exp, rtol=1e-12, atol=1e-9)
    np.testing.assert_allclose(led[k.L_NET], exp, rtol=1e-12, atol=1e-9)
    np.testing.assert_allclose(led[k.L_CALL], [120_000 / 7.0, 0.0, 0.0], rtol=1e-12)
    np.testing.assert_allclose(led[k.L_EQUITY], 120_000.0, rtol=1e-12)  # CNY margin: fixed in CNY
    np.testing.assert_allclose(led[k.L_COLL], 120_000 / fx, rtol=1e-12)  # its USD value floats
    assert summ[k.S_FXREVAL] == pytest.approx(120_000 / 6.9 - 120_000 / 7.0, rel=1e-12)
    assert summ[k.S_NET] == pytest.approx(120_000 / 6.9 - 120_000 / 7.0, rel=1e-12)
    assert summ[k.S_CALLS] == 0.0


@pytest.mark.parametrize("jit", [True, False])
def test_usd_route_vm_gain_held_in_cny_revalued_by_hand(jit: bool) -> None:
    # USD collateral (haircut 0.95). 2 lots long; settlement 500 → 510 on day 1: VM
    # 2 × 10 × 1000 = 20,000 CNY, kept as cash (no release: equity 20,000 + 120,000 × 7.2/7.0
    # = 143,428.6 ≤ 1.5 × 102,000). Day 1: no CNY held overnight → revaluation 0; hedge
    # 20,000 / 7.2. Day 2 (price flat, FX 6.9): 20,000 × (1/6.9 - 1/7.2) = 120.773 USD; the
    # collateral counts 120,000 × 6.9/7.0 = 118,285.7 + 20,000 ≥ 102,000: no call.
    fx = np.array([7.0, 7.2, 6.9])
    led, summ = _book(np.array([500.0, 510.0, 510.0]), fx, np.full(3, 2.0), cny_margin=0.0, jit=jit)
    np.testing.assert_allclose(led[k.L_VM], [0.0, 20_000.0, 0.0])
    np.testing.assert_allclose(led[k.L_CASH], [0.0, 20_000.0, 20_000.0])
    exp = [0.0, 0.0, 20_000 / 6.9 - 20_000 / 7.2]
    np.testing.assert_allclose(led[k.L_FXREVAL], exp, rtol=1e-12, atol=1e-9)
    np.testing.assert_allclose(led[k.L_NET], [0.0, 20_000 / 7.2, exp[2]], rtol=1e-12, atol=1e-9)
    # the gain is worth 20,000 / 6.9 USD at the end: hedge P&L at the day's FX + revaluation
    assert summ[k.S_NET] == pytest.approx(20_000 / 6.9, rel=1e-12)
    np.testing.assert_allclose(led[k.L_COLL], 120_000 / (0.95 * 7.0), rtol=1e-12)  # USD: fixed


def _identity_residual(led: np.ndarray, fx: np.ndarray, expo: np.ndarray) -> float:
    """Σ net - (cash_D / FX_D + collateral_D [USD at the fixing] - funded_D + Σ expo - Σ funding)."""
    holdings = led[k.L_CASH, -1] / fx[-1] + led[k.L_COLL, -1]
    rhs = holdings - led[k.L_FUNDED, -1] + expo.sum() - led[k.L_FUNDING].sum()
    return float(led[k.L_NET].sum() - rhs)


@settings(max_examples=25, deadline=None)
@given(
    st.integers(0, 10_000), st.sampled_from([0.0, 1.0]), st.booleans(), st.floats(0.0, 0.003),
)
def test_net_pnl_equals_final_holdings_less_usd_sent(seed: int, cny: float, cnh: bool, cfx: float) -> None:
    # random markets and policies (wanted lots, band, margin rate, rolls over three contracts,
    # slippage, fees, commission, FX spread, funding), USD collateral or a QFI's CNY collateral,
    # with or without an offshore channel rate and a spread on CNY margin
    m, sc = random_market(seed)
    rng = np.random.default_rng(seed + 1)
    D = m["fx"].size
    m["fx"] = 7.0 * np.exp(np.cumsum(rng.normal(0, 0.01, D)))  # FX trending, not noise around 7
    basis = 1.0 + rng.normal(0, 0.002, D) if cnh else None
    coll_fx = np.full(D, cfx) if cny == 1.0 else None
    for jit in (True, False):
        led, summ = _book(
            m["settle"][0], m["fx"], m["want"], cny_margin=cny, haircut=sc["haircut"], margin=0.12,
            fees=20.0, slippage=sc["slippage"], commission=sc["commission"], fx_spread=sc["fx_spread"],
            funding_rate=sc["funding_rate"], expo=m["expo"], collateral_fx=coll_fx, basis=basis,
            jit=jit, exec_px=m["exec"][0], target=m["target"], band=sc["band"],
        )  # fmt: skip
        scale = np.abs(led[k.L_CALL]).sum() + np.abs(led[k.L_CONVERT]).sum() + np.abs(m["expo"]).sum()
        assert abs(_identity_residual(led, m["fx"], m["expo"][0])) <= 1e-9 * scale
        assert summ[k.S_NET] == pytest.approx(led[k.L_NET].sum(), rel=1e-12, abs=1e-6)
        assert summ[k.S_FXREVAL] == pytest.approx(led[k.L_FXREVAL].sum(), rel=1e-12, abs=1e-6)


@settings(max_examples=15, deadline=None)
@given(st.integers(0, 10_000))
def test_qfi_margin_calls_unchanged_by_fx_when_prices_do_not_move(seed: int) -> None:
    # constant prices, a constant position: the QFI's CNY margin does not float with FX, so
    # a 10 %-a-day FX walk calls no margin (as with a constant FX); USD collateral (haircut 1
    # also) is called when USD/CNY falls
    rng = np.random.default_rng(seed)
    D = 40
    fx_flat = np.full(D, 7.0)
    fx_walk = 7.0 * np.exp(np.cumsum(rng.normal(0, 0.10, D)))
    want = np.full(D, float(rng.integers(1, 50)))
    settle = np.full(D, 500.0)
    flat, s_flat = _book(settle, fx_flat, want, cny_margin=1.0, haircut=1.0)
    walk, s_walk = _book(settle, fx_walk, want, cny_margin=1.0, haircut=1.0)
    assert s_walk[k.S_CALLS] == s_flat[k.S_CALLS] == 0.0
    np.testing.assert_array_equal(walk[k.L_MCALL], flat[k.L_MCALL])
    np.testing.assert_array_equal(walk[k.L_EQUITY], flat[k.L_EQUITY])  # CNY, unchanged
    assert (walk[k.L_CALL][1:] == 0.0).all() and (walk[k.L_RELEASE] == 0.0).all()
    # its USD wealth does move: the whole P&L is the revaluation of the CNY margin
    coll_cny = walk[k.L_EQUITY][0]
    assert s_walk[k.S_NET] == pytest.approx(coll_cny / fx_walk[-1] - coll_cny / fx_walk[0], rel=1e-10)
    # USD falling 3 % a day: USD collateral is short of the requirement from day 7 (1.2 ×
    # 0.97^7 = 0.97 < 1); the QFI's CNY margin is not
    fx_down = 7.0 * 0.97 ** np.arange(D)
    _, s_usd = _book(settle, fx_down, want, cny_margin=0.0, haircut=1.0)
    _, s_qfi = _book(settle, fx_down, want, cny_margin=1.0, haircut=1.0)
    assert s_usd[k.S_CALLS] >= 1.0 and s_qfi[k.S_CALLS] == 0.0


@pytest.mark.parametrize("route", ["qfi", "osbp_client"])
def test_identity_holds_through_the_engine_with_option_legs(route: str) -> None:
    # a futures hedge with a bought collar, through the whole engine: the options' value is CNY
    # held too (revalued), so the final holdings include it
    from cnfutures.access import Investor
    from cnfutures.backtest.engine import run
    from cnfutures.backtest.model import Exposure, HedgePolicy, Market, collar

    m = Market.sample("sc", "2024-05-06", "2025-06-06")
    pol = HedgePolicy("sc", options=collar(1.05, 0.95), option_vol=0.35)
    r = run(m, Exposure(1_000_000, "short", "brent"), pol, Investor(route), start="2024-06-03")
    led = r.ledger
    fx = led["usd_cny"].to_numpy()
    hold = (led["cash_cny"][-1] + led["option_value_cny"][-1]) / fx[-1] + led["collateral_usd"][-1]
    rhs = hold - led["usd_posted"][-1] + led["exposure_pnl_usd"].sum() - led["funding_usd"].sum()
    assert float(led["net_pnl_usd"].sum()) == pytest.approx(rhs, rel=1e-12, abs=1e-6)
    assert abs(r["fx_revaluation_usd"]) > 1e4  # material: a year of CNY balances and FX moves
    assert r["fx_revaluation_usd"] == pytest.approx(float(led["fx_revaluation_usd"].sum()), rel=1e-12)
