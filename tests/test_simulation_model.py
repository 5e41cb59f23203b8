"""Exact simulation with any model: `trilemma.simulate(task, sampler, model=...)`.

* with the oracle wrapped as a model, the result equals the oracle path to 1e-12
  (valid outputs' probabilities, invalid mass, expected NFE, the trilemma point);
* with an imperfect model (the oracle mixed with mass outside the support and
  outside the alphabets, a mask column inside the vocabulary, plus fixed noise),
  the exact law equals a plain recursive enumerator (`bruteforce.decoding_law` fed
  the model's marginals, one call per state) and Monte Carlo frequencies of
  `trilemma.decode_batch` on the same model within 5 standard errors;
* a model that does not fit the task, and enumerations over budget, are refused
  before any forward pass.
"""

import math

import bruteforce as bf
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from test_simulation import assert_frequencies_match, rule_for, task_rows, valid_law

import trilemma as T
from trilemma.oracle import oracle_logits, oracle_params

# --------------------------------------------------------------------------------------
# Models


EXTRA = 2
"""Columns an imperfect model adds past the task's vocabulary: the mask, one token."""


def noisy_logits(params, tokens):
    """The oracle mixed with 15% uniform mass over V + 2 columns, plus fixed noise.

    Column V is the mask (the decoder removes it) and column V + 1 a token outside
    every alphabet; the noise depends on the revealed tokens too, so states that
    agree on their mask pattern have different marginals.
    """
    oracle = params["oracle"]
    vocab = oracle["vocab"].shape[0]
    p = jax.nn.softmax(oracle_logits(oracle, tokens), axis=-1)  # V + 1: impossible
    p = jnp.concatenate([p, jnp.zeros((p.shape[0], EXTRA), p.dtype)], axis=-1)
    mixed = 0.85 * p + 0.15 / (vocab + EXTRA)
    weights = 1 + jnp.arange(tokens.shape[0], dtype=tokens.dtype)
    wobble = jnp.cos(jnp.sum(tokens * weights).astype(p.dtype) * 0.7)
    return jnp.log(mixed) + params["noise"] * (1.0 + 0.5 * wobble)


def noisy_model(task, seed: int = 0, scale: float = 0.6) -> T.Model:
    """An imperfect model of `task`; its vocabulary adds the mask and one token."""
    layout = T.task_layout(task)
    vocab = layout.vocab_size + EXTRA
    rng = np.random.default_rng(seed)
    noise = scale * rng.standard_normal((layout.sequence_length, vocab))
    wide = T.TokenLayout(
        prefixes=layout.prefixes,
        sizes=layout.sizes,
        vocab_size=vocab,
        mask_id=layout.mask_id,  # = the task's V, inside this vocabulary
    )
    params = {"oracle": oracle_params(task), "noise": jnp.asarray(noise)}
    return T.Model(noisy_logits, params, wide, name="noisy")


def exploding_logits(params, tokens):
    """A logits_fn that must never be called (refusals come before forward passes)."""
    raise AssertionError("the model was called")


def plain_marginals(model, prompt: int = 0):
    """`state -> marginals`: one jitted call per state, the mask column removed."""
    layout = model.layout
    forward = jax.jit(model.logits_fn)

    def marginals(state):
        outputs = [layout.mask_id if v is None else v for v in state]
        tokens = np.concatenate([layout.prefixes[prompt], outputs]).astype(np.int32)
        logits = np.array(forward(model.params, jnp.asarray(tokens)), float)
        logits = logits[layout.prefix_length :]
        if layout.mask_id < logits.shape[-1]:
            logits[:, layout.mask_id] = -np.inf
        p = np.exp(logits - logits.max(axis=-1, keepdims=True))
        return (p / p.sum(axis=-1, keepdims=True)).tolist()

    return marginals


# --------------------------------------------------------------------------------------
# The oracle as a model = the oracle path


ORACLE_TASKS = [
    ("shuffle", 3, {}),
    ("shuffle", 4, {}),
    ("replace_random", 3, {}),
    ("replace_random", 4, {}),
    ("random_joint", 3, {"vocab": 3, "seed": 2, "zeros": 0.5, "num_prompts": 2}),
]

ORACLE_SAMPLERS = [
    ("random_topk", {"k": 2}),
    ("confidence_topk", {"k": 2}),
    ("margin_topk", {"k": 1}),
    ("entropy_topk", {"k": 2, "block": 2}),
    ("left_to_right", {"k": 2}),
    ("threshold", {"gamma": 0.5}),
    ("threshold_strict", {"gamma": 0.5}),
    ("factor", {"factor": 1.0}),
    ("eb", {"gamma": 0.5}),
    ("mdlm", {"num_steps": 3}),
]


