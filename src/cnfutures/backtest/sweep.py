"""Parameter sweeps: many hedge backtests over a grid of policies × scenarios, summaries only.

:func:`sweep` runs the cartesian product of a grid (hedge-policy fields, the calendar roll
distance, cost fields, the exposure quantity, and — on a :class:`SimulatedMarket` — the seed
and the model parameters) and returns one summary row per grid point. Each point books the day
by day hedge exactly as :func:`cnfutures.backtest.run` does, but only the summary row travels
back: the per-day ledger (a ``[28, days]`` array) is dropped as soon as the row is computed,
unless ``keep="ledger"``, so the memory of a sweep grows by a few hundred bytes per point.

Points are grouped in batches (points of the same scenario together) and each batch is one task
of a :class:`concurrent.futures.Executor`: by default a pool of local processes (``spawn``
start method: numba's threading layers are not fork-safe), ``"serial"`` in this process, or a
``dask.distributed.Client`` (its :meth:`get_executor`) to run the same sweep on a cluster. Dask
is an optional extra (``pip install "cnfutures[distributed]"``); nothing here imports it.

Inside a batch, points that differ only in values the booking kernel takes as scalars (the
rebalance band, slippage, commission, FX spread, funding rate, margin buffers) share one
:func:`cnfutures.backtest.prepare`; a simulated scenario is built once per worker process.
"""

from __future__ import annotations

import concurrent.futures as cf
import dataclasses
import difflib
import functools
import itertools
import math
import multiprocessing
import os
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, overload

import numpy as np
import polars as pl

from cnfutures._dates import DateLike, parse_date
from cnfutures.access.investor import Investor, parse_route
from cnfutures.backtest.layout import ledger_dtype, metric_names, metric_units, point_metrics
from cnfutures.backtest.model import Costs, Exposure, HedgePolicy, Market, OptionLeg, sample_params
from cnfutures.errors import CnFuturesError, InputError
from cnfutures.frames.roll import RollRule
from cnfutures.simulate import Params

__all__ = [
    "MAX_SWEEP_POINTS",
    "METRICS",
    "POOL_MIN_PREPARES",
    "SimulatedMarket",
    "SweepError",
    "SweepSpec",
    "grid_keys",
    "ledgers",
    "points",
    "rank",
    "sweep",
]

#: Grid points (backtests) :func:`sweep` runs without ``allow_large=True``.
MAX_SWEEP_POINTS = 100_000
_SECONDS_PER_POINT = 0.15  # one backtest of a year, measured on one core (December 2026)

# summary columns of every grid point: name, unit (the engine's one metric layout)
METRICS: tuple[tuple[str, str], ...] = metric_units("sweep")
_METRIC_NAMES = tuple(m for m, _ in METRICS)
# a grid with option legs adds the option metrics (null for its points without legs, as in compare)
_OPTION_METRIC_NAMES = metric_names("sweep", options=True)[len(_METRIC_NAMES) :]
_ALL_METRIC_NAMES = (*_METRIC_NAMES, *_OPTION_METRIC_NAMES)
POOL_MIN_PREPARES = 128  # smaller default sweeps run in-process: a spawned pool starts in 1-3 s
_RANK_BY = {"hedged_variance": "hedged_variance", "cost": "total_cost_usd"}

_POLICY_KEYS = tuple(f.name for f in dataclasses.fields(HedgePolicy) if f.name != "product")
_COST_KEYS = tuple(f.name for f in dataclasses.fields(Costs))
_PARAM_KEYS = tuple(f.name for f in dataclasses.fields(Params))
# fields the booking kernel takes as scalars: points differing only in these share one prepare()
_SCALAR_KEYS = ("band", "slippage_ticks", "commission", "fx_spread", "funding_rate", "margin_buffer",
                "release_above")  # fmt: skip
_SCENARIO_KEYS = ("scenario", "seed", "path", *_PARAM_KEYS)


def grid_keys() -> tuple[str, ...]:
    """Every parameter name a sweep grid accepts.

    Hedge-policy fields (``ratio``, ``window``, ``band``, ...), ``roll_days`` (a calendar roll
    that many trading days before the last trading day), cost fields (``commission``, ...),
    the exposure ``quantity``, the investor's access ``route``, and the scenario keys
    ``scenario``, ``seed`` and every :class:`cnfutures.simulate.Params` field.

    Examples
    --------
    >>> {"ratio", "roll_days", "band", "commission", "quantity", "seed", "kappa"} <= set(grid_keys())
    True
    """
    return (*_POLICY_KEYS, "roll_days", *_COST_KEYS, "quantity", "route", "scenario", "seed", *_PARAM_KEYS)


class SweepError(CnFuturesError):
    """Some grid points were lost because their task failed (a worker died, the executor broke).

    Attributes
    ----------
    partial : polars.DataFrame
        The result rows of every point that did complete (same columns as :func:`sweep`).
    failed : polars.DataFrame
        ``point``, the grid parameters and ``reason`` of every point that was lost.
    """

    def __init__(self, message: str, partial: pl.DataFrame, failed: pl.DataFrame) -> None:
        super().__init__(message)
        self.partial = partial
        self.failed = failed


# ----------------------------------------------------------------------------- scenarios


