"""The `trilemma` command line: JSON and text reports in bits, and one-line errors.

Most cases call `trilemma.cli.main` in-process (fast); one runs the installed console
script in a subprocess to check the real exit status.
"""

import itertools
import json
import math
import subprocess
from collections import defaultdict

import bruteforce as bf
import numpy as np
import pytest
from clitools import console_script, report, run

import trilemma as T


def task_dict(name, n):
    """The task's joint as {outcome: probability}, for brute-force references."""
    joint = T.make_task(name, n).joint
    d = defaultdict(float)
    outcomes = np.asarray(joint.outcomes).astype(np.int64).tolist()
    for row, w in zip(outcomes, np.asarray(joint.probs).tolist(), strict=True):
        d[tuple(row)] += w
    return dict(d)


def shuffle_bound_bits(n, sizes):
    """Reference 2.4: L_T = sum_t |S_t| log2 m_t - log2 n! for Shuffle."""
    m, total = n, 0.0
    for s in sizes:
        total += s * math.log2(m)
        m -= s
    return total - math.log2(math.factorial(n))


CLOSED = {
    "copy": lambda n: 0.0,
    "replace_random": lambda n: (n - 1) * (math.log2(n) - math.log2(n - 1)),
    "shuffle": lambda n: n * math.log2(n) - math.log2(math.factorial(n)),
}


@pytest.mark.parametrize(
    ("name", "n"), [("copy", 3), ("replace_random", 5), ("shuffle", 4)]
)
def test_json_total_correlation_matches_closed_form(name, n, capsys):
    r = report(["exact", name, "--n", str(n)], capsys)
    for key in ("task", "n", "total_correlation_bits", "closed_form_bits"):
        assert key in r
    assert r["task"] == name and r["n"] == n
    assert r["num_prompts"] == 1
    assert abs(r["total_correlation_bits"] - CLOSED[name](n)) < 1e-11
    assert abs(r["closed_form_bits"] - CLOSED[name](n)) < 1e-11
    for key in ("t_step_bound_bits", "optimal_schedule", "partition", "num_steps"):
        assert key not in r  # only with --partition or --steps


def test_json_shuffle_distinct_has_closed_form(capsys):
    r = report(["exact", "shuffle_distinct", "--n", "3", "--num-prompts", "2"], capsys)
    assert r["closed_form_bits"] is not None
    assert abs(r["total_correlation_bits"] - r["closed_form_bits"]) < 1e-11
    assert r["support_size"] == 2 * (math.factorial(3) - 1)
    assert r["num_prompts"] == 2


def test_json_partition_replace_random(capsys):
    """Reference 2.2: Replace Random, n = 4, {1,2},{3,4}: L_T = 0.6226 bits."""
    r = report(
        ["exact", "replace_random", "--n", "4", "--partition", "0,1|2,3"], capsys
    )
    d = task_dict("replace_random", 4)
    given = [0]  # the prompt index
    lt = bf.t_step_bound(d, [(1, 2), (3, 4)], given) / math.log(2)
    assert abs(r["t_step_bound_bits"] - lt) < 1e-11
    assert abs(r["t_step_bound_bits"] - 0.6226) < 5e-5
    assert r["partition"] == [[0, 1], [2, 3]]
    assert r["num_steps"] == 2
    best = bf.optimal_t_step_bound(d, [1, 2, 3, 4], 2, given) / math.log(2)
    assert abs(r["optimal_t_step_bound_bits"] - best) < 1e-11
    schedule = r["optimal_schedule"]
    assert sorted(itertools.chain(*schedule)) == [0, 1, 2, 3] and len(schedule) == 2
    shifted = [tuple(v + 1 for v in step) for step in schedule]
    assert abs(bf.t_step_bound(d, shifted, given) / math.log(2) - best) < 1e-11


def test_json_steps_shuffle(capsys):
    r = report(["exact", "shuffle", "--n", "4", "--steps", "2"], capsys)
    best = min(shuffle_bound_bits(4, (s, 4 - s)) for s in range(1, 4))
    assert abs(r["t_step_bound_bits"] - best) < 1e-11
    assert abs(r["optimal_t_step_bound_bits"] - best) < 1e-11
    sizes = [len(step) for step in r["optimal_schedule"]]
    assert abs(shuffle_bound_bits(4, sizes) - best) < 1e-11
    assert r["num_steps"] == 2


def test_json_one_token_per_step_is_zero(capsys):
    r = report(["exact", "shuffle", "--n", "3", "--partition", "2|0|1"], capsys)
    assert abs(r["t_step_bound_bits"]) < 1e-12
    assert r["partition"] == [[2], [0], [1]]


def test_text_output_in_bits(capsys):
    code, out, _ = run(
        ["exact", "replace_random", "--n", "3", "--partition", "0,1,2"], capsys
    )
    assert code == 0
    closed = f"{CLOSED['replace_random'](3):.4f}"
    assert closed == "1.1699"
    lines = out.splitlines()
    c_line = next(line for line in lines if line.startswith("C(Y|X)"))
    assert f"= {closed} bits" in c_line and f"closed form {closed} bits" in c_line
    lt_line = next(line for line in lines if line.startswith("L_T"))
    assert f"{closed} bits" in lt_line  # one step: L_1 = C(Y|X)
    assert any(line.startswith("L*_T") for line in lines)


