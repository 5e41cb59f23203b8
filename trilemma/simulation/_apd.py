r"""APD's exact output law with the ideal dLLM and $p^*$'s exact AR verifier.

APD (`trilemma.samplers.apd`) decodes left to right, so a decoding state is an
accepted prefix $y_{<t}$ of a prompt. With the ideal models both experts are
marginals of $p^*$ given revealed tokens (uniform after an impossible prefix, the
oracle's convention): the dLLM's $p_{D,j} = p^*(y_j \mid x, y_{<t})$ at the window's
positions $j = t, \dots, t + W - 1$ ($W = \min(M, L - t)$), and the verifier's
$a_j = p^*(y_j \mid x, y_{<t}, \hat x_t, \dots, \hat x_{j-1})$, the marginal at $j$
with the drafts to its left revealed. Given the drafts to its left, position $j$'s
draft and target depend on its own Gumbel noise only, so one step commits the block
$v_t, \dots, v_{t+k-1}$ with probability

$$\pi_t(v_t) \prod_{t<j<t+k} A_j(v_j) \cdot \Big(1 - \sum_v A_{t+k}(v)\Big),$$

the last factor only when $k < W$, where $\pi_j \propto p_{D,j}^{1/\tau}$ is the draft's
law, $q_j$ the target's (`_apd.target`) and $A_j(v)$ their Gumbel-coupling agreement
(`_apd.agreement`). The enumeration goes level by level over the prefix length,
merging equal prefixes: no Monte Carlo. One step costs one dLLM pass, and one AR pass
when $W \ge 2$ (as `trilemma.samplers.decode` counts them).

Accepted prefixes stay in the support of $p^*$ when $R < 1$ (an accepted draft needs
$a_j > 0$) or $M = 1$; at $R = 1$ with $M \ge 2$ the drafts are independent
marginals and may leave it, and the states off the support are enumerated too, so
the law of every output, valid or not, is exact.
"""

from __future__ import annotations

import math

import jax.numpy as jnp
import numpy as np

from .. import _checks
from .._keys import merge_rows
from ..distributions import SparseJoint, outcome_dtype
from ..samplers import Apd, _apd, rules
from ..tasks import Task
from ._marginals import ModelMarginals, OracleMarginals
from ._result import Simulation, conditional_entropy
from ._support import SupportIndex

REJECT_FLOOR = 1e-13
"""A rejection probability at most this is rounding (R = 1 accepts every draft): it
is taken as 0, and the agreements are renormalised so that no mass is lost."""


def simulate_apd(
    task: Task,
    sampler: Apd,
    *,
    max_branches: int,
    max_states: int,
    model=None,
    ar_model=None,
    floor: float = 0.0,
    progress: bool = False,
) -> Simulation:
    """APD's exact output law, E[NFE] and E[AR passes].

    Args:
      task: an enumerable task.
      sampler: an `Apd`.
      max_branches: refuse (ValueError) a level whose drafts exceed this many rows.
      max_states: refuse (ValueError), before any work, when the bound on the
        prefixes visited (`num_states`) exceeds this.
      model: the dLLM (a trained `Model`), or None for the ideal one.
      ar_model: its causal verifier (a trained `Model`), or None for $p^*$'s exact
        AR conditionals; given exactly when `model` is.
      floor: drop rows off the support of mass under this (see `_Enumerator`).
      progress: show a progress bar over levels (stderr).

    Returns:
      A `Simulation` with `expected_ar_nfe` set.
    """
    if model is None:
        dllm = verifier = OracleMarginals(task)
    else:
        dllm = ModelMarginals(task, model)
        verifier = ModelMarginals(task, ar_model, predicts_next=True)
        if verifier.mask_id != dllm.mask_id or verifier.vocab != dllm.vocab:
            raise ValueError(
                "`ar_model` must read the dLLM's token layout (vocabulary and mask "
                f"id {dllm.vocab}, {dllm.mask_id}); got {verifier.vocab}, "
                f"{verifier.mask_id}"
            )
    enumerator = _Enumerator(task, sampler, dllm, verifier, max_branches, floor)
    _checks.check_work(
        num_states(enumerator.index, sampler, dllm.vocab if model else None, floor),
        f"the exact law of {sampler.describe()} on {task.name} (n={task.n})"
        + ("" if model is None else f" with model '{model.name}'"),
        max_states,
        unit="decoding states",
        why="`max_states`; more would not finish in minutes",
    )
    return enumerator.run(progress)


