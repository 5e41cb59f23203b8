"""Malformed command lines: one line `trilemma: error: ...`, status 2, no traceback.

One group per class of bad input found by trying the CLI as a new user would
(issue 7): integers too large for the arithmetic, memory budgets that parse to
infinity, sizes that passed the budget check but allocated anyway, sizes that ran for
minutes, silent wrong results, and messages that misled. Every refusal happens before
the work it refuses: the functions that would allocate or enumerate are replaced by
ones that fail the test if called, so these tests stay fast and safe. Expected values
are closed forms written out here.
"""

import json
import math
import os
import shutil
import stat
import subprocess
import sys
import types

import pytest
from clitools import console_script, report, run
from sampler_examples import LEVELS, example

import trilemma as T
from trilemma import simulation
from trilemma.cli import simulate as simulate_command
from trilemma.metrics import _t_step
from trilemma.tasks import _lists

HUGE = str(10**30)
DIGITS_5000 = "9" * 5000
DIGITS_400 = "9" * 400
SIM = ["simulate", "copy", "--sampler"]


def one_line_error(argv, capsys) -> str:
    """The single stderr line of a refused command (status 2, nothing on stdout)."""
    code, out, err = run(argv, capsys)
    assert code == 2, (code, out, err)
    assert out == ""
    assert "Traceback" not in err
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("trilemma: error: ")
    return lines[0]


def forbid(*args, **kwargs):
    raise AssertionError("called before the command refused its input")


# --------------------------------------------------------------------------------------
# Integers too large for the arithmetic


@pytest.mark.parametrize(
    ("argv", "fragments"),
    [
        (["exact", "copy", "--n", HUGE], ["at least 2^63 bytes", "memory budget"]),
        (SIM + ["random_topk", "--k", "1", "--n", HUGE], ["at least 2^63 bytes"]),
        (
            SIM + ["mdlm", "--num-steps", str(10**20)],
            ["`--num-steps` must be an integer in [1, 9223372036854775807]", "got 1"],
        ),
        (
            ["exact", "copy", "--n", DIGITS_5000],
            ["argument --n", "at most 4,300 digits", "(5,000 characters)"],
        ),
        (
            ["exact", "copy", "--num-prompts", HUGE],
            ["`--num-prompts` must be an integer in [1, 4]", "got a 31-digit integer"],
        ),
    ],
)
def test_huge_integers_are_refused_in_one_line(argv, fragments, capsys, monkeypatch):
    monkeypatch.setattr(_lists, "_prompts", forbid)
    line = one_line_error(argv, capsys)
    for fragment in fragments:
        assert fragment in line


@pytest.mark.parametrize("flag", ["--k", "--num-steps"])
@pytest.mark.parametrize("value", [2**63 - 1, 10**20, 10**100])
def test_huge_counts_mean_the_whole_sequence(flag, value, capsys):
    """Past the length L = 4 of copy, k or num_steps act as L (1 step; L steps)."""
    r = report(SIM + ["random_topk", flag, str(value)], capsys)
    steps = 1 if flag == "--k" else 4
    assert r["expected_nfe"] == steps
    assert r["tokens_per_step"] == 4 / steps
    assert r["accuracy"] == 1.0


def test_huge_block_is_one_block(capsys):
    """A block longer than the sequence is one block: k = 2 on 4 tokens, 2 steps."""
    r = report(SIM + ["random_topk", "--k", "2", "--block", HUGE], capsys)
    assert r["expected_nfe"] == 2 and r["params"]["block"] == 10**30


# --------------------------------------------------------------------------------------
# Memory budgets that parse to infinity


@pytest.mark.parametrize("value", ["inf", "1e400", DIGITS_400, "-1", "0", "lots"])
def test_max_bytes_flag_must_be_a_finite_size(value, capsys):
    line = one_line_error(["exact", "copy", "--max-bytes", value], capsys)
    assert (
        "`--max-bytes` must be a size from 1 byte to 9,223,372,036,854,775,807" in line
    )
    assert "got '" in line


@pytest.mark.parametrize("value", ["inf", "1e400", DIGITS_400])
def test_max_bytes_environment_must_be_a_finite_size(value, capsys, monkeypatch):
    monkeypatch.setenv("TRILEMMA_MAX_BYTES", value)
    line = one_line_error(["exact", "copy"], capsys)
    assert "`TRILEMMA_MAX_BYTES` must be a size from 1 byte" in line


