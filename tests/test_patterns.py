"""Answer patterns of the list tasks and the pooled pattern law (trilemma.patterns).

The brute forces here are written from the task rules (ParallelBench §4.1), not from
the module: a shuffle applies any permutation, insert puts W at a position, remove
drops one, replace overwrites one; the indexed tasks do it at the asked index.
"""

import itertools
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import trilemma as T
from trilemma import patterns as P

LIST_TASKS = P.PATTERN_TASKS
INDEXED = {"insert_index": 1, "remove_index": 0, "replace_index": 0}
NEW_ITEM = ("insert_index", "insert_random", "replace_index", "replace_random")
SMALLEST = {"remove_index": 2, "remove_random": 2, "shuffle_distinct": 2}


def brute_force_law(name, n):
    """p*'s pattern law written down from the task rule."""
    perms = list(itertools.permutations(range(n)))
    identity, reversal = tuple(range(n)), tuple(range(n - 1, -1, -1))
    if name in ("copy", "sort"):
        return {identity: 1.0}  # copy keeps the order; sort is the sorted order
    if name == "reverse":
        return {reversal: 1.0}
    if name == "shuffle":
        return {p: 1 / len(perms) for p in perms}
    if name == "shuffle_distinct":
        return {p: 1 / (len(perms) - 1) for p in perms if p != identity}
    if name == "insert_random":
        return {j: 1 / (n + 1) for j in range(n + 1)}
    if name in ("remove_random", "replace_random"):
        return {k: 1 / n for k in range(n)}
    return {0: 1.0}  # the indexed tasks: the edit lands on the asked index


def apply(name, items, pattern, new_item, index):
    """The output a pattern describes (the inverse map), from the task rule."""
    if isinstance(pattern, tuple):
        source = sorted(items) if name == "sort" else items
        return [source[j] for j in pattern]
    at = pattern + (index or 0)
    if name.startswith("insert"):
        return items[:at] + [new_item] + items[at:]
    if name.startswith("remove"):
        return items[:at] + items[at + 1 :]
    return items[:at] + [new_item] + items[at + 1 :]


def canonical_parts(task, row):
    """(items, W, index) of a `make_task` prompt row: items 0..n-1, W = n."""
    n = task.n
    items = [int(v) for v in row[:n]]
    new_item = n if task.name in NEW_ITEM else None
    index = int(row[n]) if task.name in INDEXED else None
    return items, new_item, index


def plain_entropy(law):
    return -math.fsum(p * math.log(p) for p in law.values() if p > 0)


def plain_tv(a, b):
    return 0.5 * math.fsum(abs(a.get(k, 0) - b.get(k, 0)) for k in set(a) | set(b))


def plain_recall(law, ref):
    return math.fsum(p for k, p in ref.items() if law.get(k, 0) > 0)


# --------------------------------------------------------------------------------------
# p*'s pattern law and the bijection


@pytest.mark.parametrize("name", LIST_TASKS)
@pytest.mark.parametrize("n", [2, 3, 4, 5])
def test_pattern_law_equals_the_brute_force(name, n):
    law = P.pattern_law(name, n)
    expected = brute_force_law(name, n)
    assert set(law) == set(expected)
    for key, value in expected.items():
        assert abs(law[key] - value) <= 1e-12, (key, law[key], value)


