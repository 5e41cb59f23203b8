r"""The $T$-step lower bound $L_T$ of ParallelBench (Kang et al., 2025), and its min.

A factorised model decodes the outputs $Y = S_1 \cup \dots \cup S_T$ in $T$ steps,
drawing the tokens of step $t$ independently given $X$ and $S_{<t}$. Theorem 1:
$$\min_\theta D_{KL}(P_{data}\|P_\theta) \ge L_T(\{S_t\}) :=
  \sum_{t=1}^T \mathbb{E}_{S_{<t}\sim P_{data}}\big[C(S_t \mid X, S_{<t})\big],$$
with equality at $Q^*$, the product over steps of the true conditional marginals
$p(y_j \mid X, S_{<t})$. By the chain rule of entropy,
$$L_T = \sum_t \sum_{j\in S_t} H(y_j \mid X, S_{<t}) - H(Y \mid X),$$
so $L_T$ is again a combination of joint entropies of variable subsets.
"""

from __future__ import annotations

import functools
import math
from typing import Literal, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

from .. import _checks
from .._kernels import dense_marginals, entropy_combination, xlogx
from .._keys import encode
from .._types import Array, Scalar
from ..distributions import Joint, SparseJoint, from_dense, outcome_dtype, to_dense
from ._common import resolve, union


class OptimalSchedule(NamedTuple):
    """The least $L_T$ over $T$-step schedules, and a schedule attaining it."""

    bound: Scalar
    schedule: tuple[tuple[int, ...], ...]


def t_step_bound(p: Joint, partition, *, given=()) -> Scalar:
    r"""ParallelBench's $L_T = \sum_t \mathbb{E}_{S_{<t}}[C(S_t \mid X, S_{<t})]$, nats.

    Args:
      p: dense pmf or `SparseJoint` over prompt and output variables.
      partition: ordered steps $S_1, \dots, S_T$: non-empty, disjoint sequences of
        variable indices that together cover every variable not in `given`.
      given: the prompt variables $X$; default none.

    Returns:
      Scalar in nats. $L_1 = C(Y|X)$ and $L_{|Y|} = 0$ (one token per step).

    For $Y_2 = Y_0 \oplus Y_1$, decoding the two independent bits first costs
    nothing, while decoding $Y_1$ with $Y_2$ costs their 1 bit of dependence given
    $Y_0$:

    >>> import jax.numpy as jnp
    >>> from trilemma import t_step_bound, to_bits
    >>> xor = jnp.array([[[0.25, 0], [0, 0.25]], [[0, 0.25], [0.25, 0]]])
    >>> round(float(to_bits(t_step_bound(xor, [(0, 1), (2,)]))), 12)
    0.0
    >>> round(float(to_bits(t_step_bound(xor, [(0,), (1, 2)]))), 12)
    1.0

    References:
      Kang et al., *ParallelBench*, arXiv:2510.04767, Theorem 1 (Eq. 2).
    """
    p, outputs, given = resolve(p, None, given)
    steps = _checks.check_partition(partition, outputs)
    return entropy_combination(p, _bound_terms(steps, given))


def t_step_product(
    p: Joint, partition, *, given=(), max_bytes: int | None = None
) -> Array:
    r"""The factorised model $Q^*$ that attains $L_T$, as a dense joint.

    $$Q^*(x, y) = p(x)\prod_{t}\prod_{j \in S_t} p(y_j \mid x, y_{S_{<t}}),$$
    so $D_{KL}(p\|Q^*) = L_T$. Where the conditioning event has probability 0 the
    conditional is taken uniform over $y_j$'s alphabet; $p$ puts no mass there, so the
    convention does not change the KL divergence.

    Args:
      p: dense pmf or `SparseJoint` (densified, within the memory budget).
      partition: ordered steps covering every variable not in `given`.
      given: the prompt variables $X$.
      max_bytes: memory budget override.
    """
    p, outputs, given = resolve(p, None, given)
    steps = _checks.check_partition(partition, outputs)
    itemsize = np.dtype(
        p.probs.dtype if isinstance(p, SparseJoint) else p.dtype
    ).itemsize
    _checks.check_memory(
        3 * _checks.cells(p.shape) * itemsize,
        f"the dense model Q* for a joint of shape {tuple(p.shape)}",
        max_bytes,
    )
    return _product(to_dense(p, max_bytes=max_bytes), steps, given)


