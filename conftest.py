"""Root test configuration, for the tests and the doctests in `trilemma/` alike.

Float64, strict dtype promotion and rank promotion that raises, set once for the
whole session whichever paths pytest is given (`pytest`, `pytest tests/...` or
`pytest trilemma`); library modules never touch `jax.config`. The session also
refuses to test a `trilemma` imported from anywhere but this checkout.
"""

import os
import pathlib
import shutil
import tempfile

import jax
import pytest

jax.config.update("jax_enable_x64", True)
jax.config.update("jax_numpy_dtype_promotion", "strict")
jax.config.update("jax_numpy_rank_promotion", "raise")

COMPILATION_CACHE = "TRILEMMA_TEST_COMPILATION_CACHE"
"""The environment variable naming the session's JAX compilation cache folder."""


def pytest_configure(config):
    """Share compiled kernels across the session; refuse a stray `trilemma`."""
    _share_compiled_kernels(config)
    _refuse_a_stray_install()


def pytest_unconfigure(config):
    """Remove the compilation cache the session made (in its main process)."""
    folder = getattr(config, "_trilemma_compilation_cache", None)
    if folder is not None:
        shutil.rmtree(folder, ignore_errors=True)


def _share_compiled_kernels(config):
    """One JAX persistent compilation cache for the session's processes.

    Tests build the same kernels again and again: new closures and new jitted
    wrappers of one computation, and the same computations in each pytest-xdist
    worker. With a cache every compiled executable is written once to a folder that
    the session creates (in its main process, before the workers start, so they
    inherit its name) and removes at the end, and found by its HLO there; results
    are those of the same executable. Nothing outlives the session, so no kernel
    compiled for one machine or JAX version is ever read by another.
    `TRILEMMA_TEST_COMPILATION_CACHE=off` turns it off.
    """
    folder = os.environ.get(COMPILATION_CACHE)
    if folder == "off":
        return
    if folder is None:
        folder = tempfile.mkdtemp(prefix="trilemma-jax-cache-")
        os.environ[COMPILATION_CACHE] = folder
        config._trilemma_compilation_cache = folder
    jax.config.update("jax_compilation_cache_dir", folder)
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)
    jax.config.update("jax_persistent_cache_min_entry_size_bytes", 0)


def _refuse_a_stray_install():
    """Refuse to test a `trilemma` other than this checkout's (a stray install)."""
    import trilemma

    here = pathlib.Path(__file__).resolve().parent / "trilemma"
    found = pathlib.Path(trilemma.__file__).resolve().parent
    if found != here:
        raise pytest.UsageError(
            f"the tests would import trilemma from {found}, not from this checkout "
            f"({here}); run them with `make test` (the checkout's .venv)"
        )
