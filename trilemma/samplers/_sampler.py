r"""The `Sampler` value and the factories of the registered samplers.

A sampler is a value: one score (which positions), one count rule (how many), one
temperature (which token) and an optional semi-autoregressive block length, each
bound when the sampler is built. `trilemma.simulate` enumerates its exact output law
with an oracle model, and `trilemma.samplers.decode` runs it by Monte Carlo on any
`logits_fn`; both call the same building blocks (`_blocks.py`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

from .. import _checks
from . import _blocks


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
      count: `count(sorted_scores, num_eligible, block_size, step) -> (..., L + 1)`:
        the pmf of the number of positions committed this step, from the eligible
        scores sorted high to low (padded with -inf) and already quantised with
        `_blocks.quantize`, as both decoders do.
      temperature: token draw: 0 is greedy with uniform ties, else $p^{1/\tau}$.
      block: semi-autoregressive block length, or None.
      time_grid: MDLM's number of steps $N$, for a count rule that depends on the
        step index and may commit nothing; None for rules that commit at least one
        token per step.
      params: the factory's arguments, for display.
    """

    name: str
    score: Callable
    count: Callable
    temperature: float
    block: int | None
    time_grid: int | None
    params: tuple[tuple[str, object], ...]

    @property
    def uses_step(self) -> bool:
        """Whether `count` depends on the step index (MDLM's time grid)."""
        return self.time_grid is not None

    @property
    def fixed_schedule(self) -> bool:
        """Whether positions and counts never read the model's probabilities.

        True for random and left-to-right top-k: which positions are committed and
        how many depend only on the step, so every trajectory of a given length
        takes the same number of forward passes, whatever tokens are drawn.
        """
        return (
            self.score in (_blocks.uniform_score, _blocks.left_to_right_score)
            and isinstance(self.count, Rule)
            and self.count.fn is _blocks.topk_count
        )

    def max_steps(self, length: int) -> int:
        r"""Steps within which decoding `length` masked positions always finishes.

        Every rule but MDLM's commits at least one token per step ($\le L$ steps);
        MDLM's last grid step unmasks everything ($\le N$ steps).
        """
        return int(length) if self.time_grid is None else self.time_grid

    def describe(self) -> str:
        """`name(k=2, temperature=0.0)`."""
        args = ", ".join(f"{key}={value}" for key, value in self.params)
        return f"{self.name}({args})"


def _build(name, score, count, *, temperature, block, time_grid=None, **params):
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
    )


def _schedule(k, num_steps):
    if _checks.check_exactly_one(k=k, num_steps=num_steps) == "k":
        return bind(_blocks.topk_count, k=_checks.check_int(k, "k", minimum=1))
    steps = _checks.check_int(num_steps, "num_steps", minimum=1)
    return bind(_blocks.topk_count, num_steps=steps)


def _topk(name, score):
    def factory(
        *,
        k: int | None = None,
        num_steps: int | None = None,
        temperature: float = 0.0,
        block: int | None = None,
    ) -> Sampler:
        return _build(
            name,
            score,
            _schedule(k, num_steps),
            temperature=temperature,
            block=block,
            k=k,
            num_steps=num_steps,
        )

    factory.__name__ = name
    return factory


_TOPK_DOC = """{what}, a fixed number per step (LLaDA's schedule).

    Args:
      k: tokens per step; a block of M masks takes ceil(M / k) steps, the remainder
        first (LLaDA's steps-to-counts schedule).
      num_steps: alternatively, the number of steps (per block when `block` is set).
      temperature: 0 for greedy (uniform ties), else sample from p**(1/temperature).
      block: semi-autoregressive block length (None: one block).
    """

random_topk = _topk("random_topk", _blocks.uniform_score)
random_topk.__doc__ = _TOPK_DOC.format(what="Commit uniformly random masked positions")
confidence_topk = _topk("confidence_topk", _blocks.confidence_score)
confidence_topk.__doc__ = _TOPK_DOC.format(
    what="Commit the most confident positions (probability of the drawn token)"
)
margin_topk = _topk("margin_topk", _blocks.margin_score)
margin_topk.__doc__ = _TOPK_DOC.format(
    what="Commit the positions with the largest margin p1 - p2"
)
entropy_topk = _topk("entropy_topk", _blocks.neg_entropy_score)
entropy_topk.__doc__ = _TOPK_DOC.format(what="Commit the positions of lowest entropy")


def left_to_right(
    *, k: int | None = None, num_steps: int | None = None, temperature: float = 0.0
) -> Sampler:
    """Commit the leftmost masked positions, k per step (semi-AR with block = k).

    Args:
      k: tokens per step.
      num_steps: alternatively, the number of steps.
      temperature: 0 for greedy (uniform ties), else sample from p**(1/temperature).
    """
    return _build(
        "left_to_right",
        _blocks.left_to_right_score,
        _schedule(k, num_steps),
        temperature=temperature,
        block=None,
        k=k,
        num_steps=num_steps,
    )


def _threshold(name: str, strict: bool, doc: str):
    def factory(
        *, gamma: float, temperature: float = 0.0, block: int | None = None
    ) -> Sampler:
        gamma = _checks.check_real(gamma, "gamma", low=0.0, high=1.0)
        count = bind(_blocks.threshold_count, gamma=gamma, strict=strict)
        return _build(
            name,
            _blocks.confidence_score,
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
    count = bind(_blocks.factor_count, factor=factor, reference_quirk=reference_quirk)
    return _build(
        "factor",
        _blocks.confidence_score,
        count,
        temperature=temperature,
        block=block,
        factor=factor,
        reference_quirk=reference_quirk or None,
    )


def eb(*, gamma: float, temperature: float = 0.0, block: int | None = None) -> Sampler:
    """EB-Sampler: lowest-entropy positions while sum H - max H <= gamma (nats).

    Args:
      gamma: entropy budget in nats (>= 0; 0 is about one token per step).
      temperature: 0 for greedy (uniform ties), else sample from p**(1/temperature).
      block: semi-autoregressive block length (None: one block).
    """
    gamma = _checks.check_real(gamma, "gamma", low=0.0)
    count = bind(_blocks.entropy_bounded_count, gamma=gamma)
    return _build(
        "eb",
        _blocks.neg_entropy_score,
        count,
        temperature=temperature,
        block=block,
        gamma=gamma,
    )


def mdlm(*, num_steps: int, temperature: float = 1.0) -> Sampler:
    """MDLM ancestral sampling: each mask unmasks with probability (t - s)/t.

    Args:
      num_steps: N steps on the grid t = 1, 1 - 1/N, ..., 0 (the last unmasks all).
      temperature: 1 samples the model; 0 is greedy.
    """
    steps = _checks.check_int(
        num_steps, "num_steps", minimum=1, maximum=_checks.INT64_MAX
    )
    count = bind(_blocks.ancestral_count, num_steps=steps)
    return _build(
        "mdlm",
        _blocks.uniform_score,
        count,
        temperature=temperature,
        block=None,
        time_grid=steps,
        num_steps=steps,
    )
