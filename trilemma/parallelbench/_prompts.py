r"""ParallelBench's prompts: the chat a real dLLM is asked for a trilemma text task.

The wording is ParallelBench's task configuration (furiosa-ai/ParallelBench,
`parallelbench/datasets/data/task_configs/test/waiting_line.yaml` and
`puzzles.yaml` at commit 1697c45), and the chat is built as its
`ParallelBench.__getitem__` builds it (`parallelbench/datasets/__init__.py`, commit
8c7e081): the one in-context example as a user turn and its answer as an assistant
turn, then the prompt as a user turn. The lists are written by `render_answer`
(`["Ann", "Bob"]`), a Latin square's symbols as `[H, T, 6, P]`, a Sudoku puzzle as
four lines with `_` for blanks.

Where trilemma's tasks differ from ParallelBench's data, the wording is kept and the
task's own items are filled in: names are `POOL_NAMES` (first names only, so Sort's
"by last name" sorts first names), Latin squares come in sizes 3 and 4 with the 4×4
example, and positions are 0-based as in ParallelBench's examples (inserting at
position 3 of three people appends).

>>> from trilemma.tasks import make_task
>>> turns = prompt_messages(make_task("copy", 3), 0)
>>> [t["role"] for t in turns]
['user', 'assistant', 'user']
>>> print(turns[-1]["content"])
You are managing a waiting line at a customer service desk.
<BLANKLINE>
You need to record the following people in the order they arrived:
<BLANKLINE>
["Abe", "Ann", "Bea"]
<BLANKLINE>
Please copy the list exactly and provide only the final list.
"""

from __future__ import annotations

from types import MappingProxyType

from ..tasks._base import Task
from ..tasks._facts import INDEX_OFFSET, WITH_NEW_WORD
from ._answers import _text_task, prompt_items, render_answer

_DESK = "You are managing a waiting line at a customer service desk.\n\n"
_FINAL = " and provide only the final list."

TEMPLATES = MappingProxyType(
    {
        "copy": _DESK
        + "You need to record the following people in the order they arrived:\n\n"
        "{context}\n\nPlease copy the list exactly" + _FINAL,
        "sort": _DESK
        + "The following people should be organized alphabetically by last name "
        "for efficient processing:\n\n{context}\n\nPlease sort the list in "
        "alphabetical order" + _FINAL,
        "reverse": _DESK
        + "The previous staff member put the waiting line in the wrong order.\n\n"
        "Please reverse the order of the following people in the waiting line to "
        "correct it:\n\n{context}\n\nPlease reverse the order of the list" + _FINAL,
        "shuffle": _DESK
        + "The waiting line should be randomly shuffled to ensure fair service "
        "distribution:\n\n{context}\n\nPlease randomly shuffle the list"
        + _FINAL
        + "\n\nEnsure the sequence is different from the original.",
        "insert_index": _DESK
        + 'A new person "{word}" is inserted into the line at position {index}:\n\n'
        "{context}\n\nPlease put the new person at the specified position" + _FINAL,
        "insert_random": _DESK
        + 'A new person "{word}" is inserted into the line at a random position:'
        "\n\n{context}\n\nPlease put the new person in the random position" + _FINAL,
        "remove_index": _DESK
        + "The person at position {index} has left the waiting line:\n\n{context}"
        "\n\nPlease remove the person at the specified position" + _FINAL,
        "remove_random": _DESK
        + "One person has left the waiting line:\n\n{context}\n\nPlease remove a "
        "random person" + _FINAL,
        "replace_index": _DESK
        + 'The person at position {index} must be replaced with "{word}":\n\n'
        '{context}\n\nPlease replace the person at the specified position with "'
        '{word}"' + _FINAL,
        "replace_random": _DESK
        + 'One person in the waiting line must be replaced with "{word}":\n\n'
        '{context}\n\nPlease replace one random person with "{word}"' + _FINAL,
        "latin_square": "Generate a Latin square of size {size} with the symbols "
        "{symbols}. Only output the final result as CSV without header.",
        "sudoku": "Solve the following {size}x{size} Sudoku puzzle. Replace each _ "
        "with a digit from 1 to {size}. Only output the final result.\n\n{puzzle}",
    }
)
"""ParallelBench's prompt of each task (Shuffle's serves `shuffle_distinct` too)."""

