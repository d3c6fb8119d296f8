"""The shape op plugin (ops/shape.py) against real torch.

Every check writes one expression, `fn(L, *tensors)`, run once with `L = hypergrad` and once
with `L = torch` on the same float64 values (hypothesis draws shapes, including 0-dim, size-1
and empty dims, and the memory layout of the inputs). They must agree on:

- values, shapes, dtypes, and for views the strides of every dim longer than 1 (a view must
  look at memory the way torch's does; a copy is row-major, where torch's sometimes follows
  the input's layout);
- the grad_fn name of every output, and which outputs are views;
- whether the result *is* the input (`flatten` of one dim, `contiguous` of a contiguous tensor);
- the gradient for random cotangents, which may arrive non-contiguous (the outputs are then
  transposed before the cotangent is applied) or only for some outputs of split/chunk/unbind;
- the second-order gradient: d/d(cotangents) of sum(gradient * weights), which runs each
  backward formula's own backward;
- and, when torch raises, the same exception type and message.

Then the cases the drawn checks do not reach: error messages, `T`/`mT` warnings, views sharing
memory and the version counter (also through `from_numpy`), node names of double backward,
and advanced indexing being refused clearly.
"""

from __future__ import annotations

import itertools
import math
import warnings

import numpy as np
import pytest
import torch
from hypothesis import example, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import hypergrad as hg

SETTINGS = settings(max_examples=40, deadline=None)
SHAPES = hnp.array_shapes(min_dims=0, max_dims=4, min_side=0, max_side=4)
LAYOUTS = st.sampled_from(["contiguous", "fortran", "strided"])
SEEDS = st.integers(0, 2**32 - 1)


# ----------------------------------------------------------------------------------------------
# helpers: the same expression in both libraries, compared
# ----------------------------------------------------------------------------------------------
def with_layout(array, layout):
    """A copy of `array` (same shape and values) laid out in memory as `layout` says."""
    if layout == "contiguous":
        return array.copy()
    if layout == "fortran":
        return np.asfortranarray(array)
    padded = np.zeros(tuple(2 * s for s in array.shape), array.dtype)
    view = padded[tuple(slice(None, None, 2) for _ in array.shape) + (Ellipsis,)]
    view[...] = array
    return view


def values(shape, seed, dtype=np.float64):
    data = np.asarray(np.random.default_rng(seed).standard_normal(shape))
    if np.dtype(dtype).kind == "b":
        return np.asarray(data > 0)
    return np.asarray(data * 3, dtype=dtype)


def leaves(L, arrays, layouts, requires_grad=True):
    out = []
    for array, layout in zip(arrays, layouts):
        tensor = L.from_numpy(with_layout(array, layout))
        if requires_grad and array.dtype.kind == "f":
            tensor.requires_grad_()
        out.append(tensor)
    return out


def as_tuple(value):
    return tuple(value) if isinstance(value, (tuple, list)) else (value,)


def torch_dtype_name(dtype):
    return str(dtype).replace("torch.", "")


def node_name(tensor):
    return None if tensor.grad_fn is None else tensor.grad_fn.name()


def long_strides(tensor):
    """Strides of the dims longer than 1 (a size-1 dim's stride never matters)."""
    return [s for s, n in zip(tensor.stride(), tensor.shape) if n > 1]


def assert_same_tensor(ours, theirs, label="", strides=True):
    assert isinstance(ours, hg.Tensor), f"{label}: got {type(ours).__name__}"
    assert tuple(ours.shape) == tuple(theirs.shape), label
    assert ours.dtype.name == torch_dtype_name(theirs.dtype), label
    np.testing.assert_array_equal(ours.detach().numpy(), theirs.detach().numpy(), err_msg=label)
    if strides and theirs.numel() > 1 and theirs._is_view():
        assert long_strides(ours) == long_strides(theirs), label


def assert_same_grads(ours, theirs, label):
    for i, (h, t) in enumerate(zip(ours, theirs)):
        if t is None:
            assert h is None or not np.any(h.detach().numpy()), f"{label}[{i}]"
        else:
            assert h is not None, f"{label}[{i}] is None in HyperGrad"
            assert tuple(h.shape) == tuple(t.shape), f"{label}[{i}]"
            assert h.dtype.name == torch_dtype_name(t.dtype), f"{label}[{i}]"
            # sums may add in another order than torch's: allow a few units in the last place
            np.testing.assert_allclose(h.detach().numpy(), t.detach().numpy(), rtol=1e-12,
                                       atol=1e-12, err_msg=f"{label}[{i}]")


def assert_same_error(ours, theirs):
    assert type(ours) is type(theirs), f"HyperGrad raised {ours!r}, torch raised {theirs!r}"
    assert str(ours) == str(theirs)


