r"""Exact draws of one step, grouped by the confidence level of each drawn token.

The stateful samplers whose law `trilemma.simulate` enumerates as a chain (KLASS,
SlowFast: `law = "chain"`) decide what a step commits from the **confidence** of
each position's drawn token, $c_j = p_j(\hat x_j)$, quantised as every rule compares
it (`rules.quantize`). Two draws whose confidences agree at every position lead to
the same decision, so a step's law is enumerated over joint *levels* (one distinct
confidence per position) instead of joint tokens, and the token of a committed
position is drawn afterwards within its level, with probability
$\pi_j(v) / \pi_j(\text{level})$. At temperature 0 every position has one level
(its maximum), so a step costs one joint level however many tokens tie.

Ties between positions (`top_k`) are broken uniformly at random, as the jitted step
does with one random priority per position.
"""

from __future__ import annotations

import functools
import itertools
import math

import numpy as np

from .. import _checks
from . import rules

MAX_JOINT_LEVELS = 2_000_000
"""Most joint confidence levels one exact step enumerates (a step at temperature > 0
on a wide window can have more; at temperature 0 there is one)."""


def token_levels(row, temperature: float) -> dict[float, tuple[float, tuple]]:
    r"""`{level: (mass, ((token, pi), ...))}` of one position, levels high to low.

    The draw law $\pi_j$ of the model's probabilities `row` `(V,)` at `temperature`
    (`rules.draw_distribution`), its tokens grouped by their quantised confidence
    (`rules.quantize`). Cached on the row's bytes: many states share a row.
    """
    row = np.ascontiguousarray(row, dtype=float)
    return _token_levels(row.tobytes(), float(temperature))


@functools.lru_cache(maxsize=2**16)
def _token_levels(row: bytes, temperature: float) -> dict:
    probs = np.frombuffer(row, dtype=float)
    pi = rules.draw_distribution(probs[None], temperature)[0]
    conf = rules.quantize(probs)
    out: dict[float, list] = {}
    for v in np.flatnonzero(pi > 0).tolist():
        out.setdefault(float(conf[v]), []).append((v, float(pi[v])))
    return {
        level: (math.fsum(p for _, p in tokens), tuple(tokens))
        for level, tokens in sorted(out.items(), reverse=True)
    }


def joint_levels(levels: list[dict], what: str):
    """Every joint level of the positions: `(probability, (level, ...))`.

    Raises `ValueError` (naming `what`) past `MAX_JOINT_LEVELS` combinations.
    """
    size = math.prod(len(lv) for lv in levels)
    _checks.check_work(
        size, what, MAX_JOINT_LEVELS, unit="joint confidence levels in one step"
    )
    for combo in itertools.product(*(lv.items() for lv in levels)):
        prob = math.prod(mass for _, (mass, _) in combo)
        yield prob, tuple(level for level, _ in combo)


def top_k(positions, chosen_levels, count: int):
    """The committed sets of a top-`count` rule with uniform ties: `(p, set)`.

    Positions above the `count`-th highest level are committed; of those tied with
    it, each subset of the size still needed is equally likely.
    """
    ranked = sorted(chosen_levels, reverse=True)
    count = min(count, len(positions))
    if count <= 0:
        return [(1.0, ())]
    kth = ranked[count - 1]
    above = tuple(j for j, lv in zip(positions, chosen_levels, strict=True) if lv > kth)
    tied = [j for j, lv in zip(positions, chosen_levels, strict=True) if lv == kth]
    subsets = list(itertools.combinations(tied, count - len(above)))
    return [(1.0 / len(subsets), tuple(sorted(above + s))) for s in subsets]


def token_choices(committed, chosen, levels_of):
    """Tokens of the committed positions within their levels: `(p, {j: v})`.

    Args:
      committed: the positions committed.
      chosen: `{j: level}` of every position.
      levels_of: `{j: token_levels(...)}`.
    """
    options = []
    for j in committed:
        mass, tokens = levels_of[j][chosen[j]]
        options.append([(v, p / mass) for v, p in tokens])
    for combo in itertools.product(*options):
        yield (
            math.prod(p for _, p in combo),
            dict(zip(committed, (v for v, _ in combo), strict=True)),
        )
