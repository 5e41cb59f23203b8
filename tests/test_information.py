"""Entropy, conditional entropy, mutual information and total correlation.

Every value is checked against a computation that shares no code with trilemma:
`bruteforce` (Python dicts and `math.fsum`), `scipy.stats.entropy`, or a closed form.
Dense joints, `SparseJoint`s (with and without repeated rows) and `empirical`
distributions of sample matrices must all give the same numbers.
"""

import itertools
import math
from collections import defaultdict

import bruteforce as bf
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.stats
from hypothesis import given, settings
from hypothesis import strategies as st

import trilemma as T
from trilemma import strategies as tst

RTOL = 1e-12
ATOL = 1e-12
LN2 = math.log(2.0)


def close(actual, expected, rtol=RTOL, atol=ATOL, err_msg=""):
    np.testing.assert_allclose(
        float(actual), expected, rtol=rtol, atol=atol, err_msg=err_msg
    )


def dict_of_rows(outcomes, probs):
    """{outcome tuple: mass}, summing repeated rows (plain Python)."""
    parts = defaultdict(list)
    for row, w in zip(
        np.asarray(outcomes).tolist(), np.asarray(probs).tolist(), strict=True
    ):
        parts[tuple(row)].append(w)
    return {k: math.fsum(v) for k, v in parts.items() if math.fsum(v) > 0}


def split_rows(dense, seed):
    """Every cell of `dense` stored twice with its mass split at random, shuffled.

    The row count is fixed by the shape (2 per cell, zero cells included), so the
    jitted kernels compile once per shape however the draws fall.
    """
    rng = np.random.default_rng(seed)
    cells = np.asarray(list(np.ndindex(*dense.shape)), np.int64).reshape(-1, dense.ndim)
    mass = dense.ravel()
    frac = rng.choice([0.0, 0.3, 0.5, 1.0], size=mass.shape)
    outcomes = np.concatenate([cells, cells])
    probs = np.concatenate([frac * mass, (1 - frac) * mass])
    order = rng.permutation(len(probs))
    return outcomes[order], probs[order]


def cond_entropy_from_definition(d, variables, given_vars):
    """H(V|G) = sum_g p(g) H(V | G = g)."""
    total = []
    for g, pg in bf.project(d, given_vars).items():
        cond = bf.conditional(d, given_vars, g)
        total.append(pg * bf.entropy(cond, variables))
    return math.fsum(total)


def mi_from_definition(d, a, b, given_vars=()):
    """I(A;B|G) = sum p(a,b,g) log[p(a,b,g) p(g) / (p(a,g) p(b,g))]."""
    a, b, g = list(a), list(b), list(given_vars)
    pabg = bf.project(d, a + b + g)
    pag, pbg, pg = bf.project(d, a + g), bf.project(d, b + g), bf.project(d, g)
    na, nb = len(a), len(b)
    terms = []
    for key, w in pabg.items():
        ka, kb, kg = key[:na], key[na : na + nb], key[na + nb :]
        terms.append(w * math.log(w * pg[kg] / (pag[ka + kg] * pbg[kb + kg])))
    return math.fsum(terms)


def all_forms(dense, seed=0):
    """The same joint as dense, SparseJoint, and SparseJoint with repeated rows.

    The sparse forms store every cell (zeros included) in a shuffled order.
    """
    rng = np.random.default_rng(seed + 1)
    cells = np.asarray(list(np.ndindex(*dense.shape)), np.int64).reshape(-1, dense.ndim)
    order = rng.permutation(len(cells))
    distinct = T.SparseJoint(
        jnp.asarray(cells[order]), jnp.asarray(dense.ravel()[order]), dense.shape, True
    )
    out2, pr2 = split_rows(dense, seed)
    repeated = T.SparseJoint(jnp.asarray(out2), jnp.asarray(pr2), dense.shape, False)
    return {"dense": jnp.asarray(dense), "sparse": distinct, "repeated": repeated}


def subsets(d):
    for r in range(d + 1):
        yield from itertools.combinations(range(d), r)


# --------------------------------------------------------------------------------------
# Against brute force, in every representation. One fixed shape keeps JAX from
# recompiling for every hypothesis example.

SHAPE = (2, 3, 2)
GIVENS = [(), (0,), (1,), (0, 2)]


@settings(max_examples=25)
@given(tst.joint_pmfs(SHAPE), st.integers(0, 2**16))
def test_entropy_of_subsets_matches_bruteforce(p, seed):
    """H(A) = -sum_a p(a) log p(a) for subsets A, in every representation."""
    d = bf.as_dict(p)
    for form, joint in all_forms(p, seed).items():
        for subset in [(0,), (1,), (0, 2), (1, 2), (0, 1, 2)]:
            close(T.entropy(joint, subset), bf.entropy(d, subset), err_msg=form)


