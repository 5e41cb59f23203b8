r"""Exact simulation of a sampler driven by any `Model` (not only the oracle).

The level driver, token laws, score classes, counts and tie subsets are the oracle
enumerator's (`_enumerate`); what changes with a model is where the marginals come
from and which children a committed set has:

* **Marginals.** A state is a prompt index and the output tokens (the model layout's
  `mask_id` where masked); the model reads `layout.prefixes[prompt]` followed by the
  outputs. Each level's distinct states go through one jitted, vmapped call of
  `model.logits_fn` per chunk (`level_probabilities`), and the probabilities are the
  softmax of the output rows' logits with the mask column set to $-\infty$, exactly
  as the Monte Carlo decoder does (`trilemma.samplers.decode`).
* **Children.** A committed set $A$ of a row takes every combination of tokens with
  $\pi_j > 0$ in the row's chosen score class, over the whole vocabulary: a trained
  model puts mass outside $p^*$'s support and even outside a position's alphabet.
  States off the support are kept as real states (the model's marginals depend on
  the actual tokens, so they cannot be merged by mask pattern).
* **Outputs.** A finished output is valid iff it is in $p^*$'s support; its mass goes
  to `outputs`, or else to `invalid_mass`. Every output is enumerated, so the entropy
  of $q$ over all outputs is exact (no budget, `entropy_cells` is unused).

**Adaptive samplers at a temperature above 0.** When a position's score depends on
the token it draws (confidence top-k, threshold, factor), the oracle enumerator's
joint class choices cost about $V^m$ rows per state of $m$ eligible positions. Those
states go to `_factorised` instead, which enumerates what a step commits, $(S,
v_S)$, with its probability in closed form (the draws and scores of different
positions are independent given the state); states whose scores do not depend on
the drawn token (margin, entropy, uniform, left-to-right, greedy) keep the class
choice, which is then one row per state and already the same law.

**Support only.** At a temperature above 0 a trained model gives every token some
probability, and the whole tree has up to $P\,(V'+1)^L$ states. With
`support_only=True` a child is dropped as soon as its revealed tokens agree with no
valid output of its prompt (it can only finish invalid); its mass joins
`invalid_mass`. The valid outputs' law $q$ stays exact, and so do precision,
recall, accuracy, TV and $D_{KL}(p^*\|q)$; the entropy over all outputs is then
unknown (None). This is how `trilemma.fit` computes a model's exact one-by-one law.
$\mathbb{E}[\mathrm{NFE}]$ stays exact for the top-k samplers (random,
left-to-right, confidence, margin, entropy; LLaDA's or Dream's schedule) and DUS:
their counts never read the model, so every trajectory commits the same counts at
the same steps, and each level adds its commit probability, the same for all its
states. For threshold, factor and EB, whose counts read the scores, and MDLM, whose
counts are random, the steps that dropped trajectories would still take are not
known without the model calls that support-only skips: `expected_nfe` is then NaN.

**Budgets.** Before a level is evaluated, the bytes of its forward passes and token
laws are checked against the memory budget (`_checks.check_memory`), and before the
children are built their exact number is checked against `max_branches`. At a
temperature above 0 every token of positive probability branches, so the whole
enumeration is bounded up front by $P\,(V' + 1)^L$ states ($V'$ drawable tokens;
times $N + 1$ step indices for MDLM) and refused when that bound exceeds
`max_states`; greedy decoding (ties uniform) keeps the tree small and is only
guarded level by level.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np

from .. import _checks
from .._keys import merge_rows, rows_in
from ..distributions import SparseJoint, outcome_dtype
from ..models import Model
from ..samplers import rules
from ..samplers._dus import dus_count
from ..samplers._sampler import Sampler
from ..tasks import Task
from . import _factorised
from ._enumerate import DEFAULT_MAX_STATES, _Branches, _Enumerator, _Laws, _Level
from ._result import Simulation, conditional_entropy
from ._support import SupportIndex

CHUNK = 4096
"""States per forward call; smaller calls are padded to a power of two (>= 16)."""

_LEVEL_BYTES_PER_CELL = 8 * 10
"""Bytes per (state, position, token) cell of a level: probabilities, logits, laws."""


@functools.partial(
    jax.jit, static_argnames=("logits_fn", "mask_id", "prefix_length", "first_row")
)
def _probabilities_kernel(
    params, inputs, *, logits_fn, mask_id, prefix_length, first_row
):
    """`(B, m + L)` model inputs -> `(B, L, V)` output probabilities (one call)."""
    logits = jax.vmap(lambda tokens: jnp.asarray(logits_fn(params, tokens)))(inputs)
    length = inputs.shape[1] - prefix_length
    return rules.token_probabilities(logits[:, first_row : first_row + length], mask_id)


def level_probabilities(
    model: Model, prompt, tokens, *, chunk: int = CHUNK, predicts_next: bool = False
):
    """Output probabilities `(S, L, V)` of many states, in jitted vmapped chunks.

    Args:
      model: the model.
      prompt: `(S,)` prompt index of each state (a row of `model.layout.prefixes`).
      tokens: `(S, L)` output tokens, `model.layout.mask_id` where masked.
      chunk: states per call; a shorter last call is padded to a power of two, so
        a whole enumeration compiles a handful of shapes.
      predicts_next: a causal (AR) model, whose row $i$ predicts token $i + 1$:
        output $j$'s law is read from the row before it, given the tokens to its
        left (as APD's verifier reads it).

    Returns:
      NumPy float64 probabilities (float32 precision where x64 is off).
    """
    layout = model.layout
    if predicts_next and layout.prefix_length < 1:
        raise ValueError(
            f"model {model.name!r} has no prefix row to predict the first output from"
        )
    inputs = np.concatenate([layout.prefixes[prompt], tokens], axis=1)
    inputs = inputs.astype(np.int32)
    static = {
        "logits_fn": model.logits_fn,
        "mask_id": int(layout.mask_id),
        "prefix_length": layout.prefix_length,
        "first_row": layout.prefix_length - int(bool(predicts_next)),
    }
    parts = []
    for lo in range(0, len(inputs), chunk):
        part = inputs[lo : lo + chunk]
        size = min(chunk, max(16, 1 << (len(part) - 1).bit_length()))
        padded = np.concatenate([part, np.repeat(part[-1:], size - len(part), 0)])
        out = _probabilities_kernel(model.params, jnp.asarray(padded), **static)
        parts.append(np.asarray(out, np.float64)[: len(part)])
    if not parts:
        return np.zeros((0, layout.output_length, layout.vocab_size))
    return np.concatenate(parts)


def simulate_model(
    task: Task,
    sampler: Sampler,
    model: Model,
    *,
    max_branches: int,
    max_states: int = DEFAULT_MAX_STATES,
    support_only: bool = False,
    progress: bool = False,
) -> Simulation:
    """`simulate(task, sampler, model=model)`: see the module docstring."""
    _checks.check_instance(model, "model", Model, "a trilemma Model")
    _checks.check_bool(support_only, "support_only")
    sizes = [int(k) for k in task.joint.sizes]
    _checks.check_layout_fits(model.layout, sizes[1:], sizes[0])
    enumerator = _ModelEnumerator(
        task, sampler, model, max_branches, max_states, support_only
    )
    return enumerator.run(progress)


class _ModelEnumerator(_Enumerator):
    """The level driver of `_Enumerator`, with a model's marginals and children."""

    def __init__(
        self, task, sampler, model: Model, max_branches, max_states, support_only
    ):
        self.task, self.sampler, self.model = task, sampler, model
        self.max_branches = max_branches
        self.pruned = 0.0
        layout = model.layout
        self.mask_id = int(layout.mask_id)
        self.vocab = int(layout.vocab_size)
        self.index = SupportIndex(task.joint, self.mask_id)
        self.length = self.index.length
        self.positions = self.index.positions
        steps = sampler.max_steps(self.length)
        self.radix = [2, self.index.num_prompts, steps + 2] + [
            self.vocab + 1
        ] * self.length
        self.partial = None
        self.factorised = _factorised.has_form(sampler)
        # support-only drops trajectories: their steps are known only when the
        # count schedule never reads the model (top-k)
        self.nfe_exact = not support_only or _fixed_counts(sampler)
        if support_only:
            self.partial = self._partial_outputs(max_states)
        elif sampler.temperature > 0:
            drawable = self.vocab - int(0 <= self.mask_id < self.vocab)
            bound = self.index.num_prompts * _checks.power(drawable + 1, self.length)
            if sampler.uses_step:  # states are keyed by their step too (MDLM)
                bound *= steps + 1
            bound = min(bound, _checks.SIZE_LIMIT)
            _checks.check_work(
                bound,
                f"the exact simulation of {sampler.describe()} with model "
                f"'{model.name}' on {task.name} (n={task.n}), every one of "
                f"{drawable} tokens branching at each of {self.length} positions",
                max_states,
                unit="decoding states",
                why="`max_states`; greedy decoding (temperature 0) branches far less, "
                "and `support_only` enumerates only what can still finish valid",
            )

    def _partial_outputs(self, max_states: int) -> np.ndarray:
        """Every `(prompt, tokens)` that agrees with a valid output: R 2^L rows."""
        outcomes = np.asarray(self.task.joint.outcomes).astype(np.int64)
        subsets = _checks.power(2, self.length)
        _checks.check_work(
            len(outcomes) * subsets,
            f"the partial outputs of {self.task.name} (n={self.task.n})",
            max_states,
            unit="rows",
            why="`max_states`",
        )
        bits = (np.arange(subsets)[:, None] >> np.arange(self.length)) & 1
        prompt = np.repeat(outcomes[:, 0], subsets)
        tokens = np.where(
            bits[None].astype(bool), outcomes[:, None, 1:], self.mask_id
        ).reshape(-1, self.length)
        return np.unique(np.column_stack([prompt, tokens]), axis=0)

    def _expand(self, s: _Level):
        """Children of one level: token-dependent scores factorised, others joint."""
        before = self.nfe
        masked = s.tokens == self.mask_id
        eligible, block_size = rules.eligible_positions(masked, self.sampler.block, 0)
        probs = self._probs(s)
        factorised = np.zeros(len(s.mass), bool)
        if self.factorised:
            _, table, drawable = _factorised.token_laws(
                self.sampler, probs, eligible, self.positions
            )
            factorised = _factorised.token_dependent(table, drawable)
        joint = np.nonzero(~factorised)[0]
        if len(joint):
            part = s.take(joint)
            branches, laws, step = self._branch(
                part, probs[joint], eligible[joint], block_size[joint]
            )
            yield from self._children(part, branches, laws, step)
        rest = np.nonzero(factorised)[0]
        if len(rest):
            yield self._commits(
                s.take(rest), probs[rest], eligible[rest], block_size[rest]
            )
        if self.partial is not None and self.nfe_exact:
            # top-k: every trajectory takes this level's step (commit probability 1)
            self.nfe = before + (self.nfe - before) / float(np.sum(s.mass))

    def _commits(self, s: _Level, probs, eligible, block_size) -> _Level:
        """The children of states whose scores depend on the drawn token."""
        keep = None
        if self.partial is not None:

            def keep(src, committed):
                tokens = np.where(committed >= 0, committed, s.tokens[src])
                rows = np.column_stack([s.prompt[src], tokens])
                return rows_in(rows, self.partial)

        out = _factorised.commits(
            self.sampler,
            probs,
            eligible,
            block_size,
            s.step,
            keep=keep,
            guard=self._check_children,
        )
        src = np.concatenate([out.src, np.nonzero(out.idle > 0)[0]])
        selected = np.concatenate(
            [out.selected, np.zeros((len(src) - len(out.src), self.length), bool)]
        )
        tokens = np.where(selected[: len(out.src)], out.tokens, s.tokens[out.src])
        tokens = np.concatenate([tokens, s.tokens[src[len(out.src) :]]])
        mass = s.mass[src] * np.concatenate([out.prob, out.idle[out.idle > 0]])
        self.nfe += float(np.sum(s.mass * (1.0 - out.idle)))
        if self.partial is not None:  # the mass of the dropped children
            kept = np.bincount(src, weights=mass, minlength=len(s.mass))
            self.pruned += float(np.clip(s.mass - kept, 0.0, None).sum())
        step = s.step[src] + int(self.sampler.uses_step)
        return _Level(tokens, s.prompt[src], step, np.zeros(len(src), bool), mass)

    def _probs(self, s: _Level) -> np.ndarray:
        """The model's probabilities `(S, L, V)`, after a memory check."""
        cells = len(s.mass) * self.length * self.vocab
        _checks.check_memory(
            cells * _LEVEL_BYTES_PER_CELL,
            f"one level of the exact simulation of {self.sampler.describe()} with "
            f"model '{self.model.name}' ({len(s.mass):,} states x {self.length} "
            f"positions x {self.vocab} tokens)",
        )
        return level_probabilities(self.model, s.prompt, s.tokens)

    def _children(self, s: _Level, branches: _Branches, laws: _Laws, step):
        """Every token combination of positive probability on each committed set.

        A row's committed position takes each token of its chosen score class; a
        class of one token (the usual case at temperature > 0) is assigned in place,
        larger classes repeat the row once per token.
        """
        src, chosen, selected, weight = branches
        pi, class_id, class_prob = laws
        num_states, length, vocab = pi.shape
        # the size of every score class, and one token of it
        s_idx, l_idx, v_idx = np.nonzero(class_id >= 0)
        flat = (s_idx * length + l_idx) * vocab + class_id[s_idx, l_idx, v_idx]
        size = np.bincount(flat, minlength=num_states * length * vocab)
        size = size.reshape(pi.shape)
        token = np.zeros(num_states * length * vocab, np.int64)
        token[flat] = v_idx
        token = token.reshape(pi.shape)
        # the exact number of children, checked before they are built
        # (support-only rows are pruned after each position: checked as they grow)
        if self.partial is None:
            counts = np.where(selected, size[src[:, None], self.positions, chosen], 1)
            self._check_children(float(np.prod(counts.astype(float), axis=1).sum()))
        row = np.arange(len(src))
        tokens = s.tokens[src]
        mass = weight.copy()
        for j in range(length):
            sel, c, st = selected[row, j], chosen[row, j], src[row]
            n = np.where(sel, size[st, j, c], 1)
            one = np.nonzero(sel & (n == 1))[0]
            v = token[st[one], j, c[one]]
            tokens[one, j] = v
            mass[one] *= pi[st[one], j, v] / class_prob[st[one], j, c[one]]
            many = np.nonzero(n > 1)[0]
            if self.partial is not None:
                self._check_children(float(len(row) + n[many].sum()))
            if len(many):
                pick, v = np.nonzero(class_id[st[many], j] == c[many, None])
                grown = many[pick]
                child_tokens = tokens[grown]
                child_tokens[:, j] = v
                share = pi[st[grown], j, v] / class_prob[st[grown], j, c[grown]]
                keep = n == 1
                row = np.concatenate([row[keep], row[grown]])
                tokens = np.concatenate([tokens[keep], child_tokens])
                mass = np.concatenate([mass[keep], mass[grown] * share])
            if self.partial is not None and sel.any():
                row, tokens, mass = self._prune(s.prompt[src[row]], row, tokens, mass)
        yield _Level(
            tokens,
            s.prompt[src[row]],
            step[row],
            np.zeros(len(row), bool),
            mass,
        )

    def _check_children(self, total: float) -> None:
        """Refuse `total` children rows over the branch or memory budget."""
        self._guard(int(min(total, _checks.SIZE_LIMIT)))
        _checks.check_memory(
            int(min(total * 8 * (self.length + 4), _checks.SIZE_LIMIT)),
            f"the children of one level of the exact simulation of "
            f"{self.sampler.describe()} with model '{self.model.name}'",
        )

    def _prune(self, prompt, row, tokens, mass):
        """Drop the rows that no valid output agrees with; their mass is invalid."""
        ok = rows_in(np.column_stack([prompt, tokens]), self.partial)
        self.pruned += float(mass[~ok].sum())
        return row[ok], tokens[ok], mass[ok]

    def _result(self) -> Simulation:
        joint = self.task.joint
        prompt, tokens, mass = (
            np.concatenate(parts) for parts in zip(*self.finals, strict=True)
        )
        outcomes = np.concatenate([prompt[:, None], tokens], axis=1)
        radix = [self.index.num_prompts] + [self.vocab + 1] * self.length
        first, mass = merge_rows(outcomes, mass, radix)
        outcomes = outcomes[first]
        sizes = self.index.sizes
        valid = np.all(outcomes[:, 1:] < sizes, axis=1)
        inside = np.nonzero(valid)[0]
        start, _ = self.index.rows(outcomes[inside, 0], outcomes[inside, 1:])
        valid[inside] = np.diff(start) > 0
        outputs = SparseJoint(
            jnp.asarray(outcomes[valid].astype(outcome_dtype(joint.sizes))),
            jnp.asarray(mass[valid]),
            joint.sizes,
            True,
        )
        entropy = conditional_entropy(mass, self.index.prompt_mass)
        return Simulation(
            task=self.task,
            sampler=self.sampler,
            outputs=outputs,
            invalid_mass=float(mass[~valid].sum()) + self.pruned,
            expected_nfe=self.nfe if self.nfe_exact else float("nan"),
            states_visited=self.visited,
            output_entropy=None if self.partial is not None else entropy,
        )


_FIXED_COUNTS = (rules.topk_count, rules.dream_count, dus_count)
"""Count rules that are functions of the masks left, the block and the step only."""


def _fixed_counts(sampler: Sampler) -> bool:
    """Whether every trajectory commits the same counts at the same steps.

    LLaDA's and Dream's top-k schedules and DUS's levels never read the model (MDLM's
    binomial does not either, but it is random).
    """
    return getattr(sampler.count, "fn", None) in _FIXED_COUNTS
