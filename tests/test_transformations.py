"""JAX transformations: jit equals eager, vmap equals a loop, finite gradients, dtypes.

Shapes are fixed (a (2, 3, 2) joint and 6-cell pmfs) so each function compiles once.
"""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import trilemma as T

SHAPE = (2, 3, 2)
RNG = np.random.default_rng(20251004)


def with_zeros(shape, zeros):
    p = RNG.dirichlet(np.ones(math.prod(shape))).reshape(shape)
    for idx in zeros:
        p[idx] = 0.0
    return p / p.sum()


P = with_zeros(SHAPE, [(0, 1, 0), (1, 2, 1)])
Q = with_zeros(SHAPE, [(0, 0, 0)])
R = with_zeros(SHAPE, [(0, 1, 0), (1, 2, 1), (1, 0, 0)])  # supp R within supp P
LAMBDAS = np.array([0.1, 0.5, 1.0, 2.0, 10.0])

PAIR_METRICS = {
    "tv": lambda p, q: T.total_variation_distance(p, q),
    "kl": lambda p, q: T.kl_divergence(p, q),
    "fluency": lambda p, q: T.fluency_error(p, q),
    "diversity": lambda p, q: T.diversity_error(p, q),
    "precision": lambda p, q: T.precision(p, q),
    "recall": lambda p, q: T.recall(p, q),
    "prd_lambdas": lambda p, q: T.prd_curve(p, q, jnp.asarray(LAMBDAS)).recall,
    "prd_exact": lambda p, q: T.prd_curve(p, q).precision,
    "prd_grid": lambda p, q: T.prd_curve_grid(p, q, num_angles=11).recall,
}

SINGLE_METRICS = {
    "entropy": lambda p: T.entropy(p),
    "entropy_01": lambda p: T.entropy(p, [0, 1]),
    "conditional_entropy": lambda p: T.conditional_entropy(p, [0, 2], given=[1]),
    "mutual_information": lambda p: T.mutual_information(p, [0], [2], given=[1]),
    "total_correlation": lambda p: T.total_correlation(p),
    "total_correlation_given": lambda p: T.total_correlation(p, given=[0]),
}


def sparse(p, *, repeat=True):
    """Every cell stored (twice, mass split 1/4 : 3/4, with `repeat`)."""
    cells = np.asarray(list(np.ndindex(*p.shape)))
    if not repeat:
        return T.SparseJoint(jnp.asarray(cells), jnp.asarray(p.ravel()), p.shape, True)
    outcomes = np.concatenate([cells, cells[::-1]])
    probs = np.concatenate([0.25 * p.ravel(), 0.75 * p.ravel()[::-1]])
    return T.SparseJoint(jnp.asarray(outcomes), jnp.asarray(probs), p.shape, False)


# --------------------------------------------------------------------------------------
# jit equals eager.


@pytest.mark.parametrize("name", list(PAIR_METRICS))
def test_jit_equals_eager_pairs(name):
    fn = PAIR_METRICS[name]
    pairs = [(jnp.asarray(P), jnp.asarray(Q))]
    if name in ("tv", "kl", "prd_exact"):  # sparse pytrees through jit, too
        pairs.append((sparse(P), sparse(R, repeat=False)))
    for p, q in pairs:
        eager = np.asarray(fn(p, q))
        jitted = np.asarray(jax.jit(fn)(p, q))
        np.testing.assert_allclose(jitted, eager, rtol=1e-14, atol=1e-15)


@pytest.mark.parametrize("name", list(SINGLE_METRICS))
def test_jit_equals_eager_single(name):
    fn = SINGLE_METRICS[name]
    for p in (jnp.asarray(P), sparse(P)):
        np.testing.assert_allclose(
            float(jax.jit(fn)(p)), float(fn(p)), rtol=1e-14, atol=1e-15
        )


