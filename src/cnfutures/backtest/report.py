"""The self-contained HTML reports of a backtest, a Monte Carlo hedge-risk run and a sweep.

Each report is one HTML file that works offline: the charts are drawn by uPlot (MIT, 51 kB,
vendored in ``cnfutures/backtest/_static`` with its licence) from the numbers embedded in
the page as JSON; zoom by dragging, hover for the day's ledger values, click a legend entry
to hide a series. Bar and scatter charts (the P&L waterfall, a sweep's cost vs hedged
variance) are inline SVG. No network, no CDN, no optional dependency: the interactive
report is always written. Static PNG figures (:func:`figures`, ``BacktestResult.plot``)
need matplotlib, the extra ``pip install "cnfutures[report]"``.

A report is a list of :class:`Section`; add your own with ``sections=`` (e.g. a route
comparison or an options section)::

    from cnfutures.report import Section, esc
    extra = Section("Routes side by side", f"<p>{esc(note)}</p>" + table_html)
    result.report("out/", sections=[extra])

Everything user-supplied (labels, product names, titles, file names) is HTML-escaped
(:func:`esc`); a :class:`Section`'s ``html`` is trusted markup that its author escapes.
"""

from __future__ import annotations

import base64
import datetime as dt
import html
import io
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import polars as pl

from cnfutures.errors import InputError, OptionalDependencyMissing

__all__ = [
    "Chart",
    "Reportable",
    "Section",
    "Series",
    "backtest_sections",
    "efficient_set",
    "esc",
    "figures",
    "format_value",
    "png_data_uri",
    "pyplot",
    "risk_sections",
    "sweep_sections",
    "width_dash",
    "write_page",
    "write_report",
    "write_risk_report",
]


class Reportable(Protocol):
    """What a report needs of a result (:class:`~cnfutures.backtest.BacktestResult` has it).

    Attributes
    ----------
    ledger : polars.DataFrame
        One row per trading day, columns of :data:`cnfutures.backtest.layout.LEDGER`.
    summary : polars.DataFrame
        ``metric``, ``value``, ``unit``.
    simulated : bool
        True when the market was simulated (stated on every figure and page).
    label, title : str
        Market and policy descriptions.
    """

    @property
    def ledger(self) -> pl.DataFrame: ...

    @property
    def summary(self) -> pl.DataFrame: ...

    @property
    def simulated(self) -> bool: ...

    @property
    def label(self) -> str: ...

    @property
    def title(self) -> str: ...


_EXTRA = 'pip install "cnfutures[report]"'
_COLOURS = ("#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
            "#bcbd22", "#17becf", "#393b79", "#637939")  # fmt: skip


def esc(text: object) -> str:
    """HTML-escape any value for a report (quotes too).

    Examples
    --------
    >>> esc("<script>alert(1)</script>")
    '&lt;script&gt;alert(1)&lt;/script&gt;'
    """
    return html.escape(str(text), quote=True)


@dataclass(frozen=True)
class Series:
    """One line of an interactive chart.

    Attributes
    ----------
    label : str
        Legend label (escaped when drawn).
    values : sequence of float
        One value per x (NaN/None: a gap).
    unit : str
        Shown in the legend, e.g. ``"million USD"``.
    axis : {"y", "y2"}
        Left or right axis.
    color : str or None
        CSS colour (default: the palette in order).
    dash : tuple of int
        Dash pattern ``(on, off)`` [px]; empty for a solid line.
    width : float
        Line width [px] (a wider line under a dashed one keeps both visible where they coincide).
    """

    label: str
    values: Sequence[float] | np.ndarray | pl.Series
    unit: str = ""
    axis: str = "y"
    color: str | None = None
    dash: tuple[int, ...] = ()
    width: float = 1.5


@dataclass(frozen=True)
class Chart:
    """An interactive line chart (uPlot): zoom, hover, legend.

    Attributes
    ----------
    title : str
        Chart title.
    x : sequence of date or float
        The x values (dates: a time axis).
    series : tuple of Series
        The lines.
    ylabel, y2label, xlabel : str
        Axis labels with units.
    hover : polars.DataFrame or None
        Rows aligned with ``x``: shown for the day under the cursor (default: the series).
    bands : tuple of (int, int, str)
        Filled bands between series ``i`` (upper) and ``j`` (lower), 0-based, with a CSS fill.
    height : int
        Height [px].
    """

    title: str
    x: Sequence[Any] | pl.Series
    series: tuple[Series, ...]
    ylabel: str = ""
    y2label: str = ""
    xlabel: str = ""
    hover: pl.DataFrame | None = None
    bands: tuple[tuple[int, int, str], ...] = ()
    height: int = 320


@dataclass(frozen=True)
class Section:
    """One section of a report page: a heading, trusted HTML and interactive charts.

    Attributes
    ----------
    title : str
        Heading (escaped).
    html : str
        Trusted HTML fragment (tables, paragraphs, inline SVG); escape user text with :func:`esc`.
    charts : tuple of Chart
        Interactive charts drawn after the fragment.

    Examples
    --------
    >>> Section("Routes", "<p>" + esc("a < b") + "</p>").title
    'Routes'
    """

    title: str
    html: str = ""
    charts: tuple[Chart, ...] = field(default_factory=tuple)


# ---------------------------------------------------------------------------- formatting


def format_value(v: float) -> str:
    """Format a summary value for display.

    Examples
    --------
    >>> format_value(1234567.891), format_value(0.8671), format_value(3.0)
    ('1,234,568', '0.867', '3')
    """
    if v != v:  # NaN
        return "n/a"
    if float(v).is_integer():
        return f"{v:,.0f}"
    if abs(v) < 10:
        return f"{v:.3f}"
    return f"{v:,.0f}"


