"""Speed against fluency and diversity for every sampler family, per task."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from ._style import family_style, legend_and_caption, style, titled_rows

_FRONTIER_COLUMNS = (
    ("precision", r"precision $q(\mathrm{supp}\,p^*)$", "fluency: valid mass"),
    ("recall", r"recall $p^*(\mathrm{supp}\,q)$", "diversity: support covered"),
    (
        "entropy_ratio",
        r"$H(q\,|\,\mathrm{valid})\,/\,H(p^*)$ (bits/bits)",
        "diversity: entropy of the valid outputs",
    ),
)


def fig_trilemma_frontier(
    data: Mapping[str, Any], *, axes: Sequence[Sequence[Axes]] | None = None
) -> Figure:
    r"""Speed against fluency and diversity for sampler families, one row per task.

    Columns: precision $q(\mathrm{supp}\,p^*)$ (fluency), recall
    $p^*(\mathrm{supp}\,q)$ and the valid-output entropy ratio
    $H(q|\text{valid})/H(p^*)$ (diversity), each against tokens per step. One colour
    and marker per family; greedy sweeps are solid lines with filled markers,
    temperature-1 sweeps dashed with open markers. Each line joins a family's
    settings in sweep order.

    Args:
      data: mapping with `"rows"`, a sequence of mappings with `"title"` and
        `"curves"` (mappings with `"family"`, `"temperature"`, `"label"`, `"x"`
        (tokens per step), `"precision"`, `"recall"`, `"entropy_ratio"`; equal-length
        sequences), and optionally `"legend_order"` (labels).
      axes: optional `(num_rows, 3)` grid of axes to draw into.

    Returns:
      The `Figure` holding the axes.
    """
    rows = list(data["rows"])
    with style():
        size = (12.5, 2.9 * len(rows) + 0.8)
        fig, grid = titled_rows(rows, axes, size, hspace=0.02)
        handles: dict[str, Any] = {}
        for i, (row, panels) in enumerate(zip(rows, grid, strict=True)):
            for ax, column in zip(panels, _FRONTIER_COLUMNS, strict=True):
                _draw_frontier_panel(ax, row, column, handles)
                if i == 0 and axes is None:
                    ax.set_title(column[2], fontsize=9.5, color="#444444")
        if axes is None:
            order = list(data.get("legend_order", handles))
            shown = [handles[k] for k in order if k in handles]
            legend_and_caption(fig, shown, 4, data.get("caption"))
    return fig


def _draw_frontier_panel(ax: Axes, row, column, handles: dict[str, Any]) -> None:
    key, label, _ = column
    for curve in row["curves"]:
        st = family_style(curve["family"], curve["temperature"])
        (line,) = ax.plot(
            curve["x"],
            [np.nan if v is None else v for v in curve[key]],
            color=st["color"],
            ls=st["ls"],
            marker=st["marker"],
            mfc=st["mfc"],
            ms=st["ms"],
            lw=1.3,
            alpha=0.9,
            clip_on=False,
            label=curve["label"],
        )
        handles.setdefault(curve["label"], line)
    top = 1.05
    if key == "entropy_ratio":
        values = [v for c in row["curves"] for v in c[key] if v is not None]
        top = max(1.05, 1.05 * max(values, default=1.0))
    xmax = max(max(c["x"]) for c in row["curves"])
    ax.set_ylim(-0.03, top)
    ax.set_xlim(0.8, xmax + 0.2)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_ylabel(label)
    ax.set_xlabel("tokens per step")
