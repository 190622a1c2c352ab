"""Inputs of a hedge backtest: the market, the exposure, the hedge policy and the costs."""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

import polars as pl

from cnfutures._dates import DateLike, parse_date
from cnfutures.errors import DataError, InputError
from cnfutures.frames.roll import RollRule
from cnfutures.frames.validate import check_settlements
from cnfutures.validation import check_declared, check_finite, check_fx, check_keys, check_option_prices

if TYPE_CHECKING:  # pragma: no cover
    from cnfutures.simulate import Params as simulate_Params

__all__ = [
    "RATIO_METHODS", "Costs", "Exposure", "HedgePolicy", "Market", "OptionLeg", "call_spread", "collar",
    "declare_units", "parse_ratio", "protective_call", "protective_put", "put_spread", "sample_params",
]

RATIO_METHODS: tuple[str, ...] = ("rolling", "ewma", "dcc")
_EXECUTION = ("settle", "open", "close")


def _check_frame(frame: pl.DataFrame, name: str, needed: dict[str, tuple[type[pl.DataType], ...]]) -> None:
    if not isinstance(frame, pl.DataFrame):
        raise InputError(f"{name} must be a polars DataFrame, got {type(frame).__name__}")
    missing = [c for c in needed if c not in frame.columns]
    if missing:
        raise InputError(f"{name} lacks column(s) {missing}; it needs {list(needed)}")
    for col, types in needed.items():
        dtype = frame.schema[col]
        if not isinstance(dtype, types) and dtype not in types:
            raise InputError(f"{name}.{col} has dtype {dtype}; accepted: {[t.__name__ for t in types]}")


_NUM = (pl.Float64, pl.Float32, pl.Int64, pl.Int32)


