"""`python -m trilemma.cli`: the same as the `trilemma` console script."""

import sys

from . import main

sys.exit(main())
