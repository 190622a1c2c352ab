"""Loaders on hostile files: a typed error or the right frame, never a plausible wrong number.

Each case was a silent wrong answer before issue 15 (noted as "before:").
"""

from __future__ import annotations

import datetime as dt
import warnings
from pathlib import Path

import polars as pl
import pytest

from cnfutures.errors import DataError, InputError
from cnfutures.frames.io import read_futures, read_fx, read_intraday, read_spot

H = "trading_day,contract,open,high,low,close,settle,volume,open_interest\n"
ROW = "2025-06-27,sc2508,497.0,499.0,494.0,495.0,496.1,100,200\n"
IH = "datetime,contract,open,high,low,close,volume,turnover,open_interest\n"


def _write(tmp_path: Path, name: str, text: str, encoding: str = "utf-8") -> Path:
    p = tmp_path / name
    p.write_text(text, encoding=encoding)
    return p


def _checks(exc: pytest.ExceptionInfo[DataError]) -> set[str]:
    rep = exc.value.report  # type: ignore[attr-defined]
    return set(rep.counts())


def test_semicolon_file_with_decimal_commas_reads_right(tmp_path: Path) -> None:
    # before: 496,1 was read as 4961 (thousands separator), 10x too large, and validated clean
    text = H.replace(",", ";") + "2025-06-27;sc2508;497,0;499,0;494,0;495,0;496,1;100;200\n"
    f = read_futures(_write(tmp_path, "eu.csv", text))
    assert f["settle"].to_list() == [496.1]
    assert f["open"].to_list() == [497.0]
    # before: 496,100 (three decimals) was read as 496100
    text = H.replace(",", ";") + "2025-06-27;sc2508;497,000;499,000;494,000;495,000;496,100;100;200\n"
    assert read_futures(_write(tmp_path, "eu3.csv", text))["settle"].to_list() == [496.1]
    fx = read_fx(_write(tmp_path, "fx.csv", "date;usd_cny\n2025-06-27;7,1656\n"))
    assert fx["usd_cny"].to_list() == [7.1656]  # before: 71656.0
    spot = read_spot(_write(tmp_path, "spot.csv", "date;price\n2025-06-27;67,5\n"))
    assert spot["price"].to_list() == [67.5]  # before: 675.0


def test_decimal_comma_outside_a_semicolon_file_is_an_error(tmp_path: Path) -> None:
    text = H.replace(",", "\t") + "2025-06-27\tsc2508\t497,0\t499,0\t494,0\t495,0\t496,1\t100\t200\n"
    with pytest.raises(DataError, match=r"open=497,0 is not Float64 \(a decimal comma\?") as exc:
        read_futures(_write(tmp_path, "tab.csv", text))
    assert _checks(exc) == {"lossy_cast"}
    # thousands separators that group by three stay accepted
    s = read_spot(_write(tmp_path, "k.csv", 'date,price\n2025-06-27,"1,067.5"\n'))
    assert s["price"].to_list() == [1067.5]
    with pytest.raises(DataError, match="lossy_cast"):
        read_spot(pl.DataFrame({"date": ["2025-06-27"], "price": ["10,67"]}))


@pytest.mark.parametrize(
    ("stamp", "expected"),
    [
        ("2025-06-27 21:00:00", dt.datetime(2025, 6, 27, 21, 0)),  # naive: Beijing wall clock
        ("2025-06-27T13:00:00Z", dt.datetime(2025, 6, 27, 21, 0)),
        ("2025-06-27 13:00:00+00:00", dt.datetime(2025, 6, 27, 21, 0)),
        ("2025-06-27 21:00:00+08:00", dt.datetime(2025, 6, 27, 21, 0)),
        ("2025-06-27T08:00:00-05:00", dt.datetime(2025, 6, 27, 21, 0)),
    ],
)
def test_time_zone_aware_text_becomes_beijing_time(tmp_path: Path, stamp: str, expected: dt.datetime) -> None:
    p = _write(tmp_path, "bars.csv", IH + f"{stamp},sc2508,497.0,497.5,496.0,497.0,287,142600000.0,100\n")
    f = read_intraday(p)
    assert f["datetime"].to_list() == [expected]
    assert f["trading_day"].to_list() == [dt.date(2025, 6, 30)]  # Friday night belongs to Monday


