"""The estimators against exact truth: sampling the exact law, bias and coverage.

`coverage_study` draws repeated count histograms from a sampler's exact law
(`simulate`) and estimates each against the exact p*. These tests check the draw
itself, then the estimators' statistical claims at fixed seeds, with tolerances
from the binomial and sample standard errors.
"""

import math

import numpy as np
import pytest

import trilemma as T
from trilemma.estimators import coverage_study
from trilemma.estimators._validation import draw_histograms, exact_law


@pytest.fixture(scope="module")
def simulation():
    """Random top-k (k = 2, T = 1), Replace Random n = 4, 2 prompts: the ideal model."""
    task = T.make_task("replace_random", 4, num_prompts=2)
    return T.simulate(task, T.make_sampler("random_topk", k=2, temperature=1.0))


def test_the_exact_law_is_the_simulation(simulation):
    """Per prompt the cells sum to 1; valid cells carry q(y|x), the rest 1 - q(V|x).

    Checked against the simulation's aligned laws, written out here independently.
    """
    law = exact_law(simulation)
    assert np.all(np.diff(law.prompt) >= 0)  # cells sorted by prompt
    np.testing.assert_allclose(np.bincount(law.prompt, law.probs), 1.0, atol=1e-12)
    point = simulation.point()
    in_support = np.array(
        [
            any((row == r).all() for r in np.asarray(law.reference.outcome))
            for row in law.outcome
        ]
    )
    prompts = len(np.unique(law.prompt))
    assert np.sum(law.probs[in_support]) / prompts == pytest.approx(point.precision)
    assert law.truth["valid_entropy"] == pytest.approx(point.valid_entropy)


def test_draws_follow_the_law(simulation):
    """Mean counts of 400 draws are N q(y|x) within 4 standard errors, cell by cell."""
    law = exact_law(simulation)
    n, repeats = 200, 400
    total = np.zeros(len(law.prompt))
    for hist in draw_histograms(law, n, repeats, seed=1):
        assert (hist.totals == n).all()
        rows = {(int(p), *map(int, o)): c for p, o, c in zip(*hist[:3], strict=True)}
        for i, (p, o) in enumerate(zip(law.prompt, law.outcome, strict=True)):
            total[i] += rows.get((int(p), *map(int, o)), 0)
    mean = total / repeats
    se = np.sqrt(n * law.probs * (1 - law.probs) / repeats)
    assert np.all(np.abs(mean - n * law.probs) <= 4 * se + 1e-9)


def test_intervals_cover_at_the_nominal_rate(simulation):
    """95% intervals cover the exact values at 0.95 within 3 binomial SEs (N = 1000).

    Precision's Clopper–Pearson interval is exact, so at least nominal; TV, KL,
    the valid entropy and F_1/8 are the bootstrap's. 100 sample sets at a fixed
    seed: SE = sqrt(0.95 * 0.05 / 100) = 0.022.
    """
    repeats = 100
    study = coverage_study(
        simulation, [1000], repeats=repeats, num_bootstrap=200, seed=0
    )
    se = math.sqrt(0.95 * 0.05 / repeats)
    for name in ("precision", "tv", "kl_reference_to_sampler", "valid_entropy", "f1_8"):
        assert study.coverage[name][0] >= 0.95 - 3 * se, (name, study.coverage[name])


def test_biases_have_their_documented_signs(simulation):
    """Plug-in entropy is biased low, less so as N grows; the corrections shrink it.

    REFERENCE 6.1: the plug-in's bias is about -(K-1)/(2N). Mean bias over 60 sets
    per size, against 3 standard errors of that mean. And every estimate's RMSE
    falls from N = 50 to N = 800.
    """
    repeats = 60
    study = coverage_study(
        simulation, [50, 800], repeats=repeats, num_bootstrap=50, seed=2
    )
    plugin = study.entropy_bias["plugin"]
    se = study.entropy_sd["plugin"] / math.sqrt(repeats)
    assert plugin[0] + 3 * se[0] < plugin[1] + 3 * se[1] < 0
    k_minus_1 = 3  # 4 valid outputs per prompt
    assert plugin[0] == pytest.approx(-k_minus_1 / (2 * 50 * 0.656), abs=3 * se[0])
    for method in ("miller_madow", "jackknife", "grassberger"):
        assert abs(study.entropy_bias[method][0]) < abs(plugin[0]), method
    for name, rmse in study.rmse.items():
        if study.truth[name] != study.mean[name][1]:  # not a constant estimate
            assert rmse[1] < rmse[0], (name, rmse)


