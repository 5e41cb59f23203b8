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
from fractions import Fraction

import numpy as np

from trilemma import tasks


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


# --------------------------------------------------------------------------------------
# A plain trajectory enumerator for parallel decoding with an oracle model, written
# from the rules' definitions (REFERENCE sections 2.5, 2.7, 5): recursion over states,
# every joint draw of every eligible position enumerated, Fractions-free floats.

TIE = 1e-9


def _close(a, b):
    return abs(a - b) <= TIE


def oracle_marginals(rows, sizes, state):
    """p*(y_j | revealed) for each position, from {y: p} rows; uniform off support."""
    consistent = {
        y: p
        for y, p in rows.items()
        if all(s is None or s == v for s, v in zip(state, y, strict=True))
    }
    total = math.fsum(consistent.values())
    marginals = []
    for j, k in enumerate(sizes):
        if total == 0:
            marginals.append([1.0 / k] * k)
            continue
        m = [0.0] * k
        for y, p in consistent.items():
            m[y[j]] += p / total
        marginals.append(m)
    return marginals


def token_law(probs, temperature):
    """Greedy: uniform over the (near-)argmax tokens; else p**(1/T) normalised."""
    if temperature == 0:
        top = max(probs)
        ties = [v for v, p in enumerate(probs) if p > 0 and _close(p, top)]
        return {v: 1.0 / len(ties) for v in ties}
    w = {v: p ** (1.0 / temperature) for v, p in enumerate(probs) if p > 0}
    z = math.fsum(w.values())
    return {v: x / z for v, x in w.items()}


def score_of(kind, probs, j, token):
    if kind == "confidence":
        return probs[token]
    if kind == "margin":
        top = sorted(probs, reverse=True) + [0.0]
        return top[0] - top[1]
    if kind == "entropy":
        return math.fsum(p * math.log(p) for p in probs if p > 0)
    if kind == "random":
        return 0.0
    if kind == "ltr":
        return -float(j)
    raise ValueError(kind)


def llada_counts(size, steps):
    """LLaDA (REFERENCE 5.2): size // steps per step, the first size % steps +1."""
    base, rem = divmod(size, steps)
    return [base + (1 if i < rem else 0) for i in range(steps)]


