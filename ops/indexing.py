"""Indexing: gather and scatter, index_select / index_add / index_copy / index_fill, index_put,
take, take_along_dim, masked_select / masked_scatter, nonzero / argwhere, and item assignment
(`x[idx] = v`).

Reading (`x[idx]`) lives with the view ops in ops/shape.py; this module picks elements by index
tensors and writes them. Every op takes its index (or mask) as a tensor with no graph edge
(`differentiable_inputs`), saves it for backward like torch does, and states its gradient in
one line, from tools/autograd/derivatives.yaml. The backward of a "read" op is a "write" op
and the other way round (gather <-> scatter_add, index_select <-> index_add, take <-> put,
masked_select <-> masked_scatter), so second derivatives come free.

Note [Repeated indices]
    An index may name the same position twice. Reading ops then read it twice, and their
    backward adds both gradients into that position (`np.add.at`, which, unlike `a[i] += v`,
    does not drop repeats). Writing ops that overwrite (scatter, index_copy, index_put) keep
    the last write, as torch does on the CPU; the gradient of every written value is still
    the gradient at its target position, torch's convention.

Note [Positions]
    Scatter and gather along `dim` pair each element of `index` with one position of the
    tensor: its own coordinates, with coordinate `dim` replaced by the index value.
    `_dim_positions` computes those as flat (row-major) positions, so every scatter and gather
    is one numpy gather `a.take(positions)` or one accumulation `np.add.at(flat, positions, v)`
    on a 1-d array (numpy's fast path). As in torch, a 0-dim tensor counts as a 1-dim tensor
    of one element here.

Note [Item assignment]
    `x[idx] = v` is torch's `Tensor.__setitem__`: the basic items of `idx` (integers, slices,
    None, `...`) select a view of x, exactly as reading does (ops/shape.py); then
    - with no index tensors, `v` is copied into the view: `view.copy_(v)` when the shapes
      agree, `view.fill_(v)` for a 0-dim v, else `v` (leading size-1 dims dropped) expanded
      to the view's shape and copied. An in-place op on a view is what gives x a CopySlices
      history (hypergrad/autograd/copy_slices.py);
    - with index tensors, `view.index_put_(indices, v)` (IndexPutBackward0 on x itself, or
      inside CopySlices when basic items came first).
    A number `v` becomes a 0-dim tensor of x's dtype first. Everything an in-place op does
    applies: the version counter moves, and a leaf that requires grad refuses. As in torch, a
    `v` whose memory overlaps what it would be written into is refused (clone it first).
"""

from __future__ import annotations

import operator

import numpy as np

import hypergrad
from hypergrad.conformance.domains import (ALL_REAL, BOOL_AND_REAL, ErrorSample, Sample,
                                           SampleTensor, on_some_inputs)
from hypergrad.creation import zeros, zeros_like
from hypergrad.plugins import Op, op_function
from hypergrad.plugins.op import _scalar_type_name, inplace_variant
from hypergrad.tensor import Tensor, _wrap_dim

_LONG = np.dtype(np.int64)
_INT_INDEX = (np.dtype(np.int32), _LONG)


# ----------------------------------------------------------------------------------------------
# Checks with torch's messages
# ----------------------------------------------------------------------------------------------
def _raises(error_type, match, *args, **kwargs):
    """An ErrorSample: these arguments must raise `error_type` as in torch (numpy arrays
    become tensors that do not require grad)."""
    def convert(value):
        if isinstance(value, np.ndarray):
            return SampleTensor(value, False)
        if isinstance(value, (list, tuple)):
            return type(value)(convert(v) for v in value)
        return value

    return ErrorSample(Sample(tuple(convert(a) for a in args),
                              {k: convert(v) for k, v in kwargs.items()}), error_type, match)


def _type_name(array):
    return _scalar_type_name(array.dtype)


def _check_index_dtype(index, message, allowed=_INT_INDEX, error=RuntimeError):
    if index.dtype not in allowed:
        raise error(message.format(_type_name(index)))


def _check_same_dtype(a, b, message):
    if a.dtype != b.dtype:
        raise RuntimeError(message.format(_type_name(a), _type_name(b)))


def _broadcast_shape(a, b):
    """The broadcast of two shapes, with torch's message when they do not broadcast."""
    ndim = max(len(a), len(b))
    a = (1,) * (ndim - len(a)) + tuple(a)
    b = (1,) * (ndim - len(b)) + tuple(b)
    out = []
    for i, (x, y) in enumerate(zip(a, b)):
        if x != y and x != 1 and y != 1:
            raise RuntimeError(f"The size of tensor a ({x}) must match the size of tensor b "
                               f"({y}) at non-singleton dimension {i}")
        out.append(y if x == 1 else x)
    return tuple(out)


def _as_vector(array):
    """torch's `ensure_nonempty`: a 0-dim array read as a 1-dim array of one element."""
    return array.reshape(1) if array.ndim == 0 else array


def _dim_positions(shape, index, dim):
    """The flat (row-major) position in a tensor of `shape` of each element of `index` read
    along `dim` (see Note [Positions])."""
    coords = list(np.indices(index.shape, sparse=True))
    coords[dim] = index
    return _ravel(coords, shape)


def _slice_positions(shape, index, dim):
    """The flat positions of the slices `index` names along `dim` (index_add, index_copy):
    an array of `shape` with dim `dim` replaced by len(index)."""
    picked = shape[:dim] + (len(index),) + shape[dim + 1:]
    coords = list(np.indices(picked, sparse=True))
    coords[dim] = index.reshape((-1,) + (1,) * (len(shape) - dim - 1))
    return _ravel(coords, shape)


def _ravel(coords, shape):
    """`np.ravel_multi_index` for broadcasting coordinates, as plain arithmetic (faster): the
    sum of each coordinate times its stride, starting from the last dim (stride 1, so the
    coordinate itself: no pass over it). Read-only: it may be one of `coords`."""
    positions = None
    stride = 1
    for coord, size in zip(reversed(coords), reversed(shape)):
        term = coord.astype(np.intp, copy=False)
        if stride != 1:
            term = term * stride
        positions = term if positions is None else positions + term
        stride *= size
    return positions


def _first_outside(index, low, high):
    """The first entry of `index` outside [low, high), or None (min/max first: it is cheap)."""
    if index.size == 0 or (index.min() >= low and index.max() < high):
        return None
    return index[(index < low) | (index >= high)][0]


def _check_in_bounds(index, size, dim):
    """Scatter/gather/index_add bounds: 0 <= index < size (negative indices are errors)."""
    bad = _first_outside(index, 0, size)
    if bad is not None:
        raise RuntimeError(f"index {bad} is out of bounds for dimension {dim} with size {size}")


def _scatter_gather_checks(name, a, index, dim, src=None):
    """torch's scatter_gather_dtype_check and gather/scatter_shape_check, on 0-dim-as-1-dim
    arrays; returns the wrapped dim."""
    dim = _wrap_dim(dim, a.ndim)
    _check_index_dtype(index, name + "(): Expected dtype int32/int64 for index")
    if src is not None:
        _check_same_dtype(a, src, name + "(): Expected self.dtype to be equal to src.dtype")
    if index.size == 0:
        return dim
    a1, index1 = _as_vector(a), _as_vector(index)
    if a1.ndim != index1.ndim:
        what = "input" if name == "gather" else "self"
        raise RuntimeError(f"Index tensor must have the same number of dimensions as {what} "
                           "tensor")
    if name == "gather":
        for d in range(a1.ndim):
            if d != dim and index1.shape[d] > a1.shape[d]:
                raise RuntimeError(f"Size does not match at dimension {d} expected index "
                                   f"{list(index.shape)} to be no larger than self "
                                   f"{list(a.shape)} apart from dimension {dim}")
    else:
        wrong = any(index1.shape[d] > a1.shape[d] for d in range(a1.ndim) if d != dim)
        if src is not None and not wrong:
            src1 = _as_vector(src)
            if src1.ndim != index1.ndim:
                raise RuntimeError("Index tensor must have the same number of dimensions as "
                                   "src tensor")
            wrong = any(i > s for i, s in zip(index1.shape, src1.shape))
        if wrong:
            raise RuntimeError(
                f"Expected index {list(index.shape)} to be no larger than self "
                f"{list(a.shape)} apart from dimension {dim}"
                + (f" and to be no larger size than src {list(src.shape)}"
                   if src is not None else ""))
    _check_in_bounds(index1, a1.shape[dim], dim)
    return dim


def _src_block(src, index):
    """The leading block of `src` that `index` pairs with (index may be smaller than src)."""
    src1 = _as_vector(src)
    return src1[tuple(slice(0, s) for s in _as_vector(index).shape)]


def _check_vector_index(index, name):
    if index.ndim > 1:
        raise IndexError(f"{name}(): Index is supposed to be a vector")


# ----------------------------------------------------------------------------------------------
# gather, scatter, scatter_add, scatter_reduce
# ----------------------------------------------------------------------------------------------
class Gather(Op):
    """`input[..., index[i], ...]` along `dim`: out[i, j] = a[i, index[i, j]] for dim = 1.

    out = gather(a, dim, index);  d/da = zeros_like(a).scatter_add(dim, index, grad)
    """

    inputs = 2
    differentiable_inputs = (0,)
    node_name = "GatherBackward0"

    def forward(ctx, a, index, dim):
        dim = _scatter_gather_checks("gather", a, index, dim)
        ctx.dim, ctx.input_shape = dim, a.shape
        ctx.save_for_backward(index)
        if index.size == 0:
            return np.empty(index.shape, a.dtype)
        return a.take(_dim_positions(_as_vector(a).shape, _as_vector(index), dim)) \
            .reshape(index.shape)

    def backward(ctx, grad):
        (index,) = ctx.saved_tensors
        return ScatterAdd.apply(zeros(ctx.input_shape, dtype=grad.dtype), index, grad, ctx.dim)


