"""Exact simulation (`trilemma.simulate`) against independent references.

* every sampler's exact output law, invalid mass, expected NFE and entropy equal the
  plain recursive enumerator `bruteforce.decoding_law` (written from the rules'
  definitions, no shared code), on random dense joints and on tie-heavy tasks;
* any-order autoregression at temperature 1 reproduces p* exactly (a theorem);
* Monte Carlo decoding (`trilemma.decode` with the oracle) agrees with the exact law
  within 5 standard errors;
* the oracle's marginals, the identities between the reported fields, and errors.
"""

import math
from collections import Counter

import bruteforce as bf
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given
from sampler_examples import LEVELS, example

import trilemma as T
from trilemma import strategies as tst
from trilemma.tasks import Task

# --------------------------------------------------------------------------------------
# Helpers


def dense_task(p) -> Task:
    """A one-prompt task whose target is the dense joint `p` over the outputs."""
    p = np.asarray(p, float)
    return Task("custom", p.ndim, np.zeros((1, 1), int), T.from_dense(p[None]))


def random_dense(seed: int, shape, zeros: float = 0.3) -> np.ndarray:
    """A seeded random joint of `shape` with about a fraction `zeros` of zero cells."""
    rng = np.random.default_rng(seed)
    p = rng.dirichlet(np.ones(math.prod(shape)))
    p[rng.random(p.size) < zeros] = 0.0
    p[rng.integers(p.size)] += 0.1  # never all zero
    return (p / p.sum()).reshape(shape)


def task_rows(task, prompt: int = 0):
    """`({y: p*(y|x)}, sizes)` of one prompt of `task`, with Python floats."""
    outcomes = np.asarray(task.joint.outcomes).astype(np.int64)
    probs = np.asarray(task.joint.probs, float)
    mine = outcomes[:, 0] == prompt
    total = math.fsum(probs[mine].tolist())
    rows = {
        tuple(row[1:].tolist()): float(w) / total
        for row, w in zip(outcomes[mine], probs[mine], strict=True)
    }
    return rows, [int(k) for k in task.joint.sizes[1:]]


def assert_frequencies_match(outputs, sim) -> None:
    """Frequencies of one prompt's sampled `outputs` `(N, L)` match the exact law.

    Every valid output, and the invalid ones together, within 5 standard errors; the
    normal approximation fails when N p is about 1, so 3 counts are allowed on top
    (a cell with p = 0 must never be hit).
    """
    num = len(outputs)
    rows, _ = task_rows(sim.task)
    counts = Counter(map(tuple, np.asarray(outputs).tolist()))
    q = valid_law(sim)

    def within(p_hat, p):
        if p == 0:
            return p_hat == 0
        return abs(p_hat - p) <= 5 * math.sqrt(p * (1 - p) / num) + 3 / num

    for y in rows:
        assert within(counts.get(y, 0) / num, q.get(y, 0.0)), y
    invalid = sum(c for y, c in counts.items() if y not in rows) / num
    assert within(invalid, sim.invalid_mass)


def valid_law(sim) -> dict:
    """The simulation's valid outputs as {y: q(y)} (one-prompt tasks)."""
    outcomes = np.asarray(sim.outputs.outcomes).astype(np.int64)
    probs = np.asarray(sim.outputs.probs, float)
    assert (outcomes[:, 0] == 0).all()
    law = Counter()
    for row, w in zip(outcomes, probs, strict=True):
        law[tuple(row[1:].tolist())] += float(w)
    return dict(law)


_SCORES = {
    "random_topk": "random",
    "confidence_topk": "confidence",
    "margin_topk": "margin",
    "entropy_topk": "entropy",
    "left_to_right": "ltr",
    "threshold": "confidence",
    "threshold_strict": "confidence",
    "factor": "confidence",
    "eb": "entropy",
    "mdlm": "random",
    "dus": None,  # a level per position: ("dus", block, base, base_skip)
}


