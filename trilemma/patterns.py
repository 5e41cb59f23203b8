r"""Answer patterns of the list tasks, and their pooled law from one sample per prompt.

ParallelBench decodes one answer per prompt (greedily in most runs), so no prompt's
output law can be estimated. But the target $p^*(\cdot|x)$ of every list task is
invariant under relabelling the items, so an answer has a **pattern** that does not
depend on the item names, and $p^*$'s pattern law is the same for every prompt of a
(task, n). One sample per prompt estimates the **pooled** pattern law
$\bar p(\pi) = \frac1P \sum_x q_x(\pi)$ of the model's per-prompt pattern laws $q_x$,
which bounds the per-prompt quantities:

* $H(\bar p) \ge \frac1P \sum_x H(q_x)$ (entropy is concave), and on the valid
  patterns $H(\bar p_V) \ge \sum_x w_x H(q_x(\cdot|V))$, $w_x \propto q_x(V)$;
* $p^*(\mathrm{supp}\,\bar p) \ge \frac1P \sum_x p^*(\mathrm{supp}\,q_x)$ (the union
  of the supports holds each one);
* $TV(\bar p, p^*) \le \frac1P \sum_x TV(q_x, p^*)$ (TV is convex);

with equality in all three when the model treats items exchangeably ($q_x$ the same
for every $x$). On valid answers the pattern is a bijection of the output given the
prompt (distinct items), so per-prompt entropy of valid answers, recall and TV over
patterns equal those over outputs. Hence a **low** pooled entropy or recall proves
mode collapse per prompt, a high one proves nothing per prompt, and under greedy
decoding the per-prompt diversity is zero by construction. Proofs: `paper_notes.md`.

**Patterns** (`answer_pattern`; $x$ the input list, $W$ the new person, $i$ the asked
index; items must be distinct):

* `copy`, `reverse`, `shuffle`, `shuffle_distinct`: the permutation $\pi$ (a tuple)
  with $y_j = x_{\pi(j)}$. $p^*$: the identity; the reversal; uniform; uniform on all
  but the identity.
* `sort`: the permutation with $y_j = s_{\pi(j)}$, $s$ the sorted input. $p^*$: the
  identity.
* `insert_random` / `insert_index`: $W$'s position $j$ in $y$ / the offset $j - i$.
  $p^*$: uniform on $0..n$ / 0.
* `remove_random` / `remove_index`: the removed position $k$ / the offset $k - i$.
  $p^*$: uniform on $0..n-1$ / 0.
* `replace_random` / `replace_index`: the replaced position $k$ / the offset $k - i$.
  $p^*$: uniform on $0..n-1$ / 0.

An answer that is an edit of the task's form keeps its pattern even when it is wrong
(a sort answered by the input order, a shuffle that returns the input, an insert one
place off): these **well-formed** patterns lie outside $p^*$'s support but say what
the model did. Every other answer (wrong items, wrong length, two edits, no answer)
is **malformed** and maps to `None`, one cell. The map from outputs to patterns is
one-to-one on well-formed outputs, so only malformed answers merge: TV and recall
over patterns equal those over outputs exactly, the entropy over patterns is at most
the one over outputs (equal when at most one malformed output has mass), and the
entropy of the valid answers is the same.

>>> answer_pattern("shuffle_distinct", ["Ann", "Bob", "Cal"], ["Cal", "Ann", "Bob"])
(2, 0, 1)
>>> answer_pattern("insert_index", ["Ann", "Bob"], ["Ann", "Bob", "Eve"],
...                new_item="Eve", index=1)
1
>>> answer_pattern("remove_random", ["Ann", "Bob", "Cal"], ["Ann", "Eve"]) is None
True
"""

from __future__ import annotations

import functools
import math
from collections.abc import Hashable, Mapping, Sequence
from typing import NamedTuple

import numpy as np

from . import _checks
from .estimators import (
    DEFAULT_ENTROPY_ESTIMATOR,
    ENTROPY_ESTIMATORS,
    Estimate,
    Histogram,
    clopper_pearson,
    estimate_point,
    exact_reference,
)
from .tasks import LIST_TASKS, TASKS, Task, make_task

Pattern = Hashable
"""A pattern: a tuple of ints (permutation tasks) or an int (edit tasks)."""

PATTERN_TASKS = LIST_TASKS
"""The tasks with answer patterns: the ten Waiting Line lists and `shuffle`."""

_PERMUTATION = ("copy", "sort", "reverse", "shuffle", "shuffle_distinct")
_EDIT = {
    "insert_index": "insert",
    "insert_random": "insert",
    "remove_index": "remove",
    "remove_random": "remove",
    "replace_index": "replace",
    "replace_random": "replace",
}
_WITH_NEW_ITEM = ("insert_index", "insert_random", "replace_index", "replace_random")
_INDEX_COUNT = {"insert_index": 1, "remove_index": 0, "replace_index": 0}
"""Indexed tasks: the asked index lies in [0, n + this)."""

