"""APD's product of experts against its weight R: entropy, support, KL."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from ._style import (
    DIVERSITY,
    FLUENCY,
    MODEL,
    PALETTE,
    TARGET_EDGE,
    fixed,
    style,
    titled_rows,
)

_AR = PALETTE["orange"]
_DLLM = PALETTE["purple"]


def fig_product_of_experts(
    data: Mapping[str, Any], *, axes: Sequence[Sequence[Axes]] | None = None
) -> Figure:
    r"""APD's product of experts $p_T \propto p_D^R p_{AR}^{1-R}$ against $R$.

    One row per target $p^*$, three panels per row, each over $R \in [0, 1]$:

    * the entropy ratio $H(p_T)/H(p^*)$, with horizontal lines for the AR model alone
      ($R = 0$), the dLLM alone ($R = 1$; marked by an arrow when off scale) and
      $p^*$ (ratio 1); where $p_T$ is below both experts the gap is shaded;
    * recall $p^*(\mathrm{supp}\,p_T)$, precision $p_T(\mathrm{supp}\,p^*)$ and TV;
    * $D(p^*\|p_T)$ and $D(p_T\|p^*)$ in bits, infinite stretches drawn as arrows at
      the top of the panel.

    Curves run over $0 \le R < 1$; the value at $R = 1$ ($p_T = p_D$) is a filled
    dot and the limit $R \to 1^-$ ($p_D$ restricted to $\mathrm{supp}\,p_{AR}$) an
    open one, since the support jumps there.

    Args:
      data: mapping with key `"rows"`, a sequence of mappings with keys `"title"`,
        `"h_star_bits"` (float), `"weights"` (the $R$ grid, ending at 1), `"curves"`,
        `"ar"`, `"dllm"`, `"limit_at_one"` (mappings with keys `"entropy_ratio"`,
        `"recall"`, `"precision"`, `"tv"`, `"kl_forward_bits"`,
        `"kl_reverse_bits"`; arrays over the grid for `"curves"`, floats
        otherwise) and optionally `"note"` (text for the entropy panel).
      axes: optional `(num_rows, 3)` grid of axes to draw into; by default a new
        figure is made.

    Returns:
      The `Figure` holding the axes.
    """
    rows = list(data["rows"])
    with style():
        fig, grid = titled_rows(rows, axes, (13.0, 3.9 * len(rows)), hspace=0.04)
        for i, (row, panels) in enumerate(zip(rows, grid, strict=True)):
            _draw_poe_entropy(panels[0], row)
            _draw_poe_masses(panels[1], row, legend=i == 0)
            _draw_poe_kl(panels[2], row, legend=i == 0)
    return fig


def _poe_split(row: Mapping[str, Any], key: str) -> tuple[np.ndarray, np.ndarray]:
    """`(R, values)` on 0 <= R < 1 (the grid without its final R = 1)."""
    weights = np.asarray(row["weights"], dtype=float)
    values = np.asarray(row["curves"][key], dtype=float)
    inner = weights < 1
    return weights[inner], values[inner]


def _poe_ends(ax: Axes, row: Mapping[str, Any], key: str, colour: str) -> None:
    """Filled dot at R = 1 (p_D) and open dot at the limit R -> 1^-."""
    limit, at_one = float(row["limit_at_one"][key]), float(row["dllm"][key])
    if np.isfinite(limit):
        ax.plot(1, limit, "o", color=colour, mfc="white", mew=1.3, zorder=5)
    bottom, top = ax.get_ylim()
    if np.isfinite(at_one) and bottom <= at_one <= top:
        ax.plot(1, at_one, "o", color=colour, zorder=6, clip_on=False)


def _draw_poe_entropy(ax: Axes, row: Mapping[str, Any]) -> None:
    r, ratio = _poe_split(row, "entropy_ratio")
    ar, dllm = float(row["ar"]["entropy_ratio"]), float(row["dllm"]["entropy_ratio"])
    limit = float(row["limit_at_one"]["entropy_ratio"])
    low = min(ratio.min(), ar, limit, 1.0)
    high = max(ratio.max(), ar, limit, 1.0)
    pad = 0.1 * (high - low) + 0.01
    top = high + 3.2 * pad
    ax.set_xlim(-0.02, 1.04)
    ax.set_ylim(low - (3.2 if row.get("note") else 1.0) * pad, top)
    floor = min(ar, dllm)
    if np.any(ratio < floor):
        ax.fill_between(
            r,
            ratio,
            floor,
            where=ratio < floor,
            color=MODEL,
            alpha=0.15,
            lw=0,
            label="$p_T$ below both experts",
        )
    ax.axhline(1.0, color=TARGET_EDGE, lw=1.0, ls="--", label="target $p^*$")
    ax.axhline(ar, color=_AR, lw=1.4, ls=":", label="AR alone ($R = 0$)")
    handles: list[Any] = []
    if dllm <= top:
        ax.axhline(dllm, color=_DLLM, lw=1.4, ls=":", label="dLLM alone ($R = 1$)")
    else:  # off scale: an arrow at R = 1 and the value in the legend
        ax.plot(1, top - 0.3 * pad, "^", color=_DLLM, ms=7, clip_on=False, zorder=6)
        handles.append(
            Line2D(
                [],
                [],
                color=_DLLM,
                ls=":",
                lw=1.4,
                marker="^",
                label=f"dLLM alone ($R = 1$): {fixed(dllm, 2)}, off scale",
            )
        )
    ax.plot(r, ratio, color=MODEL, lw=1.8, label="mixture $p_T$")
    _poe_ends(ax, row, "entropy_ratio", MODEL)
    if row.get("note"):
        ax.text(
            0.03,
            0.04,
            row["note"],
            transform=ax.transAxes,
            fontsize=7.5,
            color="#444444",
            va="bottom",
        )
    ax.set_xlabel("weight $R$ (0: AR model, 1: dLLM)")
    ax.set_ylabel(r"entropy ratio $H(p_T)\,/\,H(p^*)$")
    ax.set_title(f"entropy, relative to $H(p^*)$ = {fixed(row['h_star_bits'], 2)} bits")
    # A legend in every row: it carries the dLLM's value when that is off scale.
    order = ["mixture $p_T$", "$p_T$ below both experts", "target $p^*$"]
    found = dict(zip(*reversed(ax.get_legend_handles_labels()), strict=True))
    ordered = [found[k] for k in order if k in found]
    rest = [h for k, h in found.items() if k not in order]
    ax.legend(
        handles=ordered + rest + handles,
        loc="upper left",
        fontsize=8,
        handlelength=2.0,
        ncol=2,
        columnspacing=1.0,
        frameon=True,
        facecolor="white",
        edgecolor="none",
        framealpha=0.9,
    )


def _draw_poe_masses(ax: Axes, row: Mapping[str, Any], *, legend: bool) -> None:
    # Recall is drawn wide underneath, so it shows where it equals precision.
    series = (
        ("recall", r"recall $p^*(\mathrm{supp}\,p_T)$", DIVERSITY, "-", 3.6),
        ("precision", r"precision $p_T(\mathrm{supp}\,p^*)$", FLUENCY, "-", 1.6),
        ("tv", r"TV$(p_T, p^*)$", PALETTE["black"], "--", 1.6),
    )
    ax.set_xlim(-0.02, 1.04)
    ax.set_ylim(0, 1.06)
    for key, label, colour, ls, lw in series:
        r, values = _poe_split(row, key)
        ax.plot(r, values, color=colour, ls=ls, lw=lw, label=label)
        _poe_ends(ax, row, key, colour)
    ax.set_xlabel("weight $R$")
    ax.set_ylabel("probability mass")
    ax.set_title("support against $p^*$: recall, precision, TV")
    if legend:
        ends = [
            Line2D([], [], color="#444444", marker="o", ls="none", label="$R = 1$"),
            Line2D(
                [],
                [],
                color="#444444",
                marker="o",
                mfc="white",
                ls="none",
                label=r"$R \to 1^-$",
            ),
        ]
        handles, _ = ax.get_legend_handles_labels()
        ax.legend(handles=handles + ends, loc="center left", fontsize=8)


def _draw_poe_kl(ax: Axes, row: Mapping[str, Any], *, legend: bool) -> None:
    series = (
        ("kl_forward_bits", r"$D(p^*\,\|\,p_T)$: misses $p^*$ mass", DIVERSITY),
        ("kl_reverse_bits", r"$D(p_T\,\|\,p^*)$: leaves supp $p^*$", FLUENCY),
    )
    finite = [
        v
        for key, _, _ in series
        for v in (
            *_poe_split(row, key)[1],
            float(row["dllm"][key]),
            float(row["limit_at_one"][key]),
        )
        if np.isfinite(v)
    ]
    top = 1.45 * max(finite, default=1.0) + 0.05
    ax.set_xlim(-0.02, 1.04)
    ax.set_ylim(0, top)
    for j, (key, label, colour) in enumerate(series):
        r, values = _poe_split(row, key)
        inf = ~np.isfinite(values)
        shown = np.where(inf, np.nan, values)
        ax.plot(r, shown, color=colour, lw=3.6 - 2 * j, label=label)
        _poe_ends(ax, row, key, colour)
        # Infinite stretches: a band of arrows along the top, one level per series.
        y = top * (0.955 - 0.08 * j)
        if inf.any():
            ax.plot(r[inf], np.full(inf.sum(), y), color=colour, lw=2.5, alpha=0.45)
            ticks = r[inf][:: max(1, inf.sum() // 6)]
            ax.plot(ticks, np.full(len(ticks), y), "^", color=colour, ms=5)
        if not np.isfinite(float(row["dllm"][key])):
            ax.plot(1, y, "^", color=colour, ms=7, clip_on=False, zorder=6)
    ax.set_xlabel("weight $R$")
    ax.set_ylabel("KL [bits]")
    ax.set_title(r"KL both ways (▲ along the top: $+\infty$)")
    if legend:
        ax.legend(loc="center left", fontsize=8)
