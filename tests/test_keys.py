"""Row keys (`trilemma._keys`) against plain dictionaries and loops over tuples."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from trilemma import _keys

# (radices, number of rows): small spaces (many repeats), a wide one, and one whose
# key space needs more than 63 bits (the rank fallback)
CASES = [((3, 4), 50), ((2, 1, 5, 3), 200), ((1000, 7, 999), 300), ((2**40,) * 2, 60)]


def random_rows(radices, num_rows, seed):
    """Rows with values in [0, r_i), each drawn from four values across the range.

    Rows repeat, and wide radices need wide keys.
    """
    rng = np.random.default_rng(seed)
    values = [np.unique(np.linspace(0, r - 1, 4).astype(np.int64)) for r in radices]
    return np.stack([rng.choice(v, num_rows) for v in values], axis=1)


def loop_key(row, radices):
    """The mixed-radix key of one row, as a Python int (no overflow)."""
    key = 0
    for value, radix in zip(row, radices, strict=True):
        key = key * radix + int(value)
    return key


def test_encode_is_the_mixed_radix_number():
    rows = random_rows((3, 4, 5), 100, 0)
    got = _keys.encode(list(rows.T), (3, 4, 5))
    assert got.dtype == np.int64
    assert got.tolist() == [loop_key(r, (3, 4, 5)) for r in rows]
    # a bijection onto [0, 60)
    every = np.array(np.unravel_index(np.arange(60), (3, 4, 5))).T
    assert _keys.encode(list(every.T), (3, 4, 5)).tolist() == list(range(60))


def test_encode_on_jax_arrays_equals_numpy_eagerly_and_under_jit():
    rows = random_rows((7, 9, 11), 64, 1)
    want = _keys.encode(list(rows.T), (7, 9, 11))
    cols = [jnp.asarray(c, jnp.int32) for c in rows.T]
    for dtype in (jnp.int32, jnp.int64):
        eager = _keys.encode(cols, (7, 9, 11), dtype)
        traced = jax.jit(lambda *c, d=dtype: _keys.encode(list(c), (7, 9, 11), d))(
            *cols
        )
        for got in (eager, traced):
            assert isinstance(got, jax.Array) and got.dtype == dtype
            np.testing.assert_array_equal(np.asarray(got), want)


def test_encode_refuses_more_than_63_bits():
    cols = [np.zeros(3, np.int64)] * 2
    assert _keys.encode(cols, (2**32, 2**31 - 1)) is not None
    assert _keys.encode(cols, (2**32, 2**31)) is None


def test_key_dtype():
    assert _keys.key_dtype(2**31 - 1) == jnp.int32
    assert _keys.key_dtype(2**31) == jnp.int64  # tests run with x64
    assert _keys.key_dtype(2**63 - 1) == jnp.int64
    assert _keys.key_dtype(2**63) is None


@pytest.mark.parametrize(("radices", "num_rows"), CASES)
@pytest.mark.parametrize("given_radices", [True, False])
def test_row_keys_are_equal_iff_rows_are_and_sort_lexicographically(
    radices, num_rows, given_radices
):
    rows = random_rows(radices, num_rows, num_rows)
    keys = _keys.row_keys(rows, radices if given_radices else None)
    assert keys.dtype == np.int64
    tuples = [tuple(r) for r in rows.tolist()]
    for i in range(num_rows):
        for j in range(num_rows):
            assert (keys[i] == keys[j]) == (tuples[i] == tuples[j])
    order = np.argsort(keys, kind="stable")
    assert [tuples[i] for i in order] == sorted(tuples)


def test_row_keys_of_negative_values_and_of_no_columns():
    rows = np.array([[-3, 5], [2, -1], [-3, 5], [2, 0]])
    keys = _keys.row_keys(rows)
    assert keys[0] == keys[2] and len(set(keys.tolist())) == 3
    assert list(np.argsort(keys, kind="stable")) == [0, 2, 1, 3]
    np.testing.assert_array_equal(_keys.row_keys(np.zeros((4, 0), int)), 0)


@pytest.mark.parametrize(("radices", "num_rows"), CASES)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_merge_rows_adds_the_weights_of_equal_rows(radices, num_rows, dtype):
    rows = random_rows(radices, num_rows, 7)
    weights = np.random.default_rng(8).random(num_rows).astype(dtype)
    first, sums = _keys.merge_rows(rows, weights, radices)
    expected: dict[tuple, float] = {}
    seen: dict[tuple, int] = {}
    for i, (row, w) in enumerate(zip(rows.tolist(), weights.tolist(), strict=True)):
        expected[tuple(row)] = expected.get(tuple(row), 0.0) + w  # in row order
        seen.setdefault(tuple(row), i)
    distinct = sorted(expected)
    assert [tuple(r) for r in rows[first].tolist()] == distinct
    assert first.tolist() == [seen[r] for r in distinct]
    assert sums.dtype == dtype
    want = np.array([expected[r] for r in distinct], dtype)
    np.testing.assert_array_equal(sums, want)


@pytest.mark.parametrize(("radices", "num_rows"), CASES)
def test_row_index_and_rows_in_equal_a_dictionary_lookup(radices, num_rows):
    rows = random_rows(radices, num_rows, 3)
    table = np.unique(random_rows(radices, num_rows, 4), axis=0)[::-2]  # reversed
    where = {tuple(r): i for i, r in enumerate(table.tolist())}
    expected = [where.get(tuple(r), -1) for r in rows.tolist()]
    assert -1 in expected and max(expected) >= 0  # both cases occur
    assert _keys.row_index(rows, table).tolist() == expected
    assert _keys.rows_in(rows, table).tolist() == [i >= 0 for i in expected]


def test_rows_of_another_shape_are_absent():
    table = np.array([[0, 1], [1, 0]])
    assert _keys.row_index(np.array([[0, 1, 0]]), table).tolist() == [-1]
    assert _keys.row_index(np.array([0, 1]), table).tolist() == [-1, -1]
    assert not _keys.rows_in(np.array([[1]]), table).any()
    # rows without columns: all equal to the table's empty rows
    assert _keys.row_index(np.zeros((3, 0), int), np.zeros((1, 0), int)).tolist() == [
        0,
        0,
        0,
    ]
