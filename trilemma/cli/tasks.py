"""`trilemma tasks`: the registry of enumerable tasks."""

from __future__ import annotations

import json


def add_parser(subparsers) -> None:
    """Register the `tasks` command."""
    parser = subparsers.add_parser("tasks", help="list the enumerable tasks")
    parser.add_argument("--json", action="store_true", help="print JSON")
    parser.set_defaults(run=run, flags={})


def run(args) -> int:
    """Print one line per registered task (name and description)."""
    from ..tasks import TASKS

    rows = [
        {"name": name, "description": (builder.__doc__ or "").strip().splitlines()[0]}
        for name, builder in TASKS.items()
    ]
    if args.json:
        print(json.dumps(rows))
    else:
        width = max(len(r["name"]) for r in rows)
        for r in rows:
            print(f"{r['name']:<{width}}  {r['description']}")
    return 0
