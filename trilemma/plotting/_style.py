r"""What every figure shares: the palette, `style()`, sampler styles and panel helpers.

Colours come from the Okabe–Ito palette, which stays distinguishable under the
common colour-vision deficiencies. One meaning per colour across figures:
vermillion is fluency (mass on invalid outputs), bluish green is diversity (valid
mass never produced), blue is the model and grey the target.

References:
  Okabe & Ito, *Color Universal Design* (2008), https://jfly.uni-koeln.de/color/.
"""

from __future__ import annotations

import contextlib
import zlib
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import matplotlib as mpl
import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

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

MODEL = PALETTE["blue"]
FLUENCY = PALETTE["vermillion"]
DIVERSITY = PALETTE["green"]
TARGET_FILL = PALETTE["light_grey"]
TARGET_EDGE = "#555555"
TASK_COLOURS = {"replace_random": PALETTE["blue"], "shuffle": PALETTE["orange"]}

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

    >>> import matplotlib as mpl
    >>> from trilemma.plotting import style
    >>> with style():
    ...     print(mpl.rcParams["savefig.dpi"])
    200.0
    """
    with mpl.rc_context(_RC):
        yield


# --- styles keyed by sampler name -----------------------------------------------------

FALLBACK_MARKERS = (">", "p", "h", "X", "8")
"""Markers of samplers no style table lists; no table uses them for a listed one."""


def sampler_style(
    styles: Mapping[str, Mapping[str, Any]], name: str, default: Mapping[str, Any]
) -> dict[str, Any]:
    """Matplotlib style of sampler (or rule) `name` from a table keyed by sampler name.

    Every style table keyed by sampler name is read through this function, so a
    sampler added to `trilemma.samplers.SAMPLERS` draws without an edit here: a name
    the table does not list gets the table's `default` with a marker of its own from
    `FALLBACK_MARKERS`, picked from the name (the same in every run and figure, and
    different from every listed sampler's marker).

    Args:
      styles: name -> keyword arguments for `Axes.plot` (marker, colour, ...).
      name: the sampler's registry name (or a figure's own id for it).
      default: the style of a sampler `styles` does not list, without its marker.

    Returns:
      A new dict, safe to modify.

    >>> table = {"threshold": {"marker": "o", "ms": 6.0}}
    >>> sampler_style(table, "threshold", {"ms": 5.0})
    {'marker': 'o', 'ms': 6.0}
    >>> sampler_style(table, "new_sampler", {"ms": 5.0})["marker"] in FALLBACK_MARKERS
    True
    """
    if name in styles:
        return dict(styles[name])
    pick = zlib.crc32(name.encode()) % len(FALLBACK_MARKERS)
    return {**default, "marker": FALLBACK_MARKERS[pick]}


# Family colours are categorical, one per sampler family and shared by
# fig_trilemma_frontier and fig_pbx; there they do not carry the fluency / diversity
# meaning that vermillion and green have in the other figures.

FAMILY_STYLES: dict[str, dict[str, Any]] = {
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
    "apd": {"color": PALETTE["purple"], "marker": "*", "ms": 8.5},
    "dus": {"color": PALETTE["sky_blue"], "marker": "H", "ms": 6.0, "greedy_ls": ":"},
    "klass": {"color": PALETTE["black"], "marker": "2", "ms": 9.0},
    "slowfast": {"color": PALETTE["orange"], "marker": "1", "ms": 9.0},
    "wino": {"color": PALETTE["grey"], "marker": "3", "ms": 9.0, "greedy_ls": ":"},
    "remdm": {"color": PALETTE["purple"], "marker": "4", "ms": 9.0},
    "rcr": {"color": PALETTE["purple"], "marker": "|", "ms": 8.0, "greedy_ls": ":"},
}
_FAMILY_DEFAULT = {"color": PALETTE["black"], "ms": 5.0}


def family_style(family: str, temperature: float) -> dict[str, Any]:
    """Line style of a sampler family's sweep: its colour and marker, by temperature.

    Greedy sweeps (temperature 0) are solid (or the family's `greedy_ls`) with
    filled markers; sampled ones dashed with open markers.
    """
    st = sampler_style(FAMILY_STYLES, family, _FAMILY_DEFAULT)
    greedy = temperature == 0
    greedy_ls = st.pop("greedy_ls", "-")
    st.update(ls=greedy_ls if greedy else "--", mfc=st["color"] if greedy else "white")
    return st


# --- text, panels and legends ---------------------------------------------------------


def fixed(value: float, digits: int) -> str:
    """Fixed-point text; a rounding residue such as -1e-16 prints as 0, not -0.

    >>> fixed(-1e-16, 2), fixed(-0.5, 2)
    ('0.00', '-0.50')
    """
    text = f"{value:.{digits}f}"
    return text[1:] if text.startswith("-") and float(text) == 0 else text


def panel_row(
    axes: Sequence[Axes] | None, count: int, panel_size: tuple[float, float]
) -> tuple[Figure, list[Axes]]:
    """`(figure, axes)`: the given axes, or a new row of `count` panels."""
    if axes is not None:
        axs = list(axes)
        return axs[0].figure, axs
    width, height = panel_size
    fig = Figure(figsize=(width * count, height), layout="constrained")
    return fig, list(np.atleast_1d(fig.subplots(1, count)))


def panel_grid(
    axes, rows: int, columns: int, figsize: tuple[float, float]
) -> tuple[Figure, np.ndarray]:
    """`(figure, (rows, columns) axes)`: the given axes reshaped, or a new grid."""
    if axes is not None:
        grid = np.asarray(axes, dtype=object).reshape(rows, columns)
        return grid[0, 0].figure, grid
    fig = Figure(figsize=figsize, layout="constrained")
    return fig, np.asarray(fig.subplots(rows, columns, squeeze=False))


def titled_rows(rows, axes, figsize: tuple[float, float], *, hspace: float):
    """`(fig, grid)`: one titled row of three panels per entry of `rows`.

    A new figure gets one subfigure per row with the row's `"title"` as its
    suptitle; given `axes` (a `(len(rows), 3)` grid), the title goes on each row's
    first panel.
    """
    if axes is None:
        fig = Figure(figsize=figsize, layout="constrained")
        subfigs = np.atleast_1d(fig.subfigures(len(rows), 1, hspace=hspace))
        grid = [sub.subplots(1, 3) for sub in subfigs]
        for sub, row in zip(subfigs, rows, strict=True):
            sub.suptitle(row["title"], x=0.01, ha="left", fontweight="bold")
        return fig, grid
    grid = np.asarray(axes, dtype=object).reshape(len(rows), 3)
    for panels, row in zip(grid, rows, strict=True):
        panels[0].set_title(row["title"], loc="left", fontweight="bold")
    return grid[0][0].figure, grid


def legend_and_caption(fig, handles, ncol: int, caption: str | None) -> None:
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
