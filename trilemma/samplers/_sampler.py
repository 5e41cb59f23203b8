r"""The `Sampler` value and the factories of the registered samplers.

A sampler is a value: one score (which positions), one count rule (how many), one
temperature (which token) and an optional semi-autoregressive block length, each
bound when the sampler is built. `trilemma.simulate` enumerates its exact output law
with an oracle model, and `trilemma.samplers.decode` runs it by Monte Carlo on any
`logits_fn`; both call the same building blocks (`rules.py`).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import NamedTuple

import jax
import jax.numpy as jnp

from .. import _checks
from . import _protocol, rules


class Rule(NamedTuple):
    """A building block with its settings bound: `Rule(fn, (("k", 2),))(*args)`.

    Unlike `functools.partial`, two rules with the same function and settings are
    equal and hash alike, so a rebuilt sampler hits the same jit cache.
    """

    fn: Callable
    settings: tuple[tuple[str, object], ...]

    def __call__(self, *args):
        return self.fn(*args, **dict(self.settings))


def bind(fn: Callable, **settings) -> Rule:
    """`fn` with keyword settings bound, comparable by value."""
    return Rule(fn, tuple(sorted(settings.items())))


class Sampler(NamedTuple):
    r"""A parallel decoding rule along its three axes.

    Attributes:
      name: registry name.
      score: `score(probs (..., L, V), positions (L,)) -> (..., L, V)`: the score of
        committing each token at each position (ranked high to low, ties at random).
        `positions` are offsets from the start of the generation window (the first
        masked position; negative in a prompt before it), so a score that reads
        them (left-to-right, DUS) ranks the same positions whatever the prompt's
        length.
      count: `count(scores, num_eligible, block_size, step) -> (..., L + 1)`: the pmf
        of the number of positions committed this step, from the eligible scores,
        already quantised with `rules.quantize` as both decoders do, in the order
        `count_order` names.
      temperature: token draw: 0 is greedy with uniform ties, else $p^{1/\tau}$.
      block: semi-autoregressive block length, or None.
      time_grid: the number of steps $N$ of a count rule that depends on the step
        index and may commit nothing (MDLM's grid, Dream's schedule; with blocks,
        each block runs the $N$ steps); None for rules that commit at least one
        token per step.
      params: the factory's arguments, for display.
      count_order: what `count` reads: `"score"`, the eligible scores sorted high
        to low and padded with -inf (every rule but one), or `"position"`, every
        position's score in sequence order with -inf where it is not eligible
        (EB-Sampler's budget summed in sequence order, ParallelBench's variant).
    """

    name: str
    score: Callable
    count: Callable
    temperature: float
    block: int | None
    time_grid: int | None
    params: tuple[tuple[str, object], ...]
    count_order: str = "score"

    @property
    def uses_step(self) -> bool:
        """Whether `count` depends on the step index (a time grid: MDLM, Dream)."""
        return self.time_grid is not None

    @property
    def fixed_schedule(self) -> bool:
        """Whether positions and counts never read the model's probabilities.

        True for random and left-to-right top-k: which positions are committed and
        how many depend only on the step, so every trajectory of a given length
        takes the same number of forward passes, whatever tokens are drawn.
        """
        return (
            self.score in (rules.uniform_score, rules.left_to_right_score)
            and isinstance(self.count, Rule)
            and self.count.fn is rules.topk_count
        )

    def max_steps(self, length: int) -> int:
        r"""Steps within which decoding `length` masked positions always finishes.

        Every rule without a time grid commits at least one token per step ($\le L$
        steps); on a time grid the last of a block's $N$ steps unmasks the block
        ($\le N$ steps per block, $\lceil L/B \rceil$ blocks).
        """
        if self.time_grid is None:
            return int(length)
        blocks = 1 if self.block is None else max(1, -(-int(length) // self.block))
        return self.time_grid * blocks

    def describe(self) -> str:
        """`name(k=2, temperature=0.0)`."""
        return _protocol.describe(self)

    # -- the sampler protocol (`_protocol`) --------------------------------------------

    num_models = 1
    remasks = False
    law = "levels"
    """Its exact law: the level enumerator of `trilemma.simulate`."""

    @property
    def phases(self) -> tuple[Callable, ...]:
        """One phase: `step_from_logits`."""
        return (_protocol.single_phase(functools.partial(step_from_logits, self)),)

    def init_extra(self, length: int, vocab_size: int) -> tuple:
        """No state beyond the tokens and the step index."""
        return ()


def step_from_logits(
    sampler: Sampler, key, state, logits, *, mask_id: int
) -> tuple[_protocol.DecodeState, _protocol.DecodeInfo]:
    r"""One decoding step of `sampler` from the model's logits `(S, V)` at `state`.

    Draws every masked token from its law $\pi_j$ (inverse CDF of one uniform per
    position, in float64 when x64 is on), scores the drawn tokens, draws the count
    $k$ from the sampler's count pmf, ranks eligible positions by score with
    uniformly random tie-breaking priorities (one multi-key sort), and commits the
    first $k$. It calls the same rules as the exact enumerator, so Monte Carlo
    frequencies converge to `trilemma.simulate`'s exact law. A step that commits
    nothing costs no forward pass (its logits are cached).
    """
    tokens = state.tokens
    length = tokens.shape[0]
    masked = tokens == mask_id
    eligible, block_size = rules.eligible_positions(masked, sampler.block, state.start)
    probs = rules.token_probabilities(logits, mask_id)
    pi = rules.draw_distribution(probs, sampler.temperature)
    # one call for every uniform of the step: tokens, tie priorities, the count
    u = jax.random.uniform(key, (2 * length + 1,), dtype=probs.dtype)
    drawn = rules.draw_index(pi, u[:length])
    # positions as offsets from the window's start (`Sampler.score`)
    offsets = jnp.arange(length) - state.start
    table = rules.quantize(sampler.score(probs, offsets))
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
    count = rules.draw_index(pmf, u[2 * length])
    commit = jnp.zeros(length, bool).at[order].set(jnp.arange(length) < count)
    commit = commit & eligible
    new_tokens = jnp.where(commit, drawn.astype(tokens.dtype), tokens)
    committed = jnp.sum(commit).astype(int)
    new_state = state._replace(
        tokens=new_tokens,
        step=state.step + 1,
        nfe=state.nfe + (committed > 0).astype(int),
    )
    return new_state, _protocol.DecodeInfo(committed)


def _build(
    name,
    score,
    count,
    *,
    temperature,
    block,
    time_grid=None,
    count_order="score",
    **params,
):
    temperature = _checks.check_real(
        temperature, "temperature", low=0.0, high_open=True
    )
    if block is not None:
        block = _checks.check_int(block, "block", minimum=1)
    shown = {**params, "temperature": temperature, "block": block}
    return Sampler(
        name=name,
        score=score,
        count=count,
        temperature=temperature,
        block=block,
        time_grid=time_grid,
        params=tuple((key, value) for key, value in shown.items() if value is not None),
        count_order=count_order,
    )


def _dream_grid(num_steps, eps, float32, *, maximum):
    """Checked `(num_steps, eps, float32)` of a rule on Dream's grid."""
    eps = _checks.check_real(eps, "eps", low=0.0, high=1.0, high_open=True)
    float32 = _checks.check_bool(float32, "float32")
    if float32:
        maximum = min(maximum, rules.DREAM_FLOAT32_MAX_STEPS)
    steps = _checks.check_int(num_steps, "num_steps", minimum=1, maximum=maximum)
    return steps, eps, float32


