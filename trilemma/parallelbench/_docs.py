r"""The docs that lm-evaluation-harness logs for ParallelBench's tasks, graded.

`grade_doc` grades a harness log line's `doc` as it is logged: ParallelBench's
harness docs (the reference under `label`, five shapes) and the dInfer port's
(under `answer`). On ParallelBench's published LLaDA and Dream logs committed as test
fixtures, its lenient and strict verdicts equal the logged `score` and
`score_strict` on every line (`tests/test_parallelbench_parity.py`;
`experiments/parallelbench_parity.py` checks any results tree).
"""

from __future__ import annotations

import ast
import json
from collections.abc import Mapping

from .. import _checks
from ._answers import (
    _as_list,
    _check_text,
    _insert_ok,
    _latin_verdict,
    _match_ok,
    _parse_list,
    _parse_sudoku,
    _remove_ok,
    _replace_ok,
    _shuffle_ok,
)
from ._names import PARALLELBENCH_METRICS, trilemma_task_name


def grade_doc(
    doc: Mapping,
    text: str,
    *,
    strict: bool = False,
    task: str | None = None,
    exact_grid: bool = False,
) -> bool:
    r"""ParallelBench's verdict on a logged sample, from its `doc` and the answer text.

    `doc` is the `doc` of an lm-evaluation-harness `--log_samples` line, as one of
    two harnesses logs it:

    - **ParallelBench's own** (`parallelbench/lm_eval_tasks/`; its published
      `results/<model>/<method>/<param>/<run>/samples_*.jsonl`): `messages`,
      `label`, `metadata` (`length`: n), `index`, `output_prefix`. The harness hands
      `doc["label"]` to the task's metric as it is (`process_results`).
    - **The dInfer port** (zhangshuibai/dInfer): a row of ParallelBench's
      `data/output/test/<task>.jsonl` (`input`, `answer`, `metadata`,
      `output_format`) plus `text` (the prompt), `_task` (the ParallelBench task
      name) and `_metadata`. The metric gets `doc["answer"]`.

    The reference is `doc["label"]` when there is one, else `doc["answer"]`. No
    tokenizer and no prompt text are needed. Its shapes, by task:

    - copy, sort, reverse, `*_index` (`list_match_score`): the reference list
      (`label`: a list, used as it is; `answer`: its text `["A", "B"]`, read
      leniently).
    - shuffle: `{"example", "input"}`; the input names `input` are read.
    - insert_random, replace_random: `{"example", "input", "word"}`; `input`,
      `word` (W) and `n_words` (default 1) are read.
    - remove_random: `{"example", "input"}` with an example of n - 1 names;
      `input` and `n_words` are read.
    - latin_square: `{"example": "<CSV grid>", "symbols"}`; `symbols` and
      `first_row` (absent in ParallelBench's data; when given, the first row must
      equal it) are read.
    - sudoku: the solution, four lines of four digits (`"4312\n2143\n..."`).

    A dict reference logged as a string (JSON or a Python literal) is read back
    first. The task is `task`, else `doc["_task"]`, else it is inferred from the
    reference's shape: a list, or a string that is not a Sudoku grid (the
    exact-match tasks: one metric, one verdict), a Sudoku grid (or
    `input["sudoku"]`), `symbols` (Latin square), and for the other dicts the
    length of `example` against `input` (n + 1: insert; n: replace if there is a W,
    else shuffle; n - 1: remove).

    >>> doc = {"label": {"example": '["Bo", "Al"]', "input": ["Al", "Bo"]},
    ...        "metadata": {"length": 2}}
    >>> grade_doc(doc, '["Bo", "Al"]'), grade_doc(doc, '["Al", "Bo"]')
    (True, False)
    >>> grade_doc({"label": "4312\n2143\n3421\n1234"}, "4312\n2143\n3421\n1234")
    True

    Args:
      doc: the record.
      text: the model's answer (the harness's filtered response, `filtered_resps`).
      strict: False for ParallelBench's `score`, True for `score_strict`.
      task: the task (trilemma, ParallelBench or harness name); default as above.
      exact_grid: `latin_square` only: also require an exact n x n grid.

    Returns:
      The verdict.

    Raises:
      ValueError: a doc with no reference, or one that lacks a field its task reads.
      TypeError: a reference of the wrong type for its task.
    """
    _checks.check_instance(doc, "doc", Mapping, "a mapping (a logged `doc`)")
    text = _check_text(text)
    strict = _checks.check_bool(strict, "strict")
    where, reference = _doc_reference(doc)
    name = trilemma_task_name(task or doc.get("_task") or _infer_task(doc, reference))
    metric = PARALLELBENCH_METRICS[name]
    if metric == "list_match_score":
        return _match_ok(_parse_list(text, strict), _reference_list(reference, where))
    if metric == "sudoku_score":
        # both unreadable compare equal, as in ParallelBench; its solutions always read
        reference = _parse_sudoku(_check_text(reference, where), True)
        return _parse_sudoku(text, strict) == reference
    reference = _answer_dict(reference, where)
    if metric == "latin_square_score":
        symbols = _as_list(
            _field(reference, "symbols", where, name), f"{where}['symbols']"
        )
        first_row = reference.get("first_row")
        return _latin_verdict(
            text,
            [str(s) for s in symbols],
            first_row,
            _checks.check_bool(exact_grid, "exact_grid"),
        )
    items = _as_list(_field(reference, "input", where, name), f"{where}['input']")
    pred = _parse_list(text, strict)
    n_words = reference.get("n_words") or 1
    if metric == "list_shuffle_score":
        return _shuffle_ok(pred, items)
    if metric == "list_random_remove_score":
        return _remove_ok(pred, items, n_words)
    word = _field(reference, "word", where, name)
    if metric == "list_random_insert_score":
        return _insert_ok(pred, items, word, n_words)
    return _replace_ok(pred, items, word, n_words)


