r"""Closed forms of the ideal model's decoding accuracy on Shuffle and Replace Random.

With the ideal (oracle) model, the exact accuracy of top-k and threshold decoding on
ParallelBench's two random list tasks has closed forms (REFERENCE 2.4-2.7; the
Replace Random recursions at temperature 1 are derived here). Each is a function of
the step sizes of the schedule (`trilemma.samplers.topk_schedule`) or of the
threshold $\gamma$, and equals `simulate` (tested for every n <= 6 or 7). The papers'
compact statements (`paper_*`) are kept beside them, exactly as written, to show
where they hold: Eq. (5) needs $k \mid n$, and the threshold statements miss the
"$\ge$" rule of the reference code at the boundaries.

Shuffle's accuracy here is the valid mass $q(\mathrm{supp}\,p^*)$ of the task with all
$n!$ permutations; ParallelBench's grader also rejects the identity (a factor
$1 - 1/n!$). Replace Random's is its grader's pass rate (= the valid mass).

`gamma` may be a `fractions.Fraction`, which decides the boundary cases
($\gamma = 1/m$ or $(m-1)/m$) exactly; the samplers quantise float thresholds on the
grid of the oracle's probabilities, so they agree with the exact boundary.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from fractions import Fraction

from .. import _checks


def shuffle_topk_accuracy(sizes: Sequence[int]) -> float:
    r"""Shuffle's valid mass when step $t$ commits $s_t$ positions: $2^{-L_T}$.

    Every masked marginal is uniform over the $m_t$ unused items and every score
    ties, so any top-k rule (random, confidence, margin, entropy, left-to-right),
    greedy or at any temperature, draws $s_t$ uniform items that are distinct with
    probability $P(m_t, s_t)/m_t^{s_t}$:
    $$\mathrm{Acc} = \prod_t \frac{P(m_t, s_t)}{m_t^{s_t}}
      = \frac{n!}{\prod_t m_t^{s_t}} = 2^{-L_T},
    \qquad m_t = n - \sum_{j<t} s_j .$$

    Args:
      sizes: the step sizes $s_1, \dots, s_T$ (positive; $n = \sum_t s_t$).

    >>> round(shuffle_topk_accuracy((2, 2)), 12)  # (4 * 3 / 16) (2 / 4)
    0.375
    """
    sizes = _sizes(sizes)
    n, remaining, log_value = sum(sizes), sum(sizes), 0.0
    for s in sizes:
        log_value -= s * math.log(remaining)
        remaining -= s
    return math.exp(log_value + math.lgamma(n + 1))


def shuffle_threshold_accuracy(n: int, gamma, *, strict: bool) -> float:
    r"""Shuffle's valid mass under greedy threshold decoding: $m!/m^m$.

    Every confidence is $1/m$ with $m$ masks left: decoding is one by one until all
    $m$ remaining confidences pass $\gamma$, and those then commit together, with
    $m = \min(n, \lceil 1/\gamma \rceil - 1)$ under "$> \gamma$" (`strict`) and
    $\min(n, \lfloor 1/\gamma \rfloor)$ under "$\ge \gamma$" ($m = n$ at
    $\gamma = 0$).

    Args:
      n: the number of items.
      gamma: the threshold in [0, 1].
      strict: the paper's "$> \gamma$" (True) or the reference code's "$\ge \gamma$".
    """
    n = _checks.check_int(n, "n", minimum=1)
    gamma = _checks.check_unit_interval(gamma, "gamma")
    if gamma == 0:
        m = n
    elif strict:
        m = min(n, math.ceil(1 / gamma) - 1)
    else:
        m = min(n, math.floor(1 / gamma))
    m = max(m, 1)
    return math.factorial(m) / m**m


def replace_random_topk_accuracy(
    sizes: Sequence[int], *, temperature: float, confidence: bool = False
) -> float:
    r"""Replace Random's accuracy under top-k decoding along step sizes $s_t$.

    While the replacement W is unplaced with $m$ masks left, every masked marginal
    gives W probability $1/m$ and the position's item $(m-1)/m$.

    * Greedy (`temperature=0`), any score: while $m \ge 3$ every commit keeps its
      item, so only the last step's size $r$ matters: accuracy 1, 1/2 or 0 for
      $r = 1$, $2$ or $\ge 3$ (at $r = 2$ item and W tie at 1/2).
    * Temperature 1, random score: $s$ uniform positions commit; none draws W with
      probability $((m-1)/m)^s$ (go on with $m - s$ masks) and exactly one with
      probability $s\,(1/m)((m-1)/m)^{s-1}$ (then every later marginal is
      deterministic: success).
    * Temperature 1, confidence score (`confidence=True`): with $m \ge 3$, positions
      that drew an item (confidence $(m-1)/m$) rank above those that drew W ($1/m$):
      with $j$ item draws among the $m$, the step commits $s$ items if $j \ge s$ (go
      on) and exactly one W if $j = s - 1$ (success). At $m \le 2$ every confidence
      ties, as under the random score.

    Args:
      sizes: the step sizes (positive; $n = \sum_t s_t$).
      temperature: 0 (greedy) or 1.
      confidence: the confidence score at temperature 1 (else random; greedy
        decoding does not depend on the score).
    """
    sizes = _sizes(sizes)
    if temperature not in (0, 1):
        raise _checks.unknown("temperature", temperature, (0.0, 1.0))
    if temperature == 0:
        return {1: 1.0, 2: 0.5}.get(sizes[-1], 0.0)
    value, survive, m = 0.0, 1.0, sum(sizes)
    for s in sizes:
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


def replace_random_threshold_accuracy(n: int, gamma, *, strict: bool) -> float:
    r"""Replace Random's accuracy under greedy threshold decoding.

    The first step's confidences all equal $(n-1)/n$. If they pass the threshold, all
    $n$ positions commit at once and every one keeps its item (accuracy 0), except at
    $n = 2$, where item and W tie at 1/2 and exactly one W is drawn with probability
    1/2. Otherwise decoding is one by one and the last position is forced to W
    (accuracy 1).

    Args:
      n: the list length.
      gamma: the threshold in [0, 1].
      strict: the paper's "$> \gamma$" (True) or the reference code's "$\ge \gamma$".
    """
    n = _checks.check_int(n, "n", minimum=1)
    gamma = _checks.check_unit_interval(gamma, "gamma")
    c = Fraction(n - 1, n)
    passes = c > gamma if strict else c >= gamma
    if not passes or n == 1:
        return 1.0
    return 0.5 if n == 2 else 0.0


def paper_shuffle_topk(n: int, k: int) -> float | None:
    r"""ParallelBench's Eq. (5), $\prod_{i=1}^{n/k} P(m_i,k)/m_i^k$; None unless k | n.

    With $m_i = n - (i-1)k$. It equals `shuffle_topk_accuracy` of $n/k$ steps of $k$.
    """
    n = _checks.check_int(n, "n", minimum=1)
    k = _checks.check_int(k, "k", minimum=1)
    if n % k:
        return None
    value = 1.0
    for i in range(n // k):
        m = n - i * k
        value *= math.perm(m, k) / m**k
    return value


def paper_replace_random_topk(k: int) -> float:
    """ParallelBench's greedy top-k Replace Random: 1 if k = 1, 0.5 if 2, 0 if > 2.

    Right when the last step commits k tokens (k | n); LLaDA's schedule puts the
    remainder first, so otherwise the last step is smaller (see
    `replace_random_topk_accuracy`).
    """
    k = _checks.check_int(k, "k", minimum=1)
    return {1: 1.0, 2: 0.5}.get(k, 0.0)


def paper_replace_random_threshold(n: int, gamma) -> float:
    r"""ParallelBench's greedy threshold Replace Random: 1 if $\gamma \ge (n-1)/n$.

    Else 0. Exact under "$> \gamma$" except at $n = 2$; under the reference code's
    "$\ge \gamma$" it fails at $\gamma = (n-1)/n$ (see
    `replace_random_threshold_accuracy`).
    """
    n = _checks.check_int(n, "n", minimum=1)
    gamma = _checks.check_unit_interval(gamma, "gamma")
    return 1.0 if gamma >= Fraction(n - 1, n) else 0.0


def paper_shuffle_threshold(gamma) -> float | None:
    r"""ParallelBench's greedy threshold Shuffle: 1 if $\gamma > 1/2$, else no claim.

    Returns None where the paper makes no claim. Right under both rules; at the
    boundary $\gamma = 1/2$, where it makes no claim, "$> \gamma$" gives 1 and
    "$\ge \gamma$" gives 1/2 (see `shuffle_threshold_accuracy`).
    """
    gamma = _checks.check_unit_interval(gamma, "gamma")
    return 1.0 if gamma > Fraction(1, 2) else None


def _sizes(sizes) -> tuple[int, ...]:
    sizes = tuple(_checks.check_int(s, "sizes", minimum=1) for s in sizes)
    _checks.check_int(len(sizes), "len(sizes)", minimum=1)
    return sizes