DREAM_MAX_STEPS = 2**30
"""Most steps of Dream's schedule (its step index is taken modulo N in int32)."""


def _schedule(k, num_steps, eps=None, float32=False):
    """`(count rule, time grid)`: LLaDA's schedule, or Dream's when `eps` is set."""
    if eps is not None:
        if k is not None:
            raise ValueError(
                f"`eps` sets Dream's schedule, which takes `num_steps`, not `k`; got "
                f"k = {_checks.show(k)}."
            )
        if num_steps is None:
            raise ValueError("`eps` sets Dream's schedule: give `num_steps` too.")
        steps, eps, float32 = _dream_grid(
            num_steps, eps, float32, maximum=DREAM_MAX_STEPS
        )
        rule = bind(rules.dream_count, num_steps=steps, eps=eps, float32=float32)
        return rule, steps
    if _checks.check_bool(float32, "float32"):
        raise ValueError("`float32` replays Dream's schedule: give `eps` too.")
    if _checks.check_exactly_one(k=k, num_steps=num_steps) == "k":
        return bind(rules.topk_count, k=_checks.check_int(k, "k", minimum=1)), None
    steps = _checks.check_int(num_steps, "num_steps", minimum=1)
    return bind(rules.topk_count, num_steps=steps), None


def _topk(name, score):
    def factory(
        *,
        k: int | None = None,
        num_steps: int | None = None,
        temperature: float = 0.0,
        block: int | None = None,
        eps: float | None = None,
        float32: bool = False,
    ) -> Sampler:
        count, time_grid = _schedule(k, num_steps, eps, float32)
        return _build(
            name,
            score,
            count,
            temperature=temperature,
            block=block,
            time_grid=time_grid,
            k=k,
            num_steps=num_steps,
            eps=eps,
            float32=float32 or None,
        )

    factory.__name__ = name
    return factory


