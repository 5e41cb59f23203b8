"""The `trilemma` command line. Thin: parses, calls the library, prints bits.

One module per command (`exact`, `simulate`, `sample`, `diversity_loss`,
`parallelbench`, `fit`, `samplers`, `tasks`, `train`),
each with `add_parser(subparsers)` and `run(args)`; `_parse` reads flag values and
derives the sampler flags from the registry, `_common` holds the task arguments.

Every malformed input (an unknown name, a bad value, a size over the memory budget or
beyond what could finish) is printed as one line, `trilemma: error: ...`, on stderr
with exit status 2, before any work starts. The library's messages name its argument
names; they are shown with the flags that set them (`k` -> `--k`).
"""

from __future__ import annotations

import argparse
import sys

from .. import __version__, _checks
from . import (
    _parse,
    diversity_loss,
    exact,
    fit,
    parallelbench,
    sample,
    samplers,
    simulate,
    tasks,
    train,
)

COMMANDS = (
    exact,
    simulate,
    sample,
    diversity_loss,
    parallelbench,
    fit,
    samplers,
    tasks,
    train,
)
"""The command modules, in the order `trilemma --help` lists them."""


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # one line, status 2, no usage dump
        self.exit(2, f"trilemma: error: {message}\n")


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `trilemma` console script."""
    parser = build_parser()
    argv = sys.argv[1:] if argv is None else list(argv)
    args, extras = parser.parse_known_args(attach_negative_values(argv))
    if extras:
        parser.error(f"unrecognized arguments: {' '.join(map(_checks.show, extras))}")
    if args.command is None:
        names = ", ".join(module.__name__.rsplit(".", 1)[-1] for module in COMMANDS)
        parser.error(f"a command is required: one of {names} (see trilemma --help)")
    import jax

    jax.config.update("jax_enable_x64", True)  # exact paths run in float64
    try:
        return args.run(args)
    except (ValueError, TypeError) as err:
        message = _parse.flag_names(" ".join(str(err).split()), args.flags)
        print(f"trilemma: error: {message}", file=sys.stderr)
        return 2
    except MemoryError as err:  # past the estimates: a budget above this machine's
        print(
            f"trilemma: error: out of memory ({' '.join(str(err).split())}); the "
            "memory budget (--max-bytes, TRILEMMA_MAX_BYTES) is more than this "
            "machine can allocate: lower it or choose a smaller size.",
            file=sys.stderr,
        )
        return 2
    except BrokenPipeError:  # e.g. `trilemma samplers | head`
        sys.stderr.close()
        return 0


def build_parser() -> argparse.ArgumentParser:
    """The parser of every command."""
    parser = _Parser(
        prog="trilemma",
        description="Exact measurements of the parallel decoding trilemma. "
        "Information quantities are printed in bits.",
    )
    parser.add_argument(
        "--version", action="version", version=f"trilemma {__version__}"
    )
    sub = parser.add_subparsers(dest="command", parser_class=_Parser)
    for command in COMMANDS:
        command.add_parser(sub)
    return parser


def attach_negative_values(argv: list[str]) -> list[str]:
    """`--gamma -inf` as `--gamma=-inf`, so a negative number is read as a value.

    argparse reads a token after a flag as its value only if it does not look like a
    flag, and to it `-inf` or `-1e-5` do (only plain numbers like `-1` do not).
    """
    out: list[str] = []
    for token in argv:
        if (
            out
            and out[-1].startswith("--")
            and "=" not in out[-1]
            and token.startswith("-")
            and _is_number(token)
        ):
            out[-1] = f"{out[-1]}={token}"
        else:
            out.append(token)
    return out


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True
