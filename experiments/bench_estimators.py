"""Benchmark: trilemma's estimators from samples against plain NumPy, in one run.

Two workloads on samples of L = 16 tokens in range(8), drawn with a fixed seed from
Zipf laws (probability of rank k proportional to (k + 10)^-s) over a table of
distinct sequences; prompt p ranks the table's rows differently (rank k is row
(7919 k + 104729 p) mod K), so each prompt has its own most likely outputs.

1. Estimates: N = 10^7 samples (100 prompts x 10^5, s = 1.1 over K = 5 * 10^5
   rows) and a reference sample of 10^6 (s = 1.0 over the same rows). Per prompt:
   the plug-in and Chao-Shen entropies of both sets, the coverage (recall: the
   reference sample's mass on the sample's support; precision: the sample's mass on
   the reference sample's support) and the plug-in TV between the two.
   * trilemma: `histogram` of both sets (chunked), `entropy_estimates`, and the
     alignment of the two histograms by one `sorted_segments` sort of their cells
     and jitted segment sums (written here: `estimate_point` also resamples, too
     heavy at this size). Timed on a first call (it compiles) and a second one.
   * NumPy: per prompt, `np.unique(axis=0, return_counts=True)` of both sets, the
     same formulas, and the alignment by `np.unique(axis=0, return_inverse=True)`
     of the two cell sets.
2. Bootstrap: 10^6 samples (100 prompts x 10^4, s = 1.1 over 100 rows per prompt)
   and 1,000 resamples.
   * `resample_counts` (after a warm-up call of 64 resamples) against NumPy:
     `rng.multinomial` per prompt, all resamples (the algorithm `resample_counts`
     now uses, so a ratio near 1 is the target); and
     `rng.integers` row indices with `np.unique(return_counts=True)` per prompt,
     timed on `--baseline-resamples` (20) resamples and extrapolated.
   * `estimate_point(hist, exact_reference(...), nfe, num_bootstrap=1000)` end to
     end against the exact law (s = 1.0 on the same rows), in a fresh process, so
     the time includes compilation; with `--sample-reference` also against a
     reference sample of 10^6 from that law (`sample_reference`: twice the
     resampling). No NumPy baseline: the target is seconds, not minutes.

Each variant runs in its own subprocess on data the parent wrote once (`.npy`) and
reports its peak RSS (`ru_maxrss`: host memory, with the Python and JAX runtime and
the loaded samples; the `floor` row is a process that only imports and loads the
10^7 samples). `--quick` (10^5 samples) runs every variant in this process instead,
so its RSS column is the process's running peak. Ratios are measured in the same
run, so they are meaningful on a noisy machine; absolute times are not.

  python experiments/bench_estimators.py [--quick] [--json out.json]
      [--samples 10000000] [--reference-samples 1000000] [--prompts 100]
      [--num-bootstrap 1000] [--chunk 2097152] [--sample-reference] [--in-process]
"""

from __future__ import annotations

import argparse
import functools
import json
import math
import os
import resource
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
from experiments._common import REPO_ROOT, write_json  # noqa: E402
from trilemma import estimators as E  # noqa: E402
from trilemma._kernels import sorted_segments  # noqa: E402
from trilemma.estimators._counts import DEFAULT_CHUNK  # noqa: E402

GOALS = {"speedup": 2.0, "rss_mib": 4096.0, "point_s": 60.0}
"""trilemma / NumPy on the estimates, their peak RSS, estimate_point's seconds."""

STRIDE, SHIFT, OFFSET = 7919, 104729, 10.0
"""Rank k of prompt p is table row (STRIDE k + SHIFT p) mod K; the Zipf offset."""

QUANTITIES = (
    "entropy_plugin",
    "entropy_chao_shen",
    "reference_entropy_plugin",
    "reference_entropy_chao_shen",
    "precision",
    "recall",
    "tv",
)
"""Per-prompt results of the estimates workload (entropies in nats)."""


# --- the data ---------------------------------------------------------------------


def zipf_pmf(size: int, exponent: float) -> np.ndarray:
    r"""$p_k \propto (k + 10)^{-s}$ for ranks $k <$ `size`."""
    w = (np.arange(size) + OFFSET) ** -exponent
    return w / w.sum()