@dataclass(frozen=True)
class Market:
    """Prices a backtest runs on.

    Parameters
    ----------
    futures : polars.DataFrame
        Per-contract daily frame: ``trading_day`` (Date), ``contract`` (str), ``settle``
        [CNY/unit], optionally ``open``, ``close``, ``prev_settle`` [CNY/unit],
        ``open_interest``, ``volume`` [lots]. A ``path`` column, if present, must hold one path.
    prices : dict of str to polars.DataFrame
        Named spot / benchmark series for exposures: columns ``date`` and ``price``
        [currency/unit]; nulls are allowed (holidays) and skipped.
    usd_cny : polars.DataFrame
        FX fixing: ``date``, ``usd_cny`` [CNY per USD]; nulls skipped. Dates ascend with
        one row each; every rate is finite and > 0 (:func:`cnfutures.validation.check_fx`).

    Raises
    ------
    InputError, DataError
        A missing column or wrong dtype; duplicate or descending dates in any frame
        (``futures`` per contract); any finding of
        :func:`cnfutures.frames.validate.check_settlements` (a day off the calendar, a
        contract not listed that day, a missing or infinite settle, one <= 0 for a product
        that cannot go negative, a settle beyond the daily limit band); a price that is
        infinite; a USD/CNY rate <= 0 or infinite.
    simulated : bool
        True when ``futures`` comes from :mod:`cnfutures.simulate` (labelled in all output).
    label : str
        Description shown in reports.
    options : polars.DataFrame, optional
        Option settlements (a user's exchange files): ``trading_day`` (Date), ``option`` (code in
        any form :func:`cnfutures.market.options.option` reads), ``settle`` [CNY/unit]. Option legs
        are marked to them where present, else to the model.
    implied_vol : polars.DataFrame, optional
        Implied volatility of the product's options per day: ``date``, ``implied_vol``
        [1/√year]; applied as-of each trading day (the model price of option legs).

    Examples
    --------
    >>> import datetime as dt
    >>> f = pl.DataFrame({"trading_day": [dt.date(2025, 6, 3)], "contract": ["sc2508"],
    ...                   "settle": [480.3]})
    >>> fx = pl.DataFrame({"date": [dt.date(2025, 6, 3)], "usd_cny": [7.19]})
    >>> Market(f, {}, fx).futures.height
    1
    """

    futures: pl.DataFrame
    prices: dict[str, pl.DataFrame]
    usd_cny: pl.DataFrame
    simulated: bool = False
    label: str = ""
    options: pl.DataFrame | None = None
    implied_vol: pl.DataFrame | None = None

    def __post_init__(self) -> None:
        if self.options is not None:
            opts = self.options
            _check_frame(opts, "Market.options", {"trading_day": (pl.Date,), "option": (pl.String,),
                                                  "settle": _NUM})  # fmt: skip
            check_keys(opts, "trading_day", name="Market.options", by=("option",))
            check_option_prices(
                opts, ["settle"], name="Market.options",
                rows=lambda: [f"{d} {o}" for d, o in opts.select("trading_day", "option").iter_rows()],
                what="an option settlement is a number >= 0 [CNY/unit]",
            )  # fmt: skip
        if self.implied_vol is not None:
            _check_frame(self.implied_vol, "Market.implied_vol", {"date": (pl.Date,), "implied_vol": _NUM})
            check_keys(self.implied_vol, "date", name="Market.implied_vol")
            check_finite(self.implied_vol["implied_vol"], "Market.implied_vol.implied_vol", positive=True,
                         what="an implied volatility [1/sqrt(year)]")  # fmt: skip
        _check_frame(
            self.futures,
            "Market.futures",
            {"trading_day": (pl.Date,), "contract": (pl.String,), "settle": _NUM},
        )
        if "path" in self.futures.columns and self.futures["path"].n_unique() > 1:
            raise InputError("Market.futures holds several paths; select one (pl.col('path') == 0)")
        dup = self.futures.select("trading_day", "contract").is_duplicated()
        if dup.any():
            r = self.futures.filter(dup).row(0, named=True)
            raise DataError(
                "Market.futures has duplicate (trading_day, contract) rows, "
                f"e.g. {r['trading_day']} {r['contract']}",
                [f"{r['trading_day']} {r['contract']}" for r in self.futures.filter(dup).head(5).to_dicts()],
            )
        check_keys(self.futures, "trading_day", name="Market.futures", by=("contract",))
        check_settlements(self.futures, name="Market.futures").raise_if_errors(
            fix="Market.futures: fix or remove the rows listed"
        )
        for name, frame in self.prices.items():
            _check_frame(frame, f"Market.prices[{name!r}]", {"date": (pl.Date,), "price": _NUM})
            check_keys(frame, "date", name=f"Market.prices[{name!r}]")
            check_finite(frame["price"], f"Market.prices[{name!r}].price", what="a price [currency/unit]")
            _declared_units(frame, f"Market.prices[{name!r}]")
        _check_frame(self.usd_cny, "Market.usd_cny", {"date": (pl.Date,), "usd_cny": _NUM})
        check_fx(self.usd_cny, name="Market.usd_cny", allow_null=True, sort=False)

    def price_units(self, name: str) -> tuple[str, str] | None:
        """``(currency, unit)`` a price series declares, or None when it declares none.

        A series declares them with constant string columns ``currency`` (``"USD"`` or
        ``"CNY"``) and ``unit`` (``"bbl"``, ``"t"``), as :func:`cnfutures.frames.io.read_spot`
        and :meth:`Market.sample` write them.

        Examples
        --------
        >>> Market.sample("i", "2025-05-06", "2025-06-06").price_units("spot")
        ('CNY', 't')
        """
        if name not in self.prices:
            raise InputError(
                f"Market.prices has no series {name!r}; it holds {sorted(self.prices)}"
            )
        return _declared_units(self.prices[name], f"Market.prices[{name!r}]")

    @classmethod
    def sample(
        cls,
        product_code: str = "sc",
        start: DateLike = "2019-01-02",
        end: DateLike = "2025-06-06",
        *,
        seed: int = 20260101,
        params: simulate_Params | None = None,
        label: str | None = None,
    ) -> Market:
        """The bundled sample market: real EIA Brent and FRED USD/CNY, SIMULATED contracts.

        For ``sc`` the per-contract settlements follow Brent × USD/CNY × 0.99 (median SC /
        Brent ratio, see the data README) through :func:`cnfutures.simulate.market` with a
        mean-reverting basis; ``prices`` holds ``"brent"`` [USD/bbl]. For ``i``, ``nr``,
        ``ru`` (no shippable USD benchmark) the whole market is simulated and ``prices`` holds
        ``"spot"``: the model's spot [CNY/unit]. The one builder of sample markets (a sweep's
        :class:`~cnfutures.backtest.sweep.SimulatedMarket` builds through it too).

        Parameters
        ----------
        product_code : str
            ``sc``, ``i``, ``nr`` or ``ru``.
        start, end : date or str
            First and last calendar date.
        seed : int
            Seed of the simulated contracts.
        params : simulate.Params, optional
            Model parameters (default :func:`sample_params`).
        label : str, optional
            Market description (default: what was simulated and from which data).

        Examples
        --------
        >>> m = Market.sample("sc", "2025-05-06", "2025-06-06")
        >>> m.simulated, sorted(m.prices)
        (True, ['brent'])
        """
        from cnfutures import simulate
        from cnfutures.frames.datasets import load_brent, load_usdcny
        from cnfutures.market.products import product

        p = product(product_code)
        prm = params if params is not None else sample_params(p.code)
        # FRED DEXCHUS [CNY per USD], nulls kept; EIA Brent spot [USD/bbl] (both bundled)
        fx = load_usdcny().select(pl.col("date"), pl.col("usd_cny").cast(pl.Float64))
        if p.code == "sc":
            brent = load_brent().select(pl.col("date"), pl.col("price").cast(pl.Float64))
            fut = simulate.market("sc", start, end=end, seed=seed, params=prm, benchmark=brent, usd_cny=fx)
            prices = {"brent": declare_units(brent, "USD", "bbl")}
            text = "SIMULATED sc contracts driven by EIA Brent spot × FRED USD/CNY (seeded model)"
        else:
            fut = simulate.market(p.code, start, end=end, seed=seed, params=prm)
            spot = fut.group_by("trading_day").agg(pl.col("spot").first()).sort("trading_day")
            prices = {"spot": declare_units(
                spot.select(pl.col("trading_day").alias("date"), pl.col("spot").alias("price")),
                "CNY", p.unit,
            )}
            text = f"SIMULATED {p.code} contracts and spot (seeded two-factor model) with FRED USD/CNY"
        return cls(futures=fut.drop("path"), prices=prices, usd_cny=fx, simulated=True, label=label or text)


