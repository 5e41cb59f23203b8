"""The `Task` record: an enumerable prompt law with its exact target p*(Y|X)."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Iterable, Mapping

import jax.numpy as jnp
import numpy as np

from .. import _checks
from .._keys import row_index, rows_in
from ..distributions import SparseJoint, outcome_dtype
from ..layout import task_layout

Grader = Callable[[np.ndarray, np.ndarray], np.ndarray]
"""`grader(prompts (N, m), outputs (N, L)) -> (N,)` booleans."""


@dataclasses.dataclass(frozen=True)
class Task:
    r"""An enumerable task: the exact joint of prompt $X$ and target output $Y$.

    The prompt is one variable, its index into `prompts` (a bijection with the prompt
    token rows, so every quantity conditioned on it is conditioned on the prompt),
    which keeps dense forms and grouping keys small.

    Attributes:
      name: registry name.
      n: size parameter (list length, number of blanks, ...; see the builder).
      prompts: `(P, m)` table of prompt token rows; row $i$ is prompt index $i$
        (`m` may be 0 for tasks without a prompt).
      joint: `SparseJoint` over (prompt index, output token 1, ..., output token L).
      closed_form: $C(Y|X)$ in nats from a closed form, or None.
      closed_form_source: where the closed form comes from.
      grader: the benchmark's pass rule, vectorised: `grader(prompts, outputs)` with
        `(N, m)` prompt rows and `(N, L)` outputs returns `(N,)` booleans. Default:
        an output passes iff it is in the support of $p^*(\cdot|x)$.
      labels: optional token names, one tuple per output position (`labels[i][v]`
        names token `v` at output position `i`), for showing outputs as words.
    """

    name: str
    n: int
    prompts: np.ndarray
    joint: SparseJoint
    closed_form: float | None = None
    closed_form_source: str | None = None
    grader: Grader | None = None
    labels: tuple[tuple[str, ...], ...] | None = None

    def grade(self, prompt_index, outputs) -> np.ndarray:
        """Pass/fail of each output under the task's grader.

        Args:
          prompt_index: `(N,)` prompt indices (rows of `prompts`).
          outputs: `(N, L)` output tokens.

        Returns:
          `(N,)` booleans.
        """
        prompt_index = np.asarray(prompt_index)
        outputs = np.asarray(outputs)
        if self.grader is not None:
            return np.asarray(self.grader(self.prompts[prompt_index], outputs), bool)
        full = np.concatenate([prompt_index[:, None], outputs], axis=1)
        return rows_in(full, np.asarray(self.joint.outcomes))

    def show(self, output) -> str:
        """One output `(L,)` as text, as the task's layout renders it.

        Token names (from `labels`) or, without labels, the token numbers, joined by
        spaces; see `trilemma.layout.TokenLayout.render`.
        """
        return task_layout(self).render(output)

    @property
    def given(self) -> tuple[int, ...]:
        """Index of the prompt variable $X$ in `joint`: `(0,)`."""
        return (0,)

    @property
    def outputs(self) -> tuple[int, ...]:
        """Indices of the output tokens $Y$ in `joint`: `(1, ..., L)`."""
        return tuple(range(1, self.joint.num_variables))


OutputsFn = Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]]
"""`outputs_per_prompt(prompt) -> (rows (R, L), probs (R,))`: the support of p*(.|x)."""


def build_joint(
    prompts,
    outputs_per_prompt: OutputsFn,
    output_sizes,
    *,
    num_rows: int,
    prompt_probs=None,
    max_bytes: int | None = None,
) -> SparseJoint:
    r"""Stack per-prompt supports into one `SparseJoint` over (prompt index, outputs).

    Row $(i, y)$ has mass $p(x_i)\,p^*(y|x_i)$. The memory budget is checked on
    `num_rows` (host arrays and their device copies) before anything is allocated, so
    callers pass the exact total (or an upper bound) of the support sizes.

    Args:
      prompts: `(P, m)` prompt rows.
      outputs_per_prompt: callable `prompt -> (rows (R, L), probs (R,))`, the
        distinct outputs with $p^*(y|x) > 0$ and their conditional probabilities;
        `R` may differ between prompts.
      output_sizes: alphabet sizes of the L output variables.
      num_rows: total number of rows over all prompts (an upper bound is enough).
      prompt_probs: `(P,)` prompt law; default uniform, 1/P each.
      max_bytes: memory budget override.

    Returns:
      A `SparseJoint` with `sizes == (P, *output_sizes)` and distinct rows.
    """
    prompts = np.asarray(prompts)
    num_prompts = len(prompts)
    sizes = (num_prompts, *(int(k) for k in output_sizes))
    dtype = outcome_dtype(sizes)
    _checks.check_memory(
        2 * num_rows * (len(sizes) * dtype.itemsize + 8),
        f"a support of {_checks.format_count(num_rows)} outcome(s) over "
        f"{len(sizes):,} variables",
        max_bytes,
    )
    if prompt_probs is None:
        prompt_probs = np.full(num_prompts, 1.0 / num_prompts)
    prompt_probs = np.asarray(prompt_probs, dtype=np.float64)
    outcomes = np.empty((num_rows, len(sizes)), dtype)
    probs = np.empty(num_rows, np.float64)
    start = 0
    for i, prompt in enumerate(prompts):
        rows, cond = outputs_per_prompt(prompt)
        rows = np.asarray(rows).reshape(len(cond), len(sizes) - 1)
        stop = start + len(rows)
        _checks.check_int(num_rows, "num_rows", minimum=stop)  # the support so far
        outcomes[start:stop, 0] = i
        outcomes[start:stop, 1:] = rows
        probs[start:stop] = np.asarray(cond, np.float64) * prompt_probs[i]
        start = stop
    float_dtype = jnp.result_type(float)
    return SparseJoint(
        jnp.asarray(outcomes[:start]),
        jnp.asarray(probs[:start], float_dtype),
        sizes,
        True,
    )


def support_grader(prompts, joint: SparseJoint) -> Grader:
    r"""The grader that accepts exactly the support of $p^*(\cdot|x)$.

    Args:
      prompts: the task's `(P, m)` prompt table.
      joint: the task's joint over (prompt index, outputs).

    Returns:
      `grader(prompts (N, m), outputs (N, L)) -> (N,)` booleans; a prompt row that
      is not one of the task's prompts raises `ValueError` (p* is undefined there).
    """
    table = np.asarray(prompts).copy()
    outcomes = np.asarray(joint.outcomes)

    def grader(prompt_rows, outputs):
        outputs = check_grader_args(prompt_rows, outputs, table.shape[1], None)
        index = row_index(prompt_rows, table)
        allowed = f"one of the task's {len(table)} prompt(s), where p*(y|x) is defined"
        _checks.check_rows(index >= 0, prompt_rows, "prompts", allowed)
        full = np.concatenate([index[:, None], outputs.astype(np.int64)], axis=1)
        return rows_in(full, outcomes)

    return grader


def check_grader_args(prompts, outputs, prompt_length, output_length) -> np.ndarray:
    """Validate grader inputs; return `outputs` as a 2-D integer array."""
    prompts = np.asarray(prompts)
    outputs = np.asarray(outputs)
    _checks.check_shape(prompts, "prompts", ("N", prompt_length))
    length = "L" if output_length is None else output_length
    _checks.check_shape(outputs, "outputs", (prompts.shape[0], length))
    return outputs


def check_options(task: str, options: Mapping, allowed: Iterable[str] = ()) -> None:
    """Raise `ValueError` naming any option the builder of `task` does not take."""
    _checks.check_options(options, allowed, owner=f"task {task!r}")


def size(n, default: int, *, minimum: int = 1) -> int:
    """`n`, or `default` when None, checked to be an integer >= `minimum`."""
    return _checks.check_int(default if n is None else n, "n", minimum=minimum)


def list_entropy(probs) -> float:
    """Shannon entropy in nats of a list of probabilities (0 log 0 = 0), by fsum."""
    return -math.fsum(p * math.log(p) for p in probs if p > 0)