def rule_for(sampler) -> dict:
    """The `bruteforce.decoding_law` rule of a sampler, read off its parameters."""
    params = dict(sampler.params)
    name = sampler.name
    if name in ("threshold", "threshold_strict"):
        count = ("threshold", params["gamma"], name == "threshold_strict")
    elif name == "factor":
        kind = "factor_quirk" if params.get("reference_quirk") else "factor"
        count = (kind, params["factor"])
    elif name == "eb":
        kind = "eb_sequence" if params.get("sequence_order") else "eb"
        count = (kind, params["gamma"])
    elif name == "mdlm":
        count = ("mdlm", params["num_steps"], params.get("eps", 0.0))
    elif name == "dus":
        count = ("dus",)
    elif params.get("eps") is not None:
        count = ("dream", params["num_steps"], params["eps"])
    elif params.get("k") is not None:
        count = ("topk", params["k"])
    else:
        count = ("topk_steps", params["num_steps"])
    score = _SCORES[name]
    if name == "dus":
        score = ("dus", sampler.block, params["base"], params["base_skip"])
    return {
        "score": score,
        "count": count,
        "temperature": sampler.temperature,
        "block": sampler.block,
    }


def close(a, b, tol=1e-10) -> bool:
    return abs(a - b) <= tol + tol * abs(b)


def check_against_reference(task, sampler):
    """Exact law, invalid mass, E[NFE] and H(q) of `simulate` equal the reference."""
    rule = rule_for(sampler)
    sim = T.simulate(task, sampler)
    rows, sizes = task_rows(task)
    law, nfe = bf.decoding_law(rows, sizes, rule)
    where = f"{sampler.describe()} on {task.name}"
    q = valid_law(sim)
    assert set(q) <= set(rows), where
    for y in rows:
        assert close(q.get(y, 0.0), law.get(y, 0.0)), (where, y, q.get(y), law.get(y))
    invalid = math.fsum(v for y, v in law.items() if y not in rows)
    assert close(sim.invalid_mass, invalid), (where, sim.invalid_mass, invalid)
    assert close(sim.expected_nfe, nfe), (where, sim.expected_nfe, nfe)
    entropy = -math.fsum(v * math.log(v) for v in law.values() if v > 0)
    assert sim.output_entropy is not None
    assert close(sim.output_entropy, entropy), (where, sim.output_entropy, entropy)
    assert close(math.fsum(q.values()) + sim.invalid_mass, 1.0)
    return sim


# --------------------------------------------------------------------------------------
# Exact law = plain enumeration

SWEEP = [
    ("random_topk", {"k": 1}),
    ("random_topk", {"k": 2}),
    ("random_topk", {"k": 3}),
    ("random_topk", {"num_steps": 2}),
    ("confidence_topk", {"k": 1}),
    ("confidence_topk", {"k": 2}),
    ("margin_topk", {"k": 2}),
    ("entropy_topk", {"k": 2}),
    ("left_to_right", {"k": 2}),
    ("left_to_right", {"num_steps": 2}),
    ("threshold", {"gamma": 0.5}),
    ("threshold", {"gamma": 0.3}),
    ("threshold_strict", {"gamma": 0.5}),
    ("factor", {"factor": 1.0}),
    ("factor", {"factor": 1.0, "reference_quirk": True}),
    ("eb", {"gamma": 0.5}),
    ("eb", {"gamma": 0.5, "sequence_order": True}),
    ("mdlm", {"num_steps": 2}),
    ("mdlm", {"num_steps": 4}),
    ("mdlm", {"num_steps": 3, "eps": 0.25}),
    ("confidence_topk", {"num_steps": 2, "eps": 0.0}),
    ("random_topk", {"num_steps": 4, "eps": 0.001}),
    ("dus", {}),
    ("dus", {"base": 3}),
]
"""Every registered sampler, with its schedule variants."""

