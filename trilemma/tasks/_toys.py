r"""Two-token toys from the source texts, with words for their tokens.

Both have one empty prompt (`prompts` has shape `(1, 0)`), two output tokens with
three values each, and a grader that accepts exactly the support of $p^*$.
"""

from __future__ import annotations

import math

import numpy as np

from .. import _checks
from ._base import Task, build_joint, check_options, list_entropy, support_grader

ONE_BIT = math.log(2)
"""1 bit, in nats: the poster's C(Y|X) for the cities."""

CITY_LABELS = (("New", "Mexico", "Panama"), ("York", "Orleans", "City"))
"""Token names of the two positions of `cities`."""

CITY_TABLE = {(0, 0): 0.25, (0, 1): 0.25, (1, 2): 0.25, (2, 2): 0.25}
"""p*(y1, y2) of `cities`: New York, New Orleans, Mexico City, Panama City."""

COPULA_LABELS = (("dog", "puppy", "cat"), ("barking", "scared", "sleeping"))
"""Token names of the two blanks of "The ___ is ___" in `copula`."""

COPULA_TABLE = {(1, 0): 0.30, (1, 2): 0.25, (0, 1): 0.30, (2, 1): 0.15}
"""p*(y1, y2) of `copula`; every other pair has probability 0."""


def cities(
    n: int | None = None,
    *,
    num_prompts: int = 1,
    max_bytes: int | None = None,
    **options,
) -> Task:
    r"""Name a city: uniform on New York, New Orleans, Mexico City, Panama City.

    The ParallelBench poster's two-token example (reference §1.9): $Y_1 \in$
    {New, Mexico, Panama}, $Y_2 \in$ {York, Orleans, City}. $H(Y) = 2$ bits and
    $H(Y_1) = H(Y_2) = 1.5$ bits, so $C(Y|X) = 1$ bit; decoding both tokens in one
    step from the marginals is valid with probability 1/2 ("New City" has 1/4).
    `n` is fixed at 2.
    """
    return _toy("cities", n, num_prompts, max_bytes, options, CITY_TABLE, CITY_LABELS)


def copula(
    n: int | None = None,
    *,
    num_prompts: int = 1,
    max_bytes: int | None = None,
    **options,
) -> Task:
    r"""'The {dog, puppy, cat} is {barking, scared, sleeping}': greedy fails.

    The Discrete Copula Diffusion example of the blog: p*(puppy, barking) = 0.30,
    p*(puppy, sleeping) = 0.25, p*(dog, scared) = 0.30, p*(cat, scared) = 0.15 and
    every other pair 0. The marginal argmaxes are "puppy" (0.55) and "scared" (0.45)
    but p*(puppy, scared) = 0, so greedy decoding of both tokens in one step always
    outputs an invalid sentence. Closed form (derived, from the table):
    $C = H(.55, .30, .15) + H(.30, .45, .25) - H(.30, .25, .30, .15)
    = 0.9928$ bits. `n` is fixed at 2.
    """
    closed = (
        list_entropy([0.55, 0.30, 0.15])
        + list_entropy([0.30, 0.45, 0.25])
        - list_entropy(COPULA_TABLE.values())
    )
    return _toy(
        "copula",
        n,
        num_prompts,
        max_bytes,
        options,
        COPULA_TABLE,
        COPULA_LABELS,
        closed=closed,
        source="derived (from the table)",
    )


def _toy(
    name,
    n,
    num_prompts,
    max_bytes,
    options,
    table,
    labels,
    *,
    closed=ONE_BIT,
    source="ParallelBench poster (reference §1.9)",
):
    check_options(name, options)
    if n is not None:
        _checks.check_one_of(_checks.check_int(n, "n"), "n", (2,))  # two tokens
    _checks.check_int(num_prompts, "num_prompts", minimum=1, maximum=1)
    rows = np.array(list(table), np.int64)
    probs = np.array(list(table.values()))
    prompts = np.zeros((1, 0), np.int64)
    joint = build_joint(
        prompts,
        lambda x: (rows, probs),
        tuple(len(names) for names in labels),
        num_rows=len(rows),
        max_bytes=max_bytes,
    )
    grader = support_grader(prompts, joint)
    return Task(name, 2, prompts, joint, closed, source, grader, labels)
