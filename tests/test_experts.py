"""APD's product of experts and the autoregressive stand-in, against plain references.

References are written here with NumPy, `itertools` and Python floats; nothing is
shared with `trilemma.experts`.
"""

import io
import itertools
import math

import jax
import jax.numpy as jnp
import matplotlib
import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from scipy.special import rel_entr

import trilemma as T
from trilemma import plotting
from trilemma import strategies as tst

matplotlib.use("Agg")

EXACT = {"rtol": 1e-12, "atol": 1e-15}
SLACK = 1e-12
WEIGHTS = (0.0, 0.1, 0.25, 0.5, 0.75, 0.9, 1.0)


def _f(x) -> float:
    return float(np.asarray(x))


def _random_pmf(rng, shape, zeros=0.0):
    p = rng.dirichlet(np.ones(math.prod(shape))).reshape(shape)
    if zeros:
        p = np.where(rng.random(shape) < zeros, 0.0, p)
        p.flat[rng.integers(p.size)] += 0.1  # at least one positive cell
        p = p / p.sum()
    return p


def _np_poe(p, q, r):
    """Normalised elementwise p^r q^(1-r) with 0^0 = 1, from the definition."""
    p, q = np.asarray(p, float), np.asarray(q, float)
    with np.errstate(divide="ignore"):
        a = p**r if r > 0 else np.ones_like(p)
        b = q ** (1 - r) if r < 1 else np.ones_like(q)
    w = a * b
    return w / w.sum()


# ---------------------------------------------------------------------------
# product_of_experts


@pytest.mark.parametrize("shape", [(5,), (3, 4), (2, 3, 2)])
@pytest.mark.parametrize("weight", WEIGHTS)
def test_poe_matches_numpy(shape, weight):
    rng = np.random.default_rng(hash((shape, weight)) % 2**32)
    p, q = _random_pmf(rng, shape, 0.25), _random_pmf(rng, shape, 0.25)
    if 0 < weight < 1 and not ((p > 0) & (q > 0)).any():
        pytest.skip("disjoint supports")
    got = T.product_of_experts(jnp.asarray(p), jnp.asarray(q), weight)
    assert got.shape == shape
    np.testing.assert_allclose(got, _np_poe(p, q, weight), **EXACT)


def test_poe_endpoints_ignore_the_other_experts_zeros():
    """R = 1 gives p_D even where p_AR = 0 (0^0 = 1); R = 0 gives p_AR likewise."""
    p_d = np.array([0.5, 0.3, 0.2, 0.0])
    p_ar = np.array([0.0, 0.1, 0.6, 0.3])
    np.testing.assert_allclose(T.product_of_experts(p_d, p_ar, 1.0), p_d, **EXACT)
    np.testing.assert_allclose(T.product_of_experts(p_d, p_ar, 0.0), p_ar, **EXACT)
    np.testing.assert_allclose(T.product_of_experts(p_d, p_ar, 1), p_d, **EXACT)


@pytest.mark.parametrize("weight", [1e-9, 0.3, 0.5, 1 - 1e-9])
def test_poe_support_is_the_intersection_inside(weight):
    p_d = np.array([0.5, 0.3, 0.2, 0.0, 0.0])
    p_ar = np.array([0.0, 0.1, 0.6, 0.3, 0.0])
    p_t = np.asarray(T.product_of_experts(p_d, p_ar, weight))
    np.testing.assert_array_equal(p_t > 0, (p_d > 0) & (p_ar > 0))
    np.testing.assert_allclose(p_t.sum(), 1.0, **EXACT)


def test_poe_recall_is_at_most_both_experts():
    """For 0 < R < 1, p*(supp p_T) <= min(p*(supp p_D), p*(supp p_AR))."""
    rng = np.random.default_rng(7)
    for _ in range(20):
        p_star, p_d, p_ar = (_random_pmf(rng, (8,), 0.3) for _ in range(3))
        if not ((p_d > 0) & (p_ar > 0)).any():
            continue
        p_t = T.product_of_experts(p_d, p_ar, 0.4)
        bound = min(_f(T.recall(p_d, p_star)), _f(T.recall(p_ar, p_star)))
        assert _f(T.recall(p_t, p_star)) <= bound + SLACK


