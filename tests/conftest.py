"""Test configuration: hypothesis profiles (JAX's settings are in ../conftest.py)."""

import os

import pytest
from hypothesis import HealthCheck, settings

settings.register_profile(
    "ci",
    derandomize=True,
    deadline=None,
    max_examples=60,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile("dev", deadline=None, max_examples=200)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


def pytest_configure(config):
    """Refuse to test a `trilemma` other than this checkout's (a stray install)."""
    import pathlib

    import trilemma

    here = pathlib.Path(__file__).resolve().parent.parent / "trilemma"
    found = pathlib.Path(trilemma.__file__).resolve().parent
    if found != here:
        raise pytest.UsageError(
            f"the tests would import trilemma from {found}, not from this checkout "
            f"({here}); run them with `make test` (the checkout's .venv)"
        )
