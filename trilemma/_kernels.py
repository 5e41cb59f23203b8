r"""The few kernels every information quantity is built from.

Every Shannon quantity trilemma reports (entropy, conditional entropy, mutual
information, total correlation, the $T$-step bound $L_T$) is a linear combination
$\sum_k c_k H(A_k)$ of joint entropies of variable subsets $A_k$. `entropy_combination`
evaluates such a combination in one jitted call:

* dense joints: each marginal is summed from the smallest marginal already computed
  that contains it, after first forming the unions of halves of the requested subsets,
  so $n$ single-variable marginals cost about two passes over the joint, not $n$;
* sparse joints: rows are grouped by the projected columns, by a scatter-add into the
  key space when it is small (at most 8 keys per row) and by a sort otherwise. The
  entropy of all variables of a joint with distinct rows needs no grouping at all.

All logs are natural (nats); `to_bits` converts at the boundary.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from functools import partial

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

from ._keys import encode, key_dtype
from .distributions import Joint, SparseJoint

Subset = tuple[int, ...]
Terms = tuple[tuple[float, Subset], ...]


def padded_size(n: int, minimum: int = 16) -> int:
    """The power of two at least `n` and `minimum`.

    Kernels whose inputs vary in length (histogram cells, sample rows) pad them to
    this size, so one kernel compiles per octave of sizes instead of one per size.
    """
    return max(minimum, 1 << max(int(n) - 1, 0).bit_length())


def pad_to(x, size: int, value=0) -> np.ndarray:
    """`x` (host array) padded with `value` along its last axis to length `size`."""
    x = np.asarray(x)
    width = [(0, 0)] * (x.ndim - 1) + [(0, size - x.shape[-1])]
    return np.pad(x, width, constant_values=value)


def xlogx(x):
    r"""Zero-safe $x \log x$ (0 at 0) with a finite gradient at 0.

    Clamping inside the log, rather than a `where`, keeps XLA's vectorised log (about
    5x faster on CPU) and gives the gradient $\log(\text{tiny})$ at 0 instead of NaN.
    """
    return x * jnp.log(jnp.maximum(x, jnp.finfo(x.dtype).tiny))


def entropy_of_pmf(m) -> jax.Array:
    r"""$H = -\sum m \log m$ over all cells of `m` (nats)."""
    return -jnp.sum(xlogx(m))


@partial(jax.jit, static_argnames=("terms",))
def entropy_combination(p: Joint, terms: Terms) -> jax.Array:
    r"""$\sum_k c_k H(A_k)$ for `terms` $= ((c_k, A_k), \dots)$, in nats."""
    subsets = tuple(dict.fromkeys(s for _, s in terms))
    values = dict(zip(subsets, subset_entropies(p, subsets), strict=True))
    total = jnp.zeros((), _float_dtype(p))
    for coef, subset in terms:
        total = total + coef * values[subset]
    return total


def subset_entropies(p: Joint, subsets: Sequence[Subset]) -> list[jax.Array]:
    """Joint entropies H(A) of each subset A of variables (nats; traceable)."""
    if isinstance(p, SparseJoint):
        return [_sparse_entropy(p, s) for s in subsets]
    marginals = dense_marginals(p, subsets)
    return [entropy_of_pmf(marginals[s]) for s in subsets]


def dense_marginals(p, subsets: Sequence[Subset]) -> dict[Subset, jax.Array]:
    """Marginals of a dense joint on each subset (axes in increasing order)."""
    full = tuple(range(p.ndim))
    cache: dict[Subset, jax.Array] = {full: p}

    def get(subset: Subset) -> jax.Array:
        if subset not in cache:
            parent = min(
                (c for c in cache if set(subset) <= set(c)),
                key=lambda c: cache[c].size,
            )
            drop = tuple(i for i, v in enumerate(parent) if v not in subset)
            cache[subset] = sum_axes(cache[parent], drop)
        return cache[subset]

    def plan(group: list[Subset]) -> None:
        if len(group) > 2:
            half = len(group) // 2
            for part in (group[:half], group[half:]):
                get(tuple(sorted(set().union(*part))))
                plan(part)
        for subset in group:
            get(subset)

    plan(sorted(set(subsets)))
    return {s: cache[s] for s in subsets}


def sum_axes(x, drop: Sequence[int]) -> jax.Array:
    """Sum out the axes `drop` of `x` with streaming reductions.

    Adjacent axes of the same kind (kept or dropped) are merged; then each dropped run,
    largest first, is summed. A run followed by many kept cells is contracted with a
    vector of ones as a batched matrix product: XLA's CPU backend streams that at
    memory speed, where the equivalent strided reduction is up to 10x slower.
    """
    if not drop:
        return x
    out_shape = tuple(s for i, s in enumerate(x.shape) if i not in drop)
    runs: list[list] = []  # [dropped?, size]
    for i, size in enumerate(x.shape):
        if runs and runs[-1][0] == (i in drop):
            runs[-1][1] *= size
        else:
            runs.append([i in drop, size])
    while any(dropped for dropped, _ in runs):
        i = max((r for r in range(len(runs)) if runs[r][0]), key=lambda r: runs[r][1])
        pre = math.prod(size for _, size in runs[:i])
        d = runs[i][1]
        post = math.prod(size for _, size in runs[i + 1 :])
        if post < 64:  # short rows: a plain reduction streams well
            x = jnp.sum(x.reshape(pre, d, post), axis=1)
        else:
            ones = jnp.ones((pre, 1, d), x.dtype)
            dims = (((2,), (1,)), ((0,), (0,)))
            x = lax.dot_general(
                ones, x.reshape(pre, d, post), dims, precision=lax.Precision.HIGHEST
            )
        del runs[i]
        if 0 < i < len(runs) and not runs[i - 1][0] and not runs[i][0]:
            runs[i - 1][1] *= runs[i][1]
            del runs[i]
    return x.reshape(out_shape)


def _sparse_entropy(p: SparseJoint, subset: Subset) -> jax.Array:
    if p.distinct_rows and len(subset) == p.num_variables:
        return entropy_of_pmf(p.probs)
    return entropy_of_pmf(group_sums(p.outcomes, p.probs, p.sizes, subset))


def group_sums(outcomes, weights, sizes: Sequence[int], variables: Subset) -> jax.Array:
    """Sum `weights` over rows that agree on `variables` (traceable, static shapes).

    Returns an array whose leading axis indexes groups (unused slots hold zeros):
    the key space itself when it has at most 8 keys per row (one scatter-add pass),
    else one slot per row after sorting the rows by their projected values.
    """
    rows = outcomes.shape[0]
    if not variables:
        return jnp.sum(weights, axis=0, keepdims=True)
    radices = [int(sizes[v]) for v in variables]
    space = math.prod(radices)
    cols = [outcomes[:, v] for v in variables]
    dtype = key_dtype(space)
    if dtype is not None and space <= max(8 * rows, 4096):
        return _blocked_segment_sum(weights, encode(cols, radices, dtype), space)
    order, segment = sorted_segments(cols, radices)
    return jax.ops.segment_sum(
        weights[order], segment, num_segments=rows, indices_are_sorted=True
    )


def sorted_segments(cols: Sequence, radices: Sequence[int]):
    """Rows sorted by their columns, and the run of equal rows each sorted row is in.

    Sorts one mixed-radix key per row (the columns themselves when the key space
    passes the key dtype). Returns `(order, segment)`: `order[i]` is the row at
    sorted position `i`, and `segment[i]` numbers the runs of equal rows from 0.
    """
    rows = cols[0].shape[0]
    dtype = key_dtype(math.prod(radices))
    keys = [encode(cols, radices, dtype)] if dtype is not None else list(cols)
    sorted_ops = lax.sort((*keys, lax.iota(jnp.int32, rows)), num_keys=len(keys))
    sorted_keys, order = sorted_ops[:-1], sorted_ops[-1]
    changed = jnp.zeros((rows - 1,), bool)
    for k in sorted_keys:
        changed = changed | (k[1:] != k[:-1])
    starts = jnp.concatenate([jnp.ones((1,), jnp.int32), changed.astype(jnp.int32)])
    return order, jnp.cumsum(starts) - 1


def _blocked_segment_sum(weights, key, space: int) -> jax.Array:
    """`segment_sum` by key, accumulated in blocks of consecutive rows, then summed.

    A scatter-add accumulates each key sequentially, so a key shared by R rows picks
    up an error of order R * eps; summing B blocks separately cuts that to about
    (R / B + B) * eps, for B * space extra cells (at most 4 per row).
    """
    rows = key.shape[0]
    blocks = max(1, min(math.isqrt(rows), (4 * rows) // space))
    if blocks == 1:
        return jax.ops.segment_sum(weights, key, num_segments=space)
    block_of_row = lax.iota(key.dtype, rows) // -(-rows // blocks)
    partial_sums = jax.ops.segment_sum(
        weights, block_of_row * space + key, num_segments=blocks * space
    )
    return jnp.sum(partial_sums.reshape(blocks, space, *weights.shape[1:]), axis=0)


def aligned(p: Joint, q: Joint) -> tuple[jax.Array, jax.Array]:
    """Two joints over the same variables as flat vectors on one index (traceable)."""
    if isinstance(p, SparseJoint) and isinstance(q, SparseJoint):
        dtype = np.promote_types(p.outcomes.dtype, q.outcomes.dtype)
        outcomes = jnp.concatenate([p.outcomes.astype(dtype), q.outcomes.astype(dtype)])
        zp, zq = jnp.zeros_like(q.probs), jnp.zeros_like(p.probs)
        weights = jnp.stack(
            [jnp.concatenate([p.probs, zp]), jnp.concatenate([zq, q.probs])], axis=1
        )
        every = tuple(range(p.num_variables))
        both = group_sums(outcomes, weights, p.sizes, every)
        return both[:, 0], both[:, 1]
    return _dense(p).ravel(), _dense(q).ravel()


def _dense(p: Joint) -> jax.Array:
    if isinstance(p, SparseJoint):
        index = tuple(p.outcomes[:, i] for i in range(p.num_variables))
        return jnp.zeros(p.sizes, p.probs.dtype).at[index].add(p.probs)
    return p


def _float_dtype(p: Joint):
    return p.probs.dtype if isinstance(p, SparseJoint) else p.dtype
