"""Joint simulation of several products (cnfutures.simulate.markets / draw_joint) and the
correlation estimator (simulate.estimate_correlation) and validator (validation.check_correlation).

References: the single-product simulator ``simulate.market`` (the per-product streams must be
reproduced bit for bit under independence); the sampling distribution of a correlation
coefficient (Fisher 1921: ``atanh(r)`` is about normal with standard error ``1/sqrt(N - 3)``),
used as a 4-standard-error tolerance; numpy's eigenvalues for PSD; pandas for the estimator.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import polars as pl
import pytest

from cnfutures import simulate
from cnfutures.errors import InputError
from cnfutures.validation import check_correlation

P4 = ["sc", "i", "nr", "ru"]
C4 = np.array(
    [
        [1.0, 0.6, 0.3, 0.2],
        [0.6, 1.0, 0.4, -0.1],
        [0.3, 0.4, 1.0, 0.7],
        [0.2, -0.1, 0.7, 1.0],
    ]
)  # an arbitrary valid matrix: smallest eigenvalue > 0 (checked below)
DT = 1.0 / simulate.TRADING_DAYS_PER_YEAR


def _shocks(out: dict[str, np.ndarray], prm: simulate.Params) -> tuple[np.ndarray, np.ndarray]:
    """Unit shocks recovered from the factor paths: e1 from chi's exact OU step, e_xi from xi."""
    a = math.exp(-prm.kappa * DT)
    s_chi = prm.sigma_chi * math.sqrt((1.0 - a * a) / (2.0 * prm.kappa))
    e1 = (out["chi"][:, 1:] - a * out["chi"][:, :-1]) / s_chi
    drift = (prm.mu_xi - 0.5 * prm.sigma_xi**2) * DT
    exi = (np.diff(out["xi"], axis=1) - drift) / (prm.sigma_xi * math.sqrt(DT))
    return e1.ravel(), exi.ravel()


def _within_fisher(r: float, rho: float, n: int, k: float = 4.0) -> bool:
    return abs(math.atanh(r) - math.atanh(rho)) <= k / math.sqrt(n - 3)


def test_c4_is_positive_definite() -> None:
    assert np.linalg.eigvalsh(C4).min() > 0.05


def test_independent_reproduces_single_product_streams() -> None:
    f = simulate.markets(P4, "2024-01-02", end="2024-06-28", n_paths=2, seed=5, corr="independent")
    for k, p in enumerate(P4):
        m = simulate.market(p, "2024-01-02", end="2024-06-28", n_paths=2, seed=5 + k, usd=True)
        if k == 0:  # the first product's frame is market()'s, FX included
            assert f[p].equals(m)
        else:  # the others differ only by the shared FX path
            assert f[p].drop("usd_cny", "benchmark_usd").equals(m.drop("usd_cny", "benchmark_usd"))
            assert not f[p]["usd_cny"].equals(m["usd_cny"])


def test_shock_correlations_match_the_matrix() -> None:
    sus = simulate.joint_setup(P4, "2024-01-02", n_days=245)
    outs = simulate.draw_joint(sus, simulate._cholesky_psd(C4), 11, 0, 200, ohlc=False)
    sh = [_shocks(o, su.params) for o, su in zip(outs, sus, strict=True)]
    n = sh[0][0].size  # 200 paths x 244 steps = 48,800 shocks per product
    assert n == 48_800
    for k in range(4):
        assert abs(sh[k][0].std() - 1.0) < 4 * math.sqrt(0.5 / n)  # unit variance (SE of an sd)
        for j in range(k + 1, 4):
            r1 = float(np.corrcoef(sh[k][0], sh[j][0])[0, 1])
            assert _within_fisher(r1, C4[k, j], n), (P4[k], P4[j], r1)
            # long-run shocks: corr * (rho_k rho_j + sqrt(1-rho_k^2) sqrt(1-rho_j^2)) (documented)
            rk, rj = sus[k].params.rho, sus[j].params.rho
            want = C4[k, j] * (rk * rj + math.sqrt(1 - rk * rk) * math.sqrt(1 - rj * rj))
            r2 = float(np.corrcoef(sh[k][1], sh[j][1])[0, 1])
            assert _within_fisher(r2, want, n), (P4[k], P4[j], r2, want)


