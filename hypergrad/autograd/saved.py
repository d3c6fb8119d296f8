"""Saved tensors: what a node keeps from the forward pass for its backward.

Mirrors torch/csrc/autograd/saved_variable.{h,cpp}.

Note [Saved tensors and the version counter]
    `exp` saves its output because d/dx exp(x) = exp(x). If that output is later changed in
    place, the saved value is wrong and backward would silently compute a wrong gradient.
    So every tensor carries a version counter (shared with its views) that each in-place op
    bumps; saving records the version, and unpacking compares: a mismatch raises PyTorch's
    "one of the variables needed for gradient computation has been modified by an inplace
    operation" error instead of returning a wrong answer.

Note [An output saved by its own node]
    If a node kept a strong reference to its own output tensor, and the output kept its
    `grad_fn` (the node), the two would form a reference cycle and the graph would outlive the
    last user reference (freed only by the cycle collector, much later). So for an output,
    SavedTensor keeps the *data* and the version counter, not the Tensor, and `unpack(node)`
    rebuilds a tensor with `grad_fn=node` on demand, exactly as torch's SavedVariable does when
    `is_output` is true. Inputs are saved as the tensor itself: they stay connected to the
    graph, so double backward through a saved input is correct.

Note [Releasing saved tensors]
    After a node has run in a backward without `retain_graph`, the engine calls
    `release_variables()`, which drops the saved data (the memory a training loop most needs
    back). Unpacking after that raises the "Trying to backward through the graph a second time"
    error: that is how PyTorch detects a second backward, so a graph that saved nothing, such as
    `(a + b).sum()`, can be backwarded twice.
"""

from __future__ import annotations

import re

__all__ = ["SavedTensor", "BACKWARD_TWICE_MESSAGE"]

Tensor = None  # hypergrad/tensor.py sets this once the class exists (it imports us first)

BACKWARD_TWICE_MESSAGE = (
    "Trying to backward through the graph a second time (or directly access saved tensors "
    "after they have already been freed). Saved intermediate values of the graph are freed "
    "when you call .backward() or autograd.grad(). Specify retain_graph=True if you need to "
    "backward through the graph a second time or if you need to access saved tensors after "
    "calling backward."
)


class SavedTensor:
    """One saved value; see the Notes above. Non-tensor values (Python numbers) are kept as is."""

    __slots__ = ("_tensor", "_data", "_version_counter", "_saved_version", "_output_nr",
                 "_requires_grad", "_hooks")

    def __init__(self, tensor, is_output=False, output_nr=0):
        counter = tensor._version_counter
        self._version_counter = counter
        self._saved_version = counter.version
        self._hooks = None
        if is_output:
            self._tensor = None
            self._data = tensor._data
            self._output_nr = output_nr
            self._requires_grad = tensor._requires_grad
        else:
            self._tensor = tensor
            self._data = None
            self._output_nr = 0
            self._requires_grad = False

    def unpack(self, saved_for=None):
        """The saved tensor, checked against in-place changes; `saved_for` is the owning node."""
        counter = self._version_counter
        if counter is None:   # released
            raise RuntimeError(BACKWARD_TWICE_MESSAGE)
        current = counter.version
        if current != self._saved_version:
            raise RuntimeError(self._modified_message(current, saved_for))
        tensor = self._tensor
        if tensor is None:

            tensor = Tensor._make(self._data)
            tensor._version_counter = self._version_counter
            if saved_for is not None and self._requires_grad:
                tensor._grad_fn = saved_for
                tensor._output_nr = self._output_nr
                tensor._requires_grad = True
        if self._hooks is not None:
            tensor = self._hooks[1](self._hooks[2])
        return tensor

    def release(self):
        """Drop the saved value (and the counter: a released entry is one without it)."""
        self._tensor = self._data = self._version_counter = None

    @property
    def _released(self):
        return self._version_counter is None

    def register_hooks(self, pack_hook, unpack_hook):
        """Like torch's `_SavedTensor.register_hooks`: pack now, unpack on every access."""
        tensor = self.unpack()
        self._hooks = (pack_hook, unpack_hook, pack_hook(tensor))

    def _modified_message(self, current, saved_for):
        from .anomaly import is_anomaly_enabled

        data = self._data if self._tensor is None else self._tensor._data
        shape = ", ".join(str(n) for n in data.shape)
        from ..dtypes import from_numpy_dtype

        type_name = "hypergrad." + from_numpy_dtype(data.dtype)._tensor_type
        where = ""
        if self._tensor is None and saved_for is not None:
            where = f", which is output {self._output_nr} of {_op_name(saved_for)},"
        elif self._tensor is not None and self._tensor._grad_fn is not None:
            where = (f", which is output {self._tensor._output_nr} of "
                     f"{_op_name(self._tensor._grad_fn)},")
        if is_anomaly_enabled():
            hint = (" Hint: the backtrace further above shows the operation that failed to "
                    "compute its gradient. The variable in question was changed in there or "
                    "anywhere later. Good luck!")
        else:
            hint = (" Hint: enable anomaly detection to find the operation that failed to "
                    "compute its gradient, with hypergrad.autograd.set_detect_anomaly(True, "
                    "check_nan=False).")
        return ("one of the variables needed for gradient computation has been modified by an "
                f"inplace operation: [{type_name} [{shape}]]{where} is at version {current}; "
                f"expected version {self._saved_version} instead.{hint}")


def _op_name(node):
    """The operation a node belongs to, as torch names it in this message: "Exp" for
    ExpBackward0, "MyFn" for a custom Function's MyFnBackward."""
    return re.sub(r"Backward\d*$", "", node.name())
