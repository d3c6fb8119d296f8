"""Shape and layout: view, reshape, flatten, transpose, permute, squeeze, expand, cat, stack,
split, chunk, unbind, select, narrow, and indexing (`x[0, 1:3, None, ...]`, `x[[0, 2]]`,
`x[mask]`); then flip, roll, rot90, tril/triu, diagonal, diag, diag_embed, trace, repeat, tile,
repeat_interleave, movedim, unflatten, view_as, reshape_as, meshgrid, tensor_split and
h/v/dsplit, the h/v/d/column stacks, atleast_1d/2d/3d, and the in-place shape methods
(`t_`, `transpose_`, `squeeze_`, `unsqueeze_`).

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
    the gradient into zeros at the same positions (`_add_at`, see Note [Scatter-add at flat
    positions]), so an element picked twice receives both gradients; that op's own backward
    is the same indexing again, so second derivatives work.

Note [Scatter-add at flat positions]
    `out[index] += values` keeps one write per position, so an index that names a position
    twice loses a gradient; `np.add.at(out, index, values)` adds every value. numpy runs
    `np.add.at` fast only on a 1-dim array with one integer array of positions; given a
    matrix and an index that picks whole rows (`x[idx]`), or several index arrays (a mask),
    it takes a general path several times slower. So `_add_at` first turns the index into
    the flat (row-major) position of every element it names (`_index_positions`: in a
    (3, 4) matrix, row 2 is positions 8, 9, 10, 11), then adds into the flat view of `out`:
    the same sums, in the same order and dtype. (`np.bincount(positions, weights)` sums
    the same way but in float64, and is slower for float32 weights.)

Note [Multi-output ops: split, chunk, unbind]
    `split` returns several views and one node. When only some outputs are used, the others
    receive no gradient; the machinery gives the node zeros for them (torch materializes them
    too), so the backward is simply `cat(grads)` (`stack(grads)` for unbind).

Note [Diagonals are strided views]
    The diagonal of a row-major matrix is every (columns + 1)-th element of its memory: a
    view whose one stride is the sum of the two dims' strides, starting `offset` elements along one of them
    (`_diagonal_view` builds it with numpy's `as_strided`, as torch's `diagonal` does). It is
    writable, so `x.diagonal().zero_()` changes `x`. `diag_embed` and the backward of
    `diagonal` write into such a view of a tensor of zeros; `diag` of a matrix copies it.

Note [In-place shape methods]
    `x.t_()`, `x.transpose_(0, 1)`, `x.squeeze_()` and `x.unsqueeze_(0)` change what `x` looks
    like, never its values: `x` becomes the view the out-of-place op would return, over the
    same memory. As for every in-place op, the version counter is bumped (so a saved `x`
    can no longer be used in backward) and a leaf that requires grad is refused; the node
    is torch's in-place one (`TBackward1`, `TransposeBackward1`, `SqueezeBackward3/4/5`,
    `UnsqueezeBackward1`), with the same backward as the out-of-place op.
"""

from __future__ import annotations

import itertools
import math
import operator
import warnings

import numpy as np

from hypergrad import dtypes as _dtypes
from hypergrad.autograd.grad_mode import is_grad_enabled
from hypergrad.conformance.domains import (ALL_REAL, BOOL_AND_REAL, ErrorSample, Sample,
                                          SampleTensor, unary)
from hypergrad.creation import eye, zeros
from hypergrad.plugins import DEFAULT, Op, op_function
from hypergrad.plugins.op import _scalar_type_name
from hypergrad.tensor import Tensor, _wrap_dim, _wrap_dim_no_scalar


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


def _to_copy_samples(g):
    """A tensor and another dtype to convert it to (`x.to(its own dtype)` returns x itself)."""
    target = g.sampled_from([d for d in BOOL_AND_REAL if d != g.dtype.name])
    return Sample((g.tensor(g.shape()), getattr(_dtypes, target)))


class ToCopy(Op):
    """`input` converted to another dtype (what `x.to(dtype)`, `x.double()` call).

    out = a.to(dtype);  d/da = grad.to(a.dtype)   (the engine casts it back)
    """

    name = "_to_copy"
    methods = ("_to_copy",)
    node_name = "ToCopyBackward0"
    reference = "torch.Tensor.to"
    samples = _to_copy_samples
    dtypes = BOOL_AND_REAL
    divergences = {
        "variants": "`Tensor._to_copy` is HyperGrad's plumbing behind `x.to(dtype)`; "
                    "torch.Tensor has no such method",
        "grad_fn": "checked through the method `Tensor._to_copy` too, which torch does not "
                   "have; `x.to(dtype)` records torch's ToCopyBackward0"}

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


def _expanded_view(a, shape):
    """`np.broadcast_to(a, shape)`: a read-only view whose broadcast dims have stride 0.

    Built with the ndarray constructor over `a`'s memory when `a` is C-contiguous (a tenth of
    broadcast_to's cost, which matters because every sum and mean backward expands); any other
    layout goes through broadcast_to.
    """
    if not a.flags.c_contiguous or a.size == 0:
        return np.broadcast_to(a, shape)
    lead = len(shape) - a.ndim
    strides = [0] * lead
    for size, target, stride in zip(a.shape, shape[lead:], a.strides):
        strides.append(0 if size != target else stride)
    view = np.ndarray(shape, a.dtype, a, 0, strides)
    view.flags.writeable = False
    return view


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
        return _expanded_view(a, target)

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
        arrays.extend((dim + j, positions) for j, positions in enumerate(_mask_nonzero(array)))
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
        if array.size and (array.min() < -size or array.max() >= size):
            outside = (array < -size) | (array >= size)
            if not empty:
                raise IndexError(f"index {array[outside][0]} is out of bounds for dimension "
                                 f"{position} with size {size}")
            array = np.where(outside, 0, array)
        index[dim] = array
    return tuple(index)


def _mask_nonzero(mask):
    """`np.nonzero(mask)`: the coordinates of the True elements, one array per dim.

    numpy's nonzero is slow on a mask of several dims, while the flat positions of the True
    elements come fast (`np.flatnonzero`); those split into coordinates by floor division,
    from the last dim back: in a (3, 4) mask, flat position 9 is row 9 // 4 = 2, column
    9 - 2 * 4 = 1. (On a random (1000, 64) mask this takes a fifth of np.nonzero's time.)
    """
    if mask.ndim < 2:
        return np.nonzero(mask)
    rest = np.flatnonzero(mask)
    coordinates = []
    for size in reversed(mask.shape[1:]):
        quotient = rest // size
        coordinates.append(rest - quotient * size)
        rest = quotient
    coordinates.append(rest)
    return coordinates[::-1]


def _index_positions(shape, index):
    """The flat (row-major) position, in an array of `shape`, of each element `a[index]`
    reads, in the shape of `a[index]`: `np.arange(size).reshape(shape)[index]`.

    `index` holds full slices and integer arrays (what `_advanced_index` returns); negative
    entries count from the end. The positions are a sum of one broadcast term per dim of
    `shape` (its coordinate times its stride), so they cost the size of the result, never
    that of the whole array. The result's dims follow numpy's rule: the broadcast dims of
    the index arrays go where the arrays are if those are adjacent, first otherwise; the
    dims of the slices, and the dims after the index, keep their order around them.
    """
    arrays = [d for d, item in enumerate(index) if not isinstance(item, slice)]
    sliced = [d for d in range(len(shape)) if d not in arrays]
    picked = np.broadcast_shapes(*(index[d].shape for d in arrays))
    first = arrays[0] if arrays == list(range(arrays[0], arrays[-1] + 1)) else 0
    ndim = len(picked) + len(sliced)
    after = ndim - first - len(picked)   # result dims after the picked ones

    def stride(d):
        return math.prod(shape[d + 1:])

    positions = np.zeros((), np.intp)
    # an index array fills result dims first .. first + len(picked), right-aligned there as
    # broadcasting aligns it; a slice's dim is its own result dim, before or after those
    for d in arrays:
        coordinate = index[d].astype(np.intp, copy=False)
        coordinate = np.where(coordinate < 0, coordinate + shape[d], coordinate)
        positions = positions + (coordinate * stride(d)).reshape(
            (1,) * (first + len(picked) - coordinate.ndim) + coordinate.shape + (1,) * after)
    for j, d in enumerate(sliced):
        axis = j if j < first else j + len(picked)
        coordinate = np.arange(shape[d], dtype=np.intp)
        positions = positions + (coordinate * stride(d)).reshape(
            (1,) * axis + (shape[d],) + (1,) * (ndim - axis - 1))
    return positions


_SMALL_SCATTER = 2048


