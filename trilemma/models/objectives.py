r"""Training objectives of the embedded models, in nats per output token.

**Masked diffusion** (the blog post's bound). For a clean sequence $x^0$ with $L$
output positions, draw $t \in (0, 1]$, mask each output token independently with
probability $t$, and score the masked tokens:

$$\mathcal{L}(\theta) = \mathbb{E}_{t,\,x^t}\Big[\frac{1}{t}\sum_{j:\,x^t_j =
\mathrm{MASK}} -\log p_\theta(x^0_j \mid x^t)\Big] \Big/ L .$$

Two unbiased estimators of this one objective (`masking=`):

* `"rate"`, the bound as written: $t$ per example, stratified across a batch of $B$,
  $t_b = 1 - (b + u_b)/B$ with $u_b \sim U[0, 1)$, one in each of $B$ equal bins;
  each output masked with probability $t_b$, weight $1/(t_b L)$.
* `"count"` (the default), the same expectation with the time integrated out: given
  $k$ masked tokens, $\int_0^1 \frac{1}{t}\,t^k (1-t)^{L-k}\,dt
  = B(k, L-k+1) = \frac{1}{k\binom{L}{k}}$, so
  $$\mathcal{L} = \mathbb{E}_{k \sim U\{1..L\}}\,\mathbb{E}_{|M| = k}
    \Big[\frac{1}{k}\sum_{j \in M} -\log p_\theta(x^0_j \mid x^M)\Big]:$$
  a uniform count $k$ (stratified across the batch), a uniform $k$-subset masked,
  the mean NLL of the masked tokens. It never draws an example with nothing masked
  and has no $1/t$ weight, which under `"rate"` reaches $B/L$ for the smallest
  stratum and, after gradient clipping, lets a single example steer a step.

The prefix (the prompt) is never masked. The mask token gets no probability (the
decoder never draws it), so the softmax runs over the others.

**Autoregressive**: next-token cross-entropy on the output positions, given the prefix
and the earlier outputs, from a causal model whose position $i$ predicts token $i+1$.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp


def _log_probs(logits, mask_id: int):
    if 0 <= mask_id < logits.shape[-1]:
        logits = logits.at[..., mask_id].set(-jnp.inf)
    return jax.nn.log_softmax(logits, axis=-1)


def stratified_times(key, batch: int):
    r"""$t_b = 1 - (b + u_b)/B \in (0, 1]$: one masking rate per example, stratified."""
    u = jax.random.uniform(key, (batch,))
    return 1.0 - (jnp.arange(batch, dtype=u.dtype) + u) / batch


MASKINGS = ("count", "rate")
"""The two estimators of the masked-diffusion objective (module docstring)."""


def diffusion_loss(
    logits_fn, params, key, tokens, is_output, *, mask_id, masking: str = "count"
):
    r"""The masked-diffusion objective on a batch of clean sequences `(B, S)`.

    Args:
      logits_fn: `logits_fn(params, tokens (S,)) -> (S, V)`, bidirectional.
      params: its parameters.
      key: PRNG key for the times and the masks.
      tokens: `(B, S)` clean sequences.
      is_output: `(B, S)` booleans, the output positions (the rest, the prompt, is
        never masked); example $b$ has $L_b$ of them.
      mask_id: the mask token.
      masking: `"count"` or `"rate"`, the estimator (module docstring).

    Returns:
      Scalar: the batch mean of $w_b \sum_{j \text{ masked}} -\log
      p_\theta(x^0_j \mid x^t)$ (nats per output token), with $w_b = 1/k_b$
      (`count`) or $1/(t_b L_b)$ (`rate`).
    """
    return jnp.mean(
        diffusion_losses(
            logits_fn, params, key, tokens, is_output, mask_id=mask_id, masking=masking
        )
    )


def diffusion_losses(
    logits_fn, params, key, tokens, is_output, *, mask_id, masking: str = "count"
):
    """`(B,)` per-example terms of `diffusion_loss` (its batch mean is the loss).

    Under `count` masking each term is an unbiased estimate of the example's loss
    in nats per output token (what group weighting averages per group).
    """
    if masking == "count":
        masked, weight = mask_counts(key, is_output)
    elif masking == "rate":
        t, masked = mask_outputs(key, tokens.shape)
        masked = masked & is_output
        count = jnp.maximum(jnp.sum(is_output, axis=1), 1).astype(t.dtype)
        weight = 1.0 / (t * count)
    else:
        raise ValueError(f"`masking` must be one of {MASKINGS}; got {masking!r}")
    noisy = jnp.where(masked, jnp.asarray(mask_id, tokens.dtype), tokens)
    logits = jax.vmap(logits_fn, in_axes=(None, 0))(params, noisy)
    nll = _token_nll(logits, tokens, mask_id)
    per_example = jnp.sum(jnp.where(masked, nll, 0.0), axis=1)
    return per_example * weight.astype(nll.dtype)


def mask_counts(key, is_output):
    r"""`(masked (B, S), 1/k (B,))`: $k_b$ uniform on $1..L_b$, a uniform $k_b$-subset.

    The counts are stratified: $k_b = 1 + \lfloor (b + u_b) L_b / B \rfloor$, so each
    count takes its share of the batch. Examples without outputs get weight 0.
    """
    batch = is_output.shape[0]
    key_u, key_order = jax.random.split(key)
    length = jnp.sum(is_output, axis=1)
    u = jax.random.uniform(key_u, (batch,))
    u = (jnp.arange(batch, dtype=u.dtype) + u) / batch
    k = jnp.minimum(
        1 + jnp.floor(u * length.astype(u.dtype)).astype(length.dtype), length
    )
    noise = jnp.where(is_output, jax.random.uniform(key_order, is_output.shape), 2.0)
    rank = jnp.argsort(jnp.argsort(noise, axis=1), axis=1)
    masked = (rank < k[:, None]) & is_output
    weight = jnp.where(k > 0, 1.0 / jnp.maximum(k, 1).astype(u.dtype), 0.0).astype(
        u.dtype
    )
    return masked, weight


def mask_outputs(key, shape):
    r"""`(t (B,), masked (B, S))`: stratified times, each position masked w.p. $t_b$."""
    key_t, key_mask = jax.random.split(key)
    t = stratified_times(key_t, shape[0])
    return t, jax.random.uniform(key_mask, shape) < t[:, None]


def autoregressive_loss(logits_fn, params, tokens, is_output, *, mask_id):
    """Next-token cross-entropy of the output positions, per output token (nats).

    Args:
      logits_fn: causal `logits_fn(params, tokens (S,)) -> (S, V)`; row $i$ predicts
        token $i + 1$.
      params: its parameters.
      tokens: `(B, S)` clean sequences.
      is_output: `(B, S)` booleans, the output positions (never the first).
      mask_id: a token never predicted (kept out of the softmax).
    """
    nll, target = autoregressive_nll(logits_fn, params, tokens, is_output, mask_id)
    return jnp.sum(jnp.where(target, nll, 0.0)) / jnp.sum(target).astype(nll.dtype)


def autoregressive_nll(logits_fn, params, tokens, is_output, mask_id: int):
    """`(nll (B, S-1), target (B, S-1))`: each next-token NLL and whether it counts.

    `autoregressive_loss` is the mean of `nll` over `target`; the mean over one
    row's targets is that example's loss (what group weighting averages).
    """
    logits = jax.vmap(logits_fn, in_axes=(None, 0))(params, tokens)
    return _token_nll(logits[:, :-1], tokens[:, 1:], mask_id), is_output[:, 1:]


def _token_nll(logits, tokens, mask_id: int):
    r"""$-\log p(\text{token})$ at every position, the mask kept out of the softmax."""
    log_p = _log_probs(logits, mask_id)
    return -jnp.take_along_axis(log_p, tokens[..., None], axis=-1)[..., 0]
