r"""Exact simulation of a sampler driven by the ideal (oracle) model.

With a task whose target $p^*(Y|X)$ is known and an oracle that returns its exact
conditional marginals $p^*(y_j \mid X, \text{revealed tokens})$, a sampler's whole
output law $q$ and its expected number of forward passes are finite sums over decoding
trajectories. `simulate` computes them exactly, level by level, merging identical
states: no Monte Carlo.

**Transition of a state** (the same building blocks as Monte Carlo decoding):

1. oracle marginals $p_j$ of the masked positions, and the token laws $\pi_j$;
2. each eligible position's tokens are grouped into *score classes* (tokens whose
   score ties); a joint class choice fixes every position's score (for scores that do
   not depend on the drawn token, such as margin or greedy confidence, each position
   has one class);
3. the count rule gives the pmf of $k$ from the ranked scores;
4. the committed set $A$ is the positions strictly above the $k$-th score plus a
   uniformly random subset of those tied with it;
5. committed positions draw their tokens independently from $\pi_j$ restricted to the
   chosen class. The *valid* children are the distinct values that the state's
   consistent support rows take on $A$ (found in a sorted index, so the work is
   proportional to the children); the rest of the mass leaves the support.

**Zero-mass states (the documented convention).** When the revealed tokens have
probability 0 under $p^*(\cdot|x)$, the oracle's marginals are uniform over each
position's alphabet. Every completion is then invalid and, whatever the order of
commits, each remaining token is uniform and independent. Such states are therefore
merged by their mask pattern alone (they matter only for the forward passes left),
and their mass is added to the invalid mass; for the entropy of $q$ over all outputs,
the invalid part is spread exactly on the dense output space when it fits a budget.

**Forward passes.** A step costs one NFE when it commits at least one token; a step
that commits nothing (possible only for MDLM) reuses the cached logits.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
from typing import NamedTuple

import jax.numpy as jnp
import numpy as np

from . import _checks
from ._units import to_bits
from .distributions import SparseJoint, outcome_dtype
from .metrics import (
    PRDCurve,
    entropy,
    kl_divergence,
    prd_curve,
    precision,
    recall,
    total_variation_distance,
)
from .samplers import _blocks
from .samplers._sampler import Sampler
from .tasks import Task

MASK = -1
"""Masked position in the enumerator's token arrays."""

DEFAULT_MAX_BRANCHES = 30_000_000
"""Refuse a level that would expand into more rows than this (memory guard)."""

DEFAULT_ENTROPY_CELLS = 200_000_000
"""Budget of cell writes for the entropy of $q$ over invalid outputs too (~2 s)."""

_FLUSH = 10_000_000
"""Pending (index, mass) pairs of the invalid part before they are added up."""


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
        rows = _support_index(self.task.joint, np.asarray(self.outputs.outcomes))
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


# --------------------------------------------------------------------------------------
# The enumerator


class _Branches(NamedTuple):
    """Rows of one level after choosing classes, a count and a committed set."""

    src: np.ndarray  # state of each row
    chosen: np.ndarray  # (R, L) score class chosen at each position
    selected: np.ndarray  # (R, L) committed positions
    weight: np.ndarray  # (R,) probability mass of the row


class _Laws(NamedTuple):
    """Per-state token laws and their score classes."""

    pi: np.ndarray  # (S, L, V) token law
    class_id: np.ndarray  # (S, L, V) score class of each token
    class_prob: np.ndarray  # (S, L, V) probability of each class


@dataclasses.dataclass
class _Level:
    """States at one level: tokens, prompt, step, off-support flag and mass."""

    tokens: np.ndarray  # (S, L) int, MASK where masked
    prompt: np.ndarray  # (S,)
    step: np.ndarray  # (S,)
    off: np.ndarray  # (S,) bool: a mask pattern of an off-support state
    mass: np.ndarray  # (S,)

    def take(self, pick) -> _Level:
        return _Level(
            self.tokens[pick],
            self.prompt[pick],
            self.step[pick],
            self.off[pick],
            self.mass[pick],
        )


