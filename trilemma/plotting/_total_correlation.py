"""C(Y|X) in bits against the list length: exact points over closed forms."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from ._style import PALETTE, TASK_COLOURS, panel_row, style


def fig_total_correlation(
    data: Mapping[str, Any], *, axes: Sequence[Axes] | None = None
) -> Figure:
    r"""$C(Y|X)$ in bits against list length $n$: exact points over closed-form curves.

    One panel per task (their scales differ: Replace Random saturates at
    $\log_2 e$, Shuffle grows without bound).

    Args:
      data: mapping with key `"panels"`, a sequence of mappings with keys `"task"`
        (registry name, picks the colour), `"label"` (panel title), `"n"` and
        `"exact_bits"` (enumerated points), `"n_curve"` and `"closed_bits"` (the
        closed form on a grid), `"closed_label"` (legend text) and optionally
        `"asymptote_bits"` with `"asymptote_label"` (a horizontal line),
        `"xlim"`, `"ylim"` (default: y from 0) and `"legend_loc"` (default "best").
      axes: optional sequence of axes, one per panel.

    Returns:
      The `Figure` holding the axes.
    """
    panels = list(data["panels"])
    with style():
        fig, axs = panel_row(axes, len(panels), (4.3, 3.5))
        for ax, panel in zip(axs, panels, strict=True):
            colour = TASK_COLOURS.get(panel["task"], PALETTE["purple"])
            ax.plot(
                panel["n_curve"],
                panel["closed_bits"],
                color=colour,
                lw=1.4,
                label=panel["closed_label"],
                zorder=2,
            )
            ax.plot(
                panel["n"],
                panel["exact_bits"],
                "o",
                color=colour,
                mfc="white",
                mew=1.4,
                ms=6,
                label="exact, by enumeration",
                zorder=3,
            )
            if panel.get("asymptote_bits") is not None:
                ax.axhline(
                    panel["asymptote_bits"],
                    color=PALETTE["black"],
                    lw=0.9,
                    ls="--",
                    label=panel.get("asymptote_label", "asymptote"),
                    zorder=1,
                )
            ax.set_xlabel("n (list length = output tokens)")
            ax.set_ylabel("C(Y|X) [bits]")
            ax.set_title(panel["label"])
            ax.set_xlim(panel.get("xlim", (None, None)))
            ax.set_ylim(panel.get("ylim", (0, None)))
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
            ax.legend(loc=panel.get("legend_loc", "best"))
    return fig
