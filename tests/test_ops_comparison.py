"""The comparison op plugin (ops/comparison.py) against real torch.

maximum, minimum, atan2, where and masked_fill are differentiable: values, dtype, grad_fn
name, first- and second-order gradients must match torch on hypothesis-drawn float64 inputs
(with ties, broadcasting, numbers). Comparisons, logical, bitwise and isnan-like ops return
bool tensors with no gradient; their values, dtypes, operators and errors must match too.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
from hypothesis import example, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import hypergrad as hg

SETTINGS = settings(max_examples=25, deadline=None)
# small integers make ties (a == b) common, which is where maximum/minimum are interesting
ELEMENT = st.integers(-2, 2).map(float) | st.floats(-3, 3, allow_nan=False)
SPECIAL = st.sampled_from([0.0, -0.0, 1.0, -1.0, np.inf, -np.inf, np.nan, 2.5])
PAIR = hnp.mutually_broadcastable_shapes(num_shapes=2, max_dims=3, max_side=3)
TRIPLE = hnp.mutually_broadcastable_shapes(num_shapes=3, max_dims=3, max_side=3)


# ----------------------------------------------------------------------------------------------
# helpers (the same as in test_ops_unary.py: one expression, both libraries, compare)
# ----------------------------------------------------------------------------------------------
def assert_same(ours, theirs, rtol=1e-7, atol=1e-7):
    """Same dtype, shape and values (NaN where torch has NaN)."""
    assert isinstance(ours, hg.Tensor), type(ours)
    assert str(ours.dtype) == str(theirs.dtype).replace("torch.", "hypergrad.")
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


def second_order(grads, inputs, library):
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


def leaves(library, arrays, requires_grad):
    return [library.tensor(a, requires_grad=r) if isinstance(a, np.ndarray) else a
            for a, r in zip(arrays, requires_grad)]


def compare(hg_fn, torch_fn, arrays, requires_grad=None, cotangent=None, gradgrad=True):
    """Run `fn` on leaves made from `arrays` (numbers stay numbers) in both libraries and
    compare the value, the grad_fn name, the gradients and the second-order gradients."""
    requires_grad = requires_grad or [isinstance(a, np.ndarray) and a.dtype.kind == "f"
                                      for a in arrays]
    ours_in, theirs_in = leaves(hg, arrays, requires_grad), leaves(torch, arrays, requires_grad)
    ours, theirs = hg_fn(*ours_in), torch_fn(*theirs_in)
    assert_same(ours, theirs)
    assert ours.grad_fn.name() == theirs.grad_fn.name()
    ours_wrt = [t for t, r in zip(ours_in, requires_grad) if r]
    theirs_wrt = [t for t, r in zip(theirs_in, requires_grad) if r]
    if cotangent is None:
        cotangent = np.random.default_rng(3).standard_normal(tuple(theirs.shape))
    ours_grads = hg.autograd.grad(ours, ours_wrt, hg.tensor(cotangent), create_graph=gradgrad,
                                  allow_unused=True)
    theirs_grads = torch.autograd.grad(theirs, theirs_wrt, torch.tensor(cotangent),
                                       create_graph=gradgrad, allow_unused=True)
    assert_same_grads(ours_grads, theirs_grads)
    if gradgrad:
        assert_same_grads(second_order(ours_grads, ours_wrt, hg),
                          second_order(theirs_grads, theirs_wrt, torch))


def arrays_for(data, shapes, elements=ELEMENT, dtype=np.float64):
    return [data.draw(hnp.arrays(dtype, shape, elements=elements)) for shape in shapes]


# ----------------------------------------------------------------------------------------------
# maximum, minimum: ties split the gradient in half
# ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["maximum", "minimum"])
@SETTINGS
@given(shapes=PAIR, data=st.data())
def test_maximum_minimum_match_torch(name, shapes, data):
    compare(getattr(hg, name), getattr(torch, name), arrays_for(data, shapes.input_shapes))


@pytest.mark.parametrize("name", ["maximum", "minimum"])
def test_ties_get_half_the_gradient_each(name):
    a = hg.tensor([1.0, 2.0, 3.0], requires_grad=True)
    b = hg.tensor([1.0, 5.0, 0.0], requires_grad=True)
    getattr(hg, name)(a, b).sum().backward()
    if name == "maximum":
        assert a.grad.tolist() == [0.5, 0.0, 1.0] and b.grad.tolist() == [0.5, 1.0, 0.0]
    else:
        assert a.grad.tolist() == [0.5, 1.0, 0.0] and b.grad.tolist() == [0.5, 0.0, 1.0]


@pytest.mark.parametrize("name", ["maximum", "minimum"])
def test_maximum_minimum_with_nan_and_promotion(name):
    compare(getattr(hg, name), getattr(torch, name),
            [np.array([1.0, np.nan, 2.0]), np.array([np.nan, 1.0, 2.0])])
    ints, floats = np.array([1, 5]), np.array([1.5], dtype=np.float32)
    assert_same(getattr(hg, name)(hg.tensor(ints), hg.tensor(floats)),
                getattr(torch, name)(torch.tensor(ints), torch.tensor(floats)))
    bools = np.array([True, False])
    assert_same(getattr(hg, name)(hg.tensor(bools), hg.tensor(bools[::-1].copy())),
                getattr(torch, name)(torch.tensor(bools), torch.tensor(bools[::-1].copy())))


@pytest.mark.parametrize("name", ["maximum", "minimum", "atan2"])
def test_number_argument_is_rejected_like_torch(name):
    with pytest.raises(TypeError) as theirs:
        getattr(torch, name)(torch.tensor([1.0]), 2.0)
    with pytest.raises(TypeError) as ours:
        getattr(hg, name)(hg.tensor([1.0]), 2.0)
    assert str(ours.value) == str(theirs.value)


# ----------------------------------------------------------------------------------------------
# atan2
# ----------------------------------------------------------------------------------------------
@SETTINGS
@given(shapes=PAIR, data=st.data())
def test_atan2_matches_torch(shapes, data):
    nonzero = st.floats(0.01, 3) | st.floats(-3, -0.01)
    compare(hg.atan2, torch.atan2, arrays_for(data, shapes.input_shapes, nonzero))


def test_atan2_at_the_origin_and_dtypes():
    compare(hg.atan2, torch.atan2, [np.array([0.0, 0.0, 1.0]), np.array([0.0, -1.0, 0.0])],
            gradgrad=False)
    assert_same(hg.atan2(hg.tensor([1, -1]), hg.tensor([2, 0])),
                torch.atan2(torch.tensor([1, -1]), torch.tensor([2, 0])))
    assert hg.arctan2(hg.tensor([1.0]), hg.tensor([1.0])).tolist() == \
        hg.tensor([1.0]).atan2(hg.tensor([1.0])).tolist()


# ----------------------------------------------------------------------------------------------
# where
# ----------------------------------------------------------------------------------------------
@SETTINGS
@given(shapes=TRIPLE, data=st.data(), numbers=st.sampled_from(["none", "input", "other"]))
def test_where_matches_torch(shapes, data, numbers):
    condition_shape, a_shape, b_shape = shapes.input_shapes
    condition = data.draw(hnp.arrays(np.bool_, condition_shape))
    a, b = arrays_for(data, (a_shape, b_shape))
    if numbers == "input":
        a = data.draw(st.floats(-3, 3))
    elif numbers == "other":
        b = data.draw(st.floats(-3, 3))
    if not condition.shape and not isinstance(a, np.ndarray) and not isinstance(b, np.ndarray):
        return
    compare(lambda c, x, y: hg.where(c, x, y), lambda c, x, y: torch.where(c, x, y),
            [condition, a, b])


def test_where_unselected_inf_gives_nan_downstream_like_torch():
    """where(x > 0, log(x), 0) at x = 0: log's backward computes 0 / 0."""
    compare(lambda x: hg.where(x > 0, x.log(), 0.0), lambda x: torch.where(x > 0, x.log(), 0.0),
            [np.array([0.0, 2.0, -1.0])], gradgrad=False)
    x = hg.tensor([0.0, 2.0], requires_grad=True)
    hg.where(x > 0, x.log(), 0.0).sum().backward()
    assert np.isnan(x.grad.numpy()[0]) and x.grad.numpy()[1] == 0.5