def _add_at(out, index, values):
    """`np.add.at(out, index, values)`, fast: add `values` (broadcast to the shape of
    `out[index]`) into `out` at `index`, full slices and integer arrays; a position the index
    names twice receives every value (see Note [Scatter-add at flat positions]). `out` must
    be C-contiguous: the sums go into its flat view. (For a 1-D `out`, or below about two
    thousand values, computing the positions costs more than it saves: `np.add.at` runs as
    it is.)
    """
    if out.ndim <= 1 or np.size(values) < _SMALL_SCATTER or (
            len(index) == 1 and np.ndim(index[0]) == 0):    # a 0-dim mask: numpy's own rule
        np.add.at(out, index, values)
        return
    positions = _index_positions(out.shape, index)
    values = np.broadcast_to(values, positions.shape)
    np.add.at(out.reshape(-1), positions.reshape(-1), values.reshape(-1))


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
        _add_at(out, index, grad)
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


# ----------------------------------------------------------------------------------------------
# flip, fliplr, flipud, roll, rot90
# ----------------------------------------------------------------------------------------------
def _int_tuple(value):
    """An int or a sequence of ints as a tuple of ints (a float is torch's TypeError)."""
    if isinstance(value, (tuple, list)):
        return tuple(operator.index(v) for v in value)
    return (operator.index(value),)


def _flipped(a, dims):
    """A copy of `a` reversed along `dims`, laid out in memory as `a` is (as torch's flip)."""
    return np.flip(a, dims).copy(order="K") if a.ndim else a.copy()


def _dims_samples(g):
    shape = g.shape(max_dims=3)
    ndim = len(shape)
    dims = sorted({g.dim(ndim) % max(ndim, 1) for _ in range(g.integers(0, 3))})
    return Sample((g.tensor(shape), tuple(d - max(ndim, 1) if g.booleans() else d
                                          for d in dims)))


class Flip(Op):
    """A copy of `input` with the order of its elements reversed along each of `dims`.

    out = a.flip(dims);  d/da = grad.flip(dims)
    """

    name = "flip"
    methods = ("flip",)
    reference = "torch.flip"
    samples = _dims_samples
    dtypes = BOOL_AND_REAL
    error_samples = (_raises(RuntimeError, "dim 0 appears multiple times in the list of dims",
                             _M, (0, -2)),
                     _raises(IndexError, "Dimension out of range", _M, (2,)))

    def forward(ctx, a, *dims_args, dims=None):
        dims = _shape_arg(dims_args, "flip", "dims") if dims is None else _int_tuple(dims)
        ctx.dims = tuple(_normalize_dim_list(dims, a.ndim))
        return _flipped(a, ctx.dims)

    def backward(ctx, grad):
        return grad.flip(ctx.dims)


@op_function("fliplr", methods=("fliplr",), reference="torch.fliplr",
             samples=unary(min_dims=2), dtypes=BOOL_AND_REAL, node_names=("FlipBackward0",),
             error_samples=(_raises(RuntimeError, "Input must be >= 2-d.", np.zeros(3)),))
def fliplr(input):
    """`input` with its columns (dim 1) in reverse order: a copy.

    out = a.flip(1);  d/da = grad.flip(1)
    """
    if input.ndim < 2:
        raise RuntimeError("Input must be >= 2-d.")
    return Flip.apply(input, (1,))


@op_function("flipud", methods=("flipud",), reference="torch.flipud",
             samples=unary(min_dims=1), dtypes=BOOL_AND_REAL, node_names=("FlipBackward0",),
             error_samples=(_raises(RuntimeError, "Input must be >= 1-d.", np.zeros(())),))
def flipud(input):
    """`input` with its rows (dim 0) in reverse order: a copy.

    out = a.flip(0);  d/da = grad.flip(0)
    """
    if input.ndim < 1:
        raise RuntimeError("Input must be >= 1-d.")
    return Flip.apply(input, (0,))


def _roll_samples(g):
    shape = g.shape(max_dims=3)
    ndim = len(shape)
    x = g.tensor(shape)
    if not ndim or g.booleans():   # no dims: the flattened tensor is rolled
        return Sample((x, g.integers(-6, 6)))
    count = g.integers(1, ndim)
    shifts = tuple(g.integers(-6, 6) for _ in range(count))
    dims = tuple(g.dim(ndim) for _ in range(count))
    if count == 1 and g.booleans():
        return Sample((x, shifts[0], dims[0]))
    return Sample((x, shifts, dims))


class Roll(Op):
    """`input` with its elements shifted `shifts` places along `dims`, those pushed off the
    end coming back at the start; with no dims, the flattened tensor is rolled.

    out = a.roll(shifts, dims);  d/da = grad.roll(-shifts, dims)
    """

    name = "roll"
    methods = ("roll",)
    reference = "torch.roll"
    samples = _roll_samples
    dtypes = BOOL_AND_REAL
    error_samples = (_raises(RuntimeError, "shifts and dimensions must align. shifts: 2, dims:0",
                             _M, (1, 2)),
                     _raises(RuntimeError, "shifts and dimensions must align. shifts: 1, dims:2",
                             _M, 1, (0, 1)),
                     _raises(IndexError, "Dimension specified as 0 but tensor has no "
                             "dimensions", np.zeros(()), 1, 0))

    def forward(ctx, a, shifts, dims=None):
        shifts = _int_tuple(shifts)
        dims = () if dims is None else _int_tuple(dims)
        if not shifts:
            raise RuntimeError("`shifts` required")
        if not dims and len(shifts) == 1:
            ctx.shifts, ctx.dims = shifts, None
            return np.roll(a, shifts[0])
        if len(shifts) != len(dims):
            raise RuntimeError(f"shifts and dimensions must align. shifts: {len(shifts)}, "
                               f"dims:{len(dims)}")
        ctx.shifts = shifts
        ctx.dims = tuple(_wrap_dim_no_scalar(d, a.ndim) for d in dims)
        return np.ascontiguousarray(np.roll(a, shifts, ctx.dims))

    def backward(ctx, grad):
        return grad.roll(tuple(-s for s in ctx.shifts), ctx.dims)


def _rot90_samples(g):
    shape = g.shape(min_dims=2, max_dims=3)
    ndim = len(shape)
    first = g.integers(0, ndim - 1)
    second = g.sampled_from([d for d in range(ndim) if d != first])
    dims = (first - ndim if g.booleans() else first, second)
    return Sample((g.tensor(shape), g.integers(-5, 5), dims))


class Rot90(Op):
    """`input` rotated by 90 degrees `k` times in the plane of `dims`, from the first of them
    toward the second: a copy.

    out = a.rot90(k, dims);  d/da = grad.rot90(-k, dims)

    Like torch, a quarter turn is a flip of one dim followed by a transpose, so the result is
    laid out in memory as torch's (not always row-major).
    """

    name = "rot90"
    methods = ("rot90",)
    reference = "torch.rot90"
    samples = _rot90_samples
    dtypes = BOOL_AND_REAL
    error_samples = (_raises(RuntimeError, "expected total rotation dims == 2, but got dims = 1",
                             _M, 1, (0,)),
                     _raises(RuntimeError, "expected total dims >= 2, but got total dims = 1",
                             np.zeros(3)),
                     _raises(RuntimeError, "expected rotation dims to be different, but got "
                             "dim0 = 0 and dim1 = -2", _M, 1, (0, -2)),
                     _raises(IndexError, "Dimension out of range", _M, 1, (0, 2)))

    def forward(ctx, a, k=1, dims=(0, 1)):
        k = operator.index(k)
        dims = _int_tuple(dims)
        if len(dims) != 2:
            raise RuntimeError(f"expected total rotation dims == 2, but got dims = {len(dims)}")
        if a.ndim < 2:
            raise RuntimeError(f"expected total dims >= 2, but got total dims = {a.ndim}")
        first, second = (_wrap_dim(d, a.ndim) for d in dims)
        if first == second:
            raise RuntimeError(f"expected rotation dims to be different, but got dim0 = "
                               f"{dims[0]} and dim1 = {dims[1]}")
        ctx.k, ctx.dims = k, (first, second)
        turns = k % 4
        if turns == 1:
            return np.swapaxes(_flipped(a, (second,)), first, second)
        if turns == 2:
            return _flipped(a, (first, second))
        if turns == 3:
            return np.swapaxes(_flipped(a, (first,)), first, second)
        return a.copy(order="K")

    def backward(ctx, grad):
        return grad.rot90(-ctx.k, ctx.dims)


# ----------------------------------------------------------------------------------------------
# Triangles and diagonals: tril, triu, diagonal, diag_embed, diag, trace
# ----------------------------------------------------------------------------------------------
def _triangle_samples(g):
    shape = g.shape(min_dims=2, max_dims=3)
    return Sample((g.tensor(shape),), {"diagonal": g.integers(-4, 4)} if g.booleans() else {})


def _check_matrices(a, function):
    if a.ndim < 2:
        raise RuntimeError(f"{function}: input tensor must have at least 2 dimensions")


class Tril(Op):
    """The lower triangle of the matrices in `input` (its last two dims): the elements on and
    below diagonal `diagonal` (0 is the main diagonal, 1 the one above it), zeros elsewhere.

    out = a.tril(k);  d/da = grad.tril(k)
    """

    name = "tril"
    methods = ("tril", "tril_")
    reference = "torch.tril"
    samples = _triangle_samples
    dtypes = BOOL_AND_REAL
    error_samples = (_raises(RuntimeError, "tril: input tensor must have at least 2 dimensions",
                             np.zeros(3)),)

    def forward(ctx, a, diagonal=0):
        _check_matrices(a, "tril")
        ctx.diagonal = operator.index(diagonal)
        return np.tril(a, ctx.diagonal)

    def backward(ctx, grad):
        return grad.tril(ctx.diagonal)


