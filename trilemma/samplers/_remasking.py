r"""Building blocks shared by the samplers that re-mask committed tokens.

ReMDM (`_remdm`) and RCR (`_rcr`) draw tokens, rank positions by a confidence and
keep or give up the first few, with ties broken uniformly at random. Each block is
written twice: for the jitted decoder (JAX, fixed shapes) and for the exact step
(NumPy and Python, one state at a time: every outcome with its probability), which
`trilemma.simulation._chain` turns into the absorption law of a Markov chain.

**Confidence.** A drawn token's confidence is its probability under the law it was
drawn from at $\tau > 0$, $\pi_j(\hat x_j) \propto p_j(\hat x_j)^{1/\tau}$ (the
ports' `softmax(logits / T)`), and under the model at $\tau = 0$, $p_j(\hat x_j)$
(the maximum), quantised with `rules.quantize` so that equal values tie exactly.
"""

from __future__ import annotations

import functools
import itertools
import math

import jax
import jax.numpy as jnp
import numpy as np

from . import rules

# --- Monte Carlo (JAX) ----------------------------------------------------------------


def draw_with_confidence(
    logits, mask_id: int, temperature: float, u, *, tempered: bool = True
):
    """`(drawn (S,), confidence (S,))`: one token per position from `logits` `(S, V)`.

    `u` holds one uniform per position (inverse CDF, `rules.draw_index`);
    `tempered=False` reads the confidence from the model's law at any temperature
    (LLaDA's `generate`, WINO).
    """
    probs = rules.token_probabilities(logits, mask_id)
    pi = rules.draw_distribution(probs, temperature)
    drawn = rules.draw_index(pi, u)
    table = probs if temperature == 0 or not tempered else pi
    confidence = jnp.take_along_axis(table, drawn[:, None], axis=-1)[:, 0]
    return drawn, rules.quantize(confidence)


def select_first(key, priority, count):
    """Booleans: the `count` positions first in ascending `(key, priority)` order.

    Positions that must never be chosen get `key = +inf` and `count` stays at most
    the number of the others; a uniformly random `priority` breaks ties of `key`
    uniformly at random.
    """
    length = key.shape[0]
    _, _, order = jax.lax.sort((key, priority, jnp.arange(length)), num_keys=2)
    return jnp.zeros(length, bool).at[order].set(jnp.arange(length) < count)


# --- the exact step (NumPy and Python) -----------------------------------------------


def confidence_classes(probs, temperature: float, positions, *, tempered=True):
    r"""For each position, its tokens grouped by confidence (exact step).

    Args:
      probs: `(L, V)` the model's marginals (float64).
      temperature: the draw's $\tau$.
      positions: the positions to draw.
      tempered: read the confidence from the tempered law (else the model's).

    Returns:
      For each position, a list of `(confidence, mass, tokens, weights)`: the
      confidence value (a float), the probability $\sum_v \pi_j(v)$ of drawing a
      token of that confidence, those tokens, and their probabilities given the
      class (summing to 1).
    """
    probs = np.asarray(probs, np.float64)
    tempered = bool(tempered) and temperature != 0
    return [_row_classes(probs[j].tobytes(), temperature, tempered) for j in positions]


@functools.lru_cache(maxsize=2**16)
def _row_classes(row: bytes, temperature: float, tempered: bool) -> tuple:
    """`confidence_classes` of one position's marginal (its bytes: states share it)."""
    probs = np.frombuffer(row, np.float64)[None]
    pi = rules.draw_distribution(probs, temperature)[0]
    table = rules.quantize(pi[None] if tempered else probs)[0]
    tokens = np.flatnonzero(pi > 0)
    values = table[tokens].tolist()
    classes: dict = {}
    for v, w, c in zip(tokens.tolist(), pi[tokens].tolist(), values, strict=True):
        classes.setdefault(c, []).append((v, w))
    groups = []
    for value in sorted(classes):
        members = classes[value]
        mass = math.fsum(w for _, w in members)
        tokens_in = tuple(v for v, _ in members)
        groups.append((value, mass, tokens_in, tuple(w / mass for _, w in members)))
    return tuple(groups)


def tie_subsets(items, count: int, *, largest: bool):
    """Every way to pick the `count` best of `items` with ties broken at random.

    Args:
      items: `(position, value)` pairs.
      count: how many to pick (at most `len(items)`).
      largest: pick the largest values (else the smallest).

    Returns:
      `(probability, positions)` pairs: the positions strictly better than the
      `count`-th value, plus each equally likely subset of those tied with it.
    """
    if count <= 0:
        return [(1.0, ())]
    ranked = sorted(items, key=lambda item: -item[1] if largest else item[1])
    edge = ranked[count - 1][1]
    better = tuple(p for p, v in ranked if (v > edge if largest else v < edge))
    tied = [p for p, v in ranked if v == edge]
    need = count - len(better)
    share = 1.0 / math.comb(len(tied), need)
    return [(share, better + combo) for combo in itertools.combinations(tied, need)]


def token_choices(groups, chosen, positions):
    """`(probability, tokens)` for every draw of `positions` within their classes.

    Args:
      groups: a position's class list (`confidence_classes`), per position.
      chosen: the class index chosen at each position (same order as `groups`).
      positions: indices into `groups` of the positions whose tokens matter.
    """
    classes = [groups[i][chosen[i]] for i in positions]
    values = itertools.product(*(c[2] for c in classes))
    weights = itertools.product(*(c[3] for c in classes))
    for w, v in zip(weights, values, strict=True):
        yield math.prod(w), v


def lowest_relevant(cache: tuple, budget: int) -> tuple:
    r"""The cache with $+\infty$ for the values no future re-masking can reach.

    When at most `budget` tokens will be re-masked from now on, each time the lowest
    cached values, a value with `budget` or more values strictly below it is never
    picked: those below leave the cache only by re-masking, at most `budget` in all,
    and newer values only add to the ones below. Forgetting it (it still ranks above
    every value kept) lumps exact states that differ only there, without changing
    the law. The exact steps call this after every step.

    >>> lowest_relevant((0.5, 0.25, math.inf, 0.75), 2)
    (0.5, 0.25, inf, inf)
    """
    cache = tuple(cache)
    finite = sorted(v for v in cache if v < math.inf)
    if len(finite) <= budget:
        return cache
    if budget <= 0:
        return (math.inf,) * len(cache)
    cut = finite[budget - 1]
    return tuple(v if v <= cut else math.inf for v in cache)


def canonical(tokens: np.ndarray, extra: tuple) -> tuple[np.ndarray, tuple]:
    """The orbit representative of a `(step, per-position values)` state.

    Positions sorted by (token, cached value): two states that differ by a
    permutation of the positions get the same representative (the exact steps of
    ReMDM and RCR are equivariant, `trilemma.simulation._chain`).
    """
    step, values = extra
    values = np.asarray(values, np.float64)
    order = np.lexsort((values, tokens))
    return tokens[order], (step, tuple(values[order].tolist()))


def add(out: dict, tokens: np.ndarray, extra, weight: float, cost: int) -> None:
    """Accumulate one outcome of an exact step (same tokens and extra merge)."""
    key = (tokens.tobytes(), extra)
    if key in out:
        out[key][0] += weight
    else:
        out[key] = [weight, tokens, extra, cost]


def outcomes(out: dict) -> list:
    """The exact step's `(probability, tokens, extra, nfe_cost)` list."""
    return [(w, tokens, extra, cost) for w, tokens, extra, cost in out.values()]
