"""`trilemma diversity-loss`: a sampler's cost in fluency and diversity, from samples.

The command parses and prints; the estimation is `trilemma.assessment.assess`.

Reads sample files (trilemma's JSONL, hand-written JSONL, lm-evaluation-harness
`--log_samples` files), groups them by sampler (the file's `sampler` and `params`;
one group per file otherwise), and estimates each group's trilemma point against a
reference, with intervals (`trilemma.estimators.estimate_point`): the task's exact
p* (`--task`, `--n`), or a reference sample (`--reference`, e.g. the same model
decoding one token per step). Information is printed in bits.

Text answers (hand-written `output_text` lines whose `prompt_id` is the task's
prompt, or lm-eval logs whose `doc` is each prompt's ParallelBench record) are
graded against `--task` as ParallelBench grades them (`grade_text`, `grade_doc`;
`--strict` for `score_strict`): that is the accuracy; the other estimates count the
answers by their content (`answer_key`).
"""

from __future__ import annotations

import glob
import json
import sys

from .. import _checks
from ..assessment import MAX_BOOTSTRAP, MIN_WIDTH, assess, check_options, table
from . import _common, _parse


def add_parser(subparsers) -> None:
    """Register the `diversity-loss` command."""
    from ..estimators import DEFAULT_ENTROPY_ESTIMATOR, ENTROPY_ESTIMATORS
    from ..samples import FORMATS, NORMALIZATIONS

    parser = subparsers.add_parser(
        "diversity-loss",
        help="estimate a sampler's fluency and diversity loss from sample files",
        description="Per sampler in the sample files: speed, accuracy (with "
        "--task), precision, recall, entropy, the valid outputs' entropy and its "
        "drop, TV, KL(reference||sampler), F_8 and F_1/8, each with a 95%% "
        "interval, and the p-value of a test that the sampler's law is the "
        "reference's, against the task's exact p* or a reference sample. Text "
        "answers are graded against --task as ParallelBench grades them.",
    )
    parser.add_argument(
        "--samples",
        nargs="+",
        action="extend",
        required=True,
        help="sample files (globs allowed); the flag may be repeated, and its files "
        "add up; a file named twice (by two names or globs) is refused, as it "
        "would be counted twice",
    )
    source = parser.add_mutually_exclusive_group()
    source.add_argument(
        "--reference",
        nargs="+",
        action="extend",
        help="reference sample files (globs allowed; repeatable, each file once, "
        "as for --samples; a file may be both a sample and the reference)",
    )
    source.add_argument(
        "--task",
        help="the task whose exact p* is the reference (default: the files' own: "
        "trilemma's run fields, a harness log's task name)",
    )
    parser.add_argument(
        "--n",
        type=_parse.integer,
        help="task size (default: the files' own; a harness log's n is read per doc)",
    )
    parser.add_argument(
        "--format", default="trilemma", choices=FORMATS, help="input format"
    )
    parser.add_argument(
        "--filter",
        help="lm-eval files: the filter whose lines are read (default: each file's "
        "first; a task with several filters logs every doc once per filter)",
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
        default=DEFAULT_ENTROPY_ESTIMATOR,
        help=f"one of {', '.join(ENTROPY_ESTIMATORS)} (default "
        f"{DEFAULT_ENTROPY_ESTIMATOR})",
    )
    parser.add_argument(
        "--bootstrap",
        type=_parse.integer,
        default=200,
        help=f"bootstrap resamples for the intervals, 2 to {MAX_BOOTSTRAP:,} "
        "(default 200)",
    )
    parser.add_argument(
        "--seed",
        type=_parse.integer,
        default=0,
        help="bootstrap seed, 0 to 2^63 - 1 (default 0)",
    )
    parser.add_argument(
        "--max-bytes",
        help="memory budget of the bootstrap, e.g. 8GiB (default: "
        "TRILEMMA_MAX_BYTES, else 4GiB)",
    )
    parser.add_argument(
        "--width",
        type=_parse.real,
        help="also report the samples per prompt each interval needs to be this "
        "wide (in the reported units: bits for information; at least "
        f"{MIN_WIDTH:g}), scaled from this sample's widths as 1/sqrt(N)",
    )
    parser.add_argument(
        "--strict",
        action="store_true",
        help="text answers: accuracy by ParallelBench's score_strict (default: its "
        "lenient score)",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    # only names no sample-file message uses (its fields `n`, `seed`, ... are not
    # flags there)
    flags = {"num_bootstrap": "--bootstrap", "max_bytes": "--max-bytes"}
    flags |= {"samples": "--samples", "reference": "--reference"}
    parser.set_defaults(run=run, flags=flags)


def expand(patterns, what: str) -> list[str]:
    """The files the arguments name, globs expanded, in order; missing ones named."""
    paths = []
    for pattern in patterns:
        if not pattern:
            raise ValueError(f"`{what}`: an empty file name")
        found = sorted(glob.glob(pattern)) if glob.has_magic(pattern) else [pattern]
        if not found:
            raise ValueError(f"`{what}`: no file matches {pattern!r}")
        paths += found
    return paths


def run(args) -> int:
    """Read, estimate per sampler, print the table or JSON."""
    from .. import samples
    from ..estimators import ENTROPY_ESTIMATORS

    if args.entropy_estimator not in ENTROPY_ESTIMATORS:
        raise _checks.unknown(
            "entropy estimator", args.entropy_estimator, ENTROPY_ESTIMATORS
        )
    check_options(args.bootstrap, args.seed, args.width)
    budget = _common.max_bytes(args)
    paths = expand(args.samples, "samples")
    samples.check_distinct(paths, "samples")
    ref_paths = None
    if args.reference is not None:
        ref_paths = expand(args.reference, "reference")
        samples.check_distinct(ref_paths, "reference")
    text_ids: dict = {}
    prompt_ids = samples.PromptNumbers()  # one numbering for samples and reference
    common = dict(
        format=args.format,
        normalize=args.normalize,
        text_ids=text_ids,
        prompt_ids=prompt_ids,
        filter=args.filter,
    )
    got = samples.read(*paths, **common, name="samples")
    ref = None
    if ref_paths is not None:
        ref = samples.read(*ref_paths, **common, name="reference")
    reports, warnings = assess(
        got,
        ref,
        task=args.task,
        n=args.n,
        entropy_estimator=args.entropy_estimator,
        num_bootstrap=args.bootstrap,
        seed=args.seed,
        strict=args.strict,
        width=args.width,
        max_bytes=budget,
    )
    warnings = [*got.warnings, *(ref.warnings if ref else ()), *warnings]
    for line in warnings:
        print(f"trilemma: warning: {line}", file=sys.stderr)
    if args.json:
        print(json.dumps({"samplers": reports, "warnings": warnings}))
        return 0
    print(table(reports))
    return 0
