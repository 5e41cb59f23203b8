"""The results of an exact simulation: the output law and its trilemma point."""

from __future__ import annotations

import dataclasses
from typing import NamedTuple

import jax.numpy as jnp
import numpy as np

from .. import _checks
from .._keys import row_index
from ..distributions import SparseJoint
from ..metrics import PRDCurve, prd_curve
from ..point import point_functionals
from ..samplers import Apd
from ..samplers._sampler import Sampler
from ..tasks import Task


@dataclasses.dataclass(frozen=True)
class Simulation:
    r"""The exact output law of a sampler on a task, with its exact expected NFE.

    Attributes:
      task: the task (target $p^*$, prompts, grader).
      sampler: the sampler.
      outputs: the valid outputs (in the support of $p^*$) with their exact
        probabilities $q$, as a `SparseJoint` over (prompt index, output tokens).
      invalid_mass: $q$'s total mass on invalid outputs.
      expected_nfe: exact expected number of forward passes; NaN when the
        enumeration cannot know it (support-only with a count rule that reads
        the scores: threshold, factor, EB, MDLM; see `_model`).
      states_visited: distinct decoding states enumerated.
      output_entropy: $H(q(Y|X))$ over all outputs, valid or not, in nats; None when
        the invalid part was too large to expand (see `simulate`'s `entropy_cells`).
      expected_ar_nfe: APD's exact expected number of verifier (AR) passes; None
        for the samplers that decode with one model.
      nfe_tolerance: `expected_nfe` (and `expected_ar_nfe`) are exact to within
        this; 0 when exact (APD on trained models drops light rows off the support,
        whose remaining steps are known only to a range).
    """

    task: Task
    sampler: Sampler | Apd
    outputs: SparseJoint
    invalid_mass: float
    expected_nfe: float
    states_visited: int
    output_entropy: float | None
    expected_ar_nfe: float | None = None
    nfe_tolerance: float = 0.0

    @property
    def tokens_per_step(self) -> float:
        r"""Speed: output tokens per forward pass, $L / \mathbb{E}[\mathrm{NFE}]$."""
        return len(self.task.outputs) / self.expected_nfe

    def aligned(self) -> tuple[np.ndarray, np.ndarray]:
        """`(p_star, q)` on the target's support rows plus one cell for invalid mass."""
        p_star = np.append(np.asarray(self.task.joint.probs, float), 0.0)
        q = np.zeros_like(p_star)
        rows = row_index(self.outputs.outcomes, self.task.joint.outcomes)
        np.add.at(q, rows, np.asarray(self.outputs.probs))
        q[-1] = self.invalid_mass
        return p_star, q

    def accuracy(self) -> float:
        r"""The task grader's pass rate, $\sum_y q(y)\,\mathrm{grade}(x, y)$.

        Graders accept only valid outputs (tested for every task), so the invalid
        mass never passes.
        """
        outcomes = np.asarray(self.outputs.outcomes).astype(np.int64)
        passed = self.task.grade(outcomes[:, 0], outcomes[:, 1:])
        return float(np.sum(np.asarray(self.outputs.probs)[passed]))

    def point(self) -> TrilemmaPoint:
        """The trilemma point of this sampler on this task (see `trilemma_point`)."""
        p_star, q = self.aligned()
        prompt = np.append(np.asarray(self.task.joint.outcomes[:, 0]), 0)
        return trilemma_point(
            q,
            p_star,
            prompt=prompt,
            accuracy=self.accuracy(),
            expected_nfe=self.expected_nfe,
            output_length=len(self.task.outputs),
            entropy=self.output_entropy,
        )

    def prd_curve(self) -> PRDCurve:
        """The exact PRD frontier of $q$ against $p^*$ (invalid mass in one cell)."""
        p_star, q = self.aligned()
        return prd_curve(jnp.asarray(q), jnp.asarray(p_star))


class TrilemmaPoint(NamedTuple):
    r"""Speed, fluency and diversity of a sampler on a task; information in nats.

    Attributes:
      accuracy: the task grader's pass rate (ParallelBench's score).
      precision: $q(\mathrm{supp}\,p^*)$; `1 - precision` is hallucination mass.
      recall: $p^*(\mathrm{supp}\,q)$; `1 - recall` is valid mass never produced.
      tv: total variation between $q$ and $p^*$.
      entropy: $H(q(Y|X))$ over all outputs (None when not known).
      valid_entropy: $H(q(Y|X))$ with $q$ restricted to the valid outputs and
        renormalised: the diversity of what the sampler gets right.
      reference_entropy: $H(p^*(Y|X))$.
      kl_reference_to_sampler: $D_{KL}(p^*\|q)$ (inf if $q$ misses a valid output).
      expected_nfe: expected forward passes.
      tokens_per_step: output tokens per forward pass, $L / \mathbb{E}[\mathrm{NFE}]$.

    Entropies and the divergence are in nats; `in_bits` reports them in bits.
    """

    accuracy: float
    precision: float
    recall: float
    tv: float
    entropy: float | None
    valid_entropy: float
    reference_entropy: float
    kl_reference_to_sampler: float
    expected_nfe: float
    tokens_per_step: float

    @property
    def hallucination_mass(self) -> float:
        """Mass on invalid outputs, 1 - precision (a fluency failure)."""
        return 1.0 - self.precision

    @property
    def entropy_ratio(self) -> float | None:
        r"""Valid-output entropy over the target's, $H(q|\text{valid})/H(p^*)$."""
        if self.reference_entropy == 0:
            return None
        return self.valid_entropy / self.reference_entropy


