r"""Figure: the trilemma frontier of every sampler family, exact, on five tasks.

For each sampler family swept over its parameter, the ideal (oracle) model's exact
output law q gives one point per setting: speed, tokens per forward pass
L / E[NFE] (x axis); fluency, the precision q(supp p*) (the valid mass); and
diversity, the recall p*(supp q) (the valid mass the sampler can ever produce) and the
entropy ratio H(q | valid) / H(p*) (the entropy of the valid outputs, renormalised per
prompt, relative to the target's; both in bits).

Families and sweeps:

* top-k with random, confidence, margin and entropy scores, and left-to-right
  (semi-AR with block = k): k = 1..L (LLaDA's schedule, remainder first);
* threshold (">= gamma", reference code) and threshold_strict ("> gamma", paper):
  gamma in `GAMMAS`;
* Fast-dLLM's factor rule: f in `FACTORS`;
* EB-Sampler: gamma in `EB_GAMMAS_NATS` (the library takes nats; the JSON also gives
  bits);
* MDLM ancestral sampling: num_steps in `MDLM_STEPS` (fewer on Latin Square, whose
  enumeration with MDLM grows quickly);
* DUS: block B in 1, 2, 4, ... up to L (dilated levels within each block);
* the samplers with state (issue 18), greedy only, as their papers and ParallelBench
  run them: KLASS (confidence threshold in `KLASS_CONFIDENCES`), SlowFast (high
  confidence in `SLOWFAST_CONFIDENCES`), WINO (threshold in `WINO_THRESHOLDS`), and the
  re-masking ReMDM and RCR (num_steps in `REMASK_STEPS`). Their exact laws are Markov
  chains over (tokens, state); on `CHAIN_SKIPPED` (the 3×3 Latin square: 3^9 joint
  draws per state) they would take minutes and are left out (the JSON's
  `"refused"` lists them).

Every family runs at temperature 0 (greedy, ties broken at random) and 1. The figure
shows the families at the temperature each is used with: the adaptive rules
(threshold, factor, EB) and confidence top-k greedy (ParallelBench's setting), and
random top-k, confidence top-k and MDLM at temperature 1; figures/trilemma_frontier.json
holds every family at both temperatures.

  python experiments/fig_trilemma_frontier.py [--outdir figures]
"""

from __future__ import annotations

import math
import sys
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from experiments import _common
from experiments import _decoding as D

STEM = "trilemma_frontier"
TASKS = (
    ("replace_random", 6, "Replace Random, n = 6"),
    ("shuffle_distinct", 5, "Shuffle (distinct), n = 5"),
    ("latin_square", 3, "Latin Square 3×3"),
    ("markov_chain", 6, "Markov chain, 6 tokens"),
    ("copula", None, "Copula (2 tokens)"),
)
TOPK = (
    "random_topk",
    "confidence_topk",
    "margin_topk",
    "entropy_topk",
    "left_to_right",
)
GAMMAS = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.99, 1.0)
FACTORS = (0.5, 0.7, 1.0, 1.3, 1.6, 1.9, 3.0)
EB_GAMMAS_NATS = (0.01, 0.1, 0.3, 0.5, 1.0, 2.0, 4.0, 8.0)
MDLM_STEPS = (1, 2, 3, 4, 6)
MDLM_STEPS_LATIN = (1, 2)
TEMPERATURES = (0.0, 1.0)
KLASS_CONFIDENCES = (0.5, 0.7, 0.9, 0.95)
SLOWFAST_CONFIDENCES = (0.5, 0.7, 0.9)
WINO_THRESHOLDS = (0.3, 0.5, 0.7, 0.9)
REMASK_STEPS = (2, 3)
STATEFUL = ("klass", "slowfast", "wino", "remdm", "rcr")
"""The samplers with state: greedy only (their papers' and ParallelBench's setting)."""
CHAIN_SKIPPED = ("latin_square",)
"""Tasks whose chains take minutes: the stateful samplers are left out there."""
SHOWN = (
    ("random_topk", 1.0),
    ("confidence_topk", 1.0),
    ("mdlm", 1.0),
    ("confidence_topk", 0.0),
    ("threshold", 0.0),
    ("factor", 0.0),
    ("eb", 0.0),
    ("klass", 0.0),
    ("wino", 0.0),
    ("remdm", 0.0),
)
"""(family, temperature) pairs drawn in the figure."""


def sweep(family: str, task: str, length: int) -> list[tuple[str, float | int, dict]]:
    """`(parameter name, value, sampler kwargs)` for each setting of a family."""
    if family in TOPK:
        return [("k", k, {"k": k}) for k in range(1, length + 1)]
    if family in ("threshold", "threshold_strict"):
        return [("gamma", g, {"gamma": g}) for g in GAMMAS]
    if family == "factor":
        return [("factor", f, {"factor": f}) for f in FACTORS]
    if family == "eb":
        return [("gamma_nats", g, {"gamma": g}) for g in EB_GAMMAS_NATS]
    if family == "dus":
        blocks = [2**i for i in range(length.bit_length()) if 2**i <= length]
        return [("block", b, {"block": b}) for b in blocks]
    if family == "klass":
        return [("confidence", c, {"confidence": c}) for c in KLASS_CONFIDENCES]
    if family == "slowfast":
        grid = SLOWFAST_CONFIDENCES
        return [("high_confidence", c, {"high_confidence": c}) for c in grid]
    if family == "wino":
        return [("threshold", t, {"threshold": t}) for t in WINO_THRESHOLDS]
    if family in ("remdm", "rcr"):
        return [("num_steps", s, {"num_steps": s}) for s in REMASK_STEPS]
    steps = MDLM_STEPS_LATIN if task == "latin_square" else MDLM_STEPS
    return [("num_steps", s, {"num_steps": s}) for s in steps if s <= length]


