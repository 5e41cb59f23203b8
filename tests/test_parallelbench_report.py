"""`trilemma parallelbench`: ParallelBench's logged runs per setting, against each run.

On the committed excerpt (`tests/fixtures/parallelbench/results`, SOURCE.md) every
count is checked against a count made here with `json` alone, the two files that
hold all 100 docs against their run's `results_parallelbench.json`, the intervals
against scipy's Beta quantiles; PBx on small synthetic trees against a hand
computation; the command's output, exit status and every kind of bad input.
"""

import json
import math
import shutil
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import pytest  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from scipy.stats import beta  # noqa: E402

from tests.clitools import run as run_cli  # noqa: E402
from trilemma.parallelbench._runs import (  # noqa: E402
    figure_data,
    ideal_curves,
    param_label,
    read_runs,
    run_settings,
)
from trilemma.plotting import fig_parallelbench  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures" / "parallelbench" / "results"
RUN = "20260320_133223_all"
LLADA_K4 = f"GSAI-ML__LLaDA-8B-Instruct/confidence_topk/k4/{RUN}"
LLADA_T07 = f"GSAI-ML__LLaDA-8B-Instruct/confidence_threshold/t0.7/{RUN}"
DREAM_K2 = f"Dream-org__Dream-v0-Instruct-7B/random/k2/{RUN}"
DREAM_K4 = f"Dream-org__Dream-v0-Instruct-7B/confidence_topk/k4/{RUN}"
COMPLETE = {
    (DREAM_K2, "waiting_line_insert_random"),
    (LLADA_T07, "waiting_line_replace_random"),
}
"""The two files that hold all 100 docs of their task."""


@pytest.fixture(scope="module")
def report():
    return read_runs([FIXTURES])


def _sample_files():
    return sorted(FIXTURES.rglob("samples_*.jsonl"))


def _plain_count():
    """Per (model, method, param, task, n): the lines, counted with `json` only."""
    groups = defaultdict(
        lambda: {"lines": 0, "score": 0, "strict": 0, "nfe": [], "tps": [], "out": []}
    )
    for path in _sample_files():
        model, method, param, _ = path.relative_to(FIXTURES).parts[:4]
        task = path.stem.removeprefix("samples_parallelbench_")
        with path.open() as handle:
            for text in handle:
                line = json.loads(text)
                g = groups[
                    model, method, param, task, line["doc"]["metadata"]["length"]
                ]
                g["lines"] += 1
                g["score"] += line["score"] == 1.0
                g["strict"] += line["score_strict"] == 1.0
                g["nfe"].append(line["nfe"])
                g["tps"].append(line["tokens_per_step"])
                g["out"].append(line["output_length"])
    return groups


def _mean(values):
    return sum(values) / len(values)


def test_fixtures_hold_the_two_complete_files():
    for run, task in COMPLETE:
        path = FIXTURES / run / f"samples_parallelbench_{task}.jsonl"
        assert len(path.read_text().splitlines()) == 100


def test_every_row_equals_a_plain_count(report):
    expected = _plain_count()
    rows = {(r.model, r.method, r.param, r.task, r.n): r for r in report.settings}
    assert set(rows) == set(expected)
    for key, g in expected.items():
        row = rows[key]
        assert (row.lines, row.docs, row.runs) == (g["lines"], g["lines"], 1), key
        assert row.samples_per_doc == 1.0
        assert row.accuracy.estimate == g["score"] / g["lines"]
        assert row.accuracy_strict.estimate == g["strict"] / g["lines"]
        assert row.disagreements == 0
        assert math.isclose(row.mean_nfe, _mean(g["nfe"]), rel_tol=1e-12)
        assert math.isclose(row.mean_tokens_per_step, _mean(g["tps"]), rel_tol=1e-12)
        assert math.isclose(row.mean_output_length, _mean(g["out"]), rel_tol=1e-12)
    assert report.lines == sum(g["lines"] for g in expected.values())
    assert report.files == len(_sample_files())
    assert not report.errors and not report.disagreements


