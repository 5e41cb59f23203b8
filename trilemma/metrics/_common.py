"""Argument resolution shared by the metric modules."""

from __future__ import annotations

from .. import _checks
from ..distributions import Joint, check_joint, num_variables


def resolve(p, variables, given, *, name: str = "variables"):
    """Validate `p` and return `(p, variables, given)` as sorted disjoint tuples.

    `variables=None` means every variable not in `given`; `name` is the argument name
    used for `variables` in error messages.
    """
    p: Joint = check_joint(p)
    d = num_variables(p)
    given = _checks.check_variables(given, d, name="given")
    rest = [v for v in range(d) if v not in given]
    variables = _checks.check_variables(variables, d, name=name, default=rest)
    _checks.check_disjoint(variables, given, (name, "given"))
    return p, variables, given


def union(*parts) -> tuple[int, ...]:
    """Sorted union of index sets."""
    return tuple(sorted(set().union(*parts)))