def test_fx_is_one_path_shared_by_all_products() -> None:
    f = simulate.markets(P4, "2025-01-02", n_days=30, n_paths=3, seed=2, corr=C4)
    fx = {
        p: f[p].group_by("path", "trading_day").agg(pl.col("usd_cny").unique()).sort("path", "trading_day")
        for p in P4
    }
    for p in P4:
        assert fx[p]["usd_cny"].list.len().max() == 1  # one rate per (path, day) within a product
        assert fx[p].equals(fx["sc"])
    per_path = fx["sc"].with_columns(pl.col("usd_cny").list.first()).pivot("path", index="trading_day")
    assert per_path["0"].to_list() != per_path["1"].to_list()  # paths differ


def test_paths_do_not_depend_on_chunking() -> None:
    sus = simulate.joint_setup(["sc", "i"], "2025-01-02", n_days=40)
    low = simulate._cholesky_psd(check_correlation({("sc", "i"): -0.35}, ["sc", "i"]))
    whole = simulate.draw_joint(sus, low, 9, 0, 6)
    parts = [simulate.draw_joint(sus, low, 9, p0, n) for p0, n in ((0, 2), (2, 3), (5, 1))]
    for k in range(2):
        for name in ("chi", "xi", "lfx", "settle", "open", "close"):
            glued = np.concatenate([p[k][name] for p in parts])
            assert np.array_equal(glued, whole[k][name]), name


def test_cholesky_of_singular_psd_matrix() -> None:
    c = np.array([[1.0, 1.0, 0.0], [1.0, 1.0, 0.0], [0.0, 0.0, 1.0]])  # sc and i perfectly correlated
    low = simulate._cholesky_psd(check_correlation(c, ["sc", "i", "nr"]))
    assert np.allclose(low @ low.T, c, atol=1e-14)
    sus = simulate.joint_setup(["sc", "i", "nr"], "2025-01-02", n_days=20)
    o = simulate.draw_joint(sus, low, 3, 0, 2, ohlc=False)
    a, b = _shocks(o[0], sus[0].params)[0], _shocks(o[1], sus[1].params)[0]
    assert np.allclose(a, b, atol=1e-9)


@pytest.mark.parametrize(
    ("corr", "match"),
    [
        (
            {("sc", "i"): 1.2, ("sc", "nr"): 0.0, ("i", "nr"): 0.0},
            r"corr\[\('sc', 'i'\)\]=1\.2 is outside \[-1, 1\]",
        ),
        ({("sc", "i"): 0.2, ("sc", "nr"): 0.1}, r"pair\(s\) \[\('i', 'nr'\)\] missing"),
        (
            {("sc", "i"): 0.2, ("i", "sc"): 0.3, ("sc", "nr"): 0, ("i", "nr"): 0},
            r"not symmetric: \('sc', 'i'\)",
        ),
        ({("sc", "ru"): 0.2, ("sc", "i"): 0, ("sc", "nr"): 0, ("i", "nr"): 0}, r"\['ru'\] not among"),
        (
            {("sc", "i"): 0.9, ("sc", "nr"): 0.9, ("i", "nr"): -0.9},
            r"not positive semi-definite \(smallest eig",
        ),
        ([[1, 0.2, 0], [0.3, 1, 0], [0, 0, 1]], r"not symmetric: \['sc', 'i'\]=0\.2 but \['i', 'sc'\]=0\.3"),
        ([[1, 0.2], [0.2, 1]], r"shape \(2, 2\); a 3x3 matrix"),
        ([[1, 0, 0], [0, 0.9, 0], [0, 0, 1]], r"\['i', 'i'\]=0\.9; the diagonal must be 1"),
        ([[1, 0, 0], [0, 1, float("nan")], [0, float("nan"), 1]], r"\['i', 'nr'\]=nan is outside"),
        ("independant", r"corr='independant'; accepted: 'independent'"),
        (None, r"not 'independent', a mapping or a numeric matrix"),
    ],
)
def test_bad_correlations_are_typed_errors(corr: object, match: str) -> None:
    with pytest.raises(InputError, match=match):
        simulate.markets(["sc", "i", "nr"], "2025-01-02", n_days=5, corr=corr)


def test_corr_is_required_and_products_checked() -> None:
    with pytest.raises(TypeError, match="corr"):
        simulate.markets(["sc", "i"], "2025-01-02", n_days=5)  # type: ignore[call-arg]
    with pytest.raises(InputError, match="repeats a product"):
        simulate.markets(["sc", "sc"], "2025-01-02", n_days=5, corr="independent")
    est = simulate.CorrelationEstimate(("sc", "i"), np.eye(2), 100, *(pd.Timestamp("2025-01-02").date(),) * 2)
    with pytest.raises(InputError, match=r"product\(s\) \['nr'\] are missing"):
        simulate.markets(["sc", "nr"], "2025-01-02", n_days=5, corr=est)


