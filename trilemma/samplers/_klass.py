r"""KLASS, KL-adaptive stability sampling (Kim et al.).

"KL-Adaptive Stability Sampling for Fast Inference in Masked Diffusion Models",
arXiv 2511.05664. At every step the model's predictive distribution $p_{t,j}$ of
each position is compared with the previous step's,

$$\mathrm{KL}_{t,j} = \sum_v p_{t,j}(v)\,\bigl(\log(p_{t,j}(v) + \varepsilon) -
\log(p_{t-1,j}(v) + \varepsilon)\bigr), \qquad \varepsilon = 10^{-12},$$

(the codes' smoothed form; $p_{t-1} = 0$ before the first pass), and a masked position
of the current block is **ready** when it has been *stable*, $\mathrm{KL} < \kappa$
at each of the last $H$ passes (and the block has run at least $H$ passes), and is
*confident*, $c_j = p_{t,j}(\hat x_j) > \tau$. A step commits every ready position;
when none is ready it falls back to confidence top-$k$ (LLaDA's rule). Every step
commits at least one token, one forward pass each.

**State.** The sampler carries, besides the tokens, the previous step's
distributions $p_{t-1}$ (the prediction history), each position's count of
consecutive stable passes (capped at $H$: the test reads no further back) and the
number of passes the current block has run (capped at $H - 1$). Under `jit` these
are `KlassExtra` arrays of fixed shape; in the exact law they are a hashable tuple
(`exact_init`, `exact_step`), so `trilemma.simulate` enumerates KLASS's output law
as a chain over (revealed tokens, sampler state).

**Sources.** The authors' `stable_confident_decode` (shkim0116/KLASS @ 8c59d01,
`src/model/llada_klass.py`, `alg="klass"`, `unmask_strategy="all"`; the Dream
version `src/model/dream_klass.py`), and ParallelBench's ports (furiosa-ai/
ParallelBench @ 3859b5a, `parallelbench/models/local/llada/klass_generate.py`;
@ e084d25, `parallelbench/models/local/dream/klass_sample.py`). Defaults of both:
$\tau$ = `conf_threshold` 0.9, $\kappa$ = `kl_threshold` 0.01, $H$ =
`kl_history_length` 2. ParallelBench sweeps $\tau \in \{0.7, 0.8, 0.9, 0.95\}$ at
$\kappa = 0.01$, $H = 2$ (`scripts/llada/llada-1.5/klass.sh`), with `steps` =
`block_length` = `max_tokens` (its registry's `derive_adaptive`): one block, and a
fallback of one token per step, which is this module's default. This module is
written from the rule, not from either code.

**Where the codes differ, and what is modelled.**

* *Fallback count.* The authors' fallback commits $k_s$ tokens, LLaDA's schedule of
  the block's masks over `steps / num_blocks` steps read at the step index $s$, and
  the block ends after that many steps: when a ready set commits fewer tokens than
  the schedule's, the block can end with a mask left, which stays in the output
  (ParallelBench's LLaDA port, with `steps` = `max_tokens`, commits one token per
  fallback and never stops early; its Dream port always falls back to the top-1).
  Here the fallback commits LLaDA's count for the masks left with $k$ per step
  (`rules.topk_count`), and the block runs until it is full: with $k = 1$ this is
  exactly ParallelBench's setting, and whenever no ready set fires it is the
  authors' schedule.
* *History across blocks.* The authors allocate $p_{t-1}$ and the KL history once
  for the whole sequence; ParallelBench's LLaDA port clears both at each block, so
  a block's first KL is taken against zeros (about $27.6 - H(p)$ nats, never
  below the thresholds used). Both gate on the block's own pass count, so only the
  first KL of a block differs. `reset_history=False` (default) is the authors';
  True is the port. With one block (ParallelBench's runs) they agree.
* *Threshold.* $c > \tau$ in the authors' code and the LLaDA port, $c \ge \tau$ in
  the Dream port (`inclusive=True`).
* *Temperature.* At $T > 0$ the authors softmax Gumbel-perturbed values
  (`add_gumbel_noise` returns $e^{\ell}/(-\log u)^T$, then `softmax` of that), so both
  the confidence and the KL read a noisy, renormalised vector (REFERENCE 5.8); the
  ports commit the greedy token (the Dream port picks its fallback position by the
  confidence of a token sampled at $T$). Here tokens are drawn from $p^{1/T}$ and the
  confidence and the KL read the model's own $p$, as every trilemma sampler does;
  at $T = 0$ (the default, and ParallelBench's runs) all agree.
* *Ties.* The codes take `torch.argmax`/`torch.topk`, the first of tied tokens or
  positions; here ties are broken uniformly at random (as for every sampler, and as
  ParallelBench's ideal-model analysis does).
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
from .._types import Array
from . import _level_draws, _protocol, rules

SMOOTHING = 1e-12
"""The $\\varepsilon$ inside both logarithms of the codes' KL."""

