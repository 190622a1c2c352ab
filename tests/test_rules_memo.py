"""The per-book memo of compiled day rules (issue 20): a repeat is cheap and never stale.

Reference values: the uncached compile of the same book (``RuleBook._compile_day_rules``),
and the rule rows themselves (rules.toml: sc general margin 10 %, position limit 3,000
lots in the general month, INE notice cited in the file); an override's own value.
"""

from __future__ import annotations

import copy
import dataclasses
import datetime as dt
import pickle

import numpy as np
import polars as pl
import pytest

from cnfutures.market import rules as rules_mod
from cnfutures.market.calendar import calendar
from cnfutures.market.rules import DayRules, RuleBook

SC = ["sc2509", "sc2510", "sc2511"]


def _days() -> pl.Series:
    d = calendar("INE").trading_days("2025-05-06", "2025-06-30")
    return pl.Series("d", d, dtype=pl.Date)


def _fields(dr: DayRules) -> dict[str, np.ndarray]:
    names = (*rules_mod._DAY_FIELDS, "first_day")
    return {n: np.asarray(getattr(dr, n)) for n in names} | {f"v_{k}": v for k, v in dr.verified.items()}


def _same(a: DayRules, b: DayRules) -> None:
    fa, fb = _fields(a), _fields(b)
    assert fa.keys() == fb.keys()
    for n in fa:
        np.testing.assert_array_equal(fa[n], fb[n], err_msg=n)


def test_same_book_same_arguments_returns_the_memoised_result() -> None:
    book = RuleBook.default().with_override("margin", "sc", 0.13, effective="2025-05-06")
    a = book.day_rules(SC, _days())
    b = book.day_rules(list(SC), _days().to_list())  # same contracts and days, other types
    assert a is b
    fresh = book._compile_day_rules(
        SC,
        _days().to_physical().to_numpy().astype(np.int64),
        hedge=False,
        holder="client",
        fees=True,
        locked=None,
    )
    _same(a, fresh)  # the memo returns what an uncached compile returns


def test_every_argument_is_part_of_the_key() -> None:
    book = RuleBook.default()
    base = book.day_rules(SC, _days())
    days = _days()
    locked = np.zeros(days.len(), dtype=bool)
    others = [
        book.day_rules(SC[:2], days),
        book.day_rules(SC, days[:-1]),
        book.day_rules(SC, days, hedge=True),
        book.day_rules(SC, days, holder="individual"),
        book.day_rules(SC, days, fees=False),
        book.day_rules(SC, days, locked=locked),
    ]
    assert all(o is not base for o in others)
    assert len({id(o) for o in others}) == len(others)
    # hedge rows differ: sc hedge margin is below the speculative one on the same cell (rules.toml)
    assert float(np.nanmax(others[2].margin)) <= float(np.nanmax(base.margin))
    assert not np.array_equal(np.nan_to_num(others[2].margin), np.nan_to_num(base.margin))
    np.testing.assert_array_equal(others[4].fee_open_lot[~np.isnan(others[4].margin)], 0.0)


def test_an_override_is_a_different_book_with_its_own_compile() -> None:
    book = RuleBook.default()
    before = book.day_rules(SC, _days())
    over = book.with_override("margin", "sc", 0.37, effective="2025-05-06")
    after = over.day_rules(SC, _days())
    assert after is not before
    live = ~np.isnan(after.margin)
    np.testing.assert_array_equal(after.margin[live], 0.37)  # the override's own value (max combine)
    assert float(np.nanmax(before.margin)) < 0.37
    # the old book still answers with its own rules
    assert book.day_rules(SC, _days()) is before
    # a frame or a file layered over the book: a different book as well
    f = pl.DataFrame(
        {
            "parameter": ["margin"],
            "product": ["sc"],
            "effective": ["2025-05-06"],
            "timing": ["trading_day"],
            "value": [0.41],
            "source": ["broker"],
            "verified": [True],
        }
    )
    framed = book.with_frame(f).day_rules(SC, _days())
    np.testing.assert_array_equal(framed.margin[live], 0.41)


def test_a_run_after_with_override_does_not_reuse_the_old_compile() -> None:
    from cnfutures import simulate
    from cnfutures.access import Investor
    from cnfutures.backtest import Costs, Exposure, HedgePolicy, Market, run

    fut = simulate.market("sc", "2025-01-02", end="2025-06-30", seed=3).drop("path")
    spot = fut.group_by("trading_day").agg(pl.col("spot").first().alias("price"))
    days = fut["trading_day"].unique().sort()
    m = Market(
        fut,
        {"spot": spot.rename({"trading_day": "date"}).sort("date")},
        pl.DataFrame({"date": days, "usd_cny": np.full(days.len(), 7.0)}),
        simulated=True,
    )
    args = (m, Exposure(1e6, "long", "spot", "CNY"), HedgePolicy("sc"), Investor("osbp_client"))
    base = run(*args, costs=Costs(broker_addon=0.0), book_=RuleBook.default())
    again = run(*args, costs=Costs(broker_addon=0.0), book_=RuleBook.default())
    assert base.ledger.equals(again.ledger)
    # after the last bundled product-wide sc margin row of the window (2025-04-10), so it decides
    high = RuleBook.default().with_override("margin", "sc", 0.5, effective="2025-04-14")
    over = run(*args, costs=Costs(broker_addon=0.0), book_=high)
    assert not over.ledger.equals(base.ledger)
    # the margin the ledger books follows the override: 50 % of the held contract's value
    led = over.ledger.filter((pl.col("lots") != 0) & (pl.col("trading_day") >= dt.date(2025, 4, 14)))
    assert led.height > 0
    ratio = (led["margin_required_cny"] / (led["lots"].abs() * led["settle"] * 1000.0)).to_numpy()
    np.testing.assert_allclose(ratio, 0.5, rtol=1e-12)


