"""The ideal model beside ParallelBench's runs (`trilemma.parallelbench.ideal`).

The references here are written separately from the enumerator: products of
marginals summed over brute-forced outputs, and the paper's closed forms.
"""

import itertools
import json
import math
import pathlib
from collections import Counter
from fractions import Fraction

import numpy as np
import pytest

from trilemma.parallelbench import ideal, param_label
from trilemma.samplers import SAMPLERS
from trilemma.simulation import simulate
from trilemma.tasks import make_task

FIXTURES = pathlib.Path(__file__).parent / "fixtures" / "parallelbench" / "results"
TOL = 1e-9


def _first_gen_args(pattern: str) -> tuple[str, dict]:
    """(method folder, generation arguments) of the first line of a fixture file."""
    path = sorted(FIXTURES.glob(pattern))[0]
    line = json.loads(path.read_text().splitlines()[0])
    method = path.relative_to(FIXTURES).parts[1]
    return method, line["arguments"]["gen_args_0"]["arg_1"]


# --- parameters and the method table ------------------------------------------------


@pytest.mark.parametrize(
    ("method", "folder", "value"),
    [
        ("confidence_topk", "k4", 4),
        ("random", "k1", 1),
        ("topk_margin", "k32", 32),
        ("entropy_topk", "k16", 16),
        ("left_to_right", "k2", 2),
        ("confidence_threshold", "t0.7", 0.7),
        ("confidence_threshold", "t1.0", 1.0),
        ("confidence_factor", "f1.9", 1.9),
        ("dus", "bl8_dus_base2_dus_remasking_threshold0.3", 8),
        ("dus", "bl1_dus_base2_dus_remasking_threshold0.3", 1),
        ("dus", "bl32", 32),
    ],
)
def test_parse_param_reads_the_folder(method, folder, value):
    parsed = ideal.parse_param(method, folder)
    assert parsed == value
    assert isinstance(parsed, int) == (ideal.METHODS[method].kind in ("topk", "dus"))


@pytest.mark.parametrize(
    ("method", "folder", "match"),
    [
        ("confidence_topk", "t0.7", "folder_param"),
        ("confidence_topk", "k0", "whole number"),
        ("confidence_topk", "k2.5", "whole number"),
        ("confidence_topk", "k", "folder_param"),
        ("confidence_threshold", "t1.5", "threshold"),
        ("confidence_factor", "f0", "factor"),
        ("confidence_factor", "f-1", "folder_param"),
        ("confidence_factor", 1.0, "folder_param"),
        ("nonsense", "k4", "nonsense"),
        ("klass", "kl_threshold0.01", "folder_param"),
        ("wino_dllm", "wino_threshold1.5_wino_threshold_back0.9", "wino_threshold"),
        ("dus", "bl0_dus_base2_dus_remasking_threshold0.3", "block_length"),
        ("dus", "k8", "folder_param"),
        ("dus", "bl8_dus_base0", "dus_base"),
        ("dus", "bl8_dus_base2_dus_remasking_threshold1.5", "dus_remasking_threshold"),
        ("dus", "bl8_dus_remasking_threshold0.3_dus_base2", "folder_param"),
    ],
)
def test_parse_param_refuses_bad_folders(method, folder, match):
    with pytest.raises(ValueError, match=match):
        ideal.parse_param(method, folder)


def test_every_run_method_is_mapped():
    """The eleven methods of the published tree, each to a registered sampler."""
    run_methods = {
        "confidence_factor",
        "confidence_threshold",
        "confidence_topk",
        "dus",
        "entropy_topk",
        "klass",
        "left_to_right",
        "random",
        "slowfast",
        "topk_margin",
        "wino_dllm",
    }
    assert set(ideal.METHODS) == run_methods
    for name, spec in ideal.METHODS.items():
        assert spec.name == name and spec.source
        assert spec.sampler in SAMPLERS


