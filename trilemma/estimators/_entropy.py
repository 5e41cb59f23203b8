r"""Entropy estimators from histogram counts, one estimate per group (nats).

A sample set is read through its histogram: the distinct outcomes (cells) with their
counts $n_i$ and the group (prompt) each cell belongs to. For one group with
$N = \sum_i n_i$ samples, $\hat p_i = n_i / N$, $\hat K$ occupied cells and $f_1$
singletons (cells seen once), `entropy_estimates` offers

| method | estimate of $H = -\sum_i p_i \log p_i$ |
|---|---|
| `plugin` | $\hat H = -\sum_i \hat p_i \log \hat p_i$ |
| `miller_madow` | $\hat H + (\hat K - 1)/(2N)$ |
| `jackknife` | $N \hat H - \frac{N-1}{N} \sum_{s=1}^N \hat H_{-s}$ (leave-one-out) |
| `grassberger` | $\log N - \frac1N \sum_i n_i G(n_i)$ |
| `chao_shen` | $-\sum_i \tilde p_i \log \tilde p_i / (1 - (1 - \tilde p_i)^N)$ |
| `nsb` | posterior mean of $H$ under the NSB Dirichlet mixture (needs $K$) |

Every method is one jitted pass of segment sums over the cells, so thousands of
groups (prompts, or repeats of a simulation) cost one call.

**Which to use.** The plug-in estimate is biased low, by about $(K-1)/(2N)$ and by
far more once $N \lesssim K$; Miller–Madow removes only the first-order term. Mean
bias ± standard error in nats over 400 repeats, for $K = 50$ cells with one
$p \sim \mathrm{Dir}(0.5)$ ($H = 3.2303$ nats; the simulation of the tests):

| N | plugin | miller_madow | jackknife | grassberger | chao_shen | nsb |
|---|---|---|---|---|---|---|
| 25 | −0.687(9) | −0.402(11) | −0.188(13) | −0.137(14) | −0.084(16) | −0.032(13) |
| 100 | −0.222(5) | −0.079(6) | −0.014(6) | −0.016(6) | −0.007(6) | +0.002(6) |
| 1000 | −0.021(2) | −0.000(2) | +0.002(2) | +0.002(2) | −0.009(2) | +0.004(2) |
| $10^5$ | −0.0003(2) | −0.0000(2) | −0.0000(2) | −0.0000(2) | −0.0002(2) | −0.0000(2) |

On this Dirichlet law Chao–Shen has the smallest bias of the methods that need no
alphabet size where $N \lesssim K$ (−0.08 nats at $N = K/2$ against −0.14 for
Grassberger). But once no cell is a singleton its coverage correction vanishes and
it falls back to the plug-in's $-(K-1)/2N$ (−0.009 nats at $N = 20K$, six standard
errors). On the laws of real samplers (`coverage_study`, `paper_notes.md` §21), the
regime where estimates mean anything is $N \gtrsim 3K$ (`diversity-loss` warns
below $10K$), and there Chao–Shen is plug-in-like: −0.044 bits at $N \approx 13K$
on the shipped denoiser's random top-k law of Shuffle n = 4, against −0.004 for the
jackknife and −0.003 for Grassberger. Grassberger's $(-1)^n$ term adds about $1/N$
per cell of odd count, which on small supports biases it up and doubles its spread
(+0.012 bits at $N \approx 65K$ on a 4-output law, against +0.003 for the
jackknife).

The default (`DEFAULT_ENTROPY_ESTIMATOR`, also behind `total_correlation_estimate`
and `t_step_bound_estimate`) is therefore the **jackknife**: within noise of 0 once
$N \gtrsim 3K$ on every law studied, at about the plug-in's spread, and it needs no
alphabet size. Prefer Chao–Shen for groups sampled below their support size, and NSB
when the alphabet size $K$ is known exactly (here it is, and $\mathrm{Dir}(0.5)$ lies
inside the NSB mixture, which favours it).

References:
  Miller, *Note on the bias of information estimates* (1955).
  Efron & Stein, *The jackknife estimate of variance*, Ann. Stat. 9 (1981).
  Grassberger, *Entropy estimates from insufficient samplings*, arXiv:physics/0307138
  (2003).
  Chao & Shen, *Nonparametric estimation of Shannon's index of diversity when there
  are unseen species in sample*, Environ. Ecol. Stat. 10 (2003).
  Nemenman, Shafee & Bialek, *Entropy and inference, revisited*, NeurIPS 14 (2001).
"""

