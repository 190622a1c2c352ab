"""Option daily files of the exchanges read into ``Market.options`` (issue 18, loaders).

The fixtures are written here in the layouts the exchanges publish, as the public parsers
read them (akshare ``option/option_commodity.py``: ``get_shfe_option_daily`` /
``option_hist_shfe`` for the SHFE/INE ``kx<YYYYMMDD>.dat`` JSON with its ``o_curinstrument``
fields INSTRUMENTID, PRESETTLEMENTPRICE, ..., SETTLEMENTPRICE, ZD1_CHG, ZD2_CHG, VOLUME,
OPENINTEREST, OPENINTERESTCHG, ORDERNO, EXECVOLUME, TURNOVER, DELTA and its ``o_cursigma``
list; ``get_dce_option_daily`` for DCE's export, whose docstring prints the columns
商品名称 合约名称 开盘价 最高价 最低价 收盘价 前结算价 结算价 涨跌 涨跌1 Delta 成交量 持仓量
持仓量变化 成交额 行权量, the rows ``c2001-C-1680`` ... and the series table 合约系列 /
隐含波动率(%) below). The prices in the fixtures are illustrative, not exchange data: the
tests check the reading (codes, fields, rows, errors), and that a backtest marks its option
legs to the prices read.
"""

from __future__ import annotations

import datetime as dt
import json
import warnings
from pathlib import Path

import polars as pl
import pytest

from cnfutures.errors import DataError, InputError, NotTradingDay, UnknownContract
from cnfutures.frames import read_option_daily
from cnfutures.frames.exchange_files import OPTION_COLUMNS
from cnfutures.frames.io import read_exchange_daily
from cnfutures.frames.validate import DataQualityWarning


def _kx_rec(code: str, pre: object, settle: object, delta: object = "0.5", **kw: object) -> dict[str, object]:
    rec: dict[str, object] = {
        "PRODUCTGROUPID": code[:2], "PRODUCTID": f"{code[:2]}_o    ", "PRODUCTNAME": "原油期权    ",
        "INSTRUMENTID": code, "PRESETTLEMENTPRICE": pre, "OPENPRICE": "", "HIGHESTPRICE": "",
        "LOWESTPRICE": "", "CLOSEPRICE": settle, "SETTLEMENTPRICE": settle, "ZD1_CHG": "", "ZD2_CHG": "",
        "VOLUME": 12, "OPENINTEREST": 340, "OPENINTERESTCHG": 5, "ORDERNO": 0, "EXECVOLUME": 0,
        "TURNOVER": 1.2, "DELTA": delta, "UNDERLYINGINSTRID": code[:6], "STRIKEPRICE": "", "OPTIONTYPE": "",
    }  # fmt: skip
    rec.update(kw)
    return rec


def _write_kx(path: Path, recs: list[dict[str, object]]) -> Path:
    sub = dict(recs[0], INSTRUMENTID="小计", SETTLEMENTPRICE="", DELTA="")
    tot = dict(sub, INSTRUMENTID="合计")
    sigma = [{"PRODUCTID": "sc_o", "INSTRUMENTID": "sc2509", "SIGMA": "0.3412"}]
    doc = {"o_curinstrument": [*recs, sub, tot], "o_cursigma": sigma, "o_curproduct": []}
    path.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    return path


_DCE_HEAD = ["商品名称", "合约名称", "开盘价", "最高价", "最低价", "收盘价", "前结算价", "结算价", "涨跌",
             "涨跌1", "Delta", "成交量", "持仓量", "持仓量变化", "成交额", "行权量"]  # fmt: skip


def _write_dce(path: Path, rows: list[list[str]], day: str = "2025-06-27") -> Path:
    lines = [f"大连商品交易所 期权 日行情 {day}", "\t".join(_DCE_HEAD)]
    lines += ["\t".join(r) for r in rows]
    lines.append("铁矿石小计" + "\t" * 11 + "1,240\t\t\t\t")
    lines.append("总计" + "\t" * 11 + "1,240\t\t\t\t")
    lines += ["", "合约系列\t隐含波动率(%)", "i2509\t24.31", "i2601\t22.05"]
    path.write_bytes("\n".join(lines).encode("gbk"))
    return path


