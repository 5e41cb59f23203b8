r"""Figures: trilemma points estimated from samples beside the exact ones.

On the prompts of `fig_model_sampling` (Shuffle and Replace Random at n = 4,
`NUM_PROMPTS` held-in prompts of the shipped denoiser's pool, `SAMPLES_PER_PROMPT`
samples each, temperature 1), every sampler setting's sample file is estimated with
`trilemma diversity-loss`'s own code (`assess`, `BOOTSTRAP` basic-bootstrap
resamples, 95% intervals, against the exact p\*), and the estimate is drawn beside
the exact value where the library can compute it:

* `figures/estimated_points.{png,pdf,json}`: precision vs recall and the entropy
  of the valid outputs $H(q_V \mid X)$ ($q$ restricted to the support of $p^*$ and
  renormalised), for the ideal model (the oracle of the same prompts; random and
  confidence top-k) and the shipped denoiser (the same, and APD with the shipped
  AR verifier);
* `figures/diversity_speed.{png,pdf,json}`: the shipped denoiser's entropy drop
  $H(p^*) - H(q_V)$ (assess's `entropy_drop`) and recall against tokens per step.

Exact values (`Simulation.point()`, in bits):

* ideal model: `simulate(task, sampler)`, the whole law;
* shipped denoiser, every setting: `simulate(..., model=..., support_only=True)`,
  exact on the valid outputs (precision, recall, valid entropy, speed; not the
  entropy over all outputs, which the JSON then leaves null). Confidence top-k at
  temperature 1 enumerates what each step commits (`_factorised`); APD reads its
  trained verifier too (`ar_model`) and drops light trajectories off the support,
  so its E[NFE] is exact to the stated tolerance (about 1e-4).

Sample files: the shipped denoiser's are `fig_model_sampling`'s (in
`build/samples/`, written by the step before this one in `make reproduce`); what is
missing (the oracle's, or all of them when run alone) is sampled into
`build/samples/estimated_points_*.jsonl` and reused by later runs while its run
fields and size still match (delete them to resample).

  python experiments/fig_estimated_points.py [--outdir figures] [--model PATH]
"""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from experiments import _common
from experiments.fig_model_decoding import LABELS, NUM_PROMPTS
from experiments.fig_model_sampling import (
    SAMPLES_DIR,
    SAMPLES_PER_PROMPT,
    SEED,
    sweeps,
)

STEM = "estimated_points"
SPEED_STEM = "diversity_speed"
TASKS = (("shuffle", 4), ("replace_random", 4))
BOOTSTRAP = 200
PREFIX = "estimated_points"
"""File-name prefix of the sample files this step draws itself."""
METRICS = (
    "precision",
    "recall",
    "valid_entropy_bits",
    "entropy_bits",
    "entropy_drop_bits",
    "tokens_per_step",
)
"""The reported metrics of each point (assess's names; information in bits)."""
FAMILY_LABELS = {
    "random_topk": "random top-k",
    "confidence_topk": "confidence top-k",
    "apd": "APD",
}


def oracle_sweeps(n: int):
    """The ideal model's settings: random and confidence top-k at temperature 1."""
    return [entry for entry in sweeps(n, n) if entry[0] != "apd"]  # L = n here


def setting_label(sampler_name: str, params: dict) -> str:
    """`random top-k, k = 2`, `APD, R = 0.7`: a setting for a legend."""
    family = FAMILY_LABELS.get(sampler_name, sampler_name)
    if "k" in params:
        return f"{family}, k = {params['k']}"
    if "weight" in params:
        return f"{family}, R = {params['weight']:g}"
    return family


def _usable(path: Path, run: dict, task, size: int) -> bool:
    """Whether `path` holds exactly the run we would draw (fields, size, prompts)."""
    from trilemma import samples

    if not path.is_file():
        return False
    try:
        got = samples.read(path)
    except (OSError, ValueError):
        return False
    fields = got.runs[0] if len(got.runs) == 1 else {}
    prompts = [tuple(int(v) for v in row) for row in task.prompts]
    return (
        all(fields.get(key) == value for key, value in run.items())
        and len(got) == size
        and [got.prompts[i][0] for i in sorted(got.prompts)] == prompts
    )


