"""The optimal policy as a registered sampler (issue 19): exact law and Monte Carlo.

* the exact law through `trilemma.simulate` is `Policy.law()` (uniform ties) of the
  policy `frontier.solve` returns, and at a price inside a vertex's interval, or at
  a budget, it has the frontier's E[NFE] and accuracy, to 1e-12;
* `decode_batch` on `oracle_model(task)` matches the exact law within standard
  errors at a fixed seed (every output, the invalid mass, the mean NFE), for one and
  several prompts, and a host model in NumPy decodes the same samples;
* other models, an unbound sampler and bad settings are refused in one line.
"""

import math
from collections import Counter

import clitools
import jax
import numpy as np
import pytest
from sampler_examples import TASK_BOUND, built
from test_sampling import numpy_oracle

import trilemma as T
from trilemma import frontier as F
from trilemma.samplers import Optimal, optimal, optimal_sampler

TOL = 1e-12
NUM = 4000


def exact(task, **settings):
    """`(simulation, policy laws, weights)` of `optimal(**settings)` on `task`."""
    sim = T.simulate(task, optimal(**settings))
    solved = sim.sampler.solved
    laws = [p.law() for p in solved.policies]
    return sim, laws, solved.weights


def q_rows(sim) -> np.ndarray:
    """The simulation's mass on each support row of the task's joint."""
    p_star, q = sim.aligned()
    return q[:-1]


CASES = [
    ("shuffle", 4, {"price": 0.05}),
    ("shuffle", 4, {"price": 0.5}),
    ("replace_random", 3, {"price": 2.0, "fixed": True}),
    ("shuffle", 4, {"price": 0.05, "temperature": 0.0}),
    ("replace_random", 3, {"price": 0.3}),
    ("replace_random", 3, {"price": 0.3, "fixed": True}),
    ("replace_random", 3, {"price": 0.01, "precision": True, "temperature": 0.5}),
]


@pytest.mark.parametrize(("name", "n", "settings"), CASES)
def test_exact_law_is_the_policys(name, n, settings):
    task = T.make_task(name, n)
    sim, (law,), weights = exact(task, **settings)
    assert weights == (1.0,)
    np.testing.assert_allclose(q_rows(sim), law.q_rows, rtol=0, atol=TOL)
    assert sim.invalid_mass == pytest.approx(law.invalid, abs=TOL)
    assert sim.expected_nfe == pytest.approx(law.expected_nfe, abs=TOL)
    assert sim.accuracy() == pytest.approx(law.accuracy, abs=TOL)
    # the lookup tables the Monte Carlo step reads decode the same law
    decoded = sim.sampler.solved.table_law()
    space = sim.sampler.solved.policies[0].table.space
    row_keys = space.key[space.row_state[-1]]
    mass = dict(zip(decoded["keys"].tolist(), decoded["mass"].tolist(), strict=True))
    np.testing.assert_allclose(
        [mass.get(k, 0.0) for k in row_keys.tolist()], law.q_rows, rtol=0, atol=TOL
    )
    invalid = float(decoded["mass"][~decoded["valid"]].sum()) + decoded["off_support"]
    assert invalid == pytest.approx(law.invalid, abs=TOL)
    assert decoded["expected_nfe"] == pytest.approx(law.expected_nfe, abs=TOL)
    assert (sim.output_entropy is None) == (decoded["off_support"] > 0)
    # the same policy solved directly
    table = F.DrawTable(F.StateSpace(task), settings.get("temperature", 1.0))
    policy = F.solve(
        table,
        settings["price"],
        reward="precision" if settings.get("precision") else "accuracy",
        policy_class="fixed" if settings.get("fixed") else "adaptive",
    )
    assert sim.expected_nfe == pytest.approx(policy.expected_nfe, abs=TOL)
    reward = sim.point().precision if settings.get("precision") else sim.accuracy()
    assert reward == pytest.approx(policy.expected_reward, abs=TOL)


@pytest.mark.parametrize(("name", "n"), [("replace_random", 3), ("shuffle", 4)])
def test_prices_and_budgets_reach_the_frontier(name, n):
    """Inside a vertex's price interval: that vertex; a budget: the hull at it."""
    task = T.make_task(name, n)
    front = F.frontier(task)
    for vertex in front.vertices:
        hi = min(vertex.lam_high, 2.0)
        sim = T.simulate(task, optimal(price=(vertex.lam_low + hi) / 2))
        assert sim.expected_nfe == pytest.approx(vertex.expected_nfe, abs=TOL)
        assert sim.accuracy() == pytest.approx(vertex.expected_reward, abs=TOL)
    top = front.nfe[-1]
    for budget in (1.0, (1.0 + top) / 2, top, top + 1.0):
        sim = T.simulate(task, optimal(budget=budget))
        assert sim.expected_nfe == pytest.approx(min(budget, top), abs=TOL)
        assert sim.accuracy() == pytest.approx(float(front.reward_at(budget)), abs=TOL)


