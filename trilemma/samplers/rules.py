r"""Building blocks of parallel decoding samplers, along the three axes they vary on.

* **which** masked positions to commit: a per-token *score* (confidence, margin,
  negative entropy, uniform, left-to-right); positions are ranked by score and ties
  are broken uniformly at random;
* **how many**: a *count* rule giving the distribution of the number $k$ of positions
  committed this step (LLaDA's or Dream's schedule, a threshold, Fast-dLLM's factor
  rule, the entropy-bounded rule, or the MDLM/Dream ancestral binomial), from the
  ranked scores;
* **which token**: the *draw* distribution $\pi_j$ of each position's token (greedy with
  uniform ties, or $\pi_j \propto p_j^{1/\tau}$).

Every block is a pure function written once against the array namespace of its
input, so the same definition runs under NumPy (the exact trajectory enumerator in
`trilemma.simulate`) and under `jax.numpy` (jitted Monte Carlo decoding in
`trilemma.samplers.decode`).

**Ties.** Scores and probabilities are quantised to multiples of $2^{-30}$ before
they are compared, so values equal in exact arithmetic (1/3 computed two ways) tie
exactly, as in ParallelBench's ideal-model analysis; thresholds are quantised the
same way, so "$\ge \gamma$" and "$> \gamma$" differ exactly at $\gamma = c$.

**Integer settings of any size.** A count `k`, step count or block length larger than
the sequence means "the whole sequence"; the rules clamp it to the (static) length
before any array arithmetic, so a setting such as $k = 2^{63} - 1$ never overflows
int64 and gives exactly the result of $k = L$.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np
import scipy.special

QUANTUM = 2.0**-30
"""Resolution at which scores and probabilities are compared (about 1e-9)."""


def xp_of(x):
    """`jax.numpy` for JAX arrays and tracers, else NumPy."""
    return jnp if isinstance(x, jax.Array) else np


def lift(vector, ndim: int):
    """A 1-D `vector` reshaped to broadcast against arrays with `ndim` leading axes."""
    return vector.reshape((1,) * ndim + vector.shape)


_EXACT = 2.0**22
"""Magnitude from which every float64 is already a multiple of `QUANTUM`."""


def quantize(x):
    """Round to a multiple of `QUANTUM`; -inf, inf and values beyond 2^22 are kept.

    Values of magnitude 2^22 or more are multiples of `QUANTUM` already (in float64),
    so they are not divided by it, which would overflow near the float maximum.
    """
    xp = xp_of(x)
    small = xp.clip(x, -_EXACT, _EXACT)
    return xp.where(xp.abs(x) < _EXACT, xp.round(small / QUANTUM) * QUANTUM, x)


# --- which token ----------------------------------------------------------------------


def token_probabilities(logits, mask_id: int):
    """Model probabilities from logits `(..., V)`: the mask token is never drawn.

    The mask column, if the vocabulary has one, gets -inf; then a softmax over
    the last axis, in the default float type (float64 when x64 is on, whatever the
    model's own precision). The decoder and the exact enumeration of a model both
    call it.
    """
    logits = jnp.asarray(logits).astype(jnp.result_type(float))
    if 0 <= mask_id < logits.shape[-1]:
        logits = logits.at[..., mask_id].set(-jnp.inf)
    return jax.nn.softmax(logits, axis=-1)


def draw_distribution(probs, temperature: float):
    r"""The token law $\pi_j$ of each position, from model probabilities $p_j$.

    Greedy ($\tau = 0$): uniform over the tokens whose probability ties the maximum
    (ParallelBench's ideal model breaks exact ties at random). Otherwise
    $\pi_j(v) \propto p_j(v)^{1/\tau} = \exp((\log p_j(v) - \log p_j^{\max})/\tau)$,
    computed in log space: the exponent is at most 0, and it is floored at -800
    (where $e^{-800}$ is already 0 in float64) before the division, so no
    temperature, however small, overflows. As $\tau \to 0$ the law tends to the
    uniform law on the tokens of maximal probability; temperatures below $10^{-300}$
    are computed as $10^{-300}$, which gives that same law (every nonzero gap of
    log-probabilities exceeds $10^{-31}$, so its weight underflows to 0 either way)
    and keeps subnormal constants, which XLA flushes to zero, out of the kernel.

    Args:
      probs: `(..., V)` probabilities (rows may contain zeros).
      temperature: $\tau \ge 0$ (static).
    """
    xp = xp_of(probs)
    if temperature == 0:
        q = quantize(probs)
        weights = xp.where((q == q.max(axis=-1, keepdims=True)) & (probs > 0), 1.0, 0.0)
    else:
        positive = probs > 0
        log_p = xp.log(xp.where(positive, probs, 1.0))
        top = xp.max(xp.where(positive, log_p, -xp.inf), axis=-1, keepdims=True)
        tau = max(temperature, 1e-300)
        gap = xp.maximum(xp.where(positive, log_p - top, 0.0), -800.0 * tau)
        weights = xp.where(positive, xp.exp(gap / tau), 0.0)
    return weights / weights.sum(axis=-1, keepdims=True)


def draw_index(pmf, u):
    r"""Draw one index from each row of `pmf` by the inverse CDF of a uniform.

    The draw is the first index $i$ whose cumulative mass exceeds $u \sum_k p_k$, so
    $P(i) = p_i / \sum_k p_k$ for $u \sim U[0, 1)$ and an index of mass 0 is never
    drawn. One uniform per row, where Gumbel-max needs one per entry.

    Args:
      pmf: `(..., K)` non-negative weights, each row with positive mass.
      u: `(...)` uniforms in $[0, 1)$.

    Returns:
      `(...)` integer indices.
    """
    xp = xp_of(pmf)
    cdf = xp.cumsum(pmf, axis=-1)
    below = xp.sum(cdf <= u[..., None] * cdf[..., -1:], axis=-1)
    last = pmf.shape[-1] - 1 - xp.argmax(pmf[..., ::-1] > 0, axis=-1)
    return xp.minimum(below, last)  # u * total may round up to the total


# --- which positions: per-token scores ------------------------------------------------


def confidence_score(probs, positions):
    r"""Confidence of the drawn token, $p_j(\hat x_j)$ (LLaDA `low_confidence`)."""
    return probs


def margin_score(probs, positions):
    r"""Margin $p_{(1)} - p_{(2)}$ between a position's two most likely tokens."""
    xp = xp_of(probs)
    top = xp.sort(probs, axis=-1)
    margin = top[..., -1] - top[..., -2] if probs.shape[-1] > 1 else top[..., -1]
    return xp.broadcast_to(margin[..., None], probs.shape)


def neg_entropy_score(probs, positions):
    r"""Negative entropy $-H(p_j)$ in nats (most certain first)."""
    xp = xp_of(probs)
    safe = xp.where(probs > 0, probs, 1.0)
    entropy = -xp.sum(probs * xp.log(safe), axis=-1)
    return xp.broadcast_to(-entropy[..., None], probs.shape)


def uniform_score(probs, positions):
    """A constant score: every ranking is a tie, so positions are chosen at random."""
    return xp_of(probs).zeros(probs.shape)


def left_to_right_score(probs, positions):
    """Minus the position index: leftmost first, never tied."""
    xp = xp_of(probs)
    pos = xp.asarray(positions, dtype=probs.dtype)
    return xp.broadcast_to(-pos[..., None], probs.shape)


# --- eligibility: semi-autoregressive blocks ------------------------------------------


def eligible_positions(masked, block: int | None, start):
    """Masked positions of the current block, and the size of that block.

    Args:
      masked: `(..., L)` booleans.
      block: block length $B$ (static), or None for a single block.
      start: first position of the generation window, a scalar (blocks count from
        it).

    Returns:
      `(eligible (..., L), block_size (...))`: with blocks, the current block is the
      leftmost one that still has a mask.
    """
    xp = xp_of(masked)
    length = masked.shape[-1]
    window = length - start
    if block is None:
        return masked, xp.broadcast_to(xp.asarray(window), masked.shape[:-1])
    block = min(block, max(length, 1))  # a block past the sequence is one block
    batch = masked.ndim - 1
    positions = lift(xp.arange(length), batch)
    start = xp.asarray(start)  # a scalar: the window starts at the same position
    index = xp.where(positions >= start, (positions - start) // block, -1)
    current = xp.min(xp.where(masked, index, length), axis=-1)
    eligible = masked & (index == current[..., None])
    size = xp.clip(window - current * block, 0, block)
    return eligible, size


# --- how many: count rules ------------------------------------------------------------
# Each takes scores sorted in decreasing order over the eligible positions (padded with
# -inf; or, for a sampler whose `count_order` is "position", every position's score in
# sequence order with -inf where not eligible), the number m of eligible positions,
# the size of the current block and the step index, and returns the pmf of the count
# k over 0..L (k <= m; k >= 1 unless the rule runs on a time grid: MDLM's binomial,
# Dream's schedule).


def _one_hot_count(k, length: int):
    xp = xp_of(k)
    return (lift(xp.arange(length + 1), k.ndim) == k[..., None]).astype(float)


def topk_schedule(size: int, *, k: int | None = None, num_steps: int | None = None):
    r"""LLaDA's step sizes for a block of `size` masks, in decoding order.

    $s = \lceil M/k \rceil$ steps (or `num_steps`, at most $M$); every step commits
    $\lfloor M/s \rfloor$ tokens, one more for the first $M \bmod s$ steps (remainder
    first). The sampler's count rule (`topk_count`) is this schedule, read off from
    the number of masks left.

    >>> topk_schedule(7, k=3)
    (3, 2, 2)
    >>> topk_schedule(5, num_steps=2)
    (3, 2)
    """
    counts, left = [], int(size)
    while left > 0:
        counts.append(int(_topk_step(np, size, left, k, num_steps, size)))
        left -= counts[-1]
    return tuple(counts)


def _topk_step(xp, block_size, num_eligible, k, num_steps, length: int):
    """Tokens that LLaDA's schedule commits with `num_eligible` masks left.

    `k` and `num_steps` are clamped to `length`, the most masks a block can hold, so
    the arithmetic stays in int64 whatever their size.
    """
    if k is not None:
        k = min(k, max(length, 1))
    if num_steps is not None:
        num_steps = min(num_steps, max(length, 1))
    num_eligible = xp.asarray(num_eligible).astype(int)
    size = xp.maximum(xp.asarray(block_size).astype(int), 1)
    steps = (size + k - 1) // k if num_steps is None else xp.full(size.shape, num_steps)
    steps = xp.minimum(steps, size)
    base, rem = size // steps, size % steps
    done = size - num_eligible
    big = rem * (base + 1)
    index = xp.where(
        done < big, done // (base + 1), rem + (done - big) // xp.maximum(base, 1)
    )
    count = xp.where(index < rem, base + 1, base)
    return xp.clip(count, xp.minimum(num_eligible, 1), num_eligible)


def topk_count(
    sorted_scores, num_eligible, block_size, step, *, k=None, num_steps=None
):
    r"""LLaDA's schedule (`topk_schedule`) as a count rule: a one-hot pmf.

    The step within the block is recovered from the number $m$ of masks left, so the
    rule needs no state.
    """
    xp = xp_of(sorted_scores)
    length = sorted_scores.shape[-1]
    count = _topk_step(xp, block_size, num_eligible, k, num_steps, length)
    return _one_hot_count(count, length)


def threshold_count(sorted_scores, num_eligible, block_size, step, *, gamma, strict):
    r"""Fast-dLLM's threshold: the top-1 plus every confidence $\ge \gamma$.

    `strict=True` is the paper's "exceeds $\gamma$" ($> \gamma$); the reference code of
    Fast-dLLM and ParallelBench uses $\ge \gamma$.
    """
    xp = xp_of(sorted_scores)
    g = quantize(xp.asarray(gamma, dtype=float))
    passed = sorted_scores > g if strict else sorted_scores >= g
    count = xp.maximum(xp.sum(passed, axis=-1), xp.minimum(num_eligible, 1))
    return _one_hot_count(count, sorted_scores.shape[-1])


def factor_count(
    sorted_scores, num_eligible, block_size, step, *, factor, reference_quirk
):
    r"""Fast-dLLM's factor rule: the longest prefix with $c_{(n)} \ge 1 - f/(n+1)$.

    With confidences sorted $c_{(1)} \ge c_{(2)} \ge \dots$, commit the largest $n$ such
    that $(n+1)(1 - c_{(n)}) \le f$ (always at least one token). With $f = 1$ this is
    Fast-dLLM Theorem 1's $\epsilon \le 1/(n+1)$ on the weakest committed token.
    `reference_quirk=True` reproduces the released code, which commits all $m$ tokens
    when the first failing rank is the last one.
    """
    xp = xp_of(sorted_scores)
    length = sorted_scores.shape[-1]
    n = lift(xp.arange(1, length + 1), sorted_scores.ndim - 1)
    theta = quantize(1.0 - factor / (n.astype(float) + 1.0))
    ok = (sorted_scores >= theta) | (n == 1)
    count = xp.sum(xp.cumprod(ok.astype(int), axis=-1), axis=-1)
    count = xp.minimum(count, num_eligible)
    if reference_quirk:
        count = xp.where(count == num_eligible - 1, num_eligible, count)
    return _one_hot_count(count, length)


def entropy_bounded_count(sorted_scores, num_eligible, block_size, step, *, gamma):
    r"""EB-Sampler: the longest prefix $U$ with $\sum_U H - \max_U H \le \gamma$ (nats).

    Scores are negative entropies. The prefix runs in the order the scores come in:
    sorted high to low (lowest entropy first; the sampler's `count_order` "score",
    the paper's order, where $\max_U H$ is the prefix's last entropy), or in sequence
    order with $-\infty$ at the positions that are not eligible (`count_order`
    "position", ParallelBench's order), which the sum skips. At least one token is
    committed.
    """
    xp = xp_of(sorted_scores)
    finite = xp.isfinite(sorted_scores)
    entropy = xp.where(finite, -sorted_scores, 0.0)
    last = entropy.ndim - 1
    if xp is jnp:
        running_max = jax.lax.cummax(entropy, axis=last)
    else:
        running_max = np.maximum.accumulate(entropy, axis=last)
    cost = xp.cumsum(entropy, axis=-1) - running_max
    passed = quantize(cost) <= quantize(xp.asarray(gamma, dtype=float))
    failed = finite & ~passed
    before = xp.cumprod((~failed).astype(int), axis=-1).astype(bool)
    count = xp.maximum(xp.sum(finite & before, axis=-1), xp.minimum(num_eligible, 1))
    return _one_hot_count(count, sorted_scores.shape[-1])


def ancestral_count(
    sorted_scores,
    num_eligible,
    block_size,
    step,
    *,
    num_steps,
    eps=0.0,
    float32=False,
):
    r"""MDLM's ancestral step: each mask unmasks with probability $(t-s)/t$.

    On the grid $t_i = 1 - i(1 - \epsilon)/N$ (`torch.linspace(1, eps, N + 1)`),
    step $i$ unmasks each of the $m$ masks independently with probability $1 -
    t_{i+1}/t_i = (1-\epsilon)/(N - i(1-\epsilon))$, and every mask at the last step
    (Dream's `origin`; at $\epsilon = 0$ MDLM's $1/(N - i)$), so $k \sim
    \mathrm{Binomial}(m, \cdot)$; with a uniform score the committed set is then a
    uniformly random $k$-subset, which is the same law. `float32` takes the rate as
    Dream's code computes it in float32 (`dream_coefficients`).
    """
    xp = xp_of(sorted_scores)
    length = sorted_scores.shape[-1]
    if float32:
        table = xp.asarray(dream_coefficients(num_steps, eps))
        index = xp.minimum(xp.asarray(step).astype(int), num_steps - 1)
        rate = table[index].astype(float)
        rate = xp.where(index >= num_steps - 1, 1.0, rate)
    else:
        left = float(num_steps) - xp.asarray(step).astype(float)  # exact below 2^53
        a = 1.0 - float(eps)
        if eps == 0:
            rate = 1.0 / xp.maximum(left, 1.0)
        else:
            i = xp.asarray(step).astype(float)
            rate = xp.where(left <= 1.0, 1.0, a / (float(num_steps) - i * a))
    m = xp.asarray(num_eligible)[..., None].astype(float)
    k = lift(xp.arange(length + 1).astype(float), m.ndim - 1)
    gammaln = jax.scipy.special.gammaln if xp is jnp else scipy.special.gammaln
    rest = xp.maximum(m - k, 0.0)
    log_comb = gammaln(m + 1.0) - gammaln(k + 1.0) - gammaln(rest + 1.0)
    r = rate[..., None]
    safe_r = xp.clip(r, 1e-300, 1.0)
    safe_q = xp.clip(1.0 - r, 1e-300, 1.0)
    log_pmf = log_comb + k * xp.log(safe_r) + rest * xp.log(safe_q)
    pmf = xp.where(k <= m, xp.exp(log_pmf), 0.0)
    pmf = xp.where(r >= 1.0, (k == m).astype(float), pmf)
    return pmf / pmf.sum(axis=-1, keepdims=True)


# --- Dream's step schedule ------------------------------------------------------------


DREAM_FLOAT32_MAX_STEPS = 2**20
"""Most steps `float32=True` replays: it tabulates one float32 rate per step."""


@functools.lru_cache(maxsize=64)
def dream_grid_float32(num_steps: int, eps: float) -> np.ndarray:
    r"""Dream's time grid `torch.linspace(1, eps, N + 1)` as torch makes it, in float32.

    torch's CPU kernel takes $\delta = (\epsilon - 1)/N$ in float32 and writes
    $1 + \delta i$ for the first half of the points, $\epsilon - \delta (N - i)$ for
    the rest, each with one rounding (a fused multiply-add); the product of a float32
    and an integer below $2^{29}$ is exact in float64, so the sum is formed there
    and rounded once more to float32. Bit for bit torch 2.13's (CPU, AVX-512) for
    every $N \le 4096$ and $\epsilon \in \{0, 10^{-5}, 10^{-3}, 0.123, 0.5, 0.9\}$
    tried; on GPUs torch may round some points differently. At $\epsilon = 0$ and
    $N$ a power of two every point is exact.

    >>> dream_grid_float32(4, 0.0).tolist()
    [1.0, 0.75, 0.5, 0.25, 0.0]
    """
    size = num_steps + 1
    start, end = np.float32(1.0), np.float32(eps)
    delta = np.float64(np.float32((end - start) / np.float32(num_steps)))
    i = np.arange(size, dtype=np.float64)
    first = (np.float64(start) + delta * i).astype(np.float32)
    second = (np.float64(end) - delta * (size - 1 - i)).astype(np.float32)
    grid = np.where(np.arange(size) < size // 2, first, second)
    grid.setflags(write=False)
    return grid


@functools.lru_cache(maxsize=64)
def dream_coefficients(num_steps: int, eps: float) -> np.ndarray:
    r"""Dream's per-step share $1 - s/t$ in float32, as its code computes it.

    `1 - s / t` with $t, s$ consecutive points of `dream_grid_float32`, every
    operation in float32; the last step's entry is 1 (Dream commits all there).
    """
    grid = dream_grid_float32(num_steps, eps)
    t, s = grid[:-1], grid[1:]
    with np.errstate(divide="ignore", invalid="ignore"):
        share = np.float32(1.0) - s / t
    share[-1] = np.float32(1.0)
    share.setflags(write=False)
    return share


def dream_count(
    sorted_scores, num_eligible, block_size, step, *, num_steps, eps, float32
):
    r"""Dream's schedule: $\lfloor m (1 - t_{i+1}/t_i) \rfloor$, all at the last step.

    Dream's `_sample` (and ParallelBench's `sample_block`) commits, at step $i$ of
    $N$ on the grid $t_i = 1 - i(1-\epsilon)/N$ (`linspace(1, eps, N + 1)`),
    `int(m * (1 - s / t))` of the $m$ masks left, and all of them at step $N - 1$.
    In exact arithmetic this is $\lfloor m (1-\epsilon)/(N - i(1-\epsilon))
    \rfloor$: at $\epsilon = 0$, $\lfloor m/(N - i) \rfloor$, so a block of $M$ masks
    gets LLaDA's $M/N$ per step when $N$ divides $M$; a step may commit nothing when
    $m < N - i$. With semi-autoregressive blocks each block runs the whole grid (its
    last step empties it), so the step within the block is `step % N`.

    `float32=False` takes the exact value (computed in floating point with a
    relative guard of 16 ulps, so a product that is an integer in exact arithmetic,
    such as $28 \cdot \tfrac17$, is not truncated below it; at $\epsilon = 0$ in
    integers). `float32=True` replays Dream's float32 code (`dream_coefficients`,
    then `int(float32(m) * share)`): at $M = 32$, $N = 8$, $\epsilon = 0$ the steps
    commit 4, 3, 4, 4, 4, 4, 4, 5, and at $N = 32$ one step commits nothing.

    **Forward passes.** Dream runs the model at every step of its grid, so a run's
    NFE is $N$ per block even where a step commits nothing (a wasted pass);
    trilemma charges a pass only to a step that commits (an unchanged input's
    logits are reused), so E[NFE] here is $N$ per block minus the empty steps (31
    against ParallelBench's logged 32 for 32 masks in 32 float32 steps).
    """
    xp = xp_of(sorted_scores)
    length = sorted_scores.shape[-1]
    m = xp.asarray(num_eligible).astype(int)
    i = xp.asarray(step).astype(int) % num_steps
    if float32:
        share = xp.asarray(dream_coefficients(num_steps, eps))[i]
        k = xp.floor(m.astype(xp.float32) * share).astype(int)
    elif eps == 0:
        k = m // xp.maximum(num_steps - i, 1)
    else:
        a = 1.0 - float(eps)
        x = m.astype(float) * a / (float(num_steps) - i.astype(float) * a)
        guard = 16 * float(xp.finfo(x.dtype).eps)
        k = xp.floor(x * (1.0 + guard)).astype(int)
    k = xp.where(i >= num_steps - 1, m, xp.clip(k, 0, m))
    return _one_hot_count(k, length)
