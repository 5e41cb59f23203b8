"""The embedded transformer and its training objectives."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import trilemma as T
from trilemma.models import objectives
from trilemma.models.transformer import (
    TransformerConfig,
    init_params,
    transformer_logits_fn,
)

CONFIG = TransformerConfig(vocab_size=7, sequence_length=5, width=16, depth=2, heads=2)


def trained_like(config, seed=0):
    """Parameters with every weight random (the output projection too)."""
    params = init_params(config, jax.random.key(seed), jnp.float64)
    leaves, tree = jax.tree_util.tree_flatten(params)
    keys = jax.random.split(jax.random.key(seed + 1), len(leaves))
    noisy = [
        x + 0.3 * jax.random.normal(k, x.shape)
        for x, k in zip(leaves, keys, strict=True)
    ]
    return jax.tree_util.tree_unflatten(tree, noisy)


@pytest.mark.parametrize("causal", [False, True])
def test_attention_sees_what_it_should(causal):
    """Causal: logits at i ignore tokens after i. Bidirectional: they see them."""
    config = TransformerConfig(**{**vars(CONFIG), "causal": causal})
    fn = jax.jit(transformer_logits_fn(config))
    params = trained_like(config)
    tokens = jnp.asarray([1, 2, 3, 4, 5])
    base = np.asarray(fn(params, tokens))
    for j in range(1, 5):
        changed = np.asarray(fn(params, tokens.at[j].set(6)))
        before = np.abs(changed[:j] - base[:j]).max()
        if causal:
            assert before == 0.0, j
        else:
            assert before > 1e-6, j
        assert np.abs(changed[j] - base[j]).max() > 1e-6


def test_equal_configs_share_one_logits_fn():
    same = TransformerConfig(**vars(CONFIG))
    assert transformer_logits_fn(same) is transformer_logits_fn(CONFIG)
    with pytest.raises(ValueError, match="`heads` must be one of"):
        TransformerConfig(vocab_size=3, sequence_length=3, width=10, heads=3)


def test_initial_model_is_uniform_and_decodes():
    """The output projection starts at zero: uniform logits; the decoder runs it."""
    task = T.make_task("shuffle", 3)
    layout = T.task_layout(task)
    config = TransformerConfig(
        vocab_size=layout.mask_id + 1, sequence_length=layout.sequence_length, width=8
    )
    params = init_params(config, jax.random.key(0))
    model = T.Model(transformer_logits_fn(config), params, layout, "untrained")
    logits = np.asarray(model.logits_fn(params, layout.initial_tokens(0)))
    assert logits.shape == (4, config.vocab_size) and (logits == 0).all()
    out = T.decode_batch(
        T.SAMPLERS["confidence_topk"](k=1, temperature=1.0),
        model,
        jax.random.key(1),
        layout.initial_tokens(np.zeros(8, int)),
    )
    assert (np.asarray(out.tokens)[:, 1:] < layout.mask_id).all()
    assert (np.asarray(out.nfe) == 3).all()


def test_stratified_times_fill_one_bin_each():
    batch = 64
    t = np.asarray(objectives.stratified_times(jax.random.key(3), batch))
    bins = np.floor((1.0 - t) * batch).astype(int)
    assert sorted(bins.tolist()) == list(range(batch))
    assert (t > 0).all() and (t <= 1).all()


def test_diffusion_loss_equals_its_definition():
    """The loss, recomputed plainly from the same masks: sum of masked NLL / (t L).

    Examples have 3 or 4 output positions (prompts of 2 or 1 tokens), as sequences of
    a multi-task set do.
    """
    fn = transformer_logits_fn(CONFIG)
    params = trained_like(CONFIG)
    rng = np.random.default_rng(0)
    tokens = rng.integers(0, 6, (32, 5))
    prefix = rng.integers(1, 3, 32)
    is_output = np.arange(5)[None, :] >= prefix[:, None]
    key = jax.random.key(5)
    loss = float(
        objectives.diffusion_loss(
            fn,
            params,
            key,
            jnp.asarray(tokens),
            jnp.asarray(is_output),
            mask_id=6,
            masking="rate",
        )
    )
    t, masked = (np.asarray(a) for a in objectives.mask_outputs(key, (32, 5)))
    masked = masked & is_output
    fn = jax.jit(fn)
    total = 0.0
    for b in range(32):
        noisy = np.where(masked[b], 6, tokens[b])
        logits = np.asarray(fn(params, jnp.asarray(noisy)), float)[:, :6]
        for j in np.nonzero(masked[b])[0]:
            row = logits[j]
            log_z = math.log(np.sum(np.exp(row - row.max()))) + row.max()
            total += (log_z - row[tokens[b, j]]) / (t[b] * is_output[b].sum())
    assert abs(loss - total / 32) < 1e-10
    assert masked.any() and not masked[is_output].all()
    assert not masked[~is_output].any()


def test_autoregressive_loss_equals_its_definition():
    config = TransformerConfig(**{**vars(CONFIG), "causal": True})
    fn = transformer_logits_fn(config)
    params = trained_like(config, seed=4)
    tokens = np.array([[0, 1, 2, 3, 4], [5, 4, 3, 2, 1]])
    loss = float(
        objectives.autoregressive_loss(
            fn,
            params,
            jnp.asarray(tokens),
            jnp.asarray(np.arange(5)[None, :] >= np.array([[2], [2]])),
            mask_id=6,
        )
    )
    fn = jax.jit(fn)
    total = 0.0
    for row in tokens:
        logits = np.asarray(fn(params, jnp.asarray(row)), float)[:, :6]
        for i in range(2, 5):
            z = logits[i - 1]
            total += math.log(np.sum(np.exp(z))) - z[row[i]]
    assert abs(loss - total / 6) < 1e-10


def denoiser_problem(task_name="replace_random", n=3):
    """A tiny denoiser, its loss on sequences from the task's p*, and its layout."""
    from trilemma.models.data import sequence_sampler

    task = T.make_task(task_name, n)
    layout = T.task_layout(task)
    config = TransformerConfig(
        vocab_size=layout.mask_id + 1,
        sequence_length=layout.sequence_length,
        width=16,
        depth=1,
        heads=2,
    )
    fn = transformer_logits_fn(config)
    draw = sequence_sampler(task)

    def loss(params, key):
        key_data, key_mask = jax.random.split(key)
        tokens = draw(key_data, 64)
        is_output = jnp.arange(tokens.shape[1])[None, :] >= layout.prefix_length
        return objectives.diffusion_loss(
            fn,
            params,
            key_mask,
            tokens,
            jnp.broadcast_to(is_output, tokens.shape),
            mask_id=layout.mask_id,
        )

    return task, config, loss


