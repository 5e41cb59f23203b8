"""Trilemma points estimated from samples, with intervals, beside the exact ones.

Both figures draw one mark per sampler setting: the estimate as a filled marker with
its 95% interval as a bar on each estimated coordinate, and, where the exact value
is known, the exact point as a hollow marker of the same colour and shape joined to
its estimate by a thin line. The intervals are drawn from their own ends
(`ci_low`, `ci_high`), never as an error about the estimate, so an estimate that
lies outside its own interval shows as such.

A point is a mapping with `"sampler"` (registry name: the colour, through the
family styles of `_style`), `"setting"` (its index within the family's sweep: the
marker), `"label"`, `"estimated"` (metric name -> `{"estimate", "ci_low",
"ci_high"}`) and `"exact"` (metric name -> value, or None where unknown).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from ._style import (
    FAMILY_STYLES,
    PALETTE,
    legend_and_caption,
    panel_grid,
    sampler_style,
    style,
    titled_rows,
)

SETTING_MARKERS = ("o", "s", "^", "D", "v")
"""Marker of the i-th setting of a sampler's sweep (slowest first)."""

_DEFAULT = {"color": PALETTE["black"]}
_MARKER_SIZE = 5.5
_LINK = {"lw": 0.7, "alpha": 0.55, "zorder": 2}


def point_style(point: Mapping[str, Any]) -> dict[str, Any]:
    """Colour (the sampler family's) and marker (the setting's) of one point.

    >>> point_style({"sampler": "apd", "setting": 1})["marker"]
    's'
    """
    colour = sampler_style(FAMILY_STYLES, point["sampler"], _DEFAULT)["color"]
    marker = SETTING_MARKERS[int(point.get("setting", 0)) % len(SETTING_MARKERS)]
    return {"color": colour, "marker": marker}


def _interval(metric: Mapping[str, Any] | None) -> tuple[float, float] | None:
    if metric is None or metric.get("ci_low") is None or metric.get("ci_high") is None:
        return None
    return float(metric["ci_low"]), float(metric["ci_high"])


def draw_point(ax: Axes, point: Mapping[str, Any], x: str, y: str) -> None:
    """One point on `ax`: estimate, intervals, exact mark and link, for metrics `x, y`.

    `y` may be None for a one-axis (dot) plot, where the point's `"row"` gives its
    height. Each artist's gid is `"<label>|<what>"` (`estimate`, `exact`, `link`,
    `ci:<metric>`), so a test can find them.
    """
    st = point_style(point)
    label = point["label"]
    est, exact = point["estimated"], point.get("exact") or {}
    ex = est[x]["estimate"]
    ey = est[y]["estimate"] if y else float(point["row"])
    band = _interval(est[x])
    if band is not None:
        ax.hlines(ey, *band, color=st["color"], lw=1.2, gid=f"{label}|ci:{x}")
    band = _interval(est[y]) if y else None
    if band is not None:
        ax.vlines(ex, *band, color=st["color"], lw=1.2, gid=f"{label}|ci:{y}")
    ax.plot(
        [ex],
        [ey],
        ls="none",
        ms=_MARKER_SIZE,
        mec="white",
        mew=0.6,
        zorder=4,
        gid=f"{label}|estimate",
        **st,
    )
    xx = exact.get(x)
    yy = exact.get(y) if y else ey
    if xx is None or yy is None:
        return
    ax.plot([xx, ex], [yy, ey], color=st["color"], gid=f"{label}|link", **_LINK)
    ax.plot(
        [xx],
        [yy],
        ls="none",
        ms=_MARKER_SIZE + 1.0,
        mfc="white",
        mec=st["color"],
        mew=1.3,
        marker=st["marker"],
        color=st["color"],
        zorder=3,
        gid=f"{label}|exact",
    )


def _setting_handles(points, handles: dict) -> None:
    for point in points:
        st = point_style(point)
        handles.setdefault(
            point["label"],
            Line2D([], [], ls="none", ms=_MARKER_SIZE, label=point["label"], **st),
        )


def _key_handles() -> list[Line2D]:
    black = PALETTE["black"]
    return [
        Line2D(
            [],
            [],
            color=black,
            marker="o",
            ms=_MARKER_SIZE,
            lw=1.2,
            label="estimate, 95% interval",
        ),
        Line2D(
            [],
            [],
            color=black,
            marker="o",
            mfc="white",
            ms=_MARKER_SIZE + 1.0,
            lw=_LINK["lw"],
            alpha=0.8,
            label="exact (joined to its estimate)",
        ),
    ]


