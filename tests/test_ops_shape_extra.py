"""The second part of the shape op plugin (ops/shape.py) against real torch: flips, roll,
rot90, triangles and diagonals, repeat / tile / repeat_interleave, movedim, unflatten,
view_as / reshape_as, meshgrid, tensor_split and h/v/dsplit, the stacks, atleast_nd, and the
in-place shape methods (`t_`, `transpose_`, `squeeze_`, `unsqueeze_`, ...).

The drawn checks use `check` from tests/test_ops_shape.py: one expression `fn(L, *tensors)`,
run with `L = hypergrad` and with `L = torch` on the same values and memory layouts, must
agree on values, shapes, dtypes, the strides of views, grad_fn names, which outputs are views,
first- and second-order gradients, and, when torch raises, the exception type and message.

Then what the drawn checks do not reach: the chain of nodes composite ops build, the nodes of
the backward formulas, views that are written through, the memory layout of rot90, meshgrid's
warning, error messages, and the version counters, leaf checks and saved-tensor checks of the
in-place shape methods.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
from hypothesis import example, given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from test_ops_shape import (
    SEEDS,
    SETTINGS,
    SHAPES,
    assert_same_error,
    chain,
    check,
    draw_layouts,
    node_name,
    values,
)

import hypergrad as hg

MATRICES = hnp.array_shapes(min_dims=2, max_dims=4, min_side=0, max_side=4)
SMALL = hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=3)
DTYPES = st.sampled_from([np.float64, np.float64, np.float32, np.int32, np.int64, np.bool_])
# for ops whose gradient adds values up: float32 sums may round differently from torch's
SUMMING_DTYPES = st.sampled_from([np.float64, np.int32, np.int64, np.bool_])


def is_view(tensor):
    """torch's `_is_view()` is a method; HyperGrad's public spelling is `is_view()`."""
    return tensor.is_view() if isinstance(tensor, hg.Tensor) else tensor._is_view()


def dims_of(data, ndim, label="dim"):
    bound = max(ndim, 1)
    return data.draw(st.integers(-bound, bound - 1), label=label)


# ----------------------------------------------------------------------------------------------
# flip, fliplr, flipud, roll, rot90
# ----------------------------------------------------------------------------------------------
@SETTINGS
@given(shape=SHAPES, seed=SEEDS, data=st.data())
@example(shape=(3, 4), seed=0, data=None)
def test_flips_match_torch(shape, seed, data):
    if data is None:  # pinned: both dims, one of them negative, on a transposed matrix
        dims, layouts, reverse = [0, -1], ["fortran"], True
    else:
        dims = data.draw(st.lists(st.integers(-max(len(shape), 1), max(len(shape), 1) - 1),
                                  max_size=3), label="dims")
        layouts, reverse = draw_layouts(data, 1), data.draw(st.booleans())
    array = values(shape, seed)
    check(lambda L, x: x.flip(dims), [array], layouts, seed=seed, reverse=reverse)
    check(lambda L, x: L.flip(x, dims=tuple(dims)), [array], layouts, seed=seed)
    if dims:
        check(lambda L, x: x.flip(*dims), [array], layouts, seed=seed)
    check(lambda L, x: x.fliplr(), [array], layouts, seed=seed)
    check(lambda L, x: L.flipud(x), [array], layouts, seed=seed, reverse=reverse)


@SETTINGS
@given(shape=SHAPES, seed=SEEDS, data=st.data())
def test_roll_matches_torch(shape, seed, data):
    ndim = len(shape)
    shifts = data.draw(st.lists(st.integers(-7, 7), min_size=1, max_size=3), label="shifts")
    dims = [dims_of(data, ndim) for _ in shifts]
    layouts = draw_layouts(data, 1)
    array = values(shape, seed)
    check(lambda L, x: x.roll(shifts[0]), [array], layouts, seed=seed)   # flattened
    check(lambda L, x: L.roll(x, shifts, dims), [array], layouts, seed=seed,
          reverse=data.draw(st.booleans()))
    check(lambda L, x: x.roll(shifts[0], dims[0]), [array], layouts, seed=seed)
    check(lambda L, x: x.roll(shifts=tuple(shifts)), [array], layouts, seed=seed)


@SETTINGS
@given(shape=MATRICES, seed=SEEDS, data=st.data())
def test_rot90_matches_torch(shape, seed, data):
    ndim = len(shape)
    k = data.draw(st.integers(-5, 5), label="k")
    dims = (dims_of(data, ndim), dims_of(data, ndim))
    layouts = draw_layouts(data, 1)
    array = values(shape, seed)
    check(lambda L, x: x.rot90(k, dims), [array], layouts, seed=seed,
          reverse=data.draw(st.booleans()))
    check(lambda L, x: L.rot90(x), [array], layouts, seed=seed)


@pytest.mark.parametrize("expression", [
    "x.rot90()", "x.rot90(2)", "x.rot90(3)", "x.rot90(0)", "x.t().rot90()", "x.t().rot90(2)",
    "x.flip(0)", "x.t().flip(1)", "x.t().roll(1)", "x.t().tril()", "x.t().repeat(1, 1)"])
def test_copies_are_laid_out_as_torchs(expression):
    """Not views, but `.view()` of them works exactly when it works in torch."""
    ours = eval(expression, {"x": hg.zeros(3, 4)})
    theirs = eval(expression, {"x": torch.zeros(3, 4)})
    assert ours.is_contiguous() == theirs.is_contiguous()
    assert list(ours.stride()) == list(theirs.stride())


# ----------------------------------------------------------------------------------------------
# tril, triu, diagonal, diag, diag_embed, trace
# ----------------------------------------------------------------------------------------------
@SETTINGS
@given(shape=MATRICES, seed=SEEDS, data=st.data())
def test_triangles_match_torch(shape, seed, data):
    diagonal = data.draw(st.integers(-5, 5), label="diagonal")
    dtype = data.draw(DTYPES)
    layouts = draw_layouts(data, 1)
    array = values(shape, seed, dtype)
    check(lambda L, x: x.tril(diagonal), [array], layouts, seed=seed)
    check(lambda L, x: L.triu(x, diagonal=diagonal), [array], layouts, seed=seed, reverse=True)
    check(lambda L, x: (x * 1).tril_(diagonal), [array], layouts, seed=seed)
    check(lambda L, x: (x * 1).triu_(), [array], layouts, seed=seed)


@SETTINGS
@given(shape=SHAPES, seed=SEEDS, data=st.data())
@example(shape=(3, 4), seed=0, data=None)
def test_diagonal_matches_torch(shape, seed, data):
    if data is None:  # pinned: above the main diagonal, dims given in reverse order
        offset, dim1, dim2, layouts = 1, 1, 0, ["strided"]
    else:
        offset = data.draw(st.integers(-5, 5), label="offset")
        dim1, dim2 = dims_of(data, len(shape)), dims_of(data, len(shape))
        layouts = draw_layouts(data, 1)
    array = values(shape, seed)
    check(lambda L, x: x.diagonal(offset, dim1, dim2), [array], layouts, seed=seed,
          reverse=True)
    check(lambda L, x: L.diagonal(x, offset=offset, dim1=dim1, dim2=dim2), [array], layouts,
          seed=seed)


@SETTINGS
@given(shape=hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=4), seed=SEEDS,
       data=st.data())
def test_diag_diag_embed_and_trace_match_torch(shape, seed, data):
    offset = data.draw(st.integers(-4, 4), label="offset")
    ndim = len(shape) + 1
    dim1, dim2 = dims_of(data, ndim), dims_of(data, ndim)
    dtype = data.draw(SUMMING_DTYPES)
    layouts = draw_layouts(data, 1)
    array = values(shape, seed, dtype)
    check(lambda L, x: L.diag(x, offset), [array], layouts, seed=seed)
    check(lambda L, x: x.diag(), [array], layouts, seed=seed)
    check(lambda L, x: L.diag_embed(x, offset, dim1, dim2), [array], layouts, seed=seed)
    check(lambda L, x: x.diag_embed(), [array], layouts, seed=seed, reverse=True)
    check(lambda L, x: x.trace(), [array], layouts, seed=seed)


def test_writing_through_a_diagonal_changes_the_matrix_and_its_gradient():
    """`x.diagonal()` is a writable view: in-place ops on it rewrite the base's history
    (CopySlices), as in torch; also under no_grad on a leaf (`zero_` of the diagonal)."""
    results = {}
    for L in (hg, torch):
        w = L.tensor(np.arange(12.0).reshape(3, 4), requires_grad=True)
        y = w * 1
        y.diagonal(1).mul_(3)
        y.diagonal().zero_()
        (y * L.tensor(np.arange(12.0).reshape(3, 4))).sum().backward()
        leaf = L.ones(3, 3)
        with L.no_grad():
            leaf.diagonal().zero_()
        results[L] = (y.detach().numpy(), w.grad.numpy(),
                      node_name(y).replace("torch::autograd::", ""), leaf.numpy(), leaf._version)
    for ours, theirs in zip(results[hg], results[torch]):
        if isinstance(theirs, np.ndarray):
            np.testing.assert_array_equal(ours, theirs)
        else:
            assert ours == theirs


# ----------------------------------------------------------------------------------------------
# repeat, tile, repeat_interleave
# ----------------------------------------------------------------------------------------------
@SETTINGS
@given(shape=SMALL, seed=SEEDS, data=st.data())
@example(shape=(2, 3), seed=0, data=None)
def test_repeat_and_tile_match_torch(shape, seed, data):
    if data is None:  # pinned: a new leading dim, an emptied dim, a tile shorter than the shape
        repeats, dims, layouts, dtype = (2, 0, 3), (2,), ["fortran"], np.float64
    else:
        repeats = tuple(data.draw(st.lists(st.integers(0, 3), min_size=len(shape),
                                           max_size=len(shape) + 2), label="repeats"))
        dims = tuple(data.draw(st.lists(st.integers(0, 3), max_size=4), label="dims"))
        layouts, dtype = draw_layouts(data, 1), data.draw(SUMMING_DTYPES)
    array = values(shape, seed, dtype)
    check(lambda L, x: x.repeat(*repeats) if repeats else x.repeat(()), [array], layouts,
          seed=seed, reverse=True)
    check(lambda L, x: x.repeat(repeats), [array], layouts, seed=seed)
    check(lambda L, x: L.tile(x, dims), [array], layouts, seed=seed)
    if dims:
        check(lambda L, x: x.tile(*dims), [array], layouts, seed=seed)


@SETTINGS
@given(shape=SMALL, seed=SEEDS, data=st.data())
@example(shape=(3, 2), seed=0, data=None)
def test_repeat_interleave_matches_torch(shape, seed, data):
    if data is None:  # pinned: a count per row, one of them zero, with the output size
        dim, counts, layouts, output_size = 0, [2, 0, 1], ["strided"], 3
    else:
        dim = data.draw(st.one_of(st.none(), st.integers(-max(len(shape), 1),
                                                         max(len(shape), 1) - 1)), label="dim")
        size = int(np.prod(shape)) if dim is None else (shape[dim] if shape else 1)
        counts = data.draw(st.lists(st.integers(0, 3), min_size=size, max_size=size)
                           | st.lists(st.integers(0, 3), min_size=1, max_size=1), label="counts")
        layouts = draw_layouts(data, 1)
        output_size = sum(counts) * (size if len(counts) == 1 else 1)
    array = values(shape, seed)
    count = counts[0] if counts else 2
    check(lambda L, x: x.repeat_interleave(count, dim), [array], layouts, seed=seed,
          reverse=True)
    check(lambda L, x: L.repeat_interleave(x, L.tensor(counts), dim=dim,
                                           output_size=output_size), [array], layouts, seed=seed)
    check(lambda L, x: x.repeat_interleave(L.tensor(count), dim=dim), [array], layouts,
          seed=seed)


def test_repeat_interleave_of_counts_alone_gives_positions():
    for counts in ([1, 0, 3], [], [2]):
        ours = hg.repeat_interleave(hg.tensor(counts, dtype=hg.int64))
        theirs = torch.repeat_interleave(torch.tensor(counts, dtype=torch.int64))
        assert ours.dtype.name == "int64" and ours.tolist() == theirs.tolist()


# ----------------------------------------------------------------------------------------------
# movedim, unflatten, view_as, reshape_as
# ----------------------------------------------------------------------------------------------
@SETTINGS
@given(shape=SHAPES, seed=SEEDS, data=st.data())
def test_movedim_matches_torch(shape, seed, data):
    ndim = len(shape)
    count = data.draw(st.integers(0, max(ndim, 1)), label="count")
    source = [dims_of(data, ndim, "source") for _ in range(count)]
    destination = [dims_of(data, ndim, "destination") for _ in range(count)]
    layouts = draw_layouts(data, 1)
    array = values(shape, seed)
    check(lambda L, x: x.movedim(source, destination), [array], layouts, seed=seed,
          reverse=True)
    check(lambda L, x: L.moveaxis(x, source, destination), [array], layouts, seed=seed)
    if count:
        check(lambda L, x: x.moveaxis(source[0], destination[0]), [array], layouts, seed=seed)


@SETTINGS
@given(shape=hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=6), seed=SEEDS,
       data=st.data())
def test_unflatten_view_as_and_reshape_as_match_torch(shape, seed, data):
    dim = dims_of(data, len(shape))
    sizes = tuple(data.draw(st.lists(st.sampled_from([-1, 0, 1, 2, 3]), max_size=3).filter(
        lambda s: s.count(-1) <= 1), label="sizes"))
    layouts = draw_layouts(data, 1)
    array = values(shape, seed)
    other = np.zeros(tuple(reversed(shape)))
    if shape and not (-1 in sizes and shape[dim] == 0):  # (else torch's error carries a
        # C++ trace: tested below)
        check(lambda L, x: x.unflatten(dim, sizes), [array], layouts, seed=seed, reverse=True)
        check(lambda L, x: L.unflatten(x, dim, sizes), [array], layouts, seed=seed)
    check(lambda L, x: x.view_as(L.from_numpy(other.copy())), [array], layouts, seed=seed)
    check(lambda L, x: x.reshape_as(L.from_numpy(other.copy())), [array], layouts, seed=seed)


# ----------------------------------------------------------------------------------------------
# meshgrid
# ----------------------------------------------------------------------------------------------
@SETTINGS
@given(sizes=st.lists(st.one_of(st.none(), st.integers(0, 3)), min_size=1, max_size=3),
       seed=SEEDS, data=st.data())
@example(sizes=[2, None, 3], seed=0, data=None)
def test_meshgrid_matches_torch(sizes, seed, data):
    if data is None:  # pinned: "xy" swaps the first two dims, whatever comes after
        indexing, layouts, listed = "xy", ["strided", "contiguous", "contiguous"], True
    else:
        indexing = data.draw(st.sampled_from(["ij", "xy"]))
        layouts, listed = draw_layouts(data, len(sizes)), data.draw(st.booleans())
    arrays = [values(() if n is None else (n,), seed + i) for i, n in enumerate(sizes)]
    used = data.draw(st.lists(st.booleans(), min_size=1, max_size=3)) if data else None
    if listed:
        check(lambda L, *xs: L.meshgrid(list(xs), indexing=indexing), arrays, layouts,
              seed=seed, used=used, reverse=True)
    else:
        check(lambda L, *xs: L.meshgrid(*xs, indexing=indexing), arrays, layouts, seed=seed,
              used=used)


def test_meshgrid_without_indexing_warns_as_torch_and_uses_ij():
    message = ("torch.meshgrid: in an upcoming release, it will be required to pass the "
               "indexing argument.")
    a, b = hg.arange(3.0), hg.arange(2.0)
    with pytest.warns(UserWarning, match="required to pass the indexing argument") as caught:
        grids = hg.meshgrid(a, b)
    assert [str(w.message) for w in caught] == [message]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected = torch.meshgrid(torch.arange(3.0), torch.arange(2.0))
    assert [g.tolist() for g in grids] == [g.tolist() for g in expected]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        hg.meshgrid(a, b, indexing="ij")


# ----------------------------------------------------------------------------------------------
# tensor_split, hsplit, vsplit, dsplit
# ----------------------------------------------------------------------------------------------
@SETTINGS
@given(shape=hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=5), seed=SEEDS,
       data=st.data())
def test_tensor_split_matches_torch(shape, seed, data):
    dim = dims_of(data, len(shape))
    sections = data.draw(st.integers(1, 6), label="sections")
    indices = data.draw(st.lists(st.integers(-7, 7), max_size=3), label="indices")
    layouts = draw_layouts(data, 1)
    kwargs = {"seed": seed, "used": data.draw(st.lists(st.booleans(), min_size=1, max_size=3)),
              "reverse": data.draw(st.booleans())}
    array = values(shape, seed)
    check(lambda L, x: x.tensor_split(sections, dim), [array], layouts, **kwargs)
    check(lambda L, x: L.tensor_split(x, indices, dim=dim), [array], layouts, **kwargs)
    check(lambda L, x: x.tensor_split(L.tensor(indices, dtype=L.int64), dim), [array], layouts,
          **kwargs)
    check(lambda L, x: x.tensor_split(L.tensor(sections), dim), [array], layouts, **kwargs)


@SETTINGS
@given(shape=hnp.array_shapes(min_dims=0, max_dims=4, min_side=0, max_side=4), seed=SEEDS,
       data=st.data())
def test_hsplit_vsplit_dsplit_match_torch(shape, seed, data):
    sections = data.draw(st.integers(1, 4), label="sections")
    indices = data.draw(st.lists(st.integers(-4, 4), max_size=2), label="indices")
    layouts = draw_layouts(data, 1)
    array = values(shape, seed)
    for name in ("hsplit", "vsplit", "dsplit"):
        check(lambda L, x, name=name: getattr(x, name)(sections), [array], layouts, seed=seed)
        check(lambda L, x, name=name: getattr(L, name)(x, indices), [array], layouts, seed=seed,
              reverse=True)


# ----------------------------------------------------------------------------------------------
# atleast_1d/2d/3d, hstack, vstack, row_stack, dstack, column_stack
# ----------------------------------------------------------------------------------------------
@SETTINGS
@given(shapes=st.lists(hnp.array_shapes(min_dims=0, max_dims=4, min_side=0, max_side=3),
                       min_size=1, max_size=3), seed=SEEDS, data=st.data())
def test_atleast_nd_matches_torch(shapes, seed, data):
    arrays = [values(s, seed + i) for i, s in enumerate(shapes)]
    layouts = draw_layouts(data, len(arrays))
    for name in ("atleast_1d", "atleast_2d", "atleast_3d"):
        check(lambda L, x, name=name: getattr(L, name)(x), arrays[:1], layouts, seed=seed)
        check(lambda L, *xs, name=name: getattr(L, name)(*xs), arrays, layouts, seed=seed)
        check(lambda L, *xs, name=name: getattr(L, name)(list(xs)), arrays, layouts, seed=seed,
              reverse=True)


@SETTINGS
@given(shape=hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=3), seed=SEEDS,
       data=st.data())
@example(shape=(), seed=0, data=None)
def test_stacks_match_torch_with_promotion(shape, seed, data):
    if data is None:  # pinned: numbers and vectors of one element, of different dtypes
        arrays = [values((), 0, np.float32), values((1,), 1, np.int64), values((), 2)]
        layouts = ["contiguous"] * 3
    else:
        arrays = []
        for i in range(data.draw(st.integers(1, 3))):
            piece = list(shape)
            if piece and data.draw(st.booleans()):
                piece[data.draw(st.integers(0, len(piece) - 1))] = data.draw(st.integers(0, 3))
            arrays.append(values(tuple(piece), seed + i, data.draw(DTYPES)))
        layouts = draw_layouts(data, len(arrays))
    for name in ("hstack", "vstack", "row_stack", "dstack", "column_stack"):
        check(lambda L, *xs, name=name: getattr(L, name)(xs), arrays, layouts, seed=seed)
        check(lambda L, *xs, name=name: getattr(L, name)(list(xs)), arrays, layouts, seed=seed,
              reverse=True)


# ----------------------------------------------------------------------------------------------
# The graphs composite ops build, and the nodes of backward formulas
# ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("expression", [
    "x.repeat_interleave(2)", "x.repeat_interleave(2, dim=1)", "v.repeat_interleave(3)",
    "s.repeat_interleave(2)", "x.repeat_interleave(L.tensor([1, 0, 2]), dim=0)",
    "x.repeat_interleave(L.tensor([2]))", "L.atleast_1d(s)", "L.atleast_2d(v)",
    "L.atleast_3d(v)", "L.atleast_3d(x)", "L.atleast_3d(s)", "L.hstack([s, s])",
    "L.column_stack([v, v])", "L.column_stack([v[:3], x.t()[::2].t()])",
    "L.dstack([v, v])", "L.vstack([v, x])", "L.meshgrid(v, s, indexing='xy')[1]",
    "x.movedim(0, 1)", "x.unflatten(1, (2, -1))", "x.view_as(x.t())",
    "x.t().reshape_as(L.zeros(12))",
    "x.tile((2,))", "L.diag(v, -1)", "L.diag(x, 1)", "x.fliplr()", "x.hsplit([1, 3])[1]",
    "x.tensor_split(2)[1]", "x.clone().t_()", "x.clone().transpose_(0, 1)",
    "x.clone().swapaxes_(0, 1)", "x.clone().swapdims_(1, 0)", "x.clone().unsqueeze_(1)",
    "x.clone()[None].squeeze_()", "x.clone()[None].squeeze_(0)",
    "x.clone()[None].squeeze_((0, 1))", "x.clone().tril_(1)", "x.clone().triu_(-1)",
])
def test_composites_build_torchs_chain_of_nodes(expression):
    names = {}
    for L in (hg, torch):
        x = L.tensor(np.arange(12.0).reshape(3, 4), requires_grad=True)
        v = L.tensor(np.arange(4.0), requires_grad=True)
        s = L.tensor(2.0, dtype=L.float64, requires_grad=True)
        y = eval(expression, {"L": L, "x": x, "v": v, "s": s})
        names[L] = ([n.replace("torch::autograd::", "") for n in chain(y)], is_view(y),
                    tuple(y.shape))
    assert names[hg] == names[torch]


@pytest.mark.parametrize("expression", [
    "x.flip(0)", "x.roll(1, 1)", "x.rot90()", "x.tril()", "x.triu(1)", "x.diagonal(1)",
    "L.diag(x)", "L.diag_embed(x)", "x.trace()", "x.repeat(2, 1)", "x.repeat(2, 1, 3)",
    "x.repeat_interleave(L.tensor([1, 2, 0]), dim=0)", "x.movedim(1, 0)",
])
def test_backward_formulas_build_torchs_nodes_and_differentiate_twice(expression):
    """With create_graph=True the gradient is built by ops whose nodes are torch's (except
    trace's: `grad * eye` where torch fills a flat tensor and views it); the second
    derivative, through those formulas' own backward, matches too."""
    results = {}
    weights = np.random.default_rng(0).standard_normal((3, 4))
    for L in (hg, torch):
        x = L.tensor(np.arange(12.0).reshape(3, 4), requires_grad=True)
        y = eval(expression, {"L": L, "x": x})
        g = L.tensor(np.random.default_rng(1).standard_normal(tuple(y.shape)),
                     requires_grad=True)
        (gx,) = L.autograd.grad(y, x, g, create_graph=True)
        (gg,) = L.autograd.grad((gx * L.tensor(weights)).sum(), g)
        results[L] = (chain(gx)[:1], gx.detach().numpy(), gg.numpy())
    if expression != "x.trace()":
        assert results[hg][0] == results[torch][0]
    np.testing.assert_allclose(results[hg][1], results[torch][1], rtol=1e-12)
    np.testing.assert_allclose(results[hg][2], results[torch][2], rtol=1e-12)


