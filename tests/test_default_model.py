"""The shipped default models: they load, are small, and their exact laws hold up.

The Monte Carlo test decodes the shipped denoiser with `decode_batch` and compares the
output frequencies with the exact law `simulate(..., model=...)` computes for the same
prompt (within 5 standard errors, fixed seed).
"""

import json

import jax
import numpy as np
import pytest
from clitools import run
from test_simulation import assert_frequencies_match

import trilemma as T
from trilemma.models import weights
from trilemma.models.data import DEFAULT_GROUPS

NUM_KEYS = 20_000


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


@pytest.mark.parametrize(
    ("task_name", "n", "params"),
    [
        ("shuffle", 3, {"k": 1, "temperature": 1.0}),
        ("replace_random", 3, {"k": 2, "temperature": 1.0}),
    ],
)
def test_monte_carlo_agrees_with_the_exact_law(shipped, task_name, n, params):
    model_file = shipped["denoiser"]
    task = model_file.task_set.evaluation_pair(task_name, n, num_prompts=1)[0]
    model = model_file.model(task)
    sampler = T.SAMPLERS["random_topk"](**params)
    sim = T.simulate(task, sampler, model=model, support_only=True)
    tokens = model.layout.initial_tokens(np.zeros(NUM_KEYS, int))
    keys = jax.random.split(jax.random.key(8), NUM_KEYS)
    out = T.decode_batch(sampler, model, keys, tokens)
    length = len(model.layout.sizes)
    assert_frequencies_match(np.asarray(out.tokens)[:, -length:], sim)
    assert np.abs(np.asarray(out.nfe) - sim.expected_nfe).max() <= 1e-9


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
