r"""The ideal model beside each of ParallelBench's runs: exact accuracy and E[NFE].

ParallelBench publishes harness runs of real dLLMs under its unmasking methods,
`results/<model>/<method>/<param>/<run>/`. This module puts beside a run the ideal
model (the oracle of the trilemma task, whose marginals are the exact conditional
marginals of $p^*$) decoded by the same rule with the same parameter at the same
list length $n$: its exact accuracy under ParallelBench's grader and its exact
expected number of forward passes, from `trilemma.simulation.simulate`.

**The methods** (`METHODS`; ParallelBench's code read through the stored index of
furiosa-ai/ParallelBench, commits as cited):

- `confidence_topk` (folder `k4`): `confidence_topk(k=...)`, top-k of $\max_v p$;
- `random` (`k4`): `random_topk(k=...)`, top-k of `torch.rand` scores;
- `topk_margin` (`k4`): `margin_topk(k=...)`, top-k of $p_{(1)} - p_{(2)}$;
- `entropy_topk` (`k4`): `entropy_topk(k=...)`, top-k of $\sum p \log(p + 10^{-10})$;
- `left_to_right` (`k4`): `left_to_right(k=...)`, top-k of $-$position;
- `confidence_threshold` (`t0.7`): `threshold(gamma=...)`, the top-1 plus every
  confidence $\ge \gamma$;
- `confidence_factor` (`f1.0`): `factor(factor=..., reference_quirk=True)`, the
  longest prefix with $c_{(n)} \ge 1 - f/(n+1)$, and all $m$ when only rank $m$
  fails;
- `dus` (`bl8_dus_base2_dus_remasking_threshold0.3`): `dus(block=...)`, the
  dilated schedule (`trilemma.samplers.dus`): blocks of B positions left to right,
  within one the offsets {0, B/2}, then the odd multiples of B/4, ..., of 1, one
  level per forward pass ($\log_2 B$ passes per block); B read as items (as top-k's
  k); the runs' `dus_remasking_threshold` is read but not modelled (below);
- `klass` (`conf_threshold0.9_kl_history_length2_kl_threshold0.01`):
  `klass(confidence=tau, kl_threshold=kappa, history=H, k=1)`
  (`trilemma.samplers._klass`): commit every masked position whose KL to the
  previous pass's prediction stayed below kappa for H passes and whose confidence
  is above tau, else the top-1;
- `slowfast` (`sf_cycle_confidence_threshold0.3_sf_high_confidence_threshold0.9`):
  `slowfast(high_confidence=h, cycle_confidence=c, exploration_steps=6)`
  (`trilemma.samplers._slowfast`): slow sub-cycles that commit one token (or all
  above h when at least two) while estimating a span, then the span by the same
  rule; the passes the slow phase still runs after the canvas is full are counted;
- `wino_dllm` (`wino_threshold0.7_wino_threshold_back0.9`): `wino(threshold=t,
  threshold_back=b)` (`trilemma.samplers._wino`): commit every mask above t, then
  re-mask the committed tokens whose leave-one-out confidence falls below b (the
  authors' rule; the port's extra candidates in the copied block are not modelled).

**Param folders.** The harness names a run's folder by its method's generation
arguments, `<prefix><value>` joined by `_` in sorted order (`FOLDER_PREFIXES`: `k`,
`t` for `alg_threshold`, `f` for `alg_factor`, `bl` for `block_length`, any other
in full), writing only the arguments the run gave. Each `Method` lists its arguments
(`Setting`: the argument, the sampler's keyword, the check, the port's default when
omitted), its parameter first; `parse_param` and `sampler_for` read folders and
lines through that one table, and `folder_name` spells a folder back.

Sources: the method table `UNMASKING_REGISTRY` and its scorers
(`parallelbench/models/unmasking_registry.py` @ e084d25, with `left_to_right` and
`klass`; `parallelbench/models/confidence_scorers.py` @ 3859b5a); LLaDA's loop
(`parallelbench/models/local/generate.py` @ 01110cc: `generate`,
`get_transfer_index`, `get_transfer_index_dynamic`); Dream's
(`parallelbench/models/local/dream/dream_model_utils.py` @ e084d25: `sample_block`);
the harness (`parallelbench/lm_eval_wrappers/dllm_base.py` @ d842db2:
`_build_generation_config`); DUS's port
(`parallelbench/models/local/llada/dus_generate.py` @ 21e6222) and its sweep
(`docs/supported_combinations.md` @ 21e6222: `block_length` 1..32 with `dus_base=2`,
`dus_remasking_threshold=0.3`). What they do:

- **One block, greedy.** A top-k run sets `steps = max_tokens / k` and `block_length
  = max_tokens` (`derive_topk`, which refuses a k that does not divide
  `max_tokens`); threshold and factor runs loop until the canvas is full. The
  harness reads `temperature` (default 0.0) and never `do_sample`, so every run is
  greedy: `p.max(-1)`, the argmax token, and confidence = its probability.
- **Top-k counts.** LLaDA commits $\lfloor M/s\rfloor$ per step, one more for the
  first $M \bmod s$ steps: exactly k per step, $M/k$ forward passes. Dream's
  `sample_block` commits `int(m * (1 - s/t))` on the grid `linspace(1, eps=0)`,
  exactly k in exact arithmetic; replayed in float32 (torch on a CPU), some steps
  commit k-1 and the last k+1 (32 tokens at k = 4: 4,3,4,4,4,4,4,5; at k = 1 one
  step commits nothing), with the same $M/k$ forward passes.
- **Threshold.** Both loops take the top-m of all m masks by confidence and drop
  ranks $\ge 2$ whose confidence is `< alg_threshold`: the top-1 always, plus every
  confidence $\ge \gamma$ (trilemma's `threshold`, not `threshold_strict`).
- **Factor.** Thresholds $1 - f/(n+1)$ on the sorted confidences, the first set to
  $-1$; stop at the first rank below its threshold; `if top_i == 0 or top_i ==
  len - 1: top_i += 1`. So at least one token, and all $m$ when the first failing
  rank is the last one (trilemma's `factor(reference_quirk=True)`).
- **DUS.** `block_length` is the swept parameter (not `max_tokens`): the canvas
  decodes in blocks of B tokens, each in its dilated levels, greedy (the port takes
  the argmax whatever `temperature` says). After every level but a block's last it
  re-masks each just-committed token whose confidence is below
  `dus_remasking_threshold`; no later level revisits it, so that position stays a
  mask token in the output. The ideal model here runs the schedule without that
  re-masking (a `Sampler` cannot end with masks left), so the curve is the ideal
  model under DUS's *schedule*. Where the ideal model's confidence at a committed
  position is below 0.3 before a block's last level, the runs' rule would leave a
  mask instead. By brute force (greedy, threshold 0.3): on Shuffle at n = 4 (B >=
  4) and n = 6 (B >= 4) every trajectory does, and at n = 5 with B = 4 (with B >=
  8 a block of 5 is one level, never re-masked), so there the runs' rule gives the
  ideal model accuracy 0 where this curve gives 0.39, 0.08-0.32 and 0.54; at n = 3,
  and on Copy, Replace Random and Insert Random at n = 4, no trajectory does and
  the curve is the runs' rule exactly.
- **KLASS.** The registry makes it "adaptive" (`derive_adaptive`: `steps =
  block_length = max_tokens`): one block and a fallback of one token per step
  (LLaDA's schedule of 32 masks over 32 steps), so the port's fallback never commits
  more than one token and never stops early. The harness passes `conf_threshold`,
  `kl_threshold`, `kl_history_length`; the ports' defaults when absent are 0.9, 0.01
  and 2 (`klass_generate_llada`). LLaDA's port reads `confidence > conf_threshold`,
  Dream's `>=` (`inclusive=True` in trilemma); the mapping is LLaDA's (and the
  authors'). For the ideal model they differ only where a confidence equals tau
  exactly; over the grid on Shuffle, Copy, Insert and Replace Random (n = 3..6) and
  Sudoku: at tau = 1 where tokens are certain (Copy, Sudoku at n >= 4: `>` one
  token per pass, `>=` 3 passes) and on Insert Random at n = 6, tau = 0.6 (E[NFE]
  7 against 6.5), all at accuracy 1. LLaDA's port also clears the KL history per
  block, which one block makes moot. Greedy: `argmax` in float64.
- **SlowFast** (LLaDA only). The harness passes `sf_high_confidence_threshold` and
  `sf_cycle_confidence_threshold`; the port's defaults are 0.9, 0.3 and
  `sf_exploration_steps` 6, with the stability window 2 and std 1.0 fixed in the
  code (`slowfast_generate_llada`). One block; full forward passes; the slow phase
  always runs its 6 passes, and those after the canvas is full are counted
  (`skip_wasted=False`): a run costs at least 6 passes (the published LLaDA-1.5
  h = 0.9 Shuffle lines log 6).
- **Ties.** A real model's logits almost never tie exactly; `torch.topk` and
  `argmax` would break exact ties by index. For the ideal model ties are exact
  (Shuffle's marginals are uniform), and a fixed rule would commit the same item
  at every tied position. The paper's ideal model has zero-mean logit noise that
  breaks ties at random (REFERENCE §2.5), which is trilemma's temperature 0:
  "greedy" here is the argmax with **uniform tie-breaking**, positions and tokens.
  `greedy=False` gives temperature 1 (sampling the marginals) beside it.

**Units: items per forward pass.** In trilemma's tasks an output item (a name, a
cell, a blank) is one token. In a real run a name is about 3-4 tokens, the answer
text adds brackets, quotes and commas, and the model decodes a fixed canvas of
`max_tokens` tokens (32 for the lists, 64 for the puzzles) with EOS/padding after
the answer; its NFE counts steps over the whole canvas, and ParallelBench's speed
is `tokens_per_step = max_tokens / nfe`. Both sides are put on **items per forward
pass**:

- ideal: $L / \mathbb{E}[\mathrm{NFE}]$ with $L$ the task's output items
  (`output_items`: $n$ for most lists, $n+1$ for insert, $n-1$ for remove, 16
  cells for the 4x4 Latin square, the blanks of a Sudoku);
- real (`real_items_per_step`): mean items / mean nfe per (task, n), all steps
  charged to the items (the "canvas" basis); or, given the lines' `output_length`,
  steps charged pro rata to the answer's tokens, $L \cdot \text{max\_tokens} /
  (\text{nfe} \cdot \text{output\_length})$ (the "content" basis; for a top-k run
  it is $k L / \text{output\_length}$).

At a fixed $n$, items per step is the canvas tokens per step times
$L/\text{max\_tokens}$, so `IdealPoint.tokens_per_step`
($\text{max\_tokens} / \mathbb{E}[\mathrm{NFE}]$, as if the ideal model's steps
ran over the run's canvas) puts the ideal model on ParallelBench's own axis.
Threshold, factor, KLASS and SlowFast parameters are unit-free (the same
$\gamma$, $f$, $\tau$ or $h$ on each token's confidence; SlowFast's span estimate,
in positions, is read in items). A top-k run's k is in tokens, and k tokens are
not k items: `ideal_curve` gives the ideal model's whole curve over
$k_{\text{items}} = 1..L$ and marks the point nearest the run's items per step.

**Limits of the mapping.**

- A real model's confidence is per token, not per item: the first token of a name
  carries the choice, its later tokens are nearly determined (confidence near 1),
  so a threshold commits name tails eagerly and the choice tokens one by one;
  the ideal model's confidence is the item's marginal.
- Padding: the canvas' EOS/pad tokens usually reach high confidence first and cost
  steps (top-k) or ride along with other commits (threshold); the canvas basis
  charges every step to the items (a lower bound on the rate at which the answer
  is decoded), the content basis assumes the steps are spread over the answer in
  proportion to its tokens.
- Formatting tokens (`[`, `"`, `, `) are decoded by the real model and are given to
  the ideal one (infilling, REFERENCE §2.5(d)); a real model can also write
  the wrong number of items, which the ideal model cannot.
- The ideal model is exact on the task's law; the real model is judged on 25 docs
  per (task, n), one sample each.
- Sudoku: the ideal model decodes only the blanks (the givens are fixed by the
  prompt); a real model writes all 16 digits, so count its items as blanks to
  compare.

**Cost.** The lists are enumerated at $n \le 6$ (`MAX_LIST_N`; ParallelBench's
Waiting Line uses $n = 3..6$; at $n = 7$ one level of Shuffle's top-2 already
holds $5 \times 10^5$ branches, and the $n = 15$ set is out of reach). The 4x4
Latin square (576 squares, 16 cells) is enumerable only where ties do not
multiply the orders: left-to-right and DUS (any parameter and temperature; their
positions are fixed, 0.01-0.1 s for DUS), one step ($k \ge 16$), and the greedy
one-at-a-time or adaptive rules (confidence, margin or entropy top-1, threshold,
factor; 1-3 s each). The rest (top-k with $1 < k < 16$, random order, temperature
1 with any rule but left-to-right and DUS)
exceeded a $10^6$-branch level after 1-4 GB of memory when measured, so
`ideal_point` returns them with a `reason` and no accuracy (a top-k rule keeps
its NFE, its schedule's length). Sudoku ($C = 0$) is cheap at any number of
blanks. KLASS and SlowFast carry state (KLASS the previous prediction, SlowFast
its sub-cycle), so `simulate` solves their laws as chains over (tokens, state),
bounded by `MAX_CHAIN_STATES` ($10^5$): every list at $n \le 6$ fits (the largest,
Shuffle at n = 6: KLASS 51,337 states, about 5 s of CPU per parameter; SlowFast
12,607, about 1 s); the 4x4 Latin square passes the bound under both (measured: 2-10
s before the refusal), so it is refused at once with its `reason`; a chain over the
bound elsewhere comes back with `simulate`'s refusal as its `reason`.
"""