from __future__ import annotations

import math
from functools import partial

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax
from jax.scipy.special import digamma, polygamma

from .. import _checks
from .._kernels import pad_to, padded_size, xlogx

ENTROPY_ESTIMATORS = (
    "plugin",
    "miller_madow",
    "jackknife",
    "grassberger",
    "chao_shen",
    "nsb",
)
"""The `method` names `entropy_estimates` accepts."""

DEFAULT_ENTROPY_ESTIMATOR = "jackknife"
"""The estimator the trilemma points use unless told otherwise (module docstring)."""

_NSB_KAPPA_MIN = 1e-14
r"""Smallest total concentration $K\beta$ of the NSB grid: prior mass below, in $\xi$,
is about $(\pi^2/6) \cdot 10^{-14}$."""

_NSB_BETA_MAX = 1e14
r"""Largest $\beta$ of the NSB grid: prior mass above, in $\xi$, is about
$1/(2 \cdot 10^{14})$."""

_NSB_SEARCH_POINTS = 64
"""Grid points of each search pass of the NSB integral (they only locate the mass)."""

_NSB_POINTS = 128
"""Grid points of the last pass, the one summed (error ~1e-15 where 64 give ~1e-6)."""

_NSB_PASSES = 3
"""Passes: each zooms in on where the log-weight is within `_NSB_DROP`."""

_NSB_DROP = 50.0
"""Nats below the largest log-weight at which the NSB integrand counts as zero."""

_NSB_CELL_BUDGET = 2**21
"""Cells times grid points evaluated at once (bounds the memory of the NSB sums)."""

_STIRLING_X = 1000.0
r"""From this $x$ on, $\log\Gamma(x+n) - \log\Gamma(x)$ comes from Stirling's series."""

_SERIES_BETA = 100.0
r"""From this $\beta$ on, $d\xi/d\beta$ is summed from its asymptotic series."""


