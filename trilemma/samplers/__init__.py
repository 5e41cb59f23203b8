"""Parallel decoding samplers: a read-only registry of sampler factories.

Every entry but `apd` builds a `Sampler` (one model, the three axes of `_blocks`);
`apd` builds an `Apd`, which decodes with a dLLM and an autoregressive verifier.

>>> from trilemma.samplers import SAMPLERS
>>> SAMPLERS["confidence_topk"](k=2).describe()
'confidence_topk(k=2, temperature=0.0)'
"""

from types import MappingProxyType

from .. import _checks
from ._apd import Apd as Apd
from ._apd import apd as apd
from ._blocks import topk_schedule as topk_schedule
from ._decode import Decoded as Decoded
from ._decode import DecodeInfo as DecodeInfo
from ._decode import DecodeState as DecodeState
from ._decode import build_step as build_step
from ._decode import decode as decode
from ._decode import decode_batch as decode_batch
from ._decode import init as init
from ._decode import make_step as make_step
from ._decode import step_from_logits as step_from_logits
from ._dus import dilated_levels as dilated_levels
from ._dus import dus as dus
from ._host import decode_host as decode_host
from ._sampler import Sampler as Sampler
from ._sampler import confidence_topk as confidence_topk
from ._sampler import eb as eb
from ._sampler import entropy_topk as entropy_topk
from ._sampler import factor as factor
from ._sampler import left_to_right as left_to_right
from ._sampler import margin_topk as margin_topk
from ._sampler import mdlm as mdlm
from ._sampler import random_topk as random_topk
from ._sampler import threshold as threshold
from ._sampler import threshold_strict as threshold_strict

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
    }
)
"""Read-only registry: sampler name -> factory (keyword-only parameters)."""

ONE_MODEL = tuple(name for name in SAMPLERS if name != "apd")
"""The samplers that decode with one model: every entry but `apd`. These are the
`Sampler`s whose exact law `trilemma.simulate` enumerates."""


def make_sampler(name: str, **params) -> Sampler | Apd:
    """Build the registered sampler `name` (raises on unknown names)."""
    if name not in SAMPLERS:
        raise _checks.unknown("sampler", name, SAMPLERS)
    return SAMPLERS[name](**params)
