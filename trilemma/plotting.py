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
    "fig_optimal_schedule",
    "fig_product_of_experts",
    "fig_total_correlation",
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
