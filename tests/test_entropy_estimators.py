"""Entropy estimators from histogram counts (`trilemma.estimators._entropy`).

Each method is checked against a separately written plain-Python version of its
formula (the jackknife against its literal leave-one-out definition, NSB against
adaptive quadrature over the prior variable xi), and its bias against simulation.
"""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import integrate, optimize, special

import trilemma
from trilemma.estimators._entropy import ENTROPY_ESTIMATORS, entropy_estimates

GROUPS = 9
"""Groups of one random block: 8 with cells, the last with none."""

CELLS = 40
"""Cells of one random block (zero counts pad it to this length)."""


# --- plain references -----------------------------------------------------------------


def plugin_ref(n):
    big_n = sum(n)
    return -sum(c / big_n * math.log(c / big_n) for c in n)


def miller_madow_ref(n):
    return plugin_ref(n) + (len(n) - 1) / (2 * sum(n))


def jackknife_ref(n):
    """N H - (N-1)/N sum_s H_{-s}, removing each of the N samples in turn."""
    big_n = sum(n)
    samples = [cell for cell, c in enumerate(n) for _ in range(c)]
    leave_one_out = 0.0
    for removed in range(big_n if big_n > 1 else 0):
        rest = list(n)
        rest[samples[removed]] -= 1
        leave_one_out += plugin_ref([c for c in rest if c > 0])
    return big_n * plugin_ref(n) - (big_n - 1) / big_n * leave_one_out


def grassberger_ref(n):
    def g(c):
        half = special.digamma((c + 1) / 2) - special.digamma(c / 2)
        return special.digamma(c) + 0.5 * (-1) ** c * half

    big_n = sum(n)
    return math.log(big_n) - sum(c * g(c) for c in n) / big_n


def chao_shen_ref(n):
    big_n = sum(n)
    f1 = sum(1 for c in n if c == 1)
    if f1 == big_n:
        f1 = big_n - 1
    coverage = 1 - f1 / big_n
    total = 0.0
    for c in n:
        p = coverage * c / big_n
        total -= p * math.log(p) / (1 - (1 - p) ** big_n)
    return total


def nsb_ref(n, k):
    """NSB posterior mean as a quadrature over xi in (0, log K), beta(xi) by root.

    The prior is flat in xi, so no d xi / d beta appears: a route independent of the
    library's grid over log beta.
    """
    if k == 1:
        return 0.0
    big_n = sum(n)

    def log_lik(beta):
        kappa = k * beta
        return (
            math.lgamma(kappa)
            - math.lgamma(big_n + kappa)
            + sum(math.lgamma(c + beta) - math.lgamma(beta) for c in n)
        )

    def mean_h(beta):
        total = big_n + k * beta
        s = sum((c + beta) * special.digamma(c + beta + 1) for c in n)
        s += (k - len(n)) * beta * special.digamma(beta + 1)
        return special.digamma(total + 1) - s / total

    def beta_of(xi):
        def gap(u):
            beta = math.exp(u)
            return special.digamma(k * beta + 1) - special.digamma(beta + 1) - xi

        return math.exp(optimize.brentq(gap, -80, 40, xtol=1e-15, rtol=1e-15))

    grid = np.linspace(0, math.log(k), 401)[1:-1]
    logs = [log_lik(beta_of(x)) for x in grid]
    top = max(logs)

    def integrand(xi):
        beta = beta_of(xi)
        w = math.exp(log_lik(beta) - top)
        return np.array([w * mean_h(beta), w])

    (num, den), _ = integrate.quad_vec(
        integrand,
        0,
        math.log(k),
        epsabs=0,
        epsrel=1e-13,
        points=[grid[int(np.argmax(logs))]],
    )
    return num / den


REFERENCES = {
    "plugin": plugin_ref,
    "miller_madow": miller_madow_ref,
    "jackknife": jackknife_ref,
    "grassberger": grassberger_ref,
    "chao_shen": chao_shen_ref,
}


# --- histograms -----------------------------------------------------------------------


