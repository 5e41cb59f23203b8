"""Sample files agree with the exact law: every sampler, oracle and shipped model.

Samples go through the whole path (`sample_file` writes them, `samples.read` reads
them back); their frequencies and mean NFE are compared with `simulate`'s exact law
(`assert_frequencies_match`: 5 standard errors, plus 3 counts for rare cells; the
same for the mean NFE).

The shipped denoiser was not trained on `shuffle_distinct`, so its cases use
`shuffle` n = 4 beside `replace_random` n = 4 and the 3 x 3 Latin square. Its exact
laws are the ones `simulate(..., model=)` can enumerate: every sampler at
temperature 0, and random / left-to-right top-k at temperature 1 through the
support-only enumeration (exact on the valid outputs; the rest is invalid mass).
The full matrix is marked slow; the default suite keeps a few cases (`FAST`).
"""

import math

import numpy as np
import pytest
from sampler_examples import ONE_MODEL, example
from test_simulation import assert_frequencies_match

import trilemma as T
from trilemma import samples, sampling
from trilemma.models import weights

NUM = 3000

ORACLE_CONFIGS = {name: example(name) for name in ONE_MODEL}
"""One configuration per sampler, each with a non-degenerate law (the registry's)."""

SHIPPED_CONFIGS = {
    "random_topk": {"k": 2, "temperature": 1.0},
    "left_to_right": {"k": 1, "temperature": 1.0},
    "confidence_topk": {"k": 2},
    "margin_topk": {"k": 3, "block": 3},
    "entropy_topk": {"num_steps": 3},
    "threshold": {"gamma": 0.9},
    "threshold_strict": {"gamma": 0.5},
    "factor": {"factor": 1.0},
    "eb": {"gamma": 0.3},
    "mdlm": {"num_steps": 3, "temperature": 0.0},
    "dus": {"block": 2},
}
"""Configurations whose law on the shipped model `simulate` enumerates exactly; a
sampler not listed runs its registry example 1 (greedy)."""

FAST = {
    ("oracle", "shuffle_distinct"): ("random_topk", "mdlm"),
    ("oracle", "replace_random"): ("confidence_topk",),
    ("oracle", "latin_square"): ("eb",),
    ("shipped", "shuffle"): ("random_topk",),
    ("shipped", "replace_random"): ("confidence_topk",),
}
"""The cases of the default suite; the others are marked slow."""


def _cases():
    for source in ("oracle", "shipped"):
        names = ("shuffle_distinct" if source == "oracle" else "shuffle",)
        for task in (*names, "replace_random", "latin_square"):
            for sampler in ONE_MODEL:
                fast = sampler in FAST.get((source, task), ())
                marks = () if fast else (pytest.mark.slow,)
                yield pytest.param(source, task, sampler, marks=marks)


@pytest.fixture(scope="module")
def shipped():
    return weights.resolve_model("default", "denoiser")


def _task_and_model(source, name, shipped):
    n = 3 if name == "latin_square" else 4
    if source == "oracle":
        task = T.make_task(name, n)
        return task, T.oracle_model(task), None
    task = shipped.task_set.evaluation_pair(name, n, num_prompts=1)[0]
    return task, shipped.model(task), shipped.model(task)


@pytest.mark.parametrize(("source", "name", "sampler_name"), list(_cases()))
def test_sample_frequencies_and_nfe_match_the_exact_law(
    source, name, sampler_name, shipped, tmp_path
):
    """Frequencies and mean NFE of a sample file match `simulate`'s exact law."""
    if source == "oracle":
        params = ORACLE_CONFIGS[sampler_name]
    else:
        params = SHIPPED_CONFIGS.get(sampler_name) or example(sampler_name, 1)
    sampler = T.make_sampler(sampler_name, **params)
    task, model, exact_model = _task_and_model(source, name, shipped)
    path = tmp_path / "samples.jsonl"
    sampling.sample_file(
        path,
        model,
        sampler,
        samples_per_prompt=NUM,
        seed=1,
        task=task,
        batch_size=NUM,
    )
    got = samples.read(path)
    support_only = exact_model is not None and sampler.temperature > 0
    sim = T.simulate(task, sampler, model=exact_model, support_only=support_only)
    assert_frequencies_match(got.output_tokens, sim)
    # 5 standard errors, plus 3 samples' worth of the NFE range for rare events
    se = np.std(got.nfe, ddof=1) / math.sqrt(NUM)
    rare = 3 * sampler.max_steps(len(task.outputs)) / NUM
    assert abs(got.nfe.mean() - sim.expected_nfe) <= 5 * se + rare
