r"""A small pre-LayerNorm transformer as a pure function of a parameter pytree.

One architecture serves both embedded models: bidirectional (the masked-diffusion
denoiser: logits at every position from the whole, partly masked sequence) and causal
(the autoregressive model: position $i$ sees positions $\le i$ and predicts token
$i + 1$). Each block is

$$x \leftarrow x + \mathrm{Attn}(\mathrm{LN}(x)), \qquad
  x \leftarrow x + W_2\,\mathrm{GELU}(W_1\,\mathrm{LN}(x) + b_1) + b_2,$$

after token and learned position embeddings, with a final LayerNorm and an untied
output projection.

Positions are absolute by default. With `segments = (pad_id, sep_id)` (the embedded
models' layout `[PAD]* [task] prompt [SEP] outputs`) a position $i$ is instead
embedded twice, by its distance from the first non-PAD token and by its signed
distance from the SEP token,
$$e_i = E^{\mathrm{start}}_{\,i - a} + E^{\mathrm{sep}}_{\,i - s + S - 1},$$
and PAD is kept out of attention. Copying prompt item $j$ to output $j$ (or to output
$n - 1 - j$) is then one position match whatever the group's padding; with absolute
positions the network must first work out each group's offsets, and a small model
trained for minutes does not. In a causal model a row before SEP reads where SEP is
(a later token), but only the rows after SEP are ever scored, and those see nothing
past themselves.

With `output_heads = h > 0` (segments needed) the last $h$ heads of every block are
*output heads*: in them an output position (after SEP) attends to SEP and the outputs
only, never to a prompt token (after the first block the prompt reaches it through
SEP); prompt positions and the other heads see every non-PAD token. On pooled
prompts every output is copied from the prompt, and copying is the first and
largest gain of training ($\log K \to \log n$ nats per token): at peak
learning rate 3e-3 every head of every block locks onto the prompt within a few
hundred steps (97% of an output's attention), and the rules that need attention
between outputs, Latin square's row and column exclusion, are then never learned
(the network stops at the position-blind optimum, 0.825 nats per cell on 3x3, against
0.276). Output heads cannot be captured that way (`paper_notes.md` §27).

The blocks' parameters are stacked along a leading depth axis and run with
`lax.scan`, so compile time does not grow with depth.

Parameters are a plain dict of arrays (no module library: the whole network is these
few functions), which is what the decoder traces; the architecture lives in a
hashable `TransformerConfig`, and `transformer_logits_fn(config)` returns the same
function object for equal configs, so it is a valid static `logits_fn` of a `Model`.
"""

from __future__ import annotations

import dataclasses
import functools
import math

import jax
import jax.numpy as jnp

from .. import _checks


@dataclasses.dataclass(frozen=True)
class TransformerConfig:
    r"""The architecture of an embedded model.

    Attributes:
      vocab_size: tokens embedded and predicted ($V$).
      sequence_length: the longest sequence (learned positions).
      width: model width $d$.
      depth: number of blocks.
      heads: attention heads (divides `width`).
      causal: autoregressive attention (position $i$ sees $\\le i$).
      mlp_ratio: hidden width of the MLP over `width`.
      segments: `(pad_id, sep_id)` for positions counted from the first non-PAD
        token and from SEP, PAD masked out of attention; None for absolute ones.
      output_heads: the last `output_heads` heads of each block keep the output
        positions' attention on SEP and the outputs (module docstring); 0 (no
        such heads) to `heads`, and above 0 only with `segments`.
    """

    vocab_size: int
    sequence_length: int
    width: int = 96
    depth: int = 3
    heads: int = 4
    causal: bool = False
    mlp_ratio: int = 4
    segments: tuple[int, int] | None = None
    output_heads: int = 0

    def __post_init__(self):
        if self.segments is not None:
            pad, sep = (
                _checks.check_int(t, "segments", minimum=0, maximum=self.vocab_size - 1)
                for t in self.segments
            )
            object.__setattr__(self, "segments", (pad, sep))
        for name in ("vocab_size", "sequence_length", "width", "depth", "heads"):
            _checks.check_int(getattr(self, name), name, minimum=1)
        _checks.check_int(self.mlp_ratio, "mlp_ratio", minimum=1)
        divisors = [h for h in range(1, self.width + 1) if self.width % h == 0]
        _checks.check_one_of(self.heads, "heads", divisors)
        _checks.check_int(
            self.output_heads, "output_heads", minimum=0, maximum=self.heads
        )
        if self.output_heads and self.segments is None:
            raise ValueError(
                "`output_heads` needs `segments` (the SEP token marks the outputs); "
                f"got output_heads={self.output_heads} and segments=None."
            )


