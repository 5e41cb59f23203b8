"""Pooled prompts, the multi-task layout and the mixture sampler of the default set."""

import itertools
import math
import os
import subprocess
import sys
from collections import Counter

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import trilemma as T
from trilemma.models.data import (
    DEFAULT_GROUPS,
    TaskSet,
    default_task_set,
    task_set_sampler,
)
from trilemma.tasks import (
    POOL_NAMES,
    POOLED_TASKS,
    held_out,
    pooled_task,
    random_prompts,
)
from trilemma.tasks._pooled import num_items, prompt_width

K = 32
CASES = [(name, n) for name in POOLED_TASKS if name != "latin_square" for n in (3, 4)]
CASES.append(("latin_square", 3))


def reference_law(name, prompt, n, pool_size=K):
    """p*(y|x) of a pooled prompt row by plain loops: {output tuple: probability}."""
    m = n + (
        name in ("insert_index", "insert_random", "replace_index", "replace_random")
    )
    a = tuple(int(v) for v in prompt[:n])
    w = int(prompt[n]) if m > n else None
    i = int(prompt[m]) - pool_size if len(prompt) > m else None
    if name == "copy":
        out = [a]
    elif name == "sort":
        out = [tuple(sorted(a))]
    elif name == "reverse":
        out = [a[::-1]]
    elif name == "shuffle":
        out = list(itertools.permutations(a))
    elif name == "shuffle_distinct":
        out = [p for p in itertools.permutations(a) if p != a]
    elif name == "insert_index":
        out = [a[:i] + (w,) + a[i:]]
    elif name == "insert_random":
        out = [a[:j] + (w,) + a[j:] for j in range(n + 1)]
    elif name == "remove_index":
        out = [a[:i] + a[i + 1 :]]
    elif name == "remove_random":
        out = [a[:j] + a[j + 1 :] for j in range(n)]
    elif name == "replace_index":
        out = [a[:i] + (w,) + a[i + 1 :]]
    elif name == "replace_random":
        out = [a[:j] + (w,) + a[j + 1 :] for j in range(n)]
    else:  # latin_square: rows are permutations, columns too
        rows = list(itertools.permutations(a))
        out = [
            sum(grid, ())
            for grid in itertools.product(rows, repeat=n)
            if all(len({grid[r][c] for r in range(n)}) == n for c in range(n))
        ]
    law = Counter()
    for y in out:
        law[y] += 1 / len(out)
    return dict(law)


def conditional_laws(task):
    """{prompt index: {output tuple: p*(y|x)}} from the task's joint."""
    outcomes = np.asarray(task.joint.outcomes)
    probs = np.asarray(task.joint.probs)
    laws = {}
    for row, p in zip(outcomes, probs, strict=True):
        laws.setdefault(int(row[0]), {})[tuple(int(v) for v in row[1:])] = float(p)
    return {
        i: {y: p / math.fsum(law.values()) for y, p in law.items()}
        for i, law in laws.items()
    }


@pytest.mark.parametrize(("name", "n"), CASES)
def test_pooled_law_is_the_canonical_law_relabelled(name, n):
    """p*(y|x) equals the plain-loop law; C(Y|X) and support sizes are canonical."""
    prompts = random_prompts(name, n, 4, seed=1)
    task = pooled_task(name, n, prompts)
    laws = conditional_laws(task)
    for i, prompt in enumerate(prompts):
        ref = reference_law(name, prompt, n)
        assert laws[i].keys() == ref.keys()
        for y, p in ref.items():
            assert abs(laws[i][y] - p) < 1e-12
    canonical = T.make_task(name, n)
    c_pool = T.total_correlation(task.joint, given=task.given)
    c_canon = T.total_correlation(canonical.joint, given=canonical.given)
    assert abs(float(c_pool) - float(c_canon)) < 1e-10
    assert task.closed_form == canonical.closed_form
    sizes = {len(law) for law in conditional_laws(canonical).values()}
    assert {len(law) for law in laws.values()} == sizes