@dataclass(frozen=True)
class SimulatedMarket:
    """A recipe for a seeded simulated market: small to send to workers, built where it runs.

    Parameters
    ----------
    product : str
        ``"sc"``, ``"i"``, ``"nr"`` or ``"ru"``.
    start, end : date or str
        First and last calendar date of the market.
    seed : int
        Seed of the model (see :func:`cnfutures.simulate.market`).
    params : cnfutures.simulate.Params, optional
        Model parameters; default those of :meth:`Market.sample`. For ``sc`` the long-run
        factor follows EIA Brent × FRED USD/CNY and ``prices`` holds ``"brent"`` [USD/bbl];
        for the other products both factors are simulated and ``prices`` holds ``"spot"``
        [CNY/unit].

    Examples
    --------
    >>> r = SimulatedMarket("sc", "2025-05-06", "2025-06-06", seed=7)
    >>> r.price_name, r.build().simulated
    ('brent', True)
    """

    product: str = "sc"
    start: DateLike = "2024-06-03"
    end: DateLike = "2025-06-06"
    seed: int = 20260101
    params: Params | None = None

    def __post_init__(self) -> None:
        from cnfutures.market.products import product

        object.__setattr__(self, "product", product(self.product).code)
        d0, d1 = parse_date(self.start, "start"), parse_date(self.end, "end")
        if d1 <= d0:
            raise InputError(f"SimulatedMarket end={d1} must be after start={d0}")
        object.__setattr__(self, "start", d0)
        object.__setattr__(self, "end", d1)
        if isinstance(self.seed, bool) or not isinstance(self.seed, int) or self.seed < 0:
            raise InputError(f"SimulatedMarket seed={self.seed!r} must be a whole number >= 0")
        if self.params is not None and not isinstance(self.params, Params):
            raise InputError(f"SimulatedMarket params must be cnfutures.simulate.Params, got {self.params!r}")

    @property
    def price_name(self) -> str:
        """Name of the exposure price series the built market holds."""
        return "brent" if self.product == "sc" else "spot"

    def model_params(self) -> Params:
        """The model parameters the build uses (``params`` or the sample calibration).

        Examples
        --------
        >>> SimulatedMarket("sc").model_params().kappa
        1.5
        """
        return self.params if self.params is not None else sample_params(self.product)

    def build(self) -> Market:
        """Simulate the market (memoised per process: a worker builds each scenario once).

        Examples
        --------
        >>> m = SimulatedMarket("i", "2025-05-06", "2025-06-06", seed=3).build()
        >>> sorted(m.prices), m.futures["trading_day"].n_unique()
        (['spot'], 23)
        """
        return _build(self)


@functools.lru_cache(maxsize=8)
def _build(recipe: SimulatedMarket) -> Market:
    if recipe.product == "sc":
        label = f"SIMULATED sc contracts driven by EIA Brent spot × FRED USD/CNY (seed {recipe.seed})"
    else:
        label = f"SIMULATED {recipe.product} contracts and spot (seeded two-factor model, seed {recipe.seed})"
    return Market.sample(
        recipe.product, recipe.start, recipe.end, seed=recipe.seed, params=recipe.model_params(), label=label
    )


@dataclass(frozen=True)
class SweepSpec:
    """The base backtest of a sweep; grid values replace its fields point by point.

    Parameters
    ----------
    market : Market or SimulatedMarket
        Prices (a recipe is built inside each worker, once per process).
    exposure : Exposure
    policy : HedgePolicy
    investor : cnfutures.access.Investor
    costs : Costs, optional
        Default :class:`Costs`.
    start, end : date or str, optional
        First and last trading day (default: the market's range).

    Examples
    --------
    >>> from cnfutures.access import Investor
    >>> s = SweepSpec(SimulatedMarket("sc"), Exposure(1e6, "short"), HedgePolicy("sc"), Investor("qfi"))
    >>> s.costs is None
    True
    """

    market: Market | SimulatedMarket
    exposure: Exposure
    policy: HedgePolicy
    investor: Investor
    costs: Costs | None = None
    start: DateLike | None = None
    end: DateLike | None = None

    def __post_init__(self) -> None:
        for name, typ in (("market", (Market, SimulatedMarket)), ("exposure", Exposure),
                          ("policy", HedgePolicy), ("investor", Investor)):  # fmt: skip
            v = getattr(self, name)
            if not isinstance(v, typ):
                want = typ.__name__ if isinstance(typ, type) else " or ".join(t.__name__ for t in typ)
                raise InputError(f"SweepSpec.{name} must be a {want}, got {type(v).__name__}")
        if self.costs is not None and not isinstance(self.costs, Costs):
            raise InputError(f"SweepSpec.costs must be a Costs or None, got {type(self.costs).__name__}")


# ----------------------------------------------------------------------------- the grid


@dataclass(frozen=True)
class _Axis:
    key: str
    values: tuple[Any, ...]
    names: tuple[str, ...] | None = None  # scenario names


def _label(v: Any) -> Any:
    if isinstance(v, tuple) and all(isinstance(x, OptionLeg) for x in v):  # an ``options`` value
        legs = [f"{x.side} {x.kind} {x.moneyness:g} {x.tenor_months}m x{x.ratio:g}" for x in v]
        return "; ".join(legs) or "none"
    if isinstance(v, RollRule):
        parts: list[str] = [v.kind]
        for f in dataclasses.fields(RollRule):
            if f.name != "kind" and getattr(v, f.name) != f.default:
                parts.append(f"{f.name}={getattr(v, f.name)}")
        return ", ".join(parts)
    return v


def _column(axis: _Axis) -> pl.Series:
    """The values of one axis as a polars column (mixed kinds become text)."""
    if axis.names is not None:
        return pl.Series(axis.key, axis.names, dtype=pl.String)
    vals = [_label(v) for v in axis.values]
    numeric = all((isinstance(v, int | float) and not isinstance(v, bool)) or v is None for v in vals)
    if numeric and any(isinstance(v, float) for v in vals):
        return pl.Series(axis.key, [None if v is None else float(v) for v in vals], dtype=pl.Float64)
    try:
        return pl.Series(axis.key, vals, strict=True)
    except (TypeError, pl.exceptions.PolarsError):
        return pl.Series(axis.key, [v if isinstance(v, str) else f"{v:g}" if isinstance(v, float)
                                    else str(v) for v in vals], dtype=pl.String)  # fmt: skip


