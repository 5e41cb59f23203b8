"""Precision–recall for distributions (Sajjadi et al., 2018): exact curve and grid.

The exact frontier is checked at its breakpoints against `bruteforce.prd_alpha`, the
`lambdas=` evaluation against the direct sum, and the grid version against a plain
NumPy copy of `prd_score.compute_prd` (msmsajjadi/precision-recall-distributions).
"""

import math

import bruteforce as bf
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings

import trilemma as T
from trilemma import strategies as tst

RTOL = 1e-12
ATOL = 1e-12
SHAPE = (10,)


def compute_prd(eval_dist, ref_dist, num_angles=1001, epsilon=1e-10):
    """Sajjadi et al.'s `compute_prd`, re-typed in plain NumPy (validation omitted)."""
    angles = np.linspace(epsilon, math.pi / 2 - epsilon, num=num_angles)
    slopes = np.tan(angles)
    slopes_2d = np.expand_dims(slopes, 1)
    ref_dist_2d = np.expand_dims(ref_dist, 0)
    eval_dist_2d = np.expand_dims(eval_dist, 0)
    precision = np.minimum(ref_dist_2d * slopes_2d, eval_dist_2d).sum(axis=1)
    recall = precision / slopes
    assert max(np.max(precision), np.max(recall)) <= 1.001
    return slopes, np.clip(precision, 0, 1), np.clip(recall, 0, 1)


def f_beta_reference(precision, recall, beta):
    """(1 + b^2) p r / (b^2 p + r), 0 where p = r = 0 (plain NumPy)."""
    precision, recall = np.asarray(precision, float), np.asarray(recall, float)
    b2 = beta**2
    den = b2 * precision + recall
    with np.errstate(invalid="ignore", divide="ignore"):
        out = (1 + b2) * precision * recall / den
    return np.where(den > 0, out, 0.0)


def alpha_direct(p, p_star, lambdas):
    """alpha(lambda) = sum_x min(lambda p*(x), p(x)) on a grid of slopes."""
    return np.minimum(np.outer(lambdas, p_star.ravel()), p.ravel()[None, :]).sum(axis=1)


def curve_np(curve):
    return tuple(np.asarray(x) for x in curve)


# --------------------------------------------------------------------------------------
# The exact curve.


@settings(max_examples=30)
@given(tst.pmf_pairs(SHAPE))
def test_exact_curve_at_breakpoints_matches_bruteforce(pair):
    """Each finite point is (alpha(l), alpha(l)/l) with alpha from its definition."""
    p, p_star = pair
    lam, prec, rec = curve_np(T.prd_curve(jnp.asarray(p), jnp.asarray(p_star)))
    dp, ds = bf.as_dict(p), bf.as_dict(p_star)
    assert lam[0] == 0 and lam[-1] == math.inf
    assert np.all(np.diff(lam) >= 0)
    for lam_k, a_k, b_k in zip(lam[1:-1], prec[1:-1], rec[1:-1], strict=True):
        expected = bf.prd_alpha(dp, ds, float(lam_k))
        np.testing.assert_allclose(a_k, expected, rtol=RTOL, atol=ATOL)
        np.testing.assert_allclose(b_k, expected / lam_k, rtol=RTOL, atol=ATOL)
    # Every likelihood ratio p(x)/p*(x) on the common support is a breakpoint.
    both = (p > 0) & (p_star > 0)
    for r in (p[both] / p_star[both]).tolist():
        assert np.min(np.abs(lam[1:-1] - r)) <= 1e-12 * r


