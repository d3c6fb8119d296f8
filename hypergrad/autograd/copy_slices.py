"""In-place operations on views: CopySlices.

Mirrors `CopySlices` in torch/csrc/autograd/functions/tensor.{h,cpp} and the view handling of
torch/csrc/autograd/variable.cpp (`rebase_history`, `VariableHooks::grad_fn`).

Note [In-place on a view rewrites the base's history]
    `v = b[0]; v.mul_(2)` changes the memory of `b`. So after it, `b` is no longer "the output
    of whatever made b": it is "the old b, with the slice that `v` covers replaced by mul(v, 2)".
    PyTorch records exactly that: the base gets a new grad_fn, `CopySlices`, which wraps the
    in-place op's node (`fn`). In backward, CopySlices receives the gradient of the whole new
    base and

    1. takes out the region `v` covers and runs `fn` on it: that gives the gradient for the old
       contents of the region (and for fn's other inputs, such as mul's `other`);
    2. puts that back into the region: the result is the gradient for the *old* base, whose
       history it then continues (its first edge is the base's previous gradient edge).

    The view itself gets a fresh grad_fn that reads its region out of the base's new history
    (`AsStridedBackward0`), and so does any other view of the base used after the change: a
    view notices that its base's version moved since its grad_fn was made and regenerates it.
    The same holds when the base itself is changed in place (`v = m[1:]; m.mul_(5)`): `v`'s
    old grad_fn reads the old `m`, so using `v` afterwards regenerates it from `m`'s new
    history. A base with `retain_grad()` moves its hook to the CopySlices, as a tensor changed
    in place does, so its `.grad` is the gradient of its new value.

HyperGrad describes a view's region by the positions (in row-major order) of its elements in
the base, so regions are gathered and scattered with index arrays.
"""

from __future__ import annotations

import numpy as np

from ..plugins.op import Op
from .node import Node

__all__ = ["CopySlices", "view_positions", "rebase_view_history", "refresh_view_grad_fn"]


def view_positions(view, base):
    """The row-major index in `base` of every element of `view` (same shape as `view`).

    Each element of `base` sits in one memory slot; mapping slots back to positions works
    for any strides (gaps, negative strides), so the view is read through that map.
    """
    itemsize = base.itemsize
    base_slots = _element_slots(base.shape, base.strides, itemsize).ravel()
    low = int(base_slots.min()) if base.size else 0
    memory = np.zeros(int(base_slots.max()) - low + 1 if base.size else 0, np.intp)
    memory[base_slots - low] = np.arange(base.size)   # memory slot -> position
    start = (view.__array_interface__["data"][0]
             - base.__array_interface__["data"][0]) // itemsize
    return memory[_element_slots(view.shape, view.strides, itemsize) + (start - low)]


def _element_slots(shape, strides, itemsize):
    """The memory slot (offset in elements from the first) of every element, as an array."""
    slots = np.zeros(shape, np.intp)
    for axis, (size, stride) in enumerate(zip(shape, strides)):
        slots += (np.arange(size) * (stride // itemsize)).reshape(
            (-1,) + (1,) * (len(shape) - axis - 1))
    return slots


class AsStrided(Op):
    """The region of `base` given by `positions`, as a tensor of the view's shape.

    out = base.flat[positions];  d/dbase = zeros with grad scattered into the region
    """

    node_name = "AsStridedBackward0"

    def forward(ctx, base, positions):
        ctx.base_shape = base.shape
        ctx.positions = positions
        return base.reshape(-1)[positions]

    def backward(ctx, grad):
        from ..creation import zeros

        empty = zeros(ctx.base_shape, dtype=grad.dtype)
        return AsStridedScatter.apply(empty, grad, ctx.positions)


class AsStridedScatter(Op):
    """`input` with the region given by `positions` replaced by `src`.

    out = input, out.flat[positions] = src
    d/dinput = grad with the region zeroed;  d/dsrc = grad.flat[positions]
    """

    node_name = "AsStridedScatterBackward0"
    inputs = 2

    def forward(ctx, a, src, positions):
        ctx.positions = positions
        out = np.array(a, order="C", copy=True)
        out.reshape(-1)[positions] = src
        return out

    def backward(ctx, grad):
        from ..tensor import Tensor

        zeros = Tensor._make(np.zeros(ctx.positions.shape, grad._data.dtype))
        return (AsStridedScatter.apply(grad, zeros, ctx.positions),
                AsStrided.apply(grad, ctx.positions))


class CopySlices(Node):
    """The base's grad_fn after an in-place op on one of its views (see the Note above)."""

    __slots__ = ("fn", "positions")

    def __init__(self, base_edge, fn, positions, base_metadata):
        super().__init__((base_edge,) + tuple(fn.next_edges[1:]))
        self.fn = fn
        self.positions = positions
        self._input_metadata = (base_metadata,)

    def apply(self, grad_outputs):
        grad = grad_outputs[0]
        region = AsStrided.apply(grad, self.positions)
        result = self.fn.apply([region])
        view_grad = result[0]
        if view_grad is None:
            view_grad = region * 0
        base_grad = AsStridedScatter.apply(grad, view_grad, self.positions)
        return [base_grad] + list(result[1:])

    def release_variables(self):
        self.fn.release_variables()


def rebase_view_history(view, node):
    """After `node` changed `view` in place: give its base a CopySlices grad_fn, and the view a
    fresh grad_fn reading its region out of the base (torch's `rebase_history` for views)."""
    from ..tensor import gradient_edge

    from ..plugins import op

    base = view._base
    positions = view_positions(view._data, base._data)
    copy_slices = CopySlices(gradient_edge(base), node, positions,
                             (base._data.shape, base._data.dtype))
    retains_grad = base._retains_grad
    if retains_grad:   # as for the view itself: the retains-grad hook moves to the new grad_fn
        base._grad_fn._retains_grad_hooks.pop(base._output_nr, None)
        base._retains_grad = False
    base._grad_fn = copy_slices
    base._output_nr = 0
    base._requires_grad = True
    op.views_rebased[0] = True
    if retains_grad:
        base.retain_grad()
    _regenerate(view, positions)


def refresh_view_grad_fn(view):
    """A view whose base changed in place since its grad_fn was made reads from the new base
    (torch's `VariableHooks::grad_fn`): through one of its views (the base's grad_fn is then a
    CopySlices) or directly (`m.mul_(5)` after `v = m[1:]`)."""
    base = view._base
    if view._view_version != view._version_counter.version and base._requires_grad:
        _regenerate(view, view_positions(view._data, base._data))


def _regenerate(view, positions):
    from .grad_mode import enable_grad

    with enable_grad():
        fresh = AsStrided.apply(view._base, positions)
    view._grad_fn = fresh._grad_fn
    view._output_nr = 0
    view._requires_grad = True
    view._view_version = view._version_counter.version