def _market_of(spec: SweepSpec, axes: Sequence[_Axis], idx: Sequence[int]) -> Market | SimulatedMarket:
    market: Market | SimulatedMarket = spec.market
    seed: int | None = None
    path = 0
    params: dict[str, Any] = {}
    for ax, i in zip(axes, idx, strict=True):
        v = ax.values[i]
        if ax.key == "scenario":
            market = v
        elif ax.key == "seed":
            seed = v
        elif ax.key == "path":
            path = v
        elif ax.key in _PARAM_KEYS:
            params[ax.key] = v
    if isinstance(market, SimulatedMarket) and (seed is not None or path or params):
        prm = dataclasses.replace(market.model_params(), **params) if params else market.params
        market = dataclasses.replace(market, seed=(market.seed if seed is None else seed) + path, params=prm)
    return market


def _route_base_costs(spec: SweepSpec, investor: Investor) -> Costs:
    """Without explicit costs a sweep books the investor's route economics, as ``run`` does."""
    from cnfutures.backtest.costs import route_costs

    m = spec.market
    on: Any = spec.start
    if on is None:
        on = m.futures["trading_day"].min() if isinstance(m, Market) else m.start
    out: Costs = route_costs(investor, spec.policy.product, on)
    return out


def _investor_of(spec: SweepSpec, axes: Sequence[_Axis], idx: Sequence[int]) -> Investor:
    """The investor of one grid point: ``spec.investor`` with the point's ``route``, if any."""
    for ax, i in zip(axes, idx, strict=True):
        if ax.key == "route":
            return dataclasses.replace(spec.investor, route=ax.values[i])
    return spec.investor


def _inputs(
    spec: SweepSpec, axes: Sequence[_Axis], idx: Sequence[int]
) -> tuple[Exposure, HedgePolicy, Costs]:
    """Exposure, policy and costs of one grid point (validated by the dataclasses)."""
    pol: dict[str, Any] = {}
    cst: dict[str, Any] = {}
    expo: dict[str, Any] = {}
    for ax, i in zip(axes, idx, strict=True):
        v = ax.values[i]
        if ax.key == "roll_days":
            pol["roll"] = dataclasses.replace(spec.policy.roll, kind="calendar", days_before_ltd=v)
        elif ax.key in _POLICY_KEYS:
            pol[ax.key] = v
        elif ax.key in _COST_KEYS:
            cst[ax.key] = v
        elif ax.key == "quantity":
            expo["quantity"] = v
    investor = _investor_of(spec, axes, idx)
    base_costs = spec.costs if spec.costs is not None else _route_base_costs(spec, investor)
    return (
        dataclasses.replace(spec.exposure, **expo) if expo else spec.exposure,
        dataclasses.replace(spec.policy, **pol) if pol else spec.policy,
        dataclasses.replace(base_costs, **cst) if cst else base_costs,
    )


def _check_value(key: str, v: Any) -> None:
    if key in ("seed", "path") and (isinstance(v, bool) or not isinstance(v, int) or v < 0):
        raise InputError(f"grid[{key!r}] value {v!r} must be a whole number >= 0")
    if key == "route":
        parse_route(v)  # InputError naming the routes
    if key == "scenario" and not isinstance(v, Market | SimulatedMarket):
        raise InputError(f"grid['scenario'] values must be Market or SimulatedMarket, got {type(v).__name__}")


def _axes(spec: SweepSpec, grid: Mapping[str, Any], n_paths: int | None) -> list[_Axis]:
    if not isinstance(grid, Mapping):
        raise InputError(
            f"grid must be a dict of parameter name -> list of values, got {type(grid).__name__}"
        )
    if not grid:
        raise InputError(
            "empty grid: give at least one parameter and its values, e.g. {'band': [0, 5]}; accepted "
            f"names: {', '.join(grid_keys())}"
        )
    accepted = grid_keys()
    axes: list[_Axis] = []
    for key, vals in grid.items():
        if key not in accepted:
            near = difflib.get_close_matches(str(key), accepted, n=1)
            hint = f" (did you mean {near[0]!r}?)" if near else ""
            raise InputError(f"unknown grid parameter {key!r}{hint}; accepted: {', '.join(accepted)}")
        if key == "scenario":
            if not isinstance(vals, Mapping):
                raise InputError("grid['scenario'] must be a dict of name -> Market or SimulatedMarket")
            names = tuple(str(n) for n in vals)
            values: tuple[Any, ...] = tuple(vals.values())
        else:
            if isinstance(vals, str | bytes | Mapping) or not isinstance(vals, Iterable):
                raise InputError(f"grid[{key!r}] must be a list of values, got {vals!r}")
            names, values = None, tuple(vals)
        if not values:
            raise InputError(f"grid[{key!r}] is empty; give at least one value")
        for v in values:
            _check_value(key, v)
        axes.append(_Axis(key, values, names))
    keys = {a.key for a in axes}
    if {"roll", "roll_days"} <= keys:
        raise InputError("grid has both 'roll' and 'roll_days'; give one of them")
    if n_paths is not None:
        if isinstance(n_paths, bool) or not isinstance(n_paths, int) or n_paths <= 0:
            raise InputError(f"n_paths={n_paths!r} must be a positive whole number of simulated paths")
        axes.append(_Axis("path", tuple(range(n_paths))))
    # scenario keys need simulated markets
    markets = list(grid["scenario"].values()) if "scenario" in keys else [spec.market]
    sim_keys = sorted(keys & {"seed", *_PARAM_KEYS} | ({"n_paths"} if n_paths is not None else set()))
    if sim_keys and not all(isinstance(m, SimulatedMarket) for m in markets):
        raise InputError(
            f"{', '.join(sim_keys)} vary a simulated scenario; the market (or a grid['scenario'] "
            "value) is a fixed Market: pass a SimulatedMarket recipe instead"
        )
    for m in markets:
        held = {m.price_name} if isinstance(m, SimulatedMarket) else set(m.prices)
        if spec.exposure.price not in held:
            raise InputError(
                f"exposure prices off {spec.exposure.price!r}, which a scenario market does not hold; "
                f"it has: {sorted(held) or 'none'}"
            )
    _validate_combinations(spec, axes)
    return axes


