r"""The exact fit of a trained model to the tasks it was trained on.

For each trained (task, n) group, on random prompts whose item sets were in the
training data (`held_in`) and on prompts whose item sets never were (`held_out`),
the model's output law is computed exactly, never by Monte Carlo:

* **denoiser**: its one-by-one law $q_\theta(y \mid x)$: random order, one token per
  step, temperature 1 (`random_topk(k=1, temperature=1)`), enumerated by
  `simulate(task, sampler, model=..., support_only=True)`;
* **autoregressive**: $q_\theta(y \mid x) = \prod_j p_\theta(y_j \mid x, y_{<j})$ on
  every valid output, one causal forward pass per output.

Against the task's target $p^*$ each gives a `ModelFit`: the grader's accuracy,
precision $q_\theta(\mathrm{supp}\,p^*)$, recall $p^*(\mathrm{supp}\,q_\theta)$ (1
for any softmax model unless a probability underflows) and
$D_{KL}(p^* \| q_\theta)$. For the denoiser also its **one-step** divergence
$$D_{KL}\big(p^* \,\big\|\, \textstyle\prod_j q_{\theta,j}(\cdot \mid x)\big)
  = C(Y|X) + \textstyle\sum_j D_{KL}(p^*_j \| q_{\theta,j}),$$
with $q_{\theta,j}$ the model's marginals given the fully masked outputs: the loss
of decoding everything in one step, which for the ideal model is the task's
$C(Y|X)$ (reported beside it). Information is in nats (`in_bits` for bits).

`report` fits the model files `load` names and gives one JSON-ready dict in bits;
`table` renders it (what `trilemma fit` prints and `experiments/model_fit.py` writes).
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from . import _checks, point
from ._keys import row_index
from ._units import in_bits
from .metrics import total_correlation
from .samplers import SAMPLERS
from .simulation import DEFAULT_MAX_STATES, simulate
from .simulation._model import level_probabilities

SPLITS = ("held_in", "held_out")
"""Prompt splits: item sets in the training data, and item sets never in it."""


class ModelFit(NamedTuple):
    r"""How well a model fits one (task, n) group on one split of prompts; nats.

    Attributes:
      task: the task's name.
      n: its size.
      split: `held_in` or `held_out`.
      num_prompts: prompts the law was computed on (each with mass 1/P).
      accuracy: the grader's pass rate under $q_\theta$.
      target_accuracy: the grader's pass rate under $p^*$, the ideal model's (below
        1 where $p^*$ puts mass on outputs the grader rejects: ParallelBench's
        Shuffle grader rejects the identity permutation, 1/n! of $p^*$).
      precision: $q_\theta$'s mass on valid outputs.
      recall: $p^*$'s mass on outputs $q_\theta$ can produce.
      kl: $D_{KL}(p^* \| q_\theta)$.
      one_step_kl: $D_{KL}(p^* \| \prod_j q_{\theta,j})$ (None for an AR model).
      total_correlation: the task's $C(Y|X)$, the ideal model's one-step KL.
    """

    task: str
    n: int
    split: str
    num_prompts: int
    accuracy: float
    target_accuracy: float
    precision: float
    recall: float
    kl: float
    one_step_kl: float | None
    total_correlation: float


def one_by_one(task, model):
    """The exact `Simulation` of one-by-one random-order decoding at temperature 1."""
    sampler = SAMPLERS["random_topk"](k=1, temperature=1.0)
    return simulate(task, sampler, model=model, support_only=True)


def one_step_kl(task, model) -> float:
    r"""$D_{KL}(p^* \| \prod_j q_{\theta,j})$, the model's marginals at step one."""
    joint = task.joint
    outcomes = np.asarray(joint.outcomes).astype(np.int64)
    p = np.asarray(joint.probs, float)
    num_prompts, length = int(joint.sizes[0]), len(task.outputs)
    masked = np.full((num_prompts, length), model.layout.mask_id, np.int64)
    marginals = level_probabilities(model, np.arange(num_prompts), masked)
    q = marginals[outcomes[:, :1], np.arange(length), outcomes[:, 1:]]
    with np.errstate(divide="ignore"):
        log_q = np.sum(np.log(q), axis=1)
    conditional = p / _prompt_mass(outcomes, p, num_prompts)[outcomes[:, 0]]
    return float(np.sum(p * (np.log(conditional) - log_q)))


