r"""The invalid part of $q$ on the dense output space, for $H(q(Y|X))$ over all outputs.

The enumerator follows only the valid children of a state; the mass that leaves the
support is a product of class-restricted token laws on the committed positions,
minus the valid children, times the uniform law on the positions still masked (every
completion of an off-support state is uniform and independent). `InvalidSpread` adds
those parts up on the dense array of all (prompt, output) cells, within a budget of
cell writes, and gives the entropy of the whole law at the end.
"""

from __future__ import annotations

import math

import numpy as np

from .. import _checks

FLUSH = 10_000_000
"""Pending (index, mass) pairs of the invalid part before they are added up."""


class InvalidSpread:
    """The dense law of all outputs, built from the enumerator's departing rows.

    Args:
      sizes: the joint's sizes, (prompt, output positions).
      budget: cell writes allowed; past it (or when the dense array has more cells
        than the budget or more bytes than the memory budget) the spread gives up and
        `active` is False.
    """

    def __init__(self, sizes, budget: int, mask_id: int):
        self.mask_id = mask_id
        cells = _checks.cells(sizes)
        fits = cells <= budget and cells * 8 <= _checks.max_bytes()
        self.budget = budget
        self.sizes = [int(k) for k in sizes[1:]]
        # a dense array, plus pending (flat index, mass) pairs added to it in batches
        self.dense = np.zeros(cells) if fits else None
        self.pending: list[tuple[np.ndarray, np.ndarray]] = []
        self.num_pending = 0
        sizes = np.asarray(sizes, np.int64)
        self.strides = np.concatenate([np.cumprod(sizes[::-1])[::-1][1:], [1]])

    @property
    def active(self) -> bool:
        """Whether the dense law is still being built (within the budget)."""
        return self.dense is not None

    def add(self, tokens, prompt, branches, laws, departed, children) -> None:
        """Add the invalid mass of the departing rows to the dense law of all outputs.

        A row commits a set A of positions, drawing their tokens from the product of
        the class-restricted laws; an invalid draw is completed uniformly. The invalid
        part is therefore (product - valid children) on A, times uniform on the
        positions still masked after A. Rows with the same masked set and A are
        handled together.

        Args:
          tokens: `(S, L)` the level's states, the mask id where masked.
          prompt: `(S,)` their prompt indices.
          branches: `(src, chosen, selected, weight)` of the level's rows.
          laws: `(pi, class_id, class_prob)` of the level's states.
          departed: the rows whose mass partly leaves the support.
          children: `(row, tokens, mass)` of the valid children of every row.
        """
        src, chosen, selected, weight = branches
        pi, class_id, class_prob = laws
        pair_row, child_tokens, child_mass = children
        sizes = self.sizes
        length = len(sizes)
        masked = tokens[src] == self.mask_id
        bits = 1 << np.arange(2 * length, dtype=np.int64)
        signature = np.concatenate([masked, selected], axis=1) @ bits
        departing = np.zeros(len(src), bool)
        departing[departed] = True
        # sort departing rows, and the valid children of departing rows, by signature
        rows_sorted = departed[np.argsort(signature[departed], kind="stable")]
        row_sigs = signature[rows_sorted]
        child_idx = np.nonzero(departing[pair_row])[0]
        child_idx = child_idx[np.argsort(signature[pair_row[child_idx]], kind="stable")]
        child_sigs = signature[pair_row[child_idx]]
        for sig in np.unique(row_sigs):
            lo, hi = np.searchsorted(row_sigs, [sig, sig + 1])
            rows = np.sort(rows_sorted[lo:hi])
            c_lo, c_hi = np.searchsorted(child_sigs, [sig, sig + 1])
            child = child_idx[c_lo:c_hi]
            committed = np.nonzero(selected[rows[0]])[0]
            free = np.nonzero(masked[rows[0]] & ~selected[rows[0]])[0]
            combos = math.prod(sizes[j] for j in committed)
            spread = math.prod(sizes[j] for j in free)
            state = src[rows]
            self.budget -= len(np.unique(state)) * combos * spread
            if self.budget < 0:
                self.dense, self.pending = None, []
                return
            part = weight[rows][:, None]
            for j in committed:  # product of class-restricted laws, last axis fastest
                law = pi[state, j, : sizes[j]] * (
                    class_id[state, j, : sizes[j]] == chosen[rows, j][:, None]
                )
                law = law / class_prob[state, j, chosen[rows, j]][:, None]
                part = (part[:, :, None] * law[:, None, :]).reshape(len(rows), -1)
            # remove the valid children of each row
            row_pos = np.searchsorted(rows, pair_row[child])
            code = np.zeros(len(child), np.int64)
            for j in committed:
                code = code * sizes[j] + child_tokens[child, j]
            np.subtract.at(part, (row_pos, code), child_mass[child])
            part = np.clip(part, 0.0, None) / spread
            # rows of one state (several class choices or tie subsets) add up first
            state, inverse = np.unique(state, return_inverse=True)
            merged = np.zeros((len(state), combos))
            np.add.at(merged, inverse.ravel(), part)
            part = merged
            # flat indices: prompt and revealed positions fixed, committed positions
            # enumerated (last fastest, as `part`), free positions spread uniformly
            stride = self.strides
            base = prompt[state] * stride[0]
            for j in np.nonzero(~masked[rows[0]])[0]:
                base = base + tokens[state, j] * stride[1 + j]
            combo = np.zeros(1, np.int64)
            for j in committed:
                combo = (combo[:, None] + np.arange(sizes[j]) * stride[1 + j]).ravel()
            spread_at = np.zeros(1, np.int64)
            for j in free:
                spread_at = (
                    spread_at[:, None] + np.arange(sizes[j]) * stride[1 + j]
                ).ravel()
            flat = base[:, None, None] + combo[None, :, None] + spread_at[None, None, :]
            values = np.broadcast_to(part[:, :, None], flat.shape)
            self._queue(flat.ravel(), values.ravel())

    def entropy(self, outcomes, mass, prompt_mass) -> float | None:
        r"""$H(q(Y|X))$ in nats, once the valid outputs are added; None if inactive.

        Args:
          outcomes: `(N, 1 + L)` (prompt, output) rows of the valid outputs.
          mass: `(N,)` their probabilities.
          prompt_mass: `(P,)` the prompt law.
        """
        if self.dense is None:
            return None
        self._queue(outcomes @ self.strides, mass)
        self._flush()
        nz = self.dense[self.dense > 0]
        prompt_law = prompt_mass[prompt_mass > 0]
        return float(-np.sum(nz * np.log(nz)) + np.sum(prompt_law * np.log(prompt_law)))

    def _queue(self, flat, values) -> None:
        self.pending.append((flat, values))
        self.num_pending += flat.size
        if self.num_pending > FLUSH:
            self._flush()

    def _flush(self) -> None:
        if self.pending:
            self.dense += np.bincount(
                np.concatenate([f for f, _ in self.pending]),
                weights=np.concatenate([v for _, v in self.pending]),
                minlength=len(self.dense),
            )
        self.pending, self.num_pending = [], 0
