"""`trilemma diversity-loss`: a sampler's cost in fluency and diversity, from samples.

Reads sample files (trilemma's JSONL, hand-written JSONL, lm-evaluation-harness
`--log_samples` files), groups them by sampler (the file's `sampler` and `params`;
one group per file otherwise), and estimates each group's trilemma point against a
reference, with intervals (`trilemma.estimators.estimate_point`): the task's exact
p* (`--task`, `--n`), or a reference sample (`--reference`, e.g. the same model
decoding one token per step). Information is printed in bits.
"""

from __future__ import annotations

import glob
import json
import sys

import numpy as np

from .. import _checks
from .._units import to_bits
from ..estimators._point import FIELDS, NATS_FIELDS
from . import _parse

REPORTED = tuple(f for f in FIELDS if f not in ("mean_nfe", "tokens_per_step"))
"""The estimates reported beside speed, in the estimator's order."""
JSON_NAMES = {field: f"{field}_bits" for field in NATS_FIELDS}
"""The information quantities' names in the JSON output (bits)."""
SMALL = 10
"""A prompt's sample is too small to say much when it has fewer than `SMALL` times
as many samples as its reference has outputs."""


def add_parser(subparsers) -> None:
    """Register the `diversity-loss` command."""
    from ..estimators import ENTROPY_ESTIMATORS
    from ..samples import FORMATS, NORMALIZATIONS

    parser = subparsers.add_parser(
        "diversity-loss",
        help="estimate a sampler's fluency and diversity loss from sample files",
        description="Per sampler in the sample files: speed, precision, recall, "
        "entropy and its drop, TV, KL(reference||sampler), F_8 and F_1/8, each with "
        "a 95%% interval, against the task's exact p* or a reference sample.",
    )
    parser.add_argument(
        "--samples", nargs="+", required=True, help="sample files (globs allowed)"
    )
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument(
        "--reference", nargs="+", help="reference sample files (globs allowed)"
    )
    source.add_argument("--task", help="the task whose exact p* is the reference")
    parser.add_argument("--n", type=_parse.integer, help="task size (with --task)")
    parser.add_argument(
        "--format", default="trilemma", choices=FORMATS, help="input format"
    )
    parser.add_argument(
        "--normalize",
        default="none",
        choices=NORMALIZATIONS,
        help="text outputs: none, whitespace (collapse and strip) or case (and "
        "lower case)",
    )
    parser.add_argument(
        "--entropy-estimator",
        default="chao_shen",
        help=f"one of {', '.join(ENTROPY_ESTIMATORS)} (default chao_shen)",
    )
    parser.add_argument(
        "--bootstrap",
        type=_parse.integer,
        default=200,
        help="bootstrap resamples for the intervals (default 200)",
    )
    parser.add_argument("--seed", type=_parse.integer, default=0, help="bootstrap seed")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.set_defaults(run=run, flags={"num_bootstrap": "--bootstrap"})


def expand(patterns, what: str) -> list[str]:
    """The files the arguments name, globs expanded, in order; missing ones named."""
    paths = []
    for pattern in patterns:
        found = sorted(glob.glob(pattern)) if glob.has_magic(pattern) else [pattern]
        if not found:
            raise ValueError(f"`{what}`: no file matches {pattern!r}")
        paths += found
    return paths


def _group_name(run: dict) -> str:
    if run.get("sampler") is None:
        return str(run["model"])
    args = ", ".join(f"{k}={v}" for k, v in run["params"].items())
    return f"{run['sampler']}({args})"


