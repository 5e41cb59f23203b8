r"""The token layout of a task: how prompts and outputs sit in one token array.

Every model (the oracle, a trained denoiser, a model behind a host callable) reads
and writes sequences laid out the same way, and `simulate`, `decode` and the sample
files take the layout from here:

* a sequence is the prompt's token row (its *prefix*, `prefixes[i]` for prompt
  index $i$) followed by the $L$ output positions;
* output position $j$ holds a value $v \in \{0, \dots, \text{sizes}[j]-1\}$, written
  as token $v$ (values are token ids);
* a masked position holds `mask_id`; logits have `vocab_size` entries on their last
  axis, and the decoder never draws the mask token.

The default layout of a task (`task_layout`) is the oracle's: the prefix is the
prompt index itself, `vocab_size` is the largest alphabet (prompt indices included)
and `mask_id = vocab_size`, one past it.

>>> import trilemma as T
>>> layout = T.task_layout(T.make_task("shuffle", 3))
>>> layout.initial_tokens(0).tolist(), layout.mask_id
([0, 3, 3, 3], 3)
"""

from __future__ import annotations

import dataclasses

import numpy as np

from . import _checks


@dataclasses.dataclass(frozen=True, eq=False)
class TokenLayout:
    """Where the prompt and the outputs sit in a token array, and the mask token.

    Attributes:
      prefixes: `(P, m)` int table; row $i$ is the token row of prompt index $i$.
      sizes: alphabet size of each of the $L$ output positions.
      vocab_size: entries of the logits' last axis ($V$).
      mask_id: the mask token (in $[0, V)$ for a model that embeds it, or $V$).
      labels: optional token names per output position, for rendering as text.
    """

    prefixes: np.ndarray
    sizes: tuple[int, ...]
    vocab_size: int
    mask_id: int
    labels: tuple[tuple[str, ...], ...] | None = None

    def __post_init__(self):
        prefixes = np.asarray(self.prefixes)
        _checks.check_shape(prefixes, "prefixes", ("num_prompts", "prefix_length"))
        _checks.check_integer_dtype(prefixes, "prefixes")
        vocab = _checks.check_int(self.vocab_size, "vocab_size", minimum=1)
        for size in self.sizes:
            _checks.check_int(size, "sizes", minimum=1, maximum=vocab)
        _checks.check_int(self.mask_id, "mask_id", minimum=0)
        object.__setattr__(self, "prefixes", prefixes.astype(np.int32))

    @property
    def prefix_length(self) -> int:
        """Tokens before the first output position ($m$)."""
        return int(self.prefixes.shape[1])

    @property
    def output_length(self) -> int:
        """Output positions ($L$)."""
        return len(self.sizes)

    @property
    def sequence_length(self) -> int:
        """$m + L$."""
        return self.prefix_length + self.output_length

    def initial_tokens(self, prompt_index=0) -> np.ndarray:
        """All-masked sequences `[prefix, MASK, ..., MASK]` of one or more prompts.

        Args:
          prompt_index: an index or an array of indices into `prefixes`.

        Returns:
          `(m + L,)` for a scalar index, else `(..., m + L)` int32.
        """
        index = np.asarray(prompt_index)
        _checks.check_integer_dtype(index, "prompt_index")
        inside = (index >= 0) & (index < self.prefixes.shape[0])
        _checks.check_rows(
            inside.ravel(),
            index.reshape(-1, 1),
            "prompt_index",
            f"a prompt index in [0, {self.prefixes.shape[0] - 1}]",
        )
        masks = np.full(index.shape + (self.output_length,), self.mask_id, np.int32)
        return np.concatenate([self.prefixes[index], masks], axis=-1)

    def outputs(self, tokens) -> np.ndarray:
        """The output positions of `(..., m + L)` token arrays: `(..., L)`."""
        return np.asarray(tokens)[..., self.prefix_length :]

    def render(self, output) -> str:
        """One output `(L,)` as text: token names joined by spaces (or numbers)."""
        _checks.check_shape(np.ravel(output), "output", (self.output_length,))
        values = [int(v) for v in np.ravel(output)]
        if self.labels is None:
            return " ".join("_" if v == self.mask_id else str(v) for v in values)
        return " ".join(
            "_"
            if v == self.mask_id
            else (names[v] if 0 <= v < len(names) else f"<{v}>")
            for names, v in zip(self.labels, values, strict=True)
        )


def task_layout(task) -> TokenLayout:
    """The oracle's layout of `task`: prefix = prompt index, `mask_id = vocab_size`."""
    sizes = tuple(int(k) for k in task.joint.sizes)
    num_prompts = _checks.check_int(sizes[0], "number of prompts", minimum=1)
    vocab = max(sizes)
    return TokenLayout(
        prefixes=np.arange(num_prompts, dtype=np.int32)[:, None],
        sizes=sizes[1:],
        vocab_size=vocab,
        mask_id=vocab,
        labels=task.labels,
    )
