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
def tiny_models(tmp_path_factory, worker_id):
    """A folder with a denoiser and an AR model trained 4 steps on shuffle n = 3 and 4.

    Built once per session through the library (`train_models`, the code behind
    `trilemma train`); the tests that need a trained model file read it. Under
    pytest-xdist the first worker to ask builds it in the session's shared temporary
    folder and the others wait for it (a file lock), instead of each training its
    own.
    """
    from filelock import FileLock

    from trilemma.models import presets

    def build(out):
        recipe = presets.preset("tiny").replace(
            groups=(("shuffle", 3), ("shuffle", 4)), steps=4
        )
        presets.train_models(recipe, out, progress=False)
        return out

    if worker_id == "master":  # one process: nothing to share
        return build(tmp_path_factory.mktemp("tiny_models"))
    shared = tmp_path_factory.getbasetemp().parent  # this session's, all workers'
    out = shared / "tiny_models"
    with FileLock(str(shared / "tiny_models.lock")):
        if not (out / "done").exists():
            out.mkdir(exist_ok=True)
            build(out)
            (out / "done").touch()
    return out
