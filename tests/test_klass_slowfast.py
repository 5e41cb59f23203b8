"""KLASS and SlowFast (issue 18): exact laws, Monte Carlo, host decoding, reductions.

* The exact law from `exact_step` (run here by a plain memoised driver, before the
  library's chain enumerator) equals an independent reference: each sampler written
  again as its source's loops (block loop, KLASS's KL history buffer with its
  `step >= H - 1` gate; SlowFast's sub-cycle, slow and fast loops with `np.std` and
  `int(np.mean)`), every random choice (joint token draws, tie-breaks) enumerated by
  replaying the procedure along each branch;
* jitted Monte Carlo decoding on the oracle agrees with the exact law within 5
  standard errors, and a host model gives the jitted decoder's samples; a rebuilt
  sampler on new weights reuses the compiled decoder;
* degenerate settings are known samplers (KLASS with no stable position is
  confidence top-k, with the KL test off the strict threshold; SlowFast whose slow
  phase covers the window is Fast-dLLM's threshold rule);
* bad parameters are one-line errors.
"""

import itertools
import math
from collections import Counter, defaultdict, deque

import bruteforce as bf
import jax
import numpy as np
import pytest
from test_decode_compile import count_compiles
from test_sampling import numpy_oracle
from test_simulation import dense_task, random_dense, task_rows, valid_law

import trilemma as T
from trilemma.samplers._klass import klass
from trilemma.samplers._slowfast import slowfast

TOL = 1e-12
NUM_KEYS = 20_000
QUANTUM = 2.0**-30


def q(x: float) -> float:
    """The rules' comparison grid (2^-30), written out."""
    return round(x / QUANTUM) * QUANTUM


# --------------------------------------------------------------------------------------
# A plain driver of `exact_step` (the chain enumerator's interface)


def chain_law(task, sampler, prompt: int = 0):
    """`({y: q(y)}, E[NFE])` by recursion over (tokens, sampler state), memoised."""
    rows, sizes = task_rows(task, prompt)
    layout = T.task_layout(task)
    mask_id, vocab = int(layout.mask_id), int(layout.vocab_size)
    memo: dict = {}

    def probs_of(tokens):
        state = [None if t == mask_id else t for t in tokens]
        table = np.zeros((len(sizes), vocab))
        for j, row in enumerate(bf.oracle_marginals(rows, sizes, state)):
            table[j, : len(row)] = row
        return table

    def solve(tokens, extra):
        if mask_id not in tokens:
            return {tokens: 1.0}, 0.0
        if (tokens, extra) in memo:
            return memo[(tokens, extra)]
        outcomes = sampler.exact_step(
            probs_of(tokens), np.asarray(tokens), extra, mask_id=mask_id
        )
        assert abs(math.fsum(p for p, *_ in outcomes) - 1.0) < TOL
        law, nfe = defaultdict(float), []
        for p, new_tokens, new_extra, cost in outcomes:
            hash(new_extra)
            child, child_nfe = solve(tuple(int(t) for t in new_tokens), new_extra)
            for y, w in child.items():
                law[y] += p * w
            nfe.append(p * (cost + child_nfe))
        memo[(tokens, extra)] = (dict(law), math.fsum(nfe))
        return memo[(tokens, extra)]

    return solve((mask_id,) * len(sizes), sampler.exact_init(len(sizes)))


# --------------------------------------------------------------------------------------
# The independent reference: the sources' loops, every choice enumerated by replay


class _Branch(Exception):
    def __init__(self, width):
        self.width = width


def replay_law(procedure):
    """`({y: q}, E[NFE])` of `procedure(choose) -> (y, nfe)` over all its branches.

    `choose(options)` takes `[(probability, value), ...]`; each run replays a prefix
    of choices and branches at the first new one.
    """
    law, nfe = defaultdict(float), []
    stack = [()]
    while stack:
        prefix = stack.pop()
        taken = []

        def choose(options, prefix=prefix, taken=taken):
            options = [(p, v) for p, v in options if p > 0]
            i = len(taken)
            if i == len(prefix):
                raise _Branch(len(options))
            taken.append(options[prefix[i]][0])
            return options[prefix[i]][1]

        try:
            y, n = procedure(choose)
        except _Branch as branch:
            stack.extend(prefix + (i,) for i in range(branch.width))
            continue
        p = math.prod(taken)
        law[y] += p
        nfe.append(p * n)
    return dict(law), math.fsum(nfe)


