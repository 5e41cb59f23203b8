"""Eager validators. Every user-facing error message in trilemma is written here.

Static problems (shapes, dtypes, index sets, argument combinations) are always
checked. Value problems (negative, NaN or unnormalised probabilities) are checked only
on concrete arrays: under `jax.jit` the inputs are tracers and these checks are
skipped, so wrap a metric in `jax.jit` to drop their cost from a sweep.
"""

from __future__ import annotations

import math
import numbers
import os
from collections.abc import Iterable, Sequence

import jax
import jax.numpy as jnp
import numpy as np

DEFAULT_MAX_BYTES = 4 * 2**30
"""Memory budget for one dense or enumerated array (override: `TRILEMMA_MAX_BYTES`)."""

_ATOL = {8: 1e-6, 4: 1e-4, 2: 1e-2}
"""Tolerance on |sum(p) - 1| by float width in bytes (float64, float32, float16)."""


def is_concrete(x) -> bool:
    """True when `x` holds values (not a tracer inside `jit`/`vmap`/`grad`)."""
    return not isinstance(x, jax.core.Tracer)


def default_atol(dtype) -> float:
    """Normalisation tolerance used by `check_pmf` for arrays of `dtype`."""
    return _ATOL.get(np.dtype(dtype).itemsize, 1e-6)


@jax.jit
def _pmf_stats(p):
    finite = jnp.all(jnp.isfinite(p))
    return finite, jnp.min(p), jnp.sum(p)


def check_pmf(p, *, name: str = "p", atol: float | None = None, total: float = 1.0):
    """Raise `ValueError` unless concrete `p` is a finite, non-negative pmf.

    Args:
      p: array of probabilities (any shape); tracers pass unchecked.
      name: argument name used in the message.
      atol: tolerance on |sum(p) - total|; default 1e-6 for float64, 1e-4 for
        float32 and 1e-2 for 16-bit floats.
      total: the mass `p` must carry (1 for a pmf).

    Returns:
      `p` as a JAX array with a floating dtype.
    """
    p = as_float_array(p, name)
    if p.size == 0:
        raise ValueError(f"`{name}` is empty; a pmf needs at least one outcome.")
    if not is_concrete(p):
        return p
    finite, low, mass = (float(v) for v in _pmf_stats(p))
    if not finite:
        raise ValueError(f"`{name}` contains NaN or inf; got {_preview(p)}.")
    if low < 0:
        raise ValueError(f"`{name}` has a negative probability ({low:.3g}).")
    tol = default_atol(p.dtype) if atol is None else atol
    if abs(mass - total) > tol:
        raise ValueError(
            f"`{name}` sums to {mass:.10g}, not {total:g} (tolerance {tol:g}); "
            "normalise it first."
        )
    return p


def as_float_array(x, name: str):
    """`x` as a JAX floating array; integer and bool inputs are rejected."""
    if isinstance(x, jax.Array | np.ndarray | np.generic):
        arr = x
    elif isinstance(x, list | tuple | float | int):
        arr = np.asarray(x, dtype=float)
    else:
        raise TypeError(
            f"`{name}` must be an array of probabilities; got {type(x).__name__}."
        )
    if not jnp.issubdtype(arr.dtype, jnp.floating):
        raise TypeError(f"`{name}` must have a floating dtype; got {arr.dtype}.")
    return jnp.asarray(arr)


def check_same_shape(p, q, names: tuple[str, str] = ("p", "q")) -> None:
    """Raise `ValueError` unless `p` and `q` have the same shape."""
    if tuple(p.shape) != tuple(q.shape):
        raise ValueError(
            f"`{names[0]}` and `{names[1]}` must have the same shape; "
            f"got {tuple(p.shape)} and {tuple(q.shape)}."
        )


def check_variables(
    variables: Iterable[int] | int | None,
    num_variables: int,
    *,
    name: str = "variables",
    default: Sequence[int] = (),
) -> tuple[int, ...]:
    """Validate an index set of variables; return it sorted, as a tuple of ints."""
    if variables is None:
        return tuple(sorted(default))
    if isinstance(variables, int | np.integer):
        variables = (variables,)
    try:
        items = [_as_index(v, name) for v in variables]
    except TypeError:
        raise TypeError(
            f"`{name}` must be a sequence of variable indices; got {variables!r}."
        ) from None
    bad = [v for v in items if not 0 <= v < num_variables]
    if bad:
        raise ValueError(
            f"`{name}` has indices {bad} outside 0..{num_variables - 1} "
            f"(the joint has {num_variables} variables)."
        )
    if len(set(items)) != len(items):
        raise ValueError(f"`{name}` repeats a variable; got {items}.")
    return tuple(sorted(items))


