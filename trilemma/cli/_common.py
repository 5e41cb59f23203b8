"""Pieces shared by the commands that work on a task (`exact`, `simulate`)."""

from __future__ import annotations

import argparse
import inspect

from .. import _checks
from . import _parse

TASK_FLAGS = ("n", "num_prompts", "max_bytes")
"""Task arguments that have their own flags (never `--option`)."""


def add_task_arguments(
    parser: argparse.ArgumentParser, *, positional: bool = True
) -> None:
    """The task (positional, or `--task`) and its `--n`, `--num-prompts`, ... flags.

    The others are `--option` and `--max-bytes`.
    """
    if positional:
        parser.add_argument("task", help="task name (see `trilemma tasks`)")
    else:
        parser.add_argument(
            "--task", required=True, help="task name (see `trilemma tasks`)"
        )
    parser.add_argument(
        "--n", type=_parse.integer, help="task size (default: the task's own)"
    )
    parser.add_argument(
        "--num-prompts",
        type=_parse.integer,
        default=1,
        help="number of distinct prompts (default 1)",
    )
    parser.add_argument(
        "--option",
        type=_parse.option,
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="extra task option, e.g. seed=3 (repeatable; see the task's docstring)",
    )
    parser.add_argument(
        "--max-bytes",
        help="memory budget, e.g. 8GiB or 500000000 (default: TRILEMMA_MAX_BYTES, "
        "else 4GiB)",
    )


def flags_of(parser: argparse.ArgumentParser) -> dict[str, str]:
    """Parameter name -> flag, for every optional argument of `parser`."""
    return {
        action.dest: action.option_strings[-1]
        for action in parser._actions  # argparse lists its arguments nowhere public
        if action.option_strings and action.dest != "help"
    }


def max_bytes(args) -> int | None:
    """The `--max-bytes` budget in bytes, or None for the default."""
    if args.max_bytes is None:
        return None
    return _checks.parse_bytes(args.max_bytes, "max_bytes")


def make_task(args):
    """The task the arguments name, built within the memory budget."""
    from ..tasks import TASKS

    if args.task not in TASKS:
        raise _checks.unknown("task", args.task, TASKS)
    builder = TASKS[args.task]
    options = dict(args.option)
    for key in options:
        if key in TASK_FLAGS:
            raise ValueError(
                f"`--option {key}=...` sets no task option; use `{_parse.flag(key)}`."
            )
    taken = [
        p.name
        for p in inspect.signature(builder).parameters.values()
        if p.kind is inspect.Parameter.KEYWORD_ONLY and p.name not in TASK_FLAGS
    ]
    _checks.check_options(options, taken, owner=f"task {args.task!r}")
    return builder(
        args.n, num_prompts=args.num_prompts, max_bytes=max_bytes(args), **options
    )


def clean(x: float) -> float:
    """Round-off below 1e-12 shown as 0 (bounds that are exactly 0 in theory)."""
    return 0.0 if abs(x) < 1e-12 else x
