r"""The trilemma point's functionals, on aligned cells: one definition for every path.

A sampler's law $q$ and the reference $p^*$ are joint pmfs over the same cells
$(x, y)$, each cell with its prompt index $x$; the invalid outputs (off
$V = \mathrm{supp}\,p^*$) may share cells. On such rows

$$\text{precision} = q(V), \quad \text{recall} = p^*(\mathrm{supp}\,q), \quad
  \mathrm{TV} = \tfrac12 \textstyle\sum |q - p^*|, \quad D(p^*\|q),$$
$$H_q(Y|X), \quad H_{q_V}(Y|X) \text{ with } q_V = q\,\mathbb 1_V / q(V), \quad
  H_{p^*}(Y|X).$$

Three paths evaluate them: the exact point of a simulation (`trilemma_point`, on the
exact joint laws), the estimators (`estimate_point`: the plug-in statistics and
their bootstrap truths, on rows $\hat q(y|x)/P$ with prompts weighted equally), and
a trained model's fit (`trilemma.fit`). Every function takes rows `(..., C)` and
returns `(...)`, in the array namespace of its input (NumPy for NumPy arrays,
`jax.numpy` for JAX arrays and tracers, so `jax.vmap` and `jit` apply), in nats.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import scipy.special

__all__ = [
    "conditional_entropy_of_cells",
    "kl_reference_to_sampler",
    "point_functionals",
    "precision",
    "recall",
    "total_variation",
    "valid_entropy",
]


def _xp(x):
    """`jax.numpy` for JAX arrays and tracers, else NumPy."""
    return jnp if isinstance(x, jax.Array) else np


def precision(q, p_star):
    r"""The sampler's mass on the reference's support, $q(\mathrm{supp}\,p^*)$.

    >>> import numpy as np
    >>> float(precision(np.array([0.25, 0.25, 0.5]), np.array([0.5, 0.5, 0.0])))
    0.5
    """
    xp = _xp(q)
    return xp.sum(xp.where(p_star > 0, q, 0.0), axis=-1)


def recall(q, p_star):
    r"""The reference's mass on the sampler's support, $p^*(\mathrm{supp}\,q)$.

    >>> import numpy as np
    >>> float(recall(np.array([1.0, 0.0, 0.0]), np.array([0.5, 0.5, 0.0])))
    0.5
    """
    xp = _xp(q)
    return xp.sum(xp.where(q > 0, p_star, 0.0), axis=-1)


def total_variation(q, p_star):
    r"""$\mathrm{TV}(q, p^*) = \frac12 \sum |q - p^*|$."""
    xp = _xp(q)
    return 0.5 * xp.sum(xp.abs(q - p_star), axis=-1)


def kl_reference_to_sampler(q, p_star):
    r"""$D(p^* \| q) = \sum p^* \log(p^*/q)$: $+\infty$ where $q = 0 < p^*$.

    >>> import numpy as np
    >>> float(kl_reference_to_sampler(np.array([1.0, 0.0]), np.array([0.5, 0.5])))
    inf
    """
    xp = _xp(q)
    rel_entr = jax.scipy.special.rel_entr if xp is jnp else scipy.special.rel_entr
    return xp.sum(rel_entr(p_star, q), axis=-1)


def conditional_entropy_of_cells(pmf, prompt, num_prompts: int):
    r"""$H(Y|X) = H(X, Y) - H(X)$ of a joint pmf on cells, given each cell's prompt.

    Args:
      pmf: `(..., C)` joint masses (each row summing to 1).
      prompt: `(C,)` integer prompt index of each cell, in $[0, P)$.
      num_prompts: $P$.

    >>> import numpy as np  # two prompts of mass 1/2: one bit, then none
    >>> h = conditional_entropy_of_cells(np.array([0.25, 0.25, 0.5]), [0, 0, 1], 2)
    >>> round(float(h / np.log(2)), 12)
    0.5
    """
    xp = _xp(pmf)
    entr = jax.scipy.special.entr if xp is jnp else scipy.special.entr
    marginal = _per_prompt(pmf, prompt, num_prompts)
    return xp.sum(entr(pmf), axis=-1) - xp.sum(entr(marginal), axis=-1)


def valid_entropy(q, p_star, prompt, num_prompts: int):
    r"""$H_{q_V}(Y|X)$, $q$ restricted to $V = \mathrm{supp}\,p^*$ and renormalised.

    The diversity of what the sampler gets right: prompts weigh by their valid mass
    $q(x, V)$. Zero where $q(V) = 0$.
    """
    xp = _xp(q)
    valid = xp.where(p_star > 0, q, 0.0)
    mass = xp.sum(valid, axis=-1, keepdims=True)
    share = valid / xp.where(mass > 0, mass, 1.0)
    return conditional_entropy_of_cells(share, prompt, num_prompts)


def point_functionals(q, p_star, prompt, num_prompts: int) -> dict:
    """Every functional above, by the trilemma point's field names.

    Keys `precision`, `recall`, `tv`, `entropy` ($H_q(Y|X)$, meaningful only when
    every invalid output has its own cell), `valid_entropy`, `reference_entropy`
    and `kl_reference_to_sampler`.
    """
    return {
        "precision": precision(q, p_star),
        "recall": recall(q, p_star),
        "tv": total_variation(q, p_star),
        "entropy": conditional_entropy_of_cells(q, prompt, num_prompts),
        "valid_entropy": valid_entropy(q, p_star, prompt, num_prompts),
        "reference_entropy": conditional_entropy_of_cells(p_star, prompt, num_prompts),
        "kl_reference_to_sampler": kl_reference_to_sampler(q, p_star),
    }


def _per_prompt(values, prompt, num_prompts: int):
    """`(..., P)`: the sums of rows `values` `(..., C)` over each prompt's cells."""
    if _xp(values) is jnp:
        moved = jnp.moveaxis(values, -1, 0)
        total = jax.ops.segment_sum(moved, jnp.asarray(prompt), num_prompts)
        return jnp.moveaxis(total, 0, -1)
    values = np.asarray(values, float)
    prompt = np.asarray(prompt, np.int64)
    lead = values.shape[:-1]
    rows = int(np.prod(lead))
    seg = (np.arange(rows)[:, None] * num_prompts + prompt[None, :]).ravel()
    total = np.bincount(seg, values.reshape(rows, -1).ravel(), rows * num_prompts)
    return total.reshape(*lead, num_prompts)
