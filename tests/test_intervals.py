"""`clopper_pearson`: exact binomial intervals, checked two independent ways."""

import math

import numpy as np
import pytest
from scipy.stats import binomtest

from trilemma.estimators import Estimate, clopper_pearson


@pytest.mark.parametrize(
    ("k", "n"), [(0, 1), (1, 1), (0, 10), (3, 10), (10, 10), (37, 250)]
)
def test_equals_scipys_exact_binomial_interval(k, n):
    """The same interval as `scipy.stats.binomtest(k, n).proportion_ci("exact")`."""
    got = clopper_pearson(k, n)
    ref = binomtest(k, n).proportion_ci(confidence_level=0.95, method="exact")
    assert got.estimate == k / n
    assert got.ci_low == pytest.approx(ref.low, abs=1e-12)
    assert got.ci_high == pytest.approx(ref.high, abs=1e-12)


@pytest.mark.parametrize("n", [5, 20, 60])
def test_coverage_is_at_least_the_level_for_every_proportion(n):
    """For p on a grid, P(interval covers p) >= 0.95, summing binomial pmfs plainly."""
    intervals = [clopper_pearson(k, n) for k in range(n + 1)]
    for p in np.linspace(0.001, 0.999, 199):
        covered = sum(
            math.comb(n, k) * p**k * (1 - p) ** (n - k)
            for k, ci in enumerate(intervals)
            if ci.ci_low <= p <= ci.ci_high
        )
        assert covered >= 0.95 - 1e-12, (n, p, covered)


def test_bad_counts_are_named_and_the_record_prints_as_json():
    with pytest.raises(ValueError, match="successes"):
        clopper_pearson(4, 3)
    with pytest.raises(ValueError, match="trials"):
        clopper_pearson(0, 0)
    assert Estimate(0.5, float("nan"), float("inf")).as_dict() == {
        "estimate": 0.5,
        "ci_low": None,
        "ci_high": None,
    }
