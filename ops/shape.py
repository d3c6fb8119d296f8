"""Shape and layout: view, reshape, flatten, transpose, permute, squeeze, expand, cat, stack,
split, chunk, unbind, select, narrow, and indexing (`x[0, 1:3, None, ...]`, `x[[0, 2]]`,
`x[mask]`).

Most ops here are *views*: their output shares memory with the input (numpy views do), so
they share its version counter (`is_view = True`, see Note [Views]). The backward of a view
op undoes the shape change on the gradient.

Note [Views]
    A view is a second tensor over the same memory: `x.view(2, 6)`, `x.t()`, `x[0]`. Writing
    through one is seen through the other, so an in-place op on a view bumps the version
    counter it shares with its base, and a tensor saved for backward through either is
    checked against that counter. The machinery shares the counter for every op marked
    `is_view`; the ops only have to return numpy views, never copies.

Note [When a view is possible]
    A view changes a tensor's shape and strides, never its memory. `x.t().view(12)` is
    impossible: the elements of `x.t()` are not in row-major order in memory. `_view_strides`
    decides as torch's `computeStride` does. `reshape` follows torch: a contiguous input is
    viewed (ViewBackward0), a non-contiguous one is viewed when its memory allows
    (`_reshape_alias`, ReshapeAliasBackward0) and copied otherwise (`clone`, then
    `_unsafe_view` of the copy: UnsafeViewBackward0).

Note [Indexing is a chain of view ops]
    `x[0, 1:3, None]` is not one op: like torch's `applySlicing`, `__getitem__` walks the index
    from left to right and applies `select` for an integer, a slice for a slice, `unsqueeze`
    for None, and skips `...` (and full slices `:`), so the graph holds SelectBackward0,
    SliceBackward0 and UnsqueezeBackward0 nodes. An index that changes nothing gives an alias
    (AliasBackward0). The backward of `select` and of a slice put the gradient into zeros of
    the input's shape; they are ops too (SelectBackwardBackward0, SliceBackwardBackward0), so
    a second derivative flows back through them.

Note [Advanced indexing]
    Lists, arrays and integer or bool tensors in an index pick elements by position, so the
    result is a copy, not a view. As in torch, the basic items (integers, slices, None) are
    applied first, as views; then one `Index` op takes all the index arrays together, with
    numpy's rule for where their dims go (in place if the indexed dims are adjacent, first
    otherwise). A bool mask stands for the positions of its True elements. The backward adds
    the gradient into zeros at the same positions (`np.add.at`), so an element picked twice
    receives both gradients; that op's own backward is the same indexing again, so second
    derivatives work.

Note [Multi-output ops: split, chunk, unbind]
    `split` returns several views and one node. When only some outputs are used, the others
    receive no gradient; the machinery gives the node zeros for them (torch materializes them
    too), so the backward is simply `cat(grads)` (`stack(grads)` for unbind).
"""

from __future__ import annotations

import itertools
import operator

import numpy as np

from hypergrad import dtypes as _dtypes
from hypergrad.conformance.domains import (ALL_REAL, BOOL_AND_REAL, ErrorSample, Sample,
                                          SampleTensor, unary)
from hypergrad.creation import zeros
from hypergrad.plugins import DEFAULT, Op, op_function
from hypergrad.tensor import Tensor, _wrap_dim


def _raises(error_type, match, *args, **kwargs):
    """An ErrorSample: these arguments must raise `error_type` as in torch (numpy arrays,
    also inside lists, become tensors)."""
    def convert(value):
        if isinstance(value, np.ndarray):
            return SampleTensor(value, False)
        if isinstance(value, list):
            return [convert(v) for v in value]
        return value

    return ErrorSample(Sample(tuple(convert(a) for a in args), kwargs), error_type, match)


_M = np.zeros((3, 4))   # the matrix most error samples misuse


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


class Alias(Op):
    """A second tensor over the same memory (what `x[...]` and `x[:, :]` return).

    out = a;  d/da = grad
    """

    node_name = "AliasBackward0"
    is_view = True

    def forward(ctx, a):
        return a.view()

    def backward(ctx, grad):
        return grad


# ----------------------------------------------------------------------------------------------
# view, reshape, flatten
# ----------------------------------------------------------------------------------------------
def _shape_arg(shape, function, parameter):
    """`f(2, 3)` and `f((2, 3))` both mean the shape (2, 3); `f()` is torch's TypeError."""
    if not shape:
        raise TypeError(f'{function}() missing 1 required positional arguments: "{parameter}"')
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        return tuple(shape[0])
    return tuple(shape)