def test_max_bytes_units(capsys, monkeypatch):
    """Binary and decimal units: shuffle n = 4 fits 1MiB and 1MB, not 1kB."""
    for budget in ("1MiB", "1MB", "1e6", "0.5GiB"):
        report(["exact", "shuffle", "--n", "4", "--max-bytes", budget], capsys)
    monkeypatch.setenv("TRILEMMA_MAX_BYTES", "1kB")
    assert "over the memory budget of 1000 B" in one_line_error(
        ["exact", "shuffle", "--n", "4"], capsys
    )


# --------------------------------------------------------------------------------------
# Sizes that passed the budget check but allocated anyway


@pytest.mark.parametrize(
    ("n", "steps", "fragment"),
    [
        (20, 2, "up to 3,486,784,401 subset pairs, over the limit of 1,162,261,467"),
        (19, 3, "would need 55,788,550,416 bytes"),
    ],
)
def test_optimal_schedule_pairs_are_checked_first(
    n, steps, fragment, capsys, monkeypatch
):
    """3^n subset pairs (48 bytes each at the peak) are refused before any work."""
    monkeypatch.setattr(_t_step, "_pairs", forbid)
    monkeypatch.setattr(_t_step, "subset_entropy_table", forbid)
    argv = ["exact", "random_joint", "--n", str(n), "--option", "vocab=1"]
    line = one_line_error([*argv, "--steps", str(steps)], capsys)
    assert fragment in line and str(n) in line
    assert "jax_enable_x64" not in line


def test_copy_budget_counts_the_whole_build(capsys, monkeypatch):
    """At n = 5e8: 3 prompt tables, 1 output table, the joint twice, 8 bytes a cell."""
    monkeypatch.setattr(_lists, "_prompts", forbid)
    line = one_line_error(["exact", "copy", "--n", "500000000"], capsys)
    n = 500_000_000
    expected = 3 * n * 8 + (n + 1) * 8 + 2 * (n + 2) * 8
    assert f"would need {expected:,} bytes" in line


def test_shuffle_budget_counts_the_permutation_tables(capsys, monkeypatch):
    """Shuffle n = 12 needs 272 GB by the estimate: refused under 100 GiB, early."""
    monkeypatch.setattr(_lists, "permutations", forbid)
    argv = ["exact", "shuffle", "--n", "12", "--max-bytes", "100GiB"]
    line = one_line_error(argv, capsys)
    assert f"{math.factorial(12):,} outcomes" in line and "100.0 GiB" in line


def test_out_of_memory_past_the_budget_is_one_line(capsys, monkeypatch):
    """A budget above what the machine can allocate: the MemoryError is one line."""

    def exhausted(n):
        raise MemoryError("Unable to allocate 1.78 GiB for an array")

    monkeypatch.setattr(_lists, "permutations", exhausted)
    argv = ["exact", "shuffle", "--n", "12", "--max-bytes", "1T"]
    line = one_line_error(argv, capsys)
    assert "out of memory (Unable to allocate 1.78 GiB" in line
    assert "--max-bytes" in line


@pytest.mark.parametrize(
    ("name", "n", "options"),
    [
        ("copy", 200_000, {}),
        ("insert_random", 400, {}),
        ("remove_random", 400, {}),
        ("replace_random", 300, {"num_prompts": 8}),
        ("insert_index", 40, {"num_prompts": 40}),
        ("shuffle", 9, {}),
        ("shuffle_distinct", 8, {"num_prompts": 3}),
        ("random_joint", 12, {}),
        ("markov_chain", 12, {}),
    ],
)
def test_task_estimate_covers_the_measured_peak(name, n, options):
    """Building with a budget one byte below the measured peak is refused.

    The peak of host allocations (NumPy arrays included) is measured by tracemalloc
    while the task is built; the builder's estimate must be at least that, so a
    budget below it refuses the build.
    """
    import tracemalloc

    T.make_task(name, n, **options)  # warm caches (imports, jit of the pmf check)
    tracemalloc.start()
    try:
        T.make_task(name, n, **options)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    with pytest.raises(ValueError, match="memory budget"):
        T.make_task(name, n, max_bytes=peak - 1, **options)


# --------------------------------------------------------------------------------------
# Sizes that were refused nowhere and ran for minutes


