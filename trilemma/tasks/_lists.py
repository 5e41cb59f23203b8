r"""ParallelBench's ten Waiting Line tasks, on abstract tokens (ParallelBench §4.1-4.2).

Items are the tokens $0..n-1$ and the new person $W$ (ParallelBench's replacement or
inserted name; the reference's $F$) is token $n$. The prompt $X$ is the input list: a
rotation $(r, r+1, \dots) \bmod n$ of $0..n-1$, uniform over `num_prompts` rotations
(every quantity here is invariant under relabelling the items, so one prompt is the
default). The `*_index` tasks append the 0-based position to the prompt row
(`prompts[i] = (list..., index)`) and the prompt law is uniform over every rotation and
every valid index. The joint's first variable is the prompt's row in `Task.prompts`.

Graders are the v1 scoring rules of ParallelBench (`dataset/parallel_bench/metrics.py`
at commit 72de8f7) applied to token lists instead of parsed name lists; with fixed
output lengths the parsing steps are moot. For every task the accepted outputs are
exactly the support of $p^*(\cdot|x)$, except `shuffle`, whose data law includes the
identity the grader rejects (reference §2.7).
"""

from __future__ import annotations

import math

import numpy as np

from .. import _checks
from ._base import (
    Task,
    build_joint,
    check_grader_args,
    check_options,
    size,
)

WAITING_LINE = (
    "copy",
    "sort",
    "reverse",
    "shuffle_distinct",
    "insert_index",
    "insert_random",
    "remove_index",
    "remove_random",
    "replace_index",
    "replace_random",
)
"""ParallelBench's ten Waiting Line tasks in the paper's order (registry names)."""

DEFAULT_N = 4
"""Default list length (ParallelBench uses n in {3, 4, 5, 6})."""


def permutations(n: int) -> np.ndarray:
    """All n! permutations of 0..n-1 in lexicographic order, as an (n!, n) array."""
    perms = np.zeros((1, 0), dtype=np.int32)
    for m in range(1, n + 1):
        # Extend permutations of m - 1 items by a first item f, shifting values >= f.
        blocks = [
            np.concatenate(
                [np.full((len(perms), 1), f, np.int32), perms + (perms >= f)], axis=1
            )
            for f in range(m)
        ]
        perms = np.concatenate(blocks, axis=0)
    return perms


# --------------------------------------------------------------------------------------
# Builders: deterministic tasks (C(Y|X) = 0).


def copy(
    n: int | None = None,
    *,
    num_prompts: int = 1,
    max_bytes: int | None = None,
    **options,
) -> Task:
    """Copy the list: Y = X, so C(Y|X) = 0."""
    check_options("copy", options)
    n = size(n, DEFAULT_N)
    return _deterministic("copy", n, num_prompts, max_bytes, lambda x: x)


def sort(
    n: int | None = None,
    *,
    num_prompts: int = 1,
    max_bytes: int | None = None,
    **options,
) -> Task:
    """Sort the list (ascending tokens, the reference's whole-string sort): C = 0.

    ParallelBench asks for a sort "by last name" but its reference sorts whole
    strings, i.e. by first name (reference §4.5); on abstract tokens both are the
    ascending token order, which is what the grader matches exactly.
    """
    check_options("sort", options)
    n = size(n, DEFAULT_N)
    return _deterministic("sort", n, num_prompts, max_bytes, lambda x: np.sort(x, 1))


def reverse(
    n: int | None = None,
    *,
    num_prompts: int = 1,
    max_bytes: int | None = None,
    **options,
) -> Task:
    """Reverse the list: C(Y|X) = 0."""
    check_options("reverse", options)
    n = size(n, DEFAULT_N)
    return _deterministic("reverse", n, num_prompts, max_bytes, lambda x: x[:, ::-1])


