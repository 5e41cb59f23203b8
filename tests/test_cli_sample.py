"""`trilemma sample`: every sampler to a file, the library's bytes, and bad input."""

import json
import os
import shutil
import textwrap

import pytest
from clitools import report, run
from test_cli_bad_input import one_line_error

import trilemma as T
from trilemma import samples, sampling
from trilemma.cli.samplers import example_flags
from trilemma.models import weights
from trilemma.samplers import EXAMPLES, apd

FLAGS = {name: example_flags(EXAMPLES[name][0]) for name in T.SAMPLERS}
"""Every sampler's flags: its registry example, as `trilemma samplers` prints it."""


def _argv(path, sampler="confidence_topk", *extra):
    return [
        "sample",
        "--task",
        "replace_random",
        "--n",
        "3",
        "--sampler",
        sampler,
        *FLAGS[sampler],
        "--samples-per-prompt",
        "4",
        "--num-prompts",
        "2",
        "-o",
        str(path),
        *extra,
    ]


@pytest.mark.parametrize(
    "name",
    [
        pytest.param(
            name, marks=() if name in ("eb", "mdlm", "apd") else (pytest.mark.slow,)
        )
        for name in FLAGS
    ],
)
def test_every_sampler_samples_to_a_valid_file(name, tmp_path, capsys):
    path = tmp_path / f"{name}.jsonl"
    summary = report(_argv(path, name), capsys)
    got = samples.read(path)
    assert summary["samples"] == len(got) == 8
    assert summary["prompts"] == 2
    assert summary["mean_nfe"] == pytest.approx(got.nfe.mean())
    assert summary["tokens_per_step"] == pytest.approx(3 / got.nfe.mean())
    assert summary["mean_ar_nfe"] == pytest.approx(got.ar_nfe.mean())
    assert got.runs[0]["sampler"] == name and got.runs[0]["model"] == "oracle"
    assert summary["params"] == got.runs[0]["params"]
    assert summary["seconds"] >= summary["compile_seconds"] >= 0


def test_the_file_is_the_librarys(tmp_path, capsys):
    """The CLI writes the bytes `sample_file` writes for the same run."""
    path = tmp_path / "cli.jsonl"
    code, out, _ = run([*_argv(path, "apd"), "--seed", "9", "--shard", "1/2"], capsys)
    assert code == 0 and "wrote 4 samples of 1 prompt(s)" in out
    task = T.make_task("replace_random", 3, num_prompts=2)
    mine = tmp_path / "lib.jsonl"
    sampling.sample_file(
        mine,
        T.oracle_model(task),
        apd(weight=0.5, lookahead=2),
        samples_per_prompt=4,
        seed=9,
        task=task,
        shard=(1, 2),
        ar_model=T.oracle_ar_model(task),
    )
    assert path.read_bytes() == mine.read_bytes()


def test_the_shipped_model_and_its_verifier(tmp_path, capsys):
    path = tmp_path / "apd.jsonl"
    argv = [
        "sample",
        "--task",
        "shuffle",
        "--n",
        "3",
        "--model",
        "default",
        "--sampler",
        "apd",
        "--weight",
        "0.5",
        "--lookahead",
        "3",
        "--samples-per-prompt",
        "3",
        "--num-prompts",
        "2",
        "--held-out",
        "-o",
        str(path),
    ]
    summary = report(argv, capsys)
    got = samples.read(path)
    assert summary["samples"] == len(got) == 6
    assert summary["model"] == "default"
    assert (got.ar_nfe <= got.nfe).all()
    assert got.runs[0]["model"] == "default"


HOST_MODULE = """
import numpy as np
import trilemma as T
from trilemma.models import HostModel

def good(task):
    return T.oracle_model(task)

def wrong_shape(task):
    layout = T.task_layout(task)
    return HostModel(lambda tokens: np.zeros(tokens.shape), layout, name="flat")

def not_a_model(task):
    return 3
"""


@pytest.fixture
def host_module(tmp_path, monkeypatch):
    (tmp_path / "my_models.py").write_text(textwrap.dedent(HOST_MODULE))
    monkeypatch.syspath_prepend(str(tmp_path))
    return "my_models"


def test_a_user_model_from_module_and_factory(host_module, tmp_path, capsys):
    path = tmp_path / "user.jsonl"
    report(_argv(path, "threshold", "--model", f"{host_module}:good"), capsys)
    assert len(samples.read(path)) == 8


def _corrupt(tmp_path):
    folder = tmp_path / "corrupt"
    shutil.copytree(weights.DEFAULT / "denoiser", folder)
    file = folder / "weights.safetensors"
    file.write_bytes(file.read_bytes()[:100])
    return folder


BAD = [
    (["--task", "nope"], "Unknown task"),
    (["--sampler", "nope"], "Unknown sampler"),
    (["--k", "0"], "`--k`"),
    (["--temperature", "-1"], "`--temperature`"),
    (["--shard", "2/2"], "`--shard` must be i/K with 0 <= i < K; got '2/2'"),
    (["--shard", "a/b"], "`--shard`"),
    (["--shard", "1"], "`--shard`"),
    (["--samples-per-prompt", "0"], "`--samples-per-prompt`"),
    (["--batch-size", "0"], "`--batch-size`"),
    (["--seed", "-1"], "`--seed`"),
    (["--model", "nowhere/at/all"], "nowhere/at/all"),
    (["--ar-model", "oracle"], "--sampler apd"),
    (["--gamma", "0.5"], "gamma"),
    (["--model", "my_models:wrong_shape"], "expected (8, 4, 4)"),
    (["--model", "my_models:not_a_model"], "a Model or HostModel"),
    (["--model", "my_models:missing"], "cannot load 'missing'"),
]


@pytest.mark.parametrize(("extra", "fragment"), BAD)
def test_bad_input_is_one_line_and_leaves_no_file(
    extra, fragment, host_module, tmp_path, capsys
):
    path = tmp_path / "out.jsonl"
    argv = _argv(path)
    for flag, value in zip(extra[::2], extra[1::2], strict=True):
        if flag in argv:  # replace the default value
            argv[argv.index(flag) + 1] = value
        else:
            argv += [flag, value]
    line = one_line_error(argv, capsys)
    assert fragment in line
    assert not [p for p in tmp_path.iterdir() if p.suffix in (".jsonl", ".tmp")]


def test_bad_destinations_and_models(tmp_path, capsys):
    missing = tmp_path / "no" / "such" / "dir" / "out.jsonl"
    assert "does not exist" in one_line_error(_argv(missing), capsys)
    assert "is a directory" in one_line_error(_argv(tmp_path), capsys)
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        if not os.access(locked, os.W_OK):  # root writes anywhere
            line = one_line_error(_argv(locked / "out.jsonl"), capsys)
            assert "not writable" in line
    finally:
        locked.chmod(0o700)
    corrupt = _corrupt(tmp_path)
    argv = [*_argv(tmp_path / "x.jsonl"), "--model", str(corrupt)]
    argv[argv.index("replace_random")] = "shuffle"
    assert "weights.safetensors" in one_line_error(argv, capsys)
    assert not (tmp_path / "x.jsonl").exists()


def test_the_summary_is_one_json_object(tmp_path, capsys):
    path = tmp_path / "s.jsonl"
    code, out, _ = run([*_argv(path), "--json"], capsys)
    assert code == 0
    summary = json.loads(out)
    assert summary["path"] == str(path)
    assert {"samples", "mean_nfe", "tokens_per_step", "seconds"} <= set(summary)
