"""hypergrad.autograd: reverse-mode automatic differentiation (`torch.autograd`).

`backward()` writes gradients into the leaves' `.grad`; `grad()` returns them instead. Both
turn their arguments into *edges* of the graph and hand them to the engine (engine.py), as
torch/autograd/__init__.py does with `_engine_run_backward`.

The parts, one concept per file, each named after the PyTorch file that does the same:
node.py (Node, Edge, AccumulateGrad, GraphRoot), engine.py, saved.py, grad_mode.py,
function.py (custom Function), anomaly.py, gradcheck.py.
"""

from __future__ import annotations

import warnings

import numpy as np

from .anomaly import detect_anomaly, is_anomaly_enabled, set_detect_anomaly
from .engine import Engine, get_default_engine
from .grad_mode import (enable_grad, inference_mode, is_grad_enabled,
                        is_inference_mode_enabled, no_grad, set_grad_enabled)
from .node import AccumulateGrad, Edge, GraphRoot, Node

__all__ = ["backward", "grad", "Function", "FunctionCtx", "once_differentiable", "gradcheck",
           "gradgradcheck", "GradcheckError", "Node", "Edge", "AccumulateGrad", "GraphRoot",
           "Engine", "get_default_engine", "no_grad", "enable_grad", "set_grad_enabled",
           "inference_mode", "is_grad_enabled", "is_inference_mode_enabled", "detect_anomaly",
           "set_detect_anomaly", "is_anomaly_enabled", "graph"]


def _tensor_or_tensors(value, what):
    from ..tensor import Tensor

    if isinstance(value, Tensor):
        return (value,)
    try:
        values = tuple(value)
    except TypeError:
        raise TypeError(f"{what} must be a Tensor or a sequence of Tensors, got "
                        f"{type(value).__name__}") from None
    for item in values:
        if not isinstance(item, Tensor):
            raise TypeError(f"{what} must contain only Tensors, got {type(item).__name__}")
    return values


def _make_grads(outputs, grads):
    """Default and check the root gradients (torch/autograd/__init__.py `_make_grads`)."""
    from ..tensor import Tensor

    new_grads = []
    for i, (out, grad) in enumerate(zip(outputs, grads)):
        if grad is None:
            if out._requires_grad:
                if out._data.size != 1:
                    raise RuntimeError("grad can be implicitly created only for scalar outputs")
                if out._data.dtype.kind not in "fc":
                    raise RuntimeError(f"grad can be implicitly created only for real scalar "
                                       f"outputs but got {out.dtype!r}")
                new_grads.append(Tensor._make(np.ones_like(out._data)))
            else:
                new_grads.append(None)
            continue
        if not isinstance(grad, Tensor):
            grad = Tensor._make(np.asarray(grad, dtype=out._data.dtype))
        if grad._data.shape != out._data.shape:
            raise RuntimeError(
                f"Mismatch in shape: grad_output[{i}] has a shape of {grad.shape!r} and "
                f"output[{i}] has a shape of {out.shape!r}.".replace("hypergrad.Size",
                                                                      "hypergrad.Size"))
        new_grads.append(grad)
    return new_grads


def _root_edges(outputs):
    from ..tensor import gradient_edge

    edges = []
    for i, out in enumerate(outputs):
        if not out._requires_grad:
            raise RuntimeError(f"element {i} of tensors does not require grad and does not have "
                               "a grad_fn")
        edges.append(gradient_edge(out))
    return edges


_CREATE_GRAPH_WARNING = (
    "Using backward() with create_graph=True will create a reference cycle between the "
    "parameter and its gradient which can cause a memory leak. We recommend using "
    "autograd.grad when creating the graph to avoid this. If you have to use this function, "
    "make sure to reset the .grad fields of your parameters to None after use to break the "
    "cycle and avoid the leak.")


