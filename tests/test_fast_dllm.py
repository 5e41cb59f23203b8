"""Fast-dLLM Theorem 1 (REFERENCE 3): closed forms, tight examples, argument errors."""

import itertools
import math

import bruteforce as bf
import numpy as np
import pytest
from scipy.optimize import linprog

import trilemma as T

EXACT = {"rtol": 1e-12, "atol": 1e-12}


def _f(x) -> float:
    return float(np.asarray(x))


def _np_product(p):
    q = np.ones(())
    for j in range(p.ndim):
        q = np.multiply.outer(
            q, np.sum(p, axis=tuple(i for i in range(p.ndim) if i != j))
        )
    return q


def _one_hot(n, j):
    return tuple(int(i == j) for i in range(n))


def _tight_example(n, eps):
    """REFERENCE 3.1: binary tokens, x* = 0^n, mass 1/(n+1) + eta/n on each e_j."""
    eta = (eps - 1 / (n + 1)) / (n + 1)
    p = np.zeros((2,) * n)
    p[(0,) * n] = 1 / (n + 1) - eta
    for j in range(n):
        p[_one_hot(n, j)] = 1 / (n + 1) + eta / n
    return p, eta


def _correlated_errors(n, eps):
    """Binary tokens that are all wrong together: p(0^n) = 1 - eps, p(1^n) = eps."""
    p = np.zeros((2,) * n)
    p[(0,) * n] = 1 - eps
    p[(1,) * n] = eps
    return p


# ---------------------------------------------------------------------------
# Result 1: greedy equivalence, and the tight example beyond (n+1) eps = 1.


@pytest.mark.parametrize("n", [2, 3, 4])
@pytest.mark.parametrize("excess", [1e-3, 0.05])
def test_tight_example_breaks_greedy_equivalence(n, excess):
    eps = 1 / (n + 1) + excess
    p, eta = _tight_example(n, eps)
    np.testing.assert_allclose(p.sum(), 1.0, **EXACT)
    x_star = (0,) * n
    # Every marginal gives x*_j probability 1 - (1/(n+1) + eta/n) > 1 - eps ...
    eps0 = 1 / (n + 1) + eta / n
    confidences = np.asarray(T.marginal_confidences(p, x_star))
    np.testing.assert_allclose(confidences, np.full(n, 1 - eps0), **EXACT)
    np.testing.assert_allclose(_f(T.fast_dllm_epsilon(p, x_star)), eps0, **EXACT)
    assert eps0 < eps
    # ... yet (n+1) eps0 > 1, so the theorem's condition fails,
    assert not T.greedy_equivalence_condition(n, eps0)
    assert not T.greedy_equivalence_condition(n, eps)
    # and indeed greedy joint decoding (a one-hot) differs from greedy parallel (x*).
    assert p[x_star] < p[_one_hot(n, 0)]
    assert np.unravel_index(np.argmax(p), p.shape) != x_star
    q = np.asarray(T.product_of_marginals(p))
    np.testing.assert_allclose(q, _np_product(p), **EXACT)
    assert tuple(int(i) for i in np.unravel_index(np.argmax(q), q.shape)) == x_star


@pytest.mark.parametrize(
    ("n", "eps", "expected"),
    [
        (3, 0.25, True),
        (3, 0.25 + 1e-9, False),
        (1, 0.5, True),
        (4, 0.2, True),
        (4, 0.21, False),
    ],
)
def test_greedy_equivalence_condition(n, eps, expected):
    assert T.greedy_equivalence_condition(n, eps) is expected


# ---------------------------------------------------------------------------
# Result 2 and the sharper bound (REFERENCE 3.2).


@pytest.mark.parametrize("n", [2, 3])
@pytest.mark.parametrize("eps", [0.05, 0.1, 0.3])
def test_correlated_errors_tv_is_n_eps_one_minus_eps(n, eps):
    p = _correlated_errors(n, eps)
    q = T.product_of_marginals(p)
    tv = _f(T.total_variation_distance(p, q))
    np.testing.assert_allclose(tv, n * eps * (1 - eps), **EXACT)
    np.testing.assert_allclose(_f(T.fast_dllm_epsilon(p)), eps, **EXACT)
    np.testing.assert_allclose(_f(T.sharper_tv_bound(p)), n * eps, **EXACT)
    np.testing.assert_allclose(
        _f(T.fast_dllm_tv_bound(n, eps)), (3 * n - 1) / 2 * eps, **EXACT
    )
    assert tv < n * eps < (3 * n - 1) / 2 * eps