@pytest.mark.parametrize("name", LIST_TASKS)
def test_valid_outputs_map_one_to_one_onto_patterns(name):
    """Valid output -> pattern is one-to-one on every prompt, and pushes p* forward.

    On every prompt of the exact joint (all rotations, all indices, n <= 5) the map
    is one-to-one, it inverts the task rule, and p*(.|x) pushed forward is p*'s
    pattern law; `token_patterns` reads the rows the same way.
    """
    for n in range(SMALLEST.get(name, 1), 6):
        task = T.make_task(name, n, num_prompts=n)
        outcomes = np.asarray(task.joint.outcomes).astype(int)
        probs = np.asarray(task.joint.probs, float)
        law = P.pattern_law(name, n)
        library = P.token_patterns(task, outcomes[:, 0], outcomes[:, 1:])
        for x, row in enumerate(task.prompts):
            items, new_item, index = canonical_parts(task, row)
            here = np.flatnonzero(outcomes[:, 0] == x)
            pushed = {}
            seen = set()
            for r in here:
                output = outcomes[r, 1:].tolist()
                pattern = P.answer_pattern(
                    name, items, output, new_item=new_item, index=index
                )
                assert pattern is not None and pattern not in seen, (n, x, output)
                assert library[r] == pattern
                assert apply(name, items, pattern, new_item, index) == output
                seen.add(pattern)
                pushed[pattern] = (
                    pushed.get(pattern, 0.0) + probs[r] / probs[here].sum()
                )
            assert set(pushed) == set(law), (n, x)
            for key in law:
                assert abs(pushed[key] - law[key]) <= 1e-12


WRONG_EDITS = {
    "copy": (1, 0, 2),
    "sort": (2, 1, 0),
    "reverse": (0, 1, 2),
    "shuffle_distinct": (0, 1, 2),
    "insert_index": 1,
    "remove_index": 1,
    "replace_index": 2,
}
"""A well-formed but wrong pattern of each task that has one at n = 3 (index 0)."""


@pytest.mark.parametrize("name", LIST_TASKS)
def test_per_prompt_values_over_patterns_equal_those_over_outputs(name):
    """Per-prompt TV, recall and valid entropy are the same over patterns and outputs.

    For one prompt and a law q over its valid outputs, a well-formed wrong one and
    malformed ones: so is the entropy with one malformed output, and it is strictly
    lower over patterns with two (they merge into None).
    """
    n = 3
    items, index = ["Ann", "Bob", "Cal"], (0 if name in INDEXED else None)
    new_item = "Eve" if name in NEW_ITEM else None
    ref = P.pattern_law(name, n)
    p_star = {tuple(apply(name, items, k, new_item, index)): v for k, v in ref.items()}
    outputs = list(p_star)
    if name in WRONG_EDITS:
        outputs.append(tuple(apply(name, items, WRONG_EDITS[name], new_item, index)))
    malformed = [("Ann", "Ann", "Ann", "Ann"), ("Zed",)]
    rng = np.random.default_rng(len(name))
    weights = rng.dirichlet(np.ones(len(outputs) + 2))
    for num_malformed in (1, 2):
        cells = outputs + malformed[:num_malformed]
        q = dict(
            zip(cells, weights[: len(cells)] / weights[: len(cells)].sum(), strict=True)
        )
        q_pat = {}
        for y, v in q.items():
            k = P.answer_pattern(name, items, list(y), new_item=new_item, index=index)
            q_pat[k] = q_pat.get(k, 0.0) + v
        assert q_pat.get(None, 0.0) == pytest.approx(
            sum(q[y] for y in malformed[:num_malformed])
        )
        assert abs(plain_tv(q, p_star) - plain_tv(q_pat, ref)) <= 1e-12
        assert abs(plain_recall(q, p_star) - plain_recall(q_pat, ref)) <= 1e-12
        valid = {y: v for y, v in q.items() if y in p_star}
        valid_pat = {k: v for k, v in q_pat.items() if k in ref}
        scale, scale_pat = sum(valid.values()), sum(valid_pat.values())
        assert (
            abs(
                plain_entropy({y: v / scale for y, v in valid.items()})
                - plain_entropy({k: v / scale_pat for k, v in valid_pat.items()})
            )
            <= 1e-12
        )
        if num_malformed == 1:
            assert abs(plain_entropy(q) - plain_entropy(q_pat)) <= 1e-12
        else:
            assert plain_entropy(q_pat) < plain_entropy(q) - 1e-6


