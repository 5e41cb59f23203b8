"""Benchmark: exact sampler simulation against a plain-Python trajectory enumerator.

`T.simulate(task, sampler)` computes a sampler's exact output law and expected number
of forward passes (NFE) by enumerating decoding trajectories level by level, with
NumPy. This script re-derives the same quantities with a separate, plain-Python
enumerator written from the sampler definitions (dicts and loops, no array code, no
trilemma code: it reads only the task's support and, from the `Sampler` value, the
names of its score and count rule with the rule's settings, its temperature, block
and `uses_step`, and defines each building block itself). It first checks that both
agree to 1e-9 (valid outputs' probabilities, invalid mass, E[NFE]) on over a
thousand small cases: every sampler, several parameters, temperatures 0, 0.5 and 1,
nine tasks; a failure is printed on stderr and the script exits with status 1 before
timing (unless --keep-going). It then times both on shuffle_distinct n = 5, 6, 7
(5,039 outcomes at n = 7) for every registered sampler (greedy, one parameter each)
and prints states visited, trilemma's first and warm call (with and without the
entropy of q over invalid outputs, which the plain enumerator does not compute), the
plain time, the ratios plain / trilemma, and whether the goal (under 10 s at n = 7)
is met. Ratios are measured in the same run,
so they are meaningful on a noisy machine; absolute times are not.

The samplers are the entries of `T.SAMPLERS` and their parameters come from each
factory's signature, with one value per kind of parameter (`TIMED_VALUES`,
`CHECK_VALUES`), so a new sampler is checked and timed without an edit here (a new
kind of parameter needs its values, a new building block its plain definition).

  python experiments/bench_simulate.py [--quick] [--json out.json] [--keep-going]
"""

from __future__ import annotations

import argparse
import inspect
import itertools
import json
import math
import sys
import time
from collections import defaultdict
from typing import NamedTuple

import jax
import numpy as np

jax.config.update("jax_enable_x64", True)

import trilemma as T  # noqa: E402

TOL = 1e-9
"""Probabilities, scores and thresholds closer than this are equal."""

AGREE = 1e-9
"""Largest allowed difference between the two enumerators (absolute)."""

PLAIN_CAP_S = 120.0
"""Skip the plain enumerator at a size whose extrapolated time exceeds this."""

GOAL_S = 10.0
"""Goal for one exact simulation at n = 7 (the issue's target)."""

TIMED_VALUES = {"k": 2, "gamma": 0.5, "factor": 1, "num_steps": None}
"""The timed value of each kind of sampler parameter (None: one step per token)."""

CHECK_VALUES = {
    "k": (1, 2, 3),
    "num_steps": (1, 2, 4),
    "gamma": (0.3, 0.5, 0.9, 3.0),
    "factor": (1, 2),
    "block": (2,),
    "reference_quirk": (True,),
}
"""The values each kind of sampler parameter takes in the agreement check."""


# --- the samplers, from the registry --------------------------------------------------


def parameters(name: str) -> list[inspect.Parameter]:
    """Keyword parameters of sampler `name`'s factory, but temperature (swept)."""
    signature = inspect.signature(T.SAMPLERS[name])
    return [p for p in signature.parameters.values() if p.name != "temperature"]


def timed_params(name: str, length: int) -> dict:
    """The setting timed for sampler `name` on `length` output positions.

    Every parameter without a default, or else the first with a timed value (the
    top-k factories take `k` or `num_steps`), at its `TIMED_VALUES` value.
    """
    params = parameters(name)
    chosen = [p.name for p in params if p.default is inspect.Parameter.empty]
    if not chosen:
        chosen = [p.name for p in params if p.name in TIMED_VALUES][:1]
    missing = [p for p in chosen if p not in TIMED_VALUES]
    if missing:
        raise SystemExit(
            f"no timed value for parameters {missing} of sampler {name!r}: add one "
            "per kind of parameter to TIMED_VALUES"
        )
    return {p: length if TIMED_VALUES[p] is None else TIMED_VALUES[p] for p in chosen}


