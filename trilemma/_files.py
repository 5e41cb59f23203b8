"""Atomic file writes: a temporary file in the destination's folder, then a rename.

`check_destination` says, before any work, whether a file or folder can be written at
a path; `atomic_open` then writes it so that readers see the old file or the new one,
never half of one.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from . import _checks

_PREFIX_BYTES = 100
"""The longest part of the destination's name that a temporary name repeats."""


def _temporary_prefix(path: Path) -> str:
    """`.name.` for a temporary file beside `path`, short enough for any name.

    A name at the file system's limit (`PC_NAME_MAX`) must still be writable, so the
    temporary name repeats at most `_PREFIX_BYTES` bytes of it.
    """
    name = path.name
    while len(os.fsencode(name)) > _PREFIX_BYTES:
        name = name[:-1]
    return f".{name}."


def _mode() -> int:
    """The permissions a new file gets from `open`: 0o666 less the umask."""
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


@contextlib.contextmanager
def atomic_open(path: Path, *, text: bool = False) -> Iterator[IO]:
    """A file to write, moved onto `path` only when the block succeeds.

    The data go to a temporary file beside `path`, which `os.replace` then moves
    into place (atomic on POSIX); on any exception, Ctrl-C included, the temporary
    file is removed and `path` is left as it was, so readers see the old file or the
    new, never half, and an interrupted run leaves no partial file behind. The new
    file keeps the permissions of the file it replaces (a new one gets the umask's,
    as `open` would give it).
    """
    path = Path(path)
    fd, tmp = tempfile.mkstemp(
        dir=path.parent, prefix=_temporary_prefix(path), suffix=".tmp"
    )
    try:
        try:
            mode = stat.S_IMODE(path.stat().st_mode)
        except OSError:
            mode = _mode()
        os.fchmod(fd, mode)
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


def check_destination(path, name: str = "output", *, folder: bool = False) -> Path:
    """`path` as a `Path`, if a file (with `folder`, a folder) can be written there.

    Checked before any work, so that a run never fails at its end for want of a
    place to put its result:

    * the path is not empty (`Path("")` would be the current folder) and, for a
      file, does not end in a separator;
    * its name fits the file system (`os.pathconf(parent, "PC_NAME_MAX")`);
    * its parent is an existing folder that this process may write;
    * an existing file is a regular file, never a folder, device, pipe or socket
      (the rename that puts the result in place would replace it: `-o /dev/null`
      would become a regular file); an existing folder (with `folder`) is one;
    * a temporary file (a temporary folder, when the folder is still to be made)
      can really be created where the result goes, and is removed at once: this
      catches read-only and pseudo file systems such as `/proc`, and full disks'
      quotas, which permission bits do not show.

    Args:
      path: the destination (str or path-like).
      name: the argument's name, for the messages.
      folder: the destination is a folder, written into (it may exist already);
        else a file, replaced if it exists.

    Raises:
      ValueError: naming `name`, the path and what is wrong.
      TypeError: `path` is not a str or path-like.
    """
    if not isinstance(path, str | os.PathLike):
        raise TypeError(
            f"`{name}` must be a path (str or os.PathLike); got {_checks.show(path)} "
            f"({type(path).__name__})."
        )
    text = os.fspath(path)
    if isinstance(text, bytes):
        text = os.fsdecode(text)
    if text == "":
        raise ValueError(f"`{name}` is empty; give a {'folder' if folder else 'file'}")
    shown = _checks.show(text)
    if not folder and text.endswith(("/", os.sep)):
        raise ValueError(f"`{name}` {shown} ends in a separator; give a file name")
    path = Path(text)
    parent = path.parent
    if not parent.is_dir():
        raise ValueError(
            f"`{name}` {shown}: the folder {_checks.show(str(parent))} does not exist"
        )
    limit = _name_max(parent)
    if len(os.fsencode(path.name)) > limit:
        raise ValueError(
            f"`{name}` {shown}: the name is {len(os.fsencode(path.name)):,} bytes "
            f"long, over this file system's limit of {limit} bytes"
        )
    if not os.access(parent, os.W_OK | os.X_OK):
        raise ValueError(
            f"`{name}` {shown}: the folder {_checks.show(str(parent))} is not writable"
        )
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        mode = None
    except OSError as err:
        raise ValueError(f"`{name}` {shown}: {_reason(err)}") from None
    if folder:
        if mode is not None and not stat.S_ISDIR(mode):
            raise ValueError(f"`{name}` {shown} exists and is not a folder")
        if mode is not None and not os.access(path, os.W_OK | os.X_OK):
            raise ValueError(f"`{name}` {shown} is a folder that is not writable")
    elif mode is not None and stat.S_ISDIR(mode):
        raise ValueError(f"`{name}` {shown} is a directory; give a file name")
    elif mode is not None and not stat.S_ISREG(mode):
        raise ValueError(
            f"`{name}` {shown} exists and is not a regular file (a device, pipe or "
            "socket), which writing would replace; give a file name"
        )
    _try_create(path if mode is not None and folder else parent, name, shown, folder)
    return path


def _try_create(where: Path, name: str, shown: str, folder: bool) -> None:
    """Create a temporary file in `where` (a folder if `folder`) and remove it."""
    try:
        if folder:
            os.rmdir(tempfile.mkdtemp(dir=where, prefix=".trilemma-check."))
        else:
            fd, tmp = tempfile.mkstemp(dir=where, prefix=".trilemma-check.")
            os.close(fd)
            os.unlink(tmp)
    except OSError as err:
        raise ValueError(
            f"`{name}` {shown}: cannot create a {'folder' if folder else 'file'} in "
            f"{_checks.show(str(where))} ({_reason(err)})"
        ) from None


def check_space(folder: Path, nbytes: int, what: str) -> None:
    """`ValueError` if `what`, at least `nbytes` bytes, cannot fit in `folder`'s disk.

    Free space counts what this process may use (`shutil.disk_usage`'s `free`).
    """
    try:
        free = shutil.disk_usage(folder).free
    except OSError:  # no figure to compare with: the write will say
        return
    if nbytes > free:
        raise ValueError(
            f"{what} would write at least {_checks.format_count(nbytes)} bytes "
            f"({_checks.format_bytes(min(nbytes, _checks.SIZE_LIMIT))}), more than "
            f"the {_checks.format_bytes(free)} free in {_checks.show(str(folder))}; "
            "choose a smaller size or another folder"
        )


def _name_max(folder: Path) -> int:
    """The longest file name, in bytes, that `folder`'s file system takes."""
    try:
        return os.pathconf(folder, "PC_NAME_MAX")
    except (OSError, ValueError):
        return 255


def _reason(err: OSError) -> str:
    return err.strerror or str(err)
