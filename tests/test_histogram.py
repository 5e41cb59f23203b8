"""`trilemma.estimators.histogram`: the cells of a sample set, against a Counter."""

from collections import Counter

import numpy as np
import pytest

from trilemma.estimators._counts import histogram


@pytest.mark.parametrize(
    ("num", "length", "vocab", "prompts"),
    [(1, 1, 1, 1), (500, 3, 4, 3), (2000, 6, 2, 5), (300, 40, 3, 2)],
)
def test_cells_and_counts_equal_a_plain_counter(num, length, vocab, prompts):
    """Every (prompt, output) cell once, with its count; prompts sorted and indexed.

    The last case has a key space of 2 * 3^40 > 2^63 cells: the rows' own columns
    are sorted instead of keys.
    """
    rng = np.random.default_rng(num)
    ids = rng.choice([3, 7, 11, 20, 40][:prompts], size=num)
    outputs = rng.integers(0, vocab, size=(num, length))
    hist = histogram(ids, outputs)
    expected = Counter(
        (int(i), tuple(row)) for i, row in zip(ids, outputs.tolist(), strict=True)
    )
    got = {
        (int(hist.prompt_ids[p]), tuple(row)): int(c)
        for p, row, c in zip(
            hist.prompt, hist.outcome.tolist(), hist.count, strict=True
        )
    }
    assert got == dict(expected)
    assert len(got) == len(hist.count)  # no cell twice
    assert hist.prompt_ids.tolist() == sorted(set(ids.tolist()))
    assert hist.totals.tolist() == [int((ids == i).sum()) for i in hist.prompt_ids]
    assert (np.diff(hist.prompt) >= 0).all()  # a prompt's cells are contiguous
    assert hist.distinct.sum() == len(hist.count)


def test_bad_samples_are_named():
    with pytest.raises(ValueError, match="empty"):
        histogram(np.zeros(0, int), np.zeros((0, 2), int))
    with pytest.raises(ValueError, match="outputs"):
        histogram(np.zeros(3, int), np.zeros((2, 2), int))
    with pytest.raises(TypeError, match="outputs"):
        histogram(np.zeros(2, int), np.zeros((2, 2)))
    with pytest.raises(ValueError, match="non-negative"):
        histogram(np.zeros(2, int), -np.ones((2, 2), int))


def _as_counter(hist):
    return {
        (int(hist.prompt_ids[p]), tuple(row)): int(c)
        for p, row, c in zip(
            hist.prompt, hist.outcome.tolist(), hist.count, strict=True
        )
    }


@pytest.mark.parametrize(
    ("num", "length", "vocab", "chunk", "dtype"),
    [
        (1000, 4, 3, 1, np.int64),  # one row per block
        (1000, 4, 3, 7, np.int64),  # the last block short
        (1000, 4, 3, 250, np.uint8),
        (999, 5, 2, 1000, np.int16),  # one block, padded
        (300, 40, 3, 128, np.int8),  # key space past 2^63: the columns are sorted
    ],
)
def test_chunked_histogram_equals_a_plain_counter(num, length, vocab, chunk, dtype):
    """Blocks of `chunk` rows, merged by their cells' counts, give the same histogram.

    Prompts are shuffled (each block sees every prompt) and one prompt id is far out
    (2^40), so the prompt ids are ranked by a sort rather than a presence table.
    """
    rng = np.random.default_rng(num + chunk)
    ids = rng.choice(np.array([2**40, 5, 9, 0]), size=num)
    outputs = rng.integers(0, vocab, size=(num, length)).astype(dtype)
    hist = histogram(ids, outputs, chunk=chunk)
    expected = Counter(
        (int(i), tuple(row)) for i, row in zip(ids, outputs.tolist(), strict=True)
    )
    assert _as_counter(hist) == dict(expected)
    assert len(hist.count) == len(expected)
    assert hist.prompt_ids.tolist() == sorted(set(ids.tolist()))
    assert hist.totals.tolist() == [int((ids == i).sum()) for i in hist.prompt_ids]
    whole = histogram(ids, outputs, chunk=None)
    for got, want in zip(hist, whole, strict=True):  # the same cells, in one order
        np.testing.assert_array_equal(got, want)
        assert got.dtype == want.dtype == np.int64


def test_bad_chunk_is_named():
    with pytest.raises(ValueError, match="chunk"):
        histogram(np.zeros(2, int), np.zeros((2, 2), int), chunk=0)
    with pytest.raises(TypeError, match="chunk"):
        histogram(np.zeros(2, int), np.zeros((2, 2), int), chunk=2.0)
