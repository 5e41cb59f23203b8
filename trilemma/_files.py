"""Atomic file writes: a temporary file in the destination's folder, then a rename."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO


@contextlib.contextmanager
def atomic_open(path: Path, *, text: bool = False) -> Iterator[IO]:
    """A file to write, moved onto `path` only when the block succeeds.

    The data go to a temporary file beside `path`, which `os.replace` then moves
    into place (atomic on POSIX); on any exception, Ctrl-C included, the temporary
    file is removed and `path` is left as it was, so readers see the old file or the
    new, never half, and an interrupted run leaves no partial file behind.
    """
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        if text:
            f = os.fdopen(fd, "w", encoding="utf-8", newline="\n")
        else:
            f = os.fdopen(fd, "wb")
        with f:
            yield f
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write(path: Path, data: bytes) -> None:
    """Write `data` to `path` atomically (see `atomic_open`)."""
    with atomic_open(path) as f:
        f.write(data)