def _usd(v: float) -> str:
    """Money in words: ``-12.3 M USD``, ``450,120 USD``."""
    if v != v:
        return "n/a"
    if abs(v) >= 1e6:
        return f"{v / 1e6:,.1f} M USD"
    return f"{v:,.0f} USD"


def _table(frame: pl.DataFrame, *, right: Sequence[str] = (), fmt: dict[str, Any] | None = None) -> str:
    fmt = fmt or {}
    head = "".join(f"<th>{esc(c)}</th>" for c in frame.columns)
    rows = []
    for r in frame.iter_rows():
        cells = []
        for c, v in zip(frame.columns, r, strict=True):
            if c in fmt:
                text = fmt[c](v)
            elif isinstance(v, float):
                text = format_value(v)
            else:
                text = "" if v is None else str(v)
            style = " class='num'" if c in right or isinstance(v, (int, float)) else ""
            cells.append(f"<td{style}>{esc(text)}</td>")
        rows.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table><tr>{head}</tr>{''.join(rows)}</table>"


def _clean(values: Sequence[float] | np.ndarray | pl.Series, digits: int) -> list[float | None]:
    a = np.asarray(values, dtype=np.float64)
    r = np.round(a, digits)
    return [None if not math.isfinite(v) else v for v in r.tolist()]


def _x_values(x: Sequence[Any] | pl.Series) -> tuple[list[float], bool]:
    s = x if isinstance(x, pl.Series) else pl.Series(list(x))
    if s.dtype == pl.Date:
        return (s.cast(pl.Int64) * 86_400).cast(pl.Float64).to_list(), True
    if s.dtype == pl.Datetime:
        return (s.dt.epoch("s")).cast(pl.Float64).to_list(), True
    return s.cast(pl.Float64).to_list(), False


def _hover_table(frame: pl.DataFrame) -> dict[str, Any]:
    values = []
    for c in frame.columns:
        s = frame[c]
        if s.dtype == pl.Date:
            values.append(s.cast(pl.String).to_list())
        elif s.dtype.is_float():
            values.append(_clean(s.to_numpy(), 2))
        else:
            values.append([None if v is None else str(v) for v in s.to_list()])
    return {"columns": list(frame.columns), "values": values}


def _chart_spec(c: Chart, tables: dict[str, Any]) -> dict[str, Any]:
    x, is_time = _x_values(c.x)
    spec: dict[str, Any] = {
        "title": c.title, "xtime": is_time, "x": x, "xlabel": c.xlabel, "ylabel": c.ylabel,
        "y2label": c.y2label, "height": c.height,
        "series": [
            {"label": s.label, "unit": s.unit, "axis": s.axis, "values": _clean(s.values, 2),
             "color": s.color or _COLOURS[i % len(_COLOURS)], "dash": list(s.dash) or None,
             "width": s.width}
            for i, s in enumerate(c.series)
        ],
        "bands": [{"series": [i + 1, j + 1], "fill": f} for i, j, f in c.bands] or None,
    }  # fmt: skip
    if c.hover is not None:
        key = f"t{len(tables)}"
        for k, v in tables.items():  # one copy of a hover table shared by several charts
            if v["_id"] == id(c.hover):
                key = k
                break
        else:
            tables[key] = {"_id": id(c.hover), **_hover_table(c.hover)}
        spec["hover"] = key
    return spec


@cache
def _asset(name: str) -> str:
    return resources.files("cnfutures.backtest").joinpath("_static", name).read_text(encoding="utf-8")


_MARK = "<title>cnfutures "
_CSS = """body{font-family:system-ui,sans-serif;max-width:72em;margin:auto;padding:0 1em;color:#222}
table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ccc;padding:2px 6px;font-size:90%}
td.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}th{background:#f3f3f3}
.sim{background:#fff3cd;padding:6px;border:1px solid #e0c36a}.note{color:#555}
.cnf-chart{margin:1em 0}.cnf-plot{width:100%}.cnf-hover{font-size:85%;color:#333;background:#f7f7f7;
padding:4px;min-height:1.4em}.lead{font-size:105%;line-height:1.45}svg text{font-size:11px}"""


def _json_script(payload: dict[str, Any]) -> str:
    text = json.dumps(payload, separators=(",", ":"), allow_nan=False)
    # no "</script>" or HTML comment can close the data block early
    text = text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    return f'<script type="application/json" id="cnf-data">{text}</script>'


def _resolve_target(path: str | Path, overwrite: bool) -> Path:
    p = Path(path)
    target = p if p.suffix.lower() in (".html", ".htm") else p / "index.html"
    if target.is_dir():
        raise InputError(
            f"report path {str(target)!r} is a directory; pass a directory or an .html file name"
        )
    if target.exists() and not overwrite:
        with target.open("rb") as fh:
            head = fh.read(400).decode("utf-8", "replace")
        if _MARK not in head:
            raise InputError(
                f"{str(target)!r} exists and is not a cnfutures report; refusing to overwrite it "
                "(pass overwrite=True, or --overwrite on the command line, or choose another path)"
            )
    return target