_MIN_N = {"remove_index": 2, "remove_random": 2, "shuffle_distinct": 2}
MAX_N = {"shuffle": 8, "shuffle_distinct": 8}
"""The largest n `pattern_law` enumerates: 8 for the permutation-law tasks (n!
patterns), 32 (ParallelBench's longest lists fit) for the others."""
_DEFAULT_MAX_N = 32

MIN_SAMPLES_PER_PATTERN = 3
r"""`pooled_pattern_estimates` claims collapse only with at least this many samples
per distinct valid pattern seen: below it (the regime $N \lesssim 3K$ of
`trilemma.estimators`) entropy estimates are biased low, and a low value may be the
estimator's, not the model's."""


# --------------------------------------------------------------------------------------
# Patterns of one answer.


def answer_pattern(
    task_name: str,
    prompt_items: Sequence,
    answer_items: Sequence | None,
    *,
    new_item=None,
    index: int | None = None,
) -> Pattern | None:
    r"""The pattern of one answer (module docstring), or None when it is malformed.

    Works on plain lists of item names or tokens alike: the token rows of
    `make_task`'s list tasks (`token_patterns` decodes them) and the parsed text
    answers of ParallelBench.

    Args:
      task_name: one of `PATTERN_TASKS`.
      prompt_items: the input list $x$, $n$ distinct hashable items.
      answer_items: the answer as a list of items; None (no parsable answer) is
        malformed.
      new_item: the new person $W$, for `insert_*` and `replace_*` (required there,
        not one of the prompt's items; refused elsewhere).
      index: the asked 0-based index, for the `*_index` tasks (required there,
        refused elsewhere).

    Returns:
      A tuple of ints (permutation tasks), an int (edit tasks), or None.
    """
    _check_task(task_name)
    items = _as_list(prompt_items, "prompt_items")
    n = len(items)
    minimum = _MIN_N.get(task_name, 1)
    if n < minimum:
        raise ValueError(
            f"`prompt_items` of task {task_name!r} must hold at least {minimum} "
            f"item(s); got {n}."
        )
    if len(set(items)) != n:
        raise ValueError(
            "`prompt_items` must be distinct (a pattern names positions, which "
            f"repeated items make ambiguous); got {_checks.show(items)}."
        )
    new_item = _check_new_item(task_name, new_item, items)
    index = _check_index(task_name, index, n)
    if answer_items is None:
        return None
    answer = _as_list(answer_items, "answer_items")
    return _pattern(task_name, items, answer, new_item, index)


def _pattern(task_name, items, answer, new_item, index):
    """`answer_pattern` on checked arguments."""
    n = len(items)
    if task_name in _PERMUTATION:
        if len(answer) != n:
            return None
        source = sorted(items) if task_name == "sort" else items
        where = {item: j for j, item in enumerate(source)}
        try:
            perm = tuple(where[a] for a in answer)
        except (KeyError, TypeError):  # an item not in the list, or unhashable
            return None
        return perm if len(set(perm)) == n else None
    kind, shift = _EDIT[task_name], (0 if index is None else index)
    if kind == "insert":
        if len(answer) != n + 1:
            return None
        hits = [j for j, a in enumerate(answer) if _same(a, new_item)]
        if len(hits) != 1:
            return None
        j = hits[0]
        return j - shift if _equal(answer[:j] + answer[j + 1 :], items) else None
    if kind == "remove":
        if len(answer) != n - 1:
            return None
        k = next((j for j in range(n - 1) if not _same(answer[j], items[j])), n - 1)
        return k - shift if _equal(answer, items[:k] + items[k + 1 :]) else None
    if len(answer) != n:  # replace
        return None
    changed = [j for j in range(n) if not _same(answer[j], items[j])]
    if len(changed) != 1 or not _same(answer[changed[0]], new_item):
        return None
    return changed[0] - shift


def _same(a, b) -> bool:
    """Item equality that never raises (arrays or odd objects compare unequal)."""
    try:
        return bool(a == b)
    except Exception:  # noqa: BLE001 - any failure to compare is "not the same"
        return False


def _equal(a: list, b: list) -> bool:
    return len(a) == len(b) and all(_same(u, v) for u, v in zip(a, b, strict=True))


def token_patterns(
    task: Task, prompt_index, outputs, *, pool_size: int | None = None
) -> list[Pattern | None]:
    """The pattern of each output token row of a list task.

    Args:
      task: a list task (`task.name` one of `PATTERN_TASKS`) in one of two layouts:
        `make_task`'s (`pool_size=None`: items $0..n-1$ in the prompt row, $W$ the
        token $n$, the index appended as the token $i$) or `pooled_task`'s
        (`pool_size=K`: the prompt row's items, then $W$, then the index token
        $K + i$).
      prompt_index: `(N,)` rows of `task.prompts`.
      outputs: `(N, L)` output tokens.
      pool_size: None, or the pool size $K$ of a pooled task.

    Returns:
      `N` patterns (None for malformed outputs).
    """
    _checks.check_instance(task, "task", Task)
    _check_task(task.name, "task.name")
    parts = _prompt_parts(task, pool_size)
    prompt_index = np.asarray(prompt_index)
    outputs = np.asarray(outputs)
    _checks.check_shape(prompt_index, "prompt_index", ("N",))
    _checks.check_shape(outputs, "outputs", (len(prompt_index), "L"))
    _checks.check_integer_dtype(prompt_index, "prompt_index")
    ok = (prompt_index >= 0) & (prompt_index < len(parts))
    allowed = f"a row of `task.prompts` (0 to {len(parts) - 1})"
    _checks.check_rows(ok, prompt_index[:, None], "prompt_index", allowed)
    found = []
    for x, row in zip(prompt_index.tolist(), outputs.tolist(), strict=True):
        items, new_item, index = parts[x]
        found.append(_pattern(task.name, items, row, new_item, index))
    return found


