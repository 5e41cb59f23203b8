"""APD on every command-line path: its exact law, its defaults, one-line refusals.

`trilemma simulate --sampler apd` once ended in a traceback (the size check read a
one-model sampler's `block` off APD's settings). Each command that can reach APD
(`simulate`, `sample`, `samplers`) is run here in-process; the exact law is checked
against the plain reference `bruteforce.apd_law`. The decoding table
(`experiments/decoding_table.py`) takes no sampler from its user (top-k and threshold
only), so no input reaches APD there.
"""

import json
import math
from pathlib import Path

import bruteforce as bf
import numpy as np
import pytest
from clitools import report, run
from test_cli_bad_input import one_line_error

import trilemma as T
from trilemma.samplers import apd, decode_host, make_step

ISSUE = ["shuffle_distinct", "--n", "3", "--sampler", "apd"]
"""The command of the issue, less its `--weight 0.5 --lookahead 3`."""

DEFAULTS = {"weight": 0.7, "lookahead": 100, "temperature": 1.0}
"""APD's paper setting (arXiv 2506.00413, Table 2; `trilemma.samplers.apd`)."""


def _bits(law: dict) -> float:
    return -math.fsum(p * math.log2(p) for p in law.values() if p > 0)


def test_simulate_apd_is_its_exact_law(capsys):
    """The issue's command prints APD's exact law: bruteforce.apd_law's numbers.

    shuffle_distinct n = 3 at R = 0.5, M = 3 keeps to the support (R < 1), so the
    accuracy is the law's mass on outputs that pass the grader, the entropy is the
    law's, and E[NFE], E[AR passes] are the reference's to 1e-12.
    """
    r = report(["simulate", *ISSUE, "--weight", "0.5", "--lookahead", "3"], capsys)
    task = T.make_task("shuffle_distinct", 3)
    law, nfe, ar_nfe = bf.apd_law(task, 0, weight=0.5, lookahead=3)
    p_star, _ = bf.apd_target(task, 0)
    assert set(law) <= set(p_star)
    assert r["sampler"] == "apd"
    assert r["params"] == {"weight": 0.5, "lookahead": 3, "temperature": 1.0}
    assert r["expected_nfe"] == pytest.approx(nfe, abs=1e-12)
    assert r["expected_ar_nfe"] == pytest.approx(ar_nfe, abs=1e-12)
    assert r["tokens_per_step"] == pytest.approx(3 / nfe, abs=1e-12)
    assert r["precision"] == pytest.approx(1.0, abs=1e-12)
    assert r["entropy_bits"] == pytest.approx(_bits(law), abs=1e-12)
    tv = 0.5 * math.fsum(abs(law.get(y, 0.0) - p) for y, p in p_star.items())
    assert r["tv"] == pytest.approx(tv, abs=1e-12)
    outcomes = np.array([[0, *y] for y in law])
    passed = task.grade(outcomes[:, 0], outcomes[:, 1:])
    accuracy = math.fsum(p for p, ok in zip(law.values(), passed, strict=True) if ok)
    assert r["accuracy"] == pytest.approx(accuracy, abs=1e-12)


def test_simulate_apd_model_oracle_is_the_oracle_path(capsys):
    """`--model oracle` names the same ideal dLLM (and p*'s exact verifier)."""
    argv = ["simulate", *ISSUE, "--weight", "0.3", "--lookahead", "2"]
    plain, named = report(argv, capsys), report([*argv, "--model", "oracle"], capsys)
    for r in (plain, named):
        del r["seconds"]
    assert plain == named


def test_simulate_apd_text_reports_the_verifier_passes(capsys):
    code, out, err = run(["simulate", *ISSUE, "--weight", "0.5"], capsys)
    assert code == 0, err
    assert "Traceback" not in err
    assert "E[AR passes] = " in out
    assert "apd(weight=0.5, lookahead=100, temperature=1.0)" in out


def test_simulate_apd_needs_no_flags(capsys):
    """R and M default to the paper's 0.7 and 100."""
    r = report(["simulate", *ISSUE], capsys)
    assert r["params"] == DEFAULTS
    sim = T.simulate(T.make_task("shuffle_distinct", 3), apd(**DEFAULTS))
    assert r["expected_nfe"] == pytest.approx(sim.expected_nfe, abs=1e-12)


