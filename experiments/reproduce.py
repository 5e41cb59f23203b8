"""Main job: every table and figure of trilemma, written into figures/.

Runs the steps below in order, with a progress bar over steps on stderr and one line
per output written on stdout: the exact tables and figures, then the shipped dLLM's
exact fit and decoding, its sample files, the estimates from them beside the exact
values, the estimators' validation, and last the diversity-loss table. Each output is
written atomically (temporary file, then `os.replace`), so an interrupt loses nothing
already written and never leaves a truncated file. Takes about a quarter of an hour
on two cores; the model's fit, its exact decoding figure, the sampling and the
estimator study are the slowest parts.

  python experiments/reproduce.py                 # everything
  python experiments/reproduce.py --list          # the steps
  python experiments/reproduce.py --only tables   # one step (repeatable)
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


class Step(NamedTuple):
    """One reproduction step: a name, what it makes, and `run(outdir, progress)`."""

    name: str
    description: str
    run: Callable[..., list[Path]]


def steps() -> list[Step]:
    """The steps, in the order they run."""
    from experiments import (
        decoding_table,
        diversity_loss_table,
        fig_decoding_accuracy,
        fig_estimated_points,
        fig_estimator_validation,
        fig_fluency_diversity,
        fig_frontier,
        fig_model_decoding,
        fig_model_sampling,
        fig_optimal_schedule,
        fig_parallelbench,
        fig_product_of_experts,
        fig_total_correlation,
        fig_trilemma_frontier,
        model_fit,
        pbx,
        tables,
    )

    return [
        Step(
            "fluency_diversity",
            "figure: blog split vs support split and exact PRD, three scenarios",
            lambda outdir, progress: fig_fluency_diversity.run(outdir),
        ),
        Step(
            "total_correlation",
            "figure: C(Y|X) [bits] vs n, exact vs closed form",
            fig_total_correlation.run,
        ),
        Step(
            "optimal_schedule",
            "figure: optimal L*_T [bits] vs T at n = 6",
            fig_optimal_schedule.run,
        ),
        Step(
            "product_of_experts",
            "figure + JSON: APD's product of experts vs R (entropy, recall, KL)",
            fig_product_of_experts.run,
        ),
        Step(
            "tables",
            "tables.md / tables.json: C(Y|X) checks and L*_T schedules",
            tables.run,
        ),
        Step(
            "decoding_table",
            "decoding_table.md / .json: exact top-k and threshold accuracy vs the "
            "paper's statements, n <= 8",
            decoding_table.run,
        ),
        Step(
            "decoding_accuracy",
            "figure: ParallelBench Fig. 2 for the ideal model (accuracy vs k, gamma)",
            fig_decoding_accuracy.run,
        ),
        Step(
            "trilemma_frontier",
            "figure + JSON: tokens per step vs precision, recall, entropy ratio",
            fig_trilemma_frontier.run,
        ),
        Step(
            "frontier",
            "figure + JSON + table: the exact optimal adaptive frontier beside every "
            "sampler's exact point and speculative decoding; L^adapt_T vs L*_T",
            fig_frontier.run,
        ),
        Step(
            "pbx",
            "pbx.md / .json + figure: PB90/80/70/60 of the ideal model per family",
            pbx.run,
        ),
        Step(
            "parallelbench",
            "parallelbench.md / .json + figure: ParallelBench's logged runs (the "
            "committed excerpt) per setting, against their results files, with "
            "intervals",
            fig_parallelbench.run,
        ),
        Step(
            "model_fit",
            "model_fit.md / .json: the shipped models' exact fit (accuracy, KL, "
            "recall, one-step KL vs C(Y|X)), held in and held out",
            model_fit.run,
        ),
        Step(
            "model_decoding",
            "figure + JSON: accuracy and valid entropy vs tokens per step, shipped "
            "denoiser vs ideal model, exact",
            fig_model_decoding.run,
        ),
        Step(
            "model_sampling",
            "figure + JSON: Monte Carlo accuracy (95% intervals) of the shipped "
            "denoiser's sample files vs tokens per step, beside the exact curves",
            fig_model_sampling.run,
        ),
        Step(
            "estimated_points",
            "figures + JSON: trilemma points estimated from samples (95% intervals) "
            "beside the exact ones, ideal vs shipped model; diversity loss vs speed",
            fig_estimated_points.run,
        ),
        Step(
            "estimator_validation",
            "figure + JSON: estimator bias and 95% interval coverage vs samples per "
            "prompt, on exact sampler laws (ideal, shipped, q = p*)",
            fig_estimator_validation.run,
        ),
        Step(
            "diversity_loss",
            "diversity_loss.md / .json: the shipped denoiser's samplers estimated "
            "from their sample files against p*, with intervals (printed last)",
            diversity_loss_table.run,
        ),
    ]


def main(argv: list[str] | None = None) -> int:
    import matplotlib

    matplotlib.use("Agg")
    from tqdm.auto import tqdm

    from experiments import _common

    _common.enable_x64()
    all_steps = steps()
    names = [s.name for s in all_steps]
    parser = argparse.ArgumentParser(
        description="Reproduce trilemma's exact figures and tables into figures/."
    )
    parser.add_argument(
        "--only",
        action="append",
        choices=names,
        metavar="NAME",
        help=f"run only this step (repeatable); one of {', '.join(names)}",
    )
    parser.add_argument("--list", action="store_true", help="list the steps and exit")
    parser.add_argument(
        "--outdir",
        type=Path,
        default=_common.FIGURES,
        help="output directory (default: figures/ at the repo root)",
    )
    args = parser.parse_args(argv)
    if args.list:
        for s in all_steps:
            print(f"{s.name:<18} {s.description}")
        return 0
    chosen = [s for s in all_steps if not args.only or s.name in args.only]

    start = time.perf_counter()
    written = 0
    bar = tqdm(chosen, desc="reproduce", unit="step", file=sys.stderr, leave=True)
    try:
        for s in bar:
            bar.set_postfix_str(s.name)
            t0 = time.perf_counter()

            def progress(message: str, name: str = s.name) -> None:
                bar.set_postfix_str(f"{name}: {message}")

            paths = s.run(args.outdir, progress)
            took = time.perf_counter() - t0
            for path in paths:
                tqdm.write(
                    f"[{s.name}] wrote {_common.describe(path)} ({took:.1f} s step)",
                    file=sys.stdout,
                )
                written += 1
    except KeyboardInterrupt:
        bar.close()
        print(
            f"interrupted: {written} output(s) already written are complete; "
            "the step in progress wrote nothing partial.",
            file=sys.stderr,
        )
        return 130
    bar.close()
    print(
        f"done: {written} outputs in {time.perf_counter() - start:.1f} s",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