@pytest.mark.parametrize(
    ("method", "args", "expected"),
    [
        ("confidence_topk", {"k": 4}, SAMPLERS["confidence_topk"](k=4)),
        ("random", {"k": 2}, SAMPLERS["random_topk"](k=2)),
        ("topk_margin", {"k": 8}, SAMPLERS["margin_topk"](k=8)),
        ("entropy_topk", {"k": 1}, SAMPLERS["entropy_topk"](k=1)),
        ("left_to_right", {"k": 16}, SAMPLERS["left_to_right"](k=16)),
        (
            "confidence_threshold",
            {"alg_threshold": 0.7},
            SAMPLERS["threshold"](gamma=0.7),
        ),
        (
            "confidence_factor",
            {"alg_factor": 1.0},
            SAMPLERS["factor"](factor=1.0, reference_quirk=True),
        ),
        (
            "dus",
            {"block_length": 8, "dus_base": 2, "dus_remasking_threshold": 0.3},
            SAMPLERS["dus"](block=8),
        ),
        ("dus", {"block_length": 4}, SAMPLERS["dus"](block=4, base=2)),
    ],
)
def test_sampler_for_maps_each_method_to_its_rule(method, args, expected):
    gen_args = {
        "until": ["\n\n"],
        "do_sample": False,
        "max_tokens": 32,
        **args,
        "unmasking": method,
    }
    sampler = ideal.sampler_for(method, gen_args)
    assert sampler == expected
    assert sampler.temperature == 0.0  # the harness's default: greedy


@pytest.mark.parametrize(
    "pattern",
    [
        "*/confidence_topk/k4/*/*shuffle.jsonl",
        "*/random/k2/*/*copy.jsonl",
        "*/confidence_threshold/t0.7/*/*shuffle.jsonl",
        "*/confidence_factor/f1.0/*/*replace_random.jsonl",
    ],
)
def test_sampler_for_reads_the_published_lines(pattern):
    method, gen_args = _first_gen_args(pattern)
    folder = pattern.split("/")[2]
    sampler = ideal.sampler_for(method, gen_args)
    value = dict(sampler.params)[ideal.METHODS[method].setting]
    assert value == ideal.parse_param(method, folder)


def test_sampler_for_k_items_and_temperature():
    args = {"max_tokens": 32, "k": 4, "unmasking": "confidence_topk"}
    assert ideal.sampler_for("confidence_topk", args, k_items=1) == SAMPLERS[
        "confidence_topk"
    ](k=1)
    hot = ideal.sampler_for("confidence_topk", {**args, "temperature": 1.0})
    assert hot.temperature == 1.0
    assert (
        ideal.sampler_for("confidence_topk", args, temperature=0.5).temperature == 0.5
    )


@pytest.mark.parametrize(
    ("method", "gen_args", "match"),
    [
        ("confidence_topk", {"unmasking": "random", "k": 2}, "unmasking"),
        ("confidence_topk", {"max_tokens": 32}, "`k`"),
        ("confidence_threshold", {"k": 2}, "alg_threshold"),
        ("confidence_topk", {"k": 3, "max_tokens": 32}, "multiple"),
        ("confidence_topk", {"k": 0}, "whole number"),
        ("confidence_topk", {"k": "4"}, "number"),
        ("confidence_topk", {"k": 4, "max_tokens": 32, "steps": 4}, "steps"),
        ("confidence_topk", {"k": 4, "alg_temp": 0.5}, "alg_temp"),
        ("confidence_topk", {"k": 4, "max_tokens": 32, "block_length": 8}, "block"),
        ("confidence_threshold", {"alg_threshold": 1.2}, "threshold"),
        ("confidence_factor", {"alg_factor": -1.0}, "factor"),
        ("wino_dllm", {"wino_threshold": 1.5}, "wino_threshold"),
        ("dus", {"block_length": 3, "max_tokens": 32}, "multiple"),
        ("dus", {"max_tokens": 32}, "block_length"),
        ("dus", {"block_length": 0}, "block_length"),
        ("dus", {"block_length": 8, "dus_base": 0}, "dus_base"),
        ("dus", {"block_length": 8, "dus_remasking_threshold": -0.1}, "threshold"),
        ("origin", {"k": 4}, "origin"),
        ("confidence_topk", [("k", 4)], "mapping"),
    ],
)
def test_sampler_for_refuses_bad_arguments(method, gen_args, match):
    with pytest.raises(ValueError, match=match):
        ideal.sampler_for(method, gen_args)


# --- the ideal model against brute force --------------------------------------------


