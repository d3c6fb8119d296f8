"""The reduction op plugin (ops/reduction.py) against real torch.

Each reduction is written once in each library on the same float64 values (drawn by
hypothesis, with ties and zeros made likely) and must agree: values, dtype, grad_fn name, the
gradient for a random cotangent, and the second-order gradient (create_graph=True). Then the
cases torch users meet: ties in max/amax, zeros in prod, degrees of freedom <= 0 in var/std,
norms at 0, integer and bool inputs, the (values, indices) tuple of max(dim), and the errors.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
import torch
from hypothesis import assume, example, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import hypergrad as hg

SETTINGS = settings(max_examples=20, deadline=None)
SHAPES = hnp.array_shapes(min_dims=0, max_dims=3, min_side=1, max_side=4)

# Values from a continuous range (kept 1e-3 away from 0, where 1/x overflows differently in
# the two libraries) mixed with a few small integers, so that ties (max, amax) and zeros (prod,
# norm) are common.
VALUES = st.one_of(st.floats(-5, 5, allow_nan=False, allow_infinity=False).filter(
                       lambda v: abs(v) > 1e-3),
                   st.sampled_from([-2.0, -1.0, 0.0, 1.0, 2.0]))
ARRAYS = hnp.arrays(np.float64, SHAPES, elements=VALUES)


# ----------------------------------------------------------------------------------------------
# helpers: run the same function in both libraries and compare
# ----------------------------------------------------------------------------------------------
def assert_same(ours, theirs, rtol=1e-7, atol=1e-7):
    """Same dtype, shape and values (NaN where torch has NaN)."""
    assert isinstance(ours, hg.Tensor), type(ours)
    assert str(ours.dtype) == str(theirs.dtype).replace("torch.", "hypergrad.")
    assert tuple(ours.shape) == tuple(theirs.shape)
    expected = theirs.detach().numpy(force=True)
    if expected.dtype.kind in "biu":
        np.testing.assert_array_equal(ours.detach().numpy(), expected)
    else:
        np.testing.assert_allclose(ours.detach().numpy(), expected, rtol=rtol, atol=atol,
                                   equal_nan=True)


def assert_same_grads(ours, theirs):
    """Gradients agree; "not connected" (None) and a zero gradient count as the same."""
    for ours_grad, their_grad in zip(ours, theirs):
        if their_grad is None:
            assert ours_grad is None or not np.any(ours_grad.detach().numpy())
        elif ours_grad is None:
            assert not np.any(their_grad.detach().numpy(force=True))
        else:
            assert_same(ours_grad, their_grad)


def second_order(grads, inputs, library):
    """d/d(inputs) of sum(grad * weights): the second-order gradient a user would ask for."""
    total = None
    for i, grad in enumerate(grads):
        if grad is None or not grad.requires_grad:
            continue
        weights = np.random.default_rng(7 + i).standard_normal(tuple(grad.shape))
        term = (grad * library.tensor(weights)).sum()
        total = term if total is None else total + term
    if total is None:
        return [None] * len(inputs)
    return library.autograd.grad(total, inputs, allow_unused=True)


def compare(hg_fn, torch_fn, arrays, *, node=True, gradgrad=True):
    """Run `fn` on float64 leaves made from `arrays` in both libraries and compare everything.

    Returns both outputs for further checks.
    """
    ours_in = [hg.tensor(a, requires_grad=True) for a in arrays]
    theirs_in = [torch.tensor(a, requires_grad=True) for a in arrays]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # dof <= 0 in var/std, tested below
        ours, theirs = hg_fn(*ours_in), torch_fn(*theirs_in)
    assert_same(ours, theirs)
    if node:
        assert ours.grad_fn.name() == theirs.grad_fn.name()
    cotangent = np.random.default_rng(3).standard_normal(tuple(theirs.shape))
    ours_grads = hg.autograd.grad(ours, ours_in, hg.tensor(cotangent), create_graph=gradgrad,
                                  allow_unused=True)
    theirs_grads = torch.autograd.grad(theirs, theirs_in, torch.tensor(cotangent),
                                       create_graph=gradgrad, allow_unused=True)
    assert_same_grads(ours_grads, theirs_grads)
    if gradgrad:
        assert_same_grads(second_order(ours_grads, ours_in, hg),
                          second_order(theirs_grads, theirs_in, torch))
    return ours, theirs


@st.composite
def dims(draw, ndim, multi=True):
    """None, one dim, or (with `multi`) a tuple of distinct dims, negative ones included."""
    if ndim == 0:
        return draw(st.sampled_from([None, 0, -1]))
    one = st.integers(-ndim, ndim - 1)
    options = [st.none(), one]
    if multi:
        options.append(st.lists(one, min_size=1, max_size=ndim,
                                unique_by=lambda d: d % ndim).map(tuple))
    return draw(st.one_of(*options))


def both(name):
    """`name` looked up in hypergrad and in torch (dotted names such as linalg.vector_norm)."""
    ours, theirs = hg, torch
    for part in name.split("."):
        ours, theirs = getattr(ours, part), getattr(theirs, part)
    return ours, theirs


TIES = np.array([[1.0, 3.0, 3.0], [2.0, 2.0, -1.0]])
ZEROS = np.array([[2.0, 0.0, 3.0], [0.0, 0.0, 4.0], [1.5, -2.0, 0.5]])


# ----------------------------------------------------------------------------------------------
# sum, mean, prod
# ----------------------------------------------------------------------------------------------
@SETTINGS
@given(data=st.data())
def test_sum_matches_torch(data):
    x = data.draw(ARRAYS, label="x")
    dim = data.draw(dims(x.ndim), label="dim")
    keepdim = data.draw(st.booleans(), label="keepdim")
    compare(lambda t: t.sum(), lambda t: t.sum(), [x])
    compare(lambda t: hg.sum(t, dim, keepdim), lambda t: torch.sum(t, dim, keepdim), [x])


def test_sum_node_names_follow_the_overload():
    ours, theirs = hg.ones(2, 3, requires_grad=True), torch.ones(2, 3, requires_grad=True)
    for call in (lambda t: t.sum(), lambda t: t.sum(0), lambda t: t.sum(dim=None),
                 lambda t: t.sum((0, 1)), lambda t: t.sum([]), lambda t: t.sum(None, True)):
        assert call(ours).grad_fn.name() == call(theirs).grad_fn.name()
    assert ours.sum(dtype=hg.float64).grad_fn.name() == \
        theirs.sum(dtype=torch.float64).grad_fn.name()
    assert ours.sum().grad_fn.name() == "SumBackward0"
    assert ours.sum(0).grad_fn.name() == "SumBackward1"


@pytest.mark.parametrize("dtype", ["bool", "uint8", "int32", "int64", "float32"])
def test_sum_prod_cumsum_of_integers_give_int64(dtype):
    values = np.array([[1, 0, 3], [2, 1, 1]]).astype(dtype)
    ours, theirs = hg.tensor(values), torch.tensor(values)
    assert_same(ours.sum(), theirs.sum())
    assert_same(ours.sum(1, keepdim=True), theirs.sum(1, keepdim=True))
    assert_same(ours.prod(), theirs.prod())
    assert_same(ours.prod(0), theirs.prod(0))
    assert_same(ours.cumsum(1), theirs.cumsum(1))


def test_sum_with_dtype():
    x = np.array([[1.5, 2.25], [3.0, 4.0]])
    assert_same(hg.tensor(x).sum(dtype=hg.float32), torch.tensor(x).sum(dtype=torch.float32))
    assert_same(hg.tensor(x).sum(0, dtype=hg.int64), torch.tensor(x).sum(0, dtype=torch.int64))
    ours = hg.tensor(x.astype(np.float32), requires_grad=True)
    ours.sum(dtype=hg.float64).backward()
    assert ours.grad.dtype == hg.float32


@SETTINGS
@given(data=st.data())
def test_mean_matches_torch(data):
    x = data.draw(ARRAYS, label="x")
    dim = data.draw(dims(x.ndim), label="dim")
    keepdim = data.draw(st.booleans(), label="keepdim")
    compare(lambda t: t.mean(), lambda t: t.mean(), [x])
    compare(lambda t: hg.mean(t, dim, keepdim), lambda t: torch.mean(t, dim, keepdim), [x])


def test_mean_node_names_and_dtype():
    ours, theirs = hg.ones(2, 3, requires_grad=True), torch.ones(2, 3, requires_grad=True)
    assert ours.mean().grad_fn.name() == "MeanBackward0" == theirs.mean().grad_fn.name()
    assert ours.mean(dim=None).grad_fn.name() == theirs.mean(dim=None).grad_fn.name()
    assert ours.mean(1).grad_fn.name() == "MeanBackward1"
    ints = np.array([1, 2, 4])
    assert_same(hg.tensor(ints).mean(dtype=hg.float64),
                torch.tensor(ints).mean(dtype=torch.float64))


@SETTINGS
@given(data=st.data())
@example(data=None)
def test_prod_matches_torch_with_zeros(data):
    """Exact gradients with no, one or several zeros in a slice, second order included."""
    if data is None:
        x, dim, keepdim = ZEROS, 1, False
    else:
        x = data.draw(ARRAYS, label="x")
        dim = data.draw(dims(x.ndim, multi=False), label="dim")
        keepdim = data.draw(st.booleans(), label="keepdim")
    compare(lambda t: t.prod(), lambda t: t.prod(), [x])
    if dim is not None:
        compare(lambda t: t.prod(dim, keepdim), lambda t: t.prod(dim, keepdim), [x])


@pytest.mark.parametrize("values", [[2.0, 0.0, 3.0, 4.0], [2.0, 0.0, 0.0, 4.0],
                                    [0.0, 0.0, 0.0, 4.0], [1.5, 2.0, 3.0, 4.0]])
def test_prod_third_derivative_with_zeros_matches_torch(values):
    def third(library, x):
        (g,) = library.autograd.grad(x.prod(), x, create_graph=True)
        (gg,) = library.autograd.grad((g * g).sum(), x, create_graph=True)
        return library.autograd.grad(gg.sum(), x)[0]

    ours = third(hg, hg.tensor(values, dtype=hg.float64, requires_grad=True))
    theirs = third(torch, torch.tensor(values, dtype=torch.float64, requires_grad=True))
    assert_same(ours, theirs)


@pytest.mark.parametrize("values", [[np.inf, 0.0, 0.0], [np.inf, 0.0, 1.0], [0.0, 2.0, 0.0],
                                    [np.inf, 2.0, 0.0], [np.nan, 0.0, 1.0]])
def test_prod_gradient_with_zeros_and_infinities_matches_torch(values):
    """inf * 0 is NaN: the gradient has NaN exactly where torch's has, and with several zeros
    (and no create_graph) torch's shortcut gives zeros."""
    for call in (lambda t: t.prod(), lambda t: t.prod(0)):
        ours, theirs = hg.tensor(values, requires_grad=True), torch.tensor(values,
                                                                            requires_grad=True)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            call(ours).backward()
        call(theirs).backward()
        assert_same(ours.grad, theirs.grad)


