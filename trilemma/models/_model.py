r"""The model records the samplers decode: a JAX `Model` and a `HostModel`.

A `Model` is `logits_fn(params, tokens (S,)) -> logits (S, V)` with `params` a pytree
of arrays. The decoder jits over `params` (traced, never baked in as constants) with
`logits_fn` static, so new weights, a new task of the same shapes or a new prompt
batch reuse one compiled kernel. `logits_fn` must be a hashable function defined once
(a module-level function, not a fresh closure per call), and the logits' mask-token
column, if there is one, is ignored: the decoder never draws the mask.

A `HostModel` is a model outside JAX (a PyTorch LLaDA or Dream on a GPU): a callable
on NumPy arrays, `logits_fn(tokens (B, S) int32) -> logits (B, S, V)`, that the
decoder calls once per step for the whole batch (`trilemma.samplers.decode_host`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

from ..layout import TokenLayout


class Model(NamedTuple):
    """A denoiser the samplers decode, as a pure JAX function.

    Attributes:
      logits_fn: `logits_fn(params, tokens (S,)) -> (S, V)` logits, jittable.
      params: pytree of arrays (traced by the decoder).
      layout: where the prompt and outputs sit, the vocabulary and the mask id.
      name: shown in results and sample files.
      text: optional `text(output_tokens (L,)) -> str` for sample files; default
        `layout.render`.
      prompt_text: optional `prompt_text(prompt_index) -> str` for sample files;
        default the prefix's token names or numbers.
    """

    logits_fn: Callable[[Any, Any], Any]
    params: Any
    layout: TokenLayout
    name: str = "model"
    text: Callable | None = None
    prompt_text: Callable | None = None


class HostModel(NamedTuple):
    """A model that runs outside JAX, called on NumPy arrays once per step.

    Attributes:
      logits_fn: `logits_fn(tokens (B, S) int32) -> (B, S, V)` logits (any float
        dtype); row $i$ is the prediction for token $i$ (for APD's verifier, row $i$
        predicts token $i + 1$). Checked at every call: a wrong shape or dtype is a
        `ValueError` naming the expected and the received.
      layout: where the prompt and outputs sit, the vocabulary and the mask id.
      name: shown in results and sample files.
      text: optional `text(output_tokens (L,)) -> str` (a tokenizer's decode).
      prompt_text: optional `prompt_text(prompt_index) -> str` (the chat prompt).
    """

    logits_fn: Callable[[Any], Any]
    layout: TokenLayout
    name: str = "host"
    text: Callable | None = None
    prompt_text: Callable | None = None
