r"""A sampler's trilemma point estimated from samples, with bootstrap intervals.

The sampler's samples $\{(x, y)\}$ are compared with a reference: the task's exact
$p^*(y|x)$ (`exact_reference`), or a reference sampler's samples (`sample_reference`;
e.g. the same model decoding one token per step). Every quantity is computed per
prompt and averaged over prompts with equal weights; information is in nats.

* **accuracy**: the grader's pass rate (ParallelBench's score, given the verdicts
  `passed`), with its exact Clopper–Pearson interval (the samples of all prompts
  pooled; equal to the prompt average when every prompt has as many samples).
* **precision**: the sampler's mass on the valid set, $\hat q(V)$: $V = \mathrm{supp}
  \,p^*$, or the reference sample's support. Exact Clopper–Pearson interval when every
  prompt has the same number of samples (the average is then one binomial
  proportion), else the bootstrap's.
* **recall**: the reference's mass on the sampler's support, $p^*(\hat S)$ for the
  outputs $\hat S$ seen, plus the Good–Turing estimate $f_1/N$ of the sampler's
  mass on valid outputs it produces but did not show (capped at 1): the
  correction assumes the reference gives those unseen outputs about the mass the
  sampler does, as for a sampler close to $p^*$ on its support.
* **entropy** $H(q(Y|X))$ over all outputs, and **valid_entropy**, the entropy of
  the sampler's valid outputs ($q$ restricted to $V$ and renormalised as a joint law,
  $H_{q_V}(Y|X) = \sum_x w_x H(q(\cdot|x, V))$ with $w_x \propto q(V|x)$, as
  `trilemma_point` defines it: the diversity of what it gets right), each prompt's
  entropy by the chosen estimator (`entropy_estimates`); the
  reference's entropy (exact, or estimated the same way); and **entropy_drop** $=
  H(p^*) - H(q|_V)$, the diversity lost. The drop uses the valid entropy because
  invalid outputs add entropy without adding diversity: a sampler that hallucinates
  uniformly would otherwise show a negative drop.
* **tv**: $\frac12 \sum |\hat q - p^*|$ is biased up (REFERENCE 6.2); the point
  estimate is bootstrap bias-corrected, $2\,\widehat{TV} - \overline{TV^*}$, clipped
  to $[0, 1]$.
* **kl_reference_to_sampler**: $D(p^* \| q)$ from $\hat D = D(p^* \| \tilde q)$,
  $\tilde q$ the add-½ smoothed sampler on the reference's support ($\tilde q(y) =
  (n_y + \frac12) / (N + \frac K2)$ over the $K$ reference outputs, so $\hat D$ is
  finite), less its second-order bias. With $n_y \sim \mathrm{Bin}(N, q(y))$,
  $\mu_y = N q(y) + \frac12$ and $\mathbb E[\log(n_y + \frac12)] \approx \log\mu_y
  - N q(y)(1 - q(y)) / 2\mu_y^2$,
  $$\mathbb E[\hat D] - D(p^*\|q) \approx b(q) = \sum_y p^*(y)\Big[\log\frac{(N +
    \frac K2)\,q(y)}{\mu_y} + \frac{N q(y)(1 - q(y))}{2 \mu_y^2}\Big] \approx
    \sum_y \frac{p^*(y)(1 - q(y))}{2 N q(y)},$$
  about $(K - 1)/2N$ nats near $q = p^*$: 0.08 bits at $N = 200$, $K = 24$, twice
  the standard error, so that uncorrected the 95% interval covered 29% of sample
  sets at three prompts (issue 17). The estimate is $\hat D - b(\tilde q)$ (the
  first term of $b$ at $\tilde q$ is $\log((n_y + \frac12)/(N\tilde q(y) +
  \frac12))$; the plug-in $\hat q$ would make it infinite where $n_y = 0$); for a
  sample reference $-H(\hat p^*)$ is biased up as well, and its Miller–Madow term
  $(K - 1)/2M$ is subtracted too. What is left is $b(\tilde q) - b(q)$, which
  $\tilde q$'s noise makes of order $1/N^2$ in expectation, and the expansion's
  error at small counts: about +0.02 bits at $N = 200$, $K = 24$. Every bootstrap
  row is corrected the same way, so the interval, the estimate plus or minus $z$
  standard deviations of the corrected resamples, carries the correction's own
  variance (large where $q$ is small where $p^*$ is not).
* **f8**, **f1_8**: $\max F_8$ and $\max F_{1/8}$ of the PRD curve of the plug-in
  joint laws (prompts weighted equally).
* **speed**: mean NFE with a normal interval; tokens per step $L / \overline{NFE}$
  through the same interval.

Intervals: `num_bootstrap` count resamples of the sampler (and, for a sample
reference, of the reference, independently; `resample_counts`), basic intervals
(REFERENCE 6.4: percentile intervals of the plug-in TV under-cover), pivoted on each
statistic's value in the bootstrap world (its plug-in). Recall, TV, F_8 and F_1/8
are reported bootstrap-bias-corrected, $\hat\theta - (\overline{\theta^*} - t)$, so
that each lies inside its interval; KL's interval is normal, the estimate plus or
minus $z$ bootstrap standard deviations (its resamples lose support, which a basic
interval would read as a bias of the wrong sign).

**At the boundary** ($q$ = the reference), the plug-in TV is biased up by about
$\sum_y \sqrt{q(y)/2\pi N}$ and no bootstrap correction removes it, so a basic
interval misses 0. The point therefore carries a test of $q$ = reference: the
plug-in TV against its law when it holds (samples drawn from $p^*$, or both sample
sets from their pooled law: the two-sample bootstrap test), `equality_p_value`.
When the test does not reject at level $1 -$ `level`, the boundary values join the
intervals (TV and KL reach down to 0; recall, F_8 and F_1/8 up to 1): an interval
is the union of the basic interval and the values a non-rejecting test allows, so
it covers at the boundary at least as often as the test is right.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from .. import _checks, _units
from .._kernels import pad_to, padded_size
from ..metrics import max_f_beta_pair, prd_curve
from ..point import point_functionals
from ._bootstrap import basic_interval, resample_counts
from ._counts import Histogram
from ._entropy import (
    DEFAULT_ENTROPY_ESTIMATOR,
    ENTROPY_ESTIMATORS,
    entropy_estimates,
)
from ._intervals import Estimate, clopper_pearson

FIELDS = (
    "accuracy",
    "precision",
    "recall",
    "entropy",
    "valid_entropy",
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

BOOTSTRAP_CORRECTED = ("recall", "tv", "f8", "f1_8")
r"""The estimates whose bootstrap bias is subtracted, $\hat\theta - (\overline{\theta^*}
- t)$: the statistics whose resamples sit off their bootstrap truth $t$ (a resample
sees fewer outputs), so that each estimate lies inside its basic interval."""

NATS_FIELDS = tuple(name for name in FIELDS if name in _units.NATS_FIELDS)
"""The information quantities, in nats (`trilemma._units.NATS_FIELDS`, in order)."""


class EstimatedPoint(NamedTuple):
    """A sampler's trilemma point from samples: each field an `Estimate`; nats.

    Attributes: the `FIELDS`, plus `num_samples`, `num_prompts`,
    `distinct_per_prompt` (the mean number of distinct outputs per prompt) and
    `equality_p_value`, the p-value of the test that the sampler's law is the
    reference's (module docstring).
    """

    accuracy: Estimate
    precision: Estimate
    recall: Estimate
    entropy: Estimate
    valid_entropy: Estimate
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
    equality_p_value: float


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
    entropy_estimator: str = DEFAULT_ENTROPY_ESTIMATOR,
    num_bootstrap: int = 200,
    seed: int = 0,
    level: float = 0.95,
    alphabet_size=None,
    passed=None,
    output_length: int | None = None,
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
      passed: `(N,)` the grader's verdict on each sample, or None (accuracy NaN).
      output_length: the tokens of each output, for tokens per step (default the
        histogram's outcome width; text answers are one outcome of many tokens).
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
    null = _null_tv(q, r, prompt, num_prompts, ref.exact, seed, num_bootstrap)
    p_value = float((1 + np.sum(null >= stats["tv"][0] - 1e-12)) / (1 + len(null)))
    for name in BOOTSTRAP_CORRECTED:  # the bias the bootstrap sees, removed
        bias = np.nanmean(stats[name][1:]) - truth[name]
        out[name] = out[name]._replace(estimate=out[name].estimate - bias)
    out["kl_reference_to_sampler"] = _normal_interval(  # each row bias-corrected
        out["kl_reference_to_sampler"].estimate,
        stats["kl_reference_to_sampler"][1:],
        level,
    )
    if p_value > 1 - level:  # q = reference is not rejected: its values join
        for name in ("tv", "kl_reference_to_sampler"):
            out[name] = out[name]._replace(ci_low=min(out[name].ci_low, 0.0))
        for name in ("recall", "f8", "f1_8"):
            out[name] = out[name]._replace(ci_high=max(out[name].ci_high, 1.0))
    for name in ("precision", "recall", "tv", "f8", "f1_8"):  # masses: in [0, 1]
        e = out[name]
        out[name] = Estimate(*np.clip([e.estimate, e.ci_low, e.ci_high], 0.0, 1.0))
    for name in (
        "entropy",
        "valid_entropy",
        "reference_entropy",
        "kl_reference_to_sampler",
    ):
        e = out[name]  # non-negative quantities
        out[name] = Estimate(*np.maximum([e.estimate, e.ci_low, e.ci_high], 0.0))
    totals = hist.totals
    if (totals == totals[0]).all():  # the prompt average is one binomial proportion
        valid = int(q[r > 0].sum())
        out["precision"] = clopper_pearson(valid, int(totals.sum()), level=level)
    length = hist.outcome.shape[1] if output_length is None else output_length
    out.update(_speed(np.asarray(nfe, float), length, level))
    if passed is None:
        out["accuracy"] = Estimate(float("nan"), float("nan"), float("nan"))
    else:
        passed = np.asarray(passed)
        _checks.check_shape(passed, "passed", (int(totals.sum()),))
        out["accuracy"] = clopper_pearson(
            int(passed.astype(bool).sum()), len(passed), level=level
        )
    return EstimatedPoint(
        **{name: out[name] for name in FIELDS},
        num_samples=int(totals.sum()),
        num_prompts=num_prompts,
        distinct_per_prompt=float(hist.distinct.mean()),
        equality_p_value=p_value,
    )


def _segments(prompt, num_prompts: int, rows: int) -> np.ndarray:
    """The (row, prompt) group of each entry of a `(rows, C)` table, row-major."""
    return (np.arange(rows)[:, None] * num_prompts + prompt[None, :]).ravel()


def _sum_per_prompt(values, seg, num_prompts: int) -> np.ndarray:
    """`(rows, P)`: each row's sums of `values` `(rows, C)` over each prompt's cells."""
    rows = values.shape[0]
    total = np.bincount(seg, values.ravel(), minlength=rows * num_prompts)
    return total.reshape(rows, -1)


def _plugin_tv(q, r, prompt, num_prompts):
    """The prompt-averaged plug-in TV between count (or mass) rows `(B, C)`."""
    seg = _segments(prompt, num_prompts, q.shape[0])

    def per_prompt(values):
        return _sum_per_prompt(values, seg, num_prompts)

    q_hat = q / per_prompt(q)[:, prompt]
    r_hat = r / per_prompt(r)[:, prompt]
    return 0.5 * per_prompt(np.abs(q_hat - r_hat)).mean(1)


def _null_tv(q, r, prompt, num_prompts, exact: bool, seed: int, draws: int):
    """Plug-in TVs of `draws` sample sets drawn with the sampler's law = the reference.

    Exact reference: each prompt's $N_x$ samples from $p^*$. Sample reference: both
    sets (sizes $N_x$, $M_x$) from their pooled law, the two-sample bootstrap test.
    """
    rng = np.random.default_rng([seed, 7])
    q_null = np.zeros((draws, len(q)))
    r_null = np.broadcast_to(r, q_null.shape).copy() if exact else np.zeros_like(q_null)
    for x in range(num_prompts):
        cells = np.flatnonzero(prompt == x)
        law = r[cells] if exact else q[cells] + r[cells]
        law = law / law.sum()
        q_null[:, cells] = rng.multinomial(int(q[cells].sum()), law, size=draws)
        if not exact:
            r_null[:, cells] = rng.multinomial(int(r[cells].sum()), law, size=draws)
    return _plugin_tv(q_null, r_null, prompt, num_prompts)


def _normal_interval(estimate: float, replicates, level: float) -> Estimate:
    """`estimate` plus or minus z times the replicates' standard deviation."""
    from scipy.stats import norm

    spread = float(np.nanstd(replicates, ddof=1))
    z = float(norm.ppf(0.5 + level / 2))
    return Estimate(estimate, estimate - z * spread, estimate + z * spread)


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
    r"""Every statistic on `(B, C)` count rows `q` and reference rows `r`.

    The plug-in values are `trilemma.point`'s functionals on the joint rows
    $\hat q(y|x)/P$, $\hat p^*(y|x)/P$ (prompts weighted equally).

    Returns `({name: (B,) values}, {name: its value in the bootstrap world})`.
    """
    rows = q.shape[0]
    seg = _segments(prompt, num_prompts, rows)
    segments = rows * num_prompts

    def per_prompt(values):
        return _sum_per_prompt(values, seg, num_prompts)

    big_n = per_prompt(q)
    q_hat = q / big_n[:, prompt]
    r_hat = r / per_prompt(r)[:, prompt]
    q_joint, r_joint = q_hat / num_prompts, r_hat / num_prompts
    plugin = point_functionals(q_joint, r_joint, prompt, num_prompts)
    in_ref = r > 0
    valid_share = per_prompt(q_hat * in_ref)  # q(V|x) per prompt
    singletons = per_prompt(((q == 1) & in_ref).astype(float))
    good_turing = per_prompt(r_hat * (q > 0)) + singletons / big_n
    recall = np.minimum(good_turing, 1.0).mean(1)

    def tiled(sizes):  # one alphabet size per (resample, prompt) group
        sizes = np.broadcast_to(np.asarray(sizes, np.int64), (num_prompts,))
        return jnp.asarray(np.tile(sizes, rows))

    def by_valid_share(values, axis):  # H_{q_V}(Y|X): prompts weighted by q(V|x)
        return _weighted_mean(values, valid_share)

    def entropy(counts, alphabet, average=np.mean):
        used = counts.ravel() > 0
        est = entropy_estimates(
            jnp.asarray(counts.ravel()[used].astype(np.int64)),
            jnp.asarray(seg[used]),
            segments,
            method=entropy_estimator,
            alphabet_size=alphabet,
        )
        return average(np.asarray(est).reshape(rows, -1), axis=1)

    support = per_prompt(in_ref.astype(float))
    sampler_entropy = entropy(
        q, None if alphabet_size is None else tiled(alphabet_size)
    )
    # the valid outputs' alphabet: the reference's support (exact), else K
    valid_alphabet = support[0] if reference_exact else alphabet_size
    valid_entropy = entropy(
        q * in_ref,
        None if valid_alphabet is None else tiled(valid_alphabet),
        average=by_valid_share,
    )
    if reference_exact:
        reference_entropy = plugin["reference_entropy"]
    else:
        reference_entropy = entropy(
            r, None if alphabet_size is None else tiled(alphabet_size)
        )
    kl = _smoothed_kl(q, r, prompt, num_prompts, reference_exact=reference_exact)
    size = padded_size(q.shape[1])  # cells in neither law change no curve
    f8, f1_8 = (
        np.asarray(v)
        for v in _f_pairs(
            jnp.asarray(pad_to(q_joint, size)), jnp.asarray(pad_to(r_joint, size))
        )
    )
    values = {
        "precision": plugin["precision"],
        "recall": recall,
        "entropy": sampler_entropy,
        "valid_entropy": valid_entropy,
        "reference_entropy": reference_entropy,
        "entropy_drop": reference_entropy - valid_entropy,
        "tv": plugin["tv"],
        "kl_reference_to_sampler": kl,
        "f8": f8,
        "f1_8": f1_8,
    }
    # the bootstrap world's true values: each functional at the plug-in laws
    truth = {name: float(v[0]) for name, v in values.items()}
    truth.update(
        {
            name: float(plugin[name][0])
            for name in ("recall", "entropy", "valid_entropy", "reference_entropy")
        }
    )
    truth["entropy_drop"] = truth["reference_entropy"] - truth["valid_entropy"]
    return values, truth


