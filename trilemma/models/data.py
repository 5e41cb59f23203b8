"""Training sequences drawn from a task's exact law, in the task's layout."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from ..layout import task_layout


def sequence_sampler(task):
    """`draw(key, batch) -> (batch, S)` clean sequences `[prefix, y]`, (x, y) ~ p*.

    The joint's rows (prompt index, outputs) are drawn by their probabilities and
    laid out with the task's layout; jittable (the tables are closed over).
    """
    layout = task_layout(task)
    outcomes = np.asarray(task.joint.outcomes).astype(np.int32)
    sequences = jnp.asarray(
        np.concatenate([layout.prefixes[outcomes[:, 0]], outcomes[:, 1:]], axis=1)
    )
    logits = jnp.log(jnp.asarray(np.asarray(task.joint.probs, float)))

    def draw(key, batch: int):
        return sequences[jax.random.categorical(key, logits, shape=(batch,))]

    return draw
