"""The task library against independent plain-Python constructions.

Every data law p*(.|x) here is rebuilt with lists and itertools from the task's
definition, every grader is ParallelBench's v1 pass rule (reference §4.2) re-typed on
token lists, and the closed forms are typed from the reference or counted here from
the plain laws. Graders are checked on every output of the product alphabet for small
sizes, and their accepted set against the support (Shuffle: the support minus the
identity, reference §2.7).
"""

import itertools
import math
from collections import Counter, defaultdict
from fractions import Fraction

import numpy as np
import pytest

import trilemma as T
from trilemma.tasks import _base, _generic, _lists, _puzzles, waiting_line_tasks

ATOL_BITS = 1e-10

# --------------------------------------------------------------------------------------
# Plain constructions (lists and itertools only).

INDEXED = {"insert_index": 1, "remove_index": 0, "replace_index": 0}
"""Index tasks: the index ranges over 0..n-1+extra."""

SHAPES = {
    # name: (output length, output alphabet) as functions of n
    "copy": (lambda n: n, lambda n: n),
    "sort": (lambda n: n, lambda n: n),
    "reverse": (lambda n: n, lambda n: n),
    "shuffle": (lambda n: n, lambda n: n),
    "shuffle_distinct": (lambda n: n, lambda n: n),
    "insert_index": (lambda n: n + 1, lambda n: n + 1),
    "insert_random": (lambda n: n + 1, lambda n: n + 1),
    "remove_index": (lambda n: n - 1, lambda n: n),
    "remove_random": (lambda n: n - 1, lambda n: n),
    "replace_index": (lambda n: n, lambda n: n + 1),
    "replace_random": (lambda n: n, lambda n: n + 1),
}
MIN_N = {"remove_index": 2, "remove_random": 2, "shuffle_distinct": 2}
LIST_TASKS = tuple(SHAPES)


def expected_prompts(name, n, num_prompts):
    """Rotations of 0..n-1; index tasks append every index (rotation-major)."""
    lists = [tuple((r + j) % n for j in range(n)) for r in range(num_prompts)]
    if name in INDEXED:
        return [x + (i,) for x in lists for i in range(n + INDEXED[name])]
    return lists


def split(name, prompt):
    if name in INDEXED:
        return list(prompt[:-1]), prompt[-1]
    return list(prompt), None


def list_law(name, prompt, n):
    """p*(y|x) as {output tuple: Fraction} from the task's definition."""
    x, i = split(name, prompt)
    w = n  # the new person W
    if name == "copy":
        return {tuple(x): Fraction(1)}
    if name == "reverse":
        return {tuple(reversed(x)): Fraction(1)}
    if name == "sort":
        return {tuple(sorted(x)): Fraction(1)}
    if name == "insert_index":
        return {tuple(x[:i] + [w] + x[i:]): Fraction(1)}
    if name == "remove_index":
        return {tuple(x[:i] + x[i + 1 :]): Fraction(1)}
    if name == "replace_index":
        return {tuple(x[:i] + [w] + x[i + 1 :]): Fraction(1)}
    if name == "insert_random":
        return {tuple(x[:j] + [w] + x[j:]): Fraction(1, n + 1) for j in range(n + 1)}
    if name == "remove_random":
        return {tuple(x[:j] + x[j + 1 :]): Fraction(1, n) for j in range(n)}
    if name == "replace_random":
        return {tuple(x[:j] + [w] + x[j + 1 :]): Fraction(1, n) for j in range(n)}
    perms = list(itertools.permutations(x))
    if name == "shuffle_distinct":
        perms.remove(tuple(x))
    return {p: Fraction(1, len(perms)) for p in perms}


