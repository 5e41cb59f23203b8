"""Enumerable tasks with exact target distributions p*(Y|X).

Families (one module each): ParallelBench's Waiting Line lists (`_lists`), its two
puzzles (`_puzzles`), two-token toys from the source texts (`_toys`) and seeded random
families for property tests (`_generic`); `_facts` holds the per-task facts that the
builders, pooling and `trilemma.parallelbench` (answers as text, graded as
ParallelBench grades them) share. Every builder has the signature
`builder(n=None, *, num_prompts=1, max_bytes=None, **options) -> Task`.
"""

from types import MappingProxyType

from .. import _checks
from ._base import Task as Task
from ._base import build_joint as build_joint
from ._facts import LIST_TASKS as LIST_TASKS
from ._facts import TEXT_FACTS as TEXT_FACTS
from ._facts import TEXT_TASKS as TEXT_TASKS
from ._facts import TextFacts as TextFacts
from ._generic import markov_chain, random_joint
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
from ._puzzles import latin_square, sudoku
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
