r"""ReMDM as ParallelBench runs it on LLaDA: top-k decoding plus re-masking steps.

ReMDM (Wang et al., "Remasking Discrete Diffusion Models with Inference-Time
Scaling", arXiv 2503.00307) lets a decoded token return to the mask. Its LLaDA port
(guanghanwang/ReMDM-LLaDA, `eval_llada.py` @ 2ef4abd, `llada_remdm_sample`) and
ParallelBench's copy of that port (furiosa-ai/ParallelBench, code release c1bb424
/ 72de8f7, `model/remasking/llada/remdm.py`, `llada_remdm_sample`, selected by
`remasking="low_confidence_remdm"` in `model/llada_model.py`) run LLaDA's
confidence top-k and insert **re-masking steps** into each block's schedule. With a
window of $B$ masked positions decoded in $N$ steps (`num_steps`) and $n$
re-masking steps of $r$ tokens each (`remask_steps`, `remask_number`):

* normal steps follow LLaDA's schedule (`rules.topk_schedule`: $\lfloor B/N
  \rfloor$ tokens per step, the first $B \bmod N$ one more), committing the most
  confident drawn tokens, and cache each committed token's confidence;
* after $t = \min(\max(\min(\lfloor 7B/8 \rfloor, B - 1), 1), N)$ normal steps come
  the $n$ re-masking steps: each re-masks the $r$ committed tokens of lowest cached
  confidence (ties at random), runs the model and commits the $r$ most confident
  drawn tokens among all masked positions (not only the re-masked ones); then the
  remaining normal steps;
* every step is one forward pass: $N + n$ in all.

Confidence is `_remasking`'s: the tempered probability of the drawn token at
$\tau > 0$ (the port's `softmax(logits / T)`), the model's at $\tau = 0$; so $n = 0$
is `confidence_topk(num_steps=N)` at $\tau = 0$, and differs from it at $\tau > 0$,
where LLaDA's `generate` ranks by the untempered probability.

**As a trilemma step.** A forward pass is a step; the re-masking that opens a
re-masking step needs no model, so this module does it at the end of the step
before (the same law), and a window is never full while steps remain. The state
carries the cached confidences (`init_extra`: $+\infty$ for a position not
committed); the exact law (`exact_step`, `trilemma.simulation._chain`) keys states
by (tokens, step, cached confidences), an acyclic chain.

**Sources and differences.**

* ParallelBench has no defaults (`remdm_steps`, `remdm_number` must be given); the
  ReMDM-LLaDA scripts use `remdm_number=1`, and ParallelBench found $r = 1$, $n = 1$
  best (REFERENCE 5.9), this module's defaults. `num_steps=None` (default) is one
  token per step, ParallelBench's `steps = max_tokens`.
* **The original** (ReMDM-LLaDA) runs $2N$ steps: $n = N$ re-masking steps starting
  at step $\lfloor 7B/8 \rfloor$ (no clamp), normal steps committing $B/N$ each,
  always at temperature 1 (`_sample_categorical` with a $10^{-10}$ Gumbel floor).
  **ParallelBench's port** makes $n$ a parameter, clamps $t$ to $[1, B - 1]$, then
  inserts the re-masking steps at list index $t$ of the $N$ normal steps (so after
  all of them when $t \ge N$: with $N < 7B/8$ the window is full, then $r$ tokens are
  re-masked and redrawn), adds a temperature ($\tau = 0$: argmax of
  `softmax(logits)`; $\tau > 0$: a draw from `softmax(logits / T)` whose confidence
  is read at that temperature) and a semi-autoregressive block loop.
* **Threshold from the block, not the steps.** $t$ counts normal steps but is
  computed from the block length, so with fewer steps than $7B/8$ the re-masking
  always comes last (a quirk reproduced).
* **Not reproduced.** Semi-AR blocks (this sampler decodes the window as one block,
  ParallelBench's `block_length = max_tokens`); when fewer than $r$ tokens are
  committed, ParallelBench's `topk` over the cache would also pick uncommitted
  positions at $+\infty$ (prompt tokens included, torch's tie order deciding), where
  this module re-masks only the committed ones; ParallelBench's EOS handling.

This module is written from the rule, not from either code.
"""

from __future__ import annotations

import functools
import itertools
import math
from collections.abc import Callable
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from .. import _checks
from . import _protocol, _remasking