def _dce_row(code: str, pre: str, settle: str, delta: str, product: str = "铁矿石") -> list[str]:
    return [product, code, "0", "0.0", "0.0", settle, pre, settle, "0.0", "0.0", delta, "1,200", "2,310",
            "10", "3.2", "0"]  # fmt: skip


@pytest.fixture
def kx(tmp_path: Path) -> Path:
    recs = [_kx_rec("sc2509C490", "28.5", "30.15", "0.62"), _kx_rec("sc2509P490", "15.1", 13.9, "-0.38"),
            _kx_rec("sc2510C600", 3.2, 3.35, 0.08)]  # fmt: skip
    return _write_kx(tmp_path / "kx20250627.dat", recs)


def test_ine_kx_options_read(kx: Path) -> None:
    with pytest.warns(DataQualityWarning, match="left out 2 subtotal"):
        f = read_option_daily(kx)
    assert f.columns == [c for c, _ in OPTION_COLUMNS]
    assert f["trading_day"].unique().to_list() == [dt.date(2025, 6, 27)]  # from the file name
    assert f.select("option", "underlying", "kind", "strike", "settle", "prev_settle", "delta").rows() == [
        ("sc2509C490", "sc2509", "call", 490.0, 30.15, 28.5, 0.62),
        ("sc2509P490", "sc2509", "put", 490.0, 13.9, 15.1, -0.38),
        ("sc2510C600", "sc2510", "call", 600.0, 3.35, 3.2, 0.08),
    ]
    assert f["open"].is_null().all() and f["volume"].to_list() == [12.0] * 3


def test_shfe_ru_options_and_other_products_left_out(tmp_path: Path) -> None:
    recs = [_kx_rec("ru2509C15000", 420, 455, 0.41, PRODUCTNAME="天胶期权"),
            _kx_rec("ru2509P14500", 380, 350, -0.33, PRODUCTNAME="天胶期权"),
            _kx_rec("cu2508C80000", 900, 950, 0.5, PRODUCTNAME="铜期权")]  # fmt: skip
    p = _write_kx(tmp_path / "kx20250627.dat", recs)
    with pytest.warns(DataQualityWarning, match="1 option.s. of other products"):
        f = read_option_daily(p, "SHFE")
    assert f["option"].to_list() == ["ru2509C15000", "ru2509P14500"]
    with pytest.raises(InputError, match="is an SHFE option, not INE"), warnings.catch_warnings():
        warnings.simplefilter("ignore", DataQualityWarning)
        read_option_daily(p, "INE")


def test_dce_iron_ore_options_read(tmp_path: Path) -> None:
    rows = [_dce_row("i2509-C-700", "52.3", "55.1", "0.71"), _dce_row("i2509-P-700", "12.0", "10.4", "-0.29"),
            _dce_row("m2509-C-3000", "80", "85", "0.5", product="豆粕")]  # fmt: skip
    p = _write_dce(tmp_path / "dce_option_20250627.txt", rows)
    with pytest.warns(DataQualityWarning, match="left out 2 subtotal record.s. and 1 option"):
        f = read_option_daily(p)
    assert f.select("trading_day", "option", "kind", "strike", "settle", "open_interest", "delta").rows() == [
        (dt.date(2025, 6, 27), "i2509-C-700", "call", 700.0, 55.1, 2310.0, 0.71),
        (dt.date(2025, 6, 27), "i2509-P-700", "put", 700.0, 10.4, 2310.0, -0.29),
    ]