def write_page(
    path: str | Path,
    kind: str,
    heading: str,
    sections: Sequence[Section],
    *,
    intro: Sequence[str] = (),
    simulated: bool = False,
    overwrite: bool = False,
) -> Path:
    """Write one self-contained report page (uPlot and the data inline, no network).

    Parameters
    ----------
    path : str or Path
        A directory (the page is ``index.html`` in it) or an ``.html`` file.
    kind : str
        ``backtest``, ``hedge risk``, ``sweep``: the page's ``<title>`` is ``cnfutures <kind>``.
    heading : str
        Page heading (escaped).
    sections : sequence of Section
        The content, in order.
    intro : sequence of str
        Lines under the heading (escaped).
    simulated : bool
        Add the SIMULATED banner.
    overwrite : bool
        Replace a file that is not a cnfutures report.

    Raises
    ------
    InputError
        ``path`` is a directory named ``.html``, or holds a file that is not a cnfutures
        report (without ``overwrite``).

    Examples
    --------
    >>> import tempfile
    >>> d = tempfile.mkdtemp()
    >>> write_page(d, "note", "<b>x</b>", [Section("A", "<p>text</p>")]).read_text().count("&lt;b&gt;x")
    1
    """
    target = _resolve_target(path, overwrite)
    target.parent.mkdir(parents=True, exist_ok=True)
    tables: dict[str, Any] = {}
    charts: list[dict[str, Any]] = []
    body = []
    toc = []
    for i, s in enumerate(sections):
        anchor = f"s{i}"
        toc.append(f"<a href='#{anchor}'>{esc(s.title)}</a>")
        divs = []
        for c in s.charts:
            divs.append(
                f"<div class='cnf-chart' data-chart='{len(charts)}' aria-label='{esc(c.title)}'>"
                "<div class='cnf-plot'></div></div>"
            )
            charts.append(_chart_spec(c, tables))
        body.append(f"<h2 id='{anchor}'>{esc(s.title)}</h2>{s.html}{''.join(divs)}")
    for t in tables.values():
        t.pop("_id")
    warn = (
        "<p class='sim'><b>SIMULATED market.</b> The futures prices in this report come from a seeded "
        "model (cnfutures.simulate), not from exchange history.</p>"
        if simulated
        else ""
    )
    lines = "".join(f"<p>{esc(x)}</p>" for x in intro)
    script = ""
    if charts:
        script = (
            f"{_json_script({'charts': charts, 'tables': tables})}"
            f"<script>{_asset('uPlot.iife.min.js')}</script><script>{_asset('report.js')}</script>"
        )
    page = f"""<!doctype html><html lang="en"><head><meta charset="utf-8"><title>cnfutures {esc(kind)}</title>
<meta name="viewport" content="width=device-width,initial-scale=1">
<style>{_asset("uPlot.min.css")}</style><style>{_CSS}</style></head><body>
<h1>{esc(heading)}</h1>{lines}{warn}<p class='note'>Contents: {" · ".join(toc)}</p>
{"".join(body)}
<p class='note'>Written by cnfutures on {dt.date.today().isoformat()}. Charts: uPlot (MIT), embedded;
the page needs no network.</p>{script}</body></html>"""
    target.write_text(page, encoding="utf-8")
    return target


# ---------------------------------------------------------------------------- SVG charts


def _svg_waterfall(labels: Sequence[str], values: Sequence[float], total_label: str) -> str:
    """A horizontal waterfall [million USD] as inline SVG, hover titles on every bar."""
    n = len(values) + 1
    row, left, width = 22, 230, 560
    cum = np.concatenate([[0.0], np.cumsum(values)])
    lo = min(0.0, float(cum.min()))
    hi = max(0.0, float(cum.max()))
    span = (hi - lo) or 1.0

    def xpos(v: float) -> float:
        return left + (v - lo) / span * width

    parts = [
        f"<svg class='cnf-svg' role='img' width='{left + width + 120}' height='{n * row + 50}' "
        f"xmlns='http://www.w3.org/2000/svg'><title>{esc('P&L waterfall [USD]')}</title>"
    ]
    for i, (lab, v) in enumerate(zip(labels, values, strict=True)):
        a, b = cum[i], cum[i + 1]
        x0, x1 = sorted((xpos(a), xpos(b)))
        y = 10 + i * row
        colour = "#2ca02c" if v >= 0 else "#d62728"
        parts.append(
            f"<g><title>{esc(lab)}: {esc(_usd(v))} (running total {esc(_usd(b))})</title>"
            f"<rect x='{x0:.1f}' y='{y}' width='{max(x1 - x0, 1):.1f}' height='{row - 6}' fill='{colour}'/>"
            f"<text x='{left - 6}' y='{y + 12}' text-anchor='end'>{esc(lab)}</text>"
            f"<text x='{max(x0, x1) + 4:.1f}' y='{y + 12}'>{esc(_usd(v))}</text></g>"
        )
    y = 10 + (n - 1) * row
    x0, x1 = sorted((xpos(0.0), xpos(float(cum[-1]))))
    parts.append(
        f"<g><title>{esc(total_label)}: {esc(_usd(float(cum[-1])))}</title>"
        f"<rect x='{x0:.1f}' y='{y}' width='{max(x1 - x0, 1):.1f}' height='{row - 6}' fill='#1f77b4'/>"
        f"<text x='{left - 6}' y='{y + 12}' text-anchor='end' font-weight='bold'>{esc(total_label)}</text>"
        f"<text x='{max(x0, x1) + 4:.1f}' y='{y + 12}'>{esc(_usd(float(cum[-1])))}</text></g>"
        f"<line x1='{xpos(0.0):.1f}' x2='{xpos(0.0):.1f}' y1='4' y2='{n * row + 8}' stroke='#333'/>"
    )
    ly = n * row + 30
    parts.append(
        f"<rect x='{left}' y='{ly - 10}' width='12' height='12' fill='#2ca02c'/>"
        f"<text x='{left + 16}' y='{ly}'>adds to P&amp;L</text>"
        f"<rect x='{left + 110}' y='{ly - 10}' width='12' height='12' fill='#d62728'/>"
        f"<text x='{left + 126}' y='{ly}'>takes from P&amp;L</text>"
        f"<rect x='{left + 240}' y='{ly - 10}' width='12' height='12' fill='#1f77b4'/>"
        f"<text x='{left + 256}' y='{ly}'>{esc(total_label)}</text></svg>"
    )
    return "".join(parts)


