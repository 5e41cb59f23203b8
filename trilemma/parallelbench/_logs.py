r"""ParallelBench's harness logs on disk: the sample files of a results tree, graded.

ParallelBench publishes its lm-evaluation-harness runs as a tree
`results/<model>/<method>/<param>/<run>/samples_<task>.jsonl` (lm-eval itself names
the files `samples_<task>_<date>.jsonl`; both are read), one JSON object per line:
the `doc` (graded by `grade_doc`), the harness's filtered response
`filtered_resps[0]` (the one its `process_results` scores), the logged verdicts
`score` and `score_strict` (0.0 or 1.0), ParallelBench's per-line measurements (`nfe`,
`tokens_per_step` = max_tokens / nfe, `output_length`) and the generation arguments
(`arguments.gen_args_0.arg_1`: the decoding method and its parameter). The task is
named by the file
(`parallelbench_waiting_line_copy`, `parallelbench_puzzles_sudoku_n4`, ...; the name
tables of `trilemma_task_name`), and the run's settings by the four folders above it.

Files are read line by line, so a tree of any size is graded in bounded memory.
Every problem with the input is a `ValueError` of one sentence naming the path (and
the line: `file:line`).
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any, NamedTuple

from ._docs import POOLED_PATTERN_TASKS, doc_length, doc_pattern, grade_doc
from ._names import LM_EVAL_TASKS, UNGRADED_TASKS, trilemma_task_name

SAMPLE_FILES = "samples_*.jsonl"
"""The glob of lm-eval's `--log_samples` files."""

_DATE_SUFFIX = re.compile(r"_\d{4}-\d{2}-\d{2}T\d{2}-\d{2}-\d{2}(\.\d+)?$")
"""lm-eval's timestamp after the task name (`_2025-01-31T12-00-00.123456`)."""


GENERIC_ARGS = frozenset(
    {"until", "do_sample", "max_tokens", "max_gen_toks", "unmasking"}
)
"""Generation arguments that are not the method's parameters."""


def method_params(gen_args: Mapping[str, Any] | None) -> dict[str, Any]:
    r"""The method's parameters among generation arguments: all but `GENERIC_ARGS`.

    >>> method_params({"until": ["\\n\\n"], "max_tokens": 32, "k": 4,
    ...                "unmasking": "confidence_topk"})
    {'k': 4}
    """
    if not gen_args:
        return {}
    return {k: gen_args[k] for k in sorted(gen_args) if k not in GENERIC_ARGS}


def greedy(method: str | None, gen_args: Mapping | None) -> bool:
    """Whether a ParallelBench run decodes greedily.

    Its harness reads `temperature` (default 0) and never `do_sample`, so a run of
    one of its methods is greedy unless the arguments set a positive `temperature`
    (`paper_notes.md` §24).
    """
    from .ideal import METHODS

    args = gen_args or {}
    return method in METHODS and not args.get("temperature")


class LogFile(NamedTuple):
    """One sample file of a results tree.

    Attributes:
      path: the file, as found under the path given.
      task_name: the harness's task name, from the file name.
      task: the trilemma task that grades it; None for a task trilemma does not
        grade (ParallelBench's Text Writing, `UNGRADED_TASKS`).
      model, method, param, run: the four folders above the file
        (`<model>/<method>/<param>/<run>/samples_*.jsonl`); "" where the path is
        not that deep.
    """

    path: Path
    task_name: str
    task: str | None
    model: str
    method: str
    param: str
    run: str


NO_PATTERN = "no pattern"
"""`LineVerdict.pattern` of a task whose answers have no pooled pattern law."""


