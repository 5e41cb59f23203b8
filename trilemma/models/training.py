r"""Training loop of the embedded models: optax AdamW, jitted steps, resumable.

`train` runs `steps` updates of a parameter pytree on batches from a data function,
with a progress bar (loss, examples/s), and writes a checkpoint every
`checkpoint_every` steps and at the end. Checkpoints hold the parameters, the
optimiser state and the step in one safetensors file, written to a temporary file and
moved into place (atomic), so an interrupted run resumes from its last checkpoint and
produces the same parameters as an uninterrupted one: the data and the masks of step
$i$ come from `fold_in(key, i)`, not from a stream that a restart would reset.

optax provides the optimiser (AdamW with warm-up and cosine decay, gradient
clipping) instead of a hand-written one; safetensors is the weight format (a plain,
safe tensor file that every framework reads).
"""

from __future__ import annotations

import dataclasses
import functools
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import optax

from .. import _checks
from .._files import atomic_write

MAX_STEPS = 10**9
"""The most parameter updates of one run: months of a CPU, and below optax's int32
step count ($2^{31} - 1$), past which its schedules would stop counting."""

MAX_BATCH_SIZE = 2**31 - 1
"""The largest batch `TrainConfig` takes: a ceiling on the value alone, far past any
memory (`check_batch_memory` compares a batch with the memory budget)."""


@dataclasses.dataclass(frozen=True)
class TrainConfig:
    """Optimisation settings.

    Attributes:
      steps: parameter updates, 1 to `MAX_STEPS`.
      batch_size: examples per update, 1 to `MAX_BATCH_SIZE`.
      learning_rate: peak learning rate (after linear warm-up, cosine decay to 10%).
      warmup: warm-up steps.
      weight_decay: AdamW's decoupled weight decay.
      clip: global gradient-norm clip.
      seed: seeds the data, the masks and the initial parameters.
    """

    steps: int
    batch_size: int
    learning_rate: float = 3e-3
    warmup: int = 100
    weight_decay: float = 0.01
    clip: float = 1.0
    seed: int = 0

    def __post_init__(self):
        _checks.check_int(self.steps, "steps", minimum=1, maximum=MAX_STEPS)
        _checks.check_int(
            self.batch_size, "batch_size", minimum=1, maximum=MAX_BATCH_SIZE
        )

    def optimizer(self) -> optax.GradientTransformation:
        """Clipped AdamW on a warm-up + cosine schedule."""
        schedule = optax.warmup_cosine_decay_schedule(
            0.0,
            self.learning_rate,
            min(self.warmup, self.steps),
            max(self.steps, self.warmup + 1),
            end_value=0.1 * self.learning_rate,
        )
        return optax.chain(
            optax.clip_by_global_norm(self.clip),
            optax.adamw(schedule, weight_decay=self.weight_decay),
        )


def activation_bytes(batch_size: int, config) -> int:
    r"""A lower bound on the float32 bytes a transformer's training step keeps.

    What the gradient needs, per example: the logits, their log-softmax and its
    gradient ($3SV$), and per block the residual stream, the normalised input,
    $q, k, v$, the attention output and the MLP's two hidden layers
    ($S d (6 + 2r)$, $r$ = `mlp_ratio`) and the attention scores with their softmax
    ($2 h S^2$). XLA's real peak is higher (temporaries, parameters and optimiser
    state are not counted).

    Args:
      batch_size: examples per step.
      config: the architecture: `sequence_length`, `vocab_size`, `width`,
        `depth`, `heads`, `mlp_ratio` (a `TransformerConfig`).
    """
    s, v = config.sequence_length, config.vocab_size
    block = s * config.width * (6 + 2 * config.mlp_ratio) + 2 * config.heads * s * s
    return 4 * batch_size * (3 * s * v + config.depth * block)


def check_batch_memory(batch_size: int, config, *, max_bytes: int | None = None):
    """`ValueError` before a step whose activations exceed the memory budget.

    Compares `activation_bytes(batch_size, config)` (a lower bound) with
    `max_bytes` (None: `TRILEMMA_MAX_BYTES`, else 4 GiB).
    """
    batch_size = _checks.check_int(
        batch_size, "batch_size", minimum=1, maximum=MAX_BATCH_SIZE
    )
    _checks.check_memory(
        activation_bytes(batch_size, config),
        f"a training step of batch {batch_size:,} (`batch_size`) on sequences of "
        f"{config.sequence_length} tokens",
        max_bytes,
    )


