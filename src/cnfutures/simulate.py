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
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import polars as pl

from cnfutures._calibrate import Calibration, calibrate
from cnfutures._dates import DateLike, parse_date
from cnfutures._params import TRADING_DAYS_PER_YEAR, Params, default_params
from cnfutures.errors import CalendarOutOfBounds, DataError, InputError
from cnfutures.market.calendar import calendar
from cnfutures.market.products import Product, product
from cnfutures.market.rules import RuleBook

__all__ = [
    "TRADING_DAYS_PER_YEAR",
    "Calibration",
    "Params",
    "calibrate",
    "default_params",
    "estimate_correlation",
    "implied_vol",
    "market",
    "markets",
    "with_params",
]

#: Rows (paths x contract-days) :func:`market` builds without ``allow_large=True``.
MAX_FRAME_ROWS = 20_000_000
_BYTES_PER_ROW = 150  # about 16 columns of 8 bytes plus the contract string


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


@dataclass(frozen=True)
class Setup:
    """Everything a simulation fixes before drawing random numbers (internal).

    ``rows`` holds one row per (trading_day, contract) simulated, grouped by contract with
    days ascending; the ``row_*`` arrays are its kernel columns.
    """

    product: Product
    params: Params
    days: pl.Series
    rows: pl.DataFrame
    row_day: np.ndarray
    row_tau: np.ndarray
    row_start: np.ndarray
    row_rate: np.ndarray
    row_key: np.ndarray
    xi_given: np.ndarray
    lfx_given: np.ndarray

    def restrict(self, contracts: list[str]) -> Setup:
        """The same simulation over some contracts only (their prices are unchanged).

        Examples
        --------
        >>> su = setup("sc", "2025-06-02", n_days=3)
        >>> su.restrict(["sc2508"]).rows.height
        3
        """
        keep = _listed_mask(self.rows, contracts, self.days).to_numpy()
        return replace(
            self, rows=self.rows.filter(keep), row_day=self.row_day[keep], row_tau=self.row_tau[keep],
            row_start=self.row_start[keep], row_rate=self.row_rate[keep], row_key=self.row_key[keep],
        )  # fmt: skip


def _listed_mask(rows: pl.DataFrame, contracts: list[str], days: pl.Series) -> pl.Series:
    """Rows of ``contracts``; every one of them must be listed in the simulated period."""
    known = set(rows["contract"].unique().to_list())
    unknown = [c for c in contracts if c not in known]
    if unknown:
        raise InputError(
            f"contract(s) {unknown} are not listed between {days[0]} and {days[-1]}; listed: {sorted(known)}"
        )
    return rows["contract"].is_in(contracts)


def _days(p: Product, start: DateLike, n_days: int | None, end: DateLike | None) -> pl.Series:
    if (n_days is None) == (end is None):
        raise InputError("give exactly one of n_days (trading days) and end (a date)")
    cal = calendar(p.exchange)
    d0 = parse_date(start, "start")
    if end is not None:
        days = cal.trading_days(d0, parse_date(end, "end"))
    else:
        assert n_days is not None
        if isinstance(n_days, bool) or not isinstance(n_days, int) or n_days < 1:
            raise InputError(f"n_days={n_days!r} must be a positive whole number of trading days")
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
    return days