def test_exact_refuses_many_output_variables(capsys, monkeypatch):
    monkeypatch.setattr(T, "total_correlation", forbid)
    line = one_line_error(["exact", "copy", "--n", "1000000"], capsys)
    assert "1,000,000 output variables" in line and "limit of 1,000" in line


def test_exact_refuses_huge_permutation_counts(capsys, monkeypatch):
    monkeypatch.setattr(_lists, "permutations", forbid)
    for name, n in (("shuffle", "1000000000"), ("shuffle_distinct", "100000")):
        line = one_line_error(["exact", name, "--n", n], capsys)
        assert "at least 2^63 outcomes" in line and "memory budget" in line
        assert "int_max_str_digits" not in line


@pytest.mark.parametrize(
    ("argv", "fragment"),
    [
        (
            ["--n", "30", "--sampler", "random_topk", "--k", "1"],
            "up to 1,073,741,824 mask patterns",  # 2^30
        ),
        (
            ["--sampler", "mdlm", "--num-steps", "1000000000"],
            "up to 16,000,000,000 mask patterns",  # 2^4 patterns at each of 1e9 steps
        ),
        (
            ["--n", "10", "--sampler", "threshold", "--gamma", "0.5"],
            None,  # copy n = 10 is small: accepted
        ),
    ],
)
def test_simulate_refuses_what_cannot_finish(argv, fragment, capsys, monkeypatch):
    if fragment is None:
        assert report(["simulate", "copy", *argv], capsys)["accuracy"] == 1.0
        return
    monkeypatch.setattr(simulation, "simulate", forbid)
    line = one_line_error(["simulate", "copy", *argv], capsys)
    assert fragment in line and "limit of 1,000,000" in line


@pytest.mark.parametrize("name", LEVELS)
@pytest.mark.parametrize(
    ("task", "n"), [("shuffle", 4), ("replace_random", 4), ("copula", None)]
)
def test_simulate_size_bounds_the_states_visited(name, task, n):
    """The refusal's bound is an upper bound on what the enumerator really visits."""
    params = example(name)
    task = T.make_task(task, n)
    for extra in ({}, {"block": 2}):
        if "block" not in T.SAMPLERS[name].__kwdefaults__ and extra:
            continue
        sampler = T.SAMPLERS[name](**{**params, **extra})
        patterns, states = simulate_command.size(task, sampler)
        visited = T.simulate(task, sampler).states_visited
        assert visited <= states and patterns <= states


# --------------------------------------------------------------------------------------
# Silent wrong results


def test_largest_int64_k_commits_everything_in_one_step(capsys):
    """The largest int64 k on copy n = 4 is one step (it gave E[NFE] = 4, as k = 1)."""
    r = report(SIM + ["random_topk", "--k", str(2**63 - 1)], capsys)
    assert r["expected_nfe"] == 1.0 and r["tokens_per_step"] == 4.0


@pytest.mark.parametrize("temperature", ["1e-320", "5e-324", "1e-300"])
def test_tiny_temperature_is_the_greedy_limit(temperature, capsys):
    """Shuffle n = 3, one random token per step: ties are uniform, as at T = 0.

    Every step's marginals are uniform over the remaining items, so the output is a
    uniform permutation; the grader rejects the identity: accuracy 1 - 1/3! (it
    reported 0 with RuntimeWarnings, which the test configuration makes errors).
    """
    argv = ["simulate", "shuffle", "--n", "3", "--sampler", "random_topk", "--k", "1"]
    r = report([*argv, "--temperature", temperature], capsys)
    assert abs(r["accuracy"] - (1 - 1 / 6)) < 1e-12
    assert abs(r["precision"] - 1.0) < 1e-12
    assert abs(r["entropy_bits"] - math.log2(6)) < 1e-12


# --------------------------------------------------------------------------------------
# Messages that misled


def test_version(capsys):
    code, out, err = run(["--version"], capsys)
    assert code == 0 and err == ""
    assert out.strip() == f"trilemma {T.__version__}" == "trilemma 0.1.0"


