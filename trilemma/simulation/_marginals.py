r"""Where an exact enumerator's marginals come from: the oracle, or a trained model.

A decoding state is a prompt index and the output tokens, with the component's
`mask_id` at the masked positions. A *marginals component* answers two questions
about many states at once:

* `probs(prompt (S,), tokens (S, L)) -> (S, L, V)` float64: each position's law
  given the revealed tokens;
* `valid(prompt (S,), tokens (S, L)) -> (S,)` bool: whether a finished output is in
  the support of $p^*(\cdot \mid x)$.

`OracleMarginals(task)` gives $p^*$'s exact conditional marginals $p^*(y_j \mid x,
\text{revealed})$ from sorted indexes of the support (`_support.SupportIndex`); a
state whose revealed tokens have probability 0 gets uniform marginals over each
position's alphabet (the enumerator's documented convention). `ModelMarginals(task,
model)` gives a `Model`'s marginals over its whole vocabulary, by one jitted, vmapped
forward call per chunk of states (`_model.level_probabilities`), with the mask token
at probability 0, as the Monte Carlo decoder computes them.

Both carry `length` ($L$), `vocab` ($V$), `mask_id` and `prompt_mass` `(P,)`, the
prompt law $p(x)$.
"""

from __future__ import annotations

import functools

import numpy as np

from .. import _checks
from ..layout import task_layout
from ..models import Model
from ..tasks import Task
from ._model import level_probabilities
from ._support import SupportIndex


class OracleMarginals:
    r"""The ideal model's marginals $p^*(y_j \mid x, \text{revealed tokens})$.

    Attributes:
      task: the task.
      index: the support's sorted indexes (`SupportIndex`).
      length: output positions $L$.
      vocab: width $V$ of `probs` (the largest output alphabet).
      mask_id: the token of a masked position (the oracle layout's).
      prompt_mass: `(P,)` the prompt law.
    """

    def __init__(self, task: Task):
        _checks.check_instance(task, "task", Task)
        self.task = task
        self.mask_id = int(task_layout(task).mask_id)
        self.index = SupportIndex(task.joint, self.mask_id)
        self.length = self.index.length
        self.vocab = self.index.vocab
        self.prompt_mass = self.index.prompt_mass

    @functools.cached_property
    def exchangeable(self) -> bool:
        r"""Whether $p^*(\cdot \mid x)$ is invariant under output permutations.

        True for Shuffle: then every state's marginals are invariant too (off the
        support as well: uniform over equal alphabets). Computed when first asked
        (only the chain solver asks, for a sampler with `exact_canonical`).
        """
        return exchangeable(self.task.joint)

    def probs(self, prompt, tokens) -> np.ndarray:
        """`(S, L, V)` marginals; uniform over each alphabet where $p^*$ has no mass."""
        prompt, tokens = _states(prompt, tokens, self.length)
        start, rows = self.index.rows(prompt, tokens)
        # a state with no consistent row of positive mass gets uniform marginals
        return self.index.marginals(np.zeros(len(prompt), bool), start, rows)

    def valid(self, prompt, tokens) -> np.ndarray:
        r"""`(S,)` whether each finished output is in the support of $p^*(\cdot|x)$."""
        return _in_support(self.index, prompt, tokens, self.length)

    def agrees(self, prompt, tokens) -> np.ndarray:
        """`(S,)` whether each state's revealed tokens agree with a valid output."""
        return _agrees(self.index, prompt, tokens, self.length)


