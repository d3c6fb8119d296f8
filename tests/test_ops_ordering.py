"""The ordering op plugin (ops/ordering.py) against real torch.

Each op is written once in each library on the same values and must agree: values, indices,
dtype, grad_fn name, the gradient for a random cotangent and the second-order gradient. The
values are drawn with many ties (small integers) and NaNs, because ties decide *which* index
sort, topk, kthvalue, median and mode return, and so which element receives the gradient:
HyperGrad must return the very index torch returns (Note [Which of equal elements is
returned] in ops/ordering.py).
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
import torch
from hypothesis import example, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import hypergrad as hg
from hypergrad.ops.ordering import _nan_above_greater, _plain_less, _quick_select, _Stl

SETTINGS = settings(max_examples=25, deadline=None)
SHAPES = hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=5)

# Few distinct values, so that ties are the rule; NaN sometimes.
TIED = st.sampled_from([-1.0, 0.0, 0.0, 1.0, 2.0, 2.0])
TIED_OR_NAN = st.one_of(TIED, st.just(math.nan))
TIED_ARRAYS = hnp.arrays(np.float64, SHAPES, elements=TIED)
TIED_NAN_ARRAYS = hnp.arrays(np.float64, SHAPES, elements=TIED_OR_NAN)
REAL_ARRAYS = hnp.arrays(np.float64, SHAPES, elements=st.one_of(
    st.floats(-4, 4, allow_nan=False, allow_infinity=False), TIED))


# ----------------------------------------------------------------------------------------------
# helpers: run the same function in both libraries and compare
# ----------------------------------------------------------------------------------------------
def assert_same(ours, theirs, rtol=1e-7, atol=1e-7):
    """Same type, dtype, shape and values (NaN where torch has NaN); tuples elementwise."""
    if isinstance(theirs, tuple):
        assert isinstance(ours, tuple) and len(ours) == len(theirs)
        assert type(ours).__name__ == type(theirs).__name__  # "sort" for torch.return_types.sort
        for i, field in enumerate(getattr(ours, "_fields", ())):  # the same named fields
            assert getattr(theirs, field) is theirs[i]
        for o, t in zip(ours, theirs):
            assert_same(o, t, rtol, atol)
        return
    assert isinstance(ours, hg.Tensor), type(ours)
    assert str(ours.dtype).split(".")[-1] == str(theirs.dtype).split(".")[-1]
    assert tuple(ours.shape) == tuple(theirs.shape)
    expected = theirs.detach().numpy(force=True)  # force: torch's "zero tensors" too
    if expected.dtype.kind in "biu":
        np.testing.assert_array_equal(ours.detach().numpy(), expected)
    else:
        np.testing.assert_allclose(ours.detach().numpy(), expected, rtol=rtol, atol=atol,
                                   equal_nan=True)


def first_output(result):
    return result[0] if isinstance(result, tuple) else result


def compare(hg_fn, torch_fn, arrays, *, gradgrad=True):
    """Run `fn` on float64 leaves made from `arrays` in both libraries; compare the outputs,
    the grad_fn name, first and second-order gradients. Returns both outputs."""
    ours_in = [hg.tensor(a, requires_grad=True) for a in arrays]
    theirs_in = [torch.tensor(a, requires_grad=True) for a in arrays]
    ours, theirs = hg_fn(*ours_in), torch_fn(*theirs_in)
    assert_same(ours, theirs)
    ours_out, theirs_out = first_output(ours), first_output(theirs)
    assert ours_out.grad_fn.name() == theirs_out.grad_fn.name().rpartition("::")[2]
    cotangent = np.random.default_rng(3).standard_normal(tuple(theirs_out.shape))
    ours_grads = hg.autograd.grad(ours_out, ours_in, hg.tensor(cotangent),
                                  create_graph=gradgrad, allow_unused=True)
    theirs_grads = torch.autograd.grad(theirs_out, theirs_in, torch.tensor(cotangent),
                                       create_graph=gradgrad, allow_unused=True)
    for o, t in zip(ours_grads, theirs_grads):
        if t is None:  # an input torch's graph does not use (diff's append with n=0)
            assert o is None or not np.any(o.numpy())
        else:
            assert_same(o, t)
    if gradgrad:
        pairs = [(o, t, np.random.default_rng(7 + i).standard_normal(tuple(t.shape)))
                 for i, (o, t) in enumerate(zip(ours_grads, theirs_grads)) if t is not None]
        ours_total = sum((o * hg.tensor(w)).sum() for o, _, w in pairs)
        theirs_total = sum((t * torch.tensor(w)).sum() for _, t, w in pairs)
        if theirs_total.requires_grad:
            for o, t in zip(hg.autograd.grad(ours_total, ours_in, allow_unused=True),
                            torch.autograd.grad(theirs_total, theirs_in, allow_unused=True)):
                if t is None:
                    assert o is None or not np.any(o.numpy())
                else:
                    assert_same(o, t)
    return ours, theirs


def dim_of(data, x):
    return data.draw(st.integers(-x.ndim, x.ndim - 1), label="dim")


# ----------------------------------------------------------------------------------------------
# sort, argsort
# ----------------------------------------------------------------------------------------------
@SETTINGS
@given(data=st.data())
@example(data=None)
def test_sort_is_stable_and_matches_torch(data):
    if data is None:
        x, dim, descending = np.array([[2.0, 1.0, 2.0, math.nan, 1.0]]), -1, True
    else:
        x = data.draw(TIED_NAN_ARRAYS, label="x")
        dim, descending = dim_of(data, x), data.draw(st.booleans(), label="descending")
    compare(lambda t: hg.sort(t, dim, descending), lambda t: torch.sort(t, dim, descending),
            [x])
    compare(lambda t: t.sort(dim=dim, descending=descending, stable=True),
            lambda t: t.sort(dim=dim, descending=descending, stable=True), [x])
    assert_same(hg.argsort(hg.tensor(x), dim, descending),
                torch.argsort(torch.tensor(x), dim, descending))


def test_sort_node_names_follow_the_overload():
    ours, theirs = hg.ones(3, requires_grad=True), torch.ones(3, requires_grad=True)
    assert hg.sort(ours).values.grad_fn.name() == "SortBackward0" == \
        torch.sort(theirs).values.grad_fn.name()
    assert hg.sort(ours, stable=False).values.grad_fn.name() == "SortBackward1" == \
        torch.sort(theirs, stable=False).values.grad_fn.name()


@pytest.mark.parametrize("dtype", ["bool", "uint8", "int32", "int64", "float16"])
def test_sort_and_argsort_keep_dtypes(dtype):
    values = np.array([[3, 0, 1, 1], [1, 1, 0, 2]]).astype(dtype)
    assert_same(hg.sort(hg.tensor(values), descending=True),
                torch.sort(torch.tensor(values), descending=True))
    assert_same(hg.argsort(hg.tensor(values), 0), torch.argsort(torch.tensor(values), 0))


def test_sort_returns_a_named_tuple_and_handles_0_dim_and_empty():
    result = hg.sort(hg.tensor([3.0, 1.0, 2.0]))
    assert type(result).__name__ == "sort" and result._fields == ("values", "indices")
    assert_same(hg.sort(hg.tensor(2.0)), torch.sort(torch.tensor(2.0)))
    assert_same(hg.sort(hg.zeros(0, 2), 0), torch.sort(torch.zeros(0, 2), 0))


# ----------------------------------------------------------------------------------------------
# topk, kthvalue: torch's own (unstable) selection algorithms on ties
# ----------------------------------------------------------------------------------------------
@SETTINGS
@given(data=st.data())
@example(data=None)
def test_topk_picks_among_ties_as_torch_does(data):
    if data is None:  # nth_element moves the third of four equal values to the front
        x, k, dim, largest, is_sorted = np.ones(4), 1, -1, True, True
    else:
        x = data.draw(TIED_NAN_ARRAYS, label="x")
        dim = dim_of(data, x)
        k = data.draw(st.integers(0, x.shape[dim]), label="k")
        largest, is_sorted = data.draw(st.booleans()), data.draw(st.booleans())
    compare(lambda t: hg.topk(t, k, dim, largest, is_sorted),
            lambda t: torch.topk(t, k, dim, largest, is_sorted), [x])


@pytest.mark.parametrize("n, k", [(17, 5), (40, 30), (200, 3), (300, 150)])
def test_topk_on_long_tied_slices_matches_torch(n, k):
    """Long slices run std::sort's introsort (n > 16) and std::partial_sort (64 k <= n)."""
    x = np.random.default_rng(n).integers(0, 4, (3, n)).astype(np.float32)
    x[1, ::7] = np.nan
    for largest in (True, False):
        for is_sorted in (True, False):
            assert_same(hg.topk(hg.tensor(x), k, largest=largest, sorted=is_sorted),
                        torch.topk(torch.tensor(x), k, largest=largest, sorted=is_sorted))


