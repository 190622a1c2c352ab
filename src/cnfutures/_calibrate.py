"""Calibrate the two-factor sample-market model (:mod:`cnfutures.simulate`) to price data.

Two estimators, both plain numpy (no scipy):

* ``kind="contracts"`` - a per-contract panel (several contracts a day). For a given mean
  reversion ``kappa`` every day's cross-section of log settlements is linear,
  ``log F = exp(-kappa tau) chi_t + xi_t + carry tau``; ``chi_t`` and ``xi_t`` are solved per
  day and one ``carry`` for the whole sample (restricted least squares), and ``kappa`` is the
  minimiser of the total sum of squared residuals (coarse grid on ``log kappa``, then
  golden-section search). The recovered factor series give ``sigma_chi``, ``sigma_xi``,
  ``mu_xi`` and ``rho`` from their exact one-step discretisation.
* ``kind="continuous"`` - one price series (rolls marked by a ``contract`` column). The
  variance of ``k``-day log increments, ``V(h) = sigma_xi^2 h + B (1 - exp(-kappa h)) / kappa``
  with ``B = sigma_chi^2 + 2 rho sigma_chi sigma_xi``, is fitted to the sample variances.
  ``rho`` and ``carry`` are not identified from one series (set to 0).

Everything is deterministic; nothing is dropped silently (every exclusion is in ``notes``).
"""

from __future__ import annotations

import dataclasses
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import numpy as np
import polars as pl

from cnfutures._params import TRADING_DAYS_PER_YEAR, Params, default_params
from cnfutures.errors import CalendarOutOfBounds, DataError, InputError

__all__ = ["Calibration", "calibrate"]

_UNITS = {
    "kappa": "1/year",
    "sigma_chi": "1/sqrt(year)",
    "sigma_xi": "1/sqrt(year)",
    "mu_xi": "1/year",
    "rho": "-",
    "carry": "1/year",
    "chi0": "-",
    "s0": "CNY/unit",
}
_MIN_DAYS = 60
_CODE = re.compile(r"^\s*([A-Za-z]{1,2})\d{4}\s*$")


@dataclass(frozen=True)
class Calibration:
    """Result of :func:`calibrate`.

    Attributes
    ----------
    params : Params
        Calibrated model parameters; fields not estimated keep the product's defaults
        (:func:`cnfutures.simulate.default_params`).
    kind : str
        ``"contracts"`` or ``"continuous"`` (the estimator used).
    n_obs : int
        Days x paths used (per-path trading days with data).
    stderr : dict of str to float
        Approximate standard errors, in the parameter's unit (see the docs section
        "Calibration" for how each is computed).
    rmse : float [log price]
        Root mean squared residual of the cross-sectional fit (``"contracts"``); NaN for
        ``"continuous"`` (no price-level fit).
    notes : tuple of str
        Choices made, limitations and exclusions (e.g. increments across a roll).
    estimated : tuple of str
        Names of the parameters estimated from the data, in table order.
    """

    params: Params
    kind: str
    n_obs: int
    stderr: dict[str, float]
    rmse: float
    notes: tuple[str, ...]
    estimated: tuple[str, ...]

    def table(self) -> pl.DataFrame:
        """The estimated parameters as a frame: ``parameter, estimate, stderr, unit``.

        ``stderr`` is null where none is computed (``chi0``, ``s0``).

        Examples
        --------
        >>> from cnfutures._calibrate import Calibration
        >>> from cnfutures.simulate import Params
        >>> c = Calibration(Params(kappa=1.2), "contracts", 100, {"kappa": 0.1}, 0.001, (), ("kappa",))
        >>> c.table().row(0)
        ('kappa', 1.2, 0.1, '1/year')
        """
        return pl.DataFrame(
            {
                "parameter": list(self.estimated),
                "estimate": [float(getattr(self.params, n)) for n in self.estimated],
                "stderr": [self.stderr.get(n) for n in self.estimated],
                "unit": [_UNITS.get(n, "") for n in self.estimated],
            },
            schema={"parameter": pl.String, "estimate": pl.Float64, "stderr": pl.Float64, "unit": pl.String},
        )


# --------------------------------------------------------------------------- helpers


