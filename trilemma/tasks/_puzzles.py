r"""ParallelBench's two puzzles on abstract tokens: Latin Square and 4x4 Sudoku (§4.2).

Latin Square has many valid answers ($C(Y|X) > 0$) and Sudoku exactly one
($C(Y|X) = 0$); the paper contrasts them for that reason.
"""

from __future__ import annotations

import functools
import itertools
import math

import numpy as np

from .. import _checks
from ._base import Task, build_joint, check_grader_args, check_options, size
from ._lists import permutations

LATIN_SQUARE_COUNTS = {1: 1, 2: 2, 3: 12, 4: 576, 5: 161_280}
"""Number of Latin squares of order n (OEIS A002860)."""

LATIN_SQUARE_SIZES = (3, 4)
"""Orders the `latin_square` task offers (ParallelBench uses 4)."""

SUDOKU_GRID_COUNT = 288
"""Number of solved 4x4 Sudoku grids."""

SUDOKU_BLANK = 4
"""Prompt token for a blank Sudoku cell (the digits 1..4 are tokens 0..3)."""

SUDOKU_MAX_BLANKS = 12
"""Most blanks a 4x4 Sudoku with a unique solution can have (every puzzle needs at
least 4 givens); found by enumeration in `tests/test_task_library.py`."""

SUDOKU_SEED = 0
"""Seed of `np.random.default_rng` that orders the unique puzzles of each size."""


@functools.cache
def latin_squares(n: int) -> np.ndarray:
    """All Latin squares of order n in lexicographic order, as `(L(n), n*n)` rows.

    Built row by row: each new row is a permutation that repeats no symbol in any
    column of the rows above.
    """
    perms = permutations(n).astype(np.int8)
    squares = perms[:, None, :]
    for _ in range(1, n):
        clash = (squares[:, None, :, :] == perms[None, :, None, :]).any(axis=(2, 3))
        s, q = np.nonzero(~clash)
        squares = np.concatenate([squares[s], perms[q][:, None, :]], axis=1)
    squares = squares.reshape(len(squares), n * n)
    squares.flags.writeable = False  # cached: shared by every caller
    return squares


@functools.cache
def sudoku_grids() -> np.ndarray:
    """All 288 solved 4x4 Sudoku grids (digits as tokens 0..3), reading order rows.

    The Latin squares of order 4 whose four 2x2 boxes each hold every digit.
    """
    squares = latin_squares(4).reshape(-1, 4, 4)
    boxes = squares.reshape(-1, 2, 2, 2, 2).transpose(0, 1, 3, 2, 4).reshape(-1, 4, 4)
    ok = (np.sort(boxes, axis=2) == np.arange(4)).all(axis=(1, 2))
    grids = squares[ok].reshape(-1, 16)
    grids.flags.writeable = False  # cached: shared by every caller
    return grids


def unique_sudoku_puzzles(num_blanks: int, max_bytes=None) -> np.ndarray:
    """Every 4x4 Sudoku with `num_blanks` blanks and a unique solution.

    A puzzle is a solved grid with a set of blank cells; its solution is unique iff
    no other grid agrees with it on the givens. Puzzles are listed by blank set
    (combinations in lexicographic order), then by grid.

    Args:
      num_blanks: number of blank cells, 0..16.
      max_bytes: memory budget override.

    Returns:
      `(K, 16)` prompt rows with blanks as `SUDOKU_BLANK` (K may be 0).
    """
    num_masks = math.comb(16, num_blanks)
    _checks.check_memory(
        4 * SUDOKU_GRID_COUNT * num_masks * 8,
        f"checking {SUDOKU_GRID_COUNT * num_masks:,} Sudoku puzzles for uniqueness",
        max_bytes,
    )
    grids = sudoku_grids().astype(np.int64)
    blanks = np.zeros((num_masks, 16), bool)
    for m, cells in enumerate(itertools.combinations(range(16), num_blanks)):
        blanks[m, list(cells)] = True
    weights = np.where(blanks, 0, 4 ** np.arange(16, dtype=np.int64)).T  # (16, M)
    keys = grids @ weights  # (288, M): the givens of every (grid, blank set)
    order = np.argsort(keys, axis=0, kind="stable")
    ranked = np.take_along_axis(keys, order, axis=0)
    repeat = ranked[1:] == ranked[:-1]
    alone_sorted = np.ones_like(ranked, bool)
    alone_sorted[1:] &= ~repeat
    alone_sorted[:-1] &= ~repeat
    alone = np.empty_like(alone_sorted)
    np.put_along_axis(alone, order, alone_sorted, axis=0)
    mask_index, grid_index = np.nonzero(alone.T)
    puzzles = grids[grid_index].copy()
    puzzles[blanks[mask_index]] = SUDOKU_BLANK
    return puzzles


