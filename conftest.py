"""Root test configuration, for the tests and the doctests in `trilemma/` alike.

Float64, strict dtype promotion and rank promotion that raises, set once for the
whole session whichever paths pytest is given (`pytest`, `pytest tests/...` or
`pytest trilemma`); library modules never touch `jax.config`.
"""

import jax

jax.config.update("jax_enable_x64", True)
jax.config.update("jax_numpy_dtype_promotion", "strict")
jax.config.update("jax_numpy_rank_promotion", "raise")
