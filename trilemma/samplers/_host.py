r"""Decoding a model that lives outside JAX: a host-side loop over steps.

A `HostModel` (a PyTorch LLaDA or Dream on a GPU, a NumPy model) is a callable on
NumPy arrays. The loop calls it once per step on the whole batch `(B, S)`, checks
its logits `(B, S, V)`, and hands them to the same jitted step that the all-JAX
decoder runs (`step_from_logits`, APD's `draft` and `accept`), with the same
per-row key splits, so for the same keys and the same logits a host model and a JAX
model draw the same samples.

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
from . import _apd
from ._apd import Apd
from ._decode import Decoded, check_num_models, init, step_from_logits


def decode_host(sampler, models: tuple, keys, tokens, *, record_steps: bool = False):
    """Decode `(B, S)` tokens with a host model (and APD's verifier, host or JAX).

    Args:
      sampler: a `Sampler`, or `Apd` (then `models` is `(dLLM, verifier)`).
      models: `(model,)` or `(model, ar_model)`, each a `HostModel` or a `Model`.
      keys: `(B,)` typed keys, one per row.
      tokens: `(B, S)` int32 sequences in the models' layout.
      record_steps: also return each step's committed count.

    Returns:
      `Decoded(tokens, nfe, committed or None, ar_nfe)` as NumPy arrays.
    """
    check_num_models(sampler, models)
    mask_id = int(models[0].layout.mask_id)
    limit = sampler.max_steps(tokens.shape[1])
    state = jax.vmap(functools.partial(init, mask_id=mask_id))(jnp.asarray(tokens))
    record = np.zeros((tokens.shape[0], limit), int)
    for step in range(limit):
        if not bool(jnp.any(state.tokens == mask_id)):
            break
        logits = _logits(models[0], state.tokens)
        if isinstance(sampler, Apd):
            keys, sequences, drafted = _apd_draft(
                keys, state, logits, sampler=sampler, mask_id=mask_id
            )
            ar_logits = _logits(models[1], sequences)
            state, committed = _apd_accept(
                state, drafted, ar_logits, sampler=sampler, mask_id=mask_id
            )
        else:
            keys, state, committed = _step(
                keys, state, logits, sampler=sampler, mask_id=mask_id
            )
        record[:, step] = np.asarray(committed)
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


@functools.partial(jax.jit, static_argnames=("sampler", "mask_id"))
def _step(keys, state, logits, *, sampler, mask_id):
    keys, subs = _split(keys)
    step = functools.partial(step_from_logits, sampler, mask_id=mask_id)
    new, info = jax.vmap(step)(subs, state, logits)
    active = _active(state, mask_id)
    return keys, _keep_done(active, new, state), jnp.where(active, info.committed, 0)


@functools.partial(jax.jit, static_argnames=("sampler", "mask_id"))
def _apd_draft(keys, state, logits, *, sampler, mask_id):
    keys, subs = _split(keys)
    draft = functools.partial(_apd.draft, sampler, mask_id=mask_id)
    sequences, drafted = jax.vmap(draft)(subs, state, logits)
    return keys, sequences, drafted


@functools.partial(jax.jit, static_argnames=("sampler", "mask_id"))
def _apd_accept(state, drafted, ar_logits, *, sampler, mask_id):
    accept = functools.partial(_apd.accept, sampler, mask_id=mask_id)
    new, committed = jax.vmap(accept)(state, drafted, ar_logits)
    active = _active(state, mask_id)
    return _keep_done(active, new, state), jnp.where(active, committed, 0)