def entropy_estimates(
    counts,
    segment,
    num_segments: int,
    *,
    method: str = "chao_shen",
    alphabet_size=None,
) -> jax.Array:
    r"""Per-group entropy estimates in nats from histogram counts.

    Group $g$ holds the cells $i$ with `segment[i] == g`; with $n_i$ their counts,
    $N = \sum_i n_i$, $\hat p_i = n_i/N$, $\hat K$ the occupied cells and $f_1$ the
    cells with $n_i = 1$:

    * `plugin`: $\hat H = -\sum_i \hat p_i \log \hat p_i$.
    * `miller_madow`: $\hat H + (\hat K - 1)/(2N)$.
    * `jackknife`: $N\hat H - \frac{N-1}{N}\sum_s \hat H_{-s}$ over the $N$ samples,
      in closed form: removing one of the $n_i$ samples of cell $i$ gives the same
      $\hat H_{-i}$, and the sum collapses to
      $$\hat H - (N-1)\log\left(1 - \tfrac1N\right)
        + \frac1N \sum_i n_i (n_i - 1) \log\left(1 - \tfrac1{n_i}\right).$$
    * `grassberger`: $\log N - \frac1N\sum_i n_i G(n_i)$ with
      $G(n) = \psi(n) + \frac12 (-1)^n \left(\psi(\frac{n+1}2) - \psi(\frac n2)\right)$.
    * `chao_shen`: coverage $\hat C = 1 - f_1/N$ (with $f_1 = N - 1$ when every
      sample is a singleton), $\tilde p_i = \hat C \hat p_i$ and
      $\hat H = -\sum_i \tilde p_i \log \tilde p_i / (1 - (1 - \tilde p_i)^N)$.
    * `nsb`: the posterior mean of $H$ under a mixture of symmetric Dirichlet($\beta$)
      priors on $K$ cells, weighted so that the prior on $H$ is flat:
      $$\hat H = \frac{\int d\xi\, P(n \mid \beta)\, E[H \mid n, \beta]}
                      {\int d\xi\, P(n \mid \beta)},\quad
        \xi(\beta) = \psi(K\beta + 1) - \psi(\beta + 1),$$
      $$P(n \mid \beta) \propto \frac{\Gamma(K\beta)}{\Gamma(N + K\beta)}
        \prod_i \frac{\Gamma(n_i + \beta)}{\Gamma(\beta)},\quad
        E[H \mid n, \beta] = \psi(N + K\beta + 1)
        - \sum_{i=1}^{K} \frac{n_i + \beta}{N + K\beta}\, \psi(n_i + \beta + 1),$$
      the last sum over all $K$ cells (the $K - \hat K$ unseen ones with $n_i = 0$).
      The integral runs over $\log\beta$: two passes of 64 points locate the
      posterior mass, then 128 points over it are summed with log-sum-exp weights
      (trapezoid rule); in float64 this matches adaptive quadrature to about
      $10^{-11}$ nats, in float32 to about $10^{-6}$.

    Cells with count 0 are ignored. Static checks (shapes, dtypes, `method`) always
    run; value checks (counts, segment range, alphabet sizes) run on concrete
    inputs only, so under `jax.jit` a bad value gives a wrong or NaN estimate
    instead of an error, and an out-of-range `segment` drops its cell.

    Args:
      counts: `(G,)` non-negative integer counts of the distinct outcomes (cells),
        of an integer dtype or a floating dtype holding whole numbers.
      segment: `(G,)` integer group (prompt) of each cell, in `[0, num_segments)`.
      num_segments: the number of groups (static).
      method: one of `ENTROPY_ESTIMATORS`.
      alphabet_size: the alphabet size $K$ of each group, a scalar or
        `(num_segments,)` integers at least the group's occupied cells $\hat K$.
        Required by `nsb`, which is undefined without it; the other methods do
        not use it (it is still checked when given).

    Returns:
      `(num_segments,)` estimates in nats (float64 under x64, else float32; a
      floating `counts` keeps its dtype), NaN for a group with no samples. Use
      `to_bits` before showing them to a person.

    Raises:
      ValueError: unknown `method`; `nsb` without `alphabet_size`; mismatched
        shapes; a negative or fractional count, a group index out of range, or an
        alphabet smaller than the cells seen in its group.
      TypeError: `segment` or `alphabet_size` not integer, or `counts` not
        numeric.

    >>> import jax.numpy as jnp
    >>> counts, segment = jnp.array([3, 1, 2, 2]), jnp.array([0, 0, 1, 1])
    >>> h = entropy_estimates(counts, segment, 2, method="plugin")
    >>> [round(float(x), 6) for x in h]
    [0.562335, 0.693147]
    >>> h = entropy_estimates(counts, segment, 2, method="miller_madow")
    >>> [round(float(x), 6) for x in h]
    [0.687335, 0.818147]
    """
    if not isinstance(method, str) or method not in ENTROPY_ESTIMATORS:
        raise _checks.unknown("entropy estimator", method, ENTROPY_ESTIMATORS)
    num_segments = _checks.check_int(num_segments, "num_segments", minimum=0)
    counts = _as_array(counts, "counts")
    segment = _as_array(segment, "segment")
    _checks.check_shape(counts, "counts", ("num_cells",))
    _checks.check_shape(segment, "segment", (counts.shape[0],))
    if not (
        jnp.issubdtype(counts.dtype, jnp.integer)
        or jnp.issubdtype(counts.dtype, jnp.floating)
    ):
        raise TypeError(
            f"`counts` must be an integer or floating array; got dtype {counts.dtype}."
        )
    _checks.check_integer_dtype(segment, "segment")
    if _checks.is_concrete(counts):
        _check_counts(np.asarray(counts))
    if _checks.is_concrete(segment):
        _check_segment(np.asarray(segment), num_segments)
    if method == "nsb":
        _checks.check_given(
            alphabet_size,
            "alphabet_size",
            when="by method 'nsb' (its prior is defined on an alphabet of K cells)",
        )
    if alphabet_size is not None:
        alphabet_size = _check_alphabet(alphabet_size, counts, segment, num_segments)
    if _checks.is_concrete(counts) and _checks.is_concrete(segment):
        size = padded_size(counts.shape[0])  # empty cells count for nothing
        counts, segment = pad_to(counts, size), pad_to(segment, size)
    return _estimates(
        counts, segment, alphabet_size, num_segments=num_segments, method=method
    )


# --- validation -----------------------------------------------------------------------


def _as_array(x, name: str):
    if isinstance(x, jax.Array | np.ndarray):
        return x
    if isinstance(x, list | tuple | int | float | np.generic):
        return np.asarray(x)
    raise TypeError(f"`{name}` must be an array; got {type(x).__name__}.")


