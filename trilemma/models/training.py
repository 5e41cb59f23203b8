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
) -> tuple[Any, list[float]]:
    """Minimise `loss_fn(params, key)` for `config.steps` steps; resumable.

    Args:
      loss_fn: `loss_fn(params, key) -> scalar` (draws its batch from `key`).
      params: initial parameters (ignored when a checkpoint is resumed).
      config: optimisation settings.
      checkpoint: file to resume from and to write (None: no checkpoints).
      checkpoint_every: steps between checkpoints.
      progress: show a progress bar on stderr.
      description: the progress bar's label.

    Returns:
      `(params, losses)`: the final parameters and the loss of each step run now.
    """
    optimizer = config.optimizer()
    opt_state = optimizer.init(params)
    start = 0
    if checkpoint is not None and Path(checkpoint).exists():
        params, opt_state, start = load_checkpoint(checkpoint, (params, opt_state))
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
    began = time.perf_counter()
    for i in range(start, config.steps):
        params, opt_state, loss = train_step(
            params,
            opt_state,
            jax.random.fold_in(base, i),
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
        if checkpoint is not None and (
            done % checkpoint_every == 0 or done == config.steps
        ):
            save_checkpoint(checkpoint, (params, opt_state), done)
    if bar is not None:
        bar.close()
    return params, [float(x) for x in losses]


def _flatten(tree) -> dict[str, np.ndarray]:
    leaves = jax.tree_util.tree_leaves_with_path(tree)
    return {jax.tree_util.keystr(path): np.asarray(leaf) for path, leaf in leaves}


def save_checkpoint(path: Path, tree, step: int) -> None:
    """Write `tree`'s arrays and `step` to `path` (safetensors), atomically."""
    from safetensors.numpy import save

    path = Path(path)
    tensors = _flatten(tree)
    tensors["__step__"] = np.asarray(step, np.int64)
    atomic_write(path, save(tensors, metadata={"format": "trilemma-checkpoint"}))


def load_checkpoint(path: Path, like):
    """`(params, opt_state, step)` from `path`, shaped like the pair `like`."""
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
    return params, opt_state, int(tensors["__step__"])