class Triu(Op):
    """The upper triangle of the matrices in `input` (its last two dims): the elements on and
    above diagonal `diagonal` (0 is the main diagonal, -1 the one below it), zeros elsewhere.

    out = a.triu(k);  d/da = grad.triu(k)
    """

    name = "triu"
    methods = ("triu", "triu_")
    reference = "torch.triu"
    samples = _triangle_samples
    dtypes = BOOL_AND_REAL
    error_samples = (_raises(RuntimeError, "triu: input tensor must have at least 2 dimensions",
                             np.zeros(())),)

    def forward(ctx, a, diagonal=0):
        _check_matrices(a, "triu")
        ctx.diagonal = operator.index(diagonal)
        return np.triu(a, ctx.diagonal)

    def backward(ctx, grad):
        return grad.triu(ctx.diagonal)


def _diagonal_dims(ndim, dim1, dim2):
    """dim1 and dim2 wrapped, with torch's error when they name the same dim."""
    first, second = _wrap_dim(dim1, ndim), _wrap_dim(dim2, ndim)
    if first == second:
        raise RuntimeError(f"diagonal dimensions cannot be identical {dim1}, {dim2}")
    return first, second


def _diagonal_view(a, offset, dim1, dim2):
    """Diagonal `offset` of the dims `dim1`, `dim2` of `a`, as a writable view (see Note
    [Diagonals are strided views]): the other dims in order, then the diagonal."""
    if offset >= 0:
        start = a[(slice(None),) * dim2 + (slice(offset, None),)]
        length = min(a.shape[dim1], a.shape[dim2] - offset)
    else:
        start = a[(slice(None),) * dim1 + (slice(-offset, None),)]
        length = min(a.shape[dim1] + offset, a.shape[dim2])
    kept = [d for d in range(a.ndim) if d not in (dim1, dim2)]
    shape = tuple(a.shape[d] for d in kept) + (max(length, 0),)
    strides = tuple(a.strides[d] for d in kept) + (a.strides[dim1] + a.strides[dim2],)
    return np.lib.stride_tricks.as_strided(start, shape, strides, writeable=a.flags.writeable)


def _diagonal_samples(g):
    shape = g.shape(min_dims=2, max_dims=3)
    ndim = len(shape)
    dim1 = g.dim(ndim)
    dim2 = g.sampled_from([d for d in range(-ndim, ndim) if d % ndim != dim1 % ndim])
    return Sample((g.tensor(shape),), {"offset": g.integers(-4, 4), "dim1": dim1, "dim2": dim2})


class Diagonal(Op):
    """The view of the diagonal `offset` of the dims `dim1` and `dim2` of `input` (offset > 0
    above the main diagonal, < 0 below); those dims are removed and the diagonal is the last
    dim.

    out = a.diagonal(offset, dim1, dim2);  d/da = zeros of a's shape with grad on that diagonal
    """

    name = "diagonal"
    methods = ("diagonal",)
    is_view = True
    reference = "torch.diagonal"
    samples = _diagonal_samples
    dtypes = BOOL_AND_REAL
    error_samples = (_raises(RuntimeError, "diagonal dimensions cannot be identical 0, -2", _M,
                             0, 0, -2),
                     _raises(IndexError, "Dimension out of range", np.zeros(3)))

    def forward(ctx, a, offset=0, dim1=0, dim2=1):
        offset = operator.index(offset)
        dim1, dim2 = _diagonal_dims(a.ndim, dim1, dim2)
        ctx.input_shape = a.shape
        ctx.key = (offset, dim1, dim2)
        return _diagonal_view(a, offset, dim1, dim2)

    def backward(ctx, grad):
        return DiagonalBackward.apply(grad, ctx.input_shape, *ctx.key)


class DiagonalBackward(Op):
    """Zeros of `input_shape` with `grad` written on the diagonal (offset, dim1, dim2).

    out = diagonal_backward(g);  d/dg = grad.diagonal(offset, dim1, dim2)
    """

    node_name = "DiagonalBackwardBackward0"

    def forward(ctx, grad, input_shape, offset, dim1, dim2):
        ctx.key = (offset, dim1, dim2)
        out = np.zeros(input_shape, grad.dtype)
        _diagonal_view(out, offset, dim1, dim2)[...] = grad
        return out

    def backward(ctx, grad):
        return Diagonal.apply(grad, *ctx.key)


class DiagonalCopy(Op):
    """A copy of the diagonal `offset` of a matrix (what `diag` returns for a matrix).

    out = a.diagonal(offset).clone();  d/da = zeros of a's shape with grad on that diagonal
    """

    node_name = "DiagonalBackward0_copy"

    def forward(ctx, a, offset):
        ctx.input_shape = a.shape
        ctx.offset = offset
        return _diagonal_view(a, offset, 0, 1).copy()

    def backward(ctx, grad):
        return DiagonalBackward.apply(grad, ctx.input_shape, ctx.offset, 0, 1)


def _diag_embed_samples(g):
    shape = g.shape(min_dims=1, max_dims=2)
    ndim = len(shape) + 1
    dim1 = g.dim(ndim)
    dim2 = g.sampled_from([d for d in range(-ndim, ndim) if d % ndim != dim1 % ndim])
    kwargs = {"offset": g.integers(-3, 3), "dim1": dim1, "dim2": dim2} if g.booleans() else {}
    return Sample((g.tensor(shape),), kwargs)


class DiagEmbed(Op):
    """Matrices with the last dim of `input` on their diagonal `offset`, zeros elsewhere; the
    new matrix dims are `dim1` and `dim2` of the result.

    out = diag_embed(a, offset, dim1, dim2);  d/da = grad.diagonal(offset, dim1, dim2)
    """

    name = "diag_embed"
    methods = ("diag_embed",)
    reference = "torch.diag_embed"
    samples = _diag_embed_samples
    dtypes = BOOL_AND_REAL
    error_samples = (_raises(RuntimeError, "diagonal dimensions cannot be identical 0, 0",
                             np.zeros(3), 0, 0, 0),
                     _raises(IndexError, "Dimension out of range", np.zeros(())))

    def forward(ctx, a, offset=0, dim1=-2, dim2=-1):
        offset = operator.index(offset)
        dim1, dim2 = _diagonal_dims(a.ndim + 1, dim1, dim2)
        ctx.key = (offset, dim1, dim2)
        size = a.shape[-1] + abs(offset)
        shape = list(a.shape[:-1])
        for d in sorted((dim1, dim2)):
            shape.insert(d, size)
        out = np.zeros(shape, a.dtype)
        _diagonal_view(out, offset, dim1, dim2)[...] = a
        return out

    def backward(ctx, grad):
        return grad.diagonal(*ctx.key)


def _diag_samples(g):
    shape = g.shape(min_dims=1, max_dims=2)
    return Sample((g.tensor(shape), g.integers(-3, 3)))


@op_function("diag", methods=("diag",), reference="torch.diag", samples=_diag_samples,
             dtypes=BOOL_AND_REAL, node_names=("DiagEmbedBackward0", "DiagonalBackward0_copy"),
             error_samples=(_raises(RuntimeError, "diag(): Supports 1D or 2D tensors. Got 3D",
                                    np.zeros((2, 2, 2))),
                            _raises(RuntimeError, "diag(): Supports 1D or 2D tensors. Got 0D",
                                    np.zeros(()))))
def diag(input, diagonal=0):
    """A vector becomes a square matrix with it on diagonal `diagonal`; a matrix gives a copy
    of its diagonal `diagonal` (0 the main one, > 0 above, < 0 below).

    vector: out = diag_embed(a, k);  d/da = grad.diagonal(k)
    matrix: out = a.diagonal(k).clone();  d/da = zeros with grad on diagonal k
    """
    diagonal = operator.index(diagonal)
    if input.ndim == 1:
        return DiagEmbed.apply(input, diagonal, 0, 1)
    if input.ndim == 2:
        return DiagonalCopy.apply(input, diagonal)
    raise RuntimeError(f"diag(): Supports 1D or 2D tensors. Got {input.ndim}D")


class Trace(Op):
    """The sum of the main diagonal of a matrix; integers add up to int64.

    out = sum_i a[i, i];  d/da = grad * eye(rows, columns)
    """

    name = "trace"
    methods = ("trace",)
    reference = "torch.trace"
    samples = unary(min_dims=2, max_dims=2)
    dtypes = ALL_REAL
    error_samples = (_raises(RuntimeError, "trace: expected a matrix, but got tensor with dim 1",
                             np.zeros(3)),
                     _raises(NotImplementedError, "\"trace\" not implemented for 'Bool'",
                             np.zeros((2, 2), bool)))

    def forward(ctx, a):
        if a.dtype == np.bool_:
            raise NotImplementedError("\"trace\" not implemented for 'Bool'")
        if a.ndim != 2:
            raise RuntimeError(f"trace: expected a matrix, but got tensor with dim {a.ndim}")
        ctx.shape = a.shape
        return np.asarray(np.trace(a, dtype=np.int64 if a.dtype.kind in "iu" else a.dtype))

    def backward(ctx, grad):
        return grad * eye(*ctx.shape, dtype=grad.dtype)