@pytest.mark.parametrize("weight", WEIGHTS)
def test_poe_of_equal_experts_is_that_expert(weight):
    p = _random_pmf(np.random.default_rng(1), (3, 3), 0.3)
    np.testing.assert_allclose(T.product_of_experts(p, p, weight), p, **EXACT)


@pytest.mark.parametrize("weight", WEIGHTS)
def test_poe_symmetry(weight):
    """PoE(p, q, R) = PoE(q, p, 1 - R)."""
    rng = np.random.default_rng(2)
    p, q = _random_pmf(rng, (6,), 0.2), _random_pmf(rng, (6,), 0.2)
    q[0] = p[0] = 0.0
    p[1] += 0.2
    q[1] += 0.2
    p, q = p / p.sum(), q / q.sum()
    np.testing.assert_allclose(
        T.product_of_experts(p, q, weight),
        T.product_of_experts(q, p, 1 - weight),
        **EXACT,
    )


def test_poe_of_disagreeing_experts_can_raise_entropy():
    """The blog's 'inherently reduces diversity' needs a qualifier for entropy.

    (0.9, 0.1) and (0.1, 0.9) at R = 1/2 give (1/2, 1/2): 1 bit, above both experts'
    0.469 bits.
    """
    p_d, p_ar = np.array([0.9, 0.1]), np.array([0.1, 0.9])
    p_t = T.product_of_experts(p_d, p_ar, 0.5)
    np.testing.assert_allclose(p_t, [0.5, 0.5], **EXACT)
    h = _f(T.to_bits(T.entropy(p_t)))
    assert h > max(_f(T.to_bits(T.entropy(p))) for p in (p_d, p_ar)) + 0.5


def _objective(r, p_d, p_ar, weight):
    """R KL(r||p_D) + (1-R) KL(r||p_AR) in nats, with SciPy; 0 * inf = 0."""
    terms = []
    for w, q in ((weight, p_d), (1 - weight, p_ar)):
        if w > 0:
            terms.append(w * float(np.sum(rel_entr(r, q))))
    return math.fsum(terms)


@given(
    tst.pmf_pairs(max_cells=6),
    st.floats(0.0, 1.0),
    st.lists(st.floats(0.0, 1.0), min_size=6, max_size=6),
)
def test_poe_minimises_the_weighted_kl(pair, weight, raw):
    r"""Geometric mixtures are KL barycentres.

    For $R \in [0, 1]$ and $p_T = p_D^R p_{AR}^{1-R} / Z$,
    $$R\,D(r\|p_D) + (1-R)\,D(r\|p_{AR}) = -\log Z + D(r\|p_T)$$
    for every pmf $r$ on $\mathrm{supp}\,p_T$, so $p_T$ is the unique minimiser over
    all $r$ and the minimum is $-\log Z \ge 0$, with
    $Z = \sum_x p_D(x)^R p_{AR}(x)^{1-R}$ (and $0^0 = 1$).
    """
    p_d, p_ar = pair
    assume(weight in (0.0, 1.0) or ((p_d > 0) & (p_ar > 0)).any())
    p_t = np.asarray(T.product_of_experts(jnp.asarray(p_d), jnp.asarray(p_ar), weight))
    with np.errstate(divide="ignore"):
        a = p_d**weight if weight > 0 else np.ones_like(p_d)
        b = p_ar ** (1 - weight) if weight < 1 else np.ones_like(p_ar)
    log_z = math.log(math.fsum((a * b).ravel()))
    at_optimum = _objective(p_t, p_d, p_ar, weight)
    np.testing.assert_allclose(at_optimum, -log_z, rtol=1e-10, atol=1e-12)
    assert -log_z >= -SLACK

    r = np.asarray(raw[: p_d.size], float).reshape(p_d.shape)
    assume(r.sum() > 0)
    r = r / r.sum()
    assert at_optimum <= _objective(r, p_d, p_ar, weight) + SLACK
    # The Pythagorean identity, for r inside supp p_T.
    r_in = np.where(p_t > 0, r + p_t, 0.0)
    r_in = r_in / r_in.sum()
    np.testing.assert_allclose(
        _objective(r_in, p_d, p_ar, weight),
        -log_z + float(np.sum(rel_entr(r_in, p_t))),
        rtol=1e-9,
        atol=1e-12,
    )


