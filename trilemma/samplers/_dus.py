r"""DUS, the dilated unmasking scheduler (Luxembourg, Permuter & Nachmani).

"Plan for Speed: Dilated Scheduling for Masked Diffusion Language Models", arXiv
2506.19037. Within each semi-autoregressive block of $B$ positions, DUS reveals the
positions in *dilation levels* fixed in advance, one level per forward pass: first a
few mutually distant positions, then the ones halfway between them, and so on. With
base $a$ and the block's offsets $0, \dots, B-1$, the strides are $s_j = \lfloor B /
a^{e + j} \rfloor$ for $j = 0, 1, \dots$ while $s_j \ge 1$ ($e$ = `base_skip`); level
$j$ holds the offsets divisible by $s_j$ and by no earlier stride, a last level holds
whatever no stride reached, and when that last level is smaller than the one before,
the two are merged (both the authors' `generate.py` and ParallelBench's port do
this). For $B = 2^r$ and base 2 the levels are $\{0, B/2\}$, then the odd multiples
of $B/4$, of $B/8$, ..., of 1: $\log_2 B$ passes per block ($B = 8$: $\{0, 4\}$,
$\{2, 6\}$, $\{1, 3, 5, 7\}$), and $B = 1$ takes one.

As a trilemma `Sampler` this is a **score** and a **count**: the score of a position
is minus its level (so the current level ranks first; its positions tie and are all
committed together), and the count is the size of the current level, read off the
block size and the masks left in it (no state: the levels are committed in order).
A partial last block (a window that is not a multiple of $B$, or $B$ larger than the
window) is scheduled by the same rule on its own length.

**Remasking (not modelled).** The authors' code and ParallelBench's port both re-mask,
after every level but the block's last, each position just committed whose token's
confidence is below a threshold (`confidence_threshold` / `dus_remasking_threshold`,
0.3 in their runs). No later level contains it, so it stays masked to the end of
decoding: the output keeps a mask token there. That needs state (which positions
were given up) and an output that is not finished, which the `Sampler` design does
not carry; this module is DUS with remasking off (threshold 0, which both codes
accept: `remasking='none'`, `if remasking_threshold > 0`).

Sources: the authors' `generate.py` (omerlux/DUS @ abd7723: `generate_scheduled`,
`dilated_unmask_levels`, `merge_last_level`) and ParallelBench's port
(`parallelbench/models/local/llada/dus_generate.py` @ 21e6222). This module is
written from their rule, not from their code.
"""

from __future__ import annotations

import functools

import numpy as np

from .. import _checks
from . import rules
from ._sampler import Sampler, _build, bind

MAX_BASE_SKIP = 62
"""Largest `base_skip` (the first stride is B // base**base_skip)."""


def dilated_levels(
    size: int, *, base: int = 2, base_skip: int = 1
) -> tuple[tuple[int, ...], ...]:
    r"""DUS's levels of a block of `size` positions: offsets revealed per pass.

    >>> dilated_levels(8)
    ((0, 4), (2, 6), (1, 3, 5, 7))
    >>> dilated_levels(5)  # {0, 2, 4}, {1, 3}: the smaller last level is merged
    ((0, 1, 2, 3, 4),)
    >>> dilated_levels(1), dilated_levels(2)
    (((0,),), ((0, 1),))

    Args:
      size: the block's length (>= 1).
      base: the dilation base $a$ (>= 1; 1 reveals the block in one pass).
      base_skip: the first stride is $\lfloor B / a^{e} \rfloor$ with $e$ =
        `base_skip` (>= 1; the authors' `base_skip`, fixed at 1 by the port).

    Returns:
      The levels in order, each a sorted tuple of offsets in `0..size-1`.
    """
    size = _checks.check_int(size, "size", minimum=1)
    base = _checks.check_int(base, "base", minimum=1)
    base_skip = _checks.check_int(
        base_skip, "base_skip", minimum=1, maximum=MAX_BASE_SKIP
    )
    if base == 1:
        return (tuple(range(size)),)
    level = [-1] * size
    levels: list[list[int]] = []
    stride = size // base**base_skip
    while stride >= 1:
        new = [o for o in range(0, size, stride) if level[o] < 0]
        for o in new:
            level[o] = len(levels)
        levels.append(new)  # never empty: `stride` itself is new
        stride //= base
    rest = [o for o in range(size) if level[o] < 0]
    if rest:
        levels.append(rest)
    if len(levels) >= 2 and len(levels[-1]) < len(levels[-2]):
        levels[-2:] = [sorted(levels[-2] + levels[-1])]
    return tuple(tuple(sorted(lv)) for lv in levels)