def _shuffle_marginals(n: int, *, distinct: bool) -> np.ndarray:
    """The (n, n) marginals of a uniform law on the permutations of 0..n-1.

    With `distinct`, without the identity (ParallelBench's Shuffle: its grader's law).
    """
    perms = [
        p
        for p in itertools.permutations(range(n))
        if not distinct or p != tuple(range(n))
    ]
    marginals = np.zeros((n, n))
    for p in perms:
        marginals[np.arange(n), p] += 1.0 / len(perms)
    return marginals


def _one_step_accuracy(marginals: np.ndarray, greedy: bool) -> float:
    """P(every position drawn independently gives a non-identity permutation)."""
    n = len(marginals)
    if greedy:  # uniform over each position's argmax items
        top = np.isclose(marginals, marginals.max(axis=1, keepdims=True))
        marginals = top / top.sum(axis=1, keepdims=True)
    total = 0.0
    for y in itertools.product(range(n), repeat=n):
        if len(set(y)) == n and y != tuple(range(n)):
            total += math.prod(marginals[i, v] for i, v in enumerate(y))
    return total


@pytest.mark.parametrize("task", ["shuffle", "shuffle_distinct"])
@pytest.mark.parametrize("greedy", [True, False])
def test_one_step_equals_brute_force(task, greedy):
    n = 3
    assert np.array_equal(make_task(task, n).prompts[0], np.arange(n))
    marginals = _shuffle_marginals(n, distinct=task == "shuffle_distinct")
    expected = _one_step_accuracy(marginals, greedy)
    point = ideal.ideal_point(task, n, "confidence_topk", n, greedy=greedy)
    assert point.accuracy == pytest.approx(expected, abs=TOL)
    assert point.expected_nfe == pytest.approx(1.0, abs=TOL)
    if task == "shuffle":  # n!/n^n valid, times the grader's 1 - 1/n!
        assert expected == pytest.approx((math.factorial(n) - 1) / n**n, abs=TOL)


@pytest.mark.parametrize("greedy", [True, False])
def test_one_by_one(greedy):
    """One item per step: exact conditionals never leave the support."""
    for n in (3, 4):
        point = ideal.ideal_point(
            "waiting_line/shuffle", n, "confidence_topk", 1, greedy=greedy
        )
        assert point.task == "shuffle_distinct"
        assert point.accuracy == pytest.approx(1.0, abs=TOL)
        unrestricted = ideal.ideal_point("shuffle", n, "random", 1, greedy=greedy)
        assert unrestricted.accuracy == pytest.approx(
            1 - 1 / math.factorial(n), abs=TOL
        )
        assert point.expected_nfe == pytest.approx(n, abs=TOL)


def test_threshold_one_is_one_by_one():
    for n in (3, 4, 5):
        one = ideal.ideal_point("shuffle", n, "confidence_threshold", 1.0)
        assert one.expected_nfe == pytest.approx(n, abs=TOL)
        assert one.accuracy == pytest.approx(1 - 1 / math.factorial(n), abs=TOL)
    point = ideal.ideal_point(
        "waiting_line_replace_random", 4, "confidence_threshold", "t1.0"
    )
    assert point.accuracy == pytest.approx(1.0, abs=TOL)


def test_threshold_is_at_least_not_above():
    """ParallelBench's threshold is '>=' (REFERENCE §2.7).

    Replace Random n = 4: the first confidences are 3/4, so '>= 0.75' commits all at
    once (greedy: every position keeps its item, accuracy 0); '> 0.75' would go one
    by one (accuracy 1).
    """
    point = ideal.ideal_point("replace_random", 4, "confidence_threshold", 0.75)
    assert point.accuracy == pytest.approx(0.0, abs=TOL)
    assert point.expected_nfe == pytest.approx(1.0, abs=TOL)
    above = ideal.ideal_point("replace_random", 4, "confidence_threshold", 0.76)
    assert above.accuracy == pytest.approx(1.0, abs=TOL)


