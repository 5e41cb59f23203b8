"""Shared helpers for the experiment scripts: float64, atomic writes, cached metrics.

Every output is written to a temporary file in the destination directory and then
moved into place with `os.replace`, which is atomic on POSIX: an interrupted run
leaves each output either complete (old or new) or untouched, never truncated.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
FIGURES = REPO_ROOT / "figures"
FIGURE_FORMATS = ("png", "pdf")
DPI = 200


def script_main(
    run: Callable[..., list[Path]], doc: str, argv=None, *, model: bool = False
) -> int:
    """Command line of one experiment script: `--outdir`, then `run(outdir)`.

    With `model=True` it also takes `--model default|PATH` (the shipped models or a
    `trilemma train` folder) and calls `run(outdir, model=...)`. Selects the Agg
    backend and float64 first; prints one line per output written.
    """
    import argparse

    import matplotlib

    matplotlib.use("Agg")
    enable_x64()
    parser = argparse.ArgumentParser(description=doc.strip().splitlines()[0])
    parser.add_argument("--outdir", type=Path, default=FIGURES)
    if model:
        parser.add_argument("--model", default="default", help="default or a folder")
    args = parser.parse_args(argv)
    options = {"model": args.model} if model else {}
    for path in run(args.outdir, **options):
        print(f"wrote {describe(path)}")
    return 0


def enable_x64() -> None:
    """Turn on float64 in JAX (idempotent); every experiment entry point calls it."""
    import jax

    jax.config.update("jax_enable_x64", True)


@contextlib.contextmanager
def atomic_path(path: Path) -> Iterator[Path]:
    """Yield a temporary path next to `path`; on success move it onto `path`.

    Args:
      path: the final destination.

    Yields:
      A temporary file path in the same directory (so `os.replace` is atomic).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        yield Path(tmp)
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; use the usual mode
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_text(path: Path, text: str) -> Path:
    """Write `text` to `path` atomically; returns `path`."""
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return Path(path)


def write_json(path: Path, obj: Any) -> Path:
    """Write `obj` as indented JSON to `path` atomically; returns `path`."""
    return write_text(
        path, json.dumps(obj, indent=2, allow_nan=False, ensure_ascii=False) + "\n"
    )


def save_figure(fig, stem: str, outdir: Path = FIGURES) -> list[Path]:
    """Save `fig` as `<outdir>/<stem>.png` (200 dpi) and `.pdf`, each atomically.

    Args:
      fig: a matplotlib `Figure`.
      stem: file name without extension.
      outdir: destination directory.

    Returns:
      The written paths.
    """
    from trilemma.plotting import style

    written = []
    with style():
        for fmt in FIGURE_FORMATS:
            path = Path(outdir) / f"{stem}.{fmt}"
            with atomic_path(path) as tmp:
                fig.savefig(tmp, format=fmt, dpi=DPI, metadata=_metadata(fmt))
            written.append(path)
    return written


def _metadata(fmt: str) -> dict[str, Any]:
    # Fixed metadata keep the PDF byte-stable across runs (no creation date).
    if fmt == "pdf":
        return {"Creator": "trilemma experiments", "CreationDate": None}
    return {"Software": "trilemma experiments"}


@functools.cache
def task(name: str, n: int):
    """`trilemma.make_task(name, n)`, cached within one process."""
    import trilemma as T

    return T.make_task(name, n)


@functools.cache
def exact_total_correlation_bits(name: str, n: int) -> float:
    """Exact C(Y|X) of task `name` at size `n`, by enumeration, in bits (cached)."""
    import trilemma as T

    t = task(name, n)
    nats = T.total_correlation(t.joint, t.outputs, given=t.given)
    return float(T.to_bits(nats))


def clear_cache() -> None:
    """Drop cached tasks and metrics (frees the large Shuffle supports)."""
    task.cache_clear()
    exact_total_correlation_bits.cache_clear()


def describe(path: Path) -> str:
    """A short 'figures/x.png (123 kB)' description of a written file."""
    path = Path(path)
    try:
        shown = path.resolve().relative_to(REPO_ROOT)
    except ValueError:
        shown = path
    return f"{shown} ({path.stat().st_size / 1024:.0f} kB)"


Step = Callable[[Path], list[Path]]
"""An experiment step: `run(outdir) -> written paths`."""
