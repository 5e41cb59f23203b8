"""The chain solver (`trilemma.simulation._chain`) and the marginals components.

The solver against hand-built Markov chains with known absorption laws (gambler's
ruin: absorption probabilities and expected duration in closed form), its refusals
(a closed class of transient states, the state bound, a sampler without an exact
step), and the marginals it reads: `OracleMarginals` against the plain oracle of
`bruteforce` on every partial state, `ModelMarginals` of the oracle model against
`OracleMarginals`.
"""

import itertools
import math
from typing import NamedTuple

import bruteforce as bf
import numpy as np
import pytest
from sampler_examples import built
from test_simulation import dense_task, task_rows, valid_law

import trilemma as T
from trilemma.distributions import SparseJoint
from trilemma.samplers import EXAMPLES, SAMPLERS, rcr, remdm
from trilemma.simulation._chain import simulate_chain
from trilemma.simulation._marginals import ModelMarginals, OracleMarginals, exchangeable

# --------------------------------------------------------------------------------------
# Hand-built chains: samplers whose exact step ignores the marginals


class Walk(NamedTuple):
    """A random walk on 0..top in the exact state; the output is which end it hit.

    The single output position stays masked until the walk hits 0 (token 0) or
    `top` (token 1); from 1..top-1 it steps up with probability `up`. `stuck` adds a
    closed pair of states {-1, -2} entered from `start` with probability `stuck`.
    """

    top: int
    start: int
    up: float
    stuck: float = 0.0
    name: str = "walk"
    law: str = "chain"

    def describe(self) -> str:  # noqa: D102
        return f"walk(top={self.top}, start={self.start}, up={self.up})"

    def exact_init(self, length):  # noqa: D102
        return self.start

    def exact_step(self, probs, tokens, extra, *, mask_id):  # noqa: D102
        masked = np.array([mask_id])
        if extra < 0:  # the closed pair
            return [(1.0, masked, -3 - extra, 1)]
        out = []
        for weight, k in ((self.up, extra + 1), (1.0 - self.up, extra - 1)):
            weight *= 1.0 - (self.stuck if extra == self.start else 0.0)
            if k in (0, self.top):
                out.append((weight, np.array([int(k == self.top)]), None, 1))
            else:
                out.append((weight, masked, k, 1))
        if self.stuck and extra == self.start:
            out.append((self.stuck, masked, -1, 1))
        return out


class Counter(NamedTuple):
    """Finishes with probability 1/2 per step, else counts on (unbounded states)."""

    name: str = "counter"
    law: str = "chain"

    def describe(self) -> str:  # noqa: D102
        return "counter()"

    def exact_init(self, length):  # noqa: D102
        return 0

    def exact_step(self, probs, tokens, extra, *, mask_id):  # noqa: D102
        return [(0.5, np.array([0]), None, 1), (0.5, np.array([mask_id]), extra + 1, 1)]


COIN = dense_task(np.array([0.5, 0.5]))
"""One output position with alphabet {0, 1}, both valid."""


@pytest.mark.parametrize(
    ("top", "start", "up"), [(5, 2, 0.3), (4, 1, 0.5), (7, 3, 0.65), (2, 1, 0.9)]
)
def test_gamblers_ruin_absorption_law_and_duration(top, start, up):
    r"""P(hit top) and E[steps] of a walk with cycles, against the closed forms.

    With $r = q/p$: $P = (1 - r^k)/(1 - r^N)$ and $E[T] = k/(q - p) - (N/(q - p))
    P$; at $p = q$, $P = k/N$ and $E[T] = k(N - k)$ (Feller, vol. 1, XIV.2-3).
    """
    sim = simulate_chain(COIN, Walk(top, start, up))
    down = 1.0 - up
    if up == down:
        win, duration = start / top, start * (top - start)
    else:
        r = down / up
        win = (1 - r**start) / (1 - r**top)
        duration = start / (down - up) - top / (down - up) * win
    law = valid_law(sim)
    assert abs(law[(1,)] - win) <= 1e-12
    assert abs(law[(0,)] - (1 - win)) <= 1e-12
    assert abs(sim.expected_nfe - duration) <= 1e-10 * max(1.0, duration)
    assert sim.invalid_mass == 0.0
    assert sim.states_visited == top - 1
    entropy = -sum(p * math.log(p) for p in (win, 1 - win) if p > 0)
    assert abs(sim.output_entropy - entropy) <= 1e-12


def test_a_closed_class_is_refused():
    """A walk that may fall into a pair of states it never leaves: one-line refusal."""
    with pytest.raises(ValueError, match="may not terminate") as error:
        simulate_chain(COIN, Walk(4, 2, 0.5, stuck=0.25))
    assert "\n" not in str(error.value) and "2 reachable" in str(error.value)


def test_the_state_bound_is_refused_before_it_is_exceeded():
    with pytest.raises(ValueError, match="more than 100 transient") as error:
        simulate_chain(COIN, Counter(), max_states=100)
    assert "\n" not in str(error.value) and "max_states" in str(error.value)
    # a bound the chain fits in is fine
    sim = simulate_chain(COIN, Walk(5, 2, 0.3), max_states=4)
    assert sim.states_visited == 4


