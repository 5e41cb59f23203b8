"""Models the samplers decode: a JAX `Model`, or a `HostModel` on NumPy arrays."""

from ._model import HostModel as HostModel
from ._model import Model as Model
