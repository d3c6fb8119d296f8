"""Reductions: sum, mean, prod, max/min, amax/amin, argmax/argmin, var, std, logsumexp,
norm (and linalg.vector_norm), cumsum, all, any.

A reduction's backward spreads the gradient back over the reduced dimensions: it re-inserts
them as size 1 (`_unsqueeze_reduced`, when keepdim was False) and lets broadcasting, or an
explicit `expand` (`_expand_reduced`), do the rest.

Note [One public function, several nodes]
    torch names a reduction's node after the overload that ran: `x.sum()` records
    SumBackward0 but `x.sum(dim)` (even `x.sum(dim=None)`) records SumBackward1; `x.max()`
    records MaxBackward1 and `x.max(dim)` MaxBackward0. Each overload here is its own internal
    Op class carrying torch's node name, and one public function (`@op_function`) picks the
    overload from the arguments, as torch's argument parser does.

Note [Which elements get the gradient of a max]
    Following derivatives.yaml: `max()`/`min()` over all elements and `amax`/`amin` split the
    gradient evenly among the elements equal to the result (ties); `max(dim)`/`min(dim)` give
    all of it to the one element whose index they return.
"""

from __future__ import annotations

import builtins
import math
import warnings
from collections import namedtuple

import numpy as np

import hypergrad
from hypergrad import dtypes as _dtypes
from hypergrad.conformance.domains import (ALL_REAL, BOOL_AND_REAL, FLOATING,
                                           ILL_CONDITIONED_SUMS, ErrorSample, Sample,
                                           SampleTensor, reduction)
from hypergrad.plugins import INT_TO_FLOAT, Op, op_function
from hypergrad.tensor import Tensor


# ----------------------------------------------------------------------------------------------
# Shared helpers
# ----------------------------------------------------------------------------------------------
class _DimNotGiven:
    """The default of `dim` in sum and mean: no dim argument at all (see Note [One public
    function, several nodes]); `dim=None` given explicitly is a different overload."""

    def __repr__(self):
        return "<all dims>"


_DIM_NOT_GIVEN = _DimNotGiven()


def _normalize_dims(dim, ndim):
    """`dim` (None, an int, or a sequence) as a sorted tuple of non-negative axes."""
    if dim is None:
        return tuple(range(ndim))
    dims = (int(dim),) if isinstance(dim, (int, np.integer)) else tuple(dim)
    if len(dims) == 0:
        return tuple(range(ndim))
    bound = builtins.max(ndim, 1)
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


def _check_int_dim(dim, name, position=" (position 2)"):
    """Ops that reduce along one dim take an int: torch's argument parser refuses a tuple (or
    a bool), where numpy would reduce over several axes."""
    if not isinstance(dim, (int, np.integer)) or isinstance(dim, bool):
        raise TypeError(f"{name}(): argument 'dim'{position} must be int, not "
                        f"{type(dim).__name__}")


def _reduced_numel(shape, axes):
    """How many elements each output element of a reduction over `axes` combines."""
    return math.prod(shape[axis] for axis in axes)


def _sum_dtype(a, dtype):
    if dtype is not None:
        return _dtypes.to_dtype(dtype).numpy
    return np.dtype(np.int64) if a.dtype.kind in "biu" else a.dtype


_FLOAT16 = np.dtype(np.float16)
_FLOAT32 = np.dtype(np.float32)


def _accumulated(reduce, a, dtype, **kwargs):
    """`reduce(a, dtype=dtype, ...)`, accumulated as torch does: a float16 result is summed in
    float32 (torch's `acc_type` for Half) and rounded once at the end, so that `mean` of 100,000
    float16 ones is 1 (not inf) and the rounding errors of a long sum do not pile up."""
    if dtype != _FLOAT16:
        return reduce(a, dtype=dtype, **kwargs)
    # the input is first made float16 (`x.sum(dtype=float16)` of float32 values rounds them)
    return np.asarray(reduce(a.astype(_FLOAT16, copy=False), dtype=_FLOAT32,
                             **kwargs)).astype(_FLOAT16)


def _type_name(np_dtype):
    """torch's short scalar-type name used in messages: Float, Double, Long, Bool, ..."""
    return _dtypes.from_numpy_dtype(np.dtype(np_dtype))._tensor_type[:-len("Tensor")]


def _unsqueeze_reduced(grad, axes, keepdim):
    """Put back the reduced dims of `grad` as size 1, so it broadcasts against the input."""
    if keepdim or not axes:
        return grad
    shape = list(grad.shape)
    for axis in axes:
        shape.insert(axis, 1)
    return grad.reshape(shape)


def _expand_reduced(grad, input_shape, axes, keepdim):
    """Put back the reduced dims of `grad` (as size 1) and broadcast to `input_shape`."""
    return _unsqueeze_reduced(grad, axes, keepdim).expand(input_shape)


def _check_nonempty(a, axes, name, dim_given):
    """max/min-like reductions have no identity: reducing over nothing is an error."""
    if not dim_given and a.size == 0:
        raise RuntimeError(f"{name}(): Expected reduction dim to be specified for input.numel() "
                           "== 0. Specify the reduction dim with the 'dim' argument.")
    for axis in axes:
        if a.shape[axis] == 0:
            raise IndexError(f"{name}(): Expected reduction dim {axis} to have non-zero size.")


# ----------------------------------------------------------------------------------------------
# sum, mean
# ----------------------------------------------------------------------------------------------
class SumAll(Op):
    """Sum of all elements, `x.sum()`; integers and bools sum to int64.

    out = sum(a);  d/da = grad expanded to a's shape
    """

    node_name = "SumBackward0"

    def forward(ctx, a, *, dtype=None):
        ctx.input_shape = a.shape
        return _accumulated(np.add.reduce, a, _sum_dtype(a, dtype), axis=None)

    def backward(ctx, grad):
        return grad.expand(ctx.input_shape)


class SumDim(Op):
    """Sum over `dim` (an int, a sequence of ints, or None for all), `x.sum(dim, keepdim)`.

    out = sum(a, dim);  d/da = grad expanded back over the summed dims
    """

    node_name = "SumBackward1"

    def forward(ctx, a, dim, keepdim=False, *, dtype=None):
        axes = _normalize_dims(dim, a.ndim)
        ctx.input_shape = a.shape
        ctx.axes = axes
        ctx.keepdim = keepdim
        return _accumulated(np.add.reduce, a, _sum_dtype(a, dtype), axis=axes, keepdims=keepdim)

    def backward(ctx, grad):
        return _expand_reduced(grad, ctx.input_shape, ctx.axes, ctx.keepdim)


@op_function("sum", methods=("sum",), reference="torch.sum",
             tolerances=ILL_CONDITIONED_SUMS,
             samples=reduction(multi_dim=True), dtypes=BOOL_AND_REAL,
             node_names=("SumBackward0", "SumBackward1"))
def sum(input, dim=_DIM_NOT_GIVEN, keepdim=False, *, dtype=None):
    """Sum of the elements, over all of them or over `dim`; integers and bools give int64.

    out = sum(a, dim);  d/da = grad expanded back over the summed dims
    """
    if dim is _DIM_NOT_GIVEN and not keepdim:
        return SumAll.apply(input, dtype=dtype)
    return SumDim.apply(input, None if dim is _DIM_NOT_GIVEN else dim, keepdim, dtype=dtype)


