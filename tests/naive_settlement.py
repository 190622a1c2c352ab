"""A slow, obviously-correct day loop of the hedge booking rules (one path, dicts, no numba).

Written separately from ``cnfutures._kernels.settlement`` from the rules in docs/backtest.md,
to cross-check the kernel. Returns a list of per-day dicts.
"""

from __future__ import annotations

import math
from typing import Any


def book(
    days: list[dict[str, Any]],
    *,
    multiplier: float,
    slippage: float = 0.0,
    band: float = 0.0,
    commission: float = 0.0,
    fx_spread: float = 0.0,
    haircut: float = 1.0,
    buffer: float = 0.0,
    release_above: float = 0.0,
    funding_rate: float = 0.0,
    cny_margin: bool = False,
) -> list[dict[str, Any]]:
    """``days[i]``: {"target": contract, "want": lots, "fx": CNY/USD, "dt": years, "expo": USD,
    "px": {contract: {"settle", "exec", "up", "dn", "margin", "pos", "olim", "fee_open_lot",
    "fee_open_rate", "fee_close_lot", "fee_close_rate"}}}.

    ``cny_margin``: the collateral is CNY (a QFI) bought and sold back at the fixing, counting
    1:1; else USD counting ``haircut × FX``. The CNY held overnight (cash + CNY collateral) is
    revalued in USD: ``CNY × (1/FX_d - 1/FX_{d-1})`` into the net P&L."""
    held, lots, cash, coll, funded = None, 0.0, 0.0, 0.0, 0.0
    prev_px: dict[str, Any] = {}
    prev_fx = None
    out = []
    for day in days:
        px, fx, tgt_c = day["px"], day["fx"], day["target"]
        cny_held = cash + (coll if cny_margin else 0.0)
        reval = cny_held / fx - cny_held / prev_fx if prev_fx is not None else 0.0
        prev_fx = fx
        # value in CNY of one collateral unit, and USD paid for it
        unit_cny, unit_usd = (1.0, 1.0 / fx) if cny_margin else (haircut * fx, 1.0)
        vm = fees = slip = 0.0
        locked = delayed = bound = 0
        lots0 = lots
        if lots:
            vm += lots * (px[held]["settle"] - prev_px[held]["settle"]) * multiplier
        tgt = day["want"]
        lim = px[tgt_c]["pos"]
        if abs(tgt) > lim:
            tgt, bound = math.copysign(lim, tgt), 1

        def trade(c: str, n: float, kind: str, px: dict[str, dict[str, float]] = px) -> None:
            nonlocal vm, fees, slip
            price = px[c]["exec"] + math.copysign(slippage, n)
            vm += n * (px[c]["settle"] - price) * multiplier
            slip += abs(n) * slippage * multiplier
            fees += abs(n) * (px[c][f"fee_{kind}_lot"] + price * multiplier * px[c][f"fee_{kind}_rate"])
            fees += abs(n) * commission

        def blocked(c: str, n: float, px: dict[str, dict[str, float]] = px) -> bool:
            return (n > 0 and px[c]["settle"] >= px[c]["up"]) or (n < 0 and px[c]["settle"] <= px[c]["dn"])

        if lots and held != tgt_c:
            if abs(tgt) > px[tgt_c]["olim"]:
                tgt, bound = math.copysign(px[tgt_c]["olim"], tgt), 1
            if blocked(held, -lots) or blocked(tgt_c, tgt):
                locked = delayed = 1
            else:
                trade(held, -lots, "close")
                if tgt:
                    trade(tgt_c, tgt, "open")
                held, lots = tgt_c, tgt
        else:
            if not lots:
                held = tgt_c
            delta = tgt - lots
            if abs(delta) > band:
                same = lots == 0 or (lots > 0) == (tgt > 0)
                n_open = max(abs(tgt) - abs(lots), 0.0) if same else abs(tgt)
                n_close = max(abs(lots) - abs(tgt), 0.0) if same else abs(lots)
                if n_open > px[held]["olim"]:
                    cut = n_open - px[held]["olim"]
                    n_open -= cut
                    tgt -= math.copysign(cut, tgt)
                    delta, bound = tgt - lots, 1
                if blocked(held, delta):
                    locked = 1
                elif delta:
                    price = px[held]["exec"] + math.copysign(slippage, delta)
                    vm += delta * (px[held]["settle"] - price) * multiplier
                    slip += abs(delta) * slippage * multiplier
                    for n, kind in ((n_open, "open"), (n_close, "close")):
                        fees += n * (
                            px[held][f"fee_{kind}_lot"] + price * multiplier * px[held][f"fee_{kind}_rate"]
                        )
                    fees += abs(delta) * commission
                    lots = tgt
        req = abs(lots) * px[held]["settle"] * multiplier * px[held]["margin"] if lots else 0.0
        funding = max(funded, 0.0) * funding_rate * day["dt"]
        cash += vm - fees
        fxcost = convert = call = release = 0.0
        if cash < 0:
            convert = -cash / (fx * (1 - fx_spread))
            fxcost += convert * fx_spread
            funded += convert
            cash = 0.0
        equity = cash + coll * unit_cny
        mcall = 0
        if equity < req:
            units = (req * (1 + buffer) - equity) / unit_cny
            coll += units
            call = units * unit_usd
            funded += call
            mcall = int(lots0 != 0)
        elif equity > req * (1 + release_above):
            excess = equity - req * (1 + buffer)
            rel_c = min(coll, excess / unit_cny)
            coll -= rel_c
            excess -= rel_c * unit_cny
            rel_cash = min(cash, max(excess, 0.0))
            back = rel_cash / (fx * (1 + fx_spread))
            fxcost += rel_cash / fx - back
            cash -= rel_cash
            release = rel_c * unit_usd + back
            funded -= release
        hedge = vm / fx
        costs = fees / fx + fxcost + funding
        out.append(
            {
                "contract": held, "lots": lots, "vm": vm, "fees": fees, "slip": slip, "req": req,
                "cash": cash, "coll": coll * unit_usd, "call": call, "release": release, "convert": convert,
                "fxcost": fxcost, "funding": funding, "funded": funded, "hedge": hedge, "costs": costs,
                "reval": reval, "net": day["expo"] + hedge - costs + reval, "locked": locked,
                "delayed": delayed, "bound": bound,
                "mcall": mcall,
            }
        )  # fmt: skip
        prev_px = px
    return out
