"""Benchmark: batched forward passes in the exact simulation of a model's sampler.

`T.simulate(task, sampler, model=model)` enumerates decoding trajectories level by
level and evaluates each level's distinct states with one jitted, vmapped call of
`model.logits_fn` per chunk. The baseline is the same enumeration with the forward
pass replaced by a plain per-state loop: the same `logits_fn`, mask rule and softmax,
jitted once, called once per state. Everything else (token laws, classes, counts,
children) is shared, so the ratio of states per second is what batching buys.

The model is imperfect: the oracle mixed with 15% uniform mass over the vocabulary
plus two columns (the mask, inside the vocabulary, and a token outside every
alphabet), plus fixed noise, so every token has positive probability. Samplers are
top-k, threshold, factor and EB at temperature 1 (each committed position branches
over all drawable tokens); tasks are shuffle and replace_random at n = 4, 5. Both
runs are warm (compiled once before timing), both results are checked to agree to
1e-12, and the ratios are measured in the same run (goal: >= 20x). Two ratios are
printed: states per second of the whole enumeration (the shared NumPy expansion
included, which bounds it once the forward passes are cheap) and the time spent in
forward passes alone.

With `--model default` the model is the shipped denoiser (a 350k-parameter
transformer, whose forward pass dominates) on eight pooled prompts, and the samplers
are random and left-to-right top-k at temperature 1, enumerated support-only.

  python experiments/bench_simulate_model.py [--quick] [--json out.json]
      [--model noisy|default]
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
from trilemma.oracle import oracle_logits, oracle_params  # noqa: E402
from trilemma.samplers import rules  # noqa: E402
from trilemma.simulation import _model  # noqa: E402

GOAL = 20.0
"""Wanted ratio of states per second, batched / per-state loop."""

EXTRA = 2
"""Columns the model adds past the task's vocabulary: the mask, one token."""

SAMPLERS = [
    ("confidence_topk", {"k": 2}),
    ("threshold", {"gamma": 0.5}),
    ("factor", {"factor": 1.0}),
    ("eb", {"gamma": 0.5}),
]
TASKS = [("shuffle", 4), ("replace_random", 4), ("shuffle", 5), ("replace_random", 5)]
FIXED_SAMPLERS = [
    ("random_topk", {"k": 1}),
    ("random_topk", {"k": 2}),
    ("left_to_right", {"k": 1}),
]
"""With the shipped model (`--model default`): samplers support-only enumeration takes
at temperature 1."""


def noisy_logits(params, tokens):
    """The oracle mixed with 15% uniform mass over V + 2 columns, plus fixed noise."""
    oracle = params["oracle"]
    p = jax.nn.softmax(oracle_logits(oracle, tokens), axis=-1)
    p = jnp.concatenate([p, jnp.zeros((p.shape[0], EXTRA), p.dtype)], axis=-1)
    mixed = 0.85 * p + 0.15 / (oracle["vocab"].shape[0] + EXTRA)
    return jnp.log(mixed) + params["noise"]


def noisy_model(task, seed: int = 0) -> T.Model:
    layout = T.task_layout(task)
    vocab = layout.vocab_size + EXTRA
    noise = 0.6 * np.random.default_rng(seed).standard_normal(
        (layout.sequence_length, vocab)
    )
    wide = T.TokenLayout(layout.prefixes, layout.sizes, vocab, layout.mask_id)
    params = {"oracle": oracle_params(task), "noise": jnp.asarray(noise)}
    return T.Model(noisy_logits, params, wide, name="noisy")


class _Timed(_model._ModelEnumerator):
    """`simulate(task, sampler, model=model)`, timing its forward passes."""

    forward_s = 0.0

    def _probs(self, s):
        start = time.perf_counter()
        out = self._forward(s)
        self.forward_s += time.perf_counter() - start
        return out

    def _forward(self, s):
        return super()._probs(s)


class _PerState(_Timed):
    """The same enumeration, with one jitted forward call per state."""

    def _forward(self, s):
        model, layout = self.model, self.model.layout
        forward = _single(model.logits_fn, int(layout.mask_id), layout.prefix_length)
        inputs = np.concatenate([layout.prefixes[s.prompt], s.tokens], axis=1)
        out = [
            np.asarray(forward(model.params, jnp.asarray(row, jnp.int32)))
            for row in inputs
        ]
        if not out:
            return np.zeros((0, self.length, self.vocab))
        return np.stack(out).astype(np.float64)


_SINGLE: dict = {}