def _svg_scatter(
    x: np.ndarray, y: np.ndarray, tips: Sequence[str], best: np.ndarray, xlabel: str, ylabel: str
) -> str:
    """Scatter of sweep points as inline SVG; the efficient set highlighted and joined."""
    w, h, m = 640, 360, 70
    ok = np.isfinite(x) & np.isfinite(y)
    if not ok.any():
        return "<p class='note'>No finite points to draw.</p>"
    x0, x1 = float(x[ok].min()), float(x[ok].max())
    y0, y1 = float(y[ok].min()), float(y[ok].max())
    sx = (x1 - x0) or 1.0
    sy = (y1 - y0) or 1.0

    def px(v: float) -> float:
        return m + (v - x0) / sx * (w - 2 * m)

    def py(v: float) -> float:
        return h - m + (y0 - v) / sy * (h - 2 * m) + 20

    parts = [
        f"<svg class='cnf-svg' role='img' width='{w + 180}' height='{h + 20}' xmlns='http://www.w3.org/2000/svg'>"
        f"<title>{esc(ylabel)} vs {esc(xlabel)}</title>"
        f"<line x1='{m}' y1='{h - m + 20}' x2='{w - m}' y2='{h - m + 20}' stroke='#333'/>"
        f"<line x1='{m}' y1='{m - 10}' x2='{m}' y2='{h - m + 20}' stroke='#333'/>"
        f"<text x='{w / 2}' y='{h}' text-anchor='middle'>{esc(xlabel)}</text>"
        f"<text x='14' y='{h / 2}' transform='rotate(-90 14 {h / 2})' text-anchor='middle'>"
        f"{esc(ylabel)}</text>"
        f"<text x='{m}' y='{h - m + 34}' text-anchor='middle'>{esc(format_value(x0))}</text>"
        f"<text x='{w - m}' y='{h - m + 34}' text-anchor='middle'>{esc(format_value(x1))}</text>"
        f"<text x='{m - 4}' y='{py(y0) + 4:.1f}' text-anchor='end'>{esc(f'{y0:.4g}')}</text>"
        f"<text x='{m - 4}' y='{py(y1) + 4:.1f}' text-anchor='end'>{esc(f'{y1:.4g}')}</text>"
    ]
    idx = np.flatnonzero(best & ok)
    idx = idx[np.argsort(x[idx])]
    if idx.size > 1:
        pts = " ".join(f"{px(float(x[i])):.1f},{py(float(y[i])):.1f}" for i in idx)
        parts.append(f"<polyline points='{pts}' fill='none' stroke='#d62728' stroke-width='1.5'/>")
    for i in np.flatnonzero(ok):
        colour, r = ("#d62728", 5) if best[i] else ("#1f77b4", 3.5)
        parts.append(
            f"<circle cx='{px(float(x[i])):.1f}' cy='{py(float(y[i])):.1f}' r='{r}' fill='{colour}' "
            f"fill-opacity='0.8'><title>{esc(tips[int(i)])}</title></circle>"
        )
    lx = w - 10
    parts.append(
        f"<circle cx='{lx}' cy='30' r='5' fill='#d62728'/><text x='{lx + 10}' y='34'>efficient set</text>"
        f"<circle cx='{lx}' cy='50' r='3.5' fill='#1f77b4'/><text x='{lx + 10}' y='54'>other policies</text>"
        "</svg>"
    )
    return "".join(parts)


# ---------------------------------------------------------------------------- backtest


def _attribution_text(result: Reportable, daily: pl.DataFrame, totals: pl.DataFrame) -> str:
    """A paragraph on where the money went, generated from the numbers."""
    led = result.ledger
    usd = dict(zip(totals["component"], totals["usd"], strict=True))
    label = dict(zip(totals["component"], totals["label"], strict=True))
    net = float(daily["net_pnl_usd"].sum())
    hedge = sum(v for k, v in usd.items() if k.startswith("hedge_"))
    costs = sum(v for k, v in usd.items() if totals.filter(pl.col("component") == k)["group"][0] == "costs")
    expo = usd["exposure_price_usd"] + usd["exposure_fx_usd"]
    reval = usd.get("fx_revaluation_usd", 0.0)
    opt = usd.get("option_pnl_usd", 0.0)
    top = sorted(usd.items(), key=lambda kv: -abs(kv[1]))[:3]
    out = [
        f"Net P&L {_usd(net)} = exposure {_usd(expo)} + hedge {_usd(hedge)} + costs {_usd(costs)}"
        + (f" + options {_usd(opt)}" if opt else "")
        + f" + FX revaluation of the CNY held {_usd(reval)}. "
        "Largest parts: " + "; ".join(f"{label[k]} {_usd(v)}" for k, v in top) + "."
    ]
    price = usd["exposure_price_usd"] + usd["exposure_fx_usd"] + usd["hedge_fx_usd"]
    if abs(price) > 0 and usd["hedge_benchmark_usd"] != 0:
        cover = -(usd["hedge_benchmark_usd"] + usd["hedge_fx_usd"]) / price
        bound = int(led["limit_bound"].sum())
        why = f" (position or opening limits cut the target on {bound} days)" if bound else ""
        out.append(
            f"The hedge's benchmark move (with its FX leg) offset {cover:.0%} of the exposure's price "
            f"and FX move{why}."
        )
    gaps = daily["roll_gap_cny"]
    n = gaps.count()
    roll = usd["hedge_roll_usd"]
    if n:
        carried = led["lots"].shift(1, fill_value=0.0)
        side_lots = float(carried.filter(gaps.is_not_null()).sum())
        side = "long" if side_lots > 0 else "short"
        gsum = float(gaps.sum())
        shape = "above (contango)" if gsum > 0 else "below (backwardation)"
        verb = "paid" if roll < 0 else "earned"
        share = f", {abs(roll) / abs(hedge) * 100:.0f}% of the hedge's P&L" if hedge else ""
        out.append(
            f"Roll yield: the hedge rolled {n} times; the new contract settled on average "
            f"{abs(gsum) / n:,.1f} CNY/unit {shape} the one closed ({gsum:+,.1f} CNY/unit over all rolls). "
            f"Holding {side} futures, the hedge {verb} that gap at each roll: {_usd(roll)}{share}."
        )
        if roll < 0 and abs(roll) > 0.1 * abs(net or 1.0):
            eff = result.summary.filter(pl.col("metric") == "effectiveness_daily")["value"]
            e = f" ({float(eff[0]):.2f})" if eff.len() else ""
            out.append(
                f"Hedge effectiveness{e} measures how well the daily P&L offsets, not this steady "
                "drift: a hedge can offset price moves well and still lose the roll yield, "
                "a cost of carry of the curve's shape."
            )
    if usd["hedge_basis_usd"]:
        out.append(
            "Basis (held futures vs the exposure's price) moved the hedge by "
            f"{_usd(usd['hedge_basis_usd'])}; "
            f"FX translation: exposure {_usd(usd['exposure_fx_usd'])}, hedge {_usd(usd['hedge_fx_usd'])}."
        )
    return "".join(f"<p class='lead'>{esc(t)}</p>" for t in out)