class ScatterSrc(Op):
    """`input` with src written at the positions `index` names along `dim`.

    out = a, out[i, index[i, j]] = src[i, j] (dim = 1);
    d/da = grad.scatter(dim, index, 0);  d/dsrc = grad.gather(dim, index)
    """

    inputs = 3
    differentiable_inputs = (0, 2)
    node_name = "ScatterBackward0"

    def forward(ctx, a, index, src, dim):
        dim = _scatter_gather_checks("scatter", a, index, dim, src)
        ctx.dim = dim
        ctx.save_for_backward(index)
        out = a.copy()
        if index.size:
            positions = _dim_positions(_as_vector(a).shape, _as_vector(index), dim)
            out.reshape(-1)[positions.reshape(-1)] = _src_block(src, index).reshape(-1)
        return out

    def backward(ctx, grad):
        (index,) = ctx.saved_tensors
        return (ScatterValue.apply(grad, index, ctx.dim, 0),
                None,
                _gather_to(grad, index, ctx.dim, ctx.needs_input_grad[-1]))


def _gather_to(grad, index, dim, needed):
    """grad.gather(dim, index): the gradient of a src that `index` scattered (None if unused)."""
    return Gather.apply(grad, index, dim) if needed else None


class ScatterValue(Op):
    """`input` with the number `value` written at the positions `index` names along `dim`.

    out = a, out[i, index[i, j]] = value (dim = 1);  d/da = grad.scatter(dim, index, 0)
    """

    inputs = 2
    differentiable_inputs = (0,)
    node_name = "ScatterBackward1"

    def forward(ctx, a, index, dim, value):
        dim = _scatter_gather_checks("scatter", a, index, dim)
        ctx.dim = dim
        ctx.save_for_backward(index)
        out = a.copy()
        if index.size:
            positions = _dim_positions(_as_vector(a).shape, _as_vector(index), dim)
            out.reshape(-1)[positions.reshape(-1)] = np.asarray(value).astype(a.dtype)
        return out

    def backward(ctx, grad):
        (index,) = ctx.saved_tensors
        return ScatterValue.apply(grad, index, ctx.dim, 0), None


class ScatterAdd(Op):
    """`input` with src added at the positions `index` names along `dim` (repeats add up).

    out = a, out[i, index[i, j]] += src[i, j] (dim = 1);
    d/da = grad;  d/dsrc = grad.gather(dim, index)
    """

    inputs = 3
    differentiable_inputs = (0, 2)
    node_name = "ScatterAddBackward0"

    def forward(ctx, a, index, src, dim):
        dim = _scatter_gather_checks("scatter", a, index, dim, src)
        ctx.dim = dim
        ctx.save_for_backward(index)
        out = a.copy()
        if index.size:
            positions = _dim_positions(_as_vector(a).shape, _as_vector(index), dim)
            np.add.at(out.reshape(-1), positions.reshape(-1), _src_block(src, index).reshape(-1))
        return out

    def backward(ctx, grad):
        (index,) = ctx.saved_tensors
        return grad, None, _gather_to(grad, index, ctx.dim, ctx.needs_input_grad[-1])


def _scatter_samples(g, kind="src"):
    """A tensor, a dim, an index no larger than it outside dim (any length along dim, values
    in range, repeats allowed), and a src at least as large as the index (or a number for
    `value`)."""
    shape = g.shape(max_dims=3)
    x = g.tensor(shape)
    ndim = len(shape)
    dim = g.dim(ndim)
    size = (shape or (1,))[dim % max(ndim, 1)]
    index_shape = tuple(g.integers(0 if g.mode == "edge" else 1, s) if d != dim % max(ndim, 1)
                        else g.integers(1, 4) for d, s in enumerate(shape))
    index = g.tensor(index_shape, 0, size - 1, dtype="int64", requires_grad=False,
                     special=False)
    if kind == "gather":
        return Sample((x, dim, index))
    if kind == "value":
        value = g.floats(-3, 3) if g.dtype.is_floating_point else g.integers(-3, 3)
        return Sample((x, dim, index, value))
    src_shape = tuple(s + g.integers(0, 1) for s in index_shape)
    src = g.tensor(src_shape, dtype=x.array.dtype.name)
    return Sample((x, dim, index, src))


def _gather_samples(g):
    return _scatter_samples(g, "gather")


def _scatter_any_samples(g):
    return _scatter_samples(g, g.sampled_from(["src", "value"]))


_X34 = np.zeros((3, 4), np.float32)


@op_function("gather", methods=("gather",), reference="torch.gather", samples=_gather_samples,
             dtypes=BOOL_AND_REAL, node_names=("GatherBackward0",),
             error_samples=(
                 _raises(RuntimeError, "gather(): Expected dtype int32/int64 for index", _X34, 1,
                         np.zeros((3, 1), np.float32)),
                 _raises(RuntimeError, "index 4 is out of bounds for dimension 1 with size 4",
                         _X34, 1, np.array([[4]])),
                 _raises(RuntimeError, "Index tensor must have the same number of dimensions",
                         _X34, 1, np.array([0])),
                 _raises(RuntimeError, "Size does not match at dimension 0 expected index",
                         _X34, 1, np.zeros((4, 4), np.int64)),
                 _raises(IndexError, "Dimension out of range", _X34, 2,
                         np.zeros((3, 1), np.int64))))
def gather(input, dim, index, *, sparse_grad=False, out=None):
    """The elements of `input` that `index` names along `dim`; the result has index's shape.

    `out[i, j] = input[i, index[i, j]]` for dim = 1 (and likewise for other dims). index is
    an int64 (or int32) tensor with input's number of dims, no larger than input outside dim.
    out = gather(a, dim, index);  d/da = zeros_like(a).scatter_add(dim, index, grad)
    """
    _no_out(out, "gather")
    if sparse_grad:
        raise NotImplementedError("HyperGrad has no sparse tensors: gather(sparse_grad=True) "
                                  "is not supported")
    return Gather.apply(input, index, dim)


def _no_out(out, name):
    if out is not None:
        raise NotImplementedError(f"HyperGrad's {name}() has no out= argument; assign the "
                                  "result instead")


def _scatter(input, dim, index, src=None, value=None, *, reduce=None):
    """`input` with src (a tensor) or value (a number) written where index points along dim."""
    if reduce is not None:
        raise NotImplementedError("HyperGrad's scatter() has no reduce= argument (torch "
                                  "deprecates it); use scatter_add or scatter_reduce")
    if src is None and value is None:
        raise TypeError("scatter() missing 1 required positional argument: 'src' (or value=)")
    given = src if src is not None else value
    if isinstance(given, Tensor):
        return ScatterSrc.apply(input, index, given, dim)
    return ScatterValue.apply(input, index, dim, given)


scatter = op_function(
    "scatter", methods=("scatter", "scatter_"), reference="torch.scatter",
    samples=_scatter_any_samples, dtypes=BOOL_AND_REAL,
    node_names=("ScatterBackward0", "ScatterBackward1"),
    error_samples=(
        _raises(RuntimeError, "scatter(): Expected dtype int32/int64 for index", _X34, 0,
                np.zeros((1, 2), np.float32), 1.0),
        _raises(RuntimeError, "scatter(): Expected self.dtype to be equal to src.dtype", _X34,
                0, np.zeros((1, 2), np.int64), np.ones((1, 2), np.float64)),
        _raises(RuntimeError, "index 3 is out of bounds for dimension 0 with size 3", _X34, 0,
                np.array([[3]]), np.ones((1, 2), np.float32)),
        _raises(RuntimeError, "Expected index [2, 2] to be no larger than self [3, 4] apart "
                "from dimension 0 and to be no larger size than src [1, 2]", _X34, 0,
                np.zeros((2, 2), np.int64), np.ones((1, 2), np.float32)),
        _raises(RuntimeError, "Index tensor must have the same number of dimensions as self",
                _X34, 0, np.zeros(2, np.int64), np.ones(2, np.float32))))(_scatter)
scatter.__doc__ = """`input` with `src` (a tensor) or `value` (a number) written at the
    positions `index` names along `dim`: out[i, index[i, j]] = src[i, j] for dim = 1.

    index is an int64 (or int32) tensor with input's number of dims, no larger than input
    outside dim and no larger than src anywhere. A position named twice keeps the last write.
    `scatter_` writes into input.
    out = a, out[i, index[i, j]] = src[i, j];
    d/da = grad.scatter(dim, index, 0);  d/dsrc = grad.gather(dim, index)
    """


@op_function("scatter_add", methods=("scatter_add", "scatter_add_"),
             reference="torch.scatter_add", samples=_scatter_samples, dtypes=ALL_REAL,
             node_names=("ScatterAddBackward0",),
             error_samples=(
                 _raises(RuntimeError, "scatter(): Expected self.dtype to be equal to src.dtype",
                         _X34, 0, np.zeros((1, 2), np.int64), np.ones((1, 2), np.float64)),
                 _raises(RuntimeError, "index 5 is out of bounds for dimension 0 with size 3",
                         _X34, 0, np.array([[5]]), np.ones((1, 2), np.float32)),
                 _raises(RuntimeError, "to be no larger size than src [2, 2]", _X34, 0,
                         np.zeros((2, 4), np.int64), np.ones((2, 2), np.float32))))
def scatter_add(input, dim, index, src):
    """`input` with `src` added at the positions `index` names along `dim`; a position named
    twice receives both values. `scatter_add_` adds into input.

    out = a, out[i, index[i, j]] += src[i, j] (dim = 1);
    d/da = grad;  d/dsrc = grad.gather(dim, index)
    """
    return ScatterAdd.apply(input, index, src, dim)


_REDUCTIONS = ("sum", "prod", "mean", "amax", "amin")