def _check_counts(host: np.ndarray) -> None:
    bad = ~np.isfinite(host) | (host < 0) | (host != np.round(host))
    if bad.any():
        first = host[int(np.argmax(bad))]
        raise ValueError(
            "every entry of `counts` must be a non-negative integer; got "
            f"{_checks.show(first.item())}."
        )


def _check_segment(host: np.ndarray, num_segments: int) -> None:
    bad = (host < 0) | (host >= num_segments)
    if bad.any():
        first = host[int(np.argmax(bad))]
        raise ValueError(
            f"every entry of `segment` must be a group index in [0, {num_segments}) "
            f"(`num_segments` = {num_segments}); got {first.item()}."
        )


def _check_alphabet(alphabet_size, counts, segment, num_segments: int):
    alphabet = _as_array(alphabet_size, "alphabet_size")
    if not jnp.issubdtype(alphabet.dtype, jnp.integer):
        raise TypeError(
            "`alphabet_size` must be an integer or an integer array; got "
            f"{_checks.show(alphabet_size)} (dtype {alphabet.dtype})."
        )
    if alphabet.ndim != 0:
        _checks.check_shape(alphabet, "alphabet_size", (num_segments,))
    if not _checks.is_concrete(alphabet):
        return alphabet
    host = np.broadcast_to(np.asarray(alphabet), (num_segments,))
    if (host < 1).any():
        first = host[int(np.argmax(host < 1))]
        raise ValueError(
            f"every entry of `alphabet_size` must be an integer >= 1; got {first}."
        )
    if _checks.is_concrete(counts) and _checks.is_concrete(segment):
        occupied = np.asarray(counts) > 0
        seen = np.bincount(
            np.asarray(segment)[occupied].astype(np.int64), minlength=num_segments
        )
        small = seen > host
        if small.any():
            g = int(np.argmax(small))
            raise ValueError(
                f"`alphabet_size` must be at least the occupied cells of each group; "
                f"group {g} has {seen[g]} occupied cells but `alphabet_size` "
                f"{host[g]}."
            )
    return alphabet


# --- kernels --------------------------------------------------------------------------


@partial(jax.jit, static_argnames=("num_segments", "method"))
def _estimates(counts, segment, alphabet, *, num_segments: int, method: str):
    """The estimates of `method` for every group (validated inputs)."""
    dtype = (
        counts.dtype
        if jnp.issubdtype(counts.dtype, jnp.floating)
        else jax.dtypes.canonicalize_dtype(jnp.float64)
    )
    n = jnp.asarray(counts).astype(dtype)
    occupied = n > 0
    n = jnp.where(occupied, n, jnp.zeros((), dtype))

    def total(x):
        return jax.ops.segment_sum(x, segment, num_segments=num_segments)

    samples = total(n)
    has_samples = samples > 0
    big_n = jnp.where(has_samples, samples, jnp.ones((), dtype))  # 1 for empty groups
    p = n / big_n[segment]
    plugin = -total(xlogx(p))
    if method == "plugin":
        estimate = plugin
    elif method == "miller_madow":
        seen = total(occupied.astype(dtype))
        estimate = plugin + (seen - 1) / (2 * big_n)
    elif method == "jackknife":
        estimate = _jackknife(n, big_n, plugin, total)
    elif method == "grassberger":
        estimate = _grassberger(n, occupied, big_n, total)
    elif method == "chao_shen":
        estimate = _chao_shen(n, occupied, p, big_n, segment, total)
    else:
        alphabet = jnp.broadcast_to(jnp.asarray(alphabet).astype(dtype), samples.shape)
        estimate = _nsb(n, occupied, segment, big_n, alphabet, num_segments, total)
    return jnp.where(has_samples, estimate, jnp.full((), jnp.nan, dtype))


def _jackknife(n, big_n, plugin, total):
    r"""$\hat H - (N-1)\log(1-1/N) + \frac1N\sum_i n_i(n_i-1)\log(1-1/n_i)$.

    Leaving out one sample of cell $i$ changes $\sum n \log n$ by
    $d_i = n_i\log n_i - (n_i-1)\log(n_i-1)$, so
    $\hat H - \hat H_{-i} = -\log(1 - \frac1N) + \frac{S}{N(N-1)} - \frac{d_i}{N-1}$
    with $S = \sum_j n_j \log n_j$; summing $n_i$ copies and using
    $S - \sum_i n_i d_i = \sum_i n_i(n_i-1)\log(1-1/n_i)$ gives the closed form,
    which stays accurate for large $N$ (no difference of $N\hat H$-sized terms).
    """
    one = jnp.ones((), n.dtype)
    repeated = n > 1
    cell = jnp.where(
        repeated, n * (n - 1) * jnp.log1p(-one / jnp.where(repeated, n, 2 * one)), 0
    )
    several = big_n > 1
    whole = jnp.where(
        several,
        (big_n - 1) * jnp.log1p(-one / jnp.where(several, big_n, 2 * one)),
        0,
    )
    return plugin - whole + total(cell) / big_n


