"""The task layout: one token array shape for every model, and its rendering."""

import jax.numpy as jnp
import numpy as np
import pytest

import trilemma as T


def test_oracle_layout_of_a_task():
    task = T.make_task("shuffle", 3, num_prompts=2)
    layout = T.task_layout(task)
    sizes = task.joint.sizes
    assert layout.sizes == tuple(sizes[1:])
    assert layout.vocab_size == max(sizes) and layout.mask_id == max(sizes)
    assert layout.prefix_length == 1 and layout.output_length == 3
    np.testing.assert_array_equal(
        layout.initial_tokens(np.array([1, 0])),
        [[1, 3, 3, 3], [0, 3, 3, 3]],
    )
    np.testing.assert_array_equal(layout.outputs([[1, 2, 0, 1]]), [[2, 0, 1]])


def test_render_uses_labels_and_marks_masks():
    task = T.make_task("cities")
    layout = T.task_layout(task)
    output = np.asarray(task.joint.outcomes)[0, 1:]
    assert layout.render(output) == task.show(output)
    masked = np.full(layout.output_length, layout.mask_id)
    assert layout.render(masked) == " ".join(["_"] * layout.output_length)
    with pytest.raises(ValueError, match="`output` must have shape"):
        layout.render(output[:-1])


def test_bad_prompt_index_is_named():
    layout = T.task_layout(T.make_task("shuffle", 3))
    with pytest.raises(ValueError, match="`prompt_index` row 0 must be a prompt index"):
        layout.initial_tokens(5)
    with pytest.raises(TypeError, match="`prompt_index` must be an integer array"):
        layout.initial_tokens(0.5)


@pytest.mark.parametrize(
    ("name", "n", "options"),
    [
        ("random_joint", 3, {"vocab": 3, "seed": 2, "zeros": 0.5, "num_prompts": 2}),
        ("replace_random", 3, {}),
        ("latin_square", 3, {}),
    ],
)
def test_oracle_marginals_agree_in_numpy_and_jax(name, n, options):
    """The one marginals function gives the same law under NumPy and jax.numpy.

    Every state is a random partial assignment; rows are weighted by consistency,
    which is how both `simulate` (NumPy, many states) and the oracle model (JAX, one
    state) call it.
    """
    task = T.make_task(name, n, **options)
    layout = T.task_layout(task)
    outcomes = np.asarray(task.joint.outcomes).astype(np.int64)
    probs = np.asarray(task.joint.probs, float)
    rng = np.random.default_rng(0)
    states = 40
    prompt = rng.integers(0, task.joint.sizes[0], states)
    picks = outcomes[rng.integers(0, len(outcomes), states), 1:]
    revealed = rng.random(picks.shape) < 0.4
    tokens = np.where(revealed, picks, layout.mask_id)
    state_of_row = np.repeat(np.arange(states), len(outcomes))
    rows = np.tile(outcomes[:, 1:], (states, 1))
    agree = np.all((rows == tokens[state_of_row]) | ~revealed[state_of_row], axis=1) & (
        np.tile(outcomes[:, 0], states) == prompt[state_of_row]
    )
    weights = np.where(agree, np.tile(probs, states), 0.0)
    args = (states, layout.sizes, layout.vocab_size)
    by_numpy = T.oracle_marginals(state_of_row, weights, rows, *args)
    by_jax = T.oracle_marginals(
        jnp.asarray(state_of_row), jnp.asarray(weights), jnp.asarray(rows), *args
    )
    np.testing.assert_allclose(by_numpy, np.asarray(by_jax), atol=1e-12)
    np.testing.assert_allclose(by_numpy.sum(-1), 1.0, atol=1e-12)