@settings(max_examples=25)
@given(tst.joint_pmfs(SHAPE), st.sampled_from(GIVENS), st.integers(0, 2**16))
def test_conditional_entropy_matches_definition(p, g, seed):
    """H(V|G) = sum_g p(g) H(V|G=g)."""
    d = bf.as_dict(p)
    rest = tuple(v for v in range(p.ndim) if v not in g)
    expected = cond_entropy_from_definition(d, rest, g)
    for joint in all_forms(p, seed).values():
        close(T.conditional_entropy(joint, given=g), expected)
        close(T.conditional_entropy(joint, rest, given=g), expected)


@settings(max_examples=25)
@given(tst.joint_pmfs(SHAPE), st.sampled_from(GIVENS[:3]), st.integers(0, 2**16))
def test_mutual_information_matches_definition(p, g, seed):
    """I(A;B|G) from its defining sum, A = first free variable, B = the others."""
    d = bf.as_dict(p)
    rest = [v for v in range(p.ndim) if v not in g]
    a, b = rest[:1], rest[1:]
    expected = mi_from_definition(d, a, b, g)
    for joint in all_forms(p, seed).values():
        close(T.mutual_information(joint, a, b, given=g), expected)


@settings(max_examples=25)
@given(tst.joint_pmfs(SHAPE), st.sampled_from(GIVENS), st.integers(0, 2**16))
def test_total_correlation_matches_bruteforce(p, g, seed):
    """C(V|G) = E_g[sum_i H(v_i|G=g) - H(V|G=g)], brute force from the definition."""
    d = bf.as_dict(p)
    rest = [v for v in range(p.ndim) if v not in g]
    expected = bf.total_correlation(d, rest, g)
    for joint in all_forms(p, seed).values():
        close(T.total_correlation(joint, given=g), expected)
        close(T.total_correlation(joint, rest, given=g), expected)


@settings(max_examples=20)
@given(st.lists(st.integers(0, 11), min_size=24, max_size=24))
def test_empirical_law_of_a_sample_matrix(assignment):
    """`empirical` of a matrix holding cell x exactly c_x times has law c_x / N."""
    shape = (2, 3, 2)
    cells = list(np.ndindex(*shape))
    samples = np.asarray([cells[i] for i in assignment], np.int64)
    counts = np.bincount(assignment, minlength=12).tolist()
    n = sum(counts)
    law = {c: k / n for c, k in zip(cells, counts, strict=True) if k}
    emp = T.empirical(samples, sizes=shape)
    dense = np.zeros(shape)
    for c, w in law.items():
        dense[c] = w
    for joint in (emp, jnp.asarray(dense)):
        for subset in subsets(3):
            close(T.entropy(joint, subset), bf.entropy(law, subset))
        close(T.total_correlation(joint), bf.total_correlation(law, [0, 1, 2]))
        close(
            T.total_correlation(joint, given=[1]),
            bf.total_correlation(law, [0, 2], [1]),
        )
        close(
            T.conditional_entropy(joint, [0], given=[2]),
            cond_entropy_from_definition(law, [0], [2]),
        )
        close(
            T.mutual_information(joint, [0], [2], given=[1]),
            mi_from_definition(law, [0], [2], [1]),
        )


# --------------------------------------------------------------------------------------
# Against scipy.


@settings(max_examples=25)
@given(tst.pmfs((10,)))
def test_entropy_matches_scipy_1d(p):
    """H(p) equals scipy.stats.entropy(p) (natural log)."""
    close(T.entropy(jnp.asarray(p)), scipy.stats.entropy(p))
    close(T.to_bits(T.entropy(jnp.asarray(p))), scipy.stats.entropy(p, base=2))


@settings(max_examples=20)
@given(tst.joint_pmfs((3, 2, 4)))
def test_marginal_and_conditional_entropy_match_scipy(p):
    """Marginal entropies and H(V|G) = sum_g p(g) H(p(.|g)) via scipy."""
    close(T.entropy(jnp.asarray(p)), scipy.stats.entropy(p.ravel()))
    close(T.entropy(jnp.asarray(p), [0, 2]), scipy.stats.entropy(p.sum(axis=1).ravel()))
    close(T.entropy(jnp.asarray(p), 1), scipy.stats.entropy(p.sum(axis=(0, 2))))
    pg = p.sum(axis=(0, 2))
    expected = math.fsum(
        pg[j] * scipy.stats.entropy(p[:, j, :].ravel()) for j in range(2) if pg[j] > 0
    )
    close(T.conditional_entropy(jnp.asarray(p), given=[1]), expected)


# --------------------------------------------------------------------------------------
# Closed forms.


def xor():
    p = np.zeros((2, 2, 2))
    for a, b in itertools.product(range(2), repeat=2):
        p[a, b, a ^ b] = 0.25
    return p