def test_replace_random_reaches_certainty_in_14_over_9_steps():
    """Issue 19's example: always right in 14/9 expected steps at temperature 1."""
    sim = T.simulate(T.make_task("replace_random", 3), optimal(price=0.0))
    assert sim.accuracy() == pytest.approx(1.0, abs=TOL)
    assert sim.expected_nfe == pytest.approx(14 / 9, abs=TOL)


# --------------------------------------------------------------------------------------
# Monte Carlo against the exact law


def within(p_hat, p, num):
    """5 standard errors plus 3 counts (a cell of mass 0 is never hit)."""
    if p <= 1e-15:
        return p_hat == 0
    return abs(p_hat - p) <= 5 * math.sqrt(p * (1 - p) / num) + 3 / num


def assert_matches(task, sim, prompt, outputs, nfe):
    """Frequencies of one prompt's samples and their mean NFE against the exact law.

    The law of prompt `prompt` is the simulation's mass on its rows over the prompt's
    mass; NFE is compared with E[NFE] for one-prompt tasks (a prompt's own E[NFE] is
    not in the result).
    """
    num = len(outputs)
    joint = np.asarray(task.joint.outcomes)
    mine = joint[:, 0] == prompt
    q = q_rows(sim)[mine] / np.asarray(task.joint.probs)[mine].sum()
    counts = Counter(map(tuple, np.asarray(outputs).tolist()))
    rows = [tuple(r) for r in joint[mine, 1:].tolist()]
    for row, p in zip(rows, q, strict=True):
        assert within(counts.get(row, 0) / num, p, num), row
    invalid = sum(c for y, c in counts.items() if y not in set(rows)) / num
    valid_q = float(q.sum())
    assert within(invalid, max(1.0 - valid_q, 0.0), num)
    if len(np.unique(joint[:, 0])) == 1:
        error = nfe.std(ddof=1) / math.sqrt(num) if nfe.std() > 0 else 0.0
        assert abs(nfe.mean() - sim.expected_nfe) <= 5 * error + 1e-9


MC_CASES = [
    ("shuffle", 4, {}, {"price": 0.05}),
    ("replace_random", 3, {}, {"budget": 1.3}),
    pytest.param(
        "replace_random", 3, {}, {"price": 0.3, "fixed": True}, marks=pytest.mark.slow
    ),
    ("replace_random", 3, {"num_prompts": 2}, {"price": 0.02, "temperature": 0.5}),
]


@pytest.mark.parametrize(("name", "n", "options", "settings"), MC_CASES)
def test_monte_carlo_agrees_with_the_exact_law(name, n, options, settings):
    """Jitted decodes match the exact law; a host model decodes the same samples."""
    task = T.make_task(name, n, **options)
    sim = T.simulate(task, optimal(**settings))
    model = T.oracle_model(task)
    sampler = optimal_sampler(task, model=model, **settings)
    assert sampler == sim.sampler and hash(sampler) == hash(sim.sampler)
    for prompt in range(model.layout.prefixes.shape[0]):
        tokens = np.tile(model.layout.initial_tokens(prompt), (NUM, 1))
        keys = jax.random.split(jax.random.key(20251207 + prompt), NUM)
        out = T.decode_batch(sampler, model, keys, tokens)
        outputs, nfe = np.asarray(out.tokens), np.asarray(out.nfe, float)
        assert (outputs[:, 0] == prompt).all()
        assert_matches(task, sim, prompt, outputs[:, 1:], nfe)
        if prompt == 0:
            host = T.decode_batch(sampler, numpy_oracle(task), keys[:64], tokens[:64])
            np.testing.assert_array_equal(np.asarray(host.tokens), outputs[:64])
            np.testing.assert_array_equal(np.asarray(host.nfe), nfe[:64])


def test_a_budget_between_vertices_mixes_them():
    """The two vertex policies around the budget, weighted to reach it exactly."""
    task = T.make_task("replace_random", 3)
    solved = optimal_sampler(task, budget=1.3).solved
    front = F.frontier(task)
    assert len(solved.policies) == 2
    assert [p.expected_nfe for p in solved.policies] == pytest.approx(front.nfe)
    assert solved.expected_nfe == pytest.approx(1.3, abs=TOL)
    assert solved.expected_reward == pytest.approx(float(front.reward_at(1.3)), abs=TOL)


# --------------------------------------------------------------------------------------
# The sampler as a value, the registry and the CLI


