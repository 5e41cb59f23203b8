"""ParallelBench's world: its task names, answer text, grading, harness logs and runs.

ParallelBench (furiosa-ai/ParallelBench) asks real dLLMs its tasks as chat prompts,
grades their answer text and publishes its lm-evaluation-harness runs. This package
reads those as they are, one module per concept:

- `_names`: its task names and its harnesses' (`trilemma_task_name`);
- `_answers`: answer text: rendering, lenient and strict parsing, verdicts
  (`grade_text`), and trilemma's token outputs as text (`prompt_items`,
  `answer_items`);
- `_docs`: the `doc`s its harness logs, graded as logged (`grade_doc`);
- `_prompts`: its chat prompts for trilemma's tasks (`prompt_messages`);
- `_logs`: the sample files of a results tree, graded line by line (`grade_log`),
  and the method, parameters and greediness of a logged run (`method_params`,
  `greedy`);
- `_runs`: a results tree's runs: settings, accuracy per (task, n) with intervals,
  speed, each run's means against its results file, PBx (`read_runs`);
- `ideal`: ParallelBench's methods as trilemma samplers, and the ideal model's
  exact accuracy and E[NFE] beside a run (`ideal_point`, `ideal_curve`).

All of them read one table of per-task facts, `trilemma.tasks.TEXT_FACTS`.
"""

from ..tasks._facts import LIST_TASKS as LIST_TASKS
from ..tasks._facts import TEXT_TASKS as TEXT_TASKS
from ._answers import answer_items as answer_items
from ._answers import answer_key as answer_key
from ._answers import grade_text as grade_text
from ._answers import parse_answer as parse_answer
from ._answers import prompt_items as prompt_items
from ._answers import render_answer as render_answer
from ._docs import doc_length as doc_length
from ._docs import doc_symbols as doc_symbols
from ._docs import grade_doc as grade_doc
from ._logs import GENERIC_ARGS as GENERIC_ARGS
from ._logs import LineVerdict as LineVerdict
from ._logs import LogFile as LogFile
from ._logs import doc_hash as doc_hash
from ._logs import find_log_files as find_log_files
from ._logs import grade_log as grade_log
from ._logs import greedy as greedy
from ._logs import log_task_name as log_task_name
from ._logs import method_params as method_params
from ._logs import read_log_lines as read_log_lines
from ._names import LM_EVAL_TASKS as LM_EVAL_TASKS
from ._names import PARALLELBENCH_METRICS as PARALLELBENCH_METRICS
from ._names import PARALLELBENCH_TASKS as PARALLELBENCH_TASKS
from ._names import UNGRADED_TASKS as UNGRADED_TASKS
from ._names import trilemma_task_name as trilemma_task_name
from ._prompts import prompt_messages as prompt_messages
from ._runs import PbxRow as PbxRow
from ._runs import ResultsCheck as ResultsCheck
from ._runs import ResultsFile as ResultsFile
from ._runs import RunRow as RunRow
from ._runs import RunSettings as RunSettings
from ._runs import RunsReport as RunsReport
from ._runs import SettingRow as SettingRow
from ._runs import figure_data as figure_data
from ._runs import ideal_curves as ideal_curves
from ._runs import param_label as param_label
from ._runs import read_results_file as read_results_file
from ._runs import read_runs as read_runs
from ._runs import run_settings as run_settings
from .ideal import METHODS as METHODS
from .ideal import IdealPoint as IdealPoint
from .ideal import ideal_curve as ideal_curve
from .ideal import ideal_point as ideal_point
from .ideal import parse_param as parse_param
from .ideal import sampler_for as sampler_for
