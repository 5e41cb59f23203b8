"""Exact L_T, Q* and optimal schedules, against brute force and closed forms.

`tests/bruteforce.py` computes L_T from its definition (an expectation of conditional
total correlations) and Q* from conditional tables, with dictionaries and `math.fsum`;
the library uses the entropy chain rule, a lattice of marginals and a subset DP.
"""

import itertools
import math

import bruteforce as bf
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import trilemma as T
from trilemma import strategies as tst

EXACT = {"rtol": 1e-12, "atol": 1e-12}

# JAX compiles once per (shape, index sets): a small pool of shapes keeps it cheap.
SHAPES = ((2, 3), (2, 2, 2), (3, 2, 2), (2, 2, 2, 2), (2, 3, 2, 2))


def _f(x) -> float:
    return float(np.asarray(x))


def _bits(x) -> float:
    return float(np.asarray(T.to_bits(x)))


@st.composite
def _few_cells(draw, shape):
    """A joint on 2-4 random cells: many prefixes are null under p but not under Q*."""
    size = int(np.prod(shape))
    cells = draw(
        st.lists(st.integers(0, size - 1), min_size=2, max_size=4, unique=True)
    )
    weights = draw(
        st.lists(st.floats(0.05, 1.0), min_size=len(cells), max_size=len(cells))
    )
    p = np.zeros(size)
    p[cells] = weights
    return (p / p.sum()).reshape(shape)


@st.composite
def _joints(draw, shapes=SHAPES, max_given=2):
    """`(p, given)` with `p` of a shape from `shapes` and at least one output."""
    shape = draw(st.sampled_from(shapes))
    p = draw(st.one_of(tst.joint_pmfs(shape), _few_cells(shape)))
    k = draw(st.integers(0, min(max_given, len(shape) - 1)))
    return p, tuple(sorted(draw(st.permutations(range(len(shape))))[:k]))


@st.composite
def _joint_and_partition(draw):
    p, g = draw(_joints())
    outputs = tuple(v for v in range(p.ndim) if v not in g)
    return p, g, draw(tst.ordered_partitions(outputs))


# ---------------------------------------------------------------------------
# L_T and Q* on random joints.


@settings(max_examples=20)
@given(_joint_and_partition())
def test_t_step_bound_matches_definition(sample):
    p, g, partition = sample
    expected = bf.t_step_bound(bf.as_dict(p), partition, g)
    np.testing.assert_allclose(
        _f(T.t_step_bound(p, partition, given=g)), expected, **EXACT
    )


@settings(max_examples=20)
@given(_joint_and_partition())
def test_t_step_bound_sparse_matches_definition(sample):
    p, g, partition = sample
    expected = bf.t_step_bound(bf.as_dict(p), partition, g)
    got = _f(T.t_step_bound(T.from_dense(p), partition, given=g))
    np.testing.assert_allclose(got, expected, **EXACT)


@settings(max_examples=20)
@given(_joint_and_partition())
def test_q_star_matches_bruteforce(sample):
    p, g, partition = sample
    expected = bf.dense(bf.q_star(bf.as_dict(p), p.shape, partition, g), p.shape)
    got = np.asarray(T.t_step_product(p, partition, given=g))
    np.testing.assert_allclose(got, expected, **EXACT)
    np.testing.assert_allclose(got.sum(), 1.0, **EXACT)


@st.composite
def _few_cells_two_steps(draw):
    """Few cells and two steps: Q* reaches prefixes that p never produces."""
    shape = draw(st.sampled_from(((2, 2, 2), (3, 2, 2), (2, 2, 2, 2))))
    p = draw(_few_cells(shape))
    g = draw(st.sampled_from([(), (0,)])) if p.ndim == 4 else ()
    outputs = tuple(v for v in range(p.ndim) if v not in g)
    order = draw(st.permutations(outputs))
    first = draw(st.integers(2, len(outputs) - 1))
    return p, g, (tuple(order[:first]), tuple(order[first:]))


