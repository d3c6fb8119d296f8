"""Ordering: sort, argsort, topk, kthvalue, median, mode, unique, cummax, cummin, cumprod,
logcumsumexp and diff.

Each op reads like its entry in PyTorch's tools/autograd/derivatives.yaml. The ops that pick
elements (sort, topk, kthvalue, median(dim), mode, cummax, cummin) return `(values, indices)`
named tuples, as torch does, and send the gradient of each value back to the one position its
index names (see Note [The gradient of a selection]).

Note [The gradient of a selection]
    torch's `value_selecting_reduction_backward` (sort, topk, kthvalue, median(dim), mode)
    writes each gradient into a tensor of zeros at the index the forward returned
    (`zeros.scatter(dim, indices, grad)`); `cummaxmin_backward` adds them up instead
    (`scatter_add`), since a running maximum returns one index many times. Here that is
    `_Scatter` and `_ScatterAdd` below, two small differentiable ops whose own gradient is a
    `_Gather` at the same indices, so that double backward works. Ties in `median()` (no dim)
    share the gradient evenly, as for `max()`.

Note [Which of equal elements is returned]
    Values are never in question, but where elements are equal the *index* returned decides
    which element receives the gradient, so HyperGrad returns the index torch returns:

    - sort, argsort: stable, equal elements keep their order (torch's default `stable=False`
      agrees on slices of up to 16 elements; on longer slices with ties its order comes from
      a vectorized sort that depends on the CPU, so `stable=True` is the portable spelling);
    - median(dim): the lower median of the order (value, index); the first NaN if any;
    - cummax, cummin: the latest position reaching the running extreme;
    - topk, kthvalue, mode: torch calls libstdc++'s `std::nth_element`, `std::sort` and
      `std::partial_sort` (topk, mode) or its own quickselect (kthvalue), which do not keep
      equal elements in order. Where a slice has ties, HyperGrad runs the same algorithms
      (`_Stl` below, and `_quick_select`) on it, so it returns the very index torch returns
      on Linux; slices without ties take a fast numpy path, which agrees because there the
      result is unique.
"""

from __future__ import annotations

import math
from collections import namedtuple

import numpy as np

import hypergrad
from hypergrad.conformance.domains import (ALL_REAL, BOOL_AND_REAL, FLOATING, ErrorSample, Sample,
                                           SampleTensor, on_some_inputs)
from hypergrad.plugins import Op, op_function
from hypergrad.plugins.op import _scalar_type_name
from hypergrad.tensor import _wrap_dim

# torch.return_types.*: the named tuples these ops return.
SortResult = namedtuple("sort", ("values", "indices"), module="hypergrad.return_types")
TopkResult = namedtuple("topk", ("values", "indices"), module="hypergrad.return_types")
KthvalueResult = namedtuple("kthvalue", ("values", "indices"), module="hypergrad.return_types")
MedianResult = namedtuple("median", ("values", "indices"), module="hypergrad.return_types")
ModeResult = namedtuple("mode", ("values", "indices"), module="hypergrad.return_types")
CummaxResult = namedtuple("cummax", ("values", "indices"), module="hypergrad.return_types")
CumminResult = namedtuple("cummin", ("values", "indices"), module="hypergrad.return_types")


def _raises(error_type, match, *args, **kwargs):
    """An ErrorSample: these arguments (arrays become tensors) must raise, as in torch."""
    args = tuple(SampleTensor(np.asarray(a), False) if isinstance(a, (list, np.ndarray)) else a
                 for a in args)
    return ErrorSample(Sample(args, kwargs), error_type, match)


def _reject_bool(kernel, a):
    if a.dtype == np.bool_:
        raise NotImplementedError(f'"{kernel}" not implemented for \'Bool\'')


def _check_reduced_dim(name, a, axis):
    """A reduction that selects an element needs a non-empty slice to select from."""
    if a.ndim and a.shape[axis] == 0:
        raise IndexError(f"{name}(): Expected reduction dim {axis} to have non-zero size.")


def _as_slices(a, axis):
    """`a` with `axis` moved last and flattened to 2-d: one row per slice (a copy)."""
    count = math.prod(s for i, s in enumerate(a.shape) if i != axis)
    return np.moveaxis(a, axis, -1).reshape(count, a.shape[axis])


def _from_slices(rows, shape, axis):
    """Undo `_as_slices`: rows of length `rows.shape[1]` back to `shape` with that size at axis."""
    moved = [s for i, s in enumerate(shape) if i != axis] + [rows.shape[1]]
    return np.moveaxis(rows.reshape(moved), -1, axis)


def _stable_argsort(a, axis, descending):
    """A stable argsort along `axis` (int64); NaN sorts above every number, as in torch."""
    if not descending:
        return np.argsort(a, axis=axis, kind="stable").astype(np.int64, copy=False)
    # Stable descending: sort the reversed slice ascending and reverse back, so equal
    # elements still come in their original order.
    order = np.flip(np.argsort(np.flip(a, axis), axis=axis, kind="stable"), axis)
    return (a.shape[axis] - 1 - order).astype(np.int64, copy=False)


def _has_ties(rows, order):
    """For each row: do two elements compare equal (NaNs count as equal to each other)?"""
    ordered = np.take_along_axis(rows, order, axis=1)
    with np.errstate(invalid="ignore"):
        equal = (ordered[:, 1:] == ordered[:, :-1]).any(axis=1)
    if rows.dtype.kind == "f":
        equal |= np.isnan(rows).sum(axis=1) > 1
    return equal


# ----------------------------------------------------------------------------------------------
# Gather and scatter along a dim: the gradient of a selection (Note [The gradient of a selection])
# ----------------------------------------------------------------------------------------------
def _along(index, axis):
    """The index tuple that addresses, for every element of `index`, position index[...] along
    `axis` and its own position along the other dims (np.take_along_axis's, for writing)."""
    grid = list(np.indices(index.shape, sparse=True))
    grid[axis] = index
    return tuple(grid)


class _Gather(Op):
    """Elements of `input` at `index` along `dim` (torch.gather), for the backward of _Scatter.

    out = gather(a, dim, index);  d/da = zeros.scatter_add(dim, index, grad)
    """

    node_name = "GatherBackward0"
    inputs = 2
    differentiable_inputs = (0,)  # the index has no gradient

    def forward(ctx, a, index, axis):
        ctx.save_for_backward(index)
        ctx.axis = axis
        ctx.shape = a.shape
        return np.take_along_axis(a, index, axis)

    def backward(ctx, grad):
        (index,) = ctx.saved_tensors
        return _ScatterAdd.apply(grad, index, ctx.axis, ctx.shape), None


