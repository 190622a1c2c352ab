"""A slow, obviously-correct pandas replay of an allocation index (docs/allocation.md).

Independent of :mod:`cnfutures.allocation.index`: it holds *units* of contracts in a money
account, day by day, instead of chaining return ratios, and computes rebalancing dates,
inverse-volatility and open-interest weights with pandas. Only the choice of contract (which
contract a sleeve holds each day) comes from :func:`cnfutures.frames.roll_schedule`, which has
its own tests (tests/test_roll.py).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import pandas as pd
import polars as pl

from cnfutures.frames import roll_schedule
from cnfutures.market.products import product


def _crw(days: list[dt.date], sched: pd.DataFrame, window: int) -> list[dict[str, float]]:
    """Contract roll weights (quantity fractions) after each close."""
    held = list(sched["contract"])
    out: list[dict[str, float]] = [{c: 1.0} for c in held]
    for k in range(1, len(days)):
        if not sched["roll"].iloc[k]:
            continue
        for j in range(window):
            d = k - window + 1 + j
            if d < 0:
                continue
            frac_new = (j + 1) / window
            w = {held[k - 1]: 1.0 - frac_new, held[k]: frac_new}
            out[d] = {c: v for c, v in w.items() if v > 0}
    return out


def sleeve_returns(frame: pl.DataFrame, rule: Any, days: list[dt.date], window: int) -> pd.Series:
    """Daily return of one sleeve, from a units-and-cash replay."""
    code = frame["contract"][0].rstrip("0123456789").lower()
    sched = roll_schedule(rule, code, pl.Series(days, dtype=pl.Date)).to_pandas()
    crw = _crw(days, sched, window)
    px = frame.to_pandas().pivot(index="trading_day", columns="contract", values="settle")
    px.index = [pd.Timestamp(d).date() for d in px.index]
    rets = [0.0]
    units: dict[str, float] = {}
    value = 1.0
    for i, d in enumerate(days):
        if i > 0:
            new_value = sum(u * px.loc[d, c] for c, u in units.items())
            rets.append(new_value / value - 1.0)
            value = new_value
        # re-set units to the day's roll weights, keeping the sleeve's value
        denom = sum(w * px.loc[d, c] for c, w in crw[i].items())
        units = {c: value * w / denom for c, w in crw[i].items()}
    return pd.Series(rets, index=days)


def rebalance_days(days: list[dt.date], how: str, base: int) -> set[int]:
    s = pd.Series(pd.to_datetime(days))
    if how == "monthly":
        key = s.dt.to_period("M")
    elif how == "quarterly":
        key = s.dt.to_period("Q")
    elif how == "annual":
        key = s.dt.to_period("Y")
    else:
        return {base}
    firsts = set(s.groupby(key).head(1).index)
    return {i for i in firsts if i >= base} | {base}


def capped(w: pd.Series, cap: float | None) -> pd.Series:
    w = w / w.sum()
    if cap is None:
        return w
    fixed: set[str] = set()
    while (w > cap + 1e-15).any():
        over = w[w > cap + 1e-15].index
        fixed |= set(over)
        rest = [k for k in w.index if k not in fixed]
        spare = 1.0 - cap * len(fixed)
        w = pd.Series(dict.fromkeys(fixed, cap) | dict(w[rest] / w[rest].sum() * spare))[w.index]
    return w


def index_levels(
    frames: dict[str, pl.DataFrame],
    rules: dict[str, Any],
    weights: dict[str, float] | str,
    *,
    window: int = 5,
    rebalance: str = "annual",
    leverage: float = 1.0,
    cap: float | None = None,
    lookback: int = 252,
    fx: pd.Series | None = None,
    cny_rate: float = 0.0,
    usd_rate: float = 0.0,
    collateral: str = "USD",
    fx_mode: str = "unhedged",
    hedge_cost: float = 0.0,
) -> pd.DataFrame:
    names = list(frames)
    common = None
    for f in frames.values():
        d = set(f["trading_day"].to_list())
        common = d if common is None else common & d
    days = sorted(common or set())
    rets = pd.DataFrame({k: sleeve_returns(frames[k], rules[k], days, window) for k in names})
    warm = 0 if isinstance(weights, dict) or weights == "equal" else lookback
    reb = rebalance_days(days, rebalance, warm)
    exposure = dict.fromkeys(names, 0.0)
    level = 1.0
    er, tr_cny = [], []
    tr = 1.0
    for i in range(warm, len(days)):
        if i > warm:
            pnl = 0.0
            for k in names:
                gain = exposure[k] * rets[k].iloc[i]
                exposure[k] += gain
                pnl += gain
            r = pnl / level
            level += pnl
            dcal = (days[i] - days[i - 1]).days
            tr *= 1.0 + r + cny_rate * dcal / 365.0
        if i in reb:
            if isinstance(weights, dict):
                w = pd.Series(weights)
            elif weights == "equal":
                w = pd.Series(1.0 / len(names), index=names)
            elif weights == "inverse_vol":
                sd = rets.iloc[i - lookback + 1 : i + 1].std(ddof=1)
                w = capped(1.0 / sd, cap)
            else:
                val = {}
                for k in names:
                    f = frames[k].to_pandas()
                    code = str(f["contract"].iloc[0]).rstrip("0123456789").lower()
                    f["v"] = f[weights] * f["settle"] * product(code).multiplier
                    per_day = f.groupby("trading_day")["v"].sum()
                    per_day.index = [pd.Timestamp(x).date() for x in per_day.index]
                    val[k] = per_day.reindex(days[i - lookback + 1 : i + 1]).mean()
                w = capped(pd.Series(val), cap)
            w = w * (leverage if not isinstance(weights, dict) else 1.0)
            for k in names:
                exposure[k] = w[k] * level
        er.append(level)
        tr_cny.append(tr)
    out = pd.DataFrame({"er_cny": er, "tr_cny": tr_cny}, index=days[warm:]) * 100.0
    if fx is None:
        return out
    x = fx.reindex(days[warm:])
    er_usd, tr_usd = [1.0], [1.0]
    for i in range(1, len(out)):
        r = out["er_cny"].iloc[i] / out["er_cny"].iloc[i - 1] - 1.0
        dcal = (out.index[i] - out.index[i - 1]).days / 365.0
        x0, x1 = x.iloc[i - 1], x.iloc[i]
        y = cny_rate if collateral == "CNY" else usd_rate
        if fx_mode == "hedged":
            er_usd.append(er_usd[-1] * (1.0 + r - hedge_cost * dcal))
            tr_usd.append(tr_usd[-1] * (1.0 + r + (y - hedge_cost) * dcal))
        elif collateral == "CNY":
            # the whole account in CNY, valued in USD at the day's fixing
            er_usd.append(er_usd[-1] * x0 * (1.0 + r) / x1)
            tr_usd.append(tr_usd[-1] * x0 * (1.0 + r + y * dcal) / x1)
        else:
            # USD account: interest in USD; the CNY P&L on a CNY exposure of the account's value
            er_usd.append(er_usd[-1] + er_usd[-1] * x0 * r / x1)
            tr_usd.append(tr_usd[-1] + tr_usd[-1] * y * dcal + tr_usd[-1] * x0 * r / x1)
    out["er_usd"] = np.array(er_usd) * 100.0
    out["tr_usd"] = np.array(tr_usd) * 100.0
    return out
