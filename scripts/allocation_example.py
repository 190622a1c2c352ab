"""The worked example of docs/allocation.md: China commodities as an asset class for a USD investor.

Usage: ``python scripts/allocation_example.py`` rewrites the generated section of
docs/allocation.md; ``--check`` exits 1 when the committed page is out of date (a test runs it).

Inputs: the bundled sample markets (real EIA Brent and FRED USD/CNY; the futures contracts are
SIMULATED, seeded), the shipped route economics and access rules, and the stated illustrative
rates below (set your own).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _docpage

DOC = Path(__file__).resolve().parents[1] / "docs" / "allocation.md"
BEGIN, END = _docpage.markers("allocation-example", "allocation_example.py")

START, END_DAY = "2021-01-04", "2025-06-06"
PRODUCTS = ("sc", "i", "nr", "ru")
SEED = 20260101
CNY_RATE, USD_RATE = 0.018, 0.045  # illustrative stated yields [fraction/year]
HEDGE_COST = 0.025  # illustrative FX hedge cost [fraction/year]
NOTIONAL = 10_000_000.0  # USD
MC = {"start": "2024-01-02", "end": "2025-06-06", "n_paths": 100, "seed": 7}
#: Illustrative stated correlation of every pair of products' factor shocks (set your own, e.g.
#: simulate.estimate_correlation of your own daily settlements).
MC_RHO = 0.4


def _pct(x: float) -> str:
    return f"{100 * x:.2f} %"


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    return [
        "| " + " | ".join(header) + " |",
        "|" + "---|" * len(header),
        *("| " + " | ".join(r) + " |" for r in rows),
    ]


def render_body() -> str:
    """The generated Markdown: every number of the tutorial."""
    import polars as pl

    from cnfutures.allocation import build_index, correlation, monte_carlo, performance, replay, roll_yield
    from cnfutures.backtest import Market
    from cnfutures.frames.datasets import load_brent

    markets = {p: Market.sample(p, START, END_DAY, seed=SEED + k) for k, p in enumerate(PRODUCTS)}
    futures = {p: m.futures for p, m in markets.items()}
    fx = markets["sc"].usd_cny
    out: list[str] = []
    out += [
        "### 1. The index: four sleeves, equal weights, rebalanced every year",
        "",
        f'`build_index(futures, "equal", rebalance="annual", usd_cny=fx, cny_rate={CNY_RATE}, '
        f"usd_rate={USD_RATE})` on the sample market {START} to {END_DAY} "
        "(SIMULATED contracts; FRED USD/CNY).",
        "",
    ]
    ix = build_index(futures, "equal", rebalance="annual", usd_cny=fx, cny_rate=CNY_RATE, usd_rate=USD_RATE)
    rows = []
    for col, what in (
        ("er_cny", "excess return, CNY"),
        ("tr_cny", f"total return, CNY cash at {_pct(CNY_RATE)}"),
        ("er_usd", "excess return, USD unhedged"),
        ("tr_usd", f"total return, USD collateral at {_pct(USD_RATE)}, unhedged"),
    ):
        p = performance(ix, col)
        rows.append(
            [
                f"`{col}`",
                what,
                f"{ix.levels[col][-1]:.2f}",
                _pct(p["annual_return"]),
                _pct(p["annual_vol"]),
                _pct(p["max_drawdown"]),
                f"{p['max_drawdown_peak']} → {p['max_drawdown_trough']}",
            ]
        )
    out += _table(
        [
            "level",
            "meaning",
            "last (base 100)",
            "annual return",
            "annual vol",
            "max drawdown",
            "peak → trough",
        ],
        rows,
    )
    out += ["", "### 2. Where the excess return came from: price change and roll yield", ""]
    ry = roll_yield(ix)
    out += _table(
        [
            "sleeve",
            "excess return",
            "price change",
            "roll yield",
            "roll contribution to index",
            "mean weight",
        ],
        [
            [
                r["sleeve"],
                _pct(r["excess_return"]),
                _pct(r["price_change"]),
                _pct(r["roll_yield"]),
                _pct(r["roll_contribution"]),
                _pct(r["mean_weight"]),
            ]
            for r in ry.iter_rows(named=True)
        ],
    )
    out += [
        "",
        "All per year (log). The sample market's carry parameters set these roll yields; on real "
        "files they are what the curve paid.",
        "",
    ]
    out += ["### 3. Weights, collateral and the FX hedge", ""]
    rows = []
    variants: list[tuple[str, dict[str, Any]]] = [
        ("equal, annual", {"weights": "equal"}),
        (
            "inverse volatility (252 days), capped at 40 %, quarterly",
            {"weights": "inverse_vol", "cap": 0.4, "rebalance": "quarterly"},
        ),
        (
            "fixed sc 40 / i 30 / nr 15 / ru 15, monthly",
            {"weights": {"sc": 0.4, "i": 0.3, "nr": 0.15, "ru": 0.15}, "rebalance": "monthly"},
        ),
        ("equal, CNY collateral, unhedged", {"weights": "equal", "collateral": "CNY"}),
        (
            f"equal, USD collateral, FX hedged at {_pct(HEDGE_COST)}/year",
            {"weights": "equal", "fx": "hedged", "hedge_cost": HEDGE_COST},
        ),
    ]
    for name, kw in variants:
        w = kw.pop("weights")
        kw.setdefault("rebalance", "annual")
        v = build_index(futures, w, usd_cny=fx, cny_rate=CNY_RATE, usd_rate=USD_RATE, **kw)
        p = performance(v, "tr_usd")
        rows.append(
            [name, str(p["start"]), _pct(p["annual_return"]), _pct(p["annual_vol"]), _pct(p["max_drawdown"])]
        )
    out += _table(["variant", "first day", "USD total return / year", "vol / year", "max drawdown"], rows)
    out += ["", "Inverse volatility starts 252 trading days later: its first weights need that history.", ""]
    c = correlation(ix, load_brent(), "tr_usd")
    cd = correlation(ix, load_brent(), "tr_usd", freq="monthly")
    out += [
        "### 4. Against Brent",
        "",
        f"Weekly USD total returns vs EIA Brent spot [USD/bbl]: correlation **{c['correlation']:.3f}**, beta "
        f"{c['beta']:.3f} ({c['observations']} weeks); monthly: {cd['correlation']:.3f} "
        f"({cd['observations']} months). The sample's `sc` contracts are driven by Brent × USD/CNY, "
        "the other three sleeves are "
        "simulated independently of it, so this measures the construction, not history.",
        "",
    ]
    # investable replay: the three products a foreign route can hold over the whole period
    three = {p: markets[p] for p in ("sc", "i", "nr")}
    ix3 = build_index(
        {p: m.futures for p, m in three.items()},
        "equal",
        rebalance="quarterly",
        usd_cny=fx,
        usd_rate=USD_RATE,
        start="2023-01-03",
    )
    rp = replay(ix3, three, NOTIONAL)
    out += [
        f"### 5. Investable: {NOTIONAL:,.0f} USD through each route",
        "",
        "`ru` is left out: before 2025-06-20 no foreign route may hold it (QFI list; not a specified "
        f"product), and `build_index(..., route=...)` or `replay` says so. Sleeves sc, i, nr, equal weights, "
        f"quarterly, 2023-01-03 to {END_DAY}, USD collateral at {_pct(USD_RATE)}, "
        "booked by the engine with each route's commissions, FX channel, collateral haircut, margins, "
        "limits and whole lots. [USD]",
        "",
    ]
    cols = (
        "route",
        "paper_usd",
        "investable_usd",
        "tracking_difference_usd",
        "fees_usd",
        "fx_cost_usd",
        "funding_usd",
        "fx_revaluation_usd",
        "whole_lots_usd",
        "sizing_usd",
        "roll_and_locks_usd",
        "interest_usd",
        "peak_usd_posted",
        "limit_locked_days",
    )
    out += _table(
        [c.replace("_usd", "").replace("_", " ") for c in cols],
        [
            [r[c] if isinstance(r[c], str) else f"{r[c]:,.0f}" for c in cols]
            for r in rp.tracking.iter_rows(named=True)
        ],
    )
    out += [""]
    for route, why in rp.denied.items():
        out.append(f"- **{route}**: not open — {why.split(';')[0]}")
    out += [""]
    pairs = {(a, b): MC_RHO for i, a in enumerate(PRODUCTS) for b in PRODUCTS[i + 1 :]}

    def mc(corr: object, column: str) -> pl.DataFrame:
        kw: dict[str, Any] = {**MC, "rebalance": "annual", "column": column}
        return monte_carlo(list(PRODUCTS), "equal", corr=corr, **kw)

    runs = {
        "independent, er_cny": mc("independent", "er_cny"),
        f"ρ = {MC_RHO}, er_cny": mc(pairs, "er_cny"),
        f"ρ = {MC_RHO}, er_usd": mc(pairs, "er_usd"),
    }
    qs = {
        name: mc.select(
            *(
                pl.col(c).quantile(x).alias(f"{c}_{int(100 * x)}")
                for c in ("annual_return", "annual_vol", "max_drawdown")
                for x in (0.05, 0.5, 0.95)
            )
        ).row(0, named=True)
        for name, mc in runs.items()
    }
    out += [
        f"### 6. Monte Carlo: {MC['n_paths']} simulated markets",
        "",
        f"`monte_carlo(['sc', 'i', 'nr', 'ru'], 'equal', corr=..., start='{MC['start']}', end='{MC['end']}', "
        f"n_paths={MC['n_paths']}, seed={MC['seed']})`: the same index on each path, the four products "
        "simulated together by their default models with one USD/CNY path per path. The correlation "
        f"is a required input: `corr='independent'`, and an illustrative `ρ = {MC_RHO}` for every pair "
        "(set your own, e.g. `simulate.estimate_correlation` of your settlements). Independence "
        "understates the index's volatility: the diversification it shows is not in the data.",
        "",
    ]
    rows = []
    for name, q in qs.items():
        for c, what in (("annual_return", "annual return"), ("annual_vol", "annual volatility"),
                        ("max_drawdown", "max drawdown")):  # fmt: skip
            rows.append([name, what, _pct(q[f"{c}_5"]), _pct(q[f"{c}_50"]), _pct(q[f"{c}_95"])])
    out += _table(["correlation, level", "quantity", "5th percentile", "median", "95th percentile"], rows)
    return "\n".join(out) + "\n"


def render(text: str) -> str:
    """``text`` with the generated section replaced by a fresh run of the example."""
    return _docpage.replace(text, BEGIN, END, render_body(), doc=DOC)


def main(argv: list[str]) -> int:
    return _docpage.main(DOC, render, argv, "allocation_example.py")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
