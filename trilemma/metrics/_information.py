r"""Entropy, conditional entropy, mutual information and total correlation (nats).

Each is a linear combination of joint entropies of variable subsets, evaluated by one
jitted kernel (`trilemma._kernels.entropy_combination`) on dense or sparse joints.
Variables are axes of a dense pmf or columns of a `SparseJoint`.
"""

from __future__ import annotations

from .. import _checks
from .._kernels import entropy_combination
from .._types import Scalar
from ..distributions import Joint
from ._common import resolve, union


def entropy(p: Joint, variables=None) -> Scalar:
    r"""Shannon entropy $H(V) = -\sum_v p(v)\log p(v)$ of the marginal on `variables`.

    Args:
      p: dense pmf (one axis per variable) or `SparseJoint`.
      variables: indices of the variables; default all.

    Returns:
      Scalar in nats, in $[0, \log|\mathcal{V}|]$.

    >>> import jax.numpy as jnp
    >>> from trilemma import entropy, to_bits
    >>> round(float(to_bits(entropy(jnp.array([0.5, 0.25, 0.25])))), 12)
    1.5
    """
    p, variables, _ = resolve(p, variables, ())
    return entropy_combination(p, ((1.0, variables),))


def conditional_entropy(p: Joint, variables=None, *, given) -> Scalar:
    r"""$H(V \mid G) = H(V, G) - H(G)$, in nats.

    Args:
      p: dense pmf or `SparseJoint`.
      variables: the variables $V$; default every variable not in `given`.
      given: the conditioning variables $G$.

    Returns:
      Scalar in nats, in $[0, H(V)]$.

    >>> import jax.numpy as jnp
    >>> from trilemma import conditional_entropy, to_bits
    >>> xor = jnp.array([[[0.25, 0], [0, 0.25]], [[0, 0.25], [0.25, 0]]])
    >>> round(float(to_bits(conditional_entropy(xor, (2,), given=(0, 1)))), 12)
    0.0
    >>> round(float(to_bits(conditional_entropy(xor, (0,), given=(1,)))), 12)
    1.0
    """
    p, variables, given = resolve(p, variables, given)
    return entropy_combination(p, ((1.0, union(variables, given)), (-1.0, given)))


def mutual_information(p: Joint, a, b, *, given=()) -> Scalar:
    r"""$I(A; B \mid G) = H(A,G) + H(B,G) - H(A,B,G) - H(G)$, in nats.

    Args:
      p: dense pmf or `SparseJoint`.
      a: index set $A$.
      b: index set $B$, disjoint from $A$.
      given: conditioning variables, disjoint from both; default none.

    Returns:
      Scalar in nats, in $[0, \min(H(A|G), H(B|G))]$.

    With $X_2 = X_0 \oplus X_1$ (XOR of two fair bits), $X_0$ and $X_2$ are
    independent, but knowing $X_1$ makes each determine the other:

    >>> import jax.numpy as jnp
    >>> from trilemma import mutual_information, to_bits
    >>> xor = jnp.array([[[0.25, 0], [0, 0.25]], [[0, 0.25], [0.25, 0]]])
    >>> round(float(to_bits(mutual_information(xor, (0,), (2,)))), 12)
    0.0
    >>> round(float(to_bits(mutual_information(xor, (0,), (2,), given=(1,)))), 12)
    1.0
    """
    p, a, given = resolve(p, a, given, name="a")
    _, b, _ = resolve(p, b, given, name="b")
    _checks.check_disjoint(a, b, ("a", "b"))
    terms = (
        (1.0, union(a, given)),
        (1.0, union(b, given)),
        (-1.0, union(a, b, given)),
        (-1.0, given),
    )
    return entropy_combination(p, terms)


def total_correlation(p: Joint, variables=None, *, given=()) -> Scalar:
    r"""Total correlation $C(V \mid G) = \sum_{i \in V} H(v_i \mid G) - H(V \mid G)$.

    With `given` naming the prompt variables $X$ and `variables` the output tokens $Y$
    this is ParallelBench's $C(Y|X)$ (Eq. 1): the least KL divergence from $p(Y|X)$ of
    any model that decodes all of $Y$ in one parallel step.

    Args:
      p: dense pmf or `SparseJoint`.
      variables: the variables $V$; default every variable not in `given`.
      given: conditioning variables $G$; default none.

    Returns:
      Scalar in nats, in $[0, \sum_i H(v_i|G) - \max_i H(v_i|G)]$.

    >>> import jax.numpy as jnp
    >>> from trilemma import total_correlation, to_bits
    >>> xor = jnp.array([[[0.25, 0], [0, 0.25]], [[0, 0.25], [0.25, 0]]])
    >>> round(float(to_bits(total_correlation(xor))), 12)
    1.0

    References:
      Watanabe (1960); Kang et al., *ParallelBench*, arXiv:2510.04767, Eq. (1).
    """
    p, variables, given = resolve(p, variables, given)
    terms = [(1.0, union((v,), given)) for v in variables]
    terms += [(-float(len(variables) - 1), given), (-1.0, union(variables, given))]
    return entropy_combination(p, tuple(terms))
