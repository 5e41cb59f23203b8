"""Benchmark: Monte Carlo sampling on the shipped model, against two baselines.

On the shipped denoiser and its longest trained task (latin_square n=3, L = 9
outputs), held-in evaluation prompts, `confidence_topk` at temperature 1 (LLaDA's
`low_confidence` remasking; k = 1 token per step, and k = 3), this times, in one run
and after compilation, the same N samples (default 10,000 = 8 prompts x 1,250, keys
`sample_keys(seed, prompt, sample)`) drawn by:

* trilemma: `T.decode_batch` on batches of `--batch` rows (the compiled decoder),
  each batch timed `--repeats` times, the best kept;
* a per-sample loop: `T.decode` (the same jitted decoder, one row per call), timed on
  `--loop-samples` samples and extrapolated to N;
* NumPy LLaDA: LLaDA's `generate` loop (ML-GSAI/LLaDA generate.py: Gumbel-max draw in
  float64, `low_confidence` remasking, top-k per row with the
  `get_num_transfer_tokens` schedule, one block), a Python loop over the steps with a
  batched NumPy forward pass of the same transformer and weights (checked against
  the JAX logits), timed on `--numpy-samples` rows and extrapolated to N;
* the forward passes alone: a compiled loop of as many batched passes as the decoder
  takes, on the same batches (`bench_decode.forward_loop`), each timed right after
  the same batch's decode, so `decode / forward - 1` is what the sampler adds on top
  of the network.

Goals (measured in the same run, so ratios are meaningful on a noisy machine, times
are not): trilemma >= 50x the per-sample loop, >= 3x NumPy LLaDA, sampler overhead
<= 20%. Compile time is reported separately. Last, peak memory: `trilemma sample`
(the oracle on shuffle n=4, confidence_topk k=2, batch 4096, one prompt) at 10^4,
10^5 and 10^6 samples, each in its own subprocess, with its max RSS, wall time and
file size, to show that memory stays flat as the sample count grows (it streams one
batch at a time). The script prints the device kind and runs unchanged on a GPU
(the NumPy baseline stays on the host; the RSS is host memory).

  python experiments/bench_sample.py [--samples 10000] [--batch 2000] [--quick]
      [--loop-samples 200] [--numpy-samples 1000] [--k 1 3] [--no-memory]
      [--memory-sizes 10000 100000 1000000] [--json out.json]
"""

from __future__ import annotations

import argparse
import functools
import json
import math
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402

jax.config.update("jax_enable_x64", True)

import trilemma as T  # noqa: E402
from experiments.bench_decode import forward_loop  # noqa: E402
from trilemma.models import weights  # noqa: E402
from trilemma.sampling import sample_keys  # noqa: E402

GOALS = {"loop": 50.0, "llada": 3.0, "overhead": 0.20}
"""trilemma / per-sample loop, trilemma / NumPy LLaDA, decode / forward - 1."""

MEMORY_COMMAND = (
    "sample --task shuffle --n 4 --sampler confidence_topk --k 2 --temperature 1 "
    "--num-prompts 1 --batch-size 4096 --json"
).split()
"""`trilemma sample` flags of the memory runs (plus --samples-per-prompt and -o)."""

RSS_WRAPPER = """
import json, resource, subprocess, sys, time
start = time.perf_counter()
done = subprocess.run(sys.argv[1:], capture_output=True, text=True)
seconds = time.perf_counter() - start
rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
scale = 1 if sys.platform == "darwin" else 1024  # bytes on macOS, KiB on Linux
print(json.dumps({"rc": done.returncode, "stdout": done.stdout,
                  "stderr": done.stderr[-2000:], "seconds": seconds,
                  "max_rss_bytes": rss * scale}))
"""
"""Runs one command as its only child and prints that child's peak RSS."""


# --- the NumPy baseline -----------------------------------------------------------


def numpy_params(params) -> dict:
    """The parameter pytree as NumPy arrays (the model's own float32)."""
    return jax.tree_util.tree_map(np.asarray, params)


def _layer_norm(x, gain, bias, eps=1e-5):
    mean = x.mean(axis=-1, keepdims=True)
    var = ((x - mean) ** 2).mean(axis=-1, keepdims=True)
    return (x - mean) / np.sqrt(var + eps) * gain + bias


