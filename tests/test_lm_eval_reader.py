"""Reading lm-evaluation-harness logs as the field writes them (issue 17).

On the committed real files: lm-evaluation-harness 0.4.13 with two filters and
repeats (`fixtures/lm_eval_0_4_13`) and ParallelBench's published logs
(`fixtures/parallelbench`).
"""

import json
from pathlib import Path

import numpy as np
import pytest
from clitools import report
from test_cli_bad_input import one_line_error

from trilemma import samples

FIXTURES = Path(__file__).parent / "fixtures"
LM_EVAL = next((FIXTURES / "lm_eval_0_4_13" / "output").glob("samples_*.jsonl"))
RUNS = FIXTURES / "parallelbench" / "results"
DREAM_K4 = RUNS / "Dream-org__Dream-v0-Instruct-7B/confidence_topk/k4"
DREAM_RANDOM = RUNS / "Dream-org__Dream-v0-Instruct-7B/random/k2/20260320_133223_all"
COPY = DREAM_K4 / "20260320_133223_all/samples_parallelbench_waiting_line_copy.jsonl"
LLADA15 = RUNS / "GSAI-ML__LLaDA-1.5/confidence_factor/f1.0/20260320_133223_all"


def lines(path) -> list[dict]:
    return [json.loads(line) for line in Path(path).read_text().splitlines()]


def write(path, rows) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def test_two_filters_are_read_once_each_doc_with_every_repeat():
    """6 docs x 2 filters x 2 repeats: 12 samples (docs x repeats), not 24."""
    got = samples.read(LM_EVAL, format="lm-eval")
    assert len(got) == 12 and len(np.unique(got.prompt_id)) == 6
    assert np.bincount(got.prompt_id).tolist() == [2] * 6
    (warning,) = got.warnings
    assert "2 filters" in warning and "'take_first' only" in warning
    first = lines(LM_EVAL)[0]
    assert got.output_text[:2] == tuple(first["resps"][0])
    bracket = samples.read(LM_EVAL, format="lm-eval", filter="bracket")
    assert len(bracket) == 12 and "'bracket' only" in bracket.warnings[0]
    with pytest.raises(ValueError, match="no line of filter 'none'"):
        samples.read(LM_EVAL, format="lm-eval", filter="none")


def test_two_filters_count_once_in_the_cli(capsys):
    argv = ["diversity-loss", "--samples", str(LM_EVAL), "--format", "lm-eval"]
    got = report([*argv, "--reference", str(LM_EVAL)], capsys)
    rows = got["samplers"]  # one per n of the docs
    assert sum(r["num_samples"] for r in rows) == 12
    assert sum(r["num_prompts"] for r in rows) == 6
    assert any("filter 'take_first' only" in w for w in got["warnings"])


def test_docs_are_keyed_by_file_and_doc_id(tmp_path, capsys):
    """Two copy logs whose doc_ids name different docs: each graded on its own.

    The second file holds the first file's real n = 3 lines with their doc_ids
    rotated, so its doc_id 0 is another doc than the first file's doc_id 0. Every
    answer copies its own list (ParallelBench scored them all 1).
    """
    copy = [r for r in lines(COPY)]
    three = [r for r in copy if r["doc"]["metadata"]["length"] == 3]
    assert len(three) == 4 and all(r["score"] == 1.0 for r in three)
    ids = [r["doc_id"] for r in three]
    a = write(tmp_path / "samples_a.jsonl", three)
    b = write(
        tmp_path / "samples_b.jsonl",
        [{**r, "doc_id": d} for r, d in zip(three, ids[1:] + ids[:1], strict=True)],
    )
    got = samples.read(a, b, format="lm-eval")
    assert len(np.unique(got.prompt_id)) == 8
    for pid, text in zip(got.prompt_id, got.output_text, strict=True):
        assert json.loads(text) == got.docs[int(pid)]["label"]  # its own doc
    assert got.prompt_names[4] == f"{b} doc_id {ids[1]}"
    argv = ["diversity-loss", "--samples", str(a), str(b), "--format", "lm-eval"]
    (row,) = report([*argv, "--task", "copy", "--n", "3"], capsys)["samplers"][:1]
    assert row["accuracy"]["estimate"] == 1.0


def test_one_doc_id_with_two_docs_names_both_lines(tmp_path, capsys):
    copy = lines(COPY)
    other = {**copy[1], "doc_id": copy[0]["doc_id"]}
    path = write(tmp_path / "samples_bad.jsonl", [copy[0], other])
    argv = ["diversity-loss", "--samples", str(path), "--format", "lm-eval"]
    line = one_line_error([*argv, "--reference", str(path)], capsys)
    assert f"{path}:2" in line and f"{path}:1" in line and "`doc`" in line
    again = write(tmp_path / "samples_twice.jsonl", [copy[0], copy[0]])
    with pytest.raises(ValueError, match=r":2: field `doc_id`.*logged again"):
        samples.read(again, format="lm-eval")


