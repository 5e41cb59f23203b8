"""Root test configuration, for the tests and the doctests in `trilemma/` alike.

Float64, strict dtype promotion and rank promotion that raises, set once for the
whole session whichever paths pytest is given (`pytest`, `pytest tests/...` or
`pytest trilemma`); library modules never touch `jax.config`. The session also
refuses to test a `trilemma` imported from anywhere but this checkout.
"""

import pathlib

import jax
import pytest

jax.config.update("jax_enable_x64", True)
jax.config.update("jax_numpy_dtype_promotion", "strict")
jax.config.update("jax_numpy_rank_promotion", "raise")


def pytest_configure(config):
    """Refuse to test a `trilemma` other than this checkout's (a stray install)."""
    import trilemma

    here = pathlib.Path(__file__).resolve().parent / "trilemma"
    found = pathlib.Path(trilemma.__file__).resolve().parent
    if found != here:
        raise pytest.UsageError(
            f"the tests would import trilemma from {found}, not from this checkout "
            f"({here}); run them with `make test` (the checkout's .venv)"
        )
