"""Golden files of the rule data: rule values across every change, and timestamp -> trading day.

``tests/reference/trading_day_attribution.csv`` is written by hand from the exchanges' session
conventions (each row says why); ``tests/reference/rules_golden.csv`` records, for every change in
the rule data, the values the day before and the day it applies with the source of each, and is
regenerated with ``python scripts/make_rules_golden.py`` after a reviewed data change.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl
import pytest

from cnfutures import NotInSession
from cnfutures.market.calendar import calendar

REF = Path(__file__).parent / "reference"


def test_timestamp_attribution_across_session_changes() -> None:
    g = pl.read_csv(REF / "trading_day_attribution.csv", try_parse_dates=True)
    assert g.height >= 20
    for r in g.iter_rows(named=True):
        cal = calendar(r["exchange"])
        vec = cal.trading_day_of(pl.Series([r["timestamp"]]), r["product"], on_error="null")[0]
        assert vec == r["trading_day"], r["why"]
        if r["trading_day"] is None:
            with pytest.raises(NotInSession):
                cal.trading_day_of(r["timestamp"], r["product"])
        else:
            assert cal.trading_day_of(r["timestamp"], r["product"]) == r["trading_day"], r["why"]


def test_rules_golden_file() -> None:
    import importlib.util

    spec = importlib.util.spec_from_file_location(
        "make_rules_golden", Path(__file__).parents[1] / "scripts" / "make_rules_golden.py"
    )
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    want = pl.read_csv(REF / "rules_golden.csv", try_parse_dates=True, infer_schema_length=None)
    got = mod.golden()
    assert want.height == got.height > 300
    assert want.columns == got.columns
    for a, b in zip(want.iter_rows(named=True), got.iter_rows(named=True), strict=True):
        assert a == b, (a, b)
    # spot checks against the notices (independent of the generator)
    # DCE 大商所发〔2025〕34号: from the settlement of 2025-01-24 margin 14 %, limit 12 % (from 01-27),
    # restored after reopening on 2025-02-05 (i2502 is in its delivery month from 02-05: 20 %)
    i = want.filter(pl.col("contract") == "i2502").select("trading_day", "margin_spec", "limit_rate").rows()
    assert (dt.date(2025, 1, 24), 0.14, 0.09) in i and (dt.date(2025, 1, 27), 0.14, 0.12) in i
    assert (dt.date(2025, 2, 6), 0.2, 0.09) in i