def list_passes(name, prompt, output, n):
    """ParallelBench's pass rule (reference §4.2) on token lists."""
    x, i = split(name, prompt)
    y = list(output)
    w = n
    if name in ("shuffle", "shuffle_distinct"):
        return sorted(y) == sorted(x) and y != x
    if name == "insert_random":
        if w not in y:
            return False
        y.remove(w)  # removes the first W
        return y == x
    if name == "remove_random":
        if len(y) != len(x) - 1:
            return False
        deleted = set(x) - set(y)
        if len(deleted) != 1:
            return False
        rest = x.copy()
        rest.remove(deleted.pop())
        return y == rest
    if name == "replace_random":
        if len(y) != len(x) or w not in y:
            return False
        j = y.index(w)
        replaced = x.copy()
        replaced[j] = w
        return y == replaced
    reference = {
        "copy": x,
        "reverse": x[::-1],
        "sort": sorted(x),
        "insert_index": x[:i] + [w] + x[i:] if i is not None else None,
        "remove_index": x[:i] + x[i + 1 :] if i is not None else None,
        "replace_index": x[:i] + [w] + x[i + 1 :] if i is not None else None,
    }[name]
    return y == reference


def latin_squares_plain(n):
    """Every Latin square of order n, by backtracking over row permutations."""
    found = []

    def extend(rows):
        if len(rows) == n:
            found.append(tuple(v for row in rows for v in row))
            return
        for p in itertools.permutations(range(n)):
            if all(p[c] != row[c] for row in rows for c in range(n)):
                extend([*rows, p])

    extend([])
    return found


def latin_passes(prompt, output):
    n = len(prompt)
    symbols = set(prompt)
    rows = [output[r * n : (r + 1) * n] for r in range(n)]
    cols = [output[c::n] for c in range(n)]
    return all(set(r) == symbols for r in rows) and all(set(c) == symbols for c in cols)


def sudoku_valid(grid):
    """Rows, columns and 2x2 boxes of a 4x4 grid (tokens 0..3) each hold 0..3."""
    full = set(range(4))
    rows = [grid[4 * r : 4 * r + 4] for r in range(4)]
    cols = [grid[c::4] for c in range(4)]
    boxes = [
        [grid[4 * (2 * br + r) + 2 * bc + c] for r in range(2) for c in range(2)]
        for br in range(2)
        for bc in range(2)
    ]
    return all(set(g) == full for g in rows + cols + boxes)


def sudoku_fillings(prompt):
    """Brute force: every filling of the blanks (token 4) that makes a valid grid."""
    blanks = [c for c in range(16) if prompt[c] == 4]
    valid = []
    for fill in itertools.product(range(4), repeat=len(blanks)):
        grid = list(prompt)
        for c, v in zip(blanks, fill, strict=True):
            grid[c] = v
        if sudoku_valid(grid):
            valid.append(fill)
    return valid


def sudoku_grids_plain():
    """The 288 solved grids: Latin squares of order 4 with valid boxes."""
    return [g for g in latin_squares_plain(4) if sudoku_valid(list(g))]


CITIES = {(0, 0): 0.25, (0, 1): 0.25, (1, 2): 0.25, (2, 2): 0.25}
COPULA = {(1, 0): 0.30, (1, 2): 0.25, (0, 1): 0.30, (2, 1): 0.15}


# --------------------------------------------------------------------------------------
# Reading a task.


def laws_of(task):
    """({prompt index: {output: p*(y|x)}}, prompt masses) from the joint's rows."""
    outcomes = np.asarray(task.joint.outcomes).astype(np.int64).tolist()
    probs = np.asarray(task.joint.probs).tolist()
    mass = defaultdict(float)
    for row, w in zip(outcomes, probs, strict=True):
        mass[row[0]] += w
    laws = defaultdict(dict)
    for row, w in zip(outcomes, probs, strict=True):
        laws[row[0]][tuple(row[1:])] = w / mass[row[0]]
    return dict(laws), dict(mass)


def check_basics(task):
    """Distinct rows, positive masses summing to 1, values inside the alphabets."""
    outcomes = np.asarray(task.joint.outcomes).astype(np.int64)
    probs = np.asarray(task.joint.probs)
    rows = [tuple(r) for r in outcomes.tolist()]
    assert len(set(rows)) == len(rows)
    assert (probs > 0).all()
    assert math.isclose(math.fsum(probs.tolist()), 1.0, abs_tol=1e-12)
    assert (outcomes >= 0).all() and (outcomes < np.array(task.joint.sizes)).all()
    assert task.joint.sizes[0] == len(task.prompts)
    assert task.given == (0,) and task.outputs == tuple(range(1, len(task.joint.sizes)))


