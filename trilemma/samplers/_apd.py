r"""Adaptive Parallel Decoding (APD): a dLLM drafts, a small AR model verifies.

Israel, Van den Broeck & Grover (arXiv 2506.00413) decode left to right. With the
accepted prefix $y_{<t}$, one APD step

1. runs the dLLM once: its marginals $p_{D,j}$ at the masked positions
   $j = t, \dots, t + W - 1$ of the window ($W = \min(M, \text{masks left})$);
2. drafts $\hat x_j = \arg\max_v (\log \pi_{D,j}(v) + g_j(v))$ with independent
   Gumbel noise $g_j$, i.e. $\hat x_j \sim \pi_{D,j} \propto p_{D,j}^{1/\tau}$;
3. runs the AR model once on $y_{<t} \oplus \hat x$: its conditionals
   $p_{AR,j} = p_{AR}(\cdot \mid y_{<t}, \hat x_t, \dots, \hat x_{j-1})$;
4. forms the per-position target, the renormalised geometric mixture
   $q_j \propto (p_{D,j}^R\,p_{AR,j}^{1-R})^{1/\tau}$ ($0^0 = 1$), and its Gumbel-argmax
   $\hat y_j$ under the **same** noise $g_j$;
5. commits $\hat x_t, \dots, \hat x_{t+k-1}$ with $k = 1 +$ the longest run of
   positions after $t$ where $\hat x_j = \hat y_j$: the first draft is always
   accepted, and at $R = 1$ every draft is.

A step costs one dLLM pass (`nfe`) and, when the window holds two positions or more,
one AR pass (`ar_nfe`). Given the drafts to its left, position $j$'s draft and target
depend on its own noise $g_j$ only, and both agree on $v$ with probability
$1/\sum_u \max(\pi_u/\pi_v, q_u/q_v)$ (`agreement`): with the ideal dLLM and $p^*$'s
exact AR conditionals, `trilemma.simulate` sums these over accepted prefixes for
APD's exact law, from the same `target` that `accept` draws.

The output law is none of $p_D$, $p_{AR}$ or the sequence-level product of experts
(`trilemma.experts.product_of_experts`) in general; it coincides with the latter at
$R = 1$ with $M \ge L$ (both are the product of the dLLM's all-masked marginals)
and, for every $R$, when $p^*$ factorises over positions and both models are exact
(then $p_D = p_{AR} = p^*$ position by position).

**The released code differs** (danielmisrael/apd; REFERENCE 5.11): its target is the
argmax of the mixed logits $R\ell_D + (1-R)\ell_{AR}$, with no noise, and its draft
divides the logits by $T$ before a Gumbel trick with exponent $T$, which samples
$\mathrm{softmax}(\ell/T^2)$. This module follows the paper.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import NamedTuple

import jax
import jax.numpy as jnp

from .. import _checks
from .._types import Array
from . import _protocol, rules


class Apd(NamedTuple):
    r"""APD's settings: mixture weight R, lookahead M, temperature.

    Attributes:
      name: `"apd"`.
      weight: $R \in [0, 1]$, the dLLM's share of the target's log-probabilities.
      lookahead: $M \ge 1$, the most masked positions drafted per step.
      temperature: $\tau$ of draft and target (0: greedy, ties at random).
      params: the factory's arguments, for display.
    """

    name: str
    weight: float
    lookahead: int
    temperature: float
    params: tuple[tuple[str, object], ...]

    def max_steps(self, length: int) -> int:
        """Every step commits at least one token: at most `length` steps."""
        return int(length)

    def describe(self) -> str:
        """`apd(weight=0.5, lookahead=8, temperature=1.0)`."""
        return _protocol.describe(self)

    # -- the sampler protocol (`_protocol`) --------------------------------------------

    num_models = 2
    remasks = False
    law = "apd"
    """Its exact law: `trilemma.simulation._apd`, with the ideal dLLM and verifier."""

    @property
    def phases(self) -> tuple[Callable, Callable]:
        """Draft with the dLLM, then verify with the AR model on the draft."""
        return (
            functools.partial(_draft_phase, self),
            functools.partial(_accept_phase, self),
        )

    def init_extra(self, length: int, vocab_size: int) -> tuple:
        """No state beyond the tokens: the accepted prefix is in them."""
        return ()


DEFAULT_WEIGHT = 0.7
"""The paper's recommended mixture weight R (see `apd`)."""