# ----------------------------------------------------------------------------------------------
# max, min, amax, amin, argmax, argmin
# ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["max", "min"])
@SETTINGS
@given(x=ARRAYS)
@example(x=TIES)
@example(x=np.full((2, 2), 1.5))
def test_max_min_over_all_split_ties_evenly(name, x):
    compare(lambda t: getattr(t, name)(), lambda t: getattr(t, name)(), [x])


@pytest.mark.parametrize("name", ["max", "min"])
@SETTINGS
@given(data=st.data())
@example(data=None)
def test_max_min_along_dim_give_the_returned_index_all_of_the_gradient(name, data):
    if data is None:
        x, dim, keepdim = TIES, 1, False
    else:
        x = data.draw(ARRAYS, label="x")
        dim = data.draw(st.integers(-max(x.ndim, 1), max(x.ndim, 1) - 1), label="dim")
        keepdim = data.draw(st.booleans(), label="keepdim")
    ours, theirs = compare(lambda t: getattr(t, name)(dim, keepdim).values,
                           lambda t: getattr(t, name)(dim, keepdim).values, [x])
    result = getattr(hg.tensor(x, requires_grad=True), name)(dim, keepdim=keepdim)
    expected = getattr(torch.tensor(x), name)(dim, keepdim=keepdim)
    assert_same(result.indices, expected.indices)
    assert not result.indices.requires_grad
    values, indices = result
    assert values is result.values and indices is result.indices
    assert result[0] is result.values