def setup(
    product_code: str,
    start: DateLike,
    n_days: int | None = None,
    end: DateLike | None = None,
    params: Params | None = None,
    benchmark: pl.DataFrame | None = None,
    usd_cny: pl.DataFrame | None = None,
    *,
    book: RuleBook | None = None,
    contracts: list[str] | None = None,
) -> Setup:
    """Validate the inputs of a simulation and build its kernel arrays (no random draws).

    ``contracts`` restricts the simulation to some contracts (their prices are the same as in
    the full simulation: each contract's path depends only on the factors and its own draws).

    Examples
    --------
    >>> s = setup("sc", "2025-06-02", n_days=3, contracts=["sc2508"])
    >>> s.rows.height, s.rows["contract"].unique().to_list()
    (3, ['sc2508'])
    """
    p = product(product_code)
    prm = params if params is not None else default_params(p.code)
    if not isinstance(prm, Params):
        raise InputError(f"params must be a simulate.Params, got {type(prm).__name__}")
    days = _days(p, start, n_days, end)
    rows = contracts_frame(p, days)
    if contracts is not None:
        rows = rows.filter(_listed_mask(rows, contracts, days))
    rb = book if book is not None else RuleBook.default()
    # limit rates (first-day multiplier applied) from the one compiled rule table
    lim = rb.limit_rates(rows.select("trading_day", "contract"))
    if lim.null_count():
        r = rows.row(int(lim.is_null().arg_max() or 0), named=True)
        raise DataError(f"no price-limit rule for {r['contract']} on {r['trading_day']}", [str(r)])
    rate = np.ascontiguousarray(lim.to_numpy(), dtype=np.float64)
    day_index = pl.DataFrame({"trading_day": days}).with_row_index("d")
    rows = rows.join(day_index, on="trading_day", how="left", maintain_order="left")
    row_day = rows["d"].cast(pl.Int64).to_numpy()
    row_tau = ((rows["last_trading_day"] - rows["trading_day"]).dt.total_days().to_numpy() / 365.0).astype(
        np.float64
    )
    row_start = (rows["contract"] != rows["contract"].shift(1)).fill_null(True).cast(pl.Int64).to_numpy()
    # counter of the open/close draws: the contract's yymm number and the day index
    cnum = rows["contract"].str.slice(len(p.code)).cast(pl.UInt64).to_numpy()
    row_key = (cnum << np.uint64(24)) | row_day.astype(np.uint64)
    xi_given = np.zeros(0)
    lfx_given = np.zeros(0)
    fx_real = _aligned(usd_cny, "usd_cny", days, "usd_cny") if usd_cny is not None else None
    if fx_real is not None:
        lfx_given = np.ascontiguousarray(np.log(fx_real))
    if benchmark is not None:
        price_col = "price" if "price" in benchmark.columns else benchmark.columns[-1]
        b = _aligned(benchmark, price_col, days, "benchmark")
        lb = np.log(b)
        if prm.benchmark_lag > 0.0:
            # the benchmark's last observation dated before each trading day
            prev = _aligned(benchmark, price_col, days - dt.timedelta(days=1), "benchmark (previous day)")
            lb = (1.0 - prm.benchmark_lag) * lb + prm.benchmark_lag * np.log(prev)
        if fx_real is not None:
            lb = lb + np.log(fx_real)
        xi_given = np.ascontiguousarray(math.log(prm.basis) + lb)
    return Setup(
        p, prm, days, rows, np.ascontiguousarray(row_day), row_tau, np.ascontiguousarray(row_start),
        np.ascontiguousarray(rate), np.ascontiguousarray(row_key), xi_given, lfx_given,
    )  # fmt: skip


def _seed(seed: int) -> int:
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or not 0 <= int(seed) < 2**63:
        raise InputError(f"seed={seed!r} must be a whole number in [0, 2**63)")
    return int(seed)


def draw(
    su: Setup,
    seed: int,
    path0: int,
    n_paths: int,
    *,
    ohlc: bool = True,
    buffers: dict[str, np.ndarray] | None = None,
) -> dict[str, np.ndarray]:
    """Simulate paths ``path0 .. path0 + n_paths - 1`` of a prepared simulation (internal).

    Returns ``chi``, ``xi``, ``lfx`` ``[P, D]`` (log USD/CNY) and ``settle``, ``prev``, ``up``,
    ``dn``, ``open``, ``close`` ``[P, R]`` over ``su.rows`` (``open`` and ``close`` only with
    ``ohlc``). Path ``i`` is the same whatever ``path0`` and ``n_paths`` it is drawn with
    (counter-based random numbers). ``buffers`` (a dict kept between calls, e.g. over chunks
    of paths) lets arrays of the right shape be reused instead of allocated again; the
    returned arrays then live in it and are overwritten by the next call.

    Examples
    --------
    >>> su = setup("sc", "2025-06-02", n_days=4)
    >>> a = draw(su, 7, 0, 3)["settle"]
    >>> bool((draw(su, 7, 2, 1)["settle"][0] == a[2]).all())
    True
    """
    from cnfutures._kernels import paths as k

    if isinstance(n_paths, bool) or not isinstance(n_paths, int) or n_paths < 1:
        raise InputError(f"n_paths={n_paths!r} must be a positive integer")
    buf = buffers if buffers is not None else {}

    def get(name: str, n: int) -> np.ndarray:
        a = buf.get(name)
        if a is None or a.shape != (n_paths, n):
            a = buf[name] = np.empty((n_paths, n))
        return a

    prm = su.params
    D = su.days.len()
    R = su.rows.height
    s64 = np.uint64(_seed(seed))
    p64 = np.uint64(path0)
    day_keys = np.arange(D, dtype=np.uint64)
    z = {}
    no_keys = np.zeros(0, dtype=np.uint64)
    for name, stream, keys in (
        ("z1", k.STREAM_CHI, day_keys), ("z2", k.STREAM_XI, day_keys),
        ("z3", k.STREAM_FX, day_keys if su.lfx_given.shape[0] == 0 else no_keys),
        ("zo", k.STREAM_OPEN, su.row_key if ohlc else no_keys),
        ("zc", k.STREAM_CLOSE, su.row_key if ohlc else no_keys),
    ):  # fmt: skip
        z[name] = get("_" + name, keys.shape[0])
        k.keyed_normals_nb(s64, np.uint64(stream), p64, keys, z[name])
    chi, xi, lfx = get("chi", D), get("xi", D), get("lfx", D)
    k.factor_paths_nb(
        z["z1"], z["z2"], z["z3"], 1.0 / TRADING_DAYS_PER_YEAR, prm.kappa, prm.sigma_chi, prm.sigma_xi,
        prm.mu_xi, prm.rho, prm.chi0, math.log(prm.s0) - prm.chi0, su.xi_given, prm.sigma_fx, prm.rho_fx,
        math.log(prm.fx0), su.lfx_given, chi, xi, lfx,
    )  # fmt: skip
    names = ("settle", "prev", "up", "dn", "open", "close")
    out = {n: get(n, R if ohlc or n not in ("open", "close") else 0) for n in names}
    k.contract_paths_nb(
        chi, xi, su.row_day, su.row_tau, su.row_start, su.row_rate, z["zo"], z["zc"], prm.kappa, prm.carry,
        su.product.tick, ohlc, prm.open_frac, prm.open_sd, prm.close_sd, *(out[n] for n in names),
    )  # fmt: skip
    if not ohlc:
        del out["open"], out["close"]
    return {"chi": chi, "xi": xi, "lfx": lfx, **out}