def test_where_routes_an_inf_gradient_without_making_nan():
    compare(lambda c, x, y: hg.where(c, x, y), lambda c, x, y: torch.where(c, x, y),
            [np.array([True, False]), np.array([1.0, 2.0]), np.array([3.0, 4.0])],
            cotangent=np.array([np.inf, np.nan]), gradgrad=False)


def test_where_dtypes_follow_torch():
    condition = np.array([True, False])
    cases = [(np.array([1, 2], dtype=np.int32), 1.5), (1.0, 0.0), (1, 0),
             (np.array([1.0, 2.0]), np.array(3.0, dtype=np.float32)),
             (np.array([1.0, 2.0], dtype=np.float32), np.array([3, 4])),
             (np.array(1), np.array([True, False]))]
    for a, b in cases:
        def convert(library, value):
            return library.tensor(value) if isinstance(value, np.ndarray) else value

        assert_same(hg.where(hg.tensor(condition), convert(hg, a), convert(hg, b)),
                    torch.where(torch.tensor(condition), convert(torch, a), convert(torch, b)))


def test_where_errors_and_single_argument_form():
    for dtype in (np.float32, np.int64):
        with pytest.raises(RuntimeError) as theirs:
            torch.where(torch.tensor(np.ones(2, dtype)), torch.ones(2), torch.ones(2))
        with pytest.raises(RuntimeError) as ours:
            hg.where(hg.tensor(np.ones(2, dtype)), hg.ones(2), hg.ones(2))
        assert str(ours.value) == str(theirs.value)
    condition = np.array([[True, False], [False, True]])
    for ours, theirs in zip(hg.where(hg.tensor(condition)), torch.where(torch.tensor(condition))):
        assert_same(ours, theirs)
    with pytest.raises(TypeError, match="where\\(\\) received an invalid combination"):
        hg.where(hg.tensor(condition), hg.ones(2))


