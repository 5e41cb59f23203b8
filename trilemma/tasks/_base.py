"""The `Task` record: an enumerable prompt law with its exact target p*(Y|X)."""

from __future__ import annotations

import dataclasses

import jax.numpy as jnp
import numpy as np

from .. import _checks
from ..distributions import SparseJoint, outcome_dtype


@dataclasses.dataclass(frozen=True)
class Task:
    r"""An enumerable task: the exact joint of prompt $X$ and target output $Y$.

    The prompt is one variable, its index into `prompts` (a bijection with the input
    list, so every quantity conditioned on it is conditioned on the list), which keeps
    dense forms and grouping keys small.

    Attributes:
      name: registry name.
      n: size parameter (list length).
      prompts: `(P, m)` table of prompt token lists; row $i$ is prompt index $i$.
      joint: `SparseJoint` over (prompt index, output token 1, ..., output token L).
      closed_form_bits: $C(Y|X)$ in bits from a closed form, or None.
      closed_form_source: where the closed form comes from.
    """

    name: str
    n: int
    prompts: np.ndarray
    joint: SparseJoint
    closed_form_bits: float | None = None
    closed_form_source: str | None = None

    @property
    def given(self) -> tuple[int, ...]:
        """Index of the prompt variable $X$ in `joint`: `(0,)`."""
        return (0,)

    @property
    def outputs(self) -> tuple[int, ...]:
        """Indices of the output tokens $Y$ in `joint`: `(1, ..., L)`."""
        return tuple(range(1, self.joint.num_variables))


def build_joint(
    prompts, outputs_per_prompt, probs_per_prompt, output_sizes, max_bytes=None
):
    """Stack per-prompt supports into one `SparseJoint` over (prompt index, outputs).

    Args:
      prompts: `(P, m)` prompt rows, each with probability 1/P.
      outputs_per_prompt: callable `prompt -> (R, L)` output rows (distinct).
      probs_per_prompt: `(R,)` conditional probabilities p*(y|x), shared by prompts.
      output_sizes: alphabet sizes of the L output variables.
      max_bytes: memory budget override.
    """
    prompts = np.asarray(prompts)
    rows_per_prompt = len(probs_per_prompt)
    total = len(prompts) * rows_per_prompt
    sizes = (len(prompts), *output_sizes)
    dtype = outcome_dtype(sizes)
    _checks.check_memory(
        total * (len(sizes) * dtype.itemsize + 8),
        f"a support of {total:,} outcome(s) over {len(sizes)} variables",
        max_bytes,
    )
    outcomes = np.empty((total, len(sizes)), dtype)
    for i, prompt in enumerate(prompts):
        block = slice(i * rows_per_prompt, (i + 1) * rows_per_prompt)
        outcomes[block, 0] = i
        outcomes[block, 1:] = outputs_per_prompt(prompt)
    probs = np.tile(np.asarray(probs_per_prompt, dtype=np.float64), len(prompts))
    probs /= len(prompts)
    float_dtype = jnp.result_type(float)
    return SparseJoint(
        jnp.asarray(outcomes), jnp.asarray(probs, float_dtype), sizes, True
    )
