"""ParallelBench's answer text: rendering, lenient/strict parsing and verdicts."""

import numpy as np
import pytest

from trilemma.parallelbench import (
    LIST_TASKS,
    LM_EVAL_TASKS,
    PARALLELBENCH_METRICS,
    PARALLELBENCH_TASKS,
    TEXT_TASKS,
    UNGRADED_TASKS,
    answer_items,
    doc_length,
    grade_doc,
    grade_text,
    parse_answer,
    prompt_items,
    render_answer,
    trilemma_task_name,
)
from trilemma.tasks import POOL_NAMES, POOLED_TASKS, TASKS, evaluation_tasks

CANONICAL = [(name, 3) for name in LIST_TASKS]
CANONICAL += [("latin_square", 3), ("latin_square", 4), ("sudoku", 4), ("sudoku", 2)]
POOLED = [(name, 3) for name in POOLED_TASKS]


def _canonical(name, n):
    num_prompts = 3 if name == "sudoku" else (2 if name != "latin_square" else 1)
    return TASKS[name](n, num_prompts=num_prompts)


def _rows_to_check(task, prompt_index, rng, count=40):
    """The support of p*(.|x) at a prompt, then random rows and one-token mutations.

    Returns `(rows, support size)`; the random and mutated rows are mostly invalid,
    and the mutations (a swap of two positions, or one token changed) sit next to
    the support, where a wrong rule would show.
    """
    outcomes = np.asarray(task.joint.outcomes)
    support = outcomes[outcomes[:, 0] == prompt_index, 1:].astype(np.int64)
    sizes = np.asarray(task.joint.sizes[1:])
    length = len(sizes)
    random_rows = rng.integers(0, sizes, size=(count, length))
    mutated = support[rng.integers(0, len(support), count)].copy()
    for row in mutated:
        a, b = rng.choice(length, 2) if length > 1 else (0, 0)
        if rng.random() < 0.5:
            row[[a, b]] = row[[b, a]]
        else:
            row[a] = rng.integers(0, sizes[a])
    return np.concatenate([support, random_rows, mutated]), len(support)


def _check_round_trip(task, seed):
    """At every prompt: `grade_text` of each rendered row equals `task.grade`."""
    rng = np.random.default_rng(seed)
    for i in range(len(task.prompts)):
        rows, num_support = _rows_to_check(task, i, rng)
        expected = task.grade(np.full(len(rows), i), rows)
        if task.name == "shuffle":  # the identity is in p*'s support; both reject it
            assert num_support - expected[:num_support].sum() == 1
        else:
            assert expected[:num_support].all()
        assert not expected[num_support:].all()  # the sample has invalid rows
        items = prompt_items(task, i)
        for row, want in zip(rows, expected, strict=True):
            text = render_answer(task.name, answer_items(task, i, row))
            for strict in (False, True):
                got = grade_text(task.name, items, text, strict=strict)
                assert got == bool(want), (task.name, items, text, strict)
            if task.name == "latin_square":
                assert grade_text(task.name, items, text, exact_grid=True) == want


@pytest.mark.parametrize(("name", "n"), CANONICAL)
def test_round_trip_canonical(name, n):
    """On rendered answers the text grader agrees exactly with `Task.grade`.

    For every output in the support of p*(.|x) and a sample of invalid rows, on the
    unpooled tasks (tokens named by `POOL_NAMES`, Sudoku by its digits):
    `grade_text(name, prompt, render_answer(name, output))` equals
    `task.grade(prompt, output)` in both the lenient and the strict mode. Every
    support row passes, except the identity of `shuffle`, which ParallelBench's
    Shuffle rule rejects.
    """
    _check_round_trip(_canonical(name, n), seed=len(name) + n)


@pytest.mark.parametrize(("name", "n"), POOLED)
def test_round_trip_pooled(name, n):
    """The round trip on pooled held-in and held-out prompts (names: `POOL_NAMES`)."""
    for j, task in enumerate(evaluation_tasks(name, n, num_prompts=3)):
        _check_round_trip(task, seed=j + len(name))


def test_pool_names_sort_like_the_pool():
    """`POOL_NAMES` sort as strings in pool order.

    ParallelBench's Sort reference is Python's `sorted` of the names, and the pooled
    `sort` task sorts by pool token. The two agree because of this order.
    """
    assert sorted(POOL_NAMES) == list(POOL_NAMES)