def sample_path(
    which: str,
    model,
    sampler_name: str,
    params: dict,
    *,
    task,
    ar_model,
    model_name,
    samples_dir: Path,
    progress=None,
) -> Path:
    """The sample file of one setting: reused when present and current, else drawn.

    The shipped denoiser's settings first look for `fig_model_sampling`'s file (the
    same name, from the same sweep parameters).
    """
    import trilemma as T
    from trilemma import sampling

    sampler = T.make_sampler(sampler_name, **params)
    tag = "_".join(f"{k}{v}" for k, v in params.items())
    stem = f"{task.name}{task.n}_{sampler.name}_{tag}.jsonl"
    run = {
        "task": task.name,
        "n": int(task.n),
        "model": model_name,
        "sampler": sampler.name,
        "params": dict(sampler.params),
        "seed": SEED,
    }
    size = len(task.prompts) * SAMPLES_PER_PROMPT
    candidates = [samples_dir / f"{PREFIX}_{which}_{stem}"]
    if which == "trained":
        candidates.insert(0, samples_dir / stem)
    for path in candidates:
        if _usable(path, run, task, size):
            return path
    path = candidates[-1]
    if progress:
        progress(f"sampling {which} {task.name} n={task.n} {sampler.describe()}")
    sampling.sample_file(
        path,
        model,
        sampler,
        samples_per_prompt=SAMPLES_PER_PROMPT,
        seed=SEED,
        task=task,
        ar_model=ar_model,
        model_name=model_name,
    )
    return path


def estimate(paths, name: str, n: int, progress=None) -> list[dict]:
    """The `assess` report of each sample file (bits); identical samples once."""
    from trilemma import samples
    from trilemma.assessment import assess

    done: dict[str, dict] = {}
    reports = []
    for path in paths:
        got = samples.read(path)
        digest = hashlib.sha256()
        for array in (got.prompt_id, got.output_tokens, got.nfe):
            digest.update(array.astype("int64").tobytes())
        key = digest.hexdigest()
        if key not in done:
            if progress:
                progress(f"estimating {Path(path).name}")
            (report,), _ = assess(got, task=name, n=n, num_bootstrap=BOOTSTRAP)
            done[key] = report
        reports.append(done[key])
    return reports


def _exact_point(sim) -> dict:
    """The exact metrics of a `Simulation`, named as assess names them (bits)."""
    import trilemma as T

    point = T.in_bits(sim.point())
    return {
        "precision": point["precision"],
        "recall": point["recall"],
        "valid_entropy_bits": point["valid_entropy_bits"],
        "entropy_bits": point["entropy_bits"],
        "entropy_drop_bits": point["reference_entropy_bits"]
        - point["valid_entropy_bits"],
        "tokens_per_step": point["tokens_per_step"],
    }


def exact_points(which: str, task, model, ar_model, settings) -> list[dict]:
    """The exact metrics of each `(sampler name, params)` (`trilemma.simulate`)."""
    import trilemma as T

    out = []
    for sampler_name, params in settings:
        sampler = T.SAMPLERS[sampler_name](**params)
        if which == "ideal":
            sim = T.simulate(task, sampler)
            source = "simulate"
        else:
            two = sampler.num_models == 2
            sim = T.simulate(
                task,
                sampler,
                model=model,
                ar_model=ar_model if two else None,
                support_only=True,
            )
            source = "simulate, support only"
            if sim.nfe_tolerance:
                source += f" (E[NFE] within {sim.nfe_tolerance:.0e})"
        out.append({**_exact_point(sim), "source": source})
    return out


def _point(sampler_name, params, setting, report, exact) -> dict:
    return {
        "sampler": sampler_name,
        "params": params,
        "setting": setting,
        "label": setting_label(sampler_name, params),
        "num_samples": report["num_samples"],
        "distinct_per_prompt": report["distinct_per_prompt"],
        "estimated": {m: report[m] for m in METRICS},
        "exact": {m: None if exact is None else exact[m] for m in METRICS},
        "exact_source": None if exact is None else exact["source"],
    }