def assert_law(actual, expected):
    assert set(actual) == set(expected)
    for y, p in expected.items():
        assert math.isclose(actual[y], float(p), rel_tol=1e-12), (y, actual[y], p)


def all_outputs(task):
    return list(itertools.product(*(range(k) for k in task.joint.sizes[1:])))


def grade_all(task, prompt_row, outputs):
    prompts = np.repeat(np.asarray(prompt_row)[None, :], len(outputs), axis=0)
    graded = task.grader(
        prompts, np.array(outputs, dtype=np.int64).reshape(len(outputs), -1)
    )
    assert graded.dtype == bool and graded.shape == (len(outputs),)
    return graded.tolist()


def tc_bits(task):
    return float(T.to_bits(T.total_correlation(task.joint, given=task.given)))


def tc_by_counting(law):
    """sum_i H(y_i) - H(Y) in bits of one {output: probability} law."""
    length = len(next(iter(law)))
    total = -math.fsum(float(p) * math.log2(float(p)) for p in law.values())
    marginals = 0.0
    for i in range(length):
        m = Counter()
        for y, p in law.items():
            m[y[i]] += float(p)
        marginals -= math.fsum(p * math.log2(p) for p in m.values() if p > 0)
    return marginals - total


def entropy_bits(ps):
    return -math.fsum(p * math.log2(p) for p in ps if p > 0)


# --------------------------------------------------------------------------------------
# Waiting Line.

LIST_CASES = [
    (name, n) for name in LIST_TASKS for n in (1, 2, 3, 4) if n >= MIN_N.get(name, 1)
]


@pytest.mark.parametrize(("name", "n"), LIST_CASES)
def test_list_task_law_and_grader_on_every_output(name, n):
    """p*(.|x) equals the plain law; the grader equals the plain rule everywhere."""
    num_prompts = n if n <= 3 else 2
    task = T.make_task(name, n, num_prompts=num_prompts)
    check_basics(task)
    assert task.name == name and task.n == n
    prompts = [tuple(r) for r in task.prompts.tolist()]
    assert prompts == expected_prompts(name, n, num_prompts)
    length, alphabet = (f(n) for f in SHAPES[name])
    assert task.joint.sizes == (len(prompts),) + (alphabet,) * length
    laws, mass = laws_of(task)
    np.testing.assert_allclose(list(mass.values()), 1 / len(prompts), rtol=1e-12)
    outputs = all_outputs(task)
    for index, prompt in enumerate(prompts):
        law = list_law(name, prompt, n)
        assert_law(laws[index], law)
        graded = grade_all(task, prompt, outputs)
        plain = [list_passes(name, prompt, y, n) for y in outputs]
        assert graded == plain
        accepted = {y for y, ok in zip(outputs, graded, strict=True) if ok}
        x, _ = split(name, prompt)
        expected = set(law) - {tuple(x)} if name == "shuffle" else set(law)
        assert accepted == expected


def insert_random_bits(n):
    """Derived: n log2(n+1) - 2/(n+1) sum_k k log2 k."""
    return n * math.log2(n + 1) - 2 / (n + 1) * sum(
        k * math.log2(k) for k in range(1, n + 1)
    )


def remove_random_bits(n):
    """Derived: (n-2) log2 n - 2/n sum_{k<n} k log2 k."""
    return (n - 2) * math.log2(n) - 2 / n * sum(k * math.log2(k) for k in range(1, n))


CLOSED = {
    "insert_random": insert_random_bits,
    "remove_random": remove_random_bits,
    "replace_random": lambda n: (n - 1) * (math.log2(n) - math.log2(n - 1)),
    "shuffle": lambda n: n * math.log2(n) - math.log2(math.factorial(n)),
}


@pytest.mark.parametrize(
    ("name", "n"),
    [("insert_random", n) for n in (1, 2, 3, 6)]
    + [("remove_random", n) for n in (2, 3, 4, 7)]
    + [("replace_random", 5), ("shuffle", 5)],
)
def test_random_list_tasks_closed_forms(name, n):
    """C(Y|X) by enumeration = the closed form = a plain count over the plain law."""
    task = T.make_task(name, n, num_prompts=min(n, 2))
    expected = CLOSED[name](n)
    counted = tc_by_counting(list_law(name, tuple(range(n)), n))
    assert abs(counted - expected) < ATOL_BITS
    assert abs(tc_bits(task) - expected) < ATOL_BITS
    assert abs(T.to_bits(task.closed_form) - expected) < ATOL_BITS
    assert task.closed_form_source == (
        "derived"
        if name in ("insert_random", "remove_random")
        else {
            "replace_random": "ParallelBench Eq. (3)",
            "shuffle": "ParallelBench Eq. (4)",
        }[name]
    )