def _prompt_parts(task: Task, pool_size: int | None):
    """`(items, new_item, index)` of each prompt row of `task`, checked."""
    name, n = task.name, task.n
    prompts = np.asarray(task.prompts).astype(np.int64)
    new, indexed = name in _WITH_NEW_ITEM, name in _INDEX_COUNT
    count = n + _INDEX_COUNT.get(name, 0)
    if pool_size is None:
        width = n + indexed
        layout = f"make_task's layout: the items 0..{n - 1} in some order"
        items_ok = (np.sort(prompts[:, :n], axis=1) == np.arange(n)).all(axis=1)
    else:
        pool_size = _checks.check_int(pool_size, "pool_size", minimum=n + new)
        width = n + new + indexed
        layout = f"pooled_task's layout: {n + new} distinct items below {pool_size}"
        block = np.sort(prompts[:, : n + new], axis=1)
        items_ok = (block[:, 1:] != block[:, :-1]).all(axis=1) & (
            (block >= 0) & (block < pool_size)
        ).all(axis=1)
    _checks.check_shape(prompts, "task.prompts", ("P", width))
    offset = 0 if pool_size is None else pool_size
    index = prompts[:, -1] - offset if indexed else np.zeros(len(prompts), np.int64)
    index_ok = (index >= 0) & (index < count)
    if indexed:
        layout += f", then the index token {offset} + i, i in [0, {count - 1}]"
    _checks.check_rows(items_ok & index_ok, prompts, "task.prompts", layout)
    parts = []
    for row, i in zip(prompts.tolist(), index.tolist(), strict=True):
        if pool_size is None:
            w = n if new else None
        else:
            w = row[n] if new else None
        parts.append((row[:n], w, i if indexed else None))
    return parts


# --------------------------------------------------------------------------------------
# Exact pattern laws.


def pattern_law(task_name: str, n: int) -> dict[Pattern, float]:
    r"""$p^*$'s pattern law at size `n`, from the task's exact joint.

    Enumerates `make_task(task_name, n)`: each prompt's support rows are mapped to
    their patterns (`token_patterns`) and their conditional masses summed. Every
    prompt gives the same law (checked: the invariance the pooling rests on), which
    is returned.

    Args:
      task_name: one of `PATTERN_TASKS`.
      n: list length, from the task's smallest (2 for `remove_*` and
        `shuffle_distinct`, else 1) to `MAX_N` (8 for the shuffles, else 32).

    Returns:
      `{pattern: probability}` over $p^*$'s valid patterns, sorted by pattern.

    >>> pattern_law("insert_random", 2)
    {0: 0.3333333333333333, 1: 0.3333333333333333, 2: 0.3333333333333333}
    >>> pattern_law("replace_index", 3)
    {0: 1.0}
    """
    _check_task(task_name)
    n = _check_n(task_name, n)
    return dict(_pattern_law(task_name, n))


@functools.cache
def _pattern_law(task_name: str, n: int) -> tuple[tuple[Pattern, float], ...]:
    task = make_task(task_name, n)
    laws = exact_pattern_laws(
        task, np.asarray(task.joint.outcomes), np.asarray(task.joint.probs)
    )
    first = laws[0]
    for law in laws[1:]:
        if set(law) != set(first) or any(abs(law[k] - first[k]) > 1e-12 for k in first):
            raise RuntimeError(
                f"p*'s pattern law of {task_name!r} at n={n} differs between prompts"
            )
    if None in first:
        raise RuntimeError(f"p* of {task_name!r} at n={n} has a malformed output")
    return tuple(sorted(first.items()))