def trilemma_point(
    q,
    p_star,
    *,
    prompt,
    accuracy: float,
    expected_nfe: float,
    output_length: int,
    entropy: float | None = None,
) -> TrilemmaPoint:
    r"""The trilemma point of a sampler's output law $q$ against the target $p^*$.

    The two laws are aligned pmfs over the same $K$ cells: every output in the
    support of $p^*$ has its own cell, and the sampler's invalid outputs may share
    cells (their mass is all that precision, recall, TV and $D_{KL}(p^*\|q)$ need).
    With $V = \mathrm{supp}\,p^*$ and $q_V = q\,\mathbb{1}_V / q(V)$,
    $$\text{precision} = q(V), \quad \text{recall} = p^*(\mathrm{supp}\,q), \quad
      H_{valid} = H_{q_V}(Y|X), \quad H_{ref} = H_{p^*}(Y|X), \quad
      \text{tokens per step} = L / \mathbb{E}[\mathrm{NFE}].$$

    Args:
      q: `(K,)` the sampler's pmf on the cells.
      p_star: `(K,)` the target's pmf on the same cells (0 on invalid cells).
      prompt: `(K,)` the prompt index of each cell, for the entropies given $X$
        (unused on invalid cells).
      accuracy: the grader's pass rate under $q$.
      expected_nfe: expected number of forward passes.
      output_length: $L$, output tokens per sequence.
      entropy: $H(q(Y|X))$ over all outputs in nats, when known (cells that lump
        invalid outputs together do not give it); default None.

    Returns:
      A `TrilemmaPoint`, information in nats.

    >>> import numpy as np
    >>> from trilemma import to_bits, trilemma_point
    >>> point = trilemma_point(  # half the mass on 2 of 4 valid outputs, half invalid
    ...     np.array([0.25, 0.25, 0.0, 0.0, 0.5]),
    ...     np.array([0.25, 0.25, 0.25, 0.25, 0.0]),
    ...     prompt=np.zeros(5, int),
    ...     accuracy=0.5,
    ...     expected_nfe=1.0,
    ...     output_length=2,
    ... )
    >>> point.precision, point.recall, point.tv, point.tokens_per_step
    (0.5, 0.5, 0.5, 2.0)
    >>> [round(float(to_bits(h)), 6) for h in point[5:8]]  # valid, p*, KL: bits
    [1.0, 2.0, inf]
    """
    q, p_star = np.asarray(q, float), np.asarray(p_star, float)
    prompt = np.asarray(prompt).astype(np.int64)
    _checks.check_same_shape(q, p_star, ("q", "p_star"))
    _checks.check_same_shape(prompt, p_star, ("prompt", "p_star"))
    prompt = np.where(p_star > 0, prompt, 0)  # invalid cells' prompts are unused
    values = point_functionals(q, p_star, prompt, int(prompt.max(initial=0)) + 1)
    return TrilemmaPoint(
        accuracy=accuracy,
        precision=float(values["precision"]),
        recall=float(values["recall"]),
        tv=float(values["tv"]),
        entropy=entropy,
        valid_entropy=float(values["valid_entropy"]),
        reference_entropy=float(values["reference_entropy"]),
        kl_reference_to_sampler=float(values["kl_reference_to_sampler"]),
        expected_nfe=expected_nfe,
        tokens_per_step=output_length / expected_nfe,
    )


def conditional_entropy(mass, prompt_mass, *, cells=None) -> float:
    r"""$H(Y|X) = H(X, Y) - H(X)$ in nats, from joint cell masses and the prompt law.

    Zero masses are allowed in both. `cells` (optional, one count per mass): each
    mass is spread evenly over that many cells (an orbit of a symmetry), adding
    $m \log c$ to $H(X, Y)$.
    """
    mass = np.asarray(mass, float)
    prompt_mass = np.asarray(prompt_mass, float)
    cells = np.ones_like(mass) if cells is None else np.asarray(cells, float)
    live = mass > 0
    joint, spread = mass[live], cells[live]
    prompts = prompt_mass[prompt_mass > 0]
    return float(
        -np.sum(joint * np.log(joint / spread)) + np.sum(prompts * np.log(prompts))
    )