from __future__ import annotations

import functools
import math
import re
import time
from collections.abc import Iterable, Mapping, Sequence
from types import MappingProxyType
from typing import Any, NamedTuple

import numpy as np

from .. import _checks
from ..samplers import SAMPLERS, Sampler, dilated_levels, topk_schedule
from ..simulation import simulate
from ..tasks import TEXT_FACTS, make_task
from ._names import trilemma_task_name

MAX_LIST_N = 6
"""Largest list length enumerated (ParallelBench's Waiting Line: n = 3..6)."""

CANVAS_TOKENS = MappingProxyType({"list": 32, "latin_square": 64, "sudoku": 64})
"""ParallelBench's `max_tokens` per answer form (`TEXT_FACTS[task].form`): 32 for
the Waiting Line lists, 64 for the puzzles (the runs' generation arguments)."""

MAX_BRANCHES = 1_000_000
"""`simulate`'s memory guard for one level, as `ideal_point` calls it (a list at
n <= 6 needs at most a few 10^4; the feasible Latin-square rules a few 10^5)."""

MAX_CHAIN_STATES = 100_000
"""`simulate`'s bound on a chain sampler's transient states (KLASS, SlowFast), as
`ideal_point` calls it: the largest list, Shuffle at n = 6, needs 51,337 (KLASS,
about 5 s of CPU) and 12,607 (SlowFast); a chain over the bound is returned with
its `reason`."""


