"""The APD sampler (`trilemma.samplers.apd`) against exact laws.

With the ideal dLLM (`oracle_model`) and p*'s exact AR conditionals
(`oracle_ar_model`), APD's Monte Carlo frequencies and passes match the plain exact
law of `bruteforce.apd_law` (Gumbel coupling in closed form), and, where the two
coincide, the sequence-level product of experts of `trilemma.experts`:

* R = 1 with M >= L: one step drafts every position from the all-masked marginals, all
  accepted: the law is p_T(R = 1) = p_D, the product of marginals;
* p* a product law: p_D = p_AR = p* position by position, every draft is accepted,
  and the law is p_T = p* for every R.

Elsewhere the law is neither p_T nor p* (shown on replace_random).
"""

import itertools
import math
from collections import Counter

import bruteforce as bf
import jax
import numpy as np
import pytest

import trilemma as T
from trilemma import sampling
from trilemma.samplers import apd

NUM = 4000


def draw(task, sampler, *, num=NUM, seed=0):
    """`(outputs (N, L), nfe, ar_nfe)` of prompt 0, one key per sample."""
    model = T.oracle_model(task)
    keys = sampling.sample_keys(seed, np.zeros(num, int), np.arange(num))
    tokens = np.tile(model.layout.initial_tokens(0), (num, 1))
    out = T.decode_batch(sampler, model, keys, tokens, ar_model=T.oracle_ar_model(task))
    return (
        np.asarray(model.layout.outputs(out.tokens)),
        np.asarray(out.nfe),
        np.asarray(out.ar_nfe),
    )


def assert_matches(outputs, law: dict) -> None:
    """Every outcome's frequency within 5 standard errors (+3 counts) of `law`.

    An outcome of probability 0 is never drawn.
    """
    num = len(outputs)
    counts = Counter(map(tuple, outputs.tolist()))
    assert set(counts) <= {y for y, p in law.items() if p > 0}
    for y, p in law.items():
        gap = abs(counts.get(y, 0) / num - p)
        assert gap <= 5 * math.sqrt(p * (1 - p) / num) + 3 / num, (y, p)


def assert_mean(values, exact) -> None:
    """The sample mean within 5 standard errors of `exact` (or equal to it)."""
    se = np.std(values, ddof=1) / math.sqrt(len(values))
    assert abs(float(np.mean(values)) - exact) <= 5 * se + 1e-12


@pytest.mark.parametrize(
    ("name", "n", "weight", "lookahead"),
    [
        ("replace_random", 3, 0.0, 3),
        ("replace_random", 3, 0.5, 2),
        ("shuffle_distinct", 3, 0.3, 3),
        ("latin_square", 3, 0.5, 4),
    ],
)
def test_apd_matches_its_exact_law(name, n, weight, lookahead):
    """Frequencies, mean NFE and mean AR passes match `bruteforce.apd_law`."""
    task = T.make_task(name, n)
    law, nfe, ar_nfe = bf.apd_law(task, 0, weight=weight, lookahead=lookahead)
    outputs, got_nfe, got_ar = draw(task, apd(weight=weight, lookahead=lookahead))
    assert_matches(outputs, law)
    assert_mean(got_nfe, nfe)
    assert_mean(got_ar, ar_nfe)


def _dense(law: dict, sizes) -> np.ndarray:
    p = np.zeros(sizes)
    for y, w in law.items():
        p[y] = w
    return p


def test_full_window_at_weight_one_is_the_product_of_experts():
    """R = 1, M >= L: one step, the law is p_T(R = 1) = the product of marginals."""
    task = T.make_task("shuffle", 3)
    p_star, sizes = bf.apd_target(task, 0)
    p = _dense(p_star, sizes)
    p_t = np.asarray(T.product_of_experts(T.product_of_marginals(p), p, 1.0))
    outputs, nfe, ar_nfe = draw(task, apd(weight=1.0, lookahead=5))
    assert_matches(outputs, {y: float(p_t[y]) for y in np.ndindex(*sizes)})
    assert (nfe == 1).all() and (ar_nfe == 1).all()


