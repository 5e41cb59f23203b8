"""Model files: weights in safetensors beside a JSON config, checked when loaded.

A model directory holds `weights.safetensors` (every parameter, named by its pytree
path) and `config.json`: the architecture (`TransformerConfig`), the data it was
trained on (the `TaskSet`: its groups and pool, hence the vocabulary and the layout
of every task it knows), free-form provenance (training command, seed, package
version) and the SHA-256 of the weights file. `load_model` re-hashes the weights and
checks every tensor's name and shape against the architecture, so a missing,
truncated, corrupt or mismatched file is one `ValueError` naming the file, never a
half-loaded model. Both files are written
atomically (temporary file, then `os.replace`).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from pathlib import Path
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from .._files import atomic_write
from ._model import Model
from .data import TaskSet
from .transformer import TransformerConfig, init_params, transformer_logits_fn

DEFAULT = Path(__file__).resolve().parent / "default"
"""The shipped models: `DEFAULT / "denoiser"` and `DEFAULT / "autoregressive"`."""

KINDS = ("denoiser", "autoregressive")
"""The two embedded models, in order: `DEFAULT / kind` holds each."""

WEIGHTS = "weights.safetensors"
CONFIG = "config.json"
FORMAT = "trilemma-model/1"


class ModelFile(NamedTuple):
    """A loaded model directory: architecture, parameters and its data.

    Attributes:
      name: the model's name.
      config: its architecture.
      params: its parameters.
      task_set: the (task, n) groups and pool it was trained on.
      record: the whole `config.json`.
    """

    name: str
    config: TransformerConfig
    params: Any
    task_set: TaskSet
    record: dict[str, Any]

    def model(self, task) -> Model:
        """The `Model` that decodes `task` (a pooled task of one of its groups)."""
        return Model(
            transformer_logits_fn(self.config),
            self.params,
            self.task_set.layout(task),
            self.name,
        )


def save_model(
    directory: Path,
    config: TransformerConfig,
    params,
    task_set: TaskSet,
    *,
    name: str,
    provenance: dict[str, Any] | None = None,
) -> Path:
    """Write a model directory (created if missing); returns its path."""
    from safetensors.numpy import save

    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    tensors = {
        jax.tree_util.keystr(path): np.asarray(leaf, np.float32)
        for path, leaf in jax.tree_util.tree_leaves_with_path(params)
    }
    data = save(tensors, metadata={"format": FORMAT})
    record = {
        "format": FORMAT,
        "name": name,
        "architecture": dataclasses.asdict(config),
        "data": {
            "groups": [list(group) for group in task_set.groups],
            "pool_size": task_set.pool_size,
        },
        "provenance": provenance or {},
        "weights_sha256": hashlib.sha256(data).hexdigest(),
    }
    atomic_write(directory / WEIGHTS, data)
    atomic_write(directory / CONFIG, (json.dumps(record, indent=1) + "\n").encode())
    return directory


def load_model(directory: Path) -> ModelFile:
    """The model in `directory`, every file checked."""
    from safetensors import SafetensorError
    from safetensors.numpy import load

    directory = Path(directory)
    config_path, weights_path = directory / CONFIG, directory / WEIGHTS
    record = _read_config(config_path)
    try:
        data = weights_path.read_bytes()
    except OSError as err:
        raise ValueError(f"model weights {weights_path}: {err.strerror}") from None
    if hashlib.sha256(data).hexdigest() != record["weights_sha256"]:
        raise ValueError(
            f"model weights {weights_path} do not match the hash in {config_path} "
            "(truncated, corrupt or from another model)"
        )
    try:
        tensors = load(data)
    except SafetensorError as err:
        raise ValueError(
            f"model weights {weights_path} are unreadable: {err}"
        ) from None
    try:
        config = TransformerConfig(**record["architecture"])
        spec = record["data"]
        task_set = TaskSet(
            groups=tuple((name, n) for name, n in spec["groups"]),
            pool_size=spec["pool_size"],
        )
        if (task_set.vocab_size, task_set.sequence_length) != (
            config.vocab_size,
            config.sequence_length,
        ):
            raise ValueError("its data and its architecture disagree on the shapes")
    except (KeyError, TypeError, ValueError) as err:
        raise ValueError(f"model config {config_path} is invalid: {err}") from None
    like = jax.eval_shape(lambda: init_params(config, jax.random.key(0)))
    leaves = []
    for path, leaf in jax.tree_util.tree_leaves_with_path(like):
        key = jax.tree_util.keystr(path)
        if key not in tensors or tensors[key].shape != leaf.shape:
            raise ValueError(
                f"model weights {weights_path} do not match the architecture in "
                f"{config_path}: tensor {key} is missing or has another shape"
            )
        leaves.append(jnp.asarray(tensors[key], leaf.dtype))
    params = jax.tree_util.tree_unflatten(jax.tree_util.tree_structure(like), leaves)
    return ModelFile(record["name"], config, params, task_set, record)


def _read_config(path: Path) -> dict[str, Any]:
    try:
        record = json.loads(path.read_text())
    except OSError as err:
        raise ValueError(f"model config {path}: {err.strerror}") from None
    except json.JSONDecodeError as err:
        raise ValueError(f"model config {path} is not JSON: {err}") from None
    if not isinstance(record, dict) or record.get("format") != FORMAT:
        raise ValueError(f"model config {path} is not a {FORMAT} config")
    missing = {"name", "architecture", "data", "weights_sha256"} - set(record)
    if missing:
        raise ValueError(f"model config {path} lacks {sorted(missing)}")
    return record


def resolve_model(spec: str | Path, kind: str = "denoiser") -> ModelFile:
    """The model named by `spec`: `"default"` (the shipped `kind`) or a directory."""
    if not str(spec).strip():
        raise ValueError(
            "`model` is empty; give default or a model folder (trilemma train -o)"
        )
    if str(spec) == "default":
        return load_model(DEFAULT / kind)
    return load_model(Path(spec))