def _minimise_log(
    f: Callable[[float], float], lo: float, hi: float, n_grid: int = 31, tol: float = 1e-7
) -> tuple[float, bool]:
    """Minimise ``f(kappa)`` over ``[lo, hi]``: a grid on ``log kappa`` then golden-section
    search between the grid neighbours of the best point. Returns ``(kappa, at_bound)``."""
    u = np.linspace(math.log(lo), math.log(hi), n_grid)
    vals = np.array([f(math.exp(x)) for x in u])
    vals = np.where(np.isfinite(vals), vals, np.inf)
    i = int(np.argmin(vals))
    a, b = float(u[max(i - 1, 0)]), float(u[min(i + 1, n_grid - 1)])
    g = (math.sqrt(5.0) - 1.0) / 2.0
    c, d = b - g * (b - a), a + g * (b - a)
    fc, fd = f(math.exp(c)), f(math.exp(d))
    while b - a > tol:
        if fc <= fd:
            b, d, fd = d, c, fc
            c = b - g * (b - a)
            fc = f(math.exp(c))
        else:
            a, c, fc = c, d, fd
            d = a + g * (b - a)
            fd = f(math.exp(d))
    x = 0.5 * (a + b)
    best = math.exp(x) if f(math.exp(x)) <= vals[i] else math.exp(float(u[i]))
    at_bound = abs(math.log(best) - u[0]) < 1e-3 or abs(math.log(best) - u[-1]) < 1e-3
    return best, at_bound


def _value_column(frame: pl.DataFrame) -> str:
    for name in ("settle", "price"):
        if name in frame.columns:
            return name
    raise InputError(f"calibrate needs a 'settle' (or 'price') column; got {frame.columns}")


def _check_values(frame: pl.DataFrame, col: str) -> None:
    """Non-null, finite, positive prices; the error lists the offending row numbers."""
    v = frame[col].cast(pl.Float64)
    bad = frame.with_row_index("row").filter(v.is_null() | ~v.is_finite().fill_null(False) | (v <= 0.0))
    if bad.height:
        probs = [f"row {r['row']}: {col}={r[col]!r}" for r in bad.head(10).iter_rows(named=True)]
        raise DataError(
            f"{bad.height} {col} value(s) are missing, non-finite or <= 0 (first at row {bad['row'][0]}); "
            "log prices need finite positive values",
            probs,
        )


def _product_code(frame: pl.DataFrame, product: str | None) -> str | None:
    """The product: given, or the common letter prefix of the contract codes."""
    from cnfutures.market.products import product as get_product

    given = get_product(product).code if product is not None else None
    if "contract" not in frame.columns:
        return given
    prefixes = set()
    for code in frame["contract"].unique().drop_nulls().to_list():
        m = _CODE.match(str(code))
        if m is None:
            return given
        prefixes.add(m.group(1).lower())
    if given is not None:
        if prefixes - {given}:
            raise InputError(f"product={product!r} but the contract codes are of {sorted(prefixes)}")
        return given
    if len(prefixes) != 1:
        if len(prefixes) > 1:
            raise InputError(
                f"contracts of several products {sorted(prefixes)}; calibrate one product at a time"
            )
        return None
    return get_product(prefixes.pop()).code


def _step_index(frame: pl.DataFrame, product: str | None, notes: list[str]) -> pl.Series:
    """Trading-day index of each row's ``trading_day`` (one model step per exchange trading day)."""
    days = frame["trading_day"]
    if product is None:
        notes.append("no product known: one model step per distinct observed day (no calendar check)")
        return days.rank("dense").cast(pl.Int64) - 1
    from cnfutures.market.calendar import calendar
    from cnfutures.market.products import product as get_product

    cal = calendar(get_product(product).exchange)
    lo, hi = days.min(), days.max()
    all_days = cal.trading_days(lo, hi)  # type: ignore[arg-type]
    idx = pl.DataFrame({"trading_day": all_days}).with_row_index("step")
    j = frame.select("trading_day").join(idx, on="trading_day", how="left", maintain_order="left")["step"]
    if j.null_count():
        off = frame.filter(j.is_null())["trading_day"].unique().sort()
        raise DataError(
            f"{off.len()} trading_day value(s) are not {cal.exchange} trading days (first {off[0]}); "
            "the model steps once per exchange trading day",
            [str(d) for d in off.head(10).to_list()],
        )
    return j.cast(pl.Int64)


def _base_frame(frame: pl.DataFrame, product: str | None, notes: list[str]) -> tuple[pl.DataFrame, str]:
    if not isinstance(frame, pl.DataFrame):
        raise InputError(f"frame must be a polars DataFrame; got {type(frame).__name__}")
    if "trading_day" not in frame.columns:
        raise InputError(f"calibrate needs a 'trading_day' column; got {frame.columns}")
    if frame.schema["trading_day"] != pl.Date:
        raise InputError(f"trading_day must have dtype Date; got {frame.schema['trading_day']}")
    col = _value_column(frame)
    if frame.height == 0:
        raise DataError("the frame is empty; calibrate needs at least 60 trading days")
    if frame["trading_day"].null_count():
        r = int(frame.with_row_index("row").filter(pl.col("trading_day").is_null())["row"][0])
        raise DataError(f"trading_day is null at row {r}", [f"row {r}"])
    _check_values(frame, col)
    if "path" in frame.columns:
        if not frame.schema["path"].is_integer():
            raise InputError(f"path must have an integer dtype; got {frame.schema['path']}")
        if frame["path"].null_count():
            raise DataError("path has null values; give every row its path id")
        path = frame["path"].cast(pl.Int64)
    else:
        path = pl.Series("path", np.zeros(frame.height, dtype=np.int64))
    out = frame.with_columns(path.alias("path"), pl.col(col).cast(pl.Float64).log().alias("y"))
    if col == "price" and "settle" not in frame.columns:
        notes.append("prices taken from the 'price' column")
    return out, col


