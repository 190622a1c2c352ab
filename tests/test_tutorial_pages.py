"""The tutorial pages' numbers are current: each is written by its script (scripts/_docpage.py)."""

from __future__ import annotations

import pytest

from tests.docpages import assert_page_current


@pytest.mark.slow
def test_tutorial_usd_page_is_up_to_date() -> None:
    """Every number of docs/tutorial-usd.md comes from scripts/tutorial_usd.py (5 Monte Carlo
    runs of 5,000 paths and a 240-backtest sweep, about 10 s)."""
    text = assert_page_current("tutorial_usd")
    assert text.count("<!-- BEGIN GENERATED:") == 4
