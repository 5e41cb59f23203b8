"""Input validation: every bad input raises ValueError/TypeError naming the argument.

Messages are matched on the argument name in backticks (STYLE.md, "Errors"), so a
message that blames the wrong argument fails the test.
"""

import math
import re

import jax.numpy as jnp
import numpy as np
import pytest

import trilemma as T

P = jnp.array([[0.25, 0.25], [0.25, 0.25]])
XOR = jnp.array([[[0.25, 0.0], [0.0, 0.25]], [[0.0, 0.25], [0.25, 0.0]]])


# --------------------------------------------------------------------------------------
# Probability values.

BAD_VALUES = {
    "unnormalised": ([0.5, 0.6], "sums to 1.1"),
    "subnormalised": ([0.5, 0.4], "sums to 0.9"),
    "negative": ([1.5, -0.5], "negative"),
    "nan": ([math.nan, 1.0], "NaN"),
    "inf": ([math.inf, 0.0], "inf"),
}


@pytest.mark.parametrize("case", list(BAD_VALUES))
def test_bad_probabilities_single_argument(case):
    values, what = BAD_VALUES[case]
    bad = jnp.asarray(values)
    for fn in (T.entropy, T.total_correlation, T.check_pmf, T.from_dense):
        with pytest.raises(ValueError, match=rf"`p`.*{what}|{what}.*`p`") as info:
            fn(bad)
        assert "`p`" in str(info.value)


@pytest.mark.parametrize("case", list(BAD_VALUES))
@pytest.mark.parametrize("position", [0, 1])
def test_bad_probabilities_in_pairs_name_the_argument(case, position):
    values, _ = BAD_VALUES[case]
    good, bad = jnp.array([0.5, 0.5]), jnp.asarray(values)
    args = (bad, good) if position == 0 else (good, bad)
    for fn, names in [
        (T.total_variation_distance, ("p", "q")),
        (T.kl_divergence, ("p", "q")),
        (T.fluency_error, ("p", "p_star")),
        (T.precision, ("p", "p_star")),
        (T.prd_curve, ("p", "p_star")),
    ]:
        with pytest.raises(ValueError, match=f"`{names[position]}`"):
            fn(*args)


def test_normalisation_tolerance():
    """|sum - 1| <= 1e-6 passes in float64 (1e-4 in float32); beyond it raises."""
    inside = jnp.array([0.5, 0.5 + 5e-7])
    outside = jnp.array([0.5, 0.5 + 5e-6])
    np.testing.assert_allclose(float(T.entropy(inside)), math.log(2), atol=1e-6)
    with pytest.raises(ValueError, match="tolerance"):
        T.entropy(outside)
    T.check_pmf(outside, atol=1e-5)  # an explicit tolerance is honoured
    with pytest.raises(ValueError, match="tolerance 1e-07"):
        T.check_pmf(inside, atol=1e-7)
    T.entropy(jnp.array([0.5, 0.5 + 5e-5], dtype=jnp.float32))
    with pytest.raises(ValueError, match="`p`"):
        T.entropy(jnp.array([0.5, 0.5 + 5e-4], dtype=jnp.float32))


def test_check_pmf_uses_given_name_and_returns_array():
    out = T.check_pmf([0.25, 0.75], name="weights")
    np.testing.assert_array_equal(np.asarray(out), [0.25, 0.75])
    with pytest.raises(ValueError, match="`weights`"):
        T.check_pmf([0.25, 0.5], name="weights")


@pytest.mark.parametrize(
    "value", [jnp.array([1, 0]), np.array([1, 0]), jnp.array([True, False])]
)
def test_integer_pmf_dtype_is_a_type_error(value):
    with pytest.raises(TypeError, match="`p`.*floating dtype"):
        T.entropy(value)
    with pytest.raises(TypeError, match="`q`.*floating dtype"):
        T.total_variation_distance(jnp.array([1.0, 0.0]), value)


@pytest.mark.parametrize("value", ["abc", {"a": 1.0}, None])
def test_non_array_pmf_is_a_type_error(value):
    with pytest.raises(TypeError, match="`p`"):
        T.entropy(value)


@pytest.mark.parametrize("empty", [jnp.zeros((0,)), jnp.zeros((2, 0))])
def test_empty_support(empty):
    with pytest.raises(ValueError, match="`p`.*empty"):
        T.entropy(empty)
    with pytest.raises(ValueError, match="empty"):
        T.total_variation_distance(empty, empty)


