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
    start = jnp.argmax(masked).astype(jnp.int32)
    zero = jnp.zeros((), jnp.int32)
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
        num_eligible = jnp.sum(eligible)
        pmf = sampler.count(jnp.sort(score)[::-1], num_eligible, block_size, state.step)
        count = jax.random.categorical(key_count, jnp.log(pmf))
        priority = jax.random.uniform(key_tie, (length,), dtype=probs.dtype)
        order = jnp.lexsort((priority, -score))  # by score, ties by random priority
        rank = (
            jnp.zeros(length, jnp.int32)
            .at[order]
            .set(jnp.arange(length, dtype=jnp.int32))
        )
        commit = eligible & (rank < count)
        new_tokens = jnp.where(commit, drawn.astype(tokens.dtype), tokens)
        committed = jnp.sum(commit).astype(jnp.int32)
        new_state = DecodeState(
            new_tokens,
            state.step + 1,
            state.nfe + (committed > 0).astype(jnp.int32),
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


def _default_steps(sampler: Sampler, tokens) -> int:
    steps = dict(sampler.params).get("num_steps")
    return max(tokens.shape[-1], steps or 0)
