r"""Exact decoding results shared by the decoding figures, table and PBx.

* `point(task, n, sampler, params)`: the exact `TrilemmaPoint` of a registered sampler
  on a registered task under the ideal (oracle) model, by `trilemma.simulate`, cached
  within one process (the table, the figure and PBx reuse each other's runs).
* `shuffle_symmetric(n, sampler, params)`: the same quantities for `shuffle` (all n!
  permutations) by a symmetry-reduced recursion, used where full enumeration is too
  slow for the main job (n = 8: 40,320 outcomes, about 20 s per sampler). Every
  decoding state of Shuffle is, up to relabelling items, the number m of masks left
  and whether the revealed tokens are still distinct: each masked position's
  marginal is uniform over the m unused items (on the support) or over the n-letter
  alphabet (off it: the enumerator's zero-mass convention). The recursion calls the
  sampler's own score and count rule on those marginals; it is checked against
  enumeration for every configuration of the decoding table with n <= 7.
* Closed forms of REFERENCE 2.4-2.7, and two derived ones for Replace Random at
  temperature 1 (checked against enumeration in the table).

Gamma values are `fractions.Fraction`s so that the boundary cases (gamma = 1/m, (m-1)/m)
are decided exactly in the closed forms; the samplers get `float(gamma)`, which the
library quantises on the same grid as the oracle's probabilities.
"""

from __future__ import annotations

import functools
import math
from fractions import Fraction

import numpy as np

from experiments import _common

POINT_FIELDS = (
    "accuracy",
    "precision",
    "recall",
    "tv",
    "valid_entropy",
    "reference_entropy",
    "kl_reference_to_sampler",
    "expected_nfe",
    "tokens_per_step",
)
NATS_FIELDS = ("valid_entropy", "reference_entropy", "kl_reference_to_sampler")
"""`TrilemmaPoint` fields in nats, reported in bits as `<field>_bits`."""


# --- exact simulation -----------------------------------------------------------------


def params_key(params: dict) -> tuple:
    """Hashable, ordered form of sampler parameters."""
    return tuple(sorted(params.items()))


@functools.cache
def simulation(task_name: str, n: int | None, sampler_name: str, params: tuple):
    """Exact `Simulation` of `SAMPLERS[sampler_name](**params)` on a task (cached).

    Args:
      task_name: a registered task.
      n: its size (None: the task's default).
      sampler_name: a registered sampler.
      params: `params_key(...)` of the sampler's keyword arguments.
    """
    import trilemma as T

    _common.enable_x64()
    task = _common.task(task_name, n)
    return _simulate(task, T.SAMPLERS[sampler_name](**dict(params)))


@functools.cache
def outcome(task_name: str, n: int | None, sampler_name: str, params: tuple) -> dict:
    """Accuracy (grader), valid mass, expected NFE and tokens per step (cached).

    The cheap part of `point`: no divergence is computed, so nothing is compiled.
    """
    sim = simulation(task_name, n, sampler_name, params)
    return {
        "accuracy": sim.accuracy(),
        "precision": float(np.sum(np.asarray(sim.outputs.probs))),
        "expected_nfe": float(sim.expected_nfe),
        "tokens_per_step": float(sim.tokens_per_step),
        "output_length": len(sim.task.outputs),
    }


@functools.cache
def point(task_name: str, n: int | None, sampler_name: str, params: tuple) -> dict:
    """Exact trilemma point (`TrilemmaPoint` fields of `POINT_FIELDS`), cached.

    Fields in nats are converted to bits and named `<field>_bits`; infinite KL is
    returned as None; `"output_length"` is added.
    """
    import trilemma as T

    sim = simulation(task_name, n, sampler_name, params)
    result = sim.point()
    out = {}
    for field in POINT_FIELDS:
        value = getattr(result, field)
        if field in NATS_FIELDS:
            out[f"{field}_bits"] = _finite(T.to_bits(value))
        else:
            out[field] = _finite(value)
    out["output_length"] = len(sim.task.outputs)
    return out


def _finite(value):
    value = float(value)
    return value if math.isfinite(value) else None


def _simulate(task, sampler):
    """`trilemma.simulate` without the output entropy (not needed here, and costly)."""
    import trilemma as T

    return T.simulate(task, sampler, entropy_cells=0)


# --- Shuffle by symmetry --------------------------------------------------------------


@functools.cache
def shuffle_symmetric(n: int, sampler_name: str, params: tuple) -> dict:
    """`trilemma.simulate_shuffle` of a registered sampler (cached), as a dict.

    Keys: the `ShuffleSimulation` fields (`"precision"` is the valid mass,
    `"accuracy"` ParallelBench's grader) and `"output_length"`.
    """
    import trilemma as T

    result = T.simulate_shuffle(n, T.SAMPLERS[sampler_name](**dict(params)))
    return {**result._asdict(), "output_length": n}


# --- schedules and closed forms -------------------------------------------------------