def test_factor_reference_quirk_by_hand():
    """The factor rule with ParallelBench's quirk, by hand.

    Shuffle n = 3, f = 1, greedy. Step 1: confidences 1/3 each, rank 2 needs
    1 - 1/3 = 2/3, so one item. Step 2: two masks, ParallelBench commits both (only
    the last rank fails): distinct with probability 1/2, then the grader's 5/6 of
    the permutations: 5/12 in two passes (without the quirk: 5/6 in three).
    """
    point = ideal.ideal_point("shuffle", 3, "confidence_factor", "f1.0")
    assert point.accuracy == pytest.approx(float(Fraction(5, 12)), abs=TOL)
    assert point.expected_nfe == pytest.approx(2.0, abs=TOL)


@pytest.mark.parametrize(
    "method",
    ["confidence_topk", "random", "topk_margin", "entropy_topk", "left_to_right"],
)
def test_topk_nfe_is_ceil(method):
    for task, n in (("shuffle_distinct", 5), ("insert_random", 4)):
        items = ideal.output_items(task, n)
        for k in range(1, items + 1):
            point = ideal.ideal_point(task, n, method, k)
            assert point.items == items
            assert point.expected_nfe == pytest.approx(math.ceil(items / k), abs=TOL)
            assert point.items_per_step == pytest.approx(items / point.expected_nfe)
            assert point.tokens_per_step == pytest.approx(32 / point.expected_nfe)


def test_paper_shuffle_topk_closed_form():
    """Eq. (5) at k = 2: (n-1)!!/n!! for shuffle (times the grader's 1 - 1/n!)."""
    for n, acc in ((4, 0.375), (6, 0.3125)):
        point = ideal.ideal_point("shuffle", n, "random", 2, greedy=False)
        assert point.accuracy == pytest.approx(
            acc * (1 - 1 / math.factorial(n)), abs=TOL
        )


# --- units, curves and refusals -----------------------------------------------------


def test_curve_marks_the_point_nearest_the_run():
    real = ideal.real_items_per_step([4, 4, 4], [2, 2, 2])  # 2 items per pass
    curve = ideal.ideal_curve(
        "shuffle_distinct", 4, "confidence_topk", real_items_per_step=real
    )
    assert [p.param for p in curve] == [1, 2, 3, 4]
    assert [p.marked for p in curve] == [False, True, False, False]
    grid = ideal.ideal_curve("copy", 3, "confidence_threshold")
    assert [p.param for p in grid] == [0.5, 0.6, 0.7, 0.8, 0.9, 1.0]
    assert all(p.accuracy == pytest.approx(1.0, abs=TOL) for p in grid)
    assert not any(p.marked for p in grid)


def test_real_items_per_step_bases():
    assert ideal.real_items_per_step([3, 4, 5], [8, 8, 8]) == pytest.approx(0.5)
    # content basis of a top-k run: k * items / output_length
    k, items, length = 4, 3, 12
    content = ideal.real_items_per_step(
        items, 32 / k, output_length=length, max_tokens=32
    )
    assert content == pytest.approx(k * items / length)
    with pytest.raises(ValueError, match="max_tokens"):
        ideal.real_items_per_step(3, 8, output_length=12)
    with pytest.raises(ValueError, match="nfe"):
        ideal.real_items_per_step(3, [8, 0])


def test_refusals_carry_a_reason():
    long_list = ideal.ideal_point("shuffle_distinct", 7, "confidence_topk", 1)
    assert long_list.accuracy is None and "n = 6" in long_list.reason
    assert ideal.ideal_point("waiting_line_n15/copy", 15, "random", 1).items == 15
    # DUS's schedule gives its NFE too: blocks of 4 and 3 items, 2 + 1 levels
    assert ideal.ideal_point("shuffle_distinct", 7, "dus", 4).expected_nfe == 3.0
    tied = ideal.ideal_point("latin_square", 4, "confidence_topk", 4)
    assert tied.accuracy is None and "memory guard" in tied.reason
    assert tied.expected_nfe == 4.0 and tied.tokens_per_step == 16.0  # the schedule
    curve = ideal.ideal_curve(
        "latin_square", 4, "random", [1, 2, 16], real_items_per_step=1.9
    )
    assert [p.marked for p in curve] == [False, True, False]
    assert curve[1].accuracy is None and curve[2].accuracy is not None
    hot = ideal.ideal_point(
        "latin_square", 4, "confidence_threshold", 0.9, greedy=False
    )
    assert hot.accuracy is None