def autoregressive_law(task, model) -> np.ndarray:
    r"""$q_\theta(y|x) = \prod_j p_\theta(y_j \mid x, y_{<j})$ on `task.joint`'s rows.

    One causal forward pass per valid output: row $i$ of the model's logits predicts
    token $i + 1$, so the output tokens are read off rows $m - 1 .. m + L - 2$.
    """
    outcomes = np.asarray(task.joint.outcomes).astype(np.int64)
    probs = level_probabilities(
        model, outcomes[:, 0], outcomes[:, 1:], predicts_next=True
    )
    picked = np.take_along_axis(probs, outcomes[:, 1:, None], axis=-1)[..., 0]
    return np.prod(picked, axis=1)


def group_fit(task, model, split: str, *, causal: bool = False) -> ModelFit:
    """The `ModelFit` of `model` on one pooled task (its prompts are one split)."""
    _checks.check_one_of(split, "split", SPLITS)
    joint = task.joint
    outcomes = np.asarray(joint.outcomes).astype(np.int64)
    p = np.asarray(joint.probs, float)
    if causal:
        conditional = autoregressive_law(task, model)
        q = conditional * _prompt_mass(outcomes, p, int(joint.sizes[0]))[outcomes[:, 0]]
        step = None
    else:
        sim = one_by_one(task, model)
        q = np.zeros(len(p))
        q[_row_of(sim.outputs.outcomes, outcomes)] = np.asarray(sim.outputs.probs)
        step = one_step_kl(task, model)
    passed = task.grade(outcomes[:, 0], outcomes[:, 1:])
    return ModelFit(
        task=task.name,
        n=int(task.n),
        split=split,
        num_prompts=int(joint.sizes[0]),
        accuracy=float(np.sum(q[passed])),
        target_accuracy=float(np.sum(p[passed])),
        precision=float(point.precision(q, p)),  # the rows are supp p*
        recall=float(point.recall(q, p)),
        kl=float(point.kl_reference_to_sampler(q, p)),
        one_step_kl=step,
        total_correlation=float(total_correlation(joint, given=(0,))),
    )


class TooLarge(NamedTuple):
    """A trained group whose exact fit is over the enumeration budget.

    Attributes:
      task, n: the group.
      rows: what its fit would enumerate (`enumeration_rows`).
      limit: the budget, `DEFAULT_MAX_STATES`.
    """

    task: str
    n: int
    rows: int
    limit: int


class Fit(NamedTuple):
    """`fit`'s result: the groups it could fit exactly, and the ones too large."""

    rows: list[ModelFit]
    too_large: list[TooLarge]


def enumeration_rows(name: str, n: int, num_prompts: int, *, causal: bool) -> int:
    r"""Rows the exact fit of group (`name`, `n`) enumerates on `num_prompts` prompts.

    A denoiser's one-by-one law visits every partial output of every valid output,
    $P\,K\,2^L$ rows ($K$ valid outputs per prompt, $L$ output positions); an
    autoregressive model scores the $P\,K$ valid outputs.
    """
    from .tasks._pooled import canonical_support

    rows, _ = canonical_support(name, n)[0]
    count = num_prompts * len(rows)
    return count if causal else count * 2 ** rows.shape[1]