def declare_units(frame: pl.DataFrame, currency: str, unit: str) -> pl.DataFrame:
    """A price frame with its currency and unit declared as constant columns.

    Examples
    --------
    >>> import datetime as dt
    >>> f = declare_units(pl.DataFrame({"date": [dt.date(2025, 6, 3)], "price": [780.5]}), "cny", "t")
    >>> f.columns, f.row(0)[2:]
    (['date', 'price', 'currency', 'unit'], ('CNY', 't'))
    """
    currency, unit = check_declared(currency, unit, name="declare_units")
    return frame.with_columns(currency=pl.lit(currency), unit=pl.lit(unit))


def _declared_units(frame: pl.DataFrame, name: str) -> tuple[str, str] | None:
    have = [c for c in ("currency", "unit") if c in frame.columns]
    if not have:
        return None
    if len(have) == 1:
        missing = "unit" if have == ["currency"] else "currency"
        raise InputError(f"{name} has a {have[0]!r} column but no {missing!r}; declare both")
    vals = []
    for col in ("currency", "unit"):
        uniq = frame[col].drop_nulls().unique().to_list()
        if frame[col].null_count() or len(uniq) != 1:
            raise InputError(
                f"{name}.{col} must hold one value on every row (a series has one "
                f"{col}); found {sorted(map(str, uniq))} and {frame[col].null_count()} nulls"
            )
        vals.append(uniq[0])
    return check_declared(vals[0], vals[1], name=name)