def _validate_combinations(spec: SweepSpec, axes: list[_Axis]) -> None:
    """Build every combination of the values that feed the same object (policy, costs, ...)."""
    groups = {
        "policy": [a for a in axes if a.key in _POLICY_KEYS or a.key == "roll_days"],
        "costs": [a for a in axes if a.key in _COST_KEYS],
        "exposure": [a for a in axes if a.key == "quantity"],
        "model": [a for a in axes if a.key in _SCENARIO_KEYS],
    }
    seen: dict[SimulatedMarket, str] = {}
    for name, group in groups.items():
        if not group:
            continue
        n = math.prod(len(a.values) for a in group)
        combos: Iterable[tuple[int, ...]]
        if n <= 4096:
            combos = itertools.product(*(range(len(a.values)) for a in group))
        else:  # too many to build: each value on its own
            combos = [tuple(j if b is a else 0 for b in group) for a in group for j in range(len(a.values))]
        for idx in combos:
            where = ", ".join(f"{a.key}={_label(a.values[i])!r}" for a, i in zip(group, idx, strict=True))
            try:
                if name == "model":
                    m = _market_of(spec, group, idx)
                    if isinstance(m, SimulatedMarket) and n <= 4096:
                        if m in seen:  # e.g. seeds 5, 6 with n_paths=2: seed 5 + path 1 = seed 6 + path 0
                            raise InputError(
                                f"grid values {seen[m]} and {where} simulate the same market "
                                f"(seed {m.seed}); give distinct seeds (a path adds its number to the seed)"
                            )
                        seen[m] = where
                else:
                    _inputs(spec, group, idx)
            except InputError as exc:
                if str(exc).startswith("grid values"):
                    raise
                raise InputError(f"grid values {where} are not accepted: {exc}") from exc
            except CnFuturesError as exc:
                raise InputError(f"grid values {where} are not accepted: {exc}") from exc


def points(spec: SweepSpec, grid: Mapping[str, Any], *, n_paths: int | None = None) -> pl.DataFrame:
    """The grid points a sweep would run: ``point`` and one column per grid parameter.

    The points are the cartesian product of the grid's values in the grid's key order (the
    last key varies fastest); ``n_paths`` adds a last axis ``path`` (seed = scenario seed +
    path) on simulated markets.

    Raises
    ------
    InputError
        An unknown parameter name, an empty grid or an empty value list, ``n_paths <= 0``,
        scenario keys on a fixed market, or a value the policy, costs or model reject.

    Examples
    --------
    >>> from cnfutures.access import Investor
    >>> spec = SweepSpec(SimulatedMarket("sc"), Exposure(1e6, "short"), HedgePolicy("sc"), Investor("qfi"))
    >>> points(spec, {"ratio": [0.8, "ewma"], "band": [0, 5]})
    shape: (4, 3)
    ┌───────┬───────┬──────┐
    │ point ┆ ratio ┆ band │
    │ ---   ┆ ---   ┆ ---  │
    │ i64   ┆ str   ┆ i64  │
    ╞═══════╪═══════╪══════╡
    │ 0     ┆ 0.8   ┆ 0    │
    │ 1     ┆ 0.8   ┆ 5    │
    │ 2     ┆ ewma  ┆ 0    │
    │ 3     ┆ ewma  ┆ 5    │
    └───────┴───────┴──────┘
    """
    return _params_frame(_axes(spec, grid, n_paths))


def _index(axes: Sequence[_Axis]) -> np.ndarray:
    """``[N, len(axes)]`` value indices of every point (C order: the last axis fastest)."""
    shape = tuple(len(a.values) for a in axes)
    n = math.prod(shape)
    return np.stack(np.unravel_index(np.arange(n, dtype=np.int64), shape), axis=1).astype(np.int64)


def _params_frame(axes: Sequence[_Axis]) -> pl.DataFrame:
    idx = _index(axes)
    cols = [pl.Series("point", np.arange(idx.shape[0], dtype=np.int64))]
    for j, ax in enumerate(axes):
        cols.append(_column(ax).gather(idx[:, j]))
    return pl.DataFrame(cols)


# ----------------------------------------------------------------------------- one batch


@dataclass(frozen=True)
class _Task:
    spec: SweepSpec
    axes: tuple[_Axis, ...]
    items: tuple[tuple[int, tuple[int, ...]], ...]  # (point id, value index per axis)
    keep: str
    options: bool = False  # some point of the grid has option legs: option metrics and ledger columns


def _has_options(spec: SweepSpec, axes: Sequence[_Axis]) -> bool:
    """Whether some point of the grid books option legs (the base policy's or an ``options`` value)."""
    for ax in axes:
        if ax.key == "options":
            return any(bool(v) for v in ax.values)
    return bool(spec.policy.options)


def _metric_names(options: bool) -> tuple[str, ...]:
    return _ALL_METRIC_NAMES if options else _METRIC_NAMES


def _metrics(prep: Any, led: np.ndarray, summ: np.ndarray, options: bool) -> list[float | None]:
    """The metrics of one booked point (as :meth:`BacktestResult.from_arrays` computes them); in a
    grid with option legs, the option metrics of a point without legs are None (it has none)."""
    row = point_metrics(prep, led, summ)
    return [None if row.get(m) is None else float(row[m]) for m in _metric_names(options)]


def _result_schema(keep: str, options: bool = False) -> dict[str, pl.DataType]:
    schema: dict[str, pl.DataType] = {"point": pl.Int64()}
    schema.update({m: pl.Float64() for m in _metric_names(options)})
    schema["error"] = pl.String()
    if keep == "ledger":
        schema["ledger"] = ledger_dtype(options=options)
    return schema


