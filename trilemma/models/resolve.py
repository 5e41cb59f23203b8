r"""The model a spec names: `oracle`, `default`, a folder, `hf:NAME`, `module:factory`.

* `oracle`: the ideal model of the task (`trilemma.oracle`);
* `default`: the shipped denoiser (or, as a verifier, the shipped AR model);
* a folder written by `trilemma train -o` (`trilemma.models.weights`);
* `hf:NAME_OR_PATH`: a PyTorch LLaDA- or Dream-style dLLM from the Hugging Face
  cache or a local folder (`trilemma.models.pytorch`), asked ParallelBench's chat
  for each of the task's prompts (`trilemma.parallelbench.prompt_messages`); needs
  `trilemma[torch]`;
* `module:factory`: `factory(task)` of an importable module, returning a `Model` or
  `HostModel` in the task's layout.

A trained model (`default` or a folder) decodes prompts of its own vocabulary, so it
also decides the task (`trilemma.models.weights.ModelFile.task_set`); the others
decode the task they are given.
"""

from __future__ import annotations

import importlib
import re
from pathlib import Path

from .. import _checks
from ._model import HostModel, Model

HF = "hf:"
"""The prefix of a Hugging Face model spec."""

_FACTORY = re.compile(r"[A-Za-z_][\w.]*:[A-Za-z_]\w*")


def spec_kind(spec) -> str:
    """`"oracle"`, `"default"`, `"hf"`, `"factory"` or `"folder"`: what `spec` names.

    >>> [spec_kind(s) for s in ("oracle", "hf:GSAI-ML/LLaDA-8B-Instruct", "m.x:f")]
    ['oracle', 'hf', 'factory']
    """
    spec = str(spec)
    if spec in ("oracle", "default"):
        return spec
    if spec.startswith(HF):
        return "hf"
    if _FACTORY.fullmatch(spec) and not Path(spec).exists():
        return "factory"
    return "folder"


def factory_model(spec: str, task) -> Model | HostModel:
    """The model `factory(task)` of `spec = "module:factory"` builds."""
    module_name, _, attr = spec.partition(":")
    try:
        module = importlib.import_module(module_name)
    except Exception as err:  # a user's module: any error while importing it
        raise ValueError(
            f"`model` {spec!r}: cannot import {module_name!r} "
            f"({type(err).__name__}: {_first_line(err)})"
        ) from None
    factory = getattr(module, attr, None)
    if not callable(factory):
        raise ValueError(
            f"`model` {spec!r}: cannot load {attr!r} (module {module_name!r} has no "
            "such function)"
        )
    model = factory(task)
    return _checks.check_instance(
        model, "model", (Model, HostModel), f"a Model or HostModel from {spec}"
    )


def hf_model(
    spec: str,
    task,
    *,
    gen_length: int,
    family: str | None = None,
    device: str | None = None,
    dtype: str = "auto",
) -> HostModel:
    """The `HostModel` of `hf:NAME_OR_PATH`, asked ParallelBench's chat per prompt.

    Args:
      spec: `"hf:NAME_OR_PATH"`.
      task: a task of `trilemma.tasks.TEXT_TASKS`; prompt $i$ of the model is
        `prompt_messages(task, i)`, and its answers are graded as text.
      gen_length: the answer's tokens $L$.
      family: `"llada"`, `"dream"` or None (by the config).
      device: `"cuda"`, `"cpu"`, ... or None (CUDA when present).
      dtype: as `trilemma.models.pytorch.from_pretrained`.
    """
    from ..parallelbench import TEXT_TASKS, prompt_messages
    from . import pytorch

    name = spec[len(HF) :]
    if not name:
        raise ValueError(
            "`model` hf: needs a model name or folder (hf:GSAI-ML/LLaDA-1.5)"
        )
    if task.name not in TEXT_TASKS:
        raise ValueError(
            f"`model` {spec}: task {task.name} has no text prompt; an hf: model "
            f"answers {', '.join(TEXT_TASKS)}"
        )
    _checks.check_int(gen_length, "gen_length", minimum=1, maximum=2**20)
    messages = [prompt_messages(task, i) for i in range(len(task.prompts))]
    try:
        pytorch.require()
    except ImportError as err:
        raise ValueError(f"`model` {spec}: {err}") from None
    return pytorch.from_pretrained(
        name,
        messages,
        gen_length=gen_length,
        family=family,
        device=device,
        dtype=dtype,
    )


def _first_line(err: BaseException) -> str:
    text = str(err).strip()
    return text.splitlines()[0] if text else repr(err)
