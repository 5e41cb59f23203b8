r"""Exact laws of samplers that re-mask: absorption laws of finite Markov chains.

A sampler that may turn committed tokens back into masks (`sampler.remasks`, with
`sampler.law == "chain"`: ReMDM, RCR) can revisit a decoding state, so its output
law is not a sum over a tree of trajectories. It is the absorption law of a Markov
chain whose states are (prompt, tokens, the sampler's exact state) and whose
absorbing states are the finished outputs (no mask left). `simulate_chain`

1. explores the states reachable from the all-masked outputs of every prompt
   (breadth first, one batched call of the marginals component per chunk of new
   states: `OracleMarginals` for the ideal model, `ModelMarginals` for a `Model`);
2. collects each state's transitions from the sampler's exact step: the transient
   block $Q$ (state to state), the absorbing block $R$ (state to output) and the
   expected forward passes $c$ of one step;
3. solves $(I - Q)^\top y = \pi_0$ (sparse LU, `scipy.sparse.linalg.spsolve`), with
   $\pi_0$ the prompt law on the start states: $y$ is the expected number of visits
   to each transient state, so the output law is $R^\top y$ and
   $\mathbb{E}[\mathrm{NFE}] = c^\top y$ (the same system). An acyclic chain (a
   sampler whose state holds a step counter) gives a triangular system, which the
   same solver handles.

**Refusals.** Exploring more than `max_states` transient states is refused with a
one-line `ValueError` naming the bound, before the state over the bound is stored.
A chain in which some reachable state cannot reach a finished output (a closed
class of transient states: decoding would never stop) is refused too; otherwise
$I - Q$ is invertible and every trajectory finishes with probability 1.

**The exact-step interface** every chain sampler implements (beside the Monte Carlo
protocol of `trilemma.samplers._protocol`):

* `sampler.exact_init(length) -> extra`: the sampler's exact state before the
  first step, hashable (tuples of Python numbers), for an output of `length`
  positions;
* `sampler.exact_step(probs, tokens, extra, *, mask_id) -> list of (prob,
  new_tokens, new_extra, nfe_cost)`: every outcome of one step from a state whose
  output tokens are `tokens` `(L,)` (NumPy integers, `mask_id` where masked; the
  prompt is not among them) and whose marginals are `probs` `(L, V)` (NumPy
  float64, from the marginals component), with probabilities summing to 1, the new
  tokens `(L,)`, the new exact state (hashable) and the forward passes the step
  costs (0 or 1). Outcomes with the same tokens and state may be listed once or
  several times (their probabilities add);
* optionally `sampler.exact_queries(tokens, extra, *, mask_id) -> (Q, L)`: token
  rows (of the same prompt) whose marginals the step reads besides the state's own
  (WINO's leave-one-out verification); `exact_step` then gets `probs` `(1 + Q, L,
  V)`, the state's marginals first.

* optionally `sampler.exact_canonical(tokens, extra) -> (tokens, extra)`: the
  representative of the state's orbit under permutations of the output positions,
  for a sampler whose step is equivariant under them (a position's fate depends on
  its token and its own state, never on its index: ReMDM, RCR, WINO).

A state with no mask left is absorbing: the sampler's state is dropped there, and
the output is valid iff the component says it is in the support of $p^*$.

**Symmetry.** When the sampler has `exact_canonical` and the ideal model's
$p^*(\cdot \mid x)$ is exchangeable (invariant under every permutation of the output
positions: Shuffle; `OracleMarginals.exchangeable`), the chain is *lumpable*: the
transitions of a permuted state are the permuted transitions, so the chain over
orbit representatives has the orbits' law. `simulate_chain` then stores one state
per orbit and one finished output per multiset of tokens (sorted), and spreads an
orbit's mass evenly over its distinct permutations, since the output law of a chain
started from the all-masked state (fixed by every permutation) is invariant. On
Shuffle n = 6 this divides the states by up to $6! = 720$.
"""

from __future__ import annotations

import itertools
import math

import jax.numpy as jnp
import numpy as np
import scipy.sparse
import scipy.sparse.csgraph
import scipy.sparse.linalg

from .. import _checks
from ..distributions import SparseJoint, outcome_dtype
from ..models import Model
from ..tasks import Task
from ._marginals import ModelMarginals, OracleMarginals
from ._result import Simulation, conditional_entropy

