"""The sample file's schema: its fields, the line writer, and shared field checks."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from .. import _checks
from .._files import atomic_open
from .._files import check_destination as check_file_destination

SCHEMA = "trilemma.samples/2"
"""The `schema` value of every line this version writes."""

SCHEMAS = ("trilemma.samples/1", SCHEMA)
"""The schemas `read` takes: version 1 lines lack `output_kind` (their outputs are
tokens)."""

OUTPUT_KINDS = ("tokens", "text")
"""The `output_kind` values: outcomes by their tokens, or by their text."""

FIELDS = (
    "schema",
    "task",
    "n",
    "model",
    "sampler",
    "params",
    "seed",
    "prompt_id",
    "sample_index",
    "prompt_tokens",
    "prompt_text",
    "output_tokens",
    "output_text",
    "output_kind",
    "nfe",
    "ar_nfe",
)
"""The fields of a line, in the order they are written."""

RUN_FIELDS = ("task", "n", "model", "sampler", "params", "seed")
"""The fields shared by every sample of one run."""


def record(run: dict[str, Any], **sample) -> str:
    """One line (no newline) from the run's fields and one sample's fields."""
    values = {"schema": SCHEMA, **run, **sample}
    return json.dumps({key: values[key] for key in FIELDS})


def writer(path):
    """A text file to write lines to, in place only once complete (`atomic_open`)."""
    return atomic_open(path, text=True)


def check_destination(path, name: str = "output") -> Path:
    """`path` as a `Path`, if a sample file can be written there; else `ValueError`.

    The shared check of every command's output (`trilemma._files.check_destination`):
    a non-empty name that fits the file system, in an existing writable folder where
    a file can really be created, and not an existing folder, device or pipe.
    """
    return check_file_destination(path, name)


HANDWRITTEN = "hand-written"
LM_EVAL = "lm-eval"
KINDS = {SCHEMA: "full-schema", HANDWRITTEN: "hand-written", LM_EVAL: "lm-eval"}


def _bare(kind, path, prompt_id, index, tokens, text, nfe) -> dict[str, Any]:
    """A sample of a file without run fields: the file is its run (`model`)."""
    return {
        "schema": kind,
        **dict.fromkeys(RUN_FIELDS),
        "model": str(path),
        "params": {},
        "seed": 0,
        "prompt_id": prompt_id,
        "sample_index": index,
        "prompt_tokens": [],
        "prompt_text": "",
        "output_tokens": tokens,
        "output_text": text,
        "output_kind": "tokens" if tokens is not None else "text",
        "nfe": nfe,
        "ar_nfe": 0,
    }


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


INT_FIELDS = (
    "n",
    "seed",
    "prompt_id",
    "sample_index",
    "prompt_tokens",
    "output_tokens",
    "nfe",
    "ar_nfe",
)
"""The integer fields (or lists of integers), all read into int64 columns."""


def _check_int64(values: dict, where: str, keys=INT_FIELDS) -> None:
    """`ValueError` naming the first integer field of `values` outside int64."""
    for key in keys:
        value = values.get(key)
        for item in value if isinstance(value, list) else (value,):
            if _is_int(item) and not -(2**63) <= item < 2**63:
                raise ValueError(
                    f"{where}: field `{key}` holds {_checks.show(item)}, outside the "
                    "64-bit integers [-2^63, 2^63 - 1]"
                )
