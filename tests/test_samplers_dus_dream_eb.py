"""DUS, Dream's schedule and EB's two budget orders (issue 18).

The references here are written for these rules alone: a recursion over decoding
states in which each rule names the positions a step commits explicitly (DUS's
levels by hand, Dream's counts in exact rationals, EB's prefix from its definition),
and torch replaying Dream's float32 lines where torch is installed.
"""

import itertools
import math
from collections import Counter
from fractions import Fraction

import bruteforce as bf
import jax
import numpy as np
import pytest
from clitools import report, run
from test_cli_bad_input import one_line_error
from test_sampling import numpy_oracle
from test_simulation import (
    assert_frequencies_match,
    dense_task,
    random_dense,
    task_rows,
    valid_law,
)

import trilemma as T
from trilemma import samples
from trilemma.samplers import dilated_levels, init, make_step
from trilemma.samplers import rules as B

TOL = 1e-12

# --------------------------------------------------------------------------------------
# DUS's order, by hand

LEVELS = {
    1: [[0]],
    2: [[0, 1]],
    3: [[0, 1, 2]],  # stride 3 // 2 = 1 takes every offset
    4: [[0, 2], [1, 3]],
    5: [[0, 1, 2, 3, 4]],  # {0, 2, 4}, then {1, 3}: smaller, merged
    6: [[0, 3], [1, 2, 4, 5]],
    7: [[0, 3, 6], [1, 2, 4, 5]],
    8: [[0, 4], [2, 6], [1, 3, 5, 7]],
}
"""DUS's levels (base 2) of a block of each size, from the paper's and the port's
rule: strides size // 2, // 4, ...; an offset goes to the first stride dividing it."""

LEVELS_16 = [[0, 8], [4, 12], [2, 6, 10, 14], [1, 3, 5, 7, 9, 11, 13, 15]]


def test_dus_levels_are_the_papers_dilated_order():
    assert [list(lv) for lv in dilated_levels(8)] == LEVELS[8]
    assert [list(lv) for lv in dilated_levels(16)] == LEVELS_16
    for size, levels in LEVELS.items():
        assert [list(lv) for lv in dilated_levels(size)] == levels, size
    # base 3: strides 9 // 3 = 3, then 1; base 1: one pass
    assert dilated_levels(9, base=3) == ((0, 3, 6), (1, 2, 4, 5, 7, 8))
    assert dilated_levels(8, base=1) == (tuple(range(8)),)
    # the authors' base_skip: the first stride is 16 // 2**2 = 4
    assert dilated_levels(16, base_skip=2)[0] == (0, 4, 8, 12)


@pytest.mark.parametrize("block", [8, 16])
def test_dus_commits_the_levels_in_order_under_a_prompt(block):
    """Decode by hand: each step commits the next level, offset by the prompt.

    `copy` with n = block has a one-token prompt before the outputs, so the window
    starts at position 1 and the levels are offsets from there.
    """
    task = T.make_task("copy", block, num_prompts=1)
    model = T.oracle_model(task)
    mask_id = model.layout.mask_id
    sampler = T.SAMPLERS["dus"](block=block)
    step = jax.jit(
        make_step(sampler, (model.logits_fn,), (model.params,), mask_id=mask_id)
    )
    state = init(model.layout.initial_tokens(0), mask_id=mask_id)
    start = int(state.start)
    assert start >= 1
    expected = LEVELS[8] if block == 8 else LEVELS_16
    for level in expected:
        before = np.asarray(state.tokens) == mask_id
        state, info = step(jax.random.key(0), state)
        after = np.asarray(state.tokens) == mask_id
        assert sorted(np.nonzero(before & ~after)[0] - start) == level
        assert int(info.committed) == len(level)
    assert not np.any(np.asarray(state.tokens) == mask_id)
    assert int(state.nfe) == math.log2(block)


# --------------------------------------------------------------------------------------
# A separate enumerator: each rule returns the committed position sets explicitly


def _token_law(probs, temperature):
    if temperature == 0:
        top = max(probs)
        best = [v for v, p in enumerate(probs) if p > 0 and abs(p - top) <= 1e-12]
        return {v: 1.0 / len(best) for v in best}
    w = {v: p ** (1 / temperature) for v, p in enumerate(probs) if p > 0}
    z = math.fsum(w.values())
    return {v: x / z for v, x in w.items()}


