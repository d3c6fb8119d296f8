"""Indexing by integer tensors and bool masks, and its scatter-add backward, against torch.

The conformance suite draws `__getitem__` indices of ints, slices and lists; this file draws
the index *tensors* and masks that send `x[idx]` through the `Index` op and its backward,
which adds the gradient at flat positions (ops/shape.py, Note [Scatter-add at flat
positions]), and checks, against real torch:

- `x[index]` for int64 / int32 tensors (repeats, negative entries, empty, broadcasting
  against each other, adjacent or split by a slice) and bool masks over one or more dims,
  mixed with ints, slices, None and `...`: value, dtype, grad_fn, the gradient of x (a
  position picked twice receives both gradients) and the second-order gradient;
- `index_put(..., accumulate=True)` with repeated rows and broadcast values, masked_select and
  masked_scatter (which read and write through the flat positions of the True elements) on
  contiguous and transposed inputs with broadcast masks, and repeat_interleave's backward;
- that the flat scatter-add gives exactly `np.add.at`'s sums, bit for bit, and the mask
  coordinates exactly `np.nonzero`'s.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
from hypothesis import example, given, settings
from hypothesis import strategies as st

import hypergrad as hg
from hypergrad.ops.shape import _add_at, _mask_nonzero

SETTINGS = settings(max_examples=80, deadline=None)
TOLERANCE = {np.float32: {"rtol": 1.3e-6, "atol": 1e-5}, np.float64: {"rtol": 1e-7, "atol": 1e-7}}


def tensor(lib, value, requires_grad=False):
    """A `lib` tensor of a numpy array (index items that are not arrays pass through)."""
    if not isinstance(value, np.ndarray):
        return value
    result = lib.tensor(value)
    return result.requires_grad_() if requires_grad else result


def assert_close(hg_value, torch_value, dtype, what):
    hg_array, torch_array = hg_value.detach().numpy(), torch_value.detach().numpy()
    assert hg_array.shape == torch_array.shape, what
    assert hg_array.dtype == torch_array.dtype, what
    np.testing.assert_allclose(hg_array, torch_array, err_msg=what, **TOLERANCE[dtype])


def first_and_second_order(lib, x_array, index, cotangent_seed):
    """y = x[index]; the gradient of x for a random cotangent g, and the gradient of
    sum(gx * gx) with respect to g (a second derivative through the backward)."""
    x = tensor(lib, x_array, requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        y = x[tuple(tensor(lib, item) for item in index)]
    rng = np.random.default_rng(cotangent_seed)
    g = tensor(lib, rng.standard_normal(tuple(y.shape)).astype(x_array.dtype), True)
    (gx,) = lib.autograd.grad(y, x, g, create_graph=True)
    (gg,) = lib.autograd.grad((gx * gx).sum(), g, allow_unused=True)
    return y, gx, gg if gg is not None else lib.zeros_like(g)


@st.composite
def index_cases(draw):
    """(x, index, seed): x float32 or float64 with 1-3 dims of size 0-4; index a tuple of
    int tensors that broadcast together (repeats, negatives, int32 or int64) or one bool
    mask over one or more dims, mixed with ints, slices, None and `...`."""
    shape = tuple(draw(st.lists(st.sampled_from([1, 2, 3, 4, 3, 2, 0]), min_size=1,
                                max_size=3)))
    dtype = draw(st.sampled_from([np.float32, np.float64]))
    seed = draw(st.integers(0, 2**16))
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(shape).astype(dtype)
    use_mask = draw(st.booleans())
    index_dtype = draw(st.sampled_from([np.int64, np.int32]))
    picked = tuple(draw(st.lists(st.integers(0, 3), min_size=1, max_size=2)))
    items, dim, masked = [], 0, False
    while dim < len(shape):
        kind = draw(st.sampled_from(["tensor", "tensor", "tensor", "slice", "int", "stop"]))
        size = shape[dim]
        if kind == "stop":
            if draw(st.booleans()):
                items.append(Ellipsis)
            break
        if kind == "int" and size:
            items.append(draw(st.integers(-size, size - 1)))
        elif kind == "tensor" and use_mask and not masked:
            span = draw(st.integers(1, len(shape) - dim))
            items.append(rng.random(shape[dim:dim + span]) < 0.6)
            masked = True
            dim += span
            continue
        elif kind == "tensor" and not use_mask and size:
            own = tuple(1 if draw(st.booleans()) else s for s in picked)
            own = own[draw(st.integers(0, len(own) - 1)):]
            items.append(rng.integers(-size, size, own).astype(index_dtype))
        else:
            items.append(slice(draw(st.sampled_from([None, 0, 1])), None,
                               draw(st.sampled_from([None, 1, 2]))))
        dim += 1
    if draw(st.booleans()):
        items.insert(draw(st.integers(0, len(items))), None)
    if not any(isinstance(item, np.ndarray) for item in items):   # index the last dim
        items = [Ellipsis, np.array([0, 0], np.int64) if shape[-1] else np.zeros(0, np.int64)]
    return x, tuple(items), seed


@given(index_cases())
@example((np.arange(12.0, dtype=np.float32).reshape(3, 4), (np.array([2, 2, 2, -1]),), 0))
@example((np.arange(12.0).reshape(3, 4), (np.zeros(0, np.int64),), 0))
@example((np.arange(24.0).reshape(2, 3, 4), (np.array([[1], [0]]), slice(None),
                                             np.array([3, -1, 3])), 1))
@example((np.arange(24.0).reshape(2, 3, 4), (None, Ellipsis, np.array([0, 0], np.int32)), 2))
@example((np.arange(24.0, dtype=np.float32).reshape(2, 3, 4),
          (slice(None), np.arange(12).reshape(3, 4) % 3 == 0), 3))
@example((np.arange(24.0).reshape(2, 3, 4), (1, np.zeros((3, 4), bool)), 4))
@SETTINGS
def test_getitem_with_index_tensors_matches_torch(case):
    x, index, seed = case
    y_hg, gx_hg, gg_hg = first_and_second_order(hg, x, index, seed)
    y_t, gx_t, gg_t = first_and_second_order(torch, x, index, seed)
    dtype = x.dtype.type
    assert_close(y_hg, y_t, dtype, "value")
    assert y_hg.grad_fn.name() == y_t.grad_fn.name() == "IndexBackward0"
    assert_close(gx_hg, gx_t, dtype, "gradient of x")
    assert_close(gg_hg, gg_t, dtype, "second-order gradient")


@given(st.integers(1, 5), st.integers(1, 4), st.integers(0, 2**16),
       st.sampled_from(["row", "broadcast", "column"]), st.sampled_from([np.float32, np.float64]))
@example(3, 2, 0, "row", np.float32)
@SETTINGS
def test_index_put_accumulate_adds_every_repeat(rows, cols, seed, values_kind, dtype):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((rows, cols)).astype(dtype)
    index = rng.integers(-rows, rows, 2 * rows + 1)   # more entries than rows: repeats
    values_shape = {"row": (len(index), cols), "broadcast": (cols,),
                    "column": (len(index), 1)}[values_kind]
    values = rng.standard_normal(values_shape).astype(dtype)
    weight = rng.standard_normal((rows, cols)).astype(dtype)
    results = []
    for lib in (hg, torch):
        xt, vt = tensor(lib, x, True), tensor(lib, values, True)
        out = lib.index_put(xt, (tensor(lib, index),), vt, accumulate=True)
        results.append((out, *lib.autograd.grad((out * tensor(lib, weight)).sum(), (xt, vt))))
    for what, hg_value, torch_value in zip(("value", "grad x", "grad values"), *results):
        assert_close(hg_value, torch_value, dtype, what)


@given(st.sampled_from([((3, 4), (3, 4)), ((3, 4), (4,)), ((3, 1), (3, 4)), ((2, 3, 4), (3, 1)),
                        ((5,), (5,)), ((0, 3), (3,))]),
       st.booleans(), st.integers(0, 2**16))
@example(((3, 4), (3, 4)), True, 0)
@SETTINGS
def test_masked_select_and_scatter_match_torch(shapes, transposed, seed):
    shape, mask_shape = shapes
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(shape[::-1] if transposed else shape).astype(np.float32)
    mask = rng.random(mask_shape) < 0.5
    count = int(np.prod(np.broadcast_shapes(shape, mask_shape)))
    source = rng.standard_normal(count + 1).astype(np.float32)
    results = []
    for lib in (hg, torch):
        xt = tensor(lib, x, True)
        xv = xt.transpose(0, -1) if transposed else xt * 1   # transposed: not contiguous
        st_ = tensor(lib, source, True)
        picked = xv.masked_select(tensor(lib, mask))
        scattered = xv.masked_scatter(tensor(lib, mask), st_)
        loss = (picked * picked).sum() + (scattered * scattered).sum()
        results.append((picked, scattered, *lib.autograd.grad(loss, (xt, st_))))
    for what, hg_value, torch_value in zip(("masked_select", "masked_scatter", "grad x",
                                            "grad source"), *results):
        assert_close(hg_value, torch_value, np.float32, what)


def test_repeat_interleave_backward_adds_every_copy():
    x = np.arange(6.0).reshape(2, 3)
    grads = []
    for lib in (hg, torch):
        xt = tensor(lib, x, True)
        y = xt.repeat_interleave(tensor(lib, np.array([3, 0, 2])), dim=1)
        weight = tensor(lib, np.arange(10.0).reshape(2, 5))
        grads.append(lib.autograd.grad((y * weight).sum(), xt)[0])
    assert_close(*grads, np.float64, "gradient of x")


@given(st.integers(0, 2**16), st.sampled_from(["rows", "columns", "split", "broadcast"]))
@SETTINGS
def test_flat_scatter_add_gives_np_add_at_bit_for_bit(seed, layout):
    """Same sums in the same order as np.add.at, so float32 results are identical."""
    rng = np.random.default_rng(seed)
    shape = (6, 5, 4)
    index = {"rows": (rng.integers(-6, 6, 20),),
             "columns": (slice(None), rng.integers(0, 5, (3, 7))),
             "split": (rng.integers(0, 6, (4, 1)), slice(None), rng.integers(-4, 4, 5)),
             "broadcast": (rng.integers(0, 6, (2, 1)), rng.integers(0, 5, 9))}[layout]
    picked = np.zeros(shape)[index].shape
    values = (rng.standard_normal(picked) * 10.0 ** rng.integers(-3, 4, picked)) \
        .astype(np.float32)
    expected = np.zeros(shape, np.float32)
    np.add.at(expected, index, values)
    result = np.zeros(shape, np.float32)
    _add_at(result, index, values)
    assert np.array_equal(result, expected)


def test_mask_coordinates_are_nonzero():
    rng = np.random.default_rng(0)
    for shape in [(5,), (3, 4), (2, 3, 4), (0, 3), (3, 0, 2), (4, 1, 3)]:
        mask = rng.random(shape) < 0.5
        for got, expected in zip(_mask_nonzero(mask), np.nonzero(mask), strict=True):
            assert got.dtype == expected.dtype and np.array_equal(got, expected)


@pytest.mark.parametrize("accumulate", [False, True])
@pytest.mark.parametrize("flag", [True, False])
def test_index_put_with_a_zero_dim_mask(flag, accumulate):
    # a 0-dim mask adds a dim of size 1 (True: every element) or 0 (False: none). torch 2.13
    # computes it only for a 0-dim value without accumulate (otherwise its kernel fails an
    # internal assert), so the expected values are also written out
    x = np.arange(6.0).reshape(2, 3)
    expected = (x + 5.0 if accumulate else np.full_like(x, 5.0)) if flag else x
    if not accumulate:
        theirs = torch.tensor(x).index_put((torch.tensor(flag),), torch.tensor(5.0).double())
        np.testing.assert_array_equal(theirs.numpy(), expected)
    ours_x = hg.tensor(x, requires_grad=True)
    ours_v = hg.tensor(5.0, dtype=hg.float64, requires_grad=True)
    ours = ours_x.index_put((hg.tensor(flag),), ours_v, accumulate=accumulate)
    np.testing.assert_array_equal(ours.detach().numpy(), expected)
    assert ours.grad_fn.name() == "IndexPutBackward0"
    # torch's kernel also fails when x requires grad; the gradient is the derivative of the
    # values above: the value receives every element's gradient when the mask is True
    cotangent = np.array([[1.0, 2.0, 3.0], [10.0, 20.0, 30.0]])
    grad_x, grad_v = hg.autograd.grad(ours, [ours_x, ours_v], hg.tensor(cotangent))
    overwritten = flag and not accumulate
    np.testing.assert_array_equal(grad_x.numpy(), 0 * cotangent if overwritten else cotangent)
    assert grad_v.item() == (cotangent.sum() if flag else 0.0)
