"""The optimal T-step bound L*_T in bits against T, with its step sizes."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from ._style import PALETTE, TASK_COLOURS, fixed, panel_row, style


def fig_optimal_schedule(
    data: Mapping[str, Any], *, axes: Sequence[Axes] | None = None
) -> Figure:
    r"""Optimal $L^*_T$ in bits against the number of decoding steps $T$.

    A table in each panel lists, for each $T$, $L^*_T$ and the step sizes of the
    optimal schedule found, in decoding order. An optional baseline, e.g. equal
    contiguous blocks, is drawn dashed.

    Args:
      data: mapping with keys `"n"` (output length) and `"panels"`, a sequence of
        mappings with keys `"task"`, `"label"`, `"num_steps"` (the $T$ values),
        `"optimal_bits"`, `"step_sizes"` (one sequence of ints per $T$) and
        optionally `"baseline_bits"` with `"baseline_label"`.
      axes: optional sequence of axes, one per panel.

    Returns:
      The `Figure` holding the axes.
    """
    panels = list(data["panels"])
    with style():
        fig, axs = panel_row(axes, len(panels), (5.0, 3.8))
        for ax, panel in zip(axs, panels, strict=True):
            _draw_schedule_panel(ax, panel, int(data["n"]))
    return fig


def _draw_schedule_panel(ax: Axes, panel: Mapping[str, Any], n: int) -> None:
    colour = TASK_COLOURS.get(panel["task"], PALETTE["purple"])
    steps = np.asarray(panel["num_steps"], dtype=int)
    best = np.asarray(panel["optimal_bits"], dtype=float)
    if panel.get("baseline_bits") is not None:
        ax.plot(
            steps,
            panel["baseline_bits"],
            "s--",
            color=PALETTE["grey"],
            mfc="white",
            ms=5,
            lw=1.1,
            label=panel.get("baseline_label", "baseline"),
            zorder=2,
        )
    ax.plot(steps, best, "o-", color=colour, ms=6, label=r"optimal $L^*_T$", zorder=3)
    top = float(np.max(best)) if np.max(best) > 0 else 1.0
    rows = [
        f"{int(t):>2}  {fixed(v, 3):>11}  " + "+".join(str(int(k)) for k in sizes)
        for t, v, sizes in zip(steps, best, panel["step_sizes"], strict=True)
    ]
    ax.text(
        0.97,
        0.80,
        "\n".join([" T  L*_T [bits]  tokens per step", *rows]),
        transform=ax.transAxes,
        ha="right",
        va="top",
        multialignment="left",
        family="monospace",
        fontsize=8.5,
        color=colour,
        linespacing=1.35,
        bbox={"facecolor": "white", "edgecolor": "none", "alpha": 0.9, "pad": 2},
    )
    ax.set_xticks(steps)
    ax.set_xlim(steps.min() - 0.3, steps.max() + 0.3)
    ax.set_ylim(-0.04 * top, 1.2 * top)
    ax.set_xlabel(f"T (decoding steps; n = {n} output tokens)")
    ax.set_ylabel(r"$L^*_T$ [bits]")
    ax.set_title(panel["label"])
    ax.legend(loc="upper right")
