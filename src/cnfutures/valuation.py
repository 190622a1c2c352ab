"""Valuation of option positions on a day: premium, Greeks and short margin, with the pricing core.

The option contracts and their rules come from :mod:`cnfutures.market.options`; the prices from
:mod:`cnfutures.pricing`: an American option (sc, i and ru options are all American) is priced with
:func:`~cnfutures.pricing.american` (Barone-Adesi-Whaley by default; any of its methods), a European
one with :func:`~cnfutures.pricing.black76`. Time to expiry is ACT/365 from the valuation day to the
option's expiry day on the exchange calendar (``(expiry - on).days / 365``); on the expiry day
itself the option is worth its exercise value.

Volatility is an input (one number, or one per option), or implied from the option's settlement
price with the option's own model (for an American option, the volatility at which the model
price equals the settlement; bisection on the model, which is increasing in volatility).

Greeks are per unit of the underlying [CNY/unit] in the conventions of
:func:`~cnfutures.pricing.black76_greeks` (delta = dV/dF, gamma = d2V/dF2, vega per 1.00 of
sigma, theta = -dV/dT per calendar day): analytic for Black-76, central finite differences of the
same model for American options (bumps: F ± 1e-3 F sigma sqrt(T), sigma ± 1e-4, T ± 0.1 %).

Examples
--------
>>> f = value_options({"sc2509C490": 10}, "2025-06-03", {"sc2509": 480.3}, r=0.015, sigma=0.35)
>>> f.select("option", "t", pl.col("price").round(4), pl.col("delta").round(4)).row(0)
('sc2509C490', 0.19452054794520549, 25.183, 0.4779)
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import polars as pl

from cnfutures._dates import DateLike
from cnfutures.errors import InputError, PricingError
from cnfutures.market.options import OptionContract, option, option_margin
from cnfutures.market.rules import RuleBook

__all__ = ["american_greeks", "implied_vol_american", "time_to_expiry", "value_options"]

_H_F = 1e-3  # bump of F for delta and gamma, relative to F sigma sqrt(T)
_H_SIGMA = 1e-4  # absolute bump of sigma for vega
_H_T = 1e-3  # relative bump of T for theta
_SIGMA_LO, _SIGMA_HI = 1e-4, 5.0  # bracket of the implied-volatility search [decimal per sqrt(year)]


def time_to_expiry(opt: str | OptionContract, on: DateLike) -> float:
    """Time from the valuation day to the option's expiry [years, ACT/365].

    Raises
    ------
    UnknownContract
        The option does not trade on ``on`` (before listing, after expiry).

    Examples
    --------
    >>> time_to_expiry("sc2509C490", "2025-08-13"), round(time_to_expiry("sc2509C490", "2025-08-12"), 6)
    (0.0, 0.00274)
    """
    o = opt if isinstance(opt, OptionContract) else option(opt)
    d = o.require_listed(on)
    return (o.expiry - d).days / 365.0


def _american(F: Any, K: Any, T: Any, r: Any, s: Any, w: Any, method: str) -> np.ndarray:
    from cnfutures import pricing

    out: np.ndarray = np.atleast_1d(
        np.asarray(pricing.american(F, K, T, r, s, w, method=method), dtype=np.float64)
    )
    return out


def american_greeks(
    F: Any, K: Any, T: Any, r: Any, sigma: Any, kind: Any = "call", *, method: str = "baw"
) -> pl.DataFrame:
    """Price and Greeks of American options on futures, one row per option.

    Central finite differences of :func:`cnfutures.pricing.american` with the same ``method``:
    delta and gamma from ``F (1 ± 1e-3 sigma sqrt(T))``, vega from ``sigma ± 1e-4``, theta from
    ``T (1 ± 1e-3)``
    (per calendar day, ``-dV/dT / 365``). Columns and units as :func:`~cnfutures.pricing.black76_greeks`
    (``price``, ``delta``, ``gamma``, ``vega``, ``theta``).

    Parameters
    ----------
    F, K : float or array [CNY/unit]
    T : float or array [years, ACT/365], > 0
    r : float or array [decimal per year, continuous]
    sigma : float or array [decimal per sqrt(year)], > 2e-4
    kind : {"call", "put"}, +1/-1, or an array of them
    method : str
        A method of :func:`~cnfutures.pricing.american`.

    Examples
    --------
    With ``r = 0`` there is no early exercise: the Black-76 Greeks ``N(d1)`` = 0.542235 ...

    >>> g = american_greeks(100.0, 100.0, 0.5, 0.0, 0.3, "call")
    >>> [round(g[c][0], 5) for c in ("delta", "gamma", "vega")]
    [0.54223, 0.0187, 28.05125]
    """
    from cnfutures.pricing import _kind_to_w

    arrs = np.broadcast_arrays(*(np.atleast_1d(np.asarray(x, dtype=np.float64)) for x in (F, K, T, r, sigma)))
    f, k, t, rr, s = (np.ascontiguousarray(a) for a in arrs)
    w = np.broadcast_to(_kind_to_w(kind), f.shape).astype(np.float64)
    if np.any(~(t > 0)) or np.any(~(s > 2 * _H_SIGMA)):
        raise PricingError("american_greeks: T must be > 0 and sigma > 2e-4 (finite-difference bumps)")
    v = _american(f, k, t, rr, s, w, method)
    hf = _H_F * f * np.minimum(s * np.sqrt(t), 1.0)  # a thousandth of the one-sd move
    up = _american(f + hf, k, t, rr, s, w, method)
    dn = _american(f - hf, k, t, rr, s, w, method)
    vega = (
        _american(f, k, t, rr, s + _H_SIGMA, w, method) - _american(f, k, t, rr, s - _H_SIGMA, w, method)
    ) / (2 * _H_SIGMA)
    ht = _H_T * t
    theta = (
        -(_american(f, k, t + ht, rr, s, w, method) - _american(f, k, t - ht, rr, s, w, method))
        / (2 * ht)
        / 365
    )
    return pl.DataFrame(
        {"price": v, "delta": (up - dn) / (2 * hf), "gamma": (up - 2 * v + dn) / (hf * hf), "vega": vega,
         "theta": theta}
    )  # fmt: skip


def implied_vol_american(
    price: Any, F: Any, K: Any, T: Any, r: Any, kind: Any = "call", *, method: str = "baw"
) -> np.ndarray:
    """Volatility at which the American model price equals ``price`` [decimal per sqrt(year)].

    Bisection on ``sigma`` in [1e-4, 5] (the model price increases with sigma), 100 halvings:
    the bracket shrinks below 1e-15 relative, so the result reprices to ``price`` within the
    model's own accuracy.

    Raises
    ------
    PricingError
        Naming the first option whose price is at or below its exercise value (no volatility
        is implied: an American option is never worth less than exercising it now), or outside
        the prices of sigma in [1e-4, 5].

    Examples
    --------
    >>> p = float(_american(100.0, 100.0, 0.5, 0.1, 0.25, 1.0, "baw")[0])
    >>> round(float(implied_vol_american(p, 100.0, 100.0, 0.5, 0.1, "call")[0]), 12)
    0.25
    """
    from cnfutures.pricing import _kind_to_w

    arrs = np.broadcast_arrays(*(np.atleast_1d(np.asarray(x, dtype=np.float64)) for x in (price, F, K, T, r)))
    p, f, k, t, rr = (np.ascontiguousarray(a) for a in arrs)
    w = np.broadcast_to(_kind_to_w(kind), p.shape).astype(np.float64)
    bad = ~(np.isfinite(p) & (t > 0) & (f > 0) & (k > 0))
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise PricingError(f"implied_vol_american: option {i}: price, F, K must be finite and > 0, T > 0")
    intrinsic = np.maximum(w * (f - k), 0.0)
    lo = np.full(p.shape, _SIGMA_LO)
    hi = np.full(p.shape, _SIGMA_HI)
    p_lo = _american(f, k, t, rr, lo, w, method)
    p_hi = _american(f, k, t, rr, hi, w, method)
    bad = (p <= intrinsic) | (p < p_lo) | (p > p_hi)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        why = (
            f"is at or below the exercise value {intrinsic[i]:.10g}"
            if p[i] <= intrinsic[i]
            else f"is outside the model prices [{p_lo[i]:.10g}, {p_hi[i]:.10g}] for sigma in [1e-4, 5]"
        )
        raise PricingError(
            f"implied_vol_american: option {i}: price {p[i]:.10g} {why}; no volatility is implied"
        )
    for _ in range(100):
        mid = 0.5 * (lo + hi)
        above = _american(f, k, t, rr, mid, w, method) > p
        hi = np.where(above, mid, hi)
        lo = np.where(above, lo, mid)
    out: np.ndarray = 0.5 * (lo + hi)
    return out


def _per_option(x: Any, codes: list[str], name: str) -> np.ndarray:
    """A scalar, or a mapping with every option code (given in any accepted spelling)."""
    if isinstance(x, Mapping):
        norm = {option(str(c)).code: v for c, v in x.items()}
        missing = [c for c in codes if c not in norm]
        if missing:
            raise InputError(f"{name} has no value for {', '.join(missing)}; give one per option")
        vals = [norm[c] for c in codes]
    else:
        vals = [x] * len(codes)
    out = np.array([math.nan if v is None else v for v in vals], dtype=np.float64)
    return out


def value_options(
    positions: Mapping[str, float] | pl.DataFrame,
    on: DateLike,
    underlying_settle: Mapping[str, float],
    *,
    r: float,
    sigma: float | Mapping[str, float] | None = None,
    option_settle: Mapping[str, float] | None = None,
    method: str = "baw",
    hedge: bool = False,
    book: RuleBook | None = None,
) -> pl.DataFrame:
    """Value option positions at the settlement of ``on``: premium, Greeks, short margin.

    Parameters
    ----------
    positions : mapping of option code to lots, or a DataFrame with ``option`` and ``lots``
        Signed lots: + bought, - written (sold).
    on : date or str
        Valuation day (a trading day on which every option trades).
    underlying_settle : mapping of futures code to settlement [CNY/unit]
        The underlying's settlement on ``on``; one per underlying.
    r : float [decimal per year, continuous]
        Discount rate (CNY).
    sigma : float or mapping of option code to float [decimal per sqrt(year)], optional
        Volatility. Without it, ``option_settle`` is needed: the implied volatility of the
        settlement is used.
    option_settle : mapping of option code to its settlement [CNY/unit], optional
        The exchange settlement: the short margin is charged on it (the exchanges' rule); without
        it, the margin uses the model price and ``margin_basis`` says ``"model"``.
    method : str
        :func:`~cnfutures.pricing.american` method for American options.
    hedge : bool
        Hedging futures margin rate in the short-option margin.
    book : RuleBook, optional
        Rules (default: the bundled ones).

    Returns
    -------
    polars.DataFrame
        One row per position: ``option``, ``underlying``, ``kind``, ``strike``, ``style``,
        ``expiry``, ``t`` [years], ``lots``, ``multiplier`` [unit/lot], ``F`` [CNY/unit],
        ``sigma``, ``sigma_source`` (``"input"``, ``"implied"`` or ``"expiry"``), ``price``
        [CNY/unit], ``premium`` [CNY/lot], ``value`` = lots × premium [CNY], Greeks per unit
        ``delta``, ``gamma``, ``vega``, ``theta``; per position ``delta_lots`` (lots × delta:
        futures lots equivalent), ``vega_cny`` [CNY per 1.00 of sigma], ``theta_cny``
        [CNY/day]; ``margin_per_lot`` (what one short lot needs) [CNY/lot], ``margin`` (written
        lots × margin_per_lot) [CNY], ``margin_basis``, ``margin_verified``.

    Raises
    ------
    UnknownContract
        A bad option code, or an option not trading on ``on``.
    InputError
        A missing underlying settlement or volatility, non-finite lots.
    PricingError
        A settlement with no implied volatility (at or below exercise value), bad model inputs.

    Examples
    --------
    A collar on crude: buy 10 calls at 520, write 10 puts at 440 on sc2509, 2025-06-03.

    >>> f = value_options({"sc2509C520": 10, "sc2509P440": -10}, "2025-06-03", {"sc2509": 480.3},
    ...                   r=0.015, sigma=0.35)
    >>> f.select("option", pl.col("value").round(0), pl.col("margin").round(0)).rows()
    [('sc2509C520', 148568.0, 0.0), ('sc2509P440', -125586.0, 452416.0)]
    """
    if isinstance(positions, pl.DataFrame):
        missing = {"option", "lots"} - set(positions.columns)
        if missing:
            raise InputError(f"positions frame lacks {', '.join(sorted(missing))}; needs 'option' and 'lots'")
        pairs = list(zip(positions["option"].to_list(), positions["lots"].to_list(), strict=True))
    elif isinstance(positions, Mapping):
        pairs = list(positions.items())
    else:
        raise InputError("positions must be a mapping {option code: lots} or a frame with option, lots")
    if not pairs:
        raise InputError("positions is empty; give at least one option position")
    if sigma is None and option_settle is None:
        raise InputError("give sigma (a volatility) or option_settle (settlement prices to imply it from)")
    opts = [option(str(c)) for c, _ in pairs]
    codes = [o.code for o in opts]
    if len(set(codes)) != len(codes):
        raise InputError(f"positions name an option twice: {codes}")
    lots = np.array([float("nan") if x is None else x for _, x in pairs], dtype=np.float64)
    if not np.isfinite(lots).all():
        raise InputError(f"lots must be finite numbers; got {lots.tolist()}")
    t = np.array([time_to_expiry(o, on) for o in opts])
    d = opts[0].require_listed(on)
    under = {str(k).strip().lower(): v for k, v in underlying_settle.items()}
    F = np.empty(len(opts))
    for i, o in enumerate(opts):
        if o.underlying.code not in under:
            raise InputError(
                f"underlying_settle has no settlement for {o.underlying.code} (option {o.code}); "
                f"given: {', '.join(underlying_settle) or 'none'}"
            )
        F[i] = under[o.underlying.code]
    if not (np.isfinite(F) & (F > 0)).all():
        raise InputError(f"underlying settlements must be finite and > 0; got {F.tolist()}")
    K = np.array([o.strike for o in opts])
    w = np.array([float(o.w) for o in opts])
    settle = _per_option(option_settle, codes, "option_settle") if option_settle is not None else None
    if sigma is not None:
        s = _per_option(sigma, codes, "sigma")
        if not (np.isfinite(s) & (s >= 0)).all():
            raise InputError(f"sigma must be finite and >= 0; got {s.tolist()}")
        source = np.array(["input"] * len(opts), dtype=object)
    else:
        assert settle is not None
        s = np.full(len(opts), math.nan)
        source = np.array(["implied"] * len(opts), dtype=object)
    live = t > 0
    source[~live] = "expiry"
    price = np.maximum(w * (F - K), 0.0)  # the exercise value on the expiry day
    g = {c: np.zeros(len(opts)) for c in ("delta", "gamma", "vega", "theta")}
    g["delta"] = np.where(w * (F - K) > 0, w, 0.0)
    for style in ("american", "european"):
        idx = np.flatnonzero(live & np.array([o.style == style for o in opts]))
        if idx.size == 0:
            continue
        if sigma is None:
            assert settle is not None
            try:
                if style == "american":
                    s[idx] = implied_vol_american(
                        settle[idx], F[idx], K[idx], t[idx], r, w[idx], method=method
                    )
                else:
                    from cnfutures.pricing import implied_vol

                    s[idx] = implied_vol(settle[idx], F[idx], K[idx], t[idx], r, w[idx])
            except PricingError as exc:
                raise PricingError(f"{', '.join(codes[i] for i in idx)}: {exc}") from None
        if style == "american":
            gr = american_greeks(F[idx], K[idx], t[idx], r, s[idx], w[idx], method=method)
        else:
            from cnfutures.pricing import black76_greeks

            gr = black76_greeks(F[idx], K[idx], t[idx], r, s[idx], w[idx])
        price[idx] = gr["price"].to_numpy()
        for c in g:
            g[c][idx] = gr[c].to_numpy()
    s[~live] = math.nan
    mult = np.array([o.multiplier for o in opts])
    margins, verified = [], []
    basis = "settlement" if settle is not None else "model"
    for i, o in enumerate(opts):
        prem = float(settle[i] if settle is not None else price[i])
        m = option_margin(o, d, prem, float(F[i]), hedge=hedge, book=book)
        margins.append(m.margin)
        verified.append(m.verified)
    margin_per_lot = np.array(margins)
    return pl.DataFrame(
        {
            "option": codes, "underlying": [o.underlying.code for o in opts], "kind": [o.kind for o in opts],
            "strike": K, "style": [o.style for o in opts], "expiry": [o.expiry for o in opts], "t": t,
            "lots": lots, "multiplier": mult, "F": F, "sigma": s, "sigma_source": source.tolist(),
            "price": price, "premium": price * mult, "value": lots * price * mult,
            "delta": g["delta"], "gamma": g["gamma"], "vega": g["vega"], "theta": g["theta"],
            "delta_lots": lots * g["delta"], "vega_cny": lots * g["vega"] * mult,
            "theta_cny": lots * g["theta"] * mult, "margin_per_lot": margin_per_lot,
            "margin": np.maximum(-lots, 0.0) * margin_per_lot, "margin_basis": [basis] * len(opts),
            "margin_verified": verified,
        }
    )  # fmt: skip