def test_insert_remove_closed_form_values():
    """Hand values: insert n=1 is 1 bit (H(y1) = H(y2) = 1 = H(Y)); remove n=3."""
    assert insert_random_bits(1) == 1.0
    h = entropy_bits([2 / 3, 1 / 3])
    assert abs(remove_random_bits(3) - (2 * h - math.log2(3))) < 1e-12
    for n in range(1, 9):  # C_insert(n) = C_remove(n + 1) + log2(n + 1)
        assert (
            abs(insert_random_bits(n) - remove_random_bits(n + 1) - math.log2(n + 1))
            < 1e-12
        )


@pytest.mark.parametrize(
    "name", ["sort", "reverse", "insert_index", "remove_index", "replace_index"]
)
def test_deterministic_tasks_have_zero_total_correlation(name):
    task = T.make_task(name, 3, num_prompts=3)
    assert abs(tc_bits(task)) < ATOL_BITS
    assert task.closed_form == 0.0
    assert task.closed_form_source == "ParallelBench §4.1"


def test_waiting_line_names_in_paper_order():
    assert waiting_line_tasks() == (
        "copy",
        "sort",
        "reverse",
        "shuffle_distinct",
        "insert_index",
        "insert_random",
        "remove_index",
        "remove_random",
        "replace_index",
        "replace_random",
    )
    assert set(waiting_line_tasks()) <= set(T.TASKS)


def test_default_size_is_four():
    for name in LIST_TASKS:
        task = T.make_task(name)
        assert task.n == 4
        assert task.prompts.shape[0] == (4 + INDEXED[name] if name in INDEXED else 1)


def test_shuffle_grader_rejects_only_the_identity():
    """Under p* the grader scores 1 - 1/n! on shuffle and 1 on shuffle_distinct."""
    for name, score in [("shuffle", 1 - 1 / 24), ("shuffle_distinct", 1.0)]:
        task = T.make_task(name, 4)
        rows = np.asarray(task.joint.outcomes).astype(np.int64)
        ok = task.grade(rows[:, 0], rows[:, 1:])
        assert math.isclose(float(np.asarray(task.joint.probs)[ok].sum()), score)


def test_replace_random_grader_uses_the_first_w():
    """Two W's: the first decides (x with x[j] = W must equal the output)."""
    task = T.make_task("replace_random", 3)
    x = task.prompts[:1]
    w = 3
    out = np.array([[w, x[0, 1], w], [x[0, 0], w, w]])
    assert task.grader(np.repeat(x, 2, axis=0), out).tolist() == [False, False]
    assert list_passes("replace_random", tuple(x[0]), out[0], 3) is False


# --------------------------------------------------------------------------------------
# Puzzles.


@pytest.mark.parametrize(("n", "count"), [(3, 12), (4, 576)])
def test_latin_square_law_and_count(n, count):
    squares = latin_squares_plain(n)
    assert len(squares) == count
    task = T.make_task("latin_square", n)
    check_basics(task)
    assert task.prompts.tolist() == [list(range(n))]
    assert task.joint.sizes == (1,) + (n,) * (n * n)
    laws, _ = laws_of(task)
    assert_law(laws[0], {s: Fraction(1, count) for s in squares})
    expected = n * n * math.log2(n) - math.log2(count)
    assert abs(tc_by_counting(laws[0]) - expected) < ATOL_BITS
    assert abs(tc_bits(task) - expected) < ATOL_BITS
    assert abs(T.to_bits(task.closed_form) - expected) < ATOL_BITS


def test_latin_square_grader_on_every_output_n3():
    task = T.make_task("latin_square", 3)
    outputs = all_outputs(task)
    assert len(outputs) == 3**9
    graded = grade_all(task, (0, 1, 2), outputs)
    assert graded == [latin_passes((0, 1, 2), y) for y in outputs]
    accepted = {y for y, ok in zip(outputs, graded, strict=True) if ok}
    assert accepted == set(latin_squares_plain(3))


