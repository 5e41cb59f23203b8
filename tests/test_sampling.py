"""Sample files: one key per (seed, prompt, sample), invariance, schema, host models."""

import json
import os
import subprocess
import sys

import jax
import numpy as np
import pytest
from sampler_examples import TASK_BOUND, example

import trilemma as T
from trilemma import samples, sampling
from trilemma.models import HostModel, weights
from trilemma.samplers import apd

TASK = T.make_task("replace_random", 3, num_prompts=3)

SAMPLERS = {
    "confidence_topk": T.make_sampler("confidence_topk", k=2, temperature=1.0),
    "threshold": T.make_sampler("threshold", gamma=0.6, temperature=1.0, block=2),
    "mdlm": T.make_sampler("mdlm", num_steps=3),
    "apd": apd(weight=0.5, lookahead=2),
}


def _write(path, model, sampler, ar_model=None, **kw):
    kw.setdefault("samples_per_prompt", 5)
    sampling.sample_file(path, model, sampler, task=TASK, ar_model=ar_model, **kw)
    return path.read_bytes()


def _models(name):
    model = T.oracle_model(TASK)
    return model, (T.oracle_ar_model(TASK) if name == "apd" else None)


@pytest.mark.parametrize(
    "name",
    [
        pytest.param(
            name,
            marks=() if name == "apd" else (pytest.mark.slow,),  # APD: both models
        )
        for name in SAMPLERS
    ],
)
def test_file_is_the_same_whatever_the_batch_size_or_the_shards(name, tmp_path):
    """Other batch sizes and shards write the bytes of the one-batch file.

    Batch sizes 1, 4 and 1024; shards 0/2 + 1/2, and 0/4 .. 3/4 (one of them empty,
    with 3 prompts).
    """
    model, ar = _models(name)
    sampler = SAMPLERS[name]
    whole = _write(tmp_path / "whole.jsonl", model, sampler, ar, batch_size=1024)
    assert whole.count(b"\n") == 15
    for batch in (1, 4):
        part = _write(
            tmp_path / f"b{batch}.jsonl", model, sampler, ar, batch_size=batch
        )
        assert part == whole, f"batch size {batch} changed the file"
    for count in (2, 4):
        parts = [
            _write(
                tmp_path / f"s{i}.jsonl",
                model,
                sampler,
                ar,
                shard=f"{i}/{count}",
                batch_size=4,
            )
            for i in range(count)
        ]
        assert b"".join(parts) == whole, f"{count} shards differ from the whole"


def test_sample_j_of_prompt_i_is_decoded_with_its_own_key(tmp_path):
    """Line (i, j) is `decode` of prompt i, key fold_in(fold_in(key(seed), i), j)."""
    model = T.oracle_model(TASK)
    sampler = SAMPLERS["confidence_topk"]
    path = tmp_path / "s.jsonl"
    _write(path, model, sampler, seed=11, samples_per_prompt=3)
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert [(r["prompt_id"], r["sample_index"]) for r in lines] == [
        (i, j) for i in range(3) for j in range(3)
    ]
    for r in lines:
        key = jax.random.fold_in(
            jax.random.fold_in(jax.random.key(11), r["prompt_id"]), r["sample_index"]
        )
        one = T.decode(sampler, model, key, model.layout.initial_tokens(r["prompt_id"]))
        assert r["output_tokens"] == np.asarray(one.tokens)[1:].tolist()
        assert r["nfe"] == int(one.nfe)
        assert r["prompt_tokens"] == TASK.prompts[r["prompt_id"]].tolist()
        assert r["output_text"] == TASK.show(np.asarray(r["output_tokens"]))


def test_read_returns_the_written_columns(tmp_path):
    model, ar = _models("apd")
    path = tmp_path / "a.jsonl"
    _write(path, model, SAMPLERS["apd"], ar, samples_per_prompt=4, seed=3)
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert list(lines[0]) == list(samples.FIELDS)
    got = samples.read(path, path)  # two files: concatenated
    assert len(got) == 24
    np.testing.assert_array_equal(
        got.output_tokens[:12], [r["output_tokens"] for r in lines]
    )
    np.testing.assert_array_equal(got.nfe[:12], [r["nfe"] for r in lines])
    np.testing.assert_array_equal(got.ar_nfe[12:], [r["ar_nfe"] for r in lines])
    assert (got.ar_nfe <= got.nfe).all() and (got.nfe >= 1).all()
    assert got.runs == (
        {
            "task": "replace_random",
            "n": 3,
            "model": "oracle",
            "sampler": "apd",
            "params": {"weight": 0.5, "lookahead": 2, "temperature": 1.0},
            "seed": 3,
        },
    )
    assert set(got.prompts) == {0, 1, 2}