def _gelu(x):
    """`jax.nn.gelu`'s default, the tanh approximation."""
    return 0.5 * x * (1.0 + np.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * x**3)))


def numpy_logits(config, p: dict, tokens: np.ndarray) -> np.ndarray:
    """`(B, S, V)` logits of `transformer_logits_fn(config)` on `(B, S)` tokens.

    The same network in NumPy: token embeddings plus position embeddings (from the
    first non-PAD token and from SEP when `config.segments`, else absolute),
    pre-LayerNorm blocks (attention with PAD keys masked out, causal if asked;
    tanh-GELU MLP), final LayerNorm, output projection. Dense layers run as one
    `(B*S, d)` matrix product each.
    """
    batch, length = tokens.shape
    d, heads = config.width, config.heads
    head = d // heads
    i = np.arange(length)
    visible = np.ones(tokens.shape, bool)
    if config.segments is None:
        positions = p["position"][:length][None]
    else:
        pad, sep = config.segments
        visible = tokens != pad
        start = np.argmax(tokens != pad, axis=1)[:, None]
        has_sep = (tokens == sep).any(axis=1)
        at_sep = np.where(has_sep, np.argmax(tokens == sep, axis=1), length - 1)[
            :, None
        ]
        # negative indices wrap around, as JAX's gather does
        positions = (
            p["position"][i[None] - start]
            + p["sep_position"][i[None] - at_sep + config.sequence_length - 1]
        )
    x = p["embed"][tokens] + positions
    allowed = np.broadcast_to(visible[:, None, None, :], (batch, 1, length, length))
    if config.causal:
        allowed = allowed & np.tril(np.ones((length, length), bool)) | np.eye(
            length, dtype=bool
        )
    blocks = p["blocks"]
    for layer in range(config.depth):
        b = {name: value[layer] for name, value in blocks.items()}
        h = _layer_norm(x, b["ln1_gain"], b["ln1_bias"]).reshape(batch * length, d)
        qkv = (h @ b["qkv"]).reshape(batch, length, 3, heads, head)
        q, k, v = (qkv[:, :, j].transpose(0, 2, 1, 3) for j in range(3))
        scores = q @ k.transpose(0, 1, 3, 2) / np.float32(math.sqrt(head))
        scores = np.where(allowed, scores, -np.inf)
        scores = np.exp(scores - scores.max(axis=-1, keepdims=True))
        attended = (scores / scores.sum(axis=-1, keepdims=True)) @ v
        attended = attended.transpose(0, 2, 1, 3).reshape(batch * length, d)
        x = x + (attended @ b["out"]).reshape(batch, length, d)
        h = _layer_norm(x, b["ln2_gain"], b["ln2_bias"]).reshape(batch * length, d)
        h = _gelu(h @ b["mlp_in"] + b["mlp_in_bias"])
        x = x + (h @ b["mlp_out"] + b["mlp_out_bias"]).reshape(batch, length, d)
    x = _layer_norm(x, p["final_gain"], p["final_bias"])
    return x @ p["unembed"] + p["unembed_bias"]


def get_num_transfer_tokens(mask_index: np.ndarray, steps: int) -> np.ndarray:
    """LLaDA's schedule: `(B, steps)` tokens per step, the remainder first."""
    mask_num = mask_index.sum(axis=1, keepdims=True)
    base, remainder = mask_num // steps, mask_num % steps
    return base + (np.arange(steps)[None] < remainder).astype(base.dtype)


