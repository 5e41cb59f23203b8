"""Eager validators. Every user-facing error message in trilemma is written here.

Static problems (shapes, dtypes, index sets, argument combinations) are always
checked. Value problems (negative, NaN or unnormalised probabilities) are checked only
on concrete arrays: under `jax.jit` the inputs are tracers and these checks are
skipped, so wrap a metric in `jax.jit` to drop their cost from a sweep.

**One checker per kind of value.** `check_int`, `check_real`, `check_bool` and
`check_one_of` validate one scalar argument, the other checkers arrays, index sets,
keyword sets and sizes. A value of the wrong type raises `TypeError`; a value of the
right type outside what is allowed raises `ValueError`. Either message names the
argument, shows the value received and says what is allowed:

>>> check_int(0, "k", minimum=1)
Traceback (most recent call last):
ValueError: `k` must be an integer >= 1; got 0.
>>> check_real("0.9", "gamma", low=0, high=1)
Traceback (most recent call last):
TypeError: `gamma` must be a real number in [0, 1]; got '0.9' (str).

**Sizes saturate at $2^{63}$.** Nothing with $2^{63}$ or more cells, rows or bytes can
be indexed with int64, so `power` and `factorial` stop there (a size like $3^{10^{30}}$
is refused without being computed), the memory budget is below it, and messages show
such sizes as "at least 2^63".
"""

from __future__ import annotations

import decimal
import math
import numbers
import os
import re
from collections.abc import Iterable, Mapping, Sequence

import jax
import jax.numpy as jnp
import numpy as np

DEFAULT_MAX_BYTES = 4 * 2**30
"""Memory budget for one dense or enumerated array (override: `TRILEMMA_MAX_BYTES`)."""

SIZE_LIMIT = 2**63
"""Cells, rows and bytes saturate here (`power`, `factorial`): beyond int64 indices."""

INT64_MAX = SIZE_LIMIT - 1
"""The largest int64: the largest memory budget, step count and the like."""

_ATOL = {8: 1e-6, 4: 1e-4, 2: 1e-2}
"""Tolerance on |sum(p) - 1| by float width in bytes (float64, float32, float16)."""

_UNITS = {"": 1, "b": 1, "k": 2**10, "kib": 2**10, "m": 2**20, "mib": 2**20}
_UNITS |= {"g": 2**30, "gib": 2**30, "t": 2**40, "tib": 2**40}
_UNITS |= {"kb": 10**3, "mb": 10**6, "gb": 10**9, "tb": 10**12}


def is_concrete(x) -> bool:
    """True when `x` holds values (not a tracer inside `jit`/`vmap`/`grad`)."""
    return not isinstance(x, jax.core.Tracer)


def default_atol(dtype) -> float:
    """Normalisation tolerance used by `check_pmf` for arrays of `dtype`."""
    return _ATOL.get(np.dtype(dtype).itemsize, 1e-6)


# --- scalars --------------------------------------------------------------------------


def check_int(value, name: str, *, minimum: int | None = None, maximum=None) -> int:
    """`value` as an int, if it is one in `[minimum, maximum]` (None: unbounded).

    Raises:
      TypeError: `value` is not an integer (bools and floats are not).
      ValueError: `value` is outside the range.
    """
    allowed = _int_range(minimum, maximum)
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise TypeError(_message(name, allowed, value, with_type=True))
    value = int(value)
    if (minimum is not None and value < minimum) or (
        maximum is not None and value > maximum
    ):
        raise ValueError(_message(name, allowed, value))
    return value


def check_real(
    value,
    name: str,
    *,
    low: float = -math.inf,
    high: float = math.inf,
    low_open: bool = False,
    high_open: bool = False,
) -> float:
    """`value` as a float, if it is a real number in the interval from `low` to `high`.

    The interval is closed at each end unless `low_open`/`high_open`; an infinite end
    that is closed admits infinity itself (`high=math.inf, high_open=True` asks for a
    finite value). NaN is in no interval.

    Raises:
      TypeError: `value` is not a real number (bools and strings are not).
      ValueError: `value` is outside the interval.
    """
    allowed = _real_range(low, high, low_open, high_open)
    if isinstance(value, bool) or not isinstance(
        value, int | float | np.integer | np.floating
    ):
        raise TypeError(_message(name, allowed, value, with_type=True))
    try:
        x = float(value)
    except OverflowError:  # an int beyond the float range
        x = math.inf if value > 0 else -math.inf
    above = x > low if low_open else x >= low
    below = x < high if high_open else x <= high
    if not (above and below):
        raise ValueError(_message(name, allowed, value))
    return x


