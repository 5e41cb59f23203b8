"""ParallelBench's prompts of the text tasks (`trilemma.parallelbench.prompt_messages`).

Checked against ParallelBench's own grader, as trilemma ports it: each in-context
example's answer is a correct answer to its example (so the examples were copied
with the fields they answer), and each prompt shows its task's items as ParallelBench
writes them.
"""

import pytest

import trilemma as T
from trilemma.parallelbench import (
    TEXT_TASKS,
    grade_text,
    prompt_items,
    prompt_messages,
    render_answer,
)
from trilemma.parallelbench._prompts import EXAMPLES, TEMPLATES

PEOPLE = ["Patrick Hicks", "Roy Ortiz", "Eric Reynolds"]


def test_every_text_task_has_a_prompt_and_an_example():
    assert set(TEMPLATES) | {"shuffle_distinct"} == set(TEXT_TASKS)
    assert set(EXAMPLES) == set(TEMPLATES)


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_each_example_answer_is_correct_for_its_example(name):
    """`grade_text` (strict) accepts the example's answer for the example's items."""
    fields, answer = EXAMPLES[name]
    if name == "latin_square":
        items = fields["symbols"].strip("[]").split(", ")
    elif name == "sudoku":
        items = list(fields["puzzle"].replace("\n", "").replace("_", "0"))
    else:
        items = [*PEOPLE]
        items += [fields["word"]] if "word" in fields else []
        items += [fields["index"]] if "index" in fields else []
    assert grade_text(name, items, answer, strict=True)


@pytest.mark.parametrize("name", TEXT_TASKS)
def test_the_prompt_shows_the_tasks_items(name):
    task = T.make_task(name) if name == "sudoku" else T.make_task(name, 4)
    turns = prompt_messages(task, 0)
    assert [t["role"] for t in turns] == ["user", "assistant", "user"]
    assert prompt_messages(task, 0, example=False) == turns[-1:]
    items = prompt_items(task, 0)
    content = turns[-1]["content"]
    if name == "sudoku":
        grid = "".join("_" if c == "0" else c for c in items)
        assert "\n".join(grid[r : r + 4] for r in range(0, 16, 4)) in content
    elif name == "latin_square":
        assert f"size 4 with the symbols [{', '.join(items)}]" in content
    else:
        if name.endswith("_index"):
            assert f"position {items[-1]}" in content
            items = items[:-1]
        if name.startswith(("insert", "replace")):
            assert f'"{items[-1]}"' in content
            items = items[:-1]
        assert render_answer(name, items) in content
