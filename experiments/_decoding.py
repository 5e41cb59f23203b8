r"""Exact decoding results shared by the decoding figures, table and PBx (cached).

* `point(task, n, sampler, params)`: the exact `TrilemmaPoint` of a registered sampler
  on a registered task under the ideal (oracle) model, by `trilemma.simulate`, with
  its information fields in bits, cached within one process (the table, the figure
  and PBx reuse each other's runs); `outcome` is its cheap part.
* `shuffle_symmetric(n, sampler, params)`: the same quantities for `shuffle` (all n!
  permutations) by `trilemma.simulate_shuffle`, used where full enumeration is too
  slow for the main job (n = 8: 40,320 outcomes, about 20 s per sampler).
* `threshold_grid` and `gamma_text`: the threshold sweep. The closed forms the results
  are compared with are `trilemma.simulation`'s (`shuffle_topk_accuracy`, ...).

Gamma values are `fractions.Fraction`s so that the boundary cases (gamma = 1/m, (m-1)/m)
are decided exactly in the closed forms; the samplers get `float(gamma)`, which the
library quantises on the same grid as the oracle's probabilities.
"""

from __future__ import annotations

import functools
import math
from fractions import Fraction

import numpy as np

from experiments import _common

POINT_FIELDS = (
    "accuracy",
    "precision",
    "recall",
    "tv",
    "valid_entropy",
    "reference_entropy",
    "kl_reference_to_sampler",
    "expected_nfe",
    "tokens_per_step",
)


# --- exact simulation -----------------------------------------------------------------


def params_key(params: dict) -> tuple:
    """Hashable, ordered form of sampler parameters."""
    return tuple(sorted(params.items()))


@functools.cache
def simulation(task_name: str, n: int | None, sampler_name: str, params: tuple):
    """Exact `Simulation` of `SAMPLERS[sampler_name](**params)` on a task (cached).

    Args:
      task_name: a registered task.
      n: its size (None: the task's default).
      sampler_name: a registered sampler.
      params: `params_key(...)` of the sampler's keyword arguments.
    """
    import trilemma as T

    _common.enable_x64()
    task = _common.task(task_name, n)
    return _simulate(task, T.SAMPLERS[sampler_name](**dict(params)))


@functools.cache
def outcome(task_name: str, n: int | None, sampler_name: str, params: tuple) -> dict:
    """Accuracy (grader), valid mass, expected NFE and tokens per step (cached).

    The cheap part of `point`: no divergence is computed, so nothing is compiled.
    """
    sim = simulation(task_name, n, sampler_name, params)
    return {
        "accuracy": sim.accuracy(),
        "precision": float(np.sum(np.asarray(sim.outputs.probs))),
        "expected_nfe": float(sim.expected_nfe),
        "tokens_per_step": float(sim.tokens_per_step),
        "output_length": len(sim.task.outputs),
    }


@functools.cache
def point(task_name: str, n: int | None, sampler_name: str, params: tuple) -> dict:
    """Exact trilemma point (`TrilemmaPoint` fields of `POINT_FIELDS`), cached.

    Fields in nats are converted to bits and named `<field>_bits`; infinite KL is
    returned as None; `"output_length"` is added.
    """
    import trilemma as T

    sim = simulation(task_name, n, sampler_name, params)
    bits = T.in_bits(sim.point())
    out = {}
    for field in POINT_FIELDS:
        name = field if field in bits else f"{field}_bits"
        out[name] = _finite(bits[name])
    out["output_length"] = len(sim.task.outputs)
    return out


def _finite(value):
    value = float(value)
    return value if math.isfinite(value) else None


def _simulate(task, sampler):
    """`trilemma.simulate` without the output entropy (not needed here, and costly)."""
    import trilemma as T

    return T.simulate(task, sampler, entropy_cells=0)


# --- Shuffle by symmetry --------------------------------------------------------------


@functools.cache
def shuffle_symmetric(n: int, sampler_name: str, params: tuple) -> dict:
    """`trilemma.simulate_shuffle` of a registered sampler (cached), as a dict.

    Keys: the `ShuffleSimulation` fields (`"precision"` is the valid mass,
    `"accuracy"` ParallelBench's grader) and `"output_length"`.
    """
    import trilemma as T

    result = T.simulate_shuffle(n, T.SAMPLERS[sampler_name](**dict(params)))
    return {**result._asdict(), "output_length": n}


# --- the threshold sweep ------------------------------------------------------------


def threshold_grid(n: int) -> list[Fraction]:
    """Gamma values: 1/m and (m-1)/m for m = 2..n, midpoints, and 0.9, 0.95, 1."""
    points = {Fraction(1, m) for m in range(2, n + 1)}
    points |= {Fraction(m - 1, m) for m in range(2, n + 1)}
    points |= {Fraction(9, 10), Fraction(1)}
    return sorted(points)


def gamma_text(gamma: Fraction) -> str:
    """'1/2', '7/8', '0.9' or '1'."""
    if gamma.denominator == 1:
        return str(gamma.numerator)
    if gamma.denominator in (10, 20, 100):
        return f"{float(gamma):g}"
    return f"{gamma.numerator}/{gamma.denominator}"