def _mean_dtype(a, dtype):
    """mean needs a floating result dtype: the input's, or the `dtype` asked for."""
    if dtype is not None:
        np_dtype = _dtypes.to_dtype(dtype).numpy
        if np_dtype.kind not in "fc":
            raise RuntimeError("mean(): could not infer output dtype. Optional dtype must be "
                               f"either a floating point or complex dtype. Got: "
                               f"{_type_name(np_dtype)}")
        return np_dtype
    if a.dtype.kind not in "fc":
        raise RuntimeError("mean(): could not infer output dtype. Input dtype must be either a "
                           f"floating point or complex dtype. Got: {_type_name(a.dtype)}")
    return a.dtype


def _mean(a, axis, keepdims, dtype, count):
    """What `np.mean(a, axis, dtype, keepdims=keepdims)` computes (the pairwise sum in `dtype`,
    divided by `count`), without np.mean's Python layer: this runs on every `mean`."""
    if dtype == _FLOAT16:   # summed and divided in float32, rounded once (see _accumulated)
        return np.asarray(_mean(a, axis, keepdims, _FLOAT32, count)).astype(_FLOAT16)
    total = np.add.reduce(a, axis=axis, dtype=dtype, keepdims=keepdims)
    count = np.intp(count)
    if count == 0:
        with np.errstate(invalid="ignore", divide="ignore"):   # the mean of nothing is NaN
            return np.asarray(np.true_divide(total, count), dtype=dtype)
    if type(total) is np.ndarray:
        return np.true_divide(total, count, out=total, casting="unsafe")
    return np.asarray(total / count, dtype=dtype)


class MeanAll(Op):
    """Mean of all elements, `x.mean()`; floating dtypes only.

    out = sum(a) / N;  d/da = grad expanded to a's shape / N
    """

    node_name = "MeanBackward0"

    def forward(ctx, a, *, dtype=None):
        out_dtype = _mean_dtype(a, dtype)
        ctx.input_shape = a.shape
        return _mean(a, None, False, out_dtype, a.size)

    def backward(ctx, grad):
        return grad.expand(ctx.input_shape) / math.prod(ctx.input_shape)


class MeanDim(Op):
    """Mean over `dim`, `x.mean(dim, keepdim)`; floating dtypes only.

    out = sum(a, dim) / N;  d/da = grad expanded back over the reduced dims / N
    """

    node_name = "MeanBackward1"

    def forward(ctx, a, dim, keepdim=False, *, dtype=None):
        out_dtype = _mean_dtype(a, dtype)
        axes = _normalize_dims(dim, a.ndim)
        ctx.input_shape = a.shape
        ctx.axes = axes
        ctx.keepdim = keepdim
        return _mean(a, axes, keepdim, out_dtype, _reduced_numel(a.shape, axes))

    def backward(ctx, grad):
        count = _reduced_numel(ctx.input_shape, ctx.axes)
        return _expand_reduced(grad, ctx.input_shape, ctx.axes, ctx.keepdim) / count


@op_function("mean", methods=("mean",), reference="torch.mean",
             tolerances=ILL_CONDITIONED_SUMS,
             samples=reduction(multi_dim=True), dtypes=FLOATING,
             node_names=("MeanBackward0", "MeanBackward1"),
             error_samples=(ErrorSample(Sample((SampleTensor(np.arange(3), False),)),
                                        RuntimeError, "mean(): could not infer output dtype"),))
def mean(input, dim=_DIM_NOT_GIVEN, keepdim=False, *, dtype=None):
    """Mean of the elements, over all of them or over `dim`; needs a floating dtype.

    out = sum(a, dim) / N;  d/da = grad expanded back over the reduced dims / N
    """
    if dim is _DIM_NOT_GIVEN and not keepdim:
        return MeanAll.apply(input, dtype=dtype)
    return MeanDim.apply(input, None if dim is _DIM_NOT_GIVEN else dim, keepdim, dtype=dtype)


# ----------------------------------------------------------------------------------------------
# prod
# ----------------------------------------------------------------------------------------------
def _product_of_others(a, axis):
    """For each element, the product of all the *other* elements of its slice along `axis`.

    Exact with zeros, and differentiable to any order: row j of `others` is the slice with its
    j-th entry replaced by 1 (where `diagonal` is True), and each row is multiplied out with
    prod. It costs n times the memory of `a` (n = a.shape[axis]), so prod's backward uses it
    only when `a` has zeros.
    """
    n = a.shape[axis]
    trailing = (1,) * (a.ndim - 1 - axis)
    diagonal = hypergrad.eye(n, dtype=hypergrad.bool).reshape((n, n) + trailing)
    rows = a.reshape(a.shape[:axis] + (1,) + a.shape[axis:])
    others = hypergrad.where(diagonal, 1.0, rows)
    return others.prod(axis + 1)


def _prod_backward(grad, a, result, axis, keepdim, has_zeros):
    """torch's prod_backward: grad * result / a, or the product of the others if a has zeros."""
    grad = _unsqueeze_reduced(grad, (axis,), keepdim)
    if not has_zeros:
        return grad * (_unsqueeze_reduced(result, (axis,), keepdim) / a)
    return grad * _product_of_others(a, axis)


class ProdAll(Op):
    """Product of all elements, `x.prod()`; integers and bools give int64.

    out = prod(a);  d/da = grad * prod(a) / a   (exact where a has zeros)
    """

    node_name = "ProdBackward0"

    def forward(ctx, a, *, dtype=None):
        out = np.asarray(np.prod(a, dtype=_sum_dtype(a, dtype)))
        ctx.save_for_backward(a, out)
        ctx.zeros = int(np.count_nonzero(a == 0))
        return out

    def backward(ctx, grad):
        a, result = ctx.saved_tensors
        if a.dim() == 0:
            return grad
        if ctx.zeros > 1 and not hypergrad.is_grad_enabled():
            # each product of the others holds a zero; only a graph of it (create_graph) needs
            # the full formula, for the second derivative. torch takes the same shortcut.
            return hypergrad.zeros_like(a)
        flat = _prod_backward(grad, a.reshape(-1), result, 0, False, ctx.zeros > 0)
        return flat.reshape(a.shape)


class ProdDim(Op):
    """Product over one dimension, `x.prod(dim, keepdim)`; integers and bools give int64.

    out = prod(a, dim);  d/da = grad * prod(a, dim) / a   (exact where a has zeros)
    """

    node_name = "ProdBackward1"

    def forward(ctx, a, dim, keepdim=False, *, dtype=None):
        if not isinstance(dim, int):
            raise TypeError(f"prod(): argument 'dim' must be int, not {type(dim).__name__}")
        axes = _normalize_dims(dim, a.ndim)
        out = np.asarray(np.prod(a, axis=axes, keepdims=keepdim, dtype=_sum_dtype(a, dtype)))
        ctx.save_for_backward(a, out)
        ctx.axes = axes
        ctx.keepdim = keepdim
        ctx.has_zeros = bool((a == 0).any())
        return out

    def backward(ctx, grad):
        a, result = ctx.saved_tensors
        if not ctx.axes:
            return grad
        return _prod_backward(grad, a, result, ctx.axes[0], ctx.keepdim, ctx.has_zeros)


# prod's `special` samples are left ordinary: with +-1e30 in float32 the products overflow,
# and torch's backward (exclusive cumulative products) turns 0 * inf into NaN at positions
# where HyperGrad's exact formula gives 0; zeros are covered by the tests in
# tests/test_ops_reduction.py (one, two and many zeros, to third order).
@op_function("prod", methods=("prod",), reference="torch.prod",
             samples=reduction(special=False),
             dtypes=BOOL_AND_REAL, node_names=("ProdBackward0", "ProdBackward1"))