def check_bool(value, name: str) -> bool:
    """`value` as a bool, if it is one (`True`, `False` or a NumPy bool)."""
    if not isinstance(value, bool | np.bool_):
        raise TypeError(_message(name, "True or False", value, with_type=True))
    return bool(value)


def check_instance(value, name: str, kind: type, what: str | None = None):
    """`value`, if it is an instance of `kind`; else `TypeError` naming both."""
    if not isinstance(value, kind):
        allowed = what or f"a {kind.__name__}"
        raise TypeError(f"`{name}` must be {allowed}; got {type(value).__name__}.")
    return value


def check_one_of(value, name: str, allowed: Sequence):
    """`value`, if it equals one of `allowed`; else `ValueError`."""
    if value not in allowed:
        text = f"{allowed[0]!r}" if len(allowed) == 1 else f"one of {list(allowed)}"
        raise ValueError(_message(name, text, value))
    return value


def check_exactly_one(**values) -> str:
    """The name of the one argument that is not None; `ValueError` for none or two."""
    given = [key for key, value in values.items() if value is not None]
    if len(given) != 1:
        names = " and ".join(f"`{key}`" for key in values)
        got = (
            "neither"
            if not given
            else ", ".join(f"`{key}` = {show(values[key])}" for key in given)
        )
        raise ValueError(f"give exactly one of {names}; got {got}.")
    return given[0]


def check_options(
    options: Mapping, allowed: Iterable[str], *, owner: str, required=()
) -> None:
    """Raise `ValueError` for a keyword `owner` does not take, or a missing one.

    Args:
      options: the keywords given (only their names are checked).
      allowed: the keywords `owner` takes.
      owner: what takes them, for the message (`"task 'copy'"`).
      required: keywords that must be given.
    """
    allowed = list(allowed)
    bad = sorted(set(options) - set(allowed))
    if bad:
        names = ", ".join(f"`{b}`" for b in bad)
        taken = ", ".join(f"`{a}`" for a in allowed) if allowed else "none"
        plural = "s" if len(bad) > 1 else ""
        raise ValueError(
            f"Unknown option{plural} {names} for {owner}; it takes {taken}."
        )
    missing = [key for key in required if key not in options]
    if missing:
        names = ", ".join(f"`{m}`" for m in missing)
        raise ValueError(f"{owner} needs {names}; got no value for it.")


def unknown(kind: str, name: str, available: Iterable[str]) -> ValueError:
    """The error for an unknown registry name."""
    return ValueError(f"Unknown {kind} {show(name)}; available: {sorted(available)}.")


# --- arrays ---------------------------------------------------------------------------


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


def check_reals(
    x,
    name: str,
    *,
    low: float = -math.inf,
    high: float = math.inf,
    low_open: bool = False,
    high_open: bool = False,
):
    """`check_real` for every entry of a concrete floating array (tracers pass)."""
    x = as_float_array(x, name)
    if is_concrete(x):
        host = np.asarray(x)
        above = host > low if low_open else host >= low
        below = host < high if high_open else host <= high
        bad = ~(above & below)
        if bad.any():
            first = host.ravel()[int(np.argmax(bad.ravel()))]
            allowed = _real_range(low, high, low_open, high_open)
            raise ValueError(
                f"every entry of `{name}` must be {allowed}; got {show(first.item())}."
            )
    return x


def check_shape(x, name: str, shape: Sequence[int | str]) -> None:
    """Raise `ValueError` unless `x.shape` is `shape` (a str entry matches any size)."""
    got = tuple(np.shape(x))
    fits = len(got) == len(shape) and all(
        isinstance(want, str) or want == size
        for want, size in zip(shape, got, strict=True)
    )
    if not fits:
        if shape:
            inner = ", ".join(str(s) for s in shape) + ("," if len(shape) == 1 else "")
            want = f"have shape ({inner})"
        else:
            want = "be a scalar"
        raise ValueError(f"`{name}` must {want}; got shape {got}.")