def _good_line():
    return {
        "schema": samples.SCHEMA,
        "task": "copy",
        "n": 2,
        "model": "oracle",
        "sampler": "random_topk",
        "params": {"k": 1},
        "seed": 0,
        "prompt_id": 0,
        "sample_index": 0,
        "prompt_tokens": [0, 1],
        "prompt_text": "0 1",
        "output_tokens": [0, 1],
        "output_text": "0 1",
        "output_kind": "tokens",
        "nfe": 2,
        "ar_nfe": 0,
    }


BAD_LINES = [
    ("{not json", "not valid JSON"),
    ("[1, 2]", "must be a JSON object"),
    (json.dumps({**_good_line(), "schema": "other/2"}), "`schema` must be"),
    (json.dumps({k: v for k, v in _good_line().items() if k != "nfe"}), "missing"),
    (json.dumps({**_good_line(), "nfe": -1}), "field `nfe`"),
    (json.dumps({**_good_line(), "nfe": True}), "field `nfe`"),
    (json.dumps({**_good_line(), "output_tokens": []}), "field `output_tokens`"),
    (json.dumps({**_good_line(), "output_tokens": [0, 1.5]}), "output_tokens"),
    (json.dumps({**_good_line(), "prompt_id": "a"}), "field `prompt_id`"),
    (json.dumps({**_good_line(), "output_tokens": [0, 1, 1]}), "earlier samples"),
    (json.dumps({**_good_line(), "prompt_tokens": [1, 0]}), "another prompt"),
    (json.dumps({**_good_line(), "output_kind": "words"}), "field `output_kind`"),
    (
        json.dumps({k: v for k, v in _good_line().items() if k != "output_kind"}),
        "missing field(s) output_kind",
    ),
]


