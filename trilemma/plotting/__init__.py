r"""Figures for trilemma: `fig_*` functions that only draw, and one `style()`.

Each `fig_<name>(data, *, axes=None)` takes plain data computed elsewhere (the
scripts in `experiments/` compute it exactly with the library) and returns a
matplotlib `Figure`. Nothing here computes a metric, changes global `rcParams` or
picks a backend: drawing happens inside `style()`, an `rc_context`, and figures are
built with `matplotlib.figure.Figure` rather than `pyplot`, so no global figure
registry is touched. Information quantities arrive and are drawn in **bits**;
probability masses (TV, precision, recall) are unitless.

One private module per figure family, and `_style.py` for what they share: the
Okabe–Ito `PALETTE` (one meaning per colour: vermillion is fluency, bluish green
diversity, blue the model, grey the target), `style()`, the styles keyed by sampler
name (a sampler they do not list gets a default style, so a new sampler in
`trilemma.samplers.SAMPLERS` draws without an edit here) and the panel and legend
helpers.
"""

from ._decoding_accuracy import fig_decoding_accuracy as fig_decoding_accuracy
from ._estimates import fig_diversity_speed as fig_diversity_speed
from ._estimates import fig_estimated_points as fig_estimated_points
from ._fluency_diversity import fig_fluency_diversity as fig_fluency_diversity
from ._model_decoding import fig_model_decoding as fig_model_decoding
from ._model_sampling import fig_model_sampling as fig_model_sampling
from ._optimal_schedule import fig_optimal_schedule as fig_optimal_schedule
from ._parallelbench import fig_parallelbench as fig_parallelbench
from ._pbx import fig_pbx as fig_pbx
from ._product_of_experts import fig_product_of_experts as fig_product_of_experts
from ._style import PALETTE as PALETTE
from ._style import style as style
from ._total_correlation import fig_total_correlation as fig_total_correlation
from ._trilemma_frontier import fig_trilemma_frontier as fig_trilemma_frontier
from ._validation import fig_estimator_validation as fig_estimator_validation

__all__ = [
    "PALETTE",
    "fig_fluency_diversity",
    "fig_decoding_accuracy",
    "fig_diversity_speed",
    "fig_estimated_points",
    "fig_estimator_validation",
    "fig_model_decoding",
    "fig_model_sampling",
    "fig_optimal_schedule",
    "fig_parallelbench",
    "fig_pbx",
    "fig_product_of_experts",
    "fig_total_correlation",
    "fig_trilemma_frontier",
    "style",
]
