"""Parsing of command-line values, and the sampler flags read off the registry.

The `type=` functions turn one argument's text into a value or raise
`argparse.ArgumentTypeError`, which the parser reports as one line naming the flag
(`argument --n: expected an integer; got 'three'`). Ranges are not checked here: the
library's validators (`trilemma._checks`) check them, and `flag_names` rewrites the
argument names in their messages to the flags that set them (`k` -> `--k`).

Sampler flags are derived from the factories in `trilemma.samplers.SAMPLERS`: every
keyword-only parameter is a flag (`num_steps` -> `--num-steps`) whose type comes from
its annotation (or default) and whose help comes from the factory docstring's
google-style `Args:` section, so registering a sampler needs no CLI change.
"""

from __future__ import annotations

import argparse
import inspect
import re
import sys
import types
import typing
from collections.abc import Callable, Mapping
from typing import NamedTuple

from .. import _checks


def flag(name: str) -> str:
    """The flag that sets a parameter: `num_steps` -> `--num-steps`."""
    return "--" + name.replace("_", "-")


def flag_names(message: str, flags: Mapping[str, str]) -> str:
    """`message` with each backticked argument name that a flag sets rewritten.

    >>> flag_names("`k` must be an integer >= 1; got 0.", {"k": "--k"})
    '`--k` must be an integer >= 1; got 0.'
    """
    return re.sub(
        r"`(\w+)`", lambda m: f"`{flags.get(m.group(1), m.group(1))}`", message
    )


# --- values ---------------------------------------------------------------------------


def integer(text: str) -> int:
    """An integer flag value (`12`, `-3`, `10000000000000000000000`)."""
    try:
        return int(text)
    except ValueError:
        pass
    if re.fullmatch(r"\s*[+-]?\d+\s*", text):  # digits, past Python's parsing limit
        limit = sys.get_int_max_str_digits()
        raise argparse.ArgumentTypeError(
            f"expected an integer of at most {limit:,} digits; got {_checks.show(text)}"
        )
    raise argparse.ArgumentTypeError(f"expected an integer; got {_checks.show(text)}")


def real(text: str) -> float:
    """A real flag value (`0.5`, `1e-3`, `-inf`); ranges are the library's to check."""
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected a real number; got {_checks.show(text)}"
        ) from None


def partition(text: str) -> list[list[int]]:
    """Ordered steps of positions: `0,1|2,3` is `[[0, 1], [2, 3]]`."""
    steps = []
    for part in text.split("|"):
        part = part.strip()
        if not part:
            raise argparse.ArgumentTypeError(
                f"empty step in partition {_checks.show(text)}"
            )
        try:
            steps.append([int(v) for v in part.split(",")])
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"partition {_checks.show(text)} must look like '0,1|2,3' (integers, "
                "',' within a step, '|' between steps)"
            ) from None
    return steps


def option(text: str) -> tuple[str, int | float | str]:
    """`KEY=VALUE`, the value read as an int, else a float, else kept as text."""
    key, sep, value = text.partition("=")
    if not sep or not key.isidentifier():
        raise argparse.ArgumentTypeError(
            f"expected KEY=VALUE with KEY a name, like seed=3; got {_checks.show(text)}"
        )
    for kind in (int, float):
        try:
            return key, kind(value)
        except ValueError:
            pass
    return key, value


# --- sampler flags --------------------------------------------------------------------


class Parameter(NamedTuple):
    """A keyword-only parameter of a sampler factory, as the CLI offers it."""

    name: str
    kind: type  # int, float or bool
    default: object  # None when the parameter is required
    required: bool
    help: str


def parameters(factory: Callable) -> tuple[Parameter, ...]:
    """The keyword-only parameters of `factory`, with types and docstring help.

    Raises:
      TypeError: a parameter has neither an annotation nor a default to type it, or
        a type the command line cannot parse (not int, float or bool), or a bool
        that does not default to False (a flag can only switch it on).
    """
    hints = typing.get_type_hints(factory)
    docs = docstring_args(factory.__doc__ or "")
    out = []
    for p in inspect.signature(factory).parameters.values():
        if p.kind is not inspect.Parameter.KEYWORD_ONLY:
            continue
        required = p.default is inspect.Parameter.empty
        kind = _scalar(hints.get(p.name), None if required else p.default)
        if kind not in (int, float, bool) or (kind is bool and p.default is not False):
            raise TypeError(
                f"sampler factory {factory.__name__!r}: parameter {p.name!r} needs an "
                "int, float or bool annotation (bools default to False)."
            )
        default = None if required else p.default
        out.append(Parameter(p.name, kind, default, required, docs.get(p.name, "")))
    return tuple(out)


def add_sampler_flags(parser: argparse.ArgumentParser, samplers: Mapping) -> None:
    """One flag per parameter name across the registered samplers.

    A flag shared by several samplers has one type (they must agree) and a help text
    that lists each distinct docstring text with the samplers it comes from.
    """
    kinds: dict[str, type] = {}
    helps: dict[str, dict[str, list[str]]] = {}
    for name, factory in samplers.items():
        for p in parameters(factory):
            if kinds.setdefault(p.name, p.kind) is not p.kind:
                raise TypeError(
                    f"samplers disagree on the type of {p.name!r}: "
                    f"{kinds[p.name].__name__} and {p.kind.__name__}."
                )
            helps.setdefault(p.name, {}).setdefault(p.help, []).append(name)
    for name, kind in kinds.items():
        text = "; ".join(
            f"{help_text} [{', '.join(users)}]"
            for help_text, users in helps[name].items()
        ).replace("%", "%%")
        if kind is bool:
            parser.add_argument(
                flag(name), action="store_true", default=None, help=text
            )
        else:
            parse = integer if kind is int else real
            parser.add_argument(flag(name), type=parse, help=text)


def docstring_args(doc: str) -> dict[str, str]:
    """The `Args:` section of a google-style docstring: name -> text on one line."""
    out: dict[str, str] = {}
    inside, indent, name = False, None, None
    for line in inspect.cleandoc(doc).splitlines():
        stripped = line.strip()
        if not inside:
            inside = stripped == "Args:"
            continue
        if not stripped:
            continue
        depth = len(line) - len(line.lstrip())
        if depth == 0:  # the next section
            break
        indent = depth if indent is None else indent
        entry = re.fullmatch(r"(\w+)(?: \([^)]*\))?: (.*)", stripped)
        if depth == indent and entry:
            name = entry.group(1)
            out[name] = entry.group(2)
        elif name is not None:
            out[name] += " " + stripped
    return out


def _scalar(annotation, default) -> type | None:
    """`int` for `int | None`, else the annotation, else the default's type."""
    if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is (
        typing.Union
    ):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        annotation = args[0] if len(args) == 1 else None
    if annotation is not None:
        return annotation
    return None if default is None else type(default)
