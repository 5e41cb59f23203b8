"""C(Y|X) and L_T from samples: `total_correlation_estimate`, `t_step_bound_estimate`.

Samples are drawn with NumPy from an exact law p*(x, y) given as a `SparseJoint`
(a task's `.joint`, or the full-support law of REFERENCE 6.3's check), prompt by
prompt, so every estimate has an exact counterpart in `trilemma.metrics`. Every
statistical tolerance is a multiple of a standard error, with fixed seeds.
"""

import itertools
import math

import jax
import numpy as np
import pytest

from trilemma.distributions import sparse_joint
from trilemma.estimators import (
    INFORMATION_ESTIMATORS,
    _information,
    t_step_bound_estimate,
    total_correlation_estimate,
)
from trilemma.metrics import t_step_bound, total_correlation
from trilemma.tasks import TASKS


def draw(joint, per_prompt, rng):
    """`(prompt_id, outputs)`: `per_prompt[x]` rows of p*(y | x) for each prompt x."""
    rows = np.asarray(joint.outcomes)
    probs = np.asarray(joint.probs)
    ids, outputs = [], []
    for x, n in enumerate(per_prompt):
        mine = rows[:, 0] == x
        pick = rng.choice(int(mine.sum()), n, p=probs[mine] / probs[mine].sum())
        ids.append(np.full(n, x))
        outputs.append(rows[mine][pick, 1:])
    return np.concatenate(ids), np.concatenate(outputs)


def empirical_law(prompt_index, outputs):
    """The sample's own law, each prompt weighted 1/P: p(x, y) = n_xy / (P N_x)."""
    rows = np.concatenate([prompt_index[:, None], outputs], axis=1)
    cells, count = np.unique(rows, axis=0, return_counts=True)
    totals = np.bincount(prompt_index)
    return sparse_joint(cells, count / totals[cells[:, 0]] / len(totals))


def shifted(partition):
    """Output positions as variables of a joint whose variable 0 is the prompt."""
    return [tuple(j + 1 for j in step) for step in partition]


V, LENGTH = 4, 3
GRID = np.array(list(itertools.product(range(V), repeat=LENGTH)))
MIX = 0.628
"""Weight of the uniform law in each prompt's mixture: C(Y|X) = 0.3391 nats."""


def full_support_law():
    """REFERENCE 6.3's setting: V = 4, n = 3, two prompts, full support, C ≈ 0.339.

    Prompt 0 mixes the uniform law with y_1 = y_2 = y_3, prompt 1 with
    y_3 = y_1 + y_2 mod 4; every one of the 64 outputs has mass at least
    0.628 / 64 under each prompt.
    """
    uniform = np.full(len(GRID), 1 / len(GRID))
    equal = (GRID[:, 0] == GRID[:, 1]) & (GRID[:, 1] == GRID[:, 2])
    added = GRID[:, 2] == (GRID[:, 0] + GRID[:, 1]) % V
    probs = [MIX * uniform + (1 - MIX) * s / s.sum() for s in (equal, added)]
    rows = np.concatenate([np.c_[np.full(len(GRID), x), GRID] for x in (0, 1)])
    return sparse_joint(rows, np.concatenate(probs) / 2)


# --- exactness ------------------------------------------------------------------------

PARTITIONS = [
    [[0, 1, 2, 3]],  # T = 1: C(Y|X)
    [[0], [1], [2], [3]],  # one position per step: 0
    [[2], [0, 3], [1]],
    [[1, 2], [3, 0]],
    [[3], [0, 1, 2]],
]


@pytest.fixture(scope="module")
def small_sample():
    """Unequal samples of 3 prompts of a random law with zeros (n = 4, V = 3).

    Prompt ids and tokens are relabelled (ids 7, -2, 30; columns shifted and
    negated): the estimators see only which values are equal.
    """
    task = TASKS["random_joint"](4, num_prompts=3, seed=3)
    index, outputs = draw(task.joint, (40, 75, 130), np.random.default_rng(0))
    prompt_id = np.array([7, -2, 30])[index]
    relabelled = outputs * np.array([1, -1, 1, 5]) + np.array([10, 0, -3, 2])
    return index, outputs, prompt_id, relabelled


