"""`trilemma.point`: the point's functionals, one definition for NumPy and JAX rows."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import trilemma as T
from trilemma import point


def random_pair(seed, cells=9, num_prompts=3):
    """Aligned joint rows `(q, p*)` with zeros in both, and each cell's prompt."""
    rng = np.random.default_rng(seed)
    prompt = np.sort(rng.integers(0, num_prompts, cells))
    prompt[:num_prompts] = np.arange(num_prompts)
    prompt = np.sort(prompt)
    q = rng.dirichlet(np.ones(cells)) * (rng.random(cells) > 0.3)
    p = rng.dirichlet(np.ones(cells)) * (rng.random(cells) > 0.3)
    q[0] += 1e-3
    p[-1] += 1e-3
    return q / q.sum(), p / p.sum(), prompt


@pytest.mark.parametrize("seed", range(5))
def test_functionals_equal_the_metrics(seed):
    """Precision, recall, TV and KL equal `trilemma.metrics` on the same pmfs."""
    q, p, prompt = random_pair(seed)
    got = point.point_functionals(q, p, prompt, 3)
    qj, pj = jnp.asarray(q), jnp.asarray(p)
    assert got["precision"] == pytest.approx(float(T.precision(qj, pj)), abs=1e-14)
    assert got["recall"] == pytest.approx(float(T.recall(qj, pj)), abs=1e-14)
    assert got["tv"] == pytest.approx(
        float(T.total_variation_distance(qj, pj)), abs=1e-14
    )
    kl = float(T.kl_divergence(pj, qj))
    assert got["kl_reference_to_sampler"] == pytest.approx(kl, rel=1e-12)


@pytest.mark.parametrize("seed", range(5))
def test_conditional_entropy_equals_the_per_prompt_average(seed):
    """H(Y|X) = sum_x p(x) H(p(.|x)), and the valid entropy is that of q_V."""
    q, p, prompt = random_pair(seed)

    def by_hand(pmf):
        total = 0.0
        for x in range(3):
            row = pmf[prompt == x]
            if row.sum() > 0:
                c = row[row > 0] / row.sum()
                total += row.sum() * -np.sum(c * np.log(c))
        return total

    h = point.conditional_entropy_of_cells(p, prompt, 3)
    assert float(h) == pytest.approx(by_hand(p), abs=1e-13)
    valid = np.where(p > 0, q, 0.0)
    got = point.valid_entropy(q, p, prompt, 3)
    assert float(got) == pytest.approx(by_hand(valid / valid.sum()), abs=1e-13)


def test_numpy_rows_jax_rows_and_vmap_agree():
    """Batched NumPy rows, jitted JAX rows and `vmap` over single rows agree."""
    pairs = [random_pair(seed) for seed in range(4)]
    prompt = pairs[0][2]
    q = np.stack([a for a, _, _ in pairs])
    p = np.stack([b for _, b, _ in pairs])
    numpy = point.point_functionals(q, p, prompt, 3)

    def one(a, b):
        return point.point_functionals(a, b, prompt, 3)

    vmapped = jax.jit(jax.vmap(one))(jnp.asarray(q), jnp.asarray(p))
    for name, values in numpy.items():
        assert isinstance(values, np.ndarray)
        np.testing.assert_allclose(
            np.asarray(vmapped[name]), values, rtol=1e-12, atol=1e-14
        )


def test_no_valid_mass_gives_zero_valid_entropy():
    """q(V) = 0: the valid entropy is 0 (nothing valid), recall 0, KL infinite."""
    q, p = np.array([0.0, 0.0, 1.0]), np.array([0.5, 0.5, 0.0])
    got = point.point_functionals(q, p, np.zeros(3, int), 1)
    assert got["valid_entropy"] == 0.0 and got["recall"] == 0.0
    assert got["kl_reference_to_sampler"] == np.inf