@pytest.mark.parametrize("form", ["dense", "repeated"])
def test_xor_closed_forms(form):
    """XOR: TC = 1 bit, H = 2 bits, pairwise independent, I(X1;X2|X3) = 1 bit."""
    p = all_forms(xor())[form]
    close(T.to_bits(T.total_correlation(p)), 1.0)
    close(T.to_bits(T.entropy(p)), 2.0)
    close(T.to_bits(T.entropy(p, [0, 2])), 2.0)
    close(T.mutual_information(p, [0], [1]), 0.0)
    close(T.to_bits(T.mutual_information(p, [0], [1], given=[2])), 1.0)
    close(T.conditional_entropy(p, [2], given=[0, 1]), 0.0)
    close(T.to_bits(T.total_correlation(p, [0, 1], given=[2])), 1.0)
    close(T.total_correlation(p, [0, 1]), 0.0)


@pytest.mark.parametrize("k", [1, 2, 3, 7, 64])
def test_uniform_entropy_is_log_k(k):
    close(T.entropy(jnp.full((k,), 1.0 / k)), math.log(k))


@pytest.mark.parametrize("a", [0.0, 0.1, 0.5, 0.9, 1.0])
def test_bernoulli_entropy(a):
    expected = -sum(x * math.log(x) for x in (a, 1 - a) if x > 0)
    close(T.entropy(jnp.array([a, 1 - a])), expected)


def test_independent_product_has_zero_total_correlation():
    a, b, c = (
        np.array([0.2, 0.8]),
        np.array([0.1, 0.6, 0.3]),
        np.array([0.5, 0.25, 0.25]),
    )
    p = jnp.asarray(np.einsum("i,j,k->ijk", a, b, c))
    close(T.total_correlation(p), 0.0)
    close(T.mutual_information(p, [0, 2], [1]), 0.0)
    expected = sum(scipy.stats.entropy(x) for x in (a, b, c))
    close(T.entropy(p), expected)


def test_copies_share_all_information():
    """Y1 = Y2 = Y3 uniform on k: I(Y1;Y2) = log k and TC = 2 log k."""
    k = 2
    p = np.zeros((k, k, k))
    for i in range(k):
        p[i, i, i] = 1.0 / k
    forms = all_forms(p)
    for joint in (forms["dense"], forms["repeated"]):
        close(T.mutual_information(joint, [0], [1]), math.log(k))
        close(T.total_correlation(joint), 2 * math.log(k))
        close(T.conditional_entropy(joint, [0, 1], given=[2]), 0.0)


def test_cities_worked_toy():
    """Reference 1.9: uniform on 4 cities: H(Y) = 2, H(Y_i) = 1.5, C = 1 (bits)."""
    # Y1 in {New, Mexico, Panama}, Y2 in {York, Orleans, City}.
    p = np.zeros((3, 3))
    p[0, 0] = p[0, 1] = p[1, 2] = p[2, 2] = 0.25
    forms = all_forms(p)
    for joint in (forms["dense"], forms["repeated"]):
        close(T.to_bits(T.entropy(joint)), 2.0)
        close(T.to_bits(T.entropy(joint, [0])), 1.5)
        close(T.to_bits(T.entropy(joint, [1])), 1.5)
        close(T.to_bits(T.total_correlation(joint)), 1.0)


def test_conditional_total_correlation_closed_form():
    """X fair bit; given X=0 the Y's are independent fair bits, given X=1 equal.

    C(Y|X) = 0.5 bit, while the unconditional C(Y) = 2 - H(3/8,3/8,1/8,1/8) bits.
    """
    p = np.zeros((2, 2, 2))
    p[0] = 0.5 * 0.25
    p[1, 0, 0] = p[1, 1, 1] = 0.25
    h_joint = -(2 * (3 / 8) * math.log2(3 / 8) + 2 * (1 / 8) * math.log2(1 / 8))
    for joint in all_forms(p).values():
        close(T.to_bits(T.total_correlation(joint, given=[0])), 0.5)
        close(T.to_bits(T.total_correlation(joint, [1, 2])), 2.0 - h_joint)
        close(T.to_bits(T.mutual_information(joint, [1], [2], given=[0])), 0.5)