DENSE = [(0, (3, 3)), (1, (2, 3, 2)), (2, (3, 3, 3)), (3, (2, 2, 2, 2))]
"""(seed, shape) of the random dense joints."""

TIED = [
    ("shuffle", 3),
    ("shuffle", 4),
    ("replace_random", 4),
    ("shuffle_distinct", 4),
    ("copy", 3),
]
"""Small tasks whose marginals tie a lot (the ideal-model analyses)."""


SWEEP += [
    (
        name,
        {k: v for k, v in example(name).items() if k not in ("temperature", "block")},
    )
    for name in LEVELS
    if name not in {swept for swept, _ in SWEEP}
]
"""A rule-based sampler not listed above joins with its registry example."""


def _configs(name, params):
    """(temperature, block) pairs: {0, 0.5, 1} x {None, 2} where `block` exists."""
    blocks = (None,) if name in ("left_to_right", "mdlm") else (None, 2)
    for temperature in (0.0, 0.5, 1.0):
        for block in blocks:
            extra = {} if block is None else {"block": block}
            yield T.SAMPLERS[name](**params, temperature=temperature, **extra)


@pytest.mark.parametrize(("seed", "shape"), DENSE)
@pytest.mark.parametrize(("name", "params"), SWEEP)
def test_exact_law_equals_bruteforce_on_random_joints(seed, shape, name, params):
    task = dense_task(random_dense(seed, shape))
    for sampler in _configs(name, params):
        check_against_reference(task, sampler)


@pytest.mark.parametrize(("task_name", "n"), TIED)
@pytest.mark.parametrize(("name", "params"), SWEEP)
def test_exact_law_equals_bruteforce_on_tied_tasks(task_name, n, name, params):
    task = T.make_task(task_name, n)
    for sampler in _configs(name, params):
        check_against_reference(task, sampler)


def test_block_decoding_is_left_to_right_across_blocks():
    """With block = 1, every top-k sampler decodes strictly left to right."""
    task = dense_task(random_dense(7, (3, 3, 2)))
    reference = T.simulate(task, T.SAMPLERS["left_to_right"](k=1, temperature=1.0))
    for name in ("random_topk", "confidence_topk", "margin_topk", "entropy_topk"):
        sim = T.simulate(task, T.SAMPLERS[name](k=3, temperature=1.0, block=1))
        assert valid_law(sim).keys() == valid_law(reference).keys()
        for y, v in valid_law(reference).items():
            assert close(valid_law(sim)[y], v)
        assert close(sim.expected_nfe, 3.0)


# --------------------------------------------------------------------------------------
# A theorem


@given(tst.joint_pmfs(min_variables=1, max_variables=4, max_size=3, max_cells=54))
def test_one_token_per_step_in_random_order_samples_the_target(p):
    r"""Any-order autoregression with exact conditionals samples $p^*$ exactly.

    Committing one uniformly random masked position per step and drawing its token at
    temperature 1 from $p^*(y_j \mid \text{revealed})$ outputs $y$ along order
    $\sigma$ with probability $\prod_t p^*(y_{\sigma_t} \mid y_{\sigma_{<t}}) =
    p^*(y)$ (chain rule), whatever $\sigma$; so $q = p^*$, no mass leaves the
    support, and every run takes exactly $L$ forward passes (REFERENCE 5.4, the
    equality case of ParallelBench Theorem 1 with $|S_t| = 1$).
    """
    task = dense_task(p)
    sim = T.simulate(task, T.SAMPLERS["random_topk"](k=1, temperature=1.0))
    rows, _ = task_rows(task)
    q = valid_law(sim)
    assert set(q) <= set(rows)
    for y, target in rows.items():
        assert abs(q.get(y, 0.0) - target) <= 1e-12
    assert sim.invalid_mass <= 1e-12
    assert abs(sim.expected_nfe - p.ndim) <= 1e-12


