"""Custom autograd Functions: your own forward and backward, written with Tensors.

Mirrors torch/autograd/function.py and torch/csrc/autograd/python_function.cpp.

A `Function` subclass has two static methods::

    class Exp(Function):
        @staticmethod
        def forward(ctx, x):
            result = x.exp()
            ctx.save_for_backward(result)
            return result

        @staticmethod
        def backward(ctx, grad_output):
            (result,) = ctx.saved_tensors
            return grad_output * result

    y = Exp.apply(x)          # y.grad_fn is an ExpBackward node

`apply` runs `forward` with grad mode off (what happens inside is not recorded), then makes one
node of class `<Name>Backward` the `grad_fn` of the outputs. That node is the `ctx` both
methods receive. The rules, as in torch:

- `ctx.save_for_backward(*tensors)`: call at most once, in forward, with inputs or outputs (or
  None); read them back with `ctx.saved_tensors`, which checks they were not changed in place.
- `ctx.mark_dirty(*tensors)`: inputs forward modified in place; they must be returned.
- `ctx.mark_non_differentiable(*tensors)`: outputs that get no gradient (indices, masks).
- `ctx.set_materialize_grads(False)`: backward receives None instead of zeros for outputs that
  got no gradient.
- `ctx.needs_input_grad`: a tuple of bools, one per forward argument.
- backward returns one gradient per forward argument (None for non-tensors and for inputs
  that need none).
"""

from __future__ import annotations

import functools
import warnings

import numpy as np

from .anomaly import _anomaly, record_forward_trace
from .grad_mode import _state, no_grad
from .node import INVALID_EDGE, Node, next_sequence_nr
from .saved import SavedTensor

__all__ = ["Function", "FunctionCtx", "BackwardCFunction", "once_differentiable"]


class FunctionCtx:
    """The ctx API (torch.autograd.function.FunctionCtx)."""

    def save_for_backward(self, *tensors):
        """Save tensors (inputs, outputs, or None) for backward. Call at most once."""
        self._to_save = tensors

    def save_for_forward(self, *tensors):
        self._to_save_forward = tensors

    def mark_dirty(self, *tensors):
        """Declare inputs that forward modified in place."""
        self._dirty = tensors

    def mark_non_differentiable(self, *tensors):
        """Declare outputs that are not differentiable."""
        self._non_differentiable = tensors

    def set_materialize_grads(self, value):
        """Whether backward gets zeros (True, the default) or None for undefined gradients."""
        self.materialize_grads = bool(value)


class BackwardCFunction(Node, FunctionCtx):
    """The node of a custom Function; named `<FunctionName>Backward` per subclass."""

    _forward_cls = None

    def __init__(self):
        Node.__init__(self, (), sequence_nr=0)
        self._to_save = None
        self._saved = ()
        self._dirty = ()
        self._non_differentiable = ()
        self.materialize_grads = True
        self.needs_input_grad = ()
        self._is_tensor_input = ()

    @property
    def saved_tensors(self):
        return tuple(s.unpack(self) if type(s) is SavedTensor else s for s in self._saved)

    @property
    def saved_variables(self):
        return self.saved_tensors

    def release_variables(self):
        for s in self._saved:
            if type(s) is SavedTensor:
                s.release()

    def apply(self, grad_outputs):
        from ..tensor import Tensor

        if self.materialize_grads:
            for i, grad in enumerate(grad_outputs):
                metadata = self._input_metadata[i]
                if grad is None and metadata is not None:  # None: a non-tensor output
                    grad_outputs[i] = Tensor._make(np.zeros(*metadata))
        result = self._forward_cls.backward(self, *grad_outputs)
        if not isinstance(result, tuple):
            result = (result,)
        expected = len(self._is_tensor_input)
        if len(result) > expected and all(g is None for g in result[expected:]):
            result = result[:expected]
        if len(result) != expected:
            raise RuntimeError(f"function {self.name()} returned an incorrect number of gradients "
                               f"(expected {expected}, got {len(result)})")
        grads = []
        for i, (grad, is_tensor) in enumerate(zip(result, self._is_tensor_input)):
            if not is_tensor:
                if grad is not None:
                    raise RuntimeError(
                        f"function {self.name()} returned a gradient different than None at "
                        f"position {i + 1}, but the corresponding forward input was not a "
                        "Variable")
                continue
            if grad is not None and not isinstance(grad, Tensor):
                raise RuntimeError(f"expected Variable or None (got {type(grad).__name__})")
            grads.append(grad if self.needs_input_grad[i] else None)
        return grads