def check(fn, arrays, layouts=None, *, seed=0, used=None, reverse=False):
    """Run `fn(L, *tensors)` in both libraries and compare everything listed in the module
    docstring. `used[i]` says whether output i gets a cotangent (default: all); `reverse`
    transposes the outputs first, so the gradient reaching the op is not contiguous."""
    layouts = layouts or ["contiguous"] * len(arrays)
    runs, errors = {}, {}
    for L in (hg, torch):
        inputs = leaves(L, arrays, layouts)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                runs[L] = (inputs, fn(L, *inputs))
        except Exception as error:  # noqa: BLE001 - compared with torch's below
            errors[L] = error
    if errors:
        assert set(errors) == {hg, torch}, f"only one library raised: {errors}"
        assert_same_error(errors[hg], errors[torch])
        return
    (h_in, h_out), (t_in, t_out) = runs[hg], runs[torch]
    assert isinstance(h_out, tuple) == isinstance(t_out, tuple)
    h_outs, t_outs = as_tuple(h_out), as_tuple(t_out)
    assert len(h_outs) == len(t_outs)
    for i, (h, t) in enumerate(zip(h_outs, t_outs)):
        assert_same_tensor(h, t, f"output {i}")
        assert node_name(h) == node_name(t), f"output {i}"
        assert (h is h_in[0]) == (t is t_in[0]), f"output {i}: returns its input"
        if t.numel() > 0:
            assert h.is_view() == t._is_view(), f"output {i}: is_view"
    check_gradients(h_in, h_outs, t_in, t_outs, seed, used, reverse)


def check_gradients(h_in, h_outs, t_in, t_outs, seed, used, reverse):
    picked = [i for i, t in enumerate(t_outs)
              if t.requires_grad and (used is None or used[i % len(used)])]
    wrt = [i for i, t in enumerate(t_in) if t.requires_grad]
    if not picked or not wrt:
        return
    rng = np.random.default_rng(seed)
    shapes = [tuple(t_outs[i].shape)[::-1] if reverse else tuple(t_outs[i].shape) for i in picked]
    dtypes = [t_outs[i].detach().numpy().dtype for i in picked]
    cotangents = [np.asarray(rng.standard_normal(s)).astype(d) for s, d in zip(shapes, dtypes)]
    results = {}
    for L, inputs, outs in ((hg, h_in, h_outs), (torch, t_in, t_outs)):
        chosen = [outs[i] for i in picked]
        if reverse:
            chosen = [o.permute(tuple(range(o.ndim - 1, -1, -1))) for o in chosen]
        cots = [L.tensor(c, requires_grad=True) for c in cotangents]
        grads = L.autograd.grad(chosen, [inputs[j] for j in wrt], cots, create_graph=True,
                                allow_unused=True)
        results[L] = (cots, grads)
    assert_same_grads(results[hg][1], results[torch][1], "gradient")
    weights = [np.asarray(rng.standard_normal(tuple(t.shape))) if t is not None else None
               for t in results[torch][1]]
    totals = {L: sum((g * L.tensor(w.astype(g.detach().numpy().dtype))).sum()
                     for g, w in zip(grads, weights) if g is not None)
              for L, (_, grads) in results.items()}
    if not isinstance(totals[torch], torch.Tensor):
        return  # torch has no gradient for any input
    assert totals[hg].requires_grad == totals[torch].requires_grad
    if totals[torch].requires_grad:
        seconds = {L: L.autograd.grad(totals[L], results[L][0], allow_unused=True)
                   for L in results}
        assert_same_grads(seconds[hg], seconds[torch], "second-order gradient")


def draw_layouts(data, n):
    return [data.draw(LAYOUTS, label=f"layout {i}") for i in range(n)]


# ----------------------------------------------------------------------------------------------
# view, reshape, flatten, contiguous
# ----------------------------------------------------------------------------------------------
def prime_factors(n):
    factors, p = [], 2
    while n > 1:
        while n % p == 0:
            factors.append(p)
            n //= p
        p += 1
    return factors


@st.composite
def target_shapes(draw, shape):
    """A shape with the same number of elements as `shape`, maybe with one -1."""
    numel = math.prod(shape)
    if numel == 0:
        target = draw(st.lists(st.integers(0, 3), min_size=1, max_size=4).filter(
            lambda s: 0 in s))
    else:
        factors = draw(st.permutations(prime_factors(numel)))
        cuts = sorted(draw(st.lists(st.integers(0, len(factors)), max_size=3)))
        bounds = [0, *cuts, len(factors)]
        target = [math.prod(factors[a:b]) for a, b in itertools.pairwise(bounds)]
        for _ in range(draw(st.integers(0, 2))):
            target.insert(draw(st.integers(0, len(target))), 1)
        if numel == 1 and draw(st.booleans()):
            target = []
    if target and numel and draw(st.booleans()):
        target[draw(st.integers(0, len(target) - 1))] = -1
    return tuple(target)


@SETTINGS
@given(shape=SHAPES, seed=SEEDS, data=st.data())
@example(shape=(3, 4), seed=0, data=None)
def test_view_and_reshape_match_torch_on_any_layout(shape, seed, data):
    if data is None:  # the pinned case: a transposed matrix cannot be viewed as a vector
        layout, target, reverse = "fortran", (12,), False
    else:
        layout = data.draw(LAYOUTS)
        target = data.draw(target_shapes(shape))
        reverse = data.draw(st.booleans())
    array = values(shape, seed)
    check(lambda L, x: x.view(target), [array], [layout], seed=seed, reverse=reverse)
    check(lambda L, x: x.view(*target), [array], [layout], seed=seed)
    check(lambda L, x: x.reshape(target), [array], [layout], seed=seed, reverse=reverse)
    check(lambda L, x: L.reshape(x, target), [array], [layout], seed=seed)