# ----------------------------------------------------------------------------------------------
# masked_fill
# ----------------------------------------------------------------------------------------------
@SETTINGS
@given(shapes=PAIR, data=st.data(), tensor_value=st.booleans(), value=st.floats(-3, 3))
def test_masked_fill_matches_torch(shapes, data, tensor_value, value):
    x_shape, mask_shape = shapes.input_shapes
    (x,) = arrays_for(data, (x_shape,))
    mask = data.draw(hnp.arrays(np.bool_, mask_shape))
    if tensor_value:
        compare(lambda t, m, v: t.masked_fill(m, v), lambda t, m, v: t.masked_fill(m, v),
                [x, mask, np.array(value)])
    else:
        compare(lambda t, m: t.masked_fill(m, value), lambda t, m: t.masked_fill(m, value),
                [x, mask])


def test_masked_fill_dtypes_and_in_place():
    mask = np.array([True, False])
    for values, value in [(np.array([1, 2]), 1.7), (np.array([1.0, 2.0], np.float32), 7),
                          (np.array([True, False]), 0)]:
        assert_same(hg.tensor(values).masked_fill(hg.tensor(mask), value),
                    torch.tensor(values).masked_fill(torch.tensor(mask), value))
    assert_same(hg.masked_fill(hg.tensor([1, 2]), hg.tensor(mask), hg.tensor(1.7)),
                torch.masked_fill(torch.tensor([1, 2]), torch.tensor(mask), torch.tensor(1.7)))

    def run(library):
        x = library.tensor([1.0, 2.0, 3.0], requires_grad=True)
        y = x * 2
        assert y.masked_fill_(y > 3, -1.0) is y
        y.sum().backward()
        return y, x.grad

    (ours, ours_grad), (theirs, their_grad) = run(hg), run(torch)
    assert_same(ours, theirs)
    assert_same(ours_grad, their_grad)
    assert ours.grad_fn.name() == theirs.grad_fn.name() == "MaskedFillBackward0"


