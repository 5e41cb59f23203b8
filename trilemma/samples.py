r"""The sample file: one JSON object per line, written and read by this module only.

Schema `trilemma.samples/1` (README, "Sample files"). Every line holds, in this order:

* `schema` (str): `"trilemma.samples/1"`;
* `task`, `n` (str, int; null for a model without a task): the task and its size;
* `model` (str): the dLLM (`oracle`, `default`, a model folder's name, a host name);
* `sampler`, `params` (str, object): the registered sampler and its parameters;
* `seed` (int): the run's seed;
* `prompt_id` (int): the prompt's index in the run, from 0;
* `sample_index` (int): the sample's index among its prompt's samples, from 0;
* `prompt_tokens` ([int]): the prompt as its task states it (the row its grader
  reads); without a task, the model's prefix tokens;
* `prompt_text` (str): the model's prefix as text;
* `output_tokens` ([int]): the $L$ decoded output tokens;
* `output_text` (str): the output as text;
* `output_kind` (str): `"tokens"` when the output tokens are the task's values (or,
  without a task, the model's own outcomes), graded and counted as tokens; `"text"`
  when they are a tokenizer's (a PyTorch dLLM answering the task in words): the
  answer is then `output_text`, graded as ParallelBench grades text, and the tokens
  only give its length;
* `nfe` (int): the dLLM's forward passes for this sample;
* `ar_nfe` (int): the AR verifier's passes (APD; 0 otherwise).

No timestamps or host names: a file is a pure function of its command, so two runs,
or the shards of one run concatenated, compare byte for byte. Sample $j$ of prompt $i$
is drawn with the key `fold_in(fold_in(key(seed), i), j)` (`trilemma.sampling`).
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from . import _checks
from ._files import atomic_open
from ._files import check_destination as check_file_destination

SCHEMA = "trilemma.samples/2"
"""The `schema` value of every line this version writes."""

SCHEMAS = ("trilemma.samples/1", SCHEMA)
"""The schemas `read` takes: version 1 lines lack `output_kind` (their outputs are
tokens)."""

OUTPUT_KINDS = ("tokens", "text")
"""The `output_kind` values: outcomes by their tokens, or by their text."""

FIELDS = (
    "schema",
    "task",
    "n",
    "model",
    "sampler",
    "params",
    "seed",
    "prompt_id",
    "sample_index",
    "prompt_tokens",
    "prompt_text",
    "output_tokens",
    "output_text",
    "output_kind",
    "nfe",
    "ar_nfe",
)
"""The fields of a line, in the order they are written."""

RUN_FIELDS = ("task", "n", "model", "sampler", "params", "seed")
"""The fields shared by every sample of one run."""


def record(run: dict[str, Any], **sample) -> str:
    """One line (no newline) from the run's fields and one sample's fields."""
    values = {"schema": SCHEMA, **run, **sample}
    return json.dumps({key: values[key] for key in FIELDS})


def writer(path):
    """A text file to write lines to, in place only once complete (`atomic_open`)."""
    return atomic_open(path, text=True)


def check_destination(path, name: str = "output") -> Path:
    """`path` as a `Path`, if a sample file can be written there; else `ValueError`.

    The shared check of every command's output (`trilemma._files.check_destination`):
    a non-empty name that fits the file system, in an existing writable folder where
    a file can really be created, and not an existing folder, device or pipe.
    """
    return check_file_destination(path, name)


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
    rows: dict[str, list] = {key: [] for key in FIELDS + _LOGGED}
    runs: dict[str, int] = {}
    run_of: list[int] = []
    prompts: dict[int, tuple[tuple[int, ...], str]] = {}
    docs: dict[int, Any] = {}
    lengths: list[int] = []
    warnings: list[str] = []
    length, text_outputs = None, None
    for path in paths:
        count, kind = 0, None
        log = _LogFile(path, filter, prompt_ids) if format == "lm-eval" else None
        for where, line in _lines(path):
            records = list(_records(line, where, format, path))
            if log is not None:
                records = log.keep(records, where)
            for values in records:
                if kind is None:
                    kind = values["schema"]
                elif values["schema"] != kind:
                    raise ValueError(
                        f"{where}: a {_KINDS[values['schema']]} line in a file of "
                        f"{_KINDS[kind]} lines"
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
                for key in _LOGGED:
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
        **{key: np.asarray(rows[key], float) for key in _LOGGED},
        warnings=tuple(warnings),
    )


_LOGGED = ("tokens_per_step", "score", "score_strict")
"""ParallelBench's per-line float fields, kept as columns (NaN where absent)."""


class _LogFile:
    """One lm-eval file's lines: one filter's, each (file, `doc_id`) once."""

    def __init__(self, path, filter, prompt_ids: PromptNumbers):
        self.path, self.filter, self.prompt_ids = path, filter, prompt_ids
        self.file = os.path.realpath(path)
        self.filters: list = []
        self.docs: dict[int, tuple[str, str]] = {}  # doc_id -> (where, doc JSON)
        self.read: dict[int, str] = {}  # doc_id -> where, under the filter read

    def keep(self, records: list[dict], where: str) -> list[dict]:
        """The line's samples if it is the first of its doc under the filter read."""
        first = records[0]
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
        return [{**r, "prompt_id": number} for r in records]

    def warnings(self) -> list[str]:
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


HANDWRITTEN = "hand-written"
LM_EVAL = "lm-eval"
_KINDS = {SCHEMA: "full-schema", HANDWRITTEN: "hand-written", LM_EVAL: "lm-eval"}
_VERSION_1 = {"output_kind": "tokens"}
"""What a `trilemma.samples/1` line leaves out."""


