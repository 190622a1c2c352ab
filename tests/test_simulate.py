"""The seeded sample-market simulator: reproducible, on the tick grid, inside the limit band."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

import cnfutures
from cnfutures import simulate
from cnfutures.errors import DataError, InputError
from cnfutures.market.rules import price_limit


def test_same_seed_same_output_and_different_seed_differs() -> None:
    a = simulate.market("i", "2024-01-02", n_days=40, n_paths=2, seed=5)
    assert a.equals(simulate.market("i", "2024-01-02", n_days=40, n_paths=2, seed=5))
    assert not a.equals(simulate.market("i", "2024-01-02", n_days=40, n_paths=2, seed=6))


@pytest.mark.parametrize("code", ["sc", "i", "nr", "ru"])
def test_settles_on_tick_grid_inside_band_and_listed(code: str) -> None:
    prm = simulate.with_params(simulate.default_params(code), sigma_chi=0.6, sigma_xi=0.6)  # many limit days
    f = simulate.market(code, "2024-03-01", n_days=60, seed=11, params=prm)
    tick = cnfutures.product(code).tick
    for col in ("settle", "open", "close", "limit_up", "limit_down"):
        q = f[col].to_numpy() / tick
        assert np.abs(q - np.round(q)).max() < 1e-6, col
    assert (f["settle"] <= f["limit_up"]).all() and (f["settle"] >= f["limit_down"]).all()
    assert f["limit_locked"].sum() > 0  # the stressed parameters lock some days
    # the band equals the rule book's (source: RuleBook.price_limit, rounded inward to the tick)
    for r in (
        f.filter(~f["trading_day"].is_in([f["trading_day"].min()])).sample(15, seed=1).iter_rows(named=True)
    ):
        lim = price_limit(r["contract"], r["trading_day"], prev_settle=r["prev_settle"])
        assert (r["limit_up"], r["limit_down"]) == (lim.upper, lim.lower)
    # contracts each day are exactly the listed ones
    day = f["trading_day"][30]
    assert sorted(f.filter(pl.col("trading_day") == day)["contract"]) == sorted(
        c.code for c in cnfutures.listed_contracts(code, day)
    )
    # days are the exchange's trading days
    cal = cnfutures.calendar(cnfutures.product(code).exchange)
    assert (
        f["trading_day"].unique().sort().to_list()
        == cal.trading_days("2024-03-01", f["trading_day"].max()).to_list()
    )


def test_limit_lock_carries_excess_to_next_day() -> None:
    prm = simulate.with_params(simulate.default_params("sc"), sigma_chi=1.5, sigma_xi=0.0, kappa=0.1)
    f = simulate.market("sc", "2024-03-01", n_days=40, seed=3, params=prm).filter(
        pl.col("contract") == "sc2409"
    )
    locked = f.with_row_index().filter(pl.col("limit_locked"))
    assert locked.height > 0
    # after a lock at the up-limit the next day's settle is no lower than the locked one unless
    # the model moved: a locked day's settle equals its band edge exactly
    r = locked.row(0, named=True)
    assert r["settle"] in (r["limit_up"], r["limit_down"])


def test_bad_inputs() -> None:
    with pytest.raises(InputError):
        simulate.market("sc", "2024-03-01")
    with pytest.raises(InputError):
        simulate.market("sc", "2024-03-01", n_days=5, n_paths=0)
    with pytest.raises(InputError):
        simulate.Params(rho=2.0)
    import datetime as dt

    late = pl.DataFrame({"date": [dt.date(2025, 1, 2)], "price": [70.0]})
    with pytest.raises(DataError, match="after the first trading day"):
        simulate.market("sc", "2024-03-01", n_days=5, benchmark=late)


def test_counter_based_normals_compiled_equals_plain_and_are_standard_normal() -> None:
    from cnfutures._kernels import paths as k

    keys = np.array([0, 1, 2, 2**40 + 7, 2**63 + 5], dtype=np.uint64)
    for seed, path0 in ((0, 0), (2**62 + 12345, 2**33)):
        plain = np.empty((3, keys.size))
        k.keyed_normals(seed, 4, path0, [int(x) for x in keys], plain)
        nb = np.empty((3, keys.size))
        k.keyed_normals_nb(np.uint64(seed), np.uint64(4), np.uint64(path0), keys, nb)
        np.testing.assert_array_equal(plain, nb)
    z = np.empty((200, 5000))
    k.keyed_normals_nb(np.uint64(99), np.uint64(1), np.uint64(0), np.arange(5000, dtype=np.uint64), z)
    n = z.size  # 1e6 draws: mean and variance within 5 standard errors of N(0, 1)
    assert abs(z.mean()) < 5 / np.sqrt(n)
    assert abs(z.var() - 1.0) < 5 * np.sqrt(2.0 / n)
    # neighbouring keys and neighbouring paths are uncorrelated
    assert abs(np.corrcoef(z[:, :-1].ravel(), z[:, 1:].ravel())[0, 1]) < 5 / np.sqrt(n)
    assert abs(np.corrcoef(z[:-1].ravel(), z[1:].ravel())[0, 1]) < 5 / np.sqrt(n)
    stats = pytest.importorskip("scipy.stats")
    assert stats.kstest(z.ravel()[:200_000], "norm").pvalue > 1e-3


def test_plain_kernels_equal_compiled_ones() -> None:
    from cnfutures._kernels import paths as k

    su = simulate.setup("nr", "2024-03-01", n_days=30, contracts=["nr2406", "nr2409"])
    out = simulate.draw(su, 3, 0, 2)
    rng = np.random.default_rng(0)
    z = [rng.standard_normal((2, 30)) for _ in range(3)]
    e = np.zeros(0)
    res = []
    for fn in (k.factor_paths, k.factor_paths_nb):
        o = [np.empty((2, 30)) for _ in range(3)]
        fn(*z, 1 / 244, 1.3, 0.3, 0.2, 0.01, 0.4, 0.1, 9.4, e, 0.05, -0.2, 2.0, e, *o)
        res.append(o)
    for a, b in zip(*res, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-13)
    res2 = []
    R = su.rows.height
    zo, zc = rng.standard_normal((2, R)), rng.standard_normal((2, R))
    for fn in (k.contract_paths, k.contract_paths_nb):
        o = [np.empty((2, R)) for _ in range(6)]
        fn(
            out["chi"], out["xi"], su.row_day, su.row_tau, su.row_start, su.row_rate, zo, zc, 2.0, 0.01,
            5.0, True, 0.5, 0.004, 0.002, *o,
        )  # fmt: skip
        res2.append(o)
    for a, b in zip(*res2, strict=True):
        np.testing.assert_array_equal(a, b)
    # without open/close the settlements and limits are unchanged
    lean = simulate.draw(su, 3, 0, 2, ohlc=False)
    assert "open" not in lean
    for key in ("settle", "prev", "up", "dn"):
        np.testing.assert_array_equal(lean[key], out[key])


def test_paths_and_contracts_do_not_depend_on_what_else_is_simulated() -> None:
    full = simulate.market("sc", "2025-03-03", n_days=25, n_paths=4, seed=8, usd=True)
    # path 2 alone (drawn from index 2) equals path 2 of the four-path run
    su = simulate.setup("sc", "2025-03-03", n_days=25)
    alone = simulate.frame(su, simulate.draw(su, 8, 2, 1), path0=2, usd=True)
    assert alone.equals(full.filter(pl.col("path") == 2))
    # a subset of contracts has exactly the prices (settle, open, close) of the full listing
    sub = simulate.market("sc", "2025-03-03", n_days=25, n_paths=4, seed=8, contracts=["sc2506", "sc2512"])
    ref = full.filter(pl.col("contract").is_in(["sc2506", "sc2512"])).drop("usd_cny", "benchmark_usd")
    assert sub.equals(ref)
    with pytest.raises(InputError, match="sc3001"):
        simulate.market("sc", "2025-03-03", n_days=5, contracts=["sc3001"])


def test_simulated_usd_cny_has_the_stated_volatility_and_correlation() -> None:
    prm = simulate.with_params(simulate.default_params("i"), sigma_fx=0.05, rho_fx=0.6, sigma_xi=0.3)
    su = simulate.setup("i", "2024-01-02", n_days=200, params=prm, contracts=["i2405"])
    out = simulate.draw(su, 1, 0, 400)
    dfx = np.diff(out["lfx"], axis=1).ravel()
    dxi = np.diff(out["xi"], axis=1).ravel()
    n = dfx.size  # 79,600 daily changes
    dt = 1 / simulate.TRADING_DAYS_PER_YEAR
    sd = dfx.std() / np.sqrt(dt)
    assert abs(sd - 0.05) < 5 * 0.05 / np.sqrt(2 * n)  # sd of a sample sd: sigma / sqrt(2n)
    c = np.corrcoef(dfx, dxi)[0, 1]
    assert abs(c - 0.6) < 5 * (1 - 0.6**2) / np.sqrt(n)  # sd of a sample correlation
    assert np.allclose(out["lfx"][:, 0], np.log(7.1))


def test_real_benchmark_and_fx_come_back_as_benchmark_usd() -> None:
    import datetime as dt

    days = [dt.date(2025, 2, 28) + dt.timedelta(days=i) for i in range(30)]
    brent = pl.DataFrame({"date": days, "price": [70.0 + 0.5 * i for i in range(30)]})
    fx = pl.DataFrame({"date": days, "usd_cny": [7.2 - 0.01 * i for i in range(30)]})
    f = simulate.market("sc", "2025-03-03", n_days=10, benchmark=brent, usd_cny=fx, usd=True)
    day = f.group_by("trading_day").agg(pl.col("benchmark_usd", "usd_cny").first()).sort("trading_day")
    j = day.join(brent.rename({"date": "trading_day"}), on="trading_day").join(
        fx.rename({"date": "trading_day", "usd_cny": "fx"}), on="trading_day"
    )
    np.testing.assert_allclose(j["benchmark_usd"], j["price"], rtol=1e-12)
    np.testing.assert_allclose(j["usd_cny"], j["fx"], rtol=1e-12)


def test_limit_band_locks_and_the_excess_carries() -> None:
    # huge short-term shocks, no long-run moves: model prices jump far beyond the band
    prm = simulate.with_params(simulate.default_params("sc"), sigma_chi=3.0, sigma_xi=0.0, kappa=0.5)
    su = simulate.setup("sc", "2024-03-01", n_days=40, params=prm, contracts=["sc2409"])
    out = simulate.draw(su, 3, 0, 1)
    tau = su.row_tau
    model = np.exp(np.exp(-0.5 * tau) * out["chi"][0, su.row_day] + out["xi"][0, su.row_day])
    s, up, dn = out["settle"][0], out["up"][0], out["dn"][0]
    tick = 0.1
    locked_up = s >= up - 1e-9
    assert locked_up.sum() + (s <= dn + 1e-9).sum() > 3
    # where not locked, the settle is the model price rounded to the tick (within half a tick)
    free = ~locked_up & ~(s <= dn + 1e-9)
    assert np.all(np.abs(s[free] - model[free]) <= tick / 2 + 1e-9)
    # where locked up, the model price was beyond the band: the excess is not lost but carried,
    # so the next day starts from the limit (prev = today's settle)
    idx = np.flatnonzero(locked_up[:-1])
    assert np.all(model[idx] > up[idx])
    np.testing.assert_array_equal(out["prev"][0][idx + 1], s[idx])


def test_reused_buffers_give_the_same_draws() -> None:
    su = simulate.setup("sc", "2025-03-03", n_days=20)
    buf: dict[str, np.ndarray] = {}
    for p0, n in ((0, 3), (3, 3), (6, 2)):
        got = {k: v.copy() for k, v in simulate.draw(su, 4, p0, n, buffers=buf).items()}
        fresh = simulate.draw(su, 4, p0, n)
        for key in fresh:
            np.testing.assert_array_equal(got[key], fresh[key])


def test_positional_signature_of_the_issue() -> None:
    # market(product, start, n_days, n_paths, seed, params) as specified in issue 8
    f = simulate.market("sc", "2025-06-02", 5, 2, 7, simulate.default_params("sc"))
    assert f["path"].unique().sort().to_list() == [0, 1]
    assert f["trading_day"].n_unique() == 5
    assert f.equals(simulate.market("sc", "2025-06-02", n_days=5, n_paths=2, seed=7))