def test_max_node_names():
    ours, theirs = hg.tensor(TIES, requires_grad=True), torch.tensor(TIES, requires_grad=True)
    for name in ("max", "min"):
        assert getattr(ours, name)().grad_fn.name() == getattr(theirs, name)().grad_fn.name()
        assert getattr(ours, name)(0).values.grad_fn.name() == \
            getattr(theirs, name)(0).values.grad_fn.name()
    assert ours.max().grad_fn.name() == "MaxBackward1"
    assert ours.max(0)[0].grad_fn.name() == "MaxBackward0"
    assert type(ours.max(0)).__name__ == type(theirs.max(0)).__name__ == "max"


@pytest.mark.parametrize("name", ["max", "min"])
def test_max_min_with_a_tensor_is_the_elementwise_maximum(name):
    a, b = np.array([1.0, 5.0, 2.0]), np.array([3.0, 2.0, 2.0])
    compare(lambda x, y: getattr(hg, name)(x, y), lambda x, y: getattr(torch, name)(x, y), [a, b])
    compare(lambda x, y: getattr(x, name)(y), lambda x, y: getattr(x, name)(y), [a, b])


@pytest.mark.parametrize("dtype", ["int64", "int32", "bool"])
def test_max_min_keep_integer_and_bool_dtypes(dtype):
    values = np.array([[1, 0, 3], [2, 1, 1]]).astype(dtype)
    ours, theirs = hg.tensor(values), torch.tensor(values)
    assert_same(ours.max(), theirs.max())
    assert_same(ours.min(1).values, theirs.min(1).values)
    assert_same(ours.amax(0), theirs.amax(0))