@pytest.mark.parametrize("weight", [0.0, 0.4, 1.0])
def test_a_product_law_is_sampled_exactly_in_one_step(weight):
    """p* a product law: p_T = p* for every R, and APD draws it in one step."""
    task = bf.product_task()
    p_star, sizes = bf.apd_target(task, 0)
    p = _dense(p_star, sizes)
    p_t = np.asarray(T.product_of_experts(T.product_of_marginals(p), p, weight))
    np.testing.assert_allclose(p_t, p, atol=1e-12)
    outputs, nfe, _ = draw(task, apd(weight=weight, lookahead=3))
    assert_matches(outputs, {y: float(p_t[y]) for y in np.ndindex(*sizes)})
    assert (nfe == 1).all()


def test_elsewhere_apd_is_neither_the_product_of_experts_nor_p_star():
    """On replace_random n = 3 at R = 0.5, M = L, the exact law differs from both."""
    task = T.make_task("replace_random", 3)
    p_star, sizes = bf.apd_target(task, 0)
    p = _dense(p_star, sizes)
    p_t = np.asarray(T.product_of_experts(T.product_of_marginals(p), p, 0.5))
    law = _dense(bf.apd_law(task, 0, weight=0.5, lookahead=3)[0], sizes)
    assert np.abs(law - p_t).max() > 1e-3
    assert np.abs(law - p).max() > 1e-3


def test_lookahead_one_decodes_left_to_right_from_the_exact_conditionals():
    """M = 1: one token per step from p*(y_t | x, y_<t): the law is p*, NFE = L."""
    task = T.make_task("shuffle_distinct", 4)
    p_star, _ = bf.apd_target(task, 0)
    outputs, nfe, ar_nfe = draw(task, apd(weight=0.5, lookahead=1))
    assert_matches(outputs, p_star)
    assert (nfe == 4).all() and (ar_nfe == 0).all()


def test_apd_refuses_what_it_cannot_run():
    task = T.make_task("shuffle", 3)
    model = T.oracle_model(task)
    tokens = model.layout.initial_tokens(0)[None]
    with pytest.raises(ValueError, match="autoregressive verifier"):
        T.decode_batch(apd(weight=0.5, lookahead=2), model, jax.random.key(0), tokens)
    with pytest.raises(ValueError, match="one model"):
        T.decode_batch(
            T.make_sampler("random_topk", k=1),
            model,
            jax.random.key(0),
            tokens,
            ar_model=T.oracle_ar_model(task),
        )
    other = T.oracle_ar_model(T.make_task("shuffle", 4))
    with pytest.raises(ValueError, match="token layout"):
        T.decode_batch(
            apd(weight=0.5, lookahead=2),
            model,
            jax.random.key(0),
            tokens,
            ar_model=other,
        )
    with pytest.raises(ValueError, match="`weight`"):
        apd(weight=1.5, lookahead=2)
    with pytest.raises(ValueError, match="`lookahead`"):
        apd(weight=0.5, lookahead=0)
    with pytest.raises(ValueError, match="needs its verifier"):
        T.simulate(task, apd(weight=0.5, lookahead=2), model=T.oracle_ar_model(task))
    two = T.make_task("shuffle", 3, num_prompts=2)
    with pytest.raises(ValueError, match="one row per prompt"):
        T.simulate(
            task,
            apd(weight=0.5, lookahead=2),
            model=T.oracle_model(two),
            ar_model=T.oracle_ar_model(two),
        )
    with pytest.raises(ValueError, match="`ar_model`: APD's exact law with the ideal"):
        T.simulate(task, apd(), ar_model=T.oracle_ar_model(task))
    with pytest.raises(ValueError, match="`support_only`"):
        T.simulate(task, apd(weight=0.5, lookahead=2), support_only=True)


def test_oracle_ar_logits_are_the_exact_conditionals():
    """Row m - 1 + j of the AR oracle is p*(y_j | x, y_<j), by plain counting."""
    task = T.make_task("replace_random", 3)
    model = T.oracle_ar_model(task)
    p_star, sizes = bf.apd_target(task, 0)
    for y in list(p_star)[:5]:
        tokens = np.concatenate([[0], y]).astype(np.int32)
        probs = np.exp(np.asarray(model.logits_fn(model.params, tokens)))
        for j in range(len(sizes)):
            mass = {
                v: sum(w for z, w in p_star.items() if z[:j] == y[:j] and z[j] == v)
                for v in range(sizes[j])
            }
            total = sum(mass.values())
            for v, w in mass.items():
                assert probs[j, v] == pytest.approx(w / total, abs=1e-12)


