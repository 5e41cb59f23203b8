"""Group sampling weighted by excess loss (issue 20): the rule, the sampler, resume."""

import json
import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import trilemma as T
from trilemma.models import data, objectives, presets, training
from trilemma.models.transformer import init_params, transformer_logits_fn
from trilemma.tasks import _pooled

GROUPS = (("copy", 3), ("reverse", 3), ("shuffle", 3), ("latin_square", 3))


def test_weights_match_a_hand_computation():
    rule = training.GroupWeighting(floor=0.01, uniform_share=0.5)
    loss = [1.0, 0.5, 0.2, 0.9]
    ideal = [0.5, 0.495, 0.3, 0.0]
    # excess: 0.5, max(0.005, 0.01), max(-0.1, 0.01), 0.9 -> sum 1.42
    want = [
        0.5 / 4 + 0.5 * 0.5 / 1.42,
        0.5 / 4 + 0.5 * 0.01 / 1.42,
        0.5 / 4 + 0.5 * 0.01 / 1.42,
        0.5 / 4 + 0.5 * 0.9 / 1.42,
    ]
    got = rule.weights(loss, ideal)
    np.testing.assert_allclose(got, want, rtol=1e-14)
    assert math.isclose(got.sum(), 1.0, rel_tol=1e-14)
    # all at their ideal: uniform
    np.testing.assert_allclose(rule.weights(ideal, ideal), 0.25, rtol=1e-14)
    # no uniform share: proportional to the excess alone
    alone = training.GroupWeighting(uniform_share=0.0).weights(loss, ideal)
    np.testing.assert_allclose(alone, np.array([0.5, 0.01, 0.01, 0.9]) / 1.42)


@pytest.mark.parametrize(
    ("changes", "fragment"),
    [
        ({"refresh_every": 0}, "refresh_every"),
        ({"decay": 1.5}, "decay"),
        ({"uniform_share": -0.1}, "uniform_share"),
        ({"floor": 0.0}, "floor"),
    ],
)
def test_bad_rules_are_refused(changes, fragment):
    with pytest.raises(ValueError, match=fragment):
        training.GroupWeighting(**changes)


def test_refresh_is_an_exponential_average_by_hand():
    rule = training.GroupWeighting(decay=0.75, floor=0.01, uniform_share=0.5)
    state = training.GroupWeightingState(rule, [0.1, 0.2, 0.0])
    np.testing.assert_array_equal(state.weights, np.full(3, 1 / 3))
    state.sums = np.array([2.0, 3.0, 0.0], np.float32)
    state.counts = np.array([4, 2, 0], np.int32)
    state.refresh(100)  # first window: the means; group 2 drew nothing
    np.testing.assert_allclose(state.loss_ema[:2], [0.5, 1.5])
    assert np.isnan(state.loss_ema[2])
    # an unseen group counts as at its ideal (excess = floor)
    np.testing.assert_allclose(
        state.weights, rule.weights([0.5, 1.5, 0.0], [0.1, 0.2, 0.0])
    )
    assert state.counts.sum() == 0 and state.sums.sum() == 0
    state.sums = np.array([1.0, 1.0, 3.0], np.float32)
    state.counts = np.array([1, 0, 2], np.int32)
    state.refresh(200)
    np.testing.assert_allclose(
        state.loss_ema, [0.75 * 0.5 + 0.25 * 1.0, 1.5, 1.5], rtol=1e-14
    )
    assert [s for s, _ in state.history] == [100, 200]
    record = state.record(every=200)
    assert [s for s, _ in record["schedule"]] == [200]
    assert record["final_weights"] == [float(x) for x in state.weights]