def optimal_t_step_bound(
    p: Joint,
    num_steps: int,
    *,
    given=(),
    method: Literal["auto", "lattice", "grouping"] = "auto",
    max_bytes: int | None = None,
    progress: bool = False,
) -> OptimalSchedule:
    r"""$L^*_T = \min L_T$ over ordered partitions of the outputs into $T$ steps.

    Exact, by dynamic programming over subsets: with $h(A) = H(X, Y_A)$ and
    $$f_t(B) = \min_{A \subsetneq B}\, f_{t-1}(A)
      + \sum_{j \in B\setminus A}[h(A\cup j)-h(A)],$$
    $L^*_T = f_T(Y) - h(Y) + h(\emptyset)$. Costs $O(3^n T)$ time after the $2^n$
    subset entropies, so it is meant for up to about 14 output variables; it refuses
    more than 19 (the pairs are indexed in int32) and, before any work, a pair table
    over the memory budget.

    Args:
      p: dense pmf or `SparseJoint`.
      num_steps: $T$, between 1 and the number of output variables.
      given: the prompt variables $X$.
      method: how to get the $2^n$ subset entropies: `"lattice"` sums every marginal
        at once on a dense array of $|X|\prod_j (k_j + 1)$ cells; `"grouping"` groups
        the rows of the sparse support once per subset; `"auto"` picks the lattice
        when it fits the memory budget.
      max_bytes: memory budget override.
      progress: show a progress bar (stderr) for the grouping method.

    Returns:
      `OptimalSchedule(bound, schedule)`, bound in nats, schedule as tuples of variable
      indices in decoding order (ties broken deterministically).

    References:
      Kang et al., *ParallelBench*, arXiv:2510.04767, Theorems 1–2.
    """
    p, outputs, given = resolve(p, None, given)
    n = len(outputs)
    pairs, what = _checks.power(3, n), f"the optimal schedule of {n} output variables"
    _checks.check_work(pairs, what, 3**19, unit="subset pairs", why="int32 indices")
    _checks.check_memory(_PAIR_BYTES * pairs, what, max_bytes)
    num_steps = _checks.check_int(num_steps, "num_steps", minimum=1, maximum=n)
    h = subset_entropy_table(
        p, outputs, given, method=method, max_bytes=max_bytes, progress=progress
    )
    a_idx, b_idx, cost = _pair_costs(h, n)
    values, choices = _min_plus(cost, a_idx, b_idx, n, num_steps)
    full = 2**n - 1
    bound = values[-1][full] - (h[full] - h[0])
    schedule = []
    mask = full
    for step in reversed(range(num_steps)):
        prev = int(a_idx[int(choices[step][mask])])
        added = mask & ~prev
        schedule.append(tuple(outputs[j] for j in range(n) if added >> j & 1))
        mask = prev
    return OptimalSchedule(bound, tuple(reversed(schedule)))


def subset_entropy_table(
    p: Joint,
    outputs,
    given,
    *,
    method: str = "auto",
    max_bytes: int | None = None,
    progress: bool = False,
) -> Array:
    r"""$h[m] = H(X, \{y_j : \text{bit } j \text{ of } m\})$ for all masks $m < 2^n$."""
    if method not in ("auto", "lattice", "grouping"):
        raise _checks.unknown("method", method, ("auto", "lattice", "grouping"))
    if isinstance(p, SparseJoint) and len(given) > 1:
        p, outputs, given = _merge_given(p, outputs, given)
    sizes = tuple(p.shape)
    given_cells = _checks.cells(sizes[g] for g in given)
    lattice_bytes = 3 * given_cells * _checks.cells(sizes[j] + 1 for j in outputs) * 8
    dense_bytes = _checks.cells(sizes) * 8
    if method == "auto":
        fits = max(lattice_bytes, dense_bytes) <= _checks.max_bytes(max_bytes)
        method = "lattice" if fits or not isinstance(p, SparseJoint) else "grouping"
    if method == "lattice":
        _checks.check_memory(lattice_bytes, "the subset-entropy lattice", max_bytes)
        dense = to_dense(p, max_bytes=max_bytes)
        return _lattice_entropies(dense, tuple(outputs), tuple(given))
    if not isinstance(p, SparseJoint):
        p = from_dense(p)
    return _grouping_entropies(p, tuple(outputs), tuple(given), progress)


