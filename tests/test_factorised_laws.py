r"""Exact laws of the adaptive samplers on a model, at temperatures above 0.

`simulate(task, sampler, model=...)` computes a step of confidence top-k, threshold
(>= and >) and factor from the committed sets $(S, v_S)$ and a closed form of their
probability (`trilemma.simulation._factorised`), not from the joint draws of every
masked position. Checked here against references written plainly in this file:

* one step: every joint draw of the eligible positions over a small vocabulary,
  ranked with ties split uniformly, the count rule applied, accumulated by $(S,
  v_S)$; random marginal tables with exact ties (equal rows, probabilities equal to
  the threshold and to the factor rule's $\theta_n$), to 1e-12;
* the whole law: a hand-made model (a table of marginals per state, with the same
  ties) and a recursion over states that enumerates every joint draw at each, for
  every one-model rule but MDLM (margin, entropy and EB scores do not depend on the
  draw: they keep the joint class choice, a single row per state): valid law,
  invalid mass, $\mathbb{E}[\mathrm{NFE}]$ and $H(q)$ to 1e-12;
* Monte Carlo of the real decoder (`decode_batch`, 20,000 keys at a fixed seed)
  within 5 standard errors (plus 3 counts for rare cells);
* the count rules' cut forms against the count functions themselves;
* the same model's law by the joint class choices, for Dream's schedule (steps that
  commit nothing), blocks and MDLM;
* support-only enumeration of adaptive samplers: the valid law and invalid mass of
  the whole tree, E[NFE] for top-k and NaN where the count reads the scores;
* the work: a level that the joint draws would put over `max_branches` passes.
"""

import functools
import itertools
import math
from collections import defaultdict

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from clitools import report, run
from test_simulation import assert_frequencies_match, task_rows, valid_law
from test_simulation_model import noisy_model

import trilemma as T
from trilemma.samplers import rules
from trilemma.simulation import _factorised, _model

QUANTUM = 2.0**-30


def grid(x: float) -> float:
    """The decoders compare scores rounded to multiples of 2^-30."""
    return round(x / QUANTUM) * QUANTUM


# --------------------------------------------------------------------------------------
# The plain reference: one step by joint draws


def draw_law(p, temperature):
    weights = [x ** (1.0 / temperature) if x > 0 else 0.0 for x in p]
    total = math.fsum(weights)
    return [w / total for w in weights]


def score(rule, p, v):
    """The score of drawing token `v` from the model's probabilities `p`."""
    kind = rule["score"]
    if kind == "confidence":
        return grid(p[v])
    if kind == "margin":
        top = sorted(p)
        return grid(top[-1] - top[-2])
    if kind == "entropy":  # minus the entropy, in nats
        return grid(math.fsum(x * math.log(x) for x in p if x > 0))
    raise AssertionError(kind)


