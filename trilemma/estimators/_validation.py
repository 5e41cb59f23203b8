r"""Validation of the estimators against exact truth: bias and coverage by sample size.

A `Simulation` holds a sampler's exact law $q(y|x)$ on the valid outputs and its
invalid mass per prompt, and its `point()` every trilemma quantity exactly. Repeated
sample sets are drawn from that law directly, $n_{x\cdot} \sim \mathrm{Multinomial}
(N, q(\cdot|x))$ per prompt with the invalid mass in one cell (every estimator
except $H(q)$ over all outputs sees invalid outputs only through their total mass),
so a study costs no decoding; that sampling a model gives this law is tested
separately (`tests/test_sample_agreement.py`). Each sample set goes through
`estimate_point` against the exact $p^*$, and the study reports, per quantity and
sample size, the estimates' mean bias and RMSE and how often the intervals cover
the exact value.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import numpy as np

from .. import _checks
from ._counts import Histogram
from ._entropy import (
    DEFAULT_ENTROPY_ESTIMATOR,
    ENTROPY_ESTIMATORS,
    entropy_estimates,
)
from ._point import estimate_point, exact_reference

CHECKED = (
    "precision",
    "recall",
    "valid_entropy",
    "entropy_drop",
    "tv",
    "kl_reference_to_sampler",
    "f8",
    "f1_8",
)
"""The quantities a study checks (the others are exact or need every output)."""


class ExactLaw(NamedTuple):
    """A sampler's exact law per prompt and the values the estimators aim at.

    Attributes:
      prompt: `(C,)` the prompt index of each cell, sorted (each prompt's last cell
        holds its invalid mass).
      outcome: `(C, L)` the cell's output (invalid cells: one row out of the
        alphabet).
      probs: `(C,)` $q(y|x)$.
      reference: the exact $p^*$ (`exact_reference`).
      truth: `{quantity: exact value}` for the `CHECKED` quantities (nats).
    """

    prompt: np.ndarray
    outcome: np.ndarray
    probs: np.ndarray
    reference: object
    truth: dict


class Study(NamedTuple):
    r"""Bias and coverage of the estimators by sample size.

    Attributes:
      sizes: the samples per prompt $N$.
      repeats: sample sets per size.
      level: the intervals' nominal coverage.
      truth: `{quantity: exact value}`.
      mean: `{quantity: (len(sizes),)}` mean estimate.
      rmse: `{quantity: (len(sizes),)}` root mean squared error.
      coverage: `{quantity: (len(sizes),)}` share of intervals holding the truth.
      entropy_bias: `{estimator: (len(sizes),)}` mean bias of each entropy
        estimator on the valid entropy $H_{q_V}(Y|X)$ (prompts weighted by their
        share of valid samples, as in `estimate_point`).
      entropy_sd: `{estimator: (len(sizes),)}` the estimates' standard deviation
        (over the sample sets; divide by $\sqrt{\text{repeats}}$ for the SE of
        the mean bias).
    """

    sizes: tuple[int, ...]
    repeats: int
    level: float
    truth: dict
    mean: dict
    rmse: dict
    coverage: dict
    entropy_bias: dict
    entropy_sd: dict


def exact_law(simulation) -> ExactLaw:
    """The exact per-prompt law of a `Simulation` and its trilemma quantities."""
    from ..metrics import max_f_beta_pair, prd_curve

    task = simulation.task
    target = np.asarray(task.joint.outcomes).astype(np.int64)
    target_probs = np.asarray(task.joint.probs, float)
    num_prompts = int(target[:, 0].max()) + 1
    weight = np.bincount(target[:, 0], target_probs, minlength=num_prompts)
    rows = np.asarray(simulation.outputs.outcomes).astype(np.int64)
    q = np.asarray(simulation.outputs.probs, float)
    invalid = np.clip(weight - np.bincount(rows[:, 0], q, minlength=num_prompts), 0, 1)
    off_alphabet = np.full(rows.shape[1] - 1, target[:, 1:].max() + 1)
    prompt = np.concatenate([rows[:, 0], np.arange(num_prompts)])
    outcome = np.concatenate([rows[:, 1:], np.tile(off_alphabet, (num_prompts, 1))])
    probs = np.concatenate([q, invalid]) / weight[prompt]
    order = np.argsort(prompt, kind="stable")  # a histogram's cells: by prompt
    prompt, outcome, probs = prompt[order], outcome[order], probs[order]
    reference = exact_reference(
        target[:, 0], target[:, 1:], target_probs / weight[target[:, 0]]
    )
    point = simulation.point()
    p_star, q_aligned = simulation.aligned()
    f8, f1_8 = max_f_beta_pair(prd_curve(q_aligned, p_star), 8.0)
    truth = {
        "precision": point.precision,
        "recall": point.recall,
        "valid_entropy": point.valid_entropy,
        "entropy_drop": point.reference_entropy - point.valid_entropy,
        "tv": point.tv,
        "kl_reference_to_sampler": point.kl_reference_to_sampler,
        "f8": float(f8),
        "f1_8": float(f1_8),
    }
    return ExactLaw(prompt, outcome, probs, reference, truth)


def draw_histograms(law: ExactLaw, samples_per_prompt: int, repeats: int, seed: int):
    """`repeats` independent histograms of `samples_per_prompt` samples per prompt."""
    rng = np.random.default_rng(seed)
    prompts = np.unique(law.prompt)
    counts = np.zeros((repeats, len(law.prompt)), np.int64)
    for where in (np.flatnonzero(law.prompt == x) for x in prompts):
        pmf = law.probs[where] / law.probs[where].sum()
        counts[:, where] = rng.multinomial(samples_per_prompt, pmf, size=repeats)
    totals = np.full(len(prompts), samples_per_prompt, np.int64)
    for row in counts:
        used = row > 0
        yield Histogram(law.prompt[used], law.outcome[used], row[used], prompts, totals)


def coverage_study(
    simulation,
    sizes: Sequence[int],
    *,
    repeats: int = 100,
    num_bootstrap: int = 200,
    level: float = 0.95,
    entropy_estimator: str = DEFAULT_ENTROPY_ESTIMATOR,
    seed: int = 0,
    progress=None,
) -> Study:
    """Bias, RMSE and interval coverage of `estimate_point` on `simulation`'s law.

    Args:
      simulation: a `Simulation` (`trilemma.simulate`), the exact law to sample.
      sizes: samples per prompt to study.
      repeats: independent sample sets per size (seeds `seed`, `seed + 1`, ...).
      num_bootstrap: bootstrap resamples per interval.
      level: the intervals' nominal coverage.
      entropy_estimator: the estimator behind `valid_entropy` and `entropy_drop`.
      seed: the first seed.
      progress: called with a line per size, or None.
    """
    sizes = tuple(_checks.check_int(n, "sizes", minimum=1) for n in sizes)
    repeats = _checks.check_int(repeats, "repeats", minimum=2)
    law = exact_law(simulation)
    estimates = {name: np.zeros((len(sizes), repeats)) for name in CHECKED}
    covered = {name: np.zeros((len(sizes), repeats), bool) for name in CHECKED}
    entropy = {m: np.zeros((len(sizes), repeats)) for m in ENTROPY_ESTIMATORS}
    support = np.bincount(law.reference.prompt)  # NSB's alphabet: valid outputs
    for i, n in enumerate(sizes):
        draws = draw_histograms(law, n, repeats, seed + i)
        for r, hist in enumerate(draws):
            point = estimate_point(
                hist,
                law.reference,
                np.full(int(hist.totals.sum()), np.nan),
                entropy_estimator=entropy_estimator,
                num_bootstrap=num_bootstrap,
                seed=r,
                level=level,
            )
            for name in CHECKED:
                e = getattr(point, name)
                estimates[name][i, r] = e.estimate
                covered[name][i, r] = (  # exact values carry rounding
                    e.ci_low - 1e-9 <= law.truth[name] <= e.ci_high + 1e-9
                )
            keep = ~(hist.outcome == law.outcome[-1]).all(axis=1)  # valid cells
            # H_{q_V}(Y|X) weights each prompt by its valid share, as the point does
            share = np.bincount(hist.prompt[keep], hist.count[keep], hist.num_prompts)
            for method in ENTROPY_ESTIMATORS:
                h = entropy_estimates(
                    hist.count[keep],
                    hist.prompt[keep],
                    hist.num_prompts,
                    method=method,
                    alphabet_size=support if method == "nsb" else None,
                )
                h = np.asarray(h)
                used = share > 0
                entropy[method][i, r] = np.average(h[used], weights=share[used])
        if progress:
            progress(f"N = {n}: {repeats} sample sets")
    truth = law.truth
    return Study(
        sizes=sizes,
        repeats=repeats,
        level=level,
        truth=dict(truth),
        mean={k: v.mean(1) for k, v in estimates.items()},
        rmse={k: np.sqrt(((v - truth[k]) ** 2).mean(1)) for k, v in estimates.items()},
        coverage={k: v.mean(1) for k, v in covered.items()},
        entropy_bias={
            k: v.mean(1) - truth["valid_entropy"] for k, v in entropy.items()
        },
        entropy_sd={k: v.std(1, ddof=1) for k, v in entropy.items()},
    )