def test_answer_patterns_of_hand_written_answers():
    ann = ["Ann", "Bob", "Cal", "Dee"]
    assert P.answer_pattern("shuffle", ann, ["Dee", "Ann", "Cal", "Bob"]) == (
        3,
        0,
        2,
        1,
    )
    assert P.answer_pattern("shuffle", ann, ["Dee", "Ann", "Cal", "Cal"]) is None
    assert P.answer_pattern("shuffle", ann, ["Dee", "Ann", "Cal"]) is None
    assert P.answer_pattern("sort", ["Cal", "Ann", "Bob"], ["Ann", "Bob", "Cal"]) == (
        0,
        1,
        2,
    )
    assert P.answer_pattern("reverse", ann, ann[::-1]) == (3, 2, 1, 0)
    assert P.answer_pattern("copy", ann, None) is None
    # inserting at index 2 (0-based) and one place off
    ins = dict(new_item="Eve", index=2)
    assert (
        P.answer_pattern(
            "insert_index", ann, ["Ann", "Bob", "Eve", "Cal", "Dee"], **ins
        )
        == 0
    )
    assert (
        P.answer_pattern(
            "insert_index", ann, ["Ann", "Eve", "Bob", "Cal", "Dee"], **ins
        )
        == -1
    )
    assert (
        P.answer_pattern(
            "insert_index", ann, ["Ann", "Eve", "Cal", "Bob", "Dee"], **ins
        )
        is None
    )
    assert P.answer_pattern("insert_random", ann, ["Eve", *ann], new_item="Eve") == 0
    assert P.answer_pattern("insert_random", ann, ["Zed", *ann], new_item="Eve") is None
    assert P.answer_pattern("remove_random", ann, ["Ann", "Bob", "Cal"]) == 3
    assert P.answer_pattern("remove_random", ann, ["Bob", "Cal", "Dee"]) == 0
    assert P.answer_pattern("remove_random", ann, ["Bob", "Ann", "Dee"]) is None
    assert P.answer_pattern("remove_index", ann, ["Ann", "Cal", "Dee"], index=3) == -2
    rep = dict(new_item="Eve")
    assert (
        P.answer_pattern("replace_random", ann, ["Ann", "Eve", "Cal", "Dee"], **rep)
        == 1
    )
    assert P.answer_pattern("replace_random", ann, ann, **rep) is None
    assert (
        P.answer_pattern("replace_random", ann, ["Eve", "Eve", "Cal", "Dee"], **rep)
        is None
    )
    assert (
        P.answer_pattern(
            "replace_index", ann, ["Ann", "Eve", "Cal", "Dee"], new_item="Eve", index=3
        )
        == -2
    )
    # tokens as NumPy arrays work as lists
    assert P.answer_pattern("shuffle", np.arange(3), np.array([2, 0, 1])) == (2, 0, 1)


# --------------------------------------------------------------------------------------
# The theorem: pooled values bound the per-prompt ones


CASES = [("shuffle_distinct", 3), ("shuffle", 3), ("insert_random", 3)]
CASES += [("remove_index", 3), ("reverse", 3), ("replace_random", 4)]


def cells_of(name, n):
    """Every well-formed pattern of (name, n), and None."""
    if name in ("copy", "sort", "reverse", "shuffle", "shuffle_distinct"):
        return [*itertools.permutations(range(n)), None]
    top = n if name.startswith("insert") else n - 1
    low = -top if name in INDEXED else 0
    return [*range(low, top + 1), None]


@st.composite
def pattern_laws(draw):
    """A task and P per-prompt pattern laws over its cells (sparse: zeros allowed)."""
    name, n = draw(st.sampled_from(CASES))
    cells = cells_of(name, n)
    num_prompts = draw(st.integers(1, 5))
    laws = []
    for _ in range(num_prompts):
        raw = draw(
            st.lists(
                st.one_of(st.just(0.0), st.floats(0.01, 1.0)),
                min_size=len(cells),
                max_size=len(cells),
            ).filter(lambda w: sum(w) > 0)
        )
        total = math.fsum(raw)
        laws.append({c: w / total for c, w in zip(cells, raw, strict=True) if w > 0})
    return name, n, laws


