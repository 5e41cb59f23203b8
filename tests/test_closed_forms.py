"""Closed forms of decoding accuracy (`trilemma.simulation`) against `simulate`.

Every closed form is evaluated on its own (Python arithmetic on the step sizes or the
threshold) and compared with the exact enumeration of the sampler it describes, for
every n <= 6 (Shuffle) or 7 (Replace Random), every k and a threshold grid holding
every boundary 1/m and (m-1)/m. The papers' compact statements are checked where
they hold, and shown to fail where the reference says they do.
"""

import math
from fractions import Fraction

import numpy as np
import pytest

import trilemma as T
from trilemma import simulation as S
from trilemma.samplers import topk_schedule

TOL = 1e-12


def simulate(task, n, sampler, **params):
    """Exact simulation, without the entropy of q (not needed here)."""
    task = T.make_task(task, n)
    return T.simulate(task, T.SAMPLERS[sampler](**params), entropy_cells=0)


def valid_mass(sim) -> float:
    """q(supp p*), Shuffle's accuracy in the closed forms."""
    return math.fsum(np.asarray(sim.outputs.probs).tolist())


def gammas(n):
    """0, 1, every 1/m and (m-1)/m for m = 2..n, and the midpoints between them."""
    points = {Fraction(0), Fraction(1)}
    points |= {Fraction(1, m) for m in range(2, n + 1)}
    points |= {Fraction(m - 1, m) for m in range(2, n + 1)}
    ordered = sorted(points)
    return ordered + [(a + b) / 2 for a, b in zip(ordered, ordered[1:], strict=False)]


def schedules(n):
    """LLaDA's step sizes for every k and every number of steps."""
    by_k = {topk_schedule(n, k=k): {"k": k} for k in range(1, n + 1)}
    by_steps = {topk_schedule(n, num_steps=s): {"num_steps": s} for s in range(1, n)}
    return list({**by_steps, **by_k}.items())


# --------------------------------------------------------------------------------------
# Shuffle


@pytest.mark.parametrize("n", [1, 2, 3, 4, 5, 6])
def test_shuffle_topk_accuracy_equals_enumeration(n):
    for sizes, params in schedules(n):
        expected = S.shuffle_topk_accuracy(sizes)
        for sampler, temperature in (("random_topk", 1.0), ("confidence_topk", 0.0)):
            sim = simulate("shuffle", n, sampler, temperature=temperature, **params)
            assert abs(valid_mass(sim) - expected) < TOL, (sampler, sizes)


def test_shuffle_topk_accuracy_is_n_factorial_over_powers():
    """REFERENCE 2.4: n! / prod_t m_t^s_t, in exact rationals."""
    for sizes in [(1,), (3,), (2, 2), (3, 2, 1), (1, 4, 2), (5, 5)]:
        m, powers = sum(sizes), 1
        for s in sizes:
            powers *= m**s
            m -= s
        exact = Fraction(math.factorial(sum(sizes)), powers)
        assert S.shuffle_topk_accuracy(sizes) == pytest.approx(float(exact), rel=1e-13)


@pytest.mark.parametrize("n", [2, 3, 4, 5, 6])
@pytest.mark.parametrize("sampler", ["threshold", "threshold_strict"])
def test_shuffle_threshold_accuracy_equals_enumeration(n, sampler):
    strict = sampler == "threshold_strict"
    for gamma in gammas(n):
        expected = S.shuffle_threshold_accuracy(n, gamma, strict=strict)
        sim = simulate("shuffle", n, sampler, gamma=float(gamma))
        assert abs(valid_mass(sim) - expected) < TOL, gamma