def parse_ratio(text: str) -> float | str:
    """A hedge ratio given on the command line: a finite number, or rolling / ewma / dcc.

    Examples
    --------
    >>> parse_ratio("0.8"), parse_ratio("ewma")
    (0.8, 'ewma')
    """
    if text in RATIO_METHODS:
        return text
    try:
        value = float(text)
    except ValueError:
        raise InputError(
            f"--ratio {text!r} is not accepted; give a number (e.g. 0.8) or {', '.join(RATIO_METHODS)}"
        ) from None
    if not math.isfinite(value):
        raise InputError(
            f"--ratio {text!r} is not accepted; give a finite number or {', '.join(RATIO_METHODS)}"
        )
    return value


def sample_params(product_code: str) -> simulate_Params:
    """Model parameters of :meth:`Market.sample` for a product.

    For ``sc`` the contracts follow Brent × USD/CNY × 0.99 with the Beijing/London timing
    lag (``benchmark_lag`` 0.65: a day's SC move holds 35 % of Brent's move that day and
    65 % of the previous day's) and a basis calibrated to the real 2018-2025 SC-Brent
    co-movement (``kappa`` 1.5, ``sigma_chi`` 0.2, ``carry`` -0.07, ``close_sd`` 0.009;
    the comparison table is in docs/simulate.md and tests/test_sample_calibration.py);
    other products use :func:`cnfutures.simulate.default_params`.

    Examples
    --------
    >>> sample_params("sc").basis, sample_params("sc").benchmark_lag
    (0.99, 0.65)
    """
    from cnfutures import simulate
    from cnfutures.market.products import product

    code = product(product_code).code
    base = simulate.default_params(code)
    if code == "sc":
        return simulate.with_params(
            base, basis=0.99, sigma_chi=0.2, kappa=1.5, carry=-0.07, close_sd=0.009, benchmark_lag=0.65
        )
    return base


