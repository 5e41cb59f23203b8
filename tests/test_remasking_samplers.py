"""The re-masking samplers (issue 18): ReMDM and RCR, exact and Monte Carlo.

Their exact laws (`trilemma.simulation._chain`) equal plain recursive enumerators
(`bruteforce.remdm_law`, `bruteforce.rcr_law`) to 1e-12; jitted Monte Carlo on the
oracle agrees with the exact law within standard errors; a host model draws the
jitted decoder's samples; bad parameters give one-line errors.
"""

import math

import bruteforce as bf
import jax
import numpy as np
import pytest
from test_sampling import numpy_oracle
from test_simulation import (
    assert_frequencies_match,
    dense_task,
    random_dense,
    task_rows,
    valid_law,
)

import trilemma as T
from trilemma import sampling
from trilemma.samplers import rcr, remdm, wino
from trilemma.samplers._rcr import kept_after
from trilemma.samplers._remdm import plan
from trilemma.simulation._chain import simulate_chain

TASKS = {
    "shuffle": lambda: T.make_task("shuffle", 3),
    "replace_random": lambda: T.make_task("replace_random", 3),
    "dense": lambda: dense_task(random_dense(3, (3, 2, 3))),
    # four positions: WINO's verification re-masks tokens here (threshold 0.3)
    "replace_random_4": lambda: T.make_task("replace_random", 4),
    "dense_4": lambda: dense_task(random_dense(11, (3, 3, 2, 2))),
}
SMALL = ("shuffle", "replace_random", "dense")

REMDM = [
    {"remask_number": 1, "remask_steps": 1},
    {"num_steps": 2, "remask_number": 1, "remask_steps": 2, "temperature": 1.0},
    {"num_steps": 1, "remask_number": 2, "remask_steps": 1, "temperature": 0.5},
    {"num_steps": 3, "remask_number": 2, "remask_steps": 1},
    {"num_steps": 2, "remask_steps": 0, "temperature": 1.0},
]

RCR = [
    {"num_steps": 2},
    {"num_steps": 3, "temperature": 1.0},
    {"num_steps": 5, "temperature": 0.7},
    {"num_steps": 1, "temperature": 1.0},
]


def assert_law_equals(sim, reference):
    """The simulation's law and E[NFE] equal a reference `({y: q}, nfe)` to 1e-12."""
    law, nfe = reference
    rows, _ = task_rows(sim.task)
    q = valid_law(sim)
    assert set(q) <= set(rows)
    for y in rows:
        assert abs(q.get(y, 0.0) - law.get(y, 0.0)) <= 1e-12, y
    invalid = math.fsum(p for y, p in law.items() if y not in rows)
    assert abs(sim.invalid_mass - invalid) <= 1e-12
    assert abs(sim.expected_nfe - nfe) <= 1e-12
    assert abs(math.fsum(law.values()) - 1.0) <= 1e-12


@pytest.mark.parametrize("task_name", SMALL)
@pytest.mark.parametrize("params", REMDM)
def test_remdm_exact_law_equals_a_plain_recursion(task_name, params):
    task = TASKS[task_name]()
    rows, sizes = task_rows(task)
    full = {"num_steps": None, "remask_number": 1, "remask_steps": 1}
    full |= {"temperature": 0.0} | params
    reference = bf.remdm_law(rows, sizes, **full)
    assert_law_equals(simulate_chain(task, remdm(**params)), reference)


@pytest.mark.parametrize("task_name", SMALL)
@pytest.mark.parametrize("params", RCR)
def test_rcr_exact_law_equals_a_plain_recursion(task_name, params):
    task = TASKS[task_name]()
    rows, sizes = task_rows(task)
    reference = bf.rcr_law(rows, sizes, **({"temperature": 0.0} | params))
    assert_law_equals(simulate_chain(task, rcr(**params)), reference)


WINO = [
    {},
    {"threshold": 0.3, "temperature": 1.0},
    {"threshold": 0.2, "threshold_back": 0.6, "temperature": 0.5},
    {"threshold": 0.4, "threshold_back": 0.99},
]


@pytest.mark.parametrize("task_name", list(TASKS))
@pytest.mark.parametrize("params", WINO)
def test_wino_exact_law_equals_a_plain_recursion(task_name, params):
    task = TASKS[task_name]()
    rows, sizes = task_rows(task)
    full = {"threshold": 0.6, "threshold_back": 0.9, "temperature": 0.0} | params
    reference = bf.wino_law(rows, sizes, **full)
    assert_law_equals(simulate_chain(task, wino(**params)), reference)


