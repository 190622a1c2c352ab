"""Option pricing on futures: Black-76, Bachelier, implied volatility, American options, carry.

Every function accepts Python scalars, numpy arrays or polars Series (broadcast together,
numpy rules), validates once, converts once to contiguous float64, calls a numba kernel
from :mod:`cnfutures._kernels` and returns the same kind as its inputs: a ``float`` for
scalars, a numpy array for arrays, a polars Series when any input is a Series. Greeks
always come back as a polars DataFrame (one row per option).

Units and conventions
---------------------
F, K : futures price and strike [CNY/unit] (any currency per unit works the same way)
T : time to expiry [years, ACT/365]
r : discount rate [decimal per year, continuously compounded]
sigma : Black-76 volatility [decimal per sqrt(year)]; Bachelier volatility [CNY/unit per
    sqrt(year)]
kind : ``"call"``/``"put"`` (also ``"c"``/``"p"``, any case), or +1 (call) / -1 (put); an
    array or Series of either is allowed.
delta = dV/dF, gamma = d2V/dF2, vega = dV/dsigma per 1.00 of sigma, theta = -dV/dT per
calendar day (divided by 365), rho = dV/dr per 1.00 of r with F held fixed (so rho = -T V),
vanna = d2V/dF dsigma, volga = d2V/dsigma2.

Bad input raises :class:`cnfutures.errors.PricingError` naming the argument, the index of
the first bad element and what is accepted; ``on_error="nan"`` returns NaN there instead
(implied volatility also returns an :class:`IVStatus` code per option).

Examples
--------
>>> from cnfutures import pricing
>>> round(pricing.black76(20.0, 20.0, 4 / 12, 0.09, 0.25, "put"), 4)  # Hull, futures put
1.1166
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from enum import IntEnum
from typing import Any, Literal

import numpy as np
import polars as pl

from cnfutures.errors import PricingError

__all__ = [
    "IV_REL_TOL",
    "MAX_TREE_STEPS",
    "IVStatus",
    "american",
    "bachelier",
    "bachelier_greeks",
    "black76",
    "black76_greeks",
    "early_exercise_premium",
    "fair_value",
    "implied_convenience_yield",
    "implied_vol",
    "roll_yield",
]

OnError = Literal["raise", "nan"]
GREEK_COLUMNS = ("price", "delta", "gamma", "vega", "theta", "rho", "vanna", "volga")


class IVStatus(IntEnum):
    """Status code of an implied volatility (column ``status`` with ``on_error="nan"``)."""

    OK = 0
    """Converged; the volatility is valid."""
    BELOW_INTRINSIC = 1
    """Price below the discounted intrinsic value: no volatility reproduces it."""
    ABOVE_MAXIMUM = 2
    """Price at or above the maximum (discounted F for a call, K for a put)."""
    NON_FINITE = 3
    """An input is NaN or infinite."""
    OUT_OF_DOMAIN = 4
    """T <= 0, or F <= 0 or K <= 0 under Black-76, or a kind that is not +1/-1."""
    NO_TIME_VALUE = 5
    """Price equals the intrinsic value: the volatility is not determined (0 is not given)."""
    ILL_CONDITIONED = 6
    """The solver reproduced the price, but the price pins the volatility down to worse than
    :data:`IV_REL_TOL` (relative): vega is nearly 0 (deep in or out of the money, a price
    near its maximum at a huge volatility, a subnormal price), so a change in the last
    digits of the price moves the volatility by more than that."""


_MESSAGES = {
    IVStatus.BELOW_INTRINSIC: "is below the discounted intrinsic value max(w (F - K), 0) e^(-rT)",
    IVStatus.ABOVE_MAXIMUM: "is at or above the maximum price (F e^(-rT) for a call, K e^(-rT) for a put)",
    IVStatus.NON_FINITE: "has a non-finite input",
    IVStatus.OUT_OF_DOMAIN: "is out of the model's domain (T > 0; F, K > 0 under Black-76)",
    IVStatus.NO_TIME_VALUE: "equals the intrinsic value, so no volatility is determined",
    IVStatus.ILL_CONDITIONED: "does not determine the volatility (vega is nearly 0 there: the price's "
    "last digits move the volatility by more than IV_REL_TOL)",
}

#: Relative accuracy an implied volatility must have, given a price exact to rounding
#: (4 ulp), for status OK; worse is :attr:`IVStatus.ILL_CONDITIONED`.
IV_REL_TOL = 1e-8
_DBL_EPS = float(np.finfo(np.float64).eps)
_DBL_TRUE_MIN = 5e-324


def _ill_conditioned(
    model: str, price: np.ndarray, F: np.ndarray, K: np.ndarray, T: np.ndarray, r: np.ndarray, iv: np.ndarray
) -> np.ndarray:
    """Where a solved volatility is determined worse than IV_REL_TOL by its price."""
    with np.errstate(all="ignore"):
        sq = iv * np.sqrt(T)
        if model == "black76":
            d1 = (np.log(F / K) + 0.5 * sq * sq) / sq
            vega = np.exp(-r * T) * F * np.exp(-0.5 * d1 * d1) * np.sqrt(T) / math.sqrt(2.0 * math.pi)
        else:
            d = (F - K) / sq
            vega = np.exp(-r * T) * np.sqrt(T) * np.exp(-0.5 * d * d) / math.sqrt(2.0 * math.pi)
        price_err = 4.0 * np.maximum(_DBL_EPS * np.abs(price), _DBL_TRUE_MIN)
        rel = price_err / (vega * iv)
    ill: np.ndarray = ~(rel <= IV_REL_TOL)
    return ill



# --------------------------------------------------------------------------------------
# conversion and validation
# --------------------------------------------------------------------------------------
_NO_KIND: Any = object()  # functions without an option kind; ``kind=None`` is an error


class _Inputs:
    """Broadcast, flattened float64 inputs plus what is needed to wrap the output."""

    def __init__(
        self,
        names: Sequence[str],
        values: Sequence[Any],
        kind: Any,
        check_kind: bool = True,
    ) -> None:
        self.out_kind = "scalar"
        self.series_name: str | None = None
        arrays: list[np.ndarray] = []
        for name, v in zip(names, values, strict=True):
            arrays.append(self._convert(name, v))
        kind_arr: np.ndarray | None = None
        if kind is not _NO_KIND:
            kind_arr = _kind_to_w(kind, check=check_kind)
            if isinstance(kind, pl.Series):
                self.out_kind = "series"
            elif isinstance(kind, np.ndarray) and kind.ndim > 0 and self.out_kind == "scalar":
                self.out_kind = "numpy"
        all_arrays = [*arrays, kind_arr] if kind_arr is not None else arrays
        try:
            self.shape = np.broadcast_shapes(*(a.shape for a in all_arrays))
        except ValueError:
            shapes = ", ".join(f"{n}{a.shape}" for n, a in zip([*names, "kind"], all_arrays, strict=False))
            raise PricingError(
                f"inputs cannot be broadcast together: {shapes}; give scalars or arrays of one common length"
            ) from None
        self.n = int(np.prod(self.shape)) if self.shape else 1
        self.arrays = {n: _flat(a, self.shape) for n, a in zip(names, arrays, strict=True)}
        self.w = _flat(kind_arr, self.shape) if kind_arr is not None else None

    def _convert(self, name: str, v: Any) -> np.ndarray:
        if isinstance(v, pl.Series):
            self.out_kind = "series"
            if self.series_name is None:
                self.series_name = v.name
            try:
                return v.cast(pl.Float64).to_numpy()
            except Exception as exc:  # polars raises several types for bad casts
                raise PricingError(
                    f"{name}: Series of dtype {v.dtype} cannot be read as float64; pass numbers"
                ) from exc
        if isinstance(v, bool):
            raise PricingError(f"{name}: got a bool; expected a number or an array of numbers")
        if isinstance(v, int | float | np.floating | np.integer):
            return np.asarray(float(v), dtype=np.float64)
        arr = np.asarray(v)
        if arr.dtype.kind not in "fiu":
            raise PricingError(f"{name}: got an array of dtype {arr.dtype}; expected numbers (float or int)")
        if arr.ndim > 0 and self.out_kind == "scalar":
            self.out_kind = "numpy"
        return arr.astype(np.float64, copy=False)

    def wrap(self, out: np.ndarray, name: str) -> Any:
        if self.out_kind == "scalar":
            return float(out[0])
        if self.out_kind == "series":
            return pl.Series(self.series_name or name, out)
        return out.reshape(self.shape)


def _flat(a: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    if a.shape == shape and a.flags.c_contiguous:
        return a.reshape(-1)
    return np.ascontiguousarray(np.broadcast_to(a, shape)).reshape(-1)


def _kind_to_w(kind: Any, check: bool = True) -> np.ndarray:
    """Option kind(s) -> float64 array of +1 (call) / -1 (put).

    ``check=False`` leaves numeric values unchecked for kernels that validate ``w`` themselves.
    """
    if isinstance(kind, str):
        return np.asarray(_kind_str(kind, 0), dtype=np.float64)
    if isinstance(kind, pl.Series):
        if kind.dtype in (pl.String, pl.Categorical, pl.Enum):
            return _kind_strings(kind.cast(pl.String).to_numpy())
        arr = kind.to_numpy()
    else:
        arr = np.asarray(kind)
    if arr.dtype.kind in "USO":
        return _kind_strings(arr)
    if arr.dtype.kind not in "fiu":
        raise PricingError(f"kind: got dtype {arr.dtype}; expected 'call'/'put' or +1/-1")
    w = arr.astype(np.float64, copy=False)
    if check:
        bad = ~((w == 1.0) | (w == -1.0))
        if bad.any():
            i = int(np.flatnonzero(bad.ravel())[0])
            _raise_bad_kind(i, float(w.ravel()[i]))
    return w


def _raise_bad_kind(i: int, value: float) -> None:
    raise PricingError(
        f"kind: element {i} is {value!r}; expected +1 (call) or -1 (put), or the strings 'call'/'put'/'c'/'p'"
    )


def _kind_str(s: Any, i: int) -> float:
    t = str(s).strip().lower() if s is not None else ""
    if t in ("call", "c"):
        return 1.0
    if t in ("put", "p"):
        return -1.0
    raise PricingError(
        f"kind: element {i} is {s if s is None else str(s)!r}; expected 'call', 'put', 'c' or "
        "'p' (any case), or +1/-1"
    )


def _kind_strings(arr: np.ndarray) -> np.ndarray:
    flat = arr.ravel()
    lowered = np.char.lower(np.char.strip(flat.astype(str)))
    w = np.where(np.isin(lowered, ("call", "c")), 1.0, np.where(np.isin(lowered, ("put", "p")), -1.0, np.nan))
    bad = np.isnan(w)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        _kind_str(flat[i], i)
    return w.reshape(arr.shape)


def _check(name: str, a: np.ndarray, rule: str, mask: np.ndarray, on_error: OnError) -> np.ndarray | None:
    """Raise (or return the bad mask) where ``mask`` is True."""
    if not mask.any():
        return None
    if on_error == "raise":
        i = int(np.flatnonzero(mask)[0])
        raise PricingError(f"{name}: element {i} is {float(a[i])!r}; expected {rule}")
    return mask


def _validate(inp: _Inputs, rules: dict[str, str], on_error: OnError) -> np.ndarray | None:
    """Check each named array against its rule; returns the combined bad mask (or None)."""
    if on_error not in ("raise", "nan"):
        raise PricingError(f"on_error: got {on_error!r}; expected 'raise' or 'nan'")
    bad: np.ndarray | None = None
    for name, rule in rules.items():
        a = inp.arrays[name]
        finite = np.isfinite(a)
        if rule == "finite":
            m = ~finite
            text = "a finite number"
        elif rule == "positive":
            m = ~(finite & (a > 0.0))
            text = "a finite number > 0"
        elif rule == "nonnegative":
            m = ~(finite & (a >= 0.0))
            text = "a finite number >= 0"
        else:  # pragma: no cover - programming error
            raise AssertionError(rule)
        b = _check(name, a, text, m, on_error)
        if b is not None:
            bad = b if bad is None else (bad | b)
    return bad


def _model(model: str) -> str:
    m = str(model).lower().replace("-", "").replace("_", "")
    if m in ("black76", "black"):
        return "black76"
    if m in ("bachelier", "normal"):
        return "bachelier"
    raise PricingError(f"model: got {model!r}; expected 'black76' or 'bachelier'")


# --------------------------------------------------------------------------------------
# European prices and Greeks
# --------------------------------------------------------------------------------------
def _european(
    model: str, F: Any, K: Any, T: Any, r: Any, sigma: Any, kind: Any, on_error: OnError
) -> tuple[_Inputs, np.ndarray | None]:
    inp = _Inputs(("F", "K", "T", "r", "sigma"), (F, K, T, r, sigma), kind)
    rules = _BLACK76_RULES if model == "black76" else _BACHELIER_RULES
    bad = _validate(inp, rules, on_error)
    if bad is not None:  # replace bad rows by harmless values, NaN them afterwards
        for name in ("F", "K", "T", "sigma"):
            inp.arrays[name] = np.where(bad, 1.0, inp.arrays[name])
        inp.arrays["r"] = np.where(bad, 0.0, inp.arrays["r"])
    return inp, bad


_BLACK76_RULES = {"F": "positive", "K": "positive", "T": "positive", "r": "finite", "sigma": "nonnegative"}
_BACHELIER_RULES = {"F": "finite", "K": "finite", "T": "positive", "r": "finite", "sigma": "nonnegative"}
_RULE_TEXT = {
    "finite": "a finite number",
    "positive": "a finite number > 0",
    "nonnegative": "a finite number >= 0",
}


def _black76_inputs(
    F: Any, K: Any, T: Any, r: Any, sigma: Any, kind: Any, on_error: OnError
) -> tuple[_Inputs, np.ndarray]:
    """Convert and broadcast only: the Black-76 kernels validate (fused into their loop)."""
    if on_error not in ("raise", "nan"):
        raise PricingError(f"on_error: got {on_error!r}; expected 'raise' or 'nan'")
    inp = _Inputs(("F", "K", "T", "r", "sigma"), (F, K, T, r, sigma), kind, check_kind=False)
    w = inp.w if inp.w is not None else np.ones(inp.n)
    return inp, w


def _dynamic_schedule() -> Any:
    """Context in which parallel kernels hand out work in small chunks (numba's dynamic
    scheduling): a core busy with another process then slows a call by its share only."""
    from numba import parallel_chunksize

    from cnfutures._kernels.black76 import CHUNK

    return parallel_chunksize(CHUNK)


def _raise_first_bad(inp: _Inputs, w: np.ndarray, i: int, rules: dict[str, str]) -> None:
    """Raise the error for option ``i``, which a kernel reported as invalid."""
    for name, rule in rules.items():
        x = float(inp.arrays[name][i])
        ok = math.isfinite(x) and (rule == "finite" or (x > 0.0 if rule == "positive" else x >= 0.0))
        if not ok:
            raise PricingError(f"{name}: element {i} is {x!r}; expected {_RULE_TEXT[rule]}")
    _raise_bad_kind(i, float(w[i]))


def black76(
    F: Any,
    K: Any,
    T: Any,
    r: Any,
    sigma: Any,
    kind: Any = "call",
    *,
    on_error: OnError = "raise",
) -> Any:
    """Black-76 price of a European option on a futures contract.

    ``V = e^(-rT) w (F N(w d1) - K N(w d2))``, ``d1,2 = ln(F/K)/(sigma sqrt T) +- sigma
    sqrt(T)/2``, ``w = +1`` for a call, ``-1`` for a put. Accurate to a few ulp times 32:
    where more than 5 bits would cancel (out of the money) Jäckel's normalised Black
    function takes over, so deep wings keep full relative accuracy.

    Parameters
    ----------
    F : float, array or Series [CNY/unit]
        Futures price, > 0.
    K : float, array or Series [CNY/unit]
        Strike, > 0.
    T : float, array or Series [years, ACT/365]
        Time to expiry, > 0.
    r : float, array or Series [decimal per year, continuous]
        Discount rate.
    sigma : float, array or Series [decimal per sqrt(year)]
        Volatility, >= 0 (0 gives the discounted intrinsic value).
    kind : {"call", "put", "c", "p"}, +1/-1, or an array/Series of them
    on_error : {"raise", "nan"}
        Raise :class:`~cnfutures.errors.PricingError` on bad input, or return NaN there.

    Returns
    -------
    float, numpy array or polars Series [CNY/unit]
        The same kind as the inputs.

    Examples
    --------
    Hull, *Options, Futures, and Other Derivatives*, crude-oil futures put:

    >>> round(black76(20.0, 20.0, 4 / 12, 0.09, 0.25, "put"), 2)
    1.12
    >>> import numpy as np
    >>> black76(np.array([90.0, 100.0, 110.0]), 100.0, 0.5, 0.02, 0.3).round(4)
    array([ 3.9501,  8.363 , 14.599 ])
    """
    from cnfutures._kernels.black76 import black76_price_nb

    inp, w = _black76_inputs(F, K, T, r, sigma, kind, on_error)
    a = inp.arrays
    out = np.empty(inp.n)
    with _dynamic_schedule():
        first_bad = black76_price_nb(a["F"], a["K"], a["T"], a["r"], a["sigma"], w, out)
    if first_bad >= 0 and on_error == "raise":
        _raise_first_bad(inp, w, int(first_bad), _BLACK76_RULES)
    return inp.wrap(out, "price")


def bachelier(
    F: Any,
    K: Any,
    T: Any,
    r: Any,
    sigma: Any,
    kind: Any = "call",
    *,
    on_error: OnError = "raise",
) -> Any:
    """Bachelier (normal-model) price of a European option on a futures contract.

    ``V = e^(-rT) [w (F - K) N(w d) + sigma sqrt(T) n(d)]``, ``d = (F - K)/(sigma sqrt T)``.
    F and K may be zero or negative (WTI, 20 April 2020; CME switched to this model).
    Deep out-of-the-money prices keep full relative accuracy.

    Parameters
    ----------
    F : float, array or Series [CNY/unit]
        Futures price, any finite value.
    K : float, array or Series [CNY/unit]
        Strike, any finite value.
    T : float, array or Series [years, ACT/365]
        Time to expiry, > 0.
    r : float, array or Series [decimal per year, continuous]
    sigma : float, array or Series [CNY/unit per sqrt(year)]
        Normal volatility, >= 0.
    kind : {"call", "put", "c", "p"}, +1/-1, or an array/Series of them
    on_error : {"raise", "nan"}

    Returns
    -------
    float, numpy array or polars Series [CNY/unit]

    Examples
    --------
    >>> round(bachelier(-5.0, -10.0, 0.25, 0.0, 20.0, "call"), 4)
    6.978
    """
    from cnfutures._kernels.bachelier import bachelier_price_nb

    inp, bad = _european("bachelier", F, K, T, r, sigma, kind, on_error)
    a = inp.arrays
    w = inp.w if inp.w is not None else np.ones(inp.n)
    out = np.empty(inp.n)
    bachelier_price_nb(a["F"], a["K"], a["T"], a["r"], a["sigma"], w, out)
    if bad is not None:
        out[bad] = np.nan
    return inp.wrap(out, "price")


def _greeks_frame(
    model: str, F: Any, K: Any, T: Any, r: Any, sigma: Any, kind: Any, on_error: OnError
) -> pl.DataFrame:
    if model == "black76":
        from cnfutures._kernels.black76 import black76_greeks_nb

        inp, w = _black76_inputs(F, K, T, r, sigma, kind, on_error)
        a = inp.arrays
        # one (8, n) block whose rows become the columns (zero copy). Its fresh pages are
        # touched here, one write per 4 KB page on one thread: page faults taken by the
        # kernel's two threads at once cost 3-4x the kernel itself at 1e6 options (62 against
        # 18 ns per option), a full fill 1.1-10 ns per option (docs/benchmarks/pricing.md)
        outs = np.empty((len(GREEK_COLUMNS), inp.n))
        outs.reshape(-1)[::512] = 0.0
        with _dynamic_schedule():
            first_bad = black76_greeks_nb(a["F"], a["K"], a["T"], a["r"], a["sigma"], w, *outs)
        if first_bad >= 0 and on_error == "raise":
            _raise_first_bad(inp, w, int(first_bad), _BLACK76_RULES)
    else:
        from cnfutures._kernels.bachelier import bachelier_greeks_nb

        inp, bad = _european(model, F, K, T, r, sigma, kind, on_error)
        a = inp.arrays
        w = inp.w if inp.w is not None else np.ones(inp.n)
        outs = np.empty((len(GREEK_COLUMNS), inp.n))
        bachelier_greeks_nb(a["F"], a["K"], a["T"], a["r"], a["sigma"], w, *outs)
        if bad is not None:
            outs[:, bad] = np.nan
    return pl.DataFrame(dict(zip(GREEK_COLUMNS, outs, strict=True)))


def black76_greeks(
    F: Any,
    K: Any,
    T: Any,
    r: Any,
    sigma: Any,
    kind: Any = "call",
    *,
    on_error: OnError = "raise",
) -> pl.DataFrame:
    """Black-76 price and Greeks, one row per option, as a polars DataFrame.

    Parameters are those of :func:`black76`.

    Returns
    -------
    polars.DataFrame
        Columns (always a DataFrame, also for scalar or numpy input):

        - ``price`` [CNY/unit]
        - ``delta`` = dV/dF [1] (discounted: ``e^(-rT) w N(w d1)``)
        - ``gamma`` = d2V/dF2 [1/(CNY/unit)]
        - ``vega`` = dV/dsigma per 1.00 of sigma [CNY/unit]; divide by 100 for one vol point
        - ``theta`` = -dV/dT per calendar day [CNY/unit/day] (per-year value / 365)
        - ``rho`` = dV/dr per 1.00 of r, F held fixed, so ``-T V`` [CNY/unit]
        - ``vanna`` = d2V/dF dsigma, ``volga`` = d2V/dsigma2

    Examples
    --------
    >>> g = black76_greeks(100.0, 100.0, 0.5, 0.02, 0.3, "call")
    >>> [round(g[c][0], 6) for c in ("delta", "gamma", "vega", "theta")]
    [0.53684, 0.018515, 27.772132, -0.022368]
    """
    return _greeks_frame("black76", F, K, T, r, sigma, kind, on_error)


def bachelier_greeks(
    F: Any,
    K: Any,
    T: Any,
    r: Any,
    sigma: Any,
    kind: Any = "call",
    *,
    on_error: OnError = "raise",
) -> pl.DataFrame:
    """Bachelier price and Greeks, one row per option, as a polars DataFrame.

    Parameters are those of :func:`bachelier` (sigma in CNY/unit per sqrt(year)); the
    columns and conventions are those of :func:`black76_greeks` (vega per 1.00 of the
    normal volatility [CNY/unit], theta per calendar day, rho per 1.00 of r).

    Examples
    --------
    >>> g = bachelier_greeks(0.0, 0.0, 1.0, 0.0, 10.0, "put")
    >>> [round(g[c][0], 6) for c in ("price", "delta", "vega")]
    [3.989423, -0.5, 0.398942]
    """
    return _greeks_frame("bachelier", F, K, T, r, sigma, kind, on_error)


# --------------------------------------------------------------------------------------
# implied volatility
# --------------------------------------------------------------------------------------
def implied_vol(
    price: Any,
    F: Any,
    K: Any,
    T: Any,
    r: Any,
    kind: Any = "call",
    *,
    model: str = "black76",
    on_error: OnError = "raise",
) -> Any:
    """Implied volatility of European options on futures (Black-76 or Bachelier).

    Black-76 uses Jäckel's *Let's Be Rational* (2015): a rational-cubic initial guess and
    two safeguarded Householder steps, accurate to a few ulp of price/vega from the money
    to deep wings and for T from a day to decades; run branch-free (vectorised) for the
    bulk of the options, with his scalar code for the rest. Bachelier solves the normalised
    out-of-the-money time value without cancellation (see :mod:`cnfutures._kernels.implied`).
    A failed volatility is never reported as 0.

    Parameters
    ----------
    price : float, array or Series [CNY/unit]
        Option premium (discounted).
    F, K : float, array or Series [CNY/unit]
    T : float, array or Series [years, ACT/365]
    r : float, array or Series [decimal per year, continuous]
    kind : {"call", "put", "c", "p"}, +1/-1, or an array/Series of them
    model : {"black76", "bachelier"}
    on_error : {"raise", "nan"}
        ``"raise"``: the first failing option raises
        :class:`~cnfutures.errors.PricingError` naming it and the reason; the result has
        the kind of the inputs. ``"nan"``: a polars DataFrame with columns
        ``implied_vol`` (NaN where it failed) and ``status`` (:class:`IVStatus` codes).

    Returns
    -------
    float, numpy array, polars Series, or polars DataFrame (``on_error="nan"``)
        [decimal per sqrt(year)] for Black-76, [CNY/unit per sqrt(year)] for Bachelier.

    Examples
    --------
    >>> round(implied_vol(1.1166, 20.0, 20.0, 4 / 12, 0.09, "put"), 4)
    0.25
    >>> df = implied_vol([1.0, 0.0001], 20.0, [10.0, 20.0], 1.0, 0.0, "c", on_error="nan")
    >>> df["status"].to_list()  # 1.0 is below the intrinsic value 10
    [1, 0]
    """
    from cnfutures._kernels.implied import (
        implied_vol_bachelier_nb,
        implied_vol_black76_nb,
        iv_conditioning_screen_nb,
    )

    m = _model(model)
    if on_error not in ("raise", "nan"):
        raise PricingError(f"on_error: got {on_error!r}; expected 'raise' or 'nan'")
    inp = _Inputs(("price", "F", "K", "T", "r"), (price, F, K, T, r), kind, check_kind=False)
    a = inp.arrays
    w = inp.w if inp.w is not None else np.ones(inp.n)
    out = np.empty(inp.n)
    status = np.empty(inp.n, dtype=np.int64)
    kernel = implied_vol_black76_nb if m == "black76" else implied_vol_bachelier_nb
    # the kernel validates (status NON_FINITE / OUT_OF_DOMAIN) and returns the first failure
    with _dynamic_schedule():
        first = int(kernel(a["price"], a["F"], a["K"], a["T"], a["r"], w, out, status))
    # the OK options a fast screen cannot clear of ILL_CONDITIONED (usually none) are
    # decided with numpy, as before: the same decisions to the bit, without numpy passes
    # over the whole book
    idx = np.empty(inp.n, dtype=np.int64)
    n_doubt = iv_conditioning_screen_nb(
        a["price"], a["F"], a["K"], a["T"], a["r"], out, status, m == "black76", IV_REL_TOL, idx
    )
    if n_doubt:
        idx = idx[:n_doubt]
        sub = {k: a[k][idx] for k in ("price", "F", "K", "T", "r")}
        ill = _ill_conditioned(m, sub["price"], sub["F"], sub["K"], sub["T"], sub["r"], out[idx])
        if ill.any():
            status[idx[ill]] = IVStatus.ILL_CONDITIONED
            out[idx[ill]] = np.nan
            j = int(idx[ill][0])
            first = j if first < 0 else min(first, j)
    if on_error == "raise":
        if first >= 0:
            i = first
            code = IVStatus(int(status[i]))
            if code in (IVStatus.NON_FINITE, IVStatus.OUT_OF_DOMAIN):
                rules = {"price": "finite", "F": "finite", "K": "finite", "T": "positive", "r": "finite"}
                if m == "black76":
                    rules.update(F="positive", K="positive")
                _raise_first_bad(inp, w, i, rules)
            raise PricingError(
                f"price: element {i} ({float(a['price'][i])!r}) {_MESSAGES[code]} "
                f"[status {code.name}]; pass on_error='nan' for NaN plus a status column"
            )
        return inp.wrap(out, "implied_vol")
    return pl.DataFrame({"implied_vol": out, "status": status})


# --------------------------------------------------------------------------------------
# American options on futures
# --------------------------------------------------------------------------------------
_METHODS = ("baw", "bjs", "bjs1993", "bjs2002", "crr", "lr")

#: Largest ``steps`` a tree (``"crr"``, ``"lr"``) takes without ``allow_slow=True``: a tree
#: costs about ``steps**2 / 2`` node updates per option (20,000 steps: ~0.3 s per option).
MAX_TREE_STEPS = 20_000
#: Below this ``r T`` the early-exercise premium (at most ``K (1 - e^(-rT))``) is under
#: 1e-14 K: the European price is returned.
_NO_EARLY_RT = 1e-14
_NS_PER_NODE = 2.0  # measured 1.2-1.6 ns per node update on one core (December 2026)


def _check_steps(steps: Any, n: int, allow_slow: bool) -> int:
    if isinstance(steps, bool) or not isinstance(steps, int | np.integer) or steps < 1:
        raise PricingError(f"steps: got {steps!r}; expected an int >= 1")
    if steps > MAX_TREE_STEPS and not allow_slow:
        nodes = float(n) * float(steps) * float(steps) / 2.0
        seconds = nodes * _NS_PER_NODE * 1e-9
        mem_mb = 24.0 * (float(steps) + 1.0) / 1e6  # up to three (steps + 1) float64 arrays
        took = f"{seconds:,.0f} s" if seconds < 7200 else f"{seconds / 3600:,.1f} h"
        raise PricingError(
            f"steps: got {steps:,}, above the cap of {MAX_TREE_STEPS:,} tree steps; for {n:,} option(s) "
            f"that is about {nodes:.2g} node updates, ~{took} on one core and ~{mem_mb:,.1f} MB per "
            "thread; pass allow_slow=True to run it anyway (BAW or Bjerksund-Stensland 2002 are "
            "closed-form alternatives)"
        )
    return int(steps)


def american(
    F: Any,
    K: Any,
    T: Any,
    r: Any,
    sigma: Any,
    kind: Any = "call",
    *,
    method: str = "baw",
    steps: int = 500,
    on_error: OnError = "raise",
    allow_slow: bool = False,
) -> Any:
    """Price of an American option on a futures contract (cost of carry b = 0).

    Parameters
    ----------
    F, K : float, array or Series [CNY/unit]
        > 0.
    T : float, array or Series [years, ACT/365]
    r : float, array or Series [decimal per year, continuous]
    sigma : float, array or Series [decimal per sqrt(year)]
    kind : {"call", "put", "c", "p"}, +1/-1, or an array/Series of them
    method : {"baw", "bjs", "bjs1993", "bjs2002", "crr", "lr"}
        ``"baw"`` Barone-Adesi & Whaley (1987) quadratic approximation; ``"bjs"`` (alias
        ``"bjs1993"``) Bjerksund & Stensland (1993) single flat boundary, the formula of
        QuantLib's ``BjerksundStenslandApproximationEngine`` (matches it to 1e-13);
        ``"bjs2002"`` Bjerksund & Stensland (2002) two-step boundary (the exercise
        boundary steps down at ``t1 = (sqrt(5) - 1)/2 T``; bivariate normal CDF by Genz's
        method), usually the closer of the two to the true American value. Both are values
        of a feasible exercise strategy, hence lower bounds of the American price; ``"crr"``
        Cox-Ross-Rubinstein binomial tree; ``"lr"`` Leisen-Reimer tree (Peizer-Pratt
        inversion 2; ``steps`` rounded up to odd). Where ``sigma sqrt(T) < 1e-6`` BAW's
        critical-price search is ill-conditioned (QuantLib issue #2749); the price is then
        ``max(European, intrinsic)``, the exact limit as volatility goes to zero for b = 0.
    steps : int
        Tree steps for ``"crr"`` and ``"lr"``, at most :data:`MAX_TREE_STEPS` (20,000)
        unless ``allow_slow=True``; a tree costs about ``steps**2 / 2`` node updates per
        option, and the error names the time and memory it would take.
    on_error : {"raise", "nan"}
    allow_slow : bool
        Accept ``steps`` above :data:`MAX_TREE_STEPS`.

    Returns
    -------
    float, numpy array or polars Series [CNY/unit]
        Where ``r <= 0`` early exercise is never optimal for an option on a futures
        contract (``e^(-rT) >= 1`` and the futures price is a martingale, so the European
        value is at least the intrinsic value at every time); the price returned there
        (and where ``r T <= 1e-14``, the premium being under ``1e-14 K``) is the Black-76
        European price, whatever the method. A closed-form method that comes out below the
        European price, or not finite, raises :class:`~cnfutures.errors.PricingError`
        (NaN with ``on_error="nan"``): it has broken down there.

    Examples
    --------
    >>> round(american(100.0, 100.0, 0.5, 0.1, 0.25, "put", method="baw"), 4)
    6.8013
    >>> round(american(100.0, 100.0, 0.5, 0.1, 0.25, "put", method="crr", steps=500), 4)
    6.7724

    Haug (2007), Bjerksund-Stensland 2002 table for futures options (b = 0, r = 0.1):

    >>> round(american(100.0, 100.0, 0.5, 0.1, 0.25, "put", method="bjs2002"), 4)
    6.7661
    """
    out, inp, _ = _american(F, K, T, r, sigma, kind, method, steps, on_error, allow_slow)
    return inp.wrap(out, "price")


def _american(
    F: Any,
    K: Any,
    T: Any,
    r: Any,
    sigma: Any,
    kind: Any,
    method: str,
    steps: int,
    on_error: OnError,
    allow_slow: bool = False,
) -> tuple[np.ndarray, _Inputs, np.ndarray | None]:
    from cnfutures._kernels import american as ak

    meth = str(method).lower()
    if meth not in _METHODS:
        raise PricingError(f"method: got {method!r}; expected one of {', '.join(_METHODS)}")
    inp, bad = _european("black76", F, K, T, r, sigma, kind, on_error)
    if meth in ("crr", "lr"):
        steps = _check_steps(steps, inp.n, allow_slow)
    elif isinstance(steps, bool) or not isinstance(steps, int | np.integer) or steps < 1:
        raise PricingError(f"steps: got {steps!r}; expected an int >= 1")
    a = inp.arrays
    w = inp.w if inp.w is not None else np.ones(inp.n)
    out = np.empty(inp.n)
    args = (a["F"], a["K"], a["T"], a["r"], a["sigma"], w)
    if meth == "baw":
        ak.american_baw_nb(*args, out)
    elif meth in ("bjs", "bjs1993"):
        ak.american_bjs_nb(*args, out)
    elif meth == "bjs2002":
        ak.american_bjs2002_nb(*args, out)
    elif meth == "crr":
        ak.american_crr_nb(*args, int(steps), out, True)
    else:
        ak.american_lr_nb(*args, int(steps), out, True)
    from cnfutures._kernels.black76 import black76_price_nb

    eur = np.empty(inp.n)
    black76_price_nb(*args, eur)
    # r <= 0: never exercised early, the American price is the European one; r T tiny: the
    # premium is below K (1 - e^(-rT)) < 1e-14 K. (The kernels return NaN, 0 or values above
    # K there: BAW for puts with r < 0, Bjerksund-Stensland for 0 < r < ~1e-16.)
    no_early = a["r"] * a["T"] <= _NO_EARLY_RT
    out[no_early] = eur[no_early]
    valid = np.ones(inp.n, dtype=bool) if bad is None else ~bad
    broken = ~np.isfinite(out)
    if meth not in ("crr", "lr"):  # closed forms: below the European is a breakdown
        broken |= out < eur - 1e-9 * np.maximum(a["F"], a["K"])
    broken &= valid
    if broken.any():
        if on_error == "raise":
            i = int(np.flatnonzero(broken)[0])
            vals = ", ".join(f"{k}={float(a[k][i])!r}" for k in ("F", "K", "T", "r", "sigma"))
            raise PricingError(
                f"american(method={meth!r}): element {i} ({vals}) came out {float(out[i])!r} against the "
                f"European {float(eur[i])!r}: the method breaks down there; try method='lr' (a tree) or "
                "pass on_error='nan'"
            )
        out[broken] = np.nan
    if bad is not None:
        out[bad] = np.nan
    return out, inp, bad


def early_exercise_premium(
    F: Any,
    K: Any,
    T: Any,
    r: Any,
    sigma: Any,
    kind: Any = "call",
    *,
    method: str = "baw",
    steps: int = 500,
    on_error: OnError = "raise",
    allow_slow: bool = False,
) -> Any:
    """Early-exercise premium of an American option on a futures contract [CNY/unit].

    For ``"baw"`` and the Bjerksund-Stensland methods: American price minus the Black-76
    European price. For the trees (``"crr"``, ``"lr"``): American minus European priced on
    the same lattice, so the tree's discretisation error cancels (Hull's control variate)
    and the premium is never negative. Parameters are those of :func:`american`. With
    ``r T <= 1e-14`` (``r <= 0`` included) the premium is 0 for every method and kind.

    Examples
    --------
    >>> round(early_exercise_premium(100.0, 100.0, 0.5, 0.1, 0.25, "put"), 4)
    0.1016
    """
    out, inp, bad = _american(F, K, T, r, sigma, kind, method, steps, on_error, allow_slow)
    a = inp.arrays
    w = inp.w if inp.w is not None else np.ones(inp.n)
    eur = np.empty(inp.n)
    args = (a["F"], a["K"], a["T"], a["r"], a["sigma"], w)
    meth = str(method).lower()
    if meth in ("crr", "lr"):
        from cnfutures._kernels import american as ak

        tree = ak.american_crr_nb if meth == "crr" else ak.american_lr_nb
        tree(*args, int(steps), eur, False)
    else:
        from cnfutures._kernels.black76 import black76_price_nb

        black76_price_nb(*args, eur)
    premium = out - eur
    premium[a["r"] * a["T"] <= _NO_EARLY_RT] = 0.0
    if bad is not None:
        premium[bad] = np.nan
    return inp.wrap(premium, "premium")


# --------------------------------------------------------------------------------------
# cost of carry
# --------------------------------------------------------------------------------------
def _elementwise(
    kernel: Any, rules: dict[str, str], values: tuple[Any, ...], on_error: OnError, name: str
) -> Any:
    """Validate, broadcast, run an element-wise ``kernel(*arrays, out)``; NaN where invalid."""
    inp = _Inputs(tuple(rules), values, _NO_KIND)
    bad = _validate(inp, rules, on_error)
    out = np.empty(inp.n)
    kernel(*(inp.arrays[k] for k in rules), out)
    if bad is not None:
        out[bad] = np.nan
    return inp.wrap(out, name)


def fair_value(
    spot: Any,
    r: Any,
    T: Any,
    storage: Any = 0.0,
    convenience: Any = 0.0,
    *,
    on_error: OnError = "raise",
) -> Any:
    """Cost-of-carry fair futures price ``F = S exp((r + u - y) T)``.

    Parameters
    ----------
    spot : float, array or Series [CNY/unit]
        Spot price, > 0.
    r : float, array or Series [decimal per year, continuous]
        Financing rate.
    T : float, array or Series [years, ACT/365]
        Time to delivery, >= 0.
    storage : float, array or Series [decimal per year, continuous]
        Storage cost u as a yield on the spot price.
    convenience : float, array or Series [decimal per year, continuous]
        Convenience yield y.
    on_error : {"raise", "nan"}

    Returns
    -------
    float, numpy array or polars Series [CNY/unit]

    Examples
    --------
    >>> round(fair_value(500.0, 0.02, 0.5, storage=0.01, convenience=0.05), 4)
    495.0249
    """
    from cnfutures._kernels.carry import fair_value_nb

    rules = {
        "spot": "positive", "r": "finite", "T": "nonnegative", "storage": "finite", "convenience": "finite",
    }  # fmt: skip
    return _elementwise(fair_value_nb, rules, (spot, r, T, storage, convenience), on_error, "fair_value")


def implied_convenience_yield(
    spot: Any,
    futures: Any,
    r: Any,
    T: Any,
    storage: Any = 0.0,
    *,
    on_error: OnError = "raise",
) -> Any:
    """Convenience yield implied by a futures price: ``y = r + u - ln(F/S) / T``.

    The inverse of :func:`fair_value`.

    Parameters
    ----------
    spot : float, array or Series [CNY/unit]
        > 0.
    futures : float, array or Series [CNY/unit]
        > 0.
    r : float, array or Series [decimal per year, continuous]
    T : float, array or Series [years, ACT/365]
        > 0.
    storage : float, array or Series [decimal per year, continuous]
    on_error : {"raise", "nan"}

    Returns
    -------
    float, numpy array or polars Series [decimal per year, continuous]

    Examples
    --------
    >>> round(implied_convenience_yield(500.0, 495.0249, 0.02, 0.5, storage=0.01), 6)
    0.05
    """
    from cnfutures._kernels.carry import implied_convenience_yield_nb

    rules = {"spot": "positive", "futures": "positive", "r": "finite", "T": "positive", "storage": "finite"}
    return _elementwise(
        implied_convenience_yield_nb, rules, (spot, futures, r, T, storage), on_error, "convenience_yield"
    )


def roll_yield(
    frame: pl.DataFrame,
    *,
    contract: str = "contract",
    settle: str = "settle",
    last_trading_day: str = "last_trading_day",
    date: str | None = "date",
) -> pl.DataFrame:
    """Annualised roll yield between adjacent contracts of a futures curve.

    For each pair of neighbouring contracts (ordered by last trading day) on each date:
    ``roll_yield = ln(F_near / F_far) / (T_far - T_near)`` with ``T_far - T_near`` the
    difference of the last trading days in years (ACT/365). Positive in backwardation
    (a long position rolls up the curve), negative in contango.

    Parameters
    ----------
    frame : polars.DataFrame
        One row per contract (and date): columns ``contract`` (str), ``settle``
        [CNY/unit] (> 0) and ``last_trading_day`` (Date). Derive the last trading day
        with ``cnfutures.contract(code).last_trading_day`` when you only have codes.
    contract, settle, last_trading_day : str
        Column names.
    date : str or None
        Column holding the observation date; when present the curve is taken per date.

    Returns
    -------
    polars.DataFrame
        Columns (``date``,) ``near``, ``far``, ``near_settle``, ``far_settle``,
        ``years`` [years, ACT/365] and ``roll_yield`` [decimal per year, continuous].

    Examples
    --------
    >>> import datetime as dt
    >>> import polars as pl
    >>> curve = pl.DataFrame({
    ...     "contract": ["sc2505", "sc2506", "sc2507"],
    ...     "settle": [520.0, 515.0, 512.0],
    ...     "last_trading_day": [dt.date(2025, 4, 30), dt.date(2025, 5, 30),
    ...                          dt.date(2025, 6, 30)],
    ... })
    >>> roll_yield(curve).select("near", "far", pl.col("roll_yield").round(4)).rows()
    [('sc2505', 'sc2506', 0.1176), ('sc2506', 'sc2507', 0.0688)]
    """
    from cnfutures._kernels.carry import roll_yield_nb

    cols = [contract, settle, last_trading_day]
    missing = [c for c in cols if c not in frame.columns]
    if missing:
        raise PricingError(f"frame: missing column(s) {missing}; expected {cols} (+ optional {date!r})")
    if frame.schema[last_trading_day] != pl.Date:
        raise PricingError(f"{last_trading_day}: dtype {frame.schema[last_trading_day]}; expected Date")
    date_col = date if date is not None and date in frame.columns else None
    by = [date_col] if date_col is not None else []
    df = frame.sort([*by, last_trading_day])
    s = df[settle].cast(pl.Float64).to_numpy()
    bad = ~(np.isfinite(s) & (s > 0.0))
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise PricingError(
            f"{settle}: row {i} (contract {df[contract][i]!r}) is {s[i]!r}; expected a finite price > 0"
        )
    if df[last_trading_day].null_count():
        i = int(np.flatnonzero(df[last_trading_day].is_null().to_numpy())[0])
        raise PricingError(f"{last_trading_day}: row {i} is null; expected a Date")
    days = df[last_trading_day].cast(pl.Int32).to_numpy().astype(np.int64)
    if by:
        group = df.select(pl.col(by[0]).rank("dense").cast(pl.Int64)).to_series().to_numpy()
    else:
        group = np.zeros(df.height, dtype=np.int64)
    out = np.empty(df.height)
    years = np.empty(df.height)
    roll_yield_nb(np.ascontiguousarray(s), days, np.ascontiguousarray(group), out, years)
    nxt = df.select(pl.col(contract).shift(-1).alias("far"), pl.col(settle).shift(-1).alias("far_settle"))
    res = pl.DataFrame(
        {
            **({date_col: df[date_col]} if date_col is not None else {}),
            "near": df[contract],
            "far": nxt["far"],
            "near_settle": df[settle].cast(pl.Float64),
            "far_settle": nxt["far_settle"].cast(pl.Float64),
            "years": years,
            "roll_yield": out,
        }
    )
    return res.filter(pl.Series(np.isfinite(years)))