def assert_same_simulation(a, b, tol=1e-12):
    """Two simulations of one task agree on q, invalid mass, NFE and the point."""
    p_a, q_a = a.aligned()
    p_b, q_b = b.aligned()
    np.testing.assert_array_equal(p_a, p_b)
    np.testing.assert_allclose(q_b, q_a, rtol=0, atol=tol)
    assert abs(a.invalid_mass - b.invalid_mass) <= tol
    assert abs(a.expected_nfe - b.expected_nfe) <= tol
    point_a, point_b = a.point(), b.point()
    for field in point_a._fields:
        x, y = getattr(point_a, field), getattr(point_b, field)
        if x is None or y is None:
            continue
        if math.isinf(x) or math.isinf(y):
            assert x == y, field
        else:
            assert abs(x - y) <= tol * max(1.0, abs(x)), (field, x, y)


@pytest.mark.parametrize(("task_name", "n", "options"), ORACLE_TASKS)
def test_oracle_as_a_model_equals_the_oracle_path(task_name, n, options):
    task = T.make_task(task_name, n, **options)
    model = T.oracle_model(task)
    for name, params in ORACLE_SAMPLERS:
        for temperature in (0.0, 1.0):
            sampler = T.SAMPLERS[name](**params, temperature=temperature)
            exact = T.simulate(task, sampler)
            with_model = T.simulate(task, sampler, model=model)
            assert_same_simulation(exact, with_model)
            if exact.output_entropy is not None:
                assert abs(exact.output_entropy - with_model.output_entropy) <= 1e-12


# --------------------------------------------------------------------------------------
# An imperfect model: plain enumeration and Monte Carlo


PLAIN = [
    ("confidence_topk", {"k": 2}, 0.0),
    ("random_topk", {"k": 2}, 1.0),
    ("threshold", {"gamma": 0.4}, 0.0),
    ("factor", {"factor": 1.0}, 0.0),
    ("eb", {"gamma": 0.5}, 1.0),
    ("mdlm", {"num_steps": 2}, 1.0),
]


@pytest.mark.parametrize(("name", "params", "temperature"), PLAIN)
def test_imperfect_model_equals_plain_enumeration(name, params, temperature):
    """The whole output law (valid, invalid, outside the alphabet) and E[NFE]."""
    task = T.make_task("shuffle", 3)
    model = noisy_model(task)
    sampler = T.SAMPLERS[name](**params, temperature=temperature)
    sim = T.simulate(task, sampler, model=model)
    rows, sizes = task_rows(task)
    law, nfe = bf.decoding_law(
        rows, sizes, rule_for(sampler), marginals=plain_marginals(model)
    )
    q = valid_law(sim)
    assert set(q) <= set(rows)
    for y in rows:
        assert abs(q.get(y, 0.0) - law.get(y, 0.0)) <= 1e-12, y
    invalid = math.fsum(v for y, v in law.items() if y not in rows)
    assert abs(sim.invalid_mass - invalid) <= 1e-12
    assert abs(sim.expected_nfe - nfe) <= 1e-12
    entropy = -math.fsum(v * math.log(v) for v in law.values() if v > 0)
    assert abs(sim.output_entropy - entropy) <= 1e-12
    outside = math.fsum(v for y, v in law.items() if max(y) >= sizes[0])
    if temperature > 0:  # the model's extra token is drawn and finishes invalid
        assert outside > 0.01
    assert abs(math.fsum(q.values()) + sim.invalid_mass - 1.0) <= 1e-12


NUM_KEYS = 20_000

MONTE_CARLO = [
    ("shuffle", 3, "confidence_topk", {"k": 2, "temperature": 1.0}),
    pytest.param(
        "shuffle",
        4,
        "threshold",
        {"gamma": 0.3, "temperature": 0.5},
        marks=pytest.mark.slow,
    ),
    ("replace_random", 3, "eb", {"gamma": 0.5, "temperature": 0.7}),
    ("shuffle", 3, "mdlm", {"num_steps": 2}),
]


@pytest.mark.parametrize(("task_name", "n", "name", "params"), MONTE_CARLO)
def test_imperfect_model_agrees_with_monte_carlo(task_name, n, name, params):
    """Frequencies of 20,000 decodes of the same model are within 5 SE of q."""
    task = T.make_task(task_name, n)
    model = noisy_model(task, seed=1)
    sampler = T.SAMPLERS[name](**params)
    sim = T.simulate(task, sampler, model=model)
    assert sim.invalid_mass > 0.01

    tokens = np.tile(model.layout.initial_tokens(0), (NUM_KEYS, 1))
    keys = jax.random.split(jax.random.key(20260), NUM_KEYS)
    out, nfe, *_ = T.decode_batch(sampler, model, keys, tokens)
    out, nfe = np.asarray(out), np.asarray(nfe, float)
    assert_frequencies_match(out[:, 1:], sim)
    standard_error = nfe.std(ddof=1) / math.sqrt(NUM_KEYS)
    assert abs(nfe.mean() - sim.expected_nfe) <= 5 * standard_error + 1e-9


