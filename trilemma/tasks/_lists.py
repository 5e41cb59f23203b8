r"""Waiting-line list tasks with closed-form $C(Y|X)$ (ParallelBench §4.1).

Items are abstract tokens $0..n-1$; the replacement item $F$ is token $n$. The prompt
$X$ is the input list; `num_prompts` rotations $(i, i+1, \dots) \bmod n$ give a
uniform prompt law (every quantity here is invariant under relabelling items, so one
prompt is the default). The joint's first variable is the prompt's index in
`Task.prompts`.
"""

from __future__ import annotations

import math

import numpy as np

from .. import _checks
from ._base import Task, build_joint


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


def _prompts(n: int, num_prompts: int) -> np.ndarray:
    _checks.check_positive_int(num_prompts, "num_prompts", maximum=n)
    return (np.arange(num_prompts)[:, None] + np.arange(n)[None, :]) % n


def _check_perm_size(n: int, num_prompts: int, max_bytes):
    rows = math.factorial(n) * num_prompts
    _checks.check_memory(
        rows * (n + 9) + 2 * math.factorial(n) * n * 4,
        f"enumerating {rows:,} permutations of {n} items",
        max_bytes,
    )


def copy(n: int, *, num_prompts: int = 1, max_bytes: int | None = None) -> Task:
    """Copy the list: Y = X, so C(Y|X) = 0."""
    n = _checks.check_positive_int(n, "n")
    prompts = _prompts(n, num_prompts)
    joint = build_joint(prompts, lambda x: x[None, :], [1.0], (n,) * n, max_bytes)
    return _task("copy", n, prompts, joint, 0.0, "ParallelBench §4.1")


def replace_random(
    n: int, *, num_prompts: int = 1, max_bytes: int | None = None
) -> Task:
    """Replace a uniformly random item by F: C(Y|X) = (n-1)(log2 n - log2(n-1)) bits."""
    n = _checks.check_positive_int(n, "n")
    prompts = _prompts(n, num_prompts)

    def outputs(x):
        rows = np.tile(x, (n, 1))
        rows[np.arange(n), np.arange(n)] = n
        return rows

    closed = 0.0 if n == 1 else (n - 1) * (math.log2(n) - math.log2(n - 1))
    joint = build_joint(prompts, outputs, np.full(n, 1.0 / n), (n + 1,) * n, max_bytes)
    return _task("replace_random", n, prompts, joint, closed, "ParallelBench Eq. (3)")


def shuffle(n: int, *, num_prompts: int = 1, max_bytes: int | None = None) -> Task:
    """Any of the n! permutations (identity too): C(Y|X) = n log2 n - log2 n! bits."""
    n = _checks.check_positive_int(n, "n")
    _check_perm_size(n, num_prompts, max_bytes)
    perms = permutations(n)
    closed = n * math.log2(n) - math.log2(math.factorial(n))
    prompts = _prompts(n, num_prompts)
    uniform = np.full(len(perms), 1.0 / len(perms))
    joint = build_joint(prompts, lambda x: x[perms], uniform, (n,) * n, max_bytes)
    return _task("shuffle", n, prompts, joint, closed, "ParallelBench Eq. (4)")


def shuffle_distinct(
    n: int, *, num_prompts: int = 1, max_bytes: int | None = None
) -> Task:
    r"""Any permutation but the input (ParallelBench's grader), uniformly.

    Closed form (derived): with $N = n!$, $P(y_i = x_i) = ((n-1)!-1)/(N-1)$ and
    $P(y_i = x_j) = (n-1)!/(N-1)$ for each $j \ne i$, so
    $C = n\,H(\text{marginal}) - \log_2(N-1)$.
    """
    n = _checks.check_positive_int(n, "n", minimum=2)
    _check_perm_size(n, num_prompts, max_bytes)
    perms = permutations(n)[1:]  # lexicographic order puts the identity first
    big = math.factorial(n)
    same = (math.factorial(n - 1) - 1) / (big - 1)
    other = math.factorial(n - 1) / (big - 1)
    marginal = -sum(p * math.log2(p) for p in [same] + [other] * (n - 1) if p > 0)
    closed = n * marginal - math.log2(big - 1)
    prompts = _prompts(n, num_prompts)
    uniform = np.full(len(perms), 1.0 / len(perms))
    joint = build_joint(prompts, lambda x: x[perms], uniform, (n,) * n, max_bytes)
    return _task(
        "shuffle_distinct", n, prompts, joint, closed, "derived (paper_notes.md)"
    )


def _task(name, n, prompts, joint, closed, source) -> Task:
    return Task(name, n, prompts, joint, closed + 0.0, source)