def _identity(reduce, dtype):
    """The value x with reduce(x, v) == v: where include_self=False starts."""
    if reduce in ("sum", "mean"):
        return 0
    if reduce == "prod":
        return 1
    largest = reduce in ("amax", "max")
    if dtype.kind == "f":
        return -np.inf if largest else np.inf
    if dtype.kind == "b":
        return not largest
    info = np.iinfo(dtype)
    return info.min if largest else info.max


def _scatter_reduce_array(a, positions, src, reduce, include_self):
    """`a` with src reduced into the flat `positions` (see Note [Positions])."""
    out = a.copy()
    flat = out.reshape(-1)
    if not include_self:   # start each position written to from the reduction's identity
        flat[positions] = _identity(reduce, a.dtype)
    if reduce in ("sum", "mean"):
        np.add.at(flat, positions, src)
    elif reduce == "prod":
        np.multiply.at(flat, positions, src)
    elif reduce in ("amax", "max"):
        np.maximum.at(flat, positions, src)
    else:
        np.minimum.at(flat, positions, src)
    if reduce == "mean":
        count = np.zeros(flat.shape, np.int64) + (1 if include_self else 0)
        np.add.at(count, positions, 1)
        count = np.maximum(count, 1)
        if a.dtype.kind == "f":
            flat /= count
        else:
            flat //= count.astype(a.dtype)
    return out


def _scatter_reduce_backward(ctx, grad):
    """torch's scatter_reduce_backward (FunctionsManual.cpp), one branch per reduction."""
    self, index, src, result = ctx.saved_tensors
    dim, reduce, include_self = ctx.dim, ctx.reduce, ctx.include_self
    if reduce not in _REDUCTIONS:   # "max" and "min" run forward only, as in torch
        raise RuntimeError(f"Expected 'reduce' to be one of 'sum', 'prod', 'mean', 'amax', "
                           f"'amin' but got {reduce}.")
    if reduce == "sum":
        grad_self, grad_src = grad, grad.gather(dim, index)
    elif reduce == "prod":
        # the product without one factor, computed exactly even where that factor is 0
        masked_self = self.masked_fill(self == 0, 1)
        masked_self_result = masked_self.scatter_reduce(dim, index, src, reduce,
                                                        include_self=include_self)
        grad_self = grad * masked_self_result / masked_self
        src_zero = src == 0
        zeros_here = zeros_like(self).scatter_add(dim, index, src_zero.to(self.dtype)) \
            .gather(dim, index)
        single_zero = src_zero & (zeros_here == 1)
        masked_src_result = self.scatter_reduce(dim, index, src.masked_fill(single_zero, 1),
                                                reduce, include_self=include_self)
        grad_src = hypergrad.where(single_zero, (grad * masked_src_result).gather(dim, index),
                                   (grad * result).gather(dim, index)
                                   / src.masked_fill(src_zero, 1))
        if hypergrad.is_grad_enabled() and bool((zeros_here._data > 1).any()):
            grad_src = DelayedError.apply(grad_src, _PROD_DOUBLE_BACKWARD)
    elif reduce == "mean":
        counts = (hypergrad.ones_like(grad) if include_self else zeros_like(grad)) \
            .scatter_add(dim, index, hypergrad.ones_like(src))
        counts = counts.masked_fill(counts == 0, 1)
        grad_self = grad / counts
        grad_src = grad.gather(dim, index) / counts.gather(dim, index)
    else:   # amax, amin: the gradient is shared evenly among the elements equal to the result
        value = result.gather(dim, index)
        self_is_result = self == result
        src_is_result = src == value
        ties = self_is_result.to(grad.dtype).scatter_add(dim, index, src_is_result.to(grad.dtype))
        shared = grad / ties
        grad_self = self_is_result * shared
        grad_src = src_is_result * shared.gather(dim, index)
    if not include_self:
        grad_self = grad_self.scatter(dim, index, 0)
    return grad_self, None, grad_src


_PROD_DOUBLE_BACKWARD = ("scatter_reduce(): Double backward is unsupported for src when >1 "
                         "zeros in src are scattered to the same position in self")


class DelayedError(Op):
    """`input` unchanged, with a backward that raises `message` (torch's DelayedError, whose
    node prints as `Error`): marks a gradient that is right but whose own derivative is not.

    out = a;  d/da raises RuntimeError(message)
    """

    node_name = "Error"

    def forward(ctx, a, message):
        ctx.message = message
        return a.copy()

    def backward(ctx, grad):
        raise RuntimeError(ctx.message)


class ScatterReduce(Op):
    """`input` with src reduced (sum, prod, mean, amax, amin) into the positions `index`
    names along `dim`, counting input's own value there unless include_self=False.

    out = scatter_reduce(a, dim, index, src, reduce);
    d/da, d/dsrc = scatter_reduce_backward(grad, a, dim, index, src, reduce, out)
    """

    inputs = 3
    differentiable_inputs = (0, 2)
    node_name = "ScatterReduceBackward0"

    def forward(ctx, a, index, src, dim, reduce, include_self=True):
        if reduce not in _REDUCTIONS + ("max", "min"):   # torch's forward takes both names
            raise RuntimeError(f"reduce argument must be either sum, prod, mean, amax or amin, "
                               f"got {reduce}")
        dim = _scatter_gather_checks("scatter", a, index, dim, src)
        if reduce == "mean" and a.dtype == np.bool_:
            raise NotImplementedError('"scatter_gather_tensor_cpu_reduce_mean" not '
                                      "implemented for 'Bool'")
        ctx.dim, ctx.reduce, ctx.include_self = dim, reduce, include_self
        if index.size == 0:
            out = a.copy()
        else:
            positions = _dim_positions(_as_vector(a).shape, _as_vector(index), dim)
            out = _scatter_reduce_array(a, positions.reshape(-1),
                                        _src_block(src, index).reshape(-1), reduce, include_self)
        ctx.save_for_backward(a, index, src, out)
        return out

    backward = _scatter_reduce_backward


def _scatter_reduce_samples(g):
    """As scatter_add's, with src of index's shape (torch's backward fails on a larger src)."""
    x, dim, index, src = _scatter_samples(g).args
    src.array = np.array(src.array[tuple(slice(0, s) for s in index.array.shape)])
    return Sample((x, dim, index, src, g.sampled_from(_REDUCTIONS)),
                  {"include_self": g.booleans()})


@op_function("scatter_reduce", methods=("scatter_reduce", "scatter_reduce_"),
             reference="torch.scatter_reduce", samples=_scatter_reduce_samples, dtypes=ALL_REAL,
             node_names=("ScatterReduceBackward0",),
             error_samples=(
                 _raises(RuntimeError, "reduce argument must be either sum, prod, mean, amax or "
                         "amin, got foo", _X34, 0, np.zeros((1, 2), np.int64),
                         np.ones((1, 2), np.float32), "foo"),
                 _raises(RuntimeError, "scatter(): Expected self.dtype to be equal to src.dtype",
                         _X34, 0, np.zeros((1, 2), np.int64), np.ones((1, 2), np.float64),
                         "sum")))
def scatter_reduce(input, dim, index, src, reduce, *, include_self=True):
    """`input` with `src` reduced into the positions `index` names along `dim`: "sum",
    "prod", "mean", "amax" or "amin", over src's values there and, unless
    `include_self=False`, input's own value. `scatter_reduce_` reduces into input.

    out = scatter_reduce(a, dim, index, src, reduce);
    d/da, d/dsrc = torch's scatter_reduce_backward: for prod the product of the others
    (exact with zeros), for mean grad / count, for amax and amin grad shared among ties.
    """
    return ScatterReduce.apply(input, index, src, dim, reduce, include_self)


# ----------------------------------------------------------------------------------------------
# index_select, index_add, index_copy, index_fill (whole slices along dim, by a vector index)
# ----------------------------------------------------------------------------------------------
def _dim_prefix(dim):
    return (slice(None),) * dim


class IndexSelect(Op):
    """The slices of `input` along `dim` that the vector `index` names, in its order.

    out = a.index_select(dim, index);  d/da = zeros_like(a).index_add(dim, index, grad)
    """

    inputs = 2
    differentiable_inputs = (0,)
    node_name = "IndexSelectBackward0"

    def forward(ctx, a, index, dim):
        dim = _wrap_dim(dim, a.ndim)
        _check_index_dtype(index, "index_select(): Expected dtype int32 or int64 for index")
        _check_vector_index(index, "index_select")
        ctx.dim, ctx.input_shape = dim, a.shape
        ctx.save_for_backward(index)
        if a.ndim == 0:
            if index.size != 1:
                raise RuntimeError(f"index_select(): Index to scalar can have only 1 value, "
                                   f"got {index.size} value(s)")
            if int(index.reshape(-1)[0]) != 0:
                raise IndexError("index out of range in self")
            return a.copy()
        index = _as_vector(index)
        if index.size and (index.min() < 0 or index.max() >= a.shape[dim]):
            raise IndexError("index out of range in self")
        return np.take(a, index, axis=dim)

    def backward(ctx, grad):
        (index,) = ctx.saved_tensors
        return IndexAdd.apply(zeros(ctx.input_shape, dtype=grad.dtype), index, grad, ctx.dim), None


