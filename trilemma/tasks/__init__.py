"""Enumerable tasks with exact target distributions p*(Y|X).

Families (one module each): ParallelBench's Waiting Line lists (`_lists`), its two
puzzles (`_puzzles`), two-token toys from the source texts (`_toys`) and seeded random
families for property tests (`_generic`); `_text` renders, parses and grades answers
as text, as ParallelBench does, and `_harness_logs` reads and grades the sample files
of a harness results tree. Every builder has the signature
`builder(n=None, *, num_prompts=1, max_bytes=None, **options) -> Task`.
"""

from types import MappingProxyType

from .. import _checks
from ._base import Task as Task
from ._base import build_joint as build_joint
from ._generic import markov_chain, random_joint
from ._harness_logs import LineVerdict as LineVerdict
from ._harness_logs import LogFile as LogFile
from ._harness_logs import find_log_files as find_log_files
from ._harness_logs import grade_log as grade_log
from ._harness_logs import log_task_name as log_task_name
from ._harness_logs import read_log_lines as read_log_lines
from ._lists import (
    WAITING_LINE,
    copy,
    insert_index,
    insert_random,
    remove_index,
    remove_random,
    replace_index,
    replace_random,
    reverse,
    shuffle,
    shuffle_distinct,
    sort,
)
from ._lists import permutations as permutations
from ._pooled import POOL_NAMES as POOL_NAMES
from ._pooled import POOL_SIZE as POOL_SIZE
from ._pooled import POOLED_TASKS as POOLED_TASKS
from ._pooled import evaluation_tasks as evaluation_tasks
from ._pooled import held_out as held_out
from ._pooled import pooled_task as pooled_task
from ._pooled import random_prompts as random_prompts
from ._prompts import prompt_messages as prompt_messages
from ._puzzles import latin_square, sudoku
from ._text import LM_EVAL_TASKS as LM_EVAL_TASKS
from ._text import PARALLELBENCH_METRICS as PARALLELBENCH_METRICS
from ._text import PARALLELBENCH_TASKS as PARALLELBENCH_TASKS
from ._text import TEXT_TASKS as TEXT_TASKS
from ._text import UNGRADED_TASKS as UNGRADED_TASKS
from ._text import answer_items as answer_items
from ._text import answer_key as answer_key
from ._text import doc_length as doc_length
from ._text import doc_symbols as doc_symbols
from ._text import grade_doc as grade_doc
from ._text import grade_text as grade_text
from ._text import parse_answer as parse_answer
from ._text import prompt_items as prompt_items
from ._text import render_answer as render_answer
from ._text import trilemma_task_name as trilemma_task_name
from ._toys import cities, copula

TASKS = MappingProxyType(
    {
        "copy": copy,
        "sort": sort,
        "reverse": reverse,
        "shuffle_distinct": shuffle_distinct,
        "insert_index": insert_index,
        "insert_random": insert_random,
        "remove_index": remove_index,
        "remove_random": remove_random,
        "replace_index": replace_index,
        "replace_random": replace_random,
        "shuffle": shuffle,
        "latin_square": latin_square,
        "sudoku": sudoku,
        "cities": cities,
        "copula": copula,
        "random_joint": random_joint,
        "markov_chain": markov_chain,
    }
)
"""Read-only registry: task name -> builder `(n=None, *, num_prompts=1, max_bytes=None,
**options)`."""


def waiting_line_tasks() -> tuple[str, ...]:
    """ParallelBench's ten Waiting Line tasks in the paper's order.

    Copy, Sort, Reverse, Shuffle (`shuffle_distinct`: the grader's law), Insert Index,
    Insert Random, Remove Index, Remove Random, Replace Index, Replace Random.
    """
    return WAITING_LINE


def make_task(name: str, n: int | None = None, **options) -> Task:
    """Build the registered task `name` of size `n` (None: the task's default).

    Args:
      name: a key of `TASKS`.
      n: size parameter; None picks the task's default.
      **options: `num_prompts`, `max_bytes` and the task's own options.

    Returns:
      The `Task`.
    """
    if name not in TASKS:
        raise _checks.unknown("task", name, TASKS)
    return TASKS[name](n, **options)
