"""Theorems as hypothesis properties: one theorem per test, stated in the docstring.

Left-hand sides come from the library, right-hand sides from independent NumPy /
SciPy / `bruteforce` computations wherever the theorem allows it. Inequalities get a
1e-12 slack; exact identities are compared at rtol = atol = 1e-12 in float64.
"""

import itertools
import math

import bruteforce as bf
import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from scipy.special import rel_entr

import trilemma as T
from trilemma import strategies as tst

SLACK = 1e-12
EXACT = {"rtol": 1e-12, "atol": 1e-12}

# JAX compiles once per (shape, index sets): draw joints from a small pool of shapes
# and run fewer examples of the joint-level theorems.
SHAPES = ((2, 3), (2, 2, 2), (3, 2, 2), (2, 2, 2, 2))
PAIR_CELLS = 6
JOINT_EXAMPLES = settings(max_examples=25)


@st.composite
def _joints(draw, min_outputs=1, max_given=2):
    """`(p, given)`: a dense joint with one of `SHAPES` and a prompt set `given`."""
    shape = draw(st.sampled_from([s for s in SHAPES if len(s) >= min_outputs]))
    p = draw(tst.joint_pmfs(shape))
    k = draw(st.integers(0, min(max_given, len(shape) - min_outputs)))
    return p, tuple(sorted(draw(st.permutations(range(len(shape))))[:k]))


def _sparse_joints():
    return st.sampled_from(SHAPES).flatmap(
        lambda shape: tst.sparse_joints(duplicates=True, sizes=shape)
    )


def _f(x) -> float:
    return float(np.asarray(x))


def _outputs(p, given_vars):
    return tuple(v for v in range(p.ndim) if v not in given_vars)


def _np_tv(p, q) -> float:
    return 0.5 * math.fsum(np.abs(np.asarray(p) - np.asarray(q)).ravel())


def _np_kl(p, q) -> float:
    return float(np.sum(rel_entr(np.asarray(p), np.asarray(q))))


def _np_marginal(p, j):
    return np.sum(p, axis=tuple(i for i in range(p.ndim) if i != j))


def _np_product(p):
    q = np.ones(())
    for j in range(p.ndim):
        q = np.multiply.outer(q, _np_marginal(p, j))
    return q


def _split(data, items, parts):
    """Draw an ordered split of `items` into `parts` non-empty consecutive blocks."""
    order = data.draw(st.permutations(items))
    cuts = sorted(
        data.draw(
            st.sets(
                st.integers(1, len(items) - 1), min_size=parts - 1, max_size=parts - 1
            )
        )
    )
    bounds = [0, *cuts, len(items)]
    return [tuple(sorted(order[a:b])) for a, b in itertools.pairwise(bounds)]


def _factorised_model(p, partition, given_vars, seed):
    r"""A random factorised model $Q(x)\prod_t\prod_{j\in S_t} q(y_j|x,s_{<t})$ (dense).

    The prompt marginal is $p(x)$; every conditional table is random (some entries 0).
    """
    rng = np.random.default_rng(seed)
    sizes = p.shape
    others = tuple(i for i in range(p.ndim) if i not in given_vars)
    q = np.broadcast_to(np.sum(p, axis=others, keepdims=True), sizes).copy()
    prefix = list(given_vars)
    for step in partition:
        for j in step:
            shape = [sizes[i] if (i in prefix or i == j) else 1 for i in range(p.ndim)]
            table = rng.uniform(0.05, 1.0, size=shape)
            table = np.where(rng.uniform(size=shape) < 0.1, 0.0, table)
            table = table + (np.sum(table, axis=j, keepdims=True) == 0)  # no empty rows
            q = q * (table / np.sum(table, axis=j, keepdims=True))
        prefix += list(step)
    return q


# ---------------------------------------------------------------------------
# Section 1: distances, the blog's split, PRD.