def test_lenient_parse_takes_the_last_list():
    """The lenient parse reads after the last `[` up to the next `]`.

    With reasoning and two lists, the last list is the answer. Without brackets or
    quotes the text still reads as a comma-separated list. A stray `[` after the
    answer takes over the reading, as in ParallelBench.
    """
    text = 'First I wrote ["Ann", "Bob", "Cat"].\nReversed: ["Cat", "Bob", "Ann"]\n'
    assert parse_answer("reverse", text) == ["Cat", "Bob", "Ann"]
    assert grade_text("reverse", ["Ann", "Bob", "Cat"], text)
    assert not grade_text("copy", ["Ann", "Bob", "Cat"], text)
    assert parse_answer("copy", "Ann, Bob ,Cat") == ["Ann", "Bob", "Cat"]
    assert parse_answer("copy", "[Ann, 'Bob']") == ["Ann", "'Bob'"]  # single quotes
    assert parse_answer("copy", '["Ann", "Bob"] [sic]') == ["sic"]
    assert parse_answer("copy", "[]") == []


def test_strict_parse_rules():
    """Strict needs `[...]` holding `"..."` items joined by `", "`.

    It still takes the last list, and it does not refuse text around the brackets:
    ParallelBench's strict mode only checks what lies between them. It refuses a
    missing bracket, unquoted items, other separators, padding and inner quotes.
    """
    items = ["Ann", "Bob", "Cat"]
    answer = '["Ann", "Bob", "Cat"]'
    assert grade_text("copy", items, answer, strict=True)
    chatty = 'Sure! Draft: ["Bob"]. Final: ["Ann", "Bob", "Cat"] Done.'
    assert parse_answer("copy", chatty, strict=True) == items
    assert grade_text("copy", items, chatty, strict=True)
    for text in [
        '"Ann", "Bob", "Cat"',  # no brackets
        '["Ann", "Bob", "Cat"',  # no closing bracket
        "[Ann, Bob, Cat]",  # unquoted
        '["Ann","Bob","Cat"]',  # no space after the commas
        '[ "Ann", "Bob", "Cat" ]',  # padding inside the brackets
        '["Ann", "Bob", "Cat",]',  # trailing comma
        "[]",
    ]:
        assert parse_answer("copy", text, strict=True) is None, text
        assert not grade_text("copy", items, text, strict=True), text
    lenient_ok = ['"Ann", "Bob", "Cat"', "[Ann, Bob, Cat]", '["Ann","Bob","Cat"]']
    for text in lenient_ok:
        assert grade_text("copy", items, text), text


def test_latin_square_quirk():
    """The Latin-square grader accepts texts that are not n x n grids.

    `latin_square_score` keeps the lines whose set of cells is the symbol set,
    uses the first n of them, and checks the columns of `zip(*rows)`. So these pass:
    a 4 x 5 grid whose rows repeat a symbol (every column is still a permutation);
    a square with chatter, a bad line and a fifth row around it; rows of different
    lengths (zip cuts the columns to the shortest). ParallelBench's `score_strict`
    gives the same verdict, since the metric ignores `strict`. The exact reading
    (`exact_grid=True`, ParallelBench's unused `str_to_latin_square`) rejects all
    three and accepts the plain square.
    """
    symbols = ["H", "4", "C", "A"]
    square = "H,4,C,A\n4,C,A,H\nC,A,H,4\nA,H,4,C"
    wide = "H,4,C,A,H\n4,C,A,H,4\nC,A,H,4,C\nA,H,4,C,A"
    padded = "Here it is:\nH,4,C,A\nH,H,H\n4,C,A,H\nC,A,H,4\nA,H,4,C\nH,4,C,A"
    ragged = "H,4,C,A,A,A\n4,C,A,H\nC,A,H,4\nA,H,4,C"
    assert grade_text("latin_square", symbols, square, exact_grid=True)
    for text in (wide, padded, ragged):
        rows = parse_answer("latin_square", text, prompt_items=symbols)
        assert rows is not None
        assert grade_text("latin_square", symbols, text), text
        assert grade_text("latin_square", symbols, text, strict=True), text
        assert not grade_text("latin_square", symbols, text, exact_grid=True), text
        exact = parse_answer(
            "latin_square", text, prompt_items=symbols, exact_grid=True
        )
        assert exact is None
    assert len(parse_answer("latin_square", wide, prompt_items=symbols)[0]) == 5
    # a 3 x 4 text passes for n = 3 (the docstring's example)
    assert grade_text("latin_square", ["A", "B", "C"], "A,B,C,A\nB,C,A,B\nC,A,B,C")
    # a repeated column fails in every mode
    assert not grade_text("latin_square", symbols, "H,4,C,A\nH,4,C,A\nC,A,H,4\nA,H,4,C")


