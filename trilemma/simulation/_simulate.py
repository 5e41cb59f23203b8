r"""`simulate`: the exact law of any sampler, by the enumerator its `law` names.

A sampler says which exact enumerator computes its output law (`sampler.law`, the
sampler protocol of `trilemma.samplers`); `simulate` looks it up in `LAWS` and never
reads the sampler's name or type:

* `"levels"`: the rule-based `Sampler`s (a score, a count, a temperature): the level
  enumerator with the oracle (`_enumerate`) or with a `Model` (`_model`);
* `"apd"`: APD with the ideal dLLM and $p^*$'s exact AR verifier (`_apd`);
* `"chain"`: a sampler that carries state or re-masks committed tokens: the
  absorption law of the Markov chain over (revealed tokens, sampler state)
  (`_chain`);
* `"optimal"`: the optimal adaptive policy of the ideal model (issue 19): the law of
  the policy `trilemma.frontier` solves for the task (`samplers._optimal`).
"""

from __future__ import annotations

import numpy as np

from .. import _checks
from ..models import Model
from ..oracle import oracle_logits, oracle_params
from ..samplers._optimal import simulate_optimal
from ..samplers._protocol import check_sampler
from ..tasks import Task
from ._apd import simulate_apd
from ._enumerate import (
    DEFAULT_ENTROPY_CELLS,
    DEFAULT_MAX_BRANCHES,
    DEFAULT_MAX_STATES,
    _Enumerator,
)
from ._model import simulate_model
from ._result import Simulation


def simulate(
    task: Task,
    sampler,
    *,
    max_branches: int = DEFAULT_MAX_BRANCHES,
    entropy_cells: int = DEFAULT_ENTROPY_CELLS,
    model: Model | None = None,
    ar_model: Model | None = None,
    max_states: int = DEFAULT_MAX_STATES,
    support_only: bool = False,
    progress: bool = False,
) -> Simulation:
    r"""The exact output law and expected NFE of `sampler` on `task`.

    With `model=None` the sampler is driven by the ideal model (the oracle of
    `task`); with a `Model` it is driven by that model's marginals over its whole
    vocabulary (each level's states go through one batched forward call per chunk,
    children are every token of positive probability, and an output is valid iff it
    is in the support of $p^*$).

    APD decodes with a dLLM and an AR verifier: the ideal dLLM and $p^*$'s exact AR
    conditionals (`model` None or the task's `oracle_model`), or a trained `model`
    with its trained `ar_model`; the result has `expected_ar_nfe`.

    Args:
      task: an enumerable task (`trilemma.make_task`).
      sampler: a registered sampler (`trilemma.samplers.SAMPLERS[name](**params)`);
        its `law` picks the enumerator (see the module).
      max_branches: refuse (ValueError) a level whose expansion exceeds this many rows.
      entropy_cells: budget of cell writes to spread the invalid part of $q$ on the
        dense output space, for the entropy over all outputs (about 10 ns each);
        past it, or when the output space has more cells than the budget or more
        bytes than the memory budget, `output_entropy` is None. Everything else is
        exact regardless; pass 0 to skip it. Unused with a `model`, whose
        enumeration holds every output, so its entropy is always exact.
      model: None for the oracle, or a `Model` whose layout fits the task (one
        output position per variable, a vocabulary holding every alphabet, one
        prefix per prompt).
      ar_model: the causal verifier of a two-model sampler (APD) with a trained
        `model`, in the same layout; None otherwise.
      max_states: with a `model` at temperature > 0, refuse (ValueError) before any
        work when the bound $P (V' + 1)^L$ on the states exceeds this; for APD,
        when the bound on its prefixes does; for a chain, when the states it
        reaches do.
      support_only: with a `model`, drop every state that can no longer finish
        valid (its mass is invalid): the valid law stays exact, the entropy over all
        outputs becomes None, and so does E[NFE] (NaN) unless every trajectory
        commits the same counts (top-k, DUS; see `_model`). APD keeps the states
        off the support heavier than `APD_FLOOR`, so its E[NFE] is exact to the
        result's `nfe_tolerance`.
      progress: show a progress bar over levels (stderr).

    Returns:
      A `Simulation`; `.point()` gives the trilemma point.
    """
    _checks.check_instance(task, "task", Task)
    check_sampler(sampler)
    if ar_model is not None and sampler.num_models == 1:
        raise ValueError(
            f"`ar_model` is a verifier; sampler {sampler.describe()} decodes with one "
            "model"
        )
    law = sampler.law
    if law not in LAWS:
        raise ValueError(
            f"sampler {sampler.describe()} has no exact law (law={law!r}); sample it "
            "with `trilemma sample`"
        )
    return LAWS[law](
        task,
        sampler,
        max_branches=max_branches,
        entropy_cells=entropy_cells,
        model=model,
        ar_model=ar_model,
        max_states=max_states,
        support_only=_checks.check_bool(support_only, "support_only"),
        progress=progress,
    )