def random_block(seed):
    """`(counts, segment, alphabet)` of `GROUPS` groups in `CELLS` shuffled cells.

    Group 0 holds one sample, group 1 only singletons (Chao-Shen's f1 = N case),
    group 2 one cell (alphabet 1 in the first block), group 3 only zero counts and
    group 8 no cells at all; groups 4-7 are random with some zero counts.
    """
    rng = np.random.default_rng(seed)
    groups = [[1], [1, 1, 1, 1], [int(rng.integers(2, 9))], [0, 0]]
    groups += [list(rng.integers(0, 7, size=rng.integers(2, 8))) for _ in range(4)]
    counts = [c for g in groups for c in g]
    segment = [i for i, g in enumerate(groups) for _ in g]
    pad = CELLS - len(counts)
    counts += [0] * pad
    segment += list(rng.integers(0, GROUPS, size=pad))
    order = rng.permutation(CELLS)
    counts, segment = np.array(counts)[order], np.array(segment)[order]
    seen = np.bincount(segment[counts > 0], minlength=GROUPS)
    alphabet = np.maximum(seen + rng.integers(0, 6, size=GROUPS), 1)
    if seed == 0:
        alphabet[2] = 1
    return counts.astype(np.int64), segment.astype(np.int64), alphabet


def two_blocks():
    """Blocks 0 and 1 side by side: `2 * GROUPS` groups in `2 * CELLS` cells."""
    c0, s0, k0 = random_block(0)
    c1, s1, k1 = random_block(1)
    return (
        np.concatenate([c0, c1]),
        np.concatenate([s0, s1 + GROUPS]),
        np.concatenate([k0, k1]),
    )


def per_group(counts, segment, num_segments):
    return [
        [int(c) for c in counts[(segment == g) & (counts > 0)]]
        for g in range(num_segments)
    ]


def expected(method, counts, segment, alphabet, num_segments):
    out = []
    for g, n in enumerate(per_group(counts, segment, num_segments)):
        if not n:
            out.append(math.nan)
        elif method == "nsb":
            out.append(nsb_ref(n, int(alphabet[g])))
        else:
            out.append(REFERENCES[method](n))
    return np.array(out)


# --- exact values ---------------------------------------------------------------------


@pytest.mark.parametrize("method", [m for m in ENTROPY_ESTIMATORS if m != "nsb"])
def test_matches_plain_formula(method):
    """Each closed-form estimator equals a plain-Python loop over the same formula.

    18 groups with shuffled cells, zero counts, one sample, only singletons, one
    cell, and no samples (NaN), to 1e-10 nats; the jackknife is compared with its
    literal definition, every sample removed in turn.
    """
    counts, segment, alphabet = two_blocks()
    got = entropy_estimates(counts, segment, 2 * GROUPS, method=method)
    want = expected(method, counts, segment, alphabet, 2 * GROUPS)
    assert got.shape == (2 * GROUPS,)
    assert got.dtype == jnp.float64
    np.testing.assert_allclose(np.asarray(got), want, rtol=0, atol=1e-10)


def test_nsb_matches_quadrature():
    """NSB equals adaptive quadrature of its defining integral over xi, to 1e-9.

    The library integrates over log beta on refined grids; the reference over the
    flat-prior variable xi in (0, log K), with beta(xi) found by root search. The
    grid reaches about 1e-13 here, so 1e-9 leaves room; an alphabet of 1 gives 0.
    """
    counts, segment, alphabet = two_blocks()
    got = entropy_estimates(
        counts, segment, 2 * GROUPS, method="nsb", alphabet_size=alphabet
    )
    want = expected("nsb", counts, segment, alphabet, 2 * GROUPS)
    np.testing.assert_allclose(np.asarray(got), want, rtol=0, atol=1e-9)
    assert float(got[2]) == 0.0  # alphabet of one cell


def test_nsb_flat_and_sharp_posteriors():
    """NSB equals quadrature where the posterior over beta is one-sided or narrow.

    One cell seen 7 times (the posterior piles up at beta -> 0), equal counts (it
    runs to beta -> infinity) and 20 samples of an alphabet of 10^5, to 1e-9.
    """
    cases = [([7], 5), ([30, 30, 30, 30], 4), ([2] * 5 + [1] * 10, 10**5)]
    counts = np.array([c for n, _ in cases for c in n])
    segment = np.repeat(np.arange(len(cases)), [len(n) for n, _ in cases])
    alphabet = np.array([k for _, k in cases])
    got = entropy_estimates(counts, segment, 3, method="nsb", alphabet_size=alphabet)
    want = [nsb_ref(n, k) for n, k in cases]
    np.testing.assert_allclose(np.asarray(got), want, rtol=0, atol=1e-9)