@settings(max_examples=20)
@given(_few_cells_two_steps())
def test_q_star_matches_bruteforce_on_null_prefixes(sample):
    p, g, partition = sample
    expected = bf.dense(bf.q_star(bf.as_dict(p), p.shape, partition, g), p.shape)
    got = np.asarray(T.t_step_product(p, partition, given=g))
    np.testing.assert_allclose(got, expected, **EXACT)
    np.testing.assert_allclose(got.sum(), 1.0, **EXACT)


@settings(max_examples=20)
@given(_joint_and_partition())
def test_kl_to_q_star_equals_bound(sample):
    p, g, partition = sample
    d = bf.as_dict(p)
    q_star = np.asarray(T.t_step_product(p, partition, given=g))
    expected = bf.t_step_bound(d, partition, g)
    np.testing.assert_allclose(bf.kl(d, bf.as_dict(q_star)), expected, **EXACT)
    np.testing.assert_allclose(_f(T.kl_divergence(p, q_star)), expected, **EXACT)


def test_q_star_is_uniform_after_null_prefix():
    # y0 = y1 = y2, a fair coin. Step 1 draws y0, y1 independently, so Q* reaches the
    # prefixes (0, 1) and (1, 0), which p never produces: there y2 is uniform.
    p = np.zeros((2, 2, 2))
    p[0, 0, 0] = p[1, 1, 1] = 0.5
    q = np.asarray(T.t_step_product(p, ((0, 1), (2,))))
    expected = np.zeros((2, 2, 2))
    expected[0, 0, 0] = expected[1, 1, 1] = 0.25
    expected[0, 1] = expected[1, 0] = [0.125, 0.125]
    np.testing.assert_allclose(q, expected, **EXACT)
    np.testing.assert_allclose(_f(T.kl_divergence(p, q)), math.log(2), **EXACT)
    # Prompt value x = 1 never occurs: Q*(y | x = 1) is uniform, and Q*(x = 1) = 0.
    p = np.zeros((2, 2, 2))
    p[0] = [[0.5, 0.0], [0.0, 0.5]]
    q = np.asarray(T.t_step_product(p, ((1, 2),), given=(0,)))
    np.testing.assert_allclose(q[0], np.full((2, 2), 0.25), **EXACT)
    np.testing.assert_allclose(q[1], np.zeros((2, 2)), **EXACT)


# ---------------------------------------------------------------------------
# The optimal schedule (subset DP) against exhaustive search.


@st.composite
def _joint_and_steps(draw):
    shapes = ((2, 2, 2), (2, 3, 2, 2), (2, 2, 2, 2, 2), (3, 2, 2, 2))
    p, g = draw(_joints(shapes=shapes, max_given=1))
    outputs = tuple(v for v in range(p.ndim) if v not in g)
    return p, g, outputs, draw(st.integers(1, len(outputs)))


@settings(max_examples=15)
@given(_joint_and_steps(), st.sampled_from(["lattice", "grouping"]))
def test_optimal_bound_matches_exhaustive_search(sample, method):
    p, g, outputs, steps = sample
    d = bf.as_dict(p)
    expected = bf.optimal_t_step_bound(d, outputs, steps, g)
    result = T.optimal_t_step_bound(p, steps, given=g, method=method)
    np.testing.assert_allclose(_f(result.bound), expected, **EXACT)
    # The returned schedule is an ordered partition into `steps` steps that attains it.
    assert len(result.schedule) == steps
    assert all(result.schedule)
    assert sorted(itertools.chain(*result.schedule)) == list(outputs)
    np.testing.assert_allclose(
        bf.t_step_bound(d, result.schedule, g), expected, **EXACT
    )