def _index_dim_samples(g, kind):
    """A tensor, a dim, a vector of indices along it, and (per kind) a source or a value."""
    shape = g.shape(min_dims=0 if kind == "select" else 1, max_dims=3)
    x = g.tensor(shape)
    ndim = len(shape)
    dim = g.dim(ndim)
    size = (shape or (1,))[dim % max(ndim, 1)]
    count = g.integers(0 if g.mode == "edge" else 1, 4) if size else 0
    low = -size if kind == "fill" else 0
    if kind == "copy":   # distinct indices: index_copy with repeats is nondeterministic
        count = min(count, size)
        order = [g.integers(0, size - 1) for _ in range(count)]
        values = list(dict.fromkeys(order))
        index = SampleTensor(np.array(values, np.int64), False)
        count = len(values)
    else:
        index = g.tensor((count,), low, size - 1, dtype="int64", requires_grad=False,
                         special=False)
    if not shape and kind == "select":
        index = g.tensor(g.sampled_from([(), (1,)]), 0, 0, dtype="int64", requires_grad=False,
                         special=False)
    if kind == "select":
        return Sample((x, dim, index))
    if kind == "fill":
        if g.booleans():   # torch's backward for a tensor value fails on negative indices
            index.array = index.array % size if size else index.array
            return Sample((x, dim, index, g.tensor((), dtype=x.array.dtype.name)))
        value = g.floats(-3, 3) if g.dtype.is_floating_point else g.integers(-3, 3)
        return Sample((x, dim, index, value))
    source_shape = shape[:dim % ndim] + (count,) + shape[dim % ndim + 1:]
    source = g.tensor(source_shape, dtype=x.array.dtype.name)
    if kind == "add" and g.booleans():
        alpha = g.floats(-2, 2) if g.dtype.is_floating_point else g.integers(-2, 2)
        return Sample((x, dim, index, source), {"alpha": alpha})
    return Sample((x, dim, index, source))


def _index_select_samples(g):
    return _index_dim_samples(g, "select")


@op_function("index_select", methods=("index_select",), reference="torch.index_select",
             samples=_index_select_samples, dtypes=BOOL_AND_REAL,
             node_names=("IndexSelectBackward0",),
             error_samples=(
                 _raises(RuntimeError, "index_select(): Expected dtype int32 or int64 for index",
                         _X34, 0, np.array([0.0], np.float32)),
                 _raises(IndexError, "index_select(): Index is supposed to be a vector", _X34,
                         0, np.array([[0]])),
                 _raises(IndexError, "index out of range in self", _X34, 0, np.array([3])),
                 _raises(IndexError, "index out of range in self", _X34, 0, np.array([-1]))))
def index_select(input, dim, index, *, out=None):
    """The slices of `input` along `dim` named by `index`, a vector (or 0-dim) int64 or int32
    tensor of indices in [0, size); a slice named twice appears twice.

    out = a.index_select(dim, index);  d/da = zeros_like(a).index_add(dim, index, grad)
    """
    _no_out(out, "index_select")
    return IndexSelect.apply(input, index, dim)


def _check_index_source(a, index, source, dim, name):
    """index_add's checks: a vector index, one index per slice of source, matching slices."""
    if index.ndim > 1:
        raise IndexError(f"{name}(): Index is supposed to be a vector, but got dim: "
                         f"{index.ndim} with type: {_type_name(index)} and size: "
                         f"{list(index.shape)}")
    source_size = source.shape[dim] if source.ndim else 1
    if index.size != source_size:
        raise RuntimeError(f"{name}(): Number of indices ({index.size}) should be equal to "
                           f"source.size(dim): ({source_size}), for dim: {dim}")
    if a.ndim != source.ndim or any(s != t for d, (s, t) in enumerate(zip(a.shape, source.shape))
                                    if d != dim):
        raise RuntimeError(f"source tensor shape must match self tensor shape, excluding the "
                           f"specified dimension. Got self.shape = {list(a.shape)} "
                           f"source.shape = {list(source.shape)}")


def _source_gradient(grad, index, dim, source_shape):
    """grad.index_select(dim, index) in source's shape: the gradient of index_add/_copy's
    source (a 0-dim source pairs with one index)."""
    picked = IndexSelect.apply(grad, index, dim)
    return picked if picked.shape == source_shape else picked.reshape(source_shape)


class IndexAdd(Op):
    """`input` with `alpha * source` added into the slices `index` names along `dim`.

    out = a.index_add(dim, index, source, alpha);
    d/da = grad;  d/dsource = alpha * grad.index_select(dim, index)
    """

    inputs = 3
    differentiable_inputs = (0, 2)
    node_name = "IndexAddBackward0"

    def forward(ctx, a, index, source, dim, alpha=1):
        dim = _wrap_dim(dim, a.ndim)
        _check_index_dtype(index, "index_add_(): Expected dtype int32/int64 for index but "
                                  "got: {}")
        _check_index_source(a, index, source, dim, "index_add_")
        _check_same_dtype(a, source, "index_add_(): self ({}) and source ({}) must have the "
                                     "same scalar type")
        ctx.dim, ctx.alpha, ctx.source_shape = dim, alpha, source.shape
        ctx.save_for_backward(index)
        out = a.copy()
        if index.size == 0:
            return out
        index = _as_vector(index)
        size = a.shape[dim] if a.ndim else 1
        if a.ndim == 0:
            if index.min() < 0 or index.max() >= 1:
                raise IndexError("index out of range in self")
        else:
            _check_in_bounds(index, size, dim)
        if alpha != 1:
            source = source * np.asarray(alpha).astype(a.dtype)
        positions = _slice_positions(_as_vector(a).shape, index, dim)
        np.add.at(out.reshape(-1), positions.reshape(-1), source.reshape(-1))
        return out

    def backward(ctx, grad):
        (index,) = ctx.saved_tensors
        if not ctx.needs_input_grad[1]:
            return grad, None, None
        grad_source = _source_gradient(grad, index, ctx.dim, ctx.source_shape)
        return grad, None, grad_source if ctx.alpha == 1 else grad_source * ctx.alpha


def _index_add_samples(g):
    return _index_dim_samples(g, "add")


@op_function("index_add", methods=("index_add", "index_add_"), reference="torch.index_add",
             samples=_index_add_samples, dtypes=ALL_REAL, node_names=("IndexAddBackward0",),
             error_samples=(
                 _raises(RuntimeError, "index 3 is out of bounds for dimension 0 with size 3",
                         _X34, 0, np.array([3]), np.ones((1, 4), np.float32)),
                 _raises(RuntimeError, "index_add_(): Expected dtype int32/int64 for index but "
                         "got: Float", _X34, 0, np.array([1.0], np.float32),
                         np.ones((1, 4), np.float32)),
                 _raises(RuntimeError, "source tensor shape must match self tensor shape", _X34,
                         0, np.array([1]), np.ones((1, 5), np.float32)),
                 _raises(RuntimeError, "index_add_(): Number of indices (1) should be equal to "
                         "source.size(dim): (2), for dim: 0", _X34, 0, np.array([1]),
                         np.ones((2, 4), np.float32)),
                 _raises(RuntimeError, "index_add_(): self (Float) and source (Double) must "
                         "have the same scalar type", _X34, 0, np.array([1]),
                         np.ones((1, 4), np.float64))))
def index_add(input, dim, index, source, *, alpha=1):
    """`input` with `alpha * source` added into the slices along `dim` that `index` names;
    a slice named twice receives both. `index_add_` adds into input.

    out = a.index_add(dim, index, source, alpha);
    d/da = grad;  d/dsource = alpha * grad.index_select(dim, index)
    """
    return IndexAdd.apply(input, index, source, dim, alpha)


def _check_copy_index(a, index, source, dim):
    """index_copy's checks, with its messages (different from index_add's)."""
    _check_index_dtype(index, "index_copy_(): Expected a long tensor for index, but got {}",
                       allowed=(_LONG,))
    if index.ndim > 1:
        raise IndexError(f"index_copy_(): Index should have dimension 1 or 0 (got {index.ndim})")
    if a.ndim != source.ndim and a.ndim and source.ndim:
        raise IndexError(f"index_copy_(): When source and destination are not scalars, their "
                         f"dimensionality must match. Source dimensionality ({source.ndim}), "
                         f"destination dimensionality ({a.ndim})")
    source_size = source.shape[dim] if source.ndim else 1
    if index.size != source_size:
        raise IndexError(f"index_copy_(): Number of indices ({index.size}) should be equal to "
                         f"source.size(dim) ({source_size})")
    for d in range(min(a.ndim, source.ndim)):
        if d != dim and a.shape[d] != source.shape[d]:
            raise RuntimeError(f"index_copy_(): Source/destination tensor must have same slice "
                               f"shapes. Destination slice shape: {a.shape[d]} at dimension "
                               f"{d} and source slice shape: {source.shape[d]} at dimension "
                               f"{d}.")
    _check_same_dtype(a, source, "index_copy_(): self and source expected to have the same "
                                 "dtype, but got (self) {} and (source) {}")
    size = a.shape[dim] if a.ndim else 1
    bad = _first_outside(index, 0, size)
    if bad is not None:
        raise IndexError(f"index_copy_(): index {bad} is out of bounds for dimension {dim} "
                         f"with size {size}")


class IndexCopy(Op):
    """`input` with the slices `index` names along `dim` replaced by those of `source`.

    out = a.index_copy(dim, index, source);
    d/da = grad.index_fill(dim, index, 0);  d/dsource = grad.index_select(dim, index)
    """

    inputs = 3
    differentiable_inputs = (0, 2)
    node_name = "IndexCopyBackward0"

    def forward(ctx, a, index, source, dim):
        dim = _wrap_dim(dim, a.ndim)
        _check_copy_index(a, index, source, dim)
        ctx.dim, ctx.source_shape = dim, source.shape
        ctx.save_for_backward(index)
        out = a.copy()
        if index.size:
            positions = _slice_positions(_as_vector(a).shape, _as_vector(index), dim)
            out.reshape(-1)[positions.reshape(-1)] = source.reshape(-1)
        return out

    def backward(ctx, grad):
        (index,) = ctx.saved_tensors
        return (IndexFillScalar.apply(grad, index, ctx.dim, 0), None,
                _source_gradient(grad, index, ctx.dim, ctx.source_shape)
                if ctx.needs_input_grad[1] else None)


def _index_copy_samples(g):
    return _index_dim_samples(g, "copy")