def test_correlated_errors_reference_numbers():
    # n = 3, eps = 0.1: TV = 0.27 against the theorem's (3n-1)/2 eps = 0.40.
    p = _correlated_errors(3, 0.1)
    tv = _f(T.total_variation_distance(p, T.product_of_marginals(p)))
    np.testing.assert_allclose(tv, 0.27, **EXACT)
    np.testing.assert_allclose(_f(T.fast_dllm_tv_bound(3, 0.1)), 0.40, **EXACT)


def _worst_case_tv(n, eps):
    """Max TV(p, prod Bernoulli(eps)) over binary joints p with every p_j(1) = eps.

    TV = max_A p(A) - q(A), and for a fixed region A the max over p is an LP.
    """
    cells = list(itertools.product((0, 1), repeat=n))
    q = np.array([math.prod(eps if c else 1 - eps for c in x) for x in cells])
    a_eq = np.array(
        [[1.0] * len(cells)] + [[float(x[j]) for x in cells] for j in range(n)]
    )
    b_eq = np.array([1.0] + [eps] * n)
    best = 0.0
    for region in itertools.product((0.0, 1.0), repeat=len(cells)):
        ind = np.array(region)
        res = linprog(-ind, A_eq=a_eq, b_eq=b_eq, bounds=(0, 1), method="highs")
        assert res.status == 0
        best = max(best, -res.fun - float(ind @ q))
    return best


@pytest.mark.parametrize(("n", "eps"), [(2, 0.1), (2, 0.3), (3, 0.1)])
def test_correlated_errors_are_the_worst_case(n, eps):
    # REFERENCE 3.2: the exact LP over binary joints with equal eps gives n eps (1-eps).
    np.testing.assert_allclose(_worst_case_tv(n, eps), n * eps * (1 - eps), atol=1e-9)


def test_independent_tokens_have_zero_tv():
    p = np.outer([0.9, 0.1], [0.8, 0.2])
    q = np.asarray(T.product_of_marginals(p))
    np.testing.assert_allclose(q, p, **EXACT)
    np.testing.assert_allclose(_f(T.total_variation_distance(p, q)), 0.0, atol=1e-12)
    np.testing.assert_allclose(_f(T.kl_divergence(p, q)), 0.0, atol=1e-12)
    np.testing.assert_allclose(_f(T.sharper_tv_bound(p)), 0.1 + 0.2, **EXACT)
    np.testing.assert_allclose(_f(T.fast_dllm_epsilon(p)), 0.2, **EXACT)


@pytest.mark.parametrize(
    ("n", "eps", "vocab"),
    [(2, 0.1, 2), (3, 0.1, 2), (3, 0.05, 5), (4, 0.2, 100), (3, 0.0, 7)],
)
def test_kl_bound_closed_form(n, eps, vocab):
    expected = (n - 1) * (bf.binary_entropy(eps) + eps * math.log(vocab - 1))
    np.testing.assert_allclose(
        _f(T.fast_dllm_kl_bound(n, eps, vocab)), expected, **EXACT
    )


def test_kl_bound_with_a_one_letter_vocabulary():
    # ln(|V| - 1) = ln 0: with one letter no token can be wrong; the term must vanish.
    np.testing.assert_allclose(_f(T.fast_dllm_kl_bound(3, 0.0, 1)), 0.0, atol=1e-12)


@pytest.mark.parametrize("n", [2, 3])
@pytest.mark.parametrize("eps", [0.05, 0.1, 0.3])
def test_kl_is_total_correlation_and_within_bound(n, eps):
    p = _correlated_errors(n, eps)
    kl = _f(T.kl_divergence(p, T.product_of_marginals(p)))
    # p is two-valued: H(X) = H_b(eps) and every H(X_j) = H_b(eps), so TC = (n-1) H_b.
    np.testing.assert_allclose(kl, (n - 1) * bf.binary_entropy(eps), **EXACT)
    np.testing.assert_allclose(
        kl, bf.total_correlation(bf.as_dict(p), range(n)), **EXACT
    )
    np.testing.assert_allclose(_f(T.total_correlation(p)), kl, **EXACT)
    # With |V| = 2 the bound (n-1)(H_b(eps) + eps ln 1) is attained exactly.
    np.testing.assert_allclose(kl, _f(T.fast_dllm_kl_bound(n, eps, 2)), **EXACT)