def _cols(g: pl.DataFrame, fields: Sequence[pl.Field]) -> list[pl.Expr]:
    """The ledger columns of a sweep's layout from one point's ledger (null where it has none)."""
    return [pl.col(f.name) if f.name in g.columns else pl.lit(None, f.dtype).alias(f.name) for f in fields]


def _run_batch(task: _Task) -> pl.DataFrame:
    """Book every point of a batch; a point that raises gets an ``error`` row."""
    from cnfutures.backtest.engine import book, booking_params, prepare
    from cnfutures.backtest.result import BacktestResult

    spec, axes = task.spec, task.axes
    scalar_axis = np.array([a.key in _SCALAR_KEYS for a in axes])
    preps: dict[tuple[int, ...], Any] = {}
    ids: list[int] = []
    rows: list[list[float | None] | None] = []
    errors: list[str | None] = []
    ledgers: list[pl.DataFrame | None] = []
    for pid, idx in task.items:
        ids.append(pid)
        try:
            recipe = _market_of(spec, axes, idx)
            market = recipe.build() if isinstance(recipe, SimulatedMarket) else recipe
            exposure, policy, costs = _inputs(spec, axes, idx)
            investor = _investor_of(spec, axes, idx)
            key = tuple(-1 if s else i for s, i in zip(scalar_axis, idx, strict=True))
            prep = preps.get(key)
            if prep is None:
                try:
                    prep = prepare(
                        market, exposure, policy, investor, costs, start=spec.start, end=spec.end
                    )
                except Exception as exc:  # every point sharing these inputs fails the same way
                    prep = exc
                preps[key] = prep
            if isinstance(prep, Exception):
                raise prep
            params = booking_params(prep.product, policy, costs, investor)
            point_prep = dataclasses.replace(prep, inputs=prep.inputs._replace(params=params))
            led, summ = book(point_prep.inputs, ledger=True)
            rows.append(_metrics(point_prep, led, summ, task.options))
            errors.append(None)
            if task.keep == "ledger":
                res = BacktestResult.from_arrays(
                    point_prep, led, summ, market=market, policy=policy, investor=investor
                )
                ledgers.append(res.ledger)
            else:
                ledgers.append(None)
        except Exception as exc:
            rows.append(None)
            errors.append(f"{type(exc).__name__}: {exc}")
            ledgers.append(None)
    schema = _result_schema(task.keep, task.options)
    names = _metric_names(task.options)
    # a failed point has null metrics (NaN is a legitimate value)
    cols = {name: pl.Series(name, [None if r is None else r[j] for r in rows], dtype=pl.Float64)
            for j, name in enumerate(names)}  # fmt: skip
    frame = pl.DataFrame(
        {"point": pl.Series(ids, dtype=pl.Int64), **cols, "error": pl.Series(errors, dtype=pl.String)},
    )
    if task.keep == "ledger":
        dtype = schema["ledger"]
        assert isinstance(dtype, pl.List) and isinstance(dtype.inner, pl.Struct)
        fields = dtype.inner.fields  # a point without option legs has null option columns
        parts = [
            pl.DataFrame({"ledger": [None]}, schema={"ledger": dtype})
            if g is None
            else g.select(pl.struct(_cols(g, fields)).implode().alias("ledger")).cast({"ledger": dtype})
            for g in ledgers
        ]
        frame = frame.hstack(pl.concat(parts))
    return frame.cast(schema)  # type: ignore[arg-type]


# ----------------------------------------------------------------------------- executors


class _Serial(cf.Executor):
    """Runs each task when it is submitted, in this process."""

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> cf.Future[Any]:
        f: cf.Future[Any] = cf.Future()
        try:
            f.set_result(fn(*args, **kwargs))
        except BaseException as exc:
            if isinstance(exc, KeyboardInterrupt | SystemExit):
                raise
            f.set_exception(exc)
        return f


def _workers_of(executor: Any) -> int:
    n = getattr(executor, "_max_workers", None)
    if isinstance(n, int) and n > 0:
        return n
    client = getattr(executor, "_client", None)
    if client is not None and hasattr(client, "nthreads"):
        try:
            return max(1, int(sum(client.nthreads().values())))
        except Exception:
            pass
    return os.cpu_count() or 1


def _is_dask_client(x: Any) -> bool:
    return hasattr(x, "get_executor") and type(x).__module__.startswith("distributed")


def _batches(axes: Sequence[_Axis], size: int) -> Iterator[tuple[tuple[int, tuple[int, ...]], ...]]:
    """Points ordered scenario first, then shared-prepare inputs, then scalars; cut in batches."""
    idx = _index(axes)
    n = idx.shape[0]
    rank_of = {**dict.fromkeys(_SCENARIO_KEYS, 0), **dict.fromkeys(_SCALAR_KEYS, 2)}
    order_cols = sorted(range(len(axes)), key=lambda j: (rank_of.get(axes[j].key, 1), j))
    # np.lexsort sorts by the last key first
    order = np.lexsort([idx[:, j] for j in reversed(order_cols)]) if axes else np.arange(n)
    for lo in range(0, n, size):
        sel = order[lo : lo + size]
        yield tuple((int(p), tuple(int(v) for v in idx[p])) for p in sel)


def _trim(axes: tuple[_Axis, ...], items: Sequence[tuple[int, tuple[int, ...]]]) -> tuple[_Axis, ...]:
    """Drop the scenario markets a batch does not use (they can be large frames)."""
    out = []
    for j, ax in enumerate(axes):
        if ax.key == "scenario":
            used = {ix[j] for _, ix in items}
            ax = dataclasses.replace(
                ax, values=tuple(v if i in used else None for i, v in enumerate(ax.values))
            )
        out.append(ax)
    return tuple(out)


# ----------------------------------------------------------------------------- the sweep


