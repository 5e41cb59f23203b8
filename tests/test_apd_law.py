"""APD (Adaptive Parallel Decoding) with an ideal dLLM and exact AR conditionals.

Checks the plain references `bruteforce.apd_law` (exact law by recursion over accepted
prefixes, Gumbel-coupling agreement in closed form) and `bruteforce.apd_monte_carlo`
(a simulation that draws the Gumbel noise) against each other and against the cases
where the law is known without them. Nothing here calls trilemma's samplers.
"""

from __future__ import annotations

import math
from collections import Counter

import bruteforce as bf
import numpy as np
import pytest

import trilemma

WEIGHTS = (0.0, 0.5, 1.0)
EXACT = 1e-12
Z_MAX = 5.0
LAW_TASKS = [
    ("shuffle", 3),
    ("replace_random", 3),
    ("copy", 3),
    ("latin_square", 3),
    ("copula", 2),
    ("markov_chain", 3),
    ("random_joint", 3),
]


def _max_abs_diff(p, q):
    keys = set(p) | set(q)
    return max(abs(p.get(y, 0.0) - q.get(y, 0.0)) for y in keys)


@pytest.mark.parametrize("weight", WEIGHTS)
@pytest.mark.parametrize(("name", "n"), LAW_TASKS)
def test_law_sums_to_one_within_support(name, n, weight):
    """The law sums to 1 and stays in supp p*(.|x) wherever it must.

    R in {0, 0.5, 1}, M in {1, 2, L}: the sum is 1 (1e-9), every listed probability is
    positive and E[nfe] lies in [ceil(L / M), L]. The support is within supp p*(.|x)
    whenever R < 1 (an accepted draft needs a_j > 0, so accepted prefixes keep
    positive mass) or M = 1. At R = 1 with M >= 2 the drafts are independent
    marginals and may leave the support, so only the sum is checked there.
    """
    task = trilemma.make_task(name, n)
    p_star, sizes = bf.apd_target(task, 0)
    length = len(sizes)
    for lookahead in sorted({1, 2, length}):
        law, nfe, ar_nfe = bf.apd_law(task, 0, weight=weight, lookahead=lookahead)
        assert math.fsum(law.values()) == pytest.approx(1.0, abs=1e-9)
        assert all(p > 0 for p in law.values())
        if weight < 1 or lookahead == 1:
            assert set(law) <= set(p_star)
        assert math.ceil(length / lookahead) - EXACT <= nfe <= length + EXACT
        assert 0 <= ar_nfe <= nfe + EXACT


@pytest.mark.parametrize("weight", WEIGHTS)
@pytest.mark.parametrize(("name", "n"), LAW_TASKS)
def test_lookahead_one_is_exact(name, n, weight):
    """M = 1, T = 1: the law is p*(.|x) (1e-12) for every R, nfe = L, ar_nfe = 0.

    One token per iteration, drawn from the exact conditional p*(y_t | x, y_<t); a
    window of one needs no AR pass.
    """
    task = trilemma.make_task(name, n)
    p_star, sizes = bf.apd_target(task, 0)
    law, nfe, ar_nfe = bf.apd_law(task, 0, weight=weight, lookahead=1)
    assert _max_abs_diff(law, p_star) <= EXACT
    assert nfe == pytest.approx(len(sizes), abs=EXACT)
    assert ar_nfe == 0


@pytest.mark.parametrize(("name", "n"), LAW_TASKS)
def test_dllm_only_full_window_is_product_of_marginals(name, n):
    """R = 1, M in {L, L + 2}: the law is the product of p*'s marginals given x.

    q_j = pi_j, so with shared noise every draft is accepted in the first iteration:
    the law equals `bruteforce.product_of_marginals` (1e-12), nfe = 1 and ar_nfe = 1
    (every task here has L >= 2).
    """
    task = trilemma.make_task(name, n)
    p_star, sizes = bf.apd_target(task, 0)
    product = bf.product_of_marginals(p_star, sizes)
    for lookahead in (len(sizes), len(sizes) + 2):
        law, nfe, ar_nfe = bf.apd_law(task, 0, weight=1.0, lookahead=lookahead)
        assert _max_abs_diff(law, product) <= EXACT
        assert nfe == pytest.approx(1.0, abs=EXACT)
        assert ar_nfe == pytest.approx(1.0, abs=EXACT)


