"""Enumerable tasks with exact target distributions p*(Y|X)."""

from types import MappingProxyType

from .. import _checks
from ._base import Task as Task
from ._lists import copy, replace_random, shuffle, shuffle_distinct
from ._lists import permutations as permutations

TASKS = MappingProxyType(
    {
        "copy": copy,
        "replace_random": replace_random,
        "shuffle": shuffle,
        "shuffle_distinct": shuffle_distinct,
    }
)
"""Read-only registry: task name -> builder `(n, *, num_prompts=1, max_bytes=None)`."""


def make_task(name: str, n: int, **options) -> Task:
    """Build the registered task `name` of size `n` (raises on unknown names)."""
    if name not in TASKS:
        raise _checks.unknown("task", name, TASKS)
    return TASKS[name](n, **options)