def _levels(task, sampler, *, max_branches, entropy_cells, model, ar_model, **rest):
    """A rule-based `Sampler`: the oracle's level enumerator, or a model's."""
    if model is not None:
        return simulate_model(task, sampler, model, max_branches=max_branches, **rest)
    if rest["support_only"]:
        raise ValueError(
            "support_only applies with a `model` (the oracle path is exact without "
            "it: its off-support states are merged by mask pattern)"
        )
    enumerator = _Enumerator(task, sampler, max_branches, entropy_cells)
    return enumerator.run(rest["progress"])


def _apd(task, sampler, *, model, ar_model, support_only, **rest):
    """APD's exact law: the ideal dLLM and verifier, or a trained pair."""
    del rest["entropy_cells"]
    if model is not None and _is_oracle_of(model, task):
        model = None
    if model is None:
        if ar_model is not None:
            raise ValueError(
                "`ar_model`: APD's exact law with the ideal dLLM uses p*'s exact AR "
                "verifier; give a trained `model` with a trained `ar_model`"
            )
        if support_only:
            raise ValueError(
                "`support_only` applies with a trained `model`; APD's exact law with "
                "the oracle needs no pruning"
            )
        return simulate_apd(task, sampler, **rest)
    if ar_model is None:
        raise ValueError(
            f"APD's exact law with model {model.name!r} needs its verifier: pass "
            "`ar_model` (the CLI's `--ar-model`)"
        )
    floor = APD_FLOOR if support_only else 0.0
    return simulate_apd(
        task, sampler, model=model, ar_model=ar_model, floor=floor, **rest
    )


APD_FLOOR = 1e-7
"""With `support_only`, APD on trained models drops the rows off the support lighter
than this (their outputs are invalid; the steps they would still take bound the
error of E[NFE], `Simulation.nfe_tolerance`)."""


def _chain(task, sampler, *, model, max_states, support_only, progress, **_):
    """A stateful or re-masking sampler: the absorption law of its chain."""
    from ._chain import simulate_chain

    if support_only:
        raise ValueError(
            f"`support_only` applies to rule-based samplers; {sampler.describe()}'s "
            "exact law is the absorption law of its whole chain"
        )
    return simulate_chain(
        task, sampler, model=model, max_states=max_states, progress=progress
    )


LAWS = {"levels": _levels, "apd": _apd, "chain": _chain, "optimal": simulate_optimal}
"""`sampler.law` -> the function that computes the exact law."""


def _is_oracle_of(model, task) -> bool:
    """Whether `model` is `oracle_model(task)`: the oracle's function and tables."""
    if getattr(model, "logits_fn", None) is not oracle_logits:
        return False
    mine, theirs = oracle_params(task), model.params
    return all(
        np.shape(theirs[key]) == np.shape(mine[key])
        and np.array_equal(np.asarray(theirs[key]), np.asarray(mine[key]))
        for key in ("prefix_of_row", "rows", "weights", "sizes")
    )
