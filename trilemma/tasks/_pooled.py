r"""Pooled prompts: the list tasks and Latin square on items drawn from a pool of names.

The canonical tasks (`_lists`, `_puzzles`) write their items as the tokens $0..n-1$,
so a model trained on them can memorise one prompt. Here a prompt is $n$ *distinct*
items drawn from a pool of $K$ names (tokens $0..K-1$, `POOL_NAMES`) in any order,
as in ParallelBench, and the exact $p^*(Y|X)$ of every such prompt is the canonical
one relabelled, so a model must read the prompt and copy from it.

**Prompt rows.** `(a_0, ..., a_{n-1}[, w][, K + i])`: the items; the new person $W$
(`insert_*`, `replace_*`), another distinct pool item; for the `*_index` tasks the
0-based index $i$ as the index token $K + i$. Latin square: its $n$ symbols in any
order. Outputs are pool tokens, so a model's output token ids are the output values.

**Relabelling.** Let $s = (s_0, \dots, s_{m-1})$ be the prompt's items in prompt order,
$W$ last ($m = n + [W]$), except for `sort`, where $s$ is the items in pool order.
The canonical task's law at its prompt $(0, \dots, n-1[, i])$ (new person $n$) gives
$$p^*(s_{y_1}, \dots, s_{y_L} \mid x) = p^*_{\rm canonical}(y \mid 0..n-1[, i]),$$
a bijection of supports, so $C(Y|X)$, the support size and the grader's verdicts are
the canonical ones. Every task but `sort` is equivariant under any relabelling of the
items; `sort` is equivariant only under order-preserving ones, hence the sorted $s$
(the canonical sort at the prompt's ranks is the identity, mapped to pool order).

**Held-out rule.** A prompt is held out iff its item set $A$ (items and $W$) has
$h(A) \equiv 0 \pmod{8}$, with $h$ the MurmurHash3 32-bit finaliser of the bit mask
$\sum_{a \in A} 2^a \oplus \texttt{HELD\_OUT\_SALT}$ (`held_out`, NumPy and JAX alike).
It depends on the set only, so a held-out set is never a training prompt of any task,
in any order; about 1/8 of the item sets are held out.

>>> task = pooled_task("replace_random", 3, [[0, 1, 2, 3]])
>>> task.show(np.asarray(task.joint.outcomes)[0, 1:])
'Bob Ann Bea'
"""

from __future__ import annotations

import functools

import numpy as np

from .. import _checks
from ._base import Task, build_joint
from ._facts import INDEX_OFFSET, WITH_NEW_WORD
from ._lists import WAITING_LINE

POOL_NAMES = (
    "Abe", "Ann", "Bea", "Bob", "Cal", "Cat", "Dan", "Dee",
    "Eli", "Eve", "Fay", "Flo", "Gus", "Hal", "Ivy", "Jon",
    "Kim", "Lea", "Max", "Ned", "Oda", "Pam", "Quin", "Ray",
    "Sue", "Tom", "Uma", "Vic", "Wes", "Xia", "Yan", "Zoe",
)  # fmt: skip
"""Labels of the pool tokens $0..K-1$: short first names in alphabetical order, so
the pool order `sort` uses is the alphabetical one ($K = 32$)."""

POOL_SIZE = len(POOL_NAMES)
"""Default pool size $K$ (at most 32: the held-out rule hashes a 32-bit item mask)."""

HELD_OUT_MODULUS = 8
"""An item set is held out iff its hash is 0 modulo this (about 1/8 of the sets)."""

HELD_OUT_SALT = 0x5BD1E995
"""XORed into the item mask before hashing."""

POOLED_TASKS = (*WAITING_LINE, "shuffle", "latin_square")
"""The registered tasks with a pooled form (their builders come from `TASKS`)."""


def _builder(name: str):
    from . import TASKS  # the registry (which imports this module)

    return TASKS[name]


"""Tasks with pooled prompts: the ten Waiting Line lists, `shuffle`, `latin_square`."""


def num_items(name: str, n: int) -> int:
    """Distinct pool items in a prompt of `name`: $n$, plus one for $W$."""
    return n + (name in WITH_NEW_WORD)


def num_indices(name: str, n: int) -> int:
    """Index values: $n + 1$ (`insert_index`) or $n$ (`*_index`); 1 for the rest."""
    return n + INDEX_OFFSET[name] if name in INDEX_OFFSET else 1


def prompt_width(name: str, n: int) -> int:
    """Tokens in a prompt row: the items, $W$ and the index token, where there are."""
    return num_items(name, n) + (name in INDEX_OFFSET)