class LineVerdict(NamedTuple):
    """Trilemma's verdicts on one logged line, beside the logged ones and its costs.

    Attributes:
      line: the 1-based line number in the file.
      doc_id: the line's `doc_id`.
      n: the doc's size (`doc_length`), or None.
      response: the graded text, `filtered_resps[0]`.
      score, score_strict: trilemma's lenient and strict verdicts.
      logged_score, logged_score_strict: the verdicts the harness logged.
      nfe: the logged forward passes (`nfe`); NaN where the line has none.
      tokens_per_step: the logged `tokens_per_step` (ParallelBench's: max_tokens /
        nfe, the whole canvas); NaN where absent.
      output_length: the logged `output_length` (tokens up to the stop); NaN where
        absent.
      doc_hash: SHA-256 of the doc as lm-eval hashes it (`json.dumps(doc,
        indent=2, ensure_ascii=False)`; the logged `doc_hash`): one doc, one hash.
      gen_args: the generation arguments `arguments.gen_args_0.arg_1` (`until`,
        `max_tokens`, `unmasking`, `k`, ...); None where the line has none.
      pattern: the answer's pattern (`doc_pattern`: the permutation a Shuffle
        applies, where an insert puts W, ...) for the tasks of
        `POOLED_PATTERN_TASKS`, None for a malformed answer; `NO_PATTERN` for
        the other tasks.
      filter: the line's `filter` (lm-eval logs each doc once per filter); None
        where absent.
    """

    line: int
    doc_id: object
    n: int | None
    response: str
    score: bool
    score_strict: bool
    logged_score: bool
    logged_score_strict: bool
    nfe: float = math.nan
    tokens_per_step: float = math.nan
    output_length: float = math.nan
    doc_hash: str = ""
    gen_args: Mapping | None = None
    filter: str | None = None
    pattern: object = "no pattern"

    @property
    def agrees(self) -> bool:
        """Both verdicts equal the logged ones."""
        return (self.score, self.score_strict) == (
            self.logged_score,
            self.logged_score_strict,
        )


def log_task_name(path: str | Path) -> str:
    """The harness task name of a sample file: its stem without `samples_` and date.

    >>> log_task_name("run/samples_parallelbench_waiting_line_copy.jsonl")
    'parallelbench_waiting_line_copy'
    >>> log_task_name("samples_waiting_line_copy_2025-01-31T12-00-00.123456.jsonl")
    'waiting_line_copy'
    """
    stem = Path(path).name
    stem = stem.removeprefix("samples_").removesuffix(".jsonl")
    return _DATE_SUFFIX.sub("", stem)


def find_log_files(paths: Iterable[str | Path]) -> list[LogFile]:
    """The sample files (`samples_*.jsonl`) under each path, sorted, each once.

    Args:
      paths: folders (searched recursively) or sample files.

    Returns:
      The files, with their tasks and run settings.

    Raises:
      ValueError: a path that does not exist or holds no sample file, or a file
        whose task name maps to no trilemma task (the known names are listed).
    """
    found: dict[Path, Path] = {}
    for given in paths:
        path = Path(given)
        if path.is_dir():
            files = sorted(p for p in path.rglob(SAMPLE_FILES) if p.is_file())
        elif path.is_file():
            files = [path]
        else:
            raise ValueError(f"{path}: no such file or folder.")
        if not files:
            raise ValueError(f"{path}: no sample files ({SAMPLE_FILES}) in it.")
        for file in files:
            found.setdefault(file.resolve(), file)
    return [_log_file(path) for path in found.values()]


def _log_file(path: Path) -> LogFile:
    name = log_task_name(path)
    if name in UNGRADED_TASKS:
        task = None
    else:
        try:
            task = trilemma_task_name(name)
        except ValueError:
            known = sorted({*LM_EVAL_TASKS, *UNGRADED_TASKS})
            raise ValueError(
                f"{path}: task {name!r} (from the file name) maps to no trilemma "
                f"task; known: {known}."
            ) from None
    folders = ("", "", "", "", *path.resolve().parent.parts[1:])[-4:]
    return LogFile(path, name, task, *folders)


def read_log_lines(path: str | Path) -> Iterator[tuple[int, dict]]:
    """The JSON objects of a sample file, one line at a time, with line numbers.

    Blank lines are skipped.

    Raises:
      ValueError: `file:line` of a line that is not a JSON object (a truncated
        line included) or of bytes that are not UTF-8.
    """
    path = Path(path)
    with path.open("rb") as handle:
        for number, raw in enumerate(handle, start=1):
            try:
                text = raw.decode("utf-8")
                if not text.strip():
                    continue
                record = json.loads(text)
            except (UnicodeDecodeError, json.JSONDecodeError) as error:
                raise ValueError(
                    f"{path}:{number}: not a JSON line ({error})."
                ) from None
            if not isinstance(record, dict):
                raise ValueError(
                    f"{path}:{number}: not a JSON object (got {type(record).__name__})."
                )
            yield number, record


