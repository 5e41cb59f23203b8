r"""ParallelBench's runs: accuracy and speed per setting, checked against each run.

ParallelBench publishes lm-evaluation-harness runs of real dLLMs as a tree
`results/<model>/<method>/<param>/<run>/`: one `samples_parallelbench_<task>.jsonl`
per task (one line per doc, one sample per doc) and the run's
`results_parallelbench.json` (per task: `"score,none"` in percent,
`"score_strict,none"`, `"nfe,none"`, `"tokens_per_step,none"`, the means of the
per-line values; `n-samples[<task>]`: the docs; `config`: the model and the
method's generation arguments). `read_runs` reads such trees (or plain lm-eval
output folders) one line at a time and reports:

- per model x method x param x task x n (`SettingRow`): docs and lines, trilemma's
  lenient and strict accuracy with exact Clopper–Pearson 95% intervals, how many
  lines trilemma grades otherwise than the harness logged, and the means of the
  logged `nfe`, `tokens_per_step` (ParallelBench's: max_tokens / nfe per line, the
  mean of ratios as its results file reports it) and `output_length`;
- per run x task, all n pooled (`RunRow`): the same, with the means compared to
  the run's results file (`ResultsCheck`): equal to `RTOL` relative when the file
  holds every doc the results file counts, "excerpt k/N docs" (nothing compared)
  when it holds fewer;
- per run (`RunSummary`): the tasks its results file reports that have no sample
  file here;
- per model x method (`PbxRow`): ParallelBench's PBx over the params present (the
  largest average tokens per step among params whose average score is at least
  x%; `trilemma.metrics.pbx_discrete`, `pbx_interpolated`), from the lines and from
  the results files.

The settings of a file (`RunSettings`) come from its four folders, cross-checked
with the line's generation arguments (`arguments.gen_args_0.arg_1`: `unmasking`,
`k`, `alg_threshold`, `alg_factor`, ...) and the run's results file (`config`:
`model_args`, `gen_kwargs`); in a plain lm-eval output folder (files named
`samples_<task>_<date>.jsonl`) they are read from the arguments and the results
file alone. A contradiction is a `ValueError` naming both places.

References:
  Kang et al., *ParallelBench*, arXiv:2510.04767, its harness
  (`parallelbench/lm_eval_tasks/`) and published results.
"""

from __future__ import annotations

import json
import math
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, NamedTuple

from ..estimators import Estimate, clopper_pearson
from ..metrics import pbx_discrete, pbx_interpolated
from ..tasks import TEXT_FACTS
from ._logs import NO_PATTERN, LogFile, find_log_files, grade_log, method_params
from .ideal import FOLDER_PREFIXES, METHODS, ideal_curve

RESULTS_FILE = "results_parallelbench.json"
"""The results file of a run folder in ParallelBench's tree."""

TOPK_METHODS = frozenset(m for m, spec in METHODS.items() if spec.kind == "topk")
"""Methods with a fixed k per step: PBx reads them at their sweep points
(discrete); the others (adaptive) on the interpolated curve, as the project page."""

PARAM_PREFIXES = FOLDER_PREFIXES
"""How ParallelBench's param folders abbreviate a parameter (`k4`, `t0.7`, `f1.0`,
DUS's `bl8`; `trilemma.parallelbench.ideal.FOLDER_PREFIXES`); other parameters are
written `<name><value>`, joined by `_` in sorted order."""

COMPARED = (
    ("score", "score,none"),
    ("score_strict", "score_strict,none"),
    ("nfe", "nfe,none"),
    ("tokens_per_step", "tokens_per_step,none"),
    ("output_length", "output_length,none"),
)
"""(quantity, results-file key): the means a complete file must match (scores in
percent, as the results file reports them)."""

RTOL = 1e-9
"""Relative tolerance of a complete file's means against its results file."""

LEVELS = (90, 80, 75, 70, 60)
"""The x of PBx, in percent: ParallelBench's code uses 90/80/70/60, its site
80/75/70."""

_DATE_SUFFIX = re.compile(r"_(\d{4}-\d{2}-\d{2}T\d{2}-\d{2}-\d{2}(\.\d+)?)\.jsonl$")
_NUMBER = re.compile(r"\d+(?:\.\d+)?(?:[eE][-+]?\d+)?")
_SANITIZE = re.compile(r"[\"<>:/\|\\?\*\[\]]+")


# --- records --------------------------------------------------------------------------


class RunSettings(NamedTuple):
    """The decoding setting of one sample file.

    Attributes:
      model: the model, as its folder is named (`GSAI-ML__LLaDA-8B-Instruct`: the
        model path with `/` written `__`, as lm-eval sanitizes it).
      method: ParallelBench's method (`unmasking`: `confidence_topk`, ...); "" where
        nothing says.
      param: the method's parameter as ParallelBench's folders spell it (`k4`,
        `t0.7`, `f1.0`; `param_label`).
      run: the run (its folder, or lm-eval's date in a plain output folder).
      params: the method's generation arguments (`method_params`), sorted by name.
      max_tokens: the generation canvas (`max_tokens`; 32 for the Waiting Line, 64
        for the puzzles), or None.
      source: `"folders"` (ParallelBench's tree, cross-checked) or `"arguments"`
        (read from the generation arguments and the results file).
    """

    model: str
    method: str
    param: str
    run: str
    params: tuple[tuple[str, Any], ...]
    max_tokens: int | None
    source: str


class ResultsFile(NamedTuple):
    """What a run's results file says (`results_parallelbench.json`).

    Attributes:
      path: the file.
      model: the model path of `config.model_args` (`model_path=...`), sanitized
        as lm-eval names its folders; None where absent.
      gen_kwargs: `config.gen_kwargs` (the method and its parameter).
      tasks: per task (harness name): `score`, `score_strict` (percent), `nfe`,
        `tokens_per_step`, `output_length` (NaN where absent) and `docs`
        (`n-samples[task].effective`, or None).
    """

    path: Path
    model: str | None
    gen_kwargs: Mapping[str, Any]
    tasks: Mapping[str, Mapping[str, Any]]