# ----------------------------------------------------------------------------------------------
# In-place shape methods
# ----------------------------------------------------------------------------------------------
INPLACE = ["t_", "transpose_", "swapaxes_", "swapdims_", "squeeze_", "unsqueeze_"]


@SETTINGS
@given(shape=hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=3), seed=SEEDS,
       data=st.data())
def test_inplace_shape_methods_match_torch(shape, seed, data):
    """Applied to a non-leaf (and to a view of one): values, strides, nodes, views and
    gradients of first and second order agree with torch."""
    ndim = len(shape)
    dim0, dim1 = dims_of(data, ndim), dims_of(data, ndim)
    new = data.draw(st.integers(-ndim - 1, ndim), label="new dim")
    layouts = draw_layouts(data, 1)
    start = data.draw(st.sampled_from(["clone", "view"]), label="start")

    def fresh(x):
        return x * 1 if start == "clone" else (x * 1)[None].squeeze(0)

    array = values(shape, seed)
    check(lambda L, x: fresh(x).t_(), [array], layouts, seed=seed)
    check(lambda L, x: fresh(x).transpose_(dim0, dim1), [array], layouts, seed=seed)
    check(lambda L, x: fresh(x).swapaxes_(dim0, dim1), [array], layouts, seed=seed,
          reverse=True)
    check(lambda L, x: fresh(x).swapdims_(dim0, dim1), [array], layouts, seed=seed)
    check(lambda L, x: fresh(x).squeeze_(), [array], layouts, seed=seed)
    check(lambda L, x: fresh(x).squeeze_(dim0), [array], layouts, seed=seed)
    check(lambda L, x: fresh(x).squeeze_((dim0,)), [array], layouts, seed=seed)
    check(lambda L, x: fresh(x).unsqueeze_(new), [array], layouts, seed=seed, reverse=True)


