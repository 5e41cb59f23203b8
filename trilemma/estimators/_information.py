r"""Conditional total correlation $C(Y|X)$ and the $T$-step bound $L_T$ from samples.

Both are signed sums of conditional joint entropies of output-position subsets
(REFERENCE 2.1–2.2, nats). With $H(Y_A \mid X, Y_B) = H(Y_{A \cup B} \mid X) -
H(Y_B \mid X)$,
$$C(Y|X) = \sum_j H(Y_j|X) - H(Y|X),\qquad
  L_T(\{S_t\}) = \sum_{t=1}^T \Big[\sum_{j \in S_t} H(Y_j \mid X, Y_{S_{<t}})
  - H(Y_{S_t} \mid X, Y_{S_{<t}})\Big],$$
so $L_1 = C(Y|X)$, and one position per step gives $L_{|Y|} = 0$ (its terms cancel
exactly). Every quantity is taken **per prompt** and averaged over the prompts with
**equal weight**, $\frac1P \sum_x [\dots]$, whatever their sample counts: the
convention of `estimate_point`. $H(Y_A \mid X = x)$ is estimated from the counts of
the distinct values of the columns $A$ among prompt $x$'s samples, every subset by
the same `entropy_estimates` method:

* `method="plugin"` gives the plug-in estimator. Each plug-in entropy is low by about
  $(K - 1)/(2N)$, $K$ the cells it spans, so a combination $\sum_A c_A \hat H_A$ is
  off by about $-\sum_A c_A (K_A - 1)/(2N)$; for $C(Y|X)$ that is
  $\frac1P \sum_x [(K_{Y|x} - 1) - \sum_j (K_{Y_j|x} - 1)] / (2 N_x)$ (REFERENCE
  6.3). With full support the joint term has the most cells and the plug-in is
  **biased upward**; where the marginals hold more cells than the joint's support
  it is biased down (Replace Random, $n = 4$: $-1/(2N)$).
* any other method of `ENTROPY_ESTIMATORS` but `nsb` (which needs each subset's
  alphabet size) bias-corrects each entropy term.

Mean bias ± standard error in nats of $C(Y|X)$ over 400 seeds, for $V = 4$, $n = 3$
and two prompts with full support and $C(Y|X) = 0.3391$ nats (a mixture of the
uniform law and one with $y_1 = y_2 = y_3$, or $y_3 = y_1 + y_2 \bmod 4$; the test's
law), $N$ samples per prompt, so $K = 64$ cells per prompt; the first-order plug-in
bias is $54/(2N)$ (REFERENCE 6.3 quotes 0.108 at $N = 500$ samples in all, 250 per
prompt). The last row, RR, is Replace Random, $n = 4$ (4 outputs per prompt, each
position 2 values; $C = 0.8630$):

| N | plugin | miller_madow | jackknife | grassberger | chao_shen |
|---|---|---|---|---|---|
| 50 | +0.558(5) | +0.364(6) | +0.159(7) | +0.143(7) | −0.020(8) |
| 100 | +0.318(4) | +0.150(4) | +0.028(4) | +0.041(5) | −0.055(4) |
| 500 | +0.0566(15) | +0.0030(15) | −0.0040(14) | +0.0019(15) | +0.0127(13) |
| 5000 | +0.0057(5) | +0.0003(5) | +0.0003(5) | +0.0005(5) | +0.0057(5) |
| 1001 (RR) | −0.00051(1) | −0.00001(1) | −0.00001(1) | +0.00144(4) | −0.00051(1) |

The default is the **jackknife**: within a few standard errors of 0 once
$N \gtrsim 2K$, at the plug-in's standard deviation. Grassberger's estimator adds
about $1/N$ for each cell with an odd count (its $(-1)^n$ term; a constant column
of odd $N$ gets entropy $1/N$), so even a well-sampled entropy comes out about
$1/(2N)$ high, and a combination by
$\sum_A c_A / (2N)$, $(L - 1)/(2N)$ for $C(Y|X)$; on a small support that parity
noise also doubles the standard deviation (Replace Random: 0.0038 against 0.0015
at $N = 200$). Chao–Shen equals the plug-in once no cell is seen once, so it keeps
the plug-in's whole bias at large $N$; it is the least biased only for
$N \lesssim K$, where every estimator fails (REFERENCE 6.3).

Coverage of the 95% intervals of the jackknife estimate on the law above (1000
seeds; binomial standard error 0.007): 0.942 for $C(Y|X)$ and 0.955 for $L_T$ with
steps `[[0], [1, 2]]` at $N = 500$; at $N = 200$ (400 seeds, standard error 0.011)
0.927 and 0.920, and at $N = 100$ 0.865 and 0.855: the intervals under-cover once
$N \lesssim 3K$.

Intervals come from `num_bootstrap` multinomial resamples of each prompt's joint
(prompt, output) cell counts (`resample_counts`): every subset's counts follow from a
resample's joint counts by one segment sum, since each joint cell falls in one
subset cell (the map is built once). The interval is `basic_interval`'s, around the
statistic's bootstrap-world value, the plug-in value on the original sample.
The resamples are evaluated in jitted, vmapped chunks of at most `_PAIR_BUDGET`
(resample, cell) pairs; shapes are padded to powers of two, so sample sets of
similar size share one compilation.
"""