@pytest.mark.parametrize(("vocab", "eps"), [(2, 0.6), (2, 0.9), (3, 0.8)])
def test_kl_bound_fails_beyond_v_minus_one_over_v(vocab, eps):
    """Paper claim violated: the KL bound needs eps <= (|V|-1)/|V| (REFERENCE 3.1).

    Two perfectly correlated uniform tokens: p_j(x*_j) = 1/|V| > 1 - eps, so the
    hypothesis holds for every eps > (|V|-1)/|V|, while KL(p||q) = TC = ln|V| exceeds
    (n-1)(H_b(eps) + eps ln(|V|-1)) < ln|V| there.
    """
    p = np.eye(vocab) / vocab
    x_star = (0, 0)
    confidences = np.asarray(T.marginal_confidences(p, x_star))
    assert np.all(confidences > 1 - eps)  # the theorem's hypothesis
    kl = _f(T.kl_divergence(p, T.product_of_marginals(p)))
    np.testing.assert_allclose(kl, math.log(vocab), **EXACT)
    bound = _f(T.fast_dllm_kl_bound(2, eps, vocab))
    assert kl > bound  # the stated bound is false here


# ---------------------------------------------------------------------------
# The worked toy of REFERENCE 1.9: four cities.


def test_cities_toy():
    # Y1 in {New, Mexico, Panama}, Y2 in {York, Orleans, City}.
    p = np.zeros((3, 3))
    p[0, 0] = p[0, 1] = p[1, 2] = p[2, 2] = 0.25
    q = np.asarray(T.product_of_marginals(p))
    np.testing.assert_allclose(
        q, np.outer([0.5, 0.25, 0.25], [0.25, 0.25, 0.5]), **EXACT
    )
    bits = {
        "H(Y)": T.entropy(p),
        "H(Y1)": T.entropy(p, (0,)),
        "H(Y2)": T.entropy(p, (1,)),
        "C": T.total_correlation(p),
        "L_1": T.t_step_bound(p, ((0, 1),)),
        "KL": T.kl_divergence(p, q),
    }
    expected = {
        "H(Y)": 2.0,
        "H(Y1)": 1.5,
        "H(Y2)": 1.5,
        "C": 1.0,
        "L_1": 1.0,
        "KL": 1.0,
    }
    for key, value in bits.items():
        np.testing.assert_allclose(
            _f(T.to_bits(value)), expected[key], **EXACT, err_msg=key
        )
    np.testing.assert_allclose(q[p > 0].sum(), 0.5, **EXACT)  # q(valid)
    np.testing.assert_allclose(q[0, 2], 0.25, **EXACT)  # "New City"
    np.testing.assert_allclose(_f(T.total_variation_distance(q, p)), 0.5, **EXACT)
    np.testing.assert_allclose(1 - _f(T.precision(q, p)), 0.5, **EXACT)  # E_flu
    np.testing.assert_allclose(1 - _f(T.recall(q, p)), 0.0, atol=1e-12)  # E_div


# ---------------------------------------------------------------------------
# Helpers and argument errors.


def test_marginal_confidences_default_to_argmax():
    rng = np.random.default_rng(3)
    p = rng.dirichlet(np.ones(18)).reshape(2, 3, 3)
    margins = [np.sum(p, axis=tuple(i for i in range(3) if i != j)) for j in range(3)]
    np.testing.assert_allclose(
        np.asarray(T.marginal_confidences(p)), [m.max() for m in margins], **EXACT
    )
    x_star = (1, 0, 2)
    np.testing.assert_allclose(
        np.asarray(T.marginal_confidences(p, x_star)),
        [m[v] for m, v in zip(margins, x_star, strict=True)],
        **EXACT,
    )
    np.testing.assert_allclose(
        _f(T.fast_dllm_epsilon(p, x_star)),
        max(1 - m[v] for m, v in zip(margins, x_star, strict=True)),
        **EXACT,
    )
    np.testing.assert_allclose(
        _f(T.sharper_tv_bound(p, x_star)),
        math.fsum(1 - m[v] for m, v in zip(margins, x_star, strict=True)),
        **EXACT,
    )
    np.testing.assert_allclose(
        np.asarray(T.product_of_marginals(p)), _np_product(p), **EXACT
    )


def test_product_of_sparse_joint_matches_dense():
    rng = np.random.default_rng(4)
    p = rng.dirichlet(np.ones(12)).reshape(3, 2, 2)
    p[0, 1, 1] = 0.0
    p /= p.sum()
    np.testing.assert_allclose(
        np.asarray(T.product_of_marginals(T.from_dense(p))), _np_product(p), **EXACT
    )


@pytest.mark.parametrize(
    "func", [T.marginal_confidences, T.fast_dllm_epsilon, T.sharper_tv_bound]
)
@pytest.mark.parametrize("x_star", [(0,), (0, 0, 0), (0, 2), (-1, 0), (3, 0)])
def test_bad_x_star_raises(func, x_star):
    p = np.full((3, 2), 1 / 6)
    with pytest.raises(ValueError, match="x_star"):
        func(p, x_star)