def test_scalar_pmf_is_rejected():
    with pytest.raises(ValueError, match="`p`"):
        T.entropy(jnp.array(1.0))
    with pytest.raises(ValueError, match="`p`"):
        T.from_dense(jnp.array(1.0))


# --------------------------------------------------------------------------------------
# Shapes of pairs.


@pytest.mark.parametrize(
    ("p", "q"),
    [
        (jnp.array([0.5, 0.5]), jnp.array([1 / 3, 1 / 3, 1 / 3])),
        (P, jnp.array([0.25, 0.25, 0.25, 0.25])),
        (P, P.T.reshape(1, 2, 2)),
    ],
)
def test_shape_mismatch(p, q):
    for fn in (T.total_variation_distance, T.kl_divergence, T.prd_curve, T.precision):
        with pytest.raises(
            ValueError, match=r"`p` and `(q|p_star)` must have the same shape"
        ):
            fn(p, q)


def test_sparse_pair_size_mismatch():
    a = T.sparse_joint([[0, 0], [1, 1]], [0.5, 0.5], sizes=(2, 2))
    b = T.sparse_joint([[0, 0], [1, 1]], [0.5, 0.5], sizes=(2, 3))
    with pytest.raises(ValueError, match="same shape"):
        T.total_variation_distance(a, b)
    with pytest.raises(ValueError, match="same shape"):
        T.kl_divergence(a, jnp.full((2, 3), 1 / 6))


# --------------------------------------------------------------------------------------
# Variable index sets.


@pytest.mark.parametrize("variables", [[2], [-1], [0, 5], 7])
def test_variables_out_of_range(variables):
    with pytest.raises(ValueError, match="`variables`.*outside 0..1"):
        T.entropy(P, variables)
    with pytest.raises(ValueError, match="`variables`"):
        T.total_correlation(P, variables)


def test_given_out_of_range():
    with pytest.raises(ValueError, match="`given`.*outside"):
        T.total_correlation(P, given=[2])
    with pytest.raises(ValueError, match="`given`.*outside"):
        T.conditional_entropy(P, [0], given=[-1])


def test_repeated_variables():
    with pytest.raises(ValueError, match="`variables` repeats"):
        T.entropy(P, [0, 0])
    with pytest.raises(ValueError, match="`given` repeats"):
        T.total_correlation(XOR, given=[1, 1])


@pytest.mark.parametrize("variables", [[0.0], ["a"], [True], [None], 1.5])
def test_non_integer_variables(variables):
    with pytest.raises(TypeError, match="`variables`"):
        T.entropy(P, variables)


def test_given_overlapping_variables():
    with pytest.raises(
        ValueError, match="`variables` and `given` overlap on variables \\[0\\]"
    ):
        T.total_correlation(XOR, [0, 1], given=[0])
    with pytest.raises(ValueError, match="overlap"):
        T.conditional_entropy(XOR, [0, 2], given=[2])


def test_mutual_information_arguments_overlap():
    with pytest.raises(ValueError, match="`a` and `b` overlap"):
        T.mutual_information(XOR, [0, 1], [1])


def test_mutual_information_names_a_for_a_bad_a():
    """An out-of-range `a` must be reported as `a`, not as `variables`."""
    with pytest.raises(ValueError, match="`a`"):
        T.mutual_information(XOR, [3], [1])


def test_mutual_information_names_b_for_a_bad_b():
    """An out-of-range `b` must be reported as `b`, not as `variables`."""
    with pytest.raises(ValueError, match="`b`"):
        T.mutual_information(XOR, [0], [3])


def test_mutual_information_names_the_argument_that_overlaps_given():
    with pytest.raises(ValueError, match="`b` and `given`|`given` and `b`"):
        T.mutual_information(XOR, [0], [1], given=[1])


# --------------------------------------------------------------------------------------
# Partitions.

PARTITIONS = {
    "overlapping": (
        [[1], [1, 2]],
        ValueError,
        "`partition` puts variable 1 in step 0 and step 1",
    ),
    "missing": ([[1]], ValueError, r"`partition` misses output variables \[2\]"),
    "empty step": ([[1], [], [2]], ValueError, "`partition` step 1 is empty"),
    "no steps": ([], ValueError, "`partition` has no steps"),
    "given variable": ([[0, 1], [2]], ValueError, r"`partition` has variables \[0\]"),
    "out of range": ([[1], [2], [3]], ValueError, r"`partition` has variables \[3\]"),
    "string": ("1|2", TypeError, "`partition`"),
    "float index": ([[1.0], [2]], TypeError, "`partition`"),
}