@SETTINGS
@given(data=st.data())
@example(data=None)
def test_kthvalue_picks_among_ties_as_torch_does(data):
    if data is None:
        x, k, dim, keepdim = np.array([2.0, 2.0, 2.0, 2.0, 2.0, 2.0]), 1, 0, False
    else:
        x = data.draw(TIED_NAN_ARRAYS, label="x")
        dim = dim_of(data, x)
        k = data.draw(st.integers(1, x.shape[dim]), label="k")
        keepdim = data.draw(st.booleans())
    compare(lambda t: hg.kthvalue(t, k, dim, keepdim), lambda t: torch.kthvalue(t, k, dim, keepdim),
            [x])


@pytest.mark.parametrize("call, error", [
    (lambda lib: lib.topk(lib.tensor([1.0, 2.0]), 3), RuntimeError),
    (lambda lib: lib.topk(lib.tensor([True, False]), 1), RuntimeError),
    (lambda lib: lib.kthvalue(lib.tensor([1.0, 2.0]), 0), RuntimeError),
    (lambda lib: lib.kthvalue(lib.zeros(2, 0), 1), IndexError),
    (lambda lib: lib.kthvalue(lib.tensor([True]), 1), NotImplementedError),
])
def test_topk_kthvalue_errors_as_torch(call, error):
    with pytest.raises(error):
        call(torch)
    with pytest.raises(error):
        call(hg)