def insert_index(
    n: int | None = None,
    *,
    num_prompts: int = 1,
    max_bytes: int | None = None,
    **options,
) -> Task:
    """W joins the line at a given 0-based position i in [0, n] (n+1 outputs): C = 0."""
    check_options("insert_index", options)
    n = size(n, DEFAULT_N)
    return _deterministic(
        "insert_index",
        n,
        num_prompts,
        max_bytes,
        lambda x, i: _insert(x, i, n),
        num_indices=n + 1,
        length=n + 1,
        alphabet=n + 1,
    )


def remove_index(
    n: int | None = None,
    *,
    num_prompts: int = 1,
    max_bytes: int | None = None,
    **options,
) -> Task:
    """The person at a given 0-based position i leaves (n-1 outputs): C(Y|X) = 0."""
    check_options("remove_index", options)
    n = size(n, DEFAULT_N, minimum=2)
    return _deterministic(
        "remove_index",
        n,
        num_prompts,
        max_bytes,
        _remove,
        num_indices=n,
        length=n - 1,
        alphabet=n,
    )


def replace_index(
    n: int | None = None,
    *,
    num_prompts: int = 1,
    max_bytes: int | None = None,
    **options,
) -> Task:
    """The person at a given 0-based position i becomes W: C(Y|X) = 0."""
    check_options("replace_index", options)
    n = size(n, DEFAULT_N)
    return _deterministic(
        "replace_index",
        n,
        num_prompts,
        max_bytes,
        lambda x, i: _replace(x, i, n),
        num_indices=n,
        length=n,
        alphabet=n + 1,
    )


# --------------------------------------------------------------------------------------
# Builders: random tasks.


def insert_random(
    n: int | None = None,
    *,
    num_prompts: int = 1,
    max_bytes: int | None = None,
    **options,
) -> Task:
    r"""W joins at a uniformly random position (n+1 outputs of length n+1).

    Closed form (derived). With $J$ uniform on $0..n$, $H(Y|X) = \log_2(n+1)$ and
    output position $i$ holds $x_{i-1}$, $W$ or $x_i$ with probabilities
    $i/(n+1)$, $1/(n+1)$, $(n-i)/(n+1)$, so $\sum_i H(y_i|X) = (n+1)\log_2(n+1) -
    \frac{2}{n+1}\sum_{k=1}^{n} k\log_2 k$ and
    $$C(Y|X) = n\log_2(n+1) - \frac{2}{n+1}\sum_{k=1}^{n} k\log_2 k$$
    (1 bit at n = 1, 2.6226 bits at n = 3; grows like $\tfrac{n}{2}\log_2 e$).

    Grader (ParallelBench): remove the first W (fail if there is none); the rest must
    equal the input.
    """
    check_options("insert_random", options)
    n = size(n, DEFAULT_N)
    num_prompts = _check_size(
        "insert_random", n, num_prompts, max_bytes, rows=n + 1, length=n + 1, tables=5
    )
    prompts = _prompts(n, num_prompts)
    every = np.arange(n + 1)
    uniform = np.full(n + 1, 1.0 / (n + 1))

    def outputs(x):
        return _insert(np.tile(x, (n + 1, 1)), every, n), uniform

    joint = build_joint(
        prompts,
        outputs,
        (n + 1,) * (n + 1),
        num_rows=len(prompts) * (n + 1),
        max_bytes=max_bytes,
    )

    def grader(prompt_rows, output_rows):
        y = check_grader_args(prompt_rows, output_rows, n, n + 1)
        has, first = _first(y, n)
        return has & (y == _insert(np.asarray(prompt_rows), first, n)).all(axis=1)

    closed = n * math.log(n + 1) - 2 / (n + 1) * _sum_k_log_k(n)
    return _task("insert_random", n, prompts, joint, closed, "derived", grader)


