r"""Figure: Monte Carlo samples of the shipped dLLM beside its exact curves.

The shipped denoiser is sampled with `trilemma.sampling.sample_file` on the prompts
and tasks of `fig_model_decoding` (Shuffle and Replace Random, n = 4 and 5,
`NUM_PROMPTS` held-in prompts, `SAMPLES_PER_PROMPT` samples each), and each sample
file is graded: accuracy with its exact 95% Clopper-Pearson interval, against tokens
per step $L / \overline{\mathrm{NFE}}$. Beside the samples, the exact curves of
`figures/model_decoding.json` (the trained model, solid; the ideal model, dotted).

* random top-k at temperature 1: the samples must sit on the trained model's exact
  curve (support-only enumeration) - a check of the sampler and the enumerator;
* confidence top-k at temperature 1: no exact curve for the trained model (its tree
  is too large to enumerate); Monte Carlo only;
* APD with the shipped AR verifier (R in `APD_WEIGHTS`, lookahead M = L): the dLLM's
  forward passes only on the speed axis.

Interval: the samples of a point are `NUM_PROMPTS` equal strata of one binomial
each; Clopper-Pearson on the pooled count is then conservative (a stratified mean
has at most the binomial variance).

The sample files are kept in `--samples-dir` (default `build/samples`, not
committed), for `trilemma diversity-loss` or your own analysis.

  python experiments/fig_model_sampling.py [--outdir figures] [--model PATH]
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from experiments import _common
from experiments.fig_model_decoding import LABELS, NUM_PROMPTS, TASKS
from experiments.fig_model_decoding import STEM as EXACT_STEM

STEM = "model_sampling"
SAMPLES_PER_PROMPT = 250
APD_WEIGHTS = (0.3, 0.7, 1.0)
SAMPLES_DIR = _common.REPO_ROOT / "build" / "samples"
SEED = 0


def sweeps(n: int, length: int):
    """`(sampler name, [params...])` of the Monte Carlo series."""
    ks = sorted({1, 2, n})
    return [
        ("random_topk", [{"k": k, "temperature": 1.0} for k in ks]),
        ("confidence_topk", [{"k": k, "temperature": 1.0} for k in ks]),
        ("apd", [{"weight": r, "lookahead": length} for r in APD_WEIGHTS]),
    ]


def monte_carlo_point(task, path: Path) -> dict:
    """Accuracy (with its interval) and speed of one sample file."""
    from trilemma import samples
    from trilemma.estimators import clopper_pearson

    got = samples.read(path)
    passed = int(task.grade(got.prompt_id, got.output_tokens).sum())
    accuracy = clopper_pearson(passed, len(got))
    return {
        "num_samples": len(got),
        "accuracy": accuracy.estimate,
        "ci_low": accuracy.ci_low,
        "ci_high": accuracy.ci_high,
        "mean_nfe": float(got.nfe.mean()),
        "mean_ar_nfe": float(got.ar_nfe.mean()),
        "tokens_per_step": got.output_tokens.shape[1] / float(got.nfe.mean()),
    }


def compute(
    model_spec: str = "default",
    progress=None,
    exact_dir: Path = _common.FIGURES,
    samples_dir: Path = SAMPLES_DIR,
) -> dict:
    """Sample every point, grade it, and attach the exact curves."""
    import trilemma as T
    from trilemma import sampling
    from trilemma.models import weights

    exact_path = Path(exact_dir) / f"{EXACT_STEM}.json"
    if not exact_path.is_file():
        raise FileNotFoundError(
            f"{exact_path} is missing: run experiments/fig_model_decoding.py first "
            "(make reproduce runs it before this step)"
        )
    exact = {
        (p["task"], p["n"]): p for p in json.loads(exact_path.read_text())["panels"]
    }
    denoiser = weights.resolve_model(model_spec, "denoiser")
    verifier = weights.resolve_model(model_spec, "autoregressive")
    samples_dir = Path(samples_dir)
    samples_dir.mkdir(parents=True, exist_ok=True)
    panels = []
    for name, n in TASKS:
        task = denoiser.task_set.evaluation_pair(name, n, num_prompts=NUM_PROMPTS)[0]
        model, ar = denoiser.model(task), verifier.model(task)
        length = len(task.outputs)
        series = []
        for sampler_name, grid in sweeps(n, length):
            points = []
            for params in grid:
                sampler = T.make_sampler(sampler_name, **params)
                if progress:
                    progress(f"{name} n={n} {sampler.describe()}")
                tag = "_".join(f"{k}{v}" for k, v in params.items())
                path = samples_dir / f"{name}{n}_{sampler_name}_{tag}.jsonl"
                sampling.sample_file(
                    path,
                    model,
                    sampler,
                    samples_per_prompt=SAMPLES_PER_PROMPT,
                    seed=SEED,
                    task=task,
                    ar_model=ar if sampler.num_models == 2 else None,
                    model_name=denoiser.name,
                )
                points.append({**params, **monte_carlo_point(task, path)})
            series.append(
                {
                    "sampler": sampler_name,
                    "temperature": 1.0,
                    "points": points,
                    **{
                        key: [p[key] for p in points]
                        for key in ("tokens_per_step", "accuracy", "ci_low", "ci_high")
                    },
                }
            )
        panels.append(
            {
                "task": name,
                "n": n,
                "label": f"{LABELS[name]}, n = {n}",
                "num_prompts": NUM_PROMPTS,
                "samples_per_prompt": SAMPLES_PER_PROMPT,
                "monte_carlo": series,
                "exact": exact[(name, n)]["series"],
            }
        )
    return {
        "model": denoiser.name,
        "verifier": verifier.name,
        "caption": (
            f"Markers: Monte Carlo accuracy of the shipped denoiser with 95% "
            f"Clopper-Pearson intervals ({NUM_PROMPTS} prompts x {SAMPLES_PER_PROMPT} "
            "samples per point). Lines: exact laws (solid: trained model; dotted: "
            "ideal model). APD uses the shipped AR verifier, M = L."
        ),
        "panels": panels,
    }


def run(
    outdir: Path = _common.FIGURES,
    progress=None,
    model: str = "default",
    samples_dir: Path = SAMPLES_DIR,
):
    """Sample, grade, draw and save the figure and its JSON; returns the paths."""
    from trilemma.plotting import fig_model_sampling

    data = compute(model, progress, exact_dir=outdir, samples_dir=samples_dir)
    written = [_common.write_json(Path(outdir) / f"{STEM}.json", data)]
    written += _common.save_figure(fig_model_sampling(data), STEM, outdir)
    return written


if __name__ == "__main__":
    sys.exit(_common.script_main(run, __doc__, model=True))