class _Scatter(Op):
    """Zeros of `shape` with `src` written at `index` along `dim` (each index at most once).

    out = zeros.scatter(dim, index, src);  d/dsrc = grad.gather(dim, index)
    """

    node_name = "ScatterBackward0"
    inputs = 2
    differentiable_inputs = (0,)

    def forward(ctx, src, index, axis, shape):
        ctx.save_for_backward(index)
        ctx.axis = axis
        out = np.zeros(shape, dtype=src.dtype)
        np.put_along_axis(out, index, src, axis)
        return out

    def backward(ctx, grad):
        (index,) = ctx.saved_tensors
        return _Gather.apply(grad, index, ctx.axis), None


class _ScatterAdd(Op):
    """Zeros of `shape` with `src` added at `index` along `dim` (indices may repeat).

    out = zeros.scatter_add(dim, index, src);  d/dsrc = grad.gather(dim, index)
    """

    node_name = "ScatterAddBackward0"
    inputs = 2
    differentiable_inputs = (0,)

    def forward(ctx, src, index, axis, shape):
        ctx.save_for_backward(index)
        ctx.axis = axis
        from hypergrad.ops.shape import _add_at     # (a plugin imports another lazily)

        out = np.zeros(shape, dtype=src.dtype)
        _add_at(out, _along(index, axis), src)       # np.add.at, at flat positions (fast)
        return out

    def backward(ctx, grad):
        (index,) = ctx.saved_tensors
        return _Gather.apply(grad, index, ctx.axis), None


def _value_selecting_backward(grad, axis, indices, input_shape, keepdim):
    """torch's value_selecting_reduction_backward: grad placed at `indices` along `axis`."""
    if len(input_shape) == 0:
        return grad
    if not keepdim:
        grad = grad.unsqueeze(axis)
        indices = indices.unsqueeze(axis)
    return _Scatter.apply(grad, indices, axis, input_shape)


class _Flip(Op):
    """`input` reversed along `dims` (torch.flip), for reversed cumulative sums.

    out = flip(a, dims);  d/da = flip(grad, dims)
    """

    node_name = "FlipBackward0"

    def forward(ctx, a, dims):
        ctx.dims = dims
        return np.flip(a, dims).copy()

    def backward(ctx, grad):
        return _Flip.apply(grad, ctx.dims)


def _reversed_cumsum(x, axis):
    """sum of x[k] for k >= j along `axis`, for each j (torch's reversed_cumsum)."""
    return _Flip.apply(_Flip.apply(x, (axis,)).cumsum(axis), (axis,))


# ----------------------------------------------------------------------------------------------
# libstdc++'s selection and sorting algorithms (Note [Which of equal elements is returned])
# ----------------------------------------------------------------------------------------------
class _Stl:
    """`std::sort`, `std::nth_element` and `std::partial_sort` as libstdc++ implements them.

    torch's topk and mode call these on a vector of (value, index) pairs. They are not stable,
    so on ties the index torch returns is whatever these steps leave in place; running the
    same steps here returns the same index. The methods work in place on the list `q` of
    `(value, index)` pairs with the comparison `less(x, y)`. The names are libstdc++'s (see
    bits/stl_algo.h and bits/stl_heap.h), so each can be read next to its original.
    """

    THRESHOLD = 16  # below this size std::sort finishes with an insertion sort

    def __init__(self, q, less):
        self.q = q
        self.less = less

    def swap(self, i, j):
        q = self.q
        q[i], q[j] = q[j], q[i]

    # --- insertion sort ---------------------------------------------------------------------
    def unguarded_linear_insert(self, last, lowest):
        q, less = self.q, self.less
        item = q[last]
        j = last
        while j > lowest and less(item, q[j - 1]):  # `lowest` only guards a broken `less`
            q[j] = q[j - 1]
            j -= 1
        q[j] = item

    def insertion_sort(self, first, last):
        q, less = self.q, self.less
        for i in range(first + 1, last):
            if less(q[i], q[first]):
                item = q[i]
                q[first + 1:i + 1] = q[first:i]
                q[first] = item
            else:
                self.unguarded_linear_insert(i, first)

    def final_insertion_sort(self, first, last):
        if last - first > self.THRESHOLD:
            self.insertion_sort(first, first + self.THRESHOLD)
            for i in range(first + self.THRESHOLD, last):
                self.unguarded_linear_insert(i, first)
        else:
            self.insertion_sort(first, last)

    # --- partitioning -----------------------------------------------------------------------
    def move_median_to_first(self, result, a, b, c):
        q, less = self.q, self.less
        if less(q[a], q[b]):
            if less(q[b], q[c]):
                self.swap(result, b)
            elif less(q[a], q[c]):
                self.swap(result, c)
            else:
                self.swap(result, a)
        elif less(q[a], q[c]):
            self.swap(result, a)
        elif less(q[b], q[c]):
            self.swap(result, c)
        else:
            self.swap(result, b)

    def unguarded_partition(self, first, last, pivot):
        q, less = self.q, self.less
        while True:
            while less(q[first], q[pivot]):
                first += 1
            last -= 1
            while less(q[pivot], q[last]):
                last -= 1
            if not first < last:
                return first
            self.swap(first, last)
            first += 1

    def unguarded_partition_pivot(self, first, last):
        middle = first + (last - first) // 2
        self.move_median_to_first(first, first + 1, middle, last - 1)
        return self.unguarded_partition(first + 1, last, first)

    # --- heaps ------------------------------------------------------------------------------
    def push_heap(self, first, hole, top, item):
        q, less = self.q, self.less
        parent = (hole - 1) // 2
        while hole > top and less(q[first + parent], item):
            q[first + hole] = q[first + parent]
            hole = parent
            parent = (hole - 1) // 2
        q[first + hole] = item

    def adjust_heap(self, first, hole, length, item):
        q, less = self.q, self.less
        top = hole
        child = hole
        while child < (length - 1) // 2:
            child = 2 * (child + 1)
            if less(q[first + child], q[first + child - 1]):
                child -= 1
            q[first + hole] = q[first + child]
            hole = child
        if length % 2 == 0 and child == (length - 2) // 2:
            child = 2 * (child + 1)
            q[first + hole] = q[first + child - 1]
            hole = child - 1
        self.push_heap(first, hole, top, item)

    def make_heap(self, first, last):
        length = last - first
        if length < 2:
            return
        parent = (length - 2) // 2
        while True:
            self.adjust_heap(first, parent, length, self.q[first + parent])
            if parent == 0:
                return
            parent -= 1

    def pop_heap(self, first, last, result):
        q = self.q
        item = q[result]
        q[result] = q[first]
        self.adjust_heap(first, 0, last - first, item)

    def heap_select(self, first, middle, last):
        self.make_heap(first, middle)
        for i in range(middle, last):
            if self.less(self.q[i], self.q[first]):
                self.pop_heap(first, middle, i)

    def sort_heap(self, first, last):
        while last - first > 1:
            last -= 1
            self.pop_heap(first, last, last)

    # --- the algorithms torch calls -----------------------------------------------------------
    def partial_sort(self, first, middle, last):
        self.heap_select(first, middle, last)
        self.sort_heap(first, middle)

    def sort(self, first, last):
        if last - first < 2:
            return
        pending = [(first, last, 2 * ((last - first).bit_length() - 1))]
        while pending:  # introsort: quicksort on the right part, loop on the left one
            low, high, depth = pending.pop()
            while high - low > self.THRESHOLD:
                if depth == 0:
                    self.partial_sort(low, high, high)  # heapsort
                    break
                depth -= 1
                cut = self.unguarded_partition_pivot(low, high)
                pending.append((cut, high, depth))
                high = cut
        self.final_insertion_sort(first, last)

    def nth_element(self, first, nth, last):
        if first == last or nth == last:
            return
        depth = 2 * ((last - first).bit_length() - 1)
        while last - first > 3:
            if depth == 0:
                self.heap_select(first, nth + 1, last)
                self.swap(first, nth)
                return
            depth -= 1
            cut = self.unguarded_partition_pivot(first, last)
            if cut <= nth:
                first = cut
            else:
                last = cut
        self.insertion_sort(first, last)


