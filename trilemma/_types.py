"""Array type aliases shared across trilemma (jaxtyping; no runtime cost)."""

from jaxtyping import Array, ArrayLike, Float, Int, PRNGKeyArray

Pmf = Float[ArrayLike, "*cells"]
"""A dense pmf: one axis per variable, non-negative, summing to 1."""

Scalar = Float[Array, ""]
Outcomes = Int[ArrayLike, "support variables"]
Probs = Float[ArrayLike, " support"]
Tokens = Int[Array, "*batch length"]
Key = PRNGKeyArray

__all__ = [
    "Array",
    "Float",
    "Int",
    "Key",
    "Outcomes",
    "Pmf",
    "Probs",
    "Scalar",
    "Tokens",
]