def remove_random(
    n: int | None = None,
    *,
    num_prompts: int = 1,
    max_bytes: int | None = None,
    **options,
) -> Task:
    r"""A uniformly random person leaves (n outputs of length n-1).

    Closed form (derived). With $J$ uniform on $0..n-1$, $H(Y|X) = \log_2 n$ and
    output position $i$ holds $x_{i+1}$ or $x_i$ with probabilities $(i+1)/n$ and
    $(n-1-i)/n$, so
    $$C(Y|X) = (n-2)\log_2 n - \frac{2}{n}\sum_{k=1}^{n-1} k\log_2 k$$
    (0 at n = 2, 0.2516 bits at n = 3; grows like $\tfrac{n}{2}\log_2 e$). Note
    $C_{\rm insert}(n) = C_{\rm remove}(n+1) + \log_2(n+1)$.

    Grader (ParallelBench): length n-1 (fixed here), exactly one input item missing
    (`set(x) - set(y)` has one element), and the output equals the input without it.
    """
    check_options("remove_random", options)
    n = size(n, DEFAULT_N, minimum=2)
    num_prompts = _check_size(
        "remove_random", n, num_prompts, max_bytes, rows=n, length=n - 1, tables=3
    )
    prompts = _prompts(n, num_prompts)
    every = np.arange(n)
    uniform = np.full(n, 1.0 / n)

    def outputs(x):
        return _remove(np.tile(x, (n, 1)), every), uniform

    joint = build_joint(
        prompts,
        outputs,
        (n,) * (n - 1),
        num_rows=len(prompts) * n,
        max_bytes=max_bytes,
    )

    def grader(prompt_rows, output_rows):
        y = check_grader_args(prompt_rows, output_rows, n, n - 1)
        x = np.asarray(prompt_rows)
        present = (y[:, None, :] == x[:, :, None]).any(axis=2)  # (N, n): x_k in y
        one_missing = (~present).sum(axis=1) == 1
        missing = np.argmin(present, axis=1)
        return one_missing & (y == _remove(x, missing)).all(axis=1)

    closed = (n - 2) * math.log(n) - 2 / n * _sum_k_log_k(n - 1)
    return _task("remove_random", n, prompts, joint, closed, "derived", grader)


def replace_random(
    n: int | None = None,
    *,
    num_prompts: int = 1,
    max_bytes: int | None = None,
    **options,
) -> Task:
    """Replace a uniformly random item by W: C(Y|X) = (n-1)(log2 n - log2(n-1)) bits.

    Grader (ParallelBench): j = first index of W (fail if none); the input with
    `x[j] = W` must equal the output.
    """
    check_options("replace_random", options)
    n = size(n, DEFAULT_N)
    num_prompts = _check_size(
        "replace_random", n, num_prompts, max_bytes, rows=n, length=n, tables=2
    )
    prompts = _prompts(n, num_prompts)
    uniform = np.full(n, 1.0 / n)

    def outputs(x):
        return _replace(np.tile(x, (n, 1)), np.arange(n), n), uniform

    joint = build_joint(
        prompts,
        outputs,
        (n + 1,) * n,
        num_rows=len(prompts) * n,
        max_bytes=max_bytes,
    )

    def grader(prompt_rows, output_rows):
        y = check_grader_args(prompt_rows, output_rows, n, n)
        has, first = _first(y, n)
        return has & (y == _replace(np.asarray(prompt_rows), first, n)).all(axis=1)

    closed = 0.0 if n == 1 else (n - 1) * (math.log(n) - math.log(n - 1))
    return _task(
        "replace_random", n, prompts, joint, closed, "ParallelBench Eq. (3)", grader
    )


def shuffle(
    n: int | None = None,
    *,
    num_prompts: int = 1,
    max_bytes: int | None = None,
    **options,
) -> Task:
    """Any of the n! permutations (identity too): C(Y|X) = n log2 n - log2 n! bits.

    This is the paper's theoretical law (§4.1, Eq. (4)). The grader is ParallelBench's
    Shuffle rule (same multiset and different from the input), so it rejects the
    identity, which carries 1/n! of the mass: an ideal sampler scores 1 - 1/n!
    (reference §2.7). `shuffle_distinct` is the law the grader matches.
    """
    check_options("shuffle", options)
    n = size(n, DEFAULT_N)
    num_prompts = _check_perm_size("shuffle", n, num_prompts, max_bytes)
    perms = permutations(n)
    closed = n * math.log(n) - math.log(math.factorial(n))
    return _shuffle_task("shuffle", n, perms, num_prompts, max_bytes, closed, None)