def _records(line: str, where: str, format: str, path) -> Iterator[dict[str, Any]]:
    """The samples of one line, each with every field (`schema` says its kind)."""
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
    _check_int64(values, where, ("doc_id",) if format == "lm-eval" else INT_FIELDS)
    if format == "lm-eval":
        yield from _lm_eval(values, where, path)
    elif "schema" in values:
        yield _parse(values, where)
    else:
        yield _handwritten(values, where, path)


def _handwritten(values: dict, where: str, path) -> dict[str, Any]:
    """A minimal line: `prompt_id` and `output_tokens` or `output_text` (`nfe`)."""
    if "prompt_id" not in values:
        raise ValueError(f"{where}: missing field prompt_id")
    if "output_tokens" not in values and "output_text" not in values:
        raise ValueError(f"{where}: give output_tokens or output_text")
    prompt_id = values["prompt_id"]
    if not (
        (_is_int(prompt_id) and prompt_id >= 0)
        or (isinstance(prompt_id, str) and prompt_id)
    ):
        raise ValueError(
            f"{where}: field `prompt_id` must be a non-negative integer or a "
            "non-empty string; got "
            f"{json.dumps(values['prompt_id'])[:60]}"
        )
    tokens = values.get("output_tokens")
    if tokens is not None and not (
        isinstance(tokens, list) and tokens and all(map(_is_int, tokens))
    ):
        raise ValueError(
            f"{where}: field `output_tokens` must be a non-empty list of integers; "
            f"got {json.dumps(tokens)[:60]}"
        )
    text = values.get("output_text", "")
    if not isinstance(text, str):
        raise ValueError(f"{where}: field `output_text` must be a string")
    nfe = values.get("nfe", -1)
    if not (_is_int(nfe) and nfe >= -1):
        raise ValueError(f"{where}: field `nfe` must be a non-negative integer")
    return _bare(HANDWRITTEN, path, values["prompt_id"], 0, tokens, text, nfe)


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
    for key in ("nfe", "output_length", *_LOGGED):
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


def _bare(kind, path, prompt_id, index, tokens, text, nfe) -> dict[str, Any]:
    """A sample of a file without run fields: the file is its run (`model`)."""
    return {
        "schema": kind,
        **dict.fromkeys(RUN_FIELDS),
        "model": str(path),
        "params": {},
        "seed": 0,
        "prompt_id": prompt_id,
        "sample_index": index,
        "prompt_tokens": [],
        "prompt_text": "",
        "output_tokens": tokens,
        "output_text": text,
        "output_kind": "tokens" if tokens is not None else "text",
        "nfe": nfe,
        "ar_nfe": 0,
    }


def _strings(value) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


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


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


INT_FIELDS = (
    "n",
    "seed",
    "prompt_id",
    "sample_index",
    "prompt_tokens",
    "output_tokens",
    "nfe",
    "ar_nfe",
)
"""The integer fields (or lists of integers), all read into int64 columns."""


def _check_int64(values: dict, where: str, keys=INT_FIELDS) -> None:
    """`ValueError` naming the first integer field of `values` outside int64."""
    for key in keys:
        value = values.get(key)
        for item in value if isinstance(value, list) else (value,):
            if _is_int(item) and not -(2**63) <= item < 2**63:
                raise ValueError(
                    f"{where}: field `{key}` holds {_checks.show(item)}, outside the "
                    "64-bit integers [-2^63, 2^63 - 1]"
                )


def _parse(values: dict, where: str) -> dict[str, Any]:
    """One validated full-schema line."""
    if values.get("schema") not in SCHEMAS:
        raise ValueError(
            f"{where}: `schema` must be one of {', '.join(map(repr, SCHEMAS))}; got "
            f"{values.get('schema')!r}"
        )
    if values["schema"] != SCHEMA:
        values = {**_VERSION_1, **values, "schema": SCHEMA}
    missing = [key for key in FIELDS if key not in values]
    if missing:
        raise ValueError(f"{where}: missing field(s) {', '.join(missing)}")
    checks = {
        "task": lambda v: v is None or isinstance(v, str),
        "n": lambda v: v is None or _is_int(v),
        "model": lambda v: isinstance(v, str),
        "sampler": lambda v: isinstance(v, str),
        "params": lambda v: isinstance(v, dict),
        "seed": _is_int,
        "prompt_id": lambda v: _is_int(v) and v >= 0,
        "sample_index": lambda v: _is_int(v) and v >= 0,
        "prompt_tokens": lambda v: isinstance(v, list) and all(map(_is_int, v)),
        "prompt_text": lambda v: isinstance(v, str),
        "output_tokens": lambda v: (
            isinstance(v, list) and len(v) > 0 and all(map(_is_int, v))
        ),
        "output_text": lambda v: isinstance(v, str),
        "output_kind": lambda v: v in OUTPUT_KINDS,
        "nfe": lambda v: _is_int(v) and v >= 0,
        "ar_nfe": lambda v: _is_int(v) and v >= 0,
    }
    kinds = {
        "task": "a string or null",
        "n": "an integer or null",
        "params": "an object",
        "seed": "an integer",
        "prompt_tokens": "a list of integers",
        "output_tokens": "a non-empty list of integers",
        "output_kind": f"one of {', '.join(map(repr, OUTPUT_KINDS))}",
        "nfe": "a non-negative integer",
        "ar_nfe": "a non-negative integer",
        "prompt_id": "a non-negative integer",
        "sample_index": "a non-negative integer",
    }
    for key, ok in checks.items():
        if not ok(values[key]):
            raise ValueError(
                f"{where}: field `{key}` must be {kinds.get(key, 'a string')}; got "
                f"{json.dumps(values[key])[:60]}"
            )
    return values