def prod(input, dim=None, keepdim=False, *, dtype=None):
    """Product of the elements, over all of them or over one `dim`; integers give int64.

    out = prod(a, dim);  d/da = grad * (product of the other elements of a's slice)
    """
    if dim is None:
        return ProdAll.apply(input, dtype=dtype)
    return ProdDim.apply(input, dim, keepdim, dtype=dtype)


# ----------------------------------------------------------------------------------------------
# max, min, amax, amin, argmax, argmin
# ----------------------------------------------------------------------------------------------
def _evenly_distribute(grad, a, value, value_is_nan):
    """torch's evenly_distribute_backward: the elements equal to `value` share grad equally.

    A NaN result came from the NaN elements, so they are the ones that share it.
    """
    mask = a.isnan() if value_is_nan else (a == value)
    return hypergrad.where(mask, grad / mask.sum(), 0.0)


def _select_backward(grad, axis, indices, input_shape, keepdim):
    """torch's value_selecting_reduction_backward: zeros, with grad at `indices` along `axis`."""
    if len(input_shape) == 0:
        return grad
    grad = _unsqueeze_reduced(grad, (axis,), keepdim)
    indices = _unsqueeze_reduced(indices, (axis,), keepdim)
    positions = hypergrad.arange(input_shape[axis]).reshape(
        [-1 if d == axis else 1 for d in range(len(input_shape))])
    return hypergrad.where(positions == indices, grad, 0.0)


def _scale_grad_by_count(grad, mask, axes):
    """torch's scale_grad_by_count: grad shared equally by the True elements of each slice."""
    return (grad / mask.sum(axes, keepdim=True)) * mask


def _extreme_all(ctx, a, name, reduce):
    _check_nonempty(a, (), name, dim_given=False)
    out = np.asarray(reduce(a))
    ctx.save_for_backward(a, out)
    ctx.value_is_nan = bool(np.isnan(out)) if a.dtype.kind == "f" else False
    return out


def _extreme_dim(ctx, a, dim, keepdim, name, arg_reduce):
    """Values and int64 indices of the max (min) along `dim`; the first index wins ties."""
    axes = _normalize_dims(dim, a.ndim)
    if not axes:  # a 0-dim tensor: its one element, at index 0
        indices = np.zeros((), dtype=np.int64)
        values = a.copy()
    else:
        _check_nonempty(a, axes, name, dim_given=True)
        indices = arg_reduce(a, axis=axes[0], keepdims=True)
        values = np.take_along_axis(a, indices, axis=axes[0])
        if not keepdim:
            indices = indices.squeeze(axes[0])
            values = values.squeeze(axes[0])
    ctx.axes = axes
    ctx.input_shape = a.shape
    ctx.keepdim = keepdim
    ctx.save_for_backward(indices)
    ctx.mark_non_differentiable(indices)
    return values, indices


class MaxAll(Op):
    """Largest element, `x.max()`; ties share the gradient evenly.

    out = max(a);  d/da = grad / count where a == out, else 0
    """

    node_name = "MaxBackward1"

    def forward(ctx, a):
        return _extreme_all(ctx, a, "max", np.max)

    def backward(ctx, grad):
        a, out = ctx.saved_tensors
        return _evenly_distribute(grad, a, out, ctx.value_is_nan)


class MinAll(Op):
    """Smallest element, `x.min()`; ties share the gradient evenly.

    out = min(a);  d/da = grad / count where a == out, else 0
    """

    node_name = "MinBackward1"

    def forward(ctx, a):
        return _extreme_all(ctx, a, "min", np.min)

    def backward(ctx, grad):
        a, out = ctx.saved_tensors
        return _evenly_distribute(grad, a, out, ctx.value_is_nan)


class MaxDim(Op):
    """Largest elements along `dim` and their indices, `x.max(dim, keepdim)`.

    values = max(a, dim);  d/da = grad placed at the returned indices, 0 elsewhere
    indices are int64 and not differentiable
    """

    node_name = "MaxBackward0"

    def forward(ctx, a, dim, keepdim=False):
        return _extreme_dim(ctx, a, dim, keepdim, "max", np.argmax)

    def backward(ctx, grad, grad_indices):
        (indices,) = ctx.saved_tensors
        axis = ctx.axes[0] if ctx.axes else None
        return _select_backward(grad, axis, indices, ctx.input_shape, ctx.keepdim)


class MinDim(Op):
    """Smallest elements along `dim` and their indices, `x.min(dim, keepdim)`.

    values = min(a, dim);  d/da = grad placed at the returned indices, 0 elsewhere
    indices are int64 and not differentiable
    """

    node_name = "MinBackward0"

    def forward(ctx, a, dim, keepdim=False):
        return _extreme_dim(ctx, a, dim, keepdim, "min", np.argmin)

    def backward(ctx, grad, grad_indices):
        (indices,) = ctx.saved_tensors
        axis = ctx.axes[0] if ctx.axes else None
        return _select_backward(grad, axis, indices, ctx.input_shape, ctx.keepdim)


# torch.return_types.max / min: the (values, indices) named tuple that max(dim) returns.
MaxResult = namedtuple("max", ("values", "indices"), module="hypergrad.return_types")
MinResult = namedtuple("min", ("values", "indices"), module="hypergrad.return_types")


def _check_overload_dim(dim, name):
    """max(input, dim) takes an int dim; anything else matches none of max's overloads."""
    if not isinstance(dim, (int, np.integer)) or isinstance(dim, bool):
        raise TypeError(f"{name}() received an invalid combination of arguments - got (Tensor, "
                        f"{type(dim).__name__}), but expected one of:\n * (Tensor input)\n"
                        f" * (Tensor input, Tensor other)\n"
                        f" * (Tensor input, int dim, bool keepdim = False)")


@op_function("max", methods=("max",), reference="torch.max", samples=reduction(),
             dtypes=ALL_REAL, node_names=("MaxBackward1", "MaxBackward0", "MaximumBackward0"))
def max(input, dim=None, keepdim=False):
    """`max(input)`: the largest element; `max(input, dim, keepdim=False)`: a named tuple
    `(values, indices)` along `dim`; `max(input, other)`: the elementwise `maximum`.

    max():    d/da = grad shared evenly by the elements equal to the max
    max(dim): d/da = grad at the returned index of each slice, 0 elsewhere
    """
    if isinstance(dim, Tensor):
        return hypergrad.maximum(input, dim)
    if dim is None:
        return MaxAll.apply(input)
    _check_overload_dim(dim, "max")
    return MaxResult(*MaxDim.apply(input, dim, keepdim))


@op_function("min", methods=("min",), reference="torch.min", samples=reduction(),
             dtypes=ALL_REAL, node_names=("MinBackward1", "MinBackward0", "MinimumBackward0"))
def min(input, dim=None, keepdim=False):
    """`min(input)`: the smallest element; `min(input, dim, keepdim=False)`: a named tuple
    `(values, indices)` along `dim`; `min(input, other)`: the elementwise `minimum`.

    min():    d/da = grad shared evenly by the elements equal to the min
    min(dim): d/da = grad at the returned index of each slice, 0 elsewhere
    """
    if isinstance(dim, Tensor):
        return hypergrad.minimum(input, dim)
    if dim is None:
        return MinAll.apply(input)
    _check_overload_dim(dim, "min")
    return MinResult(*MinDim.apply(input, dim, keepdim))


