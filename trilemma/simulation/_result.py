"""The results of an exact simulation: the output law and its trilemma point."""

from __future__ import annotations

import dataclasses
from typing import NamedTuple

import jax.numpy as jnp
import numpy as np

from .._keys import row_index
from .._units import to_bits
from ..distributions import SparseJoint
from ..metrics import (
    PRDCurve,
    entropy,
    kl_divergence,
    prd_curve,
    precision,
    recall,
    total_variation_distance,
)
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
      expected_nfe: exact expected number of forward passes.
      states_visited: distinct decoding states enumerated.
      output_entropy: $H(q(Y|X))$ over all outputs, valid or not, in nats; None when
        the invalid part was too large to expand (see `simulate`'s `entropy_cells`).
    """

    task: Task
    sampler: Sampler
    outputs: SparseJoint
    invalid_mass: float
    expected_nfe: float
    states_visited: int
    output_entropy: float | None

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

    def valid_entropy(self) -> float:
        r"""$H(q(Y|X, \text{valid}))$ in nats: the diversity of the valid outputs."""
        probs = np.asarray(self.outputs.probs, float)
        if probs.sum() == 0:
            return 0.0
        prompts = np.asarray(self.outputs.outcomes[:, 0]).astype(np.int64)
        per_prompt = np.bincount(prompts, weights=probs)
        cond = probs / per_prompt[prompts]
        weight = per_prompt[prompts] / per_prompt.sum()
        return 0.0 - float(np.sum(weight * cond * np.log(cond)))

    def point(self) -> TrilemmaPoint:
        """The trilemma point of this sampler on this task (see `TrilemmaPoint`)."""
        p_star, q = self.aligned()
        p_j, q_j = jnp.asarray(p_star), jnp.asarray(q)
        reference = float(
            entropy(self.task.joint) - entropy(self.task.joint, self.task.given)
        )
        h_q = self.output_entropy
        return TrilemmaPoint(
            accuracy=self.accuracy(),
            precision=float(precision(q_j, p_j)),
            recall=float(recall(q_j, p_j)),
            tv=float(total_variation_distance(q_j, p_j)),
            entropy_bits=None if h_q is None else float(to_bits(h_q)),
            valid_entropy_bits=float(to_bits(self.valid_entropy())),
            reference_entropy_bits=float(to_bits(reference)),
            kl_reference_to_sampler_bits=float(to_bits(kl_divergence(p_j, q_j))),
            expected_nfe=self.expected_nfe,
            tokens_per_step=self.tokens_per_step,
        )

    def prd_curve(self) -> PRDCurve:
        """The exact PRD frontier of $q$ against $p^*$ (invalid mass in one cell)."""
        p_star, q = self.aligned()
        return prd_curve(jnp.asarray(q), jnp.asarray(p_star))


class TrilemmaPoint(NamedTuple):
    r"""Speed, fluency and diversity of a sampler on a task, all exact.

    Attributes:
      accuracy: the task grader's pass rate (ParallelBench's score).
      precision: $q(\mathrm{supp}\,p^*)$; `1 - precision` is hallucination mass.
      recall: $p^*(\mathrm{supp}\,q)$; `1 - recall` is valid mass never produced.
      tv: total variation between $q$ and $p^*$.
      entropy_bits: $H(q(Y|X))$ over all outputs in bits (None if too large).
      valid_entropy_bits: entropy of $q$ restricted to valid outputs (renormalised
        per prompt), in bits: the diversity of what the sampler gets right.
      reference_entropy_bits: $H(p^*(Y|X))$ in bits.
      kl_reference_to_sampler_bits: $D_{KL}(p^*\|q)$ in bits (inf if $q$ misses a
        valid output).
      expected_nfe: expected forward passes.
      tokens_per_step: output tokens per forward pass.
    """

    accuracy: float
    precision: float
    recall: float
    tv: float
    entropy_bits: float | None
    valid_entropy_bits: float
    reference_entropy_bits: float
    kl_reference_to_sampler_bits: float
    expected_nfe: float
    tokens_per_step: float

    @property
    def hallucination_mass(self) -> float:
        """Mass on invalid outputs, 1 - precision (a fluency failure)."""
        return 1.0 - self.precision

    @property
    def entropy_ratio(self) -> float | None:
        r"""Valid-output entropy over the target's, $H(q|\text{valid})/H(p^*)$."""
        if self.reference_entropy_bits == 0:
            return None
        return self.valid_entropy_bits / self.reference_entropy_bits
