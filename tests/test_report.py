"""The HTML reports: attribution and cash explained from the numbers, escaping, size, sections,
Monte Carlo and sweep pages (rendering in a real browser: tests/test_report_browser.py)."""

from __future__ import annotations

import html
import json
import re
from functools import cache
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from cnfutures.access import Investor
from cnfutures.backtest import Costs, Exposure, HedgePolicy, Market, run
from cnfutures.backtest.result import BacktestResult
from cnfutures.errors import InputError
from cnfutures.frames.roll import RollRule
from cnfutures.report import Section, efficient_set, esc, write_page, write_sweep_report


@cache
def iron_ore() -> BacktestResult:
    """The iron-ore example: a CNY iron-ore buyer (short 1 Mt) hedged long DCE i through a QFI."""
    m = Market.sample("i", "2019-01-02", "2025-06-06")
    return run(  # type: ignore[no-any-return]
        m, Exposure(1_000_000, "short", "spot", "CNY"), HedgePolicy("i"), Investor("qfi"), Costs(),
        start="2022-09-05",
    )  # fmt: skip


@cache
def crude() -> BacktestResult:
    """1 M bbl Brent buyer hedged with sc, OSBP client, 2019-2025, with ``Costs()`` (the CLI now
    defaults to the route's own costs)."""
    m = Market.sample("sc", "2019-01-02", "2025-06-06")
    pol = HedgePolicy(
        "sc", slippage_ticks=1.0,
        roll=RollRule(kind="calendar", days_before_ltd=5, before_stage="month_before_delivery"),
    )  # fmt: skip
    return run(m, Exposure(1_000_000, "short", "brent", "USD"), pol, Investor("osbp_client"), Costs())  # type: ignore[no-any-return]


def _text(page: Path) -> str:
    """The page's visible text, tags stripped and entities decoded."""
    raw = page.read_text()
    raw = re.sub(r"<script.*?</script>", "", raw, flags=re.S)
    return html.unescape(re.sub(r"<[^>]+>", " ", raw))


def test_iron_ore_roll_yield_is_explained_in_the_report(tmp_path: Path) -> None:
    r = iron_ore()
    led = r.ledger
    # the rolls counted straight from the ledger: the held contract changed with lots carried in
    rolled = (
        (led["contract"] != led["contract"].shift(1)) & (led["lots"].shift(1) != 0) & (led["roll_lots"] != 0)
    )
    n = int(rolled.sum())
    assert n == 33
    roll = float(r.attribution("total").filter(pl.col("component") == "hedge_roll_usd")["usd"][0])
    assert roll < -1e7  # a long hedge in a contango curve pays the gap at each roll
    text = " ".join(_text(r.report(tmp_path)).split())
    assert f"Roll yield: the hedge rolled {n} times" in text
    assert "above (contango)" in text and "Holding long futures, the hedge paid that gap" in text
    assert f"{roll / 1e6:,.1f} M USD" in text
    assert "Hedge effectiveness (0.70) measures how well the daily P&L offsets, not this steady drift" in text


def test_negative_usd_posted_is_explained_in_the_report(tmp_path: Path) -> None:
    r = crude()
    led = r.ledger
    k = int(np.argmin(led["usd_posted"].to_numpy()))
    low = float(led["usd_posted"][k])
    assert low < -5e7
    earned = float(led["hedge_pnl_usd"][: k + 1].sum())
    text = " ".join(_text(r.report(tmp_path)).split())
    assert f"reached {low / 1e6:,.1f} M USD on {led['trading_day'][k]}" in text
    assert f"the hedge had earned {earned / 1e6:,.1f} M USD of variation margin, credited in CNY" in text
    assert "A negative figure is money the hedge has paid out to you" in text
    peak = float(led["usd_posted"].max())  # type: ignore[arg-type]
    assert f"peaked at {peak / 1e6:,.1f} M USD" in text


def test_attribution_table_and_waterfall_add_up(tmp_path: Path) -> None:
    r = iron_ore()
    raw = r.report(tmp_path).read_text()
    assert raw.count("<svg") >= 1 and "net P&amp;L" in raw
    net = r["net_pnl_usd"]
    assert f"Net P&amp;L {net / 1e6:,.1f} M USD" in raw


def test_user_strings_are_escaped(tmp_path: Path) -> None:
    r = crude()
    bad = "<script>alert('x')</script>"
    evil = BacktestResult(r.ledger, r.summary, r.simulated, bad, bad, daily_attribution=r.daily_attribution)
    page = evil.report(tmp_path / "x.html")
    raw = page.read_text()
    assert bad not in raw
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in raw
    assert bad in _text(page)  # shows as text
    # a label inside a chart's data cannot close the data block
    sec = Section(bad, "<p>" + esc(bad) + "</p>")
    p2 = write_page(tmp_path / "y.html", bad, bad, [sec], intro=(bad,))
    assert bad not in p2.read_text() and p2.read_text().count("&lt;script&gt;") == 6
    m = re.search(r'<script type="application/json" id="cnf-data">(.*?)</script>', raw, flags=re.S)
    assert m is not None and "</" not in m.group(1)
    assert json.loads(m.group(1))["charts"]