@op_function("index_copy", methods=("index_copy", "index_copy_"), reference="torch.index_copy",
             samples=_index_copy_samples, dtypes=BOOL_AND_REAL,
             node_names=("IndexCopyBackward0",),
             error_samples=(
                 _raises(IndexError, "index_copy_(): index 3 is out of bounds for dimension 0 "
                         "with size 3", _X34, 0, np.array([3]), np.ones((1, 4), np.float32)),
                 _raises(RuntimeError, "index_copy_(): Expected a long tensor for index, but "
                         "got Int", _X34, 0, np.array([1], np.int32),
                         np.ones((1, 4), np.float32)),
                 _raises(IndexError, "index_copy_(): Number of indices (1) should be equal to "
                         "source.size(dim) (2)", _X34, 0, np.array([1]),
                         np.ones((2, 4), np.float32)),
                 _raises(RuntimeError, "index_copy_(): self and source expected to have the "
                         "same dtype", _X34, 0, np.array([1]), np.ones((1, 4), np.float64))))
def index_copy(input, dim, index, source):
    """`input` with the slices along `dim` that the int64 vector `index` names replaced by
    the slices of `source`, in order. `index_copy_` writes into input.

    out = a.index_copy(dim, index, source);
    d/da = grad.index_fill(dim, index, 0);  d/dsource = grad.index_select(dim, index)
    """
    return IndexCopy.apply(input, index, source, dim)


def _fill_index(a, index, dim):
    """index_fill's checks; the index as a vector with negative entries wrapped."""
    _check_index_dtype(index, "index_fill_(): Expected dtype int64 for index.", allowed=(_LONG,),
                       error=IndexError)
    if index.ndim > 1:
        raise RuntimeError("Index has to be a vector/scalar")
    size = a.shape[dim] if a.ndim else 1
    index = _as_vector(index)
    bad = _first_outside(index, -size, size)
    if bad is not None:
        raise IndexError(f"index {bad} is out of bounds for dimension {dim} with size {size}")
    return index % size if size else index


def _index_fill_array(a, index, dim, value):
    out = a.copy()
    index = _fill_index(a, index, dim)
    if a.ndim == 0:
        if index.size:
            out[...] = value
        return out
    out[_dim_prefix(dim) + (index,)] = value
    return out


class IndexFillScalar(Op):
    """`input` with the slices `index` names along `dim` set to the number `value`.

    out = a.index_fill(dim, index, value);  d/da = grad.index_fill(dim, index, 0)
    """

    inputs = 2
    differentiable_inputs = (0,)
    node_name = "IndexFillBackward0"

    def forward(ctx, a, index, dim, value):
        dim = _wrap_dim(dim, a.ndim)
        ctx.dim = dim
        ctx.save_for_backward(index)
        return _index_fill_array(a, index, dim, np.asarray(value).astype(a.dtype))

    def backward(ctx, grad):
        (index,) = ctx.saved_tensors
        return IndexFillScalar.apply(grad, index, ctx.dim, 0), None


class IndexFillTensor(Op):
    """`input` with the slices `index` names along `dim` set to the 0-dim tensor `value`.

    out = a.index_fill(dim, index, value);  d/da = grad.index_fill(dim, index, 0);
    d/dvalue = grad.index_select(dim, unique(index)).sum()   (negative indices wrapped first;
    torch's backward raises for them instead, as index_select takes none)
    """

    inputs = 3
    differentiable_inputs = (0, 2)
    node_name = "IndexFillBackward1"

    def forward(ctx, a, index, value, dim):
        dim = _wrap_dim(dim, a.ndim)
        if value.ndim != 0:
            raise RuntimeError(f"index_fill_ only supports a 0-dimensional value tensor, but "
                               f"got tensor with {value.ndim} dimension(s).")
        ctx.dim = dim
        ctx.unique = np.unique(_fill_index(a, index, dim))
        ctx.save_for_backward(index)
        return _index_fill_array(a, index, dim, value.astype(a.dtype))

    def backward(ctx, grad):
        (index,) = ctx.saved_tensors
        grad_value = None
        if ctx.needs_input_grad[1]:
            grad_value = IndexSelect.apply(grad, Tensor._make(ctx.unique), ctx.dim).sum()
        return IndexFillScalar.apply(grad, index, ctx.dim, 0), None, grad_value


def _index_fill_samples(g):
    return _index_dim_samples(g, "fill")


@op_function("index_fill", methods=("index_fill", "index_fill_"), reference="torch.index_fill",
             samples=_index_fill_samples, dtypes=BOOL_AND_REAL,
             node_names=("IndexFillBackward0", "IndexFillBackward1"),
             error_samples=(
                 _raises(IndexError, "index 3 is out of bounds for dimension 0 with size 3",
                         _X34, 0, np.array([3]), 1.0),
                 _raises(IndexError, "index -4 is out of bounds for dimension 0 with size 3",
                         _X34, 0, np.array([-4]), 1.0),
                 _raises(IndexError, "index_fill_(): Expected dtype int64 for index.", _X34, 0,
                         np.array([1], np.int32), 1.0),
                 _raises(RuntimeError, "Index has to be a vector/scalar", _X34, 0,
                         np.array([[1]]), 1.0),
                 _raises(RuntimeError, "index_fill_ only supports a 0-dimensional value tensor",
                         _X34, 0, np.array([1]), np.array([1.0], np.float32))))
def index_fill(input, dim, index, value):
    """`input` with the slices along `dim` that the int64 `index` names (negative indices
    count from the end) set to `value`, a number or a 0-dim tensor. `index_fill_` writes
    into input.

    out = a.index_fill(dim, index, value);  d/da = grad.index_fill(dim, index, 0);
    d/dvalue = grad.index_select(dim, unique(index)).sum()
    """
    if isinstance(value, Tensor):
        return IndexFillTensor.apply(input, index, value, dim)
    return IndexFillScalar.apply(input, index, dim, value)


# ----------------------------------------------------------------------------------------------
# take, put (its backward), take_along_dim
# ----------------------------------------------------------------------------------------------
def _flat_index(a, index, name):
    """take/put's checks; the flat positions with negative entries wrapped."""
    _check_index_dtype(index, name + "(): Expected a long tensor for index, but got {}",
                       allowed=(_LONG,))
    if a.size == 0 and index.size:
        raise IndexError(f"{name}(): tried to take from an empty tensor")
    bad = _first_outside(index, -a.size, a.size)
    if bad is not None:
        raise IndexError(f"out of range: tried to access index {bad} on a tensor of "
                         f"{a.size} elements.")
    return index % a.size if a.size else index


class Take(Op):
    """The elements of `input` (read as a flat row-major vector) at `index`; index's shape.

    out = a.flatten()[index];  d/da = zeros_like(a).put_(index, grad, accumulate=True)
    """

    inputs = 2
    differentiable_inputs = (0,)
    node_name = "TakeBackward0"

    def forward(ctx, a, index):
        positions = _flat_index(a, index, "take")
        ctx.input_shape = a.shape
        ctx.save_for_backward(index)
        return a.take(positions)

    def backward(ctx, grad):
        (index,) = ctx.saved_tensors
        return Put.apply(zeros(ctx.input_shape, dtype=grad.dtype), index, grad, True), None


class Put(Op):
    """`input` with `source` written (or, with accumulate, added) at the flat positions
    `index` (take's backward).

    out = a.put(index, source, accumulate);
    d/da = grad if accumulate else grad.put(index, 0);  d/dsource = grad.take(index)
    """

    inputs = 3
    differentiable_inputs = (0, 2)
    node_name = "PutBackward0"

    def forward(ctx, a, index, source, accumulate=False):
        positions = _flat_index(a, index, "put").reshape(-1)
        ctx.accumulate, ctx.source_shape = accumulate, source.shape
        ctx.save_for_backward(index)
        out = a.copy()
        if accumulate:
            np.add.at(out.reshape(-1), positions, source.reshape(-1))
        else:
            out.reshape(-1)[positions] = source.reshape(-1)
        return out

    def backward(ctx, grad):
        (index,) = ctx.saved_tensors
        grad_self = grad if ctx.accumulate else Put.apply(
            grad, index, zeros(ctx.source_shape, dtype=grad.dtype), False)
        grad_source = Take.apply(grad, index)
        return grad_self, None, grad_source.reshape(ctx.source_shape)


def _take_samples(g):
    shape = g.shape(max_dims=3)
    x = g.tensor(shape)
    size = int(np.prod(shape))
    index = g.tensor(g.shape(max_dims=2, min_side=0 if g.mode == "edge" else 1), -size,
                     size - 1, dtype="int64", requires_grad=False, special=False)
    return Sample((x, index))


@op_function("take", methods=("take",), reference="torch.take", samples=_take_samples,
             dtypes=BOOL_AND_REAL, node_names=("TakeBackward0",),
             error_samples=(
                 _raises(IndexError, "out of range: tried to access index 12 on a tensor of 12 "
                         "elements.", _X34, np.array([12])),
                 _raises(IndexError, "out of range: tried to access index -13", _X34,
                         np.array([-13])),
                 _raises(RuntimeError, "take(): Expected a long tensor for index, but got Int",
                         _X34, np.array([1], np.int32)),
                 _raises(IndexError, "take(): tried to take from an empty tensor",
                         np.zeros(0, np.float32), np.array([0]))))
def take(input, index):
    """The elements of `input`, read as a flat row-major vector, at the int64 `index` (any
    shape; negative indices count from the end); the result has index's shape.

    out = a.flatten()[index];  d/da = zeros_like(a).put_(index, grad, accumulate=True)
    """
    return Take.apply(input, index)


