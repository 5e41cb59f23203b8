"""`trilemma diversity-loss`: sample files in three formats, against p* or a sample."""

import json

import pytest
from clitools import report, run
from test_cli_bad_input import one_line_error

import trilemma as T
from trilemma import sampling


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """Oracle sample files of two samplers on shuffle_distinct n = 3 (2 prompts)."""
    folder = tmp_path_factory.mktemp("samples")
    task = T.make_task("shuffle_distinct", 3, num_prompts=2)
    model = T.oracle_model(task)
    out = {}
    for name, sampler in {
        "slow": T.make_sampler("random_topk", k=1, temperature=1.0),
        "fast": T.make_sampler("confidence_topk", k=3, temperature=1.0),
    }.items():
        out[name] = folder / f"{name}.jsonl"
        sampling.sample_file(
            out[name], model, sampler, samples_per_prompt=800, seed=1, task=task
        )
    return task, out


def test_against_the_exact_law(files, capsys):
    """Per sampler: the 95% intervals hold the exact simulate values (in bits)."""
    task, paths = files
    got = report(
        [
            "diversity-loss",
            "--samples",
            str(paths["slow"]),
            str(paths["fast"]),
            "--task",
            "shuffle_distinct",
            "--n",
            "3",
        ],
        capsys,
    )
    by_name = {r["sampler"]: r for r in got["samplers"]}
    assert set(by_name) == {
        "random_topk(k=1, temperature=1.0)",
        "confidence_topk(k=3, temperature=1.0)",
    }
    for name, row in by_name.items():
        sampler = T.make_sampler(name.split("(")[0], **_params(name))
        exact = T.simulate(task, sampler).point()
        assert row["num_samples"] == 1600 and row["num_prompts"] == 2
        for field, value in {
            "precision": exact.precision,
            "tv": exact.tv,
            "reference_entropy_bits": float(T.to_bits(exact.reference_entropy)),
        }.items():
            e = row[field]
            assert e["ci_low"] - 1e-9 <= value <= e["ci_high"] + 1e-9, (name, field)
        assert row["tokens_per_step"]["estimate"] == pytest.approx(
            exact.tokens_per_step
        )
    assert by_name["random_topk(k=1, temperature=1.0)"]["precision"]["estimate"] == 1.0
    exact_tc = float(T.to_bits(T.total_correlation(task.joint, given=task.given)))
    for row in by_name.values():  # the reference's C(Y|X), exactly
        tc = row["reference_total_correlation_bits"]
        assert tc["estimate"] == pytest.approx(exact_tc, abs=1e-12)


def _params(name):
    inside = name.split("(", 1)[1].rstrip(")")
    pairs = (item.split("=") for item in inside.split(", "))
    return {k: float(v) if "." in v else int(v) for k, v in pairs}


def test_against_a_reference_sample_and_sharded_files(files, tmp_path, capsys):
    """The one-by-one sampler against its own file: precision and recall are 1.

    The two halves of the file, given by a glob, merge into one group.
    """
    task, paths = files
    lines = paths["slow"].read_text().splitlines(keepends=True)
    halves = [tmp_path / "a.jsonl", tmp_path / "b.jsonl"]
    halves[0].write_text("".join(lines[:800]))
    halves[1].write_text("".join(lines[800:]))
    got = report(
        [
            "diversity-loss",
            "--samples",
            str(tmp_path / "?.jsonl"),
            "--reference",
            str(paths["slow"]),
        ],
        capsys,
    )
    (row,) = got["samplers"]
    assert row["num_samples"] == 1600
    assert row["precision"]["estimate"] == 1.0 and row["recall"]["estimate"] == 1.0
    assert row["equality_p_value"] == 1.0  # the same samples: nothing to reject
    assert row["tv"]["ci_low"] == 0.0
    exact_tc = float(T.to_bits(T.total_correlation(task.joint, given=task.given)))
    tc = row["reference_total_correlation_bits"]  # estimated from the reference
    assert tc["ci_low"] <= exact_tc <= tc["ci_high"]


