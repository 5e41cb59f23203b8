r"""Precision and recall for distributions (Sajjadi et al., 2018), computed exactly.

The model $Q$ = `p` has precision $\alpha$ at recall $\beta$ with respect to the target
$P$ = `p_star` when both share a component $\mu$: $P = \beta\mu + (1-\beta)\nu_P$ and
$Q = \alpha\mu + (1-\alpha)\nu_Q$. The frontier of attainable pairs is, for
$\lambda \in (0, \infty)$,
$$\alpha(\lambda) = \sum_x \min(\lambda P(x), Q(x)), \qquad
  \beta(\lambda) = \alpha(\lambda)/\lambda .$$
$\alpha$ is concave and piecewise linear in $\lambda$ with breakpoints at the likelihood
ratios $Q(x)/P(x)$, so one sort gives $\alpha$ exactly at any $\lambda$. Its limits are
the support-based errors that *do* separate the two failures:

* precision $\bar\alpha = \lim_{\lambda\to\infty}\alpha = Q(\mathrm{supp}\,P)$;
  $1-\bar\alpha$ is mass on invalid outputs (hallucination, a fluency failure);
* recall $\bar\beta = \lim_{\lambda\to 0}\beta = P(\mathrm{supp}\,Q)$;
  $1-\bar\beta$ is valid mass never produced (mode collapse, a diversity failure).

References:
  Sajjadi et al., *Assessing Generative Models via Precision and Recall*,
  NeurIPS 2018, arXiv:1806.00035.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from .. import _checks
from .._kernels import aligned
from .._types import Array, Scalar
from ..distributions import Joint, SparseJoint
from ._pairs import check_pair


class PRDCurve(NamedTuple):
    r"""Points $(\lambda, \alpha(\lambda), \beta(\lambda))$ of a PRD frontier."""

    lambdas: Array
    precision: Array
    recall: Array


def precision(p: Joint, p_star: Joint) -> Scalar:
    r"""Maximum PRD precision $\bar\alpha = p(\mathrm{supp}\,p^*)$, the valid mass.

    A grader accepting exactly $\mathrm{supp}\,p^*$ scores the model $\bar\alpha$.

    >>> import jax.numpy as jnp
    >>> from trilemma import precision
    >>> p_star = jnp.array([0.5, 0.5, 0.0])
    >>> float(precision(jnp.array([0.25, 0.25, 0.5]), p_star))  # half is invalid
    0.5
    """
    p, p_star = check_pair(p, p_star, ("p", "p_star"))
    return _support_mass(p, p_star)


def recall(p: Joint, p_star: Joint) -> Scalar:
    r"""Maximum PRD recall $\bar\beta = p^*(\mathrm{supp}\,p)$: target mass produced.

    >>> import jax.numpy as jnp
    >>> from trilemma import recall
    >>> p_star = jnp.array([0.5, 0.5, 0.0])
    >>> float(recall(jnp.array([0.25, 0.25, 0.5]), p_star))  # every valid outcome
    1.0
    >>> float(recall(jnp.array([1.0, 0.0, 0.0]), p_star))  # mode collapse
    0.5
    """
    p, p_star = check_pair(p, p_star, ("p", "p_star"))
    return _support_mass(p_star, p)


def prd_curve(p: Joint, p_star: Joint, lambdas=None) -> PRDCurve:
    r"""The exact PRD frontier of model `p` against target `p_star`.

    Args:
      p: the model pmf $Q$ (Sajjadi's `eval_dist`).
      p_star: the target pmf $P$ (Sajjadi's `ref_dist`).
      lambdas: slopes at which to evaluate the frontier. Default: every breakpoint
        $Q(x)/P(x)$ (sorted; cells outside both supports give the harmless slope 1),
        preceded by $\lambda = 0$ (the point $(\beta, \alpha) = (\bar\beta, 0)$) and
        followed by $\lambda = \infty$ (the point $(0, \bar\alpha)$). Between
        breakpoints $F_\beta$ is monotone, so the maximum of $F_\beta$ over these
        points is its exact maximum over the frontier.

    Returns:
      `PRDCurve(lambdas, precision, recall)`.
    """
    p, p_star = check_pair(p, p_star, ("p", "p_star"))
    if lambdas is None:
        return _exact_curve(p, p_star)
    lambdas = _checks.check_reals(
        lambdas, "lambdas", low=0.0, low_open=True, high_open=True
    )
    return _curve_at(p, p_star, lambdas.astype(_dtype(p)))


def prd_curve_grid(
    p: Joint, p_star: Joint, *, num_angles: int = 1001, epsilon: float = 1e-10
) -> PRDCurve:
    r"""The PRD frontier on Sajjadi et al.'s angle grid, for comparison with their code.

    $\lambda = \tan\theta$ for `num_angles` angles $\theta$ evenly spaced on
    $[\epsilon, \pi/2 - \epsilon]$; values are clipped to $[0, 1]$ as in
    `prd_score.compute_prd`. Each point equals `prd_curve` at the same $\lambda$.
    """
    num_angles = _checks.check_int(num_angles, "num_angles", minimum=3, maximum=10**6)
    epsilon = _checks.check_real(
        epsilon, "epsilon", low=0.0, high=0.1, low_open=True, high_open=True
    )
    p, p_star = check_pair(p, p_star, ("p", "p_star"))
    # Slopes in float64 (pi/2 - epsilon rounds past pi/2 in float32), then cast.
    slopes = np.tan(np.linspace(epsilon, math.pi / 2 - epsilon, num_angles))
    curve = _curve_at(p, p_star, jnp.asarray(slopes, _dtype(p)))
    return curve._replace(
        precision=jnp.clip(curve.precision, 0, 1), recall=jnp.clip(curve.recall, 0, 1)
    )


def f_beta(precision, recall, beta: float = 1.0):
    r"""$F_\beta = (1+\beta^2)\,\alpha r / (\beta^2\alpha + r)$; 0 where both are 0.

    $\beta > 1$ weighs recall more: Sajjadi et al. report $(F_8, F_{1/8})$, which track
    recall and precision.
    """
    precision, recall = jnp.asarray(precision), jnp.asarray(recall)
    b2 = beta * beta
    den = b2 * precision + recall
    safe = jnp.where(den > 0, den, 1)
    return jnp.where(den > 0, (1 + b2) * precision * recall / safe, 0)


def max_f_beta_pair(curve: PRDCurve, beta: float = 8.0) -> tuple[Scalar, Scalar]:
    r"""$(\max F_\beta, \max F_{1/\beta})$ over the points of a PRD curve."""
    beta = _checks.check_real(beta, "beta", low=0.0, low_open=True, high_open=True)
    return (
        jnp.max(f_beta(curve.precision, curve.recall, beta)),
        jnp.max(f_beta(curve.precision, curve.recall, 1.0 / beta)),
    )


def _dtype(p):
    return p.probs.dtype if isinstance(p, SparseJoint) else p.dtype


@jax.jit
def _support_mass(p, q):
    """p(supp q)."""
    a, b = aligned(p, q)
    return jnp.sum(jnp.where(b > 0, a, 0))


def _sorted_ratios(a, b):
    both = (a > 0) & (b > 0)
    ratio = jnp.where(both, a / jnp.where(both, b, 1), 1)
    order = jnp.argsort(ratio)
    ratio = ratio[order]
    wa = jnp.where(both, a, 0)[order]
    wb = jnp.where(both, b, 0)[order]
    zero = jnp.zeros((1,), a.dtype)
    prefix_a = jnp.concatenate([zero, jnp.cumsum(wa)])  # sum of a with ratio <= r_k
    suffix_b = jnp.concatenate([jnp.cumsum(wb[::-1])[::-1], zero])  # ratio > r_k
    return ratio, prefix_a, suffix_b


def _alpha(ratio, prefix_a, suffix_b, lambdas):
    k = jnp.searchsorted(ratio, lambdas, side="right")
    return lambdas * suffix_b[k] + prefix_a[k]


@jax.jit
def _curve_at(p, p_star, lambdas) -> PRDCurve:
    a, b = aligned(p, p_star)
    alpha = _alpha(*_sorted_ratios(a, b), lambdas)
    return PRDCurve(lambdas, alpha, alpha / lambdas)


@jax.jit
def _exact_curve(p, p_star) -> PRDCurve:
    a, b = aligned(p, p_star)
    ratio, prefix_a, suffix_b = _sorted_ratios(a, b)
    alpha = _alpha(ratio, prefix_a, suffix_b, ratio)
    beta = alpha / ratio
    max_precision = jnp.sum(jnp.where(b > 0, a, 0))[None]
    max_recall = jnp.sum(jnp.where(a > 0, b, 0))[None]
    zero, inf = jnp.zeros((1,), a.dtype), jnp.full((1,), jnp.inf, a.dtype)
    return PRDCurve(
        jnp.concatenate([zero, ratio, inf]),
        jnp.concatenate([zero, alpha, max_precision]),
        jnp.concatenate([max_recall, beta, zero]),
    )
