"""Units: trilemma computes in nats and reports in bits, converting in one place.

`NATS_FIELDS` names every information quantity a result record carries (the exact
`TrilemmaPoint`, the estimated `EstimatedPoint`, a model's `ModelFit`), so that
`in_bits` converts each record's nats the same way.
"""

import math

LOG2E = 1.0 / math.log(2.0)
"""log2(e): bits per nat."""

NATS_FIELDS = frozenset(
    {
        "entropy",
        "valid_entropy",
        "reference_entropy",
        "entropy_drop",
        "kl_reference_to_sampler",
        "kl",
        "one_step_kl",
        "total_correlation",
    }
)
"""The record fields that hold information in nats, across every result record."""


def to_bits(nats):
    r"""Convert nats to bits: $x / \ln 2$. Works on floats and arrays; inf stays inf.

    >>> import math
    >>> from trilemma import to_bits
    >>> to_bits(math.log(2.0)), to_bits(math.inf)
    (1.0, inf)
    """
    return nats * LOG2E


def in_bits(record) -> dict:
    """A result record for people: its information quantities in bits.

    Fields in `NATS_FIELDS` become `<field>_bits`, converted with `to_bits` (None
    kept; an `Estimate`, or any tuple of floats, converted entry by entry into
    the same type); the others are copied. The one conversion at the boundary for
    the CLI, tables and figures.

    >>> import math
    >>> from typing import NamedTuple
    >>> from trilemma.estimators import Estimate
    >>> class Row(NamedTuple):
    ...     precision: float
    ...     kl: Estimate
    >>> in_bits(Row(0.5, Estimate(math.log(2), 0.0, math.log(4))))
    {'precision': 0.5, 'kl_bits': Estimate(estimate=1.0, ci_low=0.0, ci_high=2.0)}
    """
    return {
        f"{key}_bits" if key in NATS_FIELDS else key: _bits(value)
        if key in NATS_FIELDS
        else value
        for key, value in record._asdict().items()
    }


def _bits(value):
    if value is None:
        return None
    if isinstance(value, tuple):  # an Estimate: each end converted alike
        return type(value)(*(float(to_bits(v)) for v in value))
    return float(to_bits(value))