_SCHEDULE_ARGS = """eps: Dream's schedule instead of LLaDA's: step i of `num_steps`
        commits floor(m (1 - t_(i+1)/t_i)) of the m masks left on t = linspace(1,
        eps, num_steps + 1), and all at the last step (Dream's `_sample`,
        ParallelBench's `sample_block`; Dream's default eps is 0.001, ParallelBench
        passes 0); a step may commit nothing. None (default): LLaDA's schedule.
      float32: with `eps`, replay Dream's float32 arithmetic (torch on a CPU): some
        steps commit one token fewer and the last more (32 masks in 8 steps at eps
        = 0: 4,3,4,4,4,4,4,5). Default False: the rule in exact arithmetic."""

_TOPK_DOC = (
    """{what}, a fixed number per step (LLaDA's schedule, or Dream's).

    Args:
      k: tokens per step; a block of M masks takes ceil(M / k) steps, the remainder
        first (LLaDA's steps-to-counts schedule).
      num_steps: alternatively, the number of steps (per block when `block` is set).
      temperature: 0 for greedy (uniform ties), else sample from p**(1/temperature).
      block: semi-autoregressive block length (None: one block).
      """
    + _SCHEDULE_ARGS
    + "\n    "
)

random_topk = _topk("random_topk", rules.uniform_score)
random_topk.__doc__ = _TOPK_DOC.format(what="Commit uniformly random masked positions")
confidence_topk = _topk("confidence_topk", rules.confidence_score)
confidence_topk.__doc__ = _TOPK_DOC.format(
    what="Commit the most confident positions (probability of the drawn token)"
)
margin_topk = _topk("margin_topk", rules.margin_score)
margin_topk.__doc__ = _TOPK_DOC.format(
    what="Commit the positions with the largest margin p1 - p2"
)
entropy_topk = _topk("entropy_topk", rules.neg_entropy_score)
entropy_topk.__doc__ = _TOPK_DOC.format(what="Commit the positions of lowest entropy")


def left_to_right(
    *,
    k: int | None = None,
    num_steps: int | None = None,
    temperature: float = 0.0,
    eps: float | None = None,
    float32: bool = False,
) -> Sampler:
    """Commit the leftmost masked positions, k per step (semi-AR with block = k).

    Args:
      k: tokens per step.
      num_steps: alternatively, the number of steps.
      temperature: 0 for greedy (uniform ties), else sample from p**(1/temperature).
      eps: Dream's schedule instead of LLaDA's (see `confidence_topk`).
      float32: with `eps`, replay Dream's float32 arithmetic (see `confidence_topk`).
    """
    count, time_grid = _schedule(k, num_steps, eps, float32)
    return _build(
        "left_to_right",
        rules.left_to_right_score,
        count,
        temperature=temperature,
        block=None,
        time_grid=time_grid,
        k=k,
        num_steps=num_steps,
        eps=eps,
        float32=float32 or None,
    )


def _threshold(name: str, strict: bool, doc: str):
    def factory(
        *, gamma: float, temperature: float = 0.0, block: int | None = None
    ) -> Sampler:
        gamma = _checks.check_real(gamma, "gamma", low=0.0, high=1.0)
        count = bind(rules.threshold_count, gamma=gamma, strict=strict)
        return _build(
            name,
            rules.confidence_score,
            count,
            temperature=temperature,
            block=block,
            gamma=gamma,
        )

    factory.__name__ = name
    factory.__doc__ = doc + _THRESHOLD_ARGS
    return factory


_THRESHOLD_ARGS = """

    Args:
      gamma: confidence threshold in [0, 1].
      temperature: 0 for greedy (uniform ties), else sample from p**(1/temperature).
      block: semi-autoregressive block length (None: one block).
    """

threshold = _threshold(
    "threshold",
    False,
    "Commit the top-1 plus every position with confidence >= gamma (reference code).",
)
threshold_strict = _threshold(
    "threshold_strict",
    True,
    "Commit every position with confidence > gamma, else the top-1 (the paper's rule).",
)


