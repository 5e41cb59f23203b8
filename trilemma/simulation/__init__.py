"""Exact simulation of samplers driven by the ideal (oracle) model or any model.

`simulate(task, sampler)` enumerates the decoding trajectories level by level
(`_enumerate`), with the oracle's marginals and valid children read off sorted
indexes of the support (`_support`) and the invalid mass spread on the dense output
space for the entropy of the whole law (`_spread`). `simulate(task, sampler,
model=model)` runs the same level driver with any `Model`'s marginals, each level's
states evaluated by one batched forward call per chunk (`_model`). `_result` holds
the `Simulation` and the trilemma point, which `trilemma_point` builds from any
aligned pair $(q, p^*)$.
`simulate_shuffle` gets Shuffle's numbers by symmetry (`_symmetric`), and
`_closed_forms` has the closed forms of top-k and threshold accuracy on Shuffle and
Replace Random, with the papers' compact statements beside them.
"""

from ._closed_forms import (
    paper_replace_random_threshold as paper_replace_random_threshold,
)
from ._closed_forms import paper_replace_random_topk as paper_replace_random_topk
from ._closed_forms import paper_shuffle_threshold as paper_shuffle_threshold
from ._closed_forms import paper_shuffle_topk as paper_shuffle_topk
from ._closed_forms import (
    replace_random_threshold_accuracy as replace_random_threshold_accuracy,
)
from ._closed_forms import replace_random_topk_accuracy as replace_random_topk_accuracy
from ._closed_forms import shuffle_threshold_accuracy as shuffle_threshold_accuracy
from ._closed_forms import shuffle_topk_accuracy as shuffle_topk_accuracy
from ._enumerate import DEFAULT_ENTROPY_CELLS as DEFAULT_ENTROPY_CELLS
from ._enumerate import DEFAULT_MAX_BRANCHES as DEFAULT_MAX_BRANCHES
from ._enumerate import DEFAULT_MAX_STATES as DEFAULT_MAX_STATES
from ._result import Simulation as Simulation
from ._result import TrilemmaPoint as TrilemmaPoint
from ._result import trilemma_point as trilemma_point
from ._simulate import simulate as simulate
from ._symmetric import ShuffleSimulation as ShuffleSimulation
from ._symmetric import simulate_shuffle as simulate_shuffle
