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