def factor(
    *,
    factor: float,
    temperature: float = 0.0,
    block: int | None = None,
    reference_quirk: bool = False,
) -> Sampler:
    """Fast-dLLM's factor rule: the longest prefix with (n+1)(1 - c_(n)) <= f.

    Args:
      factor: f > 0 (f = 1 is Fast-dLLM Theorem 1's epsilon <= 1/(n+1)).
      temperature: 0 for greedy (uniform ties), else sample from p**(1/temperature).
      block: semi-autoregressive block length (None: one block).
      reference_quirk: commit everything when only the last rank fails, as the
        released Fast-dLLM and ParallelBench code do.
    """
    factor = _checks.check_real(factor, "factor", low=0.0, low_open=True)
    reference_quirk = _checks.check_bool(reference_quirk, "reference_quirk")
    count = bind(rules.factor_count, factor=factor, reference_quirk=reference_quirk)
    return _build(
        "factor",
        rules.confidence_score,
        count,
        temperature=temperature,
        block=block,
        factor=factor,
        reference_quirk=reference_quirk or None,
    )


def eb(
    *,
    gamma: float,
    temperature: float = 0.0,
    block: int | None = None,
    sequence_order: bool = False,
) -> Sampler:
    r"""EB-Sampler: lowest-entropy positions while sum H - max H <= gamma (nats).

    Positions are ranked by entropy (lowest first). The budget $\sum_{i \in U} H_i -
    \max_{i \in U} H_i \le \gamma$ is summed over the masked positions taken **in
    entropy order** by default: the paper's rule (Ben-Hamu et al., arXiv 2505.24857,
    Alg. 1: the largest prefix $U$ of the sorted positions). `sequence_order=True`
    sums it **in sequence order** instead, ParallelBench's variant (its LLaDA
    `get_transfer_index`, `eb_sampler_gamma`): $k$ is the length of the longest
    left-to-right run of eligible positions within the budget, and the $k$
    lowest-entropy positions are committed. At least one token either way.

    Args:
      gamma: entropy budget in nats (>= 0; 0 is about one token per step).
      temperature: 0 for greedy (uniform ties), else sample from p**(1/temperature).
      block: semi-autoregressive block length (None: one block).
      sequence_order: sum the budget in sequence order (ParallelBench) rather than
        in entropy order (the paper; default).
    """
    gamma = _checks.check_real(gamma, "gamma", low=0.0)
    sequence_order = _checks.check_bool(sequence_order, "sequence_order")
    count = bind(rules.entropy_bounded_count, gamma=gamma)
    return _build(
        "eb",
        rules.neg_entropy_score,
        count,
        temperature=temperature,
        block=block,
        count_order="position" if sequence_order else "score",
        gamma=gamma,
        sequence_order=sequence_order or None,
    )


def mdlm(
    *,
    num_steps: int,
    temperature: float = 1.0,
    eps: float = 0.0,
    float32: bool = False,
) -> Sampler:
    """MDLM ancestral sampling: each mask unmasks with probability (t - s)/t.

    With `eps` > 0 this is Dream's `origin` rule (random positions, each mask
    unmasked independently with probability 1 - s/t on Dream's grid, all at the last
    step).

    Args:
      num_steps: N steps on the grid t = linspace(1, eps, N + 1) (the last unmasks
        all).
      temperature: 1 samples the model; 0 is greedy.
      eps: the grid's last time (0, MDLM's grid 1 - i/N, by default; Dream's
        default is 0.001).
      float32: take each step's rate as Dream's float32 code computes it (default
        False: exact).
    """
    eps = _checks.check_real(eps, "eps", low=0.0, high=1.0, high_open=True)
    float32 = _checks.check_bool(float32, "float32")
    maximum = rules.DREAM_FLOAT32_MAX_STEPS if float32 else _checks.INT64_MAX
    steps = _checks.check_int(num_steps, "num_steps", minimum=1, maximum=maximum)
    if eps == 0 and not float32:
        count = bind(rules.ancestral_count, num_steps=steps)
    else:
        count = bind(rules.ancestral_count, num_steps=steps, eps=eps, float32=float32)
    return _build(
        "mdlm",
        rules.uniform_score,
        count,
        temperature=temperature,
        block=None,
        time_grid=steps,
        num_steps=steps,
        eps=eps or None,
        float32=float32 or None,
    )