@given(tst.pmf_pairs(max_cells=PAIR_CELLS))
def test_blog_split_equals_tv(pair):
    r"""$L_{flu}(p,p^*) = L_{div}(p,p^*) = \mathrm{TV}(p,p^*) = \frac12\|p-p^*\|_1$.

    Hence the blog's "TVD = L_flu + L_div" holds only with TVD = $\|p-p^*\|_1 = 2\,$TV.
    """
    p, p_star = pair
    tv = _np_tv(p, p_star)
    np.testing.assert_allclose(_f(T.fluency_error(p, p_star)), tv, **EXACT)
    np.testing.assert_allclose(_f(T.diversity_error(p, p_star)), tv, **EXACT)
    np.testing.assert_allclose(_f(T.total_variation_distance(p, p_star)), tv, **EXACT)
    l1 = math.fsum(np.abs(p - p_star))
    np.testing.assert_allclose(
        _f(T.fluency_error(p, p_star)) + _f(T.diversity_error(p, p_star)), l1, **EXACT
    )


@given(tst.pmf_pairs(max_cells=PAIR_CELLS))
def test_prd_at_slope_one_is_one_minus_tv(pair):
    r"""$\alpha(1) = \beta(1) = \sum_x \min(p, p^*) = 1 - \mathrm{TV}(p, p^*)$."""
    p, p_star = pair
    curve = T.prd_curve(p, p_star, lambdas=np.array([1.0]))
    expected = 1 - _np_tv(p, p_star)
    np.testing.assert_allclose(_f(curve.precision[0]), expected, **EXACT)
    np.testing.assert_allclose(_f(curve.recall[0]), expected, **EXACT)


@given(tst.pmf_pairs(max_cells=PAIR_CELLS))
def test_prd_endpoints_are_support_masses(pair):
    r"""PRD endpoints: $\alpha(\infty) = p(S^*)$ and $\beta(0) = p^*(S)$.

    Here $S = \mathrm{supp}\,p$, $S^* = \mathrm{supp}\,p^*$,
    $\alpha(\infty) = \lim_{\lambda\to\infty}\alpha$ and
    $\beta(0) = \lim_{\lambda\to0}\beta$.

    The default exact curve starts at $(\lambda, \alpha, \beta) = (0, 0, \bar\beta)$ and
    ends at $(\infty, \bar\alpha, 0)$; `precision` / `recall` return the same limits.
    """
    p, p_star = pair
    max_precision = math.fsum(p[p_star > 0])
    max_recall = math.fsum(p_star[p > 0])
    curve = T.prd_curve(p, p_star)
    lam, alpha, beta = (np.asarray(a) for a in curve)
    assert lam[0] == 0 and np.isinf(lam[-1])
    np.testing.assert_allclose([alpha[0], beta[-1]], [0.0, 0.0], **EXACT)
    np.testing.assert_allclose(alpha[-1], max_precision, **EXACT)
    np.testing.assert_allclose(beta[0], max_recall, **EXACT)
    np.testing.assert_allclose(_f(T.precision(p, p_star)), max_precision, **EXACT)
    np.testing.assert_allclose(_f(T.recall(p, p_star)), max_recall, **EXACT)
    # The limits, approached along the frontier at extreme slopes.
    far = T.prd_curve(p, p_star, lambdas=np.array([1e-9, 1e9]))
    np.testing.assert_allclose(_f(far.recall[0]), max_recall, atol=1e-8)
    np.testing.assert_allclose(_f(far.precision[1]), max_precision, atol=1e-8)


@given(
    tst.pmf_pairs(max_cells=PAIR_CELLS),
    st.lists(st.floats(1e-3, 1e3), min_size=1, max_size=5),
)
def test_prd_swap_exchanges_precision_and_recall(pair, lambdas):
    r"""Swap: $\alpha_{p,p^*}(\lambda) = \beta_{p^*,p}(1/\lambda)$ for $\lambda > 0$.

    Likewise $\beta_{p,p^*}(\lambda) = \alpha_{p^*,p}(1/\lambda)$.

    With $\alpha_{p,p^*}(\lambda) = \sum\min(\lambda p^*, p)$ and
    $\beta_{p^*,p}(\mu) = \sum\min(p^*, p/\mu)$, put $\mu = 1/\lambda$.
    """
    p, p_star = pair
    lam = np.asarray(lambdas)
    forward = T.prd_curve(p, p_star, lambdas=lam)
    swapped = T.prd_curve(p_star, p, lambdas=1 / lam)
    np.testing.assert_allclose(
        forward.precision, swapped.recall, rtol=1e-12, atol=1e-12
    )
    np.testing.assert_allclose(
        forward.recall, swapped.precision, rtol=1e-12, atol=1e-12
    )