@SETTINGS
@given(shape=SHAPES, seed=SEEDS, data=st.data())
def test_flatten_matches_torch(shape, seed, data):
    ndim = max(len(shape), 1)
    start = data.draw(st.integers(-ndim, ndim - 1))
    end = data.draw(st.integers(-ndim, ndim - 1))
    layouts = draw_layouts(data, 1)
    array = values(shape, seed)
    check(lambda L, x: x.flatten(start, end), [array], layouts, seed=seed,
          reverse=data.draw(st.booleans()))
    check(lambda L, x: L.flatten(x), [array], layouts, seed=seed)


@SETTINGS
@given(shape=SHAPES, seed=SEEDS, layout=LAYOUTS)
def test_contiguous_copies_only_when_needed(shape, seed, layout):
    check(lambda L, x: x.contiguous(), [values(shape, seed)], [layout], seed=seed)
    check(lambda L, x: x.contiguous().view(-1), [values(shape, seed)], [layout], seed=seed)


# ----------------------------------------------------------------------------------------------
# transpose, t, T, mT, permute
# ----------------------------------------------------------------------------------------------
@SETTINGS
@given(shape=SHAPES, seed=SEEDS, data=st.data())
def test_transposes_match_torch(shape, seed, data):
    ndim = max(len(shape), 1)
    dim0, dim1 = (data.draw(st.integers(-ndim, ndim - 1)) for _ in range(2))
    layouts = draw_layouts(data, 1)
    reverse = data.draw(st.booleans())
    array = values(shape, seed)
    check(lambda L, x: x.transpose(dim0, dim1), [array], layouts, seed=seed, reverse=reverse)
    check(lambda L, x: L.swapdims(x, dim0, dim1), [array], layouts, seed=seed)
    check(lambda L, x: L.swapaxes(x, dim0, dim1), [array], layouts, seed=seed)
    check(lambda L, x: x.t(), [array], layouts, seed=seed, reverse=reverse)
    check(lambda L, x: x.T, [array], layouts, seed=seed, reverse=reverse)
    check(lambda L, x: x.mT, [array], layouts, seed=seed, reverse=reverse)


@SETTINGS
@given(shape=SHAPES, seed=SEEDS, data=st.data())
def test_permute_matches_torch(shape, seed, data):
    dims = data.draw(st.permutations(range(len(shape))))
    dims = [d - len(shape) if data.draw(st.booleans()) else d for d in dims]
    layouts = draw_layouts(data, 1)
    array = values(shape, seed)
    check(lambda L, x: x.permute(*dims), [array], layouts, seed=seed,
          reverse=data.draw(st.booleans()))
    check(lambda L, x: L.permute(x, dims), [array], layouts, seed=seed)


# ----------------------------------------------------------------------------------------------
# squeeze, unsqueeze, expand_as, broadcast_to
# ----------------------------------------------------------------------------------------------
@SETTINGS
@given(shape=hnp.array_shapes(min_dims=0, max_dims=4, min_side=0, max_side=2), seed=SEEDS,
       data=st.data())
def test_squeeze_and_unsqueeze_match_torch(shape, seed, data):
    ndim = max(len(shape), 1)
    layouts = draw_layouts(data, 1)
    reverse = data.draw(st.booleans())
    array = values(shape, seed)
    dim = data.draw(st.integers(-ndim, ndim - 1))
    dims = tuple(data.draw(st.lists(st.integers(-ndim, ndim - 1), max_size=3)))
    check(lambda L, x: x.squeeze(), [array], layouts, seed=seed, reverse=reverse)
    check(lambda L, x: x.squeeze(dim), [array], layouts, seed=seed, reverse=reverse)
    check(lambda L, x: L.squeeze(x, dims), [array], layouts, seed=seed, reverse=reverse)
    new = data.draw(st.integers(-len(shape) - 1, len(shape)))
    check(lambda L, x: x.unsqueeze(new), [array], layouts, seed=seed, reverse=reverse)


@st.composite
def broadcast_targets(draw, shape):
    lead = tuple(draw(st.lists(st.integers(0, 3), max_size=2)))
    return lead + tuple(draw(st.integers(0, 3)) if s == 1 else s for s in shape)


@SETTINGS
@given(shape=hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=3), seed=SEEDS,
       data=st.data())
def test_expand_as_and_broadcast_to_match_torch(shape, seed, data):
    target = data.draw(broadcast_targets(shape))
    layouts = draw_layouts(data, 1)
    array = values(shape, seed)
    reverse = data.draw(st.booleans())
    other = values(target, seed + 1)
    check(lambda L, x: x.expand_as(L.from_numpy(other.copy())), [array], layouts, seed=seed,
          reverse=reverse)
    check(lambda L, x: L.broadcast_to(x, target), [array], layouts, seed=seed)
    check(lambda L, x: x.broadcast_to(target), [array], layouts, seed=seed, reverse=reverse)


# ----------------------------------------------------------------------------------------------
# cat, stack
# ----------------------------------------------------------------------------------------------
DTYPES = st.sampled_from([np.float64, np.float64, np.float32, np.int32, np.int64, np.bool_])


@SETTINGS
@given(shape=hnp.array_shapes(min_dims=1, max_dims=3, min_side=0, max_side=3), seed=SEEDS,
       data=st.data())