def llada_generate(
    config, p, tokens, *, prefix, steps, mask_id, rng, chunk=2048
) -> np.ndarray:
    """LLaDA's `generate` (one block, temperature 1, `low_confidence`), batched.

    A Python loop over `steps`; each step runs the NumPy forward pass on every row
    (`chunk` rows per call), draws x0 by Gumbel-max in float64 (LLaDA's
    `add_gumbel_noise`: exp(logits) / -log(u)), scores it by its softmax
    probability, keeps x0 at masked positions only, and commits the top-k confident
    positions of each row, k from `get_num_transfer_tokens`. The mask token's logit
    is -inf (trilemma never draws it; LLaDA's model has learned not to).
    """
    x = np.array(tokens)
    transfer_counts = get_num_transfer_tokens(x[:, prefix:] == mask_id, steps)
    positions = np.broadcast_to(np.arange(x.shape[1]), x.shape)
    for i in range(steps):
        mask_index = x == mask_id
        logits = np.concatenate(
            [
                numpy_logits(config, p, x[first : first + chunk])
                for first in range(0, len(x), chunk)
            ]
        ).astype(np.float64)
        logits[..., mask_id] = -np.inf
        gumbel = -np.log(rng.random(logits.shape))  # temperature 1
        x0 = np.argmax(np.exp(logits) / gumbel, axis=-1)
        probs = np.exp(logits - logits.max(axis=-1, keepdims=True))
        probs /= probs.sum(axis=-1, keepdims=True)
        x0_p = np.take_along_axis(probs, x0[..., None], axis=-1)[..., 0]
        x0 = np.where(mask_index, x0, x)
        confidence = np.where(mask_index, x0_p, -np.inf)
        # torch.topk of each row, for the whole batch: rank positions by confidence
        order = np.argsort(-confidence, axis=1, kind="stable")
        rank = np.empty_like(order)
        np.put_along_axis(rank, order, positions, axis=1)
        transfer = rank < transfer_counts[:, i : i + 1]
        x[transfer] = x0[transfer]
    return x


# --- timing -----------------------------------------------------------------------


def timed(fn) -> tuple[object, float]:
    """`(fn(), seconds)`, blocking until the result is ready."""
    start = time.perf_counter()
    out = jax.block_until_ready(fn())
    return out, time.perf_counter() - start


def bench_sampler(args, shipped, model, task, keys, tokens, prompt_ids, k: int):
    """Every method's seconds for N samples of `confidence_topk(k)`."""
    sampler = T.SAMPLERS["confidence_topk"](k=k, temperature=1.0)
    total = len(tokens)
    batch = min(args.batch, total)
    row_batches = [(a, min(a + batch, total)) for a in range(0, total, batch)]
    if row_batches[-1][1] - row_batches[-1][0] != batch:  # one compiled shape
        row_batches[-1] = (total - batch, total)

    decode_fns = [
        functools.partial(T.decode_batch, sampler, model, keys[a:b], tokens[a:b])
        for a, b in row_batches
    ]
    first_out, first_call = timed(decode_fns[0])  # compiles the decoder
    steps = int(np.max(np.asarray(first_out.nfe)))  # the schedule's step count
    forward_fns = [forward_loop(model, tokens[a:b], steps) for a, b in row_batches]
    _, forward_first = timed(forward_fns[0])
    # each batch's decode, then its forward passes alone, `repeats` times; the best
    # time of each batch, summed (the machine may be shared: pairs stay close)
    decode_t = np.zeros((args.repeats, len(row_batches)))
    forward_t = np.zeros_like(decode_t)
    outs = [None] * len(row_batches)
    for r in range(args.repeats):
        for j in range(len(row_batches)):
            outs[j], decode_t[r, j] = timed(decode_fns[j])
            _, forward_t[r, j] = timed(forward_fns[j])
    decode_s, forward_s = decode_t.min(0).sum(), forward_t.min(0).sum()
    compile_s = max(first_call - decode_t[:, 0].min(), 0.0)
    forward_compile_s = max(forward_first - forward_t[:, 0].min(), 0.0)
    paired = decode_t / forward_t - 1.0
    decoded = np.zeros_like(np.asarray(tokens))
    nfe = np.zeros(total, int)
    for (a, b), out in zip(row_batches, outs, strict=True):
        decoded[a:b] = np.asarray(out.tokens)
        nfe[a:b] = np.asarray(out.nfe)
    steps = int(nfe.max())

    # the per-sample loop: the same jitted decoder, one row per call
    host_tokens = np.asarray(tokens)
    count = min(args.loop_samples, total)
    T.decode(sampler, model, keys[0], host_tokens[0]).tokens.block_until_ready()
    start = time.perf_counter()
    looped = [
        np.asarray(T.decode(sampler, model, keys[r], host_tokens[r]).tokens)
        for r in range(count)
    ]
    loop_timed = time.perf_counter() - start
    loop_s = loop_timed * total / count
    loop_same = bool(np.array_equal(np.stack(looped), decoded[:count]))

    # NumPy LLaDA on a subset of the rows (every prompt), extrapolated
    subset = np.linspace(0, total - 1, min(args.numpy_samples, total)).astype(int)
    params = numpy_params(model.params)
    layout = model.layout
    start = time.perf_counter()
    llada = llada_generate(
        shipped.config,
        params,
        host_tokens[subset],
        prefix=layout.prefix_length,
        steps=math.ceil(layout.output_length / k),
        mask_id=int(layout.mask_id),
        rng=np.random.default_rng(args.seed),
        chunk=args.numpy_chunk,
    )
    llada_timed = time.perf_counter() - start
    llada_s = llada_timed * total / len(subset)

    ok_trilemma = task.grade(prompt_ids, layout.outputs(decoded)).mean()
    ok_llada = task.grade(prompt_ids[subset], layout.outputs(llada)).mean()
    # the same law? per-position marginals against those of the trilemma samples,
    # beside the distance between two disjoint sets of trilemma samples of that size
    outputs = layout.outputs(decoded)
    others = np.setdiff1d(np.arange(total), subset)[: len(subset)]
    vocab = layout.vocab_size
    tv_llada = marginal_tv(layout.outputs(llada), outputs[others], vocab)
    tv_noise = marginal_tv(outputs[subset], outputs[others], vocab)
    return {
        "sampler": sampler.describe(),
        "k": k,
        "steps": steps,
        "batch": batch,
        "num_batches": len(row_batches),
        "decode_s": decode_s,
        "compile_s": compile_s,
        "forward_s": forward_s,
        "forward_compile_s": forward_compile_s,
        "repeats": args.repeats,
        "loop_s": loop_s,
        "loop_timed_samples": count,
        "loop_timed_s": loop_timed,
        "loop_same_tokens": loop_same,
        "llada_s": llada_s,
        "llada_timed_samples": len(subset),
        "llada_timed_s": llada_timed,
        "accuracy_trilemma": float(ok_trilemma),
        "accuracy_llada": float(ok_llada),
        "marginal_tv_llada": tv_llada,
        "marginal_tv_noise": tv_noise,
        "vs_loop": loop_s / decode_s,
        "vs_llada": llada_s / decode_s,
        "overhead": decode_s / forward_s - 1.0,
        "overhead_paired": paired.tolist(),
    }


