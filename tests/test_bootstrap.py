"""Count bootstraps: each prompt's counts are an exact multinomial redraw."""

import math
from collections import Counter

import jax
import numpy as np
import pytest

from trilemma.estimators import histogram
from trilemma.estimators._bootstrap import basic_interval, resample_counts


def test_a_tiny_resample_follows_the_multinomial_law():
    """Two samples in two cells: (2,0), (1,1), (0,2) with 1/4, 1/2, 1/4 (5 SE)."""
    hist = histogram(np.array([0, 0]), np.array([[0], [1]]))
    draws = resample_counts(hist, jax.random.key(0), 20_000)
    freq = Counter(map(tuple, draws.tolist()))
    for cell, p in {(2, 0): 0.25, (1, 1): 0.5, (0, 2): 0.25}.items():
        assert abs(freq[cell] / 20_000 - p) <= 5 * math.sqrt(p * (1 - p) / 20_000)


def test_totals_are_kept_and_moments_are_multinomial():
    """Every resample keeps each prompt's total; cell moments are multinomial.

    Per-cell mean n_i and variance N p_i (1 - p_i), within 5 standard errors.
    """
    rng = np.random.default_rng(1)
    ids = rng.integers(0, 3, size=600)
    outputs = rng.integers(0, 4, size=(600, 2))
    hist = histogram(ids, outputs)
    num = 4000
    draws = resample_counts(hist, jax.random.key(2), num)
    assert draws.shape == (num, len(hist.count))
    per_prompt = np.stack(
        [draws[:, hist.prompt == x].sum(axis=1) for x in range(hist.num_prompts)], 1
    )
    assert (per_prompt == hist.totals).all()
    big_n = hist.totals[hist.prompt]
    p = hist.count / big_n
    var = big_n * p * (1 - p)
    assert (np.abs(draws.mean(0) - hist.count) <= 5 * np.sqrt(var / num) + 1e-9).all()
    # the sample variance's standard error, for a near-normal count: var * sqrt(2/num)
    assert (np.abs(draws.var(0) - var) <= 5 * var * math.sqrt(2 / num) + 0.05).all()


def test_resamples_are_reproducible_and_refuse_unsorted_cells():
    """One key gives one set of resamples; another key another; cells must be sorted."""
    hist = histogram(np.array([0, 0, 1, 1, 1]), np.array([[0], [1], [0], [0], [2]]))
    first = resample_counts(hist, jax.random.key(5), 50)
    np.testing.assert_array_equal(resample_counts(hist, jax.random.key(5), 50), first)
    assert (resample_counts(hist, jax.random.key(6), 50) != first).any()
    shuffled = hist._replace(
        prompt=hist.prompt[::-1], outcome=hist.outcome[::-1], count=hist.count[::-1]
    )
    with pytest.raises(ValueError, match="sorted by prompt"):
        resample_counts(shuffled, jax.random.key(5), 2)


def test_basic_interval_reflects_the_replicates():
    """[2t - q(0.975), 2t - q(0.025)]: a statistic biased up gets an interval below."""
    replicates = np.linspace(1.0, 2.0, 1001)
    got = basic_interval(1.2, replicates)
    assert got.estimate == 1.2
    assert got.ci_low == pytest.approx(2.4 - np.quantile(replicates, 0.975))
    assert got.ci_high == pytest.approx(2.4 - np.quantile(replicates, 0.025))
    assert np.isnan(basic_interval(float("nan"), replicates).ci_low)
