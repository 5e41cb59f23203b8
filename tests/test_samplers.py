"""Samplers: the protocol, the building blocks and the validation of parameters.

The protocol runs over every registered sampler; the building blocks are checked
against plain Python on NumPy and jax.numpy inputs alike.
"""

import inspect
import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from bruteforce import llada_counts
from sampler_examples import LEVELS, ONE_MODEL, example

import trilemma as T
from trilemma.samplers import (
    DecodeInfo,
    DecodeState,
    Sampler,
    init,
    make_step,
)
from trilemma.samplers import rules as B
from trilemma.samplers._protocol import check_sampler

# --------------------------------------------------------------------------------------
# Protocol, over every registered sampler

VALID = {name: example(name) for name in ONE_MODEL}
"""Valid parameters for each one-model sampler (the registry's first example)."""


@pytest.fixture(scope="module")
def oracle():
    """`(task, model, mask_id, tokens)` of a small task with ties and zeros."""
    task = T.make_task("shuffle", 4)
    model = T.oracle_model(task)
    return task, model, model.layout.mask_id, model.layout.initial_tokens(0)


def _step_limit(sampler, length):
    """Steps after which every sampler must be done: L, or a time grid's N per block.

    Written from the samplers' definitions, independently of `Sampler.max_steps`:
    MDLM's grid and Dream's schedule (`eps`) run `num_steps` per block.
    """
    params = dict(sampler.params)
    if sampler.name != "mdlm" and params.get("eps") is None:
        return length
    block = params.get("block") or length
    return params["num_steps"] * math.ceil(length / block)


def _counting(model, traces):
    """`model` with a logits_fn that records each trace (a fresh function)."""

    def logits_fn(params, x):
        traces.append(1)  # runs only while tracing
        return model.logits_fn(params, x)

    return model._replace(logits_fn=logits_fn)


@pytest.mark.parametrize("name", list(VALID))
def test_factory_returns_a_sampler_with_init_and_step(name, oracle):
    """Every factory builds a value that implements the sampler protocol."""
    _, model, mask_id, _ = oracle
    sampler = T.SAMPLERS[name](**VALID[name])
    check_sampler(sampler)
    assert len(sampler.phases) == sampler.num_models == 1
    assert isinstance(sampler.remasks, bool)
    assert sampler.law in ("levels", "chain")
    assert isinstance(sampler, Sampler) == (sampler.law == "levels")
    assert sampler.name == name
    assert sampler.describe().startswith(f"{name}(")
    assert T.make_sampler(name, **VALID[name]).params == sampler.params
    step = make_step(sampler, (model.logits_fn,), (model.params,), mask_id=mask_id)
    assert list(inspect.signature(step).parameters) == ["key", "state"]
    hash(sampler)  # a static argument of the jitted decoder


@pytest.mark.parametrize("name", LEVELS)
def test_step_loop_never_changes_committed_tokens(name, oracle):
    """Run `step` by hand under jit: commits are final, NFE <= steps, no mask left."""
    task, model, mask_id, tokens = oracle
    sampler = T.SAMPLERS[name](**VALID[name])
    step = jax.jit(
        make_step(sampler, (model.logits_fn,), (model.params,), mask_id=mask_id)
    )
    length = len(task.outputs)
    limit = _step_limit(sampler, length)
    assert sampler.max_steps(length) == limit
    for seed in range(4):
        key = jax.random.key(seed)
        state = init(tokens, mask_id=mask_id)
        assert isinstance(state, DecodeState)
        assert int(state.step) == 0 and int(state.nfe) == 0
        steps = 0
        while bool(jnp.any(state.tokens == mask_id)):
            assert steps < limit, f"{name} still masked after {limit} steps"
            key, sub = jax.random.split(key)
            new, info = step(sub, state)
            assert isinstance(info, DecodeInfo)
            old_tokens = np.asarray(state.tokens)
            new_tokens = np.asarray(new.tokens)
            was_set = old_tokens != mask_id
            assert (new_tokens[was_set] == old_tokens[was_set]).all()
            newly = int(np.sum(~was_set & (new_tokens != mask_id)))
            assert int(info.committed) == newly
            assert (new_tokens[new_tokens != mask_id] < mask_id).all()
            assert int(new.step) == int(state.step) + 1
            assert int(new.nfe) == int(state.nfe) + (newly > 0)
            if not sampler.uses_step:
                assert newly >= 1  # only a time grid (MDLM, Dream) may commit none
            state, steps = new, steps + 1
        assert int(state.nfe) <= int(state.step) == steps
        assert int(state.tokens[0]) == 0  # the prompt is untouched