@settings(max_examples=60)
@given(pattern_laws())
def test_the_pooled_law_bounds_the_per_prompt_values(case):
    r"""The pooled pattern law bounds the mean per-prompt entropy, recall and TV.

    For per-prompt pattern laws $q_1..q_P$ and $\bar p = \frac1P\sum_x q_x$:
    $H(\bar p) \ge \frac1P\sum_x H(q_x)$ (concavity of entropy);
    $H(\bar p(\cdot|V)) \ge \sum_x v_x H(q_x(\cdot|V))$ with $v_x \propto q_x(V)$;
    $p^*(\mathrm{supp}\,\bar p) \ge \frac1P\sum_x p^*(\mathrm{supp}\,q_x)$
    (each support lies in the union); and
    $TV(\bar p, p^*) \le \frac1P\sum_x TV(q_x, p^*)$ (convexity of TV).
    Checked on plain computations, which `pattern_bounds` must reproduce.
    """
    name, n, laws = case
    ref = P.pattern_law(name, n)
    num = len(laws)
    pooled = {}
    for law in laws:
        for k, v in law.items():
            pooled[k] = pooled.get(k, 0.0) + v / num
    h_pooled = plain_entropy(pooled)
    h_mean = math.fsum(plain_entropy(q) for q in laws) / num
    r_pooled = plain_recall(pooled, ref)
    r_mean = math.fsum(plain_recall(q, ref) for q in laws) / num
    tv_pooled = plain_tv(pooled, ref)
    tv_mean = math.fsum(plain_tv(q, ref) for q in laws) / num
    assert h_pooled >= h_mean - 1e-12
    assert r_pooled >= r_mean - 1e-12
    assert tv_pooled <= tv_mean + 1e-12
    bounds = P.pattern_bounds(name, n, laws)
    got = (bounds.pooled_entropy, bounds.mean_entropy, bounds.pooled_recall)
    want = (h_pooled, h_mean, r_pooled)
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-14)
    got = (bounds.mean_recall, bounds.pooled_tv, bounds.mean_tv)
    np.testing.assert_allclose(
        got, (r_mean, tv_pooled, tv_mean), rtol=1e-12, atol=1e-14
    )
    if not math.isnan(bounds.pooled_valid_entropy):
        assert bounds.pooled_valid_entropy >= bounds.weighted_valid_entropy - 1e-12


@settings(max_examples=30)
@given(pattern_laws(), st.integers(2, 6))
def test_the_bounds_are_equalities_when_every_prompt_has_one_law(case, copies):
    r"""The bounds are equalities for an exchangeable model ($q_x = q$ for all $x$).

    Then $\bar p = q$, and the pooled entropy, valid entropy, recall and TV equal
    their per-prompt means.
    """
    name, n, laws = case
    bounds = P.pattern_bounds(name, n, [laws[0]] * copies)
    assert abs(bounds.pooled_entropy - bounds.mean_entropy) <= 1e-12
    assert abs(bounds.pooled_recall - bounds.mean_recall) <= 1e-12
    assert abs(bounds.pooled_tv - bounds.mean_tv) <= 1e-12
    if not math.isnan(bounds.pooled_valid_entropy):
        diff = bounds.pooled_valid_entropy - bounds.weighted_valid_entropy
        assert abs(diff) <= 1e-12


def test_mixing_two_point_masses_is_a_strict_gap():
    """Greedy answers that differ across prompts: per-prompt entropy 0, pooled log 2."""
    ref = P.pattern_law("shuffle_distinct", 3)
    a, b = list(ref)[:2]
    bounds = P.pattern_bounds("shuffle_distinct", 3, [{a: 1.0}, {b: 1.0}])
    assert bounds.mean_entropy == 0 and abs(bounds.pooled_entropy - math.log(2)) < 1e-12
    assert (
        abs(bounds.mean_recall - 0.2) < 1e-12
        and abs(bounds.pooled_recall - 0.4) < 1e-12
    )
    assert abs(bounds.mean_tv - 0.8) < 1e-12 and abs(bounds.pooled_tv - 0.6) < 1e-12


# --------------------------------------------------------------------------------------
# Trilemma's own samplers: exchangeable on the ideal model, not on the shipped one