def test_ideal_losses_are_conditional_entropies_per_output():
    """h_g against trilemma.conditional_entropy of the canonical task (uniform x)."""
    task_set = data.TaskSet(groups=(*GROUPS, ("insert_random", 4), ("sort", 3)))
    ideal = data.group_ideal_losses(task_set)
    assert math.isclose(ideal[3], math.log(12) / 9, rel_tol=1e-12)  # 12 squares
    assert math.isclose(ideal[2], math.log(6) / 3, rel_tol=1e-12)  # 3! orders
    assert ideal[0] == 0.0 and ideal[1] == 0.0
    for g, (name, n) in enumerate(task_set.groups):
        task = _pooled._builder(name)(n)
        joint = task.joint
        prompt_law = np.bincount(
            np.asarray(joint.outcomes)[:, 0],
            weights=np.asarray(joint.probs, float),
        )
        assert np.allclose(prompt_law, prompt_law[0])  # uniform: the sampler's law
        outputs = tuple(range(1, len(joint.sizes)))
        entropy = float(T.conditional_entropy(joint, outputs, given=(0,)))
        length = task_set.output_length(name, n)
        assert math.isclose(ideal[g], entropy / length, rel_tol=1e-9, abs_tol=1e-12)


def test_sampler_draws_groups_by_the_weights():
    """Group frequencies within 5 standard errors of the weights; rows match."""
    task_set = data.TaskSet(groups=GROUPS)
    draw = data.task_set_sampler(task_set)
    weights = np.array([0.1, 0.2, 0.3, 0.4])
    jitted = jax.jit(draw.with_groups, static_argnums=1)
    num = 20_000
    tokens, groups = jitted(
        jax.random.key(0), num, jnp.asarray(np.log(weights), jnp.float32)
    )
    groups, tokens = np.asarray(groups), np.asarray(tokens)
    freq = np.bincount(groups, minlength=4) / num
    se = np.sqrt(weights * (1 - weights) / num)
    assert np.all(np.abs(freq - weights) <= 5 * se), (freq, weights)
    # each row is of its group: its task token and output length
    is_output = np.asarray(task_set.output_positions(tokens))
    for g, (name, n) in enumerate(task_set.groups):
        rows = groups == g
        assert np.all(np.any(tokens[rows] == task_set.task_token(name), axis=1))
        assert np.all(is_output[rows].sum(1) == task_set.output_length(name, n))
    # other weights: no recompilation, and the frequencies follow
    other = np.array([0.7, 0.1, 0.1, 0.1])
    _, groups = jitted(jax.random.key(1), num, jnp.asarray(np.log(other), jnp.float32))
    freq = np.bincount(np.asarray(groups), minlength=4) / num
    assert np.all(np.abs(freq - other) <= 5 * np.sqrt(other * (1 - other) / num))
    assert jitted._cache_size() == 1
    # without weights: uniform, and `draw` gives the same rows as before
    plain, uniform = jitted(jax.random.key(2), num)
    freq = np.bincount(np.asarray(uniform), minlength=4) / num
    assert np.all(np.abs(freq - 0.25) <= 5 * math.sqrt(0.25 * 0.75 / num))
    np.testing.assert_array_equal(plain, draw(jax.random.key(2), num))


@pytest.mark.slow
def test_per_example_losses_average_to_the_loss():
    task_set = data.TaskSet(groups=GROUPS)
    draw = data.task_set_sampler(task_set)
    recipe = presets.preset("tiny").replace(groups=GROUPS)
    key = jax.random.key(5)
    logits = jnp.zeros(len(GROUPS))
    for kind in presets.KINDS:
        config = presets.model_config(recipe, kind)
        fn = transformer_logits_fn(config)
        params = init_params(config, jax.random.key(0))
        weighted = presets._loss(kind, fn, draw, task_set, 32, weighted=True)
        total, (per_example, groups) = weighted(params, key, logits)
        assert per_example.shape == groups.shape == (32,)
        if kind == "denoiser":
            np.testing.assert_array_equal(total, jnp.mean(per_example))
        tokens, _ = draw.with_groups(jax.random.split(key)[0], 32, logits)
        is_output = task_set.output_positions(tokens)
        if kind == "denoiser":
            plain = objectives.diffusion_loss(
                fn,
                params,
                jax.random.split(key)[1],
                tokens,
                is_output,
                mask_id=task_set.mask_id,
            )
        else:
            plain = objectives.autoregressive_loss(
                fn, params, tokens, is_output, mask_id=task_set.mask_id
            )
        np.testing.assert_allclose(total, plain, rtol=1e-6)