MAX_HISTORY = 2**20
"""Largest `history` accepted (the codes keep one KL per pass of the window)."""


class KlassExtra(NamedTuple):
    """KLASS's state under `jit`.

    Attributes:
      previous: `(S, V)` the previous step's probabilities (0 before the first pass,
        or after a block with `reset_history`).
      runs: `(S,)` consecutive passes with KL below the threshold, capped at H.
      age: `()` passes the current block has run, capped at H - 1.
    """

    previous: Array
    runs: Array
    age: Array


class Klass(NamedTuple):
    r"""KLASS's settings (see the module).

    Attributes:
      name: `"klass"`.
      confidence: $\tau$, the confidence threshold.
      kl_threshold: $\kappa$ (nats); 0 turns the ready set off, infinity the KL test.
      history: $H$, the stable passes required.
      k: tokens per fallback step (LLaDA's schedule on the masks left).
      block: semi-autoregressive block length, or None.
      temperature: token draw: 0 is greedy with uniform ties, else $p^{1/T}$.
      inclusive: `c >= tau` (True) rather than `c > tau`.
      reset_history: clear the history at each block (ParallelBench's LLaDA port).
      params: the factory's arguments, for display.
    """

    name: str
    confidence: float
    kl_threshold: float
    history: int
    k: int
    block: int | None
    temperature: float
    inclusive: bool
    reset_history: bool
    params: tuple[tuple[str, object], ...]

    def max_steps(self, length: int) -> int:
        """Every step commits at least one token: at most `length` steps."""
        return int(length)

    def describe(self) -> str:
        """`klass(confidence=0.9, kl_threshold=0.01, history=2, ...)`."""
        return _protocol.describe(self)

    # -- the sampler protocol (`_protocol`) --------------------------------------------

    num_models = 1
    remasks = False
    law = "chain"
    """Its exact law: the chain enumerator over (tokens, `exact_step`'s state)."""

    @property
    def phases(self) -> tuple[Callable, ...]:
        """One phase: `klass_step`."""
        return (_protocol.single_phase(functools.partial(klass_step, self)),)

    def init_extra(self, length: int, vocab_size: int) -> KlassExtra:
        """No history yet: zero probabilities, no stable pass, a fresh block."""
        return KlassExtra(
            previous=jnp.zeros((length, vocab_size), jnp.result_type(float)),
            runs=jnp.zeros(length, int),
            age=jnp.zeros((), int),
        )

    def exact_init(self, length: int) -> tuple:
        """The exact law's initial state: `(age, runs, previous)`, nothing seen."""
        del length
        return (0, (), None)

    def exact_step(self, probs, tokens, extra, *, mask_id: int) -> list:
        """Every outcome of one step: `[(probability, tokens, state, nfe), ...]`.

        Args:
          probs: `(L, V)` the model's probabilities at the output positions.
          tokens: `(L,)` the outputs, `mask_id` where masked.
          extra: this sampler's state (`exact_init`, or a state returned here).
          mask_id: the mask token.
        """
        return _exact_step(self, probs, tokens, extra, mask_id=mask_id)