def test_optimal_schedule_on_a_chain():
    # y0 = y1 (fully dependent), y2 independent fair coin: C = log 2.
    # One step pays log 2; two steps pay 0 exactly when y0 and y1 are split.
    p = np.zeros((2, 2, 2))
    p[0, 0, :] = p[1, 1, :] = 0.25
    one = T.optimal_t_step_bound(p, 1)
    np.testing.assert_allclose(_f(one.bound), math.log(2), **EXACT)
    assert one.schedule == ((0, 1, 2),)
    two = T.optimal_t_step_bound(p, 2)
    np.testing.assert_allclose(_f(two.bound), 0.0, atol=1e-12)
    first, second = (set(s) for s in two.schedule)
    assert not {0, 1} <= first and not {0, 1} <= second


# ---------------------------------------------------------------------------
# Tasks: closed forms of REFERENCE 2.3-2.4.


def _shuffle_bits(n, sizes):
    """sum_t |S_t| log2 m_t - log2 n!, with m_t the tokens left before step t."""
    left, total = n, 0.0
    for s in sizes:
        total += s * math.log2(left)
        left -= s
    return total - math.log2(math.factorial(n))


def _schedule(outputs, sizes, order=None):
    order = list(outputs) if order is None else [outputs[i] for i in order]
    cuts = list(itertools.accumulate(sizes))
    return tuple(tuple(order[a:b]) for a, b in itertools.pairwise([0, *cuts]))


SHUFFLE_SCHEDULES = [
    (3, (1, 2)),
    (4, (2, 2)),
    (4, (1, 3)),
    (4, (1, 2, 1)),
    (5, (2, 3)),
    (5, (2, 2, 1)),
]


@pytest.mark.parametrize(("n", "sizes"), SHUFFLE_SCHEDULES)
def test_shuffle_t_step_bound_closed_form(n, sizes):
    task = T.make_task("shuffle", n)
    expected = _shuffle_bits(n, sizes)
    # L_T depends only on the step sizes: decode the tokens in a shuffled order.
    order = np.random.default_rng(n * 100 + len(sizes)).permutation(n)
    schedule = _schedule(task.outputs, sizes, order)
    got = _bits(T.t_step_bound(task.joint, schedule, given=task.given))
    np.testing.assert_allclose(got, expected, **EXACT)


