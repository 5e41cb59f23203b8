r"""Figure: ParallelBench's Fig. 2 for the ideal model, exact.

Accuracy of top-k decoding against k for n = 4..8 (random and confidence top-k, LLaDA's
schedule with the remainder first), at temperature 1 and greedy, for Shuffle (a, b)
and Replace Random (c, d); and of greedy threshold decoding against gamma at n = 8
under both rules, ">= gamma" (reference code) and "> gamma" (paper), for Shuffle (e)
and Replace Random (f). The model is the ideal (oracle) model, and every value is the
exact probability of a correct output (no sampling).

Lines are closed forms (REFERENCE 2.4-2.7): for Shuffle, n!/prod_t m_t^s_t along the
schedule, which is ParallelBench's Eq. (5) when k | n; for greedy Replace Random, the
last-step rule (1, 0.5, 0 for a last step of 1, 2, >= 3 tokens), with the paper's
compact statement "0.5 if k = 2, 0 if k > 2" in grey; for Replace Random at
temperature 1, a derived recursion (the closed forms are `trilemma.simulation`'s).
Points are computed independently: by enumeration (`trilemma.simulate`), except
Shuffle at n = 7, 8 and panel (e), which use the symmetry-reduced recursion
(`trilemma.simulate_shuffle`, checked against enumeration in
`experiments/decoding_table.py` and `tests/test_symmetric.py`).

Threshold accuracy is piecewise constant in gamma, changing only where gamma equals a
confidence the oracle can produce (1/m and (m-1)/m); it is evaluated at every such
value and between consecutive ones, so the steps and the value at each boundary are
exact.

Shuffle is the task with all n! permutations, as the closed forms assume, and its
"accuracy" is the valid mass; ParallelBench's grader also rejects the identity,
which multiplies it by 1 - 1/n! (at most 1/24 lower for n >= 4).

  python experiments/fig_decoding_accuracy.py [--outdir figures]
"""

from __future__ import annotations

import sys
from fractions import Fraction
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from experiments import _common
from experiments import _decoding as D

STEM = "decoding_accuracy"
SIZES = range(4, 9)
THRESHOLD_N = 8
TOPK = ("random_topk", "confidence_topk")
LABELS = {"replace_random": "Replace Random", "shuffle": "Shuffle"}
ENUMERATE_SHUFFLE_UP_TO = 6


def accuracy(task: str, n: int, sampler: str, params: dict) -> float:
    """Exact accuracy: the grader for Replace Random, the valid mass for Shuffle."""
    key = D.params_key(params)
    if task == "shuffle":
        if n <= ENUMERATE_SHUFFLE_UP_TO:
            return D.outcome(task, n, sampler, key)["precision"]
        return D.shuffle_symmetric(n, sampler, key)["precision"]
    return D.outcome(task, n, sampler, key)["accuracy"]


def topk_panel(task: str, temperature: float, letter: str) -> dict:
    """Accuracy against k for n in SIZES, with closed-form lines."""
    from trilemma import simulation as S
    from trilemma.samplers import topk_schedule

    series, lines = [], []
    for n in SIZES:
        ks = list(range(1, n + 1))
        for sampler in TOPK:
            series.append(
                {
                    "n": n,
                    "sampler": sampler,
                    "k": ks,
                    "accuracy": [
                        accuracy(task, n, sampler, {"k": k, "temperature": temperature})
                        for k in ks
                    ],
                }
            )
        if task == "shuffle":
            closed = [S.shuffle_topk_accuracy(topk_schedule(n, k=k)) for k in ks]
            lines.append({"n": n, "k": ks, "accuracy": closed, "style": "solid"})
        elif temperature == 0:
            closed = [
                S.replace_random_topk_accuracy(topk_schedule(n, k=k), temperature=0)
                for k in ks
            ]
            lines.append({"n": n, "k": ks, "accuracy": closed, "style": "solid"})
        else:
            for confidence, style in ((False, "solid"), (True, "dashed")):
                closed = [
                    S.replace_random_topk_accuracy(
                        topk_schedule(n, k=k), temperature=1, confidence=confidence
                    )
                    for k in ks
                ]
                lines.append({"n": n, "k": ks, "accuracy": closed, "style": style})
    where = "greedy (τ = 0)" if temperature == 0 else "τ = 1"
    panel = {
        "kind": "k",
        "title": f"({letter}) {LABELS[task]}, top-k, {where}",
        "task": task,
        "temperature": temperature,
        "log_y": task == "shuffle",
        "ylabel": "accuracy (valid mass)" if task == "shuffle" else "accuracy",
        "series": series,
        "lines": lines,
        "line_labels": _line_labels(task, temperature),
    }
    if task == "shuffle" and temperature == 0:
        panel["note"] = "same law as (a): all confidences tie at 1/m"
    if task == "replace_random" and temperature == 0:
        panel["legend_loc"] = "upper right"
        ks = list(range(1, max(SIZES) + 1))
        panel["paper"] = {
            "k": ks,
            "accuracy": [S.paper_replace_random_topk(k) for k in ks],
            "label": "paper: 1, 0.5, 0 for k = 1, 2, >2",
        }
    return panel