DEFAULT_LOOKAHEAD = 100
"""The paper's recommended masked lookahead M (see `apd`)."""


def apd(
    *,
    weight: float = DEFAULT_WEIGHT,
    lookahead: int = DEFAULT_LOOKAHEAD,
    temperature: float = 1.0,
) -> Apd:
    """Adaptive Parallel Decoding: a dLLM draft accepted where a small AR model agrees.

    Needs an autoregressive model beside the dLLM (`ar_model=`; the CLI's
    `--ar-model`). Decodes left to right.

    The defaults R = 0.7 and M = 100 are the paper's recommended setting: the first
    of the two (R, W, M) configurations of its Table 2, (0.7, 16, 100) beside
    (0.6, 32, 200) (arXiv 2506.00413; REFERENCE 7.1), and the defaults of the
    authors' `demo.py` (danielmisrael/apd at a555561: `--apd_mixture_weight 0.7`,
    `--max_lookahead 100`). The KV window W only saves compute and has no parameter
    here. With trilemma's outputs of a few tokens, M = 100 drafts every masked
    position. The temperature keeps trilemma's 1.0; the paper runs Dream at 0.2
    with top-p 0.95, which no sampler here has.

    Args:
      weight: R in [0, 1], the target p_D**R * p_AR**(1 - R) (R = 1 accepts all);
        default 0.7, the paper's.
      lookahead: M >= 1, the most masked positions drafted per step; default 100,
        the paper's.
      temperature: of the draft and the target (0: greedy).
    """
    weight = _checks.check_real(weight, "weight", low=0.0, high=1.0)
    lookahead = _checks.check_int(
        lookahead, "lookahead", minimum=1, maximum=_checks.INT64_MAX
    )
    temperature = _checks.check_real(
        temperature, "temperature", low=0.0, high_open=True
    )
    params = (
        ("weight", weight),
        ("lookahead", lookahead),
        ("temperature", temperature),
    )
    return Apd("apd", weight, lookahead, temperature, params)


class Draft(NamedTuple):
    """What the verification half of a step needs from the drafting half."""

    drafted: Array  # (S,) the draft token at every position
    window: Array  # (S,) booleans: the drafted positions
    log_probs: Array  # (S, V) the dLLM's log-probabilities
    noise: Array  # (S, V) the Gumbel noise shared by draft and target
    first: Array  # () the first drafted position t


def safe_log(p):
    """`log p`, with -inf where `p` is 0 (NumPy or JAX)."""
    xp = rules.xp_of(p)
    return xp.where(p > 0, xp.log(xp.where(p > 0, p, 1.0)), -xp.inf)


def target(sampler: Apd, log_p_dllm, log_p_ar):
    r"""Step 4: the law $q_j$ whose Gumbel-argmax is the target $\hat y_j$.

    $q_j \propto (p_{D,j}^R\,p_{AR,j}^{1-R})^{1/\tau}$ with $0^0 = 1$: the softmax of
    $R\log p_{D,j} + (1-R)\log p_{AR,j}$ ($-\infty$ where either expert rules a
    token out), tempered by `rules.draw_distribution`. NumPy (the exact law) or
    JAX (`accept`).

    Args:
      sampler: the `Apd` (its weight and temperature).
      log_p_dllm: `(..., V)` the dLLM's log-probabilities.
      log_p_ar: `(..., V)` the AR model's, at the same positions.
    """
    xp = rules.xp_of(log_p_dllm)
    r = sampler.weight
    if r == 1.0:
        mixed = log_p_dllm
    elif r == 0.0:
        mixed = log_p_ar
    else:
        both = xp.isfinite(log_p_dllm) & xp.isfinite(log_p_ar)
        mixed = xp.where(both, r * log_p_dllm + (1.0 - r) * log_p_ar, -xp.inf)
    weights = xp.exp(mixed - xp.max(mixed, axis=-1, keepdims=True))
    softmax = weights / xp.sum(weights, axis=-1, keepdims=True)
    return rules.draw_distribution(softmax, sampler.temperature)