def test_plugin_is_entropy_of_empirical_pmf():
    """The plug-in estimate is H(p-hat) and lies in [0, log K-hat].

    H(p-hat) computed by `trilemma.entropy`; equality with log K-hat for equal counts.
    """
    counts, segment, _ = two_blocks()
    got = np.asarray(entropy_estimates(counts, segment, 2 * GROUPS, method="plugin"))
    for g, n in enumerate(per_group(counts, segment, 2 * GROUPS)):
        if not n:
            assert math.isnan(got[g])
            continue
        p = jnp.asarray(n, jnp.float64) / sum(n)
        assert got[g] == pytest.approx(float(trilemma.entropy(p)), abs=1e-12)
        assert -1e-15 <= got[g] <= math.log(len(n)) + 1e-12
    equal = entropy_estimates(np.full(6, 4), np.zeros(6, int), 1, method="plugin")
    assert float(equal[0]) == pytest.approx(math.log(6), abs=1e-14)


@pytest.mark.parametrize("method", ENTROPY_ESTIMATORS)
def test_groups_are_independent(method):
    """A group's estimate does not depend on the other groups in the call.

    Each block estimated alone equals its half of the two blocks side by side.
    """
    both = two_blocks()
    full = entropy_estimates(
        both[0], both[1], 2 * GROUPS, method=method, alphabet_size=both[2]
    )
    for b in (0, 1):
        counts, segment, alphabet = random_block(b)
        alone = entropy_estimates(
            counts, segment, GROUPS, method=method, alphabet_size=alphabet
        )
        half = full[b * GROUPS : (b + 1) * GROUPS]
        np.testing.assert_allclose(np.asarray(alone), np.asarray(half), rtol=1e-13)


def test_nsb_in_batches_of_grid_points(monkeypatch):
    """NSB gives the same estimates when its cell sums are mapped in batches.

    Large inputs (over 2^21 cell-grid pairs) take that path; a small budget sends
    the first block there, padded by one zero cell so that it is traced afresh.
    """
    from trilemma.estimators import _entropy

    counts, segment, alphabet = random_block(0)
    whole = entropy_estimates(
        counts, segment, GROUPS, method="nsb", alphabet_size=alphabet
    )
    monkeypatch.setattr(_entropy, "_NSB_CELL_BUDGET", 20 * CELLS)
    batched = entropy_estimates(
        np.append(counts, 0),
        np.append(segment, 0),
        GROUPS,
        method="nsb",
        alphabet_size=alphabet,
    )
    np.testing.assert_allclose(np.asarray(batched), np.asarray(whole), rtol=1e-13)


def test_jit_and_float32():
    """Traced inputs give the eager estimates; float32 counts give float32 output."""
    counts, segment, _ = random_block(0)
    eager = entropy_estimates(counts, segment, GROUPS, method="grassberger")
    traced = jax.jit(
        lambda c, s: entropy_estimates(c, s, GROUPS, method="grassberger")
    )(counts, segment)
    np.testing.assert_allclose(np.asarray(traced), np.asarray(eager), rtol=1e-14)
    low = entropy_estimates(counts.astype(np.float32), segment, GROUPS)
    assert low.dtype == jnp.float32
    high = entropy_estimates(counts, segment, GROUPS)
    np.testing.assert_allclose(np.asarray(low), np.asarray(high), rtol=1e-5)


# --- bias -----------------------------------------------------------------------------

K = 50
R = 400
SIZES = (25, 100, 1000, 100_000)


@pytest.fixture(scope="module")
def bias():
    """`{(method, N): (mean bias, standard error)}` over R repeats, in nats.

    K = 50 cells with p ~ Dirichlet(0.5) (one draw, seed 0); each N's R multinomial
    histograms (zero counts included) are the R groups of one call per method.
    """
    rng = np.random.default_rng(0)
    p = rng.dirichlet(np.full(K, 0.5))
    truth = -float(np.sum(p * np.log(p)))
    segment = np.repeat(np.arange(R), K)
    out = {}
    for big_n in SIZES:
        counts = rng.multinomial(big_n, p, size=R).ravel()
        for method in ENTROPY_ESTIMATORS:
            h = np.asarray(
                entropy_estimates(counts, segment, R, method=method, alphabet_size=K)
            )
            out[method, big_n] = (h.mean() - truth, h.std(ddof=1) / math.sqrt(R))
    return out


def test_plugin_and_miller_madow_are_biased_low(bias):
    """Plug-in and Miller-Madow mean biases are negative by more than 5 SE.

    Plug-in at N = 25, 100, 1000; Miller-Madow at N = 25, 100 (at N = 1000 its
    bias, O(1/N^2) plus unseen mass, is already within noise: -0.0002 +- 0.0015).
    """
    for method, sizes in (("plugin", SIZES[:3]), ("miller_madow", SIZES[:2])):
        for big_n in sizes:
            mean, se = bias[method, big_n]
            assert mean + 5 * se < 0, (method, big_n, mean, se)