def test_pooled_rows_add_up_the_n(report):
    expected = _plain_count()
    for row in report.pooled:
        parts = [
            g for k, g in expected.items() if k[:4] == (row.model, row.method,
                                                        row.param, row.task)
        ]  # fmt: skip
        lines = sum(g["lines"] for g in parts)
        assert row.n == "all" and row.lines == lines == row.docs
        assert row.accuracy.estimate == sum(g["score"] for g in parts) / lines
    # Dream random k2 insert_random, all 100 docs: the strict verdict differs once
    row = next(
        r
        for r in report.pooled
        if (r.param, r.task) == ("k2", "waiting_line_insert_random")
    )
    assert (row.accuracy.estimate, row.accuracy_strict.estimate) == (0.52, 0.51)


def test_complete_files_equal_their_results_file(report):
    for run, task in COMPLETE:
        path = FIXTURES / run / f"samples_parallelbench_{task}.jsonl"
        lines = [json.loads(t) for t in path.read_text().splitlines()]
        results = json.loads(
            (FIXTURES / run / "results_parallelbench.json").read_text()
        )
        logged = results["results"][f"parallelbench_{task}"]
        assert results["n-samples"][f"parallelbench_{task}"]["effective"] == 100
        ours = {
            "score": 100 * _mean([x["score"] for x in lines]),
            "score_strict": 100 * _mean([x["score_strict"] for x in lines]),
            "nfe": _mean([x["nfe"] for x in lines]),
            "tokens_per_step": _mean([x["tokens_per_step"] for x in lines]),
        }
        for key, value in ours.items():
            assert math.isclose(value, logged[f"{key},none"], rel_tol=1e-9), key
        row = next(r for r in report.runs if r.file == str(path))
        assert row.results.status == "equal", row.results.message
        compared = {q: (a, b) for q, a, b in row.results.compared}
        for key, value in ours.items():
            assert math.isclose(compared[key][0], value, rel_tol=1e-12)
            assert compared[key][1] == logged[f"{key},none"]


def test_excerpts_say_excerpt_and_compare_nothing(report):
    for row in report.runs:
        run = str(Path(row.file).parent.relative_to(FIXTURES))
        if (run, row.task) in COMPLETE:
            continue
        lines = len(Path(row.file).read_text().splitlines())
        assert row.results.status == "excerpt"
        assert row.results.message == f"excerpt {lines}/100 docs"
        assert row.results.compared == ()


def test_results_file_tasks_without_sample_files_are_noted(report):
    summary = next(s for s in report.summaries if s.folder.endswith(LLADA_K4))
    assert len(summary.reported_tasks) == 17
    assert "waiting_line_copy" in summary.missing
    assert set(summary.missing) | set(summary.tasks) == set(summary.reported_tasks)


def test_clopper_pearson_bounds_are_beta_quantiles(report):
    for row in (*report.settings, *report.pooled, *report.runs):
        for estimate in (row.accuracy, row.accuracy_strict):
            n = row.lines
            k = round(estimate.estimate * n)
            low = 0.0 if k == 0 else beta.ppf(0.025, k, n - k + 1)
            high = 1.0 if k == n else beta.ppf(0.975, k + 1, n - k)
            assert math.isclose(estimate.ci_low, low, rel_tol=1e-12, abs_tol=1e-15)
            assert math.isclose(estimate.ci_high, high, rel_tol=1e-12)


def test_one_param_per_method_needs_the_sweep(report):
    assert len(report.pbx) == 6
    for row in report.pbx:
        assert row.pbx is None and row.check == "needs the sweep"
        assert "PBx needs the sweep" in row.note
    row = next(r for r in report.pbx if r.method == "confidence_threshold")
    results = json.loads(
        (FIXTURES / LLADA_T07 / "results_parallelbench.json").read_text()
    )
    all_tasks = results["results"]["parallelbench_all"]
    (_, speed, score), = row.results_points_all  # fmt: skip
    assert math.isclose(score, all_tasks["score,none"], rel_tol=1e-12)
    assert math.isclose(speed, all_tasks["tokens_per_step,none"], rel_tol=1e-12)


# --- synthetic trees ------------------------------------------------------------------