def check_disjoint(a: Sequence[int], b: Sequence[int], names: tuple[str, str]) -> None:
    """Raise `ValueError` if two index sets share a variable."""
    common = sorted(set(a) & set(b))
    if common:
        raise ValueError(
            f"`{names[0]}` and `{names[1]}` overlap on variables {common}."
        )


def check_partition(
    partition, outputs: Sequence[int], *, name: str = "partition"
) -> tuple[tuple[int, ...], ...]:
    """Validate an ordered partition of `outputs` into non-empty steps."""
    if isinstance(partition, str | bytes) or not isinstance(partition, Iterable):
        raise TypeError(
            f"`{name}` must be a sequence of steps (sequences of variable indices); "
            f"got {partition!r}."
        )
    steps = []
    for t, step in enumerate(partition):
        if isinstance(step, int | np.integer):
            step = (step,)
        try:
            step = tuple(_as_index(v, name) for v in step)
        except TypeError:
            raise TypeError(
                f"`{name}` step {t} must be a sequence of variable indices; "
                f"got {step!r}."
            ) from None
        if not step:
            raise ValueError(
                f"`{name}` step {t} is empty; every step must commit a token."
            )
        steps.append(step)
    if not steps:
        raise ValueError(f"`{name}` has no steps.")
    seen: dict[int, int] = {}
    for t, step in enumerate(steps):
        for v in step:
            if v in seen:
                raise ValueError(
                    f"`{name}` puts variable {v} in step {seen[v]} and step {t}; "
                    "steps must be disjoint."
                )
            seen[v] = t
    extra = sorted(set(seen) - set(outputs))
    if extra:
        raise ValueError(
            f"`{name}` has variables {extra} that are not output variables "
            f"{sorted(outputs)}."
        )
    missing = sorted(set(outputs) - set(seen))
    if missing:
        raise ValueError(f"`{name}` misses output variables {missing}.")
    return tuple(steps)


def check_positive_int(
    value, name: str, *, minimum: int = 1, maximum: int | None = None
):
    """Raise unless `value` is an int in [minimum, maximum]."""
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise TypeError(f"`{name}` must be an integer; got {value!r}.")
    if value < minimum or (maximum is not None and value > maximum):
        upper = "" if maximum is None else f" and at most {maximum}"
        raise ValueError(f"`{name}` must be at least {minimum}{upper}; got {value}.")
    return int(value)


def check_unit_interval(value, name: str):
    """Raise unless `value` is a real number in [0, 1]; return it unchanged.

    A `fractions.Fraction` stays exact (closed forms decide boundaries with it).
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"`{name}` must be a number; got {value!r}.")
    if not 0 <= value <= 1:
        raise ValueError(f"`{name}` must be in [0, 1]; got {value}.")
    return value


def max_bytes(override: int | None = None) -> int:
    """The memory budget: `override`, else `TRILEMMA_MAX_BYTES`, else 4 GiB."""
    if override is not None:
        return int(override)
    env = os.environ.get("TRILEMMA_MAX_BYTES")
    if env is None:
        return DEFAULT_MAX_BYTES
    try:
        return int(float(env))
    except ValueError:
        raise ValueError(
            f"TRILEMMA_MAX_BYTES must be a number of bytes; got {env!r}."
        ) from None


def check_memory(nbytes: int, what: str, budget: int | None = None) -> None:
    """Raise `MemoryError`-style `ValueError` before allocating more than the budget."""
    limit = max_bytes(budget)
    if nbytes > limit:
        raise ValueError(
            f"{what} would need {nbytes:,} bytes ({format_bytes(nbytes)}), over the "
            f"memory budget of {format_bytes(limit)}; raise it with max_bytes= "
            "(CLI: --max-bytes, env: TRILEMMA_MAX_BYTES) or choose a smaller size."
        )


def unknown(kind: str, name: str, available: Iterable[str]) -> ValueError:
    """The error for an unknown registry name."""
    return ValueError(f"Unknown {kind} {name!r}; available: {sorted(available)}.")


def format_bytes(n: float) -> str:
    """Human-readable byte count (binary units)."""
    for unit in ("B", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if abs(n) < 1024 or unit == "PiB":
            return f"{n:.1f} {unit}" if unit != "B" else f"{int(n)} B"
        n /= 1024
    raise AssertionError("unreachable")


def cells(shape: Sequence[int]) -> int:
    """Number of cells of a dense array with this shape (exact Python int)."""
    return math.prod(int(s) for s in shape)


def _as_index(v, name: str) -> int:
    if isinstance(v, bool) or not isinstance(v, int | np.integer):
        raise TypeError(f"`{name}` must contain integer indices; got {v!r}.")
    return int(v)


def _preview(p) -> str:
    flat = np.asarray(p).ravel()
    head = np.array2string(flat[:6], precision=4, separator=", ")
    return head if flat.size <= 6 else head[:-1] + ", ...]"