def _merge_given(p: SparseJoint, outputs, given):
    """Relabel the prompt columns by their distinct rows: one prompt variable.

    Every entropy H(X, A) is unchanged, and the prompt's alphabet shrinks from the
    product of its columns' sizes to the number of prompts that occur.
    """
    host = np.asarray(p.outcomes)
    _, prompt_id = np.unique(host[:, list(given)], axis=0, return_inverse=True)
    prompt_id = prompt_id.ravel()
    cols = np.concatenate([prompt_id[:, None], host[:, list(outputs)]], axis=1)
    sizes = (int(prompt_id.max()) + 1,) + tuple(p.sizes[v] for v in outputs)
    merged = SparseJoint(
        jnp.asarray(cols.astype(outcome_dtype(sizes))), p.probs, sizes, p.distinct_rows
    )
    return merged, tuple(range(1, len(sizes))), (0,)


def _bound_terms(steps, given):
    terms = []
    prefix = tuple(given)
    for step in steps:
        for j in step:
            terms += [(1.0, union(prefix, (j,))), (-1.0, prefix)]
        prefix = union(prefix, step)
    terms += [(-1.0, prefix), (1.0, tuple(given))]
    return tuple(terms)


@functools.partial(jax.jit, static_argnames=("steps", "given"))
def _product(p, steps, given):
    ndim = p.ndim
    subsets = [tuple(given)]
    prefix = tuple(given)
    for step in steps:
        subsets += [prefix] + [union(prefix, (j,)) for j in step]
        prefix = union(prefix, step)
    marg = dense_marginals(p, subsets)

    def expand(subset):
        shape = [p.shape[i] if i in subset else 1 for i in range(ndim)]
        return marg[subset].reshape(shape)

    q = jnp.broadcast_to(expand(tuple(given)), p.shape)
    prefix = tuple(given)
    for step in steps:
        den = expand(prefix)
        for j in step:
            num = expand(union(prefix, (j,)))
            safe = jnp.where(den > 0, den, 1)
            q = q * jnp.where(den > 0, num / safe, 1.0 / p.shape[j])
        prefix = union(prefix, step)
    return q


@functools.partial(jax.jit, static_argnames=("outputs", "given"))
def _lattice_entropies(p, outputs, given):
    g = _checks.cells(p.shape[i] for i in given)
    ks = [p.shape[j] for j in outputs]
    x = jnp.transpose(p, given + outputs).reshape((g, *ks))
    for axis in range(1, len(ks) + 1):  # append a "summed out" slot to each output axis
        x = jnp.concatenate([x, jnp.sum(x, axis=axis, keepdims=True)], axis=axis)
    terms = xlogx(x)
    for axis, k in enumerate(ks, start=1):  # slot 0: variable kept, slot 1: summed out
        kept = jnp.sum(
            lax.slice_in_dim(terms, 0, k, axis=axis), axis=axis, keepdims=True
        )
        out = lax.slice_in_dim(terms, k, k + 1, axis=axis)
        terms = jnp.concatenate([kept, out], axis=axis)
    terms = jnp.flip(jnp.sum(terms, axis=0))  # now index 1 along axis j means j in A
    n = len(ks)
    return -jnp.transpose(terms, tuple(reversed(range(n)))).reshape(2**n)