@dataclass(frozen=True)
class Exposure:
    """A physical exposure priced off a named series.

    Parameters
    ----------
    quantity : float or polars.DataFrame
        Physical quantity [unit, e.g. bbl or t], constant or a frame ``date``, ``quantity``
        applied as-of each trading day (a step schedule, e.g. cargoes being priced).
    side : {"long", "short"}
        ``"long"`` gains when the price rises (a producer or stock holder); ``"short"``
        loses when it rises (a buyer with unpriced purchases, e.g. a refiner's cargoes).
    price : str
        Name of the series in :attr:`Market.prices`.
    currency : {"USD", "CNY"}, optional
        Currency of that series. Default None: taken from the series, which must then declare
        it (constant ``currency``/``unit`` columns, see :meth:`Market.price_units`). Given
        for a series that declares another currency, it is an error, not a conversion: a
        CNY price booked as USD would overstate the exposure P&L about 7 times.
    unit : str, optional
        Unit of ``quantity`` (``"bbl"``, ``"t"``); when given it must equal the series' unit.

    Examples
    --------
    >>> Exposure(1_000_000, "short", price="brent").sign
    -1.0
    >>> Exposure(200_000, "long", "spot").currency_in(Market.sample("i", "2025-05-06", "2025-06-06"))
    'CNY'
    """

    quantity: float | pl.DataFrame
    side: Literal["long", "short"] = "long"
    price: str = "brent"
    currency: Literal["USD", "CNY"] | None = None
    unit: str | None = None

    def __post_init__(self) -> None:
        if self.side not in ("long", "short"):
            raise InputError(f"Exposure side={self.side!r}; accepted: 'long', 'short'")
        if self.currency is not None and self.currency not in ("USD", "CNY"):
            raise InputError(
                f"Exposure currency={self.currency!r}; accepted: 'USD', 'CNY' or None (from the series)"
            )
        if self.unit is not None and not isinstance(self.unit, str):
            raise InputError(f"Exposure unit={self.unit!r} must be a unit such as 'bbl' or 't', or None")
        q = self.quantity
        if isinstance(q, pl.DataFrame):
            _check_frame(q, "Exposure.quantity", {"date": (pl.Date,), "quantity": _NUM})
        elif isinstance(q, bool) or not isinstance(q, int | float) or not math.isfinite(q) or q < 0:
            raise InputError(f"Exposure quantity={q!r} must be a finite number >= 0 [unit] or a frame")

    @property
    def sign(self) -> float:
        """+1 for a long exposure, -1 for a short one."""
        return 1.0 if self.side == "long" else -1.0

    def currency_in(self, market: Market) -> str:
        """The currency of the exposure's price series in ``market``, checked.

        Raises
        ------
        InputError
            The series is not in the market; it declares no currency and the exposure
            states none; the exposure's currency or unit differs from the series'.
        """
        declared = market.price_units(self.price)
        where = f"Market.prices[{self.price!r}]"
        if declared is None:
            if self.currency is None:
                raise InputError(
                    f"{where} declares no currency: add constant columns currency and unit "
                    "(cnfutures.backtest.model.declare_units(frame, 'CNY', 't'), or "
                    "read_spot(..., currency=, unit=)), or pass Exposure(currency='USD'|'CNY')"
                )
            return self.currency
        cur, unit = declared
        if self.currency is not None and self.currency != cur:
            raise InputError(
                f"Exposure(currency={self.currency!r}) but {where} is in {cur}/{unit}; a price "
                f"in {cur} read as {self.currency} gives a P&L off by the exchange rate. Drop "
                "currency= (it is taken from the series) or convert the series"
            )
        if self.unit is not None and self.unit != unit:
            raise InputError(
                f"Exposure(unit={self.unit!r}) but {where} is priced per {unit!r}; convert the "
                "quantity or the series so both use one unit"
            )
        return cur

    @classmethod
    def monthly_cargoes(
        cls,
        volume: float,
        start: DateLike,
        end: DateLike,
        *,
        side: Literal["long", "short"] = "short",
        price: str = "brent",
        currency: Literal["USD", "CNY"] | None = None,
    ) -> Exposure:
        """A purchase (``side="short"``) or sale programme of one cargo a month.

        The cargo of month ``m`` is priced on its loading month, so from the start of month
        ``m - 1`` the firm carries the unpriced volume of the next cargo: ``volume`` [unit]
        all the time, as a step schedule dated the 1st of each month.

        Examples
        --------
        >>> e = Exposure.monthly_cargoes(500_000, "2025-01-01", "2025-03-31")
        >>> e.quantity.height, e.side
        (3, 'short')
        """
        d0, d1 = parse_date(start, "start"), parse_date(end, "end")
        months: list[dt.date] = []
        y, m = d0.year, d0.month
        while dt.date(y, m, 1) <= d1:
            months.append(dt.date(y, m, 1))
            y, m = (y + 1, 1) if m == 12 else (y, m + 1)
        q = pl.DataFrame({"date": months, "quantity": [float(volume)] * len(months)})
        return cls(q, side, price, currency)