def test_bad_arguments(simulation):
    """Sizes and repeats are checked before any work."""
    with pytest.raises(ValueError, match="sizes"):
        coverage_study(simulation, [0])
    with pytest.raises(ValueError, match="repeats"):
        coverage_study(simulation, [10], repeats=1)


@pytest.fixture(scope="module")
def boundary():
    """One token per step on Shuffle (distinct) n = 3: the ideal model's q is p*."""
    task = T.make_task("shuffle_distinct", 3, num_prompts=2)
    return T.simulate(task, T.make_sampler("random_topk", k=1, temperature=1.0))


def test_the_equality_test_holds_its_level(simulation, boundary):
    """The test of q = reference holds its level and rejects a distant law.

    Where q = p*, it rejects at 5% in at most 5% + 3 SE of 100 sample sets; where
    TV(q, p*) = 0.34, it rejects every one (N = 200).
    """
    from trilemma.estimators import estimate_point

    def rejections(sim):
        law = exact_law(sim)
        out = []
        for r, hist in enumerate(draw_histograms(law, 200, 100, seed=3)):
            nfe = np.full(int(hist.totals.sum()), np.nan)
            point = estimate_point(hist, law.reference, nfe, num_bootstrap=50, seed=r)
            out.append(point.equality_p_value <= 0.05)
        return np.mean(out)

    assert rejections(boundary) <= 0.05 + 3 * math.sqrt(0.05 * 0.95 / 100)
    assert rejections(simulation) == 1.0


def test_intervals_cover_at_the_boundary(boundary):
    """At q = p*, TV and KL (truth 0) and recall, F_8, F_1/8 (truth 1) are covered.

    The plug-in TV is biased up there (REFERENCE 6.2), so without the equality
    test the basic interval would miss 0 almost always (2% at N = 1600 before it
    was added); with it coverage is at least 0.95 - 3 SE over 60 sets.
    """
    repeats = 60
    study = coverage_study(boundary, [200], repeats=repeats, num_bootstrap=50, seed=4)
    se = math.sqrt(0.95 * 0.05 / repeats)
    assert study.truth["tv"] == pytest.approx(0.0, abs=1e-12)
    for name in ("tv", "kl_reference_to_sampler", "recall", "f8", "f1_8"):
        assert study.coverage[name][0] >= 0.95 - 3 * se, (name, study.coverage[name])


def test_intervals_cover_on_the_shipped_model():
    """On the shipped denoiser's exact law, intervals cover at 0.95 within 3 SE.

    Random top-k (k = 2, T = 1) on Shuffle n = 4, 2 held-in prompts, exact on its
    valid outputs (`support_only`); 24 valid outputs per prompt at precision 0.2,
    so N = 2000 holds about 17 samples per valid output. 60 sets at a fixed seed.
    """
    from trilemma.models import weights

    denoiser = weights.resolve_model("default", "denoiser")
    task = denoiser.task_set.evaluation_pair("shuffle", 4, num_prompts=2)[0]
    sim = T.simulate(
        task,
        T.make_sampler("random_topk", k=2, temperature=1.0),
        model=denoiser.model(task),
        support_only=True,
    )
    repeats = 60
    study = coverage_study(sim, [2000], repeats=repeats, num_bootstrap=100, seed=5)
    se = math.sqrt(0.95 * 0.05 / repeats)
    for name in ("precision", "tv", "kl_reference_to_sampler", "valid_entropy", "f1_8"):
        assert study.coverage[name][0] >= 0.95 - 3 * se, (name, study.coverage[name])