from __future__ import annotations

import functools
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from .. import _checks
from .._kernels import pad_to, padded_size
from ._bootstrap import basic_interval, resample_counts
from ._counts import histogram
from ._entropy import DEFAULT_ENTROPY_ESTIMATOR, ENTROPY_ESTIMATORS, entropy_estimates
from ._intervals import Estimate

INFORMATION_ESTIMATORS = tuple(m for m in ENTROPY_ESTIMATORS if m != "nsb")
"""The `method` names these estimators accept: every entropy estimator but NSB."""

_PAIR_BUDGET = 2**22
"""(resample, subset cell) pairs per jitted call: it bounds their memory (a few
arrays of this many 8-byte entries)."""


def total_correlation_estimate(
    prompt_id,
    outputs,
    *,
    method: str = DEFAULT_ENTROPY_ESTIMATOR,
    num_bootstrap: int = 200,
    seed: int = 0,
    level: float = 0.95,
) -> Estimate:
    r"""$C(Y|X) = \sum_j H(Y_j|X) - H(Y|X)$ from samples, in nats, with an interval.

    Each prompt's total correlation is estimated from its own samples and the
    prompts are averaged with equal weights (see the module docstring).

    Args:
      prompt_id: `(N,)` integer prompt of each sample (any integers; $N \ge 1$).
      outputs: `(N, L)` integer output tokens, one column per output position.
      method: the entropy estimator of every term, one of `INFORMATION_ESTIMATORS`:
        `"plugin"` for the plug-in estimate (biased up), any other to correct each
        entropy term.
      num_bootstrap: bootstrap resamples for the interval; 0 skips the bootstrap
        and returns NaN ends.
      seed: the bootstrap's seed.
      level: the interval's nominal coverage, in (0, 1).

    Returns:
      `Estimate(estimate, ci_low, ci_high)` in nats. A bias-corrected estimate may
      fall below 0 (the true value cannot); nothing is clipped. Use `to_bits`
      before showing it to a person.

    Raises:
      ValueError: bad shapes, an empty sample, an unknown `method`, or float64
        (`jax_enable_x64`) off.
      TypeError: non-integer `prompt_id` or `outputs`.

    Two fair bits and their XOR share 1 bit of total correlation; the sample below
    holds each of the four outcomes twice, so the plug-in estimate is exact:

    >>> import numpy as np
    >>> from trilemma import to_bits
    >>> y = np.array([[0, 0, 0], [0, 1, 1], [1, 0, 1], [1, 1, 0]] * 2)
    >>> e = total_correlation_estimate(
    ...     np.zeros(8, int), y, method="plugin", num_bootstrap=0
    ... )
    >>> round(float(to_bits(e.estimate)), 12)
    1.0

    References:
      Kang et al., *ParallelBench*, arXiv:2510.04767, Eq. (1); REFERENCE 6.3.
    """
    prompt_id, outputs = _check_samples(prompt_id, outputs)
    steps = (tuple(range(outputs.shape[1])),)
    return _estimate(
        prompt_id,
        outputs,
        steps,
        method=method,
        num_bootstrap=num_bootstrap,
        seed=seed,
        level=level,
    )


