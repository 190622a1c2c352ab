"""Price frames: validation, loaders, settlement, continuous series, datasets.

Reference facts come from /work/shared/data/README.md (cited "README §n"), row numbers are
found independently with the csv module (tests/naive_frames.py), and hand calculations are
written out beside the numbers.
"""

from __future__ import annotations

import datetime as dt
import gzip
import warnings
from pathlib import Path

import polars as pl
import pytest

import cnfutures
from cnfutures.errors import DataError, InputError
from cnfutures.frames import (
    RollRule,
    check_futures,
    continuous,
    detect_rolls,
    read_exchange_daily,
    read_futures,
    read_fx,
    read_intraday,
    read_spot,
    settlement_price,
    validate_continuous,
    validate_futures,
    write_parquet,
)
from cnfutures.frames.validate import DataQualityWarning, check_fx, check_intraday
from tests import naive_frames as nf

D = dt.date
REF = Path(__file__).resolve().parent / "reference"


def _bars(**over: object) -> pl.DataFrame:
    base: dict[str, object] = {
        "trading_day": [D(2025, 6, 26), D(2025, 6, 27), D(2025, 6, 30)],
        "contract": ["sc2508"] * 3,
        "open": [506.7, 501.0, 498.6],
        "high": [511.5, 506.5, 502.4],
        "low": [500.0, 498.0, 491.2],
        "close": [503.0, 499.0, 495.0],
        "settle": [505.4, 502.2, 496.1],
        "volume": [283709, 210680, 238748],
        "open_interest": [35444, 31946, 30055],
    }
    base.update(over)
    return pl.DataFrame(base)


# ------------------------------------------------------------------ validation, synthetic
def test_valid_frame_passes_and_keeps_values() -> None:
    out = validate_futures(_bars())
    assert out.schema["trading_day"] == pl.Date and out.schema["volume"] == pl.Int64
    assert out["settle"].to_list() == [505.4, 502.2, 496.1]


def test_every_problem_listed_with_rows() -> None:
    bad = _bars(
        trading_day=[D(2025, 6, 26), D(2025, 6, 26), D(2025, 6, 28)],  # dup rows 0,1; 06-28 is a Saturday
        high=[511.5, 497.0, 502.4],  # row 1: high 497 < low 498
        settle=[505.4, None, 496.1],  # row 1: settle missing
    )
    with pytest.raises(DataError) as ei:
        validate_futures(bad)
    rep = ei.value.report  # type: ignore[attr-defined]
    assert rep.rows("duplicate_key") == [0, 1]
    assert rep.rows("not_trading_day") == [2]
    assert rep.rows("high_below_low") == [1]
    assert rep.rows("open_outside_range") == [1]  # open 501.0 > high 497.0
    assert rep.rows("missing_settle") == [1]
    assert any(p.startswith("duplicate_key") and "0, 1" in p for p in ei.value.problems)


def test_negative_prices_are_valid() -> None:
    # WTI settled negative on 2020-04-20 (README §3: spot -36.98); a negative OHLC row passes
    f = _bars(
        open=[-40.0, 501.0, 498.6],
        high=[-30.0, 506.5, 502.4],
        low=[-40.1, 498.0, 491.2],
        close=[-37.0, 499.0, 495.0],
        settle=[-36.9, 502.2, 496.1],
    )
    assert validate_futures(f)["settle"][0] == -36.9


def test_unknown_and_unlisted_contracts() -> None:
    # sc2513: no month 13; sc2607: listed 2025-07-01 (the day after sc2507 expired), so not on 2025-06-27;
    # sc2507 expired on 2025-06-30 (README §2) so a 2025-07-01 row is after its LTD.
    f = _bars(
        contract=["sc2513", "sc2607", "SC2507"], trading_day=[D(2025, 6, 26), D(2025, 6, 27), D(2025, 7, 1)]
    )
    rep = check_futures(f)
    assert rep.rows("unknown_contract") == [0]
    assert rep.rows("contract_not_listed") == [1, 2]
    assert rep.frame["contract"][2] == "sc2507"  # exchange style, lower case


