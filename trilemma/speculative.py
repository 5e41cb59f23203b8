r"""Speculative decoding with a parallel (dLLM) draft, verified by $p^*$: exact law.

The blog's "parallel verification ... may be free": a dLLM drafts the next $\gamma$
tokens in **one parallel step** (the ideal model: each drafted position draws from
its exact marginal $q_j = p^*(y_{i+j} \mid x, y_{\le i})$ given the committed prefix,
independently of the other drafted positions), and one call of the target $p^*$
(its exact autoregressive conditionals) verifies them with the rejection rule of
Leviathan et al. (arXiv 2211.17192): drafted token $x_j$ is accepted with
probability $\min(1, p^*(x_j \mid x_{<j}) / q_j(x_j))$; the first rejected position
is resampled from $(p^* - q_j)_+$ normalised; if all $\gamma$ are accepted, the
same target call gives one more token from $p^*(\cdot \mid x_{\le \gamma})$.

**Output law.** Each committed token is distributed as $p^*$ given the prefix
($\min(q, p) + (p - q)_+ = p$), so the output law is exactly $p^*$ whatever the
draft; `speculative` computes it by enumeration and the tests check it.

**Tokens per target call.** At a prefix with more than $\gamma$ positions left,
the expected number of tokens committed by one target call is
$$\mathbb E[N] = 1 + \sum_{k=1}^{\gamma}\sum_{x_{1:k}}\prod_{j\le k}
  \min\big(q_j(x_j),\, p^*(x_j \mid x_{<j})\big)$$
(the probability that the first $k$ drafts are all accepted, summed over $k$);
near the end the block is cut at the last position (no bonus token past it).
`Speculative.expected_calls` is the exact expected number of target calls (and of
draft steps: one each per round) to decode the whole output, by dynamic
programming over the prefixes; `tokens_per_call = L / expected_calls`.
"""

from __future__ import annotations

import dataclasses
import math
from collections import defaultdict

import numpy as np

from . import _checks
from .tasks import Task

DEFAULT_MAX_WORK = 20_000_000
"""Refuse when (support rows x positions x (gamma + 1)) exceeds this."""


@dataclasses.dataclass(frozen=True)
class Speculative:
    r"""Exact results of speculative decoding with an ideal parallel draft.

    Attributes:
      task: the task.
      gamma: drafted tokens per round.
      q_rows: `(N,)` the output law on the support rows of `task.joint` (with the
        prompt law), equal to $p^*$ (the theorem; the tests check it).
      invalid: output mass off the support (0).
      expected_calls: exact expected target calls per output (= draft steps).
      first_call_tokens: $\mathbb E[N]$ of the first target call (nothing decoded),
        averaged over prompts.
      first_call_formula: the same from the closed formula (the sum cut at
        $L - 1$ drafted tokens; equal to `first_call_tokens`).
      accuracy: the grader's pass rate under the output law.
    """

    task: Task
    gamma: int
    q_rows: np.ndarray
    invalid: float
    expected_calls: float
    first_call_tokens: float
    first_call_formula: float
    accuracy: float

    @property
    def tokens_per_call(self) -> float:
        r"""Output tokens per target call, $L / \mathbb E[\text{calls}]$."""
        return len(self.task.outputs) / self.expected_calls


def speculative(
    task: Task, gamma: int, *, max_work: int = DEFAULT_MAX_WORK
) -> Speculative:
    r"""Exact output law and expected target calls of speculative decoding.

    Args:
      task: an enumerable task; positions are decoded left to right.
      gamma: drafted tokens per round, $\ge 1$ (the draft is cut at the end).
      max_work: refuse (ValueError) larger enumerations.

    Returns:
      A `Speculative`.

    The poster's cities: the first token's draft is p*'s first conditional, so it
    is always accepted, and the same target call gives the second token:

    >>> import trilemma as T
    >>> result = speculative(T.make_task("cities"), 1)
    >>> result.expected_calls, result.tokens_per_call
    (1.0, 2.0)
    """
    _checks.check_instance(task, "task", Task)
    outcomes = np.asarray(task.joint.outcomes).astype(np.int64)
    probs = np.asarray(task.joint.probs, np.float64)
    length = outcomes.shape[1] - 1
    gamma = _checks.check_int(gamma, "gamma", minimum=1)
    _checks.check_work(
        len(outcomes) * length * (min(gamma, length) + 1),
        f"speculative decoding of {task.name} (n={task.n}) with gamma={gamma}",
        max_work,
        unit="(row, position, draft) steps",
    )
    prompt_mass = np.bincount(outcomes[:, 0], weights=probs)
    q_rows = np.zeros(len(outcomes))
    calls = []
    first, formula = [], []
    for x in np.nonzero(prompt_mass > 0)[0]:
        where = np.nonzero(outcomes[:, 0] == x)[0]
        rows = [tuple(int(v) for v in outcomes[r, 1:]) for r in where]
        weights = probs[where] / prompt_mass[x]
        solver = _PromptSolver(rows, weights, length, gamma)
        law, expected = solver.run()
        index = {y: i for i, y in zip(where, rows, strict=True)}
        for y, mass in law.items():
            q_rows[index[y]] += prompt_mass[x] * mass
        calls.append(prompt_mass[x] * expected)
        first.append(prompt_mass[x] * solver.first_tokens)
        formula.append(prompt_mass[x] * solver.formula(()))
    q_sum = math.fsum(q_rows)
    passed = task.grade(outcomes[:, 0], outcomes[:, 1:])
    return Speculative(
        task=task,
        gamma=gamma,
        q_rows=q_rows,
        invalid=max(0.0, 1.0 - q_sum) if abs(1.0 - q_sum) > 1e-12 else 0.0,
        expected_calls=math.fsum(calls),
        first_call_tokens=math.fsum(first),
        first_call_formula=math.fsum(formula),
        accuracy=float(q_rows[passed].sum()),
    )