def test_paper_shuffle_topk_is_eq5_where_k_divides_n():
    for n in range(1, 11):
        for k in range(1, n + 1):
            value = S.paper_shuffle_topk(n, k)
            if n % k:
                assert value is None
            else:
                expected = S.shuffle_topk_accuracy((k,) * (n // k))
                assert value == pytest.approx(expected, rel=1e-13)
    # REFERENCE 2.4: k = 2 at n = 4, 6, 8, 10
    got = [round(S.paper_shuffle_topk(n, 2), 4) for n in (4, 6, 8, 10)]
    assert got == [0.375, 0.3125, 0.2734, 0.2461]


def test_paper_shuffle_threshold():
    """1 above 1/2 under both rules; no claim at or below 1/2, where they differ."""
    for n in range(2, 9):
        for gamma in gammas(n):
            claim = S.paper_shuffle_threshold(gamma)
            if gamma > Fraction(1, 2):
                for strict in (True, False):
                    exact = S.shuffle_threshold_accuracy(n, gamma, strict=strict)
                    assert claim == exact == 1.0
            else:
                assert claim is None
    half = Fraction(1, 2)
    assert S.shuffle_threshold_accuracy(6, half, strict=True) == 1.0
    assert S.shuffle_threshold_accuracy(6, half, strict=False) == 0.5


# --------------------------------------------------------------------------------------
# Replace Random


@pytest.mark.parametrize("n", [2, 3, 4, 5, 6, 7])
def test_replace_random_topk_accuracy_equals_enumeration(n):
    for sizes, params in schedules(n):
        greedy = S.replace_random_topk_accuracy(sizes, temperature=0)
        for sampler in ("random_topk", "confidence_topk"):
            sim = simulate("replace_random", n, sampler, **params)
            assert abs(sim.accuracy() - greedy) < TOL, (sampler, sizes)
            confidence = sampler == "confidence_topk"
            sampled = S.replace_random_topk_accuracy(
                sizes, temperature=1, confidence=confidence
            )
            sim = simulate("replace_random", n, sampler, temperature=1.0, **params)
            assert abs(sim.accuracy() - sampled) < TOL, (sampler, sizes)


def test_replace_random_topk_accuracy_special_cases():
    """REFERENCE 2.6-2.7: one step at tau = 1 gives ((n-1)/n)^(n-1).

    The last step decides greedy decoding: (2, 2, 1) -> 1, (3, 2) -> 0.5, (3, 3) -> 0.
    """
    for n in range(2, 9):
        one_step = S.replace_random_topk_accuracy((n,), temperature=1)
        assert one_step == pytest.approx(((n - 1) / n) ** (n - 1), rel=1e-13)
        assert S.replace_random_topk_accuracy((1,) * n, temperature=1) == pytest.approx(
            1.0, abs=1e-15
        )
    for sizes, expected in (((2, 2, 1), 1.0), ((3, 2), 0.5), ((3, 3), 0.0)):
        assert S.replace_random_topk_accuracy(sizes, temperature=0) == expected


@pytest.mark.parametrize("n", [2, 3, 4, 5, 6, 7])
@pytest.mark.parametrize("sampler", ["threshold", "threshold_strict"])
def test_replace_random_threshold_accuracy_equals_enumeration(n, sampler):
    strict = sampler == "threshold_strict"
    for gamma in gammas(n):
        expected = S.replace_random_threshold_accuracy(n, gamma, strict=strict)
        sim = simulate("replace_random", n, sampler, gamma=float(gamma))
        assert abs(sim.accuracy() - expected) < TOL, gamma


def test_paper_replace_random_topk_holds_iff_the_last_step_has_k_tokens():
    mismatches = 0
    for n in range(2, 9):
        for k in range(1, n + 1):
            sizes = topk_schedule(n, k=k)
            exact = S.replace_random_topk_accuracy(sizes, temperature=0)
            paper = S.paper_replace_random_topk(k)
            if sizes[-1] == k or (k > 2 and sizes[-1] > 2):
                assert paper == exact
            else:
                assert paper != exact
                mismatches += 1
    assert mismatches > 0  # e.g. n = 5, k = 2: sizes (2, 2, 1) give 1, not 0.5


def test_paper_replace_random_threshold():
    """Exact under '> gamma' for n >= 3; under '>=' it fails only at (n-1)/n."""
    for n in range(3, 9):
        boundary = Fraction(n - 1, n)
        for gamma in gammas(n):
            paper = S.paper_replace_random_threshold(n, gamma)
            assert paper == S.replace_random_threshold_accuracy(n, gamma, strict=True)
            loose = S.replace_random_threshold_accuracy(n, gamma, strict=False)
            assert (paper == loose) == (gamma != boundary)
    # n = 2: item and W tie at 1/2, all at once gives 0.5 where the paper says 0
    assert S.paper_replace_random_threshold(2, Fraction(1, 4)) == 0.0
    assert S.replace_random_threshold_accuracy(2, Fraction(1, 4), strict=True) == 0.5


# --------------------------------------------------------------------------------------
# Errors


def test_bad_arguments():
    with pytest.raises(ValueError, match="`sizes`"):
        S.shuffle_topk_accuracy((2, 0))
    with pytest.raises(ValueError, match="len\\(sizes\\)"):
        S.replace_random_topk_accuracy((), temperature=0)
    with pytest.raises(ValueError, match="temperature"):
        S.replace_random_topk_accuracy((2, 2), temperature=0.5)
    with pytest.raises(ValueError, match="`gamma`"):
        S.shuffle_threshold_accuracy(4, 1.5, strict=True)
    with pytest.raises(TypeError, match="`gamma`"):
        S.replace_random_threshold_accuracy(4, "0.5", strict=False)
    with pytest.raises(ValueError, match="`n`"):
        S.paper_shuffle_topk(0, 1)
