"""Parallel decoding samplers: a read-only registry of sampler factories.

Every entry builds a value that implements the sampler protocol (`_protocol`:
`phases`, `num_models`, `init_extra`, `max_steps`, `remasks`, `law`), so the decoders
and `trilemma.simulate` run it without knowing its name. The rule-based samplers are
`Sampler`s (a score, a count and a temperature from `rules`, the public module of
decoding rules); `apd` builds an `Apd`, which decodes with a dLLM and an
autoregressive verifier.

>>> from trilemma.samplers import SAMPLERS
>>> SAMPLERS["confidence_topk"](k=2).describe()
'confidence_topk(k=2, temperature=0.0)'
"""

from types import MappingProxyType

from .. import _checks
from ._apd import Apd as Apd
from ._apd import apd as apd
from ._decode import decode as decode
from ._decode import decode_batch as decode_batch
from ._decode import make_step as make_step
from ._dus import dilated_levels as dilated_levels
from ._dus import dus as dus
from ._host import decode_host as decode_host
from ._klass import klass as klass
from ._optimal import Optimal as Optimal
from ._optimal import optimal as optimal
from ._optimal import optimal_sampler as optimal_sampler
from ._protocol import Decoded as Decoded
from ._protocol import DecodeInfo as DecodeInfo
from ._protocol import DecodeState as DecodeState
from ._protocol import DecodingSampler as DecodingSampler
from ._protocol import init as init
from ._rcr import Rcr as Rcr
from ._rcr import rcr as rcr
from ._remdm import Remdm as Remdm
from ._remdm import remdm as remdm
from ._sampler import Sampler as Sampler
from ._sampler import confidence_topk as confidence_topk
from ._sampler import eb as eb
from ._sampler import entropy_topk as entropy_topk
from ._sampler import factor as factor
from ._sampler import left_to_right as left_to_right
from ._sampler import margin_topk as margin_topk
from ._sampler import mdlm as mdlm
from ._sampler import random_topk as random_topk
from ._sampler import step_from_logits as step_from_logits
from ._sampler import threshold as threshold
from ._sampler import threshold_strict as threshold_strict
from ._slowfast import slowfast as slowfast
from ._wino import Wino as Wino
from ._wino import wino as wino
from .rules import topk_schedule as topk_schedule

SAMPLERS = MappingProxyType(
    {
        "random_topk": random_topk,
        "confidence_topk": confidence_topk,
        "margin_topk": margin_topk,
        "entropy_topk": entropy_topk,
        "left_to_right": left_to_right,
        "threshold": threshold,
        "threshold_strict": threshold_strict,
        "factor": factor,
        "eb": eb,
        "mdlm": mdlm,
        "dus": dus,
        "apd": apd,
        "klass": klass,
        "slowfast": slowfast,
        "remdm": remdm,
        "rcr": rcr,
        "wino": wino,
        "optimal": optimal,
    }
)
"""Read-only registry: sampler name -> factory (keyword-only parameters)."""

EXAMPLES = MappingProxyType(
    {
        "random_topk": ({"k": 2, "temperature": 1.0}, {"num_steps": 2, "block": 2}),
        "confidence_topk": ({"k": 2, "temperature": 1.0}, {"k": 2}),
        "margin_topk": ({"k": 2, "temperature": 1.0, "block": 2}, {"num_steps": 2}),
        "entropy_topk": ({"k": 2, "temperature": 0.5}, {"k": 1}),
        "left_to_right": ({"k": 2, "temperature": 1.0}, {"k": 3}),
        "threshold": ({"gamma": 0.5, "temperature": 1.0}, {"gamma": 0.9}),
        "threshold_strict": ({"gamma": 0.5, "temperature": 1.0}, {"gamma": 0.5}),
        "factor": ({"factor": 1.0, "temperature": 1.0}, {"factor": 1.0}),
        "eb": ({"gamma": 0.5, "temperature": 1.0}, {"gamma": 0.3}),
        "mdlm": ({"num_steps": 3}, {"num_steps": 3, "temperature": 0.0}),
        "dus": ({"block": 4, "temperature": 1.0}, {"block": 2}),
        "apd": ({"weight": 0.5, "lookahead": 2}, {"temperature": 0.0}),
        "klass": (
            {"confidence": 0.4, "kl_threshold": 0.5, "history": 1, "temperature": 1.0},
            {"confidence": 0.9},
        ),
        "slowfast": (
            {"exploration_steps": 2, "high_confidence": 0.5, "temperature": 1.0},
            {"high_confidence": 0.9},
        ),
        "remdm": ({"temperature": 1.0}, {"remask_steps": 2}),
        "rcr": ({"num_steps": 2, "temperature": 1.0}, {"num_steps": 3}),
        "wino": ({"threshold": 0.6, "temperature": 1.0}, {}),
        "optimal": ({"price": 0.05, "temperature": 1.0}, {"budget": 2.0}),
    }
)
"""Example settings of every registered sampler, next to its factory: the first at
a temperature above 0 with a law that is not degenerate, the second greedy (or
cheap to enumerate on a trained model). `trilemma samplers` shows them, and the test
suite runs every sampler with them, so a new sampler needs only its module, its two
lines here and its own tests."""


def make_sampler(name: str, **params) -> DecodingSampler:
    """Build the registered sampler `name` (raises on unknown names)."""
    if name not in SAMPLERS:
        raise _checks.unknown("sampler", name, SAMPLERS)
    return SAMPLERS[name](**params)
