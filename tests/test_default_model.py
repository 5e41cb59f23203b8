"""The shipped default models: they load, are small, and simulate from the shell.

Their sample files' agreement with the exact law `simulate(..., model=...)` is in
`test_sample_agreement.py`.
"""

import json

import pytest
from clitools import run

from trilemma.models import weights
from trilemma.models.data import DEFAULT_GROUPS


@pytest.fixture(scope="module")
def shipped():
    return {kind: weights.resolve_model("default", kind) for kind in weights.KINDS}


def test_shipped_models_load_and_are_small(shipped):
    total = sum(
        (weights.DEFAULT / kind / name).stat().st_size
        for kind in weights.KINDS
        for name in (weights.WEIGHTS, weights.CONFIG)
    )
    assert total <= 5 * 2**20
    assert shipped["denoiser"].config.causal is False
    assert shipped["autoregressive"].config.causal is True
    for model_file in shipped.values():
        provenance = model_file.record["provenance"]
        assert provenance["command"].startswith("trilemma train --preset default")
        assert provenance["preset"] == "default"
        assert {"seed", "steps"} <= set(provenance["train"])
        assert model_file.task_set.groups == DEFAULT_GROUPS


def test_simulate_default_model_from_the_shell(capsys):
    argv = ["simulate", "shuffle", "--n", "4", "--model", "default"]
    argv += ["--sampler", "threshold", "--gamma", "0.9", "--num-prompts", "2", "--json"]
    code, stdout, err = run(argv, capsys)
    assert code == 0, err
    report = json.loads(stdout)
    assert report["model"] == "default-denoiser" and report["num_prompts"] == 2
    assert 1.0 <= report["tokens_per_step"] <= 4.0
    code, stdout, err = run([*argv[:3], "7", *argv[4:]], capsys)
    assert code == 2 and "not trained on shuffle n=7" in err


def test_a_tree_of_millions_is_refused_before_any_forward_pass(shipped, capsys):
    """Threshold at temperature 1 on Shuffle n = 4 (54^4 states): refused at once."""
    argv = ["simulate", "shuffle", "--n", "4", "--model", "default", "--sampler"]
    argv += ["threshold", "--gamma", "0.5", "--temperature", "1"]
    code, stdout, err = run(argv, capsys)
    assert code == 2 and stdout == "" and len(err.splitlines()) == 1
    assert "8,503,056 decoding states" in err and "max_states" in err