@functools.lru_cache(maxsize=32)
def _tables(largest: int, base: int, base_skip: int):
    """Static tables for blocks of 1..`largest` positions.

    Returns `(level (largest + 1, largest), ends (largest + 1, J))`: the level of
    each offset in a block of each size (0 past the block), and the cumulative
    level sizes of each block size (the block size past its last level).
    """
    schedules = [()] + [
        dilated_levels(b, base=base, base_skip=base_skip) for b in range(1, largest + 1)
    ]
    width = max(len(s) for s in schedules)
    level = np.zeros((largest + 1, max(largest, 1)), np.int32)
    ends = np.zeros((largest + 1, width), np.int64)
    for b, schedule in enumerate(schedules):
        for j, offsets in enumerate(schedule):
            level[b, list(offsets)] = j
        sizes = np.cumsum([len(offsets) for offsets in schedule] or [0])
        ends[b, : len(sizes)] = sizes
        ends[b, len(sizes) :] = b
    level.setflags(write=False)
    ends.setflags(write=False)
    return level, ends


def _largest(block: int | None, length: int) -> int:
    """The longest block of a sequence of `length`: B, or the whole sequence."""
    return max(1, length if block is None else min(block, length))


def dus_score(probs, positions, *, block, base, base_skip):
    r"""Minus each position's DUS level within its block (the current level first).

    `positions` are offsets from the start of the generation window, which runs to
    the end of the sequence: block $b$ holds offsets $bB, \dots, bB + B - 1$, and a
    partial last block is scheduled on its own length.
    """
    xp = rules.xp_of(probs)
    length = positions.shape[-1]
    largest = _largest(block, length)
    level, _ = _tables(largest, base, base_skip)
    offset = xp.maximum(xp.asarray(positions).astype(int), 0)
    window = offset[-1] + 1
    index = offset // largest
    size = xp.clip(window - index * largest, 1, largest)
    within = xp.minimum(offset - index * largest, largest - 1)
    rank = xp.asarray(level)[size, within]
    return xp.broadcast_to(-rank.astype(probs.dtype)[:, None], probs.shape)


def dus_count(sorted_scores, num_eligible, block_size, step, *, block, base, base_skip):
    r"""The size of the block's current DUS level, read off the masks left in it.

    With $d$ = block size $-$ masks left positions committed, the levels before the
    current one hold exactly $d$ (they are committed in order), so the count is the
    first cumulative level size above $d$, minus $d$.
    """
    xp = rules.xp_of(sorted_scores)
    length = sorted_scores.shape[-1]
    largest = _largest(block, length)
    _, ends = _tables(largest, base, base_skip)
    m = xp.asarray(num_eligible).astype(int)
    size = xp.clip(xp.asarray(block_size).astype(int), 0, largest)
    done = size - m
    row = xp.asarray(ends)[size]
    above = xp.where(row > done[..., None], row, largest + 1)
    count = xp.min(above, axis=-1) - done
    count = xp.clip(count, xp.minimum(m, 1), m)
    return rules._one_hot_count(count, length)


def dus(
    *,
    block: int | None = None,
    base: int = 2,
    base_skip: int = 1,
    temperature: float = 0.0,
) -> Sampler:
    r"""DUS: a block's positions in dilated levels, one level per pass (log2 B passes).

    Luxembourg, Permuter & Nachmani, arXiv 2506.19037. Blocks of `block` positions
    decode left to right; within one, the first pass commits offsets 0 and B/2, the
    next the odd multiples of B/4, then of B/8, ..., then of 1 (base 2): positions
    committed together are far apart. The authors' and ParallelBench's re-masking of
    low-confidence tokens is not modelled (see `trilemma.samplers._dus`).

    Args:
      block: block length B (ParallelBench sweeps 1, 2, 4, ..., 32; the authors'
        example uses 32); None: one block, the whole generation window.
      base: dilation base (>= 1; both codes default to 2; 1 commits a block in one
        pass).
      base_skip: the first stride is B // base**base_skip (the authors'
        `base_skip`, default 1, which ParallelBench's port fixes).
      temperature: 0 for greedy (uniform ties; ParallelBench's port is always
        greedy), else sample from p**(1/temperature).
    """
    if block is not None:
        block = _checks.check_int(block, "block", minimum=1)
    base = _checks.check_int(base, "base", minimum=1, maximum=2**31 - 1)
    base_skip = _checks.check_int(
        base_skip, "base_skip", minimum=1, maximum=MAX_BASE_SKIP
    )
    settings = {"block": block, "base": base, "base_skip": base_skip}
    return _build(
        "dus",
        bind(dus_score, **settings),
        bind(dus_count, **settings),
        temperature=temperature,
        block=block,
        base=base,
        base_skip=base_skip,
    )