def distinct_rows(count: int, length: int, vocab: int, rng) -> np.ndarray:
    """`(count, length)` distinct int8 rows, uniform among all vocab^length."""
    keys = rng.choice(vocab**length, size=count, replace=False)
    digits = vocab ** np.arange(length - 1, -1, -1, dtype=np.int64)
    return (keys[:, None] // digits % vocab).astype(np.int8)


def table_rows(ranks, prompt: int, size: int) -> np.ndarray:
    """The table row of each rank for `prompt` (a bijection of [0, `size`))."""
    return (np.asarray(ranks, np.int64) * STRIDE + prompt * SHIFT) % size


def draw(rng, table, pmf, prompts: int, per_prompt: int):
    """`(prompt_ids (N,), outputs (N, L) int8)`, `per_prompt` rows per prompt.

    Ranks are drawn from `pmf` and mapped to the prompt's order of `table`, one
    prompt at a time, so only the output array is N-sized.
    """
    cdf = np.cumsum(pmf)
    outputs = np.empty((prompts * per_prompt, table.shape[1]), np.int8)
    for p in range(prompts):
        u = rng.random(per_prompt)
        ranks = np.minimum(np.searchsorted(cdf, u, side="right"), len(pmf) - 1)
        rows = table_rows(ranks, p, len(table))
        outputs[p * per_prompt : (p + 1) * per_prompt] = table[rows]
    return np.repeat(np.arange(prompts, dtype=np.int64), per_prompt), outputs


def write_data(args, directory: Path) -> dict:
    """Draw every data set once (seeded) into `directory`; returns their sizes."""
    if math.gcd(STRIDE, args.support) != 1 or args.bootstrap_support > args.support:
        raise ValueError("--support must be coprime to 7919 and >= the bootstrap's")
    rng = np.random.default_rng(args.seed)
    table = distinct_rows(args.support, args.length, args.vocab, rng)
    per = args.samples // args.prompts
    per_ref = args.reference_samples // args.prompts
    per_boot = args.bootstrap_samples // args.prompts
    sets = {
        "sample": (zipf_pmf(args.support, 1.1), per),
        "reference": (zipf_pmf(args.support, 1.0), per_ref),
        "boot": (zipf_pmf(args.bootstrap_support, 1.1), per_boot),
        "boot_ref": (zipf_pmf(args.bootstrap_support, 1.0), per_boot),
    }
    for name, (pmf, count) in sets.items():
        ids, outputs = draw(rng, table, pmf, args.prompts, count)
        np.save(directory / f"{name}_ids.npy", ids)
        np.save(directory / f"{name}_outputs.npy", outputs)
        del ids, outputs
    np.save(directory / "boot_nfe.npy", rng.integers(4, 17, per_boot * args.prompts))
    # the exact law of the bootstrap's reference: each prompt's support rows
    ranks = np.arange(args.bootstrap_support)
    exact = {
        "prompt": np.repeat(np.arange(args.prompts), len(ranks)),
        "outcome": np.concatenate(
            [table[table_rows(ranks, p, len(table))] for p in range(args.prompts)]
        ),
        "probs": np.tile(zipf_pmf(len(ranks), 1.0), args.prompts),
    }
    for name, values in exact.items():
        np.save(directory / f"exact_{name}.npy", values)
    settings = {
        "chunk": args.chunk,
        "num_bootstrap": args.num_bootstrap,
        "baseline_resamples": min(args.baseline_resamples, args.num_bootstrap),
        "seed": args.seed,
    }
    (directory / "settings.json").write_text(json.dumps(settings))
    return {
        "samples": per * args.prompts,
        "reference_samples": per_ref * args.prompts,
        "bootstrap_samples": per_boot * args.prompts,
    }


def load(directory: Path, name: str):
    """`(prompt_ids, outputs)` of one data set."""
    return (
        np.load(directory / f"{name}_ids.npy"),
        np.load(directory / f"{name}_outputs.npy"),
    )


# --- trilemma ---------------------------------------------------------------------


@functools.partial(jax.jit, static_argnames=("radices", "num_prompts"))
def _coverage(cells, q, r, radices: tuple[int, ...], num_prompts: int):
    """Per prompt `(precision, recall, tv)` of counts `q` and `r` on stacked cells.

    `cells` `(C, 1 + L)` holds the cells of both histograms (prompt, then tokens),
    `q` the sample's counts (0 on the reference's rows) and `r` the reference's;
    the rows of one cell are grouped by one sort.
    """
    rows = cells.shape[0]
    columns = [cells[:, i] for i in range(cells.shape[1])]
    order, segment = sorted_segments(columns, radices)

    def by_cell(x):
        return jax.ops.segment_sum(
            x, segment, num_segments=rows, indices_are_sorted=True
        )

    q_cell, r_cell = by_cell(q[order]), by_cell(r[order])
    prompt = jax.ops.segment_max(cells[order, 0], segment, num_segments=rows)
    prompt = jnp.clip(prompt, 0, num_prompts - 1)  # empty slots: no counts

    def by_prompt(x):
        return jax.ops.segment_sum(x, prompt, num_segments=num_prompts)

    q_hat = q_cell / by_prompt(q_cell)[prompt]
    r_hat = r_cell / by_prompt(r_cell)[prompt]
    precision = by_prompt(jnp.where(r_cell > 0, q_hat, 0.0))
    recall = by_prompt(jnp.where(q_cell > 0, r_hat, 0.0))
    tv = 0.5 * by_prompt(jnp.abs(q_hat - r_hat))
    return precision, recall, tv


def align(sample: E.Histogram, reference: E.Histogram) -> list[np.ndarray]:
    """Per-prompt `[precision, recall, tv]` of two histograms of the same prompts."""
    cells = np.concatenate(
        [
            np.column_stack([sample.prompt, sample.outcome]),
            np.column_stack([reference.prompt, reference.outcome]),
        ]
    )
    radices = (sample.num_prompts, *(int(v) for v in cells[:, 1:].max(axis=0) + 1))
    cells = cells.astype(np.int8 if max(radices) <= 128 else np.int32)
    zeros_q, zeros_r = np.zeros_like(reference.count), np.zeros_like(sample.count)
    q = np.concatenate([sample.count, zeros_q]).astype(float)
    r = np.concatenate([zeros_r, reference.count]).astype(float)
    out = _coverage(
        jnp.asarray(cells),
        jnp.asarray(q),
        jnp.asarray(r),
        radices=radices,
        num_prompts=sample.num_prompts,
    )
    return [np.asarray(x) for x in out]


def trilemma_estimates(data: dict, chunk: int):
    """`({quantity: (P,) values}, {stage: seconds})` from trilemma's kernels."""
    stages, start = {}, time.perf_counter()

    def lap(name):
        nonlocal start
        now = time.perf_counter()
        stages[name] = now - start
        start = now

    sample = E.histogram(*data["sample"], chunk=chunk)
    lap("histogram of the sample")
    reference = E.histogram(*data["reference"], chunk=chunk)
    lap("histogram of the reference")
    if not np.array_equal(sample.prompt_ids, reference.prompt_ids):
        raise ValueError("the two sample sets must have the same prompts")
    out = {}
    for prefix, hist in (("", sample), ("reference_", reference)):
        counts, segment = jnp.asarray(hist.count), jnp.asarray(hist.prompt)
        for method in ("plugin", "chao_shen"):
            value = E.entropy_estimates(
                counts, segment, hist.num_prompts, method=method
            )
            out[f"{prefix}entropy_{method}"] = np.asarray(value)
    lap("4 entropies")
    out["precision"], out["recall"], out["tv"] = align(sample, reference)
    lap("alignment")
    out["cells"] = [len(sample.count), len(reference.count)]
    return out, stages


# --- NumPy ------------------------------------------------------------------------


def np_plugin(n: np.ndarray) -> float:
    """Plug-in entropy of counts `n` (nats)."""
    p = n / n.sum()
    return float(-np.sum(p * np.log(p)))


def np_chao_shen(n: np.ndarray) -> float:
    """Chao-Shen entropy of counts `n` (nats)."""
    total = n.sum()
    singletons = min((n == 1).sum(), total - 1)
    p = (1 - singletons / total) * n / total
    return float(-np.sum(p * np.log(p) / (1 - (1 - p) ** total)))


def rows_by_prompt(ids: np.ndarray, prompts: np.ndarray) -> list[np.ndarray]:
    """The row indices of each prompt (one stable sort)."""
    order = np.argsort(ids, kind="stable")
    return np.split(order, np.searchsorted(ids[order], prompts)[1:])


def numpy_estimates(data: dict):
    """The same `({quantity: (P,) values}, {stage: seconds})` in plain NumPy."""
    (ids, outputs), (ref_ids, ref_outputs) = data["sample"], data["reference"]
    prompts = np.unique(ids)
    out = {name: np.zeros(len(prompts)) for name in QUANTITIES}
    cells = [0, 0]
    stages = {"histograms": 0.0, "4 entropies": 0.0, "alignment": 0.0}
    groups = zip(
        rows_by_prompt(ids, prompts), rows_by_prompt(ref_ids, prompts), strict=True
    )
    for p, (mine, theirs) in enumerate(groups):
        start = time.perf_counter()
        q_cells, q = np.unique(outputs[mine], axis=0, return_counts=True)
        r_cells, r = np.unique(ref_outputs[theirs], axis=0, return_counts=True)
        cells[0] += len(q)
        cells[1] += len(r)
        split = time.perf_counter()
        stages["histograms"] += split - start
        out["entropy_plugin"][p] = np_plugin(q)
        out["entropy_chao_shen"][p] = np_chao_shen(q)
        out["reference_entropy_plugin"][p] = np_plugin(r)
        out["reference_entropy_chao_shen"][p] = np_chao_shen(r)
        start = time.perf_counter()
        stages["4 entropies"] += start - split
        both = np.concatenate([q_cells, r_cells])
        cell = np.unique(both, axis=0, return_inverse=True)[1].ravel()
        size = cell.max() + 1
        q_all = np.bincount(cell[: len(q)], q, minlength=size)
        r_all = np.bincount(cell[len(q) :], r, minlength=size)
        q_hat, r_hat = q_all / q_all.sum(), r_all / r_all.sum()
        out["precision"][p] = q_hat[r_all > 0].sum()
        out["recall"][p] = r_hat[q_all > 0].sum()
        out["tv"][p] = 0.5 * np.abs(q_hat - r_hat).sum()
        stages["alignment"] += time.perf_counter() - start
    out["cells"] = cells
    return out, stages


def numpy_multinomial(hist: E.Histogram, rng, num_resamples: int) -> np.ndarray:
    """`(R, G)` resampled counts: `rng.multinomial` per prompt."""
    out = np.empty((num_resamples, len(hist.count)), np.int64)
    bounds = np.concatenate([[0], np.cumsum(hist.distinct)])
    for p in range(hist.num_prompts):
        cells = slice(bounds[p], bounds[p + 1])
        n = hist.totals[p]
        out[:, cells] = rng.multinomial(n, hist.count[cells] / n, size=num_resamples)
    return out


def numpy_rows(hist: E.Histogram, rng, num_resamples: int) -> np.ndarray:
    """`(R, G)` resampled counts: row indices drawn per prompt, then `np.unique`."""
    out = np.zeros((num_resamples, len(hist.count)), np.int64)
    cell_of_row = np.repeat(np.arange(len(hist.count)), hist.count)
    first_row = np.concatenate([[0], np.cumsum(hist.totals)[:-1]])
    for b in range(num_resamples):
        for p in range(hist.num_prompts):
            n = hist.totals[p]
            rows = first_row[p] + rng.integers(0, n, n)
            cells, counts = np.unique(cell_of_row[rows], return_counts=True)
            out[b, cells] = counts
    return out


# --- the variants -----------------------------------------------------------------


def timed(fn):
    """`(fn(), seconds)`, blocking until a JAX result is ready."""
    start = time.perf_counter()
    out = jax.block_until_ready(fn())
    return out, time.perf_counter() - start


def totals_kept(hist: E.Histogram, counts: np.ndarray) -> bool:
    """Whether every resample keeps each prompt's total."""
    starts = np.concatenate([[0], np.cumsum(hist.distinct)[:-1]])
    return bool((np.add.reduceat(counts, starts, axis=1) == hist.totals).all())


def _lists(out: dict) -> dict:
    return {k: np.asarray(v).tolist() for k, v in out.items()}


def variant(name: str, directory: Path) -> dict:
    """Run variant `name` on the data in `directory`; returns its results."""
    settings = json.loads((directory / "settings.json").read_text())
    chunk, boot = settings["chunk"], settings["num_bootstrap"]
    rng = np.random.default_rng(settings["seed"] + 1)
    if name == "floor":
        return {"rows": len(load(directory, "sample")[0])}
    if name.endswith("_estimates"):
        data = {k: load(directory, k) for k in ("sample", "reference")}
        if name == "numpy_estimates":
            (out, stages), seconds = timed(lambda: numpy_estimates(data))
            return {"seconds": seconds, "stages": stages, "values": _lists(out)}
        _, first = timed(lambda: trilemma_estimates(data, chunk))
        (out, stages), seconds = timed(lambda: trilemma_estimates(data, chunk))
        return {
            "seconds": seconds,
            "first_s": first,
            "stages": stages,
            "values": _lists(out),
        }
    hist = E.histogram(*load(directory, "boot"), chunk=chunk)
    result = {"cells": len(hist.count)}
    if name == "trilemma_resample":
        key = jax.random.key(settings["seed"])
        _, result["first_64_s"] = timed(lambda: E.resample_counts(hist, key, 64))
        counts, result["seconds"] = timed(lambda: E.resample_counts(hist, key, boot))
    elif name == "numpy_multinomial":
        counts, result["seconds"] = timed(lambda: numpy_multinomial(hist, rng, boot))
    elif name == "numpy_rows":
        few = result["timed_resamples"] = settings["baseline_resamples"]
        counts, seconds = timed(lambda: numpy_rows(hist, rng, few))
        result["seconds"] = seconds * boot / few
    else:
        nfe = np.load(directory / "boot_nfe.npy")
        if name == "point_exact":
            fields = ("prompt", "outcome", "probs")
            law = (np.load(directory / f"exact_{f}.npy") for f in fields)
            ref = E.exact_reference(*law)
        else:
            ref_hist = E.histogram(*load(directory, "boot_ref"), chunk=chunk)
            ref = E.sample_reference(ref_hist)
        point, result["seconds"] = timed(
            lambda: E.estimate_point(hist, ref, nfe, num_bootstrap=boot)
        )
        shown = ("precision", "recall", "entropy", "reference_entropy", "tv")
        result["point"] = {f: list(getattr(point, f)) for f in shown}
        return result
    result["kept"] = totals_kept(hist, counts)
    return result


def peak_rss_mib() -> float:
    """This process's peak RSS in MiB (`ru_maxrss`: KiB on Linux, bytes on macOS)."""
    unit = 1 if sys.platform == "darwin" else 1024  # bytes
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * unit / 2**20


def run_variant(name: str, directory: Path, *, isolated: bool) -> dict:
    """`variant(name)` in a fresh process (or this one), with peak RSS and wall s."""
    start = time.perf_counter()
    if not isolated:
        result = variant(name, directory)
        return {**result, "max_rss_mib": peak_rss_mib(), "wall_s": _since(start)}
    script = str(Path(__file__).resolve())
    command = [sys.executable, script, "--variant", name, "--data", str(directory)]
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        lines = done.stderr.strip().splitlines() or [f"exit {done.returncode}"]
        return {"error": lines[-1], "wall_s": _since(start)}
    return {**json.loads(done.stdout.splitlines()[-1]), "wall_s": _since(start)}


def _since(start: float) -> float:
    return time.perf_counter() - start


MEASURED = ("trilemma/estimators", "trilemma/_kernels.py", "trilemma/_keys.py")
"""The library files this benchmark measures (their git state is printed)."""


def library_state() -> str:
    """The commit, and which of the `MEASURED` files are uncommitted."""
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=REPO_ROOT,
            text=True,
            capture_output=True,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--", *MEASURED],
            cwd=REPO_ROOT,
            text=True,
            capture_output=True,
            check=True,
        ).stdout.split("\n")
    except (OSError, subprocess.CalledProcessError):
        return "unknown (no git)"
    files = [line[3:] for line in dirty if line.strip()]
    return f"{head}" + (f" + uncommitted {', '.join(files)}" if files else "")


