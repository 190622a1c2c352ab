"""Return, risk and roll yield of an allocation index; a Monte Carlo of it on simulated markets.

Definitions (docs/allocation.md, "Analytics"): with levels ``L_0..L_n`` on index days,

* annualised return ``(L_n/L_0)^(365/D) - 1``, ``D`` the calendar days from first to last day;
* annualised volatility ``std(log(L_t/L_{t-1})) · sqrt(n/Y)``, ``n/Y`` index days per year
  observed (ddof 1);
* drawdown ``L_t / max_{s<=t} L_s - 1``; maximum drawdown its minimum;
* roll yield of a sleeve: ``Σ_t log(1 + r_p(t)) - log(P_p(n)/P_p(0))``, the sleeve's excess
  return less the change of its unadjusted held price ``P_p = Σ_c w_c F_c`` (what the rolls
  added or cost); its contribution to the index ``Σ_t W_p(t-1) · (r_p(t) - ΔP_p(t)/P_p(t-1))``
  (``W`` the sleeve's weight at the previous close); both annualised by ``365/D``.
"""

from __future__ import annotations

import html
import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import polars as pl

from cnfutures._dates import DateLike
from cnfutures.allocation.index import AllocationIndex, build_index
from cnfutures.errors import DataError, InputError

__all__ = [
    "allocation_section",
    "correlation",
    "drawdowns",
    "monte_carlo",
    "performance",
    "roll_yield",
]


def _level(ix: AllocationIndex, column: str) -> pl.DataFrame:
    if not isinstance(ix, AllocationIndex):
        raise InputError(f"expected an AllocationIndex, got {type(ix).__name__}")
    if column not in ix.levels.columns or column in ("trading_day", "usd_cny"):
        have = [c for c in ix.levels.columns if c not in ("trading_day", "usd_cny")]
        raise InputError(f"column={column!r}; this index has levels {have}")
    return ix.levels.select("trading_day", pl.col(column).alias("level"))


def _years(days: pl.Series) -> float:
    return float((days[-1] - days[0]).days) / 365.0


def performance(ix: AllocationIndex, column: str = "tr_usd") -> dict[str, Any]:
    """Annualised return, volatility, Sharpe-free ratio and maximum drawdown of one level column.

    Parameters
    ----------
    ix : AllocationIndex
    column : str
        ``er_cny``, ``tr_cny``, ``er_usd`` or ``tr_usd``.

    Returns
    -------
    dict
        ``start``, ``end`` (dates), ``years`` [years, ACT/365], ``total_return``,
        ``annual_return``, ``annual_vol``, ``return_over_vol``, ``max_drawdown`` [fractions],
        ``max_drawdown_peak``, ``max_drawdown_trough`` (dates).

    Examples
    --------
    >>> from cnfutures.backtest import Market
    >>> m = Market.sample("sc", "2024-01-02", "2025-06-06")
    >>> ix = build_index({"sc": m.futures}, {"sc": 1.0})
    >>> p = performance(ix, "er_cny")
    >>> p["max_drawdown"] <= 0 < p["annual_vol"]
    True
    """
    f = _level(ix, column)
    lv = f["level"].to_numpy()
    days = f["trading_day"]
    yrs = _years(days)
    if lv.size < 3 or yrs <= 0:
        raise InputError(f"{lv.size} index days; performance needs at least 3 spanning more than a day")
    lr = np.diff(np.log(lv))
    ann_vol = float(lr.std(ddof=1) * math.sqrt(lr.size / yrs))
    total = float(lv[-1] / lv[0] - 1.0)
    ann = float((lv[-1] / lv[0]) ** (1.0 / yrs) - 1.0)
    peak = np.maximum.accumulate(lv)
    dd = lv / peak - 1.0
    t = int(np.argmin(dd))
    p = int(np.argmax(lv[: t + 1]))
    return {
        "column": column, "start": days[0], "end": days[-1], "years": yrs, "total_return": total,
        "annual_return": ann, "annual_vol": ann_vol,
        "return_over_vol": ann / ann_vol if ann_vol > 0 else math.nan,
        "max_drawdown": float(dd[t]), "max_drawdown_peak": days[p], "max_drawdown_trough": days[t],
    }  # fmt: skip