def init_params(
    config: TransformerConfig, key, dtype=jnp.float32
) -> dict[str, jax.Array]:
    """Random initial parameters of `config`.

    Weights are normal(0, 0.02), those feeding the residual stream scaled by
    1/sqrt(2 depth); biases are 0, LayerNorm gains 1, and the output projection is 0,
    so an untrained model predicts uniformly. Models train in float32 (`dtype`);
    tests that compare with plain recomputations to 1e-10 ask for float64.
    """
    d, depth, hidden = config.width, config.depth, config.mlp_ratio * config.width
    keys = jax.random.split(key, 6)

    def normal(k, shape, scale=0.02):
        return scale * jax.random.normal(k, shape, dtype)

    residual = 0.02 / math.sqrt(2 * depth)
    positions = {"position": normal(keys[1], (config.sequence_length, d))}
    if config.segments is not None:
        positions["sep_position"] = normal(
            jax.random.fold_in(keys[1], 1), (2 * config.sequence_length - 1, d)
        )
    return {
        "embed": normal(keys[0], (config.vocab_size, d)),
        **positions,
        "blocks": {
            "ln1_gain": jnp.ones((depth, d), dtype),
            "ln1_bias": jnp.zeros((depth, d), dtype),
            "qkv": normal(keys[2], (depth, d, 3 * d)),
            "out": normal(keys[3], (depth, d, d), residual),
            "ln2_gain": jnp.ones((depth, d), dtype),
            "ln2_bias": jnp.zeros((depth, d), dtype),
            "mlp_in": normal(keys[4], (depth, d, hidden)),
            "mlp_in_bias": jnp.zeros((depth, hidden), dtype),
            "mlp_out": normal(keys[5], (depth, hidden, d), residual),
            "mlp_out_bias": jnp.zeros((depth, d), dtype),
        },
        "final_gain": jnp.ones((d,), dtype),
        "final_bias": jnp.zeros((d,), dtype),
        "unembed": jnp.zeros((d, config.vocab_size), dtype),
        "unembed_bias": jnp.zeros((config.vocab_size,), dtype),
    }


def _row(vector):
    """A `(d,)` gain or bias as a `(1, d)` row (explicit broadcasting)."""
    return vector[None, :]


def _layer_norm(x, gain, bias, eps=1e-5):
    mean = x.mean(axis=-1, keepdims=True)
    var = ((x - mean) ** 2).mean(axis=-1, keepdims=True)
    return (x - mean) * jax.lax.rsqrt(var + eps) * _row(gain) + _row(bias)


def _block(config: TransformerConfig, x, p, allowed):
    """One block; `allowed` `(1 or heads, S, S)`: which keys each query may see."""
    length, d = x.shape
    heads, head = config.heads, config.width // config.heads
    h = _layer_norm(x, p["ln1_gain"], p["ln1_bias"])
    q, k, v = jnp.split(h @ p["qkv"], 3, axis=-1)
    q, k, v = (a.reshape(length, heads, head).transpose(1, 0, 2) for a in (q, k, v))
    scores = q @ k.transpose(0, 2, 1) / math.sqrt(head)
    if config.causal:  # a leading PAD sees only itself (else nothing: NaN)
        eye = jnp.eye(length, dtype=bool)[None]
        allowed = (allowed & jnp.tril(jnp.ones((1, length, length), bool))) | eye
    scores = jnp.where(allowed, scores, -jnp.inf)
    attended = jax.nn.softmax(scores, axis=-1) @ v
    x = x + attended.transpose(1, 0, 2).reshape(length, d) @ p["out"]
    h = _layer_norm(x, p["ln2_gain"], p["ln2_bias"])
    h = jax.nn.gelu(h @ p["mlp_in"] + _row(p["mlp_in_bias"]))
    return x + h @ p["mlp_out"] + _row(p["mlp_out_bias"])


@functools.cache
def transformer_logits_fn(config: TransformerConfig):
    """`logits_fn(params, tokens (S,)) -> logits (S, V)` of `config` (one per config).

    Bidirectional configs give each position's denoising logits; causal ones give at
    position $i$ the logits of token $i + 1$.
    """

    def logits_fn(params, tokens):
        tokens = jnp.asarray(tokens)
        x = params["embed"][tokens] + _positions(config, params, tokens)
        allowed = _attention_mask(config, tokens)

        def step(x, block):
            return _block(config, x, block, allowed), None

        x, _ = jax.lax.scan(step, x, params["blocks"])
        x = _layer_norm(x, params["final_gain"], params["final_bias"])
        return x @ params["unembed"] + _row(params["unembed_bias"])

    logits_fn.__qualname__ = f"transformer_logits_fn({config})"
    return logits_fn


def _attention_mask(config: TransformerConfig, tokens):
    """`(1 or heads, S, S)` booleans: the keys (last axis) each query may attend to.

    Every non-PAD token (every token without segments); in the output heads an
    output position's keys are SEP and the outputs only. Causality is `_block`'s.
    """
    length = tokens.shape[-1]
    if config.segments is None:
        return jnp.ones((1, length, length), bool)
    visible = tokens != config.segments[0]
    allowed = jnp.broadcast_to(visible[None, None, :], (1, length, length))
    if not config.output_heads:
        return allowed
    i = jnp.arange(length)
    at_sep = _sep_index(tokens, config.segments[1])
    blocked = (i > at_sep)[:, None] & (i < at_sep)[None, :]  # output -> prompt
    own = jnp.arange(config.heads) >= config.heads - config.output_heads
    return allowed & ~(own[:, None, None] & blocked[None])


def _sep_index(tokens, sep):
    """Position of the first SEP; a row without SEP (never in the layout): the last."""
    length = tokens.shape[-1]
    return jnp.where(jnp.any(tokens == sep), jnp.argmax(tokens == sep), length - 1)


def _positions(config: TransformerConfig, params, tokens):
    """`(S, d)` position embeddings of one row (absolute, or from start and SEP)."""
    length = tokens.shape[-1]
    if config.segments is None:
        return params["position"][:length]
    pad, sep = config.segments
    i = jnp.arange(length)
    start = jnp.argmax(tokens != pad)
    at_sep = _sep_index(tokens, sep)
    return (
        params["position"][i - start]
        + params["sep_position"][i - at_sep + config.sequence_length - 1]
    )


def num_parameters(params) -> int:
    """Number of scalars in a parameter pytree."""
    return sum(int(leaf.size) for leaf in jax.tree_util.tree_leaves(params))
