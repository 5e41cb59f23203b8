r"""Figure: APD's product of experts against its weight R, computed exactly.

APD (REFERENCE 5.11) decodes from the geometric mixture
p_T ∝ p_D^R · p_AR^(1-R) of a dLLM's one-step distribution p_D and a small
autoregressive model p_AR. The blog ("Trading Diversity for Speed") says that "a
multiplicative mixture between distributions inherently reduces diversity". Here
both experts are exact distributions built from a target p*:

* p_D = `trilemma.product_of_marginals(p*)`, the dLLM decoding every token at once;
* p_AR = `trilemma.autoregressive_model(p*, temperature=0.7, top_p=0.9)`, a model
  sharper than the data that samples p* left to right and misses its
  low-probability continuations;

and for R on a fine grid the script computes, against p*: the entropy ratio
H(p_T)/H(p*), recall p*(supp p_T), precision p_T(supp p*), TV and KL in both
directions (bits). Two targets, one per row:

* (a) a multimodal joint of 3 tokens over 4 symbols: 8 distinct sequences with
  Dirichlet(1) weights. `SEED` = 1 is the first seed for which H(p_T) lies below both
  experts' entropies at every 0 < R < 1, chosen to show the blog's claim where it
  holds; the population count below says how often that happens;
* (b) Replace Random, n = 4, one prompt: p*(Y|x) densified over 5^4 outputs.

The mixture's support is supp p_D ∩ supp p_AR for 0 < R < 1, so its recall is the
AR model's for every R < 1 and it jumps at R = 1, where p_T = p_D; the limit
R -> 1^- is p_D conditioned on supp p_AR. Whether H(p_T) falls below both experts'
entropies depends on the target: the script also counts it over `POPULATION` random
targets of family (a). Numbers go to figures/product_of_experts.json.

  python experiments/fig_product_of_experts.py [--outdir figures]
"""

from __future__ import annotations

import math
import sys
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np

from experiments import _common

STEM = "product_of_experts"
TEMPERATURE = 0.7
TOP_P = 0.9
NUM_TOKENS, VOCAB, NUM_MODES = 3, 4, 8
SEED = 1
POPULATION = 200  # random targets of family (a) for the "below both" frequency
GRID = np.linspace(0.0, 1.0, 401)  # R; the last point is R = 1 (p_T = p_D)
TABLE_WEIGHTS = (0.0, 0.25, 0.5, 0.75, 1.0)
METRICS = (
    "entropy_bits",
    "entropy_ratio",
    "recall",
    "precision",
    "tv",
    "kl_forward_bits",
    "kl_reverse_bits",
)


def multimodal_target(seed: int = SEED) -> np.ndarray:
    """A dense joint on `NUM_MODES` distinct sequences with Dirichlet(1) weights."""
    rng = np.random.default_rng(seed)
    cells = rng.choice(VOCAB**NUM_TOKENS, size=NUM_MODES, replace=False)
    p = np.zeros(VOCAB**NUM_TOKENS)
    p[cells] = rng.dirichlet(np.ones(NUM_MODES))
    return p.reshape((VOCAB,) * NUM_TOKENS)


def replace_random_target(n: int = 4) -> np.ndarray:
    """p*(Y|x) of Replace Random for its one prompt, as a dense array over Y."""
    import trilemma as T

    dense = np.asarray(T.to_dense(_common.task("replace_random", n).joint))[0]
    return dense / dense.sum()


def experts(p_star):
    """`(p_D, p_AR)` for the target `p_star` (jax arrays)."""
    import trilemma as T

    p_d = T.product_of_marginals(p_star)
    p_ar = T.autoregressive_model(p_star, temperature=TEMPERATURE, top_p=TOP_P)
    return p_d, p_ar