class Function:
    """Base class of custom differentiable operations (`torch.autograd.Function`).

    Subclass it with static `forward(ctx, *args)` and `backward(ctx, *grads)` and call
    `YourFunction.apply(*args)`; never instantiate it. A subclass may instead define
    `forward(*args)` without ctx plus `setup_context(ctx, inputs, output)`, as in torch 2.
    """

    _backward_cls = None

    def __init__(self, *args, **kwargs):
        warnings.warn(f"{type(self)} should not be instantiated. Methods on autograd functions "
                      "are all static, so you should invoke them on the class itself. "
                      "Instantiating an autograd function will raise an error in a future "
                      "version of PyTorch.", DeprecationWarning, stacklevel=2)

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        cls._backward_cls = type(f"{cls.__name__}Backward", (BackwardCFunction,),
                                 {"_forward_cls": cls, "__module__": cls.__module__})

    @staticmethod
    def forward(ctx, *args, **kwargs):
        raise NotImplementedError("You must implement the forward function for custom "
                                  "autograd.Function.")

    @staticmethod
    def setup_context(ctx, inputs, output):
        raise NotImplementedError

    @staticmethod
    def backward(ctx, *grad_outputs):
        raise NotImplementedError("You must implement either the backward or vjp method for "
                                  "your custom autograd.Function to use it with backward mode "
                                  "AD.")

    vjp = backward

    @classmethod
    def apply(cls, *args, **kwargs):
        from ..tensor import Tensor, gradient_edge

        ctx = cls._backward_cls()
        is_tensor = tuple(isinstance(a, Tensor) for a in args)
        record = _state.enabled and any(t and a._requires_grad for t, a in zip(is_tensor, args))
        ctx.needs_input_grad = tuple(t and a._requires_grad for t, a in zip(is_tensor, args))
        ctx._is_tensor_input = is_tensor
        uses_setup_context = cls.setup_context is not Function.setup_context
        with no_grad():
            if uses_setup_context:
                output = cls.forward(*args, **kwargs)
                cls.setup_context(ctx, args, output)
            else:
                output = cls.forward(ctx, *args, **kwargs)
        single = not isinstance(output, tuple)
        outputs = (output,) if single else output
        if not record:
            return output
        ctx.next_edges = tuple(gradient_edge(a) if t else INVALID_EDGE
                               for t, a in zip(is_tensor, args) if t)
        ctx._sequence_nr = next_sequence_nr()
        dirty = ctx._dirty
        non_diff = ctx._non_differentiable
        results = []
        metadata = []
        for i, out in enumerate(outputs):
            if not isinstance(out, Tensor):
                results.append(out)
                metadata.append(None)  # its slot in backward's arguments always gets None
                continue
            if any(out is d for d in dirty):
                if out._requires_grad and out._grad_fn is None:
                    raise RuntimeError("a leaf Variable that requires grad has been used in an "
                                       "in-place operation.")
                out._version_counter.bump()
            elif any(out is a for a in args):
                out = out.detach()  # an input returned as is: a new tensor with its own history
            metadata.append((out._data.shape, out._data.dtype))
            if out._data.dtype.kind in "fc" and not any(out is n for n in non_diff):
                out._grad_fn = ctx
                out._output_nr = i
                out._requires_grad = True
            results.append(out)
        ctx._input_metadata = tuple(metadata)
        if ctx._to_save is not None:
            ctx._saved = tuple(_save(t, i, results) for i, t in enumerate(ctx._to_save))
            ctx._to_save = None
        if _anomaly["enabled"]:
            record_forward_trace(ctx)
        return results[0] if single else tuple(results)


def _save(tensor, index, outputs):
    """Save argument `index` of save_for_backward: an output without a cycle (saved.py)."""
    from ..tensor import Tensor

    if tensor is None:
        return None
    if not isinstance(tensor, Tensor):
        raise TypeError(f"save_for_backward can only save variables, but argument {index} is "
                        f"of type {type(tensor).__name__}")
    for i, out in enumerate(outputs):
        if tensor is out:
            return SavedTensor(out, is_output=True, output_nr=i)
    return SavedTensor(tensor)


class _DelayedError(Function):
    """Stands in for a once_differentiable backward's graph: raises if differentiated."""

    @staticmethod
    def forward(ctx, message, *tensors):
        ctx.message = message
        return tuple(t.detach() for t in tensors) if len(tensors) > 1 else tensors[0].detach()

    @staticmethod
    def backward(ctx, *grads):
        raise RuntimeError(ctx.message)


def once_differentiable(backward):
    """Decorate a Function's backward that cannot itself be differentiated.

    It runs under no_grad; if a graph was requested (`create_graph=True`), its results are
    wrapped so that differentiating them raises, instead of silently giving zero.
    """

    @functools.wraps(backward)
    def wrapper(ctx, *grads):
        from ..tensor import Tensor

        with no_grad():
            outputs = backward(ctx, *grads)
        if not _state.enabled or not any(isinstance(g, Tensor) and g._requires_grad
                                         for g in grads):
            return outputs
        single = not isinstance(outputs, tuple)
        outputs = (outputs,) if single else outputs
        wrapped = []
        for out in outputs:
            if isinstance(out, Tensor) and out._data.dtype.kind in "fc":
                anchor = next(g for g in grads if isinstance(g, Tensor) and g._requires_grad)
                out = _DelayedError.apply(
                    "trying to differentiate twice a function that was marked with "
                    "@once_differentiable", out, anchor)[0]
            wrapped.append(out)
        return wrapped[0] if single else tuple(wrapped)

    return wrapper
