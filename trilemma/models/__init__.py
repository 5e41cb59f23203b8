"""Models the samplers decode: a `logits_fn` with traced parameters and a layout."""

from ._model import Model as Model
