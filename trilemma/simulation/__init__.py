"""Exact simulation of samplers driven by the ideal (oracle) model.

`simulate(task, sampler)` enumerates the decoding trajectories level by level
(`_enumerate`), with the oracle's marginals and valid children read off sorted
indexes of the support (`_support`) and the invalid mass spread on the dense output
space for the entropy of the whole law (`_spread`). `_result` holds the `Simulation`
and the trilemma point, which `trilemma_point` builds from any aligned pair $(q, p^*)$.
"""

from ._enumerate import DEFAULT_ENTROPY_CELLS as DEFAULT_ENTROPY_CELLS
from ._enumerate import DEFAULT_MAX_BRANCHES as DEFAULT_MAX_BRANCHES
from ._enumerate import simulate as simulate
from ._result import Simulation as Simulation
from ._result import TrilemmaPoint as TrilemmaPoint
from ._result import trilemma_point as trilemma_point
from ._symmetric import ShuffleSimulation as ShuffleSimulation
from ._symmetric import simulate_shuffle as simulate_shuffle
