r"""A sampler's trilemma point estimated from samples, with bootstrap intervals.

The sampler's samples $\{(x, y)\}$ are compared with a reference: the task's exact
$p^*(y|x)$ (`exact_reference`), or a reference sampler's samples (`sample_reference`;
e.g. the same model decoding one token per step). Every quantity is computed per
prompt and averaged over prompts with equal weights; information is in nats.

* **precision**: the sampler's mass on the valid set, $\hat q(V)$: $V = \mathrm{supp}
  \,p^*$, or the reference sample's support. Exact Clopper–Pearson interval when every
  prompt has the same number of samples (the average is then one binomial
  proportion), else the bootstrap's.
* **recall**: the reference's mass on the sampler's support, $p^*(\hat S)$ for the
  outputs $\hat S$ seen, plus the Good–Turing estimate $f_1/N$ of the sampler's
  mass on valid outputs it produces but did not show (capped at 1): the
  correction assumes the reference gives those unseen outputs about the mass the
  sampler does, as for a sampler close to $p^*$ on its support.
* **entropy** $H(q(Y|X))$ by the chosen estimator (`entropy_estimates`), the
  reference's (exact, or estimated the same way), and the drop between them.
* **tv**: $\frac12 \sum |\hat q - p^*|$ is biased up (REFERENCE 6.2); the point
  estimate is bootstrap bias-corrected, $2\,\widehat{TV} - \overline{TV^*}$, clipped
  to $[0, 1]$.
* **kl_reference_to_sampler**: $D(p^* \| \tilde q)$ with $\tilde q$ the add-½
  smoothed sampler on the reference's support ($\tilde q(y) = (n_y + \frac12) /
  (N + \frac K2)$ over the $K$ reference outputs), so it is finite; the smoothing
  is a bias of its own, of order $K / N$.
* **f8**, **f1_8**: $\max F_8$ and $\max F_{1/8}$ of the PRD curve of the plug-in
  joint laws (prompts weighted equally).
* **speed**: mean NFE with a normal interval; tokens per step $L / \overline{NFE}$
  through the same interval.

Intervals: `num_bootstrap` count resamples of the sampler (and, for a sample
reference, of the reference, independently; `resample_counts`), basic intervals
(REFERENCE 6.4: percentile intervals of the plug-in TV under-cover).
"""

from __future__ import annotations

import math
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from scipy.special import entr

from .. import _checks
from ..metrics import max_f_beta_pair, prd_curve
from ._bootstrap import basic_interval, resample_counts
from ._counts import Histogram
from ._entropy import ENTROPY_ESTIMATORS, entropy_estimates
from ._intervals import Estimate, clopper_pearson

FIELDS = (
    "precision",
    "recall",
    "entropy",
    "reference_entropy",
    "entropy_drop",
    "tv",
    "kl_reference_to_sampler",
    "f8",
    "f1_8",
    "mean_nfe",
    "tokens_per_step",
)
"""The estimated quantities, in the order they are reported."""

NATS_FIELDS = (
    "entropy",
    "reference_entropy",
    "entropy_drop",
    "kl_reference_to_sampler",
)
"""The information quantities, in nats."""


class EstimatedPoint(NamedTuple):
    """A sampler's trilemma point from samples: each field an `Estimate`; nats.

    Attributes: the `FIELDS`, plus `num_samples`, `num_prompts` and
    `distinct_per_prompt` (the mean number of distinct outputs per prompt).
    """

    precision: Estimate
    recall: Estimate
    entropy: Estimate
    reference_entropy: Estimate
    entropy_drop: Estimate
    tv: Estimate
    kl_reference_to_sampler: Estimate
    f8: Estimate
    f1_8: Estimate
    mean_nfe: Estimate
    tokens_per_step: Estimate
    num_samples: int
    num_prompts: int
    distinct_per_prompt: float


class Reference(NamedTuple):
    """What the sampler is compared with, on the cells of one table.

    Attributes:
      prompt: `(C,)` the prompt index of each reference cell.
      outcome: `(C, L)` its output.
      weight: `(C,)` $p^*(y|x)$ (exact), or the reference sample's counts.
      exact: whether `weight` is an exact law (else counts to resample).
    """

    prompt: np.ndarray
    outcome: np.ndarray
    weight: np.ndarray
    exact: bool


def exact_reference(prompt, outcome, probs) -> Reference:
    """The exact $p^*(y|x)$ on its support rows, by prompt index."""
    return Reference(
        np.asarray(prompt, np.int64),
        np.asarray(outcome, np.int64),
        np.asarray(probs, float),
        True,
    )