def marginal_tv(a: np.ndarray, b: np.ndarray, vocab: int) -> float:
    """Mean over positions of the total variation between two samples' marginals."""
    tv = [
        0.5
        * np.abs(
            np.bincount(a[:, j], minlength=vocab) / len(a)
            - np.bincount(b[:, j], minlength=vocab) / len(b)
        ).sum()
        for j in range(a.shape[1])
    ]
    return float(np.mean(tv))


def memory_run(samples: int, directory: str) -> dict:
    """Peak RSS, seconds and file size of one `trilemma sample` run (a subprocess)."""
    path = os.path.join(directory, f"samples_{samples}.jsonl")
    command = [sys.executable, "-m", "trilemma.cli", *MEMORY_COMMAND]
    command += ["--samples-per-prompt", str(samples), "-o", path]
    done = subprocess.run(
        [sys.executable, "-c", RSS_WRAPPER, *command],
        capture_output=True,
        text=True,
        check=True,
    )
    result = json.loads(done.stdout)
    if result["rc"] != 0:
        raise RuntimeError(f"trilemma sample failed: {result['stderr']}")
    summary = json.loads(result["stdout"].strip().splitlines()[-1])
    size = os.path.getsize(path)
    os.unlink(path)
    return {
        "samples": samples,
        "max_rss_mib": result["max_rss_bytes"] / 2**20,
        "wall_s": result["seconds"],
        "sample_s": summary["seconds"],
        "compile_s": summary["compile_seconds"],
        "file_mib": size / 2**20,
    }


# --- the report -------------------------------------------------------------------


def verdict(ok: bool) -> str:
    return "met" if ok else "NOT met"