def test_sudoku_modes():
    """Sudoku: lenient keeps lines of exactly four digits; strict needs the bare grid.

    The puzzle and solution are the first record of ParallelBench's
    `puzzle/sudoku_n4_12.jsonl`.
    """
    puzzle, solution = "0042\n2031\n4023\n3214", "1342\n2431\n4123\n3214"
    assert render_answer("sudoku", [list(r) for r in solution.split("\n")]) == solution
    for strict in (False, True):
        assert grade_text("sudoku", puzzle, solution, strict=strict)
    chatty = "Output:\nfirst: 1 3 4 2\n2,4,3,1\n4123\n3214"
    assert grade_text("sudoku", puzzle, chatty)
    numbered = "row 1: 1342\nrow 2: 2431\nrow 3: 4123\nrow 4: 3214"  # 5 digits a line
    assert not grade_text("sudoku", puzzle, numbered)
    assert not grade_text("sudoku", puzzle, chatty, strict=True)
    assert not grade_text("sudoku", puzzle, solution + "\n1234")  # five rows
    assert not grade_text("sudoku", puzzle, solution.replace("1342", "3142"))


def _record(task, answer, inputs, **extra):
    """A record shaped like ParallelBench's jsonl rows, with the harness's fields."""
    return {
        "input": inputs,
        "answer": answer,
        "metadata": extra.pop("metadata", {}),
        "text": "User: You are managing a waiting line ...",
        "_task": task,
        "_metadata": {},
        **extra,
    }