def test_latin_square_grader_n4():
    """Every output whose rows are permutations (24^4), plus random outputs."""
    task = T.make_task("latin_square", 4)
    perms = list(itertools.permutations(range(4)))
    rows = np.array(perms)[np.array(list(itertools.product(range(24), repeat=4)))]
    outputs = rows.reshape(len(rows), 16)
    graded = task.grader(np.zeros((len(outputs), 4), np.int64) + np.arange(4), outputs)
    accepted = {tuple(y) for y in outputs[graded].tolist()}
    assert accepted == set(latin_squares_plain(4))
    rng = np.random.default_rng(1)
    sample = rng.integers(0, 4, size=(3000, 16))
    sample[:1000] = outputs[rng.integers(0, len(outputs), 1000)]
    got = grade_all(task, (0, 1, 2, 3), [tuple(y) for y in sample.tolist()])
    assert got == [latin_passes((0, 1, 2, 3), tuple(y)) for y in sample.tolist()]


@pytest.mark.parametrize(("n", "num_prompts"), [(1, 3), (4, 3), (6, 2)])
def test_sudoku_unique_solution_law_and_grader(n, num_prompts):
    task = T.make_task("sudoku", n, num_prompts=num_prompts)
    check_basics(task)
    assert task.prompts.shape == (num_prompts, 16)
    assert task.joint.sizes == (num_prompts,) + (4,) * n
    assert len({tuple(r) for r in task.prompts.tolist()}) == num_prompts
    laws, mass = laws_of(task)
    np.testing.assert_allclose(list(mass.values()), 1 / num_prompts, rtol=1e-12)
    outputs = all_outputs(task)
    for index, prompt in enumerate(task.prompts.tolist()):
        assert sum(v == 4 for v in prompt) == n  # exactly n blanks
        assert all(0 <= v <= 4 for v in prompt)
        (solution,) = sudoku_fillings(prompt)  # exactly one solution
        assert_law(laws[index], {solution: Fraction(1)})
        graded = grade_all(task, prompt, outputs)
        assert graded == [y == solution for y in outputs]
    assert abs(tc_bits(task)) < ATOL_BITS
    assert task.closed_form == 0.0
    assert task.closed_form_source == "ParallelBench §4.2"


def test_sudoku_blank_range_by_enumeration():
    """Unique puzzles need >= 4 givens (n <= 12): 25,728 with 12 blanks, 0 with 13.

    Counted from plain grids: a puzzle is unique iff no other grid shares its givens.
    """
    grids = sudoku_grids_plain()
    assert len(grids) == 288

    def unique_count(num_blanks):
        total = 0
        for givens in itertools.combinations(range(16), 16 - num_blanks):
            keys = Counter(tuple(g[c] for c in givens) for g in grids)
            total += sum(1 for c in keys.values() if c == 1)
        return total

    assert unique_count(13) == 0
    assert unique_count(12) == 25_728
    assert len(_puzzles.unique_sudoku_puzzles(12)) == 25_728
    assert len(_puzzles.unique_sudoku_puzzles(13)) == 0
    task = T.make_task("sudoku", 12)
    prompt = task.prompts[0].tolist()
    fits = [
        g for g in grids if all(p in (4, v) for p, v in zip(prompt, g, strict=True))
    ]
    assert len(fits) == 1 and sum(v == 4 for v in prompt) == 12
    with pytest.raises(ValueError, match=r"`num_prompts`.*\[1, 25728\]; got 25729"):
        T.make_task("sudoku", 12, num_prompts=25_729)
    for bad in (0, 13, 16):
        with pytest.raises(ValueError, match=r"`n` must be an integer in \[1, 12\]"):
            T.make_task("sudoku", bad)


def test_sudoku_prompts_are_deterministic_prefixes():
    one = T.make_task("sudoku", 4).prompts
    three = T.make_task("sudoku", 4, num_prompts=3).prompts
    np.testing.assert_array_equal(three[:1], one)
    np.testing.assert_array_equal(
        T.make_task("sudoku", 4, num_prompts=3).prompts, three
    )


