r"""A sampler's cost in fluency and diversity, estimated from its samples.

The estimation pipeline behind `trilemma diversity-loss` (which only parses and
prints): `assess` groups read samples (`trilemma.samples.read`) by run — a sampler
with its parameters on one task at one size n: trilemma's run fields, or for
harness logs the file's task, each doc's n and the run's method — and estimates each
group's trilemma point (`trilemma.estimators.estimate_point`) against a reference:
the task's exact $p^*$ per prompt (`exact_law`; text answers graded as ParallelBench
grades them, `grade_doc`/`grade_text`), or a reference sample (e.g. the same model
decoding one token per step). `table` renders the reports as text. Information is
reported in bits.
"""

from __future__ import annotations

import math
import textwrap

import numpy as np

from . import _checks
from ._units import to_bits
from .estimators._point import FIELDS, NATS_FIELDS

REPORTED = tuple(f for f in FIELDS if f not in ("mean_nfe", "tokens_per_step"))
"""The estimates reported beside speed, in the estimator's order."""
JSON_NAMES = {field: f"{field}_bits" for field in NATS_FIELDS}
"""The information quantities' names in the JSON output (bits)."""
PER_PROMPT_FIELDS = (
    "recall",
    "entropy",
    "valid_entropy",
    "entropy_drop",
    "tv",
    "kl_reference_to_sampler",
    "f8",
    "f1_8",
)
"""The estimates that compare a prompt's law with its reference: with one sample per
prompt (ParallelBench decodes one per doc) none of them can be estimated, and the
report leaves them out (None) rather than print the numbers of one draw."""

SMALL = 10
"""A prompt's sample is too small to say much when it has fewer than `SMALL` times
as many samples as its reference has outputs."""
MAX_BOOTSTRAP = 10**6
"""The most bootstrap resamples (`--bootstrap`): the intervals' Monte Carlo error is
far below the sampling error long before; each resample also costs memory."""
MIN_WIDTH = 1e-9
"""The narrowest `--width`: an interval that narrow needs on the order of 10^18
samples per prompt (and narrower ones overflow the scaling arithmetic)."""


def group_name(run: dict, *, logged: bool = False) -> str:
    """A run's name in reports: its sampler and parameters, else its model.

    A harness log's run (`logged`) is also named by its model, as one tree holds
    several models' runs of one method.
    """
    if run.get("sampler") is None:
        return str(run["model"])
    args = ", ".join(f"{k}={v}" for k, v in run["params"].items())
    name = f"{run['sampler']}({args})"
    return f"{run['model']} {name}" if logged else name


def group_task(run: dict, task: str | None, n: int | None, *, logged: bool):
    """The (task, n) a run is judged on: `task`/`n` when given, else the run's own.

    For harness logs (`logged`) the run's task is the file's and its n the docs':
    a `task` or `n` that contradicts them is an error, not an override.
    """
    from .parallelbench import trilemma_task_name

    name = task if task is not None else run.get("task")
    size = n if n is not None else run.get("n")
    if logged and run.get("task") is not None and task is not None:
        if trilemma_task_name(task) != run["task"]:
            raise ValueError(
                f"`task`: {task!r}, but the files of {group_name(run)} are task "
                f"{run['task']!r} (from their names); drop `--task`"
            )
    if logged and run.get("n") is not None and n is not None and n != run["n"]:
        raise ValueError(
            f"`n`: {n}, but {group_name(run)} has docs of n={run['n']} (each doc's "
            "`metadata.length`); drop `--n`: every n is estimated apart"
        )
    if name is None:
        raise ValueError(
            f"{group_name(run)}: the files name no task trilemma knows; give "
            "`--task` (and `--n`) or a `--reference` sample"
        )
    if size is None:
        raise ValueError(f"{group_name(run)}: give the task's size `--n`")
    return name, size


