"""The main job's cheap steps regenerate the committed outputs in figures/.

README, "Reproduction": with the locked versions (requirements/lock.txt) `make
reproduce` writes the committed figures/ byte for byte on the machine kind that made
them; on a CPU with other vector units the JSON numbers move in the last bits. Two
steps of `experiments/reproduce.py` that take seconds, not the whole job, are rerun
here into a temporary folder, in a process of their own as `make reproduce` runs
them, and compared with the committed files: figures (PNG, PDF) byte for byte (these
two steps' figures were byte-identical with XLA and NumPy limited to AVX2 as well),
JSON numbers to `RTOL` relative or `ATOL` absolute.
"""

import json
import math
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FIGURES = ROOT / "figures"
STEPS = ("total_correlation", "product_of_experts")
OUTPUTS = {
    "product_of_experts.json",
    "product_of_experts.pdf",
    "product_of_experts.png",
    "total_correlation.pdf",
    "total_correlation.png",
}
RTOL = 1e-9
ATOL = 1e-12
"""Tolerances of a JSON number (README, "Reproduction"): the 534 numbers that differed
between the main job on AVX-512 and with XLA and NumPy limited to AVX2 differed by at
most 2.7e-15 (bits and probabilities, of order 1); a table prints 4 decimals."""


def json_mismatches(new, old, where: str = "") -> list[str]:
    """Where two parsed JSON values differ, as readable lines; none if they agree.

    Structure, text and integers must be equal; floating-point numbers within
    `RTOL` of the larger magnitude or `ATOL`.
    """
    if isinstance(new, dict) and isinstance(old, dict):
        if new.keys() != old.keys():
            return [f"{where or '/'}: keys {sorted(new)} != {sorted(old)}"]
        return [m for k in new for m in json_mismatches(new[k], old[k], f"{where}/{k}")]
    if isinstance(new, list) and isinstance(old, list):
        if len(new) != len(old):
            return [f"{where}: length {len(new)} != {len(old)}"]
        return [
            m
            for i, (a, b) in enumerate(zip(new, old, strict=True))
            for m in json_mismatches(a, b, f"{where}[{i}]")
        ]
    if isinstance(new, float) or isinstance(old, float):
        numbers = all(isinstance(v, int | float) for v in (new, old))
        if numbers and (
            new == old or math.isclose(new, old, rel_tol=RTOL, abs_tol=ATOL)
        ):
            return []
    elif new == old and type(new) is type(old):
        return []
    return [f"{where}: {new!r} != {old!r}"]


def test_json_mismatches_within_tolerance_only():
    old = {"a": [1, 0.5, "x", 0.0], "b": None}
    assert json_mismatches(old, old) == []
    assert json_mismatches({"a": [1, 0.5 + 1e-12, "x", 2e-16], "b": None}, old) == []
    assert json_mismatches({"a": [1.0, 0.5, "x", 0.0], "b": None}, old) == []
    for new in (
        {"a": [1, 0.5 + 1e-7, "x", 0.0], "b": None},  # a digit a table may print
        {"a": [1, 0.5, "x", 1e-9], "b": None},
        {"a": [2, 0.5, "x", 0.0], "b": None},
        {"a": [1, 0.5, "y", 0.0], "b": None},
        {"a": [1, 0.5, "x"], "b": None},
        {"a": [1, 0.5, "x", 0.0]},
        {"a": [1, 0.5, "x", 0.0], "b": 0.0},
    ):
        assert json_mismatches(new, old), new


def test_cheap_steps_reproduce_the_committed_outputs(tmp_path):
    # One test, so that pytest-xdist runs the steps once (a fixture shared by
    # several tests would run once per worker).
    only = [arg for step in STEPS for arg in ("--only", step)]
    run = subprocess.run(
        [sys.executable, str(ROOT / "experiments" / "reproduce.py"), *only]
        + ["--outdir", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    assert {p.name for p in tmp_path.iterdir()} == OUTPUTS
    differ = []
    for name in sorted(OUTPUTS):
        new, old = tmp_path / name, FIGURES / name
        if name.endswith(".json"):
            mismatches = json_mismatches(
                json.loads(new.read_text(encoding="utf-8")),
                json.loads(old.read_text(encoding="utf-8")),
            )
            if mismatches:
                differ.append(f"{name}: {len(mismatches)} numbers, {mismatches[:3]}")
        elif new.read_bytes() != old.read_bytes():
            differ.append(f"{name}: bytes")
    assert not differ, (
        "regenerated outputs differ from the committed figures/ (not made with "
        "requirements/lock.txt, or a step's output changed: make reproduce, then "
        f"commit figures/): {differ}"
    )