def simulate(
    task: Task,
    sampler: Sampler,
    *,
    max_branches: int = DEFAULT_MAX_BRANCHES,
    entropy_cells: int = DEFAULT_ENTROPY_CELLS,
    progress: bool = False,
) -> Simulation:
    """The exact output law and expected NFE of `sampler` with the oracle of `task`.

    Args:
      task: an enumerable task (`trilemma.make_task`).
      sampler: a `Sampler` (`trilemma.samplers.SAMPLERS[name](**params)`).
      max_branches: refuse (ValueError) a level whose expansion exceeds this many rows.
      entropy_cells: budget of cell writes to spread the invalid part of $q$ on the
        dense output space, for the entropy over all outputs (about 10 ns each);
        past it, or when the output space has more cells than the budget or more
        bytes than the memory budget, `output_entropy` is None. Everything else is
        exact regardless; pass 0 to skip it.
      progress: show a progress bar over levels (stderr).

    Returns:
      A `Simulation`; `.point()` gives the trilemma point.
    """
    if not isinstance(task, Task):
        raise TypeError(f"`task` must be a Task; got {type(task).__name__}.")
    if not isinstance(sampler, Sampler):
        raise TypeError(f"`sampler` must be a Sampler; got {type(sampler).__name__}.")
    return _Enumerator(task, sampler, max_branches, entropy_cells).run(progress)