def test_time_zone_aware_frames_and_parquet_become_beijing_time(tmp_path: Path) -> None:
    # 2025-06-27 02:00 UTC is 10:00 in Beijing (day session). Before: read as 02:00 Beijing,
    # i.e. in sc's night session, booked to the wrong trading day
    bars = pl.DataFrame(
        {
            "datetime": [dt.datetime(2025, 6, 27, 2, 0)],
            "contract": ["sc2508"],
            "open": [497.0],
            "high": [497.5],
            "low": [496.0],
            "close": [497.0],
            "volume": [287],
            "turnover": [1.4e8],
            "open_interest": [100],
        }
    ).with_columns(pl.col("datetime").dt.replace_time_zone("UTC"))
    p = tmp_path / "bars.parquet"
    bars.write_parquet(p)
    for source in (bars, p):
        f = read_intraday(source)
        assert f["datetime"].to_list() == [dt.datetime(2025, 6, 27, 10, 0)]
        assert f["trading_day"].to_list() == [dt.date(2025, 6, 27)]


@pytest.mark.parametrize(
    ("row", "check"),
    [
        ("2025-06-27,sc2508,497.0,499.0,494.0,495.0,inf,100,200\n", "non_finite_price"),
        ("2025-06-27,sc2508,497.0,499.0,494.0,495.0,520.0,100,200\n", "settle_outside_range"),
        ("2025-06-27,i2509,-700.0,-699.0,-701.0,-700.0,-700.0,100,200\n", "non_positive_price"),
        ("2025-06-27,ru2509,0.0,0.0,0.0,0.0,0.0,100,200\n", "non_positive_price"),
    ],
)
def test_domain_impossibilities_are_errors(tmp_path: Path, row: str, check: str) -> None:
    with pytest.raises(DataError) as exc:
        read_futures(_write(tmp_path, "x.csv", H + row))
    assert check in _checks(exc)


def test_settle_beyond_the_daily_limit_is_an_error(tmp_path: Path) -> None:
    # a whole row 10x (high and low too): consistent on its own, impossible against yesterday
    text = H + ROW + "2025-06-30,sc2508,4970.0,4990.0,4940.0,4950.0,4961.0,100,200\n"
    with pytest.raises(
        DataError,
        match=r"outside_limit_band.*is 900\.0% from the previous settle 496\.1, beyond the 9\.0% daily",
    ) as exc:
        read_futures(_write(tmp_path, "x10.csv", text))
    assert _checks(exc) == {"outside_limit_band"}
    # a 6 % move is inside sc's limit: accepted
    ok = H + ROW + "2025-06-30,sc2508,526.0,527.0,520.0,526.0,525.8,100,200\n"
    assert read_futures(_write(tmp_path, "ok.csv", ok))["settle"].to_list() == [496.1, 525.8]
    # the exchange's own prev_settle is used when given
    text = H.replace("\n", ",prev_settle\n") + ROW.replace("\n", ",49.6\n")
    with pytest.raises(DataError, match="outside_limit_band"):
        read_futures(_write(tmp_path, "prev.csv", text))


def test_negative_spot_stays_valid_but_infinite_does_not() -> None:
    s = read_spot(pl.DataFrame({"date": ["2020-04-20"], "price": ["-36.98"]}))
    assert s["price"].to_list() == [-36.98]  # WTI, 2020-04-20
    with pytest.raises(DataError, match="non_finite"):
        read_spot(pl.DataFrame({"date": ["2020-04-20"], "price": ["inf"]}))
    with pytest.raises(DataError, match=r"non_finite|non_positive"):
        read_fx(pl.DataFrame({"date": ["2020-04-20"], "usd_cny": [float("inf")]}))


def test_spot_and_fx_come_back_in_date_order(tmp_path: Path) -> None:
    fx = read_fx(_write(tmp_path, "fx.csv", "date,usd_cny\n2025-06-27,7.1\n2025-06-26,7.2\n"))
    assert fx["date"].to_list() == [dt.date(2025, 6, 26), dt.date(2025, 6, 27)]
    assert fx["usd_cny"].to_list() == [7.2, 7.1]


def test_spot_currency_and_unit_must_be_declared() -> None:
    raw = pl.DataFrame({"date": ["2025-06-27"], "price": ["67.5"]})
    with pytest.raises(InputError, match="currency='EUR'"):
        read_spot(raw, currency="EUR")
    with pytest.raises(InputError, match="unit='barrel'"):
        read_spot(raw, unit="barrel")
    assert read_spot(raw, currency="cny", unit="t")["currency"].to_list() == ["CNY"]


def test_utf16_with_bom_is_read(tmp_path: Path) -> None:
    f = read_futures(_write(tmp_path, "u16.csv", H + ROW, encoding="utf-16"))
    assert f["settle"].to_list() == [496.1]


def test_missing_file_and_directory_are_input_errors(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="does not exist"):
        read_futures(tmp_path / "nope.csv")
    with pytest.raises(InputError, match="is a directory"):
        read_fx(tmp_path)


def test_header_only_file_is_an_empty_frame(tmp_path: Path) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        f = read_futures(_write(tmp_path, "h.csv", H))
    assert f.height == 0 and "settle" in f.columns