# ----------------------------------------------------------------------------------------------
# repeat, tile, repeat_interleave
# ----------------------------------------------------------------------------------------------
def _repeat_samples(g):
    shape = g.shape(max_dims=3, max_side=3)
    repeats = tuple(g.integers(0, 3) for _ in range(len(shape) + g.integers(0, 1)))
    return Sample((g.tensor(shape), repeats))


def _repeat_backward(grad, input_shape, repeats):
    """The gradient of `repeat`, summed over the copies in torch's order: each new leading dim
    on its own, then every repeated dim seen as (copies, size) and all copies at once."""
    if 0 in repeats:   # no copies at all: torch's gradient is zeros, outside the graph
        return zeros(input_shape, dtype=grad.dtype)
    lead = len(repeats) - len(input_shape)
    for _ in range(lead):
        grad = grad.sum(0)
    blocks, copies = [], []
    for repeat, size in zip(repeats[lead:], input_shape):
        if repeat != 1:
            copies.append(len(blocks))
            blocks.append(repeat)
        blocks.append(size)
    return grad.reshape(blocks).sum(copies) if copies else grad


class Repeat(Op):
    """`input` repeated `repeats[i]` times along each dim i, as a new tensor; extra leading
    repeats add dims (`x.repeat(2, 1, 1)` of a matrix stacks two copies).

    out = tile(a, repeats);  d/da = grad summed over the copies
    """

    name = "repeat"
    methods = ("repeat",)
    reference = "torch.Tensor.repeat"
    samples = _repeat_samples
    dtypes = BOOL_AND_REAL
    error_samples = (_raises(RuntimeError, "Number of dimensions of repeat dims can not be "
                             "smaller than number of dimensions of tensor", _M, (2,)),
                     _raises(RuntimeError, r"Trying to create tensor with negative dimension -3: "
                             r"\[-3, 4\]", _M, (-1, 1)))

    def forward(ctx, a, *repeats_args, repeats=None):
        repeats = _int_tuple(_shape_arg(repeats_args, "repeat", "repeats")
                             if repeats is None else repeats)
        if len(repeats) < a.ndim:
            raise RuntimeError("Number of dimensions of repeat dims can not be smaller than "
                               "number of dimensions of tensor")
        sizes = (1,) * (len(repeats) - a.ndim) + a.shape
        shape = [r * s for r, s in zip(repeats, sizes)]
        for size in shape:
            if size < 0:
                raise RuntimeError(f"Trying to create tensor with negative dimension {size}: "
                                   f"{shape}")
        ctx.input_shape = a.shape
        ctx.repeats = repeats
        return np.ascontiguousarray(np.tile(a, repeats)).reshape(shape)  # row-major, as torch

    def backward(ctx, grad):
        return _repeat_backward(grad, ctx.input_shape, ctx.repeats)


def _tile_samples(g):
    shape = g.shape(max_dims=3, max_side=3)
    dims = tuple(g.integers(0, 3) for _ in range(g.integers(0, len(shape) + 1)))
    return Sample((g.tensor(shape), dims))


@op_function("tile", methods=("tile",), reference="torch.tile", samples=_tile_samples,
             dtypes=BOOL_AND_REAL, node_names=("RepeatBackward0",),
             error_samples=(_raises(RuntimeError, "Trying to create tensor with negative "
                                    "dimension -4", _M, (-1,)),))
def tile(input, *dims_args, dims=None):
    """`input` repeated `dims[i]` times along each dim i; when `dims` is shorter than the
    tensor's shape, the leading dims are repeated once (numpy's `tile`).

    out = a.repeat((1, ...) + dims);  d/da = grad summed over the copies
    """
    dims = _int_tuple(_shape_arg(dims_args, "tile", "dims") if dims is None else dims)
    return Repeat.apply(input, (1,) * (input.ndim - len(dims)) + dims)


class IndexSelect(Op):
    """The slices of `input` at the positions `index` (a numpy array) along `dim`.

    out = a.index_select(dim, index);  d/da = zeros of a's shape, grad added at index
    """

    node_name = "IndexSelectBackward0"

    def forward(ctx, a, dim, index):
        ctx.input_shape = a.shape
        ctx.dim = dim
        ctx.index = index
        return np.take(a, index, axis=dim)

    def backward(ctx, grad):
        return IndexAddToZeros.apply(grad, ctx.input_shape, ctx.dim, ctx.index)


class IndexAddToZeros(Op):
    """Zeros of `input_shape` with the slices of `grad` added at positions `index` along
    `dim`; a position listed twice receives both.

    out = zeros.index_add(dim, index, g);  d/dg = grad.index_select(dim, index)
    """

    node_name = "IndexAddBackward0"

    def forward(ctx, grad, input_shape, dim, index):
        ctx.dim = dim
        ctx.index = index
        out = np.zeros(input_shape, grad.dtype)
        _add_at(out, (slice(None),) * dim + (index,), grad)
        return out

    def backward(ctx, grad):
        return IndexSelect.apply(grad, ctx.dim, ctx.index)


def _repeat_interleave_samples(g):
    shape = g.shape(max_dims=3, max_side=3)
    x = g.tensor(shape)
    dim = g.dim(len(shape), allow_none=True)
    size = int(np.prod(shape)) if dim is None else shape[dim] if shape else 1
    kind = g.sampled_from(["int", "tensor", "one"])
    if kind == "int":
        repeats = g.integers(0, 3)
    elif kind == "one":
        repeats = g.tensor((), 0, 3, dtype="int64", requires_grad=False, special=False)
    else:
        repeats = g.tensor((size,), 0, 3, dtype="int64", requires_grad=False, special=False)
    if dim is None and g.booleans():
        return Sample((x, repeats))
    return Sample((x, repeats), {"dim": dim})


def _repeat_counts(repeats, size, dim):
    """The count for each of the `size` slices along `dim`, from a tensor of repeats."""
    counts = repeats._data
    if counts.ndim > 1:
        raise RuntimeError("repeats must be 0-dim or 1-dim tensor")
    if counts.dtype.kind not in "iu":
        raise NotImplementedError(f"\"repeat_interleave_cpu\" not implemented for "
                                  f"'{_scalar_type_name(counts.dtype)}'")
    if counts.size == 1:
        counts = np.full(size, counts.reshape(()), np.int64)
    if counts.shape[0] != size:
        raise RuntimeError(f"repeats must have the same size as input along dim, but got "
                           f"repeats.size(0) = {counts.shape[0]} and input.size({dim}) = {size}")
    if (counts < 0).any():
        raise RuntimeError("repeats can not be negative")
    return counts


def _repeated_positions(counts, output_size):
    """`torch.repeat_interleave(counts)`: 0, 1, 2, ... with position i repeated counts[i]
    times (int64, no gradient)."""
    data = counts._data
    if data.ndim != 1:
        raise RuntimeError("repeat_interleave only accept 1D vector as repeat")
    if data.dtype.kind not in "iu":
        raise NotImplementedError(f"\"repeat_interleave_cpu\" not implemented for "
                                  f"'{_scalar_type_name(data.dtype)}'")
    if (data < 0).any():
        raise RuntimeError("repeats can not be negative")
    positions = np.repeat(np.arange(data.shape[0], dtype=np.int64), data)
    if output_size is not None and output_size != positions.size:
        raise RuntimeError("allocated size does not match required size")
    return Tensor._make(positions)


@op_function("repeat_interleave", methods=("repeat_interleave",),
             reference="torch.repeat_interleave", samples=_repeat_interleave_samples,
             dtypes=BOOL_AND_REAL, node_names=("ViewBackward0", "IndexSelectBackward0"),
             error_samples=(_raises(RuntimeError, "Repeats must be non-negative", _M, -1),
                            _raises(RuntimeError, r"repeats must have the same size as input "
                                    r"along dim, but got repeats.size\(0\) = 2 and "
                                    r"input.size\(0\) = 3", _M, np.array([1, 2]), dim=0),
                            _raises(RuntimeError, "repeats can not be negative", _M,
                                    np.array([1, -2, 1]), dim=0),
                            _raises(RuntimeError, "Invalid output_size, expected 24 but got 5",
                                    _M, 2, output_size=5)))
