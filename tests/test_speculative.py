"""Speculative decoding with an ideal parallel draft (`trilemma.speculative`).

The reference here enumerates the protocol as written, separately from the
library: every joint draft of the gamma positions (independent draws from the
draft marginals, tokens off the support included), then the verifier's accept or
reject event at each drafted position in turn, the residual draw at the first
rejection, the bonus token when all are accepted. No min(q, p) shortcut.
"""

import functools
import itertools
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import trilemma as T
from trilemma.speculative import speculative

EXACT = {"rtol": 1e-12, "atol": 1e-12}


def _rows(task):
    """[(p(x), {y: p*(y|x)})] per prompt, Python floats."""
    outcomes = np.asarray(task.joint.outcomes).astype(int)
    probs = np.asarray(task.joint.probs, float)
    out = {}
    for o, p in zip(outcomes, probs, strict=True):
        out.setdefault(int(o[0]), {})[tuple(int(v) for v in o[1:])] = float(p)
    result = []
    for table in out.values():
        total = math.fsum(table.values())
        result.append((total, {y: p / total for y, p in table.items()}))
    return result


def brute_speculative(rows, length, gamma):
    """(law {y: q}, expected target calls, E[tokens] of the first call)."""

    def mass(prefix):
        return math.fsum(p for y, p in rows.items() if y[: len(prefix)] == prefix)

    def cond(prefix, v):
        return mass(prefix + (v,)) / mass(prefix)

    def tokens_at(i):
        return sorted({y[i] for y in rows})

    def draft(prefix, j):
        i = len(prefix) + j
        total = mass(prefix)
        out = {}
        for y, p in rows.items():
            if y[: len(prefix)] == prefix:
                out[y[i]] = out.get(y[i], 0.0) + p / total
        return out

    @functools.cache
    def round_law(prefix):
        left = length - len(prefix)
        g = min(gamma, left)
        drafts = [sorted(draft(prefix, j).items()) for j in range(g)]
        blocks = {}
        for d in itertools.product(*drafts):
            p_draft = math.prod(q for _, q in d)
            tokens = [v for v, _ in d]
            reach = p_draft
            for j in range(g):
                here = prefix + tuple(tokens[:j])
                q_j = dict(drafts[j])
                accept = min(1.0, cond(here, tokens[j]) / q_j[tokens[j]])
                residual = {
                    v: max(cond(here, v) - q_j.get(v, 0.0), 0.0)
                    for v in tokens_at(len(here))
                }
                z = math.fsum(residual.values())
                if accept < 1.0:
                    for v, r in residual.items():
                        if r > 0:
                            b = tuple(tokens[:j]) + (v,)
                            blocks[b] = (
                                blocks.get(b, 0.0) + reach * (1 - accept) * r / z
                            )
                reach *= accept
                if reach == 0:
                    break
            else:
                here = prefix + tuple(tokens)
                if g < left:
                    for v in tokens_at(len(here)):
                        c = cond(here, v) if mass(here) > 0 else 0.0
                        if c > 0:
                            b = tuple(tokens) + (v,)
                            blocks[b] = blocks.get(b, 0.0) + reach * c
                else:
                    blocks[tuple(tokens)] = blocks.get(tuple(tokens), 0.0) + reach
        return blocks

    @functools.cache
    def solve(prefix):
        if len(prefix) == length:
            return {prefix: 1.0}, 0.0
        law, calls = {}, 1.0
        for b, p in round_law(prefix).items():
            sub, c = solve(prefix + b)
            calls += p * c
            for y, q in sub.items():
                law[y] = law.get(y, 0.0) + p * q
        return law, calls

    law, calls = solve(())
    first = math.fsum(p * len(b) for b, p in round_law(()).items())
    return law, calls, first


TASKS = (
    ("cities", None, {}),
    ("copula", None, {}),
    ("replace_random", 3, {}),
    ("replace_random", 2, {"num_prompts": 2}),
    ("shuffle", 3, {}),
    ("shuffle", 4, {}),
    ("shuffle_distinct", 3, {}),
    ("insert_random", 3, {}),
    ("markov_chain", 4, {"vocab": 2, "seed": 1}),
    ("random_joint", 3, {"vocab": 3, "seed": 5}),
)


@pytest.mark.parametrize("name,n,options", TASKS)
@pytest.mark.parametrize("gamma", [1, 2, 3, 5])
def test_law_is_target_and_calls_match_brute_force(name, n, options, gamma):
    """The output law is exactly p*; target calls and first-call tokens are exact.

    Theorem (Leviathan et al.): min(q, p) + (p - q)_+ = p, so every committed token
    is distributed as p* given the prefix, whatever the draft.
    """
    task = T.make_task(name, n, **options)
    got = speculative(task, gamma)
    np.testing.assert_allclose(got.q_rows, np.asarray(task.joint.probs), **EXACT)
    assert got.invalid == 0.0
    np.testing.assert_allclose(got.first_call_formula, got.first_call_tokens, **EXACT)
    length = len(task.outputs)
    calls, first = [], []
    for weight, rows in _rows(task):
        law, c, f = brute_speculative(rows, length, gamma)
        for y, p in rows.items():
            np.testing.assert_allclose(law.get(y, 0.0), p, **EXACT)
        calls.append(weight * c)
        first.append(weight * f)
    np.testing.assert_allclose(got.expected_calls, math.fsum(calls), **EXACT)
    np.testing.assert_allclose(got.first_call_tokens, math.fsum(first), **EXACT)
    np.testing.assert_allclose(got.tokens_per_call, length / got.expected_calls)


@settings(max_examples=25)
@given(
    st.integers(0, 10_000),
    st.integers(2, 4),
    st.integers(2, 3),
    st.sampled_from([0.0, 0.5]),
    st.integers(1, 4),
)
def test_law_is_target_on_random_joints(seed, n, vocab, zeros, gamma):
    """Theorem: the output law is p* for every joint and every gamma.

    E[N] of a round is 1 + sum_k sum_{x_1:k} prod_j min(q_j, p*), at most
    min(gamma + 1, L).
    """
    task = T.make_task("random_joint", n, vocab=vocab, seed=seed, zeros=zeros)
    got = speculative(task, gamma)
    np.testing.assert_allclose(got.q_rows, np.asarray(task.joint.probs), **EXACT)
    np.testing.assert_allclose(got.first_call_formula, got.first_call_tokens, **EXACT)
    assert 1.0 - 1e-12 <= got.first_call_tokens <= min(gamma + 1, n) + 1e-12
    assert got.expected_calls >= n / (gamma + 1) - 1e-12


def test_deterministic_task_takes_ceil_calls():
    """Copy: the draft is always right, so each call commits gamma + 1 tokens."""
    task = T.make_task("copy", 5)
    for gamma in (1, 2, 4, 6):
        got = speculative(task, gamma)
        assert got.expected_calls == math.ceil(5 / (gamma + 1))


def test_cities_numbers():
    """Cities, gamma = 1: one target call decodes both tokens.

    The first token's draft is its marginal, which is p*'s first AR conditional,
    so it is accepted; the second comes from the target in the same call.
    """
    got = speculative(T.make_task("cities"), 1)
    assert got.expected_calls == 1.0
    assert got.first_call_tokens == 2.0


def test_bad_input():
    """A gamma below 1 and too large an enumeration are refused."""
    task = T.make_task("shuffle", 3)
    with pytest.raises(ValueError, match="gamma"):
        speculative(task, 0)
    with pytest.raises(ValueError, match="speculative decoding"):
        speculative(task, 2, max_work=10)
