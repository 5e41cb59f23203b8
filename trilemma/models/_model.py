r"""The `Model` record: a denoiser as a pure function of traced parameters.

A model is `logits_fn(params, tokens (S,)) -> logits (S, V)` with `params` a pytree of
arrays. The decoder jits over `params` (traced, never baked in as constants) with
`logits_fn` static, so new weights, a new task of the same shapes or a new prompt
batch reuse one compiled kernel. `logits_fn` must be a hashable function defined once
(a module-level function, not a fresh closure per call), and the logits' mask-token
column, if there is one, is ignored: the decoder never draws the mask.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

from ..layout import TokenLayout


class Model(NamedTuple):
    """A denoiser the samplers decode.

    Attributes:
      logits_fn: `logits_fn(params, tokens (S,)) -> (S, V)` logits, jittable.
      params: pytree of arrays (traced by the decoder).
      layout: where the prompt and outputs sit, the vocabulary and the mask id.
      name: shown in results and sample files.
    """

    logits_fn: Callable[[Any, Any], Any]
    params: Any
    layout: TokenLayout
    name: str = "model"
