"""`trilemma fit --model default|PATH`: a trained model's exact fit to its tasks."""

from __future__ import annotations

import json
import math

from .. import _checks
from .._units import in_bits
from . import _common, _parse


def add_parser(subparsers) -> None:
    """Register the `fit` command."""
    parser = subparsers.add_parser(
        "fit",
        help="exact fit of a trained model to every (task, n) it was trained on",
        description="For every (task, n) a model was trained on, on held-in and "
        "held-out prompts: the exact one-by-one accuracy (random order, temperature "
        "1), KL(p*||q) in bits, recall, and the one-step KL beside the task's "
        "C(Y|X), all by exact enumeration of the model's output law.",
    )
    parser.add_argument(
        "--model",
        default="default",
        help="default (both shipped models), or a model folder (trilemma train -o)",
    )
    parser.add_argument(
        "--num-prompts",
        type=_parse.integer,
        default=8,
        help="prompts per (task, n) and split, 1 to 4096 (default 8)",
    )
    parser.add_argument(
        "--seed",
        type=_parse.integer,
        default=0,
        help="seed of the prompts, 0 to 2^31 - 1 (default 0)",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.set_defaults(run=run, flags=_common.flags_of(parser))


def load(spec: str):
    """The model files `--model` names: both shipped ones for `default`."""
    from ..models import weights

    if spec == "default":
        return [weights.resolve_model("default", kind) for kind in weights.KINDS]
    return [weights.resolve_model(spec)]


def report(model_files, *, num_prompts: int, seed: int, progress: bool) -> dict:
    """`{"models": [{"model", "kind", "tasks": [ModelFit in bits...]}]}`."""
    from ..fit import fit

    _checks.check_int(num_prompts, "num_prompts", minimum=1, maximum=4096)
    _checks.check_int(seed, "seed", minimum=0, maximum=2**31 - 1)
    models = []
    for model_file in model_files:
        rows = fit(model_file, num_prompts=num_prompts, seed=seed, progress=progress)
        models.append(
            {
                "model": model_file.name,
                "kind": "autoregressive" if model_file.config.causal else "denoiser",
                "tasks": [
                    {k: _finite(v) for k, v in in_bits(row).items()} for row in rows
                ],
            }
        )
    return {"num_prompts": num_prompts, "seed": seed, "models": models}


def _finite(value):
    if isinstance(value, float):
        return _common.clean(value) if math.isfinite(value) else None
    return value


def run(args) -> int:
    """Fit and print a table per model (or one JSON object with `--json`)."""
    _checks.check_int(args.num_prompts, "num_prompts", minimum=1, maximum=4096)
    _checks.check_int(args.seed, "seed", minimum=0, maximum=2**31 - 1)
    result = report(
        load(args.model),
        num_prompts=args.num_prompts,
        seed=args.seed,
        progress=not args.json,
    )
    if args.json:
        print(json.dumps(result))
        return 0
    print(table(result))
    return 0


def table(result: dict) -> str:
    """The fit report as aligned text, one line per (task, n), both splits."""
    lines = []
    for model in result["models"]:
        lines.append(f"{model['model']} ({model['kind']}), exact, bits")
        lines.append(
            f"{'task':<17}{'n':>2}  {'accuracy in/out':>15}  {'KL in/out':>15}  "
            f"{'recall':>6}  {'1-step KL':>9}  {'C(Y|X)':>7}"
        )
        rows = {(r["task"], r["n"], r["split"]): r for r in model["tasks"]}
        for task, n, split in rows:
            if split != "held_in":
                continue
            a, b = rows[task, n, "held_in"], rows[task, n, "held_out"]
            step = a["one_step_kl_bits"]
            lines.append(
                f"{task:<17}{n:>2}  {a['accuracy']:>7.4f}/{b['accuracy']:<7.4f}  "
                f"{_show(a['kl_bits'])}/{_show(b['kl_bits'])}  "
                f"{min(a['recall'], b['recall']):>6.4f}  "
                f"{'—' if step is None else f'{step:.4f}':>9}  "
                f"{a['total_correlation_bits']:>7.4f}"
            )
        lines.append("")
    return "\n".join(lines).rstrip()


def _show(kl) -> str:
    return f"{'inf' if kl is None else f'{kl:.4f}':>7}"