def test_grade_doc():
    """`grade_doc` grades records shaped like ParallelBench's lm-eval samples.

    The records follow `data/output/test/*.jsonl` (`input`, `answer`, `metadata`,
    `output_format`) plus the fields the harness port adds (`text`, `_task`,
    `_metadata`). The verdicts are ParallelBench's: the Sort reference sorts by first
    name, Shuffle rejects the identity, Replace Random uses the first W, and
    Insert/Remove Random keep the order. They agree with `grade_text` on the same
    prompt. Without `_task` the task is inferred from the record's shape, and an
    answer logged as a Python-literal string is read back.
    """
    names = ["Sean Diaz", "David Lewis", "Patrick Tran"]
    ctx = {"context": render_answer("copy", names), "icl_examples": []}
    mask = '["[MASK]", "[MASK]", "[MASK]"]'
    shuffled = render_answer("copy", names[::-1])  # the records' example answers
    inserted = render_answer("copy", ["Amy Chen", *names])
    removed = render_answer("copy", names[1:])
    replaced = render_answer("copy", ["Amy Chen", *names[1:]])
    cases = [
        (
            _record(
                "waiting_line/copy",
                render_answer("copy", names),
                ctx,
                output_format=mask,
                metadata={"length": 3},
            ),
            names,
            [('["Sean Diaz", "David Lewis", "Patrick Tran"]', True)],
        ),
        (
            _record("waiting_line/sort", render_answer("sort", sorted(names)), ctx),
            names,
            [
                ('["David Lewis", "Patrick Tran", "Sean Diaz"]', True),
                ('["Sean Diaz", "David Lewis", "Patrick Tran"]', False),  # by last
            ],
        ),
        (
            _record("waiting_line/shuffle", {"input": names, "example": shuffled}, ctx),
            names,
            [
                ('["David Lewis", "Sean Diaz", "Patrick Tran"]', True),
                (render_answer("copy", names), False),  # the identity
                ('["David Lewis", "Sean Diaz"]', False),
            ],
        ),
        (
            _record(
                "waiting_line/insert_random",
                {"input": names, "word": "Amy Chen", "example": inserted},
                {**ctx, "word": "Amy Chen"},
                metadata={"length": 3, "index": None, "word": "Amy Chen"},
            ),
            [*names, "Amy Chen"],
            [
                ('["Sean Diaz", "Amy Chen", "David Lewis", "Patrick Tran"]', True),
                ('["Amy Chen", "David Lewis", "Sean Diaz", "Patrick Tran"]', False),
            ],
        ),
        (
            _record(
                "waiting_line/remove_random", {"input": names, "example": removed}, ctx
            ),
            names,
            [
                ('["Sean Diaz", "Patrick Tran"]', True),
                ('["Patrick Tran", "Sean Diaz"]', False),
                (render_answer("copy", names), False),
            ],
        ),
        (
            _record(
                "waiting_line/replace_random",
                {"input": names, "word": "Amy Chen", "example": replaced},
                {**ctx, "word": "Amy Chen"},
            ),
            [*names, "Amy Chen"],
            [
                ('["Sean Diaz", "Amy Chen", "Patrick Tran"]', True),
                ('["Amy Chen", "Amy Chen", "Patrick Tran"]', False),  # first W at 0
                ('["Amy Chen", "David Lewis", "Patrick Tran", "X Y"]', False),
            ],
        ),
        (
            _record(
                "waiting_line/insert_index",
                render_answer("copy", [names[0], "Amy Chen", *names[1:]]),
                {**ctx, "word": "Amy Chen", "index": 1},
            ),
            [*names, "Amy Chen", 1],
            [
                ('["Sean Diaz", "Amy Chen", "David Lewis", "Patrick Tran"]', True),
                ('["Amy Chen", "Sean Diaz", "David Lewis", "Patrick Tran"]', False),
            ],
        ),
        (
            _record(
                "puzzle/latin_square_n4",
                {"symbols": ["H", "4", "C", "A"], "example": "H,4,A,C\n..."},
                {"size": 4, "symbols": "[H, 4, C, A]", "icl_examples": []},
            ),
            ["H", "4", "C", "A"],
            [
                ("H,4,C,A\n4,C,A,H\nC,A,H,4\nA,H,4,C", True),
                ("H, 4, C, A\n4, C, A, H\nC, A, H, 4\nA, H, 4, C\n", True),
                ("H,4,C,A\n4,C,A,H\nC,A,H,4\nA,H,C,4", False),
            ],
        ),
        (
            _record(
                "puzzle/sudoku_n4_12",
                "1342\n2431\n4123\n3214",
                {"sudoku": "0042\n2031\n4023\n3214", "icl_examples": []},
                metadata={"length": 12},
            ),
            "0042\n2031\n4023\n3214",
            [("1342\n2431\n4123\n3214", True), ("1342\n2431\n4123\n3241", False)],
        ),
    ]
    for doc, items, answers in cases:
        name = trilemma_task_name(doc["_task"])
        anonymous = {k: v for k, v in doc.items() if k != "_task"}
        as_string = {**anonymous, "answer": str(doc["answer"])}
        for text, want in answers:
            for strict in (False, True):
                expected = grade_text(name, items, text, strict=strict)
                if not strict:
                    assert expected == want, (name, text)
                assert grade_doc(doc, text, strict=strict) == expected, (name, text)
                assert grade_doc(anonymous, text, strict=strict) == expected
                assert grade_doc(as_string, text, strict=strict) == expected
                assert grade_doc(anonymous, text, strict=strict, task=name) == expected