def _nan_above_greater(x, y):
    """torch's comparison for the largest: x before y (NaN above every number)."""
    a, b = x[0], y[0]
    return (math.isnan(a) and not math.isnan(b)) or a > b


def _nan_above_less(x, y):
    """torch's comparison for the smallest: x before y (NaN after every number)."""
    a, b = x[0], y[0]
    return (not math.isnan(a) and math.isnan(b)) or a < b


def _plain_less(x, y):
    return x[0] < y[0]


def _pairs(row):
    return list(zip(row.tolist(), range(len(row))))


def _quick_select(q, k):
    """Put the k-th smallest (0-based) of the (value, index) pairs `q` at position k.

    torch's own quickselect for kthvalue (`quick_select_template`, after Sedgewick's 1978
    quicksort: median of three, then Hoare partitioning), with NaN above every number.
    """
    def greater(x, y):
        return _nan_above_greater(x, y)

    def swap(i, j):
        q[i], q[j] = q[j], q[i]

    left, right = 0, len(q) - 1
    while True:
        if right <= left:
            return
        if right == left + 1:
            if greater(q[left], q[right]):
                swap(left, right)
            return
        swap((left + right) >> 1, left + 1)
        if greater(q[left + 1], q[right]):
            swap(left + 1, right)
        if greater(q[left], q[right]):
            swap(left, right)
        if greater(q[left + 1], q[left]):
            swap(left + 1, left)
        i, j = left + 1, right
        pivot = q[left]
        while True:
            i += 1
            while greater(pivot, q[i]):
                i += 1
            j -= 1
            while greater(q[j], pivot):
                j -= 1
            if j < i:
                break
            swap(i, j)
        swap(left, j)
        if j <= k:
            left = i
        if j >= k:
            right = j - 1


# ----------------------------------------------------------------------------------------------
# sort, argsort
# ----------------------------------------------------------------------------------------------
def _sort_samples(g):
    shape = g.shape()
    x = g.tensor(shape)
    kwargs = {}
    if g.booleans():
        kwargs["dim"] = g.dim(len(shape))
    if g.booleans():
        kwargs["descending"] = g.booleans()
    if g.booleans():
        kwargs["stable"] = True
    return Sample((x,), kwargs)


class Sort(Op):
    """The elements along `dim` in ascending (or descending) order, and where each came from.

    values, indices = sort(a, dim);  d/da = grad written back at `indices` (0 elsewhere)
    Stable: equal elements keep their order, and NaN sorts above every number. (torch's
    default `stable=False` may order ties differently in slices longer than 16.)
    """

    node_name = "SortBackward0"

    def forward(ctx, a, dim=-1, descending=False):
        axis = _wrap_dim(dim, a.ndim)
        if a.ndim == 0:
            indices = np.zeros((), dtype=np.int64)
            values = a.copy()
        else:
            indices = _stable_argsort(a, axis, descending)
            values = np.take_along_axis(a, indices, axis)
        ctx.axis = axis
        ctx.input_shape = a.shape
        ctx.save_for_backward(indices)
        ctx.mark_non_differentiable(indices)
        return values, indices

    def backward(ctx, grad, grad_indices):
        (indices,) = ctx.saved_tensors
        return _value_selecting_backward(grad, ctx.axis, indices, ctx.input_shape, True)


class SortStable(Sort):
    """`sort(a, dim, descending, stable=...)`: torch's `sort.stable` overload (SortBackward1).

    values, indices = sort(a, dim);  d/da = grad written back at `indices` (0 elsewhere)
    """

    node_name = "SortBackward1"
    backward = Sort.backward

    def forward(ctx, a, dim=-1, descending=False, stable=False):
        return Sort.forward(ctx, a, dim, descending)


_STABLE_NOT_GIVEN = object()  # `sort(x)` and `sort(x, stable=False)` are different overloads


@op_function("sort", methods=("sort",), reference="torch.sort", samples=_sort_samples,
             dtypes=BOOL_AND_REAL, node_names=("SortBackward0", "SortBackward1"))
def sort(input, dim=-1, descending=False, *, stable=_STABLE_NOT_GIVEN):
    """The elements along `dim` in ascending (or `descending`) order: a named tuple
    `(values, indices)`; equal elements keep their order (stable), NaN sorts last.

    values, indices = sort(a, dim);  d/da = grad written back at `indices` (0 elsewhere)
    """
    if stable is _STABLE_NOT_GIVEN:
        return SortResult(*Sort.apply(input, dim, descending))
    return SortResult(*SortStable.apply(input, dim, descending, stable))


class Argsort(Op):
    """The indices that sort `input` along `dim` (int64; stable, NaN last). Not differentiable.

    out = sort(a, dim).indices
    """

    name = "argsort"
    methods = ("argsort",)
    differentiable = False
    reference = "torch.argsort"
    samples = _sort_samples
    dtypes = BOOL_AND_REAL

    def forward(ctx, a, dim=-1, descending=False, *, stable=False):
        axis = _wrap_dim(dim, a.ndim)
        if a.ndim == 0:
            return np.zeros((), dtype=np.int64)
        return _stable_argsort(a, axis, descending)