class ResultsCheck(NamedTuple):
    """A run x task's means against its results file.

    Attributes:
      status: `"equal"` (every doc there and every mean equal to `RTOL`),
        `"mismatch"`, `"excerpt"` (fewer docs than the results file counts; nothing
        compared), `"no results file"` or `"not in results file"`.
      results_file: the results file, or None.
      docs: the docs the results file counts (`n-samples`), or None.
      compared: `(quantity, mean of the lines, results value)` for each quantity
        compared (empty unless the file is complete).
      message: one line saying it (`"excerpt 15/100 docs"`, `"score: lines 52 vs
        results 51"`).
    """

    status: str
    results_file: str | None
    docs: int | None
    compared: tuple[tuple[str, float, float], ...]
    message: str


class SettingRow(NamedTuple):
    """Accuracy and speed of one model x method x param on one task at one n.

    Attributes:
      model, method, param: the setting (`RunSettings`).
      task: the harness task name without its `parallelbench_` prefix.
      trilemma_task: the trilemma task that grades it.
      n: the docs' size (`doc_length`), None for docs without one, `"all"` in the
        rows that pool every n (`RunsReport.pooled`).
      runs: how many runs the lines come from.
      lines: the lines (samples).
      docs: the distinct docs (by content, `doc_hash`); ParallelBench logs one
        sample per doc, so `lines == docs` per run.
      accuracy, accuracy_strict: trilemma's lenient and strict verdicts' mean with
        the exact Clopper–Pearson 95% interval over the lines.
      disagreements: lines where a verdict differs from the logged one.
      mean_nfe, mean_tokens_per_step, mean_output_length: means of the logged
        per-line values (NaN where no line logs one).
      pooled_patterns: for one n of a task of `POOLED_PATTERN_TASKS`, the pooled
        pattern law of its answers, one per doc (`trilemma.patterns`, bits,
        JSON-ready: entropy, recall, TV with intervals and what they prove); None
        elsewhere.
    """

    model: str
    method: str
    param: str
    task: str
    trilemma_task: str
    n: int | str | None
    runs: int
    lines: int
    docs: int
    accuracy: Estimate
    accuracy_strict: Estimate
    disagreements: int
    mean_nfe: float
    mean_tokens_per_step: float
    mean_output_length: float
    pooled_patterns: dict | None = None

    @property
    def samples_per_doc(self) -> float:
        """Lines per distinct doc (1 in ParallelBench's runs)."""
        return self.lines / self.docs

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready: intervals as `{"estimate", "ci_low", "ci_high"}`, NaN as None."""
        out = _plain(self._asdict())
        out["samples_per_doc"] = self.samples_per_doc
        return out


class RunRow(NamedTuple):
    """One run x task, every n pooled, with its results file's check.

    Attributes:
      settings: the run's setting.
      folder: the folder of the sample file.
      file: the sample file.
      task, trilemma_task: as in `SettingRow`.
      lines, docs: lines, and distinct `doc_id`s.
      n: lines per n, `{n: lines}` (n None where a doc has no size).
      accuracy, accuracy_strict, disagreements, mean_nfe, mean_tokens_per_step,
      mean_output_length: as in `SettingRow`.
      other_filter_lines: lines of filters other than the file's first (lm-eval
        logs each doc once per filter; the first filter's are read).
      results: the comparison with the run's results file.
    """

    settings: RunSettings
    folder: str
    file: str
    task: str
    trilemma_task: str
    lines: int
    docs: int
    n: Mapping[int | None, int]
    accuracy: Estimate
    accuracy_strict: Estimate
    disagreements: int
    mean_nfe: float
    mean_tokens_per_step: float
    mean_output_length: float
    other_filter_lines: int
    results: ResultsCheck

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready (n keys as text, `"?"` for None)."""
        out = _plain(self._asdict())
        out["n"] = {("?" if k is None else str(k)): v for k, v in self.n.items()}
        return out


class RunSummary(NamedTuple):
    """One run: its results file and the tasks it reports without a sample file.

    Attributes:
      settings: the run's setting.
      folder: the run's folder.
      results_file: its results file, or None.
      reported_tasks: the tasks the results file counts (`n-samples`).
      tasks: the tasks with a sample file here (graded or not).
      missing: reported tasks without a sample file here.
    """

    settings: RunSettings
    folder: str
    results_file: str | None
    reported_tasks: tuple[str, ...]
    tasks: tuple[str, ...]
    missing: tuple[str, ...]

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return _plain(self._asdict())