def test_lossy_casts_reported_not_coerced() -> None:
    f = _bars(volume=["283709", "287.5", "238748"], settle=["505.4", "n/a", "496.1"])
    rep = check_futures(f)
    assert rep.rows("lossy_cast") == [1, 1]
    assert sorted(rep.problems.filter(pl.col("check") == "lossy_cast")["detail"].to_list()) == [
        "settle=n/a is not Float64",
        "volume=287.5 is not Int64",
    ]
    ok = check_futures(_bars(volume=["283709", "287.0", "238748"]))  # "287.0" is an integer (README §2)
    assert ok.ok and ok.frame["volume"][1] == 287


def test_missing_column_and_off_tick() -> None:
    rep = check_futures(_bars().drop("open_interest"))
    assert rep.counts() == {"missing_column": 1}
    off = _bars(settle=[505.45, 502.2, 496.1])  # sc tick 0.1 CNY/bbl
    with pytest.warns(DataQualityWarning, match="off_tick"):
        validate_futures(off)
    with pytest.raises(DataError, match="off_tick"):
        validate_futures(off, strict=True)


def test_rows_before_calendar_are_reported_not_crashing() -> None:
    f = _bars(
        contract=["ru0909", "ru0909", "ru0909"], trading_day=[D(2009, 6, 1), D(2009, 6, 7), D(2010, 1, 4)]
    )
    rep = check_futures(f, product="ru")
    assert rep.rows("outside_calendar") == [0, 1]
    assert rep.rows("not_trading_day") == [1]  # 2009-06-07 is a Sunday


# ------------------------------------------------------------------ shared data: Sina
def _sina(shared: Path, code: str) -> tuple[pl.DataFrame, list[dict[str, str]]]:
    path = shared / "sina_continuous" / f"{code}_main_sina.csv"
    frame = read_futures(path, product=code, contract_column=None, validate=False)
    assert isinstance(frame, pl.DataFrame)
    return frame, nf.csv_rows(path)


def _row_of(rows: list[dict[str, str]], day: str) -> int:
    return next(i for i, r in enumerate(rows) if r["date"] == day)


@pytest.mark.parametrize(
    ("code", "n_rows", "n_missing_settle"),
    [("sc", 2041, 5), ("nr", 1705, 3), ("i", 3124, 200), ("ru", 5261, 1371)],
)
def test_sina_missing_settles(shared_data: Path, code: str, n_rows: int, n_missing_settle: int) -> None:
    # README §1: settle missing SC 5, NR 3, I 200, RU 1371; rows per file from its table
    frame, rows = _sina(shared_data, code)
    assert frame.height == n_rows
    rep = check_futures(frame, product=code, contract_column=None)
    assert rep.rows("missing_settle") == nf.naive_blank_rows(rows, "settle")
    assert len(rep.rows("missing_settle")) == n_missing_settle


def test_sina_iron_ore_holiday_rows(shared_data: Path) -> None:
    frame, rows = _sina(shared_data, "i")
    rep = check_futures(frame, product="i", contract_column=None)
    # README §1: dates not in the exchange calendar: I 2014-05-01, 2015-09-03, 2015-10-01,
    # 2017-01-02, 2017-10-02
    days = ["2014-05-01", "2015-09-03", "2015-10-01", "2017-01-02", "2017-10-02"]
    assert rep.rows("not_trading_day") == [_row_of(rows, d) for d in days]
    assert rep.rows("not_trading_day")[0] == 128
    # README §1: missing trading days include 2019-04-22, 2013-11-20, 2014-01-16, 2014-03-07, 2014-03-13
    missing = " ".join(rep.problems.filter(pl.col("check") == "missing_trading_day")["detail"].to_list())
    for d in ("2019-04-22", "2013-11-20", "2014-01-16", "2014-03-07", "2014-03-13"):
        assert d in missing
    with pytest.raises(DataError, match="2014-05-01"):
        validate_continuous(frame, "i")


