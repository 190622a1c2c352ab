"""Option rule rows in the dated rule table: short-margin floor, option fees (with exercise), max order."""

from __future__ import annotations

import pytest

from cnfutures.errors import InputError
from cnfutures.market.rules import RuleBook
from cnfutures.market.ruletable import RuleTable

CONV = RuleTable.default().conventions


def _row(parameter: str, **kw: object) -> dict[str, object]:
    base: dict[str, object] = {"product": "sc", "effective": "2025-01-02", "timing": "trading_day",
                               "source": "test", "verified": True}  # fmt: skip
    base.update(kw)
    return {parameter: [base]}


def test_bundled_option_rows_resolve() -> None:
    t = RuleTable.default()
    for prod, code, floor, fee, order in (
        ("sc", "sc2509", 0.5, (10.0, 10.0), 100.0),  # INE options handbook (risk control); S15; S1
        ("i", "i2509", 0.5, (2.0, 2.0), 1000.0),  # code comments; S12/S15; DCE 2019 No. 505
        ("ru", "ru2509", 0.5, (3.0, 3.0), 100.0),  # SHFE-family; SHFE listing notice (launch fees)
    ):
        assert t.compile("option_margin_floor", [code], ["2025-06-03"]).value[0, 0] == floor, prod
        c = t.compile("option_fee", [code], ["2025-06-03"])
        r = c.rows[int(c.row[0, 0])]
        assert r.fee is not None and (r.fee[1], r.get("exercise")) == fee, prod
        assert t.compile("option_max_order", [code], ["2025-06-03"]).value[0, 0] == order, prod


def test_option_rows_not_in_force_before_the_options_listed() -> None:
    t = RuleTable.default()
    c = t.compile("option_margin_floor", ["sc2106"], ["2021-05-06"])  # sc options list 2021-06-21
    assert int(c.row[0, 0]) == -1


def test_option_fee_needs_exercise_and_floor_in_unit_range() -> None:
    with pytest.raises(InputError, match="exercise"):
        RuleTable.from_dict(
            _row("option_fee", basis="per_lot", open=1.0, close=1.0, close_today=0.0), conventions=CONV
        )
    with pytest.raises(InputError, match="option_margin_floor"):
        RuleTable.from_dict(_row("option_margin_floor", value=1.5), conventions=CONV)
    with pytest.raises(InputError, match="exercise"):
        RuleTable.from_dict(
            _row("option_fee", basis="per_lot", open=1.0, close=1.0, close_today=0.0, exercise=-1.0),
            conventions=CONV,
        )
    with pytest.raises(InputError, match="unknown field"):
        RuleTable.from_dict(_row("fee", basis="per_lot", open=1.0, close=1.0, close_today=0.0, exercise=1.0),
                            conventions=CONV)  # fmt: skip


def test_option_rows_can_be_overridden() -> None:
    b = RuleBook.default().with_override(
        "option_fee", "sc", effective="2025-01-02", basis="per_lot", open=5.0, close=5.0, close_today=0.0,
        exercise=5.0,
    )  # fmt: skip
    c = b.rules.compile("option_fee", ["sc2509"], ["2025-06-03"])
    assert c.rows[int(c.row[0, 0])].fee == ("per_lot", 5.0, 5.0, 0.0)
