r"""The law of one decoding step, factorised over positions: committed sets, not draws.

A step of a sampler at a state draws every eligible position's token independently,
$X_i \sim \pi_i$ ($\pi_i \propto p_i^{1/\tau}$), scores it, $Z_i = s_i(X_i)$ (quantised
as the decoders do; confidence is the *model's* probability $p_i(X_i)$ of the drawn
token, not $\pi_i$'s), ranks the eligible positions by score with ties in uniformly
random order, reads the count $K$ off the ranked scores, and commits the first $K$
with their drawn tokens. Enumerating the joint draws of the $m$ eligible positions
costs about $V^m$ rows per state, most of which differ only in tokens that are never
committed. This module enumerates what a step can commit instead.

**Theorem.** Let $S \subseteq E$ (the $m$ eligible positions), $|S| = k$, $O = E
\setminus S$, tokens $v_S$ with scores $z_j = s_j(v_j)$, $t = \min_{j \in S} z_j$,
$a = |\{j \in S : z_j = t\}|$, and for $i \in O$: $l_i = P(Z_i < t)$, $e_i = P(Z_i =
t)$. For a count rule that is *prefix-determined* and has a *cut form* (below),
$$P(S \text{ committed with } v_S) = \prod_{j \in S} \pi_j(v_j)\; w(z_S) \times
\begin{cases}
  \displaystyle\sum_{b=0}^{|O|} \frac{[x^b] \prod_{i \in O} (l_i + e_i x)}
  {\binom{a+b}{a}} & \text{if the cut admits every } w \le t, \\
  \displaystyle\prod_{i \in O} P(Z_i \lhd c) & \text{otherwise.}
\end{cases}$$

*Proof.* Given the state the draws $X_i$ and the tie-breaking priorities are
independent. Condition on $X_S = v_S$ (probability $\prod_S \pi_j(v_j)$). Given all
scores, $S$ is the set of the first $k$ ranks iff every outside score is $\le t$ and,
among the $a + b$ positions tied at $t$ ($b$ of them outside), the $a$ of $S$ come
first: probability $1 / \binom{a+b}{a}$ (the tied block's order is uniform). A
prefix-determined rule's $P(K = k)$ depends on the ranked scores only through the
first $k + 1$, that is through $z_S$ and $W = \max_O Z$; in cut form it is
$w(z_S)\,\mathbb{1}[W \lhd c(z_S)]$. If the cut admits every $W \le t$, the
outside factor is $E[\mathbb{1}[W \le t] / \binom{a + B}{a}]$ with $B$ the number of
outside scores equal to $t$; the outside draws are independent, so $P(W \le t,
B = b) = [x^b] \prod_O (l_i + e_i x)$. Otherwise $c \le t$ and the admitted $W$ are
strictly below $t$: no tie is possible, $B = 0$, and $P(W \lhd c) = \prod_O P(Z_i
\lhd c)$. $\square$

**The rules** (sorted committed scores $z_{(1)} \ge \dots \ge z_{(k)}$):

* top-k (any score; LLaDA's or Dream's schedule, and MDLM's ancestral count): the
  count pmf does not read the scores, $w = P(K = k)$ and no cut: $P = \prod_S
  \pi_j(v_j)\, P(K=k) \sum_b [x^b]\prod_O(l_i + e_i x) / \binom{a+b}{a}$;
* threshold $\ge \gamma$ ($g$ = quantised $\gamma$): if every $z_j \ge g$, $w = 1$
  and the outside must fail, cut $W < g$: $P = \prod_S \pi_j(v_j) \prod_O P(Z_i <
  g)$; if $k = 1$ and $z_j < g$ (the top-1 rule), $w = 1$ and no cut (every outside
  score is $\le t < g$); otherwise $w = 0$. Strict ($> \gamma$): pass is $z > g$,
  the cut $W \le g$;
* factor $f$ ($\theta_n$ = quantised $1 - f/(n+1)$): $w = \prod_{n=2}^{k}
  \mathbb{1}[z_{(n)} \ge \theta_n]$, cut $W < \theta_{k+1}$ when $k < m$; with the
  reference quirk, $w = 0$ at $k = m - 1$ and $w = \prod_{n=2}^{m-1}
  \mathbb{1}[z_{(n)} \ge \theta_n]$ at $k = m$.

Prefix-determined: threshold counts the passing scores, and a sorted vector with $k
\ge 1$ passing has $z_{(k)}$ passing and $z_{(k+1)}$ failing (or $z_{(1)}$ failing
for the top-1 case); factor's count is the first failing rank of a test on each
$c_{(n)}$ alone; top-k and ancestral counts ignore the scores. Scores that do not
depend on the drawn token (margin, entropy, uniform, left-to-right, and greedy
confidence) make every $l_i, e_i \in \{0, 1\}$; `_enumerate`'s class choice is then
one row per state and already this law, so only token-dependent states come here.
The full derivations, and EB's (whose scores never depend on the draw), are in
`paper_notes.md`.

**Work.** One row per committed $(S, v_S)$ of positive probability (candidate tokens
are pruned by each rule's floor on committed scores), plus $O(LV)$ per distinct
$(\text{state}, t)$ for $l, e$ and $O(L^2)$ per row for the polynomial. At the root
of Shuffle n = 5 on the shipped denoiser ($m = 5$, 53 drawable tokens) top-1 builds
260 rows, against 39,135,393 joint class rows (`experiments/bench_factorised.py`).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import NamedTuple

import numpy as np
import scipy.special

from ..samplers import rules
from ..samplers._sampler import Rule, Sampler

_CHUNK_CELLS = 1 << 22
"""Cells per chunk when tabulating $P(Z_i < w)$ and $P(Z_i = w)$."""


class Commits(NamedTuple):
    r"""What one step of each state can commit, with its probability.

    Attributes:
      src: `(R,)` the state of each row.
      selected: `(R, L)` the committed positions $S$ (none: the step commits
        nothing, possible for MDLM's count only).
      tokens: `(R, L)` the committed tokens $v_S$, -1 off $S$.
      prob: `(R,)` $P(S, v_S \mid \text{state})$.
      idle: `(N,)` $P(K = 0 \mid \text{state})$, the probability of a free step.
    """

    src: np.ndarray
    selected: np.ndarray
    tokens: np.ndarray
    prob: np.ndarray
    idle: np.ndarray


class _Cut(NamedTuple):
    r"""$P(K = k \mid z_S, W) = w\,\mathbb{1}[W \lhd c]$: `weight`, `cut`."""

    weight: np.ndarray  # (R,)
    cut: np.ndarray  # (R,) +inf: no constraint on the outside scores
    inclusive: np.ndarray  # (R,) bool: W may equal the cut


class _Floor(NamedTuple):
    """A necessary bound on committed scores: all but `spare` of them pass it."""

    value: np.ndarray  # (R,) -inf: none
    strict: np.ndarray  # (R,) bool: > rather than >=
    spare: np.ndarray  # (R,) int: committed tokens allowed below the floor


def _no_floor(k):
    rows = len(k)
    return _Floor(np.full(rows, -np.inf), np.zeros(rows, bool), np.zeros(rows, int))


class _ScoreFree:
    """Counts that never read the scores (LLaDA's and Dream's schedules, MDLM's)."""

    @staticmethod
    def sizes(rule, m, block_size, step, length):
        return _score_free_pmf(rule, m, block_size, step, length) > 0

    @staticmethod
    def floor(rule, k, m):
        return _no_floor(k)

    @staticmethod
    def law(rule, ranked, k, m, block_size, step):
        pmf = _score_free_pmf(rule, m, block_size, step, ranked.shape[1])
        weight = pmf[np.arange(len(k)), k]
        return _Cut(weight, np.full(len(k), np.inf), np.ones(len(k), bool))


def _score_free_pmf(rule, m, block_size, step, length):
    scores = np.zeros((len(m), length))
    return np.asarray(rule(scores, m, block_size, step), float)


class _Threshold:
    r"""Fast-dLLM's threshold: every passing position, else the top-1."""

    @staticmethod
    def _gate(rule):
        settings = dict(rule.settings)
        g = rules.quantize(np.asarray(settings["gamma"], dtype=float))
        return float(g), bool(settings["strict"])

    @staticmethod
    def sizes(rule, m, block_size, step, length):
        return np.arange(length + 1)[None, :] <= m[:, None]

    @classmethod
    def floor(cls, rule, k, m):
        g, strict = cls._gate(rule)
        out = _no_floor(k)
        value = np.where(k >= 2, g, -np.inf)
        return out._replace(value=value, strict=np.full(len(k), strict))

    @classmethod
    def law(cls, rule, ranked, k, m, block_size, step):
        g, strict = cls._gate(rule)
        passed = ranked > g if strict else ranked >= g
        all_pass = passed.sum(axis=1) == k
        weight = (all_pass | (k == 1)).astype(float)
        cut = np.where(all_pass, g, np.inf)
        return _Cut(weight, cut, np.full(len(k), strict))


class _Factor:
    r"""Fast-dLLM's factor rule: the longest prefix with $c_{(n)} \ge \theta_n$."""

    @staticmethod
    def _theta(rule, length):
        settings = dict(rule.settings)
        n = np.arange(1, length + 2).astype(float)
        theta = rules.quantize(1.0 - settings["factor"] / (n + 1.0))
        return theta, bool(settings["reference_quirk"])  # theta[n - 1] is theta_n

    @classmethod
    def sizes(cls, rule, m, block_size, step, length):
        _, quirk = cls._theta(rule, length)
        k = np.arange(length + 1)[None, :]
        ok = (k >= 1) & (k <= m[:, None])
        if quirk:
            ok &= ~((k == m[:, None] - 1) & (m[:, None] >= 2))
        return ok

    @classmethod
    def _tested(cls, rule, k, m, length):
        """The last rank whose test the committed scores must pass."""
        _, quirk = cls._theta(rule, length)
        return np.where(k == m, m - 1, k) if quirk else k

    @classmethod
    def floor(cls, rule, k, m):
        length = int(max(m.max(initial=1), 1))
        theta, quirk = cls._theta(rule, length)
        upto = cls._tested(rule, k, m, length)
        value = np.where(upto >= 2, theta[np.maximum(upto, 1) - 1], -np.inf)
        spare = np.where(upto < k, 1, 0)  # the quirk's last rank is never tested
        return _Floor(value, np.zeros(len(k), bool), spare)

    @classmethod
    def law(cls, rule, ranked, k, m, block_size, step):
        length = ranked.shape[1]
        theta, quirk = cls._theta(rule, length)
        upto = cls._tested(rule, k, m, length)
        n = np.arange(1, length + 1)[None, :]
        ok = (ranked >= theta[None, :length]) | (n == 1) | (n > upto[:, None])
        weight = ok.all(axis=1).astype(float)
        if quirk:
            weight[(k == m - 1) & (m >= 2)] = 0.0
        cut = np.where(k < m, theta[np.minimum(k, length)], np.inf)  # theta_{k+1}
        return _Cut(weight, cut, np.zeros(len(k), bool))


_FORMS = {
    rules.topk_count: _ScoreFree,
    rules.dream_count: _ScoreFree,
    rules.ancestral_count: _ScoreFree,
    rules.threshold_count: _Threshold,
    rules.factor_count: _Factor,
}
"""The count rules whose factorised form is derived (module docstring)."""


def has_form(sampler: Sampler) -> bool:
    """Whether the sampler's count rule has a factorised form here.

    The forms read the scores ranked high to low (a `count_order` of "score").
    """
    ranked = getattr(sampler, "count_order", "score") == "score"
    return ranked and isinstance(sampler.count, Rule) and sampler.count.fn in _FORMS


def token_laws(sampler: Sampler, probs, eligible, positions):
    r"""The draw laws $\pi$, the quantised score table and the drawable tokens.

    `drawable[s, i, v]` is $\pi_i(v) > 0$ at an eligible position; the decoders
    score a drawn token with `table[s, i, v]`.
    """
    pi = rules.draw_distribution(probs, sampler.temperature)
    table = rules.quantize(sampler.score(probs, positions))
    drawable = (pi > 0) & eligible[..., None]
    return pi, table, drawable


def token_dependent(table, drawable):
    """`(N,)`: some eligible position's score depends on which token is drawn."""
    high = np.max(np.where(drawable, table, -np.inf), axis=-1)
    low = np.min(np.where(drawable, table, np.inf), axis=-1)
    return np.any(drawable.any(axis=-1) & (high > low), axis=-1)


def commits(
    sampler: Sampler,
    probs,
    eligible,
    block_size,
    step,
    *,
    keep: Callable[[np.ndarray, np.ndarray], np.ndarray] | None = None,
    guard: Callable[[int], None] | None = None,
) -> Commits:
    r"""Every committed $(S, v_S)$ of one step of each state, with its probability.

    Args:
      sampler: a `Sampler` whose count rule `has_form`.
      probs: `(N, L, V)` model probabilities of each state.
      eligible: `(N, L)` positions the step may commit.
      block_size: `(N,)` size of the current block (the count rules read it).
      step: `(N,)` step index (MDLM's count reads it).
      keep: optional `keep(src, tokens) -> (R,) bool`, called after each position is
        assigned, with the tokens committed so far (-1 elsewhere): rows it rejects
        are dropped (support-only enumeration). Their mass is then missing from
        `prob`, and is $1 - $ `idle` $- \sum$ `prob` per state.
      guard: optional `guard(rows)` called with every row count before it is built
        (a budget check that raises).

    Returns:
      `Commits`; without `keep`, each state's `prob` and `idle` sum to 1.
    """
    rule = sampler.count
    form = _FORMS[rule.fn]
    probs = np.asarray(probs, float)
    num, length, _ = probs.shape
    positions = np.arange(length)
    pi, table, drawable = token_laws(sampler, probs, eligible, positions)
    m = eligible.sum(axis=1)
    block_size = np.asarray(block_size).astype(int)
    step = np.asarray(step).astype(int)
    guard = guard or (lambda rows: None)

    # 1. candidate committed sets: subsets of the eligible positions of a possible size
    possible = form.sizes(rule, m, block_size, step, length)
    src, selected = _subsets(eligible, possible, guard)
    k = selected.sum(axis=1)

    # 2. candidate tokens, position by position, above each rule's floor on the
    # committed scores (all but `spare` of them)
    floor = form.floor(rule, k, m[src])
    row = np.arange(len(src))  # the candidate set of each row
    tokens = np.full(selected.shape, -1, np.int64)
    spare = floor.spare.copy()
    pi_product = np.ones(len(src))
    for j in range(length):
        take = selected[row, j]
        if not take.any():
            continue
        grow = np.nonzero(take)[0]
        st = src[row[grow]]
        z = table[st, j]
        bound = floor.value[row[grow], None]
        above = np.where(floor.strict[row[grow], None], z > bound, z >= bound)
        cand = drawable[st, j] & (above | (spare[grow, None] > 0))
        guard(len(row) - len(grow) + int(cand.sum()))
        pick, v = np.nonzero(cand)
        stay = np.nonzero(~take)[0]
        order = np.concatenate([stay, grow[pick]])
        row, tokens = row[order], tokens[order]
        pi_product, spare = pi_product[order], spare[order]
        tokens[len(stay) :, j] = v
        pi_product[len(stay) :] *= pi[st[pick], j, v]
        spare[len(stay) :] -= ~above[pick, v]
        if keep is not None:
            ok = keep(src[row], tokens)
            row, tokens = row[ok], tokens[ok]
            pi_product, spare = pi_product[ok], spare[ok]
    src, selected = src[row], selected[row]

    # 3. the probability of each row (the theorem)
    prob = pi_product * _outside_factor(
        form, rule, (pi, table, eligible), src, selected, tokens, m, block_size, step
    )
    idle = np.zeros(num)
    if form is _ScoreFree:
        idle = _score_free_pmf(rule, m, block_size, step, length)[:, 0]
    positive = prob > 0
    return Commits(
        src[positive], selected[positive], tokens[positive], prob[positive], idle
    )


def _subsets(eligible, possible, guard):
    """`(src, selected)`: each state's eligible subsets of a possible size >= 1."""
    num, length = eligible.shape
    src_parts = [np.zeros(0, np.int64)]
    sel_parts = [np.zeros((0, length), bool)]
    total = 0
    patterns, inverse = np.unique(eligible, axis=0, return_inverse=True)
    inverse = inverse.reshape(-1)
    for p, pattern in enumerate(patterns):
        states = np.nonzero(inverse == p)[0]
        where = np.nonzero(pattern)[0]
        for k in range(1, len(where) + 1):
            these = states[possible[states, k]]
            if not len(these):
                continue
            combos = np.array(list(itertools.combinations(where, k)), np.int64)
            total += len(these) * len(combos)
            guard(total)
            masks = np.zeros((len(combos), length), bool)
            masks[np.arange(len(combos))[:, None], combos] = True
            src_parts.append(np.repeat(these, len(combos)))
            sel_parts.append(np.tile(masks, (len(these), 1)))
    return np.concatenate(src_parts), np.concatenate(sel_parts)


def _outside_factor(form, rule, laws, src, selected, tokens, m, block_size, step):
    r"""$w(z_S)$ times the outside factor of the theorem, for each row."""
    pi, table, eligible = laws
    rows, length = selected.shape
    if not rows:
        return np.zeros(0)
    k = selected.sum(axis=1)
    z = np.where(
        selected,
        table[src[:, None], np.arange(length)[None, :], np.maximum(tokens, 0)],
        -np.inf,
    )
    ranked = -np.sort(-z, axis=1)
    t = ranked[np.arange(rows), k - 1]
    a = np.sum(selected & (z == t[:, None]), axis=1)
    law = form.law(rule, ranked, k, m[src], block_size[src], step[src])
    outside = eligible[src] & ~selected
    admits_t = (law.cut > t) | ((law.cut == t) & law.inclusive)
    factor = np.ones(rows)  # no outside position: nothing to rank below S
    live = (law.weight > 0) & outside.any(axis=1)
    tied = np.nonzero(live & admits_t)[0]
    if len(tied):  # every outside score <= t, ties at t ranked after S's
        lt, eq = _below(pi, table, src[tied], t[tied])
        factor[tied] = _tie_sum(lt, eq, outside[tied], a[tied])
    cut = np.nonzero(live & ~admits_t)[0]
    if len(cut):  # every outside score below the cut, itself at most t: no ties
        lt, eq = _below(pi, table, src[cut], law.cut[cut])
        p = np.where(law.inclusive[cut, None], lt + eq, lt)
        factor[cut] = np.prod(np.where(outside[cut], p, 1.0), axis=1)
    return law.weight * factor


def _below(pi, table, src, value):
    r"""$P(Z_i < w)$ and $P(Z_i = w)$ at every position, `(R, L)` each.

    Computed once per distinct (state, $w$) pair, in chunks.
    """
    levels, code = np.unique(value, return_inverse=True)
    pairs, inverse = np.unique(
        src.astype(np.int64) * len(levels) + code.reshape(-1), return_inverse=True
    )
    inverse = inverse.reshape(-1)
    states, values = pairs // len(levels), levels[pairs % len(levels)]
    _, length, vocab = pi.shape
    lt = np.empty((len(pairs), length))
    eq = np.empty((len(pairs), length))
    chunk = max(1, _CHUNK_CELLS // (length * vocab))
    for lo in range(0, len(pairs), chunk):
        s, w = states[lo : lo + chunk], values[lo : lo + chunk, None, None]
        z, p = table[s], pi[s]
        lt[lo : lo + chunk] = np.sum(np.where(z < w, p, 0.0), axis=-1)
        eq[lo : lo + chunk] = np.sum(np.where(z == w, p, 0.0), axis=-1)
    return lt[inverse], eq[inverse]


def _tie_sum(lt, eq, outside, a):
    r"""$\sum_b [x^b] \prod_{i \in O} (l_i + e_i x) / \binom{a + b}{a}$ per row."""
    rows, length = lt.shape
    poly = np.zeros((rows, length + 1))
    poly[:, 0] = 1.0
    for i in range(length):
        low = np.where(outside[:, i], lt[:, i], 1.0)[:, None]
        tie = np.where(outside[:, i], eq[:, i], 0.0)[:, None]
        shifted = np.concatenate([np.zeros((rows, 1)), poly[:, :-1]], axis=1)
        poly = poly * low + shifted * tie
    b = np.arange(length + 1)[None, :]
    return np.sum(poly / scipy.special.comb(a[:, None] + b, a[:, None]), axis=1)