@settings(max_examples=30)
@given(tst.pmf_pairs(SHAPE))
def test_exact_curve_endpoints(pair):
    """At 0 (recall, precision) = (p*(supp p), 0); at inf (0, p(supp p*))."""
    p, p_star = pair
    args = jnp.asarray(p), jnp.asarray(p_star)
    _, prec, rec = curve_np(T.prd_curve(*args))
    max_precision = math.fsum(p[p_star > 0].tolist())
    max_recall = math.fsum(p_star[p > 0].tolist())
    np.testing.assert_allclose([prec[0], rec[0]], [0.0, max_recall], atol=ATOL)
    np.testing.assert_allclose([prec[-1], rec[-1]], [max_precision, 0.0], atol=ATOL)
    np.testing.assert_allclose(float(T.precision(*args)), max_precision, atol=ATOL)
    np.testing.assert_allclose(float(T.recall(*args)), max_recall, atol=ATOL)
    assert np.all(
        (prec >= -ATOL) & (prec <= 1 + ATOL) & (rec >= -ATOL) & (rec <= 1 + ATOL)
    )


@settings(max_examples=30)
@given(tst.pmf_pairs(SHAPE))
def test_lambdas_match_direct_sum(pair):
    """`prd_curve(..., lambdas=L)` equals sum min(l p*, p) and that over l."""
    p, p_star = pair
    lambdas = np.logspace(-4, 4, 801)
    lam, prec, rec = curve_np(T.prd_curve(jnp.asarray(p), jnp.asarray(p_star), lambdas))
    alpha = alpha_direct(p, p_star, lambdas)
    np.testing.assert_array_equal(lam, lambdas)
    np.testing.assert_allclose(prec, alpha, rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(rec, alpha / lambdas, rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(
        np.asarray(T.prd_curve(jnp.asarray(p), jnp.asarray(p_star), [1.0]).precision),
        [1 - 0.5 * np.abs(p - p_star).sum()],
        rtol=RTOL,
        atol=ATOL,
    )


@settings(max_examples=30)
@given(tst.pmf_pairs(SHAPE))
def test_swapping_model_and_target_swaps_precision_and_recall(pair):
    """alpha_swapped(l) = beta(1/l) and beta_swapped(l) = alpha(1/l)."""
    p, p_star = pair
    lambdas = np.logspace(-3, 3, 61)
    _, prec, rec = curve_np(T.prd_curve(jnp.asarray(p), jnp.asarray(p_star), lambdas))
    _, sprec, srec = curve_np(
        T.prd_curve(jnp.asarray(p_star), jnp.asarray(p), 1.0 / lambdas[::-1])
    )
    np.testing.assert_allclose(sprec[::-1], rec, rtol=1e-11, atol=ATOL)
    np.testing.assert_allclose(srec[::-1], prec, rtol=1e-11, atol=ATOL)


def test_equal_distributions_attain_one_one():
    p = jnp.array([0.1, 0.2, 0.3, 0.4, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0])
    _, prec, rec = curve_np(T.prd_curve(p, p))
    hits = (np.abs(prec - 1) < 1e-12) & (np.abs(rec - 1) < 1e-12)
    assert hits.any()


def test_disjoint_supports_give_only_origin():
    p = jnp.array([0.5, 0.5, 0.0, 0.0])
    p_star = jnp.array([0.0, 0.0, 0.25, 0.75])
    _, prec, rec = curve_np(T.prd_curve(p, p_star))
    np.testing.assert_array_equal(prec, 0.0)
    np.testing.assert_array_equal(rec, 0.0)
    assert float(T.precision(p, p_star)) == 0.0 and float(T.recall(p, p_star)) == 0.0


def test_cities_precision_and_recall():
    """Reference 1.9: the one-step product has precision 1/2 (E_flu) and recall 1."""
    p_star = np.zeros((3, 3))
    p_star[0, 0] = p_star[0, 1] = p_star[1, 2] = p_star[2, 2] = 0.25
    q = np.outer(p_star.sum(1), p_star.sum(0))
    args = jnp.asarray(q), jnp.asarray(p_star)
    np.testing.assert_allclose(float(T.precision(*args)), 0.5, atol=ATOL)
    np.testing.assert_allclose(float(T.recall(*args)), 1.0, atol=ATOL)


def test_sparse_matches_dense_curve():
    """A sparse pair with repeated rows and different stored supports."""
    p = np.array([[0.1, 0.2, 0.0], [0.3, 0.0, 0.4]])
    p_star = np.array([[0.25, 0.0, 0.25], [0.25, 0.25, 0.0]])
    sp = T.SparseJoint(
        jnp.array([[1, 2], [0, 0], [0, 1], [1, 0], [1, 2]]),
        jnp.array([0.2, 0.1, 0.2, 0.3, 0.2]),
        (2, 3),
        False,
    )
    ss = T.SparseJoint(
        jnp.array([[1, 1], [0, 2], [0, 0], [1, 0]]), jnp.full((4,), 0.25), (2, 3), True
    )
    lambdas = np.array([0.1, 0.5, 1.0, 1.2, 1.6, 2.0, 10.0])
    alpha = alpha_direct(p, p_star, lambdas)
    _, prec, rec = curve_np(T.prd_curve(sp, ss, lambdas))
    np.testing.assert_allclose(prec, alpha, rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(rec, alpha / lambdas, rtol=RTOL, atol=ATOL)
    _, prec, rec = curve_np(T.prd_curve(sp, ss))
    # p(supp p*) = p(0,0) + p(1,0) = 0.4 and p*(supp p) = p*(0,0) + p*(1,0) = 0.5;
    # the breakpoints are 0.1/0.25 = 0.4 and 0.3/0.25 = 1.2.
    np.testing.assert_allclose(prec[[0, -1]], [0.0, 0.4], atol=ATOL)
    np.testing.assert_allclose(rec[[0, -1]], [0.5, 0.0], atol=ATOL)
    np.testing.assert_allclose(float(T.precision(sp, ss)), 0.4, atol=ATOL)
    np.testing.assert_allclose(float(T.recall(sp, ss)), 0.5, atol=ATOL)
    at = np.isin(np.asarray(T.prd_curve(sp, ss).lambdas), [0.4, 1.2])
    assert at.sum() == 2
    np.testing.assert_allclose(prec[at], alpha_direct(p, p_star, [0.4, 1.2]), atol=ATOL)


# --------------------------------------------------------------------------------------
# The angle grid, against Sajjadi's code.


@settings(max_examples=20)
@given(tst.pmf_pairs(SHAPE))
def test_grid_matches_compute_prd(pair):
    p, p_star = pair
    for kwargs in ({}, {"num_angles": 3, "epsilon": 0.05}, {"num_angles": 17}):
        slopes, prec, rec = compute_prd(p, p_star, **kwargs)
        lam, gprec, grec = curve_np(
            T.prd_curve_grid(jnp.asarray(p), jnp.asarray(p_star), **kwargs)
        )
        np.testing.assert_allclose(lam, slopes, rtol=RTOL)
        np.testing.assert_allclose(gprec, prec, rtol=RTOL, atol=1e-15)
        np.testing.assert_allclose(grec, rec, rtol=RTOL, atol=1e-15)


@settings(max_examples=20)
@given(tst.pmf_pairs(SHAPE))
def test_exact_max_f_beta_dominates_grids(pair):
    """Max F_beta over the breakpoints >= max over any grid of slopes (exactness).

    F_beta is monotone between breakpoints, so no slope beats the breakpoints; the
    exact maximum also equals the maximum over breakpoints computed by brute force.
    """
    p, p_star = pair
    args = jnp.asarray(p), jnp.asarray(p_star)
    exact = T.prd_curve(*args)
    grid = T.prd_curve_grid(*args)
    fine = np.logspace(-9, 9, 100_001)
    alpha = alpha_direct(p, p_star, fine)
    dp, ds = bf.as_dict(p), bf.as_dict(p_star)
    both = (p > 0) & (p_star > 0)
    ratios = sorted(set((p[both] / p_star[both]).tolist()))
    bf_alpha = [bf.prd_alpha(dp, ds, r) for r in ratios]
    bf_prec = [0.0, *bf_alpha, math.fsum(p[p_star > 0].tolist())]
    bf_rec = [
        math.fsum(p_star[p > 0].tolist()),
        *(a / r for a, r in zip(bf_alpha, ratios, strict=True)),
        0.0,
    ]
    for beta in (8.0, 1.0):
        exact_pair = [float(v) for v in T.max_f_beta_pair(exact, beta)]
        grid_pair = [float(v) for v in T.max_f_beta_pair(grid, beta)]
        for k, b in enumerate((beta, 1.0 / beta)):
            fine_max = np.max(f_beta_reference(alpha, alpha / fine, b))
            bf_max = np.max(f_beta_reference(bf_prec, bf_rec, b))
            assert exact_pair[k] >= grid_pair[k] - 1e-12
            assert exact_pair[k] >= fine_max - 1e-12
            np.testing.assert_allclose(exact_pair[k], bf_max, rtol=RTOL, atol=ATOL)


def test_max_f_beta_pair_matches_reference():
    prec = np.array([0.0, 0.3, 0.6, 0.9, 1.0])
    rec = np.array([1.0, 0.9, 0.7, 0.2, 0.0])
    curve = T.PRDCurve(jnp.arange(5.0), jnp.asarray(prec), jnp.asarray(rec))
    f8, f18 = T.max_f_beta_pair(curve)
    np.testing.assert_allclose(
        float(f8), f_beta_reference(prec, rec, 8).max(), rtol=RTOL
    )
    np.testing.assert_allclose(
        float(f18), f_beta_reference(prec, rec, 1 / 8).max(), rtol=RTOL
    )


@pytest.mark.parametrize(
    ("prec", "rec", "beta", "expected"),
    [
        (1.0, 1.0, 8.0, 1.0),
        (0.0, 0.0, 1.0, 0.0),
        (0.5, 1.0, 1.0, 2 / 3),
        (0.5, 0.25, 2.0, 5 * 0.125 / (4 * 0.5 + 0.25)),
        (0.0, 1.0, 1.0, 0.0),
    ],
)
def test_f_beta_values(prec, rec, beta, expected):
    np.testing.assert_allclose(float(T.f_beta(prec, rec, beta)), expected, rtol=RTOL)


# --------------------------------------------------------------------------------------
# Arguments.


P = jnp.array([0.5, 0.5, 0.0])
Q = jnp.array([0.25, 0.25, 0.5])


@pytest.mark.parametrize("num_angles", [2, 0, -5, 10**6 + 1])
def test_bad_num_angles(num_angles):
    with pytest.raises(ValueError, match="num_angles"):
        T.prd_curve_grid(P, Q, num_angles=num_angles)


def test_num_angles_must_be_an_int():
    with pytest.raises(TypeError, match="num_angles"):
        T.prd_curve_grid(P, Q, num_angles=10.0)


@pytest.mark.parametrize("epsilon", [0.0, -1e-10, 0.1, 0.5, math.nan])
def test_bad_epsilon(epsilon):
    with pytest.raises(ValueError, match="epsilon"):
        T.prd_curve_grid(P, Q, epsilon=epsilon)


@pytest.mark.parametrize("lambdas", [[0.0], [1.0, -1.0], [math.nan], [-math.inf, 1.0]])
def test_nonpositive_lambdas(lambdas):
    with pytest.raises(ValueError, match="lambdas"):
        T.prd_curve(P, Q, lambdas=jnp.asarray(lambdas))


def test_infinite_lambda_is_rejected_or_gives_the_endpoint():
    """Lambda = inf passes the positivity check; it must not silently give NaN.

    Either it is refused like the other invalid slopes, or it yields the limit
    (precision, recall) = (p(supp p*), 0) that `lambdas=None` reports.
    """
    try:
        curve = T.prd_curve(P, Q, lambdas=jnp.array([math.inf]))
    except ValueError:
        return
    np.testing.assert_allclose(
        [float(curve.precision[0]), float(curve.recall[0])], [0.5, 0.0], atol=ATOL
    )


@pytest.mark.parametrize("beta", [0.0, -1.0])
def test_bad_beta(beta):
    with pytest.raises(ValueError, match="beta"):
        T.max_f_beta_pair(T.prd_curve(P, Q), beta)