def _take_along_dim_samples(g):
    shape = g.shape(max_dims=3)
    x = g.tensor(shape)
    if g.booleans():   # no dim: indices into the flattened input
        size = int(np.prod(shape))
        index = g.tensor(g.shape(max_dims=2), 0, size - 1, dtype="int64", requires_grad=False,
                         special=False)
        return Sample((x, index))
    ndim = len(shape)
    dim = g.dim(ndim)
    size = (shape or (1,))[dim % max(ndim, 1)]
    index_shape = tuple(g.integers(1, 3) if d == dim % max(ndim, 1) else
                        g.sampled_from([s, 1]) for d, s in enumerate(shape))
    index = g.tensor(index_shape, 0, size - 1, dtype="int64", requires_grad=False,
                     special=False)
    return Sample((x, index, dim))


@op_function("take_along_dim", methods=("take_along_dim",), reference="torch.take_along_dim",
             samples=_take_along_dim_samples, dtypes=BOOL_AND_REAL,
             node_names=("GatherBackward0",),
             error_samples=(
                 _raises(RuntimeError, "torch.take_along_dim(): dtype of indices should be Long "
                         "but got Int", _X34, np.array([[1]], np.int32), 1),
                 _raises(RuntimeError, "torch.take_along_dim(): input and indices should have "
                         "the same number of dimensions", _X34, np.array([1]), 1)))
def take_along_dim(input, indices, dim=None, *, out=None):
    """The elements of `input` that int64 `indices` name along `dim`, with input and indices
    broadcast against each other outside dim (`gather` after `expand`); without dim, indices
    into the flattened input. Pairs with argsort/argmax: `take_along_dim(x, x.argsort(1), 1)`.

    out = gather(a.expand(...), dim, indices.expand(...));  d/da through gather and expand
    """
    _no_out(out, "take_along_dim")
    if dim is None:   # torch: `input.view(-1).gather(0, indices.view(-1))`
        return Gather.apply(input.view(-1), indices.view(-1), 0)
    if input.ndim != indices.ndim:
        raise RuntimeError(f"torch.take_along_dim(): input and indices should have the same "
                           f"number of dimensions, but got {input.ndim} dimensions for input, "
                           f"and {indices.ndim} dimensions for indices")
    if indices._data.dtype != _LONG:
        raise RuntimeError(f"torch.take_along_dim(): dtype of indices should be Long but got "
                           f"{_type_name(indices._data)}")
    dim = _wrap_dim(dim, input.ndim)
    input_sizes = list(input.shape)
    input_sizes[dim] = indices.shape[dim]
    indices = indices.expand(_broadcast_shape(input_sizes, indices.shape))
    indices_sizes = list(indices.shape)
    indices_sizes[dim] = input.shape[dim]
    return Gather.apply(input.expand(_broadcast_shape(indices_sizes, input.shape)), indices,
                        dim)


# ----------------------------------------------------------------------------------------------
# masked_select, masked_scatter
# ----------------------------------------------------------------------------------------------
def _true_positions(mask, shape):
    """The flat (row-major) positions of the True elements of `mask` broadcast to `shape`.

    The masked ops read and write through these (`a.take(positions)`,
    `out.reshape(-1)[positions] = v`) rather than with a boolean index (`a[mask]`): numpy's
    boolean indexing is several times slower on an irregular mask than `np.flatnonzero`
    followed by a gather, and gives the same elements in the same order.
    """
    return np.flatnonzero(np.broadcast_to(mask, shape))


class MaskedSelect(Op):
    """The elements of `input` where the bool `mask` is True (both broadcast), as a vector.

    out = a[mask];  d/da = zeros(broadcast shape).masked_scatter(mask, grad)
    """

    inputs = 2
    differentiable_inputs = (0,)
    node_name = "MaskedSelectBackward0"

    def forward(ctx, a, mask):
        if mask.dtype != np.bool_:
            raise RuntimeError("masked_select: expected BoolTensor for mask")
        shape = _broadcast_shape(a.shape, mask.shape)
        ctx.shape = shape
        ctx.save_for_backward(mask)
        return np.broadcast_to(a, shape).take(_true_positions(mask, shape))

    def backward(ctx, grad):
        (mask,) = ctx.saved_tensors
        return MaskedScatter.apply(zeros(ctx.shape, dtype=grad.dtype), mask, grad), None


def _mask_samples(g, with_source=False):
    shape, mask_shape = g.shapes(2)
    x = g.tensor(shape)
    mask = g.tensor(mask_shape, dtype="bool", requires_grad=False, special=False)
    if not with_source:
        return Sample((x, mask))
    count = int(np.prod(np.broadcast_shapes(shape, mask_shape)))
    source = g.tensor(g.sampled_from([(count + g.integers(0, 2),), (1, count)]),
                      dtype=x.array.dtype.name)
    return Sample((x, mask, source))


def _masked_scatter_samples(g):
    return _mask_samples(g, with_source=True)


@op_function("masked_select", methods=("masked_select",), reference="torch.masked_select",
             samples=_mask_samples, dtypes=BOOL_AND_REAL, node_names=("MaskedSelectBackward0",),
             error_samples=(
                 _raises(RuntimeError, "masked_select: expected BoolTensor for mask", _X34,
                         np.ones((3, 4), np.float32)),
                 _raises(RuntimeError, "The size of tensor a (4) must match the size of tensor "
                         "b (3) at non-singleton dimension 1", _X34, np.ones(3, bool))))
def masked_select(input, mask, *, out=None):
    """The elements of `input` where the bool `mask` is True, in row-major order, as a 1-dim
    tensor; input and mask broadcast against each other.

    out = a[mask];  d/da = zeros(broadcast shape).masked_scatter(mask, grad)
    """
    _no_out(out, "masked_select")
    return MaskedSelect.apply(input, mask)


class MaskedScatter(Op):
    """`input` with its elements where `mask` is True replaced, in row-major order, by the
    leading elements of `source`; input and mask broadcast.

    out = a, out[mask] = source[:mask.sum()];  d/da = grad.masked_fill(mask, 0);
    d/dsource = masked_scatter_backward(grad, mask, source.shape)
    """

    inputs = 3
    differentiable_inputs = (0, 2)
    node_name = "MaskedScatterBackward0"

    def forward(ctx, a, mask, source):
        if mask.dtype != np.bool_:
            raise RuntimeError(f"masked_scatter_ only supports boolean masks, but got mask "
                               f"with dtype {_type_name(mask)}")
        if a.dtype != source.dtype:
            raise RuntimeError(f"masked_scatter: expected self and source to have same dtypes "
                               f"but got{_type_name(a)} and {_type_name(source)}")
        shape = _broadcast_shape(a.shape, mask.shape)
        positions = _true_positions(mask, shape)
        if positions.size > source.size:
            raise RuntimeError("Number of elements of source < number of ones in mask")
        ctx.source_shape = source.shape
        ctx.save_for_backward(mask)
        out = np.array(np.broadcast_to(a, shape), order="C")   # C order: written flat
        out.reshape(-1)[positions] = source.reshape(-1)[:positions.size]
        return out

    def backward(ctx, grad):
        (mask,) = ctx.saved_tensors
        grad_source = MaskedScatterBackward.apply(grad, mask, ctx.source_shape) \
            if ctx.needs_input_grad[1] else None
        return grad.masked_fill(mask, 0.0), None, grad_source


class MaskedScatterBackward(Op):
    """The gradient for masked_scatter's source: grad where mask is True, in order, padded
    with zeros to source's size.

    out = cat(grad[mask], zeros).view(source shape);
    d/dgrad = zeros_like(grad).masked_scatter(mask, grad_out)
    """

    inputs = 2
    differentiable_inputs = (0,)
    node_name = "MaskedScatterBackwardBackward0"

    def forward(ctx, grad, mask, source_shape):
        ctx.save_for_backward(mask)
        ctx.grad_shape = grad.shape
        picked = grad.take(_true_positions(mask, grad.shape))
        out = np.zeros(int(np.prod(source_shape)), grad.dtype)
        out[:picked.size] = picked
        return out.reshape(source_shape)

    def backward(ctx, grad):
        (mask,) = ctx.saved_tensors
        return MaskedScatter.apply(zeros(ctx.grad_shape, dtype=grad.dtype), mask, grad), None


@op_function("masked_scatter", methods=("masked_scatter", "masked_scatter_"),
             reference="torch.masked_scatter", samples=_masked_scatter_samples,
             dtypes=BOOL_AND_REAL, node_names=("MaskedScatterBackward0",),
             error_samples=(
                 _raises(RuntimeError, "masked_scatter_ only supports boolean masks, but got "
                         "mask with dtype Float", _X34, np.ones((3, 4), np.float32),
                         np.ones(12, np.float32)),
                 _raises(RuntimeError, "Number of elements of source < number of ones in mask",
                         _X34, np.ones((3, 4), bool), np.ones(5, np.float32)),
                 _raises(RuntimeError, "masked_scatter: expected self and source to have same "
                         "dtypes", _X34, np.ones((3, 4), bool), np.ones(12, np.float64))))
def masked_scatter(input, mask, source):
    """`input` with the elements where the bool `mask` is True replaced, in row-major order,
    by the first elements of `source` (which needs at least that many). `masked_scatter_`
    writes into input (mask must then broadcast to input's shape).

    out = a, out[mask] = source[:mask.sum()];  d/da = grad.masked_fill(mask, 0);
    d/dsource = grad[mask] padded with zeros to source's shape
    """
    return MaskedScatter.apply(input, mask, source)


# ----------------------------------------------------------------------------------------------
# nonzero, argwhere (no gradient: their outputs are indices)
# ----------------------------------------------------------------------------------------------
def _nonzero_samples(g):
    x = g.tensor(g.shape(max_dims=3), -1, 1, integral=True)
    if g.booleans():
        return Sample((x,), {"as_tuple": g.booleans()})
    return Sample((x,))


