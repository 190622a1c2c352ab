"""The worked numbers of docs/options-hedging.md: futures or a collar for a crude importer.

Usage: ``python scripts/options_hedging.py`` rewrites the generated section of
docs/options-hedging.md; ``--check`` exits 1 when the committed page is out of date (a test runs it).

Inputs: the bundled sample market (real EIA Brent and FRED USD/CNY; the sc contracts are
SIMULATED, seeded), the shipped option specs and rules, a flat implied volatility of 35 % and a
1.5 % CNY rate for the model prices (no option settlements are shipped), and for Monte Carlo the
seeded two-factor model with its implied-vol process (``cnfutures.simulate.implied_vol``).
"""

from __future__ import annotations

import sys
from pathlib import Path

import polars as pl

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _docpage

DOC = Path(__file__).resolve().parents[1] / "docs" / "options-hedging.md"
BEGIN, END = _docpage.markers("options-hedging", "options_hedging.py")

QTY = 500_000.0  # bbl: one VLCC-size parcel a month kept unpriced, 500 lots of sc
START, END_DAY = "2024-06-03", "2025-06-06"
VOL, RATE = 0.35, 0.015
PATHS, SEED = 500, 18

ROWS = (
    ("net_pnl_usd", "net P&L (exposure + hedge - costs)"), ("vol_hedged_usd", "volatility of daily net P&L"),
    ("max_drawdown_hedged_usd", "worst drawdown"), ("effectiveness_daily", "variance reduction (daily)"),
    ("costs_usd", "fees, FX spread, funding"), ("cost_of_protection_usd", "net premium + option fees"),
    ("option_pnl_usd", "option P&L"), ("peak_usd_posted", "peak USD sent to the futures firm"),
    ("peak_option_margin_cny", "peak short-option margin [CNY]"),
)  # fmt: skip


def _policies() -> dict[str, object]:
    from cnfutures.backtest import HedgePolicy, collar, protective_call

    opt = {"option_vol": VOL, "option_rate": RATE}
    return {
        "unhedged": HedgePolicy("sc", ratio=0.0),
        "futures": HedgePolicy("sc"),
        "call 105 %": HedgePolicy("sc", ratio=0.0, options=protective_call(1.05), **opt),  # type: ignore[arg-type]
        "collar 95-105 %": HedgePolicy("sc", ratio=0.0, options=collar(1.05, 0.95), **opt),  # type: ignore[arg-type]
    }


def _num(col: str, v: object) -> str:
    if v is None:
        return "—"
    assert isinstance(v, float)
    return f"{v:.3f}" if col == "effectiveness_daily" else f"{v:,.0f}"


def sample_section() -> str:
    """The four policies replayed on the sample market, one table (:func:`cnfutures.backtest.compare`)."""
    from cnfutures.access import Investor
    from cnfutures.backtest import Exposure, Market, compare

    m = Market.sample("sc", "2024-05-06", END_DAY)  # a month before START: previous settlements
    pols = _policies()
    t = compare(m, Exposure(QTY, "short", "brent"), pols, Investor("qfi"), start=START)  # type: ignore[arg-type]
    lines = ["| metric [USD] | " + " | ".join(pols) + " |", "|---|" + "---:|" * len(pols)]
    for col, label in ROWS:
        rec = t.filter(pl.col("metric") == col).row(0, named=True)
        lines.append(f"| {label} | " + " | ".join(_num(col, rec[n]) for n in pols) + " |")
    return "\n".join(lines) + "\n"


def risk_section() -> str:
    """The same policies on seeded Monte Carlo paths (:func:`cnfutures.backtest.risk.hedge_risk`)."""
    from dataclasses import replace

    from cnfutures.access import Investor
    from cnfutures.backtest import Exposure
    from cnfutures.backtest.risk import hedge_risk

    cols = (("net_pnl_usd", "mean"), ("net_pnl_usd", "q05"), ("net_pnl_usd", "q50"), ("net_pnl_usd", "q95"),
            ("max_drawdown_hedged_usd", "q05"), ("cost_of_protection_usd", "mean"))  # fmt: skip
    head = ("net P&L mean", "net P&L 5 %", "net P&L median", "net P&L 95 %", "drawdown 5 %",
            "cost of protection, mean")  # fmt: skip
    lines = ["| policy | " + " | ".join(head) + " |", "|---|" + "---:|" * len(head)]
    for name, p in _policies().items():
        pol = replace(p, option_vol=None) if p.options else p  # type: ignore[attr-defined]
        r = hedge_risk(Exposure(QTY, "short", "benchmark"), pol, Investor("qfi"), start="2025-01-02",
                       n_days=244, n_paths=PATHS, seed=SEED, fan=False)  # fmt: skip
        s = r.summary(q=(0.05, 0.5, 0.95))
        cells = []
        for metric, stat in cols:
            row = s.filter(pl.col("metric") == metric)
            cells.append("—" if row.height == 0 else f"{row[stat][0]:,.0f}")
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def render(text: str) -> str:
    """``text`` with the generated section replaced by a fresh run."""
    body = (
        f"#### On the sample market, {START} to {END_DAY}\n\n{sample_section()}\n"
        f"#### On {PATHS} simulated years from 2025-01-02 (seed {SEED})\n\n{risk_section()}"
    )
    return _docpage.replace(text, BEGIN, END, body, doc=DOC)


def main(argv: list[str]) -> int:
    return _docpage.main(DOC, render, argv, "options_hedging.py")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