class ModelMarginals:
    r"""A trained `Model`'s marginals over its whole vocabulary.

    Attributes:
      task: the task (its support decides validity).
      model: the model; its layout must fit the task.
      predicts_next: a causal (AR) model: output $j$'s law is its row $j - 1$'s
        prediction given the tokens to the left (`level_probabilities`).
      length: output positions $L$.
      vocab: the model's vocabulary size $V$.
      mask_id: the model layout's mask token.
      prompt_mass: `(P,)` the prompt law.
    """

    def __init__(self, task: Task, model: Model, *, predicts_next: bool = False):
        _checks.check_instance(task, "task", Task)
        _checks.check_instance(model, "model", Model, "a trilemma Model")
        sizes = [int(k) for k in task.joint.sizes]
        _checks.check_layout_fits(model.layout, sizes[1:], sizes[0])
        self.task, self.model = task, model
        self.predicts_next = _checks.check_bool(predicts_next, "predicts_next")
        self.mask_id = int(model.layout.mask_id)
        self.index = SupportIndex(task.joint, self.mask_id)
        self.length = self.index.length
        self.vocab = int(model.layout.vocab_size)
        self.prompt_mass = self.index.prompt_mass

    def probs(self, prompt, tokens) -> np.ndarray:
        """`(S, L, V)` the model's output probabilities (mask token at 0), float64."""
        prompt, tokens = _states(prompt, tokens, self.length)
        out = level_probabilities(
            self.model, prompt, tokens, predicts_next=self.predicts_next
        )
        return np.asarray(out, np.float64)

    def valid(self, prompt, tokens) -> np.ndarray:
        r"""`(S,)` whether each finished output is in the support of $p^*(\cdot|x)$."""
        return _in_support(self.index, prompt, tokens, self.length)

    def agrees(self, prompt, tokens) -> np.ndarray:
        """`(S,)` whether each state's revealed tokens agree with a valid output."""
        return _agrees(self.index, prompt, tokens, self.length)


def exchangeable(joint) -> bool:
    r"""Whether $p(y \mid x)$ is invariant under every permutation of the outputs.

    `joint` holds rows (prompt, $y_1, \dots, y_L$). The symmetric group is generated
    by the transposition $(1\,2)$ and the cycle $(1\,2 \dots L)$, so the joint is
    invariant under all permutations iff the outputs' alphabets are equal and it is
    invariant under those two (same rows, same masses to 1e-12 relative).
    """
    sizes = [int(k) for k in joint.sizes[1:]]
    if len(set(sizes)) > 1:
        return False
    rows = np.asarray(joint.outcomes, np.int64)
    mass = np.asarray(joint.probs, np.float64)
    live = mass > 0
    rows, mass = rows[live], mass[live]
    length = rows.shape[1] - 1
    if length < 2:
        return True

    def ordered(table):
        order = np.lexsort(table.T[::-1])
        return table[order], mass[order]

    base_rows, base_mass = ordered(rows)
    swap = [0, 2, 1, *range(3, length + 1)]
    cycle = [0, *range(2, length + 1), 1]
    for columns in (swap, cycle):
        moved_rows, moved_mass = ordered(rows[:, columns])
        if not np.array_equal(moved_rows, base_rows) or not np.allclose(
            moved_mass, base_mass, rtol=1e-12, atol=0.0
        ):
            return False
    return True


def _states(prompt, tokens, length: int) -> tuple[np.ndarray, np.ndarray]:
    prompt = np.asarray(prompt).astype(np.int64).reshape(-1)
    tokens = np.asarray(tokens).astype(np.int64).reshape(len(prompt), length)
    return prompt, tokens


def _in_support(index: SupportIndex, prompt, tokens, length: int) -> np.ndarray:
    """Whether each row (no mask) agrees with a support row of positive weight."""
    prompt, tokens = _states(prompt, tokens, length)
    if np.any(tokens == index.mask_id):
        raise ValueError("`valid` takes finished outputs; got a masked position.")
    return _agrees(index, prompt, tokens, length)


def _agrees(index: SupportIndex, prompt, tokens, length: int) -> np.ndarray:
    """Whether each state's revealed tokens agree with a valid output (masks agree).

    A valid output is a support row of positive weight.
    """
    prompt, tokens = _states(prompt, tokens, length)
    # tokens outside an alphabet match no support row (their key would alias)
    revealed = tokens != index.mask_id
    inside = np.all(
        ~revealed | ((tokens >= 0) & (tokens < index.sizes[None, :])), axis=1
    )
    out = np.zeros(len(prompt), bool)
    live = np.nonzero(inside)[0]
    if len(live):
        start, rows = index.rows(prompt[live], tokens[live])
        state = np.repeat(np.arange(len(live)), np.diff(start))
        mass = np.bincount(state, weights=index.weights[rows], minlength=len(live))
        out[live] = mass > 0
    return out