FOLDER_PREFIXES = MappingProxyType(
    {"k": "k", "alg_threshold": "t", "alg_factor": "f", "block_length": "bl"}
)
"""How ParallelBench's param folders abbreviate a generation argument; any other is
spelled in full. A folder joins `<prefix><value>` with `_` over the method's
arguments in sorted order (`k4`, `bl8_dus_base2_dus_remasking_threshold0.3`,
`conf_threshold0.9_kl_history_length2_kl_threshold0.01`)."""

_REGISTRY = "parallelbench/models/unmasking_registry.py@e084d25"
_SCORERS = "parallelbench/models/confidence_scorers.py@3859b5a"
_LLADA = "parallelbench/models/local/generate.py@01110cc"
_DREAM = "parallelbench/models/local/dream/dream_model_utils.py@e084d25"
_DUS = "parallelbench/models/local/llada/dus_generate.py@21e6222"
_KLASS = "parallelbench/models/local/llada/klass_generate.py@3859b5a"
_KLASS_DREAM = "parallelbench/models/local/dream/klass_sample.py@e084d25"
_SLOWFAST = "parallelbench/models/local/llada/slowfast_generate.py@b7e488a"
_WINO = "parallelbench/models/local/llada/wino_generate.py@21e6222"


class Setting(NamedTuple):
    """One generation argument of a method: its name, sampler keyword, check, default.

    Attributes:
      arg: the harness's generation argument (`k`, `conf_threshold`, ...); its param
        folder spells it with `FOLDER_PREFIXES`.
      keyword: the sampler factory's keyword, or None for an argument read and
        checked but not modelled (DUS's `dus_remasking_threshold`).
      check: `"count"` (a whole number >= 1), `"unit"` ([0, 1]), `"positive"` (> 0)
        or `"nonnegative"` (>= 0).
      default: the value ParallelBench's port uses when the harness omits the
        argument; None for the method's parameter, which a run must give.
    """

    arg: str
    keyword: str | None
    check: str
    default: float | None = None


_CHECKS = MappingProxyType(
    {
        "count": ("a whole number >= 1", lambda x: x >= 1 and x == int(x)),
        "unit": ("a number in [0, 1]", lambda x: 0 <= x <= 1),
        "positive": ("a number > 0", lambda x: x > 0),
        "nonnegative": ("a number >= 0", lambda x: x >= 0),
    }
)


class Method(NamedTuple):
    """One of ParallelBench's unmasking methods and the trilemma sampler that matches.

    Attributes:
      name: ParallelBench's `unmasking` value (and method folder).
      kind: `"topk"`, `"threshold"`, `"factor"`, `"dus"`, `"adaptive"` (KLASS,
        SlowFast, WINO: ParallelBench's registry's word for KLASS).
      sampler: the sampler factory's name (`trilemma.samplers.SAMPLERS`).
      settings: the method's generation arguments (`Setting`s), its parameter (the
        swept one, which a run must give) first; a param folder spells them in
        sorted order.
      fixed: the factory's other settings, `((name, value), ...)`.
      grid: ParallelBench's sweep of the parameter (its folders); top-k's k and
        DUS's block are in tokens.
      rule: the rule as ParallelBench's code applies it.
      source: where the rule was read (`path@commit` in furiosa-ai/ParallelBench).
    """

    name: str
    kind: str
    sampler: str
    settings: tuple[Setting, ...]
    fixed: tuple[tuple[str, object], ...]
    grid: tuple[float, ...]
    rule: str
    source: str

    @property
    def arg(self) -> str | None:
        """The generation argument holding the parameter (`k`, `alg_threshold`, ...)."""
        return self.settings[0].arg if self.settings else None

    @property
    def setting(self) -> str | None:
        """The sampler factory's keyword for the parameter (`k`, `gamma`, ...)."""
        return self.settings[0].keyword if self.settings else None

    @property
    def prefix(self) -> str | None:
        """How the param folder spells the parameter (`k`, `t`, `bl`, ...)."""
        return FOLDER_PREFIXES.get(self.arg, self.arg) if self.arg else None