def exact_pattern_laws(
    task: Task, outcomes, probs, *, pool_size: int | None = None
) -> tuple[dict[Pattern | None, float], ...]:
    r"""Each prompt's pattern law $q_x$ of a law $q$ over (prompt index, output) rows.

    $q_x(\pi) = \sum_{y:\ \mathrm{pattern}(x, y) = \pi} q(x, y) / p(x)$ with $p(x)$
    the task's prompt law (from `task.joint`); mass the rows do not hold (a
    `Simulation`'s invalid mass, whose outputs it does not list) goes to `None`.

    Args:
      task: a list task (see `token_patterns` for the two layouts).
      outcomes: `(R, 1 + L)` rows (prompt index, output tokens), e.g.
        `task.joint.outcomes` or a `Simulation`'s `outputs.outcomes`.
      probs: `(R,)` joint masses $q(x, y) = p(x)\,q(y|x)$.
      pool_size: as `token_patterns`.

    Returns:
      One `{pattern or None: probability}` per prompt row of `task.prompts`.
    """
    _checks.check_instance(task, "task", Task)
    outcomes = np.asarray(outcomes).astype(np.int64)
    probs = np.asarray(probs, np.float64)
    _checks.check_shape(outcomes, "outcomes", ("R", 1 + len(task.outputs)))
    _checks.check_shape(probs, "probs", (len(outcomes),))
    prompt_of = np.asarray(task.joint.outcomes)[:, 0].astype(np.int64)
    num_prompts = len(task.prompts)
    prompt_law = np.bincount(
        prompt_of, np.asarray(task.joint.probs, np.float64), minlength=num_prompts
    )
    patterns = token_patterns(
        task, outcomes[:, 0], outcomes[:, 1:], pool_size=pool_size
    )
    masses: list[dict] = [{} for _ in range(num_prompts)]
    for x, pattern, mass in zip(outcomes[:, 0].tolist(), patterns, probs, strict=True):
        law = masses[x]
        law[pattern] = law.get(pattern, 0.0) + float(mass)
    laws = []
    for x, law in enumerate(masses):
        weight = float(prompt_law[x])
        cond = {k: v / weight for k, v in law.items()}
        missing = 1.0 - math.fsum(cond.values())
        if missing > 1e-12:
            cond[None] = cond.get(None, 0.0) + missing
        laws.append(cond)
    return tuple(laws)


class PatternBounds(NamedTuple):
    r"""Exact pooled and per-prompt values of a family of pattern laws (nats).

    Attributes:
      pooled: $\bar p = \sum_x w_x q_x$, `{pattern or None: probability}`.
      pooled_entropy: $H(\bar p)$, all cells (`None` one cell).
      mean_entropy: $\sum_x w_x H(q_x)$.
      pooled_valid_entropy: $H(\bar p(\cdot|V))$, $V$ = $p^*$'s patterns (NaN when
        $\bar p(V) = 0$).
      weighted_valid_entropy: $\sum_x v_x H(q_x(\cdot|V))$, $v_x \propto w_x
        q_x(V)$: the valid entropy `trilemma_point` reports per prompt.
      pooled_recall: $p^*(\mathrm{supp}\,\bar p)$.
      mean_recall: $\sum_x w_x p^*(\mathrm{supp}\,q_x)$.
      pooled_tv: $TV(\bar p, p^*)$.
      mean_tv: $\sum_x w_x TV(q_x, p^*)$.
    """

    pooled: dict
    pooled_entropy: float
    mean_entropy: float
    pooled_valid_entropy: float
    weighted_valid_entropy: float
    pooled_recall: float
    mean_recall: float
    pooled_tv: float
    mean_tv: float


def pattern_bounds(
    task_name: str,
    n: int,
    laws: Sequence[Mapping[Pattern | None, float]],
    *,
    weights=None,
) -> PatternBounds:
    r"""The pooled law of per-prompt pattern laws $q_x$, and what it bounds.

    With $\bar p = \sum_x w_x q_x$ and $p^*$ the pattern law (`pattern_law`):
    $$H(\bar p) \ge \sum_x w_x H(q_x),\qquad
      H(\bar p(\cdot|V)) \ge \sum_x v_x H(q_x(\cdot|V)),$$
    $$p^*(\mathrm{supp}\,\bar p) \ge \sum_x w_x\, p^*(\mathrm{supp}\,q_x),\qquad
      TV(\bar p, p^*) \le \sum_x w_x\, TV(q_x, p^*),$$
    each an equality when every $q_x$ is the same law.

    Args:
      task_name: one of `PATTERN_TASKS`.
      n: list length.
      laws: one `{pattern or None: probability}` per prompt, each summing to 1.
      weights: the prompt law $w$ (default uniform).

    Returns:
      A `PatternBounds`.
    """
    _check_task(task_name)
    n = _check_n(task_name, n)
    laws = list(laws)
    if not laws:
        raise ValueError("`laws` is empty; it needs one pattern law per prompt.")
    ref = dict(_pattern_law(task_name, n))
    for x, law in enumerate(laws):
        for key, value in law.items():
            if key is not None and not _is_pattern(task_name, n, key):
                raise ValueError(
                    f"`laws[{x}]` has key {_checks.show(key)}, not a pattern of "
                    f"{task_name!r} at n={n} ({_pattern_form(task_name, n)})."
                )
            if not (np.isfinite(value) and value >= 0):
                raise ValueError(f"`laws[{x}]` has a negative or non-finite mass.")
        if abs(math.fsum(law.values()) - 1.0) > 1e-9:
            raise ValueError(f"`laws[{x}]` must sum to 1; got {sum(law.values())}.")
    if weights is None:
        w = np.full(len(laws), 1.0 / len(laws))
    else:
        w = np.asarray(weights, np.float64)
        _checks.check_shape(w, "weights", (len(laws),))
        _checks.check_pmf(w, name="weights", atol=1e-9)
    pooled: dict = {}
    for wx, law in zip(w, laws, strict=True):
        for key, value in law.items():
            pooled[key] = pooled.get(key, 0.0) + float(wx) * value
    valid_mass = np.array([_mass_on(law, ref) for law in laws])
    valid_weights = w * valid_mass
    valid_entropies = np.array(
        [
            _entropy(_restricted(law, ref)) if m > 0 else 0.0
            for law, m in zip(laws, valid_mass, strict=True)
        ]
    )
    total_valid = valid_weights.sum()
    return PatternBounds(
        pooled=pooled,
        pooled_entropy=_entropy(pooled),
        mean_entropy=float(np.dot(w, [_entropy(law) for law in laws])),
        pooled_valid_entropy=(
            _entropy(_restricted(pooled, ref)) if total_valid > 0 else math.nan
        ),
        weighted_valid_entropy=(
            float(np.dot(valid_weights, valid_entropies) / total_valid)
            if total_valid > 0
            else math.nan
        ),
        pooled_recall=_recall(pooled, ref),
        mean_recall=float(np.dot(w, [_recall(law, ref) for law in laws])),
        pooled_tv=_tv(pooled, ref),
        mean_tv=float(np.dot(w, [_tv(law, ref) for law in laws])),
    )


