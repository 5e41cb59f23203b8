r"""Figure: the optimal T-step bound L*_T in bits for Shuffle and Replace Random, n = 6.

ParallelBench's Theorem 1 bounds the KL divergence of any model that decodes the
outputs in T steps, each step factorised given the prompt and earlier steps, by
L_T = sum_t E[C(S_t | X, S_<t)]; Theorem 2 says the least L_T over T-step schedules,
L*_T, falls from C(Y|X) at T = 1 to 0 at T = n (REFERENCE 2.1-2.2).
`trilemma.optimal_t_step_bound` finds L*_T and an optimal ordered partition exactly
(dynamic programming over the 2^n subsets of positions).

Both tasks are exchangeable in the positions (relabelling items maps the data law
to itself), so L_T depends only on the step sizes; the figure labels each point with
the sizes of the optimal schedule found, in decoding order. For Shuffle L_T also has
a closed form (REFERENCE 2.4), L_T = sum_t s_t log2 m_t - log2 n! with m_t the
number of tokens still masked before step t, and the optimum over step sizes is
checked against it. The dashed baseline decodes contiguous blocks left to right with
LLaDA's step sizes for T steps (near-equal, remainder first; REFERENCE 2.7), from
`trilemma.samplers.topk_schedule`.

  python experiments/fig_optimal_schedule.py [--outdir figures]
"""

from __future__ import annotations

import functools
import itertools
import math
import sys
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np

from experiments import _common

STEM = "optimal_schedule"
N = 6
TASKS = ("shuffle", "replace_random")
LABELS = {"shuffle": "Shuffle", "replace_random": "Replace Random"}


def compositions(n: int, num_steps: int):
    """All ordered step sizes (s_1, ..., s_T), each >= 1, summing to `n`."""
    for cuts in itertools.combinations(range(1, n), num_steps - 1):
        edges = (0, *cuts, n)
        yield tuple(b - a for a, b in itertools.pairwise(edges))


def shuffle_bound_bits(sizes) -> float:
    """Closed-form Shuffle L_T in bits for step sizes `sizes` (REFERENCE 2.4)."""
    n = sum(sizes)
    remaining, total = n, 0.0
    for s in sizes:
        total += s * math.log2(remaining)
        remaining -= s
    return total - math.log2(math.factorial(n))


def compute(n: int = N, progress=None) -> dict:
    """All data for `trilemma.plotting.fig_optimal_schedule` and the L*_T table.

    Args:
      n: list length (number of output tokens).
      progress: optional callable `(message) -> None`, called once per task.

    Returns:
      Mapping with `"n"` and `"panels"`; each panel also carries, per T, the optimal
      schedule as position sets (`"schedules"`), the baseline's sizes and, for
      Shuffle, the closed-form minimum over step sizes (`"closed_form_min_bits"`).
    """
    _common.enable_x64()
    panels = []
    for name in TASKS:
        if progress is not None:
            progress(f"L*_T {name} n={n}")
        panels.append(_panel(name, n))
    return {"n": n, "panels": panels}


@functools.cache
def _panel(name: str, n: int) -> dict:
    """One task's L*_T, schedules and baseline (cached: the tables reuse them)."""
    import trilemma as T

    task = _common.task(name, n)
    first = task.outputs[0]
    steps = list(range(1, n + 1))
    perm = [int(j) for j in np.random.default_rng(0).permutation(n)]
    optimal, schedules, sizes, baseline, baseline_sizes = [], [], [], [], []
    for num_steps in steps:
        bound, schedule = T.optimal_t_step_bound(
            task.joint, num_steps, given=task.given
        )
        optimal.append(float(T.to_bits(bound)))
        positions = [[int(v) - first for v in step] for step in schedule]
        # Exchangeability: the same step sizes over other positions (here a fixed
        # permutation of them) must attain the same bound.
        moved = [tuple(task.outputs[perm[j]] for j in step) for step in positions]
        other = float(T.to_bits(T.t_step_bound(task.joint, moved, given=task.given)))
        if abs(other - optimal[-1]) > 1e-9:
            raise RuntimeError(f"{name}: L_T depends on positions, not only sizes")
        schedules.append(positions)
        sizes.append([len(step) for step in positions])
        blocks = list(T.samplers.topk_schedule(n, num_steps=num_steps))
        edges = [0, *itertools.accumulate(blocks)]
        partition = [tuple(task.outputs[a:b]) for a, b in itertools.pairwise(edges)]
        value = T.t_step_bound(task.joint, partition, given=task.given)
        baseline.append(float(T.to_bits(value)))
        baseline_sizes.append(blocks)
    panel = {
        "task": name,
        "label": f"{LABELS[name]}, n = {n}",
        "num_steps": steps,
        "optimal_bits": optimal,
        "step_sizes": sizes,
        "schedules": schedules,
        "baseline_bits": baseline,
        "baseline_sizes": baseline_sizes,
        "baseline_label": "equal contiguous blocks",
        "c_bits": _common.exact_total_correlation_bits(name, n),
    }
    if name == "shuffle":
        panel["closed_form_min_bits"] = [
            min(shuffle_bound_bits(c) for c in compositions(n, t)) for t in steps
        ]
    _check(panel)
    return panel


def _check(panel: dict) -> None:
    """Remark 1 and Theorem 2 (and the Shuffle closed form) on the computed values."""
    best = panel["optimal_bits"]
    tol = 1e-9
    problems = []
    if abs(best[0] - panel["c_bits"]) > tol:
        problems.append(f"L*_1 = {best[0]} != C(Y|X) = {panel['c_bits']}")
    if abs(best[-1]) > tol:
        problems.append(f"L*_n = {best[-1]} != 0")
    if any(b > a + tol for a, b in itertools.pairwise(best)):
        problems.append(f"L*_T not non-increasing: {best}")
    if any(o > b + tol for o, b in zip(best, panel["baseline_bits"], strict=True)):
        problems.append("optimum above the equal-blocks baseline")
    closed = panel.get("closed_form_min_bits")
    if (
        closed is not None
        and max(abs(a - b) for a, b in zip(best, closed, strict=True)) > tol
    ):
        problems.append(f"optimum {best} != closed-form minimum {closed}")
    if problems:
        raise RuntimeError(f"{panel['task']}: " + "; ".join(problems))


def run(outdir: Path = _common.FIGURES, progress=None) -> list[Path]:
    """Compute, draw and save the figure (PNG and PDF); returns the written paths."""
    from trilemma.plotting import fig_optimal_schedule

    fig = fig_optimal_schedule(compute(progress=progress))
    return _common.save_figure(fig, STEM, outdir)


def main(argv: list[str] | None = None) -> int:
    return _common.script_main(run, __doc__, argv)


if __name__ == "__main__":
    raise SystemExit(main())