def shuffle_distinct(
    n: int | None = None,
    *,
    num_prompts: int = 1,
    max_bytes: int | None = None,
    **options,
) -> Task:
    r"""Any permutation but the input, uniformly (ParallelBench's Shuffle task).

    Closed form (derived): with $N = n!$, $P(y_i = x_i) = ((n-1)!-1)/(N-1)$ and
    $P(y_i = x_j) = (n-1)!/(N-1)$ for each $j \ne i$, so
    $C = n\,H(\text{marginal}) - \log_2(N-1)$.

    Grader (ParallelBench): same multiset as the input and different from it.
    """
    check_options("shuffle_distinct", options)
    n = size(n, DEFAULT_N, minimum=2)
    num_prompts = _check_perm_size("shuffle_distinct", n, num_prompts, max_bytes)
    perms = permutations(n)[1:]  # lexicographic order puts the identity first
    big = math.factorial(n)
    same = (math.factorial(n - 1) - 1) / (big - 1)
    other = math.factorial(n - 1) / (big - 1)
    marginal = -sum(p * math.log(p) for p in [same] + [other] * (n - 1) if p > 0)
    closed = n * marginal - math.log(big - 1)
    return _shuffle_task(
        "shuffle_distinct",
        n,
        perms,
        num_prompts,
        max_bytes,
        closed,
        "derived (paper_notes.md)",
    )


# --------------------------------------------------------------------------------------
# Shared pieces.


def _deterministic(
    name,
    n,
    num_prompts,
    max_bytes,
    reference,
    *,
    num_indices=None,
    length=None,
    alphabet=None,
):
    """A task whose output is a function of the prompt (C = 0, exact-match grader)."""
    length = n if length is None else length
    alphabet = n if alphabet is None else alphabet
    num_prompts = _check_size(
        name,
        n,
        num_prompts,
        max_bytes,
        rows=1,
        length=length,
        tables=1,
        indices=num_indices or 1,
    )
    if num_indices is None:
        prompts = _prompts(n, num_prompts)

        def target(rows):
            return reference(rows)
    else:
        prompts = _index_prompts(n, num_prompts, num_indices)

        def target(rows):
            return reference(rows[:, :n], rows[:, n])

    one = np.ones(1)
    joint = build_joint(
        prompts,
        lambda prompt: (target(prompt[None, :]), one),
        (alphabet,) * length,
        num_rows=len(prompts),
        max_bytes=max_bytes,
    )
    width = prompts.shape[1]

    def grader(prompt_rows, output_rows):
        y = check_grader_args(prompt_rows, output_rows, width, length)
        return (y == target(np.asarray(prompt_rows))).all(axis=1)

    return _task(name, n, prompts, joint, 0.0, "ParallelBench §4.1", grader)


def _shuffle_task(name, n, perms, num_prompts, max_bytes, closed, source):
    prompts = _prompts(n, num_prompts)
    uniform = np.full(len(perms), 1.0 / len(perms))
    joint = build_joint(
        prompts,
        lambda x: (x[perms], uniform),
        (n,) * n,
        num_rows=len(prompts) * len(perms),
        max_bytes=max_bytes,
    )

    def grader(prompt_rows, output_rows):
        y = check_grader_args(prompt_rows, output_rows, n, n)
        x = np.asarray(prompt_rows)
        same_items = (np.sort(y, axis=1) == np.sort(x, axis=1)).all(axis=1)
        return same_items & (y != x).any(axis=1)

    return _task(
        name, n, prompts, joint, closed, source or "ParallelBench Eq. (4)", grader
    )


