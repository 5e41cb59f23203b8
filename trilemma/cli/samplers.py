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
    """Print one entry per registered sampler (name, description, parameters)."""
    from ..samplers import SAMPLERS

    rows = [
        {
            "name": name,
            "parameters": {p.name: p.default for p in _parse.parameters(factory)},
            "description": (factory.__doc__ or "").strip().splitlines()[0],
        }
        for name, factory in SAMPLERS.items()
    ]
    if args.json:
        print(json.dumps(rows))
        return 0
    width = max(len(r["name"]) for r in rows)
    for r in rows:
        shown = ", ".join(
            key if value is None else f"{key}={value}"
            for key, value in r["parameters"].items()
        )
        print(f"{r['name']:<{width}}  {r['description']}")
        print(f"{'':<{width}}  parameters: {shown}")
    return 0
