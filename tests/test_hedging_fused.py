"""The fused rolling / EWMA path of hedge_ratio (issue 20): the parallel rolling kernel gives
the serial kernel's numbers bit for bit, the input check fused into the kernel pass names the
first bad row, and the clean-run output (constant status chunks, zero-copy nulls) equals the
row-by-row construction."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from cnfutures import hedging
from cnfutures._kernels import hedge as kern
from cnfutures.errors import InputError
from tests import naive


def _serial(x: np.ndarray, y: np.ndarray, w: int, rc: int) -> tuple[np.ndarray, np.ndarray, int]:
    r = np.empty(x.shape[0])
    s = np.empty(x.shape[0], dtype=np.int64)
    odd = kern.rolling_hedge_ratio_nb(x, y, w, rc, r, s)
    return r, s, odd


@pytest.mark.parametrize(
    ("n", "w", "rc", "odd_rows"),
    [
        (20_000, 60, 500, ()),  # clean: every block runs in parallel
        (20_000, 7, 50, (3, 9_000)),  # NaN early and mid-way: serial redo from its block
        (20_000, 7, 50, (19_990,)),  # NaN in the last block
        (5_000, 5, 40, ("zero", 2_000)),  # a zero-variance stretch (futures constant)
        (300, 5, 10, (150,)),
        (40, 5, 100, ()),  # shorter than one recomputation period: serial
    ],
)
@pytest.mark.parametrize("nblocks", [1, 2, 3, 8, 64])
def test_parallel_rolling_is_the_serial_kernel_bit_for_bit(
    n: int, w: int, rc: int, odd_rows: tuple, nblocks: int
) -> None:
    rng = np.random.default_rng(n + w)
    x = rng.standard_normal(n)
    y = rng.standard_normal(n) + 2.0
    if odd_rows and odd_rows[0] == "zero":
        y[odd_rows[1] : odd_rows[1] + 3 * w] = 1.5
    else:
        for i in odd_rows:
            x[i] = np.nan
    r1, s1, odd1 = _serial(x, y, w, rc)
    r2 = np.full(n, 7.0)
    s2 = np.full(n, 9, dtype=np.uint8)
    odd2 = kern.rolling_hedge_ratio_par_nb(x, y, w, rc, r2, s2, nblocks)
    assert r1.tobytes() == r2.tobytes()  # identical bits, NaN included
    np.testing.assert_array_equal(s1, s2)
    # the count the kernels return: rows with a missing value or a zero variance
    assert odd1 == odd2 == int(((s1 == 2) & np.isnan(x)).sum() + (s1 == 3).sum())
    # and the plain Python twin agrees with the compiled kernel (short prefix: it is slow)
    m = min(n, 600)
    r3 = np.empty(m)
    s3 = np.empty(m, dtype=np.int64)
    assert kern.rolling_hedge_ratio(x[:m], y[:m], w, rc, r3, s3) == _serial(x[:m], y[:m], w, rc)[2]


def test_ewma_kernel_counts_and_uint8_status() -> None:
    x = np.array([0.1, 0.2, np.nan, -0.3, 0.4, 0.0, 0.5])
    y = np.array([0.2, 0.1, 0.3, -0.2, 0.5, 0.0, 0.0])
    r = np.empty(7)
    s8 = np.empty(7, dtype=np.uint8)
    for fn in (kern.ewma_hedge_ratio, kern.ewma_hedge_ratio_nb):
        assert fn(x, y, 0.9, 2, r, s8) == 1  # one missing row, no zero variance
        np.testing.assert_array_equal(s8, [1, 0, 2, 0, 0, 0, 0])
    z = np.zeros(4)
    assert kern.ewma_hedge_ratio_nb(z, z, 0.9, 2, np.empty(4), np.empty(0, dtype=np.int64)) == 3


@pytest.mark.parametrize("method", ["rolling", "ewma"])
def test_fused_check_names_the_first_infinite_row(method: str) -> None:
    rng = np.random.default_rng(3)
    s = rng.standard_normal(5_000)
    f = rng.standard_normal(5_000)
    s[100] = np.nan  # a missing value before it does not hide it
    s[4_321] = np.inf
    s[4_400] = -np.inf
    f[10] = np.inf  # spot is checked first, as before the fusion
    kw = {"window": 20} if method == "rolling" else {}
    with pytest.raises(InputError, match="spot_changes has an infinite value at row 4321"):
        hedging.hedge_ratio(s, f, method, missing="drop", **kw)  # type: ignore[arg-type]
    s[[4_321, 4_400]] = 0.0
    with pytest.raises(InputError, match="futures_changes has an infinite value at row 10"):
        hedging.hedge_ratio(s, f, method, missing="drop", **kw)  # type: ignore[arg-type]
    # an infinite value is reported before a bad window, as before the fusion
    with pytest.raises(InputError, match="futures_changes has an infinite value at row 10"):
        hedging.hedge_ratio(s[:30], f[:30], method, window=31)


def test_clean_rolling_output_equals_the_row_by_row_construction() -> None:
    rng = np.random.default_rng(4)
    n, w = 50_000, 60
    f = rng.standard_normal(n)
    s = 0.5 * f + rng.standard_normal(n)
    got = hedging.hedge_ratio(pl.Series(s), pl.Series(f), "rolling", window=w)
    # the general path (window in complete observations; every row complete here) builds
    # status and nulls row by row
    ref = hedging.hedge_ratio(s, f, "rolling", window=w, window_in="observations")
    assert_frame_equal(got, ref)
    assert got["hedge_ratio"].null_count() == w - 1
    # the statuses are an ordinary Enum column
    assert got.filter(pl.col("status") == "ok").height == n - w + 1
    assert got["status"].value_counts().sort("status")["count"].to_list() == [n - w + 1, w - 1]
    # and the numbers are the naive window regression's (tests/naive_hedge.py)
    rows = [w - 1, 777, n - 1]
    ref_naive = naive.naive_rolling_ratio(s, f, w, rows)
    np.testing.assert_allclose(got["hedge_ratio"].to_numpy()[rows], ref_naive[rows], rtol=1e-10)


@pytest.mark.parametrize("warm", [1, 8, 9, 20])
def test_clean_ewma_output_nulls_and_status(warm: int) -> None:
    rng = np.random.default_rng(warm)
    n = 1_000
    f = rng.standard_normal(n)
    s = 0.6 * f + rng.standard_normal(n)
    out = hedging.hedge_ratio(s, f, "ewma", lam=0.94, window=warm)
    ratio = out["hedge_ratio"]
    assert ratio.is_null().to_list() == [True] * (warm - 1) + [False] * (n - warm + 1)
    assert out["status"].to_list() == ["warmup"] * (warm - 1) + ["ok"] * (n - warm + 1)
    np.testing.assert_allclose(
        ratio.to_numpy()[warm - 1 :], naive.naive_ewma_ratio(s, f, 0.94)[warm - 1 :], rtol=1e-12
    )
    assert out["date"].to_list() == list(range(n))
