"""The estimators' bias and interval coverage against sample size."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from ._style import PALETTE, legend_and_caption, panel_grid, style

ESTIMATOR_COLOURS = {
    "plugin": PALETTE["grey"],
    "miller_madow": PALETTE["sky_blue"],
    "jackknife": PALETTE["purple"],
    "grassberger": PALETTE["blue"],
    "chao_shen": PALETTE["orange"],
    "nsb": PALETTE["green"],
}
QUANTITY_STYLES = {
    "precision": (PALETTE["vermillion"], "o", "precision"),
    "recall": (PALETTE["green"], "s", "recall"),
    "valid_entropy": (PALETTE["blue"], "D", "valid entropy"),
    "tv": (PALETTE["black"], "^", "TV"),
    "kl_reference_to_sampler": (PALETTE["purple"], "v", "KL(p*||q)"),
    "f8": (PALETTE["orange"], "P", "F8"),
    "f1_8": (PALETTE["sky_blue"], "X", "F1/8"),
}


def fig_estimator_validation(
    data: Mapping[str, Any], *, axes: Sequence[Axes] | None = None
) -> Figure:
    """Per setting (row): entropy estimators' bias and intervals' coverage vs N.

    Args:
      data: mapping with `"sizes"`, `"repeats"`, `"level"`,
        `"default_entropy_estimator"`, optionally `"caption"`, and `"panels"`, each
        with `"label"`, `"entropy_bias_bits"` (`{estimator: [bias per size]}`) and
        `"coverage"` (`{quantity: [share per size]}`; the quantities of
        `QUANTITY_STYLES` are drawn).
      axes: optional `(len(panels), 2)` grid of axes.

    Returns:
      The `Figure`.
    """
    panels = list(data["panels"])
    sizes = np.asarray(data["sizes"], float)
    level, repeats = float(data["level"]), int(data["repeats"])
    band = 2 * math.sqrt(level * (1 - level) / repeats)
    with style():
        fig, grid = panel_grid(axes, len(panels), 2, (7.2, 3.0 * len(panels) + 0.6))
        handles = {}
        for (left, right), panel in zip(grid, panels, strict=True):
            for name, bias in panel["entropy_bias_bits"].items():
                bold = name == data["default_entropy_estimator"]
                (line,) = left.plot(
                    sizes,
                    bias,
                    marker="o",
                    ms=3.5,
                    lw=2.4 if bold else 1.2,
                    color=ESTIMATOR_COLOURS.get(name, PALETTE["black"]),
                    label=name.replace("_", "-"),
                )
                handles.setdefault(f"entropy:{name}", line)
            left.axhline(0.0, color="#555555", lw=0.8)
            left.set_xscale("log")
            left.set_xlabel("samples per prompt N")
            left.set_ylabel("bias of valid entropy [bits]")
            left.set_title(panel["label"], loc="left", fontweight="bold", fontsize=9.5)
            right.axhspan(level - band, min(1.0, level + band), color="#E5E5E5", lw=0)
            right.axhline(level, color="#777777", lw=0.8)
            for quantity, coverage in panel["coverage"].items():
                if quantity not in QUANTITY_STYLES:  # e.g. the drop: the entropy's
                    continue
                colour, marker, label = QUANTITY_STYLES[quantity]
                (line,) = right.plot(
                    sizes,
                    coverage,
                    marker=marker,
                    ms=4,
                    lw=1.2,
                    color=colour,
                    label=label,
                )
                handles.setdefault(f"coverage:{quantity}", line)
            right.set_xscale("log")
            right.set_ylim(-0.02, 1.02)
            right.set_xlabel("samples per prompt N")
            right.set_ylabel("coverage of 95% intervals")
        entropy = [h for k, h in handles.items() if k.startswith("entropy:")]
        coverage = [h for k, h in handles.items() if k.startswith("coverage:")]
        legend_and_caption(fig, entropy + coverage, 7, data.get("caption"))
    return fig