@settings(max_examples=40, deadline=None)
@given(values=st.lists(st.one_of(st.integers(0, 3), st.just(math.nan)), max_size=60),
       data=st.data())
def test_stl_algorithms_order_correctly(values, data):
    """The ported libstdc++ algorithms sort, select and partially sort (a sanity check of the
    port; that the order among ties is torch's is checked against torch above)."""
    key = [(v, i) for i, v in enumerate(values)]
    order_key = sorted(key, key=lambda p: (not math.isnan(p[0]), -p[0] if p[0] == p[0] else 0))
    expected = [v for v, _ in order_key]  # NaN first, then descending
    q = list(key)
    _Stl(q, _nan_above_greater).sort(0, len(q))
    np.testing.assert_array_equal([v for v, _ in q], expected)
    if values:
        k = data.draw(st.integers(1, len(values)))
        q = list(key)
        _Stl(q, _nan_above_greater).nth_element(0, k - 1, len(q))
        np.testing.assert_array_equal(q[k - 1][0], expected[k - 1])
        q = list(key)
        _Stl(q, _nan_above_greater).partial_sort(0, k, len(q))
        np.testing.assert_array_equal([v for v, _ in q[:k]], expected[:k])
        q = list(key)
        _quick_select(q, k - 1)
        ascending = sorted(values, key=lambda v: (math.isnan(v), v))
        np.testing.assert_array_equal(q[k - 1][0], ascending[k - 1])
    finite = [p for p in key if not math.isnan(p[0])]
    _Stl(finite, _plain_less).sort(0, len(finite))
    assert [v for v, _ in finite] == sorted(v for v in values if not math.isnan(v))


# ----------------------------------------------------------------------------------------------
# median, mode
# ----------------------------------------------------------------------------------------------
@SETTINGS
@given(x=TIED_NAN_ARRAYS)
@example(x=np.array([1.0, 3.0, 3.0, 1.0, 2.0]))
@example(x=np.array([1.0, math.nan, 2.0, math.nan]))
def test_median_of_all_shares_the_gradient_among_ties(x):
    compare(lambda t: t.median(), lambda t: t.median(), [x])


@SETTINGS
@given(data=st.data())
def test_median_along_dim_returns_torchs_index(data):
    x = data.draw(TIED_NAN_ARRAYS, label="x")
    dim, keepdim = dim_of(data, x), data.draw(st.booleans())
    compare(lambda t: hg.median(t, dim, keepdim), lambda t: torch.median(t, dim, keepdim), [x])


@pytest.mark.parametrize("dtype", ["int32", "int64", "uint8"])
def test_median_of_integers_and_of_nothing(dtype):
    values = np.array([[3, 1, 2, 2], [0, 5, 5, 1]]).astype(dtype)
    assert_same(hg.median(hg.tensor(values)), torch.median(torch.tensor(values)))
    assert_same(hg.median(hg.tensor(values), 1), torch.median(torch.tensor(values), 1))
    assert_same(hg.median(hg.zeros(0)), torch.median(torch.zeros(0)))
    with pytest.raises(IndexError, match="to have non-zero size"):
        hg.median(hg.zeros(0, 2), 0)


