"""The reductions added to ops/reduction.py for issue 4 (nansum, nanmean, count_nonzero,
aminmax, var_mean, std_mean) and its flip-based reversed cumulative sum, against real torch.

Each reduction is written once in each library on the same float64 values, with NaNs, ties
and repeated values made likely, and must agree: values, dtype, grad_fn name, the gradient
for a random cotangent and the second-order gradient (helpers of test_ops_ordering).
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
from test_ops_ordering import assert_same, compare

import hypergrad as hg

SETTINGS = settings(max_examples=25, deadline=None)
SHAPES = hnp.array_shapes(min_dims=0, max_dims=3, min_side=1, max_side=4)
VALUES = st.one_of(st.floats(-5, 5, allow_nan=False).filter(lambda v: abs(v) > 1e-3),
                   st.sampled_from([-2.0, 0.0, 1.0, 1.0, 3.0]))
ARRAYS = hnp.arrays(np.float64, SHAPES, elements=VALUES)
NAN_ARRAYS = hnp.arrays(np.float64, SHAPES, elements=st.one_of(VALUES, st.just(math.nan)))


@st.composite
def dims(draw, ndim):
    """None, one dim, or a tuple of distinct dims, negative ones included."""
    if ndim == 0:
        return draw(st.sampled_from([None, 0, -1]))
    one = st.integers(-ndim, ndim - 1)
    return draw(st.one_of(st.none(), one, st.lists(one, min_size=1, max_size=ndim,
                                                   unique_by=lambda d: d % ndim).map(tuple)))


# ----------------------------------------------------------------------------------------------
# nansum, nanmean, count_nonzero
# ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["nansum", "nanmean"])
@SETTINGS
@given(data=st.data())
@example(data=None)
def test_nansum_nanmean_skip_nan_values_and_their_gradient(name, data):
    if data is None:
        x, dim, keepdim = np.array([[1.0, math.nan], [math.nan, math.nan]]), 1, False
    else:
        x = data.draw(NAN_ARRAYS, label="x")
        dim, keepdim = data.draw(dims(x.ndim), label="dim"), data.draw(st.booleans())
    with np.errstate(invalid="ignore", divide="ignore"):  # 0 / 0 where a slice is all NaN
        compare(lambda t: getattr(hg, name)(t), lambda t: getattr(torch, name)(t), [x])
        compare(lambda t: getattr(t, name)(dim, keepdim),
                lambda t: getattr(t, name)(dim, keepdim), [x])


def test_nansum_nanmean_nodes_dtypes_and_errors():
    t = hg.tensor([1.0, math.nan], requires_grad=True)
    assert hg.nansum(t).grad_fn.name() == "NansumBackward0" == hg.nansum(t, 0).grad_fn.name()
    mean = hg.nanmean(t)
    assert mean.grad_fn.name() == "DivBackward0"
    assert mean.grad_fn.next_functions[0][0].name() == "NansumBackward0"
    assert mean.grad_fn.next_functions[1][0] is None
    for dtype in ("bool", "int32", "int64"):
        values = np.array([[1, 0, 3], [2, 2, 0]]).astype(dtype)
        assert_same(hg.nansum(hg.tensor(values), 1), torch.nansum(torch.tensor(values), 1))
    assert_same(hg.nanmean(hg.tensor([1.0, 2.0]), dtype=hg.float64),
                torch.nanmean(torch.tensor([1.0, 2.0]), dtype=torch.float64))
    for lib in (hg, torch):
        with pytest.raises(RuntimeError, match="nanmean"):
            lib.nanmean(lib.tensor([1, 2]))
        with pytest.raises(RuntimeError, match="could not infer output dtype"):
            lib.nanmean(lib.tensor([1.0, 2.0]), dtype=lib.int64)


@pytest.mark.parametrize("dtype", ["bool", "int32", "float32", "float64"])
@SETTINGS
@given(data=st.data())
def test_count_nonzero_matches_torch(dtype, data):
    x = data.draw(hnp.arrays(dtype, SHAPES, elements=st.sampled_from([0, 1, 2]).map(
        lambda v: bool(v) if dtype == "bool" else v)), label="x")
    dim = data.draw(dims(x.ndim), label="dim")
    assert_same(hg.count_nonzero(hg.tensor(x), dim), torch.count_nonzero(torch.tensor(x), dim))
    assert not hg.count_nonzero(hg.tensor(x.astype(np.float64), requires_grad=True)).requires_grad


# ----------------------------------------------------------------------------------------------
# aminmax
# ----------------------------------------------------------------------------------------------
@SETTINGS
@given(data=st.data())
@example(data=None)
def test_aminmax_shares_each_gradient_among_ties(data):
    if data is None:
        x, kwargs = np.array([[1.0, 3.0, 3.0, 1.0], [math.nan, 0.0, 0.0, 2.0]]), {"dim": 1}
    else:
        x = data.draw(NAN_ARRAYS, label="x")
        kwargs = {"keepdim": data.draw(st.booleans())}
        if data.draw(st.booleans()):
            kwargs["dim"] = data.draw(st.integers(-max(x.ndim, 1), max(x.ndim, 1) - 1))
    with np.errstate(invalid="ignore", divide="ignore"):  # a NaN shares by 0: 0 / 0 * mask
        ours, theirs = compare(lambda t: hg.aminmax(t, **kwargs),
                               lambda t: torch.aminmax(t, **kwargs), [x])
    assert ours._fields == ("min", "max")
    for o, t in ((ours.max, theirs.max), (ours.min, theirs.min)):
        assert o.grad_fn.name() == t.grad_fn.name() == "AminmaxBackward0"


def test_aminmax_of_integers_and_errors():
    for dtype in ("bool", "int32", "int64"):
        values = np.array([[1, 0, 3], [2, 2, 0]]).astype(dtype)
        assert_same(hg.aminmax(hg.tensor(values), dim=0),
                    torch.aminmax(torch.tensor(values), dim=0))
    for call, error in ((lambda lib: lib.aminmax(lib.zeros(0)), RuntimeError),
                        (lambda lib: lib.aminmax(lib.zeros(0, 2), dim=0), IndexError)):
        with pytest.raises(error):
            call(torch)
        with pytest.raises(error):
            call(hg)


# ----------------------------------------------------------------------------------------------
# var_mean, std_mean
# ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["var_mean", "std_mean"])
@SETTINGS
@given(data=st.data())
def test_var_mean_std_mean_match_torch(name, data):
    x = data.draw(ARRAYS, label="x")
    if name == "std_mean":  # spread ties: std's gradient at std == 0 is rounding noise
        x = x + np.linspace(0, 1, x.size).reshape(x.shape)
    dim = data.draw(dims(x.ndim), label="dim")
    kwargs = {"keepdim": data.draw(st.booleans())}
    if data.draw(st.booleans()):
        kwargs["correction"] = data.draw(st.sampled_from([0, 1, 2]))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # degrees of freedom <= 0, tested below
        with np.errstate(all="ignore"):
            ours, theirs = compare(lambda t: getattr(hg, name)(t, dim, **kwargs),
                                   lambda t: getattr(torch, name)(t, dim, **kwargs), [x])
    assert type(ours) is tuple and type(theirs) is tuple


@pytest.mark.parametrize("name", ["var_mean", "std_mean"])
def test_var_mean_std_mean_legacy_arguments_nodes_and_errors(name):
    x = np.array([[1.0, 2.0, 4.0], [0.5, 0.5, 3.0]])
    ours_fn, theirs_fn = getattr(hg, name), getattr(torch, name)
    assert_same(ours_fn(hg.tensor(x), False), theirs_fn(torch.tensor(x), False))
    assert_same(ours_fn(hg.tensor(x), 1, False, True), theirs_fn(torch.tensor(x), 1, False, True))
    ours = ours_fn(hg.tensor(x, requires_grad=True))
    node = "VarMeanBackward0" if name == "var_mean" else "StdMeanBackward0"
    assert ours[0].grad_fn.name() == ours[1].grad_fn.name() == node
    assert ours[0].grad_fn is ours[1].grad_fn
    for lib in (hg, torch):
        with pytest.raises(RuntimeError, match="only support floating point"):
            getattr(lib, name)(lib.tensor([1, 2]))
        with pytest.warns(UserWarning, match="degrees of freedom is <= 0"):
            getattr(lib, name)(lib.tensor([1.0]))


@pytest.mark.parametrize("values", [[math.inf, math.inf], [1.0, math.inf], [math.inf, 1.0],
                                    [1e200, 1e200, 1e200], [1e308, 1e308], [0.1] * 7,
                                    [math.nan, 1.0]])
def test_var_mean_runs_welfords_algorithm_as_torch(values):
    """torch's var_mean is Welford's running update in double: an inf followed by anything
    makes the mean NaN, and equal values (even huge ones) have a variance of exactly 0."""
    x = np.array(values)
    for dtype in ("float32", "float64"):
        with np.errstate(over="ignore"):
            data = x.astype(dtype)
        assert_same(hg.var_mean(hg.tensor(data)), torch.var_mean(torch.tensor(data)))
        assert_same(hg.std_mean(hg.tensor(data)), torch.std_mean(torch.tensor(data)))


def test_empty_var_mean_is_nan_as_torch():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert_same(hg.var_mean(hg.zeros(0, 3), 0), torch.var_mean(torch.zeros(0, 3), 0))
        assert_same(hg.std_mean(hg.zeros(0)), torch.std_mean(torch.zeros(0)))


# ----------------------------------------------------------------------------------------------
# cumsum's backward: the reversed cumulative sum without cancellation
# ----------------------------------------------------------------------------------------------
def test_cumsum_double_backward_does_not_cancel_large_terms():
    """d/dv of <d cumprod / dx (v), 1>: the reversed cumulative sum of 1 / x must keep the
    small terms next to a huge one (a whole-sum-minus-prefix formula loses them)."""
    x = np.array([1.0, 1.0, 1e-90])
    results = []
    for lib in (hg, torch):
        leaf = lib.tensor(x, requires_grad=True)
        v = lib.zeros(3, dtype=lib.float64, requires_grad=True)
        grad = lib.autograd.grad(lib.cumprod(leaf, 0), leaf, v, create_graph=True)[0]
        results.append(lib.autograd.grad(grad.sum(), v)[0])
    assert_same(*results)
    assert hg.tensor([1.0, 2.0], requires_grad=True).cumsum(0).grad_fn.name() == \
        "CumsumBackward0"


@pytest.mark.parametrize("name", ["sum", "mean", "amax", "amin", "cumsum", "argmax", "logsumexp"])
def test_numpy_integer_dims_are_accepted_like_torch(name):
    values = np.arange(6.0).reshape(2, 3)
    ours = getattr(hg.tensor(values), name)(np.int64(1))
    theirs = getattr(torch.tensor(values), name)(np.int64(1))
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())


@pytest.mark.parametrize("dim", [None, ()])
def test_amax_of_an_empty_tensor_without_a_dim_is_torchs_error(dim):
    with pytest.raises(RuntimeError) as theirs:
        torch.zeros(0, 2).amax(dim)
    with pytest.raises(RuntimeError) as ours:
        hg.zeros(0, 2).amax(dim)
    assert str(ours.value) == str(theirs.value)
