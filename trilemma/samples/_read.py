"""`read`: sample files of any format into the one `Samples` record of columns."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from typing import Any, NamedTuple

import numpy as np

from .. import _checks
from . import _lm_eval, _trilemma
from ._schema import FIELDS, HANDWRITTEN, INT_FIELDS, KINDS, RUN_FIELDS, _check_int64


class Samples(NamedTuple):
    """The samples of one or more files, as columns.

    Attributes:
      prompt_id: `(N,)` prompt ids.
      sample_index: `(N,)` sample indices.
      output_tokens: `(N, L)` outputs.
      nfe: `(N,)` the dLLM's forward passes.
      ar_nfe: `(N,)` the verifier's passes.
      runs: the distinct run fields (`RUN_FIELDS`) met, in order of appearance.
      run: `(N,)` the index in `runs` of each sample's run.
      prompts: `{prompt_id: (prompt_tokens, prompt_text)}`.
      output_text: `(N,)` the outputs as text.
      text_outputs: whether the outputs were read as text (`output_tokens` are then
        the strings' numbers in `text_ids`).
      docs: `{prompt_id: doc}`, the `doc` of each lm-eval prompt (ParallelBench's
        record, which `trilemma.parallelbench.grade_doc` grades); empty for other
        formats.
      output_length: `(N,)` the tokens each output spans as its model wrote it
        (`L` for token outputs, the tokenizer's for `output_kind` `"text"`, an
        lm-eval line's `output_length`; -1 when a file does not say).
      prompt_names: `{prompt_id: name}` for the prompts `read` numbered itself: an
        lm-eval doc (`"file doc_id 7"`: docs are keyed by (file, `doc_id`)) or a
        hand-written string id (`"gsm8k-17"`); other ids are the files' own.
      tokens_per_step, score, score_strict: `(N,)` the per-line values
        ParallelBench logs (NaN where a line has none). Its `tokens_per_step` is
        `max_tokens / nfe`, the whole generation canvas per step (padding and EOS
        included), not the answer's tokens per step.
      warnings: lines for the reader (which lm-eval filter was read).
    """

    prompt_id: np.ndarray
    sample_index: np.ndarray
    output_tokens: np.ndarray
    nfe: np.ndarray
    ar_nfe: np.ndarray
    runs: tuple[dict[str, Any], ...]
    run: np.ndarray
    prompts: dict[int, tuple[tuple[int, ...], str]]
    output_text: tuple[str, ...]
    text_outputs: bool = False
    docs: dict[int, Any] = {}
    output_length: np.ndarray | None = None
    prompt_names: dict[int, str] = {}
    tokens_per_step: np.ndarray | None = None
    score: np.ndarray | None = None
    score_strict: np.ndarray | None = None
    warnings: tuple[str, ...] = ()

    def __len__(self) -> int:
        return len(self.prompt_id)


FORMATS = ("trilemma", "lm-eval")
"""Input formats `read` takes: trilemma's JSONL (full or hand-written) and
lm-evaluation-harness `--log_samples` files."""

NORMALIZATIONS = ("none", "whitespace", "case")
"""How text outputs are made comparable: as is; runs of whitespace collapsed and
the ends stripped; and, on top of that, lower case."""


def normalize_text(text: str, how: str = "none") -> str:
    r"""`text` under one of `NORMALIZATIONS`.

    >>> normalize_text("  Ann,\n Bob ", "whitespace")
    'Ann, Bob'
    """
    if how == "none":
        return text
    text = " ".join(text.split())
    return text.lower() if how == "case" else text


class PromptNumbers:
    """Prompt ids for prompts that files name otherwise than by an integer.

    An lm-eval doc is keyed by (file, `doc_id`): two files' `doc_id`s may name
    different docs, so each (file, `doc_id`) gets its own id; a hand-written
    string id (`"gsm8k-17"`) names one prompt in every file. Ids are numbered from 0
    in order of appearance. Share one instance between the reads of a sample set
    and its reference (as `text_ids`) so that both number one prompt alike.
    """

    def __init__(self):
        self.number: dict[tuple, int] = {}
        self.name: dict[int, str] = {}
        self.integer_ids = False

    def __call__(self, key: tuple, name: str, where: str) -> int:
        """The id of the prompt `key` (named `name` in reports), numbered if new."""
        if self.integer_ids:
            raise ValueError(f"{where}: {_MIXED_IDS}")
        if key not in self.number:
            self.number[key] = len(self.number)
            self.name[self.number[key]] = name
        return self.number[key]

    def integer(self, where: str) -> None:
        """Note a hand-written integer id; `ValueError` if string ids were read."""
        if any(key[0] == "string" for key in self.number):
            raise ValueError(f"{where}: {_MIXED_IDS}")
        self.integer_ids = True


_MIXED_IDS = (
    "field `prompt_id`: string and integer prompt ids are mixed (give every "
    "hand-written line the same kind of id)"
)


def read(
    *paths,
    format: str = "trilemma",
    normalize: str = "none",
    text_ids=None,
    prompt_ids: PromptNumbers | None = None,
    filter: str | None = None,
    name: str = "samples",
) -> Samples:
    """Read and validate sample files; their samples concatenated in order.

    Formats:
      * `trilemma`: lines of the schema (every field), or hand-written lines with
        only `prompt_id` (a non-negative integer, or a string numbered in order of
        appearance, `prompt_names` mapping back) and `output_tokens` or
        `output_text` (`nfe` when known; -1 otherwise); one file holds one kind of
        line. A full-schema line's run is its `RUN_FIELDS`; a hand-written file is
        one run of its own.
      * `lm-eval`: lm-evaluation-harness `--log_samples` lines (files
        `samples_<task>_*.jsonl`); the file is one run. Each (file, `doc_id`) is
        one prompt, numbered in order of appearance (`prompt_names`), so docs of
        different files are never merged; one `doc_id` with two different docs in
        a file is an error naming both lines. A task with several filters logs
        each doc once per filter, every line with all the doc's responses: only
        the lines of one filter are read (`filter`, else the file's first), and a
        warning says which (`warnings`). Every string of that line's `resps`
        (nested lists flattened; repeats included) is one sample. ParallelBench's
        per-line `nfe`, `output_length`, `tokens_per_step`, `score` and
        `score_strict` are kept for each of the line's samples.

    Text outputs (`output_text` without tokens, or lm-eval responses) are outcomes
    by their string after `normalize`, numbered in `text_ids` (a dict shared across
    calls, so a sample set and its reference number one string alike): their
    `output_tokens` are `[id]`. `prompt_ids` does the same for prompt ids.

    A file given twice is read twice (its samples count twice); `check_distinct`
    refuses that, as `trilemma diversity-loss` does. Integers must be 64-bit
    (`prompt_id`, tokens, `nfe`, ...), as the columns are.

    Raises:
      ValueError: naming the file and line of the first malformed line (bad JSON, a
        missing or wrongly typed field, another schema, a line of another kind than
        the file's first, an output length unlike the first line's, a prompt id whose
        prompt differs between lines, an lm-eval doc logged twice under one filter
        or with two contents), an empty or unreadable file, a file without lines of
        `filter`, an unknown format or normalisation, no paths, or an integer
        outside the 64-bit range; `name` (the argument the paths came from) in the
        messages.
    """
    if not paths:
        raise ValueError(f"`{name}`: give at least one sample file")
    if format not in FORMATS:
        raise _checks.unknown("format", format, FORMATS)
    if normalize not in NORMALIZATIONS:
        raise _checks.unknown("normalisation", normalize, NORMALIZATIONS)
    text_ids = {} if text_ids is None else text_ids
    prompt_ids = PromptNumbers() if prompt_ids is None else prompt_ids
    rows: dict[str, list] = {key: [] for key in FIELDS + _lm_eval.LOGGED}
    runs: dict[str, int] = {}
    run_of: list[int] = []
    prompts: dict[int, tuple[tuple[int, ...], str]] = {}
    docs: dict[int, Any] = {}
    lengths: list[int] = []
    warnings: list[str] = []
    length, text_outputs = None, None
    for path in paths:
        count, kind = 0, None
        log = (
            _lm_eval.LogReader(path, filter, prompt_ids)
            if format == "lm-eval"
            else None
        )
        for where, line in _lines(path):
            for values in _records(line, where, path, log):
                if kind is None:
                    kind = values["schema"]
                elif values["schema"] != kind:
                    raise ValueError(
                        f"{where}: a {KINDS[values['schema']]} line in a file of "
                        f"{KINDS[kind]} lines"
                    )
                if kind == HANDWRITTEN:
                    if isinstance(values["prompt_id"], str):
                        values["prompt_id"] = prompt_ids(
                            ("string", values["prompt_id"]), values["prompt_id"], where
                        )
                    else:
                        prompt_ids.integer(where)
                tokens = values["output_tokens"]
                is_text = tokens is None or values["output_kind"] == "text"
                lengths.append(
                    values.get("output_length", -1) if tokens is None else len(tokens)
                )
                if text_outputs is None:
                    text_outputs = is_text
                elif is_text != text_outputs:
                    raise ValueError(
                        f"{where}: a {'text' if is_text else 'token'} output among "
                        f"{'text' if text_outputs else 'token'} outputs (give every "
                        "sample `output_tokens`, or none)"
                    )
                if is_text:
                    text = normalize_text(values["output_text"], normalize)
                    values["output_tokens"] = [text_ids.setdefault(text, len(text_ids))]
                if values.get("doc") is not None:
                    docs.setdefault(values["prompt_id"], values["doc"])
                if length is None:
                    length = len(values["output_tokens"])
                elif len(values["output_tokens"]) != length:
                    raise ValueError(
                        f"{where}: `output_tokens` has {len(values['output_tokens'])} "
                        f"tokens; earlier samples have {length}"
                    )
                prompt = (tuple(values["prompt_tokens"]), values["prompt_text"])
                seen = prompts.setdefault(values["prompt_id"], prompt)
                if seen != prompt:
                    raise ValueError(
                        f"{where}: prompt_id {values['prompt_id']} has another prompt "
                        "than on its earlier lines"
                    )
                run = json.dumps({key: values[key] for key in RUN_FIELDS})
                run_of.append(runs.setdefault(run, len(runs)))
                for key in FIELDS:
                    rows[key].append(values[key])
                for key in _lm_eval.LOGGED:
                    rows[key].append(values.get(key, np.nan))
                count += 1
        if log is not None:
            warnings += log.warnings()
        if count == 0:
            raise ValueError(f"{path}: the sample file is empty")
    ids = set(rows["prompt_id"])
    return Samples(
        prompt_id=np.asarray(rows["prompt_id"], np.int64),
        sample_index=np.asarray(rows["sample_index"], np.int64),
        output_tokens=np.asarray(rows["output_tokens"], np.int64).reshape(
            len(run_of), length
        ),
        nfe=np.asarray(rows["nfe"], np.int64),
        ar_nfe=np.asarray(rows["ar_nfe"], np.int64),
        runs=tuple(json.loads(run) for run in runs),
        run=np.asarray(run_of, np.int64),
        prompts=prompts,
        output_text=tuple(rows["output_text"]),
        text_outputs=bool(text_outputs),
        docs=docs,
        output_length=np.asarray(lengths, np.int64),
        prompt_names={i: v for i, v in prompt_ids.name.items() if i in ids},
        **{key: np.asarray(rows[key], float) for key in _lm_eval.LOGGED},
        warnings=tuple(warnings),
    )


def check_distinct(paths, name: str = "samples") -> None:
    """`ValueError` if two of `paths` are one file (`os.path.samefile`).

    Two names of one file (`a.jsonl`, `./a.jsonl`, a link to it, or a glob that
    matches it again) would count its samples twice. Paths that cannot be read are
    left for the reader to name.
    """
    seen: dict[tuple[int, int], str] = {}
    for path in paths:
        try:
            info = os.stat(path)
        except (OSError, ValueError):
            continue
        key = (info.st_dev, info.st_ino)
        if key in seen:
            first, again = _checks.show(str(seen[key])), _checks.show(str(path))
            named = (
                f"the file {again} is given twice"
                if str(seen[key]) == str(path)
                else f"{again} is the file {first} again"
            )
            raise ValueError(
                f"`{name}`: {named}; its samples would be counted twice: give each "
                "file once"
            )
        seen[key] = path


def _records(line: str, where: str, path, log) -> list[dict[str, Any]]:
    """The samples of one line, each with every field (`schema` says its kind).

    `log` is the lm-eval file's `LogReader`, None for trilemma's lines.
    """
    try:
        values = json.loads(line)
    except json.JSONDecodeError as err:
        raise ValueError(f"{where}: not valid JSON ({err.msg})") from None
    except ValueError as err:  # an integer past Python's digit limit
        reason = str(err).split(";")[0]
        raise ValueError(f"{where}: not valid JSON here ({reason})") from None
    if not isinstance(values, dict):
        raise ValueError(
            f"{where}: a line must be a JSON object; got {type(values).__name__}"
        )
    _check_int64(values, where, ("doc_id",) if log is not None else INT_FIELDS)
    if log is not None:
        return log.records(values, where)
    if "schema" in values:
        return [_trilemma.parse(values, where)]
    return [_trilemma.handwritten(values, where, path)]


def _lines(path) -> Iterator[tuple[str, str]]:
    """`("file:line", text)` of each non-blank line; unreadable files named."""
    try:
        with open(path, encoding="utf-8") as f:
            for number, line in enumerate(f, 1):
                if line.strip():
                    yield f"{path}:{number}", line
    except (OSError, UnicodeDecodeError) as err:
        reason = getattr(err, "strerror", None) or str(err)
        raise ValueError(f"{path}: cannot read the sample file ({reason})") from None