def test_tasks_listing(capsys):
    code, out, _ = run(["tasks", "--json"], capsys)
    assert code == 0
    rows = json.loads(out)
    assert [r["name"] for r in rows] == list(T.TASKS)
    assert all(r["description"] for r in rows)
    code, out, _ = run(["tasks"], capsys)
    assert code == 0
    assert [line.split()[0] for line in out.strip().splitlines()] == list(T.TASKS)


def test_max_bytes_allows_and_refuses(capsys):
    r = report(["exact", "shuffle", "--n", "4", "--max-bytes", "1MiB"], capsys)
    assert abs(r["total_correlation_bits"] - CLOSED["shuffle"](4)) < 1e-11
    code, _, err = run(["exact", "shuffle", "--n", "4", "--max-bytes", "100"], capsys)
    assert code == 2 and "bytes" in err


ERRORS = {
    "unknown task": (["exact", "sorting", "--n", "3"], "Unknown task 'sorting'"),
    "bad partition syntax": (
        ["exact", "copy", "--n", "3", "--partition", "a|b"],
        "partition",
    ),
    "empty step": (
        ["exact", "copy", "--n", "3", "--partition", "0,1||2"],
        "empty step",
    ),
    "overlapping partition": (
        ["exact", "copy", "--n", "3", "--partition", "0,1|1,2"],
        "puts variable 1 in step 0 and step 1",
    ),
    "partition misses a position": (
        ["exact", "copy", "--n", "3", "--partition", "0|1"],
        "misses",
    ),
    "partition out of range": (
        ["exact", "copy", "--n", "3", "--partition", "0|1|2|3"],
        "[3]",
    ),
    "n zero": (["exact", "copy", "--n", "0"], "`--n` must be an integer >= 1; got 0"),
    "n not an int": (["exact", "copy", "--n", "three"], "--n"),
    "n too large for memory": (["exact", "shuffle", "--n", "13"], "bytes"),
    "steps zero": (
        ["exact", "copy", "--n", "3", "--steps", "0"],
        "`--steps` must be an integer in [1, 3]; got 0",
    ),
    "too many steps": (
        ["exact", "copy", "--n", "3", "--steps", "4"],
        "`--steps` must be an integer in [1, 3]; got 4",
    ),
    "too many prompts": (
        ["exact", "copy", "--n", "3", "--num-prompts", "4"],
        "`--num-prompts` must be an integer in [1, 3]; got 4",
    ),
    "partition and steps": (
        ["exact", "copy", "--n", "3", "--steps", "2", "--partition", "0|1,2"],
        "not allowed",
    ),
    "bad max bytes": (
        ["exact", "copy", "--n", "3", "--max-bytes", "lots"],
        "max-bytes",
    ),
    "missing task": (["exact"], "task"),
    "no command": ([], "required"),
}


@pytest.mark.parametrize("case", list(ERRORS))
def test_errors_are_one_line_with_status_2(case, capsys):
    argv, fragment = ERRORS[case]
    code, out, err = run(argv, capsys)
    assert code == 2
    assert out == ""
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("trilemma: error: ")
    assert fragment in lines[0]
    assert "Traceback" not in err


def test_console_script_exit_status():
    """The installed `trilemma` script: one stderr line and status 2 on a bad size."""
    exe = console_script()
    proc = subprocess.run(
        [exe, "exact", "shuffle", "--n", "13", "--json"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 2
    assert proc.stdout == ""
    lines = proc.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("trilemma: error: ")
    assert "6,227,020,800" in lines[0] and "bytes" in lines[0]


@pytest.mark.parametrize("name", list(T.SAMPLERS))
def test_samplers_example_flags_build_the_registry_example(name, capsys):
    """`trilemma samplers`' example flags build the registry's example sampler.

    `simulate` parses them into `make_sampler(name, **EXAMPLES[name][0])`.
    """
    from trilemma.cli import build_parser
    from trilemma.cli import simulate as simulate_command
    from trilemma.cli.samplers import example_flags
    from trilemma.samplers import EXAMPLES

    code, out, _ = run(["samplers"], capsys)
    assert code == 0
    flags = example_flags(EXAMPLES[name][0])
    assert f"example: --sampler {name} {' '.join(flags)}".rstrip() in out
    args = build_parser().parse_args(["simulate", "copy", "--sampler", name, *flags])
    built = simulate_command.make_sampler(args)
    assert built == T.make_sampler(name, **EXAMPLES[name][0])
    rows = {r["name"]: r for r in json.loads(run(["samplers", "--json"], capsys)[1])}
    assert rows[name]["models"] == built.num_models
    assert rows[name]["exact_law"] == built.law