def drawdowns(ix: AllocationIndex, column: str = "tr_usd") -> pl.DataFrame:
    """Drawdown on each index day: ``level / running peak - 1`` [fraction].

    Examples
    --------
    >>> from cnfutures.backtest import Market
    >>> m = Market.sample("sc", "2025-01-02", "2025-06-06")
    >>> drawdowns(build_index({"sc": m.futures}, {"sc": 1.0}), "er_cny").columns
    ['trading_day', 'level', 'peak', 'drawdown']
    """
    return (
        _level(ix, column)
        .with_columns(peak=pl.col("level").cum_max())
        .with_columns(drawdown=pl.col("level") / pl.col("peak") - 1.0)
    )


def roll_yield(ix: AllocationIndex) -> pl.DataFrame:
    """Excess return of each sleeve split into price change and roll yield, annualised.

    Returns
    -------
    polars.DataFrame
        ``sleeve``, ``product``, ``excess_return`` (annualised log), ``price_change``
        (annualised log change of the unadjusted held price), ``roll_yield`` (their
        difference), ``roll_contribution`` (to the index's excess return, annualised) [fraction
        per year]; ``mean_weight`` [fraction].

    Examples
    --------
    >>> from cnfutures.backtest import Market
    >>> m = Market.sample("sc", "2024-01-02", "2025-06-06")
    >>> ry = roll_yield(build_index({"sc": m.futures}, {"sc": 1.0}))
    >>> abs(ry["excess_return"][0] - ry["price_change"][0] - ry["roll_yield"][0]) < 1e-12
    True
    """
    yrs = _years(ix.levels["trading_day"])
    rows = []
    for (name,), g in ix.sleeves.group_by("sleeve", maintain_order=True):
        r = g["sleeve_return"].to_numpy()[1:]
        p = g["held_price"].to_numpy()
        w = g["weight"].to_numpy()[1:]
        er = float(np.log1p(r).sum())
        pc = float(math.log(p[-1] / p[0]))
        dp = p[1:] / p[:-1] - 1.0
        rows.append({
            "sleeve": name, "product": g["product"][0], "excess_return": er / yrs, "price_change": pc / yrs,
            "roll_yield": (er - pc) / yrs, "roll_contribution": float((w * (r - dp)).sum()) / yrs,
            "mean_weight": float(w.mean()),
        })  # fmt: skip
    return pl.DataFrame(rows)


def correlation(
    ix: AllocationIndex,
    benchmark: pl.DataFrame,
    column: str = "tr_usd",
    *,
    freq: str = "weekly",
) -> dict[str, Any]:
    """Correlation of the index's log returns with a benchmark price series.

    Parameters
    ----------
    ix : AllocationIndex
    benchmark : polars.DataFrame
        ``date``, ``price`` (e.g. :func:`cnfutures.datasets.load_brent`, EIA Brent [USD/bbl]);
        nulls skipped.
    column : str
        Index level column.
    freq : {"daily", "weekly", "monthly"}
        Returns over days both series have (daily), or the last common day of each ISO week /
        month (weekly smooths the Beijing/London timing gap).

    Returns
    -------
    dict
        ``correlation``, ``beta`` (index on benchmark), ``observations``, ``freq``.

    Examples
    --------
    >>> from cnfutures.backtest import Market
    >>> m = Market.sample("sc", "2024-01-02", "2025-06-06")
    >>> ix = build_index({"sc": m.futures}, {"sc": 1.0}, usd_cny=m.usd_cny)
    >>> correlation(ix, m.prices["brent"])["correlation"] > 0.5
    True
    """
    if freq not in ("daily", "weekly", "monthly"):
        raise InputError(f"freq={freq!r}; accepted: daily, weekly, monthly")
    if not isinstance(benchmark, pl.DataFrame) or not {"date", "price"} <= set(benchmark.columns):
        raise InputError("benchmark must be a polars DataFrame with columns date, price")
    b = benchmark.select(pl.col("date").cast(pl.Date), pl.col("price").cast(pl.Float64)).drop_nulls()
    both = _level(ix, column).join(b, left_on="trading_day", right_on="date", how="inner").sort("trading_day")
    if freq != "daily":
        key = pl.col("trading_day").dt.truncate("1w" if freq == "weekly" else "1mo")
        both = both.group_by(key.alias("_k"), maintain_order=True).agg(pl.all().last()).drop("_k")
    x = np.diff(np.log(both["price"].to_numpy()))
    y = np.diff(np.log(both["level"].to_numpy()))
    if x.size < 3:
        raise DataError(
            f"only {x.size} {freq} returns in common with the benchmark; at least 3 are needed", []
        )
    c = float(np.corrcoef(x, y)[0, 1])
    beta = float(np.cov(y, x, ddof=1)[0, 1] / x.var(ddof=1))
    return {"correlation": c, "beta": beta, "observations": int(x.size), "freq": freq}