def _check_length(out: pl.DataFrame) -> None:
    per_path = out.group_by("path").agg(pl.col("trading_day").n_unique().alias("n")).sort("path")
    short = per_path.filter(pl.col("n") < _MIN_DAYS)
    if short.height:
        raise DataError(
            f"too short a sample: {short.height} path(s) have fewer than {_MIN_DAYS} trading days "
            f"(path {short['path'][0]} has {short['n'][0]})",
            [f"path {p}: {n} days" for p, n in short.iter_rows()],
        )


# --------------------------------------------------------------------------- contracts


@dataclass(frozen=True)
class _Cross:
    """Per-day cross-sectional fit for one ``kappa`` (arrays over day groups)."""

    ssr: float
    carry: float
    chi: np.ndarray
    xi: np.ndarray
    m_tt: np.ndarray  # per-day tau'M tau after partialling out (b, 1)
    s_bb: np.ndarray


def _cross_sections(g: np.ndarray, tau: np.ndarray, y: np.ndarray, kappa: float, n_groups: int) -> _Cross:
    """Fit ``y = b chi_g + xi_g + c tau`` with ``b = exp(-kappa tau)`` per day group ``g`` and one
    common ``c`` by restricted least squares (per-day normal equations via group sums)."""
    cnt = np.bincount(g, minlength=n_groups).astype(np.float64)

    def gmean(v: np.ndarray) -> np.ndarray:
        return np.bincount(g, weights=v, minlength=n_groups) / cnt

    def gsum(v: np.ndarray) -> np.ndarray:
        return np.bincount(g, weights=v, minlength=n_groups)

    b = np.exp(-kappa * tau)
    yb, tb, bb = gmean(y), gmean(tau), gmean(b)
    yc, tc, bc = y - yb[g], tau - tb[g], b - bb[g]
    s_bb = gsum(bc * bc)
    s_by, s_bt = gsum(bc * yc), gsum(bc * tc)
    m_yy = gsum(yc * yc) - s_by * s_by / s_bb
    m_tt = gsum(tc * tc) - s_bt * s_bt / s_bb
    m_ty = gsum(tc * yc) - s_bt * s_by / s_bb
    den = float(m_tt.sum())
    c = float(m_ty.sum()) / den if den > 0.0 else 0.0
    ssr = float(m_yy.sum()) - c * float(m_ty.sum())
    chi = (s_by - c * s_bt) / s_bb
    xi = yb - c * tb - chi * bb
    return _Cross(max(ssr, 0.0), c, chi, xi, m_tt, s_bb)


def _kappa_information(
    g: np.ndarray, tau: np.ndarray, kappa: float, fit: _Cross, n_groups: int
) -> np.ndarray:
    """Gauss-Newton information of (kappa, carry) after partialling out each day's (chi, xi):
    ``[[z'Mz, z'M tau], [tau'M z, tau'M tau]]`` with ``z = d(b chi)/d kappa = -tau b chi``."""
    cnt = np.bincount(g, minlength=n_groups).astype(np.float64)

    def gsum(v: np.ndarray) -> np.ndarray:
        return np.bincount(g, weights=v, minlength=n_groups)

    b = np.exp(-kappa * tau)
    z = -tau * b * fit.chi[g]
    bc = b - (gsum(b) / cnt)[g]
    zc = z - (gsum(z) / cnt)[g]
    tc = tau - (gsum(tau) / cnt)[g]
    s_bz, s_bt = gsum(bc * zc), gsum(bc * tc)
    m_zz = float((gsum(zc * zc) - s_bz * s_bz / fit.s_bb).sum())
    m_zt = float((gsum(zc * tc) - s_bz * s_bt / fit.s_bb).sum())
    return np.array([[m_zz, m_zt], [m_zt, float(fit.m_tt.sum())]])