@pytest.mark.parametrize("partition", PARTITIONS)
def test_plugin_equals_the_exact_bound_of_the_empirical_law(small_sample, partition):
    """Plug-in L_T = `t_step_bound` of the sample's own law (prompts weighted 1/P).

    The metric groups the sparse empirical joint by its own kernel, so this checks
    the histogram, the subset-cell map and the signed sum against a second
    algorithm, to 1e-12 nats; one position per step gives exactly 0.
    """
    index, outputs, prompt_id, relabelled = small_sample
    law = empirical_law(index, outputs)
    want = float(t_step_bound(law, shifted(partition), given=(0,)))
    got = t_step_bound_estimate(
        prompt_id, relabelled, partition, method="plugin", num_bootstrap=0
    )
    assert got.estimate == pytest.approx(want, abs=1e-12)
    if len(partition) == 4:  # every term cancels: exactly 0, interval included
        assert got == (0.0, 0.0, 0.0)
    else:  # no bootstrap, no interval
        assert math.isnan(got.ci_low) and math.isnan(got.ci_high)


def test_plugin_equals_the_exact_total_correlation_of_the_empirical_law(small_sample):
    """Plug-in C(Y|X) = `total_correlation` of the empirical law, to 1e-12 nats.

    Weighting the prompts by their sample counts (40, 75, 130) instead would move
    it by more than 1e-3 nats, so this pins the equal weighting per prompt.
    """
    index, outputs, prompt_id, relabelled = small_sample
    law = empirical_law(index, outputs)
    want = float(total_correlation(law, given=(0,)))
    got = total_correlation_estimate(
        prompt_id, relabelled, method="plugin", num_bootstrap=0
    )
    assert got.estimate == pytest.approx(want, abs=1e-12)
    rows = np.concatenate([index[:, None], outputs], axis=1)
    cells, count = np.unique(rows, axis=0, return_counts=True)
    pooled = sparse_joint(cells, count / count.sum())
    assert abs(float(total_correlation(pooled, given=(0,))) - want) > 1e-3


def test_every_entropy_term_uses_the_chosen_method(small_sample):
    """Miller–Madow C(Y|X) = plug-in + mean_x [Σ_j (K̂_j − 1) − (K̂ − 1)] / (2 N_x).

    K̂ counts the distinct values seen of each column (and of the whole output)
    among prompt x's samples: the correction reaches every term with its sign.
    """
    index, outputs, prompt_id, _ = small_sample
    correction = []
    for x in range(3):
        mine = outputs[index == x]
        seen = [len(np.unique(mine[:, j])) - 1 for j in range(mine.shape[1])]
        joint = len(np.unique(mine, axis=0)) - 1
        correction.append((sum(seen) - joint) / (2 * len(mine)))
    plugin = total_correlation_estimate(
        prompt_id, outputs, method="plugin", num_bootstrap=0
    )
    mm = total_correlation_estimate(
        prompt_id, outputs, method="miller_madow", num_bootstrap=0
    )
    assert mm.estimate == pytest.approx(
        plugin.estimate + np.mean(correction), abs=1e-12
    )