def test_sudoku_grader_refuses_foreign_puzzles():
    task = T.make_task("sudoku", 2)
    empty = np.full((1, 16), 4)
    with pytest.raises(ValueError, match="blanks"):
        task.grader(empty, np.zeros((1, 2), np.int64))


# --------------------------------------------------------------------------------------
# Toys.


def test_cities():
    task = T.make_task("cities")
    check_basics(task)
    assert task.n == 2 and task.prompts.shape == (1, 0)
    assert task.joint.sizes == (1, 3, 3)
    laws, _ = laws_of(task)
    assert_law(laws[0], CITIES)
    outputs = all_outputs(task)
    graded = grade_all(task, (), outputs)
    assert {y for y, ok in zip(outputs, graded, strict=True) if ok} == set(CITIES)
    assert abs(tc_bits(task) - 1.0) < ATOL_BITS
    assert T.to_bits(task.closed_form) == 1.0  # the poster: 1 bit
    shown = sorted(task.show(y) for y in CITIES)
    assert shown == ["Mexico City", "New Orleans", "New York", "Panama City"]
    assert task.show((0, 2)) == "New City"
    assert T.make_task("cities", 2).joint.support_size == 4


def test_copula_greedy_decoding_is_invalid():
    task = T.make_task("copula")
    check_basics(task)
    laws, _ = laws_of(task)
    assert_law(laws[0], COPULA)
    first, second = Counter(), Counter()
    for (a, b), p in COPULA.items():
        first[a] += p
        second[b] += p
    greedy = (max(first, key=first.get), max(second, key=second.get))
    assert task.show(greedy) == "puppy scared"
    assert math.isclose(first[1], 0.55) and math.isclose(second[1], 0.45)
    assert greedy not in COPULA  # p*(puppy, scared) = 0
    outputs = all_outputs(task)
    graded = grade_all(task, (), outputs)
    assert {y for y, ok in zip(outputs, graded, strict=True) if ok} == set(COPULA)
    expected = (
        entropy_bits(first.values())
        + entropy_bits(second.values())
        - entropy_bits(COPULA.values())
    )
    assert abs(tc_bits(task) - expected) < ATOL_BITS
    assert abs(T.to_bits(task.closed_form) - expected) < ATOL_BITS


@pytest.mark.parametrize("name", ["cities", "copula"])
def test_toys_fixed_size(name):
    with pytest.raises(ValueError, match="`n`"):
        T.make_task(name, 3)
    with pytest.raises(ValueError, match="`num_prompts`"):
        T.make_task(name, num_prompts=2)


# --------------------------------------------------------------------------------------
# Generic families.


@pytest.mark.parametrize(("n", "vocab"), [(1, 4), (3, 3), (2, 5), (4, 2)])
def test_random_joint(n, vocab):
    task = T.make_task("random_joint", n, vocab=vocab, num_prompts=2, seed=3)
    check_basics(task)
    assert task.joint.sizes == (2,) + (vocab,) * n
    cells = vocab**n
    laws, mass = laws_of(task)
    np.testing.assert_allclose(list(mass.values()), 0.5, rtol=1e-12)
    for law in laws.values():
        assert len(law) == cells - min(math.floor(0.3 * cells), cells - 1)
    assert laws[0] != laws[1]
    outputs = all_outputs(task)
    for index in (0, 1):
        graded = grade_all(task, (index,), outputs)
        assert [y in laws[index] for y in outputs] == graded
    again = T.make_task("random_joint", n, vocab=vocab, num_prompts=2, seed=3)
    np.testing.assert_array_equal(again.joint.probs, task.joint.probs)
    other = T.make_task("random_joint", n, vocab=vocab, num_prompts=2, seed=4)
    assert not np.array_equal(np.asarray(other.joint.probs), task.joint.probs)
    full = T.make_task("random_joint", n, vocab=vocab, zeros=0.0)
    assert full.joint.support_size == cells
    assert task.closed_form is None


