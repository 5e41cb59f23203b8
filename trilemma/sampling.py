r"""Many samples per prompt to a sample file, reproducibly and in bounded memory.

Sample $j$ of prompt $i$ is decoded with its own key
$$k_{ij} = \mathrm{fold\_in}(\mathrm{fold\_in}(\mathrm{key}(\text{seed}), i), j),$$
so it depends on (seed, $i$, $j$) and nothing else: not on the batch size, the
number of devices, or which shard of the prompts a run draws. The samples are
decoded in batches of `batch_size` rows (the last one padded, so one kernel is
compiled), each batch sharded over the devices (`decode_batch`), and streamed to the
file in order of (prompt, sample); memory holds one batch at a time.

`--shard i/K` draws prompts $[\lfloor iP/K \rfloor, \lfloor (i+1)P/K \rfloor)$, so
the K part files concatenated in order are byte for byte the unsharded file.

**Bitwise reproducibility needs a row-independent model.** The samplers draw each
token by comparing a uniform with the model's cumulative probabilities, so a run
reproduces bit for bit when each row's logits do not depend on the rows batched
beside it. That holds for the oracle and, on XLA:CPU, for the shipped transformer
(both tested); a GPU library may pick batch-size-dependent matmul kernels, which can
move low bits and, rarely, a draw.
"""

from __future__ import annotations

import time
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from . import _checks, _files, samples
from .layout import TokenLayout
from .samplers import decode_batch

DEFAULT_BATCH_SIZE = 1024
"""Rows decoded per kernel call (memory grows with it; speed saturates well before)."""


class SampleSummary(NamedTuple):
    r"""What `sample_file` wrote.

    Attributes:
      path: the sample file.
      num_samples: lines written.
      num_prompts: prompts of this shard.
      mean_nfe: mean dLLM forward passes per sample.
      mean_ar_nfe: mean verifier passes per sample (APD; else 0).
      tokens_per_step: output tokens per dLLM forward pass, $L / \overline{NFE}$.
      seconds: wall time of the decoding and writing.
      compile_seconds: wall time of the first batch (compilation included).
    """

    path: str
    num_samples: int
    num_prompts: int
    mean_nfe: float
    mean_ar_nfe: float
    tokens_per_step: float
    seconds: float
    compile_seconds: float

    @property
    def samples_per_second(self) -> float:
        """Samples per second, over the whole run."""
        return self.num_samples / self.seconds if self.seconds > 0 else float("inf")


def sample_keys(seed: int, prompt_ids, sample_indices):
    """The key of each (prompt, sample) pair: `fold_in(fold_in(key(seed), i), j)`."""
    base = jax.random.key(seed)
    return jax.vmap(lambda i, j: jax.random.fold_in(jax.random.fold_in(base, i), j))(
        jnp.asarray(prompt_ids, jnp.uint32), jnp.asarray(sample_indices, jnp.uint32)
    )