@dataclasses.dataclass(frozen=True)
class GroupWeighting:
    r"""The rule that draws training groups by their excess loss (paper_notes §27).

    Group $g$ is drawn with probability
    $$w_g = u \cdot \frac{1}{G} + (1 - u)\,\frac{e_g}{\sum_h e_h}, \qquad
      e_g = \max(\ell_g - h_g,\ \epsilon),$$
    $u$ = `uniform_share`, $\epsilon$ = `floor`, $h_g$ the group's ideal loss
    (`data.group_ideal_losses`) and $\ell_g$ an exponential running average of the
    group's per-example training loss: every `refresh_every` steps, on the host,
    $\ell_g \leftarrow d\,\ell_g + (1 - d)\,m_g$ with $m_g$ the mean loss of
    the group's examples in those steps and $d$ = `decay` ($\ell_g = m_g$ at the
    first refresh; unchanged when the group drew no example). Until the first
    refresh the groups are uniform. Each group's optimum is unchanged (the task
    token conditions every group); the weights only move gradient between groups.
    """

    refresh_every: int = 100
    decay: float = 0.8
    floor: float = 0.01
    uniform_share: float = 0.5

    def __post_init__(self):
        _checks.check_int(self.refresh_every, "refresh_every", minimum=1)
        for name in ("decay", "uniform_share"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"`{name}` must be in [0, 1]; got {value!r}")
        if not self.floor > 0.0:
            raise ValueError(f"`floor` must be positive; got {self.floor!r}")

    def weights(self, loss_ema, ideal) -> np.ndarray:
        """`(G,)` float64 group probabilities from the losses and the ideal losses."""
        loss_ema = np.asarray(loss_ema, np.float64)
        ideal = np.asarray(ideal, np.float64)
        excess = np.maximum(loss_ema - ideal, self.floor)
        uniform = np.full(len(excess), 1.0 / len(excess))
        return self.uniform_share * uniform + (1.0 - self.uniform_share) * (
            excess / excess.sum()
        )


class GroupWeightingState:
    r"""What a weighted run carries between steps and in its checkpoints.

    Attributes:
      rule: the `GroupWeighting`.
      ideal: `(G,)` ideal losses $h_g$.
      loss_ema: `(G,)` float64 $\ell_g$ (NaN before the first refresh).
      sums, counts: `(G,)` float32 / int32 loss sums and example counts since the
        last refresh.
      history: `[(step, weights)]`, the weights set at every refresh.
    """

    def __init__(self, rule: GroupWeighting, ideal):
        self.rule = rule
        self.ideal = np.asarray(ideal, np.float64)
        size = len(self.ideal)
        _checks.check_int(size, "number of groups", minimum=1)
        self.loss_ema = np.full(size, np.nan)
        self.sums = np.zeros(size, np.float32)
        self.counts = np.zeros(size, np.int32)
        self.history: list[tuple[int, np.ndarray]] = []

    @property
    def weights(self) -> np.ndarray:
        """The current `(G,)` group probabilities (uniform before any refresh)."""
        if self.history:
            return self.history[-1][1]
        return np.full(len(self.ideal), 1.0 / len(self.ideal))

    def logits(self):
        """The weights as float32 log-probabilities for the sampler (traced)."""
        return jnp.asarray(np.log(self.weights), jnp.float32)

    def refresh(self, step: int) -> None:
        """Fold the window's means into the averages and set new weights."""
        counts = self.counts.astype(np.float64)
        seen = counts > 0
        means = np.where(seen, self.sums.astype(np.float64) / np.maximum(counts, 1), 0)
        first = np.isnan(self.loss_ema)
        d = self.rule.decay
        updated = np.where(first, means, d * self.loss_ema + (1.0 - d) * means)
        self.loss_ema = np.where(seen, updated, self.loss_ema)
        known = np.where(np.isnan(self.loss_ema), self.ideal, self.loss_ema)
        self.history.append((step, self.rule.weights(known, self.ideal)))
        self.sums = np.zeros_like(self.sums)
        self.counts = np.zeros_like(self.counts)

    def tensors(self) -> dict[str, np.ndarray]:
        """The state as checkpoint tensors."""
        steps = np.asarray([s for s, _ in self.history], np.int64)
        table = np.asarray([w for _, w in self.history], np.float64).reshape(
            len(self.history), len(self.ideal)
        )
        return {
            "__weighting__.loss_ema": self.loss_ema,
            "__weighting__.sums": self.sums,
            "__weighting__.counts": self.counts,
            "__weighting__.history_steps": steps,
            "__weighting__.history_weights": table,
        }

    def restore(self, tensors: dict[str, np.ndarray], path) -> None:
        """Load `tensors()` back (`ValueError` if missing or of another size)."""
        size = len(self.ideal)
        try:
            loss_ema = np.asarray(tensors["__weighting__.loss_ema"], np.float64)
            sums = np.asarray(tensors["__weighting__.sums"], np.float32)
            counts = np.asarray(tensors["__weighting__.counts"], np.int32)
            steps = np.asarray(tensors["__weighting__.history_steps"], np.int64)
            table = np.asarray(tensors["__weighting__.history_weights"], np.float64)
        except KeyError:
            raise ValueError(
                f"checkpoint {path} has no group-weighting state; it was written by "
                "an unweighted run"
            ) from None
        if loss_ema.shape != (size,) or table.shape[1:] != (size,):
            raise ValueError(
                f"checkpoint {path} does not match the model: its group weighting "
                f"has {loss_ema.shape[0]} groups, not {size}"
            )
        self.loss_ema, self.sums, self.counts = loss_ema, sums, counts
        self.history = [(int(s), w) for s, w in zip(steps, table, strict=True)]

    def record(self, every: int = 500) -> dict:
        """JSON provenance: the rule, $h_g$, the final state, the schedule.

        The schedule keeps the weights set at steps that are multiples of `every`
        (and the last); `history` has them all.
        """
        kept = [
            (s, w)
            for k, (s, w) in enumerate(self.history)
            if s % every == 0 or k == len(self.history) - 1
        ]
        return {
            "rule": dataclasses.asdict(self.rule),
            "ideal_loss": [float(x) for x in self.ideal],
            "final_weights": [float(x) for x in self.weights],
            "final_loss_ema": [
                None if np.isnan(x) else float(x) for x in self.loss_ema
            ],
            "refreshes": len(self.history),
            "schedule_every": every,
            "schedule": [[s, [round(float(x), 6) for x in w]] for s, w in kept],
        }