MESSAGES = {
    "unknown flag": (["--bogus"], "unrecognized arguments: '--bogus'", "required"),
    "unknown flag of a command": (
        ["exact", "copy", "--bogus"],
        "unrecognized arguments: '--bogus'",
        "required",
    ),
    "missing gamma": (
        SIM + ["threshold"],
        "sampler 'threshold' needs `--gamma`",
        "factory()",
    ),
    "n as an option": (
        ["exact", "copy", "--option", "n=3"],
        "`--option n=...` sets no task option; use `--n`",
        "multiple values",
    ),
    "unknown option": (
        ["exact", "copy", "--option", "colour=red"],
        "Unknown option `colour` for task 'copy'; it takes none",
        "Traceback",
    ),
    "option of another task": (
        ["exact", "random_joint", "--option", "seeds=3"],
        "it takes `vocab`, `seed`, `zeros`",
        "Traceback",
    ),
    "steps on 20 tokens": (
        ["exact", "copy", "--n", "20", "--steps", "2"],
        "3,486,784,401 subset pairs",
        "jax_enable_x64",
    ),
    "negative infinity gamma": (
        SIM + ["threshold", "--gamma", "-inf"],
        "`--gamma` must be a real number in [0, 1]; got -inf.",
        "expected one argument",
    ),
    "negative exponent temperature": (
        SIM + ["random_topk", "--k", "1", "--temperature", "-1e-5"],
        "`--temperature` must be a finite real number >= 0; got -1e-05.",
        "expected one argument",
    ),
    "shuffle of 100000": (
        ["exact", "shuffle_distinct", "--n", "100000"],
        "at least 2^63 bytes",
        "set_int_max_str_digits",
    ),
    "factor as text": (
        SIM + ["factor", "--factor", "x"],
        "argument --factor: expected a real number; got 'x'",
        "Traceback",
    ),
    "flag of another sampler": (
        SIM + ["mdlm", "--num-steps", "2", "--k", "2"],
        "Unknown option `--k` for sampler 'mdlm'; it takes `--num-steps`, "
        "`--temperature`",
        "Traceback",
    ),
    "no schedule": (
        SIM + ["random_topk"],
        "give exactly one of `--k` and `--num-steps`; got neither",
        "Traceback",
    ),
    "latin square order": (
        ["exact", "latin_square", "--n", "5"],
        "`--n` must be one of [3, 4]; got 5.",
        "Traceback",
    ),
    "long unknown task": (
        ["exact", "x" * 5000],
        "...xxxxxxxx' (5,000 characters); available: ['cities',",
        "x" * 100,
    ),
}


@pytest.mark.parametrize("case", list(MESSAGES))
def test_messages_name_the_flag_value_and_what_is_allowed(case, capsys, monkeypatch):
    monkeypatch.setattr(_lists, "permutations", forbid)
    monkeypatch.setattr(_t_step, "_pairs", forbid)
    argv, wanted, unwanted = MESSAGES[case]
    line = one_line_error(argv, capsys)
    assert wanted in line
    assert unwanted not in line


def test_console_script_version_and_module_entry_point():
    """The installed script and `python -m trilemma.cli` print the version."""
    for argv in ([console_script()], [sys.executable, "-m", "trilemma.cli"]):
        proc = subprocess.run(
            [*argv, "--version"], capture_output=True, text=True, timeout=120
        )
        assert proc.returncode == 0, proc.stderr
        assert proc.stdout.strip() == "trilemma 0.1.0"


# --------------------------------------------------------------------------------------
# The newer commands: sample, diversity-loss, fit, train (issue 16)
#
# Each refusal leaves the folder as it was: an existing file keeps its bytes and mode,
# and no file or folder appears (`refused`). The work each command would do is
# replaced by `forbid` (`no_work`).

SAMPLE = ["sample", "--task", "copy", "--n", "3", "--sampler", "random_topk"]
SAMPLE += ["--k", "1", "--samples-per-prompt", "2"]
TRAIN_TASK = ["train", "--preset", "tiny", "--task", "copy"]
TRAIN = [*TRAIN_TASK, "--n", "3"]
LONG_NAME = "x" * 300 + ".jsonl"


def contents(folder) -> dict:
    """Every path under `folder`: a file's bytes and mode, else the node's kind."""
    out = {}
    for path in sorted(folder.rglob("*")):
        info = path.lstat()
        if stat.S_ISREG(info.st_mode):
            out[path] = (path.read_bytes(), stat.S_IMODE(info.st_mode))
        else:  # a folder, link or pipe (never read: a pipe would block)
            out[path] = stat.S_IFMT(info.st_mode)
    return out


def refused(argv, capsys, folder) -> str:
    """`one_line_error`, and nothing under `folder` created, changed or removed."""
    before = contents(folder)
    line = one_line_error(argv, capsys)
    assert contents(folder) == before
    return line