@pytest.mark.parametrize("n", [3, 4])
@pytest.mark.parametrize(
    ("sampler", "params"),
    [("random_topk", {"k": 1, "temperature": 1.0}), ("confidence_topk", {"k": 2})],
)
def test_the_ideal_model_is_exchangeable_so_pooled_equals_per_prompt(
    n, sampler, params
):
    """On the oracle every rotation has one pattern law, so pooled = per prompt.

    Each prompt's law equals the pooled law to 1e-12 and the bounds are equalities;
    the per-prompt values over patterns equal `simulate`'s over outputs; random
    top-k with k = 1 at T = 1 samples p* itself.
    """
    task = T.make_task("shuffle_distinct", n, num_prompts=n)
    sim = T.simulate(task, T.make_sampler(sampler, **params))
    laws = P.exact_pattern_laws(task, sim.outputs.outcomes, sim.outputs.probs)
    bounds = P.pattern_bounds("shuffle_distinct", n, laws)
    for law in laws:
        assert set(law) == set(bounds.pooled)
        for key, value in law.items():
            assert abs(value - bounds.pooled[key]) <= 1e-12
    assert abs(bounds.pooled.get(None, 0.0) - sim.invalid_mass) <= 1e-12
    assert abs(bounds.pooled_entropy - bounds.mean_entropy) <= 1e-12
    assert abs(bounds.pooled_tv - bounds.mean_tv) <= 1e-12
    assert abs(bounds.pooled_recall - bounds.mean_recall) <= 1e-12
    point = sim.point()  # the per-prompt (output) values equal the pattern ones
    assert abs(point.tv - bounds.mean_tv) <= 1e-12
    assert abs(point.recall - bounds.mean_recall) <= 1e-12
    assert abs(point.valid_entropy - bounds.weighted_valid_entropy) <= 1e-12
    if sampler == "random_topk":
        ref = P.pattern_law("shuffle_distinct", n)
        assert all(abs(bounds.pooled[k] - v) <= 1e-12 for k, v in ref.items())


def test_the_shipped_model_is_not_exchangeable():
    """The shipped denoiser, greedy, is not exchangeable: the bounds are strict.

    Confidence top-k (k = 1) on 8 held-in pooled Shuffle n = 4 prompts: each
    prompt's answer is fixed (entropy 0) but the answers differ across prompts, so
    the pooled entropy is strictly above the mean, the pooled TV strictly below and
    the pooled recall strictly above; the per-prompt values equal `simulate`'s.
    """
    from trilemma.models import weights

    denoiser = weights.resolve_model("default", "denoiser")
    task = denoiser.task_set.evaluation_pair("shuffle", 4, num_prompts=8)[0]
    sim = T.simulate(
        task, T.make_sampler("confidence_topk", k=1), model=denoiser.model(task)
    )
    size = task.joint.sizes[1]
    laws = P.exact_pattern_laws(
        task, sim.outputs.outcomes, sim.outputs.probs, pool_size=size
    )
    bounds = P.pattern_bounds("shuffle", 4, laws)
    point = sim.point()
    assert abs(bounds.mean_tv - point.tv) <= 1e-12
    assert abs(bounds.mean_recall - point.recall) <= 1e-12
    assert bounds.mean_entropy <= 1e-12  # greedy: one answer per prompt
    assert bounds.pooled_entropy > 0.5
    assert bounds.pooled_tv < bounds.mean_tv - 0.1
    assert bounds.pooled_recall > bounds.mean_recall + 0.1


# --------------------------------------------------------------------------------------
# Estimates from one answer per prompt


