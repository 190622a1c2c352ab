"""The command line on bad input: one line on stderr, a non-zero exit, no traceback."""

from __future__ import annotations

from pathlib import Path

import pytest

from cnfutures.cli import main
from cnfutures.errors import InputError


def _one_line_error(err: str) -> str:
    lines = [ln for ln in err.splitlines() if ln.strip() and not ln.startswith("[")]
    assert len(lines) == 1, err
    assert lines[0].startswith("cnfutures: error: ")
    assert "Traceback" not in err
    return lines[0]


def test_non_numeric_ratio(capsys: pytest.CaptureFixture[str]) -> None:
    # before: ValueError traceback from float('abc')
    assert main(["backtest", "--ratio", "abc", "--no-report"]) == 2
    line = _one_line_error(capsys.readouterr().err)
    assert "--ratio 'abc'" in line and "rolling, ewma, dcc" in line


def test_debug_shows_the_traceback() -> None:
    with pytest.raises(InputError, match="--ratio"):
        main(["--debug", "backtest", "--ratio", "abc", "--no-report"])


def test_missing_futures_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # before: polars FileNotFoundError traceback
    rc = main(["backtest", "--futures", str(tmp_path / "nope.csv"), "--no-report"])
    assert rc == 2
    assert "does not exist" in _one_line_error(capsys.readouterr().err)


def _files(tmp_path: Path, fx_rates: tuple[str, str]) -> list[str]:
    fut = tmp_path / "fut.csv"
    fut.write_text("trading_day;contract;settle\n2025-06-03;sc2508;480,3\n2025-06-04;sc2508;481,0\n")
    spot = tmp_path / "spot.csv"
    spot.write_text("date,price\n2025-06-03,65.0\n2025-06-04,66.0\n")
    fx = tmp_path / "fx.csv"
    fx.write_text(f"date,usd_cny\n2025-06-03,{fx_rates[0]}\n2025-06-04,{fx_rates[1]}\n")
    return ["backtest", "--futures", str(fut), "--spot", str(spot), "--fx", str(fx), "--no-report"]


def test_zero_fx_rate_in_a_user_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # before: a zero rate gave hedge_pnl_usd = -inf and NaN totals
    assert main(_files(tmp_path, ("7.19", "0"))) == 2
    line = _one_line_error(capsys.readouterr().err)
    assert "usd_cny=0.0" in line and "non_positive" in line


def test_user_settlements_with_decimal_commas_are_read_right(tmp_path: Path) -> None:
    from cnfutures.frames.io import read_settlements

    args = _files(tmp_path, ("7.19", "7.18"))
    f = read_settlements(args[2])
    assert f["settle"].to_list() == [480.3, 481.0]  # before (pl.read_csv): the strings '480,3', '481,0'


def test_validate_missing_file(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", "/nonexistent/x.csv"]) == 2
    assert "does not exist" in _one_line_error(capsys.readouterr().err)


def test_report_refuses_to_overwrite_a_foreign_file(tmp_path: Path) -> None:
    from cnfutures.access import Investor
    from cnfutures.backtest import Exposure, HedgePolicy, Market, run

    market = Market.sample("sc", "2025-03-03", "2025-05-30", seed=3)
    res = run(market, Exposure(100_000, "short", "brent"), HedgePolicy("sc"), Investor("osbp_client"))
    mine = tmp_path / "notes.html"
    mine.write_text("<html>my own notes</html>")
    with pytest.raises(InputError, match="not a cnfutures report; refusing to overwrite"):
        res.report(mine)
    assert mine.read_text() == "<html>my own notes</html>"
    res.report(mine, overwrite=True)
    assert "cnfutures backtest" in mine.read_text()
    res.report(mine)  # an earlier cnfutures report is replaced without asking


@pytest.mark.parametrize(
    ("extra", "needle"),
    [
        (["--usd-cny", "0"], "usd_cny has 0.0"),  # before: ZeroDivisionError traceback
        (["--usd-cny", "nan"], "usd_cny has nan"),  # before: a NaN margin, exit 0
        (["--price", "ru=-5"], "prices['ru'] has -5.0"),  # before: a negative margin, exit 0
    ],
)
def test_access_summary_rejects_impossible_rates_and_prices(
    extra: list[str], needle: str, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["access", "qfi", "--on", "2025-06-20", "--price", "ru=14000", "--usd-cny", "7.18"]
    assert main(args) == 0
    capsys.readouterr()
    assert main([*args, *extra]) == 2
    assert needle in _one_line_error(capsys.readouterr().err)


@pytest.mark.parametrize(
    ("extra", "needle"),
    [
        (["--ratio", "abc"], "--ratio 'abc'"),  # before: ValueError traceback
        (["--confidence", "1.5"], "--confidence 1.5"),  # before: checked after the whole simulation
        (["--fan", "/nonexistent/dir/fan.png"], "--fan"),  # before: FileNotFoundError after the run
    ],
)
def test_risk_checks_its_options_before_simulating(
    extra: list[str], needle: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["risk", "--paths", "5", "--days", "5", *extra]) == 2
    assert needle in _one_line_error(capsys.readouterr().err)