def _entropy(law: Mapping) -> float:
    return 0.0 - math.fsum(p * math.log(p) for p in law.values() if p > 0)


def _mass_on(law: Mapping, ref: Mapping) -> float:
    return math.fsum(p for k, p in law.items() if k in ref)


def _restricted(law: Mapping, ref: Mapping) -> dict:
    mass = _mass_on(law, ref)
    return {k: p / mass for k, p in law.items() if k in ref}


def _recall(law: Mapping, ref: Mapping) -> float:
    return math.fsum(p for k, p in ref.items() if law.get(k, 0.0) > 0)


def _tv(law: Mapping, ref: Mapping) -> float:
    keys = set(law) | set(ref)
    return 0.5 * math.fsum(abs(law.get(k, 0.0) - ref.get(k, 0.0)) for k in keys)


# --------------------------------------------------------------------------------------
# Estimates from one pattern per prompt.


class PooledPatternEstimates(NamedTuple):
    r"""The pooled pattern law of one answer per prompt, estimated (nats).

    Attributes:
      entropy: $H(\bar p)$ over all cells (malformed answers one cell), by the
        chosen estimator (default the project's, the jackknife); an upper bound on
        the mean per-prompt pattern entropy.
      valid_entropy: $H(\bar p(\cdot|V))$ of the valid patterns; an upper bound on
        the per-prompt valid output entropy (weighted by valid share).
      plugin_entropy: `entropy` by the plug-in estimator.
      plugin_valid_entropy: `valid_entropy` by the plug-in estimator.
      recall: $p^*(\mathrm{supp}\,\bar p)$ (Good–Turing corrected, as
        `estimate_point`'s); an upper bound on the mean per-prompt recall.
      tv: $TV(\bar p, p^*)$ (bias-corrected); a lower bound on the mean per-prompt
        TV.
      invalid: the share of answers outside $p^*$'s patterns (Clopper–Pearson).
      malformed: the share of malformed answers (`None`; Clopper–Pearson).
      entropy_drop_bound: $H(p^*) - H(\bar p(\cdot|V))$, a lower bound on the
        per-prompt entropy drop $H(p^*) - H_{q_V}(Y|X)$.
      reference_entropy: $H(p^*)$ over patterns, $= H(p^*(Y|x))$ for every prompt.
      reference_support: $p^*$'s number of valid patterns.
      num_samples: $N$, the answers (prompts).
      num_valid_patterns_seen: distinct valid patterns among the answers.
      law: the answers' pattern shares, largest first (`None`: malformed).
      undersampled: fewer than `MIN_SAMPLES_PER_PATTERN` valid answers per
        distinct valid pattern seen: no collapse is claimed.
      low_entropy_p_value: the exact test's p-value that the valid answers are
        draws from $p^*$'s pattern law: the chance that as many draws from it have
        a plug-in entropy at most the observed one (`NULL_DRAWS` Monte Carlo
        draws, the bootstrap's seed). A bootstrap interval of a few answers can be
        a single point; this test is not fooled by that, and collapse needs it to
        reject at `1 - level`.
      conclusion: `"collapse"` (the upper end of `valid_entropy` lies below
        `reference_entropy` by more than the margin: per-prompt diversity is lost),
        `"no_diversity"` ($p^*$ has one pattern: there is none to lose), or
        `"inconclusive"`.
      message: what can be concluded, in words (bits).
    """

    entropy: Estimate
    valid_entropy: Estimate
    plugin_entropy: Estimate
    plugin_valid_entropy: Estimate
    recall: Estimate
    tv: Estimate
    invalid: Estimate
    malformed: Estimate
    entropy_drop_bound: Estimate
    reference_entropy: float
    reference_support: int
    num_samples: int
    num_valid_patterns_seen: int
    law: dict
    undersampled: bool
    low_entropy_p_value: float
    conclusion: str
    message: str

    def as_report(self) -> dict:
        """JSON-ready, information in bits.

        The estimates with their intervals, the five largest pattern shares, the
        conclusion and its message.
        """
        from ._units import to_bits

        def bits(estimate):
            return {
                k: None if v is None else float(to_bits(v))
                for k, v in estimate.as_dict().items()
            }

        e = self
        return {
            "entropy_bits": bits(e.entropy),
            "valid_entropy_bits": bits(e.valid_entropy),
            "reference_entropy_bits": float(to_bits(e.reference_entropy)),
            "entropy_drop_bound_bits": bits(e.entropy_drop_bound),
            "recall": e.recall.as_dict(),
            "tv": e.tv.as_dict(),
            "invalid": e.invalid.as_dict(),
            "reference_support": e.reference_support,
            "valid_patterns_seen": e.num_valid_patterns_seen,
            "top_patterns": [
                {
                    "pattern": None
                    if k is None
                    else (list(k) if isinstance(k, tuple) else k),
                    "share": float(v),
                }
                for k, v in list(e.law.items())[:5]
            ],
            "conclusion": e.conclusion,
            "message": e.message,
        }


