r"""Training objectives of the embedded models, in nats per output token.

**Masked diffusion** (the blog post's bound). For a clean sequence $x^0$ with $L$
output positions, draw $t \in (0, 1]$, mask each output token independently with
probability $t$, and score the masked tokens:

$$\mathcal{L}(\theta) = \mathbb{E}_{t,\,x^t}\Big[\frac{1}{t}\sum_{j:\,x^t_j =
\mathrm{MASK}} -\log p_\theta(x^0_j \mid x^t)\Big] \Big/ L .$$

Across a batch of $B$ examples the times are stratified, $t_b = 1 - (b + u_b)/B$ with
$u_b \sim U[0, 1)$, one in each of $B$ equal bins, which keeps the estimator unbiased
and cuts its variance. The prefix (the prompt) is never masked. The mask token gets
no probability (the decoder never draws it), so the softmax runs over the others.

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


def diffusion_loss(logits_fn, params, key, tokens, is_output, *, mask_id):
    r"""The masked-diffusion objective on a batch of clean sequences `(B, S)`.

    Args:
      logits_fn: `logits_fn(params, tokens (S,)) -> (S, V)`, bidirectional.
      params: its parameters.
      key: PRNG key for the times and the masks.
      tokens: `(B, S)` clean sequences.
      is_output: `(B, S)` booleans, the output positions (the rest, the prompt, is
        never masked); example $b$ has $L_b$ of them.
      mask_id: the mask token.

    Returns:
      Scalar: the batch mean of $\frac{1}{t_b L_b} \sum_{j \text{ masked}}
      -\log p_\theta(x^0_j \mid x^t)$ (nats per output token).
    """
    t, masked = mask_outputs(key, tokens.shape)
    masked = masked & is_output
    noisy = jnp.where(masked, jnp.asarray(mask_id, tokens.dtype), tokens)
    logits = jax.vmap(logits_fn, in_axes=(None, 0))(params, noisy)
    nll = _token_nll(logits, tokens, mask_id)
    per_example = jnp.sum(jnp.where(masked, nll, 0.0), axis=1)
    count = jnp.maximum(jnp.sum(is_output, axis=1), 1).astype(nll.dtype)
    return jnp.mean(per_example / (t.astype(nll.dtype) * count))


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
    logits = jax.vmap(logits_fn, in_axes=(None, 0))(params, tokens)
    nll = _token_nll(logits[:, :-1], tokens[:, 1:], mask_id)
    target = is_output[:, 1:]
    return jnp.sum(jnp.where(target, nll, 0.0)) / jnp.sum(target).astype(nll.dtype)


def _token_nll(logits, tokens, mask_id: int):
    r"""$-\log p(\text{token})$ at every position, the mask kept out of the softmax."""
    log_p = _log_probs(logits, mask_id)
    return -jnp.take_along_axis(log_p, tokens[..., None], axis=-1)[..., 0]
