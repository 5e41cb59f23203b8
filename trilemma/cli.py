"""The `trilemma` command line. Thin: parses, calls the library, prints bits.

Errors in the input (unknown task, bad partition, a size over the memory budget) are
printed as one line on stderr with exit status 2.
"""

from __future__ import annotations

import argparse
import json
import re
import sys


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # one line, status 2, no usage dump
        self.exit(2, f"trilemma: error: {message}\n")


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `trilemma` console script."""
    parser = _build_parser()
    args = parser.parse_args(argv)
    import jax

    jax.config.update("jax_enable_x64", True)  # exact paths run in float64
    try:
        return args.run(args)
    except (ValueError, TypeError) as err:
        print(f"trilemma: error: {err}", file=sys.stderr)
        return 2


def _build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="trilemma",
        description="Exact measurements of the parallel decoding trilemma. "
        "Information quantities are printed in bits.",
    )
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    exact = sub.add_parser(
        "exact",
        help="C(Y|X) of a task, and the T-step bound L_T for a partition or step count",
        description="Exact conditional total correlation C(Y|X) of an enumerable task, "
        "with ParallelBench's T-step lower bound L_T and the optimal schedule.",
    )
    exact.add_argument("task", help="task name (see `trilemma tasks`)")
    exact.add_argument("--n", type=int, required=True, help="list length")
    exact.add_argument(
        "--num-prompts",
        type=int,
        default=1,
        help="number of distinct prompts (default 1)",
    )
    steps = exact.add_mutually_exclusive_group()
    steps.add_argument(
        "--partition",
        type=_parse_partition,
        help='ordered steps of output positions, e.g. "0,1|2,3" (positions 0..n-1)',
    )
    steps.add_argument("--steps", type=int, help="T: find the optimal T-step schedule")
    exact.add_argument("--json", action="store_true", help="print one JSON object")
    exact.add_argument(
        "--max-bytes", type=_parse_bytes, default=None, help="memory budget, e.g. 8GiB"
    )
    exact.set_defaults(run=_run_exact)

    tasks = sub.add_parser("tasks", help="list the enumerable tasks")
    tasks.add_argument("--json", action="store_true", help="print JSON")
    tasks.set_defaults(run=_run_tasks)
    return parser


def _run_exact(args) -> int:
    from . import (
        _units,
        make_task,
        optimal_t_step_bound,
        t_step_bound,
        total_correlation,
    )
    from ._checks import check_positive_int

    check_positive_int(args.n, "--n")
    check_positive_int(args.num_prompts, "--num-prompts")
    if args.steps is not None:
        check_positive_int(args.steps, "--steps", maximum=args.n)

    task = make_task(
        args.task, args.n, num_prompts=args.num_prompts, max_bytes=args.max_bytes
    )
    outputs = task.outputs
    tc = float(_units.to_bits(total_correlation(task.joint, given=task.given)))
    report = {
        "task": task.name,
        "n": task.n,
        "num_prompts": args.num_prompts,
        "support_size": task.joint.support_size,
        "total_correlation_bits": tc,
        "closed_form_bits": task.closed_form_bits,
        "closed_form_source": task.closed_form_source,
    }
    if args.partition is not None or args.steps is not None:
        if args.partition is not None:
            partition = _positions_to_variables(args.partition, outputs, "--partition")
            num_steps = len(partition)
        else:
            num_steps = args.steps
        best = optimal_t_step_bound(
            task.joint,
            num_steps,
            given=task.given,
            max_bytes=args.max_bytes,
            progress=not args.json,
        )
        best_bits = float(_units.to_bits(best.bound))
        schedule = [[outputs.index(v) for v in step] for step in best.schedule]
        if args.partition is not None:
            bound = float(
                _units.to_bits(t_step_bound(task.joint, partition, given=task.given))
            )
            report["partition"] = [list(step) for step in args.partition]
        else:
            bound = best_bits
        report.update(
            num_steps=num_steps,
            t_step_bound_bits=bound,
            optimal_t_step_bound_bits=best_bits,
            optimal_schedule=schedule,
        )
    if args.json:
        print(json.dumps(report))
    else:
        _print_exact(report)
    return 0


def _print_exact(r: dict) -> None:
    prompts = "prompt" if r["num_prompts"] == 1 else "prompts"
    print(
        f"task     {r['task']} (n = {r['n']}, {r['num_prompts']} {prompts}, "
        f"{r['support_size']:,} outcomes)"
    )
    closed = (
        f"closed form {r['closed_form_bits']:.4f} bits ({r['closed_form_source']})"
        if r["closed_form_bits"] is not None
        else "no closed form"
    )
    print(f"C(Y|X)   = {r['total_correlation_bits']:.4f} bits   {closed}")
    if "num_steps" in r:
        if "partition" in r:
            print(
                f"L_T      = {r['t_step_bound_bits']:.4f} bits   "
                f"T = {r['num_steps']}, partition {_format_steps(r['partition'])}"
            )
        schedule = _format_steps(r["optimal_schedule"])
        print(
            f"L*_T     = {r['optimal_t_step_bound_bits']:.4f} bits   "
            f"T = {r['num_steps']}, optimal schedule {schedule}"
        )


def _run_tasks(args) -> int:
    from .tasks import TASKS

    rows = [
        {"name": name, "description": (builder.__doc__ or "").strip().splitlines()[0]}
        for name, builder in TASKS.items()
    ]
    if args.json:
        print(json.dumps(rows))
    else:
        width = max(len(r["name"]) for r in rows)
        for r in rows:
            print(f"{r['name']:<{width}}  {r['description']}")
    return 0


def _parse_partition(text: str) -> list[list[int]]:
    steps = []
    for part in text.split("|"):
        part = part.strip()
        if not part:
            raise argparse.ArgumentTypeError(f"empty step in partition {text!r}")
        try:
            steps.append([int(v) for v in part.split(",")])
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"partition {text!r} must look like '0,1|2,3' (integers, ',' within a "
                "step, '|' between steps)"
            ) from None
    return steps


def _positions_to_variables(steps, outputs, name):
    from ._checks import check_partition

    steps = check_partition(steps, range(len(outputs)), name=name)
    return [[outputs[v] for v in step] for step in steps]


_UNITS = {"": 1, "b": 1, "k": 2**10, "kib": 2**10, "m": 2**20, "mib": 2**20}
_UNITS |= {"g": 2**30, "gib": 2**30, "t": 2**40, "tib": 2**40}


def _parse_bytes(text: str) -> int:
    match = re.fullmatch(r"\s*([0-9.]+)\s*([a-zA-Z]*)\s*", text)
    unit = match.group(2).lower() if match else None
    if match is None or unit not in _UNITS:
        raise argparse.ArgumentTypeError(
            f"expected a size like 4GiB or 500000000; got {text!r}"
        )
    return int(float(match.group(1)) * _UNITS[unit])


def _format_steps(steps) -> str:
    return "|".join(",".join(str(v) for v in step) for step in steps)


if __name__ == "__main__":
    sys.exit(main())