@pytest.mark.parametrize(("name", "n"), CASES)
def test_grader_agrees_with_the_canonical_grader(name, n):
    """On every candidate over the items and one foreign token, both graders agree.

    The pooled grader at (x, s(c)) equals the canonical grader at (canonical prompt,
    c), and it accepts exactly the support of p*(.|x) (shuffle: minus the input).
    """
    prompts = random_prompts(name, n, 2, seed=2)
    task = pooled_task(name, n, prompts)
    canonical = T.make_task(name, n)
    m = num_items(name, n)
    length = task.joint.num_variables - 1
    letters = m + 1  # the prompt's items and one foreign token
    if letters**length > 20_000:  # Latin square: all grids over the items, then noise
        grids = list(itertools.product(range(m), repeat=length))
        rng = np.random.default_rng(0)
        grids += [tuple(g) for g in rng.integers(0, letters, (2000, length))]
        candidates = np.asarray(grids)
    else:
        candidates = np.asarray(list(itertools.product(range(letters), repeat=length)))
    for prompt in prompts:
        source = np.sort(prompt[:m]) if name == "sort" else prompt[:m]
        foreign = next(v for v in range(K) if v not in prompt[:m])
        pooled = np.where(
            candidates < m, source[np.minimum(candidates, m - 1)], foreign
        )
        rows = np.repeat(prompt[None, :], len(candidates), axis=0)
        verdict = task.grader(rows, pooled)
        canon_index = int(prompt[m]) - K if prompt_width(name, n) > m else 0
        canon_prompt = canonical.prompts[canon_index]
        if name == "sort":  # the canonical sort at the prompt's ranks
            canon_prompt = np.argsort(np.argsort(prompt[:n]))
        canon_rows = np.repeat(canon_prompt[None, :], len(candidates), axis=0)
        np.testing.assert_array_equal(verdict, canonical.grader(canon_rows, candidates))
        support = set(reference_law(name, prompt, n))
        if name == "shuffle":
            support.discard(tuple(int(v) for v in prompt))
        accepted = {tuple(int(v) for v in y) for y in pooled[verdict]}
        assert accepted == support


def test_sort_follows_the_pool_order():
    """Sort's output is the prompt's items by token id, i.e. alphabetically by name."""
    assert list(POOL_NAMES) == sorted(POOL_NAMES) and len(set(POOL_NAMES)) == K
    prompts = random_prompts("sort", 5, 20, seed=3)
    task = pooled_task("sort", 5, prompts)
    outcomes = np.asarray(task.joint.outcomes)
    for row in outcomes:
        names = [POOL_NAMES[v] for v in prompts[row[0]]]
        assert task.show(row[1:]) == " ".join(sorted(names))


def _fmix32(h):
    h ^= h >> 16
    h = (h * 0x85EBCA6B) & 0xFFFFFFFF
    h ^= h >> 13
    h = (h * 0xC2B2AE35) & 0xFFFFFFFF
    return h ^ (h >> 16)


def reference_held_out(items):
    """The held-out rule by plain integers."""
    mask = sum(1 << int(a) for a in set(items))
    return _fmix32(mask ^ 0x5BD1E995) % 8 == 0


def test_held_out_rule_is_a_function_of_the_item_set():
    rng = np.random.default_rng(4)
    items = np.argsort(rng.random((4000, K)), axis=1)[:, :5]
    flags = held_out(items)
    assert flags.tolist() == [reference_held_out(row) for row in items]
    np.testing.assert_array_equal(np.asarray(held_out(jnp.asarray(items), jnp)), flags)
    np.testing.assert_array_equal(held_out(items[:, ::-1]), flags)  # order-free
    assert abs(flags.mean() - 1 / 8) < 5 * math.sqrt(1 / 8 * 7 / 8 / 4000)


@pytest.mark.parametrize("name", ["copy", "insert_index", "latin_square"])
def test_random_prompts_split_by_the_rule(name):
    n = 3
    m = num_items(name, n)
    held_in, held_off = T.tasks.evaluation_tasks(name, n, num_prompts=24, seed=5)
    for task, flag in ((held_in, False), (held_off, True)):
        assert task.prompts.shape == (24, prompt_width(name, n))
        assert len({tuple(r) for r in task.prompts.tolist()}) == 24
        assert all(reference_held_out(r[:m]) == flag for r in task.prompts)
    np.testing.assert_array_equal(
        random_prompts(name, n, 24, seed=5), held_in.prompts
    )  # seeded