def test_a_sampler_without_an_exact_step_is_refused():
    with pytest.raises(ValueError, match="exact step") as error:
        simulate_chain(COIN, T.SAMPLERS["random_topk"](k=1))
    assert "\n" not in str(error.value)


def test_a_real_sampler_over_the_state_bound_is_refused():
    task = T.make_task("shuffle", 4)
    with pytest.raises(ValueError, match="max_states") as error:
        simulate_chain(task, remdm(num_steps=2, temperature=1.0), max_states=10)
    assert "\n" not in str(error.value) and "remdm(" in str(error.value)


# --------------------------------------------------------------------------------------
# The marginals components


def _partial_states(sizes):
    """Every assignment of a token or the mask (None) to each position."""
    return itertools.product(*([None, *range(k)] for k in sizes))


@pytest.mark.parametrize(
    ("name", "n", "options"),
    [
        ("random_joint", 3, {"vocab": 3, "seed": 4, "zeros": 0.5, "num_prompts": 2}),
        ("shuffle", 3, {}),
        ("insert_random", 2, {}),
    ],
)
def test_oracle_marginals_equal_the_plain_oracle(name, n, options):
    """Every partial state of every prompt, impossible prefixes (uniform) included."""
    task = T.make_task(name, n, **options)
    component = OracleMarginals(task)
    mask = component.mask_id
    for prompt in range(len(task.prompts)):
        rows, sizes = task_rows(task, prompt)
        states = list(_partial_states(sizes))
        tokens = np.array([[mask if v is None else v for v in s] for s in states])
        probs = component.probs(np.full(len(states), prompt), tokens)
        assert probs.shape == (len(states), len(sizes), component.vocab)
        assert probs.dtype == np.float64
        for state, got in zip(states, probs, strict=True):
            expected = bf.oracle_marginals(rows, sizes, list(state))
            for j, k in enumerate(sizes):
                np.testing.assert_allclose(got[j, :k], expected[j], atol=1e-12)
                assert (got[j, k:] == 0).all()
        full = np.array(list(itertools.product(*(range(k) for k in sizes))))
        valid = component.valid(np.full(len(full), prompt), full)
        assert valid.tolist() == [tuple(y) in rows for y in full.tolist()]
    assert abs(component.prompt_mass.sum() - 1.0) <= 1e-12


def test_model_marginals_of_the_oracle_model_equal_the_oracle():
    task = T.make_task("random_joint", 3, vocab=3, seed=4, zeros=0.5, num_prompts=2)
    oracle = OracleMarginals(task)
    component = ModelMarginals(task, T.oracle_model(task))
    assert component.mask_id == oracle.mask_id
    sizes = [int(k) for k in task.joint.sizes[1:]]
    states = list(_partial_states(sizes))
    tokens = np.array([[oracle.mask_id if v is None else v for v in s] for s in states])
    for prompt in range(2):
        prompts = np.full(len(states), prompt)
        mine, theirs = component.probs(prompts, tokens), oracle.probs(prompts, tokens)
        np.testing.assert_allclose(mine[..., : oracle.vocab], theirs, atol=1e-12)
        assert np.all(mine[..., oracle.vocab :] <= 1e-300)
    full = np.array(list(itertools.product(*(range(k) for k in sizes))))
    assert (
        component.valid(np.zeros(len(full), int), full)
        == oracle.valid(np.zeros(len(full), int), full)
    ).all()
    # a token outside a position's alphabet (but in the vocabulary) is never valid
    uneven = dense_task(np.full((3, 2, 3), 1 / 18))
    component = ModelMarginals(uneven, T.oracle_model(uneven))
    assert component.valid(
        np.zeros(2, int), np.array([[0, 1, 0], [0, 2, 0]])
    ).tolist() == [
        True,
        False,
    ]


@pytest.mark.parametrize(
    "sampler", [remdm(num_steps=2, temperature=1.0), rcr(num_steps=2, temperature=0.7)]
)
def test_the_chain_with_the_oracle_model_equals_the_oracle_chain(sampler):
    """`model=oracle_model(task)` (ModelMarginals) gives the oracle's exact law."""
    task = T.make_task("random_joint", 3, vocab=3, seed=2, zeros=0.5, num_prompts=2)
    mine = simulate_chain(task, sampler, model=T.oracle_model(task))
    theirs = simulate_chain(task, sampler)
    p_mine, q_mine = mine.aligned()
    p_theirs, q_theirs = theirs.aligned()
    np.testing.assert_allclose(q_mine, q_theirs, atol=1e-12)
    assert abs(mine.expected_nfe - theirs.expected_nfe) <= 1e-12
    assert abs(mine.output_entropy - theirs.output_entropy) <= 1e-12


# --------------------------------------------------------------------------------------
# Lumping by the positions' symmetry

EQUIVARIANT = tuple(
    (name, which)
    for name in SAMPLERS
    for which in range(len(EXAMPLES[name]))
    if hasattr(built(name, which), "exact_canonical")
)
"""Every example setting of the samplers that declare an equivariant exact step."""