def test_sample_apd_needs_no_flags(tmp_path, capsys):
    path = tmp_path / "apd.jsonl"
    argv = ["sample", "--task", "shuffle_distinct", "--n", "3", "--sampler", "apd"]
    r = report([*argv, "--samples-per-prompt", "8", "-o", str(path)], capsys)
    assert r["sampler"] == "apd" and r["params"] == DEFAULTS
    rows = [json.loads(line) for line in path.read_text().splitlines()]
    assert len(rows) == 8
    assert all(row["params"] == DEFAULTS for row in rows)


def test_samplers_lists_apds_defaults(capsys):
    code, out, err = run(["samplers", "--json"], capsys)
    assert code == 0, err
    rows = {row["name"]: row["parameters"] for row in json.loads(out)}
    assert rows["apd"] == DEFAULTS
    code, out, err = run(["samplers"], capsys)
    assert code == 0, err
    assert "parameters: weight=0.7, lookahead=100, temperature=1.0" in out


BAD = {
    "a verifier with the ideal dLLM": (
        ["simulate", *ISSUE, "--ar-model", "default"],
        "trained `--model`",
    ),
    "support only": (["simulate", *ISSUE, "--support-only"], "`--support-only`"),
    "over the state budget": (
        ["simulate", "shuffle", "--n", "9", "--sampler", "apd", "--weight", "1"],
        "decoding states",
    ),
    "weight above 1": (["simulate", *ISSUE, "--weight", "1.5"], "`--weight`"),
    "lookahead 0": (["simulate", *ISSUE, "--lookahead", "0"], "`--lookahead`"),
}


@pytest.mark.parametrize("case", list(BAD))
def test_simulate_apd_refusals_are_one_line(case, capsys):
    argv, fragment = BAD[case]
    assert fragment in one_line_error([*argv, "--json"], capsys)


DENOISER_FOLDER = Path(T.__file__).parent / "models" / "default" / "denoiser"

WRONG_NUMBER_OF_MODELS = {
    "simulate, a verifier for a one-model sampler": (
        ["simulate", "shuffle", "--n", "3", "--sampler", "random_topk", "--k", "1"],
        ["--ar-model", "oracle"],
        "decodes with one model",
    ),
    "sample, a verifier for a one-model sampler": (
        ["sample", "--task", "shuffle", "--n", "3", "--sampler", "random_topk"],
        ["--k", "1", "--ar-model", "oracle", "--samples-per-prompt", "2"],
        "--sampler apd",
    ),
    "simulate, a denoiser as APD's verifier": (
        ["simulate", "shuffle", "--n", "3", "--sampler", "apd"],
        ["--model", "default", "--ar-model", str(DENOISER_FOLDER)],
        "is a denoiser",
    ),
}


@pytest.mark.parametrize("case", list(WRONG_NUMBER_OF_MODELS))
def test_the_wrong_number_of_models_is_one_line(case, tmp_path, capsys):
    """APD reads a dLLM and a verifier, every other sampler one model: status 2."""
    command, extra, fragment = WRONG_NUMBER_OF_MODELS[case]
    out = ["-o", str(tmp_path / "out.jsonl")] if command[0] == "sample" else []
    assert fragment in one_line_error([*command, *extra, *out], capsys)
    assert not list(tmp_path.iterdir())


def test_the_library_counts_the_models():
    """`make_step` and `decode_host` refuse a model tuple of the wrong length."""
    task = T.make_task("shuffle", 3)
    model = T.oracle_model(task)
    one = T.make_sampler("random_topk", k=1)
    tokens = model.layout.initial_tokens(0)[None]
    fn, params = model.logits_fn, model.params
    with pytest.raises(ValueError, match="must hold 2 entries .* AR verifier; got 1"):
        make_step(apd(), (fn,), (params,), mask_id=model.layout.mask_id)
    with pytest.raises(ValueError, match="must hold 1 entry .* one model; got 2"):
        make_step(one, (fn, fn), (params, params), mask_id=model.layout.mask_id)
    with pytest.raises(ValueError, match="`models` must hold 2 entries"):
        decode_host(apd(), (model,), None, tokens)
    with pytest.raises(ValueError, match="`models` must hold 1 entry"):
        decode_host(one, (model, model), None, tokens)