@given(tst.pmf_pairs(max_cells=7), st.floats(1e-2, 1e2))
def test_prd_alpha_is_likelihood_ratio_test(pair, lam):
    r"""Classifier view: $\alpha(\lambda) = \min_A [\lambda p^*(A) + p(A^c)]$.

    The exact curve's $\alpha(\lambda) = \sum_x \min(\lambda p^*, p)$ must equal the
    minimum over all $2^K$ regions $A$.
    """
    p, p_star = pair
    expected = bf.prd_alpha_classifier(bf.as_dict(p), bf.as_dict(p_star), lam)
    got = _f(T.prd_curve(p, p_star, lambdas=np.array([lam])).precision[0])
    np.testing.assert_allclose(got, expected, **EXACT)


@given(tst.pmf_pairs(max_cells=PAIR_CELLS))
def test_exact_prd_curve_lies_on_frontier(pair):
    r"""Breakpoints are on the curve $\alpha = \sum\min(\lambda p^*, p) = \lambda\beta$.

    Checked at every finite breakpoint $\lambda$ of the default exact curve.
    """
    p, p_star = pair
    lam, alpha, beta = (np.asarray(a) for a in T.prd_curve(p, p_star))
    d, d_star = bf.as_dict(p), bf.as_dict(p_star)
    for k in range(1, len(lam) - 1):
        expected = bf.prd_alpha(d, d_star, float(lam[k]))
        np.testing.assert_allclose(alpha[k], expected, **EXACT)
        np.testing.assert_allclose(beta[k], expected / lam[k], **EXACT)


@given(tst.pmf_pairs(max_cells=PAIR_CELLS), st.sampled_from([8.0, 2.0, 1.0]))
def test_exact_max_f_beta_dominates_grid(pair, beta):
    r"""$\max F_\beta$ over the exact breakpoints $\ge F_\beta$ anywhere on the curve.

    $F_\beta$ is monotone between breakpoints, so the grid of Sajjadi et al. (whose
    points lie on the same frontier) can never beat the exact maximum.
    """
    p, p_star = pair
    exact = T.max_f_beta_pair(T.prd_curve(p, p_star), beta)
    grid = T.max_f_beta_pair(T.prd_curve_grid(p, p_star, num_angles=201), beta)
    assert _f(exact[0]) >= _f(grid[0]) - SLACK
    assert _f(exact[1]) >= _f(grid[1]) - SLACK


@given(tst.pmf_pairs(max_cells=PAIR_CELLS))
def test_tv_bounds_support_errors(pair):
    r"""Support split: $\mathrm{TV}(p,p^*) \ge \max(E_{flu}, E_{div})$.

    $E_{flu} = 1-\bar\alpha = p(\Omega\setminus\mathrm{supp}\,p^*)$ and
    $E_{div} = 1-\bar\beta = p^*(\Omega\setminus\mathrm{supp}\,p)$.
    """
    p, p_star = pair
    tv = _f(T.total_variation_distance(p, p_star))
    e_flu = 1 - _f(T.precision(p, p_star))
    e_div = 1 - _f(T.recall(p, p_star))
    assert tv >= max(e_flu, e_div) - SLACK


@given(tst.pmf_pairs(max_cells=PAIR_CELLS))
def test_pinsker(pair):
    r"""Pinsker: $\mathrm{TV}(p,q) \le \sqrt{D_{KL}(p\|q)/2}$ (KL in nats)."""
    p, q = pair
    tv = _f(T.total_variation_distance(p, q))
    kl = _f(T.kl_divergence(p, q))
    np.testing.assert_allclose(kl, _np_kl(p, q), **EXACT)
    assert tv <= math.sqrt(kl / 2) + SLACK