def test_parallelbench_per_line_fields_are_kept_and_feed_speed(tmp_path, capsys):
    path = LLADA15 / "samples_parallelbench_waiting_line_replace_random.jsonl"
    logged = lines(path)
    got = samples.read(path, format="lm-eval")
    for key in ("nfe", "output_length", "tokens_per_step", "score", "score_strict"):
        assert getattr(got, key).tolist() == [r[key] for r in logged], key
    # ParallelBench's tokens_per_step is max_tokens / nfe (the canvas)
    canvas = [r["arguments"]["gen_args_0"]["arg_1"]["max_tokens"] for r in logged]
    assert got.tokens_per_step == pytest.approx(np.divide(canvas, got.nfe))
    mine = samples.read(LM_EVAL, format="lm-eval")  # lm-eval itself logs none
    assert (mine.nfe == -1).all() and np.isnan(mine.score).all()
    assert (mine.output_length == -1).all()
    three = write(
        tmp_path / "samples_three.jsonl",
        [r for r in logged if r["doc"]["metadata"]["length"] == 3],
    )
    argv = ["diversity-loss", "--samples", str(three), "--format", "lm-eval"]
    got = report([*argv, "--task", "replace_random", "--n", "3"], capsys)
    (row,) = got["samplers"]
    nfe = [r["nfe"] for r in lines(three)]
    length = [r["output_length"] for r in lines(three)]
    assert row["mean_nfe"]["estimate"] == pytest.approx(np.mean(nfe))
    assert row["tokens_per_step"]["estimate"] == pytest.approx(
        np.mean(length) / np.mean(nfe)
    )
    assert row["accuracy"]["estimate"] == 1.0  # ParallelBench's scores: all 1


def test_docs_of_another_n_are_an_error(capsys):
    """A waiting-line file mixing n = 3..6 is not graded against one forced n."""
    argv = ["diversity-loss", "--samples", str(COPY), "--format", "lm-eval"]
    line = one_line_error([*argv, "--task", "copy", "--n", "3"], capsys)
    assert "`n`: 3" in line and "docs of n=4" in line and "drop `--n`" in line
    line = one_line_error([*argv, "--task", "sort"], capsys)
    assert "`task`: 'sort'" in line and "'copy'" in line


def test_a_file_of_mixed_n_is_estimated_per_n_without_flags(capsys):
    """ParallelBench's logs read without flags: task from the file name, n per doc.

    Each (task, n) group holds exactly the docs of that n (counted here from the
    lines' `metadata.length` directly), and its accuracy is the mean of the logged
    scores of those docs.
    """
    argv = ["diversity-loss", "--samples", str(COPY), "--format", "lm-eval"]
    rows = report(argv, capsys)["samplers"]
    lines = [json.loads(line) for line in COPY.read_text().splitlines()]
    by_n = {}
    for line in lines:
        by_n.setdefault(line["doc"]["metadata"]["length"], []).append(line["score"])
    assert sorted(r["n"] for r in rows) == sorted(by_n)
    for row in rows:
        scores = by_n[row["n"]]
        assert row["task"] == "copy" and row["num_prompts"] == len(scores)
        assert row["accuracy"]["estimate"] == pytest.approx(np.mean(scores), abs=1e-12)
        assert row["recall"]["estimate"] is None  # one sample per doc
        assert "Dream-org/Dream-v0-Instruct-7B confidence_topk(" in row["sampler"]


def test_string_prompt_ids_are_numbered(tmp_path, capsys):
    rows = [
        {"prompt_id": pid, "output_text": text}
        for pid in ("gsm8k-17", "gsm8k-3")
        for text in ["A B", "B A"] * 20
    ]
    hand = write(tmp_path / "hand.jsonl", rows)
    ref = write(tmp_path / "ref.jsonl", rows[::-1])  # the other prompt first
    numbers = samples.PromptNumbers()
    got = samples.read(hand, prompt_ids=numbers)
    assert got.prompt_names == {0: "gsm8k-17", 1: "gsm8k-3"}
    back = samples.read(ref, prompt_ids=numbers)
    assert back.prompt_id[0] == 1  # "gsm8k-3", numbered by the first read
    argv = ["diversity-loss", "--samples", str(hand)]
    (row,) = report([*argv, "--reference", str(ref)], capsys)["samplers"]
    assert row["num_prompts"] == 2 and row["precision"]["estimate"] == 1.0
    line = one_line_error([*argv, "--task", "copy", "--n", "3"], capsys)
    assert "'gsm8k-17'" in line and "prompt_id" in line
    mixed = write(tmp_path / "mixed.jsonl", [rows[0], {**rows[1], "prompt_id": 4}])
    with pytest.raises(ValueError, match=r"mixed.jsonl:2: field `prompt_id`"):
        samples.read(mixed)


