r"""Figure + JSON + table: the true trilemma frontier beside every sampler (issue 19).

For each task, the ideal model's **exact optimal adaptive unmasking policy**
(`trilemma.frontier`: every masked position draws from its exact marginal, the
policy commits any non-empty subset of the draws, chosen from the state and the
draws) gives the largest accuracy (ParallelBench's grader) reachable at each
expected number of forward passes E[NFE]: the upper convex hull over a price per
step, randomised policies filling the segments. Beside it:

* the frontier of the smaller class whose set is chosen before drawing (how much
  of the confidence samplers' gain comes from looking at their draws);
* every registered sampler's exact point (`trilemma.simulate`, the sweeps of
  `fig_trilemma_frontier`, plus DUS) at temperatures 0 and 1;
* speculative decoding (`trilemma.speculative`): an ideal dLLM drafts gamma tokens
  in one parallel step and $p^*$ verifies them with Leviathan et al.'s rule; its
  output law is exactly $p^*$, and its point sits at E[target calls];
* the valid entropy (diversity of the valid outputs, bits) of the frontier's
  vertex policies, of every sampler and of $p^*$;
* the adaptive T-step bound $L^{adapt}_T$ beside ParallelBench's static $L^*_T$
  (`trilemma.optimal_t_step_bound`) against T, with a random joint on which
  adaptivity helps.

The table "speed-up available at equal accuracy" divides each sampler's E[NFE] by
the least E[NFE] at which the optimal adaptive policy (same temperature) reaches
the same accuracy.

  python experiments/fig_frontier.py [--outdir figures]
"""

from __future__ import annotations

import math
import statistics
import sys
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np

from experiments import _common
from experiments import _decoding as D
from experiments import fig_trilemma_frontier as TF

STEM = "frontier"
TASKS = (
    ("shuffle", 5, "Shuffle, n = 5"),
    ("replace_random", 5, "Replace Random, n = 5"),
    ("latin_square", 3, "Latin Square 3×3"),
    ("cities", None, "Cities (poster)"),
    ("copula", None, "Copula (2 tokens)"),
)
BOUND_EXTRAS = (
    ("random_joint", 5, {"vocab": 2, "zeros": 0.6, "seed": 7}, "random joint, n = 5"),
    ("markov_chain", 6, {}, "Markov chain, n = 6"),
)
"""Extra tasks of the L^adapt_T panel (adaptivity helps on the first)."""
TEMPERATURES = (0.0, 1.0)
FAMILIES = tuple(family for family in TF.FAMILIES if family not in TF.STATEFUL)
"""The rule-based families of `fig_trilemma_frontier` (DUS included); the samplers
with state join below by their registry examples, on short outputs only."""
HEADLINE = (("shuffle", 5), ("confidence_topk", {"k": 2}))
FIDELITY_LAMS = (0.05, 0.5, 0.8, 1.0, 1.2, 1.5, 2.0, 3.0, 6.0)
"""Prices per step (nats) of the least-KL points; one Frank-Wolfe run each."""
FIDELITY_ITERATIONS = 40
FIDELITY_MAX_ENTRIES = 5_000_000
"""Larger draw tables (Latin Square 3x3) get the first price only: each Frank-Wolfe
step there is a DP over 2e7 entries."""
EXTRA_MAX_LENGTH = 6
"""Registry samplers outside `FAMILIES` (re-masking ones: ReMDM, RCR) join the tasks
with at most this many output tokens (their exact law on Latin Square 3x3 takes
minutes)."""


def _settings(family: str, task: str, length: int):
    if family == "dus":
        return [("block", None, {}), ("block", 2, {"block": 2})]
    return TF.sweep(family, task, length)


