"""Joint simulation of several products (correlated shocks, one USD/CNY) against numpy.

Group ``simulate_joint``: the four products sc, i, nr, ru over one year (244 trading days,
every listed contract), ``P`` paths in chunks, with a stated correlation matrix. Ours:
:func:`cnfutures.simulate.draw_joint` (counter-based draws, Cholesky mix, the compiled factor
and contract kernels). Peer: what a user writes with numpy: standard normals, the Cholesky
factor applied with ``einsum``, then the same model per product (``_numpy_chunk`` of
``bench_simulate``, a loop over days and contract rows vectorised across paths); checked to give
our settlements on our draws.
"""

from __future__ import annotations

import numpy as np
import pytest

from benchmarks.bench_simulate import _numpy_chunk
from benchmarks.conftest import size, tag
from cnfutures import simulate

PRODUCTS = ["sc", "i", "nr", "ru"]
CORR = np.array(
    [[1.0, 0.35, 0.3, 0.3], [0.35, 1.0, 0.25, 0.25], [0.3, 0.25, 1.0, 0.8], [0.3, 0.25, 0.8, 1.0]]
)
P = size(1_000, 100)
D = 244
CHUNK = 250


@pytest.fixture(scope="module")
def sus() -> list[simulate.Setup]:
    return simulate.joint_setup(PRODUCTS, "2025-01-02", n_days=D)


def _ours(sus: list[simulate.Setup]) -> float:
    low = simulate._cholesky_psd(CORR)
    acc = 0.0
    for p0 in range(0, P, CHUNK):
        outs = simulate.draw_joint(sus, low, 1, p0, min(CHUNK, P - p0), ohlc=False)
        acc += sum(float(o["settle"][:, -1].sum()) for o in outs)
    return acc


def _numpy_joint(
    sus: list[simulate.Setup], z1: np.ndarray, z2: np.ndarray, z3: np.ndarray
) -> list[np.ndarray]:
    """z1, z2 [K, n, D] independent draws, z3 [n, D] the FX draws: settle [n, R] per product."""
    low = np.linalg.cholesky(CORR)
    e1 = np.einsum("kj,jnd->knd", low, z1)
    e2 = np.einsum("kj,jnd->knd", low, z2)
    return [_numpy_chunk(su, e1[k], e2[k], z3) for k, su in enumerate(sus)]


def _peer(sus: list[simulate.Setup]) -> float:
    rng = np.random.default_rng(1)
    acc = 0.0
    for p0 in range(0, P, CHUNK):
        n = min(CHUNK, P - p0)
        z = rng.standard_normal((2, len(sus), n, D))
        acc += sum(float(s[:, -1].sum()) for s in _numpy_joint(sus, z[0], z[1], rng.standard_normal((n, D))))
    return acc


def test_numpy_peer_reproduces_our_joint_settlements(sus: list[simulate.Setup]) -> None:
    from cnfutures._kernels import paths as k

    outs = simulate.draw_joint(sus, simulate._cholesky_psd(CORR), 5, 0, 3, ohlc=False)
    keys = np.arange(D, dtype=np.uint64)
    z = np.empty((2, len(sus), 3, D))
    for i, stream in enumerate((k.STREAM_CHI, k.STREAM_XI)):
        for j in range(len(sus)):
            k.keyed_normals_nb(np.uint64(5 + j), np.uint64(stream), np.uint64(0), keys, z[i, j])
    z3 = np.empty((3, D))
    k.keyed_normals_nb(np.uint64(5), np.uint64(k.STREAM_FX), np.uint64(0), keys, z3)
    for o, s, su in zip(outs, _numpy_joint(sus, z[0], z[1], z3), sus, strict=True):
        # on the tick grid (sc's 0.1 tick: n / 10 and n * 0.1 differ in the last bit), the same
        # rounding up to float noise at exact half ticks
        tick = su.product.tick
        np.testing.assert_allclose(s, o["settle"], rtol=0, atol=tick * 1.0001)
        assert np.mean(np.round(s / tick) == np.round(o["settle"] / tick)) > 0.999


@pytest.mark.benchmark(group="simulate_joint")
def test_simulate_joint_ours(benchmark, sus) -> None:  # type: ignore[no-untyped-def]
    simulate.draw_joint(sus, np.eye(4), 1, 0, 2)  # compile outside the timed region
    tag(benchmark, role="ours", name="cnfutures", n=P * D * len(PRODUCTS), goals={"numpy": 0.5})
    benchmark.extra_info["rows_per_path"] = sum(su.rows.height for su in sus)
    benchmark.pedantic(_ours, args=(sus,), rounds=size(1, 3), iterations=1)


@pytest.mark.benchmark(group="simulate_joint")
def test_simulate_joint_numpy_peer(benchmark, sus) -> None:  # type: ignore[no-untyped-def]
    tag(benchmark, role="peer", name="numpy", n=P * D * len(PRODUCTS))
    benchmark.pedantic(_peer, args=(sus,), rounds=size(1, 3), iterations=1)
