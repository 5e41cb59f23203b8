"""The shared kernels against plain NumPy on sizes that stress their fast paths."""

import itertools
import math

import jax.numpy as jnp
import numpy as np
import pytest

from trilemma import _kernels


def test_sum_axes_equals_numpy_for_every_axis_subset():
    x = np.random.default_rng(0).random((2, 3, 70, 1, 5))
    for r in range(x.ndim + 1):
        for drop in itertools.combinations(range(x.ndim), r):
            got = np.asarray(_kernels.sum_axes(jnp.asarray(x), drop))
            want = x.sum(axis=drop)
            assert got.shape == want.shape
            np.testing.assert_allclose(got, want, rtol=1e-13, err_msg=str(drop))


@pytest.mark.parametrize("rows, space", [(3_000_000, 10), (200_003, 7), (5, 4096)])
def test_blocked_segment_sum_is_exact_and_accurate(rows, space):
    """Sums agree with a sorted fsum per key to a few ulps, beyond int32 row*block."""
    rng = np.random.default_rng(rows)
    key = rng.integers(0, space, rows)
    weights = rng.random(rows)
    got = np.asarray(
        _kernels._blocked_segment_sum(
            jnp.asarray(weights), jnp.asarray(key, jnp.int32), space
        )
    )
    want = np.array([math.fsum(weights[key == k]) for k in range(space)])
    np.testing.assert_allclose(got, want, rtol=1e-14)


@pytest.mark.parametrize("sizes", [(3, 4), (400, 300, 500), (2**20, 2**20, 2**20)])
def test_group_sums_match_a_dictionary_count(sizes):
    rng = np.random.default_rng(len(sizes))
    rows = 2000
    cols = np.stack([rng.integers(0, min(k, 6), rows) for k in sizes], axis=1)
    weights = rng.random(rows)
    expected = {}
    for row, w in zip(map(tuple, cols), weights, strict=True):
        expected[row] = expected.get(row, 0.0) + w
    sums = np.asarray(
        _kernels.group_sums(
            jnp.asarray(cols), jnp.asarray(weights), sizes, tuple(range(len(sizes)))
        )
    )
    nonzero = np.sort(sums[sums > 0])
    np.testing.assert_allclose(nonzero, np.sort(list(expected.values())), rtol=1e-13)
