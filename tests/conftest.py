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


@pytest.fixture(scope="session")
def tiny_models(tmp_path_factory):
    """A folder with a denoiser and an AR model trained 4 steps on shuffle n = 3 and 4.

    Built once per session through the library (`train_models`, the code behind
    `trilemma train`); the tests that need a trained model file read it.
    """
    from trilemma.models import presets

    out = tmp_path_factory.mktemp("tiny_models")
    recipe = presets.preset("tiny").replace(
        groups=(("shuffle", 3), ("shuffle", 4)), steps=4
    )
    presets.train_models(recipe, out, progress=False)
    return out