_K_GRID = (1, 2, 4, 8, 16, 32)


def _topk(name, sampler, rule, scorer):
    return Method(
        name,
        "topk",
        sampler,
        (Setting("k", "k", "count"),),
        (),
        _K_GRID,
        rule + "; k per step (LLaDA: floor(M/s), remainder first; Dream: "
        "int(m(1 - s/t)) on linspace(1, 0), k up to float32 truncation), "
        "max_tokens/k steps, one block, argmax token (temperature 0)",
        f"{_REGISTRY} ({scorer}); {_SCORERS}; {_LLADA} (get_transfer_index); "
        f"{_DREAM} (sample_block)",
    )


METHODS = MappingProxyType(
    {
        "confidence_topk": _topk(
            "confidence_topk",
            "confidence_topk",
            "top-k masked positions by the argmax token's probability",
            "max_probability",
        ),
        "random": _topk(
            "random",
            "random_topk",
            "top-k masked positions by torch.rand scores (a uniform k-subset)",
            "random_confidence",
        ),
        "topk_margin": _topk(
            "topk_margin",
            "margin_topk",
            "top-k masked positions by p1 - p2",
            "margin",
        ),
        "entropy_topk": _topk(
            "entropy_topk",
            "entropy_topk",
            "top-k masked positions by sum p log(p + 1e-10) (negative entropy)",
            "negative_entropy",
        ),
        "left_to_right": _topk(
            "left_to_right",
            "left_to_right",
            "top-k masked positions by -position (the k leftmost)",
            "left_to_right",
        ),
        "confidence_threshold": Method(
            "confidence_threshold",
            "threshold",
            "threshold",
            (Setting("alg_threshold", "gamma", "unit"),),
            (),
            (0.5, 0.6, 0.7, 0.8, 0.9, 1.0),
            "top-m of all m masks by confidence, ranks >= 2 dropped when "
            "confidence < alg_threshold: the top-1 plus every confidence >= gamma; "
            "loops until the canvas is full",
            f"{_REGISTRY} (derive_threshold); {_LLADA} (get_transfer_index); "
            f"{_DREAM} (sample_block)",
        ),
        "confidence_factor": Method(
            "confidence_factor",
            "factor",
            "factor",
            (Setting("alg_factor", "factor", "positive"),),
            (("reference_quirk", True),),
            (0.7, 1.0, 1.3, 1.6, 1.9),
            "sorted confidences against 1 - f/(n+1) (rank 1 always passes); stop at "
            "the first failing rank, but commit all m when it is the last "
            "(top_i == len - 1); loops until the canvas is full",
            f"{_REGISTRY} (derive_factor); {_LLADA} (get_transfer_index_dynamic); "
            f"{_DREAM} (sample_block)",
        ),
        "klass": Method(
            "klass",
            "adaptive",
            "klass",
            (
                Setting("conf_threshold", "confidence", "unit"),
                Setting("kl_history_length", "history", "count", 2),
                Setting("kl_threshold", "kl_threshold", "nonnegative", 0.01),
            ),
            (("k", 1),),
            (0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 1.0),
            "a masked position is ready when its KL to the previous pass's "
            "prediction was < kl_threshold at each of the last kl_history_length "
            "passes and its confidence > conf_threshold (Dream's port: >=); commit "
            "every ready one, else the top-1 by confidence (steps = block_length = "
            "max_tokens: one block, one token per fallback), argmax tokens; defaults "
            "conf_threshold 0.9, kl_threshold 0.01, kl_history_length 2",
            f"{_REGISTRY} (klass: derive_adaptive); {_KLASS} (klass_generate_llada); "
            f"{_KLASS_DREAM}; scripts/llada/llada-1.5/klass.sh",
        ),
        "dus": Method(
            "dus",
            "dus",
            "dus",
            (
                Setting("block_length", "block", "count"),
                Setting("dus_base", "base", "count", 2),
                Setting("dus_remasking_threshold", None, "unit", 0.3),
            ),
            (),
            _K_GRID,
            "blocks of block_length tokens left to right, each in dilated levels "
            "(offsets divisible by B/2, then B/4, ..., 1; a smaller last level "
            "merged), one level per forward pass, argmax tokens; after each level "
            "but a block's last, tokens of confidence < dus_remasking_threshold "
            "(0.3) go back to the mask and stay masked (not modelled: the ideal "
            "model runs the schedule without re-masking)",
            f"{_DUS} (dus_generate_llada, _dilated_unmask_levels, "
            "_merge_last_level); docs/supported_combinations.md@21e6222; "
            "omerlux/DUS generate.py@abd7723 (generate_scheduled)",
        ),
        "slowfast": Method(
            "slowfast",
            "adaptive",
            "slowfast",
            (
                Setting("sf_high_confidence_threshold", "high_confidence", "unit"),
                Setting(
                    "sf_cycle_confidence_threshold", "cycle_confidence", "unit", 0.3
                ),
                Setting("sf_exploration_steps", "exploration_steps", "count", 6),
            ),
            (("stability_window", 2), ("stability_std", 1.0), ("skip_wasted", False)),
            (0.5, 0.6, 0.7, 0.8, 0.9, 1.0),
            "sub-cycles of a slow phase (sf_exploration_steps passes, each estimating "
            "the span's end from the farthest confidence >= "
            "sf_cycle_confidence_threshold and committing every confidence >= "
            "sf_high_confidence_threshold if two or more, else the top-1) and a fast "
            "phase (the same commit rule on the span until it is decoded); the end "
            "fixed when the last 2 estimates' std < 1.0; slow passes after the "
            "canvas is full still run and count; full forward passes, one block, "
            "argmax tokens; defaults 6, 0.3, 0.9",
            f"{_SLOWFAST} (slowfast_generate_llada, _slow_phase, _fast_phase); "
            "scripts/llada/llada-1.5/slowfast.sh",
        ),
        "wino_dllm": Method(
            "wino_dllm",
            "adaptive",
            "wino",
            (
                Setting("wino_threshold", "threshold", "unit"),
                Setting("wino_threshold_back", "threshold_back", "unit", 0.9),
            ),
            (),
            (0.5, 0.6, 0.7, 0.8, 0.9, 1.0),
            "commit every masked token whose confidence exceeds wino_threshold (at "
            "least the surest, at most min(max(floor(0.7 m), 5), 20)), then, when two "
            "or more were committed, re-mask those whose leave-one-out confidence is "
            "below wino_threshold_back; argmax tokens; defaults 0.6, 0.9. The port "
            "also lets the copied block's positions be candidates, which a marginals "
            "model cannot represent: trilemma follows the authors' rule "
            "(Feng-Hong/WINO-DLLM@84964c7 LLaDA/decoding.py)",
            f"{_WINO} (wino_generate)",
        ),
    }
)
"""ParallelBench's method (`unmasking`) -> `Method`: the trilemma sampler that applies
its rule, or None with the reason."""