def _check_empty_reducible(a, dim, name):
    """torch's zero_numel_check_dims, which amax and amin run on an empty input before any
    other check: each dim, in the order and the form (negative or not) it was given, must be
    in range and have non-zero size; the messages print it as given."""
    dims = () if dim is None else (dim,) if isinstance(dim, (int, np.integer)) else tuple(dim)
    _check_nonempty(a, (), name, dim_given=len(dims) > 0)
    for d in dims:
        axis = _normalize_dims(d, a.ndim)[0]
        if a.shape[axis] == 0:
            raise IndexError(f"{name}(): Expected reduction dim {d} to have non-zero size.")


def _amax_forward(ctx, a, dim, keepdim, name, reduce):
    if a.size == 0:
        _check_empty_reducible(a, dim, name)
    axes = _normalize_dims(dim, a.ndim)
    out = np.asarray(reduce(a, axis=axes, keepdims=keepdim))
    ctx.save_for_backward(a, out)
    ctx.axes = axes
    ctx.keepdim = keepdim
    return out


class Amax(Op):
    """Largest elements over `dim` (several dims allowed; all by default); ties share evenly.

    out = amax(a, dim);  d/da = grad / count where a == out, else 0
    """

    name = "amax"
    methods = ("amax",)
    reference = "torch.amax"
    samples = reduction(multi_dim=True)
    dtypes = ALL_REAL

    def forward(ctx, a, dim=(), keepdim=False):
        return _amax_forward(ctx, a, dim, keepdim, "amax", np.max)

    def backward(ctx, grad):
        a, out = ctx.saved_tensors
        mask = _unsqueeze_reduced(out, ctx.axes, ctx.keepdim) == a
        return _scale_grad_by_count(_unsqueeze_reduced(grad, ctx.axes, ctx.keepdim), mask,
                                    ctx.axes)


class Amin(Op):
    """Smallest elements over `dim` (several dims allowed; all by default); ties share evenly.

    out = amin(a, dim);  d/da = grad / count where a == out, else 0
    """

    name = "amin"
    methods = ("amin",)
    reference = "torch.amin"
    samples = reduction(multi_dim=True)
    dtypes = ALL_REAL

    def forward(ctx, a, dim=(), keepdim=False):
        return _amax_forward(ctx, a, dim, keepdim, "amin", np.min)

    backward = Amax.backward      # the same rule: the gradient goes where a equals the result


def _arg_reduce(a, dim, keepdim, name, arg_reduce):
    """The int64 index of the max (min): over the flattened input, or along `dim`."""
    if a.dtype == np.bool_:
        raise RuntimeError(f"{name}(): does not support bool input")
    if dim is None:
        if a.size == 0:
            raise IndexError(f"{name}(): Expected reduction dim to be specified for "
                             "input.numel() == 0.")
        index = np.asarray(arg_reduce(a), dtype=np.int64)
        return index.reshape((1,) * a.ndim) if keepdim else index
    _check_int_dim(dim, name)
    axes = _normalize_dims(dim, a.ndim)
    if not axes:
        return np.zeros((), dtype=np.int64)
    _check_nonempty(a, axes, name, dim_given=True)
    return arg_reduce(a, axis=axes[0], keepdims=keepdim).astype(np.int64, copy=False)


class Argmax(Op):
    """Index of the largest element (of the flattened input, or along `dim`); int64.

    Not differentiable.
    """

    name = "argmax"
    methods = ("argmax",)
    differentiable = False
    reference = "torch.argmax"
    samples = reduction()
    dtypes = ALL_REAL

    def forward(ctx, a, dim=None, keepdim=False):
        return _arg_reduce(a, dim, keepdim, "argmax", np.argmax)


class Argmin(Op):
    """Index of the smallest element (of the flattened input, or along `dim`); int64.

    Not differentiable.
    """

    name = "argmin"
    methods = ("argmin",)
    differentiable = False
    reference = "torch.argmin"
    samples = reduction()
    dtypes = ALL_REAL

    def forward(ctx, a, dim=None, keepdim=False):
        return _arg_reduce(a, dim, keepdim, "argmin", np.argmin)


# ----------------------------------------------------------------------------------------------
# var, std
# ----------------------------------------------------------------------------------------------
def _centered_in_double(a, axes):
    """a - mean(a) over `axes`, in float64, following torch's two CPU algorithms.

    torch accumulates a variance in double. When the result is one number it first takes the
    mean in a's own dtype (then the deviations in double); otherwise it runs Welford's
    algorithm in double, whose mean of equal values is exact. So the variance of equal
    float32 values is exactly 0 along a dim, but may not be over all elements, in both.
    """
    if a.size == _reduced_numel(a.shape, axes):
        mean = np.mean(a, axis=axes, keepdims=True).astype(np.float64)
    else:
        mean = np.mean(a.astype(np.float64), axis=axes, keepdims=True)
    return a.astype(np.float64) - mean


def _var_forward(ctx, a, dim, unbiased, keepdim, correction, name):
    """Shared by var and std: parse torch's overloads, check, and compute the variance
    (in float64, see _centered_in_double)."""
    if isinstance(dim, bool):  # var(input, unbiased)
        dim, unbiased = None, dim
    if unbiased is not None and correction is not None:
        raise TypeError(f"{name}(): pass either `unbiased` or `correction`, not both")
    if a.dtype.kind not in "fc":
        raise RuntimeError("std and var only support floating point and complex dtypes")
    if correction is None:
        correction = 0 if unbiased is False else 1
    axes = _normalize_dims(dim, a.ndim)
    dof = _reduced_numel(a.shape, axes) - correction
    if dof <= 0:
        warnings.warn(f"{name}(): degrees of freedom is <= 0. Correction should be strictly "
                      "less than the reduction factor (input numel divided by output numel).",
                      UserWarning, stacklevel=4)
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"), \
            warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        centered = _centered_in_double(a, axes)
        squares = np.sum(centered * centered, axis=axes, keepdims=keepdim)
        var = squares / builtins.max(dof, 0)
    ctx.axes = axes
    ctx.keepdim = keepdim
    ctx.dof = dof
    ctx.all_dims = dim is None or a.ndim == 0
    return var  # in float64: std takes its square root before rounding to a's dtype


def _var_backward(grad, a, axes, keepdim, dof, all_dims):
    """torch's var_backward: grad * 2 (a - mean) / dof.

    Over all elements with dof <= 0 the gradient is inf, or NaN where a equals its mean;
    over `dim` it is 2 / dof as computed (inf at 0, negative below).
    """
    if all_dims and dof <= 0:
        return grad * hypergrad.where(a == a.mean(), math.nan, math.inf)
    if all_dims:
        return (2.0 / dof) * grad * (a - a.mean())
    scale = 2.0 / dof if dof != 0 else math.inf
    return scale * _unsqueeze_reduced(grad, axes, keepdim) * (a - a.mean(axes, keepdim=True))


def _var_samples(g):
    sample = reduction(multi_dim=True)(g)
    if g.booleans():
        sample.kwargs["correction"] = g.sampled_from([0, 1, 2])
    return sample


