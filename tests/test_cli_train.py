"""`trilemma train`: a short run writes loadable models; bad input is one line."""

import json

import pytest
from clitools import run

from trilemma.models import weights


def test_short_run_writes_a_loadable_model_and_resumes(tmp_path, capsys):
    out = tmp_path / "run"
    argv = ["train", "--preset", "tiny", "--task", "copy", "--n", "3"]
    argv += ["--steps", "3", "--only", "denoiser", "-o", str(out), "--json"]
    code, stdout, err = run(argv, capsys)
    assert code == 0, err
    summary = json.loads(stdout)
    assert [m["kind"] for m in summary["models"]] == ["denoiser"]
    assert summary["models"][0]["steps_run"] == 3
    loaded = weights.load_model(out / "denoiser")
    assert loaded.task_set.groups == (("copy", 3),)
    assert loaded.record["provenance"]["train"]["steps"] == 3
    # the same command again resumes from the final checkpoint: no step is rerun
    code, stdout, err = run(argv, capsys)
    assert code == 0, err
    assert json.loads(stdout)["models"][0]["steps_run"] == 0


def test_weighted_preset_records_and_resumes_its_group_weights(tmp_path, capsys):
    """`quick` draws groups by excess loss: the weights are in the provenance."""
    out = tmp_path / "run"
    argv = ["train", "--preset", "quick", "--task", "copy", "--task", "reverse"]
    argv += ["--n", "3", "--steps", "4", "--batch-size", "8"]
    argv += ["--only", "autoregressive", "-o", str(out), "--json"]
    code, stdout, err = run(argv, capsys)
    assert code == 0, err
    record = weights.load_model(out / "autoregressive").record["provenance"]
    weighting = record["group_weighting"]
    assert weighting["rule"]["refresh_every"] == 100
    assert weighting["refreshes"] == 0  # 4 steps: still uniform
    assert weighting["final_weights"] == [0.5, 0.5]
    assert weighting["ideal_loss"] == [0.0, 0.0]
    code, stdout, err = run(argv, capsys)
    assert code == 0, err
    assert json.loads(stdout)["models"][0]["steps_run"] == 0
    again = weights.load_model(out / "autoregressive").record["provenance"]
    assert again["group_weighting"] == weighting


@pytest.mark.parametrize(
    ("extra", "fragment"),
    [
        (["--steps", "0"], "--steps"),
        (["--batch-size", "-3"], "--batch-size"),
        (["--preset", "huge"], "preset"),
        (["--task", "nonsense"], "nonsense"),
        (["--task", "copy", "--n", "99"], "99"),
    ],
)
def test_bad_input_is_one_line(tmp_path, capsys, extra, fragment):
    code, stdout, err = run(["train", "-o", str(tmp_path / "x"), *extra], capsys)
    assert code == 2 and stdout == ""
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("trilemma: error: "), err
    assert fragment in lines[0]
    assert not (tmp_path / "x" / "denoiser").exists()


def test_unwritable_output_is_refused(tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("")
    code, _, err = run(["train", "-o", str(blocker), "--preset", "tiny"], capsys)
    assert code == 2 and "not a folder" in err
