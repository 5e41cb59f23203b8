r"""The ideal (oracle) model of a task: exact conditional marginals.

ParallelBench's analysis assumes an ideal model whose per-position predictions are the
true conditional marginals $p^*(y_j \mid X, \text{revealed tokens})$,

$$p^*(y_j = v \mid x, r) = \frac{\sum_{y \in \mathrm{supp}:\, y \sim r} p^*(y|x)\,
[y_j = v]}{\sum_{y \sim r} p^*(y|x)},$$

summed over the support rows $y$ that agree with the revealed tokens $r$.
`oracle_marginals` is the one implementation, written against the array namespace:
the exact enumerator (`trilemma.simulate`, NumPy, many states at once) and the
oracle model (`oracle_model`, a traced `logits_fn` for the jitted decoder) both call
it.

**Convention for impossible prefixes.** When the revealed tokens have probability 0
under $p^*(\cdot|x)$, every completion is invalid and the marginals are undefined; the
oracle then returns the uniform distribution over each position's alphabet.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from .layout import task_layout
from .models import Model
from .samplers.rules import xp_of


def oracle_marginals(state_of_row, weights, rows, num_states: int, sizes, vocab: int):
    r"""Conditional marginals of many states from their consistent support rows.

    Args:
      state_of_row: `(N,)` the state each row belongs to.
      weights: `(N,)` $p^*(y|x)$ of each row (0 for a row that disagrees).
      rows: `(N, L)` the support rows' output tokens.
      num_states: number of states $S$.
      sizes: `(L,)` alphabet sizes of the output positions.
      vocab: width $V$ of the result.

    Returns:
      `(S, L, V)` marginals; uniform over each alphabet for a state whose rows have
      no mass (the impossible-prefix convention).
    """
    xp = xp_of(weights)
    dtype = weights.dtype
    state_of_row, rows = state_of_row.astype(int), rows.astype(int)
    probs = _weighted_counts(xp, state_of_row, weights, rows, num_states, vocab)
    total = probs[:, :1].sum(axis=-1, keepdims=True)  # every row has one token there
    sizes = xp.asarray(sizes).astype(dtype)[:, None]
    uniform = (xp.arange(vocab, dtype=dtype)[None, :] < sizes).astype(dtype) / sizes
    return xp.where(total > 0, probs / xp.where(total > 0, total, 1.0), uniform)


def _weighted_counts(xp, state_of_row, weights, rows, num_states: int, vocab: int):
    r"""$\sum_n [s_n = s]\, w_n\, [y_{nj} = v]$ as `(S, L, V)`.

    NumPy (the enumerator: many states, many rows) adds into the flat cell index;
    JAX (the oracle model: one state per call) contracts one-hot tables, a matrix
    product that compiles and runs far faster than a scatter.
    """
    length = rows.shape[1]
    if xp is np:
        position = np.arange(length)[None, :]
        cell = (state_of_row[:, None] * length + position) * vocab + rows
        flat = np.bincount(
            cell.ravel(),
            weights=np.repeat(weights, length),
            minlength=num_states * length * vocab,
        )
        return flat.reshape(num_states, length, vocab).astype(weights.dtype)
    dtype = weights.dtype
    states = jax.nn.one_hot(state_of_row, num_states, dtype=dtype)
    tokens = jax.nn.one_hot(rows, vocab, dtype=dtype)
    return jnp.einsum("ns,nlv->slv", states * weights[:, None], tokens)


def oracle_params(task) -> dict[str, jax.Array]:
    """The oracle's tables (its traced parameters): support rows and their weights."""
    outcomes = np.asarray(task.joint.outcomes).astype(np.int32)
    probs = np.asarray(task.joint.probs, float)
    prompt_mass = np.bincount(
        outcomes[:, 0], weights=probs, minlength=int(task.joint.sizes[0])
    )
    layout = task_layout(task)
    return {
        "prefix_of_row": jnp.asarray(layout.prefixes[outcomes[:, 0]]),
        "rows": jnp.asarray(outcomes[:, 1:]),
        "weights": jnp.asarray(probs / prompt_mass[outcomes[:, 0]]),
        "sizes": jnp.asarray(layout.sizes, jnp.int32),
        "mask_id": jnp.asarray(layout.mask_id, jnp.int32),
        "vocab": jnp.zeros(layout.vocab_size, jnp.int8),  # its shape carries V
    }