def test_wino_revokes_tokens_on_these_tasks():
    """The verification re-masks committed tokens on the four-position tasks."""
    for name in ("replace_random_4", "dense_4"):
        task = TASKS[name]()
        model = T.oracle_model(task)
        tokens = np.tile(model.layout.initial_tokens(0), (256, 1))
        sampler = wino(threshold=0.3, temperature=1.0)
        out = T.decode_batch(
            sampler, model, jax.random.key(2), tokens, record_steps=True
        )
        assert (np.asarray(out.committed).sum(axis=1) > 4).any(), name


def test_simulate_dispatches_to_the_chain():
    """`trilemma.simulate` asks the sampler's law and gives the chain's result."""
    task = T.make_task("shuffle", 3)
    sampler = remdm(num_steps=2, temperature=1.0)
    mine, theirs = T.simulate(task, sampler), simulate_chain(task, sampler)
    assert valid_law(mine).keys() == valid_law(theirs).keys()
    for y, p in valid_law(theirs).items():
        assert abs(valid_law(mine)[y] - p) <= 1e-15
    assert mine.expected_nfe == theirs.expected_nfe


def test_remdm_without_remasking_is_greedy_confidence_topk():
    """`remask_steps=0` at temperature 0 is LLaDA's confidence top-k (levels' law).

    At a temperature above 0 they differ: the port ranks by the tempered probability.
    """
    task = dense_task(random_dense(5, (3, 3, 2)))
    mine = simulate_chain(task, remdm(num_steps=2, remask_steps=0))
    theirs = T.simulate(task, T.SAMPLERS["confidence_topk"](num_steps=2))
    assert valid_law(theirs).keys() == valid_law(mine).keys()
    for y, p in valid_law(theirs).items():
        assert abs(valid_law(mine)[y] - p) <= 1e-12
    assert abs(mine.invalid_mass - theirs.invalid_mass) <= 1e-12
    assert abs(mine.expected_nfe - theirs.expected_nfe) <= 1e-12
    tempered = simulate_chain(task, remdm(num_steps=2, remask_steps=0, temperature=0.8))
    plain = T.simulate(
        task, T.SAMPLERS["confidence_topk"](num_steps=2, temperature=0.8)
    )
    assert (
        max(
            abs(valid_law(tempered).get(y, 0.0) - p)
            for y, p in valid_law(plain).items()
        )
        > 0.01
    )


def test_rcr_in_one_step_draws_the_product_of_marginals():
    """N = 1: every position drawn once from its all-masked marginal, one pass."""
    task = dense_task(random_dense(9, (2, 3, 2)))
    sim = simulate_chain(task, rcr(num_steps=1, temperature=1.0))
    p = random_dense(9, (2, 3, 2))
    product = np.einsum("i,j,k->ijk", p.sum((1, 2)), p.sum((0, 2)), p.sum((0, 1)))
    for y, q in valid_law(sim).items():
        assert abs(q - product[y]) <= 1e-12
    assert abs(sim.expected_nfe - 1.0) <= 1e-12


def test_remdm_schedule_inserts_the_remasking_steps_after_seven_eighths():
    """The port's step list (`remdm.py`): t = min(clamp(7B // 8, 1, B - 1), N)."""
    cases = {
        # (B, N, n): (count per step, re-masking after each step)
        (8, None, 1): ([1] * 7 + [1] + [1], [False] * 6 + [True, False, False]),
        (8, 4, 2): ([2, 2, 2, 2, 1, 1], [False, False, False, True, True, False]),
        (3, None, 1): ([1, 1, 1, 1], [False, True, False, False]),
        (1, None, 2): ([1, 1, 1], [True, True, False]),
    }
    for (window, steps, n), (counts, after) in cases.items():
        sampler = remdm(num_steps=steps, remask_steps=n)
        got = [plan(sampler, window, s) for s in range(len(counts))]
        assert [min(int(c), 2**30) for c, _ in got] == counts, (window, steps, n)
        assert [bool(a) for _, a in got] == after, (window, steps, n)
        assert sampler.max_steps(window) == len(counts)


def test_rcr_schedule_is_the_codes_float64_truncation():
    """C_i of MaskGIT's linear schedule, truncated in float64 as MDPO's code does."""
    assert [int(kept_after(5, i, 5)) for i in range(5)] == [1, 2, 3, 5, 5]
    assert [int(kept_after(6, i, 3)) for i in range(3)] == [2, 4, 6]
    for window in range(1, 20):
        for steps in range(1, 12):
            for i in range(steps):
                code = window - math.floor(
                    window * min(max(1.0 - (i + 1) / steps, 1e-6), 1.0)
                )
                assert int(kept_after(window, i, steps)) == code
                assert int(kept_after(jax.numpy.asarray(window), i, steps)) == code