# ----------------------------------------------------------------------------------------------
# topk, kthvalue
# ----------------------------------------------------------------------------------------------
def _topk_row(row, k, largest, sorted):
    """torch's topk of one slice with ties (topk_impl_loop): the indices of the k elements."""
    q = _pairs(row)
    n = len(q)
    stl = _Stl(q, _nan_above_greater if largest else _nan_above_less)
    if k * 64 <= n:
        stl.partial_sort(0, k, n)
    else:
        stl.nth_element(0, k - 1, n)
        if sorted:
            stl.sort(0, k - 1)
    return [index for _, index in q[:k]]


def _topk_indices(a, k, axis, largest, sorted):
    rows = _as_slices(a, axis)
    indices = np.zeros((rows.shape[0], k), dtype=np.int64)
    if k == 0 or rows.size == 0:
        return _from_slices(indices, a.shape, axis)
    order = _stable_argsort(rows, 1, largest)
    ties = _has_ties(rows, order) if sorted else np.ones(rows.shape[0], dtype=bool)
    indices[:] = order[:, :k]
    for r in np.flatnonzero(ties):  # only a tie (or sorted=False) needs torch's exact steps
        indices[r] = _topk_row(rows[r], k, largest, sorted)
    return _from_slices(indices, a.shape, axis)


def _topk_samples(g):
    shape = g.shape()
    x = g.tensor(shape)
    dim = g.dim(len(shape)) if g.booleans() else -1
    size = shape[dim] if shape else 1
    kwargs = {}
    if g.booleans():
        kwargs["largest"] = g.booleans()
    if g.booleans():
        kwargs["sorted"] = g.booleans()
    return Sample((x, g.integers(0, size), dim), kwargs)


class Topk(Op):
    """The `k` largest (or smallest) elements along `dim`, and their indices.

    values, indices = topk(a, k, dim);  d/da = grad written back at `indices` (0 elsewhere)
    Equal elements are chosen exactly as torch chooses them (Note [Which of equal ...]).
    """

    node_name = "TopkBackward0"

    def forward(ctx, a, k, dim=-1, largest=True, sorted=True):
        if a.dtype == np.bool_:
            raise RuntimeError("topk does not support bool dtypes on CPU")
        axis = _wrap_dim(dim, a.ndim)
        if not 0 <= k <= (a.shape[axis] if a.ndim else 1):
            raise RuntimeError("selected index k out of range")
        if a.ndim == 0:
            indices = np.zeros((), dtype=np.int64)
            values = a.copy()
        else:
            indices = _topk_indices(a, k, axis, largest, sorted)
            values = np.take_along_axis(a, indices, axis)
        ctx.axis = axis
        ctx.input_shape = a.shape
        ctx.save_for_backward(indices)
        ctx.mark_non_differentiable(indices)
        return values, indices

    def backward(ctx, grad, grad_indices):
        (indices,) = ctx.saved_tensors
        return _value_selecting_backward(grad, ctx.axis, indices, ctx.input_shape, True)


@op_function("topk", methods=("topk",), reference="torch.topk", samples=_topk_samples,
             dtypes=ALL_REAL, node_names=("TopkBackward0",),
             error_samples=[_raises(RuntimeError, "selected index k out of range",
                                    np.array([1.0, 2.0]), 3),
                            _raises(RuntimeError, "topk does not support bool",
                                    np.array([True, False]), 1)])
def topk(input, k, dim=-1, largest=True, sorted=True):
    """The `k` largest (`largest=False`: smallest) elements along `dim`: a named tuple
    `(values, indices)`, in order if `sorted`; equal elements are chosen as torch chooses.

    values, indices = topk(a, k, dim);  d/da = grad written back at `indices` (0 elsewhere)
    """
    return TopkResult(*Topk.apply(input, k, dim, largest, sorted))


def _kthvalue_indices(a, k, axis):
    """The index of the k-th smallest element of each slice (NaN above every number)."""
    rows = _as_slices(a, axis)
    order = _stable_argsort(rows, 1, False)
    indices = order[:, k - 1].copy()
    for r in np.flatnonzero(_has_ties(rows, order)):
        q = _pairs(rows[r])
        _quick_select(q, k - 1)
        indices[r] = q[k - 1][1]
    return indices.reshape([s for i, s in enumerate(a.shape) if i != axis])


def _kthvalue_samples(g):
    shape = g.shape()
    x = g.tensor(shape)
    dim = g.dim(len(shape)) if g.booleans() else -1
    size = shape[dim] if shape else 1
    kwargs = {"keepdim": g.booleans()} if g.booleans() else {}
    return Sample((x, g.integers(1, size), dim), kwargs)


class Kthvalue(Op):
    """The k-th smallest element along `dim` (k from 1), and its index.

    values, indices = kthvalue(a, k, dim);  d/da = grad at `indices` (0 elsewhere)
    """

    node_name = "KthvalueBackward0"

    def forward(ctx, a, k, dim=-1, keepdim=False):
        _reject_bool("kthvalue_cpu", a)
        axis = _wrap_dim(dim, a.ndim)
        _check_reduced_dim("kthvalue", a, axis)
        if not 1 <= k <= (a.shape[axis] if a.ndim else 1):
            raise RuntimeError(f"kthvalue(): selected number k out of range for dimension "
                               f"{axis}")
        if a.ndim == 0:
            indices = np.zeros((), dtype=np.int64)
            values = a.copy()
        else:
            indices = _kthvalue_indices(a, k, axis)
            values = np.take_along_axis(a, np.expand_dims(indices, axis), axis).squeeze(axis)
            if keepdim:
                indices = np.expand_dims(indices, axis)
                values = np.expand_dims(values, axis)
        ctx.axis = axis
        ctx.input_shape = a.shape
        ctx.keepdim = keepdim
        ctx.save_for_backward(indices)
        ctx.mark_non_differentiable(indices)
        return values, indices

    def backward(ctx, grad, grad_indices):
        (indices,) = ctx.saved_tensors
        return _value_selecting_backward(grad, ctx.axis, indices, ctx.input_shape, ctx.keepdim)


@op_function("kthvalue", methods=("kthvalue",), reference="torch.kthvalue",
             samples=_kthvalue_samples, dtypes=ALL_REAL, node_names=("KthvalueBackward0",),
             error_samples=[_raises(RuntimeError, "selected number k out of range",
                                    np.array([1.0, 2.0]), 3),
                            _raises(IndexError, "to have non-zero size", np.zeros((2, 0)), 1)])
def kthvalue(input, k, dim=-1, keepdim=False):
    """The `k`-th smallest element along `dim` (k counts from 1): a named tuple
    `(values, indices)`; equal elements are chosen as torch chooses.

    values, indices = kthvalue(a, k, dim);  d/da = grad at `indices` (0 elsewhere)
    """
    return KthvalueResult(*Kthvalue.apply(input, k, dim, keepdim))


