"""Real exchange files end to end (issue 16, part 5).

The files are written here in the layouts the exchanges publish (SHFE/INE ``kx<date>.dat``
JSON; DCE's 日行情 text export under a title line, GBK, thousands separators; layouts from
the public parsers cited in ``cnfutures/frames/exchange_files.py``), filled with the real
CC0 contract data in ../shared/data/cc0_5min_sample (settle = VWAP truncated to the tick,
which reproduces the exchange settlement on every day it could be checked). The backtest
then runs from the CLI on those files: sc2508 -> sc2509 roll, i2509 / i2601.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import polars as pl
import pytest

from cnfutures.cli import main
from cnfutures.errors import InputError
from cnfutures.frames.io import read_exchange_daily, read_settlements
from cnfutures.frames.validate import DataQualityWarning

pytestmark = pytest.mark.shared_data

# FRED EXCHUS monthly average for June 2025 (../shared/data/fred_fx/usdcny_monthly_fred_exchus.csv):
# FRED's daily series ends 2025-06-06, so the user supplies a rate for the last days of June.
JUNE_2025_USDCNY = 7.1804


def _cc0(shared_data: Path) -> pl.DataFrame:
    return pl.read_csv(shared_data / "cc0_5min_sample" / "sc_i_daily_from_5min_2025-06.csv",
                       try_parse_dates=True).sort("contract", "trading_day").with_columns(
        prev=pl.col("vwap_floor_tick").shift(1).over("contract"))


def _write_kx(day: pl.DataFrame, path: Path) -> None:
    recs = []
    for r in day.iter_rows(named=True):
        recs.append({
            "PRODUCTID": "sc_f    ", "PRODUCTGROUPID": "sc", "PRODUCTNAME": "原油      ",
            "DELIVERYMONTH": r["contract"][2:], "PRESETTLEMENTPRICE": r["prev"] if r["prev"] else "",
            "OPENPRICE": r["open"], "HIGHESTPRICE": r["high"], "LOWESTPRICE": r["low"],
            "CLOSEPRICE": r["close"], "SETTLEMENTPRICE": r["vwap_floor_tick"], "ZD1_CHG": "",
            "ZD2_CHG": "", "VOLUME": r["volume"], "TURNOVER": r["turnover"] / 1e4,
            "OPENINTEREST": r["open_interest"], "OPENINTERESTCHG": "", "ORDERNO": 0, "ORDERNO2": 0,
        })
    sub = dict(recs[0], DELIVERYMONTH="小计", SETTLEMENTPRICE="", VOLUME=int(day["volume"].sum()))
    tot = dict(sub, PRODUCTID="总计", PRODUCTNAME="总计", DELIVERYMONTH="")
    doc = {"o_curinstrument": [*recs, sub, tot], "o_curproduct": [], "report_date": "x"}
    path.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")


def _write_dce(day: pl.DataFrame, path: Path) -> None:
    head = "\t".join(["商品名称", "合约名称", "开盘价", "最高价", "最低价", "收盘价", "前结算价", "结算价",
                      "涨跌", "涨跌1", "成交量", "持仓量", "持仓量变化", "成交额"])
    lines = [f"大连商品交易所 日行情 {day['trading_day'][0]}", head]
    for r in day.iter_rows(named=True):
        prev = f"{r['prev']:.1f}" if r["prev"] else "-"
        lines.append("\t".join([
            "铁矿石", r["contract"], f"{r['open']:.1f}", f"{r['high']:.1f}", f"{r['low']:.1f}",
            f"{r['close']:.1f}", prev, f"{r['vwap_floor_tick']:.1f}", "-", "-",
            f"{r['volume']:,}", f"{r['open_interest']:,}", "-", f"{r['turnover'] / 1e4:,.2f}",
        ]))
    lines.append("铁矿石小计\t\t\t\t\t\t\t\t\t\t" + f"{int(day['volume'].sum()):,}\t\t\t")
    lines.append("总计\t\t\t\t\t\t\t\t\t\t" + f"{int(day['volume'].sum()):,}\t\t\t")
    path.write_bytes("\n".join(lines).encode("gbk"))


@pytest.fixture
def files(shared_data: Path, tmp_path: Path) -> dict[str, Path]:
    cc0 = _cc0(shared_data)
    ine, dce = tmp_path / "ine", tmp_path / "dce"
    ine.mkdir()
    dce.mkdir()
    for (exch, d), day in cc0.group_by("exchange", "trading_day", maintain_order=True):
        stamp = d.strftime("%Y%m%d")  # type: ignore[union-attr]
        if exch == "INE":
            _write_kx(day, ine / f"kx{stamp}.dat")
        else:
            _write_dce(day, dce / f"dce_day_quotes_{stamp}.txt")
    fx = tmp_path / "fx.csv"
    fx.write_text("date,usd_cny\n" + "".join(f"2025-06-{d},{JUNE_2025_USDCNY}\n" for d in (26, 27, 30)))
    return {"ine": ine, "dce": dce, "fx": fx, "cc0": shared_data}


def test_kx_and_dce_files_read_back_the_real_values(files: dict[str, Path], shared_data: Path) -> None:
    cc0 = _cc0(shared_data)
    with pytest.warns(DataQualityWarning, match="left out 2 subtotal/total/EFP"):
        kx = read_exchange_daily(files["ine"] / "kx20250627.dat", None)
    ref = cc0.filter(pl.col("exchange") == "INE", pl.col("trading_day") == pl.date(2025, 6, 27))
    assert kx["contract"].to_list() == ["sc2508", "sc2509"]
    assert kx["settle"].to_list() == ref["vwap_floor_tick"].to_list() == [502.2, 492.7]
    assert kx["prev_settle"].to_list() == [505.4, 495.1]
    assert kx["volume"].to_list() == [210680, 32025]
    with pytest.warns(DataQualityWarning, match="subtotal"):
        dce = read_exchange_daily(files["dce"] / "dce_day_quotes_20250630.txt", "DCE")
    assert dce["contract"].to_list() == ["i2509", "i2601"]
    assert dce["settle"].to_list() == [718.0, 692.5] and dce["prev_settle"].to_list() == [714.0, 688.0]
    assert dce["volume"].to_list() == [345152, 45532]  # "345,152" in the file
    assert dce["turnover"][0] == pytest.approx(24789344900.0, rel=1e-12)  # 万元 -> CNY


@pytest.mark.filterwarnings("ignore::cnfutures.frames.validate.DataQualityWarning")
def test_another_exchanges_layout_is_a_typed_error(files: dict[str, Path], tmp_path: Path) -> None:
    kx = files["ine"] / "kx20250627.dat"
    dce = files["dce"] / "dce_day_quotes_20250630.txt"
    with pytest.raises(InputError, match=r"kx20250627.dat is an SHFE/INE daily file .* not a DCE export"):
        read_exchange_daily(kx, "DCE")
    with pytest.raises(InputError, match=r"dce_day_quotes_20250630.txt is a DCE 日行情 export \(column 商品"):
        read_exchange_daily(dce, "INE")
    other = tmp_path / "kx20250627.json"
    other.write_text(json.dumps({"data": [1]}))
    with pytest.raises(InputError, match=r"not an SHFE/INE daily file: no 'o_curinstrument' list \(found"):
        read_exchange_daily(other, "INE")
    doc = json.loads(kx.read_text(encoding="utf-8"))
    del doc["o_curinstrument"][1]["SETTLEMENTPRICE"]
    broken = tmp_path / "kx20250628.dat"
    broken.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    with pytest.raises(InputError, match=r"o_curinstrument\[1\] has no field\(s\) \['SETTLEMENTPRICE'\]"):
        read_exchange_daily(broken, "INE")


def test_cli_backtests_real_sc_contracts_with_a_roll(
    files: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["backtest", "--product", "sc", "--futures", str(files["ine"]), "--start", "2025-06-26",
            "--end", "2025-06-30", "--roll-days", "23", "--no-report"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataQualityWarning)
        # FRED's USD/CNY ends 2025-06-06: the error says what to pass
        assert main(args) == 2
        err = capsys.readouterr().err
        assert "Market.usd_cny on 2025-06-26 is from 2025-06-06" in err and "--fx" in err
        assert main([*args, "--fx", str(files["fx"])]) == 0
        out = capsys.readouterr().out
        assert f"user futures file {files['ine']}" in out and "trading_days" in out
        # the same files through the API: sc2508 held, rolled into sc2509 on 2025-06-30
        from cnfutures.access import Investor
        from cnfutures.backtest import Exposure, HedgePolicy, Market, run
        from cnfutures.frames.io import read_fx
        from cnfutures.frames.roll import RollRule

        fut = read_settlements(files["ine"])
    assert fut.height == 6 and sorted(fut["contract"].unique()) == ["sc2508", "sc2509"]
    base = Market.sample("sc", "2025-06-26", "2025-06-30")
    m = Market(fut, base.prices, read_fx(files["fx"]))
    led = run(m, Exposure(1_000_000, "short", "brent"),
              HedgePolicy("sc", roll=RollRule(kind="calendar", days_before_ltd=23)),
              Investor("osbp_client")).ledger
    assert led["contract"].to_list() == ["sc2508", "sc2508", "sc2509"]
    assert led["settle"].to_list() == [505.4, 502.2, 490.3]  # CC0 settles of the held contract
    assert led["roll_lots"].to_list()[-1] != 0


def test_cli_backtests_real_iron_ore_contracts(
    files: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataQualityWarning)
        rc = main(["backtest", "--product", "i", "--futures", str(files["dce"]), "--fx", str(files["fx"]),
                   "--start", "2025-06-27", "--end", "2025-06-30", "--route", "ff_client",
                   "--roll", "open_interest", "--no-report"])
        fut = read_settlements(files["dce"])
    assert rc == 0, capsys.readouterr().err
    assert "trading_days                              2" in capsys.readouterr().out.replace(" days", "")
    assert fut.sort("contract", "trading_day")["settle"].to_list() == [714.0, 718.0, 688.0, 692.5]