def repeat_interleave(input, repeats=None, dim=None, *, output_size=None):
    """Each element of `input` repeated: `repeats` times (an int), or `repeats[i]` times for
    the i-th slice along `dim` (a tensor of counts); without `dim` the flattened input.
    `torch.repeat_interleave(counts)` alone gives the positions 0, 1, ... repeated.

    out = a.index_select(dim, each position repeated);  d/da = grad summed over the copies

    As in torch, an int count is unsqueeze, expand, clone and view (ViewBackward0), and a
    tensor of counts an index_select (IndexSelectBackward0).
    """
    if repeats is None:
        return _repeated_positions(input, output_size)
    if dim is None:
        input = flatten(input)
        dim = 0
    if isinstance(repeats, Tensor):
        size = input.shape[_wrap_dim_no_scalar(dim, input.ndim)]
        index = np.repeat(np.arange(size), _repeat_counts(repeats, size, dim))
        if output_size is not None and output_size != index.size:
            raise RuntimeError("allocated size does not match required size")
        return IndexSelect.apply(input, _wrap_dim(dim, input.ndim), index)
    dim = _wrap_dim(dim, input.ndim)
    repeats = operator.index(repeats)
    if repeats < 0:
        raise RuntimeError("Repeats must be non-negative")
    shape = input.shape
    total = shape[dim] * repeats if shape else repeats
    if output_size is not None and output_size != total:
        raise RuntimeError(f"repeat_interleave: Invalid output_size, expected {total} but got "
                           f"{output_size}")
    copies = Unsqueeze.apply(input, dim + 1)
    copies = Expand.apply(copies, shape[:dim + 1] + (repeats,) + shape[dim + 1:])
    return View.apply(Clone.apply(copies), shape[:dim] + (total,) + shape[dim + 1:])


# ----------------------------------------------------------------------------------------------
# movedim, unflatten, view_as, reshape_as
# ----------------------------------------------------------------------------------------------
def _movedim_samples(g):
    shape = g.shape(min_dims=1, max_dims=4, max_side=3)
    ndim = len(shape)
    count = g.integers(1, ndim)
    source = g.sampled_from(list(itertools.permutations(range(ndim), count)))
    destination = g.sampled_from(list(itertools.permutations(range(ndim), count)))
    if count == 1 and g.booleans():
        return Sample((g.tensor(shape), source[0], destination[0] - ndim))
    return Sample((g.tensor(shape), source, destination))


@op_function("movedim", aliases=("moveaxis",), methods=("movedim", "moveaxis"),
             reference="torch.movedim", samples=_movedim_samples, dtypes=BOOL_AND_REAL,
             node_names=("PermuteBackward0",),
             error_samples=(_raises(RuntimeError, r"movedim: Invalid source or destination dims: "
                                    r"source \(\[0, 1\] dims\) should contain the same number of "
                                    r"dims as destination \(\[0\] dims\)", _M, (0, 1), (0,)),
                            _raises(RuntimeError, r"movedim: repeated dim in `source` "
                                    r"\(\[0, -2\]\)", _M, (0, -2), (0, 1)),
                            _raises(IndexError, "Dimension out of range", _M, 0, 2)))
def movedim(input, source, destination):
    """A view of `input` with the dims `source` moved to the positions `destination` (ints
    or sequences); the other dims keep their order.

    out = a.permute(order);  d/da = grad.permute(inverse of order)
    """
    source = _int_tuple(source)
    destination = _int_tuple(destination)
    if len(source) != len(destination):
        raise RuntimeError(f"movedim: Invalid source or destination dims: source "
                           f"({list(source)} dims) should contain the same number of dims as "
                           f"destination ({list(destination)} dims)")
    ndim = input.ndim
    wrapped_source = [_wrap_dim(d, ndim) for d in source]
    wrapped_destination = [_wrap_dim(d, ndim) for d in destination]
    for name, given, wrapped in (("source", source, wrapped_source),
                                 ("destination", destination, wrapped_destination)):
        if len(set(wrapped)) != len(wrapped):
            raise RuntimeError(f"movedim: repeated dim in `{name}` ({list(given)})")
    if ndim == 0:
        return Alias.apply(input)   # as torch: nothing to move
    order = [None] * ndim
    for s, d in zip(wrapped_source, wrapped_destination):
        order[d] = s
    rest = iter(d for d in range(ndim) if d not in wrapped_source)
    return Permute.apply(input, tuple(next(rest) if o is None else o for o in order))


