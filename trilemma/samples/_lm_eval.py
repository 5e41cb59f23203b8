"""Reader of lm-evaluation-harness `--log_samples` files, ParallelBench's included.

A file `samples_<task>[_<date>].jsonl` is one task of one run. Each line is one doc
(`doc_id`, `doc`, `resps`, `filter`, and ParallelBench's per-line `nfe`,
`output_length`, `tokens_per_step`, `score`, `score_strict`); every string of its
`resps` is one sample. What the file says of its run becomes the samples' run fields:

- `task`: the trilemma task its name maps to (`trilemma_task_name`:
  `parallelbench_waiting_line_shuffle` -> `shuffle_distinct`, the dInfer port's
  `waiting_line_copy` -> `copy`, ...); None for another harness task (`gsm8k`),
  which `--task` or `--reference` then has to judge. A ParallelBench name that maps
  to nothing, and its Text Writing tasks (not graded here), are errors;
- `n`: **per doc**, `doc_length` (`metadata.length`, or the input list), so one
  Waiting Line file that mixes n = 3..6 is four groups (None where a doc of
  another task does not say);
- `model`: the run's `model_name` in the `results*.json` beside the file (lm-eval
  writes one per run), else the file's path (the file is its own run);
- `sampler`, `params`: the unmasking method and its parameters, from the line's
  `arguments.gen_args_0.arg_1` (`{"k": 4, "unmasking": "confidence_topk",
  "do_sample": false, "max_tokens": 32, ...}` gives `confidence_topk` and `{"k":
  4}`: `trilemma.parallelbench.method_params`, as `trilemma parallelbench` reads
  them); None and `{}` when the line has none.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ..parallelbench import (
    UNGRADED_TASKS,
    doc_length,
    log_task_name,
    method_params,
    trilemma_task_name,
)
from ._schema import LM_EVAL, _bare, _is_int

LOGGED = ("tokens_per_step", "score", "score_strict")
"""ParallelBench's per-line float fields, kept as columns (NaN where absent)."""

_PARALLELBENCH_PREFIXES = ("parallelbench_", "parallel_bench_")


class LogReader:
    """One lm-eval file's samples: one filter's lines, each (file, `doc_id`) once.

    Args:
      path: the file.
      filter: the filter whose lines are read (None: the file's first).
      prompt_ids: the `PromptNumbers` that number (file, `doc_id`) keys.
    """

    def __init__(self, path, filter, prompt_ids):
        self.path, self.filter, self.prompt_ids = path, filter, prompt_ids
        self.file = os.path.realpath(path)
        self.task = file_task(path)
        self.model = run_model(path)
        self.filters: list = []
        self.docs: dict[int, tuple[str, str]] = {}  # doc_id -> (where, doc JSON)
        self.read: dict[int, str] = {}  # doc_id -> where, under the filter read

    def records(self, values: dict, where: str) -> list[dict[str, Any]]:
        """The line's samples with their run fields; [] for a line not read."""
        samples = list(_lm_eval(values, where, self.path))
        first = samples[0]
        doc_id, line_filter = first["doc_id"], first["filter"]
        if line_filter not in self.filters:
            self.filters.append(line_filter)
        doc = json.dumps(first["doc"], sort_keys=True)
        place, seen = self.docs.setdefault(doc_id, (where, doc))
        if seen != doc:
            raise ValueError(
                f"{where}: field `doc`: doc_id {doc_id} has another doc than at {place}"
            )
        chosen = self.filter if self.filter is not None else self.filters[0]
        if line_filter != chosen:
            return []
        if doc_id in self.read:
            raise ValueError(
                f"{where}: field `doc_id`: doc {doc_id} is logged again under filter "
                f"{chosen!r} (first at {self.read[doc_id]})"
            )
        self.read[doc_id] = where
        number = self.prompt_ids(
            ("lm-eval", self.file, doc_id), f"{self.path} doc_id {doc_id}", where
        )
        run = {
            "task": self.task,
            "n": _doc_n(first["doc"], where, required=self.task is not None),
            "model": self.model,
            **_method(values, where),
        }
        return [{**r, **run, "prompt_id": number} for r in samples]

    def warnings(self) -> list[str]:
        """Which filter was read, when the file logs several; `ValueError` if none."""
        if self.filter is not None and self.filter not in self.filters:
            raise ValueError(
                f"{self.path}: no line of filter {self.filter!r} (its filters: "
                f"{', '.join(map(repr, self.filters))})"
            )
        if len(self.filters) < 2:
            return []
        chosen = self.filter if self.filter is not None else self.filters[0]
        return [
            f"{self.path}: {len(self.filters)} filters "
            f"({', '.join(map(repr, self.filters))}) log every doc once each, with "
            f"all its responses; read the lines of filter {chosen!r} only"
        ]


