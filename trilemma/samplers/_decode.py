r"""Monte Carlo decoding: any registered sampler run on any model, compiled once.

`step(key, state) -> (state, info)` draws every masked token from its law $\pi_j$
(inverse CDF of one uniform per position, in float64 when x64 is on), scores the
drawn tokens, draws the count $k$ from the sampler's count pmf, ranks eligible
positions by score with uniformly random tie-breaking priorities (one multi-key sort),
and commits the first $k$. It calls the same building blocks as the exact enumerator,
so Monte Carlo frequencies converge to `trilemma.simulate`'s exact law.

`step_from_logits` is that step given the model's logits; `build_step` computes them
with a JAX model in the same program, and `decode_host` (`_host.py`) with a model
outside JAX. APD (`_apd.py`) has its own two-model step; `make_step` picks the step
of any registered sampler.

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
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from .. import _checks
from .._types import Array
from ..models import HostModel, Model
from . import _apd, _blocks
from ._apd import Apd
from ._sampler import Sampler


class DecodeState(NamedTuple):
    """Tokens being decoded, the step index, forward passes so far, window start.

    `ar_nfe` counts the passes of a second, autoregressive model (APD's verifier);
    it stays 0 for the samplers that call one model.
    """

    tokens: Array
    step: Array
    nfe: Array
    start: Array
    ar_nfe: Array


class DecodeInfo(NamedTuple):
    """What one step did: the number of positions it committed."""

    committed: Array


class Decoded(NamedTuple):
    """Decoded sequences with their cost.

    Attributes:
      tokens: `(..., S)` the sequences, no mask left.
      nfe: `(...,)` forward passes each sample used.
      committed: `(..., sampler.max_steps(S))` positions committed at each step (0
        after the last), when asked for with `record_steps=True`; else None.
      ar_nfe: `(...,)` passes of the autoregressive verifier (APD; 0 otherwise).
    """

    tokens: Array
    nfe: Array
    committed: Array | None = None
    ar_nfe: Array | None = None


def init(tokens, *, mask_id: int) -> DecodeState:
    """Decoding state for `tokens` (S,), whose masked positions equal `mask_id`.

    The generation window starts at the first masked position (semi-AR blocks count
    from there).
    """
    tokens = jnp.asarray(tokens)
    masked = tokens == mask_id
    start = jnp.argmax(masked).astype(int)
    zero = jnp.zeros((), int)
    return DecodeState(tokens, zero, zero, start, zero)


def build_step(
    sampler: Sampler, logits_fn: Callable, params: Any, *, mask_id: int
) -> Callable[[Array, DecodeState], tuple[DecodeState, DecodeInfo]]:
    """The kernel `step(key, state) -> (state, info)` of `sampler` on a model.

    Args:
      sampler: a `Sampler` (see `trilemma.samplers.SAMPLERS`).
      logits_fn: `logits_fn(params, tokens (S,)) -> logits (S, V)`; the mask token,
        if it is in the vocabulary, gets probability 0.
      params: the model's parameters (concrete, or traced inside `jit`).
      mask_id: the mask token.
    """

    def step(key, state: DecodeState):
        logits = logits_fn(params, state.tokens)
        return step_from_logits(sampler, key, state, logits, mask_id=mask_id)

    return step


def step_from_logits(
    sampler: Sampler, key, state: DecodeState, logits, *, mask_id: int
) -> tuple[DecodeState, DecodeInfo]:
    """One decoding step of `sampler` from the model's logits `(S, V)` at `state`.

    The pure part of `build_step`'s kernel: the jitted decoder computes the logits
    in the same program, a host model (`decode_host`) computes them outside and
    passes them in, and both then draw exactly the same tokens for the same key.
    """
    tokens = state.tokens
    length = tokens.shape[0]
    masked = tokens == mask_id
    eligible, block_size = _blocks.eligible_positions(
        masked, sampler.block, state.start
    )
    probs = _blocks.token_probabilities(logits, mask_id)
    pi = _blocks.draw_distribution(probs, sampler.temperature)
    # one call for every uniform of the step: tokens, tie priorities, the count
    u = jax.random.uniform(key, (2 * length + 1,), dtype=probs.dtype)
    drawn = _blocks.draw_index(pi, u[:length])
    # positions as offsets from the window's start (`Sampler.score`)
    offsets = jnp.arange(length) - state.start
    table = _blocks.quantize(sampler.score(probs, offsets))
    score = jnp.take_along_axis(table, drawn[:, None], axis=-1)[:, 0]
    score = jnp.where(eligible, score, -jnp.inf)
    # one sort ranks by score, ties by a uniformly random priority
    neg_sorted, _, order = jax.lax.sort(
        (-score, u[length : 2 * length], jnp.arange(length)), num_keys=2
    )
    pmf = sampler.count(
        -neg_sorted if sampler.count_order == "score" else score,
        jnp.sum(eligible).astype(int),
        jnp.asarray(block_size).astype(int),
        state.step.astype(int),
    )
    count = _blocks.draw_index(pmf, u[2 * length])
    commit = jnp.zeros(length, bool).at[order].set(jnp.arange(length) < count)
    commit = commit & eligible
    new_tokens = jnp.where(commit, drawn.astype(tokens.dtype), tokens)
    committed = jnp.sum(commit).astype(int)
    new_state = state._replace(
        tokens=new_tokens,
        step=state.step + 1,
        nfe=state.nfe + (committed > 0).astype(int),
    )
    return new_state, DecodeInfo(committed)


def make_step(sampler, logits_fns: tuple, params: tuple, *, mask_id: int) -> Callable:
    """`step(key, state) -> (state, info)` of any registered sampler on its models.

    A `Sampler` runs on one model; APD on two, the dLLM and its AR verifier.
    """
    check_num_models(sampler, logits_fns, "logits_fns")
    check_num_models(sampler, params, "params")
    if isinstance(sampler, Apd):
        (logits_fn, ar_logits_fn), (model_params, ar_params) = logits_fns, params
        apd_step = _apd.build_step(
            sampler, logits_fn, model_params, ar_logits_fn, ar_params, mask_id=mask_id
        )

        def step(key, state):
            new, committed = apd_step(key, state)
            return new, DecodeInfo(committed)

        return step
    (logits_fn,), (model_params,) = logits_fns, params
    return build_step(sampler, logits_fn, model_params, mask_id=mask_id)


def _decode_one(sampler, logits_fns, params, key, tokens, mask_id, record_steps):
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

    init_state = init(tokens, mask_id=mask_id)
    _, final, record = jax.lax.while_loop(cond, body, (key, init_state, record))
    return final.tokens, final.nfe, record, final.ar_nfe


@functools.partial(
    jax.jit, static_argnames=("sampler", "logits_fns", "mask_id", "record_steps")
)
def _decode_kernel(params, keys, tokens, *, sampler, logits_fns, mask_id, record_steps):
    """The one compiled batched decoder: `(B,)` keys and `(B, S)` tokens."""
    one = functools.partial(
        _decode_one,
        sampler,
        logits_fns,
        params,
        mask_id=mask_id,
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
        from ._host import decode_host

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
        record_steps=record_steps,
    )
    return Decoded(
        out[:batch],
        nfe[:batch],
        record[:batch] if record_steps else None,
        ar_nfe[:batch],
    )


def _models(sampler, model, ar_model) -> tuple:
    """`(model,)`, or `(model, ar_model)` for APD, checked against each other."""
    _checks.check_instance(sampler, "sampler", (Sampler, Apd), "a registered sampler")
    _check_model(model, "model")
    if not isinstance(sampler, Apd):
        if ar_model is not None:
            raise ValueError(
                f"`ar_model` is APD's verifier; sampler {sampler.describe()} decodes "
                "with one model"
            )
        return (model,)
    if ar_model is None:
        raise ValueError(
            "APD needs an autoregressive verifier: pass `ar_model` (the CLI's "
            "`--ar-model`)"
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


def check_num_models(sampler, models, name: str = "models") -> None:
    """Raise `ValueError` unless `models` has one entry per model `sampler` reads.

    APD reads two, the dLLM and its AR verifier; every other sampler one.
    """
    two = isinstance(sampler, Apd)
    need, what = (2, "a dLLM and its AR verifier") if two else (1, "one model")
    if not isinstance(models, tuple | list) or len(models) != need:
        got = len(models) if isinstance(models, tuple | list) else type(models).__name__
        raise ValueError(
            f"`{name}` must hold {need} entr{'ies' if need > 1 else 'y'} for sampler "
            f"{sampler.describe()}, which decodes with {what}; got {got}."
        )


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