# --- the report -------------------------------------------------------------------


def verdict(ok: bool) -> str:
    return "met" if ok else "NOT met"


def _fmt(x, spec: str) -> str:
    return "-" if x is None else format(x, spec)


def _interval(values, unit: str = "") -> str:
    estimate, low, high = (float(v) for v in values)
    return f"{estimate:.4f} [{low:.4f}, {high:.4f}]{unit}"


def report(args, sizes: dict, results: dict) -> None:
    """The results table, the stages, the agreement and the targets."""
    r = results

    def get(name, field):
        return r.get(name, {}).get(field)

    def ratio(base, ours, field="seconds"):
        b, o = get(base, "seconds"), get(ours, field)
        return None if b is None or o is None else b / o

    boot = args.num_bootstrap
    few = min(args.baseline_resamples, boot)
    n, m, nb = (
        f"{sizes[k]:.0e}".replace("+0", "")
        for k in ("samples", "reference_samples", "bootstrap_samples")
    )
    rows = [
        ("floor: import, load the samples", "floor", None, None),
        (f"estimates, {n} + {m} seqs", "trilemma_estimates", "numpy_estimates", None),
        ("  1st call (compiles)", "trilemma_estimates", "numpy_estimates", "first_s"),
        (
            f"resample_counts {boot} x {nb}",
            "trilemma_resample",
            "numpy_multinomial",
            None,
        ),
        (
            f"  vs rows+np.unique ({few}, x{boot / few:g})",
            "trilemma_resample",
            "numpy_rows",
            None,
        ),
        (f"estimate_point exact ref, B={boot}", "point_exact", None, None),
        (f"estimate_point sample ref, B={boot}", "point_sample", None, None),
    ]
    header = (
        f"{'workload':<38} {'trilemma s':>10} {'baseline s':>10} {'ratio':>8} "
        f"{'peak RSS MiB':>13}"
    )
    print(f"\n{header}\n{'-' * len(header)}")
    for label, ours, base, field in rows:
        if ours not in r:
            continue
        seconds = get(ours, field or "seconds") if ours != "floor" else None
        x = ratio(base, ours, field or "seconds") if base else None
        rss_ours = None if field else get(ours, "max_rss_mib")
        rss = _fmt(rss_ours, ".0f")
        if base and not field:
            rss += f" / {_fmt(get(base, 'max_rss_mib'), '.0f')}"
        print(
            f"{label:<38} {_fmt(seconds, '.2f'):>10} "
            f"{_fmt(get(base, 'seconds') if base else None, '.2f'):>10} "
            f"{_fmt(x, '.3g') + ('x' if x else ''):>8} {rss:>13}"
        )
    print(
        "ratio: baseline s / trilemma s (higher is better). baseline: NumPy "
        "(np.unique per prompt; rng.multinomial per prompt; row draws + np.unique, "
        f"timed on {few} resamples and extrapolated). peak RSS: trilemma / baseline, "
        + (
            "this one process's running peak (--in-process)."
            if args.in_process
            else "each its own process."
        )
    )
    for name, result in r.items():
        if "error" in result:
            print(f"  {name} FAILED: {result['error']}")

    ours, theirs = r.get("trilemma_estimates", {}), r.get("numpy_estimates", {})
    if "values" in ours and "values" in theirs:
        a, b = ours["values"], theirs["values"]
        same = "yes" if a["cells"] == b["cells"] else "NO"
        print(
            f"\nestimates: {a['cells'][0]:,} sample cells and {a['cells'][1]:,} "
            f"reference cells (NumPy finds the same numbers: {same})"
        )
        for q in QUANTITIES:
            x, y = np.asarray(a[q]), np.asarray(b[q])
            bits = "entropy" in q
            scale = float(T.to_bits(1.0)) if bits else 1.0
            print(
                f"  {q:<28} mean over prompts {x.mean() * scale:.6f}"
                f"{' bits' if bits else ''}; max |trilemma - NumPy| "
                f"{np.abs(x - y).max() * scale:.1e}"
            )
        for label, result in (("trilemma, 2nd call", ours), ("NumPy", theirs)):
            stages = ", ".join(f"{k} {v:.2f}" for k, v in result["stages"].items())
            print(f"  {label} (s): {stages}")
    t = r.get("trilemma_resample", {})
    if "seconds" in t:
        kept = [
            f"{label} {'yes' if get(name, 'kept') else 'NO'}"
            for label, name in (
                ("trilemma", "trilemma_resample"),
                ("multinomial", "numpy_multinomial"),
                ("rows", "numpy_rows"),
            )
        ]
        print(
            f"\nbootstrap: {t['cells']:,} cells; resample_counts' first call "
            f"(64 resamples, compiles) {t['first_64_s']:.2f} s, then "
            f"{t['seconds'] / boot * 1e3:.1f} ms per resample; every prompt's total "
            f"kept: {', '.join(kept)}"
        )
    for name in ("point_exact", "point_sample"):
        if "point" in r.get(name, {}):
            p = r[name]["point"]
            h, hr = (
                np.asarray(p[f]) * float(T.to_bits(1.0))
                for f in ("entropy", "reference_entropy")
            )
            print(
                f"  {name}: precision {_interval(p['precision'])}, recall "
                f"{_interval(p['recall'])}, TV {_interval(p['tv'])}, "
                f"H {_interval(h, ' bits')}, reference H {_interval(hr, ' bits')}"
            )

    print("\ntargets (measured, not asserted):")
    speed = ratio("numpy_estimates", "trilemma_estimates")
    if speed is not None:
        print(
            f"  estimates >= {GOALS['speedup']:.0f}x NumPy: "
            f"{verdict(speed >= GOALS['speedup'])} ({speed:.2f}x)"
        )
    rss = get("trilemma_estimates", "max_rss_mib")
    if rss is not None and not args.in_process:
        print(
            f"  estimates peak RSS < {GOALS['rss_mib']:.0f} MiB: "
            f"{verdict(rss < GOALS['rss_mib'])} ({rss:.0f} MiB)"
        )
    for name in ("trilemma_resample", "point_exact", "point_sample"):
        s = get(name, "seconds")
        if s is not None:
            print(
                f"  {name} in seconds, not minutes (< {GOALS['point_s']:.0f} s): "
                f"{verdict(s < GOALS['point_s'])} ({s:.1f} s)"
            )