def _factor_dynamics(
    path: np.ndarray, step: np.ndarray, chi: np.ndarray, xi: np.ndarray, kappa: float
) -> tuple[dict[str, float], dict[str, float], int]:
    """sigma_chi, sigma_xi, mu_xi, rho from factor series sorted by (path, step).

    A gap of ``h`` trading days uses the exact ``h``-step transition:
    ``chi_t = a^h chi_{t-h} + e``, ``Var e = s_chi^2 (1 - a^{2h}) / (1 - a^2)``;
    ``xi_t - xi_{t-h} = m h + u``, ``Var u = s_xi^2 h``;
    ``Cov(e, u) = rho s_chi s_xi (1 - a^h) / (1 - a)``.
    """

    dtau = 1.0 / TRADING_DAYS_PER_YEAR
    a = math.exp(-kappa * dtau)
    same = path[1:] == path[:-1]
    h = (step[1:] - step[:-1])[same].astype(np.float64)
    ah = a**h
    e = (chi[1:] - a ** (step[1:] - step[:-1]) * chi[:-1])[same]
    dxi = (xi[1:] - xi[:-1])[same]
    n = int(h.size)
    geo = (1.0 - a ** (2.0 * h)) / (1.0 - a * a)
    s_chi = math.sqrt(float(np.mean(e * e / geo)))
    m = float(dxi.sum() / h.sum())
    u = dxi - m * h
    s_xi = math.sqrt(float(np.sum(u * u / h)) / (n - 1))
    lin = (1.0 - ah) / (1.0 - a)
    rho = float(np.sum(e * u) / (np.sum(lin) * s_chi * s_xi)) if s_chi > 0 and s_xi > 0 else 0.0
    rho = min(max(rho, -1.0), 1.0)
    sigma_chi = s_chi / math.sqrt((1.0 - a * a) / (2.0 * kappa))
    sigma_xi = s_xi / math.sqrt(dtau)
    mu_xi = m / dtau + 0.5 * sigma_xi**2
    years = float(h.sum()) * dtau
    est = {"sigma_chi": sigma_chi, "sigma_xi": sigma_xi, "mu_xi": mu_xi, "rho": rho}
    se = {
        "sigma_chi": sigma_chi / math.sqrt(2.0 * n),
        "sigma_xi": sigma_xi / math.sqrt(2.0 * n),
        "mu_xi": sigma_xi / math.sqrt(years),
        "rho": (1.0 - rho * rho) / math.sqrt(n),
    }
    return est, se, n