# --------------------------------------------------------------------------------------
# Monte Carlo agrees with the exact law

NUM_KEYS = 20_000

RANDOM_JOINT = ("random_joint", 3, {"vocab": 3, "seed": 2, "zeros": 0.5})

MONTE_CARLO = [
    (RANDOM_JOINT, "mdlm", {"num_steps": 2}, True),
    (RANDOM_JOINT, "confidence_topk", {"k": 2, "temperature": 0.7}, True),
    (RANDOM_JOINT, "threshold", {"gamma": 0.4, "temperature": 1.0}, True),
    (RANDOM_JOINT, "factor", {"factor": 1.0, "temperature": 0.5}, False),
    # greedy ties everywhere, and semi-AR blocks counted from the first output
    (("shuffle", 4, {}), "confidence_topk", {"k": 2, "block": 2}, True),
]
"""(task, sampler name, params, whether the exact invalid mass exceeds 1%)."""


@pytest.mark.parametrize(("task_args", "name", "params", "hallucinates"), MONTE_CARLO)
def test_monte_carlo_decoding_agrees_with_exact_law(
    task_args, name, params, hallucinates
):
    """Frequencies of 20,000 oracle decodes are within 5 standard errors of q."""
    task_name, n, options = task_args
    task = T.make_task(task_name, n, **options)
    sampler = T.SAMPLERS[name](**params)
    sim = T.simulate(task, sampler)
    assert (sim.invalid_mass > 0.01) == hallucinates

    model = T.oracle_model(task)
    mask_id = model.layout.mask_id
    tokens = np.tile(model.layout.initial_tokens(0), (NUM_KEYS, 1))
    keys = jax.random.split(jax.random.key(20251), NUM_KEYS)
    out, nfe, *_ = T.decode_batch(sampler, model, keys, tokens)
    out, nfe = np.asarray(out), np.asarray(nfe, float)
    assert (out[:, 0] == 0).all() and (out[:, 1:] != mask_id).all()

    assert_frequencies_match(out[:, 1:], sim)
    standard_error = nfe.std(ddof=1) / math.sqrt(NUM_KEYS)
    assert abs(nfe.mean() - sim.expected_nfe) <= 5 * standard_error + 1e-9


# --------------------------------------------------------------------------------------
# The oracle


def _all_partial_states(sizes):
    """Every assignment of a token or the mask (None) to each position."""
    states = [[]]
    for k in sizes:
        states = [s + [v] for s in states for v in [None, *range(k)]]
    return states


@pytest.mark.parametrize(
    ("task_name", "options"),
    [
        ("random_joint", {"vocab": 3, "seed": 4, "zeros": 0.5, "num_prompts": 2}),
        ("cities", {}),
        ("replace_random", {}),
        ("insert_random", {}),
    ],
)
def test_oracle_marginals_equal_bruteforce(task_name, options):
    """Every partial state, including impossible prefixes (uniform marginals)."""
    n = 3 if task_name in ("random_joint", "replace_random") else None
    n = 2 if task_name == "insert_random" else n
    task = T.make_task(task_name, n, **options)
    model = T.oracle_model(task)
    logits_fn = jax.jit(lambda tokens: T.oracle_logits(model.params, tokens))
    mask_id = model.layout.mask_id
    impossible = 0
    for prompt in range(len(task.prompts)):
        rows, sizes = task_rows(task, prompt)
        for state in _all_partial_states(sizes):
            tokens = [prompt] + [mask_id if v is None else v for v in state]
            probs = np.exp(np.asarray(logits_fn(jnp.asarray(tokens))))
            assert probs.shape == (1 + len(sizes), mask_id)
            assert probs[0, prompt] == 1.0
            expected = bf.oracle_marginals(rows, sizes, state)
            for j, k in enumerate(sizes):
                np.testing.assert_allclose(probs[1 + j, :k], expected[j], atol=1e-12)
                assert (probs[1 + j, k:] == 0).all()
            consistent = any(
                all(s is None or s == v for s, v in zip(state, y, strict=True))
                for y in rows
            )
            impossible += not consistent
    assert impossible > 0  # impossible prefixes were exercised


