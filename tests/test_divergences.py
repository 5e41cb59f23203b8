"""Total variation, KL divergence and the blog's fluency/diversity split.

References: `scipy.special.rel_entr`, plain NumPy sums and `bruteforce` dict code.
Sparse pairs are stored on different supports, in different row orders and with
repeated rows, so the alignment of the two supports is exercised.
"""

import math

import bruteforce as bf
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.special
from hypothesis import given, settings

import trilemma as T
from trilemma import strategies as tst

RTOL = 1e-12
ATOL = 1e-12
SHAPE = (3, 4)


def close(actual, expected, rtol=RTOL, atol=ATOL):
    np.testing.assert_allclose(float(actual), expected, rtol=rtol, atol=atol)


def kl_reference(p, q):
    """Sum rel_entr(p, q) in float64 (inf where p > 0 = q)."""
    return math.fsum(scipy.special.rel_entr(np.ravel(p), np.ravel(q)).tolist())


def sparse_of(dense, seed, *, keep_zeros=True):
    """`dense` as a SparseJoint with every stored cell split into two rows, shuffled."""
    rng = np.random.default_rng(seed)
    cells = np.asarray(list(np.ndindex(*dense.shape)), np.int64).reshape(-1, dense.ndim)
    mass = dense.ravel()
    if not keep_zeros:
        cells, mass = cells[mass > 0], mass[mass > 0]
    frac = rng.choice([0.0, 0.25, 0.5, 1.0], size=mass.shape)
    outcomes = np.concatenate([cells, cells])
    probs = np.concatenate([frac * mass, (1 - frac) * mass])
    order = rng.permutation(len(probs))
    return T.SparseJoint(
        jnp.asarray(outcomes[order]), jnp.asarray(probs[order]), dense.shape, False
    )


def sparse_from_dict(d, sizes, seed=0):
    """SparseJoint on exactly the rows of `d` (repeating the first one, split)."""
    rng = np.random.default_rng(seed)
    keys = list(d)
    outcomes = [*keys, keys[0]]
    probs = [d[k] for k in keys] + [0.0]
    probs[0], probs[-1] = 0.5 * probs[0], 0.5 * probs[0]
    order = rng.permutation(len(probs))
    return T.SparseJoint(
        jnp.asarray(np.asarray(outcomes, np.int64)[order]),
        jnp.asarray(np.asarray(probs)[order]),
        sizes,
        False,
    )


# --------------------------------------------------------------------------------------
# Dense pairs against NumPy, scipy and brute force.


@settings(max_examples=30)
@given(tst.pmf_pairs(SHAPE))
def test_tv_matches_half_l1(pair):
    """TV = 1/2 sum |p - q| = 1 - sum min(p, q); brute force on dicts too."""
    p, q = pair
    expected = 0.5 * math.fsum(np.abs(p - q).ravel().tolist())
    close(T.total_variation_distance(jnp.asarray(p), jnp.asarray(q)), expected)
    close(expected, 1 - math.fsum(np.minimum(p, q).ravel().tolist()))
    close(expected, bf.tv(bf.as_dict(p), bf.as_dict(q)))


@settings(max_examples=30)
@given(tst.pmf_pairs(SHAPE))
def test_kl_matches_scipy_rel_entr(pair):
    """KL(p||q) = sum rel_entr(p, q), +inf exactly when p > 0 = q somewhere."""
    p, q = pair
    expected = kl_reference(p, q)
    actual = float(T.kl_divergence(jnp.asarray(p), jnp.asarray(q)))
    assert math.isinf(expected) == bool(((p > 0) & (q == 0)).any())
    if math.isinf(expected):
        assert actual == math.inf
    else:
        close(actual, expected)
        close(actual, bf.kl(bf.as_dict(p), bf.as_dict(q)))