def num_states(
    index: SupportIndex, sampler: Apd, vocab: int | None = None, floor: float = 0.0
) -> int:
    r"""An upper bound on the prefixes (decoding states) APD visits.

    With the ideal models: the distinct support prefixes of every length $t < L$
    when accepted prefixes stay in the support ($R < 1$ or $M = 1$); else every
    prefix, $P \sum_{t<L} \prod_{j<t} V_j$ for $P$ prompts of positive mass and
    alphabets $V_j$. With a trained model (`vocab` tokens): every prefix,
    $P \sum_{t<L} V^t$, unless `floor` keeps at most $1/\text{floor}$ rows off the
    support per level beside the support prefixes.
    """
    prompts = int(np.count_nonzero(index.prompt_mass > 0))
    if vocab is not None:
        every = prompts * sum(_checks.power(vocab, t) for t in range(index.length))
        if floor <= 0:
            return min(every, _checks.SIZE_LIMIT)
        heavy = index.length * int(math.ceil(1.0 / floor))
        return min(every, _support_prefixes(index) + heavy)
    if sampler.weight == 1.0 and sampler.lookahead > 1:
        return prompts * sum(
            math.prod(int(v) for v in index.sizes[:t]) for t in range(index.length)
        )
    return _support_prefixes(index)


def _support_prefixes(index: SupportIndex) -> int:
    """The distinct (prompt, prefix) of the support rows, over lengths $t < L$."""
    live = index.weights > 0
    radix = [index.num_prompts, *(int(v) for v in index.sizes)]
    total = 0
    for t in range(index.length):
        rows = np.column_stack([index.prompt[live], index.support[live, :t]])
        total += len(merge_rows(rows, np.ones(len(rows)), radix[: t + 1])[0])
    return total