def _grassberger(n, occupied, big_n, total):
    r"""$\log N - \frac1N\sum_i n_i G(n_i)$ (Grassberger 2003)."""
    m = jnp.where(occupied, n, jnp.ones((), n.dtype))
    sign = 1 - 2 * jnp.mod(m, 2)  # (-1)^n
    g = digamma(m) + 0.5 * sign * (digamma((m + 1) / 2) - digamma(m / 2))
    return jnp.log(big_n) - total(jnp.where(occupied, n * g, 0)) / big_n


def _chao_shen(n, occupied, p, big_n, segment, total):
    r"""Horvitz–Thompson sum of $-\tilde p \log \tilde p$, $\tilde p = \hat C p$."""
    singletons = total((n == 1).astype(n.dtype))
    singletons = jnp.where(singletons == big_n, big_n - 1, singletons)
    coverage = 1 - singletons / big_n
    p_tilde = coverage[segment] * p
    # 1 - (1 - p~)^N, which is 1 at p~ = 1 (log1p(-1) = -inf, expm1(-inf) = -1).
    seen_prob = -jnp.expm1(big_n[segment] * jnp.log1p(-p_tilde))
    terms = -xlogx(p_tilde) / jnp.where(occupied, seen_prob, 1)
    return total(jnp.where(occupied, terms, 0))


def _nsb(n, occupied, segment, big_n, alphabet, num_segments: int, total):
    r"""NSB posterior mean of $H$, integrated over $u = \log\beta$ on refined grids.

    The integrand in $u$ is $P(n\mid\beta)\,\frac{d\xi}{d\beta}\,\beta$, with
    $\log P(n\mid\beta) = \sum_i \log(\beta)_{n_i} - \log(K\beta)_N$ (rising
    factorials; the $\Gamma$ ratios of $P$, up to a constant). The first pass spans
    $K\beta \in [10^{-14}, 10^{14} K]$; each later pass spans the first to the last
    point of the one before whose log-weight was within `_NSB_DROP` of the largest
    (one point of margin each side). The `_NSB_PASSES - 1` search passes have
    `_NSB_SEARCH_POINTS` points, the last `_NSB_POINTS`, summed by the trapezoid
    rule, which converges geometrically for an integrand this smooth that has
    decayed at both ends.
    """
    dtype = n.dtype
    one = jnp.ones((), dtype)
    k = jnp.maximum(alphabet, 2 * one)  # K = 1: H = 0, set below
    seen = total(occupied.astype(dtype))
    m = jnp.where(occupied, n, one)

    def evaluate(lo, hi, points, with_mean):
        t = jnp.linspace(0, 1, points, dtype=dtype)
        u = lo[:, None] + (hi - lo)[:, None] * t[None, :]
        beta = jnp.exp(u)
        sums = _nsb_cell_sums(m, occupied, segment, beta, num_segments, with_mean)
        log_w = (
            sums[0]
            - _log_rising(big_n[:, None], k[:, None] * beta)
            + jnp.log(_dxi_dbeta(beta, k[:, None]))
            + u
        )
        return u, beta, log_w, sums

    def refine(_, bounds):
        points = _NSB_SEARCH_POINTS
        u, _, log_w, _ = evaluate(*bounds, points, with_mean=False)
        keep = log_w >= jnp.max(log_w, axis=1, keepdims=True) - _NSB_DROP
        first = jnp.maximum(jnp.argmax(keep, axis=1) - 1, 0)
        final = jnp.minimum(points - jnp.argmax(keep[:, ::-1], axis=1), points - 1)
        lo = jnp.take_along_axis(u, first[:, None], axis=1)[:, 0]
        hi = jnp.take_along_axis(u, final[:, None], axis=1)[:, 0]
        return lo, hi

    lo = jnp.log(_NSB_KAPPA_MIN * one) - jnp.log(k)
    hi = jnp.broadcast_to(jnp.log(_NSB_BETA_MAX * one), lo.shape)
    lo, hi = lax.fori_loop(0, _NSB_PASSES - 1, refine, (lo, hi))
    _, beta, log_w, sums = evaluate(lo, hi, _NSB_POINTS, with_mean=True)
    ends = jnp.zeros((_NSB_POINTS,), dtype).at[jnp.array([0, -1])].set(math.log(0.5))
    log_w = log_w + ends[None, :]
    weight = jnp.exp(log_w - jnp.max(log_w, axis=1, keepdims=True))
    total_n = big_n[:, None] + k[:, None] * beta
    unseen = (k - seen)[:, None] * beta * digamma(beta + 1)
    mean_h = digamma(total_n + 1) - (sums[1] + unseen) / total_n
    estimate = jnp.sum(weight * mean_h, axis=1) / jnp.sum(weight, axis=1)
    return jnp.where(alphabet <= 1, jnp.zeros((), dtype), estimate)