def klass(
    *,
    confidence: float = 0.9,
    kl_threshold: float = 0.01,
    history: int = 2,
    k: int = 1,
    block: int | None = None,
    temperature: float = 0.0,
    inclusive: bool = False,
    reset_history: bool = False,
) -> Klass:
    r"""KLASS: commit the confident tokens whose prediction has stopped moving.

    Kim et al., arXiv 2511.05664. A masked position is committed when its
    prediction's KL to the previous step's stayed below `kl_threshold` for the last
    `history` passes and its confidence exceeds `confidence`; with no such position
    the step commits the `k` most confident (LLaDA's top-k). The state carries the
    previous prediction and the stable-pass counts (see `trilemma.samplers._klass`).

    Args:
      confidence: tau in [0, 1] (the codes' `conf_threshold`, default 0.9;
        ParallelBench sweeps 0.7, 0.8, 0.9, 0.95).
      kl_threshold: kappa >= 0 in nats (`kl_threshold`, default 0.01); 0 never finds
        a position stable (confidence top-k), infinity turns the KL test off.
      history: H >= 1 stable passes (`kl_history_length`, default 2).
      k: tokens per fallback step (>= 1; LLaDA's schedule on the masks left; 1 is
        ParallelBench's steps = max_tokens).
      block: semi-autoregressive block length (None: one block, ParallelBench's).
      temperature: 0 for greedy (uniform ties), else sample from p**(1/temperature);
        confidence and KL read the model's p.
      inclusive: confidence >= tau, as ParallelBench's Dream port (default False:
        > tau, the authors' and ParallelBench's LLaDA code).
      reset_history: clear the prediction history at each block, as ParallelBench's
        LLaDA port does (default False: the authors' code keeps it).
    """
    confidence = _checks.check_real(confidence, "confidence", low=0.0, high=1.0)
    kl_threshold = _checks.check_real(kl_threshold, "kl_threshold", low=0.0)
    history = _checks.check_int(history, "history", minimum=1, maximum=MAX_HISTORY)
    k = _checks.check_int(k, "k", minimum=1, maximum=_checks.INT64_MAX)
    if block is not None:
        block = _checks.check_int(block, "block", minimum=1)
    temperature = _checks.check_real(
        temperature, "temperature", low=0.0, high_open=True
    )
    inclusive = _checks.check_bool(inclusive, "inclusive")
    reset_history = _checks.check_bool(reset_history, "reset_history")
    shown = {
        "confidence": confidence,
        "kl_threshold": kl_threshold,
        "history": history,
        "k": k,
        "temperature": temperature,
        "block": block,
        "inclusive": inclusive or None,
        "reset_history": reset_history or None,
    }
    params = tuple((key, value) for key, value in shown.items() if value is not None)
    return Klass(
        "klass",
        confidence,
        kl_threshold,
        history,
        k,
        block,
        temperature,
        inclusive,
        reset_history,
        params,
    )


# -- the rule, written once for NumPy (exact) and JAX (Monte Carlo) -----------------


@functools.lru_cache(maxsize=256)
def on_grid(value: float) -> float:
    """A threshold on the rules' comparison grid (`rules.quantize`), as a float."""
    return float(rules.quantize(np.float64(value)))


def kl_rows(p, q):
    r"""The codes' smoothed KL of each row of `p` from the same row of `q`.

    $\sum_v p(v)(\log(p(v)+\varepsilon) - \log(q(v)+\varepsilon))$ for `p`, `q`
    `(..., V)`, quantised (`rules.quantize`); a token with $p(v) = 0$ adds nothing.
    """
    xp = rules.xp_of(p)
    logs = xp.log(p + SMOOTHING) - xp.log(q + SMOOTHING)
    return rules.quantize(xp.sum(xp.where(p > 0, p * logs, 0.0), axis=-1))