def _calibrate_contracts(
    out: pl.DataFrame,
    product: str | None,
    kappa_bounds: tuple[float, float],
    min_contracts: int,
    notes: list[str],
) -> tuple[dict[str, float], dict[str, float], int, float, tuple[str, ...]]:
    if "contract" not in out.columns:
        raise InputError(f"kind='contracts' needs a 'contract' column; got {out.columns}")
    if out["contract"].null_count():
        i = int(out.with_row_index("row").filter(pl.col("contract").is_null())["row"][0])
        raise DataError(f"contract is null at row {i}", [f"row {i}"])
    dup = out.select("path", "trading_day", "contract").is_duplicated()
    if dup.any():
        r = out.filter(dup).row(0, named=True)
        raise DataError(
            f"{int(dup.sum())} rows repeat a (path, trading_day, contract); first {r['contract']} on "
            f"{r['trading_day']} (path {r['path']}); give one settlement per contract and day",
        )
    if "last_trading_day" not in out.columns:
        from cnfutures.market.contracts import contract

        codes = out["contract"].unique().sort()
        ltds = []
        for c in codes.to_list():
            try:
                ltds.append(contract(str(c)).last_trading_day)
            except CalendarOutOfBounds as exc:
                raise CalendarOutOfBounds(
                    f"the last trading day of {c} is not known ({exc}); pass a 'last_trading_day' column"
                ) from exc
        ltd = pl.DataFrame(
            {"contract": codes, "last_trading_day": ltds},
            schema={"contract": out.schema["contract"], "last_trading_day": pl.Date},
        )
        out = out.join(ltd, on="contract", how="left", maintain_order="left")
        notes.append("last trading days derived from the contract codes (cnfutures.contract)")
    elif out["last_trading_day"].null_count():
        i = int(out.with_row_index("row").filter(pl.col("last_trading_day").is_null())["row"][0])
        raise DataError(f"last_trading_day is null at row {i}", [f"row {i}"])
    elif out.schema["last_trading_day"] != pl.Date:
        raise InputError(f"last_trading_day must have dtype Date; got {out.schema['last_trading_day']}")
    out = out.with_columns(
        ((pl.col("last_trading_day") - pl.col("trading_day")).dt.total_days() / 365.0).alias("tau")
    )
    neg = out.with_row_index("row").filter(pl.col("tau") < 0)
    if neg.height:
        r = neg.row(0, named=True)
        raise DataError(
            f"{neg.height} row(s) trade after their last trading day (first row {r['row']}: {r['contract']} "
            f"on {r['trading_day']}, last trading day {r['last_trading_day']})",
            [f"row {x['row']}" for x in neg.head(10).iter_rows(named=True)],
        )
    counts = out.group_by("path", "trading_day").agg(pl.len().alias("n")).sort("path", "trading_day")
    few = counts.filter(pl.col("n") < min_contracts)
    if few.height:
        first = few.row(0, named=True)
        raise DataError(
            f"{few.height} day(s) have fewer than min_contracts={min_contracts} contracts (first "
            f"{first['trading_day']}, path {first['path']}: {first['n']}); the cross-section needs at "
            "least 3 (chi, xi and the carry's share); lower min_contracts (>= 3) or remove those days",
            [f"{d} (path {p}): {n} contracts" for p, d, n in few.head(20).iter_rows()],
        )
    _check_length(out)
    step = _step_index(out, product, notes)
    out = out.with_columns(step.alias("step")).sort("path", "step", "contract")
    new = ((out["path"] != out["path"].shift(1)) | (out["step"] != out["step"].shift(1))).fill_null(True)
    g = new.cast(pl.Int64).cum_sum().to_numpy().astype(np.int64) - 1
    n_groups = int(g[-1]) + 1
    tau = out["tau"].to_numpy().astype(np.float64)
    y = out["y"].to_numpy().astype(np.float64)
    firsts = out.filter(new)
    path_g = firsts["path"].to_numpy()
    step_g = firsts["step"].to_numpy().astype(np.int64)

    def ssr(k: float) -> float:
        return _cross_sections(g, tau, y, k, n_groups).ssr

    kappa, at_bound = _minimise_log(ssr, *kappa_bounds)
    if at_bound:
        notes.append(f"kappa={kappa:.4g} sits at a bound of kappa_bounds={kappa_bounds}; widen them")
    fit = _cross_sections(g, tau, y, kappa, n_groups)
    n_rows = y.size
    dof = n_rows - 2 * n_groups - 2
    s2 = fit.ssr / dof if dof > 0 else float("nan")
    info = _kappa_information(g, tau, kappa, fit, n_groups)
    try:
        cov = s2 * np.linalg.inv(info)
        se_kappa, se_carry = math.sqrt(max(cov[0, 0], 0.0)), math.sqrt(max(cov[1, 1], 0.0))
    except np.linalg.LinAlgError:
        se_kappa = se_carry = float("nan")
    est, se, n_innov = _factor_dynamics(path_g, step_g, fit.chi, fit.xi, kappa)
    first = np.r_[True, path_g[1:] != path_g[:-1]]
    chi0 = float(np.mean(fit.chi[first]))
    x0 = float(np.mean(fit.chi[first] + fit.xi[first]))
    est.update(kappa=kappa, carry=fit.carry, chi0=chi0, s0=math.exp(x0))
    se.update(kappa=se_kappa, carry=se_carry)
    notes.append(
        "carry: one common carry fitted jointly with each day's (chi, xi) (restricted least squares; "
        "the model's carry is constant)"
    )
    notes.append(
        "stderr: kappa and carry from the Gauss-Newton information of the profile fit (assumes "
        "independent residuals); vols sigma/sqrt(2n), rho (1-rho^2)/sqrt(n), mu_xi sigma_xi/sqrt(years) "
        f"(n={n_innov} daily innovations)"
    )
    if "limit_locked" in out.columns:
        share = float(out["limit_locked"].cast(pl.Float64).fill_null(0.0).sum()) / out.height
        if share > 0:
            notes.append(
                f"{share:.2%} of settlements are limit-locked and fitted like any other settlement "
                "(they are not model prices; exclude_locked=True leaves them out)"
            )
    order = ("kappa", "sigma_chi", "sigma_xi", "mu_xi", "rho", "carry", "chi0", "s0")
    rmse = math.sqrt(fit.ssr / n_rows)
    return est, se, n_groups, rmse, order


# --------------------------------------------------------------------------- continuous


