"""ParallelBench's Fig. 2, exact: top-k accuracy against k, threshold against γ."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import matplotlib as mpl
import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import MaxNLocator

from ._style import PALETTE, legend_and_caption, sampler_style, style

# Marker of each sampler in the top-k panels (the colour is the list length n).
_SAMPLER_MARKERS = {
    "random_topk": {"marker": "o", "ms": 5.0},
    "confidence_topk": {"marker": "s", "ms": 7.5, "mfc": "none", "mew": 1.1},
}
_SAMPLER_DEFAULT = {"ms": 6.0}
# Line and marker of each rule in the threshold panels: ">=" wide and underneath,
# ">" narrow on top, so both stay visible where they agree.
_RULE_STYLES = {
    "threshold": {
        "color": PALETTE["blue"],
        "marker": "o",
        "ms": 6.5,
        "lw": 4.0,
        "alpha": 0.8,
        "mec": "white",
        "zorder": 3,
    },
    "threshold_strict": {
        "color": PALETTE["orange"],
        "marker": "D",
        "ms": 4.5,
        "lw": 1.6,
        "alpha": 1.0,
        "mec": PALETTE["orange"],
        "zorder": 4,
    },
}
_RULE_DEFAULT = {
    "color": PALETTE["black"],
    "ms": 5.0,
    "lw": 1.6,
    "alpha": 1.0,
    "mec": PALETTE["black"],
    "zorder": 4,
}


def _n_colours(values: Sequence[int]) -> dict[int, Any]:
    """One colour per list length n, ordered light to dark (cividis, no yellow end)."""
    cmap = mpl.colormaps["cividis"]
    values = sorted(values)
    span = max(len(values) - 1, 1)
    return {n: cmap(0.78 * (1 - i / span)) for i, n in enumerate(values)}


def fig_decoding_accuracy(
    data: Mapping[str, Any], *, axes: Sequence[Axes] | None = None
) -> Figure:
    r"""Exact accuracy of top-k against $k$ and of threshold decoding against $\gamma$.

    ParallelBench's Fig. 2 for the ideal model. Two kinds of panels:

    * `"kind": "k"`: accuracy against tokens per step $k$, one colour per list length
      $n$ and one marker per sampler (filled circles for random top-k, open squares
      for confidence top-k, a default marker for any other sampler), and
      closed-form lines (solid, or dashed for a second closed form); an optional
      grey step line for the paper's compact statement. Points and lines are offset
      slightly by $n$ so that equal values stay visible.
    * `"kind": "gamma"`: accuracy against the threshold $\gamma$ for each rule, as
      exact steps: horizontal segments on the open intervals between boundary values
      and a marker at each boundary (the value at $\gamma$ itself), with dotted
      vertical lines at marked $\gamma$ values.

    Args:
      data: mapping with `"panels"` (sequence of panel mappings), `"n_values"` (the
        list lengths, for colours), optional `"ncols"` (default 3) and `"caption"`.
        A `"k"` panel has `"title"`, `"series"` (mappings with `"n"`, `"sampler"`
        (registry name), `"k"`, `"accuracy"`), `"lines"`
        (mappings with `"n"`, `"k"`, `"accuracy"`, `"style"` (`"solid"` or
        `"dashed"`)), `"line_labels"` (style -> legend text), and optionally
        `"log_y"`, `"ylabel"`, `"note"` (text in the upper right), `"legend_loc"`
        and `"paper"` (`"k"`, `"accuracy"`, `"label"`). A `"gamma"` panel has `"title"`,
        `"rules"` (mappings with `"rule"` (registry name, e.g. `"threshold"`),
        `"label"`, `"points"` (pairs (gamma, accuracy)) and `"intervals"` (triples
        (low, high, accuracy))), `"markers"` (mappings with `"gamma"`, `"label"`)
        and optionally `"ylabel"`.
      axes: optional sequence of axes, one per panel.

    Returns:
      The `Figure` holding the axes.
    """
    panels = list(data["panels"])
    colours = _n_colours(data["n_values"])
    with style():
        if axes is None:
            ncols = int(data.get("ncols", 3))
            nrows = -(-len(panels) // ncols)
            fig = Figure(
                figsize=(4.3 * ncols, 3.55 * nrows + 0.9), layout="constrained"
            )
            axs = list(np.ravel(fig.subplots(nrows, ncols, squeeze=False)))
            for ax in axs[len(panels) :]:
                ax.set_visible(False)
        else:
            axs = list(axes)
            fig = axs[0].figure
        for ax, panel in zip(axs, panels, strict=False):
            if panel["kind"] == "k":
                _draw_topk_accuracy(ax, panel, colours)
            else:
                _draw_threshold_accuracy(ax, panel)
        if axes is None:
            samplers = dict.fromkeys(
                s["sampler"] for p in panels if p["kind"] == "k" for s in p["series"]
            )
            handles = _decoding_handles(colours, list(samplers))
            legend_and_caption(fig, handles, len(handles), data.get("caption"))
    return fig


def _sampler_marker(name: str) -> dict[str, Any]:
    return sampler_style(_SAMPLER_MARKERS, name, _SAMPLER_DEFAULT)


def _sampler_label(name: str) -> str:
    """Legend text of a sampler: `random_topk` -> "random top-k"."""
    return name.replace("_topk", " top-k").replace("_", " ")


def _decoding_handles(colours: Mapping[int, Any], samplers: Sequence[str]) -> list[Any]:
    """One handle per list length n, then one per sampler, in order of appearance."""
    by_n = [
        Line2D([], [], color=c, marker="o", ls="-", ms=5, label=f"n = {n}")
        for n, c in colours.items()
    ]
    by_sampler = [
        Line2D(
            [],
            [],
            color="#444444",
            ls="none",
            label=_sampler_label(name),
            **_sampler_marker(name),
        )
        for name in samplers
    ]
    return by_n + by_sampler


def _offset(n: int, colours: Mapping[int, Any]) -> float:
    values = sorted(colours)
    return 0.07 * (values.index(n) - (len(values) - 1) / 2) if n in colours else 0.0


def _draw_topk_accuracy(ax: Axes, panel: Mapping[str, Any], colours) -> None:
    dashes = {"solid": "-", "dashed": "--"}
    for line in panel["lines"]:
        dx = _offset(line["n"], colours)
        ax.plot(
            np.asarray(line["k"], float) + dx,
            line["accuracy"],
            color=colours[line["n"]],
            ls=dashes[line["style"]],
            lw=1.2,
            zorder=2,
        )
    for s in panel["series"]:
        dx = _offset(s["n"], colours)
        ax.plot(
            np.asarray(s["k"], float) + dx,
            s["accuracy"],
            ls="none",
            color=colours[s["n"]],
            zorder=3,
            **_sampler_marker(s["sampler"]),
        )
    handles = [
        Line2D([], [], color="#444444", ls=dashes[k], lw=1.2, label=v)
        for k, v in panel.get("line_labels", {}).items()
    ]
    if panel.get("paper"):
        paper = panel["paper"]
        for k, value in zip(paper["k"], paper["accuracy"], strict=True):
            ax.plot(
                [k - 0.38, k + 0.38],
                [value, value],
                color=PALETTE["grey"],
                lw=6,
                alpha=0.4,
                solid_capstyle="butt",
                zorder=1,
            )
        handles.append(
            Line2D([], [], color=PALETTE["grey"], lw=6, alpha=0.4, label=paper["label"])
        )
    kmax = max(max(s["k"]) for s in panel["series"])
    ax.set_xlim(0.5, kmax + 0.5)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    if panel.get("log_y"):
        ax.set_yscale("log")
        ax.set_ylim(top=1.6)
    else:
        ax.set_ylim(-0.04, 1.12)
    ax.set_xlabel("k (tokens per step)")
    ax.set_ylabel(panel.get("ylabel", "accuracy"))
    ax.set_title(panel["title"], loc="left")
    if panel.get("note"):
        ax.text(
            0.97,
            0.97,
            panel["note"],
            transform=ax.transAxes,
            ha="right",
            va="top",
            fontsize=8,
            color="#444444",
        )
    if handles:
        ax.legend(
            handles=handles, loc=panel.get("legend_loc", "lower left"), fontsize=8
        )


def _draw_threshold_accuracy(ax: Axes, panel: Mapping[str, Any]) -> None:
    for marker in panel.get("markers", []):
        ax.axvline(marker["gamma"], color="#555555", ls=":", lw=1.0, zorder=1)
        ax.text(
            marker["gamma"] - 0.012,
            0.62,
            marker["label"],
            rotation=90,
            ha="right",
            va="center",
            fontsize=8,
            color="#444444",
        )
    handles = []
    for rule in panel["rules"]:
        st = sampler_style(_RULE_STYLES, rule["rule"], _RULE_DEFAULT)
        for lo, hi, value in rule["intervals"]:
            ax.plot(
                [lo, hi],
                [value, value],
                color=st["color"],
                lw=st["lw"],
                solid_capstyle="butt",
                alpha=st["alpha"],
                zorder=2,
            )
        # a marker where the value at gamma differs from either side: the jumps
        left = {hi: value for _, hi, value in rule["intervals"]}
        right = {lo: value for lo, _, value in rule["intervals"]}
        jumps = [
            (g, v)
            for g, v in rule["points"]
            if any(abs(v - side[g]) > 1e-12 for side in (left, right) if g in side)
        ]
        if jumps:
            g, v = np.asarray(jumps, float).T
            ax.plot(
                g,
                v,
                ls="none",
                marker=st["marker"],
                ms=st["ms"],
                color=st["color"],
                mec=st["mec"],
                zorder=st["zorder"],
                clip_on=False,
            )
        handles.append(
            Line2D(
                [],
                [],
                color=st["color"],
                lw=st["lw"],
                marker=st["marker"],
                ms=st["ms"],
                label=rule["label"],
            )
        )
    ax.set_xlim(0, 1.0)
    ax.set_ylim(-0.04, 1.12)
    ax.set_xlabel("threshold γ")
    ax.set_ylabel(panel.get("ylabel", "accuracy"))
    ax.set_title(panel["title"], loc="left")
    ax.legend(
        handles=handles,
        loc="upper left",
        fontsize=8,
        title="lines: γ between jumps; markers: value at a jump",
        title_fontsize=7.5,
        alignment="left",
    )
