"""Parameter and Buffer: the tensors a Module owns (torch/nn/parameter.py).

A `Parameter` is a Tensor that a Module registers as one of its learnable weights when it is
assigned as an attribute (`self.weight = Parameter(...)`). It requires grad by default and it
shares memory with the tensor it wraps. Operations on a Parameter return plain Tensors.

A `Buffer` marks a tensor to register as a buffer (state that is saved and moved with the
module but not trained, like BatchNorm's running mean) when it is assigned as an attribute.
"""

from __future__ import annotations

from .._tensor_str import tensor_repr
from ..creation import empty
from ..tensor import _FACTORY_DTYPE_MESSAGE, Tensor

__all__ = ["Buffer", "Parameter"]


def _share(new, data):
    """Make `new` a fresh leaf on `data`'s memory (what torch's `_make_subclass` does)."""
    if data is None:
        data = empty(0)
    if not isinstance(data, Tensor):
        raise TypeError(f"Parameter and Buffer take a Tensor, not {type(data).__name__}; "
                        "wrap the values with hypergrad.tensor(...) first")
    new._init(data._data)
    new._version_counter = data._version_counter


class Parameter(Tensor):
    """A Tensor that is a module parameter: it requires grad unless told otherwise.

    >>> import hypergrad as hg
    >>> hg.nn.Parameter(hg.tensor([1.0, 2.0]))
    Parameter containing:
    tensor([1., 2.], requires_grad=True)
    """

    def __init__(self, data=None, requires_grad=True):
        _share(self, data)
        if requires_grad:
            self._set_requires_grad(True, _FACTORY_DTYPE_MESSAGE)

    def __repr__(self):
        return "Parameter containing:\n" + tensor_repr(self)


class Buffer(Tensor):
    """A Tensor that, assigned to a Module attribute, is registered as a buffer.

    `persistent=False` keeps it out of `state_dict()`.
    """

    def __init__(self, data=None, *, persistent=True):
        _share(self, data)
        self.persistent = persistent