class _PromptSolver:
    """One prompt: prefix masses, draft marginals, blocks and the DP over prefixes."""

    def __init__(self, rows, weights, length: int, gamma: int):
        self.length, self.gamma = length, gamma
        self.mass: dict[tuple, float] = defaultdict(float)
        self.by_prefix: dict[tuple, list] = defaultdict(list)
        for y, w in zip(rows, weights, strict=True):
            for i in range(length + 1):
                self.mass[y[:i]] += float(w)
                self.by_prefix[y[:i]].append((y, float(w)))
        self.first_tokens = 0.0

    def cond(self, prefix, v) -> float:
        r"""$p^*(y_{|prefix|+1} = v \mid prefix)$."""
        return self.mass.get(prefix + (v,), 0.0) / self.mass[prefix]

    def draft(self, prefix) -> list[dict]:
        """Draft marginals of the next gamma positions given `prefix`."""
        i = len(prefix)
        g = min(self.gamma, self.length - i)
        out = [defaultdict(float) for _ in range(g)]
        total = self.mass[prefix]
        for y, w in self.by_prefix[prefix]:
            for j in range(g):
                out[j][y[i + j]] += w / total
        return out

    def blocks(self, prefix) -> dict[tuple, float]:
        """Law of the tokens committed by one round at `prefix`."""
        q = self.draft(prefix)
        g = len(q)
        left = self.length - len(prefix)
        out: dict[tuple, float] = defaultdict(float)

        def walk(xs, acc):
            k = len(xs)
            here = prefix + xs
            if k == g:
                if g < left:  # bonus token from the target
                    for v in self._next(here):
                        out[xs + (v,)] += acc * self.cond(here, v)
                else:
                    out[xs] += acc
                return
            for v in self._next(here):  # rejection at k + 1, resampled from (p - q)+
                extra = self.cond(here, v) - q[k].get(v, 0.0)
                if extra > 0:
                    out[xs + (v,)] += acc * extra
            for v in self._next(here):  # acceptance of a drafted v
                both = min(q[k].get(v, 0.0), self.cond(here, v))
                if both > 0:
                    walk(xs + (v,), acc * both)

        walk((), 1.0)
        return out

    def formula(self, prefix) -> float:
        r"""$1 + \sum_k \sum_{x_{1:k}} \prod_j \min(q_j, p^*)$ at `prefix`.

        The sum runs to $k = \min(\gamma, \text{left} - 1)$: a block never passes
        the last position.
        """
        q = self.draft(prefix)
        depth = min(len(q), self.length - len(prefix) - 1)
        total = [0.0]

        def walk(xs, acc):
            k = len(xs)
            if k == depth:
                return
            here = prefix + xs
            for v in self._next(here):
                both = min(q[k].get(v, 0.0), self.cond(here, v))
                if both > 0:
                    total[0] += acc * both
                    walk(xs + (v,), acc * both)

        walk((), 1.0)
        return 1.0 + total[0]

    def _next(self, prefix):
        i = len(prefix)
        return sorted({y[i] for y, _ in self.by_prefix[prefix]})

    def run(self) -> tuple[dict[tuple, float], float]:
        """Forward over prefixes by length: output law and expected target calls."""
        reach: dict[tuple, float] = {(): 1.0}
        law: dict[tuple, float] = defaultdict(float)
        calls = 0.0
        for i in range(self.length):
            current = {u: m for u, m in reach.items() if len(u) == i}
            for u, m in current.items():
                del reach[u]
                calls += m
                blocks = self.blocks(u)
                if i == 0:
                    self.first_tokens = math.fsum(p * len(b) for b, p in blocks.items())
                for b, p in blocks.items():
                    child = u + b
                    if len(child) == self.length:
                        law[child] += m * p
                    else:
                        reach[child] = reach.get(child, 0.0) + m * p
        if self.length == 0:
            law[()] = 1.0
        return dict(law), calls