DEFAULT_MAX_STATES = 10**6
"""Refuse a chain with more transient states than this (minutes of Python work)."""

CHUNK = 4096
"""New states whose marginals are computed in one call of the component."""


def simulate_chain(
    task: Task,
    sampler,
    *,
    model: Model | None = None,
    max_states: int = DEFAULT_MAX_STATES,
    symmetry: bool = True,
    progress: bool = False,
) -> Simulation:
    r"""The exact output law and E[NFE] of a chain sampler (see the module).

    Args:
      task: an enumerable task (`trilemma.make_task`).
      sampler: a sampler whose `law` is `"chain"` (ReMDM, RCR): it implements
        `exact_init` and `exact_step`.
      model: None for the ideal model (the oracle's marginals), or a `Model` whose
        layout fits the task.
      max_states: refuse (ValueError) a chain with more transient states.
      symmetry: lump states by the positions' symmetry where it holds (see the
        module); False explores every state (the same law, for checks).
      progress: show a progress bar over explored states (stderr).

    Returns:
      A `Simulation`: valid outputs with their exact probabilities, the invalid
      mass, E[NFE], the transient states explored and $H(q(Y|X))$ over all outputs.
    """
    _checks.check_instance(task, "task", Task)
    if getattr(sampler, "law", None) != "chain" or not hasattr(sampler, "exact_step"):
        name = getattr(sampler, "describe", lambda: type(sampler).__name__)()
        raise ValueError(
            f"`sampler` must have an exact step (law 'chain'); {name} has law "
            f"{getattr(sampler, 'law', None)!r}: use `trilemma.simulate`."
        )
    max_states = _checks.check_int(max_states, "max_states", minimum=1)
    symmetry = _checks.check_bool(symmetry, "symmetry")
    marginals = OracleMarginals(task) if model is None else ModelMarginals(task, model)
    lump = (
        symmetry
        and hasattr(sampler, "exact_canonical")
        and getattr(marginals, "exchangeable", False)
    )
    chain = _Chain(task, sampler, marginals, max_states, lump=lump)
    chain.explore(progress)
    return chain.solve()