@functools.partial(jax.jit, static_argnames=("loss_fn", "config"))
def weighted_train_step(
    params, opt_state, key, group_logits, sums, counts, *, loss_fn, config
):
    """`train_step` of a group-weighted run: also the per-group loss sums and counts.

    `loss_fn(params, key, group_logits) -> (loss, (per_example (B,), group (B,)))`;
    `group_logits` is traced (new weights do not recompile).
    """
    (loss, (per_example, group)), grads = jax.value_and_grad(loss_fn, has_aux=True)(
        params, key, group_logits
    )
    size = sums.shape[0]
    sums = sums + jax.ops.segment_sum(
        jax.lax.stop_gradient(per_example).astype(sums.dtype), group, size
    )
    counts = counts + jax.ops.segment_sum(
        jnp.ones_like(group, counts.dtype), group, size
    )
    with jax.numpy_dtype_promotion("standard"):
        updates, opt_state = config.optimizer().update(grads, opt_state, params)
        return optax.apply_updates(params, updates), opt_state, loss, sums, counts


@functools.partial(jax.jit, static_argnames=("loss_fn", "config"))
def train_step(params, opt_state, key, *, loss_fn: Callable, config: TrainConfig):
    """One update: `(params, opt_state, loss)` after a step on `loss_fn(params, key)`.

    Compiled once per loss function, settings and shapes (both are static).
    """
    loss, grads = jax.value_and_grad(loss_fn)(params, key)
    # optax's schedules mix Python floats with int32 step counts
    with jax.numpy_dtype_promotion("standard"):
        updates, opt_state = config.optimizer().update(grads, opt_state, params)
        return optax.apply_updates(params, updates), opt_state, loss