@dataclass(frozen=True)
class OptionLeg:
    """One option leg of a hedge: a series chosen by a rule, held to expiry or rolled.

    Parameters
    ----------
    kind : {"call", "put"}
    side : {"long", "short"}
        ``"long"`` buys the options (pays the premium), ``"short"`` writes them (receives it and
        posts the short-option margin).
    moneyness : float
        Strike rule: ``strike / underlying settlement`` on the day a series is opened, snapped to
        the nearest strike of the exchange's grid (1.05: 5 % out of the money for a call).
    tenor_months : int
        The series opened is the first whose expiry is at least this many calendar months after
        the opening day (its underlying is a listed futures contract of the product).
    ratio : float
        Size: option lots per lot of the exposure's futures equivalent (``quantity / size``),
        rounded to whole lots; 1.0 covers the whole exposure.
    roll_days : int [trading days]
        0: hold each series to expiry (exercised in the money), open the next one the next
        trading day; ``n > 0``: close it ``n`` trading days before expiry and open the next
        series that day.

    Examples
    --------
    >>> OptionLeg("call", moneyness=1.05, tenor_months=2).side
    'long'
    """

    kind: Literal["call", "put"]
    side: Literal["long", "short"] = "long"
    moneyness: float = 1.0
    tenor_months: int = 1
    ratio: float = 1.0
    roll_days: int = 0

    def __post_init__(self) -> None:
        if self.kind not in ("call", "put"):
            raise InputError(f"OptionLeg kind={self.kind!r}; accepted: 'call', 'put'")
        if self.side not in ("long", "short"):
            raise InputError(f"OptionLeg side={self.side!r}; accepted: 'long', 'short'")
        m = self.moneyness
        if isinstance(m, bool) or not isinstance(m, int | float) or not 0.5 <= m <= 1.5:
            raise InputError(
                f"OptionLeg moneyness={m!r} must be a number in [0.5, 1.5] (strike / futures)"
            )
        r = self.ratio
        if isinstance(r, bool) or not isinstance(r, int | float) or not math.isfinite(r) or r <= 0:
            raise InputError(
                f"OptionLeg ratio={r!r} must be a finite number > 0 [option lots per futures lot]"
            )
        for name, lo, hi in (("tenor_months", 1, 12), ("roll_days", 0, 20)):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or not lo <= v <= hi:
                raise InputError(f"OptionLeg {name}={v!r} must be a whole number in [{lo}, {hi}]")

    @property
    def w(self) -> float:
        """+1 for a call, -1 for a put."""
        return 1.0 if self.kind == "call" else -1.0

    @property
    def sign(self) -> float:
        """+1 long, -1 short."""
        return 1.0 if self.side == "long" else -1.0


def protective_call(
    moneyness: float = 1.0, tenor_months: int = 1, ratio: float = 1.0
) -> tuple[OptionLeg, ...]:
    """Long calls: a buyer's (short exposure's) cap on the price paid.

    Examples
    --------
    >>> protective_call(1.05)[0].kind
    'call'
    """
    return (OptionLeg("call", "long", moneyness, tenor_months, ratio),)


def protective_put(
    moneyness: float = 1.0, tenor_months: int = 1, ratio: float = 1.0
) -> tuple[OptionLeg, ...]:
    """Long puts: a seller's (long exposure's) floor on the price received.

    Examples
    --------
    >>> protective_put(0.95)[0].side
    'long'
    """
    return (OptionLeg("put", "long", moneyness, tenor_months, ratio),)


def collar(
    cap: float = 1.05, floor: float = 0.95, tenor_months: int = 1, ratio: float = 1.0, *, buyer: bool = True
) -> tuple[OptionLeg, ...]:
    """A collar: for a buyer (``buyer=True``) long calls at ``cap`` financed by short puts at
    ``floor``; for a seller long puts at ``floor`` and short calls at ``cap`` (moneyness).

    Examples
    --------
    >>> [(x.kind, x.side, x.moneyness) for x in collar(1.05, 0.95)]
    [('call', 'long', 1.05), ('put', 'short', 0.95)]
    """
    if not floor < cap:
        raise InputError(f"collar floor={floor!r} must be below cap={cap!r} (moneyness)")
    if buyer:
        return (
            OptionLeg("call", "long", cap, tenor_months, ratio),
            OptionLeg("put", "short", floor, tenor_months, ratio),
        )
    return (
        OptionLeg("put", "long", floor, tenor_months, ratio),
        OptionLeg("call", "short", cap, tenor_months, ratio),
    )