@pytest.fixture
def no_work(monkeypatch):
    """Decoding, writing, estimating, fitting and training all fail the test."""
    from trilemma import fit as fit_library
    from trilemma import samples, sampling
    from trilemma.cli import fit as fit_command
    from trilemma.models import presets, training

    monkeypatch.setattr(sampling, "_decode_rows", forbid)
    monkeypatch.setattr(samples, "writer", forbid)
    monkeypatch.setattr(T.estimators, "estimate_point", forbid)
    monkeypatch.setattr(fit_library, "fit", forbid)
    monkeypatch.setattr(fit_command, "load", forbid)
    monkeypatch.setattr(presets, "train_models", forbid)
    monkeypatch.setattr(training, "train", forbid)


@pytest.fixture
def existing(tmp_path):
    """A file that a refused `-o` must leave as it is (bytes and mode 0o644)."""
    path = tmp_path / "existing.jsonl"
    path.write_text('{"keep": "me"}\n')
    path.chmod(0o644)
    return path


def handwritten(path, tokens=((0, 1, 2),), prompt_id=0):
    """A hand-written sample file: one line per output, all of prompt `prompt_id`."""
    lines = [{"prompt_id": prompt_id, "output_tokens": list(t)} for t in tokens]
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    return path


# --- sizes that cannot be honoured ----------------------------------------------------


@pytest.mark.parametrize(
    ("extra", "fragment"),
    [
        (
            ["--shard", "0/10000000000000000000"],
            "`--shard` '0/10000000000000000000' holds none of the 1 prompt(s)",
        ),
        (["--shard", "0/10000000000000000000"], "use K <= 1"),
        (["--shard", "0/3", "--num-prompts", "2"], "holds none of the 2 prompt(s)"),
        (
            ["--shard", "0/" + DIGITS_5000],
            "got '0/9999999999999999999999...99999999' (5,002 characters)",
        ),
        (["--samples-per-prompt", str(10**15)], "in [1, 4294967296]; got 1"),
        (["--samples-per-prompt", str(10**20)], "in [1, 4294967296]; got 1"),
        (["--samples-per-prompt", str(2**32 + 1)], "in [1, 4294967296]; got 4"),
    ],
)
def test_sample_refuses_sizes_it_cannot_write(
    extra, fragment, existing, tmp_path, capsys, no_work
):
    """An empty shard would replace the file with nothing; 2^32 keys per prompt."""
    line = refused([*SAMPLE, "-o", str(existing), *extra], capsys, tmp_path)
    assert fragment in line


def test_sample_refuses_a_file_larger_than_the_free_space(
    existing, tmp_path, capsys, monkeypatch, no_work
):
    """10^5 lines of at least 200 bytes do not fit in 1 MB."""
    from trilemma import _files

    usage = shutil._ntuple_diskusage(10**9, 10**9 - 10**6, 10**6)
    monkeypatch.setattr(
        _files, "shutil", types.SimpleNamespace(disk_usage=lambda _: usage)
    )
    argv = [*SAMPLE, "-o", str(existing), "--samples-per-prompt", "100000"]
    line = refused(argv, capsys, tmp_path)
    assert "`--samples-per-prompt` = 100,000 on 1 prompt(s), 100,000 lines" in line
    assert "more than the 976.6 KiB free" in line


@pytest.mark.parametrize(
    ("extra", "fragment"),
    [
        (["--bootstrap", HUGE], "`--bootstrap` must be an integer in [2, 1000000]"),
        (["--bootstrap", "-1"], "`--bootstrap` must be an integer in [2, 1000000]"),
        (["--seed", HUGE], "`seed` must be an integer in [0, 9223372036854775807]"),
        (["--seed", "-1"], "`seed` must be an integer in [0, 9223372036854775807]"),
        (["--width", "1e-300"], "`width` must be a real number >= 1e-09"),
        (["--width", "nan"], "`width` must be a real number >= 1e-09"),
        (["--width", "-1"], "`width` must be a real number >= 1e-09"),
        (["--width", "x"], "argument --width: expected a real number; got 'x'"),
        (
            ["--bootstrap", "1000000", "--max-bytes", "1MB"],
            "1,000,000 bootstrap resamples of 1 cells (`--bootstrap`) would need",
        ),
    ],
)
def test_diversity_loss_refuses_sizes_and_values(
    extra, fragment, tmp_path, capsys, no_work
):
    sample = handwritten(tmp_path / "a.jsonl")
    argv = ["diversity-loss", "--samples", str(sample), "--reference", str(sample)]
    line = refused([*argv, *extra], capsys, tmp_path)
    assert fragment in line


