r"""Monte Carlo decoding: a `Sampler` run on any `logits_fn`, jitted.

`step(key, state) -> (state, info)` draws every masked token from its law $\pi_j$
(Gumbel-max, in float64 when x64 is on), scores the drawn tokens, draws the count $k$
from the sampler's count pmf, ranks eligible positions by score with uniformly random
tie-breaking priorities, and commits the first $k$. It calls the same building blocks
as the exact enumerator, so Monte Carlo frequencies converge to `trilemma.simulate`'s
exact law.

A forward pass is counted (NFE) for each step that commits at least one token: a step
that commits nothing leaves the input unchanged, so its logits are cached (MDLM).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import NamedTuple

import jax
import jax.numpy as jnp

from .._types import Array
from . import _blocks
from ._sampler import Sampler


class DecodeState(NamedTuple):
    """Tokens being decoded, the step index, forward passes so far, window start."""

    tokens: Array
    step: Array
    nfe: Array
    start: Array


class DecodeInfo(NamedTuple):
    """What one step did: the number of positions it committed."""

    committed: Array


def init(tokens, *, mask_id: int) -> DecodeState:
    """Decoding state for `tokens` (L,), whose masked positions equal `mask_id`.

    The generation window starts at the first masked position (semi-AR blocks count
    from there).
    """
    tokens = jnp.asarray(tokens)
    masked = tokens == mask_id
    start = jnp.argmax(masked).astype(int)
    zero = jnp.zeros((), int)
    return DecodeState(tokens, zero, zero, start)


def build_step(
    sampler: Sampler, logits_fn: Callable, *, mask_id: int
) -> Callable[[Array, DecodeState], tuple[DecodeState, DecodeInfo]]:
    """The kernel `step(key, state) -> (state, info)` of `sampler` on `logits_fn`.

    Args:
      sampler: a `Sampler` (see `trilemma.samplers.SAMPLERS`).
      logits_fn: `tokens (L,) -> logits (L, V)`; the mask token, if it is in the
        vocabulary, gets probability 0.
      mask_id: the mask token.
    """

    def step(key, state: DecodeState):
        tokens = state.tokens
        length = tokens.shape[0]
        masked = tokens == mask_id
        eligible, block_size = _blocks.eligible_positions(
            masked, sampler.block, state.start
        )
        logits = jnp.asarray(logits_fn(tokens))
        vocab = logits.shape[-1]
        if 0 <= mask_id < vocab:
            logits = logits.at[:, mask_id].set(-jnp.inf)
        probs = jax.nn.softmax(logits, axis=-1)
        pi = _blocks.draw_distribution(probs, sampler.temperature)
        key_token, key_count, key_tie = jax.random.split(key, 3)
        gumbel = jax.random.gumbel(key_token, pi.shape, dtype=probs.dtype)
        log_pi = jnp.where(pi > 0, jnp.log(jnp.where(pi > 0, pi, 1.0)), -jnp.inf)
        drawn = jnp.argmax(log_pi + gumbel, axis=-1)
        positions = jnp.arange(length)
        table = _blocks.quantize(sampler.score(probs, positions))
        score = jnp.take_along_axis(table, drawn[:, None], axis=-1)[:, 0]
        score = jnp.where(eligible, score, -jnp.inf)
        num_eligible = jnp.sum(eligible).astype(int)
        pmf = sampler.count(
            jnp.sort(score)[::-1],
            num_eligible,
            jnp.asarray(block_size).astype(int),
            state.step.astype(int),
        )
        count = jax.random.categorical(key_count, jnp.log(pmf)).astype(int)
        priority = jax.random.uniform(key_tie, (length,), dtype=probs.dtype)
        order = jnp.lexsort((priority, -score))  # by score, ties by random priority
        rank = jnp.zeros(length, int).at[order].set(jnp.arange(length))
        commit = eligible & (rank < count)
        new_tokens = jnp.where(commit, drawn.astype(tokens.dtype), tokens)
        committed = jnp.sum(commit).astype(int)
        new_state = DecodeState(
            new_tokens,
            state.step + 1,
            state.nfe + (committed > 0).astype(int),
            state.start,
        )
        return new_state, DecodeInfo(committed)

    return step


@functools.partial(
    jax.jit, static_argnames=("sampler", "logits_fn", "mask_id", "max_steps")
)
def decode(
    sampler: Sampler,
    logits_fn: Callable,
    key,
    tokens,
    *,
    mask_id: int,
    max_steps: int | None = None,
) -> tuple[Array, Array]:
    """Decode every masked position of `tokens` (L,); returns `(tokens, nfe)`.

    Runs `build_step` until no mask is left (or `max_steps` steps, default L, or the
    MDLM step count). Batch with `jax.vmap` over `key` and `tokens`.
    """
    step = build_step(sampler, logits_fn, mask_id=mask_id)
    limit = max_steps if max_steps is not None else _default_steps(sampler, tokens)

    def cond(carry):
        _, state = carry
        return jnp.any(state.tokens == mask_id) & (state.step < limit)

    def body(carry):
        key, state = carry
        key, sub = jax.random.split(key)
        state, _ = step(sub, state)
        return key, state

    _, final = jax.lax.while_loop(cond, body, (key, init(tokens, mask_id=mask_id)))
    return final.tokens, final.nfe


def decode_batch(
    sampler: Sampler,
    logits_fn: Callable,
    key,
    tokens,
    *,
    mask_id: int,
    max_steps: int | None = None,
) -> tuple[Array, Array]:
    """Decode a batch `(B, L)` of sequences, sharded over every available device.

    Row $i$ uses `jax.random.split(key, B)[i]`, so results do not depend on the
    number of devices. The batch is padded to a multiple of the device count and
    placed with a `NamedSharding` over a one-axis mesh; the same code runs on one CPU,
    several host devices (`XLA_FLAGS=--xla_force_host_platform_device_count=4`) or
    GPUs.

    Returns:
      `(tokens (B, L), nfe (B,))`.
    """
    tokens = jnp.asarray(tokens)
    if tokens.ndim != 2:
        raise ValueError(
            f"`tokens` must be a (batch, length) array; got {tokens.shape}."
        )
    batch = tokens.shape[0]
    keys = jax.random.split(key, batch)
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
    run = jax.vmap(
        functools.partial(
            decode, sampler, logits_fn, mask_id=mask_id, max_steps=max_steps
        )
    )
    out, nfe = jax.jit(run)(keys, tokens)
    return out[:batch], nfe[:batch]


def _default_steps(sampler: Sampler, tokens) -> int:
    steps = dict(sampler.params).get("num_steps")
    return max(tokens.shape[-1], steps or 0)