@pytest.mark.parametrize(("n", "vocab", "seed"), [(4, 3, 0), (3, 4, 7), (2, 2, 1)])
def test_markov_chain(n, vocab, seed):
    """p*(y) = p(y_1) prod_t p(y_t+1 | y_t) from the joint's own pair marginals."""
    task = T.make_task("markov_chain", n, vocab=vocab, seed=seed, num_prompts=2)
    check_basics(task)
    laws, _ = laws_of(task)
    for law in laws.values():
        pairs = [Counter() for _ in range(n - 1)]
        singles = [Counter() for _ in range(n)]
        for y, p in law.items():
            for t in range(n):
                singles[t][y[t]] += p
            for t in range(n - 1):
                pairs[t][y[t], y[t + 1]] += p
        for y in itertools.product(range(vocab), repeat=n):
            chain = singles[0][y[0]]
            for t in range(n - 1):
                if chain == 0:
                    break
                chain *= pairs[t][y[t], y[t + 1]] / singles[t][y[t]]
            assert math.isclose(law.get(y, 0.0), chain, rel_tol=1e-9, abs_tol=1e-15)
        assert len(law) < vocab**n  # some transitions are zero
    tc = tc_bits(task)
    counted = sum(tc_by_counting(law) for law in laws.values()) / len(laws)
    assert abs(tc - counted) < ATOL_BITS
    assert abs(T.to_bits(task.closed_form) - tc) < ATOL_BITS
    outputs = all_outputs(task)
    graded = grade_all(task, (1,), outputs)
    assert graded == [y in laws[1] for y in outputs]


# --------------------------------------------------------------------------------------
# Every task.


@pytest.mark.parametrize("name", list(T.TASKS))
def test_every_task_default(name):
    """Default size builds; the description line exists; the support passes."""
    task = T.make_task(name)
    check_basics(task)
    assert task.name == name
    assert (T.TASKS[name].__doc__ or "").strip().splitlines()[0]
    rows = np.asarray(task.joint.outcomes).astype(np.int64)
    ok = task.grade(rows[:, 0], rows[:, 1:])
    if name == "shuffle":
        assert (~ok).sum() == 1  # the identity
    else:
        assert ok.all()
    if task.labels is not None:
        assert len(task.labels) == len(task.outputs)
        assert tuple(len(names) for names in task.labels) == task.joint.sizes[1:]


def test_support_grader_refuses_unknown_prompts():
    task = T.make_task("random_joint", 2, num_prompts=2)
    with pytest.raises(
        ValueError, match=r"`prompts` row 0 must be one of the task's 2"
    ):
        task.grader(np.array([[5]]), np.array([[0, 0]]))


def test_grader_shapes_are_checked():
    task = T.make_task("insert_random", 3)
    with pytest.raises(ValueError, match=r"`outputs` must have shape \(1, 4\)"):
        task.grader(task.prompts, np.zeros((1, 3), np.int64))
    with pytest.raises(ValueError, match=r"`prompts` must have shape \(N, 3\)"):
        task.grader(np.zeros((1, 4), np.int64), np.zeros((1, 4), np.int64))


def test_default_grade_without_grader_is_the_support():
    task = T.make_task("copula")
    bare = T.Task("bare", 2, task.prompts, task.joint)
    outputs = np.array(all_outputs(task))
    np.testing.assert_array_equal(
        bare.grade(np.zeros(len(outputs), np.int64), outputs),
        task.grade(np.zeros(len(outputs), np.int64), outputs),
    )
    assert bare.show((1, 2)) == "1 2"


def test_build_joint_variable_supports_and_prompt_law():
    def outputs(prompt):
        r = int(prompt[0]) + 1
        return np.arange(r)[:, None], np.full(r, 1 / r)

    joint = _base.build_joint(
        np.arange(3)[:, None], outputs, (3,), num_rows=6, prompt_probs=[0.5, 0.25, 0.25]
    )
    assert joint.sizes == (3, 3)
    got = {
        tuple(r): p
        for r, p in zip(
            np.asarray(joint.outcomes).tolist(),
            np.asarray(joint.probs).tolist(),
            strict=True,
        )
    }
    assert got == pytest.approx(
        {
            (0, 0): 0.5,
            (1, 0): 0.125,
            (1, 1): 0.125,
            (2, 0): 0.25 / 3,
            (2, 1): 0.25 / 3,
            (2, 2): 0.25 / 3,
        }
    )
    with pytest.raises(ValueError, match="num_rows"):
        _base.build_joint(np.arange(3)[:, None], outputs, (3,), num_rows=5)