class _Enumerator:
    def __init__(self, task: Task, sampler: Sampler, max_branches: int, entropy_cells):
        self.task, self.sampler, self.max_branches = task, sampler, max_branches
        joint = task.joint
        outcomes = np.asarray(joint.outcomes).astype(np.int64)
        self.sizes = np.asarray(joint.sizes[1:], np.int64)
        self.length = len(self.sizes)
        self.vocab = int(self.sizes.max())
        self.support_prompt = outcomes[:, 0]
        self.support = outcomes[:, 1:]
        probs = np.asarray(joint.probs, float)
        prompt_mass = np.bincount(
            self.support_prompt, weights=probs, minlength=joint.sizes[0]
        )
        self.prompt_mass = prompt_mass
        self.weights = probs / prompt_mass[self.support_prompt]
        self.positions = np.arange(self.length)
        steps = dict(sampler.params).get("num_steps") or 0
        self.radix = [2, int(joint.sizes[0]), self.length + steps + 2] + [
            self.vocab + 1
        ] * self.length
        self.indexes: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        self.blocks: dict[int, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}
        self.entropy_budget = entropy_cells
        cells = _checks.cells(joint.sizes)
        fits = cells <= entropy_cells and cells * 8 <= _checks.max_bytes()
        # the invalid part of q on the dense output space: a dense array, plus pending
        # (flat index, mass) pairs added to it in batches
        self.dense = np.zeros(cells) if fits else None
        self.spread: list[tuple[np.ndarray, np.ndarray]] = []
        self.pending = 0
        sizes = np.asarray(joint.sizes, np.int64)
        self.strides = np.concatenate([np.cumprod(sizes[::-1])[::-1][1:], [1]])

    # -- driver -----------------------------------------------------------------------

    def run(self, progress: bool) -> Simulation:
        prompts = np.nonzero(self.prompt_mass > 0)[0]
        first = _Level(
            tokens=np.full((len(prompts), self.length), MASK, np.int64),
            prompt=prompts.astype(np.int64),
            step=np.zeros(len(prompts), np.int64),
            off=np.zeros(len(prompts), bool),
            mass=self.prompt_mass[prompts],
        )
        pending: dict[int, list[_Level]] = {0: [first]}
        self.finals: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
        self.invalid = 0.0
        self.nfe = 0.0
        self.visited = 0
        bar = None
        if progress:
            from tqdm.auto import tqdm

            bar = tqdm(desc=f"simulate {self.sampler.name}", unit="level", disable=None)
        while pending:
            states = _merge(_concat(pending.pop(min(pending))), self.radix)
            self.visited += len(states.mass)
            for child in self._expand(states):
                self._queue(child, pending)
            if bar is not None:
                bar.update(1)
                bar.set_postfix(states=self.visited)
        if bar is not None:
            bar.close()
        return self._result()

    def _queue(self, child: _Level, pending) -> None:
        """Record finished outputs; queue unfinished states by level."""
        done = ~np.any(child.tokens == MASK, axis=1)
        finals = done & ~child.off
        self.finals.append(
            (child.prompt[finals], child.tokens[finals], child.mass[finals])
        )
        rest = child.take(~done)
        if self.sampler.uses_step:
            levels = rest.step
        else:
            levels = np.sum(rest.tokens != MASK, axis=1)
        for value in np.unique(levels):
            pending.setdefault(int(value), []).append(rest.take(levels == value))

    # -- the oracle -------------------------------------------------------------------

    def _rows(self, prompt, tokens) -> tuple[np.ndarray, np.ndarray]:
        """CSR `(start, rows)`: the support rows consistent with each state.

        Rows are looked up in one sorted index per pattern of revealed positions
        (cached), so the work is proportional to the rows returned.
        """
        revealed = tokens != MASK
        pattern = revealed @ (1 << np.arange(self.length))
        counts = np.zeros(len(prompt), np.int64)
        parts = []
        for bits, members in _groups(pattern):
            cols = np.nonzero(revealed[members[0]])[0]
            order, keys = self._index(int(bits), cols)
            radix = self._radix(cols)
            wanted = _row_keys(prompt[members], tokens[members][:, cols], radix)
            lo = np.searchsorted(keys, wanted, side="left")
            hi = np.searchsorted(keys, wanted, side="right")
            counts[members] = hi - lo
            parts.append((members, lo, hi - lo, order))
        start = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
        rows = np.zeros(start[-1], np.int64)
        for members, lo, count, order in parts:
            rows[_ranges(start[members], count)] = order[_ranges(lo, count)]
        return start, rows

    def _radix(self, cols):
        return [int(self.task.joint.sizes[0])] + [int(self.sizes[c]) for c in cols]

    def _index(self, bits: int, cols):
        if bits not in self.indexes:
            radix = self._radix(cols)
            keys = _row_keys(self.support_prompt, self.support[:, cols], radix)
            order = np.argsort(keys, kind="stable")
            self.indexes[bits] = (order, keys[order])
        return self.indexes[bits]

    def _children(self, s: _Level, src, selected, on):
        """`(row, support row)` for each distinct valid child of each on-support row.

        The support is sorted by (prompt, revealed columns, committed columns), one
        index per pair of column sets (cached): a state's consistent rows are then one
        contiguous block, and its distinct children are the runs of equal committed
        values inside it, so the work is proportional to the children returned.
        """
        revealed = s.tokens[src[on]] != MASK
        bits = 1 << np.arange(self.length, dtype=np.int64)
        group = (revealed @ bits) * (1 << self.length) + selected[on] @ bits
        out_row, out_support = [], []
        for key, index in _groups(group):
            members = on[index]
            r_cols = np.nonzero(revealed[index[0]])[0]
            a_cols = np.nonzero(selected[members[0]])[0]
            order, prefix, runs = self._block_index(int(key), r_cols, a_cols)
            state = src[members]
            wanted = _row_keys(
                s.prompt[state], s.tokens[state][:, r_cols], self._radix(r_cols)
            )
            lo = np.searchsorted(prefix, wanted, side="left")
            hi = np.searchsorted(prefix, wanted, side="right")
            first, last = np.searchsorted(runs, lo), np.searchsorted(runs, hi)
            count = last - first
            out_row.append(np.repeat(members, count))
            out_support.append(order[runs[_ranges(first, count)]])
        if not out_row:
            return np.zeros(0, np.int64), np.zeros(0, np.int64)
        return np.concatenate(out_row), np.concatenate(out_support)

    def _block_index(self, key: int, r_cols, a_cols):
        if key not in self.blocks:
            prefix = _row_keys(
                self.support_prompt, self.support[:, r_cols], self._radix(r_cols)
            )
            rest = _row_keys(
                np.zeros_like(self.support_prompt),
                self.support[:, a_cols],
                [1] + [int(self.sizes[c]) for c in a_cols],
            )
            order = np.lexsort((rest, prefix))
            prefix, rest = prefix[order], rest[order]
            change = np.ones(len(order), bool)
            change[1:] = (prefix[1:] != prefix[:-1]) | (rest[1:] != rest[:-1])
            self.blocks[key] = (order, prefix, np.nonzero(change)[0])
        return self.blocks[key]

    def _marginals(self, s: _Level, start, rows) -> np.ndarray:
        """Oracle marginals of every state; uniform for off-support patterns."""
        count, length, vocab = len(s.mass), self.length, self.vocab
        live = np.nonzero(~s.off)[0]
        state_of_pair = live[np.repeat(np.arange(len(live)), np.diff(start))]
        weights = self.weights[rows]
        base = (state_of_pair * length)[:, None] + self.positions[None, :]
        flat = np.bincount(
            (base * vocab + self.support[rows]).ravel(),
            weights=np.repeat(weights, length),
            minlength=count * length * vocab,
        )
        probs = flat.reshape(count, length, vocab).astype(float)
        total = np.bincount(state_of_pair, weights=weights, minlength=count)
        has_mass = total > 0
        probs[has_mass] /= total[has_mass, None, None]
        uniform = (np.arange(vocab)[None, :] < self.sizes[:, None]) / self.sizes[
            :, None
        ]
        probs[~has_mass] = uniform
        return probs

    # -- one level --------------------------------------------------------------------

    def _expand(self, s: _Level):
        """Children of every state of one level (see the module docstring)."""
        sampler = self.sampler
        live = np.nonzero(~s.off)[0]
        start, rows = self._rows(s.prompt[live], s.tokens[live])
        masked = s.tokens == MASK
        eligible, block_size = _blocks.eligible_positions(masked, sampler.block, 0)
        probs = self._marginals(s, start, rows)
        pi = _blocks.draw_distribution(probs, sampler.temperature)
        table = _blocks.quantize(sampler.score(probs, self.positions))
        scores = np.where((pi > 0) & eligible[..., None], table, np.nan)
        class_id, class_value, class_prob, num_classes = _score_classes(scores, pi)

        # 1. joint class choices: each row fixes the score of every eligible position
        src = np.arange(len(s.mass))
        chosen = np.zeros((len(src), self.length), np.int64)
        if num_classes.max(initial=0) > 1:
            for j in range(self.length):
                rep = np.maximum(num_classes[src, j], 1)
                src, chosen = _repeat(rep, src, chosen)
                chosen[:, j] = _within(rep)
                self._guard(len(src))
        picked_prob = np.take_along_axis(class_prob[src], chosen[..., None], -1)[..., 0]
        weight = s.mass[src] * np.prod(
            np.where(eligible[src], picked_prob, 1.0), axis=1
        )
        picked_value = np.take_along_axis(class_value[src], chosen[..., None], -1)[
            ..., 0
        ]
        row_scores = np.where(eligible[src], picked_value, -np.inf)

        # 2. how many: the count pmf of each row (a step committing nothing is free)
        ranked = -np.sort(-row_scores, axis=1)
        num_eligible = eligible[src].sum(axis=1)
        pmf = np.asarray(
            sampler.count(ranked, num_eligible, block_size[src], s.step[src]), float
        )
        self.nfe += float(np.sum(weight * (1.0 - pmf[:, 0])))
        r, k = np.nonzero(pmf > 0)
        weight = weight[r] * pmf[r, k]
        src, chosen, row_scores, ranked = src[r], chosen[r], row_scores[r], ranked[r]
        self._guard(len(src))

        # 3. which positions: above the k-th score, plus a uniform subset of its ties
        selected, (r, share) = _tie_subsets(row_scores, ranked, k, eligible[src])
        src, chosen, weight = src[r], chosen[r], weight[r] * share
        self._guard(len(src))
        step = s.step[src] + int(sampler.uses_step)

        # 4a. off-support patterns: tokens are irrelevant, only the pattern moves on
        pattern = s.off[src]
        yield _Level(
            np.where(selected[pattern], 0, s.tokens[src[pattern]]),
            s.prompt[src[pattern]],
            step[pattern],
            s.off[src[pattern]],
            weight[pattern],
        )
        # 4b. on-support rows: the valid children of a row are the distinct values
        # that the state's consistent support rows take on the committed positions;
        # the rest of the row's mass leaves the support
        pair_row, support_row = self._children(
            s, src, selected, np.nonzero(~pattern)[0]
        )
        self._guard(len(pair_row))
        tokens = np.where(
            selected[pair_row], self.support[support_row], s.tokens[src[pair_row]]
        )
        factor = np.ones(len(pair_row))
        for j in range(self.length):
            take = selected[pair_row, j]
            p_src, v = src[pair_row[take]], tokens[take, j]
            in_class = class_id[p_src, j, v] == chosen[pair_row[take], j]
            factor[take] *= np.where(
                in_class,
                pi[p_src, j, v] / class_prob[p_src, j, chosen[pair_row[take], j]],
                0.0,
            )
        keep = factor > 0
        pair_row, tokens, factor = pair_row[keep], tokens[keep], factor[keep]
        child_mass = weight[pair_row] * factor
        valid_mass = np.bincount(pair_row, weights=child_mass, minlength=len(src))
        leaving = np.clip(weight - valid_mass, 0.0, None)
        leaving[pattern | (leaving <= 1e-13 * weight)] = 0.0
        self.invalid += float(leaving.sum())
        yield _Level(
            tokens,
            s.prompt[src[pair_row]],
            step[pair_row],
            np.zeros(len(pair_row), bool),
            child_mass,
        )
        departed = np.nonzero(leaving > 0)[0]
        yield _Level(
            np.where(
                selected[departed],
                0,
                np.where(s.tokens[src[departed]] == MASK, MASK, 0),
            ),
            np.zeros(len(departed), np.int64),
            step[departed],
            np.ones(len(departed), bool),
            leaving[departed],
        )
        if self.dense is not None and len(departed):
            branches = _Branches(src, chosen, selected, weight)
            laws = _Laws(pi, class_id, class_prob)
            self._spread(s, branches, laws, departed, (pair_row, tokens, child_mass))

    def _spread(self, s: _Level, branches, laws, departed, children):
        """Add the invalid mass of the departing rows to the dense law of all outputs.

        A row commits a set A of positions, drawing their tokens from the product of
        the class-restricted laws; an invalid draw is completed uniformly. The invalid
        part is therefore (product - valid children) on A, times uniform on the
        positions still masked after A. Rows with the same masked set and A are
        handled together.
        """
        src, chosen, selected, weight = branches
        pi, class_id, class_prob = laws
        pair_row, tokens, child_mass = children
        sizes = [int(k) for k in self.sizes]
        masked = s.tokens[src] == MASK
        bits = 1 << np.arange(2 * self.length, dtype=np.int64)
        signature = np.concatenate([masked, selected], axis=1) @ bits
        departing = np.zeros(len(src), bool)
        departing[departed] = True
        # sort departing rows, and the valid children of departing rows, by signature
        rows_sorted = departed[np.argsort(signature[departed], kind="stable")]
        row_sigs = signature[rows_sorted]
        child_idx = np.nonzero(departing[pair_row])[0]
        child_idx = child_idx[np.argsort(signature[pair_row[child_idx]], kind="stable")]
        child_sigs = signature[pair_row[child_idx]]
        for sig in np.unique(row_sigs):
            lo, hi = np.searchsorted(row_sigs, [sig, sig + 1])
            rows = np.sort(rows_sorted[lo:hi])
            c_lo, c_hi = np.searchsorted(child_sigs, [sig, sig + 1])
            child = child_idx[c_lo:c_hi]
            committed = np.nonzero(selected[rows[0]])[0]
            free = np.nonzero(masked[rows[0]] & ~selected[rows[0]])[0]
            combos = math.prod(sizes[j] for j in committed)
            spread = math.prod(sizes[j] for j in free)
            state = src[rows]
            self.entropy_budget -= len(np.unique(state)) * combos * spread
            if self.entropy_budget < 0:
                self.dense, self.spread = None, []
                return
            part = weight[rows][:, None]
            for j in committed:  # product of class-restricted laws, last axis fastest
                law = pi[state, j, : sizes[j]] * (
                    class_id[state, j, : sizes[j]] == chosen[rows, j][:, None]
                )
                law = law / class_prob[state, j, chosen[rows, j]][:, None]
                part = (part[:, :, None] * law[:, None, :]).reshape(len(rows), -1)
            # remove the valid children of each row
            row_pos = np.searchsorted(rows, pair_row[child])
            code = np.zeros(len(child), np.int64)
            for j in committed:
                code = code * sizes[j] + tokens[child, j]
            np.subtract.at(part, (row_pos, code), child_mass[child])
            part = np.clip(part, 0.0, None) / spread
            # rows of one state (several class choices or tie subsets) add up first
            state, inverse = np.unique(state, return_inverse=True)
            merged = np.zeros((len(state), combos))
            np.add.at(merged, inverse.ravel(), part)
            part = merged
            # flat indices: prompt and revealed positions fixed, committed positions
            # enumerated (last fastest, as `part`), free positions spread uniformly
            stride = self.strides
            base = s.prompt[state] * stride[0]
            for j in np.nonzero(~masked[rows[0]])[0]:
                base = base + s.tokens[state, j] * stride[1 + j]
            combo = np.zeros(1, np.int64)
            for j in committed:
                combo = (combo[:, None] + np.arange(sizes[j]) * stride[1 + j]).ravel()
            spread_at = np.zeros(1, np.int64)
            for j in free:
                spread_at = (
                    spread_at[:, None] + np.arange(sizes[j]) * stride[1 + j]
                ).ravel()
            flat = base[:, None, None] + combo[None, :, None] + spread_at[None, None, :]
            values = np.broadcast_to(part[:, :, None], flat.shape)
            self.spread.append((flat.ravel(), values.ravel()))
            self.pending += flat.size
            if self.pending > _FLUSH:
                self._flush()

    def _flush(self) -> None:
        if self.spread:
            self.dense += np.bincount(
                np.concatenate([f for f, _ in self.spread]),
                weights=np.concatenate([v for _, v in self.spread]),
                minlength=len(self.dense),
            )
        self.spread, self.pending = [], 0

    def _guard(self, rows: int) -> None:
        if rows > self.max_branches:
            raise ValueError(
                f"exact simulation of {self.sampler.describe()} on {self.task.name} "
                f"(n={self.task.n}) expands to {rows:,} branches in one level, over "
                f"max_branches={self.max_branches:,}; use a smaller task."
            )

    def _result(self) -> Simulation:
        joint = self.task.joint
        prompt, tokens, mass = (
            np.concatenate(parts) for parts in zip(*self.finals, strict=True)
        )
        outcomes = np.concatenate([prompt[:, None], tokens], axis=1)
        keys = _row_keys(prompt, tokens, list(joint.sizes))
        _, first, inverse = np.unique(keys, return_index=True, return_inverse=True)
        probs = np.bincount(inverse.ravel(), weights=mass)
        outputs = SparseJoint(
            jnp.asarray(outcomes[first].astype(outcome_dtype(joint.sizes))),
            jnp.asarray(probs),
            joint.sizes,
            True,
        )
        output_entropy = None
        if self.dense is not None:
            self.spread.append((outcomes @ self.strides, mass))
            self._flush()
            nz = self.dense[self.dense > 0]
            prompt_law = self.prompt_mass[self.prompt_mass > 0]
            output_entropy = float(
                -np.sum(nz * np.log(nz)) + np.sum(prompt_law * np.log(prompt_law))
            )
        return Simulation(
            task=self.task,
            sampler=self.sampler,
            outputs=outputs,
            invalid_mass=self.invalid,
            expected_nfe=self.nfe,
            states_visited=self.visited,
            output_entropy=output_entropy,
        )