def _metrics(p, p_star, h_star_bits: float) -> dict[str, np.ndarray]:
    """Every metric of `p` (one pmf, or a stack along axis 0) against `p_star`."""
    import jax

    import trilemma as T

    def one(q):
        h = T.to_bits(T.entropy(q))
        return {
            "entropy_bits": h,
            "entropy_ratio": h / h_star_bits,
            "recall": T.recall(q, p_star),
            "precision": T.precision(q, p_star),
            "tv": T.total_variation_distance(q, p_star),
            "kl_forward_bits": T.to_bits(T.kl_divergence(p_star, q)),
            "kl_reverse_bits": T.to_bits(T.kl_divergence(q, p_star)),
        }

    if p.ndim == p_star.ndim:
        return {k: np.asarray(v) for k, v in one(p).items()}
    return {k: np.asarray(v) for k, v in jax.vmap(one)(p).items()}


def sweep(p_star) -> dict:
    """Metrics of p_T on `GRID`, of both experts, of p* and of the limit R -> 1^-."""
    import jax
    import jax.numpy as jnp

    import trilemma as T

    p_star = jnp.asarray(p_star)
    p_d, p_ar = experts(p_star)
    h_star = float(T.to_bits(T.entropy(p_star)))
    weights = jnp.asarray(GRID)
    mixtures = jax.vmap(T.product_of_experts, in_axes=(None, None, 0))(
        p_d, p_ar, weights
    )
    # Eager, checked values at the grid's ends agree with the traced sweep.
    for i in (0, -1):
        expected = T.product_of_experts(p_d, p_ar, float(GRID[i]))
        np.testing.assert_allclose(mixtures[i], expected, rtol=1e-12, atol=1e-15)
    # Inside (0, 1) the support is the intersection of the experts' supports.
    inside = np.asarray(mixtures)[(GRID > 0) & (GRID < 1)] > 0
    both = np.asarray((p_d > 0) & (p_ar > 0))
    if not np.all(inside == both):
        raise RuntimeError("supp p_T differs from supp p_D ∩ supp p_AR inside (0, 1)")
    curves = _metrics(mixtures, p_star, h_star)
    # R -> 1^-: p_D^R p_AR^(1-R) -> p_D on supp p_AR, renormalised.
    limit = jnp.where(p_ar > 0, p_d, 0)
    limit = limit / jnp.sum(limit)
    return {
        "h_star_bits": h_star,
        "weights": GRID,
        "curves": curves,
        "ar": _metrics(p_ar, p_star, h_star),
        "dllm": _metrics(p_d, p_star, h_star),
        "limit_at_one": _metrics(limit, p_star, h_star),
        "support_sizes": {
            "p_star": int(jnp.sum(p_star > 0)),
            "dllm": int(jnp.sum(p_d > 0)),
            "ar": int(jnp.sum(p_ar > 0)),
        },
    }


def below_both_frequency(count: int = POPULATION) -> dict:
    """Share of random family-(a) targets whose H(p_T) is below both experts'.

    Counted on the interior of `GRID` (0 < R < 1): for every such R, and at R = 1/2.
    """
    import jax
    import jax.numpy as jnp

    import trilemma as T

    inner = jnp.asarray(GRID[1:-1])
    half = int(np.argmin(np.abs(GRID[1:-1] - 0.5)))

    @jax.jit
    def entropies(p_d, p_ar):
        mix = jax.vmap(T.product_of_experts, in_axes=(None, None, 0))(p_d, p_ar, inner)
        return jax.vmap(T.entropy)(mix), T.entropy(p_d), T.entropy(p_ar)

    every = at_half = 0
    first = None
    for seed in range(count):
        h, h_d, h_ar = (
            np.asarray(v)
            for v in entropies(*experts(jnp.asarray(multimodal_target(seed))))
        )
        floor = min(float(h_d), float(h_ar))
        below = bool(np.all(h < floor))
        every += below
        if below and first is None:
            first = seed
        at_half += bool(h[half] < floor)
    return {
        "targets": count,
        "seeds": f"0..{count - 1}",
        "below_both_for_every_r": every / count,
        "below_both_at_r_half": at_half / count,
        "first_seed_below_both_for_every_r": first,
    }


