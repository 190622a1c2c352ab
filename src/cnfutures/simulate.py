"""A seeded sample-market model: SIMULATED per-contract daily futures prices.

No per-contract daily history of ``sc``, ``i``, ``nr`` or ``ru`` can be shipped (see the data
README), so the backtester's bundled sample market is generated here by a documented model:

* two factors in the spirit of Schwartz & Smith (2000): a short-term deviation ``chi`` that
  mean-reverts at speed ``kappa`` and a long-run level ``xi`` (a drifted Brownian motion, or
  taken from a real benchmark such as EIA Brent × FRED USD/CNY when ``benchmark`` is given);
* a contract with ``tau`` years to its last trading day has the model price
  ``exp(exp(-kappa tau) chi + xi + carry tau)``, so near contracts follow the short-term
  shocks and far ones the long-run level;
* on every trading day of the exchange's calendar, every contract listed that day gets a
  settlement rounded to the tick and clipped into the daily limit band around its previous
  settlement (limit rates from the dated rules, doubled on a contract's first day). A model
  move beyond the band locks the settlement at the limit; the excess carries to the next day.

Everything is seeded and reproducible bit for bit. Prices are simulated, not history.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, fields, replace
from typing import Any

import numpy as np
import polars as pl

from cnfutures._dates import DateLike, parse_date
from cnfutures.errors import CalendarOutOfBounds, DataError, InputError
from cnfutures.market.calendar import calendar
from cnfutures.market.products import Product, product
from cnfutures.market.rules import RuleBook

__all__ = ["TRADING_DAYS_PER_YEAR", "Params", "default_params", "market"]

TRADING_DAYS_PER_YEAR = 244.0

_S0 = {"sc": 500.0, "i": 800.0, "nr": 12000.0, "ru": 14000.0}


@dataclass(frozen=True)
class Params:
    """Parameters of the two-factor model (units in brackets).

    Attributes
    ----------
    s0 : float [CNY/unit]
        Starting spot level ``exp(chi0 + xi0)`` (ignored with a benchmark).
    kappa : float [1/year]
        Mean-reversion speed of the short-term factor.
    sigma_chi : float [1/sqrt(year)]
        Volatility of the short-term factor.
    sigma_xi : float [1/sqrt(year)]
        Volatility of the long-run factor (ignored with a benchmark).
    mu_xi : float [1/year]
        Drift of the long-run log price (ignored with a benchmark).
    rho : float [-]
        Correlation between the two factors' shocks.
    chi0 : float [-]
        Initial short-term deviation (log).
    carry : float [1/year]
        Log contango per year of maturity (negative: backwardation).
    basis : float [-]
        With a benchmark: long-run level = ``basis × benchmark × usd_cny``.
    open_frac, open_sd, close_sd : float [-]
        Shape of the open and the close around the settlement.
    """

    s0: float = 500.0
    kappa: float = 2.0
    sigma_chi: float = 0.20
    sigma_xi: float = 0.25
    mu_xi: float = 0.0
    rho: float = 0.0
    chi0: float = 0.0
    carry: float = 0.0
    basis: float = 1.0
    open_frac: float = 0.5
    open_sd: float = 0.004
    close_sd: float = 0.002

    def __post_init__(self) -> None:
        for f in fields(self):
            v = getattr(self, f.name)
            if not isinstance(v, int | float) or not math.isfinite(v):
                raise InputError(f"Params.{f.name}={v!r} must be a finite number")
        for name in ("s0", "basis"):
            if getattr(self, name) <= 0:
                raise InputError(f"Params.{name}={getattr(self, name)!r} must be > 0")
        for name in ("kappa", "sigma_chi", "sigma_xi", "open_sd", "close_sd"):
            if getattr(self, name) < 0:
                raise InputError(f"Params.{name}={getattr(self, name)!r} must be >= 0")
        if not -1.0 <= self.rho <= 1.0:
            raise InputError(f"Params.rho={self.rho!r} must lie in [-1, 1]")
        if not 0.0 <= self.open_frac <= 1.0:
            raise InputError(f"Params.open_frac={self.open_frac!r} must lie in [0, 1]")


def default_params(product_code: str) -> Params:
    """Default parameters for a product (starting level near its recent price).

    Examples
    --------
    >>> default_params("i").s0
    800.0
    """
    p = product(product_code)
    return Params(s0=_S0.get(p.code, 100.0))


def _bounds(code: str) -> tuple[dt.date, dt.date | None]:
    from cnfutures.market.contracts import contract

    c = contract(code)
    first = c.first_trading_day
    try:
        ltd: dt.date | None = c.last_trading_day
    except CalendarOutOfBounds:
        ltd = None
    return first, ltd


def contracts_frame(p: Product, days: pl.Series) -> pl.DataFrame:
    """One row per (trading_day, listed contract): ``trading_day, contract, last_trading_day,
    first_day`` (vectorised: contract bounds once per contract, then a range join)."""
    lo, hi = days.min(), days.max()
    assert isinstance(lo, dt.date) and isinstance(hi, dt.date)
    codes: list[str] = []
    firsts: list[dt.date] = []
    ltds: list[dt.date] = []
    span = (hi.year - lo.year) * 12 + hi.month - lo.month
    for k in range(-60, span + 12 * 5):
        y, m = divmod(lo.year * 12 + lo.month - 1 + k, 12)
        m += 1
        if m not in p.months:
            continue
        code = f"{p.code}{y % 100:02d}{m:02d}"
        if p.first_contract and code < p.first_contract:
            continue
        try:
            first, ltd = _bounds(code)
        except CalendarOutOfBounds:
            continue
        # past the calendar's end the LTD is unknown; the 15th of the month before delivery
        # stands in for the model's time to expiry only (never for trading)
        ltd_eff = ltd if ltd is not None else dt.date(y - (m == 1), 12 if m == 1 else m - 1, 15)
        if first > hi or ltd_eff < lo:
            continue
        codes.append(code)
        firsts.append(first)
        ltds.append(ltd_eff)
    cf = pl.DataFrame(
        {"contract": codes, "first": firsts, "last_trading_day": ltds},
        schema={"contract": pl.String, "first": pl.Date, "last_trading_day": pl.Date},
    )
    out = (
        pl.DataFrame({"trading_day": days})
        .join(cf, how="cross")
        .filter(
            (pl.col("trading_day") >= pl.col("first")) & (pl.col("trading_day") <= pl.col("last_trading_day"))
        )
        .with_columns((pl.col("trading_day") == pl.col("first")).alias("first_day"))
        .drop("first")
        .sort("contract", "trading_day")
    )
    return out


def _aligned(series: pl.DataFrame, value: str, days: pl.Series, name: str) -> np.ndarray:
    """As-of (backward) values of a (date, value) frame on the trading days; nulls skipped."""
    if "date" not in series.columns or value not in series.columns:
        raise InputError(f"{name} needs columns 'date' and {value!r}; got {series.columns}")
    s = series.select(pl.col("date").cast(pl.Date), pl.col(value).cast(pl.Float64)).drop_nulls().sort("date")
    bad = s.filter(~pl.col(value).is_finite() | (pl.col(value) <= 0))
    if bad.height:
        raise DataError(
            f"{name} has non-positive or non-finite values",
            [f"{r['date']}: {r[value]}" for r in bad.head(5).to_dicts()],
        )
    first = s["date"].min() if s.height else None
    if not isinstance(first, dt.date) or first > days[0]:
        when = f"starts {first.isoformat()}, after" if isinstance(first, dt.date) else "has no value on"
        raise DataError(f"{name} {when} the first trading day {days[0]}; it must cover it")
    out = pl.DataFrame({"trading_day": days}).join_asof(
        s, left_on="trading_day", right_on="date", strategy="backward"
    )
    return out[value].to_numpy().astype(np.float64)


def market(
    product_code: str,
    start: DateLike,
    n_days: int | None = None,
    end: DateLike | None = None,
    n_paths: int = 1,
    seed: int = 20260101,
    params: Params | None = None,
    benchmark: pl.DataFrame | None = None,
    usd_cny: pl.DataFrame | None = None,
    *,
    book: RuleBook | None = None,
) -> pl.DataFrame:
    """Simulate per-contract daily prices of every listed contract (SIMULATED data).

    Parameters
    ----------
    product_code : str
        ``"sc"``, ``"i"``, ``"nr"``, ``"ru"`` (any product with rules).
    start : date or str
        First trading day (a later date is rolled forward to the next trading day).
    n_days : int, optional
        Number of trading days; give this or ``end``.
    end : date or str, optional
        Last calendar date.
    n_paths : int
        Number of independent paths (> 0).
    seed : int
        Seed of the numpy ``Generator`` (PCG64); the output is reproducible bit for bit.
    params : Params, optional
        Model parameters (default :func:`default_params`).
    benchmark : polars.DataFrame, optional
        Columns ``date``, ``price`` [USD/unit] (or [CNY/unit] without ``usd_cny``): the
        long-run factor follows ``log(basis × price × usd_cny)`` as-of each trading day.
    usd_cny : polars.DataFrame, optional
        Columns ``date``, ``usd_cny`` [CNY per USD], used with ``benchmark``.
    book : RuleBook, optional
        Rules for the limit rates (default: bundled).

    Returns
    -------
    polars.DataFrame
        ``path`` (Int32), ``trading_day``, ``contract``, ``last_trading_day``, ``open``,
        ``close``, ``settle``, ``prev_settle``, ``limit_up``, ``limit_down`` [CNY/unit],
        ``limit_locked`` (settle at a limit), ``spot`` [CNY/unit] (model spot
        ``exp(chi + xi)``), sorted by path, trading day and contract.

    Raises
    ------
    InputError
        Neither or both of ``n_days`` and ``end``, ``n_paths < 1``, bad params.
    CalendarOutOfBounds
        Dates outside the exchange calendar.
    DataError
        A benchmark or FX series that does not cover the start.

    Examples
    --------
    >>> f = market("sc", "2025-06-02", n_days=5, seed=1)
    >>> f["trading_day"].n_unique(), f["contract"].n_unique() >= 20
    (5, True)
    >>> f.equals(market("sc", "2025-06-02", n_days=5, seed=1))
    True
    """
    p = product(product_code)
    if (n_days is None) == (end is None):
        raise InputError("give exactly one of n_days (trading days) and end (a date)")
    if not isinstance(n_paths, int) or n_paths < 1:
        raise InputError(f"n_paths={n_paths!r} must be a positive integer")
    prm = params if params is not None else default_params(p.code)
    cal = calendar(p.exchange)
    d0 = parse_date(start, "start")
    if end is not None:
        days = cal.trading_days(d0, parse_date(end, "end"))
    else:
        assert n_days is not None
        if n_days < 1:
            raise InputError(f"n_days={n_days!r} must be >= 1")
        hi = cal.bounds[1]
        days = cal.trading_days(d0, hi).head(n_days)
        if days.len() < n_days:
            raise CalendarOutOfBounds(
                f"{n_days} trading days from {d0} run past the {p.exchange} calendar's end {hi}"
            )
    if days.len() == 0:
        raise InputError(f"no {p.exchange} trading day between {start} and {end}")
    if p.listed is not None and days[0] < p.listed:
        raise InputError(f"{p.code} was listed on {p.listed}; start={days[0]} is earlier")
    rows = contracts_frame(p, days)
    rb = book if book is not None else RuleBook.default()
    lim = rb.table("price_limit", rows.select("trading_day", "contract"))
    if lim["value"].null_count():
        r = lim.filter(pl.col("value").is_null()).row(0, named=True)
        raise DataError(f"no price-limit rule for {r['contract']} on {r['trading_day']}", [str(r)])
    mult = rb.first_day_limit_multiplier(p.code)
    rate = (lim["value"].to_numpy() * np.where(rows["first_day"].to_numpy(), mult, 1.0)).astype(np.float64)
    day_index = pl.DataFrame({"trading_day": days}).with_row_index("d")
    rows = rows.join(day_index, on="trading_day", how="left", maintain_order="left")
    row_day = rows["d"].cast(pl.Int64).to_numpy()
    row_tau = ((rows["last_trading_day"] - rows["trading_day"]).dt.total_days().to_numpy() / 365.0).astype(
        np.float64
    )
    row_start = (rows["contract"] != rows["contract"].shift(1)).fill_null(True).cast(pl.Int64).to_numpy()
    D = days.len()
    R = rows.height
    given = np.zeros(0)
    if benchmark is not None:
        price_col = "price" if "price" in benchmark.columns else benchmark.columns[-1]
        b = _aligned(benchmark, price_col, days, "benchmark")
        if usd_cny is not None:
            b = b * _aligned(usd_cny, "usd_cny", days, "usd_cny")
        given = np.ascontiguousarray(np.log(prm.basis * b))
    rng = np.random.Generator(np.random.PCG64(seed))
    z1 = rng.standard_normal((n_paths, D))
    z2 = rng.standard_normal((n_paths, D))
    zo = rng.standard_normal((n_paths, R))
    zc = rng.standard_normal((n_paths, R))
    from cnfutures._kernels.paths import contract_paths_nb, factor_paths_nb

    chi = np.empty((n_paths, D))
    xi = np.empty((n_paths, D))
    factor_paths_nb(
        z1, z2, 1.0 / TRADING_DAYS_PER_YEAR, prm.kappa, prm.sigma_chi, prm.sigma_xi, prm.mu_xi, prm.rho,
        prm.chi0, math.log(prm.s0) - prm.chi0, given, chi, xi,
    )  # fmt: skip
    outs = [np.empty((n_paths, R)) for _ in range(6)]
    contract_paths_nb(
        chi, xi, row_day, row_tau, row_start, np.ascontiguousarray(rate, dtype=np.float64), zo, zc,
        prm.kappa, prm.carry, p.tick, prm.open_frac, prm.open_sd, prm.close_sd, *outs,
    )  # fmt: skip
    settle, prev, up, dn, op, cl = outs
    spot = np.exp(chi + xi)
    base = rows.select("trading_day", "contract", "last_trading_day")
    frames = []
    for i in range(n_paths):
        frames.append(
            base.with_columns(
                pl.lit(i, pl.Int32).alias("path"),
                pl.Series("open", op[i]),
                pl.Series("close", cl[i]),
                pl.Series("settle", settle[i]),
                pl.Series("prev_settle", prev[i]),
                pl.Series("limit_up", up[i]),
                pl.Series("limit_down", dn[i]),
                pl.Series("spot", spot[i][row_day]),
            )
        )
    out = pl.concat(frames).with_columns(
        ((pl.col("settle") >= pl.col("limit_up")) | (pl.col("settle") <= pl.col("limit_down"))).alias(
            "limit_locked"
        )
    )
    return out.select(
        "path", "trading_day", "contract", "last_trading_day", "open", "close", "settle", "prev_settle",
        "limit_up", "limit_down", "limit_locked", "spot",
    ).sort("path", "trading_day", "contract")  # fmt: skip


def with_params(base: Params, **changes: Any) -> Params:
    """A copy of ``base`` with some fields changed (validated).

    Examples
    --------
    >>> with_params(default_params("sc"), kappa=1.0).kappa
    1.0
    """
    return replace(base, **changes)