def test_imperfect_model_with_two_prompts_is_a_law():
    """Several prompts: q given each prompt sums to one, valid rows are support rows."""
    task = T.make_task("random_joint", 3, vocab=3, seed=2, zeros=0.5, num_prompts=2)
    model = noisy_model(task, seed=3)
    sim = T.simulate(
        task, model=model, sampler=T.SAMPLERS["factor"](factor=1.0, temperature=1.0)
    )
    outcomes = np.asarray(sim.outputs.outcomes).astype(np.int64)
    support = {tuple(r) for r in np.asarray(task.joint.outcomes).tolist()}
    assert {tuple(r) for r in outcomes.tolist()} <= support
    total = float(np.sum(np.asarray(sim.outputs.probs))) + sim.invalid_mass
    assert abs(total - 1.0) <= 1e-12
    assert set(outcomes[:, 0].tolist()) == {0, 1}


# --------------------------------------------------------------------------------------
# Bad input and budgets


def test_model_must_be_a_model():
    task = T.make_task("shuffle", 3)
    sampler = T.SAMPLERS["confidence_topk"](k=1)
    with pytest.raises(TypeError, match="`model` must be a trilemma Model"):
        T.simulate(task, sampler, model=T.oracle_params(task))


def test_model_layout_must_fit_the_task():
    sampler = T.SAMPLERS["confidence_topk"](k=1)
    shuffle3, shuffle4 = T.make_task("shuffle", 3), T.make_task("shuffle", 4)
    with pytest.raises(ValueError, match="4 output positions.*got 3"):
        T.simulate(shuffle4, sampler, model=T.oracle_model(shuffle3))
    narrow = T.TokenLayout(
        prefixes=np.zeros((1, 1), np.int32), sizes=(2, 2, 2), vocab_size=2, mask_id=2
    )
    model = T.Model(exploding_logits, {}, narrow)
    with pytest.raises(ValueError, match=r"vocab_size.*alphabet \(3\); got 2"):
        T.simulate(shuffle3, sampler, model=model)
    two = T.make_task("random_joint", 3, vocab=3, seed=2, zeros=0.5, num_prompts=2)
    with pytest.raises(ValueError, match=r"one row per prompt.*\(2\); got 1"):
        T.simulate(two, sampler, model=T.oracle_model(shuffle3))


def test_temperature_enumeration_over_budget_is_refused_before_any_forward_pass():
    task = T.make_task("shuffle", 5)
    model = T.Model(exploding_logits, {}, T.task_layout(task))
    sampler = T.SAMPLERS["random_topk"](k=1, temperature=1.0)
    with pytest.raises(ValueError, match="7,776 decoding states") as info:
        T.simulate(task, sampler, model=model, max_states=1000)
    assert "over the limit of 1,000" in str(info.value)
    assert "shuffle (n=5)" in str(info.value)
    # MDLM's states are keyed by their step too: 4^3 patterns x 1,001 step indices
    mdlm = T.SAMPLERS["mdlm"](num_steps=1000)
    model = T.Model(exploding_logits, {}, T.task_layout(T.make_task("shuffle", 3)))
    with pytest.raises(ValueError, match="64,064 decoding states"):
        T.simulate(T.make_task("shuffle", 3), mdlm, model=model, max_states=50_000)


def test_level_over_the_branch_budget_is_refused():
    task = T.make_task("shuffle", 3)
    sampler = T.SAMPLERS["random_topk"](k=3, temperature=1.0)
    with pytest.raises(ValueError, match="branches, over the limit of 10 "):
        T.simulate(task, sampler, model=noisy_model(task), max_branches=10)


def test_level_over_the_memory_budget_is_refused(monkeypatch):
    task = T.make_task("shuffle", 3)
    model = T.Model(exploding_logits, {}, T.task_layout(task))
    monkeypatch.setenv("TRILEMMA_MAX_BYTES", "100")
    with pytest.raises(ValueError, match="over the memory budget of 100 B"):
        T.simulate(task, T.SAMPLERS["confidence_topk"](k=1), model=model)


def test_level_probabilities_in_chunks_equal_one_call_per_state():
    """Padded vmapped chunks equal a loop of single calls (mask column removed)."""
    from trilemma.simulation._model import level_probabilities

    task = T.make_task("random_joint", 3, vocab=3, seed=2, zeros=0.5, num_prompts=2)
    model = noisy_model(task, seed=4)
    rng = np.random.default_rng(0)
    tokens = rng.integers(0, model.layout.vocab_size, (11, 3))
    prompt = rng.integers(0, 2, 11)
    probs = level_probabilities(model, prompt, tokens, chunk=4)
    assert probs.shape == (11, 3, model.layout.vocab_size)
    assert (probs[..., model.layout.mask_id] == 0).all()
    for i in range(11):
        state = [None if v == model.layout.mask_id else int(v) for v in tokens[i]]
        expected = plain_marginals(model, int(prompt[i]))(state)
        np.testing.assert_allclose(probs[i], expected, rtol=0, atol=1e-12)