def test_max_along_dim_of_nan_returns_the_nan():
    x = np.array([[1.0, np.nan, 3.0], [4.0, 5.0, 6.0]])
    compare(lambda t: t.max(1).values, lambda t: t.max(1).values, [x])
    assert hg.tensor(x).max(1).indices.tolist() == torch.tensor(x).max(1).indices.tolist()
    compare(lambda t: t.max(), lambda t: t.max(), [x])


@pytest.mark.parametrize("name", ["amax", "amin"])
@SETTINGS
@given(data=st.data())
@example(data=None)
def test_amax_amin_split_ties_evenly(name, data):
    if data is None:
        x, dim, keepdim = TIES, (0, 1), False
    else:
        x = data.draw(ARRAYS, label="x")
        dim = data.draw(dims(x.ndim), label="dim")
        keepdim = data.draw(st.booleans(), label="keepdim")
    dim = () if dim is None else dim
    compare(lambda t: getattr(t, name)(dim, keepdim), lambda t: getattr(t, name)(dim, keepdim),
            [x])
    compare(lambda t: getattr(hg, name)(t), lambda t: getattr(torch, name)(t), [x])


@pytest.mark.parametrize("name", ["argmax", "argmin"])
@SETTINGS
@given(data=st.data())
def test_argmax_argmin_match_torch(name, data):
    x = data.draw(ARRAYS, label="x")
    dim = data.draw(st.one_of(st.none(), st.integers(-max(x.ndim, 1), max(x.ndim, 1) - 1)))
    keepdim = data.draw(st.booleans(), label="keepdim")
    ours = getattr(hg.tensor(x, requires_grad=True), name)(dim, keepdim)
    assert_same(ours, getattr(torch.tensor(x), name)(dim, keepdim))
    assert ours.grad_fn is None and not ours.requires_grad


# ----------------------------------------------------------------------------------------------
# var, std
# ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["var", "std"])
@SETTINGS
@given(data=st.data())
@example(data=None)
def test_var_std_match_torch(name, data):
    if data is None:
        x, dim, keepdim, correction = np.ones((2, 3)), 1, True, 1  # std 0: gradient 0
    else:
        x = data.draw(ARRAYS, label="x")
        dim = data.draw(dims(x.ndim), label="dim")
        keepdim = data.draw(st.booleans(), label="keepdim")
        correction = data.draw(st.sampled_from([0, 1, 2, 0.5]), label="correction")
        if name == "std" and x.ndim:
            # near-equal values (spread ~1e-5) make std's gradient rounding noise in both
            # libraries; exactly equal ones are pinned by the example above
            spread = np.ptp(x, axis=dim)
            assume(np.all((spread == 0) | (spread > 1e-3)))
    compare(lambda t: getattr(t, name)(dim, keepdim=keepdim, correction=correction),
            lambda t: getattr(t, name)(dim, keepdim=keepdim, correction=correction), [x])
    compare(lambda t: getattr(hg, name)(t), lambda t: getattr(torch, name)(t), [x])