def exact_law(name: str, n, prompts: dict):
    """The task and, per sample prompt id, its prompt index in it.

    The canonical task with as many prompts as the largest id when its rows are the
    files' `prompt_tokens` (an oracle run), else the pooled task on those rows (a
    trained model's run).
    """
    from .tasks import POOLED_TASKS, TASKS, pooled_task

    if name not in TASKS:
        raise _checks.unknown("task", name, TASKS)
    ids = sorted(prompts)
    rows = [prompts[i][0] for i in ids]
    if any(len(r) == 0 for r in rows):
        raise ValueError(
            "`--task` grades by prompt: these samples have no `prompt_tokens` "
            "(hand-written or lm-eval lines); compare them with `--reference`"
        )
    try:
        task = TASKS[name](n, num_prompts=ids[-1] + 1)
        if all(tuple(task.prompts[i].tolist()) == prompts[i][0] for i in ids):
            return task, {i: i for i in ids}
    except ValueError:
        pass
    reason = "no canonical prompt matches"
    if name in POOLED_TASKS:
        try:
            task = pooled_task(name, n, np.asarray(rows))
        except ValueError as err:
            reason = f"nor are they pooled prompts: {err}"
        else:
            return task, {i: k for k, i in enumerate(ids)}
    raise ValueError(
        f"the samples' prompts are not the prompts of task {name} n={n} ({reason}); "
        "give the task the samples were drawn on"
    )


def check_options(num_bootstrap: int, seed: int, width: float | None):
    """Check the bootstrap's resample count and seed, and `width`; returns `width`.

    `num_bootstrap` is 2 to `MAX_BOOTSTRAP`, `seed` 0 to 2^63 - 1 (a JAX key's and a
    NumPy generator's range), `width` None or at least `MIN_WIDTH` (or inf).
    """
    _checks.check_int(num_bootstrap, "num_bootstrap", minimum=2, maximum=MAX_BOOTSTRAP)
    _checks.check_int(seed, "seed", minimum=0, maximum=_checks.INT64_MAX)
    if width is None:
        return None
    return _checks.check_real(width, "width", low=MIN_WIDTH)