class Var(Op):
    """Variance over `dim` (all elements by default) with `correction` (Bessel's: 1).

    out = sum((a - mean(a))**2, dim) / (N - correction);  d/da = grad * 2 (a - mean) / (N - c)
    N - correction <= 0 gives inf or NaN (and a warning), as in torch.
    """

    name = "var"
    methods = ("var",)
    reference = "torch.var"
    samples = _var_samples
    dtypes = FLOATING

    def forward(ctx, a, dim=None, unbiased=None, keepdim=False, *, correction=None):
        var = _var_forward(ctx, a, dim, unbiased, keepdim, correction, "var")
        with np.errstate(over="ignore"):  # a variance beyond a's range rounds to inf
            out = np.asarray(var, dtype=a.dtype)
        ctx.save_for_backward(a)
        return out

    def backward(ctx, grad):
        (a,) = ctx.saved_tensors
        return _var_backward(grad, a, ctx.axes, ctx.keepdim, ctx.dof, ctx.all_dims)


def _std_samples(g):
    """As var's, but with no slice of equal values: there std's gradient is 0 / 0, rounding
    noise in both libraries (see Std), so the values are spread a little."""
    sample = _var_samples(g)
    x = sample.args[0]
    spread = np.linspace(0, 1, x.array.size).reshape(x.array.shape)
    x.array = np.asarray(x.array + spread, dtype=x.array.dtype)
    return sample


class Std(Op):
    """Standard deviation over `dim` (all elements by default), the square root of `var`.

    out = sqrt(var(a, dim));  d/da = var's gradient for grad / (2 out)   (0 where out == 0)
    Near out == 0 the gradient is (a - mean) / (N out): rounding noise over noise. Where the
    two libraries round a mean differently (float summation order, see _centered_in_double)
    one may find exactly 0 and the other not, so the gradients of equal values can differ.
    """

    name = "std"
    methods = ("std",)
    reference = "torch.std"
    samples = _std_samples
    dtypes = FLOATING

    def forward(ctx, a, dim=None, unbiased=None, keepdim=False, *, correction=None):
        var = _var_forward(ctx, a, dim, unbiased, keepdim, correction, "std")
        out = np.asarray(np.sqrt(var), dtype=a.dtype)
        ctx.save_for_backward(a, out)
        return out

    def backward(ctx, grad):
        a, out = ctx.saved_tensors
        grad_var = hypergrad.where(out == 0, 0.0, grad / (out * 2))
        return _var_backward(grad_var, a, ctx.axes, ctx.keepdim, ctx.dof, ctx.all_dims)


# ----------------------------------------------------------------------------------------------
# logsumexp, cumsum
# ----------------------------------------------------------------------------------------------
class Logsumexp(Op):
    """log(sum(exp(input))) over `dim`, computed stably by shifting by the max.

    out = log(sum(exp(a), dim));  d/da = grad * exp(a - out)
    (`dim=()` reduces over every dim; torch 2.13 raises a shape error there.)
    """

    name = "logsumexp"
    methods = ("logsumexp",)
    type_promotion = INT_TO_FLOAT
    reference = "torch.logsumexp"
    samples = reduction(multi_dim=True, allow_no_dim=False)
    dtypes = ALL_REAL

    def forward(ctx, a, dim, keepdim=False):
        axes = _normalize_dims(dim, a.ndim)
        shift = np.max(a, axis=axes, keepdims=True, initial=-np.inf)
        shift = np.where(np.isfinite(shift), shift, 0)  # an all -inf (or inf) slice: no shift
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            out = np.log(np.sum(np.exp(a - shift), axis=axes, keepdims=True)) + shift
        if not keepdim:
            out = out.reshape([s for i, s in enumerate(a.shape) if i not in axes])
        out = np.asarray(out, dtype=a.dtype)
        ctx.save_for_backward(a, out)
        ctx.axes = axes
        ctx.keepdim = keepdim
        return out

    def backward(ctx, grad):
        a, out = ctx.saved_tensors
        out = _unsqueeze_reduced(out, ctx.axes, ctx.keepdim)
        return _unsqueeze_reduced(grad, ctx.axes, ctx.keepdim) * (a - out).exp()


def _reversed_cumsum(grad, axis):
    """sum of grad[k] for k >= j along `axis`, for each j: torch's flip, cumsum, flip. (The
    whole sum minus what precedes would cancel: 1e90 + 1 - 1e90 loses the 1.)"""
    return _Flip.apply(_Flip.apply(grad, (axis,)).cumsum(axis), (axis,))


class Cumsum(Op):
    """Cumulative sum along `dim`; integers and bools give int64.

    out[j] = sum(a[:j+1]);  d/da[j] = sum(grad[j:])   (the reversed cumulative sum)
    """

    name = "cumsum"
    methods = ("cumsum", "cumsum_")
    reference = "torch.cumsum"
    samples = reduction(keepdim=False, allow_no_dim=False)
    dtypes = ALL_REAL

    def forward(ctx, a, dim, *, dtype=None):
        _check_int_dim(dim, "cumsum")
        axes = _normalize_dims(dim, a.ndim)
        ctx.axes = axes
        if not axes:
            return a.astype(_sum_dtype(a, dtype))
        return _accumulated(np.cumsum, a, _sum_dtype(a, dtype), axis=axes[0])

    def backward(ctx, grad):
        if not ctx.axes or grad.shape[ctx.axes[0]] <= 1:
            return grad
        return _reversed_cumsum(grad, ctx.axes[0])


# ----------------------------------------------------------------------------------------------
# norm, linalg.vector_norm
# ----------------------------------------------------------------------------------------------
def _vector_norm_values(x, ord, axes, keepdim):
    """The ord-norm of |a| (`x`) over `axes`."""
    if ord == 0:
        return np.sum(x != 0, axis=axes, keepdims=keepdim).astype(x.dtype)
    if ord == math.inf:
        return np.max(x, axis=axes, keepdims=keepdim)
    if ord == -math.inf:
        return np.min(x, axis=axes, keepdims=keepdim)
    if ord == 1:
        return np.sum(x, axis=axes, keepdims=keepdim)
    if ord == 2:
        return np.sqrt(np.sum(x * x, axis=axes, keepdims=keepdim))
    return np.sum(x ** ord, axis=axes, keepdims=keepdim) ** (1.0 / ord)


def _check_norm_identity(a, ord, dim, axes):
    """The inf norm and negative norms have no identity: an empty reduction is an error."""
    if not (ord < 0 or ord == math.inf):
        return
    if dim is None and a.size == 0:
        raise RuntimeError(f"linalg.vector_norm cannot compute the {ord:g} norm on an empty "
                           "tensor because the operation does not have an identity")
    for axis in axes if dim is not None else ():
        if a.shape[axis] == 0:
            raise RuntimeError(f"linalg.vector_norm cannot compute the {ord:g} norm on the "
                               f"dimension {axis}because this dimension is empty and the "
                               "operation does not have an identity")


def _norm_backward(grad, a, norm, ord, axes):
    """torch's norm_backward; `grad` and `norm` already broadcast against `a`.

    Where the norm is 0 the gradient is 0 (for ord >= 1), as is the gradient of |a|**(ord-1)
    at a == 0 for ord < 1. For ord = +-inf the elements equal to the norm share grad evenly.
    """
    if ord == 1:
        return a.sign() * grad
    if ord == 2:
        return grad * hypergrad.where(norm == 0, 0.0, a / norm)
    if abs(ord) == math.inf:
        abs_a = a.abs()
        mask = (abs_a == norm) | abs_a.isnan()
        return a.sign() * _scale_grad_by_count(grad, mask, axes)
    if ord < 1:
        scaled = a.sign() * hypergrad.where(a == 0, 0.0, a.abs() ** (ord - 1))
        return scaled * grad * norm ** (1 - ord)
    scale = hypergrad.where(norm == 0, 0.0, grad / norm ** (ord - 1))
    if ord < 2:
        return a.sign() * a.abs() ** (ord - 1) * scale
    return a * a.abs() ** (ord - 2) * scale


