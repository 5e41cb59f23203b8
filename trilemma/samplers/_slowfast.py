r"""SlowFast sampling: slow exploration, then a fast phase over the span it found.

Wei et al., "Accelerating Diffusion Large Language Models with SlowFast Sampling: The
Three Golden Principles", arXiv 2506.10848. Within a block of $B$ positions the
sampler runs *sub-cycles*; a sub-cycle starts at offset $a$ (0 in a fresh block, then
the previous sub-cycle's end), with every position before $a$ decoded, and has two
phases, one forward pass per step:

1. **Slow (exploration), $K$ passes.** Each pass estimates where the sub-cycle
   should end, $e = \mathrm{clip}(a + \delta, 1, B)$ with $\delta$ one past the
   farthest masked offset at or after $a$ whose drawn token's confidence is
   $\ge c$ (`cycle_confidence`; $\delta = 1$ if none), and keeps the last $W$
   estimates; when they are full and their standard deviation is below $\sigma$
   (`stability_std`) the end is *determined* as the newest estimate (no further
   estimates in this sub-cycle), and at the last pass an undetermined end is the
   floor of the mean of the kept estimates (clipped to $[1, B]$). Each pass also
   commits, among the masked offsets $\ge a$ of the block, every token with
   confidence $\ge h$ (`high_confidence`) if there are at least two, else the
   single most confident one.
2. **Fast, until $[a, e)$ is decoded.** Each pass commits, within $[a, e)$, every
   token with confidence $\ge h$ if at least two, else the most confident one
   (that is Fast-dLLM's threshold rule on the span). Then $a \leftarrow e$.

A block is done when it has no mask left; the next block starts a fresh sub-cycle.
Every step commits at least one token.

**State.** The sub-cycle's start $a$ and end $e$, the slow passes run so far, the
kept estimates (a fixed-size window and its fill count) and whether the end is
determined. Under `jit` these are `SlowFastExtra` arrays; in the exact law a
hashable tuple (`exact_init`, `exact_step`): `trilemma.simulate` enumerates the
output law as a chain over (revealed tokens, sampler state).

**A reproduced quirk: wasted passes.** The slow phase always runs its $K$ passes. When
a slow pass decodes the block's last mask, the remaining passes of the phase still
run the model and commit nothing (both codes count them in NFE). With
`skip_wasted=False` (default) this module charges them to the step that fills the
block, so E[NFE] matches the codes' counts; with `skip_wasted=True` a step costs one
pass.

**Sources.** The authors' `generate_slow_fast_sampling` (LiangrunFlora/Slow-Fast-
Sampling @ 1f56fb6, `slow-fast-sampling/sampling_utils/generate_slow_fast_sampling.py`)
and ParallelBench's port (furiosa-ai/ParallelBench @ b7e488a,
`parallelbench/models/local/llada/slowfast_generate.py`). Defaults of both: $K$ =
`k_exploration_steps` / `sf_exploration_steps` 6, $c$ =
`cycle_len_confidence_threshold` / `sf_cycle_confidence_threshold` 0.3, $h$ =
`high_confidence_threshold` / `sf_high_confidence_threshold` 0.9, $W$ =
`cycle_length_stability_window` 2, $\sigma$ =
`cycle_length_stability_std_dev_threshold` 1.0 (the port fixes $W$ and $\sigma$),
and at most 256 sub-cycles per block. ParallelBench sweeps $h \in \{0.5, \dots,
1.0\}$ at $c = 0.3$ (`scripts/llada/llada-1.5/slowfast.sh`). This module is written
from the rule, not from either code.

**Where the codes differ, and what is modelled.**

* *The fast phase's inputs.* The authors run the model on the whole sequence at the
  fast phase's first pass, and afterwards on the sequence *truncated* after the
  span, $x_{<e}$, reusing the first pass's logits beyond it (a cache that also
  changes what the model sees inside the span). ParallelBench's port runs a full
  forward pass every time; this module models the full pass.
* *Temperature.* The authors draw the candidates by Gumbel-max at temperature $T$
  (noise in the logits' dtype, not float64) and score them by their probability at
  $T = 1$, as here ($T > 0$ draws from $p^{1/T}$); ParallelBench's port is always
  greedy. Default $T = 0$.
* *Ties.* The codes take `torch.argmax`/`torch.topk` (the leftmost of tied
  positions in the port); here ties are broken uniformly at random, as for every
  trilemma sampler.
* *The 256-sub-cycle cap* cannot bind here: a sub-cycle commits at least one token,
  and the windows trilemma decodes are far shorter.
* *Standard deviation* is compared in exact integer arithmetic ($W\sum e^2 -
  (\sum e)^2 < (W\sigma)^2$, the population deviation of `np.std`), the mean
  floored as `int(np.mean(...))` does for positive values.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from .. import _checks
from .._types import Array
from . import _level_draws, _protocol, rules
from ._klass import on_grid

MAX_WINDOW = 1024
"""Largest `stability_window` (the state keeps that many estimates)."""


class SlowFastExtra(NamedTuple):
    """SlowFast's state under `jit` (offsets within the current block).

    Attributes:
      start: `()` the sub-cycle's first offset $a$.
      end: `()` its end $e$ once determined (0 before).
      explored: `()` slow passes run in this sub-cycle ($K$: the fast phase).
      estimates: `(W,)` the kept estimates, the newest last.
      count: `()` how many of `estimates` are filled.
      determined: `()` whether the end is determined.
    """

    start: Array
    end: Array
    explored: Array
    estimates: Array
    count: Array
    determined: Array


class SlowFast(NamedTuple):
    r"""SlowFast's settings (see the module).

    Attributes:
      name: `"slowfast"`.
      exploration_steps: $K$, passes of the slow phase.
      cycle_confidence: $c$, the confidence that extends the span estimate.
      high_confidence: $h$, the confidence committed in parallel.
      stability_window: $W$, estimates compared.
      stability_std: $\sigma$, their standard deviation that fixes the end.
      block: block length, or None (one block, the generation window).
      temperature: token draw: 0 is greedy with uniform ties, else $p^{1/T}$.
      skip_wasted: charge only passes that commit (not the slow passes run after
        the block is full).
      params: the factory's arguments, for display.
    """

    name: str
    exploration_steps: int
    cycle_confidence: float
    high_confidence: float
    stability_window: int
    stability_std: float
    block: int | None
    temperature: float
    skip_wasted: bool
    params: tuple[tuple[str, object], ...]

    def max_steps(self, length: int) -> int:
        """Every step commits at least one token: at most `length` steps."""
        return int(length)

    def describe(self) -> str:
        """`slowfast(exploration_steps=6, cycle_confidence=0.3, ...)`."""
        return _protocol.describe(self)

    # -- the sampler protocol (`_protocol`) --------------------------------------------

    num_models = 1
    remasks = False
    law = "chain"
    """Its exact law: the chain enumerator over (tokens, `exact_step`'s state)."""

    @property
    def phases(self) -> tuple[Callable, ...]:
        """One phase: `slowfast_step`."""
        return (_protocol.single_phase(functools.partial(slowfast_step, self)),)

    def init_extra(self, length: int, vocab_size: int) -> SlowFastExtra:
        """A fresh sub-cycle at the start of the first block."""
        del length, vocab_size
        zero = jnp.zeros((), int)
        return SlowFastExtra(
            zero,
            zero,
            zero,
            jnp.zeros(self.stability_window, int),
            zero,
            jnp.zeros((), bool),
        )

    def exact_init(self, length: int) -> tuple:
        """The exact law's initial state: `(start, end, explored, estimates, det)`."""
        del length
        return (0, 0, 0, (), False)

    def exact_step(self, probs, tokens, extra, *, mask_id: int) -> list:
        """Every outcome of one step: `[(probability, tokens, state, nfe), ...]`.

        Args:
          probs: `(L, V)` the model's probabilities at the output positions.
          tokens: `(L,)` the outputs, `mask_id` where masked.
          extra: this sampler's state (`exact_init`, or a state returned here).
          mask_id: the mask token.
        """
        return _exact_step(self, probs, tokens, extra, mask_id=mask_id)


def slowfast(
    *,
    exploration_steps: int = 6,
    cycle_confidence: float = 0.3,
    high_confidence: float = 0.9,
    stability_window: int = 2,
    stability_std: float = 1.0,
    block: int | None = None,
    temperature: float = 0.0,
    skip_wasted: bool = False,
) -> SlowFast:
    r"""SlowFast sampling: explore one token at a time, then fill the span found.

    Wei et al., arXiv 2506.10848. Sub-cycles of a slow phase (`exploration_steps`
    passes that commit one token each, or every token above `high_confidence` when
    two or more are, while estimating how far ahead the model is confident) and a
    fast phase (the threshold rule on the estimated span until it is decoded); see
    `trilemma.samplers._slowfast`.

    Args:
      exploration_steps: K >= 1 passes of each slow phase (default 6, both codes).
      cycle_confidence: c in [0, 1]; the span estimate reaches the farthest masked
        token with confidence >= c (default 0.3, both codes and ParallelBench's
        runs).
      high_confidence: h in [0, 1]; tokens with confidence >= h are committed
        together when two or more are (default 0.9; ParallelBench sweeps 0.5 to 1).
      stability_window: W >= 1 estimates compared (default 2, both codes).
      stability_std: sigma >= 0; the end is fixed when the W estimates' standard
        deviation is below it (default 1.0, both codes).
      block: block length (None: one block, the generation window).
      temperature: 0 for greedy (uniform ties), else sample from p**(1/temperature).
      skip_wasted: charge one pass per step, leaving out the slow passes the codes
        still run after a block is full (default False: they are charged, as the
        codes' NFE counts them).
    """
    exploration_steps = _checks.check_int(
        exploration_steps, "exploration_steps", minimum=1, maximum=2**31 - 1
    )
    cycle_confidence = _checks.check_real(
        cycle_confidence, "cycle_confidence", low=0.0, high=1.0
    )
    high_confidence = _checks.check_real(
        high_confidence, "high_confidence", low=0.0, high=1.0
    )
    stability_window = _checks.check_int(
        stability_window, "stability_window", minimum=1, maximum=MAX_WINDOW
    )
    stability_std = _checks.check_real(
        stability_std, "stability_std", low=0.0, high_open=True
    )
    if block is not None:
        block = _checks.check_int(block, "block", minimum=1)
    temperature = _checks.check_real(
        temperature, "temperature", low=0.0, high_open=True
    )
    skip_wasted = _checks.check_bool(skip_wasted, "skip_wasted")
    shown = {
        "exploration_steps": exploration_steps,
        "cycle_confidence": cycle_confidence,
        "high_confidence": high_confidence,
        "stability_window": stability_window,
        "stability_std": stability_std,
        "temperature": temperature,
        "block": block,
        "skip_wasted": skip_wasted or None,
    }
    params = tuple((key, value) for key, value in shown.items() if value is not None)
    return SlowFast(
        "slowfast",
        exploration_steps,
        cycle_confidence,
        high_confidence,
        stability_window,
        stability_std,
        block,
        temperature,
        skip_wasted,
        params,
    )


# -- the rule, written once for NumPy (exact) and JAX (Monte Carlo) -----------------


class Geometry(NamedTuple):
    """The current block: each position's offset in it, membership, and its size."""

    offsets: Array
    in_block: Array
    size: Array


def geometry(sampler: SlowFast, masked, start) -> Geometry:
    """The leftmost block with a mask, counted from the window's `start`.

    A partial last block (a window that is not a multiple of the block length) has
    its own, smaller size.
    """
    xp = rules.xp_of(masked)
    length = masked.shape[-1]
    positions = xp.arange(length)
    window = length - start
    if sampler.block is None:
        index = xp.where(positions >= start, 0, -1)
        width = window
    else:
        width = min(sampler.block, max(length, 1))
        index = xp.where(positions >= start, (positions - start) // width, -1)
    current = xp.min(xp.where(masked, index, length))
    first = start + current * width
    size = xp.clip(window - current * width, 0, width)
    return Geometry(positions - first, index == current, size)


def scope(sampler: SlowFast, extra, geo: Geometry, masked):
    """The masks a step may commit: offsets `[a, B)` when slow, `[a, e)` when fast."""
    xp = rules.xp_of(masked)
    slow = extra.explored < sampler.exploration_steps
    stop = xp.where(slow, geo.size, extra.end)
    return masked & geo.in_block & (geo.offsets >= extra.start) & (geo.offsets < stop)


def high(sampler: SlowFast, conf):
    """Whether each quantised confidence reaches h."""
    return conf >= on_grid(sampler.high_confidence)


def reaches_cycle(sampler: SlowFast, conf):
    """Whether each quantised confidence reaches c (the span estimate)."""
    return conf >= on_grid(sampler.cycle_confidence)


def advance(sampler: SlowFast, extra, geo: Geometry, masked, above, masked_after):
    r"""The state after a step, and the wasted passes it charges.

    Args:
      sampler: the settings.
      extra: the state before the step (`SlowFastExtra` fields as arrays).
      geo: the block the step ran in.
      masked: `(L,)` masks before the step.
      above: `(L,)` whether each drawn token's confidence reaches $c$.
      masked_after: `(L,)` masks after the step's commits.

    Returns:
      `(SlowFastExtra, wasted)`: `wasted` is the slow passes left when this step
      filled the block (0 otherwise).
    """
    xp = rules.xp_of(masked)
    k_steps, window = sampler.exploration_steps, sampler.stability_window
    a, end, explored = extra.start, extra.end, extra.explored
    slow = explored < k_steps
    estimating = slow & ~extra.determined
    # the span estimate: one past the farthest confident mask at or after a
    seen = masked & geo.in_block & (geo.offsets >= a) & above
    far = xp.max(xp.where(seen, geo.offsets, -1))
    estimate = xp.clip(a + xp.where(far >= 0, far - a + 1, 1), 1, geo.size)
    estimates = xp.concatenate([extra.estimates[1:], estimate[None]])
    count = xp.minimum(extra.count + 1, window)
    total, squares = xp.sum(estimates), xp.sum(estimates * estimates)
    limit = float(window * sampler.stability_std) ** 2
    spread = (window * squares - total * total).astype(float)
    steady = (count >= window) & (spread < limit)
    filled = xp.arange(window) >= window - count
    mean = xp.sum(xp.where(filled, estimates, 0)) // xp.maximum(count, 1)
    last_pass = explored + 1 >= k_steps
    decided = xp.where(steady, estimate, xp.clip(mean, 1, geo.size))
    fix = estimating & (steady | last_pass)
    end = xp.where(fix, decided, end)
    determined = extra.determined | fix
    estimates = xp.where(estimating, estimates, extra.estimates)
    count = xp.where(estimating, count, extra.count)
    explored = xp.where(slow, explored + 1, explored)
    # after the commits: a full block, or a decoded span, starts a sub-cycle
    block_done = ~xp.any(masked_after & geo.in_block)
    span = geo.in_block & (geo.offsets >= a) & (geo.offsets < end)
    span_done = ~xp.any(masked_after & span)
    wasted = xp.where(slow & block_done, k_steps - explored, 0)
    fresh = block_done | ((explored >= k_steps) & span_done)
    new = SlowFastExtra(
        start=xp.where(block_done, 0, xp.where(fresh, end, a)),
        end=xp.where(fresh, 0, end),
        explored=xp.where(fresh, 0, explored),
        estimates=xp.where(fresh, 0, estimates),
        count=xp.where(fresh, 0, count),
        determined=xp.where(fresh, False, determined),
    )
    return new, wasted


# -- Monte Carlo --------------------------------------------------------------------


def slowfast_step(
    sampler: SlowFast, key, state, logits, *, mask_id: int
) -> tuple[_protocol.DecodeState, _protocol.DecodeInfo]:
    """One SlowFast step from the model's logits `(S, V)` at `state` (jittable)."""
    tokens = state.tokens
    length = tokens.shape[0]
    extra = state.extra
    masked = tokens == mask_id
    geo = geometry(sampler, masked, state.start)
    probs = rules.token_probabilities(logits, mask_id)
    pi = rules.draw_distribution(probs, sampler.temperature)
    u = jax.random.uniform(key, (2 * length,), dtype=probs.dtype)
    drawn = rules.draw_index(pi, u[:length])
    conf = rules.quantize(jnp.take_along_axis(probs, drawn[:, None], axis=-1)[:, 0])
    inside = scope(sampler, extra, geo, masked)
    confident = inside & high(sampler, conf)
    score = jnp.where(inside, conf, -jnp.inf)
    _, _, order = jax.lax.sort((-score, u[length:], jnp.arange(length)), num_keys=2)
    best = jnp.zeros(length, bool).at[order[0]].set(True) & inside
    commit = jnp.where(jnp.sum(confident) > 1, confident, best)
    new_tokens = jnp.where(commit, drawn.astype(tokens.dtype), tokens)
    new_extra, wasted = advance(
        sampler, extra, geo, masked, reaches_cycle(sampler, conf), masked & ~commit
    )
    committed = jnp.sum(commit).astype(int)
    cost = (committed > 0).astype(int) * (1 + wasted * int(not sampler.skip_wasted))
    new_state = state._replace(
        tokens=new_tokens, step=state.step + 1, nfe=state.nfe + cost, extra=new_extra
    )
    return new_state, _protocol.DecodeInfo(committed)


# -- the exact law ------------------------------------------------------------------


def _exact_step(sampler: SlowFast, probs, tokens, extra, *, mask_id: int) -> list:
    probs = np.asarray(probs, dtype=float)
    tokens = np.asarray(tokens)
    length = tokens.shape[0]
    masked = tokens == mask_id
    if not masked.any():
        return [(1.0, tokens, sampler.exact_init(length), 0)]
    pattern = masked.tobytes()
    relevant, in_scope, seen = _plan(sampler, pattern, extra)
    levels = [
        _level_draws.token_levels(probs[j], sampler.temperature) for j in relevant
    ]
    levels_of = dict(zip(relevant, levels, strict=True))
    h, c = on_grid(sampler.high_confidence), on_grid(sampler.cycle_confidence)

    outcomes: dict = {}
    for p_levels, chosen in _level_draws.joint_levels(levels, "SlowFast's exact step"):
        if p_levels == 0:
            continue
        by_position = dict(zip(relevant, chosen, strict=True))
        confident = tuple(j for j in in_scope if by_position[j] >= h)
        if len(confident) > 1:
            choices = [(1.0, confident)]
        else:
            scope_levels = [by_position[j] for j in in_scope]
            choices = _level_draws.top_k(in_scope, scope_levels, 1)
        far = max((j for j in seen if by_position[j] >= c), default=-1)
        for p_set, committed in choices:
            new_extra, cost = _next(sampler, pattern, extra, far, committed)
            for p_tok, picked in _level_draws.token_choices(
                committed, by_position, levels_of
            ):
                new_tokens = tokens.copy()
                new_tokens[list(picked)] = list(picked.values())
                out_key = (new_tokens.tobytes(), new_extra)
                p = p_levels * p_set * p_tok
                if out_key in outcomes:
                    outcomes[out_key][0] += p
                else:
                    outcomes[out_key] = [p, new_tokens, new_extra, cost]
    return [tuple(row) for row in outcomes.values()]


@functools.lru_cache(maxsize=2**16)
def _plan(sampler: SlowFast, pattern: bytes, extra) -> tuple[list, list, list]:
    """`(positions whose draw matters, the commit scope, the estimate's positions)`.

    Cached: they depend on the mask pattern and the state only.
    """
    masked = np.frombuffer(pattern, dtype=bool)
    state = _as_arrays(sampler, extra)
    geo = geometry(sampler, masked, 0)
    inside = scope(sampler, state, geo, masked)
    estimating = bool((state.explored < sampler.exploration_steps) & ~state.determined)
    seen = masked & geo.in_block & (geo.offsets >= state.start) & estimating
    relevant = np.flatnonzero(inside | seen).tolist()
    return relevant, np.flatnonzero(inside).tolist(), np.flatnonzero(seen).tolist()


def _as_arrays(sampler: SlowFast, extra) -> SlowFastExtra:
    """The exact law's tuple state as NumPy scalars and arrays."""
    start, end, explored, kept, determined = extra
    window = sampler.stability_window
    estimates = np.zeros(window, int)
    if kept:
        estimates[window - len(kept) :] = kept
    return SlowFastExtra(
        np.asarray(start),
        np.asarray(end),
        np.asarray(explored),
        estimates,
        np.asarray(len(kept)),
        np.asarray(determined),
    )


@functools.lru_cache(maxsize=2**18)
def _next(sampler: SlowFast, pattern: bytes, extra, far: int, committed: tuple):
    """`(hashable state, forward passes)` after committing `committed` (cached).

    `far` is the farthest position whose drawn token reaches c (-1: none): all the
    span estimate reads of the draws.
    """
    masked = np.frombuffer(pattern, dtype=bool)
    length = masked.shape[0]
    masked_after = masked.copy()
    masked_after[list(committed)] = False
    reach = np.zeros(length, bool)
    if far >= 0:
        reach[far] = True
    state = _as_arrays(sampler, extra)
    geo = geometry(sampler, masked, 0)
    new, wasted = advance(sampler, state, geo, masked, reach, masked_after)
    cost = 1 + (0 if sampler.skip_wasted else int(wasted))
    if not masked_after.any():
        return sampler.exact_init(length), cost
    count = int(new.count)
    kept = tuple(int(e) for e in new.estimates[len(new.estimates) - count :])
    state = (
        int(new.start),
        int(new.end),
        int(new.explored),
        kept if count else (),
        bool(new.determined),
    )
    return state, cost