@example(shape=(2, 3), seed=0, data=None)
def test_cat_matches_torch_with_promotion(shape, seed, data):
    if data is None:  # pinned: float32 and int32 promote to float32; a legacy empty 1-D input
        dim, arrays = 1, [values((2, 3), 0, np.float32), values((2, 1), 1, np.int32),
                          values((0,), 2)]
        name, layouts = "cat", ["contiguous"] * 3
    else:
        dim = data.draw(st.integers(-len(shape), len(shape) - 1))
        arrays = []
        for i in range(data.draw(st.integers(1, 3))):
            piece = list(shape)
            piece[dim] = data.draw(st.integers(0, 3))
            arrays.append(values(tuple(piece), seed + i, data.draw(DTYPES)))
        if data.draw(st.booleans()):  # torch skips 1-D empty tensors, whatever their dtype
            arrays.insert(data.draw(st.integers(0, len(arrays))), values((0,), seed))
        name = data.draw(st.sampled_from(["cat", "concat", "concatenate"]))
        layouts = draw_layouts(data, len(arrays))
    check(lambda L, *xs: getattr(L, name)(xs, dim), arrays, layouts, seed=seed)
    check(lambda L, *xs: L.cat(list(xs), dim=dim), arrays, layouts, seed=seed, reverse=True)


@SETTINGS
@given(shape=hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=3), seed=SEEDS,
       data=st.data())
def test_stack_matches_torch_with_promotion(shape, seed, data):
    dim = data.draw(st.integers(-len(shape) - 1, len(shape)))
    arrays = [values(shape, seed + i, data.draw(DTYPES)) for i in range(data.draw(
        st.integers(1, 3)))]
    layouts = draw_layouts(data, len(arrays))
    check(lambda L, *xs: L.stack(xs, dim), arrays, layouts, seed=seed,
          reverse=data.draw(st.booleans()))


# ----------------------------------------------------------------------------------------------
# split, chunk, unbind: several outputs, some of which may receive no gradient
# ----------------------------------------------------------------------------------------------
@SETTINGS
@given(shape=hnp.array_shapes(min_dims=1, max_dims=3, min_side=0, max_side=5), seed=SEEDS,
       data=st.data())
def test_split_chunk_unbind_match_torch(shape, seed, data):
    dim = data.draw(st.integers(-len(shape), len(shape) - 1))
    size = shape[dim]
    layouts = draw_layouts(data, 1)
    used = data.draw(st.lists(st.booleans(), min_size=1, max_size=4))
    reverse = data.draw(st.booleans())
    array = values(shape, seed)
    split_size = data.draw(st.integers(0 if size == 0 else 1, 6))
    sections, left = [], size
    while left or data.draw(st.booleans()):
        sections.append(data.draw(st.integers(0, left)))
        left -= sections[-1]
    chunks = data.draw(st.integers(1, 6))
    kwargs = {"seed": seed, "used": used, "reverse": reverse}
    check(lambda L, x: x.split(split_size, dim), [array], layouts, **kwargs)
    check(lambda L, x: L.split(x, sections or [0], dim), [array], layouts, **kwargs)
    check(lambda L, x: x.split_with_sizes(sections or [0], dim), [array], layouts, **kwargs)
    check(lambda L, x: x.chunk(chunks, dim), [array], layouts, **kwargs)
    check(lambda L, x: L.chunk(x, chunks, dim=dim), [array], layouts, **kwargs)
    check(lambda L, x: x.unbind(dim), [array], layouts, **kwargs)


def test_unused_outputs_get_zero_gradient():
    grads = {}
    for L in (hg, torch):
        x = L.tensor(np.arange(12.0).reshape(3, 4), requires_grad=True)
        first, _, last = x.unbind(0)
        second_half = x.split(2, dim=1)[1]
        (first * 2 + last).sum().backward()
        second_half.sum().backward()
        grads[L] = x.grad.numpy()
    np.testing.assert_array_equal(grads[hg], grads[torch])


# ----------------------------------------------------------------------------------------------
# select, narrow, indexing
# ----------------------------------------------------------------------------------------------
@SETTINGS
@given(shape=hnp.array_shapes(min_dims=1, max_dims=3, min_side=0, max_side=4), seed=SEEDS,
       data=st.data())
def test_select_and_narrow_match_torch(shape, seed, data):
    dim = data.draw(st.integers(-len(shape), len(shape) - 1))
    size = shape[dim]
    index = data.draw(st.integers(-size - 1, size))
    start = data.draw(st.integers(-size - 1, size + 1))
    length = data.draw(st.integers(-1, size + 1))
    layouts = draw_layouts(data, 1)
    reverse = data.draw(st.booleans())
    array = values(shape, seed)
    check(lambda L, x: x.select(dim, index), [array], layouts, seed=seed, reverse=reverse)
    check(lambda L, x: L.narrow(x, dim, start, length), [array], layouts, seed=seed,
          reverse=reverse)


@st.composite
def basic_indices(draw, shape):
    """An index of integers (sometimes out of range), slices, None and at most one `...`."""
    ndim = len(shape)
    named = draw(st.integers(0, ndim))
    split = draw(st.one_of(st.none(), st.integers(0, named)))
    dims = list(range(named)) if split is None else \
        list(range(split)) + list(range(ndim - named + split, ndim))
    items = []
    for d in dims:
        size = shape[d]
        bound = st.one_of(st.none(), st.integers(-size - 2, size + 2))
        items.append(draw(st.one_of(
            st.integers(-size - 1, size),
            st.builds(slice, bound, bound, st.sampled_from([None, 1, 2, 3])))))
    if split is not None:
        items.insert(split, Ellipsis)
    for _ in range(draw(st.integers(0, 2))):
        items.insert(draw(st.integers(0, len(items))), None)
    if len(items) == 1 and draw(st.booleans()):
        return items[0]
    return tuple(items)


