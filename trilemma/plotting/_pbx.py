"""PBx: average score against tokens per step, ideal model and published sweeps."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from ._style import PALETTE, family_style, style

_PBX_STYLES: dict[str, dict[str, Any]] = {
    "random_topk_t1": {"family": "random_topk", "temperature": 1.0},
    "confidence_topk_t1": {"family": "confidence_topk", "temperature": 1.0},
    "confidence_topk_t0": {"family": "confidence_topk", "temperature": 0.0},
    "left_to_right_t0": {"family": "left_to_right", "temperature": 0.0},
    "threshold": {"family": "threshold", "temperature": 0.0},
    "threshold_strict": {"family": "threshold_strict", "temperature": 0.0},
    "factor": {"family": "factor", "temperature": 0.0},
    "factor_quirk": {"family": "factor", "temperature": 1.0},
    "eb": {"family": "eb", "temperature": 0.0},
    "mdlm": {"family": "mdlm", "temperature": 1.0},
}
_PUBLISHED_COLOURS = (PALETTE["blue"], PALETTE["vermillion"], PALETTE["green"])


def fig_pbx(data: Mapping[str, Any], *, axes: Sequence[Axes] | None = None) -> Figure:
    r"""Average score against average tokens per step, with the PBx levels.

    Left: the sweeps of each sampler family under the ideal model (solid greedy,
    dashed temperature 1, as in `fig_trilemma_frontier`); PBx is the largest speed
    of a point on or above the dotted line at x%. Right (optional): published sweeps
    of real models, for their shape only (different tasks and speed scale).

    Args:
      data: mapping with `"curves"` (mappings with `"id"` (family id, picks the
        style), `"label"`, `"x"` (tokens per step), `"score"` (%)), `"levels"` (the
        x of PBx, in %), optional `"published"` (mappings with `"label"`, `"x"`,
        `"score"`) and optional `"titles"` (one per panel).
      axes: optional sequence of one or two axes.

    Returns:
      The `Figure` holding the axes.
    """
    published = list(data.get("published", []))
    count = 2 if published else 1
    titles = list(
        data.get(
            "titles",
            [
                "ideal model, 10 Waiting Line tasks (n = 3..6)",
                "published: 17 tasks, 32/64-token outputs",
            ],
        )
    )
    with style():
        if axes is None:
            fig = Figure(figsize=(6.4 + 4.3 * (count - 1), 4.6), layout="constrained")
            axs = list(
                np.atleast_1d(fig.subplots(1, count, width_ratios=(1.45, 1)[:count]))
            )
        else:
            axs = list(axes)
            fig = axs[0].figure
        ax = axs[0]
        for curve in data["curves"]:
            st = family_style(
                **_PBX_STYLES.get(
                    curve["id"], {"family": curve["id"], "temperature": 0.0}
                )
            )
            ax.plot(
                curve["x"],
                curve["score"],
                color=st["color"],
                ls=st["ls"],
                marker=st["marker"],
                mfc=st["mfc"],
                ms=st["ms"],
                lw=1.3,
                label=curve["label"],
            )
        _pbx_levels(ax, data["levels"])
        ax.set_title(titles[0], loc="left")
        ax.legend(loc="lower left", fontsize=8, ncol=2)
        if published and len(axs) > 1:
            for colour, curve in zip(_PUBLISHED_COLOURS, published, strict=False):
                axs[1].plot(
                    curve["x"],
                    curve["score"],
                    "o-",
                    color=colour,
                    ms=4.5,
                    label=curve["label"],
                )
            _pbx_levels(axs[1], data["levels"])
            axs[1].set_xscale("log", base=2)
            axs[1].set_title(titles[1], loc="left")
            axs[1].legend(loc="lower left", fontsize=8)
    return fig


def _pbx_levels(ax: Axes, levels: Sequence[float]) -> None:
    for level in levels:
        ax.axhline(level, color="#777777", ls=":", lw=0.9, zorder=0.5)
        ax.text(
            1.0,
            level,
            f" PB{level:g}",
            transform=ax.get_yaxis_transform(),
            va="center",
            ha="left",
            fontsize=8,
            color="#555555",
        )
    ax.set_xlabel("average tokens per step")
    ax.set_ylabel("average score [%]")