@pytest.mark.parametrize(
    "run",
    [
        "GSAI-ML__LLaDA-8B-Instruct/confidence_threshold/t0.7",
        "Dream-org__Dream-v0-Instruct-7B/random/k2",
    ],
)
def test_latin_square_label_docs_grade_to_the_logged_scores(run, capsys):
    """ParallelBench's Latin-square docs (symbols under `label`) are graded.

    The accuracy is the logged scores' mean, lenient and strict.
    """
    path = next((RUNS / run).glob("*/samples_parallelbench_puzzles_latin_square_n4*"))
    logged = lines(path)
    for strict, key in ((False, "score"), (True, "score_strict")):
        argv = ["diversity-loss", "--samples", str(path), "--format", "lm-eval"]
        argv += ["--task", "latin_square", "--n", "4", "--bootstrap", "20"]
        point = report(argv + (["--strict"] if strict else []), capsys)["samplers"][0]
        want = np.mean([line[key] for line in logged])
        assert point["accuracy"]["estimate"] == pytest.approx(want, abs=1e-12)


@pytest.mark.parametrize(
    ("name", "fragment"),
    [
        ("samples_parallelbench_waiting_line_juggle.jsonl", "Unknown text task"),
        ("samples_parallelbench_text_writing_summarization.jsonl", "does not grade"),
    ],
)
def test_a_parallelbench_file_whose_task_is_not_graded_is_refused(
    name, fragment, tmp_path, capsys
):
    """An unknown ParallelBench task name, or a Text Writing task, is refused.

    One line naming the file (the known names listed), not a silent ungraded group.
    """
    path = tmp_path / name
    path.write_text(COPY.read_text().splitlines()[0] + "\n")
    argv = ["diversity-loss", "--samples", str(path), "--format", "lm-eval"]
    line = one_line_error(argv, capsys)
    assert str(path) in line and fragment in line
    if "juggle" in name:
        assert "parallelbench_waiting_line_shuffle" in line  # the known names


def test_another_harness_task_needs_a_task_or_a_reference(tmp_path, capsys):
    """An lm-eval file of a task trilemma does not know is judged only on request."""
    path = tmp_path / "samples_gsm8k_2025-01-31T12-00-00.jsonl"
    path.write_text(COPY.read_text().splitlines()[0] + "\n")
    argv = ["diversity-loss", "--samples", str(path), "--format", "lm-eval"]
    assert "name no task trilemma knows" in one_line_error(argv, capsys)
    (row,) = report([*argv, "--task", "copy"], capsys)["samplers"]
    assert (row["task"], row["n"]) == ("copy", 3)


def test_one_sample_per_doc_reports_the_pooled_pattern_law(capsys):
    """ParallelBench's one greedy answer per doc: the pooled pattern law instead.

    The pattern shares are recounted here plainly from the lines (W's position in an
    answer that is the input with W inserted; anything else one malformed cell), and
    the report says the per-prompt diversity of greedy decoding is zero.
    """
    path = DREAM_RANDOM / "samples_parallelbench_waiting_line_insert_random.jsonl"
    argv = ["diversity-loss", "--samples", str(path), "--format", "lm-eval"]
    rows = report(argv, capsys)["samplers"]
    for row in rows:
        counts: dict = {}
        docs = [r for r in lines(path) if r["doc"]["metadata"]["length"] == row["n"]]
        for r in docs:
            names = r["doc"]["label"]["input"]
            word = r["doc"]["label"]["word"]
            answer = r["filtered_resps"][0]
            answer = answer[answer.rfind("[") + 1 :].split("]")[0]
            got = [w.strip('" ') for w in answer.split(",") if w.strip()]
            where = [
                j
                for j in range(len(names) + 1)
                if names[:j] + [word] + names[j:] == got
            ]
            key = where[0] if where else None
            counts[key] = counts.get(key, 0) + 1
        pooled = row["pooled_patterns"]
        for top in pooled["top_patterns"]:
            assert top["share"] == pytest.approx(counts[top["pattern"]] / len(docs))
        assert "zero by construction" in pooled["message"]
        assert pooled["reference_support"] == row["n"] + 1