@pytest.mark.parametrize("name", LEVELS)
def test_jitted_decode_traces_once_and_leaves_no_mask(name, oracle):
    task, base, mask_id, tokens = oracle
    traces = []
    model = _counting(base, traces)
    sampler = T.SAMPLERS[name](**VALID[name])
    limit = _step_limit(sampler, len(task.outputs))
    for seed in range(3):
        out, nfe, steps, _ = T.decode(
            sampler, model, jax.random.key(seed), tokens, record_steps=True
        )
        out = np.asarray(out)
        assert (out != mask_id).all()
        assert out[0] == 0
        assert (out[1:] < mask_id).all()
        assert 1 <= int(nfe) <= limit
        # per-step counts: they add up to L, and NFE counts the steps committing any
        steps = np.asarray(steps)
        assert steps.shape == (sampler.max_steps(len(tokens)),)
        assert steps.sum() == len(task.outputs)
        assert int(np.sum(steps > 0)) == int(nfe)
    first = len(traces)
    assert first >= 1
    for seed in range(3, 6):
        T.decode(sampler, model, jax.random.key(seed), tokens, record_steps=True)
    assert len(traces) == first  # same shapes: no retrace


def test_equal_samplers_compare_and_hash_equal():
    """Samplers are values: rebuilt with the same parameters, they are equal.

    `decode` takes the sampler as a static argument, so equal samplers must compare
    and hash equal for its compilation cache to be reused.
    """
    unequal = [
        name
        for name, params in VALID.items()
        if T.SAMPLERS[name](**params) != T.SAMPLERS[name](**params)
        or hash(T.SAMPLERS[name](**params)) != hash(T.SAMPLERS[name](**params))
    ]
    assert not unequal, f"rebuilt samplers differ: {unequal}"


def test_rebuilt_sampler_does_not_retrace_the_decoder(oracle):
    _, base, mask_id, tokens = oracle
    traces = []
    model = _counting(base, traces)
    first = T.SAMPLERS["confidence_topk"](k=2)
    T.decode(first, model, jax.random.key(0), tokens)
    count = len(traces)
    second = T.SAMPLERS["confidence_topk"](k=2)
    T.decode(second, model, jax.random.key(1), tokens)
    assert len(traces) == count, "an equal sampler retraced (and recompiled) decode"


@pytest.mark.parametrize("name", ["mdlm"])
def test_vmap_over_keys_equals_a_loop(name, oracle):
    _, model, mask_id, tokens = oracle
    sampler = T.SAMPLERS[name](**VALID[name])
    keys = jax.random.split(jax.random.key(7), 6)
    batched, nfe, *_ = jax.vmap(lambda k: T.decode(sampler, model, k, tokens))(keys)
    rows = T.decode_batch(sampler, model, keys, np.tile(tokens, (6, 1)))
    for i, key in enumerate(keys):
        one, one_nfe, *_ = T.decode(sampler, model, key, tokens)
        np.testing.assert_array_equal(np.asarray(batched[i]), np.asarray(one))
        np.testing.assert_array_equal(np.asarray(rows.tokens[i]), np.asarray(one))
        assert int(nfe[i]) == int(one_nfe) == int(rows.nfe[i])


# --------------------------------------------------------------------------------------
# Building blocks against plain Python, on NumPy and jax.numpy inputs

XP = [np, jnp]


def as_np(x):
    return np.asarray(x, dtype=float)


