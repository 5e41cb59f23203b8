"""`trilemma exact TASK`: C(Y|X) of a task, and the T-step bound L_T, in bits."""

from __future__ import annotations

import json

from .. import _checks
from . import _common, _parse

MAX_OUTPUTS = 1_000
"""Most output variables `exact` takes: C(Y|X) and L_T compile one entropy term per
variable, which takes about a minute at this size (5 s at 200, 37 s at 800)."""


def add_parser(subparsers) -> None:
    """Register the `exact` command."""
    parser = subparsers.add_parser(
        "exact",
        help="C(Y|X) of a task, and the T-step bound L_T for a partition or step count",
        description="Exact conditional total correlation C(Y|X) of an enumerable task, "
        "with ParallelBench's T-step lower bound L_T and the optimal schedule.",
    )
    _common.add_task_arguments(parser)
    steps = parser.add_mutually_exclusive_group()
    steps.add_argument(
        "--partition",
        type=_parse.partition,
        help='ordered steps of output positions, e.g. "0,1|2,3" (positions 0..n-1)',
    )
    steps.add_argument(
        "--steps", type=_parse.integer, help="T: find the optimal T-step schedule"
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.set_defaults(run=run, flags=_common.flags_of(parser))


def check_size(task) -> None:
    """Refuse, before any work, a task with more output variables than `MAX_OUTPUTS`.

    Memory is checked where it is allocated: the task's builder estimates its whole
    build, and the optimal schedule its 3^n pair table, before allocating anything.
    """
    what = f"exact C(Y|X) of {task.name} (n = {_checks.show(task.n)})"
    unit = "output variables (one compiled entropy term each)"
    _checks.check_work(len(task.outputs), what, MAX_OUTPUTS, unit=unit)


def run(args) -> int:
    """Compute and print the report (text, or one JSON object with `--json`)."""
    from .. import _units, optimal_t_step_bound, t_step_bound, total_correlation

    task = _common.make_task(args)
    check_size(task)
    outputs = task.outputs
    if args.steps is not None:
        _checks.check_int(args.steps, "steps", minimum=1, maximum=len(outputs))
    if args.partition is not None:
        steps = _checks.check_partition(
            args.partition, range(len(outputs)), name="--partition"
        )
        partition = [[outputs[v] for v in step] for step in steps]
    tc = float(_units.to_bits(total_correlation(task.joint, given=task.given)))
    report = {
        "task": task.name,
        "n": task.n,
        "num_prompts": args.num_prompts,
        "support_size": task.joint.support_size,
        "total_correlation_bits": tc,
        "closed_form_bits": None
        if task.closed_form is None
        else float(_units.to_bits(task.closed_form)),
        "closed_form_source": task.closed_form_source,
    }
    if args.partition is not None or args.steps is not None:
        num_steps = len(partition) if args.partition is not None else args.steps
        best = optimal_t_step_bound(
            task.joint,
            num_steps,
            given=task.given,
            max_bytes=_common.max_bytes(args),
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
            t_step_bound_bits=_common.clean(bound),
            optimal_t_step_bound_bits=_common.clean(best_bits),
            optimal_schedule=schedule,
        )
    if args.json:
        print(json.dumps(report))
    else:
        _print(report)
    return 0


def _print(r: dict) -> None:
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


def _format_steps(steps) -> str:
    return "|".join(",".join(str(v) for v in step) for step in steps)