def joint_draw(marginals, positions, temperature):
    """Every joint draw of `positions`: `[(p, {j: token})]`."""
    laws = [sorted(bf.token_law(marginals[j], temperature).items()) for j in positions]
    return [
        (
            math.prod(p for _, p in combo),
            dict(zip(positions, (v for v, _ in combo), strict=True)),
        )
        for combo in itertools.product(*laws)
    ]


def top_choice(choose, positions, conf, count):
    """The top-`count` positions by `conf`, ties chosen uniformly (via `choose`)."""
    ranked = sorted((conf[j] for j in positions), reverse=True)
    kth = ranked[count - 1]
    above = [j for j in positions if conf[j] > kth]
    tied = [j for j in positions if conf[j] == kth]
    subsets = list(itertools.combinations(tied, count - len(above)))
    return above + list(choose([(1 / len(subsets), s) for s in subsets]))


def llada_count(size, left, k):
    """LLaDA's schedule with k per step (remainder first), at `left` masks left."""
    counts = bf.llada_counts(size, -(-size // k))
    done, total = size - left, 0
    for c in counts:
        total += c
        if total > done:
            return max(1, min(c, left))
    return left


def klass_reference(task, *, confidence, kl_threshold, history, k=1, block=None,
                    temperature=0.0, inclusive=False, reset_history=False):  # fmt: skip
    """KLASS as the authors' loop: a KL history buffer of H values and its gate."""
    rows, sizes = task_rows(task)
    length = len(sizes)
    width = length if block is None else min(block, length)

    def procedure(choose):
        x = [None] * length
        p_prev = [[0.0] * s for s in sizes]
        buffer = [[0.0] * history for _ in sizes]
        nfe = 0
        for lo in range(0, length, width):
            hi = min(lo + width, length)
            if reset_history:
                p_prev = [[0.0] * s for s in sizes]
                buffer = [[0.0] * history for _ in sizes]
            step = 0
            while any(x[j] is None for j in range(lo, hi)):
                nfe += 1
                m = bf.oracle_marginals(rows, sizes, x)
                for j in range(length):
                    kl = math.fsum(
                        p * (math.log(p + 1e-12) - math.log(r + 1e-12))
                        for p, r in zip(m[j], p_prev[j], strict=True)
                        if p > 0
                    )
                    buffer[j] = buffer[j][1:] + [q(kl)]
                p_prev = m
                eligible = [j for j in range(lo, hi) if x[j] is None]
                draw = choose(joint_draw(m, eligible, temperature))
                conf = {j: q(m[j][draw[j]]) for j in eligible}
                tau = q(confidence)
                ready = [
                    j
                    for j in eligible
                    if step >= history - 1
                    and all(v < q(kl_threshold) for v in buffer[j])
                    and (conf[j] >= tau if inclusive else conf[j] > tau)
                ]
                if not ready:
                    count = llada_count(hi - lo, len(eligible), k)
                    ready = top_choice(choose, eligible, conf, count)
                for j in ready:
                    x[j] = draw[j]
                step += 1
        return tuple(x), nfe

    return replay_law(procedure)


def slowfast_reference(task, *, exploration_steps=6, cycle_confidence=0.3,
                       high_confidence=0.9, stability_window=2, stability_std=1.0,
                       block=None, temperature=0.0, skip_wasted=False):  # fmt: skip
    """SlowFast as ParallelBench's port: sub-cycles of a slow and a fast loop."""
    rows, sizes = task_rows(task)
    length = len(sizes)
    width = length if block is None else min(block, length)
    c, h = q(cycle_confidence), q(high_confidence)

    def fill(choose, x, region):
        m = bf.oracle_marginals(rows, sizes, x)
        draw = choose(joint_draw(m, region, temperature))
        conf = {j: q(m[j][draw[j]]) for j in region}
        confident = [j for j in region if conf[j] >= h]
        chosen = (
            confident if len(confident) > 1 else top_choice(choose, region, conf, 1)
        )
        for j in chosen:
            x[j] = draw[j]
        return conf

    def procedure(choose):
        x = [None] * length
        nfe = 0
        for lo in range(0, length, width):
            hi = min(lo + width, length)
            size = hi - lo
            last, actual = 0, size
            while any(x[j] is None for j in range(lo, hi)):
                estimates, determined = deque(maxlen=stability_window), False
                for k_step in range(exploration_steps):
                    scope = [j for j in range(lo + last, hi) if x[j] is None]
                    if not scope:  # the block is full: a wasted pass
                        nfe += int(not skip_wasted)
                        continue
                    nfe += 1
                    conf = fill(choose, x, scope)
                    if determined:
                        continue
                    above = [j for j in scope if conf[j] >= c]
                    increment = max(above) - (lo + last) + 1 if above else 1
                    estimates.append(max(1, min(last + increment, size)))
                    if len(estimates) >= stability_window:
                        if np.std(np.array(estimates)) < stability_std:
                            actual, determined = estimates[-1], True
                        elif k_step == exploration_steps - 1:
                            actual = int(np.mean(np.array(estimates)))
                    elif k_step == exploration_steps - 1:
                        actual = max(1, min(int(np.mean(list(estimates))), size))
                actual = max(1, min(actual, size))
                while True:
                    region = [j for j in range(lo + last, lo + actual) if x[j] is None]
                    if not region:
                        break
                    nfe += 1
                    fill(choose, x, region)
                last = actual
        return tuple(x), nfe

    return replay_law(procedure)


# --------------------------------------------------------------------------------------
# Exact laws against the references

TASKS = {
    "shuffle3": lambda: T.make_task("shuffle", 3),
    "replace3": lambda: T.make_task("replace_random", 3),
    "dense": lambda: dense_task(random_dense(5, (2, 3, 2), zeros=0.3)),
}

KLASS_CASES = [
    {"confidence": 0.4, "kl_threshold": 0.5, "history": 1},
    {"confidence": 0.4, "kl_threshold": 0.5, "history": 2, "temperature": 1.0},
    {"confidence": 0.3, "kl_threshold": 1.0, "history": 2, "block": 2},
    {
        "confidence": 0.3,
        "kl_threshold": 1.0,
        "history": 2,
        "block": 2,
        "reset_history": True,
    },  # fmt: skip
    {"confidence": 0.5, "kl_threshold": 0.3, "history": 1, "inclusive": True, "k": 2},
    {"confidence": 0.2, "kl_threshold": 2.0, "history": 3, "temperature": 0.7},
    {},
]

SLOWFAST_CASES = [
    {},
    {"exploration_steps": 1, "high_confidence": 0.4},
    {"exploration_steps": 2, "high_confidence": 0.3, "temperature": 1.0},
    {"exploration_steps": 2, "stability_window": 1, "block": 2},
    {
        "exploration_steps": 3,
        "cycle_confidence": 0.45,
        "high_confidence": 0.5,
        "stability_std": 0.4,
        "skip_wasted": True,
    },  # fmt: skip
    {
        "exploration_steps": 2,
        "cycle_confidence": 0.0,
        "stability_window": 3,
        "temperature": 0.5,
    },  # fmt: skip
]


def assert_laws_equal(mine, reference):
    law, nfe = mine
    ref_law, ref_nfe = reference
    assert set(law) == set(ref_law)
    for y, p in ref_law.items():
        assert abs(law[y] - p) < TOL, (y, law[y], p)
    assert abs(nfe - ref_nfe) < TOL


@pytest.mark.parametrize("task_name", list(TASKS))
@pytest.mark.parametrize("params", KLASS_CASES)
def test_klass_exact_law_equals_the_reference(task_name, params):
    task = TASKS[task_name]()
    reference = klass_reference(
        task,
        **{"confidence": 0.9, "kl_threshold": 0.01, "history": 2, **params},
    )
    assert_laws_equal(chain_law(task, klass(**params)), reference)


@pytest.mark.parametrize("task_name", list(TASKS))
@pytest.mark.parametrize("params", SLOWFAST_CASES)
def test_slowfast_exact_law_equals_the_reference(task_name, params):
    task = TASKS[task_name]()
    reference = slowfast_reference(task, **params)
    assert_laws_equal(chain_law(task, slowfast(**params)), reference)


@pytest.mark.parametrize("temperature", [0.0, 1.0])
def test_klass_history_across_blocks_authors_and_port(temperature):
    """Two blocks of two: the history kept (authors) or cleared (port) per block.

    With H = 1 a block's first pass is ready when its KL from the previous block's
    last prediction is small; cleared, that KL is taken against zeros and never
    is. Both equal the reference, and they differ.
    """
    task = dense_task(random_dense(11, (2, 3, 2, 2), zeros=0.2))
    params = {"confidence": 0.3, "kl_threshold": 2.0, "history": 1, "block": 2}
    laws = []
    for reset in (False, True):
        law = chain_law(
            task, klass(**params, temperature=temperature, reset_history=reset)
        )
        reference = klass_reference(
            task, **params, temperature=temperature, reset_history=reset
        )
        assert_laws_equal(law, reference)
        laws.append(law)
    (kept, kept_nfe), (cleared, cleared_nfe) = laws
    assert kept_nfe < cleared_nfe - 0.5
    assert max(abs(kept.get(y, 0) - cleared.get(y, 0)) for y in kept) > 0.01


@pytest.mark.parametrize(
    "params",
    [
        # fast phases that end before the block does, then a new sub-cycle
        {"exploration_steps": 2, "cycle_confidence": 0.5, "temperature": 1.0},
        # full windows of estimates too spread to fix the end before the last pass
        {
            "exploration_steps": 3,
            "cycle_confidence": 0.5,
            "high_confidence": 0.5,
            "temperature": 1.0,
        },  # fmt: skip
    ],
)
def test_slowfast_sub_cycles_on_four_positions(params):
    """Four positions reach branches that three do not (see the comments)."""
    task = dense_task(random_dense(11, (2, 3, 2, 2), zeros=0.2))
    assert_laws_equal(
        chain_law(task, slowfast(**params)), slowfast_reference(task, **params)
    )


def test_the_references_see_the_rules_fire():
    """The cases are not vacuous: the rules commit in parallel and waste passes.

    KLASS commits a ready set somewhere (fewer passes than one token per step),
    SlowFast wastes passes at its defaults and commits in parallel otherwise.
    """
    task = TASKS["replace3"]()
    _, nfe = klass_reference(task, confidence=0.4, kl_threshold=0.5, history=1)
    assert nfe < 3 - 1e-9
    _, nfe = slowfast_reference(task)  # K = 6 passes for 3 tokens
    assert nfe == pytest.approx(6.0)
    _, nfe = slowfast_reference(task, exploration_steps=1, high_confidence=0.4)
    assert nfe < 3 - 1e-9


@pytest.mark.parametrize(
    "sampler",
    [
        klass(confidence=0.4, kl_threshold=0.5, history=2, temperature=1.0),
        klass(confidence=0.3, kl_threshold=1.0, block=2, reset_history=True),
        slowfast(exploration_steps=2, high_confidence=0.3, temperature=1.0),
        slowfast(),
    ],
    ids=["klass", "klass-block", "slowfast", "slowfast-default"],
)
@pytest.mark.parametrize("task_name", ["shuffle3", "dense"])
def test_simulate_runs_the_chain_enumerator_on_exact_step(task_name, sampler):
    """`trilemma.simulate` (its chain enumerator) gives the plain driver's law."""
    task = TASKS[task_name]()
    law, nfe = chain_law(task, sampler)
    sim = T.simulate(task, sampler)
    valid, invalid = as_simulated(task, law)
    expected = valid_law(sim)
    for y in set(valid) | set(expected):
        assert abs(valid.get(y, 0.0) - expected.get(y, 0.0)) < TOL, y
    assert abs(invalid - sim.invalid_mass) < TOL
    assert abs(nfe - sim.expected_nfe) < TOL


# --------------------------------------------------------------------------------------
# Reductions to registered samplers (their exact laws from `trilemma.simulate`)


def as_simulated(task, law):
    """`(valid law, invalid mass)` of a {y: q} law, as `valid_law` gives them."""
    rows, _ = task_rows(task)
    valid = {y: p for y, p in law.items() if y in rows}
    return valid, math.fsum(p for y, p in law.items() if y not in rows)


@pytest.mark.parametrize("task_name", list(TASKS))
@pytest.mark.parametrize(
    ("mine", "theirs"),
    [
        (klass(kl_threshold=0.0, k=2), T.SAMPLERS["confidence_topk"](k=2)),
        (
            klass(kl_threshold=0.0, temperature=1.0, block=2),
            T.SAMPLERS["confidence_topk"](k=1, temperature=1.0, block=2),
        ),
        (
            klass(confidence=0.4, kl_threshold=math.inf, history=1),
            T.SAMPLERS["threshold_strict"](gamma=0.4),
        ),
        (
            klass(confidence=0.3, kl_threshold=math.inf, history=1, temperature=1.0),
            T.SAMPLERS["threshold_strict"](gamma=0.3, temperature=1.0),
        ),
        (
            slowfast(exploration_steps=3, high_confidence=0.4, skip_wasted=True),
            T.SAMPLERS["threshold"](gamma=0.4),
        ),
        (
            slowfast(
                exploration_steps=3,
                high_confidence=0.3,
                temperature=1.0,
                skip_wasted=True,
            ),  # fmt: skip
            T.SAMPLERS["threshold"](gamma=0.3, temperature=1.0),
        ),
    ],
    ids=[
        "klass-topk",
        "klass-topk-block",
        "klass-threshold",
        "klass-threshold-t1",
        "slowfast-threshold",
        "slowfast-threshold-t1",
    ],  # fmt: skip
)
def test_degenerate_settings_are_registered_samplers(task_name, mine, theirs):
    task = TASKS[task_name]()
    law, nfe = chain_law(task, mine)
    sim = T.simulate(task, theirs)
    valid, invalid = as_simulated(task, law)
    expected = valid_law(sim)
    for y in set(valid) | set(expected):
        assert abs(valid.get(y, 0.0) - expected.get(y, 0.0)) < TOL, y
    assert abs(invalid - sim.invalid_mass) < TOL
    assert abs(nfe - sim.expected_nfe) < TOL


# --------------------------------------------------------------------------------------
# Monte Carlo (jitted and host) against the exact law


def assert_frequencies(outputs, law):
    """Every output's frequency within 5 standard errors (+3 counts) of its q."""
    num = len(outputs)
    counts = Counter(map(tuple, np.asarray(outputs).tolist()))
    assert set(counts) <= set(law)
    for y, p in law.items():
        p_hat = counts.get(y, 0) / num
        assert abs(p_hat - p) <= 5 * math.sqrt(p * (1 - p) / num) + 3 / num, y


MC_CASES = [
    ("replace3", klass(confidence=0.4, kl_threshold=0.5, history=1)),
    (
        "dense",
        klass(confidence=0.2, kl_threshold=2.0, history=2, temperature=1.0, block=2),
    ),  # fmt: skip
    ("shuffle3", slowfast(exploration_steps=2, high_confidence=0.3, temperature=1.0)),
    (
        "dense",
        slowfast(exploration_steps=2, stability_window=1, block=2, temperature=0.5),
    ),  # fmt: skip
]


@pytest.mark.parametrize(
    ("task_name", "sampler"),
    [
        case if i in (0, 2) else pytest.param(*case, marks=pytest.mark.slow)
        for i, case in enumerate(MC_CASES)
    ],
)
def test_monte_carlo_agrees_with_the_exact_law(task_name, sampler):
    """Jitted decodes match the exact law; a host model decodes the same samples.

    The host model (NumPy, outside JAX) runs the first 64 keys: a row's sample
    depends on its own key only, so it must equal the jitted batch's rows.
    """
    task = TASKS[task_name]()
    law, expected_nfe = chain_law(task, sampler)
    model = T.oracle_model(task)
    tokens = np.tile(model.layout.initial_tokens(0), (NUM_KEYS, 1))
    keys = jax.random.split(jax.random.key(20251207), NUM_KEYS)
    out = T.decode_batch(sampler, model, keys, tokens)
    outputs, nfe = np.asarray(out.tokens), np.asarray(out.nfe, float)
    assert (outputs[:, 0] == 0).all()
    assert_frequencies(outputs[:, 1:], law)
    standard_error = nfe.std(ddof=1) / math.sqrt(NUM_KEYS)
    assert abs(nfe.mean() - expected_nfe) <= 5 * standard_error + 1e-9

    host = T.decode_batch(sampler, numpy_oracle(task), keys[:64], tokens[:64])
    np.testing.assert_array_equal(np.asarray(host.tokens), outputs[:64])
    np.testing.assert_array_equal(np.asarray(host.nfe), nfe[:64])


def test_wasted_passes_are_charged_as_the_codes_count_them():
    """Shuffle n = 4 at T = 0: 4 passes commit, the codes run all 6 (2 wasted).

    The slow phase commits one token per pass and fills the window in 4 passes.
    """
    task = T.make_task("shuffle", 4)
    _, nfe = chain_law(task, slowfast())
    assert nfe == pytest.approx(6.0, abs=TOL)
    _, nfe = chain_law(task, slowfast(skip_wasted=True))
    assert nfe == pytest.approx(4.0, abs=TOL)


@pytest.mark.parametrize(
    ("factory", "params"),
    [
        (klass, {"confidence": 0.4, "temperature": 1.0}),
        pytest.param(
            slowfast,
            {"high_confidence": 0.5, "temperature": 1.0},
            marks=pytest.mark.slow,
        ),
    ],
)
def test_a_rebuilt_sampler_and_new_weights_do_not_recompile(factory, params):
    """The state's fixed shapes and the value's hash keep one compiled decoder."""
    first = T.oracle_model(T.make_task("random_joint", 3, vocab=3, seed=0))
    second = T.oracle_model(T.make_task("random_joint", 3, vocab=3, seed=1))
    tokens = np.tile(first.layout.initial_tokens(0), (4, 1))
    T.decode_batch(factory(**params), first, jax.random.key(0), tokens)
    with count_compiles() as compiles:
        out = T.decode_batch(factory(**params), second, jax.random.key(1), tokens)
        jax.block_until_ready(out)
    assert compiles == []


# --------------------------------------------------------------------------------------
# The protocol and bad input


@pytest.mark.parametrize("sampler", [klass(), slowfast()])
def test_protocol_values(sampler):
    assert sampler.remasks is False and sampler.law == "chain"
    assert sampler.num_models == 1 and len(sampler.phases) == 1
    assert sampler.max_steps(7) == 7
    assert hash(sampler) == hash(type(sampler)(*sampler))
    hash(sampler.exact_init(3))


@pytest.mark.parametrize(
    ("factory", "params", "name"),
    [
        (klass, {"confidence": 1.5}, "confidence"),
        (klass, {"confidence": -0.1}, "confidence"),
        (klass, {"kl_threshold": -1.0}, "kl_threshold"),
        (klass, {"history": 0}, "history"),
        (klass, {"k": 0}, "k"),
        (klass, {"block": 0}, "block"),
        (klass, {"temperature": -1.0}, "temperature"),
        (slowfast, {"exploration_steps": 0}, "exploration_steps"),
        (slowfast, {"cycle_confidence": 1.1}, "cycle_confidence"),
        (slowfast, {"high_confidence": -0.5}, "high_confidence"),
        (slowfast, {"stability_window": 0}, "stability_window"),
        (slowfast, {"stability_window": 10**6}, "stability_window"),
        (slowfast, {"stability_std": -1.0}, "stability_std"),
        (slowfast, {"block": 0}, "block"),
    ],
)
def test_bad_parameters_are_one_line_errors(factory, params, name):
    with pytest.raises(ValueError) as error:
        factory(**params)
    message = str(error.value)
    assert f"`{name}`" in message and "\n" not in message