def _copy_lines(count: int) -> list[dict]:
    """The first `count` lines of a real copy file (all answered correctly)."""
    text = (
        FIXTURES / DREAM_K4 / "samples_parallelbench_waiting_line_copy.jsonl"
    ).read_text()
    return [json.loads(t) for t in text.splitlines()[:count]]


def _line(base: dict, *, correct: bool, nfe: float, gen: dict) -> dict:
    line = json.loads(json.dumps(base))
    line["arguments"]["gen_args_0"]["arg_1"] = {
        "until": ["\n\n"],
        "do_sample": False,
        "max_tokens": 32,
        **gen,
    }
    if not correct:
        line["resps"] = [["[]"]]
        line["filtered_resps"] = ["[]"]
    line["score"] = line["score_strict"] = 1.0 if correct else 0.0
    line["nfe"] = nfe
    line["tokens_per_step"] = 32 / nfe
    return line


def _write_run(
    root: Path,
    method: str,
    param: str,
    gen: dict,
    tasks: dict,
    *,
    results: bool = True,
    model: str = "Org__Model",
    score_shift: float = 0.0,
) -> Path:
    """A run folder; `tasks`: task -> [(correct, nfe), ...]; optional results file."""
    folder = root / model / method / param / RUN
    folder.mkdir(parents=True)
    entries, counts = {}, {}
    for task, spec in tasks.items():
        base = _copy_lines(len(spec))
        lines = [
            _line(b, correct=c, nfe=nfe, gen=gen)
            for b, (c, nfe) in zip(base, spec, strict=True)
        ]
        name = f"parallelbench_{task}"
        (folder / f"samples_{name}.jsonl").write_text(
            "".join(json.dumps(x) + "\n" for x in lines)
        )
        score = 100 * _mean([x["score"] for x in lines]) + score_shift
        entries[name] = {
            "score,none": score,
            "score_strict,none": score,
            "nfe,none": _mean([x["nfe"] for x in lines]),
            "tokens_per_step,none": _mean([x["tokens_per_step"] for x in lines]),
        }
        counts[name] = {"original": len(lines), "effective": len(lines)}
    if results:
        payload = {
            "results": entries,
            "n-samples": counts,
            "config": {
                "model_args": f"model_path={model.replace('__', '/')}",
                "gen_kwargs": gen,
            },
        }
        (folder / "results_parallelbench.json").write_text(json.dumps(payload))
    return folder


def _sweep(root: Path) -> list[tuple[str, float, float]]:
    """confidence_threshold at t0.5, t0.7, t0.9 on copy and sort, complete files.

    The sort files hold copy docs: their label is the list the answer must equal,
    so trilemma grades them as `list_match_score` does under either name.
    (correct, nfe) per line; tokens per step = 32 / nfe; score per task over its
    lines, then averaged over the two tasks:

      t0.9: copy 4/4 at tps 2 (100 %), sort 3/4 at tps 2 (75 %)  -> (2.0, 87.5)
      t0.7: copy 3/4 at tps 4,4,8,8 (75 %, 6), sort 1/2 at tps 4 (50 %, 4)
                                                                 -> (5.0, 62.5)
      t0.5: copy 1/4 at tps 8 (25 %), sort 0/2 at tps 8 (0 %)    -> (8.0, 12.5)
    """
    spec = {
        "t0.9": (
            [(True, 16)] * 4,
            [(True, 16), (True, 16), (True, 16), (False, 16)],
        ),
        "t0.7": (
            [(True, 8), (True, 8), (True, 4), (False, 4)],
            [(True, 8), (False, 8)],
        ),
        "t0.5": ([(True, 4), (False, 4), (False, 4), (False, 4)], [(False, 4)] * 2),
    }
    for param, (copy, sort) in spec.items():
        gen = {"alg_threshold": float(param[1:]), "unmasking": "confidence_threshold"}
        tasks = {"waiting_line_copy": copy, "waiting_line_sort": sort}
        _write_run(root, "confidence_threshold", param, gen, tasks)
    return [("t0.5", 8.0, 12.5), ("t0.7", 5.0, 62.5), ("t0.9", 2.0, 87.5)]


