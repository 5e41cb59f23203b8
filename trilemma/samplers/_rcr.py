r"""RCR, MDPO's running-confidence re-masking: predict every mask, keep the surest.

MDPO (He et al., "MDPO: Overcoming the Training-Inference Divide of Masked Diffusion
Language Models", arXiv 2508.13148) proposes Running Confidence Remasking. With a
window of $B$ masked positions decoded in $N$ steps (`num_steps`) on MaskGIT's
linear schedule, step $i$

1. runs the model once and draws a token at **every** masked position, recording
   each one's confidence (`_remasking`: the drawn token's probability, tempered at
   $\tau > 0$) as its *running confidence*;
2. unless it is the last step, re-masks the $B - C_i$ positions of lowest running
   confidence over the whole window (tokens committed at earlier steps keep the
   confidence they had when committed, so a newer, surer token can displace an
   older one), ties at random; $C_i$ is the number that MaskGIT's linear schedule
   has unmasked after step $i$:
   $$C_i = B - \lfloor B \cdot \mathrm{clip}(1 - (i + 1)/N,\ 10^{-6},\ 1) \rfloor,$$
   computed in float64 as the code does (`kept_after`).

Every step is one forward pass ($N$ in all, fewer when $C_i$ reaches $B$ early: see
the quirks). At $N = 1$ RCR commits the whole window at once.

**As a trilemma step.** The state carries the running confidences (`init_extra`:
$+\infty$ where nothing is committed); the exact law (`exact_step`,
`trilemma.simulation._chain`) keys states by (tokens, step, running confidences), an
acyclic chain.

**Sources and differences.** The authors' `diffusion_generate(..., rcr=True)`
(autonomousvision/mdpo @ 6bf80c9, `src/mdlm_generation_utils.py`; schedule from
`src/llada/generate.py`'s `get_num_transfer_tokens_maskgit`, `mode="linear"`
by default, with cosine, power, log and exp schedules as options) and
ParallelBench's port (furiosa-ai/ParallelBench, code release c1bb424 / 72de8f7,
`model/remasking/llada/mdpo_rcr.py`, `generate_dlm(..., overtime_conf=True)`,
selected by `remasking="low_confidence_rcr"`; the newer tree's
`parallelbench/models/local/generate_rcr.py` @ 931267d is the same rule):

* **Temperature.** ParallelBench asserts $\tau = 0$ (argmax, confidence from
  `softmax(logits)`); MDPO's code samples from `softmax(logits / T)` at $\tau > 0$
  and reads the confidence there; this module takes either (default 0).
* **Float64 schedule (reproduced).** $C_i$ is truncated in float64, so it can fall
  one short of the exact value and jump at the end: $B = 5$ in $N = 5$ steps keeps
  1, 2, 3, 5, 5 tokens (exact arithmetic: 1, 2, 3, 4, 5): the window is full after
  4 steps. Both codes still run the fifth forward pass on a full window (a wasted
  pass, counted in their NFE); trilemma stops when no mask is left, so its E[NFE]
  is one lower there.
* **Prompt ties (not reproduced).** Both codes rank the whole sequence for
  re-masking, with every position never committed (the prompt's, later blocks')
  at running confidence 1 (their zeros replaced by 1); when committed tokens also
  have confidence exactly 1 (a deterministic position of an ideal model), torch's
  `topk` may re-mask a prompt token instead. Here only the window's committed
  tokens are ranked.
* **Blocks (not reproduced).** Both codes decode semi-autoregressive blocks and
  never reset the running confidences between blocks, so a later block's
  re-masking can reach back into an earlier block; this sampler decodes the window
  as one block (ParallelBench's `block_length = max_tokens`).

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

MAX_STEPS = 2**20
"""Most steps RCR takes (every step is a forward pass)."""


class Rcr(NamedTuple):
    """RCR's settings (see the module).

    Attributes:
      name: `"rcr"`.
      num_steps: $N$, steps over the window (MaskGIT's linear schedule).
      temperature: of the token draw (0: greedy, ties at random).
      params: the factory's arguments, for display.
    """

    name: str
    num_steps: int
    temperature: float
    params: tuple[tuple[str, object], ...]

    def max_steps(self, length: int) -> int:
        """$N$: every step is one forward pass, the last one commits the rest."""
        return self.num_steps

    def describe(self) -> str:
        """`rcr(num_steps=4, temperature=0.0)`."""
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
        """The running confidence of each position, +inf until committed."""
        return jnp.full((length,), jnp.inf, dtype=jnp.result_type(float))

    # -- the exact step (`trilemma.simulation._chain`) ---------------------------------

    def exact_init(self, length: int):
        """`(step, running confidences)`: step 0, nothing committed."""
        return (0, (math.inf,) * int(length))

    def exact_step(self, probs, tokens, extra, *, mask_id: int) -> list:
        """Every outcome of one step: `(probability, tokens, extra, nfe_cost)`."""
        return _exact_step(self, probs, tokens, extra, mask_id=mask_id)

    def exact_canonical(self, tokens, extra):
        """The state with positions sorted by (token, running confidences).

        Valid while the window is the whole output (no semi-AR blocks): the step
        never reads a position's index.
        """
        return _remasking.canonical(tokens, extra)


def rcr(*, num_steps: int, temperature: float = 0.0) -> Rcr:
    """RCR (MDPO): draw every mask each step, re-mask the lowest running confidences.

    Args:
      num_steps: N >= 1 steps over the window on MaskGIT's linear schedule (one
        forward pass each).
      temperature: 0 (default; ParallelBench's only setting) for greedy with
        uniform ties, else sample from p**(1/temperature) (MDPO's code).
    """
    num_steps = _checks.check_int(num_steps, "num_steps", minimum=1, maximum=MAX_STEPS)
    temperature = _checks.check_real(
        temperature, "temperature", low=0.0, high_open=True
    )
    params = (("num_steps", num_steps), ("temperature", temperature))
    return Rcr("rcr", num_steps, temperature, params)


def kept_after(window, step, num_steps: int):
    r"""$C_i$: tokens MaskGIT's linear schedule has unmasked after step `step`.

    `window - floor(window * clip(1 - (step + 1) / num_steps, 1e-6, 1))`, in float64
    as MDPO's and ParallelBench's code compute it (float32 in JAX when x64 is off).

    >>> [int(kept_after(5, i, 5)) for i in range(5)]
    [1, 2, 3, 5, 5]
    """
    xp = jnp if isinstance(window, jax.Array) or isinstance(step, jax.Array) else np
    dtype = jnp.result_type(float) if xp is jnp else np.float64
    size = xp.asarray(window).astype(dtype)
    ratio = 1.0 - (xp.asarray(step).astype(dtype) + 1.0) / float(num_steps)
    ratio = xp.clip(ratio, 1e-6, 1.0)
    return (size - xp.floor(size * ratio)).astype(int)


def step(
    sampler: Rcr, key, state, logits, *, mask_id: int
) -> tuple[_protocol.DecodeState, _protocol.DecodeInfo]:
    """One RCR step from the model's logits `(S, V)` (see the module)."""
    tokens = state.tokens
    length = tokens.shape[0]
    positions = jnp.arange(length)
    window = positions >= state.start
    commit = (tokens == mask_id) & window
    u = jax.random.uniform(key, (2 * length,), dtype=jnp.result_type(float))
    drawn, confidence = _remasking.draw_with_confidence(
        logits, mask_id, sampler.temperature, u[:length]
    )
    new_tokens = jnp.where(commit, drawn.astype(tokens.dtype), tokens)
    running = jnp.where(commit, confidence, state.extra)
    size = length - state.start
    last = state.step >= sampler.num_steps - 1
    kept = kept_after(size, state.step, sampler.num_steps)
    number = jnp.where(last, 0, jnp.maximum(size - kept, 0))
    remask = _remasking.select_first(
        jnp.where(window, running, jnp.inf), u[length:], number
    )
    new_tokens = jnp.where(remask, mask_id, new_tokens)
    running = jnp.where(remask, jnp.inf, running)
    num_committed = jnp.sum(commit).astype(int)
    new_state = state._replace(
        tokens=new_tokens,
        step=state.step + 1,
        nfe=state.nfe + (num_committed > 0).astype(int),
        extra=running,
    )
    return new_state, _protocol.DecodeInfo(num_committed, jnp.sum(remask).astype(int))


@functools.lru_cache(maxsize=4096)
def _exact_plan(num_steps: int, length: int, step_index: int) -> tuple[int, int]:
    """`(re-masked now, re-masked by the later steps)` as Python integers.

    The second bounds what later steps can re-mask: the running confidences kept in
    the exact state forget what they cannot reach (`_remasking.lowest_relevant`).
    """

    def dropped(i):
        if i >= num_steps - 1:
            return 0
        return max(length - int(kept_after(length, i, num_steps)), 0)

    later = range(step_index + 1, num_steps - 1)
    return dropped(step_index), sum(dropped(i) for i in later)


def _exact_step(sampler: Rcr, probs, tokens, extra, *, mask_id: int) -> list:
    """Every outcome of one step from the exact marginals `probs` `(L, V)`."""
    step_index, running = extra
    tokens = np.asarray(tokens)
    length = len(tokens)
    masked = [int(j) for j in np.nonzero(tokens == mask_id)[0]]
    number, budget = _exact_plan(sampler.num_steps, length, step_index)
    groups = _remasking.confidence_classes(probs, sampler.temperature, masked)
    where = {j: i for i, j in enumerate(masked)}
    out: dict = {}
    for chosen in itertools.product(*(range(len(g)) for g in groups)):
        weight = 1.0
        for i, c in enumerate(chosen):
            weight *= groups[i][c][1]
        scores = list(running)
        for i, c in enumerate(chosen):
            scores[masked[i]] = groups[i][c][0]
        items = list(enumerate(scores))
        for share, dropped in _remasking.tie_subsets(items, number, largest=False):
            dropped = set(dropped)
            keep = [where[j] for j in masked if j not in dropped]
            base = tokens.copy()
            new_running = list(scores)
            for j in dropped:
                base[j] = mask_id
                new_running[j] = math.inf
            state = (step_index + 1, _remasking.lowest_relevant(new_running, budget))
            filled = [masked[i] for i in keep]
            for w_tok, values in _remasking.token_choices(groups, chosen, keep):
                new = base.copy()
                new[filled] = values
                _remasking.add(out, new, state, weight * share * w_tok, 1)
    return _remasking.outcomes(out)