def test_sina_rubber_quirks(shared_data: Path) -> None:
    frame, rows = _sina(shared_data, "ru")
    rep = check_futures(frame, product="ru", contract_column=None)
    # README §1: RU 2010-06-14, 2015-02-18, 2015-09-03, 2015-10-01/02, 2017-01-02 are holidays;
    # 2008-07-20 is a Sunday (before the calendar's 2010 start: still a weekend).
    holidays = [
        "2008-07-20",
        "2010-06-14",
        "2015-02-18",
        "2015-09-03",
        "2015-10-01",
        "2015-10-02",
        "2017-01-02",
    ]
    assert rep.rows("not_trading_day") == [_row_of(rows, d) for d in holidays]
    # README §1: RU 2006-07-04, 2006-07-17/18, 2007-03-15, 2007-08-15 have bad OHLC
    bad = [_row_of(rows, d) for d in ("2006-07-04", "2006-07-17", "2006-07-18", "2007-03-15", "2007-08-15")]
    assert set(bad) <= set(rep.rows("open_outside_range")) | set(rep.rows("high_below_low"))
    flagged = sorted(
        set(rep.rows("open_outside_range") + rep.rows("close_outside_range") + rep.rows("high_below_low"))
    )
    assert flagged == nf.naive_ohlc_bad_rows(rows)  # also 2023-08-28: close 13200 < low 13225
    # every row before 2010-01-01 is outside the calendar coverage
    assert len(rep.rows("outside_calendar")) == sum(r["date"] < "2010-01-01" for r in rows)


def test_sina_sc_and_nr(shared_data: Path) -> None:
    sc, rows = _sina(shared_data, "sc")
    rep = check_futures(sc, product="sc", contract_column=None)
    assert rep.rows("missing_settle")[0] == _row_of(rows, "2018-03-26")  # README: first day has no settle
    assert set(rep.counts()) == {"missing_settle", "missing_trading_day", "settle_outside_range"}
    # Sina's settle is outside the day's [low, high] on two days (455.8 vs 464.0-466.5 on
    # 2018-05-09, 417.0 vs 429.3-433.7 on 2018-12-03): a settlement price is the day's VWAP
    assert rep.rows("settle_outside_range") == [_row_of(rows, "2018-05-09"), _row_of(rows, "2018-12-03")]
    assert "2019-04-22" in rep.problems.filter(pl.col("check") == "missing_trading_day")["detail"][0]
    nr, _ = _sina(shared_data, "nr")
    assert check_futures(nr, product="nr", contract_column=None).counts() == {
        "missing_settle": 3
    }  # NR complete


def test_detect_rolls_on_sina_iron_ore(shared_data: Path) -> None:
    frame, _ = _sina(shared_data, "i")
    r = detect_rolls(frame, "i")
    by_day = {d: (g, k) for d, g, k in r.select("trading_day", "gap", "kind").iter_rows()}
    # README §1: I -13.6 % on 2016-08-11 and -18.3 % on 2021-08-05 (log returns of close:
    # ln(432.5/495.5)... computed from the file: close 2016-08-10 -> 08-11)
    assert by_day[D(2016, 8, 11)][1] == "roll" and by_day[D(2016, 8, 11)][0] == pytest.approx(
        -0.136, abs=5e-4
    )
    assert by_day[D(2021, 8, 5)][1] == "roll" and by_day[D(2021, 8, 5)][0] == pytest.approx(-0.183, abs=5e-4)
    # README §1: I 2015-10-08 (volume 6, OI 200, followed by -34 %) is a glitch row
    assert by_day[D(2015, 10, 8)][1] == "glitch"


def test_detect_rolls_rubber_august(shared_data: Path) -> None:
    frame, _ = _sina(shared_data, "ru")
    r = detect_rolls(frame, "ru")
    # README §1: RU +8 % to +20 % at the early-August 09->01 roll in most years
    aug = r.filter((pl.col("trading_day").dt.month() == 8) & (pl.col("gap") > 0.07))
    assert aug.height >= 5