# --------------------------------------------------------------------------------------
# Bad input.


@pytest.mark.parametrize("name", list(T.TASKS))
def test_unknown_option_is_named(name):
    with pytest.raises(ValueError, match=r"Unknown option `colour`.*" + name):
        T.make_task(name, colour="red")


@pytest.mark.parametrize(
    ("name", "n", "options", "error", "match"),
    [
        ("sort", 0, {}, ValueError, "`n`"),
        ("reverse", 2.5, {}, TypeError, "`n`"),
        ("insert_random", 0, {}, ValueError, "`n`"),
        ("remove_random", 1, {}, ValueError, "`n`"),
        ("remove_index", 1, {}, ValueError, "`n`"),
        ("latin_square", 5, {}, ValueError, r"`n` must be one of \[3, 4\]"),
        ("latin_square", 2, {}, ValueError, "`n`"),
        ("sudoku", 3.0, {}, TypeError, "`n`"),
        ("random_joint", 0, {}, ValueError, "`n`"),
        ("sort", 3, {"num_prompts": 4}, ValueError, "`num_prompts`"),
        ("insert_index", 3, {"num_prompts": 4}, ValueError, "`num_prompts`"),
        ("insert_random", 3, {"num_prompts": 0}, ValueError, "`num_prompts`"),
        ("latin_square", 3, {"num_prompts": 2}, ValueError, "`num_prompts`"),
        ("sudoku", 4, {"num_prompts": 0}, ValueError, "`num_prompts`"),
        ("random_joint", 2, {"vocab": 0}, ValueError, "`vocab`"),
        ("random_joint", 2, {"zeros": 1.0}, ValueError, "`zeros`"),
        ("random_joint", 2, {"zeros": "many"}, TypeError, "`zeros`"),
        ("markov_chain", 2, {"seed": -1}, ValueError, "`seed`"),
        ("markov_chain", 2, {"zeros": -0.1}, ValueError, "`zeros`"),
    ],
)
def test_bad_sizes_and_options(name, n, options, error, match):
    with pytest.raises(error, match=match):
        T.make_task(name, n, **options)


def forbid(*args, **kwargs):
    raise AssertionError("allocated before the memory check")


def test_memory_checked_before_enumerating_latin_squares(monkeypatch):
    monkeypatch.setattr(_puzzles, "latin_squares", forbid)
    with pytest.raises(ValueError, match="576 Latin squares.*memory budget"):
        T.make_task("latin_square", 4, max_bytes=1000)


def test_memory_checked_before_enumerating_sudoku(monkeypatch):
    monkeypatch.setattr(_puzzles, "sudoku_grids", forbid)
    with pytest.raises(ValueError, match="Sudoku puzzles.*memory budget"):
        T.make_task("sudoku", 4, max_bytes=1000)


def test_memory_checked_before_drawing_generic_tables(monkeypatch):
    monkeypatch.setattr(_generic, "build_joint", forbid)
    monkeypatch.setattr(np.random, "default_rng", forbid)
    with pytest.raises(ValueError, match="dense table.*memory budget"):
        T.make_task("random_joint", 40)
    with pytest.raises(ValueError, match="bytes"):
        T.make_task("markov_chain", 8, vocab=4, max_bytes=10_000)


def test_memory_checked_before_building_list_tasks(monkeypatch):
    """At n = 10^5: 10^5 + 1 outputs of 10^5 + 1 tokens (40 GB), refused early."""
    monkeypatch.setattr(_lists, "_insert", forbid)
    with pytest.raises(ValueError, match="100,001 outcome.*memory budget"):
        T.make_task("insert_random", 100_000)
    with pytest.raises(ValueError, match="prompts of .* memory budget"):
        T.make_task("copy", 100_000, num_prompts=100_000)
    with pytest.raises(ValueError, match="memory budget"):
        T.make_task("insert_index", 50, max_bytes=1000)


def test_build_joint_checks_before_calling_outputs():
    with pytest.raises(ValueError, match="10,000,000,000 outcome"):
        _base.build_joint(np.zeros((1, 0)), forbid, (2,), num_rows=10**10)
