"""trilemma: exact and sampled measurements of the parallel decoding trilemma.

Diffusion language models decode several tokens per forward pass (speed) and pay in
fluency (invalid outputs) or diversity (valid outputs never produced). trilemma
computes these quantities exactly on enumerable distributions and tasks. Everything
is computed in nats; `to_bits` converts for people.
"""

from ._checks import check_pmf as check_pmf
from ._units import in_bits as in_bits
from ._units import to_bits as to_bits
from .distributions import SparseJoint as SparseJoint
from .distributions import empirical as empirical
from .distributions import from_dense as from_dense
from .distributions import marginal as marginal
from .distributions import sparse_joint as sparse_joint
from .distributions import to_dense as to_dense
from .experts import autoregressive_model as autoregressive_model
from .experts import product_of_experts as product_of_experts
from .layout import TokenLayout as TokenLayout
from .layout import task_layout as task_layout
from .metrics import OptimalSchedule as OptimalSchedule
from .metrics import PRDCurve as PRDCurve
from .metrics import conditional_entropy as conditional_entropy
from .metrics import diversity_error as diversity_error
from .metrics import entropy as entropy
from .metrics import f_beta as f_beta
from .metrics import fast_dllm_epsilon as fast_dllm_epsilon
from .metrics import fast_dllm_kl_bound as fast_dllm_kl_bound
from .metrics import fast_dllm_tv_bound as fast_dllm_tv_bound
from .metrics import fluency_error as fluency_error
from .metrics import greedy_equivalence_condition as greedy_equivalence_condition
from .metrics import kl_divergence as kl_divergence
from .metrics import marginal_confidences as marginal_confidences
from .metrics import max_f_beta_pair as max_f_beta_pair
from .metrics import mutual_information as mutual_information
from .metrics import optimal_t_step_bound as optimal_t_step_bound
from .metrics import pbx_discrete as pbx_discrete
from .metrics import pbx_interpolated as pbx_interpolated
from .metrics import prd_curve as prd_curve
from .metrics import prd_curve_grid as prd_curve_grid
from .metrics import precision as precision
from .metrics import product_of_marginals as product_of_marginals
from .metrics import recall as recall
from .metrics import sharper_tv_bound as sharper_tv_bound
from .metrics import subset_entropy_table as subset_entropy_table
from .metrics import t_step_bound as t_step_bound
from .metrics import t_step_product as t_step_product
from .metrics import total_correlation as total_correlation
from .metrics import total_variation_distance as total_variation_distance
from .models import Model as Model
from .oracle import oracle_ar_model as oracle_ar_model
from .oracle import oracle_logits as oracle_logits
from .oracle import oracle_marginals as oracle_marginals
from .oracle import oracle_model as oracle_model
from .oracle import oracle_params as oracle_params
from .samplers import SAMPLERS as SAMPLERS
from .samplers import Decoded as Decoded
from .samplers import Sampler as Sampler
from .samplers import decode as decode
from .samplers import decode_batch as decode_batch
from .samplers import make_sampler as make_sampler
from .simulation import ShuffleSimulation as ShuffleSimulation
from .simulation import Simulation as Simulation
from .simulation import TrilemmaPoint as TrilemmaPoint
from .simulation import simulate as simulate
from .simulation import simulate_shuffle as simulate_shuffle
from .simulation import trilemma_point as trilemma_point
from .tasks import TASKS as TASKS
from .tasks import Task as Task
from .tasks import make_task as make_task
from .tasks import waiting_line_tasks as waiting_line_tasks

__version__ = "0.1.0"