def count_law(rule, ranked, m, block_size, step):
    """{k: probability} from scores sorted high to low over the eligible positions."""
    kind = rule["count"][0]
    if kind == "topk":
        k_param = rule["count"][1]
        steps = min(-(-block_size // k_param), block_size)
        counts = llada_counts(block_size, steps)
        done = block_size - m
        i = 0
        while done > 0:
            done -= counts[i]
            i += 1
        return {min(counts[i], m): 1.0}
    if kind == "threshold":
        gamma, strict = rule["count"][1:]
        above = [c for c in ranked if (c > gamma + TIE if strict else c >= gamma - TIE)]
        return {max(1, len(above)): 1.0}
    if kind == "factor":
        f = rule["count"][1]
        n = 1
        while n < m and ranked[n] >= 1 - f / (n + 2) - TIE:
            n += 1
        return {n: 1.0}
    if kind == "eb":
        gamma = rule["count"][1]
        ents = [-s for s in ranked]
        n = 1
        while n < m and math.fsum(ents[: n + 1]) - ents[n] <= gamma + TIE:
            n += 1
        return {n: 1.0}
    if kind == "mdlm":
        total = rule["count"][1]
        a = 1.0 - (rule["count"][2] if len(rule["count"]) > 2 else 0.0)
        rate = 1.0 if step >= total - 1 else a / (total - step * a)
        return {
            k: math.comb(m, k) * rate**k * (1 - rate) ** (m - k)
            for k in range(m + 1)
            if math.comb(m, k) * rate**k * (1 - rate) ** (m - k) > 0
        }
    raise ValueError(kind)


def dream_share(total, eps, step) -> Fraction:
    """Dream's 1 - s/t at step `step` of `total` on linspace(1, eps), exactly."""
    a = 1 - Fraction(eps)
    return a / (total - step * a)


def dilated_plain(size, base, skip):
    """DUS's levels of `size` offsets (REFERENCE 5.10), from its definition.

    Strides size // base**(skip + j) while >= 1; an offset belongs to the first
    stride dividing it; the rest form a last level, merged into the one before
    when smaller.
    """
    if base == 1:
        return [list(range(size))]
    strides = []
    power = base**skip
    while size // power >= 1:
        strides.append(size // power)
        power *= base
    levels = [[] for _ in range(len(strides) + 1)]
    for o in range(size):
        first = next((j for j, st in enumerate(strides) if o % st == 0), len(strides))
        levels[first].append(o)
    levels = [lv for lv in levels if lv]
    if len(levels) >= 2 and len(levels[-1]) < len(levels[-2]):
        levels[-2:] = [levels[-2] + levels[-1]]
    return levels


def extended_count_law(rule, ranked, m, block_size, step, in_order=()):
    """`count_law`, plus LLaDA's steps schedule and Fast-dLLM's factor quirk.

    Extra kinds: ("topk_steps", s): a block of `block_size` masks in min(s,
    block_size) steps, `llada_counts` per step; ("factor_quirk", f): the factor rule,
    except that all m tokens commit when the first failing rank is the last one
    (REFERENCE 5.5); ("dus",): every position of the lowest level left (its score,
    minus the level, ties the top); ("dream", N, eps): Dream's floor(m (1 - s/t)),
    all at the block's last step, in exact rationals; ("eb_sequence", gamma): EB's
    budget over the eligible scores `in_order` (sequence order).
    """
    kind = rule["count"][0]
    if kind == "dus":
        return {sum(1 for s in ranked if _close(s, ranked[0])): 1.0}
    if kind == "dream":
        total, eps = rule["count"][1:]
        i = step % total
        if i == total - 1:
            return {m: 1.0}
        return {math.floor(m * dream_share(total, eps, i)): 1.0}
    if kind == "eb_sequence":
        gamma = rule["count"][1]
        ents = [-s for s in in_order]
        n = 1
        while n < m and math.fsum(ents[: n + 1]) - max(ents[: n + 1]) <= gamma + TIE:
            n += 1
        return {n: 1.0}
    if kind == "topk_steps":
        counts = llada_counts(block_size, min(rule["count"][1], block_size))
        done, i = block_size - m, 0
        while done > 0:
            done -= counts[i]
            i += 1
        return {min(counts[i], m): 1.0}
    if kind == "factor_quirk":
        plain = dict(rule, count=("factor", rule["count"][1]))
        (n,) = count_law(plain, ranked, m, block_size, step)
        return {m if n == m - 1 else n: 1.0}
    return count_law(rule, ranked, m, block_size, step)


def decoding_law(rows, sizes, rule, marginals=None):
    """Exact output law {y: q} and expected NFE of a sampler with the oracle of `rows`.

    `marginals(state) -> [per-position probability lists]` replaces the oracle (a
    model's marginals over its whole vocabulary; `state` has None where masked).

    `rule`: {"score": confidence|margin|entropy|random|ltr, "count": ("topk", k) |
    ("topk_steps", s) | ("threshold", gamma, strict) | ("factor", f) |
    ("factor_quirk", f) | ("eb", gamma) | ("mdlm", N), "temperature": T,
    "block": B or None}. Recursion over states (revealed tokens, step), every joint
    draw of every eligible position enumerated, each state's law memoised.
    """
    length = len(sizes)
    stateful = rule["count"][0] in ("mdlm", "dream")
    level = {}
    if isinstance(rule["score"], tuple):  # ("dus", block, base, skip)
        _, block, base, skip = rule["score"]
        width = length if block is None else min(block, length)
        for start in range(0, length, width):
            size = min(width, length - start)
            for lv, offsets in enumerate(dilated_plain(size, base, skip)):
                for o in offsets:
                    level[start + o] = lv
    memo: dict = {}
    marginals_of = marginals or (lambda state: oracle_marginals(rows, sizes, state))

    def law_from(state, step):
        if (state, step) in memo:
            return memo[(state, step)]
        masked = [j for j in range(length) if state[j] is None]
        if not masked:
            return {state: 1.0}, 0.0
        block = rule.get("block")
        if block is None:
            eligible, block_size = masked, length
        else:
            current = min(j // block for j in masked)
            eligible = [j for j in masked if j // block == current]
            block_size = min(block, length - current * block)
        marginals = marginals_of(list(state))
        laws = {j: token_law(marginals[j], rule["temperature"]) for j in eligible}
        children: dict = defaultdict(float)
        committing = []
        for draw in itertools.product(*(sorted(laws[j].items()) for j in eligible)):
            p_draw = math.prod(p for _, p in draw)
            tokens = {j: v for j, (v, _) in zip(eligible, draw, strict=True)}
            scores = {
                j: -float(level[j])
                if level
                else score_of(rule["score"], marginals[j], j, tokens[j])
                for j in eligible
            }
            ranked = sorted(scores.values(), reverse=True)
            in_order = [scores[j] for j in eligible]
            counts = extended_count_law(
                rule, ranked, len(eligible), block_size, step, in_order
            )
            for k, p_k in counts.items():
                if k == 0:
                    children[(state, step + 1)] += p_draw * p_k
                    continue
                committing.append(p_draw * p_k)
                kth = ranked[k - 1]
                above = [j for j in eligible if scores[j] > kth + TIE]
                tied = [j for j in eligible if _close(scores[j], kth)]
                subsets = list(itertools.combinations(tied, k - len(above)))
                for subset in subsets:
                    child = list(state)
                    for j in above + list(subset):
                        child[j] = tokens[j]
                    key = (tuple(child), step + 1 if stateful else 0)
                    children[key] += p_draw * p_k / len(subsets)
        law: dict = defaultdict(float)
        nfe = [math.fsum(committing)]
        for (child, child_step), p in children.items():
            child_law, child_nfe = law_from(child, child_step)
            for y, q in child_law.items():
                law[y] += p * q
            nfe.append(p * child_nfe)
        memo[(state, step)] = (dict(law), math.fsum(nfe))
        return memo[(state, step)]

    return law_from((None,) * length, 0)


# --------------------------------------------------------------------------------------
# APD (Adaptive Parallel Decoding, Israel et al., arXiv 2506.00413) with an ideal dLLM
# and exact autoregressive conditionals: its exact output law by recursion over accepted
# prefixes (`apd_law`), and a plain Gumbel-noise simulation of the same rule
# (`apd_monte_carlo`). The two share only the model's definitions (`prefix_marginal`,
# `tempered`, `apd_mixture`); the decoding rule is written twice, and neither uses the
# library.


def apd_target(task, prompt_index):
    """({y: p*(y|x)}, output alphabet sizes) for prompt `prompt_index`, as floats."""
    outcomes = np.asarray(task.joint.outcomes)
    probs = np.asarray(task.joint.probs, dtype=np.float64)
    rows: dict = defaultdict(float)
    for row, p in zip(outcomes.tolist(), probs.tolist(), strict=True):
        if row[0] == prompt_index and p > 0:
            rows[tuple(row[1:])] += p
    total = math.fsum(rows.values())
    return {y: p / total for y, p in rows.items()}, tuple(task.joint.sizes[1:])


def prefix_marginal(rows, sizes, prefix, j):
    """p*(y_j | y_<t = prefix), t = len(prefix), as a list; uniform on mass 0."""
    t = len(prefix)
    m = [0.0] * sizes[j]
    for y, p in rows.items():
        if y[:t] == tuple(prefix):
            m[y[j]] += p
    total = math.fsum(m)
    if total == 0:
        return [1.0 / sizes[j]] * sizes[j]
    return [v / total for v in m]


def tempered(probs, temperature):
    """probs**(1/T) renormalised (zeros stay zero)."""
    w = [p ** (1.0 / temperature) if p > 0 else 0.0 for p in probs]
    z = math.fsum(w)
    return [v / z for v in w]


def apd_mixture(p_dllm, p_ar, weight, temperature):
    """APD's target q ∝ (p_D**R * a**(1-R))**(1/T), with 0**0 = 1.

    R = 1 gives pi (p_D only), R = 0 gives a**(1/T) normalised (a only).
    """

    def power(p, e):
        return 1.0 if e == 0 else (p**e if p > 0 else 0.0)

    mixed = [
        power(d, weight) * power(a, 1.0 - weight)
        for d, a in zip(p_dllm, p_ar, strict=True)
    ]
    if math.fsum(mixed) == 0:
        raise ValueError("APD target q has no mass (p_D and a have disjoint supports)")
    return tempered(mixed, temperature)


def gumbel_agreement(pi, q, v):
    """P(argmax(log pi + g) = argmax(log q + g) = v) for one standard Gumbel vector g.

    Both argmaxes are v iff g_u - g_v <= -log max(pi_u/pi_v, q_u/q_v) for every u;
    integrating over g_v gives 1 / sum_u max(pi_u/pi_v, q_u/q_v) (0 if pi_v q_v = 0).
    """
    if pi[v] == 0 or q[v] == 0:
        return 0.0
    return 1.0 / math.fsum(
        max(pu / pi[v], qu / q[v]) for pu, qu in zip(pi, q, strict=True)
    )


def apd_law(task, prompt_index, *, weight, lookahead, temperature=1.0):
    """Exact output law {y: prob}, E[nfe] and E[ar_nfe] of APD with an oracle model.

    At accepted prefix y_<t with window W = min(lookahead, L - t): the dLLM marginals
    are p_D_j = p*(y_j | x, y_<t) (uniform if y_<t has mass 0) and the drafts
    x̂_j ~ pi_j ∝ p_D_j**(1/T), independently. For j > t the AR conditional is
    a_j = p*(y_j | x, y_<t, x̂_t..x̂_{j-1}) (uniform on mass 0), the target
    q_j ∝ (p_D_j**R a_j**(1-R))**(1/T), and ŷ_j uses x̂_j's Gumbel noise. Given the
    drafts to its left, position j's (x̂_j, ŷ_j) depends on its own noise only, so
    P(commit the block v_t..v_{t+k-1}) = pi_t(v_t) prod_{t<j<t+k} A_j(v_j)
    * (1 - sum_v A_{t+k}(v)) [the last factor only when k < W], with A_j(v) =
    `gumbel_agreement(pi_j, q_j, v)`. Blocks are enumerated by depth-first search,
    the law of each prefix memoised; nfe counts one dLLM pass per iteration, ar_nfe
    one AR pass per iteration with W >= 2. Rejection probabilities are clipped at 0
    (rounding); outcomes with zero probability are left out.
    """
    rows, sizes = apd_target(task, prompt_index)
    length = len(sizes)
    memo: dict = {}

    def blocks_at(prefix):
        t = len(prefix)
        window = min(lookahead, length - t)
        p_dllm = {
            j: prefix_marginal(rows, sizes, prefix, j) for j in range(t, t + window)
        }
        pi = {j: tempered(p_dllm[j], temperature) for j in p_dllm}
        blocks: dict = defaultdict(float)

        def extend(drafted, prob):
            j = t + len(drafted)
            if j == t + window:
                blocks[drafted] += prob
                return
            a = prefix_marginal(rows, sizes, prefix + drafted, j)
            q = apd_mixture(p_dllm[j], a, weight, temperature)
            agree = [gumbel_agreement(pi[j], q, v) for v in range(sizes[j])]
            reject = max(0.0, 1.0 - math.fsum(agree))
            if reject > 0:
                blocks[drafted] += prob * reject
            for v, p_agree in enumerate(agree):
                if p_agree > 0:
                    extend(drafted + (v,), prob * p_agree)

        for v, p in enumerate(pi[t]):
            if p > 0:
                extend((v,), p)
        return blocks, window

    def law_from(prefix):
        if prefix in memo:
            return memo[prefix]
        if len(prefix) == length:
            return {prefix: 1.0}, 0.0, 0.0
        blocks, window = blocks_at(prefix)
        law: dict = defaultdict(float)
        nfe, ar_nfe = [1.0], [1.0 if window >= 2 else 0.0]
        for block, p in blocks.items():
            child_law, child_nfe, child_ar = law_from(prefix + block)
            for y, q in child_law.items():
                law[y] += p * q
            nfe.append(p * child_nfe)
            ar_nfe.append(p * child_ar)
        memo[prefix] = (
            {y: q for y, q in law.items() if q > 0},
            math.fsum(nfe),
            math.fsum(ar_nfe),
        )
        return memo[prefix]

    return law_from(())


def apd_monte_carlo(
    task, prompt_index, *, weight, lookahead, temperature, num_samples, seed
):
    """Run APD `num_samples` times with real Gumbel noise: (outputs, nfe, ar_nfe).

    Iteration i of sample s uses its own standard Gumbel vector g_j per window
    position (drawn up front from `np.random.default_rng(seed)`, shape (samples, L,
    lookahead, max alphabet)). Drafts x̂_j = argmax(log pi_j + g_j); then, left to
    right, a_j from the drafts so far, q_j, and ŷ_j = argmax(log q_j + g_j) with the
    same g_j; x̂_t is committed and then every x̂_j up to the first j > t with
    x̂_j != ŷ_j. Log-probabilities are cached by (prefix, drafts), pure lookups.
    """
    rows, sizes = apd_target(task, prompt_index)
    length = len(sizes)
    rng = np.random.default_rng(seed)
    noise = rng.gumbel(size=(num_samples, length, lookahead, max(sizes))).tolist()
    p_cache: dict = {}
    log_pi: dict = {}
    log_q: dict = {}

    def logs(probs):
        return [math.log(p) if p > 0 else -math.inf for p in probs]

    def marginal(prefix, j):
        if (prefix, j) not in p_cache:
            p_cache[(prefix, j)] = prefix_marginal(rows, sizes, prefix, j)
        return p_cache[(prefix, j)]

    def draft_logs(prefix, j):
        if (prefix, j) not in log_pi:
            log_pi[(prefix, j)] = logs(tempered(marginal(prefix, j), temperature))
        return log_pi[(prefix, j)]

    def target_logs(prefix, drafted):
        if (prefix, drafted) not in log_q:
            j = len(prefix) + len(drafted)
            a = marginal(prefix + drafted, j)
            q = apd_mixture(marginal(prefix, j), a, weight, temperature)
            log_q[(prefix, drafted)] = logs(q)
        return log_q[(prefix, drafted)]

    def argmax(log_p, g):
        return max(range(len(log_p)), key=lambda v: log_p[v] + g[v])

    outputs, nfe, ar_nfe = [], np.zeros(num_samples), np.zeros(num_samples)
    for s in range(num_samples):
        y: tuple = ()
        iteration = 0
        while len(y) < length:
            t = len(y)
            window = min(lookahead, length - t)
            nfe[s] += 1
            ar_nfe[s] += window >= 2
            g = noise[s][iteration]
            drafts = tuple(argmax(draft_logs(y, t + i), g[i]) for i in range(window))
            k = 1
            while k < window and argmax(target_logs(y, drafts[:k]), g[k]) == drafts[k]:
                k += 1
            y = y + drafts[:k]
            iteration += 1
        outputs.append(y)
    return outputs, nfe, ar_nfe


def product_task():
    """One prompt, three positions with alphabets (2, 3, 2), p*(y|x) a product law."""
    marginals = ([0.3, 0.7], [0.2, 0.5, 0.3], [0.6, 0.4])
    sizes = tuple(len(m) for m in marginals)
    outputs = list(np.ndindex(*sizes))
    probs = [
        math.prod(m[v] for m, v in zip(marginals, y, strict=True)) for y in outputs
    ]
    prompts = np.zeros((1, 1), np.int64)
    joint = tasks.build_joint(
        prompts,
        lambda x: (np.array(outputs), np.array(probs)),
        sizes,
        num_rows=len(outputs),
    )
    return tasks.Task("product", 3, prompts, joint)


# --------------------------------------------------------------------------------------
# Re-masking samplers (issue 18): ReMDM (ParallelBench's LLaDA port) and RCR (MDPO),
# one window, with the oracle. Plain recursion over (state, cached confidences, step):
# every joint draw of every masked position, and ties broken by a uniformly random
# priority order of the positions (every permutation enumerated), literally as the
# ports run their steps (re-masking at the start of a re-masking step).


def _grid(x: float) -> int:
    """A confidence on the 2^-30 grid, as an integer key (the tie convention)."""
    return round(x * 2**30)


def _confidence(probs, law, token, temperature):
    """The drawn token's probability: the model's at T = 0, the tempered law's else."""
    return _grid(probs[token] if temperature == 0 else law[token])


def _joint_draws(marginals, positions, temperature):
    """`(probability, {position: (token, confidence key)})` for every joint draw."""
    laws = [token_law(marginals[j], temperature) for j in positions]
    for combo in itertools.product(*(law.items() for law in laws)):
        prob = math.prod(p for _, p in combo)
        draw = {
            j: (v, _confidence(marginals[j], law, v, temperature))
            for j, law, (v, _) in zip(positions, laws, combo, strict=True)
        }
        yield prob, draw


def _first_by(keys: dict, count: int):
    """`(probability, chosen)`: the `count` smallest keys, ties by a random order."""
    positions = sorted(keys)
    orders = list(itertools.permutations(positions))
    for order in orders:
        priority = {j: i for i, j in enumerate(order)}
        ranked = sorted(positions, key=lambda j: (keys[j], priority[j]))
        yield 1.0 / len(orders), frozenset(ranked[:count])


def _merge(into: dict, law: dict, weight: float) -> None:
    for y, p in law.items():
        into[y] = into.get(y, 0.0) + weight * p


def remdm_law(rows, sizes, *, num_steps, remask_number, remask_steps, temperature):
    """`({y: q(y)}, E[NFE])` of ReMDM on one window (`trilemma.samplers.remdm`).

    The port's step list: `t = min(max(min(7L // 8, L - 1), 1), N)` normal steps,
    then `remask_steps` re-masking steps, then the other normal steps; a re-masking
    step first re-masks the `remask_number` committed tokens of lowest cached
    confidence, then commits as many. A step costs a pass when it commits a token.
    """
    length = len(sizes)
    normal = length if num_steps is None else min(num_steps, length)
    first = min(max(min(7 * length // 8, length - 1), 1), normal)
    counts = llada_counts(length, normal)
    schedule = [(c, False) for c in counts[:first]]
    schedule += [(remask_number, True)] * remask_steps
    schedule += [(c, False) for c in counts[first:]]

    memo: dict = {}

    def run(state, cache, s):
        if (state, cache, s) in memo:
            return memo[state, cache, s]
        if s == len(schedule):
            assert None not in state
            return {state: 1.0}, 0.0
        count, remasking = schedule[s]
        key = (state, cache, s)
        state, cache = list(state), dict(cache)
        outcomes = [(1.0, state, cache)]
        if remasking:
            number = min(remask_number, len(cache))
            outcomes = []
            for p, chosen in _first_by(cache, number):
                again = [None if j in chosen else v for j, v in enumerate(state)]
                kept = {j: c for j, c in cache.items() if j not in chosen}
                outcomes.append((p, again, kept))
        law, nfe = {}, 0.0
        for p_remask, before, kept in outcomes:
            masked = [j for j, v in enumerate(before) if v is None]
            take = min(count, len(masked))
            marginals = oracle_marginals(rows, sizes, before)
            for p_draw, draw in _joint_draws(marginals, masked, temperature):
                keys = {j: -c for j, (_, c) in draw.items()}
                for p_tie, chosen in _first_by(keys, take):
                    after = list(before)
                    new_cache = dict(kept)
                    for j in chosen:
                        after[j] = draw[j][0]
                        new_cache[j] = draw[j][1]
                    weight = p_remask * p_draw * p_tie
                    sub, sub_nfe = run(
                        tuple(after), tuple(sorted(new_cache.items())), s + 1
                    )
                    _merge(law, sub, weight)
                    nfe += weight * (sub_nfe + (1.0 if take > 0 else 0.0))
        memo[key] = law, nfe
        return law, nfe

    return run((None,) * length, (), 0)


def rcr_law(rows, sizes, *, num_steps, temperature):
    """`({y: q(y)}, E[NFE])` of RCR on one window (`trilemma.samplers.rcr`).

    Step i draws every masked position, then (but at the last step) re-masks the
    `L - C_i` positions of lowest running confidence, C_i = L - floor(L * clip(1 -
    (i + 1)/N, 1e-6, 1)) in floats. Decoding stops when no mask is left.
    """
    length = len(sizes)
    kept = [
        length - math.floor(length * min(max(1.0 - (i + 1) / num_steps, 1e-6), 1.0))
        for i in range(num_steps)
    ]

    memo: dict = {}

    def run(state, running, i):
        if (state, running, i) in memo:
            return memo[state, running, i]
        if None not in state:
            return {state: 1.0}, 0.0
        assert i < num_steps
        masked = [j for j, v in enumerate(state) if v is None]
        marginals = oracle_marginals(rows, sizes, list(state))
        law, nfe = {}, 0.0
        for p_draw, draw in _joint_draws(marginals, masked, temperature):
            full = list(state)
            confidence = dict(running)
            for j, (v, c) in draw.items():
                full[j] = v
                confidence[j] = c
            drop = 0 if i == num_steps - 1 else length - kept[i]
            for p_tie, chosen in _first_by(confidence, drop):
                after = [None if j in chosen else v for j, v in enumerate(full)]
                left = {j: c for j, c in confidence.items() if j not in chosen}
                sub, sub_nfe = run(tuple(after), tuple(sorted(left.items())), i + 1)
                weight = p_draw * p_tie
                _merge(law, sub, weight)
                nfe += weight * (sub_nfe + 1.0)
        memo[state, running, i] = law, nfe
        return law, nfe

    return run((None,) * length, (), 0)


def wino_law(rows, sizes, *, threshold, threshold_back, temperature):
    """`({y: q(y)}, E[NFE])` of WINO on one window (`trilemma.samplers.wino`).

    One step: draw every masked position (confidence: the model's probability of
    the drawn token); commit those above `threshold` (at most min(max(floor(0.7 m),
    5), 20), the most confident; at least the most confident one); when two or more
    were committed, re-mask the committed tokens (before this step) whose
    leave-one-out probability p*(y_c | the others) is below `threshold_back`, only
    the a - 1 lowest when a or more are (a: the previous step's count, 30 at first).
    Each step is one pass; the recursion ends (m + a drops every step).
    """
    length = len(sizes)
    gate, doubt = _grid(threshold), _grid(threshold_back)
    memo: dict = {}

    def run(state, last, depth):
        assert depth <= length + 2
        if None not in state:
            return {state: 1.0}, 0.0
        if (state, last) in memo:
            return memo[state, last]
        masked = [j for j, v in enumerate(state) if v is None]
        done = [j for j, v in enumerate(state) if v is not None]
        marginals = oracle_marginals(rows, sizes, list(state))
        back = {}
        for c in done:
            hidden = [None if j == c else v for j, v in enumerate(state)]
            back[c] = _grid(oracle_marginals(rows, sizes, hidden)[c][state[c]])
        limit = min(max(math.floor(len(masked) * 0.7), 5), 20)
        law, nfe = {}, 0.0
        for p_draw, draw in _joint_draws(marginals, masked, temperature):
            confidence = {j: _grid(marginals[j][v]) for j, (v, _) in draw.items()}
            passing = sum(c > gate for c in confidence.values())
            count = min(max(passing, 1), limit)
            keys = {j: -c for j, c in confidence.items()}
            for p_tie, chosen in _first_by(keys, count):
                after = list(state)
                for j in chosen:
                    after[j] = draw[j][0]
                options = [(1.0, frozenset())]
                if count > 1 and done:
                    below = sum(b < doubt for b in back.values())
                    number = last - 1 if below >= last else below
                    options = list(_first_by(back, number))
                for p_back, revoked in options:
                    final = [None if j in revoked else v for j, v in enumerate(after)]
                    sub, sub_nfe = run(tuple(final), count, depth + 1)
                    weight = p_draw * p_tie * p_back
                    _merge(law, sub, weight)
                    nfe += weight * (sub_nfe + 1.0)
        memo[state, last] = law, nfe
        return law, nfe

    return run((None,) * length, 30, 0)
