"""Benchmark: examples per second of the jitted train step; the preset's wall time.

For both embedded models of a preset (the masked-diffusion denoiser and the causal
model), on batches of the preset's mixture: the warm time of one jitted train step
(`trilemma.models.training.train_step`, or `weighted_train_step` for a preset that
draws groups by excess loss: data draw, masking, forward, backward, AdamW),
against the jitted forward pass alone on the same batch, measured in the same run, so
the ratio (what the backward pass and the update add) is stable on a noisy machine.
Compile time is reported separately. The preset's projected wall time is steps x warm
step time, per model; `summary.json` of a real run (`trilemma train -o DIR`) gives the
measured one (pass `--summary DIR/summary.json`).

  python experiments/bench_train.py [--preset default] [--repeats 20] [--steps N]
      [--summary F]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import time

import jax
import jax.numpy as jnp

from trilemma.models import data, presets, training
from trilemma.models.transformer import (
    init_params,
    num_parameters,
    transformer_logits_fn,
)


def _time(fn, repeats: int) -> float:
    fn().block_until_ready()
    start = time.perf_counter()
    for _ in range(repeats):
        out = fn()
    out.block_until_ready()
    return (time.perf_counter() - start) / repeats


def bench(recipe, kind: str, repeats: int) -> dict:
    """Warm seconds per train step and per forward pass of one model of `recipe`."""
    config = presets.model_config(recipe, kind)
    fn = transformer_logits_fn(config)
    task_set = data.TaskSet(groups=recipe.groups)
    draw = data.task_set_sampler(task_set)
    settings = recipe.settings(kind)
    batch = settings.batch_size
    weighted = recipe.group_weighting is not None
    loss = presets._loss(kind, fn, draw, task_set, batch, weighted=weighted)
    params = init_params(config, jax.random.key(0))
    opt_state = settings.optimizer().init(params)
    if weighted:  # the group-weighted step: traced group logits, per-group sums
        size = len(task_set.groups)
        logits = jnp.zeros(size, jnp.float32)
        sums, counts = jnp.zeros(size, jnp.float32), jnp.zeros(size, jnp.int32)

        def step(key):
            return training.weighted_train_step(
                params,
                opt_state,
                key,
                logits,
                sums,
                counts,
                loss_fn=loss,
                config=settings,
            )
    else:

        def step(key):
            return training.train_step(
                params, opt_state, key, loss_fn=loss, config=settings
            )

    start = time.perf_counter()
    state = step(jax.random.key(1))
    state[2].block_until_ready()
    compile_s = time.perf_counter() - start
    step_s = _time(lambda: step(jax.random.key(2))[2], repeats)
    tokens = jax.jit(draw, static_argnums=1)(jax.random.key(3), batch)
    forward = jax.jit(jax.vmap(fn, in_axes=(None, 0)))
    forward_s = _time(lambda: forward(params, tokens), repeats)
    return {
        "kind": kind,
        "parameters": num_parameters(params),
        "batch_size": batch,
        "steps": settings.steps,
        "compile_s": compile_s,
        "step_ms": 1000 * step_s,
        "forward_ms": 1000 * forward_s,
        "step_over_forward": step_s / forward_s,
        "examples_per_s": batch / step_s,
        "projected_s": settings.steps * step_s,
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    parser.add_argument("--preset", default="default")
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument(
        "--steps", type=int, help="project this many denoiser steps (AR: half)"
    )
    parser.add_argument("--summary", help="summary.json of a real `trilemma train`")
    args = parser.parse_args(argv)
    recipe = presets.preset(args.preset)
    if args.steps:
        recipe = recipe.replace(steps=args.steps)
        recipe = dataclasses.replace(recipe, autoregressive_steps=args.steps // 2)
    print(f"device: {jax.devices()[0].device_kind}; preset {recipe.name}")
    print(
        "| model | parameters | batch | steps | compile | step | forward | "
        "step / forward | examples/s | projected |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    total = 0.0
    for kind in presets.KINDS:
        r = bench(recipe, kind, args.repeats)
        total += r["projected_s"]
        print(
            f"| {kind} | {r['parameters']:,} | {r['batch_size']} | {r['steps']:,} | "
            f"{r['compile_s']:.1f} s | {r['step_ms']:.0f} ms | {r['forward_ms']:.1f} ms"
            f" | {r['step_over_forward']:.1f}x | {r['examples_per_s']:,.0f} | "
            f"{r['projected_s'] / 60:.1f} min |"
        )
    print(f"projected wall time of the preset: {total / 60:.1f} min (both models)")
    if args.summary:
        with open(args.summary) as f:
            summary = json.load(f)
        measured = sum(m["seconds"] for m in summary["models"])
        print(f"measured ({args.summary}): {measured / 60:.1f} min")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
