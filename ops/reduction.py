"""Reductions: sum, mean, prod, max/min, amax/amin, argmax/argmin, var, std, logsumexp,
norm, cumsum, all, any.

A reduction's backward spreads the gradient back over the reduced dimensions: it re-inserts
them (`unsqueeze`, when keepdim was False) and lets broadcasting do the rest.
"""

from __future__ import annotations

import numpy as np

from hypergrad import dtypes as _dtypes
from hypergrad.conformance.domains import ALL_REAL, Sample, reduction
from hypergrad.plugins import Op


def _normalize_dims(dim, ndim):
    """`dim` (None, an int, or a sequence) as a sorted tuple of non-negative axes."""
    if dim is None:
        return tuple(range(ndim))
    dims = (dim,) if isinstance(dim, int) else tuple(dim)
    if len(dims) == 0:
        return tuple(range(ndim))
    bound = max(ndim, 1)
    out = []
    for d in dims:
        if not -bound <= d < bound:
            raise IndexError(f"Dimension out of range (expected to be in range of [{-bound}, "
                             f"{bound - 1}], but got {d})")
        d %= bound
        if d in out:
            raise RuntimeError(f"dim {d} appears multiple times in the list of dims")
        out.append(d)
    return tuple(sorted(d for d in out if d < ndim or ndim == 0) if ndim else ())


def _sum_dtype(a, dtype):
    if dtype is not None:
        return _dtypes.to_dtype(dtype).numpy
    return np.dtype(np.int64) if a.dtype.kind in "biu" else a.dtype


class Sum(Op):
    """Sum of elements, over all of them or over `dim`; integers and bools sum to int64.

    out = sum(a, dim);  d/da = grad expanded back over the summed dims
    """

    name = "sum"
    methods = ("sum",)
    node_name = "SumBackward1"
    reference = "torch.sum"
    samples = reduction(multi_dim=True)
    dtypes = ALL_REAL + ("bool",)

    def forward(ctx, a, dim=None, keepdim=False, *, dtype=None):
        axes = _normalize_dims(dim, a.ndim)
        ctx.input_shape = a.shape
        ctx.axes = axes
        ctx.keepdim = keepdim
        return np.sum(a, axis=axes, keepdims=keepdim, dtype=_sum_dtype(a, dtype))

    def backward(ctx, grad):
        return _expand_reduced(grad, ctx.input_shape, ctx.axes, ctx.keepdim)


def _expand_reduced(grad, input_shape, axes, keepdim):
    """Put back the reduced dims of `grad` (as size 1) and broadcast to `input_shape`."""
    if not keepdim and axes:
        shape = list(grad.shape)
        for axis in axes:
            shape.insert(axis, 1)
        grad = grad.reshape(shape)
    return grad.expand(input_shape)


class SumToSize(Op):
    """Sum `input` down to `size`, which it must broadcast from (the engine uses this).

    out = sum over the broadcast dims;  d/da = grad expanded back
    """

    name = "sum_to_size"
    methods = ("sum_to_size",)
    node_name = "SumBackward1"
    reference = "torch.Tensor.sum_to_size"

    def forward(ctx, a, *size):
        if len(size) == 1 and isinstance(size[0], (tuple, list)):
            size = tuple(size[0])
        ctx.input_shape = a.shape
        lead = a.ndim - len(size)
        if lead < 0 or any(s != 1 and s != t for s, t in zip(size, a.shape[lead:])):
            raise RuntimeError(f"size {{{list(size)}}} is not expandable to size "
                               f"{{{list(a.shape)}}}.")
        axes = tuple(range(lead)) + tuple(lead + i for i, s in enumerate(size)
                                          if s == 1 and a.shape[lead + i] != 1)
        return np.sum(a, axis=axes, keepdims=True).reshape(size) if axes else a.reshape(size)

    def backward(ctx, grad):
        return grad.expand(ctx.input_shape)
