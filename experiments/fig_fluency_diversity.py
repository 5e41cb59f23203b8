"""Figure: the blog's fluency/diversity scenarios, redone with exact metrics.

The blog "The Parallel Decoding Trilemma" splits TV(p, p*) into a fluency error
L_flu = sum over {p > p*} of (p - p*) and a diversity error L_div = sum over
{p* > p} of (p* - p). For normalised pmfs the two are always equal (both are TV,
REFERENCE 1.2), so the split cannot tell the scenarios apart. The support-based
errors 1 - precision = p(outside supp p*) and 1 - recall = p*(outside supp p), the
end points of the exact PRD curve (REFERENCE 1.3-1.5), can.

Target p*: two truncated Gaussian bumps of equal weight on the grid 0..99, with zero
mass elsewhere. Models: (a) both bumps shifted 5 cells toward each other (a little of
each failure), (b) only the left bump (mode collapse), (c) one broad Gaussian over
the whole grid (mode averaging: mass between the modes).

  python experiments/fig_fluency_diversity.py [--outdir figures]
"""

from __future__ import annotations

import sys
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np

from experiments import _common

STEM = "fluency_diversity"
GRID = np.arange(100)
MODES = (27, 72)  # centres of the two bumps of p*
HALF_WIDTH = 14  # each bump is supported on centre +- 14 cells
SIGMA = 10.0


def bump(centre: float, *, half_width: int = HALF_WIDTH, sigma: float = SIGMA):
    """A Gaussian bump on `GRID`, truncated to `centre +- half_width`, normalised."""
    w = np.exp(-0.5 * ((GRID - centre) / sigma) ** 2)
    w[np.abs(GRID - centre) > half_width] = 0.0
    return w / w.sum()


def scenarios() -> tuple[np.ndarray, list[tuple[str, np.ndarray]]]:
    """The target p* and the three (title, model p) scenarios."""
    p_star = 0.5 * bump(MODES[0]) + 0.5 * bump(MODES[1])
    shift = 5
    balanced = 0.5 * bump(MODES[0] + shift) + 0.5 * bump(MODES[1] - shift)
    one_mode = bump(MODES[0])
    broad = np.exp(-0.5 * ((GRID - np.mean(MODES)) / 20.0) ** 2)
    broad /= broad.sum()
    return p_star, [
        ("(a) balanced error: modes shifted inward", balanced),
        ("(b) diversity error: one mode missed", one_mode),
        ("(c) fluency error: mass between the modes", broad),
    ]


def prd_points(p, p_star) -> dict:
    """The exact PRD frontier, densely sampled, with its F_8 and F_1/8 maximisers.

    `T.prd_curve(p, p_star)` gives the breakpoints and both end points exactly; the
    frontier is not straight between breakpoints in (recall, precision), so it is
    also evaluated on a dense geometric grid of slopes spanning the breakpoints.
    """
    import trilemma as T

    exact = T.prd_curve(p, p_star)
    lam = np.asarray(exact.lambdas)
    finite = lam[np.isfinite(lam) & (lam > 0)]
    dense_lam = np.geomspace(finite.min() / 100, finite.max() * 100, 4001)
    dense = T.prd_curve(p, p_star, lambdas=dense_lam)
    lambdas, precision, recall = (
        np.concatenate([np.asarray(a), np.asarray(b)])
        for a, b in zip(exact, dense, strict=True)
    )
    order = np.argsort(lambdas, kind="stable")
    lambdas, precision, recall = lambdas[order], precision[order], recall[order]

    max_f8, max_f1_8 = (float(v) for v in T.max_f_beta_pair(exact, beta=8.0))
    out = {
        "prd_lambdas": lambdas,
        "prd_precision": precision,
        "prd_recall": recall,
        "max_f8": max_f8,
        "max_f1_8": max_f1_8,
    }
    for key, beta, best in (("max_f8", 8.0, max_f8), ("max_f1_8", 1 / 8, max_f1_8)):
        f = np.asarray(T.f_beta(precision, recall, beta))
        i = int(np.argmax(f))
        # The exact maximum sits at a breakpoint, which the merged points include.
        if not np.isclose(f[i], best, rtol=0, atol=1e-9):
            raise RuntimeError(f"{key}: dense maximum {f[i]} != exact {best}")
        out[f"{key}_point"] = (float(recall[i]), float(precision[i]))
    return out


def compute() -> dict:
    """All data for `trilemma.plotting.fig_fluency_diversity`."""
    import trilemma as T

    _common.enable_x64()
    p_star, models = scenarios()
    rows = []
    for title, p in models:
        errors = {
            "tv": float(T.total_variation_distance(p, p_star)),
            "l_flu": float(T.fluency_error(p, p_star)),
            "l_div": float(T.diversity_error(p, p_star)),
            "one_minus_precision": 1.0 - float(T.precision(p, p_star)),
            "one_minus_recall": 1.0 - float(T.recall(p, p_star)),
        }
        if not np.isclose(errors["l_flu"], errors["l_div"], atol=1e-12):
            raise RuntimeError(f"L_flu != L_div in {title!r}: {errors}")
        rows.append(
            {"title": title, "x": GRID, "p_star": p_star, "p": p, "errors": errors}
            | prd_points(p, p_star)
        )
    return {"scenarios": rows}


def run(outdir: Path = _common.FIGURES) -> list[Path]:
    """Compute, draw and save the figure (PNG and PDF); returns the written paths."""
    from trilemma.plotting import fig_fluency_diversity

    data = compute()
    fig = fig_fluency_diversity(data)
    return _common.save_figure(fig, STEM, outdir)


def main(argv: list[str] | None = None) -> int:
    return _common.script_main(run, __doc__, argv)


if __name__ == "__main__":
    raise SystemExit(main())
