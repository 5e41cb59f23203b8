"""Dense and sparse joints: construction, merging, densifying, marginals, empirical."""

import math
from collections import defaultdict

import bruteforce as bf
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings

import trilemma as T
from trilemma import strategies as tst

SHAPE = (2, 3, 2)


def rows_dict(joint):
    """{outcome tuple: summed mass} of a SparseJoint (plain Python)."""
    parts = defaultdict(list)
    outcomes = np.asarray(joint.outcomes).astype(np.int64).tolist()
    for row, w in zip(outcomes, np.asarray(joint.probs).tolist(), strict=True):
        parts[tuple(row)].append(w)
    return {k: math.fsum(v) for k, v in parts.items()}


def nonzero(d):
    return {k: v for k, v in d.items() if v > 0}


def test_sparse_joint_merges_and_sorts_rows():
    outcomes = np.array([[2, 1], [0, 1], [2, 1], [1, 0], [0, 1], [2, 1]])
    probs = np.array([0.1, 0.2, 0.15, 0.25, 0.05, 0.25])
    joint = T.sparse_joint(outcomes, probs)
    assert joint.distinct_rows
    assert joint.sizes == (3, 2)  # default: max + 1 per column
    assert joint.support_size == joint.outcomes.shape[0] == 3
    assert joint.num_variables == 2 and joint.shape == (3, 2)
    np.testing.assert_array_equal(np.asarray(joint.outcomes), [[0, 1], [1, 0], [2, 1]])
    np.testing.assert_allclose(np.asarray(joint.probs), [0.25, 0.25, 0.5], rtol=1e-15)
    assert joint.probs.dtype == jnp.float64
    assert np.issubdtype(joint.outcomes.dtype, np.integer)


def test_sparse_joint_keeps_explicit_sizes_and_zero_rows():
    joint = T.sparse_joint([[0, 0], [1, 1]], [1.0, 0.0], sizes=(4, 5))
    assert joint.sizes == (4, 5)
    np.testing.assert_array_equal(np.asarray(joint.probs), [1.0, 0.0])
    dense = np.asarray(T.to_dense(joint))
    expected = np.zeros((4, 5))
    expected[0, 0] = 1.0
    np.testing.assert_array_equal(dense, expected)


@pytest.mark.parametrize("size", [256, 257, 65536, 65537, 2**31 - 1, 2**31 + 5])
def test_sparse_joint_outcomes_survive_storage(size):
    """The largest value of each alphabet is stored exactly, whatever the dtype."""
    outcomes = np.array([[0, size - 1], [size - 1, 0]], dtype=np.int64)
    joint = T.sparse_joint(outcomes, [0.5, 0.5], sizes=(size, size))
    np.testing.assert_array_equal(
        np.asarray(joint.outcomes).astype(np.int64), [[0, size - 1], [size - 1, 0]]
    )


@settings(max_examples=30)
@given(tst.joint_pmfs(SHAPE))
def test_from_dense_to_dense_round_trip(p):
    joint = T.from_dense(jnp.asarray(p))
    assert joint.sizes == SHAPE and joint.distinct_rows
    assert joint.support_size == int(np.count_nonzero(p))
    assert rows_dict(joint) == bf.as_dict(p)  # exactly the nonzero cells, exact values
    np.testing.assert_array_equal(np.asarray(T.to_dense(joint)), p)


@settings(max_examples=30)
@given(tst.sparse_joints(sizes=SHAPE))
def test_to_dense_adds_repeated_rows(joint):
    expected = np.zeros(joint.sizes)
    for x, w in rows_dict(joint).items():
        expected[x] = w
    np.testing.assert_allclose(
        np.asarray(T.to_dense(joint)), expected, rtol=1e-15, atol=0
    )


def test_to_dense_is_identity_on_dense():
    p = jnp.array([[0.1, 0.2], [0.3, 0.4]])
    np.testing.assert_array_equal(np.asarray(T.to_dense(p)), np.asarray(p))