def _sampler_sweep(task: str, length: int):
    """`(family, temperature, parameter, value, params)` of every point drawn.

    The sweeps of `FAMILIES` at both temperatures, then, on outputs of at most
    `EXTRA_MAX_LENGTH` tokens, the registry examples of every other one-model
    sampler (re-masking ones included, flagged) whose temperature is 0 or 1.
    """
    import trilemma.samplers as S

    for family in FAMILIES:
        for temperature in TEMPERATURES:
            for pname, value, params in _settings(family, task, length):
                params = {**params, "temperature": temperature}
                yield family, temperature, pname, value, params
    if length > EXTRA_MAX_LENGTH:
        return
    examples = getattr(S, "EXAMPLES", {})
    for family in S.SAMPLERS:
        if family in FAMILIES:
            continue
        for i, params in enumerate(examples.get(family, ())):
            sampler = S.SAMPLERS[family](**params)
            temperature = float(getattr(sampler, "temperature", -1.0))
            if getattr(sampler, "num_models", 1) != 1 or temperature not in (
                TEMPERATURES
            ):
                continue
            yield family, temperature, "example", i, dict(params)


def _sampler_entry(name, n, fronts, family, temperature, pname, value, params):
    """One sampler setting's exact point beside the frontier of its temperature."""
    p = D.point(name, n, family, D.params_key(params))
    best = fronts[(temperature, "accuracy", "adaptive")]
    fixed = fronts[(temperature, "accuracy", "fixed")]
    opt = float(best.nfe_for(p["accuracy"]))
    beats_one_step = p["accuracy"] > best.values[0] + 1e-12
    return {
        "family": family,
        "temperature": temperature,
        "parameter": pname,
        "value": value,
        "expected_nfe": p["expected_nfe"],
        "accuracy": p["accuracy"],
        "precision": p["precision"],
        "recall": p["recall"],
        "valid_entropy_bits": p["valid_entropy_bits"],
        "kl_reference_to_sampler_bits": p["kl_reference_to_sampler_bits"],
        "optimal_nfe_at_equal_accuracy": _finite(opt),
        "fixed_class_nfe_at_equal_accuracy": _finite(
            float(fixed.nfe_for(p["accuracy"]))
        ),
        # defined where the one-step policy does not already reach the accuracy
        "speedup": _finite(p["expected_nfe"] / opt) if beats_one_step else None,
        "frontier_accuracy_at_equal_nfe": float(best.reward_at(p["expected_nfe"])),
        "remasks": _remasks(family, params),
    }


def _remasks(family: str, params: dict) -> bool:
    import trilemma.samplers as S

    return bool(getattr(S.SAMPLERS[family](**params), "remasks", False))


def _finite(x):
    x = float(x)
    return x if math.isfinite(x) else None


def _bits(x):
    return _finite(x / math.log(2))