def test_chunked_bootstrap_matches_one_call(small_sample, monkeypatch):
    """Chunking the resamples (a tiny pair budget) changes no value; seeds matter.

    With a budget of 3000 pairs the kernel sees 5 resamples per call and
    `resample_counts` draws 12 per call, yet the interval is the same; the point
    estimate is the bootstrap-free one bit for bit, whatever the number of
    resamples (a batch of B rows is vectorised differently for each B, so a point
    estimate computed as row 0 of the resamples' batch moved in the last bits with
    `num_bootstrap`), and another seed gives another interval.
    """
    _, _, prompt_id, outputs = small_sample
    partition = [[2], [0, 3], [1]]
    whole = t_step_bound_estimate(prompt_id, outputs, partition, num_bootstrap=50)
    point = t_step_bound_estimate(prompt_id, outputs, partition, num_bootstrap=0)
    for num_bootstrap in (1, 3, 50):
        again = t_step_bound_estimate(
            prompt_id, outputs, partition, num_bootstrap=num_bootstrap
        )
        assert again.estimate == point.estimate
    assert whole.ci_low < whole.estimate < whole.ci_high
    monkeypatch.setattr(_information, "_PAIR_BUDGET", 3000)
    chunked = t_step_bound_estimate(prompt_id, outputs, partition, num_bootstrap=50)
    np.testing.assert_allclose(chunked, whole, rtol=0, atol=1e-12)
    other = t_step_bound_estimate(
        prompt_id, outputs, partition, num_bootstrap=50, seed=1
    )
    assert other.estimate == whole.estimate and other.ci_low != whole.ci_low


# --- statistics -----------------------------------------------------------------------


LARGE_CASES = [
    ("shuffle_distinct", 3),
    pytest.param("replace_random", 4, marks=pytest.mark.slow),
]


@pytest.mark.parametrize(("name", "n"), LARGE_CASES)
def test_large_samples_estimate_the_exact_values(name, n):
    """10^5 samples per prompt (2 prompts): estimates within 4 SE of the exact value.

    For C(Y|X) and L_T with steps {0}, {1, ..., n-1}, plug-in and jackknife alike.
    The SE is the bootstrap's: half the width of the basic interval at level
    0.6827 (±1 SE for a normal statistic), whose 16% and 84% quantiles 40
    resamples pin down well enough for a 4 SE tolerance.
    """
    task = TASKS[name](n, num_prompts=2)
    prompt_id, outputs = draw(task.joint, (10**5, 10**5), np.random.default_rng(1))
    partition = [[0], list(range(1, n))]
    cases = [
        (total_correlation_estimate, (), total_correlation(task.joint, given=(0,))),
        (
            t_step_bound_estimate,
            (partition,),
            t_step_bound(task.joint, shifted(partition), given=(0,)),
        ),
    ]
    for fn, extra, exact in cases:
        corrected = fn(prompt_id, outputs, *extra, num_bootstrap=40, level=0.6827)
        se = (corrected.ci_high - corrected.ci_low) / 2
        plugin = fn(prompt_id, outputs, *extra, method="plugin", num_bootstrap=0)
        assert 0 < se < 0.01
        for value in (corrected.estimate, plugin.estimate):
            assert abs(value - float(exact)) < 4 * se, (fn.__name__, value, exact, se)


def first_order_bias(joint, coefficients, per_prompt):
    r"""$-\frac1P \sum_x \sum_A c_A (K_{A|x} - 1) / (2N)$: the plug-in's bias.

    `coefficients` maps output-position subsets $A$ to $c_A$; $K_{A|x}$ is the
    number of values of $Y_A$ with positive mass given $x$.
    """
    rows = np.asarray(joint.outcomes)
    probs = np.asarray(joint.probs)
    terms = []
    for x in np.unique(rows[:, 0]):
        live = rows[(rows[:, 0] == x) & (probs > 0), 1:]
        cells = {a: len(np.unique(live[:, list(a)], axis=0)) for a in coefficients}
        terms.append(-sum(c * (cells[a] - 1) for a, c in coefficients.items()))
    return float(np.mean(terms)) / (2 * per_prompt)