def _weighted_run(tmp_path, steps, *, stop_after=None, monkeypatch=None):
    task_set = data.TaskSet(groups=GROUPS)
    draw = data.task_set_sampler(task_set)
    recipe = presets.preset("tiny").replace(groups=GROUPS)
    config = presets.model_config(recipe, "denoiser")
    loss = presets._loss(
        "denoiser", transformer_logits_fn(config), draw, task_set, 32, weighted=True
    )
    settings = training.TrainConfig(steps=steps, batch_size=32, warmup=5, seed=3)
    rule = training.GroupWeighting(refresh_every=7)
    state = training.GroupWeightingState(rule, data.group_ideal_losses(task_set))
    params = init_params(config, jax.random.key(0))
    path = None if tmp_path is None else tmp_path / "run.safetensors"
    params, losses = training.train(
        loss,
        params,
        settings,
        checkpoint=path,
        checkpoint_every=10,
        progress=False,
        weighting=state,
    )
    return params, losses, state


@pytest.mark.slow
def test_weighted_training_resumes_to_the_same_weights(tmp_path, monkeypatch):
    """An interrupted weighted run ends as the uninterrupted one, bit for bit.

    The parameters, the loss averages and the weight history; the weights move.
    """
    whole, _, state = _weighted_run(None, 30)
    assert [s for s, _ in state.history] == [7, 14, 21, 28]
    assert not np.allclose(state.weights, 0.25)
    # the same run again: the same bits
    again, _, state_again = _weighted_run(None, 30)
    for a, b in zip(
        jax.tree_util.tree_leaves(whole), jax.tree_util.tree_leaves(again), strict=True
    ):
        np.testing.assert_array_equal(a, b)

    save = training.save_checkpoint

    def save_then_stop(*args):
        save(*args)
        raise KeyboardInterrupt

    # stop after the checkpoint at step 10 (between refreshes at 7 and 14: the
    # window's sums must travel in the checkpoint)
    monkeypatch.setattr(training, "save_checkpoint", save_then_stop)
    with pytest.raises(KeyboardInterrupt):
        _weighted_run(tmp_path, 30)
    monkeypatch.setattr(training, "save_checkpoint", save)
    resumed, rest, state_resumed = _weighted_run(tmp_path, 30)
    assert len(rest) == 20
    for a, b in zip(
        jax.tree_util.tree_leaves(whole),
        jax.tree_util.tree_leaves(resumed),
        strict=True,
    ):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(state_resumed.loss_ema, state.loss_ema)
    assert len(state_resumed.history) == len(state.history)
    for (s1, w1), (s2, w2) in zip(state_resumed.history, state.history, strict=True):
        assert s1 == s2
        np.testing.assert_array_equal(w1, w2)
    np.testing.assert_array_equal(state_resumed.sums, state.sums)
    np.testing.assert_array_equal(state_resumed.counts, state.counts)


def test_unweighted_checkpoint_is_refused_by_a_weighted_run(tmp_path):
    task_set = data.TaskSet(groups=GROUPS)
    state = training.GroupWeightingState(
        training.GroupWeighting(), data.group_ideal_losses(task_set)
    )
    with pytest.raises(ValueError, match="group-weighting"):
        state.restore({}, tmp_path / "x")


@pytest.mark.slow
def test_quick_preset_records_its_weights(tmp_path):
    """A weighted preset writes the rule, the weights and their schedule."""
    recipe = presets.preset("quick").replace(
        groups=(("copy", 3), ("latin_square", 3)), steps=100
    )
    recipe = recipe.replace(batch_size=16)
    recipe = dataclasses_replace(recipe, training.GroupWeighting(refresh_every=50))
    presets.train_models(recipe, tmp_path, kinds=("autoregressive",), progress=False)
    record = json.loads((tmp_path / "autoregressive" / "config.json").read_text())
    weighting = record["provenance"]["group_weighting"]
    assert weighting["rule"]["refresh_every"] == 50
    assert weighting["refreshes"] == 2
    assert math.isclose(weighting["ideal_loss"][1], math.log(12) / 9)
    assert math.isclose(sum(weighting["final_weights"]), 1.0)
    history = json.loads((tmp_path / "group_weights_autoregressive.json").read_text())
    assert history["steps"] == [50, 100]
    assert history["weights"][-1] == weighting["final_weights"]


def dataclasses_replace(recipe, rule):
    import dataclasses

    return dataclasses.replace(recipe, group_weighting=rule)