def test_masked_fill_errors_match_torch():
    mask_cases = [np.ones(2, np.float32), np.ones(2, np.float64), np.ones(2, np.int64),
                  np.ones(2, np.int32), np.ones(2, np.uint8)]
    for mask in mask_cases:
        with pytest.raises(RuntimeError) as theirs:
            torch.ones(2).masked_fill(torch.tensor(mask), 0.0)
        with pytest.raises(RuntimeError) as ours:
            hg.ones(2).masked_fill(hg.tensor(mask), 0.0)
        assert str(ours.value) == str(theirs.value)
    with pytest.raises(RuntimeError, match="masked_fill_ only supports a 0-dimensional value "
                                           "tensor, but got tensor with 1 dimension\\(s\\)."):
        hg.ones(2).masked_fill(hg.tensor([True, False]), hg.tensor([0.0]))
    with pytest.raises(RuntimeError, match="output with shape \\[3\\] doesn't match the "
                                           "broadcast shape \\[2, 3\\]"):
        hg.ones(3).masked_fill_(hg.tensor([[True, False, True], [False] * 3]), 2.0)


@SETTINGS
@given(base=hnp.arrays(np.float64, 4, elements=st.floats(0.1, 3)),
       exponent=hnp.arrays(np.float64, 4, elements=st.sampled_from([0.0, 1.0, -1.0, 2.5])))
def test_pow_backward_through_masked_fill_matches_torch(base, exponent):
    """ops/arithmetic.py's pow backward is `(grad * b * a ** (b - 1)).masked_fill(b == 0, 0)`."""
    compare(lambda a, b: a ** b, lambda a, b: a ** b, [base, exponent])


def test_pow_gradient_at_zero_base_and_exponent_matches_torch():
    # first order only: at a == 0 torch's second order is NaN where pow's masked_fill gives 0
    compare(lambda a, b: a ** b, lambda a, b: a ** b,
            [np.array([0.0, 0.0, 2.0]), np.array([0.0, 2.0, 0.0])], gradgrad=False)


# ----------------------------------------------------------------------------------------------
# comparisons
# ----------------------------------------------------------------------------------------------
COMPARISONS = {"eq": "__eq__", "ne": "__ne__", "lt": "__lt__", "le": "__le__", "gt": "__gt__",
               "ge": "__ge__"}
ALIASES = {"not_equal": "ne", "less": "lt", "less_equal": "le", "greater": "gt",
           "greater_equal": "ge"}
DTYPES = [np.float64, np.float32, np.int64, np.int32, np.bool_]


@pytest.mark.parametrize("name", sorted(COMPARISONS))
@SETTINGS
@given(shapes=PAIR, data=st.data(), dtypes=st.tuples(st.sampled_from(DTYPES),
                                                      st.sampled_from(DTYPES)))
def test_comparisons_match_torch(name, shapes, data, dtypes):
    a, b = (data.draw(hnp.arrays(dtype, shape, elements=st.integers(-2, 2) if dtype != np.bool_
                                 else st.booleans()))
            for dtype, shape in zip(dtypes, shapes.input_shapes))
    assert_same(getattr(hg, name)(hg.tensor(a), hg.tensor(b)),
                getattr(torch, name)(torch.tensor(a), torch.tensor(b)))
    operator = COMPARISONS[name]
    assert_same(getattr(hg.tensor(a), operator)(hg.tensor(b)),
                getattr(torch.tensor(a), operator)(torch.tensor(b)))