@SETTINGS
@given(data=st.data())
@example(data=None)
def test_mode_returns_torchs_value_and_index(data):
    if data is None:  # a slice longer than 16 runs std::sort's quicksort steps
        x, dim, keepdim = np.array([1.0, 3.0, 3.0, 1.0, math.nan] * 5), -1, True
    else:
        x = data.draw(st.one_of(TIED_NAN_ARRAYS, hnp.arrays(
            np.float64, hnp.array_shapes(min_dims=1, max_dims=2, min_side=17, max_side=40),
            elements=TIED_OR_NAN)), label="x")
        dim, keepdim = dim_of(data, x), data.draw(st.booleans())
    compare(lambda t: hg.mode(t, dim, keepdim), lambda t: torch.mode(t, dim, keepdim), [x])


@pytest.mark.parametrize("dtype", ["bool", "int32", "int64"])
def test_mode_of_integers_and_bools(dtype):
    values = np.random.default_rng(0).integers(0, 2, (3, 20)).astype(dtype)
    assert_same(hg.mode(hg.tensor(values)), torch.mode(torch.tensor(values)))
    assert_same(hg.mode(hg.tensor(values), 0), torch.mode(torch.tensor(values), 0))


# ----------------------------------------------------------------------------------------------
# unique
# ----------------------------------------------------------------------------------------------
@SETTINGS
@given(data=st.data())
@example(data=None)
def test_unique_matches_torch(data):
    if data is None:
        x, kwargs = np.array([[math.nan, 1.0], [math.nan, 1.0], [0.0, 2.0]]), {"dim": 0}
    else:
        x = data.draw(TIED_NAN_ARRAYS, label="x")
        kwargs = {"return_inverse": data.draw(st.booleans()),
                  "return_counts": data.draw(st.booleans())}
        if data.draw(st.booleans()):
            kwargs["dim"] = dim_of(data, x)
    assert_same(hg.unique(hg.tensor(x), **kwargs), torch.unique(torch.tensor(x), **kwargs))


def test_unique_records_a_node_whose_backward_raises_as_torch():
    for kwargs, name in (({}, "Unique2Backward0"), ({"dim": 0}, "UniqueDimBackward0")):
        ours = hg.unique(hg.tensor([3.0, 1.0, 3.0], requires_grad=True), **kwargs)
        theirs = torch.unique(torch.tensor([3.0, 1.0, 3.0], requires_grad=True), **kwargs)
        assert ours.grad_fn.name() == name == theirs.grad_fn.name()
        with pytest.raises(NotImplementedError, match="is not implemented"):
            ours.sum().backward()


def test_unique_of_bools_and_errors():
    values = np.array([True, False, True])
    assert_same(hg.unique(hg.tensor(values), return_counts=True),
                torch.unique(torch.tensor(values), return_counts=True))
    for shape, dim in (((0, 0), 1), ((2, 0), 0)):
        with pytest.raises(RuntimeError):
            torch.unique(torch.zeros(shape), dim=dim)
        with pytest.raises(RuntimeError):
            hg.unique(hg.zeros(shape), dim=dim)


# ----------------------------------------------------------------------------------------------
# cummax, cummin, cumprod, logcumsumexp
# ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["cummax", "cummin"])
@SETTINGS
@given(data=st.data())
@example(data=None)
def test_cummax_cummin_give_ties_to_the_latest_index(name, data):
    if data is None:
        x, dim = np.array([1.0, 1.0, math.nan, 0.0, math.nan]), 0
    else:
        x = data.draw(TIED_NAN_ARRAYS, label="x")
        dim = dim_of(data, x)
    compare(lambda t: getattr(hg, name)(t, dim), lambda t: getattr(torch, name)(t, dim), [x])


@pytest.mark.parametrize("dtype", ["bool", "int32", "int64"])
def test_cummax_cummin_of_integers(dtype):
    values = np.array([[1, 0, 1, 3], [2, 2, 0, 2]]).astype(dtype)
    for name in ("cummax", "cummin"):
        assert_same(getattr(hg, name)(hg.tensor(values), 1),
                    getattr(torch, name)(torch.tensor(values), 1))