def check_pooled(name, n, pool_size=POOL_SIZE) -> tuple[str, int, int]:
    """Validate a pooled task's `(name, n, pool_size)`; `ValueError`/`TypeError`.

    `n` must be a size the canonical builder accepts and the pool must hold the
    prompt's $n$ (+1 for $W$) distinct items; `pool_size` is at most 32.
    """
    if name not in POOLED_TASKS:
        raise _checks.unknown("pooled task", name, POOLED_TASKS)
    n = _checks.check_int(n, "n", minimum=1)
    canonical_support(name, n)  # the canonical builder validates n
    pool_size = _checks.check_int(
        pool_size, "pool_size", minimum=num_items(name, n), maximum=POOL_SIZE
    )
    return name, n, pool_size


@functools.cache
def canonical_support(name: str, n: int) -> tuple[tuple[np.ndarray, np.ndarray], ...]:
    """The canonical law at prompt $(0..n-1[, i])$, per index $i$: `(rows, probs)`.

    Rows are `(R, L)` int32 slot numbers: token $j < n$ is item $j$, token $n$ is $W$.
    Built by the canonical builder with one prompt (its rows are exactly these
    prompts, index-major for the indexed tasks).
    """
    task = _builder(name)(n)
    outcomes = np.asarray(task.joint.outcomes)
    probs = np.asarray(task.joint.probs, np.float64)
    supports = []
    for i in range(len(task.prompts)):
        here = outcomes[:, 0] == i
        rows = outcomes[here, 1:].astype(np.int32)
        rows.flags.writeable = False
        cond = probs[here] / probs[here].sum()
        cond.flags.writeable = False
        supports.append((rows, cond))
    return tuple(supports)


def held_out(items, xp=np):
    r"""Whether each item set (last axis, distinct pool items < 32) is held out.

    $h = \mathrm{fmix32}(\sum_a 2^a \oplus \texttt{HELD\_OUT\_SALT})$ and the set is
    held out iff $h \bmod 8 = 0$. `xp` is `numpy` or `jax.numpy` (the same bits).

    Args:
      items: `(..., m)` integer array of distinct pool tokens.
      xp: array namespace.

    Returns:
      `(...)` booleans.
    """
    items = xp.asarray(items).astype(xp.uint32)
    one = xp.asarray(1, xp.uint32)
    return held_out_mask(
        xp.sum(xp.left_shift(one, items), axis=-1, dtype=xp.uint32), xp
    )


def held_out_mask(mask, xp=np):
    r"""`held_out` of item sets given as uint32 bit masks $\sum_a 2^a$."""
    h = _fmix32(mask ^ xp.asarray(HELD_OUT_SALT, xp.uint32), xp)
    return h % xp.asarray(HELD_OUT_MODULUS, xp.uint32) == xp.asarray(0, xp.uint32)


def _fmix32(h, xp):
    """MurmurHash3's 32-bit finaliser (wrapping uint32 arithmetic)."""
    h = h ^ (h >> xp.asarray(16, xp.uint32))
    h = h * xp.asarray(0x85EBCA6B, xp.uint32)
    h = h ^ (h >> xp.asarray(13, xp.uint32))
    h = h * xp.asarray(0xC2B2AE35, xp.uint32)
    return h ^ (h >> xp.asarray(16, xp.uint32))


def _sources(name: str, items: np.ndarray) -> np.ndarray:
    """The slot values $s$ of prompt item rows `(N, m)`: in pool order for `sort`."""
    return np.sort(items, axis=-1) if name == "sort" else items