def check_ndim(x, name: str, *, minimum: int) -> None:
    """Raise `ValueError` unless `x` has at least `minimum` axes."""
    if np.ndim(x) < minimum:
        got = "a scalar" if np.ndim(x) == 0 else f"{np.ndim(x)} axes"
        axes = "axis" if minimum == 1 else "axes"
        raise ValueError(f"`{name}` must have at least {minimum} {axes}; got {got}.")


def check_rows(ok, rows, name: str, allowed: str) -> None:
    """Raise `ValueError` naming the first row of `rows` where `ok` is False.

    Args:
      ok: `(N,)` booleans, one per row.
      rows: the `(N, ...)` array the rows come from.
      name: its argument name.
      allowed: what every row must be (`"a puzzle with a unique solution"`).
    """
    ok = np.asarray(ok)
    if not ok.all():
        bad = int(np.argmax(~ok))
        row = show(np.asarray(rows)[bad].tolist())
        raise ValueError(f"`{name}` row {bad} must be {allowed}; got {row}.")


def check_nonempty(x, name: str) -> None:
    """Raise `ValueError` if the array `x` has no rows."""
    if np.shape(x)[0] == 0:
        raise ValueError(f"`{name}` is empty; it needs at least one row.")


def check_same_shape(p, q, names: tuple[str, str] = ("p", "q")) -> None:
    """Raise `ValueError` unless `p` and `q` have the same shape."""
    if tuple(p.shape) != tuple(q.shape):
        raise ValueError(
            f"`{names[0]}` and `{names[1]}` must have the same shape; "
            f"got {tuple(p.shape)} and {tuple(q.shape)}."
        )


def check_same_dtype(p, q, names: tuple[str, str]) -> None:
    """Raise `TypeError` unless `p` and `q` have the same dtype."""
    if p.dtype != q.dtype:
        raise TypeError(
            f"`{names[0]}` and `{names[1]}` must have the same dtype; got {p.dtype} "
            f"and {q.dtype}."
        )


def check_integer_dtype(x, name: str) -> None:
    """Raise `TypeError` unless `x` has an integer dtype."""
    if not jnp.issubdtype(x.dtype, jnp.integer):
        raise TypeError(f"`{name}` must be an integer array; got dtype {x.dtype}.")


def check_alphabets(outcomes, name: str, sizes: Sequence[int] | None) -> None:
    """Raise `ValueError` unless column j of concrete `outcomes` is in 0..sizes[j]-1."""
    host = np.asarray(outcomes)
    low = host.min(axis=0)
    if (low < 0).any():
        col = int(np.argmax(low < 0))
        raise ValueError(f"`{name}` column {col} has a negative value ({low[col]}).")
    if sizes is not None:
        high = host.max(axis=0)
        over = high >= np.asarray(sizes)
        if over.any():
            col = int(np.argmax(over))
            raise ValueError(
                f"`{name}` column {col} has value {high[col]}, outside its "
                f"alphabet of size {sizes[col]}."
            )


def check_supports_meet(p, q, names: tuple[str, str], weight: float) -> None:
    """Raise `ValueError` if concrete `p` and `q` have disjoint supports."""
    if not bool(jnp.any((p > 0) & (q > 0))):
        raise ValueError(
            f"`{names[0]}` and `{names[1]}` have disjoint supports, so "
            f"p_d^R p_ar^(1-R) is zero everywhere for `weight` = {weight:g}; only "
            "R = 0 or R = 1 is defined."
        )


def check_given(value, name: str, *, when: str) -> None:
    """Raise `ValueError` if an argument that is optional elsewhere is None here."""
    if value is None:
        raise ValueError(f"`{name}` is required {when}.")


# --- index sets -----------------------------------------------------------------------


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
            f"`{name}` has variables [{', '.join(show(v) for v in extra)}] that are "
            f"not output variables {_span(outputs)}."
        )
    missing = sorted(set(outputs) - set(seen))
    if missing:
        raise ValueError(f"`{name}` misses output variables {missing}.")
    return tuple(steps)