# --------------------------------------------------------------------------------------
# Identities between the reported quantities

SUPPORT_GRADED = [
    ("random_joint", 3),
    ("replace_random", 4),
    ("copy", 3),
    ("cities", None),
    ("copula", None),
    ("shuffle_distinct", 3),
    ("insert_random", 3),
    ("remove_random", 4),
]


@pytest.mark.parametrize(("task_name", "n"), SUPPORT_GRADED)
def test_precision_equals_accuracy_when_the_grader_is_the_support(task_name, n):
    task = T.make_task(task_name, n)
    for sampler in (
        T.SAMPLERS["confidence_topk"](k=2, temperature=1.0),
        T.SAMPLERS["random_topk"](num_steps=1),
    ):
        point = T.simulate(task, sampler).point()
        assert abs(point.precision - point.accuracy) <= 1e-12
        assert abs(point.hallucination_mass - (1 - point.precision)) <= 1e-15


@pytest.mark.parametrize("n", [3, 4])
def test_shuffle_accuracy_is_precision_minus_identity(n):
    """The Shuffle grader rejects the identity, which the data law includes."""
    task = T.make_task("shuffle", n)
    identity = tuple(np.asarray(task.prompts[0]).tolist())
    for sampler in (
        T.SAMPLERS["random_topk"](k=n, temperature=1.0),
        T.SAMPLERS["confidence_topk"](k=2),
        T.SAMPLERS["threshold"](gamma=0.3),
    ):
        sim = T.simulate(task, sampler)
        q = valid_law(sim)
        assert identity in q
        point = sim.point()
        assert abs(point.accuracy - (point.precision - q[identity])) <= 1e-12
    # uniform product law: q(identity) = n^-n, precision n!/n^n
    sim = T.simulate(task, T.SAMPLERS["random_topk"](k=n, temperature=1.0))
    assert abs(valid_law(sim)[identity] - n**-n) <= 1e-12
    expected = (math.factorial(n) - 1) / n**n
    assert abs(sim.accuracy() - expected) <= 1e-12


@pytest.mark.parametrize(
    ("task_name", "n", "name", "params"),
    [
        ("cities", None, "random_topk", {"k": 2, "temperature": 1.0}),
        ("copula", None, "confidence_topk", {"k": 2, "temperature": 0.5}),
        ("replace_random", 4, "threshold", {"gamma": 0.6, "temperature": 1.0}),
        ("shuffle", 4, "mdlm", {"num_steps": 2}),
        ("random_joint", 3, "eb", {"gamma": 0.4, "temperature": 1.0}),
    ],
)
def test_point_fields_agree_with_metrics(task_name, n, name, params):
    task = T.make_task(task_name, n)
    sim = T.simulate(task, T.SAMPLERS[name](**params))
    point = sim.point()
    p_star, q = (jnp.asarray(a) for a in sim.aligned())

    # trilemma's metrics on the aligned pair (nats)
    assert close(point.tv, float(T.total_variation_distance(q, p_star)), 1e-12)
    assert close(point.precision, float(T.precision(q, p_star)), 1e-12)
    assert close(point.recall, float(T.recall(q, p_star)), 1e-12)
    kl = float(T.kl_divergence(p_star, q))
    assert point.kl_reference_to_sampler == pytest.approx(kl, rel=1e-12)
    assert point.entropy == sim.output_entropy

    # and plain Python on the dict laws
    rows, _ = task_rows(task)
    law = dict(valid_law(sim), invalid=sim.invalid_mass)
    assert close(point.tv, bf.tv(rows, law), 1e-12)
    assert close(point.precision, 1 - sim.invalid_mass, 1e-12)
    recall = math.fsum(v for y, v in rows.items() if law.get(y, 0) > 0)
    assert close(point.recall, recall, 1e-12)
    assert close(point.reference_entropy, bf.entropy(rows), 1e-12)
    valid = {y: v for y, v in law.items() if y != "invalid"}
    total = math.fsum(valid.values())
    h_valid = bf.entropy({y: v / total for y, v in valid.items()})
    assert close(point.valid_entropy, h_valid, 1e-12)
    if any(law.get(y, 0) == 0 for y in rows):
        assert point.kl_reference_to_sampler == math.inf
    else:
        assert close(point.kl_reference_to_sampler, bf.kl(rows, law))

    assert point.expected_nfe == sim.expected_nfe
    length = len(task.outputs)
    assert close(point.tokens_per_step, length / sim.expected_nfe, 1e-15)
    assert close(sim.tokens_per_step, length / sim.expected_nfe, 1e-15)


