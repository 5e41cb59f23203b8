r"""The exact optimal adaptive unmasking policy of the ideal model, and its frontier.

**The decision problem.** A state is a prompt $x$ and the revealed tokens $s$ (a
partial output). The ideal model gives every masked position $j$ its exact marginal
$p^*(y_j \mid x, s)$; at each step every masked position draws a token $z_j$ from
its token law $\pi_j$ (temperature 1: $\pi_j = p^*(\cdot \mid x, s)$; greedy:
uniform over the tokens of maximal probability, ParallelBench's random tie
breaking; any other temperature: $\pi_j \propto p^{1/\tau}$), independently, and the
policy then commits a non-empty subset $A$ of the draws, **chosen from the state and
the draws**. One step is one forward pass (NFE). Every registered one-model sampler
is such a policy, or a mixture of them (confidence top-k, threshold, factor, EB,
MDLM, DUS, semi-AR blocks); a schedule fixed before drawing is the special case in
which $A$ does not read $z$ (`policy_class="fixed"`, "the smaller class").

**Lagrangian scalarisation.** With a reward $r(x, y)$ of the final output (the task's
grader, `"accuracy"`, or validity $\mathbb 1[y \in \mathrm{supp}\,p^*]$,
`"precision"`) and a price $\lambda \ge 0$ per step,
$$V_\lambda(s) = -\lambda + \mathbb E_{z \sim \pi(\cdot|s)}
   \max_{\emptyset \ne A \subseteq M(s)} V_\lambda(s \cup z_A),\qquad
  V_\lambda(y) = r(x, y),$$
solved exactly by dynamic programming over the reachable states (backward in the
number of revealed tokens). The optimal policies over $\lambda$ trace the vertices
of the upper convex hull of $\{(\mathbb E[\mathrm{NFE}], \mathbb E[r])\}$ over all
policies of the class; randomising between two adjacent vertex policies (one coin
at the start) fills the segment between them. `frontier` finds every vertex by the
dichotomy on slopes: between two vertices $a, b$ it solves at
$\lambda = (r_b - r_a)/(N_b - N_a)$ and keeps the solution iff it lies strictly
above the segment. Ties inside the DP are broken towards fewer expected steps
(lexicographic value, then steps), so each solve returns the leftmost optimal point.

**Two reductions, both without loss** (proofs in `paper_notes`):

* a partial commit that leaves the support ($z_A$ inconsistent with every support
  row given $s$, $A \ne M$) is weakly dominated by committing one drawn token (a
  drawn token alone is always consistent), so the adaptive class considers only
  valid partial commits and the full commit (valid or not);
* a position whose marginal given $s$ is a point mass is always committed with the
  others: revealing a token that $p^*$ already fixes never lowers $V_\lambda$ (any
  policy from $s$ can be run from $s$ plus that token, skipping the steps that
  committed only it).

The second one shrinks the subsets from $2^{|M|}$ to $2^{|M \setminus D|}$.

**The adaptive T-step bound.** `adaptive_t_step_bounds` computes
$$L^{adapt}_T = \min_{\text{adaptive } (A_t)} \mathbb E_{y \sim p^*}
  \Big[\sum_t C(Y_{A_t} \mid X, \text{revealed})\Big]$$
over partitions chosen from the revealed tokens with at most $T$ steps on every path
(a DP over states and the number of steps left), with an optimal policy; the
analogue of ParallelBench's static $L^*_T$ (`trilemma.optimal_t_step_bound`).

**Cost and budgets.** The valid states are the distinct $(x, y_A)$ over the support
rows and the $2^L$ patterns $A$; the draw table holds, per state, every joint draw
of the free positions and every subset of them (the work of one solve). Both are
counted before anything is allocated and refused past `max_states` /
`max_entries` with a `ValueError` that names the counts.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from typing import Literal

import numpy as np

from . import _checks
from .tasks import Task

DEFAULT_MAX_STATES = 2_000_000
"""Refuse a task with more valid partial states than this."""

DEFAULT_MAX_CELLS = 20_000_000
"""Refuse an adaptive T-step bound whose (state, set) table has more cells than this
(several float64 arrays of that size are live at once)."""

DEFAULT_MAX_ENTRIES = 40_000_000
"""Refuse a draw table (state, joint draw, subset) with more entries than this (about
4 bytes each, plus int64 keys built in chunks)."""

TIE = 1e-12
"""Values within this (absolute) are ties inside the DP; ties go to fewer steps."""

QUANTUM = 2.0**-30
"""Greedy draws: probabilities equal at this resolution tie (as the samplers do)."""

_CHUNK = 1 << 21
"""Rows x subsets built at once when filling the draw table."""

_EXCLUDED, _INVALID_END, _OFF = -1, -2, -3
"""Child codes of the draw table: a partial commit off the support (excluded by the
dominance argument for adaptive policies; an off-support state for the smaller
class), the full commit of an invalid draw (a finished invalid output), the empty
commit (not allowed)."""

Reward = Literal["accuracy", "precision"]
PolicyClass = Literal["adaptive", "fixed"]


# --------------------------------------------------------------------------------------
# The valid states


class StateSpace:
    r"""Every valid partial state $(x, y_A)$ of a task, with $p^*$'s marginals.

    Attributes:
      task: the task.
      length: $L$, output positions.
      sizes: `(L,)` alphabet sizes.
      prompt_mass: `(P,)` prompt law.
      key: `(S,)` int64 key of each state (prompt and revealed tokens, mixed radix).
      prompt: `(S,)` prompt index of each state.
      pattern: `(S,)` revealed positions as bits (bit j: position j).
      tokens: `(S, L)` revealed tokens, -1 where masked.
      mass: `(S,)` $p^*(s \mid x)$, the probability that the revealed tokens occur.
      marginals: `(S, L, V)` $p^*(y_j \mid x, s)$ (one-hot at revealed positions).
      row_state: `(2^L, N)` the state of each support row under each pattern.
      roots: `(P',)` the state of each prompt with positive mass (nothing revealed).
      complete: `(S,)` booleans, nothing masked.
    """

    def __init__(self, task: Task, max_states: int = DEFAULT_MAX_STATES):
        _checks.check_instance(task, "task", Task)
        max_states = _checks.check_int(max_states, "max_states", minimum=1)
        joint = task.joint
        outcomes = np.asarray(joint.outcomes).astype(np.int64)
        probs = np.asarray(joint.probs, np.float64)
        self.task = task
        self.num_prompts = int(joint.sizes[0])
        self.sizes = np.asarray(joint.sizes[1:], np.int64)
        self.length = length = len(self.sizes)
        self.vocab = vocab = int(self.sizes.max())
        radix = vocab + 1
        what = f"the optimal policy of {task.name} (n={task.n})"
        if length > 20:
            _checks.check_work(2**length, what, 2**20, unit="revealed patterns")
        if math.log2(self.num_prompts) + length * math.log2(radix) >= 62:
            raise ValueError(
                f"{what}: a state key needs more than 62 bits ({self.num_prompts} "
                f"prompts, {length} positions of up to {vocab} tokens); the task is "
                "too large to solve exactly"
            )
        prompt = outcomes[:, 0]
        rows = outcomes[:, 1:]
        self.prompt_mass = np.bincount(
            prompt, weights=probs, minlength=self.num_prompts
        )
        weights = probs / self.prompt_mass[prompt]
        self.place = radix ** (length - 1 - np.arange(length, dtype=np.int64))
        base = prompt * radix**length
        digits = (rows + 1) * self.place
        num_rows = len(rows)
        _checks.check_work(
            2**length * num_rows,
            what,
            10 * max_states,
            unit="(pattern, support row) pairs",
            why="`max_states`",
        )
        bits = 1 << np.arange(length)
        patterns = range(2**length)

        def project(pattern):
            cols = (pattern & bits) != 0
            return base + digits[:, cols].sum(axis=1)

        # first pass: count the states, allocating nothing that grows with them
        count = sum(len(np.unique(project(pattern))) for pattern in patterns)
        _checks.check_work(
            count, what, max_states, unit="valid states", why="`max_states`"
        )
        _checks.check_memory(
            8 * count * (length * vocab + 2 * length + 8),
            f"{what}: {count:,} valid states with their marginals",
        )
        self.num_states = count
        key = np.empty(count, np.int64)
        pattern_of = np.empty(count, np.int64)
        first_row = np.empty(count, np.int64)
        self.row_state = np.empty((2**length, num_rows), np.int64)
        self.mass = np.empty(count)
        self.marginals = np.empty((count, length, vocab))
        position = np.arange(length)[None, :]
        start = 0
        for pattern in patterns:
            uniq, first, inv = np.unique(
                project(pattern), return_index=True, return_inverse=True
            )
            inv = inv.ravel()
            stop = start + len(uniq)
            key[start:stop] = uniq
            pattern_of[start:stop] = pattern
            first_row[start:stop] = first
            self.row_state[pattern] = start + inv
            mass = np.bincount(inv, weights, len(uniq))
            local = (inv[:, None] * length + position) * vocab + rows
            sums = np.bincount(
                local.ravel(), np.repeat(weights, length), len(uniq) * length * vocab
            ).reshape(len(uniq), length, vocab)
            self.mass[start:stop] = mass
            self.marginals[start:stop] = sums / mass[:, None, None]
            start = stop
        self.key = key
        self.pattern = pattern_of
        self.prompt = prompt[first_row]
        revealed = (pattern_of[:, None] & bits[None, :]) != 0
        self.tokens = np.where(revealed, rows[first_row], -1)
        self.complete = revealed.all(axis=1)
        self.order = np.argsort(key, kind="stable")
        self.sorted_keys = key[self.order]
        self.roots = np.unique(self.row_state[0])
        self.weights = weights
        self.rows = rows

    def lookup(self, keys) -> np.ndarray:
        """State ids of `keys` (int64 array), -1 where no valid state has that key."""
        keys = np.asarray(keys, np.int64)
        pos = np.searchsorted(self.sorted_keys, keys)
        pos = np.minimum(pos, len(self.sorted_keys) - 1)
        found = self.sorted_keys[pos] == keys
        return np.where(found, self.order[pos], -1)

    def state_of(self, prompt: int, tokens) -> int:
        """The id of the state (prompt, tokens with -1 where masked), or -1."""
        tokens = np.asarray(tokens, np.int64)
        radix = self.vocab + 1
        key = int(prompt) * radix**self.length + int(
            np.sum(np.where(tokens >= 0, tokens + 1, 0) * self.place)
        )
        return int(self.lookup(np.array([key]))[0])

    def rewards(self, reward) -> np.ndarray:
        """`(S,)` the reward of each complete state (0 elsewhere).

        Args:
          reward: `"accuracy"`, `"precision"`, or an `(N,)` array of finite rewards
            of the support rows of `task.joint` (invalid outputs get 0).
        """
        out = np.zeros(self.num_states)
        if not isinstance(reward, str):
            values = np.asarray(reward, float)
            _checks.check_shape(values, "reward", (len(self.rows),))
            if not np.all(np.isfinite(values)):
                raise ValueError("`reward` must be finite")
            out[self.row_state[(1 << self.length) - 1]] = values
            return out
        _checks.check_one_of(reward, "reward", ("accuracy", "precision"))
        done = np.nonzero(self.complete)[0]
        if reward == "precision":
            out[done] = 1.0
        else:
            out[done] = self.task.grade(self.prompt[done], self.tokens[done])
        return out

    def deterministic(self) -> np.ndarray:
        """`(S, L)` masked positions whose marginal given the state is a point mass."""
        masked = self.tokens < 0
        return masked & ((self.marginals > 0).sum(axis=-1) == 1)

    def describe(self) -> str:
        """The task, for messages."""
        return f"{self.task.name} (n={self.task.n})"


def draw_law(marginals, temperature: float) -> np.ndarray:
    r"""Token laws $\pi_j$ from marginals `(..., V)`.

    Greedy (`temperature` 0): uniform over the tokens of maximal probability (equal
    at `QUANTUM`); otherwise $p^{1/\tau}$ normalised.
    """
    probs = np.asarray(marginals, float)
    if temperature == 0:
        q = np.round(probs / QUANTUM)
        top = (q == q.max(axis=-1, keepdims=True)) & (probs > 0)
        weights = top.astype(float)
    else:
        positive = probs > 0
        logp = np.log(np.where(positive, probs, 1.0))
        top = np.max(np.where(positive, logp, -np.inf), axis=-1, keepdims=True)
        gap = np.where(positive, logp - top, 0.0) / temperature
        weights = np.where(positive, np.exp(np.maximum(gap, -700.0)), 0.0)
    return weights / weights.sum(axis=-1, keepdims=True)


# --------------------------------------------------------------------------------------
# The draw table


@dataclasses.dataclass
class _Group:
    """The states of one (revealed pattern, deterministic set) and their draws."""

    level: int  # revealed positions (children have more)
    states: np.ndarray  # (g,) state ids
    free: np.ndarray  # (f,) free positions (masked, not deterministic)
    fixed_bits: int  # deterministic positions, committed with every set
    row_state: np.ndarray  # (R,) state id of each draw row
    row_start: np.ndarray  # (g + 1,) rows of local state i: row_start[i]:[i + 1]
    draws: np.ndarray  # (R, f) drawn tokens at the free positions
    prob: np.ndarray  # (R,) probability of the draw
    children: np.ndarray  # (R, 2^f) child state per subset of `free` (or a code)


class DrawTable:
    r"""Every (state, joint draw, committed subset) of a task under a draw law.

    Built once per temperature; `solve` reads it for any $\lambda$, reward and
    class. `entries` is the work of one solve.
    """

    def __init__(
        self,
        space: StateSpace,
        temperature: float,
        max_entries: int = DEFAULT_MAX_ENTRIES,
    ):
        temperature = _checks.check_real(
            temperature, "temperature", low=0, high=math.inf, high_open=True
        )
        max_entries = _checks.check_int(max_entries, "max_entries", minimum=1)
        self.space, self.temperature = space, float(temperature)
        length = space.length
        bits = 1 << np.arange(length)
        live = np.nonzero(~space.complete)[0]
        masked = space.tokens[live] < 0
        fixed = space.deterministic()[live]
        free = masked & ~fixed
        law = draw_law(space.marginals[live], self.temperature)
        support = (law > 0).sum(axis=-1)
        # entries per state: prod of free support sizes times 2^free
        log_rows = np.sum(np.where(free, np.log2(np.maximum(support, 1)), 0), axis=1)
        per_state = np.exp2(log_rows + free.sum(axis=1))
        entries = float(np.sum(per_state))
        _checks.check_work(
            math.ceil(entries),
            f"the optimal policy of {space.describe()} at temperature "
            f"{self.temperature:g} ({space.num_states:,} valid states)",
            max_entries,
            unit="(state, draw, subset) entries",
            why="`max_entries`, a memory guard",
        )
        self.entries = int(round(entries))
        group_key = space.pattern[live] * (1 << length) + (fixed @ bits)
        self.groups: list[_Group] = []
        order = np.argsort(group_key, kind="stable")
        cuts = np.nonzero(np.diff(group_key[order]))[0] + 1
        for chunk in np.split(order, cuts):
            if len(chunk):
                self.groups.append(
                    self._group(
                        live[chunk], free[chunk[0]], fixed[chunk[0]], law[chunk]
                    )
                )
        self.groups.sort(key=lambda g: -g.level)

    def _group(self, states, free_mask, fixed_mask, law) -> _Group:
        space = self.space
        free = np.nonzero(free_mask)[0]
        fixed = np.nonzero(fixed_mask)[0]
        f = len(free)
        # joint draws of the free positions, last position fastest
        local = np.arange(len(states))
        prob = np.ones(len(states))
        draws = np.zeros((len(states), 0), np.int64)
        for j in free:
            law_j = law[local, j]
            count = (law_j > 0).sum(axis=1)
            ranked = np.argsort(law_j <= 0, axis=1, kind="stable")
            keep = np.repeat(np.arange(len(local)), count)
            within = _within(count)
            token = ranked[keep, within]
            prob = prob[keep] * law_j[keep, token]
            draws = np.column_stack([draws[keep], token])
            local = local[keep]
        row_state = states[local]
        row_start = np.searchsorted(local, np.arange(len(states) + 1))
        # child keys: base (state plus its deterministic tokens) plus drawn digits
        det = np.argmax(space.marginals[states][:, fixed, :], axis=-1)
        base = space.key[states] + ((det + 1) * space.place[fixed]).sum(axis=1)
        base = base[local]
        digit = (draws + 1) * space.place[free]
        subsets = ((np.arange(2**f)[:, None] >> np.arange(f)[None, :]) & 1).astype(
            np.int64
        )
        children = np.empty((len(local), 2**f), np.int32)
        step = max(1, _CHUNK // 2**f)
        for lo in range(0, len(local), step):
            hi = min(lo + step, len(local))
            keys = base[lo:hi, None] + digit[lo:hi] @ subsets.T
            children[lo:hi] = space.lookup(keys)
        full = 2**f - 1
        children[:, full] = np.where(
            children[:, full] < 0, _INVALID_END, children[:, full]
        )
        if len(fixed) == 0:
            children[:, 0] = _OFF
        return _Group(
            level=int(bin(int(space.pattern[states[0]])).count("1")),
            states=states,
            free=free,
            fixed_bits=int(sum(1 << int(j) for j in fixed)),
            row_state=row_state,
            row_start=row_start,
            draws=draws.astype(np.int16),
            prob=prob,
            children=children,
        )

    def committed_bits(self, group: _Group, subset) -> np.ndarray:
        """Position bits of the committed set for subset indices of `group.free`."""
        subset = np.asarray(subset, np.int64)
        out = np.full(subset.shape, group.fixed_bits, np.int64)
        for i, j in enumerate(group.free):
            out |= ((subset >> i) & 1) << int(j)
        return out


# --------------------------------------------------------------------------------------
# One solve: the optimal policy at a price lambda


@dataclasses.dataclass
class Policy:
    r"""An optimal policy at one price $\lambda$, as data, with its exact value.

    For the adaptive class, `choice[g]` is, for each draw row of group `g` of the
    table, the index of the committed subset of `groups[g].free` (the committed set
    is that subset plus the group's deterministic positions: `committed`); for the
    fixed class it is one subset per state of the group, whatever the draws.

    Attributes:
      table: the `DrawTable`.
      policy_class: `"adaptive"` or `"fixed"`.
      reward: `"accuracy"` or `"precision"`.
      lam: the price per step.
      choice: one int array per group of `table.groups`.
      value, steps, gain: `(S,)` $V_\lambda$, expected steps and expected reward of
        each state under the policy.
      expected_nfe, expected_reward: the same averaged over the prompt law.
    """

    table: DrawTable
    policy_class: str
    reward: str
    lam: float
    choice: list
    value: np.ndarray
    steps: np.ndarray
    gain: np.ndarray
    expected_nfe: float
    expected_reward: float

    def committed(self, prompt: int, tokens, draws) -> np.ndarray:
        """`(L,)` booleans: the positions committed from a state and its draws.

        Args:
          prompt: prompt index.
          tokens: `(L,)` revealed tokens, -1 where masked (a valid state).
          draws: `(L,)` a token at every masked position (others ignored).
        """
        space = self.table.space
        state = space.state_of(prompt, tokens)
        if state < 0 or space.complete[state]:
            raise ValueError("`tokens` is not an unfinished valid state of the task")
        for g, group in enumerate(self.table.groups):
            where = np.nonzero(group.states == state)[0]
            if not len(where):
                continue
            i = int(where[0])
            if self.policy_class == "fixed":
                subset = self.choice[g][i]
            else:
                lo, hi = group.row_start[i], group.row_start[i + 1]
                wanted = np.asarray(draws)[group.free]
                match = np.nonzero((group.draws[lo:hi] == wanted).all(axis=1))[0]
                if not len(match):
                    raise ValueError("`draws` cannot be drawn at this state")
                subset = self.choice[g][lo + match[0]]
            mask = int(self.table.committed_bits(group, subset))
            return (mask >> np.arange(space.length)) & 1 == 1
        raise AssertionError("state not in the table")

    def as_arrays(self) -> dict[str, np.ndarray]:
        """The whole policy as flat arrays, for wrapping it as a sampler.

        One row per (state, joint draw of its free positions). Keys: `prompt`
        `(R,)`; `tokens` `(R, L)` the state (-1 masked); `draws` `(R, L)` the drawn
        tokens at the free positions (-1 elsewhere: revealed and
        deterministic positions, whose draw is forced); `probability` `(R,)` the
        draw's probability given the state; `committed` `(R, L)` booleans. For the
        fixed class `committed` does not depend on the draw.
        """
        space = self.table.space
        parts: dict[str, list] = {k: [] for k in ("prompt", "tokens", "draws")}
        parts |= {"probability": [], "committed": []}
        bits = 1 << np.arange(space.length)
        for g, group in enumerate(self.table.groups):
            local = np.repeat(np.arange(len(group.states)), np.diff(group.row_start))
            pick = (
                self.choice[g][local]
                if self.policy_class == "fixed"
                else (self.choice[g])
            )
            draws = np.full((len(local), space.length), -1, np.int64)
            draws[:, group.free] = group.draws
            mask = self.table.committed_bits(group, pick)
            parts["prompt"].append(space.prompt[group.row_state])
            parts["tokens"].append(space.tokens[group.row_state])
            parts["draws"].append(draws)
            parts["probability"].append(group.prob)
            parts["committed"].append((mask[:, None] & bits[None, :]) != 0)
        return {k: np.concatenate(v) for k, v in parts.items()}

    def law(self, ties: Literal["uniform", "first"] = "uniform") -> PolicyLaw:
        """The exact output law and expected NFE of this policy (forward pass).

        Args:
          ties: `"uniform"` spreads each decision uniformly over the sets tied for
            optimal (same value and steps within `TIE`): a randomised optimal
            policy with the same E[NFE] and reward whose law keeps the task's
            symmetries (ParallelBench's random tie breaking); `"first"` follows
            `choice` (the lowest tied subset index), the deterministic policy that
            `committed` and `as_arrays` describe.
        """
        _checks.check_one_of(ties, "ties", ("uniform", "first"))
        return _forward(self, ties)


@dataclasses.dataclass(frozen=True)
class PolicyLaw:
    """Exact output law of a policy: mass on each support row, invalid mass, NFE."""

    q_rows: np.ndarray  # (N,) mass on each support row of task.joint (with p(x))
    invalid: float
    expected_nfe: float
    accuracy: float
    precision: float

    def point(self, task: Task):
        """The `TrilemmaPoint` (recall, valid entropy, KL(p*||q), ...) of this law."""
        from .simulation import trilemma_point

        p_star = np.append(np.asarray(task.joint.probs, float), 0.0)
        q = np.append(self.q_rows, self.invalid)
        prompt = np.append(np.asarray(task.joint.outcomes[:, 0]).astype(np.int64), 0)
        return trilemma_point(
            q,
            p_star,
            prompt=prompt,
            accuracy=self.accuracy,
            expected_nfe=self.expected_nfe,
            output_length=len(task.outputs),
        )


def solve(
    table: DrawTable,
    lam: float,
    *,
    reward: Reward = "accuracy",
    policy_class: PolicyClass = "adaptive",
) -> Policy:
    r"""The optimal policy at price $\lambda$ per step (ties: fewer steps).

    Args:
      table: a `DrawTable` (the task and the draw law).
      lam: $\lambda \ge 0$, the reward given up per expected step.
      reward: `"accuracy"` (the task's grader), `"precision"` (valid output), or an
        `(N,)` array: the reward of each support row of `task.joint` (0 off it).
      policy_class: `"adaptive"` (the set read the draws) or `"fixed"` (the set is
        chosen from the state before drawing).
    """
    lam = _checks.check_real(lam, "lam", low=0, high=math.inf, high_open=True)
    _checks.check_one_of(policy_class, "policy_class", ("adaptive", "fixed"))
    space = table.space
    size = space.num_states
    r = space.rewards(reward)
    # three extra slots: excluded partial commit, invalid full commit, empty commit
    value = np.concatenate([np.where(space.complete, r, 0.0), [-np.inf, 0.0, -np.inf]])
    steps = np.zeros(size + 3)
    gain = np.concatenate([np.where(space.complete, r, 0.0), [0.0, 0.0, 0.0]])
    if policy_class == "fixed":  # a partial commit off the support: one more step
        value[size], steps[size] = -lam, 1.0
    choice = [None] * len(table.groups)
    for g, group in enumerate(table.groups):
        child = np.where(group.children >= 0, group.children, size - 1 - group.children)
        cv, cs, cg = value[child], steps[child], gain[child]
        if policy_class == "adaptive":
            pick = _argbest(cv, cs)
            rows = np.arange(len(pick))
            row_v, row_s, row_g = cv[rows, pick], cs[rows, pick], cg[rows, pick]
            local = np.repeat(np.arange(len(group.states)), np.diff(group.row_start))
            count = len(group.states)
            sv = np.bincount(local, group.prob * row_v, count)
            ss = np.bincount(local, group.prob * row_s, count)
            sg = np.bincount(local, group.prob * row_g, count)
        else:
            w = group.prob[:, None]
            starts = group.row_start[:-1]
            qv = np.add.reduceat(w * cv, starts, axis=0)
            qs = np.add.reduceat(w * cs, starts, axis=0)
            qg = np.add.reduceat(w * cg, starts, axis=0)
            qv = np.where(np.isnan(qv), -np.inf, qv)
            pick = _argbest(qv, qs)
            rows = np.arange(len(pick))
            sv, ss, sg = qv[rows, pick], qs[rows, pick], qg[rows, pick]
        choice[g] = pick
        value[group.states] = sv - lam
        steps[group.states] = ss + 1.0
        gain[group.states] = sg
    roots = space.roots
    weight = space.prompt_mass[space.prompt[roots]]
    return Policy(
        table=table,
        policy_class=policy_class,
        reward=reward,
        lam=lam,
        choice=choice,
        value=value[:size],
        steps=steps[:size],
        gain=gain[:size],
        expected_nfe=float(np.dot(weight, steps[roots])),
        expected_reward=float(np.dot(weight, gain[roots])),
    )


def end_values(policy: Policy) -> tuple[np.ndarray, np.ndarray]:
    """A policy's values and steps per state, then at the three ends past them.

    A child index below 0 names end `size - 1 - child`; the fixed class's first end
    costs one more step at the price.
    """
    size = policy.table.space.num_states
    value = np.concatenate([policy.value, [-np.inf, 0.0, -np.inf]])
    steps = np.concatenate([policy.steps, [0.0, 0.0, 0.0]])
    if policy.policy_class == "fixed":
        value[size], steps[size] = -policy.lam, 1.0
    return value, steps


def tied_sets(group, value, steps, *, fixed: bool) -> np.ndarray:
    """`(rows, subsets)`: the optimal sets at each (state, draw) row of `group`.

    `value`, `steps` from `end_values`; ties within `TIE`, then fewest steps. The
    fixed class chooses per state from the values averaged over its draws.
    """
    size = len(value) - 3
    index = np.where(group.children >= 0, group.children, size - 1 - group.children)
    cv, cs = value[index], steps[index]
    if not fixed:
        return _ties(cv, cs)
    w = group.prob[:, None]
    starts = group.row_start[:-1]
    cv = np.add.reduceat(w * cv, starts, axis=0)
    cv = np.where(np.isnan(cv), -np.inf, cv)
    cs = np.add.reduceat(w * cs, starts, axis=0)
    local = np.repeat(np.arange(len(group.states)), np.diff(group.row_start))
    return _ties(cv, cs)[local]


def _ties(values, steps) -> np.ndarray:
    """Per row: the columns tied with the best (value within `TIE`, then steps)."""
    best = values.max(axis=1, keepdims=True)
    near = values >= best - TIE
    fewest = np.min(np.where(near, steps, np.inf), axis=1, keepdims=True)
    return near & (steps <= fewest + TIE)


def _argbest(values, steps) -> np.ndarray:
    """Per row: the column of largest value, ties (within `TIE`) to fewer steps."""
    best = values.max(axis=1, keepdims=True)
    near = values >= best - TIE
    return np.argmin(np.where(near, steps, np.inf), axis=1)


def _forward(policy: Policy, ties: str) -> PolicyLaw:
    table = policy.table
    space = table.space
    size = space.num_states
    value, steps = end_values(policy)
    fixed = policy.policy_class == "fixed"
    mass = np.zeros(size)
    roots = space.roots
    mass[roots] = space.prompt_mass[space.prompt[roots]]
    invalid, nfe = 0.0, 0.0
    for g, group in reversed(list(enumerate(table.groups))):  # fewest revealed first
        m = mass[group.states]
        nfe += float(m.sum())
        local = np.repeat(np.arange(len(group.states)), np.diff(group.row_start))
        rows = np.arange(len(local))
        if ties == "first":
            pick = policy.choice[g][local] if fixed else policy.choice[g]
            tied = np.zeros(group.children.shape, bool)
            tied[rows, pick] = True
        else:
            tied = tied_sets(group, value, steps, fixed=fixed)
        r, c = np.nonzero(tied)
        flow = (m[local] * group.prob)[r] / tied.sum(axis=1)[r]
        child = group.children[r, c]
        ok = child >= 0
        np.add.at(mass, child[ok], flow[ok])
        invalid += float(flow[~ok].sum())
        if fixed:  # off-support partial commits: one more step
            nfe += float(flow[child == _EXCLUDED].sum())
    done = space.row_state[(1 << space.length) - 1]
    q_rows = mass[done]
    prompts = space.prompt[done]
    passed = space.task.grade(prompts, space.rows)
    return PolicyLaw(
        q_rows=q_rows,
        invalid=invalid,
        expected_nfe=nfe,
        accuracy=float(q_rows[passed].sum()),
        precision=float(q_rows.sum()),
    )


# --------------------------------------------------------------------------------------
# The frontier: every vertex of the upper convex hull


@dataclasses.dataclass(frozen=True)
class Vertex:
    r"""One vertex of the frontier: its point and an optimal policy there.

    `lam_low`, `lam_high`: the prices at which this vertex is optimal.
    """

    expected_nfe: float
    expected_reward: float
    lam_low: float
    lam_high: float
    policy: Policy


@dataclasses.dataclass(frozen=True)
class Frontier:
    r"""The upper convex hull of (E[NFE], E[reward]) over a policy class.

    Vertices in increasing E[NFE] (and strictly increasing reward); the segments
    between them are reached by randomising between the two vertex policies.
    """

    task: Task
    temperature: float
    reward: str
    policy_class: str
    vertices: tuple[Vertex, ...]
    solves: int

    @property
    def nfe(self) -> np.ndarray:
        """`(K,)` E[NFE] of the vertices."""
        return np.array([v.expected_nfe for v in self.vertices])

    @property
    def values(self) -> np.ndarray:
        """`(K,)` expected reward of the vertices."""
        return np.array([v.expected_reward for v in self.vertices])

    def reward_at(self, nfe) -> np.ndarray:
        """Largest expected reward at expected NFE `nfe` (hull; flat past the end)."""
        x, y = self.nfe, self.values
        nfe = np.asarray(nfe, float)
        out = np.interp(nfe, x, y)
        return np.where(nfe < x[0] - 1e-12, -np.inf, out)

    def nfe_for(self, reward) -> np.ndarray:
        """Least expected NFE reaching expected reward `reward` (inf above the top)."""
        x, y = self.nfe, self.values
        reward = np.asarray(reward, float)
        out = np.interp(reward, y, x)
        out = np.where(reward <= y[0], x[0], out)
        return np.where(reward > y[-1] + 1e-12, np.inf, out)


def frontier(
    task: Task | DrawTable,
    *,
    temperature: float = 1.0,
    reward: Reward = "accuracy",
    policy_class: PolicyClass = "adaptive",
    max_states: int = DEFAULT_MAX_STATES,
    max_entries: int = DEFAULT_MAX_ENTRIES,
) -> Frontier:
    r"""Every vertex of the exact fluency-speed frontier of a policy class.

    Args:
      task: an enumerable task, or a `DrawTable` already built (reused).
      temperature: the draw law (0: greedy with uniform ties; 1: the marginals).
      reward: `"accuracy"` (grader) or `"precision"` (valid output).
      policy_class: `"adaptive"` (sets chosen from the state and the draws) or
        `"fixed"` (sets chosen from the state before drawing).
      max_states: refuse a task with more valid states (`StateSpace`).
      max_entries: refuse a larger draw table (`DrawTable`).

    Returns:
      A `Frontier`; `vertices[0]` is the one-step policy (E[NFE] = 1) and the last
      vertex reaches the largest reward with the fewest expected steps.

    Replace Random, n = 3 (issue 19): one step is right with probability 4/9; drawing
    all three and committing all when exactly one W is drawn (else a set that fixes
    the rest) is always right in 14/9 expected steps, while the best schedule fixed
    before drawing reaches 8/9 at two steps:

    >>> import trilemma as T
    >>> from trilemma.frontier import frontier
    >>> task = T.make_task("replace_random", 3)
    >>> best = frontier(task, temperature=1.0)
    >>> [(round(v.expected_nfe, 4), round(v.expected_reward, 4)) for v in best.vertices]
    [(1.0, 0.4444), (1.5556, 1.0)]
    >>> round(float(frontier(task, policy_class="fixed").reward_at(2.0)), 4)
    0.8889
    """
    table = (
        task
        if isinstance(task, DrawTable)
        else DrawTable(StateSpace(task, max_states), temperature, max_entries)
    )

    def run(lam):
        return solve(table, lam, reward=reward, policy_class=policy_class)

    return _hull(table, run, reward, policy_class)


def _hull(table, run: Callable[[float], Policy], reward, policy_class) -> Frontier:
    # lam > 1 makes the one-step policy the unique optimum (a reward in [0, 1] never
    # repays a step); lam = 0 with ties to fewer steps gives the rightmost vertex.
    left, right = run(2.0), run(0.0)
    solves = 2
    points = [left]
    if right.expected_reward > left.expected_reward + 1e-12:
        stack = [(left, right)]
        found = {}
        while stack:
            a, b = stack.pop()
            lam = (b.expected_reward - a.expected_reward) / (
                b.expected_nfe - a.expected_nfe
            )
            c = run(lam)
            solves += 1
            base = a.expected_reward - lam * a.expected_nfe
            if c.expected_reward - lam * c.expected_nfe > base + 1e-11:
                found[c.expected_nfe] = c
                stack += [(a, c), (c, b)]
        points += sorted(found.values(), key=lambda p: p.expected_nfe) + [right]
    vertices = []
    for i, p in enumerate(points):
        hi = (
            np.inf
            if i == 0
            else (p.expected_reward - points[i - 1].expected_reward)
            / (p.expected_nfe - points[i - 1].expected_nfe)
        )
        lo = (
            0.0
            if i == len(points) - 1
            else (points[i + 1].expected_reward - p.expected_reward)
            / (points[i + 1].expected_nfe - p.expected_nfe)
        )
        vertices.append(Vertex(p.expected_nfe, p.expected_reward, lo, hi, p))
    return Frontier(
        table.space.task,
        table.temperature,
        reward,
        policy_class,
        tuple(vertices),
        solves,
    )


# --------------------------------------------------------------------------------------
# Fidelity: the least KL(p*||q) at each speed (Frank-Wolfe over the policies' laws)


@dataclasses.dataclass(frozen=True)
class FidelityPoint:
    r"""A randomised adaptive policy minimising $KL(p^*\|q) + \lambda\,E[NFE]$.

    Attributes:
      lam: the price per step (nats).
      expected_nfe, kl: the mixture's E[NFE] and $KL(p^*\|q)$ in nats.
      accuracy, precision: its grader pass rate and valid mass.
      gap: the Frank-Wolfe duality gap; the optimum of the objective lies within
        `gap` below `kl + lam * expected_nfe`.
      iterations: Frank-Wolfe steps taken.
      q_rows: `(N,)` its law on the support rows (with the prompt law).
    """

    lam: float
    expected_nfe: float
    kl: float
    accuracy: float
    precision: float
    gap: float
    iterations: int
    q_rows: np.ndarray


def sequential_law(table: DrawTable) -> PolicyLaw:
    """The law of committing one free position at a time (plus the forced ones).

    Each committed token is drawn from $p^*$'s conditional given the state, so the
    output law is $p^*$ itself (the chain rule): the slowest, exact end of the
    fidelity frontier.
    """
    choice = []
    for group in table.groups:
        # subset index 1 is {free[0]}; with no free position, commit the forced ones
        choice.append(np.full(len(group.states), 1 if len(group.free) else 0))
    policy = Policy(
        table=table,
        policy_class="fixed",
        reward="precision",
        lam=0.0,
        choice=choice,
        value=np.zeros(table.space.num_states),
        steps=np.zeros(table.space.num_states),
        gain=np.zeros(table.space.num_states),
        expected_nfe=math.nan,
        expected_reward=math.nan,
    )
    return policy.law("first")


def fidelity_point(
    table: DrawTable,
    lam: float,
    *,
    iterations: int = 500,
    tol: float = 1e-9,
) -> FidelityPoint:
    r"""Least $KL(p^*\|q) + \lambda\,E[NFE]$ over randomised adaptive policies.

    The achievable pairs $(q, E[NFE])$ form a convex set (randomise at the start)
    whose extreme points are deterministic policies, and $KL(p^*\|q)$ is convex in
    $q$, so Frank-Wolfe applies: the linear step is the DP (`solve`) with the
    reward $p^*(y)/q_k(y)$ per support row at price $\lambda$, and its duality gap
    certifies the result. Starts from the sequential policy (law $p^*$, KL 0).

    Args:
      table: the `DrawTable` (task, temperature).
      lam: price per step in nats, > 0.
      iterations: most Frank-Wolfe steps.
      tol: stop when the duality gap is below this.
    """
    lam = _checks.check_real(lam, "lam", low=0, high=math.inf, low_open=True)
    iterations = _checks.check_int(iterations, "iterations", minimum=1)
    tol = _checks.check_real(tol, "tol", low=0, low_open=True)
    space = table.space
    p_star = np.asarray(space.task.joint.probs, float)
    passed = space.task.grade(space.prompt[space.row_state[-1]], space.rows)
    start = sequential_law(table)
    q, nfe = start.q_rows.copy(), start.expected_nfe

    def objective(q, nfe):
        return _kl(p_star, q) + lam * nfe

    gap, done = math.inf, 0
    while done < iterations:
        done += 1
        ratio = p_star / q
        vertex = solve(table, lam, reward=ratio).law("uniform")
        q_s, nfe_s = vertex.q_rows, vertex.expected_nfe
        gap = float(np.dot(ratio, q_s - q) - lam * (nfe_s - nfe))
        if gap <= tol:
            break

        def along(t, q=q, nfe=nfe, q_s=q_s, nfe_s=nfe_s):
            return objective((1 - t) * q + t * q_s, (1 - t) * nfe + t * nfe_s)

        step = _line_search(along)
        q = (1 - step) * q + step * q_s
        nfe = (1 - step) * nfe + step * nfe_s
    return FidelityPoint(
        lam=lam,
        expected_nfe=float(nfe),
        kl=_kl(p_star, q),
        accuracy=float(q[passed].sum()),
        precision=float(q.sum()),
        gap=max(gap, 0.0),
        iterations=done,
        q_rows=q,
    )


def _kl(p, q) -> float:
    """KL(p||q) in nats over the support rows (inf where q = 0 < p)."""
    live = p > 0
    if np.any(q[live] <= 0):
        return math.inf
    return float(np.sum(p[live] * np.log(p[live] / q[live])))


def _line_search(f, iterations: int = 60) -> float:
    """The minimiser of a convex f on [0, 1], by golden-section search."""
    lo, hi = 0.0, 1.0
    ratio = (math.sqrt(5) - 1) / 2
    a, b = hi - ratio * (hi - lo), lo + ratio * (hi - lo)
    fa, fb = f(a), f(b)
    for _ in range(iterations):
        if fa <= fb:
            hi, b, fb = b, a, fa
            a = hi - ratio * (hi - lo)
            fa = f(a)
        else:
            lo, a, fa = a, b, fb
            b = lo + ratio * (hi - lo)
            fb = f(b)
    best = min((f(0.0), 0.0), (f(1.0), 1.0), (fa, a), (fb, b))
    return best[1]


# --------------------------------------------------------------------------------------
# The adaptive T-step bound


@dataclasses.dataclass(frozen=True)
class AdaptiveBound:
    r"""$L^{adapt}_T$ for $T = 1..L$ (nats) and an optimal adaptive partition.

    Attributes:
      bounds: `(L,)` $L^{adapt}_T$ in nats, $T = 1, \dots, L$.
      space: the `StateSpace`.
      choice: `(L, S)` for $T$ steps left (row $T - 1$), the set committed at each
        state, as position bits (0 at complete states).
      value: `(L, S)` the least expected remaining cost of each state with $T$
        steps left (nats).
    """

    bounds: np.ndarray
    space: StateSpace
    choice: np.ndarray
    value: np.ndarray

    def next_set(self, steps_left: int, prompt: int, tokens) -> tuple[int, ...]:
        """The positions an optimal policy commits at a state with steps left."""
        state = self.space.state_of(prompt, tokens)
        bits = int(self.choice[steps_left - 1, state])
        return tuple(j for j in range(self.space.length) if bits >> j & 1)


def adaptive_t_step_bounds(
    task: Task | StateSpace,
    *,
    max_states: int = DEFAULT_MAX_STATES,
    max_cells: int = DEFAULT_MAX_CELLS,
) -> AdaptiveBound:
    r"""$L^{adapt}_T$ for every $T$: the adaptive analogue of ParallelBench's $L^*_T$.

    The least $\mathbb E_{p^*}[\sum_t C(Y_{A_t}|X, revealed)]$ over partitions
    chosen adaptively from the revealed tokens, with at most $T$ steps on every path.

    DP over the valid states: with $G_0(s) = 0$ if $s$ is complete, else $\infty$,
    $$G_T(s) = \min_{\emptyset \ne A \subseteq M(s)} C(Y_A \mid x, s)
       + \mathbb E_{y_A \sim p^*(\cdot|x,s)} G_{T-1}(s \cup y_A),$$
    and $L^{adapt}_T = \mathbb E_X\, G_T(\text{root})$. The conditional total
    correlation is $\sum_{j\in A} H(Y_j|x,s) - H(Y_A|x,s)$, from the exact
    conditional law of the children.

    Args:
      task: an enumerable task, or its `StateSpace` (reused).
      max_states: refuse a task with more valid states (`StateSpace`).
      max_cells: refuse a (state, set) table larger than this, before allocating.
    """
    space = task if isinstance(task, StateSpace) else StateSpace(task, max_states)
    length, size = space.length, space.num_states
    full = 1 << length
    bits = 1 << np.arange(length)
    what = f"the adaptive T-step bound of {space.describe()}"
    max_cells = _checks.check_int(max_cells, "max_cells", minimum=1)
    pairs = int(np.sum(np.left_shift(1, _popcount(space.pattern))))
    _checks.check_work(
        max(size * full, pairs),
        what,
        max_cells,
        unit="(state, set) cells",
        why="`max_cells`, a memory guard",
    )
    # every (child, sub-pattern) pair: the parent state and the set A
    parents, children, sets = [], [], []
    for pattern in range(1, full):
        states = np.nonzero(space.pattern == pattern)[0]
        if not len(states):
            continue
        sub = pattern
        while True:
            sub = (sub - 1) & pattern
            a = pattern & ~sub
            cols = (a & bits) != 0
            keys = space.key[states] - (
                (space.tokens[states][:, cols] + 1) * space.place[cols]
            ).sum(axis=1)
            parents.append(space.lookup(keys))
            children.append(states)
            sets.append(np.full(len(states), a, np.int64))
            if sub == 0:
                break
    parent = np.concatenate(parents)
    child = np.concatenate(children)
    aset = np.concatenate(sets)
    assert (parent >= 0).all()
    prob = space.mass[child] / space.mass[parent]
    cell = parent * full + aset
    joint_h = np.bincount(cell, -prob * np.log(prob), size * full).reshape(size, full)
    m = np.clip(space.marginals, 1e-300, None)
    single = -np.sum(space.marginals * np.log(m), axis=-1)  # (S, L)
    single = np.where(space.tokens < 0, single, 0.0)
    subsets = ((np.arange(full)[:, None] & bits[None, :]) != 0).astype(float)
    tc = single @ subsets.T - joint_h  # (S, 2^L)
    tc = np.maximum(tc, 0.0)
    masked_bits = (space.tokens < 0) @ bits
    allowed = ((np.arange(full)[None, :] & ~masked_bits[:, None]) == 0) & (
        np.arange(full)[None, :] > 0
    )
    g = np.where(space.complete, 0.0, np.inf)
    values, choices = [], []
    for _ in range(length):
        future = g[child]
        finite = np.isfinite(future)
        exp = np.bincount(cell[finite], prob[finite] * future[finite], size * full)
        bad = np.bincount(cell[~finite], np.ones((~finite).sum()), size * full) > 0
        exp = np.where(bad, np.inf, exp).reshape(size, full)
        cost = np.where(allowed, tc + exp, np.inf)
        pick = np.argmin(cost, axis=1)
        g = np.where(space.complete, 0.0, cost[np.arange(size), pick])
        values.append(g.copy())
        choices.append(np.where(space.complete, 0, pick))
    roots = space.roots
    weight = space.prompt_mass[space.prompt[roots]]
    bounds = np.array([float(np.dot(weight, v[roots])) for v in values])
    return AdaptiveBound(bounds, space, np.array(choices), np.array(values))


def _popcount(x) -> np.ndarray:
    """Number of set bits of each int64."""
    x = np.asarray(x, np.int64)
    return np.array([bin(int(v)).count("1") for v in np.unique(x)])[
        np.searchsorted(np.unique(x), x)
    ]


def _within(rep) -> np.ndarray:
    """0..rep[i]-1 for each i, concatenated."""
    ends = np.cumsum(rep)
    return np.arange(ends[-1] if len(ends) else 0) - np.repeat(ends - rep, rep)
