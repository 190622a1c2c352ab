"""The worked example of docs/options.md: a crude importer's calls and collar on sc2509.

Usage: ``python scripts/options_example.py`` (prints the tables quoted in docs/options.md).
Inputs are illustrative (sc2509 settlement 480.3 CNY/bbl on 2025-06-03, volatility 35 %,
CNY rate 1.5 %); the rules (expiry, margin rate, floor, fees, limits) come from the bundled data.
"""

from __future__ import annotations

import polars as pl

from cnfutures.market.options import listed_strikes, option, option_fee, option_margin, option_price_limit
from cnfutures.valuation import value_options

ON, F, R, SIGMA = "2025-06-03", {"sc2509": 480.3}, 0.015, 0.35
COLS = ("option", "lots", "price", "premium", "value", "delta_lots", "vega_cny", "theta_cny", "margin")


def example() -> dict[str, pl.DataFrame]:
    """The tables of the worked example."""
    calls = value_options({"sc2509C520": 10}, ON, F, r=R, sigma=SIGMA)
    collar = value_options({"sc2509C520": 10, "sc2509P440": -10}, ON, F, r=R, sigma=SIGMA)
    return {"calls": calls, "collar": collar}


def main() -> None:
    o = option("sc2509C520")
    print(f"{o.code}: underlying {o.underlying.code}, {o.style}, expiry {o.expiry}, {o.multiplier:g} bbl/lot")
    s = listed_strikes("sc2509", ON, 480.3)
    print(f"strikes listed on {ON} around 480.3: {s[0]:g} .. {s[-1]:g} ({len(s)} strikes)")
    with pl.Config(tbl_cols=-1, tbl_width_chars=200, float_precision=2):
        for name, f in example().items():
            print(name)
            print(f.select(COLS))
            if name == "collar":
                print(f.select("value", "delta_lots", "vega_cny", "theta_cny", "margin").sum())
    m = option_margin("sc2509P440", ON, 12.56, 480.3)
    print(
        f"short put margin per lot at settle 12.56: {m.margin:,.2f} (futures margin {m.futures_margin:,.2f}, "
        f"OTM {m.otm_amount:,.2f}, floor {m.floor}) verified={m.verified}"
    )
    fee = option_fee("sc2509C520", ON)
    print(f"fees per lot: trade {fee.open:g}, exercise {fee.exercise:g} (verified={fee.verified})")
    lim = option_price_limit("sc2509C520", ON, 14.86, 480.3)
    print(f"price limit next day around 14.86: {lim.lower:g} .. {lim.upper:g} (amount {lim.amount:g})")


if __name__ == "__main__":
    main()
