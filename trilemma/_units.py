"""Units: trilemma computes in nats and reports in bits."""

import math

LOG2E = 1.0 / math.log(2.0)
"""log2(e): bits per nat."""


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

    Fields named in the record's `nats_fields` become `<field>_bits` (converted with
    `to_bits`, None kept); the others are copied. The one conversion at the boundary
    for the CLI, tables and figures.
    """
    nats = getattr(record, "nats_fields", ())
    return {
        f"{key}_bits" if key in nats else key: (
            None if value is None else float(to_bits(value))
        )
        if key in nats
        else value
        for key, value in record._asdict().items()
    }