@settings(max_examples=30)
@given(tst.pmf_pairs(SHAPE))
def test_blog_split_halves_equal_tv(pair):
    """L_flu = sum_{p>p*}(p - p*) and L_div = sum_{p*>p}(p* - p) both equal TV."""
    p, p_star = pair
    flu = math.fsum((p - p_star)[p > p_star].tolist())
    div = math.fsum((p_star - p)[p_star > p].tolist())
    tv = 0.5 * math.fsum(np.abs(p - p_star).ravel().tolist())
    args = jnp.asarray(p), jnp.asarray(p_star)
    close(T.fluency_error(*args), flu)
    close(T.diversity_error(*args), div)
    close(T.fluency_error(*args), tv)
    close(T.diversity_error(*args), tv)
    # The blog's "TVD = L_flu + L_div" is the L1 distance, twice TV.
    close(float(T.fluency_error(*args) + T.diversity_error(*args)), 2 * tv)


def test_kl_direction_and_known_values():
    p = jnp.array([0.5, 0.5, 0.0])
    q = jnp.array([0.25, 0.25, 0.5])
    close(T.kl_divergence(p, q), math.log(2))  # sum 0.5 log 2
    assert float(T.kl_divergence(q, p)) == math.inf  # q has mass where p has none
    close(T.kl_divergence(p, p), 0.0)
    close(T.total_variation_distance(p, q), 0.5)
    close(T.total_variation_distance(q, p), 0.5)


def test_kl_infinite_when_support_fails():
    p = jnp.array([[0.5, 0.0], [0.25, 0.25]])
    q = jnp.array([[0.5, 0.5], [0.0, 0.0]])
    assert float(T.kl_divergence(p, q)) == math.inf
    assert float(T.kl_divergence(q, p)) == math.inf
    # q covers p: finite, and zeros of p contribute 0 (0 log 0/q = 0).
    r = jnp.array([[0.5, 0.25], [0.125, 0.125]])
    close(T.kl_divergence(p, r), 0.5 * math.log(2))


def test_disjoint_supports():
    p = jnp.array([0.3, 0.7, 0.0, 0.0])
    q = jnp.array([0.0, 0.0, 0.6, 0.4])
    close(T.total_variation_distance(p, q), 1.0)
    close(T.fluency_error(p, q), 1.0)
    assert float(T.kl_divergence(p, q)) == math.inf


# --------------------------------------------------------------------------------------
# Sparse and mixed pairs.


@settings(max_examples=25)
@given(tst.pmf_pairs(SHAPE))
def test_sparse_pairs_match_dense_references(pair):
    """Two SparseJoints with repeated rows in independent orders; and mixed pairs."""
    p, q = pair
    sp, sq = sparse_of(p, seed=1), sparse_of(q, seed=2)
    tv = 0.5 * math.fsum(np.abs(p - q).ravel().tolist())
    kl = kl_reference(p, q)
    for a, b in [(sp, sq), (sp, jnp.asarray(q)), (jnp.asarray(p), sq)]:
        close(T.total_variation_distance(a, b), tv)
        close(T.fluency_error(a, b), tv)
        close(T.diversity_error(a, b), tv)
        actual = float(T.kl_divergence(a, b))
        if math.isinf(kl):
            assert actual == math.inf
        else:
            close(actual, kl)


def test_sparse_pairs_on_different_supports():
    """Stored supports overlap partially, have different lengths and orders."""
    p = {(0, 0): 0.1, (0, 1): 0.2, (1, 2): 0.3, (2, 3): 0.4}
    q = {(0, 1): 0.25, (1, 2): 0.25, (2, 0): 0.125, (2, 3): 0.125, (1, 1): 0.25}
    r = {(0, 0): 0.05, (0, 1): 0.05, (1, 2): 0.1, (2, 3): 0.1, (2, 2): 0.7}
    sizes = SHAPE
    sp, sq, sr = (sparse_from_dict(d, sizes, seed=i) for i, d in enumerate((p, q, r)))
    close(T.total_variation_distance(sp, sq), bf.tv(p, q))
    close(T.total_variation_distance(sq, sp), bf.tv(p, q))
    assert float(T.kl_divergence(sp, sq)) == math.inf  # q misses (0, 0)
    assert float(T.kl_divergence(sq, sp)) == math.inf
    close(T.kl_divergence(sp, sr), bf.kl(p, r))
    close(
        T.fluency_error(sp, sr),
        math.fsum(max(p.get(x, 0) - r.get(x, 0), 0) for x in r | p),
    )
    close(T.diversity_error(sp, sr), bf.tv(p, r))