@pytest.mark.parametrize("case", list(PARTITIONS))
def test_bad_partition(case):
    partition, error, match = PARTITIONS[case]
    with pytest.raises(error, match=match):
        T.t_step_bound(XOR, partition, given=[0])


def test_partition_accepts_bare_ints_as_steps():
    """A step given as an int is a one-variable step (and the bound is then 0)."""
    np.testing.assert_allclose(
        float(T.t_step_bound(XOR, [1, 2], given=[0])), 0.0, atol=1e-12
    )


# --------------------------------------------------------------------------------------
# Tasks.


def test_unknown_task():
    with pytest.raises(ValueError, match="Unknown task 'nope'; available: \\[.*'copy'"):
        T.make_task("nope", 3)


# --------------------------------------------------------------------------------------
# Memory budget.


def test_to_dense_memory_budget_before_allocating():
    """A 10^6 x 10^6 x 10^6 dense form (8e18 bytes) is refused with the estimate."""
    huge = T.SparseJoint(
        jnp.array([[0, 0, 0], [5, 5, 5]]), jnp.array([0.5, 0.5]), (10**6,) * 3
    )
    with pytest.raises(ValueError, match=r"8,000,000,000,000,000,000 bytes"):
        T.to_dense(huge)
    small = T.SparseJoint(
        jnp.array([[0, 0], [5, 5]]), jnp.array([0.5, 0.5]), (100, 100)
    )
    with pytest.raises(ValueError, match=r"80,000 bytes.*budget of 1000 B") as info:
        T.to_dense(small, max_bytes=1000)
    assert "max_bytes" in str(info.value)
    dense = T.to_dense(small, max_bytes=80_000)  # exactly at the budget
    assert dense.shape == (100, 100)


def test_memory_budget_from_environment(monkeypatch):
    small = T.SparseJoint(jnp.array([[0, 0], [5, 5]]), jnp.array([0.5, 0.5]), (10, 10))
    monkeypatch.setenv("TRILEMMA_MAX_BYTES", "100")
    with pytest.raises(ValueError, match="800 bytes"):
        T.to_dense(small)
    # dense-vs-sparse comparison densifies: also under the budget
    with pytest.raises(ValueError, match="bytes"):
        T.total_variation_distance(small, jnp.full((10, 10), 0.01))
    monkeypatch.setenv("TRILEMMA_MAX_BYTES", "lots")
    with pytest.raises(ValueError, match="TRILEMMA_MAX_BYTES"):
        T.to_dense(small)


def test_task_memory_budget():
    with pytest.raises(ValueError, match="bytes"):
        T.make_task("shuffle", 13)
    with pytest.raises(ValueError, match="bytes"):
        T.make_task("shuffle", 4, max_bytes=64)


# --------------------------------------------------------------------------------------
# Malformed sparse joints.


def test_sparse_joint_probs_length_mismatch():
    with pytest.raises(ValueError, match=r"`probs` must have shape \(2,\)"):
        T.sparse_joint([[0, 0], [1, 1]], [0.5, 0.25, 0.25])
    bad = T.SparseJoint(
        jnp.array([[0, 0], [1, 1]]), jnp.array([0.5, 0.25, 0.25]), (2, 2)
    )
    with pytest.raises(ValueError, match=r"`p.probs` must have shape \(2,\)"):
        T.entropy(bad)


def test_sparse_joint_outcomes_out_of_alphabet():
    with pytest.raises(ValueError, match="`outcomes` column 1 has value 2.*size 2"):
        T.sparse_joint([[0, 0], [1, 2]], [0.5, 0.5], sizes=(2, 2))
    with pytest.raises(ValueError, match="`outcomes` column 0 has a negative value"):
        T.sparse_joint([[-1, 0], [1, 1]], [0.5, 0.5])
    bad = T.SparseJoint(jnp.array([[0, 0], [1, 2]]), jnp.array([0.5, 0.5]), (2, 2))
    with pytest.raises(ValueError, match="`p.outcomes` column 1"):
        T.entropy(bad)
    with pytest.raises(ValueError, match="`q.outcomes` column 1"):
        T.total_variation_distance(T.from_dense(P), bad)


def test_sparse_joint_bad_probs():
    with pytest.raises(ValueError, match="`probs`.*sums to 0.75"):
        T.sparse_joint([[0, 0], [1, 1]], [0.5, 0.25])
    with pytest.raises(ValueError, match="`probs`.*negative"):
        T.sparse_joint([[0, 0], [1, 1]], [1.5, -0.5])
    bad = T.SparseJoint(jnp.array([[0, 0], [1, 1]]), jnp.array([0.5, 0.25]), (2, 2))
    with pytest.raises(ValueError, match="`p.probs`.*sums to"):
        T.total_correlation(bad)


