"""Benchmark: trilemma's exact kernels against straightforward NumPy, in one run.

For each quantity and size, prints the best-of-r wall time of trilemma (jitted, after
one warm-up call whose compile time is reported separately), of a plain NumPy
implementation of the same quantity, and of one memory pass over the input (a NumPy
sum over the same array). Ratios are measured in the same run, so they are meaningful
on a noisy machine; absolute times are not.

  python experiments/bench_exact.py [--quick] [--json out.json]
"""

from __future__ import annotations

import argparse
import functools
import itertools
import json
import math
import time

import jax
import numpy as np

jax.config.update("jax_enable_x64", True)

import jax.numpy as jnp  # noqa: E402

import trilemma as T  # noqa: E402


def best_time(fn, *args, repeats: int = 3) -> float:
    """Best wall time of `fn(*args)` over `repeats` calls (results blocked on)."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        jax.block_until_ready(fn(*args))
        times.append(time.perf_counter() - start)
    return min(times)


def compile_and_time(fn, *args, repeats: int = 3) -> tuple[float, float]:
    """(first call time, best later time)."""
    start = time.perf_counter()
    jax.block_until_ready(fn(*args))
    first = time.perf_counter() - start
    return first, best_time(fn, *args, repeats=repeats)


# --- straightforward NumPy baselines -------------------------------------------------


def np_entropy(p: np.ndarray) -> float:
    nz = p[p > 0]
    return float(-np.sum(nz * np.log(nz)))


def np_tv(p: np.ndarray, q: np.ndarray) -> float:
    return float(0.5 * np.abs(p - q).sum())


def np_tc_dense(p: np.ndarray, given: tuple[int, ...]) -> float:
    outputs = [i for i in range(p.ndim) if i not in given]

    def h(keep):
        drop = tuple(i for i in range(p.ndim) if i not in keep)
        return np_entropy(p.sum(axis=drop) if drop else p)

    hx = h(given)
    return (
        sum(h(tuple(given) + (i,)) for i in outputs)
        - (len(outputs) - 1) * hx
        - h(tuple(range(p.ndim)))
    )


def np_group_entropy(outcomes: np.ndarray, probs: np.ndarray, cols) -> float:
    if not cols:
        return 0.0
    dims = [int(outcomes[:, c].max()) + 1 for c in cols]
    keys = np.ravel_multi_index(
        tuple(outcomes[:, c].astype(np.int64) for c in cols), dims
    )
    _, inverse = np.unique(keys, return_inverse=True)
    return np_entropy(np.bincount(inverse, weights=probs))


def np_tc_sparse(outcomes, probs, given, outputs) -> float:
    hx = np_group_entropy(outcomes, probs, list(given))
    singles = sum(np_group_entropy(outcomes, probs, list(given) + [j]) for j in outputs)
    return singles - (len(outputs) - 1) * hx - np_entropy(probs)


def np_t_step_sparse(outcomes, probs, given, steps) -> float:
    prefix = list(given)
    total = 0.0
    for step in steps:
        base = np_group_entropy(outcomes, probs, prefix)
        total += sum(
            np_group_entropy(outcomes, probs, prefix + [j]) - base for j in step
        )
        prefix += list(step)
    return total - (np_entropy(probs) - np_group_entropy(outcomes, probs, list(given)))


# --- benchmark rows -----------------------------------------------------------------


def dense_rows(cells_list, repeats):
    rng = np.random.default_rng(0)
    for cells in cells_list:
        d = round(math.log10(cells))
        shape = (10,) * d
        p = rng.random(shape)
        p[p < 0.1] = 0
        p /= p.sum()
        q = rng.random(shape)
        q /= q.sum()
        jp, jq = jnp.asarray(p), jnp.asarray(q)
        given = (0,)
        one_pass = best_time(np.sum, p, repeats=repeats)
        cases = [
            ("TV", jax.jit(T.total_variation_distance), (jp, jq), np_tv, (p, q), 2),
            ("entropy", jax.jit(T.entropy), (jp,), np_entropy, (p,), 1),
            (
                "C(Y|X)",
                jax.jit(functools.partial(T.total_correlation, given=given)),
                (jp,),
                functools.partial(np_tc_dense, given=given),
                (p,),
                1,
            ),
        ]
        for name, ours, ours_args, base, base_args, passes in cases:
            first, t_ours = compile_and_time(ours, *ours_args, repeats=repeats)
            t_np = best_time(base, *base_args, repeats=repeats)
            got, want = float(ours(*ours_args)), float(base(*base_args))
            assert math.isclose(got, want, rel_tol=1e-9, abs_tol=1e-12), (
                name,
                got,
                want,
            )
            yield {
                "quantity": name,
                "input": f"dense {cells:.0e} cells",
                "trilemma_s": t_ours,
                "first_call_s": first,
                "numpy_s": t_np,
                "one_pass_s": one_pass * passes,
            }


def sparse_rows(ns, repeats):
    for n in ns:
        task = T.make_task("shuffle", n)
        joint = task.joint
        outcomes, probs = np.asarray(joint.outcomes), np.asarray(joint.probs)
        given, outputs = task.given, task.outputs
        steps = [outputs[i : i + 2] for i in range(0, len(outputs), 2)]
        one_pass = best_time(
            lambda o, p: (o.sum(), p.sum()), outcomes, probs, repeats=repeats
        )
        cases = [
            (
                "C(Y|X)",
                jax.jit(functools.partial(T.total_correlation, given=given)),
                functools.partial(np_tc_sparse, outcomes, probs, given, outputs),
            ),
            (
                "L_T (2 per step)",
                jax.jit(
                    functools.partial(T.t_step_bound, partition=steps, given=given)
                ),
                functools.partial(np_t_step_sparse, outcomes, probs, given, steps),
            ),
        ]
        for name, ours, base in cases:
            first, t_ours = compile_and_time(ours, joint, repeats=repeats)
            t_np = best_time(base, repeats=1 if n >= 10 else repeats)
            got, want = float(ours(joint)), float(base())
            assert math.isclose(got, want, rel_tol=1e-9), (name, got, want)
            yield {
                "quantity": name,
                "input": f"sparse shuffle n={n} ({len(probs):,} rows)",
                "trilemma_s": t_ours,
                "first_call_s": first,
                "numpy_s": t_np,
                "one_pass_s": one_pass,
            }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes only")
    parser.add_argument("--json", help="also write the rows to this JSON file")
    args = parser.parse_args()
    cells = [10**6] if args.quick else [10**6, 10**7, 10**8]
    ns = [8] if args.quick else [8, 9, 10]
    repeats = 3
    header = (
        f"{'quantity':<18} {'input':<34} {'trilemma':>10} {'numpy':>10} "
        f"{'x numpy':>8} {'x 1 pass':>9} {'1st call':>9}"
    )
    print(header)
    print("-" * len(header))
    rows = []
    for row in itertools.chain(dense_rows(cells, repeats), sparse_rows(ns, repeats)):
        rows.append(row)
        ours, numpy_s = row["trilemma_s"], row["numpy_s"]
        print(
            f"{row['quantity']:<18} {row['input']:<34} {ours * 1e3:>8.1f}ms "
            f"{numpy_s * 1e3:>8.1f}ms {numpy_s / ours:>7.1f}x "
            f"{ours / row['one_pass_s']:>8.1f}x {row['first_call_s'] * 1e3:>7.0f}ms",
            flush=True,
        )
    print(
        "\nx numpy: NumPy time / trilemma time (higher is better). x 1 pass: trilemma "
        "time / one NumPy sum over the input(s) (the memory-bandwidth floor). "
        "1st call includes JAX compilation."
    )
    if args.json:
        with open(args.json, "w") as f:
            json.dump(rows, f, indent=1)


if __name__ == "__main__":
    main()