def _cash_text(result: Reportable) -> str:
    """A paragraph on cash and collateral: peaks, the day and the reason."""
    led = result.ledger
    days = led["trading_day"]
    fx = led["usd_cny"].to_numpy()
    posted = led["usd_posted"].to_numpy()
    hedge_cum = np.cumsum(led["hedge_pnl_usd"].to_numpy())
    calls = led["margin_call_usd"].to_numpy()
    rel = led["release_usd"].to_numpy()
    coll = led["collateral_usd"].to_numpy()
    cash_usd = led["cash_cny"].to_numpy() / fx
    req_usd = led["margin_required_cny"].to_numpy() / fx
    out = []
    i = int(np.argmax(posted))
    out.append(
        f"Net USD posted (USD sent to the futures firm minus USD returned) peaked at {_usd(posted[i])} "
        f"on {days[i]}, when the margin requirement was {_usd(req_usd[i])} and the hedge's cumulative "
        f"P&L {_usd(hedge_cum[i])}."
    )
    j = int(np.argmax(req_usd))
    out.append(
        f"The margin requirement peaked at {_usd(req_usd[j])} on {days[j]} ({led['lots'][j]:,.0f} lots)."
    )
    if calls.max() > 0:
        c = int(np.argmax(calls))
        vm = float(led["variation_margin_cny"][c]) / fx[c]
        out.append(
            f"Largest margin call: {_usd(calls[c])} on {days[c]} (that day's variation margin "
            f"{_usd(vm)}, requirement {_usd(req_usd[c])}); "
            f"{int(led['margin_call'].sum())} margin calls in all."
        )
    if posted.min() < 0:
        first = int(np.argmax(posted < 0))
        k = int(np.argmin(posted))
        back = rel[: k + 1].sum()
        sent = calls[: k + 1].sum() + led["converted_usd"].to_numpy()[: k + 1].sum()
        out.append(
            f"Net USD posted turned negative on {days[first]} and reached {_usd(posted[k])} on {days[k]}: "
            f"by then the hedge had earned {_usd(hedge_cum[k])} of variation margin, credited in CNY. "
            f"Cash above the margin buffer is returned, so {_usd(back)} came back against {_usd(sent)} "
            f"sent; {_usd(cash_usd[k])} of CNY cash and {_usd(coll[k])} of collateral (USD, or a QFI's CNY "
            "at the fixing) were still in the account. A negative figure is money the hedge has paid out "
            "to you, not a debt."
        )
    else:
        out.append("Net USD posted never turned negative: the account never returned more USD than was sent.")
    fund = float(led["funding_usd"].sum())
    out.append(f"Funding the USD sent cost {_usd(fund)} in all.")
    if "fx_revaluation_usd" in led.columns:
        reval = float(led["fx_revaluation_usd"].sum())
        out.append(
            f"The CNY the account held (cash, and a QFI's CNY margin) is worth more or fewer USD as "
            f"USD/CNY moves: that FX revaluation came to {_usd(reval)} over the run, inside the net P&L."
        )
    return "".join(f"<p class='lead'>{esc(t)}</p>" for t in out)