def test_hand_written_text_and_lm_eval_logs(tmp_path, capsys):
    """Text outputs are outcomes by string; lm-eval `resps` are samples, repeats too."""
    hand = tmp_path / "hand.jsonl"
    hand.write_text(
        "\n".join(
            json.dumps({"prompt_id": i % 2, "output_text": text, "nfe": 4})
            for i, text in enumerate(["A B", "B A", "A  B", "A B"] * 30)
        )
    )
    log = tmp_path / "samples_task_2026.jsonl"
    log.write_text(
        "\n".join(
            json.dumps(
                {"doc_id": d, "doc": {"q": "x"}, "resps": [["A B", "B A", "A B"]]}
            )
            for d in (0, 1)
        )
        + "\n"
    )
    ref = tmp_path / "ref.jsonl"
    ref.write_text(
        "\n".join(
            json.dumps({"prompt_id": i, "output_text": t})
            for i in (0, 1)
            for t in ["A B", "B A"] * 20
        )
    )
    got = report(
        [
            "diversity-loss",
            "--samples",
            str(hand),
            "--reference",
            str(ref),
            "--normalize",
            "whitespace",
        ],
        capsys,
    )
    (row,) = got["samplers"]
    assert row["precision"]["estimate"] == 1.0  # "A  B" normalised to "A B"
    assert row["tokens_per_step"]["estimate"] == pytest.approx(1 / 4)
    got = report(
        [
            "diversity-loss",
            "--samples",
            str(log),
            "--format",
            "lm-eval",
            "--reference",
            str(log),
        ],
        capsys,
    )
    (row,) = got["samplers"]
    assert row["num_samples"] == 6 and row["num_prompts"] == 2
    assert row["mean_nfe"]["estimate"] is None
    assert got["warnings"]  # 3 samples per prompt for 2 outputs: too small


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        ("{bad json\n", ":1: not valid JSON"),
        ('{"output_tokens": [1]}\n', ":1: missing field prompt_id"),
        ('{"prompt_id": 0, "output_tokens": [1]}\n{"prompt_id": "x"}\n', ":2: "),
        ("\n", "empty"),
        (
            '{"prompt_id": 0, "output_tokens": [1]}\n'
            + json.dumps({"schema": "trilemma.samples/1"})
            + "\n",
            ":2: ",
        ),
    ],
)
def test_bad_files_are_one_line_naming_file_and_line(
    content, fragment, tmp_path, capsys
):
    path = tmp_path / "bad.jsonl"
    path.write_text(content)
    argv = ["diversity-loss", "--samples", str(path), "--reference", str(path)]
    line = one_line_error(argv, capsys)
    assert str(path) in line and fragment in line


def test_bad_arguments(files, tmp_path, capsys):
    _, paths = files
    base = ["diversity-loss", "--samples", str(paths["slow"])]
    assert "no file matches" in one_line_error(
        [*base[:2], str(tmp_path / "*.none"), "--task", "copy", "--n", "3"], capsys
    )
    assert "cannot read" in one_line_error(
        [*base[:2], str(tmp_path / "missing.jsonl"), "--task", "copy", "--n", "3"],
        capsys,
    )
    assert "Unknown entropy estimator" in one_line_error(
        [*base, "--task", "shuffle_distinct", "--n", "3", "--entropy-estimator", "x"],
        capsys,
    )
    hand = tmp_path / "hand.jsonl"  # a hand-written file states no task and no n
    hand.write_text('{"prompt_id": 0, "output_tokens": [0, 1, 2]}\n')
    hand_argv = ["diversity-loss", "--samples", str(hand)]
    assert "give the task's size `--n`" in one_line_error(
        [*hand_argv, "--task", "shuffle_distinct"], capsys
    )
    assert "name no task" in one_line_error(hand_argv, capsys)
    # the full-schema file states its task and n: the flags may be left out
    (row,) = report(base, capsys)["samplers"]
    assert (row["task"], row["n"]) == ("shuffle_distinct", 3)
    assert "not the prompts" in one_line_error(
        [*base, "--task", "shuffle_distinct", "--n", "4"], capsys
    )
    code, _, _ = run([*base, "--task", "shuffle_distinct", "--n", "3"], capsys)
    assert code == 0