@overload
def sweep(
    spec: SweepSpec,
    grid: Mapping[str, Any],
    *,
    executor: Any = None,
    keep: Literal["summary", "ledger"] = "summary",
    n_paths: int | None = None,
    out: None = None,
    workers: int | None = None,
    batch_size: int | None = None,
    progress: Callable[[int, int], None] | None = None,
    allow_large: bool = False,
) -> pl.DataFrame: ...


@overload
def sweep(
    spec: SweepSpec,
    grid: Mapping[str, Any],
    *,
    executor: Any = None,
    keep: Literal["summary", "ledger"] = "summary",
    n_paths: int | None = None,
    out: str | os.PathLike[str],
    workers: int | None = None,
    batch_size: int | None = None,
    progress: Callable[[int, int], None] | None = None,
    allow_large: bool = False,
) -> pl.LazyFrame: ...


def sweep(
    spec: SweepSpec,
    grid: Mapping[str, Any],
    *,
    executor: Any = None,
    keep: Literal["summary", "ledger"] = "summary",
    n_paths: int | None = None,
    out: str | os.PathLike[str] | None = None,
    workers: int | None = None,
    batch_size: int | None = None,
    progress: Callable[[int, int], None] | None = None,
    allow_large: bool = False,
) -> pl.DataFrame | pl.LazyFrame:
    """Run a hedge backtest at every point of a parameter grid; one summary row per point.

    Parameters
    ----------
    spec : SweepSpec
        The base backtest (market or simulated-market recipe, exposure, policy, investor,
        costs, dates).
    grid : dict of str to list
        Parameter name -> values; the sweep runs the cartesian product (:func:`points`).
        Names: :func:`grid_keys` — ``HedgePolicy`` fields (``ratio``, ``window`` [trading
        days], ``band`` [lots], ``reestimate_every``, ``lam``, ``slippage_ticks`` [ticks],
        ``execution``, ``initial_ratio``, ``roll``), ``roll_days`` [trading days before the
        last trading day; a calendar roll keeping the base rule's other fields], ``Costs``
        fields (``commission`` [CNY/lot], ``fx_spread``, ``funding_rate`` [1/year], ...),
        ``quantity`` [unit]; on a :class:`SimulatedMarket`, ``seed`` and every
        :class:`cnfutures.simulate.Params` field (``kappa`` [1/year], ``sigma_chi``, ...);
        ``scenario``: a dict name -> Market or SimulatedMarket replacing ``spec.market``.
    executor : concurrent.futures.Executor, dask.distributed.Client, "serial" or None
        Where batches run. None: a pool of ``workers`` local processes (``spawn``). Without
        ``workers``, a sweep needing fewer than :data:`POOL_MIN_PREPARES` distinct market
        preparations runs in this process (starting the pool takes 1-3 s, more than such a
        sweep); so does one that fits in one batch. ``"serial"``: in this process. A Dask
        ``Client`` runs the batches on its cluster through ``client.get_executor()``. An
        executor passed in is not shut down.
    keep : {"summary", "ledger"}
        ``"ledger"`` adds a ``ledger`` column: each point's daily ledger as a list of structs
        (:func:`ledgers` unnests it). Memory then grows with days × points. When some
        point of the grid has option legs the ledger also has the option columns
        (``option_lots``, ``option_premium_cny``, ..., ``book_vega``); they are null on the
        points without legs.
    n_paths : int, optional
        Repeat every point over this many simulated paths (a ``path`` column; seed = the
        scenario's seed + path). Needs simulated markets.
    out : str or path, optional
        Stream the rows into this Parquet file as batches finish (for sweeps too large to
        hold); the function then returns ``polars.scan_parquet(out)`` sorted by point.
    workers : int, optional
        Processes of the default pool (default: the number of CPUs).
    batch_size : int, optional
        Points per task (default: about four tasks per worker, at most 32 points each).
    progress : callable, optional
        Called as ``progress(done, total)`` [points] at the start and after every batch.
    allow_large : bool
        Run more than :data:`MAX_SWEEP_POINTS` (100,000) grid points; above it the error
        estimates the time and memory.

    Returns
    -------
    polars.DataFrame or polars.LazyFrame
        One row per point, sorted by ``point``: ``point``, the grid parameters, the
        :data:`METRICS` columns (the same numbers as ``backtest(...).summary``, plus
        ``hedged_variance`` / ``unhedged_variance`` [USD²] and ``total_cost_usd`` [USD]); when
        the base policy or an ``options`` grid value has option legs, also the option metrics
        (``option_pnl_usd``, ``cost_of_protection_usd``, ``net_pnl_ex_options_usd``, ...; null
        on points without legs, as in :func:`cnfutures.backtest.compare`); and ``error``
        (null, or the exception of a point that raised; its metrics are null).

    Raises
    ------
    InputError
        See :func:`points`; also a bad ``keep``, ``workers`` or ``batch_size``.
    SweepError
        Some tasks failed (a worker died, the executor broke or was shut down): every other
        batch is still collected; ``.partial`` holds the completed rows and ``.failed`` the
        lost points. With ``out``, the completed rows are in the file too.

    Examples
    --------
    >>> from cnfutures.access import Investor
    >>> spec = SweepSpec(SimulatedMarket("sc", "2025-03-03", "2025-06-06"), Exposure(1e6, "short"),
    ...                  HedgePolicy("sc"), Investor("qfi"))
    >>> t = sweep(spec, {"ratio": [0.5, 1.0], "slippage_ticks": [0, 2]}, executor="serial")
    >>> t.select("point", "ratio", "slippage_ticks", pl.col("effectiveness_daily").round(2),
    ...          pl.col("slippage_usd").round(0)).rows()
    [(0, 0.5, 0, 0.35, 0.0), (1, 0.5, 2, 0.35, 96608.0), (2, 1.0, 0, 0.27, 0.0), (3, 1.0, 2, 0.27, 179575.0)]
    >>> rank(t, "cost", top=2)["point"].to_list()
    [0, 2]
    """
    if not isinstance(spec, SweepSpec):
        raise InputError(f"spec must be a SweepSpec, got {type(spec).__name__}")
    if keep not in ("summary", "ledger"):
        raise InputError(f"keep={keep!r}; accepted: 'summary', 'ledger'")
    for name, v in (("workers", workers), ("batch_size", batch_size)):
        if v is not None and (isinstance(v, bool) or not isinstance(v, int) or v < 1):
            raise InputError(f"{name}={v!r} must be a positive whole number")
    axes = tuple(_axes(spec, grid, n_paths))
    total = math.prod(len(a.values) for a in axes)
    if total > MAX_SWEEP_POINTS and not allow_large:
        n_est = workers or os.cpu_count() or 1
        hours = total * _SECONDS_PER_POINT / n_est / 3600
        raise InputError(
            f"the grid has {total:,} points, above the cap of {MAX_SWEEP_POINTS:,}: about {hours:,.1f} h on "
            f"{n_est} worker(s) at ~{_SECONDS_PER_POINT} s per backtest, and ~{total * 400 / 1e9:,.2f} GB "
            "of summary rows; pass allow_large=True to run it anyway"
        )
    params = _params_frame(axes)
    total = params.height

    executor, own, n_workers, size = _executor(executor, workers, batch_size, axes, total)
    has_options = _has_options(spec, axes)
    schema = _result_schema(keep, has_options)
    frames: list[pl.DataFrame] = []
    writer: Any = None
    path = Path(out) if out is not None else None
    if path is not None:
        import pyarrow.parquet as pq

        empty = params.head(0).hstack(pl.DataFrame(schema=schema).drop("point"))
        writer = pq.ParquetWriter(str(path), empty.to_arrow().schema)
    failed: list[tuple[int, str]] = []
    first_exc: BaseException | None = None
    done = 0

    def take(frame: pl.DataFrame) -> None:
        rows = params[frame["point"].to_numpy()].hstack(frame.drop("point"))
        if writer is not None:
            writer.write_table(rows.to_arrow())
        else:
            frames.append(rows)

    if progress is not None:
        progress(0, total)
    limit = max(4, 4 * n_workers)
    pending: dict[cf.Future[Any], _Task] = {}
    tasks = (_Task(spec, _trim(axes, items), items, keep, has_options) for items in _batches(axes, size))
    exhausted = False
    try:
        while True:
            while not exhausted and len(pending) < limit:
                task = next(tasks, None)
                if task is None:
                    exhausted = True
                    break
                try:
                    pending[executor.submit(_run_batch, task)] = task
                except Exception as exc:  # a broken or shut-down executor: this and every later batch
                    first_exc = first_exc or exc
                    for t in itertools.chain([task], tasks):
                        failed.extend((p, f"not submitted: {type(exc).__name__}: {exc}") for p, _ in t.items)
                        done += len(t.items)
                    exhausted = True
            if not pending:
                break
            finished, _ = cf.wait(pending, return_when=cf.FIRST_COMPLETED)
            for fut in finished:
                task = pending.pop(fut)
                try:
                    take(fut.result())
                except (Exception, cf.CancelledError) as exc:
                    first_exc = first_exc or exc
                    why = (
                        "cancelled" if isinstance(exc, cf.CancelledError) else f"{type(exc).__name__}: {exc}"
                    )
                    failed.extend((p, why) for p, _ in task.items)
                done += len(task.items)
                if progress is not None:
                    progress(done, total)
    finally:
        if own is not None:
            own.shutdown(wait=True, cancel_futures=True)
        if writer is not None:
            writer.close()

    def collected() -> pl.DataFrame:
        if path is not None:
            return pl.read_parquet(path).sort("point")
        if not frames:
            return params.head(0).hstack(pl.DataFrame(schema=schema).drop("point"))
        return pl.concat(frames).sort("point")

    if failed:
        failed.sort()
        lost = params[[p for p, _ in failed]].with_columns(pl.Series("reason", [w for _, w in failed]))
        shown = "; ".join(
            f"point {r.pop('point')} ({', '.join(f'{k}={v!r}' for k, v in r.items() if k != 'reason')})"
            for r in lost.head(5).to_dicts()
        )
        more = f" and {len(failed) - 5} more" if len(failed) > 5 else ""
        raise SweepError(
            f"{len(failed)} of {total} grid points failed because their task failed "
            f"({failed[0][1]}): {shown}{more}; the {total - len(failed)} completed rows are in "
            "SweepError.partial, the lost points in SweepError.failed",
            collected(),
            lost,
        ) from first_exc
    if path is not None:
        return pl.scan_parquet(path).sort("point")
    return collected()


