r"""Verdict parity: trilemma's port of ParallelBench's grader against its logged scores.

Walks ParallelBench results trees (`results/<model>/<method>/<param>/<run>/
samples_parallelbench_<category>_<task>.jsonl`, or any folder of lm-eval
`samples_*.jsonl` files of ParallelBench's tasks), grades every line's response
(`filtered_resps[0]`, the one the harness scored) leniently and strictly with
`trilemma.parallelbench.grade_doc`, and compares the verdicts with the logged
`score` and `score_strict`. Prints the agreement per model x method x task (with
the n of the docs), then every disagreement (file:line, the response, both
verdicts). Text Writing files (scored by LanguageTool, ROUGE and BERTScore) are
skipped and counted.

Exit status: 0 when every verdict agrees, 1 on any disagreement, 2 with one line on
stderr for bad input (no sample files, an unreadable line, a task name that maps to
nothing).

  python experiments/parallelbench_parity.py DIR... [--json]

The committed excerpt: `python experiments/parallelbench_parity.py
tests/fixtures/parallelbench/results`.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

PROG = "parallelbench_parity"


def parity(paths, *, progress: bool = False) -> dict:
    """Grade every line under `paths`; the report as one JSON-ready dict.

    Raises:
      ValueError: bad input (see `trilemma.parallelbench.find_log_files` and
        `grade_log`).
    """
    from tqdm import tqdm

    from trilemma.parallelbench import find_log_files, grade_log

    files = find_log_files(paths)
    graded = [f for f in files if f.task is not None]
    if not graded:
        raise ValueError(
            f"no sample files of a task trilemma grades under {list(map(str, paths))} "
            f"({len(files)} Text Writing files only)."
        )
    groups: dict[tuple, dict] = {}
    disagreements = []
    for log in tqdm(graded, desc="files", unit="file", disable=not progress):
        key = (log.model, log.method, log.task_name)
        group = groups.setdefault(
            key,
            {
                "model": log.model,
                "method": log.method,
                "task": log.task_name,
                "trilemma_task": log.task,
                "params": set(),
                "files": 0,
                "lines": 0,
                "score_agree": 0,
                "score_strict_agree": 0,
                "n": Counter(),
            },
        )
        group["params"].add(log.param)
        group["files"] += 1
        for verdict in grade_log(log):
            group["lines"] += 1
            group["score_agree"] += verdict.score == verdict.logged_score
            group["score_strict_agree"] += (
                verdict.score_strict == verdict.logged_score_strict
            )
            group["n"][verdict.n] += 1
            if not verdict.agrees:
                disagreements.append(
                    {
                        "file": str(log.path),
                        "line": verdict.line,
                        "doc_id": verdict.doc_id,
                        "task": log.task_name,
                        "response": verdict.response,
                        "score": float(verdict.score),
                        "score_strict": float(verdict.score_strict),
                        "logged_score": float(verdict.logged_score),
                        "logged_score_strict": float(verdict.logged_score_strict),
                    }
                )
    rows = []
    for group in sorted(
        groups.values(), key=lambda g: (g["model"], g["method"], g["task"])
    ):
        n = group.pop("n")
        rows.append(
            {
                **group,
                "params": sorted(group["params"]),
                "n": {
                    ("?" if k is None else str(k)): n[k]
                    for k in sorted(n, key=_n_order)
                },
            }
        )
    lines = sum(r["lines"] for r in rows)
    return {
        "files": len(graded),
        "skipped_files": sorted(str(f.path) for f in files if f.task is None),
        "lines": lines,
        "score_agree": sum(r["score_agree"] for r in rows),
        "score_strict_agree": sum(r["score_strict_agree"] for r in rows),
        "groups": rows,
        "disagreements": disagreements,
    }


def _n_order(n) -> tuple:
    return (n is None, n if n is not None else 0)


def format_report(report: dict) -> str:
    """The agreement table, a total line and every disagreement, as text."""
    header = ("model", "method", "task", "lines", "score", "strict", "n: docs")
    table = [header]
    for row in report["groups"]:
        table.append(
            (
                row["model"],
                row["method"],
                row["task"],
                str(row["lines"]),
                _agree(row["score_agree"], row["lines"]),
                _agree(row["score_strict_agree"], row["lines"]),
                " ".join(f"{k}:{v}" for k, v in row["n"].items()),
            )
        )
    table.append(
        (
            "total",
            "",
            f"{report['files']} files",
            str(report["lines"]),
            _agree(report["score_agree"], report["lines"]),
            _agree(report["score_strict_agree"], report["lines"]),
            "",
        )
    )
    widths = [max(len(r[i]) for r in table) for i in range(len(header))]
    right = {3, 4, 5}
    out = [
        "  ".join(
            cell.rjust(w) if i in right else cell.ljust(w)
            for i, (cell, w) in enumerate(zip(row, widths, strict=True))
        ).rstrip()
        for row in table
    ]
    out.insert(1, "  ".join("-" * w for w in widths))
    out.insert(-1, out[1])
    if report["skipped_files"]:
        out.append(
            f"skipped {len(report['skipped_files'])} Text Writing files "
            "(scored by LanguageTool, ROUGE and BERTScore; not graded by trilemma)"
        )
    if report["disagreements"]:
        out.append(f"\n{len(report['disagreements'])} lines disagree:")
        for d in report["disagreements"]:
            out.append(
                f"{d['file']}:{d['line']}: doc_id {d['doc_id']}, response "
                f"{json.dumps(d['response'])}: trilemma score {d['score']:g} "
                f"strict {d['score_strict']:g}; logged score {d['logged_score']:g} "
                f"strict {d['logged_score_strict']:g}"
            )
    else:
        out.append("every verdict agrees (lenient and strict)")
    return "\n".join(out)


def _agree(agree: int, total: int) -> str:
    share = 100.0 * agree / total if total else 100.0
    return f"{agree}/{total} ({share:.1f}%)"


def main(argv=None) -> int:
    """Command line; the exit status (0 agree, 1 disagreement, 2 bad input)."""
    parser = argparse.ArgumentParser(
        prog=PROG, description=__doc__.strip().splitlines()[0]
    )
    parser.add_argument("dirs", nargs="+", metavar="DIR", type=Path)
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args(argv)
    try:
        report = parity(args.dirs, progress=sys.stderr.isatty())
    except (ValueError, OSError) as error:
        print(f"{PROG}: error: {error}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(report))
    else:
        print(format_report(report))
    return 1 if report["disagreements"] else 0


if __name__ == "__main__":
    sys.exit(main())