def llada_count(k, block_size, left):
    """LLaDA's schedule: ceil(B/k) steps, the remainder first; the current step's."""
    steps = -(-block_size // k)
    counts = [block_size // steps + (i < block_size % steps) for i in range(steps)]
    done = block_size - left
    for c in counts:
        if done == 0:
            return c
        done -= c
    raise AssertionError("schedule overrun")


def count(rule, ranked, block_size):
    """How many positions a step commits, from the scores sorted high to low."""
    m, kind = len(ranked), rule["count"]
    if kind == "topk":
        return llada_count(rule["k"], block_size, m)
    if kind == "threshold":
        g = grid(rule["gamma"])
        passed = sum((z > g) if rule["strict"] else (z >= g) for z in ranked)
        return max(passed, 1)
    if kind == "factor":
        n = 1  # ranked[n] is the (n+1)-th score, tested against 1 - f/(n+2)
        while n < m and ranked[n] >= grid(1.0 - rule["factor"] / (n + 2)):
            n += 1
        if rule.get("quirk") and n == m - 1:
            n = m
        return n
    if kind == "eb":
        entropy = [-z for z in ranked]
        n = 1
        while n < m and grid(math.fsum(entropy[: n + 1]) - entropy[n]) <= grid(
            rule["gamma"]
        ):
            n += 1
        return n
    raise AssertionError(kind)


def joint_step(rule, marginals, eligible, block_size):
    """{(S, v_S): probability} from every joint draw of the eligible positions."""
    laws = {j: draw_law(marginals[j], rule["temperature"]) for j in eligible}
    out = defaultdict(float)
    choices = [[v for v, w in enumerate(laws[j]) if w > 0] for j in eligible]
    for draw in itertools.product(*choices):
        p = math.prod(laws[j][v] for j, v in zip(eligible, draw, strict=True))
        scores = {
            j: score(rule, marginals[j], v) for j, v in zip(eligible, draw, strict=True)
        }
        ranked = sorted(scores.values(), reverse=True)
        k = count(rule, ranked, block_size)
        kth = ranked[k - 1]
        above = [j for j in eligible if scores[j] > kth]
        tied = [j for j in eligible if scores[j] == kth]
        subsets = list(itertools.combinations(tied, k - len(above)))
        for subset in subsets:  # ties split uniformly
            chosen = tuple(sorted(above + list(subset)))
            tokens = tuple(draw[eligible.index(j)] for j in chosen)
            out[(chosen, tokens)] += p / len(subsets)
    return dict(out)


RULES = {
    "confidence_topk": lambda p: {"score": "confidence", "count": "topk", "k": p["k"]},
    "margin_topk": lambda p: {"score": "margin", "count": "topk", "k": p["k"]},
    "entropy_topk": lambda p: {"score": "entropy", "count": "topk", "k": p["k"]},
    "threshold": lambda p: {
        "score": "confidence",
        "count": "threshold",
        "gamma": p["gamma"],
        "strict": False,
    },
    "threshold_strict": lambda p: {
        "score": "confidence",
        "count": "threshold",
        "gamma": p["gamma"],
        "strict": True,
    },
    "factor": lambda p: {
        "score": "confidence",
        "count": "factor",
        "factor": p["factor"],
        "quirk": p.get("reference_quirk", False),
    },
    "eb": lambda p: {"score": "entropy", "count": "eb", "gamma": p["gamma"]},
}


def rule_of(name, params, temperature, block=None):
    return {**RULES[name](params), "temperature": temperature, "block": block}


# --------------------------------------------------------------------------------------
# Marginal tables with ties

TIED_ROWS = (
    (0.5, 0.25, 0.25, 0.0),  # = gamma 0.5; two tokens tie
    (2 / 3, 1 / 3, 0.0, 0.0),  # = theta_2 of factor 1
    (0.25, 0.25, 0.25, 0.25),  # every token ties
    (0.625, 0.125, 0.125, 0.125),  # = theta_3 of factor 1.5
)


def tied_table(rng, shape, vocab):
    """Random rows `(..., L, vocab)` with ties.

    About a third of the rows come from `TIED_ROWS`, and some states copy position
    0's row to position 1 (ties across positions).
    """
    table = rng.dirichlet(np.full(vocab, 0.6), size=shape)
    pick = rng.random(shape) < 0.35
    rows = np.array([list(r[:vocab]) + [0.0] * (vocab - 4) for r in TIED_ROWS])
    rows /= rows.sum(axis=1, keepdims=True)
    table[pick] = rows[rng.integers(len(rows), size=int(pick.sum()))]
    copy = rng.random(shape[:-1]) < 0.3
    table[copy, 1] = table[copy, 0]
    return table


ONE_STEP = [
    ("confidence_topk", {"k": 1}),
    ("confidence_topk", {"k": 2}),
    ("threshold", {"gamma": 0.5}),
    ("threshold_strict", {"gamma": 0.5}),
    ("threshold", {"gamma": 0.25}),
    ("factor", {"factor": 1.0}),
    ("factor", {"factor": 1.5}),
    ("factor", {"factor": 1.0, "reference_quirk": True}),
    ("margin_topk", {"k": 2}),
    ("entropy_topk", {"k": 1}),
]


@pytest.mark.parametrize("temperature", [1.0, 0.5, 2.0])
@pytest.mark.parametrize(("name", "params"), ONE_STEP)
def test_one_step_equals_the_joint_draws(name, params, temperature):
    """P(S, v_S | state) of `_factorised.commits` = the joint-draw sum, to 1e-12."""
    rng = np.random.default_rng(hash((name, temperature)) % 2**32)
    sampler = T.SAMPLERS[name](**params, temperature=temperature)
    rule = rule_of(name, params, temperature)
    num, length, vocab = 12, 4, 4
    probs = tied_table(rng, (num, length), vocab)
    eligible = np.ones((num, length), bool)
    eligible[::3, 2] = False  # a revealed position
    eligible[1::4, 0] = False
    block_size = eligible.sum(axis=1)  # each state starts a block of its eligible
    out = _factorised.commits(sampler, probs, eligible, block_size, np.zeros(num, int))
    assert (out.idle == 0).all()
    for s in range(num):
        where = [j for j in range(length) if eligible[s, j]]
        expected = joint_step(rule, probs[s].tolist(), where, len(where))
        mine = out.src == s
        got = defaultdict(float)
        rows = zip(out.selected[mine], out.tokens[mine], out.prob[mine], strict=True)
        for sel, tokens, p in rows:
            chosen = tuple(np.nonzero(sel)[0].tolist())
            assert (tokens[~sel] == -1).all()
            got[(chosen, tuple(tokens[list(chosen)].tolist()))] += p
        assert set(got) <= set(expected)
        for key, p in expected.items():
            assert abs(got.get(key, 0.0) - p) <= 1e-12, (s, key, got.get(key), p)
        assert abs(math.fsum(out.prob[mine]) - 1.0) <= 1e-12


def test_cut_forms_agree_with_the_count_rules():
    r"""The cut forms are the count rules: $w(z_S)\,1[W \lhd c] = P(K = k)$.

    $P(K = k)$ is the count function's own, on the ranked scores $(z_S, W, \dots,
    W)$; for every rule with a form, at scores on and off the cuts.
    """
    rng = np.random.default_rng(7)
    values = np.array([0.0, 0.2, 0.25, 0.5, 0.6, 0.625, 2 / 3, 0.7, 0.75, 0.9, 1.0])
    values = rules.quantize(values)
    samplers = [
        T.SAMPLERS[name](**params, temperature=1.0)
        for name, params in ONE_STEP[:8]
        if name != "margin_topk"
    ]
    length = 5
    for sampler in samplers:
        form = _factorised._FORMS[sampler.count.fn]
        for _ in range(400):
            m = int(rng.integers(1, length + 1))
            k = int(rng.integers(1, m + 1))
            z = np.sort(rng.choice(values, k))[::-1]
            w = float(rng.choice(values[values <= z[-1]]))
            scores = np.full(length, -np.inf)
            scores[:k], scores[k:m] = z, w
            pmf = np.asarray(
                sampler.count(scores[None], np.array([m]), np.array([length]), 0)
            )[0]
            ranked = np.full((1, length), -np.inf)
            ranked[0, :k] = z
            law = form.law(
                sampler.count,
                ranked,
                np.array([k]),
                np.array([m]),
                np.array([length]),
                np.array([0]),
            )
            admitted = (
                True
                if k == m
                else (w <= law.cut[0] if law.inclusive[0] else w < law.cut[0])
            )
            assert pmf[k] == law.weight[0] * admitted, (sampler.describe(), z, w, m)
            possible = form.sizes(
                sampler.count, np.array([m]), np.array([length]), np.array([0]), length
            )
            assert pmf[k] == 0 or possible[0, k]


# --------------------------------------------------------------------------------------
# The whole law: a table model against a recursion over joint draws


def table_logits(params, tokens):
    """Logits of the state's row of `params["table"]`: outputs read in base V."""
    table = params["table"]
    outputs = tokens[1:]  # after the one-token prefix (the prompt index)
    vocab = table.shape[-1]
    weights = vocab ** jnp.arange(outputs.shape[0], dtype=outputs.dtype)
    row = table[jnp.sum(outputs * weights)]
    return jnp.concatenate([jnp.zeros((1, vocab), row.dtype), row])


def table_model(task, seed):
    """A model whose marginals are a random table per state, with exact ties.

    The vocabulary adds the mask (inside it, never drawn) and a token outside every
    alphabet, so outputs leave the support.
    """
    layout = T.task_layout(task)
    assert layout.prefix_length == 1
    vocab = layout.vocab_size + 2
    length = len(task.outputs)
    rng = np.random.default_rng(seed)
    probs = tied_table(rng, (vocab**length, length), vocab - 1)
    probs = np.insert(probs, layout.mask_id, 0.0, axis=-1)  # the mask column
    with np.errstate(divide="ignore"):
        logits = np.log(probs)
    wide = T.TokenLayout(layout.prefixes, layout.sizes, vocab, layout.mask_id)
    return T.Model(table_logits, {"table": jnp.asarray(logits)}, wide, name="table")


def model_marginals(model):
    """`state -> (L, V)` lists: the model's softmax with the mask column removed."""
    layout = model.layout
    forward = jax.jit(model.logits_fn)

    @functools.cache
    def marginals(state):
        outputs = [layout.mask_id if v is None else v for v in state]
        tokens = np.concatenate([layout.prefixes[0], outputs]).astype(np.int32)
        logits = np.array(forward(model.params, jnp.asarray(tokens)), float)
        logits = logits[layout.prefix_length :]
        logits[:, layout.mask_id] = -np.inf
        p = np.exp(logits - logits.max(axis=-1, keepdims=True))
        return (p / p.sum(axis=-1, keepdims=True)).tolist()

    return marginals


def joint_law(rule, marginals, length):
    """({y: q(y)}, E[NFE]) by recursion over states, each by its joint draws."""

    @functools.cache
    def law_from(state):
        masked = [j for j in range(length) if state[j] is None]
        if not masked:
            return {state: 1.0}, 0.0
        block = rule["block"]
        if block is None:
            eligible, block_size = masked, length
        else:
            current = min(j // block for j in masked)
            eligible = [j for j in masked if j // block == current]
            block_size = min(block, length - current * block)
        law, nfe = defaultdict(float), [1.0]
        step = joint_step(rule, marginals(state), eligible, block_size)
        for (chosen, tokens), p in step.items():
            child = list(state)
            for j, v in zip(chosen, tokens, strict=True):
                child[j] = v
            child_law, child_nfe = law_from(tuple(child))
            for y, q in child_law.items():
                law[y] += p * q
            nfe.append(p * child_nfe)
        return dict(law), math.fsum(nfe)

    return law_from((None,) * length)


WHOLE = [
    ("confidence_topk", {"k": 1}, 1.0, None),
    ("confidence_topk", {"k": 2}, 0.5, None),
    ("confidence_topk", {"k": 1}, 1.0, 2),
    ("threshold", {"gamma": 0.5}, 1.0, None),
    ("threshold_strict", {"gamma": 0.5}, 1.0, None),
    ("threshold", {"gamma": 0.3}, 2.0, 2),
    ("factor", {"factor": 1.0}, 1.0, None),
    ("factor", {"factor": 1.5, "reference_quirk": True}, 0.7, None),
    ("margin_topk", {"k": 2}, 1.0, None),
    ("entropy_topk", {"k": 1}, 1.0, 2),
    ("eb", {"gamma": 0.7}, 1.0, None),
]


@pytest.mark.parametrize(("name", "params", "temperature", "block"), WHOLE)
def test_whole_law_on_a_table_model_equals_the_joint_draws(
    name, params, temperature, block
):
    """Valid law, invalid mass, E[NFE] and H(q) equal the recursion, to 1e-12."""
    task = T.make_task("random_joint", 3, vocab=3, seed=5, zeros=0.5)
    model = table_model(task, seed=11)
    sampler = T.SAMPLERS[name](**params, temperature=temperature, block=block)
    sim = T.simulate(task, sampler, model=model)
    law, nfe = joint_law(
        rule_of(name, params, temperature, block),
        model_marginals(model),
        len(task.outputs),
    )
    rows, _ = task_rows(task)
    q = valid_law(sim)
    assert set(q) <= set(rows)
    for y in rows:
        assert abs(q.get(y, 0.0) - law.get(y, 0.0)) <= 1e-12, y
    invalid = math.fsum(v for y, v in law.items() if y not in rows)
    assert invalid > 0.05  # the model leaves the support
    assert abs(sim.invalid_mass - invalid) <= 1e-12
    assert abs(sim.expected_nfe - nfe) <= 1e-12
    entropy = -math.fsum(v * math.log(v) for v in law.values() if v > 0)
    assert abs(sim.output_entropy - entropy) <= 1e-12


def test_the_table_model_has_ties_that_matter():
    """The thresholds' >= and > differ on this model: its ties at 0.5 are reached."""
    task = T.make_task("random_joint", 3, vocab=3, seed=5, zeros=0.5)
    model = table_model(task, seed=11)
    laws = [
        T.simulate(task, T.SAMPLERS[name](gamma=0.5, temperature=1.0), model=model)
        for name in ("threshold", "threshold_strict")
    ]
    assert abs(laws[0].expected_nfe - laws[1].expected_nfe) > 1e-3


# --------------------------------------------------------------------------------------
# Monte Carlo of the real decoder

NUM_KEYS = 20_000

MONTE_CARLO = [
    ("confidence_topk", {"k": 2, "temperature": 1.0}),
    ("threshold", {"gamma": 0.5, "temperature": 1.0}),
    ("threshold_strict", {"gamma": 0.5, "temperature": 0.5}),
    ("factor", {"factor": 1.0, "temperature": 1.0}),
]


@pytest.mark.parametrize(("name", "params"), MONTE_CARLO)
def test_table_model_agrees_with_monte_carlo(name, params):
    """Frequencies and mean NFE of 20,000 decodes are within 5 SE of the exact law."""
    task = T.make_task("random_joint", 3, vocab=3, seed=5, zeros=0.5)
    model = table_model(task, seed=11)
    sampler = T.SAMPLERS[name](**params)
    sim = T.simulate(task, sampler, model=model)
    tokens = np.tile(model.layout.initial_tokens(0), (NUM_KEYS, 1))
    keys = jax.random.split(jax.random.key(2026), NUM_KEYS)
    out, nfe, *_ = T.decode_batch(sampler, model, keys, tokens)
    out, nfe = np.asarray(out), np.asarray(nfe, float)
    assert_frequencies_match(out[:, 1:], sim)
    standard_error = nfe.std(ddof=1) / math.sqrt(NUM_KEYS)
    assert abs(nfe.mean() - sim.expected_nfe) <= 5 * standard_error + 1e-9


class _JointOnly(_model._ModelEnumerator):
    """The model enumerator with every state on the joint class choices."""

    def __init__(self, *args):
        super().__init__(*args)
        self.factorised = False


BOTH_WAYS = [
    ("confidence_topk", {"k": 2, "block": 2}),
    ("confidence_topk", {"num_steps": 4, "eps": 0.0}),  # Dream's: a free first step
    ("confidence_topk", {"num_steps": 2, "eps": 0.1, "float32": True}),
    ("threshold_strict", {"gamma": 0.25}),
    ("factor", {"factor": 2.0, "block": 2}),
    ("mdlm", {"num_steps": 3}),
]


@pytest.mark.parametrize(("name", "params"), BOTH_WAYS)
def test_factorised_equals_the_joint_class_choices(name, params):
    """The same model's law both ways, for the rules the plain recursion lacks.

    Dream's schedule (steps that commit nothing, on a time grid), blocks, and MDLM:
    valid law, invalid mass, E[NFE] and H(q) to 1e-12.
    """
    task = T.make_task("random_joint", 3, vocab=3, seed=5, zeros=0.5)
    model = table_model(task, seed=12)
    sampler = T.SAMPLERS[name](**params, temperature=1.0)
    limits = (T.simulation.DEFAULT_MAX_BRANCHES, 10**6, False)
    joint = _JointOnly(task, sampler, model, *limits).run(False)
    mine = T.simulate(task, sampler, model=model)
    _, q_joint = joint.aligned()
    _, q_mine = mine.aligned()
    np.testing.assert_allclose(q_mine, q_joint, rtol=0, atol=1e-12)
    assert abs(mine.expected_nfe - joint.expected_nfe) <= 1e-12
    assert abs(mine.output_entropy - joint.output_entropy) <= 1e-12
    assert joint.invalid_mass > 0.05


# --------------------------------------------------------------------------------------
# Support-only enumeration and the work


ADAPTIVE = [
    ("confidence_topk", {"k": 1}),
    ("confidence_topk", {"k": 2}),
    ("confidence_topk", {"num_steps": 4, "eps": 0.0}),  # Dream's: a free first step
    ("margin_topk", {"k": 1}),
    ("threshold", {"gamma": 0.4}),
    ("factor", {"factor": 1.0}),
    ("eb", {"gamma": 0.5}),
]


@pytest.mark.parametrize(("name", "params"), ADAPTIVE)
def test_support_only_equals_the_whole_tree_for_adaptive_samplers(name, params):
    """The valid law and invalid mass of the whole tree; E[NFE] where it is known."""
    task = T.make_task("shuffle", 3)
    model = noisy_model(task, seed=4)
    sampler = T.SAMPLERS[name](**params, temperature=1.0)
    whole = T.simulate(task, sampler, model=model)
    pruned = T.simulate(task, sampler, model=model, support_only=True)
    q_whole, q_pruned = valid_law(whole), valid_law(pruned)
    assert set(q_pruned) == set(q_whole)
    for y, v in q_whole.items():
        assert abs(q_pruned[y] - v) <= 1e-12, y
    assert abs(pruned.invalid_mass - whole.invalid_mass) <= 1e-12
    assert whole.invalid_mass > 0.05 and pruned.states_visited < whole.states_visited
    assert pruned.output_entropy is None
    if name.endswith("topk"):  # the count schedule never reads the model
        assert abs(pruned.expected_nfe - whole.expected_nfe) <= 1e-12
    else:  # dropped trajectories' steps depend on model calls never made
        assert math.isnan(pruned.expected_nfe)


@pytest.mark.parametrize(
    ("name", "params", "most"),
    [
        ("confidence_topk", {"k": 1}, 5 * 53),
        ("confidence_topk", {"k": 2}, 10 * 53**2),
        ("threshold", {"gamma": 0.5}, 5 * 53 + 2**5),
        ("factor", {"factor": 1.0}, 5 * 53 + 2**5),
    ],
)
def test_the_rows_built_are_committed_sets_not_joint_draws(name, params, most):
    """At L = 5 and V' = 53 a step builds at most its committed sets' rows.

    The joint draws of five positions are 53^5 (about 4e8); top-k builds the
    C(5, k) 53^k committed sets, threshold and factor the 5 x 53 top-1 sets plus at
    most one passing token per position (every other token has p < 1/2 <= gamma,
    theta_2), and the rows sum to one.
    """
    rng = np.random.default_rng(3)
    probs = rng.dirichlet(np.full(53, 0.05), size=(1, 5))
    probs[0, :2, :3] = [0.6, 0.3, 0.1] * np.ones((2, 1))  # two confident positions
    probs[0, :2, 3:] = 0.0
    sampler = T.SAMPLERS[name](**params, temperature=1.0)
    rows = []
    out = _factorised.commits(
        sampler,
        probs,
        np.ones((1, 5), bool),
        np.array([5]),
        np.array([0]),
        guard=rows.append,
    )
    assert max(rows) <= most
    assert abs(math.fsum(out.prob) - 1.0) <= 1e-12


# --------------------------------------------------------------------------------------
# The command line


@pytest.mark.parametrize(
    ("name", "params", "nfe"),
    [
        ("confidence_topk", {"k": 1}, 3.0),
        ("threshold", {"gamma": 0.5}, None),
        ("factor", {"factor": 1.0}, None),
    ],
)
def test_cli_support_only_on_a_trained_model(tiny_models, capsys, name, params, nfe):
    """`trilemma simulate --model FOLDER --support-only` for the adaptive samplers.

    The valid law is the library's; E[NFE] is reported for top-k and is null (JSON)
    or "n/a" (text) where the count reads the scores.
    """
    from trilemma.models import weights

    folder = tiny_models / "denoiser"
    flags = [f"--{key}={value}" for key, value in params.items()]
    argv = ["simulate", "shuffle", "--n", "3", "--model", str(folder)]
    argv += ["--sampler", name, *flags, "--temperature", "1", "--support-only"]
    got = report(argv, capsys)
    loaded = weights.load_model(folder)
    task = loaded.task_set.evaluation_pair("shuffle", 3, num_prompts=1)[0]
    sampler = T.make_sampler(name, **params, temperature=1.0)
    sim = T.simulate(task, sampler, model=loaded.model(task), support_only=True)
    assert 0 < sim.invalid_mass < 1
    assert abs(got["precision"] - (1.0 - sim.invalid_mass)) <= 1e-12
    if nfe is None:
        assert got["expected_nfe"] is None and got["tokens_per_step"] is None
    else:
        assert abs(got["expected_nfe"] - nfe) <= 1e-12
    code, out, _ = run(argv, capsys)
    assert code == 0
    assert ("speed      n/a" in out) == (nfe is None)