def test_latin_square_greedy_threshold_and_sudoku():
    """A feasible Latin-square rule, and Sudoku.

    Greedy gamma = 0.9 never commits two clashing cells: two cells of one row or
    column exclude each other, so they cannot both give one symbol a probability
    above 1/2; every square is valid. Sudoku's blanks are determined, so any
    adaptive rule takes one pass.
    """
    latin = ideal.ideal_point(
        "puzzles/latin_square_n4", 4, "confidence_threshold", "t0.9"
    )
    assert latin.items == 16 and latin.tokens_per_step == pytest.approx(
        64 / latin.expected_nfe
    )
    assert latin.accuracy == pytest.approx(1.0, abs=1e-9)
    assert 1 < latin.expected_nfe < 16
    sudoku = ideal.ideal_point(
        "parallelbench_puzzles_sudoku_n4", 4, "confidence_factor", 1.0
    )
    assert sudoku.accuracy == pytest.approx(1.0, abs=TOL)
    assert sudoku.expected_nfe == pytest.approx(1.0, abs=TOL)


@pytest.mark.parametrize(
    ("args", "match"),
    [
        (("nonsense_task", 3, "confidence_topk", 1), "nonsense_task"),
        (("text_writing/summarization", 3, "confidence_topk", 1), "summarization"),
        (("shuffle", 3, "nonsense", 1), "nonsense"),
        (("shuffle", 3, "confidence_topk", 0), "whole number"),
        (("shuffle", 3, "confidence_threshold", 2.0), "threshold"),
        (("shuffle", 3, "confidence_threshold", "k4"), "folder_param"),
        (("shuffle", 0, "confidence_topk", 1), "n"),
        (("latin_square", 5, "confidence_topk", 1), "n"),
    ],
)
def test_ideal_point_refuses_bad_input(args, match):
    with pytest.raises(ValueError, match=match):
        ideal.ideal_point(*args)


# --- DUS: the dilated schedule beside ParallelBench's dus runs ---------------------


def _dus_levels(size):
    """The dilated levels of a block, written out by hand (base 2, REFERENCE 5.10)."""
    return {
        1: [[0]],
        2: [[0, 1]],
        3: [[0, 1, 2]],  # stride 1 reveals all
        4: [[0, 2], [1, 3]],
        5: [[0, 1, 2, 3, 4]],  # {0, 2, 4} then {1, 3}: the smaller last is merged
        6: [[0, 3], [1, 2, 4, 5]],
    }[size]


def _dus_reference(n, block, *, distinct):
    """(accuracy, NFE) of greedy DUS on Shuffle by brute force over the levels.

    Each level commits its positions at once; the ideal model's greedy draw at a
    position is uniform over the items its marginal puts the most mass on, given
    the revealed items (Shuffle's law: uniform on permutations, without the identity
    when `distinct`).
    """
    perms = [
        p
        for p in itertools.permutations(range(n))
        if not distinct or p != tuple(range(n))
    ]
    steps = []
    for start in range(0, n, block):
        size = min(block, n - start)
        steps += [[start + o for o in lv] for lv in _dus_levels(size)]

    def law(state, t):
        if t == len(steps):
            return {state: 1.0}
        rows = [
            p
            for p in perms
            if all(s is None or s == v for s, v in zip(state, p, strict=True))
        ]
        draws = []
        for j in steps[t]:
            if rows:
                counts = Counter(p[j] for p in rows)
                top = max(counts.values())
                best = [v for v, c in counts.items() if c == top]
            else:  # off the support: uniform marginals
                best = list(range(n))
            draws.append([(v, 1.0 / len(best)) for v in best])
        out = Counter()
        for combo in itertools.product(*draws):
            child = list(state)
            for j, (v, _) in zip(steps[t], combo, strict=True):
                child[j] = v
            weight = math.prod(w for _, w in combo)
            for y, q in law(tuple(child), t + 1).items():
                out[y] += weight * q
        return out

    final = law((None,) * n, 0)
    valid = set(perms) - {tuple(range(n))}  # the grader also rejects the identity
    return math.fsum(q for y, q in final.items() if y in valid), len(steps)