def _single(logits_fn, mask_id: int, prefix_length: int):
    key = (logits_fn, mask_id, prefix_length)
    if key not in _SINGLE:

        @jax.jit
        def forward(params, tokens):
            logits = jnp.asarray(logits_fn(params, tokens))[prefix_length:]
            return rules.token_probabilities(logits, mask_id)

        _SINGLE[key] = forward
    return _SINGLE[key]


def run(kind, task, sampler, model, support_only=False):
    """`(simulation, forward seconds)` of the batched or per-state enumeration."""
    limits = (T.simulation.DEFAULT_MAX_BRANCHES, _model.DEFAULT_MAX_STATES)
    enumerator = kind(task, sampler, model, *limits, support_only)
    return enumerator.run(False), enumerator.forward_s


def timed(fn, *args):
    start = time.perf_counter()
    out = fn(*args)
    return out, time.perf_counter() - start


def agree(a, b, tol: float = 1e-12) -> bool:
    """Whether two simulations give equal laws (to `tol`).

    1e-6 for a float32 network, whose batched and single forward passes round
    differently.
    """
    _, q_a = a.aligned()
    _, q_b = b.aligned()
    return (
        np.abs(q_a - q_b).max() <= tol
        and abs(a.expected_nfe - b.expected_nfe) <= tol
        and a.states_visited == b.states_visited
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="n = 4 only")
    parser.add_argument("--json", help="write the rows to this file")
    parser.add_argument(
        "--model",
        choices=("noisy", "default"),
        default="noisy",
        help="noisy: the oracle with noise (samplers at temperature 1); default: the "
        "shipped denoiser on 8 pooled prompts, random and left-to-right top-k at "
        "temperature 1 by support-only enumeration",
    )
    args = parser.parse_args()
    tasks = [t for t in TASKS if not args.quick or t[1] == 4]
    samplers, support_only = SAMPLERS, False
    if args.model == "default":
        from trilemma.models import weights

        shipped = weights.resolve_model("default", "denoiser")
        samplers, support_only = FIXED_SAMPLERS, True
    rows, ok = [], True
    print(
        f"{'task':<18} {'sampler':<38} {'states':>6} {'batched s':>9} "
        f"{'loop s':>7} {'batched st/s':>12} {'loop st/s':>9} {'ratio':>6} "
        f"{'forward ratio':>13}"
    )
    for task_name, n in tasks:
        if args.model == "default":
            pair = shipped.task_set.evaluation_pair(task_name, n, num_prompts=8)
            task = pair[0]
            model = shipped.model(task)
        else:
            task = T.make_task(task_name, n)
            model = noisy_model(task)
        for name, params in samplers:
            sampler = T.SAMPLERS[name](**params, temperature=1.0)
            how = (task, sampler, model, support_only)
            run(_Timed, *how)  # compile every chunk shape
            layout = model.layout
            forward = _single(
                model.logits_fn, int(layout.mask_id), layout.prefix_length
            )
            forward(model.params, jnp.asarray(layout.initial_tokens(0)))  # compile
            (fast, f_fast), t_fast = timed(run, _Timed, *how)
            (slow, f_slow), t_slow = timed(run, _PerState, *how)
            same = agree(fast, slow, 1e-12 if args.model == "noisy" else 1e-6)
            ok &= same
            states = fast.states_visited
            ratio = t_slow / t_fast
            rows.append(
                {
                    "task": f"{task_name} n={n}",
                    "sampler": sampler.describe(),
                    "states": states,
                    "batched_s": t_fast,
                    "loop_s": t_slow,
                    "ratio": ratio,
                    "forward_batched_s": f_fast,
                    "forward_loop_s": f_slow,
                    "forward_ratio": f_slow / f_fast,
                    "agree": same,
                }
            )
            print(
                f"{task_name + ' n=' + str(n):<18} {sampler.describe():<38} "
                f"{states:>6} {t_fast:>9.3f} {t_slow:>7.3f} {states / t_fast:>12,.0f} "
                f"{states / t_slow:>9,.0f} {ratio:>5.1f}x {f_slow / f_fast:>12.1f}x"
                + ("" if same else "  !=")
            )
    for key, what in (
        ("ratio", "states per second of the whole enumeration"),
        ("forward_ratio", "time in forward passes"),
    ):
        ratios = np.array([r[key] for r in rows])
        print(
            f"{what}, batched / per-state loop: min {ratios.min():.1f}x, median "
            f"{np.median(ratios):.1f}x, max {ratios.max():.1f}x (goal >= "
            f"{GOAL:.0f}x {'met' if ratios.min() >= GOAL else 'not met'} at the "
            f"minimum, {'met' if np.median(ratios) >= GOAL else 'not met'} at the "
            "median)"
        )
    if not ok:
        print("the two enumerations disagree (see '!=')")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(rows, f, indent=2)
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