def test_pbx_of_a_sweep_equals_a_hand_computation(tmp_path):
    points = _sweep(tmp_path)
    report = read_runs([tmp_path])
    (row,) = report.pbx
    assert row.params == ("t0.5", "t0.7", "t0.9")
    assert row.convention == "interpolated"
    for got, want in zip(row.points, points, strict=True):
        assert got[0] == want[0]
        assert math.isclose(got[1], want[1]) and math.isclose(got[2], want[2])
    # discrete: the fastest point with score >= x (none reaches 90)
    assert row.pbx["90"] == {"discrete": 0.0, "at": None, "interpolated": 0.0}
    assert row.pbx["80"]["discrete"] == 2.0 and row.pbx["80"]["at"] == "t0.9"
    assert row.pbx["60"]["discrete"] == 5.0 and row.pbx["60"]["at"] == "t0.7"
    # interpolated on (2, 87.5) - (5, 62.5) - (8, 12.5): 2 + 7.5 * 3 / 25, ...
    assert math.isclose(row.pbx["80"]["interpolated"], 2.9)
    assert math.isclose(row.pbx["70"]["interpolated"], 4.1)
    assert math.isclose(row.pbx["60"]["interpolated"], 5.15)
    # every file is complete: the results files give the same points and PBx
    assert all(r.results.status == "equal" for r in report.runs)
    assert row.check == "equal", row.note
    assert row.results_pbx == row.pbx
    assert row.tasks == ("waiting_line_copy", "waiting_line_sort")


def test_topk_sweep_is_read_at_its_points(tmp_path):
    for k, lines in ((1, [(True, 32)] * 2), (2, [(True, 16), (False, 16)])):
        gen = {"k": k, "unmasking": "confidence_topk"}
        _write_run(
            tmp_path, "confidence_topk", f"k{k}", gen, {"waiting_line_copy": lines}
        )
    (row,) = read_runs([tmp_path]).pbx
    assert row.convention == "discrete"
    assert row.points == (("k1", 1.0, 100.0), ("k2", 2.0, 50.0))
    assert row.pbx["80"] == {"discrete": 1.0, "at": "k1", "interpolated": 1.4}


def test_a_results_file_that_differs_is_an_error(tmp_path):
    _sweep(tmp_path)
    results = tmp_path / "Org__Model/confidence_threshold/t0.7" / RUN
    path = results / "results_parallelbench.json"
    payload = json.loads(path.read_text())
    payload["results"]["parallelbench_waiting_line_copy"]["score,none"] = 80.0
    path.write_text(json.dumps(payload))
    report = read_runs([tmp_path])
    bad = [r for r in report.runs if r.results.status == "mismatch"]
    assert len(bad) == 1
    assert "score: lines 75.0 vs results 80.0" in bad[0].results.message
    assert any("score: lines 75.0 vs results 80.0" in e for e in report.errors)
    (row,) = report.pbx
    assert row.check == "not compared" and row.results_pbx != row.pbx


def test_plain_lm_eval_folder_reads_settings_from_the_arguments(tmp_path):
    folder = tmp_path / "out" / "Org__Model"
    folder.mkdir(parents=True)
    gen = {"k": 2, "unmasking": "random"}
    lines = [_line(b, correct=True, nfe=16, gen=gen) for b in _copy_lines(3)]
    date = "2025-01-31T12-00-00.123456"
    (folder / f"samples_parallelbench_waiting_line_copy_{date}.jsonl").write_text(
        "".join(json.dumps(x) + "\n" for x in lines)
    )
    (row,) = read_runs([tmp_path]).runs
    s = row.settings
    assert (s.model, s.method, s.param, s.run, s.source) == (
        "Org__Model", "random", "k2", date, "arguments",
    )  # fmt: skip
    assert row.results.status == "no results file"


def test_param_labels_spell_parallelbench_folders():
    assert param_label({"k": 4}) == "k4"
    assert param_label({"alg_threshold": 0.7}) == "t0.7"
    assert param_label({"alg_factor": 1.0}) == "f1.0"


# --- the command ----------------------------------------------------------------------


