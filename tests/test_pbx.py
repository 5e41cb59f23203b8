"""ParallelBench's PBx (`pbx_discrete`, `pbx_interpolated`) on hand-computed sweeps."""

import pytest

import trilemma as T

MONOTONE = [(1.0, 90.0), (2.0, 80.0), (3.0, 60.0)]
BUMPY = [(4.0, 85.0), (1.0, 70.0), (3.0, 50.0), (2.0, 90.0)]  # unsorted on purpose


@pytest.mark.parametrize(
    ("x", "discrete", "interpolated"),
    [
        (95, (0.0, -1), 0.0),  # nothing reaches 95
        (90, (1.0, 0), 1.0),  # reached at 1; (1, 90)-(2, 80) only touches 90
        (85, (1.0, 0), 1.5),  # 90 + (2 - 1)(80 - 90) crosses 85 at 1.5
        (70, (2.0, 1), 2.5),  # (2, 80)-(3, 60) crosses 70 at 2.5
        (60, (3.0, 2), 3.0),
        (0, (3.0, 2), 3.0),
    ],
)
def test_monotone_sweep(x, discrete, interpolated):
    assert T.pbx_discrete(MONOTONE, x) == discrete
    assert T.pbx_interpolated(MONOTONE, x) == pytest.approx(interpolated, abs=1e-12)


def test_a_sweep_that_falls_and_rises():
    """Crossings of 80 at 1.5, 2.25 and 3 + 30/35; the point (4, 85) reaches it."""
    assert T.pbx_discrete(BUMPY, 80) == (4.0, 0)
    assert T.pbx_interpolated(BUMPY, 80) == 4.0
    # at 87 only (2, 90) reaches it; the curve falls below 87 at 2 + 3/40
    assert T.pbx_discrete(BUMPY, 87) == (2.0, 3)
    assert T.pbx_interpolated(BUMPY, 87) == pytest.approx(2.075, abs=1e-12)
    # at 60 the last crossing, 3 + 10/35 on (3, 50)-(4, 85), is below the point at 4
    assert T.pbx_interpolated(BUMPY, 60) == 4.0
    assert T.pbx_interpolated(BUMPY[1:], 60) == 2.0 + 30 / 40  # without (4, 85)


def test_equal_speeds_keep_the_first_and_near_misses_count():
    points = [(2.0, 80.0), (2.0, 81.0), (1.0, 99.0)]
    assert T.pbx_discrete(points, 80) == (2.0, 0)
    assert T.pbx_discrete([(3.0, 80.0 - 1e-12)], 80) == (3.0, 0)  # rounding, not a miss
    assert T.pbx_discrete([(3.0, 80.0 - 1e-6)], 80) == (0.0, -1)
    assert T.pbx_discrete([], 80) == (0.0, -1)
    assert T.pbx_interpolated([], 80) == 0.0


def test_published_llada_threshold_pb80():
    """REFERENCE 2.8: the site's 4.09 interpolates (3.42, 83.8)-(4.53, 77.5) at 80."""
    sweep = [(1.33, 86.4), (3.42, 83.8), (4.53, 77.5), (5.62, 68.3), (6.55, 57.9)]
    expected = 3.42 + (80 - 83.8) * (4.53 - 3.42) / (77.5 - 83.8)
    assert T.pbx_interpolated(sweep, 80) == pytest.approx(expected, rel=1e-12)
    assert round(T.pbx_interpolated(sweep, 80), 2) == 4.09
    assert T.pbx_discrete(sweep, 80) == (3.42, 1)