def test_accuracy_and_precision_of_a_known_toy():
    """Cities in one step at temperature 1: q(valid) = 1/2, KL(p*||q) = 1 bit."""
    sampler = T.SAMPLERS["random_topk"](num_steps=1, temperature=1.0)
    sim = T.simulate(T.make_task("cities"), sampler)
    point = sim.point()
    assert close(point.accuracy, 0.5) and close(point.precision, 0.5)
    assert close(point.tv, 0.5) and close(point.recall, 1.0)
    assert close(T.to_bits(point.kl_reference_to_sampler), 1.0)
    assert close(T.to_bits(point.reference_entropy), 2.0)
    # q is the product of the marginals (1/2, 1/4, 1/4) and (1/4, 1/4, 1/2)
    assert close(T.to_bits(point.entropy), 3.0)
    assert close(point.expected_nfe, 1.0) and close(point.tokens_per_step, 2.0)


def test_trilemma_point_of_a_hand_computed_pair():
    """Two prompts (mass 1/2 each): p*(a|0) = p*(b|0) = 1/2, p*(c|1) = 1.

    q puts 0.2, 0.1 on a, b and 0.3 on c; 0.4 is invalid (one lumped cell). So
    q_V(.|0) = (2/3, 1/3), q_V(.|1) = (1), q_V(0) = 1/2: H_valid = h(1/3) / 2.
    """
    q = np.array([0.2, 0.1, 0.3, 0.4])
    p_star = np.array([0.25, 0.25, 0.5, 0.0])
    point = T.trilemma_point(
        q,
        p_star,
        prompt=np.array([0, 0, 1, 0]),
        accuracy=0.55,
        expected_nfe=4.0,
        output_length=3,
        entropy=1.25,
    )
    h_third = -(1 / 3) * math.log(1 / 3) - (2 / 3) * math.log(2 / 3)
    kl = 0.25 * math.log(0.25 / 0.2) + 0.25 * math.log(2.5) + 0.5 * math.log(5 / 3)
    assert point.accuracy == 0.55 and point.entropy == 1.25
    assert close(point.precision, 0.6, 1e-15) and close(point.recall, 1.0, 1e-15)
    assert close(point.tv, 0.4, 1e-15) and close(point.hallucination_mass, 0.4)
    assert close(point.valid_entropy, h_third / 2, 1e-14)
    assert close(point.reference_entropy, math.log(2) / 2, 1e-14)
    assert close(point.kl_reference_to_sampler, kl, 1e-14)
    assert point.expected_nfe == 4.0 and point.tokens_per_step == 0.75
    assert close(point.entropy_ratio, h_third / math.log(2), 1e-14)
    # no valid mass: no valid entropy, and p* is missed everywhere
    empty = T.trilemma_point(
        np.array([0.0, 0.0, 0.0, 1.0]),
        p_star,
        prompt=np.array([0, 0, 1, 0]),
        accuracy=0.0,
        expected_nfe=1.0,
        output_length=3,
    )
    assert empty.valid_entropy == 0.0 and empty.entropy is None
    assert empty.precision == 0.0 and empty.recall == 0.0
    assert empty.kl_reference_to_sampler == math.inf


