"""The estimated-point figures draw their data: intervals, estimates, exact marks."""

import io

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from trilemma import plotting  # noqa: E402

NAMES = (
    "precision",
    "recall",
    "valid_entropy_bits",
    "entropy_drop_bits",
    "tokens_per_step",
)


def _metric(estimate, low, high):
    return {"estimate": estimate, "ci_low": low, "ci_high": high}


def _point(sampler, setting, label, est, exact):
    return {
        "sampler": sampler,
        "setting": setting,
        "label": label,
        "estimated": {
            name: _metric(*values) for name, values in zip(NAMES, est, strict=True)
        },
        "exact": dict(zip(NAMES, exact, strict=True)),
    }


def _points():
    return [
        _point(
            "random_topk",
            0,
            "random top-k, k = 1",
            [(0.9, 0.85, 0.95), (0.8, 0.7, 0.9), (2.0, 1.8, 2.1), (0.5, 0.4, 0.7)]
            + [(1.0, 1.0, 1.0)],
            (0.92, 1.0, 2.2, 0.3, 1.0),
        ),
        _point(  # its recall estimate lies below its own interval
            "random_topk",
            1,
            "random top-k, k = 2",
            [(0.4, 0.35, 0.45), (0.6, 0.65, 0.8), (3.0, 2.9, 3.2), (-0.5, -0.7, -0.4)]
            + [(2.0, 2.0, 2.0)],
            (0.42, 1.0, None, None, 2.0),
        ),
        _point(  # estimated only
            "apd",
            0,
            "APD, R = 0.3",
            [(0.5, 0.45, 0.55), (0.9, 0.8, 0.95), (2.5, 2.4, 2.6), (0.0, -0.1, 0.1)]
            + [(1.6, 1.5, 1.7)],
            (None, None, None, None, None),
        ),
    ]


def _data():
    panel = {"label": "Shuffle, n = 4", "reference_entropy_bits": 2.5}
    return {
        "caption": "tiny synthetic data",
        "points": {
            "panels": [
                {
                    **panel,
                    "models": [
                        {"label": "ideal model", "points": _points()[:2]},
                        {"label": "trained model", "points": _points()},
                    ],
                }
            ],
            "caption": "tiny synthetic data",
        },
        "speed": {
            "panels": [{**panel, "points": _points()}],
            "caption": "tiny synthetic data",
        },
    }


def _by_gid(fig, suffix):
    """`{label: artist}` of the artists whose gid ends with `|suffix`."""
    found = {}
    for ax in fig.axes:
        for artist in [*ax.lines, *ax.collections]:
            gid = artist.get_gid() or ""
            if gid.endswith(f"|{suffix}"):
                found.setdefault(gid.rsplit("|", 1)[0], []).append(artist)
    return found


def _segment(collection):
    (segment,) = collection.get_segments()
    return np.asarray(segment)


def _check_png(fig):
    buf = io.BytesIO()
    with plotting.style():
        fig.savefig(buf, format="png", dpi=30)
    assert buf.getvalue().startswith(b"\x89PNG")


def test_estimated_points_intervals_are_the_data():
    """Each bar spans its interval exactly, even when the estimate is outside it."""
    data = _data()["points"]
    fig = plotting.fig_estimated_points(data)
    assert isinstance(fig, Figure)
    assert len(fig.axes) == 3
    points = {p["label"]: p for p in data["panels"][0]["models"][1]["points"]}
    recall_bars = _by_gid(fig, "ci:recall")
    precision_bars = _by_gid(fig, "ci:precision")
    entropy_bars = _by_gid(fig, "ci:valid_entropy_bits")
    for label, point in points.items():
        est = point["estimated"]
        bar = _segment(recall_bars[label][-1])  # the trained model's panel
        np.testing.assert_allclose(
            bar[:, 0], [est["recall"]["ci_low"], est["recall"]["ci_high"]]
        )
        np.testing.assert_allclose(bar[:, 1], est["precision"]["estimate"])
        bar = _segment(precision_bars[label][-1])
        np.testing.assert_allclose(
            bar[:, 1], [est["precision"]["ci_low"], est["precision"]["ci_high"]]
        )
        np.testing.assert_allclose(bar[:, 0], est["recall"]["estimate"])
        bar = _segment(entropy_bars[label][-1])
        entropy = est["valid_entropy_bits"]
        np.testing.assert_allclose(bar[:, 0], [entropy["ci_low"], entropy["ci_high"]])
    _check_png(fig)


