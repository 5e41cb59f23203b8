r"""The optimal adaptive unmasking policy of the ideal model, as a sampler (issue 19).

`trilemma.frontier` solves, for an enumerable task, the policy that maximises
$\mathbb E[r] - \lambda\,\mathbb E[\mathrm{NFE}]$ over every policy that draws all
masked positions from the ideal model and then commits a non-empty subset of the
draws chosen from the state and the draws (`frontier.solve`), and the vertices of
the frontier over $\lambda$ (`frontier.frontier`). This module runs that policy
like any other registered sampler: `trilemma.simulate` gives its exact law and
`decode_batch` / `trilemma sample` its Monte Carlo samples.

**Settings.** Exactly one of

* `price` $= \lambda \ge 0$: the optimal policy at that price (`frontier.solve`;
  ties inside the DP go to fewer expected steps);
* `budget` $= B \ge 1$ expected forward passes: the best policy on the frontier at
  $\mathbb E[\mathrm{NFE}] = B$, the mixture of the two vertex policies around $B$
  (one coin before the first step), or the last vertex when $B$ exceeds its steps;

with the draw `temperature` (0: greedy with uniform ties; 1: the marginals), the
reward (`precision=False`: the task's grader, "accuracy"; True: validity) and the
class (`fixed=False`: adaptive; True: sets chosen before drawing).

**Bound to a task.** The policy is a table over the task's states, so the value
must know the task: `optimal(...)` builds the settings (the registry's factory,
whose keyword parameters are the CLI's flags), and `bind(task)` (or
`optimal_sampler(task, ...)`) solves the policy for one task and attaches it. The
bound value compares and hashes by its settings and the task's fingerprint (name,
n and a digest of the joint, prompts and grades), so it is a static argument of the
jitted decoder and a rebuilt one reuses the compiled kernel; the solved tables are
cached per (settings, task). `trilemma.simulate` binds an unbound value to the task
it is given; the Monte Carlo decoders need a bound one (`task_bound` is the protocol
attribute that says so).

**Ties.** Where several sets are optimal (same value and expected steps within
`frontier.TIE`), the sampler picks one uniformly at random, the randomised optimal
policy of `Policy.law("uniform")` (ParallelBench's random tie breaking); it keeps
the task's symmetries and has the same reward and E[NFE] as the deterministic one.

**Monte Carlo step.** Every masked position draws a token from its law $\pi_j$
exactly as `step_from_logits` does (`rules.token_probabilities`,
`rules.draw_distribution`, `rules.draw_index`); the state (prompt, revealed tokens)
is found among the task's valid states by binary search on sorted int64 keys
(`jnp.searchsorted`, under `jit` and `vmap`), the (state, draws of its free
positions) row likewise, and the row's tied committed sets give the set. A
position whose marginal is a point mass is drawn to its one token and committed
with the set. Every step commits at least one token: one forward pass.

**Exact law** (`law = "optimal"`, `trilemma.simulate`): the mixture of the vertex
policies' `Policy.law("uniform")` (valid outputs, invalid mass, E[NFE]); the entropy
over all outputs comes from a forward pass over the very lookup tables the Monte
Carlo step reads (`Solved.table_law`, equal to `Policy.law` to 1e-12, tested), and
is None when a fixed-class policy leaves the support before finishing (the
outputs it then completes at random are not resolved).

**Models.** Only the task's oracle: the bound tables are the oracle's. A model whose
layout is not the oracle's (a trained denoiser, another task) is refused with a
one-line `ValueError` when the step is traced; `simulate` refuses any `model` other
than `oracle_model(task)`. The step cannot inspect the model's weights, so a model
with the oracle's exact layout but other logits is not detected: where its draws
leave the table (no valid state or row), the step commits every masked position.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from .. import _checks
from . import _protocol, rules

_CACHE_SIZE = 16
"""Solved (settings, task) tables kept in memory."""


@dataclasses.dataclass(frozen=True)
class Optimal:
    r"""The optimal policy's settings, and its solved tables once bound to a task.

    Attributes:
      name: `"optimal"`.
      price: the price per step $\lambda$, or None (then `budget`).
      budget: the expected forward passes $B$, or None (then `price`).
      temperature: of the token draw (0: greedy, ties at random).
      reward: `"accuracy"` (the grader) or `"precision"` (validity).
      policy_class: `"adaptive"` or `"fixed"`.
      params: the factory's arguments, for display.
      task_key: `(task name, n, fingerprint)` once bound, else None.
    """

    name: str
    price: float | None
    budget: float | None
    temperature: float
    reward: str
    policy_class: str
    params: tuple[tuple[str, object], ...]
    task_key: tuple | None = None
    solved: Any = dataclasses.field(default=None, compare=False, repr=False)

    def describe(self) -> str:
        """`optimal(price=0.05, temperature=1.0)`, and the task once bound."""
        text = _protocol.describe(self)
        if self.task_key is None:
            return text
        return f"{text} on {self.task_key[0]} (n={self.task_key[1]})"

    def max_steps(self, length: int) -> int:
        """`length` (the sequence's): every step commits at least one token."""
        return max(int(length), 1)

    # -- the sampler protocol (`_protocol`) --------------------------------------------

    num_models = 1
    remasks = False
    law = "optimal"
    """Its exact law: `Policy.law` of the solved policy (`trilemma.simulate`)."""
    task_bound = True
    """Its decisions are solved for one task: Monte Carlo needs `bind(task)`."""

    @property
    def phases(self) -> tuple[Callable, ...]:
        """One phase: `step`."""
        return (_protocol.single_phase(functools.partial(step, self)),)

    def init_extra(self, length: int, vocab_size: int):
        """The vertex policy the run follows (the budget's coin; 0 until drawn)."""
        return jnp.zeros((), int)

    # -- binding -----------------------------------------------------------------------

    def bind(self, task, *, model=None) -> Optimal:
        """This sampler with its policy solved for `task` (cached per task).

        Args:
          task: an enumerable task (`trilemma.make_task`).
          model: the model it will decode, checked before anything is solved: the
            task's `oracle_model`, or a `HostModel` in the oracle's layout; None
            skips the check (the decoder still refuses another layout).
        """
        from ..tasks import Task

        _checks.check_instance(task, "task", Task)
        if model is not None:
            check_model(self, task, model)
        key = task_key(task)
        if self.task_key is not None and self.task_key != key:
            raise ValueError(
                f"{self.describe()} is solved for {self.task_key[0]} "
                f"(n={self.task_key[1]}), not {task.name} (n={task.n})"
            )
        unbound = dataclasses.replace(self, task_key=None, solved=None)
        solved = _solve(unbound, key, task)
        return dataclasses.replace(self, task_key=key, solved=solved)


def optimal(
    *,
    price: float | None = None,
    budget: float | None = None,
    temperature: float = 1.0,
    precision: bool = False,
    fixed: bool = False,
) -> Optimal:
    r"""The optimal adaptive policy of the ideal model (issue 19; see the module).

    Solved on the task it decodes (`bind`, or `trilemma.simulate`'s task): it runs
    only that task's oracle.

    Args:
      price: lambda >= 0, the reward given up per expected step; give this or
        `budget`.
      budget: B >= 1 expected forward passes: the frontier's policy at E[NFE] = B
        (a mixture of two vertex policies); give this or `price`.
      temperature: of the token draw, 0 (greedy, ties at random) or above (default
        1: the model's marginals).
      precision: maximise the valid mass instead of the grader's pass rate.
      fixed: the smaller class, sets chosen from the state before drawing.
    """
    if (price is None) == (budget is None):
        raise ValueError(
            "give exactly one of `price` (the reward per step) and `budget` (the "
            "expected forward passes)"
        )
    if price is not None:
        price = _checks.check_real(price, "price", low=0.0, high_open=True)
    if budget is not None:
        budget = _checks.check_real(budget, "budget", low=1.0, high_open=True)
    temperature = _checks.check_real(
        temperature, "temperature", low=0.0, high_open=True
    )
    precision = _checks.check_bool(precision, "precision")
    fixed = _checks.check_bool(fixed, "fixed")
    shown = {
        "price": price,
        "budget": budget,
        "temperature": temperature,
        "precision": precision or None,
        "fixed": fixed or None,
    }
    return Optimal(
        name="optimal",
        price=price,
        budget=budget,
        temperature=temperature,
        reward="precision" if precision else "accuracy",
        policy_class="fixed" if fixed else "adaptive",
        params=tuple((k, v) for k, v in shown.items() if v is not None),
    )


def optimal_sampler(task, *, model=None, **settings) -> Optimal:
    """`optimal(**settings)` solved for `task`: ready for `decode_batch`.

    `model`, if given, is checked to be the task's oracle first (`Optimal.bind`).
    """
    return optimal(**settings).bind(task, model=model)


def check_model(sampler: Optimal, task, model) -> None:
    """Refuse (one line) a model other than `task`'s oracle.

    A `Model` must be `oracle_model(task)` (its function and tables); a `HostModel`
    (NumPy, outside JAX) must read the oracle's layout.
    """
    from ..layout import task_layout
    from ..models import HostModel, Model
    from ..simulation._simulate import _is_oracle_of

    if isinstance(model, Model) and _is_oracle_of(model, task):
        return
    if isinstance(model, HostModel):
        mine, theirs = task_layout(task), model.layout
        if (
            np.array_equal(mine.prefixes, theirs.prefixes)
            and tuple(mine.sizes) == tuple(theirs.sizes)
            and (mine.vocab_size, mine.mask_id) == (theirs.vocab_size, theirs.mask_id)
        ):
            return
    raise ValueError(
        f"{sampler.describe()} is the policy of the ideal model: it decodes only the "
        f"oracle of {task.name} (n={task.n}); got model "
        f"{getattr(model, 'name', type(model).__name__)!r}"
    )


def task_key(task) -> tuple:
    """`(name, n, digest)`: the task's identity (joint, prompts and grades)."""
    joint = task.joint
    outcomes = np.ascontiguousarray(np.asarray(joint.outcomes).astype(np.int64))
    digest = hashlib.sha256()
    for part in (
        outcomes,
        np.ascontiguousarray(np.asarray(joint.probs, np.float64)),
        np.ascontiguousarray(np.asarray(task.prompts).astype(np.int64)),
        np.asarray(joint.sizes, np.int64),
        np.packbits(task.grade(outcomes[:, 0], outcomes[:, 1:])),
    ):
        digest.update(part.tobytes())
        digest.update(b"|")
    return (task.name, int(task.n), digest.hexdigest()[:16])


# --------------------------------------------------------------------------------------
# Solving and the lookup tables


@dataclasses.dataclass(frozen=True, eq=False)
class Solved:
    r"""A bound policy: the vertex policies, their weights and the lookup tables.

    Attributes:
      task: the task.
      policies: the `frontier.Policy` of each vertex policy (one, or two for a
        budget between vertices).
      weights: the probability of following each.
      length, vocab, mask_id: the oracle's layout (one prefix token, the prompt).
      tables: the NumPy lookup tables (`_tables`).
    """

    task: Any
    policies: tuple
    weights: tuple[float, ...]
    length: int
    vocab: int
    mask_id: int
    tables: dict
    row_prob: np.ndarray

    @property
    def expected_nfe(self) -> float:
        """The mixture's E[NFE]."""
        return float(
            sum(
                w * p.expected_nfe
                for w, p in zip(self.weights, self.policies, strict=True)
            )
        )

    @property
    def expected_reward(self) -> float:
        """The mixture's expected reward."""
        return float(
            sum(
                w * p.expected_reward
                for w, p in zip(self.weights, self.policies, strict=True)
            )
        )

    def law(self):
        """The mixture's `frontier.PolicyLaw` (uniform ties within each policy)."""
        from ..frontier import PolicyLaw

        laws = [p.law("uniform") for p in self.policies]
        w = self.weights

        def mix(f):
            return sum(wi * f(law) for wi, law in zip(w, laws, strict=True))

        return PolicyLaw(
            q_rows=mix(lambda law: law.q_rows),
            invalid=float(mix(lambda law: law.invalid)),
            expected_nfe=float(mix(lambda law: law.expected_nfe)),
            accuracy=float(mix(lambda law: law.accuracy)),
            precision=float(mix(lambda law: law.precision)),
        )

    def table_law(self) -> dict:
        r"""The exact law the lookup tables decode, by a forward pass over them.

        What the Monte Carlo step does, in NumPy: from each prompt's root, every
        row of the state's draws and every tied set (uniformly) moves the mass to
        the child; a partial commit off the support (the fixed class only) ends in
        one more step that commits everything. Independent of `Policy.law`, which
        it must equal (tested), and it keeps each invalid output, for the entropy.

        Returns:
          `{"keys": (K,) int64, "mass": (K,)}` the finished outputs as state keys
          (prompt and tokens, `StateSpace.key`'s radix), `"valid"` `(K,)`,
          `"off_support"` the mass that left the support before finishing (its
          outputs are not resolved) and `"expected_nfe"`.
        """
        t = self.tables
        space = self.policies[0].table.space
        size, length = space.num_states, space.length
        span, place = int(t["span"]), t["place"]
        radix = space.vocab + 1
        keys = t["state_keys"]
        tokens = space.tokens[space.order]
        level = (tokens >= 0).sum(axis=1)
        forced = np.where(
            space.deterministic()[space.order],
            np.argmax(space.marginals[space.order], axis=-1),
            -1,
        )
        row = t["row_keys"] // span
        row_policy, row_state = row // size, row % size
        digits = (t["row_keys"][:, None] % span) // place[None, :] % radix - 1
        rows_out, mass_out = [], []
        off, nfe = 0.0, 0.0
        bits = 1 << np.arange(length)
        roots = np.searchsorted(keys, space.key[space.roots])
        for which, weight in enumerate(self.weights):
            mass = np.zeros(size)
            mass[roots] = weight * space.prompt_mass[space.prompt[space.roots]]
            mine = row_policy == which
            for depth in range(length):
                pick = np.nonzero(mine & (level[row_state] == depth))[0]
                nfe += float(mass[level == depth].sum())
                count = t["count"][pick]
                r = np.repeat(pick, count)
                within = np.arange(len(r)) - np.repeat(np.cumsum(count) - count, count)
                chosen = t["sets"][t["first"][r] + within]
                state = row_state[r]
                flow = mass[state] * self.row_prob[r] / t["count"][r]
                commit = (chosen[:, None] & bits[None, :]) != 0
                value = np.where(forced[state] >= 0, forced[state], digits[r])
                child = np.where(commit, value, tokens[state])
                key = space.prompt[space.order][state] * span + np.sum(
                    np.where(child >= 0, child + 1, 0) * place, axis=1
                )
                done = (child >= 0).all(axis=1)
                rows_out.append(key[done])
                mass_out.append(flow[done])
                at = np.minimum(np.searchsorted(keys, key[~done]), size - 1)
                inside = keys[at] == key[~done]
                np.add.at(mass, at[inside], flow[~done][inside])
                left = float(flow[~done][~inside].sum())
                off += left
                nfe += left
        keys_out = np.concatenate(rows_out)
        unique, inverse = np.unique(keys_out, return_inverse=True)
        total = np.bincount(inverse.ravel(), np.concatenate(mass_out), len(unique))
        at = np.minimum(np.searchsorted(keys, unique), size - 1)
        return {
            "keys": unique,
            "mass": total,
            "valid": keys[at] == unique,
            "off_support": off,
            "expected_nfe": nfe,
        }


_SOLVED: dict = {}


def _solve(sampler: Optimal, key: tuple, task) -> Solved:
    """The policy of `sampler` on `task`, solved once per (settings, task)."""
    cache_key = (sampler, key)
    found = _SOLVED.get(cache_key)
    if found is not None:
        return found
    from .. import frontier as F

    space = F.StateSpace(task)
    table = F.DrawTable(space, sampler.temperature)
    options = {"reward": sampler.reward, "policy_class": sampler.policy_class}
    if sampler.price is not None:
        policies, weights = (F.solve(table, sampler.price, **options),), (1.0,)
    else:
        policies, weights = _at_budget(F.frontier(table, **options), sampler.budget)
    sizes = [int(s) for s in task.joint.sizes]
    solved = Solved(
        task=task,
        policies=policies,
        weights=weights,
        length=len(sizes) - 1,
        vocab=max(sizes),
        mask_id=max(sizes),
        **_tables(policies, sampler.describe()),
    )
    if len(_SOLVED) >= _CACHE_SIZE:
        _SOLVED.pop(next(iter(_SOLVED)))
    _SOLVED[cache_key] = solved
    return solved


def _at_budget(front, budget: float) -> tuple[tuple, tuple[float, ...]]:
    """The vertex policies around E[NFE] = `budget`, and the mixture's weights."""
    vertices = front.vertices
    nfe = [v.expected_nfe for v in vertices]
    if budget >= nfe[-1] - 1e-12:
        return (vertices[-1].policy,), (1.0,)
    right = next(i for i, x in enumerate(nfe) if x >= budget - 1e-12)
    if abs(nfe[right] - budget) <= 1e-12 or right == 0:
        return (vertices[right].policy,), (1.0,)
    a, b = vertices[right - 1], vertices[right]
    t = (b.expected_nfe - budget) / (b.expected_nfe - a.expected_nfe)
    return (a.policy, b.policy), (float(t), float(1.0 - t))


def _tables(policies, what: str) -> dict:
    r"""Sorted int64 keys of the states and of the (policy, state, draws) rows.

    * `state_keys` `(S,)`: `StateSpace.key` sorted; `free` `(S,)` the bits of the
      state's free positions (masked, not a point mass) in that order;
    * `row_keys` `(R,)` sorted: $(\text{policy} \cdot S + s)\,(V+1)^L + \sum_{j
      \text{ free}} (z_j + 1)(V+1)^{L-1-j}$ with $s$ the state's sorted index;
      `first`, `count` `(R,)`: the row's tied committed sets in `sets` (position
      bits); `row_prob` `(R,)` (host only) the probability of the row's draws.
    """
    from .. import frontier

    table = policies[0].table
    space = table.space
    size, length = space.num_states, space.length
    radix = space.vocab + 1
    span = radix**length
    if len(policies) * size * span >= 2**62:
        raise ValueError(
            f"{what}: the Monte Carlo lookup keys of {space.describe()} need more "
            f"than 62 bits ({len(policies)} x {size:,} states x {radix}^{length} "
            "draws); the task is too large to decode with the optimal policy"
        )
    rank = np.empty(size, np.int64)
    rank[space.order] = np.arange(size)
    bits = 1 << np.arange(length)
    free_mask = (space.tokens < 0) & ~space.deterministic()
    keys, firsts, counts, sets, probs = [], [], [], [], []
    offset = 0
    for which, policy in enumerate(policies):
        value, steps = frontier.end_values(policy)
        fixed = policy.policy_class == "fixed"
        for group in table.groups:
            tied = frontier.tied_sets(group, value, steps, fixed=fixed)
            subset_bits = table.committed_bits(group, np.arange(tied.shape[1]))
            rows, cols = np.nonzero(tied)
            count = tied.sum(axis=1)
            digits = (group.draws.astype(np.int64) + 1) * space.place[group.free]
            code = digits.sum(axis=1)
            state = rank[group.row_state]
            keys.append((which * size + state) * span + code)
            firsts.append(offset + np.cumsum(count) - count)
            counts.append(count)
            probs.append(group.prob)
            sets.append(subset_bits[cols])
            offset += len(rows)
    keys = np.concatenate(keys)
    order = np.argsort(keys, kind="stable")
    tables = {
        "state_keys": space.sorted_keys.astype(np.int64),
        "free": (free_mask[space.order] @ bits).astype(np.int64),
        "place": space.place.astype(np.int64),
        "row_keys": keys[order],
        "first": np.concatenate(firsts)[order].astype(np.int64),
        "count": np.concatenate(counts)[order].astype(np.int64),
        "sets": np.concatenate(sets).astype(np.int64),
        "span": np.asarray(span, np.int64),
        "num_states": np.asarray(size, np.int64),
    }
    return {"tables": tables, "row_prob": np.concatenate(probs)[order]}


# --------------------------------------------------------------------------------------
# The Monte Carlo step


def check_layout(sampler: Optimal, length: int, vocab: int, mask_id: int) -> None:
    """Refuse (one line) a model whose layout is not the bound task's oracle's."""
    if sampler.solved is None:
        raise ValueError(
            f"{sampler.describe()} is solved per task: bind it first "
            "(`sampler.bind(task)` or `optimal_sampler(task, ...)`); it decodes only "
            "that task's oracle"
        )
    if not jax.config.jax_enable_x64:
        raise ValueError(
            f"{sampler.describe()} looks its policy up with int64 keys: enable "
            "jax_enable_x64"
        )
    solved = sampler.solved
    want = (1 + solved.length, solved.vocab, solved.mask_id)
    if (length, vocab, mask_id) != want:
        raise ValueError(
            f"{sampler.describe()} decodes only the oracle of its task (sequence "
            f"length, vocabulary, mask id {want}); got a model with "
            f"{(length, vocab, mask_id)}"
        )


def step(
    sampler: Optimal, key, state, logits, *, mask_id: int
) -> tuple[_protocol.DecodeState, _protocol.DecodeInfo]:
    """One step of the optimal policy from the oracle's logits `(S, V)`."""
    tokens = state.tokens
    check_layout(sampler, tokens.shape[0], logits.shape[-1], mask_id)
    solved = sampler.solved
    t = {k: jnp.asarray(v) for k, v in solved.tables.items()}  # constants
    length = solved.length
    prompt = tokens[0].astype(jnp.int64)
    outputs = tokens[1:].astype(jnp.int64)
    masked = outputs == mask_id
    probs = rules.token_probabilities(logits, mask_id)[1:]
    pi = rules.draw_distribution(probs, sampler.temperature)
    u = jax.random.uniform(key, (length + 2,), dtype=probs.dtype)
    drawn = rules.draw_index(pi, u[:length]).astype(jnp.int64)
    # the mixture's coin, before the first step
    coin = (u[length + 1] >= solved.weights[0]).astype(int)
    which = jnp.where(state.step == 0, coin, state.extra)
    # the state: prompt and revealed tokens
    place = t["place"]
    state_key = prompt * t["span"] + jnp.sum(
        jnp.where(masked, jnp.zeros_like(outputs), outputs + 1) * place
    )
    keys = t["state_keys"]
    s = jnp.searchsorted(keys, state_key).astype(jnp.int64)
    s = jnp.minimum(s, keys.shape[0] - 1)
    found = keys[s] == state_key
    positions = jnp.arange(length)
    free = ((t["free"][s] >> positions) & 1) == 1
    code = jnp.sum(jnp.where(free, (drawn + 1) * place, jnp.zeros_like(drawn)))
    row_key = (which.astype(jnp.int64) * t["num_states"] + s) * t["span"] + code
    rows = t["row_keys"]
    r = jnp.searchsorted(rows, row_key).astype(jnp.int64)
    r = jnp.minimum(r, rows.shape[0] - 1)
    found = found & (rows[r] == row_key)
    count = t["count"][r]
    pick = jnp.minimum(
        jnp.floor(u[length] * count.astype(u.dtype)).astype(jnp.int64), count - 1
    )
    chosen = t["sets"][t["first"][r] + pick]
    commit = jnp.where(found, ((chosen >> positions) & 1) == 1, True) & masked
    new_outputs = jnp.where(commit, drawn, outputs).astype(tokens.dtype)
    new_tokens = tokens.at[1:].set(new_outputs)
    num_committed = jnp.sum(commit).astype(int)
    new_state = state._replace(
        tokens=new_tokens,
        step=state.step + 1,
        nfe=state.nfe + (num_committed > 0).astype(int),
        extra=which,
    )
    return new_state, _protocol.DecodeInfo(num_committed)


# --------------------------------------------------------------------------------------
# The exact law (`trilemma.simulate`, law "optimal")


def simulate_optimal(task, sampler: Optimal, *, model=None, support_only=False, **_):
    """The exact law of `sampler` on `task` with the oracle (`Policy.law`)."""
    from ..distributions import SparseJoint, outcome_dtype
    from ..simulation._result import Simulation, conditional_entropy
    from ..simulation._simulate import _is_oracle_of

    if model is not None and not _is_oracle_of(model, task):
        check_model(sampler, task, model)
    if support_only:
        raise ValueError(
            f"`support_only` applies with a trained `model`; {sampler.describe()}'s "
            "exact law is the oracle's"
        )
    bound = sampler.bind(task)
    solved = bound.solved
    law = solved.law()
    joint = task.joint
    outcomes = np.asarray(joint.outcomes)
    live = law.q_rows > 0
    outputs = SparseJoint(
        jnp.asarray(outcomes[live].astype(outcome_dtype(joint.sizes))),
        jnp.asarray(law.q_rows[live]),
        joint.sizes,
        True,
    )
    space = solved.policies[0].table.space
    entropy = None
    decoded = solved.table_law()
    if decoded["off_support"] <= 0:  # every output resolved (not the fixed class')
        entropy = conditional_entropy(decoded["mass"], space.prompt_mass)
    return Simulation(
        task=task,
        sampler=bound,
        outputs=outputs,
        invalid_mass=float(law.invalid),
        expected_nfe=float(law.expected_nfe),
        states_visited=int(space.num_states),
        output_entropy=entropy,
    )