def compute(progress=None) -> dict:
    """Every number of the figure and the tables (see the module docstring)."""
    import trilemma as T
    from trilemma import frontier as F
    from trilemma.speculative import speculative

    _common.enable_x64()
    rows = []
    for name, n, title in TASKS:
        if progress is not None:
            progress(f"frontier {name}")
        task = _common.task(name, n)
        length = len(task.outputs)
        space = F.StateSpace(task)
        fronts = {}
        fidelity = []
        for temperature in TEMPERATURES:
            table = F.DrawTable(space, temperature)
            if temperature == 1.0:
                fidelity = _fidelity(table)
            for reward, cls in (
                ("accuracy", "adaptive"),
                ("accuracy", "fixed"),
                ("precision", "adaptive"),
            ):
                fr = F.frontier(table, reward=reward, policy_class=cls)
                fronts[(temperature, reward, cls)] = fr
        frontier_rows = [
            {
                "temperature": t,
                "reward": r,
                "policy_class": c,
                "solves": fr.solves,
                "vertices": [_vertex(task, v) for v in fr.vertices],
            }
            for (t, r, c), fr in fronts.items()
        ]
        reference_bits = _bits(_reference_entropy(task))
        samplers = [
            _sampler_entry(name, n, fronts, *setting)
            for setting in _sampler_sweep(name, length)
        ]
        _check_dominance(name, samplers)
        spec = []
        for gamma in range(1, length + 1):
            s = speculative(task, gamma)
            spec.append(
                {
                    "gamma": gamma,
                    "expected_target_calls": s.expected_calls,
                    "tokens_per_call": s.tokens_per_call,
                    "first_call_tokens": s.first_call_tokens,
                    "accuracy": s.accuracy,
                    "valid_entropy_bits": reference_bits,
                    "law_error": float(
                        np.max(np.abs(s.q_rows - np.asarray(task.joint.probs)))
                    ),
                }
            )
        rows.append(
            {
                "task": name,
                "n": n,
                "title": title,
                "output_length": length,
                "valid_states": space.num_states,
                "reference_entropy_bits": reference_bits,
                "frontiers": frontier_rows,
                "samplers": samplers,
                "speculative": spec,
                "fidelity": fidelity,
                "bounds": _bounds(task, space),
            }
        )
    extras = []
    for name, n, options, title in BOUND_EXTRAS:
        if progress is not None:
            progress(f"L^adapt_T {name}")
        task = T.make_task(name, n, **options)
        extras.append(
            {"task": name, "n": n, "options": options, "title": title}
            | {"bounds": _bounds(task, F.StateSpace(task))}
        )
    return {"rows": rows, "bound_extras": extras, "headline": _headline(rows)}


def _check_dominance(name: str, samplers: list[dict]) -> None:
    """Every sampler lies under the adaptive frontier of its temperature."""
    bad = [
        s
        for s in samplers
        if not s["remasks"]
        and s["accuracy"] > s["frontier_accuracy_at_equal_nfe"] + 1e-9
    ]
    if bad:
        raise RuntimeError(f"{name}: samplers above the optimal frontier: {bad[:3]}")


def _fidelity(table) -> list[dict]:
    """Least KL(p*||q) + lam E[NFE] over randomised adaptive policies, tau = 1."""
    from trilemma import frontier as F

    lams = FIDELITY_LAMS if table.entries <= FIDELITY_MAX_ENTRIES else FIDELITY_LAMS[:1]
    out = []
    for lam in lams:
        point = F.fidelity_point(table, lam, iterations=FIDELITY_ITERATIONS)
        out.append(
            {
                "lam_nats": lam,
                "expected_nfe": point.expected_nfe,
                "kl_bits": _bits(max(point.kl, 0.0)),
                "accuracy": point.accuracy,
                "precision": point.precision,
                "gap_bits": _bits(point.gap),
                "iterations": point.iterations,
            }
        )
    return out


def _reference_entropy(task) -> float:
    """H(p*(Y|X)) in nats."""
    probs = np.asarray(task.joint.probs, float)
    prompt = np.asarray(task.joint.outcomes[:, 0]).astype(int)
    mass = np.bincount(prompt, weights=probs)
    return float(-np.sum(probs * np.log(probs)) + np.sum(mass * np.log(mass)))


def _vertex(task, v) -> dict:
    import trilemma as T

    law = v.policy.law()
    point = T.in_bits(law.point(task))
    return {
        "expected_nfe": v.expected_nfe,
        "reward": v.expected_reward,
        "lam_low": v.lam_low,
        "lam_high": _finite(v.lam_high),
        "accuracy": law.accuracy,
        "precision": law.precision,
        "recall": point["recall"],
        "valid_entropy_bits": point["valid_entropy_bits"],
        "kl_reference_to_sampler_bits": _finite(point["kl_reference_to_sampler_bits"]),
    }


def _bounds(task, space) -> dict:
    import trilemma as T
    from trilemma import frontier as F

    adapt = F.adaptive_t_step_bounds(space).bounds
    static = [
        float(T.optimal_t_step_bound(task.joint, t, given=task.given).bound)
        for t in range(1, len(adapt) + 1)
    ]
    if any(a > s + 1e-9 for a, s in zip(adapt, static, strict=True)):
        raise RuntimeError(f"{task.name}: L^adapt_T above L*_T")
    return {
        "num_steps": list(range(1, len(adapt) + 1)),
        "adaptive_bits": [_bits(a) for a in adapt],
        "static_bits": [_bits(s) for s in static],
    }


