r"""The ideal (oracle) model of a task: exact conditional marginals as a `logits_fn`.

ParallelBench's analysis assumes an ideal model whose per-position predictions are the
true conditional marginals $p^*(y_j \mid X, \text{revealed tokens})$. `oracle_logits_fn`
wraps them in the interface of a trained dLLM, `tokens (1 + L,) -> logits (1 + L, V)`,
so the Monte Carlo decoder (`trilemma.samplers.decode`) runs on it unchanged. The exact
enumerator (`trilemma.simulate`) computes the same marginals level by level.

**Sequence layout.** Position 0 holds the prompt index (never masked); positions
1..L the output tokens; `mask_id` = V (one past the largest alphabet).

**Convention for impossible prefixes.** When the revealed tokens have probability 0
under $p^*(\cdot|x)$, every completion is invalid and the marginals are undefined; the
oracle then returns the uniform distribution over each position's alphabet.
"""

from __future__ import annotations

from collections.abc import Callable

import jax
import jax.numpy as jnp
import numpy as np

from .tasks import Task


def oracle_vocab(task: Task) -> int:
    """Vocabulary size V of the oracle's sequences (the mask token is V)."""
    return int(max(task.joint.sizes))


def oracle_logits_fn(task: Task) -> Callable[[jax.Array], jax.Array]:
    r"""`logits_fn(tokens)` of the oracle: log of the exact conditional marginals.

    Args:
      task: an enumerable task.

    Returns:
      A jittable function `tokens (1 + L,) -> logits (1 + L, V)`: row 0 puts all mass
      on the prompt token, rows $j \ge 1$ are $\log p^*(y_j \mid x, \text{revealed})$
      ($-\infty$ for impossible tokens), uniform over the alphabet after an impossible
      prefix.
    """
    vocab = oracle_vocab(task)
    outcomes = np.asarray(task.joint.outcomes).astype(np.int32)
    probs = np.asarray(task.joint.probs, float)
    sizes = np.asarray(task.joint.sizes[1:])
    support = jnp.asarray(outcomes)
    weights = jnp.asarray(probs)
    one_hot = jax.nn.one_hot(support[:, 1:], vocab, dtype=weights.dtype)  # (N, L, V)
    uniform = jnp.asarray(
        (np.arange(vocab)[None, :] < sizes[:, None]) / sizes[:, None], weights.dtype
    )
    mask_id = vocab

    def logits_fn(tokens):
        tokens = jnp.asarray(tokens).astype(jnp.int32)
        revealed = tokens[1:] != mask_id
        agree = (support[:, 1:] == tokens[None, 1:]) | ~revealed[None, :]
        consistent = jnp.all(agree, axis=1) & (support[:, 0] == tokens[0])
        w = jnp.where(consistent, weights, 0.0)
        total = jnp.sum(w)
        marginals = jnp.einsum("n,nlv->lv", w, one_hot) / jnp.where(total > 0, total, 1)
        marginals = jnp.where(total > 0, marginals, uniform)
        prompt_row = jax.nn.one_hot(tokens[0], vocab, dtype=weights.dtype)[None, :]
        rows = jnp.concatenate([prompt_row, marginals])
        return jnp.where(rows > 0, jnp.log(jnp.where(rows > 0, rows, 1.0)), -jnp.inf)

    return logits_fn


def initial_tokens(task: Task, prompt_index: int = 0) -> jax.Array:
    """The all-masked sequence for one prompt: `[prompt, MASK, ..., MASK]`."""
    mask_id = oracle_vocab(task)
    length = len(task.outputs)
    return jnp.asarray([prompt_index] + [mask_id] * length, jnp.int32)
