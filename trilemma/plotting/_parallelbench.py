"""ParallelBench's runs: accuracy against tokens per step, per task, with intervals."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import FixedLocator, NullLocator, ScalarFormatter

from ._style import FAMILY_STYLES, PALETTE, legend_and_caption, sampler_style, style

METHOD_FAMILIES = {
    "random": "random_topk",
    "confidence_topk": "confidence_topk",
    "topk_margin": "margin_topk",
    "entropy_topk": "entropy_topk",
    "left_to_right": "left_to_right",
    "confidence_threshold": "threshold",
    "confidence_factor": "factor",
}
"""ParallelBench's method -> the trilemma family whose marker it takes."""

MODEL_COLOURS = tuple(
    PALETTE[c] for c in ("blue", "orange", "green", "vermillion", "purple", "sky_blue")
)
"""One colour per model, in the order the data lists the models."""

IDEAL_DASHES = ("-", "--", "-.", ":", (0, (5, 1, 1, 1)), (0, (1, 2)))
"""Line styles of the ideal model's curves, one per n, in increasing n."""

_COLUMNS = 4
_PANEL = (2.75, 2.45)


def fig_parallelbench(
    data: Mapping[str, Any],
    *,
    axes: Sequence[Axes] | None = None,
    ideal: Mapping[str, Sequence[Mapping[str, Any]]] | None = None,
) -> Figure:
    r"""Accuracy against tokens per step, one panel per task, one curve per method.

    Each panel is one ParallelBench task (the Waiting Line tasks first, then the
    puzzles; a family starts a new row of at most four panels). Each (model,
    method) is one curve through its params sorted by speed, colour by model and
    marker by method, with the exact Clopper–Pearson 95% interval of each point as
    an error bar. The ideal model's exact curves, where given, are thin grey lines,
    one dash per n, with small open markers of their method; the speed axis is then
    logarithmic (base 2), since the ideal model's steps span a wider range.

    Args:
      data: mapping with `"panels"` (mappings with `"task"` (the key of `ideal`),
        `"title"`, `"family"`, and `"curves"`: mappings with `"model"`,
        `"method"`, `"label"`, and the lists `"params"`, `"x"` (tokens per step),
        `"accuracy"`, `"ci_low"`, `"ci_high"`), `"models"` (the models in colour
        order), optional `"x_label"`, `"y_label"`, `"caption"`, `"ideal_label"` and
        `"ideal"` (as the argument).
      axes: optional sequence of one axes per panel.
      ideal: the ideal model's exact curves per task (the panels' `"task"`): a
        sequence of mappings with `"n"`, `"x"` (in the same unit as the data's
        `"x"`), `"accuracy"` and optionally `"method"` (its marker); it replaces
        `data["ideal"]`. None: none drawn.

    Returns:
      The `Figure`.
    """
    panels = list(data["panels"])
    ideal = data.get("ideal") if ideal is None else ideal
    colours = {
        m: MODEL_COLOURS[i % len(MODEL_COLOURS)] for i, m in enumerate(data["models"])
    }
    with style():
        fig, grid = _grid(axes, panels)
        handles: dict[str, Line2D] = {}
        ideal_ns: set[int] = set()
        for ax, panel in zip(grid, panels, strict=True):
            for curve in (ideal or {}).get(panel["task"], ()):
                ideal_ns.add(curve["n"])
                order = np.argsort(np.asarray(curve["x"], float), kind="stable")
                ax.plot(
                    np.asarray(curve["x"], float)[order],
                    np.asarray(curve["accuracy"], float)[order],
                    color=PALETTE["grey"],
                    ls=_ideal_dash(curve["n"]),
                    lw=0.9,
                    marker=_method_style(curve.get("method", ""))["marker"],
                    ms=3.5,
                    mfc="white",
                    mew=0.8,
                    zorder=1.5,
                )
            for curve in panel["curves"]:
                st = _method_style(curve["method"])
                colour = colours[curve["model"]]
                order = np.argsort(np.asarray(curve["x"], float), kind="stable")
                x = np.asarray(curve["x"], float)[order]
                y = np.asarray(curve["accuracy"], float)[order]
                low = np.asarray(curve["ci_low"], float)[order]
                high = np.asarray(curve["ci_high"], float)[order]
                ax.errorbar(
                    x,
                    y,
                    yerr=[y - low, high - y],
                    color=colour,
                    marker=st["marker"],
                    ms=st["ms"],
                    mfc=colour,
                    mec="white" if st["marker"] not in ("x", "+") else colour,
                    mew=0.6,
                    lw=1.3,
                    elinewidth=0.9,
                    capsize=2.5,
                    zorder=3,
                )
                handles.setdefault(
                    curve["label"],
                    Line2D(
                        [], [], color=colour, marker=st["marker"], ms=st["ms"],
                        mec="white", mew=0.6, lw=1.3, label=curve["label"],
                    ),
                )  # fmt: skip
            ax.set_title(panel["title"], loc="left")
            ax.set_ylim(-0.04, 1.04)
            if ideal:
                _log2_axis(ax, panel, ideal)
            else:
                ax.set_xlim(0, 1.12 * max(_largest_x(panel, ideal), 1.0))
            ax.set_xlabel(data.get("x_label", "tokens per step"))
            if axes is not None or ax.get_subplotspec().colspan.start == 0:
                ax.set_ylabel(data.get("y_label", "accuracy"))
        for n in sorted(ideal_ns):
            label = data.get("ideal_label", "ideal model, exact") + f", n = {n}"
            handles[label] = Line2D(
                [], [], color=PALETTE["grey"], ls=_ideal_dash(n), lw=0.9, label=label
            )
        if axes is None:
            legend_and_caption(
                fig, list(handles.values()), min(3, len(handles)), data.get("caption")
            )
    return fig


