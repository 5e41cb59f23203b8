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

**Any model.** `simulate(..., model=model)` runs the same driver and steps 1-3 with
the model's marginals over its whole vocabulary; step 5 then takes every token of
positive probability, states off the support stay real states, and an output is
valid iff it is in the support (`_model`).
"""

from __future__ import annotations

import dataclasses
import itertools
from typing import NamedTuple

import jax.numpy as jnp
import numpy as np

from .. import _checks
from .._keys import merge_rows
from ..distributions import SparseJoint, outcome_dtype
from ..layout import task_layout
from ..samplers import rules
from ..samplers._sampler import Sampler
from ..tasks import Task
from ._result import Simulation
from ._spread import InvalidSpread
from ._support import SupportIndex

DEFAULT_MAX_BRANCHES = 30_000_000
"""Refuse a level that would expand into more rows than this (memory guard)."""

DEFAULT_ENTROPY_CELLS = 200_000_000
"""Budget of cell writes for the entropy of $q$ over invalid outputs too (~2 s)."""

DEFAULT_MAX_STATES = 10**6
"""With a model at temperature > 0: refuse when the bound on the states exceeds it
(a transformer's forward pass is a fraction of a millisecond per state on a CPU, so
10^6 states are minutes), and the most partial outputs of a support-only run."""


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

    tokens: np.ndarray  # (S, L) int, the mask id where masked
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


class _Enumerator:
    def __init__(self, task: Task, sampler: Sampler, max_branches: int, entropy_cells):
        self.task, self.sampler, self.max_branches = task, sampler, max_branches
        self.mask_id = task_layout(task).mask_id
        self.index = SupportIndex(task.joint, self.mask_id)
        self.length = self.index.length
        self.positions = self.index.positions
        steps = sampler.max_steps(self.length)
        self.radix = [2, self.index.num_prompts, steps + 2] + [
            self.index.vocab + 1
        ] * self.length
        self.spread = InvalidSpread(task.joint.sizes, entropy_cells, self.mask_id)

    # -- driver -----------------------------------------------------------------------

    def run(self, progress: bool) -> Simulation:
        prompt_mass = self.index.prompt_mass
        prompts = np.nonzero(prompt_mass > 0)[0]
        first = _Level(
            tokens=np.full((len(prompts), self.length), self.mask_id, np.int64),
            prompt=prompts.astype(np.int64),
            step=np.zeros(len(prompts), np.int64),
            off=np.zeros(len(prompts), bool),
            mass=prompt_mass[prompts],
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
            states = _merge(
                _concat(pending.pop(min(pending))), self.radix, self.mask_id
            )
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
        done = ~np.any(child.tokens == self.mask_id, axis=1)
        finals = done & ~child.off
        self.finals.append(
            (child.prompt[finals], child.tokens[finals], child.mass[finals])
        )
        rest = child.take(~done)
        if self.sampler.uses_step:
            levels = rest.step
        else:
            levels = np.sum(rest.tokens != self.mask_id, axis=1)
        for value in np.unique(levels):
            pending.setdefault(int(value), []).append(rest.take(levels == value))

    # -- one level --------------------------------------------------------------------

    def _expand(self, s: _Level):
        """Children of every state of one level (see the module docstring)."""
        masked = s.tokens == self.mask_id
        eligible, block_size = rules.eligible_positions(masked, self.sampler.block, 0)
        probs = self._probs(s)
        branches, laws, step = self._branch(s, probs, eligible, block_size)
        yield from self._children(s, branches, laws, step)

    def _probs(self, s: _Level) -> np.ndarray:
        """The oracle's marginals `(S, L, V)` of the level's states."""
        live = np.nonzero(~s.off)[0]
        start, rows = self.index.rows(s.prompt[live], s.tokens[live])
        return self.index.marginals(s.off, start, rows)

    def _branch(self, s: _Level, probs, eligible, block_size):
        """Steps 1-3: class choices, counts and committed sets of every state.

        Returns `(branches, laws, step)`: the level's rows, the states' token laws
        and score classes, and the step index of each row's children.
        """
        sampler = self.sampler
        pi = rules.draw_distribution(probs, sampler.temperature)
        table = rules.quantize(sampler.score(probs, self.positions))
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
        at = (src[:, None], self.positions[None, :], chosen)
        picked_prob = class_prob[at]
        weight = s.mass[src] * np.prod(
            np.where(eligible[src], picked_prob, 1.0), axis=1
        )
        picked_value = class_value[at]
        row_scores = np.where(eligible[src], picked_value, -np.inf)

        # 2. how many: the count pmf of each row (a step committing nothing is free)
        ranked = -np.sort(-row_scores, axis=1)
        num_eligible = eligible[src].sum(axis=1)
        read = ranked if sampler.count_order == "score" else row_scores
        pmf = np.asarray(
            sampler.count(read, num_eligible, block_size[src], s.step[src]), float
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
        branches = _Branches(src, chosen, selected, weight)
        return branches, _Laws(pi, class_id, class_prob), step

    def _children(self, s: _Level, branches: _Branches, laws: _Laws, step):
        """Step 4 with the oracle: valid children, and patterns off the support."""
        src, chosen, selected, weight = branches
        pi, class_id, class_prob = laws
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
        on = np.nonzero(~pattern)[0]
        pair_row, support_row = self.index.children(
            s.prompt[src[on]], s.tokens[src[on]], selected[on]
        )
        pair_row = on[pair_row]
        self._guard(len(pair_row))
        tokens = np.where(
            selected[pair_row],
            self.index.support[support_row],
            s.tokens[src[pair_row]],
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
                np.where(s.tokens[src[departed]] == self.mask_id, self.mask_id, 0),
            ),
            np.zeros(len(departed), np.int64),
            step[departed],
            np.ones(len(departed), bool),
            leaving[departed],
        )
        if self.spread.active and len(departed):
            children = (pair_row, tokens, child_mass)
            self.spread.add(s.tokens, s.prompt, branches, laws, departed, children)

    def _guard(self, rows: int) -> None:
        _checks.check_work(
            rows,
            f"one level of the exact simulation of {self.sampler.describe()} on "
            f"{self.task.name} (n={self.task.n})",
            self.max_branches,
            unit="branches",
            why="`max_branches`, a memory guard",
        )

    def _result(self) -> Simulation:
        joint = self.task.joint
        prompt, tokens, mass = (
            np.concatenate(parts) for parts in zip(*self.finals, strict=True)
        )
        outcomes = np.concatenate([prompt[:, None], tokens], axis=1)
        first, probs = merge_rows(outcomes, mass, joint.sizes)
        outputs = SparseJoint(
            jnp.asarray(outcomes[first].astype(outcome_dtype(joint.sizes))),
            jnp.asarray(probs),
            joint.sizes,
            True,
        )
        output_entropy = self.spread.entropy(outcomes, mass, self.index.prompt_mass)
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


def _repeat(rep, *arrays):
    return tuple(np.repeat(a, rep, axis=0) for a in arrays)


def _within(rep):
    """0..rep[i]-1 for each i, concatenated."""
    ends = np.cumsum(rep)
    return np.arange(ends[-1] if len(ends) else 0) - np.repeat(ends - rep, rep)


def _merge(s: _Level, radix, mask_id: int) -> _Level:
    """Merge identical states (off flag, prompt, step, tokens), adding their masses.

    A token is keyed as itself plus one, the mask as 0, so each position needs a
    radix of its alphabet size plus one.
    """
    tokens = np.where(s.tokens == mask_id, 0, s.tokens + 1)
    rows = np.column_stack([s.off, s.prompt, s.step, tokens])
    first, mass = merge_rows(rows, s.mass, radix)
    merged = s.take(first)
    merged.mass = mass
    return merged


def _concat(batches: list[_Level]) -> _Level:
    return _Level(
        *(
            np.concatenate([getattr(b, f.name) for b in batches])
            for f in dataclasses.fields(_Level)
        )
    )