def stability(sampler: Klass, probs, previous, runs, age):
    """`(runs, stable)` after this pass: the updated counts, and who is stable.

    A position is stable when its last `history` KLs were all below the threshold
    and the block has run that many passes (`age` >= H - 1 before this one).
    """
    xp = rules.xp_of(probs)
    below = kl_rows(probs, previous) < on_grid(sampler.kl_threshold)
    runs = xp.where(below, xp.minimum(runs + 1, sampler.history), 0)
    stable = (runs >= sampler.history) & (age >= sampler.history - 1)
    return runs, stable


def passes(sampler: Klass, conf):
    """Whether each quantised confidence passes tau (> or >=)."""
    tau = on_grid(sampler.confidence)
    return conf >= tau if sampler.inclusive else conf > tau


def fallback_count(sampler: Klass, num_eligible, block_size, length: int):
    """Tokens the fallback commits: LLaDA's schedule with `k` on the masks left."""
    xp = rules.xp_of(num_eligible)
    pmf = rules.topk_count(xp.zeros(length), num_eligible, block_size, 0, k=sampler.k)
    return xp.argmax(pmf, axis=-1)


def after_step(sampler: Klass, probs, masked_after, eligible, age):
    """`(previous, age)` for the next step, once the step's commits are known.

    When the step empties its block the next pass starts a block: its age is 0,
    and with `reset_history` the history is cleared.
    """
    xp = rules.xp_of(probs)
    done = ~xp.any(eligible & masked_after)
    age = xp.where(done, 0, xp.minimum(age + 1, sampler.history - 1))
    previous = xp.where(done & sampler.reset_history, 0.0, probs)
    return previous, age


# -- Monte Carlo --------------------------------------------------------------------


def klass_step(
    sampler: Klass, key, state, logits, *, mask_id: int
) -> tuple[_protocol.DecodeState, _protocol.DecodeInfo]:
    """One KLASS step from the model's logits `(S, V)` at `state` (jittable).

    Draws every masked token (inverse CDF of one uniform per position), updates the
    stability counts, commits the ready positions or, if none, the fallback's top-k
    by confidence with uniformly random tie priorities.
    """
    tokens = state.tokens
    length = tokens.shape[0]
    extra = state.extra
    masked = tokens == mask_id
    eligible, block_size = rules.eligible_positions(masked, sampler.block, state.start)
    probs = rules.token_probabilities(logits, mask_id)
    pi = rules.draw_distribution(probs, sampler.temperature)
    u = jax.random.uniform(key, (2 * length,), dtype=probs.dtype)
    drawn = rules.draw_index(pi, u[:length])
    conf = rules.quantize(jnp.take_along_axis(probs, drawn[:, None], axis=-1)[:, 0])
    runs, stable = stability(sampler, probs, extra.previous, extra.runs, extra.age)
    ready = stable & passes(sampler, conf) & eligible
    score = jnp.where(eligible, conf, -jnp.inf)
    _, _, order = jax.lax.sort((-score, u[length:], jnp.arange(length)), num_keys=2)
    count = fallback_count(
        sampler, jnp.sum(eligible).astype(int), jnp.asarray(block_size), length
    )
    top = jnp.zeros(length, bool).at[order].set(jnp.arange(length) < count)
    commit = jnp.where(jnp.any(ready), ready, top & eligible)
    new_tokens = jnp.where(commit, drawn.astype(tokens.dtype), tokens)
    previous, age = after_step(sampler, probs, masked & ~commit, eligible, extra.age)
    committed = jnp.sum(commit).astype(int)
    new_state = state._replace(
        tokens=new_tokens,
        step=state.step + 1,
        nfe=state.nfe + (committed > 0).astype(int),
        extra=KlassExtra(previous, runs, age),
    )
    return new_state, _protocol.DecodeInfo(committed)


# -- the exact law ------------------------------------------------------------------