def doc_symbols(doc: Mapping) -> list[str]:
    r"""A Latin-square doc's symbols, from `label` (the harness) or `answer`.

    >>> doc_symbols({"label": {"example": "A,B\nB,A", "symbols": ["A", "B"]}})
    ['A', 'B']
    """
    _checks.check_instance(doc, "doc", Mapping, "a mapping (a logged `doc`)")
    where, reference = _doc_reference(doc)
    return [str(s) for s in _answer_dict(reference, where)["symbols"]]


def doc_length(doc: Mapping) -> int | None:
    """The size n of a logged doc: `metadata.length`, else its input's length.

    ParallelBench's harness docs carry n as `metadata.length` (the list length for
    the Waiting Line tasks, the grid size for the puzzles); one task file mixes
    several n. Without it, n is the length of the reference's `input` list (or of the
    reference list itself, or the number of Latin-square symbols); None when none of
    these is there.

    >>> doc_length({"label": ["Al", "Bo", "Cy"], "metadata": {"length": 3}})
    3
    >>> doc_length({"answer": {"input": ["Al", "Bo"], "example": '["Bo", "Al"]'}})
    2
    """
    _checks.check_instance(doc, "doc", Mapping, "a mapping (a logged `doc`)")
    metadata = doc.get("metadata")
    if isinstance(metadata, Mapping):
        length = metadata.get("length")
        if isinstance(length, int) and not isinstance(length, bool):
            return length
    try:
        where, reference = _doc_reference(doc)
        if isinstance(reference, list):
            return len(reference)
        if isinstance(reference, str) and not reference.lstrip().startswith("{"):
            return None
        reference = _answer_dict(reference, where)
    except (ValueError, TypeError):
        return None
    for key in ("input", "symbols"):
        values = reference.get(key)
        if isinstance(values, list):
            return len(values)
    return None