def test_text_answers_are_graded_against_the_task(files, tmp_path, capsys):
    """Text answers graded against `--task` give the token files' estimates.

    The confidence top-k samples (valid and invalid) are written as answer texts,
    ParallelBench-style and with the variations its lenient reading accepts (a
    preamble, no quotes), as hand-written lines and as an lm-eval log whose docs
    hold each prompt's names. Counted by their content, the answers are the token
    samples relabelled, so every estimate that does not see invalid outputs
    individually equals the token file's; the strict accuracy drops by the
    share of valid answers written without quotes.
    """
    from trilemma import samples
    from trilemma.parallelbench import answer_items, prompt_items, render_answer

    task, paths = files
    got = samples.read(paths["fast"])
    styles = ["{}", "Sure: {}", "unquoted"]
    hand, docs, strict_misses = [], {}, 0
    for j, (x, row) in enumerate(zip(got.prompt_id, got.output_tokens, strict=True)):
        names = answer_items(task, int(x), row)
        style = styles[j % 3]
        text = (
            "[" + ", ".join(names) + "]"
            if style == "unquoted"
            else style.format(render_answer("shuffle_distinct", names))
        )
        strict_misses += style == "unquoted" and bool(task.grade([int(x)], [row])[0])
        hand.append({"prompt_id": int(x), "output_text": text, "nfe": 1})
        docs.setdefault(int(x), []).append(text)
    text_file = tmp_path / "text.jsonl"
    text_file.write_text("\n".join(json.dumps(r) for r in hand) + "\n")
    log = tmp_path / "samples_waiting_line_shuffle_2026.jsonl"
    log.write_text(
        "\n".join(
            json.dumps(
                {
                    "doc_id": x,
                    "doc": {"answer": {"input": prompt_items(task, x)}},
                    "resps": [texts],
                }
            )
            for x, texts in docs.items()
        )
        + "\n"
    )
    common = ["--task", "shuffle_distinct", "--n", "3"]
    tokens = report(
        ["diversity-loss", "--samples", str(paths["fast"]), *common], capsys
    )
    fields = (
        "accuracy",
        "precision",
        "recall",
        "valid_entropy_bits",
        "reference_entropy_bits",
        "entropy_drop_bits",
        "kl_reference_to_sampler_bits",
    )
    (a,) = tokens["samplers"]
    assert 0 < a["precision"]["estimate"] < 1 and strict_misses > 0
    for extra in ([str(text_file)], [str(log), "--format", "lm-eval"]):
        text = report(["diversity-loss", "--samples", *extra, *common], capsys)
        (b,) = text["samplers"]
        for field in fields:
            assert b[field]["estimate"] == pytest.approx(
                a[field]["estimate"], abs=1e-12
            ), field
        strict = report(
            ["diversity-loss", "--samples", *extra, *common, "--strict"], capsys
        )
        (c,) = strict["samplers"]
        assert c["accuracy"]["estimate"] == pytest.approx(
            a["accuracy"]["estimate"] - strict_misses / a["num_samples"], abs=1e-12
        )


def test_bad_text_and_width_arguments(files, tmp_path, capsys):
    """Text against a task without answer text, a text/token mix, a bad width."""
    _, paths = files
    text = tmp_path / "text.jsonl"
    text.write_text(json.dumps({"prompt_id": 0, "output_text": '["A"]'}) + "\n")
    assert "no answer text" in one_line_error(
        ["diversity-loss", "--samples", str(text), "--task", "cities", "--n", "3"],
        capsys,
    )
    mixed = tmp_path / "mixed.jsonl"
    mixed.write_text(
        json.dumps({"prompt_id": 0, "output_text": "a"})
        + "\n"
        + json.dumps({"prompt_id": 0, "output_tokens": [1]})
        + "\n"
    )
    line = one_line_error(
        ["diversity-loss", "--samples", str(mixed), "--reference", str(mixed)], capsys
    )
    assert f"{mixed}:2" in line and "token output among text" in line
    base = ["diversity-loss", "--samples", str(paths["slow"])]
    assert "`width`" in one_line_error(
        [*base, "--task", "shuffle_distinct", "--n", "3", "--width", "0"], capsys
    )
    got = report(
        [*base, "--task", "shuffle_distinct", "--n", "3", "--width", "0.01"], capsys
    )
    (row,) = got["samplers"]
    need = row["samples_per_prompt_for_width"]
    width = row["tv"]["ci_high"] - row["tv"]["ci_low"]  # scaled as 1/sqrt(N)
    assert need["tv"] == pytest.approx(800 * (width / 0.01) ** 2, rel=1e-6, abs=1)
