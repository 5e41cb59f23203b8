"""Estimators of trilemma quantities from samples.

`histogram` groups a sample set into its (prompt, output) cells; `Estimate` is an
estimate with its interval; `clopper_pearson` the exact interval of a proportion
(precision, accuracy).
"""

from ._counts import Histogram as Histogram
from ._counts import histogram as histogram
from ._intervals import Estimate as Estimate
from ._intervals import clopper_pearson as clopper_pearson