def grade_log(log: LogFile) -> Iterator[LineVerdict]:
    """Trilemma's verdicts on every line of a sample file, beside the logged ones.

    Each line's `filtered_resps[0]` is graded by `grade_doc(doc, response,
    task=log.task)`, leniently and strictly; the line's `nfe`, `tokens_per_step`,
    `output_length`, generation arguments and filter come with the verdicts. The
    file is read one line at a time.

    Args:
      log: a file of `find_log_files` with a task (`log.task` not None).

    Yields:
      One `LineVerdict` per line, in file order.

    Raises:
      ValueError: `file:line` of a line without a `doc`, a string
        `filtered_resps[0]`, or logged `score` and `score_strict` of 0 or 1, or
        whose doc the task cannot grade; of a logged `nfe`, `tokens_per_step` or
        `output_length` that is not a number, or generation arguments that are not
        an object.
    """
    if log.task is None:
        raise ValueError(f"{log.path}: trilemma does not grade {log.task_name!r}.")
    for number, record in read_log_lines(log.path):
        try:
            doc, response = _doc_and_response(record)
            logged = tuple(_logged(record, key) for key in ("score", "score_strict"))
            verdicts = tuple(
                grade_doc(doc, response, strict=strict, task=log.task)
                for strict in (False, True)
            )
            n = doc_length(doc)
            costs = tuple(
                _measured(record, key)
                for key in ("nfe", "tokens_per_step", "output_length")
            )
            gen_args = _gen_args(record)
            filter_ = _filter(record)
            pattern = NO_PATTERN
            if log.task in POOLED_PATTERN_TASKS:
                pattern = doc_pattern(doc, response, task=log.task)
        except (ValueError, TypeError) as error:
            raise ValueError(f"{log.path}:{number}: {error}") from None
        yield LineVerdict(
            number,
            record.get("doc_id"),
            n,
            response,
            *verdicts,
            *logged,
            *costs,
            doc_hash(doc),
            gen_args,
            filter_,
            pattern,
        )


def doc_hash(doc: Mapping) -> str:
    """SHA-256 of a doc as lm-eval hashes it (its logged `doc_hash`).

    lm-eval's `hash_string(json.dumps(doc, indent=2, ensure_ascii=False))`.
    """
    text = json.dumps(doc, indent=2, ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _measured(record: Mapping, key: str) -> float:
    value = record.get(key)
    if value is None:
        return math.nan
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"the logged `{key}` must be a number; got {value!r}.")
    return float(value)


def _gen_args(record: Mapping) -> Mapping | None:
    """`arguments.gen_args_0.arg_1` (lm-eval >= 0.4.3), or `arguments[0][1]`."""
    arguments = record.get("arguments")
    if arguments is None:
        return None
    if isinstance(arguments, Mapping):
        first = arguments.get("gen_args_0")
        kwargs = first.get("arg_1") if isinstance(first, Mapping) else None
    elif isinstance(arguments, list) and arguments and isinstance(arguments[0], list):
        kwargs = arguments[0][1] if len(arguments[0]) > 1 else None
    else:
        kwargs = None
    if kwargs is None:
        return None
    if not isinstance(kwargs, Mapping):
        raise ValueError(
            "the generation arguments (`arguments.gen_args_0.arg_1`) must be an "
            f"object; got {type(kwargs).__name__}."
        )
    return kwargs


def _filter(record: Mapping) -> str | None:
    value = record.get("filter")
    if value is None or isinstance(value, str):
        return value
    raise ValueError(f"the logged `filter` must be a string; got {value!r}.")


def _doc_and_response(record: Mapping) -> tuple[Mapping, str]:
    doc = record.get("doc")
    if not isinstance(doc, Mapping):
        raise ValueError("the line has no `doc` object.")
    responses = record.get("filtered_resps")
    if not isinstance(responses, list) or not responses:
        raise ValueError("the line has no `filtered_resps` list.")
    if not isinstance(responses[0], str):
        raise ValueError(
            "`filtered_resps[0]` must be the response text; "
            f"got {type(responses[0]).__name__}."
        )
    return doc, responses[0]


def _logged(record: Mapping, key: str) -> bool:
    value = record.get(key)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"the logged `{key}` must be 0 or 1; got {value!r}.")
    if value not in (0, 1):
        raise ValueError(f"the logged `{key}` must be 0 or 1; got {value!r}.")
    return value == 1
