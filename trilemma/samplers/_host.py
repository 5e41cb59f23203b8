r"""Decoding a model that lives outside JAX: a host-side loop over steps.

A `HostModel` (a PyTorch LLaDA or Dream on a GPU, a NumPy model) is a callable on
NumPy arrays. The loop calls it once per step on the whole batch `(B, S)`, checks
its logits `(B, S, V)`, and hands them to the sampler's phases that the all-JAX
decoder runs (`_protocol.run_phases`), jitted and vmapped, with the same per-row key
splits, so for the same keys and the same logits a host model and a JAX model draw
the same samples.

**Why a host loop and not `jax.pure_callback`.** A callback runs the foreign model
from inside an XLA program: on a GPU its inputs and outputs go device -> host ->
PyTorch's device and back at every step anyway, the foreign framework runs on
XLA's callback thread (where PyTorch's CUDA streams and the GIL are not under the
caller's control), an exception inside it surfaces as an opaque XLA runtime error,
and under `vmap` the callback must be told to batch. A Python loop over steps costs
one dispatch per step, which a forward pass of a real dLLM dwarfs, keeps the
foreign model's errors readable (the shape check below names expected and received
shapes), and lets it run exactly as its authors' own `generate` loop does.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np

from ..models import HostModel
from ._protocol import Decoded, check_num_models, init


def decode_host(sampler, models: tuple, keys, tokens, *, record_steps: bool = False):
    """Decode `(B, S)` tokens with host models (and JAX ones), phase by phase.

    Args:
      sampler: a registered sampler (`trilemma.samplers.SAMPLERS`).
      models: one model per `sampler.num_models`, each a `HostModel` or a `Model`.
      keys: `(B,)` typed keys, one per row.
      tokens: `(B, S)` int32 sequences in the models' layout.
      record_steps: also return each step's committed count.

    Returns:
      `Decoded(tokens, nfe, committed or None, ar_nfe)` as NumPy arrays.
    """
    check_num_models(sampler, models)
    layout = models[0].layout
    mask_id = int(layout.mask_id)
    length = tokens.shape[1]
    limit = sampler.max_steps(length)
    extra = sampler.init_extra(length, int(layout.vocab_size))
    start = functools.partial(init, mask_id=mask_id, extra=extra)
    state = jax.vmap(start)(jnp.asarray(tokens))
    record = np.zeros((tokens.shape[0], limit), int)
    for step in range(limit):
        if not bool(jnp.any(state.tokens == mask_id)):
            break
        keys, subs = _split(keys)
        carry, query = None, state.tokens
        for i in range(sampler.num_models):
            logits = _logits(models[i], query)
            carry, query = _phase(
                subs, state, carry, logits, sampler=sampler, index=i, mask_id=mask_id
            )
        new, info = carry
        active = _active(state, mask_id)
        state = _keep_done(active, new, state)
        record[:, step] = np.asarray(jnp.where(active, info.committed, 0))
    return Decoded(
        np.asarray(state.tokens),
        np.asarray(state.nfe),
        record if record_steps else None,
        np.asarray(state.ar_nfe),
    )


def _logits(model, tokens):
    """One forward pass of the batch: a host call (checked), or the jitted model."""
    if not isinstance(model, HostModel):
        return _jax_logits(model.params, tokens, logits_fn=model.logits_fn)
    batch, length = tokens.shape
    expected = (batch, length, model.layout.vocab_size)
    out = model.logits_fn(np.asarray(tokens))
    shape = tuple(getattr(out, "shape", ()))
    if shape != expected:
        raise ValueError(
            f"host model {model.name!r} returned logits of shape {shape}; expected "
            f"{expected} (batch, sequence length, vocabulary size)"
        )
    dtype = getattr(out, "dtype", None)
    if dtype is None or not jnp.issubdtype(dtype, jnp.floating):
        raise ValueError(
            f"host model {model.name!r} returned logits of dtype {dtype}; expected a "
            "floating dtype (float32, float64, ...)"
        )
    out = jnp.asarray(out)
    if bool(jnp.any(jnp.isnan(out))):
        raise ValueError(f"host model {model.name!r} returned NaN logits")
    return out


@functools.partial(jax.jit, static_argnames=("logits_fn",))
def _jax_logits(params, tokens, *, logits_fn):
    return jax.vmap(lambda row: logits_fn(params, row))(tokens)


def _active(state, mask_id):
    return jnp.any(state.tokens == mask_id, axis=-1)


def _keep_done(active, new, old):
    """Rows that had no mask left keep their state (as the JAX loop's rows stop)."""
    return jax.tree.map(
        lambda a, b: jnp.where(active.reshape((-1,) + (1,) * (a.ndim - 1)), a, b),
        new,
        old,
    )


def _split(keys):
    """`(next keys, step keys)`: each row's `key, sub = split(key)`, as the JAX loop."""
    pairs = jax.vmap(jax.random.split)(keys)
    return pairs[:, 0], pairs[:, 1]


@functools.partial(jax.jit, static_argnames=("sampler", "index", "mask_id"))
def _phase(subs, state, carry, logits, *, sampler, index, mask_id):
    """Phase `index` of `sampler` on every row (its model's logits `(B, S, V)`)."""
    phase = functools.partial(sampler.phases[index], mask_id=mask_id)
    return jax.vmap(phase)(subs, state, carry, logits)
