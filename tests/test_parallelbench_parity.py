"""Verdict parity on ParallelBench's published harness logs (the committed excerpt).

`tests/fixtures/parallelbench/results` holds 317 real lines of LLaDA-8B-Instruct,
Dream-v0-Instruct-7B and LLaDA-1.5 runs with ParallelBench's own verdicts (`score`,
`score_strict`; SOURCE.md). Trilemma's port of the grader must reproduce every one,
from the docs as they are logged (`label` docs, five shapes).
"""

import functools
import importlib.util
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from trilemma.parallelbench import (
    LM_EVAL_TASKS,
    PARALLELBENCH_TASKS,
    UNGRADED_TASKS,
    doc_length,
    find_log_files,
    grade_doc,
    grade_log,
    grade_text,
    log_task_name,
    trilemma_task_name,
)

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures" / "parallelbench" / "results"
SCRIPT = ROOT / "experiments" / "parallelbench_parity.py"
# SOURCE.md: 17 sample files, 317 lines; counted from the fixtures, not hard-coded.
EXCERPT_FILES = sorted(FIXTURES.rglob("samples_parallelbench_*.jsonl"))
EXCERPT_LINES = sum(len(path.read_text().splitlines()) for path in EXCERPT_FILES)
# (model, method, task) of `<model>/<method>/<param>/<run>/samples_parallelbench_<task>`
EXCERPT_GROUPS = {
    (*path.relative_to(FIXTURES).parts[:2], path.stem) for path in EXCERPT_FILES
}

LLADA_K4 = "GSAI-ML__LLaDA-8B-Instruct/confidence_topk/k4/20260320_133223_all"
LLADA_T07 = "GSAI-ML__LLaDA-8B-Instruct/confidence_threshold/t0.7/20260320_133223_all"
DREAM_K4 = "Dream-org__Dream-v0-Instruct-7B/confidence_topk/k4/20260320_133223_all"
LLADA15 = "GSAI-ML__LLaDA-1.5/confidence_factor/f1.0/20260320_133223_all"