def check_params(name: str, length: int) -> list[dict]:
    """The settings of sampler `name` checked on `length` output positions.

    Each parameter at each of its `CHECK_VALUES`, set on top of the timed setting,
    or alone where the factory refuses that combination (`k` and `num_steps` are
    alternatives); a value the factory refuses either way (a threshold gamma > 1)
    is left out.
    """
    factory, base = T.SAMPLERS[name], timed_params(name, length)
    settings: list[dict] = []
    for param in parameters(name):
        for value in CHECK_VALUES.get(param.name, ()):
            for params in ({**base, param.name: value}, {param.name: value}):
                if _accepts(factory, params):
                    if params not in settings:
                        settings.append(params)
                    break
    if not settings:
        raise SystemExit(
            f"no check values for any parameter of sampler {name!r}: add them per "
            "kind of parameter to CHECK_VALUES"
        )
    return settings


def _accepts(factory, params: dict) -> bool:
    """Whether the factory builds a sampler from `params` (its checks are eager)."""
    try:
        factory(**params)
    except ValueError:
        return False
    return True


# --- the plain-Python enumerator ------------------------------------------------------


class PlainResult(NamedTuple):
    """What the plain enumerator computes.

    Attributes:
      outputs: (prompt, output tokens) -> probability, valid outputs only.
      invalid_mass: total probability of outputs outside the target's support.
      expected_nfe: expected number of forward passes.
      states_visited: distinct states enumerated, summed over levels.
    """

    outputs: dict
    invalid_mass: float
    expected_nfe: float
    states_visited: int


def token_law(p, temperature):
    """Draw law of one position: greedy with uniform ties, else p**(1/T)."""
    if temperature == 0:
        top = max(p)
        tied = [v for v, pv in enumerate(p) if pv > 0 and pv >= top - TOL]
        return {v: 1.0 / len(tied) for v in tied}
    weights = {v: pv ** (1.0 / temperature) for v, pv in enumerate(p) if pv > 0}
    total = sum(weights.values())
    return {v: w / total for v, w in weights.items()}


def token_scores(score, p, law, j):
    """Score of committing each drawable token `v` (in `law`) at position `j`."""
    if score == "confidence_score":
        return {v: p[v] for v in law}
    if score == "margin_score":
        top = sorted(p, reverse=True) + [0.0]
        value = top[0] - top[1]
    elif score == "neg_entropy_score":
        value = sum(pv * math.log(pv) for pv in p if pv > 0)
    elif score == "uniform_score":
        value = 0.0
    elif score == "left_to_right_score":
        value = -float(j)
    else:
        raise ValueError(f"the plain enumerator does not define the score {score!r}")
    return {v: value for v in law}


def score_classes(law, scores):
    """Group one position's tokens by equal score: [(score, probability, law)].

    The law of a class is the token law restricted to it (renormalised).
    """
    classes = []
    for v in sorted(law, key=lambda v: scores[v]):
        if classes and scores[v] - classes[-1][0] <= TOL:
            classes[-1][1][v] = law[v]
        else:
            classes.append((scores[v], {v: law[v]}))
    out = []
    for value, members in classes:
        mass = sum(members.values())
        out.append((value, mass, {v: pv / mass for v, pv in members.items()}))
    return out