@pytest.mark.parametrize(
    ("line", "fragment"),
    [
        ({"prompt_id": 10**30, "output_tokens": [0]}, "`prompt_id` holds a 31-digit"),
        ({"prompt_id": 0, "output_tokens": [0, 2**63]}, "`output_tokens` holds 9223"),
        ({"prompt_id": 0, "output_tokens": [-(2**63) - 1]}, "`output_tokens` holds -9"),
        ({"prompt_id": 0, "output_tokens": [0], "nfe": 10**30}, "`nfe` holds a 31-"),
    ],
)
def test_sample_files_hold_64_bit_integers(line, fragment, tmp_path, capsys, no_work):
    """Integers past int64: the file, line and field named (was an OverflowError)."""
    good = handwritten(tmp_path / "good.jsonl")
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps({"prompt_id": 0, "output_tokens": [1]}) + "\n")
    bad.write_text(bad.read_text() + json.dumps(line) + "\n")
    argv = ["diversity-loss", "--samples", str(bad), "--reference", str(good)]
    message = refused(argv, capsys, tmp_path)
    assert f"{bad}:2: field {fragment}" in message
    assert "outside the 64-bit integers [-2^63, 2^63 - 1]" in message


def test_sample_file_numbers_past_the_digit_limit(tmp_path, capsys, no_work):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"prompt_id": ' + DIGITS_5000 + ', "output_tokens": [1]}\n')
    argv = ["diversity-loss", "--samples", str(bad), "--reference", str(bad)]
    line = refused(argv, capsys, tmp_path)
    assert f"{bad}:1: not valid JSON here (Exceeds the limit (4300 digits)" in line


@pytest.mark.parametrize(
    ("extra", "fragment"),
    [
        (["--num-prompts", DIGITS_5000], "argument --num-prompts: expected an integer"),
        (["--num-prompts", "nan"], "argument --num-prompts: expected an integer"),
        (["--seed", "1e3"], "argument --seed: expected an integer; got '1e3'"),
    ],
)
def test_fit_reads_integers_as_the_other_commands_do(
    extra, fragment, tmp_path, capsys, no_work
):
    line = refused(["fit", *extra], capsys, tmp_path)
    assert fragment in line and DIGITS_400 not in line


@pytest.mark.parametrize(
    ("extra", "fragment"),
    [
        (["--steps", str(10**20)], "`--steps` must be an integer in [1, 1000000000]"),
        (
            ["--steps", str(10**9 + 1)],
            "`--steps` must be an integer in [1, 1000000000]",
        ),
        (["--steps", DIGITS_5000], "argument --steps: expected an integer of at most"),
        (["--batch-size", str(10**20)], "`--batch-size` must be an integer in [1, 2"),
        (
            ["--batch-size", "1000000"],
            # S = 8 tokens, V = 36, width 16 (MLP 64), 1 block of 2 heads, float32
            "a training step of batch 1,000,000 (`--batch-size`) on sequences of 8 "
            f"tokens would need {4 * 10**6 * (3 * 8 * 36 + 8 * 16 * 14 + 4 * 64):,}",
        ),
        (["--batch-size", "1000", "--max-bytes", "1MB"], "budget of 976.6 KiB"),
        (["--n", "-3"], "`--n` must be an integer >= 1; got -3."),
        (["--n", "100"], "100"),  # the pool holds 32 names: checked before the folder
    ],
)
def test_train_refuses_sizes_before_making_its_folder(
    extra, fragment, tmp_path, capsys, no_work
):
    base = TRAIN_TASK if "--n" in extra else TRAIN
    line = refused([*base, *extra, "-o", str(tmp_path / "run")], capsys, tmp_path)
    assert fragment in line


def test_training_settings_are_bounded():
    from trilemma.models import training

    with pytest.raises(
        ValueError, match=r"`steps` must be an integer in \[1, 1000000000\]"
    ):
        training.TrainConfig(steps=10**20, batch_size=1)
    with pytest.raises(ValueError, match="`batch_size` must be an integer in"):
        training.TrainConfig(steps=1, batch_size=10**20)


# --- destinations ---------------------------------------------------------------------

