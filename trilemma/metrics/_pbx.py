r"""ParallelBench's PBx: the best speed at a quality level, over a sampler's sweep.

A sampler family swept over one parameter (k, $\gamma$, ...) gives points
(speed, score): average tokens per forward pass and average score in percent. PBx is
the largest speed among the points whose score is at least x% (0 when none is), as
in ParallelBench's development code (x in {90, 80, 70, 60}). The project page
interpolates adaptive methods instead: it reads PBx off the piecewise-linear curve
through the points sorted by speed (REFERENCE 2.8).

A score within 1e-9 of x counts as reaching it, so that an average that is x% up to
rounding is not lost.

References:
  Kang et al., *ParallelBench*, arXiv:2510.04767, and its leaderboard.
"""

from __future__ import annotations

from collections.abc import Sequence

_SLACK = 1e-9
"""Scores within this of x count as reaching x."""


def pbx_discrete(points: Sequence[tuple[float, float]], x: float) -> tuple[float, int]:
    """PBx: the largest speed among points with score >= x, and its index.

    Args:
      points: `(speed, score)` pairs, score in percent.
      x: the quality level, in percent.

    Returns:
      `(speed, index)`, with the first index among equal speeds; `(0.0, -1)` when no
      point reaches x.

    >>> pbx_discrete([(1.0, 90.0), (2.0, 80.0), (3.0, 60.0)], 70)
    (2.0, 1)
    """
    best, index = 0.0, -1
    for i, (speed, score) in enumerate(points):
        if score >= x - _SLACK and speed > best:
            best, index = speed, i
    return best, index


def pbx_interpolated(points: Sequence[tuple[float, float]], x: float) -> float:
    """PBx read off the piecewise-linear score curve through the points sorted by speed.

    The largest speed at which the curve is at least x: a point that reaches x, or
    a crossing of x between two consecutive points.

    Args:
      points: `(speed, score)` pairs, in any order, score in percent.
      x: the quality level, in percent.

    Returns:
      The speed; 0.0 when the curve never reaches x.

    >>> pbx_interpolated([(1.0, 90.0), (2.0, 80.0), (3.0, 60.0)], 70)
    2.5
    """
    ordered = sorted(points)
    best = max((s for s, a in ordered if a >= x - _SLACK), default=0.0)
    for (s0, a0), (s1, a1) in zip(ordered[:-1], ordered[1:], strict=True):
        if (a0 - x) * (a1 - x) < 0:
            best = max(best, s0 + (x - a0) * (s1 - s0) / (a1 - a0))
    return best