def assess(
    got,
    ref=None,
    *,
    task: str | None = None,
    n: int | None = None,
    entropy_estimator: str | None = None,
    num_bootstrap: int = 200,
    seed: int = 0,
    strict: bool = False,
    width: float | None = None,
    max_bytes: int | None = None,
) -> tuple[list[dict], list[str]]:
    """Per sampler (run) of `got`: its report (bits) against `ref` or task `task`.

    Returns `(reports, warnings)`: one JSON-ready dict per sampler, and the lines
    about unmatched prompts and small samples. `entropy_estimator` None is the
    default (`DEFAULT_ENTROPY_ESTIMATOR`); `strict` grades text answers by
    ParallelBench's `score_strict`; with `width`, each report also has the samples
    per prompt each interval needs to be that wide (`samples_for_width`). The
    bootstrap's arrays are checked against the memory budget `max_bytes` (None:
    `TRILEMMA_MAX_BYTES`, else 4 GiB) before they are allocated.
    """
    width = check_options(num_bootstrap, seed, width)
    from .estimators import (
        DEFAULT_ENTROPY_ESTIMATOR,
        Estimate,
        estimate_point,
        histogram,
        sample_reference,
        total_correlation_estimate,
    )
    from .parallelbench import greedy as parallelbench_greedy

    if ref is not None and ref.output_tokens.shape[1] != got.output_tokens.shape[1]:
        raise ValueError(
            f"the reference's outputs have {ref.output_tokens.shape[1]} tokens, "
            f"the samples' {got.output_tokens.shape[1]}"
        )
    reports, warnings = [], []
    for index, run_fields in enumerate(got.runs):
        mine = got.run == index
        ids = np.unique(got.prompt_id[mine])
        if ref is not None:
            ref_ids = np.unique(ref.prompt_id)
            common = np.intersect1d(ids, ref_ids)
            only_samples = np.setdiff1d(ids, ref_ids).tolist()
            only_reference = np.setdiff1d(ref_ids, ids).tolist()
        else:
            task_name, size = group_task(run_fields, task, n, logged=bool(got.docs))
            if got.text_outputs:  # graded as text: prompt ids index the task
                exact_task = _text_task(task_name, size, ids, got.docs)
                index_of = None
            else:
                exact_task, index_of = exact_law(
                    task_name, size, {int(i): got.prompts[int(i)] for i in ids}
                )
            common, only_samples, only_reference = ids, [], []
        name = group_name(run_fields, logged=bool(got.docs))
        if only_samples or only_reference:
            warnings.append(
                f"{name}: prompts only in the samples {only_samples[:10]}, only in the "
                f"reference {only_reference[:10]} (compared on the {len(common)} "
                "common ones)"
            )
        if len(common) == 0:
            raise ValueError(
                f"{name}: no prompt is both in the samples and the reference"
            )
        keep = mine & np.isin(got.prompt_id, common)
        if ref is None and got.text_outputs:
            hist, reference, passed = _graded_text(got, keep, exact_task, strict)
            support = np.bincount(reference.prompt, minlength=hist.num_prompts)
        elif ref is None:
            hist = histogram(got.prompt_id[keep], got.output_tokens[keep])
            reference, passed = _exact(hist, exact_task, index_of, got, keep)
            support = np.bincount(reference.prompt, minlength=hist.num_prompts)
        else:
            hist = histogram(got.prompt_id[keep], got.output_tokens[keep])
            in_ref = np.isin(ref.prompt_id, common)
            ref_hist = histogram(ref.prompt_id[in_ref], ref.output_tokens[in_ref])
            reference, passed = sample_reference(ref_hist), None
            support = ref_hist.distinct
        if got.text_outputs:  # one outcome per answer: no positions to correlate
            correlation = None
        elif ref is None:
            correlation = _exact_total_correlation(reference)
        else:
            correlation = total_correlation_estimate(
                ref.prompt_id[in_ref],
                ref.output_tokens[in_ref],
                num_bootstrap=num_bootstrap,
                seed=seed,
            )
        one_sample = bool((hist.totals == 1).all())
        greedy = bool(got.docs) and parallelbench_greedy(
            run_fields.get("sampler"), run_fields.get("params")
        )
        small = hist.totals < SMALL * support
        if one_sample:
            warnings.append(
                f"{name}: one sample per prompt, so no prompt's law can be compared "
                "with its reference: recall, entropy, TV, KL and F are left out "
                "(the pooled pattern law still says something: `trilemma "
                "parallelbench`)"
                + (
                    "; decoded greedily, so each prompt's diversity is zero by "
                    "construction"
                    if greedy
                    else ""
                )
            )
        elif small.any():
            warnings.append(
                f"{name}: {int(small.sum())} of {hist.num_prompts} prompts have fewer "
                f"than {SMALL}x as many samples as reference outputs (median "
                f"{int(np.median(hist.totals))} samples for "
                f"{int(np.median(support))} outputs): the estimates of recall, "
                "entropy, TV and KL are rough there"
            )
        cells = max(len(hist.count), len(reference.weight))
        _checks.check_memory(
            3 * (num_bootstrap + 1) * cells * 8,  # resamples, stacked with q and r
            f"{name}: {num_bootstrap:,} bootstrap resamples of {cells:,} cells "
            "(`num_bootstrap`)",
            max_bytes,
        )
        nfe = got.nfe[keep]
        # text answers: their tokens (an lm-eval line's `output_length`); lengths
        # that vary enter as their mean, so tokens per step is a ratio of means
        lengths = got.output_length[keep]
        length = None
        if got.text_outputs and (lengths > 0).all():
            length = float(lengths.mean())
        point = estimate_point(
            hist,
            reference,
            nfe if (nfe >= 0).all() else np.full(len(nfe), np.nan),
            entropy_estimator=entropy_estimator or DEFAULT_ENTROPY_ESTIMATOR,
            num_bootstrap=num_bootstrap,
            seed=seed,
            passed=passed,
            output_length=length,
        )
        if one_sample:
            none = Estimate(math.nan, math.nan, math.nan)
            point = point._replace(**dict.fromkeys(PER_PROMPT_FIELDS, none))
            point = point._replace(equality_p_value=None)
        report = _report(name, point, only_samples, only_reference, width, correlation)
        if one_sample and got.docs and ref is None:
            report["pooled_patterns"] = _pooled_patterns(
                got,
                keep,
                exact_task,
                greedy=greedy,
                num_bootstrap=num_bootstrap,
                seed=seed,
            )
        against = {"task": None, "n": None}
        if ref is None:
            against = {"task": exact_task.name, "n": exact_task.n}
        reports.append({"sampler": name, **against, **report})
    return reports, warnings


