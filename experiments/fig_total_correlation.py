r"""Figure: C(Y|X) in bits against n, exact enumeration over the closed forms.

Exact points enumerate each task's joint of prompt X and output Y (one prompt; every
quantity is invariant under relabelling items) and compute
C(Y|X) = sum_i H(y_i|X) - H(Y|X) with `trilemma.total_correlation`. The curves are
ParallelBench's closed forms (REFERENCE 2.3):

* Replace Random, Eq. (3): (n-1)[log2 n - log2(n-1)], increasing to log2 e;
* Shuffle, Eq. (4): n log2 n - log2 n!, drawn for real n with log Gamma(n+1);
  it grows like n log2 e - (1/2) log2(2 pi n) (Stirling) without bound.

Shuffle at n = 10 enumerates 10! = 3,628,800 outcomes (about 10 s on 2 cores).

  python experiments/fig_total_correlation.py [--outdir figures]
"""

from __future__ import annotations

import math
import sys
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np
from scipy.special import gammaln

from experiments import _common

STEM = "total_correlation"
EXACT_N = {"replace_random": range(2, 13), "shuffle": range(2, 11)}
CURVE_MAX_N = {"replace_random": 30, "shuffle": 14}
LOG2E = 1.0 / math.log(2.0)


def replace_random_bits(n):
    """Eq. (3): (n-1)(log2 n - log2(n-1)) bits, for real n > 1."""
    n = np.asarray(n, dtype=float)
    return (n - 1) * (np.log2(n) - np.log2(n - 1))


def shuffle_bits(n):
    """Eq. (4): n log2 n - log2 n! bits, for real n >= 1 via log Gamma."""
    n = np.asarray(n, dtype=float)
    return n * np.log2(n) - gammaln(n + 1) * LOG2E


CLOSED_FORMS = {"replace_random": replace_random_bits, "shuffle": shuffle_bits}


def compute(progress=None) -> dict:
    """All data for `trilemma.plotting.fig_total_correlation`.

    Args:
      progress: optional callable `(message) -> None`, called before each size.
    """
    _common.enable_x64()
    panels = []
    layout = {
        "replace_random": {
            "label": r"Replace Random: saturates at $\log_2 e$",
            "closed_label": "closed form, Eq. (3)",
            "ylim": (0.9, 1.5),
            "legend_loc": "lower right",
        },
        "shuffle": {
            "label": r"Shuffle: grows like $n\log_2 e$, without bound",
            "closed_label": r"closed form, Eq. (4) ($n!$ as $\Gamma(n+1)$)",
            "ylim": (0, None),
            "legend_loc": "upper left",
        },
    }
    for name, extra in layout.items():
        ns = list(EXACT_N[name])
        exact = []
        for n in ns:
            if progress is not None:
                progress(f"{name} n={n}")
            exact.append(_common.exact_total_correlation_bits(name, n))
        # Closed forms drawn for real n from the first enumerated size on.
        n_curve = np.linspace(ns[0], CURVE_MAX_N[name], 400)
        panel = {
            "task": name,
            "n": ns,
            "exact_bits": exact,
            "closed_at_n": [float(CLOSED_FORMS[name](n)) for n in ns],
            "n_curve": n_curve,
            "closed_bits": CLOSED_FORMS[name](n_curve),
            "xlim": (1, CURVE_MAX_N[name] + 0.5),
        } | extra
        if name == "replace_random":
            panel["asymptote_bits"] = LOG2E
            panel["asymptote_label"] = r"$n\to\infty$: $\log_2 e \approx 1.443$"
        panels.append(panel)
    for panel in panels:
        err = np.max(np.abs(np.subtract(panel["exact_bits"], panel["closed_at_n"])))
        if err > 1e-8:
            raise RuntimeError(f"{panel['task']}: exact vs closed form differ by {err}")
    return {"panels": panels}


def run(outdir: Path = _common.FIGURES, progress=None) -> list[Path]:
    """Compute, draw and save the figure (PNG and PDF); returns the written paths."""
    from trilemma.plotting import fig_total_correlation

    fig = fig_total_correlation(compute(progress))
    return _common.save_figure(fig, STEM, outdir)


def main(argv: list[str] | None = None) -> int:
    return _common.script_main(run, __doc__, argv)


if __name__ == "__main__":
    raise SystemExit(main())
