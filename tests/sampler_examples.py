"""The registered samplers, grouped by what a test can run them on.

Every group is read off the registry (`trilemma.samplers.SAMPLERS`, `EXAMPLES`)
and the samplers' own protocol attributes, so a new sampler joins every test that
applies to it without an edit here or in the test files.
"""

from trilemma.samplers import EXAMPLES, SAMPLERS, make_sampler


def example(name: str, which: int = 0) -> dict:
    """The `which`-th example settings of sampler `name` (0: temperature > 0)."""
    return dict(EXAMPLES[name][which])


def built(name: str, which: int = 0):
    """The sampler `name` built with its `which`-th example settings."""
    return make_sampler(name, **example(name, which))


TASK_BOUND = tuple(
    name for name in SAMPLERS if getattr(built(name), "task_bound", False)
)
"""The samplers solved for one task (`task_bound`: the optimal policy), which decode
only that task's oracle once bound to it; their own tests cover them."""

ONE_MODEL = tuple(
    name for name in SAMPLERS if built(name).num_models == 1 and name not in TASK_BOUND
)
"""The samplers that decode with any one model."""

LEVELS = tuple(name for name in SAMPLERS if built(name).law == "levels")
"""The rule-based samplers (score, count, temperature) of the level enumerator."""
