"""`trilemma parallelbench DIR...`: ParallelBench's logged runs, per setting and run.

Reads ParallelBench's published lm-eval runs (`results/<model>/<method>/<param>/
<run>/samples_parallelbench_<task>.jsonl` and `results_parallelbench.json`, or
plain lm-eval output folders) line by line (`trilemma.parallelbench.read_runs`)
and prints, per model x method x param: per task and n, the docs, trilemma's
accuracy and strict accuracy with exact Clopper–Pearson 95% intervals, lines
graded otherwise than logged, mean NFE, tokens per step and output length; per
run x task, the means against the run's results file (equal, or "excerpt k/N
docs"); and PBx per model x method over the params given.

Its own command, not part of `diversity-loss`: this one reports each run's
accuracy and speed from one sample per doc, checked against the run's own results
file, with no reference law; `diversity-loss` estimates a sampler's output law
(precision, recall, entropy, KL) against a reference (p* or a reference sample),
which needs many samples per prompt.
"""

from __future__ import annotations

import json
import math
import sys

from . import _common


def add_parser(subparsers) -> None:
    """Register the `parallelbench` command."""
    parser = subparsers.add_parser(
        "parallelbench",
        help="accuracy and speed of ParallelBench's logged runs, per setting, "
        "against each run's results file, and PBx",
        description="Per model x method x param x task x n in ParallelBench's "
        "lm-eval runs: docs, trilemma's accuracy and strict accuracy with exact "
        "Clopper-Pearson 95% intervals, lines graded otherwise than logged, mean "
        "NFE, tokens per step (max_tokens / NFE, ParallelBench's speed) and output "
        "length; per run x task, the means against the run's results file (equal "
        "to 1e-9 relative when the file holds every doc, else 'excerpt k/N docs'); "
        "PBx per model x method over the params given. One sample per doc, no "
        "reference law: to estimate a sampler's output law against a reference, "
        "use diversity-loss. Exit status 1 when a complete file's means differ "
        "from its results file or a verdict differs from the logged one; 2 for bad "
        "input.",
    )
    parser.add_argument(
        "dirs",
        nargs="+",
        metavar="DIR",
        help="results trees, run folders, lm-eval output folders or sample files",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument(
        "--figure",
        metavar="PATH",
        help="also draw accuracy against tokens per step per task (.pdf, .png, .svg)",
    )
    parser.add_argument(
        "--no-progress",
        action="store_true",
        help="no progress bar (it is shown on a terminal only)",
    )
    parser.set_defaults(run=run, flags=_common.flags_of(parser))


def run(args) -> int:
    """Read, print the table (or JSON), draw the figure; exit 1 on a mismatch."""
    from ..parallelbench._runs import figure_data, read_runs

    figure = _check_figure(args.figure) if args.figure is not None else None
    try:
        report = read_runs(
            args.dirs, progress=not args.no_progress and sys.stderr.isatty()
        )
    except OSError as error:  # a file that cannot be opened: one line, status 2
        raise ValueError(f"{error.filename}: {error.strerror}") from None
    if figure is not None:
        _save(figure_data(report), figure)
    if args.json:
        print(json.dumps(report.as_dict(), allow_nan=False))
    else:
        print(table(report))
    return 1 if report.errors else 0


def _check_figure(path):
    from matplotlib.backend_bases import FigureCanvasBase

    from .._files import check_destination

    path = check_destination(path, "figure")
    kinds = FigureCanvasBase.get_supported_filetypes()
    kind = path.suffix.lstrip(".").lower()
    if kind not in kinds:
        raise ValueError(
            f"`figure` {str(path)!r}: the name must end in one of "
            f"{', '.join('.' + k for k in sorted(kinds))}"
        )
    return path


def _save(data, path) -> None:
    from .._files import atomic_open
    from ..plotting import fig_parallelbench, style

    fig = fig_parallelbench(data)
    kind = path.suffix.lstrip(".").lower()
    metadata = {"pdf": {"CreationDate": None}, "png": {}}.get(kind)
    with style(), atomic_open(path) as handle:
        fig.savefig(handle, format=kind, metadata=metadata)


def _pattern_lines(rows) -> list[str]:
    """One line per (task, n) with a pooled pattern law: what one doc each says."""
    out = []
    for r in rows:
        d = r.pooled_patterns
        if d is None:
            continue
        if not out:
            out.append(
                "  one answer per doc: the pooled pattern law (bits; its entropy and "
                "recall bound each doc's from above, its TV from below)"
            )
        out.append(
            f"    {r.task} n={r.n}: valid entropy {_bits(d['valid_entropy_bits'])} "
            f"of p*'s {d['reference_entropy_bits']:.3f}, recall "
            f"{_bits(d['recall'])}, TV {_bits(d['tv'])}, "
            f"{d['valid_patterns_seen']}/{d['reference_support']} patterns seen: "
            f"{d['conclusion']}"
        )
    return out


def _bits(d) -> str:
    if d["estimate"] is None:
        return "n/a"
    return f"{d['estimate']:.3f} [{d['ci_low']:.3f}, {d['ci_high']:.3f}]"


def table(report) -> str:
    """The report as text: one block per model x method x param, then PBx."""
    out = [
        f"{report.files} sample files, {report.lines} lines; accuracy = trilemma's "
        "verdicts with exact Clopper-Pearson 95% intervals; tok/step = max_tokens / "
        "NFE per doc, averaged; '≠' = lines graded otherwise than logged"
    ]
    runs_of: dict[tuple, list] = {}
    for row in report.runs:
        s = row.settings
        runs_of.setdefault((s.model, s.method, s.param), []).append(row)
    summaries: dict[tuple, list] = {}
    for summary in report.summaries:
        s = summary.settings
        summaries.setdefault((s.model, s.method, s.param), []).append(summary)
    blocks: dict[tuple, list] = {}
    for row in report.settings:
        blocks.setdefault((row.model, row.method, row.param), []).append(row)
    pooled = {(r.model, r.method, r.param, r.task): r for r in report.pooled}
    for key, rows in blocks.items():
        model, method, param = key
        runs = sorted({r.settings.run for r in runs_of.get(key, [])})
        out += ["", f"{model}  {method}  {param}  ({len(runs)} run: {', '.join(runs)})"]
        header = (
            "task", "n", "docs", "lines", "accuracy [95% CI]", "strict [95% CI]",
            "NFE", "tok/step", "out len", "≠",
        )  # fmt: skip
        cells = [header]
        for task in dict.fromkeys(r.task for r in rows):
            per_n = [r for r in rows if r.task == task]
            shown = per_n + ([pooled[(*key, task)]] if len(per_n) > 1 else [])
            for r in shown:
                cells.append(
                    (
                        r.task,
                        str(r.n),
                        str(r.docs),
                        str(r.lines),
                        _interval(r.accuracy),
                        _interval(r.accuracy_strict),
                        _num(r.mean_nfe, 2),
                        _num(r.mean_tokens_per_step, 3),
                        _num(r.mean_output_length, 1),
                        str(r.disagreements),
                    )  # fmt: skip
                )
        out += _aligned(cells, right={1, 2, 3, 6, 7, 8, 9})
        out += _pattern_lines(rows)
        for row in runs_of.get(key, []):
            mark = "ERROR " if row.results.status == "mismatch" else ""
            out.append(
                f"  {mark}run {row.settings.run} {row.task}: {row.lines} lines, "
                f"score {100 * row.accuracy.estimate:.2f}%: {row.results.message}"
            )
        for summary in summaries.get(key, []):
            if summary.results_file is None:
                out.append(f"  run {summary.settings.run}: no results file")
            elif summary.missing:
                text_writing = [
                    t for t in summary.missing if t.startswith("text_writing")
                ]
                graded = [t for t in summary.missing if t not in text_writing]
                out.append(
                    f"  run {summary.settings.run}: its results file reports "
                    f"{len(summary.reported_tasks)} tasks; no sample file here for "
                    f"{', '.join(graded) or 'none of the graded ones'}"
                    + (f" and {len(text_writing)} Text Writing" if text_writing else "")
                )
    out += ["", "PBx (average over the tasks every param has; score = % of docs)"]
    for p in report.pbx:
        out.append(f"  {p.model}  {p.method}: {p.note}")
        points = "; ".join(f"{q} {s:.3f} tok/step, {a:.2f}%" for q, s, a in p.points)
        out.append(f"    lines: {points}")
        if p.results_points is not None:
            res = "; ".join(
                f"{q} {s:.3f} tok/step, {a:.2f}%" for q, s, a in p.results_points
            )
            out.append(f"    results files, same tasks: {res}")
        if p.results_points_all is not None:
            res = "; ".join(
                f"{q} {s:.3f} tok/step, {a:.2f}%" for q, s, a in p.results_points_all
            )
            out.append(f"    results files, all their tasks: {res}")
        for name, values in (
            ("lines", p.pbx),
            ("results files, same tasks", p.results_pbx),
            ("results files, all their tasks", p.results_pbx_all),
        ):
            if values is not None:
                out.append(f"    PBx ({name}, {p.convention}): {_pbx(values, p)}")
    if report.skipped_files:
        out.append(
            f"skipped {len(report.skipped_files)} Text Writing files (scored by "
            "LanguageTool, ROUGE and BERTScore; not graded by trilemma)"
        )
    for error in report.errors:
        out.append(f"ERROR {error}")
    return "\n".join(out)


def _pbx(values, row) -> str:
    key = row.convention
    parts = []
    for x, item in values.items():
        text = f"PB{x} {item[key]:.2f}"
        if key == "discrete" and item["at"] is not None:
            text += f" ({item['at']})"
        parts.append(text)
    return ", ".join(parts)


def _interval(estimate) -> str:
    return f"{estimate.estimate:.3f} [{estimate.ci_low:.3f}, {estimate.ci_high:.3f}]"


def _num(value: float, digits: int) -> str:
    return "—" if not math.isfinite(value) else f"{value:.{digits}f}"


def _aligned(rows, *, right) -> list[str]:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return [
        "  "
        + "  ".join(
            c.rjust(w) if i in right else c.ljust(w)
            for i, (c, w) in enumerate(zip(row, widths, strict=True))
        ).rstrip()
        for row in rows
    ]
