"""The per-task facts that the task builders, pooling, prompts and grading share.

One row per task whose answer ParallelBench writes and grades as text
(`TEXT_FACTS`): how the answer is written, which extra items the prompt carries
(the new person $W$ of insert and replace, an index), ParallelBench's name of the
task and the metric that grades it (`dataset/parallel_bench/metrics.py` of
furiosa-ai/ParallelBench at 72de8f7; `parallelbench/datasets/metrics.py` at 2d9c7aa).
"""

from __future__ import annotations

from types import MappingProxyType
from typing import NamedTuple


class TextFacts(NamedTuple):
    r"""What one text task is made of.

    Attributes:
      form: how an answer is written: `"list"` (`["Ann", "Bob"]`),
        `"latin_square"` (rows of comma-joined symbols) or `"sudoku"` (four lines
        of four digits).
      new_word: the prompt names a new person $W$ (insert and replace).
      index_offset: for the `*_index` tasks, the index lies in $[0, n +
        \text{offset})$; None for tasks without an index.
      metric: ParallelBench's metric that grades the answer.
      parallelbench: ParallelBench's name of the task within its category
        (`waiting_line/<name>`); trilemma's `shuffle_distinct` is its `shuffle`.
    """

    form: str
    new_word: bool
    index_offset: int | None
    metric: str
    parallelbench: str


def _list(name, metric="list_match_score", *, new_word=False, index_offset=None):
    return TextFacts("list", new_word, index_offset, metric, name)


TEXT_FACTS = MappingProxyType(
    {
        "copy": _list("copy"),
        "sort": _list("sort"),
        "reverse": _list("reverse"),
        "shuffle_distinct": _list("shuffle", "list_shuffle_score"),
        "insert_index": _list("insert_index", new_word=True, index_offset=1),
        "insert_random": _list(
            "insert_random", "list_random_insert_score", new_word=True
        ),
        "remove_index": _list("remove_index", index_offset=0),
        "remove_random": _list("remove_random", "list_random_remove_score"),
        "replace_index": _list("replace_index", new_word=True, index_offset=0),
        "replace_random": _list(
            "replace_random", "list_random_replace_score", new_word=True
        ),
        "shuffle": _list("shuffle", "list_shuffle_score"),
        "latin_square": TextFacts(
            "latin_square", False, None, "latin_square_score", "latin_square_n4"
        ),
        "sudoku": TextFacts("sudoku", False, None, "sudoku_score", "sudoku_n4"),
    }
)
"""Trilemma task -> its `TextFacts`. Keys in the paper's order (the ten Waiting Line
lists, the unrestricted `shuffle`, the two puzzles)."""

LIST_TASKS = tuple(name for name, f in TEXT_FACTS.items() if f.form == "list")
"""Trilemma's list tasks; their answers are written and parsed as lists."""

TEXT_TASKS = tuple(TEXT_FACTS)
"""Trilemma tasks whose answer text ParallelBench can grade."""

WITH_NEW_WORD = tuple(name for name, f in TEXT_FACTS.items() if f.new_word)
"""The tasks whose prompt names a new person $W$."""

INDEX_OFFSET = MappingProxyType(
    {n: f.index_offset for n, f in TEXT_FACTS.items() if f.index_offset is not None}
)
"""Indexed tasks -> offset: the index lies in $[0, n + \text{offset})$."""