@pytest.mark.parametrize("name", ["var", "std"])
def test_var_std_legacy_unbiased_argument(name):
    x = np.array([[1.0, 2.0, 4.0], [3.0, -1.0, 0.5]])
    for args in [(False,), (True,), (0, False), (1, True, True)]:
        compare(lambda t: getattr(t, name)(*args), lambda t: getattr(t, name)(*args), [x])
    compare(lambda t: getattr(t, name)(0, unbiased=False),
            lambda t: getattr(t, name)(0, unbiased=False), [x])


@pytest.mark.parametrize("name", ["var", "std"])
@pytest.mark.parametrize("values, kwargs", [
    ([1.0], {}),                                   # one element, correction 1: NaN
    ([1.0, 2.0], {"correction": 2}),               # dof 0: inf value and gradient
    ([1.0, 1.0], {"correction": 2}),               # dof 0 at the mean: NaN
    ([1.0, 2.0], {"correction": 3, "dim": 0}),     # dof < 0 over a dim: 2 / dof as is
    ([1.0, 2.0], {"correction": 2, "dim": 0}),
    (3.0, {}),                                     # 0-dim
])
def test_var_std_with_no_degrees_of_freedom_warn_and_match_torch(name, values, kwargs):
    x = np.array(values)
    with pytest.warns(UserWarning, match=r"degrees of freedom is <= 0"):
        getattr(hg.tensor(x), name)(**kwargs)
    compare(lambda t: getattr(t, name)(**kwargs), lambda t: getattr(t, name)(**kwargs), [x])


def test_var_std_accumulate_in_double_like_torch():
    """torch accumulates a float32 variance in double and takes std's square root there."""
    for x in (np.full(3, 1e30, dtype=np.float32), np.full((2, 3), 1.670128345489502,
                                                           dtype=np.float32)):
        for call in (lambda t: t.std(), lambda t: t.var(), lambda t: t.std(0), lambda t: t.var(0)):
            assert_same(call(hg.tensor(x)), call(torch.tensor(x)), rtol=1.3e-6, atol=1e-5)


# ----------------------------------------------------------------------------------------------
# logsumexp, cumsum
# ----------------------------------------------------------------------------------------------
@SETTINGS
@given(data=st.data())
def test_logsumexp_matches_torch(data):
    x = data.draw(ARRAYS, label="x") * data.draw(st.sampled_from([1.0, 100.0]), label="scale")
    dim = data.draw(dims(x.ndim).filter(lambda d: d is not None and d != ()), label="dim")
    keepdim = data.draw(st.booleans(), label="keepdim")
    compare(lambda t: t.logsumexp(dim, keepdim), lambda t: t.logsumexp(dim, keepdim), [x])


def test_logsumexp_large_values_and_infinities():
    x = np.array([[1000.0, 1000.0], [-np.inf, -np.inf], [np.inf, 1.0]])
    assert_same(hg.tensor(x).logsumexp(1), torch.tensor(x).logsumexp(1))
    compare(lambda t: t.logsumexp(1), lambda t: t.logsumexp(1), [x[:1]])
    assert_same(hg.tensor([1, 2, 3]).logsumexp(0), torch.tensor([1, 2, 3]).logsumexp(0))


@SETTINGS
@given(data=st.data())
def test_cumsum_matches_torch(data):
    x = data.draw(ARRAYS, label="x")
    dim = data.draw(st.integers(-max(x.ndim, 1), max(x.ndim, 1) - 1), label="dim")
    compare(lambda t: t.cumsum(dim), lambda t: torch.cumsum(t, dim), [x])