def call_spread(
    low: float = 1.0, high: float = 1.1, tenor_months: int = 1, ratio: float = 1.0
) -> tuple[OptionLeg, ...]:
    """Long calls at ``low``, short calls at ``high`` (moneyness): a capped cap.

    Examples
    --------
    >>> [x.side for x in call_spread()]
    ['long', 'short']
    """
    if not low < high:
        raise InputError(f"call_spread low={low!r} must be below high={high!r} (moneyness)")
    return (
        OptionLeg("call", "long", low, tenor_months, ratio),
        OptionLeg("call", "short", high, tenor_months, ratio),
    )


def put_spread(
    high: float = 1.0, low: float = 0.9, tenor_months: int = 1, ratio: float = 1.0
) -> tuple[OptionLeg, ...]:
    """Long puts at ``high``, short puts at ``low`` (moneyness): a floor down to ``low``.

    Examples
    --------
    >>> [(x.kind, x.moneyness) for x in put_spread()]
    [('put', 1.0), ('put', 0.9)]
    """
    if not low < high:
        raise InputError(f"put_spread low={low!r} must be below high={high!r} (moneyness)")
    return (
        OptionLeg("put", "long", high, tenor_months, ratio),
        OptionLeg("put", "short", low, tenor_months, ratio),
    )


@dataclass(frozen=True)
class HedgePolicy:
    """How the hedge is run.

    Parameters
    ----------
    product : str
        Futures product (``"sc"``, ``"i"``, ``"nr"``, ``"ru"``).
    ratio : float or {"rolling", "ewma", "dcc"}
        Hedge ratio [futures units per exposure unit], or a method re-estimated every
        ``reestimate_every`` trading days from past USD price changes only (see
        :func:`cnfutures.hedging.hedge_ratio`); until the first estimate, ``initial_ratio``.
    roll : RollRule
        Which contract to hold (:class:`cnfutures.frames.roll.RollRule`).
    band : float [lots]
        No rebalancing while the position is within ``band`` lots of the target.
    execution : {"settle", "open", "close"}
        Price at which trades are done (before slippage).
    slippage_ticks : float [ticks]
        Adverse slippage per lot traded.
    window : int [trading days]
        Estimation window of the ratio methods (rolling OLS window; EWMA warm-up).
    reestimate_every : int [trading days]
        Re-estimation interval of the ratio methods.
    initial_ratio : float
        Ratio used before the first estimate.
    lam : float
        EWMA decay.
    options : tuple of OptionLeg
        Option legs booked beside the futures (:func:`collar`, :func:`protective_call`, ...);
        ``ratio=0`` hedges with the options alone.
    option_vol : float, optional [1/√year]
        Implied volatility of the model price of the option legs when the market carries
        neither option settlements nor ``Market.implied_vol``.
    option_rate : float [1/year]
        Discount rate of the option pricing models (ACT/365).

    Examples
    --------
    >>> HedgePolicy("sc", ratio=0.8).ratio
    0.8
    >>> len(HedgePolicy("sc", ratio=0.0, options=collar(1.05, 0.95)).options)
    2
    """

    product: str
    ratio: float | str = 1.0
    roll: RollRule = field(default_factory=lambda: RollRule(kind="calendar", days_before_ltd=5))
    band: float = 0.0
    execution: Literal["settle", "open", "close"] = "settle"
    slippage_ticks: float = 0.0
    window: int = 60
    reestimate_every: int = 21
    initial_ratio: float = 1.0
    lam: float = 0.94
    options: tuple[OptionLeg, ...] = ()
    option_vol: float | None = None
    option_rate: float = 0.0

    def __post_init__(self) -> None:
        legs = self.options
        if not isinstance(legs, tuple) or not all(isinstance(x, OptionLeg) for x in legs):
            raise InputError("HedgePolicy options must be a tuple of OptionLeg (e.g. collar(1.05, 0.95))")
        v = self.option_vol
        if v is not None and (isinstance(v, bool) or not isinstance(v, int | float) or not 0 < v < 5):
            raise InputError(f"option_vol={v!r} must be a volatility in (0, 5) [1/sqrt(year)] or None")
        rr = self.option_rate
        if isinstance(rr, bool) or not isinstance(rr, int | float) or not -0.1 < rr < 0.5:
            raise InputError(f"option_rate={rr!r} must be a rate in (-0.1, 0.5) [1/year]")
        r = self.ratio
        if isinstance(r, str):
            if r not in RATIO_METHODS:
                raise InputError(f"ratio={r!r}; accepted: a number or one of {', '.join(RATIO_METHODS)}")
        elif isinstance(r, bool) or not isinstance(r, int | float) or not math.isfinite(r) or r < 0:
            raise InputError(f"ratio={r!r} must be a finite number >= 0 or one of {', '.join(RATIO_METHODS)}")
        if self.execution not in _EXECUTION:
            raise InputError(f"execution={self.execution!r}; accepted: {', '.join(_EXECUTION)}")
        for name in ("band", "slippage_ticks", "initial_ratio"):
            v = getattr(self, name)
            if not isinstance(v, int | float) or not math.isfinite(v) or v < 0:
                raise InputError(f"{name}={v!r} must be a finite number >= 0")
        for name in ("window", "reestimate_every"):
            v = getattr(self, name)
            if not isinstance(v, int) or v < 1:
                raise InputError(f"{name}={v!r} must be a positive whole number of trading days")
        if not 0 < self.lam < 1:
            raise InputError(f"lam={self.lam!r} must lie in (0, 1)")
        if not isinstance(self.roll, RollRule):
            raise InputError(f"roll must be a RollRule, got {type(self.roll).__name__}")