def _doc_reference(doc: Mapping) -> tuple[str, object]:
    """(`doc['label']` or `doc['answer']`, its value): what the metric receives."""
    for key in ("label", "answer"):
        if key in doc:
            return f"doc[{key!r}]", doc[key]
    raise ValueError(
        "`doc` must have a 'label' field (ParallelBench's harness) or an 'answer' "
        f"field (ParallelBench's records, the dInfer port); got {sorted(doc)}."
    )


def _reference_list(reference, where: str) -> list:
    """`_parse_list` of a reference: a list is used as it is, a text read leniently."""
    if isinstance(reference, list):
        return list(reference)
    return _parse_list(_check_text(reference, where), False)


def _field(reference: Mapping, key: str, where: str, task: str):
    if key not in reference:
        raise ValueError(
            f"`{where}` has no {key!r} field, which {task} is graded by; "
            f"got {sorted(reference)}."
        )
    return reference[key]


def _infer_task(doc: Mapping, reference) -> str:
    """The task of a logged doc without a task name, from its reference's shape."""
    inputs = doc.get("input") or {}
    if isinstance(inputs, Mapping) and "sudoku" in inputs:
        return "sudoku"
    if isinstance(reference, list):
        return "copy"  # every list reference is list_match_score
    if isinstance(reference, str) and not reference.lstrip().startswith("{"):
        if "[" not in reference and _parse_sudoku(reference, True) is not None:
            return "sudoku"
        return "copy"  # every string-reference list task is list_match_score
    where = _doc_reference(doc)[0]
    reference = _answer_dict(reference, where)
    if "symbols" in reference:
        return "latin_square"
    if "input" not in reference or "example" not in reference:
        raise ValueError(
            f"cannot tell the task of `doc` (`{where}` has no 'input' and "
            "'example'); pass `task=`."
        )
    n = len(reference["input"])
    m = len(_parse_list(str(reference["example"]), False))
    if m == n + 1:
        return "insert_random"
    if m == n:
        return "replace_random" if reference.get("word") is not None else "shuffle"
    return "remove_random"


def _answer_dict(reference, where: str = "doc['answer']") -> Mapping:
    """A dict reference; one logged as a JSON or Python-literal string is read back."""
    if isinstance(reference, str):
        for load in (json.loads, ast.literal_eval):
            try:
                reference = load(reference)
                break
            except (ValueError, SyntaxError):
                continue
    return _checks.check_instance(reference, where, Mapping, "a mapping for this task")


POOLED_PATTERN_TASKS = (
    "shuffle_distinct",
    "insert_random",
    "remove_random",
    "replace_random",
)
"""The tasks whose logged docs give the input list (`label.input`) and whose $p^*$
puts mass on several patterns: their answers' pooled pattern law says something
about diversity (`trilemma.patterns`). The other list tasks have one valid answer
per prompt."""


def doc_pattern(doc: Mapping, text: str, *, task: str):
    """The pattern of an answer to a logged doc (`trilemma.patterns.answer_pattern`).

    The input list (and $W$) are the doc's `label.input` (and `word`); the answer is
    read leniently (`score`'s reading). None for a malformed answer.

    Raises:
      ValueError: a task outside `POOLED_PATTERN_TASKS`, or a doc without `input`.
    """
    from ..patterns import answer_pattern

    name = trilemma_task_name(task)
    if name not in POOLED_PATTERN_TASKS:
        raise _checks.unknown("pooled-pattern task", name, POOLED_PATTERN_TASKS)
    where, reference = _doc_reference(doc)
    reference = _answer_dict(reference, where)
    items = _as_list(_field(reference, "input", where, name), f"{where}['input']")
    word = reference.get("word") if name != "shuffle_distinct" else None
    if name in ("insert_random", "replace_random"):
        word = _field(reference, "word", where, name)
    answer = _parse_list(_check_text(text), False)
    return answer_pattern(name, [str(i) for i in items], answer, new_item=word)
