"""`trilemma sample --task T --sampler S -o out.jsonl`: Monte Carlo samples to a file.

Every registered sampler (the flags of `trilemma simulate`, and `apd`), on the
oracle, the shipped denoiser, a model folder, or a user's model (`--model
module:factory`). The file follows the sample schema (`trilemma.samples`); it is
written atomically, so a failed or interrupted run leaves none.
"""

from __future__ import annotations

import json
import math

from .. import _checks
from . import _common, _parse, simulate


def add_parser(subparsers) -> None:
    """Register the `sample` command, with one flag per sampler parameter."""
    from ..samplers import SAMPLERS

    parser = subparsers.add_parser(
        "sample",
        help="Monte Carlo samples of a sampler on a model, to a JSONL file",
        description="Decode --samples-per-prompt samples of each of --num-prompts "
        "prompts with a sampler and write them, one JSON object per line, to -o. "
        "Sample j of prompt i depends on (--seed, i, j) only: the file is the same "
        "byte for byte whatever --batch-size, the number of devices, or --shard.",
    )
    _common.add_task_arguments(parser, positional=False)
    parser.add_argument(
        "--sampler", required=True, help="sampler name (see `trilemma samplers`)"
    )
    _parse.add_sampler_flags(parser, SAMPLERS)
    parser.add_argument(
        "--model",
        default="oracle",
        help="oracle (the ideal model; default), default (the shipped denoiser), a "
        "model folder (trilemma train -o), hf:NAME_OR_PATH (a PyTorch LLaDA- or "
        "Dream-style dLLM, asked ParallelBench's prompts; needs trilemma[torch]), or "
        "module:factory, a Python function that takes the task and returns a "
        "trilemma Model or HostModel",
    )
    parser.add_argument(
        "--ar-model",
        help="APD's verifier: oracle (p*'s exact conditionals; the default with "
        "--model oracle), default (the shipped AR model; the default otherwise), a "
        "model folder, or module:factory",
    )
    parser.add_argument(
        "--gen-length",
        type=_parse.integer,
        help="with an hf: model: the answer's length in tokens (all masked at the "
        "start)",
    )
    parser.add_argument(
        "--family",
        help="with an hf: model: llada or dream, how the network is called (default: "
        "by its config's model_type)",
    )
    parser.add_argument(
        "--device", help="with an hf: model: cuda, cpu, ... (default: cuda if present)"
    )
    parser.add_argument(
        "--dtype",
        help="with an hf: model: auto (bfloat16 on CUDA, float32 on the CPU), "
        "bfloat16, float16, float32 or float64",
    )
    parser.add_argument(
        "--held-out",
        action="store_true",
        help="with a trained model: prompts whose item sets it never saw",
    )
    parser.add_argument(
        "--samples-per-prompt",
        type=_parse.integer,
        required=True,
        help="samples drawn for each prompt, at most 2^32 (refused up front when "
        "the file would not fit in its folder's free space)",
    )
    parser.add_argument(
        "--seed", type=_parse.integer, default=0, help="the run's seed (default 0)"
    )
    parser.add_argument(
        "--batch-size",
        type=_parse.integer,
        default=1024,
        help="rows decoded per kernel call (default 1024; changes speed and memory, "
        "never the samples)",
    )
    parser.add_argument(
        "--shard",
        default="0/1",
        help="i/K: write the i-th of K contiguous parts of the prompts (default 0/1); "
        "parts 0..K-1 concatenated are the unsharded file; K at most the number of "
        "prompts (an empty part is refused)",
    )
    parser.add_argument(
        "-o",
        "--output",
        required=True,
        help="the JSONL file to write (replaced, once complete, if it exists)",
    )
    parser.add_argument(
        "--json", action="store_true", help="print a JSON summary of the run"
    )
    parser.set_defaults(run=run, flags=_common.flags_of(parser))


