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


# hypergrad/tensor.py imports this package before it defines Tensor; it sets these three once
# the class exists (importing them inside each call would cost an import per backward).
Tensor = Size = gradient_edge = None


def _as_tuple(value):
    """A Tensor as a 1-tuple, any other iterable as a tuple (torch's own conversion)."""
    return (value,) if isinstance(value, Tensor) else tuple(value)


def _grads_tuple(grads, length):
    """torch's `_tensor_or_tensors_to_tuple`: None means one None per output."""
    return (None,) * length if grads is None else _as_tuple(grads)


def _make_grads(outputs, grads, is_grads_batched=False):
    """Default and check the root gradients (torch/autograd/__init__.py `_make_grads`).

    Outputs and gradients are paired with zip, as in torch: a missing gradient is reported by
    the engine ("got 2 tensors and 1 gradients"), an extra one is ignored.
    """
    new_grads = []
    for i, (out, grad) in enumerate(zip(outputs, grads)):
        if not isinstance(out, Tensor):
            raise AssertionError("Expected output to be a hypergrad.Tensor")
        if isinstance(grad, Tensor):
            shape = grad._data.shape[1:] if is_grads_batched else grad._data.shape
            if shape != out._data.shape:
                if is_grads_batched:
                    raise RuntimeError(
                        "If `is_grads_batched=True`, we interpret the first dimension of each "
                        "grad_output as the batch dimension. The sizes of the remaining "
                        "dimensions are expected to match the shape of corresponding output, "
                        f"but a mismatch was detected: grad_output[{i}] has a shape of "
                        f"{Size(shape)!r} and output[{i}] has a shape of {out.shape!r}. If you "
                        "only want some tensors in `grad_output` to be considered batched, "
                        "consider using vmap.")
                raise RuntimeError(f"Mismatch in shape: grad_output[{i}] has a shape of "
                                   f"{grad.shape!r} and output[{i}] has a shape of "
                                   f"{out.shape!r}.")
            if (out._data.dtype.kind == "c") != (grad._data.dtype.kind == "c"):
                raise RuntimeError(
                    "For complex Tensors, both grad_output and output are required to have the "
                    f"same dtype. Mismatch in dtype: grad_output[{i}] has a dtype of "
                    f"{grad.dtype!r} and output[{i}] has a dtype of {out.dtype!r}.")
            new_grads.append(grad)
        elif grad is None:
            if out._requires_grad:
                if out._data.size != 1:
                    raise RuntimeError("grad can be implicitly created only for scalar outputs")
                if out._data.dtype.kind != "f":
                    raise RuntimeError(f"grad can be implicitly created only for real scalar "
                                       f"outputs but got {out.dtype!r}")
                new_grads.append(Tensor._make(np.ones_like(out._data)))
            else:
                new_grads.append(None)
        else:
            raise TypeError(f"gradients can be either Tensors or None, but got "
                            f"{type(grad).__name__}")
    return new_grads


def _root_edges(outputs, grads):
    """The roots' gradient edges, with the engine's checks (torch's `run_backward`)."""
    if len(outputs) != len(grads):
        raise RuntimeError(f"got {len(outputs)} tensors and {len(grads)} gradients")
    edges = []
    for i, out in enumerate(outputs):
        if not out._requires_grad:
            raise RuntimeError(f"element {i} of tensors does not require grad and does not have "
                               "a grad_fn")
        edges.append(gradient_edge(out))
    return edges


def _input_edges(inputs):
    edges = []
    for tensor in inputs:
        if not isinstance(tensor, Tensor):
            raise RuntimeError(f"all inputs have to be Tensors or GradientEdges, but got "
                               f"{type(tensor).__name__}")
        if not tensor._requires_grad:
            raise RuntimeError("One of the differentiated Tensors does not require grad")
        edges.append(gradient_edge(tensor))
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
    if grad_variables is not None:
        grad_tensors = grad_variables
    outputs = _as_tuple(tensors)
    if inputs is not None:
        inputs = _as_tuple(inputs)
        if len(inputs) == 0:
            raise RuntimeError("`inputs` argument to `backward()` cannot be empty.")
    grads = _make_grads(outputs, _grads_tuple(grad_tensors, len(outputs)))
    if retain_graph is None:
        retain_graph = create_graph
    input_edges = None
    if inputs is not None:
        for tensor in inputs:
            tensor.retain_grad()  # a no-op for leaves; raises if it does not require grad
        input_edges = _input_edges(inputs)
    roots = _root_edges(outputs, grads)
    if create_graph:
        warnings.warn(_CREATE_GRAPH_WARNING, UserWarning, stacklevel=3)
    get_default_engine().execute(roots, grads, retain_graph, create_graph,
                                 accumulate_grad=True, outputs=input_edges)


def grad(outputs, inputs, grad_outputs=None, retain_graph=None, create_graph=False,
         only_inputs=True, allow_unused=None, is_grads_batched=False, materialize_grads=False):
    """Return the gradients of `outputs` with respect to `inputs` (`torch.autograd.grad`).

    Nothing is written into `.grad`. An input the outputs do not depend on is an error unless
    `allow_unused=True` (then its gradient is None) or `materialize_grads=True` (zeros).
    """
    if materialize_grads and allow_unused is False:
        raise ValueError("Expected allow_unused to be True or not passed when "
                         "materialize_grads=True, but got: allow_unused=False.")
    if allow_unused is None:
        allow_unused = materialize_grads
    outputs = _as_tuple(outputs)
    inputs = _as_tuple(inputs)
    if len(inputs) == 0:
        raise RuntimeError("`inputs` argument to `grad()` cannot be empty.")
    if not only_inputs:
        warnings.warn("only_inputs argument is deprecated and is ignored now (defaults to "
                      "True). To accumulate gradient for other parts of the graph, please use "
                      "hypergrad.autograd.backward.", FutureWarning, stacklevel=2)
    grads = _make_grads(outputs, _grads_tuple(grad_outputs, len(outputs)), is_grads_batched)
    if retain_graph is None:
        retain_graph = create_graph
    if is_grads_batched:
        captured = _grad_batched(outputs, grads, inputs, retain_graph, create_graph)
    else:
        captured = get_default_engine().execute(
            _root_edges(outputs, grads), grads, retain_graph, create_graph,
            accumulate_grad=False, outputs=_input_edges(inputs))
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


def _grad_batched(outputs, grads, inputs, retain_graph, create_graph):
    """`grad(..., is_grads_batched=True)`: one backward per row of the grad_outputs, stacked.

    torch vectorizes this with vmap; running the rows one after another gives the same values.
    """
    batch = {g._data.shape[0] for g in grads if isinstance(g, Tensor)}
    if len(batch) != 1:
        raise ValueError("is_grads_batched=True needs grad_outputs with the same first "
                         "(batch) dimension")
    (size,) = batch
    rows = []
    for b in range(size):
        row_grads = [g[b] if isinstance(g, Tensor) else g for g in grads]
        rows.append(get_default_engine().execute(
            _root_edges(outputs, row_grads), row_grads, retain_graph or b < size - 1,
            create_graph, accumulate_grad=False, outputs=_input_edges(inputs)))
    from .. import stack

    return [None if column[0] is None else stack(list(column)) for column in zip(*rows)]


from . import graph  # noqa: E402
from .function import Function, FunctionCtx, once_differentiable  # noqa: E402
from .gradcheck import GradcheckError, gradcheck, gradgradcheck  # noqa: E402