def oracle_logits(params, tokens) -> jax.Array:
    r"""`logits_fn(params, tokens)` of the oracle: log of the exact marginals.

    Args:
      params: `oracle_params(task)`.
      tokens: `(m + L,)` a sequence in the task's layout.

    Returns:
      `(m + L, V)`: prefix rows put all mass on their token, output rows are
      $\log p^*(y_j \mid x, \text{revealed})$ ($-\infty$ for impossible tokens).
    """
    rows, weights = params["rows"], params["weights"]
    vocab = params["vocab"].shape[0]
    tokens = jnp.asarray(tokens).astype(jnp.int32)
    prefix_length = params["prefix_of_row"].shape[1]
    prefix, outputs = tokens[:prefix_length], tokens[prefix_length:]
    revealed = (outputs != params["mask_id"])[None, :]
    agree = jnp.all((rows == outputs[None, :]) | ~revealed, axis=1)
    same_prompt = jnp.all(params["prefix_of_row"] == prefix[None, :], axis=1)
    w = jnp.where(agree & same_prompt, weights, 0.0)
    state = jnp.zeros(rows.shape[0], jnp.int32)
    marginals = oracle_marginals(state, w, rows, 1, params["sizes"], vocab)[0]
    prefix_rows = jax.nn.one_hot(prefix, vocab, dtype=w.dtype)
    table = jnp.concatenate([prefix_rows, marginals])
    return jnp.where(table > 0, jnp.log(jnp.where(table > 0, table, 1.0)), -jnp.inf)


def oracle_ar_logits(params, tokens) -> jax.Array:
    r"""`logits_fn` of $p^*$'s exact autoregressive conditionals (row i predicts i + 1).

    Row $m - 1 + j$ is $\log p^*(y_j \mid x, y_{<j})$, conditioned on the tokens
    left of output position $j$ (a masked one is marginalised out); an impossible
    prefix gives the uniform law on the alphabet, as `oracle_marginals` does. The
    rows of the prompt predict the prompt's next token. APD's exact verifier.

    Args:
      params: `oracle_params(task)`.
      tokens: `(m + L,)` a sequence in the task's layout.
    """
    rows, weights = params["rows"], params["weights"]
    vocab = params["vocab"].shape[0]
    tokens = jnp.asarray(tokens).astype(jnp.int32)
    prefix_length = params["prefix_of_row"].shape[1]
    prefix, outputs = tokens[:prefix_length], tokens[prefix_length:]
    same_prompt = jnp.all(params["prefix_of_row"] == prefix[None, :], axis=1)
    agree = (rows == outputs[None, :]) | (outputs == params["mask_id"])[None, :]
    left = jnp.cumprod(agree.astype(weights.dtype), axis=1)
    before = jnp.concatenate([jnp.ones_like(left[:, :1]), left[:, :-1]], axis=1)
    w = jnp.where(same_prompt, weights, 0.0)[:, None] * before  # (N, L)
    counts = jnp.einsum("nl,nlv->lv", w, jax.nn.one_hot(rows, vocab, dtype=w.dtype))
    total = counts.sum(axis=-1, keepdims=True)
    sizes = params["sizes"][:, None]
    inside = jnp.arange(vocab, dtype=sizes.dtype)[None, :] < sizes
    uniform = inside.astype(w.dtype) / sizes.astype(w.dtype)
    conditionals = jnp.where(
        total > 0, counts / jnp.where(total > 0, total, 1), uniform
    )
    next_prefix = jax.nn.one_hot(prefix[1:], vocab, dtype=w.dtype)
    last = jnp.full((1, vocab), 1.0 / vocab, w.dtype)  # predicts past the sequence
    table = jnp.concatenate([next_prefix, conditionals, last])
    return jnp.where(table > 0, jnp.log(jnp.where(table > 0, table, 1.0)), -jnp.inf)


def oracle_ar_model(task) -> Model:
    """$p^*$'s exact autoregressive conditionals as a `Model` (APD's ideal verifier)."""
    return oracle_model(task)._replace(logits_fn=oracle_ar_logits, name="oracle-ar")


def oracle_model(task) -> Model:
    """The ideal model of `task` as a `Model` (traced tables, the task's layout)."""
    return Model(
        logits_fn=oracle_logits,
        params=oracle_params(task),
        layout=task_layout(task),
        name="oracle",
    )