def _grid(axes, panels) -> tuple[Figure, list[Axes]]:
    """The given axes, or a new grid: a row (or rows) of at most four per family."""
    if axes is not None:
        flat = list(np.ravel(np.asarray(axes, dtype=object)))
        return flat[0].figure, flat[: len(panels)]
    rows: list[list[int]] = []
    family = object()
    for i, panel in enumerate(panels):
        if panel.get("family") != family or len(rows[-1]) == _COLUMNS:
            rows.append([])
            family = panel.get("family")
        rows[-1].append(i)
    columns = max(len(r) for r in rows)
    width, height = _PANEL
    fig = Figure(
        figsize=(width * columns, height * len(rows) + 0.9), layout="constrained"
    )
    grid = np.asarray(fig.subplots(len(rows), columns, squeeze=False, sharey=True))
    placed: list[Axes] = [None] * len(panels)  # type: ignore[list-item]
    for r, row in enumerate(rows):
        for c in range(columns):
            if c < len(row):
                placed[row[c]] = grid[r, c]
                if c:
                    grid[r, c].tick_params(labelleft=True)
            else:
                grid[r, c].set_axis_off()
    return fig, placed


def _xs(panel, ideal) -> list[float]:
    values = [v for c in panel["curves"] for v in c["x"]]
    values += [v for c in (ideal or {}).get(panel["task"], ()) for v in c["x"]]
    return [float(v) for v in values if v is not None and np.isfinite(v) and v > 0]


def _largest_x(panel, ideal) -> float:
    return max(_xs(panel, ideal), default=1.0)


def _log2_axis(ax: Axes, panel, ideal) -> None:
    """A base-2 speed axis over the panel's powers of two, labelled 1, 2, 4, ..."""
    xs = _xs(panel, ideal) or [1.0]
    low = 2.0 ** np.floor(np.log2(min(xs)))
    high = 2.0 ** np.ceil(np.log2(max(xs)))
    ax.set_xscale("log", base=2)
    ax.set_xlim(low / 1.25, high * 1.25)
    ticks = 2.0 ** np.arange(np.log2(low), np.log2(high) + 1)
    ax.xaxis.set_major_locator(FixedLocator(ticks))
    ax.xaxis.set_minor_locator(NullLocator())
    formatter = ScalarFormatter()
    formatter.set_scientific(False)
    ax.xaxis.set_major_formatter(formatter)


def _method_style(method: str) -> dict[str, Any]:
    family = METHOD_FAMILIES.get(method, method)
    st = sampler_style(FAMILY_STYLES, family, {"color": PALETTE["black"], "ms": 5.5})
    return {"marker": st["marker"], "ms": min(float(st.get("ms", 5.5)), 6.5)}


def _ideal_dash(n: int):
    return IDEAL_DASHES[(int(n) - 3) % len(IDEAL_DASHES)]
