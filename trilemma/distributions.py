r"""Joint distributions over discrete variables, in two representations.

* **dense**: an array with one axis per variable, `p[v_0, v_1, ...]`;
* **sparse**: a `SparseJoint`, an integer outcome matrix `(S, d)` with probabilities
  `(S,)`, for supports far too large to densify (all $10! = 3\,628\,800$ shuffles of
  ten items are 3.6M rows; their dense form has $10^{10}$ cells).

Every metric accepts either. The empirical distribution of a sample matrix is just a
`SparseJoint` whose rows are the samples (each with probability $1/N$), so exact
metrics and estimators from samples run through the same kernels.
"""

from __future__ import annotations

import dataclasses
import functools

import jax
import jax.numpy as jnp
import numpy as np

from . import _checks
from ._keys import merge_rows
from ._types import Array, Float, Int


@functools.partial(
    jax.tree_util.register_dataclass,
    data_fields=["outcomes", "probs"],
    meta_fields=["sizes", "distinct_rows"],
)
@dataclasses.dataclass(frozen=True)
class SparseJoint:
    r"""A joint pmf on its support: row $s$ is outcome `outcomes[s]`, mass `probs[s]`.

    Attributes:
      outcomes: `(S, d)` integer matrix; column $i$ holds variable $i$, in
        `0..sizes[i]-1`.
      probs: `(S,)` probabilities summing to 1.
      sizes: alphabet size of each variable (static); `sizes` is the dense shape.
      distinct_rows: whether rows are pairwise distinct (static). Rows may repeat
        (their masses add), as in an `empirical` distribution; when they are known to
        be distinct, the entropy of all variables skips the grouping pass.

    A `SparseJoint` is a pytree, so it passes through `jax.jit` and `jax.vmap`.
    """

    outcomes: Int[Array, "S d"]
    probs: Float[Array, " S"]
    sizes: tuple[int, ...]
    distinct_rows: bool = True

    @property
    def num_variables(self) -> int:
        """Number of variables d."""
        return len(self.sizes)

    @property
    def support_size(self) -> int:
        """Number of stored rows S."""
        return int(self.outcomes.shape[0])

    @property
    def shape(self) -> tuple[int, ...]:
        """The dense shape, `sizes`."""
        return self.sizes


Joint = Array | SparseJoint
"""A dense pmf array or a `SparseJoint`."""


def num_variables(p: Joint) -> int:
    """Number of variables of a dense or sparse joint."""
    return p.num_variables if isinstance(p, SparseJoint) else p.ndim


def sparse_joint(
    outcomes, probs, sizes=None, *, atol: float | None = None
) -> SparseJoint:
    """Validated `SparseJoint` from concrete arrays; repeated rows are merged.

    Args:
      outcomes: `(S, d)` non-negative integers.
      probs: `(S,)` probabilities; validated by `check_pmf`.
      sizes: alphabet sizes; default `outcomes.max(axis=0) + 1`.
      atol: normalisation tolerance (see `check_pmf`).

    Returns:
      A `SparseJoint` with distinct rows in lexicographic order.
    """
    outcomes = _check_outcomes(outcomes, "outcomes", sizes)
    probs = _checks.check_pmf(probs, name="probs", atol=atol)
    _checks.check_shape(probs, "probs", (outcomes.shape[0],))
    return _merge_rows(outcomes, probs, _sizes(outcomes, sizes))


def empirical(samples, sizes=None) -> SparseJoint:
    """The empirical distribution of `samples`: each row has mass 1/N.

    Rows are kept as they are (no grouping), so this is cheap and works under `jit`
    when `sizes` is given; every metric groups repeated rows itself.

    Args:
      samples: `(N, d)` integer sample matrix, one sample per row.
      sizes: alphabet sizes; default `samples.max(axis=0) + 1` (needs concrete input).
    """
    samples = _check_outcomes(samples, "samples", sizes)
    sizes = _sizes(samples, sizes)
    n = samples.shape[0]
    dtype = jnp.result_type(float)
    return SparseJoint(samples, jnp.full((n,), 1.0 / n, dtype), sizes, False)