FAMILIES = (
    *TOPK,
    "threshold",
    "threshold_strict",
    "factor",
    "eb",
    "mdlm",
    "dus",
    *STATEFUL,
)


def compute(progress=None) -> dict:
    """Every family's exact sweep on every task, at both temperatures."""
    _common.enable_x64()
    rows, refused = [], []
    for task, n, title in TASKS:
        length = len(_common.task(task, n).outputs)
        if progress is not None:
            progress(f"frontier {task}")
        curves = []
        for family in FAMILIES:
            for temperature in (0.0,) if family in STATEFUL else TEMPERATURES:
                points = []
                for name, value, params in sweep(family, task, length):
                    params = {**params, "temperature": temperature}
                    key = D.params_key(params)
                    if family in STATEFUL and task in CHAIN_SKIPPED:
                        refused.append({"task": task, "sampler": family, **params})
                        continue
                    p = D.point(task, n, family, key)
                    entry = {
                        "parameter": name,
                        "value": value,
                        "tokens_per_step": p["tokens_per_step"],
                        "precision": p["precision"],
                        "recall": p["recall"],
                        "accuracy": p["accuracy"],
                        "valid_entropy_bits": p["valid_entropy_bits"],
                        "entropy_ratio": p["valid_entropy_bits"]
                        / p["reference_entropy_bits"],
                        "kl_reference_to_sampler_bits": p[
                            "kl_reference_to_sampler_bits"
                        ],
                        "tv": p["tv"],
                    }
                    if name == "gamma_nats":
                        entry["gamma_bits"] = value / math.log(2)
                    points.append(entry)
                if points:  # none where the chain samplers are left out
                    curves.append(
                        {"family": family, "temperature": temperature, "points": points}
                    )
        reference = D.point(task, n, "random_topk", D.params_key({"k": 1}))
        rows.append(
            {
                "task": task,
                "n": n,
                "title": title,
                "output_length": length,
                "reference_entropy_bits": reference["reference_entropy_bits"],
                "curves": curves,
            }
        )
    return {"rows": rows, "shown": [list(s) for s in SHOWN], "refused": refused}


def figure_data(data: dict) -> dict:
    """The subset drawn by `trilemma.plotting.fig_trilemma_frontier`."""
    shown = {tuple(s) for s in data["shown"]}
    rows = []
    for row in data["rows"]:
        curves = [
            {
                "family": c["family"],
                "temperature": c["temperature"],
                "label": _label(c["family"], c["temperature"]),
                "x": [p["tokens_per_step"] for p in c["points"]],
                "precision": [p["precision"] for p in c["points"]],
                "recall": [p["recall"] for p in c["points"]],
                "entropy_ratio": [p["entropy_ratio"] for p in c["points"]],
            }
            for c in row["curves"]
            if (c["family"], c["temperature"]) in shown
        ]
        title = f"{row['title']}  (H(p*) = {row['reference_entropy_bits']:.2f} bits)"
        rows.append({"title": title, "curves": curves})
    order = [_label(f, t) for f, t in SHOWN]
    caption = (
        "Ideal model, exact. Solid: greedy; dashed: temperature 1. Each line joins "
        "one family's settings in sweep order (k, γ, f, EB budget, MDLM steps; "
        "KLASS's confidence, WINO's threshold, ReMDM's steps).\n"
        "Greedy rules keep precision where they decode slowly enough but cover "
        "little of the support (Markov chain, Copula); top-k and MDLM at "
        "temperature 1 keep recall = 1 and lose precision as tokens per step grow."
    )
    return {"rows": rows, "legend_order": order, "caption": caption}


LABELS = {
    "random_topk": "random top-k",
    "confidence_topk": "confidence top-k",
    "margin_topk": "margin top-k",
    "entropy_topk": "entropy top-k",
    "left_to_right": "left-to-right",
    "threshold": "threshold (≥ γ)",
    "threshold_strict": "threshold (> γ)",
    "factor": "factor (Fast-dLLM)",
    "eb": "EB-Sampler",
    "mdlm": "MDLM ancestral",
    "dus": "DUS",
    "klass": "KLASS",
    "slowfast": "SlowFast",
    "wino": "WINO",
    "remdm": "ReMDM",
    "rcr": "RCR",
}


def _label(family: str, temperature: float) -> str:
    where = "greedy" if temperature == 0 else f"τ = {temperature:g}"
    return f"{LABELS[family]}, {where}"


def run(outdir: Path = _common.FIGURES, progress=None) -> list[Path]:
    """Compute, draw and save the figure (PNG, PDF) and the full sweep (JSON)."""
    from trilemma.plotting import fig_trilemma_frontier

    data = compute(progress)
    fig = fig_trilemma_frontier(figure_data(data))
    paths = _common.save_figure(fig, STEM, outdir)
    paths.append(_common.write_json(Path(outdir) / f"{STEM}.json", data))
    return paths


def main(argv: list[str] | None = None) -> int:
    return _common.script_main(run, __doc__, argv)


if __name__ == "__main__":
    raise SystemExit(main())