def _exchangeable_by_every_permutation(joint) -> bool:
    """The definition, plainly: the joint is unchanged by every output permutation."""
    rows = np.asarray(joint.outcomes).tolist()
    law = {}
    for row, p in zip(rows, np.asarray(joint.probs).tolist(), strict=True):
        if p > 0:
            law[tuple(row)] = law.get(tuple(row), 0.0) + p
    length = len(rows[0]) - 1
    sizes = [int(k) for k in joint.sizes[1:]]
    if len(set(sizes)) > 1:
        return False
    for perm in itertools.permutations(range(length)):
        moved = {(r[0], *(r[1 + j] for j in perm)): p for r, p in law.items()}
        if moved.keys() != law.keys():
            return False
        if any(abs(moved[k] - law[k]) > 1e-12 * law[k] for k in law):
            return False
    return True


def _swap_only_joint():
    """Invariant under swapping outputs 1 and 2 but not under the 3-cycle."""
    rows = [(0, 0, 0, 1), (0, 0, 1, 0), (0, 1, 0, 0), (0, 1, 1, 1)]
    probs = [0.25, 0.125, 0.125, 0.5]
    return SparseJoint(np.asarray(rows), np.asarray(probs), (1, 2, 2, 2), True)


@pytest.mark.parametrize(
    "joint",
    [
        *(
            T.make_task(name, n).joint
            for name in ("shuffle", "copy", "sort")
            for n in (3, 4)
        ),
        T.make_task("shuffle_distinct", 3).joint,
        T.make_task("random_joint", 3, vocab=2, seed=1, num_prompts=2).joint,
        _swap_only_joint(),
    ],
)
def test_exchangeable_is_invariance_under_every_permutation(joint):
    """`exchangeable` (two generators) equals the definition checked on all L! maps."""
    assert exchangeable(joint) == _exchangeable_by_every_permutation(joint)


def test_shuffle_is_exchangeable_and_the_swap_only_joint_is_not():
    """Both answers occur among the cases above (the test can tell them apart)."""
    assert exchangeable(T.make_task("shuffle", 4).joint)
    assert not exchangeable(_swap_only_joint())


@pytest.mark.parametrize(("name", "which"), EQUIVARIANT)
def test_canonical_states_name_orbits(name, which):
    """A permuted state has the same orbit representative.

    The representative is a permutation of the state (tokens and per-position
    values moved together).
    """
    sampler = built(name, which)
    rng = np.random.default_rng(3)
    mask = 9
    for _ in range(20):
        tokens = rng.choice([0, 1, 2, mask], size=5)
        extra = sampler.exact_init(5)
        if isinstance(extra, tuple) and len(extra) == 2 and isinstance(extra[1], tuple):
            values = rng.choice([0.25, 0.5, math.inf], size=5)
            extra = (extra[0], tuple(values.tolist()))
        perm = rng.permutation(5)
        moved = (
            (extra[0], tuple(np.asarray(extra[1])[perm].tolist()))
            if isinstance(extra, tuple) and len(extra) == 2
            else extra
        )
        a_tokens, a_extra = sampler.exact_canonical(tokens, extra)
        b_tokens, b_extra = sampler.exact_canonical(tokens[perm], moved)
        assert a_tokens.tolist() == b_tokens.tolist() and a_extra == b_extra
        assert sorted(a_tokens.tolist()) == sorted(tokens.tolist())


@pytest.mark.parametrize("n", [3, 4])
@pytest.mark.parametrize(("name", "which"), EQUIVARIANT)
def test_the_lumped_chain_has_the_law_of_the_full_chain(name, which, n):
    """Lumping by symmetry keeps the law (strong lumpability of an equivariant chain).

    On Shuffle (exchangeable), the chain over orbit representatives gives the full
    chain's output law, invalid mass, E[NFE] and H(q(Y|X)) to 1e-12, with fewer
    states.
    """
    task = T.make_task("shuffle", n)
    sampler = built(name, which)
    lumped = simulate_chain(task, sampler)
    full = simulate_chain(task, sampler, symmetry=False)
    mine, theirs = _law(lumped), _law(full)
    assert mine.keys() == theirs.keys()
    assert max(abs(mine[k] - theirs[k]) for k in mine) <= 1e-12
    assert abs(lumped.invalid_mass - full.invalid_mass) <= 1e-12
    assert abs(lumped.expected_nfe - full.expected_nfe) <= 1e-12
    assert abs(lumped.output_entropy - full.output_entropy) <= 1e-12
    assert lumped.states_visited < full.states_visited or full.states_visited <= 1


def _law(sim) -> dict:
    rows = np.asarray(sim.outputs.outcomes).tolist()
    return dict(
        zip(map(tuple, rows), np.asarray(sim.outputs.probs).tolist(), strict=True)
    )


def test_a_non_exchangeable_task_is_not_lumped():
    """On Copy the same sampler explores the same states with or without `symmetry`."""
    task = T.make_task("copy", 3)
    sampler = remdm(num_steps=2, temperature=1.0)
    assert (
        simulate_chain(task, sampler).states_visited
        == simulate_chain(task, sampler, symmetry=False).states_visited
    )
