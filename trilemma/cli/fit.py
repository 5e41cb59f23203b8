"""`trilemma fit --model default|PATH`: a trained model's exact fit to its tasks."""

from __future__ import annotations

import json

from .. import _checks
from ..fit import load, report, table
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