def backtest_sections(result: Reportable) -> list[Section]:
    """The sections of a backtest report: summary, attribution, cash and collateral, position, rules.

    A result with option legs adds :func:`cnfutures.backtest.options_report.options_section`
    (``BacktestResult.report`` does it).

    Examples
    --------
    >>> from cnfutures.access import Investor
    >>> from cnfutures.backtest import Exposure, HedgePolicy, Market, run
    >>> r = run(Market.sample("sc", "2025-03-03", "2025-06-06"), Exposure(500_000, "short", "brent"),
    ...         HedgePolicy("sc"), Investor("qfi"))
    >>> [s.title for s in backtest_sections(r)][:3]
    ['Summary', 'Where the money went', 'Cash and collateral']
    """
    led = result.ledger
    x = led["trading_day"]
    fx = led["usd_cny"]
    hover = led.select(
        "trading_day", "contract", "lots", "settle", "exposure_pnl_usd", "hedge_pnl_usd", "costs_usd",
        "net_pnl_usd", "usd_posted", "cash_cny", "collateral_usd", "margin_call_usd", "usd_cny",
    )  # fmt: skip
    rows = result.summary.select(
        "metric", pl.col("value").map_elements(format_value, return_dtype=pl.String).alias("value"), "unit"
    )
    secs = [Section("Summary", _table(rows, right=("value",)))]
    tag = " (SIMULATED market)" if result.simulated else ""
    cum = Chart(
        "Cumulative P&L" + tag, x,
        (Series("exposure (unhedged)", led["exposure_pnl_usd"].cum_sum() / 1e6, "M USD"),
         Series("hedge", led["hedge_pnl_usd"].cum_sum() / 1e6, "M USD"),
         Series("hedged, net of costs", led["net_pnl_usd"].cum_sum() / 1e6, "M USD", dash=width_dash(2))),
        ylabel="cumulative P&L [million USD]", hover=hover,
    )  # fmt: skip
    daily = getattr(result, "daily_attribution", None)
    if daily is not None:
        from cnfutures.backtest.attribution import COMPONENTS, attribution_by_year, attribution_totals

        totals = attribution_totals(daily)
        shown = [c for c in COMPONENTS if daily[c.name].abs().sum() > 0]
        by_year = attribution_by_year(daily).select(
            "period", *[c.name for c in shown], "net_pnl_usd", "rolls", "roll_gap_cny"
        )
        by_year = by_year.rename({c.name: c.label for c in shown})
        money = {c.label: _usd for c in shown} | {"net_pnl_usd": _usd}
        money["roll_gap_cny"] = lambda v: "" if v is None else f"{v:+,.1f}"
        parts = [
            _attribution_text(result, daily, totals),
            _svg_waterfall([c.label for c in shown],
                           [float(totals.filter(pl.col("component") == c.name)["usd"][0]) for c in shown],
                           "net P&L"),
            "<h3>Per year [USD]</h3><p class='note'>roll_gap_cny: new minus old contract settlement "
            "summed over the year's rolls [CNY/unit]; rolls: count.</p>",
            f"<div style='overflow-x:auto'>{_table(by_year, fmt=money)}</div>",
            "<details><summary>What each component means</summary>"
            + _table(pl.DataFrame({"component": [c.label for c in COMPONENTS],
                                   "meaning": [c.meaning for c in COMPONENTS]}))
            + "</details>",
        ]  # fmt: skip
        comp_chart = Chart(
            "Cumulative P&L by component" + tag, x,
            tuple(Series(c.label, daily[c.name].cum_sum() / 1e6, "M USD") for c in shown),
            ylabel="cumulative [million USD]", hover=hover,
        )  # fmt: skip
        secs.append(Section("Where the money went", "".join(parts), (cum, comp_chart)))
    else:
        secs.append(Section("P&L", "<p class='note'>No attribution: the result was built without its "
                                   "exposure.</p>", (cum,)))  # fmt: skip
    cash = Chart(
        "Margin, cash and collateral" + tag, x,
        (Series("margin required", led["margin_required_cny"] / fx / 1e6, "M USD"),
         Series("account equity", led["equity_cny"] / fx / 1e6, "M USD"),
         Series("net USD posted", led["usd_posted"] / 1e6, "M USD", dash=width_dash(1)),
         Series("CNY cash (in USD)", led["cash_cny"] / fx / 1e6, "M USD"),
         Series("USD collateral", led["collateral_usd"] / 1e6, "M USD"),
         Series("hedge P&L, cumulative", led["hedge_pnl_usd"].cum_sum() / 1e6, "M USD", dash=width_dash(3))),
        ylabel="million USD", hover=hover,
    )  # fmt: skip
    secs.append(Section("Cash and collateral", _cash_text(result), (cash,)))
    lots = Chart(
        "Lots held and target" + tag, x,
        (Series("lots held", led["lots"], "lots", width=4.0, color="#9ecae1"),
         Series("target lots (after limits)", led["target_lots"], "lots", dash=(6, 4), color="#08306b")),
        ylabel="lots", hover=hover, height=240,
    )  # fmt: skip
    ratio = Chart(
        "Hedge ratio" + tag, x, (Series("hedge ratio", led["hedge_ratio"], "-", color="#d62728"),),
        ylabel="futures units per exposure unit [-]", hover=hover, height=200,
    )  # fmt: skip
    secs.append(Section("Position", "<p class='note'>Lots and ratio on their own panels.</p>", (lots, ratio)))
    flagged = led["limit_locked"] | led["forced_roll"] | led["limit_bound"]
    flags = (
        led.filter(flagged | led["margin_call"] | led["delayed_roll"])
        .select("trading_day", "contract", "lots", "limit_locked", "forced_roll", "limit_bound",
                "margin_call",
                "delayed_roll")
        .head(50)
    )  # fmt: skip
    secs.append(Section("Days when the rules bit (first 50)", _table(flags)))
    return secs


def width_dash(kind: int) -> tuple[int, ...]:
    """Dash pattern number ``kind`` (1: long dash, 2: short dash, 3: dot-dash) [px].

    Examples
    --------
    >>> width_dash(1)
    (8, 4)
    """
    return {1: (8, 4), 2: (4, 3), 3: (2, 3)}.get(kind, ())