# ---------------------------------------------------------------------------
# Section 2: total correlation and the T-step bound.


@JOINT_EXAMPLES
@given(_joints())
def test_total_correlation_bounds(sample):
    r"""$0 \le C(Y|X) \le \sum_i H(y_i|X) - \max_i H(y_i|X)$."""
    p, g = sample
    outputs = _outputs(p, g)
    tc = _f(T.total_correlation(p, given=g))
    d = bf.as_dict(p)
    cond = [bf.conditional_entropy(d, (v,), g) for v in outputs]
    assert tc >= -SLACK
    assert tc <= math.fsum(cond) - max(cond) + SLACK


@JOINT_EXAMPLES
@given(_joints())
def test_one_step_bound_is_total_correlation(sample):
    r"""Remark 1: $L_1(\{Y\}) = C(Y|X)$."""
    p, g = sample
    outputs = _outputs(p, g)
    np.testing.assert_allclose(
        _f(T.t_step_bound(p, (outputs,), given=g)),
        _f(T.total_correlation(p, given=g)),
        **EXACT,
    )


@JOINT_EXAMPLES
@given(_joints(), st.data())
def test_one_token_per_step_bound_is_zero(sample, data):
    r"""Remark 1: $L_{|Y|} = 0$ when every step decodes one token (any order)."""
    p, g = sample
    order = data.draw(st.permutations(_outputs(p, g)))
    bound = _f(T.t_step_bound(p, tuple((v,) for v in order), given=g))
    np.testing.assert_allclose(bound, 0.0, atol=1e-12)


@JOINT_EXAMPLES
@given(_joints(), st.data())
def test_t_step_bound_between_zero_and_tc(sample, data):
    r"""$0 \le L_T(\{S_t\}) \le C(Y|X)$ for every ordered partition $\{S_t\}$ of $Y$."""
    p, g = sample
    partition = data.draw(tst.ordered_partitions(_outputs(p, g)))
    bound = _f(T.t_step_bound(p, partition, given=g))
    assert bound >= -SLACK
    assert bound <= _f(T.total_correlation(p, given=g)) + SLACK


@JOINT_EXAMPLES
@given(_joints(), st.data(), st.integers(0, 2**32 - 1))
def test_theorem1_factorised_models_pay_at_least_l_t(sample, data, seed):
    r"""Theorem 1: $D_{KL}(P\|Q) \ge L_T$ for $Q$ factorised on $\{S_t\}$; $=$ at $Q^*$.

    $Q(x,y) = p(x)\prod_t\prod_{j\in S_t} q(y_j \mid x, s_{<t})$ with random tables $q$.
    """
    p, g = sample
    partition = data.draw(tst.ordered_partitions(_outputs(p, g)))
    bound = _f(T.t_step_bound(p, partition, given=g))
    q = _factorised_model(p, partition, g, seed)
    np.testing.assert_allclose(q.sum(), 1.0, rtol=1e-12)
    assert _np_kl(p, q) >= bound - SLACK
    q_star = np.asarray(T.t_step_product(p, partition, given=g))
    np.testing.assert_allclose(_np_kl(p, q_star), bound, **EXACT)


@JOINT_EXAMPLES
@given(_joints(), st.data())
def test_accuracy_of_q_star_at_least_two_to_minus_l_t(sample, data):
    r"""Jensen: $Q^*(\mathrm{supp}\,P) \ge e^{-D_{KL}(P\|Q^*)} = e^{-L_T}$ (nats)."""
    p, g = sample
    partition = data.draw(tst.ordered_partitions(_outputs(p, g)))
    q_star = np.asarray(T.t_step_product(p, partition, given=g))
    accuracy = math.fsum(q_star[p > 0])
    assert accuracy >= math.exp(-_f(T.t_step_bound(p, partition, given=g))) - SLACK