def test_grade_doc_label_docs():
    """`grade_doc` grades ParallelBench's harness docs (`label`), all five shapes.

    The same verdicts as `grade_text` on the same prompt, with the task given or
    inferred from the label; a copy label is the list itself (not its text), and
    the Latin square's `example` grid is not read.
    """
    names = ["Sean Diaz", "David Lewis", "Patrick Tran"]
    text = render_answer
    cases = [
        ("copy", names, names, [(text("copy", names), True), ('["Sean Diaz"]', False)]),
        (
            "shuffle_distinct",
            {"example": text("copy", names[::-1]), "input": names},
            names,
            [(text("copy", names[::-1]), True), (text("copy", names), False)],
        ),
        (
            "insert_random",
            {
                "example": text("copy", [*names, "Amy Chen"]),
                "input": names,
                "word": "Amy Chen",
            },
            [*names, "Amy Chen"],
            [
                ('["Amy Chen", "Sean Diaz", "David Lewis", "Patrick Tran"]', True),
                ('["Sean Diaz", "David Lewis", "Patrick Tran"]', False),
            ],
        ),
        (
            "replace_random",
            {
                "example": text("copy", ["Amy Chen", *names[1:]]),
                "input": names,
                "word": "Amy Chen",
            },
            [*names, "Amy Chen"],
            [
                ('["Sean Diaz", "David Lewis", "Amy Chen"]', True),
                ('["Sean Diaz", "Amy Chen", "Amy Chen"]', False),
            ],
        ),
        (
            "remove_random",
            {"example": text("copy", names[1:]), "input": names},
            names,
            [('["Sean Diaz", "Patrick Tran"]', True), (text("copy", names), False)],
        ),
        (
            "latin_square",
            {"example": "not,read", "symbols": ["A", "B"]},
            ["A", "B"],
            [("B,A\nA,B", True), ("A,B\nA,B", False)],
        ),
        (
            "sudoku",
            "1342\n2431\n4123\n3214",
            "0042\n2031\n4023\n3214",
            [("1342\n2431\n4123\n3214", True), ("1342\n2431\n4123\n3241", False)],
        ),
    ]
    for name, label, items, answers in cases:
        doc = {"messages": [], "label": label, "metadata": {"length": 3}, "index": 0}
        assert doc_length(doc) == 3
        for answer, want in answers:
            for strict in (False, True):
                expected = grade_text(name, items, answer, strict=strict)
                assert expected == want or strict, (name, answer)
                assert grade_doc(doc, answer, strict=strict) == expected, (name, answer)
                assert grade_doc(doc, answer, strict=strict, task=name) == expected
    # the copy label is used as it is: a list item is not stripped as a text one is
    assert not grade_doc({"label": [" Ann"]}, '[" Ann"]')
    assert grade_doc({"answer": '[" Ann"]'}, '[" Ann"]')
    assert doc_length({"label": {"input": ["A", "B"], "example": '["B", "A"]'}}) == 2
    assert doc_length({"label": "1342\n2431\n4123\n3214"}) is None
    with pytest.raises(ValueError, match="'label' field"):
        grade_doc({"messages": []}, "[]")
    with pytest.raises(ValueError, match="no 'word' field"):
        grade_doc(
            {"label": {"input": ["A"], "example": "[]"}}, "[]", task="insert_random"
        )


def test_task_name_tables():
    """Every ParallelBench and harness name maps to a trilemma task with a metric."""
    assert set(PARALLELBENCH_METRICS) == set(TEXT_TASKS)
    for table in (PARALLELBENCH_TASKS, LM_EVAL_TASKS):
        for pb_name, name in table.items():
            assert name in TASKS and trilemma_task_name(pb_name) == name
    assert PARALLELBENCH_TASKS["waiting_line/shuffle"] == "shuffle_distinct"
    assert LM_EVAL_TASKS["puzzle_sudoku_n4_12"] == "sudoku"
    assert LM_EVAL_TASKS["parallelbench_puzzles_sudoku_n4"] == "sudoku"
    assert LM_EVAL_TASKS["parallelbench_waiting_line_shuffle"] == "shuffle_distinct"
    assert PARALLELBENCH_TASKS["puzzles/latin_square_n4"] == "latin_square"
    for name in UNGRADED_TASKS:
        with pytest.raises(ValueError, match="Unknown text task"):
            trilemma_task_name(name)
    with pytest.raises(ValueError, match="Unknown text task"):
        trilemma_task_name("words_to_sentence/easy")


def test_bad_arguments():
    """Malformed prompts and values raise one-sentence errors."""
    with pytest.raises(ValueError, match="index"):
        grade_text("remove_index", ["Ann", "Bob", 2], '["Ann"]')
    with pytest.raises(ValueError, match="prompt_items"):
        parse_answer("latin_square", "A,B\nB,A")
    with pytest.raises(ValueError, match="16 cells"):
        grade_text("sudoku", "0042\n2031", "1342")
    with pytest.raises(ValueError, match="unique"):
        grade_text("sudoku", "0" * 16, "1342\n2431\n4123\n3214")
    with pytest.raises(TypeError, match="text"):
        grade_text("copy", ["Ann"], ["Ann"])