def test_poe_jit_vmap_dtype_and_gradients():
    rng = np.random.default_rng(3)
    p = jnp.asarray(_random_pmf(rng, (2, 3), 0.3))
    q = jnp.asarray(_random_pmf(rng, (2, 3), 0.0))
    weights = jnp.linspace(0.0, 1.0, 7)
    eager = [T.product_of_experts(p, q, float(w)) for w in weights]
    batched = jax.vmap(T.product_of_experts, in_axes=(None, None, 0))(p, q, weights)
    jitted = jax.jit(T.product_of_experts)
    for i, w in enumerate(weights):
        np.testing.assert_allclose(batched[i], eager[i], **EXACT)
        np.testing.assert_allclose(jitted(p, q, w), eager[i], **EXACT)
    p32 = T.product_of_experts(p.astype(jnp.float32), q.astype(jnp.float32), 0.5)
    assert p32.dtype == jnp.float32

    def loss(p_d, p_ar, w):
        return jnp.sum(
            T.product_of_experts(p_d, p_ar, w) * jnp.arange(6.0).reshape(2, 3)
        )

    grads = jax.grad(loss, argnums=(0, 1, 2))(p, q, 0.4)
    assert all(bool(jnp.all(jnp.isfinite(g))) for g in grads)


# ---------------------------------------------------------------------------
# autoregressive_model


def _bf_truncate(c: dict, top_p: float) -> dict:
    """Nucleus by sorting: whole tie groups of most likely tokens until >= top_p."""
    if top_p >= 1:
        return dict(c)
    kept: dict = {}
    ranked = sorted(c.items(), key=lambda kv: -kv[1])
    for value, group in itertools.groupby(ranked, key=lambda kv: kv[1]):
        if math.fsum(kept.values()) >= top_p:
            break
        kept.update((token, value) for token, _ in group)
    total = math.fsum(kept.values())
    return {t: kept.get(t, 0.0) / total for t in c}


def _bf_autoregressive(p, temperature, top_p):
    """The left-to-right law, one sequence at a time, with Python floats."""
    p = np.asarray(p, float)
    shape = p.shape
    out = np.zeros(shape)
    for x in itertools.product(*(range(k) for k in shape)):
        prob = 1.0
        for i in range(len(shape)):
            prefix = x[:i]
            rest = tuple(range(i + 1, len(shape)))
            block = (
                p[prefix].sum(axis=tuple(a - i for a in rest)) if rest else p[prefix]
            )
            total = math.fsum(np.ravel(block))
            if total > 0:
                cond = {v: float(block[v]) / total for v in range(shape[i])}
            else:
                cond = {v: 1.0 / shape[i] for v in range(shape[i])}
            powered = {v: c ** (1.0 / temperature) for v, c in cond.items()}
            z = math.fsum(powered.values())
            cond = {v: c / z for v, c in powered.items()}
            prob *= _bf_truncate(cond, top_p)[x[i]]
        out[x] = prob
    return out


@pytest.mark.parametrize("shape", [(4,), (3, 3), (2, 3, 2), (2, 2, 2, 2)])
@pytest.mark.parametrize(
    ("temperature", "top_p"), [(1.0, 1.0), (0.7, 0.9), (1.6, 0.75), (0.35, 1.0)]
)
def test_autoregressive_matches_brute_force(shape, temperature, top_p):
    rng = np.random.default_rng(sum(shape) * 31 + int(100 * temperature * top_p))
    p = _random_pmf(rng, shape, 0.3)
    got = T.autoregressive_model(p, temperature=temperature, top_p=top_p)
    np.testing.assert_allclose(got, _bf_autoregressive(p, temperature, top_p), **EXACT)