def test_cli_json_and_figure(tmp_path, capsys):
    figure = tmp_path / "pb.png"
    code, out, err = run_cli(
        ["parallelbench", str(FIXTURES), "--json", "--no-progress", "--figure",
         str(figure)],
        capsys,
    )  # fmt: skip
    assert code == 0, err
    (text,) = out.strip().splitlines()
    data = json.loads(text)
    assert data["files"] == 17 and data["lines"] == 317 and data["errors"] == []
    assert {r["results"]["status"] for r in data["runs"]} == {"equal", "excerpt"}
    assert sum(r["results"]["status"] == "equal" for r in data["runs"]) == 2
    row = data["settings"][0]
    assert set(row["accuracy"]) == {"estimate", "ci_low", "ci_high"}
    assert row["samples_per_doc"] == 1.0
    assert figure.read_bytes().startswith(b"\x89PNG")


def test_cli_text_has_one_block_per_setting(capsys):
    code, out, err = run_cli(["parallelbench", str(FIXTURES)], capsys)
    assert code == 0 and err == ""
    for header in (
        "GSAI-ML__LLaDA-8B-Instruct  confidence_topk  k4",
        "GSAI-ML__LLaDA-8B-Instruct  confidence_threshold  t0.7",
        "Dream-org__Dream-v0-Instruct-7B  random  k2",
    ):
        assert out.count(header) == 1, header
    assert "excerpt 15/100 docs" in out
    assert out.count("equal the results file") == 2
    assert "PBx needs the sweep" in out


def test_cli_exits_1_on_a_results_mismatch(tmp_path, capsys):
    _write_run(
        tmp_path, "confidence_topk", "k2", {"k": 2, "unmasking": "confidence_topk"},
        {"waiting_line_copy": [(True, 16), (False, 16)]}, score_shift=1.0,
    )  # fmt: skip
    code, out, _ = run_cli(["parallelbench", str(tmp_path)], capsys)
    assert code == 1
    assert "ERROR" in out and "score: lines 50.0 vs results 51.0" in out


def _bad_trees(root: Path):
    """(name, path) of each bad input."""
    empty = root / "empty"
    empty.mkdir(parents=True)
    yield "empty", empty

    gen = {"k": 4, "unmasking": "confidence_topk"}
    folder = _write_run(
        root / "truncated", "confidence_topk", "k4", gen,
        {"waiting_line_copy": [(True, 8)] * 3},
    )  # fmt: skip
    path = folder / "samples_parallelbench_waiting_line_copy.jsonl"
    text = path.read_text()
    path.write_text(text[: len(text) - 40])
    yield "truncated", root / "truncated"

    folder = root / "unknown" / "M" / "confidence_topk" / "k4" / RUN
    folder.mkdir(parents=True)
    shutil.copy(path, folder / "samples_parallelbench_foo.jsonl")
    yield "unknown task", root / "unknown"

    folder = _write_run(
        root / "twice", "confidence_topk", "k4", gen,
        {"waiting_line_copy": [(True, 8)] * 3}, results=False,
    )  # fmt: skip
    path = folder / "samples_parallelbench_waiting_line_copy.jsonl"
    lines = [json.loads(t) for t in path.read_text().splitlines()]
    lines[2]["doc_id"] = lines[0]["doc_id"]  # another doc under doc_id 0
    path.write_text("".join(json.dumps(x) + "\n" for x in lines))
    yield "doc twice", root / "twice"

    other = {"k": 2, "unmasking": "confidence_topk"}
    _write_run(
        root / "folder", "confidence_topk", "k4", other,
        {"waiting_line_copy": [(True, 8)] * 2}, results=False,
    )  # fmt: skip
    yield "args vs folder", root / "folder"

    _write_run(
        root / "method", "random", "k4", gen,
        {"waiting_line_copy": [(True, 8)] * 2}, results=False,
    )  # fmt: skip
    yield "method vs folder", root / "method"

    folder = _write_run(
        root / "results", "confidence_topk", "k4", gen,
        {"waiting_line_copy": [(True, 8)] * 2},
    )  # fmt: skip
    path = folder / "results_parallelbench.json"
    payload = json.loads(path.read_text())
    payload["config"]["gen_kwargs"]["k"] = 8
    path.write_text(json.dumps(payload))
    yield "args vs results file", root / "results"