def task_and_models(args, sampler):
    """The task, the dLLM and (for APD) its verifier that the flags name."""
    from ..models import resolve
    from ..oracle import oracle_model

    two = sampler.num_models == 2
    if args.ar_model is not None and not two:
        from ..samplers import EXAMPLES, SAMPLERS, make_sampler

        verified = [
            f"--sampler {name}"
            for name in SAMPLERS
            if make_sampler(name, **EXAMPLES[name][0]).num_models == 2
        ]
        raise ValueError(
            f"`--ar-model` is a verifier ({', '.join(verified)}); "
            f"{sampler.describe()} decodes with one model"
        )
    kind = resolve.spec_kind(args.model)
    hf_flags = {
        "--gen-length": args.gen_length,
        "--family": args.family,
        "--device": args.device,
        "--dtype": args.dtype,
    }
    if kind != "hf" and any(v is not None for v in hf_flags.values()):
        given = ", ".join(flag for flag, v in hf_flags.items() if v is not None)
        raise ValueError(f"{given}: only with an `--model hf:NAME_OR_PATH`")
    if kind in ("hf", "factory"):
        if args.held_out:
            raise ValueError("`--held-out` needs a trained `--model` folder")
        task = _common.make_task(args)
        if kind == "factory":
            model = resolve.factory_model(args.model, task)
        elif args.gen_length is None:
            raise ValueError(
                "`--gen-length`: give the answer's length in tokens with an hf: model"
            )
        else:
            model = resolve.hf_model(
                args.model,
                task,
                gen_length=args.gen_length,
                family=args.family,
                device=args.device,
                dtype=args.dtype or "auto",
            )
    else:
        task, model = simulate.task_and_model(args)
        model = oracle_model(task) if model is None else model
    if not two:
        return task, model, None
    spec = args.ar_model or ("oracle" if args.model == "oracle" else "default")
    return task, model, simulate.verifier(spec, task)


def run(args) -> int:
    """Draw the samples, write the file, print the summary."""
    from ..samples import check_destination
    from ..sampling import MAX_SAMPLES_PER_PROMPT, check_shard, sample_file

    sampler = simulate.make_sampler(args)  # cheap checks first
    _checks.check_int(
        args.samples_per_prompt,
        "samples_per_prompt",
        minimum=1,
        maximum=MAX_SAMPLES_PER_PROMPT,
    )
    _checks.check_int(args.batch_size, "batch_size", minimum=1)
    _checks.check_int(args.seed, "seed", minimum=0, maximum=2**32 - 1)
    check_shard(args.shard)
    check_destination(args.output)
    task, model, ar_model = task_and_models(args, sampler)
    if getattr(sampler, "task_bound", False):  # solved per task (the optimal policy)
        sampler = sampler.bind(task, model=model)
    check_shard(args.shard, model.layout.prefixes.shape[0])  # no empty file
    name = args.model if args.model in ("oracle", "default") else model.name
    summary = sample_file(
        args.output,
        model,
        sampler,
        samples_per_prompt=args.samples_per_prompt,
        seed=args.seed,
        task=task,
        batch_size=args.batch_size,
        shard=args.shard,
        ar_model=ar_model,
        model_name=name,
        progress=not args.json,
    )
    report = {
        "path": summary.path,
        "task": task.name,
        "n": task.n,
        "model": name,
        "sampler": sampler.name,
        "params": dict(sampler.params),
        "samples": summary.num_samples,
        "prompts": summary.num_prompts,
        "mean_nfe": summary.mean_nfe,
        "mean_ar_nfe": summary.mean_ar_nfe,
        "tokens_per_step": summary.tokens_per_step,
        "seconds": summary.seconds,
        "compile_seconds": summary.compile_seconds,
        "samples_per_second": summary.samples_per_second,
    }
    if args.json:
        print(json.dumps(report))
        return 0
    ar = f"   AR passes {summary.mean_ar_nfe:.3f}" if ar_model is not None else ""
    rate = summary.samples_per_second
    print(
        f"wrote {summary.num_samples:,} samples of {summary.num_prompts} prompt(s) "
        f"to {summary.path}"
    )
    print(
        f"{sampler.describe()} on {name}: mean NFE {summary.mean_nfe:.3f}{ar}   "
        f"{summary.tokens_per_step:.3f} tokens per step"
    )
    shown = f"{rate:,.0f}" if math.isfinite(rate) else "inf"
    print(
        f"{summary.seconds:.2f} s ({shown} samples/s; first batch with compilation "
        f"{summary.compile_seconds:.2f} s)"
    )
    return 0
