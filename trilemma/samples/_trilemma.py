"""Reader of trilemma's own lines: full-schema lines and hand-written ones."""

from __future__ import annotations

import json
from typing import Any

from ._schema import (
    FIELDS,
    HANDWRITTEN,
    OUTPUT_KINDS,
    SCHEMA,
    SCHEMAS,
    _bare,
    _is_int,
)

_VERSION_1 = {"output_kind": "tokens"}
"""What a `trilemma.samples/1` line leaves out."""


def handwritten(values: dict, where: str, path) -> dict[str, Any]:
    """A minimal line: `prompt_id` and `output_tokens` or `output_text` (`nfe`)."""
    if "prompt_id" not in values:
        raise ValueError(f"{where}: missing field prompt_id")
    if "output_tokens" not in values and "output_text" not in values:
        raise ValueError(f"{where}: give output_tokens or output_text")
    prompt_id = values["prompt_id"]
    if not (
        (_is_int(prompt_id) and prompt_id >= 0)
        or (isinstance(prompt_id, str) and prompt_id)
    ):
        raise ValueError(
            f"{where}: field `prompt_id` must be a non-negative integer or a "
            "non-empty string; got "
            f"{json.dumps(values['prompt_id'])[:60]}"
        )
    tokens = values.get("output_tokens")
    if tokens is not None and not (
        isinstance(tokens, list) and tokens and all(map(_is_int, tokens))
    ):
        raise ValueError(
            f"{where}: field `output_tokens` must be a non-empty list of integers; "
            f"got {json.dumps(tokens)[:60]}"
        )
    text = values.get("output_text", "")
    if not isinstance(text, str):
        raise ValueError(f"{where}: field `output_text` must be a string")
    nfe = values.get("nfe", -1)
    if not (_is_int(nfe) and nfe >= -1):
        raise ValueError(f"{where}: field `nfe` must be a non-negative integer")
    return _bare(HANDWRITTEN, path, values["prompt_id"], 0, tokens, text, nfe)


def parse(values: dict, where: str) -> dict[str, Any]:
    """One validated full-schema line."""
    if values.get("schema") not in SCHEMAS:
        raise ValueError(
            f"{where}: `schema` must be one of {', '.join(map(repr, SCHEMAS))}; got "
            f"{values.get('schema')!r}"
        )
    if values["schema"] != SCHEMA:
        values = {**_VERSION_1, **values, "schema": SCHEMA}
    missing = [key for key in FIELDS if key not in values]
    if missing:
        raise ValueError(f"{where}: missing field(s) {', '.join(missing)}")
    checks = {
        "task": lambda v: v is None or isinstance(v, str),
        "n": lambda v: v is None or _is_int(v),
        "model": lambda v: isinstance(v, str),
        "sampler": lambda v: isinstance(v, str),
        "params": lambda v: isinstance(v, dict),
        "seed": _is_int,
        "prompt_id": lambda v: _is_int(v) and v >= 0,
        "sample_index": lambda v: _is_int(v) and v >= 0,
        "prompt_tokens": lambda v: isinstance(v, list) and all(map(_is_int, v)),
        "prompt_text": lambda v: isinstance(v, str),
        "output_tokens": lambda v: (
            isinstance(v, list) and len(v) > 0 and all(map(_is_int, v))
        ),
        "output_text": lambda v: isinstance(v, str),
        "output_kind": lambda v: v in OUTPUT_KINDS,
        "nfe": lambda v: _is_int(v) and v >= 0,
        "ar_nfe": lambda v: _is_int(v) and v >= 0,
    }
    kinds = {
        "task": "a string or null",
        "n": "an integer or null",
        "params": "an object",
        "seed": "an integer",
        "prompt_tokens": "a list of integers",
        "output_tokens": "a non-empty list of integers",
        "output_kind": f"one of {', '.join(map(repr, OUTPUT_KINDS))}",
        "nfe": "a non-negative integer",
        "ar_nfe": "a non-negative integer",
        "prompt_id": "a non-negative integer",
        "sample_index": "a non-negative integer",
    }
    for key, ok in checks.items():
        if not ok(values[key]):
            raise ValueError(
                f"{where}: field `{key}` must be {kinds.get(key, 'a string')}; got "
                f"{json.dumps(values[key])[:60]}"
            )
    return values