def _vector_norm_samples(g):
    sample = reduction(multi_dim=True)(g)
    if g.booleans():
        sample.kwargs["ord"] = g.sampled_from([1, 3, 0.5, 1.5, -1, math.inf, -math.inf, 0])
    return sample


class LinalgVectorNorm(Op):
    """The vector `ord`-norm over `dim` (all elements by default), `linalg.vector_norm`.

    out = sum(|a|**ord, dim)**(1/ord)   (max |a| for inf, min |a| for -inf, nonzeros for 0)
    d/da = grad * sign(a) * |a|**(ord-1) / out**(ord-1)   (0 where out == 0; 0 for ord=0)
    """

    name = "linalg.vector_norm"
    reference = "torch.linalg.vector_norm"
    samples = _vector_norm_samples
    dtypes = FLOATING

    def forward(ctx, a, ord=2, dim=None, keepdim=False, *, dtype=None):
        if isinstance(ord, bool) or not isinstance(ord, (int, float)):
            raise TypeError(f"linalg_vector_norm(): argument 'ord' (position 2) must be Number, "
                            f"not {type(ord).__name__}")
        if a.dtype.kind not in "fc":
            raise RuntimeError("linalg.vector_norm: Expected a floating point or complex tensor "
                               f"as input. Got {_type_name(a.dtype)}")
        out_dtype = a.dtype
        if dtype is not None:
            out_dtype = _dtypes.to_dtype(dtype).numpy
            if out_dtype.kind not in "fc":
                raise RuntimeError("linalg.vector_norm: dtype should be floating point or "
                                   f"complex, but got {_type_name(out_dtype)}")
        axes = _normalize_dims(dim, a.ndim)
        _check_norm_identity(a, ord, dim, axes)
        # float16 is accumulated in float32, as torch does (see _accumulated)
        x = np.abs(a.astype(_FLOAT32 if out_dtype == _FLOAT16 else out_dtype, copy=False))
        # One element per slice: torch gives |a| without computing |a|**ord (which could
        # overflow), except for a 0-dim input with an explicit dim.
        if ord != 0 and _reduced_numel(a.shape, axes) == 1 and (a.ndim or dim is None):
            shape = a.shape if keepdim else [s for i, s in enumerate(a.shape) if i not in axes]
            out = np.asarray(x, dtype=out_dtype).reshape(shape)
        else:
            with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
                out = np.asarray(_vector_norm_values(x, ord, axes, keepdim), dtype=out_dtype)
        ctx.save_for_backward(a, out)
        ctx.ord = ord
        ctx.axes = axes
        ctx.keepdim = keepdim
        return out

    def backward(ctx, grad):
        if ctx.ord == 0:
            return None  # torch: the 0-"norm" counts nonzeros and has no gradient
        a, out = ctx.saved_tensors
        grad = _unsqueeze_reduced(grad, ctx.axes, ctx.keepdim)
        out = _unsqueeze_reduced(out, ctx.axes, ctx.keepdim)
        return _norm_backward(grad, a, out, ctx.ord, ctx.axes)


def _norm_samples(g):
    sample = reduction(multi_dim=True)(g)
    if g.booleans():
        sample.kwargs["p"] = g.sampled_from(["fro", 1, 3, 0.5, 1.5, math.inf, -math.inf, 0])
    return sample


@op_function("norm", methods=("norm",), reference="torch.norm", samples=_norm_samples,
             dtypes=FLOATING, node_names=("LinalgVectorNormBackward0",))
def norm(input, p="fro", dim=None, keepdim=False, dtype=None):
    """The p-norm of `input` over `dim` (all elements by default); 'fro' is the 2-norm.

    As torch.norm: a number p (or 'fro' over at most two dims) is `linalg.vector_norm`.
    out = sum(|a|**p, dim)**(1/p);  d/da = grad * sign(a) * |a|**(p-1) / out**(p-1)
    """
    dims = [dim] if isinstance(dim, int) else dim
    if isinstance(p, str):
        if p == "fro" and (dims is None or len(dims) <= 2):
            return LinalgVectorNorm.apply(input, 2, dims, keepdim, dtype=dtype)
        if p not in ("fro", "nuc"):
            raise RuntimeError(f"linalg.matrix_norm: Order {p} not supported.")
        if dims is not None and len(dims) != 2:
            raise RuntimeError("linalg.matrix_norm: dim must be a 2-tuple. Got "
                               + " ".join(str(d) for d in dims))
        raise NotImplementedError("HyperGrad has no linalg.matrix_norm yet, so norm(p='nuc') "
                                  "(the nuclear norm, a sum of singular values) is missing")
    return LinalgVectorNorm.apply(input, 2.0 if p is None else p, dims, keepdim, dtype=dtype)


# ----------------------------------------------------------------------------------------------
# all, any
# ----------------------------------------------------------------------------------------------
def _logical_reduce(a, dim, keepdim, reduce):
    out = reduce(a, axis=_normalize_dims(dim, a.ndim), keepdims=keepdim)
    return out.astype(np.uint8) if a.dtype == np.uint8 else out  # torch keeps uint8


class All(Op):
    """True if every element (over `dim`, or all) is nonzero; bool (uint8 stays uint8).

    Not differentiable.
    """

    name = "all"
    methods = ("all",)
    differentiable = False
    reference = "torch.all"
    samples = reduction(multi_dim=True)
    dtypes = BOOL_AND_REAL

    def forward(ctx, a, dim=None, keepdim=False):
        return _logical_reduce(a, dim, keepdim, np.all)


class Any(Op):
    """True if any element (over `dim`, or all) is nonzero; bool (uint8 stays uint8).

    Not differentiable.
    """

    name = "any"
    methods = ("any",)
    differentiable = False
    reference = "torch.any"
    samples = reduction(multi_dim=True)
    dtypes = BOOL_AND_REAL

    def forward(ctx, a, dim=None, keepdim=False):
        return _logical_reduce(a, dim, keepdim, np.any)


# ----------------------------------------------------------------------------------------------
# sum_to_size (used by the engine to undo broadcasting)
# ----------------------------------------------------------------------------------------------
def _sum_to_size_samples(g):
    """A tensor and a size it broadcasts from (a suffix of its shape, some sizes made 1),
    given as separate ints or as one tuple."""
    shape = g.shape()
    size = tuple(1 if g.booleans() else s for s in shape[g.integers(0, len(shape)):])
    sizes = (size,) if g.booleans() or not size else size
    return Sample((g.tensor(shape),) + sizes)


@op_function("sum_to_size", methods=("sum_to_size",), reference="torch.Tensor.sum_to_size",
             samples=_sum_to_size_samples, dtypes=BOOL_AND_REAL,
             tolerances=ILL_CONDITIONED_SUMS,
             node_names=("SumBackward1", "ViewBackward0", "SumBackward0"),
             error_samples=(
                 ErrorSample(Sample((SampleTensor(np.ones((2, 3)), False), 2)), RuntimeError,
                             r"size {\[2\]} is not expandable to size {\[2, 3\]}."),
                 ErrorSample(Sample((SampleTensor(np.ones(3), False), (2, 3))), RuntimeError,
                             r"size {\[2, 3\]} is not expandable to size {\[3\]}."),
                 ErrorSample(Sample((SampleTensor(np.ones(3), False),)), TypeError,
                             "missing 1 required positional arguments")))