def test_jit_skips_value_checks():
    """Value checks run only on concrete inputs; under jit bad values propagate."""
    bad = jnp.array([math.nan, 0.5, 0.5])
    with pytest.raises(ValueError):
        T.entropy(bad)
    assert math.isnan(float(jax.jit(T.entropy)(bad)))
    unnormalised = jnp.array([0.5, 0.5, 0.5])
    np.testing.assert_allclose(
        float(jax.jit(T.entropy)(unnormalised)), 1.5 * math.log(2), rtol=1e-14
    )


# --------------------------------------------------------------------------------------
# vmap equals a loop.


def test_vmap_entropy_equals_loop():
    batch = np.stack([with_zeros((6,), zeros) for zeros in ([], [0], [1, 3], [5])])
    batch[3] = np.eye(6)[2]  # a point mass
    got = np.asarray(jax.vmap(T.entropy)(jnp.asarray(batch)))
    loop = [-sum(x * math.log(x) for x in row if x > 0) for row in batch]
    np.testing.assert_allclose(got, loop, rtol=1e-12, atol=1e-15)


def test_vmap_pairs_equal_loop():
    ps = jnp.asarray(np.stack([P, Q, R]))
    qs = jnp.asarray(np.stack([Q, R, P]))
    tv = np.asarray(jax.vmap(T.total_variation_distance)(ps, qs))
    kl = np.asarray(jax.vmap(T.kl_divergence)(ps, qs))
    pr = np.asarray(
        jax.vmap(lambda p, q: T.prd_curve(p, q, jnp.asarray(LAMBDAS)).precision)(ps, qs)
    )
    for i in range(3):
        p, q = np.asarray(ps[i]), np.asarray(qs[i])
        np.testing.assert_allclose(tv[i], 0.5 * np.abs(p - q).sum(), rtol=1e-12)
        with np.errstate(divide="ignore", invalid="ignore"):
            terms = np.where(p > 0, p * np.log(np.where(p > 0, p, 1) / q), 0.0)
        if np.any((p > 0) & (q == 0)):
            assert kl[i] == math.inf
        else:
            np.testing.assert_allclose(kl[i], terms.sum(), rtol=1e-12)
        alpha = np.minimum(np.outer(LAMBDAS, q.ravel()), p.ravel()).sum(axis=1)
        np.testing.assert_allclose(pr[i], alpha, rtol=1e-12, atol=1e-15)