# --- the command line -------------------------------------------------------------


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add = parser.add_argument
    add("--samples", type=int, default=10**7)
    add("--reference-samples", type=int, default=10**6)
    add("--prompts", type=int, default=100)
    add("--length", type=int, default=16, help="tokens per sample")
    add("--vocab", type=int, default=8, help="token values")
    add("--support", type=int, default=500_000, help="sequences of the table, K")
    add("--bootstrap-samples", type=int, default=10**6)
    add("--bootstrap-support", type=int, default=100, help="sequences per prompt")
    add("--num-bootstrap", type=int, default=1000)
    add("--baseline-resamples", type=int, default=20, help="NumPy row draws timed")
    add("--chunk", type=int, default=DEFAULT_CHUNK, help="histogram rows per sort")
    add("--sample-reference", action="store_true", help="also that estimate_point")
    add("--in-process", action="store_true", help="no subprocess per variant")
    add("--seed", type=int, default=0)
    add("--quick", action="store_true", help="10^5 samples, in process: a smoke run")
    add("--json", type=Path, help="also write the results to this file")
    add("--variant", help=argparse.SUPPRESS)
    add("--data", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.variant:  # a child process: one variant, then its results as JSON
        result = variant(args.variant, args.data)
        print(json.dumps({**result, "max_rss_mib": peak_rss_mib()}))
        return 0
    if args.quick:
        args.samples, args.reference_samples = 10**5, 10**4
        args.support, args.bootstrap_samples = 20_000, 10**4
        args.bootstrap_support, args.num_bootstrap = 20, 100
        args.in_process = True

    device = jax.devices()[0]
    print(
        f"device: {device.device_kind} ({jax.device_count()} x {device.platform}); "
        f"host CPUs {os.cpu_count()}; library {library_state()}"
    )
    names = [
        "floor",
        "trilemma_estimates",
        "numpy_estimates",
        "trilemma_resample",
        "numpy_multinomial",
        "numpy_rows",
        "point_exact",
    ] + (["point_sample"] if args.sample_reference else [])
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        start = time.perf_counter()
        sizes = write_data(args, directory)
        print(
            f"data ({_since(start):.1f} s, seed {args.seed}): {sizes['samples']:,} "
            f"samples and {sizes['reference_samples']:,} reference samples of "
            f"{args.length} tokens in range({args.vocab}), {args.prompts} prompts, "
            f"Zipf s = 1.1 and 1.0 on {args.support:,} sequences; bootstrap: "
            f"{sizes['bootstrap_samples']:,} samples on {args.bootstrap_support:,} "
            f"sequences per prompt, {args.num_bootstrap:,} resamples; histogram "
            f"chunk {args.chunk:,} rows"
        )
        for name in names:
            results[name] = r = run_variant(
                name, directory, isolated=not args.in_process
            )
            state = r.get("error") or (
                f"{r.get('seconds', 0.0):.2f} s, peak RSS {r['max_rss_mib']:.0f} MiB"
            )
            print(f"  {name}: {state} (wall {r['wall_s']:.1f} s)", flush=True)
    report(args, sizes, results)
    if args.json:
        options = {
            k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()
        }
        write_json(
            args.json,
            {
                "device": device.device_kind,
                "library": library_state(),
                "sizes": sizes,
                "options": options,
                "results": results,
            },
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