@dataclass(frozen=True)
class Costs:
    """Trading, FX and funding costs, and the margin-account policy.

    Parameters
    ----------
    exchange_fees : bool
        Charge the exchange fees of the dated rules (per lot or per turnover).
    commission : float [CNY/lot]
        Futures-firm commission per lot traded.
    fx_spread : float [fraction]
        Spread on every USD→CNY and CNY→USD conversion.
    funding_rate : float [1/year]
        USD funding rate on the net USD sent to the futures firm (ACT/365).
    broker_addon : float [fraction]
        Futures-firm margin add-on on top of the exchange rate (0.02 = +2 points).
    haircut : float or None [fraction]
        Value of USD collateral as a share of its CNY value (default: the exchange's
        haircut from :func:`cnfutures.access.collateral.default_haircut`).
    margin_buffer : float [fraction]
        A margin call tops equity up to ``(1 + margin_buffer) ×`` the requirement.
    release_above : float [fraction]
        Equity above ``(1 + release_above) ×`` the requirement is released down to the
        buffer level (``release_above >= margin_buffer``).

    Examples
    --------
    >>> Costs.zero().fx_spread
    0.0
    """

    exchange_fees: bool = True
    commission: float = 2.0
    fx_spread: float = 0.0005
    funding_rate: float = 0.05
    broker_addon: float = 0.0
    haircut: float | None = None
    margin_buffer: float = 0.2
    release_above: float = 0.5

    def __post_init__(self) -> None:
        for name in (
            "commission",
            "fx_spread",
            "funding_rate",
            "broker_addon",
            "margin_buffer",
            "release_above",
        ):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v) or v < 0:
                raise InputError(f"Costs.{name}={v!r} must be a finite number >= 0")
        if self.fx_spread >= 0.5:
            raise InputError(f"Costs.fx_spread={self.fx_spread!r} must be below 0.5 (a fraction)")
        if self.haircut is not None and not 0 < self.haircut <= 1:
            raise InputError(f"Costs.haircut={self.haircut!r} must lie in (0, 1]")
        if self.release_above < self.margin_buffer:
            raise InputError(
                f"Costs.release_above={self.release_above} must be >= margin_buffer={self.margin_buffer}"
            )

    @classmethod
    def zero(cls) -> Costs:
        """No fees, commission, FX spread or funding (haircut 1, no buffer)."""
        return cls(
            exchange_fees=False, commission=0.0, fx_spread=0.0, funding_rate=0.0, haircut=1.0,
            margin_buffer=0.0, release_above=0.0,
        )  # fmt: skip