EXACT = 1e-12
EXACT_TASKS = [
    ("shuffle", 3),
    ("shuffle_distinct", 3),
    ("replace_random", 3),
    ("copy", 3),
    ("latin_square", 3),
    ("copula", 2),
    ("markov_chain", 3),
    ("random_joint", 3),
]


def _simulated_law(sim, prompt: int = 0) -> dict:
    """`{y: q(y | x = prompt)}` of a `Simulation`'s valid outputs."""
    outcomes = np.asarray(sim.outputs.outcomes)
    probs = np.asarray(sim.outputs.probs)
    rows = outcomes[:, 0] == prompt
    return {
        tuple(int(v) for v in o[1:]): float(p)
        for o, p in zip(outcomes[rows], probs[rows], strict=True)
    }


@pytest.mark.parametrize(("name", "n"), EXACT_TASKS)
def test_simulate_is_the_exact_law(name, n):
    """`trilemma.simulate` gives `bruteforce.apd_law` to 1e-12.

    R in {0, 0.5, 1}, M in {1, 2, L}, temperature 1 and 0.5: the valid law, the
    invalid mass (outputs off the support, possible at R = 1 with M >= 2), E[NFE],
    E[AR passes] and the entropy over all outputs.
    """
    task = T.make_task(name, n)
    p_star, sizes = bf.apd_target(task, 0)
    lookaheads = sorted({1, 2, len(sizes)})
    for weight, lookahead, temperature in itertools.product(
        (0.0, 0.5, 1.0), lookaheads, (1.0, 0.5)
    ):
        settings = {"weight": weight, "lookahead": lookahead}
        law, nfe, ar_nfe = bf.apd_law(task, 0, **settings, temperature=temperature)
        sim = T.simulate(task, apd(**settings, temperature=temperature))
        got = _simulated_law(sim)
        valid = {y: p for y, p in law.items() if y in p_star}
        for y in set(got) | set(valid):
            assert got.get(y, 0.0) == pytest.approx(valid.get(y, 0.0), abs=EXACT)
        invalid = math.fsum(p for y, p in law.items() if y not in p_star)
        assert sim.invalid_mass == pytest.approx(invalid, abs=EXACT)
        assert sim.expected_nfe == pytest.approx(nfe, abs=EXACT)
        assert sim.expected_ar_nfe == pytest.approx(ar_nfe, abs=EXACT)
        entropy = -math.fsum(p * math.log(p) for p in law.values())
        assert sim.output_entropy == pytest.approx(entropy, abs=EXACT)


def test_simulate_weighs_each_prompt_by_its_mass():
    """With several prompts the law is sum_x p(x) apd_law(x), each prompt's own."""
    task = T.make_task("replace_random", 3, num_prompts=3)
    sim = T.simulate(task, apd(weight=0.5, lookahead=2))
    outcomes = np.asarray(task.joint.outcomes)
    probs = np.asarray(task.joint.probs)
    nfe = 0.0
    for prompt in range(3):
        mass = float(probs[outcomes[:, 0] == prompt].sum())
        law, prompt_nfe, _ = bf.apd_law(task, prompt, weight=0.5, lookahead=2)
        got = _simulated_law(sim, prompt)
        assert set(got) == set(law)
        for y, p in law.items():
            assert got[y] == pytest.approx(mass * p, abs=EXACT)
        nfe += mass * prompt_nfe
    assert sim.expected_nfe == pytest.approx(nfe, abs=EXACT)


def test_greedy_apd_matches_its_exact_law():
    """Temperature 0 (ties at random): Monte Carlo within 5 SE of `simulate`."""
    task = T.make_task("shuffle_distinct", 3)
    sampler = apd(weight=0.5, lookahead=3, temperature=0.0)
    sim = T.simulate(task, sampler)
    outputs, nfe, ar_nfe = draw(task, sampler)
    assert_matches(outputs, _simulated_law(sim))
    assert_mean(nfe, sim.expected_nfe)
    assert_mean(ar_nfe, sim.expected_ar_nfe)