def test_interval_coverage_on_a_known_exchangeable_law():
    """The 95% intervals cover a known exchangeable law at least 0.95 - 3 SE.

    150 sample sets of N = 500 answers from a known pooled law (Shuffle n = 3 with
    the identity and malformed answers), draw seeds (17, r) and bootstrap seed r for
    r < 150; SE of a proportion over 150 sets. These sets cover at 0.94 (entropy),
    0.98 (valid entropy), 0.96 (TV), 1.0 (recall); over 1,000 other sets at 0.940,
    0.937, 0.932, 1.0. The plug-in entropy is biased low.
    """
    ref = list(P.pattern_law("shuffle_distinct", 3))
    cells = [*ref, (0, 1, 2), None]
    probs = np.array([0.3, 0.25, 0.15, 0.1, 0.02, 0.1, 0.08])
    bounds = P.pattern_bounds(
        "shuffle_distinct", 3, [dict(zip(cells, probs, strict=True))]
    )
    truth = {
        "entropy": bounds.pooled_entropy,
        "valid_entropy": bounds.pooled_valid_entropy,
        "tv": bounds.pooled_tv,
        "recall": bounds.pooled_recall,
    }
    repeats, num, level = 150, 500, 0.95
    hits = dict.fromkeys(truth, 0)
    plugin_bias = 0.0
    for r in range(repeats):
        rng = np.random.default_rng([17, r])
        drawn = [cells[i] for i in rng.choice(len(cells), size=num, p=probs)]
        est = P.pooled_pattern_estimates(
            "shuffle_distinct", 3, drawn, num_bootstrap=200, seed=r, level=level
        )
        for name, value in truth.items():
            interval = getattr(est, name)
            hits[name] += interval.ci_low - 1e-12 <= value <= interval.ci_high + 1e-12
        plugin_bias += (est.plugin_entropy.estimate - truth["entropy"]) / repeats
    se = math.sqrt(level * (1 - level) / repeats)
    for name, count in hits.items():
        assert count / repeats >= level - 3 * se, (name, count / repeats)
    assert plugin_bias < 0  # about -(K - 1) / 2N = -0.006 nats


def test_collapse_is_concluded_from_few_patterns():
    """Greedy-like answers: two rearrangements of Shuffle n = 4 over 100 prompts."""
    ref = list(P.pattern_law("shuffle_distinct", 4))
    drawn = [ref[0]] * 60 + [ref[5]] * 38 + [None] * 2
    est = P.pooled_pattern_estimates("shuffle_distinct", 4, drawn, greedy=True)
    assert est.conclusion == "collapse" and not est.undersampled
    assert est.valid_entropy.ci_high < est.reference_entropy - 1.0
    assert est.entropy_drop_bound.ci_low > 1.0
    assert est.num_valid_patterns_seen == 2 and est.reference_support == 23
    assert abs(est.malformed.estimate - 0.02) < 1e-12
    assert abs(est.invalid.estimate - 0.02) < 1e-12
    assert list(est.law)[:2] == [ref[0], ref[5]]
    assert "zero by construction" in est.message and "Mode collapse" in est.message
    quiet = P.pooled_pattern_estimates("shuffle_distinct", 4, drawn)
    assert "zero by construction" not in quiet.message


def test_samples_of_p_star_are_not_called_a_collapse():
    rng = np.random.default_rng(3)
    ref = P.pattern_law("shuffle_distinct", 4)
    keys = list(ref)
    drawn = [keys[i] for i in rng.integers(0, len(keys), 1000)]
    est = P.pooled_pattern_estimates("shuffle_distinct", 4, drawn)
    assert est.conclusion == "inconclusive" and not est.undersampled
    assert (
        est.valid_entropy.ci_low <= est.reference_entropy <= est.valid_entropy.ci_high
    )
    assert est.tv.ci_low == 0.0 and est.recall.ci_high == 1.0


def test_an_undersampled_law_is_not_called_a_collapse():
    """An undersampled law is not called a collapse.

    100 answers drawn uniformly from Shuffle n = 6's 720 patterns: the entropy
    estimate falls well below p*'s (the estimator's low bias, not the model's), so
    the conclusion must be refused on sample size alone.
    """
    rng = np.random.default_rng(4)
    perms = list(P.pattern_law("shuffle", 6))
    drawn = [perms[i] for i in rng.integers(0, len(perms), 100)]
    est = P.pooled_pattern_estimates("shuffle", 6, drawn)
    assert est.valid_entropy.ci_high < est.reference_entropy - 0.1  # biased low
    assert est.undersampled and est.conclusion == "inconclusive"
    assert "biased low" in est.message


def test_a_task_with_one_valid_pattern_has_no_diversity_to_lose():
    est = P.pooled_pattern_estimates("copy", 3, [(0, 1, 2)] * 9 + [(1, 0, 2)])
    assert est.conclusion == "no_diversity" and est.reference_entropy == 0.0
    assert abs(est.invalid.estimate - 0.1) < 1e-12 and est.malformed.estimate == 0.0