def test_variables_default_is_everything_not_given():
    rng = np.random.default_rng(3)
    p = rng.dirichlet(np.ones(12)).reshape(SHAPE)
    p[1, 2, :] = 0
    p /= p.sum()
    d = bf.as_dict(p)
    forms = all_forms(p)
    for joint in (forms["dense"], forms["repeated"]):
        close(T.total_correlation(joint), bf.total_correlation(d, [0, 1, 2]))
        close(
            T.total_correlation(joint, given=[1]), bf.total_correlation(d, [0, 2], [1])
        )
        close(
            T.total_correlation(joint, given=(0, 2)),
            bf.total_correlation(d, [1], [0, 2]),
        )
        close(
            T.conditional_entropy(joint, given=[2]),
            cond_entropy_from_definition(d, [0, 1], [2]),
        )
        close(T.entropy(joint), bf.entropy(d))
        # Variables are a set: order and an int index do not matter.
        close(T.entropy(joint, (2, 0)), bf.entropy(d, (0, 2)))
        close(T.entropy(joint, 1), bf.entropy(d, (1,)))
        # No free variables left: an empty total correlation is 0.
        close(T.total_correlation(joint, given=[0, 1, 2]), 0.0)
        close(T.entropy(joint, []), 0.0)


def test_entropy_of_point_mass_is_zero():
    p = np.zeros(SHAPE)
    p[1, 2, 0] = 1.0
    for joint in all_forms(p).values():
        close(T.entropy(joint), 0.0)
        close(T.total_correlation(joint), 0.0)


# --------------------------------------------------------------------------------------
# Large alphabets: the sort-based grouping paths of sparse joints.


def large_alphabet_joint(sizes, rows, seed, *, repeat=True):
    """A random sparse joint on huge alphabets with collisions in every projection.

    Values are drawn from a few per column (small and near the top of the alphabet),
    so projections have repeated keys and the rows may repeat.
    """
    rng = np.random.default_rng(seed)
    choices = [np.array([0, 1, 2, s - 3, s - 2, s - 1]) for s in sizes]
    cols = [c[rng.integers(0, len(c), size=rows)] for c in choices]
    outcomes = np.stack(cols, axis=1).astype(np.int64)
    if repeat:
        outcomes = np.concatenate([outcomes, outcomes[: rows // 3]])
    probs = rng.dirichlet(np.ones(len(outcomes)))
    return outcomes, probs


LARGE = {
    # product > 8 * rows and > 4096, < 2**31: sort with an int32 key
    "int32-key": (400, 300, 500),
    # product > 2**31: sort with an int64 key
    "int64-key": (2**16, 2**16, 7),
    # product > 2**63: no single key fits, lexicographic sort on the columns
    "multi-key": (2**16, 2**16, 2**16, 2**16, 3),
}


@pytest.mark.parametrize("regime", list(LARGE))
def test_large_alphabet_sparse_matches_bruteforce(regime):
    sizes = LARGE[regime]
    outcomes, probs = large_alphabet_joint(sizes, 60, seed=len(sizes))
    space = math.prod(sizes)
    assert space > 8 * len(probs) and space > 4096
    assert (space >= 2**31) == (regime != "int32-key")
    assert (space >= 2**63) == (regime == "multi-key")
    d = dict_of_rows(outcomes, probs)
    assert len(d) < len(probs)  # rows really repeat
    joint = T.SparseJoint(jnp.asarray(outcomes), jnp.asarray(probs), sizes, False)
    dv = len(sizes)
    # One call covers H of every singleton and of all variables ...
    close(T.total_correlation(joint), bf.total_correlation(d, list(range(dv))))
    # ... one every pair {0, v} and the single column 0 ...
    close(
        T.total_correlation(joint, given=[0]),
        bf.total_correlation(d, list(range(1, dv)), [0]),
    )
    # ... and one a 3-column projection.
    close(
        T.mutual_information(joint, [0], [1, dv - 1]),
        mi_from_definition(d, [0], [1, dv - 1]),
    )


def test_large_alphabet_merged_sparse_joint_matches_bruteforce():
    """`sparse_joint` merges repeated rows of a joint on a 2**32+ key space."""
    sizes = LARGE["int64-key"]
    outcomes, probs = large_alphabet_joint(sizes, 60, seed=5)
    d = dict_of_rows(outcomes, probs)
    joint = T.sparse_joint(outcomes, probs, sizes)
    assert joint.support_size == len(d)
    close(T.entropy(joint), bf.entropy(d))
    close(T.total_correlation(joint, given=[2]), bf.total_correlation(d, [0, 1], [2]))


def test_large_alphabet_empirical_matches_bruteforce():
    """An empirical distribution with many repeated samples on a 2**32 key space."""
    sizes = (2**16, 2**16)
    rng = np.random.default_rng(11)
    values = np.array([[0, 65535], [65535, 0], [7, 7], [0, 0], [65535, 65535]])
    samples = values[rng.integers(0, 5, size=200)]
    counts = defaultdict(int)
    for row in map(tuple, samples.tolist()):
        counts[row] += 1
    law = {k: c / 200 for k, c in counts.items()}
    emp = T.empirical(samples, sizes=sizes)
    close(T.entropy(emp), bf.entropy(law))
    close(T.entropy(emp, [1]), bf.entropy(law, [1]))
    close(T.total_correlation(emp), bf.total_correlation(law, [0, 1]))