@pytest.mark.parametrize("task", ["shuffle", "shuffle_distinct"])
@pytest.mark.parametrize(("n", "block"), [(3, 1), (3, 2), (4, 4), (4, 8), (5, 2)])
def test_dus_ideal_point_equals_brute_force(task, n, block):
    accuracy, nfe = _dus_reference(n, block, distinct=task == "shuffle_distinct")
    point = ideal.ideal_point(task, n, "dus", block)
    assert point.sampler == SAMPLERS["dus"](block=block).describe()
    assert point.accuracy == pytest.approx(accuracy, abs=TOL)
    assert point.expected_nfe == pytest.approx(nfe, abs=TOL)
    assert point.tokens_per_step == pytest.approx(32 / nfe)


def test_dus_curve_sweeps_the_block_and_reads_folders():
    """ParallelBench's grid of blocks; B >= L is one block of the L items."""
    curve = ideal.ideal_curve("shuffle_distinct", 4, "dus")
    assert [p.param for p in curve] == [1, 2, 4, 8, 16, 32]
    assert [p.expected_nfe for p in curve] == pytest.approx([4, 2, 2, 2, 2, 2])
    assert curve[0].accuracy == pytest.approx(1.0, abs=TOL)  # one by one
    folder = ideal.ideal_point(
        "waiting_line_shuffle", 4, "dus", "bl8_dus_base2_dus_remasking_threshold0.3"
    )
    assert folder.accuracy == pytest.approx(curve[3].accuracy, abs=TOL)
    base3 = ideal.ideal_point("copy", 6, "dus", "bl8_dus_base3")
    assert base3.sampler == SAMPLERS["dus"](block=8, base=3).describe()
    assert base3.expected_nfe == pytest.approx(2.0)  # 6 // 3 = 2: {0, 2, 4}, rest


def test_dus_on_the_latin_square_is_enumerated():
    """Fixed positions branch on tokens only: the 4x4 square at both temperatures."""
    for greedy in (True, False):
        point = ideal.ideal_point("latin_square", 4, "dus", 16, greedy=greedy)
        assert point.reason is None and point.expected_nfe == pytest.approx(4.0)
        assert 0 < point.accuracy < 1


# --- KLASS and SlowFast: folders, lines and the ideal model --------------------------

# Generation arguments of the first line of two published runs (LLaDA-1.5,
# results/GSAI-ML__LLaDA-1.5/<method>/<param>/20260320_133223_all/
# samples_parallelbench_waiting_line_shuffle.jsonl @ ec81524, furiosa-ai/ParallelBench;
# the fixtures hold no KLASS or SlowFast run). The harness writes only the arguments
# a run gives: SlowFast's `sf_exploration_steps` is the port's default, 6.
PUBLISHED_LINES = {
    ("klass", "conf_threshold0.7_kl_history_length2_kl_threshold0.01"): {
        "until": ["\n\n"],
        "do_sample": False,
        "max_tokens": 32,
        "unmasking": "klass",
        "conf_threshold": 0.7,
        "kl_threshold": 0.01,
        "kl_history_length": 2,
    },
    ("slowfast", "sf_cycle_confidence_threshold0.3_sf_high_confidence_threshold0.9"): {
        "until": ["\n\n"],
        "do_sample": False,
        "max_tokens": 32,
        "unmasking": "slowfast",
        "sf_high_confidence_threshold": 0.9,
        "sf_cycle_confidence_threshold": 0.3,
    },
}

# Every param folder of the published tree for KLASS, SlowFast and DUS (SOURCE.md's
# inventory of results/, read 2026-12-07).
PUBLISHED_FOLDERS = [
    *(
        ("klass", f"conf_threshold{t}_kl_history_length2_kl_threshold0.01", float(t))
        for t in ("0.5", "0.6", "0.7", "0.8", "0.9", "0.95", "1")
    ),
    *(
        (
            "slowfast",
            f"sf_cycle_confidence_threshold0.3_sf_high_confidence_threshold{h}",
            float(h),
        )
        for h in ("0.5", "0.6", "0.7", "0.8", "0.9", "1")
    ),
    *(
        ("dus", f"bl{b}_dus_base2_dus_remasking_threshold0.3", b)
        for b in (1, 2, 4, 8, 16, 32)
    ),
]