def plain_draw(row, temperature):
    if temperature == 0:
        top = max(row)
        ties = [v for v, p in enumerate(row) if p > 0 and p == top]
        return [1 / len(ties) if v in ties else 0.0 for v in range(len(row))]
    w = [p ** (1 / temperature) if p > 0 else 0.0 for p in row]
    return [x / math.fsum(w) for x in w]


PROBS = [
    [0.5, 0.25, 0.25, 0.0],
    [0.25, 0.25, 0.25, 0.25],
    [0.0, 0.375, 0.375, 0.25],
    [0.0, 0.0, 1.0, 0.0],
    [0.1, 0.2, 0.3, 0.4],
    [0.7, 0.1, 0.1, 0.1],
]


@pytest.mark.parametrize("xp", XP)
@pytest.mark.parametrize("temperature", [0.0, 0.25, 0.5, 1.0, 2.0])
def test_draw_distribution(xp, temperature):
    got = as_np(B.draw_distribution(xp.asarray(PROBS), temperature))
    for row, law in zip(PROBS, got, strict=True):
        np.testing.assert_allclose(law, plain_draw(row, temperature), atol=1e-14)
    assert type(B.draw_distribution(xp.asarray(PROBS), temperature)) is type(
        xp.asarray(PROBS)
    )


@pytest.mark.parametrize("xp", XP)
@pytest.mark.parametrize("temperature", [1e-3, 1e-300, 1e-320, 5e-324])
def test_tiny_temperature_is_the_greedy_limit(xp, temperature):
    """As tau -> 0, p^(1/tau) tends to the uniform law on the most likely tokens.

    The rows' largest probabilities are exact ties or differ by 25% or more, so at
    tau <= 1e-3 the tempered law is the greedy one to 1e-14 (it was NaN, with
    overflow warnings, once 1/tau overflowed).
    """
    got = as_np(B.draw_distribution(xp.asarray(PROBS), temperature))
    for row, law in zip(PROBS, got, strict=True):
        np.testing.assert_allclose(law, plain_draw(row, 0.0), atol=1e-14)


@pytest.mark.parametrize("xp", XP)
def test_huge_temperature_is_uniform_on_the_support(xp):
    got = as_np(B.draw_distribution(xp.asarray(PROBS), 1e300))
    for row, law in zip(PROBS, got, strict=True):
        support = [p > 0 for p in row]
        np.testing.assert_allclose(law, np.array(support) / sum(support), atol=1e-14)


@pytest.mark.parametrize("xp", XP)
def test_quantize_keeps_values_past_two_to_the_22(xp):
    """Large values are multiples of 2^-30 already: kept, without an overflow."""
    big = [1e308, -1e308, 2.0**22, 2.0**22 + 0.5, math.inf, -math.inf]
    got = as_np(B.quantize(xp.asarray([*big, 1 / 3, math.nan])))
    np.testing.assert_array_equal(got[:6], big)
    assert got[6] == round((1 / 3) * 2**30) / 2**30
    assert math.isnan(got[7])


def test_greedy_ties_are_exact_ties_in_exact_arithmetic():
    """1/3 computed two ways ties (scores are compared after quantisation)."""
    row = np.array([1 / 3, 1 - 2 / 3, 1 / 3 - 1e-15, 0.0])
    law = B.draw_distribution(row, 0.0)
    np.testing.assert_allclose(law[:3], [1 / 3] * 3, atol=1e-15)
    assert law[3] == 0


def plain_scores(row, position):
    top = sorted(row, reverse=True)
    return {
        "confidence": list(row),
        "margin": [top[0] - top[1]] * len(row),
        "entropy": [math.fsum(p * math.log(p) for p in row if p > 0)] * len(row),
        "uniform": [0.0] * len(row),
        "ltr": [-float(position)] * len(row),
    }


SCORES = {
    "confidence": B.confidence_score,
    "margin": B.margin_score,
    "entropy": B.neg_entropy_score,
    "uniform": B.uniform_score,
    "ltr": B.left_to_right_score,
}