def count_pmf(rule, params, ranked, m, block_size, step):
    """Law of the number of positions committed: {k: probability}.

    `rule` names the sampler's count rule and `params` holds its settings; `ranked`
    holds the scores of the m eligible positions, highest first.
    """
    if rule == "topk_count":
        size = max(block_size, 1)
        k, num_steps = params.get("k"), params.get("num_steps")
        steps = min(-(-size // k) if num_steps is None else num_steps, size)
        base, rem = divmod(size, steps)
        schedule = [base + 1] * rem + [base] * (steps - rem)  # remainder first
        done, start = size - m, 0
        count = schedule[-1]
        for c in schedule:  # the step whose range of positions contains `done`
            if done < start + c:
                count = c
                break
            start += c
        return {max(min(count, m), min(m, 1)): 1.0}
    if rule == "threshold_count":
        gamma = params["gamma"]
        if params["strict"]:
            passed = sum(1 for s in ranked if s > gamma + TOL)
        else:
            passed = sum(1 for s in ranked if s >= gamma - TOL)
        return {max(passed, min(m, 1)): 1.0}
    if rule == "factor_count":
        count = 0
        for n, c in enumerate(ranked, start=1):
            if n > 1 and c < 1.0 - params["factor"] / (n + 1) - TOL:
                break
            count = n
        if params.get("reference_quirk") and count == m - 1:
            count = m
        return {count: 1.0}
    if rule == "entropy_bounded_count":
        count, total, largest = 0, 0.0, -math.inf
        for n, s in enumerate(ranked, start=1):
            total, largest = total - s, max(largest, -s)  # entropies, increasing
            if total - largest > params["gamma"] + TOL:  # sum H - max H of the prefix
                break
            count = n
        return {max(count, min(m, 1)): 1.0}
    if rule == "ancestral_count":
        rate = 1.0 / max(params["num_steps"] - step, 1)
        if rate >= 1.0:
            return {m: 1.0}
        pmf = {}
        for k in range(m + 1):
            pk = math.comb(m, k) * rate**k * (1.0 - rate) ** (m - k)
            if pk > 0:
                pmf[k] = pk
        return pmf
    raise ValueError(f"the plain enumerator does not define the count rule {rule!r}")


def committed_sets(scores, k):
    """Committed sets and their probabilities: above the k-th score, plus ties.

    The positions tied with the k-th score fill the remaining places; every subset of
    them of the right size is equally likely.
    """
    if k == 0:
        return [((), 1.0)]
    kth = sorted(scores.values(), reverse=True)[k - 1]
    above = [j for j, s in scores.items() if s > kth + TOL]
    tied = [j for j, s in scores.items() if abs(s - kth) <= TOL]
    subsets = list(itertools.combinations(tied, k - len(above)))
    return [(tuple(sorted(above + list(sub))), 1.0 / len(subsets)) for sub in subsets]


def plain_simulate(task, sampler, *, literal=False) -> PlainResult:
    """Exact output law and expected NFE of `sampler` with the oracle of `task`.

    States are partial outputs (tuples, -1 = masked) with their prompt, plus the step
    index for MDLM; states are merged in one dict per level (number of revealed
    tokens, or step for MDLM). Each state keeps the support rows consistent with it
    (a child's rows are the parent's rows filtered by the committed tokens), from
    which the oracle marginals follow; they are memoised per (prompt, tokens) for
    MDLM, where a state recurs at several steps. After a prefix of probability 0 the
    oracle is uniform over each position's alphabet (the documented convention).

    Args:
      task: a trilemma task (only its support, probabilities and sizes are read).
      sampler: a sampler; only the names of its score and count rule, the count
        rule's settings, its temperature, block length and `uses_step` are read.
      literal: False (fast): a state's valid children are the distinct values its
        consistent rows take on the committed positions, the remaining mass is
        invalid, and off-support states keep only their mask pattern (their oracle
        is uniform whatever the tokens). True: draw every token combination and keep
        off-support states with their tokens (slow; a check of the shortcuts).
    """
    score = sampler.score.__name__
    rule, params = sampler.count.fn.__name__, dict(sampler.count.settings)
    temperature, block, uses_step = (
        sampler.temperature,
        sampler.block,
        sampler.uses_step,
    )

    sizes = [int(s) for s in task.joint.sizes[1:]]
    length = len(sizes)
    prompt_mass = defaultdict(float)
    raw = []
    for row, p in zip(
        np.asarray(task.joint.outcomes).tolist(),
        np.asarray(task.joint.probs, float).tolist(),
        strict=True,
    ):
        prompt_mass[row[0]] += p
        raw.append((row[0], tuple(row[1:]), p))
    support = defaultdict(list)  # prompt -> [(outcome, conditional weight)]
    for prompt, outcome, p in raw:
        support[prompt].append((outcome, p / prompt_mass[prompt]))

    # pending[level][key] = [mass, consistent rows]; key (prompt, tokens), or
    # (None, mask pattern) for an off-support state in fast mode
    pending = defaultdict(dict)
    for prompt, mass in prompt_mass.items():
        if mass > 0:
            pending[0][(prompt, (-1,) * length)] = [mass, support[prompt]]
    outputs = defaultdict(float)
    invalid = nfe = 0.0
    visited = 0
    memo = {}

    def push(level, key, mass, rows):
        prompt, tokens = key
        if -1 not in tokens:
            if rows:  # a finished valid output (finished invalid ones are dropped)
                outputs[key] += mass
            return
        entry = pending[level].get(key)
        if entry is None:
            pending[level][key] = [mass, rows]
        else:
            entry[0] += mass

    def marginals(prompt, tokens, rows, masked):
        if not rows:
            return {j: [1.0 / sizes[j]] * sizes[j] for j in masked}
        if uses_step and (prompt, tokens) in memo:
            return memo[(prompt, tokens)]
        probs = {j: [0.0] * sizes[j] for j in masked}
        total = 0.0
        for outcome, w in rows:
            total += w
            for j in masked:
                probs[j][outcome[j]] += w
        probs = {j: [x / total for x in probs[j]] for j in masked}
        if uses_step:
            memo[(prompt, tokens)] = probs
        return probs

    while pending:
        level = min(pending)
        states = pending.pop(level)
        visited += len(states)
        step = level if uses_step else 0
        for (prompt, tokens), (mass, rows) in states.items():
            masked = [j for j in range(length) if tokens[j] == -1]
            eligible, block_size = masked, length
            if block is not None:
                current = masked[0] // block
                eligible = [j for j in masked if j // block == current]
                block_size = min(block, length - current * block)
            probs = marginals(prompt, tokens, rows, eligible)
            classes = []
            for j in eligible:
                law = token_law(probs[j], temperature)
                scores = token_scores(score, probs[j], law, j)
                classes.append(score_classes(law, scores))
            # one score class per eligible position (each fixes that position's score)
            for choice in itertools.product(*classes):
                weight = mass
                for _, class_mass, _ in choice:
                    weight *= class_mass
                scores = {j: c[0] for j, c in zip(eligible, choice, strict=True)}
                laws = {j: c[2] for j, c in zip(eligible, choice, strict=True)}
                ranked = sorted(scores.values(), reverse=True)
                pmf = count_pmf(rule, params, ranked, len(eligible), block_size, step)
                nfe += weight * (1.0 - pmf.get(0, 0.0))
                for k, pk in pmf.items():
                    for chosen, share in committed_sets(scores, k):
                        w = weight * pk * share
                        nxt = step + 1 if uses_step else level + k
                        children = _children(
                            prompt, tokens, rows, chosen, laws, w, literal
                        )
                        for key, child_mass, child_rows, leaving in children:
                            invalid += leaving
                            push(nxt, key, child_mass, child_rows)
    return PlainResult(dict(outputs), invalid, nfe, visited)


def _children(prompt, tokens, rows, chosen, laws, weight, literal):
    """(key, mass, rows, invalid mass created) of the children of one transition."""
    if not chosen:
        return [((prompt, tokens), weight, rows, 0.0)]
    if literal:  # every combination of tokens, checked against the support
        out = []
        for combo in itertools.product(*(laws[j].items() for j in chosen)):
            child, mass = list(tokens), weight
            for j, (v, pv) in zip(chosen, combo, strict=True):
                child[j] = v
                mass *= pv
            child_rows = [
                (outcome, w)
                for outcome, w in rows
                if all(outcome[j] == child[j] for j in chosen)
            ]
            leaving = mass if rows and not child_rows else 0.0
            out.append(((prompt, tuple(child)), mass, child_rows, leaving))
        return out
    if not rows:  # off-support: only the mask pattern moves on
        child = tuple(0 if j in chosen else t for j, t in enumerate(tokens))
        return [((None, child), weight, rows, 0.0)]
    groups = defaultdict(list)
    for outcome, w in rows:
        groups[tuple(outcome[j] for j in chosen)].append((outcome, w))
    out, valid = [], 0.0
    for values, child_rows in groups.items():
        factor = 1.0
        for j, v in zip(chosen, values, strict=True):
            factor *= laws[j].get(v, 0.0)
        if factor > 0:
            child = list(tokens)
            for j, v in zip(chosen, values, strict=True):
                child[j] = v
            out.append(((prompt, tuple(child)), weight * factor, child_rows, 0.0))
            valid += factor
    leaving = weight * (1.0 - valid)
    if leaving > 1e-12 * weight:
        pattern = tuple(
            0 if (j in chosen or t != -1) else -1 for j, t in enumerate(tokens)
        )
        out.append(((None, pattern), leaving, [], leaving))
    return out


# --- agreement check ------------------------------------------------------------------


def compare(sim, plain: PlainResult) -> tuple[float, str]:
    """Largest absolute difference between the two results, and where it is."""
    outcomes = np.asarray(sim.outputs.outcomes).astype(np.int64).tolist()
    theirs = {
        (row[0], tuple(row[1:])): p
        for row, p in zip(outcomes, np.asarray(sim.outputs.probs).tolist(), strict=True)
    }
    worst, where = 0.0, "-"
    for key in set(theirs) | set(plain.outputs):
        gap = abs(theirs.get(key, 0.0) - plain.outputs.get(key, 0.0))
        if gap > worst:
            worst, where = gap, f"q{key}"
    for name, a, b in [
        ("invalid mass", sim.invalid_mass, plain.invalid_mass),
        ("E[NFE]", sim.expected_nfe, plain.expected_nfe),
    ]:
        if abs(a - b) > worst:
            worst, where = abs(a - b), name
    return worst, where


def check_cases(quick: bool):
    """(task, sampler, literal) triples covering every sampler, rule and tie path."""
    tasks = [("shuffle_distinct", 4), ("random_joint", 3), ("insert_index", 3)]
    if not quick:
        tasks += [
            ("shuffle_distinct", 5),
            ("shuffle", 4),
            ("replace_random", 4),
            ("markov_chain", 4),
            ("copula", 2),
            ("latin_square", 3),
        ]
    temperatures = [0.0, 1.0] if quick else [0.0, 0.5, 1.0]
    for (task_name, n), name in itertools.product(tasks, T.SAMPLERS):
        task = T.make_task(task_name, n)
        # the literal enumerator expands every off-support completion (V**L)
        literal = len(task.outputs) <= 4
        options = check_params(name, len(task.outputs))
        for params, temperature in itertools.product(options, temperatures):
            if task_name == "latin_square" and params.get("num_steps", 0) > 2:
                continue  # about 25 s each in T.simulate (9 positions, MDLM)
            sampler = T.SAMPLERS[name](**params, temperature=temperature)
            yield task, sampler, literal


def run_checks(quick: bool) -> dict:
    """Compare both enumerators on small cases; failures are listed, not raised."""
    start = time.perf_counter()
    cases, worst, same_states, runs = 0, 0.0, 0, 0
    failures = []
    for task, sampler, literal in check_cases(quick):
        case = f"{sampler.describe()} on {task.name} n={task.n}"
        runs += 1
        try:
            sim = T.simulate(task, sampler)
        except Exception as error:  # a crash of T.simulate is a failure too
            failures.append(f"{case}: T.simulate raised {error!r}")
            continue
        for mode in [False, True] if literal else [False]:
            plain = plain_simulate(task, sampler, literal=mode)
            gap, where = compare(sim, plain)
            cases += 1
            worst = max(worst, gap)
            if not mode:
                same_states += plain.states_visited == sim.states_visited
            if not gap <= AGREE:
                failures.append(
                    f"{case} ({'literal' if mode else 'fast'} plain enumerator): "
                    f"|difference| = {gap:.3e} at {where}; trilemma invalid "
                    f"{sim.invalid_mass!r}, E[NFE] {sim.expected_nfe!r}; plain invalid "
                    f"{plain.invalid_mass!r}, E[NFE] {plain.expected_nfe!r}"
                )
    return {
        "simulations": runs,
        "comparisons": cases,
        "max_abs_difference": worst,
        "same_states_visited": same_states,
        "seconds": time.perf_counter() - start,
        "failures": failures,
    }


# --- timing ---------------------------------------------------------------------------


def seconds(t: float) -> str:
    """`12.3 ms` or `1.23 s`."""
    return f"{t * 1e3:.1f} ms" if t < 1 else f"{t:.2f} s"


def timed(fn, *args, **kwargs):
    """(result, wall seconds) of one call."""
    start = time.perf_counter()
    out = fn(*args, **kwargs)
    return out, time.perf_counter() - start


def bench_rows(ns):
    """Time both enumerators for every sampler and size; one dict per (sampler, n)."""
    for name in T.SAMPLERS:
        plain_times: dict[int, float] = {}
        states: dict[int, int] = {}
        for n in ns:
            task = T.make_task("shuffle_distinct", n)
            params = timed_params(name, len(task.outputs))
            sampler = T.SAMPLERS[name](**params, temperature=0.0)
            sim, first = timed(T.simulate, task, sampler)
            repeats = 1 if first > 5.0 else 2
            warm = min(timed(T.simulate, task, sampler)[1] for _ in range(repeats))
            no_entropy = min(
                timed(T.simulate, task, sampler, entropy_cells=0)[1]
                for _ in range(repeats)
            )
            states[n] = sim.states_visited
            estimate = None
            if n - 1 in plain_times and n - 2 in plain_times:
                t1, t2 = plain_times[n - 2], plain_times[n - 1]
                estimate = t2 * max(t2 / t1, states[n] / states[n - 1])
            plain_s = gap = plain_states = None
            if estimate is None or estimate <= PLAIN_CAP_S:
                plain, plain_s = timed(plain_simulate, task, sampler)
                plain_times[n] = plain_s
                plain_states = plain.states_visited
                gap, where = compare(sim, plain)
                if not gap <= AGREE:
                    raise SystemExit(
                        f"DISAGREEMENT: {sampler.describe()} on shuffle_distinct "
                        f"n={n}: |difference| = {gap:.3e} at {where}"
                    )
            shown = ", ".join(f"{key}={value}" for key, value in params.items())
            yield {
                "sampler": f"{name}({shown})",
                "n": n,
                "outcomes": len(np.asarray(task.joint.probs)),
                "states": sim.states_visited,
                "plain_states": plain_states,
                "trilemma_first_s": first,
                "trilemma_warm_s": warm,
                "trilemma_no_entropy_s": no_entropy,
                "plain_s": plain_s,
                "plain_estimate_s": estimate if plain_s is None else None,
                "max_abs_difference": gap,
                "invalid_mass": sim.invalid_mass,
                "expected_nfe": sim.expected_nfe,
                "goal_met": max(first, warm) < GOAL_S if n == 7 else None,
            }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="n = 5 only")
    parser.add_argument("--json", help="also write the rows to this JSON file")
    parser.add_argument(
        "--keep-going",
        action="store_true",
        help="time even if the agreement check fails (exit status 1 at the end)",
    )
    args = parser.parse_args()
    ns = [5] if args.quick else [5, 6, 7]

    check = run_checks(args.quick)
    if check["failures"]:
        print(
            f"CHECK FAILED: {len(check['failures'])} of {check['simulations']} cases "
            "(T.simulate against the plain enumerator):",
            file=sys.stderr,
        )
        for line in check["failures"]:
            print("  " + line, file=sys.stderr)
        if not args.keep_going:
            raise SystemExit(1)
    print(
        f"check: {check['simulations']} simulations, {check['comparisons']} "
        "comparisons with the fast and literal plain enumerators; max |difference| "
        f"= {check['max_abs_difference']:.1e} (limit {AGREE:.0e}); "
        f"{check['seconds']:.0f} s\n",
        flush=True,
    )
    header = (
        f"{'sampler (greedy)':<28} {'n':>2} {'states':>8} {'1st call':>9} "
        f"{'warm':>9} {'no H(q)':>9} {'plain':>9} {'x plain':>8} {'x no H':>7} "
        f"{'< 10 s':>6}"
    )
    print(header)
    print("-" * len(header))
    rows = []
    for row in bench_rows(ns):
        rows.append(row)
        first, warm = row["trilemma_first_s"], row["trilemma_warm_s"]
        bare = row["trilemma_no_entropy_s"]
        if row["plain_s"] is None:
            plain_text = f"~{row['plain_estimate_s']:.0f} s?"
            ratio_text = bare_text = "skip"
        else:
            plain_text = seconds(row["plain_s"])
            ratio_text = f"{row['plain_s'] / warm:.1f}x"
            bare_text = f"{row['plain_s'] / bare:.1f}x"
        goal = {None: "", True: "yes", False: "NO"}[row["goal_met"]]
        print(
            f"{row['sampler']:<28} {row['n']:>2} {row['states']:>8,} "
            f"{seconds(first):>9} {seconds(warm):>9} {seconds(bare):>9} "
            f"{plain_text:>9} {ratio_text:>8} "
            f"{bare_text:>7} {goal:>6}",
            flush=True,
        )
        if row["plain_states"] not in (None, row["states"]):
            print(f"  (plain enumerator visited {row['plain_states']:,} states)")
    print(
        "\nstates: distinct decoding states T.simulate enumerates. 1st call / warm: "
        "T.simulate wall time; no H(q): warm, without the entropy of q over invalid "
        "outputs (entropy_cells=0), which the plain enumerator does not compute. "
        "plain: the plain-Python enumerator (one call); skipped when its "
        f"extrapolated time exceeds {PLAIN_CAP_S:.0f} s. x plain, x no H: plain time "
        "/ trilemma time. < 10 s: the goal at n = 7 (worse of first and warm call)."
    )
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"check": check, "rows": rows}, f, indent=1)
    if check["failures"]:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
