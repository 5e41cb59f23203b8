r"""Distances between two distributions: total variation, KL, and the blog's split.

Arguments follow the formula: `kl_divergence(p, q)` is $D_{KL}(p\|q)$, and in
`fluency_error(p, p_star)` the model `p` comes first and the target `p_star` second.
Inputs are two dense pmfs of the same shape or two `SparseJoint`s with the same
`sizes` (their supports are aligned by grouping rows).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from jax.scipy.special import rel_entr

from .._kernels import aligned
from .._types import Scalar
from ..distributions import Joint
from ._pairs import check_pair


def total_variation_distance(p: Joint, q: Joint) -> Scalar:
    r"""Total variation $\mathrm{TV}(p,q) = \tfrac12\sum_x |p(x)-q(x)|$.

    Equal to $\sum_x (p-q)_+ = \max_A |p(A)-q(A)| = 1-\sum_x\min(p,q)$; lies in $[0,1]$.
    Fast-dLLM's $D_{TV} = \tfrac12 D_1$ is the same quantity.

    >>> import jax.numpy as jnp
    >>> from trilemma import total_variation_distance
    >>> p = jnp.array([0.5, 0.5, 0.0])
    >>> q = jnp.array([0.25, 0.25, 0.5])  # half of its mass outside supp p
    >>> float(total_variation_distance(p, q))
    0.5
    """
    return _tv(*check_pair(p, q))


def kl_divergence(p: Joint, q: Joint) -> Scalar:
    r"""Kullback–Leibler divergence $D_{KL}(p\,\|\,q)$, in nats.

    $$D_{KL}(p\|q) = \sum_x p(x)\log\frac{p(x)}{q(x)},$$
    with $0\log\frac{0}{q} = 0$ and $+\infty$ where $p(x) > 0 = q(x)$.
    Forward $D(p^*\|p)$ is infinite when the model misses a valid outcome (diversity);
    reverse $D(p\|p^*)$ when it produces an invalid one (fluency).

    >>> import jax.numpy as jnp
    >>> from trilemma import kl_divergence, to_bits
    >>> p, q = jnp.array([1.0, 0.0]), jnp.array([0.5, 0.5])
    >>> round(float(to_bits(kl_divergence(p, q))), 12)  # log2(1 / 0.5)
    1.0
    >>> float(kl_divergence(q, p))  # q puts mass where p is 0
    inf

    References:
      Cover & Thomas, *Elements of Information Theory*, 2nd ed., §2.3.
    """
    return _kl(*check_pair(p, q))


def fluency_error(p: Joint, p_star: Joint) -> Scalar:
    r"""The blog's fluency error $L_{flu}(p,p^*) = \sum_{x:\,p>p^*} (p(x)-p^*(x))$.

    For normalised $p, p^*$ this always equals `diversity_error(p, p_star)` and
    `total_variation_distance(p, p_star)`, since $\sum_x (p - p^*) = 0$: the split
    cannot tell hallucination from mode collapse (see `paper_notes.md`). Use
    `precision` / `recall` (the PRD endpoints) for a split that can.
    """
    p, p_star = check_pair(p, p_star, ("p", "p_star"))
    return _positive_part(p, p_star)


def diversity_error(p: Joint, p_star: Joint) -> Scalar:
    r"""The blog's diversity error $L_{div}(p,p^*) = \sum_{x:\,p^*>p} (p^*(x)-p(x))$.

    Equal to `fluency_error(p, p_star)` for normalised inputs; see there.
    """
    p, p_star = check_pair(p, p_star, ("p", "p_star"))
    return _positive_part(p_star, p)


@jax.jit
def _tv(p, q):
    a, b = aligned(p, q)
    return 0.5 * jnp.sum(jnp.abs(a - b))


@jax.jit
def _kl(p, q):
    a, b = aligned(p, q)
    return jnp.sum(rel_entr(a, b))


@jax.jit
def _positive_part(p, q):
    a, b = aligned(p, q)
    return jnp.sum(jnp.maximum(a - b, 0))
