r"""Histograms of samples: the distinct (prompt, output) cells and their counts.

Every estimator reads a sample set through its histogram. `histogram` groups the
rows $(x_n, y_n)$ by one jitted sort over their mixed-radix keys (the rows' own
columns when the key space passes 63 bits) and counts each run with a segment sum:
the grouping `trilemma._kernels.group_sums` does for exact laws (`sorted_segments`).
Cells
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


def histogram(prompt_ids, outputs) -> Histogram:
    """The histogram of samples `(prompt_ids (N,), outputs (N, L))`.

    Args:
      prompt_ids: `(N,)` non-negative integer prompt ids.
      outputs: `(N, L)` non-negative integer output tokens.
    """
    prompt_ids = np.asarray(prompt_ids)
    outputs = np.asarray(outputs)
    _checks.check_shape(prompt_ids, "prompt_ids", ("num_samples",))
    _checks.check_shape(outputs, "outputs", (len(prompt_ids), "output_length"))
    _checks.check_integer_dtype(prompt_ids, "prompt_ids")
    _checks.check_integer_dtype(outputs, "outputs")
    if len(prompt_ids) == 0:
        raise ValueError("`samples` is empty: there is nothing to estimate from")
    if prompt_ids.min() < 0 or outputs.min(initial=0) < 0:
        raise ValueError("prompt ids and output tokens must be non-negative")
    ids, prompt = np.unique(prompt_ids, return_inverse=True)
    radices = [len(ids), *(int(r) for r in outputs.max(axis=0, initial=0) + 1)]
    columns = np.concatenate([prompt.reshape(-1, 1), outputs], axis=1)
    first, count = _cells(jnp.asarray(columns), tuple(radices))
    first, count = np.asarray(first), np.asarray(count)
    used = count > 0
    first, count = first[used], count[used]
    rows = columns[first]
    return Histogram(
        prompt=rows[:, 0].astype(np.int64),
        outcome=rows[:, 1:].astype(np.int64),
        count=count.astype(np.int64),
        prompt_ids=ids.astype(np.int64),
        totals=np.bincount(prompt, minlength=len(ids)).astype(np.int64),
    )


@functools.partial(jax.jit, static_argnames=("radices",))
def _cells(columns, radices: tuple[int, ...]):
    """`(first row of each cell, its count)`, padded to N slots with count 0."""
    rows = columns.shape[0]
    cols = [columns[:, i] for i in range(columns.shape[1])]
    order, segment = sorted_segments(cols, radices)
    count = jax.ops.segment_sum(
        jnp.ones(rows, jnp.int32), segment, num_segments=rows, indices_are_sorted=True
    )
    first = jax.ops.segment_min(
        order, segment, num_segments=rows, indices_are_sorted=True
    )
    return first, count