EXPECTED = {
    "empty": "no sample files",
    "truncated": "samples_parallelbench_waiting_line_copy.jsonl:3: not a JSON line",
    "unknown task": "'parallelbench_foo' (from the file name) maps to no trilemma task",
    "doc twice": "samples_parallelbench_waiting_line_copy.jsonl:3: doc_id 0 is logged "
    "with another doc at",
    "args vs folder": "the generation arguments say k2 but the folder",
    "method vs folder": "unmasking='confidence_topk' but the folder",
    "args vs results file": "the generation arguments say k=4 but",
}


def test_bad_input_is_one_line_and_exit_2_with_nothing_written(tmp_path, capsys):
    for name, path in _bad_trees(tmp_path / "trees"):
        figure = tmp_path / f"{name.replace(' ', '_')}.pdf"
        code, out, err = run_cli(
            ["parallelbench", str(path), "--figure", str(figure)], capsys
        )
        assert code == 2, (name, err)
        assert out == "" and err.startswith("trilemma: error: "), name
        assert err.count("\n") == 1, (name, err)
        assert EXPECTED[name] in err, (name, err)
        assert not figure.exists(), name


def test_unknown_task_lists_the_known_names(tmp_path, capsys):
    trees = dict(_bad_trees(tmp_path))
    code, _, err = run_cli(["parallelbench", str(trees["unknown task"])], capsys)
    assert code == 2 and "known: [" in err and "parallelbench_waiting_line_copy" in err


def test_bad_figure_name_is_refused_before_reading(tmp_path, capsys):
    for figure in (tmp_path / "pb.txt", tmp_path / "missing" / "pb.png"):
        code, out, err = run_cli(
            ["parallelbench", str(FIXTURES), "--figure", str(figure)], capsys
        )
        assert code == 2 and out == "" and err.count("\n") == 1, err
        assert "`--figure`" in err
        assert not figure.exists()


def test_settings_contradicting_the_model_folder(tmp_path):
    folder = _write_run(
        tmp_path, "confidence_topk", "k4", {"k": 4, "unmasking": "confidence_topk"},
        {"waiting_line_copy": [(True, 8)]},
    )  # fmt: skip
    path = folder / "results_parallelbench.json"
    payload = json.loads(path.read_text())
    payload["config"]["model_args"] = "model_path=Other/Model"
    path.write_text(json.dumps(payload))
    with pytest.raises(ValueError, match="names 'Other__Model' but the folder"):
        read_runs([tmp_path])


def test_run_settings_from_the_folders():
    from trilemma.parallelbench import find_log_files

    (log,) = [
        f
        for f in find_log_files([FIXTURES / LLADA_T07])
        if f.task_name.endswith("shuffle")
    ]
    s = run_settings(log, {"alg_threshold": 0.7, "unmasking": "confidence_threshold"})
    assert (s.model, s.method, s.param, s.run, s.source) == (
        "GSAI-ML__LLaDA-8B-Instruct", "confidence_threshold", "t0.7", RUN, "folders",
    )  # fmt: skip


# --- figure and main job --------------------------------------------------------------


def test_figure_draws_panels_and_the_ideal_hook(report):
    data = figure_data(report)
    assert [p["task"] for p in data["panels"]] == [
        "waiting_line_copy",
        "waiting_line_shuffle",
        "waiting_line_insert_random",
        "waiting_line_replace_random",
        "puzzles_latin_square_n4",
        "puzzles_sudoku_n4",
    ]
    ideal = {
        "waiting_line_shuffle": [{"n": 3, "x": [1, 2, 3], "accuracy": [1, 0.5, 0.2]}]
    }
    fig = fig_parallelbench(data, ideal=ideal)
    assert isinstance(fig, Figure)
    drawn = [ax for ax in fig.axes if ax.axison]
    assert len(drawn) == 6
    for ax in drawn:
        assert ax.get_xlabel() == "tokens per step" and ax.get_title(loc="left")
    shuffle = drawn[1]
    assert any(line.get_color() == "#999999" for line in shuffle.get_lines())
    assert shuffle.get_xscale() == "log" and drawn[0].get_xscale() == "log"
    assert fig_parallelbench(data).axes[0].get_xscale() == "linear"
    fig.savefig(__import__("io").BytesIO(), format="png", dpi=30)