def check_layout_fits(layout, sizes: Sequence[int], num_prompts: int) -> None:
    """Raise `ValueError` unless a model's token layout can decode a task.

    The layout must have one prefix row per prompt, one output position per output
    variable and a vocabulary that holds every output alphabet.

    Args:
      layout: the model's `TokenLayout`.
      sizes: the task's output alphabet sizes.
      num_prompts: the task's number of prompts.
    """
    length, widest = len(sizes), max((int(k) for k in sizes), default=0)
    if layout.output_length != length:
        raise ValueError(
            f"`model.layout` must have {length} output positions, as the task has; "
            f"got {layout.output_length}."
        )
    if layout.vocab_size < widest:
        raise ValueError(
            f"`model.layout.vocab_size` must be at least the task's largest output "
            f"alphabet ({widest}); got {layout.vocab_size}."
        )
    rows = int(layout.prefixes.shape[0])
    if rows != num_prompts:
        raise ValueError(
            f"`model.layout.prefixes` must have one row per prompt of the task "
            f"({num_prompts}); got {rows}."
        )


# --- sizes and the memory budget ------------------------------------------------------


def cells(shape: Iterable[int]) -> int:
    """Number of cells of a dense array with this shape (exact Python int)."""
    return math.prod(int(s) for s in shape)


def power(base: int, exponent: int) -> int:
    """`base ** exponent` for non-negative ints, saturated at `SIZE_LIMIT`."""
    if base <= 1 or exponent == 0:
        return base**exponent
    if exponent >= 63:
        return SIZE_LIMIT
    return min(base**exponent, SIZE_LIMIT)


def factorial(n: int) -> int:
    """`n!` saturated at `SIZE_LIMIT` (21! is the first factorial beyond it)."""
    return math.factorial(n) if n <= 20 else SIZE_LIMIT


def check_unit_interval(value, name: str):
    """Raise unless `value` is a real number in [0, 1]; return it unchanged.

    A `fractions.Fraction` stays exact (closed forms decide boundaries with it).
    """
    allowed = _real_range(0.0, 1.0, False, False)
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(_message(name, allowed, value, with_type=True))
    if not 0 <= value <= 1:
        raise ValueError(_message(name, allowed, value))
    return value


def max_bytes(override: int | None = None) -> int:
    """The memory budget: `override`, else `TRILEMMA_MAX_BYTES`, else 4 GiB."""
    if override is not None:
        return check_int(override, "max_bytes", minimum=1, maximum=INT64_MAX)
    env = os.environ.get("TRILEMMA_MAX_BYTES")
    if env is None:
        return DEFAULT_MAX_BYTES
    return parse_bytes(env, "TRILEMMA_MAX_BYTES")


def parse_bytes(text: str, name: str) -> int:
    """A memory size from text: `500000000`, `1e9`, `4GiB`, `1.5G` (binary units).

    Units: B, K/KiB, M/MiB, G/GiB, T/TiB (powers of 1024) and kB, MB, GB, TB (powers
    of 1000), in any case; fractions of a byte are dropped. The size must be from 1
    byte to `INT64_MAX`.
    """
    allowed = (
        f"a size from 1 byte to {INT64_MAX:,} bytes ({format_bytes(INT64_MAX)}), "
        "like 4GiB or 500000000"
    )
    match = re.fullmatch(r"\s*([0-9.]+(?:[eE][+-]?[0-9]+)?)\s*([a-zA-Z]*)\s*", text)
    unit = match.group(2).lower() if match else None
    if match is None or unit not in _UNITS:
        raise ValueError(_message(name, allowed, text))
    try:
        number = decimal.Decimal(match.group(1))
    except decimal.InvalidOperation:
        raise ValueError(_message(name, allowed, text)) from None
    if number.adjusted() > 30:  # far beyond the limit: do not build the integer
        raise ValueError(_message(name, allowed, text))
    with decimal.localcontext(prec=60):
        nbytes = int(number * _UNITS[unit])
    if not 1 <= nbytes <= INT64_MAX:
        raise ValueError(_message(name, allowed, text))
    return nbytes


def check_memory(nbytes: int, what: str, budget: int | None = None) -> None:
    """Raise `ValueError` before allocating more than the memory budget.

    Args:
      nbytes: the bytes `what` would allocate (at least `SIZE_LIMIT` means "too many
        to count", as `power` and `factorial` report).
      what: the allocation, for the message.
      budget: `max_bytes=` override.
    """
    limit = max_bytes(budget)
    if nbytes > limit:
        need = (
            f"{nbytes:,} bytes ({format_bytes(nbytes)})"
            if nbytes < SIZE_LIMIT
            else f"at least 2^63 bytes ({format_bytes(SIZE_LIMIT)})"
        )
        raise ValueError(
            f"{what} would need {need}, over the memory budget of "
            f"{format_bytes(limit)}; raise it with max_bytes= (CLI: --max-bytes, env: "
            "TRILEMMA_MAX_BYTES) or choose a smaller size."
        )