# ------------------------------------------------------------------ loaders
def test_read_spot_fx_shared(shared_data: Path) -> None:
    wti = read_spot(shared_data / "eia_oil" / "wti_spot_daily_eia.csv")
    assert wti.height == 4170  # README §3
    assert wti.filter(pl.col("date") == D(2020, 4, 20))["price"][0] == -36.98
    brent = read_spot(shared_data / "eia_oil" / "brent_spot_daily_eia.csv")
    assert brent.height == 4207 and brent["price"].min() == 9.12
    with pytest.warns(DataQualityWarning, match="missing_value: 166"):
        fx = read_fx(shared_data / "fred_fx" / "usdcny_daily_fred_dexchus.csv")
    assert fx.height == 4026 and fx["usd_cny"].null_count() == 166  # README §4: kept, not dropped
    assert check_fx(fx).rows("missing_value")[0] == 0  # 2010-01-01 is blank
    m = read_fx(shared_data / "fred_fx" / "usdcny_monthly_fred_exchus.csv")
    assert m.height == 198


def test_read_intraday_shared(shared_data: Path) -> None:
    path = shared_data / "cc0_5min_sample" / "sc_i_5min_bars_2025-06.csv"
    bars = read_intraday(path)
    assert bars.height == 942
    # the file's own trading_day (derived with the akshare calendar) agrees with ours
    rep = check_intraday(pl.read_csv(path, infer_schema=False).drop("trading_day"))
    derived = rep.frame["trading_day"]
    assert (derived == bars["trading_day"]).all()
    # Friday 2025-06-27 21:00 bar belongs to Monday 2025-06-30 (README §2)
    fri = bars.filter(pl.col("datetime") == dt.datetime(2025, 6, 27, 21, 0))
    assert set(fri["trading_day"].to_list()) == {D(2025, 6, 30)}


def test_settlement_reproduces_published(shared_data: Path) -> None:
    path = shared_data / "cc0_5min_sample" / "sc_i_5min_bars_2025-06.csv"
    s = settlement_price(read_intraday(path))
    got = {(str(d), c): v for d, c, v in s.select("trading_day", "contract", "settle").iter_rows()}
    # published settlements (README §2, equal to Sina's settle column on those days)
    published = {
        ("2025-06-26", "sc2508"): 505.4,
        ("2025-06-27", "sc2508"): 502.2,
        ("2025-06-30", "sc2508"): 496.1,
        ("2025-06-27", "i2509"): 714.0,
        ("2025-06-30", "i2509"): 718.0,
    }
    for k, v in published.items():
        assert got[k] == v, k
    # and Sina's series carries the same numbers on those days
    sina_sc = {
        r["date"]: r["settle"] for r in nf.csv_rows(shared_data / "sina_continuous" / "sc_main_sina.csv")
    }
    assert [float(sina_sc[d]) for d in ("2025-06-26", "2025-06-27", "2025-06-30")] == [505.4, 502.2, 496.1]
    # the plain-loop reference agrees on every (day, contract)
    rows = nf.csv_rows(path)
    ref = {
        **nf.naive_settlement([r for r in rows if r["contract"].startswith("sc")], 1000, 0.1),
        **nf.naive_settlement([r for r in rows if r["contract"].startswith("i")], 100, 0.5),
    }
    assert got == ref


def test_settlement_is_truncated_not_rounded() -> None:
    bars = pl.DataFrame(
        {
            "trading_day": [D(2025, 6, 30)] * 2,
            "contract": ["sc2508"] * 2,
            "volume": [10, 30],
            "turnover": [4_965_000.0, 14_893_800.0],
        }
    )
    # (4 965 000 + 14 893 800) / 40 000 = 496.47 -> 496.4 (rounding would give 496.5)
    assert settlement_price(bars)["settle"][0] == 496.4


def test_exchange_daily_utf8_with_subtotal() -> None:
    with pytest.warns(DataQualityWarning, match="row.s. 2"):
        f = read_exchange_daily(REF / "exchange_daily_ine_2025-06-30.csv", "INE", trading_day="2025-06-30")
    assert f["contract"].to_list() == ["sc2508", "sc2509"]
    assert f["settle"].to_list() == [496.1, 490.3]
    assert f["prev_settle"].to_list() == [502.2, 492.7]
    assert f["turnover"][0] == pytest.approx(11_846_911.52 * 10_000)  # 成交额 in 万元
    assert "涨跌1" not in f.columns