class _Enumerator:
    """APD's level enumerator, its experts' marginals from two components.

    `dllm` gives $p_{D,j}$ and `verifier` $a_j$ (`_marginals`: the oracle for both,
    or a trained denoiser and a causal model read one row to the left). With
    `floor` > 0, a row whose prefix agrees with no valid output (it can only finish
    invalid) and whose mass is below `floor` is dropped into the invalid mass; the
    steps it would still take are bounded, so E[NFE] is exact to `nfe_tolerance`.
    """

    def __init__(self, task: Task, sampler: Apd, dllm, verifier, max_branches, floor):
        self.task, self.sampler, self.max_branches = task, sampler, max_branches
        self.dllm, self.verifier, self.floor = dllm, verifier, floor
        self.mask_id = dllm.mask_id
        self.index = dllm.index
        self.length = self.index.length
        self.radix = [self.index.num_prompts] + [dllm.vocab + 1] * self.length

    def run(self, progress: bool) -> Simulation:
        prompt_mass = self.index.prompt_mass
        prompts = np.nonzero(prompt_mass > 0)[0].astype(np.int64)
        first = (
            prompts,
            np.full((len(prompts), self.length), self.mask_id, np.int64),
            prompt_mass[prompts],
        )
        pending: dict[int, list] = {0: [first]}
        self.nfe = self.ar_nfe = 0.0
        self.dropped = 0.0  # mass of the rows dropped off the support
        self.steps_left = np.zeros(2)  # their remaining steps: (at least, at most)
        self.visited = 0
        bar = None
        if progress:
            from tqdm.auto import tqdm

            bar = tqdm(desc=f"simulate {self.sampler.name}", unit="level", disable=None)
        while True:
            t = min(pending)
            prompt, tokens, mass = self._merge(pending.pop(t))
            if t == self.length:  # the longest prefixes: nothing else is pending
                break
            self.visited += len(mass)
            for level, child in self._expand(t, prompt, tokens, mass):
                pending.setdefault(level, []).append(self._drop(level, *child))
            if bar is not None:
                bar.update(1)
                bar.set_postfix(states=self.visited)
        if bar is not None:
            bar.close()
        return self._result(prompt, tokens, mass)

    def _light(self, prompt, tokens, mass, low: int, high: int) -> np.ndarray:
        """The rows to drop: off the support, mass under the floor (see the class).

        Their mass joins the invalid mass, and their remaining steps, `low` to
        `high` each, the range of E[NFE].
        """
        light = mass < self.floor
        if light.any():
            light[light] = ~self.dllm.agrees(prompt[light], tokens[light])
        w = float(mass[light].sum())
        self.dropped += w
        self.steps_left += w * np.array([float(low), float(high)])
        return light

    def _drop(self, level: int, prompt, tokens, mass):
        """A step's end: drop light rows off the support, 1 to `left` steps each."""
        if self.floor <= 0 or not len(mass):
            return prompt, tokens, mass
        left = self.length - level
        keep = ~self._light(prompt, tokens, mass, int(left > 0), left)
        return prompt[keep], tokens[keep], mass[keep]

    def _expand(self, t: int, prompt, tokens, mass):
        """`(level, (prompt, tokens, mass))` for the blocks one step commits.

        With a floor, a draft row that leaves the support light is dropped as soon
        as it is drawn (its step may go on: 0 to the masks left more steps).
        """
        sampler = self.sampler
        window = min(sampler.lookahead, self.length - t)
        self.nfe += float(mass.sum())
        if window >= 2:
            self.ar_nfe += float(mass.sum())
        probs = self.dllm.probs(prompt, tokens)
        pi = rules.draw_distribution(probs, sampler.temperature)
        # the first draft is always accepted
        src, value = np.nonzero(pi[:, t] > 0)
        drafts = tokens[src]
        drafts[:, t] = value
        weight = mass[src] * pi[src, t, value]
        self._guard(len(src))
        for j in range(t + 1, t + window):
            if self.floor > 0:
                keep = ~self._light(prompt[src], drafts, weight, 0, self.length - j)
                src, drafts, weight = src[keep], drafts[keep], weight[keep]
            ar = self.verifier.probs(prompt[src], drafts)[:, j]
            q = _apd.target(sampler, _apd.safe_log(probs[src, j]), _apd.safe_log(ar))
            agree = _apd.agreement(pi[src, j], q)
            reject = 1.0 - agree.sum(axis=1)
            stop = reject > REJECT_FLOOR
            agree[~stop] /= agree[~stop].sum(axis=1, keepdims=True)  # keep the mass
            yield j, (prompt[src[stop]], drafts[stop], weight[stop] * reject[stop])
            row, value = np.nonzero(agree > 0)
            src, drafts, weight = src[row], drafts[row], weight[row] * agree[row, value]
            drafts[:, j] = value
            self._guard(len(src))
        yield t + window, (prompt[src], drafts, weight)

    def _merge(self, parts):
        """Equal (prompt, tokens) states as one, their masses added."""
        prompt, tokens, mass = (np.concatenate(p) for p in zip(*parts, strict=True))
        keys = np.column_stack(
            [prompt, np.where(tokens == self.mask_id, 0, tokens + 1)]
        )
        first, mass = merge_rows(keys, mass, self.radix)
        return prompt[first], tokens[first], mass

    def _guard(self, rows: int) -> None:
        _checks.check_work(
            rows,
            f"one level of the exact law of {self.sampler.describe()} on "
            f"{self.task.name} (n={self.task.n})",
            self.max_branches,
            unit="branches",
            why="`max_branches`, a memory guard",
        )

    def _result(self, prompt, tokens, mass) -> Simulation:
        joint = self.task.joint
        valid = self.dllm.valid(prompt, tokens)
        outcomes = np.column_stack([prompt, tokens])[valid]
        outputs = SparseJoint(
            jnp.asarray(outcomes.astype(outcome_dtype(joint.sizes))),
            jnp.asarray(mass[valid]),
            joint.sizes,
            True,
        )
        # E[NFE] and E[AR passes] within half the dropped rows' range of steps (the
        # verifier runs on 0 to all of them)
        low, high = self.steps_left
        exact = self.dropped == 0.0
        return Simulation(
            task=self.task,
            sampler=self.sampler,
            outputs=outputs,
            invalid_mass=float(mass[~valid].sum()) + self.dropped,
            expected_nfe=self.nfe + (low + high) / 2,
            states_visited=self.visited,
            output_entropy=(
                conditional_entropy(mass, self.index.prompt_mass) if exact else None
            ),
            expected_ar_nfe=self.ar_nfe + high / 2,
            nfe_tolerance=high / 2,
        )