def monte_carlo(
    products: Sequence[str],
    weights: Mapping[str, float] | str = "equal",
    *,
    corr: object,
    start: DateLike,
    end: DateLike,
    n_paths: int = 100,
    seed: int = 20260101,
    column: str = "er_cny",
    params: Mapping[str, Any] | None = None,
    **index_kw: Any,
) -> pl.DataFrame:
    """Distribution of an index's return and risk over simulated markets (SIMULATED data).

    The products are simulated together by :func:`cnfutures.simulate.markets`: their factor
    shocks have the correlation ``corr`` and every path has ONE USD/CNY path, shared by all
    sleeves (so the USD levels translate the whole index at one rate). The index is built on
    every path, paths being simulated a chunk at a time.

    Parameters
    ----------
    products : sequence of str
        Sleeves, one per product (same exchange calendar over the range).
    weights : mapping or str
        As for :func:`build_index`.
    corr : "independent", mapping, array-like or estimate
        Required, no default: the correlation of the products' short-term shocks (see
        :func:`cnfutures.simulate.markets`; e.g. :func:`cnfutures.simulate.estimate_correlation`
        of your own settlements, or the explicit ``"independent"``).
    start, end : date or str
        Simulated range.
    n_paths : int
        Paths (1..10,000).
    seed : int
        Base seed; product ``k`` draws from ``seed + k`` (path ``i`` does not depend on
        ``n_paths``).
    column : {"er_cny", "tr_cny", "er_usd", "tr_usd"}
        Level column measured (USD levels use the simulated USD/CNY path).
    params : mapping of str to simulate.Params, optional
        Model parameters by product (default :func:`cnfutures.simulate.default_params`).
    **index_kw
        Other :func:`build_index` arguments (roll, rebalance, cny_rate, usd_rate, fx, ...);
        not ``usd_cny`` (the FX is simulated).

    Returns
    -------
    polars.DataFrame
        One row per path: ``path``, ``total_return``, ``annual_return``, ``annual_vol``,
        ``max_drawdown`` [fractions].

    Raises
    ------
    InputError
        A missing or invalid ``corr`` (names the pair or value), a bad column or ``n_paths``,
        ``usd_cny`` in ``index_kw``.

    Examples
    --------
    >>> mc = monte_carlo(["sc", "ru"], start="2024-01-02", end="2024-12-31", n_paths=3, seed=1,
    ...                  corr={("sc", "ru"): 0.3}, column="tr_usd")
    >>> mc.columns, mc.height
    (['path', 'total_return', 'annual_return', 'annual_vol', 'max_drawdown'], 3)
    """
    from cnfutures import simulate
    from cnfutures.validation import check_correlation

    if isinstance(n_paths, bool) or not isinstance(n_paths, int) or not 1 <= n_paths <= 10_000:
        raise InputError(f"n_paths={n_paths!r} must be a whole number from 1 to 10,000")
    if column not in ("er_cny", "tr_cny", "er_usd", "tr_usd"):
        raise InputError(f"column={column!r}; accepted: er_cny, tr_cny, er_usd, tr_usd")
    if "usd_cny" in index_kw:
        raise InputError(
            "monte_carlo simulates USD/CNY (one path shared by all sleeves); do not pass usd_cny"
        )
    names = list(products)
    sus = simulate.joint_setup(names, start, None, end, dict(params) if params else None)
    low = simulate._cholesky_psd(check_correlation(corr, names))
    chunk = max(1, min(n_paths, _MC_CHUNK_ROWS // max(1, sum(su.rows.height for su in sus))))
    rows = []
    for p0 in range(0, n_paths, chunk):
        P = min(chunk, n_paths - p0)
        outs = simulate.draw_joint(sus, low, seed, p0, P, ohlc=False)
        for i in range(P):
            fut = {
                su.product.code: su.rows.select("trading_day", "contract").with_columns(
                    settle=pl.Series(o["settle"][i])
                )
                for su, o in zip(sus, outs, strict=True)
            }
            fx = pl.DataFrame({"date": sus[0].days, "usd_cny": np.exp(outs[0]["lfx"][i])})
            perf = performance(build_index(fut, weights, usd_cny=fx, **index_kw), column)
            keys = ("total_return", "annual_return", "annual_vol", "max_drawdown")
            rows.append({"path": p0 + i, **{k: perf[k] for k in keys}})
    return pl.DataFrame(rows)


#: Contract-day rows of all sleeves simulated at once by :func:`monte_carlo` (bounds memory).
_MC_CHUNK_ROWS = 2_000_000


def _pct(x: float) -> str:
    return "n/a" if not math.isfinite(x) else f"{100 * x:.2f} %"


def allocation_section(result: Any, column: str = "tr_usd") -> str:
    """An HTML fragment (escaped) describing an allocation index for a report.

    Parameters
    ----------
    result : AllocationIndex or Replay
        An index from :func:`build_index`, or an investable replay (it then adds the
        tracking-difference table by route).
    column : str
        Level column summarised (falls back to ``tr_cny`` when the index has no USD levels).

    Examples
    --------
    >>> from cnfutures.backtest import Market
    >>> m = Market.sample("sc", "2025-01-02", "2025-06-06")
    >>> html_text = allocation_section(build_index({"sc": m.futures}, {"sc": 1.0}))
    >>> html_text.startswith("<section") and "roll yield" in html_text
    True
    """
    ix = getattr(result, "index", result)
    if not isinstance(ix, AllocationIndex):
        raise InputError(
            f"allocation_section takes an AllocationIndex or a replay, got {type(result).__name__}"
        )
    col = column if column in ix.levels.columns else "tr_cny"
    perf = performance(ix, col)
    spec = ix.spec
    e = html.escape
    out = ['<section class="allocation">', "<h2>Allocation index</h2>"]
    out.append(
        "<p>"
        + e(
            f"Sleeves {', '.join(f'{k} ({v})' for k, v in spec['sleeves'].items())}; "
            f"weights {spec['weights']}; "
            f"roll window {spec['roll_window']} trading days; rebalanced {spec['rebalance']}; "
            f"collateral {spec['collateral']}, FX {spec['fx']}."
        )
        + "</p>"
    )
    out.append("<table><tr><th>level</th><th>from</th><th>to</th><th>annual return</th>"
               "<th>annual volatility</th><th>max drawdown</th></tr>")  # fmt: skip
    for c in [c for c in ("er_cny", "tr_cny", "er_usd", "tr_usd") if c in ix.levels.columns]:
        p = performance(ix, c)
        out.append(
            f"<tr><td>{e(c)}</td><td>{e(str(p['start']))}</td><td>{e(str(p['end']))}</td>"
            f"<td>{_pct(p['annual_return'])}</td><td>{_pct(p['annual_vol'])}</td><td>{_pct(p['max_drawdown'])}</td></tr>"
        )
    out.append("</table>")
    out.append("<h3>Excess return by sleeve: price change and roll yield (annualised)</h3>")
    out.append("<table><tr><th>sleeve</th><th>excess return</th><th>price change</th><th>roll yield</th>"
               "<th>roll contribution to index</th><th>mean weight</th></tr>")  # fmt: skip
    for r in roll_yield(ix).iter_rows(named=True):
        out.append(
            f"<tr><td>{e(str(r['sleeve']))}</td><td>{_pct(r['excess_return'])}</td><td>{_pct(r['price_change'])}</td>"
            f"<td>{_pct(r['roll_yield'])}</td><td>{_pct(r['roll_contribution'])}</td><td>{_pct(r['mean_weight'])}</td></tr>"
        )
    out.append("</table>")
    td = getattr(result, "tracking", None)
    if isinstance(td, pl.DataFrame):
        out.append("<h3>Tracking difference by route: paper index vs what the route can hold [USD]</h3>")
        out.append("<table><tr>" + "".join(f"<th>{e(c)}</th>" for c in td.columns) + "</tr>")
        for row in td.iter_rows():
            cells = "".join(f"<td>{e(f'{v:,.2f}' if isinstance(v, float) else str(v))}</td>" for v in row)
            out.append(f"<tr>{cells}</tr>")
        out.append("</table>")
    dd = f"{col}: deepest drawdown {_pct(perf['max_drawdown'])}, from {perf['max_drawdown_peak']} to "
    out.append(f"<p>{e(dd + str(perf['max_drawdown_trough']))}.</p>")
    out.append("</section>")
    return "\n".join(out)