def fig_estimated_points(
    data: Mapping[str, Any], *, axes: Sequence[Sequence[Axes]] | None = None
) -> Figure:
    r"""One row per task: precision vs recall per model, then entropy per setting.

    The first panels of a row (one per model) plot each setting's estimated
    (recall, precision) with both intervals, and the exact point; the last panel
    lists every setting of every model and draws its estimated valid-output entropy
    $H(q_V \mid X)$ ($q$ restricted to the support of $p^*$, renormalised) with its
    interval beside the exact one, and the target's entropy $H(p^*)$ as a dashed
    grey line.

    Args:
      data: mapping with `"panels"`, each with `"label"`, `"reference_entropy_bits"`
        and `"models"`: mappings with `"label"` and `"points"` (see the module
        docstring; metrics `"precision"`, `"recall"`, `"valid_entropy_bits"`);
        optionally `"caption"`.
      axes: optional `(len(panels), len(models) + 1)` grid of axes.

    Returns:
      The `Figure`.
    """
    panels = list(data["panels"])
    columns = len(panels[0]["models"]) + 1
    with style():
        if columns != 3:  # titled_rows makes rows of three panels
            raise ValueError(f"need two models per panel; got {columns - 1}")
        rows = [{"title": p["label"]} for p in panels]
        fig, grid = titled_rows(
            rows, axes, (3.6 * columns, 3.9 * len(panels) + 0.9), hspace=0.04
        )
        handles: dict[str, Line2D] = {}
        for row, panel in zip(grid, panels, strict=True):
            for ax, model in zip(row[:-1], panel["models"], strict=True):
                for point in model["points"]:
                    draw_point(ax, point, "recall", "precision")
                _setting_handles(model["points"], handles)
                ax.set_title(model["label"], loc="right", fontsize=9.5)
                ax.set_xlim(-0.03, 1.05)
                ax.set_ylim(-0.03, 1.05)
                ax.set_aspect("equal", adjustable="box")
                ax.set_xlabel(r"recall  $p^*(\mathrm{supp}\,q)$")
            row[0].set_ylabel(r"precision  $q(\mathrm{supp}\,p^*)$")
            _entropy_panel(row[-1], panel)
        legend_and_caption(
            fig, list(handles.values()) + _key_handles(), 4, data.get("caption")
        )
    return fig


def _entropy_panel(ax: Axes, panel: Mapping[str, Any]) -> None:
    """Every setting of every model on its own row: entropy estimate and exact."""
    labels, row, group_rows = [], 0, []
    for model in panel["models"]:
        start = row
        for point in model["points"]:
            draw_point(ax, {**point, "row": row}, "valid_entropy_bits", None)
            labels.append(point["label"])
            row += 1
        group_rows.append((start, model["label"]))
        row += 1  # a gap between models
        labels.append("")
    ticks = [i for i, text in enumerate(labels) if text]
    ax.set_yticks(ticks, [labels[i] for i in ticks], fontsize=8)
    ax.set_ylim(row - 1.0, -1.6)
    for start, name in group_rows:
        ax.text(
            0.99,
            start - 0.9,
            name,
            transform=ax.get_yaxis_transform(),
            ha="right",
            va="center",
            fontsize=8.5,
            fontweight="bold",
            color="#444444",
        )
        if start:
            ax.axhline(start - 1.0, color=PALETTE["light_grey"], lw=0.8)
    ax.axvline(
        panel["reference_entropy_bits"],
        color=PALETTE["grey"],
        lw=1.0,
        ls="--",
        zorder=1,
        gid="reference_entropy",
    )
    ax.grid(axis="y", visible=False)
    ax.set_xlabel(r"valid-output entropy $H(q_V \mid X)$ [bits]")
    ax.set_title(r"diversity (dashed: $H(p^*)$)", loc="right", fontsize=9.5)


SPEED_ROWS = (
    ("entropy_drop_bits", r"entropy drop $H(p^*) - H(q_V)$ [bits]"),
    ("recall", r"recall  $p^*(\mathrm{supp}\,q)$"),
)
"""The rows of `fig_diversity_speed`: metric and axis label."""


def fig_diversity_speed(
    data: Mapping[str, Any], *, axes: Sequence[Sequence[Axes]] | None = None
) -> Figure:
    r"""Diversity loss against speed: entropy drop and recall vs tokens per step.

    One column per task; each setting's estimate with intervals on both axes, a thin
    line through each sampler family's estimates in order of speed, and the exact
    point where it is known. The entropy-drop row has a grey line at 0 (the
    sampler's entropy equals the target's).

    Args:
      data: mapping with `"panels"`, each with `"label"` and `"points"` (see the
        module docstring; metrics `"tokens_per_step"`, `"entropy_drop_bits"`,
        `"recall"`); optionally `"caption"`.
      axes: optional `(2, len(panels))` grid of axes.

    Returns:
      The `Figure`.
    """
    panels = list(data["panels"])
    with style():
        fig, grid = panel_grid(axes, 2, len(panels), (4.0 * len(panels), 6.6))
        handles: dict[str, Line2D] = {}
        for column, panel in enumerate(panels):
            points = list(panel["points"])
            for (metric, ylabel), ax in zip(SPEED_ROWS, grid[:, column], strict=True):
                _family_lines(ax, points, metric)
                for point in points:
                    draw_point(ax, point, "tokens_per_step", metric)
                if column == 0:
                    ax.set_ylabel(ylabel)
            _setting_handles(points, handles)
            top, bottom = grid[0, column], grid[1, column]
            top.axhline(0.0, color=PALETTE["grey"], lw=1.0, ls="--", zorder=1)
            top.set_title(panel["label"])
            bottom.set_ylim(-0.03, 1.05)
            bottom.set_xlabel("tokens per step")
        legend_and_caption(
            fig, list(handles.values()) + _key_handles(), 4, data.get("caption")
        )
    return fig


def _family_lines(ax: Axes, points, metric: str) -> None:
    """A faint line through each sampler family's estimates, in order of speed."""
    families: dict[str, list] = {}
    for point in points:
        families.setdefault(point["sampler"], []).append(point)
    for members in families.values():
        if len(members) < 2:
            continue
        xy = sorted(
            (
                p["estimated"]["tokens_per_step"]["estimate"],
                p["estimated"][metric]["estimate"],
            )
            for p in members
        )
        x, y = zip(*xy, strict=True)
        ax.plot(
            x, y, color=point_style(members[0])["color"], lw=0.9, alpha=0.45, zorder=1
        )