def test_cumsum_dtype_and_in_place():
    x = np.array([[1.0, 2.0], [3.0, 4.0]])
    assert_same(hg.tensor(x).cumsum(0, dtype=hg.int64),
                torch.tensor(x).cumsum(0, dtype=torch.int64))
    ours, theirs = hg.tensor([1, 2, 3], dtype=hg.int32), torch.tensor([1, 2, 3], dtype=torch.int32)
    ours.cumsum_(0)
    theirs.cumsum_(0)
    assert_same(ours, theirs)


# ----------------------------------------------------------------------------------------------
# norm, linalg.vector_norm
# ----------------------------------------------------------------------------------------------
ORDS = [2, 1, 3, 0.5, 1.5, -1, math.inf, -math.inf, 0]


@pytest.mark.parametrize("name", ["norm", "linalg.vector_norm"])
@SETTINGS
@given(data=st.data())
@example(data=None)
def test_norm_matches_torch(name, data):
    if data is None:
        x, p, dim, keepdim = np.zeros((2, 3)), 2, 1, False  # the norm is 0: gradient 0
    else:
        x = data.draw(ARRAYS, label="x")
        p = data.draw(st.sampled_from(ORDS), label="p")
        dim = data.draw(dims(x.ndim), label="dim")
        keepdim = data.draw(st.booleans(), label="keepdim")
    ours, theirs = both(name)
    compare(lambda t: ours(t, p, dim, keepdim), lambda t: theirs(t, p, dim, keepdim), [x])


@pytest.mark.parametrize("p", ORDS)
def test_norm_at_zero_has_zero_gradient(p):
    x = np.array([[0.0, 0.0], [3.0, -4.0]])
    compare(lambda t: t.norm(p, 1), lambda t: t.norm(p, 1), [x])


def test_norm_forms():
    x = np.array([[1.0, -2.0], [3.0, 0.5]])
    compare(lambda t: t.norm(), lambda t: t.norm(), [x])
    compare(lambda t: hg.norm(t, "fro", (0, 1)), lambda t: torch.norm(t, "fro", (0, 1)), [x])
    compare(lambda t: hg.norm(t, dim=1, keepdim=True), lambda t: torch.norm(t, dim=1,
                                                                            keepdim=True), [x])
    compare(lambda t: t.norm(dtype=hg.float64), lambda t: t.norm(dtype=torch.float64), [x])
    ours = hg.linalg.vector_norm(hg.tensor(x.astype(np.float32)), dtype=hg.float64)
    assert_same(ours, torch.linalg.vector_norm(torch.tensor(x.astype(np.float32)),
                                               dtype=torch.float64))
    assert hg.linalg.vector_norm(hg.tensor(x, requires_grad=True)).grad_fn.name() == \
        "LinalgVectorNormBackward0"


def test_norm_of_one_element_per_slice_does_not_overflow_like_torch():
    big = np.float32(1e30)
    for x, dim in [(np.array(big), None), (np.array(big), 0), (np.full(1, big), 0),
                   (np.full((2, 1), big), 1), (np.full((1, 3), big), 1), (np.full(2, big), 0)]:
        for p in (2, 3, 1.5, 1, math.inf):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                ours = hg.linalg.vector_norm(hg.tensor(x), p, dim)
            assert_same(ours, torch.linalg.vector_norm(torch.tensor(x), p, dim))


def test_zero_norm_has_no_gradient_like_torch():
    ours = hg.tensor([1.0, 0.0, 2.0], requires_grad=True)
    theirs = torch.tensor([1.0, 0.0, 2.0], requires_grad=True)
    ours.norm(0).backward()
    theirs.norm(0).backward()
    assert ours.grad is None and theirs.grad is None


# ----------------------------------------------------------------------------------------------
# all, any
# ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["all", "any"])
@pytest.mark.parametrize("dtype", ["bool", "uint8", "int64", "float64"])
@SETTINGS
@given(data=st.data())
def test_all_any_match_torch(name, dtype, data):
    x = data.draw(hnp.arrays(np.float64, SHAPES, elements=st.sampled_from([0.0, 1.0, 2.5])))
    x = x.astype(dtype)
    dim = data.draw(dims(x.ndim), label="dim")
    keepdim = data.draw(st.booleans(), label="keepdim")
    assert_same(getattr(hg.tensor(x), name)(), getattr(torch.tensor(x), name)())
    if dim is not None:
        assert_same(getattr(hg, name)(hg.tensor(x), dim, keepdim),
                    getattr(torch, name)(torch.tensor(x), dim, keepdim))


