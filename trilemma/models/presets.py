"""Training presets of the embedded models, and the run that trains them.

A preset names the (task, n) groups, the two architectures (the masked-diffusion
denoiser and the small autoregressive model, on the same data and vocabulary) and
the optimisation settings. `train_models` trains both and writes one model directory
each (`trilemma.models.weights`) under the output folder, with resumable checkpoints
beside them: an interrupted run continues from its last checkpoint and ends with the
same weights as an uninterrupted one.

* `default`: the shipped models' recipe (the ten Waiting Line tasks and `shuffle` at
  n = 3..6, Latin square 3x3; issue 20, paper_notes §27): the denoiser (width 96,
  depth 3, 4 heads of which 2 are output heads) `DEFAULT_STEPS` steps and the AR
  model (width 64, depth 2) `DEFAULT_AR_STEPS` steps of batch 128 at peak learning
  rate 3e-3 (warm-up 500, cosine decay to 10%), the groups drawn by excess loss
  (`training.GroupWeighting`). A warm step takes 83 ms (denoiser) and 40 ms (AR) on
  this project's 2-core CPU when it is otherwise idle (`experiments/bench_train.py`).
* `quick`: the default architecture and weighting on the n = 3 groups, 600 steps
  (smoke runs).
* `tiny`: the same data at n = 3 only, a few hundred steps of a small model (tests).
"""

from __future__ import annotations

import dataclasses
import json
import time
from pathlib import Path
from types import MappingProxyType

import jax
import jax.numpy as jnp

from .. import __version__, _checks
from .._files import atomic_write
from . import data, objectives, training, weights
from .transformer import TransformerConfig, init_params, transformer_logits_fn


@dataclasses.dataclass(frozen=True)
class Architecture:
    """Width, depth and heads of one model (the vocabulary comes from the data).

    `output_heads` of the `heads` keep the outputs' attention off the prompt
    (`TransformerConfig.output_heads`; 0 in the shipped models).
    """

    width: int
    depth: int
    heads: int
    output_heads: int = 0


@dataclasses.dataclass(frozen=True)
class Preset:
    """A training recipe.

    Attributes:
      name: the preset's name.
      groups: the (task, n) groups of the data.
      denoiser: the masked-diffusion model's architecture.
      autoregressive: the causal model's architecture.
      train: optimisation settings (shared by both models).
      autoregressive_steps: the AR model's steps, when not `train.steps` (it is
        cheaper per step and learns left-to-right copying sooner).
      group_weighting: draw groups by excess loss (`training.GroupWeighting`);
        None: uniformly.
    """

    name: str
    groups: tuple[tuple[str, int], ...]
    denoiser: Architecture
    autoregressive: Architecture
    train: training.TrainConfig
    autoregressive_steps: int | None = None
    group_weighting: training.GroupWeighting | None = None

    def replace(self, **changes) -> Preset:
        """This preset with `groups` or training settings (`steps`, ...) replaced.

        A given `steps` applies to both models.
        """
        groups = changes.pop("groups", None) or self.groups
        given = {k: v for k, v in changes.items() if v is not None}
        train = dataclasses.replace(self.train, **given)
        ar_steps = None if "steps" in given else self.autoregressive_steps
        return dataclasses.replace(
            self, groups=tuple(groups), train=train, autoregressive_steps=ar_steps
        )

    def settings(self, kind: str) -> training.TrainConfig:
        """The training settings of model `kind`: its own seed (and steps)."""
        _checks.check_one_of(kind, "kind", KINDS)
        seed = self.train.seed + KINDS.index(kind)
        steps = self.train.steps
        if kind == "autoregressive" and self.autoregressive_steps is not None:
            steps = self.autoregressive_steps
        return dataclasses.replace(self.train, seed=seed, steps=steps)


DEFAULT_STEPS = 32000
"""The default denoiser's steps."""

DEFAULT_AR_STEPS = 16000
"""The default AR model's steps."""

PRESETS = MappingProxyType(
    {
        "default": Preset(
            name="default",
            groups=data.DEFAULT_GROUPS,
            denoiser=Architecture(width=96, depth=3, heads=4, output_heads=2),
            autoregressive=Architecture(width=64, depth=2, heads=4),
            train=training.TrainConfig(
                steps=DEFAULT_STEPS, batch_size=128, learning_rate=3e-3, warmup=500
            ),
            autoregressive_steps=DEFAULT_AR_STEPS,
            group_weighting=training.GroupWeighting(),
        ),
        "quick": Preset(
            name="quick",
            groups=tuple((g, n) for g, n in data.DEFAULT_GROUPS if n == 3),
            denoiser=Architecture(width=96, depth=3, heads=4, output_heads=2),
            autoregressive=Architecture(width=64, depth=2, heads=4),
            train=training.TrainConfig(
                steps=600, batch_size=128, learning_rate=3e-3, warmup=100
            ),
            group_weighting=training.GroupWeighting(),
        ),
        "tiny": Preset(
            name="tiny",
            groups=tuple((g, n) for g, n in data.DEFAULT_GROUPS if n == 3),
            denoiser=Architecture(width=16, depth=1, heads=2),
            autoregressive=Architecture(width=16, depth=1, heads=2),
            train=training.TrainConfig(steps=200, batch_size=32, warmup=20),
        ),
    }
)
"""Read-only registry of presets."""

KINDS = weights.KINDS
"""The two models a preset trains, in order."""