def market(
    product_code: str,
    start: DateLike,
    n_days: int | None = None,
    n_paths: int = 1,
    seed: int = 20260101,
    params: Params | None = None,
    *,
    end: DateLike | None = None,
    benchmark: pl.DataFrame | None = None,
    usd_cny: pl.DataFrame | None = None,
    book: RuleBook | None = None,
    usd: bool = False,
    contracts: list[str] | None = None,
    allow_large: bool = False,
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
    n_paths : int
        Number of independent paths (> 0). The frame holds ``n_paths`` x contract-days
        rows, at most :data:`MAX_FRAME_ROWS` (20 million, ~3 GB) unless
        ``allow_large=True``; :func:`cnfutures.hedge_risk` books many paths chunk by chunk
        instead.
    seed : int
        Seed in ``[0, 2**63)``. Draws are counter based: path ``i`` is identical bit for bit
        whatever ``n_paths``, and a contract's prices do not depend on which other contracts
        are simulated (``contracts=``).
    params : Params, optional
        Model parameters (default :func:`default_params`).
    end : date or str, optional
        Last calendar date (instead of ``n_days``).
    benchmark : polars.DataFrame, optional
        Columns ``date``, ``price`` [USD/unit] (or [CNY/unit] without ``usd_cny``): the
        long-run factor follows ``log(basis × price × usd_cny)`` as-of each trading day.
    usd_cny : polars.DataFrame, optional
        Columns ``date``, ``usd_cny`` [CNY per USD]: the real fixing replaces the simulated
        USD/CNY path.
    book : RuleBook, optional
        Rules for the limit rates (default: bundled).
    usd : bool
        Add ``usd_cny`` [CNY per USD] (simulated, or the real series) and ``benchmark_usd``
        [USD/unit] (the long-run level ``exp(xi) / (basis × usd_cny)``; with a real USD
        benchmark and FX this is the benchmark itself, blended with its previous
        observation when ``benchmark_lag > 0``).
    contracts : list of str, optional
        Simulate only these contracts (same prices as in the full simulation).

    Returns
    -------
    polars.DataFrame
        ``path`` (Int32), ``trading_day``, ``contract``, ``last_trading_day``, ``open``,
        ``close``, ``settle``, ``prev_settle``, ``limit_up``, ``limit_down`` [CNY/unit],
        ``limit_locked`` (settle at a limit), ``spot`` [CNY/unit] (model spot
        ``exp(chi + xi)``), then ``usd_cny``, ``benchmark_usd`` with ``usd=True``; sorted by
        path, trading day and contract.

    Raises
    ------
    InputError
        Neither or both of ``n_days`` and ``end``, ``n_paths < 1``, bad params or seed.
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
    >>> two = market("sc", "2025-06-02", n_days=5, seed=1, n_paths=2)
    >>> two.filter(path=0).equals(f)
    True
    """
    su = setup(product_code, start, n_days, end, params, benchmark, usd_cny, book=book, contracts=contracts)
    if isinstance(n_paths, int) and not isinstance(n_paths, bool) and not allow_large:
        rows = n_paths * su.rows.height
        if rows > MAX_FRAME_ROWS:
            raise InputError(
                f"n_paths={n_paths:,} x {su.rows.height:,} contract-days = {rows:,} rows, above the cap of "
                f"{MAX_FRAME_ROWS:,}: about {rows * _BYTES_PER_ROW / 1e9:,.1f} GB in memory; pass "
                "allow_large=True to build it anyway, or use cnfutures.hedge_risk(), which books paths "
                "chunk by chunk"
            )
    out = draw(su, seed, 0, n_paths)
    return frame(su, out, path0=0, usd=usd)


def frame(su: Setup, out: dict[str, np.ndarray], *, path0: int = 0, usd: bool = False) -> pl.DataFrame:
    """Assemble :func:`draw` output into the per-contract frame of :func:`market` (internal)."""
    n_paths, n_rows = out["settle"].shape
    row_day = su.row_day
    base = su.rows.select("trading_day", "contract", "last_trading_day")
    if n_paths > 1:  # the rows of every path, one after the other
        base = base.select(pl.all().gather(np.tile(np.arange(n_rows), n_paths)))
    cols = {
        "path": pl.Series(np.repeat(np.arange(path0, path0 + n_paths, dtype=np.int32), n_rows)),
        "open": out["open"].ravel(), "close": out["close"].ravel(), "settle": out["settle"].ravel(),
        "prev_settle": out["prev"].ravel(), "limit_up": out["up"].ravel(), "limit_down": out["dn"].ravel(),
        "spot": np.exp(out["chi"] + out["xi"])[:, row_day].ravel(),
    }  # fmt: skip
    if usd:
        fx = np.exp(out["lfx"])
        cols["usd_cny"] = fx[:, row_day].ravel()
        cols["benchmark_usd"] = (np.exp(out["xi"]) / (su.params.basis * fx))[:, row_day].ravel()
    res = base.with_columns(**cols).with_columns(
        ((pl.col("settle") >= pl.col("limit_up")) | (pl.col("settle") <= pl.col("limit_down"))).alias(
            "limit_locked"
        )
    )
    cols_out = [
        "path", "trading_day", "contract", "last_trading_day", "open", "close", "settle", "prev_settle",
        "limit_up", "limit_down", "limit_locked", "spot",
    ]  # fmt: skip
    if usd:
        cols_out += ["usd_cny", "benchmark_usd"]
    return res.select(cols_out).sort("path", "trading_day", "contract")


def _cholesky_psd(c: np.ndarray) -> np.ndarray:
    """Lower-triangular ``L`` with ``L L' = c`` for a validated positive semi-definite ``c``
    (a zero pivot gives a zero column; the identity gives the identity exactly)."""
    n = c.shape[0]
    low = np.zeros((n, n))
    for j in range(n):
        s = c[j, j] - float(low[j, :j] @ low[j, :j])
        d = math.sqrt(s) if s > 1e-12 else 0.0
        low[j, j] = d
        for i in range(j + 1, n):
            v = c[i, j] - float(low[i, :j] @ low[j, :j])
            low[i, j] = v / d if d > 0.0 else 0.0
    return low


def _mix(low: np.ndarray, z: list[np.ndarray], k: int) -> np.ndarray:
    """Row ``k`` of ``L z`` over the products' draws (zero entries skipped, so identity rows
    return the product's own draws bit for bit)."""
    out: np.ndarray | None = None
    for j in range(k + 1):
        w = low[k, j]
        if w == 0.0:
            continue
        term = z[j] if w == 1.0 else w * z[j]
        out = term.copy() if out is None else out + term
    return out if out is not None else np.zeros_like(z[k])


def joint_setup(
    products: list[str],
    start: DateLike,
    n_days: int | None = None,
    end: DateLike | None = None,
    params: dict[str, Params] | None = None,
    usd_cny: pl.DataFrame | None = None,
    *,
    book: RuleBook | None = None,
) -> list[Setup]:
    """One :func:`setup` per product over the same trading days (internal).

    Examples
    --------
    >>> [s.product.code for s in joint_setup(["sc", "i"], "2025-06-02", n_days=3)]
    ['sc', 'i']
    """
    if isinstance(products, str) or not isinstance(products, list | tuple) or not products:
        raise InputError(f"products={products!r} must be a non-empty list of product codes")
    if len(set(products)) != len(products):
        raise InputError(f"products={list(products)} repeats a product; each is simulated once")
    prm = dict(params) if params is not None else {}
    unknown = [k for k in prm if k not in products]
    if unknown:
        raise InputError(f"params given for {unknown}, not among products {list(products)}")
    sus = [setup(p, start, n_days, end, prm.get(p), None, usd_cny, book=book) for p in products]
    d0 = sus[0].days
    for su in sus[1:]:
        if not su.days.equals(d0):
            a, b = set(d0.to_list()), set(su.days.to_list())
            diff = sorted(a ^ b)
            raise InputError(
                f"{sus[0].product.code} ({sus[0].product.exchange}) and {su.product.code} "
                f"({su.product.exchange}) trade on different days in this range "
                f"(first: {diff[0] if diff else '?'}); "
                "a joint simulation needs one calendar"
            )
    return sus


def draw_joint(
    sus: list[Setup],
    low: np.ndarray,
    seed: int,
    path0: int,
    n_paths: int,
    *,
    ohlc: bool = True,
) -> list[dict[str, np.ndarray]]:
    """Paths ``path0 ..`` of several products with correlated factor shocks and one USD/CNY (internal).

    Product ``k`` draws its independent normals from seed ``seed + k`` (the streams of
    :func:`market`); the short-term draws of all products are mixed by the lower Cholesky
    factor ``low`` (``e1_k = sum_j low[k, j] z1_j``), and so are the long-run factors' own
    draws (``z2``), before :func:`factor_paths_nb`. The USD/CNY path of the first product is
    given to every product. Returns one :func:`draw`-style dict per product.

    Examples
    --------
    >>> sus = joint_setup(["sc", "i"], "2025-06-02", n_days=4)
    >>> a = draw_joint(sus, np.eye(2), 7, 0, 3)
    >>> bool((a[0]["lfx"] == a[1]["lfx"]).all())
    True
    """
    from cnfutures._kernels import paths as k

    if isinstance(n_paths, bool) or not isinstance(n_paths, int) or n_paths < 1:
        raise InputError(f"n_paths={n_paths!r} must be a positive integer")
    s0 = _seed(seed)
    if s0 + len(sus) > 2**63:
        raise InputError(
            f"seed={seed!r}: seed + {len(sus) - 1} (the last product's stream) must stay below 2**63"
        )
    D = sus[0].days.len()
    day_keys = np.arange(D, dtype=np.uint64)
    p64 = np.uint64(path0)
    no_keys = np.zeros(0, dtype=np.uint64)

    def normals(k_: int, stream: int, keys: np.ndarray) -> np.ndarray:
        z = np.empty((n_paths, keys.shape[0]))
        if keys.shape[0]:  # (an empty draw still costs a parallel launch)
            k.keyed_normals_nb(np.uint64(s0 + k_), np.uint64(stream), p64, keys, z)
        return z

    z1 = [normals(i, k.STREAM_CHI, day_keys) for i in range(len(sus))]
    z2 = [normals(i, k.STREAM_XI, day_keys) for i in range(len(sus))]
    outs: list[dict[str, np.ndarray]] = []
    for i, su in enumerate(sus):
        prm = su.params
        e1, e2 = _mix(low, z1, i), _mix(low, z2, i)
        z3 = normals(i, k.STREAM_FX, day_keys if (i == 0 and su.lfx_given.shape[0] == 0) else no_keys)
        if z3.shape[1] != D:
            z3 = np.zeros((n_paths, D))  # unused: FX is given or taken from the first product
        chi, xi, lfx = np.empty((n_paths, D)), np.empty((n_paths, D)), np.empty((n_paths, D))
        k.factor_paths_nb(
            e1, e2, z3, 1.0 / TRADING_DAYS_PER_YEAR, prm.kappa, prm.sigma_chi, prm.sigma_xi,
            prm.mu_xi, prm.rho, prm.chi0, math.log(prm.s0) - prm.chi0, su.xi_given, prm.sigma_fx, prm.rho_fx,
            math.log(prm.fx0), su.lfx_given, chi, xi, lfx,
        )  # fmt: skip
        if i > 0:
            lfx = outs[0]["lfx"]  # one USD/CNY path shared by every product
        zo = normals(i, k.STREAM_OPEN, su.row_key if ohlc else no_keys)
        zc = normals(i, k.STREAM_CLOSE, su.row_key if ohlc else no_keys)
        R = su.rows.height
        names = ("settle", "prev", "up", "dn", "open", "close")
        out = {n: np.empty((n_paths, R if ohlc or n not in ("open", "close") else 0)) for n in names}
        k.contract_paths_nb(
            chi, xi, su.row_day, su.row_tau, su.row_start, su.row_rate, zo, zc, prm.kappa, prm.carry,
            su.product.tick, ohlc, prm.open_frac, prm.open_sd, prm.close_sd, *(out[n] for n in names),
        )  # fmt: skip
        if not ohlc:
            del out["open"], out["close"]
        outs.append({"chi": chi, "xi": xi, "lfx": lfx, **out})
    return outs


def markets(
    products: list[str],
    start: DateLike,
    n_days: int | None = None,
    n_paths: int = 1,
    seed: int = 20260101,
    params: dict[str, Params] | None = None,
    *,
    corr: object,
    end: DateLike | None = None,
    usd_cny: pl.DataFrame | None = None,
    book: RuleBook | None = None,
    usd: bool = True,
    allow_large: bool = False,
) -> dict[str, pl.DataFrame]:
    """Simulate several products together: correlated factor shocks, one USD/CNY (SIMULATED data).

    Each product follows its own two-factor model (:func:`market`), but

    * the short-term factor shocks of the products have the correlation matrix ``corr``: the
      products' independent draws are mixed by its lower Cholesky factor ``L`` before the
      factor recursion, ``e1_k = sum_j L[k, j] z1_j``;
    * the long-run factors' own draws ``z2`` are mixed by the same ``L``; a product's long-run
      shock stays ``rho_k e1_k + sqrt(1 - rho_k²) e2_k``, so two products' long-run shocks
      have correlation ``corr[k, j] (rho_k rho_j + sqrt(1 - rho_k²) sqrt(1 - rho_j²))``,
      which is ``corr[k, j]`` when their ``rho`` are equal;
    * there is ONE USD/CNY path per path, the first product's (its ``fx0``, ``sigma_fx``,
      ``rho_fx`` against its long-run shock), or the real ``usd_cny`` series when given.

    Parameters
    ----------
    products : list of str
        Distinct product codes trading on the same calendar over the range.
    start : date or str
        First trading day.
    n_days : int, optional
        Trading days; give this or ``end``.
    n_paths : int
        Paths (> 0); all products together hold at most :data:`MAX_FRAME_ROWS` rows unless
        ``allow_large=True``.
    seed : int
        Product ``k`` draws from seed ``seed + k`` (the streams of :func:`market`); path ``i``
        is identical whatever ``n_paths``.
    params : dict of str to Params, optional
        Model parameters by product (default :func:`default_params`).
    corr : "independent", mapping, array-like or estimate
        Required, no default: the correlation of the products' short-term shocks, checked by
        :func:`cnfutures.validation.check_correlation` (``{("sc", "i"): 0.3, ...}``, an
        ``n x n`` matrix in ``products`` order, :func:`estimate_correlation`'s result, or the
        explicit ``"independent"``).
    end : date or str, optional
        Last calendar date (instead of ``n_days``).
    usd_cny : polars.DataFrame, optional
        Real ``date``, ``usd_cny`` [CNY per USD] fixings instead of the simulated path.
    book : RuleBook, optional
        Rules for the limit rates.
    usd : bool
        Add ``usd_cny`` [CNY per USD] and ``benchmark_usd`` [USD/unit] columns (default True:
        the shared FX path is the point of a joint simulation).
    allow_large : bool
        Build frames above the row cap.

    Returns
    -------
    dict of str to polars.DataFrame
        One frame per product, in :func:`market`'s layout (with a ``path`` column).

    Raises
    ------
    InputError
        A bad correlation (names the pair or value), repeated products, products on different
        calendars, bad days, paths or seed.

    Notes
    -----
    With ``corr="independent"`` the first product's frame equals ``market(products[0],
    seed=seed, usd=usd)`` bit for bit, and product ``k``'s equals ``market(products[k],
    seed=seed + k)`` in every column except ``usd_cny`` and ``benchmark_usd`` (the shared FX).

    Examples
    --------
    >>> f = markets(["sc", "i"], "2025-06-02", n_days=5, n_paths=2, seed=1, corr={("sc", "i"): 0.5})
    >>> sorted(f), f["sc"]["path"].n_unique()
    (['i', 'sc'], 2)
    >>> a = f["sc"].group_by("path", "trading_day").agg(pl.col("usd_cny").first()).sort("path", "trading_day")
    >>> b = f["i"].group_by("path", "trading_day").agg(pl.col("usd_cny").first()).sort("path", "trading_day")
    >>> a.equals(b)
    True
    """
    from cnfutures.validation import check_correlation

    names = list(products) if isinstance(products, list | tuple) else products
    sus = joint_setup(names, start, n_days, end, params, usd_cny, book=book)
    low = _cholesky_psd(check_correlation(corr, names))
    if isinstance(n_paths, int) and not isinstance(n_paths, bool) and not allow_large:
        rows = n_paths * sum(su.rows.height for su in sus)
        if rows > MAX_FRAME_ROWS:
            raise InputError(
                f"n_paths={n_paths:,} over {len(sus)} products = {rows:,} rows, above the cap of "
                f"{MAX_FRAME_ROWS:,}: about {rows * _BYTES_PER_ROW / 1e9:,.1f} GB; pass allow_large=True"
            )
    outs = draw_joint(sus, low, seed, 0, n_paths)
    return {su.product.code: frame(su, o, usd=usd) for su, o in zip(sus, outs, strict=True)}


@dataclass(frozen=True)
class CorrelationEstimate:
    """Correlation of daily log settlement returns estimated from data (see :func:`estimate_correlation`).

    ``products`` names the rows/columns of ``matrix`` [-]; ``observations`` is the number of
    aligned daily returns used; ``first`` and ``last`` the days they span. Pass it as
    ``corr=`` to :func:`markets`.
    """

    products: tuple[str, ...]
    matrix: np.ndarray
    observations: int
    first: dt.date
    last: dt.date

    def pairs(self) -> dict[tuple[str, str], float]:
        """The off-diagonal entries as ``{(a, b): rho}``.

        Examples
        --------
        >>> import numpy as np, datetime as dt
        >>> m = np.array([[1, 0.3], [0.3, 1]])
        >>> e = CorrelationEstimate(("sc", "i"), m, 80, dt.date(2025, 1, 2), dt.date(2025, 5, 6))
        >>> e.pairs()
        {('sc', 'i'): 0.3}
        """
        n = len(self.products)
        return {
            (self.products[i], self.products[j]): float(self.matrix[i, j])
            for i in range(n) for j in range(i + 1, n)
        }  # fmt: skip


#: Fewest aligned daily returns :func:`estimate_correlation` accepts by default.
MIN_OVERLAP = 60


def estimate_correlation(
    frames: dict[str, pl.DataFrame], *, min_overlap: int = MIN_OVERLAP
) -> CorrelationEstimate:
    """Correlation of the products' daily log settlement returns, from the user's own data.

    For each product, one row per trading day (the contract held: a roll schedule's or a
    continuous series'): ``trading_day``, ``settle`` [CNY/unit] and ``contract`` (or a boolean
    ``roll``, True on a day whose settle is of a different contract than the previous row's).
    The products are aligned on the days all of them have a settle (inner join); a return is
    ``log(settle_t / settle_{t-1})`` between consecutive aligned days, kept only on days where
    no product changed contract (never across a roll) and every settle is present. The
    Pearson correlation of those returns (all products on the same days, so the matrix is
    positive semi-definite) is returned.

    Parameters
    ----------
    frames : dict of str to polars.DataFrame
        Product -> daily frame as above.
    min_overlap : int
        Fewest aligned returns accepted (default :data:`MIN_OVERLAP`, 60: the standard error of
        a correlation near 0 is then about ``1/sqrt(60) = 0.13``).

    Returns
    -------
    CorrelationEstimate

    Raises
    ------
    InputError
        Missing columns, a product with two rows on one day, fewer than two products, fewer
        than ``min_overlap`` aligned returns, a constant series.

    Examples
    --------
    >>> import datetime as dt
    >>> days = [dt.date(2025, 1, 1) + dt.timedelta(days=d) for d in range(5)]
    >>> a = pl.DataFrame({"trading_day": days, "contract": "x", "settle": [1.0, 1.1, 1.0, 1.2, 1.1]})
    >>> b = a.with_columns(pl.col("settle") * 2)
    >>> round(float(estimate_correlation({"a": a, "b": b}, min_overlap=4).matrix[0, 1]), 12)
    1.0
    """
    if not isinstance(frames, dict) or len(frames) < 2:
        raise InputError("frames must be a dict of at least two products -> daily frames")
    if isinstance(min_overlap, bool) or not isinstance(min_overlap, int) or min_overlap < 3:
        raise InputError(f"min_overlap={min_overlap!r} must be a whole number >= 3")
    names = list(frames)
    joined: pl.DataFrame | None = None
    for p, f in frames.items():
        if not isinstance(f, pl.DataFrame) or not {"trading_day", "settle"} <= set(f.columns):
            raise InputError(
                f"frames[{p!r}] must be a polars DataFrame with trading_day, settle, contract or roll"
            )
        if "contract" in f.columns:
            seg = (pl.col("contract") != pl.col("contract").shift(1)).fill_null(False)
        elif "roll" in f.columns:
            seg = pl.col("roll").cast(pl.Boolean).fill_null(True)
        else:
            raise InputError(
                f"frames[{p!r}] has no contract or roll column: returns across a roll cannot be excluded"
            )
        g = (
            f.sort("trading_day")
            .select(
                pl.col("trading_day").cast(pl.Date), pl.col("settle").cast(pl.Float64), seg.alias("_roll")
            )
            .with_columns(pl.col("_roll").cum_sum().alias(f"seg_{p}"))
            .select("trading_day", pl.col("settle").alias(f"s_{p}"), f"seg_{p}")
        )
        dup = g.filter(pl.col("trading_day").is_duplicated())
        if dup.height:
            raise InputError(
                f"frames[{p!r}] has {dup.height} rows on repeated days (first {dup['trading_day'][0]}); "
                "one row (the contract held) per day is accepted"
            )
        g = g.filter(pl.col(f"s_{p}").is_finite() & (pl.col(f"s_{p}") > 0))
        joined = g if joined is None else joined.join(g, on="trading_day", how="inner")
    assert joined is not None
    joined = joined.sort("trading_day")
    ok = pl.lit(True)
    rets = []
    for p in names:
        ok = ok & (pl.col(f"seg_{p}") == pl.col(f"seg_{p}").shift(1))
        rets.append((pl.col(f"s_{p}") / pl.col(f"s_{p}").shift(1)).log().alias(p))
    r = joined.select("trading_day", *rets, ok.alias("_ok")).filter(pl.col("_ok").fill_null(False))
    if r.height < min_overlap:
        raise InputError(
            f"only {r.height} aligned same-contract daily returns of {names}; "
            f"at least {min_overlap} are needed"
        )
    x = r.select(names).to_numpy()
    sd = x.std(axis=0, ddof=1)
    flat = [names[i] for i in np.flatnonzero(~(sd > 0))]
    if flat:
        raise InputError(f"product(s) {flat} have constant settles over the overlap; no correlation")
    m = np.corrcoef(x, rowvar=False)
    m = 0.5 * (m + m.T)
    np.fill_diagonal(m, 1.0)
    return CorrelationEstimate(tuple(names), m, int(r.height), r["trading_day"][0], r["trading_day"][-1])


def with_params(base: Params, **changes: Any) -> Params:
    """A copy of ``base`` with some fields changed (validated).

    Examples
    --------
    >>> with_params(default_params("sc"), kappa=1.0).kappa
    1.0
    """
    return replace(base, **changes)


STREAM_VOL = 6  # shocks of the implied-vol level (key: day index); streams 1-5: _kernels/paths.py


def model_vol(params: Params, tau: float) -> float:
    """Instantaneous volatility of a contract ``tau`` years from expiry in the two-factor model.

    ``sqrt(exp(-2 kappa tau) sigma_chi^2 + sigma_xi^2 + 2 rho exp(-kappa tau) sigma_chi sigma_xi)``
    [1/√year]: the log futures price moves by ``exp(-kappa tau) dchi + dxi``.

    Examples
    --------
    >>> round(model_vol(default_params("sc"), 0.1), 4) > 0
    True
    """
    e = math.exp(-params.kappa * tau)
    sc, sx = params.sigma_chi, params.sigma_xi
    v = e * e * sc * sc + sx * sx + 2.0 * params.rho * e * sc * sx
    return math.sqrt(max(v, 0.0))


def implied_vol(
    params: Params,
    chi: np.ndarray,
    seed: int,
    path0: int,
    *,
    tau: float,
    kappa_v: float = 4.0,
    eta: float = 0.6,
    rho_v: float = -0.4,
) -> np.ndarray:
    """A seeded implied-volatility path per simulated path, tied to the model's futures paths.

    ``iv_t = model_vol(tau) × exp(x_t - eta² / (4 kappa_v))``: the model's instantaneous vol of
    a contract ``tau`` years out (:func:`model_vol`) times a log level ``x`` that mean-reverts to
    0 at speed ``kappa_v`` [1/year] with vol ``eta`` [1/√year] (``x_0 = 0``; the shift makes
    the stationary mean of the factor 1). The shocks of ``x`` are correlated ``rho_v`` with the
    short-term factor's shocks recovered from ``chi`` (negative: vol rises as prices fall);
    the rest is drawn from stream :data:`STREAM_VOL`, keyed by (seed, path, day) like the
    price shocks, so path ``i`` is the same whatever chunk it is drawn in. One vol per day
    for all strikes (no smile).

    Parameters
    ----------
    params : Params
    chi : ndarray [P, D]
        The short-term factor of paths ``path0 ..`` (``draw(...)["chi"]``).
    seed, path0 : int
    tau : float [year]

    Returns
    -------
    ndarray [P, D] [1/√year]

    Examples
    --------
    >>> su = setup("sc", "2025-06-02", n_days=5)
    >>> out = draw(su, 7, 0, 2)
    >>> v = implied_vol(su.params, out["chi"], 7, 0, tau=0.1)
    >>> again = implied_vol(su.params, out["chi"][1:], 7, 1, tau=0.1)  # path 1 drawn alone
    >>> v.shape, bool((v > 0).all()), bool((again == v[1:]).all())
    ((2, 5), True, True)
    """
    from cnfutures._kernels import paths as k

    checks = (("kappa_v", kappa_v, 0.0, 100.0), ("eta", eta, 0.0, 5.0), ("rho_v", rho_v, -1.0, 1.0))
    for name, val, lo, hi in checks:
        if not lo <= val <= hi:
            raise InputError(f"{name}={val!r} must lie in [{lo}, {hi}]")
    P, D = chi.shape
    z = np.empty((P, D))
    k.keyed_normals_nb(np.uint64(_seed(seed)), np.uint64(STREAM_VOL), np.uint64(path0),
                       np.arange(D, dtype=np.uint64), z)  # fmt: skip
    dt_ = 1.0 / TRADING_DAYS_PER_YEAR
    sd = params.sigma_chi * math.sqrt(dt_)
    zc = np.zeros((P, D))
    if sd > 0:  # the short-term factor's standardised shocks: dchi = -kappa chi dt + sigma_chi dW
        zc[:, 1:] = (np.diff(chi, axis=1) + params.kappa * chi[:, :-1] * dt_) / sd
    shock = rho_v * zc + math.sqrt(1.0 - rho_v * rho_v) * z
    a = math.exp(-kappa_v * dt_)
    b = eta * math.sqrt((1.0 - a * a) / (2.0 * kappa_v)) if kappa_v > 0 else eta * math.sqrt(dt_)
    x = np.zeros((P, D))
    for d in range(1, D):
        x[:, d] = a * x[:, d - 1] + b * shock[:, d]
    shift = eta * eta / (4.0 * kappa_v) if kappa_v > 0 else 0.0
    out: np.ndarray = model_vol(params, tau) * np.exp(x - shift)
    return out