class Remdm(NamedTuple):
    """ReMDM's settings (see the module).

    Attributes:
      name: `"remdm"`.
      num_steps: normal steps $N$ (None: one token per step).
      remask_number: $r$, tokens re-masked (and committed) per re-masking step.
      remask_steps: $n$, re-masking steps.
      temperature: of the token draw (0: greedy, ties at random).
      params: the factory's arguments, for display.
    """

    name: str
    num_steps: int | None
    remask_number: int
    remask_steps: int
    temperature: float
    params: tuple[tuple[str, object], ...]

    def max_steps(self, length: int) -> int:
        """$N + n$ forward passes: the normal steps and the re-masking steps."""
        steps = length if self.num_steps is None else min(self.num_steps, length)
        return int(max(steps, 1)) + self.remask_steps

    def describe(self) -> str:
        """`remdm(remask_number=1, remask_steps=1, temperature=0.0)`."""
        return _protocol.describe(self)

    # -- the sampler protocol (`_protocol`) --------------------------------------------

    num_models = 1
    remasks = True
    law = "chain"
    """Its exact law: the absorption law of `trilemma.simulation._chain`."""

    @property
    def phases(self) -> tuple[Callable, ...]:
        """One phase: `step`."""
        return (_protocol.single_phase(functools.partial(step, self)),)

    def init_extra(self, length: int, vocab_size: int):
        """The cached confidence of each position, +inf until committed."""
        return jnp.full((length,), jnp.inf, dtype=jnp.result_type(float))

    # -- the exact step (`trilemma.simulation._chain`) ---------------------------------

    def exact_init(self, length: int):
        """`(step, cached confidences)`: step 0, nothing committed."""
        return (0, (math.inf,) * int(length))

    def exact_step(self, probs, tokens, extra, *, mask_id: int) -> list:
        """Every outcome of one step: `(probability, tokens, extra, nfe_cost)`."""
        return _exact_step(self, probs, tokens, extra, mask_id=mask_id)

    def exact_canonical(self, tokens, extra):
        """The state with positions sorted by (token, cached confidences).

        Valid while the window is the whole output (no semi-AR blocks): the step
        never reads a position's index.
        """
        return _remasking.canonical(tokens, extra)


def remdm(
    *,
    num_steps: int | None = None,
    remask_number: int = 1,
    remask_steps: int = 1,
    temperature: float = 0.0,
) -> Remdm:
    """ReMDM (ParallelBench's LLaDA port): confidence top-k plus re-masking steps.

    After about 7/8 of the window's normal steps, `remask_steps` steps each re-mask
    the `remask_number` committed tokens of lowest confidence and commit as many of
    the most confident drawn tokens.

    Args:
      num_steps: normal steps N over the window (LLaDA's schedule); None (default)
        commits one token per normal step.
      remask_number: r >= 1 tokens re-masked per re-masking step (default 1).
      remask_steps: n >= 0 re-masking steps (default 1; 0 is confidence top-k).
      temperature: 0 (default) for greedy with uniform ties, else sample from
        p**(1/temperature).
    """
    if num_steps is not None:
        num_steps = _checks.check_int(
            num_steps, "num_steps", minimum=1, maximum=_checks.INT64_MAX
        )
    remask_number = _checks.check_int(
        remask_number, "remask_number", minimum=1, maximum=_checks.INT64_MAX
    )
    remask_steps = _checks.check_int(
        remask_steps, "remask_steps", minimum=0, maximum=2**20
    )
    temperature = _checks.check_real(
        temperature, "temperature", low=0.0, high_open=True
    )
    shown = {
        "num_steps": num_steps,
        "remask_number": remask_number,
        "remask_steps": remask_steps,
        "temperature": temperature,
    }
    params = tuple((k, v) for k, v in shown.items() if v is not None)
    return Remdm("remdm", num_steps, remask_number, remask_steps, temperature, params)