def test_the_registry_builds_it_and_it_is_a_value():
    assert "optimal" in T.SAMPLERS and "optimal" in TASK_BOUND
    sampler = built("optimal")
    assert isinstance(sampler, Optimal)
    assert sampler.law == "optimal" and sampler.num_models == 1
    assert not sampler.remasks and len(sampler.phases) == 1
    assert sampler == built("optimal") and hash(sampler) == hash(built("optimal"))
    assert sampler.describe() == "optimal(price=0.05, temperature=1.0)"
    assert built("optimal", 1).describe() == "optimal(budget=2.0, temperature=1.0)"
    task = T.make_task("shuffle", 3)
    bound = sampler.bind(task)
    assert bound != sampler and bound == sampler.bind(task)
    assert bound.bind(task) == bound
    assert bound.describe() == "optimal(price=0.05, temperature=1.0) on shuffle (n=3)"


def test_a_rebuilt_sampler_does_not_retrace_the_decoder():
    task = T.make_task("shuffle", 3)
    base = T.oracle_model(task)
    traces = []

    def logits_fn(params, x):
        traces.append(1)
        return base.logits_fn(params, x)

    model = base._replace(logits_fn=logits_fn)
    tokens = base.layout.initial_tokens(0)[None]
    T.decode_batch(optimal_sampler(task, price=0.1), model, jax.random.key(0), tokens)
    count = len(traces)
    T.decode_batch(optimal_sampler(task, price=0.1), model, jax.random.key(1), tokens)
    assert len(traces) == count


def test_the_cli_simulates_it(capsys):
    argv = ["simulate", "shuffle", "--n", "4", "--sampler", "optimal"]
    report = clitools.report([*argv, "--price", "0.05"], capsys)
    sim = T.simulate(T.make_task("shuffle", 4), optimal(price=0.05))
    assert report["expected_nfe"] == pytest.approx(sim.expected_nfe, abs=TOL)
    assert report["accuracy"] == pytest.approx(sim.accuracy(), abs=TOL)
    assert report["params"] == {"price": 0.05, "temperature": 1.0}


# --------------------------------------------------------------------------------------
# Refusals, each one line


def one_line(excinfo) -> str:
    text = str(excinfo.value)
    assert "\n" not in text
    return text


def test_other_models_are_refused():
    task = T.make_task("shuffle", 4)
    other = T.oracle_model(T.make_task("shuffle", 3))
    sampler = optimal_sampler(task, price=0.05)
    tokens = other.layout.initial_tokens(0)[None]
    with pytest.raises(ValueError, match="decodes only the oracle") as info:
        T.decode_batch(sampler, other, jax.random.key(0), tokens)
    one_line(info)
    with pytest.raises(ValueError, match="decodes only the oracle") as info:
        optimal_sampler(task, model=other, price=0.05)
    one_line(info)
    with pytest.raises(ValueError, match="decodes only the oracle") as info:
        T.simulate(task, optimal(price=0.05), model=other)
    one_line(info)
    # the oracle of another task with the same layout: its tables differ
    same_shape = T.oracle_model(task)
    params = dict(same_shape.params)
    params["weights"] = params["weights"] * 0 + 1.0 / len(params["weights"])
    with pytest.raises(ValueError, match="decodes only the oracle") as info:
        T.simulate(task, optimal(price=0.05), model=same_shape._replace(params=params))
    one_line(info)
    with pytest.raises(ValueError, match="solved for shuffle"):
        sampler.bind(T.make_task("shuffle", 3))


def test_an_unbound_sampler_is_refused_by_the_decoder():
    task = T.make_task("shuffle", 3)
    model = T.oracle_model(task)
    with pytest.raises(ValueError, match="bind it first") as info:
        T.decode_batch(
            optimal(price=0.1),
            model,
            jax.random.key(0),
            model.layout.initial_tokens(0)[None],
        )
    one_line(info)


@pytest.mark.parametrize(
    ("settings", "error", "fragment"),
    [
        ({}, ValueError, "exactly one of `price`"),
        ({"price": 0.1, "budget": 2.0}, ValueError, "exactly one of `price`"),
        ({"price": -0.1}, ValueError, "`price`"),
        ({"price": math.inf}, ValueError, "`price`"),
        ({"price": math.nan}, ValueError, "`price`"),
        ({"budget": 0.5}, ValueError, "`budget`"),
        ({"price": 0.1, "temperature": -1.0}, ValueError, "`temperature`"),
        ({"price": "0.1"}, TypeError, "`price`"),
        ({"price": 0.1, "precision": 1}, TypeError, "`precision`"),
        ({"price": 0.1, "fixed": "yes"}, TypeError, "`fixed`"),
    ],
)
def test_bad_settings_are_one_line_errors(settings, error, fragment):
    with pytest.raises(error) as info:
        optimal(**settings)
    assert fragment in one_line(info)