@pytest.mark.parametrize("weight", WEIGHTS)
def test_product_law_is_exact(weight):
    """A product law p*(.|x) is sampled exactly in one pass at M = L, for every R.

    Hand-built task with alphabets (2, 3, 2) (no registered task has a non-trivial
    product law; copy's is a point mass): p_D_j = a_j, so q_j = pi_j and every draft
    is accepted; the law is p* (1e-12) for R in {0, 0.5, 1}, nfe = 1, ar_nfe = 1.
    """
    task = bf.product_task()
    p_star, sizes = bf.apd_target(task, 0)
    assert len(p_star) == math.prod(sizes)
    law, nfe, ar_nfe = bf.apd_law(task, 0, weight=weight, lookahead=len(sizes))
    assert _max_abs_diff(law, p_star) <= EXACT
    assert nfe == pytest.approx(1.0, abs=EXACT)
    assert ar_nfe == pytest.approx(1.0, abs=EXACT)


def _mean_z(values, exact):
    """|sample mean - exact| / standard error (0 for a constant sample at `exact`)."""
    se = np.std(values, ddof=1) / math.sqrt(len(values))
    gap = abs(float(np.mean(values)) - exact)
    if se == 0:
        return 0.0 if gap <= EXACT else math.inf
    return gap / se


@pytest.mark.parametrize("lookahead", [2, 3])
@pytest.mark.parametrize("weight", [0.0, 0.5])
@pytest.mark.parametrize(("name", "n"), [("shuffle", 3), ("replace_random", 3)])
def test_monte_carlo_matches_law(name, n, weight, lookahead):
    """The Gumbel-noise simulation agrees with the exact law, nfe and ar_nfe.

    N = 20,000 runs of `apd_monte_carlo` (seed 0, T = 1, M in {2, L}, L = 3): no
    sampled output outside the law's support, max over outcomes
    |p̂ - p| / sqrt(p(1 - p) / N) <= 5, and the means of nfe and ar_nfe within 5
    standard errors of `apd_law`'s expectations.
    """
    task = trilemma.make_task(name, n)
    law, nfe_exact, ar_exact = bf.apd_law(task, 0, weight=weight, lookahead=lookahead)
    num = 20_000
    outputs, nfe, ar_nfe = bf.apd_monte_carlo(
        task,
        0,
        weight=weight,
        lookahead=lookahead,
        temperature=1.0,
        num_samples=num,
        seed=0,
    )
    counts = Counter(outputs)
    assert set(counts) <= set(law)
    z = max(
        abs(counts.get(y, 0) / num - p) / math.sqrt(p * (1 - p) / num)
        for y, p in law.items()
    )
    assert z <= Z_MAX
    assert _mean_z(nfe, nfe_exact) <= Z_MAX
    assert _mean_z(ar_nfe, ar_exact) <= Z_MAX


@pytest.mark.parametrize("name", ["replace_random", "shuffle_distinct"])
def test_ar_only_full_window_is_neither_p_star_nor_p_dllm(name):
    """R = 0, M = L (T = 1): the law is neither p*(.|x) nor the dLLM's law.

    The REFERENCE claim that APD samples neither p_D nor p*: the max difference to
    p* and to the product of marginals (the dLLM's one-shot law) both exceed 1e-3.
    Shown on replace_random and shuffle_distinct (n = 3); on shuffle the law is
    exactly p* (next test).
    """
    task = trilemma.make_task(name, 3)
    p_star, sizes = bf.apd_target(task, 0)
    law, _, _ = bf.apd_law(task, 0, weight=0.0, lookahead=len(sizes))
    assert _max_abs_diff(law, p_star) > 1e-3
    assert _max_abs_diff(law, bf.product_of_marginals(p_star, sizes)) > 1e-3


@pytest.mark.parametrize("weight", [0.0, 0.5])
@pytest.mark.parametrize("n", [3, 4])
def test_shuffle_law_is_p_star_by_symmetry(n, weight):
    """On shuffle the APD law at R in {0, 0.5}, M = L is exactly p* (1e-12).

    p* is uniform over all n! permutations. APD is not exact in general, but for
    R < 1 its law lives on permutations, and the rule is equivariant under
    relabelling token values, which acts transitively on permutations and leaves p*
    fixed, so the law is uniform. E[nfe] < L - 1/2: the decoding is really parallel.
    """
    task = trilemma.make_task("shuffle", n)
    p_star, sizes = bf.apd_target(task, 0)
    law, nfe, _ = bf.apd_law(task, 0, weight=weight, lookahead=len(sizes))
    assert _max_abs_diff(law, p_star) <= EXACT
    assert nfe < len(sizes) - 0.5