def chain(tensor):
    """grad_fn names from the output back along first inputs (the chain indexing builds)."""
    names = []
    fn = tensor.grad_fn
    while fn is not None and "AccumulateGrad" not in fn.name():
        names.append(fn.name())
        fn = fn.next_functions[0][0] if fn.next_functions else None
    return names


@SETTINGS
@given(shape=SHAPES, seed=SEEDS, data=st.data())
@example(shape=(3, 4), seed=0, data=None)
def test_basic_indexing_matches_torch(shape, seed, data):
    if data is None:  # pinned: an integer, a stepped slice, None and an ellipsis together
        index, layout, reverse = (-1, Ellipsis, slice(None, None, 2), None), "contiguous", True
    else:
        index = data.draw(basic_indices(shape))
        layout, reverse = data.draw(LAYOUTS), data.draw(st.booleans())
    array = values(shape, seed)
    check(lambda L, x: x[index], [array], [layout], seed=seed, reverse=reverse)
    results = []
    for L in (hg, torch):
        x = L.tensor(array, requires_grad=True)
        try:
            results.append(chain(x[index]))
        except IndexError:
            results.append("IndexError")
    assert results[0] == results[1]


@pytest.mark.parametrize("index", [
    0, -1, 5, -5, (0, 3), (None, 5), (0, ..., 9), slice(None), slice(1, None),
    (0, 0, 0), (None, 0, 0, 0), slice(None, None, -1), (0, slice(None, None, 0)), 1.5,
    (0, 1.5), (), (Ellipsis,), (slice(None), slice(None)), (None,), "np.int64(1)",
    "torch_index(1)", "torch_index(9)", "torch_float_index(1.0)", (slice(1, 2), None, -2)])
def test_indexing_errors_and_edge_cases_match_torch(index):
    outcome = {}
    for L in (hg, torch):
        x = L.tensor(values((3, 4), 0), requires_grad=True)
        key = eval(index, {"np": np, "torch_index": L.tensor, "torch_float_index": L.tensor}) \
            if isinstance(index, str) else index
        outcome[L] = index_outcome(x, key)
    assert_same_index_outcome(outcome[hg], outcome[torch])


def index_outcome(x, key):
    try:
        return x[key], None
    except (IndexError, ValueError, TypeError) as error:
        return None, error


def assert_same_index_outcome(ours, theirs):
    if theirs[1] is not None:
        assert ours[1] is not None, f"torch raised {theirs[1]!r}, HyperGrad did not"
        assert_same_error(ours[1], theirs[1])
    else:
        assert ours[1] is None, ours[1]
        assert_same_tensor(ours[0], theirs[0])
        assert chain(ours[0]) == chain(theirs[0])


@pytest.mark.parametrize("index", [0, (None, ...), slice(None), ..., (0,), (None, None),
                                   (..., None), "torch_index(0)"])
def test_indexing_a_0_dim_tensor_matches_torch(index):
    outcome = {}
    for L in (hg, torch):
        x = L.tensor(2.5, dtype=L.float64, requires_grad=True)
        key = eval(index, {"torch_index": L.tensor}) if isinstance(index, str) else index
        outcome[L] = index_outcome(x, key)
    assert_same_index_outcome(outcome[hg], outcome[torch])


class AsTensor:
    """An index array to pass as a tensor of the library under test."""

    def __init__(self, array):
        self.array = array

    def __repr__(self):
        return f"AsTensor({self.array.tolist()!r})"


def in_library(L, index):
    if isinstance(index, tuple):
        return tuple(in_library(L, item) for item in index)
    return L.from_numpy(index.array.copy()) if isinstance(index, AsTensor) else index


@st.composite
def advanced_indices(draw, shape):
    """Basic items mixed with integer lists (with repeats), index arrays that broadcast,
    bool masks, index tensors and True/False."""
    ndim = len(shape)
    length = draw(st.integers(0, 3))
    items, d = [], 0
    while d < ndim and draw(st.booleans()):
        size = shape[d]
        kind = draw(st.sampled_from(["int", "slice", "list", "column", "mask", "tensor"]))
        if kind == "int" and size:
            items.append(draw(st.integers(-size, size - 1)))
        elif kind in ("list", "column", "tensor") and size:
            values = draw(st.lists(st.integers(-size, size - 1), min_size=length,
                                   max_size=length))
            array = np.array(values, dtype=np.int64)
            items.append(values if kind == "list" else
                         AsTensor(array) if kind == "tensor" else array.reshape(-1, 1))
        elif kind == "mask":
            width = draw(st.integers(1, min(2, ndim - d)))
            mask = draw(hnp.arrays(np.bool_, shape[d:d + width]))
            # an empty numpy mask is read by torch as an empty *integer* index: keep it a tensor
            items.append(AsTensor(mask) if mask.size == 0 or draw(st.booleans()) else mask)
            d += width - 1
        else:
            items.append(slice(draw(st.sampled_from([None, 0, 1])), None,
                               draw(st.sampled_from([None, 2]))))
        d += 1
    for _ in range(draw(st.integers(0, 1))):
        items.insert(draw(st.integers(0, len(items))), draw(st.sampled_from([None, True, False,
                                                                              Ellipsis])))
    return tuple(items)


@SETTINGS
@given(shape=hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=4), seed=SEEDS,
       data=st.data())