def plan(sampler: Remdm, window, step):
    r"""`(count, remask_after)`: what step `step` of a `window` of $B$ does.

    `count` is the tokens it commits (LLaDA's schedule on a normal step, $r$ on a
    re-masking step; the caller caps it at the masks left) and `remask_after`
    whether the next step is a re-masking step, whose re-masking this step does.
    NumPy or JAX integers.
    """
    xp = jnp if isinstance(window, jax.Array) or isinstance(step, jax.Array) else np
    window = xp.asarray(window).astype(int)
    step = xp.asarray(step).astype(int)
    big = min(sampler.remask_number, 2**30)  # any count past the window is all
    normal = (
        window
        if sampler.num_steps is None
        else xp.minimum(min(sampler.num_steps, 2**30), window)
    )
    normal = xp.maximum(normal, 1)
    threshold = xp.maximum(xp.minimum((7 * window) // 8, window - 1), 1)
    first = xp.minimum(threshold, normal)
    last = first + sampler.remask_steps

    def remasking(s):
        return (s >= first) & (s < last)

    index = xp.where(step < first, step, step - sampler.remask_steps)
    base, rem = window // normal, window % normal
    count = xp.where(index < rem, base + 1, base)
    count = xp.where(remasking(step), big, count)
    return count, remasking(step + 1)


def step(
    sampler: Remdm, key, state, logits, *, mask_id: int
) -> tuple[_protocol.DecodeState, _protocol.DecodeInfo]:
    """One ReMDM step from the model's logits `(S, V)` (see the module)."""
    tokens = state.tokens
    length = tokens.shape[0]
    positions = jnp.arange(length)
    eligible = (tokens == mask_id) & (positions >= state.start)
    u = jax.random.uniform(key, (3 * length,), dtype=jnp.result_type(float))
    drawn, confidence = _remasking.draw_with_confidence(
        logits, mask_id, sampler.temperature, u[:length]
    )
    count, remask_after = plan(sampler, length - state.start, state.step)
    count = jnp.minimum(count, jnp.sum(eligible))
    commit = _remasking.select_first(
        jnp.where(eligible, -confidence, jnp.inf), u[length : 2 * length], count
    )
    new_tokens = jnp.where(commit, drawn.astype(tokens.dtype), tokens)
    cache = jnp.where(commit, confidence, state.extra)
    committed = jnp.isfinite(cache)
    number = jnp.where(
        remask_after, jnp.minimum(sampler.remask_number, jnp.sum(committed)), 0
    )
    remask = _remasking.select_first(
        jnp.where(committed, cache, jnp.inf), u[2 * length :], number
    )
    new_tokens = jnp.where(remask, mask_id, new_tokens)
    cache = jnp.where(remask, jnp.inf, cache)
    num_committed = jnp.sum(commit).astype(int)
    new_state = state._replace(
        tokens=new_tokens,
        step=state.step + 1,
        nfe=state.nfe + (num_committed > 0).astype(int),
        extra=cache,
    )
    return new_state, _protocol.DecodeInfo(num_committed, jnp.sum(remask).astype(int))


def _exact_step(sampler: Remdm, probs, tokens, extra, *, mask_id: int) -> list:
    """Every outcome of one step from the exact marginals `probs` `(L, V)`."""
    step_index, cache = extra
    tokens = np.asarray(tokens)
    length = len(tokens)
    masked = [int(j) for j in np.nonzero(tokens == mask_id)[0]]
    count, remask_after, events = _exact_plan(sampler, length, step_index)
    count = min(count, len(masked))
    groups = _remasking.confidence_classes(probs, sampler.temperature, masked)
    out: dict = {}
    cost = int(count > 0)
    budget = sampler.remask_number * events
    for chosen in itertools.product(*(range(len(g)) for g in groups)):
        weight = 1.0
        for i, c in enumerate(chosen):
            weight *= groups[i][c][1]
        scores = [(i, groups[i][c][0]) for i, c in enumerate(chosen)]
        for share, picked in _remasking.tie_subsets(scores, count, largest=True):
            new_cache = list(cache)
            for i in picked:
                new_cache[masked[i]] = groups[i][chosen[i]][0]
            options = _remask_options(sampler, new_cache, remask_after, budget)
            filled = [masked[i] for i in picked]
            for w_tok, values in _remasking.token_choices(groups, chosen, picked):
                new = tokens.copy()
                new[filled] = values
                for w_remask, remasked, kept in options:
                    again = new
                    if remasked:
                        again = new.copy()
                        again[remasked] = mask_id
                    _remasking.add(
                        out,
                        again,
                        (step_index + 1, kept),
                        weight * share * w_tok * w_remask,
                        cost,
                    )
    return _remasking.outcomes(out)


def _remask_options(sampler: Remdm, cache, remask_after: bool, budget: int) -> list:
    """`(probability, re-masked positions, cache kept)` after a step's commits.

    When the next step is a re-masking one, the lowest cached confidences are
    re-masked now (ties at random); the cache kept in the exact state forgets what
    no later re-masking can reach (`_remasking.lowest_relevant`: at most `budget`
    more tokens re-masked).
    """
    if not remask_after:
        return [(1.0, [], _remasking.lowest_relevant(cache, budget))]
    committed = [(j, c) for j, c in enumerate(cache) if math.isfinite(c)]
    number = min(sampler.remask_number, len(committed))
    options = []
    for share, picked in _remasking.tie_subsets(committed, number, largest=False):
        new_cache = list(cache)
        for j in picked:
            new_cache[j] = math.inf
        kept = _remasking.lowest_relevant(new_cache, budget)
        options.append((share, list(picked), kept))
    return options


@functools.lru_cache(maxsize=4096)
def _exact_plan(sampler: Remdm, window: int, step_index: int) -> tuple[int, bool, int]:
    """`plan` as Python values, with the re-maskings still to come after this step."""
    count, remask_after = plan(sampler, window, step_index)
    later = range(step_index + 1, sampler.max_steps(window))
    events = sum(bool(plan(sampler, window, s)[1]) for s in later)
    return int(count), bool(remask_after), events
