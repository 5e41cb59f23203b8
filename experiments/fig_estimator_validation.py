r"""Figure: the estimators' bias and interval coverage against sample size.

Two exact sampler laws, each sampled `REPEATS` times at every size in `SIZES`
(samples per prompt) with `trilemma.estimators.coverage_study`, which draws the
counts from the exact law and estimates each set against the exact $p^*$:

* the ideal model: random top-k, k = 2, T = 1 on Replace Random n = 4 (2 prompts);
* the shipped denoiser: the same sampler on Shuffle n = 4 (4 held-in prompts), its
  exact law from `simulate(..., model=..., support_only=True)`;
* the boundary: the ideal model decoding one token per step on Shuffle (distinct)
  n = 4, so q = p* (TV = KL = drop = 0, recall = F_8 = F_1/8 = 1).

Left: the mean bias of each entropy estimator on the valid entropy $H(q|_V)$ in
bits, against $N$ (the default, `DEFAULT_ENTROPY_ESTIMATOR`, in bold). Right: the
share of 95% intervals (`estimate_point`, `BOOTSTRAP` resamples) that hold the
exact value, per quantity, with the nominal level and its $\pm 2$ binomial-SE band
for `REPEATS` sets (the entropy drop's coverage is the valid entropy's, since the
reference is exact). `paper_notes.md` §21 reads the numbers.

  python experiments/fig_estimator_validation.py [--outdir figures]
"""

from __future__ import annotations

import sys
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from experiments import _common

STEM = "estimator_validation"
SIZES = (25, 100, 400, 1600)
REPEATS = 80
BOOTSTRAP = 100
SETTINGS = (  # (label, task, n, prompts, model, k)
    ("ideal model", "replace_random", 4, 2, None, 2),
    ("shipped denoiser", "shuffle", 4, 4, "default", 2),
    ("ideal model, q = p*", "shuffle_distinct", 4, 2, None, 1),
)


def _simulation(name: str, n: int, num_prompts: int, model_spec, k: int):
    import trilemma as T
    from trilemma.models import weights

    sampler = T.make_sampler("random_topk", k=k, temperature=1.0)
    if model_spec is None:
        return T.simulate(T.make_task(name, n, num_prompts=num_prompts), sampler)
    denoiser = weights.resolve_model(model_spec, "denoiser")
    task = denoiser.task_set.evaluation_pair(name, n, num_prompts=num_prompts)[0]
    model = denoiser.model(task)
    return T.simulate(task, sampler, model=model, support_only=True)


def compute(progress=None) -> dict:
    """Every setting's study, in bits for the information quantities."""
    from trilemma import to_bits
    from trilemma.estimators import DEFAULT_ENTROPY_ESTIMATOR, coverage_study
    from trilemma.estimators._point import NATS_FIELDS

    panels = []
    for label, name, n, num_prompts, model_spec, k in SETTINGS:
        if progress:
            progress(f"{label}: {name} n={n}")
        study = coverage_study(
            _simulation(name, n, num_prompts, model_spec, k),
            SIZES,
            repeats=REPEATS,
            num_bootstrap=BOOTSTRAP,
            seed=0,
        )

        def unit(field, values):
            values = [float(v) for v in values]
            return (
                [float(to_bits(v)) for v in values] if field in NATS_FIELDS else values
            )

        panels.append(
            {
                "label": f"{label}: random top-k (k = {k}), {name} n = {n}",
                "task": name,
                "n": n,
                "num_prompts": num_prompts,
                "truth": {k: unit(k, [v])[0] for k, v in study.truth.items()},
                "bias": {
                    k: unit(k, study.mean[k] - study.truth[k]) for k in study.mean
                },
                "rmse": {k: unit(k, v) for k, v in study.rmse.items()},
                "coverage": {
                    k: [float(c) for c in v] for k, v in study.coverage.items()
                },
                "entropy_bias_bits": {
                    k: unit("entropy", v) for k, v in study.entropy_bias.items()
                },
            }
        )
    return {
        "sizes": list(SIZES),
        "repeats": REPEATS,
        "bootstrap": BOOTSTRAP,
        "level": 0.95,
        "default_entropy_estimator": DEFAULT_ENTROPY_ESTIMATOR,
        "caption": (
            f"{REPEATS} sample sets per size drawn from each exact law. Left: mean "
            "bias of the valid entropy by estimator (bits). Right: share of 95% "
            f"intervals ({BOOTSTRAP} bootstrap resamples; Clopper-Pearson for "
            "precision) holding the exact value; grey: 0.95 and its 2-SE band."
        ),
        "panels": panels,
    }


def run(outdir: Path = _common.FIGURES, progress=None):
    """Study, draw and save the figure and its JSON; returns the paths."""
    from trilemma.plotting import fig_estimator_validation

    data = compute(progress)
    written = [_common.write_json(Path(outdir) / f"{STEM}.json", data)]
    written += _common.save_figure(fig_estimator_validation(data), STEM, outdir)
    return written


if __name__ == "__main__":
    sys.exit(_common.script_main(run, __doc__))
