"""`trilemma samplers`: the sampler registry, with each sampler's parameters."""

from __future__ import annotations

import json

from . import _parse


def add_parser(subparsers) -> None:
    """Register the `samplers` command."""
    parser = subparsers.add_parser(
        "samplers", help="list the samplers and their parameters"
    )
    parser.add_argument("--json", action="store_true", help="print JSON")
    parser.set_defaults(run=run, flags={})


def run(args) -> int:
    """Print each registered sampler: name, description, parameters, what it reads.

    Also whether it re-masks, which exact law it has, and its registry example.
    """
    from ..samplers import EXAMPLES, SAMPLERS, make_sampler

    rows = []
    for name, factory in SAMPLERS.items():
        example = EXAMPLES[name][0]
        built = make_sampler(name, **example)
        rows.append(
            {
                "name": name,
                "parameters": {p.name: p.default for p in _parse.parameters(factory)},
                "description": (factory.__doc__ or "").strip().splitlines()[0],
                "models": built.num_models,
                "remasks": bool(built.remasks),
                "exact_law": built.law,
                "example": example,
            }
        )
    if args.json:
        print(json.dumps(rows))
        return 0
    width = max(len(r["name"]) for r in rows)
    for r in rows:
        shown = ", ".join(
            key if value is None else f"{key}={value}"
            for key, value in r["parameters"].items()
        )
        flags = " ".join(example_flags(r["example"]))
        reads = "a dLLM and an AR verifier" if r["models"] == 2 else "one model"
        remasks = ", re-masks" if r["remasks"] else ""
        print(f"{r['name']:<{width}}  {r['description']}")
        print(f"{'':<{width}}  parameters: {shown}")
        print(
            f"{'':<{width}}  reads {reads}{remasks}; exact law: {r['exact_law']}; "
            f"example: --sampler {r['name']} {flags}"
        )
    return 0


def example_flags(params: dict) -> list[str]:
    """The command-line flags of a sampler's settings (`--k 2`, `--float32`)."""
    flags = []
    for key, value in params.items():
        flag = f"--{key.replace('_', '-')}"
        if value is True:
            flags.append(flag)
        elif value is not False and value is not None:
            flags += [flag, str(value)]
    return flags
