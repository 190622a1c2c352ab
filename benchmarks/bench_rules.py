"""Compiling the dated rule table into per-day arrays (issue 13's goal: one product, every
contract, every trading day 2010-2026 in <= 50 ms warm).

Group ``rules_compile``: ``RuleBook.day_rules`` over every iron ore contract and DCE trading day
from the launch (2013-10-18) to 2026-12-31 (all parameters, fees included), compiled on every
call (a fresh book each round: ``day_rules`` memoises per book). No peer resolves
dated, scoped, temporary exchange rules, so the goal is absolute (``max_ms``).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import polars as pl
import pytest

from benchmarks.conftest import tag
from cnfutures.market.calendar import calendar
from cnfutures.market.contracts import contract
from cnfutures.market.rules import RuleBook


@pytest.fixture(scope="module")
def universe() -> tuple[list[str], pl.Series]:
    days = calendar("DCE").trading_days("2013-10-18", "2026-12-31")
    codes = []
    for y in range(13, 28):
        for m in range(1, 13):
            c = contract(f"i{y:02d}{m:02d}")
            try:
                if c.first_trading_day <= c.last_trading_day and c.first_trading_day <= dt.date(2026, 12, 31):
                    codes.append(c.code)
            except Exception:  # expires beyond the calendar: still listed inside it
                if c.first_trading_day <= dt.date(2026, 12, 31):
                    codes.append(c.code)
    return codes, days


@pytest.mark.benchmark(group="rules_compile")
def test_day_rules(benchmark: Any, universe: tuple[list[str], pl.Series]) -> None:
    codes, days = universe
    book = RuleBook.default()
    r = book.day_rules(codes, days)
    n = int(r.cells.k.size)
    tag(benchmark, role="ours", name="cnfutures day_rules", n=n, max_ms=50.0)
    # a new book per call (same rows, an empty memo): the compile is timed, not a memo hit
    benchmark(lambda: RuleBook(book.rules).day_rules(codes, days))