def test_six_year_report_is_small_and_offline(tmp_path: Path) -> None:
    page = crude().report(tmp_path)
    raw = page.read_text()
    assert page.stat().st_size < 5_000_000
    assert not re.search(r"(src|href)=['\"]?(https?:)?//", raw)  # no CDN, no remote asset
    assert "uPlot" in raw and raw.count("class='cnf-chart'") == 5
    spec = json.loads(re.search(r'id="cnf-data">(.*?)</script>', raw, flags=re.S).group(1))  # type: ignore[union-attr]
    assert all(len(c["x"]) == 1557 for c in spec["charts"])
    # every chart has a legend entry per series; lots and ratio are on their own charts
    titles = [c["title"] for c in spec["charts"]]
    assert any(t.startswith("Lots held") for t in titles) and any(t.startswith("Hedge ratio") for t in titles)
    assert all(s["label"] for c in spec["charts"] for s in c["series"])


def test_extra_sections_plug_in(tmp_path: Path) -> None:
    sec = Section("Routes side by side", "<table><tr><td>route</td></tr></table>")
    raw = iron_ore().report(tmp_path, sections=[sec]).read_text()
    assert "Routes side by side" in raw and raw.index("Routes side by side") > raw.index(
        "Cash and collateral"
    )


def test_report_refuses_a_foreign_file(tmp_path: Path) -> None:
    mine = tmp_path / "notes.html"
    mine.write_text("<html>my notes</html>")
    with pytest.raises(InputError, match="not a cnfutures report"):
        write_page(mine, "sweep", "x", [])
    assert write_page(mine, "sweep", "x", [], overwrite=True).read_text().startswith("<!doctype html>")


def _naive_efficient(cost: list[float], var: list[float]) -> list[bool]:
    """Pareto set by brute force: no other point at most as costly and as variable, better in one."""
    out = []
    for i, (c, v) in enumerate(zip(cost, var, strict=True)):
        dominated = any(
            (c2 <= c and v2 <= v and (c2 < c or v2 < v))
            for j, (c2, v2) in enumerate(zip(cost, var, strict=True))
            if j != i
        )
        out.append(not dominated)
    return out


def test_efficient_set_matches_brute_force() -> None:
    rng = np.random.default_rng(5)
    for _ in range(50):
        c = rng.integers(0, 8, 12).astype(float)
        v = rng.integers(0, 8, 12).astype(float)
        got = efficient_set(c, v).tolist()
        want = _naive_efficient(c.tolist(), v.tolist())
        # ties (equal cost and variance) keep one point of the pair: compare the (cost, var) sets
        assert {(c[i], v[i]) for i in range(12) if got[i]} == {(c[i], v[i]) for i in range(12) if want[i]}


def test_sweep_report(tmp_path: Path) -> None:
    t = pl.DataFrame({
        "point": [0, 1, 2, 3], "band": [0, 5, 10, 20], "hedged_variance": [3.0, 1.0, 2.0, 0.5],
        "total_cost_usd": [9e5, 7e5, 8e5, 2e6], "error": [None, None, None, "DataError: <b>"],
    })  # fmt: skip
    raw = write_sweep_report(t, tmp_path, title="<i>mine</i>").read_text()
    assert "&lt;i&gt;mine" in raw and "<i>mine" not in raw
    assert "4 points, 1 failed" in raw and "1 of 3 policies are on the efficient set" in raw
    assert raw.count("<circle") == 3 + 2  # three points and two legend marks


def test_risk_report_has_fan_charts(tmp_path: Path) -> None:
    from cnfutures.risk import hedge_risk

    r = hedge_risk(Exposure(100_000, "short", "benchmark"), HedgePolicy("sc"), Investor("qfi"),
                   start="2025-01-02", n_days=60, n_paths=50, seed=3)  # fmt: skip
    raw = r.report(tmp_path).read_text()
    spec = json.loads(re.search(r'id="cnf-data">(.*?)</script>', raw, flags=re.S).group(1))  # type: ignore[union-attr]
    assert [c["title"] for c in spec["charts"]] == [
        "Cumulative P&L across paths (SIMULATED)",
        "Net USD posted across paths (SIMULATED)",
    ]
    # the median of the fan equals numpy's median of the per-path cumulative hedged P&L on the last day
    last = r.fan.filter(pl.col("series") == "hedged_pnl_usd").tail(1)["q50"][0]  # type: ignore[union-attr]
    assert last == pytest.approx(r.paths["net_pnl_usd"].median(), rel=1e-12)
    assert "USD to keep ready" in raw


def test_sweep_report_needs_the_sweep_columns(tmp_path: Path) -> None:
    t = pl.DataFrame({"point": [0], "band": [0], "hedged_variance": [1.0], "error": [None]})
    with pytest.raises(InputError, match=r"needs the sweep's columns \['total_cost_usd'\]"):
        write_sweep_report(t, tmp_path)


def test_report_needs_no_matplotlib(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    from cnfutures.errors import OptionalDependencyMissing
    from cnfutures.report import figures

    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib -> ImportError
    r = iron_ore()
    raw = r.report(tmp_path).read_text()
    assert raw.count("class='cnf-chart'") == 5 and "Where the money went" in raw
    with pytest.raises(OptionalDependencyMissing, match=r'pip install "cnfutures\[report\]"'):
        figures(r)


def test_static_png_figures(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    paths = iron_ore().plot(tmp_path)
    assert [p.name for p in paths] == ["pnl.png", "margin.png", "lots.png"]
    for p in paths:
        assert p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and p.stat().st_size > 10_000