def _line_labels(task: str, temperature: float) -> dict:
    if task == "shuffle":
        return {"solid": r"$n!/\prod_t m_t^{s_t}$ (Eq. (5) when $k \mid n$)"}
    if temperature == 0:
        return {"solid": "last-step rule: 1, 0.5, 0 for r = 1, 2, ≥3"}
    return {
        "solid": "recursion, random top-k (derived)",
        "dashed": "recursion, confidence top-k (derived)",
    }


def breakpoints(n: int) -> list[Fraction]:
    """Every confidence the oracle can produce, where threshold accuracy can change."""
    points = {Fraction(0), Fraction(1)}
    for m in range(1, n + 2):
        points |= {Fraction(1, m), Fraction(m - 1, m)}
    return sorted(points)


def threshold_panel(task: str, letter: str, n: int = THRESHOLD_N) -> dict:
    """Accuracy against gamma, both rules: exact steps and boundary values."""
    edges = breakpoints(n)
    rules = []
    for sampler, label in (
        ("threshold", "≥ γ (reference code)"),
        ("threshold_strict", "> γ (paper)"),
    ):
        points = [
            [float(g), accuracy(task, n, sampler, {"gamma": float(g)})] for g in edges
        ]
        intervals = []
        for lo, hi in zip(edges[:-1], edges[1:], strict=True):
            mid = (lo + hi) / 2
            value = accuracy(task, n, sampler, {"gamma": float(mid)})
            intervals.append([float(lo), float(hi), value])
        rules.append(
            {"rule": sampler, "label": label, "points": points, "intervals": intervals}
        )
    c = Fraction(n - 1, n)
    return {
        "kind": "gamma",
        "title": f"({letter}) {LABELS[task]}, greedy threshold, n = {n}",
        "task": task,
        "n": n,
        "ylabel": "accuracy (valid mass)" if task == "shuffle" else "accuracy",
        "rules": rules,
        "markers": [
            {"gamma": 0.5, "label": "γ = 1/2"},
            {
                "gamma": float(c),
                "label": f"γ = (n−1)/n = {c.numerator}/{c.denominator}",
            },
        ],
    }


def compute(progress=None) -> dict:
    """All panels of `trilemma.plotting.fig_decoding_accuracy`."""
    _common.enable_x64()
    panels = []
    for task, temperature, letter in (
        ("shuffle", 1.0, "a"),
        ("shuffle", 0.0, "b"),
        ("replace_random", 1.0, "c"),
        ("replace_random", 0.0, "d"),
    ):
        if progress is not None:
            progress(f"top-k {task} temperature {temperature:g}")
        panels.append(topk_panel(task, temperature, letter))
    for task, letter in (("shuffle", "e"), ("replace_random", "f")):
        if progress is not None:
            progress(f"threshold {task} n={THRESHOLD_N}")
        panels.append(threshold_panel(task, letter))
    order = [0, 1, 4, 2, 3, 5]  # Shuffle on the top row, Replace Random below
    return {
        "panels": [panels[i] for i in order],
        "ncols": 3,
        "n_values": list(SIZES),
        "caption": (
            "Ideal model, exact. Shuffle: all n! permutations, accuracy = valid mass "
            "(ParallelBench's grader also rejects the identity: × (1 − 1/n!)).\n"
            "Top-k follows LLaDA's schedule (remainder first); points and lines are "
            "offset slightly by n so that equal values stay visible."
        ),
    }


def run(outdir: Path = _common.FIGURES, progress=None) -> list[Path]:
    """Compute, draw and save the figure (PNG and PDF); returns the written paths."""
    from trilemma.plotting import fig_decoding_accuracy

    fig = fig_decoding_accuracy(compute(progress))
    return _common.save_figure(fig, STEM, outdir)


def main(argv: list[str] | None = None) -> int:
    return _common.script_main(run, __doc__, argv)


if __name__ == "__main__":
    raise SystemExit(main())
