r"""APD's product of experts, exactly: a dLLM marginal times an autoregressive model.

Adaptive Parallel Decoding (APD; Israel, Van den Broeck & Grover, 2025) accepts a
parallel draft from the dLLM's one-step distribution $p_D$ (the product of its
marginals, `trilemma.product_of_marginals`) when it agrees with a target built with a
small autoregressive model $p_{AR}$, the normalised geometric mixture
$$p_T(x) = \frac{p_D(x)^R\,p_{AR}(x)^{1-R}}{Z(R)}, \qquad
  Z(R) = \sum_x p_D(x)^R\,p_{AR}(x)^{1-R}, \qquad R \in [0, 1].$$
The paper applies it per position, as the softmax of $R\ell_D + (1-R)\ell_{AR}$,
renormalised at every position and re-conditioned on the tokens accepted so far, so
APD's output law is not exactly this sequence-level $p_T$ (REFERENCE 5.11). Here both
experts are exact distributions over whole sequences and $p_T$ is their sequence-level
geometric mixture, so its entropy, support and divergences from a target are exact.

Two facts fix what the mixture can and cannot do (the first is tested as a
property):

* **Variational form.** $p_T$ minimises $R\,D(r\|p_D) + (1-R)\,D(r\|p_{AR})$ over
  distributions $r$, with minimum $-\log Z(R) \ge 0$ (Hölder gives $Z \le 1$).
* **Support.** For $0 < R < 1$, $\mathrm{supp}\,p_T = \mathrm{supp}\,p_D \cap
  \mathrm{supp}\,p_{AR}$: the mixture never produces an outcome that either expert
  rules out, so its recall $p^*(\mathrm{supp}\,p_T)$ is at most both experts'.

Its entropy is *not* always below both experts': two confident experts that disagree
average to a flatter law, e.g. $(0.9, 0.1)$ and $(0.1, 0.9)$ at $R = \tfrac12$ give
$(\tfrac12, \tfrac12)$.

`autoregressive_model` builds a stand-in for the small AR model from a joint: the law
of sampling it left to right with tempered, nucleus-truncated conditionals.

References:
  Israel, Van den Broeck & Grover, *Accelerating Diffusion LLMs via Adaptive
  Parallel Decoding*, arXiv:2506.00413.
  Hinton, *Training Products of Experts by Minimizing Contrastive Divergence*,
  Neural Computation 14 (2002).
  Holtzman et al., *The Curious Case of Neural Text Degeneration*, ICLR 2020
  (nucleus sampling).
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
from jax.scipy.special import logsumexp

from . import _checks
from ._types import Array

__all__ = ["autoregressive_model", "product_of_experts"]


def product_of_experts(p_d, p_ar, weight) -> Array:
    r"""APD's target $p_T \propto p_D^R\,p_{AR}^{1-R}$ for two pmfs of the same shape.

    $$p_T(x) = \frac{p_D(x)^R\,p_{AR}(x)^{1-R}}
                    {\sum_{x'} p_D(x')^R\,p_{AR}(x')^{1-R}},$$
    computed in log space as $\mathrm{softmax}(R\log p_D + (1-R)\log p_{AR})$ with
    $0^0 = 1$: at $R = 1$ the result is $p_D$ whatever the zeros of $p_{AR}$, at
    $R = 0$ it is $p_{AR}$, and for $0 < R < 1$ its support is
    $\mathrm{supp}\,p_D \cap \mathrm{supp}\,p_{AR}$.

    It is the minimiser of $R\,D(r\|p_D) + (1-R)\,D(r\|p_{AR})$ over pmfs $r$, with
    minimum $-\log Z$ (the KL-geometric, or "e-", interpolation of the experts).

    Args:
      p_d: the dLLM's pmf $p_D$ (e.g. `product_of_marginals(p)`); any shape.
      p_ar: the autoregressive pmf $p_{AR}$, same shape as `p_d`.
      weight: the mixture weight $R \in [0, 1]$ (a scalar; may be traced, e.g. under
        `jax.vmap` over a grid of weights, and is then not checked).

    Returns:
      The pmf $p_T$, shape and dtype of `p_d`. Under `jit` a disjoint intersection
      of supports gives NaN instead of the eager `ValueError`.

    Raises:
      ValueError: for pmfs of different shapes, a weight outside $[0, 1]$, or (when
        every input is concrete) disjoint supports with $0 < R < 1$.

    >>> import jax.numpy as jnp
    >>> from trilemma import product_of_experts
    >>> p_t = product_of_experts(jnp.array([0.9, 0.1]), jnp.array([0.1, 0.9]), 0.5)
    >>> [round(float(v), 12) for v in p_t]
    [0.5, 0.5]

    References:
      Israel et al., *Accelerating Diffusion LLMs via Adaptive Parallel Decoding*,
      arXiv:2506.00413.
    """
    p_d = _checks.check_pmf(p_d, name="p_d")
    p_ar = _checks.check_pmf(p_ar, name="p_ar")
    _checks.check_same_shape(p_d, p_ar, ("p_d", "p_ar"))
    _checks.check_same_dtype(p_d, p_ar, ("p_d", "p_ar"))
    weight = _check_weight(weight)
    if _checks.is_concrete(weight) and all(map(_checks.is_concrete, (p_d, p_ar))):
        r = float(weight)
        if 0 < r < 1:
            _checks.check_supports_meet(p_d, p_ar, ("p_d", "p_ar"), r)
    return _product_of_experts(p_d, p_ar, weight.astype(p_d.dtype))


def autoregressive_model(p, *, temperature: float = 1.0, top_p: float = 1.0) -> Array:
    r"""The joint law of sampling `p` left to right with tempered, nucleus conditionals.

    With $c_i(x_i \mid x_{<i}) = p(x_{\le i}) / p(x_{<i})$ the conditionals of the
    dense joint $p$ (one axis per token, decoded in axis order), each is
    1. tempered: $\tilde c_i \propto c_i^{1/\tau}$ ($\tau$ = `temperature`);
    2. nucleus-truncated: keep the smallest set of most likely tokens whose tempered
       mass reaches `top_p`, ties included (token $v$ is kept iff the mass of the
       tokens strictly more likely than $v$ is below `top_p`), and renormalise;
    and the result is $q(x) = \prod_i \hat c_i(x_i \mid x_{<i})$. With $\tau < 1$ or
    `top_p` $< 1$ this is a model sharper than the data, which misses its
    low-probability continuations: a stand-in for APD's small AR model.

    After a prefix with $p(x_{<i}) = 0$ the conditional is taken uniform; this does
    not change $q$, since such a prefix already has $q$-probability zero (tempering
    and truncation never add support).

    Args:
      p: dense joint pmf, one axis per token (at least one axis).
      temperature: $\tau > 0$; 1 leaves the conditionals unchanged, $\tau \to 0$
        approaches greedy decoding.
      top_p: nucleus mass in $(0, 1]$; 1 keeps every token. A value below the
        largest conditional probability keeps only the argmax (and its ties).

    Returns:
      The joint pmf $q$, shape and dtype of `p`. `temperature=1, top_p=1` gives `p`
      back (up to rounding).

    Raises:
      ValueError: for a scalar `p`, `temperature` $\le 0$ or `top_p` outside
        $(0, 1]$.

    >>> import jax.numpy as jnp
    >>> from trilemma import autoregressive_model
    >>> p = jnp.array([[0.4, 0.2], [0.1, 0.3]])
    >>> q = autoregressive_model(p, top_p=0.5)  # greedy on x1 (0.6), then on x2
    >>> [[round(float(v), 12) for v in row] for row in q]
    [[1.0, 0.0], [0.0, 0.0]]

    Note:
      Truncation compares every pair of tokens of a conditional, so it costs
      $|V|$ times the size of `p` in memory.

    References:
      Holtzman et al., *The Curious Case of Neural Text Degeneration*, ICLR 2020.
    """
    p = _checks.check_pmf(p, name="p")
    _checks.check_ndim(p, "p", minimum=1)
    temperature = _checks.check_real(
        temperature, "temperature", low=0.0, low_open=True, high_open=True
    )
    top_p = _checks.check_real(top_p, "top_p", low=0.0, high=1.0, low_open=True)
    return _autoregressive(p, temperature, top_p)


# --- validation -----------------------------------------------------------------------


def _check_weight(weight):
    """`weight` as a scalar array: a real in [0, 1], checked when concrete."""
    if isinstance(weight, bool | int | float):
        weight = _checks.check_real(weight, "weight", low=0.0, high=1.0)
    weight = _checks.check_reals(weight, "weight", low=0.0, high=1.0)
    _checks.check_shape(weight, "weight", ())
    return weight


# --- kernels --------------------------------------------------------------------------


def _safe_log(p):
    """Log of p on supp p, 0 elsewhere (finite values and gradients everywhere)."""
    return jnp.log(jnp.where(p > 0, p, 1))


@jax.jit
def _product_of_experts(p_d, p_ar, weight):
    # Support with 0^0 = 1: R = 1 keeps p_d's zeros only, R = 0 keeps p_ar's only.
    support = jnp.where(
        weight >= 1,
        p_d > 0,
        jnp.where(weight <= 0, p_ar > 0, (p_d > 0) & (p_ar > 0)),
    )
    logits = weight * _safe_log(p_d) + (1 - weight) * _safe_log(p_ar)
    logits = jnp.where(support, logits, -jnp.inf)
    return jnp.where(support, jnp.exp(logits - logsumexp(logits)), 0)


@functools.partial(jax.jit, static_argnames=("temperature", "top_p"))
def _autoregressive(p, temperature: float, top_p: float):
    q = jnp.ones((), p.dtype)
    prefix = jnp.sum(p)  # p(x_{<0}): the empty prefix
    for i in range(p.ndim):
        upto = jnp.sum(p, axis=tuple(range(i + 1, p.ndim)))  # p(x_{<=i})
        cond = _sharpen(_conditional(upto, prefix), temperature, top_p)
        q = q[..., None] * cond
        prefix = upto
    return q


def _conditional(upto, prefix):
    """p(x_i | x_<i) = p(x_<=i) / p(x_<i); uniform after a zero-mass prefix."""
    size = upto.shape[-1]
    positive = prefix[..., None] > 0
    safe = jnp.where(positive, prefix[..., None], 1)
    return jnp.where(positive, upto / safe, jnp.ones((), upto.dtype) / size)


def _sharpen(c, temperature: float, top_p: float):
    """Temper (c^(1/tau), renormalised) then nucleus-truncate the last axis."""
    if temperature != 1.0:
        logits = jnp.where(c > 0, _safe_log(c) / temperature, -jnp.inf)
        top = jnp.max(logits, axis=-1, keepdims=True)
        w = jnp.where(c > 0, jnp.exp(logits - top), 0)
        c = w / jnp.sum(w, axis=-1, keepdims=True)
    if top_p < 1.0:
        # Mass of the tokens strictly more likely than each token (ties share it).
        above = jnp.sum(
            jnp.where(c[..., None, :] > c[..., :, None], c[..., None, :], 0), axis=-1
        )
        w = jnp.where(above < top_p, c, 0)
        c = w / jnp.sum(w, axis=-1, keepdims=True)
    return c
