"""GARCH(1,1) and DCC-GARCH(1,1) estimation: agreement with arch, recovery, speed."""

from __future__ import annotations

import time

import numpy as np
import pytest

from cnfutures import hedging
from cnfutures._kernels import hedge as kern
from cnfutures.errors import InputError
from tests import naive


def simulate_dcc(n: int, seed: int, g1=(0.05, 0.08, 0.90), g2=(0.03, 0.05, 0.93),
                 a: float = 0.04, b: float = 0.94, rbar: float = 0.6):
    """Bivariate GARCH(1,1)-DCC(1,1) with Gaussian shocks (Engle 2002), returns (e1, e2)."""
    rng = np.random.default_rng(seed)
    e = np.empty((n, 2))
    s2 = np.array([g1[0] / (1 - g1[1] - g1[2]), g2[0] / (1 - g2[1] - g2[2])])
    Qbar = np.array([[1.0, rbar], [rbar, 1.0]])
    Q = Qbar.copy()
    z_prev = np.zeros(2)
    e_prev = np.zeros(2)
    for t in range(n):
        if t > 0:
            Q = (1 - a - b) * Qbar + a * np.outer(z_prev, z_prev) + b * Q
            s2 = np.array([g1[0] + g1[1] * e_prev[0] ** 2 + g1[2] * s2[0],
                           g2[0] + g2[1] * e_prev[1] ** 2 + g2[2] * s2[1]])
        d = 1 / np.sqrt(np.diag(Q))
        rho = Q[0, 1] * d[0] * d[1]
        u = rng.standard_normal(2)
        z = np.array([u[0], rho * u[0] + np.sqrt(1 - rho**2) * u[1]])
        e[t] = z * np.sqrt(s2)
        z_prev, e_prev = z, e[t]
    return e[:, 0], e[:, 1]


@pytest.fixture(scope="module")
def sim20k():
    return simulate_dcc(20_000, seed=2026)


def test_garch_nll_kernels_agree_with_naive() -> None:
    rng = np.random.default_rng(1)
    e = rng.standard_normal(300)
    bc = kern.garch11_backcast(e)
    ref = naive.naive_garch_nll(e, 0.1, 0.1, 0.8)
    assert kern.garch11_nll(e, 0.1, 0.1, 0.8, bc) == pytest.approx(ref, rel=1e-12)
    assert kern.garch11_nll_nb(e, 0.1, 0.1, 0.8, bc) == pytest.approx(ref, rel=1e-12)
    z1, z2 = rng.standard_normal(200), rng.standard_normal(200)
    ref = naive.naive_dcc_nll(z1, z2, 0.05, 0.9, 0.3)
    assert kern.dcc_nll(z1, z2, 0.05, 0.9, 0.3) == pytest.approx(ref, rel=1e-10)
    assert kern.dcc_nll_nb(z1, z2, 0.05, 0.9, 0.3) == pytest.approx(ref, rel=1e-10)


def test_optimiser_plain_and_compiled_agree() -> None:
    e1, e2 = simulate_dcc(300, seed=3)
    sd = np.sqrt(np.mean(e1**2))
    plain = kern.garch11_fit(e1 / sd, 400)
    comp = kern.garch11_fit_nb(e1 / sd, 400)
    np.testing.assert_allclose(plain, comp, rtol=1e-8)
    z1, z2 = e1 / e1.std(), e2 / e2.std()
    np.testing.assert_allclose(kern.dcc_fit(z1, z2, 0.5, 300), kern.dcc_fit_nb(z1, z2, 0.5, 300),
                               rtol=1e-8)


@pytest.mark.parametrize("mean", ["zero", "constant"])
def test_univariate_step_agrees_with_arch(sim20k, mean: str) -> None:
    arch = pytest.importorskip("arch")
    y = sim20k[0][:5000] + (0.02 if mean == "constant" else 0.0)
    # our constant mean is the sample mean (two-step); arch estimates mu jointly, so compare
    # against arch's zero-mean model on the series we demean ourselves
    y_fit = y - y.mean() if mean == "constant" else y
    res = arch.arch_model(y_fit, mean="Zero", vol="GARCH", p=1, q=1, dist="normal",
                          rescale=False).fit(disp="off")
    fit = hedging.fit_dcc(y, sim20k[1][:5000], mean=mean)  # type: ignore[arg-type]
    g = fit.spot
    # tolerances: log-likelihood 1e-3 absolute, omega 2%, alpha/beta 1e-3 absolute
    assert g.loglik == pytest.approx(res.loglikelihood, abs=1e-3)
    assert g.omega == pytest.approx(res.params["omega"], rel=2e-2)
    assert g.alpha == pytest.approx(res.params["alpha[1]"], abs=1e-3)
    assert g.beta == pytest.approx(res.params["beta[1]"], abs=1e-3)


def test_dcc_recovers_simulated_parameters(sim20k) -> None:
    e1, e2 = sim20k
    fit = hedging.fit_dcc(e1, e2, mean="zero")
    # stated tolerances on 20,000 observations (a few standard errors):
    # GARCH alpha +-0.015, beta +-0.025, omega within 40%; DCC a +-0.01, b +-0.02; Qbar +-0.05
    assert fit.spot.alpha == pytest.approx(0.08, abs=0.015)
    assert fit.spot.beta == pytest.approx(0.90, abs=0.025)
    assert fit.spot.omega == pytest.approx(0.05, rel=0.4)
    assert fit.futures.alpha == pytest.approx(0.05, abs=0.015)
    assert fit.futures.beta == pytest.approx(0.93, abs=0.025)
    assert fit.futures.omega == pytest.approx(0.03, rel=0.4)
    assert fit.a == pytest.approx(0.04, abs=0.01)
    assert fit.b == pytest.approx(0.94, abs=0.02)
    assert fit.qbar == pytest.approx(0.6, abs=0.05)
    assert fit.a + fit.b < 1
    fr = fit.frame
    h = fr["correlation"] * fr["sigma_spot"] / fr["sigma_futures"]
    np.testing.assert_allclose(fr["hedge_ratio"].to_numpy(), h.to_numpy(), rtol=1e-12)
    params = fit.to_frame()
    assert params.filter(params["parameter"] == "a")["value"][0] == fit.a


def test_dcc_fit_time_under_one_second() -> None:
    e1, e2 = simulate_dcc(5000, seed=5)
    hedging.fit_dcc(e1[:100], e2[:100])  # compile / load cache
    t0 = time.perf_counter()
    fit = hedging.fit_dcc(e1, e2)
    elapsed = time.perf_counter() - t0
    assert elapsed < 1.0, f"DCC fit on 5,000 rows took {elapsed:.3f} s"
    assert fit.n == 5000


def test_dcc_via_hedge_ratio_and_errors() -> None:
    e1, e2 = simulate_dcc(400, seed=6)
    out = hedging.hedge_ratio(e1, e2, "dcc")
    assert out.columns == ["date", "hedge_ratio", "correlation", "sigma_spot", "sigma_futures",
                           "status"]
    assert out["hedge_ratio"].null_count() == 0
    e1[10] = np.nan
    with pytest.raises(InputError, match="row 10"):
        hedging.fit_dcc(e1, e2)
    with pytest.raises(InputError, match="at least 50"):
        hedging.fit_dcc(e2[:20], e2[:20])
    with pytest.raises(InputError, match="mean"):
        hedging.fit_dcc(e2, e2, mean="ar1")  # type: ignore[arg-type]
