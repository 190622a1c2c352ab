"""Figures and the self-contained HTML report of a backtest (matplotlib is optional).

matplotlib comes with the extra ``pip install "cnfutures[report]"``; it is imported only
when a figure is drawn. Without it :func:`figures` raises
:class:`~cnfutures.errors.OptionalDependencyMissing`, and :func:`write_report` writes the
page with the tables and a note that figures need the extra.
"""

from __future__ import annotations

import base64
import html
import io
from pathlib import Path
from typing import Any, Protocol

import polars as pl

from cnfutures.errors import InputError, OptionalDependencyMissing

__all__ = ["Reportable", "figures", "format_value", "pyplot", "write_report"]


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
    """PNG bytes of the three figures: ``pnl``, ``margin``, ``lots``.

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
    ax.plot(x, led["usd_posted"] / 1e6, label="net USD posted")
    ax.set_ylabel("million USD")
    ax.set_title("Margin and collateral" + tag)
    ax.legend()
    save(fig, "margin")

    fig, ax = plt.subplots(figsize=(9, 4))
    ax.plot(x, led["lots"], label="lots held")
    ax.set_ylabel("lots")
    ax2 = ax.twinx()
    ax2.plot(x, led["hedge_ratio"], color="tab:red", label="hedge ratio")
    ax2.set_ylabel("hedge ratio [-]")
    ax.set_title("Hedge ratio and lots" + tag)
    save(fig, "lots")
    return out


def _table(rows: list[tuple[str, str, str]]) -> str:
    body = "".join(
        f"<tr><td>{html.escape(a)}</td><td style='text-align:right'>{html.escape(b)}</td>"
        f"<td>{html.escape(c)}</td></tr>"
        for a, b, c in rows
    )
    return f"<table><tr><th>metric</th><th>value</th><th>unit</th></tr>{body}</table>"


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


_MARK = "<title>cnfutures backtest</title>"


def write_report(result: Reportable, path: str | Path, *, overwrite: bool = False) -> Path:
    """Write the HTML report; ``path`` is a directory (``index.html``) or an ``.html`` file.

    An existing file is replaced only if it is an earlier cnfutures report, or with
    ``overwrite=True``; any other file there raises :class:`~cnfutures.errors.InputError`.
    """
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
    target.parent.mkdir(parents=True, exist_ok=True)
    rows = [(m, format_value(v), u) for m, v, u in result.summary.iter_rows()]
    try:
        figs = figures(result)
        imgs = "".join(
            f"<h2>{html.escape(n)}</h2>"
            f"<img alt='{n}' src='data:image/png;base64,{base64.b64encode(b).decode()}'>"
            for n, b in figs.items()
        )
    except OptionalDependencyMissing:
        imgs = f"<p class='note'>Figures need matplotlib: <code>{html.escape(_EXTRA)}</code>.</p>"
    warn = (
        "<p class='sim'><b>SIMULATED market.</b> The futures prices in this report come from a seeded "
        "model (cnfutures.simulate), not from exchange history.</p>"
        if result.simulated
        else ""
    )
    led = result.ledger
    flagged = led["limit_locked"] | led["forced_roll"] | led["limit_bound"]
    flags = (
        led.filter(flagged | led["margin_call"] | led["delayed_roll"])
        .select(
            "trading_day", "contract", "lots", "limit_locked", "forced_roll", "limit_bound", "margin_call",
            "delayed_roll",
        )
        .head(50)
    )  # fmt: skip
    flag_rows = "".join(
        "<tr>" + "".join(f"<td>{html.escape(str(v))}</td>" for v in r) + "</tr>" for r in flags.iter_rows()
    )
    flag_head = "".join(f"<th>{c}</th>" for c in flags.columns)
    page = f"""<!doctype html><html><head><meta charset="utf-8"><title>cnfutures backtest</title>
<style>body{{font-family:sans-serif;max-width:60em;margin:auto}} table{{border-collapse:collapse}}
td,th{{border:1px solid #ccc;padding:2px 6px}} .sim{{background:#fff3cd;padding:6px}}</style></head><body>
<h1>Hedge backtest</h1><p>{html.escape(result.title)}</p><p>Market: {html.escape(result.label)}</p>{warn}
<h2>Summary</h2>{_table(rows)}{imgs}
<h2>Days when the rules bit (first 50)</h2><table><tr>{flag_head}</tr>{flag_rows}</table>
</body></html>"""
    target.write_text(page, encoding="utf-8")
    return target