BIAS_CASES = [
    # C(Y|X): the marginals once each, the joint with -1
    (None, {(0,): 1, (1,): 1, (2,): 1, (0, 1, 2): -1}),
    # L_T for {0}, {1, 2}: H(Y_01) + H(Y_02) - H(Y_0) - H(Y_012)
    pytest.param(
        [[0], [1, 2]],
        {(0, 1): 1, (0, 2): 1, (0,): -1, (0, 1, 2): -1},
        marks=pytest.mark.slow,
    ),
]


@pytest.mark.parametrize(("partition", "coefficients"), BIAS_CASES)
def test_plugin_is_biased_up_by_the_first_order_term(partition, coefficients):
    """REFERENCE 6.3's check, per prompt: N = 500, V = 4, n = 3, two prompts.

    Over 400 seeds the plug-in mean exceeds the truth by more than 3 SE and its
    bias matches the first-order term Σ_x[(K_{Y|x} − 1) − Σ_i (K_{Y_i|x} − 1)] /
    (2N), averaged over prompts (0.054 nats for C, 0.036 for L_T), within 3 SE of
    the mean; the jackknife's mean bias is smaller in absolute value, by more than
    3 SE of the difference.
    """
    joint, per_prompt, seeds = full_support_law(), 500, 400
    if partition is None:
        exact = float(total_correlation(joint, given=(0,)))
        assert exact == pytest.approx(0.339, abs=1e-3)

        def estimate(i, y, method):
            return total_correlation_estimate(i, y, method=method, num_bootstrap=0)
    else:
        exact = float(t_step_bound(joint, shifted(partition), given=(0,)))

        def estimate(i, y, method):
            return t_step_bound_estimate(
                i, y, partition, method=method, num_bootstrap=0
            )

    plugin, jackknife = [], []
    for seed in range(seeds):
        prompt_id, outputs = draw(joint, (per_prompt,) * 2, np.random.default_rng(seed))
        plugin.append(estimate(prompt_id, outputs, "plugin").estimate - exact)
        jackknife.append(estimate(prompt_id, outputs, "jackknife").estimate - exact)
    plugin, jackknife = np.array(plugin), np.array(jackknife)
    se_plugin = plugin.std(ddof=1) / math.sqrt(seeds)
    se_diff = (np.abs(plugin) - np.abs(jackknife)).std(ddof=1) / math.sqrt(seeds)
    predicted = first_order_bias(joint, coefficients, per_prompt)
    assert plugin.mean() > 3 * se_plugin
    assert abs(plugin.mean() - predicted) < 3 * se_plugin, (plugin.mean(), predicted)
    assert abs(jackknife.mean()) < plugin.mean() - 3 * se_diff


def coverage(fn, extra, exact, method, per_prompt, seeds):
    """The fraction of `seeds` fixed seeds whose 95% interval covers `exact`."""
    joint = full_support_law()
    hits = 0
    for seed in range(seeds):
        rng = np.random.default_rng(10_000 + seed)
        prompt_id, outputs = draw(joint, (per_prompt,) * 2, rng)
        e = fn(prompt_id, outputs, *extra, method=method, seed=seed)
        hits += e.ci_low <= exact <= e.ci_high
    return hits / seeds


def test_corrected_interval_covers_at_the_nominal_rate():
    """95% basic intervals of the jackknife C(Y|X) cover in 0.95 ± 3 binomial SE.

    200 fixed seeds at N = 500 per prompt (about 8 samples per cell) of the full
    support law; the measured coverage is 0.930 (1000 seeds: 0.942).
    """
    exact = float(total_correlation(full_support_law(), given=(0,)))
    seeds = 200
    got = coverage(total_correlation_estimate, (), exact, "jackknife", 500, seeds)
    assert abs(got - 0.95) < 3 * math.sqrt(0.95 * 0.05 / seeds), got