def _lag_moments(
    x: np.ndarray, seg: np.ndarray, max_lag: int, block: np.ndarray, n_blocks: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per lag ``k`` and block: count, sum and sum of squares of valid ``k``-step increments
    (both ends observed and in the same segment); shape ``[K, n_blocks]``."""
    cnt = np.zeros((max_lag, n_blocks))
    s1 = np.zeros((max_lag, n_blocks))
    s2 = np.zeros((max_lag, n_blocks))
    for k in range(1, max_lag + 1):
        d = x[k:] - x[:-k]
        ok = np.isfinite(d) & (seg[k:] == seg[:-k])
        bk = block[:-k][ok]
        dk = d[ok]
        cnt[k - 1] = np.bincount(bk, minlength=n_blocks)
        s1[k - 1] = np.bincount(bk, weights=dk, minlength=n_blocks)
        s2[k - 1] = np.bincount(bk, weights=dk * dk, minlength=n_blocks)
    return cnt, s1, s2


def _fit_variance(
    cnt: np.ndarray, s1: np.ndarray, s2: np.ndarray, kappa_bounds: tuple[float, float]
) -> tuple[float, float, float, float, bool]:
    """Fit ``V(h)/h = sigma_xi^2 + B (1 - exp(-kappa h)) / (kappa h)`` to the lag variances.

    ``cnt, s1, s2`` are totals per lag. The drift per step ``m`` comes from the 1-step
    increments; ``V_k = sum (d - k m)^2 / (n_k (1 - k / N))`` (unbiased for a random walk).
    Weighted least squares with weights ``1/k`` (the sampling variance of ``V_k / k`` grows
    about linearly in ``k``). Returns ``(kappa, sigma_xi2, B, m, at_bound)``.
    """

    dtau = 1.0 / TRADING_DAYS_PER_YEAR
    n1 = cnt[0]
    m = s1[0] / n1
    k = np.arange(1, cnt.size + 1, dtype=np.float64)
    ok = cnt > 1
    k, cnt_, s1_, s2_ = k[ok], cnt[ok], s1[ok], s2[ok]
    dev = s2_ - 2.0 * k * m * s1_ + k * k * m * m * cnt_
    v = dev / (cnt_ * np.maximum(1.0 - k / n1, 1e-12))
    h = k * dtau
    r = v / h
    w = 1.0 / k

    def solve(kappa: float) -> tuple[float, float, float]:
        phi = (1.0 - np.exp(-kappa * h)) / (kappa * h)
        sw, s_p, s_pp = w.sum(), (w * phi).sum(), (w * phi * phi).sum()
        s_r, s_pr = (w * r).sum(), (w * phi * r).sum()
        det = sw * s_pp - s_p * s_p
        sx2 = (s_pp * s_r - s_p * s_pr) / det
        bb = (sw * s_pr - s_p * s_r) / det
        if sx2 < 0.0:  # sigma_xi^2 >= 0: fit B alone
            sx2, bb = 0.0, s_pr / s_pp
        res = r - sx2 - bb * phi
        return float((w * res * res).sum()), float(sx2), float(bb)

    kappa, at_bound = _minimise_log(lambda q: solve(q)[0], *kappa_bounds)
    _, sx2, bb = solve(kappa)
    return kappa, sx2, bb, float(m), at_bound


def _calibrate_continuous(
    out: pl.DataFrame,
    product: str | None,
    kappa_bounds: tuple[float, float],
    max_lag: int | None,
    notes: list[str],
) -> tuple[dict[str, float], dict[str, float], int, float, tuple[str, ...]]:

    dtau = 1.0 / TRADING_DAYS_PER_YEAR
    dup = out.select("path", "trading_day").is_duplicated()
    if dup.any():
        r = out.filter(dup).row(0, named=True)
        raise DataError(
            f"{int(dup.sum())} rows repeat a (path, trading_day) (first {r['trading_day']}, "
            f"path {r['path']}); a continuous series has one price a day (use kind='contracts' for a panel)",
        )
    _check_length(out)
    step = _step_index(out, product, notes)
    out = out.with_columns(step.alias("step")).sort("path", "step")
    if "contract" in out.columns:
        if out["contract"].null_count():
            raise DataError("contract has null values; mark every row's contract (or drop the column)")
        change = (out["contract"] != out["contract"].shift(1)) | (out["path"] != out["path"].shift(1))
        seg_row = change.fill_null(True).cast(pl.Int64).cum_sum().to_numpy()
        n_rolls = int(seg_row[-1]) - out["path"].n_unique()
        notes.append(f"{n_rolls} roll(s): increments spanning a change of contract are not used")
    else:
        seg_row = out["path"].rank("dense").cast(pl.Int64).to_numpy()
    # dense layout: every path's trading-day steps, NaN where there is no observation
    paths = out["path"].to_numpy()
    # out is sorted by (path, step): the k-th path's rows are contiguous
    pid = (out["path"] != out["path"].shift(1)).fill_null(True).cast(pl.Int64).cum_sum().to_numpy() - 1
    steps = out["step"].to_numpy().astype(np.int64)
    n_p = int(pid[-1]) + 1
    lo_p = np.full(n_p, np.iinfo(np.int64).max)
    hi_p = np.full(n_p, np.iinfo(np.int64).min)
    np.minimum.at(lo_p, pid, steps)
    np.maximum.at(hi_p, pid, steps)
    lens = hi_p - lo_p + 1
    offs = np.r_[0, np.cumsum(lens)[:-1]]
    pos = steps - lo_p[pid] + offs[pid]
    total = int(lens.sum())
    x = np.full(total, np.nan)
    x[pos] = out["y"].to_numpy()
    seg = np.full(total, -1, dtype=np.int64)
    seg[pos] = seg_row
    # fill segment ids forward inside a path so gaps keep their segment (x stays NaN there)
    idx = np.where(seg >= 0, np.arange(total), 0)
    np.maximum.accumulate(idx, out=idx)
    seg = seg[idx]
    per_path = int(lens.min())
    K = max_lag if max_lag is not None else max(per_path // 4, min(60, per_path // 2))
    if not 2 <= K < per_path:
        raise InputError(
            f"max_lag={K} must be in [2, {per_path - 1}] (the shortest path has {per_path} steps)"
        )
    n_blocks = 10
    block = np.minimum(np.arange(total) * n_blocks // total, n_blocks - 1).astype(np.int64)
    cnt, s1, s2 = _lag_moments(x, seg, K, block, n_blocks)
    kappa, sx2, bb, m, at_bound = _fit_variance(cnt.sum(1), s1.sum(1), s2.sum(1), kappa_bounds)
    if at_bound:
        notes.append(f"kappa={kappa:.4g} sits at a bound of kappa_bounds={kappa_bounds}; widen them")

    def to_params(kap: float, sx2_: float, b_: float, m_: float) -> dict[str, float]:
        return {
            "kappa": kap,
            "sigma_xi": math.sqrt(sx2_),
            "sigma_chi": math.sqrt(max(b_, 0.0)),
            "mu_xi": m_ / dtau + 0.5 * sx2_,
        }

    est = to_params(kappa, sx2, bb, m)
    # delete-a-block jackknife over 10 contiguous blocks of time (and paths)
    reps = []
    for j in range(n_blocks):
        keep = np.arange(n_blocks) != j
        reps.append(
            to_params(
                *_fit_variance(cnt[:, keep].sum(1), s1[:, keep].sum(1), s2[:, keep].sum(1), kappa_bounds)[:4]
            )
        )
    se: dict[str, float] = {}
    for name in est:
        v = np.array([rp[name] for rp in reps])
        se[name] = math.sqrt((n_blocks - 1) / n_blocks * float(np.sum((v - v.mean()) ** 2)))
    if bb < 0.0:
        notes.append(
            f"B = sigma_chi^2 + 2 rho sigma_chi sigma_xi was estimated negative ({bb:.4g}); with rho=0 "
            "it cannot be represented, so sigma_chi = 0"
        )
    if sx2 == 0.0:
        notes.append("sigma_xi^2 hit its lower bound 0 in the variance fit")
    first = np.r_[True, paths[1:] != paths[:-1]]
    x0 = float(np.mean(out["y"].to_numpy()[first]))
    est.update(rho=0.0, carry=0.0, chi0=0.0, s0=math.exp(x0))
    notes.append(
        f"continuous series: kappa, sigma_xi^2 and B = sigma_chi^2 + 2 rho sigma_chi sigma_xi fitted to the "
        f"variance of k-day log increments, k = 1..{K} ({cnt[0].sum():.0f} one-day increments)"
    )
    notes.append(
        "rho is not identified from one series: rho=0 and sigma_chi = sqrt(B) is an effective value "
        "(on a futures series it is further scaled by exp(-kappa tau) of the contract held)"
    )
    notes.append("carry is not identified from one series: carry=0; chi0=0 and s0 = first price")
    notes.append(
        "mu_xi = mean daily log change / dt + sigma_xi^2/2; on a futures series it includes the roll-down "
        "(-carry) of the contract held"
    )
    notes.append("stderr: delete-a-block jackknife over 10 contiguous blocks of the sample")
    order = ("kappa", "sigma_chi", "sigma_xi", "mu_xi", "s0")
    return est, se, int(np.isfinite(x).sum()), float("nan"), order


# --------------------------------------------------------------------------- public


def _drop_locked(frame: pl.DataFrame, min_contracts: int, notes: list[str]) -> pl.DataFrame:
    """Leave out limit-locked rows, and the days that this leaves with fewer than
    ``min_contracts`` contracts (only days that had a locked row); both counts go to notes."""
    if frame.schema["limit_locked"] != pl.Boolean:
        raise InputError(f"limit_locked must have dtype Boolean; got {frame.schema['limit_locked']}")
    keys = [c for c in ("path", "trading_day") if c in frame.columns]
    locked = pl.col("limit_locked").fill_null(False)
    marked = frame.with_columns(
        (~locked).sum().over(keys).alias("_kept"), locked.any().over(keys).alias("_hit")
    )
    thin = (pl.col("_kept") < min_contracts) & pl.col("_hit")
    n_days = marked.filter(thin).select(keys).unique().height if "contract" in frame.columns else 0
    out = marked.filter(~locked & ~(thin & pl.lit("contract" in frame.columns))).drop("_kept", "_hit")
    notes.append(
        f"exclude_locked: {frame.height - out.height} of {frame.height} row(s) left out: the "
        "limit-locked ones"
        + (f" and the other rows of {n_days} day(s) left with < {min_contracts} contracts" if n_days else "")
    )
    return out


def calibrate(
    frame: pl.DataFrame,
    *,
    product: str | None = None,
    kind: Literal["auto", "contracts", "continuous"] = "auto",
    kappa_bounds: tuple[float, float] = (0.05, 20.0),
    min_contracts: int = 4,
    max_lag: int | None = None,
    exclude_locked: bool = False,
) -> Calibration:
    """Calibrate the two-factor model of :func:`cnfutures.simulate.market` to daily prices.

    Parameters
    ----------
    frame : polars.DataFrame
        ``trading_day`` (Date), ``settle`` (or ``price``) [CNY/unit], optional ``path``
        (independent series, never mixed). For ``"contracts"`` also ``contract`` and optionally
        ``last_trading_day`` (else derived from the codes). For ``"continuous"`` an optional
        ``contract`` marks rolls: increments across a change of contract are not used.
    product : str, optional
        Product code; default: from the contract codes. It selects the exchange calendar (one
        model step per trading day; gaps use the exact multi-step transition) and the defaults
        of the parameters not estimated.
    kind : {"auto", "contracts", "continuous"}
        ``"auto"``: ``"contracts"`` when there is a ``contract`` column and some day has more
        than one contract, else ``"continuous"``.
    kappa_bounds : (float, float) [1/year]
        Search interval of the mean-reversion speed.
    min_contracts : int
        Fewest contracts a day in ``"contracts"`` mode (>= 3); fewer raises a DataError that
        lists the days.
    exclude_locked : bool
        Leave out rows whose ``limit_locked`` column is true (a settlement clipped to the
        price limit is not the model price); needs that column. The count goes to ``notes``.
    max_lag : int, optional
        Largest lag ``K`` [trading days] of the ``"continuous"`` variance fit (default
        a quarter of the shortest path, at least ``min(60, n_days // 2)``).

    Returns
    -------
    Calibration
        ``params`` (a :class:`~cnfutures.simulate.Params` built from the product's defaults),
        ``stderr``, ``rmse``, ``n_obs``, ``notes`` and :meth:`Calibration.table`.

    Raises
    ------
    InputError
        Missing columns, unknown ``kind``, bad ``kappa_bounds``/``min_contracts``/``max_lag``.
    DataError
        Non-positive, non-finite or missing prices (row numbers listed), duplicate rows,
        days with fewer than ``min_contracts`` contracts, fewer than 60 trading days,
        days that are not exchange trading days.

    Examples
    --------
    >>> from cnfutures._calibrate import calibrate
    >>> from cnfutures.simulate import Params, market
    >>> truth = Params(s0=14000.0, kappa=1.5, sigma_chi=0.3, sigma_xi=0.2, rho=0.3, carry=0.02)
    >>> f = market("ru", "2015-01-05", n_days=250, seed=3, params=truth)
    >>> cal = calibrate(f.select("trading_day", "contract", "settle"))
    >>> cal.kind, cal.n_obs, round(cal.params.kappa, 1), round(cal.params.carry, 2)
    ('contracts', 250, 1.5, 0.02)
    >>> cal.table()["parameter"].to_list()[:3]
    ['kappa', 'sigma_chi', 'sigma_xi']
    """

    if kind not in ("auto", "contracts", "continuous"):
        raise InputError(f"kind={kind!r} is not one of 'auto', 'contracts', 'continuous'")
    try:
        lo, hi = (float(kappa_bounds[0]), float(kappa_bounds[1]))
    except (TypeError, ValueError, IndexError) as exc:
        raise InputError(f"kappa_bounds={kappa_bounds!r} must be two numbers (lo, hi)") from exc
    if not (math.isfinite(lo) and math.isfinite(hi) and 0.0 < lo < hi) or len(kappa_bounds) != 2:
        raise InputError(f"kappa_bounds={kappa_bounds!r} must be (lo, hi) with 0 < lo < hi, finite [1/year]")
    if not isinstance(min_contracts, int) or min_contracts < 3:
        raise InputError(f"min_contracts={min_contracts!r} must be an integer >= 3")
    if max_lag is not None and (not isinstance(max_lag, int) or max_lag < 2):
        raise InputError(f"max_lag={max_lag!r} must be an integer >= 2 (trading days)")
    notes: list[str] = []
    if exclude_locked:
        if "limit_locked" not in frame.columns:
            raise InputError(f"exclude_locked=True needs a 'limit_locked' column; got {frame.columns}")
        frame = _drop_locked(frame, min_contracts, notes)
    out, _ = _base_frame(frame, product, notes)
    code = _product_code(out, product)
    if kind == "auto":
        several = "contract" in out.columns and bool(
            out.group_by("path", "trading_day").agg(pl.len().alias("n"))["n"].max() > 1  # type: ignore[operator]
        )
        kind = "contracts" if several else "continuous"
        notes.append(f"kind='auto' chose {kind!r}")
    if kind == "contracts":
        est, se, n_obs, rmse, order = _calibrate_contracts(out, code, (lo, hi), min_contracts, notes)
    else:
        est, se, n_obs, rmse, order = _calibrate_continuous(out, code, (lo, hi), max_lag, notes)
    base = default_params(code) if code is not None else Params()
    params = dataclasses.replace(base, **est)
    return Calibration(
        params=params,
        kind=kind,
        n_obs=n_obs,
        stderr={k: float(v) for k, v in se.items()},
        rmse=rmse,
        notes=tuple(notes),
        estimated=order,
    )