def file_task(path) -> str | None:
    """The trilemma task of a sample file, from its name; None for other tasks.

    Raises:
      ValueError: a ParallelBench task name that maps to no trilemma task (the
        known ones listed), or one of its Text Writing tasks.
    """
    name = log_task_name(path)
    if name in UNGRADED_TASKS:
        raise ValueError(
            f"{path}: task {name!r} is scored by LanguageTool, ROUGE and BERTScore, "
            "which trilemma does not grade; leave its files out"
        )
    try:
        return trilemma_task_name(name)
    except ValueError as error:
        if name.startswith(_PARALLELBENCH_PREFIXES):
            raise ValueError(f"{path}: the file's {error}") from None
        return None


def run_model(path) -> str:
    """The run's model: `model_name` of the `results*.json` beside `path`, else `path`.

    lm-eval writes one `results_<date>.json` per run beside its sample files
    (ParallelBench: `results_parallelbench.json`); with several, the model must be
    one.
    """
    names = set()
    for results in sorted(Path(path).parent.glob("results*.json")):
        try:
            with open(results, encoding="utf-8") as f:
                name = json.load(f).get("model_name")
        except (OSError, ValueError, AttributeError):
            continue
        if isinstance(name, str) and name:
            names.add(name)
    if len(names) > 1:
        raise ValueError(
            f"{path}: the results files beside it name several models "
            f"({', '.join(sorted(names))}); keep one run per folder"
        )
    return names.pop() if names else str(path)


def _doc_n(doc, where: str, *, required: bool) -> int | None:
    """The doc's size n (`doc_length`); an error if the file's task needs it."""
    n = doc_length(doc) if isinstance(doc, dict) else None
    if n is None and required:
        raise ValueError(
            f"{where}: field `doc`: its size n is not logged (no `metadata.length` "
            "and no input list)"
        )
    return n


def _method(values: dict, where: str) -> dict[str, Any]:
    """`sampler` and `params` from the line's generation arguments."""
    try:
        args = values["arguments"]["gen_args_0"]["arg_1"]
    except (KeyError, TypeError):
        return {"sampler": None, "params": {}}
    if not isinstance(args, dict):
        return {"sampler": None, "params": {}}
    method = args.get("unmasking")
    if method is not None and not isinstance(method, str):
        raise ValueError(
            f"{where}: field `arguments.gen_args_0.arg_1.unmasking` must be a "
            f"string; got {json.dumps(method)[:60]}"
        )
    return {"sampler": method, "params": method_params(args) if method else {}}


def _lm_eval(values: dict, where: str, path) -> Iterator[dict[str, Any]]:
    """The samples of one lm-evaluation-harness logged line: every string of `resps`."""
    doc_id = values.get("doc_id")
    if not (_is_int(doc_id) and doc_id >= 0):
        raise ValueError(
            f"{where}: an lm-eval sample needs an integer `doc_id`; got "
            f"{json.dumps(doc_id)[:60]}"
        )
    if "resps" not in values:
        raise ValueError(f"{where}: missing field resps")
    texts = list(_strings(values["resps"]))
    if not texts:
        raise ValueError(f"{where}: field `resps` holds no response strings")
    logged = {}
    for key in ("nfe", "output_length", *LOGGED):
        value = values.get(key)
        if value is None:
            continue
        if not (
            isinstance(value, int | float)
            and not isinstance(value, bool)
            and math.isfinite(value)
            and value >= 0
        ):
            raise ValueError(
                f"{where}: field `{key}` must be a non-negative number; got "
                f"{json.dumps(value)[:60]}"
            )
        if key in ("nfe", "output_length"):
            if not float(value).is_integer() or value >= 2**63:
                raise ValueError(
                    f"{where}: field `{key}` must be a whole number; got {value!r}"
                )
            value = int(value)
        logged[key] = value
    nfe = logged.pop("nfe", -1)
    extra = {"doc": values.get("doc"), "doc_id": doc_id, "filter": values.get("filter")}
    for index, text in enumerate(texts):
        sample = _bare(LM_EVAL, path, doc_id, index, None, text, nfe)
        yield {**sample, **extra, **logged}


def _strings(value) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)
