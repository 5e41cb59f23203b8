"""The blog's fluency/diversity scenarios: densities, error splits, exact PRD."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from ._style import (
    DIVERSITY,
    FLUENCY,
    MODEL,
    PALETTE,
    TARGET_EDGE,
    TARGET_FILL,
    fixed,
    style,
)


def fig_fluency_diversity(
    data: Mapping[str, Any], *, axes: Sequence[Sequence[Axes]] | None = None
) -> Figure:
    r"""The blog's three scenarios: densities, two error splits and the exact PRD curve.

    One row per scenario. Left: the target $p^*$ (grey bars) and the model $p$ (blue
    outline), with model mass outside $\mathrm{supp}\,p^*$ in vermillion and target
    mass where $p = 0$ in hatched green. Middle: the blog's $L_{flu}$, $L_{div}$ (equal
    to TV for any normalised pair) next to the support-based $1-\bar\alpha$
    (hallucinated mass) and $1-\bar\beta$ (missed mass). Right: the exact PRD frontier,
    with the attainable set shaded and the maximisers of $F_8$ and $F_{1/8}$ marked.

    Args:
      data: mapping with key `"scenarios"`, a sequence of mappings with keys
        `"title"` (str), `"x"`, `"p_star"`, `"p"` (equal-length 1-D arrays: grid and
        pmfs), `"errors"` (mapping with `"l_flu"`, `"l_div"`, `"one_minus_precision"`,
        `"one_minus_recall"`, `"tv"`), `"prd_recall"`, `"prd_precision"` (frontier
        points, any order along the curve), `"max_f8"`, `"max_f1_8"` (floats) and
        `"max_f8_point"`, `"max_f1_8_point"` (each a `(recall, precision)` pair).
      axes: optional `(num_scenarios, 3)` grid of axes to draw into; by default a new
        figure is made.

    Returns:
      The `Figure` holding the axes.
    """
    scenarios = list(data["scenarios"])
    with style():
        if axes is None:
            height = 2.9 * len(scenarios) + 0.7
            fig = Figure(figsize=(11.5, height), layout="constrained")
            grid = fig.subplots(
                len(scenarios), 3, squeeze=False, width_ratios=(1.35, 1.0, 0.95)
            )
        else:
            grid = np.asarray(axes, dtype=object).reshape(len(scenarios), 3)
            fig = grid[0, 0].figure
        top = max(max(s["errors"][k] for k in _ERROR_KEYS) for s in scenarios)
        for row, scenario in zip(grid, scenarios, strict=True):
            _draw_densities(row[0], scenario)
            _draw_error_bars(row[1], scenario, ylim=min(1.0, 1.3 * top + 0.05))
            _draw_prd(row[2], scenario)
        if axes is None:
            fig.legend(
                handles=_fluency_diversity_handles(),
                loc="outside upper center",
                ncol=4,
                frameon=False,
            )
    return fig


_ERROR_KEYS = ("l_flu", "l_div", "one_minus_precision", "one_minus_recall")


def _fluency_diversity_handles() -> list[Any]:
    """Legend handles, ordered so a 4-column legend reads row by row."""
    densities = [
        Patch(facecolor=TARGET_FILL, edgecolor=TARGET_EDGE, label="target $p^*$"),
        Line2D([], [], color=MODEL, label="model $p$"),
        Patch(
            facecolor=FLUENCY,
            alpha=0.75,
            label=r"$p$ outside supp $p^*$ (hallucinated, $1-\bar\alpha$)",
        ),
        Patch(
            facecolor="white",
            edgecolor=DIVERSITY,
            hatch="////",
            label=r"$p^*$ where $p=0$ (missed, $1-\bar\beta$)",
        ),
    ]
    prd = [
        Line2D(
            [],
            [],
            color=MODEL,
            marker="o",
            ls="none",
            mfc="white",
            label=r"PRD end points $(\bar\beta, 0)$, $(0, \bar\alpha)$",
        ),
        Line2D(
            [],
            [],
            color=DIVERSITY,
            marker="D",
            ls="none",
            ms=8,
            label=r"argmax $F_8$ (recall-weighted)",
        ),
        Line2D(
            [],
            [],
            color=FLUENCY,
            marker="s",
            ls="none",
            label=r"argmax $F_{1/8}$ (precision-weighted)",
        ),
    ]
    # matplotlib fills legend columns first: interleave the two rows.
    order = [densities[0], prd[0], densities[1], prd[1], densities[2], prd[2]]
    return [*order, densities[3]]


def _draw_densities(ax: Axes, s: Mapping[str, Any]) -> None:
    x = np.asarray(s["x"], dtype=float)
    p_star = np.asarray(s["p_star"], dtype=float)
    p = np.asarray(s["p"], dtype=float)
    hallucinated = (p > 0) & (p_star == 0)
    missed = (p_star > 0) & (p == 0)
    # One filled staircase per layer (cells of width 1 centred on x): far fewer
    # artists than a bar per cell, so rendering stays fast.
    edges = np.append(x - 0.5, x[-1] + 0.5)
    ax.stairs(np.where(missed, 0, p_star), edges, fill=True, color=TARGET_FILL, lw=0)
    ax.stairs(
        np.where(missed, p_star, 0),
        edges,
        fill=True,
        facecolor="white",
        edgecolor=DIVERSITY,
        hatch="////",
        lw=0,
    )
    ax.stairs(
        np.where(hallucinated, p, 0),
        edges,
        fill=True,
        color=FLUENCY,
        alpha=0.75,
        lw=0,
    )
    ax.step(x, p_star, where="mid", color=TARGET_EDGE, lw=0.8)
    ax.step(x, p, where="mid", color=MODEL, lw=1.5)
    ax.set_xlim(x[0] - 0.5, x[-1] + 0.5)
    ax.set_ylim(0, 1.12 * max(p.max(), p_star.max()))
    ax.set_xlabel("outcome x (grid cell)")
    ax.set_ylabel("probability p(x)")
    ax.set_title(s["title"], loc="left", fontweight="bold")


def _draw_error_bars(ax: Axes, s: Mapping[str, Any], *, ylim: float) -> None:
    e = s["errors"]
    labels = [
        "$L_{\\mathrm{flu}}$\n(blog)",
        "$L_{\\mathrm{div}}$\n(blog)",
        "$1-\\bar\\alpha$\nhallucinated",
        "$1-\\bar\\beta$\nmissed",
    ]
    values = [float(e[k]) for k in _ERROR_KEYS]
    colours = [PALETTE["grey"], PALETTE["grey"], FLUENCY, DIVERSITY]
    pos = np.array([0.0, 1.0, 2.5, 3.8])
    ax.bar(pos, values, width=0.75, color=colours, edgecolor="white")
    for x, v in zip(pos, values, strict=True):
        ax.text(x, v + 0.015 * ylim, fixed(v, 2), ha="center", va="bottom", fontsize=9)
    ax.axhline(float(e["tv"]), color=PALETTE["black"], lw=0.9, ls=":", zorder=0.5)
    ax.set_xticks(pos, labels)
    ax.tick_params(axis="x", length=0)
    ax.grid(axis="x", visible=False)
    ax.set_xlim(-0.6, 4.4)
    ax.set_ylim(0, ylim)
    ax.set_ylabel("probability mass")
    ax.set_title(f"error splits (dotted line: TV = {fixed(float(e['tv']), 2)})")


def _draw_prd(ax: Axes, s: Mapping[str, Any]) -> None:
    recall = np.asarray(s["prd_recall"], dtype=float)
    precision = np.asarray(s["prd_precision"], dtype=float)
    order = np.lexsort((-precision, recall))
    recall, precision = recall[order], precision[order]
    ax.fill_between(recall, precision, color=MODEL, alpha=0.12, lw=0)
    ax.plot(recall, precision, color=MODEL, lw=1.6)
    ends = [(recall.max(), 0.0), (0.0, precision.max())]
    for r, a in ends:
        ax.plot(r, a, "o", color=MODEL, mfc="white", clip_on=False, zorder=4)
    r8, a8 = s["max_f8_point"]
    r18, a18 = s["max_f1_8_point"]
    # Drawn large-under-small so both stay visible when the maximisers coincide.
    ax.plot(r8, a8, "D", color=DIVERSITY, ms=9, clip_on=False, zorder=5)
    ax.plot(r18, a18, "s", color=FLUENCY, ms=5, clip_on=False, zorder=6)
    ax.set_xlim(0, 1.04)
    ax.set_ylim(0, 1.04)
    ax.set_aspect("equal")
    ax.set_xticks(np.linspace(0, 1, 6))
    ax.set_yticks(np.linspace(0, 1, 6))
    ax.set_xlabel(r"recall $\beta$")
    ax.set_ylabel(r"precision $\alpha$")
    ax.set_title(
        f"exact PRD: max $F_8$ = {float(s['max_f8']):.2f},"
        f" max $F_{{1/8}}$ = {float(s['max_f1_8']):.2f}"
    )
