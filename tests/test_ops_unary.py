"""The unary op plugin (ops/unary.py) against real torch.

Every op is written once in each library on the same float64 values (drawn by hypothesis) and
must agree: values, dtype, grad_fn name, the gradient for a random cotangent, and for most ops
the second-order gradient (create_graph=True). Then the cases torch users meet: integer inputs
promoting to float, relu at 0, clamp at its bounds, in-place variants, and the errors.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from hypothesis import example, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import hypergrad as hg

SETTINGS = settings(max_examples=25, deadline=None)
SHAPES = hnp.array_shapes(min_dims=0, max_dims=3, min_side=1, max_side=4)


# ----------------------------------------------------------------------------------------------
# helpers: run the same function in both libraries and compare
# ----------------------------------------------------------------------------------------------
def torch_dtype_name(dtype):
    return str(dtype).replace("torch.", "")


def assert_same(ours, theirs, rtol=1e-7, atol=1e-7):
    """Same dtype, shape and values (NaN where torch has NaN)."""
    assert isinstance(ours, hg.Tensor), type(ours)
    assert str(ours.dtype) == "hypergrad." + torch_dtype_name(theirs.dtype)
    assert tuple(ours.shape) == tuple(theirs.shape)
    expected = theirs.detach().numpy()
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
            assert not np.any(their_grad.detach().numpy())
        else:
            assert_same(ours_grad, their_grad)


def second_order(outputs_grads, inputs, library):
    """d/d(inputs) of sum(grad * weights): the second-order gradient a user would ask for."""
    total = None
    for i, grad in enumerate(outputs_grads):
        if grad is None or not grad.requires_grad:
            continue
        weights = np.random.default_rng(7 + i).standard_normal(tuple(grad.shape))
        term = (grad * library.tensor(weights)).sum()
        total = term if total is None else total + term
    if total is None:
        return [None] * len(inputs)
    return library.autograd.grad(total, inputs, allow_unused=True)


def compare(hg_fn, torch_fn, arrays, *, grads=True, gradgrad=True, rtol=1e-7, atol=1e-7):
    """Run `fn` on float64 leaves made from `arrays` in both libraries and compare everything."""
    ours_in = [hg.tensor(a, requires_grad=True) for a in arrays]
    theirs_in = [torch.tensor(a, requires_grad=True) for a in arrays]
    ours, theirs = hg_fn(*ours_in), torch_fn(*theirs_in)
    assert_same(ours, theirs, rtol, atol)
    assert ours.grad_fn.name() == theirs.grad_fn.name()
    if not grads:
        return
    cotangent = np.random.default_rng(3).standard_normal(tuple(theirs.shape))
    ours_grads = hg.autograd.grad(ours, ours_in, hg.tensor(cotangent), create_graph=gradgrad,
                                  allow_unused=True)
    theirs_grads = torch.autograd.grad(theirs, theirs_in, torch.tensor(cotangent),
                                       create_graph=gradgrad, allow_unused=True)
    assert_same_grads(ours_grads, theirs_grads)
    if gradgrad:
        assert_same_grads(second_order(ours_grads, ours_in, hg),
                          second_order(theirs_grads, theirs_in, torch))


def floats(low, high, exclude=()):
    values = st.floats(low, high, allow_nan=False, allow_infinity=False)
    if exclude:
        values = values.filter(lambda v: all(abs(v - e) > 1e-3 for e in exclude))
    return hnp.arrays(np.float64, SHAPES, elements=values)


# ----------------------------------------------------------------------------------------------
# every floating op: values, dtype, grad_fn, first and second order gradients
# ----------------------------------------------------------------------------------------------
DOMAINS = {  # op -> (low, high, points to stay 1e-3 away from)
    "exp": (-5, 5, ()), "exp2": (-5, 5, ()), "expm1": (-5, 5, ()),
    "log": (1e-3, 5, ()), "log2": (1e-3, 5, ()), "log10": (1e-3, 5, ()),
    "log1p": (-1 + 1e-3, 5, ()), "sqrt": (1e-3, 5, ()), "rsqrt": (1e-3, 5, ()),
    "square": (-5, 5, ()), "sin": (-5, 5, ()), "cos": (-5, 5, ()),
    "tan": (-4, 4, (-math.pi / 2, math.pi / 2)), "asin": (-0.999, 0.999, ()),
    "acos": (-0.999, 0.999, ()), "atan": (-5, 5, ()), "sinh": (-5, 5, ()),
    "cosh": (-5, 5, ()), "tanh": (-5, 5, ()), "asinh": (-5, 5, ()), "acosh": (1.001, 5, ()),
    "atanh": (-0.999, 0.999, ()), "sigmoid": (-8, 8, ()), "relu": (-5, 5, ()),
    "erf": (-3, 3, ()), "floor": (-5, 5, ()), "ceil": (-5, 5, ()), "round": (-5, 5, ()),
    "trunc": (-5, 5, ()),
}


@pytest.mark.parametrize("name", sorted(DOMAINS))
@SETTINGS
@given(data=st.data())
def test_op_matches_torch(name, data):
    x = data.draw(floats(*DOMAINS[name]), label="x")
    compare(getattr(hg, name), getattr(torch, name), [x])


@pytest.mark.parametrize("name", ["exp", "sqrt", "tanh", "sigmoid", "relu", "tan", "rsqrt"])
def test_zero_dim_result_stays_in_the_graph(name):
    """Ops that save their result: a 0-dim result must still give the second derivative."""
    compare(getattr(hg, name), getattr(torch, name), [np.array(0.7)])


@pytest.mark.parametrize("name", ["exp", "log", "sin", "tanh", "sigmoid", "erf", "sqrt"])
@SETTINGS
@given(data=st.data())
def test_float32_values_match_torch(name, data):
    x = data.draw(floats(*DOMAINS[name]), label="x").astype(np.float32)
    assert_same(getattr(hg, name)(hg.tensor(x)), getattr(torch, name)(torch.tensor(x)),
                rtol=1.3e-6, atol=1e-5)


@pytest.mark.parametrize("name", ["exp", "sin", "log1p", "sigmoid", "relu", "floor", "clamp"])
def test_method_matches_function(name):
    x = hg.tensor([0.25, 1.5, 3.0])
    args = (0.5, 2.0) if name == "clamp" else ()
    assert np.array_equal(getattr(x, name)(*args).numpy(), getattr(hg, name)(x, *args).numpy())


def test_aliases():
    x = hg.tensor([0.25, -0.5])
    for alias, name in [("arcsin", "asin"), ("arccos", "acos"), ("arctan", "atan"),
                        ("arcsinh", "asinh"), ("arctanh", "atanh"), ("fix", "trunc"),
                        ("clip", "clamp")]:
        args = (-0.3, 0.3) if name == "clamp" else ()
        assert np.array_equal(getattr(hg, alias)(x, *args).numpy(),
                              getattr(hg, name)(x, *args).numpy())
        assert np.array_equal(getattr(x, alias)(*args).numpy(),
                              getattr(hg, name)(x, *args).numpy())


# ----------------------------------------------------------------------------------------------
# dtypes: integers promote to the default float dtype for floating functions
# ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["exp", "exp2", "log", "sqrt", "sin", "tanh", "sigmoid", "erf",
                                  "rsqrt", "atan", "expm1", "log1p"])
@pytest.mark.parametrize("dtype", ["int64", "int32", "uint8", "bool"])
def test_integer_input_promotes_to_default_float(name, dtype):
    values = np.array([0, 1, 2, 3]).astype(dtype)
    assert_same(getattr(hg, name)(hg.tensor(values)), getattr(torch, name)(torch.tensor(values)),
                rtol=1.3e-6, atol=1e-5)


def test_promotion_follows_the_default_dtype():
    previous = hg.get_default_dtype()
    hg.set_default_dtype(hg.float64)
    try:
        assert hg.exp(hg.tensor([1, 2])).dtype == hg.float64
    finally:
        hg.set_default_dtype(previous)
    assert hg.exp(hg.tensor([1, 2])).dtype == hg.float32


@pytest.mark.parametrize("name", ["floor", "ceil", "round", "trunc", "relu", "square"])
@pytest.mark.parametrize("dtype", ["int64", "int32", "uint8"])
def test_integer_dtype_is_kept(name, dtype):
    values = np.array([0, 1, 7, 3]).astype(dtype)
    assert_same(getattr(hg, name)(hg.tensor(values)), getattr(torch, name)(torch.tensor(values)))


def test_float32_stays_float32():
    x = np.array([0.5, 1.5], dtype=np.float32)
    for name in ("exp", "relu", "floor", "square", "sigmoid"):
        assert getattr(hg, name)(hg.tensor(x)).dtype == hg.float32


def test_in_place_on_integer_tensor_raises_like_torch():
    with pytest.raises(RuntimeError, match="result type Float can't be cast to the desired "
                                           "output type Long"):
        hg.tensor([1, 2]).exp_()
    with pytest.raises(RuntimeError) as theirs:
        torch.tensor([1, 2]).exp_()
    assert "result type Float can't be cast to the desired output type Long" in str(theirs.value)


# ----------------------------------------------------------------------------------------------
# in-place variants
# ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["exp_", "sqrt_", "sigmoid_", "tanh_", "relu_", "log_",
                                  "floor_", "square_", "sin_", "erf_"])
def test_in_place_variant_matches_torch(name):
    values = np.array([0.3, 1.2, 2.5])

    def run(library):
        x = library.tensor(values, requires_grad=True)
        y = x * 2
        out = getattr(y, name)()
        assert out is y
        (out * library.tensor([1.0, -2.0, 0.5], dtype=library.float64)).sum().backward()
        return y, x.grad

    (ours, ours_grad), (theirs, their_grad) = run(hg), run(torch)
    assert_same(ours, theirs)
    assert ours.grad_fn.name() == theirs.grad_fn.name()
    assert_same(ours_grad, their_grad)


def test_in_place_on_a_leaf_that_requires_grad_raises():
    with pytest.raises(RuntimeError, match="a leaf Variable that requires grad is being used in "
                                           "an in-place operation."):
        hg.tensor([1.0], requires_grad=True).exp_()


# ----------------------------------------------------------------------------------------------
# relu, sigmoid and erf at their special points
# ----------------------------------------------------------------------------------------------
@example(x=np.array([0.0, -0.0, 1.0, -1.0]))
@SETTINGS
@given(x=hnp.arrays(np.float64, SHAPES, elements=st.sampled_from([-1.0, 0.0, 2.0, 1e-300])))
def test_relu_gradient_is_zero_at_zero(x):
    compare(hg.relu, torch.relu, [x])


def test_relu_passes_the_gradient_of_nan_like_torch():
    compare(hg.relu, torch.relu, [np.array([np.nan, 1.0, -1.0])], gradgrad=False)


def test_relu_rejects_bool():
    with pytest.raises(RuntimeError, match="Boolean inputs not supported for relu"):
        hg.relu(hg.tensor([True]))


def test_extreme_values_match_torch():
    x = np.array([-1000.0, -50.0, 0.0, 50.0, 1000.0, np.inf, -np.inf, np.nan])
    for name in ("sigmoid", "tanh", "exp", "erf", "relu", "atan", "floor"):
        assert_same(getattr(hg, name)(hg.tensor(x)), getattr(torch, name)(torch.tensor(x)))
    for name in ("log", "sqrt", "rsqrt", "log1p", "asin", "acosh", "atanh"):
        y = np.array([-2.0, -1.0, 0.0, 1.0, np.inf])
        assert_same(getattr(hg, name)(hg.tensor(y)), getattr(torch, name)(torch.tensor(y)))


def test_sqrt_gradient_at_zero_is_inf():
    compare(hg.sqrt, torch.sqrt, [np.array([0.0, 4.0])], gradgrad=False)


# ----------------------------------------------------------------------------------------------
# round with decimals
# ----------------------------------------------------------------------------------------------
@example(x=np.array([2.5, 0.125, 1.005, -0.5, 12345.6789]), decimals=2)
@example(x=np.array([0.5, 1.5, 2.5, -2.5]), decimals=0)
@SETTINGS
@given(x=floats(-1000, 1000), decimals=st.integers(-3, 4))
def test_round_decimals_matches_torch(x, decimals):
    compare(lambda t: hg.round(t, decimals=decimals),
            lambda t: torch.round(t, decimals=decimals), [x])
    x32 = x.astype(np.float32)
    assert_same(hg.round(hg.tensor(x32), decimals=decimals),
                torch.round(torch.tensor(x32), decimals=decimals), rtol=1.3e-6, atol=1e-5)


def test_round_half_to_even():
    x = np.array([0.5, 1.5, 2.5, -0.5, -1.5])
    assert_same(hg.round(hg.tensor(x)), torch.round(torch.tensor(x)))


def test_round_in_place_with_decimals():
    x = hg.tensor([1.234, 5.678])
    x.round_(decimals=1)
    np.testing.assert_allclose(x.numpy(), [1.2, 5.7], rtol=1e-6)


def test_rounding_errors_match_torch():
    with pytest.raises(NotImplementedError, match="\"round_cpu\" not implemented for 'Long'"):
        hg.round(hg.tensor([15, 2]), decimals=-1)
    for name in ("floor", "ceil", "round", "trunc"):
        with pytest.raises(NotImplementedError) as theirs:
            getattr(torch, name)(torch.tensor([True]))
        with pytest.raises(NotImplementedError) as ours:
            getattr(hg, name)(hg.tensor([True]))
        assert str(ours.value) == str(theirs.value)


# ----------------------------------------------------------------------------------------------
# clamp
# ----------------------------------------------------------------------------------------------
BOUND = st.one_of(st.none(), st.floats(-3, 3), st.sampled_from([-1.0, 0.0, 1.0]))


@example(x=np.array([-2.0, -1.0, 0.0, 1.0, 2.0]), low=-1.0, high=1.0)
@example(x=np.array([1.0, 5.0]), low=3.0, high=2.0)
@SETTINGS
@given(x=hnp.arrays(np.float64, SHAPES, elements=st.sampled_from([-1.0, 0.0, 1.0, 0.5, -2.5])
                    | st.floats(-3, 3)), low=BOUND, high=BOUND)
def test_clamp_scalar_bounds_match_torch(x, low, high):
    if low is None and high is None:
        return
    compare(lambda t: hg.clamp(t, low, high), lambda t: torch.clamp(t, low, high), [x])


def test_clamp_gradient_is_one_at_the_bounds():
    x = hg.tensor([-1.0, 0.0, 1.0, 2.0], requires_grad=True)
    x.clamp(0.0, 1.0).sum().backward()
    assert x.grad.tolist() == [0.0, 1.0, 1.0, 0.0]
    assert x.clamp(0.0, 1.0).grad_fn.name() == "ClampBackward1"


ELEMENT = st.sampled_from([-1.0, 0.0, 1.0, 2.0]) | st.floats(-3, 3)


@SETTINGS
@given(shapes=hnp.mutually_broadcastable_shapes(num_shapes=2, max_dims=3, max_side=3),
       which=st.sampled_from(["both", "min", "max"]), data=st.data())
def test_clamp_tensor_bounds_match_torch(shapes, which, data):
    # input has the broadcast shape: torch 2.13's backward fails when a bound is larger
    # ("output with shape [] doesn't match the broadcast shape [1]"), HyperGrad's does not
    shapes = (shapes.result_shape, *shapes.input_shapes)
    arrays = [data.draw(hnp.arrays(np.float64, shape, elements=ELEMENT)) for shape in shapes]

    def call(library):
        def run(x, low, high):
            return library.clamp(x, min=None if which == "max" else low,
                                 max=None if which == "min" else high)
        return run

    compare(call(hg), call(torch), arrays)


def test_clamp_tensor_bounds_with_min_above_max_match_torch():
    values = [[0.0, 1.0, 2.0, 3.0, 1.5], [1.0, 1.0, 1.0, 1.0, 2.0], [2.0, 2.0, 2.0, 2.0, 1.0]]
    compare(lambda x, lo, hi: hg.clamp(x, lo, hi), lambda x, lo, hi: torch.clamp(x, lo, hi),
            [np.array(v) for v in values])


@pytest.mark.parametrize("bound", [0.5, "tensor"])
@pytest.mark.parametrize("name", ["clamp_min", "clamp_max"])
def test_clamp_min_and_max_match_torch(name, bound):
    x = np.array([-1.0, 0.5, 0.7, 2.0])
    if bound == "tensor":
        compare(getattr(hg, name), getattr(torch, name), [x, np.array([0.0, 0.5, 1.0, 3.0])])
    else:
        compare(lambda t: getattr(hg, name)(t, bound), lambda t: getattr(torch, name)(t, bound),
                [x])


def test_clamp_dtypes_follow_torch():
    cases = [(np.array([1, 2]), 0.5, None), (np.array([1, 2], dtype=np.int32), 1, None),
             (np.array([True, False]), 0, 1), (np.array([1.0, 2.0], dtype=np.float32), 0, 1.5)]
    for values, low, high in cases:
        assert_same(hg.clamp(hg.tensor(values), low, high),
                    torch.clamp(torch.tensor(values), low, high))
    x32 = np.array([1.0, 2.0], dtype=np.float32)
    assert_same(hg.clamp(hg.tensor(x32), min=hg.tensor([0.5, 3.0], dtype=hg.float64)),
                torch.clamp(torch.tensor(x32), min=torch.tensor([0.5, 3.0], dtype=torch.float64)))


def test_clamp_in_place():
    def run(library):
        x = library.tensor([-1.0, 0.5, 2.0], requires_grad=True)
        y = x * 1
        y.clamp_(0, 1)
        y.sum().backward()
        return y, x.grad

    (ours, ours_grad), (theirs, their_grad) = run(hg), run(torch)
    assert_same(ours, theirs)
    assert_same(ours_grad, their_grad)
    assert ours.grad_fn.name() == "ClampBackward1"
    z = hg.tensor([-1.0, 3.0])
    z.clip_(max=1.0)
    assert z.tolist() == [-1.0, 1.0]


def test_clamp_errors_match_torch():
    with pytest.raises(RuntimeError,
                       match="torch.clamp: At least one of 'min' or 'max' must not be None"):
        hg.clamp(hg.tensor([1.0]))
    with pytest.raises(RuntimeError, match="At least one of 'min' or 'max'"):
        hg.tensor([1.0]).clamp(None, None)
    with pytest.raises(TypeError, match="clamp\\(\\) received an invalid combination of "
                                        "arguments"):
        hg.clamp(hg.tensor([1.0]), min=hg.tensor([0.0]), max=1.0)
    with pytest.raises(RuntimeError, match="result type Float can't be cast to the desired "
                                           "output type Long"):
        hg.tensor([1, 2]).clamp_(0.5, 1)


# ----------------------------------------------------------------------------------------------
# square is pow(x, 2)
# ----------------------------------------------------------------------------------------------
def test_square_is_pow():
    x = hg.tensor([1.5, -2.0], requires_grad=True)
    y = hg.square(x)
    assert y.grad_fn.name() == "PowBackward0"
    assert_same(hg.square(hg.tensor([True])), torch.square(torch.tensor([True])))
    assert_same(hg.square(hg.tensor([3], dtype=hg.int32)),
                torch.square(torch.tensor([3], dtype=torch.int32)))


def test_clamp_bounds_larger_than_input_broadcast_the_input():
    """torch's own backward fails here; expanding the input first is what it means."""
    x, low, high = np.array(0.5), np.array([0.0, 1.0]), np.array([[2.0], [0.25]])
    compare(hg.clamp, lambda t, lo, hi: torch.clamp(t.expand(2, 2), lo, hi), [x, low, high])


@pytest.mark.parametrize("dtype", ["float16", "float32", "float64"])
@pytest.mark.parametrize("length", [1, 7, 16, 33, 64, 69])
def test_relu_keeps_negative_zero_and_nan_as_torch(dtype, length):
    """relu(-0.0) is -0.0 in torch; numpy's maximum keeps it only with 0 as its first operand,
    and not at every position of a float16 array (the vectorized and scalar loops differ)."""
    values = np.linspace(-3, 3, length).astype(dtype)
    values[::3] = -0.0
    values[1::5] = np.nan
    ours = hg.relu(hg.tensor(values)).numpy()
    theirs = torch.relu(torch.tensor(values)).numpy()
    np.testing.assert_array_equal(ours, theirs)
    np.testing.assert_array_equal(np.signbit(ours), np.signbit(theirs))