class IdealPoint(NamedTuple):
    r"""The ideal model under one method and parameter on one (task, n).

    Attributes:
      task: the trilemma task.
      n: its size (list length, Latin-square order, Sudoku blanks).
      method: ParallelBench's method.
      param: the trilemma-side parameter: $k_{\text{items}}$ (top-k), $\gamma$
        (threshold) or $f$ (factor).
      sampler: the sampler as `Sampler.describe()` writes it ("" when skipped).
      temperature: 0.0 (greedy, uniform ties) or 1.0.
      accuracy: the exact pass rate under ParallelBench's grader (`Task.grade`).
      expected_nfe: the exact expected number of forward passes.
      items: the task's output items $L$.
      items_per_step: $L / \mathbb{E}[\mathrm{NFE}]$.
      tokens_per_step: ParallelBench's axis, $\text{max\_tokens} /
        \mathbb{E}[\mathrm{NFE}]$ on the run's canvas (`CANVAS_TOKENS`).
      seconds: wall time of the enumeration.
      reason: why nothing was computed, else None. The numbers are then None,
        but for a top-k rule, whose NFE is its fixed schedule's length.
      marked: the point of a curve nearest the run's items per step.
    """

    task: str
    n: int
    method: str
    param: float
    sampler: str
    temperature: float
    accuracy: float | None
    expected_nfe: float | None
    items: int
    items_per_step: float | None
    tokens_per_step: float | None
    seconds: float
    reason: str | None = None
    marked: bool = False


# --- methods and parameters -----------------------------------------------------------


def method_of(method: str) -> Method:
    """The `Method` of ParallelBench's `method` (`ValueError` for an unknown name)."""
    if not isinstance(method, str) or method not in METHODS:
        raise _checks.unknown("ParallelBench method", method, METHODS)
    return METHODS[method]


_FOLDER_NUMBER = r"(?:\d+(?:\.\d*)?|\.\d+)(?:e[-+]?\d+)?"


@functools.cache
def _folder_pattern(method: str) -> re.Pattern:
    """A method's param folder, as a pattern.

    `<prefix><number>` per setting, `_`-joined in sorted order; the parameter is
    required, the settings with a default optional.
    """
    pieces = []
    for i, s in sorted(enumerate(METHODS[method].settings), key=lambda t: t[1].arg):
        prefix = re.escape(FOLDER_PREFIXES.get(s.arg, s.arg))
        piece = f"(?:^|_){prefix}(?P<s{i}>{_FOLDER_NUMBER})"
        pieces.append(piece if s.default is None else f"(?:{piece})?")
    return re.compile("(?!_)" + "".join(pieces))


def folder_name(method: str, param: float) -> str:
    """The param folder of a run of `method` at `param` with the port's defaults.

    >>> folder_name("confidence_threshold", 0.7), folder_name("dus", 8)
    ('t0.7', 'bl8_dus_base2_dus_remasking_threshold0.3')
    >>> folder_name("slowfast", 0.9)
    'sf_cycle_confidence_threshold0.3_sf_exploration_steps6_sf_high_confidence_threshold0.9'

    (ParallelBench's harness writes only the arguments a run gives: its SlowFast
    folders leave out `sf_exploration_steps`, which `parse_param` reads as 6.)
    """
    spec = method_of(method)
    values = {s.arg: s.default for s in spec.settings[1:]}
    values[spec.arg] = param
    return "_".join(
        f"{FOLDER_PREFIXES.get(arg, arg)}{values[arg]}" for arg in sorted(values)
    )


def parse_param(method: str, folder_param: str) -> int | float:
    """The parameter of a run from its param folder (`k4`, `t0.7`, `f1.0`, `bl8_...`).

    >>> parse_param("confidence_topk", "k4")
    4
    >>> parse_param("confidence_threshold", "t0.7")
    0.7
    >>> parse_param("dus", "bl8_dus_base2_dus_remasking_threshold0.3")
    8
    >>> parse_param("klass", "conf_threshold0.9_kl_history_length2_kl_threshold0.01")
    0.9

    Args:
      method: ParallelBench's method (a key of `METHODS` with a sampler).
      folder_param: the param folder of `results/<model>/<method>/<param>/`.

    Returns:
      The method's parameter (`Method.settings[0]`): k (an int, in tokens per step)
      for the top-k methods, the block length (an int, in tokens) for DUS, a
      threshold or the factor (a float) for the others.

    Raises:
      ValueError: an unknown method, one not in trilemma, or a folder that does not
        spell the method's settings (`<prefix><number>` joined by `_` in sorted
        order, the parameter required: `folder_name`) or spells an invalid value.
    """
    return _parse_folder(method, folder_param)[method_of(method).arg]