@example(shape=(3, 4), seed=0, data=None)
def test_advanced_indexing_matches_torch(shape, seed, data):
    if data is None:  # pinned: repeated indices accumulate their gradients
        index, layout, reverse = ([2, 0, 2, 2], slice(1, None)), "contiguous", True
    else:
        index = data.draw(advanced_indices(shape))
        layout, reverse = data.draw(LAYOUTS), data.draw(st.booleans())
    array = values(shape, seed)
    check(lambda L, x: x[in_library(L, index)], [array], [layout], seed=seed, reverse=reverse)
    outcome = {}
    for L in (hg, torch):
        outcome[L] = index_outcome(L.tensor(array, requires_grad=True), in_library(L, index))
    assert_same_index_outcome(outcome[hg], outcome[torch])


@pytest.mark.parametrize("index", [
    "[[0, 5]]", "(slice(None), [0, 9])", "(slice(1, None), [0], [7])", "[L.tensor([1.0])]",
    "L.tensor([1, -9])", "(L.tensor([0, 1]), L.tensor([0, 1, 2]))", "L.tensor([True, False])",
    "(slice(None), L.ones(4, 6, dtype=L.bool))", "(L.ones(3, 4, dtype=L.bool), [0, 1])",
    "[[0, 1], [1, 2]]", "[0, [1]]", "[[0, 1]]", "[1.5]", "np.array([0, 2])", "[]",
    "(0, slice(None), [0, 1])", "([0, 1], None, [0, 1])", "(None, True)", "False",
    "L.tensor(True)", "L.tensor(1)", "(L.tensor(1), [0])", "[True, False, True]",
    "(slice(None), slice(0, 0), [0])", "([5], slice(0, 0), [0])", "([5], slice(0, 0))",
    "([5], slice(None), [9])"])
def test_advanced_indexing_cases_match_torch(index):
    outcome = {}
    for L in (hg, torch):
        x = L.tensor(np.arange(60.0).reshape(3, 4, 5), requires_grad=True)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            outcome[L] = index_outcome(x, eval(index, {"L": L, "np": np}))
    assert_same_index_outcome(outcome[hg], outcome[torch])


def test_a_list_holding_sequences_is_read_as_a_tuple_with_torchs_warning():
    x = hg.tensor(np.arange(12.0).reshape(3, 4))
    with pytest.warns(UserWarning, match="Using a non-tuple sequence for multidimensional "
                                         "indexing is deprecated"):
        y = x[[[0, 1], [1, 2]]]
    np.testing.assert_array_equal(y.numpy(), [1.0, 6.0])


def test_repeated_indices_accumulate_and_differentiate_twice():
    grads = {}
    for L in (hg, torch):
        x = L.tensor([1.0, 2.0, 3.0], dtype=L.float64, requires_grad=True)
        y = x[[0, 0, 2, 0]] ** 2
        (g,) = L.autograd.grad(y.sum(), x, create_graph=True)
        (gg,) = L.autograd.grad((g * g).sum(), x)
        grads[L] = (g.detach().numpy().tolist(), gg.numpy().tolist(), node_name(g))
    assert grads[hg] == grads[torch]
    assert grads[hg][0] == [6.0, 0.0, 6.0]


def test_multiple_ellipses_are_refused():
    # torch accepts several `...` with results that depend on its internals (see report);
    # HyperGrad follows numpy and refuses them.
    with pytest.raises(IndexError, match="single ellipsis"):
        hg.zeros(2, 3)[..., 0, ...]


# ----------------------------------------------------------------------------------------------
# Errors a user can cause: torch's exception type and message
# ----------------------------------------------------------------------------------------------
ERRORS = [
    "x.t().view(12)", "x.view(5)", "x.view(-1, -1)", "x.view(-1, 5)", "x.view(2, -2)",
    "L.zeros(0, 3).view(0, -1)", "x.reshape(5)", "x.flatten(1, 0)", "x.flatten(2)",
    "s.flatten(1)", "x.transpose(0, 2)", "L.zeros(2, 3, 4).t()", "x.mT.view(12)",
    "L.zeros(3).mT", "x.permute(0)", "x.permute(0, 0)", "x.permute(0, 2)", "s.permute(0)",
    "o.squeeze(3)", "o.squeeze((0, 0))", "o.squeeze((0, -3))", "s.squeeze(1)",
    "x.unsqueeze(3)", "x.unsqueeze(-4)", "x.expand_as(L.zeros(3, 5))",
    "x.broadcast_to((3, 5))", "x.broadcast_to((4,))", "x.expand(-1, 3, 4)", "x.expand(3, -2)",
    "L.cat([x, L.tensor(2.5)])", "L.cat([s, s])", "L.cat([x, x], 2)",
    "L.cat([x, L.zeros(2, 5)])", "L.cat([x, L.zeros(3)])", "L.cat([e, x, L.zeros(2, 5)])",
    "L.cat([e, L.zeros(2, 5, 1), x])", "L.cat([x, 1])", "L.stack([x, L.zeros(3, 5)])",
    "L.stack([x, x], 3)", "L.stack([x, x], -4)", "L.stack([x, 1])", "x.split(0)",
    "x.split(-1)", "x.split([1, 1])", "x.split([-1, 4])", "x.split(2, 2)", "s.split(1)",
    "s.split([1])", "x.chunk(0)", "x.chunk(-1)", "s.chunk(0)", "x.unbind(2)", "s.unbind()",
    "s.unbind(-1)", "s.unbind(1)", "x.select(0, 5)", "x.select(-1, 9)", "x.select(1, -5)",
    "s.select(0, 0)", "x.narrow(0, 5, 1)", "x.narrow(0, 1, 5)", "x.narrow(0, -4, 1)",
    "x.narrow(0, 0, -1)", "x.narrow(2, 0, 1)", "s.narrow(0, 0, 1)",
]


