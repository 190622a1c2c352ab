"""Units you cannot mix up (issue 16, part 3): a price series declares its currency and unit;
an Exposure takes them from the series; a CNY price read as USD is an error, not a number."""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl
import pytest

from cnfutures.access import Investor
from cnfutures.backtest import Exposure, HedgePolicy, Market, run
from cnfutures.backtest.model import declare_units
from cnfutures.errors import InputError

START, END = "2025-01-02", "2025-03-31"


@pytest.fixture(scope="module")
def iron() -> Market:
    return Market.sample("i", START, END)


def test_sample_series_declare_their_units(iron: Market) -> None:
    assert iron.price_units("spot") == ("CNY", "t")
    sc = Market.sample("sc", START, END)
    assert sc.price_units("brent") == ("USD", "bbl")
    with pytest.raises(InputError, match="no series 'wti'"):
        sc.price_units("wti")


def test_exposure_takes_the_currency_of_its_series(iron: Market) -> None:
    """Exposure(200_000, "long", "spot") used to default to USD while the i spot is CNY/t:
    exposure P&L about 7x too large. Now the currency comes from the series."""
    pol, inv = HedgePolicy("i", ratio=1.0), Investor("ff_client")
    implicit = run(iron, Exposure(200_000, "long", "spot"), pol, inv)
    stated = run(iron, Exposure(200_000, "long", "spot", "CNY", unit="t"), pol, inv)
    a, b = implicit.ledger["exposure_pnl_usd"], stated.ledger["exposure_pnl_usd"]
    assert a.equals(b)
    # USD P&L = quantity x change of (CNY price / USD/CNY), computed here from the inputs
    led = implicit.ledger
    usd = led["exposure_price"] / led["usd_cny"]
    expected = 200_000 * usd.diff().fill_null(0.0)
    np.testing.assert_allclose(led["exposure_pnl_usd"].to_numpy(), expected.to_numpy(), rtol=1e-12,
                               atol=1e-6)
    with pytest.raises(InputError, match=r"currency='USD'\) but Market.prices\['spot'\] is in CNY/t"):
        run(iron, Exposure(200_000, "long", "spot", "USD"), pol, inv)
    with pytest.raises(InputError, match=r"unit='bbl'\) but Market.prices\['spot'\] is priced per 't'"):
        run(iron, Exposure(200_000, "long", "spot", unit="bbl"), pol, inv)


def test_a_series_without_currency_needs_one_stated(iron: Market) -> None:
    bare = {"spot": iron.prices["spot"].select("date", "price")}
    m = Market(iron.futures, bare, iron.usd_cny)
    assert m.price_units("spot") is None
    pol, inv = HedgePolicy("i", ratio=1.0), Investor("ff_client")
    with pytest.raises(InputError, match=r"Market.prices\['spot'\] declares no currency"):
        run(m, Exposure(200_000, "long", "spot"), pol, inv)
    ok = run(m, Exposure(200_000, "long", "spot", "CNY"), pol, inv)
    assert ok.ledger["exposure_pnl_usd"].abs().max() > 0


def test_declared_units_are_validated() -> None:
    d = [dt.date(2025, 6, 3), dt.date(2025, 6, 4)]
    f = pl.DataFrame({"date": d, "price": [780.0, 781.0]})
    fx = pl.DataFrame({"date": d, "usd_cny": [7.19, 7.19]})
    fut = pl.DataFrame({"trading_day": d[:1], "contract": ["i2509"], "settle": [700.0]})
    with pytest.raises(InputError, match="currency='EUR' is not accepted"):
        declare_units(f, "EUR", "t")
    mixed = f.with_columns(currency=pl.Series(["CNY", "USD"]), unit=pl.lit("t"))
    with pytest.raises(InputError, match=r"currency must hold one value"):
        Market(fut, {"spot": mixed}, fx)
    with pytest.raises(InputError, match="no 'unit'"):
        Market(fut, {"spot": f.with_columns(currency=pl.lit("CNY"))}, fx)
    with pytest.raises(InputError, match="unit='wmt' is not accepted"):
        Market(fut, {"spot": f.with_columns(currency=pl.lit("CNY"), unit=pl.lit("wmt"))}, fx)


def test_to_usd_accepts_expressions() -> None:
    from cnfutures import hedging

    f = pl.DataFrame({"settle": [720.0, 705.5, 700.0, 710.0], "usd_cny": [7.2, 7.1, None, -1.0]})
    out = f.select(usd=hedging.to_usd(pl.col("settle"), pl.col("usd_cny")))["usd"].to_list()
    assert out[0] == pytest.approx(100.0, rel=1e-15) and out[1] == pytest.approx(705.5 / 7.1, rel=1e-15)
    assert out[2:] == [None, None]
    assert f.select(hedging.to_usd(pl.col("settle"), 7.2))["settle"][0] == pytest.approx(100.0)
    with pytest.raises(InputError, match="usd_cny"):
        hedging.to_usd(pl.col("settle"), 0.0)
    with pytest.raises(InputError, match="mixes a polars expression"):
        hedging.to_usd(pl.col("settle"), f["usd_cny"])
