"""The shipped-model figures draw from their committed data."""

import io
import json
from pathlib import Path

import pytest
from matplotlib.figure import Figure

from trilemma import plotting

FIGURES = Path(__file__).resolve().parent.parent / "figures"


@pytest.mark.parametrize(
    ("name", "stem", "rows"),
    [
        ("fig_model_decoding", "model_decoding", 2),
        ("fig_model_sampling", "model_sampling", 1),
    ],
)
def test_model_figures_draw_every_panel(name, stem, rows):
    data = json.loads((FIGURES / f"{stem}.json").read_text())
    fig = getattr(plotting, name)(data)
    assert isinstance(fig, Figure)
    assert len(fig.axes) == rows * len(data["panels"])
    titles = [ax.get_title() for ax in fig.axes if ax.get_title()]
    assert titles == [p["label"] for p in data["panels"]]
    assert all(
        ax.get_xlabel() == "tokens per step" for ax in fig.axes[-len(data["panels"]) :]
    )
    buf = io.BytesIO()
    with plotting.style():
        fig.savefig(buf, format="png", dpi=30)
    assert buf.getvalue().startswith(b"\x89PNG")


def test_sampling_figure_has_an_interval_per_sampled_point():
    """Each Monte Carlo point's interval holds its estimate."""
    data = json.loads((FIGURES / "model_sampling.json").read_text())
    for panel in data["panels"]:
        for series in panel["monte_carlo"]:
            for low, y, high in zip(
                series["ci_low"], series["accuracy"], series["ci_high"], strict=True
            ):
                assert 0 <= low <= y <= high <= 1