def test_vmap_total_correlation_equals_loop():
    ps = jnp.asarray(np.stack([P, Q, R, np.full(SHAPE, 1 / 12)]))
    got = np.asarray(jax.vmap(lambda p: T.total_correlation(p, given=[0]))(ps))
    loop = [float(T.total_correlation(ps[i], given=[0])) for i in range(4)]
    np.testing.assert_allclose(got, loop, rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(got[3], 0.0, atol=1e-14)


def test_vmap_over_sparse_probabilities():
    """Shared outcomes, batched masses: vmap through the SparseJoint pytree."""
    base = sparse(P)
    probs = jnp.stack([base.probs, sparse(Q).probs, sparse(R).probs])

    def tc(pr):
        return T.total_correlation(T.SparseJoint(base.outcomes, pr, SHAPE, False))

    got = np.asarray(jax.vmap(tc)(probs))
    for i, p in enumerate((P, Q, R)):
        np.testing.assert_allclose(
            got[i], float(T.total_correlation(jnp.asarray(p))), rtol=1e-12, atol=1e-15
        )


# --------------------------------------------------------------------------------------
# Gradients at pmfs with zeros.


def test_entropy_gradient_finite_and_correct():
    g = np.asarray(jax.grad(T.entropy)(jnp.asarray(P)))
    assert np.all(np.isfinite(g))
    pos = P > 0
    np.testing.assert_allclose(g[pos], -(np.log(P[pos]) + 1), rtol=1e-12)


def test_total_variation_gradient_finite_and_correct():
    g = np.asarray(jax.grad(T.total_variation_distance)(jnp.asarray(P), jnp.asarray(Q)))
    assert np.all(np.isfinite(g))
    differ = P != Q
    np.testing.assert_allclose(g[differ], 0.5 * np.sign(P - Q)[differ], rtol=1e-15)


def test_total_correlation_gradient_finite_and_correct():
    """On the simplex, d TC / dp(x) = log p(x) - sum_i log p_i(x_i) + c.

    The constant c depends on how the function is extended off the simplex, so
    gradients are compared up to one common shift (differences between cells).
    """
    g = np.asarray(jax.grad(T.total_correlation)(jnp.asarray(P)))
    assert np.all(np.isfinite(g))
    m = [P.sum(axis=(1, 2)), P.sum(axis=(0, 2)), P.sum(axis=(0, 1))]
    cells = list(zip(*np.nonzero(P), strict=True))
    expected = np.array(
        [math.log(P[x]) - sum(math.log(m[i][x[i]]) for i in range(3)) for x in cells]
    )
    got = np.array([g[x] for x in cells])
    np.testing.assert_allclose(got - got[0], expected - expected[0], atol=1e-12)


@pytest.mark.parametrize("name", ["conditional_entropy", "mutual_information"])
def test_other_information_gradients_finite(name):
    g = np.asarray(jax.grad(SINGLE_METRICS[name])(jnp.asarray(P)))
    assert np.all(np.isfinite(g))


def test_kl_gradient_finite_when_support_is_covered():
    g = np.asarray(jax.grad(T.kl_divergence)(jnp.asarray(R), jnp.asarray(P)))
    assert np.all(np.isfinite(g))


def test_gradient_through_sparse_probs():
    s = sparse(P, repeat=False)
    g = np.asarray(
        jax.grad(lambda pr: T.entropy(T.SparseJoint(s.outcomes, pr, SHAPE, True)))(
            s.probs
        )
    )
    assert np.all(np.isfinite(g))
    pos = P.ravel() > 0
    np.testing.assert_allclose(g[pos], -(np.log(P.ravel()[pos]) + 1), rtol=1e-12)


# --------------------------------------------------------------------------------------
# float32 in, float32 out.


def _first_only(fn):
    return lambda p, q: fn(p)


F32_CALLS = {
    **{k: _first_only(fn) for k, fn in SINGLE_METRICS.items()},
    **PAIR_METRICS,
    "f_beta": lambda p, q: T.max_f_beta_pair(T.prd_curve(p, q))[0],
}


@pytest.mark.parametrize("name", list(F32_CALLS))
def test_float32_in_float32_out(name):
    """Same dtype out as in, and the float32 values agree with float64 ones.

    For the angle grid this includes the last slope tan(pi/2 - epsilon), which must
    stay a (huge) positive slope in float32 too.
    """
    fn = F32_CALLS[name]
    p32, r32 = jnp.asarray(P, jnp.float32), jnp.asarray(R, jnp.float32)
    if name == "prd_lambdas":  # the slopes are an input too: float32 as well
        fn = lambda p, q: T.prd_curve(p, q, jnp.asarray(LAMBDAS, p.dtype)).recall  # noqa: E731
    out = fn(p32, r32)
    assert out.dtype == jnp.float32, out.dtype
    out64 = fn(jnp.asarray(P), jnp.asarray(R))
    assert out64.dtype == jnp.float64
    finite = np.isfinite(np.asarray(out64))
    np.testing.assert_allclose(
        np.asarray(out)[finite], np.asarray(out64)[finite], rtol=1e-4, atol=1e-5
    )


def test_float32_sparse_in_float32_out():
    s = sparse(P)
    s32 = T.SparseJoint(s.outcomes, s.probs.astype(jnp.float32), SHAPE, False)
    for fn in SINGLE_METRICS.values():
        assert fn(s32).dtype == jnp.float32
    assert T.to_dense(s32).dtype == jnp.float32
    emp = T.sparse_joint(np.array([[0, 1], [1, 0]]), np.array([0.5, 0.5], np.float32))
    assert emp.probs.dtype == jnp.float32
    assert T.entropy(emp).dtype == jnp.float32
    assert jax.jit(T.entropy)(jnp.asarray(P, jnp.float32)).dtype == jnp.float32
