"""Smoke tests for trilemma.plotting on the Agg backend, with small synthetic data."""

import io

import matplotlib

matplotlib.use("Agg")

import matplotlib as mpl  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from trilemma import plotting  # noqa: E402


def _scenario(title, p, p_star):
    recall = np.array([0.8, 0.8, 0.6, 0.3, 0.0])
    precision = np.array([0.0, 0.5, 0.8, 0.9, 0.9])
    return {
        "title": title,
        "x": np.arange(len(p)),
        "p_star": p_star,
        "p": p,
        "errors": {
            "tv": 0.3,
            "l_flu": 0.3,
            "l_div": 0.3,
            "one_minus_precision": 0.1,
            "one_minus_recall": 0.2,
        },
        "prd_recall": recall,
        "prd_precision": precision,
        "max_f8": 0.79,
        "max_f1_8": 0.9,
        "max_f8_point": (0.8, 0.5),
        "max_f1_8_point": (0.3, 0.9),
    }


def fluency_diversity_data():
    p_star = np.array([0.0, 0.25, 0.25, 0.0, 0.25, 0.25, 0.0])
    p = np.array([0.1, 0.3, 0.3, 0.1, 0.2, 0.0, 0.0])
    return {"scenarios": [_scenario("(a) one", p, p_star), _scenario("(b)", p_star, p)]}


def total_correlation_data():
    n = np.arange(2, 6)
    curve = np.linspace(2, 8, 20)
    return {
        "panels": [
            {
                "task": "replace_random",
                "label": "Replace Random",
                "n": n,
                "exact_bits": (n - 1) * np.log2(n / (n - 1)),
                "n_curve": curve,
                "closed_bits": (curve - 1) * np.log2(curve / (curve - 1)),
                "closed_label": "closed form",
                "asymptote_bits": 1 / np.log(2),
                "asymptote_label": "log2 e",
            },
            {
                "task": "shuffle",
                "label": "Shuffle",
                "n": n,
                "exact_bits": n * 0.9,
                "n_curve": curve,
                "closed_bits": curve * 0.9,
                "closed_label": "closed form",
                "legend_loc": "upper left",
            },
        ]
    }


def optimal_schedule_data():
    return {
        "n": 3,
        "panels": [
            {
                "task": "shuffle",
                "label": "Shuffle, n = 3",
                "num_steps": [1, 2, 3],
                "optimal_bits": [2.17, 0.58, 0.0],
                "step_sizes": [[3], [2, 1], [1, 1, 1]],
                "baseline_bits": [2.17, 0.58, 0.0],
                "baseline_label": "equal blocks",
            },
            {
                "task": "other",
                "label": "no baseline",
                "num_steps": [1, 2],
                "optimal_bits": [1.0, 0.0],
                "step_sizes": [[2], [1, 1]],
            },
        ],
    }


CASES = {
    "fig_fluency_diversity": (fluency_diversity_data, 6),
    "fig_total_correlation": (total_correlation_data, 2),
    "fig_optimal_schedule": (optimal_schedule_data, 2),
}


def _labelled(axis):
    """An axis carries a label, or names its categories in the tick labels."""
    ticks = [t.get_text() for t in axis.get_ticklabels()]
    return bool(axis.get_label_text()) or (bool(ticks) and all(ticks))


def _render(fig):
    buf = io.BytesIO()
    with plotting.style():
        fig.savefig(buf, format="png", dpi=40)
    return buf.getvalue()


@pytest.mark.parametrize("name", sorted(CASES))
def test_returns_figure_with_labelled_axes(name):
    make_data, num_axes = CASES[name]
    fig = getattr(plotting, name)(make_data())
    assert isinstance(fig, Figure)
    assert len(fig.axes) == num_axes
    for ax in fig.axes:
        assert _labelled(ax.xaxis) and ax.get_ylabel(), ax
        assert ax.get_title() or ax.get_title(loc="left")
    assert _render(fig).startswith(b"\x89PNG")


def test_information_axes_are_in_bits():
    for name in ("fig_total_correlation", "fig_optimal_schedule"):
        fig = getattr(plotting, name)(CASES[name][0]())
        assert all("[bits]" in ax.get_ylabel() for ax in fig.axes), name


@pytest.mark.parametrize("name", sorted(CASES))
def test_draws_into_given_axes(name):
    make_data, num_axes = CASES[name]
    fig = Figure()
    axes = fig.subplots(num_axes // 3 if num_axes > 2 else 1, min(num_axes, 3))
    out = getattr(plotting, name)(make_data(), axes=axes)
    assert out is fig
    assert all(_labelled(ax.xaxis) and ax.get_ylabel() for ax in fig.axes)


def test_all_zero_bounds_draw_without_warnings():
    data = optimal_schedule_data()
    data["panels"][1]["optimal_bits"] = [-1e-17, 0.0]  # e.g. Copy: C(Y|X) = 0
    _render(plotting.fig_optimal_schedule(data))


def test_style_leaves_global_rcparams_alone():
    before = dict(mpl.rcParams)
    with plotting.style():
        assert mpl.rcParams["savefig.dpi"] == 200
    plotting.fig_total_correlation(total_correlation_data())
    assert dict(mpl.rcParams) == before
