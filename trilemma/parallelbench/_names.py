r"""ParallelBench's task names: its own, its harnesses', and trilemma's.

`PARALLELBENCH_TASKS` maps ParallelBench's task names (`waiting_line/copy`,
`puzzles/latin_square_n4`, ...) and `LM_EVAL_TASKS` the lm-evaluation-harness task
names (ParallelBench's own harness: `parallelbench_waiting_line_copy`,
`parallelbench_puzzles_sudoku_n4`, ...; the port in zhangshuibai/dInfer:
`waiting_line_copy`, ...) to trilemma's task names, read off one table of per-task
facts (`trilemma.tasks.TEXT_FACTS`). ParallelBench's Shuffle is `shuffle_distinct`,
the law its grader matches.
"""

from __future__ import annotations

from types import MappingProxyType

from .. import _checks
from ..tasks._facts import TEXT_FACTS, TEXT_TASKS

PARALLELBENCH_METRICS = MappingProxyType(
    {name: facts.metric for name, facts in TEXT_FACTS.items()}
)
"""Trilemma task -> the ParallelBench metric that grades it (`metrics.py`)."""

_WAITING_LINE = {
    facts.parallelbench: name
    for name, facts in TEXT_FACTS.items()
    if facts.form == "list" and name != "shuffle"  # its Shuffle is shuffle_distinct
}

PARALLELBENCH_TASKS = MappingProxyType(
    {
        **{f"waiting_line/{k}": v for k, v in _WAITING_LINE.items()},
        **{f"waiting_line_n15/{k}": v for k, v in _WAITING_LINE.items()},
        "puzzle/latin_square_n4": "latin_square",
        "puzzle/sudoku_n4_12": "sudoku",
        "puzzles/latin_square_n4": "latin_square",
        "puzzles/sudoku_n4": "sudoku",
        "puzzles/sudoku_n4_12": "sudoku",
    }
)
"""ParallelBench task name (`data/output/test/<name>.jsonl`) -> trilemma task name.

The `waiting_line_n15` set is the same ten tasks at n = 15 (the paper's Tables 5-7).
The `puzzles/` names are the package's later spelling (`parallelbench/datasets/`,
and `metadata.parallelbench_task` in its harness results files); `sudoku_n4` (4
holes in the logged docs) and `sudoku_n4_12` differ in the puzzles only, and both are
graded by `sudoku_score` against the logged solution.
"""

_PUZZLES = {
    "latin_square_n4": "latin_square",
    "sudoku_n4": "sudoku",
    "sudoku_n4_12": "sudoku",
}

LM_EVAL_TASKS = MappingProxyType(
    {
        **{f"waiting_line_{k}": v for k, v in _WAITING_LINE.items()},
        "puzzle_latin_square_n4": "latin_square",
        "puzzle_sudoku_n4_12": "sudoku",
        "sudoku_n4_12": "sudoku",
        **{
            f"{prefix}waiting_line_{k}": v
            for prefix in ("parallelbench_", "parallel_bench_")
            for k, v in _WAITING_LINE.items()
        },
        "parallelbench_puzzles_latin_square_n4": "latin_square",
        "parallelbench_puzzles_sudoku_n4": "sudoku",
        **{f"parallel_bench_puzzles_{k}": v for k, v in _PUZZLES.items()},
    }
)
"""lm-evaluation-harness task name (the yaml `task:` field) -> trilemma task name.

Two harnesses log ParallelBench's tasks. ParallelBench's own
(`parallelbench/lm_eval_tasks/`, whose published logs are
`results/<model>/<method>/<param>/<run>/samples_<name>.jsonl`) names them
`parallelbench_waiting_line_copy`, `parallelbench_puzzles_latin_square_n4`,
`parallelbench_puzzles_sudoku_n4`, ... (its earlier yaml files spell the prefix
`parallel_bench_` and add `parallel_bench_puzzles_sudoku_n4_12`). The harness port
in zhangshuibai/dInfer (`evaluations/tasks/parallel_bench/`) uses the ParallelBench
names with `/` written as `_` (`waiting_line_copy`, `puzzle_latin_square_n4`, and
`sudoku_n4_12` as an alias of `puzzle_sudoku_n4_12`).
"""

_TEXT_WRITING = (
    "paraphrasing",
    "summarization",
    "words_to_sentence_easy",
    "words_to_sentence_medium",
    "words_to_sentence_hard",
)

UNGRADED_TASKS = frozenset(
    {
        *(f"text_writing/{k}" for k in _TEXT_WRITING),
        *(f"parallelbench_text_writing_{k}" for k in _TEXT_WRITING),
    }
)
"""ParallelBench's Text Writing tasks (ParallelBench and harness names).

They are scored by LanguageTool, ROUGE and BERTScore, which trilemma does not
reproduce: `trilemma_task_name` refuses them, and a reader of a results tree can
skip them by name (each run of ParallelBench's harness logs all 17 tasks).
"""


def trilemma_task_name(name: str) -> str:
    """The trilemma task graded by `name`: a trilemma, ParallelBench or harness name.

    >>> trilemma_task_name("waiting_line/shuffle")
    'shuffle_distinct'
    >>> trilemma_task_name("puzzle_sudoku_n4_12")
    'sudoku'
    """
    if not isinstance(name, str):
        raise _checks.unknown("text task", name, TEXT_TASKS)
    if name in TEXT_TASKS:
        return name
    for table in (PARALLELBENCH_TASKS, LM_EVAL_TASKS):
        if name in table:
            return table[name]
    raise _checks.unknown(
        "text task", name, [*TEXT_TASKS, *PARALLELBENCH_TASKS, *LM_EVAL_TASKS]
    )