def sum_to_size(input, *size):
    """Sum `input` down to `size`, a shape that broadcasts to input's (the engine uses this).

    Sums over input's leading dims and over every dim where `size` has 1: torch's at::sum_to,
    a composite, as here: a `sum` over those dims with keepdim (SumBackward1), then a `view`
    that drops the leading ones (ViewBackward0); `input` itself if there is nothing to sum;
    the sum of all elements (SumBackward0) for the size ().

    out = sum over the broadcast dims;  d/da = grad expanded back
    """
    if not size:
        raise TypeError('sum_to_size() missing 1 required positional arguments: "size"')
    size = tuple(size[0]) if len(size) == 1 and isinstance(size[0], (tuple, list)) else size
    shape = tuple(input.shape)
    lead = len(shape) - len(size)
    if lead < 0 or any(s != 1 and s != t for s, t in zip(size, shape[lead:])):
        raise RuntimeError(f"size {{{list(size)}}} is not expandable to size {{{list(shape)}}}.")
    if not size:
        return SumAll.apply(input)
    dims = list(range(lead)) + [lead + i for i, s in enumerate(size)
                                if s == 1 and shape[lead + i] != 1]
    result = SumDim.apply(input, dims, True) if dims else input
    return result.view(size) if lead else result


# ----------------------------------------------------------------------------------------------
# flip (for the reversed cumulative sum of cumsum's backward)
# ----------------------------------------------------------------------------------------------
class _Flip(Op):
    """`input` reversed along `dims` (torch.flip), for `_reversed_cumsum`.

    out = flip(a, dims);  d/da = flip(grad, dims)
    """

    node_name = "FlipBackward0"

    def forward(ctx, a, dims):
        ctx.dims = dims
        return np.flip(a, dims).copy()

    def backward(ctx, grad):
        return _Flip.apply(grad, ctx.dims)


# ----------------------------------------------------------------------------------------------
# nansum, nanmean, count_nonzero
# ----------------------------------------------------------------------------------------------
class Nansum(Op):
    """Sum over `dim` (all elements by default) treating NaN as 0; integers give int64.

    out = sum(a where not NaN, dim);  d/da = grad expanded back * (a is not NaN)
    """

    name = "nansum"
    methods = ("nansum",)
    reference = "torch.nansum"
    samples = reduction(multi_dim=True)
    dtypes = BOOL_AND_REAL
    tolerances = ILL_CONDITIONED_SUMS

    def forward(ctx, a, dim=None, keepdim=False, *, dtype=None):
        axes = _normalize_dims(dim, a.ndim)
        ctx.axes = axes
        ctx.keepdim = keepdim
        ctx.save_for_backward(a)
        return np.nansum(a, axis=axes, keepdims=keepdim, dtype=_sum_dtype(a, dtype))

    def backward(ctx, grad):
        (a,) = ctx.saved_tensors
        return _expand_reduced(grad, a.shape, ctx.axes, ctx.keepdim) * a.isnan().logical_not()


def _nanmean_dtype_check(input, dtype):
    if dtype is not None and not _dtypes.to_dtype(dtype).is_floating_point:
        raise RuntimeError("nanmean(): could not infer output dtype. Optional dtype must be "
                           "either a floating point or complex dtype. Got: "
                           f"{_type_name(_dtypes.to_dtype(dtype).numpy)}")
    if not input.dtype.is_floating_point:
        raise RuntimeError("nanmean(): expected input to have floating point or complex dtype "
                           f"but got {_type_name(input.dtype.numpy)}")


@op_function("nanmean", methods=("nanmean",), reference="torch.nanmean",
             samples=reduction(multi_dim=True), dtypes=FLOATING, node_names=("DivBackward0",),
             tolerances=ILL_CONDITIONED_SUMS,
             error_samples=(ErrorSample(Sample((SampleTensor(np.arange(3), False),)),
                                        RuntimeError, "nanmean(): expected input to have "),))
def nanmean(input, dim=None, keepdim=False, *, dtype=None):
    """Mean over `dim` (all elements by default) of the elements that are not NaN (NaN if all
    are); floating dtypes only.

    As torch, nansum divided by the count of non-NaN elements (a DivBackward0 over a
    NansumBackward0): d/da = grad expanded back / count where a is not NaN, else 0
    """
    _nanmean_dtype_check(input, dtype)
    count = input.isnan().logical_not().sum(dim, keepdim)  # int64, no gradient
    return Nansum.apply(input, dim, keepdim, dtype=dtype) / count


class CountNonzero(Op):
    """How many elements are nonzero, over `dim` (an int or a tuple; all by default); int64.

    Not differentiable.
    """

    name = "count_nonzero"
    methods = ("count_nonzero",)
    differentiable = False
    reference = "torch.count_nonzero"
    samples = reduction(multi_dim=True, keepdim=False)
    dtypes = BOOL_AND_REAL

    def forward(ctx, a, dim=None):
        axes = _normalize_dims(dim, a.ndim)
        return np.asarray(np.count_nonzero(a, axis=axes), dtype=np.int64)


# ----------------------------------------------------------------------------------------------
# aminmax
# ----------------------------------------------------------------------------------------------
# torch.return_types.aminmax: the (min, max) named tuple
AminmaxResult = namedtuple("aminmax", ("min", "max"), module="hypergrad.return_types")


class Aminmax(Op):
    """The smallest and the largest elements over `dim` (all elements by default).

    min, max = aminmax(a, dim);  d/da = grad_min and grad_max each shared evenly by the
    elements equal to their result (as amin and amax)
    """

    node_name = "AminmaxBackward0"

    def forward(ctx, a, dim=None, keepdim=False):
        if dim is None:
            if a.size == 0:
                raise RuntimeError("aminmax(): cannot compute aminmax over an empty dimension "
                                   "as the operation has no identity.")
            axes = tuple(range(a.ndim))
        else:
            _check_int_dim(dim, "aminmax", position="")
            axes = _normalize_dims(dim, a.ndim)
            for axis in axes:
                if a.shape[axis] == 0:
                    raise IndexError(f"aminmax: Expected reduction dim {axis} to have non-zero "
                                     "size.")
        low = np.asarray(np.min(a, axis=axes, keepdims=keepdim))
        high = np.asarray(np.max(a, axis=axes, keepdims=keepdim))
        ctx.axes = axes
        ctx.keepdim = keepdim
        ctx.save_for_backward(a, low, high)
        return low, high

    def backward(ctx, grad_min, grad_max):
        a, low, high = ctx.saved_tensors
        axes, keepdim = ctx.axes, ctx.keepdim
        grads = []
        for grad, result in ((grad_min, low), (grad_max, high)):
            mask = _unsqueeze_reduced(result, axes, keepdim) == a
            grads.append(_scale_grad_by_count(_unsqueeze_reduced(grad, axes, keepdim), mask,
                                              axes))
        return grads[0] + grads[1]