def _script():
    spec = importlib.util.spec_from_file_location("parallelbench_parity", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


parity_script = _script()


def _run(argv, capsys):
    code = parity_script.main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def _lines(run: str, task: str) -> list[dict]:
    path = FIXTURES / run / f"samples_parallelbench_{task}.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_parity_on_the_excerpt(capsys):
    """Every logged verdict of the excerpt, lenient and strict, is trilemma's."""
    report = parity_script.parity([FIXTURES])
    assert report["files"] == len(EXCERPT_FILES) and report["skipped_files"] == []
    assert report["lines"] == EXCERPT_LINES
    assert report["score_agree"] == report["score_strict_agree"] == EXCERPT_LINES
    assert report["disagreements"] == []
    models = {(g["model"], g["method"]) for g in report["groups"]}
    assert len(models) == 6 and len(report["groups"]) == len(EXCERPT_GROUPS)
    tasks = {g["trilemma_task"] for g in report["groups"]}
    assert tasks == {
        "copy",
        "shuffle_distinct",
        "insert_random",
        "replace_random",
        "latin_square",
        "sudoku",
    }
    shuffle = next(
        g
        for g in report["groups"]
        if g["model"] == "GSAI-ML__LLaDA-8B-Instruct"
        and g["method"] == "confidence_topk"
        and g["trilemma_task"] == "shuffle_distinct"
    )
    assert shuffle["n"] == {"3": 6, "4": 3, "5": 3, "6": 3}  # n read per doc
    code, out, err = _run([FIXTURES], capsys)
    assert code == 0 and err == ""
    assert f"{EXCERPT_LINES}/{EXCERPT_LINES} (100.0%)" in out
    assert "every verdict agrees" in out


def test_parity_without_task_names():
    """The task inferred from each `label` doc gives the same verdicts."""
    count = 0
    for log in find_log_files([FIXTURES]):
        for verdict in grade_log(log):
            record = _lines_by_number(log.path)[verdict.line]
            for strict in (False, True):
                assert grade_doc(record["doc"], verdict.response, strict=strict) == (
                    verdict.score_strict if strict else verdict.score
                )
            count += 1
    assert count == EXCERPT_LINES


@functools.cache
def _lines_by_number(path) -> dict[int, dict]:
    text = Path(path).read_text().splitlines()
    return {i: json.loads(line) for i, line in enumerate(text, 1)}


# (run, task, line logged right, line logged wrong or None, the label's shape)
SHAPES = [
    (DREAM_K4, "waiting_line_copy", 1, None, list),
    (LLADA_T07, "waiting_line_shuffle", 1, 3, {"example", "input"}),
    (LLADA_K4, "waiting_line_insert_random", 1, 2, {"example", "input", "word"}),
    (LLADA15, "waiting_line_replace_random", 1, None, {"example", "input", "word"}),
    (LLADA_K4, "puzzles_latin_square_n4", 2, 1, {"example", "symbols"}),
    (DREAM_K4, "puzzles_sudoku_n4", 1, 5, str),
]


@pytest.mark.parametrize("run, task, right, wrong, shape", SHAPES)
def test_each_label_shape(run, task, right, wrong, shape):
    """Each of the five `label` shapes is graded: a right and a wrong answer.

    The answers are the logged responses; where the excerpt has no wrong answer for
    a doc (copy, replace_random), the next doc's logged response stands in for one.
    """
    lines = _lines(run, task)
    doc = lines[right - 1]["doc"]
    label = doc["label"]
    assert "answer" not in doc
    if isinstance(shape, set):
        assert isinstance(label, dict) and set(label) == shape
    else:
        assert isinstance(label, shape)
    assert doc_length(doc) == doc["metadata"]["length"]
    name = trilemma_task_name(f"parallelbench_{task}")
    right_text = lines[right - 1]["filtered_resps"][0]
    if wrong is None:
        wrong_doc, wrong_text = doc, lines[right]["filtered_resps"][0]
    else:
        wrong_doc, wrong_text = (
            lines[wrong - 1]["doc"],
            lines[wrong - 1]["filtered_resps"][0],
        )
        assert lines[wrong - 1]["score"] == 0.0
    assert lines[right - 1]["score"] == 1.0
    for strict in (False, True):
        for given in (None, name):
            assert grade_doc(doc, right_text, strict=strict, task=given)
            assert not grade_doc(wrong_doc, wrong_text, strict=strict, task=given)


def test_logged_quirks_are_graded_as_logged():
    """The odd lines of SOURCE.md get ParallelBench's verdicts.

    A Shuffle answer that differs from `label.example` but rearranges the input
    scores 1 (Dream k4 doc 24); an empty response scores 0 (LLaDA t0.7 Latin doc
    64); a valid 4 x 4 Sudoku that ignores the givens scores 0 (LLaDA-1.5 doc 16).
    """
    shuffle = _lines(DREAM_K4, "waiting_line_shuffle")[3]
    assert shuffle["doc_id"] == 24 and shuffle["score"] == 1.0
    example = json.loads(shuffle["doc"]["label"]["example"])
    assert json.loads(shuffle["filtered_resps"][0]) != example
    assert grade_doc(shuffle["doc"], shuffle["filtered_resps"][0])
    latin = _lines(LLADA_T07, "puzzles_latin_square_n4")[8]
    assert latin["doc_id"] == 64 and latin["filtered_resps"] == [""]
    assert not grade_doc(latin["doc"], "", task="latin_square")
    sudoku = _lines(LLADA15, "puzzles_sudoku_n4")[2]
    assert sudoku["doc_id"] == 16 and sudoku["score"] == 0.0
    assert not grade_doc(sudoku["doc"], sudoku["filtered_resps"][0])


def test_logged_verdicts_follow_the_task_rules():
    """No logged verdict of the excerpt is wrong by ParallelBench's own task rule.

    The two places where the grader could part from the task: a Sudoku graded by
    equality with one stored solution (wrong if a puzzle had several), and the
    lenient Latin-square reader (which passes extra lines and long rows). Every
    Sudoku puzzle of the excerpt, read from its prompt, has one solution and the
    answers graded against it (`grade_text`, which solves the puzzle) get the logged
    verdicts; every Latin-square verdict equals the exact n x n grid rule.
    """
    for log in find_log_files([FIXTURES]):
        if log.task not in ("sudoku", "latin_square"):
            continue
        for number, record in _lines_by_number(log.path).items():
            text, logged = record["filtered_resps"][0], record["score"] == 1.0
            if log.task == "sudoku":
                prompt = record["doc"]["messages"][-1]["content"]
                puzzle = prompt.split("Input:\n")[1].split("\nOutput")[0]
                assert grade_text("sudoku", puzzle, text) == logged, (log.path, number)
            else:
                exact = grade_doc(record["doc"], text, exact_grid=True)
                assert exact == logged, (log.path, number)


def test_task_names_of_the_logs():
    """The logs' task names (files and results json) map through the name tables."""
    for log in find_log_files([FIXTURES]):
        assert log.task_name in LM_EVAL_TASKS
    for results in FIXTURES.glob("*/*/*/*/results_parallelbench.json"):
        configs = json.loads(results.read_text())["configs"]
        assert len(configs) == 17
        for name, config in configs.items():
            pb_name = config["metadata"]["parallelbench_task"]
            if name in UNGRADED_TASKS:
                assert pb_name in UNGRADED_TASKS
                with pytest.raises(ValueError, match="Unknown text task"):
                    trilemma_task_name(name)
                continue
            assert trilemma_task_name(name) == trilemma_task_name(pb_name)
            assert pb_name in PARALLELBENCH_TASKS
    assert trilemma_task_name("parallelbench_waiting_line_shuffle") == (
        "shuffle_distinct"
    )
    assert log_task_name("samples_parallelbench_puzzles_sudoku_n4.jsonl") == (
        "parallelbench_puzzles_sudoku_n4"
    )
    stamped = "samples_parallelbench_waiting_line_copy_2026-03-20T13-32-23.123456.jsonl"
    assert log_task_name(stamped) == "parallelbench_waiting_line_copy"


def _copy_run(tmp_path, run=DREAM_K4, task="waiting_line_copy") -> Path:
    """A copy of one fixture file in a results tree of its own; the file's path."""
    source = FIXTURES / run / f"samples_parallelbench_{task}.jsonl"
    target = tmp_path / "results" / run / source.name
    target.parent.mkdir(parents=True)
    shutil.copy(source, target)
    return target


def _flip(path: Path, number: int, key: str = "score") -> dict:
    lines = path.read_text().splitlines()
    record = json.loads(lines[number - 1])
    record[key] = 1.0 - record[key]
    lines[number - 1] = json.dumps(record)
    path.write_text("\n".join(lines) + "\n")
    return record


@pytest.mark.parametrize("key", ["score", "score_strict"])
def test_a_flipped_verdict_is_reported(tmp_path, capsys, key):
    """One changed logged verdict: exit 1, and the line printed with both verdicts."""
    path = _copy_run(tmp_path)
    record = _flip(path, 3, key)
    code, out, err = _run([tmp_path], capsys)
    assert code == 1 and err == ""
    assert f"{path}:3: doc_id 16" in out
    assert json.dumps(record["filtered_resps"][0]) in out
    flipped = "trilemma score 1 strict 1; logged score " + (
        "0 strict 1" if key == "score" else "1 strict 0"
    )
    assert flipped in out
    assert "11/12 (91.7%)" in out
    code, out, _ = _run([tmp_path, "--json"], capsys)
    report = json.loads(out)
    assert code == 1 and report["lines"] == 12
    (line,) = report["disagreements"]
    assert line["line"] == 3 and line["file"] == str(path)
    assert line["response"] == record["filtered_resps"][0]


def test_the_script_exit_status(tmp_path):
    """Run as a script: 0 on the excerpt, 1 on a flipped verdict, 2 on bad input."""
    path = _copy_run(tmp_path, LLADA_K4, "puzzles_latin_square_n4")
    argv = [sys.executable, str(SCRIPT)]
    done = subprocess.run([*argv, str(FIXTURES), "--json"], capture_output=True)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["lines"] == EXCERPT_LINES
    _flip(path, 2)
    done = subprocess.run([*argv, str(tmp_path)], capture_output=True, text=True)
    assert done.returncode == 1 and f"{path}:2:" in done.stdout
    done = subprocess.run(
        [*argv, str(tmp_path / "nothing")], capture_output=True, text=True
    )
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.count("\n") == 1 and "no such file" in done.stderr


def _bad(argv, capsys) -> str:
    code, out, err = _run(argv, capsys)
    assert code == 2 and out == "", (code, out, err)
    assert err.startswith("parallelbench_parity: error: ") and err.count("\n") == 1
    return err


def test_bad_input(tmp_path, capsys):
    """One line on stderr and exit status 2 for each kind of bad input."""
    empty = tmp_path / "empty"
    empty.mkdir()
    assert "no sample files" in _bad([empty], capsys)

    path = _copy_run(tmp_path / "truncated")
    text = path.read_text()
    path.write_text(text[: text.index("\n", 100) + 40])  # line 2 cut short
    assert f"{path}:2: not a JSON line" in _bad([path.parent], capsys)

    path = _copy_run(tmp_path / "score")
    lines = path.read_text().splitlines()
    record = json.loads(lines[0])
    record["score"] = 0.5
    path.write_text(json.dumps(record) + "\n")
    assert f"{path}:1: the logged `score` must be 0 or 1" in _bad([path], capsys)

    path = _copy_run(tmp_path / "doc")
    record = json.loads(path.read_text().splitlines()[0])
    del record["doc"]["label"]
    path.write_text(json.dumps(record) + "\n")
    assert f"{path}:1: `doc` must have a 'label'" in _bad([path], capsys)

    path = _copy_run(tmp_path / "unknown")
    renamed = path.with_name("samples_parallelbench_waiting_line_juggle.jsonl")
    path.rename(renamed)
    err = _bad([renamed.parent], capsys)
    assert "'parallelbench_waiting_line_juggle'" in err and "maps to no" in err
    assert "parallelbench_puzzles_sudoku_n4" in err  # the known names are listed


def test_text_writing_files_are_skipped(tmp_path, capsys):
    """Text Writing files are counted and skipped; alone, they are bad input."""
    path = _copy_run(tmp_path)
    writing = path.with_name("samples_parallelbench_text_writing_summarization.jsonl")
    writing.write_text('{"doc": {}, "filtered_resps": ["A summary."]}\n')
    code, out, _ = _run([tmp_path], capsys)
    assert code == 0 and "skipped 1 Text Writing files" in out
    path.unlink()
    assert "Text Writing files only" in _bad([tmp_path], capsys)