@pytest.mark.parametrize(
    "variables", [(0,), (1,), (2,), (0, 2), (2, 0), (1, 2), (0, 1, 2), ()]
)
def test_marginal_dense_and_sparse(variables):
    rng = np.random.default_rng(7)
    p = rng.dirichlet(np.ones(12)).reshape(SHAPE)
    p[0, 1, :] = 0
    p /= p.sum()
    kept = tuple(sorted(variables))
    expected_dict = bf.project(bf.as_dict(p), kept)
    others = tuple(i for i in range(3) if i not in kept)
    dense = np.asarray(T.marginal(jnp.asarray(p), variables))
    np.testing.assert_allclose(dense, p.sum(axis=others), rtol=1e-14, atol=1e-15)
    # sparse, with each row stored twice (mass split)
    cells = np.asarray(list(np.ndindex(*SHAPE)))
    outcomes = np.concatenate([cells, cells])
    probs = np.concatenate([0.25 * p.ravel(), 0.75 * p.ravel()])
    sparse = T.SparseJoint(jnp.asarray(outcomes), jnp.asarray(probs), SHAPE, False)
    m = T.marginal(sparse, variables)
    assert isinstance(m, T.SparseJoint)
    assert m.sizes == tuple(SHAPE[v] for v in kept)
    assert m.distinct_rows
    got = rows_dict(m)
    assert len(got) == m.support_size  # merged
    got = nonzero(got)
    assert got.keys() == expected_dict.keys()
    for k, v in expected_dict.items():
        np.testing.assert_allclose(got[k], v, rtol=1e-14)


def test_marginal_of_empirical():
    samples = np.array([[0, 1, 1], [0, 1, 0], [1, 1, 1], [0, 0, 1]])
    m = T.marginal(T.empirical(samples), [0, 1])
    assert rows_dict(m) == {(0, 1): 0.5, (1, 1): 0.25, (0, 0): 0.25}


def test_empirical_keeps_rows():
    samples = np.array([[0, 1], [2, 0], [0, 1], [0, 1]])
    emp = T.empirical(samples)
    assert not emp.distinct_rows
    assert emp.sizes == (3, 2)
    assert emp.support_size == 4
    np.testing.assert_array_equal(np.asarray(emp.outcomes), samples)
    np.testing.assert_array_equal(np.asarray(emp.probs), np.full(4, 0.25))
    assert emp.probs.dtype == jnp.float64
    emp = T.empirical(samples, sizes=(5, 5))
    assert emp.sizes == (5, 5)
    expected = np.zeros((5, 5))
    expected[0, 1], expected[2, 0] = 0.75, 0.25
    np.testing.assert_array_equal(np.asarray(T.to_dense(emp)), expected)


def test_empirical_under_jit_with_sizes():
    samples = jnp.array([[0, 1], [1, 1], [0, 1], [1, 0]])

    @jax.jit
    def entropy_of_samples(s):
        return T.entropy(T.empirical(s, sizes=(2, 2)))

    np.testing.assert_allclose(
        float(entropy_of_samples(samples)),
        -(0.5 * math.log(0.5) + 2 * 0.25 * math.log(0.25)),
        rtol=1e-12,
    )
    with pytest.raises(ValueError, match="`sizes` is required"):
        jax.jit(lambda s: T.empirical(s).probs)(samples)


def test_sparse_joint_is_a_pytree():
    joint = T.sparse_joint([[0, 1], [1, 0]], [0.25, 0.75])
    leaves, treedef = jax.tree_util.tree_flatten(joint)
    assert len(leaves) == 2
    rebuilt = jax.tree_util.tree_unflatten(treedef, leaves)
    assert rebuilt.sizes == joint.sizes and rebuilt.distinct_rows == joint.distinct_rows
    doubled = jax.tree_util.tree_map(lambda x: x, joint)
    assert isinstance(doubled, T.SparseJoint)
