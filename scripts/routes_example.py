"""The worked example of docs/routes.md: one hedge through every access route.

Usage: ``python scripts/routes_example.py`` rewrites the generated section of docs/routes.md;
``--check`` exits 1 when the committed page is out of date (a test runs it).

Inputs: the bundled sample markets (real EIA Brent and FRED USD/CNY; the futures are
SIMULATED, seeded), the shipped route economics (commercial defaults, see docs/access.md) and
the library's base costs (funding 5 %/year, margin buffer 20 %).
"""

from __future__ import annotations

import sys
from pathlib import Path

import polars as pl

DOC = Path(__file__).resolve().parents[1] / "docs" / "routes.md"
BEGIN = "<!-- BEGIN GENERATED: routes-example (scripts/routes_example.py) -->"
END = "<!-- END GENERATED: routes-example -->"

CASES = (
    # name, product, quantity [bbl or t], hedging quota [lots], start, end
    (
        "Crude importer: 1,000,000 bbl hedged with INE sc",
        "sc",
        1_000_000.0,
        5_000,
        "2024-01-02",
        "2025-06-06",
    ),
    ("Iron-ore buyer: 100,000 t hedged with DCE i", "i", 100_000.0, None, "2024-01-02", "2025-06-06"),
)
COLS = (
    ("route", "route"), ("exchange_fees_usd", "exchange fees"), ("ff_commission_usd", "FF commission"),
    ("oi_markup_usd", "OI mark-up"), ("osbp_commission_usd", "OSBP commission"),
    ("clearing_fee_usd", "clearing fee"), ("fx_spread_usd", "FX spread"),
    ("fx_collateral_usd", "FX on CNY margin"), ("funding_usd", "funding"), ("custodian_usd", "custodian"),
    ("total_cost_usd", "total cost"), ("peak_usd_posted", "peak USD posted"),
    ("margin_calls", "margin calls"), ("effectiveness_daily", "effectiveness (daily)"),
    ("effectiveness_weekly", "effectiveness (weekly)"),
)  # fmt: skip


def _cell(col: str, v: object) -> str:
    if v is None:
        return "—"
    if isinstance(v, float):
        return f"{v:.3f}" if col.startswith("effectiveness") else f"{v:,.0f}"
    return str(v)


def render_case(name: str, code: str, qty: float, quota: int | None, start: str, end: str) -> str:
    """One worked comparison as Markdown."""
    from cnfutures.backtest import Exposure, HedgePolicy, Market
    from cnfutures.backtest.routes import compare_routes

    m = Market.sample(code, start, end)
    price = next(iter(m.prices))
    expo = Exposure(qty, "short", price, "USD" if price == "brent" else "CNY")
    cmp = compare_routes(m, expo, HedgePolicy(code), hedging_quota=quota, start=start, end=end)
    t = cmp.table
    q = f", hedging quota {quota:,} lots" if quota else ""
    lines = [
        f"### {name}",
        "",
        f"Short exposure priced off `{price}`, hedge ratio 1, {start} to {end}{q}.",
        "",
    ]
    lines.append("| " + " | ".join(h for _, h in COLS) + " |")
    lines.append("|" + "---|" * len(COLS))
    for rec in t.filter(pl.col("eligible")).iter_rows(named=True):
        lines.append("| " + " | ".join(_cell(c, rec[c]) for c, _ in COLS) + " |")
    lines.append("")
    for rec in t.iter_rows(named=True):
        if not rec["eligible"]:
            lines.append(f"- **{rec['route']}**: not eligible: {rec['reason']}")
        elif rec["constraints"]:
            lines.append(f"- **{rec['route']}**: {rec['constraints']}")
    taxes = dict(t.filter(pl.col("eligible")).select("route", "tax").rows())
    for tax in dict.fromkeys(taxes.values()):
        lines.append(f"- Tax ({', '.join(r for r, x in taxes.items() if x == tax)}): {tax}")
    lines.append(f"- Cheapest eligible route on these inputs: **{cmp.cheapest()}**.")
    return "\n".join(lines) + "\n"


def render(text: str) -> str:
    """``text`` with the generated section replaced by a fresh run of the examples."""
    if BEGIN not in text or END not in text:
        raise SystemExit(f"{DOC}: markers {BEGIN!r} / {END!r} not found")
    head, rest = text.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    body = "\n".join(render_case(*case) for case in CASES)
    return f"{head}{BEGIN}\n{body}{END}{tail}"


def main(argv: list[str]) -> int:
    text = DOC.read_text(encoding="utf-8")
    new = render(text)
    if "--check" in argv:
        if new != text:
            print(f"{DOC} is out of date: run python scripts/routes_example.py", file=sys.stderr)
            return 1
        return 0
    DOC.write_text(new, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