def write_report(
    result: Reportable, path: str | Path, *, overwrite: bool = False, sections: Sequence[Section] = ()
) -> Path:
    """Write the HTML report of a backtest; ``path`` is a directory (``index.html``) or an ``.html`` file.

    An existing file is replaced only if it is an earlier cnfutures report, or with
    ``overwrite=True``; any other file there raises :class:`~cnfutures.errors.InputError`.
    ``sections`` are appended after the built-in ones (see :class:`Section`).

    Examples
    --------
    >>> import tempfile
    >>> from cnfutures.access import Investor
    >>> from cnfutures.backtest import Exposure, HedgePolicy, Market, run
    >>> r = run(Market.sample("sc", "2025-03-03", "2025-06-06"), Exposure(500_000, "short", "brent"),
    ...         HedgePolicy("sc"), Investor("qfi"))
    >>> write_report(r, tempfile.mkdtemp(), sections=[Section("Mine", "<p>hi</p>")]).name
    'index.html'
    """
    return write_page(
        path, "backtest", "Hedge backtest", [*backtest_sections(result), *sections],
        intro=(result.title, f"Market: {result.label}"), simulated=result.simulated, overwrite=overwrite,
    )  # fmt: skip


# ---------------------------------------------------------------------------- Monte Carlo, sweeps


