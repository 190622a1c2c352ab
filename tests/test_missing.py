"""One missing-data rule for every estimator (issue 16, part 2).

``missing="raise"`` (default) refuses an incomplete row and says which rows and why;
``missing="drop"`` leaves them out, with windows in periods (``min_periods``) or in
complete observations. References: plain loops over the complete rows, written here.
"""

from __future__ import annotations

import dataclasses
import datetime as dt

import numpy as np
import polars as pl
import pytest

from cnfutures import hedging
from cnfutures.errors import InputError


def _ols(s: np.ndarray, f: np.ndarray) -> float:
    fc, sc = f - f.mean(), s - s.mean()
    return float((fc * sc).sum() / (fc * fc).sum())


@pytest.fixture(scope="module")
def weekly_with_rolls() -> tuple[pl.DataFrame, pl.DataFrame]:
    """Weekly changes on a full Friday grid; the futures roll every 9th week (null change)."""
    rng = np.random.default_rng(16)
    n = 160
    fri = [dt.date(2021, 1, 1) + dt.timedelta(weeks=k) for k in range(n)]
    f_px = 500 + np.cumsum(rng.standard_normal(n) * 5)
    s_px = 70 + 0.13 * (f_px - 500) + np.cumsum(rng.standard_normal(n) * 0.4)
    roll = [k % 9 == 4 for k in range(n)]
    dF = hedging.changes(pl.DataFrame({"date": fri, "settle": f_px, "roll": roll}))
    dS = hedging.changes(pl.DataFrame({"date": fri, "price": s_px}))
    return dS, dF


def test_raise_names_the_rows_and_why(weekly_with_rolls: tuple[pl.DataFrame, pl.DataFrame]) -> None:
    dS, dF = weekly_with_rolls
    pattern = (r"excluded 19 of 160 rows: 18 futures roll, 1 spot first_row \+ futures first_row; "
               r"first: row 0 \(2021-01-01\)")
    for call in (
        lambda: hedging.hedge_ratio(dS, dF),
        lambda: hedging.hedge_ratio(dS, dF, "rolling", window=20),
        lambda: hedging.hedge_ratio(dS, dF, "ewma"),
        lambda: hedging.hedge_ratio(dS, dF, "dcc"),
        lambda: hedging.fit_dcc(dS, dF),
        lambda: hedging.effectiveness(dS, dF, 0.1),
        lambda: hedging.effectiveness_oos(dS, dF, estimation_window=52),
    ):
        with pytest.raises(InputError, match=pattern):
            call()
    with pytest.raises(InputError, match="missing='maybe' is not accepted"):
        hedging.effectiveness(dS, dF, 0.1, missing="maybe")  # type: ignore[arg-type]


def test_rolling_windows_in_observations_and_periods(
    weekly_with_rolls: tuple[pl.DataFrame, pl.DataFrame],
) -> None:
    dS, dF = weekly_with_rolls
    s, f = dS["change"].to_numpy(), dF["change"].to_numpy()
    ok = ~(np.isnan(s) | np.isnan(f))
    w = 20
    # the old behaviour, now spelled out: a window of 20 weeks needing all 20 -> all null
    periods = hedging.hedge_ratio(dS, dF, "rolling", window=w, missing="drop")
    assert periods["hedge_ratio"].null_count() == periods.height
    # window of 20 complete observations
    obs = hedging.hedge_ratio(dS, dF, "rolling", window=w, missing="drop", window_in="observations")
    idx = np.flatnonzero(ok)
    for j, t in enumerate(idx):
        r, st = obs["hedge_ratio"][int(t)], obs["status"][int(t)]
        if j < w - 1:
            assert r is None and st == "warmup"
        else:
            use = idx[j - w + 1 : j + 1]
            assert r == pytest.approx(_ols(s[use], f[use]), rel=1e-10)
    assert set(obs.filter(pl.Series(~ok))["status"].to_list()) == {"missing"}
    # window of 20 periods with at least 15 complete
    mp = hedging.hedge_ratio(dS, dF, "rolling", window=w, missing="drop", min_periods=15)
    for t in range(w - 1, len(s)):
        rows = np.arange(t - w + 1, t + 1)
        use = rows[ok[rows]]
        r = mp["hedge_ratio"][t]
        if use.size >= 15:
            assert r == pytest.approx(_ols(s[use], f[use]), rel=1e-9)
        else:
            assert r is None and mp["status"][t] == "missing_in_window"
    assert mp["hedge_ratio"].drop_nulls().len() > 100
    for bad in (2, 21, 1.5):
        with pytest.raises(InputError, match="min_periods"):
            hedging.hedge_ratio(dS, dF, "rolling", window=w, missing="drop", min_periods=bad)  # type: ignore[arg-type]
    with pytest.raises(InputError, match="min_periods applies to method='rolling'"):
        hedging.hedge_ratio(dS, dF, "ewma", missing="drop", min_periods=5)
    with pytest.raises(InputError, match="window_in"):
        hedging.hedge_ratio(dS, dF, "ewma", missing="drop", window_in="periods")


