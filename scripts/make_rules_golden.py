"""Write tests/reference/rules_golden.csv: rule values around every change in the rule data.

For every row of the bundled rule table of sc, i, nr and ru (and the end of every temporary
row), a contract the row applies to is chosen (the first one listed on that day, within the
row's contract scope), and the margin (speculative and hedging), price-limit rate, limit band
around a reference price and fee are written for the trading day before the change and the
day it applies, with the source of each deciding row. Review the diff against the notices
before committing a regenerated file.

Usage: ``python scripts/make_rules_golden.py`` (prints the number of rows written).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl

from cnfutures.market.calendar import calendar
from cnfutures.market.contracts import contract, listed_contracts
from cnfutures.market.products import product
from cnfutures.market.rules import RuleBook, limit_band
from cnfutures.market.ruletable import _FAR, contract_month

OUT = Path(__file__).parents[1] / "tests" / "reference" / "rules_golden.csv"
PRODUCTS = ("sc", "i", "nr", "ru")
REF_PRICE = {"sc": 500.0, "i": 700.0, "nr": 12000.0, "ru": 14000.0}
EPOCH = dt.date(1970, 1, 1)


def _cases(book: RuleBook) -> list[tuple[str, dt.date]]:
    out: set[tuple[str, dt.date]] = set()
    for r in book.rules.rows:
        if r.product not in PRODUCTS or r.parameter == "first_day_limit_multiplier":
            continue
        if r.parameter.startswith("option_"):  # option rows: tests/test_options*.py
            continue
        for point in (r.start, r.stop):
            if point >= _FAR:
                continue
            day = EPOCH + dt.timedelta(days=point)
            cal = calendar(product(r.product).exchange)
            if day > cal.bounds[1] or day < cal.bounds[0]:
                continue
            listed = [
                c for c in listed_contracts(r.product, day)
                if (not r.contracts or c.code in r.contracts)
                and r.month_lo <= contract_month(c.code) <= r.month_hi
                and (r.stage is None or c.stage(day) == r.stage)
            ]  # fmt: skip
            if not listed:
                continue
            c = listed[0]
            prev = cal.previous_trading_day(day)
            if c.first_trading_day <= prev:
                out.add((c.code, prev))
            out.add((c.code, day))
    return sorted(out, key=lambda x: (x[0][:2], x[1], x[0]))


def golden() -> pl.DataFrame:
    """The golden table, computed from the bundled rule data."""
    book = RuleBook.default()
    rows = []
    for code, day in _cases(book):
        c = contract(code)
        p = c.product
        spec = book.margin_rate(c, day)
        hedge = book.margin_rate(c, day, hedge=True)
        lim = book.price_limit(c, day)
        up, dn = limit_band(REF_PRICE[p.code], lim.rate, p.tick)
        fee = book.fee(c, day)
        rows.append(
            {
                "contract": code, "trading_day": day, "margin_spec": spec.value, "margin_hedge": hedge.value,
                "limit_rate": round(lim.rate, 10), "ref_price": REF_PRICE[p.code], "limit_up": float(up),
                "limit_down": float(dn), "fee_basis": fee.basis, "fee_open": fee.open, "fee_close": fee.close,
                "fee_close_today": fee.close_today,
                "verified": spec.verified and hedge.verified and lim.rule.verified and fee.verified,
                "margin_source": " | ".join(spec.sources), "limit_source": " | ".join(lim.rule.sources),
                "fee_source": fee.source,
            }
        )  # fmt: skip
    return pl.DataFrame(rows)


def main() -> None:
    g = golden()
    g.write_csv(OUT)
    print(f"wrote {g.height} rows to {OUT}")


if __name__ == "__main__":
    main()