@pytest.mark.parametrize("name", sorted(COMPARISONS))
@example(other=1.5)
@example(other=np.nan)
@SETTINGS
@given(other=st.integers(-3, 3) | st.floats(-3, 3) | SPECIAL | st.booleans())
def test_comparisons_with_numbers_match_torch(name, other):
    for values in (np.array([1.0, 2.0, np.inf, np.nan]), np.array([1, 2, -3], np.int32),
                   np.array([True, False])):
        assert_same(getattr(hg.tensor(values), COMPARISONS[name])(other),
                    getattr(torch.tensor(values), COMPARISONS[name])(other))
        assert_same(getattr(hg, name)(hg.tensor(values), other),
                    getattr(torch, name)(torch.tensor(values), other))


def test_reflected_comparisons_and_aliases():
    x = hg.tensor([1.0, 2.0, 3.0])
    assert (2 < x).tolist() == [False, False, True]
    assert (2 >= x).tolist() == [True, True, False]
    assert (2 == x).tolist() == [False, True, False]
    for alias, name in ALIASES.items():
        assert getattr(hg, alias)(x, 2.0).tolist() == getattr(hg, name)(x, 2.0).tolist()
        assert getattr(x, alias)(2.0).tolist() == getattr(hg, name)(x, 2.0).tolist()
    assert (hg.tensor([1, 2], dtype=hg.int32) == 1.5).dtype == hg.bool
    assert (hg.tensor([1, 2], dtype=hg.int32) < 1.5).tolist() == [True, False]


def test_comparisons_are_not_differentiable():
    x = hg.tensor([1.0, 2.0], requires_grad=True)
    for result in (x == 1.0, x > 0, x.isnan(), hg.logical_not(x), hg.eq(x, x * 2)):
        assert result.dtype == hg.bool
        assert not result.requires_grad and result.grad_fn is None


def test_tensors_stay_hashable_and_compare_with_other_objects_like_torch():
    x = hg.tensor([1.0, 2.0])
    y = hg.tensor([1.0, 2.0])
    assert hash(x) != hash(y) and {x: 1, y: 2}[x] == 1 and len({x, y}) == 2
    assert (x == None) is False and (x != None) is True
    assert (x == "text") is False
    assert (torch.tensor([1.0]) == None) is False
    assert x in [None, x]
    with pytest.raises(TypeError, match="'<' not supported between instances of 'Tensor' and "
                                        "'NoneType'"):
        x < None  # noqa: B015
    with pytest.raises(TypeError, match="eq\\(\\) received an invalid combination of arguments"):
        hg.eq(x, None)


# ----------------------------------------------------------------------------------------------
# logical and bitwise ops
# ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["logical_and", "logical_or", "logical_xor"])
@SETTINGS
@given(shapes=PAIR, data=st.data(), dtypes=st.tuples(st.sampled_from(DTYPES),
                                                      st.sampled_from(DTYPES)))
def test_logical_ops_match_torch(name, shapes, data, dtypes):
    a, b = (data.draw(hnp.arrays(dtype, shape, elements=st.integers(-1, 1) if dtype != np.bool_
                                 else st.booleans()))
            for dtype, shape in zip(dtypes, shapes.input_shapes))
    assert_same(getattr(hg, name)(hg.tensor(a), hg.tensor(b)),
                getattr(torch, name)(torch.tensor(a), torch.tensor(b)))
    assert_same(getattr(hg.tensor(a), name)(hg.tensor(b)),
                getattr(torch.tensor(a), name)(torch.tensor(b)))


def test_logical_not_matches_torch():
    for values in (np.array([0.0, 2.0, np.nan]), np.array([0, -3]), np.array([True, False])):
        assert_same(hg.logical_not(hg.tensor(values)), torch.logical_not(torch.tensor(values)))


BITWISE = {"bitwise_and": "__and__", "bitwise_or": "__or__", "bitwise_xor": "__xor__"}


@pytest.mark.parametrize("name", sorted(BITWISE))
@SETTINGS
@given(shapes=PAIR, data=st.data(),
       dtypes=st.tuples(st.sampled_from([np.bool_, np.int64, np.int32, np.uint8]),
                        st.sampled_from([np.bool_, np.int64, np.int32, np.uint8])))