class Nonzero(Op):
    """The indices of the nonzero elements of `input`: an (n, ndim) int64 tensor, or with
    `as_tuple=True` one int64 vector per dim (a 0-dim input counts as 1-dim). No gradient."""

    name = "nonzero"
    methods = ("nonzero",)
    differentiable = False
    reference = "torch.nonzero"
    samples = _nonzero_samples
    dtypes = BOOL_AND_REAL

    def forward(ctx, a, *, as_tuple=False, out=None):
        _no_out(out, "nonzero")
        if as_tuple:
            return tuple(i.astype(np.int64) for i in np.nonzero(_as_vector(a)))
        return np.argwhere(a).astype(np.int64)


def _argwhere_samples(g):
    return Sample((g.tensor(g.shape(max_dims=3), -1, 1, integral=True),))


class Argwhere(Op):
    """The indices of the nonzero elements of `input` as an (n, ndim) int64 tensor
    (`nonzero()`). No gradient."""

    name = "argwhere"
    methods = ("argwhere",)
    differentiable = False
    reference = "torch.argwhere"
    samples = _argwhere_samples
    dtypes = BOOL_AND_REAL

    def forward(ctx, a):
        return np.argwhere(a).astype(np.int64)


# ----------------------------------------------------------------------------------------------
# index_put, and item assignment (`x[idx] = v`, see Note [Item assignment])
# ----------------------------------------------------------------------------------------------
def _broadcasts_to(shape, target):
    """Whether an array of `shape` broadcasts to `target` (without changing target)."""
    if len(shape) > len(target):
        return False
    return all(s in (1, t) for s, t in zip(shape[::-1], target[::-1]))


def _is_scalar_mask(index):
    """Whether a numpy index is a lone 0-dim bool mask (see _numpy_index)."""
    return len(index) == 1 and isinstance(index[0], np.ndarray) and index[0].ndim == 0


def _indexed_shape(shape, index):
    """The shape of `a[index]` for a numpy index of full slices and integer arrays, without
    computing it (numpy's rule: the broadcast index dims go where the arrays are if they are
    adjacent, first otherwise)."""
    if _is_scalar_mask(index):       # numpy's own rule, on a view that allocates nothing
        return np.broadcast_to(np.empty((), bool), shape)[index].shape
    arrays = [i for i, item in enumerate(index) if isinstance(item, np.ndarray)]
    picked = np.broadcast_shapes(*(index[i].shape for i in arrays))
    rest = [shape[i] for i in range(len(index)) if i not in arrays]
    trailing = list(shape[len(index):])
    if arrays == list(range(arrays[0], arrays[-1] + 1)):
        before = [shape[i] for i in range(arrays[0])]
        after = [shape[i] for i in range(arrays[-1] + 1, len(index))]
        return tuple(before) + picked + tuple(after + trailing)
    return picked + tuple(rest + trailing)


class IndexPut(Op):
    """`input` with `values` (broadcast) written, or with accumulate added, at a numpy index
    of full slices and integer arrays (what `x[idx] = v` and `index_put` compute).

    out = a.index_put(indices, values, accumulate);
    d/da = grad if accumulate else grad.index_put(indices, zeros_like(values));
    d/dvalues = grad[indices]
    """

    inputs = 2
    node_name = "IndexPutBackward0"

    def forward(ctx, a, values, index, accumulate=False):
        if values.dtype != a.dtype:
            raise RuntimeError(f"Index put requires the source and destination dtypes match, "
                               f"got {_type_name(a)} for the destination and "
                               f"{_type_name(values)} for the source.")
        target = _indexed_shape(a.shape, index)
        if not _broadcasts_to(values.shape, target):
            raise RuntimeError(f"shape mismatch: value tensor of shape {list(values.shape)} "
                               f"cannot be broadcast to indexing result of shape "
                               f"{list(target)}")
        ctx.index, ctx.accumulate, ctx.values_shape = index, accumulate, values.shape
        out = a.copy()
        if accumulate:
            from hypergrad.ops.shape import _add_at

            _add_at(out, index, values)
        else:
            out[index] = values
        return out

    def backward(ctx, grad):
        from hypergrad.ops.shape import Index

        grad_self = grad if ctx.accumulate else IndexPut.apply(
            grad, zeros(ctx.values_shape, dtype=grad.dtype), ctx.index, False)
        return grad_self, Index.apply(grad, ctx.index) if ctx.needs_input_grad[1] else None


def _refuse_byte_mask(data):
    """torch 2.13 writes through no uint8 mask (reading still takes one)."""
    if data.dtype == np.uint8:
        raise RuntimeError("masked_fill_ only supports boolean masks, but got mask with dtype "
                           "unsigned char")


def _numpy_index(shape, indices):
    """index_put's tuple of index tensors as a numpy index (masks become positions), checked
    with torch's messages."""
    from hypergrad.ops.shape import _advanced_index

    advanced = []
    dim = 0
    for item in indices:
        data = item._data
        if data.dtype.kind not in "iub":
            raise IndexError("tensors used as indices must be long, int, byte or bool tensors")
        _refuse_byte_mask(data)
        if data.dtype.kind in "iu" and data.dtype not in (np.dtype(np.int32), _LONG):
            raise IndexError("tensors used as indices must be long, int, byte or bool tensors")
        advanced.append((dim, data))
        dim += data.ndim if data.dtype == np.bool_ else 1
    if dim > len(shape):
        raise IndexError(f"too many indices for tensor of dimension {len(shape)} (got {dim})")
    if len(advanced) == 1 and advanced[0][1].ndim == 0 and advanced[0][1].dtype == np.bool_:
        # a lone 0-dim mask adds a dim of size 1 (True: everything) or 0 (False: nothing), in
        # torch as in numpy, which takes it as it is
        return (advanced[0][1],)
    return _advanced_index(shape, advanced)


def _index_put_samples(g):
    shape = g.shape(min_dims=1, max_dims=3)
    x = g.tensor(shape)
    indices = []
    count = g.integers(1, 3)
    for size in shape[:g.integers(1, len(shape))]:
        indices.append(g.tensor((count,) if not indices else g.sampled_from([(count,), (1,)]),
                                -size, size - 1, dtype="int64", requires_grad=False,
                                special=False))
    if g.booleans() and g.booleans():   # a mask instead
        indices = [g.tensor(shape[:1], dtype="bool", requires_grad=False, special=False)]
    accumulate = g.booleans()
    if not accumulate:   # distinct positions: overwriting one twice is nondeterministic
        indices = indices[:1]
        if indices[0].array.dtype != np.bool_ and shape[0]:
            indices[0].array = np.unique(indices[0].array % shape[0])
    picked = np.zeros(shape, bool)[tuple(t.array for t in indices)].shape
    values_shape = picked[g.integers(0, len(picked)):] if g.booleans() else picked
    values = g.tensor(values_shape, dtype=x.array.dtype.name)
    return Sample((x, tuple(indices), values), {"accumulate": accumulate})


def _index_put(input, indices, values, accumulate=False):
    if not isinstance(values, Tensor):
        raise TypeError(f"index_put(): argument 'values' (position 3) must be Tensor, not "
                        f"{type(values).__name__}")
    for position, item in enumerate(indices):
        if not isinstance(item, Tensor):
            raise TypeError(f"expected Tensor as element {position} in argument 1, but got "
                            f"{type(item).__name__}")
    return IndexPut.apply(input, values, _numpy_index(input.shape, indices), accumulate)


index_put = op_function(
    "index_put", methods=("index_put", "index_put_"), reference="torch.index_put",
    samples=_index_put_samples, dtypes=ALL_REAL, node_names=("IndexPutBackward0",),
    error_samples=(
        _raises(IndexError, "index 3 is out of bounds for dimension 0 with size 3", _X34,
                (np.array([3]),), np.array(1.0, np.float32)),
        _raises(IndexError, "tensors used as indices must be long, int, byte or bool tensors",
                _X34, (np.array([0.0]),), np.array(1.0, np.float32)),
        _raises(IndexError, "too many indices for tensor of dimension 2", _X34,
                (np.array([0]),) * 3, np.array(1.0, np.float32)),
        _raises(RuntimeError, "Index put requires the source and destination dtypes match, got "
                "Float for the destination and Double for the source.", _X34, (np.array([0]),),
                np.array(1.0)),
        _raises(RuntimeError, "shape mismatch: value tensor of shape [5] cannot be broadcast to "
                "indexing result of shape [1, 4]", _X34, (np.array([0]),),
                np.ones(5, np.float32)),
        _raises(IndexError, "shape mismatch: indexing tensors could not be broadcast together",
                _X34, (np.array([0, 1]), np.array([0, 1, 2])), np.array(1.0, np.float32)),
        _raises(TypeError, "must be Tensor, not float", _X34, (np.array([0]),), 1.0)))(_index_put)
index_put.__doc__ = """`input` with `values` written at `indices` (a tuple of int64, int32 or
    bool tensors, one for each leading dim, as in `input[indices] = values`), or added there
    with `accumulate=True` (then a position named twice receives both). values broadcast to
    the indexed shape and must have input's dtype. `index_put_` writes into input.

    out = a.index_put(indices, values, accumulate);
    d/da = grad if accumulate else grad.index_put(indices, zeros_like(values));
    d/dvalues = grad[indices]
    """


def _index_put_numpy(input, values, index):
    return IndexPut.apply(input, values, index, False)


# `view.index_put_(...)` with the index already a numpy index: the in-place machinery does
# the leaf check, the write, the version bump and the history (CopySlices for a view).
_index_put_inplace = inplace_variant(_index_put_numpy, "index_put_")


def _value_tensor(input, value):
    """The assigned value as a tensor: a number becomes a 0-dim tensor of input's dtype."""
    if isinstance(value, Tensor):
        return value
    if isinstance(value, (bool, int, float, np.bool_, np.integer, np.floating)):
        return Tensor._make(np.asarray(value).astype(input._data.dtype))
    raise TypeError(f"can't assign a {_qualified_type(value)} to a "
                    f"torch.{input.dtype._tensor_type}")