def exact_law(name: str, n, prompts: dict):
    """The task and, per sample prompt id, its prompt index in it.

    The canonical task with as many prompts as the largest id when its rows are the
    files' `prompt_tokens` (an oracle run), else the pooled task on those rows (a
    trained model's run).
    """
    from ..tasks import POOLED_TASKS, TASKS, pooled_task

    if name not in TASKS:
        raise _checks.unknown("task", name, TASKS)
    ids = sorted(prompts)
    rows = [prompts[i][0] for i in ids]
    if any(len(r) == 0 for r in rows):
        raise ValueError(
            "`--task` grades by prompt: these samples have no `prompt_tokens` "
            "(hand-written or lm-eval lines); compare them with `--reference`"
        )
    try:
        task = TASKS[name](n, num_prompts=ids[-1] + 1)
        if all(tuple(task.prompts[i].tolist()) == prompts[i][0] for i in ids):
            return task, {i: i for i in ids}
    except ValueError:
        pass
    reason = "no canonical prompt matches"
    if name in POOLED_TASKS:
        try:
            task = pooled_task(name, n, np.asarray(rows))
        except ValueError as err:
            reason = f"nor are they pooled prompts: {err}"
        else:
            return task, {i: k for k, i in enumerate(ids)}
    raise ValueError(
        f"the samples' prompts are not the prompts of task {name} n={n} ({reason}); "
        "give the task the samples were drawn on"
    )


def run(args) -> int:
    """Read, estimate per sampler, print the table or JSON."""
    from .. import samples
    from ..estimators import ENTROPY_ESTIMATORS

    if args.entropy_estimator not in ENTROPY_ESTIMATORS:
        raise _checks.unknown(
            "entropy estimator", args.entropy_estimator, ENTROPY_ESTIMATORS
        )
    _checks.check_int(args.bootstrap, "num_bootstrap", minimum=2)
    if args.task is not None and args.n is None:
        raise ValueError("`--task` needs `--n`")
    text_ids: dict = {}
    got = samples.read(
        *expand(args.samples, "samples"),
        format=args.format,
        normalize=args.normalize,
        text_ids=text_ids,
    )
    ref = None
    if args.reference is not None:
        ref = samples.read(
            *expand(args.reference, "reference"),
            format=args.format,
            normalize=args.normalize,
            text_ids=text_ids,
        )
    reports, warnings = assess(
        got,
        ref,
        task=args.task,
        n=args.n,
        entropy_estimator=args.entropy_estimator,
        num_bootstrap=args.bootstrap,
        seed=args.seed,
    )
    for line in warnings:
        print(f"trilemma: warning: {line}", file=sys.stderr)
    if args.json:
        print(json.dumps({"samplers": reports, "warnings": warnings}))
        return 0
    print(table(reports, args.task, args.n))
    return 0


def assess(
    got,
    ref=None,
    *,
    task: str | None = None,
    n: int | None = None,
    entropy_estimator: str = "chao_shen",
    num_bootstrap: int = 200,
    seed: int = 0,
) -> tuple[list[dict], list[str]]:
    """Per sampler (run) of `got`: its report (bits) against `ref` or task `task`.

    Returns `(reports, warnings)`: one JSON-ready dict per sampler, and the lines
    about unmatched prompts and small samples.
    """
    from ..estimators import (
        estimate_point,
        exact_reference,
        histogram,
        sample_reference,
    )

    if ref is not None and ref.output_tokens.shape[1] != got.output_tokens.shape[1]:
        raise ValueError(
            f"the reference's outputs have {ref.output_tokens.shape[1]} tokens, "
            f"the samples' {got.output_tokens.shape[1]}"
        )
    reports, warnings = [], []
    for index, run_fields in enumerate(got.runs):
        mine = got.run == index
        ids = np.unique(got.prompt_id[mine])
        if ref is not None:
            ref_ids = np.unique(ref.prompt_id)
            common = np.intersect1d(ids, ref_ids)
            only_samples = np.setdiff1d(ids, ref_ids).tolist()
            only_reference = np.setdiff1d(ref_ids, ids).tolist()
        else:
            exact_task, index_of = exact_law(
                task, n, {int(i): got.prompts[int(i)] for i in ids}
            )
            common, only_samples, only_reference = ids, [], []
        name = _group_name(run_fields)
        if only_samples or only_reference:
            warnings.append(
                f"{name}: prompts only in the samples {only_samples[:10]}, only in the "
                f"reference {only_reference[:10]} (compared on the {len(common)} "
                "common ones)"
            )
        if len(common) == 0:
            raise ValueError(
                f"{name}: no prompt is both in the samples and the reference"
            )
        keep = mine & np.isin(got.prompt_id, common)
        hist = histogram(got.prompt_id[keep], got.output_tokens[keep])
        position = {int(i): k for k, i in enumerate(hist.prompt_ids)}
        if ref is None:
            outcomes = np.asarray(exact_task.joint.outcomes)
            probs = np.asarray(exact_task.joint.probs, float)
            back = {index_of[i]: position[i] for i in position}
            use = np.isin(outcomes[:, 0], list(back))
            prompt = np.array([back[int(x)] for x in outcomes[use, 0]], np.int64)
            weight = probs[use]
            weight = weight / np.bincount(prompt, weight)[prompt]
            reference = exact_reference(prompt, outcomes[use, 1:], weight)
            support = np.bincount(prompt, minlength=hist.num_prompts)
        else:
            in_ref = np.isin(ref.prompt_id, common)
            ref_hist = histogram(ref.prompt_id[in_ref], ref.output_tokens[in_ref])
            reference = sample_reference(ref_hist)
            support = ref_hist.distinct
        small = hist.totals < SMALL * support
        if small.any():
            warnings.append(
                f"{name}: {int(small.sum())} of {hist.num_prompts} prompts have fewer "
                f"than {SMALL}x as many samples as reference outputs (median "
                f"{int(np.median(hist.totals))} samples for "
                f"{int(np.median(support))} outputs): the estimates of recall, "
                "entropy, TV and KL are rough there"
            )
        nfe = got.nfe[keep]
        point = estimate_point(
            hist,
            reference,
            nfe if (nfe >= 0).all() else np.full(len(nfe), np.nan),
            entropy_estimator=entropy_estimator,
            num_bootstrap=num_bootstrap,
            seed=seed,
        )
        reports.append(_report(name, point, only_samples, only_reference))
    return reports, warnings


