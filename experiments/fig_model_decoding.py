r"""Figure: the shipped dLLM against the ideal model, exact (Shuffle, Replace Random).

For n = 4 and 5 of Shuffle and Replace Random, on `NUM_PROMPTS` random held-in
prompts of the shipped denoiser's pool, every point is the exact output law of a
sampler (no Monte Carlo), driven once by the trained network
(`simulate(task, sampler, model=...)`) and once by the ideal model of the same
prompts (the oracle path): accuracy, and the entropy of the valid outputs in bits,
against tokens per step L / E[NFE].

* random top-k at temperature 1 (k = 1..n): the trained model's law by
  support-only enumeration (exact on the valid outputs; E[NFE] = ceil(L / k));
* confidence top-k (k = 1..n) and threshold (gamma in `GAMMAS`), greedy: the whole
  tree over the model's vocabulary.

Greedy decoding shows what a real network does to the ideal model's exact ties: the
ideal model breaks them uniformly and keeps every permutation of Shuffle, the
trained network's marginals are never exactly equal, so its argmax is one output
per prompt and the valid entropy collapses to 0, whatever the speed.

  python experiments/fig_model_decoding.py [--outdir figures] [--model PATH]
"""

from __future__ import annotations

import math
import sys
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from experiments import _common

STEM = "model_decoding"
TASKS = (("shuffle", 4), ("shuffle", 5), ("replace_random", 4), ("replace_random", 5))
LABELS = {"shuffle": "Shuffle", "replace_random": "Replace Random"}
NUM_PROMPTS = 4
GAMMAS = (0.05, 0.2, 0.3, 0.4, 0.6, 0.8, 0.9, 0.99)


def sweeps(n: int):
    """`(sampler name, temperature, [params...])` of the figure's three sweeps."""
    ks = [{"k": k} for k in range(1, n + 1)]
    return [
        ("random_topk", 1.0, ks),
        ("confidence_topk", 0.0, ks),
        ("threshold", 0.0, [{"gamma": g} for g in GAMMAS]),
    ]


def _point(sim) -> dict:
    import trilemma as T

    point = T.in_bits(sim.point())
    return {
        "tokens_per_step": point["tokens_per_step"],
        "accuracy": point["accuracy"],
        "valid_entropy_bits": point["valid_entropy_bits"],
        "reference_entropy_bits": point["reference_entropy_bits"],
        "invalid_mass": sim.invalid_mass,
    }


def compute(model_spec: str = "default", progress=None) -> dict:
    """Every point of the figure, exact, in bits."""
    import trilemma as T
    from trilemma.models import weights

    model_file = weights.resolve_model(model_spec, "denoiser")
    panels = []
    for name, n in TASKS:
        task = model_file.task_set.evaluation_pair(name, n, num_prompts=NUM_PROMPTS)[0]
        model = model_file.model(task)
        series = []
        for sampler_name, temperature, grid in sweeps(n):
            for which in ("trained", "ideal"):
                points = []
                for params in grid:
                    if progress:
                        progress(f"{name} n={n} {sampler_name} {params} {which}")
                    sampler = T.SAMPLERS[sampler_name](
                        **params, temperature=temperature
                    )
                    if which == "ideal":
                        sim = T.simulate(task, sampler)
                    else:
                        sim = T.simulate(
                            task,
                            sampler,
                            model=model,
                            support_only=sampler.fixed_schedule and temperature > 0,
                        )
                    points.append({**params, **_point(sim)})
                series.append(
                    {
                        "sampler": sampler_name,
                        "temperature": temperature,
                        "model": which,
                        "points": points,
                        **{
                            key: [p[key] for p in points]
                            for key in (
                                "tokens_per_step",
                                "accuracy",
                                "valid_entropy_bits",
                                "invalid_mass",
                            )
                        },
                    }
                )
        reference = series[0]["points"][0]["reference_entropy_bits"]
        panels.append(
            {
                "task": name,
                "n": n,
                "label": f"{LABELS[name]}, n = {n}",
                "num_prompts": NUM_PROMPTS,
                "reference_entropy_bits": reference,
                "series": series,
            }
        )
    return {
        "model": model_file.name,
        "caption": (
            f"Exact laws on {NUM_PROMPTS} random prompts per task. Solid: the shipped "
            "denoiser; dotted: the ideal model on the same prompts. Greedy decoding "
            "of a trained network has no ties to break, so its valid entropy is 0."
        ),
        "panels": panels,
    }


def _clean(obj):
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {k: _clean(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_clean(v) for v in obj]
    return obj


def run(outdir: Path = _common.FIGURES, progress=None, model: str = "default"):
    """Compute, draw and save the figure and its JSON; returns the written paths."""
    from trilemma.plotting import fig_model_decoding

    data = compute(model, progress)
    written = [_common.write_json(Path(outdir) / f"{STEM}.json", _clean(data))]
    written += _common.save_figure(fig_model_decoding(data), STEM, outdir)
    return written


def main(argv: list[str] | None = None) -> int:
    return _common.script_main(run, __doc__, argv, model=True)


if __name__ == "__main__":
    raise SystemExit(main())