# --------------------------------------------------------------------------------------
# Vectorised helpers


def _score_classes(scores, pi):
    """Group each position's tokens by tied score.

    Returns class ids `(S, L, V)` (in ascending score order; -1 for tokens that cannot
    be drawn), the class values and class probabilities `(S, L, V)` indexed by class
    id, and the number of classes `(S, L)`.
    """
    valid = ~np.isnan(scores)
    order = np.argsort(np.where(valid, scores, np.inf), axis=-1, kind="stable")
    ranked = np.take_along_axis(scores, order, axis=-1)
    ranked_valid = np.take_along_axis(valid, order, axis=-1)
    new = ranked_valid.copy()
    new[..., 1:] &= ranked[..., 1:] != ranked[..., :-1]
    ranked_id = np.cumsum(new, axis=-1) - 1
    class_id = np.empty_like(ranked_id)
    np.put_along_axis(class_id, order, ranked_id, axis=-1)
    class_id = np.where(valid, class_id, -1)
    num_classes = new.sum(axis=-1)
    class_value = np.full(scores.shape, -np.inf)
    class_prob = np.zeros(scores.shape)
    s_idx, l_idx, v_idx = np.nonzero(valid)
    c_idx = class_id[s_idx, l_idx, v_idx]
    class_value[s_idx, l_idx, c_idx] = scores[s_idx, l_idx, v_idx]
    np.add.at(class_prob, (s_idx, l_idx, c_idx), pi[s_idx, l_idx, v_idx])
    class_prob[num_classes == 0, 0] = 1.0
    return class_id, class_value, class_prob, num_classes


