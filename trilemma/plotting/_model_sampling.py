"""Monte Carlo accuracy with intervals against speed, beside the exact curves."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from ._style import PALETTE, family_style, legend_and_caption, style


def fig_model_sampling(
    data: Mapping[str, Any], *, axes: Sequence[Axes] | None = None
) -> Figure:
    """One panel per task: sampled accuracy (markers, 95% bars) and exact lines.

    Args:
      data: mapping with `"panels"`, each with `"label"`, `"monte_carlo"` (series
        with `"sampler"`, `"temperature"` and the lists `"tokens_per_step"`,
        `"accuracy"`, `"ci_low"`, `"ci_high"`) and `"exact"` (series as
        `fig_model_decoding` takes them: `"sampler"`, `"temperature"`, `"model"`,
        `"tokens_per_step"`, `"accuracy"`); optionally `"caption"`.
      axes: optional sequence of `len(panels)` axes.

    Returns:
      The `Figure`.
    """
    panels = list(data["panels"])
    with style():
        if axes is None:
            fig = Figure(figsize=(3.4 * len(panels), 3.6), layout="constrained")
            row = list(np.ravel(fig.subplots(1, len(panels), squeeze=False)))
        else:
            row = list(axes)
            fig = row[0].figure
        handles = {}
        for ax, panel in zip(row, panels, strict=True):
            for series in panel["exact"]:
                st = family_style(series["sampler"], series["temperature"])
                ideal = series["model"] == "ideal"
                st.update(
                    ls=":" if ideal else "-", alpha=0.4 if ideal else 0.8, marker=None
                )
                ax.plot(series["tokens_per_step"], series["accuracy"], **st)
                label = f"exact {series['sampler']} (T = {series['temperature']:g})"
                handles.setdefault(label, Line2D([], [], label=label, **st))
            for series in panel["monte_carlo"]:
                st = family_style(series["sampler"], series["temperature"])
                x = np.asarray(series["tokens_per_step"], float)
                y = np.asarray(series["accuracy"], float)
                err = [
                    y - np.asarray(series["ci_low"]),
                    np.asarray(series["ci_high"]) - y,
                ]
                ax.errorbar(
                    x,
                    y,
                    yerr=err,
                    ls="none",
                    marker=st.get("marker") or "o",
                    color=st["color"],
                    ms=5,
                    capsize=2.5,
                    mfc="white",
                    mew=1.3,
                )
                label = f"sampled {series['sampler']} (T = {series['temperature']:g})"
                handles.setdefault(
                    label,
                    Line2D(
                        [],
                        [],
                        ls="none",
                        marker=st.get("marker") or "o",
                        color=st["color"],
                        mfc="white",
                        mew=1.3,
                        label=label,
                    ),
                )
            ax.set_title(panel["label"])
            ax.set_ylim(-0.03, 1.03)
            ax.set_xlabel("tokens per step")
        row[0].set_ylabel("accuracy")
        black = PALETTE["black"]
        handles["trained"] = Line2D([], [], color=black, label="exact, trained model")
        handles["ideal"] = Line2D(
            [], [], color=black, ls=":", alpha=0.4, label="exact, ideal model"
        )
        legend_and_caption(fig, list(handles.values()), 4, data.get("caption"))
    return fig