def test_sequences_follow_the_task_law():
    """Frequencies of drawn sequences match p* within 5 standard errors."""
    from trilemma.models.data import sequence_sampler

    task = T.make_task("replace_random", 3)
    draw = sequence_sampler(task)
    num = 20_000
    seqs = np.asarray(draw(jax.random.key(0), num))
    outcomes = np.asarray(task.joint.outcomes)
    probs = np.asarray(task.joint.probs)
    for row, p in zip(outcomes, probs, strict=True):
        freq = np.mean(np.all(seqs == row, axis=1))  # prefix = prompt index
        assert abs(freq - p) <= 5 * math.sqrt(p * (1 - p) / num) + 1e-12


def test_training_is_deterministic_and_resumes(tmp_path, monkeypatch):
    """Training is deterministic, resumable and lowers the loss.

    Same seed, same parameters; a run interrupted after a checkpoint resumes to
    exactly the parameters of the uninterrupted run.
    """
    from trilemma.models import training

    _, config, loss = denoiser_problem()
    params = init_params(config, jax.random.key(0))
    settings = training.TrainConfig(steps=40, batch_size=64, warmup=5, seed=3)
    whole, losses = training.train(loss, params, settings, progress=False)
    again, _ = training.train(loss, params, settings, progress=False)
    assert all(
        np.array_equal(a, b)
        for a, b in zip(
            jax.tree_util.tree_leaves(whole),
            jax.tree_util.tree_leaves(again),
            strict=True,
        )
    )
    assert np.mean(losses[-10:]) < np.mean(losses[:10])

    path = tmp_path / "run.safetensors"
    save = training.save_checkpoint

    def save_then_stop(*args):
        save(*args)
        raise KeyboardInterrupt

    monkeypatch.setattr(training, "save_checkpoint", save_then_stop)
    with pytest.raises(KeyboardInterrupt):
        training.train(
            loss,
            params,
            settings,
            checkpoint=path,
            checkpoint_every=20,
            progress=False,
        )
    monkeypatch.setattr(training, "save_checkpoint", save)
    resumed, rest = training.train(
        loss, params, settings, checkpoint=path, checkpoint_every=20, progress=False
    )
    assert len(rest) == 20  # steps 20..39 only
    for a, b in zip(
        jax.tree_util.tree_leaves(whole),
        jax.tree_util.tree_leaves(resumed),
        strict=True,
    ):
        np.testing.assert_array_equal(a, b)


