"""Parallel decoding samplers: a read-only registry of `Sampler` factories.

>>> from trilemma.samplers import SAMPLERS
>>> SAMPLERS["confidence_topk"](k=2).describe()
'confidence_topk(k=2, temperature=0.0)'
"""

from types import MappingProxyType

from .. import _checks
from ._blocks import topk_schedule as topk_schedule
from ._decode import Decoded as Decoded
from ._decode import DecodeInfo as DecodeInfo
from ._decode import DecodeState as DecodeState
from ._decode import build_step as build_step
from ._decode import decode as decode
from ._decode import decode_batch as decode_batch
from ._decode import init as init
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
    }
)
"""Read-only registry: sampler name -> factory (keyword-only parameters)."""


def make_sampler(name: str, **params) -> Sampler:
    """Build the registered sampler `name` (raises on unknown names)."""
    if name not in SAMPLERS:
        raise _checks.unknown("sampler", name, SAMPLERS)
    return SAMPLERS[name](**params)
