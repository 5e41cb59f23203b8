"""Enumerable list tasks: supports, data laws and C(Y|X) against closed forms.

Closed forms are typed here from the reference (ParallelBench §4.1, Eqs. 3-4), in bits,
not read from `Task.closed_form` (nats, compared in bits); shuffle_distinct is checked
against a direct count over `itertools.permutations`.
"""

import itertools
import math
from collections import Counter

import jax.numpy as jnp
import numpy as np
import pytest

import trilemma as T
import trilemma.tasks as tasks_module

NS = range(2, 9)
ATOL_BITS = 1e-11


def closed_form_bits(name, n):
    if name == "copy":
        return 0.0
    if name == "replace_random":
        return (n - 1) * (math.log2(n) - math.log2(n - 1))
    if name == "shuffle":
        return n * math.log2(n) - math.log2(math.factorial(n))
    if name == "shuffle_distinct":
        return shuffle_distinct_by_counting(n)
    raise KeyError(name)


def shuffle_distinct_by_counting(n):
    """C(Y|X) in bits for Y uniform on the n! - 1 non-identity permutations of X.

    H(Y|X) = log2(n! - 1); each H(y_i|X) is counted from itertools.permutations.
    """
    perms = [s for s in itertools.permutations(range(n)) if s != tuple(range(n))]
    total = len(perms)
    marginal_entropy = 0.0
    for i in range(n):
        counts = Counter(s[i] for s in perms)
        marginal_entropy -= math.fsum(
            c / total * math.log2(c / total) for c in counts.values()
        )
    return marginal_entropy - math.log2(total)


def tc_bits(task):
    return float(T.to_bits(T.total_correlation(task.joint, given=task.given)))


def rows_by_prompt(task):
    """{prompt list (tuple): list of (output tuple, conditional probability)}.

    The joint's first variable is the prompt's row index in `task.prompts`.
    """
    outcomes = np.asarray(task.joint.outcomes).astype(np.int64)
    probs = np.asarray(task.joint.probs)
    prompts = np.asarray(task.prompts).astype(np.int64)
    prompt_mass = Counter()
    for row, w in zip(outcomes, probs, strict=True):
        prompt_mass[tuple(prompts[row[0]].tolist())] += w
    out = {}
    for row, w in zip(outcomes, probs, strict=True):
        x = tuple(prompts[row[0]].tolist())
        out.setdefault(x, []).append((tuple(row[1:].tolist()), w / prompt_mass[x]))
    return out, prompt_mass


CLOSED_FORM_CASES = [
    (name, n)
    for name in ("copy", "replace_random", "shuffle", "shuffle_distinct")
    for n in NS
    if name != "copy" or n in (2, 5, 8)  # C = 0 needs few sizes
]


@pytest.mark.parametrize(("name", "n"), CLOSED_FORM_CASES)
def test_total_correlation_equals_closed_form(name, n):
    task = T.make_task(name, n)
    expected = closed_form_bits(name, n)
    np.testing.assert_allclose(tc_bits(task), expected, rtol=0, atol=ATOL_BITS)
    closed = T.to_bits(task.closed_form)
    np.testing.assert_allclose(closed, expected, rtol=0, atol=ATOL_BITS)


@pytest.mark.parametrize(
    "name", ["copy", "replace_random", "shuffle", "shuffle_distinct"]
)
@pytest.mark.parametrize("n", [3, 6])
def test_total_correlation_with_several_prompts(name, n):
    num_prompts = 3
    task = T.make_task(name, n, num_prompts=num_prompts)
    _, prompt_mass = rows_by_prompt(task)
    assert len(prompt_mass) == num_prompts
    np.testing.assert_allclose(list(prompt_mass.values()), 1 / num_prompts, rtol=1e-12)
    np.testing.assert_allclose(tc_bits(task), closed_form_bits(name, n), atol=ATOL_BITS)


@pytest.mark.parametrize(
    ("n", "replace", "shuffle"),
    [
        (3, 1.1699, 2.1699),
        (4, 1.2451, 3.4150),
        (5, 1.2877, 4.7027),
        (6, 1.3152, 6.0179),
    ],
)
def test_reference_table_values(n, replace, shuffle):
    """The rounded table of reference 2.3."""
    assert abs(tc_bits(T.make_task("replace_random", n)) - replace) < 5e-5
    assert abs(tc_bits(T.make_task("shuffle", n)) - shuffle) < 5e-5


def test_shuffle_distinct_closed_form_uses_reference_marginals():
    """Reference 2.7: P(y_i = x_i) = ((n-1)!-1)/(n!-1), P(y_i = x_j) = (n-1)!/(n!-1)."""
    for n in (3, 4, 5):
        task = T.make_task("shuffle_distinct", n)
        rows, _ = rows_by_prompt(task)
        ((x, outputs),) = rows.items()
        big, small = math.factorial(n), math.factorial(n - 1)
        for i in range(n):
            same = math.fsum(w for y, w in outputs if y[i] == x[i])
            np.testing.assert_allclose(same, (small - 1) / (big - 1), rtol=1e-12)
            for j in range(n):
                if j != i:
                    other = math.fsum(w for y, w in outputs if y[i] == x[j])
                    np.testing.assert_allclose(other, small / (big - 1), rtol=1e-12)