def _report(name, point, only_samples, only_reference) -> dict:
    def metric(field):
        e = getattr(point, field)
        d = e.as_dict()
        if field in JSON_NAMES:
            d = {k: None if v is None else float(to_bits(v)) for k, v in d.items()}
        return d

    return {
        "sampler": name,
        "num_samples": point.num_samples,
        "num_prompts": point.num_prompts,
        "distinct_per_prompt": point.distinct_per_prompt,
        "mean_nfe": point.mean_nfe.as_dict(),
        "tokens_per_step": point.tokens_per_step.as_dict(),
        **{JSON_NAMES.get(field, field): metric(field) for field in REPORTED},
        "prompts_only_in_samples": only_samples,
        "prompts_only_in_reference": only_reference,
    }


def _show(d) -> str:
    if d["estimate"] is None:
        return "n/a"
    if d["ci_low"] is None or d["ci_high"] is None:
        return f"{d['estimate']:.3f}"
    return f"{d['estimate']:.3f} [{d['ci_low']:.3f}, {d['ci_high']:.3f}]"


def table(reports, task=None, n=None) -> str:
    """The reports as text: one block per sampler, estimates with intervals."""
    against = f"task {task} n={n} (exact p*)" if task else "the reference"
    lines = [f"against {against}; 95% bootstrap intervals; information in bits"]
    rows = [
        ("samples / prompts", lambda r: f"{r['num_samples']:,} / {r['num_prompts']}"),
        ("distinct per prompt", lambda r: f"{r['distinct_per_prompt']:.1f}"),
        ("tokens per step", lambda r: _show(r["tokens_per_step"])),
        ("precision", lambda r: _show(r["precision"])),
        ("recall", lambda r: _show(r["recall"])),
        ("entropy", lambda r: _show(r["entropy_bits"])),
        ("reference entropy", lambda r: _show(r["reference_entropy_bits"])),
        ("entropy drop", lambda r: _show(r["entropy_drop_bits"])),
        ("TV", lambda r: _show(r["tv"])),
        ("KL(ref||sampler)", lambda r: _show(r["kl_reference_to_sampler_bits"])),
        ("F8 / F1/8", lambda r: f"{_show(r['f8'])} / {_show(r['f1_8'])}"),
    ]
    for r in reports:
        lines += ["", r["sampler"]]
        lines += [f"  {label:<20} {cell(r)}" for label, cell in rows]
    return "\n".join(lines)