def _executor(
    executor: Any, workers: int | None, batch_size: int | None, axes: Sequence[_Axis], total: int
) -> tuple[cf.Executor, cf.Executor | None, int, int]:
    """Where a sweep's batches run: ``(executor, pool this sweep owns or None, workers, batch size)``.

    None: a ``spawn`` process pool of ``workers``, unless the sweep is small (fewer than
    :data:`POOL_MIN_PREPARES` distinct preparations without ``workers``), fits in one batch or
    has one worker: then in this process, as with ``"serial"``. A Dask client runs on its
    cluster through ``get_executor``; an Executor passed in is used as is (not shut down).
    """
    own: cf.Executor | None = None
    if executor is None:
        n_workers = workers or os.cpu_count() or 1
    elif isinstance(executor, str):
        if executor != "serial":
            raise InputError(f"executor={executor!r}; accepted: None, 'serial', an Executor or a Dask Client")
        n_workers = 1
    elif _is_dask_client(executor):
        executor = executor.get_executor(pure=False)
        n_workers = _workers_of(executor)
    elif isinstance(executor, cf.Executor):
        n_workers = _workers_of(executor)
    else:
        raise InputError(
            f"executor must be None, 'serial', a concurrent.futures.Executor or a dask.distributed.Client, "
            f"got {type(executor).__name__}"
        )
    size = batch_size or max(1, min(32, math.ceil(total / (4 * n_workers))))
    n_batches = math.ceil(total / size)
    if executor is None:
        # distinct prepare() calls: points differing only in kernel scalars share one
        n_prepares = total // math.prod(len(a.values) for a in axes if a.key in _SCALAR_KEYS)
        small = workers is None and n_prepares < POOL_MIN_PREPARES
        if small or n_batches == 1 or n_workers == 1:
            executor = _Serial()
        else:
            own = cf.ProcessPoolExecutor(
                max_workers=min(n_workers, n_batches), mp_context=multiprocessing.get_context("spawn")
            )
            executor = own
    elif isinstance(executor, str):
        executor = _Serial()
    assert isinstance(executor, cf.Executor)
    return executor, own, n_workers, size