def _entropy(probs):
    return -math.fsum(p * math.log(p) for p in probs if p > 0)


def _current_block(state, block):
    """Masked positions of the leftmost block with a mask, and that block's size."""
    n = len(state)
    width = n if block is None else block
    masked = [j for j in range(n) if state[j] is None]
    first = min(j // width for j in masked)
    size = min(width, n - first * width)
    return [j for j in masked if j // width == first], first * width, size


def _ranked_subsets(eligible, key, k):
    """Every top-k set of `eligible` by `key` (high first), ties split uniformly."""
    values = sorted((key(j) for j in eligible), reverse=True)
    kth = values[k - 1]
    above = [j for j in eligible if key(j) > kth + 1e-12]
    tied = [j for j in eligible if abs(key(j) - kth) <= 1e-12]
    combos = list(itertools.combinations(tied, k - len(above)))
    return [(1.0 / len(combos), above + list(c)) for c in combos]


def dus_plan(block):
    def plan(state, step, marginals):
        eligible, first, size = _current_block(state, block)
        done = size - len(eligible)
        reached = 0
        for level in LEVELS[size]:
            if reached == done:
                return [(1.0, [first + o for o in level])]
            reached += len(level)
        raise AssertionError("levels out of order")

    return plan


def dream_counts_exact(masks, num_steps, eps):
    """Dream's counts on a block of `masks`, floor(m (1 - s/t)) in rationals."""
    a, left, out = 1 - Fraction(eps), masks, []
    for i in range(num_steps):
        share = a / (num_steps - i * a) if i < num_steps - 1 else Fraction(1)
        k = math.floor(left * share)
        out.append(k)
        left -= k
    return out


def dream_plan(num_steps, eps, block, score):
    """Dream's count on the block's masks, positions by `score` (None: uniform)."""

    def plan(state, step, marginals):
        eligible, _, _ = _current_block(state, block)
        i = step % num_steps
        share = (
            (1 - Fraction(eps)) / (num_steps - i * (1 - Fraction(eps)))
            if i < num_steps - 1
            else Fraction(1)
        )
        k = math.floor(len(eligible) * share)
        if k == 0:
            return [(1.0, [])]
        key = (lambda j: 0.0) if score is None else (lambda j: score(marginals[j]))
        return _ranked_subsets(eligible, key, k)

    return plan


def origin_plan(num_steps, eps):
    """Dream's `origin`: each mask independently, rate 1 - s/t, all at the end."""

    def plan(state, step, marginals):
        masked = [j for j in range(len(state)) if state[j] is None]
        a = 1 - eps
        rate = 1.0 if step >= num_steps - 1 else a / (num_steps - step * a)
        out = []
        for size in range(len(masked) + 1):
            for subset in itertools.combinations(masked, size):
                w = rate**size * (1 - rate) ** (len(masked) - size)
                if w > 0:
                    out.append((w, list(subset)))
        return out

    return plan


def eb_plan(gamma, block, *, sequence):
    """EB: the k lowest-entropy positions, k from the budget summed in one order."""

    def plan(state, step, marginals):
        eligible, _, _ = _current_block(state, block)
        h = {j: _entropy(marginals[j]) for j in eligible}
        order = eligible if sequence else sorted(eligible, key=lambda j: h[j])
        k = 1
        while k < len(order):
            taken = [h[j] for j in order[: k + 1]]
            if math.fsum(taken) - max(taken) > gamma + 1e-12:
                break
            k += 1
        return _ranked_subsets(eligible, lambda j: -h[j], k)

    return plan


def reference_law(task, plan, temperature):
    """`({y: q}, E[NFE])` of a rule given as explicit committed sets per state.

    A step draws each committed position's token from its law (the oracle's
    marginal, greedy-uniform or tempered) independently; an empty step is free.
    """
    rows, sizes = task_rows(task)
    memo = {}

    def law(state, step):
        if (state, step) in memo:
            return memo[state, step]
        if all(v is not None for v in state):
            return {state: 1.0}, 0.0
        marginals = bf.oracle_marginals(rows, sizes, list(state))
        out, nfe = Counter(), []
        for weight, committed in plan(state, step, marginals):
            if committed:
                nfe.append(weight)
            laws = [
                sorted(_token_law(marginals[j], temperature).items()) for j in committed
            ]
            for draw in itertools.product(*laws):
                child = list(state)
                for j, (v, _) in zip(committed, draw, strict=True):
                    child[j] = v
                w = weight * math.prod(p for _, p in draw)
                sub, sub_nfe = law(tuple(child), step + 1)
                for y, q in sub.items():
                    out[y] += w * q
                nfe.append(w * sub_nfe)
        memo[state, step] = (dict(out), math.fsum(nfe))
        return memo[state, step]

    return law((None,) * len(sizes), 0)


def _sample_cases():
    """(sampler, plan) pairs for every new rule, at temperatures 0 and 1."""

    def neg_entropy(probs):  # token-independent, as the explicit plans need
        return -_entropy(probs)

    for temperature in (0.0, 1.0):
        t = {"temperature": temperature}
        for block in (None, 2, 4):
            yield T.SAMPLERS["dus"](block=block, **t), dus_plan(block)
        for steps, eps, block in ((2, 0.0, None), (3, 0.001, None), (2, 0.25, 2)):
            yield (
                T.SAMPLERS["random_topk"](num_steps=steps, eps=eps, block=block, **t),
                dream_plan(steps, eps, block, None),
            )
            yield (
                T.SAMPLERS["entropy_topk"](num_steps=steps, eps=eps, block=block, **t),
                dream_plan(steps, eps, block, neg_entropy),
            )
        for steps, eps in ((2, 0.001), (3, 0.25)):
            yield (
                T.SAMPLERS["mdlm"](num_steps=steps, eps=eps, **t),
                origin_plan(steps, eps),
            )
        for gamma, block in ((0.3, None), (0.9, None), (0.6, 2)):
            for sequence in (False, True):
                sampler = T.SAMPLERS["eb"](
                    gamma=gamma, block=block, sequence_order=sequence, **t
                )
                yield sampler, eb_plan(gamma, block, sequence=sequence)


CASES = list(_sample_cases())

TASKS = [("shuffle_distinct", 3), ("shuffle_distinct", 4), ("random_joint", None)]


def _task(name, n):
    if name == "random_joint":
        return dense_task(random_dense(11, (3, 2, 3, 2)))
    return T.make_task(name, n)


@pytest.mark.parametrize(("name", "n"), TASKS)
def test_exact_laws_equal_the_explicit_enumeration(name, n):
    task = _task(name, n)
    rows, _ = task_rows(task)
    for sampler, plan in CASES:
        where = f"{sampler.describe()} on {task.name}"
        law, nfe = reference_law(task, plan, sampler.temperature)
        sim = T.simulate(task, sampler)
        q = valid_law(sim)
        assert set(q) <= set(rows), where
        for y in rows:
            assert abs(q.get(y, 0.0) - law.get(y, 0.0)) <= TOL, (where, y)
        invalid = math.fsum(v for y, v in law.items() if y not in rows)
        assert abs(sim.invalid_mass - invalid) <= TOL, where
        assert abs(sim.expected_nfe - nfe) <= TOL, where


def test_the_model_path_with_the_oracle_equals_the_oracle_path():
    """`simulate(..., model=oracle_model)` runs the trained-model enumerator."""
    task = T.make_task("shuffle_distinct", 3)
    model = T.oracle_model(task)
    for sampler, _ in CASES[::3]:
        ideal = T.simulate(task, sampler)
        mine = T.simulate(task, sampler, model=model)
        a, b = valid_law(ideal), valid_law(mine)
        assert a.keys() == b.keys(), sampler.describe()
        for y in a:
            assert abs(a[y] - b[y]) <= 1e-9, sampler.describe()
        assert abs(ideal.expected_nfe - mine.expected_nfe) <= 1e-9


def test_eb_orders_differ_where_the_paper_and_parallelbench_do():
    """Entropies 1, 1, 0.1, 0.1 in sequence order, gamma = 0.5.

    Sorted (the paper): 0.1, 0.1, 1, 1 -> costs 0, 0.1, 0.2, 1.2: k = 3. In
    sequence order (ParallelBench): 1, 1 -> cost 1 > 0.5: k = 1.
    """
    entropy = np.array([1.0, 1.0, 0.1, 0.1])
    scores = B.quantize(-entropy)
    m, size, step = np.array(4), np.array(4), np.array(0)
    ranked = -np.sort(-scores)
    paper = B.entropy_bounded_count(ranked, m, size, step, gamma=0.5)
    sequence = B.entropy_bounded_count(scores, m, size, step, gamma=0.5)
    assert int(np.argmax(paper)) == 3 and int(np.argmax(sequence)) == 1
    # -inf (not eligible) is skipped in sequence order
    gapped = np.array([-np.inf, *scores[:2], -np.inf, *scores[2:]])
    out = B.entropy_bounded_count(gapped, m, size, step, gamma=0.5)
    assert int(np.argmax(out)) == 1
    assert T.SAMPLERS["eb"](gamma=0.5).count_order == "score"
    assert T.SAMPLERS["eb"](gamma=0.5, sequence_order=True).count_order == "position"


# --------------------------------------------------------------------------------------
# Dream's counts


def _dream_steps(masks, num_steps, eps, float32):
    left, out = masks, []
    for i in range(num_steps):
        pmf = B.dream_count(
            np.zeros((1, masks)),
            np.array([left]),
            np.array([masks]),
            np.array([i]),
            num_steps=num_steps,
            eps=eps,
            float32=float32,
        )
        k = int(np.argmax(pmf[0]))
        out.append(k)
        left -= k
    return out


@pytest.mark.parametrize(
    ("masks", "num_steps", "eps"),
    [
        (32, 8, 0.0),
        (32, 32, 0.0),
        (32, 8, 0.001),
        (7, 3, 0.0),
        (5, 8, 0.001),
        (9, 4, 0.5),
    ],
)
def test_dream_counts_equal_the_formula(masks, num_steps, eps):
    assert _dream_steps(masks, num_steps, eps, False) == dream_counts_exact(
        masks, num_steps, eps
    )


def test_dream_float32_quirk():
    """32 masks: k = 4 gives 4,3,4,4,4,4,4,5; k = 1 has a step that commits none."""
    assert _dream_steps(32, 8, 0.0, True) == [4, 3, 4, 4, 4, 4, 4, 5]
    assert _dream_steps(32, 8, 0.0, False) == [4] * 8
    one = _dream_steps(32, 32, 0.0, True)
    assert one.count(0) == 1 and one[-1] == 2 and sum(one) == 32
    assert _dream_steps(32, 32, 0.0, False) == [1] * 32


def _torch_counts(masks, num_steps, eps):
    """Dream's lines run by torch in float32 (`sample_block`'s count), per mask count.

    `masks` is a list of block sizes; returns one list of per-step counts each.
    """
    torch = pytest.importorskip("torch")
    timesteps = torch.linspace(1, eps, num_steps + 1)
    rows = []
    for size in masks:
        left, out = size, []
        for i in range(num_steps):
            t, s = timesteps[i], timesteps[i + 1]
            num_mask_token = torch.tensor(left) / 1
            k = int(num_mask_token * (1 - s / t)) if i < num_steps - 1 else int(left)
            out.append(k)
            left -= k
        rows.append(out)
    return rows


def _library_counts(masks, num_steps, eps):
    """The same counts from `dream_count(float32=True)`, all block sizes at once."""
    left = np.array(masks)
    rows = np.zeros((len(masks), num_steps), int)
    for i in range(num_steps):
        pmf = B.dream_count(
            np.zeros((len(masks), max(masks))),
            left,
            np.array(masks),
            np.full(len(masks), i),
            num_steps=num_steps,
            eps=eps,
            float32=True,
        )
        rows[:, i] = np.argmax(pmf, axis=1)
        left = left - rows[:, i]
    return rows.tolist()


@pytest.mark.parametrize("eps", [0.0, 0.001, 0.123])
def test_dream_float32_replays_torch(eps):
    """Every block of 1..48 masks in 1..40 steps: the counts torch's lines give."""
    masks = list(range(1, 49))
    for num_steps in range(1, 41):
        expected = _torch_counts(masks, num_steps, eps)
        assert _library_counts(masks, num_steps, eps) == expected, num_steps


def test_decoded_counts_follow_dream_schedule():
    """Decoding records Dream's per-step counts, block by block."""
    task = T.make_task("copy", 8, num_prompts=1)
    model = T.oracle_model(task)
    tokens = model.layout.initial_tokens(0)
    for eps, block, float32 in (
        (0.001, None, False),
        (0.0, 4, True),
        (0.5, None, False),
    ):
        sampler = T.SAMPLERS["confidence_topk"](
            num_steps=3, eps=eps, block=block, float32=float32
        )
        out = T.decode(sampler, model, jax.random.key(0), tokens, record_steps=True)
        size = 8 if block is None else block
        per_block = (
            _dream_steps(size, 3, eps, True)
            if float32
            else dream_counts_exact(size, 3, eps)
        )
        expected = per_block * (8 // size)
        got = np.asarray(out.committed).tolist()
        assert got[: len(expected)] == expected and sum(got) == 8
        assert int(out.nfe) == sum(k > 0 for k in expected)


# --------------------------------------------------------------------------------------
# E[NFE]


@pytest.mark.parametrize("block", [1, 2, 4, 8])
def test_dus_nfe_is_log2_block_per_block(block):
    task = T.make_task("copy", 8, num_prompts=1)
    sim = T.simulate(task, T.SAMPLERS["dus"](block=block, temperature=1.0))
    per_block = max(1, int(math.log2(block)))  # a block of one position: one pass
    assert sim.expected_nfe == pytest.approx((8 // block) * per_block, abs=TOL)
    assert sim.accuracy() == pytest.approx(1.0, abs=TOL)


# --------------------------------------------------------------------------------------
# Monte Carlo against the exact law, jitted and host decoding

MC_CASES = [
    ("dus", {"block": 4, "temperature": 1.0}),
    ("dus", {"temperature": 0.0}),
    ("confidence_topk", {"num_steps": 3, "eps": 0.001, "temperature": 1.0}),
    ("random_topk", {"num_steps": 2, "eps": 0.0, "float32": True, "block": 2}),
    ("mdlm", {"num_steps": 3, "eps": 0.25}),
    ("eb", {"gamma": 0.6, "temperature": 1.0, "sequence_order": True}),
]

NUM = 4000


@pytest.mark.parametrize(("name", "params"), MC_CASES)
def test_monte_carlo_agrees_with_the_exact_law(name, params):
    """Frequencies within 5 standard errors (+3 counts), mean NFE likewise."""
    task = T.make_task("shuffle_distinct", 4)
    sampler = T.SAMPLERS[name](**params)
    model = T.oracle_model(task)
    tokens = np.tile(model.layout.initial_tokens(0), (NUM, 1))
    out = T.decode_batch(sampler, model, jax.random.key(3), tokens)
    sim = T.simulate(task, sampler)
    outputs = np.asarray(out.tokens)[:, model.layout.prefix_length :]
    assert_frequencies_match(outputs, sim)
    nfe = np.asarray(out.nfe, float)
    se = nfe.std(ddof=1) / math.sqrt(NUM)
    assert abs(nfe.mean() - sim.expected_nfe) <= 5 * se + 3 * 4 / NUM


HOST_CASES = [
    case if case[0] == "dus" else pytest.param(*case, marks=pytest.mark.slow)
    for case in MC_CASES
]
"""DUS's host decoding in the default suite; the count rules' (a second driver
over rules that `test_samplers` already checks host against jit) under `slow`."""


@pytest.mark.parametrize(("name", "params"), HOST_CASES)
def test_host_decoding_draws_the_jitted_samples(name, params):
    task = T.make_task("shuffle_distinct", 4)
    sampler = T.SAMPLERS[name](**params)
    model = T.oracle_model(task)
    tokens = np.tile(model.layout.initial_tokens(0), (16, 1))
    keys = jax.random.split(jax.random.key(5), 16)
    host = T.decode_batch(sampler, numpy_oracle(task), keys, tokens)
    jitted = T.decode_batch(sampler, model, keys, tokens)
    np.testing.assert_array_equal(host.tokens, np.asarray(jitted.tokens))
    np.testing.assert_array_equal(host.nfe, np.asarray(jitted.nfe))


# --------------------------------------------------------------------------------------
# Bad input and the command line

BAD = [
    ("dus", {"block": 0}, ValueError, "`block`"),
    ("dus", {"block": 2.0}, TypeError, "`block`"),
    ("dus", {"base": 0}, ValueError, "`base`"),
    ("dus", {"base_skip": 0}, ValueError, "`base_skip`"),
    ("dus", {"temperature": -1.0}, ValueError, "`temperature`"),
    ("confidence_topk", {"num_steps": 4, "eps": -0.1}, ValueError, "`eps`"),
    ("confidence_topk", {"num_steps": 4, "eps": 1.0}, ValueError, "`eps`"),
    ("confidence_topk", {"k": 2, "eps": 0.0}, ValueError, "`eps`"),
    ("random_topk", {"eps": 0.0}, ValueError, "`num_steps`"),
    ("margin_topk", {"num_steps": 4, "float32": True}, ValueError, "`float32`"),
    ("left_to_right", {"num_steps": 2**31, "eps": 0.0}, ValueError, "`num_steps`"),
    ("mdlm", {"num_steps": 4, "eps": -1.0}, ValueError, "`eps`"),
    ("mdlm", {"num_steps": 2**21, "float32": True}, ValueError, "`num_steps`"),
    ("eb", {"gamma": 0.5, "sequence_order": 1}, TypeError, "`sequence_order`"),
]


@pytest.mark.parametrize(("name", "params", "error", "argument"), BAD)
def test_bad_parameters_name_the_argument(name, params, error, argument):
    with pytest.raises(error, match=argument):
        T.SAMPLERS[name](**params)


def test_any_block_length_is_scheduled_by_the_rule():
    """DUS does not need a power of two: B = 6 is {0, 3}, then the rest."""
    task = T.make_task("copy", 6, num_prompts=1)
    sim = T.simulate(task, T.SAMPLERS["dus"](block=6))
    assert sim.expected_nfe == pytest.approx(2.0, abs=TOL)


@pytest.mark.parametrize(
    ("flags", "fragment"),
    [
        (["--sampler", "dus", "--block", "0"], "`--block`"),
        (["--sampler", "dus", "--base", "0"], "`--base`"),
        (
            ["--sampler", "confidence_topk", "--num-steps", "2", "--eps", "-1"],
            "`--eps`",
        ),
        (["--sampler", "confidence_topk", "--k", "2", "--eps", "0"], "`--eps`"),
        (["--sampler", "dus", "--gamma", "0.5"], "`--gamma`"),
    ],
)
def test_cli_refuses_bad_flags_in_one_line(flags, fragment, capsys):
    line = one_line_error(["simulate", "shuffle_distinct", "--n", "4", *flags], capsys)
    assert fragment in line


def test_cli_lists_and_simulates_dus(capsys):
    code, out, _ = run(["samplers"], capsys)
    assert code == 0 and "dus" in out and "sequence_order" in out and "eps" in out
    result = report(
        [
            "simulate",
            "shuffle_distinct",
            "--n",
            "4",
            "--sampler",
            "dus",
            "--block",
            "4",
        ],
        capsys,
    )
    expected = T.simulate(
        T.make_task("shuffle_distinct", 4), T.SAMPLERS["dus"](block=4)
    )
    assert result["expected_nfe"] == pytest.approx(2.0)
    assert result["accuracy"] == pytest.approx(expected.accuracy(), abs=TOL)


def test_cli_samples_dus(tmp_path, capsys):
    path = tmp_path / "dus.jsonl"
    code, _, err = run(
        [
            "sample",
            "--task",
            "shuffle_distinct",
            "--n",
            "4",
            "--sampler",
            "dus",
            "--block",
            "4",
            "--temperature",
            "1",
            "--samples-per-prompt",
            "8",
            "--num-prompts",
            "1",
            "-o",
            str(path),
        ],
        capsys,
    )
    assert code == 0, err
    got = samples.read(path)
    assert got.output_tokens.shape == (8, 4)
    assert (np.asarray(got.nfe) == 2).all()
