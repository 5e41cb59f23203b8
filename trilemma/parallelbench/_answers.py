r"""ParallelBench's answer text: rendering, lenient and strict parsing, verdicts.

The tasks in `_lists` and `_puzzles` grade token rows. A real model writes text, and
ParallelBench grades that text (`dataset/parallel_bench/metrics.py` of
furiosa-ai/ParallelBench at commit 72de8f7; its later home
`parallelbench/datasets/metrics.py`, read at 2d9c7aa, grades the twelve tasks the
same way, and its harness hands the metric the response and `doc["label"]`). Each
sample gets two scores:
`score = metric(pred, ref)` and `score_strict = metric(pred, ref, strict=True)`
(`ParallelBench.compute_metrics` in `dataset/parallel_bench/__init__.py`). This
module reproduces both verdicts, quirks included, for the twelve tasks trilemma
models. It does not cover the five Text Writing tasks, which are scored by
LanguageTool, ROUGE and BERTScore.

**Answer text** (`dataset/parallel_bench/data/task_utils.py`):

- A list is written by `list_to_str`: `["Ann", "Bob"]`, double quotes and `", "`
  separators (JSON-like; there is no escaping).
- A Latin square is written by `latin_square_to_str`: one line per row, cells joined
  by `","` with no spaces (`H,4,A,C\n4,C,H,A\n...`).
- A Sudoku is four lines of four digits (`1342\n2431\n...`); in the puzzle, 0 marks
  a blank.

**Lenient list parse** (`_parse_list`). Keep the text after the *last* `[`, then cut
it at the next `]`; with no bracket the whole text is used. Split on `,`, strip
double quotes and spaces (not newlines, and not single quotes) from each item, and
drop the empty items. It never fails.
**Strict list parse.** Same cut, but both brackets must be there, the items are
split on exactly `", "`, and each one must be `"..."` with no quote inside. It does
*not* refuse text outside the brackets, so `Answer: ["A", "B"] done` passes.

>>> render_answer("copy", ["Ann", "Bob"])
'["Ann", "Bob"]'
>>> parse_answer("copy", 'I think ["Bob"]. No: ["Ann", "Bob"] is right.')
['Ann', 'Bob']
>>> grade_text("insert_random", ["Ann", "Bob", "Cat"], 'Sure: ["Cat", "Ann", "Bob"]')
True
>>> grade_text("insert_random", ["Ann", "Bob", "Cat"], '[Cat, Ann, Bob]', strict=True)
False

**Logged samples.** `grade_doc` grades a harness log line's `doc` as it is logged:
ParallelBench's harness docs (the reference under `label`, five shapes) and the
dInfer port's (under `answer`). On the 107 lines of ParallelBench's published
LLaDA and Dream logs committed as test fixtures, its lenient and strict verdicts
equal the logged `score` and `score_strict` on every line
(`tests/test_parallelbench_parity.py`; `experiments/parallelbench_parity.py` checks
any results tree).
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence

import numpy as np

from .. import _checks
from ..tasks._base import Task
from ..tasks._facts import INDEX_OFFSET, LIST_TASKS, TEXT_TASKS, WITH_NEW_WORD
from ..tasks._pooled import POOL_NAMES
from ..tasks._puzzles import SUDOKU_BLANK, _solve
from ._names import trilemma_task_name

_SUDOKU_SIZE = 4


# --------------------------------------------------------------------------------------
# Rendering.


def render_answer(task_name: str, values) -> str:
    r"""ParallelBench's answer text for one output.

    Args:
      task_name: a trilemma task (or a ParallelBench or harness name).
      values: list tasks: the output names in order. `latin_square`: the n x n cells,
        as n rows or n*n cells in reading order. `sudoku`: the full solved grid (the
        givens too), as 4 rows or 16 cells, with digits 1-4 as ints or strings.

    Returns:
      A list as `list_to_str` writes it (`["Ann", "Bob"]`), a Latin square as
      `latin_square_to_str` writes it (`A,B\nB,A`) or a Sudoku as four lines of four
      digits. An empty list is written `[]` (ParallelBench's `list_to_str` would
      write `"]`, which no task of length >= 1 produces).
    """
    name = trilemma_task_name(task_name)
    if name in LIST_TASKS:
        words = [str(v) for v in _as_list(values, "values")]
        return "[" + ", ".join(f'"{w}"' for w in words) + "]" if words else "[]"
    if name == "latin_square":
        rows = _square_rows(values, "values")
        return "\n".join(",".join(str(cell) for cell in row) for row in rows)
    cells = _sudoku_cells(values, "values", blanks=False)
    return "\n".join(
        "".join(str(d) for d in cells[r : r + _SUDOKU_SIZE])
        for r in range(0, _SUDOKU_SIZE**2, _SUDOKU_SIZE)
    )


# --------------------------------------------------------------------------------------
# Parsing.


def parse_answer(
    task_name: str,
    text: str,
    *,
    strict: bool = False,
    prompt_items=None,
    exact_grid: bool = False,
):
    r"""ParallelBench's reading of an answer text, as its `score` or `score_strict`.

    - **Lists** (`_parse_list`, module docstring): lenient returns a list and never
      fails; strict returns None unless there is a `[` followed by a `]` and the
      items between them are `"..."` joined by `", "`.
    - **Latin square** (`latin_square_score`): the first n non-empty lines whose set
      of comma-separated cells (stripped) is the symbol set, as rows of cells; None
      when fewer than n lines qualify. Lines that do not qualify are skipped, and a
      row may hold more than n cells (`A,B,A` has the set {A, B}).
      ParallelBench's strict mode reads the same way: `latin_square_score` ignores
      `strict`. With `exact_grid=True` the text must instead be exactly n lines of
      exactly n cells, each line holding every symbol (`str_to_latin_square` in
      `task_utils.py`, which `metrics.py` imports but never calls).
    - **Sudoku** (`parse_sudoku`): lenient removes spaces and commas and keeps the
      lines that hold exactly four digits (other lines are skipped); it needs
      exactly four of them. Strict needs exactly four non-empty lines of exactly
      four digits. The digits are returned as strings.

    Args:
      task_name: a trilemma task (or a ParallelBench or harness name).
      text: the model's answer.
      strict: False for the `score` reading, True for `score_strict`.
      prompt_items: `latin_square` only (required there): the symbols.
      exact_grid: `latin_square` only: read the text as an exact n x n grid.

    Returns:
      `list[str]` (lists), `list[list[str]]` (grids), or None when the text cannot
      be read.
    """
    name = trilemma_task_name(task_name)
    text = _check_text(text)
    strict = _checks.check_bool(strict, "strict")
    if name in LIST_TASKS:
        return _parse_list(text, strict)
    if name == "latin_square":
        if prompt_items is None:
            raise ValueError(
                "`prompt_items` (the symbols) is needed to read a Latin square; "
                "got None."
            )
        symbols = [str(s) for s in _as_list(prompt_items, "prompt_items")]
        if _checks.check_bool(exact_grid, "exact_grid"):
            return _exact_square(text, symbols)
        return _lenient_square(text, set(symbols))
    return _parse_sudoku(text, strict)


def answer_key(task_name: str, text: str, *, prompt_items=None) -> str | None:
    r"""The content of an answer text, as one canonical string (None if unreadable).

    Two texts with one content get one key, so a sample set of texts can be counted
    by its answers: lists are read leniently and re-rendered (`["Ann", "Bob"]` for
    `Ann, Bob` and `Sure: ["Ann","Bob"]`), a Latin square must be an exact n x n grid
    (`exact_grid`; the lenient reading is many-to-one on the grid), and a Sudoku is
    read leniently. On a valid answer (`grade_text(..., exact_grid=True)`) the key
    is `render_answer` of the output it names.

    >>> answer_key("shuffle", 'Sure: ["Bob","Ann"]')
    '["Bob", "Ann"]'
    >>> answer_key("latin_square", "A,B\nB,A,A", prompt_items=["A", "B"]) is None
    True

    Args:
      task_name: a trilemma task (or a ParallelBench or harness name).
      text: the answer.
      prompt_items: `latin_square` only (required there): the symbols.
    """
    name = trilemma_task_name(task_name)
    if name in LIST_TASKS:
        return render_answer(name, _parse_list(_check_text(text), False))
    values = parse_answer(name, text, prompt_items=prompt_items, exact_grid=True)
    return None if values is None else render_answer(name, values)


def _parse_list(text: str, strict: bool) -> list[str] | None:
    """`metrics._parse_list`: the last bracketed list (module docstring)."""
    if "[" in text:
        text = text.rsplit("[", 1)[1]
    elif strict:
        return None
    if "]" in text:
        text = text.split("]", 1)[0]
    elif strict:
        return None
    if not strict:
        return [w.strip('" ') for w in text.strip("[]").split(",") if w.strip()]
    items = []
    for item in text.split(", "):
        if not (item.startswith('"') and item.endswith('"')):
            return None
        inner = item[1:-1]  # a lone '"' both starts and ends with a quote: ''
        if '"' in inner:
            return None
        items.append(inner)
    return items


def _lenient_square(text: str, symbols: set[str]) -> list[list[str]] | None:
    """The rows `latin_square_score` grades: first n lines whose cell set is right."""
    lines = [line.strip() for line in text.split("\n") if line.strip()]
    rows = [
        [cell.strip() for cell in line.split(",")]
        for line in lines
        if {cell.strip() for cell in line.split(",")} == symbols
    ]
    return rows[: len(symbols)] if len(rows) >= len(symbols) else None


def _exact_square(text: str, symbols: list[str]) -> list[list[str]] | None:
    """`task_utils.str_to_latin_square`: n lines of n cells, each with every symbol."""
    size = len(symbols)
    lines = text.strip().split("\n")
    if len(lines) != size:
        return None
    rows = []
    for line in lines:
        row = [cell.strip() for cell in line.split(",")]
        if len(row) != size or set(row) != set(symbols):
            return None
        rows.append(row)
    return rows


def _parse_sudoku(text: str, strict: bool) -> list[list[str]] | None:
    """`metrics.parse_sudoku` for the 4x4 grid; digits as strings."""
    text = text.strip()
    if not strict:
        text = text.replace(" ", "").replace(",", "")
        lines = [line.strip() for line in text.split("\n") if line.strip()]
        grid = [re.findall(r"\d", line) for line in lines]
        grid = [[str(int(d)) for d in row] for row in grid if len(row) == _SUDOKU_SIZE]
        return grid if len(grid) == _SUDOKU_SIZE else None
    lines = [line.strip() for line in text.split("\n") if line.strip()]
    if len(lines) != _SUDOKU_SIZE:
        return None
    grid = []
    for line in lines:
        if len(line) != _SUDOKU_SIZE:
            return None
        try:
            grid.append([str(int(char)) for char in line])
        except ValueError:
            return None
    return grid


# --------------------------------------------------------------------------------------
# Verdicts.


def grade_text(
    task_name: str,
    prompt_items,
    text: str,
    *,
    strict: bool = False,
    exact_grid: bool = False,
) -> bool:
    r"""ParallelBench's verdict on an answer text: its `score` (or `score_strict`).

    The text is read by `parse_answer` and the reading is judged by the task's
    ParallelBench metric (`PARALLELBENCH_METRICS`):

    - `list_match_score` (copy, sort, reverse, `*_index`): the list equals the
      reference, which is rendered by `list_to_str` and read back leniently.
      Sort's reference is Python's `sorted` of the names (whole strings, so
      "First Last" names sort by first name; reference §4.5). Positions are 0-based.
    - `list_shuffle_score`: same multiset as the input and not the input.
    - `list_random_insert_score`: removing the first W (fail if none) leaves the
      input.
    - `list_random_remove_score`: length n-1, exactly one input name missing
      (`set(input) - set(output)`), and the input without it (first occurrence).
    - `list_random_replace_score`: length n; j = first index of W (fail if none);
      the input with `input[j] = W` equals the output.
    - `latin_square_score`: the n rows (see `parse_answer`) and the columns
      `zip(*rows)` each hold every symbol. `strict` changes nothing here
      (ParallelBench ignores it); `exact_grid=True` adds the n x n shape test.
    - `sudoku_score`: the grid equals the puzzle's unique solution.

    **Against trilemma's content rule.** A list or grid that has been read is
    judged exactly as `Task.grade` judges the same output as tokens (for `sort`,
    given names that sort as strings in token order, as `POOL_NAMES` do; for
    `sudoku`, the text holds the whole grid, so its givens must be right too, while
    the task's outputs are the blanks only). Apart from
    `shuffle`, `Task.grade` accepts exactly the support of $p^*(\cdot|x)$; for
    `shuffle`, both reject the identity, which is in the support. So on
    `render_answer` texts this verdict equals `Task.grade`. On other texts the
    reading is many-to-one, and the lenient verdict accepts texts that are not the
    answer's rendering:

    - any text around the last `[...]`; a list with no brackets or no quotes
      (`Ann, Bob`); spaces around the names. Strict accepts the surrounding text
      too, but not the other two.
    - Latin square, in both modes: extra or garbage lines, more than n qualifying
      lines (only the first n count), rows longer than n cells, and rows of
      different lengths (`zip` cuts the columns to the shortest row). So a 3 x 4
      text such as `A,B,C,A\nB,C,A,B\nC,A,B,C` passes for n = 3.
    - Sudoku, lenient only: lines with other characters, as long as the line holds
      exactly four digits (`first: 1342`; but `row 1: 1342` has five).

    Names are compared as case-sensitive strings. A name with a comma, a double
    quote or leading or trailing spaces cannot be read back, as in ParallelBench.

    Args:
      task_name: a trilemma task (or a ParallelBench or harness name).
      prompt_items: the prompt, as the pooled prompt row orders it. List tasks: the
        n input names, then W (the new name, for `insert_*` and `replace_*`), then
        the 0-based index as an int (for `*_index`). `latin_square`: the symbols.
        `sudoku`: the puzzle, as 16 cells (or 4 rows) with digits 1-4 and 0 for a
        blank, or ParallelBench's text form `0042\n2031\n...`.
      text: the model's answer.
      strict: False for ParallelBench's `score`, True for `score_strict`.
      exact_grid: `latin_square` only: also require an exact n x n grid.

    Returns:
      The verdict.

    Raises:
      ValueError: a malformed prompt, or a Sudoku without a unique solution.
    """
    name = trilemma_task_name(task_name)
    text = _check_text(text)
    strict = _checks.check_bool(strict, "strict")
    if name in LIST_TASKS:
        items, word, index = _split_prompt(name, prompt_items)
        return _list_verdict(name, _parse_list(text, strict), items, word, index)
    if name == "latin_square":
        symbols = [str(s) for s in _as_list(prompt_items, "prompt_items")]
        exact = _checks.check_bool(exact_grid, "exact_grid")
        return _latin_verdict(text, symbols, None, exact)
    puzzle = _sudoku_cells(prompt_items, "prompt_items", blanks=True)
    tokens = np.asarray([d - 1 if d else SUDOKU_BLANK for d in puzzle])[None, :]
    solution = tokens[0].copy()
    blank = solution == SUDOKU_BLANK
    solution[blank] = _solve(tokens)[0]
    grid = [
        [str(int(t) + 1) for t in solution[r : r + _SUDOKU_SIZE]]
        for r in range(0, _SUDOKU_SIZE**2, _SUDOKU_SIZE)
    ]
    return _parse_sudoku(text, strict) == grid


def _list_verdict(name, pred, items, word, index) -> bool:
    """The ParallelBench metric of list task `name` on a parsed list `pred`."""
    if name in ("shuffle", "shuffle_distinct"):
        return _shuffle_ok(pred, items)
    if name == "insert_random":
        return _insert_ok(pred, items, word)
    if name == "remove_random":
        return _remove_ok(pred, items)
    if name == "replace_random":
        return _replace_ok(pred, items, word)
    target = list(items)
    if name == "sort":
        target = sorted(target)
    elif name == "reverse":
        target = target[::-1]
    elif name == "insert_index":
        target.insert(index, word)
    elif name == "remove_index":
        del target[index]
    elif name == "replace_index":
        target[index] = word
    return _match_ok(pred, _parse_list(render_answer(name, target), False))


def _match_ok(pred, reference) -> bool:
    """`list_match_score`."""
    return pred is not None and pred == reference


def _shuffle_ok(pred, items) -> bool:
    """`list_shuffle_score`: a rearrangement of the input that is not the input."""
    items = list(items)
    return pred is not None and sorted(pred) == sorted(items) and pred != items


def _insert_ok(pred, items, word, n_words: int = 1) -> bool:
    """`random_insert_score`: remove each inserted word once; the rest is the input.

    With no word given, the output must be the input with `n_words` words added
    (ParallelBench swaps the roles in `random_remove_score`).
    """
    if pred is None:
        return False
    if word is None:
        return _remove_ok(list(items), pred, n_words)
    rest = list(pred)
    for w in [word] if isinstance(word, str) else list(word):
        if w not in rest:
            return False
        rest.remove(w)
    return rest == list(items)


def _remove_ok(pred, items, n_words: int = 1) -> bool:
    """`random_remove_score`: n_words names gone, the rest in the input's order."""
    if pred is None:
        return False
    rest = list(items)
    if len(pred) != len(rest) - n_words:
        return False
    deleted = set(rest) - set(pred)
    if len(deleted) != n_words:
        return False
    for w in deleted:
        rest.remove(w)
    return list(pred) == rest


def _replace_ok(pred, items, word, n_words: int = 1) -> bool:
    """`random_replace_score`: the first W replaced the input name at its index.

    With no word given, exactly `n_words` positions must differ.
    """
    if pred is None or len(pred) != len(items):
        return False
    if word is None:
        return sum(p != g for p, g in zip(pred, items, strict=True)) == n_words
    if word not in pred:
        return False
    target = list(items)
    target[list(pred).index(word)] = word
    return list(pred) == target


def _latin_verdict(text, symbols, first_row, exact) -> bool:
    """`latin_square_score` (or, with `exact`, the same on `str_to_latin_square`)."""
    rows = (
        _exact_square(text, symbols) if exact else _lenient_square(text, set(symbols))
    )
    if rows is None:
        return False
    wanted = set(symbols)
    if any(set(row) != wanted for row in rows):
        return False
    # zip cuts the columns to the shortest row, as ParallelBench's does
    if any(set(col) != wanted for col in zip(*rows, strict=False)):
        return False
    return first_row is None or rows[0] == list(first_row)


# --------------------------------------------------------------------------------------
# Trilemma tasks as text.


def prompt_items(task: Task, prompt_index: int) -> list:
    """The `grade_text` prompt of a trilemma task's prompt row, with names.

    Pooled tasks (`pooled_task`, `evaluation_tasks`) name their tokens by the task's
    labels (`POOL_NAMES`). Unpooled list tasks and Latin squares name token t as
    `POOL_NAMES[t]`, so W (token n) is `POOL_NAMES[n]`. Sudoku writes digits as
    `"1"`..`"4"` and blanks as `"0"`.

    Args:
      task: a task named in `TEXT_TASKS`.
      prompt_index: the row of `task.prompts`.

    Returns:
      The prompt as `grade_text` takes it (names, then W, then the index).
    """
    name = _text_task(task)
    row = [int(t) for t in _prompt_row(task, prompt_index)]
    if name == "sudoku":
        return [str(t + 1) if t != SUDOKU_BLANK else "0" for t in row]
    names = _namer(task, 0)
    if name == "latin_square":
        return [names(t) for t in row]
    n = task.n
    pooled = task.labels is not None
    width = n + (name in WITH_NEW_WORD and pooled)
    items = [names(t) for t in row[:width]]
    if name in WITH_NEW_WORD and not pooled:
        items.append(names(n))
    if name in INDEX_OFFSET:
        offset = len(task.labels[0]) if pooled else 0
        items.append(row[width] - offset)
    return items


def answer_items(task: Task, prompt_index: int, output) -> list:
    """The `render_answer` values of one output row of a trilemma task.

    List tasks: the output names (named as in `prompt_items`). Latin square: the n
    rows of names. Sudoku: the full grid, the prompt's givens with the output's
    blanks filled in, as 4 rows of digit strings.

    Args:
      task: a task named in `TEXT_TASKS`.
      prompt_index: the row of `task.prompts` the output answers.
      output: `(L,)` output tokens.

    Returns:
      The values `render_answer` takes.
    """
    name = _text_task(task)
    output = [int(t) for t in np.asarray(output).reshape(-1)]
    if name == "sudoku":
        grid = [int(t) for t in _prompt_row(task, prompt_index)]
        blanks = [i for i, t in enumerate(grid) if t == SUDOKU_BLANK]
        if len(blanks) != len(output):
            raise ValueError(
                f"`output` must have {len(blanks)} tokens (one per blank); "
                f"got {len(output)}."
            )
        for i, t in zip(blanks, output, strict=True):
            grid[i] = t
        digits = [str(t + 1) for t in grid]
        return [digits[r : r + 4] for r in range(0, 16, 4)]
    words = [_namer(task, i)(t) for i, t in enumerate(output)]
    if name == "latin_square":
        n = task.n
        return [words[r : r + n] for r in range(0, n * n, n)]
    return words


def _text_task(task: Task) -> str:
    _checks.check_instance(task, "task", Task)
    if task.name not in TEXT_TASKS:
        raise _checks.unknown("text task", task.name, TEXT_TASKS)
    return task.name


def _prompt_row(task: Task, prompt_index) -> np.ndarray:
    index = _checks.check_int(
        prompt_index, "prompt_index", minimum=0, maximum=len(task.prompts) - 1
    )
    return np.asarray(task.prompts[index])


def _namer(task: Task, position: int):
    """Token -> name at an output position: the task's labels, else `POOL_NAMES`."""
    names = POOL_NAMES if task.labels is None else task.labels[position]

    def name(token: int) -> str:
        if not 0 <= token < len(names):
            raise ValueError(
                f"token {token} of task {task.name!r} has no name; "
                f"names cover tokens 0..{len(names) - 1}."
            )
        return names[token]

    return name


# --------------------------------------------------------------------------------------
# Argument checks.


def _check_text(text, name: str = "text") -> str:
    return _checks.check_instance(text, name, str, "a string")


def _as_list(values, name: str) -> list:
    if isinstance(values, str) or not isinstance(values, Sequence | np.ndarray):
        raise TypeError(
            f"`{name}` must be a sequence of items; got {type(values).__name__}."
        )
    return list(values.tolist() if isinstance(values, np.ndarray) else values)


def _split_prompt(name: str, prompt_items) -> tuple[list[str], str | None, int | None]:
    """(input names, W or None, index or None) of a list task's `prompt_items`."""
    items = _as_list(prompt_items, "prompt_items")
    index = None
    if name in INDEX_OFFSET:
        if not items:
            raise ValueError(f"`prompt_items` of {name!r} must end with the index.")
        index = items.pop()
    word = None
    if name in WITH_NEW_WORD:
        if not items:
            raise ValueError(f"`prompt_items` of {name!r} must include W.")
        word = str(items.pop())
    names = [str(w) for w in items]
    if index is not None:
        n = len(names) + INDEX_OFFSET[name]
        index = _checks.check_int(index, "index", minimum=0, maximum=n - 1)
    return names, word, index


def _square_rows(values, name: str) -> list[list]:
    rows = _as_list(values, name)
    if rows and all(
        isinstance(r, Sequence | np.ndarray) and not isinstance(r, str) for r in rows
    ):
        return [_as_list(r, name) for r in rows]
    n = math.isqrt(len(rows))
    if n * n != len(rows):
        raise ValueError(
            f"`{name}` must be n rows or n*n cells of a Latin square; "
            f"got {len(rows)} cells."
        )
    return [rows[r : r + n] for r in range(0, n * n, n)]


def _sudoku_cells(values, name: str, *, blanks: bool) -> list[int]:
    """16 Sudoku cells as ints (0 = blank, allowed iff `blanks`)."""
    if isinstance(values, str):
        cells = [c for c in values if not c.isspace()]
    else:
        cells = _as_list(values, name)
        rows = all(isinstance(r, str | Sequence | np.ndarray) for r in cells)
        if len(cells) == _SUDOKU_SIZE and rows:  # 4 rows: sequences or digit strings
            cells = [c for r in cells for c in (r if isinstance(r, str) else list(r))]
    low = 0 if blanks else 1
    allowed = f"16 cells of digits {low}-4" + (" (0 = blank)" if blanks else "")
    try:
        digits = [int(c) for c in cells]
    except (TypeError, ValueError):
        digits = []
    if len(digits) != 16 or not all(low <= d <= 4 for d in digits):
        raise ValueError(f"`{name}` must be {allowed}; got {_checks.show(values)}.")
    return digits