def test_drop_is_the_estimate_on_complete_rows(weekly_with_rolls: tuple[pl.DataFrame, pl.DataFrame]) -> None:
    dS, dF = weekly_with_rolls
    s, f = dS["change"].to_numpy(), dF["change"].to_numpy()
    ok = ~(np.isnan(s) | np.isnan(f))
    sc, fc = s[ok], f[ok]
    ols = hedging.hedge_ratio(dS, dF, missing="drop")
    assert ols["n"][0] == ok.sum() and ols["hedge_ratio"][0] == pytest.approx(_ols(sc, fc), rel=1e-12)
    # OOS: windows count complete observations; the rows left out are counted
    a = hedging.effectiveness_oos(dS, dF, estimation_window=52, refit_every=4, missing="drop")
    b = hedging.effectiveness_oos(sc, fc, estimation_window=52, refit_every=4)
    assert a.n_dropped == b.n_dropped + (~ok).sum()
    assert dataclasses.replace(a, n_dropped=b.n_dropped) == b
    # DCC on the complete rows; the frame keeps the dropped rows as nulls
    fit = hedging.fit_dcc(dS, dF, missing="drop")
    ref = hedging.fit_dcc(sc, fc)
    assert (fit.a, fit.b, fit.qbar, fit.n) == (ref.a, ref.b, ref.qbar, ref.n)
    assert fit.frame.height == len(s) and fit.frame["hedge_ratio"].null_count() == (~ok).sum()
    assert fit.frame.filter(pl.Series(ok))["hedge_ratio"].to_list() == ref.frame["hedge_ratio"].to_list()
    # in-sample effectiveness
    e = hedging.effectiveness(dS, dF, 0.1, missing="drop")
    assert e.n == ok.sum() and e.n_dropped == (~ok).sum()


def test_not_enough_data_says_what_was_left_out(
    weekly_with_rolls: tuple[pl.DataFrame, pl.DataFrame],
) -> None:
    dS, dF = weekly_with_rolls
    head_s, head_f = dS.head(12), dF.head(12)
    with pytest.raises(InputError, match=r"estimation_window=10 needs more than 10 complete rows; "
                                         r"there are 10 \(excluded 2 of 12 rows"):
        hedging.effectiveness_oos(head_s, head_f, estimation_window=10, missing="drop")
    ratio = hedging.hedge_ratio(dS, dF, "rolling", window=20, missing="drop")
    with pytest.raises(InputError, match=r"got 0 \(excluded 160 of 160 rows: 141 ratio missing_in_window"):
        hedging.effectiveness(dS, dF, ratio, missing="drop")
    msg = r"OLS needs at least 3 complete rows; got 2 \(excluded 1 of 3 rows: 1 futures roll; first: row 1"
    with pytest.raises(InputError, match=msg):
        hedging.hedge_ratio(dS.slice(3, 3), dF.slice(3, 3), missing="drop")