def _exact_step(sampler: Klass, probs, tokens, extra, *, mask_id: int) -> list:
    probs = np.asarray(probs, dtype=float)
    tokens = np.asarray(tokens)
    length = tokens.shape[0]
    age, runs, previous = extra
    masked = tokens == mask_id
    if not masked.any():
        return [(1.0, tokens, sampler.exact_init(length), 0)]
    positions, count = _layout(sampler, masked.tobytes(), length)
    prev = (
        np.zeros_like(probs)
        if previous is None
        else np.frombuffer(previous, dtype=float).reshape(probs.shape)
    )
    runs = np.zeros(length, int) if not runs else np.asarray(runs)
    runs, stable = stability(sampler, probs, prev, runs, age)
    tau = on_grid(sampler.confidence)

    def ready(level):
        return level >= tau if sampler.inclusive else level > tau

    draws: list[tuple[float, dict]] = []  # (probability, {position: token})
    levels, options = [], []
    for j in positions:
        every = _level_draws.token_levels(probs[j], sampler.temperature)
        if not stable[j]:
            levels.append(every)
            options.append([(None, 1.0)])
            continue
        levels.append({lv: m for lv, m in every.items() if not ready(lv)})
        options.append(
            [(None, math.fsum(mass for mass, _ in levels[-1].values()))]
            + [pair for lv, (_, pairs) in every.items() if ready(lv) for pair in pairs]
        )
    if any(len(o) > 1 for o in options):
        # each position draws a ready token, or a token that is not (None)
        for combo in _product(options):
            picked = {
                j: v
                for j, (v, _) in zip(positions, combo, strict=True)
                if v is not None
            }
            p = math.prod(w for _, w in combo)
            if picked and p > 0:
                draws.append((p, picked))
    # no position ready: LLaDA's top-k by confidence among the non-ready draws
    levels_of = dict(zip(positions, levels, strict=True))
    for p_levels, chosen in _level_draws.joint_levels(levels, "KLASS's exact step"):
        if p_levels == 0:
            continue
        by_position = dict(zip(positions, chosen, strict=True))
        for p_set, committed in _level_draws.top_k(positions, chosen, count):
            for p_tok, picked in _level_draws.token_choices(
                committed, by_position, levels_of
            ):
                draws.append((p_levels * p_set * p_tok, picked))

    states: dict = {}
    out = []
    for p, picked in draws:
        key = tuple(sorted(picked))
        if key not in states:
            states[key] = _exact_state(
                sampler, probs, masked, positions, key, runs, age
            )
        new_tokens = tokens.copy()
        new_tokens[list(picked)] = list(picked.values())
        out.append((p, new_tokens, states[key], 1))
    return out


@functools.lru_cache(maxsize=2**14)
def _layout(sampler: Klass, masked: bytes, length: int) -> tuple[list[int], int]:
    """`(eligible positions, fallback count)` of a mask pattern (cached)."""
    masked = np.frombuffer(masked, dtype=bool)
    eligible, block_size = rules.eligible_positions(masked, sampler.block, 0)
    count = fallback_count(sampler, np.asarray(int(eligible.sum())), block_size, length)
    return np.flatnonzero(eligible).tolist(), int(count)


def _exact_state(sampler, probs, masked, positions, committed, runs, age):
    """The hashable state after committing `committed`: `(age, runs, previous)`.

    `after_step` in plain Python (this runs once per outcome of every state): a
    step that empties its block starts the next at age 0, and with
    `reset_history` clears the history.
    """
    masked_after = masked.copy()
    masked_after[list(committed)] = False
    if not masked_after.any():
        return sampler.exact_init(masked.shape[0])
    done = len(committed) == len(positions)  # the block's masks were all eligible
    if done and sampler.reset_history:
        previous = None
    else:
        previous = np.where(masked_after[:, None], probs, 0.0).tobytes()
    age = 0 if done else min(age + 1, sampler.history - 1)
    kept = tuple(np.where(masked_after, runs, 0).tolist())
    return (age, kept, previous)


def _product(options):
    """`itertools.product`, refusing more than `MAX_JOINT_LEVELS` combinations."""
    size = math.prod(len(o) for o in options)
    _checks.check_work(
        size,
        "KLASS's exact step",
        _level_draws.MAX_JOINT_LEVELS,
        unit="joint draws in one step",
    )
    return itertools.product(*options)
