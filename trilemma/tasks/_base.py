"""The `Task` record: an enumerable prompt distribution with its exact target p*(Y|X)."""

from __future__ import annotations

import dataclasses

import jax.numpy as jnp
import numpy as np

from .. import _checks
from ..distributions import SparseJoint, outcome_dtype


@dataclasses.dataclass(frozen=True)
class Task:
    r"""An enumerable task: the exact joint of prompt $X$ and target output $Y$.

    Attributes:
      name: registry name.
      n: size parameter (list length).
      joint: `SparseJoint` over the prompt variables (first) and the output tokens.
      given: indices of the prompt variables $X$ in `joint`.
      outputs: indices of the output variables $Y$ in `joint`.
      closed_form_bits: $C(Y|X)$ in bits from a closed form, or None.
      closed_form_source: where the closed form comes from.
    """

    name: str
    n: int
    joint: SparseJoint
    given: tuple[int, ...]
    outputs: tuple[int, ...]
    closed_form_bits: float | None = None
    closed_form_source: str | None = None


def build_joint(prompts, outputs_per_prompt, probs_per_prompt, sizes, max_bytes=None):
    """Stack per-prompt supports into one `SparseJoint` (prompt columns first).

    Args:
      prompts: `(P, m)` prompt rows, each with probability 1/P.
      outputs_per_prompt: callable `prompt -> (R, L)` output rows (distinct).
      probs_per_prompt: `(R,)` conditional probabilities p*(y|x), shared by prompts.
      sizes: alphabet sizes of the m + L variables.
      max_bytes: memory budget override.
    """
    prompts = np.asarray(prompts)
    rows_per_prompt = len(probs_per_prompt)
    total = len(prompts) * rows_per_prompt
    dtype = outcome_dtype(sizes)
    _checks.check_memory(
        total * (len(sizes) * dtype.itemsize + 8),
        f"the support of {total:,} outcomes x {len(sizes)} variables",
        max_bytes,
    )
    outcomes = np.empty((total, len(sizes)), dtype)
    m = prompts.shape[1]
    for i, prompt in enumerate(prompts):
        block = slice(i * rows_per_prompt, (i + 1) * rows_per_prompt)
        outcomes[block, :m] = prompt
        outcomes[block, m:] = outputs_per_prompt(prompt)
    probs = np.tile(np.asarray(probs_per_prompt, dtype=np.float64), len(prompts))
    probs /= len(prompts)
    return SparseJoint(jnp.asarray(outcomes), jnp.asarray(probs, dtype=jnp.result_type(float)), tuple(sizes), True)
