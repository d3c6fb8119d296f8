"""Shape and layout: reshape, view, transpose, permute, squeeze, expand, cat, split, ...

Most ops here are *views*: their output shares memory with the input (numpy views do), so
they share its version counter (`is_view = True`). The backward of a view op undoes the
shape change on the gradient.
"""

from __future__ import annotations

import numpy as np

from hypergrad import dtypes as _dtypes
from hypergrad.conformance.domains import ALL_REAL, Sample, unary
from hypergrad.plugins import Op


class Clone(Op):
    """A copy of `input` with its own memory.

    out = a;  d/da = grad
    """

    name = "clone"
    methods = ("clone",)
    reference = "torch.clone"
    samples = unary()
    dtypes = ALL_REAL + ("bool",)

    def forward(ctx, a, *, memory_format=None):
        return a.copy()

    def backward(ctx, grad):
        return grad


class ToCopy(Op):
    """`input` converted to another dtype (what `x.to(dtype)`, `x.double()` call).

    out = a.to(dtype);  d/da = grad.to(a.dtype)   (the engine casts it back)
    """

    name = "_to_copy"
    methods = ("_to_copy",)
    node_name = "ToCopyBackward0"
    reference = "torch.Tensor.to"

    def forward(ctx, a, dtype):
        return a.astype(_dtypes.to_dtype(dtype).numpy)

    def backward(ctx, grad):
        return grad


def _expand_samples(g):
    shape = g.shape(max_dims=2)
    target = tuple(g.integers(1, 3) for _ in range(g.integers(0, 1))) + tuple(
        g.integers(1, 3) if s == 1 else s for s in shape)
    return Sample((g.tensor(shape), target))


class Expand(Op):
    """A view of `input` broadcast to `size` (-1 keeps a dimension).

    out = broadcast_to(a, size);  d/da = grad summed back to a's shape
    """

    name = "expand"
    methods = ("expand",)
    is_view = True
    reference = "torch.Tensor.expand"
    samples = _expand_samples

    def forward(ctx, a, *size):
        if len(size) == 1 and isinstance(size[0], (tuple, list)):
            size = tuple(size[0])
        lead = len(size) - a.ndim
        if lead < 0:
            raise RuntimeError(
                f"expand(torch.FloatTensor{{{list(a.shape)}}}, size={list(size)}): the number of "
                "sizes provided (%d) must be greater or equal to the number of dimensions in the "
                "tensor (%d)" % (len(size), a.ndim))
        target = tuple(a.shape[i - lead] if s == -1 and i >= lead else s
                       for i, s in enumerate(size))
        ctx.input_shape = a.shape
        try:
            return np.broadcast_to(a, target)
        except ValueError:
            raise RuntimeError(
                f"The expanded size of the tensor ({target[-1]}) must match the existing size "
                f"({a.shape[-1]}) at non-singleton dimension {a.ndim - 1}.  Target sizes: "
                f"{list(size)}.  Tensor sizes: {list(a.shape)}") from None

    def backward(ctx, grad):
        return grad.sum_to_size(ctx.input_shape)


def _shape_arg(shape):
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        return tuple(shape[0])
    return tuple(shape)


def _infer_shape(shape, numel):
    """Resolve one -1 in `shape` and check the element count, with torch's messages."""
    if shape.count(-1) > 1:
        raise RuntimeError("only one dimension can be inferred")
    known = 1
    for s in shape:
        if s != -1:
            if s < 0:
                raise RuntimeError(f"invalid shape dimension {s}")
            known *= s
    if -1 in shape:
        if known == 0 or numel % known:
            raise RuntimeError(f"shape '{list(shape)}' is invalid for input of size {numel}")
        shape = tuple(numel // known if s == -1 else s for s in shape)
    elif known != numel:
        raise RuntimeError(f"shape '{list(shape)}' is invalid for input of size {numel}")
    return shape


def _reshape_samples(g):
    shape = g.shape()
    size = int(np.prod(shape))
    options = [(size,), (-1,), (1, size), (size, 1), tuple(reversed(shape)) or ()]
    return Sample((g.tensor(shape), g.sampled_from(options)))


class Reshape(Op):
    """`input` with a new shape and the same elements; a view when the memory allows.

    out = reshape(a, shape);  d/da = grad.reshape(a.shape)
    """

    name = "reshape"
    methods = ("reshape",)
    is_view = True
    node_name = "ViewBackward0"
    reference = "torch.reshape"
    samples = _reshape_samples
    dtypes = ALL_REAL + ("bool",)

    def forward(ctx, a, *shape):
        shape = _infer_shape(_shape_arg(shape), a.size)
        ctx.input_shape = a.shape
        return a.reshape(shape)

    def backward(ctx, grad):
        return grad.reshape(ctx.input_shape)
