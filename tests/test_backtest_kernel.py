"""The booking kernel: a hand-worked ledger to the cent, the plain twin and a naive loop."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cnfutures._kernels import settlement as k
from tests.conftest import REFERENCE
from tests.naive_settlement import book as naive_book

FIELDS = {
    "lots": k.L_LOTS, "variation_margin_cny": k.L_VM, "fees_cny": k.L_FEES,
    "margin_required_cny": k.L_REQ, "cash_cny": k.L_CASH, "collateral_usd": k.L_COLL,
    "margin_call_usd": k.L_CALL, "release_usd": k.L_RELEASE, "converted_usd": k.L_CONVERT,
    "usd_posted": k.L_FUNDED, "hedge_pnl_usd": k.L_HEDGE, "costs_usd": k.L_COSTS,
    "limit_locked": k.L_LOCKED, "delayed_roll": k.L_DELAYED, "margin_call": k.L_MCALL,
    "contract": k.L_CONTRACT,
}  # fmt: skip


def _run(
    m: dict[str, np.ndarray], sc: dict[str, float], jit: bool = True, fn: Any = None
) -> tuple[np.ndarray, np.ndarray]:
    D = m["settle"].shape[2]
    led = np.zeros((k.N_LEDGER, D))
    summ = np.zeros((m["settle"].shape[0], k.N_SUMMARY))
    if fn is None:
        fn = k.book_paths_nb if jit else k.book_paths
    want, fx = np.atleast_2d(m["want"]), np.atleast_2d(m["fx"])
    fn(
        k.PathArrays(m["settle"], m["exec"], m["up"], m["dn"], want, fx, m["expo"]),
        k.ContractRules(m["margin"], m["pos"], m["olim"], m["fol"], m["for"], m["fcl"], m["fcr"]),
        k.DaySchedule(m["target"], m["forced"], m["dt"], np.full(m["dt"].shape[0], sc["haircut"])),
        k.BookParams(**{f: sc[f] for f in k.BookParams._fields if f in sc}),
        k.BookOutput(led, summ, np.zeros((0, k.N_TRACK, 0))),
        None,
    )
    return led, summ


def hand_market() -> tuple[dict[str, np.ndarray], dict[str, float]]:
    """Two contracts A (k=0) and B (k=1), four days, 10 units/lot, FX 7, 2 lots long wanted.

    Limits are 10 % of the previous settle. Fees 3 CNY/lot to open and to close, margin 10 %,
    haircut 0.9, buffer 0.2 (top up to 120 %), release above 150 %.

    Day 0: buy 2 A at 100. VM 0; fees 2×3 = 6 → cash −6 → convert 6/7 = 0.857 USD (cash 0).
      Requirement 2×100×10×0.10 = 200; equity 0 → post (1.2×200 − 0)/(0.9×7) = 240/6.3
      = 38.095 USD (initial margin: no margin-call flag). USD posted 0.857+38.095 = 38.95.
    Day 1: the schedule rolls to B, but A settles 90 = its down-limit (100×0.9): the sale is
      blocked → roll delayed, limit-locked. VM 2×(90−100)×10 = −200 → convert 200/7 = 28.571.
      Requirement 2×90×10×0.1 = 180; equity 38.095×6.3 = 240 (≥ 180, ≤ 1.5×180 = 270).
      USD posted 38.952+28.571 = 67.52.
    Day 2: A 95, B 97 (inside their bands): roll at settlement. VM 2×(95−90)×10 = 100 (both
      legs at settle: 0); fees 2×3 + 2×3 = 12 → cash 88. Requirement 2×97×10×0.1 = 194;
      equity 88 + 240 = 328 > 1.5×194 = 291 → release 328 − 1.2×194 = 95.2 CNY from the
      collateral: 95.2/6.3 = 15.111 USD; collateral 22.984. USD posted 67.524 − 15.111 = 52.41.
    Day 3: B 88 (down-limit 87.3). VM 2×(88−97)×10 = −180 → cash 88−180 = −92 → convert
      92/7 = 13.143. Requirement 2×88×10×0.1 = 176; equity 22.984×6.3 = 144.8 < 176 → margin
      call (176×1.2 − 144.8)/6.3 = 66.4/6.3 = 10.540 USD; collateral 33.52; posted 76.10.
    Hedge P&L = VM/7: 0, −28.57, 14.29, −25.71; costs = fees/7: 0.86, 0, 1.71, 0.
    """
    nan = math.nan
    settle = np.array([[[100.0, 90.0, 95.0, nan], [99.0, 99.0, 97.0, 88.0]]])
    prev = np.array([[[100.0, 100.0, 90.0, 95.0], [99.0, 99.0, 99.0, 97.0]]])
    up = np.floor(prev * 1.1 * 10 + 1e-9) / 10
    dn = np.ceil(prev * 0.9 * 10 - 1e-9) / 10
    z = np.zeros((2, 4))
    m = {
        "settle": settle, "exec": settle.copy(), "up": up, "dn": dn, "margin": z + 0.1, "pos": z + np.inf,
        "olim": z + np.inf, "fol": z + 3.0, "for": z.copy(), "fcl": z + 3.0, "fcr": z.copy(),
        "target": np.array([0, 1, 1, 1], np.int64), "forced": np.zeros(4, np.int64), "want": np.full(4, 2.0),
        "fx": np.full(4, 7.0), "dt": np.zeros(4), "expo": np.array([[0.0, 30.0, -15.0, 25.0]]),
    }  # fmt: skip
    sc = {
        "multiplier": 10.0, "slippage": 0.0, "band": 0.0, "commission": 0.0, "fx_spread": 0.0, "haircut": 0.9,
        "buffer": 0.2, "release_above": 0.5, "funding_rate": 0.0,
    }  # fmt: skip
    return m, sc


@pytest.mark.parametrize("jit", [True, False])
def test_hand_worked_ledger_to_the_cent(jit: bool) -> None:
    ref = pl.read_csv(REFERENCE / "ledger_hand.csv")
    led, summ = _run(*hand_market(), jit=jit)
    for name, row in FIELDS.items():
        got = np.round(led[row], 2)
        np.testing.assert_array_equal(got, ref[name].to_numpy().astype(float), err_msg=name)
    assert summ[0, k.S_CALLS] == 1 and summ[0, k.S_LOCKED] == 1 and summ[0, k.S_DELAYED] == 1


def random_market(seed: int, D: int = 60, K: int = 3) -> tuple[dict[str, np.ndarray], dict[str, float]]:
    rng = np.random.default_rng(seed)
    base = 500 * np.exp(np.cumsum(rng.normal(0, 0.03, D)))
    settle = np.round(base[None, :] * (1 + 0.01 * np.arange(K))[:, None], 1)
    prev = np.concatenate([settle[:, :1], settle[:, :-1]], axis=1)
    rate = 0.04
    up = np.floor(prev * (1 + rate) * 10 + 1e-9) / 10
    dn = np.ceil(prev * (1 - rate) * 10 - 1e-9) / 10
    settle = np.clip(settle, dn, up)
    exec_ = np.round(settle + rng.normal(0, 1, settle.shape), 1)
    target = np.minimum(np.arange(D) // (D // K + 1), K - 1).astype(np.int64)
    want = np.round(rng.normal(20, 15, D))
    z = np.zeros((K, D))
    m = {
        "settle": settle[None], "exec": exec_[None], "up": up[None], "dn": dn[None],
        "margin": z + rng.uniform(0.08, 0.15), "pos": z + 40.0, "olim": z + 25.0, "fol": z + 20.0,
        "for": z + 1e-4, "fcl": z + 20.0, "fcr": z + 1e-4, "target": target, "forced": np.zeros(D, np.int64),
        "want": want, "fx": 7 + rng.normal(0, 0.05, D), "dt": np.full(D, 1 / 365),
        "expo": rng.normal(0, 1000, (1, D)),
    }  # fmt: skip
    sc = {
        "multiplier": 1000.0, "slippage": 0.1, "band": float(rng.integers(0, 3)), "commission": 2.0,
        "fx_spread": 0.001, "haircut": 0.95, "buffer": 0.2, "release_above": 0.5, "funding_rate": 0.05,
    }  # fmt: skip
    return m, sc


def _naive(m: dict[str, np.ndarray], sc: dict[str, float]) -> list[dict[str, float]]:
    K, D = m["settle"].shape[1:]
    days = []
    for d in range(D):
        px = {
            c: {"settle": m["settle"][0, c, d], "exec": m["exec"][0, c, d], "up": m["up"][0, c, d],
                "dn": m["dn"][0, c, d], "margin": m["margin"][c, d], "pos": m["pos"][c, d],
                "olim": m["olim"][c, d], "fee_open_lot": m["fol"][c, d], "fee_open_rate": m["for"][c, d],
                "fee_close_lot": m["fcl"][c, d], "fee_close_rate": m["fcr"][c, d]}
            for c in range(K)
        }  # fmt: skip
        days.append({"target": int(m["target"][d]), "want": m["want"][d], "fx": m["fx"][d], "dt": m["dt"][d],
                     "expo": m["expo"][0, d], "px": px})  # fmt: skip
    return naive_book(days, **sc)


@settings(max_examples=15, deadline=None)
@given(st.integers(0, 10_000))
def test_kernel_equals_plain_twin_and_naive_loop(seed: int) -> None:
    m, sc = random_market(seed)
    led_j, s_j = _run(m, sc, jit=True)
    led_p, s_p = _run(m, sc, jit=False)
    np.testing.assert_array_equal(led_j, led_p)
    np.testing.assert_allclose(s_j, s_p, rtol=1e-12)
    ref = _naive(m, sc)
    for name, row in (("lots", k.L_LOTS), ("vm", k.L_VM), ("fees", k.L_FEES), ("req", k.L_REQ),
                      ("cash", k.L_CASH), ("coll", k.L_COLL), ("funded", k.L_FUNDED), ("net", k.L_NET),
                      ("locked", k.L_LOCKED), ("bound", k.L_BOUND), ("mcall", k.L_MCALL),
                      ("reval", k.L_FXREVAL), ("call", k.L_CALL), ("release", k.L_RELEASE)):  # fmt: skip
        np.testing.assert_allclose(led_j[row], [r[name] for r in ref], rtol=1e-9, atol=1e-6, err_msg=name)


@settings(max_examples=15, deadline=None)
@given(st.integers(0, 10_000))
def test_cny_margin_kernel_equals_plain_twin_and_naive_loop(seed: int) -> None:
    # a QFI: CNY collateral bought at the fixing, counting 1:1 (the naive loop books it apart)
    m, sc = random_market(seed)
    sc["cny_margin"] = 1.0
    led_j, s_j = _run(m, sc, jit=True)
    led_p, s_p = _run(m, sc, jit=False)
    np.testing.assert_array_equal(led_j, led_p)
    np.testing.assert_allclose(s_j, s_p, rtol=1e-12)
    ref = _naive(m, sc)
    for name, row in (("lots", k.L_LOTS), ("cash", k.L_CASH), ("coll", k.L_COLL), ("call", k.L_CALL),
                      ("release", k.L_RELEASE), ("funded", k.L_FUNDED), ("reval", k.L_FXREVAL),
                      ("net", k.L_NET), ("mcall", k.L_MCALL)):  # fmt: skip
        np.testing.assert_allclose(led_j[row], [r[name] for r in ref], rtol=1e-9, atol=1e-6, err_msg=name)
    assert s_j[0, k.S_FXREVAL] == pytest.approx(sum(r["reval"] for r in ref), rel=1e-9, abs=1e-6)


@settings(max_examples=15, deadline=None)
@given(st.integers(0, 10_000))
def test_variation_margin_sums_to_futures_pnl_and_cash_balances(seed: int) -> None:
    m, sc = random_market(seed)
    led, summ = _run(m, sc)
    # futures P&L from positions and trades: sum over days of lots_prev × Δsettle plus each
    # trade's (settle − trade price) — recomputed here from the ledger's own positions
    D = led.shape[1]
    pnl = 0.0
    for d in range(D):
        kk = int(led[k.L_CONTRACT, d])
        if d > 0 and led[k.L_LOTS, d - 1] != 0:
            k0 = int(led[k.L_CONTRACT, d - 1])
            pnl += (
                led[k.L_LOTS, d - 1] * (m["settle"][0, k0, d] - m["settle"][0, k0, d - 1]) * sc["multiplier"]
            )
            if led[k.L_ROLL, d] != 0:
                pc = m["exec"][0, k0, d] + math.copysign(sc["slippage"], led[k.L_ROLL, d])
                pnl += led[k.L_ROLL, d] * (m["settle"][0, k0, d] - pc) * sc["multiplier"]
        if led[k.L_TRADE, d] != 0:
            pnl += led[k.L_TRADE, d] * (m["settle"][0, kk, d] - led[k.L_PRICE, d]) * sc["multiplier"]
    assert led[k.L_VM].sum() == pytest.approx(pnl, rel=1e-12, abs=1e-6)
    assert summ[0, k.S_VM] == pytest.approx(pnl, rel=1e-12, abs=1e-6)
    # CNY side: cash = Σ(VM − fees) + CNY bought − CNY repatriated; USD side balances too
    fx = m["fx"]
    cny_in = led[k.L_CONVERT] * fx * (1 - sc["fx_spread"])
    usd_sent = led[k.L_CALL] + led[k.L_CONVERT] - led[k.L_RELEASE]
    assert np.cumsum(usd_sent)[-1] == pytest.approx(led[k.L_FUNDED, -1], abs=1e-6)
    cash_out = np.maximum(
        -(np.diff(np.concatenate([[0.0], led[k.L_COLL]])) - led[k.L_CALL]), 0
    )  # collateral part
    rel_cash_usd = led[k.L_RELEASE] - cash_out
    cny_out = rel_cash_usd * fx * (1 + sc["fx_spread"])
    assert led[k.L_CASH, -1] == pytest.approx(
        (led[k.L_VM] - led[k.L_FEES]).sum() + cny_in.sum() - cny_out.sum(), abs=1e-4
    )


def test_roll_changes_no_cash_except_fees_and_slippage() -> None:
    m, sc = random_market(7)
    m["want"][:] = 10.0
    m["pos"][:] = np.inf
    m["up"][:] = np.inf
    m["dn"][:] = -np.inf
    led, _ = _run(m, sc)
    rolls = np.flatnonzero(led[k.L_ROLL] != 0)
    assert rolls.size == 2
    for d in rolls:
        k0, k1 = int(led[k.L_CONTRACT, d - 1]), int(led[k.L_CONTRACT, d])
        mtm = 10.0 * (m["settle"][0, k0, d] - m["settle"][0, k0, d - 1]) * sc["multiplier"]
        legs = -10.0 * (m["settle"][0, k0, d] - m["exec"][0, k0, d]) + 10.0 * (
            m["settle"][0, k1, d] - m["exec"][0, k1, d]
        )
        assert led[k.L_VM, d] == pytest.approx(mtm + legs * sc["multiplier"] - led[k.L_SLIP, d], abs=1e-6)
        assert led[k.L_SLIP, d] == pytest.approx(20 * sc["slippage"] * sc["multiplier"])
    # at settlement with no slippage, the roll day's VM is the plain mark to market
    m["exec"] = m["settle"].copy()
    sc["slippage"] = 0.0
    led, _ = _run(m, sc)
    for d in rolls:
        k0 = int(led[k.L_CONTRACT, d - 1])
        assert led[k.L_VM, d] == pytest.approx(
            10.0 * (m["settle"][0, k0, d] - m["settle"][0, k0, d - 1]) * 1000.0
        )


@settings(max_examples=10, deadline=None)
@given(st.integers(0, 10_000))
def test_zero_costs_and_ratio_zero_give_the_exposure_pnl(seed: int) -> None:
    m, sc = random_market(seed)
    m["want"][:] = 0.0
    sc.update(slippage=0.0, commission=0.0, fx_spread=0.0, funding_rate=0.0)
    led, summ = _run(m, sc)
    np.testing.assert_array_equal(led[k.L_NET], m["expo"][0])
    assert summ[0, k.S_NET] == pytest.approx(m["expo"].sum())


def test_parallel_kernel_books_every_path_as_the_serial_kernel_does() -> None:
    # 24 independent price paths (random markets of seeds 0..23) under seed 0's rules and
    # schedule, booked at once over all cores; each must equal its own one-path serial run
    m, sc = random_market(0)
    paths = [random_market(s)[0] for s in range(24)]
    for key in ("settle", "exec", "up", "dn", "expo"):
        m[key] = np.ascontiguousarray(np.concatenate([x[key] for x in paths]))
    led_par, s_par = _run(m, sc, fn=k.book_paths_par_nb)
    for p in range(24):
        one = dict(m)
        for key in ("settle", "exec", "up", "dn", "expo"):
            one[key] = np.ascontiguousarray(m[key][p : p + 1])
        led_one, s_one = _run(one, sc, fn=k.book_paths_nb)
        np.testing.assert_array_equal(s_par[p], s_one[0], err_msg=f"path {p}")
        if p == 0:
            np.testing.assert_array_equal(led_par, led_one)
    assert np.unique(s_par[:, k.S_HEDGE]).size == 24  # the paths really differ


def test_summary_counts_equal_the_ledger_flags() -> None:
    for seed in range(5):
        m, sc = random_market(seed)
        led, summ = _run(m, sc)
        assert summ[0, k.S_BOUND] == led[k.L_BOUND].sum()
        assert summ[0, k.S_LOCKED] == led[k.L_LOCKED].sum()
        assert summ[0, k.S_CALLS] == led[k.L_MCALL].sum()


def test_grouping_of_paths_changes_no_bit() -> None:
    # the kernel books LANES paths per group and CHUNK_DAYS days per chunk (issue 20): 37 paths
    # (a partial group, an odd count) over 70 days (a partial chunk), each with its own FX and
    # wanted lots, booked at once by the parallel and the serial kernel, must give every path's
    # summary and daily track exactly as booking that path alone does
    n, D = 37, 70
    assert n % k.LANES != 0 and D % k.CHUNK_DAYS != 0 and D > k.CHUNK_DAYS
    m, sc = random_market(0, D=D)
    paths = [random_market(s, D=D)[0] for s in range(n)]
    for key in ("settle", "exec", "up", "dn", "expo"):
        m[key] = np.ascontiguousarray(np.concatenate([x[key] for x in paths]))
    m["want"] = np.ascontiguousarray(np.stack([x["want"] for x in paths]))
    m["fx"] = np.ascontiguousarray(np.stack([x["fx"] for x in paths]))

    def book(mm: dict[str, np.ndarray], fn: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        P = mm["settle"].shape[0]
        led, summ, track = np.zeros((k.N_LEDGER, D)), np.zeros((P, k.N_SUMMARY)), np.zeros((P, k.N_TRACK, D))
        fn(
            k.PathArrays(mm["settle"], mm["exec"], mm["up"], mm["dn"], mm["want"], mm["fx"], mm["expo"]),
            k.ContractRules(mm["margin"], mm["pos"], mm["olim"], mm["fol"], mm["for"], mm["fcl"], mm["fcr"]),
            k.DaySchedule(mm["target"], mm["forced"], mm["dt"], np.full(D, sc["haircut"])),
            k.BookParams(**{f: sc[f] for f in k.BookParams._fields if f in sc}),
            k.BookOutput(led, summ, track),
            None,
        )
        return led, summ, track

    led_par, s_par, t_par = book(m, k.book_paths_par_nb)
    led_ser, s_ser, t_ser = book(m, k.book_paths_nb)
    np.testing.assert_array_equal(s_par, s_ser)
    np.testing.assert_array_equal(t_par, t_ser)
    np.testing.assert_array_equal(led_par, led_ser)
    for p in range(n):
        one = dict(m)
        for key in ("settle", "exec", "up", "dn", "expo", "want", "fx"):
            one[key] = np.ascontiguousarray(m[key][p : p + 1])
        led_one, s_one, t_one = book(one, k.book_paths_nb)
        np.testing.assert_array_equal(s_par[p], s_one[0], err_msg=f"path {p}")
        np.testing.assert_array_equal(t_par[p], t_one[0], err_msg=f"path {p}")
        if p == 0:
            np.testing.assert_array_equal(led_par, led_one)
    assert np.unique(s_par[:, k.S_NET]).size == n  # the paths really differ
    assert s_par[:, k.S_CALLS].sum() > 0 and s_par[:, k.S_BOUND].sum() > 0  # calls and limits happen


def test_mismatched_rule_shapes_are_refused() -> None:
    m, sc = random_market(0)
    m["margin"] = np.ascontiguousarray(m["margin"][:2])  # 2 contracts' rules for 3 contracts' prices
    with pytest.raises(ValueError, match="contract rules"):
        _run(m, sc)