def from_dense(p, *, atol: float | None = None) -> SparseJoint:
    """The support of a dense pmf as a `SparseJoint` (cells with p > 0; eager)."""
    p = _checks.check_pmf(p, name="p", atol=atol)
    _checks.check_ndim(p, "p", minimum=1)
    host = np.asarray(p)
    idx = np.nonzero(host)
    outcomes = np.stack(idx, axis=1).astype(outcome_dtype(p.shape))
    return SparseJoint(
        jnp.asarray(outcomes), jnp.asarray(host[idx]), tuple(p.shape), True
    )


def to_dense(p: Joint, *, max_bytes: int | None = None) -> Array:
    """The dense array of a joint (identity on dense input); memory-checked."""
    if not isinstance(p, SparseJoint):
        return jnp.asarray(p)
    nbytes = _checks.cells(p.sizes) * p.probs.dtype.itemsize
    _checks.check_memory(
        nbytes, f"the dense form of a joint with sizes {p.sizes}", max_bytes
    )
    return _densify(p)


@jax.jit
def _densify(p: SparseJoint) -> Array:
    index = tuple(p.outcomes[:, i] for i in range(p.num_variables))
    return jnp.zeros(p.sizes, p.probs.dtype).at[index].add(p.probs)


def marginal(p: Joint, variables) -> Joint:
    """Marginal pmf of `variables` (in increasing order), represented like `p`."""
    variables = _checks.check_variables(variables, num_variables(p))
    if not isinstance(p, SparseJoint):
        others = tuple(i for i in range(p.ndim) if i not in variables)
        return jnp.sum(jnp.asarray(p), axis=others)
    cols = np.asarray(p.outcomes)[:, list(variables)]
    return _merge_rows(cols, p.probs, tuple(p.sizes[v] for v in variables))


def _merge_rows(outcomes, probs, sizes) -> SparseJoint:
    """A `SparseJoint` with repeated rows merged (masses added), rows sorted."""
    outcomes = np.asarray(outcomes)
    first, merged = merge_rows(outcomes, np.asarray(probs), sizes)
    rows = outcomes[first].astype(outcome_dtype(sizes))
    return SparseJoint(jnp.asarray(rows), jnp.asarray(merged), sizes, True)


def check_joint(p, *, name: str = "p", atol: float | None = None) -> Joint:
    """Validate a dense pmf or a `SparseJoint` (values only when concrete)."""
    if isinstance(p, SparseJoint):
        outcomes = p.outcomes
        _checks.check_shape(outcomes, f"{name}.outcomes", ("S", len(p.sizes)))
        _checks.check_shape(p.probs, f"{name}.probs", (outcomes.shape[0],))
        _checks.check_pmf(p.probs, name=f"{name}.probs", atol=atol)
        if _checks.is_concrete(outcomes):
            _check_outcomes(outcomes, f"{name}.outcomes", p.sizes)
        return p
    p = _checks.check_pmf(p, name=name, atol=atol)
    _checks.check_ndim(p, name, minimum=1)
    return p


def outcome_dtype(sizes) -> np.dtype:
    """Smallest integer dtype that holds every value below max(sizes)."""
    top = max(sizes, default=1)
    for dtype in (np.uint8, np.uint16, np.int32):
        if top <= np.iinfo(dtype).max + 1:
            return np.dtype(dtype)
    if not jax.config.jax_enable_x64:
        raise ValueError(
            f"an alphabet of size {top} needs 64-bit outcomes; enable jax_enable_x64."
        )
    return np.dtype(np.int64)


def _check_outcomes(outcomes, name, sizes):
    if not isinstance(outcomes, jax.Array | np.ndarray):
        outcomes = np.asarray(outcomes)
    _checks.check_integer_dtype(outcomes, name)
    _checks.check_shape(outcomes, name, ("rows", "variables"))
    _checks.check_nonempty(outcomes, name)
    if sizes is not None:
        sizes = tuple(_checks.check_int(s, "sizes", minimum=1) for s in sizes)
        _checks.check_shape(sizes, "sizes", (outcomes.shape[1],))
    if _checks.is_concrete(outcomes):
        _checks.check_alphabets(outcomes, name, sizes)
    return jnp.asarray(outcomes)


def _sizes(outcomes, sizes) -> tuple[int, ...]:
    if sizes is not None:
        return tuple(_checks.check_int(s, "sizes", minimum=1) for s in sizes)
    if not _checks.is_concrete(outcomes):
        _checks.check_given(sizes, "sizes", when="when the outcomes are traced (jit)")
    return tuple(int(v) + 1 for v in np.asarray(outcomes).max(axis=0))