@pytest.mark.parametrize("n", [1, 2, 3, 4, 5, 6])
@pytest.mark.parametrize("num_prompts", [1, 2])
def test_supports_and_data_laws(n, num_prompts):
    if num_prompts > n:
        pytest.skip("num_prompts is at most n")
    f = math.factorial(n)
    builders = {
        "copy": 1,
        "replace_random": n,
        "shuffle": f,
        "shuffle_distinct": f - 1,
    }
    for name, per_prompt in builders.items():
        if name == "shuffle_distinct" and n == 1:
            continue
        task = T.make_task(name, n, num_prompts=num_prompts)
        assert task.name == name and task.n == n
        assert task.joint.support_size == per_prompt * num_prompts
        assert task.given == (0,)
        assert task.outputs == tuple(range(1, n + 1))
        assert task.joint.num_variables == n + 1
        assert task.prompts.shape == (num_prompts, n)
        rows, _ = rows_by_prompt(task)
        assert len(rows) == num_prompts
        all_rows = [tuple(r) for r in np.asarray(task.joint.outcomes).tolist()]
        assert len(set(all_rows)) == len(all_rows)  # distinct_rows is honest
        for x, outputs in rows.items():
            assert sorted(x) == list(range(n))  # a prompt is a list of n distinct items
            ys = [y for y, _ in outputs]
            np.testing.assert_allclose(
                [w for _, w in outputs], 1 / per_prompt, rtol=1e-12
            )
            if name == "copy":
                assert ys == [x]
            elif name == "replace_random":
                expected = {x[:i] + (n,) + x[i + 1 :] for i in range(n)}
                assert set(ys) == expected
            elif name == "shuffle":
                assert set(ys) == set(itertools.permutations(x))
            else:
                assert set(ys) == set(itertools.permutations(x)) - {x}
                assert all(sorted(y) == sorted(x) and y != x for y in ys)
        np.testing.assert_allclose(float(jnp.sum(task.joint.probs)), 1.0, rtol=1e-12)
        if name == "replace_random":
            assert task.joint.sizes == (num_prompts,) + (n + 1,) * n
        else:
            assert task.joint.sizes == (num_prompts,) + (n,) * n


@pytest.mark.parametrize("n", range(0, 7))
def test_permutations_follow_itertools_order(n):
    perms = tasks_module.permutations(n)
    expected = list(itertools.permutations(range(n)))
    assert perms.shape == (len(expected), n)
    assert [tuple(r) for r in perms.tolist()] == expected


def test_registry():
    assert {"copy", "replace_random", "shuffle", "shuffle_distinct"} <= set(T.TASKS)
    assert set(tasks_module.waiting_line_tasks()) <= set(T.TASKS)
    with pytest.raises(TypeError):
        T.TASKS["new"] = None  # read-only
    for name in ("copy", "replace_random", "shuffle", "shuffle_distinct"):
        assert isinstance(T.make_task(name, 3), T.Task)
    for name in T.TASKS:
        assert isinstance(T.make_task(name), T.Task)  # each task's default size


def test_unknown_task_lists_available():
    with pytest.raises(ValueError, match=r"Unknown task 'sorting'.*shuffle_distinct"):
        T.make_task("sorting", 3)


@pytest.mark.parametrize("name", ["shuffle", "shuffle_distinct"])
def test_memory_budget_is_checked_before_enumerating(name, monkeypatch):
    """N = 13 has 13! = 6.2e9 permutations: refused before anything is allocated."""

    def forbidden(n):
        raise AssertionError("permutations() was called before the memory check")

    monkeypatch.setattr("trilemma.tasks._lists.permutations", forbidden)
    with pytest.raises(ValueError, match="bytes") as info:
        T.make_task(name, 13)
    message = str(info.value)
    assert "memory budget" in message and "max_bytes" in message
    assert "6,227,020,800" in message  # 13! rows


def test_memory_budget_override():
    with pytest.raises(ValueError, match="bytes"):
        T.make_task("shuffle", 5, max_bytes=1000)
    with pytest.raises(ValueError, match="bytes"):
        T.make_task("replace_random", 5, max_bytes=10)
    assert T.make_task("shuffle", 5, max_bytes=10**6).joint.support_size == 120


@pytest.mark.parametrize(
    ("name", "n", "options", "error", "match"),
    [
        ("copy", 0, {}, ValueError, "`n`"),
        ("shuffle", -1, {}, ValueError, "`n`"),
        ("shuffle", 3.0, {}, TypeError, "`n`"),
        ("shuffle_distinct", 1, {}, ValueError, "`n`"),
        ("copy", 3, {"num_prompts": 4}, ValueError, "`num_prompts`"),
        ("replace_random", 3, {"num_prompts": 0}, ValueError, "`num_prompts`"),
    ],
)
def test_bad_sizes(name, n, options, error, match):
    with pytest.raises(error, match=match):
        T.make_task(name, n, **options)
