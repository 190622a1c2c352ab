"""The options section of a backtest report: what the option legs cost and earned, and the Greeks.

A backtest whose policy has option legs (:func:`cnfutures.backtest.collar`, ...) gets this
section in its report automatically (``BacktestResult.report``; with
:func:`cnfutures.backtest.report.write_report` pass ``sections=[options_section(result)]``):

* the cost of protection (net premium + option fees) and the P&L with and without the options;
* the option series the legs held and the exercise events (days with an exercise payoff);
* charts: cumulative net P&L with and without the options and the cumulative option P&L;
  the short-option margin inside the margin requirement; the book's delta, gamma and vega.

Every number comes from the result's ledger and summary (the booking kernel's columns
``option_*`` and ``book_*``, :data:`cnfutures.backtest.layout.OPTION_LEDGER`); nothing is
recomputed here except the sums and the CNY → USD conversion at the day's ``usd_cny``.
"""

from __future__ import annotations

from typing import Any

import polars as pl

from cnfutures.backtest.report import Chart, Reportable, Section, Series, _table, _usd, esc, width_dash

__all__ = ["has_options", "options_daily", "options_section"]


def has_options(result: Reportable) -> bool:
    """Whether the result's policy had option legs (its ledger has the option columns).

    Examples
    --------
    >>> from cnfutures.backtest import BacktestResult
    >>> has_options(BacktestResult(pl.DataFrame({"option_lots": [1.0]}), pl.DataFrame()))
    True
    """
    return "option_lots" in result.ledger.columns


def options_daily(result: Reportable) -> pl.DataFrame:
    """Daily option P&L and the net P&L with and without the option legs [USD].

    Returns
    -------
    polars.DataFrame
        ``trading_day``; ``option_pnl_usd`` (the legs marked to market), ``option_fees_usd``,
        ``net_pnl_usd`` (with the options) and ``net_pnl_ex_options_usd`` (net P&L less the
        option P&L, fees added back), each the day's CNY column over the day's ``usd_cny``;
        they sum to the summary's ``option_pnl_usd``, ``option_fees_usd``, ``net_pnl_usd`` and
        ``net_pnl_ex_options_usd``.

    Examples
    --------
    >>> from cnfutures.access import Investor
    >>> from cnfutures.backtest import Exposure, HedgePolicy, Market, collar, run
    >>> r = run(Market.sample("sc", "2025-01-02", "2025-06-06"), Exposure(300_000, "short", "brent"),
    ...         HedgePolicy("sc", ratio=0.0, options=collar(), option_vol=0.35), Investor("qfi"),
    ...         start="2025-02-05")
    >>> d = options_daily(r)
    >>> abs(d["net_pnl_ex_options_usd"].sum() - r["net_pnl_ex_options_usd"]) < 1e-6 * abs(r["net_pnl_usd"])
    True
    """
    led = result.ledger
    fx = pl.col("usd_cny")
    return led.select(
        "trading_day",
        (pl.col("option_pnl_cny") / fx).alias("option_pnl_usd"),
        (pl.col("option_fees_cny") / fx).alias("option_fees_usd"),
        "net_pnl_usd",
        (pl.col("net_pnl_usd") - pl.col("option_pnl_cny") / fx + pl.col("option_fees_cny") / fx).alias(
            "net_pnl_ex_options_usd"
        ),
    )


def _exercises(led: pl.DataFrame, series: pl.DataFrame | None) -> pl.DataFrame:
    """Days with an exercise payoff, with the series the legs held that day."""
    ex = led.filter(pl.col("option_exercise_cny") != 0).select(
        "trading_day",
        pl.col("option_exercise_cny").alias("exercise_cny"),
        (pl.col("option_exercise_cny") / pl.col("usd_cny")).alias("exercise_usd"),
    )
    if series is None or ex.height == 0:
        return ex
    held = [
        ", ".join(
            series.filter((pl.col("opened") <= d) & (pl.col("ended") >= d))
            .select(pl.format("{} ({} lots)", "option", pl.col("lots").cast(pl.Int64)))
            .to_series()
            .to_list()
        )
        for d in ex["trading_day"]
    ]
    return ex.with_columns(pl.Series("series held that day", held, dtype=pl.String))


def _text(result: Reportable) -> str:
    s = dict(result.summary.select("metric", "value").iter_rows())
    cost, prem, fees = s["cost_of_protection_usd"], s["option_premium_usd"], s["option_fees_usd"]
    net, ex = s["net_pnl_usd"], s["net_pnl_ex_options_usd"]
    paid = "paid" if prem >= 0 else "received"
    peak = f"{s['peak_option_margin_cny'] / 1e6:,.2f}"
    return (
        f"<p>Cost of protection: <b>{esc(_usd(cost))}</b> (net premium {esc(paid)} "
        f"{esc(_usd(abs(prem)))}, option fees {esc(_usd(fees))}). The option legs earned "
        f"{esc(_usd(s['option_pnl_usd']))} marked to market (exercise payoffs "
        f"{esc(_usd(s['option_exercise_usd']))}). Net P&L with the options {esc(_usd(net))}, "
        f"without them {esc(_usd(ex))} (the same futures and exposure, less the option P&L and "
        f"fees). Largest short-option margin: {esc(peak)} M CNY.</p>"
    )


