r"""Figures for trilemma: `fig_*` functions that only draw, and one `style()`.

Each `fig_<name>(data, *, axes=None)` takes plain data computed elsewhere (the
scripts in `experiments/` compute it exactly with the library) and returns a
matplotlib `Figure`. Nothing here computes a metric, changes global `rcParams` or
picks a backend: drawing happens inside `style()`, an `rc_context`, and figures are
built with `matplotlib.figure.Figure` rather than `pyplot`, so no global figure
registry is touched. Information quantities arrive and are drawn in **bits**;
probability masses (TV, precision, recall) are unitless.

Colours come from the Okabe–Ito palette, which stays distinguishable under the
common colour-vision deficiencies. One meaning per colour across figures:
vermillion is fluency (mass on invalid outputs), bluish green is diversity (valid
mass never produced), blue is the model and grey the target.

References:
  Okabe & Ito, *Color Universal Design* (2008), https://jfly.uni-koeln.de/color/.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import matplotlib as mpl
import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import MaxNLocator

__all__ = [
    "PALETTE",
    "fig_fluency_diversity",
    "fig_decoding_accuracy",
    "fig_optimal_schedule",
    "fig_pbx",
    "fig_product_of_experts",
    "fig_total_correlation",
    "fig_trilemma_frontier",
    "style",
]

PALETTE: Mapping[str, str] = {
    "black": "#000000",
    "orange": "#E69F00",
    "sky_blue": "#56B4E9",
    "green": "#009E73",
    "yellow": "#F0E442",
    "blue": "#0072B2",
    "vermillion": "#D55E00",
    "purple": "#CC79A7",
    "grey": "#999999",
    "light_grey": "#D9D9D9",
}
"""Okabe–Ito colours (plus two greys) used by every figure."""

_MODEL = PALETTE["blue"]
_FLUENCY = PALETTE["vermillion"]
_DIVERSITY = PALETTE["green"]
_TARGET_FILL = PALETTE["light_grey"]
_TARGET_EDGE = "#555555"
_TASK_COLOURS = {"replace_random": PALETTE["blue"], "shuffle": PALETTE["orange"]}

_RC: dict[str, Any] = {
    "font.size": 10,
    "axes.titlesize": 10.5,
    "axes.labelsize": 10,
    "xtick.labelsize": 9,
    "ytick.labelsize": 9,
    "legend.fontsize": 9,
    "legend.frameon": False,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.color": "#E5E5E5",
    "grid.linewidth": 0.6,
    "axes.axisbelow": True,
    "axes.prop_cycle": mpl.cycler(
        color=[PALETTE[c] for c in ("blue", "orange", "green", "vermillion", "purple")]
    ),
    "lines.linewidth": 1.6,
    "lines.markersize": 5.5,
    "figure.dpi": 100,
    "savefig.dpi": 200,
    "savefig.bbox": "tight",
    "savefig.pad_inches": 0.04,
    "pdf.fonttype": 42,  # embed TrueType: text stays text in the PDF
    "ps.fonttype": 42,
    "mathtext.fontset": "dejavusans",
}


@contextlib.contextmanager
def style() -> Iterator[None]:
    """Context manager with trilemma's figure style (an `rc_context`; no global change).

    Every `fig_*` function draws inside it; wrap `savefig` in it as well so the
    resolution and font embedding apply (`savefig.dpi` = 200, TrueType fonts in PDF).

    Yields:
      None. `rcParams` are restored on exit.

    >>> from trilemma.plotting import style
    >>> with style():
    ...     pass
    """
    with mpl.rc_context(_RC):
        yield


# --- fluency vs diversity ------------------------------------------------------------


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
        Patch(facecolor=_TARGET_FILL, edgecolor=_TARGET_EDGE, label="target $p^*$"),
        Line2D([], [], color=_MODEL, label="model $p$"),
        Patch(
            facecolor=_FLUENCY,
            alpha=0.75,
            label=r"$p$ outside supp $p^*$ (hallucinated, $1-\bar\alpha$)",
        ),
        Patch(
            facecolor="white",
            edgecolor=_DIVERSITY,
            hatch="////",
            label=r"$p^*$ where $p=0$ (missed, $1-\bar\beta$)",
        ),
    ]
    prd = [
        Line2D(
            [],
            [],
            color=_MODEL,
            marker="o",
            ls="none",
            mfc="white",
            label=r"PRD end points $(\bar\beta, 0)$, $(0, \bar\alpha)$",
        ),
        Line2D(
            [],
            [],
            color=_DIVERSITY,
            marker="D",
            ls="none",
            ms=8,
            label=r"argmax $F_8$ (recall-weighted)",
        ),
        Line2D(
            [],
            [],
            color=_FLUENCY,
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
    ax.stairs(np.where(missed, 0, p_star), edges, fill=True, color=_TARGET_FILL, lw=0)
    ax.stairs(
        np.where(missed, p_star, 0),
        edges,
        fill=True,
        facecolor="white",
        edgecolor=_DIVERSITY,
        hatch="////",
        lw=0,
    )
    ax.stairs(
        np.where(hallucinated, p, 0),
        edges,
        fill=True,
        color=_FLUENCY,
        alpha=0.75,
        lw=0,
    )
    ax.step(x, p_star, where="mid", color=_TARGET_EDGE, lw=0.8)
    ax.step(x, p, where="mid", color=_MODEL, lw=1.5)
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
    colours = [PALETTE["grey"], PALETTE["grey"], _FLUENCY, _DIVERSITY]
    pos = np.array([0.0, 1.0, 2.5, 3.8])
    ax.bar(pos, values, width=0.75, color=colours, edgecolor="white")
    for x, v in zip(pos, values, strict=True):
        ax.text(x, v + 0.015 * ylim, _fixed(v, 2), ha="center", va="bottom", fontsize=9)
    ax.axhline(float(e["tv"]), color=PALETTE["black"], lw=0.9, ls=":", zorder=0.5)
    ax.set_xticks(pos, labels)
    ax.tick_params(axis="x", length=0)
    ax.grid(axis="x", visible=False)
    ax.set_xlim(-0.6, 4.4)
    ax.set_ylim(0, ylim)
    ax.set_ylabel("probability mass")
    ax.set_title(f"error splits (dotted line: TV = {_fixed(float(e['tv']), 2)})")


def _draw_prd(ax: Axes, s: Mapping[str, Any]) -> None:
    recall = np.asarray(s["prd_recall"], dtype=float)
    precision = np.asarray(s["prd_precision"], dtype=float)
    order = np.lexsort((-precision, recall))
    recall, precision = recall[order], precision[order]
    ax.fill_between(recall, precision, color=_MODEL, alpha=0.12, lw=0)
    ax.plot(recall, precision, color=_MODEL, lw=1.6)
    ends = [(recall.max(), 0.0), (0.0, precision.max())]
    for r, a in ends:
        ax.plot(r, a, "o", color=_MODEL, mfc="white", clip_on=False, zorder=4)
    r8, a8 = s["max_f8_point"]
    r18, a18 = s["max_f1_8_point"]
    # Drawn large-under-small so both stay visible when the maximisers coincide.
    ax.plot(r8, a8, "D", color=_DIVERSITY, ms=9, clip_on=False, zorder=5)
    ax.plot(r18, a18, "s", color=_FLUENCY, ms=5, clip_on=False, zorder=6)
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


# --- total correlation ---------------------------------------------------------------


def _panel_row(axes, count: int, panel_size: tuple[float, float]):
    """`(figure, axes)`: the given axes, or a new row of `count` panels."""
    if axes is not None:
        axs = list(axes)
        return axs[0].figure, axs
    width, height = panel_size
    fig = Figure(figsize=(width * count, height), layout="constrained")
    return fig, list(np.atleast_1d(fig.subplots(1, count)))


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
        fig, axs = _panel_row(axes, len(panels), (4.3, 3.5))
        for ax, panel in zip(axs, panels, strict=True):
            colour = _TASK_COLOURS.get(panel["task"], PALETTE["purple"])
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


# --- optimal schedule ----------------------------------------------------------------


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
        fig, axs = _panel_row(axes, len(panels), (5.0, 3.8))
        for ax, panel in zip(axs, panels, strict=True):
            _draw_schedule_panel(ax, panel, int(data["n"]))
    return fig


def _fixed(value: float, digits: int) -> str:
    """Fixed-point text; a rounding residue such as -1e-16 prints as 0, not -0."""
    text = f"{value:.{digits}f}"
    return text[1:] if text.startswith("-") and float(text) == 0 else text


def _draw_schedule_panel(ax: Axes, panel: Mapping[str, Any], n: int) -> None:
    colour = _TASK_COLOURS.get(panel["task"], PALETTE["purple"])
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
        f"{int(t):>2}  {_fixed(v, 3):>11}  " + "+".join(str(int(k)) for k in sizes)
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


# --- product of experts --------------------------------------------------------------

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
        if axes is None:
            fig = Figure(figsize=(13.0, 3.9 * len(rows)), layout="constrained")
            subfigs = np.atleast_1d(fig.subfigures(len(rows), 1, hspace=0.04))
            grid = [sub.subplots(1, 3) for sub in subfigs]
            for sub, row in zip(subfigs, rows, strict=True):
                sub.suptitle(row["title"], x=0.01, ha="left", fontweight="bold")
        else:
            grid = np.asarray(axes, dtype=object).reshape(len(rows), 3)
            fig = grid[0][0].figure
            for panels, row in zip(grid, rows, strict=True):
                panels[0].set_title(row["title"], loc="left", fontweight="bold")
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
            color=_MODEL,
            alpha=0.15,
            lw=0,
            label="$p_T$ below both experts",
        )
    ax.axhline(1.0, color=_TARGET_EDGE, lw=1.0, ls="--", label="target $p^*$")
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
                label=f"dLLM alone ($R = 1$): {_fixed(dllm, 2)}, off scale",
            )
        )
    ax.plot(r, ratio, color=_MODEL, lw=1.8, label="mixture $p_T$")
    _poe_ends(ax, row, "entropy_ratio", _MODEL)
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
    ax.set_title(
        f"entropy, relative to $H(p^*)$ = {_fixed(row['h_star_bits'], 2)} bits"
    )
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
        ("recall", r"recall $p^*(\mathrm{supp}\,p_T)$", _DIVERSITY, "-", 3.6),
        ("precision", r"precision $p_T(\mathrm{supp}\,p^*)$", _FLUENCY, "-", 1.6),
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
        ("kl_forward_bits", r"$D(p^*\,\|\,p_T)$: misses $p^*$ mass", _DIVERSITY),
        ("kl_reverse_bits", r"$D(p_T\,\|\,p^*)$: leaves supp $p^*$", _FLUENCY),
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


# --- decoding accuracy (ParallelBench Fig. 2, exact) ----------------------------------

_SAMPLER_MARKERS = {
    "random_topk": {"marker": "o", "ms": 5.0},
    "confidence_topk": {"marker": "s", "ms": 7.5, "mfc": "none", "mew": 1.1},
}
_RULE_STYLES = {
    "threshold": {"color": PALETTE["blue"], "marker": "o", "ms": 6.5, "lw": 4.0},
    "threshold_strict": {
        "color": PALETTE["orange"],
        "marker": "D",
        "ms": 4.5,
        "lw": 1.6,
    },
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
      $n$; filled circles for random top-k, open squares for confidence top-k, and
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
        (`"random_topk"` or `"confidence_topk"`), `"k"`, `"accuracy"`), `"lines"`
        (mappings with `"n"`, `"k"`, `"accuracy"`, `"style"` (`"solid"` or
        `"dashed"`)), `"line_labels"` (style -> legend text), and optionally
        `"log_y"`, `"ylabel"`, `"note"` (text in the upper right), `"legend_loc"`
        and `"paper"` (`"k"`, `"accuracy"`, `"label"`). A `"gamma"` panel has `"title"`,
        `"rules"` (mappings with `"rule"` (`"threshold"` or `"threshold_strict"`),
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
            _legend_and_caption(
                fig, _decoding_handles(colours), len(colours) + 2, data.get("caption")
            )
    return fig


def _decoding_handles(colours: Mapping[int, Any]) -> list[Any]:
    handles: list[Any] = [
        Line2D([], [], color=c, marker="o", ls="-", ms=5, label=f"n = {n}")
        for n, c in colours.items()
    ]
    handles.append(
        Line2D(
            [],
            [],
            color="#444444",
            ls="none",
            label="random top-k",
            **_SAMPLER_MARKERS["random_topk"],
        )
    )
    handles.append(
        Line2D(
            [],
            [],
            color="#444444",
            ls="none",
            label="confidence top-k",
            **_SAMPLER_MARKERS["confidence_topk"],
        )
    )
    return handles


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
            **_SAMPLER_MARKERS[s["sampler"]],
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
        st = _RULE_STYLES[rule["rule"]]
        below = rule["rule"] == "threshold"
        for lo, hi, value in rule["intervals"]:
            ax.plot(
                [lo, hi],
                [value, value],
                color=st["color"],
                lw=st["lw"],
                solid_capstyle="butt",
                alpha=0.8 if below else 1.0,
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
                mec="white" if below else st["color"],
                zorder=3 if below else 4,
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


# --- trilemma frontier ----------------------------------------------------------------

# Family colours are categorical, one per sampler family and shared by
# fig_trilemma_frontier and fig_pbx; there they do not carry the fluency / diversity
# meaning that vermillion and green have in the figures above.

_FAMILY_STYLES: dict[str, dict[str, Any]] = {
    # larger markers for families usually drawn underneath, so ties stay visible
    "random_topk": {"color": PALETTE["sky_blue"], "marker": "o", "ms": 6.5},
    "confidence_topk": {"color": PALETTE["blue"], "marker": "s", "ms": 8.0},
    "margin_topk": {"color": PALETTE["grey"], "marker": "x", "ms": 6.0},
    "entropy_topk": {"color": PALETTE["grey"], "marker": "+", "ms": 7.0},
    "left_to_right": {"color": PALETTE["black"], "marker": "<", "ms": 6.0},
    "mdlm": {"color": PALETTE["purple"], "marker": "v", "ms": 5.5},
    "threshold": {"color": PALETTE["vermillion"], "marker": "D", "ms": 6.5},
    "threshold_strict": {
        "color": PALETTE["vermillion"],
        "marker": "d",
        "ms": 5.0,
        "greedy_ls": "-.",
    },
    "factor": {"color": PALETTE["orange"], "marker": "^", "ms": 5.5},
    "eb": {"color": PALETTE["green"], "marker": "P", "ms": 4.5},
}
_FRONTIER_COLUMNS = (
    ("precision", r"precision $q(\mathrm{supp}\,p^*)$", "fluency: valid mass"),
    ("recall", r"recall $p^*(\mathrm{supp}\,q)$", "diversity: support covered"),
    (
        "entropy_ratio",
        r"$H(q\,|\,\mathrm{valid})\,/\,H(p^*)$ (bits/bits)",
        "diversity: entropy of the valid outputs",
    ),
)


def _family_style(family: str, temperature: float) -> dict[str, Any]:
    default = {"color": PALETTE["black"], "marker": "o", "ms": 5.0}
    st = dict(_FAMILY_STYLES.get(family, default))
    greedy = temperature == 0
    greedy_ls = st.pop("greedy_ls", "-")
    st.update(ls=greedy_ls if greedy else "--", mfc=st["color"] if greedy else "white")
    return st


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
        if axes is None:
            fig = Figure(figsize=(12.5, 2.9 * len(rows) + 0.8), layout="constrained")
            subfigs = np.atleast_1d(fig.subfigures(len(rows), 1, hspace=0.02))
            grid = [sub.subplots(1, 3) for sub in subfigs]
            for sub, row in zip(subfigs, rows, strict=True):
                sub.suptitle(row["title"], x=0.01, ha="left", fontweight="bold")
        else:
            grid = np.asarray(axes, dtype=object).reshape(len(rows), 3)
            fig = grid[0][0].figure
            for panels, row in zip(grid, rows, strict=True):
                panels[0].set_title(row["title"], loc="left", fontweight="bold")
        handles: dict[str, Any] = {}
        for i, (row, panels) in enumerate(zip(rows, grid, strict=True)):
            for ax, column in zip(panels, _FRONTIER_COLUMNS, strict=True):
                _draw_frontier_panel(ax, row, column, handles)
                if i == 0 and axes is None:
                    ax.set_title(column[2], fontsize=9.5, color="#444444")
        if axes is None:
            order = list(data.get("legend_order", handles))
            shown = [handles[k] for k in order if k in handles]
            _legend_and_caption(fig, shown, 4, data.get("caption"))
    return fig


def _legend_and_caption(fig, handles, ncol: int, caption: str | None) -> None:
    """A figure-level legend above the panels and an optional caption below them."""
    fig.legend(handles=handles, loc="outside upper center", ncol=ncol, frameon=False)
    if caption:
        fig.text(
            0.5,
            0.0,
            caption,
            ha="center",
            va="top",
            fontsize=8.5,
            color="#444444",
            wrap=True,
        )


def _draw_frontier_panel(ax: Axes, row, column, handles: dict[str, Any]) -> None:
    key, label, _ = column
    for curve in row["curves"]:
        st = _family_style(curve["family"], curve["temperature"])
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


# --- PBx ------------------------------------------------------------------------------

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
            st = _family_style(
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