@JOINT_EXAMPLES
@given(_joints())
def test_theorem2_optimal_bound_non_increasing(sample):
    r"""Theorem 2 / Remark 2: $C(Y|X) = L^*_1 \ge L^*_2 \ge \dots \ge L^*_{|Y|} = 0$."""
    p, g = sample
    n = len(_outputs(p, g))
    values = [_f(T.optimal_t_step_bound(p, t, given=g).bound) for t in range(1, n + 1)]
    np.testing.assert_allclose(values[0], _f(T.total_correlation(p, given=g)), **EXACT)
    np.testing.assert_allclose(values[-1], 0.0, atol=1e-12)
    for before, after in itertools.pairwise(values):
        assert after <= before + SLACK


@JOINT_EXAMPLES
@given(_joints(min_outputs=2), st.data())
def test_lemma1_total_correlation_superadditive(sample, data):
    r"""Lemma 1: $C(A\cup B \mid Z) \ge C(A \mid Z) + \mathbb{E}_A[C(B \mid Z, A)]$."""
    p, z = sample
    a, b = _split(data, _outputs(p, z), 2)
    whole = _f(T.total_correlation(p, a + b, given=z))
    first = _f(T.total_correlation(p, a, given=z))
    second = _f(T.total_correlation(p, b, given=tuple(sorted(z + a))))
    assert whole >= first + second - SLACK


@JOINT_EXAMPLES
@given(_joints(min_outputs=2), st.data())
def test_lemma1_slack_is_mutual_information(sample, data):
    r"""Lemma 1 slack: $C(A\cup B|Z) - C(A|Z) - C(B|Z,A) = \sum_{y\in B} I(y; A|Z)$."""
    p, z = sample
    a, b = _split(data, _outputs(p, z), 2)
    gap = (
        _f(T.total_correlation(p, a + b, given=z))
        - _f(T.total_correlation(p, a, given=z))
        - _f(T.total_correlation(p, b, given=tuple(sorted(z + a))))
    )
    d = bf.as_dict(p)
    expected = math.fsum(bf.mutual_information(d, (y,), a, z) for y in b)
    np.testing.assert_allclose(gap, expected, **EXACT)


@JOINT_EXAMPLES
@given(_joints(min_outputs=2), st.data())
def test_chain_rule_of_entropy(sample, data):
    r"""Chain rule: $H(A, B \mid Z) = H(A \mid Z) + H(B \mid Z, A)$."""
    p, z = sample
    a, b = _split(data, _outputs(p, z), 2)
    whole = _f(T.conditional_entropy(p, a + b, given=z))
    parts = _f(T.conditional_entropy(p, a, given=z)) + _f(
        T.conditional_entropy(p, b, given=tuple(sorted(z + a)))
    )
    np.testing.assert_allclose(whole, parts, **EXACT)
    np.testing.assert_allclose(
        whole, bf.conditional_entropy(bf.as_dict(p), a + b, z), **EXACT
    )


@JOINT_EXAMPLES
@given(_joints(min_outputs=3), st.data())
def test_chain_rule_of_mutual_information(sample, data):
    r"""Chain rule: $I(A; B, C \mid Z) = I(A; B \mid Z) + I(A; C \mid Z, B)$."""
    p, z = sample
    a, b, c = _split(data, _outputs(p, z), 3)
    whole = _f(T.mutual_information(p, a, b + c, given=z))
    parts = _f(T.mutual_information(p, a, b, given=z)) + _f(
        T.mutual_information(p, a, c, given=tuple(sorted(z + b)))
    )
    np.testing.assert_allclose(whole, parts, **EXACT)
    d = bf.as_dict(p)
    np.testing.assert_allclose(whole, bf.mutual_information(d, a, b + c, z), **EXACT)


