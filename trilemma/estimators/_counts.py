r"""Histograms of samples: the distinct (prompt, output) cells and their counts.

Every estimator reads a sample set through its histogram. `histogram` groups the
rows $(x_n, y_n)$ by one jitted sort over their mixed-radix keys (the rows' own
columns when the key space passes 63 bits) and counts each run with a segment sum:
the grouping `trilemma._kernels.group_sums` does for exact laws (`sorted_segments`).
Past `chunk` rows, each block of `chunk` rows is histogrammed alone and the blocks'
cells are merged by one more sort, weighted by their counts, so the memory of the
sort follows `chunk` and the number of cells, not the number of samples. Cells
come out sorted by prompt, then by output, so the cells of one prompt are
contiguous.
"""

from __future__ import annotations

import functools
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from .. import _checks
from .._kernels import sorted_segments

DEFAULT_CHUNK = 2**21
"""Rows `histogram` sorts at once (a few hundred MB of temporaries at 16 tokens)."""


class Histogram(NamedTuple):
    r"""The cells of a sample set.

    Attributes:
      prompt: `(G,)` the prompt index of each cell, in $[0, P)$.
      outcome: `(G, L)` the cell's output tokens.
      count: `(G,)` how many samples fell in the cell ($\ge 1$).
      prompt_ids: `(P,)` the prompt id of each prompt index (sorted).
      totals: `(P,)` samples per prompt.
    """

    prompt: np.ndarray
    outcome: np.ndarray
    count: np.ndarray
    prompt_ids: np.ndarray
    totals: np.ndarray

    @property
    def num_prompts(self) -> int:
        """$P$."""
        return len(self.prompt_ids)

    @property
    def distinct(self) -> np.ndarray:
        """`(P,)` distinct outputs seen per prompt."""
        return np.bincount(self.prompt, minlength=self.num_prompts)


def histogram(prompt_ids, outputs, *, chunk: int | None = DEFAULT_CHUNK) -> Histogram:
    """The histogram of samples `(prompt_ids (N,), outputs (N, L))`.

    Args:
      prompt_ids: `(N,)` non-negative integer prompt ids.
      outputs: `(N, L)` non-negative integer output tokens.
      chunk: rows sorted at once; past it, blocks of `chunk` rows are histogrammed
        one at a time and their cells merged (the same histogram, in bounded
        memory: the merge holds every block's cells, fewest when a prompt's rows
        are contiguous). None sorts all rows at once.
    """
    prompt_ids = np.asarray(prompt_ids)
    outputs = np.asarray(outputs)
    _checks.check_shape(prompt_ids, "prompt_ids", ("num_samples",))
    _checks.check_shape(outputs, "outputs", (len(prompt_ids), "output_length"))
    _checks.check_integer_dtype(prompt_ids, "prompt_ids")
    _checks.check_integer_dtype(outputs, "outputs")
    num = len(prompt_ids)
    size = num if chunk is None else _checks.check_int(chunk, "chunk", minimum=1)
    if num == 0:
        raise ValueError("`samples` is empty: there is nothing to estimate from")
    if prompt_ids.min() < 0 or outputs.min(initial=0) < 0:
        raise ValueError("prompt ids and output tokens must be non-negative")
    ids = _distinct(prompt_ids)
    radices = (len(ids), *(int(r) for r in outputs.max(axis=0, initial=0) + 1))
    dtype = _column_dtype(max(radices) - 1)
    size = min(size, num)
    parts = []
    for start in range(0, num, size):
        block = slice(start, start + size)
        columns = np.empty((len(prompt_ids[block]), len(radices)), dtype)
        columns[:, 0] = np.searchsorted(ids, prompt_ids[block])
        columns[:, 1:] = outputs[block]
        parts.append(_merge(columns, np.ones(len(columns), np.int64), radices, size))
    rows, count = parts[0]
    if len(parts) > 1:
        rows, count = _merge(
            np.concatenate([r for r, _ in parts]),
            np.concatenate([c for _, c in parts]),
            radices,
            size,
        )
    prompt = rows[:, 0].astype(np.int64)
    return Histogram(
        prompt=prompt,
        outcome=rows[:, 1:].astype(np.int64),
        count=count.astype(np.int64),
        prompt_ids=ids.astype(np.int64),
        totals=np.bincount(prompt, count, minlength=len(ids)).astype(np.int64),
    )


def _distinct(values: np.ndarray) -> np.ndarray:
    """The sorted distinct values of non-negative integers (in their dtype).

    A presence table when their range is at most a few times their number (one pass),
    else `np.unique` (a sort).
    """
    top = int(values.max())
    if top > 4 * len(values) + 4096:
        return np.unique(values)
    present = np.zeros(top + 1, bool)
    present[values] = True
    return np.flatnonzero(present).astype(values.dtype)


def _column_dtype(largest: int):
    """The smallest signed integer dtype that holds every value up to `largest`."""
    for dtype in (np.int8, np.int16, np.int32):
        if largest <= np.iinfo(dtype).max:
            return dtype
    return np.int64


def _merge(columns, weights, radices: tuple[int, ...], multiple: int):
    """The distinct rows of `columns` (sorted) and the sum of `weights` over each.

    Rows are padded to a multiple of `multiple` with weight-0 copies of the last row
    (which add nothing to its cell), so blocks of one size share one compiled sort.
    """
    rows = len(columns)
    extra = -rows % multiple
    if extra:
        columns = np.concatenate([columns, np.repeat(columns[-1:], extra, axis=0)])
        weights = np.concatenate([weights, np.zeros(extra, weights.dtype)])
    first, count = _cells(jnp.asarray(columns), jnp.asarray(weights), radices)
    first, count = np.asarray(first), np.asarray(count)
    used = count > 0
    return columns[first[used]], count[used]


@functools.partial(jax.jit, static_argnames=("radices",))
def _cells(columns, weights, radices: tuple[int, ...]):
    """`(first row of each cell, its weight)`, padded to N slots with weight 0."""
    rows = columns.shape[0]
    cols = [columns[:, i] for i in range(columns.shape[1])]
    order, segment = sorted_segments(cols, radices)
    count = jax.ops.segment_sum(
        weights[order], segment, num_segments=rows, indices_are_sorted=True
    )
    first = jax.ops.segment_min(
        order, segment, num_segments=rows, indices_are_sorted=True
    )
    return first, count