def _parse_folder(method: str, folder_param) -> dict[str, int | float]:
    """The generation arguments a param folder spells, checked, defaults filled in."""
    spec = method_of(method)
    pattern = _folder_pattern(method)
    match = pattern.fullmatch(folder_param) if isinstance(folder_param, str) else None
    if match is None:
        parts = [
            f"{FOLDER_PREFIXES.get(s.arg, s.arg)}<number>"
            if s.default is None
            else f"[{FOLDER_PREFIXES.get(s.arg, s.arg)}<number>]"
            for s in sorted(spec.settings, key=lambda s: s.arg)
        ]
        spelled = (
            parts[0]
            if len(parts) == 1
            else f"{', '.join(parts)} joined by '_' in this order ([]: optional)"
        )
        raise ValueError(
            f"folder_param {folder_param!r}: a param folder of {method} is "
            f"{spelled}, e.g. {folder_name(method, spec.grid[1])}"
        )
    given = {
        s.arg: float(match[f"s{i}"])
        for i, s in enumerate(spec.settings)
        if match[f"s{i}"] is not None
    }
    return _arguments(spec, given, f"folder_param {folder_param!r}")


def _arguments(spec: Method, given: Mapping, where: str) -> dict[str, int | float]:
    """A method's settings read from `given` (by argument), checked.

    The port's defaults fill in those it omits; the parameter is required.
    """
    out = {}
    for s in spec.settings:
        value = given.get(s.arg)
        if value is None:
            if s.default is None:
                raise ValueError(
                    f"{where}: no `{s.arg}` (the parameter of {spec.name}); got "
                    f"keys {sorted(given)}"
                )
            value = s.default
        out[s.arg] = _check_value(spec, s, value, where)
    return out


def _check_value(spec: Method, setting: Setting, value, where: str) -> int | float:
    """A setting's value checked (`Setting.check`); a count as an int."""
    if isinstance(value, bool) or not isinstance(
        value, int | float | np.integer | np.floating
    ):
        raise ValueError(
            f"{where}: `{setting.arg}` of {spec.name} must be a number; got "
            f"{type(value).__name__} {value!r}"
        )
    value = float(value)
    text, holds = _CHECKS[setting.check]
    if not (math.isfinite(value) and holds(value)):
        raise ValueError(
            f"{where}: `{setting.arg}` of {spec.name} must be {text}; got {value:g}"
        )
    return int(value) if setting.check == "count" else value


def sampler_for(
    method: str,
    gen_args: Mapping[str, Any],
    *,
    k_items: int | None = None,
    temperature: float | None = None,
) -> Sampler:
    r"""The trilemma sampler that applies a run's rule, from a line's generation args.

    Reads `arguments.gen_args_0.arg_1` of a harness line, e.g. `{"until": ["\n\n"],
    "do_sample": false, "max_tokens": 32, "k": 4, "unmasking": "confidence_topk"}`.

    >>> sampler_for("confidence_threshold",
    ...             {"alg_threshold": 0.7, "unmasking": "confidence_threshold"}
    ...             ).describe()
    'threshold(gamma=0.7, temperature=0.0)'
    >>> sampler_for("dus", {"block_length": 8, "dus_base": 2,
    ...                     "dus_remasking_threshold": 0.3}).describe()
    'dus(base=2, base_skip=1, temperature=0.0, block=8)'
    >>> sampler_for("slowfast", {"sf_high_confidence_threshold": 0.9,
    ...                          "sf_cycle_confidence_threshold": 0.3}
    ...             ) == sampler_for("slowfast", {"sf_high_confidence_threshold": 0.9})
    True

    Args:
      method: ParallelBench's method; it must equal the args' `unmasking` if given.
      gen_args: the line's generation arguments.
      k_items: top-k methods only: the items per step of the trilemma sampler.
        None reads the run's k (tokens per step) as items, the one-token-per-item
        reading of the paper's infilling setting; see the module's units.
      temperature: None reads the args' `temperature` (ParallelBench's default
        0.0: greedy; its harness never reads `do_sample`); 0 is greedy with uniform
        ties.

    Every argument of the method (`Method.settings`) is read and checked; one the
    harness omits takes the port's default (`Setting.default`: DUS's `dus_base` 2,
    KLASS's `kl_threshold` 0.01 and `kl_history_length` 2, SlowFast's
    `sf_cycle_confidence_threshold` 0.3 and `sf_exploration_steps` 6). DUS's
    `dus_remasking_threshold` is checked (in [0, 1]) but not modelled (the module's
    DUS note).

    Raises:
      ValueError: an unknown method or one not in trilemma, a method that
        contradicts `unmasking`, a missing parameter or an invalid argument, a k or
        DUS block that does not divide `max_tokens` (ParallelBench refuses it too),
        or arguments trilemma does not model (`alg_temp` > 0, `top_p`/`top_k`,
        semi-AR `block_length` outside DUS).
    """
    spec = method_of(method)
    if not isinstance(gen_args, Mapping):
        raise ValueError(
            f"gen_args: expected a mapping (a line's arguments.gen_args_0.arg_1); got "
            f"{type(gen_args).__name__}"
        )
    given = gen_args.get("unmasking", method)
    if given != method:
        raise ValueError(
            f"gen_args: `unmasking` is {given!r} but the method is {method!r}"
        )
    args = _arguments(spec, gen_args, "gen_args")
    max_tokens = gen_args.get("max_tokens")
    if max_tokens is not None:
        max_tokens = _checks.check_int(max_tokens, "gen_args `max_tokens`", minimum=1)
    _check_other_args(spec, gen_args, args[spec.arg], max_tokens)
    if temperature is None:
        temperature = gen_args.get("temperature", 0.0)
    temperature = _checks.check_real(
        temperature, "temperature", low=0.0, high_open=True
    )
    if spec.kind == "topk" and k_items is not None:
        args[spec.arg] = _check_value(spec, spec.settings[0], k_items, "k_items")
    return _build(spec, args, temperature)