@pytest.mark.parametrize("program", [
    "x.t_()", "x.transpose_(0, 1)", "x.swapaxes_(0, 1)", "x.swapdims_(1, 0)",
    "x.unsqueeze_(0)", "x.unsqueeze_(0).squeeze_()", "x.unsqueeze_(2).squeeze_(2)",
    "x.unsqueeze_(0).squeeze_((0,))"])
def test_inplace_shape_methods_keep_memory_and_bump_the_version(program):
    outcome = {}
    for L in (hg, torch):
        array = np.arange(6.0).reshape(2, 3)
        x = L.from_numpy(array)
        view = x[0]
        result = eval(program, {"x": x})
        x.add_(1)                      # writes through to the numpy array and to `view`
        outcome[L] = (result is x, tuple(x.shape), list(x.stride()), x._version, view._version,
                      array.tolist(), view.tolist(), is_view(x))
    assert outcome[hg] == outcome[torch]


@pytest.mark.parametrize("method, args", [
    ("t_", ()), ("transpose_", (0, 1)), ("squeeze_", ()), ("unsqueeze_", (0,)),
    ("swapaxes_", (0, 1)), ("swapdims_", (0, 1))])
def test_inplace_shape_methods_refuse_leaves_and_check_saved_tensors(method, args):
    outcome = {}
    for L in (hg, torch):
        leaf = L.ones(2, 3, requires_grad=True)
        with pytest.raises(RuntimeError) as refused:
            getattr(leaf, method)(*args)
        with pytest.raises(RuntimeError) as refused_view:
            getattr(leaf[:1], method)(*args)
        with L.no_grad():
            getattr(leaf, method)(*args)              # allowed without grad mode
        y = L.ones(2, 3, requires_grad=True) * 1
        product = y * y                              # saves y
        getattr(y, method)(*args)
        with pytest.raises(RuntimeError) as stale:
            product.sum().backward()
        outcome[L] = (str(refused.value), str(refused_view.value), tuple(leaf.shape),
                      leaf._version, stale.value.args[0].split(":")[0])
    assert outcome[hg] == outcome[torch]