def test_bitwise_ops_match_torch(name, shapes, data, dtypes):
    a, b = (data.draw(hnp.arrays(dtype, shape)) for dtype, shape in zip(dtypes,
                                                                      shapes.input_shapes))
    assert_same(getattr(hg, name)(hg.tensor(a), hg.tensor(b)),
                getattr(torch, name)(torch.tensor(a), torch.tensor(b)))
    operator = BITWISE[name]
    assert_same(getattr(hg.tensor(a), operator)(hg.tensor(b)),
                getattr(torch.tensor(a), operator)(torch.tensor(b)))


def test_bitwise_operators_on_masks():
    m, n = hg.tensor([True, True, False]), hg.tensor([True, False, False])
    assert (m & n).tolist() == [True, False, False]
    assert (m | n).tolist() == [True, True, False]
    assert (m ^ n).tolist() == [False, True, False]
    assert (~m).tolist() == [False, False, True]
    assert (True & n).tolist() == [True, False, False]
    assert_same(hg.tensor([True]) & 1, torch.tensor([True]) & 1)
    assert_same(~hg.tensor([1, 2]), ~torch.tensor([1, 2]))
    mask = hg.tensor([True, False])
    alias = mask
    mask &= hg.tensor([False, False])
    assert mask is alias and mask.tolist() == [False, False]


def test_bitwise_errors_match_torch():
    for name in sorted(BITWISE):
        with pytest.raises(NotImplementedError) as theirs:
            getattr(torch, name)(torch.tensor([1.0]), torch.tensor([1.0]))
        with pytest.raises(NotImplementedError) as ours:
            getattr(hg, name)(hg.tensor([1.0]), hg.tensor([1.0]))
        assert str(ours.value) == str(theirs.value)
    with pytest.raises(NotImplementedError, match="\"bitwise_and_cpu\" not implemented for "
                                                  "'Float'"):
        hg.tensor([True]) & 1.0
    with pytest.raises(NotImplementedError, match="\"bitwise_not_cpu\" not implemented for "
                                                  "'Float'"):
        hg.bitwise_not(hg.tensor([1.0]))


# ----------------------------------------------------------------------------------------------
# isnan, isinf, isfinite
# ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["isnan", "isinf", "isfinite"])
@SETTINGS
@given(x=hnp.arrays(np.float64, hnp.array_shapes(min_dims=0, max_dims=2), elements=SPECIAL))
def test_special_value_tests_match_torch(name, x):
    assert_same(getattr(hg, name)(hg.tensor(x)), getattr(torch, name)(torch.tensor(x)))
    assert_same(getattr(hg.tensor(x), name)(), getattr(torch.tensor(x), name)())
    for values in (np.array([1, 0], np.int64), np.array([True]), np.array([3], np.uint8),
                   x.astype(np.float32)):
        assert_same(getattr(hg, name)(hg.tensor(values)),
                    getattr(torch, name)(torch.tensor(values)))


@pytest.mark.parametrize("dtype", ["float32", "float64", "float16", "int64", "int32", "uint8",
                                   "bool"])
@pytest.mark.parametrize("value", [1 + 1j, 1 + 0j, "tensor(1+1j)", "tensor(2+0j)"])
def test_masked_fill_of_a_real_tensor_with_a_complex_value_as_torch(dtype, value):
    """A complex value fills a real tensor only when its imaginary part is 0 (any for bool);
    otherwise torch's "cannot be converted" error, and never numpy's ComplexWarning."""
    outcomes = []
    for L in (hg, torch):
        fill = L.tensor(complex(value[7:-1])) if isinstance(value, str) else value
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("error")
                out = L.zeros(2, dtype=getattr(L, dtype)).masked_fill(L.tensor([True, False]),
                                                                       fill)
            outcomes.append(("returned", out.tolist()))
        except RuntimeError as error:
            outcomes.append(("raised", str(error)))
    assert outcomes[0] == outcomes[1]
