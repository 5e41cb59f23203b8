"""`trilemma train`: train the embedded denoiser and AR model on the task library."""

from __future__ import annotations

import json
import os
import shlex
import sys
from pathlib import Path

from .. import _checks


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
        "--preset", default="default", help="training recipe: default or tiny"
    )
    parser.add_argument(
        "--task",
        action="append",
        default=None,
        help="train on this task only (repeatable; default: the preset's)",
    )
    parser.add_argument(
        "--n",
        type=int,
        action="append",
        default=None,
        help="list length (repeatable; default: the preset's for each task)",
    )
    parser.add_argument("--steps", type=int, help="parameter updates per model")
    parser.add_argument("--batch-size", type=int, help="examples per update")
    parser.add_argument("--seed", type=int, help="seed of data, masks and weights")
    parser.add_argument(
        "--only",
        choices=("denoiser", "autoregressive"),
        help="train one of the two models",
    )
    parser.add_argument(
        "-o", "--output", required=True, type=Path, help="output folder"
    )
    parser.add_argument("--json", action="store_true", help="print a JSON summary")
    parser.set_defaults(
        run=run,
        flags={"steps": "--steps", "batch_size": "--batch-size", "seed": "--seed"},
    )


def run(args) -> int:
    """Check every flag, then train and print where the models went."""
    from ..models import presets
    from ..tasks import POOLED_TASKS

    recipe = presets.preset(args.preset)
    groups = recipe.groups
    if args.task or args.n:
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
        _checks.check_int(args.steps, "steps", minimum=1)
    if args.batch_size is not None:
        _checks.check_int(args.batch_size, "batch_size", minimum=1)
    if args.seed is not None:
        _checks.check_int(args.seed, "seed", minimum=0, maximum=2**31 - 1)
    recipe = recipe.replace(
        groups=groups, steps=args.steps, batch_size=args.batch_size, seed=args.seed
    )
    _check_output(args.output)
    kinds = (args.only,) if args.only else presets.KINDS
    summary = presets.train_models(
        recipe,
        args.output,
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


def _check_output(path: Path) -> None:
    parent = path if path.exists() else path.parent
    if path.exists() and not path.is_dir():
        raise ValueError(f"`--output` {path} exists and is not a folder")
    if not parent.is_dir() or not os.access(parent, os.W_OK):
        raise ValueError(f"`--output` {path}: {parent} is not a writable folder")