def pooled_task(name: str, n: int, prompts, *, pool_size: int = POOL_SIZE) -> Task:
    r"""The task `name` of size `n` on explicit pooled prompt rows, with exact p*.

    Row $i$ of `prompts` is prompt index $i$ (uniform prompt law); its outputs are
    the canonical support relabelled by the prompt's items (module docstring):
    $p^*(s_{y} \mid x) = p^*_{\rm canonical}(y \mid 0..n-1[, i])$. The grader maps
    each output back through the prompt's relabelling (a token that is not one of
    the prompt's items maps outside the canonical alphabet) and applies the
    canonical task's ParallelBench rule.

    Args:
      name: one of `POOLED_TASKS`.
      n: list length (Latin square: order), as the canonical builder accepts it.
      prompts: `(P, prompt_width(name, n))` integer rows: distinct pool items in
        `[0, pool_size)`, then the index token `pool_size + i` for indexed tasks.
      pool_size: $K$, at least the prompt's number of items, at most 32.

    Returns:
      A `Task` whose joint is over (prompt index, L outputs in `[0, pool_size)`).
    """
    name, n, pool_size = check_pooled(name, n, pool_size)
    prompts = np.asarray(prompts)
    width, m = prompt_width(name, n), num_items(name, n)
    _checks.check_shape(prompts, "prompts", ("num_prompts", width))
    _checks.check_integer_dtype(prompts, "prompts")
    _checks.check_nonempty(prompts, "prompts")
    prompts = prompts.astype(np.int64)
    items = prompts[:, :m]
    inside = ((items >= 0) & (items < pool_size)).all(axis=1)
    distinct = (np.sort(items, axis=1)[:, 1:] != np.sort(items, axis=1)[:, :-1]).all(1)
    count = num_indices(name, n)
    index = prompts[:, m] - pool_size if width > m else np.zeros(len(prompts), int)
    ok_index = (index >= 0) & (index < count)
    allowed = f"{m} distinct pool items in [0, {pool_size - 1}]" + (
        f" then an index token in [{pool_size}, {pool_size + count - 1}]"
        if width > m
        else ""
    )
    _checks.check_rows(inside & distinct & ok_index, prompts, "prompts", allowed)
    _, first = np.unique(prompts, axis=0, return_index=True)
    new = np.zeros(len(prompts), bool)
    new[first] = True
    _checks.check_rows(new, prompts, "prompts", "distinct from the rows above it")
    supports = canonical_support(name, n)
    sources = _sources(name, items)
    order = iter(range(len(prompts)))

    def outputs(prompt):  # build_joint visits the prompts in row order
        row = next(order)
        rows, cond = supports[int(index[row])]
        return sources[row][rows], cond

    length = supports[0][0].shape[1]
    canonical = _builder(name)(n)
    joint = build_joint(
        prompts,
        outputs,
        (pool_size,) * length,
        num_rows=len(prompts) * max(len(rows) for rows, _ in supports),
    )

    def grader(prompt_rows, output_rows):
        prompt_rows = np.asarray(prompt_rows)
        _checks.check_shape(prompt_rows, "prompts", ("N", width))
        y = np.asarray(output_rows)
        _checks.check_shape(y, "outputs", (len(prompt_rows), length))
        source = _sources(name, prompt_rows[:, :m])
        canon_prompt = _relabel(source, prompt_rows[:, :n], m)
        if width > m:
            canon_prompt = np.concatenate(
                [canon_prompt, prompt_rows[:, m:] - pool_size], axis=1
            )
        return canonical.grader(canon_prompt, _relabel(source, y, m))

    labels = (POOL_NAMES[:pool_size],) * length
    return Task(
        name,
        n,
        prompts,
        joint,
        canonical.closed_form,
        canonical.closed_form_source,
        grader,
        labels,
    )


def _relabel(source, tokens, foreign):
    """Slot number of each token in its row's `source`; `foreign` if not there."""
    hit = tokens[:, :, None] == source[:, None, :]
    return np.where(hit.any(axis=2), np.argmax(hit, axis=2), foreign)


def random_prompts(
    name: str,
    n: int,
    num_prompts: int,
    *,
    seed: int = 0,
    held: bool = False,
    pool_size: int = POOL_SIZE,
) -> np.ndarray:
    """Distinct random pooled prompts of `name` at `n`, held in or held out.

    The law, before removing repeats: items a uniformly random injective map into
    the pool (uniform ordered tuple of distinct items), the index uniform, kept iff
    `held_out(items) == held`; the first `num_prompts` distinct rows are returned.
    Seeded by `(seed, task, n, held)` through `np.random.default_rng`.

    Args:
      name: as `pooled_task`.
      n: as `pooled_task`.
      num_prompts: rows wanted.
      seed: base seed.
      held: True for held-out prompts, False for prompts the training law draws.
      pool_size: as `pooled_task`.

    Returns:
      `(num_prompts, prompt_width(name, n))` int64 rows.
    """
    name, n, pool_size = check_pooled(name, n, pool_size)
    num_prompts = _checks.check_int(num_prompts, "num_prompts", minimum=1)
    seed = _checks.check_int(seed, "seed", minimum=0)
    held = _checks.check_bool(held, "held")
    rng = np.random.default_rng([seed, POOLED_TASKS.index(name), n, int(held)])
    m, count = num_items(name, n), num_indices(name, n)
    found: dict[tuple[int, ...], None] = {}
    batch = max(64, 16 * num_prompts)
    for _ in range(64):
        items = np.argsort(rng.random((batch, pool_size)), axis=1)[:, :m]
        rows = items[held_out(items) == held]
        if name in INDEX_OFFSET:
            index = rng.integers(0, count, len(rows))
            rows = np.concatenate([rows, pool_size + index[:, None]], axis=1)
        for row in rows.tolist():
            found.setdefault(tuple(row), None)
        if len(found) >= num_prompts:
            break
    _checks.check_int(num_prompts, "num_prompts", minimum=1, maximum=len(found))
    return np.asarray(list(found)[:num_prompts], np.int64)


def evaluation_tasks(
    name: str, n: int, *, num_prompts: int = 32, seed: int = 0, pool_size=POOL_SIZE
) -> tuple[Task, Task]:
    """`(held_in, held_out)` pooled tasks of `num_prompts` random prompts each.

    Held-in prompts are drawn as the training law draws them; held-out prompts are
    drawn from the item sets the training law never draws (`held_out`).
    """
    return tuple(
        pooled_task(
            name,
            n,
            random_prompts(
                name, n, num_prompts, seed=seed, held=held, pool_size=pool_size
            ),
            pool_size=pool_size,
        )
        for held in (False, True)
    )