def _unflatten_samples(g):
    shape = g.shape(min_dims=1, max_dims=3)
    dim = g.dim(len(shape))
    size = shape[dim]
    first = g.sampled_from([d for d in range(1, size + 1) if size % d == 0])
    sizes = [first, size // first]
    if g.booleans():
        sizes[g.integers(0, 1)] = -1
    return Sample((g.tensor(shape), dim, tuple(sizes)))


@op_function("unflatten", methods=("unflatten",), reference="torch.unflatten",
             samples=_unflatten_samples, dtypes=BOOL_AND_REAL, node_names=("ViewBackward0",),
             error_samples=(_raises(RuntimeError, r"unflatten: Provided sizes \[3, 2\] don't "
                                    r"multiply up to the size of dim 1 \(4\) in the input tensor",
                                    _M, 1, (3, 2)),
                            _raises(RuntimeError, "unflatten: sizes must be non-empty", _M, 1,
                                    ())))
def unflatten(input, dim, sizes):
    """A view of `input` with dim `dim` split into dims of the given `sizes` (one may be -1),
    the inverse of `flatten`.

    out = a.view(shape with dim split);  d/da = grad.reshape(a.shape)
    """
    sizes = _int_tuple(sizes)
    if not sizes:
        raise RuntimeError("unflatten: sizes must be non-empty")
    dim = _wrap_dim(dim, input.ndim)
    try:
        if input.ndim == 0:
            raise RuntimeError(f"Dimension specified as {dim} but tensor has no dimensions")
        sizes = _infer_shape(sizes, input.shape[dim])
    except RuntimeError as error:  # torch's wording for sizes that do not fit; else as is
        if "is invalid for input of size" in str(error):
            raise RuntimeError(f"unflatten: Provided sizes {list(sizes)} don't multiply up to "
                               f"the size of dim {dim} ({input.shape[dim]}) in the input "
                               "tensor") from None
        raise RuntimeError(f"unflatten got an unexpected error:\n{error}") from None
    return View.apply(input, input.shape[:dim] + sizes + input.shape[dim + 1:])


def _as_samples(g):
    sample = _reshape_samples(g)
    x, shape = sample.args
    return Sample((x, g.tensor(shape if -1 not in shape else (x.array.size,),
                               requires_grad=False)))


@op_function("view_as", methods=("view_as",), reference="torch.Tensor.view_as",
             samples=_as_samples, dtypes=BOOL_AND_REAL, node_names=("ViewBackward0",),
             error_samples=(_raises(RuntimeError, r"shape '\[4\]' is invalid for input of size 12",
                                    _M, np.zeros(4)),))
def view_as(input, other):
    """`input` viewed with the shape of `other` (`input.view(other.shape)`).

    out = a.view(other.shape);  d/da = grad.reshape(a.shape)
    """
    return View.apply(input, tuple(other.shape))


@op_function("reshape_as", methods=("reshape_as",), reference="torch.Tensor.reshape_as",
             samples=_as_samples, dtypes=BOOL_AND_REAL,
             node_names=("ViewBackward0", "ReshapeAliasBackward0", "UnsafeViewBackward0"),
             error_samples=(_raises(RuntimeError, r"shape '\[4\]' is invalid for input of size 12",
                                    _M, np.zeros(4)),))
def reshape_as(input, other):
    """`input` reshaped to the shape of `other` (`input.reshape(other.shape)`): a view when
    the memory allows, else a copy.

    out = a.reshape(other.shape);  d/da = grad.reshape(a.shape)
    """
    return reshape(input, tuple(other.shape))


# ----------------------------------------------------------------------------------------------
# meshgrid
# ----------------------------------------------------------------------------------------------
_MESHGRID_WARNING = ("torch.meshgrid: in an upcoming release, it will be required to pass the "
                     "indexing argument.")


def _tensor_sequence(tensors, function):
    """`f(a, b)` and `f([a, b])` both mean the tensors a, b; anything else is torch's error."""
    if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
        tensors = tensors[0]
    for i, t in enumerate(tensors):
        if not isinstance(t, Tensor):
            raise TypeError(f"expected Tensor as element {i} in argument 0, but got "
                            f"{type(t).__name__}")
    return list(tensors)


def _meshgrid_samples(g):
    tensors = [g.tensor(g.sampled_from([(), (g.integers(0, 3),)]))
               for _ in range(g.integers(1, 3))]
    indexing = g.sampled_from(["ij", "xy"])
    if g.booleans():
        return Sample(tuple(tensors), {"indexing": indexing})
    return Sample((tensors,), {"indexing": indexing})


@op_function("meshgrid", reference="torch.meshgrid", samples=_meshgrid_samples,
             dtypes=BOOL_AND_REAL, node_names=("ExpandBackward0",),
             error_samples=(_raises(RuntimeError, "meshgrid expects all tensors to have the same "
                                    "dtype", np.zeros(2), np.zeros(3, np.float32), indexing="ij"),
                            _raises(RuntimeError, "Expected 0D or 1D tensor in the tensor list",
                                    np.zeros(2), _M, indexing="ij"),
                            _raises(RuntimeError, 'indexing must be one of "xy" or "ij", but '
                                    "received: ji", np.zeros(2), indexing="ji")))
def meshgrid(*tensors, indexing=None):
    """Coordinate grids from 0-D or 1-D tensors: output i holds tensor i's values along dim i
    of a grid of shape (len(t0), len(t1), ...), as a view of it (expanded). With
    `indexing="xy"` the first two dims are swapped (numpy's default); without `indexing`,
    "ij" with torch's warning.

    out_i = t_i.view(shape with -1 at i).expand(grid);  d/dt_i = grad_i summed to t_i
    """
    if indexing is None:
        warnings.warn(_MESHGRID_WARNING, UserWarning, stacklevel=2)
        indexing = "ij"
    tensors = _tensor_sequence(tensors, "meshgrid")
    if not tensors:
        raise RuntimeError("meshgrid expects a non-empty TensorList")
    for t in tensors:
        if t.ndim > 1:
            raise RuntimeError(f"torch.meshgrid: Expected 0D or 1D tensor in the tensor list "
                               f"but got: {t}")
        if t.dtype != tensors[0].dtype:
            raise RuntimeError("meshgrid expects all tensors to have the same dtype")
    if indexing not in ("ij", "xy"):
        raise RuntimeError(f'torch.meshgrid: indexing must be one of "xy" or "ij", but '
                           f"received: {indexing}")
    swap = indexing == "xy" and len(tensors) >= 2
    if swap:  # "xy" is "ij" on the first two tensors swapped, with the two grids swapped back
        tensors[0], tensors[1] = tensors[1], tensors[0]
    shape = tuple(t.numel() for t in tensors)
    grids = []
    for i, t in enumerate(tensors):
        along_i = tuple(-1 if d == i else 1 for d in range(len(tensors)))
        grids.append(Expand.apply(View.apply(t, along_i), shape))
    if swap:
        grids[0], grids[1] = grids[1], grids[0]
    return tuple(grids)


# ----------------------------------------------------------------------------------------------
# tensor_split, hsplit, vsplit, dsplit: one SliceBackward0 view per piece
# ----------------------------------------------------------------------------------------------
def _split_points(indices_or_sections):
    """("sections", n) or ("indices", [i, ...]) from an int, a sequence or an int64 tensor."""
    value = indices_or_sections
    if isinstance(value, Tensor):
        data = value._data
        if data.dtype != np.int64:
            raise RuntimeError(f"tensor_split expected tensor_indices_or_sections to have dtype "
                               f"of long, but got {_scalar_type_name(data.dtype)}")
        if data.ndim > 1:
            raise RuntimeError(f"tensor_split expected tensor_indices_or_sections to be a "
                               f"zero-dimensional or one-dimensional tensor, but got a tensor "
                               f"with {data.ndim} dims")
        value = int(data) if data.ndim == 0 else data.tolist()
    if isinstance(value, (list, tuple)):
        return "indices", [operator.index(i) for i in value]
    return "sections", operator.index(value)


def _tensor_split_samples(g):
    shape = g.shape(min_dims=1, max_dims=3, max_side=5)
    dim = g.dim(len(shape))
    size = shape[dim]
    kind = g.sampled_from(["sections", "indices", "tensor"])
    if kind == "sections":
        split = g.integers(1, 4)
    else:
        split = sorted(g.integers(-size - 1, size + 1) for _ in range(g.integers(0, 3)))
        if kind == "tensor":
            split = SampleTensor(np.array(split, np.int64), False)
    if dim == 0 and g.booleans():
        return Sample((g.tensor(shape), split))
    return Sample((g.tensor(shape), split, dim))


@op_function("tensor_split", methods=("tensor_split",), reference="torch.tensor_split",
             samples=_tensor_split_samples, dtypes=BOOL_AND_REAL, node_names=("SliceBackward0",),
             error_samples=(_raises(RuntimeError, "number of sections must be larger than 0, "
                                    "got 0", _M, 0),
                            _raises(RuntimeError, "tensor_split expected at least a "
                                    "1-dimensional tensor, but got a tensor with 0 dims",
                                    np.zeros(()), 1),
                            _raises(RuntimeError, "to have dtype of long, but got Float", _M,
                                    np.array([1.0], np.float32))))
def tensor_split(input, indices_or_sections, dim=0):
    """Views of `input` along `dim`: `sections` pieces as equal as possible (the first ones
    one longer), or the pieces between the `indices` (Python slicing bounds: clamped, and
    empty when an index is before the previous one).

    outs = [a[..., start:stop, ...] for each piece];  d/da = the grads put back in place
    """
    if input.ndim == 0:
        raise RuntimeError(f"tensor_split expected at least a 1-dimensional tensor, but got a "
                           f"tensor with {input.ndim} dims")
    kind, value = _split_points(indices_or_sections)
    dim = _wrap_dim(dim, input.ndim)
    size = input.shape[dim]
    if kind == "sections":
        if value <= 0:
            raise RuntimeError(f"number of sections must be larger than 0, got {value}")
        lengths = [size // value + 1] * (size % value) + [size // value] * (value - size % value)
        stops = list(itertools.accumulate(lengths))
        bounds = [(stop - length, stop) for stop, length in zip(stops, lengths)]
    else:
        bounds = list(zip([0] + value, value + [size]))
    return tuple(Slice.apply(input, dim, *_slice_bounds(slice(start, stop), size))
                 for start, stop in bounds)


def _not_divisible(function, dim, size, sections):
    return (f"torch.{function} attempted to split along dimension {dim}, but the size of the "
            f"dimension {size} is not divisible by the split_size {sections}!")


def _split_along(input, indices_or_sections, dim, function):
    """hsplit, vsplit, dsplit: tensor_split along `dim`, where a number of sections must
    split it into equal pieces."""
    if not isinstance(indices_or_sections, (list, tuple)):
        sections = operator.index(indices_or_sections)
        size = input.shape[dim]
        if sections == 0 or size % sections:
            raise RuntimeError(_not_divisible(function, dim, size, sections))
    return tensor_split(input, indices_or_sections, dim)


def _split_along_samples(min_dims, dim_of):
    """A domain for hsplit, vsplit, dsplit: a tensor, and equal sections of the dim
    `dim_of(ndim)` or indices into it."""
    def samples(g):
        shape = g.shape(min_dims=min_dims, max_dims=3, max_side=4)
        size = shape[dim_of(len(shape))]
        if g.booleans():
            split = g.sampled_from([d for d in range(1, size + 1) if size % d == 0])
        else:
            split = sorted(g.integers(0, size) for _ in range(g.integers(0, 2)))
        return Sample((g.tensor(shape), split))

    return samples


@op_function("hsplit", methods=("hsplit",), reference="torch.hsplit",
             samples=_split_along_samples(1, lambda ndim: 0 if ndim == 1 else 1),
             dtypes=BOOL_AND_REAL, node_names=("SliceBackward0",),
             error_samples=(_raises(RuntimeError, _not_divisible("hsplit", 1, 4, 3), _M, 3),
                            _raises(RuntimeError, "torch.hsplit requires a tensor with at least "
                                    "1 dimension, but got a tensor with 0 dimensions!",
                                    np.zeros(()), 1)))
def hsplit(input, indices_or_sections):
    """`tensor_split` along the columns: dim 1, or dim 0 of a vector; an int must split the
    dim into equal pieces.

    outs = a.tensor_split(sections, 1);  d/da = the grads put back in place
    """
    if input.ndim < 1:
        raise RuntimeError(f"torch.hsplit requires a tensor with at least 1 dimension, but got "
                           f"a tensor with {input.ndim} dimensions!")
    return _split_along(input, indices_or_sections, 0 if input.ndim == 1 else 1, "hsplit")


@op_function("vsplit", methods=("vsplit",), reference="torch.vsplit",
             samples=_split_along_samples(2, lambda ndim: 0), dtypes=BOOL_AND_REAL,
             node_names=("SliceBackward0",),
             error_samples=(_raises(RuntimeError, _not_divisible("vsplit", 0, 3, 2), _M, 2),
                            _raises(RuntimeError, "torch.vsplit requires a tensor with at least "
                                    "2 dimension, but got a tensor with 1 dimensions!",
                                    np.zeros(3), 1)))
def vsplit(input, indices_or_sections):
    """`tensor_split` along the rows (dim 0) of a tensor of at least 2 dims; an int must split
    the dim into equal pieces.

    outs = a.tensor_split(sections, 0);  d/da = the grads put back in place
    """
    if input.ndim < 2:
        raise RuntimeError(f"torch.vsplit requires a tensor with at least 2 dimension, but got "
                           f"a tensor with {input.ndim} dimensions!")
    return _split_along(input, indices_or_sections, 0, "vsplit")


@op_function("dsplit", methods=("dsplit",), reference="torch.dsplit",
             samples=_split_along_samples(3, lambda ndim: 2), dtypes=BOOL_AND_REAL,
             node_names=("SliceBackward0",),
             error_samples=(_raises(RuntimeError, _not_divisible("dsplit", 2, 4, 3),
                                    np.zeros((2, 3, 4)), 3),
                            _raises(RuntimeError, "torch.dsplit requires a tensor with at least "
                                    "3 dimension, but got a tensor with 2 dimensions!", _M, 1)))
def dsplit(input, indices_or_sections):
    """`tensor_split` along the depth (dim 2) of a tensor of at least 3 dims; an int must split
    the dim into equal pieces.

    outs = a.tensor_split(sections, 2);  d/da = the grads put back in place
    """
    if input.ndim < 3:
        raise RuntimeError(f"torch.dsplit requires a tensor with at least 3 dimension, but got "
                           f"a tensor with {input.ndim} dimensions!")
    return _split_along(input, indices_or_sections, 2, "dsplit")


# ----------------------------------------------------------------------------------------------
# atleast_1d/2d/3d, hstack, vstack, dstack, column_stack
# ----------------------------------------------------------------------------------------------
def _atleast_samples(g):
    tensors = [g.tensor(g.shape(max_dims=4, max_side=3)) for _ in range(g.integers(1, 3))]
    if len(tensors) == 1 and g.booleans():
        return Sample((tensors[0],))
    return Sample(tuple(tensors) if g.booleans() else (tensors,))


def _atleast(tensors, function, make):
    """`make` applied to one tensor, or to each of several (then a tuple)."""
    if len(tensors) == 1 and isinstance(tensors[0], Tensor):
        return make(tensors[0])
    if len(tensors) == 1 and not isinstance(tensors[0], (list, tuple)):
        raise TypeError(f"{function}() received an invalid combination of arguments - got "
                        f"({type(tensors[0]).__name__}), but expected one of:\n"
                        " * (Tensor input)\n * (tuple of Tensors tensors)\n")
    return tuple(make(t) for t in _tensor_sequence(tensors, function))


def _at_least_1d(t):
    return View.apply(t, (1,)) if t.ndim == 0 else t


def _at_least_2d(t):
    if t.ndim == 0:
        return View.apply(t, (1, 1))
    return Unsqueeze.apply(t, 0) if t.ndim == 1 else t


def _at_least_3d(t):
    if t.ndim == 0:
        return View.apply(t, (1, 1, 1))
    if t.ndim == 1:
        return Unsqueeze.apply(Unsqueeze.apply(t, 0), -1)
    return Unsqueeze.apply(t, -1) if t.ndim == 2 else t


_ATLEAST_ERRORS = (_raises(TypeError, "expected Tensor as element 1", np.zeros(2), 1),)


@op_function("atleast_1d", reference="torch.atleast_1d", samples=_atleast_samples,
             dtypes=BOOL_AND_REAL, node_names=("ViewBackward0",), error_samples=_ATLEAST_ERRORS)
def atleast_1d(*tensors):
    """Each tensor with at least 1 dim: a 0-dim tensor is viewed as shape (1,), others are
    returned as they are. One tensor gives a tensor, several (or a sequence) a tuple.

    out = a.view(1) if a is 0-dim else a;  d/da = grad.reshape(a.shape)
    """
    return _atleast(tensors, "atleast_1d", _at_least_1d)


@op_function("atleast_2d", reference="torch.atleast_2d", samples=_atleast_samples,
             dtypes=BOOL_AND_REAL, node_names=("ViewBackward0", "UnsqueezeBackward0"),
             error_samples=_ATLEAST_ERRORS)
def atleast_2d(*tensors):
    """Each tensor with at least 2 dims: 0-dim becomes (1, 1), a vector (1, n), others are
    returned as they are. One tensor gives a tensor, several (or a sequence) a tuple.

    out = a.view(1, 1) / a.unsqueeze(0) / a;  d/da = grad reshaped back to a's shape
    """
    return _atleast(tensors, "atleast_2d", _at_least_2d)


@op_function("atleast_3d", reference="torch.atleast_3d", samples=_atleast_samples,
             dtypes=BOOL_AND_REAL, node_names=("ViewBackward0", "UnsqueezeBackward0"),
             error_samples=_ATLEAST_ERRORS)
def atleast_3d(*tensors):
    """Each tensor with at least 3 dims: 0-dim becomes (1, 1, 1), a vector (1, n, 1), a matrix
    (m, n, 1), others are returned as they are. One tensor gives a tensor, several (or a
    sequence) a tuple.

    out = a.view(1, 1, 1) / a.unsqueeze(0).unsqueeze(-1) / a.unsqueeze(-1) / a;
    d/da = grad reshaped back to a's shape
    """
    return _atleast(tensors, "atleast_3d", _at_least_3d)


def _tensor_list(tensors, function):
    """The tensors a stacking function joins, checked as torch checks them."""
    if isinstance(tensors, Tensor):
        raise TypeError(f"{function}(): argument 'tensors' (position 1) must be tuple of "
                        "Tensors, not Tensor")
    tensors = _tensor_sequence((tensors,), function)
    if not tensors:
        raise RuntimeError(f"{function} expects a non-empty TensorList")
    return tensors


def _stacking_samples(g):
    shape = list(g.shape(max_dims=3, max_side=3))
    tensors = []
    for _ in range(g.integers(1, 3)):
        if len(shape) == 1 and g.booleans():
            shape[0] = g.integers(1, 3)            # hstack joins vectors of any lengths
        elif len(shape) >= 2 and g.booleans():
            shape[1] = g.integers(1, 3)            # ... and matrices along dim 1
        tensors.append(g.tensor(tuple(shape)))
    return Sample((tensors,))


def _vstack_samples(g):
    shape = list(g.shape(max_dims=3, max_side=3))
    tensors = []
    for _ in range(g.integers(1, 3)):
        if len(shape) >= 2 and g.booleans():
            shape[0] = g.integers(1, 3)
        tensors.append(g.tensor(tuple(shape)))
    return Sample((tensors,))


def _dstack_samples(g):
    shape = list(g.shape(max_dims=4, max_side=3))
    tensors = []
    for _ in range(g.integers(1, 3)):
        if len(shape) >= 3 and g.booleans():
            shape[2] = g.integers(1, 3)
        tensors.append(g.tensor(tuple(shape)))
    return Sample((tensors,))


def _column_stack_samples(g):
    rows = g.integers(1, 3)
    tensors = [g.tensor(g.sampled_from([(rows,), (rows, g.integers(1, 3))] +
                                       ([()] if rows == 1 else [])))
               for _ in range(g.integers(1, 3))]
    return Sample((tensors,))


def _stack_errors(function):
    return (_raises(TypeError, f"{function}(): argument 'tensors' (position 1) must be tuple of "
                    "Tensors, not Tensor", _M),
            _raises(RuntimeError, f"{function} expects a non-empty TensorList", []))


@op_function("hstack", reference="torch.hstack", samples=_stacking_samples,
             dtypes=BOOL_AND_REAL, node_names=("CatBackward0",), error_samples=_stack_errors(
                 "hstack") + (_raises(RuntimeError, "Tensors must have same number of "
                                      "dimensions: got 2 and 1", [_M, np.zeros(3)]),))
def hstack(tensors):
    """The tensors joined along their columns: `cat` along dim 1, or dim 0 if they are vectors
    (0-dim tensors count as vectors of length 1); dtypes promote.

    out = cat(atleast_1d(tensors), 1 or 0);  d/dtensors[i] = its slice of grad
    """
    tensors = [_at_least_1d(t) for t in _tensor_list(tensors, "hstack")]
    return Cat.apply(tensors, 0 if tensors[0].ndim == 1 else 1)


@op_function("vstack", reference="torch.vstack", samples=_vstack_samples,
             dtypes=BOOL_AND_REAL, node_names=("CatBackward0",),
             error_samples=_stack_errors("vstack"))
def vstack(tensors):
    """The tensors stacked as rows: each made at least 2-D (a vector is one row), then `cat`
    along dim 0; dtypes promote.

    out = cat(atleast_2d(tensors), 0);  d/dtensors[i] = its slice of grad
    """
    return Cat.apply([_at_least_2d(t) for t in _tensor_list(tensors, "vstack")], 0)


@op_function("row_stack", reference="torch.row_stack", samples=_vstack_samples,
             dtypes=BOOL_AND_REAL, node_names=("CatBackward0",),
             error_samples=_stack_errors("row_stack"))
def row_stack(tensors):
    """`vstack` by its other name (its errors say `row_stack`).

    out = cat(atleast_2d(tensors), 0);  d/dtensors[i] = its slice of grad
    """
    return Cat.apply([_at_least_2d(t) for t in _tensor_list(tensors, "row_stack")], 0)


@op_function("dstack", reference="torch.dstack", samples=_dstack_samples,
             dtypes=BOOL_AND_REAL, node_names=("CatBackward0",),
             error_samples=_stack_errors("dstack"))
def dstack(tensors):
    """The tensors stacked in depth: each made at least 3-D, then `cat` along dim 2; dtypes
    promote.

    out = cat(atleast_3d(tensors), 2);  d/dtensors[i] = its slice of grad
    """
    return Cat.apply([_at_least_3d(t) for t in _tensor_list(tensors, "dstack")], 2)


@op_function("column_stack", reference="torch.column_stack", samples=_column_stack_samples,
             dtypes=BOOL_AND_REAL, node_names=("CatBackward0",),
             error_samples=_stack_errors("column_stack"))
def column_stack(tensors):
    """The tensors side by side as columns: a vector (or a number) becomes one column, the
    others are joined as they are, with `cat` along dim 1; dtypes promote.

    out = cat([t.reshape(-1, 1) if t.ndim <= 1 else t], 1);  d/dtensors[i] = its slice of grad
    """
    tensors = _tensor_list(tensors, "column_stack")
    return Cat.apply([reshape(t, (t.numel(), 1)) if t.ndim <= 1 else t for t in tensors], 1)


# ----------------------------------------------------------------------------------------------
# In-place shape methods: t_, transpose_ (swapaxes_, swapdims_), squeeze_, unsqueeze_
# (see Note [In-place shape methods])
# ----------------------------------------------------------------------------------------------
class TInPlace(T):
    """`x.t_()`: the transpose, recorded as torch's in-place Node (TBackward1).

    out = a.t();  d/da = grad.t()
    """

    name = None
    node_name = "TBackward1"
    backward = T.backward

    def forward(ctx, a):
        if a.ndim > 2:
            raise RuntimeError(f"t_() expects a tensor with <= 2 dimensions, but self is "
                               f"{a.ndim}D")
        return a.T


class TransposeInPlace(Transpose):
    """`x.transpose_(d0, d1)`, recorded as torch's in-place Node (TransposeBackward1).

    out = a.transpose(d0, d1);  d/da = grad.transpose(d0, d1)
    """

    name = None
    node_name = "TransposeBackward1"
    forward = Transpose.forward
    backward = Transpose.backward


class SqueezeAllInPlace(SqueezeAll):
    """`x.squeeze_()` (SqueezeBackward3).  out = a.squeeze();  d/da = grad.unsqueeze(...)"""

    node_name = "SqueezeBackward3"
    forward = SqueezeAll.forward
    backward = SqueezeAll.backward


class SqueezeDimInPlace(SqueezeDim):
    """`x.squeeze_(dim)` (SqueezeBackward4).  out = a.squeeze(dim);  d/da = grad.unsqueeze(dim)"""

    node_name = "SqueezeBackward4"
    forward = SqueezeDim.forward
    backward = SqueezeDim.backward


class SqueezeDimsInPlace(SqueezeDims):
    """`x.squeeze_(dims)` (SqueezeBackward5).  out = a.squeeze(dims);  d/da = grad unsqueezed"""

    node_name = "SqueezeBackward5"
    forward = SqueezeDims.forward
    backward = SqueezeDims.backward


class UnsqueezeInPlace(Unsqueeze):
    """`x.unsqueeze_(dim)`, recorded as torch's in-place Node (UnsqueezeBackward1).

    out = a.unsqueeze(dim);  d/da = grad.squeeze(dim)
    """

    name = None
    node_name = "UnsqueezeBackward1"
    forward = Unsqueeze.forward
    backward = Unsqueeze.backward


def _check_inplace_allowed(tensor):
    """torch's refusal to change a leaf that requires grad (or a view of one) in place."""
    if not is_grad_enabled():
        return
    if tensor._requires_grad and tensor._grad_fn is None:
        raise RuntimeError("a leaf Variable that requires grad is being used in an in-place "
                           "operation.")
    base = tensor._base
    if base is not None and base._requires_grad and base._grad_fn is None:
        raise RuntimeError("a view of a leaf Variable that requires grad is being used in an "
                           "in-place operation.")


def _reshape_in_place(op, tensor, *args):
    """Run the view op `op` on `tensor`, then make `tensor` that view (see Note [In-place shape
    methods]): its data is the view's, its version is bumped, its grad_fn is the op's node."""
    _check_inplace_allowed(tensor)
    result = op.apply(tensor, *args)
    tensor._data = result._data
    tensor._version_counter.bump()
    node = result._grad_fn
    if node is not None:
        # (a gradient retained before stays with the old grad_fn: torch's `.grad` then keeps
        # the old shape)
        tensor._grad_fn = node
        tensor._output_nr = 0
        tensor._requires_grad = True
        if tensor._base is not None:   # its new grad_fn is up to date
            tensor._view_version = tensor._version_counter.version
    return tensor


def _inplace_samples(samples):
    """A domain for an in-place method: `samples`, with the first tensor sometimes not
    requiring grad (torch refuses to change a leaf that does in place, so only then does
    calling the function itself compare anything; the suite's in-place check calls the
    method on a non-leaf clone)."""
    def inplace_samples(g):
        sample = samples(g)
        first = sample.args[0]
        first.requires_grad = first.requires_grad and g.booleans()
        return sample

    return inplace_samples


_LEAF_ERROR = "a leaf Variable that requires grad is being used in an in-place operation."


@op_function("t_", methods=("t_",), reference="torch.Tensor.t_",
             samples=_inplace_samples(unary(max_dims=2)), dtypes=BOOL_AND_REAL,
             node_names=("TBackward1",),
             error_samples=(_raises(RuntimeError, "t_\\(\\) expects a tensor with <= 2 "
                                    "dimensions, but self is 3D", np.zeros((2, 3, 4))),))
def t_(input):
    """Transpose a matrix in place: `input` becomes the view `input.t()`; returns it.

    out = a.t();  d/da = grad.t()
    """
    return _reshape_in_place(TInPlace, input)


_TRANSPOSE_ERRORS = (_raises(IndexError, "Dimension out of range", _M, 0, 2),)


@op_function("transpose_", methods=("transpose_",), reference="torch.Tensor.transpose_",
             samples=_inplace_samples(_transpose_samples), dtypes=BOOL_AND_REAL,
             node_names=("TransposeBackward1",), error_samples=_TRANSPOSE_ERRORS)
def transpose_(input, dim0, dim1):
    """Swap dims `dim0` and `dim1` of `input` in place (it becomes that view); returns it.

    out = a.transpose(d0, d1);  d/da = grad.transpose(d0, d1)
    """
    return _reshape_in_place(TransposeInPlace, input, dim0, dim1)


@op_function("swapaxes_", methods=("swapaxes_",), reference="torch.Tensor.swapaxes_",
             samples=_inplace_samples(_transpose_samples), dtypes=BOOL_AND_REAL,
             node_names=("TransposeBackward1",), error_samples=_TRANSPOSE_ERRORS)
def swapaxes_(input, axis0, axis1):
    """`transpose_` with numpy's argument names; returns `input`.

    out = a.transpose(d0, d1);  d/da = grad.transpose(d0, d1)
    """
    return _reshape_in_place(TransposeInPlace, input, axis0, axis1)


@op_function("swapdims_", methods=("swapdims_",), reference="torch.Tensor.swapdims_",
             samples=_inplace_samples(_transpose_samples), dtypes=BOOL_AND_REAL,
             node_names=("TransposeBackward1",), error_samples=_TRANSPOSE_ERRORS)
def swapdims_(input, dim0, dim1):
    """`transpose_` by another name; returns `input`.

    out = a.transpose(d0, d1);  d/da = grad.transpose(d0, d1)
    """
    return _reshape_in_place(TransposeInPlace, input, dim0, dim1)


@op_function("squeeze_", methods=("squeeze_",), reference="torch.Tensor.squeeze_",
             samples=_inplace_samples(_squeeze_samples), dtypes=BOOL_AND_REAL,
             node_names=("SqueezeBackward3", "SqueezeBackward4", "SqueezeBackward5"),
             error_samples=(_raises(RuntimeError, "dim 0 appears multiple times in the list "
                                    "of dims", np.zeros((1, 3, 1)), (0, -3)),))
def squeeze_(input, dim=None):
    """Remove size-1 dims of `input` in place (all, or those among `dim`); returns it.

    out = a.squeeze(dim);  d/da = grad with the removed dims re-inserted
    """
    if dim is None:
        return _reshape_in_place(SqueezeAllInPlace, input)
    if isinstance(dim, (tuple, list)):
        return _reshape_in_place(SqueezeDimsInPlace, input, dim)
    return _reshape_in_place(SqueezeDimInPlace, input, dim)


@op_function("unsqueeze_", methods=("unsqueeze_",), reference="torch.Tensor.unsqueeze_",
             samples=_inplace_samples(_unsqueeze_samples), dtypes=BOOL_AND_REAL,
             node_names=("UnsqueezeBackward1",),
             error_samples=(_raises(IndexError, "Dimension out of range", _M, 3),))
def unsqueeze_(input, dim):
    """Insert a size-1 dim at `dim` of `input` in place; returns it.

    out = a.unsqueeze(dim);  d/da = grad.squeeze(dim)
    """
    return _reshape_in_place(UnsqueezeInPlace, input, dim)