@pytest.mark.parametrize(("method", "folder", "value"), PUBLISHED_FOLDERS)
def test_published_folders_parse_and_spell_back(method, folder, value):
    """One folder mechanism: `parse_param` inverts the report's `param_label`."""
    assert ideal.parse_param(method, folder) == value
    args = ideal._parse_folder(method, folder)
    spelled = {k: v for k, v in args.items() if k != "sf_exploration_steps"}
    # the harness writes a value as given (`1`, `0.3`); `param_label` as a float
    assert ideal._parse_folder(method, param_label(spelled)) == args
    assert param_label(spelled).replace("1.0", "1") == folder.replace("1.0", "1")
    assert ideal.folder_name(method, value).startswith(folder.split("_")[0])


def test_every_fixture_line_gives_its_folder_sampler():
    """`sampler_for` of every published line = the sampler its param folder spells."""
    lines = [
        (path.relative_to(FIXTURES).parts[1:3], json.loads(text))
        for path in sorted(FIXTURES.glob("*/*/*/*/samples_*.jsonl"))
        for text in path.read_text().splitlines()
    ]
    assert len(lines) == 317
    cases = [
        ((method, folder), line["arguments"]["gen_args_0"]["arg_1"])
        for (method, folder), line in lines
    ]
    cases += list(PUBLISHED_LINES.items())
    for (method, folder), gen_args in cases:
        sampler = ideal.sampler_for(method, gen_args)
        from_folder = ideal._build(
            ideal.METHODS[method], ideal._parse_folder(method, folder), 0.0
        )
        assert sampler == from_folder, (method, folder)


def test_klass_and_slowfast_read_the_ports_defaults():
    klass, slowfast = (ideal.sampler_for(m, a) for (m, _), a in PUBLISHED_LINES.items())
    assert klass == SAMPLERS["klass"](confidence=0.7)
    assert (klass.kl_threshold, klass.history, klass.k, klass.inclusive) == (
        0.01,
        2,
        1,
        False,
    )
    assert slowfast == SAMPLERS["slowfast"](high_confidence=0.9)
    assert slowfast.exploration_steps == 6 and not slowfast.skip_wasted
    shorter = ideal.sampler_for("klass", {"conf_threshold": 0.7})
    assert shorter == klass  # kl_threshold 0.01 and kl_history_length 2 by default
    other = ideal.sampler_for(
        "slowfast", {"sf_high_confidence_threshold": 0.8, "sf_exploration_steps": 3}
    )
    assert other.exploration_steps == 3 and other.high_confidence == 0.8


@pytest.mark.parametrize(
    ("method", "folder", "task", "n"),
    [
        (
            "klass",
            "conf_threshold0.9_kl_history_length2_kl_threshold0.01",
            "shuffle",
            4,
        ),
        (
            "klass",
            "conf_threshold0.5_kl_history_length2_kl_threshold0.01",
            "replace_random",
            6,
        ),
        (
            "slowfast",
            "sf_cycle_confidence_threshold0.3_sf_high_confidence_threshold0.9",
            "shuffle_distinct",
            4,
        ),
        (
            "slowfast",
            "sf_cycle_confidence_threshold0.3_sf_high_confidence_threshold0.5",
            "insert_random",
            3,
        ),
    ],
)
@pytest.mark.parametrize("greedy", [True, False])
def test_klass_and_slowfast_points_equal_simulate(method, folder, task, n, greedy):
    point = ideal.ideal_point(task, n, method, folder, greedy=greedy)
    sampler = ideal.sampler_for(
        method, ideal._parse_folder(method, folder), temperature=float(not greedy)
    )
    sim = simulate(make_task(task, n), sampler, entropy_cells=0)
    assert point.reason is None and point.sampler == sampler.describe()
    assert point.accuracy == pytest.approx(float(sim.accuracy()), abs=TOL)
    assert point.expected_nfe == pytest.approx(float(sim.expected_nfe), abs=TOL)
    assert point.tokens_per_step == pytest.approx(32 / point.expected_nfe)