def options_section(result: Reportable) -> Section:
    """The report section of a backtest with option legs (see the module docstring).

    Raises
    ------
    InputError
        The result has no option legs (its ledger has no ``option_lots`` column).

    Examples
    --------
    >>> from cnfutures.access import Investor
    >>> from cnfutures.backtest import Exposure, HedgePolicy, Market, collar, run
    >>> r = run(Market.sample("sc", "2025-01-02", "2025-06-06"), Exposure(300_000, "short", "brent"),
    ...         HedgePolicy("sc", ratio=0.0, options=collar(), option_vol=0.35), Investor("qfi"),
    ...         start="2025-02-05")
    >>> sec = options_section(r)
    >>> sec.title, len(sec.charts)
    ('Options', 4)
    """
    from cnfutures.errors import InputError

    if not has_options(result):
        raise InputError("the result has no option legs (no option_lots column): no options section")
    led = result.ledger
    x = led["trading_day"]
    fx = led["usd_cny"]
    daily = options_daily(result)
    tag = " (SIMULATED market)" if result.simulated else ""
    meta: dict[str, Any] = getattr(result, "meta", {}) or {}
    series: pl.DataFrame | None = meta.get("option_series")
    hover = led.select(
        "trading_day", "option_lots", "option_premium_cny", "option_pnl_cny", "option_exercise_cny",
        "option_value_cny", "option_margin_cny", "book_delta", "book_gamma", "book_vega", "usd_cny",
    )  # fmt: skip
    names = (
        "cost_of_protection_usd", "option_premium_usd", "option_fees_usd", "option_pnl_usd",
        "option_exercise_usd", "net_pnl_usd", "net_pnl_ex_options_usd", "peak_option_margin_cny",
    )  # fmt: skip
    rows = result.summary.filter(pl.col("metric").is_in(names)).select("metric", "value", "unit")
    parts = [_text(result), _table(rows, right=("value",))]
    if series is not None:
        shown = series.select(
            "leg", "kind", "side", "option", "lots", "opened", "ended",
            pl.col("end").replace({"expire": "held to expiry", "close": "closed (roll)",
                                   "open": "still held"}),
        )  # fmt: skip
        parts.append("<h3>Option series held</h3>")
        parts.append(f"<div style='overflow-x:auto'>{_table(shown)}</div>")
    ex = _exercises(led, series)
    parts.append("<h3>Exercise events</h3>")
    if ex.height:
        parts.append(
            "<p class='note'>Days with an exercise payoff received (+) or paid (−); American options "
            "are exercised early when the model price equals the exercise value.</p>"
        )
        parts.append(f"<div style='overflow-x:auto'>{_table(ex)}</div>")
    else:
        parts.append("<p class='note'>No option was exercised: every series expired out of the money "
                     "or is still held.</p>")  # fmt: skip
    pnl = Chart(
        "Cumulative net P&L with and without the options" + tag, x,
        (Series("net, with options", daily["net_pnl_usd"].cum_sum() / 1e6, "M USD"),
         Series("net, without options", daily["net_pnl_ex_options_usd"].cum_sum() / 1e6, "M USD",
                dash=width_dash(1)),
         Series("option P&L", daily["option_pnl_usd"].cum_sum() / 1e6, "M USD", dash=width_dash(2))),
        ylabel="cumulative P&L [million USD]", hover=hover,
    )  # fmt: skip
    margin = Chart(
        "Short-option margin" + tag, x,
        (Series("option margin", led["option_margin_cny"] / fx / 1e6, "M USD"),
         Series("margin required (futures + options)", led["margin_required_cny"] / fx / 1e6, "M USD",
                dash=width_dash(1)),
         Series("value of the options held", led["option_value_cny"] / fx / 1e6, "M USD",
                dash=width_dash(3))),
        ylabel="million USD", hover=hover, height=260,
    )  # fmt: skip
    delta = Chart(
        "Book delta (futures + options)" + tag, x,
        (Series("book delta", led["book_delta"], "unit of the underlying", color="#08306b"),),
        ylabel="delta [unit]", hover=hover, height=240,
    )  # fmt: skip
    greeks = Chart(
        "Book gamma and vega (options)" + tag, x,
        (Series("gamma", led["book_gamma"], "unit per CNY/unit"),
         Series("vega", led["book_vega"] / 1e6, "M CNY per 1.00 vol", axis="y2", dash=width_dash(1))),
        ylabel="gamma [unit per CNY/unit]", y2label="vega [million CNY per 1.00 of implied vol]",
        hover=hover, height=240,
    )  # fmt: skip
    return Section("Options", "".join(parts), (pnl, margin, delta, greeks))