def parse(task_set, sequence):
    """(name, n, prompt row, output) of one drawn sequence, by plain loops."""
    seq = [int(v) for v in sequence]
    start = next(j for j, v in enumerate(seq) if v != task_set.pad_id)
    assert all(v == task_set.pad_id for v in seq[:start])
    name = task_set.task_names[seq[start] - task_set.task_token(task_set.task_names[0])]
    sep = seq.index(task_set.sep_id)
    prompt = seq[start + 1 : sep]
    output = tuple(seq[sep + 1 :])
    (n,) = [
        k
        for t, k in task_set.groups
        if t == name
        and prompt_width(t, k) == len(prompt)
        and task_set.output_length(t, k) == len(output)
    ]
    return name, n, tuple(prompt), output


def test_default_set_draws_valid_held_in_sequences():
    """Every drawn sequence is a held-in prompt with an output in supp p*(.|x)."""
    task_set = default_task_set()
    draw = jax.jit(task_set_sampler(task_set), static_argnums=1)
    seqs = np.asarray(draw(jax.random.key(0), 2000))
    assert seqs.shape == (2000, task_set.sequence_length) and seqs.dtype == np.int32
    groups = Counter()
    for sequence in seqs:
        name, n, prompt, output = parse(task_set, sequence)
        groups[name, n] += 1
        m = num_items(name, n)
        assert len(set(prompt[:m])) == m and max(prompt[:m]) < K
        assert not reference_held_out(prompt[:m])
        assert output in reference_law(name, np.asarray(prompt), n)
    assert set(groups) == set(DEFAULT_GROUPS)
    many = np.asarray(draw(jax.random.key(1), 10_000))
    drawn = set()
    for sequence in many:
        sep = list(sequence).index(task_set.sep_id)
        items = [int(v) for v in sequence[:sep] if v < K]
        assert not reference_held_out(items)
        drawn.add(frozenset(items))
    small = TaskSet((("copy", 3), ("remove_random", 3)))
    evaluation = small.evaluation_tasks(num_prompts=40)
    held_in, held_off = evaluation["copy", 3]
    assert not drawn & {frozenset(r) for r in held_off.prompts.tolist()}
    assert drawn & {frozenset(r) for r in held_in.prompts.tolist()}  # C(32,3) sets


def test_small_set_follows_the_exact_law():
    """Sequence frequencies match p(g) p(x) p*(y|x) within 5 SE (pool of 6)."""
    pool = 6
    groups = (("replace_random", 2), ("sort", 3), ("insert_index", 2))
    task_set = TaskSet(groups, pool_size=pool)
    law = {}
    for name, n in groups:
        m = num_items(name, n)
        tuples = [
            t
            for t in itertools.permutations(range(pool), m)
            if not reference_held_out(t)
        ]
        indices = range(n + 1) if name == "insert_index" else [None]
        for t in tuples:
            for i in indices:
                prompt = t if i is None else (*t, pool + i)
                prefix = task_set.prefixes(name, n, np.asarray([prompt]))[0]
                p_x = 1 / len(groups) / len(tuples) / len(indices)
                for y, p in reference_law(name, prompt, n, pool).items():
                    law[(*prefix.tolist(), *y)] = p_x * p
    assert abs(math.fsum(law.values()) - 1) < 1e-12
    held = [t for t in itertools.combinations(range(pool), 3) if reference_held_out(t)]
    assert held  # the rule removes some item sets here
    draw = jax.jit(task_set_sampler(task_set), static_argnums=1)
    num = 60_000
    counts = Counter(map(tuple, np.asarray(draw(jax.random.key(2), num)).tolist()))
    assert set(counts) <= set(law)
    for seq, p in law.items():
        freq = counts[seq] / num
        assert abs(freq - p) <= 5 * math.sqrt(p * (1 - p) / num), seq


def _uniform_logits(params, tokens):
    return jnp.zeros(tokens.shape + (params.shape[0],), params.dtype)