def test_autoregressive_defaults_return_p():
    p = _random_pmf(np.random.default_rng(4), (3, 2, 4), 0.4)
    np.testing.assert_allclose(T.autoregressive_model(p), p, **EXACT)
    np.testing.assert_allclose(
        T.autoregressive_model(p, temperature=1.0, top_p=1.0), p, **EXACT
    )


@pytest.mark.parametrize("temperature", [0.5, 1.0, 3.0])
def test_tiny_top_p_is_greedy(temperature):
    rng = np.random.default_rng(5)
    p = rng.dirichlet(np.ones(3 * 4 * 2)).reshape(3, 4, 2)  # no ties (a.s.)
    x = []
    for _ in range(p.ndim):
        block = p[tuple(x)]
        marg = block.sum(axis=tuple(range(1, block.ndim))) if block.ndim > 1 else block
        x.append(int(np.argmax(marg)))
    expected = np.zeros_like(p)
    expected[tuple(x)] = 1.0
    got = T.autoregressive_model(p, temperature=temperature, top_p=1e-6)
    np.testing.assert_array_equal(np.asarray(got), expected)


def test_top_p_keeps_ties_together():
    p = np.array([0.4, 0.4, 0.2])
    got = T.autoregressive_model(p, top_p=0.1)
    np.testing.assert_allclose(got, [0.5, 0.5, 0.0], **EXACT)
    # Mass 0.8 of the tied pair reaches 0.75, so the third token goes.
    np.testing.assert_allclose(T.autoregressive_model(p, top_p=0.75), [0.5, 0.5, 0])
    np.testing.assert_allclose(T.autoregressive_model(p, top_p=0.85), p, **EXACT)


def test_top_p_boundary_reached_exactly():
    """Mass exactly top_p is enough: (1/2, 1/4, 1/4) at top_p = 1/2 keeps one token."""
    p = np.array([0.5, 0.25, 0.25])
    np.testing.assert_array_equal(T.autoregressive_model(p, top_p=0.5), [1, 0, 0])
    np.testing.assert_allclose(T.autoregressive_model(p, top_p=0.5 + 1e-9), p)


def test_autoregressive_never_adds_support_and_sharpens_one_token():
    p = np.array([0.5, 0.3, 0.15, 0.05, 0.0])
    q = np.asarray(T.autoregressive_model(p, temperature=0.7, top_p=0.9))
    assert np.all(q[p == 0] == 0)
    assert _f(T.entropy(q)) < _f(T.entropy(p))


def test_autoregressive_dtype_jit_and_grad():
    p = jnp.asarray(_random_pmf(np.random.default_rng(6), (2, 3), 0.3))
    q32 = T.autoregressive_model(p.astype(jnp.float32), temperature=0.7, top_p=0.9)
    assert q32.dtype == jnp.float32
    jitted = jax.jit(lambda a: T.autoregressive_model(a, temperature=0.7, top_p=0.9))
    np.testing.assert_allclose(
        jitted(p), T.autoregressive_model(p, temperature=0.7, top_p=0.9), **EXACT
    )
    grad = jax.grad(lambda a: T.autoregressive_model(a, temperature=0.7)[0, 0])(p)
    assert bool(jnp.all(jnp.isfinite(grad)))


# ---------------------------------------------------------------------------
# errors