def test_a_gradient_retained_before_an_inplace_shape_method_keeps_the_old_shape():
    """torch's quirk, kept: `y.grad` is the gradient of y before `t_()`, of its old shape."""
    grads = {}
    for L in (hg, torch):
        x = L.tensor(np.arange(6.0).reshape(2, 3), requires_grad=True)
        y = x * 2
        y.retain_grad()
        y.t_()
        (y * L.tensor(np.arange(6.0).reshape(3, 2))).sum().backward()
        grads[L] = (y.grad.numpy(), x.grad.numpy())
    for ours, theirs in zip(grads[hg], grads[torch]):
        np.testing.assert_array_equal(ours, theirs)


# ----------------------------------------------------------------------------------------------
# Errors a user can cause: torch's exception type and message
# ----------------------------------------------------------------------------------------------
ERRORS = [
    "x.flip(2)", "x.flip(0, -2)", "x.flip()", "v.fliplr()", "s.flipud()", "x.roll((1, 2))",
    "x.roll(1, (0, 1))", "x.roll(1, 2)", "s.roll(1, 0)", "x.roll((), ())", "x.rot90(1, (0,))",
    "v.rot90()", "x.rot90(1, (0, 0))", "x.rot90(1, (0, 2))", "x.rot90(1, (0, -2))",
    "x.rot90(1, (2, 0))", "v.tril()", "s.triu()", "L.diag(c)", "L.diag(s)",
    "x.diagonal(0, 0, 0)", "x.diagonal(0, 0, -2)", "x.diagonal(0, 0, 2)", "v.diagonal()",
    "L.diag_embed(v, 0, 0, 0)", "L.diag_embed(v, 0, 0, 2)", "L.diag_embed(s)", "v.trace()",
    "c.trace()", "x.repeat(2)", "x.repeat(-1, 1)", "x.repeat()", "x.tile(-1)", "L.tile(x)",
    "x.repeat_interleave(-1)", "x.repeat_interleave(L.tensor([1, 2]), dim=0)",
    "x.repeat_interleave(L.tensor([1, -2, 1]), dim=0)",
    "x.repeat_interleave(L.tensor([[1]]), dim=0)", "x.repeat_interleave(2, dim=2)",
    "x.repeat_interleave(L.tensor([1, 2, 0]))", "s.repeat_interleave(2, dim=0)",
    "x.repeat_interleave(L.tensor([1, 2, 0]), dim=0, output_size=4)",
    "x.repeat_interleave(2, output_size=5)", "L.repeat_interleave(L.tensor([[1]]))",
    "L.repeat_interleave(L.tensor([1, -1]))", "x.movedim(0, 2)", "x.movedim((0, 1), (0,))",
    "x.movedim((0, 0), (0, 1))", "x.movedim((0, 1), (1, 1))", "x.movedim((0, -2), (0, 1))",
    "x.unflatten(1, (3, 2))", "x.unflatten(1, ())", "x.unflatten(2, (1,))",
    "x.unflatten(1, (-1, 3))", "x.view_as(v)", "x.reshape_as(v)", "x.t().view_as(v)",
    "x.tensor_split(0)", "s.tensor_split(1)", "x.tensor_split(L.tensor([1.0]))",
    "x.tensor_split(L.tensor([[1]]))", "x.tensor_split(L.tensor([1], dtype=L.int32))",
    "x.tensor_split(2, 2)", "x.hsplit(3)", "s.hsplit(1)", "v.vsplit(2)", "x.dsplit(2)",
    "x.hsplit(0)", "v.hsplit(3)", "c.dsplit(3)", "x.vsplit(2)", "L.hstack([])",
    "L.vstack([])", "L.dstack([])", "L.column_stack([])", "L.hstack(x)", "L.row_stack(x)",
    "L.hstack([x, v])", "L.hstack([x, 1])", "L.atleast_1d(x, 1)", "L.column_stack([s, x])",
    "L.meshgrid(v, v.float(), indexing='ij')", "L.meshgrid(indexing='xy')",
    "L.meshgrid(v, indexing='foo')", "L.meshgrid(v, 1, indexing='ij')",
    "c.t_()", "x.transpose_(0, 2)", "x.unsqueeze_(3)", "x.squeeze_(2)",
    "o.squeeze_((0, -3))", "x.swapaxes_(0, -3)",
]