@pytest.mark.parametrize("expression", ERRORS)
def test_errors_match_torch(expression):
    errors = []
    for L in (hg, torch):
        names = {"L": L, "x": L.zeros(3, 4), "s": L.tensor(1.0), "o": L.zeros(1, 3, 1),
                 "e": L.zeros(0)}
        with pytest.raises((RuntimeError, IndexError, TypeError, ValueError)) as info:
            eval(expression, names)
        errors.append(info.value)
    assert_same_error(*errors)


def test_view_error_is_torchs():
    with pytest.raises(RuntimeError, match=r"view size is not compatible with input tensor's "
                       r"size and stride \(at least one dimension spans across two contiguous "
                       r"subspaces\)\. Use \.reshape\(\.\.\.\) instead\."):
        hg.zeros(3, 4).t().view(12)


def test_view_as_dtype_is_refused_clearly():
    with pytest.raises(NotImplementedError, match="view\\(dtype\\)"):
        hg.zeros(2, 2).view(hg.float32)


# ----------------------------------------------------------------------------------------------
# T and mT: properties, with torch's warnings
# ----------------------------------------------------------------------------------------------
T_DEPRECATED = (
    "The use of `x.T` on tensors of dimension other than 2 to reverse their shape is deprecated "
    "and it will throw an error in a future release. Consider `x.mT` to transpose batches of "
    "matrices or `x.permute(*torch.arange(x.ndim - 1, -1, -1))` to reverse the dimensions of a "
    "tensor.")


@pytest.mark.parametrize("shape, warned", [
    ((), ["Tensor.T is deprecated on 0-D tensors. This function is the identity in these cases.",
          ("Tensor.mT is deprecated on 0-D tensors. This function is the identity in these "
           "cases.")]),
    ((3,), [T_DEPRECATED]), ((2, 3), []), ((2, 3, 4), [T_DEPRECATED])])
def test_T_and_mT_match_torch(shape, warned):
    """Same results and errors as torch; the warnings are torch's texts (torch itself warns
    only once per process, so its own warnings cannot be compared here)."""
    outcome = {}
    for L in (hg, torch):
        x = L.zeros(shape, requires_grad=True)
        record = []
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            for attribute in ("T", "mT"):
                try:
                    result = getattr(x, attribute)
                    record.append((attribute, tuple(result.shape), node_name(result),
                                   result is x, result._base is x))
                except RuntimeError as error:
                    record.append((attribute, str(error)))
        outcome[L] = record
        if L is hg:
            assert [str(w.message) for w in caught] == warned
            assert all(w.category is UserWarning for w in caught)
    assert outcome[hg] == outcome[torch]


# ----------------------------------------------------------------------------------------------
# Views: shared memory and shared version counters
# ----------------------------------------------------------------------------------------------
VIEW_PROGRAMS = [
    "x.view(6)", "x.reshape(3, 2)", "x.t()", "x.T", "x.mT", "x.transpose(0, 1)",
    "x.permute(1, 0)", "x[0]", "x[:, 1:]", "x[None]", "x[...]", "x.unsqueeze(0)",
    "x[None].squeeze(0)", "x.flatten()", "x.select(1, 2)", "x.narrow(1, 0, 2)",
    "x.split(1)[1]", "x.chunk(2, 1)[0]", "x.unbind(1)[2]", "x[1][1:]", "x.t()[0]",
]


@pytest.mark.parametrize("program", VIEW_PROGRAMS)
def test_inplace_on_a_view_writes_through_and_bumps_the_shared_version(program):
    versions = {}
    for L in (hg, torch):
        array = np.arange(6.0).reshape(2, 3)
        x = L.from_numpy(array)
        view = eval(program, {"x": x})
        view.mul_(10)
        view.add_(1)
        assert view._version == x._version == 2
        versions[L] = (array.tolist(), x._base is None, view._base is x)
    assert versions[hg] == versions[torch]


def test_views_of_from_numpy_see_changes_to_the_array():
    array = np.zeros((2, 3))
    x = hg.from_numpy(array)
    views = [x.view(6), x.t(), x[1], x.split(1)[1], x.unbind(0)[1], x[None, 1:]]
    array[1, 2] = 7.0
    assert [v.detach().numpy().max() for v in views] == [7.0] * len(views)
    assert all(v._version_counter is x._version_counter for v in views)


def test_copies_do_not_share_the_version_counter():
    for L in (hg, torch):
        x = L.zeros(3, 4)
        copies = [x.t().reshape(12), x.t().contiguous(), L.cat([x, x]), L.stack([x]),
                  x.t().flatten()]
        for copy in copies:
            copy.add_(1)
        assert x._version == 0
        assert x.sum().item() == 0


