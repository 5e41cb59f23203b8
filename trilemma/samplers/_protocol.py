r"""The sampler protocol: what every registered sampler is, and the decoding state.

A sampler is an immutable, hashable value (it is a static argument of the jitted
decoder) with

* `name`, `params`, `describe()`: its registry name and settings;
* `num_models`: how many models it reads (1; APD reads a dLLM and an AR verifier);
* `phases`: one function per model read in a step (blackjax's `step`, split where a
  step must wait for a model): with `carry = None` and `query = state.tokens`, each
  phase is called as `carry, query = phase(key, state, carry, logits, mask_id=...)`,
  where `logits` `(S, V)` are model $i$'s on phase $i - 1$'s `query`; the last phase
  returns `((new_state, DecodeInfo), None)`. A one-model sampler has one phase
  (`single_phase`);
* `init_extra(length, vocab_size)`: the pytree of arrays it carries between steps
  beyond the tokens (a history of predictions, per-token confidence at commit), `()`
  when it carries nothing;
* `max_steps(length)`: a bound on the steps the decoding loop runs;
* `remasks`: whether a step may turn committed tokens back into masks;
* `law`: which exact enumerator computes its output law (`"levels"`, `"apd"`,
  `"chain"`; `trilemma.simulate` looks it up, never the sampler's name), or None.

Both decoders run every sampler through the same loop over `phases`: the jitted one
(`_decode`) calls each JAX model inside the program, the host one (`_host`) calls a
model outside JAX between jitted phases; neither knows any sampler by name or type.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple, Protocol

import jax.numpy as jnp

from .._types import Array


class DecodeState(NamedTuple):
    """Tokens being decoded, the step index, forward passes so far, window start.

    `ar_nfe` counts the passes of a second model (APD's verifier); `extra` is the
    sampler's own state (`init_extra`).
    """

    tokens: Array
    step: Array
    nfe: Array
    start: Array
    ar_nfe: Array
    extra: Any = ()


class DecodeInfo(NamedTuple):
    """What one step did: positions it committed, and positions it re-masked."""

    committed: Array
    remasked: Array | int = 0


class Decoded(NamedTuple):
    """Decoded sequences with their cost.

    Attributes:
      tokens: `(..., S)` the sequences, no mask left.
      nfe: `(...,)` forward passes each sample used.
      committed: `(..., sampler.max_steps(S))` positions committed at each step (0
        after the last), when asked for with `record_steps=True`; else None.
      ar_nfe: `(...,)` passes of the second model (APD's verifier; 0 otherwise).
    """

    tokens: Array
    nfe: Array
    committed: Array | None = None
    ar_nfe: Array | None = None


class DecodingSampler(Protocol):
    """The interface every registered sampler implements (see the module)."""

    name: str
    params: tuple[tuple[str, object], ...]

    @property
    def num_models(self) -> int: ...

    @property
    def phases(self) -> tuple[Callable, ...]: ...

    @property
    def remasks(self) -> bool: ...

    @property
    def law(self) -> str | None: ...

    def init_extra(self, length: int, vocab_size: int) -> Any: ...

    def max_steps(self, length: int) -> int: ...

    def describe(self) -> str: ...


def init(tokens, *, mask_id: int, extra: Any = ()) -> DecodeState:
    """Decoding state for `tokens` (S,), whose masked positions equal `mask_id`.

    The generation window starts at the first masked position (semi-AR blocks count
    from there); `extra` is the sampler's `init_extra`.
    """
    tokens = jnp.asarray(tokens)
    masked = tokens == mask_id
    start = jnp.argmax(masked).astype(int)
    zero = jnp.zeros((), int)
    return DecodeState(tokens, zero, zero, start, zero, extra)


def single_phase(step: Callable) -> Callable:
    """The one phase of a sampler whose step is `step(key, state, logits, mask_id=)`."""

    def phase(key, state, carry, logits, *, mask_id):
        del carry
        return step(key, state, logits, mask_id=mask_id), None

    return phase


def run_phases(sampler, key, state: DecodeState, forward: Callable, *, mask_id: int):
    """One step: `sampler.phases` in order, `forward(i, query) -> logits` between.

    The one loop of both decoders (`forward` runs model `i` inside the jitted
    program, or outside JAX for a host model).
    """
    carry, query = None, state.tokens
    for i, phase in enumerate(sampler.phases):
        carry, query = phase(key, state, carry, forward(i, query), mask_id=mask_id)
    return carry


def describe(sampler) -> str:
    """`name(k=2, temperature=0.0)`: a sampler's name and settings."""
    args = ", ".join(f"{key}={value}" for key, value in sampler.params)
    return f"{sampler.name}({args})"


def check_sampler(sampler, name: str = "sampler") -> None:
    """Raise `TypeError` unless `sampler` implements `DecodingSampler`."""
    needed = ("phases", "num_models", "init_extra", "max_steps", "describe", "law")
    if not all(hasattr(sampler, attr) for attr in needed):
        raise TypeError(
            f"`{name}` must be a registered sampler (`trilemma.samplers.SAMPLERS`); "
            f"got {type(sampler).__name__}"
        )


def check_num_models(sampler, models, name: str = "models") -> None:
    """Raise `ValueError` unless `models` has one entry per model `sampler` reads."""
    need = sampler.num_models
    what = "one model" if need == 1 else "a dLLM and its AR verifier"
    if not isinstance(models, tuple | list) or len(models) != need:
        got = len(models) if isinstance(models, tuple | list) else type(models).__name__
        raise ValueError(
            f"`{name}` must hold {need} entr{'ies' if need > 1 else 'y'} for sampler "
            f"{sampler.describe()}, which decodes with {what}; got {got}."
        )