def test_a_run_without_a_terminal_logs_one_line_per_checkpoint(capsys):
    """With stderr captured (no terminal, tqdm's bar off), progress is plain lines.

    One per `checkpoint_every` steps and one at the end, each naming the step, the
    loss of that step and the rate.
    """
    from trilemma.models import training

    def loss(params, key):
        return jnp.sum((params["w"] - 1.0) ** 2)

    settings = training.TrainConfig(steps=5, batch_size=4, warmup=1, seed=0)
    _, losses = training.train(
        loss,
        {"w": jnp.zeros(3)},
        settings,
        checkpoint_every=2,
        progress=True,
        description="fit w",
    )
    lines = capsys.readouterr().err.strip().splitlines()
    assert [line.split(",")[0] for line in lines] == [
        "fit w: step 2/5",
        "fit w: step 4/5",
        "fit w: step 5/5",
    ]
    assert lines[-1].split(", ")[1] == f"loss {losses[-1]:.4f}"
    assert lines[0].endswith("examples/s")


def test_corrupt_checkpoint_is_named(tmp_path):
    from trilemma.models import training

    path = tmp_path / "bad.safetensors"
    path.write_bytes(b"not a checkpoint")
    _, config, _ = denoiser_problem()
    params = init_params(config, jax.random.key(0))
    with pytest.raises(ValueError, match="bad.safetensors"):
        training.load_checkpoint(path, (params, params))


def saved_model(tmp_path):
    from trilemma.models import data, weights

    task_set = data.TaskSet(groups=(("shuffle", 3), ("copy", 3)))
    config = TransformerConfig(
        vocab_size=task_set.vocab_size,
        sequence_length=task_set.sequence_length,
        width=8,
    )
    params = trained_like(config, seed=7)
    directory = weights.save_model(
        tmp_path / "m", config, params, task_set, name="tiny", provenance={"seed": 7}
    )
    return directory, config, params, task_set


def test_model_files_round_trip(tmp_path):
    """Weights are stored in float32: logits agree to float32 precision."""
    from trilemma.models import weights
    from trilemma.tasks import pooled_task

    directory, config, params, task_set = saved_model(tmp_path)
    loaded = weights.load_model(directory)
    assert loaded.record["provenance"] == {"seed": 7} and loaded.name == "tiny"
    assert loaded.task_set.groups == task_set.groups
    task = pooled_task("shuffle", 3, [[5, 1, 9]])
    model = loaded.model(task)
    assert model.logits_fn is transformer_logits_fn(config)
    tokens = jnp.asarray(model.layout.initial_tokens(0))
    np.testing.assert_allclose(
        model.logits_fn(model.params, tokens),
        transformer_logits_fn(config)(params, tokens),
        atol=1e-5,
    )