def t_step_bound_estimate(
    prompt_id,
    outputs,
    partition,
    *,
    method: str = DEFAULT_ENTROPY_ESTIMATOR,
    num_bootstrap: int = 200,
    seed: int = 0,
    level: float = 0.95,
) -> Estimate:
    r"""ParallelBench's $L_T$ for the schedule `partition`, from samples, in nats.

    $L_T = \sum_t [\sum_{j \in S_t} H(Y_j \mid X, Y_{S_{<t}}) - H(Y_{S_t} \mid X,
    Y_{S_{<t}})]$, each conditional entropy a difference of two subset entropies,
    per prompt, averaged over prompts with equal weights (see the module docstring).
    `partition = [range(L)]` gives `total_correlation_estimate`; one position per
    step gives exactly 0.

    Args:
      prompt_id: `(N,)` integer prompt of each sample (any integers; $N \ge 1$).
      outputs: `(N, L)` integer output tokens, one column per output position.
      partition: the steps $S_1, \dots, S_T$ in decoding order: non-empty, disjoint
        sequences of 0-based output positions that together cover `range(L)`.
      method: the entropy estimator of every term, one of `INFORMATION_ESTIMATORS`.
      num_bootstrap: bootstrap resamples for the interval; 0 skips the bootstrap.
      seed: the bootstrap's seed.
      level: the interval's nominal coverage, in (0, 1).

    Returns:
      `Estimate(estimate, ci_low, ci_high)` in nats (not clipped at 0).

    Raises:
      ValueError: a bad `partition`, bad shapes, an empty sample, an unknown
        `method`, or float64 (`jax_enable_x64`) off.
      TypeError: non-integer `prompt_id`, `outputs` or `partition` entries.

    >>> import numpy as np
    >>> from trilemma import to_bits
    >>> y = np.array([[0, 0, 0], [0, 1, 1], [1, 0, 1], [1, 1, 0]] * 2)
    >>> def bound(steps):
    ...     e = t_step_bound_estimate(
    ...         np.zeros(8, int), y, steps, method="plugin", num_bootstrap=0
    ...     )
    ...     return round(float(to_bits(e.estimate)), 12)
    >>> bound([[0, 1], [2]]), bound([[0], [1, 2]]), bound([[0], [1], [2]])
    (0.0, 1.0, 0.0)

    References:
      Kang et al., *ParallelBench*, arXiv:2510.04767, Theorem 1 (Eq. 2).
    """
    prompt_id, outputs = _check_samples(prompt_id, outputs)
    steps = _checks.check_partition(partition, tuple(range(outputs.shape[1])))
    return _estimate(
        prompt_id,
        outputs,
        steps,
        method=method,
        num_bootstrap=num_bootstrap,
        seed=seed,
        level=level,
    )


# --- validation -----------------------------------------------------------------------


def _check_samples(prompt_id, outputs):
    prompt_id = np.asarray(prompt_id)
    outputs = np.asarray(outputs)
    _checks.check_shape(prompt_id, "prompt_id", ("num_samples",))
    _checks.check_shape(outputs, "outputs", (len(prompt_id), "output_length"))
    _checks.check_integer_dtype(prompt_id, "prompt_id")
    _checks.check_integer_dtype(outputs, "outputs")
    _checks.check_nonempty(prompt_id, "prompt_id")
    if outputs.shape[1] == 0:
        raise ValueError(
            f"`outputs` must have at least one output position (column); got shape "
            f"{outputs.shape}."
        )
    return prompt_id, outputs


def _check_options(method, num_bootstrap, seed, level):
    _checks.check_one_of(method, "method", INFORMATION_ESTIMATORS)
    num_bootstrap = _checks.check_int(num_bootstrap, "num_bootstrap", minimum=0)
    seed = _checks.check_int(seed, "seed", minimum=0)
    level = _checks.check_real(
        level, "level", low=0.0, high=1.0, low_open=True, high_open=True
    )
    if not jax.config.jax_enable_x64:
        raise ValueError(
            "C(Y|X) and L_T estimates need float64 (their terms are differences of "
            "entropies, and `resample_counts` needs it): enable jax_enable_x64."
        )
    return num_bootstrap, seed, level


# --- the estimate ---------------------------------------------------------------------


def _estimate(prompt_id, outputs, steps, *, method, num_bootstrap, seed, level):
    num_bootstrap, seed, level = _check_options(method, num_bootstrap, seed, level)
    coefficients = _bound_coefficients(steps)
    if not coefficients:  # every term cancels (one position per step): exactly 0
        return Estimate(0.0, 0.0, 0.0)
    # relabel prompts and each column's tokens 0, 1, ...: entropies see only equality
    _, prompt = np.unique(prompt_id, return_inverse=True)
    columns = [np.unique(col, return_inverse=True)[1] for col in outputs.T]
    hist = histogram(prompt.ravel(), np.stack(columns, axis=1))
    layout = _layout(hist, coefficients)
    # The sample's own value is one kernel call of its own, never a row of the
    # resamples' batch: XLA vectorises a batch of B rows differently for each B,
    # which moves the last bits, so the estimate would depend on `num_bootstrap`.
    counts = hist.count[None, :]
    estimate = float(_evaluate(counts, layout, method)[0])
    if not num_bootstrap:
        return Estimate(estimate, float("nan"), float("nan"))
    resampled = resample_counts(hist, jax.random.key(seed), num_bootstrap)
    plugin = _evaluate(counts, layout, "plugin")[0] if method != "plugin" else estimate
    truth = float(plugin)
    replicates = _evaluate(resampled, layout, method)
    return basic_interval(estimate, replicates, level=level, truth=truth)