def sample_reference(hist: Histogram) -> Reference:
    """A reference sampler's histogram (its prompt indices must be the sampler's)."""
    return Reference(hist.prompt, hist.outcome, hist.count.astype(float), False)


def _align(hist: Histogram, ref: Reference):
    """Both on one table of cells: `(prompt, q_counts, ref_weight)` over the union."""
    rows = np.concatenate(
        [
            np.concatenate([hist.prompt[:, None], hist.outcome], 1),
            np.concatenate([ref.prompt[:, None], ref.outcome], 1),
        ]
    )
    _, cell = np.unique(rows, axis=0, return_inverse=True)
    cell = cell.ravel()
    size = cell.max() + 1
    prompt = np.zeros(size, np.int64)
    prompt[cell] = rows[:, 0]
    mine, theirs = cell[: len(hist.count)], cell[len(hist.count) :]
    q = np.zeros(size)
    np.add.at(q, mine, hist.count)
    r = np.zeros(size)
    np.add.at(r, theirs, ref.weight)
    return prompt, q, r, mine, theirs


def estimate_point(
    hist: Histogram,
    ref: Reference,
    nfe,
    *,
    entropy_estimator: str = "chao_shen",
    num_bootstrap: int = 200,
    seed: int = 0,
    level: float = 0.95,
    alphabet_size=None,
) -> EstimatedPoint:
    """The sampler's `EstimatedPoint` against `ref`.

    Args:
      hist: the sampler's histogram.
      ref: `exact_reference(...)` or `sample_reference(...)`, on the same prompt
        indices.
      nfe: `(N,)` the forward passes of each sample.
      entropy_estimator: one of `ENTROPY_ESTIMATORS`.
      num_bootstrap: bootstrap resamples for the intervals.
      seed: the bootstrap's seed.
      level: the intervals' nominal coverage.
      alphabet_size: outputs per prompt, for NSB.
    """
    if entropy_estimator not in ENTROPY_ESTIMATORS:
        raise _checks.unknown(
            "entropy estimator", entropy_estimator, ENTROPY_ESTIMATORS
        )
    num_bootstrap = _checks.check_int(num_bootstrap, "num_bootstrap", minimum=2)
    num_prompts = hist.num_prompts
    prompt, q, r, mine, theirs = _align(hist, ref)
    key = jax.random.key(seed)
    q_star = np.zeros((num_bootstrap, len(q)))
    q_star[:, mine] = resample_counts(hist, jax.random.fold_in(key, 0), num_bootstrap)
    if ref.exact:
        r_star = np.broadcast_to(r, q_star.shape)
    else:
        ref_hist = Histogram(
            ref.prompt,
            ref.outcome,
            ref.weight.astype(np.int64),
            hist.prompt_ids,
            np.bincount(ref.prompt, ref.weight, minlength=num_prompts).astype(np.int64),
        )
        r_star = np.zeros_like(q_star)
        r_star[:, theirs] = resample_counts(
            ref_hist, jax.random.fold_in(key, 1), num_bootstrap
        )
    stats, truth = _statistics(
        np.vstack([q[None], q_star]),
        np.vstack([r[None], r_star]),
        prompt,
        num_prompts,
        entropy_estimator=entropy_estimator,
        reference_exact=ref.exact,
        alphabet_size=alphabet_size,
    )
    out = {}
    for name, values in stats.items():
        point, replicates = float(values[0]), values[1:]
        out[name] = basic_interval(point, replicates, level=level, truth=truth[name])
    tv = out["tv"]
    corrected = float(np.clip(2 * tv.estimate - np.nanmean(stats["tv"][1:]), 0, 1))
    out["tv"] = Estimate(corrected, max(tv.ci_low, 0.0), min(tv.ci_high, 1.0))
    for name in ("precision", "recall", "f8", "f1_8"):  # masses: in [0, 1]
        e = out[name]
        out[name] = Estimate(e.estimate, max(e.ci_low, 0.0), min(e.ci_high, 1.0))
    for name in ("entropy", "reference_entropy", "kl_reference_to_sampler"):
        e = out[name]  # non-negative quantities
        out[name] = e._replace(ci_low=max(e.ci_low, 0.0))
    totals = hist.totals
    if (totals == totals[0]).all():  # the prompt average is one binomial proportion
        valid = int(q[r > 0].sum())
        out["precision"] = clopper_pearson(valid, int(totals.sum()), level=level)
    out.update(_speed(np.asarray(nfe, float), hist.outcome.shape[1], level))
    return EstimatedPoint(
        **{name: out[name] for name in FIELDS},
        num_samples=int(totals.sum()),
        num_prompts=num_prompts,
        distinct_per_prompt=float(hist.distinct.mean()),
    )


