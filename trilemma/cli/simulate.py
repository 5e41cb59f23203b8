"""`trilemma simulate TASK --sampler NAME`: a sampler's exact trilemma point, in bits.

The sampler flags (`--k`, `--gamma`, ...) are read off the registered factories
(`_parse.add_sampler_flags`); each sampler takes the flags of its keyword parameters.
"""

from __future__ import annotations

import json
import math
import time

from .. import _checks
from .._units import in_bits
from . import _common, _parse

MAX_PATTERNS = 10**6
"""Most mask patterns (times steps, for step-indexed samplers) a simulation may visit;
the enumerator does Python work per pattern, about a millisecond each."""

MAX_STATES = 10**8
"""Most decoding states a simulation may visit (tens of thousands per second)."""


def add_parser(subparsers) -> None:
    """Register the `simulate` command, with one flag per sampler parameter."""
    from ..samplers import SAMPLERS

    parser = subparsers.add_parser(
        "simulate",
        help="exact trilemma point of a sampler with the ideal (oracle) model",
        description="Exact output law of a parallel decoding sampler driven by the "
        "task's oracle model, by enumerating decoding trajectories (no Monte Carlo): "
        "speed (tokens per step), fluency (accuracy, precision) and diversity "
        "(recall, entropy, KL).",
    )
    _common.add_task_arguments(parser)
    parser.add_argument(
        "--sampler", required=True, help="sampler name (see `trilemma samplers`)"
    )
    _parse.add_sampler_flags(parser, SAMPLERS)
    parser.add_argument(
        "--model",
        help="the model driving the sampler: oracle (the ideal model; the default), "
        "default (the shipped denoiser) or a model folder (trilemma train -o); a "
        "trained model decodes --num-prompts random prompts of its pool",
    )
    parser.add_argument(
        "--ar-model",
        help="with a trained --model and a two-model sampler (apd): its causal "
        "verifier, default (the shipped AR model; the default) or a model folder",
    )
    parser.add_argument(
        "--held-out",
        action="store_true",
        help="with a trained model: prompts whose item sets it never saw",
    )
    parser.add_argument(
        "--support-only",
        action="store_true",
        help="with a model: drop trajectories once they cannot finish valid (exact "
        "valid law, any sampler; H(q) unknown, and E[NFE] too when the count reads "
        "the scores: threshold, factor, eb, mdlm)",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.set_defaults(run=run, flags=_common.flags_of(parser))


def make_sampler(args):
    """The sampler `--sampler` names, from the flags of its parameters."""
    from ..samplers import SAMPLERS

    if args.sampler not in SAMPLERS:
        raise _checks.unknown("sampler", args.sampler, SAMPLERS)
    factory = SAMPLERS[args.sampler]
    taken = _parse.parameters(factory)
    names = {
        p.name for factory in SAMPLERS.values() for p in _parse.parameters(factory)
    }
    given = {key: getattr(args, key) for key in names if getattr(args, key) is not None}
    _checks.check_options(
        given,
        [p.name for p in taken],
        owner=f"sampler {args.sampler!r}",
        required=[p.name for p in taken if p.required],
    )
    return factory(**given)


def size(task, sampler) -> tuple[int, int]:
    r"""Upper bounds on the mask patterns and decoding states a simulation visits.

    A state is a mask pattern with the revealed tokens of a prompt, plus one
    off-support state per pattern. With $c$ tokens revealed there are at most
    $\min(R, P V^c)$ revealed values (R support rows, P prompts, alphabets of at most
    V tokens). Without blocks every pattern of the L outputs may occur; with blocks
    of B, only the completed blocks and any subset of the current one. Samplers
    whose count depends on the step (MDLM) keep the step in the state, so both
    bounds are multiplied by the number of steps.
    """
    joint, length = task.joint, len(task.outputs)
    rows, prompts, vocab = joint.support_size, joint.sizes[0], max(joint.sizes[1:])
    block = length if sampler.block is None else min(sampler.block, length)
    full, rest = divmod(length, block)
    levels = (dict(sampler.params).get("num_steps") or 1) if sampler.uses_step else 1
    # a full block's pattern is the next block's empty one: 2^L patterns without blocks
    per_level = full * (_checks.power(2, block) - 1) + _checks.power(2, rest)
    patterns = levels * per_level
    if patterns > MAX_PATTERNS:  # the state bound would be larger still
        return patterns, patterns
    blocks = [block] * full + ([rest] if rest else [])
    states, done = 0, 0
    for index, width in enumerate(blocks):
        last = index == len(blocks) - 1  # a full block is the next one's empty pattern
        for j in range(width + last):
            values = min(rows, prompts * _checks.power(vocab, done + j))
            states += math.comb(width, j) * (values + 1)
        done += width
    return patterns, levels * states


def check_size(task, sampler) -> None:
    """Refuse, before starting, a simulation over `MAX_PATTERNS` or `MAX_STATES`.

    The bound is the level enumerator's (`sampler.law == "levels"`); APD's and a
    chain's enumerators bound their own states and refuse over `max_states`.
    """
    if sampler.law != "levels":
        return
    patterns, states = size(task, sampler)
    what = (
        f"exact simulation of {sampler.describe()} on {task.name} "
        f"(n = {_checks.show(task.n)}, {len(task.outputs):,} output tokens)"
    )
    _checks.check_work(patterns, what, MAX_PATTERNS, unit="mask patterns")
    _checks.check_work(states, what, MAX_STATES, unit="decoding states")


def task_and_model(args):
    """The task, and the model (None for the oracle path) that `--model` names.

    A trained model decodes pooled prompts of its own vocabulary: `--num-prompts`
    random ones (seed 0), held in or, with `--held-out`, held out.
    """
    from ..models import weights
    from ..oracle import oracle_model

    if args.model is None or args.model == "oracle":
        if args.held_out:
            raise ValueError("`--held-out` needs a trained `--model`")
        task = _common.make_task(args)
        return task, None if args.model is None else oracle_model(task)
    model_file = weights.resolve_model(args.model, "denoiser")
    if model_file.config.causal:
        raise ValueError(
            f"`--model` {args.model} is an autoregressive model; simulate decodes a "
            "denoiser"
        )
    if args.option:
        raise ValueError("`--option` sets options of the oracle's tasks, not a model's")
    trained = ", ".join(f"{name} n={n}" for name, n in model_file.task_set.groups)
    if args.n is None:
        raise ValueError(f"give `--n`: model {model_file.name} knows {trained}")
    groups = model_file.task_set.groups
    if (args.task, args.n) not in groups:
        raise ValueError(
            f"model {model_file.name} was not trained on {args.task} n={args.n}; "
            f"it knows {trained}"
        )
    _checks.check_int(args.num_prompts, "num_prompts", minimum=1, maximum=4096)
    pair = model_file.task_set.evaluation_pair(
        args.task, args.n, num_prompts=args.num_prompts
    )
    task = pair[int(args.held_out)]
    return task, model_file.model(task)


def verifier(spec: str, task):
    """The causal verifier `--ar-model` names: oracle, factory, default or a folder."""
    from ..models import resolve, weights
    from ..oracle import oracle_ar_model

    kind = resolve.spec_kind(spec)
    if kind == "oracle":
        return oracle_ar_model(task)
    if kind == "factory":
        return resolve.factory_model(spec, task)
    if kind == "hf":
        raise ValueError(
            "`--ar-model`: APD's verifier is a causal model, not an hf: dLLM"
        )
    ar_file = weights.resolve_model(spec, "autoregressive")
    if not ar_file.config.causal:
        raise ValueError(
            f"`--ar-model` {spec} is a denoiser; APD verifies with a causal "
            "(autoregressive) model"
        )
    return ar_file.model(task)


def run(args) -> int:
    """Simulate and print the report (text, or one JSON object with `--json`)."""
    from ..simulation import simulate

    sampler = make_sampler(args)  # cheap: its flags are checked before the task
    if args.ar_model is not None and sampler.num_models == 1:
        raise ValueError(
            f"`--ar-model` is a verifier; {sampler.describe()} decodes with one model"
        )
    task, model = task_and_model(args)
    trained = model is not None and args.model != "oracle"
    if args.ar_model is not None and not trained:
        raise ValueError(
            "`--ar-model` goes with a trained `--model`; the ideal dLLM's verifier is "
            "p*'s exact AR conditionals"
        )
    ar_model = None
    if trained and sampler.num_models == 2:
        ar_model = verifier(args.ar_model or "default", task)
    if model is None:
        check_size(task, sampler)
    start = time.perf_counter()
    sim = simulate(
        task,
        sampler,
        model=model,
        ar_model=ar_model,
        support_only=args.support_only,
        progress=not args.json,
    )
    seconds = time.perf_counter() - start
    point = {
        key: _common.clean(value) if isinstance(value, float) else value
        for key, value in in_bits(sim.point()).items()
    }
    kl = point["kl_reference_to_sampler_bits"]
    speed_known = math.isfinite(point["expected_nfe"])  # support-only: may be NaN
    for key in ("expected_nfe", "tokens_per_step"):
        point[key] = point[key] if speed_known else None
    report = {
        "task": task.name,
        "n": task.n,
        "num_prompts": args.num_prompts,
        "model": "oracle" if model is None else model.name,
        "sampler": sampler.name,
        "params": dict(sampler.params),
        **point,
        "kl_reference_to_sampler_bits": kl if math.isfinite(kl) else None,
        "expected_ar_nfe": sim.expected_ar_nfe,
        "nfe_tolerance": sim.nfe_tolerance,
        "hallucination_mass": 1.0 - point["precision"],
        "states_visited": sim.states_visited,
        "seconds": seconds,
    }
    if args.json:
        print(json.dumps(report))
        return 0
    valid = int(task.joint.support_size)
    if point["entropy_bits"] is not None:
        entropy = f"{point['entropy_bits']:.4f} bits"
    elif args.support_only:
        entropy = "n/a (support-only: invalid outputs are not enumerated)"
    else:
        entropy = "n/a (too many invalid outputs to expand)"
    print(f"task       {task.name} (n = {task.n}, {valid:,} valid outputs)")
    print(f"model      {report['model']}")
    print(f"sampler    {sampler.describe()}")
    ar = (
        ""
        if sim.expected_ar_nfe is None
        else f"   E[AR passes] = {sim.expected_ar_nfe:.4f}"
    )
    within = f" (± {sim.nfe_tolerance:.1e})" if sim.nfe_tolerance else ""
    if speed_known:
        print(
            f"speed      {point['tokens_per_step']:.4f} tokens per step   "
            f"E[NFE] = {point['expected_nfe']:.4f}{ar}{within}"
        )
    else:
        print(
            "speed      n/a (support-only: the steps of the dropped trajectories "
            "depend on the model, and this sampler's count reads the scores)"
        )
    print(
        f"fluency    accuracy {point['accuracy']:.4f}   "
        f"precision {point['precision']:.4f}   "
        f"hallucination mass {report['hallucination_mass']:.4f}"
    )
    print(
        f"diversity  recall {point['recall']:.4f}   "
        f"H(valid q) {point['valid_entropy_bits']:.4f} / "
        f"H(p*) {point['reference_entropy_bits']:.4f} bits   KL(p*||q) {kl:.4f} bits"
    )
    print(f"           TV {point['tv']:.4f}   H(q) {entropy}")
    print(f"exact      {sim.states_visited:,} states enumerated in {seconds:.2f} s")
    return 0
