"""Monte Carlo batches shard over devices without changing a single sample."""

import json
import os
import subprocess
import sys

import jax
import numpy as np

import trilemma as T

SCRIPT = """
import json, jax
jax.config.update("jax_enable_x64", True)
import numpy as np, trilemma as T
task = T.make_task("shuffle_distinct", 4)
sampler = T.SAMPLERS["confidence_topk"](k=2, temperature=1.0)
model = T.oracle_model(task)
tokens = np.tile(model.layout.initial_tokens(0), (10, 1))
out, nfe, *_ = T.decode_batch(sampler, model, jax.random.key(7), tokens)
print(json.dumps({"devices": jax.device_count(), "tokens": np.asarray(out).tolist(),
                  "nfe": np.asarray(nfe).tolist()}))
"""


def run(devices: int) -> dict:
    env = dict(
        os.environ, XLA_FLAGS=f"--xla_force_host_platform_device_count={devices}"
    )
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_four_host_devices_give_the_same_samples_as_one():
    sharded = run(4)
    assert sharded["devices"] == 4
    task = T.make_task("shuffle_distinct", 4)
    sampler = T.SAMPLERS["confidence_topk"](k=2, temperature=1.0)
    model = T.oracle_model(task)
    tokens = np.tile(model.layout.initial_tokens(0), (10, 1))
    out, nfe, *_ = T.decode_batch(sampler, model, jax.random.key(7), tokens)
    assert np.asarray(out).tolist() == sharded["tokens"]
    assert np.asarray(nfe).tolist() == sharded["nfe"]
    assert not (np.asarray(out) == model.layout.mask_id).any()