# ----------------------------------------------------------------------------- reading results


def _param_columns(columns: Sequence[str]) -> list[str]:
    return [c for c in columns if c not in (*_ALL_METRIC_NAMES, "point", "error", "ledger")]


def rank(
    result: pl.DataFrame | pl.LazyFrame,
    by: str = "hedged_variance",
    *,
    top: int = 10,
    descending: bool = False,
    across_scenarios: bool = True,
) -> pl.DataFrame:
    """The best policies of a sweep: lowest hedged variance, lowest cost, or any metric.

    Parameters
    ----------
    result : polars.DataFrame or LazyFrame
        The output of :func:`sweep`.
    by : str
        ``"hedged_variance"`` (daily hedged P&L variance [USD²]), ``"cost"`` (``total_cost_usd``
        [USD]: fees, FX spread, funding and slippage) or any :data:`METRICS` name.
    top : int
        Rows to return (> 0).
    descending : bool
        Rank the largest values first (e.g. for ``effectiveness_daily``).
    across_scenarios : bool
        When the grid has scenario columns (``scenario``, ``seed``, ``path`` or model
        parameters), rank policies by the mean of each metric over their scenarios (a
        ``scenarios`` column counts them); False ranks single points.

    Returns
    -------
    polars.DataFrame
        ``rank`` (1 = best), ``point`` (per point) or ``scenarios`` (per policy), the grid
        parameters and the key metrics. Points with an error are left out; ties keep the grid
        order.

    Examples
    --------
    >>> t = pl.DataFrame({"point": [0, 1, 2], "band": [0, 5, 10], "hedged_variance": [3.0, 1.0, 2.0],
    ...                   "total_cost_usd": [9.0, 7.0, 8.0], "error": [None, None, "DataError: x"]})
    >>> rank(t, "hedged_variance", top=2)["point"].to_list()
    [1, 0]
    >>> rank(t, "cost")["point"].to_list()
    [1, 0]
    >>> two = pl.DataFrame({"point": [0, 1, 2, 3], "band": [0, 0, 5, 5], "path": [0, 1, 0, 1],
    ...                     "hedged_variance": [1.0, 5.0, 2.0, 3.0], "error": [None] * 4})
    >>> rank(two).select("rank", "band", "scenarios", "hedged_variance").rows()
    [(1, 5, 2, 2.5), (2, 0, 2, 3.0)]
    """
    col = _RANK_BY.get(by, by)
    if col not in _ALL_METRIC_NAMES:
        raise InputError(
            f"rank by={by!r}; accepted: 'hedged_variance', 'cost' or a metric: {', '.join(_ALL_METRIC_NAMES)}"
        )
    if isinstance(top, bool) or not isinstance(top, int) or top < 1:
        raise InputError(f"top={top!r} must be a positive whole number")
    lf = result.lazy()
    cols = lf.collect_schema().names()
    if col not in cols:
        raise InputError(f"the sweep result has no column {col!r}")
    if "error" in cols:
        lf = lf.filter(pl.col("error").is_null())
    shown = [c for c in ("vol_hedged_usd", "effectiveness_daily", "total_cost_usd", "net_pnl_usd",
                         "peak_usd_posted", "margin_calls") if c in cols and c != col]  # fmt: skip
    params = _param_columns(cols)
    policy = [c for c in params if c not in _SCENARIO_KEYS]
    if across_scenarios and len(policy) < len(params):
        metrics = [c for c in cols if c in _ALL_METRIC_NAMES]
        lf = (
            lf.group_by(policy, maintain_order=True)
            .agg(
                pl.col("point").min().alias("_first"),
                pl.len().cast(pl.Int64).alias("scenarios"),
                *(pl.col(m).mean() for m in metrics),
            )
            .sort("_first")
        )
        order, keep = "_first", [*policy, "scenarios", col, *shown]
    else:
        order, keep = "point", ["point", *params, col, *shown]
    return (
        lf.filter(pl.col(col).is_not_null() & pl.col(col).is_not_nan())
        .sort([col, order], descending=[descending, False])
        .head(top)
        .select(keep)
        .collect()
        .with_row_index("rank", offset=1)
        .with_columns(pl.col("rank").cast(pl.Int64))
    )


def ledgers(result: pl.DataFrame | pl.LazyFrame) -> pl.DataFrame:
    """The daily ledgers of a ``keep="ledger"`` sweep as one long frame with a ``point`` column.

    Examples
    --------
    >>> import datetime as dt
    >>> t = pl.DataFrame({"point": [0], "ledger": [[{"trading_day": dt.date(2025, 6, 3), "lots": 1.0}]]})
    >>> ledgers(t).columns
    ['point', 'trading_day', 'lots']
    """
    lf = result.lazy()
    if "ledger" not in lf.collect_schema().names():
        raise InputError("the sweep result has no ledger column; run sweep(..., keep='ledger')")
    return lf.select("point", "ledger").drop_nulls("ledger").explode("ledger").unnest("ledger").collect()