def preset(name: str) -> Preset:
    """The registered preset `name`."""
    if name not in PRESETS:
        raise _checks.unknown("preset", name, PRESETS)
    return PRESETS[name]


def model_config(recipe: Preset, kind: str) -> TransformerConfig:
    """The `TransformerConfig` of `kind` ("denoiser" or "autoregressive")."""
    _checks.check_one_of(kind, "kind", KINDS)
    task_set = data.TaskSet(groups=recipe.groups)
    arch = getattr(recipe, kind)
    return TransformerConfig(
        vocab_size=task_set.vocab_size,
        sequence_length=task_set.sequence_length,
        width=arch.width,
        depth=arch.depth,
        heads=arch.heads,
        causal=kind == "autoregressive",
        segments=(task_set.pad_id, task_set.sep_id),
        output_heads=arch.output_heads,
    )


def train_models(
    recipe: Preset,
    output: Path,
    *,
    kinds: tuple[str, ...] = KINDS,
    progress: bool = True,
    command: str | None = None,
) -> dict:
    """Train the models of `recipe` into `output/<kind>/`; returns a summary.

    Checkpoints go to `output/.checkpoints/<kind>.safetensors` every 500 steps; a run
    started again with the same recipe resumes from them. The model directories are
    written last, atomically, so a finished directory is always a whole model.
    """
    output = Path(output)
    output.mkdir(parents=True, exist_ok=True)
    (output / ".checkpoints").mkdir(exist_ok=True)
    task_set = data.TaskSet(groups=recipe.groups)
    draw = data.task_set_sampler(task_set)
    summary = {"preset": recipe.name, "output": str(output), "models": []}
    for kind in kinds:
        config = model_config(recipe, kind)
        fn = transformer_logits_fn(config)
        weighting = None
        if recipe.group_weighting is not None:
            weighting = training.GroupWeightingState(
                recipe.group_weighting, data.group_ideal_losses(task_set)
            )
        loss = _loss(
            kind,
            fn,
            draw,
            task_set,
            recipe.train.batch_size,
            weighted=weighting is not None,
        )
        settings = recipe.settings(kind)
        params = init_params(config, jax.random.key(settings.seed))
        start = time.perf_counter()
        params, losses = training.train(
            loss,
            params,
            settings,
            checkpoint=output / ".checkpoints" / f"{kind}.safetensors",
            progress=progress,
            description=f"train {kind}",
            weighting=weighting,
        )
        seconds = time.perf_counter() - start
        provenance = {
            "preset": recipe.name,
            "command": command,
            "groups": [list(g) for g in recipe.groups],
            "train": dataclasses.asdict(settings),
            "package_version": __version__,
            "jax_version": jax.__version__,
            "final_loss": losses[-1] if losses else None,
        }
        if weighting is not None:
            provenance["group_weighting"] = weighting.record()
            history = {
                "groups": [list(g) for g in recipe.groups],
                "steps": [s for s, _ in weighting.history],
                "weights": [[float(x) for x in w] for _, w in weighting.history],
                **weighting.record(),
            }
            atomic_write(
                output / f"group_weights_{kind}.json",
                (json.dumps(history) + "\n").encode(),
            )
        weights.save_model(
            output / kind,
            config,
            params,
            task_set,
            name=f"{recipe.name}-{kind}",
            provenance=provenance,
        )
        summary["models"].append(
            {
                "kind": kind,
                "directory": str(output / kind),
                "steps_run": len(losses),
                "seconds": seconds,
                "examples_per_second": len(losses)
                * settings.batch_size
                / max(seconds, 1e-9),
                "final_loss": provenance["final_loss"],
            }
        )
    atomic_write(
        output / "summary.json", (json.dumps(summary, indent=1) + "\n").encode()
    )
    return summary


def _loss(kind, fn, draw, task_set, batch: int, *, weighted: bool = False):
    """`loss(params, key)` of `kind` on a batch drawn from the set's mixture.

    `weighted`: `loss(params, key, group_logits) -> (loss, (per-example losses,
    groups))`, the groups drawn by `group_logits` (`training.weighted_train_step`).
    """
    if weighted:
        return _weighted_loss(kind, fn, draw, task_set, batch)

    def loss(params, key):
        key_data, key_mask = jax.random.split(key)
        tokens = draw(key_data, batch)
        is_output = task_set.output_positions(tokens)
        if kind == "denoiser":
            return objectives.diffusion_loss(
                fn, params, key_mask, tokens, is_output, mask_id=task_set.mask_id
            )
        return objectives.autoregressive_loss(
            fn, params, tokens, is_output, mask_id=task_set.mask_id
        )

    return loss


def _weighted_loss(kind, fn, draw, task_set, batch: int):
    def loss(params, key, group_logits):
        key_data, key_mask = jax.random.split(key)
        tokens, groups = draw.with_groups(key_data, batch, group_logits)
        is_output = task_set.output_positions(tokens)
        if kind == "denoiser":
            per_example = objectives.diffusion_losses(
                fn, params, key_mask, tokens, is_output, mask_id=task_set.mask_id
            )
            return jnp.mean(per_example), (per_example, groups)
        nll, target = objectives.autoregressive_nll(
            fn, params, tokens, is_output, task_set.mask_id
        )
        token_nll = jnp.where(target, nll, 0.0)
        total = jnp.sum(token_nll) / jnp.sum(target).astype(nll.dtype)
        counts = jnp.maximum(jnp.sum(target, axis=1), 1).astype(nll.dtype)
        return total, (jnp.sum(token_nll, axis=1) / counts, groups)

    return loss
