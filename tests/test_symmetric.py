"""Shuffle by symmetry (`trilemma.simulate_shuffle`) against full enumeration.

`simulate` enumerates all n! support rows and every decoding trajectory; the
symmetric recursion keeps only (masks left, distinct so far, step). They share the
samplers' building blocks but nothing of the enumeration, and must agree on the valid
mass, the grader's accuracy and the expected NFE for every sampler.
"""

import math

import pytest
from sampler_examples import LEVELS, example

import trilemma as T

CONFIGS = [
    ("random_topk", {"k": 1}),
    ("random_topk", {"k": 2}),
    ("random_topk", {"k": 3, "temperature": 1.0}),
    ("random_topk", {"num_steps": 2, "temperature": 0.5}),
    ("random_topk", {"k": 2, "block": 3}),
    ("confidence_topk", {"k": 2}),
    ("confidence_topk", {"k": 3, "temperature": 1.0}),
    ("confidence_topk", {"num_steps": 3, "block": 2}),
    ("margin_topk", {"k": 2, "temperature": 0.5}),
    ("margin_topk", {"num_steps": 1}),
    ("entropy_topk", {"k": 2, "temperature": 1.0}),
    ("entropy_topk", {"k": 4}),
    ("left_to_right", {"k": 2}),
    ("left_to_right", {"k": 3, "temperature": 1.0}),
    ("threshold", {"gamma": 0.3}),
    ("threshold", {"gamma": 0.5}),  # the last two positions tie at 1/2
    ("threshold", {"gamma": 0.4, "temperature": 1.0, "block": 2}),
    ("threshold_strict", {"gamma": 0.5}),
    ("threshold_strict", {"gamma": 0.2}),
    ("factor", {"factor": 1.0}),
    ("factor", {"factor": 3.0, "temperature": 1.0}),
    ("factor", {"factor": 1.6, "reference_quirk": True}),
    ("eb", {"gamma": 0.5}),
    ("eb", {"gamma": 2.0, "block": 4}),
    ("mdlm", {"num_steps": 2}),
    ("mdlm", {"num_steps": 4, "temperature": 0.0}),
    ("mdlm", {"num_steps": 3, "eps": 0.001, "float32": True}),
    ("confidence_topk", {"num_steps": 3, "eps": 0.0, "float32": True}),
    ("random_topk", {"num_steps": 2, "eps": 0.1, "block": 2}),
    ("eb", {"gamma": 0.5, "sequence_order": True}),
    ("dus", {}),
    ("dus", {"block": 4, "temperature": 1.0}),
]


CONFIGS += [
    (name, example(name, i))
    for name in LEVELS
    if name not in {listed for listed, _ in CONFIGS}
    for i in (0, 1)
]
"""A rule-based sampler not listed above joins with its registry examples."""


@pytest.mark.parametrize("n", [1, 2, 3, 4, 5, 6])
@pytest.mark.parametrize(("name", "params"), CONFIGS)
def test_symmetric_recursion_equals_enumeration(n, name, params):
    sampler = T.SAMPLERS[name](**params)
    sim = T.simulate(T.make_task("shuffle", n), sampler, entropy_cells=0)
    result = T.simulate_shuffle(n, sampler)
    where = f"{sampler.describe()}, n = {n}"
    assert result.precision == pytest.approx(1 - sim.invalid_mass, abs=1e-12), where
    assert result.accuracy == pytest.approx(sim.accuracy(), abs=1e-12), where
    assert result.expected_nfe == pytest.approx(sim.expected_nfe, abs=1e-12), where
    assert result.tokens_per_step == pytest.approx(sim.tokens_per_step, rel=1e-12)


@pytest.mark.parametrize("n", [2, 4, 6, 8, 10])
def test_two_per_step_is_eq5_and_one_per_step_is_exact(n):
    """REFERENCE 2.4: k = 2 gives (n-1)!!/n!!; k = 1 decodes every shuffle."""
    two = T.simulate_shuffle(n, T.SAMPLERS["confidence_topk"](k=2))
    ratio = math.prod(range(n - 1, 0, -2)) / math.prod(range(n, 0, -2))
    assert two.precision == pytest.approx(ratio, rel=1e-12)
    assert two.expected_nfe == n / 2
    one = T.simulate_shuffle(n, T.SAMPLERS["random_topk"](k=1, temperature=1.0))
    assert one.precision == pytest.approx(1.0, abs=1e-12)
    assert one.accuracy == pytest.approx(1 - 1 / math.factorial(n), abs=1e-12)


def test_bad_arguments():
    sampler = T.SAMPLERS["random_topk"](k=1)
    with pytest.raises(ValueError, match="`n`"):
        T.simulate_shuffle(0, sampler)
    with pytest.raises(TypeError, match="`n`"):
        T.simulate_shuffle(3.0, sampler)
    with pytest.raises(TypeError, match="`sampler`"):
        T.simulate_shuffle(3, "random_topk")