def latin_square(
    n: int | None = None,
    *,
    num_prompts: int = 1,
    max_bytes: int | None = None,
    **options,
) -> Task:
    r"""Fill an n x n Latin square over n symbols; any valid square is right.

    One prompt, the symbol set $(0, \dots, n-1)$; the outputs are the $n^2$ cells in
    reading order and $p^*$ is uniform over all $L(n)$ Latin squares (12 for n = 3,
    576 for n = 4). Relabelling symbols permutes the squares, so every cell is
    uniform over the n symbols and (derived)
    $$C(Y|X) = n^2\log_2 n - \log_2 L(n)$$
    (10.6797 bits for n = 3, 22.8301 bits for n = 4).

    Grader (ParallelBench): every row and every column holds each symbol once (the
    reference's set test on comma-split CSV lines; the parsing is moot on tokens).
    """
    check_options("latin_square", options)
    n = _checks.check_one_of(size(n, 4), "n", LATIN_SQUARE_SIZES)
    _checks.check_int(num_prompts, "num_prompts", minimum=1, maximum=1)
    count = LATIN_SQUARE_COUNTS[n]
    _checks.check_memory(
        count * n * n * 3, f"enumerating {count:,} Latin squares", max_bytes
    )
    squares = latin_squares(n)
    prompts = np.arange(n)[None, :]
    uniform = np.full(len(squares), 1.0 / len(squares))
    joint = build_joint(
        prompts,
        lambda x: (squares, uniform),
        (n,) * (n * n),
        num_rows=len(squares),
        max_bytes=max_bytes,
    )

    def grader(prompt_rows, output_rows):
        y = check_grader_args(prompt_rows, output_rows, n, n * n).reshape(-1, n, n)
        symbols = np.sort(np.asarray(prompt_rows), axis=1)[:, None, :]
        rows = (np.sort(y, axis=2) == symbols).all(axis=(1, 2))
        cols = (np.sort(y.transpose(0, 2, 1), axis=2) == symbols).all(axis=(1, 2))
        return rows & cols

    closed = n * n * math.log(n) - math.log(count)
    return Task(
        "latin_square",
        n,
        prompts,
        joint,
        closed,
        "derived (uniform cells by symbol relabelling)",
        grader,
    )


def sudoku(
    n: int | None = None,
    *,
    num_prompts: int = 1,
    max_bytes: int | None = None,
    **options,
) -> Task:
    """Solve a 4x4 Sudoku with n blanks and a unique solution: C(Y|X) = 0.

    Digits 1..4 are tokens 0..3. A prompt row is the 16 cells in reading order with
    blanks as token 4; the outputs are the n blank cells in reading order (the givens
    are fixed by the prompt, so they would add nothing to any information quantity;
    only the blanks are output variables). Prompts are `num_prompts` distinct
    puzzles drawn without replacement, in a fixed order (`np.random.default_rng(0)`),
    from all puzzles with exactly n blanks and a unique solution; the prompt law is
    uniform over them and $p^*(y|x)$ is the point mass on the solution
    (ParallelBench §4.2: C(Y|X) = 0).
    Unique puzzles exist for 1 <= n <= 12; ParallelBench's 108 puzzles have n = 4.

    Grader (ParallelBench): the filled grid equals the unique solution.
    """
    check_options("sudoku", options)
    # n blanks: a 4x4 Sudoku has a unique solution only with at least 4 givens
    n = _checks.check_int(
        4 if n is None else n, "n", minimum=1, maximum=SUDOKU_MAX_BLANKS
    )
    _checks.check_int(num_prompts, "num_prompts", minimum=1)
    puzzles = unique_sudoku_puzzles(n, max_bytes)
    num_prompts = _checks.check_int(
        num_prompts, "num_prompts", minimum=1, maximum=len(puzzles)
    )
    order = np.random.default_rng(SUDOKU_SEED).permutation(len(puzzles))
    prompts = puzzles[order[:num_prompts]]
    one = np.ones(1)

    joint = build_joint(
        prompts,
        lambda x: (_solve(x[None, :]), one),
        (4,) * n,
        num_rows=num_prompts,
        max_bytes=max_bytes,
    )

    def grader(prompt_rows, output_rows):
        y = check_grader_args(prompt_rows, output_rows, 16, n)
        rows, inverse = np.unique(np.asarray(prompt_rows), axis=0, return_inverse=True)
        blanks = (rows == SUDOKU_BLANK).sum(axis=1)
        allowed = f"a puzzle with {n} blanks (token {SUDOKU_BLANK}), as this task's"
        _checks.check_rows(blanks == n, rows, "prompts", allowed)
        return (y == _solve(rows)[inverse.ravel()]).all(axis=1)

    labels = (("1", "2", "3", "4"),) * n
    return Task("sudoku", n, prompts, joint, 0.0, "ParallelBench §4.2", grader, labels)


def _solve(puzzles) -> np.ndarray:
    """The blank cells (reading order) of the unique solution of each puzzle row.

    Raises `ValueError` if a puzzle has no solution or several.
    """
    puzzles = np.asarray(puzzles)
    grids = sudoku_grids()
    given = puzzles != SUDOKU_BLANK
    fits = ((grids[None] == puzzles[:, None]) | ~given[:, None]).all(axis=2)
    counts = fits.sum(axis=1)
    allowed = "a Sudoku with a unique solution (the pass rule needs one)"
    _checks.check_rows(counts == 1, puzzles, "prompts", allowed)
    full = grids[np.argmax(fits, axis=1)]
    return full[~given].reshape(len(puzzles), -1)