def test_ideal_curves_beside_a_threshold_run(tmp_path):
    """Replace Random under threshold (">= gamma", as ParallelBench's code has it).

    The first step's confidence is (n - 1)/n at every position: with gamma at or
    below it everything commits at once (accuracy 0, one step: 32 tokens per step);
    above it decoding is one by one (accuracy 1, n steps: 32/n tokens per step).
    """
    run = tmp_path / LLADA_T07
    run.mkdir(parents=True)
    for name in (
        "samples_parallelbench_waiting_line_replace_random.jsonl",
        "results_parallelbench.json",
    ):
        shutil.copy(FIXTURES / LLADA_T07 / name, run / name)
    report = read_runs([tmp_path])
    ideal = ideal_curves(report)
    assert list(ideal) == ["waiting_line_replace_random"]
    curves = ideal["waiting_line_replace_random"]
    assert [(c["n"], c["method"]) for c in curves] == [
        (n, "confidence_threshold") for n in (3, 4, 5, 6)
    ]
    for c in curves:
        n = c["n"]
        assert c["params"] == [0.5, 0.6, 0.7, 0.8, 0.9, 1.0]
        for gamma, x, accuracy in zip(c["params"], c["x"], c["accuracy"], strict=True):
            one_by_one = gamma > (n - 1) / n
            assert accuracy == pytest.approx(1.0 if one_by_one else 0.0, abs=1e-12)
            assert x == pytest.approx(32 / n if one_by_one else 32.0, rel=1e-12)
    data = figure_data(report, ideal=ideal)
    assert "ideal model" in data["caption"] and data["ideal"] == ideal


def test_main_job_writes_the_committed_files(tmp_path):
    """Run in a process of its own, as `make reproduce` runs it."""
    script = ROOT / "experiments" / "fig_parallelbench.py"
    subprocess.run(
        [sys.executable, str(script), "--outdir", str(tmp_path)],
        check=True,
        capture_output=True,
        cwd=ROOT,
    )
    for name in ("parallelbench.json", "parallelbench.md"):
        assert (tmp_path / name).read_text() == (ROOT / "figures" / name).read_text()
    for name in ("parallelbench.png", "parallelbench.pdf"):
        assert (tmp_path / name).read_bytes() == (ROOT / "figures" / name).read_bytes()


def test_one_answer_per_doc_gives_the_pooled_pattern_law():
    """Per (setting, task, n) of a pattern task, the pooled pattern law of its docs.

    On the complete LLaDA-8B threshold 0.7 Replace Random file, the distinct
    replaced positions among the valid answers are recounted plainly here: the
    answer equals the input with one item replaced by W.
    """
    from trilemma.parallelbench import read_runs

    run = FIXTURES / "GSAI-ML__LLaDA-8B-Instruct/confidence_threshold/t0.7"
    path = (
        run
        / "20260320_133223_all/samples_parallelbench_waiting_line_replace_random.jsonl"
    )
    report = read_runs([path])
    seen: dict = {}
    for line in path.read_text().splitlines():
        r = json.loads(line)
        names, word = r["doc"]["label"]["input"], r["doc"]["label"]["word"]
        text = r["filtered_resps"][0]
        text = text[text.rfind("[") + 1 :].split("]")[0]
        got = [w.strip('" ') for w in text.split(",") if w.strip()]
        where = [
            k for k in range(len(names)) if names[:k] + [word] + names[k + 1 :] == got
        ]
        seen.setdefault(len(names), set()).update(where)
    rows = [r for r in report.settings if r.trilemma_task == "replace_random"]
    assert sorted(r.n for r in rows) == sorted(seen)
    for row in rows:
        pooled = row.pooled_patterns
        assert pooled["valid_patterns_seen"] == len(seen[row.n])
        assert pooled["reference_support"] == row.n
    n3 = next(r for r in rows if r.n == 3).pooled_patterns
    assert n3["conclusion"] == "collapse" and "zero by construction" in n3["message"]