@pytest.mark.slow
@pytest.mark.parametrize("partition", [None, [[0], [1, 2]]])
def test_interval_coverage_over_1000_seeds(partition):
    """1000 seeds, N = 500 per prompt: jackknife coverage in 0.95 ± 3 binomial SE.

    Measured: 0.942 for C(Y|X), 0.955 for L_T with steps [[0], [1, 2]] (the
    plug-in's basic intervals: 0.933 and 0.945).
    """
    joint, seeds = full_support_law(), 1000
    if partition is None:
        fn, extra = total_correlation_estimate, ()
        exact = float(total_correlation(joint, given=(0,)))
    else:
        fn, extra = t_step_bound_estimate, (partition,)
        exact = float(t_step_bound(joint, shifted(partition), given=(0,)))
    got = coverage(fn, extra, exact, "jackknife", 500, seeds)
    assert abs(got - 0.95) < 3 * math.sqrt(0.95 * 0.05 / seeds), got


# --- bad input ------------------------------------------------------------------------

IDS, OUTS = np.zeros(4, int), np.zeros((4, 3), int)

BAD = [
    ({"prompt_id": np.zeros((4, 1), int)}, ValueError, "`prompt_id`"),
    ({"outputs": np.zeros(4, int)}, ValueError, "`outputs`"),
    ({"outputs": np.zeros((5, 3), int)}, ValueError, "`outputs`"),
    ({"outputs": np.zeros((4, 0), int)}, ValueError, "`outputs`"),
    ({"prompt_id": IDS[:0], "outputs": OUTS[:0]}, ValueError, "`prompt_id`"),
    ({"prompt_id": np.zeros(4)}, TypeError, "`prompt_id`"),
    ({"outputs": np.zeros((4, 3))}, TypeError, "`outputs`"),
    ({"method": "nsb"}, ValueError, "`method`"),
    ({"num_bootstrap": -1}, ValueError, "`num_bootstrap`"),
    ({"num_bootstrap": 2.0}, TypeError, "`num_bootstrap`"),
    ({"seed": "0"}, TypeError, "`seed`"),
    ({"seed": -1}, ValueError, "`seed`"),
    ({"level": 1.0}, ValueError, "`level`"),
    ({"partition": [[0, 1]]}, ValueError, "`partition` misses output variables [2]"),
    ({"partition": [[0, 1], [1, 2]]}, ValueError, "`partition` puts variable 1"),
    ({"partition": [[0, 1, 2, 3]]}, ValueError, "`partition` has variables [3]"),
    ({"partition": [[0], [], [1, 2]]}, ValueError, "`partition` step 1 is empty"),
    ({"partition": []}, ValueError, "`partition` has no steps"),
    ({"partition": "012"}, TypeError, "`partition` must be a sequence"),
]


@pytest.mark.parametrize(("change", "error", "names"), BAD)
def test_bad_input_names_the_argument(change, error, names):
    """Each bad argument raises an error that names it (and what is wrong)."""
    args = {"prompt_id": IDS, "outputs": OUTS, "partition": [[0], [1, 2]]} | change
    partition = args.pop("partition")
    with pytest.raises(error) as info:
        t_step_bound_estimate(partition=partition, **args)
    assert names in str(info.value)
    if "partition" not in change:
        with pytest.raises(error) as info:
            total_correlation_estimate(**{"prompt_id": IDS, "outputs": OUTS} | change)
        assert names in str(info.value)


def test_float32_is_refused():
    """Without `jax_enable_x64` both estimators refuse, saying how to fix it."""
    with jax.enable_x64(False):
        for fn, extra in (
            (total_correlation_estimate, ()),
            (t_step_bound_estimate, ([[0, 1, 2]],)),
        ):
            with pytest.raises(ValueError, match="jax_enable_x64"):
                fn(IDS, OUTS, *extra)


def test_methods_exclude_nsb():
    """Every entropy estimator but NSB (it needs each subset's alphabet size)."""
    assert "nsb" not in INFORMATION_ESTIMATORS
    assert {"plugin", "jackknife", "grassberger", "chao_shen"} <= set(
        INFORMATION_ESTIMATORS
    )