def test_exchange_daily_gbk_detected_and_explicit() -> None:
    path = REF / "exchange_daily_dce_2025-06-30_gbk.csv"
    with pytest.raises(UnicodeDecodeError):
        path.read_text(encoding="utf-8")  # really GBK
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataQualityWarning)
        auto = read_exchange_daily(path, "DCE", trading_day="2025-06-30")
        explicit = read_exchange_daily(path, "DCE", trading_day="2025-06-30", encoding="gbk")
    assert auto.equals(explicit)
    assert auto.select("contract", "settle").rows() == [("i2509", 718.0), ("i2601", 692.5)]
    with pytest.raises(InputError, match=r"(?i)utf-8"):
        read_exchange_daily(path, "DCE", trading_day="2025-06-30", encoding="utf-8")
    with pytest.raises(InputError, match="trading_day="), pytest.warns(DataQualityWarning, match="subtotal"):
        read_exchange_daily(path, "DCE", encoding="gbk")
    with pytest.raises(DataError, match="wrong_exchange"), pytest.warns(DataQualityWarning, match="subtotal"):
        read_exchange_daily(path, "INE", trading_day="2025-06-30")


def test_exchange_daily_bad_rows() -> None:
    path = REF / "exchange_daily_shfe_bad.tsv.csv"
    with pytest.raises(DataError) as ei:
        read_exchange_daily(path, "SHFE")
    rep = ei.value.report  # type: ignore[attr-defined]
    assert rep.rows("duplicate_key") == [0, 2]
    assert rep.rows("not_trading_day") == [3]  # 2025-06-15 is a Sunday
    assert rep.rows("off_tick") == [3]  # settle 14363 is not a multiple of 5


def test_bad_input_errors(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="does not exist"):
        read_futures(tmp_path / "nope.csv")
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    with pytest.raises(InputError, match="empty"):
        read_futures(empty)
    odd = tmp_path / "odd.csv"
    odd.write_text("Datum,Kontrakt,open,high,low,close,settle,volume,open_interest\n")
    with pytest.raises(InputError, match=r"columns=\{"):
        read_futures(odd)
    f = read_futures(odd, columns={"Datum": "trading_day", "Kontrakt": "contract"})
    assert isinstance(f, pl.DataFrame) and f.height == 0


def test_read_futures_sources_and_parquet_round_trip(tmp_path: Path) -> None:
    bars = validate_futures(_bars(prev_settle=[None, 505.4, 502.2], turnover=[1.0e11, 2.0e11, None]))
    p = write_parquet(bars, tmp_path / "b.parquet")
    assert pl.read_parquet(p).equals(bars)
    assert read_futures(p).equals(bars)  # type: ignore[union-attr]
    csv = tmp_path / "b.csv.gz"
    csv.write_bytes(gzip.compress(bars.write_csv().encode()))
    assert read_futures(csv).equals(bars)  # type: ignore[union-attr]
    lazy = read_futures(p, lazy=True)
    assert isinstance(lazy, pl.LazyFrame) and lazy.collect().equals(bars)
    plain = tmp_path / "b.csv"
    bars.write_csv(plain)
    lz = read_futures(plain, lazy=True)
    assert isinstance(lz, pl.LazyFrame) and lz.collect().select(bars.columns).equals(bars)
    assert read_futures(bars.to_arrow()).equals(bars)  # type: ignore[union-attr]


# ------------------------------------------------------------------ continuous
def _two_contracts() -> pl.DataFrame:
    days = cnfutures.calendar("INE").trading_days("2025-06-16", "2025-07-04").to_list()
    rows = []
    for i, d in enumerate(days):
        rows.append((d, "sc2507", 500.0 + i, 10 + i, 1000 - 10 * i))
        rows.append((d, "sc2508", 490.0 + 0.5 * i, 5 + i, 500 + 60 * i))
        rows.append((d, "sc2509", 480.0 + 0.25 * i, 1, 100))
    f = pl.DataFrame(
        rows,
        schema={
            "trading_day": pl.Date,
            "contract": pl.String,
            "settle": pl.Float64,
            "volume": pl.Int64,
            "open_interest": pl.Int64,
        },
        orient="row",
    )
    return f.filter(~((pl.col("contract") == "sc2507") & (pl.col("trading_day") > D(2025, 6, 30))))