def _exact(hist, task, index_of: dict, got, keep):
    """The exact p* on `hist`'s prompt indices, and the grader's verdicts."""
    from .estimators import exact_reference

    outcomes = np.asarray(task.joint.outcomes)
    probs = np.asarray(task.joint.probs, float)
    position = {int(i): k for k, i in enumerate(hist.prompt_ids)}
    back = {index_of[i]: position[i] for i in position}
    use = np.isin(outcomes[:, 0], list(back))
    prompt = np.array([back[int(x)] for x in outcomes[use, 0]], np.int64)
    weight = probs[use]
    weight = weight / np.bincount(prompt, weight)[prompt]
    task_prompt = np.array([index_of[int(i)] for i in got.prompt_id[keep]])
    passed = task.grade(task_prompt, got.output_tokens[keep])
    return exact_reference(prompt, outcomes[use, 1:], weight), np.asarray(passed)


def _exact_total_correlation(reference):
    """The exact $C(Y|X)$ of an exact reference (prompts weighted equally)."""
    from .distributions import SparseJoint
    from .estimators import Estimate
    from .metrics import total_correlation

    rows = np.concatenate([reference.prompt[:, None], reference.outcome], axis=1)
    num_prompts = int(reference.prompt.max()) + 1
    joint = SparseJoint(
        rows.astype(np.int32),
        np.asarray(reference.weight, float) / num_prompts,
        tuple(int(m) + 1 for m in rows.max(axis=0)),
    )
    value = float(total_correlation(joint, given=(0,)))
    return Estimate(value, value, value)


def _text_task(name: str, n, ids, docs):
    """The canonical task whose prompt `i` is the text samples' prompt id `i`.

    With lm-eval docs (each prompt's own instance) its one prompt gives the support.
    """
    from .tasks import TASKS, TEXT_TASKS

    if name not in TASKS:
        raise _checks.unknown("task", name, TASKS)
    if name not in TEXT_TASKS:
        raise ValueError(
            f"task {name} has no answer text to grade; text samples can be graded "
            f"against {', '.join(TEXT_TASKS)}"
        )
    return TASKS[name](n, num_prompts=1 if docs else int(ids[-1]) + 1)