def train(
    loss_fn: Callable,
    params: Any,
    config: TrainConfig,
    *,
    checkpoint: Path | None = None,
    checkpoint_every: int = 500,
    progress: bool = True,
    description: str = "train",
    weighting: GroupWeightingState | None = None,
) -> tuple[Any, list[float]]:
    """Minimise `loss_fn(params, key)` for `config.steps` steps; resumable.

    Args:
      loss_fn: `loss_fn(params, key) -> scalar` (draws its batch from `key`), or
        with `weighting`, `loss_fn(params, key, group_logits) -> (scalar,
        (per-example losses, groups))` (`weighted_train_step`).
      params: initial parameters (ignored when a checkpoint is resumed).
      config: optimisation settings.
      checkpoint: file to resume from and to write (None: no checkpoints).
      checkpoint_every: steps between checkpoints.
      progress: show a progress bar on stderr; when stderr is not a terminal (a
        run in the background, its output in a log file), one line per
        checkpoint interval instead (`description: step i/N, loss, examples/s`).
      description: the progress bar's label.
      weighting: a fresh `GroupWeightingState` to draw groups by excess loss; it
        is updated in place (resumed from the checkpoint, which also stores it, so
        a resumed run ends with the same weights and history).

    Returns:
      `(params, losses)`: the final parameters and the loss of each step run now.
    """
    optimizer = config.optimizer()
    opt_state = optimizer.init(params)
    start = 0
    if checkpoint is not None and Path(checkpoint).exists():
        params, opt_state, start, extra = load_checkpoint(
            checkpoint, (params, opt_state), extra=True
        )
        if weighting is not None:
            weighting.restore(extra, checkpoint)
    if weighting is not None:
        logits = weighting.logits()
        sums, counts = jnp.asarray(weighting.sums), jnp.asarray(weighting.counts)
    base = jax.random.key(config.seed)
    losses: list[float] = []
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(
            total=config.steps,
            initial=start,
            desc=description,
            unit="step",
            disable=None,
        )
    log_lines = bar is not None and bar.disable
    began = time.perf_counter()
    for i in range(start, config.steps):
        if weighting is None:
            params, opt_state, loss = train_step(
                params,
                opt_state,
                jax.random.fold_in(base, i),
                loss_fn=loss_fn,
                config=config,
            )
        else:
            params, opt_state, loss, sums, counts = weighted_train_step(
                params,
                opt_state,
                jax.random.fold_in(base, i),
                logits,
                sums,
                counts,
                loss_fn=loss_fn,
                config=config,
            )
        if bar is not None and (i % 10 == 0 or i == config.steps - 1):
            loss_value = float(loss)
            rate = (i + 1 - start) * config.batch_size / (time.perf_counter() - began)
            bar.set_postfix(loss=f"{loss_value:.4f}", examples_s=f"{rate:,.0f}")
        if bar is not None:
            bar.update(1)
        losses.append(loss)
        done = i + 1
        if log_lines and (done % checkpoint_every == 0 or done == config.steps):
            rate = (done - start) * config.batch_size / (time.perf_counter() - began)
            print(
                f"{description}: step {done:,}/{config.steps:,}, loss "
                f"{float(loss):.4f}, {rate:,.0f} examples/s",
                file=sys.stderr,
                flush=True,
            )
        saving = checkpoint is not None and (
            done % checkpoint_every == 0 or done == config.steps
        )
        if weighting is not None and (
            saving or done == config.steps or done % weighting.rule.refresh_every == 0
        ):
            weighting.sums, weighting.counts = np.asarray(sums), np.asarray(counts)
            if done % weighting.rule.refresh_every == 0:
                weighting.refresh(done)
                logits = weighting.logits()
                sums = jnp.asarray(weighting.sums)
                counts = jnp.asarray(weighting.counts)
        if saving:
            extra = None if weighting is None else weighting.tensors()
            save_checkpoint(checkpoint, (params, opt_state), done, extra)
    if bar is not None:
        bar.close()
    return params, [float(x) for x in losses]


def _flatten(tree) -> dict[str, np.ndarray]:
    leaves = jax.tree_util.tree_leaves_with_path(tree)
    return {jax.tree_util.keystr(path): np.asarray(leaf) for path, leaf in leaves}


def save_checkpoint(path: Path, tree, step: int, extra=None) -> None:
    """Write `tree`'s arrays and `step` to `path` (safetensors), atomically.

    `extra`: more named arrays (names starting with `__`), e.g. the group
    weighting's state.
    """
    from safetensors.numpy import save

    path = Path(path)
    tensors = _flatten(tree)
    tensors["__step__"] = np.asarray(step, np.int64)
    for name, value in (extra or {}).items():
        tensors[name] = np.ascontiguousarray(value)
    atomic_write(path, save(tensors, metadata={"format": "trilemma-checkpoint"}))


def load_checkpoint(path: Path, like, *, extra: bool = False):
    """`(params, opt_state, step)` from `path`, shaped like the pair `like`.

    With `extra`, a fourth item: the other `__`-named arrays (`save_checkpoint`).
    """
    from safetensors import SafetensorError
    from safetensors.numpy import load_file

    try:
        tensors = load_file(str(path))
    except (SafetensorError, OSError) as err:
        raise ValueError(f"checkpoint {path} is unreadable: {err}") from None
    leaves_with_path, tree = jax.tree_util.tree_flatten_with_path(like)
    leaves = []
    for key_path, leaf in leaves_with_path:
        name = jax.tree_util.keystr(key_path)
        if name not in tensors or tensors[name].shape != np.shape(leaf):
            raise ValueError(
                f"checkpoint {path} does not match the model: {name} is missing or "
                "has another shape."
            )
        leaves.append(jnp.asarray(tensors[name], jnp.asarray(leaf).dtype))
    params, opt_state = jax.tree_util.tree_unflatten(tree, leaves)
    if extra:
        others = {
            k: v for k, v in tensors.items() if k.startswith("__") and k != "__step__"
        }
        return params, opt_state, int(tensors["__step__"]), others
    return params, opt_state, int(tensors["__step__"])
