"""Estimators of trilemma quantities from samples (nats; every one per prompt).

* `histogram`: a sample set's (prompt, output) cells and their counts;
* `entropy_estimates`: plug-in, Miller–Madow, jackknife, Grassberger, Chao–Shen and
  NSB entropies of many groups in one jitted call (`ENTROPY_ESTIMATORS`);
* `estimate_point`: a sampler's trilemma point (precision, recall, entropy and its
  drop, TV, KL, F_8 / F_1/8, speed) against an exact reference (`exact_reference`)
  or a reference sample (`sample_reference`), each an `Estimate` with a bootstrap
  interval;
* `total_correlation_estimate` and `t_step_bound_estimate`: $C(Y|X)$ and a schedule's
  $L_T$, plug-in or bias-corrected (`INFORMATION_ESTIMATORS`), each an `Estimate`
  with a bootstrap interval;
* `clopper_pearson`, `resample_counts` and `basic_interval`: the intervals;
  `samples_for_width`: the samples an interval of a given width needs;
* `coverage_study`: bias and interval coverage against an exact law, by sample size.
"""

from ._bootstrap import basic_interval as basic_interval
from ._bootstrap import resample_counts as resample_counts
from ._counts import Histogram as Histogram
from ._counts import histogram as histogram
from ._entropy import DEFAULT_ENTROPY_ESTIMATOR as DEFAULT_ENTROPY_ESTIMATOR
from ._entropy import ENTROPY_ESTIMATORS as ENTROPY_ESTIMATORS
from ._entropy import entropy_estimates as entropy_estimates
from ._information import INFORMATION_ESTIMATORS as INFORMATION_ESTIMATORS
from ._information import t_step_bound_estimate as t_step_bound_estimate
from ._information import total_correlation_estimate as total_correlation_estimate
from ._intervals import Estimate as Estimate
from ._intervals import clopper_pearson as clopper_pearson
from ._intervals import samples_for_width as samples_for_width
from ._point import EstimatedPoint as EstimatedPoint
from ._point import Reference as Reference
from ._point import estimate_point as estimate_point
from ._point import exact_reference as exact_reference
from ._point import sample_reference as sample_reference
from ._validation import coverage_study as coverage_study