def test_inplace_change_through_a_view_is_caught_by_saved_tensor_checks():
    messages = []
    for L in (hg, torch):
        w = L.ones(2, 3, dtype=L.float64, requires_grad=True)
        b = L.ones(2, 3, dtype=L.float64)
        product = w * b          # saves b
        b.t()[0].mul_(2)         # an in-place change through a view of b
        with pytest.raises(RuntimeError) as info:
            product.sum().backward()
        messages.append(str(info.value).split(" Hint:")[0].replace("hypergrad.", "torch."))
    assert messages[0].startswith("one of the variables needed for gradient computation has "
                                  "been modified by an inplace operation")
    assert messages[0] == messages[1]


# ----------------------------------------------------------------------------------------------
# The graph: second-order node names, non-contiguous gradients, double backward
# ----------------------------------------------------------------------------------------------
GRAPH_CASES = [
    "x[1]", "x[0:2]", "x[::2, 1:]", "x.split(2)[0]", "x.unbind()[1]", "L.cat([x, x])",
    "L.stack([x, x])", "x.view(12)", "x.t()", "x.permute(1, 0)", "x[None]",
    "x[None].squeeze(0)", "x.narrow(1, 1, 2)", "x.transpose(0, 1)", "x.t().reshape(12)",
    "x.unsqueeze(2).expand(3, 4, 2)", "x.chunk(3, 1)[1]", "x.t().reshape(2, 6)",
    "x.t().flatten()", "x[:, 1:].reshape(9)", "x[:, 1:].reshape(3, 1, 3)", "x[1:, None, ..., ::2]",
]


@pytest.mark.parametrize("expression", GRAPH_CASES)
def test_double_backward_matches_torch(expression):
    """y = f(x); loss = sum(y * y * c): the first gradient depends on x, so the second runs
    every backward formula of f again (and their own backward)."""
    rng = np.random.default_rng(0)
    array = rng.standard_normal((3, 4))
    results = {}
    for L in (hg, torch):
        x = L.tensor(array, requires_grad=True)
        y = eval(expression, {"L": L, "x": x})
        c = L.tensor(np.random.default_rng(1).standard_normal(tuple(y.shape)))
        (g,) = L.autograd.grad((y * y * c).sum(), x, create_graph=True)
        (gg,) = L.autograd.grad((g * g).sum(), x)
        results[L] = (g.detach().numpy(), gg.numpy(), node_name(y))
    for ours, theirs in zip(results[hg], results[torch]):
        if isinstance(theirs, str):
            assert ours == theirs
        else:
            np.testing.assert_allclose(ours, theirs, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("expression, second", [
    ("x[1]", "SelectBackwardBackward0"), ("x[0:2]", "SliceBackwardBackward0"),
    ("x.narrow(1, 1, 2)", "SliceBackwardBackward0"), ("x.split(2)[0]", "CatBackward0"),
    ("x.unbind()[1]", "UnbindBackward0"), ("x.t()", "TBackward0"),
    ("x.permute(1, 0)", "PermuteBackward0"), ("x[None]", "SqueezeBackward1"),
    ("x.transpose(0, 1)", "TransposeBackward0"), ("x.view(12)", "ViewBackward0"),
])
def test_backward_formulas_build_torchs_nodes(expression, second):
    """With create_graph=True the gradient is computed by ops, whose nodes are torch's."""
    x = hg.tensor(np.ones((3, 4)), requires_grad=True)
    y = eval(expression, {"x": x})
    g = hg.ones(tuple(y.shape), dtype=hg.float64, requires_grad=True)
    (gx,) = hg.autograd.grad(y, x, g, create_graph=True)
    if expression == "x.unbind()[1]":  # torch: StackBackward0 of the three materialized grads
        assert gx.grad_fn.name() == "StackBackward0"
    else:
        assert gx.grad_fn.name() == second
    x_t = torch.ones(3, 4, dtype=torch.float64, requires_grad=True)
    y_t = eval(expression, {"x": x_t})
    g_t = torch.ones(tuple(y_t.shape), dtype=torch.float64, requires_grad=True)
    (gx_t,) = torch.autograd.grad(y_t, x_t, g_t, create_graph=True)
    assert gx.grad_fn.name() == gx_t.grad_fn.name()


def test_gradient_arriving_non_contiguous_through_a_view():
    results = []
    for L in (hg, torch):
        x = L.tensor(np.arange(24.0).reshape(2, 3, 4), requires_grad=True)
        y = x.view(6, 4)[1:].t().reshape(4, 5, 1).squeeze(-1)[::2]
        weights = L.tensor(np.arange(10.0).reshape(2, 5))
        (y * weights).sum().backward()
        results.append(x.grad.numpy())
    np.testing.assert_array_equal(*results)


@pytest.mark.parametrize("expression", [
    "x.reshape(12)", "x.t().reshape(12)", "x.t().reshape(4, 3)", "x[:, :2].reshape(3, 2, 1)",
    "x.expand(2, 3, 4).reshape(2, 12)", "x.expand(2, 3, 4).reshape(6, 4)",
    "x[:, ::2].reshape(6)", "x[:, ::2].reshape(3, 1, 2)", "x.unsqueeze(1).reshape(3, 4)"])
def test_reshape_views_when_possible_and_copies_otherwise(expression):
    ours = eval(expression, {"x": hg.zeros(3, 4, requires_grad=True)})
    theirs = eval(expression, {"x": torch.zeros(3, 4, requires_grad=True)})
    assert ours.is_view() == theirs._is_view()
    assert chain(ours) == chain(theirs)
    assert long_strides(ours) == long_strides(theirs)