def _grouping_entropies(p: SparseJoint, outputs, given, progress):
    sizes = p.sizes
    radix = max(sizes[j] for j in outputs) + 1
    given_space = _checks.cells(sizes[g] for g in given)
    space = given_space * radix ** len(outputs)
    if space >= 2**63 or (space >= 2**31 and not jax.config.jax_enable_x64):
        raise ValueError(
            f"subset keys need {math.log2(space):.0f} bits; at most "
            + ("63 are supported." if jax.config.jax_enable_x64 else "31 without x64.")
        )
    masks = np.arange(2 ** len(outputs))
    chunk = 32
    starts = range(0, len(masks), chunk)
    if progress:
        from tqdm.auto import tqdm

        starts = tqdm(
            starts, desc="subset entropies", unit="chunk", leave=False, disable=None
        )
    parts = []
    for start in starts:
        block = np.zeros(chunk, dtype=np.int32)
        real = masks[start : start + chunk]
        block[: len(real)] = real
        values = _grouping_chunk(p, jnp.asarray(block), outputs, given, radix)
        parts.append(np.asarray(values)[: len(real)])
    return jnp.asarray(np.concatenate(parts))


@functools.partial(jax.jit, static_argnames=("outputs", "given", "radix"))
def _grouping_chunk(p, masks, outputs, given, radix):
    dtype = jnp.int64 if jax.config.jax_enable_x64 else jnp.int32
    given_cols = [p.outcomes[:, g] for g in given]
    radices = [p.sizes[g] for g in given] + [radix] * len(outputs)

    def one(mask):
        # an absent output variable is digit 0, a present one its value + 1
        digits = [
            ((mask >> j) & 1).astype(dtype) * (p.outcomes[:, v].astype(dtype) + 1)
            for j, v in enumerate(outputs)
        ]
        key = encode(given_cols + digits, radices, dtype)
        key, probs = lax.sort((key, p.probs), num_keys=1)
        starts = jnp.concatenate(
            [jnp.ones((1,), jnp.int32), (key[1:] != key[:-1]).astype(jnp.int32)]
        )
        sums = jax.ops.segment_sum(
            probs,
            jnp.cumsum(starts) - 1,
            num_segments=key.shape[0],
            indices_are_sorted=True,
        )
        return -jnp.sum(xlogx(sums))

    return lax.map(one, masks)


_PAIR_BYTES = 48
"""Peak bytes per subset pair: the int64 ternary code and digit, int32 masks and their
device copies, float64 costs and candidates."""


@functools.lru_cache(maxsize=4)
def _pairs(n: int):
    """All (A, B) with A a proper subset of B, as masks, and each pair's added bits.

    Pairs are the ternary numbers with digit 0 (not in B), 1 (in B, not A), 2 (in A).
    """
    code = np.arange(3**n, dtype=np.int64)
    a = np.zeros(3**n, np.int32)
    b = np.zeros(3**n, np.int32)
    for j in range(n):
        digit = code % 3
        code //= 3
        a |= (digit == 2).astype(np.int32) << j
        b |= (digit >= 1).astype(np.int32) << j
    keep = a != b
    return a[keep], b[keep]


def _pair_costs(h, n):
    a, b = _pairs(n)
    return a, b, _sum_gains(h, jnp.asarray(a), jnp.asarray(b), n)


@functools.partial(jax.jit, static_argnames=("n",))
def _sum_gains(h, a, b, n):
    """cost(A, B) = sum over j in B minus A of h(A + j) - h(A)."""
    cost = jnp.zeros(a.shape, h.dtype)
    for j in range(n):
        bit = 1 << j
        added = ((b & bit) != 0) & ((a & bit) == 0)
        cost = cost + jnp.where(added, h[a | bit] - h[a], 0)
    return cost


def _min_plus(cost, a_idx, b_idx, n, num_steps):
    f = jnp.full(2**n, jnp.inf, cost.dtype).at[0].set(0)
    values, choices = [], []
    a, b = jnp.asarray(a_idx), jnp.asarray(b_idx)
    for _ in range(num_steps):
        f, choice = _relax(f, cost, a, b)
        values.append(f)
        choices.append(np.asarray(choice))
    return values, choices


@jax.jit
def _relax(f, cost, a, b):
    cand = f[a] + cost
    best = jax.ops.segment_min(cand, b, num_segments=f.shape[0])
    pair = jnp.arange(cand.shape[0], dtype=jnp.int32)
    choice = jax.ops.segment_min(
        jnp.where(cand == best[b], pair, jnp.iinfo(jnp.int32).max),
        b,
        num_segments=f.shape[0],
    )
    return best, choice
