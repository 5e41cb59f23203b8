"""Estimators of trilemma quantities from samples.

`histogram` groups a sample set into its (prompt, output) cells; `Estimate` is an
estimate with its interval; `clopper_pearson` the exact interval of a proportion
(precision, accuracy); `resample_counts` draws bootstrap resamples of a histogram
(each prompt's counts redrawn multinomially) and `basic_interval` turns replicates
into the basic bootstrap interval.
"""

from ._bootstrap import basic_interval as basic_interval
from ._bootstrap import resample_counts as resample_counts
from ._counts import Histogram as Histogram
from ._counts import histogram as histogram
from ._intervals import Estimate as Estimate
from ._intervals import clopper_pearson as clopper_pearson
