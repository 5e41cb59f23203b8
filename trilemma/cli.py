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
    except BrokenPipeError:  # e.g. `trilemma samplers | head`
        sys.stderr.close()
        return 0


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
    _task_arguments(exact)
    steps = exact.add_mutually_exclusive_group()
    steps.add_argument(
        "--partition",
        type=_parse_partition,
        help='ordered steps of output positions, e.g. "0,1|2,3" (positions 0..n-1)',
    )
    steps.add_argument("--steps", type=int, help="T: find the optimal T-step schedule")
    exact.add_argument("--json", action="store_true", help="print one JSON object")
    exact.set_defaults(run=_run_exact)

    simulate = sub.add_parser(
        "simulate",
        help="exact trilemma point of a sampler with the ideal (oracle) model",
        description="Exact output law of a parallel decoding sampler driven by the "
        "task's oracle model, by enumerating decoding trajectories (no Monte Carlo): "
        "speed (tokens per step), fluency (accuracy, precision) and diversity "
        "(recall, entropy, KL).",
    )
    _task_arguments(simulate)
    simulate.add_argument(
        "--sampler", required=True, help="sampler name (see `trilemma samplers`)"
    )
    for name, kind, text in _SAMPLER_FLAGS:
        flag = f"--{name.replace('_', '-')}"
        if kind is bool:
            simulate.add_argument(flag, action="store_true", default=None, help=text)
        else:
            simulate.add_argument(flag, type=kind, help=text)
    simulate.add_argument("--json", action="store_true", help="print one JSON object")
    simulate.set_defaults(run=_run_simulate)

    samplers = sub.add_parser("samplers", help="list the samplers and their parameters")
    samplers.add_argument("--json", action="store_true", help="print JSON")
    samplers.set_defaults(run=_run_samplers)

    tasks = sub.add_parser("tasks", help="list the enumerable tasks")
    tasks.add_argument("--json", action="store_true", help="print JSON")
    tasks.set_defaults(run=_run_tasks)
    return parser


_SAMPLER_FLAGS = (
    ("k", int, "tokens per step (top-k samplers)"),
    ("num_steps", int, "number of steps (top-k alternative to --k; mdlm)"),
    (
        "gamma",
        float,
        "threshold in [0, 1] (threshold*), or entropy budget in nats (eb)",
    ),
    ("factor", float, "Fast-dLLM factor f > 0 (factor)"),
    ("block", int, "semi-autoregressive block length"),
    ("temperature", float, "0 = greedy with uniform ties (default; mdlm: 1)"),
    ("reference_quirk", bool, "factor: commit all when only the last rank fails"),
)


def _task_arguments(parser) -> None:
    parser.add_argument("task", help="task name (see `trilemma tasks`)")
    parser.add_argument("--n", type=int, help="task size (default: the task's own)")
    parser.add_argument(
        "--num-prompts",
        type=int,
        default=1,
        help="number of distinct prompts (default 1)",
    )
    parser.add_argument(
        "--option",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="extra task option, e.g. seed=3 (repeatable)",
    )
    parser.add_argument(
        "--max-bytes", type=_parse_bytes, default=None, help="memory budget, e.g. 8GiB"
    )


def _make_task(args):
    from . import make_task
    from ._checks import check_positive_int

    if args.n is not None:
        check_positive_int(args.n, "--n")
    check_positive_int(args.num_prompts, "--num-prompts")
    options = dict(_parse_option(text) for text in args.option)
    return make_task(
        args.task,
        args.n,
        num_prompts=args.num_prompts,
        max_bytes=args.max_bytes,
        **options,
    )


def _parse_option(text: str):
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise ValueError(f"`--option` must look like KEY=VALUE; got {text!r}.")
    for kind in (int, float):
        try:
            return key, kind(value)
        except ValueError:
            pass
    return key, value


def _run_exact(args) -> int:
    from . import _units, optimal_t_step_bound, t_step_bound, total_correlation
    from ._checks import check_positive_int

    task = _make_task(args)
    outputs = task.outputs
    if args.steps is not None:
        check_positive_int(args.steps, "--steps", maximum=len(outputs))
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
            t_step_bound_bits=_clean(bound),
            optimal_t_step_bound_bits=_clean(best_bits),
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