def _headline(rows) -> list[dict]:
    """Confidence top-k at k = 2 on Shuffle n = 5 against the optimal policy."""
    (task, n), (family, params) = HEADLINE
    row = next(r for r in rows if r["task"] == task and r["n"] == n)
    out = []
    for s in row["samplers"]:
        if s["family"] == family and s["value"] == params["k"]:
            out.append(
                {
                    "task": task,
                    "n": n,
                    "sampler": f"{family}(k={params['k']})",
                    "temperature": s["temperature"],
                    "expected_nfe": s["expected_nfe"],
                    "accuracy": s["accuracy"],
                    "optimal_nfe_at_equal_accuracy": s["optimal_nfe_at_equal_accuracy"],
                    "frontier_accuracy_at_equal_nfe": s[
                        "frontier_accuracy_at_equal_nfe"
                    ],
                }
            )
    return out


# --------------------------------------------------------------------------------------
# Table


def table_markdown(data: dict) -> str:
    """The speed-up table, the frontier vertices and L^adapt_T vs L*_T (markdown)."""
    lines = ["# The true trilemma frontier (ideal model, exact)", ""]
    for h in data["headline"]:
        lines.append(
            f"- {h['sampler']} at temperature {h['temperature']:g} on {h['task']} "
            f"n = {h['n']}: E[NFE] = {h['expected_nfe']:.4f}, accuracy "
            f"{h['accuracy']:.4f}; the optimal adaptive policy reaches that accuracy "
            f"in E[NFE] = {h['optimal_nfe_at_equal_accuracy']:.4f} and, at the "
            f"sampler's E[NFE], accuracy {h['frontier_accuracy_at_equal_nfe']:.4f}."
        )
    lines += [
        "",
        "## Speed-up available at equal accuracy",
        "",
        "E[NFE] of the sampler over the least E[NFE] at which the optimal adaptive "
        "policy (same temperature) reaches the sampler's accuracy; median and best "
        "over the settings whose accuracy beats the one-step policy's (below it, one "
        "step is already as accurate); the best setting's numbers beside it.",
        "",
        "| task | sampler | τ | median | max | at | E[NFE] | accuracy | "
        "optimal E[NFE] |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for row in data["rows"]:
        groups = {}
        for s in row["samplers"]:
            groups.setdefault((s["family"], s["temperature"]), []).append(s)
        for (family, temperature), points in groups.items():
            speed = [p for p in points if p["speedup"] is not None]
            if not speed:
                continue
            best = max(speed, key=lambda p: p["speedup"])
            median = statistics.median(p["speedup"] for p in speed)
            label = TF.LABELS.get(family, family)
            if best["remasks"]:
                label += " (re-masks)"
            lines.append(
                f"| {row['title']} | {label} | "
                f"{temperature:g} | {median:.2f} | {best['speedup']:.2f} | "
                f"{best['parameter']} = {best['value']} | {best['expected_nfe']:.3f} "
                f"| {best['accuracy']:.4f} | "
                f"{best['optimal_nfe_at_equal_accuracy']:.3f} |"
            )
    lines += [
        "",
        "## Frontier vertices (accuracy, temperature 1)",
        "",
        "| task | class | E[NFE] | accuracy | precision | recall | valid H, bits | "
        "KL(p*‖q), bits |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for row in data["rows"]:
        for fr in row["frontiers"]:
            if fr["temperature"] != 1.0 or fr["reward"] != "accuracy":
                continue
            for v in fr["vertices"]:
                kl = v["kl_reference_to_sampler_bits"]
                lines.append(
                    f"| {row['title']} | {fr['policy_class']} | "
                    f"{v['expected_nfe']:.4f} | {v['accuracy']:.6f} | "
                    f"{v['precision']:.6f} | {v['recall']:.4f} | "
                    f"{v['valid_entropy_bits']:.4f} | "
                    + ("∞" if kl is None else f"{kl:.4f}")
                    + " |"
                )
    lines += [
        "",
        "## Least KL(p*‖q) at each speed (adaptive policies, τ = 1)",
        "",
        "Frank-Wolfe over randomised adaptive policies on KL(p*‖q) + λ E[NFE]; the "
        "optimum lies within the duality gap below the reported objective.",
        "",
        "| task | λ (nats/step) | E[NFE] | KL(p*‖q), bits | accuracy | gap, bits | "
        "iterations |",
        "|---|---|---|---|---|---|---|",
    ]
    for row in data["rows"]:
        for f in row["fidelity"]:
            lines.append(
                f"| {row['title']} | {f['lam_nats']:g} | {f['expected_nfe']:.4f} | "
                f"{f['kl_bits']:.5f} | {f['accuracy']:.4f} | {f['gap_bits']:.1e} | "
                f"{f['iterations']} |"
            )
    lines += [
        "",
        "## Adaptive T-step bound L^adapt_T vs static L*_T (bits)",
        "",
        "| task | T | L^adapt_T | L*_T |",
        "|---|---|---|---|",
    ]
    for row in [*data["rows"], *data["bound_extras"]]:
        b = row["bounds"]
        for t, a, s in zip(
            b["num_steps"], b["adaptive_bits"], b["static_bits"], strict=True
        ):
            lines.append(f"| {row['title']} | {t} | {a:.6f} | {s:.6f} |")
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------------------
# Figure


def figure(data: dict):
    """Accuracy and valid entropy vs E[NFE] per task; L^adapt_T vs L*_T."""
    import matplotlib.pyplot as plt

    rows = data["rows"]
    fig, axes = plt.subplots(len(rows) + 1, 4, figsize=(20, 3.4 * (len(rows) + 1)))
    axes = np.atleast_2d(axes)
    for ax, extra in zip(axes[-1], data["bound_extras"], strict=False):
        b = extra["bounds"]
        ax.plot(b["num_steps"], b["static_bits"], "o-", label="L*_T (static)")
        ax.plot(b["num_steps"], b["adaptive_bits"], "x--", label="L^adapt_T")
        ax.set_xlabel("T")
        ax.set_title(f"{extra['title']}: T-step bound (bits)")
        ax.legend(fontsize=7)
    for ax in axes[-1][len(data["bound_extras"]) :]:
        ax.axis("off")
    markers = dict(zip(FAMILIES, "os^vD<>pPhX*", strict=False))
    for ax_row, row in zip(axes[:-1], rows, strict=True):
        acc, ent, bnd, fid = ax_row
        _fidelity_panel(fid, row)
        for fr in row["frontiers"]:
            if fr["reward"] != "accuracy":
                continue
            x = [v["expected_nfe"] for v in fr["vertices"]]
            y = [v["accuracy"] for v in fr["vertices"]]
            h = [v["valid_entropy_bits"] for v in fr["vertices"]]
            x_end = max(x[-1], row["output_length"]) + 0.2
            style = "-" if fr["policy_class"] == "adaptive" else "--"
            color = "black" if fr["temperature"] == 1.0 else "tab:gray"
            label = f"optimal {fr['policy_class']}, " + (
                "τ = 1" if fr["temperature"] == 1.0 else "greedy"
            )
            acc.plot(x + [x_end], y + [y[-1]], style, color=color, label=label, lw=1.4)
            ent.plot(x, h, style, color=color, marker=".", lw=1.0, label=label)
        for s in row["samplers"]:
            color = "tab:red" if s["temperature"] == 1.0 else "tab:blue"
            m = markers.get(s["family"], "o")
            acc.plot(s["expected_nfe"], s["accuracy"], m, ms=4, color=color, alpha=0.6)
            ent.plot(
                s["expected_nfe"],
                s["valid_entropy_bits"],
                m,
                ms=4,
                color=color,
                alpha=0.6,
            )
        sx = [s["expected_target_calls"] for s in row["speculative"]]
        acc.plot(
            sx,
            [s["accuracy"] for s in row["speculative"]],
            "*",
            color="tab:green",
            ms=9,
            label="speculative (γ = 1..L), target calls",
        )
        ent.plot(
            sx,
            [s["valid_entropy_bits"] for s in row["speculative"]],
            "*",
            color="tab:green",
            ms=9,
        )
        ent.axhline(row["reference_entropy_bits"], color="tab:green", lw=0.8, ls=":")
        acc.set_title(f"{row['title']}: accuracy")
        ent.set_title("valid entropy (bits)")
        for ax in (acc, ent):
            ax.set_xlabel("E[NFE] (speculative: E[target calls])")
            ax.set_xlim(0.8, row["output_length"] + 0.4)
        b = row["bounds"]
        bnd.plot(b["num_steps"], b["static_bits"], "o-", label="L*_T (static)")
        bnd.plot(b["num_steps"], b["adaptive_bits"], "x--", label="L^adapt_T")
        bnd.set_xlabel("T")
        bnd.set_title("T-step bound (bits)")
        bnd.legend(fontsize=7)
    axes[0, 0].plot([], [], "o", color="tab:red", label="samplers, τ = 1")
    axes[0, 0].plot([], [], "o", color="tab:blue", label="samplers, greedy")
    axes[0, 0].legend(fontsize=7, loc="lower right")
    fig.suptitle(
        "Exact frontier of the ideal model's adaptive unmasking policies vs every "
        "sampler. Equal cost on the x axis: one forward pass of the dLLM per step; "
        "a speculative round costs one target call plus one parallel draft step.",
        fontsize=9,
    )
    fig.tight_layout(rect=(0, 0, 1, 0.985))
    return fig


def _fidelity_panel(ax, row) -> None:
    """Least KL(p*||q) vs E[NFE] beside the samplers' KL (bits, finite ones)."""
    pts = sorted(row["fidelity"], key=lambda f: f["expected_nfe"])
    ax.plot(
        [f["expected_nfe"] for f in pts],
        [f["kl_bits"] for f in pts],
        "k.-",
        label="least KL, adaptive (τ = 1)",
    )
    for s in row["samplers"]:
        kl = s["kl_reference_to_sampler_bits"]
        if kl is not None:
            color = "tab:red" if s["temperature"] == 1.0 else "tab:blue"
            ax.plot(s["expected_nfe"], kl, "o", ms=3, color=color, alpha=0.5)
    ax.plot(
        [s["expected_target_calls"] for s in row["speculative"]],
        [0.0] * len(row["speculative"]),
        "*",
        color="tab:green",
        ms=9,
    )
    ax.set_xlim(0.8, row["output_length"] + 0.4)
    ax.set_xlabel("E[NFE] (speculative: E[target calls])")
    ax.set_title("KL(p*‖q) (bits; samplers with finite KL)")
    ax.legend(fontsize=7)


def run(outdir: Path = _common.FIGURES, progress=None) -> list[Path]:
    """Compute, draw and save the figure (PNG, PDF), the JSON and the table."""
    data = compute(progress)
    paths = _common.save_figure(figure(data), STEM, outdir)
    paths.append(_common.write_json(Path(outdir) / f"{STEM}.json", data))
    paths.append(_common.write_text(Path(outdir) / f"{STEM}.md", table_markdown(data)))
    return paths


def main(argv: list[str] | None = None) -> int:
    try:
        return _common.script_main(run, __doc__, argv)
    except ValueError as err:  # a task too large, a bad budget: one line, status 2
        print(f"error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
