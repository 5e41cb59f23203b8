"""Array type aliases shared across trilemma (jaxtyping; no runtime cost)."""

from jaxtyping import Array, Float, Int

Scalar = Float[Array, ""]
"""A 0-d float array (a metric's value, in nats unless stated)."""

__all__ = ["Array", "Float", "Int", "Scalar"]