def _check_other_args(spec: Method, gen_args, value, max_tokens) -> None:
    """Refuse the generation arguments whose effect trilemma does not model."""
    alg_temp = gen_args.get("alg_temp", 0.0)
    if alg_temp not in (None, 0, 0.0):
        raise ValueError(
            f"gen_args `alg_temp` = {alg_temp!r}: positions drawn from "
            "softmax(confidence / alg_temp) are not a trilemma rule; only 0"
        )
    for key in ("top_p", "top_k"):
        if gen_args.get(key) is not None:
            raise ValueError(
                f"gen_args `{key}`: truncated token draws are not modelled"
            )
    block = gen_args.get("block_length")
    if spec.kind == "dus":
        if max_tokens is not None and max_tokens % value:
            raise ValueError(
                f"gen_args: `max_tokens` ({max_tokens}) is not a multiple of "
                f"`block_length` ({value}); ParallelBench's DUS refuses it"
            )
    elif block is not None and (max_tokens is None or block != max_tokens):
        raise ValueError(
            f"gen_args `block_length` = {block!r}: the runs decode one block of "
            f"`max_tokens` ({max_tokens}); semi-AR blocks in tokens do not map to items"
        )
    if spec.kind == "topk" and max_tokens is not None:
        if max_tokens % value:
            raise ValueError(
                f"gen_args: `max_tokens` ({max_tokens}) is not a multiple of `k` "
                f"({value}); ParallelBench's derive_topk refuses it"
            )
        steps = gen_args.get("steps")
        if steps is not None and steps != max_tokens // value:
            raise ValueError(
                f"gen_args `steps` = {steps!r} contradicts k = {value} "
                f"(max_tokens / k = {max_tokens // value})"
            )


def _build(spec: Method, args: Mapping, temperature: float) -> Sampler:
    """The sampler of `spec` at its settings' values `args` (by argument)."""
    settings = {s.keyword: args[s.arg] for s in spec.settings if s.keyword}
    return SAMPLERS[spec.sampler](
        **settings, **dict(spec.fixed), temperature=temperature
    )


@functools.lru_cache(maxsize=64)
def _task(name: str, n: int):
    """`make_task(name, n)`, kept (a `Task` is immutable).

    Building a Sudoku task enumerates its puzzles, about 0.1 s a point otherwise.
    """
    return make_task(name, n)


# --- the ideal model ------------------------------------------------------------------


def output_items(task: str, n: int) -> int:
    """The output items $L$ of a task at size `n` (a trilemma or ParallelBench name).

    >>> output_items("waiting_line/insert_random", 3), output_items("latin_square", 4)
    (4, 16)

    A list's length is read off the task at n = 3 (the offset of insert and remove
    does not depend on n), so a list too long to build still gets its $L$.
    """
    name = trilemma_task_name(task)
    n = _checks.check_int(n, "n", minimum=1)
    if TEXT_FACTS[name].form == "list" and n > MAX_LIST_N:
        return n + len(_task(name, 3).outputs) - 3
    return len(_task(name, n).outputs)


def _refusal(name: str, n: int, spec: Method, param, sampler) -> str | None:
    """Why (task, n, method, param) is not enumerated here, or None."""
    form = TEXT_FACTS[name].form
    if form == "list" and n > MAX_LIST_N:
        return (
            f"{name} at n = {n}: the lists are enumerated up to n = {MAX_LIST_N} "
            "(ParallelBench's Waiting Line uses 3..6); beyond, the exact enumeration "
            "exceeds its memory guard"
        )
    if form == "latin_square" and n >= 4:
        cells = n * n
        one_step = spec.kind == "topk" and param >= cells
        # fixed positions: left-to-right and DUS branch on tokens only
        if spec.sampler in ("left_to_right", "dus") or one_step:
            return None
        if sampler.law == "chain":
            return (
                f"latin_square at n = {n}: the exact chain of {sampler.describe()} "
                f"over {cells} cells has more than {MAX_CHAIN_STATES:,} decoding "
                "states (`MAX_CHAIN_STATES`; measured for KLASS and SlowFast, "
                "refused after 2-10 s)"
            )
        tied = (
            spec.sampler == "random_topk"
            or (spec.kind == "topk" and param > 1)
            or sampler.temperature > 0
        )
        if tied:
            return (
                f"latin_square at n = {n}: the exact enumeration of this rule "
                f"({spec.sampler}, {spec.setting} = {param:g}, temperature "
                f"{sampler.temperature:g}) multiplies tied orders over {cells} cells "
                "past simulate's memory guard (measured: a level of > 10^6 branches "
                "after 1-4 GB); feasible here: left_to_right, DUS, one step (k >= "
                f"{cells}), and greedy top-1, threshold and factor"
            )
    return None


def ideal_point(
    task: str,
    n: int,
    method: str,
    param: float | str,
    *,
    greedy: bool = True,
) -> IdealPoint:
    r"""The ideal model's exact accuracy and E[NFE] under one method and parameter.

    Args:
      task: a trilemma, ParallelBench or harness task name
        (`parallelbench_waiting_line_shuffle` is `shuffle_distinct`).
      n: the task's size (list length; Latin-square order; Sudoku blanks).
      method: ParallelBench's method (a key of `METHODS`).
      param: the method's parameter (`Method.settings[0]`, its other settings at
        the port's defaults): $k_{\text{items}}$ for the top-k methods (items per
        step; see the module's units), $\gamma$ for `confidence_threshold`, $f$
        for `confidence_factor`, the block length $B$ (in items) for `dus`,
        `conf_threshold` for `klass`, `sf_high_confidence_threshold` for
        `slowfast`; or a param folder string (`"t0.7"`,
        `"bl8_dus_base2_dus_remasking_threshold0.3"`), read with all its settings
        (`parse_param`; for top-k its k, for DUS its block, is then read as items).
      greedy: True for temperature 0 with uniform ties (ParallelBench's runs are
        greedy), False for temperature 1.

    Returns:
      An `IdealPoint`; for a method not in trilemma, a list longer than
      `MAX_LIST_N`, a Latin-square rule too large to enumerate, or a chain sampler
      (KLASS, SlowFast) with more than `MAX_CHAIN_STATES` states, its numbers are
      None and `reason` says why.

    Raises:
      ValueError: an unknown task or method, an invalid parameter or size.
    """
    name = trilemma_task_name(task)
    spec = method_of(method)
    greedy = _checks.check_bool(greedy, "greedy")
    temperature = 0.0 if greedy else 1.0
    args: dict = {}
    sampler = None
    if spec.sampler is not None:
        if isinstance(param, str):
            args = _parse_folder(method, param)
        else:
            args = _arguments(spec, {spec.arg: param}, "param")
        param = args[spec.arg]
        sampler = _build(spec, args, temperature)
    items = output_items(name, n)
    reason = _refusal(name, n, spec, param, sampler)
    if reason is not None:
        return _skipped(name, n, method, param, temperature, items, reason, args)
    start = time.perf_counter()
    try:
        sim = simulate(
            _task(name, n),
            sampler,
            entropy_cells=0,
            max_branches=MAX_BRANCHES,
            max_states=MAX_CHAIN_STATES,
        )
    except ValueError as err:  # simulate's guards: branches of a level, chain states
        if "`max_branches`" not in str(err) and "`max_states`" not in str(err):
            raise
        return _skipped(name, n, method, param, temperature, items, str(err), args)
    seconds = time.perf_counter() - start
    nfe = float(sim.expected_nfe)
    canvas = _canvas(name)
    return IdealPoint(
        task=name,
        n=n,
        method=method,
        param=param,
        sampler=sampler.describe(),
        temperature=temperature,
        accuracy=float(sim.accuracy()),
        expected_nfe=nfe,
        items=items,
        items_per_step=items / nfe,
        tokens_per_step=canvas / nfe,
        seconds=seconds,
    )