@pytest.mark.parametrize("adjust", ["none", "ratio", "difference"])
def test_continuous_round_trip(adjust: str) -> None:
    data = _two_contracts()
    c = continuous(data, RollRule(days_before_ltd=5), adjust=adjust)  # type: ignore[arg-type]
    # sc2507 LTD 2025-06-30 -> sc2508 from 2025-06-23 (5 trading days before)
    assert c.filter("roll")["trading_day"].to_list() == [D(2025, 6, 23)]
    days = c["trading_day"].to_list()
    settle = {
        (days.index(d), k): v for d, k, v in data.select("trading_day", "contract", "settle").iter_rows()
    }
    held = c["contract"].to_list()
    ref = nf.naive_back_adjust(held, settle, adjust)
    assert c["adjusted"].to_list() == pytest.approx(ref, rel=1e-12)
    # undo: the adjustment is constant within a segment; removing it gives the raw settles
    seg = (c["roll"].cum_sum()).to_list()
    if adjust == "ratio":
        k = [a / s for a, s in zip(c["adjusted"], c["settle"], strict=True)]
        undone = [a / k[i] for i, a in enumerate(c["adjusted"])]
    else:
        k = [a - s for a, s in zip(c["adjusted"], c["settle"], strict=True)]
        undone = [a - k[i] for i, a in enumerate(c["adjusted"])]
    for s_id in set(seg):
        ks = [k[i] for i in range(len(k)) if seg[i] == s_id]
        assert max(ks) - min(ks) < 1e-9
    assert undone == pytest.approx([settle[(i, h)] for i, h in enumerate(held)], rel=1e-12)
    assert k[-1] == pytest.approx(1.0 if adjust == "ratio" else 0.0)
    # the return on the roll day uses sc2508 on both days: (490 + 0.5*5) / (490 + 0.5*4) - 1
    r = c.filter(pl.col("trading_day") == D(2025, 6, 23))["ret"][0]
    assert r == pytest.approx(492.5 / 492.0 - 1)


def test_continuous_open_interest_and_missing_data() -> None:
    data = _two_contracts()
    c = continuous(data, RollRule(kind="open_interest", confirm_days=2))
    # OI sc2507 = 1000 - 10 i, sc2508 = 500 + 60 i: sc2508 leads when 70 i > 500, i.e. from
    # i = 8 (2025-06-26: 980 > 920); with 2 confirmation days (i = 8, 9) it is held from i = 10
    days = c["trading_day"].to_list()
    assert c.filter("roll")["trading_day"].to_list() == [days[10]] == [D(2025, 6, 30)]
    with pytest.raises(DataError, match="sc2508 has no settle"):
        continuous(
            data.filter(~((pl.col("contract") == "sc2508") & (pl.col("trading_day") == D(2025, 6, 20)))),
            RollRule(days_before_ltd=5),
        )


def test_datasets_load() -> None:
    ds = cnfutures.datasets
    assert ds.load_wti()["price"].min() == -36.98
    assert ds.load_usdcny()["usd_cny"].null_count() == 166
    d = ds.load_cc0_daily()
    bars = ds.load_cc0_bars()
    s = settlement_price(bars)
    j = d.join(s, on=["trading_day", "contract"])
    assert (j["settle"] == j["settle_right"]).all()
    for fn in (
        ds.load_brent,
        ds.load_wti,
        ds.load_usdcny,
        ds.load_usdcny_monthly,
        ds.load_cc0_bars,
        ds.load_cc0_daily,
    ):
        assert "Licence" in (fn.__doc__ or "")
    assert "not the CFETS" in (ds.load_usdcny.__doc__ or "").replace("\n    ", " ")


def test_cli_validate(shared_data: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from cnfutures.cli import main

    rc = main(
        [
            "validate",
            str(shared_data / "sina_continuous" / "nr_main_sina.csv"),
            "--kind",
            "continuous",
            "--product",
            "nr",
        ]
    )
    assert rc == 1
    assert "missing_settle: 3" in capsys.readouterr().out