def _tie_subsets(scores, ranked, k, eligible):
    """Committed sets: above the k-th score, plus each equally likely subset of ties.

    Returns `(selected (R', L), (row index (R',), probability (R',)))`.
    """
    rows = len(k)
    kth = np.where(k > 0, ranked[np.arange(rows), np.maximum(k - 1, 0)], np.inf)
    above = (scores > kth[:, None]) & eligible
    boundary = (scores == kth[:, None]) & eligible
    need = k - above.sum(axis=1)
    ties = boundary.sum(axis=1)
    selected_parts, index_parts, prob_parts = [], [], []
    for b, r in set(zip(ties.tolist(), need.tolist(), strict=True)):
        group = np.nonzero((ties == b) & (need == r))[0]
        subsets = list(itertools.combinations(range(b), r))
        combos = np.array(subsets, np.int64).reshape(len(subsets), r)
        tied = np.nonzero(boundary[group])[1].reshape(len(group), b)
        chosen = np.repeat(above[group], len(combos), axis=0)
        row_of = np.repeat(np.arange(len(group)), len(combos))
        picks = tied[row_of[:, None], np.tile(combos, (len(group), 1))]
        chosen[np.arange(len(chosen))[:, None], picks] = True
        selected_parts.append(chosen)
        index_parts.append(group[row_of])
        prob_parts.append(np.full(len(chosen), 1.0 / len(combos)))
    return np.concatenate(selected_parts), (
        np.concatenate(index_parts),
        np.concatenate(prob_parts),
    )