def compute(progress=None) -> dict:
    """All data for `trilemma.plotting.fig_product_of_experts` (and the JSON table).

    Args:
      progress: optional callable `(message) -> None`, called before each part.
    """
    _common.enable_x64()
    rows = []
    specs = (
        (
            "multimodal",
            f"(a) multimodal target: {NUM_MODES} sequences of {NUM_TOKENS} tokens "
            f"over {VOCAB} symbols (seed {SEED})",
            multimodal_target,
        ),
        (
            "replace_random",
            r"(b) Replace Random, n = 4: $p^*(Y|x)$ over $5^4$ outputs",
            replace_random_target,
        ),
    )
    for key, title, build in specs:
        if progress is not None:
            progress(f"sweep {key}")
        rows.append({"key": key, "title": title} | sweep(build()))
    if progress is not None:
        progress(f"{POPULATION} random targets")
    population = below_both_frequency()
    rows[0]["note"] = (
        f"$H(p_T)$ < both experts' for every $R\\in(0,1)$ in "
        f"{population['below_both_for_every_r']:.0%}\n"
        f"of {population['targets']} random targets of this family "
        f"(at $R = 1/2$: {population['below_both_at_r_half']:.0%})"
    )
    return {
        "temperature": TEMPERATURE,
        "top_p": TOP_P,
        "rows": rows,
        "population": population,
    }


def table(data: dict) -> dict:
    """The key numbers as JSON-ready values (inf as the string "inf")."""
    weights = np.asarray(data["rows"][0]["weights"])
    out = {
        "description": (
            "APD product of experts p_T ∝ p_D^R p_AR^(1-R), exact. p_D = product of "
            "marginals of p*, p_AR = autoregressive_model(p*, temperature="
            f"{data['temperature']}, top_p={data['top_p']}). Entropies and KL in "
            "bits; recall = p*(supp p_T), precision = p_T(supp p*), TV unitless. "
            "'limit R->1-' is p_D conditioned on supp p_AR; 'inf' is +infinity."
        ),
        "population": data["population"],
        "targets": {},
    }
    for row in data["rows"]:
        at = {}
        for r in TABLE_WEIGHTS:
            i = int(np.argmin(np.abs(weights - r)))
            at[f"R={r:g}"] = _json_metrics({k: v[i] for k, v in row["curves"].items()})
        at["limit R->1-"] = _json_metrics(row["limit_at_one"])
        out["targets"][row["key"]] = {
            "title": row["title"],
            "entropy_p_star_bits": row["h_star_bits"],
            "support_sizes": row["support_sizes"],
            "ar_alone": _json_metrics(row["ar"]),
            "dllm_alone": _json_metrics(row["dllm"]),
            "mixture": at,
            "mixture_entropy_range_bits_r_in_0_1": [
                float(np.min(row["curves"]["entropy_bits"][:-1])),
                float(np.max(row["curves"]["entropy_bits"][:-1])),
            ],
        }
    return out


def _json_metrics(values) -> dict:
    return {k: _json_float(values[k]) for k in METRICS}


def _json_float(x):
    x = float(x)
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    return round(x, 10)


def run(outdir: Path = _common.FIGURES, progress=None) -> list[Path]:
    """Compute, draw and save the figure (PNG, PDF) and its table (JSON)."""
    from trilemma.plotting import fig_product_of_experts

    data = compute(progress)
    fig = fig_product_of_experts(data)
    written = _common.save_figure(fig, STEM, outdir)
    written.append(_common.write_json(Path(outdir) / f"{STEM}.json", table(data)))
    return written


def main(argv: list[str] | None = None) -> int:
    return _common.script_main(run, __doc__, argv)


if __name__ == "__main__":
    raise SystemExit(main())