def _graded_text(got, keep, task, strict: bool):
    r"""Text samples as cells of their answers, against the task's exact p\*.

    Each answer is graded the way ParallelBench grades it (`grade_doc` on the lm-eval
    doc of its prompt, else `grade_text` on the task's prompt `prompt_id`;
    `strict` for `score_strict`): that verdict is the accuracy. An answer is valid
    when its content is an output of the task (`exact_grid=True`), and valid
    answers are counted by content (`answer_key`), invalid ones by their text.
    p\* is uniform on its support for every text task (checked), so the reference
    of a prompt is its $K$ outputs at mass $1/K$: the answers seen, plus $K - $seen
    outputs no sample names.
    """
    from .estimators import exact_reference, histogram
    from .parallelbench import (
        answer_key,
        doc_length,
        doc_symbols,
        grade_doc,
        grade_text,
        prompt_items,
    )

    ids = np.unique(got.prompt_id[keep])
    rows = np.flatnonzero(keep)
    name = task.name
    outcomes = np.asarray(task.joint.outcomes)
    probs = np.asarray(task.joint.probs, float)
    support = np.bincount(outcomes[:, 0], minlength=len(task.prompts))
    each = probs / np.bincount(outcomes[:, 0], probs)[outcomes[:, 0]]
    if not np.allclose(each, 1.0 / support[outcomes[:, 0]], rtol=1e-9):
        raise ValueError(
            f"task {name} n={task.n}: p* is not uniform on its support, so text "
            "answers cannot be compared with it; compare them with `--reference`"
        )
    key_ids: dict = {}
    passed = np.zeros(len(rows), bool)
    outcome = np.zeros(len(rows), np.int64)
    for j, row in enumerate(rows):
        x, text = int(got.prompt_id[row]), got.output_text[row]
        doc = got.docs.get(x)
        if doc is None and x in got.prompt_names:
            raise ValueError(
                f"prompt {got.prompt_names[x]!r} has no doc and no integer id: with "
                f"`--task`, a prompt_id must be the index of a prompt of task {name}"
            )
        if doc is not None and doc_length(doc) not in (None, task.n):
            raise ValueError(
                f"{got.prompt_names.get(x, x)}: its doc has n={doc_length(doc)}, "
                f"graded as n={task.n} (`--n`); docs of several n are not graded "
                "together yet: give the docs of one n"
            )
        if doc is not None:
            symbols = doc_symbols(doc) if name == "latin_square" else None
            passed[j] = grade_doc(doc, text, strict=strict, task=name)
            valid = grade_doc(doc, text, task=name, exact_grid=True)
        else:
            if x >= len(task.prompts):
                raise ValueError(f"prompt_id {x} is not a prompt of task {name}")
            items = prompt_items(task, x)
            symbols = items if name == "latin_square" else None
            passed[j] = grade_text(name, items, text, strict=strict)
            valid = grade_text(name, items, text, exact_grid=True)
        key = (
            ("valid", answer_key(name, text, prompt_items=symbols))
            if valid
            else (
                "invalid",
                text,
            )
        )
        outcome[j] = key_ids.setdefault(key, len(key_ids))
    hist = histogram(got.prompt_id[rows], outcome[:, None])
    size = support[ids] if not got.docs else np.full(len(ids), support.max())
    ref_prompt, ref_outcome, fresh = [], [], len(key_ids)
    valid_ids = np.array([v for k, v in key_ids.items() if k[0] == "valid"], np.int64)
    for k in range(hist.num_prompts):
        seen = np.intersect1d(hist.outcome[hist.prompt == k, 0], valid_ids)
        if len(seen) > size[k]:
            raise ValueError(
                f"prompt {int(hist.prompt_ids[k])}: {len(seen)} distinct valid "
                f"answers, more than the {int(size[k])} outputs of task {name} "
                f"n={task.n}; is `--n` right?"
            )
        unseen = np.arange(fresh, fresh + size[k] - len(seen))
        fresh += len(unseen)
        ref_outcome += [*seen, *unseen]
        ref_prompt += [k] * int(size[k])
    ref_prompt = np.asarray(ref_prompt, np.int64)
    reference = exact_reference(
        ref_prompt,
        np.asarray(ref_outcome, np.int64)[:, None],
        1.0 / np.asarray(size, float)[ref_prompt],
    )
    return hist, reference, passed


def _pooled_patterns(got, keep, task, *, greedy, num_bootstrap, seed) -> dict:
    r"""The pooled pattern law of one answer per logged doc, in bits (JSON-ready).

    `trilemma.patterns.pooled_pattern_estimates` on each answer's pattern
    (`doc_pattern`): its entropy and recall bound the mean per-prompt ones from
    above, its TV to $p^*$'s pattern law the mean per-prompt TV from below. Tasks
    whose $p^*$ has one pattern per prompt say so instead.
    """
    from .parallelbench._docs import POOLED_PATTERN_TASKS, doc_pattern
    from .patterns import pooled_pattern_estimates

    if task.name not in POOLED_PATTERN_TASKS:
        return {
            "conclusion": "no_diversity",
            "message": f"p* of {task.name} has one valid answer per prompt: there "
            "is no diversity to lose",
        }
    rows = np.flatnonzero(keep)
    patterns = [
        doc_pattern(got.docs[int(got.prompt_id[j])], got.output_text[j], task=task.name)
        for j in rows
    ]
    return pooled_pattern_estimates(
        task.name,
        task.n,
        patterns,
        num_bootstrap=num_bootstrap,
        seed=seed,
        greedy=greedy,
    ).as_report()