_PEOPLE = '["Patrick Hicks", "Roy Ortiz", "Eric Reynolds"]'
_VIRGINIA = {"word": "Virginia Hayes"}

EXAMPLES = MappingProxyType(
    {
        "copy": ({"context": _PEOPLE}, _PEOPLE),
        "sort": (
            {"context": _PEOPLE},
            '["Eric Reynolds", "Patrick Hicks", "Roy Ortiz"]',
        ),
        "reverse": (
            {"context": _PEOPLE},
            '["Eric Reynolds", "Roy Ortiz", "Patrick Hicks"]',
        ),
        "shuffle": (
            {"context": _PEOPLE},
            '["Patrick Hicks", "Eric Reynolds", "Roy Ortiz"]',
        ),
        "insert_index": (
            {"context": _PEOPLE, **_VIRGINIA, "index": 3},
            '["Patrick Hicks", "Roy Ortiz", "Eric Reynolds", "Virginia Hayes"]',
        ),
        "insert_random": (
            {"context": _PEOPLE, **_VIRGINIA},
            '["Patrick Hicks", "Roy Ortiz", "Eric Reynolds", "Virginia Hayes"]',
        ),
        "remove_index": (
            {"context": _PEOPLE, "index": 1},
            '["Patrick Hicks", "Eric Reynolds"]',
        ),
        "remove_random": ({"context": _PEOPLE}, '["Patrick Hicks", "Eric Reynolds"]'),
        "replace_index": (
            {"context": _PEOPLE, **_VIRGINIA, "index": 1},
            '["Patrick Hicks", "Virginia Hayes", "Eric Reynolds"]',
        ),
        "replace_random": (
            {"context": _PEOPLE, **_VIRGINIA},
            '["Patrick Hicks", "Virginia Hayes", "Eric Reynolds"]',
        ),
        "latin_square": (
            {"size": 4, "symbols": "[H, T, 6, P]"},
            "6,P,H,T\nP,H,T,6\nH,T,6,P\nT,6,P,H",
        ),
        "sudoku": (
            {"size": 4, "puzzle": "_41_\n_2_3\n__3_\n4_21"},
            "3412\n1243\n2134\n4321",
        ),
    }
)
"""ParallelBench's in-context example of each task: (its fields, its answer)."""


def _template(name: str) -> str:
    return "shuffle" if name == "shuffle_distinct" else name


def prompt_fields(task: Task, prompt_index: int) -> dict:
    """The fields of `TEMPLATES[task]` for one prompt of a trilemma text task."""
    name = _text_task(task)
    items = prompt_items(task, prompt_index)
    if name == "sudoku":
        cells = ["_" if c == "0" else c for c in items]
        rows = ["".join(cells[r : r + 4]) for r in range(0, 16, 4)]
        return {"size": 4, "puzzle": "\n".join(rows)}
    if name == "latin_square":
        return {"size": len(items), "symbols": f"[{', '.join(items)}]"}
    fields = {}
    if name in INDEX_OFFSET:
        fields["index"] = int(items.pop())
    if name in WITH_NEW_WORD:
        fields["word"] = str(items.pop())
    fields["context"] = render_answer(name, items)
    return fields


def prompt_messages(task: Task, prompt_index: int, *, example: bool = True) -> list:
    """The chat turns ParallelBench asks for prompt `prompt_index` of `task`.

    Args:
      task: a task of `TEXT_TASKS`.
      prompt_index: the row of `task.prompts`.
      example: start with ParallelBench's in-context example (a user turn and the
        assistant's answer), as its benchmark does.

    Returns:
      `[{"role": "user" | "assistant", "content": str}, ...]`.
    """
    template = TEMPLATES[_template(_text_task(task))]
    turns = []
    if example:
        fields, answer = EXAMPLES[_template(task.name)]
        turns += [
            {"role": "user", "content": template.format(**fields)},
            {"role": "assistant", "content": answer},
        ]
    content = template.format(**prompt_fields(task, prompt_index))
    return [*turns, {"role": "user", "content": content}]