def test_klass_and_slowfast_by_hand():
    """Copy, greedy: every confidence is 1 from the first pass.

    KLASS: the first pass's KL is taken against zeros, so nothing is stable before
    the third pass: two top-1 fallbacks, then every ready token (c = 1 > tau):
    min(n, 3) passes; at tau = 1 nothing is ever > 1: one token per pass. SlowFast:
    the first slow pass commits all n tokens (>= h, at least two) and its five other
    passes still run: 6. Shuffle (exact marginals): KLASS one token per pass.
    """
    for n in (3, 4, 5):
        klass = ideal.ideal_curve("copy", n, "klass", [0.9, 1.0])
        assert [p.expected_nfe for p in klass] == pytest.approx([min(n, 3), n])
        slowfast = ideal.ideal_point("copy", n, "slowfast", 0.7)
        assert slowfast.expected_nfe == pytest.approx(6.0)
        assert all(p.accuracy == pytest.approx(1.0) for p in (*klass, slowfast))
    for point in ideal.ideal_curve("waiting_line_shuffle", 4, "klass"):
        assert point.expected_nfe == pytest.approx(4.0, abs=TOL)
        assert point.accuracy == pytest.approx(1.0, abs=TOL)


def test_chain_refusals_carry_a_reason(monkeypatch):
    latin = ideal.ideal_point("latin_square", 4, "klass", 0.9)
    assert latin.accuracy is None and latin.expected_nfe is None
    assert "MAX_CHAIN_STATES" in latin.reason
    assert (
        "MAX_CHAIN_STATES" in ideal.ideal_point("latin_square", 4, "slowfast", 1).reason
    )
    monkeypatch.setattr(ideal, "MAX_CHAIN_STATES", 10)  # the budget, exceeded
    small = ideal.ideal_point("shuffle_distinct", 4, "klass", 0.9)
    assert small.accuracy is None and "`max_states`" in small.reason


@pytest.mark.parametrize(
    ("method", "folder", "match"),
    [
        (
            "klass",
            "conf_threshold0.9_kl_threshold0.01_kl_history_length2",
            "folder_param",
        ),
        (
            "klass",
            "conf_threshold1.5_kl_history_length2_kl_threshold0.01",
            "conf_threshold",
        ),
        ("klass", "conf_threshold0.9_kl_history_length0", "kl_history_length"),
        ("klass", "conf_threshold0.9_kl_history_length2.5", "whole number"),
        ("klass", "_conf_threshold0.9", "folder_param"),
        ("slowfast", "sf_cycle_confidence_threshold0.3", "folder_param"),
        (
            "slowfast",
            "sf_high_confidence_threshold0.9_sf_cycle_confidence_threshold0.3",
            "folder_param",
        ),
        (
            "slowfast",
            "sf_cycle_confidence_threshold2_sf_high_confidence_threshold0.9",
            "sf_cycle",
        ),
        (
            "slowfast",
            "sf_exploration_steps0_sf_high_confidence_threshold0.9",
            "sf_exploration_steps",
        ),
    ],
)
def test_bad_klass_and_slowfast_folders_are_one_line(method, folder, match):
    with pytest.raises(ValueError, match=match) as err:
        ideal.parse_param(method, folder)
    assert "\n" not in str(err.value)
    assert f"folder_param {folder!r}" in str(err.value)


def test_wino_runs_map_to_the_wino_sampler():
    """ParallelBench's `wino_dllm` folders and lines give `wino(threshold, back)`."""
    folder = "wino_threshold0.7_wino_threshold_back0.9"
    assert ideal.parse_param("wino_dllm", folder) == 0.7
    line = {"unmasking": "wino_dllm", "wino_threshold": 0.7, "wino_threshold_back": 0.9}
    built = ideal.sampler_for("wino_dllm", line)
    assert built == SAMPLERS["wino"](threshold=0.7, threshold_back=0.9)
    # the harness may omit the back threshold: the port's default 0.9
    assert ideal.sampler_for("wino_dllm", {"wino_threshold": 0.7}) == built
    point = ideal.ideal_point("shuffle", 4, "wino_dllm", 0.7)
    exact = simulate(make_task("shuffle", 4), built)
    assert abs(point.accuracy - exact.accuracy()) < 1e-12
    assert abs(point.expected_nfe - exact.expected_nfe) < 1e-12
