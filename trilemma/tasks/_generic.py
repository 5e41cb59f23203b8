r"""Seeded random families for property tests: a dense random joint and a Markov chain.

Prompt $i$ is the one-token row `(i,)`; each prompt draws its own $p^*(\cdot|x)$ from
`np.random.default_rng(seed)`, in prompt order, so a task is a pure function of its
arguments. Graders accept exactly the support.
"""

from __future__ import annotations

import math

import numpy as np

from .. import _checks
from ._base import Task, build_joint, check_options, list_entropy, size, support_grader


def random_joint(
    n: int | None = None,
    *,
    num_prompts: int = 1,
    max_bytes: int | None = None,
    vocab: int = 3,
    seed: int = 0,
    zeros: float = 0.3,
    **options,
) -> Task:
    r"""A seeded random p*(Y|X) on vocab^n outputs with a fraction of zero cells.

    For each prompt, $p^*(\cdot|x)$ is drawn from a flat Dirichlet over the
    `vocab ** n` outputs, then `floor(zeros * vocab ** n)` cells chosen uniformly
    (at most all but one) are set to 0 and the rest renormalised. No closed form.

    Args:
      n: number of output positions (default 3).
      num_prompts: number of prompts, each with its own draw.
      max_bytes: memory budget override.
      vocab: alphabet size of every output position.
      seed: seed of `np.random.default_rng`.
      zeros: fraction of zeroed cells, in [0, 1).
      **options: rejected (a `ValueError` names them).

    Returns:
      The `Task`.
    """
    check_options("random_joint", options, ("vocab", "seed", "zeros"))
    n = size(n, 3)
    vocab, seed, zeros = _check_family(vocab, seed, zeros)
    num_prompts = _checks.check_int(num_prompts, "num_prompts", minimum=1)
    cells = _checks.power(vocab, n)
    _check_dense(num_prompts, cells, n, max_bytes)
    num_zero = min(math.floor(zeros * cells), cells - 1)
    rng = np.random.default_rng(seed)

    def outputs(prompt):
        p = rng.dirichlet(np.ones(cells))
        p[rng.choice(cells, num_zero, replace=False)] = 0.0
        return _support(p / p.sum(), vocab, n)

    prompts = np.arange(num_prompts)[:, None]
    joint = build_joint(
        prompts,
        outputs,
        (vocab,) * n,
        num_rows=num_prompts * (cells - num_zero),
        max_bytes=max_bytes,
    )
    return Task(
        "random_joint", n, prompts, joint, grader=support_grader(prompts, joint)
    )


def markov_chain(
    n: int | None = None,
    *,
    num_prompts: int = 1,
    max_bytes: int | None = None,
    vocab: int = 3,
    seed: int = 0,
    zeros: float = 0.3,
    **options,
) -> Task:
    r"""A seeded Markov chain p*(y) = p(y_1) prod_t T_t(y_t, y_{t+1}) with zero moves.

    For each prompt, the initial law and the $n - 1$ transition matrices $T_t$ have
    flat Dirichlet rows; each entry is then zeroed with probability `zeros` (every
    row keeps its largest entry) and rows are renormalised.

    Closed form (derived): for a Markov chain $H(Y) = H(Y_1) + \sum_t H(Y_{t+1}|Y_t)$,
    so $C(Y|X) = E_X\sum_{t=1}^{n-1} I(Y_t; Y_{t+1})$, computed from the chain's
    parameters (marginals $m_{t+1} = m_t T_t$) without enumerating outputs.

    Args:
      n: number of positions (default 4).
      num_prompts: number of prompts, each with its own chain.
      max_bytes: memory budget override.
      vocab: alphabet size of every position.
      seed: seed of `np.random.default_rng`.
      zeros: probability that an initial or transition entry is zeroed, in [0, 1).
      **options: rejected (a `ValueError` names them).

    Returns:
      The `Task`.
    """
    check_options("markov_chain", options, ("vocab", "seed", "zeros"))
    n = size(n, 4)
    vocab, seed, zeros = _check_family(vocab, seed, zeros)
    num_prompts = _checks.check_int(num_prompts, "num_prompts", minimum=1)
    cells = _checks.power(vocab, n)
    _check_dense(num_prompts, cells, n, max_bytes)
    rng = np.random.default_rng(seed)
    chains = []
    for _ in range(num_prompts):
        initial = _sparse_rows(rng, 1, vocab, zeros)[0]
        moves = [_sparse_rows(rng, vocab, vocab, zeros) for _ in range(n - 1)]
        chains.append((initial, moves))

    def outputs(prompt):
        initial, moves = chains[int(prompt[0])]
        p = initial  # flat over vocab^t prefixes, last token fastest (no n-d array)
        for move in moves:
            p = (p.reshape(-1, vocab, 1) * move[None]).ravel()
        return _support(p, vocab, n)

    prompts = np.arange(num_prompts)[:, None]
    joint = build_joint(
        prompts,
        outputs,
        (vocab,) * n,
        num_rows=num_prompts * cells,
        max_bytes=max_bytes,
    )
    closed = math.fsum(_chain_total_correlation(*c) for c in chains) / num_prompts
    return Task(
        "markov_chain",
        n,
        prompts,
        joint,
        closed,
        "derived (sum of I(Y_t; Y_t+1) of the chain)",
        support_grader(prompts, joint),
    )


def _check_family(vocab, seed, zeros):
    vocab = _checks.check_int(vocab, "vocab", minimum=1)
    seed = _checks.check_int(seed, "seed", minimum=0)
    zeros = _checks.check_real(zeros, "zeros", low=0.0, high=1.0, high_open=True)
    return vocab, seed, zeros


def _check_dense(num_prompts, cells, n, max_bytes):
    """Refuse the dense tables over the memory budget before drawing them.

    Per cell: the float64 pmf and a copy, the indices of its nonzero cells and their n
    int64 coordinates (twice, as `unravel_index` output and stacked), then the joint's
    row of n + 1 tokens.
    """
    _checks.check_memory(
        num_prompts * cells * (8 * (4 + 2 * n) + n + 1),
        f"{_checks.format_count(num_prompts)} dense table(s) of "
        f"{_checks.format_count(cells)} outputs",
        max_bytes,
    )


def _support(p, vocab, n):
    """(rows, probs) of the nonzero cells of a flat pmf over vocab^n outputs.

    The digits of each cell index in base `vocab` are its tokens (first token most
    significant), computed directly rather than by `np.unravel_index`, which is
    limited to 64 dimensions.
    """
    keep = np.flatnonzero(p)
    weights = vocab ** np.arange(n - 1, -1, -1, dtype=np.int64)  # vocab^n < 2^63
    rows = keep[:, None] // weights[None, :] % vocab
    return rows, p[keep]


def _sparse_rows(rng, num_rows, vocab, zeros):
    """Dirichlet rows with entries zeroed w.p. `zeros`, each keeping its largest."""
    rows = rng.dirichlet(np.ones(vocab), size=num_rows)
    drop = rng.random((num_rows, vocab)) < zeros
    drop[np.arange(num_rows), np.argmax(rows, axis=1)] = False
    rows = np.where(drop, 0.0, rows)
    return rows / rows.sum(axis=1, keepdims=True)


def _chain_total_correlation(initial, moves) -> float:
    """sum_t I(Y_t; Y_{t+1}) in nats for a chain with these parameters."""
    total, marginal = [], initial
    for move in moves:
        after = marginal @ move
        conditional = math.fsum(
            m * list_entropy(row) for m, row in zip(marginal, move, strict=True)
        )
        total.append(list_entropy(after) - conditional)
        marginal = after
    return math.fsum(total)