def _bound_coefficients(steps) -> dict[tuple[int, ...], int]:
    r"""$L_T$ as $\sum_A c_A H(Y_A|X)$: the non-zero integer $c_A$, by subset $A$.

    $\sum_t \sum_{j \in S_t} [H(P_t \cup j) - H(P_t)] - H(Y)$ with $P_t = S_{<t}$
    and $H(\emptyset) = 0$; the integer coefficients cancel exactly.
    """
    coefficients: dict[tuple[int, ...], int] = {}

    def add(coefficient: int, subset: tuple[int, ...]) -> None:
        if subset:
            coefficients[subset] = coefficients.get(subset, 0) + coefficient

    prefix: tuple[int, ...] = ()
    for step in steps:
        for j in step:
            add(1, tuple(sorted({*prefix, j})))
            add(-1, prefix)
        prefix = tuple(sorted({*prefix, *step}))
    add(-1, prefix)
    return {subset: c for subset, c in coefficients.items() if c != 0}


class _Layout(NamedTuple):
    """The subset cells of a histogram, padded, as the kernel reads them.

    Pair $k$ adds joint cell `source[k]`'s count to subset cell `target[k]` (where
    `live[k]`); subset cell $m$ belongs to group `group[m]` $= aP + x$ (subset $a$,
    prompt $x$), whose entropy enters with weight `weight[aP + x]` $= c_a / P$
    (padding groups have weight 0 and no samples). Joint counts are padded with
    zero cells to `num_joint_cells`.
    """

    source: jax.Array
    target: jax.Array
    live: jax.Array
    group: jax.Array
    weight: jax.Array
    num_joint_cells: int


def _layout(hist, coefficients) -> _Layout:
    """Map each joint cell to its cell of every subset, once, on the host."""
    num_prompts = hist.num_prompts
    cells = len(hist.count)
    target, group, weight = [], [], []
    offset = 0
    for a, (subset, coefficient) in enumerate(coefficients.items()):
        keys = np.concatenate([hist.prompt[:, None], hist.outcome[:, subset]], axis=1)
        unique, inverse = np.unique(keys, axis=0, return_inverse=True)
        target.append(offset + inverse.ravel())
        group.append(a * num_prompts + unique[:, 0])
        weight.append(np.full(num_prompts, coefficient / num_prompts))
        offset += len(unique)
    pairs = len(coefficients) * cells

    def padded(parts, size):
        return jnp.asarray(pad_to(np.concatenate(parts), size))

    pair_size, cell_size = padded_size(pairs), padded_size(offset)
    return _Layout(
        source=padded([np.arange(cells)] * len(coefficients), pair_size),
        target=padded(target, pair_size),
        live=jnp.arange(pair_size) < pairs,
        group=padded(group, cell_size),
        weight=padded(weight, padded_size(len(coefficients) * num_prompts)),
        num_joint_cells=padded_size(cells),
    )


def _evaluate(counts: np.ndarray, layout: _Layout, method: str):
    """`(B,)` the prompt-averaged combination for each row of `(B, G)` joint counts."""
    rows, cells = counts.shape
    pairs = layout.source.shape[0]
    chunk = max(1, min(rows, _PAIR_BUDGET // pairs))
    counts = np.pad(counts, ((0, 0), (0, layout.num_joint_cells - cells)))
    out = []
    for start in range(0, rows, chunk):
        part = counts[start : start + chunk]
        size = len(part)
        if size < chunk:  # one compiled shape; the zero rows' NaNs are dropped
            part = np.pad(part, ((0, chunk - size), (0, 0)))
        values = _combination(
            jnp.asarray(part),
            layout.source,
            layout.target,
            layout.live,
            layout.group,
            layout.weight,
            method=method,
        )
        out.append(np.asarray(values)[:size])
    return np.concatenate(out)


@functools.partial(jax.jit, static_argnames=("method",))
def _combination(counts, source, target, live, group, weight, *, method: str):
    r"""$\sum_{a, x} w_{ax} \hat H(Y_a \mid X = x)$ for each row of `counts`, `(B,)`."""
    num_cells = group.shape[0]
    num_groups = weight.shape[0]

    def one(row):
        pair_counts = jnp.where(live, row[source], 0)
        subset_counts = jax.ops.segment_sum(pair_counts, target, num_segments=num_cells)
        h = entropy_estimates(subset_counts, group, num_groups, method=method)
        return jnp.sum(jnp.where(weight != 0, weight * h, 0))  # empty groups: NaN

    return jax.vmap(one)(counts)