class PbxRow(NamedTuple):
    """PBx of one model x method over the params present.

    Attributes:
      model, method: the setting.
      params: the params present, in sweep order.
      tasks: the tasks averaged (those every param has lines of).
      convention: `"discrete"` for fixed-k methods, `"interpolated"` for adaptive
        ones (how ParallelBench's site reads each; both are given).
      points: per param `(param, average tokens per step, average score %)` from
        the lines (trilemma's lenient verdicts; per task over its lines, then
        unweighted over `tasks`).
      pbx: per level x (`LEVELS`, as text) `{"discrete", "at", "interpolated"}`;
        None with fewer than 2 params.
      results_points: the same points from the results files' means on `tasks`
        (None where a run has no results file or lacks a task).
      results_pbx: PBx from `results_points`.
      results_points_all: the points over every task the results files report
        (ParallelBench's 17-task average, Text Writing included).
      results_pbx_all: PBx from `results_points_all` (ParallelBench's PBx).
      check: `"equal"` (every file complete and the lines' points and PBx equal
        the results files'), `"mismatch"`, or why nothing is compared:
        `"needs the sweep"`, `"excerpt"`, `"not compared"` (a file differs from its
        results file), `"no results files"`, `"no tasks"`.
      note: one line for a person.
    """

    model: str
    method: str
    params: tuple[str, ...]
    tasks: tuple[str, ...]
    convention: str
    points: tuple[tuple[str, float, float], ...]
    pbx: Mapping[str, Mapping[str, Any]] | None
    results_points: tuple[tuple[str, float, float], ...] | None
    results_pbx: Mapping[str, Mapping[str, Any]] | None
    results_points_all: tuple[tuple[str, float, float], ...] | None
    results_pbx_all: Mapping[str, Mapping[str, Any]] | None
    check: str
    note: str

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready (points as `{"param", "tokens_per_step", "score"}`)."""
        out = _plain(self._asdict())
        for key in ("points", "results_points", "results_points_all"):
            if out[key] is not None:
                out[key] = [
                    {"param": p, "tokens_per_step": s, "score": a}
                    for p, s, a in out[key]
                ]
        return out


class RunsReport(NamedTuple):
    """Everything `read_runs` found.

    Attributes:
      files: the graded sample files read.
      lines: their lines read (first filter).
      skipped_files: sample files of tasks trilemma does not grade (Text Writing).
      settings: `SettingRow`s, by model, method, param, task, n.
      pooled: `SettingRow`s with every n pooled (`n` = `"all"`), by model, method,
        param, task: ParallelBench's per-task scores (and the figure's points).
      runs: `RunRow`s, by model, method, param, run, task.
      summaries: `RunSummary`s, one per run.
      pbx: `PbxRow`s, one per model x method.
      disagreements: every line whose verdicts differ from the logged ones:
        `{"file", "line", "doc_id", "response", "score", "score_strict",
        "logged_score", "logged_score_strict"}`.
      errors: one line per problem a script should fail on: a complete file whose
        means differ from its results file, lines graded otherwise than logged, PBx
        that differs from the results files'.
    """

    files: int
    lines: int
    skipped_files: tuple[str, ...]
    settings: tuple[SettingRow, ...]
    pooled: tuple[SettingRow, ...]
    runs: tuple[RunRow, ...]
    summaries: tuple[RunSummary, ...]
    pbx: tuple[PbxRow, ...]
    disagreements: tuple[Mapping[str, Any], ...]
    errors: tuple[str, ...]

    def as_dict(self) -> dict[str, Any]:
        """One JSON-ready dict (NaN and infinities as None)."""
        return {
            "files": self.files,
            "lines": self.lines,
            "skipped_files": list(self.skipped_files),
            "settings": [r.as_dict() for r in self.settings],
            "pooled": [r.as_dict() for r in self.pooled],
            "runs": [r.as_dict() for r in self.runs],
            "summaries": [r.as_dict() for r in self.summaries],
            "pbx": [r.as_dict() for r in self.pbx],
            "disagreements": [_plain(d) for d in self.disagreements],
            "errors": list(self.errors),
        }


# --- settings -------------------------------------------------------------------------


def param_label(params: Mapping[str, Any]) -> str:
    """A method's parameters as ParallelBench's param folders spell them.

    >>> param_label({"k": 4}), param_label({"alg_threshold": 0.7})
    ('k4', 't0.7')
    >>> param_label({"kl_threshold": 0.01, "conf_threshold": 0.5})
    'conf_threshold0.5_kl_threshold0.01'
    >>> param_label({"block_length": 8, "dus_base": 2})
    'bl8_dus_base2'
    """
    return "_".join(
        f"{PARAM_PREFIXES.get(k, k)}{_value_text(params[k])}" for k in sorted(params)
    )


def _value_text(value) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, int | float | str):
        return str(value)
    return json.dumps(value, sort_keys=True)


def sanitize_model_name(name: str) -> str:
    """A model path as lm-eval names its folders (`/`, `:`, ... as `__`).

    >>> sanitize_model_name("GSAI-ML/LLaDA-8B-Instruct")
    'GSAI-ML__LLaDA-8B-Instruct'
    """
    return _SANITIZE.sub("__", name)


def read_results_file(path: str | Path) -> ResultsFile:
    """A run's results file (`results_parallelbench.json`, or lm-eval's `results_*`).

    Raises:
      ValueError: naming the file, when it is not a JSON object with `results`.
    """
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ValueError(
            f"{path}: not a readable JSON results file ({error})."
        ) from None
    if not isinstance(data, Mapping) or not isinstance(data.get("results"), Mapping):
        raise ValueError(f"{path}: a results file needs a `results` object.")
    config = data.get("config") if isinstance(data.get("config"), Mapping) else {}
    model = _model_of(config.get("model_args"), data.get("model_name"))
    gen_kwargs = _keyword_args(config.get("gen_kwargs"), path, "config.gen_kwargs")
    counts = data.get("n-samples") if isinstance(data.get("n-samples"), Mapping) else {}
    names = [k for k in counts] or [
        k for k, v in data["results"].items() if isinstance(v, Mapping)
    ]
    tasks = {}
    for name in names:
        entry = data["results"].get(name)
        if not isinstance(entry, Mapping):
            continue
        values = {q: _number(entry.get(key)) for q, key in COMPARED}
        count = counts.get(name)
        docs = None
        if isinstance(count, Mapping):
            docs = count.get("effective", count.get("original"))
        elif isinstance(count, int):
            docs = count
        values["docs"] = docs if isinstance(docs, int) else None
        tasks[name] = values
    return ResultsFile(path, model, gen_kwargs, tasks)


def _number(value) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return math.nan
    return float(value)


def _model_of(model_args, model_name) -> str | None:
    args = {}
    if isinstance(model_args, str):
        for part in model_args.split(","):
            key, _, value = part.partition("=")
            args[key.strip()] = value.strip()
    elif isinstance(model_args, Mapping):
        args = {str(k): str(v) for k, v in model_args.items()}
    for key in ("model_path", "pretrained", "model", "model_name"):
        if args.get(key):
            return sanitize_model_name(args[key])
    if isinstance(model_name, str) and model_name:
        return sanitize_model_name(model_name)
    return None


def _keyword_args(value, path: Path, where: str) -> dict[str, Any]:
    if value is None or value == "":
        return {}
    if isinstance(value, Mapping):
        return dict(value)
    if isinstance(value, str):  # lm-eval's `--gen_kwargs k=4,unmasking=random`
        out = {}
        for part in value.split(","):
            key, sep, text = part.partition("=")
            if not sep:
                raise ValueError(f"{path}: `{where}` {value!r} is not key=value pairs.")
            try:
                out[key.strip()] = json.loads(text.strip())
            except json.JSONDecodeError:
                out[key.strip()] = text.strip()
        return out
    raise ValueError(f"{path}: `{where}` must be an object; got {value!r}.")


def results_file_of(path: str | Path) -> Path | None:
    """The results file of a sample file's run, or None.

    `results_parallelbench.json` beside it (ParallelBench's tree); for lm-eval's
    `samples_<task>_<date>.jsonl`, the `results_<date>.json` beside it; else the
    only `results*.json` there.
    """
    path = Path(path)
    folder = path.parent
    if (folder / RESULTS_FILE).is_file():
        return folder / RESULTS_FILE
    date = _DATE_SUFFIX.search(path.name)
    if date and (folder / f"results_{date.group(1)}.json").is_file():
        return folder / f"results_{date.group(1)}.json"
    found = sorted(p for p in folder.glob("results*.json") if p.is_file())
    return found[0] if len(found) == 1 else None


def run_settings(
    log: LogFile,
    gen_args: Mapping[str, Any] | None,
    results: ResultsFile | None = None,
    *,
    where: str = "",
) -> RunSettings:
    """The setting of a sample file, cross-checked across the places that say it.

    ParallelBench's tree (a file named without lm-eval's date, whose method folder
    is one of `METHODS` or the line's `unmasking`): the four folders, which must
    agree with the line's generation arguments (`unmasking` = method; every number
    in the param folder among the method's parameters) and with the results file
    (`config.model_args` = the model folder; `config.gen_kwargs` = the line's
    arguments). Otherwise (a plain lm-eval output folder) the model is the results
    file's (else the file's folder), the method the line's `unmasking` (else the
    results file's), the param `param_label` of its parameters and the run lm-eval's
    date (else the folder); the results file must still agree with the line.

    Args:
      log: the file (`find_log_files`).
      gen_args: its first line's generation arguments (`LineVerdict.gen_args`).
      results: its run's results file, if any.
      where: `file:line` of the line, for the messages.

    Raises:
      ValueError: one sentence naming both places that contradict each other.
    """
    where = where or str(log.path)
    params = method_params(gen_args)
    unmasking = (gen_args or {}).get("unmasking")
    max_tokens = (gen_args or {}).get(
        "max_tokens", (gen_args or {}).get("max_gen_toks")
    )
    if results is not None:
        for key, value in results.gen_kwargs.items():
            got = (gen_args or {}).get(key, _MISSING)
            if got is _MISSING or not _same(got, value):
                shown = "nothing" if got is _MISSING else f"{key}={got!r}"
                raise ValueError(
                    f"{where}: the generation arguments say {shown} but "
                    f"{results.path}: config.gen_kwargs says {key}={value!r}."
                )
    dated = _DATE_SUFFIX.search(log.path.name) is not None
    layout = (
        not dated
        and bool(log.method)
        and (log.method in METHODS or log.method == unmasking)
    )
    if layout:
        if unmasking is not None and unmasking != log.method:
            raise ValueError(
                f"{where}: the generation arguments say unmasking={unmasking!r} but "
                f"the folder {_folder(log, 3)} says method {log.method!r}."
            )
        numbers = [float(x) for x in _NUMBER.findall(log.param)]
        values = [float(v) for v in _numbers_in(params.values())]
        for number in numbers:
            if not any(math.isclose(number, v, rel_tol=1e-12) for v in values):
                raise ValueError(
                    f"{where}: the generation arguments say "
                    f"{param_label(params) or 'no parameter'} but the folder "
                    f"{_folder(log, 2)} says param {log.param!r}."
                )
        if results is not None and results.model and results.model != log.model:
            raise ValueError(
                f"{results.path}: config.model_args names {results.model!r} but the "
                f"folder {_folder(log, 4)} says model {log.model!r}."
            )
        return RunSettings(
            log.model,
            log.method,
            log.param,
            log.run,
            tuple(params.items()),
            max_tokens,
            "folders",
        )
    method = unmasking
    if method is None and results is not None:
        method = results.gen_kwargs.get("unmasking")
    model = results.model if results is not None and results.model else None
    date = _DATE_SUFFIX.search(log.path.name)
    return RunSettings(
        model or log.path.parent.name,
        str(method or ""),
        param_label(params),
        date.group(1) if date else log.path.parent.name,
        tuple(params.items()),
        max_tokens,
        "arguments",
    )


_MISSING = object()


def _same(a, b) -> bool:
    if isinstance(a, int | float) and isinstance(b, int | float):
        return not isinstance(a, bool) and not isinstance(b, bool) and a == b
    return a == b


def _numbers_in(values: Iterable) -> Iterable[float]:
    for value in values:
        if isinstance(value, bool):
            continue
        if isinstance(value, int | float):
            yield value
        elif isinstance(value, Sequence) and not isinstance(value, str):
            yield from _numbers_in(value)


def _folder(log: LogFile, up: int) -> str:
    """The folder `up` levels above the file (1 = its run folder)."""
    path = log.path if len(log.path.parts) > up else log.path.resolve()
    return str(path.parents[up - 1]) + "/"


# --- reading --------------------------------------------------------------------------


class _Mean:
    """A running mean of the finite values met (Neumaier's compensated sum)."""

    __slots__ = ("count", "total", "carry")

    def __init__(self):
        self.count, self.total, self.carry = 0, 0.0, 0.0

    def add(self, value: float) -> None:
        if math.isfinite(value):
            self._sum(value)
            self.count += 1

    def merge(self, other: _Mean) -> None:
        self._sum(other.total)
        self._sum(other.carry)
        self.count += other.count

    def _sum(self, value: float) -> None:
        t = self.total + value
        if abs(self.total) >= abs(value):
            self.carry += (self.total - t) + value
        else:
            self.carry += (value - t) + self.total
        self.total = t

    @property
    def mean(self) -> float:
        return (self.total + self.carry) / self.count if self.count else math.nan


class _Tally:
    """Counts and running means of a group of lines."""

    __slots__ = (
        "lines",
        "score",
        "strict",
        "disagree",
        "nfe",
        "tps",
        "length",
        "docs",
        "patterns",
    )

    def __init__(self):
        self.lines = self.score = self.strict = self.disagree = 0
        self.nfe, self.tps, self.length = _Mean(), _Mean(), _Mean()
        self.docs: set = set()
        self.patterns: Counter = Counter()  # at most n! + 1 cells

    def add(self, verdict, doc_key) -> None:
        self.lines += 1
        self.score += verdict.score
        self.strict += verdict.score_strict
        self.disagree += not verdict.agrees
        self.nfe.add(verdict.nfe)
        self.tps.add(verdict.tokens_per_step)
        self.length.add(verdict.output_length)
        self.docs.add(doc_key)
        self.patterns[verdict.pattern] += 1

    def merge(self, other: _Tally) -> None:
        self.lines += other.lines
        self.score += other.score
        self.strict += other.strict
        self.disagree += other.disagree
        self.nfe.merge(other.nfe)
        self.tps.merge(other.tps)
        self.length.merge(other.length)
        self.docs |= other.docs
        self.patterns += other.patterns

    def fields(self) -> dict[str, Any]:
        return {
            "accuracy": clopper_pearson(self.score, self.lines),
            "accuracy_strict": clopper_pearson(self.strict, self.lines),
            "disagreements": self.disagree,
            "mean_nfe": self.nfe.mean,
            "mean_tokens_per_step": self.tps.mean,
            "mean_output_length": self.length.mean,
        }

    def value(self, quantity: str) -> float:
        return {
            "score": 100.0 * self.score / self.lines,
            "score_strict": 100.0 * self.strict / self.lines,
            "nfe": self.nfe.mean,
            "tokens_per_step": self.tps.mean,
            "output_length": self.length.mean,
        }[quantity]


class _File(NamedTuple):
    log: LogFile
    settings: RunSettings
    folder: str
    results: ResultsFile | None
    by_n: dict
    other_filter_lines: int


def _read_file(log: LogFile, results_cache: dict, disagreements: list) -> _File:
    """One sample file, line by line: its settings and per-n tallies."""
    by_n: dict[int | None, _Tally] = {}
    seen: dict[object, tuple[str, int]] = {}
    settings = first = results = None
    skipped = 0
    for verdict in grade_log(log):
        where = f"{log.path}:{verdict.line}"
        if first is None:
            first = verdict
            results_path = results_file_of(log.path)
            if results_path is not None:
                key = results_path.resolve()
                if key not in results_cache:
                    results_cache[key] = read_results_file(results_path)
                results = results_cache[key]
            settings = run_settings(log, verdict.gen_args, results, where=where)
        elif verdict.filter != first.filter:
            skipped += 1
            continue
        elif verdict.gen_args != first.gen_args:
            raise ValueError(
                f"{where}: the generation arguments {dict(verdict.gen_args or {})} "
                f"differ from line {first.line}'s {dict(first.gen_args or {})}."
            )
        doc_id = _hashable(verdict.doc_id)
        if doc_id in seen and seen[doc_id][0] != verdict.doc_hash:
            raise ValueError(
                f"{where}: doc_id {verdict.doc_id!r} is logged with another doc at "
                f"{log.path}:{seen[doc_id][1]}."
            )
        seen.setdefault(doc_id, (verdict.doc_hash, verdict.line))
        by_n.setdefault(verdict.n, _Tally()).add(verdict, verdict.doc_hash)
        if not verdict.agrees:
            disagreements.append(
                {
                    "file": str(log.path),
                    "line": verdict.line,
                    "doc_id": verdict.doc_id,
                    "response": verdict.response,
                    "score": float(verdict.score),
                    "score_strict": float(verdict.score_strict),
                    "logged_score": float(verdict.logged_score),
                    "logged_score_strict": float(verdict.logged_score_strict),
                }
            )
    if settings is None:
        raise ValueError(f"{log.path}: no lines in it.")
    return _File(log, settings, str(log.path.parent), results, by_n, skipped)


def _hashable(value):
    try:
        hash(value)
    except TypeError:
        return json.dumps(value, sort_keys=True)
    return value


def read_runs(paths: Iterable[str | Path], *, progress: bool = False) -> RunsReport:
    """Read ParallelBench runs: the table, each run against its results file, PBx.

    Every sample file under `paths` (`find_log_files`) of a task trilemma grades is
    read one line at a time (`grade_log`): memory grows with the number of settings,
    tasks, n and docs, not with the lines. Text Writing files are skipped and listed.

    Args:
      paths: results trees, run folders, plain lm-eval output folders or sample
        files.
      progress: show a progress bar over the files (tqdm, on stderr).

    Returns:
      The `RunsReport`.

    Raises:
      ValueError: one sentence naming the file (and `file:line`): no sample files
        (or only Text Writing ones), a task name that maps to no task, a line that
        is not JSON (a truncated one included) or cannot be graded, one `doc_id`
        with two different docs in a file, settings that contradict each other
        (folders, generation arguments, results file), an unreadable results file.
    """
    from tqdm.auto import tqdm

    paths = list(paths)
    files = find_log_files(paths)
    graded = [f for f in files if f.task is not None]
    if not graded:
        raise ValueError(
            "no sample files of a task trilemma grades under "
            f"{[str(p) for p in paths]} "
            f"({len(files)} Text Writing files only)."
        )
    results_cache: dict[Path, ResultsFile] = {}
    disagreements: list[dict] = []
    read = []
    for log in tqdm(
        graded, desc="files", unit="file", disable=not progress, leave=False
    ):
        read.append(_read_file(log, results_cache, disagreements))
    settings_rows = _setting_rows(read, pooled=False)
    pooled_rows = _setting_rows(read, pooled=True)
    run_rows = [_run_row(f) for f in read]
    run_rows.sort(key=lambda r: (*_setting_key(r.settings), r.settings.run, r.task))
    summaries = _summaries(read, files)
    pbx = _pbx_rows(read, run_rows)
    errors = [
        f"{r.file}: {r.results.message}"
        for r in run_rows
        if r.results.status == "mismatch"
    ]
    if disagreements:
        errors.append(
            f"{len(disagreements)} lines graded otherwise than the harness logged "
            f"(first: {disagreements[0]['file']}:{disagreements[0]['line']})"
        )
    errors += [
        f"PBx of {p.model} {p.method}: {p.note}" for p in pbx if p.check == "mismatch"
    ]
    return RunsReport(
        files=len(read),
        lines=sum(t.lines for f in read for t in f.by_n.values()),
        skipped_files=tuple(sorted(str(f.path) for f in files if f.task is None)),
        settings=tuple(settings_rows),
        pooled=tuple(pooled_rows),
        runs=tuple(run_rows),
        summaries=tuple(summaries),
        pbx=tuple(pbx),
        disagreements=tuple(disagreements),
        errors=tuple(errors),
    )


def short_task(name: str) -> str:
    """A harness task name without ParallelBench's prefix.

    >>> short_task("parallelbench_waiting_line_copy")
    'waiting_line_copy'
    """
    for prefix in ("parallelbench_", "parallel_bench_"):
        if name.startswith(prefix):
            return name[len(prefix) :]
    return name


def task_family(trilemma_task: str) -> str:
    """`"waiting line"` for the list tasks, `"puzzles"` for Latin square and Sudoku."""
    facts = TEXT_FACTS.get(trilemma_task)
    return "waiting line" if facts is not None and facts.form == "list" else "puzzles"


def _param_order(param: str) -> tuple:
    return (tuple(float(x) for x in _NUMBER.findall(param)), param)


def _n_order(n) -> tuple:
    return (not isinstance(n, int), n if isinstance(n, int) else 0)


def _setting_key(s: RunSettings) -> tuple:
    return (s.model, s.method, _param_order(s.param))


def _setting_rows(read: list[_File], *, pooled: bool) -> list[SettingRow]:
    groups: dict[tuple, tuple[_Tally, set, str]] = {}
    for f in read:
        s = f.settings
        for n, tally in f.by_n.items():
            key = (s.model, s.method, s.param, f.log.task_name, "all" if pooled else n)
            if key not in groups:
                groups[key] = (_Tally(), set(), f.log.task)
            groups[key][0].merge(tally)
            groups[key][1].add((f.folder, s.run))
    rows = []
    for key in sorted(
        groups,
        key=lambda k: (k[0], k[1], _param_order(k[2]), k[3], _n_order(k[4])),
    ):
        tally, runs, task = groups[key]
        model, method, param, name, n = key
        patterns = None
        if isinstance(n, int) and NO_PATTERN not in tally.patterns:
            patterns = _pooled_patterns(task, n, tally, greedy=method in METHODS)
        rows.append(
            SettingRow(
                model,
                method,
                param,
                short_task(name),
                task,
                n,
                runs=len(runs),
                lines=tally.lines,
                docs=len(tally.docs),
                **tally.fields(),
                pooled_patterns=patterns,
            )
        )
    return rows


def _pooled_patterns(task: str, n: int, tally: _Tally, *, greedy: bool) -> dict:
    """The pooled pattern law of a group's answers (`pooled_pattern_estimates`)."""
    from ..patterns import pooled_pattern_estimates

    patterns = [p for p, count in tally.patterns.items() for _ in range(count)]
    return pooled_pattern_estimates(task, n, patterns, greedy=greedy).as_report()


def _pooled(f: _File) -> _Tally:
    tally = _Tally()
    for t in f.by_n.values():
        tally.merge(t)
    return tally


def _run_row(f: _File) -> RunRow:
    tally = _pooled(f)
    doc_ids = len(tally.docs)
    check = _check_results(f, tally, doc_ids)
    n = {k: f.by_n[k].lines for k in sorted(f.by_n, key=_n_order)}
    return RunRow(
        f.settings,
        f.folder,
        str(f.log.path),
        short_task(f.log.task_name),
        f.log.task,
        lines=tally.lines,
        docs=doc_ids,
        n=n,
        **tally.fields(),
        other_filter_lines=f.other_filter_lines,
        results=check,
    )


def _check_results(f: _File, tally: _Tally, docs: int) -> ResultsCheck:
    if f.results is None:
        return ResultsCheck("no results file", None, None, (), "no results file")
    path = str(f.results.path)
    entry = f.results.tasks.get(f.log.task_name)
    if entry is None:
        return ResultsCheck(
            "not in results file",
            path,
            None,
            (),
            f"{f.log.task_name} is not in the results file",
        )
    total = entry["docs"]
    if total is None:
        return ResultsCheck(
            "excerpt", path, None, (), f"{docs} docs; the results file counts none"
        )
    if docs < total:
        return ResultsCheck("excerpt", path, total, (), f"excerpt {docs}/{total} docs")
    compared = []
    wrong = []
    if docs > total:
        wrong.append(f"{docs} docs but n-samples {total}")
    for quantity, _ in COMPARED:
        ours, theirs = tally.value(quantity), entry[quantity]
        if math.isnan(theirs):
            continue
        compared.append((quantity, ours, theirs))
        if not math.isclose(ours, theirs, rel_tol=RTOL, abs_tol=0.0):
            wrong.append(f"{quantity}: lines {ours!r} vs results {theirs!r}")
    if wrong:
        return ResultsCheck(
            "mismatch",
            path,
            total,
            tuple(compared),
            f"{docs}/{total} docs, differs from {path}: " + "; ".join(wrong),
        )
    shown = ", ".join(q for q, _, _ in compared)
    return ResultsCheck(
        "equal",
        path,
        total,
        tuple(compared),
        f"all {total} docs; {shown} equal the results file",
    )


def _summaries(read: list[_File], files: list[LogFile]) -> list[RunSummary]:
    by_folder: dict[str, list[_File]] = {}
    for f in read:
        by_folder.setdefault((f.folder, f.settings.run), []).append(f)
    names_in: dict[str, set[str]] = {}
    for log in files:
        names_in.setdefault(str(log.path.parent), set()).add(log.task_name)
    out = []
    for (folder, _), group in by_folder.items():
        s = group[0].settings
        results = next((f.results for f in group if f.results is not None), None)
        reported = tuple(results.tasks) if results is not None else ()
        present = names_in.get(folder, set())
        missing = tuple(t for t in reported if t not in present)
        out.append(
            RunSummary(
                s,
                folder,
                None if results is None else str(results.path),
                tuple(short_task(t) for t in reported),
                tuple(short_task(t) for t in sorted(present)),
                tuple(short_task(t) for t in missing),
            )
        )
    out.sort(key=lambda r: (*_setting_key(r.settings), r.settings.run, r.folder))
    return out


# --- PBx ------------------------------------------------------------------------------


def _pbx(points: Sequence[tuple[str, float, float]]) -> dict[str, dict[str, Any]]:
    pairs = [(s, a) for _, s, a in points]
    out = {}
    for x in LEVELS:
        speed, index = pbx_discrete(pairs, x)
        out[str(x)] = {
            "discrete": speed,
            "at": None if index < 0 else points[index][0],
            "interpolated": pbx_interpolated(pairs, x),
        }
    return out


def _pbx_rows(read: list[_File], run_rows: list[RunRow]) -> list[PbxRow]:
    methods: dict[tuple[str, str], dict[str, dict[str, _Tally]]] = {}
    results: dict[tuple[str, str], dict[str, list[ResultsFile | None]]] = {}
    for f in read:
        s = f.settings
        per_task = methods.setdefault((s.model, s.method), {}).setdefault(s.param, {})
        per_task.setdefault(f.log.task_name, _Tally()).merge(_pooled(f))
        runs = results.setdefault((s.model, s.method), {}).setdefault(s.param, [])
        runs.append((f.folder, s.run, f.results))
    rows = []
    for (model, method), by_param in sorted(methods.items()):
        params = tuple(sorted(by_param, key=_param_order))
        tasks = tuple(sorted(set.intersection(*(set(by_param[p]) for p in params))))
        convention = "discrete" if method in TOPK_METHODS else "interpolated"
        points = (
            tuple(
                (
                    p,
                    _average(by_param[p][t].tps.mean for t in tasks),
                    _average(_score(by_param[p][t]) for t in tasks),
                )
                for p in params
            )
            if tasks
            else ()
        )
        run_files = {
            p: list({(fo, r): res for fo, r, res in results[model, method][p]}.values())
            for p in params
        }
        res_points = _results_points(run_files, params, tasks)
        res_all = _results_points(run_files, params, None)
        sweep = len(params) >= 2 and bool(tasks)
        statuses = {
            r.results.status
            for r in run_rows
            if (r.settings.model, r.settings.method) == (model, method)
            and r.task in {short_task(t) for t in tasks}
        }
        pbx = _pbx(points) if sweep else None
        res_pbx = _pbx(res_points) if sweep and res_points else None
        res_pbx_all = _pbx(res_all) if len(params) >= 2 and res_all else None
        check, note = _pbx_check(
            method, params, tasks, statuses, (points, pbx), (res_points, res_pbx)
        )
        rows.append(
            PbxRow(
                model,
                method,
                params,
                tuple(short_task(t) for t in tasks),
                convention,
                points,
                pbx,
                res_points,
                res_pbx,
                res_all,
                res_pbx_all,
                check,
                note,
            )
        )
    return rows


def _pbx_check(method, params, tasks, statuses, lines, results) -> tuple[str, str]:
    """`(check, note)` of a PBx row: its lines' points and PBx against the files'."""
    shown = ", ".join(short_task(t) for t in tasks)
    if not tasks:
        return "no tasks", "no task has lines for every param"
    if len(params) < 2:
        return "needs the sweep", (
            f"PBx needs the sweep: {len(params)} param ({', '.join(params)}) of "
            f"{method} given; average over {shown}"
        )
    note = f"{len(params)} params; average over {len(tasks)} tasks ({shown})"
    (points, pbx), (res_points, res_pbx) = lines, results
    if statuses == {"equal"} and res_points is not None:
        same = all(
            math.isclose(a[1], b[1], rel_tol=RTOL)
            and math.isclose(a[2], b[2], rel_tol=RTOL)
            for a, b in zip(points, res_points, strict=True)
        ) and all(
            math.isclose(pbx[x][k], res_pbx[x][k], rel_tol=RTOL, abs_tol=1e-12)
            for x in pbx
            for k in ("discrete", "interpolated")
        )
        if same:
            return "equal", note + "; equals the results files' PBx"
        return "mismatch", note + "; differs from the results files' PBx"
    if "mismatch" in statuses:
        return "not compared", note + "; a file differs from its results file"
    if "excerpt" in statuses:
        return "excerpt", note + "; some files are excerpts: not compared"
    return "no results files", note + "; a run has no results file: not compared"


def _score(tally: _Tally) -> float:
    return 100.0 * tally.score / tally.lines


def _average(values: Iterable[float]) -> float:
    values = list(values)
    return math.fsum(values) / len(values) if values else math.nan


def _results_points(run_files, params, tasks) -> tuple | None:
    """Per param, the results files' average (speed, score) on `tasks` (all: None)."""
    points = []
    for p in params:
        files = run_files[p]
        if not files or any(r is None for r in files):
            return None
        names = tasks if tasks is not None else tuple(files[0].tasks)
        if not names or any(set(names) - set(r.tasks) for r in files):
            return None
        if tasks is None and any(set(r.tasks) != set(names) for r in files):
            return None
        speed = _average(
            _average(r.tasks[t]["tokens_per_step"] for t in names) for r in files
        )
        score = _average(_average(r.tasks[t]["score"] for t in names) for r in files)
        if not (math.isfinite(speed) and math.isfinite(score)):
            return None
        points.append((p, speed, score))
    return tuple(points)


# --- figure ---------------------------------------------------------------------------


def figure_data(
    report: RunsReport, *, ideal: Mapping[str, Sequence[Mapping]] | None = None
) -> dict[str, Any]:
    """The input of `trilemma.plotting.fig_parallelbench` from a report.

    One panel per task (Waiting Line first, then puzzles), one curve per (model,
    method) through its params: the pooled rows' accuracy (every n, every run) with
    its Clopper–Pearson interval against the mean tokens per step.

    Args:
      report: `read_runs`'s report.
      ideal: the ideal model's curves per task (`short_task` name), as
        `fig_parallelbench` takes them; None: none.
    """
    rows = sorted(
        report.pooled,
        key=lambda r: (task_family(r.trilemma_task) != "waiting line", _task_order(r)),
    )
    panels: dict[str, dict[str, Any]] = {}
    for r in rows:
        panel = panels.setdefault(
            r.task,
            {
                "task": r.task,
                "title": task_title(r.task),
                "family": task_family(r.trilemma_task),
                "curves": {},
            },
        )
        curve = panel["curves"].setdefault(
            (r.model, r.method),
            {
                "model": r.model,
                "method": r.method,
                "label": f"{model_label(r.model)}, {method_label(r.method)}",
                "params": [],
                "x": [],
                "accuracy": [],
                "ci_low": [],
                "ci_high": [],
                "docs": [],
            },
        )
        curve["params"].append(r.param)
        curve["x"].append(r.mean_tokens_per_step)
        curve["accuracy"].append(r.accuracy.estimate)
        curve["ci_low"].append(r.accuracy.ci_low)
        curve["ci_high"].append(r.accuracy.ci_high)
        curve["docs"].append(r.docs)
    out_panels = [{**p, "curves": list(p["curves"].values())} for p in panels.values()]
    docs = sorted({r.docs for r in rows})
    shown = f"{docs[0]}" if len(docs) == 1 else f"{docs[0]}–{docs[-1]}"
    caption = (
        "ParallelBench's logged runs, graded by trilemma (its verdicts equal the "
        "logged scores); each point is one param of a (model, method), all n and "
        f"runs pooled ({shown} docs per point), with its exact Clopper–Pearson 95% "
        "interval. Tokens per step = max_tokens / NFE per doc (the 32- or 64-token "
        "canvas), averaged: ParallelBench's speed."
    )
    if ideal:
        caption += (
            " Grey: the ideal model (exact conditional marginals) under each "
            "method present (open marker = method; top-k over k = 1..L items, "
            "the adaptive methods over ParallelBench's grid; greedy, uniform ties), "
            "one dash per n, at max_tokens / E[NFE]: its steps as if over the same "
            "canvas (trilemma.parallelbench.ideal). Not drawn: Sudoku (accuracy 1 "
            "at every speed) and Latin-square rules too large to enumerate."
        )
    return {
        "panels": out_panels,
        "models": sorted({r.model for r in rows}),
        "x_label": "tokens per step",
        "y_label": "accuracy",
        "caption": caption,
        "ideal": None if ideal is None else {k: list(v) for k, v in ideal.items()},
        "ideal_label": "ideal model (exact)",
    }


def ideal_curves(
    report: RunsReport, *, greedy: bool = True
) -> dict[str, list[dict[str, Any]]]:
    r"""The ideal model's exact curves beside the runs, for `figure_data(ideal=...)`.

    For every task the runs have, every n its docs have and every method run on it,
    `trilemma.parallelbench.ideal.ideal_curve(task, n, method)`: the ideal model
    (the task's exact conditional marginals) decoded by the same rule, top-k over
    $k_{\text{items}} = 1..L$ and the other methods over ParallelBench's grid,
    greedy with uniform ties as ParallelBench's runs are (`greedy=False`:
    temperature 1). Its speed is `IdealPoint.tokens_per_step` = max_tokens /
    E[NFE]: ParallelBench's axis, the ideal model's steps as if they ran over the
    run's 32- or 64-token canvas (the unit mapping of `trilemma.parallelbench.ideal`;
    items per step = that times L / max_tokens).

    Left out: points the enumeration refuses (the Latin square under tied rules
    and under KLASS, SlowFast and WINO, whose chains pass `MAX_CHAIN_STATES`), and
    Sudoku, whose logged n is the grid size while the ideal model's n is the blanks
    (with C(Y|X) = 0 its accuracy is 1 at every speed).

    Returns:
      Per task (`short_task` name): mappings with `"n"`, `"method"`, `"params"`,
      `"x"` (tokens per step), `"items_per_step"`, `"expected_nfe"` and
      `"accuracy"`, in task, n, method order.
    """
    out: dict[str, list[dict[str, Any]]] = {}
    wanted = sorted(
        {
            (r.task, r.trilemma_task, r.n, r.method)
            for r in report.settings
            if isinstance(r.n, int)
        },
        key=lambda k: (k[0], k[2], k[3]),
    )
    for task, trilemma_task, n, method in wanted:
        spec = METHODS.get(method)
        if trilemma_task == "sudoku" or spec is None:
            continue
        points = [
            p
            for p in ideal_curve(trilemma_task, n, method, greedy=greedy)
            if p.accuracy is not None
        ]
        if not points:
            continue
        out.setdefault(task, []).append(
            {
                "n": n,
                "method": method,
                "params": [p.param for p in points],
                "x": [p.tokens_per_step for p in points],
                "items_per_step": [p.items_per_step for p in points],
                "expected_nfe": [p.expected_nfe for p in points],
                "accuracy": [p.accuracy for p in points],
            }
        )
    return out


def _task_order(row: SettingRow) -> tuple:
    names = list(TEXT_FACTS)
    task = row.trilemma_task
    return (names.index(task) if task in names else len(names), row.task)


_TASK_TITLES = {
    "latin_square_n4": "Latin square 4×4",
    "sudoku_n4": "Sudoku 4×4",
}

_METHOD_LABELS = {
    "confidence_topk": "confidence top-k",
    "random": "random top-k",
    "topk_margin": "margin top-k",
    "entropy_topk": "entropy top-k",
    "left_to_right": "left-to-right",
    "confidence_threshold": "threshold",
    "confidence_factor": "factor",
    "klass": "KLASS",
    "dus": "DUS",
    "slowfast": "SlowFast",
    "wino_dllm": "WINO",
}


def task_title(task: str) -> str:
    """A short task name for a panel: `waiting_line_insert_random` -> `insert random`.

    >>> task_title("waiting_line_insert_random"), task_title("puzzles_sudoku_n4")
    ('insert random', 'Sudoku 4×4')
    """
    for prefix in ("waiting_line_", "puzzles_", "puzzle_"):
        if task.startswith(prefix):
            task = task[len(prefix) :]
            break
    return _TASK_TITLES.get(task, task.replace("_", " "))


def model_label(model: str) -> str:
    """The model without its organisation: `GSAI-ML__LLaDA-1.5` -> `LLaDA-1.5`."""
    return model.rsplit("__", 1)[-1]


def method_label(method: str) -> str:
    """ParallelBench's method as its paper names it (`random` -> `random top-k`)."""
    return _METHOD_LABELS.get(method, method or "?")


# --- JSON -----------------------------------------------------------------------------


def _plain(value):
    """NamedTuples as dicts, Estimates as dicts, NaN and infinities as None."""
    if isinstance(value, Estimate):
        return value.as_dict()
    if isinstance(value, RunSettings):
        out = {k: _plain(v) for k, v in value._asdict().items()}
        out["params"] = {k: _plain(v) for k, v in value.params}
        return out
    if isinstance(value, tuple) and hasattr(value, "_asdict"):
        return {k: _plain(v) for k, v in value._asdict().items()}
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, Path):
        return str(value)
    return value