@pytest.mark.parametrize("xp", XP)
@pytest.mark.parametrize("kind", list(SCORES))
def test_scores(xp, kind):
    probs = xp.asarray(PROBS)
    positions = xp.arange(len(PROBS))
    got = as_np(SCORES[kind](probs, positions))
    assert got.shape == (len(PROBS), 4)
    for j, row in enumerate(PROBS):
        np.testing.assert_allclose(got[j], plain_scores(row, j)[kind], atol=1e-14)


def run_schedule(xp, size, **params):
    """The counts `topk_count` gives along a block of `size` masks, step by step."""
    counts, left, step = [], size, 0
    length = size + 2
    while left > 0:
        scores = xp.asarray([0.0] * left + [-np.inf] * (length - left))
        pmf = as_np(
            B.topk_count(scores, xp.asarray(left), xp.asarray(size), step, **params)
        )
        assert pmf.shape == (length + 1,) and pmf.sum() == 1
        (k,) = np.nonzero(pmf)[0]
        assert k >= 1
        counts.append(int(k))
        left, step = left - int(k), step + 1
    return counts


@pytest.mark.parametrize("xp", XP)
def test_topk_count_is_llada_schedule(xp):
    for size in range(1, 8):
        for k in range(1, size + 2):
            steps = -(-size // k)
            assert run_schedule(xp, size, k=k) == llada_counts(size, steps)
        for steps in range(1, size + 3):
            expected = llada_counts(size, min(steps, size))
            assert run_schedule(xp, size, num_steps=steps) == expected


def test_topk_schedule_is_llada_schedule():
    """Public schedule: ceil(M/k) steps (or num_steps, at most M), remainder first."""
    for size in range(1, 12):
        for k in range(1, size + 2):
            expected = tuple(llada_counts(size, -(-size // k)))
            assert T.samplers.topk_schedule(size, k=k) == expected
        for steps in range(1, size + 3):
            expected = tuple(llada_counts(size, min(steps, size)))
            assert T.samplers.topk_schedule(size, num_steps=steps) == expected


@pytest.mark.parametrize("xp", XP)
@pytest.mark.parametrize("big", [2**31, 2**63 - 1, 10**30])
def test_topk_count_with_settings_past_int64(xp, big):
    """A k past the block is one step; num_steps past it, one token per step."""
    for size in range(1, 6):
        assert run_schedule(xp, size, k=big) == [size]
        assert run_schedule(xp, size, num_steps=big) == [1] * size
    assert B.topk_schedule(7, k=big) == (7,)
    assert B.topk_schedule(3, num_steps=big) == (1, 1, 1)


@pytest.mark.parametrize("xp", XP)
def test_topk_count_reference_examples(xp):
    """REFERENCE 2.7: n = 5 in 3 steps (2,2,1), in 2 steps (3,2); 6 in 2 (3,3)."""
    assert run_schedule(xp, 5, num_steps=3) == [2, 2, 1]
    assert run_schedule(xp, 5, num_steps=2) == [3, 2]
    assert run_schedule(xp, 6, num_steps=2) == [3, 3]
    assert run_schedule(xp, 5, k=2) == [2, 2, 1]
    assert run_schedule(xp, 7, k=3) == [3, 2, 2]  # ceil(7/3) = 3 steps, remainder first
    assert run_schedule(xp, 4, k=4) == [4]


def test_topk_count_batches_rows():
    scores = np.zeros((3, 6))
    pmf = B.topk_count(scores, np.array([5, 3, 1]), np.array([5, 5, 5]), 0, k=2)
    assert pmf.argmax(axis=1).tolist() == [2, 2, 1]


def scores_of(xp, values, length):
    """Sorted scores padded with -inf, quantised like the callers do.

    `decode` and `simulate` quantise scores before a count rule sees them.
    """
    return B.quantize(xp.asarray(values + [-math.inf] * (length - len(values))))


def _count(pmf):
    pmf = as_np(pmf)
    assert pmf.sum() == 1 and pmf.max() == 1
    return int(pmf.argmax())


@pytest.mark.parametrize("xp", XP)
def test_threshold_count_at_the_boundary(xp):
    """'>= gamma' (reference code) vs '> gamma' (paper) differ exactly at gamma."""
    scores = scores_of(xp, [0.75, 0.75, 0.5, 0.25], 6)
    m = xp.asarray(4)

    def count(gamma, strict):
        return _count(B.threshold_count(scores, m, m, 0, gamma=gamma, strict=strict))

    assert count(0.75, strict=False) == 2
    assert count(0.75, strict=True) == 1  # nothing passes: the top-1 anyway
    assert count(0.5, strict=False) == 3
    assert count(0.5, strict=True) == 2
    assert count(0.25, strict=False) == 4
    assert count(0.0, strict=True) == 4
    assert count(1.0, strict=False) == 1
    # equal in exact arithmetic, not in floating point: still a tie
    two = xp.asarray(2)
    for values, gamma in (([0.1 + 0.2, 0.3], 0.3), ([2 / 3, 1 - 1 / 3], 1 - 1 / 3)):
        tied = scores_of(xp, values, 4)
        assert (
            _count(B.threshold_count(tied, two, two, 0, gamma=gamma, strict=False)) == 2
        )
        assert (
            _count(B.threshold_count(tied, two, two, 0, gamma=gamma, strict=True)) == 1
        )
    # no eligible position: nothing
    none = scores_of(xp, [], 3)
    zero = xp.asarray(0)
    assert _count(B.threshold_count(none, zero, zero, 0, gamma=0.5, strict=False)) == 0


def plain_factor(conf, f, quirk):
    """REFERENCE 5.5: the largest n with (n+1)(1 - c_(n)) <= f (n >= 1), and quirk."""
    m = len(conf)
    n = 1
    while n < m and (n + 2) * (1 - conf[n]) <= f:
        n += 1
    if quirk and n == m - 1:
        n = m
    return n


@pytest.mark.parametrize("xp", XP)
def test_factor_count_reference_examples(xp):
    """REFERENCE 5.5 at f = 1, with and without the reference code's quirk.

    (0.99, 0.3) commits 2 and (0.99, 0.9, 0.8, 0.2) commits 4 with the quirk; 1 and 3
    without it.
    """

    def count(conf, quirk, f=1.0):
        m = xp.asarray(len(conf))
        return _count(
            B.factor_count(
                scores_of(xp, conf, 6), m, m, 0, factor=f, reference_quirk=quirk
            )
        )

    assert count([0.99, 0.3], quirk=True) == 2
    assert count([0.99, 0.3], quirk=False) == 1
    assert count([0.99, 0.9, 0.8, 0.2], quirk=True) == 4
    assert count([0.99, 0.9, 0.8, 0.2], quirk=False) == 3
    # the quirk needs the failing rank to be the last one
    assert count([0.99, 0.9, 0.2, 0.2], quirk=True) == 2
    # with at most two masks, the quirk always commits both
    assert count([0.3, 0.1], quirk=True) == 2
    assert count([0.3], quirk=True) == 1
    assert count([0.3], quirk=False) == 1
    # (n+1)(1 - c) <= f holds with equality: n = 2 with c = 2/3 at f = 1
    assert count([0.9, 2 / 3, 0.1, 0.0], quirk=False) == 2
    assert count([0.9, 0.66, 0.1, 0.0], quirk=False) == 1
    assert count([0.9, 0.75, 0.75, 0.0], quirk=False, f=1.0) == 3  # 4 * 0.25 = 1
    assert count([0.9, 0.75, 0.75, 0.0], quirk=False, f=0.75) == 2  # 3 * 0.25 <= .75


@pytest.mark.parametrize("xp", XP)
@pytest.mark.parametrize("quirk", [False, True])
def test_factor_count_random(xp, quirk):
    rng = np.random.default_rng(0)
    for _ in range(100):
        m = int(rng.integers(1, 7))
        conf = sorted(rng.random(m).tolist(), reverse=True)
        conf = [1 - (1 - c) ** 3 for c in conf]  # many near 1
        f = float(rng.choice([0.5, 1.0, 2.0]))
        got = _count(
            B.factor_count(
                scores_of(xp, conf, 7),
                xp.asarray(m),
                xp.asarray(m),
                0,
                factor=f,
                reference_quirk=quirk,
            )
        )
        assert got == plain_factor(conf, f, quirk), (conf, f)


def plain_eb(entropies, gamma):
    """REFERENCE 5.7: the largest prefix with sum H - max H <= gamma (at least one)."""
    n = 1
    while (
        n < len(entropies)
        and math.fsum(entropies[: n + 1]) - max(entropies[: n + 1]) <= gamma
    ):
        n += 1
    return n


@pytest.mark.parametrize("xp", XP)
def test_entropy_bounded_count(xp):
    rng = np.random.default_rng(1)
    for _ in range(100):
        m = int(rng.integers(1, 7))
        entropies = sorted((rng.random(m) * rng.choice([0.2, 1.0])).tolist())
        gamma = float(rng.choice([0.0, 0.1, 0.5, 1.0, 10.0]))
        scores = scores_of(xp, [-h for h in entropies], 7)
        got = _count(
            B.entropy_bounded_count(
                scores, xp.asarray(m), xp.asarray(m), 0, gamma=gamma
            )
        )
        assert got == plain_eb(entropies, gamma), (entropies, gamma)
    # zero entropies are free: every certain position commits at gamma = 0
    four = xp.asarray(4)
    scores = scores_of(xp, [0.0, 0.0, 0.0, -0.7], 5)
    assert _count(B.entropy_bounded_count(scores, four, four, 0, gamma=0.0)) == 4
    # the budget is inclusive: 0.25 + 0.5 (the max, 0.5, is free) <= 0.25
    scores = scores_of(xp, [-0.25, -0.5, -0.5], 3)
    three = xp.asarray(3)
    assert _count(B.entropy_bounded_count(scores, three, three, 0, gamma=0.25)) == 2
    assert _count(B.entropy_bounded_count(scores, three, three, 0, gamma=0.75)) == 3


@pytest.mark.parametrize("xp", XP)
def test_ancestral_count_is_binomial(xp):
    """Step i of N unmasks each of m masks with probability 1/(N - i), 1 at the last."""
    length = 5
    for num_steps in (1, 2, 3, 5):
        for step in range(num_steps + 1):
            for m in range(length + 1):
                pmf = as_np(
                    B.ancestral_count(
                        scores_of(xp, [0.0] * m, length),
                        xp.asarray(m),
                        xp.asarray(m),
                        step,
                        num_steps=num_steps,
                    )
                )
                rate = 1.0 / max(num_steps - step, 1)
                expected = [
                    math.comb(m, k) * rate**k * (1 - rate) ** (m - k) if k <= m else 0
                    for k in range(length + 1)
                ]
                np.testing.assert_allclose(pmf, expected, atol=1e-14)


@pytest.mark.parametrize("xp", XP)
@pytest.mark.parametrize("num_steps", [2**40, 2**63 - 1])
def test_ancestral_count_with_num_steps_past_int32(xp, num_steps):
    """At step 7 of N each of 3 masks unmasks with probability r = 1/(N - 7)."""
    pmf = as_np(
        B.ancestral_count(
            scores_of(xp, [0.0] * 3, 4),
            xp.asarray(3),
            xp.asarray(3),
            7,
            num_steps=num_steps,
        )
    )
    r = 1.0 / (num_steps - 7)
    expected = [math.comb(3, k) * r**k * (1 - r) ** (3 - k) for k in range(4)] + [0]
    np.testing.assert_allclose(pmf, expected, rtol=1e-9, atol=0)


RULES = [
    (B.topk_count, {"k": 2}),
    (B.topk_count, {"num_steps": 3}),
    (B.threshold_count, {"gamma": 0.5, "strict": True}),
    (B.threshold_count, {"gamma": 0.5, "strict": False}),
    (B.factor_count, {"factor": 1.0, "reference_quirk": True}),
    (B.entropy_bounded_count, {"gamma": 0.4}),
    (B.ancestral_count, {"num_steps": 3}),
]


def _random_rows(seed=2, rows=8, length=5):
    rng = np.random.default_rng(seed)
    m = rng.integers(0, length + 1, rows)
    scores = -np.sort(-rng.random((rows, length)), axis=1)
    scores[np.arange(length)[None, :] >= m[:, None]] = -np.inf
    return B.quantize(scores), m, np.full(rows, length), np.arange(rows) % 3


def test_count_rules_agree_on_numpy_and_jax():
    """Row by row, each count rule gives the same pmf on NumPy and jax.numpy."""
    scores, m, size, step = _random_rows()
    for rule, params in RULES:
        batch = rule(scores, m, size, step, **params)
        assert isinstance(batch, np.ndarray)
        for i in range(len(m)):
            one_np = rule(scores[i], m[i], size[i], step[i], **params)
            one_jnp = rule(
                jnp.asarray(scores[i]),
                jnp.asarray(m[i]),
                jnp.asarray(size[i]),
                jnp.asarray(step[i]),
                **params,
            )
            assert isinstance(one_jnp, jax.Array)
            np.testing.assert_allclose(batch[i], one_np, atol=1e-14)
            np.testing.assert_allclose(np.asarray(one_jnp), one_np, atol=1e-14)


def test_blocks_accept_batched_jax_inputs():
    """Blocks take leading batch axes (`(..., L)`) on jax.numpy too.

    They must not rely on implicit rank promotion (conftest sets it to "raise").
    """
    scores, m, size, step = _random_rows()
    failures = []
    for rule, params in RULES:
        try:
            got = rule(
                jnp.asarray(scores),
                jnp.asarray(m),
                jnp.asarray(size),
                jnp.asarray(step),
                **params,
            )
            np.testing.assert_allclose(
                np.asarray(got), rule(scores, m, size, step, **params), atol=1e-14
            )
        except ValueError as err:
            failures.append(f"{rule.__name__}({params}): {str(err).splitlines()[0]}")
    masked = np.array([[False, True, True, True], [False, False, True, True]])
    try:
        B.eligible_positions(jnp.asarray(masked), 2, 1)
    except ValueError as err:
        failures.append(f"eligible_positions: {str(err).splitlines()[0]}")
    assert not failures, "\n".join(failures)


def test_eligible_positions_with_blocks():
    """Semi-AR blocks count from the window start; the last block may be short."""
    cases = [
        ([False, True, True, True, True, True], [1, 2], 2),
        ([False, False, False, True, True, True], [3, 4], 2),
        ([False, False, True, True, True, True], [2], 2),  # block 0 half done
        ([False] * 5 + [True], [5], 1),
    ]
    for xp in XP:
        for masked, expected, size in cases:
            eligible, block_size = B.eligible_positions(xp.asarray(masked), 2, 1)
            assert np.nonzero(np.asarray(eligible))[0].tolist() == expected
            assert int(block_size) == size
        eligible, block_size = B.eligible_positions(xp.asarray([True] * 4), None, 0)
        assert np.asarray(eligible).all() and int(block_size) == 4
    batch = np.array([case[0] for case in cases])
    eligible, block_size = B.eligible_positions(batch, 2, 1)
    assert block_size.tolist() == [size for _, _, size in cases]


@pytest.mark.parametrize("xp", XP)
@pytest.mark.parametrize("block", [5, 6, 2**63 - 1, 10**30])
def test_a_block_past_the_window_is_one_block(xp, block):
    """A block of 5 or more over a 5-token window: all masks eligible, size 5."""
    masked = xp.asarray([[False, True, False, True, True, True]])
    eligible, block_size = B.eligible_positions(masked, block, 1)
    reference, size = B.eligible_positions(masked, None, 1)
    np.testing.assert_array_equal(np.asarray(eligible), np.asarray(reference))
    assert int(block_size[0]) == int(size[0]) == 5


# --------------------------------------------------------------------------------------
# Bad parameters

BAD = [
    ("random_topk", {"k": 0}, ValueError, "`k`"),
    ("confidence_topk", {"k": -1}, ValueError, "`k`"),
    ("margin_topk", {"k": 1.5}, TypeError, "`k`"),
    ("entropy_topk", {"k": True}, TypeError, "`k`"),
    ("left_to_right", {"num_steps": 0}, ValueError, "`num_steps`"),
    ("random_topk", {"k": 2, "num_steps": 2}, ValueError, "`k`"),
    ("confidence_topk", {}, ValueError, "`num_steps`"),
    ("threshold", {"gamma": 1.5}, ValueError, "`gamma`"),
    ("threshold", {"gamma": -0.1}, ValueError, "`gamma`"),
    ("threshold_strict", {"gamma": 1.0000001}, ValueError, "`gamma`"),
    ("threshold", {"gamma": "0.9"}, TypeError, "`gamma`"),
    ("threshold", {"gamma": float("nan")}, ValueError, "`gamma`"),
    ("random_topk", {"k": 1, "temperature": -1.0}, ValueError, "`temperature`"),
    ("threshold", {"gamma": 0.5, "temperature": -0.1}, ValueError, "`temperature`"),
    (
        "mdlm",
        {"num_steps": 2, "temperature": float("inf")},
        ValueError,
        "`temperature`",
    ),
    ("eb", {"gamma": 0.5, "temperature": "hot"}, TypeError, "`temperature`"),
    ("factor", {"factor": 0.0}, ValueError, "`factor`"),
    ("factor", {"factor": -1.0}, ValueError, "`factor`"),
    ("eb", {"gamma": -0.5}, ValueError, "`gamma`"),
    ("mdlm", {"num_steps": 0}, ValueError, "`num_steps`"),
    ("confidence_topk", {"k": 2, "block": 0}, ValueError, "`block`"),
]


@pytest.mark.parametrize(("name", "params", "error", "argument"), BAD)
def test_bad_parameters_name_the_argument(name, params, error, argument):
    with pytest.raises(error, match=argument):
        T.SAMPLERS[name](**params)
    with pytest.raises(error, match=argument):
        T.make_sampler(name, **params)


def test_unknown_sampler_name():
    with pytest.raises(ValueError, match="'topk'") as info:
        T.make_sampler("topk", k=2)
    assert "random_topk" in str(info.value)  # lists what is available


def test_unknown_parameter_is_a_type_error():
    with pytest.raises(TypeError, match="gamma"):
        T.make_sampler("random_topk", k=1, gamma=0.5)
    with pytest.raises(TypeError):
        T.SAMPLERS["threshold"](0.5)  # keyword-only


def test_registry_is_read_only():
    with pytest.raises(TypeError):
        T.SAMPLERS["mine"] = T.SAMPLERS["random_topk"]  # type: ignore[index]


@pytest.mark.parametrize("xp", XP)
def test_draw_index_is_the_inverse_cdf(xp):
    """On a grid of N uniforms, index i is drawn for a share p_i of them (within 1/N).

    The inverse CDF maps [0, 1) onto the indices in intervals of length p_i / sum p,
    so the grid u = (k + 1/2)/N hits each interval in N p_i +- 1 points; an index of
    mass 0 (an empty interval) is never drawn, even at u = 0 or u just below 1.
    """
    grid = 10_000
    u = (np.arange(grid) + 0.5) / grid
    for row in [*PROBS, [0.0, 0.0, 3.0, 1.0], [0.2, 0.0, 0.0, 0.8]]:
        pmf = np.asarray(row) / np.sum(row)
        drawn = np.asarray(
            B.draw_index(xp.asarray(np.tile(row, (grid, 1))), xp.asarray(u))
        )
        share = np.bincount(drawn, minlength=len(row)) / grid
        np.testing.assert_allclose(share, pmf, atol=1.0 / grid)
        assert share[pmf == 0].sum() == 0
        edges = np.asarray(
            B.draw_index(xp.asarray([row, row]), xp.asarray([0.0, 1.0 - 2**-53]))
        )
        assert (pmf[edges] > 0).all()
