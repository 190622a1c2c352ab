"""The reports rendered in a real headless Chromium (Debian's ``chromium``, never a downloaded build).

Fails on any JavaScript console error or page error, on a chart that did not draw (its
``<canvas>``) or an SVG figure missing, and on a hover that shows no ledger values; saves a
screenshot of each page to ``.bench/screenshots/`` (CI keeps them). Skips with the reason
when Chromium or the ``playwright`` package is absent, unless ``CNF_REQUIRE_BROWSER=1``.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import polars as pl
import pytest

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[1]
SHOTS = ROOT / ".bench" / "screenshots"
ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]  # fmt: skip


def _chromium() -> str | None:
    for name in ("/usr/bin/chromium", "chromium", "chromium-browser"):
        found = shutil.which(name)
        if found:
            return found
    return None


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    required = os.environ.get("CNF_REQUIRE_BROWSER") == "1"
    exe = _chromium()
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        if required:
            raise
        pytest.skip("the playwright package is not installed (pip install -e '.[dev]')")
    if exe is None:
        if required:
            pytest.fail("CNF_REQUIRE_BROWSER=1 but chromium is not installed (apt-get install chromium)")
        pytest.skip("chromium is not installed (apt-get install chromium)")
    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=exe, args=ARGS, headless=True)
        yield b
        b.close()


def _render(browser: Any, page_path: Path, name: str, *, charts: int, svgs: int) -> str:
    """Open a report, check it drew, hover the first chart; returns the hover text."""
    errors: list[str] = []
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.on("console", lambda m: errors.append(f"console {m.type}: {m.text}") if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(f"page error: {e}"))
    # nothing leaves the machine: any request other than the file itself fails the test
    page.route("**/*", lambda r: r.continue_() if r.request.url.startswith("file://") else r.abort())
    page.goto(page_path.as_uri())
    page.wait_for_load_state("load")
    drawn = page.locator(".cnf-chart[data-drawn='1']")
    assert page.locator(".cnf-chart").count() == charts
    assert drawn.count() == charts, errors
    assert page.locator(".cnf-chart canvas").count() >= charts
    assert page.locator("svg.cnf-svg").count() == svgs
    # every chart has a legend with an entry per series (uPlot's live legend)
    for i in range(charts):
        assert page.locator(".cnf-chart").nth(i).locator(".u-legend .u-series").count() >= 2
    hover = ""
    if charts:
        over = page.locator(".cnf-chart .u-over").first
        box = over.bounding_box()
        assert box is not None
        over.hover(position={"x": box["width"] * 0.6, "y": box["height"] / 2})  # scrolls it into view
        page.wait_for_function(
            "!document.querySelector('.cnf-hover').textContent.startsWith('Hover')", timeout=5000
        )
        hover = page.locator(".cnf-hover").first.inner_text()
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)
    page.close()
    assert not errors, errors
    return hover


def test_backtest_report_renders(browser: Any, tmp_path: Path) -> None:
    from tests.test_report import crude

    r = crude()
    hover = _render(browser, r.report(tmp_path / "bt"), "backtest", charts=5, svgs=1)
    # the hover shows the day's ledger values: a date, the contract, lots and USD posted
    assert "contract: sc" in hover and "lots:" in hover and "usd_posted:" in hover
    assert hover[:2] in ("20",), hover


def test_label_with_script_is_text_in_the_browser(browser: Any, tmp_path: Path) -> None:
    from cnfutures.backtest.result import BacktestResult
    from tests.test_report import iron_ore

    r = iron_ore()
    bad = "<script>window.PWNED=1</script><img src=x onerror=window.PWNED=2>"
    evil = BacktestResult(r.ledger, r.summary, r.simulated, bad, bad, daily_attribution=r.daily_attribution)
    path = evil.report(tmp_path / "evil.html")
    page = browser.new_page()
    page.route("**/*", lambda q: q.continue_() if q.request.url.startswith("file://") else q.abort())
    page.goto(path.as_uri())
    assert page.evaluate("window.PWNED === undefined")
    assert bad in page.locator("body").inner_text()
    page.close()


def test_risk_report_renders(browser: Any, tmp_path: Path) -> None:
    from cnfutures.access import Investor
    from cnfutures.backtest import Exposure, HedgePolicy
    from cnfutures.risk import hedge_risk

    r = hedge_risk(Exposure(100_000, "short", "benchmark"), HedgePolicy("sc"), Investor("qfi"),
                   start="2025-01-02", n_days=120, n_paths=200, seed=3)  # fmt: skip
    _render(browser, r.report(tmp_path / "risk"), "risk", charts=2, svgs=0)


def test_sweep_report_renders(browser: Any, tmp_path: Path) -> None:
    from cnfutures.report import write_sweep_report

    t = pl.DataFrame({
        "point": list(range(6)), "band": [0, 5, 10, 0, 5, 10], "ratio": [1.0, 1.0, 1.0, 0.8, 0.8, 0.8],
        "hedged_variance": [3.0, 1.0, 2.0, 4.0, 2.5, 1.5], "total_cost_usd": [9e5, 7e5, 8e5, 5e5, 6e5, 9e5],
        "error": [None] * 6,
    })  # fmt: skip
    _render(browser, write_sweep_report(t, tmp_path / "sweep"), "sweep", charts=0, svgs=1)


def test_collar_report_renders_the_options_section(browser: Any, tmp_path: Path) -> None:
    from cnfutures.access import Investor
    from cnfutures.backtest import Exposure, HedgePolicy, Market, collar, run

    r = run(Market.sample("sc", "2024-11-01", "2025-06-06"), Exposure(300_000, "short", "brent"),
            HedgePolicy("sc", ratio=0.5, options=collar(), option_vol=0.35), Investor("qfi"),
            start="2024-12-02")  # fmt: skip
    path = r.report(tmp_path / "collar")
    # the backtest's 5 charts + the options section's 4 (P&L with/without, margin, delta, gamma/vega)
    _render(browser, path, "collar", charts=9, svgs=1)
    text = path.read_text()
    assert "<h2>Options</h2>" in text or ">Options<" in text
    assert "Cost of protection" in text and "Exercise events" in text


def test_routes_report_renders(browser: Any, tmp_path: Path) -> None:
    from cnfutures.backtest import Exposure, HedgePolicy, Market
    from cnfutures.backtest.routes import compare_routes

    cmp = compare_routes(Market.sample("sc", "2025-01-02", "2025-06-06"), Exposure(300_000, "short", "brent"),
                         HedgePolicy("sc"), routes=["ff_client", "osbp_client", "qfi"])  # fmt: skip
    path = cmp.report(tmp_path / "routes")
    # cumulative costs and net USD posted, one line per eligible route
    _render(browser, path, "routes", charts=2, svgs=0)
    text = path.read_text()
    assert "Access routes side by side" in text and f"Cheapest eligible route: {cmp.cheapest()}" in text