def _groups(keys):
    """`(key, indices)` for each distinct key, from one stable sort."""
    order = np.argsort(keys, kind="stable")
    sorted_keys = keys[order]
    cuts = np.nonzero(sorted_keys[1:] != sorted_keys[:-1])[0] + 1
    for chunk in np.split(order, cuts):
        if len(chunk):
            yield keys[chunk[0]], chunk


def _repeat(rep, *arrays):
    return tuple(np.repeat(a, rep, axis=0) for a in arrays)


def _within(rep):
    """0..rep[i]-1 for each i, concatenated."""
    ends = np.cumsum(rep)
    return np.arange(ends[-1] if len(ends) else 0) - np.repeat(ends - rep, rep)


def _encode(s: _Level, radix) -> np.ndarray:
    """One integer (or row) key per state: off flag, prompt, step, tokens."""
    columns = [s.off.astype(np.int64), s.prompt, s.step] + [
        s.tokens[:, j] + 1 for j in range(s.tokens.shape[1])
    ]
    key = _mixed_radix(columns, radix)
    if key is not None:
        return key
    stacked = np.stack(columns, axis=1)
    return np.unique(stacked, axis=0, return_inverse=True)[1].ravel()


def _merge(s: _Level, radix) -> _Level:
    """Merge identical states, adding their masses."""
    _, first, inverse = np.unique(
        _encode(s, radix), return_index=True, return_inverse=True
    )
    merged = s.take(first)
    merged.mass = np.bincount(inverse.ravel(), weights=s.mass)
    return merged


