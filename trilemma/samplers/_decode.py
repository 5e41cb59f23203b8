r"""Monte Carlo decoding: any registered sampler run on any model, compiled once.

`make_step(sampler, logits_fns, params)` is the kernel `step(key, state) -> (state,
info)` of any sampler on JAX models: the sampler's `phases` in order, each model
called inside the program (`_protocol.run_phases`). `decode_batch` runs it in a
`while_loop` until no mask is left, or hands a model that lives outside JAX to the
host loop (`_host.decode_host`), which calls the same phases.

One module-level jitted kernel decodes a batch: the sampler, the models' `logits_fn`s
and the mask id are static, the models' `params`, the keys and the tokens are traced.
A second call with the same sampler and shapes, but new weights, another task's
tables or another prompt batch, reuses the compiled kernel.

A forward pass is counted (NFE) for each step that commits at least one token: a step
that commits nothing leaves the input unchanged, so its logits are cached (MDLM).
"""

from __future__ import annotations

import functools
from collections.abc import Callable

import jax
import jax.numpy as jnp
import numpy as np

from .. import _checks
from .._types import Array
from ..models import HostModel, Model
from ._host import decode_host
from ._protocol import (
    Decoded,
    DecodeInfo,
    DecodeState,
    check_num_models,
    check_sampler,
    init,
    run_phases,
)


def make_step(
    sampler, logits_fns: tuple, params: tuple, *, mask_id: int
) -> Callable[[Array, DecodeState], tuple[DecodeState, DecodeInfo]]:
    """The kernel `step(key, state) -> (state, info)` of `sampler` on JAX models.

    Args:
      sampler: a registered sampler (`trilemma.samplers.SAMPLERS`).
      logits_fns: one `logits_fn(params, tokens (S,)) -> logits (S, V)` per model the
        sampler reads (`sampler.num_models`); the mask token, if it is in the
        vocabulary, gets probability 0.
      params: the models' parameters, in the same order (concrete, or traced inside
        `jit`).
      mask_id: the mask token.
    """
    check_num_models(sampler, logits_fns, "logits_fns")
    check_num_models(sampler, params, "params")

    def forward(i, tokens):
        return logits_fns[i](params[i], tokens)

    def step(key, state: DecodeState):
        return run_phases(sampler, key, state, forward, mask_id=mask_id)

    return step


def _decode_one(
    sampler, logits_fns, params, key, tokens, mask_id, vocab_size, record_steps
):
    """Run `step` until no mask is left (at most `sampler.max_steps(S)` steps)."""
    limit = sampler.max_steps(tokens.shape[-1])
    step = make_step(sampler, logits_fns, params, mask_id=mask_id)
    record = jnp.zeros(limit if record_steps else 0, int)

    def cond(carry):
        _, state, _ = carry
        return jnp.any(state.tokens == mask_id) & (state.step < limit)

    def body(carry):
        key, state, record = carry
        key, sub = jax.random.split(key)
        new, info = step(sub, state)
        if record_steps:
            record = record.at[state.step].set(info.committed)
        return key, new, record

    extra = sampler.init_extra(tokens.shape[-1], vocab_size)
    init_state = init(tokens, mask_id=mask_id, extra=extra)
    _, final, record = jax.lax.while_loop(cond, body, (key, init_state, record))
    return final.tokens, final.nfe, record, final.ar_nfe


@functools.partial(
    jax.jit,
    static_argnames=("sampler", "logits_fns", "mask_id", "vocab_size", "record_steps"),
)
def _decode_kernel(
    params, keys, tokens, *, sampler, logits_fns, mask_id, vocab_size, record_steps
):
    """The one compiled batched decoder: `(B,)` keys and `(B, S)` tokens."""
    one = functools.partial(
        _decode_one,
        sampler,
        logits_fns,
        params,
        mask_id=mask_id,
        vocab_size=vocab_size,
        record_steps=record_steps,
    )
    return jax.vmap(one)(keys, tokens)


def decode(
    sampler, model, key, tokens, *, record_steps: bool = False, ar_model=None
) -> Decoded:
    """Decode every masked position of one sequence `tokens` (S,).

    Runs `make_step` until no mask is left; a sampler finishes within
    `sampler.max_steps(S)` steps by construction. Batch with `decode_batch`, or with
    `jax.vmap` over `key` and `tokens`.

    Returns:
      `Decoded(tokens (S,), nfe (), committed, ar_nfe ())`.
    """
    out = decode_batch(
        sampler,
        model,
        _as_keys(key, None)[None],
        jnp.asarray(_check_tokens(model, tokens, ndim=1))[None],
        record_steps=record_steps,
        ar_model=ar_model,
    )
    return Decoded(
        out.tokens[0],
        out.nfe[0],
        None if out.committed is None else out.committed[0],
        out.ar_nfe[0],
    )


