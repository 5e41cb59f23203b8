r"""Bootstrap resamples of a histogram: counts redrawn, prompts kept.

A resample keeps each prompt's number of samples $N_x$ and redraws its cell counts
from $\mathrm{Multinomial}(N_x, n_{x\cdot}/N_x)$, the law of the counts of $N_x$ rows
drawn with replacement. Prompts are kept, not resampled: a task's prompts are a fixed
set, and the estimators average over them.

The draw is exact and costs $O(N \log G)$ per resample: $N$ uniform row indices, each
prompt's drawn within its own rows ($\lfloor u N_x \rfloor$ past the prompt's first
row), mapped to their cells by a binary search over the cumulative counts, then
counted by a segment sum. Resample $r$ uses the key `fold_in(key, r)`, so the
resamples do not depend on `chunk`, the number drawn per vmapped call.

The basic interval $[2\hat\theta - \theta^*_{1-\alpha/2},\ 2\hat\theta -
\theta^*_{\alpha/2}]$ is the default: percentile intervals of biased statistics (the
plug-in TV) badly under-cover (REFERENCE 6.4).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from .. import _checks
from .._kernels import pad_to, padded_size
from ._counts import Histogram
from ._intervals import Estimate


@jax.jit
def _resample(keys, count, first_row, totals, row_prompt, num_rows):
    """Each resample's counts; rows from `num_rows` on are padding, counted nowhere."""
    cumulative = jnp.cumsum(count)
    rows = row_prompt.shape[0]
    cells = count.shape[0]
    real = jnp.arange(rows) < num_rows

    def one(key):
        u = jax.random.uniform(key, (rows,), dtype=jnp.float64)
        total = totals[row_prompt]
        within = jnp.floor(u * total.astype(jnp.float64)).astype(jnp.int64)
        within = jnp.minimum(within, total - 1)
        row = first_row[row_prompt] + within
        cell = jnp.where(real, jnp.searchsorted(cumulative, row, side="right"), cells)
        return jax.ops.segment_sum(jnp.ones(rows, jnp.int64), cell, num_segments=cells)

    return jax.vmap(one)(keys)


def resample_counts(hist: Histogram, key, num_resamples: int, *, chunk: int = 64):
    """`(R, G)` bootstrap counts of `hist`'s cells; each row keeps every prompt's total.

    Needs float64 (`jax_enable_x64`) for exact row indices past $2^{24}$ samples.

    Args:
      hist: the sample set's `Histogram`.
      key: a PRNG key.
      num_resamples: $R$.
      chunk: resamples drawn per vmapped call (memory: `chunk` x $N$ indices).
    """
    num_resamples = _checks.check_int(num_resamples, "num_resamples", minimum=1)
    chunk = _checks.check_int(chunk, "chunk", minimum=1)
    if not jax.config.jax_enable_x64:
        raise ValueError("resample_counts needs float64: enable jax_enable_x64")
    if (np.diff(hist.prompt) < 0).any():
        raise ValueError(
            "`hist`'s cells must be sorted by prompt, as `histogram` returns them"
        )
    cells, rows = len(hist.count), int(hist.totals.sum())
    starts = np.concatenate([[0], np.cumsum(hist.totals)[:-1]])
    prompts = padded_size(hist.num_prompts)  # padded: one kernel per octave of sizes
    args = (
        jnp.asarray(pad_to(hist.count, padded_size(cells)), jnp.int64),
        jnp.asarray(pad_to(starts, prompts), jnp.int64),
        jnp.asarray(pad_to(hist.totals, prompts), jnp.int64),
        jnp.asarray(
            pad_to(
                np.repeat(np.arange(hist.num_prompts), hist.totals), padded_size(rows)
            )
        ),
        jnp.asarray(rows, jnp.int64),
    )
    keys = jax.vmap(lambda r: jax.random.fold_in(key, r))(jnp.arange(num_resamples))
    out = []
    for start in range(0, num_resamples, chunk):  # resample r uses fold_in(key, r)
        part = keys[start : start + chunk]
        size = part.shape[0]
        if size < chunk:  # one compiled shape
            part = jnp.concatenate([part, jnp.repeat(part[-1:], chunk - size)])
        out.append(np.asarray(_resample(part, *args))[:size, :cells])
    return np.concatenate(out)


def basic_interval(
    estimate: float, replicates, *, level: float = 0.95, truth: float | None = None
) -> Estimate:
    r"""The basic bootstrap interval: the replicates' spread about the truth, reflected.

    $[\hat\theta - (q_{1-\alpha/2} - t),\ \hat\theta - (q_{\alpha/2} - t)]$, with
    $q$ the replicates' quantiles and $t$ the statistic's value in the bootstrap world,
    its functional at the plug-in law. For a plug-in estimator $t = \hat\theta$ (the
    default) and this is $[2\hat\theta - q_{1-\alpha/2}, 2\hat\theta -
    q_{\alpha/2}]$; for a bias-corrected one (Chao–Shen entropy, a Good–Turing
    recall) $t$ is the plug-in value, which the resamples' estimates are spread
    around.

    Args:
      estimate: $\hat\theta$ on the original sample.
      replicates: `(R,)` the estimator on each resample (NaNs dropped).
      level: the nominal coverage $1 - \alpha$.
      truth: $t$; default `estimate`.
    """
    level = _checks.check_real(level, "level", low=0.0, high=1.0, low_open=True)
    values = np.asarray(replicates, float)
    values = values[np.isfinite(values)]
    if not np.isfinite(estimate) or len(values) == 0:
        return Estimate(float(estimate), float("nan"), float("nan"))
    truth = estimate if truth is None else truth
    alpha = 1.0 - level
    low_q, high_q = np.quantile(values, [alpha / 2, 1 - alpha / 2])
    return Estimate(
        float(estimate),
        float(estimate - (high_q - truth)),
        float(estimate - (low_q - truth)),
    )
