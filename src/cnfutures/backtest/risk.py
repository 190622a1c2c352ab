"""Monte Carlo hedge risk: one hedge policy booked over many SIMULATED market paths.

The market of every path comes from :mod:`cnfutures.simulate` (the same two-factor model and
counter-based draws as :func:`cnfutures.simulate.market`, with simulated USD/CNY), and every
path is booked by the backtester's kernel exactly as :func:`cnfutures.backtest.run` books one
market: settlement marking, margin calls in USD at a haircut, limit-locked days, rolls, fees
and FX. Path ``i`` of a risk run equals a backtest on path ``i`` of
``simulate.market(..., usd=True)`` (tested).

Only the contracts the roll schedule holds are simulated per path, in chunks of paths sized
to a memory budget, so thousands of paths over years stay within a few hundred MB.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import polars as pl

from cnfutures._dates import DateLike
from cnfutures._params import Params
from cnfutures.access import Investor
from cnfutures.backtest.engine import BookInputs, Prepared, book, prepare, target_lots
from cnfutures.backtest.layout import metric_units, option_metrics, path_metrics
from cnfutures.backtest.model import Costs, Exposure, HedgePolicy, Market, declare_units
from cnfutures.errors import DataError, InputError
from cnfutures.market.contracts import contract
from cnfutures.market.options import option
from cnfutures.market.rules import RuleBook

if TYPE_CHECKING:  # pragma: no cover  (the kernel module imports numba: loaded when booking)
    from cnfutures._kernels.settlement import PathArrays

__all__ = ["MAX_PATH_DAYS", "PATH_METRICS", "SIMULATED_PRICES", "HedgeRisk", "hedge_risk"]

# per-path metrics (column, unit) of HedgeRisk.paths (the engine's one metric layout)
PATH_METRICS: tuple[tuple[str, str], ...] = metric_units("paths")
PATH_OPTION_METRICS: tuple[tuple[str, str], ...] = metric_units("paths", options=True)  # with option legs

_SERIES = ("unhedged_pnl_usd", "hedged_pnl_usd", "usd_posted")
SIMULATED_PRICES = {"benchmark": "USD", "spot": "CNY"}  # series of a simulated market -> currency
MEMORY_BUDGET = 256 * 2**20  # bytes of dense price arrays per chunk of paths
#: Paths x trading days :func:`hedge_risk` books without ``allow_large=True`` (about a
#: minute at the measured ~2 us per path-day, December 2026).
MAX_PATH_DAYS = 25_000_000
NS_PER_PATH_DAY = 2_500.0


def _qname(q: float) -> str:
    if abs(q * 100 - round(q * 100)) < 1e-9:
        return f"q{round(q * 100):02d}"
    return f"q{round(q * 1000):03d}"


@dataclass(frozen=True)
class HedgeRisk:
    """Distribution of a hedge's outcome over simulated paths.

    Attributes
    ----------
    paths : polars.DataFrame
        One row per path: ``path`` and the metrics of :data:`PATH_METRICS` [USD, counts, days].
    fan : polars.DataFrame or None
        Daily quantiles across paths: ``trading_day``, ``series`` (``unhedged_pnl_usd``,
        ``hedged_pnl_usd``: cumulative P&L [USD]; ``usd_posted``: net USD sent to the futures
        firm [USD]) and one column per quantile (``q05``, ``q50``, ...).
    quantiles : tuple of float
        The quantiles of ``fan``.
    label : str
        What was simulated (always says SIMULATED).
    """

    paths: pl.DataFrame
    fan: pl.DataFrame | None
    quantiles: tuple[float, ...]
    label: str

    def summary(self, q: Sequence[float] = (0.01, 0.05, 0.5, 0.95, 0.99)) -> pl.DataFrame:
        """Mean, standard deviation and quantiles of every per-path metric.

        Parameters
        ----------
        q : sequence of float
            Quantiles in ``[0, 1]`` (linear interpolation).

        Returns
        -------
        polars.DataFrame
            ``metric``, ``unit``, ``mean``, ``std`` and one column per quantile.

        Examples
        --------
        >>> r = hedge_risk(Exposure(100_000, "short", "benchmark"), HedgePolicy("sc"),
        ...                Investor("qfi"), start="2025-01-02", n_days=30, n_paths=20, seed=3)
        >>> r.summary(q=(0.5,))["metric"][0], r.summary(q=(0.5,)).columns[-1]
        ('exposure_pnl_usd', 'q50')
        """
        qs = sorted(set(_check_q(q)))  # a quantile asked twice is one column
        units_of = PATH_METRICS if "option_pnl_usd" not in self.paths.columns else PATH_OPTION_METRICS
        names = [m for m, _ in units_of]
        long = self.paths.unpivot(on=names, index="path", variable_name="metric")
        out = long.group_by("metric", maintain_order=True).agg(
            pl.col("value").mean().alias("mean"),
            pl.col("value").std().alias("std"),
            *(pl.col("value").quantile(x, interpolation="linear").alias(_qname(x)) for x in qs),
        )
        units = pl.DataFrame({"metric": names, "unit": [u for _, u in units_of]})
        return units.join(out, on="metric", how="left", maintain_order="left")

    def usd_to_keep(self, confidence: float = 0.99) -> float:
        """USD to keep ready: the ``confidence`` quantile of the peak net USD posted [USD].

        Examples
        --------
        >>> r = hedge_risk(Exposure(100_000, "short", "benchmark"), HedgePolicy("sc"),
        ...                Investor("qfi"), start="2025-01-02", n_days=30, n_paths=20, seed=3)
        >>> r.usd_to_keep(0.99) >= r.usd_to_keep(0.5) > 0
        True
        """
        (c,) = _check_q([confidence])
        v = self.paths["peak_usd_posted"].quantile(c, interpolation="linear")
        assert v is not None
        return float(v)

    def report(self, path: str | Path, *, overwrite: bool = False) -> Path:
        """Write the self-contained HTML report: outcome table and interactive fan charts.

        ``path`` is a directory (``index.html``) or an ``.html`` file (see
        :func:`cnfutures.report.write_risk_report`).
        """
        from cnfutures.backtest.report import write_risk_report

        return write_risk_report(self, path, overwrite=overwrite)

    def plot_fan(self, path: str | Path) -> Path:
        """Write a PNG fan chart (cumulative P&L hedged vs unhedged, and USD posted).

        Raises
        ------
        InputError
            The run was made with ``fan=False``.
        OptionalDependencyMissing
            matplotlib is not installed (``pip install "cnfutures[report]"``).
        """
        from cnfutures.backtest.report import pyplot

        if self.fan is None:
            raise InputError("this HedgeRisk was computed with fan=False; rerun with fan=True")
        plt = pyplot()
        qs = self.quantiles
        cols = [_qname(x) for x in qs]
        fig, axes = plt.subplots(2, 1, figsize=(9, 7), sharex=True)
        panels = (("unhedged_pnl_usd", "hedged_pnl_usd"), ("usd_posted",))
        titles = ("cumulative P&L [million USD]", "net USD posted to the futures firm [million USD]")
        colours = {"unhedged_pnl_usd": "tab:grey", "hedged_pnl_usd": "tab:blue", "usd_posted": "tab:red"}
        for ax, series, title in zip(axes, panels, titles, strict=True):
            for s in series:
                f = self.fan.filter(pl.col("series") == s)
                x = f["trading_day"].to_list()
                n = len(cols)
                for i in range(n // 2):
                    ax.fill_between(
                        x, f[cols[i]] / 1e6, f[cols[n - 1 - i]] / 1e6, color=colours[s], alpha=0.15 + 0.1 * i,
                        linewidth=0,
                    )  # fmt: skip
                mid = cols[n // 2]
                ax.plot(x, f[mid] / 1e6, color=colours[s], label=f"{s} ({mid}, bands {cols[0]}-{cols[-1]})")
            ax.set_title(title)
            ax.legend(loc="upper left", fontsize=8)
            ax.grid(alpha=0.3)
        fig.suptitle(self.label, fontsize=9)
        fig.tight_layout()
        out = Path(path)
        fig.savefig(out, format="png", dpi=90)
        plt.close(fig)
        return out


def _check_q(q: Sequence[float]) -> list[float]:
    qs = [float(x) for x in q]
    if not qs:
        raise InputError("quantiles must not be empty")
    for x in qs:
        if not 0.0 <= x <= 1.0:
            raise InputError(f"quantile {x!r} must lie in [0, 1]")
    return qs


def _template_market(frame: pl.DataFrame, label: str) -> Market:
    """A one-path simulated frame (``usd=True``) as a backtest Market."""
    daily = frame.group_by("trading_day").agg(pl.col("usd_cny", "benchmark_usd", "spot").first())
    daily = daily.sort("trading_day").rename({"trading_day": "date"})
    unit = contract(str(frame["contract"][0])).product.unit
    return Market(
        futures=frame.drop("path", "usd_cny", "benchmark_usd"),
        prices={
            "benchmark": declare_units(
                daily.select("date", pl.col("benchmark_usd").alias("price")), "USD", unit
            ),
            "spot": declare_units(daily.select("date", pl.col("spot").alias("price")), "CNY", unit),
        },
        usd_cny=daily.select("date", "usd_cny"),
        simulated=True,
        label=label,
    )


def hedge_risk(
    exposure: Exposure,
    policy: HedgePolicy,
    investor: Investor,
    costs: Costs | None = None,
    *,
    start: DateLike,
    n_days: int | None = None,
    end: DateLike | None = None,
    n_paths: int = 1000,
    seed: int = 20260101,
    params: object | None = None,
    benchmark: pl.DataFrame | None = None,
    usd_cny: pl.DataFrame | None = None,
    book_: RuleBook | None = None,
    fan: bool = True,
    quantiles: Sequence[float] = (0.05, 0.25, 0.5, 0.75, 0.95),
    allow_large: bool = False,
) -> HedgeRisk:
    """Book one hedge policy over ``n_paths`` simulated markets; distribution of the outcome.

    Parameters
    ----------
    exposure : Exposure
        The physical exposure; its ``price`` must name a simulated series: ``"benchmark"``
        (the long-run level in USD, ``currency="USD"``) or ``"spot"`` (model spot in CNY,
        ``currency="CNY"``).
    policy : HedgePolicy
        Product, ratio (a number, or a method re-estimated on each path's own past), roll,
        band, execution, slippage.
    investor : cnfutures.access.Investor
        Route and kind (eligibility is checked on the start date).
    costs : Costs, optional
        Fees, commission, FX spread, funding, margin buffers.
    start : date or str
        First trading day.
    n_days : int, optional
        Trading days simulated (give this or ``end``).
    end : date or str, optional
        Last calendar date.
    n_paths : int
        Number of simulated paths (> 0); ``n_paths`` x trading days at most
        :data:`MAX_PATH_DAYS` (25 million, about a minute) unless ``allow_large=True``.
    seed : int
        Seed; path ``i`` is reproducible bit for bit and independent of ``n_paths``.
    params : simulate.Params, optional
        Model parameters (default :func:`cnfutures.simulate.default_params`).
    benchmark, usd_cny : polars.DataFrame, optional
        Real series that replace the simulated long-run factor / USD/CNY (see
        :func:`cnfutures.simulate.market`); with both given only the short-term factor varies.
    book_ : RuleBook, optional
        Rules (default: bundled).
    fan : bool
        Also keep each path's daily cumulative P&L and USD posted for the fan chart
        (memory ``24 × n_paths × n_days`` bytes).
    quantiles : sequence of float
        Quantiles of the fan chart.
    allow_large : bool
        Run more than :data:`MAX_PATH_DAYS` path-days (the error estimates the time and
        memory).

    Returns
    -------
    HedgeRisk
        Per-path metrics, the daily fan and helpers (:meth:`HedgeRisk.summary`,
        :meth:`HedgeRisk.usd_to_keep`, :meth:`HedgeRisk.plot_fan`).

    Raises
    ------
    InputError
        ``n_paths < 1``, an exposure priced off something other than ``"benchmark"`` or
        ``"spot"`` or in the wrong currency, bad quantiles or dates.
    AccessDenied
        The investor may not trade the product on the start date.

    Examples
    --------
    >>> r = hedge_risk(Exposure(100_000, "short", "benchmark"), HedgePolicy("sc"), Investor("qfi"),
    ...                start="2025-01-02", n_days=30, n_paths=50, seed=1)
    >>> r.paths.height, r.fan["series"].unique().sort().to_list()
    (50, ['hedged_pnl_usd', 'unhedged_pnl_usd', 'usd_posted'])
    """
    from cnfutures import simulate
    from cnfutures._kernels import settlement as k

    qs, prm = _check_inputs(exposure, policy, n_paths, params, quantiles)
    # 1. path 0 over every listed contract: validates the whole set-up and fixes the schedule,
    # the contracts held and the rule matrices (shared by all paths)
    su_all = simulate.setup(policy.product, start, n_days, end, prm, benchmark, usd_cny, book=book_)
    f0 = simulate.frame(su_all, simulate.draw(su_all, seed, 0, 1), usd=True)
    label = (
        f"SIMULATED {policy.product} market, {n_paths} paths, seed {seed}, "
        f"{su_all.days[0]} to {su_all.days[-1]}"
    )
    tau, vol_process = 0.0, False
    if policy.options:  # the option legs' vol: the policy's, or the simulator's implied-vol process
        tau = max(x.tenor_months for x in policy.options) / 12.0
        if policy.option_vol is None:  # path 0's template needs one vol to validate the set-up
            policy = dataclasses.replace(policy, option_vol=simulate.model_vol(prm, tau))
            vol_process = True
    prep = prepare(_template_market(f0, label), exposure, policy, investor, costs, book=book_)
    # 2. the contracts held, simulated path chunk by path chunk
    su = su_all.restrict(prep.contracts)
    K, D = len(prep.contracts), prep.days.len()
    if n_paths * D > MAX_PATH_DAYS and not allow_large:
        pd_ = n_paths * D
        mem = n_paths * (8 * (k.N_SUMMARY + 1) + (8 * k.N_TRACK * D if fan else 0)) + MEMORY_BUDGET
        raise InputError(
            f"n_paths={n_paths:,} x {D:,} trading days = {pd_:,} path-days, above the cap of "
            f"{MAX_PATH_DAYS:,}: about {pd_ * NS_PER_PATH_DAY * 1e-9 / 60:,.0f} min on this core and "
            f"{mem / 1e9:,.1f} GB of memory{' (fan=False saves the tracks)' if fan else ''}; pass "
            "allow_large=True to run it anyway"
        )
    kmap = {c: i for i, c in enumerate(prep.contracts)}
    row_k = su.rows["contract"].replace_strict(kmap, return_dtype=pl.Int64).to_numpy()
    slots = _slots(prep.inputs.schedule.target_k, row_k, su.row_day, K, D, _option_first(prep, kmap, K, D))
    keep = slots.occ[slots.slot_of[row_k], su.row_day] == row_k  # rows inside their window
    cells = _Cells(keep, slots.slot_of[row_k][keep], su.row_day[keep], slots.occ.shape[0], D)
    base = _slot_inputs(prep.inputs, slots)  # contract axis: slots (market filled per chunk)
    if base.options is not None:  # per path: the strike snapped to the grid, the model price
        o = base.options
        k_open = np.where(o.k_open >= 0, slots.slot_of[np.maximum(o.k_open, 0)], -1)
        base = base._replace(options=o._replace(
            k_open=k_open, strike=np.full(o.strike.shape, np.nan), price=np.full(o.price.shape, np.nan)
        ))  # fmt: skip
    per_path = 8 * (4 * cells.S * D + (6 if policy.execution != "settle" else 4) * su.rows.height
                    + (12 + k.N_TRACK) * D)  # fmt: skip
    chunk = max(1, min(n_paths, MEMORY_BUDGET // per_path))
    summ = np.empty((n_paths, k.N_SUMMARY))
    day0 = np.empty(n_paths)  # hedged P&L of day 0 (fees of the opening trade)
    tracks = np.empty((n_paths, k.N_TRACK, D)) if fan else None
    buffers: dict[str, np.ndarray] = {}  # simulation arrays reused across chunks
    dense = _Buffers()
    for p0 in range(0, n_paths, chunk):
        P = min(chunk, n_paths - p0)
        out = simulate.draw(su, seed, p0, P, ohlc=policy.execution != "settle", buffers=buffers)
        market = _chunk_market(out, cells, dense, prep, base, exposure, policy, prm.basis)
        # the kernel writes each path's daily track straight into the fan's array
        trk = tracks[p0 : p0 + P] if tracks is not None else dense.get("track", (P, k.N_TRACK, D), 0.0)
        chunk_in = base._replace(market=market)
        if base.options is not None and vol_process:
            iv = simulate.implied_vol(prm, out["chi"], seed, p0, tau=tau)
            chunk_in = chunk_in._replace(options=base.options._replace(vol=np.ascontiguousarray(iv)))
        _, s = book(chunk_in, ledger=False, track=trk)
        bad = ~np.isfinite(s[:, k.S_NET])
        if bad.any():
            raise DataError(
                f"path {p0 + int(np.argmax(bad))}: a roll delayed by limit locks ran past the held "
                "contract's last trading day (no settlement to mark); the hedge cannot be booked",
                [f"path {p0 + i}" for i in np.flatnonzero(bad)[:10]],
            )
        summ[p0 : p0 + P] = s
        day0[p0 : p0 + P] = trk[:, k.T_CUM_NET, 0]
    paths = _path_frame(summ, day0, D, options=prep.has_options)
    fan_frame = _fan(prep, tracks, qs) if tracks is not None else None
    return HedgeRisk(paths, fan_frame, qs, label)


def _check_inputs(
    exposure: Exposure, policy: HedgePolicy, n_paths: int, params: object | None, quantiles: Sequence[float]
) -> tuple[tuple[float, ...], Params]:
    """The sorted fan quantiles and the model parameters of a risk run, after checking the inputs."""
    from cnfutures import simulate

    if isinstance(n_paths, bool) or not isinstance(n_paths, int) or n_paths < 1:
        raise InputError(f"n_paths={n_paths!r} must be a positive integer")
    if exposure.price not in SIMULATED_PRICES:
        raise InputError(
            f"exposure price={exposure.price!r}: a simulated market offers 'benchmark' (USD) and 'spot' (CNY)"
        )
    if exposure.currency is not None and exposure.currency != SIMULATED_PRICES[exposure.price]:
        raise InputError(
            f"exposure price {exposure.price!r} is in {SIMULATED_PRICES[exposure.price]}, "
            f"not currency={exposure.currency!r}"
        )
    qs = tuple(sorted(_check_q(quantiles)))
    prm = params if params is not None else simulate.default_params(policy.product)
    if not isinstance(prm, simulate.Params):
        raise InputError(f"params must be a simulate.Params, got {type(prm).__name__}")
    return qs, prm


@dataclass(frozen=True)
class _Cells:
    """Where the simulated rows go in a ``[P, S, D]`` slot cube: rows kept, their slot and day."""

    keep: np.ndarray
    row_s: np.ndarray
    row_d: np.ndarray
    S: int
    D: int


class _Buffers:
    """Dense arrays reused across chunks of paths (fresh only when the shape changes)."""

    def __init__(self) -> None:
        self._arrays: dict[str, np.ndarray] = {}

    def get(self, name: str, shape: tuple[int, ...], fill: float) -> np.ndarray:
        """A reused array of ``shape`` set to ``fill``."""
        a = self._arrays.get(name)
        if a is None or a.shape != shape:
            a = self._arrays[name] = np.empty(shape)
        a.fill(fill)
        return a


def _chunk_market(
    out: dict[str, np.ndarray], cells: _Cells, dense: _Buffers, prep: Prepared, base: BookInputs,
    exposure: Exposure, policy: HedgePolicy, basis: float,
) -> PathArrays:
    """The kernel's per-path market of one chunk of simulated paths (prices on the slot axis).

    FX [CNY per USD], the exposure's USD price and daily P&L [USD] and the wanted lots (a
    ratio method re-estimated on each path's own past) come from the draws ``out``.
    """  # fmt: skip
    from cnfutures._kernels.settlement import PathArrays

    P = out["settle"].shape[0]
    exec_key = {"settle": "settle", "open": "open", "close": "close"}[policy.execution]
    m: dict[str, np.ndarray] = {}
    for name, src, fill in (
        ("settle", "settle", np.nan), ("exec_px", exec_key, np.nan), ("lim_up", "up", np.inf),
        ("lim_dn", "dn", -np.inf),
    ):  # fmt: skip
        a = dense.get(name, (P, cells.S, cells.D), fill)
        a[:, cells.row_s, cells.row_d] = out[src][:, cells.keep]
        m[name] = a
    fx = np.exp(out["lfx"])
    if exposure.price == "benchmark":
        px_usd = np.exp(out["xi"]) / (basis * fx)
    else:
        px_usd = np.exp(out["chi"] + out["xi"]) / fx
    qty = prep.quantity
    expo = np.zeros((P, cells.D))
    expo[:, 1:] = exposure.sign * qty[None, :-1] * np.diff(px_usd, axis=1)
    if not isinstance(policy.ratio, str):
        want = prep.inputs.market.want_lots
    else:
        want = np.empty((P, cells.D))
        for i in range(P):  # the ratio is re-estimated on each path's own past
            _, want[i] = target_lots(
                policy, m["settle"][i], base.schedule.target_k, fx[i], px_usd[i], qty,
                prep.product.multiplier, exposure.sign,
            )  # fmt: skip
    return PathArrays(**m, want_lots=want, fx=fx, expo_pnl=expo)


@dataclass(frozen=True)
class _Slots:
    """Contracts packed into a few slots: ``occ[s, d]`` is the contract held in slot ``s`` on
    day ``d`` (-1: none) and ``slot_of[k]`` the slot of contract ``k``."""

    occ: np.ndarray
    slot_of: np.ndarray


def _option_first(prep: Prepared, kmap: dict[str, int], K: int, D: int) -> np.ndarray | None:
    """First day each contract is read as the underlying of an option series (``D``: never)."""
    if prep.option_series is None:
        return None
    first = np.full(K, D, dtype=np.int64)
    d_of = {d: i for i, d in enumerate(prep.days.to_list())}
    for code, opened in prep.option_series.select(
        pl.col("option").map_elements(lambda c: option(c).underlying.code, return_dtype=pl.String), "opened"
    ).iter_rows():
        first[kmap[code]] = min(first[kmap[code]], d_of[opened])
    return first


def _slots(
    target_k: np.ndarray, row_k: np.ndarray, row_day: np.ndarray, K: int, D: int,
    extra_first: np.ndarray | None = None,
) -> _Slots:
    """Pack the contracts a hedge holds into as few price rows as possible.

    The booking kernel reads contract ``k`` only from the day before it first becomes the
    target up to its last listed day (marking, rolls, delayed rolls; past the last listed day
    it reads NaN and the path is reported). Those windows are interval-coloured greedily (by
    start) into slots, keeping at least one empty (NaN) day between two windows of a slot, so
    a ``[P, K, D]`` price cube becomes ``[P, S, D]`` with ``S`` about 3 instead of ``K``
    (dozens over years). ``extra_first`` moves a contract's first day earlier (the day an option
    series on it opens: its settlement is read from then on).
    """
    days = np.arange(D)
    first = np.full(K, D, dtype=np.int64)
    np.minimum.at(first, target_k, days)
    if extra_first is not None:  # the underlyings of option series, from the day one opens
        first = np.minimum(first, extra_first)
    last = np.full(K, -1, dtype=np.int64)
    np.maximum.at(last, row_k, row_day)
    start = np.maximum(first - 1, 0)
    slot_of = np.full(K, -1, dtype=np.int64)
    ends: list[int] = []
    for kk in np.argsort(start, kind="stable"):  # greedy colouring of intervals (K is small)
        if first[kk] >= D:
            continue  # never targeted: no window
        for s_, end in enumerate(ends):
            if end + 1 < start[kk]:
                slot_of[kk] = s_
                ends[s_] = int(last[kk])
                break
        else:
            slot_of[kk] = len(ends)
            ends.append(int(last[kk]))
    occ = np.full((max(len(ends), 1), D), -1, dtype=np.int64)
    for kk in np.flatnonzero(slot_of >= 0):
        occ[slot_of[kk], start[kk] : last[kk] + 1] = kk
    return _Slots(occ, slot_of)


def _slot_inputs(inputs: BookInputs, slots: _Slots) -> BookInputs:
    """The prepared rule matrices and schedule re-indexed from contracts to slots."""
    from cnfutures._kernels.settlement import ContractRules

    occ = slots.occ
    d = np.broadcast_to(np.arange(occ.shape[1]), occ.shape)
    on = occ >= 0
    fills = {"margin_rate": np.nan, "pos_limit": np.nan, "open_limit": np.nan}
    cols = {}
    for name, a in inputs.rules._asdict().items():
        m = np.full(occ.shape, fills.get(name, 0.0))
        m[on] = a[occ[on], d[on]]
        cols[name] = m
    target_k = np.ascontiguousarray(slots.slot_of[inputs.schedule.target_k])
    return inputs._replace(rules=ContractRules(**cols), schedule=inputs.schedule._replace(target_k=target_k))


def _path_frame(s: np.ndarray, day0: np.ndarray, D: int, *, options: bool = False) -> pl.DataFrame:
    """Per-path metrics from the kernel's summary; daily variances over days 1..D-1."""
    cols = {"path": np.arange(s.shape[0], dtype=np.int32), **path_metrics(s, day0, D)}
    if options:
        from cnfutures._kernels import settlement as k

        cols.update(option_metrics(s, s[:, k.S_NET]))
    return pl.DataFrame(cols).with_columns(pl.col("path").cast(pl.Int32))


def _fan(prep: Prepared, tracks: np.ndarray, qs: tuple[float, ...]) -> pl.DataFrame:
    from cnfutures._kernels import settlement as k

    frames = []
    for name, row in zip(_SERIES, (k.T_CUM_EXPO, k.T_CUM_NET, k.T_FUNDED), strict=True):
        qv = np.quantile(tracks[:, row, :], qs, axis=0)  # [Q, D]
        frames.append(
            pl.DataFrame(
                {"trading_day": prep.days, "series": [name] * prep.days.len()}
                | {_qname(q): qv[i] for i, q in enumerate(qs)}
            )
        )
    return pl.concat(frames)