def test_layout_of_each_group_shares_one_length_and_decodes():
    task_set = default_task_set()
    assert task_set.vocab_size == 54 and task_set.sequence_length == 17
    assert (task_set.pad_id, task_set.sep_id, task_set.mask_id) == (51, 52, 53)
    assert task_set.index_token(0) == K and task_set.task_token("copy") == K + 7
    names = task_set.vocabulary
    assert len(names) == 54 and names[K] == "#0" and names[-1] == "<mask>"
    for name, n in DEFAULT_GROUPS:
        task = pooled_task(name, n, random_prompts(name, n, 3, seed=6))
        layout = task_set.layout(task)
        width = prompt_width(name, n)
        length = task.joint.num_variables - 1
        assert layout.sequence_length == 17 and layout.output_length == length
        pad = 17 - length - width - 2
        prefixes = layout.prefixes
        assert (prefixes[:, :pad] == task_set.pad_id).all()
        assert (prefixes[:, pad] == task_set.task_token(name)).all()
        np.testing.assert_array_equal(prefixes[:, pad + 1 : -1], task.prompts)
        assert (prefixes[:, -1] == task_set.sep_id).all()
        positions = np.asarray(task_set.output_positions(layout.initial_tokens(0)))
        assert positions.tolist() == [j >= layout.prefix_length for j in range(17)]
    model = T.Model(_uniform_logits, jnp.zeros(54), layout, "uniform")
    out = T.decode_batch(
        T.SAMPLERS["confidence_topk"](k=2, temperature=1.0),
        model,
        jax.random.key(3),
        layout.initial_tokens(np.arange(3)),
    )
    tokens = np.asarray(out.tokens)
    assert tokens.shape == (3, 17) and (tokens != task_set.mask_id).all()
    np.testing.assert_array_equal(tokens[:, : layout.prefix_length], prefixes)


def test_bad_inputs_are_refused():
    with pytest.raises(ValueError, match="Unknown pooled task 'sudoku'"):
        pooled_task("sudoku", 4, [[0, 1, 2, 3]])
    with pytest.raises(ValueError, match="`n` must be one of \\[3, 4\\]; got 5"):
        pooled_task("latin_square", 5, [[0, 1, 2, 3, 4]])
    with pytest.raises(TypeError, match="`n` must be an integer"):
        pooled_task("copy", 3.0, [[0, 1, 2]])
    with pytest.raises(ValueError, match="`pool_size` must be an integer in \\[7, 32"):
        pooled_task("insert_random", 6, [[0, 1, 2, 3, 4, 5, 6]], pool_size=6)
    with pytest.raises(ValueError, match="`pool_size` must be an integer in"):
        TaskSet((("copy", 3),), pool_size=33)
    with pytest.raises(ValueError, match="`prompts` row 0 must be 3 distinct pool"):
        pooled_task("copy", 3, [[0, 0, 1]])
    with pytest.raises(ValueError, match="then an index token in \\[32, 34\\]"):
        pooled_task("remove_index", 3, [[0, 1, 2, 35]])
    with pytest.raises(ValueError, match="`prompts` row 1 must be distinct"):
        pooled_task("copy", 3, [[0, 1, 2], [0, 1, 2]])
    with pytest.raises(ValueError, match="`prompts` must have shape"):
        pooled_task("insert_random", 3, [[0, 1, 2]])
    task_set = default_task_set()
    with pytest.raises(ValueError, match="Unknown task of this set 'sudoku'"):
        task_set.task_token("sudoku")
    with pytest.raises(ValueError, match="`n` must be one of \\[3, 4, 5, 6\\]; got 7"):
        task_set.layout(pooled_task("copy", 7, [list(range(7))]))
    with pytest.raises(ValueError, match="`n` must be 3; got 4"):
        task_set.check_group("latin_square", 4)
    with pytest.raises(ValueError, match="`the task's output alphabets` must be"):
        task_set.layout(pooled_task("copy", 3, [[0, 1, 2]], pool_size=8))
    with pytest.raises(TypeError, match="`task_set` must be a TaskSet"):
        task_set_sampler(DEFAULT_GROUPS)
    with pytest.raises(ValueError, match="`num_prompts` must be an integer in"):
        random_prompts("latin_square", 3, 100, pool_size=3)


X32_SCRIPT = """
import jax, numpy as np
from trilemma.models.data import default_task_set, task_set_sampler
draw = jax.jit(task_set_sampler(default_task_set()), static_argnums=1)
seqs = draw(jax.random.key(0), 64)
print(seqs.dtype, seqs.shape, int(np.asarray(seqs).max()))
"""


def test_sampler_runs_without_x64():
    """Training runs in float32: the sampler builds and draws int32 rows there too."""
    env = {k: v for k, v in os.environ.items() if k != "JAX_ENABLE_X64"}
    done = subprocess.run(
        [sys.executable, "-c", X32_SCRIPT],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    dtype, *_, top = done.stdout.split()
    assert dtype == "int32" and int(top) <= 52
