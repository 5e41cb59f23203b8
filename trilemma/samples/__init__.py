r"""Sample files: trilemma's own, hand-written, and the field's, read into one record.

A package: the schema trilemma writes (`_schema`), one reader per input format
(`_trilemma`: full-schema and hand-written lines; `_lm_eval`: lm-evaluation-harness
`--log_samples` files, ParallelBench's included), and `read`, which gives the one
`Samples` record of columns (`_read`).

The trilemma sample file is one JSON object per line.

Schema `trilemma.samples/1` (README, "Sample files"). Every line holds, in this order:

* `schema` (str): `"trilemma.samples/1"`;
* `task`, `n` (str, int; null for a model without a task): the task and its size;
* `model` (str): the dLLM (`oracle`, `default`, a model folder's name, a host name);
* `sampler`, `params` (str, object): the registered sampler and its parameters;
* `seed` (int): the run's seed;
* `prompt_id` (int): the prompt's index in the run, from 0;
* `sample_index` (int): the sample's index among its prompt's samples, from 0;
* `prompt_tokens` ([int]): the prompt as its task states it (the row its grader
  reads); without a task, the model's prefix tokens;
* `prompt_text` (str): the model's prefix as text;
* `output_tokens` ([int]): the $L$ decoded output tokens;
* `output_text` (str): the output as text;
* `output_kind` (str): `"tokens"` when the output tokens are the task's values (or,
  without a task, the model's own outcomes), graded and counted as tokens; `"text"`
  when they are a tokenizer's (a PyTorch dLLM answering the task in words): the
  answer is then `output_text`, graded as ParallelBench grades text, and the tokens
  only give its length;
* `nfe` (int): the dLLM's forward passes for this sample;
* `ar_nfe` (int): the AR verifier's passes (APD; 0 otherwise).

No timestamps or host names: a file is a pure function of its command, so two runs,
or the shards of one run concatenated, compare byte for byte. Sample $j$ of prompt $i$
is drawn with the key `fold_in(fold_in(key(seed), i), j)` (`trilemma.sampling`).
"""

from ._read import FORMATS as FORMATS
from ._read import NORMALIZATIONS as NORMALIZATIONS
from ._read import PromptNumbers as PromptNumbers
from ._read import Samples as Samples
from ._read import check_distinct as check_distinct
from ._read import normalize_text as normalize_text
from ._read import read as read
from ._schema import FIELDS as FIELDS
from ._schema import OUTPUT_KINDS as OUTPUT_KINDS
from ._schema import RUN_FIELDS as RUN_FIELDS
from ._schema import SCHEMA as SCHEMA
from ._schema import SCHEMAS as SCHEMAS
from ._schema import check_destination as check_destination
from ._schema import record as record
from ._schema import writer as writer
