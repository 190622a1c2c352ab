"""Bundled sample market data (``cnfutures.datasets``).

Only data whose licence allows redistribution is shipped (see ``data/NOTICE.txt``): EIA
Brent and WTI spot (public domain), FRED USD/CNY (public domain), and a CC0 sample of real
5-minute bars of sc and i contracts. Everything loads offline from the package.

Examples
--------
>>> import cnfutures
>>> cnfutures.datasets.load_brent().height > 4000
True
"""

from __future__ import annotations

import functools
import warnings
from importlib import resources

import polars as pl

from cnfutures.frames.io import read_futures, read_fx, read_intraday, read_spot
from cnfutures.frames.validate import DataQualityWarning

__all__ = [
    "load_brent",
    "load_cc0_bars",
    "load_cc0_daily",
    "load_usdcny",
    "load_usdcny_monthly",
    "load_wti",
]


def _path(name: str) -> str:
    return str(resources.files("cnfutures.frames").joinpath("data", name))


@functools.cache
def _cached(name: str) -> pl.DataFrame:
    with warnings.catch_warnings():
        # blank FRED values are known and documented; they stay null
        warnings.simplefilter("ignore", DataQualityWarning)
        if name.startswith(("brent", "wti")):
            return read_spot(_path(name), currency="USD", unit="bbl")
        if name.startswith("usdcny"):
            return read_fx(_path(name))
        if "5min_bars" in name:
            return read_intraday(_path(name))
        daily = read_futures(_path(name), columns={"vwap_floor_tick": "settle"})
        assert isinstance(daily, pl.DataFrame)
        return daily.with_columns(pl.col("n_bars").cast(pl.Int64), pl.col("vwap").cast(pl.Float64))


def load_brent() -> pl.DataFrame:
    """Europe Brent spot price FOB, daily, 2010-01-04 .. 2026-08-18.

    Source: U.S. Energy Information Administration (EIA series RBRTE), packaged by GitHub
    ``datasets/oil-prices``. Licence: public domain (US government work; packaging
    PDDL-1.0). Cite "Source: U.S. Energy Information Administration".

    Spot assessments, not futures settlements; London/US holiday gaps; minimum 9.12 USD/bbl
    on 2020-04-21.

    Returns
    -------
    polars.DataFrame
        ``date`` (Date), ``price`` [USD/bbl], ``currency`` ("USD"), ``unit`` ("bbl").

    Examples
    --------
    >>> b = load_brent()
    >>> b.height, b["price"].min()
    (4207, 9.12)
    """
    return _cached("brent_spot_daily_eia.csv.gz").clone()


def load_wti() -> pl.DataFrame:
    """Cushing WTI spot price FOB, daily, 2010-01-04 .. 2026-08-18.

    Source: U.S. Energy Information Administration (EIA series RWTC), packaged by GitHub
    ``datasets/oil-prices``. Licence: public domain (US government work; packaging
    PDDL-1.0). Cite "Source: U.S. Energy Information Administration".

    Includes the negative print of 2020-04-20 (-36.98 USD/bbl), which is valid data.

    Returns
    -------
    polars.DataFrame
        ``date`` (Date), ``price`` [USD/bbl], ``currency``, ``unit``.

    Examples
    --------
    >>> w = load_wti()
    >>> w.height, w["price"].min()
    (4170, -36.98)
    """
    return _cached("wti_spot_daily_eia.csv.gz").clone()


def load_usdcny() -> pl.DataFrame:
    """USD/CNY daily (FRED DEXCHUS), CNY per 1 USD, 2010-01-01 .. 2025-06-06.

    This is the Federal Reserve H.10 **noon buying rate in New York** (FRED/Fed H.10), not
    the CFETS onshore central-parity fixing: it follows the US calendar (US holidays are
    blank, kept as nulls: 166 rows) and repeats values over Chinese holidays.

    Source: Board of Governors of the Federal Reserve System (H.10) via FRED, Federal
    Reserve Bank of St. Louis. Licence: public domain (citation requested).

    Returns
    -------
    polars.DataFrame
        ``date`` (Date), ``usd_cny`` [CNY per USD], null on US holidays.

    Examples
    --------
    >>> fx = load_usdcny()
    >>> fx.height, fx["usd_cny"].null_count()
    (4026, 166)
    """
    return _cached("usdcny_daily_fred_dexchus.csv.gz").clone()


def load_usdcny_monthly() -> pl.DataFrame:
    """USD/CNY monthly average (FRED EXCHUS), CNY per 1 USD, 2010-01 .. 2026-06.

    ``date`` is the first day of the month. Source: Federal Reserve H.10 via FRED, packaged
    by GitHub ``datasets/exchange-rates``. Licence: public domain (FRED), packaging PDDL-1.0.

    Examples
    --------
    >>> m = load_usdcny_monthly()
    >>> m.height, str(m["date"][0])
    (198, '2010-01-01')
    """
    return _cached("usdcny_monthly_fred_exchus.csv.gz").clone()


def load_cc0_bars() -> pl.DataFrame:
    """Real 5-minute bars of sc2508, sc2509 (INE) and i2509, i2601 (DCE), June 2025.

    Trading days 2025-06-26, 06-27, 06-30 for sc (111 bars a day, night session included)
    and 2025-06-27, 06-30 for i (69 bars a day). ``datetime`` is the bar start (Beijing
    time); the night session belongs to the next trading day.

    Source: GitHub ``Freddy-Hexas/china-futures-5min-2015-2025`` (tail rows of four
    contract files). Licence: CC0 1.0 (public domain dedication).

    Returns
    -------
    polars.DataFrame
        ``exchange``, ``contract``, ``trading_day``, ``datetime``, ``open``, ``high``,
        ``low``, ``close`` [CNY/unit], ``volume`` [lots], ``turnover`` [CNY],
        ``open_interest`` [lots].

    Examples
    --------
    >>> load_cc0_bars().height
    942
    """
    return _cached("sc_i_5min_bars_2025-06.csv.gz").clone()


def load_cc0_daily() -> pl.DataFrame:
    """Daily bars aggregated from :func:`load_cc0_bars` (10 rows, derived).

    ``settle`` is the VWAP truncated to the tick (the source file's ``vwap_floor_tick``);
    it equals the published settlement on all 5 days where that is known (sc2508 505.4,
    502.2, 496.1; i2509 714.0, 718.0). ``vwap`` and ``n_bars`` are kept.

    Source: derived from the CC0 5-minute sample. Licence: CC0 1.0.

    Examples
    --------
    >>> d = load_cc0_daily()
    >>> d.filter(d["contract"] == "i2509")["settle"].to_list()
    [714.0, 718.0]
    """
    return _cached("sc_i_daily_from_5min_2025-06.csv.gz").clone()