def fit(model_file, *, num_prompts: int = 8, seed: int = 0, progress: bool = False):
    """The `ModelFit`s of a loaded model file on every group it was trained on.

    Both splits of each group; a group whose exact law is over the enumeration
    budget (`enumeration_rows` > `DEFAULT_MAX_STATES`: the 4x4 Latin square's
    denoiser fit visits 3 x 10^8 partial outputs) is listed in `too_large`, not
    fitted, and the others are reported.

    Args:
      model_file: a `trilemma.models.weights.ModelFile` (`load_model`,
        `resolve_model`).
      num_prompts: random prompts per group and split.
      seed: seeds the prompts (`TaskSet.evaluation_tasks`).
      progress: a progress bar over groups on stderr.

    Returns:
      A `Fit`.
    """
    _checks.check_int(num_prompts, "num_prompts", minimum=1)
    causal = bool(model_file.config.causal)
    too_large = [
        TooLarge(name, n, size, DEFAULT_MAX_STATES)
        for name, n in model_file.task_set.groups
        if (size := enumeration_rows(name, n, num_prompts, causal=causal))
        > DEFAULT_MAX_STATES
    ]
    skip = {(t.task, t.n) for t in too_large}
    tasks = model_file.task_set.evaluation_tasks(num_prompts=num_prompts, seed=seed)
    items = [(group, pair) for group, pair in tasks.items() if group not in skip]
    if progress:
        from tqdm.auto import tqdm

        items = tqdm(items, desc=f"fit {model_file.name}", unit="group", disable=None)
    rows = []
    for _, pair in items:
        for split, task in zip(SPLITS, pair, strict=True):
            rows.append(group_fit(task, model_file.model(task), split, causal=causal))
    return Fit(rows, too_large)


def _prompt_mass(outcomes, p, num_prompts):
    return np.bincount(outcomes[:, 0], weights=p, minlength=num_prompts)


def _row_of(found, outcomes):
    index = row_index(np.asarray(found).astype(np.int64), outcomes)
    if np.any(index < 0):
        raise AssertionError("the simulation returned an output off the support")
    return index


def load(spec: str):
    """The model files `--model` names: both shipped ones for `default`."""
    from .models import weights

    if spec == "default":
        return [weights.resolve_model("default", kind) for kind in weights.KINDS]
    return [weights.resolve_model(spec)]


def report(model_files, *, num_prompts: int, seed: int, progress: bool) -> dict:
    """`{"models": [{"model", "kind", "tasks": [ModelFit in bits...]}]}`."""
    _checks.check_int(num_prompts, "num_prompts", minimum=1, maximum=4096)
    _checks.check_int(seed, "seed", minimum=0, maximum=2**31 - 1)
    models = []
    for model_file in model_files:
        result = fit(model_file, num_prompts=num_prompts, seed=seed, progress=progress)
        models.append(
            {
                "model": model_file.name,
                "kind": "autoregressive" if model_file.config.causal else "denoiser",
                "tasks": [
                    {k: _finite(v) for k, v in in_bits(row).items()}
                    for row in result.rows
                ],
                "too_large": [t._asdict() for t in result.too_large],
            }
        )
    return {"num_prompts": num_prompts, "seed": seed, "models": models}


def _finite(value):
    """A float for JSON: None for inf or NaN, round-off below 1e-12 shown as 0."""
    if isinstance(value, float):
        return (0.0 if abs(value) < 1e-12 else value) if math.isfinite(value) else None
    return value


def table(result: dict) -> str:
    """The fit report as aligned text, one line per (task, n), both splits."""
    lines = []
    for model in result["models"]:
        lines.append(f"{model['model']} ({model['kind']}), exact, bits")
        lines.append(
            f"{'task':<17}{'n':>2}  {'accuracy in/out':>15}  {'KL in/out':>15}  "
            f"{'recall':>6}  {'1-step KL':>9}  {'C(Y|X)':>7}"
        )
        rows = {(r["task"], r["n"], r["split"]): r for r in model["tasks"]}
        for task, n, split in rows:
            if split != "held_in":
                continue
            a, b = rows[task, n, "held_in"], rows[task, n, "held_out"]
            step = a["one_step_kl_bits"]
            lines.append(
                f"{task:<17}{n:>2}  {a['accuracy']:>7.4f}/{b['accuracy']:<7.4f}  "
                f"{_show(a['kl_bits'])}/{_show(b['kl_bits'])}  "
                f"{min(a['recall'], b['recall']):>6.4f}  "
                f"{'—' if step is None else f'{step:.4f}':>9}  "
                f"{a['total_correlation_bits']:>7.4f}"
            )
        for t in model.get("too_large", []):
            lines.append(
                f"{t['task']:<17}{t['n']:>2}  not fitted: its exact law involves "
                f"{t['rows']:,} rows, over the limit of {t['limit']:,}"
            )
        lines.append("")
    return "\n".join(lines).rstrip()


def _show(kl) -> str:
    return f"{'inf' if kl is None else f'{kl:.4f}':>7}"
