"""Plain reference implementations, written separately from the library.

Everything here works on dictionaries {outcome tuple: probability} with Python floats,
loops and `math.fsum`; nothing is shared with trilemma's kernels. Quantities are
computed from their definitions (e.g. L_T as an expectation of conditional total
correlations), not from the chain-rule identities the library uses.
"""

from __future__ import annotations

import itertools
import math
from collections import defaultdict

import numpy as np


def as_dict(p) -> dict[tuple[int, ...], float]:
    """Nonzero cells of a dense array as {index tuple: probability}."""
    arr = np.asarray(p, dtype=float)
    return {idx: float(v) for idx, v in np.ndenumerate(arr) if v > 0}


def project(d, variables) -> dict[tuple[int, ...], float]:
    """Marginal of a dict pmf on `variables` (in the given order)."""
    out = defaultdict(list)
    for x, px in d.items():
        out[tuple(x[v] for v in variables)].append(px)
    return {k: math.fsum(v) for k, v in out.items()}


def entropy(d, variables=None) -> float:
    """H(variables) in nats."""
    if variables is not None:
        d = project(d, variables)
    return -math.fsum(px * math.log(px) for px in d.values() if px > 0)


def conditional(d, given, value) -> dict[tuple[int, ...], float]:
    """p(. | given = value), as a dict over full outcomes (renormalised)."""
    sub = {x: px for x, px in d.items() if tuple(x[g] for g in given) == tuple(value)}
    total = math.fsum(sub.values())
    return {x: px / total for x, px in sub.items()}


def total_correlation(d, variables, given=()) -> float:
    """C(V|G) = E_g[ sum_i H(v_i | G=g) - H(V | G=g) ], from the definition."""
    total = []
    for g_value, pg in project(d, given).items():
        cond = conditional(d, given, g_value)
        singles = math.fsum(entropy(cond, (v,)) for v in variables)
        tc = singles - entropy(cond, variables)
        total.append(pg * tc)
    return math.fsum(total)


def t_step_bound(d, partition, given=()) -> float:
    """L_T = sum_t E_{(X, S_<t)}[ C(S_t | X, S_<t) ] (ParallelBench Eq. 2)."""
    prefix = list(given)
    terms = []
    for step in partition:
        terms.append(total_correlation(d, list(step), prefix))
        prefix = prefix + list(step)
    return math.fsum(terms)


def q_star(d, sizes, partition, given=()) -> dict[tuple[int, ...], float]:
    """Q*(x, y) = p(x) prod_t prod_{j in S_t} p(y_j | x, S_<t); null events: uniform."""
    q = {}
    for outcome in itertools.product(*(range(k) for k in sizes)):
        prob = project(d, list(given)).get(tuple(outcome[g] for g in given), 0.0)
        prefix = list(given)
        for step in partition:
            base = project(d, prefix).get(tuple(outcome[v] for v in prefix), 0.0)
            for j in step:
                if base > 0:
                    joint = project(d, prefix + [j]).get(
                        tuple(outcome[v] for v in prefix + [j]), 0.0
                    )
                    prob *= joint / base
                else:
                    prob *= 1.0 / sizes[j]
            prefix = prefix + list(step)
        if prob > 0:
            q[outcome] = prob
    return q


def kl(p, q) -> float:
    """KL(p || q) in nats; inf when p puts mass where q has none."""
    terms = []
    for x, px in p.items():
        qx = q.get(x, 0.0)
        if qx == 0:
            return math.inf
        terms.append(px * math.log(px / qx))
    return math.fsum(terms)


def tv(p, q) -> float:
    """Total variation 1/2 sum |p - q|."""
    keys = set(p) | set(q)
    return 0.5 * math.fsum(abs(p.get(x, 0.0) - q.get(x, 0.0)) for x in keys)


def prd_alpha(p, p_star, lam: float) -> float:
    """alpha(lambda) = sum_x min(lambda p*(x), p(x))."""
    keys = set(p) | set(p_star)
    return math.fsum(min(lam * p_star.get(x, 0.0), p.get(x, 0.0)) for x in keys)


def ordered_partitions(items, num_steps):
    """Every ordered partition of `items` into `num_steps` non-empty blocks."""
    items = list(items)
    for labels in itertools.product(range(num_steps), repeat=len(items)):
        if len(set(labels)) != num_steps:
            continue
        yield tuple(
            tuple(v for v, lab in zip(items, labels, strict=True) if lab == t)
            for t in range(num_steps)
        )


def optimal_t_step_bound(d, outputs, num_steps, given=()) -> float:
    """Min over all ordered partitions of `outputs` into `num_steps` steps of L_T."""
    return min(
        t_step_bound(d, part, given) for part in ordered_partitions(outputs, num_steps)
    )


# --- Appended for the theorem/property tests (test_properties, test_t_step,
# test_fast_dllm). Same conventions: dicts, Python floats, definitions only.


def conditional_entropy(d, variables, given=()) -> float:
    """H(V | G) = E_g[ H(V | G=g) ], from the definition (nats)."""
    terms = []
    for g_value, pg in project(d, given).items():
        cond = conditional(d, given, g_value)
        terms.append(pg * entropy(cond, variables))
    return math.fsum(terms)


def mutual_information(d, a, b, given=()) -> float:
    """I(A; B | G) = E_g[ sum p(a,b|g) log p(a,b|g) / (p(a|g) p(b|g)) ] (nats)."""
    terms = []
    for g_value, pg in project(d, given).items():
        cond = conditional(d, given, g_value)
        pa, pb = project(cond, a), project(cond, b)
        pab = project(cond, list(a) + list(b))
        for ab, p_ab in pab.items():
            key_a, key_b = ab[: len(a)], ab[len(a) :]
            terms.append(pg * p_ab * math.log(p_ab / (pa[key_a] * pb[key_b])))
    return math.fsum(terms)


def dense(d, sizes) -> np.ndarray:
    """A dict pmf as a dense float64 array of shape `sizes`."""
    out = np.zeros(sizes, dtype=np.float64)
    for x, px in d.items():
        out[x] = px
    return out


def product_of_marginals(d, sizes) -> dict[tuple[int, ...], float]:
    """q(x) = prod_j p_j(x_j) over every outcome of the product alphabet."""
    margins = [project(d, (j,)) for j in range(len(sizes))]
    q = {}
    for x in itertools.product(*(range(k) for k in sizes)):
        value = math.prod(m.get((x[j],), 0.0) for j, m in enumerate(margins))
        if value > 0:
            q[x] = value
    return q


def prd_alpha_classifier(p, p_star, lam: float) -> float:
    """alpha(lambda) = min over regions A of lambda p*(A) + p(A^c) (Simon et al.)."""
    keys = sorted(set(p) | set(p_star))
    best = math.inf
    for mask in range(2 ** len(keys)):
        inside = [k for i, k in enumerate(keys) if mask >> i & 1]
        outside = [k for i, k in enumerate(keys) if not mask >> i & 1]
        value = lam * math.fsum(p_star.get(k, 0.0) for k in inside) + math.fsum(
            p.get(k, 0.0) for k in outside
        )
        best = min(best, value)
    return best


def binary_entropy(eps: float) -> float:
    """H_b(eps) in nats."""
    return -math.fsum(v * math.log(v) for v in (eps, 1 - eps) if v > 0)