def pooled_pattern_estimates(
    task_name: str,
    n: int,
    patterns: Sequence[Pattern | None],
    *,
    num_bootstrap: int = 200,
    seed: int = 0,
    level: float = 0.95,
    greedy: bool = False,
    margin: float = 0.1,
    entropy_estimator: str = DEFAULT_ENTROPY_ESTIMATOR,
) -> PooledPatternEstimates:
    r"""Estimate the pooled pattern law from one answer per prompt.

    The $N$ patterns are the sample: they are independent draws from the pooled law
    $\bar p$ when the prompts are drawn from the task's prompt law, and otherwise
    independent draws whose empirical law is unbiased for $\bar p$ on the given
    prompts. They are estimated as one prompt's $N$ samples by
    `trilemma.estimators.estimate_point` against $p^*$'s exact pattern law: the
    bootstrap resamples the answers (prompts) with replacement, basic intervals,
    recall and TV bias-corrected, and the boundary values joining the intervals when
    $\bar p = p^*$ is not rejected.

    Args:
      task_name: one of `PATTERN_TASKS`.
      n: list length (as `pattern_law`).
      patterns: one pattern per prompt (`answer_pattern`; None for malformed).
      num_bootstrap: bootstrap resamples.
      seed: the bootstrap's seed.
      level: the intervals' nominal coverage.
      greedy: whether the answers were decoded greedily (the message then says
        that per-prompt diversity is zero by construction).
      margin: nats by which the upper end of the valid entropy must fall below
        $p^*$'s pattern entropy for `"collapse"`.
      entropy_estimator: one of `trilemma.estimators.ENTROPY_ESTIMATORS`.

    Returns:
      A `PooledPatternEstimates`.
    """
    _check_task(task_name)
    n = _check_n(task_name, n)
    if entropy_estimator not in ENTROPY_ESTIMATORS:
        raise _checks.unknown(
            "entropy estimator", entropy_estimator, ENTROPY_ESTIMATORS
        )
    greedy = _checks.check_bool(greedy, "greedy")
    margin = _checks.check_real(margin, "margin", low=0.0)
    if isinstance(patterns, str | bytes) or not isinstance(patterns, Sequence):
        patterns = _as_list(patterns, "patterns")
    patterns = [_as_pattern(p) for p in patterns]
    if not patterns:
        raise ValueError("`patterns` is empty; it needs one pattern per prompt.")
    checked: set = {None}
    for j, p in enumerate(patterns):
        if _known(p, checked):
            continue
        if not _is_pattern(task_name, n, p):
            raise ValueError(
                f"`patterns[{j}]` = {_checks.show(p)} is not a pattern of "
                f"{task_name!r} at n={n}: expected {_pattern_form(task_name, n)} "
                "or None."
            )
        checked.add(p)
    ref = dict(_pattern_law(task_name, n))
    cells = {k: i for i, k in enumerate(ref)}
    for p in patterns:
        if p not in cells:
            cells[p] = len(cells)
    ids = np.array([cells[p] for p in patterns], np.int64)
    count = np.bincount(ids, minlength=len(cells))
    seen = np.flatnonzero(count)
    num = len(patterns)
    hist = Histogram(
        prompt=np.zeros(len(seen), np.int64),
        outcome=seen[:, None].astype(np.int64),
        count=count[seen].astype(np.int64),
        prompt_ids=np.zeros(1, np.int64),
        totals=np.array([num], np.int64),
    )
    reference = exact_reference(
        np.zeros(len(ref), np.int64),
        np.arange(len(ref), dtype=np.int64)[:, None],
        np.fromiter(ref.values(), float, len(ref)),
    )
    alphabet = _num_patterns(task_name, n) + 1  # for NSB: every pattern, and None

    def point(method):
        return estimate_point(
            hist,
            reference,
            np.ones(num),
            entropy_estimator=method,
            num_bootstrap=num_bootstrap,
            seed=seed,
            level=level,
            alphabet_size=alphabet,
        )

    main = point(entropy_estimator)
    plug = main if entropy_estimator == "plugin" else point("plugin")
    main, plug = _as_floats(main), _as_floats(plug)
    h_star = _entropy(ref)
    valid = main.valid_entropy
    drop = Estimate(
        h_star - valid.estimate, h_star - valid.ci_high, h_star - valid.ci_low
    )
    prec = main.precision
    invalid = Estimate(1.0 - prec.estimate, 1.0 - prec.ci_high, 1.0 - prec.ci_low)
    malformed = clopper_pearson(sum(p is None for p in patterns), num, level=level)
    valid_seen = int(np.count_nonzero(count[: len(ref)]))
    valid_count = count[: len(ref)]
    undersampled = int(valid_count.sum()) < MIN_SAMPLES_PER_PATTERN * valid_seen
    p_value = _low_entropy_p_value(valid_count, np.fromiter(ref.values(), float), seed)
    if len(ref) == 1:
        conclusion = "no_diversity"
    elif not undersampled and valid.ci_high < h_star - margin and p_value < 1.0 - level:
        conclusion = "collapse"
    else:
        conclusion = "inconclusive"
    by_cell = {cell: key for key, cell in cells.items()}
    law = {
        by_cell[int(c)]: float(count[c] / num)
        for c in sorted(seen.tolist(), key=lambda c: -count[c])
    }
    result = PooledPatternEstimates(
        entropy=main.entropy,
        valid_entropy=valid,
        plugin_entropy=plug.entropy,
        plugin_valid_entropy=plug.valid_entropy,
        recall=main.recall,
        tv=main.tv,
        invalid=invalid,
        malformed=malformed,
        entropy_drop_bound=drop,
        reference_entropy=h_star,
        reference_support=len(ref),
        num_samples=num,
        num_valid_patterns_seen=valid_seen,
        law=law,
        undersampled=undersampled,
        low_entropy_p_value=p_value,
        conclusion=conclusion,
        message="",
    )
    return result._replace(message=_message(result, greedy, max(ref.values()), level))


