r"""Intervals: the estimate record and exact binomial intervals."""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from .. import _checks


class Estimate(NamedTuple):
    """An estimate with its interval (`ci_low <= estimate <= ci_high` when all set).

    Attributes:
      estimate: the point estimate (NaN where undefined).
      ci_low: the interval's lower end (NaN where undefined).
      ci_high: the interval's upper end.
    """

    estimate: float
    ci_low: float
    ci_high: float

    def as_dict(self) -> dict[str, float | None]:
        """`{"estimate", "ci_low", "ci_high"}`, None for NaN or infinite values."""
        return {
            key: (float(value) if np.isfinite(value) else None)
            for key, value in self._asdict().items()
        }


def clopper_pearson(successes: int, trials: int, *, level: float = 0.95) -> Estimate:
    r"""The proportion `successes / trials` with its exact (Clopper–Pearson) interval.

    The interval is $[B(\alpha/2; k, n-k+1),\ B(1-\alpha/2; k+1, n-k)]$ with $B$ the
    Beta quantile ($0$ at $k = 0$, $1$ at $k = n$): its coverage is at least `level`
    for every true proportion.
    """
    from scipy.stats import beta

    trials = _checks.check_int(trials, "trials", minimum=1)
    successes = _checks.check_int(successes, "successes", minimum=0, maximum=trials)
    level = _checks.check_real(level, "level", low=0.0, high=1.0, low_open=True)
    alpha = 1.0 - level
    k, n = successes, trials
    low = 0.0 if k == 0 else float(beta.ppf(alpha / 2, k, n - k + 1))
    high = 1.0 if k == n else float(beta.ppf(1 - alpha / 2, k + 1, n - k))
    return Estimate(k / n, low, high)


def samples_for_width(estimate: Estimate, num_samples: int, width: float) -> int | None:
    r"""Samples for an interval of `width`, scaled from a pilot's interval.

    An interval's width shrinks as $1/\sqrt N$ once the sample is large enough for
    its estimator, so the pilot's $N$ samples and width $w$ give
    $N' = \lceil N (w / \text{width})^2 \rceil$. It is a rule of thumb: where the
    estimate is still dominated by bias (a sample not well above the support size),
    it is optimistic. None where the pilot's interval is undefined; `num_samples`
    where it is already narrow enough.

    >>> samples_for_width(Estimate(0.5, 0.45, 0.55), 400, 0.05)
    1600
    """
    num_samples = _checks.check_int(num_samples, "num_samples", minimum=1)
    width = _checks.check_real(width, "width", low=0.0, low_open=True)
    current = estimate.ci_high - estimate.ci_low
    if not np.isfinite(current):
        return None
    return max(num_samples, math.ceil(num_samples * (current / width) ** 2 - 1e-9))