def agreement(pi, q):
    r"""$P(\arg\max_u(\log\pi_u + g_u) = \arg\max_u(\log q_u + g_u) = v)$ for each $v$.

    Under one standard Gumbel vector $g$, both argmaxes are $v$ iff
    $g_u - g_v \le -\log\max(\pi_u/\pi_v, q_u/q_v)$ for every $u$; integrating over
    $g_v$ gives $1/\sum_u \max(\pi_u/\pi_v, q_u/q_v)$, and 0 where $\pi_v q_v = 0$.

    Args:
      pi: `(..., V)` the draft's law.
      q: `(..., V)` the target's law (`target`).

    Returns:
      `(..., V)`; its sum over $v$ is the probability that draft and target agree.
    """
    xp = rules.xp_of(pi)
    both = (pi > 0) & (q > 0)
    ratio = xp.maximum(
        pi[..., None, :] / xp.where(both, pi, 1.0)[..., :, None],
        q[..., None, :] / xp.where(both, q, 1.0)[..., :, None],
    )
    return xp.where(both, 1.0 / xp.sum(ratio, axis=-1), 0.0)


def draft(sampler: Apd, key, state, logits, *, mask_id: int) -> tuple[Array, Draft]:
    """Steps 1-2: the drafted sequence (to score with the AR model) and its `Draft`."""
    tokens = state.tokens
    length = tokens.shape[0]
    positions = jnp.arange(length)
    masked = tokens == mask_id
    first = jnp.argmax(masked)
    lookahead = min(sampler.lookahead, max(length, 1))
    window = masked & (positions >= first) & (positions < first + lookahead)
    probs = rules.token_probabilities(logits, mask_id)
    noise = jax.random.gumbel(key, probs.shape, dtype=probs.dtype)
    pi = rules.draw_distribution(probs, sampler.temperature)
    drafted = jnp.argmax(safe_log(pi) + noise, axis=-1).astype(tokens.dtype)
    sequence = jnp.where(window, drafted, tokens)
    return sequence, Draft(drafted, window, safe_log(probs), noise, first)


def accept(sampler: Apd, state, drafted: Draft, ar_logits, *, mask_id: int):
    """Steps 4-5 from the AR model's logits on the draft (row i predicts token i+1)."""
    tokens = state.tokens
    length = tokens.shape[0]
    positions = jnp.arange(length)
    ar = safe_log(rules.token_probabilities(ar_logits, mask_id))
    ar = jnp.concatenate([jnp.zeros_like(ar[:1]), ar[:-1]])  # row j predicts j
    pi = target(sampler, drafted.log_probs, ar)
    verdict = jnp.argmax(safe_log(pi) + drafted.noise, axis=-1)
    agree = verdict.astype(tokens.dtype) == drafted.drafted
    after = positions > drafted.first
    keep = jnp.where(after, drafted.window & agree, True)
    commit = drafted.window & (jnp.cumprod(keep.astype(int)) > 0)
    new_tokens = jnp.where(commit, drafted.drafted, tokens)
    verified = (jnp.sum(drafted.window) >= 2).astype(int)
    committed = jnp.sum(commit).astype(int)
    new_state = state._replace(
        tokens=new_tokens,
        step=state.step + 1,
        nfe=state.nfe + (committed > 0).astype(int),
        ar_nfe=state.ar_nfe + verified * (committed > 0).astype(int),
    )
    return new_state, committed


def _draft_phase(sampler: Apd, key, state, carry, logits, *, mask_id: int):
    """Phase 1 (the dLLM's logits): the `Draft`, and the sequence the AR model reads."""
    del carry
    sequence, drafted = draft(sampler, key, state, logits, mask_id=mask_id)
    return drafted, sequence


def _accept_phase(sampler: Apd, key, state, drafted, ar_logits, *, mask_id: int):
    """Phase 2 (the AR model's logits on the draft): the step's result."""
    del key
    new_state, committed = accept(sampler, state, drafted, ar_logits, mask_id=mask_id)
    return (new_state, _protocol.DecodeInfo(committed)), None