def _speed(nfe: np.ndarray, length: int, level: float) -> dict[str, Estimate]:
    """Mean NFE with a normal interval, and tokens per step through it."""
    from scipy.stats import norm

    mean = float(nfe.mean())
    se = float(nfe.std(ddof=1) / math.sqrt(len(nfe))) if len(nfe) > 1 else 0.0
    z = float(norm.ppf(0.5 + level / 2))
    low, high = max(mean - z * se, 1e-300), mean + z * se
    return {
        "mean_nfe": Estimate(mean, low, high),
        "tokens_per_step": Estimate(length / mean, length / high, length / low),
    }


def _statistics(
    q, r, prompt, num_prompts, *, entropy_estimator, reference_exact, alphabet_size
):
    """Every statistic on `(B, C)` count rows `q` and reference rows `r`.

    Returns `({name: (B,) values}, {name: its value in the bootstrap world})`.
    """
    rows = q.shape[0]
    seg = (np.arange(rows)[:, None] * num_prompts + prompt[None, :]).ravel()
    segments = rows * num_prompts

    def per_prompt(values):
        return np.bincount(seg, values.ravel(), minlength=segments).reshape(rows, -1)

    big_n = per_prompt(q)
    ref_total = per_prompt(r)
    q_hat = q / big_n.reshape(rows, -1)[:, prompt]
    r_hat = r / ref_total[:, prompt]
    in_ref = r > 0
    precision = per_prompt(q_hat * in_ref).mean(1)
    singletons = per_prompt(((q == 1) & in_ref).astype(float))
    recall = np.minimum(per_prompt(r_hat * (q > 0)) + singletons / big_n, 1.0).mean(1)
    tv = 0.5 * per_prompt(np.abs(q_hat - r_hat)).mean(1)

    alphabet = None
    if alphabet_size is not None:  # one alphabet size per (resample, prompt) group
        sizes = np.broadcast_to(np.asarray(alphabet_size), (num_prompts,))
        alphabet = jnp.asarray(np.tile(sizes, rows))

    def entropy(counts):
        used = counts.ravel() > 0
        est = entropy_estimates(
            jnp.asarray(counts.ravel()[used].astype(np.int64)),
            jnp.asarray(seg[used]),
            segments,
            method=entropy_estimator,
            alphabet_size=alphabet,
        )
        return np.asarray(est).reshape(rows, -1).mean(1)

    sampler_entropy = entropy(q)
    if reference_exact:
        reference_entropy = per_prompt(entr(r_hat)).mean(1)
    else:
        reference_entropy = entropy(r)
    support = per_prompt(in_ref.astype(float))
    smoothed = (q + 0.5) / (big_n + 0.5 * support)[:, prompt]
    kl_terms = np.where(
        in_ref, r_hat * (np.log(np.where(in_ref, r_hat, 1.0)) - np.log(smoothed)), 0.0
    )
    kl = per_prompt(kl_terms).mean(1)
    f8, f1_8 = (
        np.asarray(v)
        for v in _f_pairs(
            jnp.asarray(q_hat / num_prompts), jnp.asarray(r_hat / num_prompts)
        )
    )
    values = {
        "precision": precision,
        "recall": recall,
        "entropy": sampler_entropy,
        "reference_entropy": reference_entropy,
        "entropy_drop": reference_entropy - sampler_entropy,
        "tv": tv,
        "kl_reference_to_sampler": kl,
        "f8": f8,
        "f1_8": f1_8,
    }
    # the bootstrap world's true values: each functional at the plug-in laws
    truth = {name: float(v[0]) for name, v in values.items()}
    truth["recall"] = float(per_prompt(r_hat * (q > 0))[0].mean())
    plugin = per_prompt(entr(q_hat))[0].mean()
    reference_plugin = (
        truth["reference_entropy"]
        if reference_exact
        else per_prompt(entr(r_hat))[0].mean()
    )
    truth.update(
        entropy=float(plugin),
        reference_entropy=float(reference_plugin),
        entropy_drop=float(reference_plugin - plugin),
    )
    return values, truth


@jax.jit
def _f_pairs(q_rows, r_rows):
    r"""$(\max F_8, \max F_{1/8})$ of the exact PRD curve of each row pair."""
    return jax.vmap(lambda a, b: max_f_beta_pair(prd_curve(a, b), 8.0))(q_rows, r_rows)