def _infer_shape(shape, numel):
    """Resolve one -1 in `shape` and check the element count, with torch's messages."""
    inferred = None
    known = 1
    for i, s in enumerate(shape):
        if s == -1:
            if inferred is not None:
                raise RuntimeError("only one dimension can be inferred")
            inferred = i
        elif s < 0:
            raise RuntimeError(f"invalid shape dimension {s} at index {i} of shape {list(shape)}")
        else:
            known *= s
    if inferred is None:
        if known != numel:
            raise RuntimeError(f"shape '{list(shape)}' is invalid for input of size {numel}")
        return shape
    if known == 0:
        if numel == 0:
            raise RuntimeError(
                f"cannot reshape tensor of 0 elements into shape {list(shape)} because the "
                "unspecified dimension size -1 can be any value and is ambiguous")
        raise RuntimeError(f"shape '{list(shape)}' is invalid for input of size {numel}")
    if numel % known:
        raise RuntimeError(f"shape '{list(shape)}' is invalid for input of size {numel}")
    return shape[:inferred] + (numel // known,) + shape[inferred + 1:]


def _view_strides(shape, strides, new_shape):
    """Byte strides that show the same memory in `new_shape`, or None (torch's computeStride).

    See Note [When a view is possible]. Walk the old dims from the last: consecutive dims whose
    strides chain (`stride[d-1] == stride[d] * size[d]`) form one contiguous chunk. Every chunk
    must be matched, from the right, by a run of new dims holding the same number of elements;
    the new dims then get strides inside that chunk. Size-1 dims fit anywhere.
    Only called for non-contiguous arrays, which have at least two elements (numpy, like
    torch, calls every array of at most one element contiguous).
    """
    new_strides = [0] * len(new_shape)
    view_d = len(new_shape) - 1
    chunk_base = strides[-1]
    chunk_numel = view_numel = 1
    for d in range(len(shape) - 1, -1, -1):
        chunk_numel *= shape[d]
        chunk_ends = d == 0 or (shape[d - 1] != 1 and strides[d - 1] != chunk_numel * chunk_base)
        if not chunk_ends:
            continue
        while view_d >= 0 and (view_numel < chunk_numel or new_shape[view_d] == 1):
            new_strides[view_d] = view_numel * chunk_base
            view_numel *= new_shape[view_d]
            view_d -= 1
        if view_numel != chunk_numel:
            return None
        if d > 0:
            chunk_base = strides[d - 1]
            chunk_numel = view_numel = 1
    return tuple(new_strides) if view_d == -1 else None


def _view_array(a, shape):
    """`a` seen with `shape` without copying, or None when its memory layout does not allow."""
    if a.shape == shape:
        return a.view()
    if a.flags.c_contiguous:
        return a.reshape(shape)
    strides = _view_strides(a.shape, a.strides, shape)
    if strides is None:
        return None
    return np.lib.stride_tricks.as_strided(a, shape, strides, writeable=a.flags.writeable)


_VIEW_ERROR = ("view size is not compatible with input tensor's size and stride (at least one "
               "dimension spans across two contiguous subspaces). Use .reshape(...) instead.")


def _view_shape(a, shape):
    if not shape:
        raise TypeError("view() received an invalid combination of arguments - got (), but "
                        "expected one of:\n * (torch.dtype dtype)\n * (tuple of ints size)\n")
    if len(shape) == 1 and isinstance(shape[0], _dtypes.dtype):
        raise NotImplementedError("HyperGrad does not support view(dtype), which reinterprets "
                                  "the bytes of a tensor; use .to(dtype) to convert values")
    return _infer_shape(_shape_arg(shape, "view", "size"), a.size)


def _reshape_samples(g):
    shape = g.shape()
    size = int(np.prod(shape))
    options = [(size,), (-1,), (1, size), (size, 1), tuple(reversed(shape)) or ()]
    return Sample((g.tensor(shape), g.sampled_from(options)))


class View(Op):
    """`input` with a new shape over the same memory; an error when the layout does not allow.

    out = a.view(shape);  d/da = grad.reshape(a.shape)
    """

    name = "view"
    methods = ("view",)
    is_view = True
    node_name = "ViewBackward0"
    reference = "torch.Tensor.view"
    samples = _reshape_samples
    dtypes = BOOL_AND_REAL
    error_samples = (_raises(RuntimeError, "shape '[5]' is invalid for input of size 12",
                             _M, 5),
                     _raises(RuntimeError, "only one dimension can be inferred", _M, -1, -1))

    def forward(ctx, a, *shape, size=None):
        shape = _view_shape(a, shape if size is None else (size,))
        out = _view_array(a, shape)
        if out is None:
            raise RuntimeError(_VIEW_ERROR)
        ctx.input_shape = a.shape
        return out

    def backward(ctx, grad):
        return grad.reshape(ctx.input_shape)


class ReshapeAlias(Op):
    """The view `reshape` returns for a non-contiguous input whose memory allows one.

    out = a.reshape(shape);  d/da = grad.reshape(a.shape)
    """

    node_name = "ReshapeAliasBackward0"
    is_view = True

    def forward(ctx, a, shape):
        ctx.input_shape = a.shape
        return _view_array(a, shape)

    def backward(ctx, grad):
        return grad.reshape(ctx.input_shape)


class UnsafeView(Op):
    """The reshape of a fresh copy (what `reshape` does when no view is possible).

    out = a.reshape(shape);  d/da = grad.reshape(a.shape)
    """

    node_name = "UnsafeViewBackward0"

    def forward(ctx, a, shape):
        ctx.input_shape = a.shape
        return a.reshape(shape)

    def backward(ctx, grad):
        return grad.reshape(ctx.input_shape)


@op_function("reshape", methods=("reshape",), reference="torch.reshape",
             samples=_reshape_samples, dtypes=BOOL_AND_REAL,
             node_names=("ViewBackward0", "ReshapeAliasBackward0", "UnsafeViewBackward0"),
             error_samples=(_raises(RuntimeError, "only one dimension can be inferred", _M,
                                    (-1, -1)),))
def reshape(input, *shape):
    """`input` with a new shape and the same elements: a view when the memory allows, else a
    copy (see Note [When a view is possible]).

    out = a.reshape(shape);  d/da = grad.reshape(a.shape)
    """
    data = input._data
    shape = _infer_shape(_shape_arg(shape, "reshape", "shape"), data.size)
    if data.flags.c_contiguous:
        return View.apply(input, shape)
    if _view_strides(data.shape, data.strides, shape) is not None:
        return ReshapeAlias.apply(input, shape)
    return UnsafeView.apply(Clone.apply(input), shape)


def _flatten_samples(g):
    shape = g.shape(max_dims=4)
    ndim = max(len(shape), 1)
    start = g.integers(-ndim, ndim - 1)
    end = g.integers(start % ndim, ndim - 1)
    return Sample((g.tensor(shape),), {"start_dim": start, "end_dim": end})


@op_function("flatten", methods=("flatten",), reference="torch.flatten",
             samples=_flatten_samples, dtypes=BOOL_AND_REAL,
             node_names=("ViewBackward0", "ReshapeAliasBackward0", "UnsafeViewBackward0"),
             error_samples=(_raises(RuntimeError, "start_dim cannot come after end_dim", _M,
                                    1, 0),))
def flatten(input, start_dim=0, end_dim=-1):
    """`input` with dims `start_dim..end_dim` merged into one; `input` itself if that is one dim.

    out = a.reshape(merged shape);  d/da = grad.reshape(a.shape)
    """
    shape = input.shape
    start = _wrap_dim(start_dim, len(shape))
    end = _wrap_dim(end_dim, len(shape))
    if start > end:
        raise RuntimeError("flatten() has invalid args: start_dim cannot come after end_dim")
    if not shape:
        return reshape(input, 1)
    if start == end:
        return input
    merged = int(np.prod(shape[start:end + 1], dtype=np.int64))
    return reshape(input, shape[:start] + (merged,) + shape[end + 1:])


@op_function("contiguous", methods=("contiguous",), reference="torch.Tensor.contiguous",
             samples=unary(), dtypes=BOOL_AND_REAL, node_names=("CloneBackward0",))
def contiguous(input, memory_format=None):
    """`input` itself if its memory is in row-major order, else a row-major copy.

    out = a;  d/da = grad
    """
    if input._data.flags.c_contiguous:
        return input
    return Clone.apply(input)


# ----------------------------------------------------------------------------------------------
# expand
# ----------------------------------------------------------------------------------------------
def _expand_samples(g):
    shape = g.shape(max_dims=2)
    target = tuple(g.integers(1, 3) for _ in range(g.integers(0, 1))) + tuple(
        g.integers(1, 3) if s == 1 else g.sampled_from([s, -1]) for s in shape)
    return Sample((g.tensor(shape), target))


def _expanded_shape(a, size):
    """The shape `a.expand(size)` has, with torch's messages when it cannot be expanded."""
    lead = len(size) - a.ndim
    if lead < 0:
        raise RuntimeError(
            f"expand(torch.{_dtypes.from_numpy_dtype(a.dtype)._tensor_type}{{{list(a.shape)}}}, "
            f"size={list(size)}): the number of sizes provided ({len(size)}) must be greater or "
            f"equal to the number of dimensions in the tensor ({a.ndim})")
    target = []
    for i, s in enumerate(size):
        if i < lead:
            if s < 0:
                raise RuntimeError(f"The expanded size of the tensor ({s}) isn't allowed in a "
                                   f"leading, non-existing dimension {i}")
            target.append(s)
            continue
        existing = a.shape[i - lead]
        if s == -1:
            s = existing
        elif existing != s and existing != 1:
            raise RuntimeError(
                f"The expanded size of the tensor ({s}) must match the existing size "
                f"({existing}) at non-singleton dimension {i}.  Target sizes: {list(size)}.  "
                f"Tensor sizes: {list(a.shape)}")
        target.append(s)
    return tuple(target)


class Expand(Op):
    """A view of `input` broadcast to `size` (-1 keeps a dimension).

    out = broadcast_to(a, size);  d/da = grad summed back to a's shape
    """

    name = "expand"
    methods = ("expand",)
    is_view = True
    reference = "torch.Tensor.expand"
    samples = _expand_samples
    dtypes = BOOL_AND_REAL
    error_samples = (_raises(RuntimeError, "must match the existing size (4) at "
                             "non-singleton dimension 1", _M, 3, 5),
                     _raises(RuntimeError, "the number of sizes provided (1)", _M, 4))

    def forward(ctx, a, *size):
        target = _expanded_shape(a, _shape_arg(size, "expand", "size"))
        ctx.input_shape = a.shape
        return np.broadcast_to(a, target)

    def backward(ctx, grad):
        return grad.sum_to_size(ctx.input_shape)


def _expand_as_samples(g):
    shape = g.shape(max_dims=2)
    target = tuple(g.integers(1, 3) for _ in range(g.integers(0, 1))) + tuple(
        g.integers(1, 3) if s == 1 else s for s in shape)
    return Sample((g.tensor(shape), g.tensor(target, requires_grad=False)))


@op_function("expand_as", methods=("expand_as",), reference="torch.Tensor.expand_as",
             samples=_expand_as_samples, dtypes=BOOL_AND_REAL, node_names=("ExpandBackward0",),
             error_samples=(_raises(RuntimeError, "must match the existing size", _M,
                                    np.zeros((3, 5))),))
def expand_as(input, other):
    """`input` expanded to the shape of `other` (a view).

    out = broadcast_to(a, other.shape);  d/da = grad summed back to a's shape
    """
    return Expand.apply(input, other.shape)


@op_function("broadcast_to", methods=("broadcast_to",), reference="torch.broadcast_to",
             samples=_expand_samples, dtypes=BOOL_AND_REAL, node_names=("ExpandBackward0",),
             error_samples=(_raises(RuntimeError, "must match the existing size", _M,
                                    (3, 5)),))
def broadcast_to(input, *size):
    """`input` broadcast to `size` (a view; -1 keeps a dimension): `expand` by another name.

    out = broadcast_to(a, size);  d/da = grad summed back to a's shape
    """
    return Expand.apply(input, _shape_arg(size, "broadcast_to", "size"))


# ----------------------------------------------------------------------------------------------
# transpose, t, permute
# ----------------------------------------------------------------------------------------------
def _transpose_samples(g):
    shape = g.shape(max_dims=4)
    return Sample((g.tensor(shape), g.dim(len(shape)), g.dim(len(shape))))


class Transpose(Op):
    """A view of `input` with dims `dim0` and `dim1` swapped.

    out = a.transpose(d0, d1);  d/da = grad.transpose(d0, d1)
    """

    name = "transpose"
    aliases = ("swapdims",)
    methods = ("transpose", "swapdims")
    is_view = True
    reference = "torch.transpose"
    samples = _transpose_samples
    dtypes = BOOL_AND_REAL
    error_samples = (_raises(IndexError, "Dimension out of range", _M, 0, 2),)

    def forward(ctx, a, dim0, dim1):
        ctx.dim0 = _wrap_dim(dim0, a.ndim)
        ctx.dim1 = _wrap_dim(dim1, a.ndim)
        if a.ndim == 0:
            return a.view()
        return np.swapaxes(a, ctx.dim0, ctx.dim1)

    def backward(ctx, grad):
        return grad.transpose(ctx.dim0, ctx.dim1)


@op_function("swapaxes", methods=("swapaxes",), reference="torch.swapaxes",
             samples=_transpose_samples, dtypes=BOOL_AND_REAL, node_names=("TransposeBackward0",),
             error_samples=(_raises(IndexError, "Dimension out of range", _M, 0, 2),))
def swapaxes(input, axis0, axis1):
    """`transpose` with numpy's argument names.

    out = a.transpose(d0, d1);  d/da = grad.transpose(d0, d1)
    """
    return Transpose.apply(input, axis0, axis1)


class T(Op):
    """The transpose of a matrix (`x.t()`); a vector or a number is returned as is (a view).

    out = a.t();  d/da = grad.t()
    """

    name = "t"
    methods = ("t",)
    is_view = True
    node_name = "TBackward0"
    reference = "torch.t"
    samples = unary(max_dims=2)
    dtypes = BOOL_AND_REAL
    error_samples = (_raises(RuntimeError, "t() expects a tensor with <= 2 dimensions, but "
                             "self is 3D", np.zeros((2, 3, 4))),)

    def forward(ctx, a):
        if a.ndim > 2:
            raise RuntimeError(f"t() expects a tensor with <= 2 dimensions, but self is "
                               f"{a.ndim}D")
        return a.T

    def backward(ctx, grad):
        return grad.t()


def _permute_samples(g):
    shape = g.shape(max_dims=3)
    dims = g.sampled_from(list(itertools.permutations(range(len(shape)))))
    return Sample((g.tensor(shape), tuple(d - len(shape) if g.booleans() else d for d in dims)))


class Permute(Op):
    """A view of `input` with its dims reordered: out's dim i is input's dim `dims[i]`.

    out = a.permute(dims);  d/da = grad.permute(inverse of dims)
    """

    name = "permute"
    methods = ("permute",)
    is_view = True
    reference = "torch.permute"
    samples = _permute_samples
    dtypes = BOOL_AND_REAL
    error_samples = (_raises(RuntimeError, "duplicate dims are not allowed", _M, (0, 0)),
                     _raises(RuntimeError, "input.dim() = 2 is not equal to len(dims) = 1",
                             _M, (0,)))

    def forward(ctx, a, *dims_args, dims=None):
        dims = _shape_arg(dims_args, "permute", "dims") if dims is None else tuple(dims)
        if len(dims) != a.ndim:
            raise RuntimeError(
                "permute(sparse_coo): number of dimensions in the tensor input does not match the "
                "length of the desired ordering of dimensions i.e. input.dim() = "
                f"{a.ndim} is not equal to len(dims) = {len(dims)}")
        dims = tuple(_wrap_dim(d, a.ndim) for d in dims)
        if len(set(dims)) != len(dims):
            raise RuntimeError("permute(): duplicate dims are not allowed.")
        ctx.inverse = tuple(int(i) for i in np.argsort(dims))
        return np.transpose(a, dims) if dims else a.view()

    def backward(ctx, grad):
        return grad.permute(ctx.inverse)


# ----------------------------------------------------------------------------------------------
# squeeze, unsqueeze
# ----------------------------------------------------------------------------------------------
def _normalize_dim_list(dims, ndim):
    """`dims` wrapped to [0, ndim), with torch's error for a repeated dim."""
    out = []
    for d in dims:
        d = _wrap_dim(d, ndim)
        if d in out:
            raise RuntimeError(f"dim {d} appears multiple times in the list of dims")
        out.append(d)
    return out


def _unsqueeze_dims(grad, dims):
    """Re-insert the size-1 dims `dims` (positions in the unsqueezed result, any order)."""
    for d in sorted(dims):
        grad = grad.unsqueeze(d)
    return grad


class SqueezeAll(Op):
    """A view of `input` without its size-1 dims (`x.squeeze()`).

    out = a.squeeze();  d/da = grad with the removed dims re-inserted
    """

    node_name = "SqueezeBackward0"
    is_view = True

    def forward(ctx, a):
        ctx.dims = [d for d, size in enumerate(a.shape) if size == 1]
        return np.squeeze(a, axis=tuple(ctx.dims)).view()

    def backward(ctx, grad):
        return _unsqueeze_dims(grad, ctx.dims)


class SqueezeDim(Op):
    """A view of `input` without dim `dim` if it has size 1 (`x.squeeze(dim)`).

    out = a.squeeze(dim);  d/da = grad.unsqueeze(dim)   (grad if nothing was removed)
    """

    node_name = "SqueezeBackward1"
    is_view = True

    def forward(ctx, a, dim):
        dim = _wrap_dim(dim, a.ndim)
        ctx.dims = [dim] if a.ndim and a.shape[dim] == 1 else []
        return np.squeeze(a, axis=tuple(ctx.dims)).view()

    def backward(ctx, grad):
        return _unsqueeze_dims(grad, ctx.dims)


class SqueezeDims(Op):
    """A view of `input` without those of `dims` that have size 1 (`x.squeeze((0, 2))`).

    out = a.squeeze(dims);  d/da = grad with the removed dims re-inserted
    """

    node_name = "SqueezeBackward2"
    is_view = True

    def forward(ctx, a, dims):
        dims = _normalize_dim_list(dims, a.ndim)
        ctx.dims = [d for d in dims if a.ndim and a.shape[d] == 1]
        return np.squeeze(a, axis=tuple(ctx.dims)).view()

    def backward(ctx, grad):
        return _unsqueeze_dims(grad, ctx.dims)


def _squeeze_samples(g):
    shape = g.shape(max_dims=4, max_side=2)
    ndim = len(shape)
    kind = g.sampled_from(["all", "int", "tuple"])
    if kind == "all":
        return Sample((g.tensor(shape),))
    if kind == "int":
        return Sample((g.tensor(shape), g.dim(ndim)))
    dims = sorted({g.dim(ndim) % max(ndim, 1) for _ in range(g.integers(0, 3))})
    return Sample((g.tensor(shape), tuple(dims)))


@op_function("squeeze", methods=("squeeze",), reference="torch.squeeze",
             samples=_squeeze_samples, dtypes=BOOL_AND_REAL,
             node_names=("SqueezeBackward0", "SqueezeBackward1", "SqueezeBackward2"),
             error_samples=(_raises(RuntimeError, "dim 0 appears multiple times in the list of "
                                    "dims", np.zeros((1, 3, 1)), (0, -3)),))
def squeeze(input, dim=None):
    """A view of `input` without size-1 dims: all of them, or those among `dim` (int or tuple).

    out = a.squeeze(dim);  d/da = grad with the removed dims re-inserted
    """
    if dim is None:
        return SqueezeAll.apply(input)
    if isinstance(dim, (tuple, list)):
        return SqueezeDims.apply(input, dim)
    return SqueezeDim.apply(input, dim)


def _unsqueeze_samples(g):
    shape = g.shape(max_dims=3)
    return Sample((g.tensor(shape), g.integers(-len(shape) - 1, len(shape))))


class Unsqueeze(Op):
    """A view of `input` with a size-1 dim inserted at `dim`.

    out = a.unsqueeze(dim);  d/da = grad.squeeze(dim)
    """

    name = "unsqueeze"
    methods = ("unsqueeze",)
    is_view = True
    reference = "torch.unsqueeze"
    samples = _unsqueeze_samples
    dtypes = BOOL_AND_REAL
    error_samples = (_raises(IndexError, "Dimension out of range", _M, 3),)

    def forward(ctx, a, dim):
        ctx.dim = _wrap_dim(dim, a.ndim + 1)
        return np.expand_dims(a, ctx.dim)

    def backward(ctx, grad):
        return grad.squeeze(ctx.dim)


# ----------------------------------------------------------------------------------------------
# cat, stack
# ----------------------------------------------------------------------------------------------
def _check_tensor_list(arrays):
    for i, a in enumerate(arrays):
        if type(a) is not np.ndarray:
            raise TypeError(f"expected Tensor as element {i} in argument 0, but got "
                            f"{type(a).__name__}")


def _is_legacy_empty(a):
    """torch.cat skips 1-D empty tensors, whatever the others' shape (a legacy rule)."""
    return a.ndim == 1 and a.shape[0] == 0


def _cat_samples(g):
    shape = list(g.shape(min_dims=1, max_dims=3))
    dim = g.dim(len(shape))
    tensors = []
    for _ in range(g.integers(1, 3)):
        shape[dim] = g.integers(0, 3)
        tensors.append(g.tensor(tuple(shape)))
    return Sample((tensors,), {"dim": dim})


class Cat(Op):
    """The tensors joined along an existing dim `dim`; dtypes promote as in `a + b`.

    out = cat(tensors, dim);  d/dtensors[i] = the slice of grad that tensors[i] filled
    """

    name = "cat"
    aliases = ("concat", "concatenate")
    variadic = True
    type_promotion = DEFAULT
    reference = "torch.cat"
    samples = _cat_samples
    dtypes = BOOL_AND_REAL
    error_samples = (
        _raises(RuntimeError, "Sizes of tensors must match except in dimension 0. Expected size "
                "4 but got size 5 for tensor number 1 in the list.", [_M, np.zeros((2, 5))]),
        _raises(RuntimeError, "zero-dimensional tensor (at position 0) cannot be "
                "concatenated", [np.zeros(()), _M]))

    def forward(ctx, tensors, dim=0, *, axis=None):
        if not tensors:
            raise ValueError("torch.cat(): expected a non-empty list of Tensors")
        _check_tensor_list(tensors)
        for i, a in enumerate(tensors):
            if a.ndim == 0:
                raise RuntimeError(f"zero-dimensional tensor (at position {i}) cannot be "
                                   "concatenated")
        joined = [(i, a) for i, a in enumerate(tensors) if not _is_legacy_empty(a)]
        ctx.dim = 0
        ctx.sizes = [None] * len(tensors)
        if not joined:
            return np.empty((0,), tensors[0].dtype)
        first = joined[0][1]
        dim = _wrap_dim(dim if axis is None else axis, first.ndim)
        for i, a in joined:
            if a.ndim != first.ndim:
                raise RuntimeError(f"Tensors must have same number of dimensions: got "
                                   f"{first.ndim} and {a.ndim}")
            for d in range(a.ndim):
                if d != dim and a.shape[d] != first.shape[d]:
                    raise RuntimeError(
                        f"Sizes of tensors must match except in dimension {dim}. Expected size "
                        f"{first.shape[d]} but got size {a.shape[d]} for tensor number {i} in "
                        "the list.")
        ctx.dim = dim
        ctx.sizes = [None if _is_legacy_empty(a) else a.shape[dim] for a in tensors]
        shape = list(first.shape)
        shape[dim] = sum(a.shape[dim] for _, a in joined)
        out = np.empty(shape, first.dtype)  # row-major, as torch's result (numpy may not be)
        return np.concatenate([a for _, a in joined], axis=dim, out=out)

    def backward(ctx, grad):
        return _cat_backward(grad, ctx.dim, ctx.sizes)


def _cat_backward(grad, dim, sizes):
    """Each input's part of `grad`: consecutive slices along `dim` (empty 1-D inputs: zeros)."""
    grads = []
    start = 0
    for size in sizes:
        if size is None:
            grads.append(zeros(0, dtype=grad.dtype))
        else:
            grads.append(Slice.apply(grad, dim, start, start + size, 1))
            start += size
    return tuple(grads)


def _stack_samples(g):
    shape = g.shape(max_dims=3)
    tensors = [g.tensor(shape) for _ in range(g.integers(1, 3))]
    return Sample((tensors,), {"dim": g.integers(-len(shape) - 1, len(shape))})


class Stack(Op):
    """The tensors (all of one shape) joined along a new dim `dim`; dtypes promote.

    out = stack(tensors, dim);  d/dtensors[i] = grad.select(dim, i)
    """

    name = "stack"
    variadic = True
    type_promotion = DEFAULT
    reference = "torch.stack"
    samples = _stack_samples
    dtypes = BOOL_AND_REAL
    error_samples = (_raises(RuntimeError, "stack expects each tensor to be equal size",
                             [_M, np.zeros((3, 5))]),)

    def forward(ctx, tensors, dim=0):
        if not tensors:
            raise RuntimeError("stack expects a non-empty TensorList")
        _check_tensor_list(tensors)
        for i, a in enumerate(tensors):
            if a.shape != tensors[0].shape:
                raise RuntimeError(
                    f"stack expects each tensor to be equal size, but got "
                    f"{list(tensors[0].shape)} at entry 0 and {list(a.shape)} at entry {i}")
        ctx.dim = _wrap_dim(dim, tensors[0].ndim + 1)
        shape = tensors[0].shape[:ctx.dim] + (len(tensors),) + tensors[0].shape[ctx.dim:]
        return np.stack(tensors, axis=ctx.dim, out=np.empty(shape, tensors[0].dtype))

    def backward(ctx, grad):
        return grad.unbind(ctx.dim)


# ----------------------------------------------------------------------------------------------
# split, chunk, unbind  (see Note [Multi-output ops])
# ----------------------------------------------------------------------------------------------
def _split_views(a, dim, sizes):
    """Views of `a` along `dim`, of the given sizes, one after the other."""
    before = (slice(None),) * dim
    views = []
    start = 0
    for size in sizes:
        views.append(a[before + (slice(start, start + size),)])
        start += size
    return tuple(views)


def _check_splittable(a):
    if a.ndim == 0:
        raise RuntimeError("split expects at least a 1-dimensional tensor")


class Split(Op):
    """Views of `input` along `dim`, each `split_size` long (the last may be shorter).

    outs = a.split(size, dim);  d/da = cat(grads, dim)   (zeros for unused outputs)
    """

    node_name = "SplitBackward0"
    is_view = True

    def forward(ctx, a, split_size, dim=0):
        _check_splittable(a)
        if split_size < 0:
            raise RuntimeError(f"split expects split_size be non-negative, but got "
                               f"split_size={split_size}")
        ctx.dim = _wrap_dim(dim, a.ndim)
        length = a.shape[ctx.dim]
        if split_size == 0 and length != 0:
            raise RuntimeError(f"split_size can only be 0 if dimension size is 0, but got "
                               f"dimension size of {length}")
        count = max(-(-length // split_size), 1) if split_size else 1
        sizes = [split_size] * (count - 1) + [length - split_size * (count - 1)]
        return _split_views(a, ctx.dim, sizes)

    def backward(ctx, *grads):
        return Cat.apply(grads, ctx.dim)


def _split_with_sizes_samples(g):
    shape = g.shape(min_dims=1, max_dims=3, min_side=0)
    dim = g.dim(len(shape))
    sizes = []
    left = shape[dim]
    while left or g.booleans():
        sizes.append(g.integers(0, left))
        left -= sizes[-1]
    return Sample((g.tensor(shape), sizes or [0], dim))


class SplitWithSizes(Op):
    """Views of `input` along `dim` with the given lengths (which must add up to its size).

    outs = a.split(sizes, dim);  d/da = cat(grads, dim)   (zeros for unused outputs)
    """

    name = "split_with_sizes"
    methods = ("split_with_sizes",)
    is_view = True
    reference = "torch.split_with_sizes"
    samples = _split_with_sizes_samples
    dtypes = BOOL_AND_REAL
    error_samples = (_raises(RuntimeError, "split_with_sizes expects split_sizes to sum exactly "
                             "to 3", _M, [1, 1]),)

    def forward(ctx, a, split_sizes, dim=0):
        _check_splittable(a)
        ctx.dim = _wrap_dim(dim, a.ndim)
        sizes = [operator.index(s) for s in split_sizes]
        if any(s < 0 for s in sizes):
            raise RuntimeError(f"split_with_sizes expects split_sizes have only non-negative "
                               f"entries, but got split_sizes={sizes}")
        if sum(sizes) != a.shape[ctx.dim]:
            raise RuntimeError(
                f"split_with_sizes expects split_sizes to sum exactly to {a.shape[ctx.dim]} "
                f"(input tensor's size at dimension {ctx.dim}), but got split_sizes={sizes}")
        return _split_views(a, ctx.dim, sizes)

    def backward(ctx, *grads):
        return Cat.apply(grads, ctx.dim)


def _split_samples(g):
    if g.booleans():
        return _split_with_sizes_samples(g)
    shape = g.shape(min_dims=1, max_dims=3)
    return Sample((g.tensor(shape), g.integers(1, 4), g.dim(len(shape))))


@op_function("split", methods=("split",), reference="torch.split", samples=_split_samples,
             dtypes=BOOL_AND_REAL, node_names=("SplitBackward0", "SplitWithSizesBackward0"),
             error_samples=(_raises(RuntimeError, "split_size can only be 0 if dimension size "
                                    "is 0", _M, 0),
                            _raises(RuntimeError, "split expects at least a 1-dimensional "
                                    "tensor", np.zeros(()), 1)))
def split(tensor, split_size_or_sections, dim=0):
    """Views of `tensor` along `dim`: pieces of one length (an int), or of the listed lengths.

    outs = a.split(sizes, dim);  d/da = cat(grads, dim)   (zeros for unused outputs)
    """
    if isinstance(split_size_or_sections, (list, tuple)):
        return SplitWithSizes.apply(tensor, split_size_or_sections, dim)
    return Split.apply(tensor, operator.index(split_size_or_sections), dim)


def _chunk_samples(g):
    shape = g.shape(min_dims=1, max_dims=3, min_side=0)
    return Sample((g.tensor(shape), g.integers(1, 5), g.dim(len(shape))))


@op_function("chunk", methods=("chunk",), reference="torch.chunk", samples=_chunk_samples,
             dtypes=BOOL_AND_REAL, node_names=("SplitBackward0", "SplitWithSizesBackward0"),
             error_samples=(_raises(RuntimeError, "chunk expects `chunks` to be greater than 0, "
                                    "got: 0", _M, 0),))
def chunk(input, chunks, dim=0):
    """At most `chunks` views of `input` along `dim`, of length ceil(size / chunks).

    outs = a.split(ceil(size / chunks), dim);  d/da = cat(grads, dim)
    """
    if input.ndim == 0:
        raise RuntimeError("chunk expects at least a 1-dimensional tensor")
    if chunks <= 0:
        raise RuntimeError(f"chunk expects `chunks` to be greater than 0, got: {chunks}")
    dim = _wrap_dim(dim, input.ndim)
    length = input.shape[dim]
    split_size = -(-length // chunks)
    if length == 0:
        # an empty dim splits into `chunks` empty pieces; `split` would give only one
        return SplitWithSizes.apply(input, [0] * chunks, dim)
    return Split.apply(input, split_size, dim)


def _unbind_samples(g):
    shape = g.shape(min_dims=1, max_dims=3, min_side=0)
    return Sample((g.tensor(shape), g.dim(len(shape))))


class Unbind(Op):
    """The slices of `input` along `dim`, as a tuple of views without that dim.

    outs = [a.select(dim, i) for i];  d/da = stack(grads, dim)   (zeros for unused outputs)
    """

    name = "unbind"
    methods = ("unbind",)
    is_view = True
    reference = "torch.unbind"
    samples = _unbind_samples
    dtypes = BOOL_AND_REAL
    error_samples = (_raises(IndexError, "Dimension specified as 0 but tensor has no "
                             "dimensions", np.zeros(())),)

    def forward(ctx, a, dim=0):
        ctx.dim = _wrap_dim(dim, a.ndim)
        if a.ndim == 0:
            raise IndexError(f"Dimension specified as {ctx.dim} but tensor has no dimensions")
        before = (slice(None),) * ctx.dim
        return tuple(a[before + (i, Ellipsis)] for i in range(a.shape[ctx.dim]))

    def backward(ctx, *grads):
        return Stack.apply(grads, ctx.dim)


# ----------------------------------------------------------------------------------------------
# select, slices, narrow
# ----------------------------------------------------------------------------------------------
def _select_samples(g):
    shape = g.shape(min_dims=1, max_dims=3)
    dim = g.dim(len(shape))
    size = shape[dim]
    return Sample((g.tensor(shape), dim, g.integers(-size, size - 1)))


class Select(Op):
    """The view of `input` at position `index` of dim `dim`, which it removes.

    out = a.select(dim, i);  d/da = zeros of a's shape with grad at [..., i, ...]
    """

    name = "select"
    methods = ("select",)
    is_view = True
    reference = "torch.select"
    samples = _select_samples
    dtypes = BOOL_AND_REAL
    error_samples = (_raises(IndexError, "select(): index 5 out of range for tensor of size "
                             "[3, 4] at dimension 0", _M, 0, 5),)

    def forward(ctx, a, dim, index):
        if a.ndim == 0:
            raise IndexError("select() cannot be applied to a 0-dim tensor.")
        dim = _wrap_dim(dim, a.ndim)
        index = operator.index(index)
        size = a.shape[dim]
        if not -size <= index < size:
            raise IndexError(f"select(): index {index} out of range for tensor of size "
                             f"{list(a.shape)} at dimension {dim}")
        ctx.input_shape = a.shape
        ctx.dim = dim
        ctx.index = index % size
        return a[(slice(None),) * dim + (ctx.index, Ellipsis)]

    def backward(ctx, grad):
        return SelectBackward.apply(grad, ctx.input_shape, ctx.dim, ctx.index)


class SelectBackward(Op):
    """Zeros of `input_shape` with `grad` written at position `index` of dim `dim`.

    out = select_backward(g);  d/dg = grad.select(dim, index)
    """

    node_name = "SelectBackwardBackward0"

    def forward(ctx, grad, input_shape, dim, index):
        ctx.dim = dim
        ctx.index = index
        out = np.zeros(input_shape, grad.dtype)
        out[(slice(None),) * dim + (index, Ellipsis)] = grad
        return out

    def backward(ctx, grad):
        return Select.apply(grad, ctx.dim, ctx.index)


class Slice(Op):
    """The view `input[..., start:stop:step, ...]` along dim `dim` (bounds already valid).

    out = a[start:stop:step along dim];  d/da = zeros of a's shape with grad in that slice
    """

    node_name = "SliceBackward0"
    is_view = True

    def forward(ctx, a, dim, start, stop, step):
        ctx.input_shape = a.shape
        ctx.key = (dim, start, stop, step)
        return a[(slice(None),) * dim + (slice(start, stop, step),)]

    def backward(ctx, grad):
        return SliceBackward.apply(grad, ctx.input_shape, *ctx.key)


class SliceBackward(Op):
    """Zeros of `input_shape` with `grad` written into the slice `start:stop:step` of `dim`.

    out = slice_backward(g);  d/dg = grad[start:stop:step along dim]
    """

    node_name = "SliceBackwardBackward0"

    def forward(ctx, grad, input_shape, dim, start, stop, step):
        ctx.key = (dim, start, stop, step)
        out = np.zeros(input_shape, grad.dtype)
        out[(slice(None),) * dim + (slice(start, stop, step),)] = grad
        return out

    def backward(ctx, grad):
        return Slice.apply(grad, *ctx.key)


def _narrow_samples(g):
    shape = g.shape(min_dims=1, max_dims=3)
    dim = g.dim(len(shape))
    size = shape[dim]
    start = g.integers(-size, size)
    length = g.integers(0, size - start if start >= 0 else -start)
    return Sample((g.tensor(shape), dim, start, length))


@op_function("narrow", methods=("narrow",), reference="torch.narrow", samples=_narrow_samples,
             dtypes=BOOL_AND_REAL, node_names=("SliceBackward0",),
             error_samples=(_raises(RuntimeError, "start (1) + length (5) exceeds "
                                    "dimension size (3)", _M, 0, 1, 5),
                            _raises(IndexError, "start out of range", _M, 0, 5, 1)))
def narrow(input, dim, start, length):
    """The view of `length` positions of dim `dim` from `start` (`x[..., start:start+length]`).

    out = a[start:start+length along dim];  d/da = zeros with grad in that slice
    """
    if input.ndim == 0:
        raise RuntimeError("narrow() cannot be applied to a 0-dim tensor.")
    dim = _wrap_dim(dim, input.ndim)
    start = operator.index(start)
    length = operator.index(length)
    size = input.shape[dim]
    if length < 0:
        raise RuntimeError("narrow(): length must be non-negative.")
    if not -size <= start <= size:
        raise IndexError(f"start out of range (expected to be in range of [{-size}, {size}], "
                         f"but got {start})")
    if start < 0:
        start += size
    if start + length > size:
        raise RuntimeError(f"start ({start}) + length ({length}) exceeds dimension size "
                           f"({size}).")
    return Slice.apply(input, dim, start, start + length, 1)


# ----------------------------------------------------------------------------------------------
# Indexing: basic items become view ops (see Note [Indexing is a chain of view ops]); index
# arrays, lists and masks go to one `Index` op (see Note [Advanced indexing])
# ----------------------------------------------------------------------------------------------
_INDEX_TYPE_ERROR = ("only integers, slices (`:`), ellipsis (`...`), None and long or byte "
                     "Variables are valid indices (got {})")
_SEQUENCE_AS_TUPLE_WARNING = (
    "Using a non-tuple sequence for multidimensional indexing is deprecated and will be changed "
    "in pytorch 2.9; use x[tuple(seq)] instead of x[seq]. In pytorch 2.9 this will be "
    "interpreted as tensor index, x[torch.tensor(seq)], which will result either in an error "
    "or a different result")


def _sequence_as_tuple(index):
    """torch's (and old numpy's) rule: a list holding slices, None, `...`, sequences or tensors
    is read as a tuple, `x[[0, [1]]] == x[0, [1]]`, with a deprecation warning."""
    if not isinstance(index, list) or len(index) >= 32:
        return False
    if any(item is None or item is Ellipsis or isinstance(
            item, (slice, list, tuple, np.ndarray, Tensor)) for item in index):
        import warnings

        warnings.warn(_SEQUENCE_AS_TUPLE_WARNING, UserWarning, stacklevel=3)
        return True
    return False


def _named_dims(item):
    """How many dims of the input an index item uses up (None, `...` and True/False: none)."""
    if item is None or item is Ellipsis or isinstance(item, (bool, np.bool_)):
        return 0
    data = item._data if isinstance(item, Tensor) else item
    if isinstance(data, np.ndarray) and data.dtype == np.bool_:
        return data.ndim
    return 1


def _index_item(item):
    """Classify one index item as ("int", i), ("bool", b) or ("array", integer or bool array)
    (slices, None and `...` are handled before); raise torch's error for anything else."""
    if isinstance(item, (bool, np.bool_)):
        return "bool", bool(item)
    if isinstance(item, (int, np.integer)):
        return "int", int(item)
    if isinstance(item, Tensor):
        data = item._data
        if data.dtype.kind not in "iub":
            raise IndexError("tensors used as indices must be long, int, byte or bool tensors")
        if data.dtype == np.uint8:  # torch's legacy: a byte tensor is a mask
            data = data.astype(bool)
    elif isinstance(item, (list, np.ndarray)):
        data = np.asarray(item)
        if data.dtype.kind not in "biuf":
            raise IndexError(_INDEX_TYPE_ERROR.format(type(item).__name__))
        if data.dtype != np.bool_:  # torch reads index data as int64 (so 1.5 means 1)
            data = data.astype(np.int64)
    else:
        raise IndexError(_INDEX_TYPE_ERROR.format(type(item).__name__))
    if data.ndim == 0:
        return ("bool", bool(data)) if data.dtype == np.bool_ else ("int", int(data))
    return "array", data


def _slice_bounds(item, size):
    """(start, stop, step) of a slice on a dim of `size`, clamped as Python and torch do."""
    step = 1 if item.step is None else operator.index(item.step)
    if step == 0:
        raise ValueError("slice step cannot be zero")
    if step < 0:
        raise ValueError("step must be greater than zero")
    start, stop, _ = slice(item.start, item.stop, step).indices(size)
    return start, max(start, stop), step


def _is_full_slice(item, size):
    """True for `:`, `0:`, `:size` and the like, which torch skips inside a tuple index.

    Like torch, this looks at the bounds as written: `-size:` is a full slice too, but is
    recorded.
    """
    return ((item.start is None or operator.index(item.start) == 0)
            and (item.stop is None or operator.index(item.stop) >= size)
            and (item.step is None or operator.index(item.step) == 1))


def _select_for_index(result, dim, index, position):
    """`result.select(dim, index)`, with the message indexing gives for an index out of range."""
    size = result.shape[dim]
    if not -size <= index < size:
        raise IndexError(f"index {index} is out of bounds for dimension {position} with size "
                         f"{size}")
    return Select.apply(result, dim, index)


def _advanced_index(shape, advanced):
    """The numpy index that picks, from a tensor of `shape`, what the index arrays `advanced`
    ([(dim, array)]) ask for, checked with torch's messages: masks become integer arrays, the
    arrays must broadcast together and stay in bounds."""
    arrays = []
    for dim, array in advanced:
        if array.dtype != np.bool_:
            arrays.append((dim, array))
            continue
        for j, size in enumerate(array.shape):
            if size != shape[dim + j]:
                raise IndexError(f"The shape of the mask {list(array.shape)} at index {j} does "
                                 f"not match the shape of the indexed tensor {list(shape)} at "
                                 f"index {dim + j}")
        arrays.extend((dim + j, positions) for j, positions in enumerate(np.nonzero(array)))
    try:
        picked = np.broadcast_shapes(*(array.shape for _, array in arrays))
    except ValueError:
        raise IndexError("shape mismatch: indexing tensors could not be broadcast together with "
                         "shapes " + ", ".join(str(list(a.shape)) for _, a in arrays)) from None
    if any(shape[dim] == 0 and array.size for dim, array in arrays):
        raise IndexError("index is out of bounds for dimension with size 0")
    indexed = {dim for dim, _ in arrays}
    # like torch, check the bounds only if some element is picked at all
    empty = 0 in picked or any(size == 0 for d, size in enumerate(shape) if d not in indexed)
    index = [slice(None)] * (arrays[-1][0] + 1)
    for position, (dim, array) in enumerate(arrays):
        size = shape[dim]
        outside = (array < -size) | (array >= size)
        if outside.any():
            if not empty:
                raise IndexError(f"index {array[outside][0]} is out of bounds for dimension "
                                 f"{position} with size {size}")
            array = np.where(outside, 0, array)
        index[dim] = array
    return tuple(index)


class Index(Op):
    """The elements of `input` at `index`, a numpy index of full slices and integer arrays.

    out = a[index];  d/da = zeros of a's shape with grad added at index (repeats add up)
    """

    node_name = "IndexBackward0"

    def forward(ctx, a, index):
        ctx.input_shape = a.shape
        ctx.index = index
        return np.ascontiguousarray(a[index])  # numpy may order it otherwise; torch does not

    def backward(ctx, grad):
        return IndexPutAccumulate.apply(grad, ctx.input_shape, ctx.index)


class IndexPutAccumulate(Op):
    """Zeros of `input_shape` with `grad` added at `index`; a position picked twice gets both.

    out = zeros.index_put_(index, g, accumulate=True);  d/dg = grad[index]
    """

    node_name = "IndexPutImplBackward0"

    def forward(ctx, grad, input_shape, index):
        ctx.index = index
        out = np.zeros(input_shape, grad.dtype)
        np.add.at(out, index, grad)
        return out

    def backward(ctx, grad):
        return Index.apply(grad, ctx.index)


def _index_item_samples(g, size):
    kind = g.sampled_from(["int", "slice", "list"] if size else ["slice"])
    if kind == "int":
        return g.integers(-size, size - 1)
    if kind == "list":
        return [g.integers(-size, size - 1) for _ in range(g.integers(0, 3))]
    bound = g.sampled_from([None, g.integers(-size - 2, size + 2)])
    return slice(bound, g.sampled_from([None, g.integers(-size - 2, size + 2)]),
                 g.sampled_from([None, 1, 2, 3]))


def _getitem_samples(g):
    shape = g.shape(max_dims=3, min_side=0)
    ndim = len(shape)
    named = g.integers(0, ndim)             # how many dims the index names
    split = g.integers(0, named) if g.booleans() else None   # where `...` goes, if anywhere
    dims = list(range(named)) if split is None else \
        list(range(split)) + list(range(ndim - named + split, ndim))
    index = [_index_item_samples(g, shape[d]) for d in dims]
    if split is not None:
        index.insert(split, Ellipsis)
    for _ in range(g.integers(0, 2)):
        index.insert(g.integers(0, len(index)), None)
    if len(index) == 1 and g.booleans():
        return Sample((g.tensor(shape), index[0]))
    return Sample((g.tensor(shape), tuple(index)))


@op_function("__getitem__", methods=("__getitem__",), reference="torch.Tensor.__getitem__",
             samples=_getitem_samples, dtypes=BOOL_AND_REAL,
             node_names=("SelectBackward0", "SliceBackward0", "UnsqueezeBackward0",
                         "AliasBackward0", "IndexBackward0"),
             error_samples=(
                 _raises(IndexError, "too many indices for tensor of dimension 2", _M, (0, 0, 0)),
                 _raises(IndexError, "index 5 is out of bounds for dimension 1 with size 4", _M,
                         (0, 5)),
                 _raises(IndexError, "index 3 is out of bounds for dimension 0 with size 3", _M,
                         [0, 3]),
                 _raises(ValueError, "step must be greater than zero", _M, slice(None, None, -1))))
def getitem(input, index):
    """`input[index]`: integers, slices, None, `...`, and lists, arrays, integer or bool
    tensors of indices, alone or in a tuple.

    Basic items give a view, built by a chain of select / slice / unsqueeze ops (see Note
    [Indexing is a chain of view ops]); index arrays then give a copy (see Note [Advanced
    indexing]). A gradient flows back through each step.
    """
    ndim = input.ndim
    # A single None, `...`, int or slice takes torch's fast paths (where even a full slice
    # `x[:]` is recorded); anything else goes the general way, as a tuple.
    if not isinstance(index, tuple):
        if index is None:
            return Unsqueeze.apply(input, 0)
        if index is Ellipsis:
            return Alias.apply(input)
        if isinstance(index, (int, np.integer)) and not isinstance(index, (bool, np.bool_)):
            if ndim == 0:
                raise IndexError("invalid index of a 0-dim tensor. Use `tensor.item()` in "
                                 "Python or `tensor.item<T>()` in C++ to convert a 0-dim "
                                 "tensor to a number")
            return _select_for_index(input, 0, int(index), 0)
        if isinstance(index, slice):
            if ndim == 0:
                raise IndexError("slice() cannot be applied to a 0-dim tensor.")
            return Slice.apply(input, 0, *_slice_bounds(index, input.shape[0]))
        index = tuple(index) if _sequence_as_tuple(index) else (index,)
    # Count the dims the index names, then apply its items from left to right.
    specified = sum(_named_dims(item) for item in index)
    if specified > ndim:
        raise IndexError(f"too many indices for tensor of dimension {ndim}")
    if sum(1 for item in index if item is Ellipsis) > 1:
        raise IndexError("an index can only have a single ellipsis ('...')")
    result = input
    dim = 0
    advanced = []   # (dim of result, index array), applied last by one Index op
    for position, item in enumerate(index):
        if item is None:
            result = Unsqueeze.apply(result, dim)
            dim += 1
        elif item is Ellipsis:
            dim += ndim - specified
        elif isinstance(item, slice):
            size = result.shape[dim]
            bounds = _slice_bounds(item, size)
            if not _is_full_slice(item, size):
                result = Slice.apply(result, dim, *bounds)
            dim += 1
        else:
            kind, value = _index_item(item)
            if kind == "int":
                result = _select_for_index(result, dim, value, position)
            elif kind == "bool":  # x[True] is x[None][[True]]; x[False] is empty
                result = Unsqueeze.apply(result, dim)
                advanced.append((dim, np.array([value])))
                dim += 1
            else:
                advanced.append((dim, value))
                dim += value.ndim if value.dtype == np.bool_ else 1
    if advanced:
        return Index.apply(result, _advanced_index(result.shape, advanced))
    if result is input:
        result = Alias.apply(input)
    return result