NULL_DRAWS = 4000
"""Monte Carlo draws of the low-entropy test's null law."""


def _low_entropy_p_value(valid_count, ref_probs, seed: int) -> float:
    r"""$P_{p^*}(\hat H \le \hat H_{obs})$ for as many draws as valid answers.

    Monte Carlo over `NULL_DRAWS` multinomial samples (with the observed one
    counted, so the p-value is never 0); 1 when there is no valid answer.
    """
    total = int(valid_count.sum())
    if total == 0:
        return 1.0

    def plugin(counts):
        q = counts / total
        return -np.sum(q * np.log(np.where(q > 0, q, 1.0)), axis=-1)

    rng = np.random.default_rng(seed)
    draws = rng.multinomial(total, ref_probs / ref_probs.sum(), size=NULL_DRAWS)
    observed = plugin(np.asarray(valid_count, float))
    low = np.count_nonzero(plugin(draws.astype(float)) <= observed + 1e-12)
    return float((low + 1) / (NULL_DRAWS + 1))


def _as_floats(point):
    """`estimate_point`'s record with its `Estimate`s as Python floats."""
    return point._replace(
        **{
            name: Estimate(*(float(v) for v in value))
            for name, value in point._asdict().items()
            if isinstance(value, Estimate)
        }
    )


def _bits(nats: float) -> str:
    return f"{nats / math.log(2.0):.3f}"


def _message(r: PooledPatternEstimates, greedy: bool, top: float, level: float) -> str:
    """The conclusion in words (bits)."""
    pct = f"{100 * level:g}%"
    v = r.valid_entropy
    lines = [
        f"{r.num_samples} answers (one per prompt), {r.num_valid_patterns_seen} of "
        f"p*'s {r.reference_support} valid patterns seen, invalid share "
        f"{r.invalid.estimate:.3f}; pooled valid-pattern entropy {_bits(v.estimate)} "
        f"bits ({pct} interval {_bits(v.ci_low)} to {_bits(v.ci_high)}) against "
        f"p*'s {_bits(r.reference_entropy)} bits."
    ]
    if greedy:
        lines.append(
            "Greedy decoding: each answer is a function of its prompt, so the "
            "per-prompt diversity is zero by construction (entropy 0, recall at most "
            f"p*'s largest pattern mass {top:.4g}); the pooled law only shows how "
            "the one answer varies across prompts."
        )
    if r.conclusion == "no_diversity":
        lines.append(
            "p*'s pattern law is a point mass: there is no diversity to lose; the "
            "invalid share and TV are what the pooled law measures."
        )
    elif r.conclusion == "collapse":
        lines.append(
            "Mode collapse: the pooled entropy bounds the per-prompt entropy of the "
            "valid answers from above, so the model's per-prompt valid output "
            f"entropy is at most {_bits(v.ci_high)} bits, at least "
            f"{_bits(r.entropy_drop_bound.ci_low)} bits below p*'s (and draws from "
            f"p* show so low an entropy with chance {r.low_entropy_p_value:.3g})."
        )
    else:
        why = "the pooled entropy is not clearly below p*'s"
        if r.undersampled:
            why = (
                f"fewer than {MIN_SAMPLES_PER_PATTERN} valid answers per distinct "
                "pattern seen (entropy estimates are biased low there, so no "
                "collapse is claimed)"
            )
        elif r.low_entropy_p_value >= 1.0 - level:
            why = (
                "draws from p* itself show so low an entropy with chance "
                f"{r.low_entropy_p_value:.3g}"
            )
        lines.append(
            f"Inconclusive: {why}; a high pooled value proves nothing per prompt (a "
            "model that answers each prompt one way, differently across prompts, "
            "reaches it)."
        )
    if r.reference_support > 1:
        lines.append(
            f"Pooled recall {r.recall.estimate:.3f} (interval {r.recall.ci_low:.3f} "
            f"to {r.recall.ci_high:.3f}) bounds the mean per-prompt recall from "
            "above, up to patterns rarer than about 1/N, which no sample of N "
            "answers shows."
        )
    if r.tv.ci_low > 0:
        lines.append(
            f"Pooled TV at least {r.tv.ci_low:.3f}: the mean per-prompt TV to p* is "
            "at least that."
        )
    return " ".join(lines)


