r"""WINO: wide-in, narrow-out decoding that revokes tokens a leave-one-out pass doubts.

Hong et al., "Wide-In, Narrow-Out: Revokable Decoding for Efficient and Effective
DLLMs" (arXiv 2507.18578). With the window's masked positions $M$ ($m = |M|$) and
committed positions $C$, one WINO step runs the model once on an extended sequence
[prompt | window | a copy of the window]: the window's positions give the usual
marginals $p_j$, and the copy's position $j'$, which sees every token but $j$'s,
gives the **leave-one-out** marginal $p_{-j}$. Then

1. **forward (wide in):** draw $\hat x_j \sim \pi_j$ at every masked position (the
   draw's temperature) with confidence $p_j(\hat x_j)$ (the model's, at any
   temperature); commit every one with confidence $> \tau$ (`threshold`), the
   `max_accept` $= \min(\max(\lfloor 0.7 m \rfloor, 5), 20)$ most confident when more
   pass, and the single most confident when none does (ties at random);
2. **backward (narrow out):** only when this step committed two tokens or more,
   re-mask every committed token $y_c$, $c \in C$, whose leave-one-out confidence
   $p_{-c}(y_c) < \tau_b$ (`threshold_back`); when $a$ or more fall below, where $a$
   is the number the previous step committed (30 before the first), re-mask only
   the $a - 1$ lowest (ties at random).

A step costs one forward pass (of the extended sequence, $L + B$ tokens). Decoding
stops when no mask is left; it always stops within $B + 1$ steps: with $m_t$ masks
and $a_t$ tokens committed at step $t$, $m_{t+1} + a_{t+1} = m_t + r_{t+1} \le m_t
+ a_t - 1$, since a step re-masks $r_{t+1} \le a_t - 1$ tokens.

**As a trilemma sampler.** A model here maps one sequence to its marginals, so the
leave-one-out marginals are separate passes on the state with one committed token
masked: the decoder runs a WINO step as sub-steps of the decoding loop (the main
pass, then one pass per committed token to verify, with that token masked in the
state; the state carries the step's pending decisions, `init_extra`) and charges
one forward pass per WINO step (`nfe`), as WINO's one extended pass; the sub-steps
are skipped when the step commits a single token (no verification). For the ideal
model the leave-one-out marginal is exactly $p^*(y_c \mid x, \text{the others})$.
The exact law (`exact_step`, with `exact_queries` asking the chain for the
leave-one-out marginals) keys states by (tokens, $a$); by the bound above the chain
is acyclic.

**Sources and differences.** The authors' `decoding_wino` (Feng-Hong/WINO-DLLM @
84964c7, `LLaDA/decoding.py`: defaults `threshold=0.6`, `threshold_back=0.9`,
`block_length=128` = `gen_length`) and ParallelBench's port `wino_generate_llada`
(furiosa-ai/ParallelBench @ 21e6222,
`parallelbench/models/local/llada/wino_generate.py`, `wino_threshold` (0.6 when
unset) and `wino_threshold_back` (0.9); its runs sweep `wino_threshold` 0.5-1 at
back 0.9):

* **The port's extra block takes part in the forward step (not reproducible).** The
  original excludes the copy from the forward candidates (`mask_index_block[:,
  block_end:] = False` covers it); the port clears only the main area's later
  blocks, so the copy's positions, all holding the mask token, are candidates too:
  their confidences (the leave-one-out probability of the committed token, or the
  masked position's prediction) can pass the threshold, count toward `max_accept`
  and the accept count $a$, and write tokens into the copy, which later copy
  positions then attend to. A marginals model has no meaning for two tokens at one
  position, so this module follows the original.
* **Blocks (not reproduced).** Both decode semi-autoregressive blocks with one copy
  of the current block; this sampler decodes the window as one block (the
  original's default `block_length = gen_length`).
* Both draw with Gumbel noise on `softmax(logits / T)` and read the confidence from
  `softmax(logits)` (float64); torch's `argmax`/`topk` break ties by index, here at
  random.

This module is written from the rule, not from either code.
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Callable
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from .. import _checks
from .._types import Array
from . import _protocol, _remasking, rules

FIRST_LAST_ACCEPT = 30
"""The accept count $a$ before the first step (both codes' `last_accept = 30`)."""


class Wino(NamedTuple):
    r"""WINO's settings (see the module).

    Attributes:
      name: `"wino"`.
      threshold: $\tau$, a masked token is committed when its confidence exceeds it.
      threshold_back: $\tau_b$, a committed token is re-masked when its
        leave-one-out confidence is below it.
      temperature: of the token draw (0: greedy, ties at random).
      params: the factory's arguments, for display.
    """

    name: str
    threshold: float
    threshold_back: float
    temperature: float
    params: tuple[tuple[str, object], ...]

    def max_steps(self, length: int) -> int:
        """(L + 1)^2 loop steps: at most L + 1 WINO steps of at most L + 1 passes."""
        return (int(length) + 1) ** 2

    def describe(self) -> str:
        """`wino(threshold=0.6, threshold_back=0.9, temperature=0.0)`."""
        return _protocol.describe(self)

    # -- the sampler protocol (`_protocol`) --------------------------------------------

    num_models = 1
    remasks = True
    law = "chain"
    """Its exact law: the absorption law of `trilemma.simulation._chain`."""

    @property
    def phases(self) -> tuple[Callable, ...]:
        """One phase: `step` (a WINO step's main pass or one verification pass)."""
        return (_protocol.single_phase(functools.partial(step, self)),)

    def init_extra(self, length: int, vocab_size: int) -> WinoState:
        """No step under way, $a = 30$."""
        dtype = jnp.result_type(float)
        return WinoState(
            cursor=jnp.asarray(-1),
            saved=jnp.asarray(0),
            verify=jnp.zeros(length, bool),
            pending=jnp.zeros(length, bool),
            drawn=jnp.zeros(length, int),
            back=jnp.full((length,), jnp.inf, dtype=dtype),
            accepted=jnp.asarray(0),
            last_accept=jnp.asarray(FIRST_LAST_ACCEPT),
        )

    # -- the exact step (`trilemma.simulation._chain`) ---------------------------------

    def exact_init(self, length: int) -> int:
        """The accept count $a$ before the first step."""
        return FIRST_LAST_ACCEPT

    def exact_canonical(self, tokens, extra):
        """The state with its positions sorted by token.

        The step never reads a position's index, and its state (the accept count)
        is not per position.
        """
        return np.sort(tokens), extra

    def exact_queries(self, tokens, extra, *, mask_id: int) -> list:
        """The state with each committed token masked (its leave-one-out marginal)."""
        tokens = np.asarray(tokens)
        out = []
        for c in np.nonzero(tokens != mask_id)[0]:
            row = tokens.copy()
            row[c] = mask_id
            out.append(row)
        return out

    def exact_step(self, probs, tokens, extra, *, mask_id: int) -> list:
        """Every outcome of one WINO step: `(probability, tokens, extra, nfe_cost)`."""
        return _exact_step(self, probs, tokens, extra, mask_id=mask_id)


class WinoState(NamedTuple):
    """What a WINO step carries between its passes (`Wino.init_extra`)."""

    cursor: Array  # () the position masked for its leave-one-out pass, or -1
    saved: Array  # () the token at `cursor`
    verify: Array  # (S,) the committed positions the step verifies
    pending: Array  # (S,) the positions the step commits
    drawn: Array  # (S,) their tokens
    back: Array  # (S,) leave-one-out confidences gathered so far
    accepted: Array  # () tokens the step commits
    last_accept: Array  # () tokens the previous step committed (a)


def wino(
    *,
    threshold: float = 0.6,
    threshold_back: float = 0.9,
    temperature: float = 0.0,
) -> Wino:
    """WINO: commit every confident token, re-mask the ones a leave-one-out pass doubts.

    Args:
      threshold: a masked token is committed when its confidence exceeds it (in
        [0, 1]; default 0.6, the authors' and ParallelBench's).
      threshold_back: a committed token is re-masked when its leave-one-out
        confidence is below it (in [0, 1]; default 0.9).
      temperature: 0 (default) for greedy with uniform ties, else sample from
        p**(1/temperature); the confidence is the model's probability either way.
    """
    threshold = _checks.check_real(threshold, "threshold", low=0.0, high=1.0)
    threshold_back = _checks.check_real(
        threshold_back, "threshold_back", low=0.0, high=1.0
    )
    temperature = _checks.check_real(
        temperature, "temperature", low=0.0, high_open=True
    )
    params = (
        ("threshold", threshold),
        ("threshold_back", threshold_back),
        ("temperature", temperature),
    )
    return Wino("wino", threshold, threshold_back, temperature, params)


def max_accept(masked):
    """min(max(floor(0.7 m), 5), 20) tokens at most per step (float64, the port's)."""
    xp = jnp if isinstance(masked, jax.Array) else np
    scaled = xp.floor(xp.asarray(masked).astype(float) * 0.7).astype(int)
    return xp.minimum(xp.maximum(scaled, 5), 20)


def step(
    sampler: Wino, key, state, logits, *, mask_id: int
) -> tuple[_protocol.DecodeState, _protocol.DecodeInfo]:
    """One pass of a WINO step: the main pass, or one leave-one-out pass."""
    extra = state.extra
    verifying = extra.cursor >= 0
    main_state, main_info = _main_pass(sampler, key, state, logits, mask_id=mask_id)
    loo_state, loo_info = _verify_pass(sampler, key, state, logits, mask_id=mask_id)
    new_state = jax.tree.map(
        lambda a, b: jnp.where(verifying, a, b), loo_state, main_state
    )
    info = jax.tree.map(lambda a, b: jnp.where(verifying, a, b), loo_info, main_info)
    return new_state, info


def _main_pass(sampler: Wino, key, state, logits, *, mask_id: int):
    """The forward decision; then either the verification passes, or the commit."""
    tokens, extra = state.tokens, state.extra
    length = tokens.shape[0]
    positions = jnp.arange(length)
    window = positions >= state.start
    masked = (tokens == mask_id) & window
    u = jax.random.uniform(key, (3 * length,), dtype=jnp.result_type(float))
    drawn, confidence = _remasking.draw_with_confidence(
        logits, mask_id, sampler.temperature, u[:length], tempered=False
    )
    passing = masked & (confidence > rules.quantize(jnp.asarray(sampler.threshold)))
    count = jnp.clip(jnp.sum(passing), 1, max_accept(jnp.sum(masked)))
    count = jnp.minimum(count, jnp.sum(masked))
    pending = _remasking.select_first(
        jnp.where(masked, -confidence, jnp.inf), u[length : 2 * length], count
    )
    accepted = jnp.sum(pending).astype(int)
    verify = (tokens != mask_id) & window
    need = (accepted > 1) & jnp.any(verify)
    cursor = jnp.where(need, jnp.argmax(verify), -1)
    saved = tokens[jnp.maximum(cursor, 0)]
    committed = jnp.where(pending, drawn.astype(tokens.dtype), tokens)
    masked_cursor = tokens.at[jnp.maximum(cursor, 0)].set(mask_id)
    new_tokens = jnp.where(need, masked_cursor, committed)
    new_extra = extra._replace(
        cursor=cursor.astype(extra.cursor.dtype),
        saved=saved.astype(extra.saved.dtype),
        verify=verify,
        pending=pending,
        drawn=drawn.astype(extra.drawn.dtype),
        back=jnp.full_like(extra.back, jnp.inf),
        accepted=accepted.astype(extra.accepted.dtype),
        last_accept=jnp.where(need, extra.last_accept, accepted).astype(
            extra.last_accept.dtype
        ),
    )
    new_state = state._replace(
        tokens=new_tokens, step=state.step + 1, nfe=state.nfe + 1, extra=new_extra
    )
    info = _protocol.DecodeInfo(jnp.where(need, 0, accepted), jnp.zeros((), int))
    return new_state, info


def _verify_pass(sampler: Wino, key, state, logits, *, mask_id: int):
    """A leave-one-out pass: read the cursor's confidence; next cursor, or finish."""
    tokens, extra = state.tokens, state.extra
    length = tokens.shape[0]
    positions = jnp.arange(length)
    cursor = jnp.maximum(extra.cursor, 0)
    probs = rules.token_probabilities(logits, mask_id)
    confidence = rules.quantize(probs[cursor, extra.saved])
    back = extra.back.at[cursor].set(confidence)
    restored = tokens.at[cursor].set(extra.saved.astype(tokens.dtype))
    later = extra.verify & (positions > cursor)
    more = jnp.any(later)
    following = jnp.argmax(later)
    # the next leave-one-out pass
    next_tokens = restored.at[following].set(mask_id)
    # or the step's end: commit, then re-mask what the verification doubts
    u = jax.random.uniform(key, (3 * length,), dtype=jnp.result_type(float))
    below = extra.verify & (back < rules.quantize(jnp.asarray(sampler.threshold_back)))
    number = jnp.sum(below)
    number = jnp.where(number >= extra.last_accept, extra.last_accept - 1, number)
    remask = _remasking.select_first(
        jnp.where(extra.verify, back, jnp.inf), u[2 * length :], number
    )
    final = jnp.where(extra.pending, extra.drawn.astype(tokens.dtype), restored)
    final = jnp.where(remask, mask_id, final)
    new_tokens = jnp.where(more, next_tokens, final)
    new_extra = extra._replace(
        cursor=jnp.where(more, following, -1).astype(extra.cursor.dtype),
        saved=jnp.where(more, restored[following], 0).astype(extra.saved.dtype),
        back=back,
        last_accept=jnp.where(more, extra.last_accept, extra.accepted).astype(
            extra.last_accept.dtype
        ),
    )
    new_state = state._replace(tokens=new_tokens, step=state.step + 1, extra=new_extra)
    info = _protocol.DecodeInfo(
        jnp.where(more, 0, extra.accepted), jnp.where(more, 0, jnp.sum(remask))
    )
    return new_state, info


def _exact_step(sampler: Wino, probs, tokens, extra, *, mask_id: int) -> list:
    """Every outcome of one WINO step.

    `probs` `(1 + |C|, L, V)`: the state's marginals, then each committed position's
    leave-one-out marginals (`Wino.exact_queries`).
    """
    last_accept = extra
    tokens = np.asarray(tokens)
    probs = np.asarray(probs, np.float64)
    masked = [int(j) for j in np.nonzero(tokens == mask_id)[0]]
    committed = [int(c) for c in np.nonzero(tokens != mask_id)[0]]
    groups = _remasking.confidence_classes(
        probs[0], sampler.temperature, masked, tempered=False
    )
    gate = float(rules.quantize(np.asarray(sampler.threshold)))
    limit = int(max_accept(len(masked)))
    # the verification reads no draw: its options are the state's
    back = [
        float(rules.quantize(probs[1 + i, c, tokens[c]]))
        for i, c in enumerate(committed)
    ]
    doubt = float(rules.quantize(np.asarray(sampler.threshold_back)))
    number = sum(b < doubt for b in back)
    number = last_accept - 1 if number >= last_accept else number
    revoke = _remasking.tie_subsets(
        list(zip(committed, back, strict=True)), number, largest=False
    )
    out: dict = {}
    for chosen in itertools.product(*(range(len(g)) for g in groups)):
        weight = 1.0
        for i, c in enumerate(chosen):
            weight *= groups[i][c][1]
        scores = [(i, groups[i][c][0]) for i, c in enumerate(chosen)]
        passing = sum(value > gate for _, value in scores)
        count = min(max(passing, 1), limit, len(masked))
        options = revoke if count > 1 else [(1.0, ())]
        for share, picked in _remasking.tie_subsets(scores, count, largest=True):
            filled = [masked[i] for i in picked]
            for w_tok, values in _remasking.token_choices(groups, chosen, picked):
                new = tokens.copy()
                new[filled] = values
                for w_back, revoked in options:
                    again = new
                    if revoked:
                        again = new.copy()
                        again[list(revoked)] = mask_id
                    total = weight * share * w_tok * w_back
                    _remasking.add(out, again, count, total, 1)
    return _remasking.outcomes(out)