class _Chain:
    """The reachable states, their transitions, and the absorption law."""

    def __init__(self, task, sampler, marginals, max_states: int, *, lump: bool):
        self.task, self.sampler, self.marginals = task, sampler, marginals
        self.max_states = max_states
        self.lump = lump
        self.length = marginals.length
        self.mask_id = marginals.mask_id
        self.index: dict = {}  # (prompt, tokens bytes, extra) -> state id
        self.prompt: list[int] = []
        self.tokens: list[np.ndarray] = []
        self.extra: list = []
        self.outputs: dict = {}  # (prompt, tokens bytes) -> output id
        self.output_rows: list[tuple[int, np.ndarray]] = []
        # transitions: transient (state -> state) and absorbing (state -> output)
        self.q: tuple[list, list, list] = ([], [], [])
        self.r: tuple[list, list, list] = ([], [], [])
        self.cost: list[float] = []
        self._queries = hasattr(sampler, "exact_queries")

    def _state(self, prompt: int, tokens: np.ndarray, extra) -> int:
        if self.lump:
            tokens, extra = self.sampler.exact_canonical(tokens, extra)
        key = (prompt, tokens.tobytes(), extra)
        found = self.index.get(key)
        if found is not None:
            return found
        if len(self.prompt) >= self.max_states:
            raise ValueError(
                f"the exact chain of {self.sampler.describe()} on {self.task.name} "
                f"(n={self.task.n}) has more than "
                f"{_checks.format_count(self.max_states)} transient decoding states "
                "(`max_states`); choose a smaller size."
            )
        self.index[key] = len(self.prompt)
        self.prompt.append(prompt)
        self.tokens.append(tokens)
        self.extra.append(extra)
        self.cost.append(0.0)
        return len(self.prompt) - 1

    def _output(self, prompt: int, tokens: np.ndarray) -> int:
        if self.lump:
            tokens = np.sort(tokens)
        key = (prompt, tokens.tobytes())
        found = self.outputs.get(key)
        if found is None:
            found = self.outputs[key] = len(self.output_rows)
            self.output_rows.append((prompt, tokens))
        return found

    def explore(self, progress: bool) -> None:
        """Breadth-first search from the start states, collecting transitions."""
        first = np.full(self.length, self.mask_id, np.int64)
        init = self.sampler.exact_init(self.length)
        self.starts = [
            (self._state(int(p), first.copy(), init), float(mass))
            for p, mass in enumerate(self.marginals.prompt_mass)
            if mass > 0
        ]
        bar = None
        if progress:
            from tqdm.auto import tqdm

            bar = tqdm(desc=f"chain {self.sampler.name}", unit="state", disable=None)
        done = 0
        while done < len(self.prompt):
            batch = range(done, min(done + CHUNK, len(self.prompt)))
            rows = [[self.tokens[i]] for i in batch]
            if hasattr(self.sampler, "exact_queries"):
                for i, own in zip(batch, rows, strict=True):
                    own.extend(
                        self.sampler.exact_queries(
                            self.tokens[i], self.extra[i], mask_id=self.mask_id
                        )
                    )
            sizes = [len(own) for own in rows]
            probs = self.marginals.probs(
                np.repeat([self.prompt[i] for i in batch], sizes),
                np.stack([row for own in rows for row in own]),
            )
            first = np.concatenate([[0], np.cumsum(sizes)])
            for k, i in enumerate(batch):
                own = probs[first[k] : first[k + 1]]
                self._expand(i, own if self._queries else own[0])
            done = batch.stop
            if bar is not None:
                bar.total = len(self.prompt)
                bar.update(len(batch))
        if bar is not None:
            bar.close()

    def _expand(self, i: int, probs) -> None:
        prompt = self.prompt[i]
        steps = self.sampler.exact_step(
            probs, self.tokens[i].copy(), self.extra[i], mask_id=self.mask_id
        )
        for weight, tokens, extra, cost in steps:
            if weight <= 0:
                continue
            if tokens.dtype != np.int64:
                tokens = np.asarray(tokens, np.int64)
            self.cost[i] += weight * cost
            if self.mask_id in tokens.tolist():
                target, to = self.q, self._state(prompt, tokens, extra)
            else:
                target, to = self.r, self._output(prompt, tokens)
            target[0].append(i)
            target[1].append(to)
            target[2].append(weight)

    def _check_terminates(self, num: int) -> None:
        """Refuse when some state cannot reach a finished output (a closed class)."""
        reaches = np.zeros(num, bool)
        if self.r[0]:
            reaches[np.unique(self.r[0])] = True
        if self.q[0]:
            src, dst = np.asarray(self.q[0]), np.asarray(self.q[1])
            back = scipy.sparse.csr_matrix(
                (np.ones(len(src)), (dst.astype(int), src.astype(int))), (num, num)
            )
            frontier = np.nonzero(reaches)[0]
            while len(frontier):
                parents = np.unique(back[frontier].indices)
                frontier = parents[~reaches[parents]]
                reaches[frontier] = True
        stuck = int(np.sum(~reaches))
        if stuck:
            raise ValueError(
                f"the exact chain of {self.sampler.describe()} on {self.task.name} "
                f"(n={self.task.n}) may not terminate: {stuck} reachable decoding "
                "states never reach a finished output (a closed class of transient "
                "states)."
            )

    def solve(self) -> Simulation:
        num = len(self.prompt)
        self._check_terminates(num)
        if self.q[0]:
            src, dst, w = self.q
            q = scipy.sparse.coo_matrix((w, (src, dst)), (num, num))
        else:
            q = scipy.sparse.coo_matrix((num, num))
        start = np.zeros(num)
        for i, mass in self.starts:
            start[i] += mass
        visits = expected_visits(q.tocsr(), start)
        src, out, w = self.r
        r = scipy.sparse.coo_matrix((w, (src, out)), (num, len(self.output_rows)))
        mass = np.asarray(r.T.tocsr() @ visits).ravel()
        nfe = float(np.dot(np.asarray(self.cost), visits))
        return self._result(mass, nfe, num)

    def _result(self, mass, nfe: float, num: int) -> Simulation:
        joint = self.task.joint
        prompt = np.asarray([p for p, _ in self.output_rows], np.int64)
        tokens = np.stack([t for _, t in self.output_rows])
        # an orbit is valid or not as a whole (the support is invariant)
        valid = self.marginals.valid(prompt, tokens)
        cells = None
        if self.lump:
            cells = np.asarray([_orbit_size(t) for t in tokens], float)
            prompt, tokens, valid_mass = _orbits(
                prompt[valid], tokens[valid], mass[valid]
            )
        else:
            prompt, tokens, valid_mass = prompt[valid], tokens[valid], mass[valid]
        outcomes = np.concatenate([prompt[:, None], tokens], axis=1)
        outputs = SparseJoint(
            jnp.asarray(outcomes.astype(outcome_dtype(joint.sizes))),
            jnp.asarray(valid_mass),
            joint.sizes,
            True,
        )
        entropy = conditional_entropy(mass, self.marginals.prompt_mass, cells=cells)
        return Simulation(
            task=self.task,
            sampler=self.sampler,
            outputs=outputs,
            invalid_mass=float(np.sum(mass[~valid])),
            expected_nfe=nfe,
            states_visited=num,
            output_entropy=entropy,
        )