def check_work(
    amount: int,
    what: str,
    limit: int,
    *,
    unit: str,
    why: str = "more would not finish in minutes",
) -> None:
    """Raise `ValueError` before a computation too large to run, naming its size.

    Args:
      amount: the size of the computation (an upper bound is enough).
      what: the computation, for the message.
      limit: the largest `amount` accepted.
      unit: what `amount` counts (`"decoding states"`).
      why: the reason for the limit.
    """
    if amount > limit:
        raise ValueError(
            f"{what} involves up to {format_count(amount)} {unit}, over the limit of "
            f"{format_count(limit)} ({why}); choose a smaller size."
        )


def format_bytes(n: int) -> str:
    """Human-readable byte count (binary units)."""
    if n < 1024:
        return f"{int(n)} B"
    for unit in ("KiB", "MiB", "GiB", "TiB", "PiB", "EiB"):
        n /= 1024
        if n < 1024 or unit == "EiB":
            return f"{n:.1f} {unit}"
    raise AssertionError("unreachable")


def format_count(n: int) -> str:
    """An exact count with thousands separators, or "at least 2^63" past the limit."""
    return f"{n:,}" if n < SIZE_LIMIT else "at least 2^63"


def show(value) -> str:
    """A received value for a message: its repr, shortened when it is long."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, str) and len(value) > 40:
        return f"'{value[:24]}...{value[-8:]}' ({len(value):,} characters)"
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) >= 10**30:
        digits = len(str(abs(value))) if abs(value).bit_length() < 14_000 else None
        if digits is None:  # beyond the int-to-str limit: count digits by log10
            digits = math.floor(math.log10(abs(value))) + 1
        head = "-" if value < 0 else ""
        return f"{head}a {digits:,}-digit integer"
    text = repr(value)
    if len(text) > 60:
        return f"{text[:28]}...{text[-12:]} ({len(text):,} characters)"
    return text


# --- helpers --------------------------------------------------------------------------


def _message(name: str, allowed: str, value, *, with_type: bool = False) -> str:
    kind = f" ({type(value).__name__})" if with_type else ""
    return f"`{name}` must be {allowed}; got {show(value)}{kind}."


def _int_range(minimum, maximum) -> str:
    if minimum is None and maximum is None:
        return "an integer"
    if maximum is None:
        return f"an integer >= {minimum}"
    if minimum is None:
        return f"an integer <= {maximum}"
    return f"an integer in [{minimum}, {maximum}]"


def _real_range(low, high, low_open, high_open) -> str:
    if math.isfinite(low) and math.isfinite(high):
        left, right = "(" if low_open else "[", ")" if high_open else "]"
        return f"a real number in {left}{low:g}, {high:g}{right}"
    bounds = []
    if math.isfinite(low):
        bounds.append(f"{'>' if low_open else '>='} {low:g}")
    if math.isfinite(high):
        bounds.append(f"{'<' if high_open else '<='} {high:g}")
    infinite = [
        f"{end:g}"
        for end, is_open in ((low, low_open), (high, high_open))
        if math.isinf(end) and not is_open
    ]
    text = "a real number" if infinite else "a finite real number"
    if bounds:
        text += " " + " and ".join(bounds)
    if infinite:
        text += f" (or {' or '.join(infinite)})"
    return text


def _span(outputs: Sequence[int]) -> str:
    """`[1, 2, 3]`, or `1..1000` for a long contiguous range."""
    outputs = sorted(outputs)
    if len(outputs) > 10 and outputs[-1] - outputs[0] == len(outputs) - 1:
        return f"{outputs[0]}..{outputs[-1]}"
    return str(outputs)


def _as_index(v, name: str) -> int:
    if isinstance(v, bool) or not isinstance(v, int | np.integer):
        raise TypeError(f"`{name}` must contain integer indices; got {v!r}.")
    return int(v)


def _preview(p) -> str:
    flat = np.asarray(p).ravel()
    head = np.array2string(flat[:6], precision=4, separator=", ")
    return head if flat.size <= 6 else head[:-1] + ", ...]"