# ------------------------------------------------------------------ estimate_correlation
def _naive_corr(frames: dict[str, pd.DataFrame]) -> tuple[np.ndarray, int]:
    """pandas: inner-join on days, log returns, drop days where any product changed contract."""
    j = None
    for p, f in frames.items():
        g = f.set_index("trading_day")[["settle", "contract"]].add_suffix("_" + p)
        j = g if j is None else j.join(g, how="inner")
    assert j is not None
    j = j.sort_index().dropna()
    keep = np.ones(len(j) - 1, dtype=bool)
    rets = {}
    for p in frames:
        c = j["contract_" + p].to_numpy()
        keep &= c[1:] == c[:-1]
        rets[p] = np.log(j["settle_" + p].to_numpy()[1:] / j["settle_" + p].to_numpy()[:-1])
    r = pd.DataFrame(rets)[keep]
    return r.corr().to_numpy(), len(r)


def test_estimate_recovers_simulated_correlation() -> None:
    c = np.array([[1.0, 0.5], [0.5, 1.0]])
    f = simulate.markets(["sc", "i"], "2021-01-04", end="2024-12-31", seed=4, corr=c)
    held = {}
    for p, fr in f.items():  # the nearest contract with 30+ calendar days left, one per day
        h = (
            fr.filter((pl.col("last_trading_day") - pl.col("trading_day")).dt.total_days() > 30)
            .sort("trading_day", "last_trading_day")
            .group_by("trading_day", maintain_order=True)
            .first()
        )
        held[p] = h.select("trading_day", "contract", "settle")
    est = simulate.estimate_correlation(held)
    want, n = _naive_corr({p: h.to_pandas() for p, h in held.items()})
    assert est.observations == n
    np.testing.assert_allclose(est.matrix, want, rtol=0, atol=1e-12)
    # settle returns carry the short-term and long-run shocks and tick/limit noise: the
    # estimate is near 0.5, not equal to it; a loose band, the exact check is against pandas
    assert 0.3 < est.matrix[0, 1] < 0.7
    assert est.pairs() == {("sc", "i"): est.matrix[0, 1]}


def test_estimate_rejects_bad_frames() -> None:
    d = pl.date_range(pd.Timestamp("2025-01-01").date(), pd.Timestamp("2025-01-10").date(), eager=True)
    a = pl.DataFrame({"trading_day": d, "contract": "x", "settle": np.linspace(1, 2, 10)})
    with pytest.raises(InputError, match="at least two products"):
        simulate.estimate_correlation({"a": a})
    with pytest.raises(InputError, match="no contract or roll column"):
        simulate.estimate_correlation({"a": a, "b": a.drop("contract")})
    with pytest.raises(InputError, match=r"only 9 aligned .* at least 60"):
        simulate.estimate_correlation({"a": a, "b": a})
    with pytest.raises(InputError, match="rows on repeated days"):
        simulate.estimate_correlation({"a": a, "b": pl.concat([a, a])})


def test_estimate_on_sina_main_contracts(shared_data: Path) -> None:
    # Sina's continuous series has no contract id: a roll is marked (test-only heuristic) where
    # the settle moves more than 8 % day on day, beyond what one contract moved on all but
    # a few days, plus every day after a missing settle. The estimator must equal pandas on
    # the same marks.
    frames = {}
    for p in ("sc", "i", "nr"):
        f = pl.read_csv(
            shared_data / "sina_continuous" / f"{p}_main_sina.csv",
            try_parse_dates=True,
            infer_schema_length=None,
        )
        f = f.select(pl.col("date").alias("trading_day"), "settle").drop_nulls()
        jump = ((pl.col("settle") / pl.col("settle").shift(1)).log().abs() > 0.08).fill_null(False)
        f = f.with_columns(jump.cum_sum().cast(pl.String).alias("contract"))
        frames[p] = f
    est = simulate.estimate_correlation(frames)
    want, n = _naive_corr({p: f.to_pandas() for p, f in frames.items()})
    assert est.observations == n > 1000
    np.testing.assert_allclose(est.matrix, want, rtol=0, atol=1e-12)
    assert est.first.isoformat() >= "2019-08-12"  # nr's first day bounds the overlap
    assert 0 < est.matrix[0, 2] < 1 and np.linalg.eigvalsh(est.matrix).min() > 0
