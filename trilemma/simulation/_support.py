r"""The oracle of the exact enumerator: $p^*$'s support rows behind sorted indexes.

A decoding state is a prompt and a token row with the task layout's mask id at the
masked positions.
Its consistent support rows (those that agree with every revealed token) give the
oracle's conditional marginals, and the distinct values they take on a committed set
of positions are the state's valid children. Both are looked up in sorted indexes of
the support, one per pattern of columns and cached, so the work is proportional to
the rows returned rather than to the support.
"""

from __future__ import annotations

import numpy as np

from .._keys import encode
from ..distributions import SparseJoint
from ..oracle import oracle_marginals


class SupportIndex:
    r"""The support of $p^*(Y|X)$ with cached sorted indexes over column patterns.

    Attributes:
      prompt: `(N,)` prompt index of each support row.
      support: `(N, L)` output tokens of each support row.
      weights: `(N,)` $p^*(y|x)$ of each row.
      prompt_mass: `(P,)` the prompt law $p(x)$.
      sizes: `(L,)` alphabet size of each output position.
      mask_id: the token of a masked position.
    """

    def __init__(self, joint: SparseJoint, mask_id: int):
        self.mask_id = mask_id
        outcomes = np.asarray(joint.outcomes).astype(np.int64)
        self.num_prompts = int(joint.sizes[0])
        self.sizes = np.asarray(joint.sizes[1:], np.int64)
        self.length = len(self.sizes)
        self.vocab = int(self.sizes.max())
        self.positions = np.arange(self.length)
        self.prompt = outcomes[:, 0]
        self.support = outcomes[:, 1:]
        probs = np.asarray(joint.probs, float)
        self.prompt_mass = np.bincount(
            self.prompt, weights=probs, minlength=self.num_prompts
        )
        self.weights = probs / self.prompt_mass[self.prompt]
        self._indexes: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        self._blocks: dict[int, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}

    def rows(self, prompt, tokens) -> tuple[np.ndarray, np.ndarray]:
        """CSR `(start, rows)`: the support rows consistent with each state.

        Args:
          prompt: `(S,)` prompt index of each state.
          tokens: `(S, L)` tokens, `mask_id` where masked.

        Returns:
          `rows[start[i]:start[i + 1]]` are the support rows consistent with state i.
        """
        revealed = tokens != self.mask_id
        pattern = revealed @ (1 << np.arange(self.length))
        counts = np.zeros(len(prompt), np.int64)
        parts = []
        for bits, members in _groups(pattern):
            cols = np.nonzero(revealed[members[0]])[0]
            order, keys = self._index(int(bits), cols)
            wanted = self._keys(prompt[members], tokens[members][:, cols], cols)
            lo = np.searchsorted(keys, wanted, side="left")
            hi = np.searchsorted(keys, wanted, side="right")
            counts[members] = hi - lo
            parts.append((members, lo, hi - lo, order))
        start = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
        rows = np.zeros(start[-1], np.int64)
        for members, lo, count, order in parts:
            rows[_ranges(start[members], count)] = order[_ranges(lo, count)]
        return start, rows

    def children(self, prompt, tokens, selected) -> tuple[np.ndarray, np.ndarray]:
        """`(row, support row)` for each distinct valid child of each branch.

        A branch is a state (prompt and tokens) with a committed set of positions.
        The support is sorted by (prompt, revealed columns, committed columns), one
        index per pair of column sets (cached): a state's consistent rows are then one
        contiguous block, and its distinct children are the runs of equal committed
        values inside it, so the work is proportional to the children returned.

        Args:
          prompt: `(R,)` prompt index of each branch.
          tokens: `(R, L)` the branch's state, `mask_id` where masked.
          selected: `(R, L)` booleans, the committed positions.

        Returns:
          The branch (index into the `R` rows) and a support row holding the child's
          committed values, one pair per child.
        """
        revealed = tokens != self.mask_id
        bits = 1 << np.arange(self.length, dtype=np.int64)
        group = (revealed @ bits) * (1 << self.length) + selected @ bits
        out_row, out_support = [], []
        for key, members in _groups(group):
            r_cols = np.nonzero(revealed[members[0]])[0]
            a_cols = np.nonzero(selected[members[0]])[0]
            order, prefix, runs = self._block_index(int(key), r_cols, a_cols)
            wanted = self._keys(prompt[members], tokens[members][:, r_cols], r_cols)
            lo = np.searchsorted(prefix, wanted, side="left")
            hi = np.searchsorted(prefix, wanted, side="right")
            first, last = np.searchsorted(runs, lo), np.searchsorted(runs, hi)
            count = last - first
            out_row.append(np.repeat(members, count))
            out_support.append(order[runs[_ranges(first, count)]])
        if not out_row:
            return np.zeros(0, np.int64), np.zeros(0, np.int64)
        return np.concatenate(out_row), np.concatenate(out_support)

    def marginals(self, off, start, rows) -> np.ndarray:
        """Oracle marginals `(S, L, V)` of every state; uniform for off-support ones.

        Args:
          off: `(S,)` booleans, the states already off the support (mask patterns).
          start: CSR offsets (`rows`) of the states that are not `off`, in order.
          rows: their consistent support rows.
        """
        live = np.nonzero(~off)[0]
        state_of_pair = live[np.repeat(np.arange(len(live)), np.diff(start))]
        return oracle_marginals(
            state_of_pair,
            self.weights[rows],
            self.support[rows],
            len(off),
            self.sizes,
            self.vocab,
        )

    def _keys(self, prompt, cols, positions) -> np.ndarray:
        """Sortable int64 keys of (prompt, values at `positions`) rows.

        `prompt=None` leaves the prompt out of the key.
        """
        radices = [int(self.sizes[c]) for c in positions]
        columns = list(cols.T)
        if prompt is not None:
            radices, columns = [self.num_prompts, *radices], [prompt, *columns]
        key = encode(columns, radices) if columns else np.zeros(len(cols), np.int64)
        if key is None:
            raise ValueError(
                "a support key needs more than 63 bits; the task is too large to "
                "simulate"
            )
        return key

    def _index(self, bits: int, cols):
        if bits not in self._indexes:
            keys = self._keys(self.prompt, self.support[:, cols], cols)
            order = np.argsort(keys, kind="stable")
            self._indexes[bits] = (order, keys[order])
        return self._indexes[bits]

    def _block_index(self, key: int, r_cols, a_cols):
        if key not in self._blocks:
            prefix = self._keys(self.prompt, self.support[:, r_cols], r_cols)
            rest = self._keys(None, self.support[:, a_cols], a_cols)
            order = np.lexsort((rest, prefix))
            prefix, rest = prefix[order], rest[order]
            change = np.ones(len(order), bool)
            change[1:] = (prefix[1:] != prefix[:-1]) | (rest[1:] != rest[:-1])
            self._blocks[key] = (order, prefix, np.nonzero(change)[0])
        return self._blocks[key]


def _groups(keys):
    """`(key, indices)` for each distinct key, from one stable sort."""
    order = np.argsort(keys, kind="stable")
    sorted_keys = keys[order]
    cuts = np.nonzero(sorted_keys[1:] != sorted_keys[:-1])[0] + 1
    for chunk in np.split(order, cuts):
        if len(chunk):
            yield keys[chunk[0]], chunk


def _ranges(begin, length):
    """Concatenation of arange(b, b + n) for each pair."""
    ends = np.cumsum(length)
    return np.repeat(begin - (ends - length), length) + np.arange(
        ends[-1] if len(ends) else 0
    )