# --------------------------------------------------------------------------------------
# Checks.


def _check_task(task_name, name: str = "task_name") -> None:
    if task_name in PATTERN_TASKS:
        return
    if isinstance(task_name, str) and task_name in TASKS:
        raise ValueError(
            f"`{name}` {task_name!r} has no answer patterns: patterns are defined for "
            f"the list tasks {list(PATTERN_TASKS)}, whose answers are edits of the "
            "prompt's list (a Latin square or Sudoku answer is a grid, the toys have "
            "no items to relabel)."
        )
    raise ValueError(
        f"Unknown `{name}` {_checks.show(task_name)}; available: "
        f"{sorted(PATTERN_TASKS)}."
    )


def _check_n(task_name: str, n) -> int:
    return _checks.check_int(
        n,
        "n",
        minimum=_MIN_N.get(task_name, 1),
        maximum=MAX_N.get(task_name, _DEFAULT_MAX_N),
    )


def _check_new_item(task_name, new_item, items):
    if task_name in _WITH_NEW_ITEM:
        if new_item is None:
            raise ValueError(
                f"`new_item` is required by task {task_name!r}: the new person W."
            )
        if any(_same(new_item, item) for item in items):
            raise ValueError(
                f"`new_item` {_checks.show(new_item)} must not be one of "
                "`prompt_items`."
            )
        return new_item
    if new_item is not None:
        raise ValueError(f"task {task_name!r} takes no `new_item`.")
    return None


def _check_index(task_name, index, n):
    if task_name in _INDEX_COUNT:
        if index is None:
            raise ValueError(
                f"`index` is required by task {task_name!r}: the asked position."
            )
        return _checks.check_int(
            index, "index", minimum=0, maximum=n - 1 + _INDEX_COUNT[task_name]
        )
    if index is not None:
        raise ValueError(f"task {task_name!r} takes no `index`.")
    return None


def _as_list(values, name: str) -> list:
    if isinstance(values, np.ndarray):
        return values.tolist()
    if isinstance(values, str | bytes) or not hasattr(values, "__iter__"):
        raise TypeError(
            f"`{name}` must be a sequence of items; got {type(values).__name__}."
        )
    return [v.item() if isinstance(v, np.generic) else v for v in values]


def _as_pattern(p):
    """A list (a permutation written as a list) as a tuple; others unchanged."""
    if isinstance(p, list | np.ndarray):
        return tuple(int(v) for v in np.asarray(p).ravel())
    if isinstance(p, np.integer):
        return int(p)
    return p


def _known(p, checked: set) -> bool:
    """Whether `p` is in `checked` (False for an unhashable `p`)."""
    try:
        return p in checked
    except TypeError:
        return False


def _is_pattern(task_name: str, n: int, p) -> bool:
    """Whether `p` is a well-formed pattern of the task at `n`."""
    if task_name in _PERMUTATION:
        return (
            isinstance(p, tuple)
            and len(p) == n
            and all(isinstance(v, int) and not isinstance(v, bool) for v in p)
            and sorted(p) == list(range(n))
        )
    if isinstance(p, bool) or not isinstance(p, int):
        return False
    low, high = _edit_range(task_name, n)
    return low <= p <= high


def _edit_range(task_name: str, n: int) -> tuple[int, int]:
    """The range of an edit task's patterns (offsets for the indexed ones)."""
    kind = _EDIT[task_name]
    top = n if kind == "insert" else n - 1  # the largest position
    if task_name in _INDEX_COUNT:
        return -top, top
    return 0, top


def _num_patterns(task_name: str, n: int) -> int:
    if task_name in _PERMUTATION:
        return math.factorial(n)
    low, high = _edit_range(task_name, n)
    return high - low + 1


def _pattern_form(task_name: str, n: int) -> str:
    if task_name in _PERMUTATION:
        return f"a tuple permutation of 0..{n - 1}"
    low, high = _edit_range(task_name, n)
    return f"an integer in [{low}, {high}]"