def _nsb_cell_sums(m, occupied, segment, beta, num_segments: int, with_mean: bool):
    r"""Per group and grid point, sums over the occupied cells of the group.

    Returns $\sum_i \log(\beta)_{n_i}$ and, if `with_mean`,
    $\sum_i (n_i + \beta)\,\psi(n_i + \beta + 1)$, each `(num_segments, points)`.
    Up to `_NSB_CELL_BUDGET` cell-point pairs are evaluated at once; beyond that
    the grid points are mapped over in batches.
    """
    points = beta.shape[1]
    batch = max(1, min(points, _NSB_CELL_BUDGET // max(m.shape[0], 1)))

    def columns(b):  # b: (num_segments, c) grid points -> per-group sums
        b = b[segment]
        mm, live = m[:, None], occupied[:, None]
        out = [jnp.where(live, _log_rising(mm, b), 0)]
        if with_mean:
            x = mm + b
            out.append(jnp.where(live, x * digamma(x + 1), 0))
        return [jax.ops.segment_sum(o, segment, num_segments=num_segments) for o in out]

    if batch == points:
        return columns(beta)
    chunks = lax.map(lambda b: columns(b[:, None]), beta.T, batch_size=batch)
    return [c[..., 0].T for c in chunks]


def _log_rising(n, x):
    r"""$\log(x)_n = \log\Gamma(x + n) - \log\Gamma(x)$, accurate for large $x$ too.

    Below $x = 1000$ the two log-gammas are subtracted; from there on, where they
    cancel, Stirling's series gives
    $(x - \frac12)\log(1 + \frac nx) + n(\log(x + n) - 1) + \zeta(x + n) - \zeta(x)$
    with $\zeta(y) = \frac1{12y} - \frac1{360y^3} + \frac1{1260y^5}$.
    """
    direct = lax.lgamma(x + n) - lax.lgamma(x)
    big = jnp.maximum(x, _STIRLING_X * jnp.ones((), x.dtype))
    y = big + n

    def zeta(z):
        w = 1 / (z * z)
        return (1 / 12 - w * (1 / 360 - w / 1260)) / z

    stirling = (big - 0.5) * jnp.log1p(n / big) + n * (jnp.log(y) - 1)
    stirling = stirling + (zeta(y) - zeta(big))
    return jnp.where(x >= _STIRLING_X, stirling, direct)


def _dxi_dbeta(beta, k):
    r"""$d\xi/d\beta = K\psi_1(K\beta + 1) - \psi_1(\beta + 1)$, the NSB prior density.

    For $\beta \ge 100$ the two trigammas agree to $\beta^{-2}$ and cancel; there the
    asymptotic series $\psi_1(x+1) = \frac1x - \frac1{2x^2} + \frac1{6x^3}
    - \frac1{30x^5} + \frac1{42x^7}$ gives $\sum_m c_m \beta^{-m} (K^{1-m} - 1)$
    directly (truncation error below $10^{-11}$ relative).
    """
    one = jnp.ones((), beta.dtype)
    direct = k * polygamma(1, k * beta + 1) - polygamma(1, beta + 1)
    b = jnp.maximum(beta, _SERIES_BETA * one)
    inv, inv_k = 1 / b, 1 / k
    series = inv**2 * (
        0.5 * (1 - inv_k)
        - inv * (1 - inv_k**2) / 6
        + inv**3 * (1 - inv_k**4) / 30
        - inv**5 * (1 - inv_k**6) / 42
    )
    return jnp.where(beta >= _SERIES_BETA, series, direct)