def _concat(batches: list[_Level]) -> _Level:
    return _Level(
        *(
            np.concatenate([getattr(b, f.name) for b in batches])
            for f in dataclasses.fields(_Level)
        )
    )


def _mixed_radix(columns, radix):
    """One int64 key per row from integer columns, or None if it needs > 63 bits."""
    if math.prod(radix) >= 2**63:
        return None
    key = np.zeros(len(columns[0]), np.int64)
    for column, base in zip(columns, radix, strict=True):
        key = key * base + column
    return key


def _row_keys(prompt, cols, radix) -> np.ndarray:
    """Sortable int64 keys of (prompt, values) rows (mixed radix)."""
    key = _mixed_radix([prompt] + [cols[:, i] for i in range(cols.shape[1])], radix)
    if key is not None:
        return key
    raise ValueError(
        "a support key needs more than 63 bits; the task is too large to simulate"
    )


def _ranges(begin, length):
    """Concatenation of arange(b, b + n) for each pair."""
    ends = np.cumsum(length)
    return np.repeat(begin - (ends - length), length) + np.arange(
        ends[-1] if len(ends) else 0
    )


def _support_index(joint: SparseJoint, outcomes: np.ndarray) -> np.ndarray:
    """Row of `joint` equal to each outcome, or -1."""
    support = np.asarray(joint.outcomes).astype(np.int64)
    both = np.concatenate([support, outcomes.astype(np.int64)])
    _, inverse = np.unique(both, axis=0, return_inverse=True)
    inverse = inverse.ravel()
    lookup = np.full(inverse.max() + 1, -1)
    lookup[inverse[: len(support)]] = np.arange(len(support))
    return lookup[inverse[len(support) :]]
