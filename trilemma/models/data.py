r"""Training sequences drawn from exact laws: one task, or a multi-task set on a pool.

`sequence_sampler(task)` draws `[prefix, y]` rows of one task in the task's layout.

`TaskSet` is the multi-task vocabulary and layout of the embedded default dLLM
(`default_task_set`): pooled prompts (`trilemma.tasks.pooled_task`) of several
(task, n) groups, every sequence of one length $S$ so that one compiled kernel
trains and decodes them all. With $K$ pool tokens, $I$ index tokens and $G'$ task
names the vocabulary is

| ids | tokens |
|---|---|
| $0..K-1$ | pool items (`POOL_NAMES`) |
| $K..K+I-1$ | index $i$ of the `*_index` tasks |
| $K+I..K+I+G'-1$ | one token per task name |
| $K+I+G'$, $+1$, $+2$ | PAD, SEP, MASK (`mask_id = vocab_size - 1`) |

and a sequence of group $(t, n)$ is `[PAD]*pad + [task t] + prompt row + [SEP] + y`
with $y$ the $L_{t,n}$ outputs and `pad` $= S - L_{t,n} - w_{t,n} - 2$ (left
padding; $w$ the prompt width), $S = \max_{(t,n)} (L + w + 2)$.
`task_set_sampler(task_set)` draws such sequences from the mixture
$$p(g, x, y) = \tfrac{1}{G}\,p_g(x)\,p^*_g(y \mid x),$$
$p_g$ uniform over the prompts of group $g$ that are not held out.
"""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np

from .. import _checks
from ..layout import TokenLayout, task_layout
from ..tasks import _pooled
from ..tasks import waiting_line_tasks as _waiting_line_tasks


def sequence_sampler(task):
    """`draw(key, batch) -> (batch, S)` clean sequences `[prefix, y]`, (x, y) ~ p*.

    The joint's rows (prompt index, outputs) are drawn by their probabilities and
    laid out with the task's layout; jittable (the tables are closed over).
    """
    layout = task_layout(task)
    outcomes = np.asarray(task.joint.outcomes).astype(np.int32)
    sequences = jnp.asarray(
        np.concatenate([layout.prefixes[outcomes[:, 0]], outcomes[:, 1:]], axis=1)
    )
    logits = jnp.log(jnp.asarray(np.asarray(task.joint.probs, float)))

    def draw(key, batch: int):
        return sequences[jax.random.categorical(key, logits, shape=(batch,))]

    return draw


DEFAULT_GROUPS = (
    *((name, n) for name in (*_waiting_line_tasks(), "shuffle") for n in range(3, 7)),
    ("latin_square", 3),
)
"""The default dLLM's (task, n) groups: the ten Waiting Line tasks and `shuffle` at
n = 3..6, and Latin square 3x3 (45 groups)."""