@JOINT_EXAMPLES
@given(st.sampled_from(SHAPES).flatmap(tst.joint_pmfs), st.integers(0, 2**32 - 1))
def test_marginal_product_is_best_product(p, seed):
    r"""$\min_{q = \prod_j q_j} D_{KL}(p\|q) = C(p)$, attained at $q = \prod_j p_j$."""
    rng = np.random.default_rng(seed)
    other = np.ones(())
    for k in p.shape:
        other = np.multiply.outer(other, rng.dirichlet(np.ones(k)))
    tc = _f(T.total_correlation(p))
    np.testing.assert_allclose(_np_kl(p, _np_product(p)), tc, **EXACT)
    assert _np_kl(p, other) >= tc - SLACK


# ---------------------------------------------------------------------------
# Section 3: Fast-dLLM Theorem 1.

FAST_DLLM_EXAMPLES = settings(max_examples=30)


def _high_confidence():
    """`(p, x_star)` from `tst.high_confidence_joints`, without subnormal cells.

    A cell of 1e-311 has marginals whose product underflows to 0, which would make
    KL(p || q) infinite for a reason that has nothing to do with the theorem.
    """
    return tst.high_confidence_joints().filter(lambda s: s[0][s[0] > 0].min() > 1e-100)


@FAST_DLLM_EXAMPLES
@given(_high_confidence())
def test_fast_dllm_tv_bound(sample):
    r"""Fast-dLLM Thm 1: $\mathrm{TV}(p, \prod_j p_j) \le \frac{3n-1}{2}\epsilon_0$.

    Here $\epsilon_0 = \max_j(1-p_j(x^*_j))$, the least $\epsilon$ of the hypothesis.
    """
    p, x_star = sample
    tv = _f(T.total_variation_distance(p, T.product_of_marginals(p)))
    eps0 = max(1 - _np_marginal(p, j)[v] for j, v in enumerate(x_star))
    np.testing.assert_allclose(_f(T.fast_dllm_epsilon(p, x_star)), eps0, **EXACT)
    assert tv <= (3 * p.ndim - 1) / 2 * eps0 + SLACK


@FAST_DLLM_EXAMPLES
@given(_high_confidence())
def test_sharper_tv_bound(sample):
    r"""$\mathrm{TV}(p,q) \le \max(p(X\ne x^*), q(X\ne x^*)) \le \sum_j\epsilon'_j$.

    With $\epsilon'_j = 1-p_j(x^*_j)$ and $\sum_j\epsilon'_j \le n\epsilon_0$.
    """
    p, x_star = sample
    q = _np_product(p)
    tv = _f(T.total_variation_distance(p, T.product_of_marginals(p)))
    miss = max(1 - p[x_star], 1 - q[x_star])
    errors = [1 - _np_marginal(p, j)[v] for j, v in enumerate(x_star)]
    sharper = _f(T.sharper_tv_bound(p, x_star))
    np.testing.assert_allclose(sharper, math.fsum(errors), **EXACT)
    assert tv <= miss + SLACK
    assert miss <= sharper + SLACK
    assert sharper <= p.ndim * max(errors) + SLACK


@FAST_DLLM_EXAMPLES
@given(_high_confidence())
def test_fast_dllm_greedy_equivalence(sample):
    r"""Fast-dLLM: $(n+1)\epsilon_0 < 1 \Rightarrow \arg\max p = \arg\max q = x^*$."""
    p, x_star = sample
    eps0 = max(1 - _np_marginal(p, j)[v] for j, v in enumerate(x_star))
    assume((p.ndim + 1) * eps0 < 1 - 1e-9)
    assert T.greedy_equivalence_condition(p.ndim, eps0)
    q = np.asarray(T.product_of_marginals(p))
    np.testing.assert_allclose(q, _np_product(p), **EXACT)
    for joint in (p, q):
        others = np.delete(joint.ravel(), np.ravel_multi_index(x_star, joint.shape))
        assert joint[x_star] > others.max(initial=0.0)