def _run_simulate(args) -> int:
    import inspect
    import math
    import time

    from ._units import to_bits
    from .samplers import SAMPLERS, make_sampler
    from .simulation import simulate

    task = _make_task(args)
    if args.sampler not in SAMPLERS:
        make_sampler(args.sampler)  # raises the registry's error
    accepted = inspect.signature(SAMPLERS[args.sampler]).parameters
    params = {}
    for name, _, _ in _SAMPLER_FLAGS:
        value = getattr(args, name)
        if value is None:
            continue
        if name not in accepted:
            flag = name.replace("_", "-")
            raise ValueError(
                f"sampler {args.sampler!r} takes {_flags(accepted)}; got --{flag}."
            )
        params[name] = value
    try:
        sampler = make_sampler(args.sampler, **params)
    except (ValueError, TypeError) as err:
        message = re.sub(
            r"`(\w+)`", lambda m: f"`--{m.group(1).replace('_', '-')}`", str(err)
        )
        raise type(err)(message) from None
    start = time.perf_counter()
    sim = simulate(task, sampler, progress=not args.json)
    seconds = time.perf_counter() - start
    nats = ("entropy", "valid_entropy", "reference_entropy", "kl_reference_to_sampler")
    point = {
        f"{k}_bits" if k in nats else k: None
        if v is None
        else _clean(float(to_bits(v)) if k in nats else v)
        for k, v in sim.point()._asdict().items()
    }
    kl = point["kl_reference_to_sampler_bits"]
    report = {
        "task": task.name,
        "n": task.n,
        "num_prompts": args.num_prompts,
        "sampler": sampler.name,
        "params": dict(sampler.params),
        **point,
        "kl_reference_to_sampler_bits": kl if math.isfinite(kl) else None,
        "hallucination_mass": 1.0 - point["precision"],
        "states_visited": sim.states_visited,
        "seconds": seconds,
    }
    if args.json:
        print(json.dumps(report))
        return 0
    valid = int(task.joint.support_size)
    entropy = (
        "n/a (too many invalid outputs to expand)"
        if point["entropy_bits"] is None
        else f"{point['entropy_bits']:.4f} bits"
    )
    print(f"task       {task.name} (n = {task.n}, {valid:,} valid outputs)")
    print(f"sampler    {sampler.describe()}")
    print(
        f"speed      {point['tokens_per_step']:.4f} tokens per step   "
        f"E[NFE] = {point['expected_nfe']:.4f}"
    )
    print(
        f"fluency    accuracy {point['accuracy']:.4f}   "
        f"precision {point['precision']:.4f}   "
        f"hallucination mass {report['hallucination_mass']:.4f}"
    )
    print(
        f"diversity  recall {point['recall']:.4f}   "
        f"H(valid q) {point['valid_entropy_bits']:.4f} / "
        f"H(p*) {point['reference_entropy_bits']:.4f} bits   KL(p*||q) {kl:.4f} bits"
    )
    print(f"           TV {point['tv']:.4f}   H(q) {entropy}")
    print(f"exact      {sim.states_visited:,} states enumerated in {seconds:.2f} s")
    return 0


def _flags(accepted) -> str:
    return ", ".join(f"--{p.replace('_', '-')}" for p in accepted)


def _run_samplers(args) -> int:
    import inspect

    from .samplers import SAMPLERS

    rows = []
    for name, factory in SAMPLERS.items():
        params = {
            key: (None if p.default is inspect.Parameter.empty else p.default)
            for key, p in inspect.signature(factory).parameters.items()
        }
        summary = (factory.__doc__ or "").strip().splitlines()[0]
        rows.append({"name": name, "parameters": params, "description": summary})
    if args.json:
        print(json.dumps(rows))
        return 0
    width = max(len(r["name"]) for r in rows)
    for r in rows:
        shown = ", ".join(
            key if value is None else f"{key}={value}"
            for key, value in r["parameters"].items()
        )
        print(f"{r['name']:<{width}}  {r['description']}")
        print(f"{'':<{width}}  parameters: {shown}")
    return 0


def _clean(x: float) -> float:
    """Round-off below 1e-12 shown as 0 (bounds that are exactly 0 in theory)."""
    return 0.0 if abs(x) < 1e-12 else x


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