def llada_sizes(n: int, k: int) -> list[int]:
    """LLaDA's step sizes for n masks, k per step: ceil(n/k) steps, remainder first."""
    steps = -(-n // k)
    base, extra = divmod(n, steps)
    return [base + 1] * extra + [base] * (steps - extra)


def shuffle_sizes_accuracy(sizes) -> float:
    r"""Shuffle valid mass for any step sizes: $n!/\prod_t m_t^{s_t} = 2^{-L_T}$."""
    n, remaining, log_value = sum(sizes), sum(sizes), 0.0
    for s in sizes:
        log_value -= s * math.log(remaining)
        remaining -= s
    return math.exp(log_value + math.lgamma(n + 1))


def eq5(n: int, k: int) -> float | None:
    r"""ParallelBench Eq. (5), $\prod_{i=1}^{n/k} P(m_i,k)/m_i^k$; None unless k | n."""
    if n % k:
        return None
    value = 1.0
    for i in range(n // k):
        m = n - i * k
        value *= math.perm(m, k) / m**k
    return value


def replace_random_last_block(r: int) -> float:
    """Greedy top-k Replace Random, by the size r of the last step (REFERENCE 2.7)."""
    return {1: 1.0, 2: 0.5}.get(r, 0.0)


def replace_random_paper_topk(k: int) -> float:
    """Paper's compact greedy top-k statement: 1 if k = 1, 0.5 if k = 2, 0 if k > 2."""
    return replace_random_last_block(k)


def replace_random_tau1(n: int, k: int, confidence: bool) -> float:
    r"""Replace Random top-k at temperature 1 along LLaDA's sizes (derived recursion).

    While W is unplaced with m masks left, every masked position draws W with
    probability 1/m, independently. Random top-k commits s uniform positions: none
    draws W with probability $((m-1)/m)^s$ (go on with m - s masks) and exactly one
    with probability $s\,(1/m)((m-1)/m)^{s-1}$ (then every later marginal is
    deterministic: success). Confidence top-k ranks the positions that drew an item
    (confidence (m-1)/m) above those that drew W (1/m) when m >= 3: with j item
    draws among the m, it commits s items if j >= s (go on) and exactly one W if
    j = s - 1 (success). At m <= 2 all confidences tie, as under random top-k.
    """
    value, survive, m = 0.0, 1.0, n
    for s in llada_sizes(n, k):
        p_w = 1.0 / m
        if confidence and m >= 3:
            j_law = [
                math.comb(m, j) * (1 - p_w) ** j * p_w ** (m - j) for j in range(m + 1)
            ]
            go_on = sum(j_law[s:]) if s < m else 0.0
            one_w = j_law[s - 1]
        else:
            go_on = (1 - p_w) ** s if s < m else 0.0
            one_w = s * p_w * (1 - p_w) ** (s - 1)
        value += survive * one_w
        survive *= go_on
        m -= s
    return value


def shuffle_threshold(n: int, gamma: Fraction, strict: bool) -> float:
    r"""Greedy threshold on Shuffle (REFERENCE 2.7): $m!/m^m$ for the final block.

    One-by-one until the m masks left all have confidence 1/m above gamma, then all
    at once: m = min(n, ceil(1/gamma) - 1) under "> gamma", min(n, floor(1/gamma))
    under ">= gamma".
    """
    if gamma == 0:
        m = n
    elif strict:
        m = min(n, math.ceil(1 / gamma) - 1)
    else:
        m = min(n, math.floor(1 / gamma))
    m = max(m, 1)
    return math.factorial(m) / m**m


def replace_random_threshold(n: int, gamma: Fraction, strict: bool) -> float:
    r"""Greedy threshold on Replace Random (derived; REFERENCE 2.6-2.7).

    The first step's confidences all equal (n-1)/n. If they pass the threshold, all n
    positions commit at once: every position keeps its item (accuracy 0), except at
    n = 2, where item and W tie at 1/2 and exactly one W is drawn with probability
    1/2. Otherwise decoding is one-by-one and the last position is forced to W
    (accuracy 1).
    """
    c = Fraction(n - 1, n)
    passes = c > gamma if strict else c >= gamma
    if not passes or n == 1:
        return 1.0
    return 0.5 if n == 2 else 0.0


def replace_random_paper_threshold(n: int, gamma: Fraction) -> float:
    """Paper's statement: 1 if gamma >= (n-1)/n, else 0."""
    return 1.0 if gamma >= Fraction(n - 1, n) else 0.0


def shuffle_paper_threshold(gamma: Fraction) -> float | None:
    """Paper's statement: 1 if gamma > 0.5 (no claim otherwise)."""
    return 1.0 if gamma > Fraction(1, 2) else None


def threshold_grid(n: int) -> list[Fraction]:
    """Gamma values: 1/m and (m-1)/m for m = 2..n, midpoints, and 0.9, 0.95, 1."""
    points = {Fraction(1, m) for m in range(2, n + 1)}
    points |= {Fraction(m - 1, m) for m in range(2, n + 1)}
    points |= {Fraction(9, 10), Fraction(1)}
    return sorted(points)


def gamma_text(gamma: Fraction) -> str:
    """'1/2', '7/8', '0.9' or '1'."""
    if gamma.denominator == 1:
        return str(gamma.numerator)
    if gamma.denominator in (10, 20, 100):
        return f"{float(gamma):g}"
    return f"{gamma.numerator}/{gamma.denominator}"