def _check_size(
    name, n, num_prompts, max_bytes, *, rows, length, tables, indices=1, perms=0
) -> int:
    """Validate `num_prompts`; refuse the task over the memory budget before building.

    One estimate of the peak bytes of the whole build, counting every value as int64
    (an upper bound): the prompt table (`num_prompts * indices` rows) with its two
    temporaries; `tables` int64 tables of one prompt's `rows` outputs of `length`
    tokens; the joint's outcomes and probabilities with their device copies; and for
    permutation tasks the `perms` x n permutation table (int32, built with two
    temporaries) and its int64 image.

    Returns:
      `num_prompts`, validated (at most n).
    """
    num_prompts = _checks.check_int(num_prompts, "num_prompts", minimum=1, maximum=n)
    prompts, width = num_prompts * indices, n + (indices > 1)
    outcomes = prompts * rows
    nbytes = (
        3 * prompts * width * 8
        + tables * rows * (length + 1) * 8
        + 2 * outcomes * (length + 2) * 8
        + perms * n * (3 * 4 + 8)
    )
    what = (
        f"task {name!r} with {_count(prompts, 'prompt')} of {_count(width, 'token')} "
        f"and {_count(outcomes, 'outcome')} of {_count(length, 'token')}"
    )
    _checks.check_memory(nbytes, what, max_bytes)
    return num_prompts


def _count(count: int, noun: str) -> str:
    return f"{_checks.format_count(count)} {noun}{'' if count == 1 else 's'}"


def _prompts(n: int, num_prompts: int) -> np.ndarray:
    """`num_prompts` rotations of 0..n-1, as a `(num_prompts, n)` table."""
    return (np.arange(num_prompts)[:, None] + np.arange(n)[None, :]) % n


def _index_prompts(n: int, num_prompts: int, num_indices: int):
    """Every (rotation, index) pair: rows `(list..., index)`, rotation-major."""
    lists = _prompts(n, num_prompts)
    return np.concatenate(
        [
            np.repeat(lists, num_indices, axis=0),
            np.tile(np.arange(num_indices), num_prompts)[:, None],
        ],
        axis=1,
    )


def _check_perm_size(name: str, n: int, num_prompts: int, max_bytes) -> int:
    """`_check_size` for the n! outputs per prompt of the shuffle tasks."""
    perms = _checks.factorial(n)  # saturated: 21! and above are refused unevaluated
    return _check_size(
        name, n, num_prompts, max_bytes, rows=perms, length=n, tables=1, perms=perms
    )


def _insert(x, index, item):
    """Rows of `x` `(N, n)` with `item` inserted before position `index` `(N,)`."""
    x = np.asarray(x)
    n = x.shape[1]
    j = np.arange(n + 1)[None, :]
    i = np.asarray(index)[:, None]
    left = x[:, np.minimum(np.arange(n + 1), n - 1)]
    right = x[:, np.maximum(np.arange(n + 1) - 1, 0)]
    return np.where(j < i, left, np.where(j == i, item, right))


def _remove(x, index):
    """Rows of `x` `(N, n)` without the item at position `index` `(N,)`."""
    x = np.asarray(x)
    j = np.arange(x.shape[1] - 1)[None, :]
    return np.where(j < np.asarray(index)[:, None], x[:, :-1], x[:, 1:])


def _replace(x, index, item):
    """Rows of `x` `(N, n)` with the item at position `index` `(N,)` set to `item`."""
    x = np.array(x, copy=True)
    x[np.arange(len(x)), np.asarray(index)] = item
    return x


def _first(y, item):
    """(whether each row of `y` holds `item`, index of its first occurrence or 0)."""
    hit = y == item
    return hit.any(axis=1), np.argmax(hit, axis=1)


def _sum_k_log_k(m: int) -> float:
    """sum_{k=1}^{m} k log k (the log of the hyperfactorial of m)."""
    return math.fsum(k * math.log(k) for k in range(2, m + 1))


def _task(name, n, prompts, joint, closed, source, grader) -> Task:
    return Task(name, n, prompts, joint, closed + 0.0, source, grader)