def shard_prompts(num_prompts: int, shard: tuple[int, int]) -> range:
    r"""Shard `(i, K)`: $\lfloor iP/K \rfloor \le p < \lfloor (i+1)P/K \rfloor$."""
    index, count = shard
    return range(index * num_prompts // count, (index + 1) * num_prompts // count)


def check_shard(shard, num_prompts: int | None = None) -> tuple[int, int]:
    r"""`(i, K)` from `"i/K"` or a pair, with $0 \le i < K$; else `ValueError`.

    With `num_prompts` ($P$), the shard must also hold a prompt: for $K > P$ some
    shards are empty, and an empty shard is refused rather than written as an
    empty file (which would replace the destination with nothing).
    """
    text = shard if isinstance(shard, str) else "/".join(map(str, shard))
    shown = _checks.show(text)
    parts = text.split("/")
    try:
        index, count = (int(part) for part in parts)
    except ValueError:
        raise ValueError(
            f"`shard` must be i/K with integers 0 <= i < K; got {shown}"
        ) from None
    if not 0 <= index < count:
        raise ValueError(f"`shard` must be i/K with 0 <= i < K; got {shown}")
    if num_prompts is not None and not shard_prompts(num_prompts, (index, count)):
        # only K > P leaves shards empty: each prompt is in one shard, so P are not
        raise ValueError(
            f"`shard` {shown} holds none of the {num_prompts:,} prompt(s) (shard i/K "
            "holds prompts floor(iP/K) to floor((i+1)P/K) - 1): with K = "
            f"{_checks.show(count)} shards of P = {num_prompts:,} prompt(s), K - P "
            f"of them are empty; use K <= {num_prompts:,}"
        )
    return index, count


MAX_SAMPLES_PER_PROMPT = 2**32
"""The most samples per prompt: sample $j$'s key folds in $j$ as a 32-bit word, so
$j < 2^{32}$ (a larger $j$ would repeat an earlier sample's key)."""


def line_bytes(run: dict, prompt_fields: dict, output_length: int) -> int:
    """A lower bound on the bytes of one line of a prompt: every token one digit."""
    return 1 + len(
        samples.record(
            run,
            prompt_id=0,
            sample_index=0,
            **prompt_fields,
            output_tokens=[0] * output_length,
            output_text="",
            output_kind="tokens",
            nfe=0,
            ar_nfe=0,
        ).encode()
    )


def sample_file(
    path,
    model,
    sampler,
    *,
    samples_per_prompt: int,
    seed: int = 0,
    task=None,
    batch_size: int = DEFAULT_BATCH_SIZE,
    shard=(0, 1),
    ar_model=None,
    model_name: str | None = None,
    progress: bool = False,
) -> SampleSummary:
    r"""Decode `samples_per_prompt` samples of every prompt of `model` to `path`.

    Args:
      path: the JSONL file to write (atomically: nothing appears on failure).
      model: a `Model` or `HostModel`; its layout's `prefixes` are the prompts.
      sampler: a registered sampler (`trilemma.samplers.make_sampler`).
      samples_per_prompt: $1 \le M \le 2^{32}$ (`MAX_SAMPLES_PER_PROMPT`).
      seed: the run's seed ($0 \le$ seed $< 2^{32}$).
      task: the task whose prompts the layout's prefixes are (for `task`, `n` and
        `prompt_tokens`), or None.
      batch_size: rows per kernel call.
      shard: `(i, K)` or `"i/K"`: draw the i-th of K contiguous parts of the prompts.
        With more parts than prompts some parts are empty, and an empty part is
        an empty file (so that any K parts concatenate to the whole); `trilemma
        sample` refuses one (`check_shard` with the number of prompts).
      ar_model: APD's verifier.
      model_name: the `model` field (default `model.name`).
      progress: show a progress bar in samples/s (stderr).

    Returns:
      A `SampleSummary`.

    Raises:
      ValueError: before anything is decoded or written, for a destination that
        cannot be written (`samples.check_destination`), a file larger than the
        free space of its folder (the lines counted at their shortest, every token
        one digit), or out-of-range arguments.
    """
    path = samples.check_destination(path)
    layout: TokenLayout = model.layout
    per_prompt = _checks.check_int(
        samples_per_prompt,
        "samples_per_prompt",
        minimum=1,
        maximum=MAX_SAMPLES_PER_PROMPT,
    )
    seed = _checks.check_int(seed, "seed", minimum=0, maximum=2**32 - 1)
    batch_size = _checks.check_int(batch_size, "batch_size", minimum=1)
    shard = check_shard(shard)  # an empty one writes an empty file (see Args)
    prompts = shard_prompts(layout.prefixes.shape[0], shard)
    total = len(prompts) * per_prompt
    batch_size = max(1, min(batch_size, total))
    run = {
        "task": None if task is None else task.name,
        "n": None if task is None else int(task.n),
        "model": model_name or model.name,
        "sampler": sampler.name,
        "params": dict(sampler.params),
        "seed": seed,
    }
    text = model.text or layout.render
    output_kind = output_kind_of(layout, task)
    prompt_fields = {
        i: {
            "prompt_tokens": np.asarray(
                layout.prefixes[i] if task is None else task.prompts[i]
            ).tolist(),
            "prompt_text": (
                model.prompt_text(i)
                if model.prompt_text
                else _prompt_text(layout, task, i)
            ),
        }
        for i in prompts
    }
    one_each = sum(
        line_bytes(run, prompt_fields[i], layout.output_length) for i in prompts
    )
    _files.check_space(
        path.parent,
        one_each * per_prompt,
        f"`samples_per_prompt` = {per_prompt:,} on {len(prompts):,} prompt(s), "
        f"{total:,} lines,",
    )
    bar = None
    start = time.perf_counter()
    compile_seconds = 0.0
    nfe_sum = ar_sum = 0
    cache: dict[bytes, str] = {}
    try:
        with samples.writer(path) as f:
            for first in range(0, total, batch_size):
                rows = np.arange(first, min(first + batch_size, total))
                prompt_ids = np.asarray(prompts)[rows // per_prompt]
                indices = rows % per_prompt
                out = _decode_rows(
                    model, sampler, ar_model, seed, prompt_ids, indices, batch_size
                )
                if first == 0:  # the bar starts once the model has answered
                    compile_seconds = time.perf_counter() - start
                    if progress:
                        from tqdm.auto import tqdm

                        bar = tqdm(
                            total=total,
                            desc=f"sample {sampler.name}",
                            unit="sample",
                            disable=None,
                        )
                outputs = layout.outputs(out.tokens)
                for r in range(len(rows)):
                    output = outputs[r]
                    key = output.tobytes()
                    if key not in cache:
                        cache[key] = text(output)
                    f.write(
                        samples.record(
                            run,
                            prompt_id=int(prompt_ids[r]),
                            sample_index=int(indices[r]),
                            **prompt_fields[int(prompt_ids[r])],
                            output_tokens=output.tolist(),
                            output_text=cache[key],
                            output_kind=output_kind,
                            nfe=int(out.nfe[r]),
                            ar_nfe=int(out.ar_nfe[r]),
                        )
                        + "\n"
                    )
                nfe_sum += int(out.nfe.sum())
                ar_sum += int(out.ar_nfe.sum())
                if bar is not None:
                    bar.update(len(rows))
    finally:
        if bar is not None:
            bar.close()
    seconds = time.perf_counter() - start
    mean_nfe = nfe_sum / total if total else float("nan")
    return SampleSummary(
        path=str(path),
        num_samples=total,
        num_prompts=len(prompts),
        mean_nfe=mean_nfe,
        mean_ar_nfe=ar_sum / total if total else float("nan"),
        tokens_per_step=layout.output_length / mean_nfe if total else float("nan"),
        seconds=seconds,
        compile_seconds=compile_seconds,
    )


def _decode_rows(model, sampler, ar_model, seed, prompt_ids, indices, batch_size):
    """Decode one batch, padded to `batch_size` rows (one compiled shape)."""
    count = len(prompt_ids)
    pad = batch_size - count
    prompt_ids = np.concatenate([prompt_ids, np.repeat(prompt_ids[-1:], pad)])
    indices = np.concatenate([indices, np.repeat(indices[-1:], pad)])
    keys = sample_keys(seed, prompt_ids, indices)
    tokens = model.layout.initial_tokens(prompt_ids)
    out = decode_batch(sampler, model, keys, tokens, ar_model=ar_model)
    return out._replace(
        tokens=np.asarray(out.tokens)[:count],
        nfe=np.asarray(out.nfe)[:count],
        ar_nfe=np.asarray(out.ar_nfe)[:count],
    )


def output_kind_of(layout: TokenLayout, task) -> str:
    """`"tokens"`, or `"text"` for a model that answers `task` in its own vocabulary.

    A model in the task's layout writes the task's values (the oracle, trained
    models, host models built for the task): its outputs are graded as tokens. One
    whose output alphabets are not the task's (a PyTorch dLLM's tokenizer, any
    answer length) answers in words: its outputs are graded as text.
    """
    if task is None:
        return "tokens"
    same = tuple(layout.sizes) == tuple(int(k) for k in task.joint.sizes[1:])
    return "tokens" if same else "text"


def _prompt_text(layout: TokenLayout, task, index: int) -> str:
    """The prompt as text: the prefix's token names, or the prompt's numbers.

    Names when the layout names its whole vocabulary (a trained model's layout).
    """
    names = layout.labels[0] if layout.labels else ()
    if len(names) >= layout.vocab_size:
        return " ".join(names[int(v)] for v in layout.prefixes[index])
    row = layout.prefixes[index] if task is None else task.prompts[index]
    return " ".join(str(int(v)) for v in row)