DESTINATIONS = [
    ("", "`--output` is empty"),
    ("/proc/trilemma-test", "cannot create a"),
    ("LONG", "bytes long, over this file system's limit of"),
    ("no/such/folder/x", "does not exist"),
    ("FIFO", "not a"),
]


def _destination(value, tmp_path):
    if value == "LONG":
        return str(tmp_path / LONG_NAME)
    if value == "FIFO":
        os.mkfifo(tmp_path / "pipe")
        return str(tmp_path / "pipe")
    if value.startswith("no/"):
        return str(tmp_path / value)
    return value


@pytest.mark.parametrize(("value", "fragment"), DESTINATIONS)
def test_sample_destination_is_checked_first(
    value, fragment, existing, tmp_path, capsys, no_work
):
    if value.startswith("/proc") and not os.path.isdir("/proc"):
        pytest.skip("no /proc")
    line = refused([*SAMPLE, "-o", _destination(value, tmp_path)], capsys, tmp_path)
    assert fragment in line


@pytest.mark.parametrize(("value", "fragment"), DESTINATIONS)
def test_train_destination_is_checked_first(value, fragment, tmp_path, capsys, no_work):
    """`-o ''` is not the current folder; nothing is made before the check."""
    if value.startswith("/proc") and not os.path.isdir("/proc"):
        pytest.skip("no /proc")
    line = refused([*TRAIN, "-o", _destination(value, tmp_path)], capsys, tmp_path)
    assert fragment in line


def test_sample_refuses_a_folder_name_for_a_file(existing, tmp_path, capsys, no_work):
    """`x.jsonl/` (a folder's spelling) is not silently the file `x.jsonl`."""
    line = refused([*SAMPLE, "-o", f"{existing}/"], capsys, tmp_path)
    assert "ends in a separator; give a file name" in line


def test_longest_names_and_modes_survive_the_atomic_write(tmp_path):
    """A name at the limit is writable; a replaced file keeps its mode.

    The temporary file's name repeats only part of the name; a new file gets the
    umask's mode, as `open` gives it (mkstemp made it 0o600).
    """
    from trilemma import _files

    limit = os.pathconf(tmp_path, "PC_NAME_MAX")
    longest = tmp_path / ("y" * limit)
    _files.atomic_write(_files.check_destination(longest), b"data")
    assert longest.read_bytes() == b"data"
    kept = tmp_path / "kept"
    kept.write_bytes(b"old")
    kept.chmod(0o640)
    _files.atomic_write(kept, b"new")
    assert kept.read_bytes() == b"new" and stat.S_IMODE(kept.stat().st_mode) == 0o640
    mask = os.umask(0o022)
    try:
        _files.atomic_write(tmp_path / "fresh", b"new")
    finally:
        os.umask(mask)
    assert stat.S_IMODE((tmp_path / "fresh").stat().st_mode) == 0o644
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        ["fresh", "kept", longest.name]
    )


# --- repeated inputs ------------------------------------------------------------------


def test_diversity_loss_flags_add_up(tmp_path, capsys, monkeypatch, no_work):
    """`--samples a --samples b` reads a and b (it read b only)."""
    from trilemma import samples

    a, b, c, d = (handwritten(tmp_path / f"{x}.jsonl") for x in "abcd")
    read, seen = samples.read, {}

    def spy(*paths, name, **kwargs):
        seen[name] = [str(p) for p in paths]
        if name == "reference":
            raise ValueError("stopped after reading the arguments")
        return read(*paths, name=name, **kwargs)

    monkeypatch.setattr(samples, "read", spy)
    argv = ["diversity-loss", "--samples", str(a), "--samples", str(b)]
    refused([*argv, "--reference", str(c), "--reference", str(d)], capsys, tmp_path)
    assert seen == {"samples": [str(a), str(b)], "reference": [str(c), str(d)]}