@pytest.mark.parametrize("damage", ["truncate", "flip", "delete", "architecture"])
def test_damaged_model_files_are_named(tmp_path, damage):
    import json

    from trilemma.models import weights

    directory, *_ = saved_model(tmp_path)
    weights_file, config_file = directory / weights.WEIGHTS, directory / weights.CONFIG
    data = weights_file.read_bytes()
    named = weights_file
    if damage == "truncate":
        weights_file.write_bytes(data[: len(data) // 2])
    elif damage == "flip":
        weights_file.write_bytes(data[:-1] + bytes([data[-1] ^ 1]))
    elif damage == "delete":
        config_file.unlink()
        named = config_file
    else:
        record = json.loads(config_file.read_text())
        record["architecture"]["width"] = 16
        config_file.write_text(json.dumps(record))
    with pytest.raises(ValueError, match=str(named).replace(".", r"\.")):
        weights.load_model(directory)


def test_integrating_out_the_time_gives_one_over_k_binomial():
    r"""$\int_0^1 t^{k-1} (1-t)^{L-k} dt = 1 / (k \binom{L}{k})$: `count` = `rate`."""
    from scipy.integrate import quad

    for length in range(1, 8):
        for k in range(1, length + 1):

            def integrand(t, k=k, length=length):
                return t ** (k - 1) * (1 - t) ** (length - k)

            value, _ = quad(integrand, 0, 1)
            assert abs(value - 1 / (k * math.comb(length, k))) < 1e-12


def test_both_maskings_estimate_the_same_objective():
    """Monte Carlo means of the two estimators are within 5 SE of the exact bound.

    The exact value: every mask M of the L = 4 outputs of one sequence, weighted by
    its probability under `count` (k uniform, then a uniform k-subset), each term
    the mean NLL over M, recomputed with one plain model call per mask.
    """
    import itertools

    fn = transformer_logits_fn(CONFIG)
    params = trained_like(CONFIG, seed=7)
    row = np.array([2, 0, 4, 1, 3])
    is_row = np.arange(5) >= 1
    plain = jax.jit(fn)
    exact = 0.0
    for k in range(1, 5):
        for mask in itertools.combinations(range(1, 5), k):
            noisy = row.copy()
            noisy[list(mask)] = 6
            logits = np.asarray(plain(params, jnp.asarray(noisy)), float)[:, :6]
            nll = [
                math.log(np.exp(logits[j] - logits[j].max()).sum())
                + logits[j].max()
                - logits[j, row[j]]
                for j in mask
            ]
            exact += (1 / 4) / math.comb(4, k) * float(np.mean(nll))
    batch, calls = 64, 60
    tokens = jnp.asarray(np.tile(row, (batch, 1)))
    is_output = jnp.asarray(np.tile(is_row, (batch, 1)))
    for masking in objectives.MASKINGS:
        loss = jax.jit(
            lambda key, masking=masking: objectives.diffusion_loss(
                fn, params, key, tokens, is_output, mask_id=6, masking=masking
            )
        )
        values = np.array([float(loss(jax.random.key(100 + i))) for i in range(calls)])
        se = values.std(ddof=1) / math.sqrt(calls)
        assert abs(values.mean() - exact) <= 5 * se, (masking, values.mean(), exact)
    with pytest.raises(ValueError, match="`masking` must be one of"):
        objectives.diffusion_loss(
            fn, params, jax.random.key(0), tokens, is_output, mask_id=6, masking="t"
        )


def test_count_masking_masks_k_of_the_outputs():
    """Counts are stratified over 1..L; exactly k outputs (never the prompt) masked."""
    is_output = np.zeros((40, 6), bool)
    is_output[:20, 2:] = True  # L = 4
    is_output[20:, 1:] = True  # L = 5
    masked, weight = objectives.mask_counts(jax.random.key(2), jnp.asarray(is_output))
    masked, weight = np.asarray(masked), np.asarray(weight)
    k = masked.sum(axis=1)
    assert not masked[~is_output].any()
    np.testing.assert_allclose(weight, 1.0 / k)
    assert set(k[:20]) <= {1, 2, 3, 4} and set(k[20:]) <= {1, 2, 3, 4, 5}
    assert k.min() >= 1 and len(set(k.tolist())) >= 4


@pytest.mark.parametrize("causal", [False, True])
def test_segment_positions_ignore_padding(causal):
    """With segments, PAD rows are finite and the rest do not see how much PAD there is.

    The same content `[task] prompt [SEP] outputs` after 1 or 3 PADs gives the same
    logits on every non-PAD row (positions count from the first non-PAD and from SEP,
    and PAD is kept out of attention); a causal model's first row, a PAD that may see
    only itself, is not NaN.
    """
    pad, sep = 5, 6
    config = TransformerConfig(
        vocab_size=8,
        sequence_length=9,
        width=16,
        depth=2,
        heads=2,
        causal=causal,
        segments=(pad, sep),
    )
    fn = jax.jit(transformer_logits_fn(config))
    params = trained_like(config, seed=3)
    content = [4, 0, 2, 1, sep, 7, 3]
    two = np.asarray(fn(params, jnp.asarray([pad] * 2 + content)))
    one = np.asarray(fn(params, jnp.asarray([pad] + content)))
    assert np.isfinite(two).all() and np.isfinite(one).all()
    np.testing.assert_allclose(two[2:], one[1:], rtol=0, atol=1e-12)
    assert np.abs(two[3] - two[4]).max() > 1e-6  # positions still tell rows apart