def _smoothed_kl(q, r, prompt, num_prompts, *, reference_exact: bool):
    r"""$\hat D_{bc}$: $D(\hat p^* \| \tilde q)$ less its second-order bias, per row.

    `q` `(B, C)` count rows, `r` reference rows (an exact law, or counts);
    $\tilde q$ is add-½ smoothed on each row's reference support (`r > 0`), so the
    divergence is finite. Prompts weighted equally (module docstring).
    """
    seg = _segments(prompt, num_prompts, q.shape[0])

    def per_prompt(values):
        return _sum_per_prompt(values, seg, num_prompts)

    in_ref = r > 0
    r_hat = r / per_prompt(r)[:, prompt]
    support = per_prompt(in_ref.astype(float))
    big_n = per_prompt(q)[:, prompt]
    smoothed = (q + 0.5) / (big_n + 0.5 * support[:, prompt])
    mean = big_n * smoothed + 0.5  # E[n + 1/2] at q~
    bias = np.log((q + 0.5) / mean) + big_n * smoothed * (1 - smoothed) / (2 * mean**2)
    terms = np.where(
        in_ref,
        r_hat * (np.log(np.where(in_ref, r_hat, 1.0)) - np.log(smoothed) - bias),
        0.0,
    )
    kl = per_prompt(terms)
    if not reference_exact:  # -H(p^*)'s plug-in is biased up by (K - 1) / 2M
        kl = kl - (support - 1) / (2 * per_prompt(r))
    return kl.mean(1)


def _weighted_mean(values, weights):
    """Each row's mean of its finite entries, weighted (NaN when none has weight)."""
    values, weights = np.asarray(values, float), np.asarray(weights, float)
    weights = np.where(np.isfinite(values), weights, 0.0)
    total = (np.where(weights > 0, values, 0.0) * weights).sum(axis=1)
    mass = weights.sum(axis=1)
    return np.where(mass > 0, total / np.where(mass > 0, mass, 1.0), np.nan)


@jax.jit
def _f_pairs(q_rows, r_rows):
    r"""$(\max F_8, \max F_{1/8})$ of the exact PRD curve of each row pair."""
    return jax.vmap(lambda a, b: max_f_beta_pair(prd_curve(a, b), 8.0))(q_rows, r_rows)