def _qualified_type(value):
    cls = type(value)
    return cls.__name__ if cls.__module__ == "builtins" else f"{cls.__module__}.{cls.__name__}"


def _copy_to(dst, src):
    """torch's `copy_to` (TensorIndexing.h): copy_ for equal shapes, fill_ for a 0-dim src,
    else src without leading size-1 dims, expanded to dst's shape, then copy_."""
    if dst.shape == src.shape:
        dst.copy_(src)
    elif src.ndim == 0:
        dst.fill_(src)
    else:
        src = src.view(_strip_leading_ones(src.shape))
        dst.copy_(src if src.shape == dst.shape else src.expand(dst.shape))


def _strip_leading_ones(shape):
    """torch's slicePrefix1sSize: the shape without its leading size-1 dims."""
    first = 0
    while first < len(shape) and shape[first] == 1:
        first += 1
    return tuple(shape[first:])


def _check_overlap(destination, source, partial_only):
    """torch's refusal to write from memory the destination overlaps: partly for a copy
    (`x[1:] = x[:-1]`), at all for index_put (`x[idx] = x[0]`)."""
    if not np.may_share_memory(destination, source):
        return
    same = (destination.__array_interface__["data"][0] == source.__array_interface__["data"][0]
            and destination.shape == source.shape and destination.strides == source.strides)
    if partial_only and same:
        return
    raise RuntimeError("unsupported operation: some elements of the input tensor and the "
                       "written-to tensor refer to a single memory location. Please clone() "
                       "the tensor before performing the operation.")


def _basic_view(input, index):
    """The view of `input` that the basic items of `index` select, and the index arrays left
    for index_put as [(dim of the view, array)]; None for `x[False]` (nothing to write).

    Like torch's set_item, a lone full slice, a lone `...` and full slices inside a tuple
    select input itself (reading records them, writing does not).
    """
    from hypergrad.ops import shape as shape_ops

    if not isinstance(index, tuple):
        if index is False or index is np.False_:
            return None, []
        if index is Ellipsis:
            return input, []
        if index is None or index is True or index is np.True_:
            return shape_ops.Unsqueeze.apply(input, 0), []
        if isinstance(index, (int, np.integer)):
            if input.ndim == 0:
                raise IndexError("invalid index of a 0-dim tensor. Use `tensor.item()` in "
                                 "Python or `tensor.item<T>()` in C++ to convert a 0-dim "
                                 "tensor to a number")
            return shape_ops._select_for_index(input, 0, operator.index(index), 0), []
        if isinstance(index, slice):
            if input.ndim == 0:
                raise IndexError("slice() cannot be applied to a 0-dim tensor.")
            size = input.shape[0]
            bounds = shape_ops._slice_bounds(index, size)
            if shape_ops._is_full_slice(index, size):
                return input, []
            return shape_ops.Slice.apply(input, 0, *bounds), []
        index = tuple(index) if shape_ops._sequence_as_tuple(index) else (index,)
    ndim = input.ndim
    specified = sum(shape_ops._named_dims(item) for item in index)
    if specified > ndim:
        raise IndexError(f"too many indices for tensor of dimension {ndim}")
    if sum(1 for item in index if item is Ellipsis) > 1:
        raise IndexError("an index can only have a single ellipsis ('...')")
    result = input
    dim = 0
    advanced = []
    for position, item in enumerate(index):
        if item is None:
            result = shape_ops.Unsqueeze.apply(result, dim)
            dim += 1
        elif item is Ellipsis:
            dim += ndim - specified
        elif isinstance(item, slice):
            size = result.shape[dim]
            bounds = shape_ops._slice_bounds(item, size)
            if not shape_ops._is_full_slice(item, size):
                result = shape_ops.Slice.apply(result, dim, *bounds)
            dim += 1
        else:
            if isinstance(item, Tensor):
                _refuse_byte_mask(item._data)
            kind, value = shape_ops._index_item(item)
            if kind == "int":
                result = shape_ops._select_for_index(result, dim, value, position)
            elif kind == "bool":
                result = shape_ops.Unsqueeze.apply(result, dim)
                advanced.append((dim, np.array([value])))
                dim += 1
            else:
                advanced.append((dim, value))
                dim += value.ndim if value.dtype == np.bool_ else 1
    return result, advanced


def _setitem_samples(g):
    """An index of ints, slices, None, `...` and int/bool index tensors for a tensor that does
    not require grad, and a value (requiring grad) of the selected shape or broadcast to it."""
    shape = g.shape(min_dims=1, max_dims=3)
    x = g.tensor(shape, requires_grad=False)
    items = []
    for size in shape[:g.integers(1, len(shape))]:
        kind = g.sampled_from(["int", "slice", "tensor", "none"])
        if kind == "int":
            items.append(g.integers(-size, size - 1))
        elif kind == "slice":
            items.append(slice(g.sampled_from([None, g.integers(-size, size)]),
                               g.sampled_from([None, g.integers(-size, size)]),
                               g.sampled_from([None, 1, 2])))
        elif kind == "tensor" and not any(isinstance(i, SampleTensor) for i in items):
            positions = np.unique(np.array([g.integers(0, size - 1)
                                            for _ in range(g.integers(1, 3))]))
            items.append(SampleTensor(positions.astype(np.int64), False))
        else:
            items.append(slice(None))
    if g.booleans():
        items.insert(g.integers(0, len(items)), None)
    index = tuple(items) if len(items) > 1 or g.booleans() else items[0]
    from hypergrad.ops.shape import getitem

    arrays = tuple(Tensor._make(i.array) if isinstance(i, SampleTensor) else i for i in items)
    selected = getitem(Tensor._make(x.array), arrays if isinstance(index, tuple) else arrays[0])
    target = selected.shape
    kind = g.sampled_from(["same", "broadcast", "number", "scalar"])
    if kind == "number":
        return Sample((x, index, g.floats(-3, 3) if g.dtype.is_floating_point
                       else g.integers(-3, 3)))
    if kind == "scalar":
        return Sample((x, index, g.tensor((), dtype=x.array.dtype.name)))
    value_shape = tuple(target)
    if kind == "broadcast" and value_shape:
        value_shape = tuple(1 if g.booleans() else s for s in value_shape[g.integers(
            0, len(value_shape)):])
        if g.booleans():
            value_shape = (1,) + value_shape
    return Sample((x, index, g.tensor(value_shape, dtype=x.array.dtype.name)))


_READ_ONLY_EXPANDED = on_some_inputs(
    "an expanded (stride-0) tensor is a read-only numpy view in HyperGrad, so assigning into "
    "it raises RuntimeError (clone() it first); torch writes through the shared memory when "
    "the written region does not overlap itself. The checks draw such layouts")


def _torch_setitem(input, index, value):
    """torch's `input[index] = value`, returning input (what HyperGrad's call returns)."""
    input[index] = value
    return input


@op_function("__setitem__", methods=("__setitem__",), reference=_torch_setitem,
             samples=_setitem_samples, dtypes=ALL_REAL,
             node_names=("CopySlices", "CopyBackwards", "FillBackward3", "IndexPutBackward0"),
             divergences={
                 "variants": "`x.__setitem__(i, v)` returns x (torch returns None); Python "
                             "discards the value of `x[i] = v`, so only an explicit call sees "
                             "it. It lets the suite compare what the assignment did.",
                 "inplace": "item assignment writes into its input by definition, as in "
                            "torch; the no-mutation check is for out-of-place ops",
                 "noncontiguous": _READ_ONLY_EXPANDED,
                 "grad_fn": _READ_ONLY_EXPANDED},
             error_samples=(
                 _raises(IndexError, "index 5 is out of bounds for dimension 0 with size 3",
                         np.zeros((3, 4), np.float32), 5, 1.0),
                 _raises(IndexError, "index 3 is out of bounds for dimension 0 with size 3",
                         np.zeros((3, 4), np.float32), np.array([3]), 1.0),
                 _raises(RuntimeError, "The expanded size of the tensor (4) must match the "
                         "existing size (5)", np.zeros((3, 4), np.float32), 0,
                         np.ones(5, np.float32)),
                 _raises(RuntimeError, "shape mismatch: value tensor of shape [5] cannot be "
                         "broadcast to indexing result of shape [1, 4]",
                         np.zeros((3, 4), np.float32), np.array([0]), np.ones(5, np.float32)),
                 _raises(RuntimeError, "Index put requires the source and destination dtypes "
                         "match", np.zeros((3, 4), np.float32), np.array([0]),
                         np.ones(4, np.float64)),
                 _raises(TypeError, "can't assign a list to a torch.FloatTensor",
                         np.zeros((3, 4), np.float32), 0, [1.0, 2.0, 3.0, 4.0])))
def setitem(input, index, value):
    """`input[index] = value`, in place: index as for reading (ints, slices, None, `...`,
    int and bool tensors, lists); value a number or a tensor that broadcasts to the selected
    shape (a tensor of another dtype is converted, except where index tensors are used:
    then it must have input's dtype, as in torch). Returns input (torch returns None).

    Basic indices copy into a view (the base gets a CopySlices history); index tensors call
    `index_put_` (IndexPutBackward0). See Note [Item assignment].
    d/dinput = grad with the written positions zeroed;  d/dvalue = grad at those positions
    (summed over broadcast dims)
    """
    value = _value_tensor(input, value)
    target, advanced = _basic_view(input, index)
    if target is None:
        return input
    _check_overlap(target._data, value._data, partial_only=not advanced)
    if not advanced:
        _copy_to(target, value)
        return input
    from hypergrad.ops.shape import _advanced_index

    stripped = _strip_leading_ones(value.shape)
    if stripped != value.shape:
        value = value.view(stripped)
    _index_put_inplace(target, value, _advanced_index(target.shape, advanced))
    return input