def test_estimated_points_mark_exact_values_where_known():
    data = _data()["points"]
    fig = plotting.fig_estimated_points(data)
    exact = _by_gid(fig, "exact")
    estimates = _by_gid(fig, "estimate")
    # k = 1: exact (recall, precision) and entropy in both models' panels; k = 2:
    # (recall, precision) only; APD: none
    assert len(exact["random top-k, k = 1"]) == 4
    assert len(exact["random top-k, k = 2"]) == 2
    assert "APD, R = 0.3" not in exact
    assert len(estimates["APD, R = 0.3"]) == 2  # its PR panel and the entropy panel
    marker = exact["random top-k, k = 2"][0]
    np.testing.assert_allclose(marker.get_xydata(), [[1.0, 0.42]])
    assert marker.get_markerfacecolor() == "white"
    links = _by_gid(fig, "link")["random top-k, k = 2"][0].get_xydata()
    np.testing.assert_allclose(links, [[1.0, 0.42], [0.6, 0.4]])
    entropy_ax = fig.axes[2]
    (line,) = [ln for ln in entropy_ax.lines if ln.get_gid() == "reference_entropy"]
    np.testing.assert_allclose(line.get_xdata(), 2.5)
    assert entropy_ax.get_xlabel() == r"valid-output entropy $H(q_V \mid X)$ [bits]"


def test_diversity_speed_draws_each_point_against_tokens_per_step():
    data = _data()["speed"]
    fig = plotting.fig_diversity_speed(data)
    assert len(fig.axes) == 2
    top, bottom = fig.axes
    assert top.get_title() == "Shuffle, n = 4"
    assert bottom.get_xlabel() == "tokens per step"
    assert "[bits]" in top.get_ylabel()
    for point in data["panels"][0]["points"]:
        label, est = point["label"], point["estimated"]
        drop = [
            c for c in top.collections if c.get_gid() == f"{label}|ci:entropy_drop_bits"
        ]
        bar = _segment(drop[0])
        np.testing.assert_allclose(
            bar[:, 1],
            [est["entropy_drop_bits"]["ci_low"], est["entropy_drop_bits"]["ci_high"]],
        )
        np.testing.assert_allclose(bar[:, 0], est["tokens_per_step"]["estimate"])
        (speed,) = [
            c
            for c in bottom.collections
            if c.get_gid() == f"{label}|ci:tokens_per_step"
        ]
        np.testing.assert_allclose(
            _segment(speed)[:, 0],
            [est["tokens_per_step"]["ci_low"], est["tokens_per_step"]["ci_high"]],
        )
    exact = _by_gid(fig, "exact")
    assert len(exact["random top-k, k = 1"]) == 2  # entropy drop and recall
    assert len(exact["random top-k, k = 2"]) == 1  # recall only
    np.testing.assert_allclose(exact["random top-k, k = 2"][0].get_xydata(), [[2, 1]])
    _check_png(fig)


def test_one_model_per_row_is_refused_without_axes():
    data = _data()["points"]
    data["panels"][0]["models"] = data["panels"][0]["models"][:1]
    with pytest.raises(ValueError, match="two models"):
        plotting.fig_estimated_points(data)


def test_estimator_validation_draws_its_data():
    """Each bias and coverage line carries its series; the nominal level is drawn."""
    data = {
        "sizes": [10, 100, 1000],
        "repeats": 50,
        "level": 0.95,
        "default_entropy_estimator": "grassberger",
        "caption": "tiny",
        "panels": [
            {
                "label": "a",
                "entropy_bias_bits": {
                    "plugin": [-0.5, -0.1, -0.01],
                    "grassberger": [-0.1, 0.01, 0.0],
                },
                "coverage": {"tv": [0.5, 0.9, 0.94], "precision": [1.0, 0.96, 0.95]},
            }
        ],
    }
    fig = plotting.fig_estimator_validation(data)
    left, right = fig.axes[:2]
    lines = {line.get_label(): line for line in left.get_lines()}
    np.testing.assert_allclose(lines["plugin"].get_ydata(), [-0.5, -0.1, -0.01])
    assert lines["grassberger"].get_linewidth() > lines["plugin"].get_linewidth()
    lines = {line.get_label(): line for line in right.get_lines()}
    np.testing.assert_allclose(lines["TV"].get_xdata(), [10, 100, 1000])
    np.testing.assert_allclose(lines["TV"].get_ydata(), [0.5, 0.9, 0.94])
    levels = [ln.get_ydata()[0] for ln in right.get_lines() if len(ln.get_ydata()) == 2]
    assert 0.95 in levels
    fig.savefig(io.BytesIO(), format="png")