# --------------------------------------------------------------------------------------
# Monte Carlo

NUM_KEYS = 20_000

SLOW = pytest.mark.slow

MONTE_CARLO = [
    ("shuffle", remdm(num_steps=2, temperature=1.0)),
    pytest.param("dense", remdm(remask_number=2, remask_steps=2), marks=SLOW),
    ("shuffle", rcr(num_steps=3, temperature=1.0)),
    pytest.param("dense", rcr(num_steps=2), marks=SLOW),
    ("replace_random_4", wino(threshold=0.3, temperature=1.0)),
    pytest.param("dense_4", wino(threshold=0.3, temperature=1.0), marks=SLOW),
]


@pytest.mark.parametrize(("task_name", "sampler"), MONTE_CARLO)
def test_monte_carlo_decoding_agrees_with_the_exact_law(task_name, sampler):
    """Frequencies of 20,000 jitted oracle decodes are within 5 standard errors."""
    task = TASKS[task_name]()
    sim = simulate_chain(task, sampler)
    model = T.oracle_model(task)
    tokens = np.tile(model.layout.initial_tokens(0), (NUM_KEYS, 1))
    keys = jax.random.split(jax.random.key(20261207), NUM_KEYS)
    out = T.decode_batch(sampler, model, keys, tokens)
    decoded, nfe = np.asarray(out.tokens), np.asarray(out.nfe, float)
    assert (decoded[:, 1:] != model.layout.mask_id).all()
    assert_frequencies_match(decoded[:, 1:], sim)
    standard_error = nfe.std(ddof=1) / math.sqrt(NUM_KEYS)
    assert abs(nfe.mean() - sim.expected_nfe) <= 5 * standard_error + 1e-9


@pytest.mark.parametrize(
    "sampler",
    [
        pytest.param(remdm(num_steps=2, temperature=1.0), marks=pytest.mark.slow),
        rcr(num_steps=3),
        wino(threshold=0.3, temperature=1.0),
    ],
)
def test_a_host_model_draws_the_jitted_decoders_samples(sampler):
    """The host loop and the jitted loop give the same tokens and NFE per key."""
    task = T.make_task("shuffle_distinct", 4)
    keys = sampling.sample_keys(3, np.zeros(32, int), np.arange(32))
    model = T.oracle_model(task)
    tokens = np.tile(model.layout.initial_tokens(0), (32, 1))
    host = T.decode_batch(sampler, numpy_oracle(task), keys, tokens, record_steps=True)
    ref = T.decode_batch(sampler, model, keys, tokens, record_steps=True)
    np.testing.assert_array_equal(host.tokens, np.asarray(ref.tokens))
    np.testing.assert_array_equal(host.nfe, np.asarray(ref.nfe))
    np.testing.assert_array_equal(host.committed, np.asarray(ref.committed))


def test_remasking_steps_change_committed_tokens():
    """ReMDM and RCR do re-mask: some decode commits more tokens than positions."""
    task = T.make_task("shuffle", 4)
    model = T.oracle_model(task)
    tokens = np.tile(model.layout.initial_tokens(0), (64, 1))
    for sampler in (remdm(num_steps=2, temperature=1.0), rcr(num_steps=3)):
        out = T.decode_batch(
            sampler, model, jax.random.key(1), tokens, record_steps=True
        )
        assert (np.asarray(out.committed).sum(axis=1) > 4).all()
        assert np.asarray(out.committed).shape[1] == sampler.max_steps(5)


# --------------------------------------------------------------------------------------
# Bad input


@pytest.mark.parametrize(
    ("factory", "params", "fragment"),
    [
        (remdm, {"num_steps": 0}, "num_steps"),
        (remdm, {"remask_number": 0}, "remask_number"),
        (remdm, {"remask_steps": -1}, "remask_steps"),
        (remdm, {"temperature": -0.5}, "temperature"),
        (rcr, {"num_steps": 0}, "num_steps"),
        (rcr, {"num_steps": 3, "temperature": float("nan")}, "temperature"),
        (rcr, {"num_steps": 2**21}, "num_steps"),
        (wino, {"threshold": 1.5}, "threshold"),
        (wino, {"threshold_back": -0.1}, "threshold_back"),
        (wino, {"temperature": float("inf")}, "temperature"),
    ],
)
def test_bad_parameters_give_one_line_errors(factory, params, fragment):
    with pytest.raises(ValueError, match=fragment) as error:
        factory(**params)
    assert "\n" not in str(error.value)


def test_wrong_types_give_one_line_errors():
    for call in (lambda: remdm(num_steps=1.5), lambda: rcr(num_steps="3")):
        with pytest.raises(TypeError) as error:
            call()
        assert "\n" not in str(error.value)