def compute(
    model_spec: str = "default", progress=None, samples_dir: Path = SAMPLES_DIR
) -> dict:
    """Every point of both figures: estimates with intervals and exact values."""
    from trilemma.models import weights
    from trilemma.oracle import oracle_model

    denoiser = weights.resolve_model(model_spec, "denoiser")
    verifier = weights.resolve_model(model_spec, "autoregressive")
    samples_dir = Path(samples_dir)
    samples_dir.mkdir(parents=True, exist_ok=True)
    panels = []
    for name, n in TASKS:
        task = denoiser.task_set.evaluation_pair(name, n, num_prompts=NUM_PROMPTS)[0]
        length = len(task.outputs)
        models = {
            "ideal": (oracle_model(task), None, "oracle", oracle_sweeps(n)),
            "trained": (
                denoiser.model(task),
                verifier.model(task),
                denoiser.name,
                sweeps(n, length),
            ),
        }
        groups, reference = [], None
        for which, (model, ar, model_name, grid) in models.items():
            settings = [(s, p, i) for s, ps in grid for i, p in enumerate(ps)]
            paths = [
                sample_path(
                    which,
                    model,
                    s,
                    p,
                    task=task,
                    ar_model=ar if s == "apd" else None,
                    model_name=model_name,
                    samples_dir=samples_dir,
                    progress=progress,
                )
                for s, p, _ in settings
            ]
            reports = estimate(paths, name, n, progress)
            if progress:
                progress(f"exact {which} {name} n={n}")
            pairs = [(s, p) for s, p, _ in settings]
            exact = exact_points(which, task, model, ar, pairs)
            reference = reports[0]["reference_entropy_bits"]["estimate"]
            points = [
                _point(s, p, i, r, e)
                for (s, p, i), r, e in zip(settings, reports, exact, strict=True)
            ]
            label = "ideal model" if which == "ideal" else f"shipped {denoiser.name}"
            groups.append({"model": which, "label": label, "points": points})
        panels.append(
            {
                "task": name,
                "n": n,
                "label": f"{LABELS[name]}, n = {n}",
                "num_prompts": NUM_PROMPTS,
                "samples_per_prompt": SAMPLES_PER_PROMPT,
                "reference_entropy_bits": reference,
                "models": groups,
            }
        )
    return {
        "model": denoiser.name,
        "verifier": verifier.name,
        "bootstrap": BOOTSTRAP,
        "seed": SEED,
        "panels": panels,
    }


def points_data(data: dict) -> dict:
    """`estimated_points.json`: both models per task, with the caption."""
    per_point = f"{NUM_PROMPTS} prompts x {SAMPLES_PER_PROMPT} samples"
    return {
        **data,
        "caption": (
            "Filled markers: trilemma points estimated from samples (temperature 1; "
            f"{per_point} per setting) with 95% basic-bootstrap intervals "
            f"({data['bootstrap']} resamples; Clopper-Pearson for precision); "
            "hollow markers joined to them: exact values. Right: entropy of the "
            "valid outputs, H(q_V | X) with q_V = q restricted to supp p* and "
            "renormalised. Exact recall is 1 throughout (at temperature 1 every "
            "valid output has positive probability). The ideal model's marginals "
            "tie on Shuffle, so its confidence top-k draws random top-k's samples. "
            "Shipped model: every exact value by simulate with support-only "
            "pruning (confidence top-k by the factorised step law; APD with the "
            "trained verifier, E[NFE] within 1e-3)."
        ),
    }


def speed_data(data: dict) -> dict:
    """`diversity_speed.json`: the shipped model's points per task."""
    panels = []
    for panel in data["panels"]:
        trained = next(m for m in panel["models"] if m["model"] == "trained")
        rest = {k: v for k, v in panel.items() if k != "models"}
        panels.append({**rest, "points": trained["points"]})
    per_point = f"{NUM_PROMPTS} prompts x {SAMPLES_PER_PROMPT} samples"
    return {
        **{k: v for k, v in data.items() if k != "panels"},
        "caption": (
            f"Shipped {data['model']} at temperature 1 (APD with {data['verifier']}, "
            f"M = n): estimates from {per_point} per setting with 95% "
            f"basic-bootstrap intervals ({data['bootstrap']} resamples); hollow "
            "markers: exact values. Entropy drop H(p*) - H(q_V | X), with q_V the "
            "law of the valid outputs (q restricted to supp p*, renormalised). "
            "Exact recall is 1 for every setting (at temperature 1 every valid "
            "output has positive probability); the estimates miss the rare ones. "
            "Exact values by simulate with support-only pruning: confidence top-k "
            "by the factorised step law, APD with the trained verifier (E[NFE] "
            "within 1e-3)."
        ),
        "panels": panels,
    }


def run(
    outdir: Path = _common.FIGURES,
    progress=None,
    model: str = "default",
    samples_dir: Path = SAMPLES_DIR,
):
    """Sample what is missing, estimate, draw and save both figures and their JSON."""
    from trilemma.plotting import fig_diversity_speed, fig_estimated_points

    data = compute(model, progress, samples_dir=samples_dir)
    written = []
    for stem, payload, draw in (
        (STEM, points_data(data), fig_estimated_points),
        (SPEED_STEM, speed_data(data), fig_diversity_speed),
    ):
        written.append(_common.write_json(Path(outdir) / f"{stem}.json", payload))
        written += _common.save_figure(draw(payload), stem, outdir)
    return written


if __name__ == "__main__":
    sys.exit(_common.script_main(run, __doc__, model=True))