def decode_batch(
    sampler, model, key, tokens, *, record_steps: bool = False, ar_model=None
) -> Decoded:
    """Decode a batch `(B, S)` of sequences, sharded over every available device.

    Args:
      sampler: a registered sampler (`trilemma.samplers.SAMPLERS`): a `Sampler`, or
        APD (`Apd`), which needs `ar_model`.
      model: a `Model` (its `logits_fn` static, its `params` traced), or a
        `HostModel` (a callable on NumPy arrays, called once per step for the
        whole batch; `trilemma.samplers.decode_host`).
      key: one key, split into `jax.random.split(key, B)` (row $i$ gets the $i$-th),
        or `(B,)` keys, one per row. Either way a row's sample depends on its own
        key only, not on the batch size or the number of devices.
      tokens: `(B, S)` sequences in the model's layout.
      record_steps: also return each step's committed count.
      ar_model: APD's autoregressive verifier, in the same layout (row $i$ of its
        logits predicts token $i + 1$); None for the other samplers.

    The batch is padded to a multiple of the device count and placed with a
    `NamedSharding` over a one-axis mesh; the same code runs on one CPU, several host
    devices (`XLA_FLAGS=--xla_force_host_platform_device_count=4`) or GPUs.

    Returns:
      `Decoded(tokens (B, S), nfe (B,), committed (B, steps) or None, ar_nfe (B,))`.
    """
    models = _models(sampler, model, ar_model)
    tokens = _check_tokens(model, tokens, ndim=2)
    record_steps = _checks.check_bool(record_steps, "record_steps")
    keys = _as_keys(key, tokens.shape[0])
    if any(isinstance(m, HostModel) for m in models):
        return decode_host(sampler, models, keys, tokens, record_steps=record_steps)
    batch = tokens.shape[0]
    tokens = jnp.asarray(tokens)
    devices = jax.device_count()
    padded = -(-batch // devices) * devices
    if padded != batch:
        tokens = jnp.concatenate([tokens, jnp.repeat(tokens[-1:], padded - batch, 0)])
        keys = jnp.concatenate([keys, jnp.repeat(keys[-1:], padded - batch, 0)])
    mesh = jax.make_mesh(
        (devices,), ("batch",), axis_types=(jax.sharding.AxisType.Auto,)
    )
    sharding = jax.sharding.NamedSharding(mesh, jax.sharding.PartitionSpec("batch"))
    keys, tokens = jax.device_put((keys, tokens), sharding)
    out, nfe, record, ar_nfe = _decode_kernel(
        tuple(m.params for m in models),
        keys,
        tokens,
        sampler=sampler,
        logits_fns=tuple(m.logits_fn for m in models),
        mask_id=int(model.layout.mask_id),
        vocab_size=int(model.layout.vocab_size),
        record_steps=record_steps,
    )
    return Decoded(
        out[:batch],
        nfe[:batch],
        record[:batch] if record_steps else None,
        ar_nfe[:batch],
    )


def _models(sampler, model, ar_model) -> tuple:
    """`(model,)`, or `(model, ar_model)` for a two-model sampler, checked."""
    check_sampler(sampler)
    _check_model(model, "model")
    if sampler.num_models == 1:
        if ar_model is not None:
            raise ValueError(
                f"`ar_model` is APD's verifier; sampler {sampler.describe()} decodes "
                "with one model"
            )
        return (model,)
    if ar_model is None:
        raise ValueError(
            f"{sampler.describe()} needs an autoregressive verifier: pass `ar_model` "
            "(the CLI's `--ar-model`)"
        )
    _check_model(ar_model, "ar_model")
    mine, theirs = model.layout, ar_model.layout
    if (mine.sequence_length, mine.vocab_size, mine.mask_id) != (
        theirs.sequence_length,
        theirs.vocab_size,
        theirs.mask_id,
    ):
        raise ValueError(
            "`ar_model` must read the dLLM's token layout: sequence length, "
            f"vocabulary and mask id ({mine.sequence_length}, {mine.vocab_size}, "
            f"{mine.mask_id}); got ({theirs.sequence_length}, {theirs.vocab_size}, "
            f"{theirs.mask_id})"
        )
    return (model, ar_model)


def _check_model(model, name: str) -> None:
    _checks.check_instance(
        model, name, (Model, HostModel), "a trilemma Model or HostModel"
    )


def _check_tokens(model, tokens, *, ndim: int):
    _check_model(model, "model")
    tokens = np.asarray(tokens)
    length = model.layout.sequence_length
    _checks.check_shape(tokens, "tokens", ("batch",) * (ndim - 1) + (length,))
    _checks.check_integer_dtype(tokens, "tokens")
    return tokens.astype(np.int32)


def _as_keys(key, batch: int | None):
    """Typed PRNG keys: one key (`batch` None), or `(batch,)` from one key or many."""
    if not jax.dtypes.issubdtype(getattr(key, "dtype", None), jax.dtypes.prng_key):
        key = jax.random.wrap_key_data(jnp.asarray(key, jnp.uint32))  # raw key data
    if batch is None:
        _checks.check_shape(key, "key", ())
        return key
    if key.shape == ():
        return jax.random.split(key, batch)
    _checks.check_shape(key, "key", (batch,))
    return key
