r"""Intervals: the estimate record and exact binomial intervals."""

from __future__ import annotations

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
