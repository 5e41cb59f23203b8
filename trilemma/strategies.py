"""Hypothesis strategies for enumerable distributions, for stating theorems as tests.

Every strategy draws float64 NumPy arrays that may contain zeros (pass them through
`jax.numpy.asarray` with x64 enabled). Requires `hypothesis` (`pip install
trilemma[test]`).

>>> from hypothesis import given
>>> from trilemma import strategies as tst
>>> @given(tst.pmf_pairs())
... def test_tv_is_symmetric(pair):
...     ...
"""

from __future__ import annotations

import numpy as np
from hypothesis import assume
from hypothesis import strategies as st

from .distributions import SparseJoint, from_dense

__all__ = [
    "alphabets",
    "high_confidence_joints",
    "joint_pmfs",
    "joints_with_given",
    "ordered_partitions",
    "pmf_pairs",
    "pmfs",
    "sparse_joints",
]

_WEIGHTS = st.one_of(
    st.just(0.0),
    st.floats(min_value=1e-3, max_value=1.0, allow_nan=False, allow_infinity=False),
)


def _normalise(weights) -> np.ndarray:
    w = np.asarray(weights, dtype=np.float64)
    total = w.sum()
    assume(total > 0)
    return w / total


@st.composite
def pmfs(draw, shape=None, *, zeros: bool = True, max_cells: int = 12) -> np.ndarray:
    """A pmf of the given `shape` (default: a 1-D pmf of 1..`max_cells` cells)."""
    if shape is None:
        shape = (draw(st.integers(1, max_cells)),)
    size = int(np.prod(shape))
    element = _WEIGHTS if zeros else st.floats(1e-3, 1.0)
    weights = draw(st.lists(element, min_size=size, max_size=size))
    return _normalise(weights).reshape(shape)


@st.composite
def alphabets(draw, *, min_variables=1, max_variables=4, max_size=3, max_cells=96):
    """Alphabet sizes of a small joint: a tuple of ints, at most `max_cells` cells."""
    sizes = draw(
        st.lists(
            st.integers(1, max_size), min_size=min_variables, max_size=max_variables
        )
    )
    assume(int(np.prod(sizes)) <= max_cells)
    return tuple(sizes)


@st.composite
def joint_pmfs(
    draw, sizes=None, *, zeros: bool = True, **alphabet_options
) -> np.ndarray:
    """A dense joint pmf, one axis per variable, with zeros allowed."""
    if sizes is None:
        sizes = draw(alphabets(**alphabet_options))
    return draw(pmfs(tuple(sizes), zeros=zeros))


@st.composite
def pmf_pairs(draw, shape=None, *, zeros: bool = True, max_cells: int = 12):
    """Two pmfs of the same shape."""
    if shape is None:
        shape = (draw(st.integers(1, max_cells)),)
    return draw(pmfs(shape, zeros=zeros)), draw(pmfs(shape, zeros=zeros))


@st.composite
def joints_with_given(
    draw, *, min_outputs: int = 1, max_given: int = 2, **alphabet_options
):
    """`(p, given)`: a dense joint and a (possibly empty) set of prompt variables.

    At least `min_outputs` variables are left outside `given`.
    """
    alphabet_options.setdefault("min_variables", min_outputs)
    p = draw(joint_pmfs(**alphabet_options))
    d = p.ndim
    assume(d >= min_outputs)
    k = draw(st.integers(0, min(max_given, d - min_outputs)))
    given = tuple(sorted(draw(st.permutations(range(d)))[:k]))
    return p, given


@st.composite
def ordered_partitions(draw, variables, num_steps=None):
    """An ordered partition of `variables` into non-empty steps (a schedule)."""
    variables = list(variables)
    n = len(variables)
    if num_steps is None:
        num_steps = draw(st.integers(1, n))
    order = draw(st.permutations(variables))
    cuts = (
        sorted(
            draw(
                st.sets(
                    st.integers(1, n - 1),
                    min_size=num_steps - 1,
                    max_size=num_steps - 1,
                )
            )
        )
        if num_steps > 1
        else []
    )
    bounds = [0, *cuts, n]
    return tuple(
        tuple(order[a:b]) for a, b in zip(bounds[:-1], bounds[1:], strict=True)
    )


@st.composite
def sparse_joints(draw, *, duplicates: bool = True, **alphabet_options) -> SparseJoint:
    """A `SparseJoint` on the support of a random dense joint; rows may be split in two.

    With `duplicates`, some rows are stored twice with their mass split, so kernels
    must group equal rows (as they must for an empirical distribution).
    """
    joint = from_dense(draw(joint_pmfs(**alphabet_options)))
    outcomes = np.asarray(joint.outcomes)
    probs = np.asarray(joint.probs)
    if duplicates:
        split = np.asarray(
            draw(st.lists(st.booleans(), min_size=len(probs), max_size=len(probs)))
        )
        if split.any():
            half = probs[split] / 2
            probs = np.concatenate([np.where(split, probs / 2, probs), half])
            outcomes = np.concatenate([outcomes, outcomes[split]])
            order = np.asarray(draw(st.permutations(range(len(probs)))))
            outcomes, probs = outcomes[order], probs[order]
            return SparseJoint(outcomes, probs, joint.sizes, distinct_rows=False)
    return SparseJoint(outcomes, probs, joint.sizes, distinct_rows=True)


@st.composite
def high_confidence_joints(
    draw, *, max_tokens: int = 3, max_size: int = 3, max_epsilon=0.3
):
    r"""`(p, x_star)`: a joint whose marginals all give $x^*$ probability near 1.

    The mass $1-\delta$ sits on $x^*$ and $\delta \le$ `max_epsilon` is spread at
    random, so every marginal has $p_j(x^*_j) \ge 1 - \delta$.
    """
    sizes = draw(
        alphabets(min_variables=2, max_variables=max_tokens, max_size=max_size)
    )
    assume(max(sizes) >= 2)
    x_star = tuple(draw(st.integers(0, k - 1)) for k in sizes)
    delta = draw(st.floats(0.0, max_epsilon))
    rest = draw(pmfs(sizes))
    p = (1 - delta) * np.eye(
        1, int(np.prod(sizes)), np.ravel_multi_index(x_star, sizes)
    ).reshape(sizes)
    return p + delta * rest, x_star