def backward(tensors, grad_tensors=None, retain_graph=None, create_graph=False,
             grad_variables=None, inputs=None):
    """Accumulate the gradients of `tensors` into the graph leaves' `.grad`.

    `torch.autograd.backward`. `grad_tensors` are the vectors of the vector-Jacobian product
    (needed for non-scalar outputs); `retain_graph` (default: `create_graph`) keeps the saved
    tensors for another backward; `create_graph` records the backward itself, for higher-order
    gradients; `inputs` restricts accumulation to those tensors (leaves or not).
    """
    from ..tensor import gradient_edge

    if grad_variables is not None:
        grad_tensors = grad_variables
    outputs = _tensor_or_tensors(tensors, "tensors")
    if grad_tensors is None:
        grads = [None] * len(outputs)
    else:
        grads = list(_tensor_or_tensors(grad_tensors, "grad_tensors")) if not isinstance(
            grad_tensors, (list, tuple)) else list(grad_tensors)
    if len(grads) != len(outputs):
        raise RuntimeError(f"got {len(grads)} tensors and {len(outputs)} gradients")
    if retain_graph is None:
        retain_graph = create_graph
    input_edges = None
    if inputs is not None:
        inputs = _tensor_or_tensors(inputs, "inputs")
        if len(inputs) == 0:
            raise RuntimeError("`inputs` argument to `backward()` cannot be empty.")
        input_edges = []
        for tensor in inputs:
            tensor.retain_grad()  # a no-op for leaves; raises if it does not require grad
            input_edges.append(gradient_edge(tensor))
    if create_graph:
        warnings.warn(_CREATE_GRAPH_WARNING, UserWarning, stacklevel=3)
    grads = _make_grads(outputs, grads)
    roots = _root_edges(outputs)
    get_default_engine().execute(roots, grads, retain_graph, create_graph,
                                 accumulate_grad=True, outputs=input_edges)


def grad(outputs, inputs, grad_outputs=None, retain_graph=None, create_graph=False,
         only_inputs=True, allow_unused=None, is_grads_batched=False, materialize_grads=False):
    """Return the gradients of `outputs` with respect to `inputs` (`torch.autograd.grad`).

    Nothing is written into `.grad`. An input the outputs do not depend on is an error unless
    `allow_unused=True` (then its gradient is None) or `materialize_grads=True` (zeros).
    """
    from ..tensor import Tensor, gradient_edge

    if is_grads_batched:
        raise NotImplementedError("is_grads_batched=True is not supported by HyperGrad (it "
                                  "needs vmap); loop over the batch instead")
    if materialize_grads and allow_unused is False:
        raise ValueError("Expected allow_unused to be True or not passed when "
                         "materialize_grads=True, but got: allow_unused=False.")
    if allow_unused is None:
        allow_unused = materialize_grads
    outputs = _tensor_or_tensors(outputs, "outputs")
    inputs = _tensor_or_tensors(inputs, "inputs")
    if grad_outputs is None:
        grads = [None] * len(outputs)
    elif isinstance(grad_outputs, Tensor):
        grads = [grad_outputs]
    else:
        grads = list(grad_outputs)
    if len(grads) != len(outputs):
        raise RuntimeError(f"grad requires one grad_output per output: got {len(grads)} "
                           f"grad_outputs and {len(outputs)} outputs")
    if retain_graph is None:
        retain_graph = create_graph
    for tensor in inputs:
        if not tensor._requires_grad:
            raise RuntimeError("One of the differentiated Tensors does not require grad")
    grads = _make_grads(outputs, grads)
    roots = _root_edges(outputs)
    input_edges = [gradient_edge(tensor) for tensor in inputs]
    captured = get_default_engine().execute(roots, grads, retain_graph, create_graph,
                                            accumulate_grad=False, outputs=input_edges)
    result = []
    for i, (value, tensor) in enumerate(zip(captured, inputs)):
        if value is None:
            if not allow_unused:
                raise RuntimeError(
                    f"The differentiated Tensor at index {i} appears to not have been used in "
                    "the graph. Set allow_unused=True if this is the desired behavior.")
            if materialize_grads:
                value = Tensor._make(np.zeros_like(tensor._data))
        result.append(value)
    return tuple(result)


from . import graph  # noqa: E402
from .function import Function, FunctionCtx, once_differentiable  # noqa: E402
from .gradcheck import GradcheckError, gradcheck, gradgradcheck  # noqa: E402