def print_sampler(r: dict, total: int) -> None:
    print(
        f"\n{r['sampler']}: {r['steps']} steps; trilemma batch {r['batch']:,} "
        f"({r['num_batches']} call(s) of T.decode_batch)"
    )
    rows = [
        ("trilemma T.decode_batch", r["decode_s"], ""),
        ("forward passes alone", r["forward_s"], "same batches, same steps"),
        (
            "per-sample T.decode loop",
            r["loop_s"],
            f"{r['loop_timed_samples']} timed, extrapolated",
        ),
        (
            "NumPy LLaDA generate",
            r["llada_s"],
            f"{r['llada_timed_samples']:,} timed, extrapolated"
            if r["llada_timed_samples"] < total
            else "",
        ),
    ]
    print(
        f"  {'method':<26} {f's/{total:,}':>10} {'samples/s':>11} "
        f"{'vs trilemma':>11}  note"
    )
    for name, seconds, note in rows:
        print(
            f"  {name:<26} {seconds:>10.2f} {total / seconds:>11,.0f} "
            f"{seconds / r['decode_s']:>10.2f}x  {note}"
        )
    paired = np.asarray(r["overhead_paired"])
    print(
        f"  sampler overhead, decode / forward - 1: {r['overhead']:+.1%} (best of "
        f"{r['repeats']} per batch; each batch's back-to-back pair: min "
        f"{paired.min():+.1%}, median {np.median(paired):+.1%}, max "
        f"{paired.max():+.1%})"
    )
    print(
        f"  compile (first call minus a warm one): decoder {r['compile_s']:.2f} s, "
        f"forward loop {r['forward_compile_s']:.2f} s"
    )
    print(
        f"  per-sample loop tokens equal the batched ones: "
        f"{'yes' if r['loop_same_tokens'] else 'NO'}; task accuracy: trilemma "
        f"{r['accuracy_trilemma']:.3f}, NumPy LLaDA {r['accuracy_llada']:.3f}"
    )
    print(
        "  same law: mean per-position TV of NumPy LLaDA vs trilemma marginals "
        f"{r['marginal_tv_llada']:.3f} (two disjoint trilemma sets of that size: "
        f"{r['marginal_tv_noise']:.3f})"
    )


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=10_000, help="N (default 10000)")
    parser.add_argument("--prompts", type=int, default=8, help="held-in prompts")
    parser.add_argument("--batch", type=int, default=2000, help="trilemma batch rows")
    parser.add_argument("--repeats", type=int, default=2, help="timed decode rounds")
    parser.add_argument("--loop-samples", type=int, default=200)
    parser.add_argument(
        "--numpy-samples", type=int, default=1000, help="rows NumPy LLaDA is timed on"
    )
    parser.add_argument("--numpy-chunk", type=int, default=2048)
    parser.add_argument("--k", type=int, nargs="+", default=[1, 3])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--memory-sizes", type=int, nargs="*", default=[10**4, 10**5, 10**6]
    )
    parser.add_argument("--no-memory", action="store_true")
    parser.add_argument("--quick", action="store_true", help="a tiny run")
    parser.add_argument("--json", help="also write the results to this file")
    args = parser.parse_args(argv)
    if args.quick:
        args.samples, args.batch = min(args.samples, 256), min(args.batch, 128)
        args.loop_samples, args.numpy_samples = 16, 64
        args.memory_sizes = [10**3, 10**4]

    shipped = weights.resolve_model("default", "denoiser")
    task_set = shipped.task_set
    # the longest trained task: latin_square n=3 (L = 9) for the shipped model
    longest = max(task_set.groups, key=lambda g: task_set.output_length(*g))
    held_in, _ = task_set.evaluation_pair(*longest, num_prompts=args.prompts, seed=0)
    model = shipped.model(held_in)
    per_prompt = -(-args.samples // args.prompts)
    rows = np.arange(args.samples)
    prompt_ids = rows // per_prompt
    keys = sample_keys(args.seed, prompt_ids, rows % per_prompt)
    tokens = jnp.asarray(model.layout.initial_tokens(prompt_ids), jnp.int32)

    device = jax.devices()[0]
    n_params = sum(int(a.size) for a in jax.tree_util.tree_leaves(model.params))
    print(
        f"device: {device.device_kind} ({jax.device_count()} x {device.platform}); "
        f"host CPUs {os.cpu_count()}"
    )
    print(
        f"model: {shipped.name} ({n_params:,} parameters, float32); its longest "
        f"trained task {longest[0]} n={longest[1]}: L = "
        f"{model.layout.output_length}, S = {model.layout.sequence_length}; "
        f"{args.prompts} held-in prompts x {per_prompt:,} = {args.samples:,} samples"
    )

    # the NumPy network against the JAX one, on initial and half-decoded rows
    check = np.asarray(tokens[:: max(1, args.samples // 8)][:8])
    partial = np.asarray(
        T.decode_batch(
            T.SAMPLERS["confidence_topk"](k=1, temperature=1.0),
            model,
            keys[: len(check)],
            check,
        ).tokens
    )
    hide = np.random.default_rng(1).random(partial.shape) < 0.5
    hide[:, : model.layout.prefix_length] = False
    partial = np.where(hide, model.layout.mask_id, partial)
    rows_check = np.concatenate([check, partial])
    want = np.asarray(
        jax.jit(jax.vmap(model.logits_fn, in_axes=(None, 0)))(
            model.params, jnp.asarray(rows_check)
        )
    )
    got = numpy_logits(shipped.config, numpy_params(model.params), rows_check)
    diff = float(np.abs(got - want).max())
    print(
        f"NumPy forward vs JAX logits on {len(rows_check)} rows: max abs difference "
        f"{diff:.2e} (logits up to {np.abs(want).max():.1f}; "
        f"{'ok' if diff <= 1e-4 else 'LARGER than 1e-4'})"
    )

    results = []
    for k in args.k:
        results.append(
            bench_sampler(args, shipped, model, held_in, keys, tokens, prompt_ids, k)
        )
        print_sampler(results[-1], args.samples)

    memory = []
    if not args.no_memory:
        print(
            "\npeak memory of `trilemma sample` (oracle, shuffle n=4, "
            "confidence_topk k=2, T=1, batch 4096, 1 prompt), one subprocess per size:"
        )
        print(
            f"  {'samples':>9} {'max RSS MiB':>11} {'wall s':>7} {'sampling s':>10} "
            f"{'1st batch s':>11} {'file MiB':>9} {'samples/s':>10}"
        )
        with tempfile.TemporaryDirectory() as directory:
            for samples in args.memory_sizes:
                m = memory_run(samples, directory)
                memory.append(m)
                print(
                    f"  {samples:>9,} {m['max_rss_mib']:>11.0f} {m['wall_s']:>7.1f} "
                    f"{m['sample_s']:>10.1f} {m['compile_s']:>11.1f} "
                    f"{m['file_mib']:>9.1f} {samples / m['sample_s']:>10,.0f}"
                )
        print(
            "  (sampling s: decoding and writing, first batch with its compilation "
            "included; wall s: the whole process)"
        )
        if len(memory) > 1:
            growth = memory[-1]["max_rss_mib"] / memory[0]["max_rss_mib"]
            print(
                f"  peak RSS at {memory[-1]['samples']:,} / at "
                f"{memory[0]['samples']:,} samples: {growth:.2f}x for "
                f"{memory[-1]['samples'] // memory[0]['samples']:,}x the samples "
                f"({'flat' if growth <= 1.25 else 'growing'}; host RSS)"
            )

    print("\ntargets:")
    for r in results:
        print(
            f"  {r['sampler']}: >= {GOALS['loop']:.0f}x per-sample loop "
            f"{verdict(r['vs_loop'] >= GOALS['loop'])} ({r['vs_loop']:.1f}x); >= "
            f"{GOALS['llada']:.0f}x NumPy LLaDA "
            f"{verdict(r['vs_llada'] >= GOALS['llada'])} ({r['vs_llada']:.2f}x); "
            f"overhead <= {GOALS['overhead']:.0%} "
            f"{verdict(r['overhead'] <= GOALS['overhead'])} ({r['overhead']:+.1%})"
        )
    if args.json:
        with open(args.json, "w") as f:
            json.dump(
                {
                    "device": device.device_kind,
                    "platform": device.platform,
                    "logits_max_abs_diff": diff,
                    "samplers": results,
                    "memory": memory,
                },
                f,
                indent=2,
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
