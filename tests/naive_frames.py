"""Slow, obviously-correct references for cnfutures.frames (loops over rows, csv module)."""

from __future__ import annotations

import csv
import math
from pathlib import Path


def csv_rows(path: Path) -> list[dict[str, str]]:
    """All data rows of a CSV file as dicts (row 0 = first line after the header)."""
    with path.open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def naive_ohlc_bad_rows(rows: list[dict[str, str]]) -> list[int]:
    """Rows where high < low or open/close lie outside [low, high]."""
    out = []
    for i, r in enumerate(rows):
        o, h, lo, c = (float(r[k]) for k in ("open", "high", "low", "close"))
        if h < lo or not lo <= o <= h or not lo <= c <= h:
            out.append(i)
    return out


def naive_blank_rows(rows: list[dict[str, str]], column: str) -> list[int]:
    """Rows where ``column`` is blank."""
    return [i for i, r in enumerate(rows) if r[column].strip() == ""]


def naive_settlement(
    bars: list[dict[str, str]], multiplier: float, tick: float
) -> dict[tuple[str, str], float]:
    """VWAP over all bars of (trading_day, contract), truncated to the tick, in a plain loop."""
    vol: dict[tuple[str, str], float] = {}
    turn: dict[tuple[str, str], float] = {}
    for r in bars:
        k = (r["trading_day"], r["contract"])
        vol[k] = vol.get(k, 0.0) + float(r["volume"])
        turn[k] = turn.get(k, 0.0) + float(r["turnover"])
    out = {}
    for k in vol:
        vwap = turn[k] / (vol[k] * multiplier)
        out[k] = round(math.floor(vwap / tick + 1e-9) * tick, 6)
    return out


def naive_back_adjust(held: list[str], settle: dict[tuple[int, str], float], adjust: str) -> list[float]:
    """Back-adjust a held-contract path day by day (index i = i-th trading day).

    ``settle[(i, contract)]`` is the raw settle of ``contract`` on day ``i``. At each roll
    (held[i] != held[i-1]) the gap new - old (or new / old) on day i-1 is applied to every
    earlier day, walking the days one by one.
    """
    n = len(held)
    adjusted = [settle[(i, held[i])] for i in range(n)]
    for i in range(1, n):
        if held[i] != held[i - 1]:
            new, old = settle[(i - 1, held[i])], settle[(i - 1, held[i - 1])]
            for j in range(i):
                if adjust == "ratio":
                    adjusted[j] *= new / old
                elif adjust == "difference":
                    adjusted[j] += new - old
    return adjusted