def test_trilemma_point_checks_shapes():
    q, p_star = np.array([0.5, 0.5]), np.array([0.5, 0.25, 0.25])
    args = {"accuracy": 1.0, "expected_nfe": 1.0, "output_length": 1}
    with pytest.raises(ValueError, match="`q` and `p_star`"):
        T.trilemma_point(q, p_star, prompt=np.zeros(3, int), **args)
    with pytest.raises(ValueError, match="`prompt` and `p_star`"):
        T.trilemma_point(p_star, p_star, prompt=np.zeros(2, int), **args)


def test_point_of_a_task_with_several_prompts():
    """Entropies are conditional on the prompt: per-prompt dict laws, weighted."""
    task = T.make_task("random_joint", 3, vocab=3, seed=2, zeros=0.4, num_prompts=3)
    sim = T.simulate(task, T.SAMPLERS["random_topk"](k=2, temperature=1.0))
    point = sim.point()
    outcomes = np.asarray(sim.outputs.outcomes).astype(np.int64)
    probs = np.asarray(sim.outputs.probs, float)
    valid_mass = math.fsum(probs.tolist())
    h_valid = h_ref = 0.0
    for prompt in range(len(task.prompts)):
        rows, _ = task_rows(task, prompt)
        h_ref += bf.entropy(rows) / len(task.prompts)  # uniform prompts
        mine = outcomes[:, 0] == prompt
        mass = math.fsum(probs[mine].tolist())
        pairs = zip(outcomes[mine].tolist(), probs[mine].tolist(), strict=True)
        law = {tuple(r[1:]): w / mass for r, w in pairs}
        h_valid += mass / valid_mass * bf.entropy(law)
    assert close(point.reference_entropy, h_ref, 1e-12)
    assert close(point.valid_entropy, h_valid, 1e-12)
    assert close(point.precision, valid_mass, 1e-12)


# --------------------------------------------------------------------------------------
# Errors


def test_task_must_be_a_task():
    sampler = T.SAMPLERS["random_topk"](k=1)
    with pytest.raises(TypeError, match="`task`"):
        T.simulate("shuffle", sampler)
    with pytest.raises(TypeError, match="`task`"):
        T.simulate(T.make_task("copy", 2).joint, sampler)


def test_sampler_must_be_a_sampler():
    task = T.make_task("copy", 2)
    with pytest.raises(TypeError, match="`sampler`"):
        T.simulate(task, "random_topk")
    with pytest.raises(TypeError, match="`sampler`"):
        T.simulate(task, T.SAMPLERS["random_topk"])  # the factory, not a sampler


def test_max_branches_exceeded_names_the_sizes():
    task = T.make_task("shuffle", 4)
    sampler = T.SAMPLERS["random_topk"](k=4, temperature=1.0)
    with pytest.raises(ValueError, match="over the limit of 10 ") as info:
        T.simulate(task, sampler, max_branches=10)
    message = str(info.value)
    assert "branches" in message and "shuffle" in message and "n=4" in message
    T.simulate(task, sampler)  # the default budget is enough


def test_level_of_only_invalid_states_is_simulated():
    """Regression: a level holding only off-support patterns (bincount of nothing).

    Factor f = 3 on shuffle_distinct n = 5 commits so much at once that a whole level
    is invalid; the result must still be a law: valid + invalid mass = 1.
    """
    sim = T.simulate(
        T.make_task("shuffle_distinct", 5), T.SAMPLERS["factor"](factor=3.0)
    )
    valid = float(np.sum(np.asarray(sim.outputs.probs)))
    assert abs(valid + sim.invalid_mass - 1.0) < 1e-12
    assert 0 < sim.invalid_mass < 1