def test_the_returned_arrays_are_read_only() -> None:
    dr = RuleBook.default().day_rules(SC, _days())
    with pytest.raises(ValueError, match="read-only"):
        dr.margin[0, 0] = 0.99
    with pytest.raises(ValueError, match="read-only"):
        dr.per_cell["margin"][0] = 0.99
    with pytest.raises(ValueError, match="read-only"):
        dr.verified["margin"][0, 0] = False
    with pytest.raises(ValueError, match="read-only"):
        dr.cells.k[0] = 5
    with pytest.raises(TypeError):
        dr.per_cell["margin"] = np.zeros(3)  # type: ignore[index]
    with pytest.raises(dataclasses.FrozenInstanceError):
        dr.cells = dr.cells  # type: ignore[misc]
    again = RuleBook.default().day_rules(SC, _days())
    assert again is dr and float(np.nanmax(again.margin)) < 0.99
    # a copy is the caller's to change
    mine = dr.margin.copy()
    mine[0, 0] = 1.0


def test_caller_arrays_are_not_frozen_or_kept() -> None:
    days = _days().to_physical().to_numpy().astype(np.int64)
    locked = np.zeros(days.size, dtype=bool)
    book = RuleBook.default().with_override("margin", "sc", 0.2, effective="2025-05-06")
    dr = book.day_rules(SC, days, locked=locked)
    assert days.flags.writeable and locked.flags.writeable
    locked[3] = True  # the caller changes its array: the next call is a different key
    assert book.day_rules(SC, days, locked=locked) is not dr
    locked[3] = False
    assert book.day_rules(SC, days, locked=locked) is dr


def test_book_and_table_are_immutable() -> None:
    book = RuleBook.default()
    with pytest.raises(dataclasses.FrozenInstanceError):
        book.rules = book.rules  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        book.rules.rows = ()  # type: ignore[misc]
    assert isinstance(book.rules.rows, tuple)
    with pytest.raises(dataclasses.FrozenInstanceError):
        book.rules.rows[0].value = 1.0  # type: ignore[misc]


def test_a_changed_convention_is_not_served_from_the_memo() -> None:
    table = RuleBook.default().rules
    conv = copy.deepcopy(dict(table.conventions))
    book = RuleBook(dataclasses.replace(table, conventions=conv))
    a = book.day_rules(SC, _days())
    conv["combine"]["margin"] = "min"  # the conventions are a plain dict: the key covers them
    b = book.day_rules(SC, _days())
    assert b is not a
    assert float(np.nanmin(b.margin)) <= float(np.nanmin(a.margin))


def test_the_memo_is_bounded_lru(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(rules_mod, "DAY_RULES_MEMO_SIZE", 3)
    book = RuleBook.default().with_override("margin", "sc", 0.2, effective="2025-05-06")
    days = _days()
    first = book.day_rules(SC, days[:10])
    for n in (11, 12):
        book.day_rules(SC, days[:n])
    assert book.day_rules(SC, days[:10]) is first  # touched: now the most recent
    book.day_rules(SC, days[:13])  # evicts days[:11], the least recently used
    assert len(book._memo) == 3
    assert book.day_rules(SC, days[:10]) is first
    assert all(len(k[1]) // 8 != 11 for k in book._memo)
    assert rules_mod.DAY_RULES_MEMO_SIZE == 3
    assert len(RuleBook.default()._memo) <= 32


def test_the_memo_is_bounded_in_memory(monkeypatch: pytest.MonkeyPatch) -> None:
    book = RuleBook.default().with_override("margin", "sc", 0.2, effective="2025-05-06")
    days = _days()
    first = book.day_rules(SC, days[:20])
    first.margin  # a [K, D] view built: counted too
    one = rules_mod._nbytes(first)
    want = sum(a.nbytes for a in first.per_cell.values()) + first.margin.nbytes
    assert one > want
    monkeypatch.setattr(rules_mod, "DAY_RULES_MEMO_BYTES", int(2.5 * one))
    book.day_rules(SC, days[:20]).margin
    second = book.day_rules(SC, days[:21])
    assert len(book._memo) == 2
    second.margin
    book.day_rules(SC, days[:22])  # three would pass the budget: the least recent goes
    assert len(book._memo) == 2 and book._memo.get(next(iter(book._memo))) is second
    monkeypatch.setattr(rules_mod, "DAY_RULES_MEMO_BYTES", 1)
    last = book.day_rules(SC, days[:23])
    assert list(book._memo.values()) == [last]  # the newest is always kept


def test_copies_and_pickles_start_empty_and_agree() -> None:
    book = RuleBook.default().with_override("margin", "sc", 0.2, effective="2025-05-06")
    dr = book.day_rules(SC, _days())
    other = pickle.loads(pickle.dumps(book))
    assert len(other._memo) == 0
    _same(other.day_rules(SC, _days()), dr)
    dr2 = pickle.loads(pickle.dumps(dr))
    _same(dr2, dr)
    assert not dr2.per_cell["margin"].flags.writeable
    assert len(copy.copy(book)._memo) == 0