def test_poe_rejects_bad_arguments():
    p, q = np.array([0.5, 0.5]), np.array([0.2, 0.3, 0.5])
    with pytest.raises(ValueError, match="same shape"):
        T.product_of_experts(p, q, 0.5)
    for bad in (-0.1, 1.5, float("nan"), float("inf")):
        with pytest.raises(ValueError, match="`weight`"):
            T.product_of_experts(p, p, bad)
    with pytest.raises(ValueError, match="`weight` must be a scalar"):
        T.product_of_experts(p, p, np.array([0.5, 0.5]))
    with pytest.raises(TypeError, match="`weight`"):
        T.product_of_experts(p, p, True)
    with pytest.raises(ValueError, match="`p_ar` sums to"):
        T.product_of_experts(p, np.array([0.5, 0.6]), 0.5)
    with pytest.raises(TypeError, match="same dtype"):
        T.product_of_experts(p, np.array([0.5, 0.5], np.float32), 0.5)


def test_poe_disjoint_supports():
    p_d, p_ar = np.array([1.0, 0.0]), np.array([0.0, 1.0])
    with pytest.raises(ValueError, match="disjoint supports"):
        T.product_of_experts(p_d, p_ar, 0.5)
    np.testing.assert_array_equal(T.product_of_experts(p_d, p_ar, 1.0), p_d)
    np.testing.assert_array_equal(T.product_of_experts(p_d, p_ar, 0.0), p_ar)


@pytest.mark.parametrize("temperature", [0.0, -1.0, float("inf"), float("nan")])
def test_autoregressive_rejects_bad_temperature(temperature):
    with pytest.raises(ValueError, match="`temperature`"):
        T.autoregressive_model(np.array([0.5, 0.5]), temperature=temperature)


@pytest.mark.parametrize("top_p", [0.0, -0.2, 1.5, float("nan")])
def test_autoregressive_rejects_bad_top_p(top_p):
    with pytest.raises(ValueError, match="`top_p`"):
        T.autoregressive_model(np.array([0.5, 0.5]), top_p=top_p)


def test_autoregressive_rejects_scalars_and_non_pmfs():
    with pytest.raises(ValueError, match="`p` must have at least 1 axis"):
        T.autoregressive_model(np.array(1.0))
    with pytest.raises(ValueError, match="negative"):
        T.autoregressive_model(np.array([1.5, -0.5]))
    with pytest.raises(TypeError, match="`temperature`"):
        T.autoregressive_model(np.array([0.5, 0.5]), temperature="hot")


# ---------------------------------------------------------------------------
# figure smoke test


def _poe_row(title, below):
    weights = np.linspace(0, 1, 11)
    ratio = 0.8 - (0.05 if below else -0.05) * weights
    curves = {
        "entropy_ratio": ratio,
        "recall": np.where(weights < 1, 0.9, 1.0),
        "precision": np.where(weights < 1, 1.0, 0.3),
        "tv": 0.1 + 0.2 * weights,
        "kl_forward_bits": np.where(weights < 1, np.inf, 2.0),
        "kl_reverse_bits": np.where(weights < 1, 0.2 + 0.1 * weights, np.inf),
    }
    ends = {k: float(v[-1]) for k, v in curves.items()}
    limit = {k: float(v[-2]) for k, v in curves.items()}
    start = {k: float(v[0]) for k, v in curves.items()}
    return {
        "title": title,
        "h_star_bits": 2.5,
        "weights": weights,
        "curves": curves,
        "ar": start,
        "dllm": ends | {"entropy_ratio": 1.8},
        "limit_at_one": limit,
        "note": "a note" if below else None,
    }


def test_fig_product_of_experts_draws():
    data = {"rows": [_poe_row("(a)", True), _poe_row("(b)", False)]}
    fig = plotting.fig_product_of_experts(data)
    assert len(fig.axes) == 6
    for ax in fig.axes:
        assert ax.get_xlabel() and ax.get_ylabel()
    assert fig.axes[2].get_ylabel() == "KL [bits]"
    buf = io.BytesIO()
    with plotting.style():
        fig.savefig(buf, format="png", dpi=40)
    assert buf.getvalue().startswith(b"\x89PNG")

    from matplotlib.figure import Figure

    given_fig = Figure()
    axes = given_fig.subplots(1, 3)
    out = plotting.fig_product_of_experts({"rows": [_poe_row("(a)", True)]}, axes=axes)
    assert out is given_fig