def risk_sections(risk: Any) -> list[Section]:
    """Sections of a Monte Carlo hedge-risk report: summary, fan charts of P&L and USD posted.

    Parameters
    ----------
    risk : HedgeRisk
        From :func:`cnfutures.risk.hedge_risk` (with ``fan=True`` for the charts).
    """
    summ = risk.summary()
    secs = [
        Section(
            "Outcome over paths",
            f"<p class='lead'>{esc(risk.paths.height)} simulated paths. USD to keep ready "
            f"(99% quantile of the peak net USD posted): {esc(_usd(risk.usd_to_keep(0.99)))}.</p>"
            + _table(summ, fmt={c: format_value for c in summ.columns if c not in ("metric", "unit")}),
        )
    ]
    if risk.fan is None:
        secs.append(Section("Fan charts", "<p class='note'>Run with fan=True for the fan charts.</p>"))
        return secs
    qcols = [c for c in risk.fan.columns if c.startswith("q")]
    n = len(qcols)
    charts = []
    for names, title, colours in (
        (("unhedged_pnl_usd", "hedged_pnl_usd"), "Cumulative P&L across paths (SIMULATED)",
         ("#7f7f7f", "#1f77b4")),
        (("usd_posted",), "Net USD posted across paths (SIMULATED)", ("#d62728",)),
    ):  # fmt: skip
        series: list[Series] = []
        bands: list[tuple[int, int, str]] = []
        x = None
        for name, colour in zip(names, colours, strict=True):
            f = risk.fan.filter(pl.col("series") == name)
            x = f["trading_day"]
            base = len(series)
            for q in qcols:
                mid = q == qcols[n // 2]
                series.append(Series(f"{name} {q}", f[q] / 1e6, "M USD", color=colour,
                                     dash=() if mid else (3, 3)))  # fmt: skip
            rgb = tuple(int(colour[i : i + 2], 16) for i in (1, 3, 5))
            for i in range(n // 2):
                bands.append(
                    (base + n - 1 - i, base + i, f"rgba({rgb[0]},{rgb[1]},{rgb[2]},{0.12 + 0.08 * i})")
                )
        assert x is not None
        charts.append(Chart(title, x, tuple(series), ylabel="million USD", bands=tuple(bands)))
    secs.append(
        Section(
            "Fan charts",
            f"<p class='note'>Median solid; bands between the quantiles {esc(', '.join(qcols))}.</p>",
            tuple(charts),
        )
    )
    return secs


def write_risk_report(
    risk: Any, path: str | Path, *, overwrite: bool = False, sections: Sequence[Section] = ()
) -> Path:
    """Write the HTML report of a Monte Carlo hedge-risk run (``HedgeRisk.report``).

    Examples
    --------
    >>> import tempfile
    >>> from cnfutures.access import Investor
    >>> from cnfutures.backtest import Exposure, HedgePolicy
    >>> from cnfutures.risk import hedge_risk
    >>> r = hedge_risk(Exposure(100_000, "short", "benchmark"), HedgePolicy("sc"), Investor("qfi"),
    ...                start="2025-01-02", n_days=30, n_paths=20, seed=3)
    >>> write_risk_report(r, tempfile.mkdtemp()).name
    'index.html'
    """
    return write_page(path, "hedge risk", "Monte Carlo hedge risk", [*risk_sections(risk), *sections],
                      intro=(risk.label,), simulated=True, overwrite=overwrite)  # fmt: skip


def efficient_set(cost: np.ndarray, variance: np.ndarray) -> np.ndarray:
    """Points no other point beats on both cost and hedged variance (lower is better).

    Examples
    --------
    >>> efficient_set(np.array([1.0, 2.0, 3.0, 2.5]), np.array([3.0, 2.0, 1.0, 2.5])).tolist()
    [True, True, True, False]
    """
    ok = np.isfinite(cost) & np.isfinite(variance)
    out = np.zeros(cost.size, dtype=bool)
    order = np.lexsort((variance, cost))
    best = math.inf
    for i in order:
        if ok[i] and variance[i] < best:
            out[i] = True
            best = variance[i]
    return out


def sweep_sections(result: pl.DataFrame | pl.LazyFrame, ranked: pl.DataFrame, *, by: str) -> list[Section]:
    """Sections of a sweep report: the ranked table and cost vs hedged variance (efficient set).

    Parameters
    ----------
    result : polars.DataFrame or LazyFrame
        The output of :func:`cnfutures.sweep`.
    ranked : polars.DataFrame
        Its ranked policies (:func:`cnfutures.backtest.sweep.rank`).
    by : str
        The ranking metric named in the text.

    Raises
    ------
    InputError
        ``result`` lacks ``total_cost_usd`` or ``hedged_variance``.

    Examples
    --------
    >>> t = pl.DataFrame({"point": [0, 1], "band": [0, 5], "hedged_variance": [3.0, 1.0],
    ...                   "total_cost_usd": [9.0, 7.0], "error": [None, None]})
    >>> [s.title for s in sweep_sections(t, t.head(1), by="hedged_variance")]
    ['Ranked policies', 'Cost vs hedged variance']
    """
    frame = result.collect() if isinstance(result, pl.LazyFrame) else result
    missing = [c for c in ("total_cost_usd", "hedged_variance") if c not in frame.columns]
    if missing:
        raise InputError(
            f"a sweep report needs the sweep's columns {missing}; pass the output of cnfutures.sweep"
        )
    ok = frame.filter(pl.col("error").is_null()) if "error" in frame.columns else frame
    metrics = ("hedged_variance", "total_cost_usd", "vol_hedged_usd", "effectiveness_daily", "net_pnl_usd",
               "peak_usd_posted", "margin_calls", "error", "ledger")  # fmt: skip
    params = [
        c for c in ranked.columns if c not in ("rank", "point", "scenarios", *metrics) and c in frame.columns
    ]
    cost = ok["total_cost_usd"].to_numpy().astype(np.float64)
    var = ok["hedged_variance"].to_numpy().astype(np.float64)
    best = efficient_set(cost, var)
    tips = [
        ", ".join(f"{p}={r[p]}" for p in params) + f": cost {_usd(c)}, hedged variance {v:.4g} USD²"
        for r, c, v in zip(ok.select(params).to_dicts(), cost, var, strict=True)
    ]
    eff = (
        ok.filter(pl.Series(best)).select(*params, "total_cost_usd", "hedged_variance").sort("total_cost_usd")
    )
    failed = frame.height - ok.height
    html_ = (
        f"<p class='lead'>{esc(frame.height)} points, {esc(failed)} failed; ranked by {esc(by)} "
        "(lower is better).</p>" + _table(ranked)
    )
    chart = (
        "<p class='lead'>Each point is one policy: its total cost (fees, FX spread, funding, slippage) "
        f"against the variance of its daily hedged P&L. {int(best.sum())} of {ok.height} policies are on "
        "the efficient set (no other is both cheaper and less variable); hover a point for its "
        "parameters.</p>"
        + _svg_scatter(cost / 1e6, var, tips, best, "total cost [million USD]", "hedged variance [USD²]")
        + "<h3>Efficient set</h3>"
        + _table(eff)
    )
    return [Section("Ranked policies", html_), Section("Cost vs hedged variance", chart)]


# ---------------------------------------------------------------------------- static PNG


def pyplot() -> Any:
    """matplotlib's pyplot on the Agg backend.

    Raises
    ------
    OptionalDependencyMissing
        matplotlib is not installed.
    """
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise OptionalDependencyMissing(f"plots need matplotlib: {_EXTRA}") from None
    return plt


def figures(result: Reportable) -> dict[str, bytes]:
    """PNG bytes of the static figures: ``pnl``, ``margin``, ``lots`` (lots and ratio on two panels).

    Raises
    ------
    OptionalDependencyMissing
        matplotlib is not installed.
    """
    plt = pyplot()
    led = result.ledger
    x = led["trading_day"].to_list()
    tag = " (SIMULATED market)" if result.simulated else ""
    out: dict[str, bytes] = {}

    def save(fig: Any, name: str) -> None:
        buf = io.BytesIO()
        fig.tight_layout()
        fig.savefig(buf, format="png", dpi=90)
        plt.close(fig)
        out[name] = buf.getvalue()

    fig, ax = plt.subplots(figsize=(9, 4))
    ax.plot(x, led["exposure_pnl_usd"].cum_sum() / 1e6, label="exposure (unhedged)")
    ax.plot(x, led["net_pnl_usd"].cum_sum() / 1e6, label="hedged (net of costs)")
    ax.set_ylabel("cumulative P&L [million USD]")
    ax.set_title("Exposure vs hedged P&L" + tag)
    ax.legend()
    save(fig, "pnl")

    fig, ax = plt.subplots(figsize=(9, 4))
    fx = led["usd_cny"]
    ax.plot(x, led["margin_required_cny"] / fx / 1e6, label="margin required")
    ax.plot(x, led["equity_cny"] / fx / 1e6, label="account equity")
    ax.plot(x, led["usd_posted"] / 1e6, label="net USD posted", linestyle="--")
    ax.set_ylabel("million USD")
    ax.set_title("Margin and collateral" + tag)
    ax.legend()
    save(fig, "margin")

    fig, (ax, ax2) = plt.subplots(2, 1, figsize=(9, 5), sharex=True)
    ax.plot(x, led["lots"], label="lots held", linewidth=3, alpha=0.5)
    ax.plot(x, led["target_lots"], label="target lots (after limits)", linestyle="--")
    ax.set_ylabel("lots")
    ax.legend(loc="upper left")
    ax.set_title("Lots and hedge ratio" + tag)
    ax2.plot(x, led["hedge_ratio"], color="tab:red", label="hedge ratio")
    ax2.set_ylabel("hedge ratio [-]")
    ax2.legend(loc="upper left")
    save(fig, "lots")
    return out


def png_data_uri(png: bytes) -> str:
    """A PNG as a ``data:`` URI (for a static figure in a :class:`Section`).

    Examples
    --------
    >>> png_data_uri(b"x")
    'data:image/png;base64,eA=='
    """
    return "data:image/png;base64," + base64.b64encode(png).decode()