@SETTINGS
@given(data=st.data())
@example(data=None)
def test_cumprod_is_exact_with_zeros(data):
    """No zero, one zero, two zeros in a slice: the first and second derivatives."""
    if data is None:
        x, dim = np.array([[2.0, 0.0, 3.0, 0.0, 5.0], [1.0, 2.0, 0.0, 4.0, 0.5]]), 1
    else:
        x = data.draw(hnp.arrays(np.float64, SHAPES, elements=st.sampled_from(
            [-2.0, -0.5, 0.0, 0.0, 1.5, 3.0])), label="x")
        dim = dim_of(data, x)
    compare(lambda t: hg.cumprod(t, dim), lambda t: torch.cumprod(t, dim), [x])


@pytest.mark.parametrize("values", [[np.inf, 0.0], [0.0, np.inf, 2.0], [1e200, 1e200, 0.0]])
def test_cumprod_gradient_with_zeros_and_infinities_matches_torch(values):
    x = np.array(values)
    with np.errstate(over="ignore", invalid="ignore"):
        compare(lambda t: t.cumprod(0), lambda t: t.cumprod(0), [x], gradgrad=False)


def test_cumprod_dtypes_and_in_place():
    ints = np.array([1, 2, 3], dtype=np.int32)
    assert_same(hg.cumprod(hg.tensor(ints), 0), torch.cumprod(torch.tensor(ints), 0))
    assert_same(hg.cumprod(hg.tensor(ints), 0, dtype=hg.float64),
                torch.cumprod(torch.tensor(ints), 0, dtype=torch.float64))
    ours, theirs = hg.tensor([1.0, 2.0, 3.0]), torch.tensor([1.0, 2.0, 3.0])
    assert ours.cumprod_(0) is ours
    assert_same(ours, theirs.cumprod_(0))
    # torch multiplies float32 in double: 1e30 * 1e30 is stored as inf, yet times 0 gives 0
    huge = np.array([1e30, 1e30, 0.0], np.float32)
    assert_same(hg.cumprod(hg.tensor(huge), 0), torch.cumprod(torch.tensor(huge), 0))


@SETTINGS
@given(data=st.data())
@example(data=None)
def test_logcumsumexp_matches_torch(data):
    if data is None:
        x, dim = np.array([-np.inf, 0.0, -np.inf, 3.0]), 0
    else:
        x = data.draw(REAL_ARRAYS, label="x")
        dim = dim_of(data, x)
    with np.errstate(over="ignore", invalid="ignore"):  # the core add warns on inf - inf
        compare(lambda t: hg.logcumsumexp(t, dim), lambda t: torch.logcumsumexp(t, dim), [x])


def test_logcumsumexp_refuses_integers():
    with pytest.raises(NotImplementedError, match="not implemented for 'Long'"):
        hg.logcumsumexp(hg.tensor([1, 2]), 0)


# ----------------------------------------------------------------------------------------------
# diff
# ----------------------------------------------------------------------------------------------
@SETTINGS
@given(data=st.data())
def test_diff_matches_torch(data):
    x = data.draw(REAL_ARRAYS, label="x")
    dim = dim_of(data, x)
    n = data.draw(st.integers(0, 3), label="n")
    arrays, names = [x], []
    for name in ("prepend", "append"):
        if data.draw(st.booleans(), label=name):
            shape = list(x.shape)
            shape[dim] = data.draw(st.integers(1, 2))
            arrays.append(np.random.default_rng(len(arrays)).standard_normal(shape))
            names.append(name)

    def call(lib):
        return lambda t, *others: lib.diff(t, n, dim, **dict(zip(names, others)))

    compare(call(hg), call(torch), arrays)


def test_diff_graph_and_bools_as_torch():
    ours = hg.diff(hg.tensor([1.0, 4.0, 9.0], requires_grad=True))
    assert ours.grad_fn.name() == "SubBackward0"
    assert [fn.name() for fn, _ in ours.grad_fn.next_functions] == ["SliceBackward0"] * 2
    assert hg.diff(hg.tensor([1.0, 2.0], requires_grad=True), n=0).grad_fn.name() == \
        "CopyBackwards"
    values = np.array([True, False, False, True])
    assert_same(hg.diff(hg.tensor(values)), torch.diff(torch.tensor(values)))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for call in (lambda lib: lib.diff(lib.tensor(1.0)),
                     lambda lib: lib.diff(lib.tensor([1.0, 2.0]), n=-1),
                     lambda lib: lib.diff(lib.ones(3), prepend=lib.tensor(1.0)),
                     lambda lib: lib.diff(lib.ones(3, 2), dim=0, prepend=lib.ones(1, 3))):
            with pytest.raises(RuntimeError):
                call(torch)
            with pytest.raises(RuntimeError):
                call(hg)
