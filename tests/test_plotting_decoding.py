"""Smoke tests of the decoding figures in trilemma.plotting (Agg, synthetic data)."""

import io

import matplotlib

matplotlib.use("Agg")

import matplotlib as mpl  # noqa: E402
import pytest  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from trilemma import plotting  # noqa: E402
from trilemma.plotting import _decoding_accuracy, _style  # noqa: E402
from trilemma.samplers import SAMPLERS  # noqa: E402


def decoding_accuracy_data():
    def series(n, sampler, shift):
        ks = list(range(1, n + 1))
        return {
            "n": n,
            "sampler": sampler,
            "k": ks,
            "accuracy": [max(0.01, 1 - shift * (k - 1)) for k in ks],
        }

    topk = {
        "kind": "k",
        "title": "(a) top-k",
        "log_y": True,
        "series": [
            series(n, s, 0.2)
            for n in (3, 4)
            for s in ("random_topk", "confidence_topk")
        ],
        "lines": [
            {"n": 3, "k": [1, 2, 3], "accuracy": [1, 0.5, 0.2], "style": "solid"},
            {
                "n": 4,
                "k": [1, 2, 3, 4],
                "accuracy": [1, 0.4, 0.3, 0.1],
                "style": "dashed",
            },
        ],
        "line_labels": {"solid": "closed form", "dashed": "other closed form"},
        "note": "a note",
    }
    paper = dict(topk, log_y=False, title="(b) with paper", legend_loc="upper right")
    paper["paper"] = {"k": [1, 2, 3, 4], "accuracy": [1, 0.5, 0, 0], "label": "paper"}
    gamma = {
        "kind": "gamma",
        "title": "(c) threshold",
        "rules": [
            {
                "rule": rule,
                "label": rule,
                "points": [[0.0, 0.0], [0.5, value], [1.0, 1.0]],
                "intervals": [[0.0, 0.5, 0.0], [0.5, 1.0, 1.0]],
            }
            for rule, value in (("threshold", 0.0), ("threshold_strict", 1.0))
        ],
        "markers": [{"gamma": 0.5, "label": "1/2"}],
    }
    return {
        "panels": [topk, paper, gamma],
        "n_values": [3, 4],
        "ncols": 2,
        "caption": "caption",
    }


def trilemma_frontier_data():
    def curve(family, temperature):
        return {
            "family": family,
            "temperature": temperature,
            "label": f"{family} {temperature}",
            "x": [1.0, 2.0, 3.0],
            "precision": [1.0, 0.6, 0.2],
            "recall": [1.0, 1.0, 0.5],
            "entropy_ratio": [1.0, 1.1, None],
        }

    rows = [
        {"title": "task one", "curves": [curve("random_topk", 1.0), curve("eb", 0.0)]},
        {"title": "task two", "curves": [curve("unknown", 0.0)]},
    ]
    return {"rows": rows, "legend_order": ["eb 0.0"], "caption": "caption"}


def pbx_data():
    curves = [
        {
            "id": "threshold",
            "label": "threshold",
            "x": [1, 2, 3],
            "score": [100, 90, 70],
        },
        {"id": "other", "label": "other", "x": [1, 2], "score": [95, 60]},
    ]
    published = [{"label": "model", "x": [1, 2, 4], "score": [85, 70, 50]}]
    return {"curves": curves, "published": published, "levels": [90, 80]}


