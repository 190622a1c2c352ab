"""A slow, obviously-correct replay of option legs (one path, dicts, QuantLib prices, no numba).

Written from the booking rules of ``cnfutures._kernels.optlegs`` (docs/options-hedging.md), not
from the kernel: the series is the first whose expiry is at least ``tenor`` months after the
opening day, the strike the listed strike (exchange listing rule, ``listed_strikes``) nearest to
``moneyness × F`` (ties up), the model price QuantLib's Barone-Adesi-Whaley engine, the short
margin the exchanges' formula written out here. Returns one dict per day.
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

from tests.quantlib_ref import ql_american


def _add_months(d: dt.date, n: int) -> dt.date:
    m = d.year * 12 + d.month - 1 + n
    return dt.date(m // 12, m % 12 + 1, min(d.day, 28))


def replay(
    ql: Any,
    legs: list[dict[str, Any]],
    days: list[dt.date],
    settle: dict[tuple[dt.date, str], float],
    prev_settle: dict[tuple[dt.date, str], float],
    vol: float,
    r: float,
    qty: float,
    size: float,
    commission: float,
) -> list[dict[str, float]]:
    """``legs``: {"kind", "side", "moneyness", "tenor"}; ``settle[(day, contract)]`` [CNY/unit]."""
    from cnfutures.errors import CalendarOutOfBounds
    from cnfutures.market.options import listed_strikes, option, option_fee, option_product
    from cnfutures.market.rules import RuleBook

    rb = RuleBook.default()
    spec = option_product("sc")
    state: list[dict[str, Any] | None] = [None] * len(legs)
    last_expiry: list[dt.date | None] = [None] * len(legs)
    out = []
    for day in days:
        row = {"premium": 0.0, "pnl": 0.0, "exercise": 0.0, "fees": 0.0, "margin": 0.0, "value": 0.0}
        for j, leg in enumerate(legs):
            w = 1.0 if leg["kind"] == "call" else -1.0
            st = state[j]
            if st is not None:  # mark, then exercise on expiry
                o = st["option"]
                F = settle[(day, o.underlying.code)]
                t_days = (o.expiry - day).days
                if t_days == 0:
                    v = max(w * (F - o.strike), 0.0)
                else:
                    v = ql_american(ql, F, o.strike, t_days, r, vol, w, "baw")
                row["pnl"] += st["lots"] * (v - st["v"]) * size
                st["v"] = v
                intrinsic = max(w * (F - o.strike), 0.0)
                # expiry, or an American option worth no more than its exercise value
                if day == o.expiry or (intrinsic > 0.0 and v <= intrinsic):
                    if v > 0.0:
                        row["exercise"] += st["lots"] * v * size
                        fee = option_fee(o, day).exercise
                        fut_close = rb.fee(o.underlying, day).amount(st["lots"], F, size, "close")
                        row["fees"] += abs(st["lots"]) * (fee + commission) + fut_close
                    state[j] = st = None
            if st is None and (last_expiry[j] is None or day > last_expiry[j]):
                # open the first series with an expiry >= day + tenor months
                target = _add_months(day, leg["tenor"])
                best = None
                for code in sorted({c for (d, c) in settle if d == day}):
                    probe = option(f"{code}C{spec.grid().strikes(400, 400)[0]:g}")
                    try:
                        probe.expiry
                    except CalendarOutOfBounds:
                        continue
                    if probe.expiry >= target and (best is None or probe.expiry < best.expiry):
                        best = probe
                assert best is not None
                u = best.underlying.code
                F = settle[(day, u)]
                strikes = listed_strikes(u, day, prev_settle[(day, u)])
                goal = leg["moneyness"] * F
                K = min(strikes, key=lambda k: (abs(k - goal), -k))
                o = option(spec.format_code(u, leg["kind"], K))
                lots = (1.0 if leg["side"] == "long" else -1.0) * math.floor(qty / size + 0.5)
                v = ql_american(ql, F, K, (o.expiry - day).days, r, vol, w, "baw")
                row["premium"] += lots * v * size
                row["fees"] += abs(lots) * (option_fee(o, day).open + commission)
                state[j] = st = {"option": o, "lots": lots, "v": v}
                last_expiry[j] = o.expiry  # the next series opens the trading day after this expiry
            if st is not None:
                o = st["option"]
                F = settle[(day, o.underlying.code)]
                row["value"] += st["lots"] * st["v"] * size
                if st["lots"] < 0:
                    fm = F * size * rb.margin_rate(o.underlying, day).value
                    floor = rb.rules.compile("option_margin_floor", [o.underlying.code], [day]).value[0, 0]
                    otm = max(-w * (F - o.strike), 0.0) * size
                    row["margin"] += -st["lots"] * (st["v"] * size + max(fm - 0.5 * otm, floor * fm))
        out.append(row)
    return out