# --------------------------------------------------------------------------------------
# Errors


def test_errors_name_the_argument():
    ann = ["Ann", "Bob", "Cal"]
    with pytest.raises(ValueError, match="Unknown `task_name` 'shufle'"):
        P.answer_pattern("shufle", ann, ann)
    for name in ("latin_square", "sudoku"):
        with pytest.raises(ValueError, match=f"{name}' has no answer patterns"):
            P.pattern_law(name, 3)
    with pytest.raises(ValueError, match="`n` must be"):
        P.pattern_law("remove_random", 1)
    with pytest.raises(ValueError, match="`n` must be"):
        P.pattern_law("shuffle", 9)
    with pytest.raises(ValueError, match="`patterns` is empty"):
        P.pooled_pattern_estimates("shuffle", 3, [])
    with pytest.raises(ValueError, match=r"`patterns\[1\]`.*tuple permutation of 0..2"):
        P.pooled_pattern_estimates("shuffle", 3, [(0, 1, 2), (0, 1)])
    with pytest.raises(ValueError, match=r"`patterns\[0\]`.*integer in \[-3, 3\]"):
        P.pooled_pattern_estimates("insert_index", 3, [4])
    with pytest.raises(ValueError, match="`prompt_items`.*at least 2"):
        P.answer_pattern("remove_random", ["Ann"], [])
    with pytest.raises(ValueError, match="`prompt_items` must be distinct"):
        P.answer_pattern("shuffle", ["Ann", "Ann"], ["Ann", "Ann"])
    with pytest.raises(ValueError, match="`new_item` is required"):
        P.answer_pattern("insert_random", ann, ann)
    with pytest.raises(ValueError, match="`new_item` 'Ann' must not be one of"):
        P.answer_pattern("replace_random", ann, ann, new_item="Ann")
    with pytest.raises(ValueError, match="takes no `new_item`"):
        P.answer_pattern("copy", ann, ann, new_item="Eve")
    with pytest.raises(ValueError, match="`index` is required"):
        P.answer_pattern("remove_index", ann, ann[1:])
    with pytest.raises(ValueError, match="`index` must be"):
        P.answer_pattern("remove_index", ann, ann[1:], index=3)
    with pytest.raises(ValueError, match=r"`laws\[0\]` must sum to 1"):
        P.pattern_bounds("shuffle", 2, [{(0, 1): 0.5}])
    task = T.make_task("remove_index", 3)
    with pytest.raises(ValueError, match="`outputs` must have shape"):
        P.token_patterns(task, np.zeros(2, int), np.zeros((3, 2), int))
    with pytest.raises(ValueError, match="`task.prompts` row 0 must be pooled_task"):
        P.token_patterns(task, np.zeros(1, int), np.zeros((1, 2), int), pool_size=8)
    with pytest.raises(ValueError, match="`task.name` 'cities' has no answer patterns"):
        P.token_patterns(T.make_task("cities"), np.zeros(1, int), np.zeros((1, 2), int))


@pytest.mark.parametrize("k", [2, 3, 4, 6])
def test_low_entropy_test_is_exact_on_identical_answers(k):
    """Identical valid answers of replace_random n=3 (p*: uniform on 3 patterns).

    The plug-in entropy is 0, and draws from p* reach 0 exactly when all k are
    equal: probability 3 * (1/3)^k. The Monte Carlo p-value (4000 draws) is within
    4 standard errors of it, and collapse is claimed only when it is below 0.05.
    """
    e = P.pooled_pattern_estimates("replace_random", 3, [1] * k, num_bootstrap=50)
    exact = 3.0 ** (1 - k)
    se = math.sqrt(exact * (1 - exact) / P.NULL_DRAWS)
    assert abs(e.low_entropy_p_value - exact) <= 4 * se + 1 / P.NULL_DRAWS
    if exact > 0.05 + 4 * se:
        assert e.conclusion == "inconclusive"
