r"""Fast-dLLM's Theorem 1 (Wu et al., 2025): parallel decoding under high confidence.

Let $p$ be the joint of $n$ tokens, $p_j$ its marginals and $q = \prod_j p_j$ the
product a parallel decoder samples. If some $x^*$ has $p_j(x^*_j) > 1-\epsilon$ for
every $j$, then

1. if $(n+1)\epsilon \le 1$: $\arg\max p = \arg\max q = x^*$ (greedy parallel decoding
   equals greedy joint decoding);
2. $\mathrm{TV}(p, q) < \tfrac{3n-1}{2}\epsilon$ and
   $D_{KL}(p\|q) < (n-1)\,(H_b(\epsilon) + \epsilon\ln(|V|-1))$ nats.

A sharper bound holds as well (derived in `paper_notes.md`):
$$\mathrm{TV}(p,q) \le \max(p(X\ne x^*), q(X\ne x^*))
  \le \sum_j (1 - p_j(x^*_j)) < n\epsilon.$$

References:
  Wu et al., *Fast-dLLM*, arXiv:2505.22618, Theorem 1.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np

from .. import _checks
from .._kernels import xlogx
from .._types import Array, Scalar
from ..distributions import check_joint, to_dense


def product_of_marginals(p) -> Array:
    r"""$q(x) = \prod_j p_j(x_j)$ for a dense joint $p$ (one axis per token)."""
    return _product(to_dense(check_joint(p)))


def marginal_confidences(p, x_star=None) -> Array:
    r"""$p_j(x^*_j)$ for every token $j$; `x_star` defaults to the marginals' argmax."""
    p = to_dense(check_joint(p))
    x_star = _x_star(p, x_star)
    return _confidences(p, x_star)


def fast_dllm_epsilon(p, x_star=None) -> Scalar:
    r"""The least $\epsilon$ of the hypothesis: $\epsilon_0 = \max_j (1 - p_j(x^*_j))$.

    The theorem needs $p_j(x^*_j) > 1-\epsilon$, so it holds for every
    $\epsilon > \epsilon_0$ and its bounds hold with $\le$ at $\epsilon_0$.
    """
    return jnp.max(1 - marginal_confidences(p, x_star))


def fast_dllm_tv_bound(num_tokens: int, epsilon) -> Scalar:
    r"""Fast-dLLM's total-variation bound $\tfrac{3n-1}{2}\epsilon$ (Theorem 1)."""
    return (3 * num_tokens - 1) / 2 * jnp.asarray(epsilon)


def fast_dllm_kl_bound(num_tokens: int, epsilon, vocab_size: int) -> Scalar:
    r"""Fast-dLLM's KL bound $(n-1)(H_b(\epsilon) + \epsilon\ln(|V|-1))$, in nats."""
    eps = jnp.asarray(epsilon, dtype=jnp.result_type(float))
    binary = -(xlogx(eps) + xlogx(1 - eps))
    return (num_tokens - 1) * (binary + eps * jnp.log(max(vocab_size - 1, 1)))


def sharper_tv_bound(p, x_star=None) -> Scalar:
    r"""$\sum_j (1 - p_j(x^*_j))$, an upper bound on $\mathrm{TV}(p, \prod_j p_j)$."""
    return jnp.sum(1 - marginal_confidences(p, x_star))


def greedy_equivalence_condition(num_tokens: int, epsilon) -> bool:
    r"""Fast-dLLM's condition $(n+1)\epsilon \le 1$: greedy parallel = greedy joint."""
    return bool((num_tokens + 1) * jnp.asarray(epsilon) <= 1)


def _x_star(p, x_star):
    if x_star is None:
        return tuple(int(jnp.argmax(_marginal(p, j))) for j in range(p.ndim))
    _checks.check_shape(x_star, "x_star", (p.ndim,))
    return tuple(
        _checks.check_int(v, f"x_star[{j}]", minimum=0, maximum=k - 1)
        for j, (v, k) in enumerate(
            zip(np.asarray(x_star).tolist(), p.shape, strict=True)
        )
    )


def _marginal(p, j):
    return jnp.sum(p, axis=tuple(i for i in range(p.ndim) if i != j))


@functools.partial(jax.jit, static_argnames=("x_star",))
def _confidences(p, x_star):
    return jnp.stack([_marginal(p, j)[v] for j, v in enumerate(x_star)])


@jax.jit
def _product(p):
    q = jnp.ones((), p.dtype)
    for j in range(p.ndim):
        q = jnp.multiply.outer(q, _marginal(p, j))
    return q