def test_sparse_joint_outcome_matrix_shape_and_dtype():
    with pytest.raises(TypeError, match="`outcomes` must be an integer array"):
        T.sparse_joint([[0.0, 1.0]], [1.0])
    with pytest.raises(
        ValueError, match=r"`outcomes` must have shape \(rows, variables\)"
    ):
        T.sparse_joint([0, 1], [0.5, 0.5])
    with pytest.raises(ValueError, match="`outcomes` is empty"):
        T.sparse_joint(np.zeros((0, 2), int), np.zeros(0))
    with pytest.raises(ValueError, match=r"`sizes` must have shape \(2,\)"):
        T.sparse_joint([[0, 1]], [1.0], sizes=(2, 2, 2))
    with pytest.raises(TypeError, match="`sizes`"):
        T.sparse_joint([[0, 1]], [1.0], sizes=(2, 2.0))
    bad = T.SparseJoint(
        jnp.array([[0, 0, 0], [1, 1, 1]]), jnp.array([0.5, 0.5]), (2, 2)
    )
    with pytest.raises(ValueError, match=r"`p.outcomes` must have shape \(S, 2\)"):
        T.entropy(bad)


@pytest.mark.parametrize("sizes", [(2, 0), (2, -3)])
def test_nonpositive_sizes_are_named(sizes):
    """An alphabet size below 1 is a bad `sizes`, whatever the outcomes are."""
    with pytest.raises(ValueError, match="`sizes`"):
        T.sparse_joint([[0, 0]], [1.0], sizes=sizes)
    with pytest.raises(ValueError, match="`sizes`"):
        T.empirical(np.array([[0, 0]]), sizes=sizes)


def test_empirical_bad_samples():
    with pytest.raises(TypeError, match="`samples`"):
        T.empirical(np.array([[0.5, 1.0]]))
    with pytest.raises(ValueError, match="`samples` column 0 has value 3"):
        T.empirical(np.array([[3, 0]]), sizes=(2, 2))
    with pytest.raises(ValueError, match="`samples` is empty"):
        T.empirical(np.zeros((0, 3), int))


# --------------------------------------------------------------------------------------
# Scalar arguments: one checker per kind of value, the same exception everywhere.

WRONG_TYPE = {
    "factor": lambda: T.SAMPLERS["factor"](factor="x"),
    "gamma (threshold)": lambda: T.SAMPLERS["threshold"](gamma="x"),
    "gamma (eb)": lambda: T.SAMPLERS["eb"](gamma="x"),
    "k": lambda: T.SAMPLERS["random_topk"](k=2.0),
    "num_steps": lambda: T.SAMPLERS["mdlm"](num_steps="3"),
    "block": lambda: T.SAMPLERS["confidence_topk"](k=1, block=1.5),
    "temperature": lambda: T.SAMPLERS["random_topk"](k=1, temperature=None),
    "reference_quirk": lambda: T.SAMPLERS["factor"](factor=1.0, reference_quirk=1),
    "epsilon": lambda: T.prd_curve_grid(P, P, epsilon="small"),
    "beta": lambda: T.max_f_beta_pair(T.prd_curve(P, P), "8"),
    "top_p": lambda: T.autoregressive_model(np.array([0.5, 0.5]), top_p="all"),
    "n": lambda: T.make_task("copy", "3"),
    "num_prompts": lambda: T.make_task("copy", 3, num_prompts=1.0),
    "zeros": lambda: T.make_task("random_joint", 2, zeros="none"),
    "max_bytes": lambda: T.make_task("copy", 3, max_bytes=1e9),
}

OUT_OF_RANGE = {
    "factor": lambda: T.SAMPLERS["factor"](factor=-1.0),
    "gamma (threshold)": lambda: T.SAMPLERS["threshold"](gamma=2.0),
    "gamma (eb)": lambda: T.SAMPLERS["eb"](gamma=-0.5),
    "k": lambda: T.SAMPLERS["random_topk"](k=0),
    "num_steps": lambda: T.SAMPLERS["mdlm"](num_steps=2**63),
    "block": lambda: T.SAMPLERS["confidence_topk"](k=1, block=0),
    "temperature": lambda: T.SAMPLERS["random_topk"](k=1, temperature=math.inf),
    "epsilon": lambda: T.prd_curve_grid(P, P, epsilon=0.1),
    "beta": lambda: T.max_f_beta_pair(T.prd_curve(P, P), 0.0),
    "top_p": lambda: T.autoregressive_model(np.array([0.5, 0.5]), top_p=0.0),
    "n": lambda: T.make_task("copy", 0),
    "num_prompts": lambda: T.make_task("copy", 3, num_prompts=4),
    "zeros": lambda: T.make_task("random_joint", 2, zeros=1.0),
    "max_bytes": lambda: T.make_task("copy", 3, max_bytes=0),
}