@op_function("aminmax", methods=("aminmax",), reference="torch.aminmax",
             samples=reduction(), dtypes=BOOL_AND_REAL, node_names=("AminmaxBackward0",),
             error_samples=(ErrorSample(Sample((SampleTensor(np.zeros(0), False),)),
                                        RuntimeError, "cannot compute aminmax over an empty"),
                            ErrorSample(Sample((SampleTensor(np.zeros((0, 2)), False),),
                                               {"dim": 0}),
                                        IndexError, "to have non-zero size")))
def aminmax(input, *, dim=None, keepdim=False):
    """The smallest and the largest elements over `dim` (all elements by default): a named
    tuple `(min, max)`; ties share each gradient evenly, as amin and amax.

    min, max = aminmax(a, dim);  d/da = grad_min / count where a == min, plus the same for max
    """
    return AminmaxResult(*Aminmax.apply(input, dim, keepdim))


# ----------------------------------------------------------------------------------------------
# var_mean, std_mean
# ----------------------------------------------------------------------------------------------
def _welford(rows):
    """Mean and sum of squared deviations of each row, by Welford's update element by element
    (torch's WelfordOps, in double). Its arithmetic differs from two passes only where a row
    holds inf or NaN: an inf followed by any element gives a NaN mean."""
    mean = np.zeros(rows.shape[:-1])
    m2 = np.zeros(rows.shape[:-1])
    for count in range(1, rows.shape[-1] + 1):
        x = rows[..., count - 1]
        delta = x - mean
        mean = mean + delta / count
        m2 = m2 + delta * (x - mean)
    return mean, m2


_WELFORD_LIMIT = 4096  # longer reductions take two passes (torch splits those across threads)


def _var_mean_forward(ctx, a, dim, unbiased, keepdim, correction, name):
    """The variance and the mean as torch's var_mean kernel computes them: Welford's
    algorithm in double, one element after the other in memory order (`var` alone takes the
    mean in a's own dtype when it reduces every element, see _centered_in_double).

    Beyond _WELFORD_LIMIT elements per result two passes in double are used, the mean
    corrected once by the mean of the deviations, so that equal values still have exactly
    their value as mean and 0 as variance; rows with inf or NaN always run Welford's steps."""
    if a.dtype.kind not in "fc":
        raise RuntimeError(f"{name} only support floating point and complex dtypes")
    _var_forward(ctx, a, dim, unbiased, keepdim, correction, name)  # parse, check and warn
    axes = ctx.axes
    kept = [i for i in range(a.ndim) if i not in axes]
    rows = np.transpose(a, kept + list(axes)).astype(np.float64).reshape(
        [a.shape[i] for i in kept] + [_reduced_numel(a.shape, axes)])
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"), \
            warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # the mean of nothing is NaN
        if rows.shape[-1] <= _WELFORD_LIMIT:
            mean, m2 = _welford(rows)
        else:
            mean = np.asarray(np.mean(rows, axis=-1))
            mean = np.asarray(mean + np.mean(rows - mean[..., None], axis=-1))
            centered = rows - mean[..., None]
            m2 = np.asarray(np.sum(centered * centered, axis=-1))
            finite = np.isfinite(rows).all(axis=-1)
            if not finite.all():
                mean[~finite], m2[~finite] = _welford(rows[~finite])
        var = m2 / builtins.max(ctx.dof, 0)
        if rows.shape[-1] == 0:  # torch fills both with NaN
            mean = np.full_like(mean, np.nan)
            var = np.full_like(var, np.nan)
    shape = [1 if i in axes else s for i, s in enumerate(a.shape)] if keepdim else \
        [a.shape[i] for i in kept]
    return np.reshape(var, shape), np.reshape(mean, shape)


def _mean_backward(grad, a, axes, keepdim):
    """torch's mean_backward: grad expanded back over the reduced dims / their count."""
    return _expand_reduced(grad, a.shape, axes, keepdim) / _reduced_numel(a.shape, axes)


class VarMean(Op):
    """The variance (with `correction`) and the mean over `dim`, in one pass.

    var, mean = var_mean(a, dim);  d/da = var's gradient for grad_var + mean's for grad_mean
    """

    node_name = "VarMeanBackward0"

    def forward(ctx, a, dim=None, unbiased=None, keepdim=False, *, correction=None):
        var, mean = _var_mean_forward(ctx, a, dim, unbiased, keepdim, correction, "var_mean")
        with np.errstate(over="ignore"):
            var = np.asarray(var, dtype=a.dtype)
        ctx.save_for_backward(a)
        return var, np.asarray(mean, dtype=a.dtype)

    def backward(ctx, grad_var, grad_mean):
        (a,) = ctx.saved_tensors
        return (_var_backward(grad_var, a, ctx.axes, ctx.keepdim, ctx.dof, ctx.all_dims)
                + _mean_backward(grad_mean, a, ctx.axes, ctx.keepdim))


class StdMean(Op):
    """The standard deviation (with `correction`) and the mean over `dim`, in one pass.

    std, mean = std_mean(a, dim);  d/da = std's gradient for grad_std + mean's for grad_mean
    """

    node_name = "StdMeanBackward0"

    def forward(ctx, a, dim=None, unbiased=None, keepdim=False, *, correction=None):
        var, mean = _var_mean_forward(ctx, a, dim, unbiased, keepdim, correction, "std_mean")
        std = np.asarray(np.sqrt(var), dtype=a.dtype)
        ctx.save_for_backward(a, std)
        return std, np.asarray(mean, dtype=a.dtype)

    def backward(ctx, grad_std, grad_mean):
        a, std = ctx.saved_tensors
        grad_var = hypergrad.where(std == 0, 0.0, grad_std / (std * 2))
        return (_var_backward(grad_var, a, ctx.axes, ctx.keepdim, ctx.dof, ctx.all_dims)
                + _mean_backward(grad_mean, a, ctx.axes, ctx.keepdim))


@op_function("var_mean", reference="torch.var_mean", samples=_var_samples, dtypes=FLOATING,
             node_names=("VarMeanBackward0",), tolerances=ILL_CONDITIONED_SUMS,
             error_samples=(ErrorSample(Sample((SampleTensor(np.arange(3), False),)),
                                        RuntimeError, "var_mean only support floating point"),))
def var_mean(input, dim=None, unbiased=None, keepdim=False, *, correction=None):
    """The variance over `dim` (all elements by default) with `correction` (Bessel's, 1, by
    default; or `unbiased`), and the mean: a tuple `(var, mean)`.

    var, mean = var_mean(a, dim);  d/da = grad_var * 2 (a - mean) / (N - correction)
                                          + grad_mean / N
    """
    return VarMean.apply(input, dim, unbiased, keepdim, correction=correction)


@op_function("std_mean", reference="torch.std_mean", samples=_std_samples, dtypes=FLOATING,
             node_names=("StdMeanBackward0",), tolerances=ILL_CONDITIONED_SUMS,
             error_samples=(ErrorSample(Sample((SampleTensor(np.arange(3), False),)),
                                        RuntimeError, "std_mean only support floating point"),))
def std_mean(input, dim=None, unbiased=None, keepdim=False, *, correction=None):
    """The standard deviation over `dim` (all elements by default) with `correction`, and the
    mean: a tuple `(std, mean)`.

    std, mean = std_mean(a, dim);  d/da = grad_std * (a - mean) / ((N - correction) std)
                                          + grad_mean / N   (std's part 0 where std == 0)
    """
    return StdMean.apply(input, dim, unbiased, keepdim, correction=correction)