@dataclasses.dataclass(frozen=True, eq=False)
class TaskSet:
    """The vocabulary and the one sequence length of a set of pooled (task, n) groups.

    Attributes:
      groups: `(task name, n)` pairs, each one of `POOLED_TASKS` at a valid n.
      pool_size: $K$, the pool tokens $0..K-1$.
    """

    groups: tuple[tuple[str, int], ...] = DEFAULT_GROUPS
    pool_size: int = _pooled.POOL_SIZE

    def __post_init__(self):
        groups = tuple(self.groups)
        _checks.check_int(len(groups), "number of groups", minimum=1)
        checked = []
        for group in groups:
            name, n = group
            name, n, _ = _pooled.check_pooled(name, n, self.pool_size)
            checked.append((name, n))
        object.__setattr__(self, "groups", tuple(checked))
        _checks.check_int(
            len(set(checked)), "number of distinct groups", minimum=len(checked)
        )

    @property
    def task_names(self) -> tuple[str, ...]:
        """The distinct task names, in the order of `groups`."""
        return tuple(dict.fromkeys(name for name, _ in self.groups))

    @property
    def num_index_tokens(self) -> int:
        """$I$: the largest number of indices over the indexed groups (0 if none)."""
        indexed = [
            _pooled.num_indices(name, n)
            for name, n in self.groups
            if _pooled.prompt_width(name, n) > _pooled.num_items(name, n)
        ]
        return max(indexed, default=0)

    def index_token(self, i: int) -> int:
        """Token id of index $i$: $K + i$."""
        return self.pool_size + _checks.check_int(
            i, "index", minimum=0, maximum=self.num_index_tokens - 1
        )

    def task_token(self, name: str) -> int:
        """Token id of task `name`: $K + I + $ its position in `task_names`."""
        if name not in self.task_names:
            raise _checks.unknown("task of this set", name, self.task_names)
        return self.pool_size + self.num_index_tokens + self.task_names.index(name)

    @property
    def pad_id(self) -> int:
        """The PAD token."""
        return self.pool_size + self.num_index_tokens + len(self.task_names)

    @property
    def sep_id(self) -> int:
        """The SEP token (ends every prompt prefix)."""
        return self.pad_id + 1

    @property
    def mask_id(self) -> int:
        """The MASK token, the last of the vocabulary."""
        return self.pad_id + 2

    @property
    def vocab_size(self) -> int:
        """$V = K + I + G' + 3$."""
        return self.mask_id + 1

    @property
    def vocabulary(self) -> tuple[str, ...]:
        """Names of the tokens $0..V-1$."""
        return (
            *_pooled.POOL_NAMES[: self.pool_size],
            *(f"#{i}" for i in range(self.num_index_tokens)),
            *(f"<{name}>" for name in self.task_names),
            "<pad>",
            "<sep>",
            "<mask>",
        )

    def output_length(self, name: str, n: int) -> int:
        """$L$ of group `(name, n)`."""
        group = self.check_group(name, n)
        return int(_pooled.canonical_support(*group)[0][0].shape[1])

    @property
    def sequence_length(self) -> int:
        r"""$S = \max (L + w + 2)$ over the groups, shared by every sequence."""
        return max(
            self.output_length(name, n) + _pooled.prompt_width(name, n) + 2
            for name, n in self.groups
        )

    def check_group(self, name, n) -> tuple[str, int]:
        """`(name, n)`, if it is one of the set's groups; else `ValueError`."""
        if name not in self.task_names:
            raise _checks.unknown("task of this set", name, self.task_names)
        sizes = [k for t, k in self.groups if t == name]
        return name, _checks.check_one_of(_checks.check_int(n, "n"), "n", sizes)

    def prefixes(self, name: str, n: int, prompts) -> np.ndarray:
        """`(P, S - L)` prefixes `[PAD..., task, prompt row, SEP]` of prompt rows."""
        name, n = self.check_group(name, n)
        prompts = np.asarray(prompts)
        width = _pooled.prompt_width(name, n)
        _checks.check_shape(prompts, "prompts", ("num_prompts", width))
        _checks.check_integer_dtype(prompts, "prompts")
        pad = self.sequence_length - self.output_length(name, n) - width - 2
        count = len(prompts)
        return np.concatenate(
            [
                np.full((count, pad), self.pad_id, np.int32),
                np.full((count, 1), self.task_token(name), np.int32),
                prompts.astype(np.int32),
                np.full((count, 1), self.sep_id, np.int32),
            ],
            axis=1,
        )

    def layout(self, task) -> TokenLayout:
        """The layout of a pooled task of this set: `prefixes[i]` is prompt index $i$.

        `T.Model(logits_fn, params, task_set.layout(task))` decodes the task's
        prompts with `decode_batch` in sequences of `sequence_length` tokens.
        """
        prefixes = self.prefixes(task.name, task.n, task.prompts)
        length = self.output_length(task.name, task.n)
        _checks.check_one_of(
            tuple(int(k) for k in task.joint.sizes[1:]),
            "the task's output alphabets",
            [(self.pool_size,) * length],
        )
        return TokenLayout(
            prefixes=prefixes,
            sizes=(self.pool_size,) * length,
            vocab_size=self.vocab_size,
            mask_id=self.mask_id,
            labels=(self.vocabulary,) * length,
        )

    def evaluation_tasks(self, *, num_prompts: int = 32, seed: int = 0) -> dict:
        """`{(name, n): (held_in, held_out)}` pooled tasks of every group.

        Each task has `num_prompts` distinct random prompts (`random_prompts`); the
        held-out ones are item sets the training sampler never draws. Decode one with
        `T.Model(logits_fn, params, task_set.layout(task))`.
        """
        return {
            (name, n): self.evaluation_pair(name, n, num_prompts=num_prompts, seed=seed)
            for name, n in self.groups
        }

    def evaluation_pair(self, name: str, n: int, *, num_prompts: int = 32, seed=0):
        """`(held_in, held_out)` pooled tasks of one group (see `evaluation_tasks`)."""
        name, n = self.check_group(name, n)
        return _pooled.evaluation_tasks(
            name, n, num_prompts=num_prompts, seed=seed, pool_size=self.pool_size
        )

    def output_positions(self, tokens):
        """Booleans `(..., S)`: True after the SEP token (the output positions)."""
        tokens = jnp.asarray(tokens)
        seen = jnp.cumsum(tokens == self.sep_id, axis=-1) > 0
        return seen & (tokens != self.sep_id)


