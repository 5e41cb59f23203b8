"""`trilemma train`: train the embedded denoiser and AR model on the task library."""

from __future__ import annotations

import json
import shlex
import sys

from .. import _checks
from . import _common, _parse


def add_parser(subparsers) -> None:
    """Register the `train` command."""
    parser = subparsers.add_parser(
        "train",
        help="train the embedded masked-diffusion model and its AR model",
        description="Train the masked-diffusion transformer (and the small causal "
        "model beside it) on pooled prompts of the task library, drawn from their "
        "exact laws. Checkpoints are written as training goes; a run started "
        "again with the same output folder resumes from them.",
    )
    parser.add_argument(
        "--preset",
        default="default",
        help="training recipe: default (the shipped models, about an hour on 2 idle "
        "cores), quick (a smoke run on the n = 3 groups) or tiny (tests)",
    )
    parser.add_argument(
        "--task",
        action="append",
        default=None,
        help="train on this task only (repeatable, each task once; default: the "
        "preset's)",
    )
    parser.add_argument(
        "--n",
        type=_parse.integer,
        action="append",
        default=None,
        help="list length (repeatable, each n once; default: the preset's for each "
        "task)",
    )
    parser.add_argument(
        "--steps",
        type=_parse.integer,
        help="parameter updates per model, 1 to 10^9",
    )
    parser.add_argument(
        "--batch-size",
        type=_parse.integer,
        help="examples per update (refused when a step's activations alone would "
        "exceed the memory budget)",
    )
    parser.add_argument(
        "--seed", type=_parse.integer, help="seed of data, masks and weights"
    )
    parser.add_argument(
        "--max-bytes",
        help="memory budget of a training step, e.g. 8GiB (default: "
        "TRILEMMA_MAX_BYTES, else 4GiB)",
    )
    parser.add_argument(
        "--only",
        choices=("denoiser", "autoregressive"),
        help="train one of the two models",
    )
    parser.add_argument(
        "-o",
        "--output",
        required=True,
        help="output folder: created (its parent must exist) or, holding an "
        "earlier run's checkpoints, resumed; made only once every flag is checked",
    )
    parser.add_argument("--json", action="store_true", help="print a JSON summary")
    parser.set_defaults(run=run, flags=_common.flags_of(parser))


def run(args) -> int:
    """Check every flag, then train and print where the models went.

    Nothing is created before every flag has been checked: the tasks, the sizes,
    the memory of a step and the output folder.
    """
    from .._files import check_destination
    from ..models import presets, training
    from ..tasks import POOLED_TASKS

    recipe = presets.preset(args.preset)
    groups = recipe.groups
    if args.task or args.n:
        _once(args.task or [], "task")
        _once(args.n or [], "n")
        tasks = args.task or list(dict.fromkeys(name for name, _ in groups))
        for name in tasks:
            if name not in POOLED_TASKS:
                raise _checks.unknown("task", name, POOLED_TASKS)
        groups = tuple(
            (name, n)
            for name in tasks
            for n in (args.n or [m for t, m in recipe.groups if t == name])
        )
        if not groups:
            raise ValueError(f"preset {recipe.name!r} has no n for {tasks}: give --n")
    if args.steps is not None:
        _checks.check_int(args.steps, "steps", minimum=1, maximum=training.MAX_STEPS)
    if args.batch_size is not None:
        _checks.check_int(
            args.batch_size,
            "batch_size",
            minimum=1,
            maximum=training.MAX_BATCH_SIZE,
        )
    if args.seed is not None:
        _checks.check_int(args.seed, "seed", minimum=0, maximum=2**31 - 1)
    budget = _common.max_bytes(args)
    recipe = recipe.replace(
        groups=groups, steps=args.steps, batch_size=args.batch_size, seed=args.seed
    )
    kinds = (args.only,) if args.only else presets.KINDS
    for kind in kinds:  # builds the task set: checks every (task, n)
        training.check_batch_memory(
            recipe.settings(kind).batch_size,
            presets.model_config(recipe, kind),
            max_bytes=budget,
        )
    output = check_destination(args.output, "output", folder=True)
    for line in _unfittable(recipe.groups, kinds):
        print(f"trilemma: warning: {line}", file=sys.stderr)
    summary = presets.train_models(
        recipe,
        output,
        kinds=kinds,
        progress=not args.json,
        command=shlex.join(["trilemma", *sys.argv[1:]]),
    )
    if args.json:
        print(json.dumps(summary))
    else:
        for m in summary["models"]:
            print(
                f"{m['kind']:<15} {m['directory']}  loss {m['final_loss']:.4f}  "
                f"{m['examples_per_second']:,.0f} examples/s  {m['seconds']:.0f} s"
            )
    return 0


def _unfittable(groups, kinds) -> list[str]:
    """Warnings for the groups whose exact fit `trilemma fit` cannot enumerate."""
    from ..fit import enumeration_rows
    from ..simulation import DEFAULT_MAX_STATES

    lines = []
    for kind in kinds:
        for name, n in groups:
            rows = enumeration_rows(name, n, 8, causal=kind == "autoregressive")
            if rows > DEFAULT_MAX_STATES:
                lines.append(
                    f"the {kind}'s exact fit on {name} n={n} involves {rows:,} rows "
                    f"(8 prompts), over the limit of {DEFAULT_MAX_STATES:,}: "
                    "`trilemma fit` will list it as too large and fit the others"
                )
    return lines


def _once(values: list, name: str) -> None:
    """`ValueError` naming the first value given twice to a repeatable flag."""
    seen = set()
    for value in values:
        if value in seen:
            raise ValueError(
                f"`{name}` {_checks.show(value)} is given twice; give each once"
            )
        seen.add(value)