def test_sparse_pairs_on_huge_alphabets():
    """Alignment by grouping when the key space is far larger than the rows (2**48)."""
    sizes = (2**16, 2**16, 2**16)
    top = 2**16 - 1
    p = {(0, 0, 0): 0.25, (top, 0, 5): 0.25, (7, top, top): 0.5}
    q = {(top, 0, 5): 0.5, (7, top, top): 0.25, (0, 0, 0): 0.125, (1, 2, 3): 0.125}
    sp, sq = sparse_from_dict(p, sizes, 3), sparse_from_dict(q, sizes, 4)
    close(T.total_variation_distance(sp, sq), bf.tv(p, q))
    close(T.kl_divergence(sp, sq), bf.kl(p, q))
    assert float(T.kl_divergence(sq, sp)) == math.inf


def test_empirical_pair():
    """Two empirical distributions of sample matrices with known laws."""
    a = np.array([[0, 1], [0, 1], [1, 1], [2, 0]])  # (0,1): 1/2, (1,1): 1/4, (2,0): 1/4
    b = np.array([[2, 0], [0, 1], [2, 0], [2, 0]])  # (0,1): 1/4, (2,0): 3/4
    pa = {(0, 1): 0.5, (1, 1): 0.25, (2, 0): 0.25}
    pb = {(0, 1): 0.25, (2, 0): 0.75}
    ea, eb = T.empirical(a, sizes=(3, 2)), T.empirical(b, sizes=(3, 2))
    close(T.total_variation_distance(ea, eb), bf.tv(pa, pb))
    close(T.kl_divergence(eb, ea), bf.kl(pb, pa))
    assert float(T.kl_divergence(ea, eb)) == math.inf


def test_sparse_pair_with_different_outcome_dtypes():
    """An empirical law (int64 samples) against a `sparse_joint` (uint8 outcomes).

    The two outcome matrices have different integer dtypes; aligning them must not
    depend on the global dtype-promotion mode (tests run with "strict").
    """
    samples = np.array([[0, 1], [0, 1], [1, 1], [2, 0]])
    emp = T.empirical(samples, sizes=(3, 2))
    target = T.sparse_joint(np.array([[0, 1], [2, 0]]), np.array([0.25, 0.75]), (3, 2))
    assert emp.outcomes.dtype != target.outcomes.dtype
    pa = {(0, 1): 0.5, (1, 1): 0.25, (2, 0): 0.25}
    pb = {(0, 1): 0.25, (2, 0): 0.75}
    close(T.total_variation_distance(emp, target), bf.tv(pa, pb))
    close(T.kl_divergence(target, emp), bf.kl(pb, pa))


def test_cities_worked_toy():
    """Reference 1.9: one-step product q of the cities law p*: KL(p*||q) = 1 bit.

    q(valid) = 1/2, so TV(q, p*) = E_flu = 1/2, and E_div = 0.
    """
    p_star = np.zeros((3, 3))
    p_star[0, 0] = p_star[0, 1] = p_star[1, 2] = p_star[2, 2] = 0.25
    q = np.outer(p_star.sum(1), p_star.sum(0))
    args = jnp.asarray(q), jnp.asarray(p_star)
    close(T.to_bits(T.kl_divergence(args[1], args[0])), 1.0)
    close(T.total_variation_distance(*args), 0.5)
    close(T.fluency_error(*args), 0.5)
    close(q[p_star > 0].sum(), 0.5)
    sparse = sparse_of(p_star, seed=0, keep_zeros=False)
    close(T.to_bits(T.kl_divergence(sparse, args[0])), 1.0)


@pytest.mark.parametrize("shape", [(6,), (2, 3)])
def test_tv_on_multidimensional_joint_equals_flattened(shape):
    rng = np.random.default_rng(0)
    p, q = rng.dirichlet(np.ones(6)), rng.dirichlet(np.ones(6))
    close(
        T.total_variation_distance(
            jnp.asarray(p.reshape(shape)), jnp.asarray(q.reshape(shape))
        ),
        0.5 * math.fsum(np.abs(p - q).tolist()),
    )