@pytest.mark.parametrize("expression", ERRORS)
def test_errors_match_torch(expression):
    errors = []
    for L in (hg, torch):
        names = {"L": L, "x": L.zeros(3, 4), "v": L.zeros(4, dtype=L.float64),
                 "s": L.tensor(1.0), "c": L.zeros(2, 3, 4), "o": L.zeros(1, 3, 1)}
        with pytest.raises((RuntimeError, IndexError, TypeError, ValueError)) as info:
            eval(expression, names)
        errors.append(info.value)
    assert_same_error(*errors)


@pytest.mark.parametrize("expression", [
    "x.unflatten(1, (-1, -1))", "s.unflatten(0, (1,))", "L.zeros(0).unflatten(0, (-1, 0))",
    "x.unflatten(1, (-2, 2))", "L.meshgrid(v, x, indexing='ij')",
    "b.trace()", "L.repeat_interleave(L.tensor([1.0]))",
    "x.repeat_interleave(L.tensor([1.0, 2.0, 1.0]), dim=0)", "L.atleast_1d(1)",
])
def test_errors_with_torchs_type_and_first_line(expression):
    """Errors whose torch message carries a C++ trace or a printed tensor: the same type,
    and the same first line up to that part."""
    errors = []
    for L in (hg, torch):
        names = {"L": L, "x": L.zeros(3, 4), "v": L.zeros(4), "s": L.tensor(1.0),
                 "b": L.zeros(2, 2, dtype=L.bool)}
        with pytest.raises((RuntimeError, NotImplementedError, TypeError)) as info:
            eval(expression, names)
        errors.append(info.value)
    ours, theirs = errors
    assert type(ours) is type(theirs)
    first = str(theirs).splitlines()[0].split(" at /")[0]
    assert str(ours).startswith(first.split(" but got:")[0])


def test_every_new_op_has_its_tensor_methods_as_in_torch():
    names = ["flip", "fliplr", "flipud", "roll", "rot90", "tril", "tril_", "triu", "triu_",
             "diag", "diagonal", "diag_embed", "trace", "repeat", "tile", "repeat_interleave",
             "movedim", "moveaxis", "unflatten", "view_as", "reshape_as", "tensor_split",
             "hsplit", "vsplit", "dsplit"] + INPLACE
    assert [n for n in names if not hasattr(hg.Tensor, n)] == []
    assert [n for n in names if not hasattr(torch.Tensor, n)] == []
    functions = ["flip", "fliplr", "flipud", "roll", "rot90", "tril", "triu", "diag",
                 "diagonal", "diag_embed", "trace", "tile", "repeat_interleave", "movedim",
                 "moveaxis", "unflatten", "meshgrid", "tensor_split", "hsplit", "vsplit",
                 "dsplit", "hstack", "vstack", "row_stack", "dstack", "column_stack",
                 "atleast_1d", "atleast_2d", "atleast_3d"]
    assert [n for n in functions if not callable(getattr(hg, n, None))] == []
    assert [n for n in functions if not callable(getattr(torch, n, None))] == []
