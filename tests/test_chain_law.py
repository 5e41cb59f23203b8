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
from test_simulation import dense_task, task_rows, valid_law

import trilemma as T
from trilemma.samplers import rcr, remdm
from trilemma.simulation._chain import simulate_chain
from trilemma.simulation._marginals import ModelMarginals, OracleMarginals

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
        simulate_chain(task, remdm(num_steps=2, temperature=1.0), max_states=50)
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
