"""Benchmark: the re-masking samplers' exact laws and their Monte Carlo overhead.

Two measurements, in one run (ratios are meaningful on a noisy machine, times are
not; the script prints the device kind and runs unchanged on a GPU):

* **exact law**: `trilemma.simulate` (the chain solver, `simulation._chain`) of each
  re-masking sampler on Shuffle n = 6 with the ideal model: seconds, transient
  states, E[NFE] and accuracy (issue 18's goal: under 10 s each), and for the
  samplers that lump by symmetry (`exact_canonical`) the same law over every state
  (`symmetry=False`, the baseline) and the speed-up;
* **Monte Carlo overhead**: `T.decode_batch` on B sequences against the forward
  passes alone (`bench_decode.forward_loop`: as many batched passes as the slowest
  row's steps), on the oracle model and on the shipped denoiser (its longest
  trained task, held-in prompts), so `decode / forward - 1` is what the sampler adds
  on top of the network (goal: <= 20% on the shipped model), with
  `confidence_topk` as the baseline rule in the same run.

  python experiments/bench_remasking.py [--n 6] [--batch 4096] [--repeats 5]
      [--no-shipped] [--no-exact] [--no-baseline] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import time

import jax
import jax.numpy as jnp
import numpy as np

jax.config.update("jax_enable_x64", True)

import trilemma as T  # noqa: E402
from experiments.bench_decode import best, forward_loop  # noqa: E402
from trilemma.models import weights  # noqa: E402
from trilemma.simulation._chain import simulate_chain  # noqa: E402

EXACT = [
    ("remdm", {}),
    ("remdm", {"num_steps": 3}),
    ("rcr", {"num_steps": 3}),
    ("rcr", {"num_steps": 6}),
    ("wino", {}),
    ("wino", {"threshold": 0.3}),
]
"""Settings timed exactly: ReMDM one token per step (r = n = 1, ParallelBench's
best) and two per step; RCR in 3 and in n steps; WINO at its default thresholds
(0.6, 0.9) and at 0.3. Greedy, ParallelBench's setting."""

MONTE_CARLO = [
    ("confidence_topk", {"k": 2, "temperature": 1.0}),
    ("remdm", {"num_steps": 3, "temperature": 1.0}),
    ("remdm", {"remask_number": 2, "remask_steps": 2, "temperature": 1.0}),
    ("rcr", {"num_steps": 3, "temperature": 1.0}),
    ("wino", {"threshold": 0.3, "temperature": 1.0}),
]
"""Monte Carlo settings: the baseline top-k, then the re-masking samplers. WINO's
loop steps include its leave-one-out passes (`_wino`), so `steps` counts every pass
it runs and `nfe` the WINO steps it is charged."""


def exact_laws(n: int, baseline: bool) -> list[dict]:
    task = T.make_task("shuffle", n)
    rows = []
    print(f"exact laws on shuffle n={n} (ideal model)")
    print(
        f"{'sampler':<58} {'seconds':>8} {'states':>8} {'E[NFE]':>7} {'acc':>7} "
        f"{'full s':>8} {'speed-up':>8}"
    )
    for name, params in EXACT:
        sampler = T.make_sampler(name, **params)
        start = time.perf_counter()
        sim = T.simulate(task, sampler)
        seconds = time.perf_counter() - start
        row = {
            "sampler": sampler.describe(),
            "seconds": seconds,
            "states": sim.states_visited,
            "expected_nfe": sim.expected_nfe,
            "accuracy": sim.accuracy(),
        }
        # the same law over every state, without lumping by the positions' symmetry
        full = ""
        if baseline and hasattr(sampler, "exact_canonical"):
            start = time.perf_counter()
            whole = simulate_chain(task, sampler, symmetry=False)
            row["full_seconds"] = time.perf_counter() - start
            row["full_states"] = whole.states_visited
            full = f"{row['full_seconds']:8.2f} {row['full_seconds'] / seconds:7.0f}x"
        rows.append(row)
        print(
            f"{sampler.describe():<58} {seconds:8.2f} {sim.states_visited:8d} "
            f"{sim.expected_nfe:7.3f} {sim.accuracy():7.4f} {full}",
            flush=True,
        )
    return rows


def overhead(model, tokens, label: str, repeats: int) -> list[dict]:
    rows = []
    print(f"Monte Carlo on {label}: batch {tokens.shape[0]}, S = {tokens.shape[1]}")
    print(
        f"{'sampler':<58} {'steps':>5} {'E[NFE]':>6} {'decode':>9} {'forward':>9} "
        f"{'ratio':>6}"
    )
    for name, params in MONTE_CARLO:
        sampler = T.make_sampler(name, **params)
        key = jax.random.key(1)
        start = time.perf_counter()
        result = T.decode_batch(sampler, model, key, tokens, record_steps=True)
        jax.block_until_ready(result)
        first = time.perf_counter() - start
        # the batched while-loop runs until its slowest row is done (its last step
        # commits, also for WINO, whose leave-one-out passes commit nothing)
        steps = int(np.max(np.nonzero(np.asarray(result.committed).any(0))[0])) + 1
        nfe = float(np.mean(np.asarray(result.nfe)))
        decode_s = best(
            lambda s=sampler, k=key: T.decode_batch(s, model, k, tokens), repeats
        )
        forward_s = best(forward_loop(model, tokens, steps), repeats)
        rows.append(
            {
                "model": label,
                "sampler": sampler.describe(),
                "steps": steps,
                "mean_nfe": nfe,
                "first_call_s": first,
                "decode_s": decode_s,
                "forward_s": forward_s,
                "ratio": decode_s / forward_s,
            }
        )
        print(
            f"{sampler.describe():<58} {steps:5d} {nfe:6.2f} {decode_s:9.4f} "
            f"{forward_s:9.4f} "
            f"{decode_s / forward_s:6.2f}",
            flush=True,
        )
    return rows


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=6)
    parser.add_argument("--batch", type=int, default=4096)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--no-shipped", action="store_true")
    parser.add_argument("--no-exact", action="store_true")
    parser.add_argument(
        "--no-baseline",
        action="store_true",
        help="skip the exact laws without the symmetry lumping (minutes)",
    )
    parser.add_argument("--json", help="also write the results to this file")
    args = parser.parse_args(argv)
    device = jax.devices()[0]
    print(f"device: {device.device_kind} ({jax.device_count()} x {device.platform})")

    results = {
        "exact": [] if args.no_exact else exact_laws(args.n, not args.no_baseline),
        "monte_carlo": [],
    }
    task = T.make_task("shuffle_distinct", args.n)
    model = T.oracle_model(task)
    tokens = jnp.asarray(
        np.tile(model.layout.initial_tokens(0), (args.batch, 1)), jnp.int32
    )
    results["monte_carlo"] += overhead(
        model, tokens, f"the oracle of shuffle_distinct n={args.n}", args.repeats
    )
    if not args.no_shipped:
        shipped = weights.resolve_model("default", "denoiser")
        task_set = shipped.task_set
        longest = max(task_set.groups, key=lambda g: task_set.output_length(*g))
        held_in, _ = task_set.evaluation_pair(*longest, num_prompts=8, seed=0)
        trained = shipped.model(held_in)
        prompts = np.arange(args.batch) % 8
        tokens = jnp.asarray(trained.layout.initial_tokens(prompts), jnp.int32)
        label = f"the shipped denoiser, {longest[0]} n={longest[1]}"
        results["monte_carlo"] += overhead(trained, tokens, label, args.repeats)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=2)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