def test_bias_shrinks_with_sample_size(bias):
    """|bias| of plug-in and Miller-Madow falls from N = 25 to 100 to 1000 (5 SE)."""
    for method in ("plugin", "miller_madow"):
        for small, large in zip(SIZES[:2], SIZES[1:3], strict=True):
            (b1, s1), (b2, s2) = bias[method, small], bias[method, large]
            assert abs(b1) - abs(b2) > 5 * math.hypot(s1, s2), (method, small)


def test_corrected_estimators_beat_plugin_when_undersampled(bias):
    """Corrected estimators have smaller |bias| than plug-in when undersampled.

    Chao-Shen and Grassberger at N = 25 and 100, NSB (K known) at N = 25, each by
    more than 5 SE of the difference.
    """
    cases = [(m, n) for m in ("chao_shen", "grassberger") for n in SIZES[:2]]
    for method, big_n in [*cases, ("nsb", 25)]:
        (b, s), (b0, s0) = bias[method, big_n], bias["plugin", big_n]
        assert abs(b0) - abs(b) > 5 * math.hypot(s, s0), (method, big_n)


def test_every_estimator_converges(bias):
    """At N = 10^5 every method is within 5 SE + (K-1)/(2N) of the true entropy.

    (K-1)/(2N) = 2.5e-4 nats is the plug-in's first-order bias.
    """
    big_n = SIZES[-1]
    for method in ENTROPY_ESTIMATORS:
        mean, se = bias[method, big_n]
        assert abs(mean) < 5 * se + (K - 1) / (2 * big_n), (method, mean, se)


# --- bad input ------------------------------------------------------------------------

GOOD = {"counts": [2, 1, 3], "segment": [0, 0, 1], "num_segments": 2}

BAD = [
    ({"method": "plug-in"}, ValueError, r"Unknown entropy estimator 'plug-in'.*nsb"),
    ({"method": None}, ValueError, "Unknown entropy estimator None"),
    ({"method": "nsb"}, ValueError, "`alphabet_size` is required by method 'nsb'"),
    ({"counts": [2, -1, 3]}, ValueError, "`counts`.*non-negative integer; got -1"),
    ({"counts": [2.0, 1.5, 3.0]}, ValueError, "`counts`.*got 1.5"),
    ({"counts": [2.0, math.nan, 3.0]}, ValueError, "`counts`.*got nan"),
    ({"counts": [True, False, True]}, TypeError, "`counts`.*bool"),
    ({"counts": ["2", "1", "3"]}, TypeError, "`counts`"),
    ({"counts": [[2, 1, 3]]}, ValueError, r"`counts` must have shape \(num_cells,\)"),
    ({"counts": {"a": 1}}, TypeError, "`counts` must be an array; got dict"),
    (
        {"segment": [0, 1]},
        ValueError,
        r"`segment` must have shape \(3,\); got shape \(2,\)",
    ),
    ({"segment": [0, 0, 2]}, ValueError, r"`segment`.*\[0, 2\).*got 2"),
    ({"segment": [0, -1, 1]}, ValueError, "`segment`.*got -1"),
    ({"segment": [0.0, 0.0, 1.0]}, TypeError, "`segment` must be an integer array"),
    ({"num_segments": -1}, ValueError, "`num_segments` must be an integer >= 0"),
    ({"num_segments": 2.0}, TypeError, "`num_segments`"),
    ({"alphabet_size": 1}, ValueError, "`alphabet_size`.*group 0 has 2 occupied"),
    ({"alphabet_size": [3, 0]}, ValueError, "`alphabet_size`.*>= 1; got 0"),
    ({"alphabet_size": [3, 3, 3]}, ValueError, r"`alphabet_size` must have shape"),
    ({"alphabet_size": 3.0}, TypeError, "`alphabet_size` must be an integer"),
]


@pytest.mark.parametrize(("change", "error", "match"), BAD)
def test_bad_input_names_the_argument(change, error, match):
    """Bad input raises ValueError/TypeError naming the argument and its value."""
    kwargs = {**GOOD, **change}
    with pytest.raises(error, match=match):
        entropy_estimates(
            kwargs.pop("counts"),
            kwargs.pop("segment"),
            kwargs.pop("num_segments"),
            **kwargs,
        )