@pytest.mark.parametrize(
    ("n", "k", "reference"),
    [
        (3, 3, 2 / 9),
        (4, 4, 0.09375),
        (4, 2, 0.375),
        (4, 1, 1.0),
        (6, 2, 0.3125),
        (6, 3, 10 / 81),
        (8, 2, 0.2734375),
    ],
)
def test_shuffle_eq5_is_two_to_minus_l_t(n, k, reference):
    """Eq. (5): Acc(k) = prod_i P(m_i, k) / m_i^k = 2^(-L_T) for k | n."""
    task = T.make_task("shuffle", n)
    eq5 = math.prod(math.perm(m, k) / m**k for m in range(n, 0, -k))
    np.testing.assert_allclose(eq5, reference, **EXACT)
    schedule = _schedule(task.outputs, (k,) * (n // k))
    bound = _bits(T.t_step_bound(task.joint, schedule, given=task.given))
    np.testing.assert_allclose(2.0**-bound, eq5, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("sizes", [(4,), (2, 2), (1, 3), (3, 1), (1, 1, 2)])
def test_shuffle_q_star_accuracy_is_two_to_minus_l_t(sizes):
    # Jensen's bound Q*(supp P) >= 2^(-L_T) holds with equality for Shuffle.
    task = T.make_task("shuffle", 4)
    schedule = _schedule(task.outputs, sizes)
    q_star = T.t_step_product(task.joint, schedule, given=task.given)
    accuracy = _f(T.precision(q_star, T.to_dense(task.joint)))
    np.testing.assert_allclose(accuracy, 2.0 ** -_shuffle_bits(4, sizes), **EXACT)


@pytest.mark.parametrize(("n", "steps"), [(4, 1), (4, 2), (4, 3), (5, 2), (5, 3)])
def test_shuffle_optimal_bound_is_best_composition(n, steps):
    task = T.make_task("shuffle", n)
    compositions = [
        c for c in itertools.product(range(1, n + 1), repeat=steps) if sum(c) == n
    ]
    expected = min(_shuffle_bits(n, c) for c in compositions)
    result = T.optimal_t_step_bound(task.joint, steps, given=task.given)
    np.testing.assert_allclose(_bits(result.bound), expected, **EXACT)
    sizes = tuple(len(s) for s in result.schedule)
    np.testing.assert_allclose(_shuffle_bits(n, sizes), expected, **EXACT)


def test_replace_random_two_steps():
    # n = 4, steps {y1, y2}, {y3, y4}: L_T = 2 H_b(1/4) - 1 = 3 - 1.5 log2 3 bits,
    # and the ideal model's accuracy is 21/32 = 0.65625 > 2^(-L_T) = 0.6495.
    task = T.make_task("replace_random", 4)
    y = task.outputs
    schedule = ((y[0], y[1]), (y[2], y[3]))
    bound = _bits(T.t_step_bound(task.joint, schedule, given=task.given))
    np.testing.assert_allclose(bound, 3 - 1.5 * math.log2(3), **EXACT)
    q_star = T.t_step_product(task.joint, schedule, given=task.given)
    accuracy = _f(T.precision(q_star, T.to_dense(task.joint)))
    np.testing.assert_allclose(accuracy, 21 / 32, **EXACT)
    assert accuracy > 2.0**-bound + 1e-3


@pytest.mark.parametrize("n", [2, 3, 4])
def test_replace_random_one_step_closed_form(n):
    task = T.make_task("replace_random", n)
    expected = (n - 1) * (math.log2(n) - math.log2(n - 1))
    bound = _bits(T.t_step_bound(task.joint, (task.outputs,), given=task.given))
    np.testing.assert_allclose(bound, expected, **EXACT)
    # One step, tau = 1: the ideal model is right w.p. ((n-1)/n)^(n-1) = 2^(-L_1).
    q_star = T.t_step_product(task.joint, (task.outputs,), given=task.given)
    accuracy = _f(T.precision(q_star, T.to_dense(task.joint)))
    np.testing.assert_allclose(accuracy, ((n - 1) / n) ** (n - 1), **EXACT)
    np.testing.assert_allclose(accuracy, 2.0**-expected, **EXACT)


@pytest.mark.parametrize("sizes", [(3,), (1, 2), (2, 1), (1, 1, 1)])
def test_copy_bound_is_zero(sizes):
    task = T.make_task("copy", 3, num_prompts=3)
    schedule = _schedule(task.outputs, sizes)
    bound = _f(T.t_step_bound(task.joint, schedule, given=task.given))
    np.testing.assert_allclose(bound, 0.0, atol=1e-12)


# ---------------------------------------------------------------------------
# Argument errors.


@pytest.mark.parametrize(
    "partition",
    [
        ((1,),),  # misses output 2
        ((1, 2), (2,)),  # overlapping steps
        ((0, 1), (2,)),  # a prompt variable in a step
        ((1,), (), (2,)),  # empty step
        ((1, 2, 3),),  # index out of range
        (),  # no steps
    ],
)
def test_t_step_bound_rejects_bad_partitions(partition):
    p = np.full((2, 2, 2), 0.125)
    with pytest.raises(ValueError):
        T.t_step_bound(p, partition, given=(0,))


@pytest.mark.parametrize("steps", [0, 3])
def test_optimal_rejects_bad_step_counts(steps):
    p = np.full((2, 2, 2), 0.125)
    with pytest.raises(ValueError):
        T.optimal_t_step_bound(p, steps, given=(0,))


def test_optimal_rejects_unknown_method():
    with pytest.raises(ValueError, match="method"):
        T.optimal_t_step_bound(np.full((2, 2), 0.25), 1, method="greedy")
