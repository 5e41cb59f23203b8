"""Exact accuracy and valid-output entropy against speed: trained vs ideal model."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from ._style import PALETTE, family_style, legend_and_caption, panel_grid, style


def fig_model_decoding(
    data: Mapping[str, Any], *, axes: Sequence[Sequence[Axes]] | None = None
) -> Figure:
    r"""Two rows of panels, one column per task: accuracy, then $H(q \mid$ valid$)$.

    Each panel draws every sampler sweep twice against tokens per step: the trained
    model (solid colour) and the ideal model on the same prompts (the same colour,
    lighter, dotted), and a grey line at the target's entropy $H(p^*)$.

    Args:
      data: mapping with `"panels"`, each with `"label"`, `"reference_entropy_bits"`
        and `"series"`: mappings with `"sampler"`, `"temperature"`, `"model"`
        (`"trained"` or `"ideal"`) and the lists `"tokens_per_step"`,
        `"accuracy"`, `"valid_entropy_bits"`; optionally `"caption"`.
      axes: optional `(2, len(panels))` grid of axes.

    Returns:
      The `Figure`.
    """
    panels = list(data["panels"])
    with style():
        fig, grid = panel_grid(axes, 2, len(panels), (3.4 * len(panels), 6.2))
        handles = {}
        for column, panel in enumerate(panels):
            top, bottom = grid[0, column], grid[1, column]
            for series in panel["series"]:
                st = family_style(series["sampler"], series["temperature"])
                ideal = series["model"] == "ideal"
                st.update(ls=":" if ideal else "-", alpha=0.45 if ideal else 1.0)
                x = series["tokens_per_step"]
                top.plot(x, series["accuracy"], **st)
                bottom.plot(x, series["valid_entropy_bits"], **st)
                label = f"{series['sampler']} (T = {series['temperature']:g})"
                handles.setdefault(
                    label,
                    Line2D([], [], label=label, **{**st, "ls": "-", "alpha": 1.0}),
                )
            bottom.axhline(
                panel["reference_entropy_bits"], color=PALETTE["grey"], lw=1.0
            )
            top.set_title(panel["label"])
            top.set_ylim(-0.03, 1.03)
            bottom.set_ylim(0, None)
            bottom.set_xlabel("tokens per step")
            if column == 0:
                top.set_ylabel("accuracy")
                bottom.set_ylabel("H(q | valid) [bits]")
        black = PALETTE["black"]
        handles["trained"] = Line2D([], [], color=black, label="trained model")
        handles["ideal"] = Line2D(
            [], [], color=black, ls=":", alpha=0.45, label="ideal model"
        )
        handles["target"] = Line2D(
            [], [], color=PALETTE["grey"], lw=1.0, label="H(p*), the target"
        )
        legend_and_caption(fig, list(handles.values()), 3, data.get("caption"))
    return fig