# ----------------------------------------------------------------------------------------------
# median, mode
# ----------------------------------------------------------------------------------------------
def _evenly_distribute(grad, a, value):
    """torch's evenly_distribute_backward: the elements equal to `value` (the NaNs, if the
    value is NaN) share grad equally."""
    mask = hypergrad.where(value.isnan(), a.isnan(), a == value)
    return hypergrad.where(mask, grad / mask.sum(), 0.0)


def _nan_as(dtype):
    """NaN converted to `dtype` as x86 does: NaN for floats, the lowest int32/int64, 0 for the
    narrower integers (converted through int32)."""
    if dtype.kind == "f":
        return dtype.type(np.nan)
    if dtype in (np.dtype(np.int32), np.dtype(np.int64)):
        return dtype.type(np.iinfo(dtype).min)
    return dtype.type(0)


class MedianAll(Op):
    """The lower median of all elements, `x.median()`; ties share the gradient evenly.

    out = median(a);  d/da = grad / count where a == out, else 0   (NaN if a has NaN)
    """

    node_name = "MedianBackward0"

    def forward(ctx, a):
        _reject_bool("median_cpu", a)
        flat = a.reshape(-1)
        if flat.size == 0:  # torch fills NaN, converted to a's dtype
            out = np.asarray(_nan_as(a.dtype))
        elif a.dtype.kind == "f" and np.isnan(flat).any():
            out = np.asarray(np.nan, dtype=a.dtype)
        else:
            out = np.asarray(np.partition(flat, (flat.size - 1) // 2)[(flat.size - 1) // 2])
        ctx.save_for_backward(a, out)
        return out

    def backward(ctx, grad):
        a, out = ctx.saved_tensors
        return _evenly_distribute(grad, a, out)


def _median_indices(a, axis):
    """The index of the lower median of each slice under the order (value, index); the
    first NaN of a slice that has one (torch's median_with_indices_impl)."""
    rows = _as_slices(a, axis)
    n = rows.shape[1]
    indices = _stable_argsort(rows, 1, False)[:, (n - 1) // 2]
    if rows.dtype.kind == "f":
        nan = np.isnan(rows)
        has_nan = nan.any(axis=1)
        indices = np.where(has_nan, np.argmax(nan, axis=1), indices)
    return indices.astype(np.int64).reshape([s for i, s in enumerate(a.shape) if i != axis])


class MedianDim(Op):
    """The lower median along `dim` and its index, `x.median(dim, keepdim)`.

    values, indices = median(a, dim);  d/da = grad at `indices` (0 elsewhere)
    """

    node_name = "MedianBackward1"

    def forward(ctx, a, dim, keepdim=False):
        _reject_bool("median_out", a)
        axis = _wrap_dim(dim, a.ndim)
        _check_reduced_dim("median", a, axis)
        if a.ndim == 0:
            indices = np.zeros((), dtype=np.int64)
            values = a.copy()
        else:
            indices = _median_indices(a, axis)
            values = np.take_along_axis(a, np.expand_dims(indices, axis), axis).squeeze(axis)
            if keepdim:
                indices = np.expand_dims(indices, axis)
                values = np.expand_dims(values, axis)
        ctx.axis = axis
        ctx.input_shape = a.shape
        ctx.keepdim = keepdim
        ctx.save_for_backward(indices)
        ctx.mark_non_differentiable(indices)
        return values, indices

    def backward(ctx, grad, grad_indices):
        (indices,) = ctx.saved_tensors
        return _value_selecting_backward(grad, ctx.axis, indices, ctx.input_shape, ctx.keepdim)


def _median_samples(g):
    shape = g.shape()
    x = g.tensor(shape)
    if g.booleans():
        return Sample((x,), {})
    kwargs = {"keepdim": g.booleans()} if g.booleans() else {}
    return Sample((x, g.dim(len(shape))), kwargs)


@op_function("median", methods=("median",), reference="torch.median", samples=_median_samples,
             dtypes=ALL_REAL, node_names=("MedianBackward0", "MedianBackward1"),
             divergences={"noncontiguous": on_some_inputs(
                 "torch.median(x, dim) of an expanded input (stride 0 along dim) reads past the "
                 "tensor's data and returns garbage values and indices (a torch bug: its kernel "
                 "copies only strides > 1); HyperGrad returns the median of the values")},
             error_samples=[_raises(IndexError, "to have non-zero size", np.zeros((0, 2)), 0),
                            _raises(NotImplementedError, "not implemented for 'Bool'",
                                    np.array([True]))])
def median(input, dim=None, keepdim=False):
    """`median(input)`: the lower median of all elements (NaN if any is NaN);
    `median(input, dim, keepdim=False)`: a named tuple `(values, indices)` along `dim`.

    median():    d/da = grad shared evenly by the elements equal to the median
    median(dim): d/da = grad at the returned index of each slice, 0 elsewhere
    """
    if dim is None:
        return MedianAll.apply(input)
    return MedianResult(*MedianDim.apply(input, dim, keepdim))


def _mode_row(row):
    """torch's mode of one slice (mode_kernel_impl): sort the (value, index) pairs with
    `std::sort` by value, then take the first longest run; its *last* pair gives the index."""
    n = row.shape[0]
    order = np.argsort(row, kind="stable")
    has_nan = row.dtype.kind == "f" and bool(np.isnan(row).any())
    if has_nan or (n > _Stl.THRESHOLD and _has_ties(row[None], order[None])[0]):
        # std::sort is unstable beyond an insertion sort of 16, and with NaN (which `<`
        # cannot order) its result depends on its steps: run them.
        q = _pairs(row)
        _Stl(q, _plain_less).sort(0, n)
        order = np.array([index for _, index in q], dtype=np.int64)
    ordered = row[order]
    with np.errstate(invalid="ignore"):
        run_ends = np.flatnonzero(np.append(ordered[1:] != ordered[:-1], True))
    lengths = np.diff(np.append(-1, run_ends))
    return order[run_ends[np.argmax(lengths)]]


class Mode(Op):
    """The most frequent value along `dim` (the smallest of equally frequent ones) and the
    index of one occurrence, chosen as torch chooses (its last in torch's sorted order).

    values, indices = mode(a, dim);  d/da = grad at `indices` (0 elsewhere)
    """

    node_name = "ModeBackward0"

    def forward(ctx, a, dim=-1, keepdim=False):
        axis = _wrap_dim(dim, a.ndim)
        _check_reduced_dim("mode", a, axis)
        if a.ndim == 0:
            indices = np.zeros((), dtype=np.int64)
            values = a.copy()
        else:
            rows = _as_slices(a, axis)
            indices = np.array([_mode_row(row) for row in rows], dtype=np.int64).reshape(
                [s for i, s in enumerate(a.shape) if i != axis])
            values = np.take_along_axis(a, np.expand_dims(indices, axis), axis).squeeze(axis)
            if keepdim:
                indices = np.expand_dims(indices, axis)
                values = np.expand_dims(values, axis)
        ctx.axis = axis
        ctx.input_shape = a.shape
        ctx.keepdim = keepdim
        ctx.save_for_backward(indices)
        ctx.mark_non_differentiable(indices)
        return values, indices

    def backward(ctx, grad, grad_indices):
        (indices,) = ctx.saved_tensors
        return _value_selecting_backward(grad, ctx.axis, indices, ctx.input_shape, ctx.keepdim)


def _mode_samples(g):
    shape = g.shape()
    x = g.tensor(shape, -2, 2, integral=g.booleans())  # small integers: repeated values
    kwargs = {}
    if g.booleans():
        kwargs["dim"] = g.dim(len(shape))
    if g.booleans():
        kwargs["keepdim"] = g.booleans()
    return Sample((x,), kwargs)


@op_function("mode", methods=("mode",), reference="torch.mode", samples=_mode_samples,
             dtypes=BOOL_AND_REAL, node_names=("ModeBackward0",),
             error_samples=[_raises(IndexError, "to have non-zero size", np.zeros((2, 0)))])
def mode(input, dim=-1, keepdim=False):
    """The most frequent value along `dim` (the smallest among equally frequent ones): a named
    tuple `(values, indices)`, the index being the occurrence torch returns.

    values, indices = mode(a, dim);  d/da = grad at `indices` (0 elsewhere)
    """
    return ModeResult(*Mode.apply(input, dim, keepdim))


# ----------------------------------------------------------------------------------------------
# unique
# ----------------------------------------------------------------------------------------------
class Unique2(Op):
    """The sorted distinct elements, with the inverse map and the counts (torch._unique2).

    Not differentiable: like torch, the values record a node whose backward raises.
    """

    node_name = "Unique2Backward0"

    def forward(ctx, a, sorted=True, return_inverse=False, return_counts=False):
        values, inverse, counts = np.unique(a.reshape(-1), return_inverse=True,
                                            return_counts=True, equal_nan=False)
        return values, inverse.reshape(a.shape).astype(np.int64), counts.astype(np.int64)

    def backward(ctx, grad, grad_inverse, grad_counts):
        raise NotImplementedError("the derivative for '_unique2' is not implemented.")


def _lexicographic_less(x, y):
    """torch's order of slices in unique(dim): the first element that differs decides (an
    element that is neither < nor >, a NaN, decides nothing)."""
    for a, b in zip(x[0], y[0]):
        if a < b:
            return True
        if a > b:
            return False
    return False


def _unique_slices(a, axis):
    """The distinct slices of `a` along `axis` (torch's unique_dim_cpu_template): sort the
    slices with std::sort in lexicographic order, then keep each slice that differs from the
    last one kept (`equal`, so a slice holding NaN differs from every slice)."""
    rows = np.moveaxis(a, axis, 0).reshape(a.shape[axis], -1)
    q = [(tuple(row.tolist()), i) for i, row in enumerate(rows)]
    _Stl(q, _lexicographic_less).sort(0, len(q))
    order = [i for _, i in q]
    kept, counts = [order[0]], [1]
    inverse = np.zeros(len(order), dtype=np.int64)
    for position in order[1:]:
        if not np.array_equal(rows[position], rows[kept[-1]]):
            kept.append(position)
            counts.append(0)
        counts[-1] += 1
        inverse[position] = len(kept) - 1
    return np.take(a, kept, axis=axis), inverse, np.array(counts, dtype=np.int64)


class UniqueDim(Op):
    """The sorted distinct slices along `dim`, with the inverse map and the counts.

    Not differentiable: like torch, the values record a node whose backward raises.
    """

    node_name = "UniqueDimBackward0"

    def forward(ctx, a, dim, sorted=True, return_inverse=False, return_counts=False):
        if a.ndim == 0:
            raise IndexError(f"Dimension specified as {dim} but tensor has no dimensions")
        axis = _wrap_dim(dim, a.ndim)
        empty_dims = [i for i, s in enumerate(a.shape) if s == 0]
        if len(empty_dims) > 1:
            raise RuntimeError("Number of zero sized dimensions is more than one, so unique "
                               "cannot be applied ")
        if empty_dims and empty_dims[0] != axis:
            raise RuntimeError("There are 0 sized dimensions, and they aren't selected, so "
                               "unique cannot be applied")
        if empty_dims:
            return (a.copy(), np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64))
        return _unique_slices(a, axis)

    def backward(ctx, grad, grad_inverse, grad_counts):
        raise NotImplementedError("the derivative for 'unique_dim' is not implemented.")


def _unique_samples(g):
    shape = g.shape()
    x = g.tensor(shape, -2, 2, integral=True)
    kwargs = {}
    if g.booleans():
        kwargs["return_inverse"] = True
    if g.booleans():
        kwargs["return_counts"] = True
    if shape and g.booleans():
        kwargs["dim"] = g.dim(len(shape))
    return Sample((x,), kwargs)


@op_function("unique", methods=("unique",), reference="torch.unique", samples=_unique_samples,
             dtypes=BOOL_AND_REAL, node_names=("Unique2Backward0", "UniqueDimBackward0"))
def unique(input, sorted=True, return_inverse=False, return_counts=False, dim=None):
    """The distinct elements of `input` (or distinct slices along `dim`), sorted; with
    `return_inverse` also where each element went, with `return_counts` how often each occurs.

    Not differentiable (torch records a node whose backward raises, and so does HyperGrad).
    NaNs are not merged: each NaN is distinct, as in torch.
    """
    if dim is None:
        values, inverse, counts = Unique2.apply(input, sorted, return_inverse, return_counts)
    else:
        values, inverse, counts = UniqueDim.apply(input, dim, sorted, return_inverse,
                                                  return_counts)
    if return_inverse and return_counts:
        return values, inverse, counts
    if return_inverse:
        return values, inverse
    if return_counts:
        return values, counts
    return values


# ----------------------------------------------------------------------------------------------
# cummax, cummin
# ----------------------------------------------------------------------------------------------
def _cumulative_extreme(a, axis, accumulate):
    """Running max (min) along `axis` and the index of the latest element that reached it.

    torch's cummax_cummin_helper updates on `x >= running` (`<=` for cummin), so ties move the
    index forward; once a NaN is met it is the running value, and each later NaN takes over.
    """
    values = accumulate(a, axis=axis)
    reached = a == values
    if a.dtype.kind == "f":
        reached |= np.isnan(a)
    positions = np.arange(a.shape[axis]).reshape([-1 if i == axis else 1 for i in range(a.ndim)])
    indices = np.maximum.accumulate(np.where(reached, positions, 0), axis=axis)
    return values, indices.astype(np.int64)


def _cumulative_samples(g):
    shape = g.shape()
    return Sample((g.tensor(shape), g.dim(len(shape))), {})


class _CumulativeExtreme(Op):
    """Shared by Cummax and Cummin: the backward, a scatter_add of grad at the indices."""

    def backward(ctx, grad, grad_indices):
        (indices,) = ctx.saved_tensors
        if not ctx.input_shape:
            return grad
        return _ScatterAdd.apply(grad, indices, ctx.axis, ctx.input_shape)


class Cummax(_CumulativeExtreme):
    """Running maximum along `dim` and the index where each running maximum was reached.

    values, indices = cummax(a, dim);  d/da = zeros.scatter_add(dim, indices, grad)
    """

    node_name = "CummaxBackward0"

    def forward(ctx, a, dim):
        axis = _wrap_dim(dim, a.ndim)
        ctx.axis = axis
        ctx.input_shape = a.shape
        if a.ndim == 0:
            values, indices = a.copy(), np.zeros((), dtype=np.int64)
        else:
            values, indices = _cumulative_extreme(a, axis, np.maximum.accumulate)
        ctx.save_for_backward(indices)
        ctx.mark_non_differentiable(indices)
        return values, indices


class Cummin(_CumulativeExtreme):
    """Running minimum along `dim` and the index where each running minimum was reached.

    values, indices = cummin(a, dim);  d/da = zeros.scatter_add(dim, indices, grad)
    """

    node_name = "CumminBackward0"

    def forward(ctx, a, dim):
        axis = _wrap_dim(dim, a.ndim)
        ctx.axis = axis
        ctx.input_shape = a.shape
        if a.ndim == 0:
            values, indices = a.copy(), np.zeros((), dtype=np.int64)
        else:
            values, indices = _cumulative_extreme(a, axis, np.minimum.accumulate)
        ctx.save_for_backward(indices)
        ctx.mark_non_differentiable(indices)
        return values, indices


@op_function("cummax", methods=("cummax",), reference="torch.cummax",
             samples=_cumulative_samples, dtypes=BOOL_AND_REAL, node_names=("CummaxBackward0",))
def cummax(input, dim):
    """Running maximum along `dim`: a named tuple `(values, indices)`, each index the latest
    position that reached the running maximum.

    values, indices = cummax(a, dim);  d/da = grad summed into the positions `indices` name
    """
    return CummaxResult(*Cummax.apply(input, dim))


@op_function("cummin", methods=("cummin",), reference="torch.cummin",
             samples=_cumulative_samples, dtypes=BOOL_AND_REAL, node_names=("CumminBackward0",))
def cummin(input, dim):
    """Running minimum along `dim`: a named tuple `(values, indices)`, each index the latest
    position that reached the running minimum.

    values, indices = cummin(a, dim);  d/da = grad summed into the positions `indices` name
    """
    return CumminResult(*Cummin.apply(input, dim))


# ----------------------------------------------------------------------------------------------
# cumprod, logcumsumexp
# ----------------------------------------------------------------------------------------------
def _cumprod_backward_with_zeros(grad, a, out, axis):
    """torch's cumprod_backward where `a` has zeros, without a graph (its O(n) formula).

    With z1 the first zero of a slice and z2 the second (or the end): positions before z1 get
    reversed_cumsum(grad * out) / a as usual; z1 gets prod(a[:z1]) * sum over z1 <= j < z2 of
    grad[j] * prod(a[z1+1:j+1]); positions after z1 get 0.
    """
    is_zero = a == 0
    zeros_so_far = is_zero.cumsum(axis)
    before = zeros_so_far == 0
    grad_input = hypergrad.where(
        before, _reversed_cumsum((out * grad).masked_fill(~before, 0.0), axis) / a, 0.0)
    up_to_second = zeros_so_far == 1
    first_zero = up_to_second & is_zero
    between = up_to_second & ~first_zero
    first_zero_index = up_to_second.long().argmax(axis, keepdim=True)
    product_before = _Gather.apply(out, (first_zero_index - 1).clamp_min(0), axis).masked_fill(
        first_zero_index == 0, 1.0)
    at_first_zero = (a.masked_fill(~between, 1.0).cumprod(axis)
                     * grad.masked_fill(~up_to_second, 0.0)).sum(axis, keepdim=True)
    return hypergrad.where(first_zero, at_first_zero * product_before, grad_input)


def _cumprod_backward_by_omission(grad, a, axis):
    """torch's cumprod_backward where `a` has zeros and a graph is being built (O(n^2)).

    For each k: the products of a[:j+1] without a[k], for j >= k, as
    prod(a[:k]) * cumprod(a[k+1:j+1]), dotted with grad[k:]. Differentiable, so the second
    derivative through it is the true one (the O(n) formula's is not).
    """
    n = a.shape[axis]
    ones_shape = list(a.shape)
    ones_shape[axis] = 1
    slices = []
    for k in range(n):
        if k == 0:
            ones = hypergrad.ones(ones_shape, dtype=grad.dtype)
            omitted = hypergrad.cat([ones, a.narrow(axis, 1, n - 1).cumprod(axis)], axis)
        elif k == n - 1:
            omitted = a.narrow(axis, 0, k).prod(axis, keepdim=True)
        else:
            until_k = a.narrow(axis, 0, k).prod(axis, keepdim=True)
            from_k_plus_1 = a.narrow(axis, k + 1, n - k - 1).cumprod(axis)
            omitted = hypergrad.cat([until_k, until_k.expand_as(from_k_plus_1) * from_k_plus_1],
                                    axis)
        slices.append((grad.narrow(axis, k, n - k) * omitted).sum(axis))
    return hypergrad.stack(slices, axis)


def _cumprod_backward(grad, a, out, axis, has_zeros):
    """torch's cumprod_backward: reversed_cumsum(grad * out) / a, or, where `a` has zeros,
    for each k the sum over j >= k of grad[j] * (the product of a[:j+1] without a[k])."""
    if not has_zeros:
        return _reversed_cumsum(out * grad, axis) / a
    if hypergrad.is_grad_enabled():
        return _cumprod_backward_by_omission(grad, a, axis)
    return _cumprod_backward_with_zeros(grad, a, out, axis)


def _cumprod_samples(g):
    shape = g.shape()
    x = g.tensor(shape, -2, 2)
    if x.array.size and g.booleans():  # zeros take the exact path of the backward
        x.array.reshape(-1)[g.integers(0, x.array.size - 1)] = 0
    return Sample((x, g.dim(len(shape))), {})


class Cumprod(Op):
    """Cumulative product along `dim`; integers and bools give int64 (or `dtype`).

    out[j] = prod(a[:j+1]);  d/da[k] = sum over j >= k of grad[j] * out[j] / a[k]
    (exact where a has zeros, as torch's cumprod_backward)
    """

    name = "cumprod"
    methods = ("cumprod", "cumprod_")
    reference = "torch.cumprod"
    samples = _cumprod_samples
    dtypes = ALL_REAL

    def forward(ctx, a, dim, *, dtype=None):
        axis = _wrap_dim(dim, a.ndim)
        if dtype is not None:
            out_dtype = hypergrad.dtypes.to_dtype(dtype).numpy
        else:
            out_dtype = np.dtype(np.int64) if a.dtype.kind in "biu" else a.dtype
        # torch multiplies in its CPU accumulate type (double for float32, float for float16)
        # and rounds each running product to the result's dtype
        wide = {"float16": np.float32, "float32": np.float64}.get(out_dtype.name, out_dtype)
        with np.errstate(over="ignore", invalid="ignore"):
            out = a.astype(wide) if a.ndim == 0 else np.cumprod(a, axis=axis, dtype=wide)
            out = np.asarray(out, dtype=out_dtype)
        ctx.axis = axis
        ctx.has_zeros = bool((a == 0).any())
        ctx.save_for_backward(a, out)
        return out

    def backward(ctx, grad):
        a, out = ctx.saved_tensors
        if a.numel() <= 1 or a.shape[ctx.axis] == 1:
            return grad
        return _cumprod_backward(grad, a, out, ctx.axis, ctx.has_zeros)


def _lowest(dtype):
    return float(np.finfo(np.dtype(dtype.name if hasattr(dtype, "name") else dtype)).min)


def _reversed_logcumsumexp(x, axis):
    return _Flip.apply(Logcumsumexp.apply(_Flip.apply(x, (axis,)), axis), (axis,))


class Logcumsumexp(Op):
    """log(cumsum(exp(input))) along `dim`, computed stably; floating dtypes only.

    out[j] = log(sum(exp(a[:j+1])));  d/da[k] = sum over j >= k of grad[j] * exp(a[k] - out[j])
    (torch's logcumsumexp_backward: the positive and negative parts of grad are summed in
    log space, then subtracted)
    """

    name = "logcumsumexp"
    methods = ("logcumsumexp",)
    reference = "torch.logcumsumexp"
    samples = _cumulative_samples
    dtypes = FLOATING
    error_samples = [_raises(NotImplementedError, "not implemented for 'Long'",
                             np.array([1, 2]), 0)]

    def forward(ctx, a, dim):
        if a.dtype.kind != "f":
            raise NotImplementedError(f'"logcumsumexp_out_cpu" not implemented for '
                                      f"'{_scalar_type_name(a.dtype)}'")
        axis = _wrap_dim(dim, a.ndim)
        with np.errstate(invalid="ignore", over="ignore"):
            # torch accumulates in double: out[j] = log1p(exp(min - max)) + max, pairwise
            wide = a.astype(np.float64)
            out = np.asarray(wide if a.ndim == 0 else np.logaddexp.accumulate(wide, axis=axis),
                             dtype=a.dtype)
        ctx.axis = axis
        ctx.save_for_backward(a, out)
        return out

    def backward(ctx, grad):
        a, out = ctx.saved_tensors
        if grad.dim() == 0 or grad.numel() == 0:
            return grad
        axis = ctx.axis
        lowest = _lowest(grad.dtype)
        log_abs_grad = grad.abs().log()
        log_grad_positive = hypergrad.where(grad > 0, log_abs_grad, lowest)
        log_grad_negative = hypergrad.where(grad < 0, log_abs_grad, lowest)
        positive = (_reversed_logcumsumexp(log_grad_positive - out, axis) + a).exp()
        negative = (_reversed_logcumsumexp(log_grad_negative - out, axis) + a).exp()
        return positive - negative


# ----------------------------------------------------------------------------------------------
# diff
# ----------------------------------------------------------------------------------------------
def _diff_check(input, n, dim, prepend, append):
    if input.dim() < 1:
        raise RuntimeError("diff expects input to be at least one-dimensional")
    if n < 0:
        raise RuntimeError(f"order must be non-negative but got {n}")
    axis = _wrap_dim(dim, input.dim())
    for other in (prepend, append):
        if other is None:
            continue
        if other.dim() != input.dim():
            raise RuntimeError("diff expects prepend or append to be the same dimension as "
                               "input")
        for i in range(input.dim()):
            if i != axis and other.shape[i] != input.shape[i]:
                raise RuntimeError(
                    "diff expects the shape of tensor to prepend or append to match that of "
                    f"input except along the differencing dimension; input.size({i}) = "
                    f"{input.shape[i]}, but got tensor.size({i}) = {other.shape[i]}")
    return axis


def _diff_samples(g):
    shape = g.shape(min_dims=1)
    x = g.tensor(shape)
    dim = g.dim(len(shape))
    kwargs = {}
    if g.booleans():
        kwargs["n"] = g.integers(0, 3)
    if g.booleans():
        kwargs["dim"] = dim
    else:
        dim = -1
    for name in ("prepend", "append"):
        if g.booleans():
            other = list(shape)
            other[dim] = g.integers(1, 2)
            kwargs[name] = g.tensor(tuple(other))
    return Sample((x,), kwargs)


@op_function("diff", methods=("diff",), reference="torch.diff", samples=_diff_samples,
             dtypes=BOOL_AND_REAL, node_names=("SubBackward0", "CopyBackwards"),
             error_samples=[_raises(RuntimeError, "at least one-dimensional", np.array(1.0)),
                            _raises(RuntimeError, "order must be non-negative",
                                    np.array([1.0, 2.0]), -1)])
def diff(input, n=1, dim=-1, prepend=None, append=None):
    """The `n`-th forward difference along `dim` (`prepend`/`append` are joined first); bools
    use logical_xor.

    As torch, composed of narrow and sub (a SubBackward0 over two SliceBackward0):
    out = a[1:] - a[:-1], n times;  d/da = the matching sums of grad
    """
    axis = _diff_check(input, n, dim, prepend, append)
    if n == 0:
        result = hypergrad.zeros_like(input)
        result.copy_(input)
        return result
    if prepend is not None or append is not None:
        input = hypergrad.cat([t for t in (prepend, input, append) if t is not None], axis)
    length = input.shape[axis] - 1
    result = input
    for _ in range(min(n, input.shape[axis])):
        later, earlier = result.narrow(axis, 1, length), result.narrow(axis, 0, length)
        if result.dtype == hypergrad.bool:
            result = hypergrad.logical_xor(later, earlier)
        else:
            result = later - earlier
        length -= 1
    return result