CASES = {
    "fig_decoding_accuracy": decoding_accuracy_data,
    "fig_trilemma_frontier": trilemma_frontier_data,
    "fig_pbx": pbx_data,
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_figure_draws_and_saves(name):
    before = dict(mpl.rcParams)
    fig = getattr(plotting, name)(CASES[name]())
    assert isinstance(fig, Figure)
    buffer = io.BytesIO()
    with plotting.style():
        fig.savefig(buffer, format="png", dpi=40)
    assert buffer.getvalue()[:4] == b"\x89PNG"
    assert dict(mpl.rcParams) == before  # no global style change
    assert name in plotting.__all__


def test_axes_carry_units():
    fig = plotting.fig_trilemma_frontier(trilemma_frontier_data())
    labels = {ax.get_xlabel() for ax in fig.axes if ax.get_visible()}
    assert labels == {"tokens per step"}
    ratio = [ax.get_ylabel() for ax in fig.axes if "H(q" in ax.get_ylabel()]
    assert ratio and all("bits" in label for label in ratio)
    fig = plotting.fig_decoding_accuracy(decoding_accuracy_data())
    xlabels = [ax.get_xlabel() for ax in fig.axes if ax.get_visible()]
    assert "k (tokens per step)" in xlabels
    fig = plotting.fig_pbx(pbx_data())
    assert {ax.get_xlabel() for ax in fig.axes} == {"average tokens per step"}


def test_draws_into_given_axes():
    fig = Figure()
    axes = fig.subplots(1, 3)
    out = plotting.fig_decoding_accuracy(decoding_accuracy_data(), axes=list(axes))
    assert out is fig
    grid = Figure().subplots(2, 3)
    out = plotting.fig_trilemma_frontier(trilemma_frontier_data(), axes=grid)
    assert out is grid[0, 0].figure
    ax = Figure().subplots(1, 2)
    assert plotting.fig_pbx(pbx_data(), axes=list(ax)) is ax[0].figure


NEW = "sampler_not_in_any_table"
"""A sampler name no style table lists, as a new entry of `SAMPLERS` would be."""


def _legend_markers(fig):
    """Legend label -> marker, over every legend of the figure and its axes."""
    legends = [*fig.legends, *(ax.get_legend() for ax in fig.axes)]
    return {
        text.get_text(): handle.get_marker()
        for legend in legends
        if legend is not None
        for text, handle in zip(legend.get_texts(), legend.legend_handles, strict=True)
    }


def test_every_sampler_name_draws():
    """Figures keyed by sampler name draw every registered (and a new) sampler.

    One figure of each kind holds a series per name, so each name's style is looked
    up and drawn (with the others') at once.
    """
    names = [*SAMPLERS, NEW]
    data = decoding_accuracy_data()
    series, rule = data["panels"][0]["series"][0], data["panels"][2]["rules"][0]
    data["panels"][0]["series"] = [{**series, "sampler": name} for name in names]
    data["panels"][2]["rules"] = [{**rule, "rule": name} for name in names]
    frontier = trilemma_frontier_data()
    curve = frontier["rows"][0]["curves"][0]
    frontier["rows"][0]["curves"] = [{**curve, "family": name} for name in names]
    pbx = pbx_data()
    pbx["curves"] = [{**pbx["curves"][0], "id": name} for name in names]
    figures = (
        plotting.fig_decoding_accuracy(data),
        plotting.fig_trilemma_frontier(frontier),
        plotting.fig_pbx(pbx),
    )
    # the sampler legend lists every name drawn ("random_topk" as "random top-k")
    listed = set(_legend_markers(figures[0]))
    shown = {n.replace("_topk", " top-k").replace("_", " ") for n in names}
    assert shown <= listed and len(shown) == len(names)
    for fig in figures:
        with plotting.style():
            fig.savefig(io.BytesIO(), format="png", dpi=20)


def test_unlisted_sampler_gets_its_own_fallback_marker():
    data = decoding_accuracy_data()
    data["panels"][0]["series"].insert(
        0, {"n": 3, "sampler": NEW, "k": [1, 2], "accuracy": [1.0, 0.5]}
    )
    data["panels"][2]["rules"][0].update(rule=NEW, label="new rule")
    markers = _legend_markers(plotting.fig_decoding_accuracy(data))
    # the sampler legend lists the samplers drawn, in order of appearance
    assert [k for k in markers if "top-k" in k or k.startswith("sampler")] == [
        "sampler not in any table",
        "random top-k",
        "confidence top-k",
    ]
    assert markers["sampler not in any table"] in _style.FALLBACK_MARKERS
    assert markers["new rule"] in _style.FALLBACK_MARKERS
    assert (markers["random top-k"], markers["confidence top-k"]) == ("o", "s")

    frontier = trilemma_frontier_data()
    frontier["rows"][0]["curves"][0]["family"] = NEW
    frontier["legend_order"] = ["random_topk 1.0", "eb 0.0"]
    markers = _legend_markers(plotting.fig_trilemma_frontier(frontier))
    assert markers["random_topk 1.0"] in _style.FALLBACK_MARKERS
    assert markers["eb 0.0"] == "P"


def test_fallback_markers_are_unused_by_listed_samplers():
    """So a sampler without a style never looks like one with a style."""
    tables = (
        _decoding_accuracy._SAMPLER_MARKERS,
        _decoding_accuracy._RULE_STYLES,
        _style.FAMILY_STYLES,
    )
    used = {st["marker"] for table in tables for st in table.values()}
    assert not used & set(_style.FALLBACK_MARKERS)
