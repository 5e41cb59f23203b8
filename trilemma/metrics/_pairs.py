"""Validation and alignment of two distributions over the same variables."""

from __future__ import annotations

from .. import _checks
from ..distributions import SparseJoint, check_joint


def check_pair(p, q, names: tuple[str, str] = ("p", "q")):
    """Validate two joints over the same variables; returns them as jax values.

    Dense arrays must have the same shape, sparse joints the same `sizes`; a dense and
    a sparse joint are compared after densifying the sparse one (memory-checked).
    """
    p = check_joint(p, name=names[0])
    q = check_joint(q, name=names[1])
    _checks.check_same_shape(p, q, names)
    if isinstance(p, SparseJoint) != isinstance(q, SparseJoint):
        nbytes = _checks.cells(p.shape) * 8
        _checks.check_memory(
            nbytes, f"comparing a dense and a sparse joint of shape {tuple(p.shape)}"
        )
    return p, q