@FAST_DLLM_EXAMPLES
@given(_high_confidence())
def test_fast_dllm_kl_bound(sample):
    r"""Fast-dLLM: $D_{KL}(p\|q) \le (n-1)(H_b(\epsilon_0) + \epsilon_0\ln(|V|-1))$.

    Here $q = \prod_j p_j$, $|V|$ is the largest alphabet and $\epsilon_0 \le 0.3 \le
    (|V|-1)/|V|$, where the bound increases in $\epsilon$. Beyond $(|V|-1)/|V|$ the
    bound is false (`test_fast_dllm.py::test_kl_bound_fails_beyond_v_minus_one_over_v`).
    """
    p, x_star = sample
    vocab = max(p.shape)
    eps0 = max(1 - _np_marginal(p, j)[v] for j, v in enumerate(x_star))
    kl = _f(T.kl_divergence(p, T.product_of_marginals(p)))
    np.testing.assert_allclose(kl, _np_kl(p, _np_product(p)), **EXACT)
    closed = (p.ndim - 1) * (bf.binary_entropy(eps0) + eps0 * math.log(vocab - 1))
    np.testing.assert_allclose(
        _f(T.fast_dllm_kl_bound(p.ndim, eps0, vocab)), closed, **EXACT
    )
    assert kl <= closed + SLACK


# ---------------------------------------------------------------------------
# Section 4: two representations, two algorithms.


def _np_dense(sparse):
    out = np.zeros(sparse.sizes)
    np.add.at(out, tuple(np.asarray(sparse.outcomes).T), np.asarray(sparse.probs))
    return out


@settings(max_examples=15)
@given(_sparse_joints(), st.data())
def test_sparse_with_duplicates_equals_dense(sp, data):
    r"""$C$, $H$ and $L_T$ of a sparse joint with split rows equal the dense values."""
    dense = _np_dense(sp)
    d = dense.ndim
    k = data.draw(st.integers(0, min(2, d - 1)))
    g = tuple(sorted(data.draw(st.permutations(range(d)))[:k]))
    partition = data.draw(tst.ordered_partitions(_outputs(dense, g)))
    np.testing.assert_allclose(
        _f(T.total_correlation(sp, given=g)),
        _f(T.total_correlation(dense, given=g)),
        **EXACT,
    )
    np.testing.assert_allclose(
        _f(T.t_step_bound(sp, partition, given=g)),
        _f(T.t_step_bound(dense, partition, given=g)),
        **EXACT,
    )
    np.testing.assert_allclose(_f(T.entropy(sp)), _f(T.entropy(dense)), **EXACT)


@JOINT_EXAMPLES
@given(_sparse_joints(), st.data())
def test_lattice_and_grouping_agree(sp, data):
    r"""$L^*_T$ by dense lattice $=$ $L^*_T$ by sparse grouping; schedules attain it."""
    dense = _np_dense(sp)
    d = dense.ndim
    k = data.draw(st.integers(0, min(2, d - 1)))
    g = tuple(sorted(data.draw(st.permutations(range(d)))[:k]))
    n = d - k
    steps = data.draw(st.integers(1, n))
    lattice = T.optimal_t_step_bound(dense, steps, given=g, method="lattice")
    grouping = T.optimal_t_step_bound(sp, steps, given=g, method="grouping")
    np.testing.assert_allclose(_f(lattice.bound), _f(grouping.bound), **EXACT)
    for result in (lattice, grouping):
        assert len(result.schedule) == steps
        again = _f(T.t_step_bound(dense, result.schedule, given=g))
        np.testing.assert_allclose(again, _f(result.bound), **EXACT)


@pytest.mark.parametrize("method", ["lattice", "grouping"])
def test_subset_entropy_table_matches_bruteforce(method):
    rng = np.random.default_rng(0)
    p = rng.dirichlet(np.ones(24)).reshape(2, 3, 2, 2)
    table = np.asarray(T.subset_entropy_table(p, (1, 2, 3), (0,), method=method))
    d = bf.as_dict(p)
    for mask in range(8):
        subset = [0] + [v for j, v in enumerate((1, 2, 3)) if mask >> j & 1]
        np.testing.assert_allclose(table[mask], bf.entropy(d, subset), **EXACT)
