r"""Exact simulation of Shuffle by symmetry: a recursion over (masks left, distinct?).

On Shuffle ($p^*$ uniform over the $n!$ permutations of the prompt's items) every
decoding state is, up to relabelling items and positions, the number $m$ of masks
left, whether the revealed tokens are still distinct, and the step. With the ideal
model every masked position's marginal is uniform over the $m$ unused items on the
support, and over all $n$ items off it (the enumerator's zero-mass convention), so the
sampler's score ties across masked positions (or, for left-to-right, ranks them in
order) and its count rule sees the same ranked scores whichever positions are
masked; with semi-autoregressive blocks, the current block and its masks follow from
$m$ alone. The $k$ committed positions draw i.i.d. uniform tokens (greedy breaks the
ties uniformly), which stay distinct with probability $P(m,k)/m^k$. The work is
$O(n^2 T)$ instead of the $n!$ support rows `simulate` enumerates.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from .. import _checks
from ..samplers import rules
from ..samplers._sampler import Sampler


class ShuffleSimulation(NamedTuple):
    r"""Exact decoding results of a sampler on Shuffle with the ideal model.

    Attributes:
      precision: the valid mass $q(\mathrm{supp}\,p^*)$, the chance of a permutation.
      accuracy: ParallelBench's grader, which also rejects the identity:
        precision times $1 - 1/n!$ (the valid part of $q$ is uniform by symmetry).
      expected_nfe: expected number of forward passes.
      tokens_per_step: $n / \mathbb{E}[\mathrm{NFE}]$.
    """

    precision: float
    accuracy: float
    expected_nfe: float
    tokens_per_step: float


def simulate_shuffle(n: int, sampler: Sampler) -> ShuffleSimulation:
    r"""Exact valid mass, grader accuracy and NFE of `sampler` on Shuffle, by symmetry.

    The same numbers as `simulate(make_task("shuffle", n), sampler)` (to rounding),
    for any registered sampler, from a recursion over states (m masks left, distinct
    so far, step): the sampler's own score and count rule are evaluated on the
    uniform marginals of a state, so thresholds, factor and entropy rules are the
    library's own.

    Args:
      n: the number of items, at least 1.
      sampler: a `Sampler`.

    Returns:
      A `ShuffleSimulation`.

    >>> from trilemma import SAMPLERS, simulate_shuffle
    >>> result = simulate_shuffle(4, SAMPLERS["random_topk"](k=2))
    >>> round(result.precision, 12), result.expected_nfe  # Eq. (5): (3/4) (1/2)
    (0.375, 2.0)
    """
    n = _checks.check_int(n, "n", minimum=1)
    _checks.check_instance(sampler, "sampler", Sampler)
    positions = np.arange(n)
    states = {(n, True, 0): 1.0}
    valid = nfe = 0.0
    while states:
        (m, on, step) = min(states, key=lambda key: (-key[0], key[2], not key[1]))
        mass = states.pop((m, on, step))
        if m == 0:
            valid += mass if on else 0.0
            continue
        pmf = _count_pmf(sampler, positions, m, m if on else n, step)
        after = step + int(sampler.uses_step)
        for k in np.nonzero(pmf > 0)[0]:
            k = int(k)
            weight = mass * pmf[k]
            nfe += weight if k > 0 else 0.0
            stay = math.perm(m, k) / m**k if on else 0.0
            for distinct, share in ((True, stay), (False, 1.0 - stay)):
                if share > 0:
                    key = (m - k, distinct, after)
                    states[key] = states.get(key, 0.0) + weight * share
    return ShuffleSimulation(
        precision=float(valid),
        accuracy=float(valid * (1.0 - 1.0 / math.factorial(n))),
        expected_nfe=float(nfe),
        tokens_per_step=float(n / nfe),
    )


def _count_pmf(sampler: Sampler, positions, m: int, alphabet: int, step: int):
    """The count pmf at a state with m masks, marginals uniform on `alphabet` items.

    The last m positions stand for the masked ones: with blocks they leave the same
    current block, with the same number of masks, as any other m positions after
    whole blocks; every score ties (left-to-right ranks them in order), so which
    positions are masked does not change the count.
    """
    n = len(positions)
    masked = positions >= n - m
    eligible, block_size = rules.eligible_positions(masked[None], sampler.block, 0)
    probs = np.zeros((1, n, n))
    probs[0, masked, :alphabet] = 1.0 / alphabet
    table = rules.quantize(sampler.score(probs, positions))
    # every drawable token of a position has the same score: take token 0's
    score = np.where(eligible[0], table[0, :, 0], -np.inf)
    ranked = -np.sort(-score)[None, :]
    pmf = sampler.count(ranked, eligible.sum(axis=1), block_size, np.array([step]))
    return np.asarray(pmf, float)[0]