@pytest.mark.parametrize(("line", "fragment"), BAD_LINES)
def test_read_names_the_file_and_line_of_a_malformed_line(line, fragment, tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_text(json.dumps(_good_line()) + "\n\n" + line + "\n")
    with pytest.raises(ValueError, match=f"{path}:3: ") as err:
        samples.read(path)
    assert fragment in str(err.value)


def test_version_1_lines_are_token_outputs_and_text_kind_is_text(tmp_path):
    """Version 1 lines read as before; `"text"` lines are their answer text.

    A `trilemma.samples/1` line (no `output_kind`) is a token output. A `"text"`
    line's outcome is its text, numbered, with its tokens' count kept.
    """
    old = {k: v for k, v in _good_line().items() if k != "output_kind"}
    path = tmp_path / "v1.jsonl"
    path.write_text(json.dumps({**old, "schema": "trilemma.samples/1"}) + "\n")
    got = samples.read(path)
    assert not got.text_outputs and got.output_tokens.tolist() == [[0, 1]]
    text = tmp_path / "text.jsonl"
    lines = [
        {
            **_good_line(),
            "output_kind": "text",
            "output_tokens": tokens,
            "output_text": t,
        }
        for tokens, t in [
            ([7, 8, 9], '["Ann"]'),
            ([5, 6, 1], '["Bob"]'),
            ([1, 1, 1], '["Ann"]'),
        ]
    ]
    text.write_text("".join(json.dumps(line) + "\n" for line in lines))
    got = samples.read(text)
    assert got.text_outputs and got.output_tokens.ravel().tolist() == [0, 1, 0]
    assert got.output_length.tolist() == [3, 3, 3]


def test_read_refuses_empty_and_unreadable_files(tmp_path):
    empty = tmp_path / "empty.jsonl"
    empty.write_text("\n")
    with pytest.raises(ValueError, match="empty"):
        samples.read(empty)
    with pytest.raises(ValueError, match="cannot read"):
        samples.read(tmp_path / "missing.jsonl")
    with pytest.raises(ValueError, match="at least one"):
        samples.read()


def test_an_interrupted_run_leaves_no_file(tmp_path, monkeypatch):
    """Ctrl-C in the second batch: no output file, no temporary file.

    A file already at the path is left as it was.
    """
    model = T.oracle_model(TASK)
    path = tmp_path / "s.jsonl"
    path.write_text("old\n")
    real = sampling.decode_batch
    calls = []

    def interrupted(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(sampling, "decode_batch", interrupted)
    with pytest.raises(KeyboardInterrupt):
        _write(path, model, SAMPLERS["confidence_topk"], batch_size=4)
    assert path.read_text() == "old\n"
    assert sorted(os.listdir(tmp_path)) == ["s.jsonl"]


# --------------------------------------------------------------------------------------
# The shipped model and several devices


SHIPPED = """
import sys, jax
jax.config.update("jax_enable_x64", True)
from pathlib import Path
import trilemma as T
from trilemma import sampling
from trilemma.models import weights
from trilemma.samplers import apd
out, batches = Path(sys.argv[1]), [int(b) for b in sys.argv[2:]]
denoiser = weights.resolve_model("default", "denoiser")
verifier = weights.resolve_model("default", "autoregressive")
task = denoiser.task_set.evaluation_pair("shuffle", 4, num_prompts=2)[0]
runs = {
    "confidence": (T.make_sampler("confidence_topk", k=2, temperature=1.0), None),
    "apd": (apd(weight=0.7, lookahead=3), verifier.model(task)),
}
for name, (sampler, ar) in runs.items():
    for batch in batches:
        sampling.sample_file(out / f"{name}-{batch}.jsonl", denoiser.model(task),
                             sampler, samples_per_prompt=5, seed=2, task=task,
                             batch_size=batch, ar_model=ar)
print(jax.device_count())
"""


def _shipped(tmp_path, devices, batches):
    folder = tmp_path / f"devices{devices}"
    folder.mkdir()
    env = dict(
        os.environ, XLA_FLAGS=f"--xla_force_host_platform_device_count={devices}"
    )
    done = subprocess.run(
        [sys.executable, "-c", SHIPPED, str(folder), *map(str, batches)],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert done.stdout.split()[-1] == str(devices)
    return {path.name: path.read_bytes() for path in folder.iterdir()}


@pytest.mark.slow  # 60 s; the oracle's files are checked on 1 and 4 devices by default
def test_shipped_model_files_are_the_same_on_one_or_four_devices(tmp_path):
    """The shipped models write the same bytes on one host device and on four.

    The denoiser (confidence top-k, and APD with the shipped AR verifier), at batch
    sizes 1 and 7 on one device, and 7 on four (two rows per device, one padded).
    """
    one, four = _shipped(tmp_path, 1, (1, 7)), _shipped(tmp_path, 4, (7,))
    for name in ("confidence", "apd"):
        assert (
            one[f"{name}-1.jsonl"] == one[f"{name}-7.jsonl"] == four[f"{name}-7.jsonl"]
        )
    lines = [json.loads(x) for x in one["apd-1.jsonl"].decode().splitlines()]
    assert {r["model"] for r in lines} == {"default-denoiser"}
    assert all(r["ar_nfe"] <= r["nfe"] for r in lines)
    names = set(weights.resolve_model("default", "denoiser").task_set.vocabulary)
    assert all(set(r["output_text"].split()) <= names for r in lines)


# --------------------------------------------------------------------------------------
# Host models: the oracle in NumPy, called once per step on the whole batch


def numpy_oracle(task, *, autoregressive=False, calls=None):
    """The oracle's logits for a batch, in plain NumPy: (B, S) -> (B, S, V).

    Marginals of the support rows that agree with the revealed outputs (or, for the
    AR verifier, with the outputs left of each position; row i then predicts i + 1).
    """
    outcomes = np.asarray(task.joint.outcomes)
    probs = np.asarray(task.joint.probs, float)
    sizes = np.asarray(task.joint.sizes[1:])
    vocab = int(max(task.joint.sizes))
    length = len(sizes)

    def logits_fn(tokens):
        if calls is not None:
            calls.append(tokens.shape)
        out = np.full(tokens.shape + (vocab,), -np.inf)
        for b, row in enumerate(tokens):
            prompt, outputs = row[0], row[1:]
            mine = outcomes[:, 0] == prompt
            table = np.zeros((length, vocab))
            for j in range(length):
                known = (
                    np.arange(length) < j if autoregressive else np.ones(length, bool)
                )
                known &= outputs != vocab
                agree = np.all((outcomes[:, 1:] == outputs) | ~known, axis=1) & mine
                w = np.bincount(outcomes[agree, 1 + j], probs[agree], minlength=vocab)
                if w.sum() == 0:
                    w = (np.arange(vocab) < sizes[j]).astype(float)
                table[j] = w / w.sum()
            with np.errstate(divide="ignore"):
                logs = np.log(table)
            if autoregressive:
                out[b, 0:length] = logs  # row j predicts output j (token j + 1)
            else:
                out[b, 0, prompt] = 0.0
                out[b, 1:] = logs
        return out

    return HostModel(logits_fn, T.task_layout(task), name="numpy-oracle")


HOST_FAST = ("random_topk", "threshold", "mdlm", "apd")
"""The host-model cases of the default suite (the others are marked slow)."""


@pytest.mark.parametrize(
    "name",
    [
        pytest.param(name, marks=() if name in HOST_FAST else (pytest.mark.slow,))
        for name in T.SAMPLERS
        if name not in TASK_BOUND
    ],
)
def test_a_numpy_host_model_draws_the_jax_oracles_samples(name):
    """A NumPy host model draws the JAX oracle's samples for the same keys.

    Every registered sampler: the same tokens, NFE and AR passes; the host model is
    called once per step, on the whole batch.
    """
    sampler = T.make_sampler(name, **example(name))
    task = T.make_task("shuffle_distinct", 4)
    calls = []
    host = numpy_oracle(task, calls=calls)
    jax_model, jax_ar = T.oracle_model(task), None
    host_ar = None
    if sampler.num_models == 2:
        jax_ar, host_ar = (
            T.oracle_ar_model(task),
            numpy_oracle(task, autoregressive=True),
        )
    keys = sampling.sample_keys(5, np.zeros(32, int), np.arange(32))
    tokens = np.tile(jax_model.layout.initial_tokens(0), (32, 1))
    mine = T.decode_batch(sampler, host, keys, tokens, ar_model=host_ar)
    ref = T.decode_batch(sampler, jax_model, keys, tokens, ar_model=jax_ar)
    np.testing.assert_array_equal(mine.tokens, np.asarray(ref.tokens))
    np.testing.assert_array_equal(mine.nfe, np.asarray(ref.nfe))
    np.testing.assert_array_equal(mine.ar_nfe, np.asarray(ref.ar_nfe))
    assert set(calls) == {(32, 5)}
    assert len(calls) <= sampler.max_steps(4)


def test_apd_with_a_jax_dllm_and_a_host_verifier():
    task = T.make_task("shuffle_distinct", 4)
    sampler = apd(weight=0.3, lookahead=4)
    keys = sampling.sample_keys(1, np.zeros(32, int), np.arange(32))
    model = T.oracle_model(task)
    tokens = np.tile(model.layout.initial_tokens(0), (32, 1))
    ref = T.decode_batch(sampler, model, keys, tokens, ar_model=T.oracle_ar_model(task))
    host_ar = numpy_oracle(task, autoregressive=True)
    mine = T.decode_batch(sampler, model, keys, tokens, ar_model=host_ar)
    np.testing.assert_array_equal(mine.tokens, np.asarray(ref.tokens))
    np.testing.assert_array_equal(mine.ar_nfe, np.asarray(ref.ar_nfe))


@pytest.mark.parametrize(
    ("returned", "fragment"),
    [
        (lambda t: np.zeros(t.shape + (3,)), "shape (8, 5, 3); expected (8, 5, 4)"),
        (lambda t: np.zeros(t.shape[:1] + (4,)), "shape (8, 4); expected (8, 5, 4)"),
        (lambda t: np.zeros(t.shape + (4,), int), "dtype int64; expected a floating"),
        (lambda t: np.full(t.shape + (4,), np.nan), "NaN"),
        (lambda t: [[0.0]], "shape ()"),
    ],
)
def test_a_host_model_returning_the_wrong_logits_is_named(returned, fragment):
    task = T.make_task("shuffle_distinct", 4)
    host = HostModel(returned, T.task_layout(task), name="broken")
    tokens = np.tile(T.task_layout(task).initial_tokens(0), (8, 1))
    with pytest.raises(ValueError, match="host model 'broken' returned") as err:
        T.decode_batch(
            T.make_sampler("random_topk", k=1), host, jax.random.key(0), tokens
        )
    assert fragment in str(err.value)