def _report(
    name, point, only_samples, only_reference, width=None, correlation=None
) -> dict:
    from .estimators import Estimate, samples_for_width

    def metric(field):
        e = getattr(point, field)
        d = e.as_dict()
        if field in JSON_NAMES:
            d = {k: None if v is None else float(to_bits(v)) for k, v in d.items()}
        return d

    metrics = {JSON_NAMES.get(field, field): metric(field) for field in REPORTED}
    extra = {}
    if width is not None:  # in the reported units (bits for information)
        per_prompt = max(1, round(point.num_samples / point.num_prompts))
        extra["samples_per_prompt_for_width"] = {
            key: samples_for_width(
                Estimate(*(float("nan") if v is None else v for v in d.values())),
                per_prompt,
                width,
            )
            for key, d in metrics.items()
        }
    return {
        "sampler": name,
        "num_samples": point.num_samples,
        "num_prompts": point.num_prompts,
        "distinct_per_prompt": point.distinct_per_prompt,
        "equality_p_value": point.equality_p_value,
        "mean_nfe": point.mean_nfe.as_dict(),
        "tokens_per_step": point.tokens_per_step.as_dict(),
        **metrics,
        "reference_total_correlation_bits": (
            None
            if correlation is None
            else {
                k: None if v is None else float(to_bits(v))
                for k, v in correlation.as_dict().items()
            }
        ),
        "prompts_only_in_samples": only_samples,
        "prompts_only_in_reference": only_reference,
        **extra,
    }


def _show(d) -> str:
    if d["estimate"] is None:
        return "n/a"
    if d["ci_low"] is None or d["ci_high"] is None:
        return f"{d['estimate']:.3f}"
    return f"{d['estimate']:.3f} [{d['ci_low']:.3f}, {d['ci_high']:.3f}]"


def table(reports) -> str:
    """The reports as text: one block per sampler, estimates with intervals."""
    lines = ["95% bootstrap intervals; information in bits"]
    rows = [
        ("samples / prompts", lambda r: f"{r['num_samples']:,} / {r['num_prompts']}"),
        ("distinct per prompt", lambda r: f"{r['distinct_per_prompt']:.1f}"),
        ("tokens per step", lambda r: _show(r["tokens_per_step"])),
        ("accuracy", lambda r: _show(r["accuracy"])),
        ("precision", lambda r: _show(r["precision"])),
        ("recall", lambda r: _show(r["recall"])),
        ("entropy", lambda r: _show(r["entropy_bits"])),
        ("valid entropy", lambda r: _show(r["valid_entropy_bits"])),
        ("reference entropy", lambda r: _show(r["reference_entropy_bits"])),
        ("entropy drop (valid)", lambda r: _show(r["entropy_drop_bits"])),
        ("TV", lambda r: _show(r["tv"])),
        ("KL(ref||sampler)", lambda r: _show(r["kl_reference_to_sampler_bits"])),
        (
            "reference C(Y|X)",
            lambda r: (
                _show(r["reference_total_correlation_bits"])
                if r["reference_total_correlation_bits"]
                else "n/a"
            ),
        ),
        ("F8 / F1/8", lambda r: f"{_show(r['f8'])} / {_show(r['f1_8'])}"),
        (
            "p(q = reference)",
            lambda r: (
                "n/a"
                if r["equality_p_value"] is None
                else f"{r['equality_p_value']:.3f}"
            ),
        ),
    ]
    pooled_rows = [
        ("pooled patterns", lambda d: d["conclusion"]),
        ("  valid entropy", lambda d: _show(d["valid_entropy_bits"])),
        ("  of p*'s", lambda d: f"{d['reference_entropy_bits']:.3f}"),
        ("  recall", lambda d: _show(d["recall"])),
        ("  TV (lower bound)", lambda d: _show(d["tv"])),
    ]
    for r in reports:
        against = "the reference"
        if r["task"] is not None:
            against = f"task {r['task']} n={r['n']} (exact p*)"
        lines += ["", f"{r['sampler']}, against {against}"]
        lines += [f"  {label:<20} {cell(r)}" for label, cell in rows]
        pooled = r.get("pooled_patterns")
        if pooled is not None and "valid_entropy_bits" in pooled:
            lines += [f"  {label:<20} {cell(pooled)}" for label, cell in pooled_rows]
        if pooled is not None:
            lines += textwrap.wrap(
                pooled["message"], 88, initial_indent="  ", subsequent_indent="  "
            )
        if "samples_per_prompt_for_width" in r:
            need = r["samples_per_prompt_for_width"]
            shown = ", ".join(
                f"{key.removesuffix('_bits')} {need[key]:,}"
                for key in ("precision", "recall", "tv", "entropy_drop_bits")
                if need.get(key) is not None
            )
            lines.append(f"  {'samples/prompt needed':<20} {shown}")
    return "\n".join(lines)