def _orbit_size(tokens) -> int:
    r"""Distinct permutations of a multiset: $L! / \prod_v c_v!$."""
    counts = np.unique(tokens, return_counts=True)[1]
    return math.factorial(len(tokens)) // math.prod(
        math.factorial(int(c)) for c in counts
    )


def _orbits(prompt, tokens, mass):
    """Every distinct permutation of each sorted row, sharing the row's mass evenly."""
    rows, weights, prompts = [], [], []
    for p, row, m in zip(prompt, tokens, mass, strict=True):
        members = np.asarray(sorted(set(itertools.permutations(row.tolist()))))
        rows.append(members)
        weights.append(np.full(len(members), m / len(members)))
        prompts.append(np.full(len(members), p))
    if not rows:
        width = tokens.shape[1]
        return prompt, np.zeros((0, width), np.int64), np.zeros(0)
    return np.concatenate(prompts), np.concatenate(rows), np.concatenate(weights)


def expected_visits(q, start) -> np.ndarray:
    r"""$y = (I - Q)^{-\top} \pi_0$: expected visits to each transient state.

    The strongly connected components of $Q$ are solved in topological order of
    the condensation (Kahn's algorithm, a whole front of components at once): a
    component of one state is $y_i = b_i / (1 - Q_{ii})$, a larger one (a cycle of
    states) a sparse solve of its own block; $b$ is the start mass plus the flow
    from the components already solved. An acyclic chain is pure forward
    substitution (sums of products, no factorisation and no fill-in).

    Args:
      q: `(T, T)` CSR, the transient block (row: from, column: to).
      start: `(T,)` the start law $\pi_0$.
    """
    num = q.shape[0]
    q = q.tocsr()
    q.sum_duplicates()
    count, label = scipy.sparse.csgraph.connected_components(
        q, directed=True, connection="strong"
    )
    size = np.bincount(label, minlength=count)
    rows = q.tocoo()
    cross = label[rows.row] != label[rows.col]
    waiting = np.bincount(label[rows.col[cross]], minlength=count)
    order = np.argsort(label, kind="stable")
    first = np.concatenate([[0], np.cumsum(size)])
    diagonal = q.diagonal()
    inflow = np.asarray(start, float).copy()
    visits = np.zeros(num)
    front = np.nonzero(waiting == 0)[0]
    while len(front):
        single = front[size[front] == 1]
        nodes = order[first[single]]
        visits[nodes] = inflow[nodes] / (1.0 - diagonal[nodes])
        solved = [nodes]
        for comp in front[size[front] > 1]:
            members = order[first[comp] : first[comp + 1]]
            block = q[members][:, members]
            system = (scipy.sparse.identity(len(members), format="csc") - block).T
            visits[members] = scipy.sparse.linalg.spsolve(
                system.tocsc(), inflow[members]
            )
            solved.append(members)
        nodes = np.concatenate(solved)
        out = q[nodes]
        inflow += out.T @ visits[nodes]
        targets = label[out.indices]
        sources = label[np.repeat(nodes, np.diff(out.indptr))]
        targets = targets[targets != sources]
        np.subtract.at(waiting, targets, 1)
        touched = np.unique(targets)
        front = touched[waiting[touched] == 0]
    return visits
