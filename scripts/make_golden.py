"""Regenerate the calendar golden files in tests/reference/ (review the diff before committing).

Usage: python scripts/make_golden.py

One file per exchange, every trading day 2024-2026 with its session open/close times for a
representative product (INE: sc, SHFE: ru, DCE: i); night columns are empty when the
trading day had no night session.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

import cnfutures

OUT = Path(__file__).resolve().parents[1] / "tests" / "reference"
PRODUCTS = {"INE": "sc", "SHFE": "ru", "DCE": "i"}


def golden(exchange: str) -> pl.DataFrame:
    cal = cnfutures.calendar(exchange)
    prod = PRODUCTS[exchange]
    rows = []
    for d in cal.trading_days("2024-01-01", "2026-12-31").to_list():
        s = cal.sessions(d, prod)
        night = s.filter(pl.col("session") == "night")
        day = s.filter(pl.col("session") == "day")
        rows.append(
            {
                "trading_day": d,
                "product": prod,
                "night_open": night["open"][0] if night.height else None,
                "night_close": night["close"][0] if night.height else None,
                "day_open": day["open"][0],
                "day_close": day["close"][-1],
            }
        )
    return pl.DataFrame(rows)


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    for ex in PRODUCTS:
        path = OUT / f"calendar_{ex.lower()}_2024_2026.csv"
        golden(ex).write_csv(path, datetime_format="%Y-%m-%d %H:%M")
        print("wrote", path)


if __name__ == "__main__":
    main()