def default_task_set() -> TaskSet:
    """The embedded default dLLM's set: `DEFAULT_GROUPS` on the pool of 32 names.

    >>> task_set = default_task_set()
    >>> task_set.vocab_size, task_set.mask_id, task_set.sequence_length
    (54, 53, 17)
    >>> from trilemma.tasks import pooled_task
    >>> task = pooled_task("insert_index", 3, [[4, 0, 9, 2, 33]])  # W = Bea, i = 1
    >>> [task_set.vocabulary[t] for t in task_set.layout(task).initial_tokens(0)]
    ... # doctest: +NORMALIZE_WHITESPACE
    ['<pad>', '<pad>', '<pad>', '<pad>', '<pad>', '<pad>', '<insert_index>', 'Cal',
     'Abe', 'Eve', 'Bea', '#1', '<sep>', '<mask>', '<mask>', '<mask>', '<mask>']
    """
    return TaskSet()


def task_set_sampler(task_set: TaskSet):
    r"""`draw(key, batch) -> (batch, S)` int32 clean sequences of the set's mixture.

    Exact law, by integer draws only: the group $g$ uniform on $G$ groups, the index
    $i$ uniform on the group's $I_g$ indices, the output row uniform on the $R_{g,i}$
    rows of the canonical support (every pooled task's $p^*(\cdot|x)$ is uniform on
    its support; checked when the tables are built), so
    $p(g, i, y) = \frac{1}{G}\frac{1}{I_g}p^*(y \mid i)$. The items are a uniformly
    random injective map into the pool (a partial Fisher-Yates shuffle), redrawn for
    the rows whose set is held out until none is (rejection: uniform on the held-in
    item tuples). The sequence is the group's template with item slots filled in.
    Jittable, the tables closed over.

    `draw(key, batch, group_logits)` draws the group by `group_logits` (a traced
    `(G,)` array of unnormalised log-probabilities: changing them does not
    recompile) instead of uniformly; the rest of the law is the same given $g$.
    `draw.with_groups(key, batch, group_logits=None)` also returns the `(batch,)`
    group of each row (its index in `task_set.groups`).

    Args:
      task_set: the groups and vocabulary.

    Returns:
      `draw(key, batch, group_logits=None)`; `batch` is static under `jit`.
    """
    _checks.check_instance(task_set, "task_set", TaskSet)
    size, pool = task_set.sequence_length, task_set.pool_size
    most = max(_pooled.num_items(name, n) for name, n in task_set.groups)
    literal, slots, items_of_row = [], [], []
    num_groups = len(task_set.groups)
    most_indices = max(_pooled.num_indices(name, n) for name, n in task_set.groups)
    offsets = np.zeros((num_groups, most_indices), np.int32)
    counts = np.ones((num_groups, most_indices), np.int32)
    indices = np.zeros(num_groups, np.int32)
    start_row = 0
    for g, (name, n) in enumerate(task_set.groups):
        m = _pooled.num_items(name, n)
        width = _pooled.prompt_width(name, n)
        supports = _pooled.canonical_support(name, n)
        indices[g] = len(supports)
        for i, (rows, cond) in enumerate(supports):
            _checks.check_rows(
                [np.allclose(cond, 1.0 / len(cond), rtol=1e-12, atol=0.0)],
                [name],
                "canonical law",
                "uniform on its support (the sampler draws rows uniformly)",
            )
            index = np.full(width - m, pool + i, np.int64)
            prompt = np.concatenate([np.zeros(m, np.int64), index])
            head = task_set.prefixes(name, n, prompt[None, :])[0]
            count = len(rows)
            lit = np.zeros((count, size), np.int32)
            lit[:, : len(head)] = head
            slot = np.full((count, size), -1, np.int32)
            first = len(head) - 1 - width
            slot[:, first : first + m] = np.arange(m)
            # sort's outputs come from the items in pool order: slots `most + j`
            slot[:, len(head) :] = rows + (most if name == "sort" else 0)
            literal.append(lit)
            slots.append(slot)
            items_of_row.append(np.full(count, m, np.int32))
            offsets[g, i], counts[g, i] = start_row, count
            start_row += count
    literal = jnp.asarray(np.concatenate(literal))
    slots = jnp.asarray(np.concatenate(slots))
    items_of_row = jnp.asarray(np.concatenate(items_of_row))
    offsets, counts = jnp.asarray(offsets), jnp.asarray(counts)
    indices = jnp.asarray(indices)
    positions = jnp.arange(most, dtype=jnp.int32)

    def shuffled(key, batch):
        """`(batch, most)` distinct pool items: a partial Fisher-Yates shuffle."""
        perm = jnp.broadcast_to(jnp.arange(pool, dtype=jnp.int32), (batch, pool))
        rows = jnp.arange(batch)
        for j, k in enumerate(jax.random.split(key, most)):
            r = jax.random.randint(k, (batch,), j, pool, dtype=jnp.int32)
            here, there = perm[:, j], perm[rows, r]
            perm = perm.at[:, j].set(there).at[rows, r].set(here)
        return perm[:, :most]

    def held(perm, m):
        bits = jnp.left_shift(jnp.uint32(1), perm.astype(jnp.uint32))
        used = positions[None, :] < m[:, None]
        mask = jnp.sum(jnp.where(used, bits, jnp.zeros_like(bits)), axis=1)
        return _pooled.held_out_mask(mask.astype(jnp.uint32), jnp)

    def draw_with_groups(key, batch: int, group_logits=None):
        key_g, key_i, key_r, key_items = jax.random.split(key, 4)
        if group_logits is None:
            g = jax.random.randint(key_g, (batch,), 0, num_groups, dtype=jnp.int32)
        else:
            g = jax.random.categorical(
                key_g, jnp.asarray(group_logits), shape=(batch,)
            ).astype(jnp.int32)
        i = jax.random.randint(key_i, (batch,), 0, indices[g], dtype=jnp.int32)
        count = counts[g, i]
        row = offsets[g, i] + jax.random.randint(key_r, (batch,), 0, count, jnp.int32)
        m = items_of_row[row]

        def redraw(state):
            k, perm, bad = state
            k, sub = jax.random.split(k)
            fresh = shuffled(sub, batch)
            perm = jnp.where(bad[:, None], fresh, perm)
            return k, perm, held(perm, m)

        key_items, sub = jax.random.split(key_items)
        perm = shuffled(sub, batch)
        _, perm, _ = jax.lax.while_loop(
            lambda state: jnp.any(state[2]), redraw, (key_items, perm, held(perm, m))
        )
        used = positions[None, :] < m[:, None]
        ordered = jnp.sort(jnp.where(used, perm, jnp.full_like(perm, pool)), axis=1)
        source = jnp.concatenate([perm, ordered], axis=1)  # (batch, 2 * most)
        slot = slots[row]
        filled = jnp.take_along_axis(source, jnp.maximum(slot, 0), axis=1)
        return jnp.where(slot >= 0, filled, literal[row]), g

    def draw(key, batch: int, group_logits=None):
        return draw_with_groups(key, batch, group_logits)[0]

    draw.with_groups = draw_with_groups
    return draw


def group_ideal_losses(task_set: TaskSet) -> np.ndarray:
    r"""$h_g = H(Y \mid X)/L_g$ of every group (nats per output token), exact.

    The ideal model's loss on group $g$ under both training objectives: the
    masked-diffusion objective with the exact conditionals is the expected
    any-order NLL $-\log p^*(y \mid x)/L$, and the AR objective its left-to-right
    chain. Under the sampler's law the index $i$ is uniform on the group's
    $I_g$ indices and the item map is injective, so
    $H(Y \mid X) = \frac{1}{I_g}\sum_i H(p^*(\cdot \mid i))$ from the canonical
    supports (`trilemma.conditional_entropy` of the canonical task gives the same;
    tested).
    """
    _checks.check_instance(task_set, "task_set", TaskSet)
    ideal = []
    for name, n in task_set.groups:
        supports = _pooled.canonical_support(name, n)
        entropy = np.mean([-np.sum(c * np.log(c)) for _, c in supports])
        ideal.append(entropy / task_set.output_length(name, n))
    return np.asarray(ideal, np.float64)