def test_all_any_are_not_differentiable():
    x = hg.tensor([1.0, 0.0], requires_grad=True)
    assert not x.all().requires_grad and not x.any(0).requires_grad


# ----------------------------------------------------------------------------------------------
# empty inputs and errors: the same exception type and message as torch
# ----------------------------------------------------------------------------------------------
def test_empty_reductions_with_an_identity():
    for call in (lambda t: t.sum(), lambda t: t.prod(), lambda t: t.mean(),
                 lambda t: t.norm(), lambda t: t.logsumexp(0), lambda t: t.amax(1),
                 lambda t: t.max(1).values, lambda t: t.sum(0)):
        values = np.zeros((0, 3))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            assert_same(call(hg.tensor(values)), call(torch.tensor(values)))


ERRORS = [
    ("mean of int", lambda lib, t: t.long().mean()),
    ("mean of bool", lambda lib, t: (t > 0).mean()),
    ("mean with int dtype", lambda lib, t: t.mean(dtype=lib.int64)),
    ("sum dim out of range", lambda lib, t: t.sum(2)),
    ("sum repeated dim", lambda lib, t: t.sum((0, 0))),
    ("max of empty", lambda lib, t: lib.zeros(0).max()),
    ("max of empty dim", lambda lib, t: lib.zeros(0, 3).max(0)),
    ("amax of empty", lambda lib, t: lib.zeros(0).amax()),
    ("amax of empty dim", lambda lib, t: lib.zeros(0, 3).amax(0)),
    ("argmax of empty", lambda lib, t: lib.zeros(0).argmax()),
    ("argmax of empty dim", lambda lib, t: lib.zeros(0, 2).argmax(0)),
    ("argmin of bool", lambda lib, t: (t > 0).argmin()),
    ("var of int", lambda lib, t: t.long().var()),
    ("std of int", lambda lib, t: t.long().std(0)),
    ("norm of int", lambda lib, t: t.long().norm()),
    ("vector_norm with int dtype", lambda lib, t: lib.linalg.vector_norm(t, dtype=lib.int64)),
    ("inf norm of empty", lambda lib, t: lib.linalg.vector_norm(lib.zeros(0), math.inf)),
    ("-1 norm of empty", lambda lib, t: lib.linalg.vector_norm(lib.zeros(0, 3), -1.0)),
    ("inf norm of empty dim", lambda lib, t: lib.linalg.vector_norm(lib.zeros(0, 3), math.inf,
                                                                     dim=0)),
    ("norm with unknown order", lambda lib, t: lib.norm(t, "abc")),
    ("vector_norm with a string order", lambda lib, t: lib.linalg.vector_norm(t, "fro")),
]


@pytest.mark.parametrize("label, call", ERRORS, ids=[label for label, _ in ERRORS])
def test_errors_match_torch(label, call):
    with pytest.raises(Exception) as theirs:
        call(torch, torch.tensor([[1.0, 2.0], [3.0, 4.0]]))
    with pytest.raises(type(theirs.value)) as ours:
        call(hg, hg.tensor([[1.0, 2.0], [3.0, 4.0]]))
    expected = str(theirs.value).split(" (Triggered internally")[0].split("\n")[0]
    assert str(ours.value).split("\n")[0] == expected


def test_mean_error_message_is_torchs():
    with pytest.raises(RuntimeError, match=r"^mean\(\): could not infer output dtype. Input "
                                           r"dtype must be either a floating point or complex "
                                           r"dtype. Got: Long$"):
        hg.tensor([1, 2]).mean()


def test_registered_in_the_namespaces():
    assert hg.linalg.vector_norm is not None and not hasattr(hg, "vector_norm")
    for name in ("sum", "mean", "prod", "max", "min", "amax", "amin", "argmax", "argmin", "var",
                 "std", "logsumexp", "norm", "cumsum", "all", "any"):
        assert callable(getattr(hg, name)) and callable(getattr(hg.Tensor, name))