@pytest.mark.parametrize("case", list(WRONG_TYPE))
def test_a_wrong_type_is_a_type_error_naming_the_argument(case):
    name = case.split()[0]
    with pytest.raises(TypeError, match=rf"^`{name}` must be .*; got .* \(\w+\)\.$"):
        WRONG_TYPE[case]()


@pytest.mark.parametrize("case", list(OUT_OF_RANGE))
def test_a_value_out_of_range_is_a_value_error_naming_the_argument(case):
    name = case.split()[0]
    with pytest.raises(ValueError, match=rf"^`{name}` must be .*; got [^(]+\.$"):
        OUT_OF_RANGE[case]()


def test_check_int_messages():
    from trilemma._checks import check_int

    assert check_int(np.int64(3), "k", minimum=1) == 3
    with pytest.raises(ValueError, match=r"^`k` must be an integer >= 1; got 0\.$"):
        check_int(0, "k", minimum=1)
    with pytest.raises(ValueError, match=r"^`t` must be an integer in \[1, 3\]; got 4"):
        check_int(4, "t", minimum=1, maximum=3)
    with pytest.raises(ValueError, match=r"got a 5,001-digit integer\.$"):
        check_int(10**5000, "n", maximum=3)
    for bad in (True, 1.0, "1", None):
        with pytest.raises(TypeError, match=r"^`k` must be an integer >= 1; got "):
            check_int(bad, "k", minimum=1)


def test_check_real_intervals():
    from trilemma._checks import check_real

    cases = [  # (keywords, allowed text, accepted, refused)
        ({"low": 0, "high": 1}, "in [0, 1]", [0, 1, 0.5], [-1e-300, 1.5, math.nan]),
        (
            {"low": 0, "high": 1, "low_open": True},
            "in (0, 1]",
            [1e-300, 1],
            [0, -0.0, 2],
        ),
        (
            {"low": 0, "high_open": True},
            "finite real number >= 0",
            [0, 1e308],
            [math.inf],
        ),
        ({"low": 0, "low_open": True}, "real number > 0 (or inf)", [math.inf], [0]),
        ({"low_open": True, "high_open": True}, "a finite real number", [-1e308], []),
    ]
    for keywords, allowed, accepted, refused in cases:
        for value in accepted:
            assert check_real(value, "x", **keywords) == float(value)
        for value in refused:
            with pytest.raises(ValueError, match=re.escape(allowed)):
                check_real(value, "x", **keywords)
    with pytest.raises(ValueError, match="got a 401-digit integer"):
        check_real(10**400, "x", low=0, high=1)
    assert check_real(10**400, "x", low=0) == math.inf  # beyond floats: inf
    with pytest.raises(TypeError, match=r"got True \(bool\)"):
        check_real(True, "x")


def test_check_bool():
    from trilemma._checks import check_bool

    assert check_bool(np.bool_(True), "flag") is True
    with pytest.raises(
        TypeError, match=r"^`flag` must be True or False; got 1 \(int\)"
    ):
        check_bool(1, "flag")


@pytest.mark.parametrize(
    ("text", "expected"),
    [("500000000", 500_000_000), ("4GiB", 4 * 2**30), ("1.5k", 1536), ("2 MB", 2e6)],
)
def test_parse_bytes(text, expected):
    from trilemma._checks import parse_bytes

    assert parse_bytes(text, "max_bytes") == expected


def test_saturating_sizes_are_refused_without_being_computed():
    """3^(10^30) cells and (10^9)! rows saturate at 2^63, past any budget."""
    from trilemma import _checks

    assert _checks.power(3, 10**30) == _checks.factorial(10**9) == 2**63
    assert _checks.power(3, 39) == 3**39 and _checks.factorial(20) == math.factorial(20)
    assert _checks.power(1, 10**30) == 1
    with pytest.raises(ValueError, match=r"at least 2\^63 bytes \(8\.0 EiB\)"):
        _checks.check_memory(_checks.power(3, 10**30), "a table", 2**63 - 1)