def test_frames_feed_market_options_and_the_backtest_marks_to_them() -> None:
    """Files of several days -> Market.options -> the protective call's premium is the file's settlement."""
    from cnfutures.access import Investor
    from cnfutures.backtest import Exposure, HedgePolicy, Market, protective_call, run

    sample = Market.sample("sc", "2024-05-06", "2024-08-30")
    start = "2024-06-03"
    first = run(sample, Exposure(100_000, "short", "brent"),
                HedgePolicy("sc", ratio=0.0, options=protective_call(1.0), option_vol=0.35), Investor("qfi"),
                start=start, end="2024-06-14")  # fmt: skip
    code = first.meta["option_series"]["option"][0]
    days = first.ledger["trading_day"].to_list()
    import tempfile

    frames = []
    with tempfile.TemporaryDirectory() as d, warnings.catch_warnings():
        warnings.simplefilter("ignore", DataQualityWarning)
        for i, day in enumerate(days):
            p = _write_kx(Path(d) / f"kx{day:%Y%m%d}.dat", [_kx_rec(code, 20.0 + i, 20.5 + i, 0.5)])
            frames.append(read_option_daily(p, "INE"))
    opts = pl.concat(frames)
    m = Market(sample.futures, sample.prices, sample.usd_cny, options=opts)
    r = run(m, Exposure(100_000, "short", "brent"),
            HedgePolicy("sc", ratio=0.0, options=protective_call(1.0), option_vol=0.35), Investor("qfi"),
            start=start, end="2024-06-14")  # fmt: skip
    led = r.ledger
    assert led["option_premium_cny"][0] == 100 * 1000.0 * 20.5  # 100 lots × 1000 bbl × the file's settle
    assert led["option_value_cny"][3] == 100 * 1000.0 * 23.5


@pytest.mark.parametrize(
    ("rec", "err", "msg"),
    [
        ({"SETTLEMENTPRICE": "abc"}, DataError, r"o_curinstrument\[0\] settle = 'abc' is not a number"),
        ({"SETTLEMENTPRICE": ""}, DataError, r"o_curinstrument\[0\] settle is blank"),
        ({"SETTLEMENTPRICE": "-2"}, DataError, r"o_curinstrument\[0\] settle = '-2' is negative"),
        ({"PRESETTLEMENTPRICE": "inf"}, DataError, r"prev_settle = 'inf' is not finite"),
        ({"DELTA": "1.7"}, DataError, r"delta = '1.7' is outside \[-1, 1\]"),
        ({"VOLUME": "-3"}, DataError, r"volume = '-3' is negative"),
        ({"INSTRUMENTID": "sc2509C493"}, UnknownContract, r"o_curinstrument\[0\] .*nearest strikes: 490, 49"),
        ({"INSTRUMENTID": "sc2505C490"}, UnknownContract, r"o_curinstrument\[0\] \('sc2505C490'\)"),
        ({"INSTRUMENTID": "sc25C490"}, UnknownContract, r"not of the form"),
    ],
)
def test_bad_kx_rows_name_the_record_and_field(
    tmp_path: Path, rec: dict[str, object], err: type, msg: str
) -> None:
    p = _write_kx(tmp_path / "kx20250627.dat", [_kx_rec("sc2509C490", "28.5", "30.15", "0.62", **rec)])
    with warnings.catch_warnings(), pytest.raises(err, match=msg):
        warnings.simplefilter("ignore", DataQualityWarning)
        read_option_daily(p, "INE")


def test_bad_files(tmp_path: Path, kx: Path) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataQualityWarning)
        with pytest.raises(NotTradingDay):
            read_option_daily(kx, "INE", trading_day="2025-06-28")  # a Saturday
        with pytest.raises(InputError, match="no date"):
            p = tmp_path / "options.json"
            p.write_text(kx.read_text())
            read_option_daily(p)
        recs = [_kx_rec("sc2509C490", 1, 2), _kx_rec("SC2509C490", 1, 2)]
        dup = _write_kx(tmp_path / "kx20250626.dat", recs)
        with pytest.raises(DataError, match="duplicate"):
            read_option_daily(dup)
        futures = tmp_path / "kx20250625.dat"
        futures.write_text(json.dumps({"o_curinstrument": [{"PRODUCTID": "sc_f", "DELIVERYMONTH": "2508"}]}))
        with pytest.raises(InputError, match="futures kx file: read it with read_exchange_daily"):
            read_option_daily(futures)
        # the futures loader points an option file to this one
        with pytest.raises(InputError, match=r"option daily file .*read_option_daily"):
            read_exchange_daily(kx, "INE")
        dce = _write_dce(tmp_path / "d.txt", [_dce_row("i2509-C-700", "52.3", "5x", "0.71")])
        with pytest.raises(DataError, match="data row 0 close = '5x' is not a number"):
            read_option_daily(dce, "DCE")
