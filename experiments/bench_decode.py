"""Benchmark: what a sampler costs on top of the forward passes, and where it goes.

For every registered sampler (one parameter each, temperature 1) on a task decoded by
the oracle model, this times, in one run and after compilation:

* `decode`: `T.decode_batch` on B sequences (the one compiled batched decoder);
* `forward`: the forward passes alone: a compiled loop over the same number of steps
  that calls the model on the same batch and writes its argmax into one position per
  step (so no pass can be hoisted out of the loop);

and prints `decode / forward`, the sampler's overhead. It then breaks one step of
`confidence_topk` into its stages (forward pass, token draw, score, ranking sort,
count pmf and draw, commit), each a compiled batched function timed alone, and
prints each stage's share of their sum. Ratios are measured in the same run, so they
are meaningful on a noisy machine; absolute times are not. The script prints the
device kind and runs unchanged on a GPU.

  python experiments/bench_decode.py [--task shuffle_distinct] [--n 6]
      [--batch 4096] [--repeats 5] [--json out.json]
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
from trilemma.samplers import rules  # noqa: E402

PARAMS = {
    "random_topk": {"k": 2},
    "confidence_topk": {"k": 2},
    "margin_topk": {"k": 2},
    "entropy_topk": {"k": 2},
    "left_to_right": {"k": 2},
    "threshold": {"gamma": 0.5},
    "threshold_strict": {"gamma": 0.5},
    "factor": {"factor": 1.0},
    "eb": {"gamma": 0.5},
    "mdlm": {"num_steps": 3},
}
"""One parameter per sampler (the registry's required ones)."""


def best(fn, repeats: int) -> float:
    """Fastest of `repeats` timed calls (seconds), after one warm-up call."""
    jax.block_until_ready(fn())
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        jax.block_until_ready(fn())
        times.append(time.perf_counter() - start)
    return min(times)


def forward_loop(model, tokens, steps: int):
    """The forward passes alone: `steps` batched calls, each feeding the next."""
    batched = jax.vmap(model.logits_fn, in_axes=(None, 0))
    prefix = model.layout.prefix_length
    length = model.layout.output_length

    @jax.jit
    def run(params, tokens):
        def body(i, tokens):
            logits = batched(params, tokens)
            column = prefix + i % length
            top = jnp.argmax(logits[:, column], axis=-1).astype(tokens.dtype)
            return tokens.at[:, column].set(top)

        return jax.lax.fori_loop(0, steps, body, tokens)

    return lambda: run(model.params, tokens)


def stages(sampler, model, tokens):
    """One decoding step of `sampler`, stage by stage, as compiled batched functions."""
    mask_id = model.layout.mask_id
    length = tokens.shape[1]
    logits = jax.vmap(model.logits_fn, in_axes=(None, 0))(model.params, tokens)
    probs = jax.nn.softmax(logits.at[..., mask_id].set(-jnp.inf), axis=-1)
    keys = jax.random.split(jax.random.key(0), len(tokens))
    eligible = tokens == mask_id

    def draw(key, p):
        pi = rules.draw_distribution(p, sampler.temperature)
        u = jax.random.uniform(key, (length,), dtype=p.dtype)
        return rules.draw_index(pi, u)

    def draw_before(key, p):
        """The token draw before this decoder: Gumbel-max, one variate per entry."""
        pi = rules.draw_distribution(p, sampler.temperature)
        gumbel = jax.random.gumbel(key, pi.shape, dtype=p.dtype)
        log_pi = jnp.where(pi > 0, jnp.log(jnp.where(pi > 0, pi, 1.0)), -jnp.inf)
        return jnp.argmax(log_pi + gumbel, axis=-1)

    drawn = jax.jit(jax.vmap(draw))(keys, probs)

    def score(p, d, e):
        table = rules.quantize(sampler.score(p, jnp.arange(length)))
        s = jnp.take_along_axis(table, d[:, None], axis=-1)[:, 0]
        return jnp.where(e, s, -jnp.inf)

    scores = jax.jit(jax.vmap(score))(probs, drawn, eligible)

    def rank(key, s):
        priority = jax.random.uniform(key, (length,), dtype=s.dtype)
        neg, _, order = jax.lax.sort((-s, priority, jnp.arange(length)), num_keys=2)
        return -neg, order

    ranked, order = jax.jit(jax.vmap(rank))(keys, scores)

    def count(key, r, e):
        m = jnp.sum(e).astype(int)
        pmf = sampler.count(r, m, m, jnp.zeros((), int))
        return rules.draw_index(pmf, jax.random.uniform(key, (), dtype=r.dtype))

    counts = jax.jit(jax.vmap(count))(keys, ranked, eligible)

    def commit(o, c, e, d, t):
        chosen = jnp.zeros(length, bool).at[o].set(jnp.arange(length) < c) & e
        return jnp.where(chosen, d.astype(t.dtype), t)

    def rank_before(key, s):
        """The ranking before this decoder: a sort, then a lexsort and a scatter."""
        priority = jax.random.uniform(key, (length,), dtype=s.dtype)
        order = jnp.lexsort((priority, -s))
        rank = jnp.zeros(length, int).at[order].set(jnp.arange(length))
        return jnp.sort(s)[::-1], rank

    def compiled(fn, *args):
        fn = jax.jit(jax.vmap(fn))
        return lambda: fn(*args)

    forward = jax.jit(jax.vmap(model.logits_fn, in_axes=(None, 0)))
    return {
        "forward pass": lambda: forward(model.params, tokens),
        "token draw": compiled(draw, keys, probs),
        "score": compiled(score, probs, drawn, eligible),
        "ranking sort": compiled(rank, keys, scores),
        "count pmf and draw": compiled(count, keys, ranked, eligible),
        "commit": compiled(commit, order, counts, eligible, drawn, tokens),
    }, {
        "ranking sort": compiled(rank_before, keys, scores),
        "token draw": compiled(draw_before, keys, probs),
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--task", default="shuffle_distinct")
    parser.add_argument("--n", type=int, default=6)
    parser.add_argument("--batch", type=int, default=4096)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--json", help="also write the results to this file")
    args = parser.parse_args(argv)

    task = T.make_task(args.task, args.n)
    model = T.oracle_model(task)
    tokens = jnp.asarray(
        np.tile(model.layout.initial_tokens(0), (args.batch, 1)), jnp.int32
    )
    device = jax.devices()[0]
    print(
        f"device: {device.device_kind} ({jax.device_count()} x {device.platform}); "
        f"task {args.task} n={args.n}; batch {args.batch}; oracle model"
    )
    rows = []
    print(f"{'sampler':<34} {'steps':>5} {'decode':>10} {'forward':>10} {'ratio':>6}")
    for name, params in PARAMS.items():
        sampler = T.SAMPLERS[name](**params, temperature=1.0)
        key = jax.random.key(1)
        start = time.perf_counter()
        result = T.decode_batch(sampler, model, key, tokens, record_steps=True)
        jax.block_until_ready(result)
        first = time.perf_counter() - start
        # the batched while-loop runs until its slowest row is done
        steps = int(np.max(np.nonzero(np.asarray(result.committed).any(0))[0])) + 1
        decode_s = best(
            lambda s=sampler, k=key: T.decode_batch(s, model, k, tokens), args.repeats
        )
        forward_s = best(forward_loop(model, tokens, steps), args.repeats)
        rows.append(
            {
                "sampler": sampler.describe(),
                "steps": steps,
                "first_call_s": first,
                "decode_s": decode_s,
                "forward_s": forward_s,
                "ratio": decode_s / forward_s,
            }
        )
        r = rows[-1]
        print(
            f"{r['sampler']:<34} {steps:>5} {decode_s * 1e3:>8.1f}ms "
            f"{forward_s * 1e3:>8.1f}ms {r['ratio']:>5.2f}x"
        )
    sampler = T.SAMPLERS["confidence_topk"](k=2, temperature=1.0)
    step_stages, previous = stages(sampler, model, tokens)
    parts = {stage: best(fn, args.repeats) for stage, fn in step_stages.items()}
    total = sum(parts.values())
    print(f"\none step of {sampler.describe()}, stage by stage:")
    for stage, seconds in parts.items():
        print(f"  {stage:<20} {seconds * 1e3:8.2f} ms  {seconds / total:6.1%}")
    print("the same stages as the decoder did them before:")
    for stage, fn in previous.items():
        seconds = best(fn, args.repeats)
        print(
            f"  {stage:<20} {seconds * 1e3:8.2f} ms  "
            f"{seconds / parts[stage]:5.1f}x today's"
        )
        parts[f"{stage} (before)"] = seconds
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"device": device.device_kind, "rows": rows, "stages": parts}, f)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