@pytest.mark.parametrize("flag", ["--samples", "--reference"])
@pytest.mark.parametrize(
    ("names", "fragment"),
    [
        (["a.jsonl", "a.jsonl"], "the file 'a.jsonl' is given twice"),
        (["a.jsonl", "./a.jsonl"], "'./a.jsonl' is the file 'a.jsonl' again"),
        (["a*.jsonl", "a.jsonl"], "the file 'a.jsonl' is given twice"),
        (["a.jsonl", "link.jsonl"], "'link.jsonl' is the file 'a.jsonl' again"),
    ],
)
def test_diversity_loss_refuses_a_file_named_twice(
    flag, names, fragment, tmp_path, capsys, monkeypatch, no_work
):
    """The same samples counted twice would narrow every interval by sqrt(2)."""
    monkeypatch.chdir(tmp_path)
    handwritten(tmp_path / "a.jsonl")
    handwritten(tmp_path / "other.jsonl")
    os.symlink(tmp_path / "a.jsonl", tmp_path / "link.jsonl")
    other = "--reference" if flag == "--samples" else "--samples"
    argv = ["diversity-loss", flag, *names, other, "other.jsonl"]
    line = refused(argv, capsys, tmp_path)
    assert f"`{flag}`: {fragment}; its samples would be counted twice" in line


def test_a_file_may_be_both_sample_and_reference(tmp_path, capsys, no_work):
    """Comparing a sample with itself is allowed (it reaches estimate_point)."""
    a = handwritten(tmp_path / "a.jsonl")
    with pytest.raises(AssertionError, match="called before"):
        run(["diversity-loss", "--samples", str(a), "--reference", str(a)], capsys)


@pytest.mark.parametrize(
    ("extra", "fragment"),
    [
        (["--task", "copy"], "`--task` 'copy' is given twice; give each once"),
        (["--n", "3"], "`--n` 3 is given twice; give each once"),
    ],
)
def test_train_refuses_a_group_given_twice(extra, fragment, tmp_path, capsys, no_work):
    line = refused([*TRAIN, *extra, "-o", str(tmp_path / "run")], capsys, tmp_path)
    assert fragment in line


def test_diversity_loss_refuses_an_empty_file_name(tmp_path, capsys, no_work):
    a = handwritten(tmp_path / "a.jsonl")
    argv = ["diversity-loss", "--samples", "", "--reference", str(a)]
    line = refused(argv, capsys, tmp_path)
    assert "`--samples`: an empty file name" in line


# --------------------------------------------------------------------------------------
# Model specs: empty, hf: without its flags, flags without hf:, a module that fails


SAMPLE_ONE = ["sample", "--task", "copy", "--n", "3", "--sampler", "random_topk"]
SAMPLE_ONE += ["--k", "1", "--samples-per-prompt", "1"]


@pytest.mark.parametrize(
    ("extra", "fragment"),
    [
        (["--model", ""], "`--model` is empty"),
        (["--model", "hf:", "--gen-length", "8"], "needs a model name or folder"),
        (["--model", "hf:someone/model"], "`--gen-length`: give the answer's length"),
        (["--gen-length", "8"], "--gen-length: only with an `--model hf:NAME"),
        (["--dtype", "float64", "--device", "cpu"], "--device, --dtype: only with"),
        (
            ["--model", "hf:x", "--gen-length", "4", "--task", "cities", "--n", "2"],
            "task cities has no text prompt",
        ),
        (
            ["--model", "hf:x", "--gen-length", "0"],
            "`--gen-length` must be an integer in [1, 1048576]",
        ),
        (["--model", "broken_module:factory"], "cannot import 'broken_module'"),
    ],
)
def test_sample_model_specs_are_checked_first(
    extra, fragment, existing, tmp_path, capsys, monkeypatch, no_work
):
    """Each is one line, exit 2, before loading anything; `-o` keeps its bytes."""
    (tmp_path / "broken_module.py").write_text("def factory(task:\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr("trilemma.models.pytorch.from_pretrained", forbid)
    argv = [*SAMPLE_ONE, "-o", str(existing)]
    for flag, value in zip(extra[::2], extra[1::2], strict=True):
        if flag in argv:
            argv[argv.index(flag) + 1] = value
        else:
            argv += [flag, value]
    assert fragment in refused(argv, capsys, tmp_path)


def test_apd_refuses_an_hf_verifier(existing, tmp_path, capsys, no_work):
    argv = ["sample", "--task", "copy", "--n", "3", "--sampler", "apd", "--weight"]
    argv += ["1", "--lookahead", "2", "--ar-model", "hf:x", "--samples-per-prompt"]
    argv += ["1", "-o", str(existing)]
    assert "APD's verifier is a causal model" in refused(argv, capsys, tmp_path)


@pytest.mark.parametrize("command", [["fit"], SIM + ["random_topk", "--k", "1"]])
def test_an_empty_model_is_named(command, capsys):
    line = one_line_error([*command, "--model", ""], capsys)
    assert "`--model` is empty" in line
