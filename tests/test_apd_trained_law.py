"""APD's exact law with a trained dLLM and a trained causal verifier (issue 20).

`simulate(task, apd, model=denoiser, ar_model=verifier)` reads both experts'
marginals from components (`_marginals.ModelMarginals`, the verifier one row to the
left). Checked three ways:

* the model path run on the ideal models (`oracle_model`, `oracle_ar_model`) equals
  the oracle path to 1e-12 (the same law from two sources of marginals);
* on the shipped pair, the law with light rows off the support dropped
  (`support_only`) has the full enumeration's valid law to 1e-12, and its E[NFE]
  within its stated `nfe_tolerance` of the full one;
* Monte Carlo (`decode_batch` with the same two models) matches the exact law's
  frequencies and mean NFE within standard-error bounds.
"""

from __future__ import annotations

import math

import jax
import numpy as np
import pytest
from test_simulation import assert_frequencies_match, valid_law

import trilemma as T
from trilemma.models import weights
from trilemma.simulation import _apd

EXACT = 1e-12


@pytest.fixture(scope="module")
def shipped():
    """The shipped denoiser and verifier on one held-in shuffle n = 3 prompt."""
    denoiser = weights.resolve_model("default", "denoiser")
    verifier = weights.resolve_model("default", "autoregressive")
    task = denoiser.task_set.evaluation_pair("shuffle", 3, num_prompts=1)[0]
    return task, denoiser.model(task), verifier.model(task)


@pytest.mark.parametrize(("name", "n"), [("shuffle", 3), ("replace_random", 3)])
@pytest.mark.parametrize("weight", [0.0, 0.5, 1.0])
def test_model_path_on_the_ideal_models_is_the_oracle_path(name, n, weight):
    """The marginals of `oracle_model`/`oracle_ar_model` give the oracle's law."""
    task = T.make_task(name, n)
    sampler = T.SAMPLERS["apd"](weight=weight, lookahead=2)
    budget = {"max_branches": 10**6, "max_states": 10**6}
    ideal = _apd.simulate_apd(task, sampler, **budget)
    models = _apd.simulate_apd(
        task,
        sampler,
        model=T.oracle_model(task),
        ar_model=T.oracle_ar_model(task),
        **budget,
    )
    assert models.nfe_tolerance == 0.0
    assert abs(models.expected_nfe - ideal.expected_nfe) < EXACT
    assert abs(models.expected_ar_nfe - ideal.expected_ar_nfe) < EXACT
    assert abs(models.invalid_mass - ideal.invalid_mass) < EXACT
    p, q = valid_law(ideal), valid_law(models)
    assert max(abs(p.get(y, 0) - q.get(y, 0)) for y in set(p) | set(q)) < EXACT


def test_dropping_light_invalid_rows_keeps_the_valid_law(shipped):
    """`support_only` keeps the valid law exactly and bounds the error of E[NFE]."""
    task, model, ar = shipped
    sampler = T.SAMPLERS["apd"](weight=0.5, lookahead=3)
    full = T.simulate(task, sampler, model=model, ar_model=ar)
    light = T.simulate(task, sampler, model=model, ar_model=ar, support_only=True)
    assert full.nfe_tolerance == 0.0 and full.output_entropy is not None
    assert light.states_visited < full.states_visited
    p, q = valid_law(full), valid_law(light)
    assert max(abs(p.get(y, 0) - q.get(y, 0)) for y in set(p) | set(q)) < EXACT
    assert abs(full.invalid_mass - light.invalid_mass) < 1e-9
    assert abs(full.expected_nfe - light.expected_nfe) <= light.nfe_tolerance + EXACT
    assert light.nfe_tolerance < 1e-4


@pytest.mark.slow
def test_monte_carlo_matches_the_exact_law_on_the_shipped_pair(shipped):
    """Frequencies and mean NFE of `decode_batch` with both models, within SE."""
    task, model, ar = shipped
    sampler = T.SAMPLERS["apd"](weight=0.5, lookahead=3)
    sim = T.simulate(task, sampler, model=model, ar_model=ar, support_only=True)
    num = 4000
    tokens = np.repeat(model.layout.initial_tokens(0)[None], num, axis=0)
    out = T.decode_batch(sampler, model, jax.random.key(11), tokens, ar_model=ar)
    outputs = model.layout.outputs(np.asarray(out.tokens))
    assert_frequencies_match(outputs, sim)
    nfe = np.asarray(out.nfe, float)
    se = nfe.std(ddof=1) / math.sqrt(num)
    assert abs(nfe.mean() - sim.expected_nfe) <= 5 * se + sim.nfe_tolerance


def test_apd_with_a_trained_dllm_needs_its_verifier(shipped):
    task, model, _ = shipped
    with pytest.raises(ValueError, match="needs its verifier"):
        T.simulate(task, T.SAMPLERS["apd"](), model=model)
