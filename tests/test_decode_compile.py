"""The batched decoder compiles once per sampler configuration and shapes.

A model's parameters are traced, not baked into the kernel: new weights (another
task's tables of the same shapes), a new prompt batch or new keys reuse the compiled
decoder. Compilations are counted with `jax.monitoring`'s backend-compile events.
"""

import contextlib

import jax
import numpy as np
import pytest

import trilemma as T

COMPILE_EVENT = "/jax/core/compile/backend_compile_duration"


@contextlib.contextmanager
def count_compiles():
    """Yields a list that gets one entry per XLA compilation inside the block."""
    events = []

    def listener(name, duration, **kwargs):
        if name == COMPILE_EVENT:
            events.append(duration)

    jax.monitoring.register_event_duration_secs_listener(listener)
    try:
        yield events
    finally:
        jax.monitoring.unregister_event_duration_listener(listener)


def joint_task(seed):
    """A random joint task: same shapes for every seed, different probabilities."""
    return T.make_task("random_joint", 3, vocab=3, seed=seed, num_prompts=2)


def test_new_weights_and_prompts_do_not_recompile():
    sampler = T.SAMPLERS["confidence_topk"](k=2, temperature=1.0)
    first = T.oracle_model(joint_task(0))
    tokens = first.layout.initial_tokens(np.array([0, 1, 0, 1]))
    T.decode_batch(sampler, first, jax.random.key(0), tokens)
    second = T.oracle_model(joint_task(1))
    assert not np.array_equal(first.params["weights"], second.params["weights"])
    with count_compiles() as compiles:
        a = T.decode_batch(sampler, second, jax.random.key(1), tokens)
        b = T.decode_batch(sampler, second, jax.random.key(1), tokens[::-1])
        rebuilt = T.SAMPLERS["confidence_topk"](k=2, temperature=1.0)
        T.decode_batch(rebuilt, first, jax.random.key(2), tokens)
        jax.block_until_ready((a, b))
    assert compiles == [], f"{len(compiles)} compilations on repeated calls"
    # the traced weights are used: the decodes follow the second task's law
    support = {tuple(r) for r in np.asarray(second.params["rows"]).tolist()}
    assert all(tuple(r) in support for r in np.asarray(a.tokens[:, 1:]).tolist())


def test_counter_sees_a_new_configuration():
    """The counter can fail: another sampler configuration compiles."""
    model = T.oracle_model(joint_task(0))
    tokens = model.layout.initial_tokens(np.array([0, 1]))
    T.decode_batch(T.SAMPLERS["threshold"](gamma=0.7), model, jax.random.key(0), tokens)
    with count_compiles() as compiles:
        T.decode_batch(
            T.SAMPLERS["threshold"](gamma=0.6), model, jax.random.key(0), tokens
        )
    assert len(compiles) >= 1


def test_bad_inputs_are_named():
    model = T.oracle_model(joint_task(0))
    sampler = T.SAMPLERS["confidence_topk"](k=1)
    tokens = model.layout.initial_tokens(np.array([0, 1]))
    with pytest.raises(ValueError, match="`tokens` must have shape \\(batch, 4\\)"):
        T.decode_batch(sampler, model, jax.random.key(0), tokens[:, 1:])
    with pytest.raises(ValueError, match="`key` must have shape \\(2,\\)"):
        T.decode_batch(sampler, model, jax.random.split(jax.random.key(0), 3), tokens)
    with pytest.raises(TypeError, match="`model` must be"):
        T.decode_batch(sampler, model.logits_fn, jax.random.key(0), tokens)
    with pytest.raises(TypeError, match="`sampler` must be"):
        T.decode(None, model, jax.random.key(0), tokens[0])