def _skipped(name, n, method, param, temperature, items, reason, args) -> IdealPoint:
    """A point not enumerated; a top-k or DUS rule's NFE is its schedule's length."""
    nfe = None
    kind = METHODS[method].kind
    if kind == "topk":
        nfe = float(len(topk_schedule(items, k=param)))
    elif kind == "dus":
        nfe = float(_dus_passes(items, param, base=args["dus_base"]))
    return IdealPoint(
        task=name,
        n=n,
        method=method,
        param=param,
        sampler="",
        temperature=temperature,
        accuracy=None,
        expected_nfe=nfe,
        items=items,
        items_per_step=None if nfe is None else items / nfe,
        tokens_per_step=None if nfe is None else _canvas(name) / nfe,
        seconds=0.0,
        reason=reason,
    )


def _canvas(name: str) -> int:
    return CANVAS_TOKENS[TEXT_FACTS[name].form]


def _dus_passes(items: int, block: int, *, base: int = 2) -> int:
    """DUS's forward passes over `items` positions in blocks of `block`: its levels."""
    full, rest = divmod(items, block)
    sizes = [block] * full + ([rest] if rest else [])
    return sum(len(dilated_levels(size, base=base)) for size in sizes)


def ideal_curve(
    task: str,
    n: int,
    method: str,
    params: Iterable[float | str] | None = None,
    *,
    greedy: bool = True,
    real_items_per_step: float | None = None,
) -> tuple[IdealPoint, ...]:
    r"""The ideal model's points over a sweep of one method's parameter.

    Args:
      task: as `ideal_point`.
      n: as `ideal_point`.
      method: as `ideal_point`.
      params: the parameters; None sweeps $k_{\text{items}} = 1..L$ for the top-k
        methods and ParallelBench's grid (`Method.grid`) for threshold and factor.
      real_items_per_step: a run's items per forward pass (`real_items_per_step`);
        the point nearest it in items per step gets `marked=True` (the first of
        equals; a top-k point that was not enumerated can be it: its `reason`
        says why it has no accuracy).
      greedy: as `ideal_point`.

    Returns:
      One `IdealPoint` per parameter, in the given order (none for a method not in
      trilemma: a one-point tuple carrying its `reason`).
    """
    spec = method_of(method)
    if params is None:
        if spec.kind == "topk":
            params = range(1, output_items(task, n) + 1)
        else:
            params = spec.grid
    points = [ideal_point(task, n, method, p, greedy=greedy) for p in params]
    if real_items_per_step is not None:
        target = _checks.check_real(
            real_items_per_step, "real_items_per_step", low=0.0, low_open=True
        )
        done = [i for i, p in enumerate(points) if p.items_per_step is not None]
        # a top-k point not enumerated still has its speed, and can be the nearest
        if done:
            best = min(done, key=lambda i: abs(points[i].items_per_step - target))
            points[best] = points[best]._replace(marked=True)
    return tuple(points)


def real_items_per_step(
    items: float | Sequence[float],
    nfe: float | Sequence[float],
    *,
    output_length: float | Sequence[float] | None = None,
    max_tokens: int | None = None,
) -> float:
    r"""A run's items per forward pass at one (task, n), for `ideal_curve`.

    Canvas basis (default): mean items / mean nfe, every step charged to the items.
    Content basis (with `output_length` and `max_tokens`): the steps charged pro
    rata to the answer's tokens,
    $\bar L \cdot \text{max\_tokens} / (\overline{\text{nfe}} \cdot
    \overline{\text{output\_length}})$; for a top-k run this is
    $k \bar L / \overline{\text{output\_length}}$.

    >>> real_items_per_step([3, 3], [8, 8])
    0.375
    >>> real_items_per_step(3, 8, output_length=12, max_tokens=32)
    1.0

    Args:
      items: the output items of each line (or one value).
      nfe: each line's logged `nfe` (or one value).
      output_length: each line's logged `output_length`, for the content basis.
      max_tokens: the run's canvas (`max_tokens`), for the content basis.
    """
    mean_items = _mean(items, "items")
    mean_nfe = _mean(nfe, "nfe")
    if output_length is None:
        if max_tokens is not None:
            raise ValueError("max_tokens: give output_length too (the content basis)")
        return mean_items / mean_nfe
    if max_tokens is None:
        raise ValueError("output_length: give max_tokens too (the content basis)")
    max_tokens = _checks.check_int(max_tokens, "max_tokens", minimum=1)
    return mean_items * max_tokens / (mean_nfe * _mean(output_length, "output_length"))


def _mean(values, name: str) -> float:
    array = np.atleast_1d(np.asarray(values, dtype=float))
    if array.ndim != 1 or array.size == 0 or not np.all(array > 0):
        raise ValueError(f"{name}: expected positive numbers; got {values!r}")
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name}: expected finite numbers; got {values!r}")
    return float(array.mean())
