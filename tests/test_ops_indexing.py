"""The indexing op plugin (ops/indexing.py) against real torch.

The conformance suite (tests/test_conformance.py) checks each op on drawn samples; this file
checks what it cannot reach:

- item assignment `x[idx] = v` on a tensor *with* history (x = w * w, w a leaf), so the
  gradient of x's old contents, of v, and the second-order gradients of both are compared,
  with the grad_fn chain (CopySlices, IndexPutBackward0, FillBackward3, CopyBackwards, the
  ViewBackward0 / ExpandBackward0 torch puts on v) and the version counter, on contiguous,
  transposed and strided x;
- the refusals: a leaf that requires grad, a view of one, and torch's messages for bad values
  and indices;
- repeated indices accumulating in backward, each scatter_reduce reduction at zeros and ties,
  the edges in `next_functions` (index tensors and masks get none), the in-place spellings
  (version, leaf check, grad_fn), nonzero / argwhere and take_along_dim with argsort.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import assume, example, given, settings
from hypothesis import strategies as st

import hypergrad as hg

SETTINGS = settings(max_examples=60, deadline=None)


def as_numpy(value):
    if value is None:
        return None
    if isinstance(value, torch.Tensor):
        return value.detach().numpy()
    return value.detach().numpy()


def assert_same(hg_value, torch_value, what=""):
    if torch_value is None or hg_value is None:
        if torch_value is None and hg_value is None:
            return
        other = torch_value if hg_value is None else hg_value
        assert not np.any(as_numpy(other)), f"{what}: one library gives None, the other " \
                                            f"{as_numpy(other)}"
        return
    assert tuple(hg_value.shape) == tuple(torch_value.shape), what
    np.testing.assert_allclose(as_numpy(hg_value), as_numpy(torch_value), rtol=1e-10,
                               atol=1e-12, err_msg=what)


def chain_names(tensor):
    """grad_fn names from `tensor` down its last edge (leaves and clones dropped)."""
    names = []
    node = tensor.grad_fn
    while node is not None:
        names.append(node.name().rpartition("::")[2])
        following = [fn for fn, _ in node.next_functions
                     if fn is not None and "AccumulateGrad" not in fn.name()]
        node = following[-1] if following else None
    return names


def edge_names(tensor):
    return [None if fn is None else fn.name().rpartition("::")[2]
            for fn, _ in tensor.grad_fn.next_functions]


# ----------------------------------------------------------------------------------------------
# Item assignment on a tensor with history, against torch (values, grads, second order)
# ----------------------------------------------------------------------------------------------
def _to_lib(L, item):
    if isinstance(item, np.ndarray):
        return L.from_numpy(item.copy())
    if isinstance(item, tuple):
        return tuple(_to_lib(L, i) for i in item)
    return item


def _layout(L, w, layout):
    """x = w * w, laid out as asked: a (possibly non-contiguous) tensor with a history."""
    if layout == "transposed":
        return (w * w).transpose(0, -1).contiguous().transpose(0, -1)
    if layout == "strided":
        wide = L.cat([w * w, w * 0], dim=-1)
        return wide[..., :w.shape[-1]]
    return w * w


def setitem_case(L, base, index, value, value_kind, layout):
    w = L.from_numpy(base.copy()).requires_grad_()
    x = _layout(L, w, layout)
    v = None
    if value_kind == "number":
        assigned = float(value)
    else:
        v = L.from_numpy(value.copy()).requires_grad_()
        assigned = v * v
    x[_to_lib(L, index)] = assigned
    out = (x * x).sum()
    inputs = [w] + ([v] if v is not None else [])
    grads = L.autograd.grad(out, inputs, create_graph=True)
    total = sum((g * g).sum() for g in grads)
    second = L.autograd.grad(total, inputs, allow_unused=True)
    return x, grads, second


def _index_strategy(shape):
    """An index for `shape` mixing ints, slices, None, `...`, an int tensor, a bool mask."""
    def item(size):
        return st.one_of(
            st.integers(-size, size - 1),
            st.builds(slice, st.sampled_from([None, 0, 1, -1]), st.sampled_from([None, 2, -1]),
                      st.sampled_from([None, 1, 2])),
            st.lists(st.integers(0, size - 1), min_size=1, max_size=3, unique=True)
            .map(lambda v: np.array(v, np.int64)))

    first = shape[0]
    return st.one_of(
        st.tuples(*[item(s) for s in shape[:2]]),
        item(first),
        st.just(Ellipsis),
        st.just(None),
        st.just((Ellipsis, 0)) if len(shape) > 1 else st.just((0,)),
        st.just((None, slice(1, None))),
        st.lists(st.booleans(), min_size=first, max_size=first).map(
            lambda m: np.array(m, bool)))


@st.composite
def setitem_cases(draw):
    shape = draw(st.sampled_from([(3,), (3, 4), (2, 3, 2)]))
    index = draw(_index_strategy(shape))
    try:
        selected = tuple(torch.zeros(shape)[_to_lib(torch, index)].shape)
    except IndexError:   # two index arrays that do not broadcast
        assume(False)
    kind = draw(st.sampled_from(["number", "scalar", "same", "broadcast"]))
    if kind in ("scalar", "number"):
        value_shape = ()
    elif kind == "broadcast" and selected:
        value_shape = (1,) + selected[1:] if draw(st.booleans()) else selected[-1:]
    else:
        value_shape = selected
    rng = np.random.default_rng(draw(st.integers(0, 2 ** 16)))
    base = rng.standard_normal(shape)
    value = rng.standard_normal(value_shape)
    layout = draw(st.sampled_from(["contiguous", "transposed", "strided"]))
    return base, index, value, kind, layout


@SETTINGS
@given(setitem_cases())
@example((np.arange(12.0).reshape(3, 4), (slice(None), np.array([0, 2])),
          np.ones((3, 2)), "same", "transposed"))
@example((np.arange(3.0), np.array([True, False, True]), np.array(5.0), "scalar", "strided"))
@example((np.arange(12.0).reshape(3, 4), 1, np.ones(4), "broadcast", "contiguous"))
def test_setitem_matches_torch(case):
    base, index, value, kind, layout = case
    results = []
    for L in (hg, torch):
        results.append(setitem_case(L, base, index, value, kind, layout))
    (hx, hgrads, hsecond), (tx, tgrads, tsecond) = results
    assert_same(hx, tx, "x after assignment")
    assert hx._version == tx._version
    assert chain_names(hx) == chain_names(tx)
    for i, (h, t) in enumerate(zip(hgrads, tgrads)):
        assert_same(h, t, f"gradient {i}")
    for i, (h, t) in enumerate(zip(hsecond, tsecond)):
        assert_same(h, t, f"second-order gradient {i}")


@pytest.mark.parametrize("index, value, names", [
    (0, 2.0, ["CopySlices", "CloneBackward0"]),
    (slice(None), 2.0, ["FillBackward3", "CloneBackward0"]),
    (Ellipsis, "same", ["CopyBackwards", "CloneBackward0"]),
    ((0, 1), "scalar", ["CopySlices", "CloneBackward0"]),
    (slice(0, 2), "row", ["CopySlices", "CloneBackward0"]),
    ("ints", "rows", ["IndexPutBackward0", "CloneBackward0"]),
    ("mask", 1.0, ["IndexPutBackward0", "CloneBackward0"]),
    ((1, "ints"), "pair", ["CopySlices", "CloneBackward0"]),
])
def test_setitem_records_torchs_nodes(index, value, names):
    """The node the assignment leaves on x and its edges, spelled as in torch."""
    for L in (hg, torch):
        x = L.ones(3, 4, requires_grad=True).clone()
        values = {"same": L.ones(3, 4, requires_grad=True), "scalar": L.tensor(2.0,
                  requires_grad=True), "row": L.ones(4, requires_grad=True),
                  "rows": L.ones(2, 4, requires_grad=True), "pair": L.ones(2,
                  requires_grad=True)}
        indices = {"ints": L.tensor([0, 2]), "mask": L.tensor([True, False, True])}
        key = tuple(indices.get(i, i) if isinstance(i, str) else i for i in index) \
            if isinstance(index, tuple) else indices.get(index, index) if isinstance(
                index, str) else index
        x[key] = values.get(value, value) if isinstance(value, str) else value
        assert [x.grad_fn.name().rpartition("::")[2]] + [
            n for n in edge_names(x)[:1]] == names, L.__name__
        assert x._version == 1


def test_setitem_value_gets_view_and_expand_nodes_like_torch():
    for L in (hg, torch):
        x = L.zeros(3, 4)
        v = L.ones(1, 4, requires_grad=True)
        x[0:2] = v
        assert chain_names(x) == ["CopySlices", "ExpandBackward0", "ViewBackward0"]
        y = L.zeros(3, 4)
        y[L.tensor([0, 1])] = v
        assert chain_names(y) == ["IndexPutBackward0", "ViewBackward0"]


def test_setitem_refuses_a_leaf_that_requires_grad():
    for L in (hg, torch):
        x = L.ones(3, 4, requires_grad=True)
        with pytest.raises(RuntimeError, match="a view of a leaf Variable that requires grad"):
            x[0] = 1.0
        with pytest.raises(RuntimeError, match="^a leaf Variable that requires grad"):
            x[L.tensor([0])] = 1.0
        with pytest.raises(RuntimeError, match="^a leaf Variable that requires grad"):
            x[...] = 1.0
        with L.no_grad():
            x[0] = 5.0
            x[L.tensor([1])] = 6.0
        assert x._version == 2 and x.is_leaf and x.grad_fn is None
        assert x.detach().numpy()[:2, 0].tolist() == [5.0, 6.0]


@pytest.mark.parametrize("assign, refused", [
    (lambda L, x: x.__setitem__(slice(1, None), x[:-1]), True),
    (lambda L, x: x.__setitem__(L.tensor([0, 1, 2]), x), True),
    (lambda L, x: x.view(2, 2).__setitem__(L.tensor([0]), x.view(2, 2)[1]), True),
    (lambda L, x: x.__setitem__(slice(None), x), False),
    (lambda L, x: x.view(2, 2).__setitem__(0, x.view(2, 2)[1]), False),
])
def test_setitem_refuses_overlapping_memory_like_torch(assign, refused):
    for L in (hg, torch):
        x = L.arange(4.0)
        if refused:
            with pytest.raises(RuntimeError, match="refer to a single memory location"):
                assign(L, x)
        else:
            assign(L, x)


def test_setitem_false_writes_nothing():
    for L in (hg, torch):
        x = L.zeros(3)
        x[False] = 1.0
        assert x._version == 0 and x.tolist() == [0.0, 0.0, 0.0]


def test_setitem_on_an_integer_tensor_truncates_numbers_and_ignores_grad():
    for L in (hg, torch):
        x = L.zeros(3, dtype=L.int64)
        x[0] = 2.7
        x[L.tensor([1])] = -2.7
        x[2] = L.tensor(3.5, requires_grad=True)
        assert x.tolist() == [2, -2, 3] and not x.requires_grad


@pytest.mark.parametrize("index, value, error, match", [
    (0, [1.0, 2.0, 3.0, 4.0], TypeError, "can't assign a list to a torch.FloatTensor"),
    (0, None, TypeError, "can't assign a NoneType to a torch.FloatTensor"),
    (5, 1.0, IndexError, "index 5 is out of bounds for dimension 0 with size 3"),
    ("oob", 1.0, IndexError, "index 3 is out of bounds for dimension 0 with size 3"),
    (0, "five", RuntimeError, (r"The expanded size of the tensor \(4\) must match the "
                               r"existing size \(5\)")),
    ("ints", "five", RuntimeError, (r"shape mismatch: value tensor of shape \[5\] cannot be "
                                    r"broadcast to indexing result of shape \[1, 4\]")),
    ("ints", "double", RuntimeError, ("Index put requires the source and destination dtypes "
                                      "match, got Float for the destination and Double")),
    ("float", 1.0, IndexError, "tensors used as indices must be long, int, byte or bool"),
    (slice(None, None, -1), 1.0, ValueError, "step must be greater than zero"),
])
def test_setitem_errors_match_torch(index, value, error, match):
    for L in (hg, torch):
        x = L.zeros(3, 4)
        indices = {"oob": L.tensor([3]), "ints": L.tensor([0]), "float": L.tensor([0.0])}
        values = {"five": L.ones(5), "double": L.ones(4, dtype=L.float64)}
        with pytest.raises(error, match=match):
            x[indices.get(index, index) if isinstance(index, str) else index] = \
                values.get(value, value) if isinstance(value, str) else value


# ----------------------------------------------------------------------------------------------
# The other ops: what the drawn samples do not pin down
# ----------------------------------------------------------------------------------------------
def _both(fn, *arrays, grad=(0,)):
    """fn(L, *tensors) in both libraries; tensors at positions `grad` require grad. Returns
    (outputs, first gradients, second-order gradients) per library."""
    out = []
    for L in (hg, torch):
        tensors = [L.from_numpy(np.array(a)) for a in arrays]
        for i in grad:
            tensors[i].requires_grad_()
        result = fn(L, *tensors)
        leaves = [tensors[i] for i in grad]
        weights = L.from_numpy(np.linspace(-1.0, 2.0, result.numel()).reshape(result.shape))
        first = L.autograd.grad((result * result * weights).sum(), leaves, create_graph=True)
        second = L.autograd.grad(sum((g * g).sum() for g in first), leaves, allow_unused=True)
        out.append((result, first, second))
    return out


def _assert_both(pair):
    (hr, hf, hs), (tr, tf, ts) = pair
    assert_same(hr, tr, "output")
    assert hr.grad_fn.name() == tr.grad_fn.name()
    for h, t in zip(hf, tf):
        assert_same(h, t, "gradient")
    for h, t in zip(hs, ts):
        assert_same(h, t, "second-order gradient")


X = np.arange(1.0, 13.0).reshape(3, 4)
REPEATS = np.array([0, 2, 0, 0])


@pytest.mark.parametrize("name, fn, arrays, grad", [
    ("gather", lambda L, x: L.gather(x, 1, L.tensor([[0, 0], [3, 3], [1, 0]])), (X,), (0,)),
    ("index_select", lambda L, x: x.index_select(0, L.from_numpy(REPEATS)), (X,), (0,)),
    ("take", lambda L, x: L.take(x, L.tensor([[0, 0], [11, -1]])), (X,), (0,)),
    ("getitem", lambda L, x: x[L.from_numpy(REPEATS)], (X,), (0,)),
    ("index_add", lambda L, x, s: L.index_add(x, 0, L.from_numpy(REPEATS), s, alpha=-2),
     (X, np.ones((4, 4))), (0, 1)),
    ("scatter_add", lambda L, x, s: x.scatter_add(0, L.tensor([[0, 0, 1, 2]]), s),
     (X, np.full((1, 4), 3.0)), (0, 1)),
    ("index_put", lambda L, x, s: L.index_put(x, (L.tensor([0, 0, 1]),), s, accumulate=True),
     (X, np.ones(4)), (0, 1)),
    ("masked_select", lambda L, x: L.masked_select(x, L.tensor([True, False, True, True])),
     (X,), (0,)),
    ("masked_scatter", lambda L, x, s: x.masked_scatter(x > 6, s), (X, np.arange(13.0)),
     (0, 1)),
    ("index_fill", lambda L, x, v: x.index_fill(1, L.tensor([0, 3, 0]), v),
     (X, np.array(2.0)), (0, 1)),
    ("index_copy", lambda L, x, s: x.index_copy(1, L.tensor([3, 1]), s), (X, np.ones((3, 2))),
     (0, 1)),
    ("take_along_dim", lambda L, x: L.take_along_dim(x, x.argsort(1), 1), (X[::-1].copy(),),
     (0,)),
    ("take_along_dim broadcast", lambda L, x: L.take_along_dim(x, L.tensor([[2, 0]]), 1),
     (X,), (0,)),
])
def test_repeated_indices_and_second_order_match_torch(name, fn, arrays, grad):
    _assert_both(_both(fn, *arrays, grad=grad))


@pytest.mark.parametrize("reduce", ["sum", "prod", "mean", "amax", "amin"])
@pytest.mark.parametrize("include_self", [True, False])
def test_scatter_reduce_at_zeros_and_ties_matches_torch(reduce, include_self):
    x = np.array([[2.0, 0.0, 3.0], [1.0, 5.0, 5.0]])
    src = np.array([[2.0, 0.0, 4.0, 3.0], [5.0, 5.0, 1.0, 0.0]])
    index = np.array([[0, 1, 1, 2], [1, 2, 2, 0]])

    def fn(L, a, s):
        return L.scatter_reduce(a, 1, L.from_numpy(index), s, reduce, include_self=include_self)

    _assert_both(_both(fn, x, src, grad=(0, 1)))


def test_index_fill_with_a_negative_index_and_a_tensor_value_has_a_gradient():
    """A divergence: torch's backward index_selects the raw index and raises for -1; HyperGrad
    wraps it, giving what torch gives for the same index written as 3."""
    x = torch.from_numpy(X.copy()).requires_grad_()
    value = torch.tensor(2.0, dtype=torch.float64, requires_grad=True)
    with pytest.raises((RuntimeError, IndexError)):
        torch.autograd.grad(x.index_fill(1, torch.tensor([0, -1]), value).sum(), [x, value])
    _assert_both(_both(lambda L, a, v: a.index_fill(1, L.tensor([0, -1] if L is hg else [0, 3]),
                                                    v), X, np.array(2.0), grad=(0, 1)))


def test_scatter_reduce_prod_refuses_double_backward_with_two_zeros_like_torch():
    for L in (hg, torch):
        x = L.tensor([1.0, 2.0], requires_grad=True)
        src = L.tensor([0.0, 0.0, 3.0], requires_grad=True)
        out = L.scatter_reduce(x, 0, L.tensor([0, 0, 1]), src, "prod")
        grads = L.autograd.grad(out.sum(), [x, src], create_graph=True)
        assert grads[1].grad_fn.name().rpartition("::")[2] == "Error"
        with pytest.raises(RuntimeError, match="Double backward is unsupported for src"):
            L.autograd.grad(grads[1].sum(), [src])


def test_index_and_mask_inputs_get_no_edge():
    for L in (hg, torch):
        x = L.ones(3, 4, requires_grad=True)
        src = L.ones(3, 4, requires_grad=True)
        index = L.zeros(3, 4, dtype=L.int64)
        assert edge_names(L.gather(x, 1, index)) == ["AccumulateGrad"]
        assert edge_names(L.scatter(x, 1, index, src)) == ["AccumulateGrad", "AccumulateGrad"]
        assert edge_names(L.scatter(x, 1, index, 2.0)) == ["AccumulateGrad"]
        assert edge_names(L.masked_scatter(x, x > 0, src)) == ["AccumulateGrad"] * 2
        assert edge_names(L.index_fill(x, 0, L.tensor([1]), L.tensor(2.0))) == \
            ["AccumulateGrad", None]
        assert edge_names(L.index_put(x, (L.tensor([1]),), L.tensor(2.0))) == \
            ["AccumulateGrad", None]
        assert edge_names(L.take_along_dim(x, index)) == ["ViewBackward0"]


@pytest.mark.parametrize("method, args, name", [
    ("scatter_", lambda L: (0, L.tensor([[2, 1, 0, 0]]), L.ones(1, 4, requires_grad=True)),
     "ScatterBackward0"),
    ("scatter_", lambda L: (0, L.tensor([[2, 1, 0, 0]]), 7.0), "ScatterBackward1"),
    ("scatter_add_", lambda L: (1, L.tensor([[0], [0], [3]]), L.ones(3, 1)),
     "ScatterAddBackward0"),
    ("scatter_reduce_", lambda L: (1, L.tensor([[0], [0], [3]]), L.ones(3, 1), "amax"),
     "ScatterReduceBackward0"),
    ("index_add_", lambda L: (0, L.tensor([2, 2]), L.ones(2, 4)), "IndexAddBackward0"),
    ("index_copy_", lambda L: (0, L.tensor([2]), L.ones(1, 4)), "IndexCopyBackward0"),
    ("index_fill_", lambda L: (1, L.tensor([0, 3]), -1.0), "IndexFillBackward0"),
    ("index_put_", lambda L: ((L.tensor([0, 0]), L.tensor([1, 1])), L.tensor(3.0), True),
     "IndexPutBackward0"),
    ("masked_scatter_", lambda L: (L.tensor([True, False, False, True]), L.ones(6)),
     "MaskedScatterBackward0"),
])
def test_inplace_spellings_match_torch(method, args, name):
    results = []
    for L in (hg, torch):
        leaf = L.from_numpy(X.astype(np.float32)).requires_grad_()
        with pytest.raises(RuntimeError, match="a leaf Variable that requires grad"):
            getattr(leaf, method)(*args(L))
        x = leaf * 1
        returned = getattr(x, method)(*args(L))
        assert returned is x and x._version == 1
        assert x.grad_fn.name() == name and edge_names(x)[0] == "MulBackward0"
        (grad,) = L.autograd.grad((x * x).sum(), [leaf])
        results.append((x, grad))
    assert_same(results[0][0], results[1][0], "self after " + method)
    assert_same(results[0][1], results[1][1], "gradient after " + method)


def test_nonzero_and_argwhere_match_torch():
    data = np.array([[0.0, 1.5, 0.0], [-2.0, 0.0, 3.0]])
    for array in (data, np.array(0.0), np.array(4.0), data > 0):
        h, t = hg.from_numpy(array), torch.from_numpy(array)
        assert hg.nonzero(h).tolist() == torch.nonzero(t).tolist()
        assert tuple(hg.nonzero(h).shape) == tuple(torch.nonzero(t).shape)
        assert [i.tolist() for i in h.nonzero(as_tuple=True)] == \
            [i.tolist() for i in t.nonzero(as_tuple=True)]
        assert hg.argwhere(h).tolist() == torch.argwhere(t).tolist()
        assert hg.argwhere(h).dtype == hg.int64


@pytest.mark.parametrize("call, error, match", [
    (lambda L, x: L.gather(x, 1, L.tensor([[0.0]])), RuntimeError,
     "gather(): Expected dtype int32/int64 for index"),
    (lambda L, x: L.index_select(x, 0, L.tensor([3])), IndexError,
     "index out of range in self"),
    (lambda L, x: L.take(x, L.tensor([1], dtype=L.int32)), RuntimeError,
     "take(): Expected a long tensor for index, but got Int"),
    (lambda L, x: L.index_fill(x, 0, L.tensor([1], dtype=L.int32), 1.0), IndexError,
     "index_fill_(): Expected dtype int64 for index."),
    (lambda L, x: L.scatter_reduce(x, 0, L.tensor([[0]]), x, "foo"), RuntimeError,
     "reduce argument must be either sum, prod, mean, amax or amin, got foo"),
    (lambda L, x: L.masked_select(x, x), RuntimeError,
     "masked_select: expected BoolTensor for mask"),
    (lambda L, x: L.index_put(x, (L.tensor([0]),), 1.0), TypeError,
     "must be Tensor, not float"),
])
def test_errors_match_torch(call, error, match):
    for L in (hg, torch):
        with pytest.raises(error) as raised:
            call(L, L.zeros(3, 4))
        assert match in str(raised.value), L.__name__


def test_scatter_reduce_takes_max_and_min_forward_only_like_torch():
    for L in (hg, torch):
        x = L.arange(4.0, requires_grad=True)
        out = L.scatter_reduce(x, 0, L.tensor([0, 1]), L.tensor([9.0, -9.0]), "max")
        assert out.tolist() == [9.0, 1.0, 2.0, 3.0]
        assert L.scatter_reduce(x, 0, L.tensor([1]), L.tensor([-9.0]), "min").tolist()[1] == -9
        with pytest.raises(RuntimeError, match="Expected 'reduce' to be one of 'sum', 'prod', "
                                               "'mean', 'amax', 'amin' but got max."):
            out.sum().backward()
